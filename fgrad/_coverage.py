"""Generate docs/coverage.md: what fgrad differentiates, read from the rule table.

Run from the repository root::

    python -m fgrad._coverage            # rewrite docs/coverage.md
    python -m fgrad._coverage --check    # exit 1 if docs/coverage.md is out of date

For every public numpy/scipy name that fgrad offers (fgrad.numpy,
fgrad.numpy.linalg, fgrad.numpy.fft, fgrad.scipy.*) the page says how it is
differentiated: a row of the table (with its forward and reverse rules), a
composite (a function written with rows: the rows it reaches are found in
its source code), or a function without derivative.  The order comes from
the systematic test's hints (tests/test_primitive_table.py checks each row to
that order in both modes).  A list of notable names not covered follows.

The page is deterministic: it is the same on every supported interpreter and
numpy/scipy version (CI regenerates it on each and compares).  Nothing here
reads bytecode: a composite's rows are found in its syntax tree (``ast``,
which is the same on every interpreter) -- the names it uses, the attribute
chains on them, the names it imports and the functions it closes over,
followed through other fgrad functions to the rows.  That over-approximates
what one call reaches (every branch counts); tests/test_coverage.py checks on
sample calls that what a recorded trace reaches is a subset of it.  The
numpy section lists fgrad.numpy's public functions minus the helpers in
``FGRAD_ONLY``, not whatever the installed numpy happens to have.
"""

from __future__ import annotations

import ast
import builtins as builtins_module
import importlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path

import numpy

from . import numpy as fnp
from . import scipy as fsp
from .batching import batch_rule_of
from .core import PRIMITIVES

__all__ = ["generate", "main", "reached_rows"]

PAGE = Path(__file__).resolve().parent.parent / "docs" / "coverage.md"
COMMAND = "python -m fgrad._coverage"

# Notable names, to list those fgrad does not offer yet (a fixed list, so the
# page depends only on fgrad itself and not on the installed numpy/scipy).
NOTABLE = {
    "numpy": """
        abs absolute add all allclose amax amin angle any append arange arccos arccosh arcsin
        arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort argwhere around array
        array_split asarray atleast_1d atleast_2d atleast_3d average bincount block
        broadcast_arrays broadcast_to cbrt ceil choose clip column_stack compress concatenate
        conj conjugate convolve copy copysign corrcoef correlate cos cosh count_nonzero cov cross
        cumprod cumsum cumulative_prod cumulative_sum deg2rad degrees delete diag diagflat
        diagonal diff digitize divide dot dsplit dstack einsum empty empty_like equal exp exp2
        expand_dims expm1 eye fabs fill_diagonal flip fliplr flipud float_power floor
        floor_divide fmax fmin fmod frexp full full_like gradient greater heaviside histogram
        hsplit hstack hypot i0 identity imag inner insert interp isclose isfinite isinf isnan
        kron ldexp linspace log log10 log1p log2 logaddexp logaddexp2 logspace matmul
        matrix_transpose matvec max maximum mean median meshgrid min minimum mod modf moveaxis
        multiply nan_to_num nanargmax nanargmin nancumprod nancumsum nanmax nanmean nanmedian
        nanmin nanpercentile nanprod nanquantile nanstd nansum nanvar negative nextafter nonzero
        ones ones_like outer pad partition percentile piecewise polyfit polyval positive power
        prod ptp put quantile rad2deg radians ravel real reciprocal remainder repeat reshape
        resize rint roll rollaxis rot90 round searchsorted select sign sin sinc sinh sort split
        sqrt square squeeze stack std subtract sum swapaxes take take_along_axis tan tanh
        tensordot tile trace transpose trapezoid tril triu true_divide trunc unique unwrap vander
        var vdot vecdot vecmat vsplit vstack where zeros zeros_like
    """,
    "numpy.linalg": """
        cholesky cond cross det diagonal eig eigh eigvals eigvalsh inv lstsq matmul matrix_norm
        matrix_power matrix_rank matrix_transpose multi_dot norm outer pinv qr slogdet solve svd
        svdvals tensorinv tensorsolve trace vecdot vector_norm
    """,
    "numpy.fft": """
        fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn hfft ihfft fftshift
        ifftshift fftfreq rfftfreq
    """,
    "scipy.special": """
        erf erfc erfinv erfcinv erfcx expit logit log_expit softplus logsumexp softmax
        log_softmax gammaln loggamma digamma psi polygamma gamma rgamma gammainc gammaincc
        gammaincinv beta betaln betainc zeta i0 i1 i0e i1e iv ive kv kve jv yv j0 j1 y0 y1 ndtr
        ndtri log_ndtr xlogy xlog1py entr rel_entr kl_div multigammaln lambertw expn exp1 expi
        dawsn wofz owens_t hyp1f1 hyp2f1 comb factorial stdtr stdtrit sph_harm_y
        jn yn gammasgn spence
    """,
    "scipy.stats": """
        norm multivariate_normal t beta gamma poisson expon uniform laplace logistic cauchy chi2
        dirichlet bernoulli binom nbinom geom lognorm vonmises truncnorm multinomial gennorm
        pareto weibull_min multivariate_t wishart
    """,
    "scipy.linalg": """
        solve_triangular cholesky cho_factor cho_solve expm expm_frechet lu lu_factor lu_solve
        solve inv det qr svd eigh schur sqrtm logm funm block_diag toeplitz polar
        solve_sylvester solve_continuous_lyapunov solve_banded solveh_banded
    """,
}

