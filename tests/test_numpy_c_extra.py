"""More numpy functions: gradient, unwrap, insert, bincount, digitize, copy, unique.

Values under a trace are compared with numpy's (exactly), derivatives with
check_grads (second order, both modes), with analytic results (the stencil of
``gradient``, the identity of ``unwrap``, counts of where each input went) and
vmap with a Python loop over the examples.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad.batching import BatchedValueError

RNG = np.random.default_rng(47)


def randn(*shape):
    return RNG.standard_normal(shape)


def same(got, want):
    """Identical values and shapes (also for tuples of arrays)."""
    if isinstance(want, tuple):
        assert type(got) is tuple and len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
        return
    assert np.shape(got) == np.shape(want)
    assert np.result_type(got) == np.result_type(want)
    np.testing.assert_array_equal(got, want)


def check(np_fn, fnp_fn, *args, order=2):
    """Value under a trace equals numpy's exactly; derivatives pass check_grads."""
    got, _ = fgrad.vjp(fnp_fn, *args)
    same(got, np_fn(*args))
    fgrad.check_grads(fnp_fn, args, order=order)


def traced(fn, *args):
    """What ``fn`` returns when its arguments are tracers (for outputs without derivative)."""
    seen = []

    def f(*a):
        seen.append(fn(*a))
        return fnp.sum(a[0])

    fgrad.vjp(f, *args)
    return seen[0]


def loop(fn, *xs):
    return np.stack([fn(*x) for x in zip(*xs)])


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


# --- bincount and digitize ----------------------------------------------------------------


def test_bincount():
    x = np.array([0, 3, 3, 1, 5, 3])
    w = randn(6)
    for minlength in (0, 4, 9):
        check(lambda w: np.bincount(x, w, minlength), lambda w: fnp.bincount(x, w, minlength), w)
        check(lambda w: np.bincount(x, weights=w, minlength=minlength),
              lambda w: np.bincount(x, weights=w, minlength=minlength), w)  # dispatch
    # d sum(c * bincount(x, w)) / dw = c[x]
    c = randn(6)
    np.testing.assert_array_equal(fgrad.grad(lambda w: fnp.sum(fnp.bincount(x, w) * c))(w), c[x])
    w32 = w.astype(np.float32)
    same(fgrad.vjp(lambda w: fnp.bincount(x, w), w32)[0], np.bincount(x, w32))
    same(fgrad.vjp(lambda w: fnp.bincount(x[:0], w[:0], minlength=2), w)[0],
         np.bincount(x[:0], w[:0], minlength=2))
    # no weights: the counts (under a trace of something else)
    same(traced(lambda w: fnp.bincount(x, minlength=7), w), np.bincount(x, minlength=7))


def test_bincount_errors_and_vmap():
    x = np.array([0, 2, 2])
    with pytest.raises(ValueError, match="same length"):
        fgrad.grad(lambda w: fnp.bincount(x, w).sum())(randn(2))
    with pytest.raises(ValueError):
        fgrad.grad(lambda w: fnp.bincount(-x, w).sum())(randn(3))
    ws = randn(5, 3)
    fn = lambda w: fnp.bincount(x, w, minlength=4)  # noqa: E731
    np.testing.assert_array_equal(fgrad.vmap(fn)(ws), loop(fn, ws))
    xs = np.array([[0, 1, 1], [2, 0, 0]])
    with pytest.raises(BatchedValueError, match="bincount: `x`"):
        fgrad.vmap(lambda x, w: fnp.bincount(x, w))(xs, ws[:2])


