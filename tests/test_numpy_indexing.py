"""Indexing on tracers, the ``.at`` updates, gathers (take, take_along_axis,
choose, compress, select), sort/partition and interp."""

import tracemalloc

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(5)


def randn(*shape):
    return RNG.standard_normal(shape)


def check(np_fn, fnp_fn, *args, order=2):
    want = np_fn(*args)
    got, _ = fgrad.vjp(fnp_fn, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    fgrad.check_grads(fnp_fn, args, order=order)


# --- x[idx] -----------------------------------------------------------------------------

INDICES = [
    (slice(None, None, -1),),
    (slice(3, 0, -2), Ellipsis),
    (None, 1, Ellipsis, None),
    (Ellipsis, -1),
    (np.array([0, 2, 2, 0]),),
    (np.array([[3, 3], [1, 0]]), np.array([2, 0])),
    (slice(None), [1, 1, 0]),
    (np.array([1, 1]), slice(1, None), np.array([0, 0])),
    (np.array([True, False, True, True]),),
    (slice(1, 3), np.array([False, True, True])),
    (np.ones((4, 3, 2), dtype=bool),),
    ([0, -1], None, slice(None, None, -1)),
]


@pytest.mark.parametrize("idx", INDICES, ids=range(len(INDICES)))
def test_getitem(idx):
    x = randn(4, 3, 2)
    check(lambda x: x[idx], lambda x: x[idx], x)


def test_repeated_indices_accumulate():
    idx = np.array([0, 0, 2, 0])
    np.testing.assert_array_equal(fgrad.grad(lambda x: x[idx].sum())(np.ones(3)), [3, 0, 1])
    g = fgrad.grad(lambda x: (x[[1, 1], [0, 0]] * np.array([2.0, 5.0])).sum())(np.ones((2, 2)))
    np.testing.assert_array_equal(g, [[0, 0], [7, 0]])


def test_traced_masks_and_indices():
    x = randn(5)
    # a mask built from the traced value: the derivative flows through the kept entries
    g = fgrad.grad(lambda x: x[x > 0].sum())(x)
    np.testing.assert_array_equal(g, (x > 0).astype(float))
    # an index computed from a traced value (argmax) is used as a constant
    g = fgrad.grad(lambda x: x[fnp.argmax(x)] ** 2)(x)
    want = np.zeros(5)
    want[np.argmax(x)] = 2 * x.max()
    np.testing.assert_allclose(g, want)


def test_iterating_rows():
    x = randn(3, 2)
    g = fgrad.grad(lambda x: sum(r[0] * r[1] for r in x))(x)
    np.testing.assert_allclose(g, x[:, ::-1])


def test_loop_of_single_elements_is_linear_in_memory():
    """``x[i]`` in a Python loop: the tape holds references to the same ``x``, so
    peak memory grows with the number of steps, not steps x size."""
    def loop(x):
        s = 0.0
        for i in range(x.shape[0]):
            s = s + x[i]
        return s

    def peak(n):
        x = np.ones(n)
        tracemalloc.start()
        g = fgrad.grad(loop)(x)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        np.testing.assert_array_equal(g, np.ones(n))
        return top

    small, big = peak(500), peak(2000)
    # quadratic growth would be 16x (and ~32 MB at n = 2000); linear is about 4x
    assert big < 8 * small, (small, big)
    assert big < 8_000_000, big


# --- .at[idx] --------------------------------------------------------------------------


@pytest.mark.parametrize("op,ufunc", [("add", np.add), ("multiply", np.multiply),
                                      ("divide", np.divide), ("power", np.power),
                                      ("min", np.minimum), ("max", np.maximum)])
@pytest.mark.parametrize("idx", [np.array([0, 2, 0, 0]), (np.array([1, 1, 0]), np.array([0, 0, 1])),
                                 np.array([3, 1]), slice(1, 3)])
def test_at_updates_match_ufunc_at(op, ufunc, idx):
    x = RNG.uniform(0.5, 1.5, (4, 2))
    sel = np.empty((4, 2))[idx].shape
    v = RNG.uniform(0.5, 1.5, sel)
    want = x.copy()
    ufunc.at(want, idx, v)

    def f(x, v):
        return getattr(fnp.at(x)[idx], op)(v)

    got, _ = fgrad.vjp(f, x, v)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(getattr(fnp.at(x)[idx], op)(v), want, rtol=1e-14)
    fgrad.check_grads(f, (x, v), order=2)


def test_at_multiply_repeated_analytic():
    # x[0] * v0 * v1 * v2: d/dv1 = x[0] * v0 * v2
    x, v = np.array([2.0, 3.0]), np.array([5.0, 7.0, 11.0])
    gx, gv = fgrad.grad(lambda x, v: x.at[np.array([0, 0, 0])].multiply(v).sum(),
                        argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, [5 * 7 * 11, 1])
    np.testing.assert_allclose(gv, [2 * 7 * 11, 2 * 5 * 11, 2 * 5 * 7])
    # min over repeats: only the smallest update moves the output
    gv = fgrad.grad(lambda v: fnp.at(x)[np.array([0, 0, 0])].min(v).sum())(np.array([4.0, 1.0, 3.0]))
    np.testing.assert_array_equal(gv, [0, 1, 0])


def test_at_set_with_repeated_indices():
    """numpy keeps one of the repeated writes; only that value gets a cotangent."""
    idx = np.array([0, 1, 0])
    x, v = randn(3), randn(3)
    want = x.copy()
    want[idx] = v
    out, f_vjp = fgrad.vjp(lambda x, v: x.at[idx].set(v), x, v)
    np.testing.assert_array_equal(out, want)
    gx, gv = f_vjp(np.array([1.0, 10.0, 100.0]))
    np.testing.assert_array_equal(gx, [0, 0, 100])
    np.testing.assert_array_equal(gv, [0, 10, 1])
    fgrad.check_grads(lambda x, v: fnp.at(x)[idx].set(v), (x, v), order=2)
    fgrad.check_grads(lambda x, v: fnp.at(x)[idx].set(v), (x, np.float64(0.5)), order=2)


def test_at_get_and_plain_arrays():
    x = randn(3)
    np.testing.assert_array_equal(fnp.at(x)[1:].get(), x[1:])
    g = fgrad.grad(lambda x: x.at[np.array([2, 2])].get().sum())(x)
    np.testing.assert_array_equal(g, [0, 0, 2])
    with pytest.raises(TypeError, match="immutable"):
        fgrad.grad(lambda x: x.__setitem__(0, 1.0))(x)


# --- gathers ---------------------------------------------------------------------------------


def test_take():
    x = randn(3, 4)
    for ind, kw in [([0, 0, 2], {}), ([[1, -1]], {"axis": 1}), (5, {}),
                    ([7, -9], {"mode": "wrap"}), ([7, -9], {"mode": "clip", "axis": 1})]:
        check(lambda x: np.take(x, ind, **kw), lambda x: fnp.take(x, ind, **kw), x)
        check(lambda x: x.take(ind, **kw), lambda x: x.take(ind, **kw), x)
    np.testing.assert_array_equal(
        fgrad.grad(lambda x: fnp.take(x, [1, 1, 1]).sum())(np.ones(3)), [0, 3, 0])
    with pytest.raises(IndexError):
        fgrad.grad(lambda x: fnp.take(x, [1.5]).sum())(x)


def test_take_along_axis():
    x = randn(3, 4)
    idx = RNG.integers(0, 4, (3, 2))
    check(lambda x: np.take_along_axis(x, idx, 1), lambda x: fnp.take_along_axis(x, idx, 1), x)
    idx0 = RNG.integers(0, 3, (1, 4))
    check(lambda x: np.take_along_axis(x, idx0, 0), lambda x: fnp.take_along_axis(x, idx0, 0), x)
    flat = np.array([0, 11, 11])
    check(lambda x: np.take_along_axis(x, flat, None),
          lambda x: fnp.take_along_axis(x, flat, None), x)


def test_choose_compress_select():
    a = np.array([[0, 2], [1, 0]])
    c0, c1, c2 = randn(2, 2), randn(2), randn(1, 2)
    check(lambda c0, c1, c2: np.choose(a, [c0, c1, c2]),
          lambda c0, c1, c2: fnp.choose(a, [c0, c1, c2]), c0, c1, c2)
    for mode in ["wrap", "clip"]:
        check(lambda c: np.choose(a + 2, [c, 2 * c], mode=mode),
              lambda c: fnp.choose(a + 2, [c, 2 * c], mode=mode), c0)
    with pytest.raises(ValueError, match="invalid entry"):
        fgrad.grad(lambda c: fnp.choose(a + 2, [c, c]).sum())(c0)
    x = randn(3, 2)
    check(lambda x: np.compress([True, False, True], x, axis=0),
          lambda x: fnp.compress([True, False, True], x, axis=0), x)
    check(lambda x: x.compress([0, 1]), lambda x: x.compress([0, 1]), x)
    x = randn(6)
    check(lambda x: np.select([x < -0.5, x > 0.5], [x, x ** 2], default=-x),
          lambda x: fnp.select([x < -0.5, x > 0.5], [x, x ** 2], default=-x), x)
    check(lambda x: np.select([x > 0], [x]), lambda x: fnp.select([x > 0], [x]), x)


# --- sort and partition ---------------------------------------------------------------------


def test_sort_values_and_derivative():
    x = randn(3, 4)
    for axis in [-1, 0, None]:
        check(lambda x: np.sort(x, axis=axis), lambda x: fnp.sort(x, axis=axis), x)
    v = np.array([3.0, 1.0, 2.0])
    # the derivative follows the values to their sorted positions
    g = fgrad.grad(lambda v: fnp.sort(v) @ np.array([1.0, 10.0, 100.0]))(v)
    np.testing.assert_array_equal(g, [100.0, 1.0, 10.0])
    g = fgrad.grad(lambda v: np.sort(v)[-1])(v)  # plain numpy code dispatches
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="in place"):
        fgrad.grad(lambda v: v.sort())(v)


