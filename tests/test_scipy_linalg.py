"""fgrad.scipy.linalg: eigh, qr, svd, polar, toeplitz, the LU family, Sylvester and
Lyapunov equations and sqrtm, against scipy, closed forms and finite differences."""

import numpy as np
import pytest
import scipy.linalg as sl

import fgrad
import fgrad.numpy as fnp
from fgrad.scipy import linalg as fl


def traced(f, *args):
    """f's value computed on tracers (the traced path, not scipy's)."""
    return fgrad.vjp(f, *args)[0]


def rng_(seed=0):
    return np.random.default_rng(seed)


def spd(rng, n=3):
    b = rng.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


def sym(rng, n=3):
    b = rng.standard_normal((n, n))
    return b + b.T


def close(a, b, rtol=1e-10, atol=1e-12):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


# --- eigh ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lower", [True, False])
def test_eigh_values_match_scipy(lower):
    rng = rng_(1)
    a, b = sym(rng), spd(rng)
    a_noisy = a + np.triu(rng.standard_normal((3, 3)), 1) * (1 if lower else 0) \
        + np.tril(rng.standard_normal((3, 3)), -1) * (0 if lower else 1)
    for args in [(a_noisy,), (a_noisy, b)]:
        got = traced(lambda *xs: fl.eigh(*xs, lower=lower), *args)
        close(got, sl.eigh(*args, lower=lower))
    close(traced(lambda x: fl.eigh(x, subset_by_index=[1, 2]), a), sl.eigh(a, subset_by_index=[1, 2]))


def test_eigh_gradient_closed_form_and_numerics():
    rng = rng_(2)
    a, b = sym(rng), spd(rng)
    w, v = sl.eigh(a)
    g = fgrad.grad(lambda x: fl.eigh(x, eigvals_only=True)[2])(a)
    # d w = v^T dA v, with dA read from the lower triangle only
    full = np.outer(v[:, 2], v[:, 2])
    np.testing.assert_allclose(g, np.tril(2 * full, -1) + np.diag(np.diag(full)), atol=1e-10)
    fgrad.check_grads(lambda x: fl.eigh(x), (a,), order=2)
    fgrad.check_grads(lambda x, y: fl.eigh(x, y), (a, b), order=2)


def test_eigh_generalised_identity_derivative():
    rng = rng_(3)
    a, b = sym(rng), spd(rng)
    ta, tb = sym(rng), sym(rng)

    def residual(x, y):
        w, v = fl.eigh(x, y)
        return fnp.matmul(x, v) - fnp.matmul(y, v) * w

    out, dout = fgrad.jvp(residual, (a, b), (ta, tb))  # symmetric tangents
    np.testing.assert_allclose(out, 0, atol=1e-10)
    np.testing.assert_allclose(dout, 0, atol=1e-9)


def test_eigh_refuses_unsupported_options():
    a = sym(rng_(4))
    with pytest.raises(NotImplementedError, match="type=2"):
        fgrad.grad(lambda x: fl.eigh(x, spd(rng_(4)), type=2)[0].sum())(a)
    with pytest.raises(NotImplementedError, match="subset_by_value"):
        fgrad.grad(lambda x: fl.eigh(x, subset_by_value=(0, 1))[0].sum())(a)


# --- qr, svd, polar --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 4)])
@pytest.mark.parametrize("mode", ["full", "economic", "r"])
def test_qr_matches_scipy_and_differentiates(shape, mode):
    a = rng_(5).standard_normal(shape)
    if mode == "full" and shape[0] > shape[1]:
        with pytest.raises(NotImplementedError, match="not unique"):
            fgrad.grad(lambda x: fl.qr(x, mode=mode)[0].sum())(a)
        return
    close(traced(lambda x: fl.qr(x, mode=mode), a), sl.qr(a, mode=mode))
    fgrad.check_grads(lambda x: fl.qr(x, mode=mode), (a,), order=2)


def test_qr_pivoting():
    a = rng_(6).standard_normal((4, 3))
    q, r, p = traced(lambda x: fl.qr(x, mode="economic", pivoting=True), a)
    rq, rr, rp = sl.qr(a, mode="economic", pivoting=True)
    close((q, r), (rq, rr))
    np.testing.assert_array_equal(p, rp)
    fgrad.check_grads(lambda x: fl.qr(x, mode="economic", pivoting=True)[:2], (a,), order=2)


@pytest.mark.parametrize("shape,full", [((3, 3), True), ((4, 3), False), ((2, 3), False)])
def test_svd_matches_scipy_and_differentiates(shape, full):
    a = rng_(7).standard_normal(shape)
    close(traced(lambda x: fl.svd(x, full_matrices=full), a), sl.svd(a, full_matrices=full))
    close(traced(lambda x: fl.svd(x, compute_uv=False), a), sl.svd(a, compute_uv=False))
    fgrad.check_grads(lambda x: fl.svd(x, full_matrices=full), (a,), order=2)
    # d s_k = u_k^T dA v_k
    u, s, vh = sl.svd(a, full_matrices=False)
    g = fgrad.grad(lambda x: fl.svd(x, compute_uv=False)[0])(a)
    np.testing.assert_allclose(g, np.outer(u[:, 0], vh[0]), atol=1e-10)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2)])
