"""Continuous distributions on the real line: location-scale families.

Each class writes its functions of the standardised point ``y = (x - loc) / scale``
(``_logpdf``, ``_cdf``, ...); :class:`~fgrad.scipy.stats._base.Continuous` turns
them into scipy's methods ``logpdf(x, *shapes, loc=0, scale=1)``, ``pdf``,
``cdf``, ``logcdf``, ``sf``, ``logsf``, ``ppf``, ``isf``, differentiable in the
point and every parameter, with scipy's own results on plain inputs.  Where scipy
has no formula for a derivative (the shape arguments of ``gammainc``,
``betainc`` and ``stdtr``: the CDFs of ``t``, ``beta``, ``gamma`` and ``chi2``
in ``df``, ``a``, ``b``) asking for it raises a TypeError naming the special
function.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import norm
    >>> fgrad.grad(norm.logpdf, argnums=(0, 1, 2))(1.0, 0.0, 2.0)
    (np.float64(-0.25), np.float64(0.25), np.float64(-0.375))
"""

import math

import numpy as np

from ... import numpy as fnp
from .. import special as sp
from ._base import HALF_LOG_2PI, LOG2, LOG_PI, Continuous, log1mexp

__all__ = ["norm", "t", "beta", "gamma", "expon", "uniform", "laplace", "logistic", "cauchy",
           "lognorm", "pareto", "weibull_min", "chi2", "truncnorm", "vonmises", "gennorm"]

