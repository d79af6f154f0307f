"""fgrad.scipy.stats: the distributions of fgrad/scipy/stats/ (continuous, discrete, multivariate).

For every method: scipy's value under a trace, derivatives to second order in
the point and the continuous parameters (check_grads: finite differences and
the dot-product identity), then closed-form derivatives, the support edges,
the counts that have no derivative, tails, dirichlet and vmap against a loop.
"""

import math
import warnings

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as ss

import fgrad
import fgrad.numpy as fnp
from fgrad.scipy import stats

X = np.array([0.3, 1.1, 2.4])        # points inside every continuous support used below
Q = np.array([0.05, 0.4, 0.9])       # probabilities
K = np.array([0.0, 1.0, 3.0, 6.0])   # counts

# (distribution, method, args, positions differentiated, rtol against scipy)
# rtol is 1e-12 where fgrad evaluates scipy's own formula (or an algebraically
# equal one of the same accuracy); larger tolerances are explained in place.
CONT = [
    ("expon", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.1, 1.7), (0, 1, 2), 1e-12),
    ("expon", ("ppf", "isf"), (Q, 0.1, 1.7), (0, 1, 2), 1e-12),
    ("uniform", ("logpdf", "pdf"), (X, 0.2, 2.5), (1, 2), 1e-12),  # flat in x
    ("uniform", ("cdf", "logcdf", "sf", "logsf"), (X, 0.2, 2.5), (0, 1, 2), 1e-12),
    ("uniform", ("ppf", "isf"), (Q, 0.2, 2.5), (0, 1, 2), 1e-12),
    ("laplace", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.9, 1.3), (0, 1, 2),
     1e-12),
    ("laplace", ("ppf", "isf"), (Q, 0.9, 1.3), (0, 1, 2), 1e-12),
    ("logistic", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.9, 1.3), (0, 1, 2),
     1e-12),
    ("logistic", ("ppf", "isf"), (Q, 0.9, 1.3), (0, 1, 2), 1e-12),
    ("cauchy", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.9, 1.3), (0, 1, 2),
     1e-12),
    # scipy's quantile is boost's; ours is -cot(pi r), equal to a few ulps
    ("cauchy", ("ppf", "isf"), (Q, 0.9, 1.3), (0, 1, 2), 1e-13),
    ("lognorm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 0.8, 0.1, 1.2),
     (0, 1, 2, 3), 1e-12),
    ("lognorm", ("ppf", "isf"), (Q, 0.8, 0.1, 1.2), (0, 1, 2, 3), 1e-12),
    ("pareto", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X + 1.0, 2.5, -0.2, 1.1),
     (0, 1, 2, 3), 1e-12),
    ("pareto", ("ppf", "isf"), (Q, 2.5, -0.2, 1.1), (0, 1, 2, 3), 1e-12),
    ("weibull_min", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, 1.7, 0.1, 1.3),
     (0, 1, 2, 3), 1e-12),
    ("weibull_min", ("ppf", "isf"), (Q, 1.7, 0.1, 1.3), (0, 1, 2, 3), 1e-12),
    ("chi2", ("logpdf", "pdf"), (X, 3.5, 0.1, 1.3), (0, 1, 2, 3), 1e-12),
    ("chi2", ("cdf", "logcdf", "sf", "logsf"), (X, 3.5, 0.1, 1.3), (0, 2, 3), 1e-12),
    # scipy evaluates the mass with its own log-space helpers and the quantile by a
    # root search; our closed forms agree to about 1e-10
    ("truncnorm", ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"), (X, -0.5, 2.0, 0.4, 1.1),
     (0, 1, 2, 3, 4), 1e-10),
    ("truncnorm", ("ppf", "isf"), (Q, -0.5, 2.0, 0.4, 1.1), (0, 1, 2, 3, 4), 1e-10),
    ("truncnorm", ("logpdf", "cdf", "logsf"), (np.array([1.3, 1.6]), 1.2, 3.0),
     (0, 1, 2), 1e-10),  # both ends right of 0: the mirrored formulas
    ("truncnorm", ("ppf", "isf"), (Q, 1.2, 3.0), (0, 1, 2), 1e-10),
    ("truncnorm", ("logpdf", "logcdf", "sf"), (np.array([-2.9, -2.5]), -3.0, -2.0),
     (0, 1, 2), 1e-10),  # both ends left of 0
    ("vonmises", ("logpdf", "pdf"), (X, 2.3, 0.2, 1.0), (0, 1, 2), 1e-12),
    ("gennorm", ("logpdf", "pdf"), (X - 1.0, 1.6, 0.2, 1.3), (0, 1, 2, 3), 1e-12),
]

