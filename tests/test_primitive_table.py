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