# The docstrings of the methods each distribution writes: "dist.method": (summary, example
# after `import fgrad` and the import of the distribution).  Derived methods get generated ones.
DOCS = {
    "norm.logpdf": ("Log density of the normal distribution.", ">>> float(fgrad.grad(norm.logpdf)(2.0))\n-2.0"),
    "norm.cdf": ("Cumulative distribution function of the normal distribution.", ">>> round(float(fgrad.grad(norm.cdf)(0.0)), 6)\n0.398942"),
    "norm.logcdf": ("Log of the normal CDF, accurate in the left tail.", ">>> round(float(fgrad.grad(norm.logcdf)(-40.0)), 2)\n40.02"),
    "norm.ppf": ("Quantile function (inverse CDF) of the normal distribution.", ">>> round(float(fgrad.grad(norm.ppf)(0.5)), 6)\n2.506628"),
    "t.ppf": ("Quantile function of Student's t distribution; differentiable in ``q``, ``loc``,\n``scale``, not ``df`` (``-inf`` at ``q = 0``, as in scipy.stats).", ">>> import fgrad, math\n>>> from fgrad.scipy.stats import t\n>>> math.isclose(fgrad.grad(t.ppf)(0.5, 1.0), math.pi)  # 1 / pdf(0)\nTrue"),
    "t.logpdf": ("Log density of Student's t distribution; differentiable in all arguments.", ">>> float(fgrad.grad(t.logpdf)(1.0, 1.0))  # Cauchy: -2x / (1 + x^2)\n-1.0"),
    "t.cdf": ("CDF of Student's t distribution; differentiable in ``x``, ``loc``, ``scale``, not ``df``.", ">>> round(float(fgrad.grad(t.cdf)(0.0, 1.0)), 6)\n0.31831"),
    "laplace.logpdf": ("Log density ``-|x - loc|/scale - log(2 scale)``.", ">>> float(fgrad.grad(laplace.logpdf)(2.0, 0.0, 0.5))  # -sign(x)/scale\n-2.0"),
    "laplace.cdf": ("CDF: ``exp(y)/2`` left of ``loc``, ``1 - exp(-y)/2`` right of it.", ">>> float(fgrad.grad(laplace.cdf)(0.0))  # the density at loc\n0.5"),
    "laplace.logcdf": ("Log of the CDF, accurate in both tails: ``y - log 2`` left of ``loc``.", ">>> float(fgrad.grad(laplace.logcdf)(-3.0))  # 1/scale left of loc\n1.0"),
    "laplace.ppf": ("Quantile: ``log(2q)`` below the median, ``-log(2 - 2q)`` above (times scale, plus loc).", ">>> float(fgrad.grad(laplace.ppf)(0.25))  # 1/q\n4.0"),
    "logistic.logpdf": ("Log density ``log_expit(y) + log_expit(-y) - log(scale)``.", ">>> float(fgrad.grad(logistic.logpdf)(0.0))  # 1 - 2 expit(x)\n0.0"),
    "logistic.cdf": ("CDF ``expit((x - loc)/scale)``.", ">>> float(fgrad.grad(logistic.cdf)(0.0))\n0.25"),
    "logistic.logcdf": ("Log CDF ``log_expit(y)``.", ">>> float(fgrad.grad(logistic.logcdf)(0.0))  # expit(-x)\n0.5"),
    "logistic.ppf": ("Quantile ``loc + scale logit(q)``.", ">>> float(fgrad.grad(logistic.ppf)(0.5))  # 1 / (q (1 - q))\n4.0"),
    "cauchy.logpdf": ("Log density ``-log(pi scale (1 + y^2))``.", ">>> float(fgrad.grad(cauchy.logpdf)(1.0))  # -2y / (1 + y^2)\n-1.0"),
    "cauchy.cdf": ("CDF ``arctan2(1, -y) / pi`` (accurate in the left tail too).", ">>> round(float(fgrad.grad(cauchy.cdf)(0.0)), 6)  # 1/pi\n0.31831"),
    "cauchy.ppf": ("Quantile ``loc + scale tan(pi (q - 1/2))``.", ">>> round(float(fgrad.grad(cauchy.ppf)(0.25)), 6)  # pi / sin(pi q)^2\n6.283185"),
    "vonmises.logpdf": ("Log density ``kappa (cos(y) - 1) - log(2 pi i0e(kappa)) - log(scale)``.", ">>> round(float(fgrad.grad(vonmises.logpdf)(0.5 * 3.141592653589793, 2.0)), 12)\n-2.0"),
    "gennorm.logpdf": ("Log density ``log(beta/2) - log Gamma(1/beta) - |y|^beta - log(scale)``.", ">>> float(fgrad.grad(gennorm.logpdf)(1.5, 2.0))  # -beta |y|^(beta-1) sign(y)\n-3.0"),
    "truncnorm.logpdf": ("Log density ``-y^2/2 - log(sqrt(2 pi) scale (ndtr(b) - ndtr(a)))`` on the support.", ">>> float(fgrad.grad(truncnorm.logpdf)(0.5, -1.0, 1.0))  # -y, as for the normal\n-0.5"),
    "truncnorm.logcdf": ("Log CDF ``log mass(a, y) - log mass(a, b)``.", ">>> round(float(fgrad.grad(truncnorm.logcdf)(0.0, -1.0, 1.0)), 6)  # 2 pdf(0)\n1.168737"),
    "truncnorm.logsf": ("Log survival function ``log mass(y, b) - log mass(a, b)``.", ">>> round(float(fgrad.grad(truncnorm.logsf)(0.0, -1.0, 1.0)), 6)  # -2 pdf(0)\n-1.168737"),
    "truncnorm.ppf": ("Quantile ``ndtri(ndtr(a) + q (ndtr(b) - ndtr(a)))`` (mirrored when ``a > 0``).", ">>> round(float(fgrad.grad(truncnorm.ppf)(0.5, -1.0, 1.0)), 6)  # 1 / pdf(0)\n1.711249"),
    "truncnorm.isf": ("Inverse survival function ``ppf(1 - q)``.", ">>> round(float(fgrad.grad(truncnorm.isf)(0.5, -1.0, 1.0)), 6)\n-1.711249"),
    "uniform.logpdf": ("Log density ``-log(scale)`` on the support, ``-inf`` off it.", ">>> float(fgrad.grad(uniform.logpdf, argnums=2)(0.5, 0.0, 2.0))  # -1/scale\n-0.5"),
    "uniform.cdf": ("CDF ``(x - loc)/scale`` clipped to ``[0, 1]``.", ">>> float(fgrad.grad(uniform.cdf)(0.5, 0.0, 2.0))\n0.5"),
    "uniform.sf": ("Survival function ``1 - cdf``.", ">>> float(fgrad.grad(uniform.sf)(0.25))\n-1.0"),
    "uniform.logsf": ("Log survival function ``log1p(-y)``.", ">>> float(fgrad.grad(uniform.logsf)(0.75))  # -1/(1 - x)\n-4.0"),
    "uniform.ppf": ("Quantile ``loc + q scale``.", ">>> float(fgrad.grad(uniform.ppf, argnums=2)(0.25, 1.0, 2.0))  # q\n0.25"),
    "uniform.isf": ("Inverse survival function ``loc + (1 - q) scale``.", ">>> float(fgrad.grad(uniform.isf)(0.25, 1.0, 2.0))  # -scale\n-2.0"),
    "beta.logpdf": ("Log density of the beta distribution (``-inf`` outside the support).", ">>> float(fgrad.grad(beta.logpdf)(0.5, 2.0, 2.0))\n0.0"),
    "beta.cdf": ("CDF of the beta distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``, ``b``.", ">>> float(fgrad.grad(beta.cdf)(0.25, 2.0, 1.0))\n0.5"),
    "beta.sf": ("Survival function ``1 - cdf`` of the beta distribution, ``betaincc``.", ">>> float(fgrad.grad(beta.sf)(0.25, 2.0, 1.0))  # -pdf = -2x\n-0.5"),
    "beta.ppf": ("Quantile function of the beta distribution; differentiable in ``q``, ``loc``,\n``scale``, not ``a``, ``b``.", ">>> float(fgrad.grad(beta.ppf)(0.25, 2.0, 1.0))  # sqrt(q): 1 / (2 sqrt(q))\n1.0"),
    "beta.isf": ("Inverse survival function of the beta distribution (not differentiable in ``a``, ``b``).", ">>> float(fgrad.grad(beta.isf)(0.75, 2.0, 1.0))  # sqrt(1 - q)\n-1.0"),
    "gamma.logpdf": ("Log density of the gamma distribution (``-inf`` for ``x < loc``).", ">>> float(fgrad.grad(gamma.logpdf)(2.0, 3.0))  # (a - 1)/x - 1\n0.0"),
    "gamma.cdf": ("CDF of the gamma distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``.", ">>> float(fgrad.grad(gamma.cdf)(0.0, 1.0))\n1.0"),
    "gamma.sf": ("Survival function of the gamma distribution, ``gammaincc`` (not differentiable in ``a``).", ">>> float(fgrad.grad(gamma.sf)(0.0, 1.0))\n-1.0"),
    "gamma.ppf": ("Quantile function of the gamma distribution; differentiable in ``q``, ``loc``,\n``scale``, not ``a``.", ">>> round(float(fgrad.grad(gamma.ppf)(0.5, 1.0)), 12)  # -log(1 - q): 1 / (1 - q)\n2.0"),
    "gamma.isf": ("Inverse survival function of the gamma distribution (not differentiable in ``a``).", ">>> round(float(fgrad.grad(gamma.isf)(0.5, 1.0)), 12)  # -log(q): -1 / q\n-2.0"),
    "chi2.logpdf": ("Log density ``(df/2 - 1) log(y) - y/2 - log Gamma(df/2) - (df/2) log 2 - log(scale)``.", ">>> float(fgrad.grad(chi2.logpdf)(2.0, 4.0))  # (df/2 - 1)/y - 1/2\n0.0"),
    "chi2.cdf": ("CDF ``gammainc(df/2, y/2)``; differentiable in ``x``, ``loc``, ``scale``, not ``df``.", ">>> float(fgrad.grad(chi2.cdf)(0.0, 2.0))  # the density at 0\n0.5"),
    "chi2.sf": ("Survival function ``gammaincc(df/2, y/2)`` (not differentiable in ``df``).", ">>> float(fgrad.grad(chi2.sf)(0.0, 2.0))\n-0.5"),
    "chi2.ppf": ("Quantile function, ``2 gammaincinv(df / 2, q)`` (not differentiable in ``df``).", ">>> round(float(fgrad.grad(chi2.ppf)(0.5, 2.0)), 12)  # -2 log(1 - q): 2 / (1 - q)\n4.0"),
    "chi2.isf": ("Inverse survival function, ``2 gammainccinv(df / 2, q)`` (not differentiable\nin ``df``).", ">>> round(float(fgrad.grad(chi2.isf)(0.5, 2.0)), 12)  # -2 log(q): -2 / q\n-4.0"),
    "expon.logpdf": ("Log density ``-(x - loc)/scale - log(scale)``, ``-inf`` for ``x < loc``.", ">>> float(fgrad.grad(expon.logpdf)(1.0, 0.0, 4.0))  # -1/scale\n-0.25"),
    "expon.cdf": ("CDF ``1 - exp(-(x - loc)/scale)`` (computed with expm1).", ">>> float(fgrad.grad(expon.cdf)(0.0, 0.0, 2.0))  # pdf(loc) = 1/scale\n0.5"),
    "expon.logcdf": ("Log of the CDF, ``log(1 - exp(-y))``, accurate for small and large ``y``.", ">>> round(float(fgrad.grad(expon.logcdf)(1.0)), 6)  # 1 / (e - 1)\n0.581977"),
    "expon.logsf": ("Log survival function ``-(x - loc)/scale`` (0 for ``x < loc``).", ">>> float(fgrad.grad(expon.logsf, argnums=2)(3.0, 1.0, 2.0))  # y / scale\n0.5"),
    "expon.ppf": ("Quantile ``loc - scale log(1 - q)``.", ">>> float(fgrad.grad(expon.ppf)(0.5))  # 1 / (1 - q)\n2.0"),
    "expon.isf": ("Inverse survival function ``loc - scale log(q)``.", ">>> float(fgrad.grad(expon.isf)(0.5))  # -1 / q\n-2.0"),
    "weibull_min.logpdf": ("Log density ``log(c) + (c - 1) log(y) - y^c - log(scale)``; ``-inf`` for ``y < 0``.", ">>> float(fgrad.grad(weibull_min.logpdf)(1.0, 2.0))  # (c - 1)/y - c y^(c-1)\n-1.0"),
    "weibull_min.cdf": ("CDF ``1 - exp(-y^c)`` (computed with expm1).", ">>> float(fgrad.grad(weibull_min.cdf, argnums=1)(1.0, 3.0))  # y^c log(y) = 0\n0.0"),
    "weibull_min.logcdf": ("Log of the CDF, ``log(1 - exp(-y^c))``.", ">>> round(float(fgrad.grad(weibull_min.logcdf)(1.0, 1.0)), 6)  # 1/(e - 1)\n0.581977"),
    "weibull_min.logsf": ("Log survival function ``-y^c`` (0 below ``loc``).", ">>> float(fgrad.grad(weibull_min.logsf)(2.0, 2.0))  # -c y^(c-1)\n-4.0"),
    "weibull_min.ppf": ("Quantile ``loc + scale (-log(1 - q))^(1/c)``.", ">>> float(fgrad.grad(weibull_min.ppf)(0.5, 1.0))  # exponential: 1/(1 - q)\n2.0"),
    "weibull_min.isf": ("Inverse survival function ``loc + scale (-log(q))^(1/c)``.", ">>> float(fgrad.grad(weibull_min.isf)(0.5, 1.0))  # exponential: -1/q\n-2.0"),
    "lognorm.logpdf": ("Log density; ``-inf`` for ``x <= loc``.", ">>> float(fgrad.grad(lognorm.logpdf)(1.0, 1.0))  # -(1 + log(x)/s^2)/x\n-1.0"),
    "lognorm.cdf": ("CDF ``ndtr(log(y)/s)``.", ">>> round(float(fgrad.grad(lognorm.cdf, argnums=1)(2.0, 0.5)), 6)  # -phi(z) z / s, z = log(2)/s\n-0.423135"),
    "lognorm.logcdf": ("Log CDF ``log_ndtr(log(y)/s)``.", ">>> round(float(fgrad.grad(lognorm.logcdf)(1.0, 1.0)), 6)  # 2 phi(0)\n0.797885"),
    "lognorm.sf": ("Survival function ``ndtr(-log(y)/s)``.", ">>> round(float(fgrad.grad(lognorm.sf)(1.0, 1.0)), 6)\n-0.398942"),
    "lognorm.logsf": ("Log survival function ``log_ndtr(-log(y)/s)``.", ">>> round(float(fgrad.grad(lognorm.logsf)(1.0, 1.0)), 6)\n-0.797885"),
    "lognorm.ppf": ("Quantile ``loc + scale exp(s ndtri(q))``.", ">>> round(float(fgrad.grad(lognorm.ppf)(0.5, 1.0)), 6)  # sqrt(2 pi)\n2.506628"),
    "lognorm.isf": ("Inverse survival function ``loc + scale exp(-s ndtri(q))``.", ">>> round(float(fgrad.grad(lognorm.isf)(0.5, 1.0)), 6)\n-2.506628"),
    "pareto.logpdf": ("Log density ``log(b) - (b + 1) log(y) - log(scale)``; ``-inf`` for ``y < 1``.", ">>> float(fgrad.grad(pareto.logpdf)(2.0, 3.0))  # -(b + 1)/x\n-2.0"),
    "pareto.cdf": ("CDF ``1 - y^-b``.", ">>> float(fgrad.grad(pareto.cdf)(1.0, 2.0))  # the density b at y = 1\n2.0"),
    "pareto.logcdf": ("Log of the CDF, ``log(1 - y^-b)``.", ">>> float(fgrad.grad(pareto.logcdf)(2.0, 1.0))  # pdf/cdf = (1/4)/(1/2)\n0.5"),
    "pareto.logsf": ("Log survival function ``-b log(y)`` (0 below the support).", ">>> float(fgrad.grad(pareto.logsf)(2.0, 3.0))  # -b/y\n-1.5"),
    "pareto.ppf": ("Quantile ``loc + scale (1 - q)^(-1/b)``.", ">>> float(fgrad.grad(pareto.ppf)(0.5, 1.0))  # 1/(b (1 - q)^(1 + 1/b))\n4.0"),
    "pareto.isf": ("Inverse survival function ``loc + scale q^(-1/b)``.", ">>> float(fgrad.grad(pareto.isf)(0.5, 1.0))  # -1/(b q^(1 + 1/b))\n-4.0"),
}