def test_partition():
    x = randn(2, 7)
    for kth in [0, 3, (1, 5)]:
        check(lambda x: np.partition(x, kth), lambda x: fnp.partition(x, kth), x)
    # the k-th smallest value's derivative lands on that element
    v = np.array([5.0, 1.0, 4.0, 2.0])
    g = fgrad.grad(lambda v: fnp.partition(v, 2)[2])(v)
    np.testing.assert_array_equal(g, [0, 0, 1, 0])
    np.testing.assert_array_equal(np.sort(fnp.argpartition(v, 1)[:2]), [1, 3])
    with pytest.raises(TypeError, match="in place"):
        fgrad.grad(lambda v: v.partition(1))(v)


def test_searchsorted_is_not_differentiated():
    a = np.array([1.0, 2.0, 3.0])
    assert fgrad.grad(lambda a: a[fnp.searchsorted(a, 2.5)])(a).tolist() == [0, 0, 1]
    assert fgrad.grad(lambda a: a[a.searchsorted(1.5)])(a).tolist() == [0, 1, 0]
    b = np.array([3.0, 1.0, 2.0])
    order = np.argsort(b)
    got = fgrad.vjp(lambda b: fnp.searchsorted(b, [0.5, 2.5], "right", order), b)[0]
    np.testing.assert_array_equal(got, np.searchsorted(b, [0.5, 2.5], "right", order))


