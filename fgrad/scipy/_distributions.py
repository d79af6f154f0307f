"""More distributions for fgrad.scipy.stats (re-exported there).

Same conventions as :mod:`fgrad.scipy.stats`: one class per distribution with
scipy.stats' method names and signatures; on plain inputs every method returns
scipy's own result; under a transform the value is computed with fgrad.numpy
and the special-function rows, differentiable in the point and every
continuous parameter.

Outside the support the values are scipy's (``-inf`` log densities, ``0`` or
``1`` CDFs) with finite zero derivatives: the formulas only ever see safe
stand-in values there.  Counts are not differentiable: ``k`` of every pmf and
``n`` of ``binom`` go through a pass-through row without derivative rules, so
asking for a derivative in them raises a TypeError instead of returning a
number.  Where scipy has no formula for a derivative (the shape arguments of
``gammainc`` and ``betainc``: ``chi2.cdf`` in ``df``, ``binom``/``nbinom``
CDFs in ``n``) the same TypeError names the special function, as for
``gamma.cdf``.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import expon
    >>> fgrad.grad(expon.logpdf, argnums=(0, 1, 2))(3.0, 1.0, 2.0)
    (np.float64(-0.5), np.float64(0.5), np.float64(0.0))
"""

import math

import numpy as np

from .. import numpy as fnp
from ..batching import BatchedValue
from ..core import any_tracer, concrete
from ..primitives import special as _rows
from . import special as sp

__all__ = [
    "expon", "uniform", "laplace", "logistic", "cauchy", "lognorm", "pareto", "weibull_min",
    "chi2", "truncnorm", "vonmises", "gennorm",
    "bernoulli", "binom", "geom", "nbinom",
    "dirichlet", "multinomial", "multivariate_t", "wishart",
]

_LOG2 = math.log(2.0)
_LOG_PI = math.log(math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

_traced = any_tracer


def _scipy(dist):
    return getattr(_rows.scipy_module("stats"), dist)


def _std(x, loc, scale):
    return fnp.divide(fnp.subtract(x, loc), scale)


def _nan_unless(ok, val):
    return fnp.where(ok, val, np.nan)


def _prob(q):
    """``(ok, safe_q)``: ``ok`` where ``0 <= q <= 1``; ``safe_q`` is 0.5 elsewhere."""
    ok = fnp.logical_and(fnp.greater_equal(q, 0), fnp.less_equal(q, 1))
    return ok, fnp.where(ok, q, 0.5)


def _log1mexp(a):
    """``log(1 - exp(a))`` for ``a <= 0``, accurate at both ends."""
    near = fnp.greater(a, -_LOG2)
    a_near = fnp.where(near, a, -1.0)
    a_far = fnp.where(near, -1.0, a)
    return fnp.where(near, fnp.log(fnp.negative(fnp.expm1(a_near))),
                     fnp.log1p(fnp.negative(fnp.exp(a_far))))


# --------------------------------------------------------------------------
# continuous
# --------------------------------------------------------------------------


class expon:
    """The exponential distribution on ``[loc, inf)`` (``scipy.stats.expon``)."""

    @staticmethod
    def _split(x, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return inside, fnp.where(inside, y, 0.0)

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density ``-(x - loc)/scale - log(scale)``, ``-inf`` for ``x < loc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.logpdf)(1.0, 0.0, 4.0))  # -1/scale
            -0.25
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").logpdf(x, loc, scale)
        inside, y = expon._split(x, loc, scale)
        return fnp.where(inside, fnp.subtract(fnp.negative(y), fnp.log(scale)), -np.inf)

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density of the exponential distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.pdf)(0.0))  # -exp(-x)
            -1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").pdf(x, loc, scale)
        return fnp.exp(expon.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """CDF ``1 - exp(-(x - loc)/scale)`` (computed with expm1).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.cdf)(0.0, 0.0, 2.0))  # pdf(loc) = 1/scale
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").cdf(x, loc, scale)
        inside, y = expon._split(x, loc, scale)
        return fnp.where(inside, fnp.negative(fnp.expm1(fnp.negative(y))), 0.0)

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log of the CDF, ``log(1 - exp(-y))``, accurate for small and large ``y``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> round(float(fgrad.grad(expon.logcdf)(1.0)), 6)  # 1 / (e - 1)
            0.581977
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").logcdf(x, loc, scale)
        inside, y = expon._split(x, loc, scale)
        return fnp.where(inside, _log1mexp(fnp.negative(y)), -np.inf)

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``exp(-(x - loc)/scale)`` (1 for ``x < loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.sf)(0.0))
            -1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").sf(x, loc, scale)
        return fnp.exp(expon.logsf(x, loc, scale))

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log survival function ``-(x - loc)/scale`` (0 for ``x < loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.logsf, argnums=2)(3.0, 1.0, 2.0))  # y / scale
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("expon").logsf(x, loc, scale)
        inside, y = expon._split(x, loc, scale)
        return fnp.where(inside, fnp.negative(y), 0.0)

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile ``loc - scale log(1 - q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.ppf)(0.5))  # 1 / (1 - q)
            2.0
        """
        if not _traced(q, loc, scale):
            return _scipy("expon").ppf(q, loc, scale)
        ok, q = _prob(q)
        y = fnp.negative(fnp.log1p(fnp.negative(q)))
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function ``loc - scale log(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.isf)(0.5))  # -1 / q
            -2.0
        """
        if not _traced(q, loc, scale):
            return _scipy("expon").isf(q, loc, scale)
        ok, q = _prob(q)
        return _nan_unless(ok, fnp.subtract(loc, fnp.multiply(scale, fnp.log(q))))


class uniform:
    """The uniform distribution on ``[loc, loc + scale]`` (``scipy.stats.uniform``)."""

    @staticmethod
    def _split(x, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.logical_and(fnp.greater_equal(y, 0), fnp.less_equal(y, 1))
        return y, inside, fnp.where(inside, y, 0.5)

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density ``-log(scale)`` on the support, ``-inf`` off it.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.logpdf, argnums=2)(0.5, 0.0, 2.0))  # -1/scale
            -0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").logpdf(x, loc, scale)
        _, inside, _ = uniform._split(x, loc, scale)
        return fnp.where(inside, fnp.negative(fnp.log(scale)), -np.inf)

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density ``1/scale`` on the support.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.pdf, argnums=2)(0.5, 0.0, 2.0))  # -1/scale^2
            -0.25
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").pdf(x, loc, scale)
        return fnp.exp(uniform.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """CDF ``(x - loc)/scale`` clipped to ``[0, 1]``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.cdf)(0.5, 0.0, 2.0))
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").cdf(x, loc, scale)
        y, inside, ys = uniform._split(x, loc, scale)
        return fnp.where(inside, ys, fnp.where(fnp.greater(y, 1), 1.0, 0.0))

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log of the CDF.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.logcdf)(0.25))  # 1/x
            4.0
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").logcdf(x, loc, scale)
        y, inside, ys = uniform._split(x, loc, scale)
        return fnp.where(inside, fnp.log(ys), fnp.where(fnp.greater(y, 1), 0.0, -np.inf))

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``1 - cdf``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.sf)(0.25))
            -1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").sf(x, loc, scale)
        y, inside, ys = uniform._split(x, loc, scale)
        return fnp.where(inside, fnp.subtract(1.0, ys), fnp.where(fnp.greater(y, 1), 0.0, 1.0))

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log survival function ``log1p(-y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.logsf)(0.75))  # -1/(1 - x)
            -4.0
        """
        if not _traced(x, loc, scale):
            return _scipy("uniform").logsf(x, loc, scale)
        y, inside, ys = uniform._split(x, loc, scale)
        return fnp.where(inside, fnp.log1p(fnp.negative(ys)),
                         fnp.where(fnp.greater(y, 1), -np.inf, 0.0))

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile ``loc + q scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.ppf, argnums=2)(0.25, 1.0, 2.0))  # q
            0.25
        """
        if not _traced(q, loc, scale):
            return _scipy("uniform").ppf(q, loc, scale)
        ok, q = _prob(q)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(q, scale)))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function ``loc + (1 - q) scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.isf)(0.25, 1.0, 2.0))  # -scale
            -2.0
        """
        if not _traced(q, loc, scale):
            return _scipy("uniform").isf(q, loc, scale)
        ok, q = _prob(q)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(fnp.subtract(1.0, q), scale)))


class laplace:
    """The Laplace (double exponential) distribution (``scipy.stats.laplace``)."""

    @staticmethod
    def _std_logcdf(y):
        """``log cdf(y)``: ``y - log 2`` for ``y <= 0``, ``log1p(-exp(-y)/2)`` above."""
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.log1p(fnp.multiply(-0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.subtract(fnp.where(right, 0.0, y), _LOG2))

    @staticmethod
    def _std_cdf(y):
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.subtract(1.0, fnp.multiply(0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.multiply(0.5, fnp.exp(fnp.where(right, 0.0, y))))

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density ``-|x - loc|/scale - log(2 scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.logpdf)(2.0, 0.0, 0.5))  # -sign(x)/scale
            -2.0
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").logpdf(x, loc, scale)
        m = fnp.negative(fnp.abs(_std(x, loc, scale)))
        return fnp.subtract(m, fnp.add(fnp.log(scale), _LOG2))

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density ``exp(-|x - loc|/scale) / (2 scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.pdf)(-1e-300))  # 0.5 exp(x) left of 0
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").pdf(x, loc, scale)
        return fnp.exp(laplace.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """CDF: ``exp(y)/2`` left of ``loc``, ``1 - exp(-y)/2`` right of it.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.cdf)(0.0))  # the density at loc
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").cdf(x, loc, scale)
        return laplace._std_cdf(_std(x, loc, scale))

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log of the CDF, accurate in both tails.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.logcdf)(-3.0))  # 1/scale left of loc
            1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").logcdf(x, loc, scale)
        return laplace._std_logcdf(_std(x, loc, scale))

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``cdf(2 loc - x)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.sf)(0.0))
            -0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").sf(x, loc, scale)
        return laplace._std_cdf(_std(loc, x, scale))

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log survival function, accurate in both tails.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.logsf)(3.0))  # -1/scale right of loc
            -1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("laplace").logsf(x, loc, scale)
        return laplace._std_logcdf(_std(loc, x, scale))

    @staticmethod
    def _std_ppf(ok, q):
        upper = fnp.greater(q, 0.5)
        hi = fnp.where(upper, q, 0.75)
        lo = fnp.where(upper, 0.25, q)
        return fnp.where(upper, fnp.negative(fnp.log(fnp.multiply(2.0, fnp.subtract(1.0, hi)))),
                         fnp.log(fnp.multiply(2.0, lo)))

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile: ``log(2q)`` below the median, ``-log(2 - 2q)`` above (times scale, plus loc).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.ppf)(0.25))  # 1/q
            4.0
        """
        if not _traced(q, loc, scale):
            return _scipy("laplace").ppf(q, loc, scale)
        ok, q = _prob(q)
        y = laplace._std_ppf(ok, q)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function ``2 loc - ppf(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.isf)(0.25))  # -1/q
            -4.0
        """
        if not _traced(q, loc, scale):
            return _scipy("laplace").isf(q, loc, scale)
        ok, q = _prob(q)
        y = laplace._std_ppf(ok, q)
        return _nan_unless(ok, fnp.subtract(loc, fnp.multiply(scale, y)))