# --------------------------------------------------------------------------
# symmetric about loc: sf, logsf and isf are mirrored from cdf, logcdf, ppf
# --------------------------------------------------------------------------


class norm(Continuous):
    """The normal distribution ``N(loc, scale**2)`` (``scipy.stats.norm``)."""

    _title, _example, _symmetric = "the normal distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(y)), HALF_LOG_2PI)

    @staticmethod
    def _cdf(y):
        return sp.ndtr(y)

    @staticmethod
    def _logcdf(y):
        return sp.log_ndtr(y)

    @staticmethod
    def _ppf(q):
        return sp.ndtri(q)


def _t_quantile(q, df):
    """``stdtrit(df, q)``, but ``-inf`` at ``q == 0`` as in scipy.stats (scipy.special's
    stdtrit returns ``+inf`` there).  At ``q == 0`` the mirror ``-stdtrit(df, 1 - q)`` is
    used, so the derivative is the limit ``+inf``; each branch sees safe inputs, so
    the unused one adds no NaN to the derivative."""
    zero = fnp.equal(q, 0)
    mirror = fnp.negative(sp.stdtrit(df, fnp.subtract(1.0, fnp.where(zero, q, 0.5))))
    return fnp.where(zero, mirror, sp.stdtrit(df, fnp.where(zero, 0.5, q)))


