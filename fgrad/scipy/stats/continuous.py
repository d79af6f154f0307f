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


# --------------------------------------------------------------------------
# symmetric about loc: sf, logsf and isf are mirrored from cdf, logcdf, ppf
# --------------------------------------------------------------------------


class norm(Continuous):
    """The normal distribution ``N(loc, scale**2)`` (``scipy.stats.norm``)."""

    _title, _example, _symmetric = "the normal distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        """Log density of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> float(fgrad.grad(norm.logpdf)(2.0))
            -2.0
        """
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(y)), HALF_LOG_2PI)

    @staticmethod
    def _cdf(y):
        """Cumulative distribution function of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.cdf)(0.0)), 6)
            0.398942
        """
        return sp.ndtr(y)

    @staticmethod
    def _logcdf(y):
        """Log of the normal CDF, accurate in the left tail.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.logcdf)(-40.0)), 2)
            40.02
        """
        return sp.log_ndtr(y)

    @staticmethod
    def _ppf(q):
        """Quantile function (inverse CDF) of the normal distribution.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import norm
            >>> round(float(fgrad.grad(norm.ppf)(0.5)), 6)
            2.506628
        """
        return sp.ndtri(q)


def _t_quantile(q, df):
    """``stdtrit(df, q)``, but ``-inf`` at ``q == 0`` as in scipy.stats (scipy.special's
    stdtrit returns ``+inf`` there).  At ``q == 0`` the mirror ``-stdtrit(df, 1 - q)`` is
    used, so the derivative is the limit ``+inf``; each branch sees safe inputs, so
    the unused one adds no NaN to the derivative.

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.stats import t
        >>> math.isclose(fgrad.grad(t.ppf)(0.5, 1.0), math.pi)  # 1 / pdf(0)
        True
    """
    zero = fnp.equal(q, 0)
    mirror = fnp.negative(sp.stdtrit(df, fnp.subtract(1.0, fnp.where(zero, q, 0.5))))
    return fnp.where(zero, mirror, sp.stdtrit(df, fnp.where(zero, 0.5, q)))


class t(Continuous):
    """Student's t distribution (``scipy.stats.t``)."""

    _title, _example, _symmetric = "Student's t distribution", (0.5, 3.0), True
    _shapes = ("df",)

    @staticmethod
    def _logpdf(y, df):
        """Log density of Student's t distribution; differentiable in all arguments.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> float(fgrad.grad(t.logpdf)(1.0, 1.0))  # Cauchy: -2x / (1 + x^2)
            -1.0
        """
        half = fnp.multiply(0.5, fnp.add(df, 1.0))
        const = fnp.subtract(
            fnp.subtract(sp.gammaln(half), sp.gammaln(fnp.multiply(0.5, df))),
            fnp.multiply(0.5, fnp.log(fnp.multiply(math.pi, df))))
        return fnp.subtract(const, fnp.multiply(half, fnp.log1p(fnp.divide(fnp.square(y), df))))

    @staticmethod
    def _cdf(y, df):
        """CDF of Student's t distribution; differentiable in ``x``, ``loc``, ``scale``, not ``df``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import t
            >>> round(float(fgrad.grad(t.cdf)(0.0, 1.0)), 6)
            0.31831
        """
        return sp.stdtr(df, y)

    _ppf = staticmethod(_t_quantile)


