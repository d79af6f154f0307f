"""fgrad.scipy.stats: differentiable densities and distribution functions.

Each distribution is a namespace of functions with scipy's names and
signatures (as in ``jax.scipy.stats``): ``norm.logpdf(x, loc=0, scale=1)``.
They are differentiable in the point and in the parameters, written with
fgrad.numpy and the special-function rows.  Two exceptions come from scipy
having no formula: the CDFs of ``t``, ``beta`` and ``gamma`` are not
differentiable in their shape parameters (``df``, ``a``, ``b``); asking for that
derivative raises a TypeError naming it.  On plain inputs every function
returns scipy.stats' own result.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import norm
    >>> fgrad.grad(norm.logpdf, argnums=(0, 1, 2))(1.0, 0.0, 2.0)
    (np.float64(-0.25), np.float64(0.25), np.float64(-0.375))
"""

import math

import numpy as np

from .. import numpy as fnp
from ..core import any_tracer, concrete
from ..primitives import special as _rows
from . import special as sp

__all__ = ["norm", "t", "beta", "gamma", "poisson", "multivariate_normal"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


_traced = any_tracer


def _scipy(dist):
    return getattr(_rows.scipy_module("stats"), dist)


def _std(x, loc, scale):
    return fnp.divide(fnp.subtract(x, loc), scale)


class norm:
    """The normal distribution ``N(loc, scale**2)`` (``scipy.stats.norm``)."""

    @staticmethod
    def logpdf(x, loc=0, scale=1):
        """Log density of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> float(fgrad.grad(norm.logpdf)(2.0))
            -2.0
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").logpdf(x, loc, scale)
        z = _std(x, loc, scale)
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(z)),
                            fnp.add(fnp.log(scale), _HALF_LOG_2PI))

    @staticmethod
    def pdf(x, loc=0, scale=1):
        """Density of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.pdf)(1.0)), 6)  # -x pdf(x)
            -0.241971
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").pdf(x, loc, scale)
        return fnp.exp(norm.logpdf(x, loc, scale))

    @staticmethod
    def cdf(x, loc=0, scale=1):
        """Cumulative distribution function of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.cdf)(0.0)), 6)
            0.398942
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").cdf(x, loc, scale)
        return sp.ndtr(_std(x, loc, scale))

    @staticmethod
    def logcdf(x, loc=0, scale=1):
        """Log of the normal CDF, accurate in the left tail.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.logcdf)(-40.0)), 2)
            40.02
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").logcdf(x, loc, scale)
        return sp.log_ndtr(_std(x, loc, scale))

    @staticmethod
    def sf(x, loc=0, scale=1):
        """Survival function ``1 - cdf`` of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.sf)(0.0)), 6)
            -0.398942
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").sf(x, loc, scale)
        return sp.ndtr(fnp.negative(_std(x, loc, scale)))

    @staticmethod
    def logsf(x, loc=0, scale=1):
        """Log of the survival function, accurate in the right tail.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.logsf)(40.0)), 2)
            -40.02
        """
        if not _traced(x, loc, scale):
            return _scipy("norm").logsf(x, loc, scale)
        return sp.log_ndtr(fnp.negative(_std(x, loc, scale)))

    @staticmethod
    def ppf(q, loc=0, scale=1):
        """Quantile function (inverse CDF) of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.ppf)(0.5)), 6)
            2.506628
        """
        if not _traced(q, loc, scale):
            return _scipy("norm").ppf(q, loc, scale)
        return fnp.add(loc, fnp.multiply(scale, sp.ndtri(q)))

    @staticmethod
    def isf(q, loc=0, scale=1):
        """Inverse survival function of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.isf)(0.5)), 6)
            -2.506628
        """
        if not _traced(q, loc, scale):
            return _scipy("norm").isf(q, loc, scale)
        return fnp.subtract(loc, fnp.multiply(scale, sp.ndtri(q)))


def _t_quantile(df, q):
    """``stdtrit(df, q)``, but ``-inf`` at ``q == 0`` as in scipy.stats (scipy.special's
    stdtrit returns ``+inf`` there).  At ``q == 0`` the mirror ``-stdtrit(df, 1 - q)`` is
    used, so the derivative is the limit ``+inf``; each branch sees safe inputs, so
    the unused one adds no NaN to the derivative."""
    zero = fnp.equal(q, 0)
    mirror = fnp.negative(sp.stdtrit(df, fnp.subtract(1.0, fnp.where(zero, q, 0.5))))
    return fnp.where(zero, mirror, sp.stdtrit(df, fnp.where(zero, 0.5, q)))


class t:
    """Student's t distribution (``scipy.stats.t``)."""

    @staticmethod
    def logpdf(x, df, loc=0, scale=1):
        """Log density of Student's t distribution; differentiable in all arguments.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> float(fgrad.grad(t.logpdf)(1.0, 1.0))  # Cauchy: -2x / (1 + x^2)
            -1.0
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").logpdf(x, df, loc, scale)
        z = _std(x, loc, scale)
        half = fnp.multiply(0.5, fnp.add(df, 1.0))
        const = fnp.subtract(
            fnp.subtract(sp.gammaln(half), sp.gammaln(fnp.multiply(0.5, df))),
            fnp.add(fnp.multiply(0.5, fnp.log(fnp.multiply(math.pi, df))), fnp.log(scale)))
        return fnp.subtract(const, fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(z), df))))

    @staticmethod
    def pdf(x, df, loc=0, scale=1):
        """Density of Student's t distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> round(float(fgrad.grad(t.pdf)(1.0, 1.0)), 6)  # Cauchy: -2x / (pi (1 + x^2)^2)
            -0.159155
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").pdf(x, df, loc, scale)
        return fnp.exp(t.logpdf(x, df, loc, scale))

    @staticmethod
    def cdf(x, df, loc=0, scale=1):
        """CDF of Student's t distribution; differentiable in ``x``, ``loc``, ``scale``, not ``df``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> round(float(fgrad.grad(t.cdf)(0.0, 1.0)), 6)
            0.31831
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").cdf(x, df, loc, scale)
        return sp.stdtr(df, _std(x, loc, scale))

    @staticmethod
    def sf(x, df, loc=0, scale=1):
        """Survival function of Student's t distribution (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> round(float(fgrad.grad(t.sf)(0.0, 1.0)), 6)
            -0.31831
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").sf(x, df, loc, scale)
        return sp.stdtr(df, fnp.negative(_std(x, loc, scale)))

    @staticmethod
    def logcdf(x, df, loc=0, scale=1):
        """Log of the CDF of Student's t distribution (not differentiable in ``df``).

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import t
            >>> math.isclose(fgrad.grad(t.logcdf)(0.0, 1.0), 2 / math.pi)  # pdf / cdf
            True
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").logcdf(x, df, loc, scale)
        return fnp.log(sp.stdtr(df, _std(x, loc, scale)))

    @staticmethod
    def logsf(x, df, loc=0, scale=1):
        """Log of the survival function of Student's t distribution (not differentiable in ``df``).

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import t
            >>> math.isclose(fgrad.grad(t.logsf)(0.0, 1.0), -2 / math.pi)
            True
        """
        if not _traced(x, df, loc, scale):
            return _scipy("t").logsf(x, df, loc, scale)
        return fnp.log(sp.stdtr(df, fnp.negative(_std(x, loc, scale))))

    @staticmethod
    def ppf(q, df, loc=0, scale=1):
        """Quantile function of Student's t distribution; differentiable in ``q``, ``loc``,
        ``scale``, not ``df``.

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import t
            >>> math.isclose(fgrad.grad(t.ppf)(0.5, 1.0), math.pi)  # 1 / pdf(0)
            True
        """
        if not _traced(q, df, loc, scale):
            return _scipy("t").ppf(q, df, loc, scale)
        return fnp.add(fnp.multiply(_t_quantile(df, q), scale), loc)

    @staticmethod
    def isf(q, df, loc=0, scale=1):
        """Inverse survival function of Student's t distribution (not differentiable in ``df``).

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import t
            >>> math.isclose(fgrad.grad(t.isf)(0.5, 1.0), -math.pi)
            True
        """
        if not _traced(q, df, loc, scale):
            return _scipy("t").isf(q, df, loc, scale)
        return fnp.add(fnp.multiply(fnp.negative(_t_quantile(df, q)), scale), loc)


class beta:
    """The beta distribution on ``[loc, loc + scale]`` (``scipy.stats.beta``)."""

    @staticmethod
    def _support(x, loc, scale):
        y = _std(x, loc, scale)
        inside = fnp.logical_and(fnp.greater_equal(y, 0), fnp.less_equal(y, 1))
        return y, inside, fnp.where(inside, y, 0.5)

    @staticmethod
    def logpdf(x, a, b, loc=0, scale=1):
        """Log density of the beta distribution (``-inf`` outside the support).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.logpdf)(0.5, 2.0, 2.0))
            0.0
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").logpdf(x, a, b, loc, scale)
        _, inside, y = beta._support(x, loc, scale)
        val = fnp.subtract(
            fnp.add(sp.xlogy(fnp.subtract(a, 1.0), y),
                    sp.xlog1py(fnp.subtract(b, 1.0), fnp.negative(y))),
            fnp.add(sp.betaln(a, b), fnp.log(scale)))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, a, b, loc=0, scale=1):
        """Density of the beta distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.pdf)(0.25, 2.0, 1.0))  # pdf = 2x
            2.0
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").pdf(x, a, b, loc, scale)
        return fnp.exp(beta.logpdf(x, a, b, loc, scale))

    @staticmethod
    def cdf(x, a, b, loc=0, scale=1):
        """CDF of the beta distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``, ``b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.cdf)(0.25, 2.0, 1.0))
            0.5
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").cdf(x, a, b, loc, scale)
        y, inside, ysafe = beta._support(x, loc, scale)
        return fnp.where(inside, sp.betainc(a, b, ysafe), fnp.where(fnp.greater(y, 1), 1.0, 0.0))

    @staticmethod
    def logcdf(x, a, b, loc=0, scale=1):
        """Log of the CDF of the beta distribution (not differentiable in ``a``, ``b``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.logcdf)(0.25, 2.0, 1.0))  # cdf = x**2: 2 / x
            8.0
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").logcdf(x, a, b, loc, scale)
        y, inside, ysafe = beta._support(x, loc, scale)
        return fnp.where(inside, fnp.log(sp.betainc(a, b, ysafe)),
                         fnp.where(fnp.greater(y, 1), 0.0, -np.inf))

    @staticmethod
    def sf(x, a, b, loc=0, scale=1):
        """Survival function ``1 - cdf`` of the beta distribution (not differentiable in
        ``a``, ``b``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.sf)(0.25, 2.0, 1.0))  # -pdf = -2x
            -0.5
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").sf(x, a, b, loc, scale)
        y, inside, ysafe = beta._support(x, loc, scale)
        return fnp.where(inside, sp.betaincc(a, b, ysafe), fnp.where(fnp.greater(y, 1), 0.0, 1.0))

    @staticmethod
    def logsf(x, a, b, loc=0, scale=1):
        """Log of the survival function of the beta distribution (not differentiable in
        ``a``, ``b``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.logsf)(0.5, 2.0, 1.0))  # sf = 1 - x**2: -2x / (1 - x**2)
            -1.3333333333333333
        """
        if not _traced(x, a, b, loc, scale):
            return _scipy("beta").logsf(x, a, b, loc, scale)
        y, inside, ysafe = beta._support(x, loc, scale)
        return fnp.where(inside, fnp.log(sp.betaincc(a, b, ysafe)),
                         fnp.where(fnp.greater(y, 1), -np.inf, 0.0))

    @staticmethod
    def ppf(q, a, b, loc=0, scale=1):
        """Quantile function of the beta distribution; differentiable in ``q``, ``loc``,
        ``scale``, not ``a``, ``b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.ppf)(0.25, 2.0, 1.0))  # sqrt(q): 1 / (2 sqrt(q))
            1.0
        """
        if not _traced(q, a, b, loc, scale):
            return _scipy("beta").ppf(q, a, b, loc, scale)
        return fnp.add(fnp.multiply(sp.betaincinv(a, b, q), scale), loc)

    @staticmethod
    def isf(q, a, b, loc=0, scale=1):
        """Inverse survival function of the beta distribution (not differentiable in ``a``, ``b``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.isf)(0.75, 2.0, 1.0))  # sqrt(1 - q)
            -1.0
        """
        if not _traced(q, a, b, loc, scale):
            return _scipy("beta").isf(q, a, b, loc, scale)
        return fnp.add(fnp.multiply(sp.betainccinv(a, b, q), scale), loc)