class t(Continuous):
    """Student's t distribution (``scipy.stats.t``)."""

    _title, _example, _symmetric = "Student's t distribution", (0.5, 3.0), True
    _shapes = ("df",)

    @staticmethod
    def _logpdf(y, df):
        half = fnp.multiply(0.5, fnp.add(df, 1.0))
        const = fnp.subtract(
            fnp.subtract(sp.gammaln(half), sp.gammaln(fnp.multiply(0.5, df))),
            fnp.multiply(0.5, fnp.log(fnp.multiply(math.pi, df))))
        return fnp.subtract(const, fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(y), df))))

    @staticmethod
    def _cdf(y, df):
        return sp.stdtr(df, y)

    _ppf = staticmethod(_t_quantile)


class laplace(Continuous):
    """The Laplace (double exponential) distribution (``scipy.stats.laplace``)."""

    _title, _example, _symmetric = "the Laplace distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        return fnp.subtract(fnp.negative(fnp.abs(y)), LOG2)

    @staticmethod
    def _cdf(y):
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.subtract(1.0, fnp.multiply(0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.multiply(0.5, fnp.exp(fnp.where(right, 0.0, y))))

    @staticmethod
    def _logcdf(y):
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.log1p(fnp.multiply(-0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.subtract(fnp.where(right, 0.0, y), LOG2))

    @staticmethod
    def _ppf(q):
        upper = fnp.greater(q, 0.5)
        hi = fnp.where(upper, q, 0.75)
        lo = fnp.where(upper, 0.25, q)
        return fnp.where(upper, fnp.negative(fnp.log(fnp.multiply(2.0, fnp.subtract(1.0, hi)))),
                         fnp.log(fnp.multiply(2.0, lo)))


class logistic(Continuous):
    """The logistic distribution (``scipy.stats.logistic``)."""

    _title, _example, _symmetric = "the logistic distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        return fnp.add(sp.log_expit(y), sp.log_expit(fnp.negative(y)))

    @staticmethod
    def _cdf(y):
        return sp.expit(y)

    @staticmethod
    def _logcdf(y):
        return sp.log_expit(y)

    @staticmethod
    def _ppf(q):
        return sp.logit(q)


class cauchy(Continuous):
    """The Cauchy distribution (``scipy.stats.cauchy``)."""

    _title, _example, _symmetric = "the Cauchy distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        return fnp.negative(fnp.add(fnp.log1p(fnp.square(y)), LOG_PI))

    @staticmethod
    def _cdf(y):
        return fnp.divide(fnp.arctan2(1.0, fnp.negative(y)), math.pi)

    @staticmethod
    def _ppf(q):
        # -cot(pi r) with r = q or q - 1 (exact), so both tails keep their precision
        r = fnp.where(fnp.greater(q, 0.5), fnp.subtract(q, 1.0), q)
        a = fnp.multiply(math.pi, r)
        y = fnp.negative(fnp.divide(fnp.cos(a), fnp.sin(a)))
        return fnp.where(fnp.equal(q, 1.0), np.inf, y)


class vonmises(Continuous):
    """The von Mises distribution on the circle with concentration ``kappa`` (``scipy.stats.vonmises``).

    Only the density is provided: the CDF has no closed form with existing rows.
    """

    _title, _example, _shapes = "the von Mises distribution", (0.5, 2.0), ("kappa",)

    @staticmethod
    def _logpdf(y, kappa):
        # cos(y) - 1 = -2 sin(y/2)^2, accurate near y = 0
        cosm1 = fnp.multiply(-2.0, fnp.square(fnp.sin(fnp.multiply(0.5, y))))
        return fnp.subtract(fnp.multiply(kappa, cosm1),
                            fnp.add(fnp.log(sp.i0e(kappa)), math.log(2.0 * math.pi)))


class gennorm(Continuous):
    """The generalized normal distribution with shape ``beta`` (``scipy.stats.gennorm``).

    At ``y = 0`` exactly the derivatives in ``y`` are taken through ``|y|``
    with ``sign(0) = 0``: zero slope (right for ``beta > 1``, a subgradient
    for ``beta <= 1``) and no second derivative from the kink.
    """

    _title, _example, _shapes = "the generalized normal distribution", (0.5, 1.5), ("beta",)

    @staticmethod
    def _logpdf(y, beta):
        const = fnp.subtract(fnp.log(fnp.multiply(0.5, beta)), sp.gammaln(fnp.divide(1.0, beta)))
        return fnp.subtract(const, fnp.power(fnp.abs(y), beta))


def _log_gauss_mass(a, b):
    """``log(ndtr(b) - ndtr(a))`` for ``a <= b``, accurate in either tail.

    Three cases (both ends left of 0, both right of it, or around it), each
    evaluated on safe stand-ins where it is not the one selected.
    """
    left = fnp.less_equal(b, 0)
    right = fnp.greater(a, 0)
    middle = fnp.logical_not(fnp.logical_or(left, right))

    def diff_of_logs(lo, hi):  # log(exp(hi) - exp(lo)) for lo <= hi
        return fnp.add(hi, fnp.log1p(fnp.negative(fnp.exp(fnp.subtract(lo, hi)))))

    la, lb = fnp.where(left, a, -2.0), fnp.where(left, b, -1.0)
    in_left = diff_of_logs(sp.log_ndtr(la), sp.log_ndtr(lb))
    ra, rb = fnp.where(right, a, 1.0), fnp.where(right, b, 2.0)
    in_right = diff_of_logs(sp.log_ndtr(fnp.negative(rb)), sp.log_ndtr(fnp.negative(ra)))
    ma, mb = fnp.where(middle, a, -1.0), fnp.where(middle, b, 1.0)
    in_middle = fnp.log1p(fnp.negative(fnp.add(sp.ndtr(ma), sp.ndtr(fnp.negative(mb)))))
    return fnp.where(left, in_left, fnp.where(right, in_right, in_middle))


class truncnorm(Continuous):
    """The normal distribution truncated to ``[a, b]`` in standard units (``scipy.stats.truncnorm``).

    The support is ``[loc + a scale, loc + b scale]``; ``a`` and ``b`` are
    differentiable (they move the normalising mass).
    """

    _title, _example, _shapes = "the truncated normal distribution", (0.5, -1.0, 2.0), ("a", "b")

    @staticmethod
    def _split(y, a, b):
        inside = fnp.logical_and(fnp.greater_equal(y, a), fnp.less_equal(y, b))
        # a finite point of the support stands in outside it (the ends may be infinite)
        fa, fb = fnp.isfinite(a), fnp.isfinite(b)
        a0 = fnp.where(fa, a, fnp.where(fb, fnp.subtract(b, 2.0), -1.0))
        b0 = fnp.where(fb, b, fnp.where(fa, fnp.add(a, 2.0), 1.0))
        return inside, fnp.greater(y, b), fnp.where(inside, y, fnp.multiply(0.5, fnp.add(a0, b0)))

    @staticmethod
    def _logpdf(y, a, b):
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(y)),
                            fnp.add(_log_gauss_mass(a, b), HALF_LOG_2PI))

    @staticmethod
    def _logcdf(y, a, b):
        return fnp.subtract(_log_gauss_mass(a, y), _log_gauss_mass(a, b))

    @staticmethod
    def _logsf(y, a, b):
        return fnp.subtract(_log_gauss_mass(y, b), _log_gauss_mass(a, b))

    @staticmethod
    def _ppf(q, a, b):
        right = fnp.greater(a, 0)
        # right of 0 mirror the problem, so ndtr works with small numbers
        ar, br = fnp.where(right, fnp.negative(b), a), fnp.where(right, fnp.negative(a), b)
        pr = fnp.where(right, fnp.subtract(1.0, q), q)
        lo, hi = sp.ndtr(ar), sp.ndtr(br)
        z = sp.ndtri(fnp.add(lo, fnp.multiply(pr, fnp.subtract(hi, lo))))
        return fnp.where(right, fnp.negative(z), z)

    @staticmethod
    def _isf(q, a, b):
        return truncnorm._ppf(fnp.subtract(1.0, q), a, b)


