"""Inverse special functions (gammaincinv, gammainccinv, betaincinv, betainccinv,
stdtrit) and the quantile / log-CDF methods of fgrad.scipy.stats.

Values are compared with scipy, derivatives with closed forms computed from
scipy.stats densities (an independent implementation), with the other mode and
with finite differences (check_grads), and the shape parameters must refuse to be
differentiated.
"""

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")
ss = pytest.importorskip("scipy.stats")

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402
from fgrad.batching import vmap  # noqa: E402
from fgrad.scipy import special as fsp  # noqa: E402
from fgrad.scipy import stats as fst  # noqa: E402

RNG = np.random.default_rng(1234)
A = RNG.uniform(0.5, 4.0, size=7)
B = RNG.uniform(0.5, 4.0, size=7)
DF = RNG.uniform(1.0, 12.0, size=7)
Y = RNG.uniform(0.05, 0.95, size=7)


def _traced_value(f, x):
    """The primal output of ``f`` at ``x`` under forward and reverse mode."""
    fwd, _ = fgrad.jvp(f, (x,), (np.ones_like(x),))
    rev, _ = fgrad.vjp(f, x)
    return fwd, rev


# --- the rows: values, inverse identities, derivatives ------------------------------------

INVERSES = [
    # (name, fgrad function of y, scipy value, forward function, density of x at the answer)
    ("gammaincinv", lambda y: fsp.gammaincinv(A, y), sc.gammaincinv(A, Y),
     lambda x: sc.gammainc(A, x), lambda x: ss.gamma.pdf(x, A)),
    ("gammainccinv", lambda y: fsp.gammainccinv(A, y), sc.gammainccinv(A, Y),
     lambda x: sc.gammaincc(A, x), lambda x: -ss.gamma.pdf(x, A)),
    ("betaincinv", lambda y: fsp.betaincinv(A, B, y), sc.betaincinv(A, B, Y),
     lambda x: sc.betainc(A, B, x), lambda x: ss.beta.pdf(x, A, B)),
    ("betainccinv", lambda y: fsp.betainccinv(A, B, y), sc.betainccinv(A, B, Y),
     lambda x: sc.betaincc(A, B, x), lambda x: -ss.beta.pdf(x, A, B)),
    ("stdtrit", lambda y: fsp.stdtrit(DF, y), sc.stdtrit(DF, Y),
     lambda x: sc.stdtr(DF, x), lambda x: ss.t.pdf(x, DF)),
]
IDS = [c[0] for c in INVERSES]


@pytest.mark.parametrize("case", INVERSES, ids=IDS)
def test_inverse_values_equal_scipy_under_a_trace(case):
    _, f, want, _, _ = case
    np.testing.assert_array_equal(f(Y), want)  # plain inputs: scipy's own result
    for got in _traced_value(f, Y):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", INVERSES, ids=IDS)
def test_inverse_identity_and_its_derivative(case):
    name, f, want, forward, _ = case
    # stdtrit is solved by scipy to about 3e-14 in p; the others to ~1e-15
    np.testing.assert_allclose(forward(want), Y, rtol=0, atol=1e-12)
    comp = {
        "gammaincinv": lambda y: fsp.gammainc(A, fsp.gammaincinv(A, y)),
        "gammainccinv": lambda y: fsp.gammaincc(A, fsp.gammainccinv(A, y)),
        "betaincinv": lambda y: fsp.betainc(A, B, fsp.betaincinv(A, B, y)),
        "betainccinv": lambda y: fsp.betaincc(A, B, fsp.betainccinv(A, B, y)),
        "stdtrit": lambda y: fsp.stdtr(DF, fsp.stdtrit(DF, y)),
    }[name]
    np.testing.assert_allclose(comp(Y), Y, rtol=0, atol=1e-12)
    # d/dy F(F^-1(y)) = 1 in both modes, and its derivative is 0
    _, t = fgrad.jvp(comp, (Y,), (np.ones_like(Y),))
    np.testing.assert_allclose(t, 1.0, rtol=1e-10)
    g = fgrad.grad(lambda y: fnp.sum(comp(y)))(Y)
    np.testing.assert_allclose(g, 1.0, rtol=1e-10)
    h = fgrad.grad(lambda y: fnp.sum(fgrad.grad(lambda z: fnp.sum(comp(z)))(y)))(Y)
    np.testing.assert_allclose(h, 0.0, atol=1e-8)