class gamma:
    """The gamma distribution with shape ``a`` (``scipy.stats.gamma``)."""

    @staticmethod
    def logpdf(x, a, loc=0, scale=1):
        """Log density of the gamma distribution (``-inf`` for ``x < loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.logpdf)(2.0, 3.0))  # (a - 1)/x - 1
            0.0
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").logpdf(x, a, loc, scale)
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        y = fnp.where(inside, y, 1.0)
        val = fnp.subtract(fnp.subtract(sp.xlogy(fnp.subtract(a, 1.0), y), y),
                           fnp.add(sp.gammaln(a), fnp.log(scale)))
        return fnp.where(inside, val, -np.inf)

    @staticmethod
    def pdf(x, a, loc=0, scale=1):
        """Density of the gamma distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.pdf)(0.0, 1.0))  # pdf = exp(-x)
            -1.0
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").pdf(x, a, loc, scale)
        return fnp.exp(gamma.logpdf(x, a, loc, scale))

    @staticmethod
    def cdf(x, a, loc=0, scale=1):
        """CDF of the gamma distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.cdf)(0.0, 1.0))
            1.0
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").cdf(x, a, loc, scale)
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return fnp.where(inside, sp.gammainc(a, fnp.where(inside, y, 1.0)), 0.0)

    @staticmethod
    def sf(x, a, loc=0, scale=1):
        """Survival function of the gamma distribution (not differentiable in ``a``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.sf)(0.0, 1.0))
            -1.0
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").sf(x, a, loc, scale)
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return fnp.where(inside, sp.gammaincc(a, fnp.where(inside, y, 1.0)), 1.0)

    @staticmethod
    def logcdf(x, a, loc=0, scale=1):
        """Log of the CDF of the gamma distribution (not differentiable in ``a``).

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import gamma
            >>> math.isclose(fgrad.grad(gamma.logcdf)(1.0, 1.0), 1 / (math.e - 1))  # pdf / cdf
            True
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").logcdf(x, a, loc, scale)
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return fnp.where(inside, fnp.log(sp.gammainc(a, fnp.where(inside, y, 1.0))), -np.inf)

    @staticmethod
    def logsf(x, a, loc=0, scale=1):
        """Log of the survival function of the gamma distribution (not differentiable in ``a``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.logsf)(2.0, 1.0))  # sf = exp(-x)
            -1.0
        """
        if not _traced(x, a, loc, scale):
            return _scipy("gamma").logsf(x, a, loc, scale)
        y = _std(x, loc, scale)
        inside = fnp.greater_equal(y, 0)
        return fnp.where(inside, fnp.log(sp.gammaincc(a, fnp.where(inside, y, 1.0))), 0.0)

    @staticmethod
    def ppf(q, a, loc=0, scale=1):
        """Quantile function of the gamma distribution; differentiable in ``q``, ``loc``,
        ``scale``, not ``a``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> round(float(fgrad.grad(gamma.ppf)(0.5, 1.0)), 12)  # -log(1 - q): 1 / (1 - q)
            2.0
        """
        if not _traced(q, a, loc, scale):
            return _scipy("gamma").ppf(q, a, loc, scale)
        return fnp.add(fnp.multiply(sp.gammaincinv(a, q), scale), loc)

    @staticmethod
    def isf(q, a, loc=0, scale=1):
        """Inverse survival function of the gamma distribution (not differentiable in ``a``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> round(float(fgrad.grad(gamma.isf)(0.5, 1.0)), 12)  # -log(q): -1 / q
            -2.0
        """
        if not _traced(q, a, loc, scale):
            return _scipy("gamma").isf(q, a, loc, scale)
        return fnp.add(fnp.multiply(sp.gammainccinv(a, q), scale), loc)


class poisson:
    """The Poisson distribution with mean ``mu`` (``scipy.stats.poisson``).

    ``k`` is a count: the functions are differentiable in ``mu``.
    """

    @staticmethod
    def logpmf(k, mu, loc=0):
        """Log probability mass ``k log(mu) - mu - log(k!)`` (``-inf`` off the support).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> float(fgrad.grad(poisson.logpmf, argnums=1)(3, 2.0))  # k / mu - 1
            0.5
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").logpmf(k, mu, loc)
        k = fnp.subtract(k, loc)
        valid = fnp.logical_and(fnp.greater_equal(k, 0), fnp.equal(k, fnp.floor(k)))
        k = fnp.where(valid, k, 0.0)
        val = fnp.subtract(fnp.subtract(sp.xlogy(k, mu), sp.gammaln(fnp.add(k, 1.0))), mu)
        return fnp.where(valid, val, -np.inf)

    @staticmethod
    def pmf(k, mu, loc=0):
        """Probability mass of the Poisson distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> float(fgrad.grad(poisson.pmf, argnums=1)(0, 0.0))  # d/dmu exp(-mu)
            -1.0
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").pmf(k, mu, loc)
        return fnp.exp(poisson.logpmf(k, mu, loc))

    @staticmethod
    def cdf(k, mu, loc=0):
        """CDF of the Poisson distribution, ``gammaincc(floor(k) + 1, mu)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> float(fgrad.grad(poisson.cdf, argnums=1)(0, 0.0))  # -pmf(0)
            -1.0
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").cdf(k, mu, loc)
        kf = fnp.floor(fnp.subtract(k, loc))  # piecewise constant: no derivative in k
        valid = fnp.greater_equal(kf, 0)
        return fnp.where(valid, sp.gammaincc(fnp.add(fnp.where(valid, kf, 0.0), 1.0), mu), 0.0)

    @staticmethod
    def sf(k, mu, loc=0):
        """Survival function ``1 - cdf`` of the Poisson distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> float(fgrad.grad(poisson.sf, argnums=1)(0, 0.0))
            1.0
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").sf(k, mu, loc)
        kf = fnp.floor(fnp.subtract(k, loc))
        valid = fnp.greater_equal(kf, 0)
        return fnp.where(valid, sp.gammainc(fnp.add(fnp.where(valid, kf, 0.0), 1.0), mu), 1.0)

    @staticmethod
    def logcdf(k, mu, loc=0):
        """Log of the CDF of the Poisson distribution (differentiable in ``mu``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> round(float(fgrad.grad(poisson.logcdf, argnums=1)(0, 1.0)), 12)  # log cdf(0) = -mu
            -1.0
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").logcdf(k, mu, loc)
        kf = fnp.floor(fnp.subtract(k, loc))
        valid = fnp.greater_equal(kf, 0)
        cdf = sp.gammaincc(fnp.add(fnp.where(valid, kf, 0.0), 1.0), mu)
        return fnp.where(valid, fnp.log(cdf), -np.inf)

    @staticmethod
    def logsf(k, mu, loc=0):
        """Log of the survival function of the Poisson distribution (differentiable in ``mu``).

        Example:
            >>> import fgrad, math
            >>> from fgrad.scipy.stats import poisson
            >>> g = fgrad.grad(poisson.logsf, argnums=1)(0, 1.0)  # log(1 - exp(-mu))
            >>> math.isclose(g, 1 / (math.e - 1))
            True
        """
        if not _traced(k, mu, loc):
            return _scipy("poisson").logsf(k, mu, loc)
        kf = fnp.floor(fnp.subtract(k, loc))
        valid = fnp.greater_equal(kf, 0)
        sf = sp.gammainc(fnp.add(fnp.where(valid, kf, 0.0), 1.0), mu)
        return fnp.where(valid, fnp.log(sf), 0.0)

    @staticmethod
    def ppf(q, mu, loc=0):
        """Quantile function of the Poisson distribution: the smallest ``k`` with
        ``cdf(k) >= q``.

        The values are integers, piecewise constant in ``q`` and ``mu``: under a
        transform they are scipy's values and carry no derivative (a zero one, as
        for ``floor``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import poisson
            >>> float(poisson.ppf(0.5, 2.0))
            2.0
            >>> float(fgrad.grad(lambda mu: mu * poisson.ppf(0.5, mu))(2.0))  # the ppf itself
            2.0
        """
        if not _traced(q, mu, loc):
            return _scipy("poisson").ppf(q, mu, loc)
        return _rows.poisson_ppf(q, mu, loc)

    @staticmethod
    def isf(q, mu, loc=0):
        """Inverse survival function of the Poisson distribution (integer values, no
        derivative, as :meth:`ppf`).

        Example:
            >>> from fgrad.scipy.stats import poisson
            >>> float(poisson.isf(0.5, 2.0))
            2.0
        """
        if not _traced(q, mu, loc):
            return _scipy("poisson").isf(q, mu, loc)
        return _rows.poisson_isf(q, mu, loc)


class multivariate_normal:
    """The multivariate normal distribution (``scipy.stats.multivariate_normal``).

    ``cov`` may be a full covariance matrix (differentiated through its
    Cholesky factor, so only its lower triangle is read, as a symmetric matrix
    should be), a vector of variances, or one variance.
    """

    @staticmethod
    def logpdf(x, mean=None, cov=1, allow_singular=False):
        """Log density; the last axis of ``x`` is the dimension, as in scipy.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> cov = fnp.array([[2.0, 0.0], [0.0, 4.0]])
            >>> fgrad.grad(multivariate_normal.logpdf)(fnp.ones(2), None, cov)
            array([-0.5 , -0.25])
        """
        if not _traced(x, mean, cov):
            return _scipy("multivariate_normal").logpdf(
                x, mean, cov, allow_singular=allow_singular)
        cov_nd = np.ndim(concrete(cov))
        if mean is not None:
            dim = np.size(concrete(mean))
        else:
            dim = np.size(concrete(cov)) if cov_nd < 2 else np.shape(concrete(cov))[0]
            mean = np.zeros(dim)
        xshape = np.shape(concrete(x))
        if len(xshape) == 0:
            x = fnp.reshape(x, (1,))
        elif len(xshape) == 1:
            x = fnp.reshape(x, (xshape[0], 1) if dim == 1 else (1, xshape[0]))
        batch = np.shape(concrete(x))[:-1]
        diff = fnp.reshape(fnp.subtract(x, fnp.reshape(mean, (dim,))), (-1, dim))
        if cov_nd < 2:  # independent coordinates with these variances
            var = fnp.broadcast_to(fnp.reshape(cov, (-1,)), (dim,)) if cov_nd else fnp.multiply(
                cov, np.ones(dim))
            maha = fnp.sum(fnp.divide(fnp.square(diff), var), axis=-1)
            logdet = fnp.sum(fnp.log(var))
        else:
            low = _rows.cholesky_row(cov, lower=True)
            z = _rows.solve_triangular_row(low, fnp.swapaxes(diff, 0, 1), lower=True)
            maha = fnp.sum(fnp.square(z), axis=0)
            logdet = fnp.multiply(2.0, fnp.sum(fnp.log(fnp.sum(fnp.multiply(low, np.eye(dim)),
                                                               axis=-1))))
        out = fnp.multiply(-0.5, fnp.add(fnp.add(maha, logdet), 2.0 * dim * _HALF_LOG_2PI))
        return fnp.reshape(out, np.empty(batch).squeeze().shape)

    @staticmethod
    def pdf(x, mean=None, cov=1, allow_singular=False):
        """Density of the multivariate normal distribution.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> g = fgrad.grad(multivariate_normal.pdf)(fnp.array([1.0, 2.0]), None, fnp.eye(2))
            >>> g.round(6)  # -x pdf(x)
            array([-0.013064, -0.026128])
        """
        if not _traced(x, mean, cov):
            return _scipy("multivariate_normal").pdf(x, mean, cov, allow_singular=allow_singular)
        return fnp.exp(multivariate_normal.logpdf(x, mean, cov, allow_singular))


from ._distributions import *  # noqa: E402,F401,F403  (more distributions, same style)
from ._distributions import __all__ as _more  # noqa: E402

__all__ += _more