class logistic:
    """The logistic distribution (``scipy.stats.logistic``)."""

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density ``log_expit(y) + log_expit(-y) - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.logpdf)(0.0))  # 1 - 2 expit(x)
            0.0
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").logpdf(x, loc, scale)
        y = _std(x, loc, scale)
        return fnp.subtract(fnp.add(sp.log_expit(y), sp.log_expit(fnp.negative(y))),
                            fnp.log(scale))

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density ``expit(y) expit(-y) / scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.pdf, argnums=2)(0.0, 0.0, 1.0))  # -pdf/scale
            -0.25
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").pdf(x, loc, scale)
        return fnp.exp(logistic.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """CDF ``expit((x - loc)/scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.cdf)(0.0))
            0.25
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").cdf(x, loc, scale)
        return sp.expit(_std(x, loc, scale))

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log CDF ``log_expit(y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.logcdf)(0.0))  # expit(-x)
            0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").logcdf(x, loc, scale)
        return sp.log_expit(_std(x, loc, scale))

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``expit(-y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.sf)(0.0))
            -0.25
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").sf(x, loc, scale)
        return sp.expit(fnp.negative(_std(x, loc, scale)))

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log survival function ``log_expit(-y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.logsf)(0.0))
            -0.5
        """
        if not _traced(x, loc, scale):
            return _scipy("logistic").logsf(x, loc, scale)
        return sp.log_expit(_std(loc, x, scale))

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile ``loc + scale logit(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.ppf)(0.5))  # 1 / (q (1 - q))
            4.0
        """
        if not _traced(q, loc, scale):
            return _scipy("logistic").ppf(q, loc, scale)
        return fnp.add(loc, fnp.multiply(scale, sp.logit(q)))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function ``loc - scale logit(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.isf)(0.5))
            -4.0
        """
        if not _traced(q, loc, scale):
            return _scipy("logistic").isf(q, loc, scale)
        return fnp.subtract(loc, fnp.multiply(scale, sp.logit(q)))