# --------------------------------------------------------------------------
# on [0, 1]
# --------------------------------------------------------------------------


class uniform(Continuous):
    """The uniform distribution on ``[loc, loc + scale]`` (``scipy.stats.uniform``)."""

    _title, _example, _support = "the uniform distribution", (0.25,), (0.0, 1.0)

    @staticmethod
    def _logpdf(y):
        return fnp.multiply(0.0, y)

    @staticmethod
    def _cdf(y):
        return y

    @staticmethod
    def _sf(y):
        return fnp.subtract(1.0, y)

    @staticmethod
    def _logsf(y):
        return fnp.log1p(fnp.negative(y))

    @staticmethod
    def _ppf(q):
        return q

    @staticmethod
    def _isf(q):
        return fnp.subtract(1.0, q)


class beta(Continuous):
    """The beta distribution on ``[loc, loc + scale]`` (``scipy.stats.beta``).

    The CDF family and the quantiles go through ``betainc`` and its inverses:
    they are not differentiable in ``a``, ``b`` (a TypeError names the function).
    """

    _title, _example, _shapes = "the beta distribution", (0.25, 2.0, 3.0), ("a", "b")
    _support = (0.0, 1.0)

    @staticmethod
    def _logpdf(y, a, b):
        return fnp.subtract(fnp.add(sp.xlogy(fnp.subtract(a, 1.0), y),
                                    sp.xlog1py(fnp.subtract(b, 1.0), fnp.negative(y))),
                            sp.betaln(a, b))

    @staticmethod
    def _cdf(y, a, b):
        return sp.betainc(a, b, y)

    @staticmethod
    def _sf(y, a, b):
        return sp.betaincc(a, b, y)

    @staticmethod
    def _ppf(q, a, b):
        return sp.betaincinv(a, b, q)

    @staticmethod
    def _isf(q, a, b):
        return sp.betainccinv(a, b, q)