def test_polar(side, shape):
    a = rng_(8).standard_normal(shape)
    if shape[0] < shape[1] or (side == "left" and shape[0] != shape[1]):
        a = a if side == "right" else rng_(8).standard_normal((3, 3))
    close(traced(lambda x: fl.polar(x, side=side), a), sl.polar(a, side=side), rtol=1e-9)
    fgrad.check_grads(lambda x: fl.polar(x, side=side), (a,), order=2)


# --- toeplitz --------------------------------------------------------------------------------


def test_toeplitz():
    rng = rng_(9)
    c, r = rng.standard_normal(3), rng.standard_normal(4)
    close(traced(fl.toeplitz, c, r), sl.toeplitz(c, r))
    close(traced(fl.toeplitz, c), sl.toeplitz(c))
    cz = c + 1j * rng.standard_normal(3)
    close(traced(fl.toeplitz, cz), sl.toeplitz(cz))
    close(traced(fl.toeplitz, np.stack([c, 2 * c])), sl.toeplitz(np.stack([c, 2 * c])))
    fgrad.check_grads(fl.toeplitz, (c, r), order=2)
    fgrad.check_grads(fl.toeplitz, (cz,), order=2)
    # each entry of c (after the first of r) counts once per diagonal it fills
    np.testing.assert_allclose(fgrad.grad(lambda c, r: fl.toeplitz(c, r).sum(), argnums=(0, 1))(c, r)[1],
                               [0.0, 3.0, 2.0, 1.0])


def test_toeplitz_vmap_matches_loop():
    rng = rng_(10)
    cs, r = rng.standard_normal((5, 3)), rng.standard_normal(3)
    got = fgrad.vmap(lambda c: fl.toeplitz(c, r))(cs)
    np.testing.assert_allclose(got, np.stack([sl.toeplitz(c, r) for c in cs]))


# --- LU ----------------------------------------------------------------------------------------


def test_lu_family_values():
    rng = rng_(11)
    a = rng.standard_normal((4, 4))
    close(traced(fl.lu, a), sl.lu(a))
    close(traced(lambda x: fl.lu(x, permute_l=True), a), sl.lu(a, permute_l=True))
    pi, low, up = traced(lambda x: fl.lu(x, p_indices=True), a)
    rpi, rlow, rup = sl.lu(a, p_indices=True)
    np.testing.assert_array_equal(pi, rpi)
    close((low, up), (rlow, rup))
    lu_, piv = traced(fl.lu_factor, a)
    rlu, rpiv = sl.lu_factor(a)
    close(lu_, rlu)
    np.testing.assert_array_equal(piv, rpiv)
    b = rng.standard_normal((4, 2))
    for trans in (0, 1, 2):
        close(traced(lambda x, y: fl.lu_solve(fl.lu_factor(x), y, trans=trans), a, b),
              sl.lu_solve(sl.lu_factor(a), b, trans=trans), rtol=1e-9)


def test_lu_identity_and_its_derivative():
    rng = rng_(12)
    a, t = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))

    def rebuilt(x):
        p, low, up = fl.lu(x)
        return fnp.matmul(p.T, x) - fnp.matmul(low, up)  # L U = P^T A

    out, dout = fgrad.jvp(rebuilt, (a,), (t,))
    np.testing.assert_allclose(out, 0, atol=1e-12)
    np.testing.assert_allclose(dout, 0, atol=1e-10)
    # the factors keep their shape: dL strictly lower, dU upper
    _, (_, dl, du) = fgrad.jvp(fl.lu, (a,), (t,))
    np.testing.assert_allclose(np.triu(dl), 0, atol=1e-12)
    np.testing.assert_allclose(np.tril(du, -1), 0, atol=1e-12)


def test_lu_gradients():
    rng = rng_(13)
    a = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    az = a + 1j * rng.standard_normal((3, 3))
    b = rng.standard_normal(3)
    fgrad.check_grads(lambda x: fl.lu(x)[1:], (a,), order=2)
    fgrad.check_grads(lambda x: fl.lu(x)[1:], (az,), order=2)
    fgrad.check_grads(lambda x: fl.lu_factor(x)[0], (a,), order=2)
    for trans in (0, 1):
        fgrad.check_grads(lambda x, y: fl.lu_solve(fl.lu_factor(x), y, trans=trans), (a, b),
                          order=2)
    # lu_solve agrees with solve, derivative included
    ga = fgrad.grad(lambda x: fl.lu_solve(fl.lu_factor(x), b).sum())(a)
    gs = fgrad.grad(lambda x: fnp.linalg.solve(x, b).sum())(a)
    np.testing.assert_allclose(ga, gs, rtol=1e-10)


def test_lu_refuses_rectangular():
    with pytest.raises(NotImplementedError, match="square"):
        fgrad.grad(lambda x: fl.lu(x)[1].sum())(np.ones((3, 2)))


# --- Sylvester, Lyapunov, sqrtm ------------------------------------------------------------------


