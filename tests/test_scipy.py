"""fgrad.scipy: special functions, distributions and linear algebra.

The rows themselves are checked by tests/test_primitive_table.py (both modes, to
second order); here: scipy's exact values on plain inputs, analytic derivatives,
the composites (stats, cho_solve), stability, errors, and the optional import.
"""

import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.special as sc
import scipy.stats as ss
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad.scipy import linalg, special, stats

floats = st.floats(-3.0, 3.0)
positive = st.floats(0.3, 4.0)


def test_plain_inputs_return_scipys_results_exactly():
    x = np.linspace(0.05, 0.95, 7)
    for name in ["erf", "erfc", "erfinv", "expit", "logit", "gammaln", "digamma", "ndtr",
                 "ndtri", "log_ndtr", "entr", "i0", "i1e", "gamma", "rgamma"]:
        np.testing.assert_array_equal(getattr(special, name)(x), getattr(sc, name)(x))
    np.testing.assert_array_equal(special.xlogy(x, x[::-1]), sc.xlogy(x, x[::-1]))
    np.testing.assert_array_equal(special.polygamma(2, x), sc.polygamma(2, x))
    np.testing.assert_array_equal(special.logsumexp(x, b=x), sc.logsumexp(x, b=x))
    np.testing.assert_array_equal(special.softmax(x), sc.softmax(x))
    np.testing.assert_array_equal(stats.norm.logpdf(x, 0.2, 1.5), ss.norm.logpdf(x, 0.2, 1.5))
    np.testing.assert_array_equal(stats.t.cdf(x, 3.0), ss.t.cdf(x, 3.0))
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    np.testing.assert_array_equal(linalg.expm(A), sla.expm(A))
    np.testing.assert_array_equal(linalg.cho_factor(A)[0], sla.cho_factor(A)[0])