# --------------------------------------------------------------------------
# on [0, inf)
# --------------------------------------------------------------------------


class gamma(Continuous):
    """The gamma distribution with shape ``a`` (``scipy.stats.gamma``).

    The CDF family and the quantiles go through ``gammainc`` and its inverses:
    they are not differentiable in ``a``.
    """

    _title, _example, _shapes = "the gamma distribution", (2.0, 3.0), ("a",)
    _support = (0.0, None)

    @staticmethod
    def _logpdf(y, a):
        return fnp.subtract(fnp.subtract(sp.xlogy(fnp.subtract(a, 1.0), y), y), sp.gammaln(a))

    @staticmethod
    def _cdf(y, a):
        return sp.gammainc(a, y)

    @staticmethod
    def _sf(y, a):
        return sp.gammaincc(a, y)

    @staticmethod
    def _ppf(q, a):
        return sp.gammaincinv(a, q)

    @staticmethod
    def _isf(q, a):
        return sp.gammainccinv(a, q)


class chi2(Continuous):
    """The chi-squared distribution with ``df`` degrees of freedom (``scipy.stats.chi2``).

    The CDF, the survival function and their inverses go through ``gammainc``/
    ``gammaincc``/``gammaincinv``/``gammainccinv``: they are not differentiable in
    ``df`` (a TypeError names the special function).
    """

    _title, _example, _shapes = "the chi-squared distribution", (2.0, 3.0), ("df",)
    _support = (0.0, None)

    @staticmethod
    def _logpdf(y, df):
        half = fnp.multiply(0.5, df)
        return fnp.subtract(
            fnp.subtract(sp.xlogy(fnp.subtract(half, 1.0), y), fnp.multiply(0.5, y)),
            fnp.add(sp.gammaln(half), fnp.multiply(LOG2, half)))

    @staticmethod
    def _cdf(y, df):
        return sp.gammainc(fnp.multiply(0.5, df), fnp.multiply(0.5, y))

    @staticmethod
    def _sf(y, df):
        return sp.gammaincc(fnp.multiply(0.5, df), fnp.multiply(0.5, y))

    @staticmethod
    def _ppf(q, df):
        return fnp.multiply(2.0, sp.gammaincinv(fnp.multiply(0.5, df), q))

    @staticmethod
    def _isf(q, df):
        return fnp.multiply(2.0, sp.gammainccinv(fnp.multiply(0.5, df), q))


