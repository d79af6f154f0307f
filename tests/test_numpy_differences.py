"""Differences along an axis: fgrad.numpy.gradient and unwrap.

Values under a trace are compared with numpy's (exactly), derivatives with
check_grads (second order, both modes), with analytic results (the stencil of
``gradient``, the identity of ``unwrap``) and vmap with a Python loop over the
examples.
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


# --- gradient ----------------------------------------------------------------------------

COORDS = np.array([0.0, 0.3, 1.1, 1.5, 2.6])  # unevenly spaced


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", [(), (0.5,), (np.float64(2.0),), (COORDS,),
                                     (np.arange(5) * 3,), (np.linspace(0.0, 1.0, 5),)])
def test_gradient_1d(edge_order, spacing):
    f = randn(5)
    check(lambda f: np.gradient(f, *spacing, edge_order=edge_order),
          lambda f: fnp.gradient(f, *spacing, edge_order=edge_order), f)


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("kw, spacing", [
    ({}, ()), ({}, (0.5,)), ({}, (COORDS[:3], 2.0)), ({"axis": 0}, (COORDS[:3],)),
    ({"axis": 1}, (0.25,)), ({"axis": -1}, (COORDS[1:],)), ({"axis": (1, 0)}, (1.5, COORDS[:3])),
    ({"axis": (0,)}, ()),
])
def test_gradient_2d(edge_order, kw, spacing):
    f = randn(3, 4)
    check(lambda f: np.gradient(f, *spacing, edge_order=edge_order, **kw),
          lambda f: fnp.gradient(f, *spacing, edge_order=edge_order, **kw), f)


def test_gradient_dtypes_and_dispatch():
    f32 = randn(6).astype(np.float32)
    for spacing in [(), (2.0,), (np.float64(2.0),), (COORDS[:1].repeat(6) + np.arange(6),),
                    (np.cumsum(np.arange(1.0, 7.0)),)]:
        got = fgrad.vjp(lambda f: fnp.gradient(f, *spacing, edge_order=2), f32)[0]
        same(got, np.gradient(f32, *spacing, edge_order=2))
    z = randn(5) + 1j * randn(5)
    check(lambda z: np.gradient(z, COORDS), lambda z: fnp.gradient(z, COORDS), z)
    # plain numpy code reaches fgrad through __array_function__
    g = fgrad.grad(lambda f: np.gradient(f, COORDS)[2])(randn(5))
    np.testing.assert_allclose(g, np.gradient(np.eye(5), COORDS, axis=0)[2])
    # 0-d f with axis=None: an empty tuple, as in numpy
    assert fgrad.vjp(lambda f: fnp.gradient(f), 1.0)[0] == ()


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing", [(), (0.5,), (COORDS,)])
def test_gradient_jacobian_is_the_stencil(edge_order, spacing):
    """gradient is linear in f: its Jacobian is numpy's gradient of the unit vectors."""
    want = np.gradient(np.eye(5), *spacing, axis=0, edge_order=edge_order)
    for jac in (fgrad.jacfwd, fgrad.jacrev):
        got = jac(lambda f: fnp.gradient(f, *spacing, edge_order=edge_order))(randn(5))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gradient_of_quadratic_is_exact():
    x = np.cumsum(RNG.uniform(0.2, 1.0, 7))  # uneven grid
    coef = np.array([0.7, -1.3, 2.1])

    def samples(c):
        return c[0] + c[1] * x + c[2] * x**2

    slope = coef[1] + 2 * coef[2] * x
    # second-order formulas are exact for quadratics, inside and (edge_order=2) at the edges
    for edge_order in (1, 2):
        d = fnp.gradient(samples(coef), x, edge_order=edge_order)
        inside = slice(None) if edge_order == 2 else slice(1, -1)
        np.testing.assert_allclose(d[inside], slope[inside], rtol=1e-10)
    # and so is the derivative of that slope with respect to the coefficients
    jac = fgrad.jacfwd(lambda c: fnp.gradient(samples(c), x, edge_order=2))(coef)
    np.testing.assert_allclose(jac, np.stack([0 * x, 1 + 0 * x, 2 * x], axis=1), atol=1e-9)


