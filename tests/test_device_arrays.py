"""Gradients over a device-like array library, checked without a GPU.

``StrictArray`` (tests/strict_array.py) behaves as CuPy does towards numpy: it
follows NEP 13/18, refuses conversion to numpy and refuses numpy operands.  fgrad
differentiating code over it must therefore create every array it needs in the
library of the data (seeds, zeros, bases), and never read values into numpy.
tests/test_cupy.py runs the same losses on a real GPU where one exists.
"""

import numpy as np
import pytest
from strict_array import StrictArray

import fgrad


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def softmax_xent(W, X, Y):
    logits = X @ W
    m = np.max(logits, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return np.mean(lse - np.sum(Y * logits, axis=1))


def mlp(params, X, Y):
    W1, b1, W2 = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 - Y) ** 2)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    return {
        "X": X, "y": (rng.random(300) < 0.5).astype(float),
        "Y": np.eye(3)[rng.integers(0, 3, 300)],
        "w": rng.standard_normal(4) * 0.3, "W": rng.standard_normal((4, 3)) * 0.3,
        "params": (rng.standard_normal((4, 5)) * 0.3, rng.standard_normal(5) * 0.1,
                   rng.standard_normal((5, 3)) * 0.3),
    }


def _device(tree):
    return fgrad.tree.tree_map(StrictArray, tree)


def _host(tree):
    return fgrad.tree.tree_map(lambda a: a.get() if isinstance(a, StrictArray) else a, tree)


CASES = {
    "logistic": (logistic, ("w", "X", "y")),
    "softmax_xent": (softmax_xent, ("W", "X", "Y")),
    "mlp": (mlp, ("params", "X", "Y")),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "vjp", "jvp", "hessian",
                                       "jacrev", "jacfwd", "hvp"])
def test_transforms_on_device_arrays_equal_numpy(name, transform, problem):
    loss, keys = CASES[name]
    if transform in ("hessian", "jacfwd", "hvp") and name == "mlp":
        pytest.skip("the parameter pytree's Hessian is covered by the other losses")
    args = [problem[k] for k in keys]

    def run(args):
        f = lambda p: loss(p, *args[1:])  # noqa: E731
        p = args[0]
        if transform == "grad":
            return fgrad.grad(f)(p)
        if transform == "value_and_grad":
            return fgrad.value_and_grad(f)(p)
        if transform == "vjp":
            out, pull = fgrad.vjp(f, p)
            return pull(out * 0 + 1)
        if transform == "jvp":
            return fgrad.jvp(f, (p,), (fgrad.tree.tree_map(lambda a: a * 0 + 1, p),))
        if transform == "hvp":
            return fgrad.hvp(f, (p,), (p,))
        return getattr(fgrad, transform)(f)(p)

    got = run(_device(args))
    leaves = fgrad.tree.tree_leaves(got)
    assert all(isinstance(x, StrictArray) for x in leaves), [type(x) for x in leaves]
    want = run(args)
    for a, b in zip(fgrad.tree.tree_leaves(_host(got)), fgrad.tree.tree_leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-13)