class expon(Continuous):
    """The exponential distribution on ``[loc, inf)`` (``scipy.stats.expon``)."""

    _title, _example, _support = "the exponential distribution", (1.5,), (0.0, None)

    @staticmethod
    def _logpdf(y):
        return fnp.negative(y)

    @staticmethod
    def _cdf(y):
        return fnp.negative(fnp.expm1(fnp.negative(y)))

    @staticmethod
    def _logcdf(y):
        return log1mexp(fnp.negative(y))

    @staticmethod
    def _logsf(y):
        return fnp.negative(y)

    @staticmethod
    def _ppf(q):
        return fnp.negative(fnp.log1p(fnp.negative(q)))

    @staticmethod
    def _isf(q):
        return fnp.negative(fnp.log(q))


class weibull_min(Continuous):
    """The Weibull (minimum) distribution with shape ``c`` (``scipy.stats.weibull_min``).

    At ``y = 0`` ``power`` gives ``c 0^(c-1)`` and 0 in ``c``.
    """

    _title, _example, _shapes = "the Weibull distribution", (1.5, 2.0), ("c",)
    _support = (0.0, None)

    @staticmethod
    def _logpdf(y, c):
        return fnp.subtract(fnp.add(fnp.log(c), sp.xlogy(fnp.subtract(c, 1.0), y)),
                            fnp.power(y, c))

    @staticmethod
    def _cdf(y, c):
        return fnp.negative(fnp.expm1(fnp.negative(fnp.power(y, c))))

    @staticmethod
    def _logcdf(y, c):
        return log1mexp(fnp.negative(fnp.power(y, c)))

    @staticmethod
    def _logsf(y, c):
        return fnp.negative(fnp.power(y, c))

    @staticmethod
    def _ppf(q, c):
        return fnp.power(fnp.negative(fnp.log1p(fnp.negative(q))), fnp.divide(1.0, c))

    @staticmethod
    def _isf(q, c):
        return fnp.power(fnp.negative(fnp.log(q)), fnp.divide(1.0, c))


