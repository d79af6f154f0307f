"""vmap(..., chunk_size=N): the batch in passes of N examples, the same values as
one pass (against one pass and a Python loop), derivatives through it, and clear
errors for a bad chunk size."""

import tracemalloc

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(0)


def model(x, w):
    return {"h": fnp.tanh(x @ w["a"]) * w["b"], "n": fnp.sum(x ** 2)}


W = {"a": RNG.standard_normal((3, 2)), "b": RNG.standard_normal(2)}
X = RNG.standard_normal((7, 3))


def _loop(f, xs):
    outs = [f(x) for x in xs]
    return fgrad.tree_util.tree_map(lambda *o: np.stack(o), *outs)


@pytest.mark.parametrize("chunk", [1, 2, 3, 6, 7, 100])
def test_chunks_give_the_values_of_one_pass_and_of_a_loop(chunk):
    got = fgrad.vmap(model, in_axes=(0, None), chunk_size=chunk)(X, W)
    whole = fgrad.vmap(model, in_axes=(0, None))(X, W)
    loop = _loop(lambda x: model(x, W), X)
    for k in ("h", "n"):
        np.testing.assert_allclose(got[k], whole[k], rtol=1e-13)
        np.testing.assert_allclose(got[k], loop[k], rtol=1e-13)


def test_in_axes_and_out_axes_are_respected_per_leaf():
    xt = X.T  # mapped over axis 1
    f = fgrad.vmap(lambda x, w: (x @ w["a"], fnp.sum(w["b"])), in_axes=(1, None),
                   out_axes=(-1, None), chunk_size=3)
    got, shared = f(xt, W)
    assert got.shape == (2, 7)
    np.testing.assert_allclose(got, (X @ W["a"]).T, rtol=1e-13)
    np.testing.assert_allclose(shared, np.sum(W["b"]))
    # a pytree of in_axes, keyword arguments mapped over axis 0
    g = fgrad.vmap(lambda p, scale: p["x"] * p["c"] * scale, in_axes=({"x": 0, "c": None},),
                   chunk_size=2)
    np.testing.assert_allclose(g({"x": X, "c": 2.0}, scale=np.arange(7.0)[:, None]),
                               X * 2.0 * np.arange(7.0)[:, None])


def test_grad_of_chunked_vmap_matches_and_passes_check_grads():
    def loss(w, chunk):
        out = fgrad.vmap(model, in_axes=(0, None), chunk_size=chunk)(X, w)
        return fnp.sum(out["h"] ** 2) + fnp.sum(out["n"])

    g2 = fgrad.grad(loss)(W, 2)
    g_whole = fgrad.grad(loss)(W, None)
    for k in W:
        np.testing.assert_allclose(g2[k], g_whole[k], rtol=1e-12)
    fgrad.check_grads(lambda w: loss(w, 3), (W,), order=2, modes=("fwd", "rev"))


def test_chunked_vmap_of_grad_gives_per_example_gradients():
    per = fgrad.vmap(fgrad.grad(lambda x, w: fnp.sum(model(x, w)["h"])), in_axes=(0, None),
                     chunk_size=3)(X, W)
    loop = np.stack([fgrad.grad(lambda x: fnp.sum(model(x, W)["h"]))(x) for x in X])
    np.testing.assert_allclose(per, loop, rtol=1e-12)
    # and jacfwd through a chunked vmap (forward mode)
    J = fgrad.jacfwd(lambda x: fgrad.vmap(fnp.sin, chunk_size=2)(x))(X[:, 0])
    np.testing.assert_allclose(J, np.diag(np.cos(X[:, 0])), rtol=1e-13)


def test_nested_chunked_vmaps():
    f = fgrad.vmap(fgrad.vmap(lambda a, b: a * b, in_axes=(0, None), chunk_size=2),
                   in_axes=(None, 0), chunk_size=3)
    a, b = np.arange(5.0), np.arange(4.0)
    np.testing.assert_allclose(f(a, b), np.outer(b, a))


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.0, TypeError),
                                        (True, TypeError), ("4", TypeError)])
def test_bad_chunk_sizes_are_refused_clearly(bad, error):
    with pytest.raises(error, match="chunk_size must be a positive int"):
        fgrad.vmap(fnp.sin, chunk_size=bad)
    with pytest.raises(error, match="chunk_size must be a positive int"):
        fgrad.jacrev(fnp.sin, chunk_size=bad)


def test_chunks_bound_the_peak_memory():
    """The (n, d, d) intermediate of one pass is what costs; passes of 50 keep a tenth."""
    x = RNG.standard_normal((500, 60))

    def f(v):
        return fnp.sum(fnp.tanh(fnp.outer(v, v)), axis=0)

    def peak(chunk):
        tracemalloc.start()
        try:
            out = fgrad.vmap(f, chunk_size=chunk)(x)
            return tracemalloc.get_traced_memory()[1], out
        finally:
            tracemalloc.stop()

    whole, a = peak(None)
    chunked, b = peak(50)
    np.testing.assert_allclose(a, b, rtol=1e-13)
    assert whole > 500 * 60 * 60 * 8  # at least one (500, 60, 60) float64 intermediate
    assert chunked < whole / 4, (chunked, whole)


def test_a_function_whose_output_structure_changes_between_passes_is_refused():
    calls = []

    def f(x):
        calls.append(1)
        return (x,) if len(calls) == 1 else [x]

    with pytest.raises(ValueError, match="different structure for examples 2..3"):
        fgrad.vmap(f, chunk_size=2)(np.arange(5.0))
