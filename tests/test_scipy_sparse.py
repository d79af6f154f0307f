"""Constant scipy.sparse operators: products with traced dense values, sparse
solves differentiable in the right-hand side (and, with spsolve_values, in the
matrix's nonzero values).

Values against scipy / dense numpy, derivatives by check_grads (order 2, both
modes) and analytic formulas, vmap against a Python loop, every sparse format.
"""

import subprocess
import sys

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
spla = pytest.importorskip("scipy.sparse.linalg")

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402
import fgrad.scipy.sparse.linalg as fspla  # noqa: E402

FORMATS = ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"]
CLASSES = [getattr(sp, f"{f}_{kind}") for f in FORMATS for kind in ("matrix", "array")]
MATRIX_CLASSES = [c for c in CLASSES if c.__name__.endswith("_matrix")]
ARRAY_CLASSES = [c for c in CLASSES if c.__name__.endswith("_array")]

DENSE = np.array([[2.0, 0.0, 1.0, 0.0],
                  [0.0, -3.0, 0.0, 0.5],
                  [1.5, 0.0, 0.0, 4.0]])  # 3 x 4: a transposition mistake shows


def _rng(seed=0):
    return np.random.default_rng(seed)


def _ids(cls):
    return cls.__name__


# --- products -------------------------------------------------------------------------------

# spelling -> (function of (S, x), shape of x for 1-d / 2-d, dense reference of (D, x))
SPELLINGS = {
    "S @ x": (lambda S, x: S @ x, lambda D, x: D @ x, "right"),
    "S.dot(x)": (lambda S, x: S.dot(x), lambda D, x: D @ x, "right"),
    "fnp.dot(S, x)": (lambda S, x: fnp.dot(S, x), lambda D, x: D @ x, "right"),
    "fnp.matmul(S, x)": (lambda S, x: fnp.matmul(S, x), lambda D, x: D @ x, "right"),
    "x @ S": (lambda S, x: x @ S, lambda D, x: x @ D, "left"),
    "fnp.dot(x, S)": (lambda S, x: fnp.dot(x, S), lambda D, x: x @ D, "left"),
    "fnp.matmul(x, S)": (lambda S, x: fnp.matmul(x, S), lambda D, x: x @ D, "left"),
    "S.T @ x": (lambda S, x: S.T @ x, lambda D, x: D.T @ x, "left"),
}


def _operand(side, ndim, rng):
    n = 4 if side == "right" else 3
    shape = (n,) if ndim == 1 else ((n, 2) if side == "right" else (2, n))
    if side == "left" and ndim == 2:
        shape = (2, 3)
    return rng.standard_normal(shape)


def _x_for(name, ndim, rng):
    side = SPELLINGS[name][2]
    if name == "S.T @ x":  # S.T is 4 x 3: x has 3 rows
        return rng.standard_normal((3,) if ndim == 1 else (3, 2))
    return _operand(side, ndim, rng)


@pytest.mark.parametrize("cls", CLASSES, ids=_ids)
@pytest.mark.parametrize("name", list(SPELLINGS))
@pytest.mark.parametrize("ndim", [1, 2])
def test_product_values_and_derivatives(cls, name, ndim):
    f, ref, _ = SPELLINGS[name]
    S = cls(DENSE)
    x = _x_for(name, ndim, _rng(ndim))
    np.testing.assert_allclose(fgrad.jvp(lambda x: f(S, x), (x,), (x,))[0], ref(DENSE, x))
    np.testing.assert_allclose(fgrad.jvp(lambda x: f(S, x), (x,), (x,))[1], ref(DENSE, x))
    if "matmul" in name:  # numpy's matmul refuses a sparse operand on plain values
        with pytest.raises(ValueError):
            f(S, x)
        H = fgrad.jacfwd(fgrad.jacrev(lambda x: fnp.sum(f(S, x) ** 2)))(x)
        Hd = fgrad.jacfwd(fgrad.jacrev(lambda x: fnp.sum(ref(DENSE, x) ** 2)))(x)
        np.testing.assert_allclose(H, Hd)
    else:
        fgrad.check_grads(lambda x: f(S, x), (x,), order=2, modes=("fwd", "rev"))
    # the gradient of a weighted sum is the transposed product: as the dense product's
    w = _rng(5).standard_normal(np.shape(ref(DENSE, x)))
    g = fgrad.grad(lambda x: fnp.sum(w * f(S, x)))(x)
    np.testing.assert_allclose(g, fgrad.grad(lambda x: fnp.sum(w * ref(DENSE, x)))(x))