DISC = [  # the count k is never differentiated; binom's n neither
    ("bernoulli", ("logpmf", "pmf"), (np.array([0.0, 1.0]), 0.3), (1,), 1e-12),
    ("bernoulli", ("cdf", "logcdf", "sf", "logsf"), (np.array([0.0, 0.5]), 0.3), (1,), 1e-12),
    # scipy's pmf, cdf and sf come from boost; ours are exp(logpmf) and betainc
    ("binom", ("logpmf",), (K, 8.0, 0.35), (2,), 1e-12),
    ("binom", ("pmf", "cdf", "logcdf", "sf", "logsf"), (K, 8.0, 0.35), (2,), 1e-10),
    ("geom", ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"), (K + 1.0, 0.3), (1,), 1e-12),
    ("nbinom", ("logpmf",), (K, 2.5, 0.4), (1, 2), 1e-12),
    ("nbinom", ("pmf",), (K, 2.5, 0.4), (1, 2), 1e-10),
    ("nbinom", ("cdf", "logcdf", "sf", "logsf"), (K, 2.5, 0.4), (2,), 1e-10),
]

CASES = [
    pytest.param(dist, method, args, diff, rtol, id=f"{dist}.{method}-{i}")
    for i, (dist, methods, args, diff, rtol) in enumerate(CONT + DISC)
    for method in methods
]


def _partial(f, args, diff):
    def g(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return f(*full)
    return g


@pytest.mark.parametrize("dist, method, args, diff, rtol", CASES)
def test_traced_value_is_scipys_and_derivatives_check(dist, method, args, diff, rtol):
    f = getattr(getattr(stats, dist), method)
    want = getattr(getattr(ss, dist), method)(*args)
    np.testing.assert_array_equal(f(*args), want)  # plain inputs: scipy itself
    g = _partial(f, args, diff)
    dargs = tuple(np.float64(args[i]) if np.ndim(args[i]) == 0 else args[i] for i in diff)
    out, _ = fgrad.vjp(g, *dargs)
    np.testing.assert_allclose(out, want, rtol=rtol, atol=1e-300)
    out, _ = fgrad.jvp(g, dargs, tuple(np.ones_like(a) for a in dargs))
    np.testing.assert_allclose(out, want, rtol=rtol, atol=1e-300)
    fgrad.check_grads(g, dargs, order=2)


CDFS = [("expon", (0.1, 1.7)), ("uniform", (0.2, 2.5)), ("laplace", (0.9, 1.3)),
        ("logistic", (0.9, 1.3)), ("cauchy", (0.9, 1.3)), ("lognorm", (0.8, 0.1, 1.2)),
        ("pareto", (0.5, -1.0, 0.5)), ("weibull_min", (1.7, 0.1, 1.3)),
        ("chi2", (3.5, 0.1, 1.3)), ("truncnorm", (-0.5, 2.0, 0.4, 1.1))]


@pytest.mark.parametrize("dist, params", CDFS, ids=[d for d, _ in CDFS])
def test_cdf_derivative_is_the_density(dist, params):
    d = getattr(stats, dist)
    x = X  # inside every support above
    g = fgrad.grad(lambda x: fnp.sum(d.cdf(x, *params)))(x)
    np.testing.assert_allclose(g, getattr(ss, dist).pdf(x, *params), rtol=1e-9)
    g = fgrad.grad(lambda x: fnp.sum(d.sf(x, *params)))(x)
    np.testing.assert_allclose(g, -getattr(ss, dist).pdf(x, *params), rtol=1e-9)
    g = fgrad.grad(lambda x: fnp.sum(d.logcdf(x, *params)))(x)
    ref = getattr(ss, dist)
    np.testing.assert_allclose(g, ref.pdf(x, *params) / ref.cdf(x, *params), rtol=1e-9)
    if hasattr(d, "ppf"):  # the quantile's derivative is 1 / pdf at the quantile
        g = fgrad.grad(lambda q: fnp.sum(d.ppf(q, *params)))(Q)
        np.testing.assert_allclose(g, 1 / ref.pdf(ref.ppf(Q, *params), *params), rtol=1e-8)


def test_closed_form_derivatives():
    for x, loc, scale in [(0.5, 0.0, 1.0), (3.0, 1.0, 2.5)]:
        gx, gl, gs = fgrad.grad(stats.expon.logpdf, argnums=(0, 1, 2))(x, loc, scale)
        assert gx == -1 / scale and gl == 1 / scale
        assert np.isclose(gs, (x - loc) / scale**2 - 1 / scale)
    p = 0.3
    assert np.isclose(fgrad.grad(stats.bernoulli.logpmf, argnums=1)(1.0, p), 1 / p)
    assert np.isclose(fgrad.grad(stats.bernoulli.logpmf, argnums=1)(0.0, p), -1 / (1 - p))
    k, n = np.arange(9.0), 8.0
    g = fgrad.grad(lambda p: fnp.sum(stats.binom.logpmf(k, n, p)))(p)
    assert np.isclose(g, np.sum(k / p - (n - k) / (1 - p)))
    # d/dp binom.cdf(k) = -n pmf(k; n - 1, p)
    g = fgrad.jacfwd(lambda p: stats.binom.cdf(k[:-1], n, p))(p)
    np.testing.assert_allclose(g, -n * ss.binom.pmf(k[:-1], n - 1, p), rtol=1e-10)
    g = fgrad.jacrev(lambda p: stats.geom.cdf(k + 1, p))(p)
    np.testing.assert_allclose(g, (k + 1) * (1 - p) ** k, rtol=1e-12)
    gn, gp = fgrad.grad(lambda n, p: fnp.sum(stats.nbinom.logpmf(k, n, p)), argnums=(0, 1))(2.5, p)
    assert np.isclose(gn, np.sum(sc.digamma(2.5 + k) - sc.digamma(2.5) + np.log(p)))
    assert np.isclose(gp, np.sum(2.5 / p - k / (1 - p)))
    # scale derivatives of a location-scale log density: -(1 + y d/dy logpdf(y)) / scale
    y, s = 0.7, 1.9
    g = fgrad.grad(stats.cauchy.logpdf, argnums=2)(y * s, 0.0, s)
    assert np.isclose(g, -(1 - 2 * y * y / (1 + y * y)) / s)
    g = fgrad.grad(stats.vonmises.logpdf, argnums=1)(0.4, 2.0)  # cos x - I1/I0
    assert np.isclose(g, np.cos(0.4) - sc.i1(2.0) / sc.i0(2.0))
    g = fgrad.grad(stats.gennorm.logpdf, argnums=1)(0.6, 1.5)
    want = 1 / 1.5 + sc.digamma(1 / 1.5) / 1.5**2 - 0.6**1.5 * np.log(0.6)
    assert np.isclose(g, want)


def test_support_edges_values_and_finite_derivatives():
    cases = [
        (stats.expon.logpdf, (np.array([-1.0, 0.0, 1.0]),), [-np.inf, 0.0, -1.0]),
        (stats.expon.cdf, (np.array([-1.0, 0.0]),), [0.0, 0.0]),
        (stats.expon.logsf, (np.array([-1.0, 0.0]),), [0.0, 0.0]),
        (stats.uniform.logpdf, (np.array([-0.5, 0.0, 1.0, 1.5]),), [-np.inf, 0, 0, -np.inf]),
        (stats.uniform.cdf, (np.array([-0.5, 1.5]),), [0.0, 1.0]),
        (stats.uniform.logsf, (np.array([-0.5, 1.5]),), [0.0, -np.inf]),
        (stats.pareto.logpdf, (np.array([0.5, 1.0]), 2.0), [-np.inf, np.log(2.0)]),
        (stats.pareto.sf, (np.array([0.5, 1.0]), 2.0), [1.0, 1.0]),
        (stats.lognorm.logpdf, (np.array([-1.0, 0.0]), 1.0), [-np.inf, -np.inf]),
        (stats.lognorm.cdf, (np.array([-1.0, 0.0]), 1.0), [0.0, 0.0]),
        (stats.weibull_min.logpdf, (np.array([-1.0]), 1.0), [-np.inf]),
        (stats.chi2.logpdf, (np.array([-1.0]), 3.0), [-np.inf]),
        (lambda x: stats.chi2.sf(x, 3.0), (np.array([-1.0]),), [1.0]),  # no derivative in df
        (stats.truncnorm.logpdf, (np.array([-1.5, 2.5]), -1.0, 2.0), [-np.inf, -np.inf]),
        (stats.truncnorm.cdf, (np.array([-1.5, 2.5]), -1.0, 2.0), [0.0, 1.0]),
        (stats.truncnorm.logsf, (np.array([-1.5, 2.5]), -1.0, 2.0), [0.0, -np.inf]),
    ]
    for f, args, want in cases:
        g = _partial(f, args, (0,))
        out, vjp = fgrad.vjp(g, args[0])
        np.testing.assert_array_equal(out, want, err_msg=str(f))
        np.testing.assert_array_equal(out, f(*args))  # scipy agrees
        assert np.all(np.isfinite(vjp(np.ones_like(out))[0])), f
        for i in range(1, len(args)):  # and in the parameters
            gi = fgrad.grad(lambda a: fnp.sum(f(*args[:i], a, *args[i + 1:])))(args[i])
            assert np.isfinite(gi), f
    # discrete: -inf off the support (and for non-integers), finite derivative in p
    for f, args in [(stats.binom.logpmf, (np.array([-1.0, 2.5, 9.0]), 8.0)),
                    (stats.geom.logpmf, (np.array([0.0, 1.5]),)),
                    (stats.nbinom.logpmf, (np.array([-1.0, 0.5]), 2.0)),
                    (stats.bernoulli.logpmf, (np.array([-1.0, 0.5, 2.0]),))]:
        out, vjp = fgrad.vjp(lambda p: f(*args, p), 0.3)
        assert np.all(out == -np.inf) and np.all(f(*args, 0.3) == -np.inf)
        assert vjp(np.ones_like(out))[0] == 0.0
    # the CDFs of counts step at integers, scipy's way
    k = np.array([-1.0, 0.0, 0.5, 3.7, 8.0, 9.0])
    for f, ref, args in [(stats.binom.cdf, ss.binom.cdf, (8.0, 0.35)),
                         (stats.binom.sf, ss.binom.sf, (8.0, 0.35)),
                         (stats.bernoulli.logsf, ss.bernoulli.logsf, (0.35,)),
                         (stats.geom.logcdf, ss.geom.logcdf, (0.35,)),
                         (stats.nbinom.logsf, ss.nbinom.logsf, (2.0, 0.35))]:
        out, _ = fgrad.vjp(lambda p: f(k, *args[:-1], p), args[-1])
        np.testing.assert_allclose(out, ref(k, *args), rtol=1e-10, err_msg=str(f))
    # weibull at y = 0: y^c has derivative 1 for c = 1 (the exponential)
    assert fgrad.grad(stats.weibull_min.sf)(0.0, 1.0) == -1.0


def test_quantiles_at_and_outside_the_ends_are_scipys():
    q = np.array([-0.1, 0.0, 1.0, 1.1])
    for name, params in [("expon", ()), ("uniform", ()), ("laplace", ()), ("logistic", ()),
                         ("cauchy", ()), ("lognorm", (0.8,)), ("pareto", (2.0,)),
                         ("weibull_min", (1.5,)), ("truncnorm", (-1.0, 2.0))]:
        for m in ("ppf", "isf"):
            f = getattr(getattr(stats, name), m)
            out, _ = fgrad.vjp(lambda s: f(q, *params, 0.0, s), 1.0)
            np.testing.assert_allclose(out, f(q, *params), err_msg=f"{name}.{m}")


def test_accurate_tails():
    # expon.logcdf near 0: log(y) + O(y)
    out, _ = fgrad.vjp(stats.expon.logcdf, 1e-20)
    assert np.isclose(out, np.log(1e-20))
    # laplace far left/right: exact linear tails where a log of the CDF would underflow
    out, _ = fgrad.vjp(stats.laplace.logcdf, -800.0)
    assert np.isclose(out, -800.0 - np.log(2))
    assert fgrad.grad(stats.laplace.logsf)(800.0) == -1.0
    # cauchy left tail: arctan2 keeps relative accuracy
    out, _ = fgrad.vjp(stats.cauchy.cdf, -1e10)
    assert np.isclose(out, 1 / (np.pi * 1e10), rtol=1e-12)
    # truncnorm far in a tail: the log-space mass
    out, _ = fgrad.vjp(lambda x: stats.truncnorm.logpdf(x, 30.0, 31.0), 30.5)
    np.testing.assert_allclose(out, ss.truncnorm.logpdf(30.5, 30.0, 31.0), rtol=1e-10)
    g = fgrad.grad(lambda x: stats.truncnorm.logpdf(x, 30.0, 31.0))(30.5)
    assert g == -30.5
    # truncnorm with infinite ends (half-normal, normal): scipy's values, finite gradients
    x = np.array([-1.0, 0.2, 1.5])
    for a, b in [(-np.inf, 1.0), (-0.5, np.inf), (-np.inf, np.inf)]:
        for m in ("logpdf", "cdf", "logsf"):
            out, vjp = fgrad.vjp(lambda x: getattr(stats.truncnorm, m)(x, a, b), x)
            np.testing.assert_allclose(out, getattr(ss.truncnorm, m)(x, a, b), rtol=1e-10)
            assert np.all(np.isfinite(vjp(np.ones(3))[0]))
    out, _ = fgrad.vjp(lambda p: stats.geom.logcdf(1.0, p), 1e-18)
    assert np.isclose(out, np.log(1e-18))


def test_counts_differentiate_as_in_jax_and_missing_rules_raise():
    # the log pmf's continuous extension in the counts (gammaln), as jax.scipy.stats
    # and poisson.logpmf: d/dk binom.logpmf = psi(n-k+1) - psi(k+1) + log(p/(1-p))
    k, n, p = 3.0, 8.0, 0.3
    want = sc.digamma(n - k + 1) - sc.digamma(k + 1) + math.log(p / (1 - p))
    np.testing.assert_allclose(fgrad.grad(stats.binom.logpmf)(k, n, p), want, rtol=1e-12)
    want_n = sc.digamma(n + 1) - sc.digamma(n - k + 1) + math.log(1 - p)
    np.testing.assert_allclose(fgrad.grad(stats.binom.logpmf, argnums=1)(k, n, p), want_n,
                               rtol=1e-12)
    np.testing.assert_allclose(fgrad.grad(stats.geom.logpmf)(k, p), math.log(1 - p), rtol=1e-14)
    np.testing.assert_allclose(fgrad.grad(stats.poisson.logpmf)(k, 2.0),
                               math.log(2.0) - sc.digamma(k + 1), rtol=1e-12)
    # the CDFs are piecewise constant in k
    assert fgrad.jvp(lambda k: stats.nbinom.cdf(k, 2.0, 0.3), (3.0,), (1.0,))[1] == 0.0
    # chi2.cdf in df goes through gammainc's derivative in its shape argument
    h = 1e-5
    np.testing.assert_allclose(
        fgrad.grad(stats.chi2.cdf, argnums=1)(1.0, 3.0),
        (ss.chi2.cdf(1.0, 3.0 + h) - ss.chi2.cdf(1.0, 3.0 - h)) / (2 * h), rtol=1e-7)
    with pytest.raises(TypeError, match="special.betainc"):
        fgrad.grad(stats.nbinom.sf, argnums=1)(2.0, 3.0, 0.4)
    # a parameter that is not differentiated may still be traced by another transform
    out = fgrad.vmap(lambda n: stats.binom.logpmf(2.0, n, 0.3))(np.array([2.0, 5.0]))
    np.testing.assert_allclose(out, ss.binom.logpmf(2, [2, 5], 0.3), rtol=1e-12)


def test_dirichlet():
    alpha = np.array([1.5, 2.0, 3.5])
    x = np.array([[0.2, 0.5], [0.3, 0.1], [0.5, 0.4]])  # components on the first axis
    for xx in (x, x[:, 0], x[:2]):  # several points, one point, K - 1 components
        out, _ = fgrad.vjp(lambda a: stats.dirichlet.logpdf(xx, a), alpha)
        np.testing.assert_allclose(out, ss.dirichlet.logpdf(xx, alpha), rtol=1e-12)
        np.testing.assert_array_equal(np.shape(out), np.shape(ss.dirichlet.logpdf(xx, alpha)))
    out, _ = fgrad.vjp(lambda a: stats.dirichlet.pdf(x, a), alpha)
    np.testing.assert_allclose(out, ss.dirichlet.pdf(x, alpha), rtol=1e-12)
    ga = fgrad.grad(lambda a: stats.dirichlet.logpdf(x[:, 0], a))(alpha)
    np.testing.assert_allclose(ga, np.log(x[:, 0]) - sc.digamma(alpha) + sc.digamma(alpha.sum()))
    gx = fgrad.grad(lambda v: stats.dirichlet.logpdf(v, alpha))(x[:, 0])
    np.testing.assert_allclose(gx, (alpha - 1) / x[:, 0])
    fgrad.check_grads(lambda a: stats.dirichlet.logpdf(x, a), (alpha,), order=2)
    fgrad.check_grads(lambda v, a: stats.dirichlet.pdf(v, a), (x[:2, 0], alpha), order=2)
    with pytest.raises(ValueError, match="simplex"):
        fgrad.grad(lambda a: stats.dirichlet.logpdf(np.array([0.2, 0.2, 0.2]), a))(alpha)


def test_vmap_equals_a_loop():
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.4, 1.8, size=(4, 3))
    a = np.array([-1.0, -0.5, 0.0, 0.3])
    cases = [
        (stats.truncnorm.logpdf, (x, a, 2.0), (0, 0, None)),
        (stats.truncnorm.ppf, (np.full((4, 3), 0.3), a, 2.0), (0, 0, None)),
        (stats.laplace.logcdf, (x, 0.2, np.array([0.5, 1.0, 2.0])), (1, None, 0)),
        (stats.binom.logpmf, (np.arange(12.0).reshape(4, 3), 9.0, np.array([0.2, 0.5, 0.7, 0.9])),
         (0, None, 0)),
        (stats.binom.cdf, (np.arange(12.0).reshape(4, 3), 9.0, 0.4), (0, None, None)),
    ]
    for f, args, axes in cases:
        got = fgrad.vmap(f, in_axes=axes)(*args)
        n = next(np.shape(v)[ax] for v, ax in zip(args, axes) if ax is not None)
        want = np.stack([f(*(v if ax is None else np.take(v, i, axis=ax)
                             for v, ax in zip(args, axes))) for i in range(n)])
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=str(f))
    # per-example gradients in p
    ps = np.array([0.2, 0.5, 0.7])
    k = np.arange(5.0)
    g = fgrad.vmap(fgrad.grad(lambda p: fnp.sum(stats.binom.logpmf(k, 4.0, p))))(ps)
    np.testing.assert_allclose(g, np.sum(k) / ps - np.sum(4 - k) / (1 - ps))