class cauchy:
    """The Cauchy distribution (``scipy.stats.cauchy``)."""

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density ``-log(pi scale (1 + y^2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> float(fgrad.grad(cauchy.logpdf)(1.0))  # -2y / (1 + y^2)
            -1.0
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").logpdf(x, loc, scale)
        y = _std(x, loc, scale)
        return fnp.negative(fnp.add(fnp.add(fnp.log1p(fnp.square(y)), _LOG_PI), fnp.log(scale)))

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density ``1 / (pi scale (1 + y^2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.pdf)(1.0)), 6)  # -1 / (2 pi)
            -0.159155
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").pdf(x, loc, scale)
        return fnp.exp(cauchy.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """CDF ``arctan2(1, -y) / pi`` (accurate in the left tail too).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.cdf)(0.0)), 6)  # 1/pi
            0.31831
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").cdf(x, loc, scale)
        return fnp.divide(fnp.arctan2(1.0, _std(loc, x, scale)), math.pi)

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log of the CDF.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.logcdf)(0.0)), 6)  # 2/pi
            0.63662
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").logcdf(x, loc, scale)
        return fnp.log(cauchy.cdf(x, loc, scale))

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``arctan2(1, y) / pi``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.sf)(0.0)), 6)
            -0.31831
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").sf(x, loc, scale)
        return fnp.divide(fnp.arctan2(1.0, _std(x, loc, scale)), math.pi)

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log survival function.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.logsf)(0.0)), 6)
            -0.63662
        """
        if not _traced(x, loc, scale):
            return _scipy("cauchy").logsf(x, loc, scale)
        return fnp.log(cauchy.sf(x, loc, scale))

    @staticmethod
    def _std_ppf(q):
        # -cot(pi r) with r = q or q - 1 (exact), so both tails keep their precision
        r = fnp.where(fnp.greater(q, 0.5), fnp.subtract(q, 1.0), q)
        a = fnp.multiply(math.pi, r)
        y = fnp.negative(fnp.divide(fnp.cos(a), fnp.sin(a)))
        return fnp.where(fnp.equal(q, 1.0), np.inf, y)

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile ``loc + scale tan(pi (q - 1/2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.ppf)(0.25)), 6)  # pi / sin(pi q)^2
            6.283185
        """
        if not _traced(q, loc, scale):
            return _scipy("cauchy").ppf(q, loc, scale)
        ok, q = _prob(q)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, cauchy._std_ppf(q))))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function ``loc - scale tan(pi (q - 1/2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.isf)(0.5)), 6)  # -pi
            -3.141593
        """
        if not _traced(q, loc, scale):
            return _scipy("cauchy").isf(q, loc, scale)
        ok, q = _prob(q)
        return _nan_unless(ok, fnp.subtract(loc, fnp.multiply(scale, cauchy._std_ppf(q))))


class lognorm:
    """The log-normal distribution with shape ``s`` (``scipy.stats.lognorm``)."""

    @staticmethod
    def _split(x, s, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.greater(y, 0)
        return inside, fnp.divide(fnp.log(fnp.where(inside, y, 1.0)), s)

    @staticmethod
    def logpdf(x, s, loc=0, scale=1):
        """Log density; ``-inf`` for ``x <= loc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> float(fgrad.grad(lognorm.logpdf)(1.0, 1.0))  # -(1 + log(x)/s^2)/x
            -1.0
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").logpdf(x, s, loc, scale)
        inside, z = lognorm._split(x, s, loc, scale)
        val = fnp.subtract(fnp.multiply(-0.5, fnp.square(z)),
                           fnp.add(fnp.add(fnp.multiply(z, s), fnp.log(s)),
                                   fnp.add(fnp.log(scale), _HALF_LOG_2PI)))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, s, loc=0, scale=1):
        """Density of the log-normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.pdf)(1.0, 1.0)), 6)  # -pdf(1)
            -0.398942
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").pdf(x, s, loc, scale)
        return fnp.exp(lognorm.logpdf(x, s, loc, scale))

    @staticmethod
    def cdf(x, s, loc=0, scale=1):
        """CDF ``ndtr(log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.cdf, argnums=1)(2.0, 0.5)), 6)  # -phi(z) z / s, z = log(2)/s
            -0.423135
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").cdf(x, s, loc, scale)
        inside, z = lognorm._split(x, s, loc, scale)
        return fnp.where(inside, sp.ndtr(z), 0.0)

    @staticmethod
    def logcdf(x, s, loc=0, scale=1):
        """Log CDF ``log_ndtr(log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.logcdf)(1.0, 1.0)), 6)  # 2 phi(0)
            0.797885
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").logcdf(x, s, loc, scale)
        inside, z = lognorm._split(x, s, loc, scale)
        return fnp.where(inside, sp.log_ndtr(z), -np.inf)

    @staticmethod
    def sf(x, s, loc=0, scale=1):
        """Survival function ``ndtr(-log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.sf)(1.0, 1.0)), 6)
            -0.398942
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").sf(x, s, loc, scale)
        inside, z = lognorm._split(x, s, loc, scale)
        return fnp.where(inside, sp.ndtr(fnp.negative(z)), 1.0)

    @staticmethod
    def logsf(x, s, loc=0, scale=1):
        """Log survival function ``log_ndtr(-log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.logsf)(1.0, 1.0)), 6)
            -0.797885
        """
        if not _traced(x, s, loc, scale):
            return _scipy("lognorm").logsf(x, s, loc, scale)
        inside, z = lognorm._split(x, s, loc, scale)
        return fnp.where(inside, sp.log_ndtr(fnp.negative(z)), 0.0)

    @staticmethod
    def ppf(q, s, loc=0, scale=1):
        """Quantile ``loc + scale exp(s ndtri(q))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.ppf)(0.5, 1.0)), 6)  # sqrt(2 pi)
            2.506628
        """
        if not _traced(q, s, loc, scale):
            return _scipy("lognorm").ppf(q, s, loc, scale)
        return fnp.add(loc, fnp.multiply(scale, fnp.exp(fnp.multiply(s, sp.ndtri(q)))))

    @staticmethod
    def isf(q, s, loc=0, scale=1):
        """Inverse survival function ``loc + scale exp(-s ndtri(q))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.isf)(0.5, 1.0)), 6)
            -2.506628
        """
        if not _traced(q, s, loc, scale):
            return _scipy("lognorm").isf(q, s, loc, scale)
        return fnp.add(loc, fnp.multiply(scale, fnp.exp(fnp.multiply(fnp.negative(s),
                                                                     sp.ndtri(q)))))


class pareto:
    """The Pareto distribution with shape ``b`` on ``[loc + scale, inf)`` (``scipy.stats.pareto``)."""

    @staticmethod
    def _split(x, b, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 1)
        return inside, fnp.log(fnp.where(inside, y, 1.0))  # log y >= 0

    @staticmethod
    def logpdf(x, b, loc=0, scale=1):
        """Log density ``log(b) - (b + 1) log(y) - log(scale)``; ``-inf`` for ``y < 1``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logpdf)(2.0, 3.0))  # -(b + 1)/x
            -2.0
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").logpdf(x, b, loc, scale)
        inside, ly = pareto._split(x, b, loc, scale)
        val = fnp.subtract(fnp.subtract(fnp.log(b), fnp.multiply(fnp.add(b, 1.0), ly)),
                           fnp.log(scale))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, b, loc=0, scale=1):
        """Density ``b / y^(b + 1) / scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.pdf, argnums=1)(1.0, 2.0))  # d/db b at y = 1
            1.0
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").pdf(x, b, loc, scale)
        return fnp.exp(pareto.logpdf(x, b, loc, scale))

    @staticmethod
    def cdf(x, b, loc=0, scale=1):
        """CDF ``1 - y^-b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.cdf)(1.0, 2.0))  # the density b at y = 1
            2.0
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").cdf(x, b, loc, scale)
        inside, ly = pareto._split(x, b, loc, scale)
        return fnp.where(inside, fnp.negative(fnp.expm1(fnp.multiply(fnp.negative(b), ly))), 0.0)

    @staticmethod
    def logcdf(x, b, loc=0, scale=1):
        """Log of the CDF, ``log(1 - y^-b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logcdf)(2.0, 1.0))  # pdf/cdf = (1/4)/(1/2)
            0.5
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").logcdf(x, b, loc, scale)
        inside, ly = pareto._split(x, b, loc, scale)
        return fnp.where(inside, _log1mexp(fnp.multiply(fnp.negative(b), ly)), -np.inf)

    @staticmethod
    def sf(x, b, loc=0, scale=1):
        """Survival function ``y^-b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.sf)(2.0, 1.0))  # -b y^(-b-1)
            -0.25
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").sf(x, b, loc, scale)
        return fnp.exp(pareto.logsf(x, b, loc, scale))

    @staticmethod
    def logsf(x, b, loc=0, scale=1):
        """Log survival function ``-b log(y)`` (0 below the support).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logsf)(2.0, 3.0))  # -b/y
            -1.5
        """
        if not _traced(x, b, loc, scale):
            return _scipy("pareto").logsf(x, b, loc, scale)
        inside, ly = pareto._split(x, b, loc, scale)
        return fnp.where(inside, fnp.multiply(fnp.negative(b), ly), 0.0)

    @staticmethod
    def ppf(q, b, loc=0, scale=1):
        """Quantile ``loc + scale (1 - q)^(-1/b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.ppf)(0.5, 1.0))  # 1/(b (1 - q)^(1 + 1/b))
            4.0
        """
        if not _traced(q, b, loc, scale):
            return _scipy("pareto").ppf(q, b, loc, scale)
        ok, q = _prob(q)
        y = fnp.exp(fnp.divide(fnp.negative(fnp.log1p(fnp.negative(q))), b))
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))

    @staticmethod
    def isf(q, b, loc=0, scale=1):
        """Inverse survival function ``loc + scale q^(-1/b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.isf)(0.5, 1.0))  # -1/(b q^(1 + 1/b))
            -4.0
        """
        if not _traced(q, b, loc, scale):
            return _scipy("pareto").isf(q, b, loc, scale)
        ok, q = _prob(q)
        y = fnp.exp(fnp.divide(fnp.negative(fnp.log(q)), b))
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))