@pytest.mark.parametrize("case", INVERSES, ids=IDS)
def test_inverse_derivatives_match_the_density(case):
    # x = F^-1(y): x' = 1 / f(x), x'' = -f'(x) x' / f(x)^2 = -f'(x) / f(x)^3
    _, f, x, _, dens = case
    d1 = 1.0 / dens(x)
    g = fgrad.grad(lambda y: fnp.sum(f(y)))(Y)
    np.testing.assert_allclose(g, d1, rtol=1e-10)
    _, t = fgrad.jvp(f, (Y,), (np.ones_like(Y),))
    np.testing.assert_allclose(t, d1, rtol=1e-10)
    eps = 1e-5  # f'(x) by central differences of scipy's density
    fprime = (dens(x + eps) - dens(x - eps)) / (2 * eps)
    want = -fprime / dens(x) ** 3
    got = fgrad.grad(lambda y: fnp.sum(fgrad.grad(lambda z: fnp.sum(f(z)))(y)))(Y)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got_fwd = fgrad.jacfwd(lambda y: fgrad.jacfwd(f)(y).diagonal())(Y).diagonal()
    np.testing.assert_allclose(got_fwd, want, rtol=1e-6)


def test_inverse_check_grads_order_2_with_broadcasting():
    y = Y[:3]
    a = A[:3].reshape(3, 1)
    fgrad.check_grads(lambda y: fsp.gammaincinv(a, y), (y,), order=2)
    fgrad.check_grads(lambda y: fsp.gammainccinv(a, y), (y,), order=2)
    fgrad.check_grads(lambda y: fsp.betaincinv(a, 2.5, y), (y,), order=2)
    fgrad.check_grads(lambda y: fsp.betainccinv(1.5, a, y), (y,), order=2)
    fgrad.check_grads(lambda y: fsp.stdtrit(a * 2, y), (y,), order=2)


