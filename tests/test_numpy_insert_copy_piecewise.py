"""fgrad.numpy.insert, copy and piecewise, and lists holding tracers as arguments.

Values under a trace are compared with numpy's (exactly), derivatives with
check_grads (second order, both modes) and analytic results (counts of where
each input went, each piece's own derivative), vmap with a Python loop.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy_checks import check, loop, same

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(47)


def randn(*shape):
    return RNG.standard_normal(shape)


# --- insert -------------------------------------------------------------------------------


INSERT_CASES = [
    ((5,), 2, (), None), ((5,), [0, 2, 2, 5], (4,), None), ((5,), slice(1, 4), (3,), None),
    ((5,), slice(None, None, 2), (), None), ((2, 3), 1, (), None), ((2, 3), [1, 4], (2,), None),
    ((2, 3), 1, (3,), 0), ((2, 3), 1, (2, 1), 1), ((2, 3), [0, 3], (2, 2), 1),
    ((2, 3), [1], (2, 1), 1), ((2, 3), slice(0, 2), (1, 3), 0), ((2, 3), -1, (2,), 1),
    ((2, 3), 2, (1,), -1), ((3,), [], (0,), 0), ((2, 3), np.array([2, 0]), (3,), 0),
]


@pytest.mark.parametrize("shape, obj, vshape, axis", INSERT_CASES)
def test_insert(shape, obj, vshape, axis):
    a, v = randn(*shape), randn(*vshape)
    check(lambda a, v: np.insert(a, obj, v, axis=axis),
          lambda a, v: fnp.insert(a, obj, v, axis=axis), a, v)
    # each value lands in as many slots as numpy fills with it
    ones = np.ones(vshape)
    slots = np.insert(np.zeros(shape), obj, ones, axis=axis).sum()
    assert fgrad.grad(lambda v: fnp.insert(np.zeros(shape), obj, v, axis=axis).sum())(ones).sum() \
        == slots
    ga = fgrad.grad(lambda a: fnp.insert(a, obj, v, axis=axis).sum())(a)
    np.testing.assert_array_equal(ga, np.ones(shape))


def test_insert_mixed_inputs():
    a = randn(4)
    check(lambda a: np.insert(a, 1, [7.0, 8.0]), lambda a: fnp.insert(a, 1, [7.0, 8.0]), a)
    check(lambda v: np.insert([1.0, 2.0], [0, 2], v), lambda v: fnp.insert([1.0, 2.0], [0, 2], v),
          randn(2))
    # values are cast to arr's dtype, as numpy does
    a32 = randn(3).astype(np.float32)
    v = randn(2)
    same(fgrad.vjp(lambda v: fnp.insert(a32, 1, v), v)[0], np.insert(a32, 1, v))
    # a list with a tracer in it, and numpy dispatch
    g = fgrad.grad(lambda x: fnp.insert(np.zeros(2), 1, [x, 2 * x]).sum())(1.0)
    assert float(g) == 3.0
    same(fgrad.vjp(lambda a: np.insert(a, 2, 0.5), a)[0], np.insert(a, 2, 0.5))
    with pytest.raises(IndexError):
        fgrad.grad(lambda a: fnp.insert(a, 9, 1.0).sum())(a)


@given(st.integers(1, 5), st.lists(st.integers(-5, 5), min_size=1, max_size=4), st.booleans())
def test_insert_hypothesis(n, positions, scalar):
    a = RNG.standard_normal((2, n))
    obj = [p % (n + 1) for p in positions]
    v = RNG.standard_normal(() if scalar else (2, len(obj)))
    check(lambda a, v: np.insert(a, obj, v, axis=1), lambda a, v: fnp.insert(a, obj, v, axis=1),
          a, v, order=1)


def test_insert_vmap():
    As, Vs = randn(4, 2, 3), randn(4, 2)
    fn = lambda a, v: fnp.insert(a, [1, 3], v, axis=1)  # noqa: E731
    np.testing.assert_array_equal(fgrad.vmap(fn)(As, Vs), loop(fn, As, Vs))
    fn2 = lambda a: fnp.insert(a, 1, 0.0)  # noqa: E731
    np.testing.assert_array_equal(fgrad.vmap(fn2)(As), loop(fn2, As))
    np.testing.assert_array_equal(fgrad.vmap(fn, in_axes=(None, 0))(As[0], Vs),
                                  loop(lambda v: fn(As[0], v), Vs))


# --- copy ---------------------------------------------------------------------------------


def test_copy():
    x = randn(2, 3)
    check(np.copy, fnp.copy, x)
    check(np.copy, lambda x: np.copy(x), x)  # dispatch
    inner = []

    def f(x):
        y = fnp.copy(x)
        inner.append((fgrad.core.concrete(x), fgrad.core.concrete(y)))
        return y * x

    np.testing.assert_array_equal(fgrad.grad(lambda x: f(x).sum())(x), 2 * x)
    a, b = inner[0]
    assert a is not b and not np.shares_memory(a, b)
    np.testing.assert_array_equal(fgrad.vmap(fnp.copy)(x), x)
    assert float(fgrad.grad(lambda t: fnp.copy([t, 2 * t]).sum())(1.0)) == 3.0


def test_sequences_holding_tracers():
    """Lists with tracers in them are arrays too (as numpy would read them)."""
    cases = [
        (lambda t: fnp.gradient([t, 2 * t, 4 * t])[1], 1.5),
        (lambda t: fnp.unwrap([0.0, t, -t])[2], -1.0),
        (lambda t: fnp.bincount([0, 1, 1], [t, t, 2 * t])[1], 3.0),
        (lambda t: fnp.unique([t, t, 2 * t]).sum(), 3.0),
        (lambda t: fnp.copy([t, 2 * t]).sum(), 3.0),
        (lambda t: fnp.insert([t, 2 * t], 1, t).sum(), 4.0),
    ]
    for fn, want in cases:
        assert float(fgrad.grad(fn)(3.0)) == want


# --- piecewise ---------------------------------------------------------------------------


def _pieces(x):
    return [x < -0.5, (x >= -0.5) & (x < 0.5)], [lambda v: v ** 2, np.sin, lambda v: np.sqrt(v)]


@pytest.mark.parametrize("shape", [(7,), (3, 4), ()])
def test_piecewise_values_and_derivatives(shape):
    x = np.random.default_rng(11).uniform(-1.5, 1.5, shape)
    conds, funcs = _pieces(x)
    want = np.piecewise(x, conds, funcs)
    got, f_vjp = fgrad.vjp(lambda x: fnp.piecewise(x, conds, funcs), x)
    np.testing.assert_array_equal(got, want)
    # analytic: 2x, cos x, 1 / (2 sqrt x), no NaN from sqrt of the other pieces' values
    d = np.piecewise(x, conds, [lambda v: 2 * v, np.cos, lambda v: 0.5 / np.sqrt(v)])
    np.testing.assert_allclose(f_vjp(np.ones(shape))[0], d, rtol=1e-14)
    fgrad.check_grads(lambda x: fnp.piecewise(x, conds, funcs), (x,), order=2)


def test_piecewise_constants_overlaps_closures_and_dispatch():
    x = np.linspace(-1.0, 1.0, 9)
    conds = [x < 0, x > -0.5]  # overlapping: the later piece wins
    for funcs in ([1.5, lambda v: 3 * v], [lambda v: v, -2.0, 7.0]):
        got, _ = fgrad.vjp(lambda x: fnp.piecewise(x, conds, funcs), x)
        np.testing.assert_array_equal(got, np.piecewise(x, conds, funcs))
    # the traced value only inside a piece (x itself is a constant)
    g = fgrad.grad(lambda w: fnp.piecewise(x, [x > 0], [lambda v: v * w, 0.0]).sum())(2.0)
    np.testing.assert_allclose(g, x[x > 0].sum())
    # plain numpy code dispatches here, conditions computed from the tracer
    g = fgrad.grad(lambda x: np.piecewise(x, [x < 0], [np.exp, np.cos]).sum())(x)
    np.testing.assert_allclose(g, np.where(x < 0, np.exp(x), -np.sin(x)), rtol=1e-14)
    with pytest.raises(ValueError, match="2 or 3 functions"):
        fgrad.grad(lambda x: fnp.piecewise(x, conds, [np.sin]).sum())(x)
    assert np.array_equal(fnp.piecewise(x, conds, [1.0, 2.0]), np.piecewise(x, conds, [1.0, 2.0]))
