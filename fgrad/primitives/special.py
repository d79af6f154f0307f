"""Rows of the rule table: scipy functions (scipy.special, and scipy.linalg's
solve_triangular and expm).

scipy is optional: it is imported lazily, the first time one of these
implementations runs, so ``import fgrad`` never imports scipy and fgrad works
without it.  Calling one of these functions without scipy raises an ImportError
that says how to install it.  The public, scipy-shaped functions are in
:mod:`fgrad.scipy`; the rows here are named ``special.<name>`` and
``scipy.linalg.<name>`` in the table, so they never collide with numpy's rows.

Every rule is written with fgrad.numpy, so derivatives of any order are traced.
Where scipy offers no formula for a derivative (e.g. ``gammainc`` in its shape
parameter ``a``) the rule is ``None``: differentiating with respect to that
argument raises a TypeError naming it, never a silent zero.
"""

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from .. import numpy as fnp
from ..core import concrete, defelementwise, defprim

__all__ = []

_SCIPY = {}


def scipy_module(name="special"):
    """``scipy.<name>``, imported on first use, with a helpful error if scipy is missing."""
    mod = _SCIPY.get(name)
    if mod is None:
        try:
            import importlib

            mod = importlib.import_module(f"scipy.{name}")
        except ImportError as err:  # pragma: no cover - exercised in a subprocess test
            raise ImportError(
                f"this fgrad function wraps scipy.{name}, but scipy is not installed. "
                "Install it with `pip install scipy` (or `pip install fgrad[scipy]`)."
            ) from err
        _SCIPY[name] = mod
    return mod


def _sc(name, module="special"):
    """A lazy implementation: ``scipy.<module>.<name>`` looked up at call time."""

    def impl(*args, **params):
        return getattr(scipy_module(module), name)(*args, **params)

    impl.__name__ = name
    impl.__qualname__ = name
    impl.__doc__ = f"``scipy.{module}.{name}`` (imported lazily)."
    return impl


_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _elementwise(name, *partials, test=None):
    return defelementwise(f"special.{name}", _sc(name), *partials, test=test)


# --- error function and the normal distribution --------------------------------

erf = _elementwise(
    "erf", lambda ans, x: fnp.multiply(2.0 / _SQRT_PI, fnp.exp(fnp.negative(fnp.square(x)))),
    test={"complex": True},
)
erfc = _elementwise(
    "erfc", lambda ans, x: fnp.multiply(-2.0 / _SQRT_PI, fnp.exp(fnp.negative(fnp.square(x)))),
    test={"complex": True},
)
erfcx = _elementwise(  # exp(x^2) erfc(x): d = 2 x erfcx(x) - 2/sqrt(pi)
    "erfcx", lambda ans, x: fnp.subtract(fnp.multiply(fnp.multiply(2.0, x), ans), 2.0 / _SQRT_PI),
)
erfinv = _elementwise(
    "erfinv", lambda ans, x: fnp.multiply(_SQRT_PI / 2.0, fnp.exp(fnp.square(ans))),
    test={"domain": [(-0.9, 0.9)]},
)
erfcinv = _elementwise(
    "erfcinv", lambda ans, x: fnp.multiply(-_SQRT_PI / 2.0, fnp.exp(fnp.square(ans))),
    test={"domain": [(0.1, 1.9)]},
)


def _normal_density(x):
    return fnp.exp(fnp.subtract(fnp.multiply(-0.5, fnp.square(x)), _HALF_LOG_2PI))


ndtr = _elementwise("ndtr", lambda ans, x: _normal_density(x))
ndtri = _elementwise(
    "ndtri", lambda ans, x: fnp.multiply(_SQRT_2PI, fnp.exp(fnp.multiply(0.5, fnp.square(ans)))),
    test={"domain": [(0.05, 0.95)]},
)
# d log(Phi(x)) = phi(x) / Phi(x) = exp(-x^2/2 - log(2 pi)/2 - log_ndtr(x)): stable in the tail
log_ndtr = _elementwise(
    "log_ndtr",
    lambda ans, x: fnp.exp(fnp.subtract(
        fnp.subtract(fnp.multiply(-0.5, fnp.square(x)), _HALF_LOG_2PI), ans)),
    test={"domain": [(-4.0, 2.0)]},
)

# --- logistic ----------------------------------------------------------------------

expit = _elementwise("expit", lambda ans, x: fnp.multiply(ans, fnp.subtract(1.0, ans)))
logit = _elementwise(
    "logit", lambda ans, x: fnp.reciprocal(fnp.multiply(x, fnp.subtract(1.0, x))),
    test={"domain": [(0.05, 0.95)]},
)
# log(expit(x)): d = 1 - expit(x) = expit(-x), never overflows
log_expit = _elementwise("log_expit", lambda ans, x: expit(fnp.negative(x)))


def _softplus_impl(x):
    sc = scipy_module()
    if hasattr(sc, "softplus"):  # scipy >= 1.15
        return sc.softplus(x)
    return np.logaddexp(0.0, x)  # pragma: no cover


# log(1 + exp(x)): d = expit(x)
softplus = defelementwise("special.softplus", _softplus_impl, lambda ans, x: expit(x))

