"""Random programs: compositions of table rows under random compositions of transforms.

Hypothesis draws a program: an input array (0-d, size-1 axes, up to 3-d) and up to
``MAX_STEPS`` steps, each a row of ``fgrad.core.PRIMITIVES`` (its arguments drawn
from the row's own ``test`` hints: ``domain``, ``avoid``, ``params``, ``make``;
reductions also get random ``axis`` / ``keepdims``), a ``stop_gradient`` mixed in,
or a block of steps wrapped in ``fgrad.checkpoint``, ``fgrad.custom_jvp`` or
``fgrad.custom_vjp`` (whose rules are fgrad's own derivatives of the block, so the
oracle does not change).  Intermediate values are fed to a row through a smooth map
into its smooth domain (``c + r * tanh(v)``); binary rows take a second argument
that is an earlier intermediate or a constant of a broadcastable shape.

The checks (every one also asserts that each tangent / cotangent / Jacobian has the
shape the primal implies):

* jvp against float64 central differences (``stop_gradient`` values frozen);
* vjp against jvp (dot-product identity), ``linearize`` against jvp;
* ``jacfwd`` against ``jacrev`` and against jvp;
* second order of ``s(x) = sum(w * P(x))``: ``hvp``, ``jvp∘grad``, ``grad∘grad``
  (of ``<grad s, v>``), ``jacfwd∘jacrev`` and ``hessian`` against central
  differences of ``grad``;
* ``vmap(P)``, ``vmap∘grad``, ``grad∘vmap`` against a Python loop;
* ``grad(checkpoint(s))`` against ``grad(s)``;
* ``jit(P)``, ``jit(grad(s))``, ``grad(jit(s))``, ``jit(jvp)``, ``jit(vmap(P))`` against
  eager mode, on the traced call and on a replay at another point.

Profiles: the CI run is deterministic and short (``CI_EXAMPLES`` examples, well under
a minute).  The long run, for hunting bugs::

    FGRAD_HYPOTHESIS_PROFILE=long PYTHONPATH=$PWD python -m pytest -q tests/test_random_programs.py

(the "long" profile of tests/conftest.py: many examples, random seeds; add
``--hypothesis-seed=N`` to reproduce a run).  Every profile draws from the same space of
programs: no known bug is left out.
"""

import itertools
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fgrad
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES, concrete, variadic

MAX_STEPS = 6
PROFILE = os.environ.get("FGRAD_HYPOTHESIS_PROFILE", "ci")
CI_EXAMPLES = 40

# --------------------------------------------------------------------------
# the rows, classified from the table (nothing here is per-row except the
# structural constraint list: rows whose inputs must keep a structure, such as a
# symmetric positive-definite matrix, are only ever fed a scaled copy of their
# sample argument)
# --------------------------------------------------------------------------


def _hints(prim):
    return prim.test or {}


def _usable(p):
    return not p.nondiff and not _hints(p).get("skip") and p.vjp is not None


def _makers(p):
    h = _hints(p)
    return [h["make"]] + list(h.get("also", ())) if "make" in h else []


ELEMENTWISE = sorted(
    (p.name for p in PRIMITIVES.values()
     if _usable(p) and p.batch == "elementwise" and not _makers(p)
     and not isinstance(p.vjp, variadic)),
)
MAKE_ROWS = sorted(p.name for p in PRIMITIVES.values() if _usable(p) and _makers(p))
# one array argument, no sample maker: reductions and friends with ``params`` hints
DIRECT_ROWS = sorted(
    p.name for p in PRIMITIVES.values()
    if _usable(p) and not _makers(p) and p.batch != "elementwise"
    and not isinstance(p.vjp, variadic) and len(p.vjp) == 1
)


def _takes_axis(p):
    """One array argument and an ``axis`` among its sample parameters."""
    rng = np.random.default_rng(0)
    for m in _makers(p):
        args, params = m(rng, (2, 3))
        if len(args) == 1 and "axis" in params:
            return True
    return False