def test_gradient_traced_spacing():
    f = randn(6)
    xs = np.cumsum(RNG.uniform(0.5, 1.0, 6))
    for edge_order in (1, 2):
        fgrad.check_grads(lambda f, h: fnp.gradient(f, h, edge_order=edge_order), (f, 0.7))
        fgrad.check_grads(lambda f, x: fnp.gradient(f, x, edge_order=edge_order), (f, xs))
        # evenly spaced traced coordinates: numpy's value (its scalar-step formula) and the
        # derivative of the general formula (finite differences move the coordinates apart)
        even = np.arange(6.0) * 0.5
        got = fgrad.vjp(lambda x: fnp.gradient(f, x, edge_order=edge_order), even)[0]
        same(got, np.gradient(f, even, edge_order=edge_order))
        fgrad.check_grads(lambda f, x: fnp.gradient(f, x, edge_order=edge_order), (f, even))
    # d/dh of f'(h) = -f'/h for a scalar step
    np.testing.assert_allclose(fgrad.jacfwd(lambda h: fnp.gradient(f, h))(2.0),
                               -np.gradient(f, 2.0) / 2.0)
    # two axes, spacing traced on one of them
    g = randn(3, 4)
    fgrad.check_grads(lambda g, x: fnp.gradient(g, x, 0.5)[0], (g, xs[:3]))


def test_gradient_errors():
    f = randn(4)
    grad = fgrad.grad

    with pytest.raises(ValueError, match="too small"):
        grad(lambda f: fnp.gradient(f[:2], edge_order=2).sum())(f)
    with pytest.raises(ValueError, match="too small"):
        grad(lambda f: fnp.gradient(f[:1]).sum())(f)
    with pytest.raises(TypeError, match="number of spacing"):
        grad(lambda f: fnp.gradient(f, 1.0, 2.0).sum())(f)
    with pytest.raises(ValueError, match="scalars or 1d"):
        grad(lambda f: fnp.gradient(f, np.ones((4, 1))).sum())(f)
    with pytest.raises(ValueError, match="must match the length"):
        grad(lambda f: fnp.gradient(f, np.arange(3.0)).sum())(f)
    with pytest.raises(ValueError, match="edge_order"):
        grad(lambda f: fnp.gradient(f, edge_order=3).sum())(f)
    with pytest.raises(np.exceptions.AxisError):
        grad(lambda f: fnp.gradient(f, axis=1).sum())(f)


@given(st.lists(st.integers(3, 5), min_size=1, max_size=3), st.integers(0, 2), st.booleans(),
       st.integers(1, 2))
def test_gradient_hypothesis(shape, ax, uneven, edge_order):
    f = RNG.standard_normal(tuple(shape))
    ax = ax % len(shape)
    spacing = (np.cumsum(RNG.uniform(0.5, 1.5, shape[ax])),) if uneven else (0.3,)
    check(lambda f: np.gradient(f, *spacing, axis=ax, edge_order=edge_order),
          lambda f: fnp.gradient(f, *spacing, axis=ax, edge_order=edge_order), f, order=1)


