"""fgrad.numpy.linalg: numpy's values, analytic derivatives, both modes, complex, stacks.

The systematic table test checks every linalg row numerically (jvp against
central differences, vjp against jvp, to order 2).  Here: agreement with numpy
to the bit, the textbook identities, gauge-invariant checks of eigen- and
singular vectors (also complex), Hessian-vector products through the
factorisations, the composites and the errors.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad import check_grads

rng0 = np.random.default_rng(1234)


def spd(rng, n=3, lead=()):
    b = rng.standard_normal(lead + (n, n))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def hpd(rng, n=3):
    b = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    return b @ b.conj().T + n * np.eye(n)


def well(rng, n=3, lead=(), cplx=False):
    a = rng.standard_normal(lead + (n, n)) + 2.0 * n * np.eye(n)
    if cplx:
        a = a + 1j * rng.standard_normal(lead + (n, n))
    return a


def distinct_sym(rng, n=3, cplx=False):
    x = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if cplx else 0)
    q, _ = np.linalg.qr(x)
    w = np.arange(n) * 1.5 - 1.0
    return (q * w) @ q.conj().T


def distinct_sv(rng, m, n, cplx=False):
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)) + (1j * rng.standard_normal((m, k)) if cplx else 0))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)) + (1j * rng.standard_normal((n, k)) if cplx else 0))
    return (u * (1.0 + 1.3 * np.arange(k))) @ v.conj().T


def primal(f, *args):
    """The value of f computed under a transform (jvp), to compare with numpy's."""
    return fgrad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


def assert_same(got, want):
    if isinstance(want, tuple):
        assert type(got) is type(want) or not hasattr(want, "_fields"), (type(got), type(want))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
        return
    np.testing.assert_array_equal(got, want)
    assert np.result_type(got) == np.result_type(want)


# ---------------------------------------------------------------------------
# numpy's results, exactly: on plain arrays and under a transform
# ---------------------------------------------------------------------------

A = well(rng0)
S = spd(rng0)
R = rng0.standard_normal((4, 3))
B = rng0.standard_normal((3, 2))
STACK = well(rng0, lead=(2,))
C = well(rng0, cplx=True)