@pytest.mark.parametrize("cls", MATRIX_CLASSES, ids=_ids)
def test_star_is_the_matrix_product_for_sparse_matrices(cls):
    S = cls(DENSE)
    x, y = _rng(1).standard_normal(4), _rng(2).standard_normal(3)
    np.testing.assert_allclose(S * x, DENSE @ x)  # scipy's own meaning, untraced
    np.testing.assert_allclose(fgrad.jvp(lambda x: S * x, (x,), (x,))[1], DENSE @ x)
    fgrad.check_grads(lambda x: S * x, (x,), order=2, modes=("fwd", "rev"))
    fgrad.check_grads(lambda y: y * S, (y,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(fgrad.grad(lambda y: fnp.sum(y * S))(y), DENSE.sum(axis=1))


@pytest.mark.parametrize("cls", ARRAY_CLASSES, ids=_ids)
def test_star_of_sparse_arrays_is_refused_with_advice(cls):
    S = cls(DENSE)
    with pytest.raises(TypeError, match=r"elementwise.*S @ x.*toarray"):
        fgrad.grad(lambda x: fnp.sum(S * x))(np.ones(4))
    with pytest.raises(TypeError, match=r"elementwise.*S @ x.*toarray"):
        fgrad.grad(lambda x: fnp.sum(x * S))(np.ones(4))


@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.coo_array, sp.dok_array], ids=_ids)
@pytest.mark.parametrize("spell", [
    lambda S, x: S + x, lambda S, x: x - S, lambda S, x: S / x, lambda S, x: x ** S,
])
def test_other_operations_are_refused_with_advice(cls, spell):
    S = cls(DENSE)
    with pytest.raises(TypeError, match=r"constant linear operator in products.*toarray"):
        fgrad.grad(lambda x: fnp.sum(spell(S, x)))(np.ones((3, 4)))


@pytest.mark.parametrize("spell", [
    lambda S, x: np.dot(S, x), lambda S, x: np.dot(x.T, S), lambda S, x: np.matmul(S, x),
    lambda S, x: x.T.dot(S), lambda S, x: np.multiply(S, x), lambda S, x: np.add(x.T, S),
])
def test_numpys_own_functions_are_refused_with_advice(spell):
    # numpy treats a sparse matrix as one opaque object: on plain arrays np.dot(S, x)
    # is an object array of matrices, so a traced result would differ from the plain one
    S = sp.csr_matrix(DENSE.T)
    x = np.ones((3, 2))
    assert np.asarray(np.dot(S, x)).dtype == object
    with pytest.raises(TypeError, match=r"numpy does not know sparse.*S @ x"):
        fgrad.grad(lambda x: fnp.sum(spell(S, x)))(x)


def test_multiply_method_is_refused_with_advice():
    S = sp.csr_array(DENSE)
    with pytest.raises(TypeError, match=r"multiply.*toarray\(\) \* x"):
        fgrad.grad(lambda x: fnp.sum(S.multiply(x)))(np.ones(4))