# fgrad.numpy's own helpers, which are not numpy names.  Listed here rather than found
# with hasattr(numpy, name), so that the page is the same with every supported numpy
# (tests/test_coverage.py checks the list against the installed numpy).
FGRAD_ONLY = frozenset("""
    at expand_reduced getitem index_add index_set stop_gradient sum_to_shape
""".split())

_CONTINUOUS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]
_DISCRETE = ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]


# --------------------------------------------------------------------------
# Which rows does a function reach?
# --------------------------------------------------------------------------


def _is_fgrad_function(obj):
    return (isinstance(obj, types.FunctionType)
            and (getattr(obj, "__module__", "") or "").startswith("fgrad"))


_TREES = {}  # source file -> its syntax tree (None when the source cannot be read)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _tree(filename):
    if filename not in _TREES:
        try:
            text = Path(filename).read_text(encoding="utf-8")
            _TREES[filename] = ast.parse(text, filename)
        except (OSError, SyntaxError, ValueError):
            _TREES[filename] = None
    return _TREES[filename]


def _first_line(node):
    """The line a definition starts on: its first decorator, else ``def``/``lambda``."""
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])


def _definitions(fn):
    """The syntax-tree nodes that define ``fn``: same file, same name, same first line.

    Several lambdas on one line cannot be told apart; all of them are returned
    (their rows are a superset, which is what the page wants).
    """
    try:
        filename = inspect.getsourcefile(fn)
    except TypeError:
        return []
    tree = _tree(filename) if filename else None
    if tree is None:
        return []
    # the name and line it was defined with (a later __name__ or a wrapper does not change them)
    name, line = fn.__code__.co_name, fn.__code__.co_firstlineno
    nodes = [n for n in ast.walk(tree) if isinstance(n, _DEFS)
             and (n.name if not isinstance(n, ast.Lambda) else "<lambda>") == name]
    exact = [n for n in nodes if _first_line(n) == line]
    if exact:
        return exact
    around = [n for n in nodes if _first_line(n) <= line <= n.end_lineno]
    return sorted(around, key=lambda n: n.end_lineno - _first_line(n))[:1]


def _import(name, level, package):
    try:
        return importlib.import_module(
            importlib.util.resolve_name("." * level + name, package) if level else name)
    except (ImportError, ValueError):
        return None


def _body_names(nodes, package):
    """Imports made in the bodies (name -> object) and the other names they bind."""
    imported, local = {}, set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom):
                module = _import(sub.module or "", sub.level, package)
                for alias in sub.names:
                    obj = getattr(module, alias.name, None) if module is not None else None
                    if obj is None and module is not None:
                        obj = _import(f"{module.__name__}.{alias.name}", 0, package)
                    imported[alias.asname or alias.name] = obj
            elif isinstance(sub, ast.Import):
                for alias in sub.names:
                    if alias.asname:
                        imported[alias.asname] = _import(alias.name, 0, package)
                    else:
                        top = alias.name.partition(".")[0]
                        imported[top] = _import(top, 0, package)
            elif isinstance(sub, _DEFS):
                args = sub.args
                for a in args.posonlyargs + args.args + args.kwonlyargs:
                    local.add(a.arg)
                for a in (args.vararg, args.kwarg):
                    if a is not None:
                        local.add(a.arg)
                if not isinstance(sub, ast.Lambda) and sub is not node:
                    local.add(sub.name)
            elif isinstance(sub, ast.ClassDef):
                local.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                local.add(sub.id)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                local.add(sub.name)
    return imported, local - set(imported)