CASES = [
    ("solve", lambda a: fnp.linalg.solve(a, B), lambda a: np.linalg.solve(a, B), A),
    ("solve_vec", lambda a: fnp.linalg.solve(a, B[:, 0]), lambda a: np.linalg.solve(a, B[:, 0]), A),
    ("solve_stack", lambda a: fnp.linalg.solve(a, B[:, 0]), lambda a: np.linalg.solve(a, B[:, 0]), STACK),
    ("inv", fnp.linalg.inv, np.linalg.inv, STACK),
    ("det", fnp.linalg.det, np.linalg.det, STACK),
    ("det_c", fnp.linalg.det, np.linalg.det, C),
    ("slogdet", fnp.linalg.slogdet, np.linalg.slogdet, STACK),
    ("slogdet_c", fnp.linalg.slogdet, np.linalg.slogdet, C),
    ("cholesky", fnp.linalg.cholesky, np.linalg.cholesky, S),
    ("cholesky_upper", lambda a: fnp.linalg.cholesky(a, upper=True),
     lambda a: np.linalg.cholesky(a, upper=True), S),
    ("eigh", fnp.linalg.eigh, np.linalg.eigh, S),
    ("eigh_U", lambda a: fnp.linalg.eigh(a, "U"), lambda a: np.linalg.eigh(a, "U"), S),
    ("eigh_c", fnp.linalg.eigh, np.linalg.eigh, hpd(rng0)),
    ("eigvalsh", fnp.linalg.eigvalsh, np.linalg.eigvalsh, S),
    ("eig", fnp.linalg.eig, np.linalg.eig, A),
    ("eigvals", fnp.linalg.eigvals, np.linalg.eigvals, A),
    ("svd", fnp.linalg.svd, np.linalg.svd, A),
    ("svd_thin", lambda a: fnp.linalg.svd(a, full_matrices=False),
     lambda a: np.linalg.svd(a, full_matrices=False), R),
    ("svd_wide_c", lambda a: fnp.linalg.svd(a, full_matrices=False),
     lambda a: np.linalg.svd(a, full_matrices=False), (R + 1j * R[::-1]).T),
    ("svd_values", lambda a: fnp.linalg.svd(a, compute_uv=False),
     lambda a: np.linalg.svd(a, compute_uv=False), R),
    ("svd_hermitian", lambda a: fnp.linalg.svd(a, hermitian=True),
     lambda a: np.linalg.svd(a, hermitian=True), distinct_sym(rng0)),
    ("svd_hermitian_values", lambda a: fnp.linalg.svd(a, compute_uv=False, hermitian=True),
     lambda a: np.linalg.svd(a, compute_uv=False, hermitian=True), distinct_sym(rng0)),
    ("svdvals", fnp.linalg.svdvals, np.linalg.svdvals, STACK),
    ("qr", fnp.linalg.qr, np.linalg.qr, R),
    ("qr_wide", fnp.linalg.qr, np.linalg.qr, R.T),
    ("qr_complete_wide", lambda a: fnp.linalg.qr(a, "complete"),
     lambda a: np.linalg.qr(a, "complete"), R.T),
    ("qr_r", lambda a: fnp.linalg.qr(a, "r"), lambda a: np.linalg.qr(a, "r"), R),
    ("pinv", fnp.linalg.pinv, np.linalg.pinv, R),
    ("pinv_herm", lambda a: fnp.linalg.pinv(a, hermitian=True),
     lambda a: np.linalg.pinv(a, hermitian=True), S),
    ("lstsq_x", lambda a: fnp.linalg.lstsq(a, R[:, 0])[0], lambda a: np.linalg.lstsq(a, R[:, 0])[0], R),
    ("norm", fnp.linalg.norm, np.linalg.norm, R),
    ("norm_nuc", lambda a: fnp.linalg.norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc"), R),
    ("norm_inf_axis", lambda a: fnp.linalg.norm(a, np.inf, axis=0),
     lambda a: np.linalg.norm(a, np.inf, axis=0), R),
    ("norm_p", lambda a: fnp.linalg.norm(a, 3, axis=1, keepdims=True),
     lambda a: np.linalg.norm(a, 3, axis=1, keepdims=True), R),
    ("vector_norm", lambda a: fnp.linalg.vector_norm(a, axis=(0, 1), ord=1, keepdims=True),
     lambda a: np.linalg.vector_norm(a, axis=(0, 1), ord=1, keepdims=True), R),
    ("vector_norm_all", fnp.linalg.vector_norm, np.linalg.vector_norm, STACK),
    ("matrix_norm", lambda a: fnp.linalg.matrix_norm(a, ord=-2),
     lambda a: np.linalg.matrix_norm(a, ord=-2), STACK),
    ("matrix_power_5", lambda a: fnp.linalg.matrix_power(a, 5),
     lambda a: np.linalg.matrix_power(a, 5), STACK),
    ("matrix_power_m3", lambda a: fnp.linalg.matrix_power(a, -3),
     lambda a: np.linalg.matrix_power(a, -3), A),
    ("tensorinv", lambda a: fnp.linalg.tensorinv(a.reshape(3, 1, 3), ind=1),
     lambda a: np.linalg.tensorinv(a.reshape(3, 1, 3), ind=1), A),
    ("tensorsolve", lambda a: fnp.linalg.tensorsolve(a, B[:, 0]),
     lambda a: np.linalg.tensorsolve(a, B[:, 0]), A),
    ("cond", fnp.linalg.cond, np.linalg.cond, A),
    ("trace", lambda a: fnp.linalg.trace(a, offset=1), lambda a: np.linalg.trace(a, offset=1), STACK),
    ("diagonal", lambda a: fnp.linalg.diagonal(a, offset=-1),
     lambda a: np.linalg.diagonal(a, offset=-1), R),
    ("cross", lambda a: fnp.linalg.cross(a, A[::-1]), lambda a: np.linalg.cross(a, A[::-1]), A),
    ("matrix_transpose", fnp.linalg.matrix_transpose, np.linalg.matrix_transpose, R),
]


@pytest.mark.parametrize("name,ours,theirs,x", CASES, ids=[c[0] for c in CASES])
def test_values_are_numpys_on_plain_arrays(name, ours, theirs, x):
    assert_same(ours(x), theirs(x))


EXACT_UNDER_TRACE = {
    "solve", "solve_vec", "solve_stack", "inv", "det", "det_c", "slogdet", "slogdet_c",
    "cholesky", "cholesky_upper", "eigh", "eigh_U", "eigh_c", "eigvalsh", "eig", "eigvals",
    "svd", "svd_thin", "svd_wide_c", "svd_values", "svd_hermitian", "svd_hermitian_values",
    "svdvals", "qr", "qr_wide", "qr_complete_wide", "qr_r", "pinv", "pinv_herm", "lstsq_x",
    "norm", "norm_nuc", "norm_inf_axis", "norm_p", "vector_norm", "vector_norm_all",
    "matrix_norm", "matrix_power_5", "matrix_power_m3", "tensorinv", "tensorsolve", "trace",
    "diagonal", "cross", "matrix_transpose",
}


@pytest.mark.parametrize("name,ours,theirs,x", CASES, ids=[c[0] for c in CASES])
def test_values_under_a_transform_are_numpys(name, ours, theirs, x):
    got = primal(lambda a: tuple(ours(a)) if isinstance(theirs(x), tuple) else ours(a), x)
    want = theirs(x)
    want = tuple(want) if isinstance(want, tuple) else want
    if name in EXACT_UNDER_TRACE:
        assert_same(got, want)
    else:
        for g, w in zip(np.atleast_1d(got), np.atleast_1d(want)):
            np.testing.assert_allclose(g, w, rtol=1e-12)


def test_numpy_functions_dispatch_to_fgrad():
    g = fgrad.grad(lambda a: np.linalg.slogdet(a)[1] + np.linalg.norm(np.linalg.inv(a)))(A)
    want = fgrad.grad(lambda a: fnp.linalg.slogdet(a)[1] + fnp.linalg.norm(fnp.linalg.inv(a)))(A)
    np.testing.assert_array_equal(g, want)


# ---------------------------------------------------------------------------
# analytic identities
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cplx", [False, True])
def test_grad_of_log_abs_det_is_inverse_transpose(cplx):
    a = well(np.random.default_rng(0), cplx=cplx)
    g = fgrad.grad(lambda a: fnp.linalg.slogdet(a)[1])(a)
    np.testing.assert_allclose(g, np.linalg.inv(a).T, rtol=1e-12, atol=1e-14)


def test_grad_of_det_is_det_times_inverse_transpose():
    a = well(np.random.default_rng(1), lead=(2,))
    g = fgrad.grad(lambda a: fnp.linalg.det(a).sum())(a)
    want = np.linalg.det(a)[:, None, None] * np.swapaxes(np.linalg.inv(a), -1, -2)
    np.testing.assert_allclose(g, want, rtol=1e-12)


def test_det_at_singular_matrices_gives_the_adjugate():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])  # rank 1: adj = [[4, -2], [-2, 1]]
    np.testing.assert_allclose(fgrad.grad(fnp.linalg.det)(a), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    _, t = fgrad.jvp(fnp.linalg.det, (a,), (np.eye(2),))
    np.testing.assert_allclose(t, 5.0, atol=1e-12)  # tr(adj(A)) = 4 + 1
    z = np.zeros((3, 3))  # rank 0 < n - 1: the adjugate is 0
    np.testing.assert_allclose(fgrad.grad(fnp.linalg.det)(z), np.zeros((3, 3)), atol=1e-12)
    e = np.diag([1.0, 2.0, 0.0])  # rank 2 = n - 1
    np.testing.assert_allclose(fgrad.grad(fnp.linalg.det)(e), np.diag([0.0, 0.0, 2.0]), atol=1e-12)


@pytest.mark.parametrize("cplx", [False, True])
def test_jvp_of_inverse(cplx):
    rng = np.random.default_rng(2)
    a, da = well(rng, cplx=cplx), well(rng, cplx=cplx)
    ai = np.linalg.inv(a)
    out, t = fgrad.jvp(fnp.linalg.inv, (a,), (da,))
    np.testing.assert_allclose(t, -ai @ da @ ai, rtol=1e-10, atol=1e-14)
    (ct,) = fgrad.vjp(fnp.linalg.inv, a)[1](da)
    np.testing.assert_allclose(ct, -ai.T @ da @ ai.T, rtol=1e-10, atol=1e-14)  # no conjugation


def test_solve_derivatives():
    rng = np.random.default_rng(3)
    a, b = well(rng), rng.standard_normal(3)
    da, db = rng.standard_normal((3, 3)), rng.standard_normal(3)
    x = np.linalg.solve(a, b)
    _, t = fgrad.jvp(fnp.linalg.solve, (a, b), (da, db))
    np.testing.assert_allclose(t, np.linalg.solve(a, db - da @ x), rtol=1e-12)
    ga, gb = fgrad.grad(lambda a, b: fnp.linalg.solve(a, b) @ db, argnums=(0, 1))(a, b)
    lam = np.linalg.solve(a.T, db)
    np.testing.assert_allclose(gb, lam, rtol=1e-12)
    np.testing.assert_allclose(ga, -np.outer(lam, x), rtol=1e-12)


def test_solve_broadcasts_stacks_and_sums_cotangents_back():
    rng = np.random.default_rng(4)
    a, b = well(rng), rng.standard_normal((2, 3, 2))
    check_grads(fnp.linalg.solve, (a, b), order=2)
    ga = fgrad.grad(lambda a: fnp.linalg.solve(a, b).sum())(a)
    want = sum(fgrad.grad(lambda a: fnp.linalg.solve(a, bi).sum())(a) for bi in b)
    np.testing.assert_allclose(ga, want, rtol=1e-12)
    check_grads(fnp.linalg.solve, (well(rng, lead=(2,)), rng.standard_normal(3)), order=2)


def phi(x):
    return np.tril(x, -1) + 0.5 * np.diag(np.diag(x))


def test_cholesky_tangent_formula_and_reconstruction():
    rng = np.random.default_rng(5)
    a = spd(rng)
    d = rng.standard_normal((3, 3))
    d = d + d.T
    l = np.linalg.cholesky(a)
    _, dl = fgrad.jvp(fnp.linalg.cholesky, (a,), (d,))
    li = np.linalg.inv(l)
    np.testing.assert_allclose(dl, l @ phi(li @ d @ li.T), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dl @ l.T + l @ dl.T, d, rtol=1e-10, atol=1e-12)
    assert np.allclose(np.triu(dl, 1), 0)


def test_cholesky_reads_only_one_triangle():
    rng = np.random.default_rng(6)
    a = spd(rng)
    g = fgrad.grad(lambda a: fnp.linalg.cholesky(a).sum())(a)
    assert np.all(np.triu(g, 1) == 0)
    gu = fgrad.grad(lambda a: fnp.linalg.cholesky(a, upper=True).sum())(a)
    assert np.all(np.tril(gu, -1) == 0)
    np.testing.assert_allclose(gu, g.T, rtol=1e-12)  # the same function, other triangle
    for f in (fnp.linalg.eigvalsh, lambda a: fnp.linalg.eigh(a)[0]):
        g = fgrad.grad(lambda a: (f(a) * np.arange(1.0, 4.0)).sum())(a)
        assert np.all(np.triu(g, 1) == 0)


def test_log_det_via_cholesky_hessian_vector_product():
    # f(A) = 2 sum log diag chol(A) = log det A;  H[V] = -A^{-1} V^T A^{-1} (transposed form)
    rng = np.random.default_rng(7)
    a = spd(rng)
    v = rng.standard_normal((3, 3))
    v = v + v.T

    def logdet(a):
        return 2.0 * fnp.sum(fnp.log(fnp.linalg.diagonal(fnp.linalg.cholesky(a))))

    ai = np.linalg.inv(a)
    g = fgrad.grad(logdet)(a)
    np.testing.assert_allclose(g, np.tril(2 * ai - np.diag(np.diag(ai))), rtol=1e-10)
    _, hv = fgrad.jvp(fgrad.grad(logdet), (a,), (v,))   # forward over reverse
    full = -ai @ v @ ai
    np.testing.assert_allclose(hv, np.tril(2 * full - np.diag(np.diag(full))), rtol=1e-9, atol=1e-12)
    (hv2,) = fgrad.vjp(fgrad.grad(logdet), a)[1](np.tril(v))  # reverse over reverse
    eps = 1e-6
    fd = (fgrad.grad(logdet)(a + eps * np.tril(v)) - fgrad.grad(logdet)(a - eps * np.tril(v))) / (2 * eps)
    np.testing.assert_allclose(np.sum(hv2 * np.tril(v)), np.sum(fd * np.tril(v)), rtol=1e-6)


def test_hvp_through_solve_matches_analytic():
    # f(A) = b^T A^{-1} b: grad = -A^{-T} b b^T A^{-T}; H[V] = A^{-T} V^T x̄ ... checked via FD
    rng = np.random.default_rng(8)
    a, b, v = well(rng), rng.standard_normal(3), rng.standard_normal((3, 3))

    def f(a):
        return b @ fnp.linalg.solve(a, b)

    x, y = np.linalg.solve(a, b), np.linalg.solve(a.T, b)
    np.testing.assert_allclose(fgrad.grad(f)(a), -np.outer(y, x), rtol=1e-12)
    _, hv = fgrad.jvp(fgrad.grad(f), (a,), (v,))
    dx, dy = -np.linalg.solve(a, v @ x), -np.linalg.solve(a.T, v.T @ y)
    np.testing.assert_allclose(hv, -np.outer(dy, x) - np.outer(y, dx), rtol=1e-10)
    np.testing.assert_allclose(fgrad.hessian(f)(a).reshape(9, 9) @ v.ravel(), hv.ravel(), rtol=1e-9)


def test_eigh_value_derivative_and_vector_gauge():
    rng = np.random.default_rng(9)
    a = distinct_sym(rng)
    d = rng.standard_normal((3, 3))
    d = d + d.T
    w, v = np.linalg.eigh(a)
    (dw, dv) = fgrad.jvp(lambda a: tuple(fnp.linalg.eigh(a)), (a,), (d,))[1]
    np.testing.assert_allclose(dw, np.diag(v.T @ d @ v), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.diag(v.T @ dv), 0, atol=1e-12)  # the gauge
    # A V = V diag(w) differentiated: dA V + A dV = dV diag(w) + V diag(dw)
    np.testing.assert_allclose(d @ v + a @ dv, dv * w + v * dw, atol=1e-10)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("cplx", [False, True])
def test_eigh_gauge_invariant_functions(cplx, uplo):
    rng = np.random.default_rng(10)
    a = distinct_sym(rng, cplx=cplx)
    c = rng.standard_normal((3, 3))

    def f(a):
        w, v = fnp.linalg.eigh(a, UPLO=uplo)
        p = fnp.real(v * fnp.conj(v))          # |v|^2 weights: phase-invariant
        proj = v[:, :1] @ fnp.conj(v[:, :1]).T  # projector on the first eigenvector
        return fnp.sum(p * c) + fnp.sum(w * w) + fnp.real(fnp.sum(proj * c))

    check_grads(f, (a,), order=2, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("m,n", [(3, 3), (4, 2), (2, 4)])
def test_svd_gauge_invariant_functions(cplx, m, n):
    rng = np.random.default_rng(11)
    a = distinct_sv(rng, m, n, cplx)
    cu, cv = rng.standard_normal((m, min(m, n))), rng.standard_normal((min(m, n), n))

    def f(a):
        u, s, vh = fnp.linalg.svd(a, full_matrices=False)
        pu, pv = fnp.real(u * fnp.conj(u)), fnp.real(vh * fnp.conj(vh))
        outer = fnp.real(fnp.sum((u[:, :1] * s[0]) @ vh[:1] * fnp.conj(a)))
        return fnp.sum(pu * cu) + fnp.sum(pv * cv) + fnp.sum(s ** 3) + outer

    check_grads(f, (a,), order=2, atol=1e-6, rtol=1e-6)


def test_svd_reconstruction_tangent_is_the_input_tangent():
    rng = np.random.default_rng(12)
    for m, n in [(3, 3), (5, 3), (3, 5)]:
        a, d = distinct_sv(rng, m, n), rng.standard_normal((m, n))

        def rebuild(a):
            u, s, vh = fnp.linalg.svd(a, full_matrices=False)
            return (u * s) @ vh

        _, t = fgrad.jvp(rebuild, (a,), (d,))
        np.testing.assert_allclose(t, d, atol=1e-10)
        (g,) = fgrad.vjp(rebuild, a)[1](d)
        np.testing.assert_allclose(g, d, atol=1e-10)


@pytest.mark.parametrize("cplx", [False, True])
def test_qr_tangent_structure(cplx):
    rng = np.random.default_rng(13)
    for m, n in [(4, 3), (3, 3), (2, 4)]:
        a = distinct_sv(rng, m, n, cplx)
        d = rng.standard_normal((m, n)) + (1j * rng.standard_normal((m, n)) if cplx else 0)
        (q, r), (dq, dr) = fgrad.jvp(lambda a: tuple(fnp.linalg.qr(a)), (a,), (d,))
        np.testing.assert_allclose(dq @ r + q @ dr, d, atol=1e-10)       # d(QR) = dA
        om = q.conj().T @ dq
        np.testing.assert_allclose(om + om.conj().T, 0, atol=1e-10)      # Q^H dQ anti-Hermitian
        np.testing.assert_allclose(np.tril(dr[:, : min(m, n)], -1), 0, atol=1e-12)
        np.testing.assert_allclose(np.diag(dr).imag, 0, atol=1e-12)      # real diagonal stays real


def test_pinv_of_invertible_and_lstsq_of_full_rank():
    rng = np.random.default_rng(14)
    a = well(rng)
    np.testing.assert_allclose(fgrad.jacfwd(fnp.linalg.pinv)(a), fgrad.jacfwd(fnp.linalg.inv)(a),
                               rtol=1e-8, atol=1e-10)
    t = distinct_sv(rng, 5, 3)
    b = rng.standard_normal((5, 2))

    def via_normal_equations(t, b):
        return fnp.linalg.solve(t.T @ t, t.T @ b)

    for argnum in (0, 1):
        got = fgrad.jacrev(lambda t, b: fnp.linalg.lstsq(t, b)[0], argnums=argnum)(t, b)
        want = fgrad.jacrev(via_normal_equations, argnums=argnum)(t, b)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cplx", [False, True])
def test_lstsq_all_outputs(cplx):
    rng = np.random.default_rng(15)
    a = distinct_sv(rng, 5, 3, cplx)
    b = rng.standard_normal(5) + (1j * rng.standard_normal(5) if cplx else 0)
    x, res, rank, s = fnp.linalg.lstsq(a, b)
    wx, wres, wrank, ws = np.linalg.lstsq(a, b)
    _, tres, trank, ts = fgrad.jvp(lambda a: fnp.linalg.lstsq(a, b), (a,), (a,))[0]
    np.testing.assert_allclose(tres, wres, rtol=1e-10)
    np.testing.assert_allclose(ts, ws, rtol=1e-12)
    assert trank == wrank == 3 and tres.shape == wres.shape == (1,)

    def f(a, b):
        x, res, _, s = fnp.linalg.lstsq(a, b)
        return fnp.real(fnp.sum(x * x)) + res[0] + fnp.sum(s)

    check_grads(f, (a, b), order=2, atol=1e-6, rtol=1e-6)
    wide = distinct_sv(rng, 2, 3, cplx)
    _, res_w, rank_w, _ = fgrad.jvp(lambda a: fnp.linalg.lstsq(a, b[:2]), (wide,), (wide,))[0]
    assert res_w.shape == (0,) and rank_w == 2


def test_eigvals_of_symmetric_agree_with_eigvalsh():
    rng = np.random.default_rng(16)
    a = distinct_sym(rng)
    d = rng.standard_normal((3, 3))
    d = np.tril(d) + np.tril(d, -1).T
    w1, t1 = fgrad.jvp(lambda a: fnp.sort(fnp.real(fnp.linalg.eigvals(a))), (a,), (d,))
    w2, t2 = fgrad.jvp(fnp.linalg.eigvalsh, (a,), (d,))
    np.testing.assert_allclose(w1, w2, rtol=1e-10)
    np.testing.assert_allclose(t1, t2, rtol=1e-8, atol=1e-10)


def test_eig_reconstruction_and_gauge():
    rng = np.random.default_rng(17)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    d = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    (w, v), (dw, dv) = fgrad.jvp(lambda a: tuple(fnp.linalg.eig(a)), (a,), (d,))
    np.testing.assert_allclose(d @ v + a @ dv, dv * w + v * dw, atol=1e-9)
    np.testing.assert_allclose(np.real(np.sum(v.conj() * dv, axis=0)), 0, atol=1e-12)  # unit norm
    k = np.argmax(np.abs(v), axis=0)
    np.testing.assert_allclose(dv[k, np.arange(3)].imag, 0, atol=1e-12)  # largest stays real


# ---------------------------------------------------------------------------
# norms
# ---------------------------------------------------------------------------

NORMS = [
    ((4,), dict()), ((4,), dict(ord=1)), ((4,), dict(ord=np.inf)), ((4,), dict(ord=-np.inf)),
    ((4,), dict(ord=3)), ((4,), dict(ord=1.5)), ((2, 3), dict(axis=1, ord=2, keepdims=True)),
    ((2, 3), dict()), ((2, 3), dict(ord="fro")), ((2, 3), dict(ord="nuc")), ((2, 3), dict(ord=1)),
    ((2, 3), dict(ord=-1)), ((2, 3), dict(ord=np.inf)), ((2, 3), dict(ord=-np.inf)),
    ((2, 3), dict(ord=2)), ((2, 3), dict(ord=-2)), ((2, 3, 2), dict(ord="nuc", axis=(0, 2))),
    ((2, 2, 3), dict(ord=1, axis=(-1, -3), keepdims=True)), ((2, 3, 2), dict()),
]


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("shape,kw", NORMS, ids=[str(kw) + str(s) for s, kw in NORMS])
def test_norm_every_order(shape, kw, cplx):
    rng = np.random.default_rng(18)
    x = rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if cplx:
        x = x + 1j * rng.uniform(-1, 1, shape)
    assert_same(primal(lambda x: fnp.linalg.norm(x, **kw), x), np.linalg.norm(x, **kw))
    check_grads(lambda x: fnp.linalg.norm(x, **kw), (x,), order=2, atol=1e-6, rtol=1e-6)


def test_norm_gradients_analytic():
    x = np.array([3.0, -4.0, 1.0])
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, 1))(x), np.sign(x))
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, np.inf))(x), [0, -1, 0])
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, -np.inf))(x), [0, 0, 1])
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, 0))(x), 0)
    p = 3.0
    n = np.sum(np.abs(x) ** p) ** (1 / p)
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, p))(x),
                               np.sign(x) * np.abs(x) ** (p - 1) / n ** (p - 1), rtol=1e-12)
    ties = np.array([2.0, -2.0, 1.0])
    np.testing.assert_allclose(fgrad.grad(lambda x: fnp.linalg.norm(x, np.inf))(ties), [0.5, -0.5, 0])
    m = np.diag([3.0, -1.0])
    np.testing.assert_allclose(fgrad.grad(lambda m: fnp.linalg.norm(m, 2))(m), np.diag([1.0, 0.0]))
    np.testing.assert_allclose(fgrad.grad(lambda m: fnp.linalg.norm(m, "nuc"))(m), np.diag([1.0, -1.0]))
    # complex: JAX's convention, grad |z| = conj(z) / |z|
    z = np.array([3.0 + 4.0j])
    np.testing.assert_allclose(fgrad.grad(fnp.linalg.norm)(z), np.conj(z) / 5.0)