class laplace(Continuous):
    """The Laplace (double exponential) distribution (``scipy.stats.laplace``)."""

    _title, _example, _symmetric = "the Laplace distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        """Log density ``-|x - loc|/scale - log(2 scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.logpdf)(2.0, 0.0, 0.5))  # -sign(x)/scale
            -2.0
        """
        return fnp.subtract(fnp.negative(fnp.abs(y)), LOG2)

    @staticmethod
    def _cdf(y):
        """CDF: ``exp(y)/2`` left of ``loc``, ``1 - exp(-y)/2`` right of it.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.cdf)(0.0))  # the density at loc
            0.5
        """
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.subtract(1.0, fnp.multiply(0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.multiply(0.5, fnp.exp(fnp.where(right, 0.0, y))))

    @staticmethod
    def _logcdf(y):
        """Log of the CDF, accurate in both tails: ``y - log 2`` left of ``loc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.logcdf)(-3.0))  # 1/scale left of loc
            1.0
        """
        right = fnp.greater(y, 0)
        return fnp.where(right, fnp.log1p(fnp.multiply(-0.5, fnp.exp(fnp.negative(
            fnp.where(right, y, 1.0))))), fnp.subtract(fnp.where(right, 0.0, y), LOG2))

    @staticmethod
    def _ppf(q):
        """Quantile: ``log(2q)`` below the median, ``-log(2 - 2q)`` above (times scale, plus loc).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import laplace
            >>> float(fgrad.grad(laplace.ppf)(0.25))  # 1/q
            4.0
        """
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
        """Log density ``log_expit(y) + log_expit(-y) - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.logpdf)(0.0))  # 1 - 2 expit(x)
            0.0
        """
        return fnp.add(sp.log_expit(y), sp.log_expit(fnp.negative(y)))

    @staticmethod
    def _cdf(y):
        """CDF ``expit((x - loc)/scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.cdf)(0.0))
            0.25
        """
        return sp.expit(y)

    @staticmethod
    def _logcdf(y):
        """Log CDF ``log_expit(y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.logcdf)(0.0))  # expit(-x)
            0.5
        """
        return sp.log_expit(y)

    @staticmethod
    def _ppf(q):
        """Quantile ``loc + scale logit(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import logistic
            >>> float(fgrad.grad(logistic.ppf)(0.5))  # 1 / (q (1 - q))
            4.0
        """
        return sp.logit(q)


class cauchy(Continuous):
    """The Cauchy distribution (``scipy.stats.cauchy``)."""

    _title, _example, _symmetric = "the Cauchy distribution", (0.5,), True

    @staticmethod
    def _logpdf(y):
        """Log density ``-log(pi scale (1 + y^2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> float(fgrad.grad(cauchy.logpdf)(1.0))  # -2y / (1 + y^2)
            -1.0
        """
        return fnp.negative(fnp.add(fnp.log1p(fnp.square(y)), LOG_PI))

    @staticmethod
    def _cdf(y):
        """CDF ``arctan2(1, -y) / pi`` (accurate in the left tail too).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.cdf)(0.0)), 6)  # 1/pi
            0.31831
        """
        return fnp.divide(fnp.arctan2(1.0, fnp.negative(y)), math.pi)

    @staticmethod
    def _ppf(q):
        """Quantile ``loc + scale tan(pi (q - 1/2))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import cauchy
            >>> round(float(fgrad.grad(cauchy.ppf)(0.25)), 6)  # pi / sin(pi q)^2
            6.283185
        """
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
        """Log density ``kappa (cos(y) - 1) - log(2 pi i0e(kappa)) - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import vonmises
            >>> round(float(fgrad.grad(vonmises.logpdf)(0.5 * 3.141592653589793, 2.0)), 12)
            -2.0
        """
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
        """Log density ``log(beta/2) - log Gamma(1/beta) - |y|^beta - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gennorm
            >>> float(fgrad.grad(gennorm.logpdf)(1.5, 2.0))  # -beta |y|^(beta-1) sign(y)
            -3.0
        """
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
        """Log density ``-y^2/2 - log(sqrt(2 pi) scale (ndtr(b) - ndtr(a)))`` on the support.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> float(fgrad.grad(truncnorm.logpdf)(0.5, -1.0, 1.0))  # -y, as for the normal
            -0.5
        """
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(y)),
                            fnp.add(_log_gauss_mass(a, b), HALF_LOG_2PI))

    @staticmethod
    def _logcdf(y, a, b):
        """Log CDF ``log mass(a, y) - log mass(a, b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.logcdf)(0.0, -1.0, 1.0)), 6)  # 2 pdf(0)
            1.168737
        """
        return fnp.subtract(_log_gauss_mass(a, y), _log_gauss_mass(a, b))

    @staticmethod
    def _logsf(y, a, b):
        """Log survival function ``log mass(y, b) - log mass(a, b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.logsf)(0.0, -1.0, 1.0)), 6)  # -2 pdf(0)
            -1.168737
        """
        return fnp.subtract(_log_gauss_mass(y, b), _log_gauss_mass(a, b))

    @staticmethod
    def _ppf(q, a, b):
        """Quantile ``ndtri(ndtr(a) + q (ndtr(b) - ndtr(a)))`` (mirrored when ``a > 0``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.ppf)(0.5, -1.0, 1.0)), 6)  # 1 / pdf(0)
            1.711249
        """
        right = fnp.greater(a, 0)
        # right of 0 mirror the problem, so ndtr works with small numbers
        ar, br = fnp.where(right, fnp.negative(b), a), fnp.where(right, fnp.negative(a), b)
        pr = fnp.where(right, fnp.subtract(1.0, q), q)
        lo, hi = sp.ndtr(ar), sp.ndtr(br)
        z = sp.ndtri(fnp.add(lo, fnp.multiply(pr, fnp.subtract(hi, lo))))
        return fnp.where(right, fnp.negative(z), z)

    @staticmethod
    def _isf(q, a, b):
        """Inverse survival function ``ppf(1 - q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import truncnorm
            >>> round(float(fgrad.grad(truncnorm.isf)(0.5, -1.0, 1.0)), 6)
            -1.711249
        """
        return truncnorm._ppf(fnp.subtract(1.0, q), a, b)


# --------------------------------------------------------------------------
# on [0, 1]
# --------------------------------------------------------------------------


class uniform(Continuous):
    """The uniform distribution on ``[loc, loc + scale]`` (``scipy.stats.uniform``)."""

    _title, _example, _support = "the uniform distribution", (0.25,), (0.0, 1.0)

    @staticmethod
    def _logpdf(y):
        """Log density ``-log(scale)`` on the support, ``-inf`` off it.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.logpdf, argnums=2)(0.5, 0.0, 2.0))  # -1/scale
            -0.5
        """
        return fnp.multiply(0.0, y)

    @staticmethod
    def _cdf(y):
        """CDF ``(x - loc)/scale`` clipped to ``[0, 1]``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.cdf)(0.5, 0.0, 2.0))
            0.5
        """
        return y

    @staticmethod
    def _sf(y):
        """Survival function ``1 - cdf``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.sf)(0.25))
            -1.0
        """
        return fnp.subtract(1.0, y)

    @staticmethod
    def _logsf(y):
        """Log survival function ``log1p(-y)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.logsf)(0.75))  # -1/(1 - x)
            -4.0
        """
        return fnp.log1p(fnp.negative(y))

    @staticmethod
    def _ppf(q):
        """Quantile ``loc + q scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.ppf, argnums=2)(0.25, 1.0, 2.0))  # q
            0.25
        """
        return q

    @staticmethod
    def _isf(q):
        """Inverse survival function ``loc + (1 - q) scale``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import uniform
            >>> float(fgrad.grad(uniform.isf)(0.25, 1.0, 2.0))  # -scale
            -2.0
        """
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
        """Log density of the beta distribution (``-inf`` outside the support).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.logpdf)(0.5, 2.0, 2.0))
            0.0
        """
        return fnp.subtract(fnp.add(sp.xlogy(fnp.subtract(a, 1.0), y),
                                    sp.xlog1py(fnp.subtract(b, 1.0), fnp.negative(y))),
                            sp.betaln(a, b))

    @staticmethod
    def _cdf(y, a, b):
        """CDF of the beta distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``, ``b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.cdf)(0.25, 2.0, 1.0))
            0.5
        """
        return sp.betainc(a, b, y)

    @staticmethod
    def _sf(y, a, b):
        """Survival function ``1 - cdf`` of the beta distribution, ``betaincc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.sf)(0.25, 2.0, 1.0))  # -pdf = -2x
            -0.5
        """
        return sp.betaincc(a, b, y)

    @staticmethod
    def _ppf(q, a, b):
        """Quantile function of the beta distribution; differentiable in ``q``, ``loc``,
        ``scale``, not ``a``, ``b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.ppf)(0.25, 2.0, 1.0))  # sqrt(q): 1 / (2 sqrt(q))
            1.0
        """
        return sp.betaincinv(a, b, q)

    @staticmethod
    def _isf(q, a, b):
        """Inverse survival function of the beta distribution (not differentiable in ``a``, ``b``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import beta
            >>> float(fgrad.grad(beta.isf)(0.75, 2.0, 1.0))  # sqrt(1 - q)
            -1.0
        """
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
        """Log density of the gamma distribution (``-inf`` for ``x < loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.logpdf)(2.0, 3.0))  # (a - 1)/x - 1
            0.0
        """
        return fnp.subtract(fnp.subtract(sp.xlogy(fnp.subtract(a, 1.0), y), y), sp.gammaln(a))

    @staticmethod
    def _cdf(y, a):
        """CDF of the gamma distribution; differentiable in ``x``, ``loc``, ``scale``, not ``a``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.cdf)(0.0, 1.0))
            1.0
        """
        return sp.gammainc(a, y)

    @staticmethod
    def _sf(y, a):
        """Survival function of the gamma distribution, ``gammaincc`` (not differentiable in ``a``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> float(fgrad.grad(gamma.sf)(0.0, 1.0))
            -1.0
        """
        return sp.gammaincc(a, y)

    @staticmethod
    def _ppf(q, a):
        """Quantile function of the gamma distribution; differentiable in ``q``, ``loc``,
        ``scale``, not ``a``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> round(float(fgrad.grad(gamma.ppf)(0.5, 1.0)), 12)  # -log(1 - q): 1 / (1 - q)
            2.0
        """
        return sp.gammaincinv(a, q)

    @staticmethod
    def _isf(q, a):
        """Inverse survival function of the gamma distribution (not differentiable in ``a``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import gamma
            >>> round(float(fgrad.grad(gamma.isf)(0.5, 1.0)), 12)  # -log(q): -1 / q
            -2.0
        """
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
        """Log density ``(df/2 - 1) log(y) - y/2 - log Gamma(df/2) - (df/2) log 2 - log(scale)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.logpdf)(2.0, 4.0))  # (df/2 - 1)/y - 1/2
            0.0
        """
        half = fnp.multiply(0.5, df)
        return fnp.subtract(
            fnp.subtract(sp.xlogy(fnp.subtract(half, 1.0), y), fnp.multiply(0.5, y)),
            fnp.add(sp.gammaln(half), fnp.multiply(LOG2, half)))

    @staticmethod
    def _cdf(y, df):
        """CDF ``gammainc(df/2, y/2)``; differentiable in ``x``, ``loc``, ``scale``, not ``df``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.cdf)(0.0, 2.0))  # the density at 0
            0.5
        """
        return sp.gammainc(fnp.multiply(0.5, df), fnp.multiply(0.5, y))

    @staticmethod
    def _sf(y, df):
        """Survival function ``gammaincc(df/2, y/2)`` (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> float(fgrad.grad(chi2.sf)(0.0, 2.0))
            -0.5
        """
        return sp.gammaincc(fnp.multiply(0.5, df), fnp.multiply(0.5, y))

    @staticmethod
    def _ppf(q, df):
        """Quantile function, ``2 gammaincinv(df / 2, q)`` (not differentiable in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> round(float(fgrad.grad(chi2.ppf)(0.5, 2.0)), 12)  # -2 log(1 - q): 2 / (1 - q)
            4.0
        """
        return fnp.multiply(2.0, sp.gammaincinv(fnp.multiply(0.5, df), q))

    @staticmethod
    def _isf(q, df):
        """Inverse survival function, ``2 gammainccinv(df / 2, q)`` (not differentiable
        in ``df``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import chi2
            >>> round(float(fgrad.grad(chi2.isf)(0.5, 2.0)), 12)  # -2 log(q): -2 / q
            -4.0
        """
        return fnp.multiply(2.0, sp.gammainccinv(fnp.multiply(0.5, df), q))


class expon(Continuous):
    """The exponential distribution on ``[loc, inf)`` (``scipy.stats.expon``)."""

    _title, _example, _support = "the exponential distribution", (1.5,), (0.0, None)

    @staticmethod
    def _logpdf(y):
        """Log density ``-(x - loc)/scale - log(scale)``, ``-inf`` for ``x < loc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.logpdf)(1.0, 0.0, 4.0))  # -1/scale
            -0.25
        """
        return fnp.negative(y)

    @staticmethod
    def _cdf(y):
        """CDF ``1 - exp(-(x - loc)/scale)`` (computed with expm1).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.cdf)(0.0, 0.0, 2.0))  # pdf(loc) = 1/scale
            0.5
        """
        return fnp.negative(fnp.expm1(fnp.negative(y)))

    @staticmethod
    def _logcdf(y):
        """Log of the CDF, ``log(1 - exp(-y))``, accurate for small and large ``y``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> round(float(fgrad.grad(expon.logcdf)(1.0)), 6)  # 1 / (e - 1)
            0.581977
        """
        return log1mexp(fnp.negative(y))

    @staticmethod
    def _logsf(y):
        """Log survival function ``-(x - loc)/scale`` (0 for ``x < loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.logsf, argnums=2)(3.0, 1.0, 2.0))  # y / scale
            0.5
        """
        return fnp.negative(y)

    @staticmethod
    def _ppf(q):
        """Quantile ``loc - scale log(1 - q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.ppf)(0.5))  # 1 / (1 - q)
            2.0
        """
        return fnp.negative(fnp.log1p(fnp.negative(q)))

    @staticmethod
    def _isf(q):
        """Inverse survival function ``loc - scale log(q)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import expon
            >>> float(fgrad.grad(expon.isf)(0.5))  # -1 / q
            -2.0
        """
        return fnp.negative(fnp.log(q))


class weibull_min(Continuous):
    """The Weibull (minimum) distribution with shape ``c`` (``scipy.stats.weibull_min``).

    At ``y = 0`` ``power`` gives ``c 0^(c-1)`` and 0 in ``c``.
    """

    _title, _example, _shapes = "the Weibull distribution", (1.5, 2.0), ("c",)
    _support = (0.0, None)

    @staticmethod
    def _logpdf(y, c):
        """Log density ``log(c) + (c - 1) log(y) - y^c - log(scale)``; ``-inf`` for ``y < 0``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.logpdf)(1.0, 2.0))  # (c - 1)/y - c y^(c-1)
            -1.0
        """
        return fnp.subtract(fnp.add(fnp.log(c), sp.xlogy(fnp.subtract(c, 1.0), y)),
                            fnp.power(y, c))

    @staticmethod
    def _cdf(y, c):
        """CDF ``1 - exp(-y^c)`` (computed with expm1).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.cdf, argnums=1)(1.0, 3.0))  # y^c log(y) = 0
            0.0
        """
        return fnp.negative(fnp.expm1(fnp.negative(fnp.power(y, c))))

    @staticmethod
    def _logcdf(y, c):
        """Log of the CDF, ``log(1 - exp(-y^c))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> round(float(fgrad.grad(weibull_min.logcdf)(1.0, 1.0)), 6)  # 1/(e - 1)
            0.581977
        """
        return log1mexp(fnp.negative(fnp.power(y, c)))

    @staticmethod
    def _logsf(y, c):
        """Log survival function ``-y^c`` (0 below ``loc``).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.logsf)(2.0, 2.0))  # -c y^(c-1)
            -4.0
        """
        return fnp.negative(fnp.power(y, c))

    @staticmethod
    def _ppf(q, c):
        """Quantile ``loc + scale (-log(1 - q))^(1/c)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.ppf)(0.5, 1.0))  # exponential: 1/(1 - q)
            2.0
        """
        return fnp.power(fnp.negative(fnp.log1p(fnp.negative(q))), fnp.divide(1.0, c))

    @staticmethod
    def _isf(q, c):
        """Inverse survival function ``loc + scale (-log(q))^(1/c)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import weibull_min
            >>> float(fgrad.grad(weibull_min.isf)(0.5, 1.0))  # exponential: -1/q
            -2.0
        """
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
        """Log density; ``-inf`` for ``x <= loc``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> float(fgrad.grad(lognorm.logpdf)(1.0, 1.0))  # -(1 + log(x)/s^2)/x
            -1.0
        """
        z = fnp.divide(fnp.log(y), s)
        return fnp.subtract(fnp.multiply(-0.5, fnp.square(z)),
                            fnp.add(fnp.add(fnp.multiply(z, s), fnp.log(s)), HALF_LOG_2PI))

    @staticmethod
    def _cdf(y, s):
        """CDF ``ndtr(log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.cdf, argnums=1)(2.0, 0.5)), 6)  # -phi(z) z / s, z = log(2)/s
            -0.423135
        """
        return sp.ndtr(fnp.divide(fnp.log(y), s))

    @staticmethod
    def _logcdf(y, s):
        """Log CDF ``log_ndtr(log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.logcdf)(1.0, 1.0)), 6)  # 2 phi(0)
            0.797885
        """
        return sp.log_ndtr(fnp.divide(fnp.log(y), s))

    @staticmethod
    def _sf(y, s):
        """Survival function ``ndtr(-log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.sf)(1.0, 1.0)), 6)
            -0.398942
        """
        return sp.ndtr(fnp.negative(fnp.divide(fnp.log(y), s)))

    @staticmethod
    def _logsf(y, s):
        """Log survival function ``log_ndtr(-log(y)/s)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.logsf)(1.0, 1.0)), 6)
            -0.797885
        """
        return sp.log_ndtr(fnp.negative(fnp.divide(fnp.log(y), s)))

    @staticmethod
    def _ppf(q, s):
        """Quantile ``loc + scale exp(s ndtri(q))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.ppf)(0.5, 1.0)), 6)  # sqrt(2 pi)
            2.506628
        """
        return fnp.exp(fnp.multiply(s, sp.ndtri(q)))

    @staticmethod
    def _isf(q, s):
        """Inverse survival function ``loc + scale exp(-s ndtri(q))``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import lognorm
            >>> round(float(fgrad.grad(lognorm.isf)(0.5, 1.0)), 6)
            -2.506628
        """
        return fnp.exp(fnp.multiply(fnp.negative(s), sp.ndtri(q)))


class pareto(Continuous):
    """The Pareto distribution with shape ``b`` on ``[loc + scale, inf)`` (``scipy.stats.pareto``)."""

    _title, _example, _shapes = "the Pareto distribution", (2.0, 3.0), ("b",)
    _support = (1.0, None)

    @staticmethod
    def _logpdf(y, b):
        """Log density ``log(b) - (b + 1) log(y) - log(scale)``; ``-inf`` for ``y < 1``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logpdf)(2.0, 3.0))  # -(b + 1)/x
            -2.0
        """
        return fnp.subtract(fnp.log(b), fnp.multiply(fnp.add(b, 1.0), fnp.log(y)))

    @staticmethod
    def _cdf(y, b):
        """CDF ``1 - y^-b``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.cdf)(1.0, 2.0))  # the density b at y = 1
            2.0
        """
        return fnp.negative(fnp.expm1(pareto._logsf(y, b)))

    @staticmethod
    def _logcdf(y, b):
        """Log of the CDF, ``log(1 - y^-b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logcdf)(2.0, 1.0))  # pdf/cdf = (1/4)/(1/2)
            0.5
        """
        return log1mexp(pareto._logsf(y, b))

    @staticmethod
    def _logsf(y, b):
        """Log survival function ``-b log(y)`` (0 below the support).

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.logsf)(2.0, 3.0))  # -b/y
            -1.5
        """
        return fnp.multiply(fnp.negative(b), fnp.log(y))

    @staticmethod
    def _ppf(q, b):
        """Quantile ``loc + scale (1 - q)^(-1/b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.ppf)(0.5, 1.0))  # 1/(b (1 - q)^(1 + 1/b))
            4.0
        """
        return fnp.exp(fnp.divide(fnp.negative(fnp.log1p(fnp.negative(q))), b))

    @staticmethod
    def _isf(q, b):
        """Inverse survival function ``loc + scale q^(-1/b)``.

        Example:
            >>> import fgrad
            >>> from fgrad.scipy.stats import pareto
            >>> float(fgrad.grad(pareto.isf)(0.5, 1.0))  # -1/(b q^(1 + 1/b))
            -4.0
        """
        return fnp.exp(fnp.divide(fnp.negative(fnp.log(q)), b))
