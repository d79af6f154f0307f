"""The systematic test: every row of the rule table, both modes, to second order.

Adding a row to ``fgrad.core.PRIMITIVES`` adds its tests here with no further
work.  A row steers its own test through ``test=`` hints (see
docs/adding-a-primitive.md): ``domain``, ``avoid``, ``params``, ``make``,
``also``, ``float32``, ``complex``, ``order``, ``tol``, ``skip``.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fgrad
from fgrad.core import PRIMITIVES, variadic

ROWS = sorted(
    (p for p in PRIMITIVES.values() if not p.nondiff and not (p.test or {}).get("skip")),
    key=lambda p: p.name,
)


def _hints(prim):
    return prim.test or {}


def _values(rng, shape, lo, hi, avoid):
    x = rng.uniform(lo, hi, size=shape)
    if avoid is not None:
        near = np.abs(x - avoid) < 0.1
        x = np.where(near, x + 0.2 * np.sign(x - avoid + 1e-12), x)
    return x


@st.composite
def cases(draw, prim):
    """Draw ``(args, params)`` for one test of ``prim``."""
    hints = _hints(prim)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    makers = [hints["make"]] + list(hints.get("also", ())) if "make" in hints else None
    if makers:
        maker = draw(st.sampled_from(makers))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
        args, params = maker(rng, shape)
        return tuple(args), dict(params)
    nargs = len(prim.vjp)
    if isinstance(prim.vjp, variadic):
        raise AssertionError(f"{prim.name}: a variadic row needs a test 'make' hint")
    domain = hints.get("domain", [(-1.5, 1.5)] * nargs)
    if prim.batch == "elementwise":
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=nargs, max_dims=3, max_side=3))
        shapes = shapes.input_shapes
    else:
        shapes = [draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))] * nargs
    args = tuple(
        _values(rng, s, lo, hi, hints.get("avoid")) for s, (lo, hi) in zip(shapes, domain)
    )
    params = draw(st.sampled_from(hints.get("params", [{}])))
    return args, dict(params)


def _diff_positions(prim, args):
    rules = prim.vjp
    return [
        i for i, a in enumerate(args)
        if (isinstance(rules, variadic) or (i < len(rules) and rules[i] is not None))
        and np.result_type(a).kind in "fc"
    ]


def _partial(prim, args, params, positions):
    def f(*diff_args):
        full = list(args)
        for i, a in zip(positions, diff_args):
            full[i] = a
        return prim.fn(*full, **params)

    return f


def _cast(args, positions, dtype):
    return tuple(
        np.asarray(a).astype(dtype) if i in positions else a for i, a in enumerate(args)
    )


@pytest.mark.parametrize("prim", ROWS, ids=lambda p: p.name)
@given(data=st.data())
def test_rule_matches_numerics_and_other_mode(prim, data):
    """jvp vs central differences, vjp vs jvp (dot-product identity), order 2."""
    args, params = data.draw(cases(prim))
    positions = _diff_positions(prim, args)
    f = _partial(prim, args, params, positions)
    diff_args = tuple(np.asarray(args[i], dtype=np.float64) for i in positions)
    hints = _hints(prim)
    atol, rtol = hints.get("tol", (1e-5, 1e-5))
    fgrad.check_grads(f, diff_args, order=hints.get("order", 2), atol=atol, rtol=rtol)
    if hints.get("complex"):
        rng = np.random.default_rng(0)
        cargs = tuple(a + 0.3j * rng.uniform(-1, 1, np.shape(a)) for a in diff_args)
        fgrad.check_grads(f, cargs, order=hints.get("order", 2), atol=atol, rtol=rtol)


@pytest.mark.parametrize("prim", ROWS, ids=lambda p: p.name)
@given(data=st.data())
def test_rule_forward_value_is_numpys(prim, data):
    """Under a transform, the primal output equals the numpy implementation's exactly."""
    args, params = data.draw(cases(prim))
    positions = _diff_positions(prim, args)
    f = _partial(prim, args, params, positions)
    diff_args = tuple(np.asarray(args[i]) for i in positions)
    want = prim.impl(*args, **params)
    got, _ = fgrad.jvp(f, diff_args, tuple(np.ones_like(a) for a in diff_args))
    np.testing.assert_array_equal(got, want)
    got, _ = fgrad.vjp(f, *diff_args)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("prim", ROWS, ids=lambda p: p.name)
