"""Checks shared by the tests of fgrad.numpy's functions (imported by test modules)."""

import numpy as np

import fgrad


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


def loop(fn, *xs):
    """``fn`` mapped over the leading axis of ``xs`` by a Python loop (vmap's oracle)."""
    return np.stack([fn(*x) for x in zip(*xs)])