def _candidates(fn):
    """Callables ``fn`` may call, read from its source text (never from its bytecode).

    Names it loads (globals, builtins, the cells it closes over), attribute
    chains on them (``fnp.linalg.norm``), names imported inside the body
    (``from .shape import reshape``), and the functions it closes over, in
    the function and in the functions and lambdas nested in it.  The syntax
    tree is the same on every interpreter, so the answer is too.
    """
    package = (fn.__module__ or "").rpartition(".")[0]
    nodes = _definitions(fn)
    imported, local = _body_names(nodes, package)
    cells = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            cells[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    missing = object()

    def resolve(name):
        if name in imported:
            return imported[name]
        if name in local:
            return missing
        if name in cells:
            return cells[name]
        return fn.__globals__.get(name, getattr(builtins_module, name, missing))

    found = [obj for obj in imported.values() if obj is not None]
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                found.append(resolve(sub.id))
            elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load):
                chain, root = [], sub
                while isinstance(root, ast.Attribute):
                    chain.append(root.attr)
                    root = root.value
                if not isinstance(root, ast.Name):
                    continue
                obj = resolve(root.id)
                for attr in reversed(chain):
                    if obj is missing or obj is None:
                        break
                    obj = getattr(obj, attr, missing)
                found.append(obj)
    found.extend(cells.values())
    out = []
    for obj in found:
        if isinstance(obj, staticmethod):
            obj = obj.__func__
        if obj is missing or obj is None or isinstance(obj, (types.ModuleType, type)):
            continue
        out.append(obj)
    return out


_CANDIDATES = {}  # id(function) -> (function, the fgrad callables it may call)


def reached_rows(fn, _memo=None):
    """The rows of the table (``Primitive`` objects) that calling ``fn`` may reach.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad._coverage import reached_rows
        >>> sorted(p.name for p in reached_rows(fnp.sin))
        ['sin']
    """
    memo = {} if _memo is None else _memo
    prim = getattr(fn, "primitive", None)
    if prim is not None:
        return {prim}
    if isinstance(fn, staticmethod):
        fn = fn.__func__
    if not _is_fgrad_function(fn):
        return set()
    key = id(fn)
    if key in memo:
        return memo[key]
    memo[key] = set()  # recursion guard
    rows = set()
    cands = _CANDIDATES.get(key)
    if cands is None:
        cands = _CANDIDATES[key] = (fn, [
            obj for obj in _candidates(fn)
            if getattr(obj, "primitive", None) is not None or _is_fgrad_function(obj)])
    for obj in cands[1]:
        if getattr(obj, "primitive", None) is not None or _is_fgrad_function(obj):
            rows |= reached_rows(obj, memo)
    memo[key] = rows
    return rows


# --------------------------------------------------------------------------
# One line per name
# --------------------------------------------------------------------------


def _order(prim):
    hints = prim.test or {}
    if hints.get("skip"):
        return None
    return int(hints.get("order", 2))


def _batch(prim):
    return batch_rule_of(prim) is not None


def _has_rules(prim):

    def ok(rules):
        if rules is None:
            return False
        try:
            return len(rules) > 0 and any(rules[i] is not None for i in range(min(len(rules), 8)))
        except TypeError:
            return True
    return ok(prim.jvp), ok(prim.vjp)


_SEEN = []  # the functions described by the current generate() call


def _describe(fn):
    """``(how, jvp, vjp, order, complex, vmap)`` strings for one public function."""
    _SEEN.append(fn)
    prim = getattr(fn, "primitive", None)
    if prim is not None:
        rows, how = {prim}, f"row `{prim.name}`"
    else:
        rows = reached_rows(fn)
        how = None
    diff = sorted((p for p in rows if not p.nondiff), key=lambda p: p.name)
    if not diff:
        if rows:
            return ("no derivative (integer, boolean or piecewise-constant output)",
                    "–", "–", "–", "–", "✓" if all(_batch(p) for p in rows) else "")
        return "no derivative (a constant, or metadata)", "–", "–", "–", "–", "–"
    jv = all(_has_rules(p)[0] for p in diff)
    vj = all(_has_rules(p)[1] for p in diff)
    tested = [o for o in (_order(p) for p in diff) if o is not None]
    order = str(min(tested)) if tested else "elsewhere"
    cplx = "✓" if all((p.test or {}).get("complex") for p in diff) else ""
    vmap = "✓" if all(_batch(p) for p in rows) else ""
    if how is None and len(rows) == 1:
        how = f"row `{diff[0].name}`"
    if how is None:
        names = [p.name for p in diff]
        shown = ", ".join(f"`{n}`" for n in names[:6]) + (" …" if len(names) > 6 else "")
        how = f"composite of {shown}"
    return how, "✓" if jv else "✗", "✓" if vj else "✗", order, cplx, vmap