def test_traced_values_match_scipy():
    x = np.linspace(0.05, 0.95, 7)
    for name in ["erf", "gammaln", "ndtri", "logit", "i0e"]:
        out, _ = fgrad.jvp(getattr(special, name), (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(out, getattr(sc, name)(x))
    for f, ref, args in [
        (stats.norm.logpdf, ss.norm.logpdf, (x, 0.3, 1.7)),
        (stats.t.logpdf, ss.t.logpdf, (x, 2.5, 0.1, 1.3)),
        (stats.beta.logpdf, ss.beta.logpdf, (x, 2.0, 3.5)),
        (stats.gamma.logpdf, ss.gamma.logpdf, (x, 2.5, 0.0, 0.7)),
        (stats.gamma.cdf, ss.gamma.cdf, (x, 2.5)),
        (stats.beta.cdf, ss.beta.cdf, (x, 2.0, 3.0)),
        (stats.poisson.logpmf, ss.poisson.logpmf, (np.arange(7.0), 2.5)),
        (stats.poisson.cdf, ss.poisson.cdf, (np.arange(7.0), 2.5)),
    ]:
        out, _ = fgrad.vjp(lambda *a: f(*a), *args)
        np.testing.assert_allclose(out, ref(*args), rtol=1e-12, atol=1e-12)


@given(floats)
def test_erf_family_analytic(x):
    assert np.isclose(fgrad.grad(special.erf)(x), 2 / np.sqrt(np.pi) * np.exp(-x * x))
    assert np.isclose(fgrad.grad(special.ndtr)(x), ss.norm.pdf(x))
    assert np.isclose(fgrad.grad(special.expit)(x), sc.expit(x) * sc.expit(-x))
    assert np.isclose(fgrad.grad(fgrad.grad(special.log_expit))(x), -sc.expit(x) * sc.expit(-x))


@given(positive)
def test_gamma_family_analytic(x):
    assert np.isclose(fgrad.grad(special.gammaln)(x), sc.digamma(x))
    assert np.isclose(fgrad.grad(fgrad.grad(special.gammaln))(x), sc.polygamma(1, x))
    assert np.isclose(fgrad.grad(special.gamma)(x), sc.gamma(x) * sc.digamma(x))
    assert np.isclose(fgrad.grad(special.betaln, argnums=1)(x, 1.5),
                      sc.digamma(1.5) - sc.digamma(x + 1.5))
    h = fgrad.hessian(lambda a: special.polygamma(1, a))(x)
    assert np.isclose(h, sc.polygamma(3, x))


def test_bessel_derivatives():
    x = np.array([-1.3, -0.2, 0.0, 0.4, 2.0])
    d_i0 = fgrad.jvp(special.i0, (x,), (np.ones(5),))[1]
    np.testing.assert_allclose(d_i0, sc.i1(x))
    d_i1 = fgrad.jvp(special.i1, (x,), (np.ones(5),))[1]
    np.testing.assert_allclose(d_i1, (sc.i0(x) + sc.iv(2, x)) / 2)
    fgrad.check_grads(special.i1, (x,), order=2)
    fgrad.check_grads(special.i1e, (x[x != 0],), order=2)


def test_logsumexp_is_stable_and_differentiable_in_b():
    a = np.array([1000.0, 1000.0, -1000.0])
    g = fgrad.grad(special.logsumexp)(a)
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
    a = np.array([[0.1, 0.7, -0.3], [1.2, -0.4, 0.5]])
    b = np.array([[1.0, 2.0, 0.5], [0.3, 0.3, 3.0]])
    f = lambda a, b: special.logsumexp(a, axis=1, b=b)
    ga, gb = fgrad.grad(lambda a, b: f(a, b).sum(), argnums=(0, 1))(a, b)
    w = b * np.exp(a) / np.sum(b * np.exp(a), axis=1, keepdims=True)
    np.testing.assert_allclose(ga, w)
    np.testing.assert_allclose(gb, w / b)
    fgrad.check_grads(f, (a, b), order=2)
    fgrad.check_grads(lambda a: special.logsumexp(a, axis=0, keepdims=True), (a,), order=2)


def test_logsumexp_return_sign():
    a = np.array([1.0, 2.0])
    b = np.array([1.0, -3.0])
    (out, sign), f_vjp = fgrad.vjp(lambda a: special.logsumexp(a, b=b, return_sign=True), a)
    want, want_sign = sc.logsumexp(a, b=b, return_sign=True)
    assert out == want and sign == want_sign == -1.0
    # d log|s| / d a = b e^a / s
    s = np.sum(b * np.exp(a))
    g = fgrad.grad(lambda a: special.logsumexp(a, b=b, return_sign=True)[0])(a)
    np.testing.assert_allclose(g, b * np.exp(a) / s)


def test_softmax_and_log_softmax():
    x = np.array([[0.3, -1.0, 2.0], [0.0, 0.5, 0.1]])
    s = sc.softmax(x, axis=1)
    J = fgrad.jacrev(lambda v: special.softmax(v, axis=0))(x[0])
    np.testing.assert_allclose(J, np.diag(s[0]) - np.outer(s[0], s[0]))
    J = fgrad.jacfwd(lambda v: special.log_softmax(v, axis=0))(x[0])
    np.testing.assert_allclose(J, np.eye(3) - s[0][None, :])
    g = fgrad.grad(lambda v: special.log_softmax(v * 1000.0, axis=1)[0, 2])(x)
    assert np.all(np.isfinite(g))
    fgrad.check_grads(lambda v: special.softmax(v, axis=1), (x,), order=2)
    fgrad.check_grads(special.log_softmax, (x,), order=2)


def test_xlogy_at_zero_has_finite_gradient():
    g = fgrad.grad(special.xlogy, argnums=(0, 1))(0.0, 0.0)
    assert g[1] == 0.0
    assert fgrad.grad(special.xlogy, argnums=1)(2.0, 4.0) == 0.5


def test_missing_derivative_is_an_error_not_a_zero():
    with pytest.raises(TypeError, match="special.betainc.*argument 0"):
        fgrad.grad(special.betainc)(1.5, 0.7, 0.4)
    with pytest.raises(TypeError, match="not differentiable"):
        fgrad.grad(stats.t.cdf, argnums=1)(0.3, 2.0)
    with pytest.raises(TypeError, match="not differentiable"):
        fgrad.jvp(lambda a: special.betaincinv(a, 2.0, 0.3), (3.0,), (1.0,))


def test_scipy_ufuncs_dispatch_to_fgrad():
    g = fgrad.grad(lambda x: sc.erf(x) + sc.gammaln(x) + sc.xlogy(x, x))(1.5)
    want = 2 / np.sqrt(np.pi) * np.exp(-2.25) + sc.digamma(1.5) + np.log(1.5) + 1
    assert np.isclose(g, want)


# --- stats ---------------------------------------------------------------------------------


@given(floats, floats, positive)
def test_norm_logpdf_gradient_in_every_argument(x, loc, scale):
    gx, gl, gs = fgrad.grad(stats.norm.logpdf, argnums=(0, 1, 2))(x, loc, scale)
    z = (x - loc) / scale
    assert np.isclose(gx, -z / scale) and np.isclose(gl, z / scale)
    assert np.isclose(gs, (z * z - 1) / scale)


@pytest.mark.parametrize("f, args", [
    (stats.norm.pdf, (0.3, -0.2, 1.4)),
    (stats.norm.cdf, (0.3, -0.2, 1.4)),
    (stats.norm.logcdf, (-2.3, 0.2, 0.9)),
    (stats.norm.logsf, (2.3, 0.2, 0.9)),
    (stats.norm.ppf, (0.2, 0.5, 2.0)),
    (stats.t.logpdf, (0.7, 3.5, 0.1, 1.2)),
    (stats.t.pdf, (0.7, 3.5, 0.1, 1.2)),
    (stats.beta.logpdf, (0.3, 2.5, 1.7)),
    (stats.beta.pdf, (0.3, 2.5, 1.7, 0.05, 1.1)),
    (stats.gamma.logpdf, (1.3, 2.5, 0.1, 0.8)),
    (stats.gamma.pdf, (1.3, 2.5)),
])
def test_stats_derivatives_in_point_and_parameters(f, args):
    fgrad.check_grads(f, tuple(np.float64(a) for a in args), order=2)


def test_cdfs_differentiable_in_point_loc_scale():
    fgrad.check_grads(lambda x, loc, s: stats.t.cdf(x, 3.0, loc, s), (0.4, 0.1, 1.3), order=2)
    fgrad.check_grads(lambda x, s: stats.beta.cdf(x, 2.0, 3.0, 0.0, s), (0.4, 1.2), order=2)
    fgrad.check_grads(lambda x, s: stats.gamma.cdf(x, 2.0, 0.0, s), (0.9, 1.2), order=2)
    fgrad.check_grads(lambda x: stats.gamma.sf(x, 2.0), (0.9,), order=2)


def test_supports_give_finite_zero_gradients_outside():
    g = fgrad.grad(lambda x: fnp.sum(fnp.exp(stats.beta.logpdf(x, 2.0, 2.0))))(
        np.array([-0.5, 0.5, 1.5]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    g = fgrad.grad(lambda x: fnp.sum(stats.gamma.pdf(x, 2.0)))(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(g, [0.0, 0.0], atol=1e-15)


def test_poisson_in_mu():
    k = np.arange(6.0)
    mu = 1.7
    g = fgrad.grad(lambda m: fnp.sum(stats.poisson.logpmf(k, m)))(mu)
    assert np.isclose(g, np.sum(k / mu - 1))
    g = fgrad.jacrev(lambda m: stats.poisson.cdf(k, m))(mu)
    np.testing.assert_allclose(g, -ss.poisson.pmf(k, mu))
    g = fgrad.jacfwd(lambda m: stats.poisson.sf(k, m))(mu)
    np.testing.assert_allclose(g, ss.poisson.pmf(k, mu))
    assert stats.poisson.logpmf(2.5, fgrad.stop_gradient(1.0)) == -np.inf


def test_multivariate_normal_gradients():
    rng = np.random.default_rng(0)
    B = rng.standard_normal((3, 3))
    cov = B @ B.T + 3 * np.eye(3)
    mean = rng.standard_normal(3)
    x = rng.standard_normal((4, 3))
    out, _ = fgrad.vjp(lambda c: stats.multivariate_normal.logpdf(x, mean, c), cov)
    np.testing.assert_allclose(out, ss.multivariate_normal.logpdf(x, mean, cov), rtol=1e-12)
    f = lambda x, m, c: fnp.sum(stats.multivariate_normal.logpdf(x, m, c))
    gx, gm, gc = fgrad.grad(f, argnums=(0, 1, 2))(x, mean, cov)
    P = np.linalg.inv(cov)
    d = x - mean
    np.testing.assert_allclose(gx, -d @ P)
    np.testing.assert_allclose(gm, np.sum(d @ P, axis=0))
    # symmetric gradient, folded onto the lower triangle that the Cholesky factor reads
    G = 0.5 * (P @ d.T @ d @ P - len(x) * P)
    np.testing.assert_allclose(gc, np.tril(G + G.T - np.diag(np.diag(G))), atol=1e-12)
    fgrad.check_grads(lambda m, c: stats.multivariate_normal.logpdf(x[0], m, c), (mean, cov),
                      order=2)
    # diagonal covariance given as variances, and a scalar variance
    fgrad.check_grads(lambda v: stats.multivariate_normal.pdf(x, mean, v), (np.ones(3),), order=2)
    for xx in (x[0], x[0, 0]):  # one-dimensional: 3 samples, then a scalar sample
        out, _ = fgrad.vjp(lambda v: stats.multivariate_normal.logpdf(xx, None, v), 2.0)
        want = ss.multivariate_normal.logpdf(xx, None, 2.0)
        assert np.shape(out) == np.shape(want)
        np.testing.assert_allclose(out, want, rtol=1e-12)


# --- linalg ---------------------------------------------------------------------------------


def test_solve_triangular_matches_and_ignores_other_triangle():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3)) + 4 * np.eye(3)
    b = rng.standard_normal((3, 2))
    for lower in (True, False):
        for trans in (0, 1, 2, "T"):
            out, f_vjp = fgrad.vjp(
                lambda A, b: linalg.solve_triangular(A, b, trans=trans, lower=lower), A, b)
            np.testing.assert_allclose(
                out, sla.solve_triangular(A, b, trans=trans, lower=lower), rtol=1e-12)
            gA, _ = f_vjp(np.ones((3, 2)))
            ignored = np.triu(np.ones((3, 3)), 1) if lower else np.tril(np.ones((3, 3)), -1)
            assert np.all(gA[ignored == 1] == 0)


def test_cho_factor_and_cho_solve():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((3, 3))
    A = B @ B.T + np.eye(3)
    b = rng.standard_normal(3)
    for lower in (False, True):
        f = lambda A, b: linalg.cho_solve(linalg.cho_factor(A, lower=lower), b)
        out, _ = fgrad.vjp(f, A, b)
        np.testing.assert_allclose(out, np.linalg.solve(A, b), rtol=1e-10)
        fgrad.check_grads(f, (A, b), order=2)
        # through a symmetric parametrisation, the gradient is the one of solve
        gB = fgrad.grad(lambda B: fnp.sum(f(B @ B.T + np.eye(3), b)))(B)
        x = np.linalg.solve(A, b)
        u = np.linalg.solve(A, np.ones(3))
        np.testing.assert_allclose(gB, -(np.outer(u, x) + np.outer(x, u)) @ B, rtol=1e-8)


def test_expm_derivatives():
    rng = np.random.default_rng(3)
    A = 0.5 * rng.standard_normal((3, 3))
    E = rng.standard_normal((3, 3))
    _, t = fgrad.jvp(linalg.expm, (A,), (E,))
    eps = 1e-6
    fd = (sla.expm(A + eps * E) - sla.expm(A - eps * E)) / (2 * eps)
    np.testing.assert_allclose(t, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(t, sla.expm_frechet(A, E, compute_expm=False), rtol=1e-10)
    # exp(t A) for commuting direction: d/dt tr(exp(tA)) = tr(A exp(tA))
    g = fgrad.grad(lambda s: fnp.trace(linalg.expm(s * A)) if hasattr(fnp, "trace")
                   else fnp.sum(linalg.expm(s * A) * np.eye(3)))(1.0)
    assert np.isclose(g, np.trace(A @ sla.expm(A)))
    fgrad.check_grads(linalg.expm, (np.stack([A, -A]),), order=2)
    h = fgrad.hessian(lambda s: fnp.sum(linalg.expm(s * A)))(0.7)
    assert np.isclose(h, np.sum(A @ A @ sla.expm(0.7 * A)))


# --- scipy is optional ---------------------------------------------------------------------


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_import_fgrad_does_not_import_scipy():
    r = _run("import sys, fgrad, fgrad.numpy\n"
             "fgrad.grad(lambda x: x * x)(1.0)\n"
             "assert 'scipy' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)")
    assert r.returncode == 0, r.stderr


def test_without_scipy_a_clear_import_error():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'scipy' or name.startswith('scipy.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import fgrad, fgrad.scipy\n"
        "from fgrad.scipy.special import erf\n"
        "print(fgrad.grad(lambda x: x ** 3)(2.0))\n"
        "try:\n"
        "    fgrad.grad(erf)(0.5)\n"
        "except ImportError as e:\n"
        "    print('ERROR', e)\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "12.0" in r.stdout
    assert "ERROR" in r.stdout and "pip install scipy" in r.stdout


def test_vmap_of_distributions_equals_a_loop():
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 0.9, size=(4, 3))
    for f, args, axes in [
        (stats.norm.logpdf, (x, 0.2, 1.3), (0, None, None)),
        (stats.t.logpdf, (x, np.array([2.0, 3.0, 4.0, 5.0]), 0.0, 1.0), (0, 0, None, None)),
        (stats.beta.logpdf, (x, 2.0, 3.0), (1, None, None)),
        (stats.gamma.cdf, (x, 2.5), (0, None)),
        (stats.poisson.logpmf, (np.arange(12.0).reshape(4, 3), 2.5), (0, None)),
        (stats.poisson.cdf, (np.arange(12.0).reshape(4, 3), 2.5), (0, None)),
        (special.multigammaln, (x + 2.0, 3), (0, None)),
    ]:
        got = fgrad.vmap(f, in_axes=axes)(*args)
        n = np.shape(args[0])[axes[0]] if axes[0] is not None else len(args[1])
        want = np.stack([
            f(*(a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)))
            for i in range(n)], axis=0)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(f))
    mus = np.array([0.5, 1.5, 3.0])
    g = fgrad.vmap(fgrad.grad(lambda m: fnp.sum(stats.poisson.logpmf(np.arange(4.0), m))))(mus)
    np.testing.assert_allclose(g, np.sum(np.arange(4.0)) / mus - 4)


def test_logsumexp_return_sign_matches_scipy_also_under_vmap():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]])
    b = np.array([[1.0, -5.0], [1.0, 1.0], [1.0, -1.0]])
    want = sc.logsumexp(a, axis=1, b=b, return_sign=True, keepdims=True)
    (out, sign), _ = fgrad.vjp(
        lambda a: special.logsumexp(a, axis=1, b=b, return_sign=True, keepdims=True), a)
    np.testing.assert_array_equal(out, want[0])
    np.testing.assert_array_equal(sign, want[1])
    out, sign = fgrad.vmap(lambda a, b: special.logsumexp(a, b=b, return_sign=True))(a, b)
    np.testing.assert_array_equal(sign, [-1.0, 1.0, 0.0])
    np.testing.assert_allclose(out, sc.logsumexp(a, axis=1, b=b, return_sign=True)[0])