# --- gamma family ------------------------------------------------------------------

polygamma = defelementwise(
    "special.polygamma", _sc("polygamma"),
    None,
    lambda ans, n, x: polygamma(fnp.add(n, 1), x),
    test={"make": lambda rng, shape: (
        (rng.integers(0, 3, size=shape), rng.uniform(0.5, 3.0, size=shape)), {})},
)
digamma = _elementwise(
    "digamma", lambda ans, x: polygamma(1, x), test={"domain": [(0.5, 3.0)]}
)
gammaln = _elementwise("gammaln", lambda ans, x: digamma(x), test={"domain": [(0.5, 3.0)]})
gamma = _elementwise(
    "gamma", lambda ans, x: fnp.multiply(ans, digamma(x)), test={"domain": [(0.5, 3.0)]}
)
rgamma = _elementwise(
    "rgamma", lambda ans, x: fnp.negative(fnp.multiply(ans, digamma(x))),
    test={"domain": [(0.5, 3.0)]},
)


def _digamma_diff(a, b):
    return fnp.subtract(digamma(a), digamma(fnp.add(a, b)))


betaln = _elementwise(
    "betaln",
    lambda ans, a, b: _digamma_diff(a, b),
    lambda ans, a, b: _digamma_diff(b, a),
    test={"domain": [(0.5, 3.0), (0.5, 3.0)]},
)
beta = _elementwise(
    "beta",
    lambda ans, a, b: fnp.multiply(ans, _digamma_diff(a, b)),
    lambda ans, a, b: fnp.multiply(ans, _digamma_diff(b, a)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0)]},
)


def _zeta_impl(x, q):
    return scipy_module().zeta(x, q)


# Hurwitz zeta(x, q): d/dq = -x zeta(x + 1, q); scipy has no derivative in x.
zeta = defelementwise(
    "special.zeta", _zeta_impl,
    None,
    lambda ans, x, q: fnp.negative(fnp.multiply(x, zeta(fnp.add(x, 1.0), q))),
    test={"domain": [(1.5, 4.0), (0.5, 2.0)]},
)


# Regularised incomplete gamma and beta functions: derivatives in x only (the
# derivative in the shape parameters has no closed form in scipy).
def _gammainc_dx(ans, a, x):
    # x^(a-1) e^(-x) / Gamma(a), in log space
    return fnp.exp(fnp.subtract(fnp.subtract(xlogy(fnp.subtract(a, 1.0), x), x), gammaln(a)))


gammainc = _elementwise(
    "gammainc", None, _gammainc_dx, test={"domain": [(0.5, 3.0), (0.2, 3.0)]}
)
gammaincc = _elementwise(
    "gammaincc", None, lambda ans, a, x: fnp.negative(_gammainc_dx(ans, a, x)),
    test={"domain": [(0.5, 3.0), (0.2, 3.0)]},
)


def _betainc_dx(ans, a, b, x):
    # x^(a-1) (1-x)^(b-1) / B(a, b), in log space
    return fnp.exp(fnp.subtract(
        fnp.add(xlogy(fnp.subtract(a, 1.0), x), xlog1py(fnp.subtract(b, 1.0), fnp.negative(x))),
        betaln(a, b)))


betainc = _elementwise(
    "betainc", None, None, _betainc_dx,
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.1, 0.9)]},
)


def _stdtr_dt(ans, df, t):
    # Student's t density
    half = fnp.multiply(0.5, fnp.add(df, 1.0))
    log_c = fnp.subtract(
        fnp.subtract(gammaln(half), gammaln(fnp.multiply(0.5, df))),
        fnp.multiply(0.5, fnp.log(fnp.multiply(math.pi, df))))
    return fnp.exp(fnp.subtract(log_c, fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(t), df)))))


stdtr = _elementwise("stdtr", None, _stdtr_dt, test={"domain": [(1.0, 10.0), (-2.0, 2.0)]})

# upper regularised incomplete beta 1 - betainc, computed directly (accurate near 1)
betaincc = _elementwise(
    "betaincc", None, None, lambda ans, a, b, x: fnp.negative(_betainc_dx(ans, a, b, x)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.1, 0.9)]},
)

# --- inverses of the distribution functions ----------------------------------------------
# x = F^-1(y) with F(x) = y: the implicit function theorem gives dx/dy = 1 / F'(x), and
# F' is the density above, evaluated at the answer.  The rules read ``ans``, so second
# derivatives differentiate through the row itself.  The shape parameters get no rule
# (the forward functions have none in scipy): asking for them raises a TypeError.


def _gammaincinv_dy(ans, a, y):
    # Gamma(a) e^x x^(1 - a) = 1 / (x^(a-1) e^(-x) / Gamma(a)), in log space
    return fnp.exp(fnp.add(fnp.subtract(gammaln(a), xlogy(fnp.subtract(a, 1.0), ans)), ans))


gammaincinv = _elementwise(
    "gammaincinv", None, _gammaincinv_dy, test={"domain": [(0.5, 3.0), (0.05, 0.95)]}
)
gammainccinv = _elementwise(  # gammaincc = 1 - gammainc: the same density, negated
    "gammainccinv", None, lambda ans, a, y: fnp.negative(_gammaincinv_dy(ans, a, y)),
    test={"domain": [(0.5, 3.0), (0.05, 0.95)]},
)