@given(data=st.data())
def test_rule_preserves_float32(prim, data):
    """float32 in -> float32 tangents and cotangents out, close to the float64 ones."""
    hints = _hints(prim)
    if hints.get("float32") is False:
        return
    args, params = data.draw(cases(prim))
    positions = _diff_positions(prim, args)
    args32 = _cast(args, positions, np.float32)
    f32 = _partial(prim, args32, params, positions)
    f64 = _partial(prim, _cast(args, positions, np.float64), params, positions)
    x32 = tuple(args32[i] for i in positions)
    x64 = tuple(np.asarray(a, np.float64) for a in x32)
    out32, f_vjp32 = fgrad.vjp(f32, *x32)
    out64, f_vjp64 = fgrad.vjp(f64, *x64)
    ct = np.ones_like(out32)
    for c32, c64, x in zip(f_vjp32(ct), f_vjp64(ct.astype(np.float64)), x32):
        assert c32.dtype == np.float32, f"{prim.name}: cotangent dtype {c32.dtype}"
        assert c32.shape == x.shape
        np.testing.assert_allclose(c32, c64, rtol=2e-3, atol=2e-3)
    _, t32 = fgrad.jvp(f32, x32, tuple(np.ones_like(a) for a in x32))
    assert np.result_type(t32) == np.result_type(out32), f"{prim.name}: tangent dtype"


def _batch_of(a, rng, size, perturb):
    """``size`` examples around ``a``: scaled and nudged copies (symmetry kept), fresh
    masks for booleans, the same value for integers (indices must stay valid)."""
    a = np.asarray(a)
    out = [a]
    for b in range(1, size):
        if a.dtype == np.bool_:
            out.append(rng.random(a.shape) > 0.5)
        elif a.dtype.kind in "fc" and perturb:
            noise = rng.standard_normal(a.shape)
            if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and np.allclose(a, np.swapaxes(a, -1, -2)):
                noise = noise + np.swapaxes(noise, -1, -2)
            out.append((a * (1 + 0.03 * b) + 0.01 * b * noise).astype(a.dtype))
        else:
            out.append(a)
    return out


@pytest.mark.parametrize("prim", ROWS, ids=lambda p: p.name)
@given(data=st.data())
def test_rule_batches_like_a_loop(prim, data):
    """vmap over a batch of examples equals a Python loop: values, jvp and vjp.

    Random arguments are batched along random (also negative) axes, the others are
    shared; tangents and cotangents differ per example.  A row without a batching
    rule fails here with a message naming it.
    """
    from fgrad.batching import vmap

    args, params = data.draw(cases(prim))
    size = 3
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    positions = _diff_positions(prim, args)
    mapped = [data.draw(st.booleans()) for _ in args]
    if not any(mapped):
        mapped[data.draw(st.integers(0, len(args) - 1))] = True
    in_axes, batched, examples = [], [], [[] for _ in range(size)]
    for i, (a, m) in enumerate(zip(args, mapped)):
        if not m:
            in_axes.append(None)
            batched.append(a)
            for ex in examples:
                ex.append(a)
            continue
        nd = np.ndim(a)
        ax = data.draw(st.integers(-nd - 1, nd))
        per = _batch_of(a, rng, size, perturb=i in positions)
        in_axes.append(ax)
        batched.append(np.stack(per, axis=ax))
        for ex, p in zip(examples, per):
            ex.append(p)

    def f(*a):
        return prim.fn(*a, **params)

    def close(got, want, what):
        for g, w in zip(fgrad.tree.tree_leaves(got), fgrad.tree.tree_leaves(want)):
            np.testing.assert_allclose(
                g, w, rtol=1e-9, atol=1e-12, err_msg=f"{prim.name}: vmap {what} != loop")

    want = np.stack([f(*ex) for ex in examples])
    close(vmap(f, in_axes=tuple(in_axes))(*batched), want, "value")
    if not positions:
        return

    def pick(a):
        return tuple(a[i] for i in positions)

    def along(a, d):
        def g(*diff):
            full = list(a)
            for i, v in zip(positions, diff):
                full[i] = v
            return f(*full)
        return g

    def jvp_t(a, t):
        return fgrad.jvp(along(a, None), pick(a), t)[1]

    def vjp_t(a, u):
        return fgrad.vjp(along(a, None), *pick(a))[1](u)

    tangents = [tuple(rng.standard_normal(np.shape(ex[i])).astype(np.result_type(ex[i]))
                      for i in positions) for ex in examples]
    cotangents = [rng.standard_normal(np.shape(w)).astype(w.dtype) for w in want]
    t_b = tuple(np.stack([t[k] for t in tangents]) for k in range(len(positions)))
    got = vmap(lambda a, t: jvp_t(a, t), in_axes=(tuple(in_axes), 0))(tuple(batched), t_b)
    close(got, np.stack([jvp_t(ex, t) for ex, t in zip(examples, tangents)]), "jvp")
    got = vmap(lambda a, u: vjp_t(a, u), in_axes=(tuple(in_axes), 0))(
        tuple(batched), np.stack(cotangents))
    loop = [vjp_t(ex, u) for ex, u in zip(examples, cotangents)]
    close(got, tuple(np.stack([r[k] for r in loop]) for k in range(len(positions))), "vjp")


