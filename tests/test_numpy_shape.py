"""Shapes and joining: stack family, split family, repeat, tile, pad, roll, flips,
rot90, diff, meshgrid, atleast_*d, broadcast_arrays.

Values on tracers are compared with numpy's, derivatives with check_grads
(second order, both modes) and with analytic counts of where each input went.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(31)


def randn(*shape):
    return RNG.standard_normal(shape)


def check(np_fn, fnp_fn, *args, order=2):
    """Value under a trace equals numpy's exactly; derivatives pass check_grads."""
    want = np_fn(*args)
    got, _ = fgrad.vjp(fnp_fn, *args)
    if isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_array_equal(got, want)
    fgrad.check_grads(fnp_fn, args, order=order)


def counts(fnp_fn, x):
    """How many times each entry of x appears in fnp_fn(x): the gradient of the sum."""
    return fgrad.grad(lambda x: fnp.sum(fnp_fn(x)))(x)


# --- joining -----------------------------------------------------------------------


def test_concatenate_and_stack():
    a, b = randn(2, 3), randn(1, 3)
    check(lambda a, b: np.concatenate([a, b]), lambda a, b: fnp.concatenate([a, b]), a, b)
    check(lambda a, b: np.concatenate([a, b], axis=None),
          lambda a, b: fnp.concatenate([a, b], axis=None), a, b)
    check(lambda a, b: np.concatenate([a.T, b.T], axis=-1),
          lambda a, b: fnp.concatenate([a.T, b.T], axis=-1), a, b)
    check(lambda a: np.stack([a, 2 * a], axis=-1), lambda a: fnp.stack([a, 2 * a], axis=-1), a)
    with pytest.raises(ValueError, match="same shape"):
        fgrad.grad(lambda a: fnp.stack([a, a.T]).sum())(a)
    with pytest.raises(np.exceptions.AxisError):
        fgrad.grad(lambda a: fnp.stack([a, a], axis=3).sum())(a)
    out = fgrad.vjp(lambda a: fnp.concatenate([a, a], dtype=np.float32), a)[0]
    assert out.dtype == np.float32