def _betaincinv_dy(ans, a, b, y):
    # B(a, b) x^(1 - a) (1 - x)^(1 - b), in log space
    return fnp.exp(fnp.subtract(
        betaln(a, b),
        fnp.add(xlogy(fnp.subtract(a, 1.0), ans), xlog1py(fnp.subtract(b, 1.0), fnp.negative(ans)))))


betaincinv = _elementwise(
    "betaincinv", None, None, _betaincinv_dy,
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.05, 0.95)]},
)
betainccinv = _elementwise(
    "betainccinv", None, None, lambda ans, a, b, y: fnp.negative(_betaincinv_dy(ans, a, b, y)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.05, 0.95)]},
)


def _stdtrit_dp(ans, df, p):
    # 1 / t_pdf(t; df) = exp(half log1p(t^2 / df) - log_c)
    half = fnp.multiply(0.5, fnp.add(df, 1.0))
    log_c = fnp.subtract(
        fnp.subtract(gammaln(half), gammaln(fnp.multiply(0.5, df))),
        fnp.multiply(0.5, fnp.log(fnp.multiply(math.pi, df))))
    return fnp.exp(fnp.subtract(fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(ans), df))), log_c))


stdtrit = _elementwise("stdtrit", None, _stdtrit_dp, test={"domain": [(1.0, 10.0), (0.05, 0.95)]})


def _poisson_quantile(name):
    def impl(q, mu, loc=0):
        return getattr(scipy_module("stats").poisson, name)(q, mu, loc)

    impl.__name__ = impl.__qualname__ = f"poisson_{name}"
    impl.__doc__ = f"``scipy.stats.poisson.{name}`` (imported lazily)."
    return impl


def _broadcasting_batch(fn):
    """A batching rule for a function that broadcasts all its arguments like a ufunc:
    batch axes to the front, per-example ranks aligned, unbatched arguments as they are."""

    def rule(args, dims, **params):
        nds = [np.ndim(x) - (d is not None) for x, d in zip(args, dims)]
        nd = max(nds)
        new = []
        for x, d, k in zip(args, dims, nds):
            if d is not None:
                x = fnp.moveaxis(x, d, 0)
                x = fnp.reshape(x, np.shape(x)[:1] + (1,) * (nd - k) + np.shape(x)[1:])
            new.append(x)
        return fn(*new, **params), 0

    return rule


# Quantiles of the Poisson distribution are integers, piecewise constant in q and mu:
# rows with no derivative (like floor), so they still trace and batch.
poisson_ppf = defprim("scipy.stats.poisson.ppf", _poisson_quantile("ppf"), nondiff=True)
poisson_ppf.primitive.batch = _broadcasting_batch(poisson_ppf)
poisson_isf = defprim("scipy.stats.poisson.isf", _poisson_quantile("isf"), nondiff=True)
poisson_isf.primitive.batch = _broadcasting_batch(poisson_isf)

# --- x log y and entropy ---------------------------------------------------------------


def _safe_ratio(x, y):
    # x / y, and 0 where x == 0 (so xlogy(0, 0) has a finite derivative in y)
    zero = fnp.equal(x, 0)
    return fnp.where(zero, 0.0, fnp.divide(x, fnp.where(zero, 1.0, y)))


xlogy = _elementwise(
    "xlogy",
    lambda ans, x, y: fnp.log(y),
    lambda ans, x, y: _safe_ratio(x, y),
    test={"domain": [(-1.5, 1.5), (0.2, 2.0)]},
)
xlog1py = _elementwise(
    "xlog1py",
    lambda ans, x, y: fnp.log1p(y),
    lambda ans, x, y: _safe_ratio(x, fnp.add(y, 1.0)),
    test={"domain": [(-1.5, 1.5), (-0.7, 2.0)]},
)
entr = _elementwise(
    "entr", lambda ans, x: fnp.negative(fnp.add(fnp.log(x), 1.0)), test={"domain": [(0.1, 2.0)]}
)

# x log(x / y): d/dx = log(x / y) + 1, d/dy = -x / y
rel_entr = _elementwise(
    "rel_entr",
    lambda ans, x, y: fnp.add(fnp.log(fnp.divide(x, y)), 1.0),
    lambda ans, x, y: fnp.negative(_safe_ratio(x, y)),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
)

# --- modified Bessel functions ------------------------------------------------------------


def _i1_d(i0x, i1x, x):
    # I1'(x) = I0(x) - I1(x)/x, with the limit 1/2 at x == 0
    zero = fnp.equal(x, 0)
    return fnp.where(zero, 0.5, fnp.subtract(i0x, fnp.divide(i1x, fnp.where(zero, 1.0, x))))


