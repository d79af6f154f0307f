"""Differentiating numpy code over dask arrays: values stay lazy, nothing is computed
while tracing or during the backward pass, and the numbers equal numpy's.

Each test counts dask computations with a ``dask.callbacks.Callback`` around the
transform, then computes the result once and compares it with the same transform
applied to the same data as numpy arrays.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from dask.callbacks import Callback  # noqa: E402


class Computes(Callback):
    """Counts the dask computations started while it is active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


N, D, CHUNK = 6_000, 4, 1_000


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    y = (rng.random(N) < 0.5).astype(float)
    Y = np.eye(3)[rng.integers(0, 3, N)]
    return {"X": X, "y": y, "Y": Y}


def lazy(data):
    return {k: da.from_array(v, chunks=(CHUNK,) + v.shape[1:]) for k, v in data.items()}


def logistic(w, d):
    z = d["X"] @ w
    return np.mean(np.logaddexp(0.0, z) - d["y"] * z)


def least_squares(w, d):
    r = d["X"] @ w - d["y"]
    return np.mean(r ** 2) + 0.1 * np.sum(w ** 2)


def hinge(w, d):
    z = d["X"] @ w
    return np.sum(np.maximum(0.0, 1.0 - (2 * d["y"] - 1) * z)) / N


def softmax_xent(W, d):
    logits = d["X"] @ W
    m = np.max(logits, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return np.mean(lse - np.sum(d["Y"] * logits, axis=1))


def softmax_xent_fnp(W, d):
    import fgrad.scipy.special as fsp

    logits = d["X"] @ W
    return fnp.mean(fsp.logsumexp(logits, axis=1) - fnp.sum(d["Y"] * logits, axis=1))


def tanh_layer(w, d):
    h = np.tanh(d["X"] * w)  # (N, D) * (D,)
    return np.mean(np.var(h, axis=0)) + np.std(h) + np.min(h) + np.max(h, axis=0).sum()


LOSSES = [logistic, least_squares, hinge, softmax_xent, softmax_xent_fnp, tanh_layer]


def _param(loss):
    rng = np.random.default_rng(1)
    return rng.standard_normal((D, 3) if "softmax" in loss.__name__ else D) * 0.3


def _lazy_then_compare(run, data, rtol=1e-10, atol=1e-12, lazy_result=True):
    """``run(d)`` on lazy data with zero computes, then one compute equals numpy's.

    ``lazy_result=False`` for a derivative fgrad knows to be zero without data
    (the Hessian of a piecewise-linear loss): numpy zeros are then fine.
    """
    counter = Computes()
    with counter:
        out = run(lazy(data))
    assert counter.count == 0, f"{counter.count} dask computation(s) while tracing"
    leaves = fgrad.tree.tree_leaves(out)
    if lazy_result:
        assert any(isinstance(x, da.Array) for x in leaves), "the result is not lazy"
    (computed,) = dask.compute(out)
    expected = run(data)
    for got, want in zip(fgrad.tree.tree_leaves(computed), fgrad.tree.tree_leaves(expected)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_grad_is_lazy_and_equals_numpy(loss, data):
    w = _param(loss)
    _lazy_then_compare(lambda d: fgrad.grad(loss)(w, d), data)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda f: f.__name__)
def test_value_and_grad_and_hessian(loss, data):
    w = _param(loss)
    _lazy_then_compare(lambda d: fgrad.value_and_grad(loss)(w, d), data)
    _lazy_then_compare(lambda d: fgrad.hessian(loss)(w, d), data, lazy_result=loss is not hinge)


@pytest.mark.parametrize("loss", [logistic, least_squares, softmax_xent], ids=lambda f: f.__name__)
def test_vjp_jvp_hvp_jacobians(loss, data):
    w = _param(loss)
    v = np.ones_like(w)

    def vjp(d):
        out, pullback = fgrad.vjp(lambda w: loss(w, d), w)
        return out, pullback(np.ones(()))

    _lazy_then_compare(vjp, data)
    _lazy_then_compare(lambda d: fgrad.jvp(lambda w: loss(w, d), (w,), (v,)), data)
    _lazy_then_compare(lambda d: fgrad.hvp(lambda w: loss(w, d), (w,), (v,)), data)
    _lazy_then_compare(lambda d: fgrad.jacfwd(loss)(w, d), data)
    _lazy_then_compare(lambda d: fgrad.jacrev(loss)(w, d), data)


def test_checkpoint_custom_rules_and_stop_gradient(data):
    w = _param(logistic)

    @fgrad.custom_vjp
    def softplus(z):
        return np.logaddexp(0.0, z)

    softplus.defvjp(lambda z: (softplus(z), z), lambda z, g: (g / (1 + np.exp(-z)),))

    @fgrad.custom_jvp
    def square(r):
        return r * r

    square.defjvp(lambda p, t: (square(p[0]), 2 * p[0] * t[0]))

    def loss(w, d):
        z = fgrad.checkpoint(lambda w: d["X"] @ w)(w)
        r = z - fgrad.stop_gradient(d["y"] * z)
        return np.mean(softplus(z) - d["y"] * z) + np.mean(square(r))

    _lazy_then_compare(lambda d: fgrad.grad(loss)(w, d), data)

    def forward_loss(w, d):  # custom_vjp has no forward mode (as in JAX)
        z = fgrad.checkpoint(lambda w: d["X"] @ w)(w)
        r = z - fgrad.stop_gradient(d["y"] * z)
        return np.mean(square(r))

    _lazy_then_compare(lambda d: fgrad.jvp(lambda w: forward_loss(w, d), (w,), (w,)), data)


def test_gradient_with_respect_to_the_data(data):
    """Mixed inputs: the derivative in a lazy argument is lazy, with the data's chunks."""
    w = _param(logistic)
    counter = Computes()
    with counter:
        g = fgrad.grad(logistic, argnums=1)(w, lazy(data))
    assert counter.count == 0
    assert isinstance(g["X"], da.Array) and g["X"].chunks == lazy(data)["X"].chunks
    expected = fgrad.grad(logistic, argnums=1)(w, data)
    np.testing.assert_allclose(g["X"].compute(), expected["X"], rtol=1e-10, atol=1e-14)


def test_plain_inputs_give_plain_results(data):
    w = _param(logistic)
    assert type(fgrad.grad(logistic)(w, data)) is np.ndarray


def test_lazy_tangents_cotangents_and_unused_inputs(data):
    """Tangents and cotangents may be lazy too; an unused lazy input's zero is lazy."""
    w = _param(least_squares)

    def jvp_in_data(d):  # the derivative of the loss along a lazy direction in X
        return fgrad.jvp(lambda X: least_squares(w, dict(d, X=X)), (d["X"],), (d["X"] * 0.5,))

    _lazy_then_compare(jvp_in_data, data)

    def pull_lazy(d):  # a lazy cotangent pulled back through a map of the data
        out, pullback = fgrad.vjp(lambda w: np.tanh(d["X"] @ w), w)
        return pullback(d["y"])

    _lazy_then_compare(pull_lazy, data)

    def unused(d):
        return fgrad.grad(lambda w, d: least_squares(w, {"X": d["X"], "y": d["y"]}),
                          argnums=1)(w, d)["Y"]

    counter = Computes()
    with counter:
        zero = unused(lazy(data))
    assert counter.count == 0 and isinstance(zero, da.Array)
    assert zero.chunks == lazy(data)["Y"].chunks and not np.any(zero.compute())


def test_linearize_and_checkpoint_with_lazy_outputs(data):
    w = _param(logistic)

    def lin(d):
        out, f_jvp = fgrad.linearize(lambda w: np.tanh(d["X"] @ w), w)
        return out, f_jvp(w)

    _lazy_then_compare(lin, data)

    def two_outputs(d):
        def loss(w):
            z, s = fgrad.checkpoint(lambda w: (d["X"] @ w, np.sin(d["X"] @ w)))(w)
            return np.mean(z * s)
        return fgrad.value_and_grad(loss)(w)

    _lazy_then_compare(two_outputs, data)


def test_fgrad_numpy_asarray_keeps_a_lazy_array_lazy(data):
    X = lazy(data)["X"]
    counter = Computes()
    with counter:
        same, cast = fnp.asarray(X), fnp.asarray(X, dtype=np.float32)
    assert counter.count == 0 and same is X
    assert isinstance(cast, da.Array) and cast.dtype == np.float32


@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_unknown_chunk_sizes_get_a_clear_error_and_the_fix_works(mode, data):
    """Boolean indexing gives a dask array of unknown length: a clear error that names
    compute_chunk_sizes, and after calling it the numbers equal numpy's."""
    X = lazy(data)["X"]
    w = _param(logistic)

    def run(rows, w):
        f = lambda w: np.mean(np.tanh(rows @ w) ** 2)  # noqa: E731
        if mode == "grad":
            return fgrad.grad(f)(w)
        return fgrad.jvp(f, (w,), (np.ones_like(w),))[1]

    masked = X[X[:, 0] > 0]
    assert np.isnan(masked.shape[0])
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        run(masked, w)
    known = masked.compute_chunk_sizes()
    plain = data["X"][data["X"][:, 0] > 0]
    np.testing.assert_allclose(np.asarray(run(known, w)), run(plain, w), rtol=1e-10)
