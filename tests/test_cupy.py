"""The losses of test_dask.py over CuPy arrays on a GPU: the same NEP 13/18 path,
nothing GPU-specific in fgrad.  Skipped unless CuPy is installed and sees a GPU;
docs/backends.md says how to run it on a GPU machine.
"""

import numpy as np
import pytest

import fgrad

cupy = pytest.importorskip("cupy")
try:
    _GPUS = cupy.cuda.runtime.getDeviceCount()
except Exception:  # no driver, no device
    _GPUS = 0
pytestmark = pytest.mark.skipif(_GPUS == 0, reason="CuPy is installed but sees no GPU")


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def softmax_xent(W, X, Y):
    logits = X @ W
    m = np.max(logits, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return np.mean(lse - np.sum(Y * logits, axis=1))


@pytest.mark.parametrize("transform", ["grad", "hessian", "jvp"])
def test_gradients_stay_on_the_device_and_equal_numpy(transform):
    rng = np.random.default_rng(0)
    Xn, yn = rng.standard_normal((4_000, 5)), (rng.random(4_000) < 0.5).astype(float)
    wn = rng.standard_normal(5) * 0.3
    X, y, w = cupy.asarray(Xn), cupy.asarray(yn), cupy.asarray(wn)  # parameters on the GPU too

    def run(w, X, y):
        if transform == "grad":
            return fgrad.grad(logistic)(w, X, y)
        if transform == "hessian":
            return fgrad.hessian(logistic)(w, X, y)
        return fgrad.jvp(lambda w: logistic(w, X, y), (w,), (w * 0 + 1,))[1]

    got = run(w, X, y)
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(got), run(wn, Xn, yn), rtol=1e-10, atol=1e-13)


def test_softmax_cross_entropy_on_the_device():
    rng = np.random.default_rng(1)
    Xn, Yn = rng.standard_normal((2_000, 4)), np.eye(3)[rng.integers(0, 3, 2_000)]
    Wn = rng.standard_normal((4, 3)) * 0.3
    got = fgrad.grad(softmax_xent)(cupy.asarray(Wn), cupy.asarray(Xn), cupy.asarray(Yn))
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_allclose(cupy.asnumpy(got), fgrad.grad(softmax_xent)(Wn, Xn, Yn),
                               rtol=1e-10, atol=1e-13)