i0 = _elementwise("i0", lambda ans, x: i1(x))
i1 = _elementwise("i1", lambda ans, x: _i1_d(i0(x), ans, x))
# exponentially scaled: i0e = exp(-|x|) i0 (a kink at 0), i1e = exp(-|x|) i1
i0e = _elementwise(
    "i0e", lambda ans, x: fnp.subtract(i1e(x), fnp.multiply(fnp.sign(x), ans)),
    test={"avoid": 0.0},
)
i1e = _elementwise(
    "i1e", lambda ans, x: fnp.subtract(_i1_d(i0e(x), ans, x), fnp.multiply(fnp.sign(x), ans)),
    test={"avoid": 0.0},
)

# x log(x / y) - x + y: d/dx = log(x / y), d/dy = 1 - x / y
kl_div = _elementwise(
    "kl_div",
    lambda ans, x, y: fnp.log(fnp.divide(x, y)),
    lambda ans, x, y: fnp.subtract(1.0, _safe_ratio(x, y)),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
)
loggamma = _elementwise(  # real arguments: the same derivative as gammaln
    "loggamma", lambda ans, x: digamma(x), test={"domain": [(0.5, 3.0)]}
)

# --- exponential integrals and Dawson's integral -----------------------------------------

exp1 = _elementwise(  # E1'(x) = -exp(-x) / x
    "exp1", lambda ans, x: fnp.negative(fnp.divide(fnp.exp(fnp.negative(x)), x)),
    test={"domain": [(0.2, 3.0)]},
)
expi = _elementwise(  # Ei'(x) = exp(x) / x
    "expi", lambda ans, x: fnp.divide(fnp.exp(x), x), test={"domain": [(0.2, 3.0)]}
)


def _expn_dx(ans, n, x):
    # E_n' = -E_{n-1} for n >= 1; E_0(x) = exp(-x) / x has E_0' = -exp(-x) (x + 1) / x^2
    n_ok = fnp.greater_equal(n, 1)
    higher = fnp.negative(expn(fnp.subtract(fnp.where(n_ok, n, 1), 1), x))
    e0 = fnp.negative(fnp.divide(fnp.multiply(fnp.exp(fnp.negative(x)), fnp.add(x, 1.0)),
                                 fnp.square(x)))
    return fnp.where(n_ok, higher, e0)


expn = defelementwise(
    "special.expn", _sc("expn"), None, _expn_dx,
    test={"make": lambda rng, shape: (
        (rng.integers(0, 4, size=shape), rng.uniform(0.3, 3.0, size=shape)), {})},
)
dawsn = _elementwise(  # D'(x) = 1 - 2 x D(x)
    "dawsn", lambda ans, x: fnp.subtract(1.0, fnp.multiply(fnp.multiply(2.0, x), ans))
)

# --- Bessel functions of the first and second kind ----------------------------------------


def _bessel_d1(f0x, f1x, x):
    # F1'(x) = F0(x) - F1(x) / x for J1, Y1 (and I1); J1'(0) = 1/2
    zero = fnp.equal(x, 0)
    return fnp.where(zero, 0.5, fnp.subtract(f0x, fnp.divide(f1x, fnp.where(zero, 1.0, x))))


j0 = _elementwise("j0", lambda ans, x: fnp.negative(j1(x)))
j1 = _elementwise("j1", lambda ans, x: _bessel_d1(j0(x), ans, x))
y0 = _elementwise("y0", lambda ans, x: fnp.negative(y1(x)), test={"domain": [(0.5, 3.0)]})
y1 = _elementwise(
    "y1", lambda ans, x: _bessel_d1(y0(x), ans, x), test={"domain": [(0.5, 3.0)]}
)


def _order_pair(f, v, x):
    return f(fnp.subtract(v, 1.0), x), f(fnp.add(v, 1.0), x)