DIRECT_ROWS += sorted(
    p.name for p in PRIMITIVES.values()
    if _usable(p) and p.batch != "elementwise" and _makers(p) and _takes_axis(p)
)
# inputs with a structure that an additive perturbation would destroy
_STRUCTURED_NAMES = {"solve", "lstsq", "scipy.linalg.solve_triangular", "quantile"}


def _structured(p):
    return p.batch == "leading" or p.name in _STRUCTURED_NAMES


# --------------------------------------------------------------------------
# programs
# --------------------------------------------------------------------------

_ids = itertools.count()


class Ctx:
    """How a program runs: ``frozen`` (step id -> value) replaces each
    stop_gradient by its value at the base point (for finite differences);
    ``record`` collects those values."""

    def __init__(self, frozen=None, record=None):
        self.frozen, self.record = frozen, record


class Program:
    def __init__(self, steps, desc, has_custom_vjp):
        self.steps, self.desc, self.has_custom_vjp = steps, desc, has_custom_vjp

    def run(self, x, ctx=None):
        return _run(self.steps, x, ctx or Ctx())

    def __repr__(self):
        return "Program(\n  " + "\n  ".join(self.desc) + "\n)"


def _run(steps, x, ctx):
    vals = [x]
    for step in steps:
        vals.append(step(vals, ctx))
    return vals[-1]


def _squash(v, lo, hi, avoid, side):
    """A smooth map of ``v`` into the row's smooth domain."""
    lo, hi = max(lo, -4.0), min(hi, 4.0)
    if avoid is not None and lo < avoid < hi:
        lo, hi = (avoid + 0.15, hi) if side else (lo, avoid - 0.15)
    pad = 0.08 * (hi - lo)
    lo, hi = lo + pad, hi - pad
    return (lo + hi) / 2 + (hi - lo) / 2 * fnp.tanh(v)


def _float_leaves(out):
    leaves = out if isinstance(out, tuple) else (out,)
    return [k for k, a in enumerate(leaves) if np.result_type(concrete(a)).kind in "fc"]


