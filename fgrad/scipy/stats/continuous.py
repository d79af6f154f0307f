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
from ._base import HALF_LOG_2PI, LOG2, LOG_PI, Continuous, shapes_first

__all__ = ["norm", "t", "beta", "gamma", "expon", "uniform", "laplace", "logistic", "cauchy",
           "lognorm", "pareto", "weibull_min", "chi2", "truncnorm", "vonmises", "gennorm"]


# --------------------------------------------------------------------------
# symmetric about loc: sf, logsf and isf are mirrored from cdf, logcdf, ppf
# --------------------------------------------------------------------------


class norm(Continuous):
    """The normal distribution ``N(loc, scale**2)`` (``scipy.stats.norm``)."""

    _title, _example, _symmetric = "the normal distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(y)), HALF_LOG_2PI)

    _cdf, _logcdf, _ppf = sp.ndtr, sp.log_ndtr, sp.ndtri


def _t_quantile(q, df):
    """``stdtrit(df, q)``, with the ends as in scipy.stats: ``-inf`` at ``q == 0`` and
    ``+inf`` at ``q == 1`` (scipy.special's stdtrit gives ``+inf`` at 0, and scipy < 1.16
    NaN at both ends).  The ends are the pole ``-1 / (2 q)`` or ``1 / (2 (1 - q))``, whose value and
    slope (``+inf``, the limit of ``1 / pdf``) are right in both modes; each branch sees
    safe inputs, so the unused one adds no NaN to the derivative."""
    end = fnp.logical_or(fnp.equal(q, 0), fnp.equal(q, 1))
    q_end = fnp.where(end, q, 0.25)
    low = fnp.less(q_end, 0.5)
    pole = fnp.divide(fnp.where(low, -0.5, 0.5),
                      fnp.where(low, q_end, fnp.subtract(1.0, q_end)))
    return fnp.where(end, pole, sp.stdtrit(df, fnp.where(end, 0.5, q)))


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

    (_cdf,) = shapes_first(sp.stdtr)
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

    _cdf, _logcdf, _ppf = sp.expit, sp.log_expit, sp.logit


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
    def _logsf(y):
        return fnp.log1p(fnp.negative(y))

    @staticmethod
    def _sf(y):
        return fnp.subtract(1.0, y)

    _ppf, _isf = _cdf, _sf  # on [0, 1] the quantiles are the same functions


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

    _cdf, _sf, _ppf, _isf = shapes_first(sp.betainc, sp.betaincc, sp.betaincinv, sp.betainccinv)


# --------------------------------------------------------------------------
# on [0, inf)
# --------------------------------------------------------------------------


class gamma(Continuous):
    """The gamma distribution with shape ``a`` (``scipy.stats.gamma``).

    The CDF family and the quantiles go through ``gammainc`` and its inverses,
    which are differentiable in ``a`` too.
    """

    _title, _example, _shapes = "the gamma distribution", (2.0, 3.0), ("a",)
    _support = (0.0, None)

    @staticmethod
    def _logpdf(y, a):
        return fnp.subtract(fnp.subtract(sp.xlogy(fnp.subtract(a, 1.0), y), y), sp.gammaln(a))

    _cdf, _sf, _ppf, _isf = shapes_first(sp.gammainc, sp.gammaincc, sp.gammaincinv,
                                         sp.gammainccinv)


class chi2(Continuous):
    """The chi-squared distribution with ``df`` degrees of freedom (``scipy.stats.chi2``).

    The CDF, the survival function and their inverses go through ``gammainc``/
    ``gammaincc``/``gammaincinv``/``gammainccinv``, differentiable in ``df`` too.
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

    _logpdf = _logsf = fnp.negative  # -y; the CDF is derived from the log survival function

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
    def _logsf(y, b):
        return fnp.multiply(fnp.negative(b), fnp.log(y))

    @staticmethod
    def _ppf(q, b):
        return fnp.exp(fnp.divide(fnp.negative(fnp.log1p(fnp.negative(q))), b))

    @staticmethod
    def _isf(q, b):
        return fnp.exp(fnp.divide(fnp.negative(fnp.log(q)), b))