@pytest.mark.parametrize("ord,shape", [(None, (3,)), (2, (3,)), (1, (3,)), (np.inf, (3,)),
                                       (3, (3,)), ("fro", (2, 2)), ("nuc", (2, 2)), (2, (2, 2)),
                                       (-2, (2, 2)), (1, (2, 2)), (np.inf, (2, 2)), (None, ())])
def test_norm_at_zero_is_the_zero_subgradient(ord, shape):
    x = np.zeros(shape)
    g = fgrad.grad(lambda x: fnp.linalg.norm(x, ord))(x)
    assert np.all(np.isfinite(g)) and np.all(g == 0)
    _, t = fgrad.jvp(lambda x: fnp.linalg.norm(x, ord), (x,), (np.ones(shape),))
    assert t == 0


# ---------------------------------------------------------------------------
# composites
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [-2, 0, 1, 2, 3, 6])
def test_matrix_power(n):
    rng = np.random.default_rng(19)
    a = well(rng) / 6.0
    check_grads(lambda a: fnp.linalg.matrix_power(a, n), (a,), order=2)
    want = np.linalg.matrix_power(a, n)
    assert_same(primal(lambda a: fnp.linalg.matrix_power(a, n), a), want)
    if n >= 1:
        g = fgrad.grad(lambda a: fnp.trace(fnp.linalg.matrix_power(a, n)))(a)
        np.testing.assert_allclose(g, n * np.linalg.matrix_power(a, n - 1).T, rtol=1e-10)


