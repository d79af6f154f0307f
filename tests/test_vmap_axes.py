"""vmap's axes and per-example ranks (issue 16, items 6 and 13).

* ``in_axes``/``out_axes`` outside the rank raise a ValueError naming the axis
  and the rank; negative axes count from the end as in numpy (``-1`` is the last).
* A batching rule never computes what numpy (and fgrad without vmap) refuses on
  one example: products with a 0-d per-example operand, mismatched core sizes.
  Every outcome is compared with a Python loop over the examples.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(16)


def randn(*shape):
    return RNG.standard_normal(shape)


def loop(f, xs):
    return np.stack([f(x) for x in xs])


# --- out_axes / in_axes range (item 6) -----------------------------------------------


@pytest.mark.parametrize("out_axes", [2, 5, -3, -7])
def test_out_axes_out_of_range_raises(out_axes):
    # the result of one example is 1-d: the batched output has rank 2, axes -2..1
    f = fgrad.vmap(lambda x: x * 2.0, out_axes=out_axes)
    with pytest.raises(ValueError, match=rf"out_axes.*{out_axes}.*rank 2"):
        f(np.ones((3, 4)))


@pytest.mark.parametrize("out_axes", [2, -3])
def test_out_axes_out_of_range_unbatched_output_raises(out_axes):
    # an output that does not depend on the batch is broadcast: same range check
    f = fgrad.vmap(lambda x: fnp.ones(4), out_axes=out_axes)
    with pytest.raises(ValueError, match=rf"out_axes.*{out_axes}.*rank 2"):
        f(np.ones((3, 4)))


@pytest.mark.parametrize("out_axes", [0, 1, -1, -2])
def test_out_axes_in_range_as_numpy(out_axes):
    x = randn(3, 4)
    got = fgrad.vmap(lambda v: v * 2.0, out_axes=out_axes)(x)
    want = np.moveaxis(np.stack([v * 2.0 for v in x]), 0, out_axes)
    np.testing.assert_array_equal(got, want)
    got = fgrad.vmap(lambda v: fnp.arange(4.0), out_axes=out_axes)(x)
    want = np.moveaxis(np.stack([np.arange(4.0)] * 3), 0, out_axes)
    np.testing.assert_array_equal(got, want)


def test_out_axes_checked_per_output_leaf():
    f = fgrad.vmap(lambda x: (x, fnp.sum(x)), out_axes=(1, 1))
    with pytest.raises(ValueError, match=r"out_axes.*1.*rank 1"):
        f(np.ones((3, 4)))


@pytest.mark.parametrize("in_axes", [2, 5, -3])
def test_in_axes_out_of_range_raises(in_axes):
    with pytest.raises(ValueError, match=rf"axis {in_axes}.*rank 2"):
        fgrad.vmap(lambda x: x, in_axes=in_axes)(np.ones((3, 4)))


def test_in_axes_negative_counts_from_the_end():
    x = randn(3, 4)
    np.testing.assert_array_equal(fgrad.vmap(lambda v: v * 2.0, in_axes=-1)(x), (x * 2.0).T)
    np.testing.assert_array_equal(fgrad.vmap(lambda v: v * 2.0, in_axes=-2)(x), x * 2.0)


# --- per-example ranks of the products (item 13) ----------------------------------------


def _numpy_raises(f, *args):
    with pytest.raises((ValueError, TypeError)):
        f(*args)


M = np.array([[2.0]])


@pytest.mark.parametrize("f", [
    lambda x: M @ x,
    lambda x: x @ M,
    lambda x: fnp.matmul(M, x),
    lambda x: x @ x,
    lambda x: np.matmul(x, np.ones(1)),
], ids=["M@x", "x@M", "fnp.matmul", "x@x", "np.matmul"])
def test_matmul_with_0d_example_raises(f):
    xs = np.array([3.0, 4.0])
    _numpy_raises(f, xs[0])  # numpy refuses one example ...
    with pytest.raises(ValueError, match="matmul"):  # ... and so does vmap, clearly
        fgrad.vmap(f)(xs)


def test_matmul_core_size_mismatch_raises_like_numpy():
    A = np.ones((2, 3))
    xs = randn(5, 4)
    _numpy_raises(lambda x: A @ x, xs[0])
    with pytest.raises(ValueError, match="matmul"):
        fgrad.vmap(lambda x: A @ x)(xs)


@pytest.mark.parametrize("shapes", [
    ((2, 3), (3,)), ((3,), (3, 2)), ((3,), (3,)), ((4, 2, 3), (3, 5)), ((2, 3), (1, 3, 2)),
])
@pytest.mark.parametrize("which", ["a", "b", "both"])
def test_matmul_valid_ranks_match_loop(shapes, which):
    sa, sb = shapes
    a, b = randn(*sa), randn(*sb)
    if which in ("a", "both"):
        a = randn(4, *sa)
    if which in ("b", "both"):
        b = randn(4, *sb)
    in_axes = (0 if which in ("a", "both") else None, 0 if which in ("b", "both") else None)
    got = fgrad.vmap(lambda u, v: u @ v, in_axes=in_axes)(a, b)
    want = np.stack([(a[i] if in_axes[0] == 0 else a) @ (b[i] if in_axes[1] == 0 else b)
                     for i in range(4)])
    np.testing.assert_allclose(got, want, rtol=1e-12)


OTHER_PRODUCTS = {
    "dot": lambda x: fnp.dot(M, x),
    "inner": lambda x: fnp.inner(M, x),
    "tensordot": lambda x: fnp.tensordot(M, x, axes=1),
    "einsum": lambda x: fnp.einsum("ij,j->i", M, x),
    "vdot": lambda x: fnp.vdot(M, x),
    "outer": lambda x: fnp.outer(M, x),
    "kron": lambda x: fnp.kron(M, x),
    "cross": lambda x: fnp.cross(np.ones(3), x),
}


@pytest.mark.parametrize("name", sorted(OTHER_PRODUCTS))
def test_other_products_with_0d_example_agree_with_loop(name):
    """Each product on a batch of 0-d examples: raises (with a clear error, not an
    internal one) exactly when numpy raises on one example, else equals the loop."""
    f = OTHER_PRODUCTS[name]
    xs = np.array([3.0, 4.0])
    try:
        want = loop(lambda x: np.asarray(f(x)), xs)
    except (ValueError, TypeError, IndexError):  # numpy's tensordot: an IndexError
        with pytest.raises((ValueError, TypeError)) as info:
            fgrad.vmap(f)(xs)
        assert "fgrad" in str(info.value) or name in str(info.value), str(info.value)
        return
    np.testing.assert_allclose(fgrad.vmap(f)(xs), want, rtol=1e-12)


@pytest.mark.parametrize("name", ["dot", "inner", "tensordot", "einsum", "vdot", "outer"])
def test_products_core_size_mismatch_raise(name):
    A = np.ones((2, 3))
    fs = {
        "dot": lambda x: fnp.dot(A, x), "inner": lambda x: fnp.inner(A, x),
        "tensordot": lambda x: fnp.tensordot(A, x, axes=1),
        "einsum": lambda x: fnp.einsum("ij,j->i", A, x), "vdot": lambda x: fnp.vdot(A, x),
        "outer": lambda x: fnp.outer(A, x),
    }
    f = fs[name]
    xs = randn(5, 4)
    try:
        want = loop(lambda x: np.asarray(f(x)), xs)
    except (ValueError, TypeError):
        with pytest.raises((ValueError, TypeError)) as info:
            fgrad.vmap(f)(xs)
        assert not isinstance(info.value, (IndexError, AttributeError))
        return
    np.testing.assert_allclose(fgrad.vmap(f)(xs), want, rtol=1e-12)


# --- randomness inside vmap (documented in the sharp bits) ------------------------------


def test_numpy_random_inside_vmap_is_one_draw_for_the_batch():
    # documented behaviour: f runs once, so a draw inside it is shared by all examples
    rng = np.random.default_rng(3)
    out = fgrad.vmap(lambda x: x + rng.standard_normal(x.shape))(np.zeros((4, 3)))
    assert np.all(out == out[0])


def test_per_example_noise_passed_in_matches_a_loop():
    rng = np.random.default_rng(4)
    xs = randn(4, 3)
    noise = rng.standard_normal(xs.shape)

    def f(x, e):
        return fnp.sin(x) + e

    np.testing.assert_array_equal(fgrad.vmap(f)(xs, noise),
                                  np.stack([f(x, e) for x, e in zip(xs, noise)]))
    g = fgrad.vmap(fgrad.grad(lambda x, e: fnp.sum(f(x, e) ** 2)))(xs, noise)
    np.testing.assert_allclose(g, 2 * (np.sin(xs) + noise) * np.cos(xs), rtol=1e-12)
    shared = fgrad.vmap(f, in_axes=(0, None))(xs, noise[0])
    np.testing.assert_array_equal(shared, np.sin(xs) + noise[0])


# --- axes and core ranks of one example, for the other batching rules -------------------


def _special():
    import fgrad.scipy.special as sp

    return sp


AXIS_FUNCTIONS = {
    "sum": lambda x: fnp.sum(x, axis=1), "mean": lambda x: fnp.mean(x, axis=1),
    "max": lambda x: fnp.max(x, axis=1), "prod": lambda x: fnp.prod(x, axis=1),
    "cumsum": lambda x: fnp.cumsum(x, axis=1), "cumprod": lambda x: fnp.cumprod(x, axis=1),
    "argmax": lambda x: fnp.argmax(x, axis=1), "argsort": lambda x: fnp.argsort(x, axis=1),
    "ptp": lambda x: fnp.ptp(x, axis=1), "average": lambda x: fnp.average(x, axis=1),
    "nansum": lambda x: fnp.nansum(x, axis=1), "var": lambda x: fnp.var(x, axis=1),
    "norm": lambda x: fnp.linalg.norm(x, axis=1),
    "vector_norm": lambda x: fnp.linalg.vector_norm(x, axis=1),
    "trapezoid": lambda x: fnp.trapezoid(x, axis=1),
    "swapaxes": lambda x: fnp.swapaxes(x, 0, 1), "matrix_transpose": fnp.matrix_transpose,
    "transpose": lambda x: fnp.transpose(x, (1, 0)), "moveaxis": lambda x: fnp.moveaxis(x, 1, 0),
    "flip": lambda x: fnp.flip(x, axis=1), "concatenate": lambda x: fnp.concatenate([x, x], 1),
    "logsumexp": lambda x: _special().logsumexp(x, axis=1),
    "logsumexp_b": lambda x: _special().logsumexp(x, axis=1, b=np.ones(4)),
    "softmax": lambda x: _special().softmax(x, axis=1),
    "sum-neg": lambda x: fnp.sum(x, axis=-2), "sum-ok": lambda x: fnp.sum(x, axis=-1),
    "cumsum-ok": lambda x: fnp.cumsum(x, axis=-1),
}

MATRIX_FUNCTIONS = {
    "inv": fnp.linalg.inv, "det": fnp.linalg.det, "slogdet": fnp.linalg.slogdet,
    "cholesky": fnp.linalg.cholesky, "eigh": fnp.linalg.eigh, "eigvalsh": fnp.linalg.eigvalsh,
    "eig": fnp.linalg.eig, "eigvals": fnp.linalg.eigvals, "pinv": fnp.linalg.pinv,
    "svd": fnp.linalg.svd, "svdvals": fnp.linalg.svdvals, "qr": fnp.linalg.qr,
    "cond": fnp.linalg.cond, "matvec": lambda x: fnp.matvec(x, np.ones(4)),
    "vecmat": lambda x: fnp.vecmat(np.ones(4), x), "trace": fnp.trace,
    "solve": lambda x: fnp.linalg.solve(x, np.ones(4)),
    "solve-vector": lambda x: fnp.linalg.solve(np.eye(4), x),
    "matrix_rank": fnp.linalg.matrix_rank,
}


def _agrees_with_loop(f, xs):
    """vmap(f) raises a ValueError/TypeError exactly when numpy raises on one example,
    and otherwise equals the Python loop."""
    try:
        outs = [f(x) for x in xs]
    except (ValueError, TypeError, IndexError) as e:  # numpy's trapezoid: IndexError
        with pytest.raises((ValueError, TypeError)) as info:
            fgrad.vmap(f)(xs)
        assert not isinstance(info.value, (ZeroDivisionError, AttributeError))
        assert type(info.value).__name__ != "IndexError", info.value
        return e
    leaves = [fgrad.tree.tree_flatten(o)[0] for o in outs]
    got = fgrad.tree.tree_flatten(fgrad.vmap(f)(xs))[0]
    for k, g in enumerate(got):
        np.testing.assert_allclose(g, np.stack([lv[k] for lv in leaves]), rtol=1e-10, atol=1e-12)
    return None


@pytest.mark.parametrize("name", sorted(AXIS_FUNCTIONS))
def test_axis_out_of_range_for_one_example_is_not_wrapped(name):
    xs = randn(4, 4) + 3.0  # a batch of 1-d examples (4 of them, each of length 4)
    err = _agrees_with_loop(AXIS_FUNCTIONS[name], xs)
    assert (err is None) == name.endswith("-ok")


@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
def test_matrix_functions_on_vector_examples(name):
    # a (4, 4) batch of 4-vectors: square as a whole, so only a per-example check catches it
    xs = randn(4, 4) + 4 * np.eye(4)
    err = _agrees_with_loop(MATRIX_FUNCTIONS[name], xs)
    assert (err is None) == (name in ("solve-vector", "matrix_rank"))