def test_digitize():
    bins = np.array([-1.0, 0.0, 0.5, 2.0])
    x = np.array([-3.0, -1.0, 0.2, 0.5, 1.0, 2.0, 5.0])
    for b in (bins, bins[::-1]):
        for right in (False, True):
            want = np.digitize(x, b, right=right)
            same(traced(lambda x: fnp.digitize(x, b, right), x), want)
            same(traced(lambda b: fnp.digitize(x, b, right=right), b), want)
            same(fgrad.vmap(lambda x: fnp.digitize(x, b, right))(x), want)
    assert fgrad.grad(lambda x: fnp.digitize(x, bins) * x)(0.7) == 3.0
    same(traced(lambda x: np.digitize(x, bins), 0.7), np.digitize(0.7, bins))
    # bins batched by vmap (a searchsorted per example)
    B = np.sort(randn(4, 5), axis=1)
    fn = lambda b: fnp.digitize(x, b)  # noqa: E731
    np.testing.assert_array_equal(fgrad.vmap(fn)(B), loop(lambda b: np.digitize(x, b), B))
    with pytest.raises(ValueError, match="monotonically"):
        fgrad.grad(lambda x: fnp.digitize(x, np.array([0.0, 2.0, 1.0])) * x)(1.0)
    with pytest.raises(TypeError, match="complex"):
        traced(lambda z: fnp.digitize(z, bins), np.array([1j]))


# --- copy and unique -----------------------------------------------------------------------


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


def test_unique_values_and_outputs():
    x = randn(5)
    dup = lambda x: fnp.concatenate([x, x[::-1], x[:2]])  # noqa: E731  repeats survive perturbation
    flags = [{}, {"return_index": True}, {"return_inverse": True}, {"return_counts": True},
             {"return_index": True, "return_inverse": True, "return_counts": True}]
    for kw in flags:
        got = fgrad.vjp(lambda x: fnp.unique(dup(x), **kw), x)[0]
        same(got, np.unique(np.concatenate([x, x[::-1], x[:2]]), **kw))
        fgrad.check_grads(lambda x: (fnp.unique(dup(x), **kw),) if not kw
                          else fnp.unique(dup(x), **kw)[0], (x,))
    # each unique value is the first occurrence: the cotangent goes there only
    g = fgrad.grad(lambda x: fnp.sum(fnp.unique(fnp.concatenate([x, x])) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x)
    g2 = fgrad.grad(lambda y: fnp.sum(fnp.unique(y)))(np.array([2.0, 1.0, 2.0, 1.0]))
    np.testing.assert_array_equal(g2, [1.0, 1.0, 0.0, 0.0])
    # nan: one unique nan with equal_nan=True, every nan otherwise
    y = np.array([np.nan, 1.0, np.nan])
    for eq in (True, False):
        same(fgrad.vjp(lambda y: fnp.unique(y, equal_nan=eq), y)[0], np.unique(y, equal_nan=eq))
    if "sorted" in __import__("inspect").signature(np.unique).parameters:  # numpy >= 2.3
        same(fgrad.vjp(lambda y: np.unique(y, sorted=False), y)[0], np.unique(y, sorted=False))


def test_unique_axis():
    a, b = randn(3), randn(3)

    def rows(a, b):
        return fnp.stack([b, a, b, a])

    for axis, fn in [(0, rows), (1, lambda a, b: rows(a, b).T), (None, rows)]:
        got = fgrad.vjp(lambda a, b: fnp.unique(fn(a, b), axis=axis, return_counts=True), a, b)[0]
        same(got, np.unique(np.asarray(fn(a, b)), axis=axis, return_counts=True))
        fgrad.check_grads(lambda a, b: fnp.unique(fn(a, b), axis=axis), (a, b))


def test_unique_refused_under_vmap():
    with pytest.raises(BatchedValueError, match="depends on the values.*vmap"):
        fgrad.vmap(fnp.unique)(randn(3, 4))
    # an unbatched array inside vmap is fine
    x = np.array([1.0, 1.0, 2.0])
    out = fgrad.vmap(lambda s: fnp.unique(x * 2.0) * s)(np.arange(3.0))
    np.testing.assert_array_equal(out, np.outer(np.arange(3.0), [2.0, 4.0]))


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