class weibull_min:
    """The Weibull (minimum) distribution with shape ``c`` (``scipy.stats.weibull_min``)."""

    @staticmethod
    def _split(x, c, loc, scale):
        """``(safe y, inside, y^c)``; at ``y = 0`` ``power`` gives ``c 0^(c-1)`` and 0 in ``c``."""
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        y = fnp.where(inside, y, 1.0)
        return y, inside, fnp.power(y, c)

    @staticmethod
    def logpdf(x, c, loc=0, scale=1):
        """Log density ``log(c) + (c - 1) log(y) - y^c - log(scale)``; ``-inf`` for ``y < 0``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.logpdf)(1.0, 2.0))  # (c - 1)/y - c y^(c-1)
            -1.0
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").logpdf(x, c, loc, scale)
        y, inside, yc = weibull_min._split(x, c, loc, scale)
        val = fnp.subtract(fnp.add(fnp.log(c), sp.xlogy(fnp.subtract(c, 1.0), y)),
                           fnp.add(yc, fnp.log(scale)))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, c, loc=0, scale=1):
        """Density of the Weibull distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.pdf)(0.0, 1.0))  # exponential: -exp(-y)
            -1.0
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").pdf(x, c, loc, scale)
        return fnp.exp(weibull_min.logpdf(x, c, loc, scale))

    @staticmethod
    def cdf(x, c, loc=0, scale=1):
        """CDF ``1 - exp(-y^c)`` (computed with expm1).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.cdf, argnums=1)(1.0, 3.0))  # y^c log(y) = 0
            0.0
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").cdf(x, c, loc, scale)
        _, inside, yc = weibull_min._split(x, c, loc, scale)
        return fnp.where(inside, fnp.negative(fnp.expm1(fnp.negative(yc))), 0.0)

    @staticmethod
    def logcdf(x, c, loc=0, scale=1):
        """Log of the CDF, ``log(1 - exp(-y^c))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> round(float(fgrad.grad(weibull_min.logcdf)(1.0, 1.0)), 6)  # 1/(e - 1)
            0.581977
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").logcdf(x, c, loc, scale)
        _, inside, yc = weibull_min._split(x, c, loc, scale)
        return fnp.where(inside, _log1mexp(fnp.negative(yc)), -np.inf)

    @staticmethod
    def sf(x, c, loc=0, scale=1):
        """Survival function ``exp(-y^c)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.sf)(0.0, 1.0))
            -1.0
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").sf(x, c, loc, scale)
        return fnp.exp(weibull_min.logsf(x, c, loc, scale))

    @staticmethod
    def logsf(x, c, loc=0, scale=1):
        """Log survival function ``-y^c`` (0 below ``loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.logsf)(2.0, 2.0))  # -c y^(c-1)
            -4.0
        """
        if not _traced(x, c, loc, scale):
            return _scipy("weibull_min").logsf(x, c, loc, scale)
        _, inside, yc = weibull_min._split(x, c, loc, scale)
        return fnp.where(inside, fnp.negative(yc), 0.0)

    @staticmethod
    def ppf(q, c, loc=0, scale=1):
        """Quantile ``loc + scale (-log(1 - q))^(1/c)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.ppf)(0.5, 1.0))  # exponential: 1/(1 - q)
            2.0
        """
        if not _traced(q, c, loc, scale):
            return _scipy("weibull_min").ppf(q, c, loc, scale)
        ok, q = _prob(q)
        h = fnp.negative(fnp.log1p(fnp.negative(q)))
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, fnp.power(h, fnp.divide(1.0, c)))))

    @staticmethod
    def isf(q, c, loc=0, scale=1):
        """Inverse survival function ``loc + scale (-log(q))^(1/c)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.isf)(0.5, 1.0))  # exponential: -1/q
            -2.0
        """
        if not _traced(q, c, loc, scale):
            return _scipy("weibull_min").isf(q, c, loc, scale)
        ok, q = _prob(q)
        h = fnp.negative(fnp.log(q))
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, fnp.power(h, fnp.divide(1.0, c)))))


class chi2:
    """The chi-squared distribution with ``df`` degrees of freedom (``scipy.stats.chi2``).

    The CDF, the survival function and their inverses go through ``gammainc``/
    ``gammaincc``/``gammaincinv``/``gammainccinv``: they are not differentiable in
    ``df`` (a TypeError names the special function).
    """

    @staticmethod
    def _split(x, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return inside, fnp.where(inside, y, 1.0)

    @staticmethod
    def logpdf(x, df, loc=0, scale=1):
        """Log density ``(df/2 - 1) log(y) - y/2 - log Gamma(df/2) - (df/2) log 2 - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.logpdf)(2.0, 4.0))  # (df/2 - 1)/y - 1/2
            0.0
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").logpdf(x, df, loc, scale)
        inside, y = chi2._split(x, loc, scale)
        half = fnp.multiply(0.5, df)
        val = fnp.subtract(
            fnp.subtract(sp.xlogy(fnp.subtract(half, 1.0), y), fnp.multiply(0.5, y)),
            fnp.add(fnp.add(sp.gammaln(half), fnp.multiply(_LOG2, half)), fnp.log(scale)))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, df, loc=0, scale=1):
        """Density of the chi-squared distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.pdf)(0.0, 2.0))  # exp(-y/2)/2
            -0.25
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").pdf(x, df, loc, scale)
        return fnp.exp(chi2.logpdf(x, df, loc, scale))

    @staticmethod
    def cdf(x, df, loc=0, scale=1):
        """CDF ``gammainc(df/2, y/2)``; differentiable in ``x``, ``loc``, ``scale``, not ``df``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.cdf)(0.0, 2.0))  # the density at 0
            0.5
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").cdf(x, df, loc, scale)
        inside, y = chi2._split(x, loc, scale)
        return fnp.where(inside, sp.gammainc(fnp.multiply(0.5, df), fnp.multiply(0.5, y)), 0.0)

    @staticmethod
    def logcdf(x, df, loc=0, scale=1):
        """Log of the CDF (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> round(float(fgrad.grad(chi2.logcdf)(2.0, 2.0)), 6)  # pdf/cdf = 1/(2 (e - 1))
            0.290988
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").logcdf(x, df, loc, scale)
        inside, y = chi2._split(x, loc, scale)
        return fnp.where(inside, fnp.log(sp.gammainc(fnp.multiply(0.5, df), fnp.multiply(0.5, y))),
                         -np.inf)

    @staticmethod
    def sf(x, df, loc=0, scale=1):
        """Survival function ``gammaincc(df/2, y/2)`` (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.sf)(0.0, 2.0))
            -0.5
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").sf(x, df, loc, scale)
        inside, y = chi2._split(x, loc, scale)
        return fnp.where(inside, sp.gammaincc(fnp.multiply(0.5, df), fnp.multiply(0.5, y)), 1.0)

    @staticmethod
    def logsf(x, df, loc=0, scale=1):
        """Log survival function (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.logsf)(3.0, 2.0))  # df = 2: logsf = -y/2
            -0.5
        """
        if not _traced(x, df, loc, scale):
            return _scipy("chi2").logsf(x, df, loc, scale)
        inside, y = chi2._split(x, loc, scale)
        return fnp.where(inside, fnp.log(sp.gammaincc(fnp.multiply(0.5, df),
                                                      fnp.multiply(0.5, y))), 0.0)

    @staticmethod
    def ppf(q, df, loc=0, scale=1):
        """Quantile function, ``2 gammaincinv(df / 2, q)`` (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> round(float(fgrad.grad(chi2.ppf)(0.5, 2.0)), 12)  # -2 log(1 - q): 2 / (1 - q)
            4.0
        """
        if not _traced(q, df, loc, scale):
            return _scipy("chi2").ppf(q, df, loc, scale)
        y = fnp.multiply(2.0, sp.gammaincinv(fnp.multiply(0.5, df), q))
        return fnp.add(fnp.multiply(y, scale), loc)

    @staticmethod
    def isf(q, df, loc=0, scale=1):
        """Inverse survival function, ``2 gammainccinv(df / 2, q)`` (not differentiable
        in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> round(float(fgrad.grad(chi2.isf)(0.5, 2.0)), 12)  # -2 log(q): -2 / q
            -4.0
        """
        if not _traced(q, df, loc, scale):
            return _scipy("chi2").isf(q, df, loc, scale)
        y = fnp.multiply(2.0, sp.gammainccinv(fnp.multiply(0.5, df), q))
        return fnp.add(fnp.multiply(y, scale), loc)


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


class truncnorm:
    """The normal distribution truncated to ``[a, b]`` in standard units (``scipy.stats.truncnorm``).

    The support is ``[loc + a scale, loc + b scale]``; ``a`` and ``b`` are
    differentiable (they move the normalising mass).
    """

    @staticmethod
    def _split(x, a, b, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.logical_and(fnp.greater_equal(y, a), fnp.less_equal(y, b))
        # a finite point of the support stands in outside it (the ends may be infinite)
        fa, fb = fnp.isfinite(a), fnp.isfinite(b)
        a0 = fnp.where(fa, a, fnp.where(fb, fnp.subtract(b, 2.0), -1.0))
        b0 = fnp.where(fb, b, fnp.where(fa, fnp.add(a, 2.0), 1.0))
        return y, inside, fnp.where(inside, y, fnp.multiply(0.5, fnp.add(a0, b0)))

    @staticmethod
    def logpdf(x, a, b, loc=0, scale=1):
        """Log density ``-y^2/2 - log(sqrt(2 pi) scale (ndtr(b) - ndtr(a)))`` on the support.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> float(fgrad.grad(truncnorm.logpdf)(0.5, -1.0, 1.0))  # -y, as for the normal
            -0.5
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").logpdf(x, a, b, loc, scale)
        _, inside, y = truncnorm._split(x, a, b, loc, scale)
        val = fnp.subtract(fnp.multiply(-0.5, fnp.square(y)),
                           fnp.add(fnp.add(_log_gauss_mass(a, b), fnp.log(scale)), _HALF_LOG_2PI))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, a, b, loc=0, scale=1):
        """Density of the truncated normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.pdf, argnums=2)(0.0, -1.0, 1.0)), 6)  # -p(0) p(1)/Z^2
            -0.207122
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").pdf(x, a, b, loc, scale)
        return fnp.exp(truncnorm.logpdf(x, a, b, loc, scale))

    @staticmethod
    def logcdf(x, a, b, loc=0, scale=1):
        """Log CDF ``log mass(a, y) - log mass(a, b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.logcdf)(0.0, -1.0, 1.0)), 6)  # 2 pdf(0)
            1.168737
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").logcdf(x, a, b, loc, scale)
        y, inside, ys = truncnorm._split(x, a, b, loc, scale)
        val = fnp.subtract(_log_gauss_mass(a, ys), _log_gauss_mass(a, b))
        return fnp.where(inside, val, fnp.where(fnp.greater(y, b), 0.0, -np.inf))

    @staticmethod
    def cdf(x, a, b, loc=0, scale=1):
        """CDF ``(ndtr(y) - ndtr(a)) / (ndtr(b) - ndtr(a))`` on the support.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.cdf)(0.0, -1.0, 1.0)), 6)  # phi(0)/(2 ndtr(1) - 1)
            0.584369
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").cdf(x, a, b, loc, scale)
        y, inside, ys = truncnorm._split(x, a, b, loc, scale)
        val = fnp.exp(fnp.subtract(_log_gauss_mass(a, ys), _log_gauss_mass(a, b)))
        return fnp.where(inside, val, fnp.where(fnp.greater(y, b), 1.0, 0.0))

    @staticmethod
    def logsf(x, a, b, loc=0, scale=1):
        """Log survival function ``log mass(y, b) - log mass(a, b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.logsf)(0.0, -1.0, 1.0)), 6)  # -2 pdf(0)
            -1.168737
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").logsf(x, a, b, loc, scale)
        y, inside, ys = truncnorm._split(x, a, b, loc, scale)
        val = fnp.subtract(_log_gauss_mass(ys, b), _log_gauss_mass(a, b))
        return fnp.where(inside, val, fnp.where(fnp.greater(y, b), -np.inf, 0.0))

    @staticmethod
    def sf(x, a, b, loc=0, scale=1):
        """Survival function ``(ndtr(b) - ndtr(y)) / (ndtr(b) - ndtr(a))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.sf)(0.0, -1.0, 1.0)), 6)
            -0.584369
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("truncnorm").sf(x, a, b, loc, scale)
        y, inside, ys = truncnorm._split(x, a, b, loc, scale)
        val = fnp.exp(fnp.subtract(_log_gauss_mass(ys, b), _log_gauss_mass(a, b)))
        return fnp.where(inside, val, fnp.where(fnp.greater(y, b), 0.0, 1.0))

    @staticmethod
    def _std_ppf(p, a, b):
        """The standard quantile of mass ``p`` from ``a``, through the tail nearer to 0."""
        right = fnp.greater(a, 0)
        # right of 0 mirror the problem, so ndtr works with small numbers
        ar, br = fnp.where(right, fnp.negative(b), a), fnp.where(right, fnp.negative(a), b)
        pr = fnp.where(right, fnp.subtract(1.0, p), p)
        lo, hi = sp.ndtr(ar), sp.ndtr(br)
        z = sp.ndtri(fnp.add(lo, fnp.multiply(pr, fnp.subtract(hi, lo))))
        return fnp.where(right, fnp.negative(z), z)

    @staticmethod
    def ppf(q, a, b, loc=0, scale=1):
        """Quantile ``ndtri(ndtr(a) + q (ndtr(b) - ndtr(a)))`` (mirrored when ``a > 0``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.ppf)(0.5, -1.0, 1.0)), 6)  # 1 / pdf(0)
            1.711249
        """
        if not _traced(q, a, b, loc, scale):
            return _scipy("truncnorm").ppf(q, a, b, loc, scale)
        ok, q = _prob(q)
        y = truncnorm._std_ppf(q, a, b)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))

    @staticmethod
    def isf(q, a, b, loc=0, scale=1):
        """Inverse survival function ``ppf(1 - q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.isf)(0.5, -1.0, 1.0)), 6)
            -1.711249
        """
        if not _traced(q, a, b, loc, scale):
            return _scipy("truncnorm").isf(q, a, b, loc, scale)
        ok, q = _prob(q)
        y = truncnorm._std_ppf(fnp.subtract(1.0, q), a, b)
        return _nan_unless(ok, fnp.add(loc, fnp.multiply(scale, y)))