# Names fgrad.numpy has only with some numpy versions (as numpy does): left off the
# page, so that it is the same with every supported numpy.
VERSION_DEPENDENT = frozenset({"row_stack"})


def _public_functions(fnp):
    return [name for name in dir(fnp)
            if not name.startswith("_") and callable(getattr(fnp, name))
            and not isinstance(getattr(fnp, name), (types.ModuleType, type))
            and name not in VERSION_DEPENDENT
            # numpy's own dtype helpers (finfo, can_cast ...), re-exported as they are or
            # called by a function that carries fgrad's docstring (fgrad/numpy/_numpy_itself.py)
            and getattr(getattr(fnp, name), "wraps_numpy", getattr(fnp, name))
            is not getattr(numpy, name, None)]


def _numpy_names(fnp):
    return [name for name in _public_functions(fnp) if name not in FGRAD_ONLY]


def _fgrad_only_names(fnp):
    return [name for name in _public_functions(fnp) if name in FGRAD_ONLY]


def _table(rows):
    head = ("| name | how | jvp | vjp | order | complex | vmap |\n"
            "|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| `{name}` | {how} | {jv} | {vj} | {order} | {cplx} | {vmap} |\n"
        for name, (how, jv, vj, order, cplx, vmap) in rows
    )


def _section(title, prefix, module, names):
    rows = [(f"{prefix}{n}", _describe(getattr(module, n))) for n in sorted(names)]
    return f"## {title}\n\n{len(rows)} names.\n\n" + _table(rows) + "\n"


def _sparse_section(la):
    """Constant scipy.sparse operators: the products (operators on scipy's objects,
    not names of a module) and the solves of fgrad.scipy.sparse.linalg."""
    rows = [("S @ x, x @ S, S.dot(x), S * x (matrix classes), fnp.dot(S, x)",
             _describe(PRIMITIVES["scipy.sparse.matmul"].fn))]
    rows += [(f"linalg.{n}", _describe(getattr(la, n))) for n in ("spsolve", "spsolve_values")]
    rows.append(("linalg.splu(A).solve, linalg.factorized(A)", _describe(la.SuperLU.solve)))
    return ("## fgrad.scipy.sparse\n\nA scipy.sparse matrix is a constant: derivatives are "
            "taken in the dense operand (see the module's documentation).\n\n"
            + _table(rows) + "\n")


def _missing(title, offered, notable):
    missing = sorted(set(notable.split()) - set(offered))
    if not missing:
        return f"- **{title}**: all of the notable names are covered.\n"
    return f"- **{title}** ({len(missing)}): " + ", ".join(f"`{n}`" for n in missing) + "\n"


