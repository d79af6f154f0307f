"""multivariate_normal (issue 11): allow_singular=True (pseudo-inverse and pseudo-determinant,
scipy's eigenvalue cutoff, -inf off the support), entropy, and cdf."""

from __future__ import annotations

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

ss = pytest.importorskip("scipy.stats")
from fgrad.primitives.special import mvn_cdf_takes_rng  # noqa: E402
from fgrad.scipy.stats import multivariate_normal as mvn  # noqa: E402

RNG = np.random.default_rng(31)
DIM = 4


def traced(f, *args):
    """f's value computed on tracers (fgrad's path, not scipy's)."""
    return fgrad.vjp(f, *args)[0]


def singular_cov(rank, rng=RNG, dim=DIM):
    b = rng.standard_normal((dim, rank))
    return b @ b.T, b


def along_range(b, c):
    """``B sym(C) B^T``: symmetric, positive semidefinite, with B's range, for any nearby C."""
    sym = fnp.multiply(0.5, fnp.add(c, fnp.swapaxes(c, 0, 1)))
    return fnp.matmul(b, fnp.matmul(sym, b.T))


def lower_reading(gs):
    """The cotangent of cov's entries when only its lower triangle is read, from the
    gradient ``gs`` of the symmetric matrix it stands for."""
    return np.tril(gs + gs.T) - np.diag(np.diag(gs))


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_logpdf_values_on_and_off_the_support(rank):
    cov, b = singular_cov(rank)
    mean = RNG.standard_normal(DIM)
    on = mean + RNG.standard_normal((5, rank)) @ b.T  # in mean + range(cov)
    off = on + RNG.standard_normal((5, DIM))  # generically off it (unless full rank)
    for x in (on, off, on[0]):
        want = ss.multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
        got = traced(lambda x_, m_, c_: mvn.logpdf(x_, m_, c_, True), x, mean, cov)
        np.testing.assert_allclose(got, want, rtol=1e-9)
        got = traced(lambda x_, m_, c_: mvn.pdf(x_, m_, c_, allow_singular=True), x, mean, cov)
        np.testing.assert_allclose(got, np.exp(want), rtol=1e-9)
    if rank < DIM:
        assert np.all(np.isneginf(ss.multivariate_normal.logpdf(off, mean, cov,
                                                                allow_singular=True)))


def test_logpdf_values_for_variance_vectors_with_zeros():
    var = np.array([2.0, 0.0, 0.5])
    x = np.array([[0.3, 0.0, -1.0], [0.3, 0.1, -1.0]])
    want = ss.multivariate_normal.logpdf(x, np.zeros(3), var, allow_singular=True)
    got = traced(lambda x_, v_: mvn.logpdf(x_, None, v_, allow_singular=True), x, var)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isneginf(want[1])