class vonmises:
    """The von Mises distribution on the circle with concentration ``kappa`` (``scipy.stats.vonmises``).

    Only the density is provided: the CDF has no closed form with existing rows.
    """

    @staticmethod
    def logpdf(x, kappa, loc=0, scale=1):
        """Log density ``kappa (cos(y) - 1) - log(2 pi i0e(kappa)) - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import vonmises
            >>> round(float(fgrad.grad(vonmises.logpdf)(0.5 * 3.141592653589793, 2.0)), 12)
            -2.0
        """
        if not _traced(x, kappa, loc, scale):
            return _scipy("vonmises").logpdf(x, kappa, loc, scale)
        y = _std(x, loc, scale)
        # cos(y) - 1 = -2 sin(y/2)^2, accurate near y = 0
        cosm1 = fnp.multiply(-2.0, fnp.square(fnp.sin(fnp.multiply(0.5, y))))
        return fnp.subtract(fnp.multiply(kappa, cosm1),
                            fnp.add(fnp.add(fnp.log(sp.i0e(kappa)), math.log(2.0 * math.pi)),
                                    fnp.log(scale)))

    @staticmethod
    def pdf(x, kappa, loc=0, scale=1):
        """Density of the von Mises distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import vonmises
            >>> x = 0.5 * 3.141592653589793
            >>> round(float(fgrad.grad(vonmises.pdf)(x, 1.0)), 6)  # -kappa sin(x) pdf = -1/(2 pi I0(1))
            -0.125708
        """
        if not _traced(x, kappa, loc, scale):
            return _scipy("vonmises").pdf(x, kappa, loc, scale)
        return fnp.exp(vonmises.logpdf(x, kappa, loc, scale))


class gennorm:
    """The generalized normal distribution with shape ``beta`` (``scipy.stats.gennorm``).

    At ``y = 0`` exactly the derivatives in ``y`` are taken through ``|y|``
    with ``sign(0) = 0``: zero slope (right for ``beta > 1``, a subgradient
    for ``beta <= 1``) and no second derivative from the kink.
    """

    @staticmethod
    def logpdf(x, beta, loc=0, scale=1):
        """Log density ``log(beta/2) - log Gamma(1/beta) - |y|^beta - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gennorm
            >>> float(fgrad.grad(gennorm.logpdf)(1.5, 2.0))  # -beta |y|^(beta-1) sign(y)
            -3.0
        """
        if not _traced(x, beta, loc, scale):
            return _scipy("gennorm").logpdf(x, beta, loc, scale)
        p = fnp.power(fnp.abs(_std(x, loc, scale)), beta)
        const = fnp.subtract(fnp.log(fnp.multiply(0.5, beta)), sp.gammaln(fnp.divide(1.0, beta)))
        return fnp.subtract(fnp.subtract(const, p), fnp.log(scale))

    @staticmethod
    def pdf(x, beta, loc=0, scale=1):
        """Density of the generalized normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gennorm
            >>> float(fgrad.grad(gennorm.pdf)(0.5, 1.0))  # Laplace: -exp(-y)/2
            -0.3032653298563167
        """
        if not _traced(x, beta, loc, scale):
            return _scipy("gennorm").pdf(x, beta, loc, scale)
        return fnp.exp(gennorm.logpdf(x, beta, loc, scale))


# --------------------------------------------------------------------------
# discrete
# --------------------------------------------------------------------------


def _on_support(k, lo, hi=None):
    """``(valid, safe_k)`` for a pmf: ``k`` an integer in ``[lo, hi]``, else stand-in ``lo``."""
    valid = fnp.logical_and(fnp.greater_equal(k, lo), fnp.equal(k, fnp.floor(k)))
    if hi is not None:
        valid = fnp.logical_and(valid, fnp.less_equal(k, hi))
    return valid, fnp.where(valid, k, lo)


