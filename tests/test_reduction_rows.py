"""vmap of the reduction rows (sum, mean, prod, amax, amin, nanmax, nanmin) on
per-example arrays of every rank, with the axes numpy accepts and refuses.

Found by tests/test_random_programs.py: numpy accepts ``axis=0`` / ``axis=-1`` on a
0-d array (it reduces nothing), so ``fnp.sum(x, axis=0)`` works on a 0-d ``x``, but
under ``vmap`` (and so in ``jacrev``, ``hessian``, and the rules of softmax /
log_softmax) the batching rule raised ZeroDivisionError; an out-of-range axis
wrapped around silently instead of raising numpy's AxisError.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
import fgrad.scipy.special as fss
from fgrad.core import PRIMITIVES

REDUCTIONS = [fnp.sum, fnp.mean, fnp.prod, fnp.max, fnp.min, fnp.nanmax, fnp.nanmin]


@pytest.mark.parametrize("red", REDUCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vmap_of_a_reduction_over_0d_examples_is_the_loop(red, axis, keepdims):
    xs = np.array([0.3, -0.5, 1.25])

    def f(x):
        return red(x, axis=axis, keepdims=keepdims)

    if red is fnp.mean:  # numpy's mean refuses what its sum accepts: so does vmap's
        with pytest.raises(np.exceptions.AxisError):
            np.mean(xs[0], axis=axis)
        with pytest.raises(np.exceptions.AxisError):
            fgrad.vmap(f)(xs)
        return
    want = np.stack([red(np.asarray(x), axis=axis, keepdims=keepdims) for x in xs])
    np.testing.assert_array_equal(fgrad.vmap(f)(xs), want)
    g = fgrad.vmap(fgrad.grad(lambda x: fnp.sum(f(x) ** 2)))(xs)
    np.testing.assert_allclose(g, [fgrad.grad(lambda x: fnp.sum(f(x) ** 2))(x) for x in xs])


def test_jacrev_of_softmax_rules_on_a_0d_input():
    # the vjp rules of softmax / log_softmax reduce along axis 0 of a 0-d value; jacrev
    # runs them under vmap
    x = np.array(0.3)
    for f in (lambda x: fss.log_softmax(x, axis=0), lambda x: fss.softmax(x, axis=0)):
        np.testing.assert_allclose(fgrad.jacrev(f)(x), fgrad.jacfwd(f)(x))
        np.testing.assert_allclose(fgrad.jacrev(f)(x), 0.0)  # softmax of one value is 1


@pytest.mark.parametrize("red", [fnp.sum, fnp.max], ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape,axis", [((), 1), ((), (0,)), ((2, 3), 2), ((2, 3), -3),
                                        ((2, 3), (0, 5))])
def test_vmap_of_a_reduction_refuses_an_axis_numpy_refuses(red, shape, axis):
    x = np.ones(shape)
    with pytest.raises(np.exceptions.AxisError):
        red(x, axis=axis)  # numpy's own verdict
    with pytest.raises(np.exceptions.AxisError):
        fgrad.vmap(lambda x: red(x, axis=axis))(np.stack([x, x]))


def test_mean_row_on_a_0d_array_gives_numpys_axis_error():
    # the row's fast path indexed the shape: IndexError instead of numpy's AxisError
    x = np.array(0.3)
    with pytest.raises(np.exceptions.AxisError):
        PRIMITIVES["mean"].fn(x, axis=0)
    with pytest.raises(np.exceptions.AxisError):
        PRIMITIVES["mean"].fn(x, axis=(0,))
    assert PRIMITIVES["mean"].fn(x, axis=()) == 0.3


@pytest.mark.parametrize("kind", ["quantile", "nanquantile"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vmap_of_the_quantile_row_over_q_with_a_tuple_axis_is_the_loop(kind, keepdims):
    # numpy's nan functions mis-shape a 2-d q with a tuple axis: the batching rule of
    # a batched q over a shared ``a`` returned the quantile axis in the batch's place
    x = np.random.default_rng(0).standard_normal((4, 3, 3))
    x[1, 0, 0] = np.nan if kind == "nanquantile" else 0.0
    qs = np.array([[0.3, 0.8], [0.25, 0.7], [0.2, 0.6]])
    params = {"axis": (0, -1), "method": "linear", "keepdims": keepdims, "kind": kind}

    def f(q):
        return PRIMITIVES["quantile"].fn(x, q, **params)

    np.testing.assert_allclose(fgrad.vmap(f)(qs), np.stack([f(q) for q in qs]))


# the "reduce" batching category (batching.py): scans, arg-reductions and scipy's
# logsumexp on 0-d examples with axis 0 / -1, which numpy and scipy accept
REDUCE_CATEGORY = {
    "cumsum": lambda x, axis: fnp.cumsum(x, axis=axis),
    "cumprod": lambda x, axis: fnp.cumprod(x, axis=axis),
    "argmax": lambda x, axis: fnp.argmax(x, axis=axis),
    "logsumexp": lambda x, axis: fss.logsumexp(x, axis=axis),
}


@pytest.mark.parametrize("name", sorted(REDUCE_CATEGORY))
@pytest.mark.parametrize("axis", [0, -1])
def test_vmap_of_the_reduce_category_over_0d_examples_is_the_loop(name, axis):
    f = REDUCE_CATEGORY[name]
    xs = np.array([0.3, -0.5, 1.25])
    want = np.stack([np.asarray(f(x, axis)) for x in xs])
    got = fgrad.vmap(lambda x: f(x, axis))(xs)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-15)


def test_vmap_of_logsumexp_refuses_an_axis_one_example_does_not_have():
    with pytest.raises(np.exceptions.AxisError):
        fgrad.vmap(lambda v: fss.logsumexp(v, axis=-3))(np.ones((2, 2, 3)))