def test_shapes_and_scalars_are_checked():
    S = sp.csr_array(DENSE)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        fgrad.grad(lambda x: fnp.sum(S @ x))(np.ones((4, 2, 2)))
    with pytest.raises(ValueError, match="4 columns"):
        fgrad.grad(lambda x: fnp.sum(S @ x))(np.ones(3))
    with pytest.raises(ValueError, match="last axis of length 3"):
        fgrad.grad(lambda x: fnp.sum(x @ S))(np.ones(4))
    with pytest.raises(ValueError, match="traced sparse matrix"):
        fgrad.grad(lambda c: fnp.sum(S.dot(c)))(2.0)
    with pytest.raises(ValueError, match="traced sparse matrix"):
        fgrad.grad(lambda c: fnp.sum(sp.csr_matrix(DENSE) * c))(2.0)


def test_plain_operands_keep_scipys_results():
    fgrad.grad(lambda x: fnp.sum(sp.csr_array(DENSE) @ x))(np.ones(4))  # the hook is on
    for cls in CLASSES:
        S = cls(DENSE)
        x = np.arange(4.0)
        out = S @ x
        assert type(out) is np.ndarray
        np.testing.assert_array_equal(out, DENSE @ x)
        np.testing.assert_array_equal(S.dot(x), DENSE @ x)
        assert sp.issparse(S * 2.0) and sp.issparse(S + S) and sp.issparse(S.multiply(S))
        np.testing.assert_array_equal((S @ S.T).toarray(), DENSE @ DENSE.T)
    assert isinstance(sp.csr_matrix(DENSE) + np.ones((3, 4)), np.matrix)


@pytest.mark.parametrize("cls", [sp.csr_matrix, sp.csc_array, sp.bsr_array, sp.dia_matrix],
                         ids=_ids)
@pytest.mark.parametrize("name", ["S @ x", "x @ S", "S.T @ x"])
@pytest.mark.parametrize("ndim", [1, 2])
def test_vmap_matches_a_loop(cls, name, ndim):
    f = SPELLINGS[name][0]
    S = cls(DENSE)
    xs = np.stack([_x_for(name, ndim, _rng(i)) for i in range(5)])
    want = np.stack([f(S, x) for x in xs])
    np.testing.assert_allclose(fgrad.vmap(lambda x: f(S, x))(xs), want)
    moved = np.moveaxis(xs, 0, -1)
    np.testing.assert_allclose(fgrad.vmap(lambda x: f(S, x), in_axes=-1)(moved), want)
    # and under a derivative
    gw = np.stack([fgrad.grad(lambda x: fnp.sum(f(S, x) ** 2))(x) for x in xs])
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(lambda x: fnp.sum(f(S, x) ** 2)))(xs), gw)


class _CountingCSR(sp.csr_matrix):
    """Counts scipy's sparse-times-dense kernels (a vmap must call one, once)."""

    calls = 0

    def _matmul_vector(self, other):
        type(self).calls += 1
        return super()._matmul_vector(other)

    def _matmul_multivector(self, other):
        type(self).calls += 1
        return super()._matmul_multivector(other)


def test_vmap_is_one_sparse_product():
    S = _CountingCSR(DENSE)
    for per_example in [(4,), (4, 3)]:
        xs = _rng(3).standard_normal((6,) + per_example)
        _CountingCSR.calls = 0
        out = fgrad.vmap(lambda x: S @ x)(xs)
        assert _CountingCSR.calls == 1
        np.testing.assert_allclose(out, np.stack([DENSE @ x for x in xs]))


def test_complex_values_follow_the_transpose_convention():
    S = sp.csr_array(DENSE + 1j * np.roll(DENSE, 1, axis=1))
    z = _rng(4).standard_normal(4) + 1j * _rng(5).standard_normal(4)
    fgrad.check_grads(lambda z: S @ z, (z,), order=2, modes=("fwd", "rev"))
    fgrad.check_grads(lambda x: S @ x, (z.real,), order=2, modes=("fwd", "rev"))