def test_exported_from_stats():
    for name in ["expon", "uniform", "laplace", "logistic", "cauchy", "lognorm", "pareto",
                 "weibull_min", "chi2", "truncnorm", "vonmises", "gennorm", "bernoulli",
                 "binom", "geom", "nbinom", "dirichlet"]:
        assert name in stats.__all__ and hasattr(stats, name)
    assert math.isclose(stats.expon.pdf(1.0), math.exp(-1.0))


def test_chi2_quantiles_invert_the_cdf():
    import scipy.stats

    from fgrad.scipy.stats import chi2

    q = np.array([0.05, 0.3, 0.5, 0.9])
    for name in ("ppf", "isf"):
        f = getattr(chi2, name)
        got, _ = fgrad.vjp(lambda q, loc, scale: f(q, 3.5, loc, scale), q, 0.5, 2.0)
        np.testing.assert_allclose(got, getattr(scipy.stats.chi2, name)(q, 3.5, 0.5, 2.0),
                                   rtol=1e-12)
        fgrad.check_grads(lambda q, loc, scale: f(q, 3.5, loc, scale), (q, 0.5, 2.0), order=2)
    # d ppf / dq = 1 / pdf(ppf(q)); d isf / dq = -1 / pdf(isf(q))
    x = scipy.stats.chi2.ppf(q, 3.5)
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(lambda q: chi2.ppf(q, 3.5)))(q),
                               1 / scipy.stats.chi2.pdf(x, 3.5), rtol=1e-10)
    x = scipy.stats.chi2.isf(q, 3.5)
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(lambda q: chi2.isf(q, 3.5)))(q),
                               -1 / scipy.stats.chi2.pdf(x, 3.5), rtol=1e-10)
    # in df through gammaincinv's derivative in its shape (issue 16)
    h = 1e-5
    np.testing.assert_allclose(
        fgrad.grad(lambda df: chi2.ppf(0.5, df))(3.0),
        (scipy.stats.chi2.ppf(0.5, 3.0 + h) - scipy.stats.chi2.ppf(0.5, 3.0 - h)) / (2 * h),
        rtol=1e-7)


