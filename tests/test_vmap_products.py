"""Products under vmap: an unbatched matrix against a batched operand is one
matrix-matrix product (the batch folded into the rows or columns), not numpy's
stacked matmul with one small product per example (issue 15).

Values are checked against a Python loop over the examples, for every pair of
ranks, both operand orders, each batch axis and complex inputs; Jacobians and
Hessians (which run through vmap) against each other and central differences.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.batching import CATEGORY_RULES

RNG = np.random.default_rng(1515)


def randn(*shape, complex_=False):
    x = RNG.standard_normal(shape)
    if complex_:
        x = x + 1j * RNG.standard_normal(shape)
    return x


def loop(f, xs, axis):
    return np.stack([f(np.take(xs, i, axis=axis)) for i in range(xs.shape[axis])])


# (unbatched operand's shape, one example's shape of the batched operand); the batched
# operand is on the right, and the same pairs are tried with the operands swapped
PAIRS = [
    ((4, 3), (3,)), ((4, 3), (3, 2)), ((4, 3), (2, 3, 5)), ((3,), (3,)), ((3,), (3, 2)),
    ((3,), (2, 3, 4)), ((2, 4, 3), (3,)), ((2, 4, 3), (3, 5)), ((2, 4, 3), (2, 3, 5)),
    ((4, 0), (0, 2)), ((0, 3), (3,)),
]


def _swap(shape_a, shape_b):
    """The same product with the operands in the other order: b' @ a'."""
    def t(s):
        return s if len(s) == 1 else s[:-2] + (s[-1], s[-2])
    return t(shape_b), t(shape_a)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("shapes", PAIRS)
@pytest.mark.parametrize("batched_side", ["right", "left"])
@pytest.mark.parametrize("axis", [0, -1])
def test_matmul_one_batched_operand_matches_a_loop(shapes, batched_side, axis, complex_):
    shape_c, shape_x = shapes  # constant, one example of the batched operand
    if batched_side == "left":
        shape_x, shape_c = _swap(shape_c, shape_x)
    c = randn(*shape_c, complex_=complex_)
    xs = np.moveaxis(randn(5, *shape_x, complex_=complex_), 0, axis)
    if batched_side == "right":
        def f(x):
            return c @ x
    else:
        def f(x):
            return x @ c
    got = fgrad.vmap(f, in_axes=axis)(xs)
    want = loop(f, xs, axis)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("name, fn, shape_c, shape_x", [
    ("dot matrix-vector", lambda c, x: fnp.dot(c, x), (4, 3), (3,)),
    ("dot vector-matrix", lambda c, x: fnp.dot(x, c), (3, 4), (3,)),
    ("dot 3-d", lambda c, x: fnp.dot(x, c), (2, 3, 4), (5, 3)),
    ("tensordot", lambda c, x: fnp.tensordot(c, x, axes=2), (4, 2, 3), (2, 3)),
    ("tensordot right", lambda c, x: fnp.tensordot(x, c, axes=([0], [1])), (4, 3), (3, 2)),
    ("inner", lambda c, x: fnp.inner(c, x), (4, 3), (2, 3)),
    ("vdot", lambda c, x: fnp.vdot(x, c), (2, 3), (2, 3)),
    ("outer", lambda c, x: fnp.outer(c, x), (4,), (3,)),
    ("matvec", lambda c, x: fnp.matvec(c, x), (4, 3), (3,)),
    ("vecmat", lambda c, x: fnp.vecmat(x, c), (3, 4), (3,)),
    ("einsum", lambda c, x: fnp.einsum("ij,jk->ik", c, x), (4, 3), (3, 2)),
    ("linalg.matmul", lambda c, x: fnp.linalg.matmul(x, c), (3, 4), (2, 3)),
])
def test_product_rows_under_vmap_match_a_loop(name, fn, shape_c, shape_x, complex_):
    c = randn(*shape_c, complex_=complex_)
    xs = randn(6, *shape_x, complex_=complex_)

    def f(x):
        return fn(c, x)
    np.testing.assert_allclose(fgrad.vmap(f)(xs), loop(f, xs, 0), rtol=1e-12, atol=1e-12)


class _SpyMatmul:
    """Stands for the matmul row in a call of its batching rule: records the rank of
    the operands of every product the rule makes."""

    name = "matmul"

    def __init__(self):
        self.ranks = []

    def fn(self, a, b):
        self.ranks.append((np.ndim(a), np.ndim(b)))
        return np.matmul(a, b)


@pytest.mark.parametrize("a_shape, da, b_shape, db", [
    ((4, 3), None, (5, 3), 0),  # matrix times a batch of vectors (jacfwd's tangents)
    ((4, 3), None, (3, 5), 1),
    ((5, 4), 0, (4, 3), None),  # a batch of vectors times a matrix (jacrev's cotangents)
    ((5, 2, 4), 0, (4, 3), None),  # a batch of matrices times one matrix
    ((2, 5, 4), 1, (4,), None),
    ((4, 3), None, (5, 3, 2), 0),  # one matrix times a batch of matrices
    ((3,), None, (5, 3, 2), 0),
])
def test_one_batched_operand_is_one_product(a_shape, da, b_shape, db):
    a, b = randn(*a_shape), randn(*b_shape)
    spy = _SpyMatmul()
    out, od = CATEGORY_RULES["matmul"](None, spy, (a, b), (da, db))
    # one product, of two-dimensional (or vector) operands: no stacked matmul
    assert len(spy.ranks) == 1 and max(spy.ranks[0]) <= 2, spy.ranks
    a_ex = [np.take(a, i, axis=da) if da is not None else a for i in range(5)]
    b_ex = [np.take(b, i, axis=db) if db is not None else b for i in range(5)]
    want = np.stack([x @ y for x, y in zip(a_ex, b_ex)])
    np.testing.assert_allclose(np.moveaxis(out, od, 0), want, rtol=1e-12)


def _jac_fd(f, x, eps=1e-6):
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(x)) + x.shape)


A = randn(5, 4)
B = randn(4, 3)
FUNCTIONS = [
    ("A @ x", lambda x: fnp.tanh(A @ x), (4,)),
    ("x @ B", lambda x: fnp.sin(x @ B), (4,)),
    ("A @ X", lambda x: fnp.tanh(A @ x), (4, 2)),
    ("X @ B", lambda x: fnp.tanh(x @ B), (2, 4)),
    ("A @ X @ B", lambda x: A @ fnp.tanh(x) @ B, (4, 4)),
    ("stacks", lambda x: fnp.tanh(A @ x), (2, 4, 3)),
    ("dot, tensordot", lambda x: fnp.tensordot(fnp.dot(A, x), B, axes=1), (4, 4)),
]


@pytest.mark.parametrize("name, f, shape", FUNCTIONS)
def test_jacobians_agree_with_each_other_and_differences(name, f, shape):
    x = randn(*shape)
    jf, jr = fgrad.jacfwd(f)(x), fgrad.jacrev(f)(x)
    np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jr, _jac_fd(f, x), rtol=1e-6, atol=1e-7)
    # and the loop of vjps the batched one replaces
    out, f_vjp = fgrad.vjp(f, x)
    rows = [f_vjp(e.reshape(out.shape))[0] for e in np.eye(out.size)]
    np.testing.assert_allclose(jr.reshape(out.size, -1),
                               np.stack(rows).reshape(out.size, -1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, f, shape", FUNCTIONS)
def test_hessians_agree(name, f, shape):
    def s(x):
        return fnp.sum(f(x) ** 2)
    x = randn(*shape)
    H = fgrad.hessian(s)(x)
    np.testing.assert_allclose(H, fgrad.jacrev(fgrad.jacrev(s))(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, fgrad.jacfwd(fgrad.jacfwd(s))(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, _jac_fd(fgrad.grad(s), x), rtol=1e-6, atol=1e-6)


def test_complex_jacobian_by_both_modes():
    Ac = randn(4, 3, complex_=True)

    def f(z):
        return fnp.sin(Ac @ z)
    z = randn(3, complex_=True)
    jf = fgrad.jacfwd(f, holomorphic=True)(z)
    jr = fgrad.jacrev(f, holomorphic=True)(z)
    want = np.cos(Ac @ z)[:, None] * Ac
    np.testing.assert_allclose(jf, want, rtol=1e-12)
    np.testing.assert_allclose(jr, want, rtol=1e-12)
    fgrad.check_grads(f, (z,), order=2, modes=("fwd", "rev"))


def test_per_example_gradients_match_a_loop():
    W = randn(3, 4)
    xs, ys = randn(8, 4), randn(8, 3)

    def loss(w, x, y):
        return fnp.sum((fnp.tanh(w @ x) - y) ** 2)
    got = fgrad.vmap(fgrad.grad(loss), in_axes=(None, 0, 0))(W, xs, ys)
    want = np.stack([fgrad.grad(loss)(W, x, y) for x, y in zip(xs, ys)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_jacrev_leaves_the_callers_arrays_writable_and_unaliased():
    # jacrev's tape keeps the caller's arrays (read-only while it runs, no copies)
    M = randn(3, 3)
    x = randn(3)
    J = fgrad.jacrev(lambda v: M @ v)(x)
    np.testing.assert_allclose(J, M, rtol=1e-15)
    assert M.flags.writeable and x.flags.writeable
    assert not np.shares_memory(J, M)
    J[0, 0] = 99.0
    assert M[0, 0] != 99.0

    def writes(v):  # a function writing into a kept constant fails loudly, as under grad
        out = M @ v
        M[0, 0] = 1.0
        return out
    with pytest.raises(ValueError, match="read-only"):
        fgrad.jacrev(writes)(x)
    assert M.flags.writeable


def test_einsum_with_one_batched_operand_is_one_blas_product(monkeypatch):
    # numpy's einsum makes a BLAS product only when asked to optimise: under vmap, a
    # large two-operand einsum with one operand shared by every example asks
    calls = []
    einsum = np.einsum

    def spy(*args, **kwargs):
        calls.append(kwargs.get("optimize"))
        return einsum(*args, **kwargs)

    monkeypatch.setattr(np, "einsum", spy)
    W = randn(200, 120)
    xs = randn(64, 120)

    def f(x):
        return fnp.einsum("ij,j->i", W, x)
    got = fgrad.vmap(f)(xs)
    assert calls == [True]
    monkeypatch.setattr(np, "einsum", einsum)
    np.testing.assert_allclose(got, loop(f, xs, 0), rtol=1e-12, atol=1e-12)
    # small ones keep numpy's own loops (optimising has a fixed cost of its own)
    monkeypatch.setattr(np, "einsum", spy)
    calls.clear()
    small = randn(3, 4)
    fgrad.vmap(lambda x: fnp.einsum("ij,j->i", small, x))(randn(5, 4))
    assert calls == [False]
    # and its derivatives agree with the loop
    monkeypatch.setattr(np, "einsum", einsum)
    J = fgrad.jacrev(lambda x: fnp.tanh(fnp.einsum("ij,j->i", W, x)))(xs[0])
    t = np.tanh(W @ xs[0])
    np.testing.assert_allclose(J, (1 - t ** 2)[:, None] * W, rtol=1e-10, atol=1e-12)
