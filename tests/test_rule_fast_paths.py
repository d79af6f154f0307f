"""The plain-value fast paths of reduction, matmul and shape rules (issue 5).

First-order reverse mode runs these rules on plain numpy values and takes a
numpy shortcut; higher orders run them on tracers and take the fgrad path.
Both must agree with each other, with closed forms, and (for the wrappers on
plain arrays) with numpy exactly.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.primitives import reductions as red
from fgrad.primitives.products import _matmul_vjp_a, _matmul_vjp_b


def _rng():
    return np.random.default_rng(5)


@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False),
                                           (-1, True)])
def test_expand_reduced_plain_matches_traced(axis, keepdims):
    shape = (2, 3, 4)
    g = np.sum(_rng().standard_normal(shape), axis=axis, keepdims=keepdims)
    plain = red.expand_reduced(g, shape, axis, keepdims)
    assert plain.shape == shape
    # the traced path, seen through jvp: expand_reduced is linear in g
    _, traced = fgrad.jvp(lambda v: red.expand_reduced(v, shape, axis, keepdims), (g,), (g,))
    np.testing.assert_array_equal(plain, traced)
    np.testing.assert_array_equal(plain, np.broadcast_to(
        np.expand_dims(g, axis) if not keepdims and axis is not None else g, shape))


def test_expand_reduced_large_is_a_view():
    g = np.ones(3)
    out = red.expand_reduced(g, (5000, 3), 0, False)
    assert out.shape == (5000, 3) and not out.flags.owndata  # no copy of a large cotangent


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_max_ties_first_and_second_order(axis):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.5]])

    def f(v):
        return fnp.sum(fnp.max(v, axis=axis) * 1.5)

    g = fgrad.grad(f)(x)  # plain fast path
    m = np.max(x, axis=axis, keepdims=True)
    hit = (x == m).astype(float)
    np.testing.assert_allclose(g, 1.5 * hit / hit.sum(axis=axis, keepdims=True))
    # the traced path (inside jvp of grad) gives the same first derivative
    _, hvp = fgrad.jvp(fgrad.grad(f), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(hvp, 0.0)
    g2 = fgrad.grad(lambda v: fnp.sum(fgrad.grad(f)(v) * v))(x)
    np.testing.assert_allclose(g2, g)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_mean_vjp_and_impl(dtype):
    x = _rng().standard_normal((3, 4)).astype(dtype)
    for axis, n in [(None, 12), (0, 3), (1, 4)]:
        out = red._mean_impl(x, axis=axis)
        ref = np.mean(x, axis=axis)
        assert type(out) is type(ref) and np.asarray(out).dtype == np.asarray(ref).dtype
        np.testing.assert_array_equal(out, ref)
        g = red._mean_vjp(np.ones(np.shape(ref), dtype), ref, x, axis=axis)
        assert g.shape == x.shape and g.dtype == dtype
        np.testing.assert_allclose(g, np.full(x.shape, 1.0 / n), rtol=1e-6)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((5, 3, 4), (4, 2)), ((3, 4), (5, 4, 2)),
                                   ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,))])
def test_matmul_vjps_match_transpose_formula(sa, sb):
    rng = _rng()
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ans = a @ b
    g = rng.standard_normal(np.shape(ans))
    ga, gb = _matmul_vjp_a(g, ans, a, b), _matmul_vjp_b(g, ans, a, b)
    # the dot-product identity <g, ta @ b + a @ tb> = <ga, ta> + <gb, tb> (after summing
    # broadcast axes back, as reverse mode does)
    ta, tb = rng.standard_normal(sa), rng.standard_normal(sb)
    lhs = np.sum(g * (ta @ b + a @ tb))
    rhs = np.sum(np.broadcast_to(ga, np.broadcast_shapes(np.shape(ga), sa)) *
                 np.broadcast_to(ta, np.broadcast_shapes(np.shape(ga), sa)))
    rhs += np.sum(np.broadcast_to(gb, np.broadcast_shapes(np.shape(gb), sb)) *
                  np.broadcast_to(tb, np.broadcast_shapes(np.shape(gb), sb)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)


def test_plain_wrappers_are_numpy():
    a = _rng().standard_normal((4, 5))
    for fn, ref in [(fnp.sum, np.sum), (fnp.max, np.max), (fnp.min, np.min), (fnp.prod, np.prod),
                    (fnp.mean, np.mean)]:
        for kw in [{}, {"axis": 1}, {"axis": 0, "keepdims": True}]:
            out, exp = fn(a, **kw), ref(a, **kw)
            assert type(out) is type(exp)
            np.testing.assert_array_equal(out, exp)
    np.testing.assert_array_equal(fnp.swapaxes(a, 0, 1), np.swapaxes(a, 0, 1))
    np.testing.assert_array_equal(fnp.transpose(a), np.transpose(a))
    np.testing.assert_array_equal(fnp.reshape(a, (5, 4)), np.reshape(a, (5, 4)))


@pytest.mark.parametrize("axis", [2, -3, (0, 5)])
def test_out_of_range_axis_is_numpy_error(axis):
    with pytest.raises(np.exceptions.AxisError):
        fgrad.grad(lambda v: fnp.sum(fnp.sum(v, axis=axis)))(np.ones((2, 3)))
    with pytest.raises(np.exceptions.AxisError):
        fgrad.grad(lambda v: fnp.sum(fnp.max(v, axis=axis)))(np.ones((2, 3)))


def test_max_weights_under_vmap_and_hvp():
    # vmap's tracers hold batched values, so the weights must come from the rows there
    xs = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    gs = fgrad.vmap(fgrad.grad(lambda v: fnp.max(v) * 2.0))(xs)
    np.testing.assert_allclose(gs, [[0.0, 1.0, 1.0], [2.0, 0.0, 0.0]])
    # forward over reverse: the weights are constants, so the Hessian of max is zero
    _, hv = fgrad.jvp(fgrad.grad(lambda v: fnp.max(v, axis=0, keepdims=True).sum() + fnp.sum(v**3)),
                      (xs,), (np.ones_like(xs),))
    np.testing.assert_allclose(hv, 6.0 * xs)


@pytest.mark.parametrize("x_shape,shape", [
    ((3,), ()), ((2, 3), ()), ((4, 3), (3,)), ((4, 3), (1, 3)), ((4, 3), (4, 1)),
    ((2, 4, 3), (4, 1)), ((2, 4, 3), (1, 1)), ((3,), (3,)), ((1, 3), (3,)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_unbroadcast_matches_the_sum_to_shape_row(x_shape, shape, dtype):
    # the backward pass sums broadcast cotangents of plain values with numpy
    # directly (fgrad.autodiff._fix_plain, with a cached plan per pair of shapes):
    # the same values, shape, dtype and type (a 0-d array for shape ()) as the row
    from fgrad.autodiff import _fix_plain

    x = _rng().standard_normal(x_shape).astype(dtype)
    for _ in range(2):  # the second call takes the cached plan
        plain = _fix_plain(x, shape, np.dtype(dtype))
        row = fnp.sum_to_shape(x, shape=shape)
        assert type(plain) is type(row) and plain.shape == shape and plain.dtype == dtype
        np.testing.assert_allclose(plain, row, rtol=1e-6 if dtype == np.float32 else 1e-15)