# --------------------------------------------------------------------------
# multinomial, multivariate_t, wishart
# --------------------------------------------------------------------------


def test_multinomial():
    p = np.array([0.2, 0.3, 0.5])
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0], [2.0, 2.0, 1.0], [1.5, 1.5, 3.0],
                  [-1.0, 3.0, 4.0]])  # the last three off the support (sum, fraction, sign)
    for xx, n in ((x, 6), (x[0], 6.0), (x[:, None], np.array([6.0, 5.0]))):
        out, _ = fgrad.vjp(lambda p: stats.multinomial.logpmf(xx, n, p), p)
        want = ss.multinomial.logpmf(xx, n, p)
        np.testing.assert_allclose(out, want, rtol=1e-12)
        assert np.shape(out) == np.shape(want)
    out, _ = fgrad.vjp(lambda p: stats.multinomial.pmf(x, 6, p), p)
    np.testing.assert_allclose(out, ss.multinomial.pmf(x, 6, p), rtol=1e-12)
    # bad n or p: nan, as scipy
    for n, pp in ((-1.0, p), (6.0, np.array([-0.2, 0.7, 0.5]))):
        out, _ = fgrad.vjp(lambda q: stats.multinomial.logpmf(x[0], n, q), pp)
        assert np.isnan(out) and np.isnan(ss.multinomial.logpmf(x[0], n, pp))
    # a non-integer n is truncated, as scipy does
    out, _ = fgrad.vjp(lambda p: stats.multinomial.logpmf(x[0], 6.7, p), p)
    np.testing.assert_allclose(out, ss.multinomial.logpmf(x[0], 6.7, p), rtol=1e-12)
    # closed forms: d/dp = x/p; d/dx = log p - digamma(x + 1); d/dn = digamma(n + 1)
    np.testing.assert_allclose(fgrad.grad(stats.multinomial.logpmf, argnums=2)(x[0], 6, p),
                               x[0] / p, rtol=1e-14)
    np.testing.assert_allclose(fgrad.grad(stats.multinomial.logpmf)(x[0], 6.0, p),
                               np.log(p) - sc.digamma(x[0] + 1), rtol=1e-12)
    np.testing.assert_allclose(fgrad.grad(stats.multinomial.logpmf, argnums=1)(x[0], 6.0, p),
                               sc.digamma(7.0), rtol=1e-12)
    # off the support: -inf with a zero derivative
    out, vjp = fgrad.vjp(lambda p: stats.multinomial.logpmf(x[3:], 6, p), p)
    assert np.all(out == -np.inf) and np.all(vjp(np.ones(2))[0] == 0)
    # second order on the simplex (p = w / sum(w): scipy adjusts rows off it)
    fgrad.check_grads(lambda w: stats.multinomial.logpmf(x[:2], 6, w / fnp.sum(w)), (p * 2.0,),
                      order=2)
    fgrad.check_grads(lambda w: stats.multinomial.pmf(x[:2], 6, w / fnp.sum(w)), (p * 2.0,),
                      order=2)
    # a row of p off the simplex: what the installed scipy does (up to 1.17 it replaces the
    # last entry, 1.15-1.17 with a FutureWarning; from 1.18 on it returns nan)
    q = np.array([0.2, 0.3, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        want = ss.multinomial.logpmf(x[0], 6, q)
    out, _ = fgrad.vjp(lambda q: stats.multinomial.logpmf(x[0], 6, q), q)
    np.testing.assert_allclose(out, want, rtol=1e-12)


MVT_SHAPE = np.array([[2.0, 0.3, -0.2], [0.3, 1.0, 0.1], [-0.2, 0.1, 1.5]])
MVT_LOC = np.array([0.1, -0.4, 0.2])
MVT_X = np.array([[0.5, 0.2, -1.0], [1.5, -0.3, 0.4]])


def test_multivariate_t_values_and_second_order():
    cases = [(MVT_X, MVT_LOC, MVT_SHAPE, 4.5), (MVT_X[0], MVT_LOC, MVT_SHAPE, 2.0),
             (MVT_X, MVT_LOC, np.array([1.0, 2.0, 0.5]), 3.0), (MVT_X, MVT_LOC, None, 7.0),
             (np.array([0.3, -1.2]), None, 2.0, 1.5), (0.3, 1.0, 2.0, 1.0)]
    for x, loc, shape, df in cases:
        for m in ("logpdf", "pdf"):
            f = getattr(stats.multivariate_t, m)
            want = getattr(ss.multivariate_t, m)(x, loc, shape, df)
            out, _ = fgrad.vjp(lambda x, df: f(x, loc, shape, df), np.asarray(x, float), df)
            np.testing.assert_allclose(out, want, rtol=1e-12)
            assert np.shape(out) == np.shape(want)
    # df = inf: scipy's multivariate normal (scipy 1.15's multivariate_t raises TypeError there)
    want = ss.multivariate_normal.logpdf(MVT_X, MVT_LOC, MVT_SHAPE)
    out, _ = fgrad.vjp(lambda x: stats.multivariate_t.logpdf(x, MVT_LOC, MVT_SHAPE, np.inf), MVT_X)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    np.testing.assert_allclose(stats.multivariate_t.logpdf(MVT_X, MVT_LOC, MVT_SHAPE, df=np.inf),
                               want, rtol=1e-12)
    np.testing.assert_allclose(stats.multivariate_t.pdf(MVT_X, MVT_LOC, MVT_SHAPE, np.inf),
                               np.exp(want), rtol=1e-12)
    fgrad.check_grads(lambda x, loc, a, df: stats.multivariate_t.logpdf(
        x, loc, a @ a.T + np.eye(3), df), (MVT_X, MVT_LOC, np.linalg.cholesky(MVT_SHAPE), 4.5),
        order=2)
    fgrad.check_grads(lambda x, s, df: stats.multivariate_t.pdf(x, MVT_LOC, s, df),
                      (MVT_X[0], np.array([1.0, 2.0, 0.5]), 3.0), order=2)
    with pytest.raises(ValueError, match="df"):
        fgrad.grad(lambda x: stats.multivariate_t.logpdf(x, MVT_LOC, MVT_SHAPE, -1.0))(MVT_X[0])


def test_multivariate_t_closed_forms():
    x, df = MVT_X[0], 4.5
    dev = x - MVT_LOC
    sinv = np.linalg.inv(MVT_SHAPE)
    maha = dev @ sinv @ dev
    gx, gl, gdf = fgrad.grad(stats.multivariate_t.logpdf, argnums=(0, 1, 3))(
        x, MVT_LOC, MVT_SHAPE, df)
    want = -(df + 3) * (sinv @ dev) / (df + maha)
    np.testing.assert_allclose(gx, want, rtol=1e-12)
    np.testing.assert_allclose(gl, -want, rtol=1e-12)
    want_df = 0.5 * (sc.digamma((df + 3) / 2) - sc.digamma(df / 2) - 3 / df
                     - np.log1p(maha / df) + (df + 3) * maha / (df * (df + maha)))
    np.testing.assert_allclose(gdf, want_df, rtol=1e-12)


def _wishart_x(a):
    return a @ fnp.swapaxes(a, -1, -2) + np.eye(3)


W_A = np.array([[0.4, -0.2, 0.1], [0.3, 0.5, -0.6], [0.0, 0.2, 0.7]])
W_SCALE = np.array([[1.5, 0.2, 0.1], [0.2, 0.8, -0.1], [0.1, -0.1, 1.1]])


def test_wishart():
    X = _wishart_x(W_A)
    stack = np.stack([X, 2.0 * X, X + np.eye(3)], axis=-1)  # matrices on the last axis
    for x, df, scale in [(X, 4.5, W_SCALE), (stack, 3.0, W_SCALE), (stack, 5.0, np.array([1.0, 2.0, 0.5])),
                         (np.array([0.5, 2.0]), 2.5, np.array([1.0, 3.0])),
                         (np.array([0.5, 2.0]), 1.5, 2.0), (1.3, 2.0, 0.7)]:
        for m in ("logpdf", "pdf"):
            f = getattr(stats.wishart, m)
            want = getattr(ss.wishart, m)(x, df, scale)
            out, _ = fgrad.vjp(lambda x, df: f(x, df, scale), np.asarray(x, float), df)
            # slogdet (LU) where scipy takes its log determinants from Cholesky factors
            np.testing.assert_allclose(out, want, rtol=1e-12)
            assert np.shape(out) == np.shape(want)
    # closed forms: d/dX = (df - p - 1)/2 X^-1 - S^-1/2, d/dS = S^-1 (X - df S) S^-1 / 2
    gx, gdf, gs = fgrad.grad(stats.wishart.logpdf, argnums=(0, 1, 2))(X, 4.5, W_SCALE)
    sinv = np.linalg.inv(W_SCALE)
    np.testing.assert_allclose(gx, 0.25 * np.linalg.inv(X) - 0.5 * sinv, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gs, 0.5 * sinv @ (X - 4.5 * W_SCALE) @ sinv, rtol=1e-12,
                               atol=1e-14)
    want = 0.5 * (np.linalg.slogdet(X)[1] - 3 * np.log(2) - np.linalg.slogdet(W_SCALE)[1]
                  - sum(sc.digamma(2.25 - 0.5 * j) for j in range(3)))
    np.testing.assert_allclose(gdf, want, rtol=1e-12)
    # second order through SPD matrices built from free ones
    b = np.linalg.cholesky(W_SCALE)
    fgrad.check_grads(lambda a, df, b: stats.wishart.logpdf(_wishart_x(a), df, b @ b.T),
                      (W_A, 4.5, b), order=2)
    fgrad.check_grads(lambda a, df: stats.wishart.pdf(_wishart_x(a) / 3.0, df, W_SCALE),
                      (W_A, 4.5), order=2)
    with pytest.raises(ValueError, match="Degrees of freedom"):
        fgrad.grad(lambda s: stats.wishart.logpdf(X, 1.5, s))(W_SCALE)
    with pytest.raises(np.linalg.LinAlgError, match="positive definite"):
        fgrad.grad(lambda df: stats.wishart.logpdf(-X, df, W_SCALE))(4.5)


def test_multivariate_vmap_equals_a_loop():
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(4, 3))
    dfs = np.array([1.5, 3.0, 7.0, 20.0])
    got = fgrad.vmap(lambda x, df: stats.multivariate_t.logpdf(x, MVT_LOC, MVT_SHAPE, df))(xs, dfs)
    want = [ss.multivariate_t.logpdf(x, MVT_LOC, MVT_SHAPE, df) for x, df in zip(xs, dfs)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    a = rng.normal(size=(4, 3, 3)) * 0.5
    got = fgrad.vmap(lambda a: stats.wishart.logpdf(_wishart_x(a), 4.0, W_SCALE))(a)
    want = [ss.wishart.logpdf(np.eye(3) + m @ m.T, 4.0, W_SCALE) for m in a]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    ps = rng.dirichlet(np.ones(3), size=4)
    x = np.array([1.0, 2.0, 3.0])
    got = fgrad.vmap(fgrad.grad(lambda p: stats.multinomial.logpmf(x, 6, p)))(ps)
    np.testing.assert_allclose(got, x / ps, rtol=1e-14)
    for name in ("multinomial", "multivariate_t", "wishart"):
        assert name in stats.__all__


def test_dirichlet_under_vmap_over_points():
    X = np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.7, 0.2, 0.1]])
    a = np.array([1.5, 2.0, 3.0])
    got = fgrad.vmap(lambda x: stats.dirichlet.logpdf(x, a))(X)
    np.testing.assert_allclose(got, [ss.dirichlet.logpdf(x, a) for x in X], rtol=1e-12)
    g = fgrad.vmap(fgrad.grad(lambda x: stats.dirichlet.logpdf(x, a)))(X)
    np.testing.assert_allclose(g, (a - 1) / X, rtol=1e-12)  # d/dx_i of (a_i - 1) log x_i