@pytest.mark.parametrize("name", ["hstack", "vstack", "dstack", "column_stack"])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (2, 3)), ((), ()), ((2, 1, 2), (2, 1, 2))])
def test_stack_family(name, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check(lambda a, b: getattr(np, name)([a, b]), lambda a, b: getattr(fnp, name)([a, b]), a, b)


def test_column_stack_mixed():
    check(lambda a, b: np.column_stack([a, b]), lambda a, b: fnp.column_stack([a, b]),
          randn(3), randn(3, 2))


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast(name):
    for shape in [(), (2,), (2, 3), (1, 2, 3)]:
        check(getattr(np, name), getattr(fnp, name), randn(*shape))
    check(lambda a, b: getattr(np, name)(a, b), lambda a, b: getattr(fnp, name)(a, b),
          randn(), randn(2))


def test_broadcast_arrays_and_meshgrid():
    check(lambda a, b: np.broadcast_arrays(a, b), lambda a, b: fnp.broadcast_arrays(a, b),
          randn(3), randn(2, 1))
    for kw in [{}, {"indexing": "ij"}, {"sparse": True}, {"indexing": "ij", "sparse": True}]:
        check(lambda a, b, c: np.meshgrid(a, b, c, **kw),
              lambda a, b, c: fnp.meshgrid(a, b, c, **kw), randn(3), randn(2), randn(4))
        check(lambda a, b: np.meshgrid(a, b, **kw), lambda a, b: fnp.meshgrid(a, b, **kw),
              randn(3), randn(2))
    # d/dx sum(X) = number of rows of the grid
    np.testing.assert_array_equal(
        fgrad.grad(lambda x: fnp.meshgrid(x, np.arange(4.0))[0].sum())(randn(3)),
        np.full(3, 4.0))


# --- splitting ----------------------------------------------------------------------------


def _pieces(fn, *args, **kw):
    def f(x):
        return fnp.concatenate([fnp.ravel(p) * (k + 1) for k, p in enumerate(fn(x, *args, **kw))])

    return f


@pytest.mark.parametrize("sections", [3, [1, 3], [2, 2, 1], [-1]])
def test_split(sections):
    x = randn(6, 2)
    for name in ["split", "array_split"]:
        check(lambda x: getattr(np, name)(x, sections), lambda x: getattr(fnp, name)(x, sections), x)
    check(lambda x: np.array_split(x, 4, axis=0), lambda x: fnp.array_split(x, 4, axis=0), x)
    g = fgrad.grad(lambda x: fnp.sum(_pieces(fnp.array_split, 4)(x)))(np.ones(6))
    np.testing.assert_array_equal(g, [1, 1, 2, 2, 3, 4])


def test_split_family_and_errors():
    x = randn(4, 4, 2)
    check(lambda x: np.hsplit(x, 2), lambda x: fnp.hsplit(x, 2), x)
    check(lambda x: np.vsplit(x, [1]), lambda x: fnp.vsplit(x, [1]), x)
    check(lambda x: np.dsplit(x, 2), lambda x: fnp.dsplit(x, 2), x)
    check(lambda x: np.hsplit(x, 2), lambda x: fnp.hsplit(x, 2), randn(4))
    with pytest.raises(ValueError, match="equal division"):
        fgrad.grad(lambda x: fnp.split(x, 3)[0].sum())(randn(4))
    with pytest.raises(ValueError, match="vsplit"):
        fgrad.grad(lambda x: fnp.vsplit(x, 2)[0].sum())(randn(4))


# --- repeat and tile --------------------------------------------------------------------


def test_repeat():
    x = randn(2, 3)
    for reps, axis in [(2, None), (3, 1), ([1, 0, 2], 1), ([2, 1], 0), (0, 0), (np.array([2]), 0)]:
        check(lambda x: np.repeat(x, reps, axis), lambda x: fnp.repeat(x, reps, axis), x)
    np.testing.assert_array_equal(counts(lambda x: fnp.repeat(x, [1, 0, 3]), np.ones(3)),
                                  [1, 0, 3])
    np.testing.assert_array_equal(counts(lambda x: x.repeat(2, axis=0), np.ones(2)), [2, 2])
    with pytest.raises(ValueError, match="negative"):
        fgrad.grad(lambda x: fnp.repeat(x, -1).sum())(x)


@given(st.lists(st.integers(1, 3), min_size=1, max_size=3),
       st.lists(st.integers(1, 3), min_size=0, max_size=3))
def test_tile(reps, shape):
    x = RNG.standard_normal(tuple(shape))
    check(lambda x: np.tile(x, reps), lambda x: fnp.tile(x, reps), x, order=1)
    np.testing.assert_array_equal(counts(lambda x: fnp.tile(x, reps), np.ones(tuple(shape))),
                                  np.full(tuple(shape), float(np.prod(reps))))


# --- pad ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("width", [1, (2, 0), ((1, 2), (3, 0)), ((0, 5), (4, 7))])
def test_pad_modes(mode, width):
    x = randn(3, 2)
    if mode == "reflect" and x.shape[1] == 1:
        return
    check(lambda x: np.pad(x, width, mode), lambda x: fnp.pad(x, width, mode), x)


@given(st.integers(0, 5), st.integers(0, 5), st.integers(1, 4),
       st.sampled_from(["edge", "reflect", "symmetric", "wrap", "constant"]))
def test_pad_counts_where_entries_went(before, after, n, mode):
    if mode == "reflect" and n == 1:
        return  # numpy pads a 1-element axis by repeating it; covered by 'edge'
    x = np.arange(n, dtype=float)
    want = np.array([np.sum(np.pad(np.arange(n), (before, after), mode=mode) == i)
                     for i in range(n)], dtype=float)
    if mode == "constant":
        want = np.ones(n)
    np.testing.assert_array_equal(counts(lambda x: fnp.pad(x, (before, after), mode), x), want)


def test_pad_constant_values_and_errors():
    x = randn(2, 2)
    check(lambda x: np.pad(x, 1, constant_values=((1, 2), (3, 4))),
          lambda x: fnp.pad(x, 1, constant_values=((1, 2), (3, 4))), x)
    check(lambda x: np.pad(x, ((0, 1), (2, 0)), mode="empty")[:2, 2:],
          lambda x: fnp.pad(x, ((0, 1), (2, 0)), mode="empty")[:2, 2:], x)
    # a traced fill value: each padded entry contributes 1 to its derivative
    g = fgrad.grad(lambda c: fnp.pad(x, 1, constant_values=c).sum())(0.5)
    assert float(g) == 16 - 4
    g = fgrad.grad(lambda c: fnp.pad(x, ((1, 0), (0, 0)), constant_values=c).sum())(np.ones((2, 2)))
    np.testing.assert_array_equal(g, [[2.0, 0.0], [0.0, 0.0]])
    with pytest.raises(NotImplementedError, match="callable mode"):
        fgrad.grad(lambda x: fnp.pad(x, 1, mode=lambda *a, **k: None).sum())(x)
    with pytest.raises(ValueError, match="stat_length of 0"):
        fgrad.grad(lambda x: fnp.pad(x, 1, mode="mean", stat_length=0).sum())(x)
    with pytest.raises(NotImplementedError, match="reflect_type"):
        fgrad.grad(lambda x: fnp.pad(x, 1, mode="reflect", reflect_type="odd").sum())(x)
    with pytest.raises(TypeError, match="integral"):
        fgrad.grad(lambda x: fnp.pad(x, 1.5).sum())(x)
    check(lambda x: np.pad(x, 2, mode="wrap"), lambda x: np.pad(x, 2, mode="wrap"), x)  # dispatch


@pytest.mark.parametrize("mode", ["mean", "median", "maximum", "minimum"])
@pytest.mark.parametrize("width,stat_length", [
    (1, None), ((2, 0), 2), (((1, 2), (3, 1)), ((1, 3), (2, 2))), (((0, 2), (1, 0)), 5),
])
def test_pad_statistic_modes(mode, width, stat_length):
    x = randn(4, 3)
    check(lambda x: np.pad(x, width, mode, stat_length=stat_length),
          lambda x: fnp.pad(x, width, mode, stat_length=stat_length), x)


@given(st.integers(0, 4), st.integers(0, 4), st.integers(1, 5), st.integers(1, 6))
def test_pad_mean_spreads_its_derivative_over_the_stat_length(before, after, n, length):
    # each padded entry is the mean of the first (last) min(length, n) entries
    x = np.arange(n, dtype=float)
    k = min(length, n)
    want = np.ones(n)
    want[:k] += before / k
    want[n - k:] += after / k
    np.testing.assert_allclose(
        counts(lambda x: fnp.pad(x, (before, after), "mean", stat_length=length), x), want,
        rtol=1e-14)


@pytest.mark.parametrize("width,ends", [(3, 0.0), ((2, 4), (1.5, -2.0)),
                                        (((1, 2), (0, 3)), ((1.0, 2.0), (3.0, 4.0)))])
def test_pad_linear_ramp(width, ends):
    x = randn(3, 4)
    check(lambda x: np.pad(x, width, "linear_ramp", end_values=ends),
          lambda x: fnp.pad(x, width, "linear_ramp", end_values=ends), x)
    # traced end values: the ramp is linear in them, and numpy's values come out
    e = np.asarray(ends, dtype=float)
    check(lambda e: np.pad(x, width, "linear_ramp", end_values=e),
          lambda e: fnp.pad(x, width, "linear_ramp", end_values=e), e)


def test_pad_new_modes_under_vmap_and_on_integers():
    xs = randn(3, 5)
    for kw in ({"mode": "mean", "stat_length": 2}, {"mode": "linear_ramp", "end_values": 1.0},
               {"mode": "maximum"}):
        got = fgrad.vmap(lambda x: fnp.pad(x, (2, 1), **kw))(xs)
        np.testing.assert_array_equal(got, np.stack([np.pad(x, (2, 1), **kw) for x in xs]))
    ints = np.arange(12).reshape(3, 4) ** 2
    for kw in ({"mode": "mean"}, {"mode": "median"}, {"mode": "linear_ramp", "end_values": 5}):
        got = fgrad.vmap(lambda x: fnp.pad(x, 3, **kw))(ints)
        np.testing.assert_array_equal(got, np.stack([np.pad(x, 3, **kw) for x in ints]))


# --- roll, flips, rot90, diff --------------------------------------------------------------


@pytest.mark.parametrize("shift,axis", [(1, None), (-7, None), (2, 1), ((1, -5), (0, 1)),
                                        ((1, 1), (0, 0)), (0, 0)])
def test_roll(shift, axis):
    x = randn(3, 4)
    check(lambda x: np.roll(x, shift, axis), lambda x: fnp.roll(x, shift, axis), x)


def test_flips_and_rot90():
    x = randn(2, 3, 4)
    check(np.flipud, fnp.flipud, x)
    check(np.fliplr, fnp.fliplr, x)
    check(lambda x: np.flip(x, (0, -1)), lambda x: fnp.flip(x, (0, -1)), x)
    for k in range(-1, 6):
        for axes in [(0, 1), (2, 0), (-1, 1)]:
            check(lambda x: np.rot90(x, k, axes), lambda x: fnp.rot90(x, k, axes), x, order=1)
    with pytest.raises(ValueError, match="2-d"):
        fgrad.grad(lambda x: fnp.fliplr(x).sum())(randn(3))
    with pytest.raises(ValueError, match="different"):
        fgrad.grad(lambda x: fnp.rot90(x, 1, (1, 1)).sum())(x)


def test_diff():
    x = randn(3, 5)
    for kw in [{}, {"n": 2}, {"axis": 0}, {"n": 0}, {"prepend": 1.0, "append": [[2.0], [3.0], [4.0]]},
               {"n": 3, "axis": 0, "prepend": np.zeros((1, 5))}]:
        check(lambda x: np.diff(x, **kw), lambda x: fnp.diff(x, **kw), x)
    # traced prepend
    check(lambda x, p: np.diff(x, prepend=p), lambda x, p: fnp.diff(x, prepend=p),
          randn(4), randn(1))
    # d/dx sum(diff(x, n)) has the binomial pattern of the end points
    np.testing.assert_array_equal(counts(lambda x: fnp.diff(x), np.ones(4)), [-1, 0, 0, 1])


# --- reshape family (existing rows, reviewed) -----------------------------------------------


def test_reshape_family():
    x = randn(2, 3, 1)
    check(lambda x: np.reshape(x, (3, 2)), lambda x: fnp.reshape(x, (3, 2)), x)
    check(lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2), x)
    check(np.ravel, fnp.ravel, x)
    check(lambda x: np.moveaxis(x, [0, 1], [-1, 0]), lambda x: fnp.moveaxis(x, [0, 1], [-1, 0]), x)
    check(lambda x: np.swapaxes(x, 0, 2), lambda x: fnp.swapaxes(x, 0, 2), x)
    check(lambda x: np.transpose(x, (1, 2, 0)), lambda x: fnp.transpose(x, (1, 2, 0)), x)
    check(lambda x: np.expand_dims(x, (0, -1)), lambda x: fnp.expand_dims(x, (0, -1)), x)
    check(np.squeeze, fnp.squeeze, x)
    check(lambda x: np.broadcast_to(x, (2, 2, 3, 4)), lambda x: fnp.broadcast_to(x, (2, 2, 3, 4)), x)