def test_known_closed_forms():
    y = np.array([0.1, 0.5, 0.9])
    # a = 1: exponential distribution, x = -log(1 - y), dx/dy = 1 / (1 - y)
    np.testing.assert_allclose(fsp.gammaincinv(1.0, y), -np.log1p(-y), rtol=1e-13)
    g = fgrad.grad(lambda y: fnp.sum(fsp.gammaincinv(1.0, y)))(y)
    np.testing.assert_allclose(g, 1.0 / (1.0 - y), rtol=1e-12)
    # betainc(a, 1, x) = x**a: x = y**(1/a)
    g = fgrad.grad(lambda y: fnp.sum(fsp.betaincinv(3.0, 1.0, y)))(y)
    np.testing.assert_allclose(g, y ** (1.0 / 3.0 - 1.0) / 3.0, rtol=1e-12)
    # df = 1: Cauchy, t = tan(pi (p - 1/2)), dt/dp = pi / cos^2 = pi (1 + t^2); the slope is
    # checked at the t scipy returns (scipy < 1.16's stdtrit is accurate to ~1e-11 only)
    g = fgrad.grad(lambda y: fnp.sum(fsp.stdtrit(1.0, y)))(y)
    np.testing.assert_allclose(fsp.stdtrit(1.0, y), np.tan(np.pi * (y - 0.5)), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(g, np.pi * (1.0 + np.asarray(fsp.stdtrit(1.0, y)) ** 2), rtol=1e-12)


@pytest.mark.parametrize("f, argnum, name", [
    (fsp.betaincinv, 0, "special.betaincinv"),
    (fsp.betaincinv, 1, "special.betaincinv"),
    (fsp.betainccinv, 1, "special.betainccinv"),
    (fsp.betaincc, 0, "special.betaincc"),
    (fsp.stdtrit, 0, "special.stdtrit"),
])
def test_shape_parameter_derivatives_are_refused(f, argnum, name):
    args = [1.5, 2.0, 0.3] if f in (fsp.betaincinv, fsp.betainccinv, fsp.betaincc) else [1.5, 0.3]
    for transform in (fgrad.grad, lambda fn, argnums: fgrad.jacfwd(fn, argnums=argnums)):
        with pytest.raises(TypeError, match=f"{name}.*argument {argnum}"):
            transform(f, argnums=argnum)(*args)
    # the other arguments still differentiate, with the shape parameter held fixed
    assert np.isfinite(fgrad.grad(f, argnums=len(args) - 1)(*args))


def test_scipy_ufuncs_dispatch_to_the_rows():
    g = fgrad.grad(lambda y: sc.gammaincinv(2.0, y))(0.3)
    np.testing.assert_allclose(g, 1.0 / ss.gamma.pdf(sc.gammaincinv(2.0, 0.3), 2.0), rtol=1e-12)
    g = fgrad.grad(lambda p: sc.stdtrit(3.0, p))(0.7)
    np.testing.assert_allclose(g, 1.0 / ss.t.pdf(sc.stdtrit(3.0, 0.7), 3.0), rtol=1e-12)


def test_inverses_batch():
    f = vmap(lambda a, y: fsp.betaincinv(a, 2.0, y))
    np.testing.assert_allclose(f(A, Y), sc.betaincinv(A, 2.0, Y), rtol=1e-14)
    g = vmap(fgrad.grad(lambda y: fsp.stdtrit(4.0, y)))(Y)
    np.testing.assert_allclose(g, 1.0 / ss.t.pdf(sc.stdtrit(4.0, Y), 4.0), rtol=1e-12)


# --- the distribution methods -----------------------------------------------------------------

X = np.array([-0.5, 0.2, 0.5, 0.9, 1.7, 3.0])
Q = np.array([0.0, 0.05, 0.3, 0.5, 0.8, 1.0])
LOC, SCALE = 0.2, 1.3

METHODS = [
    # (distribution, method, first argument, shape arguments)
    ("t", "logcdf", X, (3.5,)), ("t", "logsf", X, (3.5,)),
    ("t", "ppf", Q, (3.5,)), ("t", "isf", Q, (3.5,)),
    ("beta", "logcdf", X, (2.5, 1.5)), ("beta", "sf", X, (2.5, 1.5)),
    ("beta", "logsf", X, (2.5, 1.5)), ("beta", "ppf", Q, (2.5, 1.5)),
    ("beta", "isf", Q, (2.5, 1.5)),
    ("gamma", "logcdf", X, (2.5,)), ("gamma", "logsf", X, (2.5,)),
    ("gamma", "ppf", Q, (2.5,)), ("gamma", "isf", Q, (2.5,)),
]


@pytest.mark.parametrize("dist, method, x, shapes", METHODS,
                         ids=[f"{d}.{m}" for d, m, _, _ in METHODS])
def test_method_values_equal_scipy(dist, method, x, shapes):
    ours, theirs = getattr(getattr(fst, dist), method), getattr(getattr(ss, dist), method)
    want = theirs(x, *shapes, LOC, SCALE)
    np.testing.assert_array_equal(ours(x, *shapes, LOC, SCALE), want)
    with np.errstate(divide="ignore", invalid="ignore"):  # q = 0, 1 give infinite slopes
        for got in _traced_value(lambda x: ours(x, *shapes, LOC, SCALE), x):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        # traced in loc and scale too
        got = fgrad.jvp(lambda lo, s: ours(x, *shapes, lo, s), (LOC, SCALE), (1.0, 1.0))[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


INTERIOR = {"ppf": np.array([0.1, 0.4, 0.75]), "isf": np.array([0.1, 0.4, 0.75])}


@pytest.mark.parametrize("dist, method, x, shapes", METHODS,
                         ids=[f"{d}.{m}" for d, m, _, _ in METHODS])
def test_method_check_grads(dist, method, x, shapes):
    f = getattr(getattr(fst, dist), method)
    pts = INTERIOR.get(method, np.array([0.3, 0.5, 0.8]))
    fgrad.check_grads(lambda x, lo, s: f(x, *shapes, lo, s), (pts, LOC * 0.1, SCALE), order=2)


def test_quantile_derivative_is_one_over_density():
    q = np.array([0.1, 0.4, 0.75])
    for dist, shapes in (("t", (3.5,)), ("beta", (2.5, 1.5)), ("gamma", (2.5,))):
        x = getattr(ss, dist).ppf(q, *shapes, LOC, SCALE)
        pdf = getattr(ss, dist).pdf(x, *shapes, LOC, SCALE)
        ppf = getattr(fst, dist).ppf
        isf = getattr(fst, dist).isf
        g = fgrad.grad(lambda q: fnp.sum(ppf(q, *shapes, LOC, SCALE)))(q)
        np.testing.assert_allclose(g, 1.0 / pdf, rtol=1e-10, err_msg=dist)
        xi = getattr(ss, dist).isf(q, *shapes, LOC, SCALE)
        pdf_i = getattr(ss, dist).pdf(xi, *shapes, LOC, SCALE)
        g = fgrad.grad(lambda q: fnp.sum(isf(q, *shapes, LOC, SCALE)))(q)
        np.testing.assert_allclose(g, -1.0 / pdf_i, rtol=1e-10, err_msg=dist)
        # ppf then cdf is the identity, also in its derivative
        cdf = getattr(fst, dist).cdf
        g = fgrad.grad(lambda q: fnp.sum(cdf(ppf(q, *shapes, LOC, SCALE), *shapes, LOC, SCALE)))(q)
        np.testing.assert_allclose(g, 1.0, rtol=1e-10, err_msg=dist)


def test_log_methods_derivatives_are_density_ratios():
    x = np.array([0.3, 0.5, 0.8])
    for dist, shapes in (("t", (3.5,)), ("beta", (2.5, 1.5)), ("gamma", (2.5,))):
        d = getattr(ss, dist)
        ours = getattr(fst, dist)
        g = fgrad.grad(lambda x: fnp.sum(ours.logcdf(x, *shapes)))(x)
        np.testing.assert_allclose(g, d.pdf(x, *shapes) / d.cdf(x, *shapes), rtol=1e-10)
        g = fgrad.grad(lambda x: fnp.sum(ours.logsf(x, *shapes)))(x)
        np.testing.assert_allclose(g, -d.pdf(x, *shapes) / d.sf(x, *shapes), rtol=1e-10)
    g = fgrad.grad(lambda x: fnp.sum(fst.beta.sf(x, 2.5, 1.5)))(x)
    np.testing.assert_allclose(g, -ss.beta.pdf(x, 2.5, 1.5), rtol=1e-10)


def test_log_methods_outside_the_support_have_finite_derivatives():
    x = np.array([-0.5, 1.5])
    for f in (fst.beta.logcdf, fst.beta.logsf, fst.beta.sf):
        g = fgrad.grad(lambda x: fnp.sum(f(x, 2.0, 3.0)))(x)
        np.testing.assert_array_equal(g, 0.0)
    for f in (fst.gamma.logcdf, fst.gamma.logsf):
        g = fgrad.grad(lambda x: fnp.sum(f(x, 2.0)))(np.array([-0.5]))
        np.testing.assert_array_equal(g, 0.0)


@pytest.mark.parametrize("method, args", [
    ("t.ppf", (0.3, 2.0)), ("t.logcdf", (0.3, 2.0)),
    ("beta.ppf", (0.3, 2.0, 3.0)), ("beta.logsf", (0.3, 2.0, 3.0)),
])
def test_method_shape_parameter_derivatives_are_refused(method, args):
    dist, name = method.split(".")
    f = getattr(getattr(fst, dist), name)
    with pytest.raises(TypeError, match="not differentiable with respect to its argument"):
        fgrad.grad(f, argnums=1)(*args)


def test_gamma_log_methods_differentiate_in_the_shape():
    # gammainc / gammaincc have derivatives in their shape argument (issue 16)
    h = 1e-5
    for name in ("cdf", "logcdf", "sf", "logsf", "ppf", "isf"):
        g = fgrad.grad(getattr(fst.gamma, name), argnums=1)(0.3, 2.0)
        f = getattr(ss.gamma, name)
        np.testing.assert_allclose(g, (f(0.3, 2.0 + h) - f(0.3, 2.0 - h)) / (2 * h), rtol=1e-7)


# --- poisson ------------------------------------------------------------------------------------

K = np.array([-1.0, 0.0, 1.0, 2.5, 4.0, 9.0])
MU = np.array([0.5, 1.0, 2.0, 3.0, 4.5, 6.0])


@pytest.mark.parametrize("method", ["logcdf", "logsf"])
def test_poisson_log_methods(method):
    ours, theirs = getattr(fst.poisson, method), getattr(ss.poisson, method)
    want = theirs(K, MU, 0.5)
    np.testing.assert_array_equal(ours(K, MU, 0.5), want)
    for got in _traced_value(lambda mu: ours(K, mu, 0.5), MU):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    k = np.array([0.0, 1.0, 3.0])
    fgrad.check_grads(lambda mu: ours(k, mu), (np.array([0.7, 2.0, 4.0]),), order=2)
    # d/dmu log cdf = -pmf(k) / cdf(k); d/dmu log sf = pmf(k) / sf(k)
    mu = np.array([0.7, 2.0, 4.0])
    g = fgrad.grad(lambda mu: fnp.sum(ours(k, mu)))(mu)
    pmf = ss.poisson.pmf(k, mu)
    want = -pmf / ss.poisson.cdf(k, mu) if method == "logcdf" else pmf / ss.poisson.sf(k, mu)
    np.testing.assert_allclose(g, want, rtol=1e-10)


@pytest.mark.parametrize("method", ["ppf", "isf"])
def test_poisson_quantiles_are_scipys_integers_without_derivative(method):
    ours, theirs = getattr(fst.poisson, method), getattr(ss.poisson, method)
    q = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    want = theirs(q, 3.0, 1)
    np.testing.assert_array_equal(ours(q, 3.0, 1), want)
    out, vjp = fgrad.vjp(lambda q, mu: ours(q, mu, 1), q, 3.0)
    np.testing.assert_array_equal(out, want)
    gq, gmu = vjp(np.ones_like(out))
    np.testing.assert_array_equal(gq, 0.0)
    assert gmu == 0.0
    _, t = fgrad.jvp(lambda mu: ours(q, mu, 1), (3.0,), (1.0,))
    np.testing.assert_array_equal(t, 0.0)
    got = vmap(lambda mu: ours(0.5, mu))(MU)
    np.testing.assert_array_equal(got, theirs(0.5, MU))
    # batched along axis 1 against an unbatched argument of another rank, and loc batched
    qs = RNG.uniform(0, 1, size=(4, 3, 2))
    got = vmap(lambda q, mu: ours(q, mu), in_axes=(1, None))(qs, MU[:2])
    np.testing.assert_array_equal(got, np.stack([theirs(qs[:, i], MU[:2]) for i in range(3)]))
    got = vmap(lambda loc: ours(q, 2.0, loc))(np.array([0, 1, 2]))
    np.testing.assert_array_equal(got, np.stack([theirs(q, 2.0, lo) for lo in (0, 1, 2)]))


def test_t_quantiles_at_the_ends_match_scipy_stats():
    # scipy.special.stdtrit(df, 0) is +inf; scipy.stats.t.ppf(0) is -inf: ours too, and the
    # slope at the ends is the limit +inf (not NaN, not 0) in both modes
    q = np.array([0.0, 0.5, 1.0])
    np.testing.assert_array_equal(fst.t.ppf(q, 2.0), ss.t.ppf(q, 2.0))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        val, tan = fgrad.jvp(lambda q: fst.t.ppf(q, 2.0), (q,), (np.ones(3),))
        g = fgrad.grad(lambda q: fnp.sum(fst.t.ppf(q, 2.0)))(q)
        np.testing.assert_array_equal(val, ss.t.ppf(q, 2.0))  # the median: 0 (scipy < 1.16: 7e-17)
        assert np.isneginf(val[0]) and np.isposinf(val[2])
        np.testing.assert_array_equal(fgrad.jvp(lambda q: fst.t.isf(q, 2.0), (q,), (np.ones(3),))[0],
                                      ss.t.isf(q, 2.0))
    for d in (tan, g):
        assert np.isposinf(d[0]) and np.isposinf(d[2])
        np.testing.assert_allclose(d[1], 1.0 / ss.t.pdf(0.0, 2.0), rtol=1e-12)