class bernoulli:
    """The Bernoulli distribution with success probability ``p`` (``scipy.stats.bernoulli``).

    ``k`` is a count: as in ``jax.scipy.stats`` (and ``poisson``), the log pmf is
    differentiable in it through its continuous extension; the CDFs are piecewise
    constant in ``k`` (derivative zero).  The functions are differentiable in ``p``.
    """

    @staticmethod
    def logpmf(k, p, loc=0):
        """Log probability ``k log(p) + (1 - k) log(1 - p)`` for ``k`` in {0, 1}, else ``-inf``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.logpmf, argnums=1)(1, 0.25))  # 1/p
            4.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").logpmf(k, p, loc)
        valid, k = _on_support(fnp.subtract(k, loc), 0, 1)
        val = fnp.add(sp.xlogy(k, p), sp.xlog1py(fnp.subtract(1.0, k), fnp.negative(p)))
        return fnp.where(valid, val, -np.inf)

    @staticmethod
    def pmf(k, p, loc=0):
        """Probability ``p`` for ``k = 1``, ``1 - p`` for ``k = 0``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.pmf, argnums=1)(0, 0.25))
            -1.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").pmf(k, p, loc)
        return fnp.exp(bernoulli.logpmf(k, p, loc))

    @staticmethod
    def _cdf_parts(k, loc):
        kf = fnp.floor(fnp.subtract(k, loc))
        return fnp.less(kf, 0), fnp.equal(kf, 0)

    @staticmethod
    def cdf(k, p, loc=0):
        """CDF: 0 below 0, ``1 - p`` on ``[0, 1)``, 1 from 1 on.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.cdf, argnums=1)(0.5, 0.25))
            -1.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").cdf(k, p, loc)
        below, zero = bernoulli._cdf_parts(k, loc)
        return fnp.where(zero, fnp.subtract(1.0, p), fnp.where(below, 0.0, 1.0))

    @staticmethod
    def logcdf(k, p, loc=0):
        """Log of the CDF.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.logcdf, argnums=1)(0, 0.5))  # -1/(1 - p)
            -2.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").logcdf(k, p, loc)
        below, zero = bernoulli._cdf_parts(k, loc)
        return fnp.where(zero, fnp.log1p(fnp.negative(p)), fnp.where(below, -np.inf, 0.0))

    @staticmethod
    def sf(k, p, loc=0):
        """Survival function: 1 below 0, ``p`` on ``[0, 1)``, 0 from 1 on.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.sf, argnums=1)(0, 0.25))
            1.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").sf(k, p, loc)
        below, zero = bernoulli._cdf_parts(k, loc)
        return fnp.where(zero, p, fnp.where(below, 1.0, 0.0))

    @staticmethod
    def logsf(k, p, loc=0):
        """Log survival function.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import bernoulli
            >>> float(fgrad.grad(bernoulli.logsf, argnums=1)(0, 0.25))  # 1/p
            4.0
        """
        if not _traced(k, p, loc):
            return _scipy("bernoulli").logsf(k, p, loc)
        below, zero = bernoulli._cdf_parts(k, loc)
        return fnp.where(zero, fnp.log(p), fnp.where(below, 0.0, -np.inf))


class binom:
    """The binomial distribution with ``n`` trials and success probability ``p`` (``scipy.stats.binom``).

    ``k`` and ``n`` are counts: as in ``jax.scipy.stats``, the log pmf is
    differentiable in them through its continuous extension (``gammaln``); the CDFs
    are piecewise constant in ``k`` and differentiable in ``p`` only (``betainc``).
    """

    @staticmethod
    def logpmf(k, n, p, loc=0):
        """Log probability ``log C(n, k) + k log(p) + (n - k) log(1 - p)``; ``-inf`` off ``0..n``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.logpmf, argnums=2)(3, 10, 0.5))  # k/p - (n - k)/(1 - p)
            -8.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").logpmf(k, n, p, loc)
        valid, k = _on_support(fnp.subtract(k, loc), 0, n)
        nk = fnp.subtract(n, k)
        comb = fnp.subtract(sp.gammaln(fnp.add(n, 1.0)),
                            fnp.add(sp.gammaln(fnp.add(k, 1.0)), sp.gammaln(fnp.add(nk, 1.0))))
        val = fnp.add(comb, fnp.add(sp.xlogy(k, p), sp.xlog1py(nk, fnp.negative(p))))
        return fnp.where(valid, val, -np.inf)

    @staticmethod
    def pmf(k, n, p, loc=0):
        """Probability mass of the binomial distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.pmf, argnums=2)(0, 2, 0.5))  # -2 (1 - p)
            -1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").pmf(k, n, p, loc)
        return fnp.exp(binom.logpmf(k, n, p, loc))

    @staticmethod
    def _tail(k, n, p, loc, lower):
        kf = fnp.floor(fnp.subtract(k, loc))
        below, above = fnp.less(kf, 0), fnp.greater_equal(kf, n)
        inner = fnp.logical_not(fnp.logical_or(below, above))
        ks = fnp.where(inner, kf, 0.0)
        ns = fnp.where(inner, n, 1.0)
        if lower:  # bdtr(k, n, p) = I_{1-p}(n - k, k + 1)
            val = sp.betainc(fnp.subtract(ns, ks), fnp.add(ks, 1.0), fnp.subtract(1.0, p))
        else:  # bdtrc(k, n, p) = I_p(k + 1, n - k)
            val = sp.betainc(fnp.add(ks, 1.0), fnp.subtract(ns, ks), p)
        return val, below

    @staticmethod
    def cdf(k, n, p, loc=0):
        """CDF ``betainc(n - k, k + 1, 1 - p)`` (``k`` floored).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.cdf, argnums=2)(0, 1, 0.3))  # d/dp (1 - p)
            -1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").cdf(k, n, p, loc)
        val, below = binom._tail(k, n, p, loc, True)
        kf = fnp.floor(fnp.subtract(k, loc))
        return fnp.where(below, 0.0, fnp.where(fnp.greater_equal(kf, n), 1.0, val))

    @staticmethod
    def logcdf(k, n, p, loc=0):
        """Log of the CDF.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.logcdf, argnums=2)(0, 2, 0.5))  # -n/(1 - p)
            -4.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").logcdf(k, n, p, loc)
        return fnp.log(binom.cdf(k, n, p, loc))

    @staticmethod
    def sf(k, n, p, loc=0):
        """Survival function ``betainc(k + 1, n - k, p)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.sf, argnums=2)(0, 1, 0.3))
            1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").sf(k, n, p, loc)
        val, below = binom._tail(k, n, p, loc, False)
        kf = fnp.floor(fnp.subtract(k, loc))
        return fnp.where(below, 1.0, fnp.where(fnp.greater_equal(kf, n), 0.0, val))

    @staticmethod
    def logsf(k, n, p, loc=0):
        """Log survival function.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import binom
            >>> float(fgrad.grad(binom.logsf, argnums=2)(1, 2, 0.5))  # sf = p^2: 2/p
            4.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("binom").logsf(k, n, p, loc)
        return fnp.log(binom.sf(k, n, p, loc))


class geom:
    """The geometric distribution on ``1, 2, ...`` (``scipy.stats.geom``).

    ``k`` is a count (the log pmf's continuous extension is differentiable in it, as in
    ``jax.scipy.stats``; the CDFs are piecewise constant in ``k``); differentiable in ``p``.
    """

    @staticmethod
    def logpmf(k, p, loc=0):
        """Log probability ``(k - 1) log(1 - p) + log(p)`` for ``k >= 1``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.logpmf, argnums=1)(3, 0.5))  # 1/p - (k - 1)/(1 - p)
            -2.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").logpmf(k, p, loc)
        valid, k = _on_support(fnp.subtract(k, loc), 1)
        val = fnp.add(sp.xlog1py(fnp.subtract(k, 1.0), fnp.negative(p)), fnp.log(p))
        return fnp.where(valid, val, -np.inf)

    @staticmethod
    def pmf(k, p, loc=0):
        """Probability ``(1 - p)^(k - 1) p``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.pmf, argnums=1)(1, 0.3))
            1.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").pmf(k, p, loc)
        return fnp.exp(geom.logpmf(k, p, loc))

    @staticmethod
    def _logsf_inner(k, p, loc):
        kf = fnp.floor(fnp.subtract(k, loc))
        inside = fnp.greater_equal(kf, 1)
        return inside, fnp.multiply(fnp.where(inside, kf, 1.0), fnp.log1p(fnp.negative(p)))

    @staticmethod
    def cdf(k, p, loc=0):
        """CDF ``1 - (1 - p)^k`` (``k`` floored).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.cdf, argnums=1)(2, 0.5))  # k (1 - p)^(k-1)
            1.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").cdf(k, p, loc)
        inside, ls = geom._logsf_inner(k, p, loc)
        return fnp.where(inside, fnp.negative(fnp.expm1(ls)), 0.0)

    @staticmethod
    def logcdf(k, p, loc=0):
        """Log of the CDF, ``log(1 - (1 - p)^k)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.logcdf, argnums=1)(1, 0.5))  # 1/p
            2.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").logcdf(k, p, loc)
        inside, ls = geom._logsf_inner(k, p, loc)
        return fnp.where(inside, _log1mexp(ls), -np.inf)

    @staticmethod
    def sf(k, p, loc=0):
        """Survival function ``(1 - p)^k``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.sf, argnums=1)(2, 0.5))
            -1.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").sf(k, p, loc)
        return fnp.exp(geom.logsf(k, p, loc))

    @staticmethod
    def logsf(k, p, loc=0):
        """Log survival function ``k log(1 - p)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import geom
            >>> float(fgrad.grad(geom.logsf, argnums=1)(3, 0.5))  # -k/(1 - p)
            -6.0
        """
        if not _traced(k, p, loc):
            return _scipy("geom").logsf(k, p, loc)
        inside, ls = geom._logsf_inner(k, p, loc)
        return fnp.where(inside, ls, 0.0)