def test_multi_dot_orders_and_vectors():
    rng = np.random.default_rng(20)
    shapes = [(4,), (4, 6), (6, 2), (2, 5), (5,)]
    arrays = [rng.standard_normal(s) for s in shapes]

    def chain(*xs):
        return fnp.linalg.multi_dot(list(xs))

    def naive(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = fnp.dot(out, x)
        return out

    np.testing.assert_allclose(primal(chain, *arrays), np.linalg.multi_dot(arrays), rtol=1e-12)
    for i in range(len(arrays)):
        np.testing.assert_allclose(fgrad.grad(chain, argnums=i)(*arrays),
                                   fgrad.grad(naive, argnums=i)(*arrays), rtol=1e-10)
    three = [rng.standard_normal(s) for s in [(2, 5), (5, 3), (3, 4)]]
    check_grads(chain, tuple(three), order=2)
    np.testing.assert_allclose(primal(chain, *three), np.linalg.multi_dot(three), rtol=1e-12)


def test_tensorsolve_tensorinv_cond_and_helpers():
    rng = np.random.default_rng(21)
    a = well(rng, n=4).reshape(2, 2, 2, 2)
    b = rng.standard_normal((2, 2))
    check_grads(fnp.linalg.tensorsolve, (a, b), order=2)
    check_grads(lambda a: fnp.linalg.tensorsolve(a, b, axes=(0,)), (a,), order=1)
    check_grads(lambda a: fnp.linalg.tensorinv(a, ind=2), (a,), order=2)
    m = well(rng)
    for p in (None, 2, -2, "fro", 1, np.inf):
        np.testing.assert_allclose(primal(lambda m: fnp.linalg.cond(m, p), m), np.linalg.cond(m, p),
                                   rtol=1e-12)
        check_grads(lambda m: fnp.linalg.cond(m, p), (m,), order=1, atol=1e-6, rtol=1e-6)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) + 1j
    check_grads(lambda x, y: fnp.linalg.vecdot(x, y), (x + 0.5j, y), order=2)
    np.testing.assert_allclose(primal(lambda y: fnp.linalg.vecdot(x, y), y), np.linalg.vecdot(x, y))
    check_grads(lambda x, y: fnp.linalg.cross(x, y), (x, y.real), order=2)
    check_grads(lambda x: fnp.linalg.trace(x, offset=-1), (x,), order=1)
    check_grads(lambda x: fnp.linalg.outer(x[0], x[1]), (x,), order=1)
    assert int(fnp.linalg.matrix_rank(primal(lambda m: m, m))) == 3