# --- interp ---------------------------------------------------------------------------------


def test_interp_values_everywhere():
    xp, fp = np.array([-1.0, 0.0, 0.5, 2.0]), randn(4)
    x = np.array([-3.0, -1.0, -0.2, 0.0, 0.25, 0.5, 1.9, 2.0, 2.5])
    for kw in [{}, {"left": -7.0}, {"right": 9.0}]:
        got = fgrad.vjp(lambda x, fp: fnp.interp(x, xp, fp, **kw), x, fp)[0]
        np.testing.assert_allclose(got, np.interp(x, xp, fp, **kw), rtol=1e-15, atol=1e-15)
        # at the end knot the value is fp[-1] exactly, as numpy's
        assert got[7] == np.interp(2.0, xp, fp, **kw)


def test_interp_derivatives():
    xp, fp = np.array([-1.0, 0.0, 0.5, 2.0]), randn(4)
    x = np.array([-3.0, -0.7, 0.2, 1.1, 2.3])  # off the knots: smooth there
    check(lambda x, fp: np.interp(x, xp, fp), lambda x, fp: fnp.interp(x, xp, fp), x, fp)
    check(lambda x, xp: np.interp(x, xp, fp), lambda x, xp: fnp.interp(x, xp, fp), x, xp)
    check(lambda x, l, r: np.interp(x, xp, fp, l, r),
          lambda x, l, r: fnp.interp(x, xp, fp, l, r), x, np.float64(-2.0), np.float64(3.0))
    # analytic: slope of the segment (right-hand slope at a knot), 0 outside
    slopes = np.diff(fp) / np.diff(xp)
    g = fgrad.grad(lambda x: fnp.interp(x, xp, fp).sum())(np.array([-2.0, -0.5, 0.0, 1.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, slopes[0], slopes[1], slopes[2], 0.0])
    # d/dfp is the pair of interpolation weights
    g = fgrad.grad(lambda fp: fnp.interp(0.25, xp, fp))(fp)
    np.testing.assert_allclose(g, [0.0, 0.5, 0.5, 0.0])


def test_interp_period_and_complex():
    xp, fp = np.array([0.0, 1.0, 2.0]), randn(3)
    x = np.array([-2.1, 0.3, 2.2, 4.0])
    check(lambda x, fp: np.interp(x, xp, fp, period=2.5),
          lambda x, fp: fnp.interp(x, xp, fp, period=2.5), x, fp)
    fc = fp + 1j * randn(3)
    check(lambda x, fp: np.interp(x, xp, fp), lambda x, fp: fnp.interp(x, xp, fp), x, fc)
    with pytest.raises(ValueError, match="same length"):
        fgrad.grad(lambda f: fnp.interp(0.5, xp, f))(fp[:2])


# --- under vmap: value-dependent gathers take traced indices -------------------------------


def test_vmap_of_sort_partition_select_choose_take_along():
    x = randn(4, 5)
    np.testing.assert_array_equal(fgrad.vmap(fnp.sort)(x), np.sort(x, axis=1))
    np.testing.assert_array_equal(fgrad.vmap(fnp.sort, in_axes=1)(x), np.sort(x.T, axis=1))
    np.testing.assert_array_equal(fgrad.vmap(lambda r: fnp.partition(r, 2)[2])(x),
                                  np.partition(x, 2, axis=1)[:, 2])
    np.testing.assert_allclose(fgrad.vmap(lambda r: fnp.select([r > 0], [2 * r], -r))(x),
                               np.select([x > 0], [2 * x], -x))
    idx = RNG.integers(0, 5, (4, 3))
    np.testing.assert_array_equal(
        fgrad.vmap(lambda r, i: fnp.take_along_axis(r, i, 0))(x, idx),
        np.take_along_axis(x, idx, 1))
    a = RNG.integers(0, 2, (4, 5))
    np.testing.assert_array_equal(
        fgrad.vmap(lambda r, a: fnp.choose(a, [r, 2 * r]))(x, a), np.choose(a, [x, 2 * x]))
    # per-example gradients through sort
    w = np.arange(5.0)
    per_example = fgrad.vmap(fgrad.grad(lambda r: fnp.sort(r) @ w))(x)
    loop = np.stack([fgrad.grad(lambda r: fnp.sort(r) @ w)(r) for r in x])
    np.testing.assert_array_equal(per_example, loop)
    np.testing.assert_array_equal(fgrad.jacrev(fnp.sort)(x[0]), np.eye(5)[np.argsort(x[0])])


def test_vmap_of_interp_and_searchsorted():
    xs = RNG.uniform(-1.5, 2.5, (4, 6))
    xp = np.sort(RNG.uniform(-1, 2, (4, 5)), axis=1)
    fp = randn(4, 5)
    want = np.stack([np.interp(x, p, f) for x, p, f in zip(xs, xp, fp)])
    np.testing.assert_allclose(fgrad.vmap(fnp.interp)(xs, xp, fp), want, rtol=1e-13)
    np.testing.assert_allclose(fgrad.vmap(fnp.interp, in_axes=(0, None, None))(xs, xp[0], fp[0]),
                               np.interp(xs, xp[0], fp[0]), rtol=1e-13)
    per_example = fgrad.vmap(fgrad.grad(lambda x, p, f: fnp.interp(x, p, f).sum(),
                                        argnums=(0, 2)))(xs, xp, fp)
    loop = [fgrad.grad(lambda x, p, f: fnp.interp(x, p, f).sum(), argnums=(0, 2))(x, p, f)
            for x, p, f in zip(xs, xp, fp)]
    for k in range(2):
        np.testing.assert_allclose(per_example[k], np.stack([r[k] for r in loop]), rtol=1e-13)
    for side in ["left", "right"]:
        np.testing.assert_array_equal(
            fgrad.vmap(lambda a, v: fnp.searchsorted(a, v, side=side))(xp, xs),
            np.stack([np.searchsorted(a, v, side=side) for a, v in zip(xp, xs)]))


def test_argwhere_flatnonzero_have_no_derivative():
    x = np.array([0.0, 2.0, -1.0])
    g = fgrad.grad(lambda x: x[fnp.flatnonzero(x)].sum() + x[fnp.argwhere(x)[:, 0]].sum())(x)
    np.testing.assert_array_equal(g, [0.0, 2.0, 2.0])


def test_sort_under_vmap_with_negative_axes_matches_a_loop():
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    for axis in (-1, -2, 0, 1):
        got = fgrad.vmap(lambda r, axis=axis: fnp.sort(r, axis=axis))(x)
        np.testing.assert_array_equal(got, np.stack([np.sort(r, axis=axis) for r in x]))
