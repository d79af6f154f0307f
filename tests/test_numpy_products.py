"""Products: einsum, dot family, kron, cross, diagonals, triangles, convolution.

Every function is checked three ways: its value on tracers equals numpy's,
its derivatives pass ``check_grads`` to second order in both modes (jvp vs
central differences, vjp vs jvp), and a few have analytic expectations.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES

RNG = np.random.default_rng(20240)


def randn(*shape, complex_=False):
    x = RNG.standard_normal(shape)
    if complex_:
        x = x + 1j * RNG.standard_normal(shape)
    return x


def check(np_fn, fnp_fn, *args, order=2, tol=1e-12):
    """Value under a trace equals numpy's; derivatives pass check_grads."""
    want = np_fn(*args)
    got, _ = fgrad.vjp(fnp_fn, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert np.result_type(got) == np.result_type(want)
    fgrad.check_grads(fnp_fn, args, order=order)


# --- einsum -----------------------------------------------------------------------

EINSUM_SPECS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("iiij->ji", [(2, 2, 2, 3)]),
    ("ijij->ij", [(2, 3, 2, 3)]),
    ("iji->j", [(2, 3, 2)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("i...,i->...", [(3, 2, 2), (3,)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...", [(2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("ab,bc,cd,de->ae", [(2, 2), (2, 3), (3, 2), (2, 2)]),
    ("ij,k->ik", [(2, 3), (2,)]),
    ("i,j", [(2,), (3,)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("Ab,bC", [(2, 3), (3, 2)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]),
    (",i->i", [(), (3,)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUM_SPECS, ids=[s for s, _ in EINSUM_SPECS])
def test_einsum_values_and_derivatives(spec, shapes):
    ops = [randn(*s) for s in shapes]
    check(lambda *o: np.einsum(spec, *o), lambda *o: fnp.einsum(spec, *o), *ops)


@pytest.mark.parametrize("spec,shapes", EINSUM_SPECS[::3], ids=[s for s, _ in EINSUM_SPECS[::3]])
def test_einsum_complex(spec, shapes):
    ops = [randn(*s, complex_=True) for s in shapes]
    fgrad.check_grads(lambda *o: fnp.einsum(spec, *o), ops, order=2)


def test_einsum_analytic():
    a = randn(3, 3)
    np.testing.assert_array_equal(fgrad.grad(lambda a: fnp.einsum("ii->", a))(a), np.eye(3))
    np.testing.assert_array_equal(
        fgrad.grad(lambda a: fnp.einsum("ii->i", a).sum())(a), np.eye(3))
    w = randn(3)
    np.testing.assert_allclose(
        fgrad.grad(lambda a: fnp.einsum("ii->i", a) @ w)(a), np.diag(w))
    b, x = randn(2, 3), randn(3)
    # d/dB of u . (B x) is the outer product u x^T
    u = randn(2)
    np.testing.assert_allclose(
        fgrad.grad(lambda b: fnp.einsum("i,ij,j->", u, b, x))(b), np.outer(u, x))
    # complex, JAX's convention: f(z) = Re(z . c) = x.a - y.b, so
    # df/dx - i df/dy = a + ib = c (no conjugation)
    c = randn(3, complex_=True)
    z = randn(3, complex_=True)
    g = fgrad.grad(lambda z: fnp.real(fnp.einsum("i,i->", z, c)))(z)
    np.testing.assert_allclose(g, c)


def test_einsum_forms_and_dispatch():
    a, b = randn(2, 3), randn(3, 4)
    # numpy's interleaved sublist form
    np.testing.assert_allclose(fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    g = fgrad.grad(lambda a: fnp.einsum(a, [0, 1], b, [1, 2], [0, 2]).sum())(a)
    np.testing.assert_allclose(g, np.ones((2, 4)) @ b.T)
    # plain numpy code reaches fgrad through __array_function__
    g = fgrad.grad(lambda a: np.einsum("ij,jk->", a, b))(a)
    np.testing.assert_allclose(g, np.ones((2, 4)) @ b.T)
    # optimize= and dtype= are honoured
    fgrad.check_grads(lambda a, b: fnp.einsum("ij,jk,kl", a, b, b.T, optimize=True),
                      (a, b), order=1)
    out = fgrad.vjp(lambda a: fnp.einsum("ij->i", a, dtype=np.float32), a)[0]
    assert out.dtype == np.float32
    # on plain arrays the result is numpy's own
    np.testing.assert_array_equal(fnp.einsum("ij,jk", a, b), np.einsum("ij,jk", a, b))


def test_einsum_errors_are_numpys():
    with pytest.raises(ValueError):
        fgrad.grad(lambda a: fnp.einsum("ij,jk->ik", a, a).sum())(randn(2, 3))
    with pytest.raises(TypeError, match="out="):
        fgrad.grad(lambda a: fnp.einsum("ii", a, out=np.zeros(())))(randn(2, 2))


def test_einsum_float32_cotangents():
    a = randn(3, 3).astype(np.float32)
    g = fgrad.grad(lambda a: fnp.einsum("ii->", a))(a)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, np.eye(3, dtype=np.float32))


# --- batching rules of the rows added here: vmap semantics via a loop --------------


@pytest.mark.parametrize("name", ["einsum", "diagonal", "diagonal_embed"])
def test_batch_rules_match_a_loop(name):
    """``batch(args, dims, **params)`` equals stacking the unbatched results."""
    prim = PRIMITIVES[name]
    makers = [prim.test["make"], *prim.test.get("also", ())]
    rng = np.random.default_rng(7)
    checked = 0
    for maker in makers:
        for _ in range(3):
            args, params = maker(rng, ())
            examples = [tuple(rng.standard_normal(np.shape(a)) for a in args) for _ in range(3)]
            want = np.stack([prim.impl(*ex, **params) for ex in examples])
            # every argument batched, along random axes
            dims = [int(rng.integers(0, np.ndim(a) + 1)) for a in args]
            vals = [np.stack([ex[k] for ex in examples], axis=d) for k, d in enumerate(dims)]
            out, out_dim = prim.batch(vals, dims, **params)
            np.testing.assert_allclose(np.moveaxis(out, out_dim, 0), want, atol=1e-12)
            # one argument batched, the others shared
            k = int(rng.integers(len(args)))
            dims = [None] * len(args)
            dims[k] = int(rng.integers(0, np.ndim(args[k]) + 1))
            vals = list(examples[0])
            vals[k] = np.stack([ex[k] for ex in examples], axis=dims[k])
            out, out_dim = prim.batch(vals, dims, **params)
            want = np.stack([
                prim.impl(*(examples[0][:k] + (ex[k],) + examples[0][k + 1:]), **params)
                for ex in examples])
            np.testing.assert_allclose(np.moveaxis(out, out_dim, 0), want, atol=1e-12)
            checked += 1
    assert checked >= 3


# --- the dot family ------------------------------------------------------------------


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
                                    ((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((2, 2, 3), (4, 3, 2)),
                                    ((), (3,))])
def test_dot(shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check(np.dot, fnp.dot, a, b)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (4, 3)), ((2, 2, 3), (3,)),
                                    ((), (2, 3))])
def test_inner(shapes):
    check(np.inner, fnp.inner, randn(*shapes[0]), randn(*shapes[1]))


def test_vdot_outer_tensordot_matmul():
    a, b = randn(2, 3, complex_=True), randn(3, 2, complex_=True)
    check(np.vdot, fnp.vdot, a, b.T)
    check(np.outer, fnp.outer, randn(2, 2), randn(3))
    check(lambda a, b: np.tensordot(a, b, axes=([1, 0], [0, 2])),
          lambda a, b: fnp.tensordot(a, b, axes=([1, 0], [0, 2])), randn(2, 3, 2), randn(3, 4, 2))
    check(lambda a, b: np.tensordot(a, b, 0), lambda a, b: fnp.tensordot(a, b, 0),
          randn(2), randn(3))
    check(np.matmul, fnp.matmul, randn(2, 2, 3, complex_=True), randn(3, 2, complex_=True))
    with pytest.raises(ValueError, match="shape-mismatch"):
        fgrad.grad(lambda a: fnp.tensordot(a, a, axes=([0], [1])).sum())(randn(2, 3))


def test_kron():
    check(np.kron, fnp.kron, randn(2, 3), randn(3, 2))
    check(np.kron, fnp.kron, randn(2), randn(2, 3))
    check(np.kron, fnp.kron, randn(), randn(3))
    # d/da sum(kron(a, b)) = sum(b) for every entry of a
    b = randn(2, 2)
    np.testing.assert_allclose(fgrad.grad(lambda a: fnp.kron(a, b).sum())(randn(3)),
                               np.full(3, b.sum()))


@pytest.mark.parametrize("kw,sa,sb", [
    ({}, (3,), (3,)),
    ({}, (2, 3), (3,)),
    ({"axisa": 0, "axisc": 0}, (3, 2), (2, 3)),
    ({"axis": 1}, (2, 3), (2, 3)),
    ({}, (2, 2), (2, 3)),
    ({}, (4, 3), (4, 2)),
])
def test_cross(kw, sa, sb):
    import warnings

    a, b = randn(*sa), randn(*sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy deprecates 2-vectors
        check(lambda a, b: np.cross(a, b, **kw), lambda a, b: fnp.cross(a, b, **kw), a, b)


def test_cross_analytic():
    a, b = randn(3), randn(3)
    # d/da (a x b) . c = b x c
    c = randn(3)
    np.testing.assert_allclose(fgrad.grad(lambda a: fnp.cross(a, b) @ c)(a), np.cross(b, c))


def test_cross_of_2_vectors():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        check(np.cross, fnp.cross, randn(2, 2), randn(2))


# --- diagonals and triangles -----------------------------------------------------------


@pytest.mark.parametrize("args", [(0, 0, 1), (1, 0, 1), (-1, 1, 0), (2, 0, 2), (0, -1, 0)])
def test_diagonal_and_trace(args):
    x = randn(3, 4, 4)
    check(lambda x: np.diagonal(x, *args), lambda x: fnp.diagonal(x, *args), x)
    check(lambda x: np.trace(x, *args), lambda x: fnp.trace(x, *args), x)


def test_diagonal_method_and_analytic():
    x = randn(3, 3)
    g = fgrad.grad(lambda x: x.diagonal(1).sum())(x)
    np.testing.assert_array_equal(g, np.eye(3, k=1))
    np.testing.assert_array_equal(fgrad.grad(np.trace)(x), np.eye(3))
    np.testing.assert_array_equal(fgrad.grad(lambda x: np.trace(x, -1))(x), np.eye(3, k=-1))
    with pytest.raises(ValueError, match="axis1 and axis2"):
        fgrad.grad(lambda x: fnp.diagonal(x, 0, 1, 1).sum())(x)


@pytest.mark.parametrize("k", [-2, 0, 1])
def test_diag_both_directions(k):
    check(lambda v: np.diag(v, k), lambda v: fnp.diag(v, k), randn(3))
    check(lambda m: np.diag(m, k), lambda m: fnp.diag(m, k), randn(3, 4))
    check(lambda m: np.diagflat(m, k), lambda m: fnp.diagflat(m, k), randn(2, 2))
    # the two directions are transposes: grad of sum(diag(v)) is ones, and back
    np.testing.assert_array_equal(fgrad.grad(lambda v: fnp.diag(v, k).sum())(randn(3)),
                                  np.ones(3))
    np.testing.assert_array_equal(fgrad.grad(lambda m: fnp.diag(m, k).sum())(randn(4, 4)),
                                  np.eye(4, k=k))


@pytest.mark.parametrize("fn", ["tril", "triu"])
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu(fn, k):
    for shape in [(3, 4), (2, 3, 3), (3,)]:
        x = randn(*shape)
        check(lambda x: getattr(np, fn)(x, k), lambda x: getattr(fnp, fn)(x, k), x)
    g = fgrad.grad(lambda x: getattr(fnp, fn)(x, k).sum())(randn(3, 3))
    np.testing.assert_array_equal(g, getattr(np, fn)(np.ones((3, 3)), k))


def test_tril_keeps_infinities_out_of_the_zeros():
    x = np.array([[1.0, np.inf], [2.0, 3.0]])
    np.testing.assert_array_equal(fgrad.vjp(fnp.tril, x)[0], np.tril(x))
    g = fgrad.grad(lambda x: fnp.tril(x).sum())(x)
    np.testing.assert_array_equal(g, [[1.0, 0.0], [1.0, 1.0]])


# --- convolution ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("na,nv", [(5, 3), (3, 5), (4, 4), (1, 3), (2, 6)])
def test_convolve_correlate(mode, na, nv):
    a, v = randn(na), randn(nv)
    check(lambda a, v: np.convolve(a, v, mode), lambda a, v: fnp.convolve(a, v, mode), a, v)
    check(lambda a, v: np.correlate(a, v, mode), lambda a, v: fnp.correlate(a, v, mode),
          a, v)
    ca, cv = randn(na, complex_=True), randn(nv, complex_=True)
    check(lambda a, v: np.correlate(a, v, mode), lambda a, v: fnp.correlate(a, v, mode),
          ca, cv)


def test_convolve_analytic():
    # d/da sum(convolve(a, v)) = sum(v) everywhere (mode 'full')
    v = randn(3)
    np.testing.assert_allclose(
        fgrad.grad(lambda a: fnp.convolve(a, v).sum())(randn(4)), np.full(4, v.sum()))
    with pytest.raises(ValueError, match="1-D"):
        fgrad.grad(lambda a: fnp.convolve(a, a).sum())(randn(2, 2))


# --- matvec, vecmat, vecdot, vander -------------------------------------------------------------


def test_matvec_vecmat_vecdot():
    a, v = randn(2, 3, 4, complex_=True), randn(4, complex_=True)
    check(np.matvec, fnp.matvec, a, v)
    check(np.vecmat, fnp.vecmat, randn(3, complex_=True), a)
    check(np.vecdot, fnp.vecdot, randn(2, 3, complex_=True), randn(3, complex_=True))
    check(lambda x, y: np.vecdot(x, y, axis=0), lambda x, y: fnp.vecdot(x, y, axis=0),
          randn(3, 2), randn(3, 1))
    # plain numpy ufunc calls on tracers reach fgrad
    g = fgrad.grad(lambda x: np.vecdot(x, x))(np.arange(3.0))
    np.testing.assert_array_equal(g, [0.0, 2.0, 4.0])


def test_vander():
    x = randn(4)
    for kw in [{}, {"N": 2}, {"N": 5, "increasing": True}, {"N": 1}]:
        check(lambda x: np.vander(x, **kw), lambda x: fnp.vander(x, **kw), x)
    # d/dx sum of x^k columns = sum k x^(k-1)
    g = fgrad.grad(lambda x: fnp.vander(x, 4).sum())(np.array([2.0]))
    np.testing.assert_allclose(g, [3 * 4 + 2 * 2 + 1])
    # numpy computes in the dtype promoted with int: float64 for float32 x, the
    # gradient then comes back as float32
    x32 = randn(3).astype(np.float32)
    out, f_vjp = fgrad.vjp(lambda x: fnp.vander(x, 3), x32)
    assert out.dtype == np.vander(x32, 3).dtype == np.float64
    np.testing.assert_array_equal(out, np.vander(x32, 3))
    assert f_vjp(np.ones((3, 3)))[0].dtype == np.float32