def sylvester_case(rng):
    a = rng.uniform(-0.5, 0.5, (3, 3)) + 2 * np.eye(3)
    b = rng.uniform(-0.5, 0.5, (2, 2)) + np.eye(2)
    return a, b, rng.standard_normal((3, 2))


def test_solve_sylvester():
    rng = rng_(14)
    a, b, q = sylvester_case(rng)
    x = traced(fl.solve_sylvester, a, b, q)
    close(x, sl.solve_sylvester(a, b, q))
    ta, tb, tq = (rng.standard_normal(v.shape) for v in (a, b, q))
    _, dres = fgrad.jvp(lambda a, b, q: (lambda x: a @ x + x @ b - q)(fl.solve_sylvester(a, b, q)),
                        (a, b, q), (ta, tb, tq))
    np.testing.assert_allclose(dres, 0, atol=1e-10)  # A X + X B = Q holds along any path
    fgrad.check_grads(fl.solve_sylvester, (a, b, q), order=2)
    az = a + 0.3j * rng.standard_normal(a.shape)
    fgrad.check_grads(fl.solve_sylvester, (az, b, q + 0j), order=2)


def test_solve_sylvester_vmap_matches_loop():
    rng = rng_(15)
    a, b, _ = sylvester_case(rng)
    qs = rng.standard_normal((4, 3, 2))
    got = fgrad.vmap(lambda q: fl.solve_sylvester(a, b, q))(qs)
    np.testing.assert_allclose(got, np.stack([sl.solve_sylvester(a, b, q) for q in qs]),
                               rtol=1e-10)
    gv = fgrad.vmap(fgrad.grad(lambda q: fl.solve_sylvester(a, b, q)[0, 1]))(qs)
    gl = np.stack([fgrad.grad(lambda q: fl.solve_sylvester(a, b, q)[0, 1])(q) for q in qs])
    np.testing.assert_allclose(gv, gl, rtol=1e-10)


def test_solve_continuous_lyapunov():
    rng = rng_(16)
    a = rng.uniform(-0.5, 0.5, (3, 3)) - 2 * np.eye(3)
    q = spd(rng)
    close(traced(fl.solve_continuous_lyapunov, a, q), sl.solve_continuous_lyapunov(a, q))
    fgrad.check_grads(fl.solve_continuous_lyapunov, (a, q), order=2)
    az = a + 0.2j * rng.standard_normal((3, 3))
    close(traced(fl.solve_continuous_lyapunov, az, q + 0j),
          sl.solve_continuous_lyapunov(az, q + 0j))


def test_sqrtm():
    rng = rng_(17)
    a = spd(rng) + 0.3 * rng.standard_normal((3, 3))  # not symmetric, eigenvalues right of 0
    close(traced(fl.sqrtm, a), sl.sqrtm(a), rtol=1e-9)  # scipy's Schur recurrence vs the same
    t = rng.standard_normal((3, 3))
    out, dsq = fgrad.jvp(lambda x: (lambda s: s @ s)(fl.sqrtm(x)), (a,), (t,))
    np.testing.assert_allclose(out, a, rtol=1e-10)
    np.testing.assert_allclose(dsq, t, atol=1e-9)  # d (sqrtm(A)^2) = dA
    fgrad.check_grads(fl.sqrtm, (a,), order=2)
    # scalar case: d sqrt(s) / ds = 1 / (2 sqrt(s))
    assert np.isclose(fgrad.grad(lambda s: fl.sqrtm(s * fnp.eye(2))[1, 1])(2.25), 1 / 3)
    with pytest.raises(NotImplementedError, match="blocksize"):
        fgrad.grad(lambda x: fl.sqrtm(x, blocksize=8).sum())(a)


def test_plain_inputs_return_scipys_objects():
    a = spd(rng_(18))
    for name, args in [("eigh", (a,)), ("qr", (a,)), ("svd", (a,)), ("polar", (a,)),
                       ("lu", (a,)), ("lu_factor", (a,)), ("sqrtm", (a,)),
                       ("toeplitz", (a[0],)), ("solve_sylvester", (a, a, a)),
                       ("solve_continuous_lyapunov", (a, a))]:
        got, want = getattr(fl, name)(*args), getattr(sl, name)(*args)
        for x, y in zip(got if isinstance(got, tuple) else (got,),
                        want if isinstance(want, tuple) else (want,)):
            np.testing.assert_array_equal(x, y)


def test_solve_sylvester_mixed_complex_real_is_correct():
    # scipy alone gets this case wrong (complex a, real b with complex eigenvalues)
    rng = rng_(14)
    a = rng.uniform(-0.5, 0.5, (3, 3)) + 2 * np.eye(3) + 0.3j * rng.standard_normal((3, 3))
    b = np.array([[1.0, 0.5], [-0.5, 1.0]])
    q = rng.standard_normal((3, 2))
    for x in (fl.solve_sylvester(a, b, q), traced(fl.solve_sylvester, a, b, q)):
        np.testing.assert_allclose(a @ x + x @ b, q, atol=1e-12)
