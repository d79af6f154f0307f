"""The API reference is complete, and what it promises holds.

* Every public name of fgrad, fgrad.numpy (with linalg and fft) and fgrad.scipy.*
  has fgrad's own docstring (not numpy's or scipy's) with a ``>>>`` example, and
  every one of those examples runs here with doctest (the docstrings of functions
  defined in fgrad.core or built by a factory are not all reached by
  ``--doctest-modules``).
* Every table of the API page has rows: the selection is the one docs/conf.py uses.
* Every transform documents each of its parameters under ``Args:``.
* numpy's keywords that a row cannot honour on traced values (``dtype=``,
  ``casting=`` ... of a ufunc) are refused with a TypeError naming the function,
  the keyword and what to do, never an internal message.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

X = np.array([0.3, 0.6, 0.9])


def _ufunc_rows():
    rows = {}
    for name in dir(fnp):
        fn = getattr(fnp, name)
        prim = getattr(fn, "primitive", None)
        if prim is not None and isinstance(prim.impl, np.ufunc) and not prim.nondiff:
            rows.setdefault(prim.name, fn)
    return sorted(rows.items())


UFUNC_KEYWORDS = {"dtype": np.float32, "casting": "unsafe", "order": "F", "subok": False,
                  "signature": "d->d", "nonsense": 1}


@pytest.mark.parametrize("keyword", sorted(UFUNC_KEYWORDS))
def test_ufunc_keywords_on_traced_values_are_a_clear_error(keyword):
    value = UFUNC_KEYWORDS[keyword]
    checked = 0
    for name, fn in _ufunc_rows():
        args = (X,) * fn.primitive.impl.nin
        with pytest.raises(TypeError) as info:
            fgrad.grad(lambda x, fn=fn: fnp.sum(fn(x, *args[1:], **{keyword: value})))(X)
        message = str(info.value)
        assert f"fgrad.numpy.{name}" in message and f"{keyword}=" in message, (name, message)
        assert "rule" not in message and "reads=" not in message, (name, message)
        checked += 1
    assert checked > 40


def test_nondifferentiable_ufunc_rows_keep_numpy_keywords_on_traced_values():
    def f(x):
        return fnp.sum(x * fnp.floor(3 * x, dtype=np.float32))

    assert np.allclose(fgrad.grad(f)(X), np.floor(3 * X))


def test_ufunc_keywords_keep_working_on_plain_values_and_at_their_defaults():
    assert fnp.sin(X, dtype=np.float32).dtype == np.float32
    assert np.array_equal(fnp.add(X, X, casting="unsafe", dtype=np.float32),
                          np.add(X, X, casting="unsafe", dtype=np.float32))
    grad = fgrad.grad(lambda x: fnp.sum(fnp.sin(x, dtype=None, casting="same_kind", order="K",
                                                 subok=True, out=None, where=True)))(X)
    assert np.allclose(grad, np.cos(X))


# --------------------------------------------------------------------------------------
# every public name: fgrad's own docstring, with examples that run
# --------------------------------------------------------------------------------------

import doctest  # noqa: E402
import importlib  # noqa: E402
import inspect  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _conf():
    """docs/conf.py, whose selection of names the API tables use."""
    sys.path.insert(0, str(DOCS))
    try:
        import conf
    finally:
        sys.path.remove(str(DOCS))
    return conf


def _namespaces():
    conf = _conf()
    return conf.numpy_namespaces() + conf.scipy_namespaces()


def _upstream(module_name):
    """numpy's or scipy's module of the same name (``fgrad.scipy.stats`` -> scipy.stats)."""
    name = module_name.split(".", 1)[1]
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def public_names():
    """``[(full name, object, upstream object or None)]``: fgrad's top-level names and
    every entry of the numpy/scipy API tables, with the distributions themselves."""
    out = [(f"fgrad.{n}", getattr(fgrad, n), None) for n in fgrad.__all__
           if not isinstance(getattr(fgrad, n), types.ModuleType)]
    conf = _conf()
    for module_name, _, _ in _namespaces():
        module, upstream = importlib.import_module(module_name), _upstream(module_name)
        for name, obj in conf.namespace_entries(module_name):
            theirs = upstream
            for part in name.split("."):
                theirs = getattr(theirs, part, None) if theirs is not None else None
            out.append((f"{module_name}.{name}", obj, theirs))
        for n in getattr(module, "__all__", ()):
            obj = getattr(module, n)
            if conf._is_distribution(obj):
                out.append((f"{module_name}.{n}", obj, getattr(upstream, n, None)))
    return out


NAMES = public_names()


def test_the_selection_finds_every_namespace():
    found = {name.rsplit(".", 1)[0] for name, _, _ in NAMES}
    for module_name in ("fgrad.numpy", "fgrad.numpy.linalg", "fgrad.numpy.fft",
                        "fgrad.scipy.special", "fgrad.scipy.linalg", "fgrad.scipy.signal",
                        "fgrad.scipy.integrate", "fgrad.scipy.optimize",
                        "fgrad.scipy.sparse.linalg"):
        assert module_name in found, module_name
    assert "fgrad.scipy.stats.norm.logpdf" in {name for name, _, _ in NAMES}
    assert len(NAMES) > 600


@pytest.mark.parametrize("module_name", [m for m, _, _ in _namespaces()])
def test_no_api_table_is_empty_or_shows_raw_markup(module_name):
    conf = _conf()
    entries = conf.namespace_entries(module_name)
    assert entries, f"the API table of {module_name} would be empty"
    table = "\n".join(conf._namespace_table("t", module_name, "u"))
    assert not re.search(r":(func|class|meth|mod|data|attr):`", table), table
    assert all(conf._first_line(obj) for _, obj in entries)


def _doc(obj):
    return inspect.getdoc(obj) or ""


def test_every_public_name_has_an_example_and_its_own_docstring():
    missing, borrowed = [], []
    for name, obj, theirs in NAMES:
        doc = _doc(obj)
        if isinstance(obj, type) and issubclass(obj, Exception):
            if not doc:
                missing.append(name)
            continue
        if ">>>" not in doc:
            missing.append(name)
        their_doc = _doc(theirs) if theirs is not None else ""
        if their_doc and doc[:80] == their_doc[:80]:
            borrowed.append(name)
    assert not missing, f"public names without a >>> example: {missing}"
    assert not borrowed, f"public names carrying numpy's or scipy's docstring: {borrowed}"


def _run_examples(obj, name):
    """Run the examples of ``obj``'s docstring as doctest does; the failures' reports.

    Rows an example declares (``defprim``'s) are taken out of the rule table again, so
    that the example runs again under ``--doctest-modules`` and no other test sees them.
    """
    from fgrad.core import PRIMITIVES

    parser = doctest.DocTestParser()
    test = parser.get_doctest(_doc(obj), {}, name, None, 0)
    out = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    before = set(dict.keys(PRIMITIVES))
    try:
        runner.run(test, out=out.append)
    finally:
        for added in set(dict.keys(PRIMITIVES)) - before:
            dict.pop(PRIMITIVES, added)
    return runner.failures, runner.tries, "".join(out)


def _by_namespace():
    groups = {}
    for name, obj, _ in NAMES:
        groups.setdefault(name.rsplit(".", 1)[0] if not name.startswith("fgrad.scipy.stats")
                          else "fgrad.scipy.stats", []).append((name, obj))
    return groups


@pytest.mark.parametrize("namespace", sorted(_by_namespace()))
def test_every_example_runs(namespace):
    seen, failed, tries = set(), [], 0
    for name, obj in _by_namespace()[namespace]:
        if id(obj) in seen:  # an alias (fnp.abs is fnp.absolute)
            continue
        seen.add(id(obj))
        failures, n, report = _run_examples(obj, name)
        tries += n
        if failures:
            failed.append(report)
    assert tries > 0
    assert not failed, "\n".join(failed)


def test_the_examples_of_the_rows_print_true_derivatives():
    """Each ``fgrad.grad(...)(...)`` line of the generated row examples against central
    differences of the same function at the same point."""
    from fgrad.numpy._rowdocs import EXAMPLES

    checked = 0
    for name, example in EXAMPLES.items():
        lines = example.splitlines()
        for i, line in enumerate(lines):
            m = re.match(r">>> fgrad\.grad\((.*?)(?:, argnums=(.*))?\)\(([^()]*)\)(?:  #.*)?$", line)
            if not m:
                continue
            space = {"fgrad": fgrad, "fnp": fnp, "np": np}
            fn = eval(m.group(1), space)
            argnums = eval(m.group(2), space) if m.group(2) else 0
            point = eval(f"({m.group(3)},)", space)
            printed = [float(v) for v in re.findall(r"-?\d+\.\d*(?:e-?\d+)?",
                                                    lines[i + 1].replace("...", ""))]
            for k, pos in enumerate(argnums if isinstance(argnums, tuple) else (argnums,)):
                h = 1e-6
                up = list(point)
                down = list(point)
                up[pos] += h
                down[pos] -= h
                numeric = (float(fn(*up)) - float(fn(*down))) / (2 * h)
                assert abs(printed[k] - numeric) <= 1e-6 + 1e-6 * abs(numeric), (
                    name, line, printed, numeric)
                checked += 1
    assert checked > 80


# --------------------------------------------------------------------------------------
# Args: every parameter of every transform and tool in fgrad.__all__
# --------------------------------------------------------------------------------------


def _args_section(doc):
    m = re.search(r"^Args:\n((?:[ \t]+.*\n|\n)*)", doc + "\n", re.M)
    return set(re.findall(r"^    \**(\w+)\b", m.group(1), re.M)) if m else set()


def _parameters(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self"]


def test_every_transform_documents_each_parameter_under_args():
    missing = {}
    for name in fgrad.__all__:
        obj = getattr(fgrad, name)
        if isinstance(obj, types.ModuleType) or (
                isinstance(obj, type) and issubclass(obj, Exception)):
            continue
        params = _parameters(obj)
        lacking = [p for p in params if p not in _args_section(_doc(obj))]
        if lacking:
            missing[name] = lacking
    assert not missing, f"parameters missing from the Args: section: {missing}"


def test_scipy_special_keywords_on_traced_values_are_a_clear_error():
    import fgrad.scipy.special as special

    with pytest.raises(TypeError, match=r"fgrad\.scipy\.special\.softplus.*dtype="):
        fgrad.grad(lambda x: special.softplus(x, dtype=np.float32))(0.5)  # was dropped silently
    with pytest.raises(TypeError, match=r"fgrad\.scipy\.special\.erf\(z\).*'out'"):
        fgrad.grad(lambda x: special.erf(x, out=None))(0.5)
    assert special.softplus(np.array([0.0]), dtype=np.float32).dtype == np.float32  # plain: scipy's


def test_composite_sentences_skip_names_this_numpy_lacks():
    # a listed function missing from the module (numpy removed or has not added it) is
    # skipped: on Python 3.13, getattr(None, "__doc__") is a string, and setting it failed
    import types

    from fgrad.numpy._rowdocs import COMPOSITES, apply_composites

    name = next(k for k in COMPOSITES if "." not in k)

    def present():
        """Present.

        Example:
            >>> 1
            1
        """

    module = types.SimpleNamespace(**{name: present})
    apply_composites(types.SimpleNamespace())  # nothing there: nothing to do, no error
    apply_composites(module)
    assert COMPOSITES[name].split()[0] in present.__doc__