class lognorm(Continuous):
    """The log-normal distribution with shape ``s`` (``scipy.stats.lognorm``)."""

    _title, _example, _shapes = "the log-normal distribution", (1.5, 0.5), ("s",)

    @staticmethod
    def _split(y, s):
        inside = fnp.greater(y, 0)  # open at 0, where log(y) is -inf
        return inside, None, fnp.where(inside, y, 1.0)

    @staticmethod
    def _logpdf(y, s):
        z = fnp.divide(fnp.log(y), s)
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(z)),
                            fnp.add(fnp.add(fnp.multiply(z, s), fnp.log(s)), HALF_LOG_2PI))

    @staticmethod
    def _cdf(y, s):
        return sp.ndtr(fnp.divide(fnp.log(y), s))

    @staticmethod
    def _logcdf(y, s):
        return sp.log_ndtr(fnp.divide(fnp.log(y), s))

    @staticmethod
    def _sf(y, s):
        return sp.ndtr(fnp.negative(fnp.divide(fnp.log(y), s)))

    @staticmethod
    def _logsf(y, s):
        return sp.log_ndtr(fnp.negative(fnp.divide(fnp.log(y), s)))

    @staticmethod
    def _ppf(q, s):
        return fnp.exp(fnp.multiply(s, sp.ndtri(q)))

    @staticmethod
    def _isf(q, s):
        return fnp.exp(fnp.multiply(fnp.negative(s), sp.ndtri(q)))


class pareto(Continuous):
    """The Pareto distribution with shape ``b`` on ``[loc + scale, inf)`` (``scipy.stats.pareto``)."""

    _title, _example, _shapes = "the Pareto distribution", (2.0, 3.0), ("b",)
    _support = (1.0, None)

    @staticmethod
    def _logpdf(y, b):
        return fnp.subtract(fnp.log(b), fnp.multiply(fnp.add(b, 1.0), fnp.log(y)))

    @staticmethod
    def _cdf(y, b):
        return fnp.negative(fnp.expm1(pareto._logsf(y, b)))

    @staticmethod
    def _logcdf(y, b):
        return log1mexp(pareto._logsf(y, b))

    @staticmethod
    def _logsf(y, b):
        return fnp.multiply(fnp.negative(b), fnp.log(y))

    @staticmethod
    def _ppf(q, b):
        return fnp.exp(fnp.divide(fnp.negative(fnp.log1p(fnp.negative(q))), b))

    @staticmethod
    def _isf(q, b):
        return fnp.exp(fnp.divide(fnp.negative(fnp.log(q)), b))