# ---------------------------------------------------------------------------
# stacks, vmap, dtypes, errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "svd", "qr", "pinv",
                                  "eigvalsh", "norm"])
def test_stacks_match_a_loop(name):
    rng = np.random.default_rng(22)
    x = spd(rng, lead=(2, 2)) + 0.1 * rng.standard_normal((2, 2, 3, 3))
    x = x + np.swapaxes(x, -1, -2)
    c = rng.standard_normal((3, 3))

    def f(a):
        out = getattr(fnp.linalg, name)(a) if name != "norm" else fnp.linalg.norm(a, "nuc", (-2, -1))
        if name in ("eigh", "svd", "qr"):  # gauge-invariant, one number per matrix
            total = 0.0
            for p in out:
                core = p.shape[a.ndim - 2:]
                w = c[: core[0], : core[1]] if len(core) == 2 else c[0, : core[0]]
                total = total + fnp.sum(fnp.abs(p) ** 2 * w, axis=tuple(range(-len(core), 0)))
            return total
        if name == "slogdet":
            return out[1]
        return out

    batched = fgrad.vjp(lambda a: f(a), x)
    gb = batched[1](np.ones_like(batched[0]))[0]
    for i in range(2):
        for j in range(2):
            out, fv = fgrad.vjp(f, x[i, j])
            np.testing.assert_allclose(batched[0][i, j], out, rtol=1e-12)
            np.testing.assert_allclose(gb[i, j], fv(np.ones_like(out))[0], rtol=1e-9, atol=1e-11)