def test_no_warnings_on_traced_paths():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fgrad.grad(lambda x: fnp.pad(fnp.tile(x, 2), 1, mode="reflect").sum())(randn(3))


# --- append, delete, block, rollaxis, resize -------------------------------------------------


def test_append_delete():
    x, v = randn(2, 3), randn(1, 3)
    check(lambda x, v: np.append(x, v), lambda x, v: fnp.append(x, v), x, v)
    check(lambda x, v: np.append(x, v, axis=0), lambda x, v: fnp.append(x, v, axis=0), x, v)
    for obj, axis in [([0, 2], None), (1, 1), (slice(0, None, 2), 1), (np.array([True, False]), 0)]:
        check(lambda x: np.delete(x, obj, axis), lambda x: fnp.delete(x, obj, axis), x)
    np.testing.assert_array_equal(counts(lambda x: fnp.delete(x, [1]), np.ones(3)), [1, 0, 1])


def test_block():
    a, b, c = randn(2, 2), randn(2, 1), randn(1, 3)
    check(lambda a, b, c: np.block([[a, b], [c]]), lambda a, b, c: fnp.block([[a, b], [c]]),
          a, b, c)
    check(lambda a, b: np.block([a, b]), lambda a, b: fnp.block([a, b]), randn(2), randn(3))
    check(lambda a: np.block([[a], [a]]), lambda a: fnp.block([[a], [a]]), randn(3))
    check(lambda a: np.block([[[a]], [[a]]]), lambda a: fnp.block([[[a]], [[a]]]), randn(2, 2))