def test_more_special_functions_against_scipy():
    x = np.linspace(0.4, 2.5, 6)
    for name, d in [
        ("exp1", -np.exp(-x) / x), ("expi", np.exp(x) / x), ("j0", -sc.j1(x)),
        ("y0", -sc.y1(x)), ("dawsn", 1 - 2 * x * sc.dawsn(x)), ("loggamma", sc.digamma(x)),
        ("j1", (sc.j0(x) - sc.jv(2, x)) / 2), ("y1", (sc.y0(x) - sc.yv(2, x)) / 2),
    ]:
        f = getattr(special, name)
        np.testing.assert_array_equal(f(x), getattr(sc, name)(x))
        np.testing.assert_allclose(fgrad.jvp(f, (x,), (np.ones_like(x),))[1], d, rtol=1e-10,
                                   err_msg=name)
        fgrad.check_grads(f, (x,), order=2)
    for name, d in [("jv", (sc.jv(0.5, x) - sc.jv(2.5, x)) / 2),
                    ("iv", (sc.iv(0.5, x) + sc.iv(2.5, x)) / 2),
                    ("kv", -(sc.kv(0.5, x) + sc.kv(2.5, x)) / 2)]:
        g = fgrad.jvp(lambda x: getattr(special, name)(1.5, x), (x,), (np.ones_like(x),))[1]
        np.testing.assert_allclose(g, d, rtol=1e-10, err_msg=name)
    for n in range(4):
        fgrad.check_grads(lambda x: special.expn(n, x), (x,), order=2)
    fgrad.check_grads(special.kl_div, (x, x[::-1]), order=2)
    with pytest.raises(TypeError, match="not differentiable"):
        fgrad.grad(special.jv)(0.5, 1.0)