def _broadcast(*shapes):
    """The broadcast shape, or None when the shapes do not broadcast."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


class Builder:
    """Draws steps while evaluating them at the base point (shapes and values)."""

    def __init__(self, draw, rng):
        self.draw, self.rng = draw, rng
        self.desc = []
        self.has_custom_vjp = False
        self.in_custom_jvp = 0

    def constant(self, shape, lo, hi):
        lo, hi = max(lo, -4.0), min(hi, 4.0)
        pad = 0.08 * (hi - lo)
        return self.rng.uniform(lo + pad, hi - pad, size=shape)

    def steps(self, x0, n, depth, indent=""):
        steps, vals = [], [x0]
        for _ in range(n):
            step = self.step(vals, depth, indent)
            try:  # plain numpy on the drawn values: an error is an invalid draw
                v = np.asarray(step(vals, Ctx(record={})))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError):
                assume(False)
            if np.iscomplexobj(v):  # a complex result (lambertw): its real part flows on
                cplx = step

                def step(vals, ctx, cplx=cplx):
                    return fnp.real(cplx(vals, ctx))

                v = np.real(v)
                self.desc.append(indent + "  (then .real)")
            assume(np.all(np.isfinite(v)))
            if np.max(np.abs(v), initial=0.0) > 20:  # keep values in a sane range
                big = step

                def step(vals, ctx, big=big):
                    return 5 * fnp.tanh(big(vals, ctx) / 5)

                v = np.asarray(step(vals, Ctx(record={})))
                self.desc.append(indent + "  (then 5 tanh(./5))")
            steps.append(step)
            vals.append(v)
        return steps, vals[-1]

    def step(self, vals, depth, indent):
        draw = self.draw
        kinds = ["elementwise"] * 5 + ["direct"] * 2 + ["make"] * 3 + ["stop_gradient"]
        if depth < 2:
            kinds += ["checkpoint", "custom_jvp"]
            if not self.in_custom_jvp:
                # a custom_jvp rule is a jvp of its block, which a custom_vjp inside
                # refuses (forward mode), in every mode: not a valid program
                kinds.append("custom_vjp")
        kind = draw(st.sampled_from(kinds))
        return getattr(self, "_" + kind)(vals, depth, indent)

    # one row on elementwise arguments ------------------------------------
    def _elementwise(self, vals, depth, indent):
        draw = self.draw
        prim = PRIMITIVES[draw(st.sampled_from(ELEMENTWISE))]
        h = _hints(prim)
        nargs = len(prim.vjp)
        domain = h.get("domain", [(-1.5, 1.5)] * nargs)
        avoid = h.get("avoid")
        v = vals[-1]
        diff = [i for i in range(nargs) if prim.vjp[i] is not None]
        chain = draw(st.sampled_from(diff))
        plan = []
        cur = np.shape(v)  # the broadcast shape of the arguments so far

        def fits(shape):
            return _broadcast(cur, shape) is not None

        for i in range(nargs):
            lo, hi = domain[i]
            side = draw(st.booleans())
            earlier = [k for k in range(len(vals)) if fits(np.shape(vals[k]))]
            if i == chain:
                plan.append(("chain", len(vals) - 1, lo, hi, side))
            elif i in diff and draw(st.booleans()):
                k = draw(st.sampled_from(earlier))
                plan.append(("value", k, lo, hi, side))
                cur = np.broadcast_shapes(cur, np.shape(vals[k]))
            else:
                shape = draw(hnp.broadcastable_shapes(cur, max_dims=min(len(cur) + 1, 4),
                                                      max_side=3))
                plan.append(("const", self.constant(shape, lo, hi), lo, hi, side))
                cur = np.broadcast_shapes(cur, shape)
        self.desc.append(f"{indent}{prim.name}(" + ", ".join(
            f"{w}[{k}]" if w != "const" else f"const{np.shape(k)}" for w, k, *_ in plan) + ")")

        def step(vals, ctx):
            args = []
            for what, k, lo, hi, side in plan:
                if what == "const":
                    args.append(k)
                else:
                    args.append(_squash(vals[k], lo, hi, avoid, side))
            return prim.fn(*args)

        return step

    # a reduction-like row on the value itself, random axis / keepdims ----
    def _direct(self, vals, depth, indent):
        draw = self.draw
        prim = PRIMITIVES[draw(st.sampled_from(DIRECT_ROWS))]
        h = _hints(prim)
        v = vals[-1]
        nd = np.ndim(v)
        options = [dict(p) for p in h.get("params", [{}])]
        axes = [None, ()] + list(range(-nd, nd))
        if nd >= 2:
            axes += [(0, -1), (-1, 0), tuple(range(nd))]
        for ax in axes:
            for keep in (None, True, False):
                p = {"axis": ax}
                if keep is not None:
                    p["keepdims"] = keep
                options.append(p)
        lo, hi = h.get("domain", [(-3.0, 3.0)])[0]
        fine = []
        for p in options:  # the parameters this row accepts on this shape
            try:
                out = prim.impl(np.asarray(v), **p)
            except Exception:
                continue
            if out is not None and _float_leaves(out):
                fine.append(p)
        assume(fine)
        params = draw(st.sampled_from(fine))
        squash = "domain" in h or draw(st.booleans())
        self.desc.append(f"{indent}{prim.name}({'squash ' if squash else ''}[-1], **{params})")

        def step(vals, ctx):
            x = _squash(vals[-1], lo, hi, None, True) if squash else vals[-1]
            return prim.fn(x, **params)

        return step

    # a row with a sample maker: feed the value into one float argument ----
    def _make(self, vals, depth, indent):
        draw = self.draw
        prim = PRIMITIVES[draw(st.sampled_from(MAKE_ROWS))]
        maker = draw(st.sampled_from(_makers(prim)))
        v = vals[-1]
        shape = np.shape(v)[-2:]
        try:
            args, params = maker(self.rng, shape)
        except Exception:
            assume(False)
        args, params = list(args), dict(params)
        rules = prim.vjp
        cands = [i for i, a in enumerate(args)
                 if np.result_type(a).kind == "f"
                 and (isinstance(rules, variadic) or (i < len(rules) and rules[i] is not None))]
        assume(cands)
        if not _structured(prim) and prim.batch != "elementwise":
            cands = cands[:1]
        i = draw(st.sampled_from(cands))
        target = np.asarray(args[i], dtype=np.float64)
        fits = _broadcast(target.shape, np.shape(v)) == target.shape
        if _structured(prim) and np.all(np.isfinite(target)):
            how = "scale"
        elif not fits:  # additive (a sample argument may hold nan: nanmax's)
            how = "plus mean"
        elif prim.batch == "elementwise":
            how = "times"
        else:
            how = "plus"
        try:  # numpy's own refusals of a degenerate sample (max of an empty array)
            out0 = prim.impl(*args, **params)
        except (ValueError, np.linalg.LinAlgError):
            assume(False)
        leaves = _float_leaves(out0)
        assume(leaves)
        leaf = draw(st.sampled_from(leaves))
        part = draw(st.sampled_from(["real", "imag"]))
        is_tuple = isinstance(out0, tuple)
        is_complex = np.iscomplexobj(out0 if not is_tuple else out0[leaf])
        self.desc.append(
            f"{indent}{prim.name}(arg {i} <- {how} [-1], shape {target.shape}, **{params})"
            + (f"[{leaf}]" if is_tuple else "") + (f".{part}" if is_complex else ""))

        def step(vals, ctx):
            v = vals[-1]
            if how == "scale":
                a = target * (1 + 0.2 * fnp.tanh(fnp.mean(v)))
            elif how == "plus mean":
                a = target + fnp.mean(v)
            elif how == "times":
                a = target * (1 + 0.1 * fnp.tanh(v))
            else:
                a = target + v
            full = list(args)
            full[i] = a
            out = prim.fn(*full, **params)
            if is_tuple:
                out = out[leaf]
            if is_complex:
                out = fnp.real(out) if part == "real" else fnp.imag(out)
            return out

        return step

    # stop_gradient at a random point ---------------------------------------
    def _stop_gradient(self, vals, depth, indent):
        sid = next(_ids)
        here = np.shape(vals[-1])
        k = self.draw(st.sampled_from([
            k for k, a in enumerate(vals) if _broadcast(here, np.shape(a)) == here]))
        self.desc.append(f"{indent}[-1] + tanh(stop_gradient([{k}]))")

        def step(vals, ctx):
            if ctx.frozen is not None:
                u = ctx.frozen[sid]
            else:
                u = fgrad.stop_gradient(vals[k])
                if ctx.record is not None:
                    ctx.record[sid] = np.asarray(concrete(u))
            return vals[-1] + fnp.tanh(u)

        return step

    # blocks -----------------------------------------------------------------
    def _block(self, vals, depth, indent, what):
        n = self.draw(st.integers(1, 2))
        self.desc.append(f"{indent}{what}(")
        inner, _ = self.steps(vals[-1], n, depth + 1, indent + "  ")
        self.desc.append(f"{indent})")

        def block(x, ctx):
            return _run(inner, x, ctx)

        return block

    def _checkpoint(self, vals, depth, indent):
        block = self._block(vals, depth, indent, "checkpoint")

        def step(vals, ctx):
            return fgrad.checkpoint(lambda x: block(x, ctx))(vals[-1])

        return step

    def _custom_jvp(self, vals, depth, indent):
        self.in_custom_jvp += 1
        try:
            block = self._block(vals, depth, indent, "custom_jvp")
        finally:
            self.in_custom_jvp -= 1

        def step(vals, ctx):
            f = fgrad.custom_jvp(lambda x: block(x, ctx))
            f.defjvp(lambda p, t: fgrad.jvp(lambda x: block(x, ctx), p, t))
            return f(vals[-1])

        return step

    def _custom_vjp(self, vals, depth, indent):
        block = self._block(vals, depth, indent, "custom_vjp")
        self.has_custom_vjp = True

        def step(vals, ctx):
            f = fgrad.custom_vjp(lambda x: block(x, ctx))

            def fwd(x):
                return block(x, ctx), x

            def bwd(x, g):
                return fgrad.vjp(lambda y: block(y, ctx), x)[1](g)

            f.defvjp(fwd, bwd)
            return f(vals[-1])

        return step


@st.composite
def programs(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    x0 = rng.uniform(-1.0, 1.0, size=shape)
    b = Builder(draw, rng)
    n = draw(st.integers(1, MAX_STEPS))
    steps, y0 = b.steps(x0, n, 0)
    prog = Program(steps, b.desc, b.has_custom_vjp)
    return prog, x0, np.asarray(y0), rng


# --------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------


def _close(got, want, what, prog, scale=None):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}\n{prog!r}"
    s = np.max(np.abs(want), initial=1.0) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * s,
                               err_msg=f"{what}\n{prog!r}")


def _close_tight(got, want, what, prog):
    # staged and eager mode run the same numpy calls; only the optimiser's reordering of
    # a commutative product or sum may change the last bits
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}\n{prog!r}"
    s = np.max(np.abs(want), initial=1.0)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * s, err_msg=f"{what}\n{prog!r}")


def _fd(f, x, t, h=1e-5):
    return (np.asarray(f(x + h * t)) - np.asarray(f(x - h * t))) / (2 * h)


def _shape_is(a, shape, what, prog):
    assert np.shape(a) == tuple(shape), (
        f"{what}: shape {np.shape(a)}, the primal implies {tuple(shape)}\n{prog!r}")


def check_program(prog, x0, y0, rng, checks):
    record = {}
    y = np.asarray(prog.run(x0, Ctx(record=record)))
    np.testing.assert_array_equal(y, y0)
    frozen = Ctx(frozen=record)

    def P(x):
        return prog.run(x)

    def P_plain(x):
        return np.asarray(prog.run(x, frozen))

    w = rng.standard_normal(y.shape)

    def S(x):
        return fnp.sum(P(x) * w)

    t = rng.standard_normal(x0.shape)
    u = rng.standard_normal(y.shape)
    fwd_ok = not prog.has_custom_vjp
    fd = _fd(P_plain, x0, t)

    if "jvp" in checks:
        if fwd_ok:
            out, tan = fgrad.jvp(P, (x0,), (t,))
            _shape_is(out, y.shape, "jvp primal", prog)
            _shape_is(tan, y.shape, "jvp tangent", prog)
            _close(out, y, "jvp primal", prog)
            _close(tan, fd, "jvp vs central differences", prog)
        else:
            with pytest.raises(TypeError):
                fgrad.jvp(P, (x0,), (t,))
    if "vjp" in checks:
        out, f_vjp = fgrad.vjp(P, x0)
        _shape_is(out, y.shape, "vjp primal", prog)
        ct = f_vjp(u)
        ct = ct[0] if isinstance(ct, tuple) else ct
        _shape_is(ct, x0.shape, "vjp cotangent", prog)
        _close(np.sum(ct * t), np.sum(u * fd), "vjp vs central differences (<u, J t>)", prog,
               scale=np.sum(np.abs(u * fd)) + 1.0)
    if "linearize" in checks and fwd_ok:
        out, f_jvp = fgrad.linearize(P, x0)
        _shape_is(out, y.shape, "linearize primal", prog)
        tan = f_jvp(t)
        _shape_is(tan, y.shape, "linearize tangent", prog)
        _close(tan, fd, "linearize vs central differences", prog)
    if "jac" in checks:
        jr = fgrad.jacrev(P)(x0)
        _shape_is(jr, y.shape + x0.shape, "jacrev", prog)
        _close(np.tensordot(jr, t, axes=x0.ndim), fd, "jacrev @ t vs central differences", prog)
        if fwd_ok:
            jf = fgrad.jacfwd(P)(x0)
            _shape_is(jf, y.shape + x0.shape, "jacfwd", prog)
            _close(jf, jr, "jacfwd vs jacrev", prog)

    if "second" in checks:
        v = rng.standard_normal(x0.shape)
        g = fgrad.grad(S)
        g0 = g(x0)
        _shape_is(g0, x0.shape, "grad", prog)
        _close(np.sum(g0 * t), np.sum(w * fd), "grad vs central differences", prog,
               scale=np.sum(np.abs(w * fd)) + 1.0)
        # central differences of grad with the stop_gradient values frozen (the
        # second derivative holds them constant too)
        g_frozen = fgrad.grad(lambda x: fnp.sum(prog.run(x, frozen) * w))
        hv_fd = _fd(lambda x: np.asarray(g_frozen(x)), x0, v)
        scale = np.max(np.abs(hv_fd), initial=1.0)
        gg = fgrad.grad(lambda x: fnp.sum(g(x) * v))(x0)
        _shape_is(gg, x0.shape, "grad∘grad", prog)
        _close(gg, hv_fd, "grad∘grad vs central differences of grad", prog, scale)
        H = fgrad.jacrev(fgrad.jacrev(S))(x0)
        _shape_is(H, x0.shape * 2, "jacrev∘jacrev", prog)
        _close(np.tensordot(H, v, axes=x0.ndim), hv_fd, "jacrev∘jacrev", prog, scale)
        if fwd_ok:
            hv = fgrad.hvp(S, (x0,), (v,))
            _shape_is(hv, x0.shape, "hvp", prog)
            _close(hv, hv_fd, "hvp vs central differences of grad", prog, scale)
            _, jg = fgrad.jvp(g, (x0,), (v,))
            _shape_is(jg, x0.shape, "jvp∘grad", prog)
            _close(jg, hv_fd, "jvp∘grad vs central differences of grad", prog, scale)
            H = fgrad.jacfwd(fgrad.jacrev(S))(x0)
            _shape_is(H, x0.shape * 2, "jacfwd∘jacrev", prog)
            _close(np.tensordot(H, v, axes=x0.ndim), hv_fd, "jacfwd∘jacrev", prog, scale)
            H2 = fgrad.hessian(S)(x0)
            _shape_is(H2, x0.shape * 2, "hessian", prog)
            _close(H2, H, "hessian vs jacfwd∘jacrev", prog, scale)

    if "vmap" in checks:
        size = 3
        xs = [x0] + [x0 + 0.05 * rng.standard_normal(x0.shape) for _ in range(size - 1)]
        ax = int(rng.integers(-x0.ndim - 1, x0.ndim + 1))
        xb = np.stack(xs, axis=ax)
        got = fgrad.vmap(P, in_axes=ax)(xb)
        want = np.stack([np.asarray(P(xi)) for xi in xs])
        _close(got, want, f"vmap (in_axes={ax}) vs loop", prog)
        got = fgrad.vmap(fgrad.grad(S), in_axes=ax)(xb)
        want = np.stack([np.asarray(fgrad.grad(S)(xi)) for xi in xs])
        _close(got, want, f"vmap∘grad (in_axes={ax}) vs loop", prog)
        wb = rng.standard_normal((size,) + y.shape)
        got = fgrad.grad(lambda xb: fnp.sum(fgrad.vmap(P, in_axes=ax)(xb) * wb))(xb)
        _shape_is(got, xb.shape, "grad∘vmap", prog)
        want = np.stack([np.asarray(fgrad.grad(lambda x, k=k: fnp.sum(P(x) * wb[k]))(xi))
                         for k, xi in enumerate(xs)], axis=ax)
        _close(got, want, f"grad∘vmap (in_axes={ax}) vs loop", prog)

    if "jit" in checks:
        # the staged program equals eager mode (the same numpy calls: to rounding), on
        # the traced call and on a replay at another point; so do its derivatives
        x1 = np.array(x0 + 0.05 * rng.standard_normal(x0.shape))  # 0-d stays an array
        jP, jg, gj = fgrad.jit(P), fgrad.jit(fgrad.grad(S)), fgrad.grad(fgrad.jit(S))
        for xi in (x0, x1):
            want = np.asarray(P(xi))
            _shape_is(jP(xi), want.shape, "jit", prog)
            _close_tight(jP(xi), want, "jit vs eager", prog)
            g_want = fgrad.grad(S)(xi)
            _close_tight(jg(xi), g_want, "jit∘grad vs grad", prog)
            _close_tight(gj(xi), g_want, "grad∘jit vs grad", prog)
            if fwd_ok:
                _, tan = fgrad.jit(lambda x: fgrad.jvp(P, (x,), (t,)))(xi)
                _close_tight(tan, fgrad.jvp(P, (xi,), (t,))[1], "jit∘jvp vs jvp", prog)
        xb = np.stack([x0, x1])
        _close_tight(fgrad.jit(fgrad.vmap(P))(xb), fgrad.vmap(P)(xb), "jit∘vmap vs vmap", prog)
        assert jP.cache_info()["traces"] == 1, "a replay at a new point traced again"

    if "checkpoint" in checks:
        got = fgrad.grad(fgrad.checkpoint(S))(x0)
        _shape_is(got, x0.shape, "grad∘checkpoint", prog)
        _close(got, fgrad.grad(S)(x0), "grad∘checkpoint vs grad", prog)


ALL_CHECKS = ("jvp", "vjp", "linearize", "jac", "second", "vmap", "checkpoint", "jit")

# The CI profile: deterministic, a fixed number of examples, well under a minute.
# Other profiles (FGRAD_HYPOTHESIS_PROFILE=long / dev) keep their own settings.
_ci = settings(max_examples=CI_EXAMPLES, deadline=None, derandomize=True,
               suppress_health_check=list(HealthCheck)) if PROFILE == "ci" else (lambda f: f)


@_ci
@given(case=programs(), checks=st.sets(st.sampled_from(ALL_CHECKS), min_size=2))
def test_random_program_under_random_transforms(case, checks):
    prog, x0, y0, rng = case
    check_program(prog, x0, y0, rng, checks)


def _broken_keepdims_row():
    """A reduction with the shape mistake of issue 16's logsumexp: ``keepdims`` on a
    0-d input gives shape (1,), and the vjp rule broadcasts the cotangent to the
    input's shape (which a (1,)-shaped cotangent cannot be for a 0-d input)."""
    from fgrad.core import Primitive

    def impl(x, keepdims=False):
        out = np.log(np.sum(np.exp(x), keepdims=keepdims))
        return np.atleast_1d(out) if keepdims else out

    def jvp(t, ans, x, keepdims=False):
        return fnp.sum(t * fnp.exp(x - ans), keepdims=keepdims)

    def vjp(g, ans, x, keepdims=False):
        return fnp.broadcast_to(g, np.shape(x)) * fnp.exp(x - ans)

    # not in the table: a Primitive that is never registered
    return Primitive("selftest.broken_logsumexp", impl, [jvp], [vjp], batch="reduce")


@pytest.mark.parametrize("check", ["vjp", "jac", "second", "checkpoint"])
def test_the_checks_catch_a_keepdims_shape_bug(check):
    """The checks above fail on a row with the 0-d keepdims shape bug (so the random
    test finds that class of bug wherever the generator draws it)."""
    bad = _broken_keepdims_row()
    prog = Program([lambda vals, ctx: bad.fn(vals[-1], keepdims=True)],
                   ["selftest.broken_logsumexp([-1], keepdims=True)"], False)
    x0 = np.array(0.3)
    y0 = np.asarray(bad.impl(x0, keepdims=True))
    with pytest.raises((AssertionError, ValueError)):
        check_program(prog, x0, y0, np.random.default_rng(0), {check})
    # the same program with a 1-d input is fine: the checks do not fail at random
    x1 = np.array([0.3])
    check_program(prog, x1, np.asarray(bad.impl(x1, keepdims=True)), np.random.default_rng(0),
                  {check})