def test_vmap_of_grad_of_logdet_and_solve():
    from fgrad.batching import vmap

    rng = np.random.default_rng(23)
    xs = spd(rng, lead=(4,))
    b = rng.standard_normal(3)

    def f(a):
        return fnp.linalg.slogdet(a)[1] + b @ fnp.linalg.solve(a, b)

    got = vmap(fgrad.grad(f))(xs)
    want = np.stack([fgrad.grad(f)(x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_float32_in_float32_out():
    a = spd(np.random.default_rng(24)).astype(np.float32)
    for f in (fnp.linalg.inv, fnp.linalg.cholesky, lambda a: fnp.linalg.eigh(a)[0],
              lambda a: fnp.linalg.svd(a)[1], fnp.linalg.det, fnp.linalg.norm):
        g = fgrad.grad(lambda a: fnp.sum(f(a)))(a)
        assert g.dtype == np.float32


def test_undefined_derivatives_raise_clearly():
    r = np.ones((3, 2)) + np.eye(3, 2)
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fgrad.grad(lambda a: fnp.linalg.svd(a)[1].sum())(r)
    with pytest.raises(NotImplementedError, match="mode='reduced'"):
        fgrad.grad(lambda a: fnp.linalg.qr(a, "complete")[1].sum())(r)
    with pytest.raises(NotImplementedError, match="raw"):
        fgrad.grad(lambda a: fnp.linalg.qr(a, "raw")[1].sum())(r)
    # full_matrices=True of a square matrix is fine; so is the default on singular values
    np.testing.assert_allclose(fgrad.grad(lambda a: fnp.linalg.svd(a)[1].sum())(np.eye(2)), np.eye(2))
    np.testing.assert_allclose(fgrad.grad(lambda a: fnp.linalg.svd(a, compute_uv=False).sum())(r),
                               np.linalg.svd(r, full_matrices=False)[0] @ np.linalg.svd(r, full_matrices=False)[2],
                               rtol=1e-12)
    with pytest.raises(np.linalg.LinAlgError):
        fgrad.grad(lambda a: fnp.linalg.inv(a).sum())(np.ones((2, 3)))


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 4), cplx=st.booleans())
def test_solve_inv_det_random_sizes(seed, n, cplx):
    rng = np.random.default_rng(seed)
    a, b = well(rng, n=n, cplx=cplx), rng.standard_normal((n, 2))
    check_grads(lambda a, b: fnp.linalg.solve(a, b) + fnp.linalg.inv(a) @ b, (a, b), order=2)
    check_grads(lambda a: fnp.linalg.det(a) * fnp.linalg.slogdet(a)[1], (a,), order=1)


def test_lstsq_under_vmap_same_rank_and_different_ranks():
    rng = np.random.default_rng(12)
    A, b = rng.standard_normal((4, 5, 3)), rng.standard_normal(5)
    out = fgrad.vmap(lambda a: fnp.linalg.lstsq(a, b))(A)
    for k, want in enumerate(zip(*[np.linalg.lstsq(a, b) for a in A])):
        if k == 2:  # the rank: the same in every example
            assert np.all(np.asarray(out[k]) == 3) and set(want) == {3}
        else:
            np.testing.assert_allclose(out[k], np.stack(want), rtol=1e-10, atol=1e-12)
    g = fgrad.vmap(fgrad.grad(lambda a: fnp.sum(fnp.linalg.lstsq(a, b)[0] ** 2)))(A)
    loop = [fgrad.grad(lambda a: fnp.sum(fnp.linalg.lstsq(a, b)[0] ** 2))(a) for a in A]
    np.testing.assert_allclose(g, np.stack(loop), rtol=1e-10)
    A[1][:, 2] = A[1][:, 1]  # rank 2 in one example only
    with pytest.raises(fgrad.batching.BatchedValueError, match="different ranks"):
        fgrad.vmap(lambda a: fnp.linalg.lstsq(a, b)[0])(A)

def test_eig_of_an_empty_stack_differentiates():
    # numpy's eig takes a stack of no matrices; the packed row once failed to reshape it
    a = np.zeros((0, 2, 2))
    w, v = np.linalg.eig(a)
    got = fgrad.grad(lambda a: fnp.sum(fnp.linalg.eigvals(a).real))(a)
    assert got.shape == a.shape
    wv = fgrad.vmap(lambda a: fnp.linalg.eig(a)[0], in_axes=0)(np.zeros((0, 2, 2)))
    assert np.shape(wv) == w.shape
    assert fnp.linalg.eig(a)[1].shape == v.shape
    # and its forward mode, and a second derivative (the packing's traced counterpart)
    _, t = fgrad.jvp(lambda a: fnp.linalg.eigvals(a), (a,), (a,))
    assert t.shape == w.shape
    h = fgrad.hvp(lambda a: fnp.sum(fnp.linalg.eigvals(a).real ** 2), (a,), (a,))
    assert h.shape == a.shape