def generate():
    """The text of docs/coverage.md, from the rule table and the namespaces.

    Example:
        >>> from fgrad._coverage import generate
        >>> generate().splitlines()[0]
        '# Coverage: what fgrad differentiates'
    """

    _SEEN.clear()

    sub = {k: getattr(fnp, k, None) for k in ("linalg", "fft")}
    numpy_names = _numpy_names(fnp)
    parts = [
        "# Coverage: what fgrad differentiates\n\n",
        f"<!-- Generated by `{COMMAND}` from the rule table; do not edit by hand. -->\n\n",
        f"Regenerate with `{COMMAND}` (from the repository root); "
        f"`{COMMAND} --check` and tests/test_coverage.py fail when this page is out of date.\n\n",
        "Columns: **how** — a row of the rule table (`fgrad.core.PRIMITIVES`, with its own "
        "forward and reverse rules), or a composite written with rows (the rows it reaches, "
        "found in its source code), or a function without derivative. **jvp/vjp** — forward and "
        "reverse rules exist for every row involved. **order** — the highest order to which "
        "the systematic test (tests/test_primitive_table.py) checks the rows involved in both "
        "modes against numerical differences and each other (for a composite: the lowest over "
        "its rows; rows with a `skip` hint, such as the dtype cast `astype`, are tested by "
        "their own tests instead and shown as `elsewhere`). **complex** — "
        "the rows are also checked with complex inputs. **vmap** — every row has a batching "
        "rule.\n\n",
        "Plain numpy code reaches these functions too: `np.sin(tracer)` dispatches to "
        "`fgrad.numpy.sin` (NEP 13/18), and scipy's ufuncs dispatch to `fgrad.scipy.special` "
        "once `fgrad.scipy` is imported; `np.add.reduce`/`np.multiply.reduce` (and maximum, "
        "minimum) are `sum`/`prod` (`amax`, `amin`), and `np.add.accumulate`/"
        "`np.multiply.accumulate` are `cumsum`/`cumprod`. A numpy function missing here "
        "raises a TypeError "
        "naming it when it meets a traced value — never a silent constant. Anything else can "
        "be added as a row (docs/adding-a-primitive.md) or with `fgrad.custom_vjp` / "
        "`fgrad.custom_jvp`.\n\n",
        "{ROWS}",
        _section("fgrad.numpy", "", fnp, numpy_names),
    ]
    for key in ("linalg", "fft"):
        mod = sub[key]
        if mod is not None:
            parts.append(_section(f"fgrad.numpy.{key}", f"{key}.", mod, getattr(mod, "__all__", ())))
    parts.append(_section("fgrad.scipy.special", "", fsp.special, fsp.special.__all__))
    parts.append(_section("fgrad.scipy.linalg", "", fsp.linalg, fsp.linalg.__all__))
    parts.append(_sparse_section(fsp.sparse.linalg))
    stats_rows, stats_offered, stats_missing = [], [], []
    for dist in fsp.stats.__all__:
        ns = getattr(fsp.stats, dist)
        methods = [m for m, v in sorted(vars(ns).items())
                   if isinstance(v, staticmethod) and not m.startswith("_")]
        stats_offered.append(dist)
        for m in methods:
            stats_rows.append((f"{dist}.{m}", _describe(getattr(ns, m))))
        api = _DISCRETE if "logpmf" in methods else (
            ["logpdf", "pdf", "cdf", "logcdf"] if dist.startswith("multivariate") else _CONTINUOUS)
        absent = [m for m in api if m not in methods]
        if absent:
            stats_missing.append(f"`{dist}`: " + ", ".join(f"`{m}`" for m in absent))
    parts.append(f"## fgrad.scipy.stats\n\n{len(stats_rows)} functions.\n\n"
                 + _table(stats_rows) + "\n")
    parts.append("## fgrad-only helpers in fgrad.numpy\n\n"
                 "Not numpy names, but offered for writing rules and composites: "
                 + ", ".join(f"`{n}`" for n in _fgrad_only_names(fnp)) + ".\n\n")
    parts.append("## Not covered yet\n\nNotable names that fgrad does not offer (yet); "
                 "with a traced value numpy's version raises a TypeError naming it.\n\n")
    parts.append(_missing("numpy", numpy_names, NOTABLE["numpy"]))
    for key in ("linalg", "fft"):
        mod = sub[key]
        parts.append(_missing(f"numpy.{key}", getattr(mod, "__all__", ()) if mod else (),
                              NOTABLE[f"numpy.{key}"]))
    parts.append(_missing("scipy.special", fsp.special.__all__, NOTABLE["scipy.special"]))
    parts.append(_missing("scipy.stats", stats_offered, NOTABLE["scipy.stats"]))
    if stats_missing:
        parts.append("- **scipy.stats methods** of the covered distributions: "
                     + "; ".join(stats_missing) + "\n")
    parts.append(_missing("scipy.linalg", fsp.linalg.__all__, NOTABLE["scipy.linalg"]))
    reached = set()
    for fn in _SEEN:
        reached |= ({fn.primitive} if getattr(fn, "primitive", None) is not None
                    else reached_rows(fn))
    diff = sum(1 for p in reached if not p.nondiff)
    parts[parts.index("{ROWS}")] = (
        f"The names below reach {diff} differentiable rows of the table and "
        f"{len(reached) - diff} rows without derivative.\n\n")
    _SEEN.clear()
    # refused derivatives with their reason (a row's ``no_derivative``), as the TypeError says
    parts.append("\nDerivatives refused with a reason (asking for one raises a TypeError that "
                 "gives it):\n\n" + "".join(
                     f"- `{p.name}` in argument {i}: because {why}.\n"
                     for p in sorted(PRIMITIVES.values(), key=lambda p: p.name)
                     for i, why in sorted(getattr(p, "no_derivative", {}).items())))
    return "".join(parts)


def main(argv=None):
    """Write docs/coverage.md, or with ``--check`` report whether it is up to date."""
    argv = sys.argv[1:] if argv is None else argv
    text = generate()
    if "--check" in argv:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        print(f"{PAGE} is up to date")
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