def test_full_rank_cov_is_the_same_with_and_without_allow_singular():
    cov, _ = singular_cov(DIM)
    cov += np.eye(DIM)
    x, mean = RNG.standard_normal((3, DIM)), RNG.standard_normal(DIM)
    f = lambda singular: lambda x_, m_, c_: fnp.sum(mvn.logpdf(x_, m_, c_, singular))  # noqa
    np.testing.assert_allclose(traced(f(True), x, mean, cov), traced(f(False), x, mean, cov),
                               rtol=1e-12)
    g_sing = fgrad.grad(f(True), argnums=(0, 1, 2))(x, mean, cov)
    g_full = fgrad.grad(f(False), argnums=(0, 1, 2))(x, mean, cov)
    for a, b in zip(g_sing, g_full):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    fgrad.check_grads(f(True), (x, mean, cov), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_derivatives_in_x_and_mean_on_the_support(rank):
    cov, b = singular_cov(rank)
    pinv = np.linalg.pinv(cov)
    mean = RNG.standard_normal(DIM)
    x = mean + b @ RNG.standard_normal(rank)
    gx, gm = fgrad.grad(lambda x_, m_: mvn.logpdf(x_, m_, cov, True), argnums=(0, 1))(x, mean)
    np.testing.assert_allclose(gx, -pinv @ (x - mean), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gm, pinv @ (x - mean), rtol=1e-8, atol=1e-10)
    hess = fgrad.jacfwd(fgrad.grad(lambda x_: mvn.logpdf(x_, mean, cov, True)))(x)
    np.testing.assert_allclose(hess, -pinv, rtol=1e-8, atol=1e-10)
    hess = fgrad.jacrev(fgrad.grad(lambda x_: mvn.logpdf(x_, mean, cov, True)))(x)
    np.testing.assert_allclose(hess, -pinv, rtol=1e-8, atol=1e-10)
    # differences along the support, where the function is smooth: x = mean + B z
    fgrad.check_grads(lambda z, m_: mvn.logpdf(fnp.add(m_, fnp.matmul(b, z)), m_, cov, True),
                      (RNG.standard_normal(rank), mean), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_derivative_in_cov_along_covariances_with_the_same_range(rank):
    _, b = singular_cov(rank)
    m = RNG.standard_normal((rank, rank))
    c = m @ m.T + np.eye(rank)  # cov = B C B^T: the range stays that of B
    mean = RNG.standard_normal(DIM)
    x = mean[:, None] + b @ RNG.standard_normal((rank, 3))  # three points, as columns
    f = lambda c_: mvn.logpdf(fnp.swapaxes(x, 0, 1), mean, along_range(b, c_), True)  # noqa
    np.testing.assert_allclose(
        traced(f, c), ss.multivariate_normal.logpdf(x.T, mean, b @ c @ b.T, allow_singular=True),
        rtol=1e-9)
    fgrad.check_grads(f, (c,), order=2, modes=("fwd", "rev"), rtol=1e-4)
    # the gradient in cov itself: P G P with G = (pinv d d^T pinv - pinv) / 2, lower triangle
    cov = b @ c @ b.T
    pinv = np.linalg.pinv(cov)
    d = x[:, 0] - mean
    gs = 0.5 * (pinv @ np.outer(d, d) @ pinv - pinv)
    got = fgrad.grad(lambda c_: mvn.logpdf(x[:, 0], mean, c_, True))(cov)
    np.testing.assert_allclose(got, lower_reading(gs), rtol=1e-7, atol=1e-9)


def test_vmap_matches_a_loop():
    covs = np.stack([singular_cov(r)[0] for r in (1, 2, 3, 4)])  # ranks differ per example
    bs = [singular_cov(r, np.random.default_rng(r))[1] for r in (1, 2, 3, 4)]
    mean = RNG.standard_normal(DIM)
    xs = np.stack([mean + np.linalg.svd(c)[0][:, 0] for c in covs])  # on each support
    f = lambda x_, c_: mvn.logpdf(x_, mean, c_, True)  # noqa: E731
    got = fgrad.vmap(f)(xs, covs)
    want = [ss.multivariate_normal.logpdf(x, mean, c, allow_singular=True)
            for x, c in zip(xs, covs)]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    gv = fgrad.vmap(fgrad.grad(f, argnums=(0, 1)))(xs, covs)
    gl = [fgrad.grad(f, argnums=(0, 1))(x, c) for x, c in zip(xs, covs)]
    for k in range(2):
        np.testing.assert_allclose(gv[k], np.stack([g[k] for g in gl]), rtol=1e-9, atol=1e-11)
    # batched points, one covariance
    cov, b = singular_cov(2)
    pts = mean + RNG.standard_normal((6, 2)) @ b.T
    np.testing.assert_allclose(fgrad.vmap(lambda x_: f(x_, cov))(pts),
                               ss.multivariate_normal.logpdf(pts, mean, cov, allow_singular=True),
                               rtol=1e-9)
    del bs


def test_bad_covariances():
    x = np.zeros(2)
    with pytest.raises(ValueError, match="positive semidefinite"):
        fgrad.grad(lambda x_: mvn.logpdf(x_, None, np.diag([1.0, -1.0]), True))(x)
    with pytest.raises(np.linalg.LinAlgError):  # singular without allow_singular, as scipy
        fgrad.grad(lambda x_: mvn.logpdf(x_, None, np.ones((2, 2))))(x)


# --- entropy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rank", [1, 3, 4])
def test_entropy_values_and_derivatives(rank):
    cov, b = singular_cov(rank)
    if rank == DIM:
        cov += np.eye(DIM)
    np.testing.assert_allclose(traced(lambda c: mvn.entropy(None, c), cov),
                               ss.multivariate_normal.entropy(None, cov), rtol=1e-12)
    g = fgrad.grad(lambda c: mvn.entropy(cov=c))(cov)
    np.testing.assert_allclose(g, lower_reading(0.5 * np.linalg.pinv(cov)), rtol=1e-8,
                               atol=1e-10)
    if rank == DIM:
        fgrad.check_grads(lambda c: mvn.entropy(None, c), (cov,), order=2, modes=("fwd", "rev"))
    else:  # along covariances of the same range
        m = RNG.standard_normal((rank, rank))
        fgrad.check_grads(lambda c: mvn.entropy(None, along_range(b, c)),
                          (m @ m.T + np.eye(rank),), order=2, modes=("fwd", "rev"))


def test_entropy_of_variances_and_under_vmap():
    var = np.array([2.0, 0.5, 3.0])
    np.testing.assert_allclose(traced(lambda v: mvn.entropy(None, v), var),
                               ss.multivariate_normal.entropy(np.zeros(3), var), rtol=1e-13)
    np.testing.assert_allclose(fgrad.grad(lambda v: mvn.entropy(None, v))(var), 0.5 / var)
    np.testing.assert_allclose(traced(lambda v: mvn.entropy(np.zeros(3), v), 2.0),
                               ss.multivariate_normal.entropy(np.zeros(3), 2.0), rtol=1e-13)
    covs = np.stack([singular_cov(r)[0] for r in (1, 2, 4)])
    got = fgrad.vmap(lambda c: mvn.entropy(None, c))(covs)
    np.testing.assert_allclose(got, [ss.multivariate_normal.entropy(None, c) for c in covs],
                               rtol=1e-10)
    gv = fgrad.vmap(fgrad.grad(lambda c: mvn.entropy(None, c)))(covs)
    np.testing.assert_allclose(gv, [fgrad.grad(lambda c: mvn.entropy(None, c))(c) for c in covs],
                               rtol=1e-10, atol=1e-12)


# --- cdf --------------------------------------------------------------------------------------


def _pd(dim, rng):
    m = rng.uniform(-0.5, 0.5, (dim, dim))
    return m @ m.T + np.eye(dim)


def _phi(t, var):
    return np.exp(-0.5 * t * t / var) / np.sqrt(2 * np.pi * var)


def test_cdf_in_one_dimension_is_exact_in_every_argument():
    x, mean, var = RNG.standard_normal(5), 0.3, 1.7
    got = traced(lambda x_, m_, v_: mvn.cdf(x_, m_, v_), x, mean, var)
    np.testing.assert_allclose(got, ss.multivariate_normal.cdf(x, mean, var), rtol=1e-7)
    np.testing.assert_allclose(got, ss.norm.cdf(x, mean, np.sqrt(var)), rtol=1e-13)
    fgrad.check_grads(lambda x_, m_, v_: mvn.cdf(x_, m_, v_), (x, mean, var), order=2,
                      modes=("fwd", "rev"))
    np.testing.assert_allclose(fgrad.vmap(lambda v_: mvn.cdf(x, mean, v_))(np.array([1.0, 2.0])),
                               [ss.norm.cdf(x, mean, 1.0), ss.norm.cdf(x, mean, np.sqrt(2.0))],
                               rtol=1e-13)


def test_cdf_in_two_dimensions_values_and_derivatives():
    cov = _pd(2, RNG)
    mean = RNG.standard_normal(2)
    x = RNG.standard_normal((4, 2))
    got = traced(lambda x_, m_: mvn.cdf(x_, m_, cov), x, mean)
    np.testing.assert_allclose(got, ss.multivariate_normal.cdf(x, mean, cov), atol=1e-6)
    # the gradient in closed form: phi(x_i) Phi(conditional), with the exact 1-d Phi
    d = x[0] - mean
    want = [_phi(d[i], cov[i, i]) * ss.norm.cdf(
        (d[1 - i] - cov[1 - i, i] / cov[i, i] * d[i]) / np.sqrt(
            cov[1 - i, 1 - i] - cov[1 - i, i] ** 2 / cov[i, i])) for i in (0, 1)]
    gx, gm = fgrad.grad(lambda x_, m_: mvn.cdf(x_, m_, cov), argnums=(0, 1))(x[0], mean)
    np.testing.assert_allclose(gx, want, rtol=1e-12)
    np.testing.assert_allclose(gm, -gx, rtol=1e-12)
    # the value in 2-d is smooth (differences agree), and every derivative of the gradient is
    # exact: order 2 in both modes
    fgrad.check_grads(lambda x_, m_: mvn.cdf(x_, m_, cov), (x, mean), order=2,
                      modes=("fwd", "rev"), rtol=1e-4)
    fgrad.check_grads(fgrad.grad(lambda x_: mvn.cdf(x_, mean, cov)), (x[0],), order=2,
                      modes=("fwd", "rev"))
    np.testing.assert_allclose(fgrad.hessian(lambda x_: mvn.cdf(x_, mean, cov))(x[0]),
                               fgrad.jacrev(fgrad.jacrev(lambda x_: mvn.cdf(x_, mean, cov)))(x[0]),
                               rtol=1e-12, atol=1e-14)


def test_cdf_in_three_dimensions_against_an_integral():
    rng = np.random.default_rng(5)
    cov, mean, x = _pd(3, rng), rng.standard_normal(3), rng.standard_normal(3)
    got = traced(lambda x_: mvn.cdf(x_, mean, cov), x)
    np.testing.assert_allclose(got, ss.multivariate_normal.cdf(x, mean, cov), atol=2e-5)
    # an independent cdf: integrate phi(t) P(X_-0 <= x_-0 | X_0 = t) over t <= x_0, with
    # scipy's 2-d cdf inside; its central differences give the gradient
    from scipy.integrate import quad

    def cdf3(y):
        d = y - mean
        rest = [1, 2]
        cc = cov[np.ix_(rest, rest)] - np.outer(cov[rest, 0], cov[0, rest]) / cov[0, 0]
        f = lambda t: _phi(t, cov[0, 0]) * ss.multivariate_normal.cdf(  # noqa: E731
            d[rest] - cov[rest, 0] / cov[0, 0] * t, None, cc)
        return quad(f, -np.inf, d[0], epsabs=1e-10, epsrel=1e-10)[0]

    np.testing.assert_allclose(got, cdf3(x), atol=2e-5)
    h = 1e-3
    fd = [(cdf3(x + h * e) - cdf3(x - h * e)) / (2 * h) for e in np.eye(3)]
    np.testing.assert_allclose(fgrad.grad(lambda x_: mvn.cdf(x_, mean, cov))(x), fd, atol=1e-5)
    # second order: the two modes agree and the Hessian is symmetric
    hf = fgrad.jacfwd(fgrad.grad(lambda x_: mvn.cdf(x_, mean, cov)))(x)
    hr = fgrad.jacrev(fgrad.grad(lambda x_: mvn.cdf(x_, mean, cov)))(x)
    np.testing.assert_allclose(hf, hr, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(hf, hf.T, rtol=1e-10, atol=1e-13)


def test_cdf_vmap_matches_a_loop_and_is_deterministic():
    rng = np.random.default_rng(6)
    cov, mean = _pd(3, rng), rng.standard_normal(3)
    xs = rng.standard_normal((4, 3))
    f = lambda x_: mvn.cdf(x_, mean, cov)  # noqa: E731
    got = fgrad.vmap(f)(xs)
    np.testing.assert_allclose(got, ss.multivariate_normal.cdf(xs, mean, cov), atol=2e-5)
    if mvn_cdf_takes_rng():  # seeded per point: a point alone or batched, the same value
        np.testing.assert_array_equal(got, [traced(f, x) for x in xs])
        np.testing.assert_array_equal(traced(f, xs), got)
    else:  # older scipy draws its own random numbers: equal up to its tolerance
        np.testing.assert_allclose(got, [traced(f, x) for x in xs], atol=2e-5)
    gv = fgrad.vmap(fgrad.grad(f))(xs)
    np.testing.assert_allclose(gv, [fgrad.grad(f)(x) for x in xs], rtol=1e-12)
    covs = np.stack([_pd(3, rng) for _ in range(4)])
    gv = fgrad.vmap(fgrad.grad(lambda x_, c_: mvn.cdf(x_, mean, c_)))(xs, covs)
    gl = [fgrad.grad(lambda x_, c_: mvn.cdf(x_, mean, c_))(x, c) for x, c in zip(xs, covs)]
    np.testing.assert_allclose(gv, gl, rtol=1e-12)


def test_cdf_refusals():
    cov = _pd(2, RNG)
    with pytest.raises(TypeError, match="covariance has no closed form"):
        fgrad.grad(lambda c: mvn.cdf(np.zeros(2), None, c))(cov)
    with pytest.raises(NotImplementedError, match="lower_limit"):
        fgrad.grad(lambda x: mvn.cdf(x, None, cov, lower_limit=np.zeros(2)))(np.ones(2))
    with pytest.raises(NotImplementedError, match="rng"):
        fgrad.grad(lambda x: mvn.cdf(x, None, cov, rng=np.random.default_rng(0)))(np.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="allow_singular"):
        fgrad.grad(lambda x: mvn.cdf(x, None, np.ones((2, 2))))(np.ones(2))
    # singular covariance with allow_singular: the value agrees with scipy, x-gradient exists
    sing = np.array([[1.0, 1.0], [1.0, 1.0]])
    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(traced(lambda x_: mvn.cdf(x_, None, sing, True), x),
                               ss.multivariate_normal.cdf(x, None, sing, allow_singular=True),
                               atol=1e-6)
