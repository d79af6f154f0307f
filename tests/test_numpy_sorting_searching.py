"""Sorting, searching and counting in fgrad.numpy: bincount, digitize and unique.

Values under a trace are compared with numpy's (exactly), derivatives with
check_grads (second order, both modes) and with counts of where each input went
(the scatter-add of bincount's weights, unique's first occurrences), vmap with a
Python loop, and the refusals under vmap.
"""

import numpy as np
import pytest
from numpy_checks import check, loop, same

import fgrad
import fgrad.numpy as fnp
from fgrad.batching import BatchedValueError

RNG = np.random.default_rng(47)


def randn(*shape):
    return RNG.standard_normal(shape)


def traced(fn, *args):
    """What ``fn`` returns when its arguments are tracers (for outputs without derivative)."""
    seen = []

    def f(*a):
        seen.append(fn(*a))
        return fnp.sum(a[0])

    fgrad.vjp(f, *args)
    return seen[0]


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


# --- unique ----------------------------------------------------------------------------


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