def test_float32_operand_gets_float32_gradient():
    S = sp.csr_array(DENSE)
    g = fgrad.grad(lambda x: fnp.sum(S @ x))(np.ones(4, np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, DENSE.sum(axis=0))


def test_hessian_of_a_quadratic_form():
    S = sp.csr_array(DENSE)
    H = fgrad.hessian(lambda x: fnp.sum((S @ x) ** 2))(np.ones(4))
    np.testing.assert_allclose(H, 2 * DENSE.T @ DENSE)


def test_hook_works_without_importing_fgrad_scipy():
    code = (
        "import numpy as np, scipy.sparse as sp, fgrad, sys\n"
        "S = sp.csr_matrix([[1.0, 2.0], [0.0, 3.0]])\n"
        "g = fgrad.grad(lambda x: (S @ x).sum())(np.ones(2))\n"
        "assert np.allclose(g, [1.0, 5.0]), g\n"
        "assert 'fgrad.scipy' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_scipy_sparse_imported_inside_a_transform():
    # the operators are wrapped when a transform starts after scipy.sparse was imported:
    # a transform that imports it itself gets the conversion error, saying so
    code = (
        "import numpy as np, fgrad, sys\n"
        "def f(x):\n"
        "    import scipy.sparse as sp\n"
        "    return (sp.csr_matrix([[1.0, 2.0], [0.0, 3.0]]) @ x).sum()\n"
        "message = ''\n"
        "try:\n"
        "    fgrad.grad(f)(np.ones(2))\n"
        "except TypeError as e:\n"
        "    message = str(e)\n"
        "assert 'imported before the transform starts' in message, message\n"
        "assert np.allclose(fgrad.grad(f)(np.ones(2)), [1.0, 5.0])\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


# --- solves ---------------------------------------------------------------------------------


def _spd(n=5, seed=0):
    rng = _rng(seed)
    M = rng.uniform(-1, 1, (n, n)) * (rng.uniform(0, 1, (n, n)) < 0.4)
    return M + M.T + 4 * np.eye(n)


def _general(n=5, seed=0):
    rng = _rng(seed)
    return rng.uniform(-1, 1, (n, n)) * (rng.uniform(0, 1, (n, n)) < 0.5) + 3 * np.eye(n)


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")
@pytest.mark.parametrize("cls", CLASSES, ids=_ids)
def test_spsolve_values_and_derivatives(cls):
    D = _general()
    A = cls(D)
    b = _rng(1).standard_normal(5)
    x = fgrad.jvp(lambda b: fspla.spsolve(A, b), (b,), (b,))[0]
    np.testing.assert_allclose(x, spla.spsolve(sp.csc_matrix(D), b), rtol=1e-12)
    np.testing.assert_allclose(fspla.spsolve(A, b), spla.spsolve(A, b))  # plain: scipy's
    fgrad.check_grads(lambda b: fspla.spsolve(A, b), (b,), order=2, modes=("fwd", "rev"))
    w = _rng(2).standard_normal(5)
    g = fgrad.grad(lambda b: fnp.sum(w * fspla.spsolve(A, b)))(b)
    np.testing.assert_allclose(g, np.linalg.solve(D.T, w))


@pytest.mark.parametrize("shape", [(5, 1), (5, 3)])
def test_spsolve_two_dimensional_right_hand_sides(shape):
    A = sp.csr_array(_general())
    b = _rng(1).standard_normal(shape)
    got = fgrad.jvp(lambda b: fspla.spsolve(A, b), (b,), (b,))[0]
    want = spla.spsolve(A, b)
    assert got.shape == want.shape  # (5, 1) -> (5,), as scipy
    np.testing.assert_allclose(got, want)
    fgrad.check_grads(lambda b: fspla.spsolve(A, b), (b,), order=2, modes=("fwd", "rev"))


def test_spsolve_vmap_matches_a_loop():
    A = sp.csc_array(_general())
    bs = _rng(3).standard_normal((4, 5))
    want = np.stack([spla.spsolve(A, b) for b in bs])
    np.testing.assert_allclose(fgrad.vmap(lambda b: fspla.spsolve(A, b))(bs), want)
    np.testing.assert_allclose(fgrad.vmap(lambda b: fspla.spsolve(A, b), in_axes=1)(bs.T), want)
    B = _rng(4).standard_normal((3, 5, 2))
    want = np.stack([spla.spsolve(A, b) for b in B])
    np.testing.assert_allclose(fgrad.vmap(lambda b: fspla.spsolve(A, b))(B), want)
    jac = fgrad.vmap(fgrad.jacrev(lambda b: fspla.spsolve(A, b)))(bs)
    np.testing.assert_allclose(jac, np.broadcast_to(np.linalg.inv(A.toarray()), (4, 5, 5)),
                               atol=1e-12)


def test_spsolve_complex():
    D = _general() + 1j * _general(seed=1)
    A = sp.csc_array(D)
    b = _rng(5).standard_normal(5) + 1j * _rng(6).standard_normal(5)
    np.testing.assert_allclose(fgrad.jvp(lambda b: fspla.spsolve(A, b), (b,), (b,))[0],
                               spla.spsolve(A, b))
    fgrad.check_grads(lambda b: fspla.spsolve(A, b), (b,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("trans", ["N", "T", "H"])
@pytest.mark.parametrize("dtype", [float, complex])
def test_splu_solve(trans, dtype):
    D = _general() + (1j * _general(seed=1) if dtype is complex else 0)
    lu = fspla.splu(sp.csc_matrix(D))
    ref = spla.splu(sp.csc_matrix(D))
    b = _rng(2).standard_normal((5, 2)).astype(dtype)
    np.testing.assert_allclose(lu.solve(b, trans=trans), ref.solve(b, trans=trans))
    got = fgrad.jvp(lambda b: lu.solve(b, trans=trans), (b,), (b,))[0]
    np.testing.assert_allclose(got, ref.solve(b, trans=trans))
    op = {"N": D, "T": D.T, "H": D.conj().T}[trans]
    np.testing.assert_allclose(got, np.linalg.solve(op, b))
    fgrad.check_grads(lambda b: lu.solve(b, trans=trans), (b,), order=2, modes=("fwd", "rev"))
    fgrad.check_grads(lambda b: lu.solve(b, trans=trans), (b[:, 0],), order=2,
                      modes=("fwd", "rev"))
    bs = _rng(3).standard_normal((4, 5)).astype(dtype)
    np.testing.assert_allclose(fgrad.vmap(lambda b: lu.solve(b, trans=trans))(bs),
                               np.stack([ref.solve(b, trans=trans) for b in bs]))
    assert lu.shape == (5, 5) and lu.nnz == ref.nnz
    np.testing.assert_array_equal(lu.perm_r, ref.perm_r)


def test_factorized():
    A = sp.csc_array(_spd())
    solve, ref = fspla.factorized(A), spla.factorized(A)
    b = _rng(1).standard_normal(5)
    np.testing.assert_allclose(solve(b), ref(b))
    np.testing.assert_allclose(fgrad.grad(lambda b: solve(b) @ b)(b),
                               2 * spla.spsolve(A, b))  # A symmetric
    fgrad.check_grads(solve, (b,), order=2, modes=("fwd", "rev"))


def test_traced_matrix_is_refused_clearly():
    D = _general()
    b = np.ones(5)
    with pytest.raises(TypeError, match=r"traced value.*must be a constant.*spsolve_values"):
        fgrad.grad(lambda d: fnp.sum(fspla.spsolve(d, b)))(D)
    with pytest.raises(TypeError, match="must be a constant"):
        fgrad.grad(lambda d: fnp.sum(fspla.splu(d).solve(b)))(D)
    with pytest.raises(TypeError, match="must be a constant"):
        fgrad.grad(lambda d: fnp.sum(fspla.factorized(d)(b)))(D)


def test_scipys_own_solvers_point_to_fgrads():
    A = sp.csc_array(_general())
    with pytest.raises(TypeError, match=r"fgrad\.scipy\.sparse\.linalg"):
        fgrad.grad(lambda b: fnp.sum(spla.spsolve(A, b)))(np.ones(5))
    # scipy's SuperLU is compiled code that checks its argument's type itself: its
    # TypeError ("must be numpy.ndarray") cannot carry fgrad's advice (sharp bits)
    lu = spla.splu(A)
    with pytest.raises(TypeError, match="ndarray"):
        fgrad.grad(lambda b: fnp.sum(lu.solve(b)))(np.ones(5))


def test_spsolve_checks_shapes():
    A = sp.csr_array(_general())
    with pytest.raises(ValueError, match="first axis of length 5"):
        fgrad.grad(lambda b: fnp.sum(fspla.spsolve(A, b)))(np.ones(4))
    with pytest.raises(ValueError, match="square"):
        fgrad.grad(lambda b: fnp.sum(fspla.spsolve(sp.csr_array(DENSE), b)))(np.ones(3))


# --- spsolve_values: derivatives in the nonzero values ------------------------------------------


def _positions(A):
    """For each (row, column) of A, the index of its entry in ``data`` or None."""
    pos = [[None] * A.shape[1] for _ in range(A.shape[0])]
    for i in range(A.shape[0]):
        for k in range(A.indptr[i], A.indptr[i + 1]):
            pos[i][A.indices[k]] = k
    return pos


def _dense_solve(data, b, A):
    """The same solve through fgrad's dense path (the reference for derivatives)."""
    M = fnp.stack([fnp.stack([data[k] if k is not None else 0.0 for k in row])
                   for row in _positions(A)])
    return fnp.linalg.solve(M, b)


@pytest.mark.parametrize("bshape", [(5,), (5, 2)])
def test_spsolve_values(bshape):
    A = sp.csr_array(_general())
    b = _rng(1).standard_normal(bshape)
    args = (A.data, A.indices, A.indptr)
    np.testing.assert_allclose(fspla.spsolve_values(*args, b), spla.spsolve(A, b))

    def f(data, b):
        return fspla.spsolve_values(data, A.indices, A.indptr, b)

    np.testing.assert_allclose(fgrad.jvp(f, (A.data, b), (A.data, b))[0], spla.spsolve(A, b))
    fgrad.check_grads(f, (A.data, b), order=2, modes=("fwd", "rev"))
    w = _rng(2).standard_normal(bshape)
    loss = lambda d, b: fnp.sum(w * f(d, b))  # noqa: E731
    dense = lambda d, b: fnp.sum(w * _dense_solve(d, b, A))  # noqa: E731
    for argnum in (0, 1):
        np.testing.assert_allclose(fgrad.grad(loss, argnum)(A.data, b),
                                   fgrad.grad(dense, argnum)(A.data, b), atol=1e-12)


def test_spsolve_values_vmap_matches_a_loop():
    A = sp.csr_array(_general())
    datas = A.data * (1 + 0.1 * _rng(1).standard_normal((3, A.nnz)))
    b = _rng(2).standard_normal(5)
    bs = _rng(3).standard_normal((3, 5))

    def f(d, b):
        return fspla.spsolve_values(d, A.indices, A.indptr, b)

    np.testing.assert_allclose(fgrad.vmap(f, in_axes=(0, None))(datas, b),
                               np.stack([f(d, b) for d in datas]))
    np.testing.assert_allclose(fgrad.vmap(f)(datas, bs),
                               np.stack([f(d, x) for d, x in zip(datas, bs)]))
    np.testing.assert_allclose(fgrad.vmap(f, in_axes=(None, 0))(A.data, bs),
                               np.stack([f(A.data, x) for x in bs]))
    g = fgrad.vmap(fgrad.grad(lambda d: fnp.sum(f(d, b) ** 2)))(datas)
    np.testing.assert_allclose(g, np.stack([fgrad.grad(lambda d: fnp.sum(f(d, b) ** 2))(d)
                                            for d in datas]))


def test_spsolve_values_refuses_a_traced_pattern():
    A = sp.csr_array(_general())
    with pytest.raises(TypeError, match="pattern"):
        fgrad.grad(lambda ip: fnp.sum(fspla.spsolve_values(A.data, A.indices, ip, np.ones(5))))(
            A.indptr.astype(float))


# --- worked examples ---------------------------------------------------------------------------


def _poisson_1d(n):
    """Linear finite elements for -u'' = q on (0, 1), u(0) = u(1) = 0, n interior nodes."""
    h = 1.0 / (n + 1)
    K = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]) / h
    return K.tocsr(), h, h * np.arange(1, n + 1)


def test_finite_element_compliance_gradient_is_twice_the_displacement():
    # compliance C(f) = f . u(f) with K u = f; dC/df = 2 u.  For a uniform load q = 1
    # (nodal loads f = h) linear elements are exact at the nodes: u = x (1 - x) / 2.
    K, h, xs = _poisson_1d(19)
    f = h * np.ones(19)

    def compliance(f):
        return f @ fspla.spsolve(K, f)

    g = fgrad.grad(compliance)(f)
    np.testing.assert_allclose(g, xs * (1 - xs), rtol=1e-10)
    np.testing.assert_allclose(fgrad.grad(lambda f: f @ fspla.splu(K.tocsc()).solve(f))(f), g)
    # the energy 1/2 u.K u - f.u at the solution is -C/2: gradient -u
    energy = lambda f: 0.5 * (lambda u: u @ (K @ u) - 2 * f @ u)(fspla.spsolve(K, f))  # noqa: E731
    np.testing.assert_allclose(fgrad.grad(energy)(f), -xs * (1 - xs) / 2, rtol=1e-10)
    # the Hessian of the compliance is 2 K^-1
    H = fgrad.hessian(compliance)(f)
    np.testing.assert_allclose(H, 2 * np.linalg.inv(K.toarray()), rtol=1e-9, atol=1e-12)


def test_graph_laplacian_dirichlet_energy_and_heat_solve():
    edges = [(0, 1, 1.0), (1, 2, 2.0), (2, 3, 0.5), (3, 0, 1.5), (1, 3, 1.0)]
    n = 4
    i, j, w = (np.array(c) for c in zip(*edges))
    W = sp.coo_array((np.r_[w, w], (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    x = _rng(7).standard_normal(n)

    def dirichlet(x):
        return 0.5 * x @ (L @ x)

    # analytic: E = 1/2 sum_edges w (x_i - x_j)^2, dE/dx_k = sum_edges w (x_k - x_other)
    want = np.zeros(n)
    for a, b_, wt in edges:
        want[a] += wt * (x[a] - x[b_])
        want[b_] += wt * (x[b_] - x[a])
    assert np.isclose(dirichlet(x), 0.5 * sum(wt * (x[a] - x[b_]) ** 2 for a, b_, wt in edges))
    np.testing.assert_allclose(fgrad.grad(dirichlet)(x), want)
    fgrad.check_grads(dirichlet, (x,), order=2, modes=("fwd", "rev"))
    # one implicit heat step (I + t L) y = x: gradient of sum(y) is (I + t L)^-T 1 = 1
    # (L's rows sum to zero), vmapped over several initial states
    M = (sp.identity(n) + 0.3 * L).tocsc()
    xs = _rng(8).standard_normal((3, n))
    g = fgrad.vmap(fgrad.grad(lambda x: fnp.sum(fspla.spsolve(M, x))))(xs)
    np.testing.assert_allclose(g, np.ones((3, n)), rtol=1e-12)


def test_namespaces_are_reachable():
    import fgrad.scipy.sparse.linalg as direct

    assert fgrad.scipy.sparse.linalg is direct
    assert set(direct.__all__) == {"spsolve", "splu", "factorized", "spsolve_values"}