def test_more_scipy_linalg():
    rng = np.random.default_rng(5)
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    S = A @ A.T
    b = rng.standard_normal(3)
    for kw in [{}, {"transposed": True}, {"assume_a": "pos"}, {"assume_a": "sym", "lower": True},
               {"assume_a": "lower triangular"}]:
        M = np.tril(A) if kw.get("assume_a") == "lower triangular" else (
            S if "assume_a" in kw else A)
        out, _ = fgrad.vjp(lambda M, b: linalg.solve(M, b, **kw), M, b)
        np.testing.assert_allclose(out, sla.solve(M, b, **kw), rtol=1e-10)
        fgrad.check_grads(lambda M, b: linalg.solve(M, b, **kw), (M, b), order=2)
    # symmetric kinds read one triangle only: no gradient for the other
    g = fgrad.grad(lambda M: linalg.solve(M, b, assume_a="pos").sum())(S)
    assert np.all(g[np.tril_indices(3, -1)] == 0)
    np.testing.assert_allclose(fgrad.vjp(linalg.inv, A)[0], sla.inv(A), rtol=1e-10)
    fgrad.check_grads(linalg.inv, (A,), order=2)
    fgrad.check_grads(linalg.det, (A,), order=2)
    E = rng.standard_normal((3, 3))
    (eA, L), _ = fgrad.vjp(lambda A, E: linalg.expm_frechet(0.3 * A, E), A, E)
    want = sla.expm_frechet(0.3 * A, E)
    np.testing.assert_allclose(eA, want[0], rtol=1e-10)
    np.testing.assert_allclose(L, want[1], rtol=1e-8)
    blocks = (np.ones((1, 2)), 2 * np.ones((2, 1)), 3.0, np.arange(3.0))
    out, f_vjp = fgrad.vjp(lambda *b: linalg.block_diag(*b), *blocks)
    np.testing.assert_array_equal(out, sla.block_diag(*blocks))
    cts = f_vjp(np.arange(out.size, dtype=float).reshape(out.shape))
    assert [c.shape for c in cts] == [np.shape(b) for b in blocks]