def test_gradient_vmap():
    fs = randn(4, 3, 5)
    for fn in [lambda f: fnp.gradient(f, 0.5, COORDS)[1], lambda f: fnp.gradient(f, axis=0),
               lambda f: fnp.gradient(f, COORDS, axis=1, edge_order=2)]:
        np.testing.assert_array_equal(fgrad.vmap(fn)(fs), loop(fn, fs))
    # batched coordinates too (uneven in every example)
    xs = np.cumsum(RNG.uniform(0.5, 1.5, (4, 5)), axis=1)
    f = randn(5)
    fn = lambda x: fnp.gradient(f, x, edge_order=2)  # noqa: E731
    np.testing.assert_allclose(fgrad.vmap(fn)(xs), loop(fn, xs), rtol=1e-13)
    even = np.arange(5.0) * np.array([[0.5], [1.0], [2.0]])  # evenly spaced in every example
    np.testing.assert_array_equal(fgrad.vmap(fn)(even), loop(fn, even))
    np.testing.assert_allclose(fgrad.vmap(fgrad.jacfwd(fn))(even), loop(fgrad.jacfwd(fn), even),
                               rtol=1e-12)
    np.testing.assert_allclose(
        fgrad.vmap(fgrad.grad(lambda f: fnp.gradient(f, COORDS)[2]))(fs[:, 0]),
        loop(fgrad.grad(lambda f: fnp.gradient(f, COORDS)[2]), fs[:, 0]))


# --- unwrap ------------------------------------------------------------------------------


def _phases(*shape):
    return np.cumsum(RNG.uniform(-2.5, 2.5, shape), axis=-1) % (2 * np.pi) - np.pi


@pytest.mark.parametrize("kw", [{}, {"discont": 4.0}, {"discont": 1.0}, {"period": 3.0},
                                {"period": 360.0, "discont": None}])
def test_unwrap_values(kw):
    p = _phases(9)
    if kw.get("period") == 360.0:
        p = np.degrees(p)
    check(lambda p: np.unwrap(p, **kw), lambda p: fnp.unwrap(p, **kw), p)


def test_unwrap_axes_and_boundaries():
    p = _phases(3, 6)
    for axis in (0, 1, -1):
        check(lambda p: np.unwrap(p, axis=axis), lambda p: fnp.unwrap(p, axis=axis), p)
    # jumps of exactly +-period/2 keep numpy's sign convention
    q = np.array([0.0, np.pi, 0.0, -np.pi, 0.0, 2.0, -1.0])
    same(fgrad.vjp(fnp.unwrap, q)[0], np.unwrap(q))
    r = np.array([0.0, 1.0, 0.0, -1.0, 5.0])
    same(fgrad.vjp(lambda r: fnp.unwrap(r, period=2), r)[0], np.unwrap(r, period=2))
    f32 = _phases(7).astype(np.float32)
    same(fgrad.vjp(fnp.unwrap, f32)[0], np.unwrap(f32))
    same(fgrad.vjp(lambda p: np.unwrap(p), q)[0], np.unwrap(q))  # numpy dispatch
    with pytest.raises(ValueError, match="one dimensional"):
        fgrad.grad(fnp.unwrap)(1.0)


@given(st.integers(1, 8), st.floats(0.5, 10.0))
def test_unwrap_derivative_is_identity(n, period):
    p = RNG.uniform(-period, period, n)
    for jac in (fgrad.jacfwd, fgrad.jacrev):
        np.testing.assert_array_equal(jac(lambda p: fnp.unwrap(p, period=period))(p), np.eye(n))
    same(fgrad.vjp(lambda p: fnp.unwrap(p, period=period), p)[0], np.unwrap(p, period=period))
    # and the second derivative is zero
    h = fgrad.hessian(lambda p: fnp.sum(fnp.unwrap(p, period=period) * p))(p)
    np.testing.assert_array_equal(h, 2 * np.eye(n))


def test_unwrap_vmap():
    ps = _phases(5, 8) * 1.5
    for fn in [fnp.unwrap, lambda p: fnp.unwrap(p, discont=2.0, period=4.0)]:
        np.testing.assert_array_equal(fgrad.vmap(fn)(ps), loop(fn, ps))
        np.testing.assert_array_equal(fgrad.vmap(fn, in_axes=1, out_axes=1)(ps.T),
                                      loop(fn, ps).T)
    g = fgrad.vmap(fgrad.grad(lambda p: fnp.sum(fnp.unwrap(p) ** 2)))(ps)
    np.testing.assert_allclose(g, 2 * loop(np.unwrap, ps))
