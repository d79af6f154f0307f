"""fgrad.lax's slices with traced starts, against numpy slicing with the start moved
as JAX moves it, in eager mode, under jit (one program for every start), grad
(against central differences and eager mode), vmap (against a loop) and inside a
fori_loop."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad import lax


def _fit(s, n, size):
    s = s + n if s < 0 else s
    return min(max(s, 0), n - size)


def _ref_slice(x, starts, sizes):
    starts = [_fit(s, n, k) for s, n, k in zip(starts, x.shape, sizes)]
    return x[tuple(slice(s, s + k) for s, k in zip(starts, sizes))]


def _ref_update(x, u, starts):
    starts = [_fit(s, n, k) for s, n, k in zip(starts, x.shape, u.shape)]
    out = x.copy()
    out[tuple(slice(s, s + k) for s, k in zip(starts, u.shape))] = u
    return out


@st.composite
def cases(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    sizes = tuple(draw(st.integers(1, n)) for n in shape)
    starts = tuple(draw(st.integers(-n - 2, n + 2)) for n in shape)
    seed = draw(st.integers(0, 2**31 - 1))
    return shape, sizes, starts, np.random.default_rng(seed)


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_slices_and_updates_match_numpy_in_every_mode(case):
    shape, sizes, starts, rng = case
    x = rng.standard_normal(shape)
    u = rng.standard_normal(sizes)
    want = _ref_slice(x, starts, sizes)
    np.testing.assert_array_equal(lax.dynamic_slice(x, starts, sizes), want)
    np.testing.assert_array_equal(lax.dynamic_update_slice(x, u, starts), _ref_update(x, u, starts))
    # staged starts: one program, replayed for other starts
    js = fgrad.jit(lambda x, *s: lax.dynamic_slice(x, s, sizes))
    ju = fgrad.jit(lambda x, u, *s: lax.dynamic_update_slice(x, u, s))
    other = tuple(int(v) for v in rng.integers(-3, 6, size=len(shape)))
    for s in (starts, other):
        s = tuple(np.int64(v) for v in s)
        np.testing.assert_array_equal(js(x, *s), _ref_slice(x, s, sizes))
        np.testing.assert_array_equal(ju(x, u, *s), _ref_update(x, u, s))
    assert js.cache_info()["traces"] == 1 and ju.cache_info()["traces"] == 1
    # derivatives: eager, staged and traced starts agree, and match central differences
    w = rng.standard_normal(shape)

    def loss(x, u, *s):
        return fnp.sum(fnp.sin(lax.dynamic_update_slice(x, u * 2.0, s)) * w) + fnp.sum(
            lax.dynamic_slice(x, s, sizes) ** 2)

    g = fgrad.grad(loss, argnums=(0, 1))
    want_g = g(x, u, *starts)
    for got in (fgrad.jit(g)(x, u, *(np.int64(v) for v in starts)),):
        for a, b in zip(got, want_g):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    fgrad.check_grads(lambda x, u: loss(x, u, *starts), (x, u), order=2, modes=("fwd", "rev"))


def test_batched_starts_match_a_loop():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    u = rng.standard_normal((2, 4))
    idx = np.array([0, 3, 5, -1, -9])
    got = fgrad.vmap(lambda i: lax.dynamic_slice_in_dim(x, i, 2))(idx)
    np.testing.assert_array_equal(got, np.stack([_ref_slice(x, (i, 0), (2, 4)) for i in idx]))
    got = fgrad.vmap(lambda i: lax.dynamic_update_slice(x, u, (i, 0)))(idx)
    np.testing.assert_array_equal(got, np.stack([_ref_update(x, u, (i, 0)) for i in idx]))
    # the gradient per example against a loop
    f = lambda x, i: fnp.sum(lax.dynamic_index_in_dim(x, i, keepdims=False) ** 3)  # noqa: E731
    got = fgrad.vmap(fgrad.grad(f), in_axes=(None, 0))(x, idx)
    np.testing.assert_allclose(got, np.stack([fgrad.grad(f)(x, i) for i in idx]))


def test_a_moving_window_in_a_fori_loop():
    # the use these exist for: a loop index that is a traced value
    xs = np.linspace(0.0, 1.0, 8)

    def running(xs, w):
        def body(i, acc):
            win = lax.dynamic_slice_in_dim(xs, i, 3)
            return lax.dynamic_update_index_in_dim(acc, fnp.sum(win * w), i, 0)
        return lax.fori_loop(0, 6, body, fnp.zeros(6))

    w = np.array([0.25, 0.5, 0.25])
    want = np.array([np.sum(xs[i:i + 3] * w) for i in range(6)])
    np.testing.assert_allclose(running(xs, w), want)
    np.testing.assert_allclose(fgrad.jit(running)(xs, w), want)
    g = fgrad.grad(lambda w: fnp.sum(running(xs, w) ** 2))(w)
    want_g = sum(2 * want[i] * xs[i:i + 3] for i in range(6))
    np.testing.assert_allclose(g, want_g)


def test_bad_arguments_raise_clear_errors():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="one per axis"):
        lax.dynamic_slice(x, (0,), (1, 1))
    with pytest.raises(ValueError, match="does not fit"):
        lax.dynamic_slice(x, (0, 0), (4, 1))
    with pytest.raises(TypeError, match="scalar integer"):
        lax.dynamic_slice(x, (0.5, 0), (1, 1))
    with pytest.raises(TypeError, match="Python integers"):
        lax.dynamic_slice(x, (0, 0), (1.5, 1))
    with pytest.raises(ValueError, match="axes"):
        lax.dynamic_update_slice(x, np.ones(2), (0, 0))
    with pytest.raises(TypeError, match="scalar integer"):
        fgrad.jit(lambda x, i: lax.dynamic_slice(x, (i, 0), (1, 1)))(x, np.array([1, 2]))
    with pytest.raises(ValueError, match="axis"):
        lax.dynamic_slice_in_dim(x, 0, 1, axis=2)
    # an integer operand keeps its dtype; a float update is cast like numpy's assignment
    k = np.arange(5)
    out = fgrad.jit(lambda k, i: lax.dynamic_update_slice(k, np.array([9.7]), (i,)))(k, 2)
    assert out.dtype == k.dtype and out.tolist() == [0, 1, 9, 3, 4]