# derivatives in x only (the order v is a parameter of the function, not differentiated)
jv = _elementwise(
    "jv", None, lambda ans, v, x: fnp.multiply(0.5, fnp.subtract(*_order_pair(jv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
)
yv = _elementwise(
    "yv", None, lambda ans, v, x: fnp.multiply(0.5, fnp.subtract(*_order_pair(yv, v, x))),
    test={"domain": [(0.0, 2.0), (0.5, 3.0)]},
)
iv = _elementwise(
    "iv", None, lambda ans, v, x: fnp.multiply(0.5, fnp.add(*_order_pair(iv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
)
kv = _elementwise(
    "kv", None, lambda ans, v, x: fnp.multiply(-0.5, fnp.add(*_order_pair(kv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
)
# exponentially scaled: ive = iv exp(-|x|), kve = kv exp(x)
ive = _elementwise(
    "ive", None,
    lambda ans, v, x: fnp.subtract(fnp.multiply(0.5, fnp.add(*_order_pair(ive, v, x))),
                                   fnp.multiply(fnp.sign(x), ans)),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
)
kve = _elementwise(
    "kve", None,
    lambda ans, v, x: fnp.add(fnp.multiply(-0.5, fnp.add(*_order_pair(kve, v, x))), ans),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
)

# --- Owen's T, Lambert W, hypergeometric functions, Faddeeva ------------------------------


def _owens_t_impl(h, a):
    return scipy_module().owens_t(h, a)


def _owens_t_dh(ans, h, a):
    # -exp(-h^2/2) erf(a h / sqrt 2) / (2 sqrt(2 pi))
    return fnp.multiply(
        fnp.multiply(-0.5 / _SQRT_2PI, fnp.exp(fnp.multiply(-0.5, fnp.square(h)))),
        erf(fnp.multiply(fnp.multiply(a, h), 1.0 / math.sqrt(2.0))))


def _owens_t_da(ans, h, a):
    # exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))
    one_a2 = fnp.add(1.0, fnp.square(a))
    return fnp.divide(fnp.exp(fnp.multiply(-0.5, fnp.multiply(fnp.square(h), one_a2))),
                      fnp.multiply(2.0 * math.pi, one_a2))


owens_t = defelementwise(
    "special.owens_t", _owens_t_impl, _owens_t_dh, _owens_t_da,
    test={"domain": [(-2.0, 2.0), (-2.0, 2.0)]},
)


def _lambertw_impl(z, k=0, tol=1e-8):
    return scipy_module().lambertw(z, k, tol)


def _lambertw_d(ans):
    # W / (z (1 + W)) with z = W exp(W): exp(-W) / (1 + W), which is 1 at z = 0
    return fnp.divide(fnp.exp(fnp.negative(ans)), fnp.add(1.0, ans))


# W is holomorphic off its branch cuts, so both rules multiply by W'(z); for a real z
# the output is complex and the central cast keeps the real part of the cotangent.
lambertw = defprim(
    "special.lambertw", _lambertw_impl,
    jvp=[lambda t, ans, z, k=0, tol=1e-8: fnp.multiply(t, _lambertw_d(ans))],
    vjp=[lambda g, ans, z, k=0, tol=1e-8: fnp.multiply(g, _lambertw_d(ans))],
    batch="elementwise",
    # k = 0 off the cut (-inf, -1/e]: real part > -0.3, imaginary parts < 0.3
    test={"domain": [(-0.3, 3.0)], "complex": True},
)


def _hyp1f1_impl(a, b, x):
    return scipy_module().hyp1f1(a, b, x)


# d/dx 1F1(a; b; x) = (a / b) 1F1(a + 1; b + 1; x): the row calls itself, so every
# order works (complex x too: entire in x); scipy has no derivative in the parameters
# a and b (refused).
hyp1f1 = defelementwise(
    "special.hyp1f1", _hyp1f1_impl, None, None,
    lambda ans, a, b, x: fnp.multiply(fnp.divide(a, b),
                                      hyp1f1(fnp.add(a, 1.0), fnp.add(b, 1.0), x)),
    test={"domain": [(0.5, 2.0), (0.5, 2.0), (-1.5, 1.5)], "complex": True},
)


def _hyp2f1_impl(a, b, c, z):
    return scipy_module().hyp2f1(a, b, c, z)


# d/dz 2F1(a, b; c; z) = (a b / c) 2F1(a + 1, b + 1; c + 1; z); a, b, c refused.
hyp2f1 = defelementwise(
    "special.hyp2f1", _hyp2f1_impl, None, None, None,
    lambda ans, a, b, c, z: fnp.multiply(
        fnp.divide(fnp.multiply(a, b), c),
        hyp2f1(fnp.add(a, 1.0), fnp.add(b, 1.0), fnp.add(c, 1.0), z)),
    test={"domain": [(0.5, 2.0), (0.5, 2.0), (0.5, 2.0), (-0.7, 0.7)], "complex": True},
)


def _wofz_impl(z):
    return scipy_module().wofz(z)


# Faddeeva w(z) = exp(-z^2) erfc(-i z), entire: w'(z) = -2 z w(z) + 2i / sqrt(pi).
# scipy computes it for complex z only (a real z gives a complex w).
wofz = defelementwise(
    "special.wofz", _wofz_impl,
    lambda ans, z: fnp.add(fnp.multiply(fnp.multiply(-2.0, z), ans), 2j / _SQRT_PI),
    test={"complex": True},
)

# --- reductions over an axis: logsumexp, softmax, log_softmax ---------------------------------


def _expand(ans, x, axis, keepdims):
    from .reductions import expand_reduced

    return expand_reduced(ans, np.shape(x), axis, keepdims)


def _lse_weights(ans, a, axis, keepdims):
    # exp(a - logsumexp(a)): the softmax weights, stable at large inputs
    return fnp.exp(fnp.subtract(a, _expand(ans, a, axis, keepdims)))


_REDUCE_PARAMS = [{}, {"axis": 0}, {"axis": -1, "keepdims": True}]

logsumexp_row = defprim(
    "special.logsumexp",
    lambda a, axis=None, keepdims=False: scipy_module().logsumexp(a, axis=axis, keepdims=keepdims),
    jvp=[lambda t, ans, a, axis=None, keepdims=False: fnp.sum(
        fnp.multiply(t, _lse_weights(ans, a, axis, keepdims)), axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, a, axis=None, keepdims=False: fnp.multiply(
        _expand(g, a, axis, keepdims), _lse_weights(ans, a, axis, keepdims))],
    batch="reduce",
    test={"params": _REDUCE_PARAMS, "domain": [(-3.0, 3.0)]},
)


def _lse_b_impl(a, b, axis=None, keepdims=False, return_sign=False):
    out = scipy_module().logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    return out[0] if return_sign else out


def _lse_b_weights(ans, a, b, axis, keepdims):
    # d ans / d a_i = b_i exp(a_i) / s with ans = log|s|: b_i exp(a_i - ans) sign(s)
    w = fnp.multiply(b, _lse_weights(ans, a, axis, keepdims))
    return fnp.multiply(w, fnp.sign(fnp.sum(w, axis=axis, keepdims=True)))


def _lse_b_db(ans, a, b, axis, keepdims):
    w = _lse_weights(ans, a, axis, keepdims)
    s = fnp.sign(fnp.sum(fnp.multiply(b, w), axis=axis, keepdims=True))
    return fnp.multiply(w, s)


logsumexp_b_row = defprim(
    "special.logsumexp_b", _lse_b_impl,
    jvp=[
        lambda t, ans, a, b, axis=None, keepdims=False, return_sign=False: fnp.sum(
            fnp.multiply(t, _lse_b_weights(ans, a, b, axis, keepdims)), axis=axis, keepdims=keepdims),
        lambda t, ans, a, b, axis=None, keepdims=False, return_sign=False: fnp.sum(
            fnp.multiply(t, _lse_b_db(ans, a, b, axis, keepdims)), axis=axis, keepdims=keepdims),
    ],
    vjp=[
        lambda g, ans, a, b, axis=None, keepdims=False, return_sign=False: fnp.multiply(
            _expand(g, a, axis, keepdims), _lse_b_weights(ans, a, b, axis, keepdims)),
        lambda g, ans, a, b, axis=None, keepdims=False, return_sign=False: fnp.multiply(
            _expand(g, a, axis, keepdims), _lse_b_db(ans, a, b, axis, keepdims)),
    ],
    batch="reduce",
    test={
        "make": lambda rng, shape: (
            (rng.uniform(-3, 3, size=shape or (2,)), rng.uniform(0.5, 1.5, size=shape or (2,))),
            {"axis": -1}),
        "also": [lambda rng, shape: (
            # weights of both signs with a negative sum: only return_sign is finite
            (np.concatenate([rng.uniform(1, 2, size=(1,) + shape),
                             rng.uniform(-1, 0, size=(2,) + shape)]),
             np.broadcast_to(np.array([-2.0, 0.3, 0.4]).reshape((3,) + (1,) * len(shape)),
                             (3,) + shape).copy()),
            {"axis": 0, "return_sign": True})],
    },
)


def _lse_b_batch(args, dims, axis=None, keepdims=False, return_sign=False):
    # a and b have the same per-example shape (the public wrapper broadcasts them)
    size = next(np.shape(x)[d] for x, d in zip(args, dims) if d is not None)
    a, b = (fnp.moveaxis(x, d, 0) if d is not None
            else fnp.broadcast_to(x, (size,) + tuple(np.shape(x))) for x, d in zip(args, dims))
    nd = np.ndim(a) - 1
    if axis is None:
        out = logsumexp_b_row(fnp.reshape(a, (size, -1)), fnp.reshape(b, (size, -1)), axis=1,
                              return_sign=return_sign)
        return (fnp.reshape(out, (size,) + (1,) * nd) if keepdims else out), 0
    ax = tuple(x % nd + 1 for x in axis) if isinstance(axis, (tuple, list)) else axis % nd + 1
    return logsumexp_b_row(a, b, axis=ax, keepdims=keepdims, return_sign=return_sign), 0


logsumexp_b_row.primitive.batch = _lse_b_batch


def _batch_axis_rule(prim_fn):
    """Batching rule for rows with an ``axis`` parameter and same-shape output."""

    def rule(args, dims, axis=None, **params):
        (x,), (d,) = args, dims
        x = fnp.moveaxis(x, d, 0)
        nd = np.ndim(x) - 1
        if axis is None:
            ax = tuple(range(1, nd + 1))
        elif isinstance(axis, (tuple, list)):
            ax = tuple(normalize_axis_index(int(a), nd) + 1 for a in axis)
        elif nd == 0:
            # scipy accepts axis 0 / -1 of a 0-d array (a softmax over one value):
            # the row's impl on a 0-d stand-in decides, then nothing is reduced
            prim_fn.primitive.impl(np.zeros((), concrete(x).dtype), axis=axis)
            ax = ()
        else:
            ax = normalize_axis_index(int(axis), nd) + 1  # numpy's AxisError if out of range
        return prim_fn(x, axis=ax, **params), 0

    return rule


def _softmax_jvp(t, ans, x, axis=None):
    return fnp.multiply(ans, fnp.subtract(t, fnp.sum(fnp.multiply(ans, t), axis=axis, keepdims=True)))


softmax_row = defprim(
    "special.softmax",
    lambda x, axis=None: scipy_module().softmax(x, axis=axis),
    jvp=[_softmax_jvp],
    vjp=[_softmax_jvp],  # the Jacobian diag(s) - s s^T is symmetric
    test={"params": [{}, {"axis": 0}, {"axis": -1}], "domain": [(-3.0, 3.0)]},
)
softmax_row.primitive.batch = _batch_axis_rule(softmax_row)

log_softmax_row = defprim(
    "special.log_softmax",
    lambda x, axis=None: scipy_module().log_softmax(x, axis=axis),
    jvp=[lambda t, ans, x, axis=None: fnp.subtract(
        t, fnp.sum(fnp.multiply(fnp.exp(ans), t), axis=axis, keepdims=True))],
    vjp=[lambda g, ans, x, axis=None: fnp.subtract(
        g, fnp.multiply(fnp.exp(ans), fnp.sum(g, axis=axis, keepdims=True)))],
    test={"params": [{}, {"axis": 0}, {"axis": -1}], "domain": [(-3.0, 3.0)]},
)
log_softmax_row.primitive.batch = _batch_axis_rule(log_softmax_row)

# --- scipy.linalg: triangular solves and the matrix exponential ----------------------------


def _mT(x):
    return fnp.swapaxes(x, -1, -2)


def _tri_mask(n, lower, unit_diagonal):
    """The entries of ``a`` that scipy reads: one triangle, without the diagonal if unit."""
    k = -1 if unit_diagonal else 0
    return np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), -k)


def _real_dtype(x):
    return np.finfo(np.result_type(x.dtype, np.float16)).dtype


def _as_matrix_rhs(b):
    return fnp.expand_dims(b, -1) if np.ndim(b) == 1 else b


def _solve_tri_impl(a, b, trans=0, lower=False, unit_diagonal=False):
    return scipy_module("linalg").solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _op(m, trans):
    """op(m) for trans = 0 (m), 1 (m^T) or 2 (m^H)."""
    if trans == 0:
        return m
    return _mT(m) if trans == 1 else fnp.conjugate(_mT(m))


def _solve_tri_transposed(a, g, trans, lower, unit_diagonal):
    """op(a)^{-T} g (no conjugation: the transpose of the real-linear map)."""
    if trans == 0:
        return solve_triangular_row(a, g, trans=1, lower=lower, unit_diagonal=unit_diagonal)
    if trans == 1:
        return solve_triangular_row(a, g, trans=0, lower=lower, unit_diagonal=unit_diagonal)
    return solve_triangular_row(fnp.conjugate(a), g, trans=0, lower=lower,
                                unit_diagonal=unit_diagonal)


def _solve_tri_jvp_a(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    # d x = -op(a)^{-1} op(d a) x, with d a restricted to the triangle scipy reads
    t = fnp.multiply(t, _tri_mask(np.shape(a)[-1], lower, unit_diagonal).astype(_real_dtype(t)))
    x = _as_matrix_rhs(ans)
    dx = fnp.negative(solve_triangular_row(
        a, fnp.matmul(_op(t, trans), x), trans=trans, lower=lower, unit_diagonal=unit_diagonal))
    return fnp.squeeze(dx, -1) if np.ndim(ans) == 1 else dx


def _solve_tri_vjp_a(g, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    gb = _as_matrix_rhs(_solve_tri_transposed(a, g, trans, lower, unit_diagonal))
    x = _as_matrix_rhs(ans)
    ga = fnp.negative(fnp.matmul(gb, _mT(x)))  # cotangent of op(a)
    if trans == 1:
        ga = _mT(ga)
    elif trans == 2:
        ga = fnp.conjugate(_mT(ga))
    return fnp.multiply(ga, _tri_mask(np.shape(a)[-1], lower, unit_diagonal).astype(_real_dtype(ga)))


def _solve_tri_batch(args, dims, trans=0, lower=False, unit_diagonal=False):
    a, b = args
    da, db = dims
    b_core = np.ndim(b) - (db is not None)
    a = a if da is None else fnp.moveaxis(a, da, 0)
    if db is not None:
        b = fnp.moveaxis(b, db, 0)
        if b_core == 1:
            b = fnp.expand_dims(b, -1)
    elif b_core == 1:
        b = fnp.expand_dims(b, -1)
    if da is not None and db is None:
        b = fnp.broadcast_to(b, (np.shape(a)[0],) + tuple(np.shape(b)))
    if db is not None and da is None:
        a = fnp.broadcast_to(a, (np.shape(b)[0],) + tuple(np.shape(a)))
    x = solve_triangular_row(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    return (fnp.squeeze(x, -1) if b_core == 1 else x), 0


def _make_triangular(rng, shape, lower=True):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    a = rng.uniform(-0.5, 0.5, size=lead + (n, n)) + 2.0 * np.eye(n)
    return np.tril(a) if lower else np.triu(a)


def _solve_tri_case(trans, lower, unit_diagonal, vector, batch=None):
    def make(rng, shape):
        a = _make_triangular(rng, shape, lower)
        if batch:
            a = np.stack([a] * batch) + 0.1 * rng.uniform(-1, 1, size=(batch,) + a.shape)
        n = a.shape[-1]
        # full matrices: the other triangle must be ignored, derivative included
        a = a + rng.uniform(-1, 1, size=a.shape) * (1 - _tri_mask(n, lower, False))
        b = rng.standard_normal((n,) if vector else a.shape[:-1] + (2,))
        return (a, b), {"trans": trans, "lower": lower, "unit_diagonal": unit_diagonal}

    return make


solve_triangular_row = defprim(
    "scipy.linalg.solve_triangular", _solve_tri_impl,
    jvp=[
        _solve_tri_jvp_a,
        lambda t, ans, a, b, trans=0, lower=False, unit_diagonal=False: solve_triangular_row(
            a, t, trans=trans, lower=lower, unit_diagonal=unit_diagonal),
    ],
    vjp=[
        _solve_tri_vjp_a,
        lambda g, ans, a, b, trans=0, lower=False, unit_diagonal=False: _solve_tri_transposed(
            a, g, trans, lower, unit_diagonal),
    ],
    batch=_solve_tri_batch,
    test={
        "make": _solve_tri_case(0, True, False, False),
        "also": [
            _solve_tri_case(1, True, False, True),
            _solve_tri_case(0, False, False, True),
            _solve_tri_case(1, False, True, False),
            _solve_tri_case(2, True, False, False),
            _solve_tri_case(0, True, False, False, batch=2),
        ],
        "complex": True,
    },
)


def _expm_frechet(a, e):
    """L(a, e), the derivative of expm at a in direction e, via expm of a block matrix:
    expm([[a, e], [0, a]]) = [[expm(a), L(a, e)], [0, expm(a)]]."""
    n = np.shape(a)[-1]
    zeros = np.zeros(np.shape(a), dtype=np.result_type(a.dtype, e.dtype))
    top = fnp.concatenate([a, e], axis=-1)
    bottom = fnp.concatenate([zeros, a], axis=-1)
    big = expm_row(fnp.concatenate([top, bottom], axis=-2))
    return big[..., :n, n:]


def _make_expm(rng, shape):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    return (rng.uniform(-1, 1, size=lead + (n, n)),), {}


expm_row = defprim(
    "scipy.linalg.expm", _sc("expm", "linalg"),
    jvp=[lambda t, ans, a: _expm_frechet(a, t)],
    # the transpose of E -> L(a, E) under sum(x * y) is G -> L(a^T, G)
    vjp=[lambda g, ans, a: _expm_frechet(_mT(a), g)],
    batch="leading",
    test={"make": _make_expm, "complex": True},
)


def _tril(x, k=0):
    n = np.shape(x)[-1]
    return fnp.multiply(x, np.tril(np.ones((n, n)), k).astype(_real_dtype(x)))


def _triu(x, k=0):
    n = np.shape(x)[-1]
    return fnp.multiply(x, np.triu(np.ones((n, n)), k).astype(_real_dtype(x)))


def _phi(x):
    # the lower triangle with the diagonal halved (self-adjoint as a linear map)
    n = np.shape(x)[-1]
    return fnp.multiply(x, (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(_real_dtype(x)))


def _real_only(x):
    if np.result_type(x.dtype).kind == "c":
        raise NotImplementedError(
            "the derivative of scipy.linalg.cholesky is implemented for real matrices only; "
            "for complex Hermitian matrices define it with fgrad.custom_vjp"
        )


def _cholesky_jvp(t, ans, a, lower=False):
    # scipy reads one triangle of a: the matrix it factors is that triangle
    # mirrored, so the tangent is mirrored the same way before the usual
    # dL = L Phi(L^-1 dA L^-T).
    _real_only(t)
    if lower:
        low, dsym = ans, fnp.add(_tril(t), _mT(_tril(t, -1)))
    else:
        low, dsym = _mT(ans), fnp.add(_triu(t), _mT(_triu(t, 1)))
    y = solve_triangular_row(low, dsym, lower=True)
    x = _mT(solve_triangular_row(low, _mT(y), lower=True))
    dlow = fnp.matmul(low, _phi(x))
    return dlow if lower else _mT(dlow)


def _cholesky_vjp(g, ans, a, lower=False):
    _real_only(g)
    low, glow = (ans, g) if lower else (_mT(ans), _mT(g))
    p = _phi(fnp.matmul(_mT(low), glow))
    z = solve_triangular_row(low, p, trans=1, lower=True)
    sym = _mT(solve_triangular_row(low, _mT(z), trans=1, lower=True))
    if lower:
        return fnp.add(_tril(sym), _tril(_mT(sym), -1))
    return fnp.add(_triu(sym), _triu(_mT(sym), 1))


def _make_spd(lower):
    def make(rng, shape):
        n = shape[-1] if shape else 2
        lead = shape[:-2] if len(shape) >= 2 else ()
        b = rng.uniform(-1, 1, size=lead + (n, n))
        a = b @ np.swapaxes(b, -1, -2) + n * np.eye(n)
        # a perturbation of the triangle scipy ignores must not matter
        a = a + rng.uniform(-1, 1, size=a.shape) * (1 - _tri_mask(n, lower, False))
        return (a,), {"lower": lower}

    return make


cholesky_row = defprim(
    "scipy.linalg.cholesky",
    lambda a, lower=False: scipy_module("linalg").cholesky(a, lower=lower),
    jvp=[_cholesky_jvp],
    vjp=[_cholesky_vjp],
    batch="leading",
    test={"make": _make_spd(True), "also": [_make_spd(False)]},
)