# Rows whose rules or implementations must read values to run, so that fgrad.jit cannot
# stage them (they raise fgrad.staging.ConcretizationError under jit): row -> reason.
JIT_READS_VALUES = {}


@pytest.mark.parametrize("prim", ROWS, ids=lambda p: p.name)
@given(data=st.data())
def test_rule_under_jit(prim, data):
    """Every row under jit(f), jit(vjp), jit(jvp) and jit(vmap) equals eager mode: the
    primal output bit for bit (the same numpy calls run), the derivatives and the
    batched values within rounding; the first (tracing) call and a replay agree."""
    if prim.name in JIT_READS_VALUES:
        pytest.skip(JIT_READS_VALUES[prim.name])
    from fgrad.batching import vmap

    args, params = data.draw(cases(prim))
    positions = _diff_positions(prim, args)
    if not positions:  # nothing to stage but the plain call: stage every float argument
        positions = [i for i, a in enumerate(args) if np.result_type(a).kind in "fc"]
    if not positions:
        return
    f = _partial(prim, args, params, positions)
    x = tuple(np.asarray(args[i]) for i in positions)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))

    def same(got, want, what, exact=False):
        got_l, want_l = fgrad.tree.tree_leaves(got), fgrad.tree.tree_leaves(want)
        assert len(got_l) == len(want_l), f"{prim.name}: jit {what}: structure"
        for g, w in zip(got_l, want_l):
            assert np.shape(g) == np.shape(w), f"{prim.name}: jit {what}: shape"
            assert np.result_type(g) == np.result_type(w), f"{prim.name}: jit {what}: dtype"
            if exact:
                np.testing.assert_array_equal(g, w, err_msg=f"{prim.name}: jit {what}")
            else:
                np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12,
                                           err_msg=f"{prim.name}: jit {what}")

    jf = fgrad.jit(f)
    want = f(*x)
    same(jf(*x), want, "value (tracing call)", exact=True)
    same(jf(*x), want, "value (replay)", exact=True)
    # a replay at other values of the same shapes and dtypes: nothing of the traced
    # call's values may be baked into the program
    x2 = tuple(np.asarray(_batch_of(a, rng, 2, perturb=True)[1]) for a in x)
    # a row whose output dtype numpy picks from the values (scipy's sqrtm of a real matrix
    # may come back complex on one call and real on the next) is guarded: a program traced
    # on a real result refuses a complex one with a TypeError naming the fixes
    dtype_changes = prim.dtype_from_values and any(
        np.result_type(a).kind != np.result_type(b).kind
        for a, b in zip(fgrad.tree.tree_leaves(want), fgrad.tree.tree_leaves(f(*x2))))
    if dtype_changes and np.result_type(*fgrad.tree.tree_leaves(want)).kind == "c":
        # traced complex: a real result is made complex, with the same values
        for g, w in zip(fgrad.tree.tree_leaves(jf(*x2)), fgrad.tree.tree_leaves(f(*x2))):
            np.testing.assert_array_equal(g, w, err_msg=f"{prim.name}: jit, complex trace")
    elif dtype_changes:
        with pytest.raises(TypeError, match="traced on a call where they were"):
            jf(*x2)
    else:
        same(jf(*x2), f(*x2), "value (replay at other values)", exact=True)
    assert jf.cache_info()["traces"] == 1
    if not _diff_positions(prim, args):
        return
    ct = rng.standard_normal(np.shape(want)).astype(np.result_type(want))
    if np.result_type(want).kind == "c":
        ct = ct + 1j * rng.standard_normal(np.shape(want))
    ts = tuple(rng.standard_normal(np.shape(a)).astype(a.dtype) for a in x)

    def vjp_f(*a):
        return fgrad.vjp(f, *a)[1](ct)

    def jvp_f(a, t):
        return fgrad.jvp(f, a, t)

    for what, fn, inputs in [("vjp", vjp_f, x), ("jvp", jvp_f, (x, ts))]:
        jfn = fgrad.jit(fn)
        want = fn(*inputs)
        same(jfn(*inputs), want, f"{what} (tracing call)")
        same(jfn(*inputs), want, f"{what} (replay)")
        other = x2 if what == "vjp" else (x2, ts)
        if not dtype_changes:
            same(jfn(*other), fn(*other), f"{what} (replay at other values)")
    batch = tuple(np.stack(_batch_of(a, rng, 3, perturb=True)) for a in x)
    want = vmap(f)(*batch)
    jv = fgrad.jit(vmap(f))
    same(jv(*batch), want, "vmap (tracing call)")
    same(jv(*batch), want, "vmap (replay)")