def test_rollaxis_resize():
    x = randn(2, 3, 4)
    for axis, start in [(2, 0), (0, 3), (1, -1), (-1, 1), (1, 2)]:
        check(lambda x: np.rollaxis(x, axis, start), lambda x: fnp.rollaxis(x, axis, start), x)
    for shape in [(2, 5), 7, (3, 2, 1), (0,)]:
        check(lambda x: np.resize(x, shape), lambda x: fnp.resize(x, shape), randn(3))
    np.testing.assert_array_equal(counts(lambda x: fnp.resize(x, 7), np.ones(3)), [3, 2, 2])


def test_full_and_full_like_differentiate_in_a_traced_fill_value():
    # fnp.full(shape, v) with a traced v is v broadcast: every entry carries v's derivative
    # (it once raised a TypeError telling the user to write broadcast_to instead)
    import fgrad

    def f(v):
        return fnp.sum(fnp.full((2, 3), v) * fnp.arange(6.0).reshape(2, 3))

    assert fgrad.grad(f)(1.5) == 15.0
    g = lambda v: fnp.sum(fnp.full_like(np.ones((4,)), v) ** 2)  # noqa: E731
    assert np.isclose(fgrad.grad(g)(3.0), 8 * 3.0)
    # a vector fill broadcasts along the last axis, as numpy's does
    h = lambda w: fnp.sum(fnp.full((3, 2), w) * np.array([[1.0, 2.0]]))  # noqa: E731
    assert np.allclose(fgrad.grad(h)(np.array([0.5, -1.0])), [3.0, 6.0])
    # jit, vmap and dtype= agree with numpy and with a Python loop
    assert np.allclose(fgrad.jit(fgrad.grad(f))(1.5), fgrad.grad(f)(1.5))
    vs = np.array([1.0, 2.0, 3.0])
    assert np.allclose(fgrad.vmap(lambda v: fnp.full((2,), v))(vs), [np.full((2,), v) for v in vs])
    got = fgrad.vmap(lambda v: fnp.full((2,), v, dtype=np.float32))(vs)
    assert got.dtype == np.float32
    # plain inputs: numpy's own result, writable
    out = fnp.full((2,), 7.0)
    out[0] = 1.0
    assert out.tolist() == [1.0, 7.0]