class nbinom:
    """The negative binomial distribution: failures before the ``n``-th success (``scipy.stats.nbinom``).

    ``k`` is a count (the log pmf's continuous extension is differentiable in it, as in
    ``jax.scipy.stats``; the CDFs are piecewise constant in it).  ``n`` may be any
    positive real: the pmf
    is differentiable in ``n`` and ``p``; the CDF and survival function go
    through ``betainc`` and are differentiable in ``p`` only (a TypeError
    names ``special.betainc`` for ``n``).
    """

    @staticmethod
    def logpmf(k, n, p, loc=0):
        """Log probability ``log Gamma(n + k) - log Gamma(k + 1) - log Gamma(n) + n log p + k log(1 - p)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.logpmf, argnums=2)(2, 3.0, 0.5))  # n/p - k/(1 - p)
            2.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").logpmf(k, n, p, loc)
        valid, k = _on_support(fnp.subtract(k, loc), 0)
        coeff = fnp.subtract(sp.gammaln(fnp.add(n, k)),
                             fnp.add(sp.gammaln(fnp.add(k, 1.0)), sp.gammaln(n)))
        val = fnp.add(coeff, fnp.add(fnp.multiply(n, fnp.log(p)),
                                     sp.xlog1py(k, fnp.negative(p))))
        return fnp.where(valid, val, -np.inf)

    @staticmethod
    def pmf(k, n, p, loc=0):
        """Probability mass of the negative binomial distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.pmf, argnums=2)(0, 2.0, 0.5))  # d/dp p^n
            1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").pmf(k, n, p, loc)
        return fnp.exp(nbinom.logpmf(k, n, p, loc))

    @staticmethod
    def _tail(k, n, p, loc, lower):
        kf = fnp.floor(fnp.subtract(k, loc))
        inside = fnp.greater_equal(kf, 0)
        ks = fnp.where(inside, kf, 0.0)
        if lower:  # nbdtr(k, n, p) = I_p(n, k + 1)
            val = sp.betainc(n, fnp.add(ks, 1.0), p)
        else:  # nbdtrc(k, n, p) = I_{1-p}(k + 1, n)
            val = sp.betainc(fnp.add(ks, 1.0), n, fnp.subtract(1.0, p))
        return inside, val

    @staticmethod
    def cdf(k, n, p, loc=0):
        """CDF ``betainc(n, k + 1, p)`` (``k`` floored); not differentiable in ``n``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.cdf, argnums=2)(0, 2.0, 0.5))  # cdf(0) = p^n
            1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").cdf(k, n, p, loc)
        inside, val = nbinom._tail(k, n, p, loc, True)
        return fnp.where(inside, val, 0.0)

    @staticmethod
    def logcdf(k, n, p, loc=0):
        """Log of the CDF (not differentiable in ``n``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.logcdf, argnums=2)(0, 2.0, 0.5))  # n/p
            4.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").logcdf(k, n, p, loc)
        inside, val = nbinom._tail(k, n, p, loc, True)
        return fnp.where(inside, fnp.log(val), -np.inf)

    @staticmethod
    def sf(k, n, p, loc=0):
        """Survival function ``betainc(k + 1, n, 1 - p)`` (not differentiable in ``n``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.sf, argnums=2)(0, 2.0, 0.5))
            -1.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").sf(k, n, p, loc)
        inside, val = nbinom._tail(k, n, p, loc, False)
        return fnp.where(inside, val, 1.0)

    @staticmethod
    def logsf(k, n, p, loc=0):
        """Log survival function (not differentiable in ``n``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import nbinom
            >>> float(fgrad.grad(nbinom.logsf, argnums=2)(0, 1.0, 0.5))  # sf = 1 - p
            -2.0
        """
        if not _traced(k, n, p, loc):
            return _scipy("nbinom").logsf(k, n, p, loc)
        inside, val = nbinom._tail(k, n, p, loc, False)
        return fnp.where(inside, fnp.log(val), 0.0)


# --------------------------------------------------------------------------
# multivariate
# --------------------------------------------------------------------------


class dirichlet:
    """The Dirichlet distribution on the simplex (``scipy.stats.dirichlet``).

    As in scipy, the FIRST axis of ``x`` holds the ``K`` components (or
    ``K - 1`` of them, the last being ``1 - sum``); ``alpha`` has shape
    ``(K,)``.  Points are checked as scipy checks them (a ValueError off the
    simplex).  Differentiable in ``x`` and ``alpha``.
    """

    @staticmethod
    def logpdf(x, alpha):
        """Log density ``sum((alpha - 1) log x) - log B(alpha)``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import dirichlet
            >>> fgrad.grad(dirichlet.logpdf, argnums=1)(fnp.array([0.5, 0.5]), fnp.array([1.0, 1.0]))  # log x - digamma(1) + digamma(2)
            array([0.30685282, 0.30685282])
        """
        if not _traced(x, alpha):
            return _scipy("dirichlet").logpdf(x, alpha)
        cx, ca = concrete(x), concrete(alpha)
        if _unbatched(cx) and _unbatched(ca):  # scipy's checks and errors (not per vmap example)
            _scipy("dirichlet").logpdf(cx, ca)
        xshape = np.shape(concrete(x))
        K = np.shape(concrete(alpha))[0]
        if xshape[0] != K:  # K - 1 components given: the last is 1 - their sum
            x = fnp.concatenate([x, fnp.subtract(1.0, fnp.sum(x, axis=0, keepdims=True))], axis=0)
        a = fnp.reshape(alpha, (K,) + (1,) * (len(xshape) - 1))
        log_beta = fnp.subtract(fnp.sum(sp.gammaln(alpha)), sp.gammaln(fnp.sum(alpha)))
        out = fnp.subtract(fnp.sum(sp.xlogy(fnp.subtract(a, 1.0), x), axis=0), log_beta)
        return fnp.squeeze(out) if len(xshape) > 1 else out

    @staticmethod
    def pdf(x, alpha):
        """Density of the Dirichlet distribution.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import dirichlet
            >>> g = fgrad.grad(dirichlet.pdf)(fnp.array([0.25, 0.75]), fnp.array([2.0, 1.0]))
            >>> g  # pdf = 2 x_1: d/dx_1 = 2
            array([2., 0.])
        """
        if not _traced(x, alpha):
            return _scipy("dirichlet").pdf(x, alpha)
        return fnp.exp(dirichlet.logpdf(x, alpha))


def _unbatched(c):
    """True when ``c`` (a ``concrete()`` value) has one value, not one per vmapped example."""
    return not isinstance(c, BatchedValue)


def _squeezed_shape(shape):
    """The shape scipy's ``_squeeze_output`` leaves (every length-1 axis dropped)."""
    return tuple(s for s in shape if s != 1)


_ADJUSTS = []


def _multinomial_adjusts_p():
    """Does the installed scipy adjust a ``p`` off the simplex (<= 1.17), or return nan?"""
    if not _ADJUSTS:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = _scipy("multinomial").logpmf([1.0, 0.0], 1, [0.5, 0.4])
        _ADJUSTS.append(bool(np.isfinite(probe)))
    return _ADJUSTS[0]


class multinomial:
    """The multinomial distribution of ``n`` trials over ``K`` outcomes (``scipy.stats.multinomial``).

    The LAST axis of ``x`` and ``p`` holds the ``K`` outcomes; ``x``, ``n`` and
    ``p`` broadcast over the other axes.  As in the installed scipy, a row of
    ``p`` that does not sum to 1 (beyond ten machine epsilons) gives nan
    (scipy >= 1.18) or has its last entry replaced by 1 minus the sum of the
    others (scipy <= 1.17), so derivatives in ``p`` are those of the entries as
    given only on the simplex: differentiate a function that normalises ``p``
    (e.g. ``w / sum(w)``) to stay on it.  Counts follow the
    convention of the other pmfs here (the continuous extension through
    ``gammaln`` in ``x`` and ``n``).
    """

    @staticmethod
    def logpmf(x, n, p):
        """Log probability ``log n! + sum(x log p - log x!)``; ``-inf`` off the support, nan for bad ``n``, ``p``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multinomial
            >>> x, p = fnp.array([1.0, 3.0]), fnp.array([0.25, 0.75])
            >>> fgrad.grad(multinomial.logpmf, argnums=2)(x, 4, p)  # x / p
            array([4., 4.])
        """
        if not _traced(x, n, p):
            return _scipy("multinomial").logpmf(x, n, p)
        xshape, pshape = np.shape(concrete(x)), np.shape(concrete(p))
        if len(xshape) == 0:
            raise ValueError("multinomial: x must be an array whose last axis holds the counts "
                             "of the K outcomes, got a scalar")
        if xshape[-1] != pshape[-1]:
            raise ValueError(f"multinomial: the last axis of x has {xshape[-1]} counts but p has "
                             f"{pshape[-1]} probabilities; give one count per outcome")
        eps = 10 * np.finfo(np.result_type(concrete(p), np.float32)).eps
        off = fnp.greater(fnp.abs(fnp.subtract(1.0, fnp.sum(p, axis=-1))), eps)
        if _multinomial_adjusts_p():
            # scipy <= 1.17 adjusts rows off the simplex: last entry = 1 - sum(the others)
            rest = fnp.subtract(1.0, fnp.sum(p[..., :-1], axis=-1))
            p = fnp.concatenate(
                [p[..., :-1], fnp.expand_dims(fnp.where(off, rest, p[..., -1]), -1)], axis=-1)
        pbad = fnp.any(fnp.logical_or(fnp.less(p, 0), fnp.greater(p, 1)), axis=-1)
        if not _multinomial_adjusts_p():
            pbad = fnp.logical_or(pbad, off)  # scipy >= 1.18: nan off the simplex
        # scipy reads n and x as integers (truncated); the value at integer n
        # is the continuous extension, at a non-integer n scipy's truncation
        nt = fnp.trunc(n)
        nbad = fnp.less(nt, 0)
        n = fnp.where(fnp.logical_or(nbad, fnp.not_equal(n, nt)), fnp.where(nbad, 0.0, nt), n)
        xt = fnp.trunc(x)
        xbad = fnp.logical_or(fnp.any(fnp.not_equal(xt, x), axis=-1),
                              fnp.any(fnp.less(xt, 0), axis=-1))
        xbad = fnp.logical_or(xbad, fnp.not_equal(fnp.sum(xt, axis=-1), nt))
        pbad_ = fnp.expand_dims(pbad, -1)
        ps = fnp.where(pbad_, 1.0 / pshape[-1], p)
        xs = fnp.where(fnp.expand_dims(xbad, -1), 0.0, x)
        val = fnp.add(sp.gammaln(fnp.add(n, 1.0)),
                      fnp.sum(fnp.subtract(sp.xlogy(xs, ps), sp.gammaln(fnp.add(xs, 1.0))),
                              axis=-1))
        return fnp.where(fnp.logical_or(pbad, nbad), np.nan, fnp.where(xbad, -np.inf, val))

    @staticmethod
    def pmf(x, n, p):
        """Probability mass ``n! prod(p^x / x!)``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multinomial
            >>> x, p = fnp.array([2.0, 0.0]), fnp.array([0.5, 0.5])
            >>> fgrad.grad(multinomial.pmf, argnums=2)(x, 2, p)  # pmf = p_1^2: 2 p_1
            array([1., 0.])
        """
        if not _traced(x, n, p):
            return _scipy("multinomial").pmf(x, n, p)
        return fnp.exp(multinomial.logpmf(x, n, p))


class multivariate_t:
    """The multivariate t distribution (``scipy.stats.multivariate_t``).

    The last axis of ``x`` is the dimension, as in scipy; ``shape`` is a full
    positive definite matrix (differentiated through its Cholesky factor, so
    only its lower triangle is read, as in ``multivariate_normal``), a vector
    of its diagonal, or one number times the identity.  ``df`` is a scalar;
    ``df = inf`` is the multivariate normal.  Differentiable in ``x``,
    ``loc``, ``shape`` and ``df``.
    """

    @staticmethod
    def _parts(x, loc, shape):
        """scipy's argument processing: ``(dim, x as (..., dim), loc (dim,), shape (dim, dim))``."""
        if loc is None and shape is None:
            loc, shape, dim = np.zeros(1), np.ones((1, 1)), 1
        elif loc is None:
            nd = np.ndim(concrete(shape))
            dim = 1 if nd < 2 else np.shape(concrete(shape))[0]
            loc = np.zeros(dim)
        elif shape is None:
            dim = np.size(concrete(loc))
            shape = np.eye(dim)
        else:
            dim = np.size(concrete(loc))
        if dim == 1:
            loc, shape = fnp.reshape(loc, (1,)), fnp.reshape(shape, (1, 1))
        lshape, snd = np.shape(concrete(loc)), np.ndim(concrete(shape))
        if len(lshape) != 1 or lshape[0] != dim:
            raise ValueError(f"Array 'loc' must be a vector of length {dim}.")
        if snd == 0:
            shape = fnp.multiply(shape, np.eye(dim))
        elif snd == 1:
            shape = fnp.multiply(fnp.reshape(shape, (1, dim)), np.eye(dim))
        elif snd > 2 or np.shape(concrete(shape)) != (dim, dim):
            raise ValueError(f"multivariate_t: 'shape' must be a ({dim}, {dim}) matrix, a vector "
                             f"of its diagonal or a number, got shape {np.shape(concrete(shape))}")
        xshape = np.shape(concrete(x))
        if len(xshape) == 0:
            x = fnp.reshape(x, (1,))
        elif len(xshape) == 1:
            x = fnp.reshape(x, (xshape[0], 1) if dim == 1 else (1, xshape[0]))
        return dim, x, loc, shape

    @staticmethod
    def logpdf(x, loc=None, shape=1, df=1):
        """Log density ``log G((df+p)/2) - log G(df/2) - p/2 log(df pi) - log|shape|/2 - (df+p)/2 log(1 + m/df)``.

        ``m`` is the Mahalanobis distance ``(x - loc)^T shape^-1 (x - loc)``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_t
            >>> x = fnp.array([1.0, 2.0])  # m = 5
            >>> fgrad.grad(multivariate_t.logpdf)(x, None, fnp.eye(2), 5.0)  # -(df+p) x / (df + m)
            array([-0.7, -1.4])
        """
        if not _traced(x, loc, shape, df):
            return _scipy("multivariate_t").logpdf(x, loc, shape, df)
        if df is None:
            df = 1
        cdf_ = concrete(df)
        if np.ndim(cdf_) != 0:
            raise ValueError("multivariate_t: 'df' must be a scalar (vmap over it for several)")
        if _unbatched(cdf_):
            if np.isnan(cdf_) or cdf_ <= 0:
                raise ValueError(f"'df' must be greater than zero or np.inf, got {cdf_}.")
            if np.isinf(cdf_):  # scipy's limit: the multivariate normal
                from .stats import multivariate_normal
                return multivariate_normal.logpdf(x, loc, shape)
        dim, x, loc, shape = multivariate_t._parts(x, loc, shape)
        batch = np.shape(concrete(x))[:-1]
        diff = fnp.reshape(fnp.subtract(x, loc), (-1, dim))
        low = _rows.cholesky_row(shape, lower=True)
        z = _rows.solve_triangular_row(low, fnp.swapaxes(diff, 0, 1), lower=True)
        maha = fnp.sum(fnp.square(z), axis=0)
        half_logdet = fnp.sum(fnp.log(fnp.sum(fnp.multiply(low, np.eye(dim)), axis=-1)))
        t = fnp.multiply(0.5, fnp.add(df, dim))
        const = fnp.subtract(fnp.subtract(sp.gammaln(t), sp.gammaln(fnp.multiply(0.5, df))),
                             fnp.add(fnp.multiply(0.5 * dim, fnp.log(fnp.multiply(df, np.pi))),
                                     half_logdet))
        out = fnp.subtract(const, fnp.multiply(t, fnp.log1p(fnp.divide(maha, df))))
        return fnp.reshape(out, _squeezed_shape(batch))

    @staticmethod
    def pdf(x, loc=None, shape=1, df=1, allow_singular=False):
        """Density of the multivariate t distribution.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_t
            >>> g = fgrad.grad(multivariate_t.pdf)(fnp.array([1.0]), None, 1.0, 1.0)
            >>> round(float(g[0]), 12)  # Cauchy: -2x / (pi (1 + x^2)^2) = -1/(2 pi)
            -0.159154943092
        """
        if not _traced(x, loc, shape, df):
            return _scipy("multivariate_t").pdf(x, loc, shape, df, allow_singular=allow_singular)
        return fnp.exp(multivariate_t.logpdf(x, loc, shape, df))


class wishart:
    """The Wishart distribution of ``p x p`` positive definite matrices (``scipy.stats.wishart``).

    As in scipy, ``X`` is one ``p x p`` matrix or a stack with the matrices
    along the LAST axis (shape ``(p, p, N)``); ``scale`` is a matrix, a vector
    of its diagonal or a number; ``df > p - 1`` is a scalar.  Log determinants
    and ``tr(scale^-1 X)`` use ``slogdet`` and ``solve`` on the full matrices,
    so the derivative in ``X`` (and ``scale``) is the symmetric
    ``(df - p - 1)/2 X^-1 - scale^-1/2``; keep both symmetric positive definite.
    Differentiable in ``X``, ``df`` and ``scale``.
    """

    @staticmethod
    def logpdf(x, df, scale):
        """Log density ``(df-p-1)/2 log|X| - tr(S^-1 X)/2 - df p/2 log 2 - df/2 log|S| - log G_p(df/2)``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import wishart
            >>> # (df - p - 1)/2 X^-1 - S^-1/2 = 3/2 I - 1/2 I
            >>> fgrad.grad(wishart.logpdf)(fnp.eye(2), 6.0, fnp.eye(2))
            array([[1., 0.],
                   [0., 1.]])
        """
        if not _traced(x, df, scale):
            return _scipy("wishart").logpdf(x, df, scale)
        if scale is None:
            scale = 1.0
        snd = np.ndim(concrete(scale))
        if snd == 0:
            scale = fnp.reshape(scale, (1, 1))
        elif snd == 1:
            d = np.shape(concrete(scale))[0]
            scale = fnp.multiply(fnp.reshape(scale, (1, d)), np.eye(d))
        elif snd > 2 or np.shape(concrete(scale))[0] != np.shape(concrete(scale))[1]:
            raise ValueError(f"wishart: 'scale' must be a square matrix, a vector of its diagonal "
                             f"or a number, got shape {np.shape(concrete(scale))}")
        dim = np.shape(concrete(scale))[0]
        if df is None:
            df = dim
        cdf_ = concrete(df)
        if np.ndim(cdf_) != 0:
            raise ValueError("Degrees of freedom must be a scalar.")
        if _unbatched(cdf_) and cdf_ <= dim - 1:
            raise ValueError("Degrees of freedom must be greater than the dimension of scale "
                             f"matrix minus 1 (df > {dim - 1}), got {cdf_}.")
        xnd = np.ndim(concrete(x))
        if xnd == 0:
            x = fnp.multiply(x, np.eye(dim)[:, :, None])
        elif xnd == 1:
            n1 = np.shape(concrete(x))[0]
            x = (fnp.reshape(x, (1, 1, n1)) if dim == 1 else
                 fnp.multiply(fnp.reshape(x, (1, n1, 1)), np.eye(n1)[:, :, None]))
        elif xnd == 2:
            x = fnp.expand_dims(x, -1)
        elif xnd > 3:
            raise ValueError(f"wishart: X must be a (p, p) matrix or a (p, p, N) stack, got "
                             f"{xnd} dimensions")
        if np.shape(concrete(x))[:2] != (dim, dim):
            raise ValueError(f"Quantiles have incompatible dimensions: should be {(dim, dim)}, "
                             f"got {np.shape(concrete(x))[:2]}.")
        for m, what in ((concrete(scale), "scale"), (concrete(x), "X")):
            if _unbatched(m):  # scipy factors both and raises the same LinAlgError
                try:
                    np.linalg.cholesky(np.moveaxis(np.asarray(m), -1, 0) if what == "X" else m)
                except np.linalg.LinAlgError:
                    raise np.linalg.LinAlgError(
                        f"wishart: {what} must be symmetric positive definite") from None
        xs = fnp.moveaxis(x, -1, 0)  # (N, p, p)
        sign_x, logdet_x = fnp.linalg.slogdet(xs)
        logdet_x = fnp.where(fnp.greater(sign_x, 0), logdet_x, np.nan)  # vmapped non-PD X
        _, logdet_s = fnp.linalg.slogdet(scale)
        tr = fnp.sum(fnp.multiply(fnp.linalg.solve(scale, xs), np.eye(dim)), axis=(-2, -1))
        half_df = fnp.multiply(0.5, df)
        out = fnp.subtract(
            fnp.subtract(fnp.multiply(fnp.multiply(0.5, fnp.subtract(df, dim + 1.0)), logdet_x),
                         fnp.multiply(0.5, tr)),
            fnp.add(fnp.add(fnp.multiply(half_df, dim * _LOG2), fnp.multiply(half_df, logdet_s)),
                    sp.multigammaln(half_df, dim)))
        return fnp.reshape(out, _squeezed_shape(np.shape(concrete(xs))[:1]))

    @staticmethod
    def pdf(x, df, scale):
        """Density of the Wishart distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import wishart
            >>> g = fgrad.grad(wishart.pdf)(1.0, 3.0, 1.0)  # chi2(3) density: d/dx at x = 1
            >>> round(float(g), 12)  # (1/(2x) - 1/2) pdf(1) = 0
            0.0
        """
        if not _traced(x, df, scale):
            return _scipy("wishart").pdf(x, df, scale)
        return fnp.exp(wishart.logpdf(x, df, scale))
