"""fgrad.scipy.special: differentiable counterparts of scipy.special functions.

On plain (untraced) inputs every function returns exactly what scipy returns;
on tracers it records a row of the rule table (``special.<name>``), so every
transform applies, to any order.  scipy is needed to evaluate them (imported on
first use).  When fgrad.scipy is imported with scipy installed, scipy's own
ufuncs also dispatch to these functions: ``scipy.special.erf(tracer)`` works.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.special import logsumexp
    >>> fgrad.grad(logsumexp)(fgrad.numpy.array([0.0, 0.0]))
    array([0.5, 0.5])
"""

import numpy as np

from ..core import Tracer, concrete
from ..primitives import special as _rows
from ..tree import tree_leaves

__all__ = [
    "erf", "erfc", "erfcx", "erfinv", "erfcinv", "ndtr", "ndtri", "log_ndtr",
    "expit", "logit", "log_expit", "softplus", "gammaln", "digamma", "psi", "polygamma",
    "gamma", "rgamma", "beta", "betaln", "multigammaln", "zeta", "gammainc", "gammaincc",
    "betainc", "betaincc", "stdtr", "gammaincinv", "gammainccinv", "betaincinv", "betainccinv",
    "stdtrit", "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "loggamma",
    "exp1", "expi", "expn", "dawsn", "i0", "i1", "i0e", "i1e", "iv", "ive", "kv", "kve",
    "j0", "j1", "y0", "y1", "jv", "yv", "logsumexp", "softmax", "log_softmax",
    "owens_t", "lambertw", "hyp1f1", "hyp2f1", "wofz", "comb", "factorial",
]


def _traced(*xs):
    return any(isinstance(x, Tracer) for x in tree_leaves(list(xs)))


# --- error function and the normal distribution ----------------------------------


def erf(z):
    """Error function (``scipy.special.erf``); complex inputs too.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import erf
        >>> round(float(fgrad.grad(erf)(0.0)), 6)  # 2 / sqrt(pi)
        1.128379
    """
    return _rows.erf(z)


def erfc(x):
    """Complementary error function ``1 - erf(x)`` (``scipy.special.erfc``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import erfc
        >>> round(float(fgrad.grad(erfc)(0.0)), 6)
        -1.128379
    """
    return _rows.erfc(x)


def erfcx(x):
    """Scaled complementary error function ``exp(x**2) erfc(x)`` (``scipy.special.erfcx``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import erfcx
        >>> round(float(fgrad.grad(erfcx)(0.0)), 6)
        -1.128379
    """
    return _rows.erfcx(x)


def erfinv(y):
    """Inverse of erf (``scipy.special.erfinv``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import erfinv
        >>> round(float(fgrad.grad(erfinv)(0.0)), 6)  # sqrt(pi) / 2
        0.886227
    """
    return _rows.erfinv(y)


def erfcinv(y):
    """Inverse of erfc (``scipy.special.erfcinv``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import erfcinv
        >>> round(float(fgrad.grad(erfcinv)(1.0)), 6)
        -0.886227
    """
    return _rows.erfcinv(y)


def ndtr(x):
    """Standard normal CDF (``scipy.special.ndtr``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import ndtr
        >>> round(float(fgrad.grad(ndtr)(0.0)), 6)  # the density at 0
        0.398942
    """
    return _rows.ndtr(x)


def ndtri(y):
    """Inverse of the standard normal CDF (``scipy.special.ndtri``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import ndtri
        >>> round(float(fgrad.grad(ndtri)(0.5)), 6)  # sqrt(2 pi)
        2.506628
    """
    return _rows.ndtri(y)


def log_ndtr(x):
    """Log of the standard normal CDF, accurate far in the left tail (``scipy.special.log_ndtr``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import log_ndtr
        >>> round(float(fgrad.grad(log_ndtr)(-30.0)), 3)  # ~ -x in the tail, no overflow
        30.033
    """
    return _rows.log_ndtr(x)


# --- logistic ------------------------------------------------------------------------


def expit(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` (``scipy.special.expit``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import expit
        >>> float(fgrad.grad(expit)(0.0))
        0.25
    """
    return _rows.expit(x)


def logit(x):
    """Log-odds ``log(x / (1 - x))`` (``scipy.special.logit``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import logit
        >>> float(fgrad.grad(logit)(0.5))
        4.0
    """
    return _rows.logit(x)


def log_expit(x):
    """``log(expit(x))`` without overflow (``scipy.special.log_expit``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import log_expit
        >>> float(fgrad.grad(log_expit)(-1000.0))
        1.0
    """
    return _rows.log_expit(x)


def softplus(x, **kwargs):
    """``log(1 + exp(x))`` computed stably (``scipy.special.softplus``, scipy >= 1.15).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import softplus
        >>> float(fgrad.grad(softplus)(0.0))
        0.5
    """
    if kwargs and not _traced(x):
        return _rows.scipy_module().softplus(x, **kwargs)
    return _rows.softplus(x)


# --- gamma family -----------------------------------------------------------------------


def gammaln(x):
    """Log of the absolute value of the gamma function (``scipy.special.gammaln``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gammaln
        >>> round(float(fgrad.grad(gammaln)(1.0)), 6)  # digamma(1) = -Euler's gamma
        -0.577216
    """
    return _rows.gammaln(x)


def digamma(x):
    """The digamma function, derivative of gammaln (``scipy.special.digamma``, ``psi``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import digamma
        >>> round(float(fgrad.grad(digamma)(1.0)), 6)  # pi**2 / 6
        1.644934
    """
    return _rows.digamma(x)


psi = digamma


def polygamma(n, x):
    """The n-th derivative of digamma (``scipy.special.polygamma``); ``n`` is an integer.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import polygamma
        >>> round(float(fgrad.grad(lambda x: polygamma(0, x))(1.0)), 6)
        1.644934
    """
    return _rows.polygamma(n, x)


def gamma(z):
    """The gamma function (``scipy.special.gamma``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gamma
        >>> round(float(fgrad.grad(gamma)(1.0)), 6)
        -0.577216
    """
    return _rows.gamma(z)


def rgamma(z):
    """The reciprocal of the gamma function (``scipy.special.rgamma``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import rgamma
        >>> round(float(fgrad.grad(rgamma)(1.0)), 6)
        0.577216
    """
    return _rows.rgamma(z)


def beta(a, b):
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)`` (``scipy.special.beta``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import beta
        >>> float(fgrad.grad(beta)(1.0, 1.0))
        -1.0
    """
    return _rows.beta(a, b)


def betaln(a, b):
    """Log of the absolute value of the beta function (``scipy.special.betaln``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import betaln
        >>> float(fgrad.grad(betaln, argnums=1)(1.0, 1.0))
        -1.0
    """
    return _rows.betaln(a, b)


def multigammaln(a, d):
    """Log of the multivariate gamma function of dimension ``d`` (``scipy.special.multigammaln``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import multigammaln, digamma
        >>> bool(abs(fgrad.grad(multigammaln)(2.0, 1) - digamma(2.0)) < 1e-12)
        True
    """
    if not _traced(a):
        return _rows.scipy_module().multigammaln(a, d)
    from .. import numpy as fnp

    d = int(d)
    ca = concrete(a)  # the check needs values, which a vmapped argument does not have
    if isinstance(ca, (np.ndarray, np.generic, float, int)) and np.any(ca <= 0.5 * (d - 1)):
        raise ValueError(
            f"multigammaln needs a > (d - 1) / 2 = {0.5 * (d - 1)}, got a = {concrete(a)}")
    out = 0.25 * d * (d - 1) * np.log(np.pi)
    for j in range(d):
        out = fnp.add(out, gammaln(fnp.subtract(a, 0.5 * j)))
    return out


def zeta(x, q=None):
    """Riemann zeta ``zeta(x)`` or Hurwitz zeta ``zeta(x, q)`` (``scipy.special.zeta``).

    Differentiable in ``q`` (``d/dq zeta(x, q) = -x zeta(x + 1, q)``); scipy has no
    derivative in ``x``, so differentiating with respect to ``x`` raises a TypeError.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import zeta
        >>> round(float(fgrad.grad(zeta, argnums=1)(2.0, 1.0)), 6)  # -2 zeta(3)
        -2.404114
    """
    if not _traced(x, q):
        return _rows.scipy_module().zeta(x, q)
    return _rows.zeta(x, 1.0 if q is None else q)


def gammainc(a, x):
    """Regularised lower incomplete gamma function (``scipy.special.gammainc``).

    Differentiable in ``x`` only (the derivative in ``a`` has no closed form).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gammainc
        >>> round(float(fgrad.grad(gammainc, argnums=1)(1.0, 0.0)), 6)  # = exp(-x) for a = 1
        1.0
    """
    return _rows.gammainc(a, x)


def gammaincc(a, x):
    """Regularised upper incomplete gamma function (``scipy.special.gammaincc``).

    Differentiable in ``x`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gammaincc
        >>> round(float(fgrad.grad(gammaincc, argnums=1)(1.0, 0.0)), 6)
        -1.0
    """
    return _rows.gammaincc(a, x)


def betainc(a, b, x):
    """Regularised incomplete beta function (``scipy.special.betainc``).

    Differentiable in ``x`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import betainc
        >>> float(fgrad.grad(betainc, argnums=2)(1.0, 1.0, 0.5))  # the uniform density
        1.0
    """
    return _rows.betainc(a, b, x)


def stdtr(df, t):
    """Student's t CDF (``scipy.special.stdtr``); differentiable in ``t`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import stdtr
        >>> round(float(fgrad.grad(stdtr, argnums=1)(1.0, 0.0)), 6)  # Cauchy density 1/pi
        0.31831
    """
    return _rows.stdtr(df, t)


def betaincc(a, b, x):
    """Regularised upper incomplete beta function ``1 - betainc`` (``scipy.special.betaincc``).

    Computed directly (accurate where betainc is close to 1); differentiable in ``x`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import betaincc
        >>> float(fgrad.grad(betaincc, argnums=2)(1.0, 1.0, 0.5))  # minus the uniform density
        -1.0
    """
    return _rows.betaincc(a, b, x)


# --- inverses of the distribution functions -----------------------------------------------


def gammaincinv(a, y):
    """Inverse of gammainc in ``x``: ``gammainc(a, gammaincinv(a, y)) == y``
    (``scipy.special.gammaincinv``).

    Differentiable in ``y`` (``dx/dy = Gamma(a) exp(x) x**(1 - a)``, to any order);
    not in ``a``: that derivative raises a TypeError.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gammaincinv
        >>> round(float(gammaincinv(1.0, 0.5)), 6)  # a = 1: -log(1 - y)
        0.693147
        >>> round(float(fgrad.grad(gammaincinv, argnums=1)(1.0, 0.5)), 12)  # 1 / (1 - y)
        2.0
    """
    return _rows.gammaincinv(a, y)


def gammainccinv(a, y):
    """Inverse of gammaincc in ``x``: ``gammaincc(a, gammainccinv(a, y)) == y``
    (``scipy.special.gammainccinv``); differentiable in ``y`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import gammainccinv
        >>> round(float(gammainccinv(1.0, 0.5)), 6)  # a = 1: -log(y)
        0.693147
        >>> round(float(fgrad.grad(gammainccinv, argnums=1)(1.0, 0.5)), 12)  # -1 / y
        -2.0
    """
    return _rows.gammainccinv(a, y)


def betaincinv(a, b, y):
    """Inverse of betainc in ``x``: ``betainc(a, b, betaincinv(a, b, y)) == y``
    (``scipy.special.betaincinv``).

    Differentiable in ``y`` (``dx/dy = B(a, b) x**(1 - a) (1 - x)**(1 - b)``); not in
    ``a`` or ``b``: those derivatives raise a TypeError.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import betaincinv
        >>> float(betaincinv(2.0, 1.0, 0.25))  # betainc(2, 1, x) = x**2
        0.5
        >>> float(fgrad.grad(betaincinv, argnums=2)(2.0, 1.0, 0.25))  # 1 / (2 x)
        1.0
    """
    return _rows.betaincinv(a, b, y)


def betainccinv(a, b, y):
    """Inverse of betaincc in ``x``: ``betaincc(a, b, betainccinv(a, b, y)) == y``
    (``scipy.special.betainccinv``); differentiable in ``y`` only.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import betainccinv
        >>> float(betainccinv(2.0, 1.0, 0.75))  # betaincc(2, 1, x) = 1 - x**2
        0.5
        >>> float(fgrad.grad(betainccinv, argnums=2)(2.0, 1.0, 0.75))  # -1 / (2 x)
        -1.0
    """
    return _rows.betainccinv(a, b, y)


def stdtrit(df, p):
    """Inverse of Student's t CDF in ``t``: ``stdtr(df, stdtrit(df, p)) == p``
    (``scipy.special.stdtrit``).

    Differentiable in ``p`` (``dt/dp = 1 / pdf(t; df)``); not in ``df``: that
    derivative raises a TypeError.

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import stdtrit
        >>> round(float(stdtrit(1.0, 0.5)), 12) + 0.0  # the median (scipy 1.15 gives 8e-17)
        0.0
        >>> math.isclose(fgrad.grad(stdtrit, argnums=1)(1.0, 0.5), math.pi)  # Cauchy: 1 / pdf(0)
        True
    """
    return _rows.stdtrit(df, p)


# --- x log y and entropy ----------------------------------------------------------------------


def xlogy(x, y):
    """``x * log(y)``, and 0 where ``x == 0`` (``scipy.special.xlogy``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import xlogy
        >>> float(fgrad.grad(xlogy, argnums=1)(0.0, 0.0))  # 0, not NaN, at x == 0
        0.0
    """
    return _rows.xlogy(x, y)


def xlog1py(x, y):
    """``x * log1p(y)``, and 0 where ``x == 0`` (``scipy.special.xlog1py``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import xlog1py
        >>> float(fgrad.grad(xlog1py, argnums=1)(2.0, 1.0))
        1.0
    """
    return _rows.xlog1py(x, y)


def entr(x):
    """Elementwise entropy ``-x log(x)`` (``scipy.special.entr``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import entr
        >>> float(fgrad.grad(entr)(1.0))
        -1.0
    """
    return _rows.entr(x)


def rel_entr(x, y):
    """Elementwise relative entropy ``x log(x / y)`` (``scipy.special.rel_entr``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import rel_entr
        >>> float(fgrad.grad(rel_entr)(1.0, 1.0))
        1.0
    """
    return _rows.rel_entr(x, y)


def kl_div(x, y):
    """Elementwise ``x log(x / y) - x + y`` (``scipy.special.kl_div``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import kl_div
        >>> fgrad.grad(kl_div, argnums=(0, 1))(1.0, 2.0)[1]
        np.float64(0.5)
    """
    return _rows.kl_div(x, y)


def loggamma(x):
    """Principal branch of log-gamma (``scipy.special.loggamma``); derivatives for real ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import loggamma
        >>> round(float(fgrad.grad(loggamma)(1.0)), 6)
        -0.577216
    """
    return _rows.loggamma(x)


def exp1(x):
    """Exponential integral ``E1(x)`` (``scipy.special.exp1``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import exp1
        >>> round(float(fgrad.grad(exp1)(1.0)), 6)  # -exp(-x) / x
        -0.367879
    """
    return _rows.exp1(x)


def expi(x):
    """Exponential integral ``Ei(x)`` (``scipy.special.expi``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import expi
        >>> round(float(fgrad.grad(expi)(1.0)), 6)  # exp(x) / x
        2.718282
    """
    return _rows.expi(x)


def expn(n, x):
    """Generalised exponential integral ``E_n(x)`` (``scipy.special.expn``); ``n`` an integer.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import expn, exp1
        >>> bool(fgrad.grad(expn, argnums=1)(2, 1.0) == -exp1(1.0))
        True
    """
    return _rows.expn(n, x)


def dawsn(x):
    """Dawson's integral (``scipy.special.dawsn``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import dawsn
        >>> float(fgrad.grad(dawsn)(0.0))
        1.0
    """
    return _rows.dawsn(x)


# --- modified Bessel functions ----------------------------------------------------------------


def i0(x):
    """Modified Bessel function of the first kind, order 0 (``scipy.special.i0``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import i0
        >>> float(fgrad.grad(i0)(0.0))
        0.0
    """
    return _rows.i0(x)


def i1(x):
    """Modified Bessel function of the first kind, order 1 (``scipy.special.i1``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import i1
        >>> float(fgrad.grad(i1)(0.0))
        0.5
    """
    return _rows.i1(x)


def i0e(x):
    """Exponentially scaled ``exp(-|x|) i0(x)`` (``scipy.special.i0e``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import i0e
        >>> round(float(fgrad.grad(i0e)(1.0)), 6)  # i1e(1) - i0e(1)
        -0.257849
    """
    return _rows.i0e(x)


def i1e(x):
    """Exponentially scaled ``exp(-|x|) i1(x)`` (``scipy.special.i1e``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import i1e
        >>> float(fgrad.grad(i1e)(0.0))
        0.5
    """
    return _rows.i1e(x)


def iv(v, x):
    """Modified Bessel function of the first kind, real order ``v`` (``scipy.special.iv``).

    Differentiable in ``x`` (not in the order ``v``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import iv, i1
        >>> bool(abs(fgrad.grad(iv, argnums=1)(0.0, 0.7) - i1(0.7)) < 1e-12)
        True
    """
    return _rows.iv(v, x)


def ive(v, x):
    """Exponentially scaled ``iv(v, x) exp(-|x|)`` (``scipy.special.ive``); differentiable in ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import ive, i0e
        >>> bool(abs(fgrad.grad(ive, argnums=1)(0.0, 0.7) - fgrad.grad(i0e)(0.7)) < 1e-12)
        True
    """
    return _rows.ive(v, x)


def kv(v, x):
    """Modified Bessel function of the second kind (``scipy.special.kv``); differentiable in ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import kv
        >>> bool(abs(fgrad.grad(kv, argnums=1)(0.0, 0.7) + kv(1.0, 0.7)) < 1e-12)  # K0' = -K1
        True
    """
    return _rows.kv(v, x)


def kve(v, x):
    """Exponentially scaled ``kv(v, x) exp(x)`` (``scipy.special.kve``); differentiable in ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import kve
        >>> bool(abs(fgrad.grad(kve, argnums=1)(0.0, 0.7) - kve(0.0, 0.7) + kve(1.0, 0.7)) < 1e-12)
        True
    """
    return _rows.kve(v, x)


def j0(x):
    """Bessel function of the first kind, order 0 (``scipy.special.j0``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import j0, j1
        >>> bool(fgrad.grad(j0)(1.3) == -j1(1.3))
        True
    """
    return _rows.j0(x)


def j1(x):
    """Bessel function of the first kind, order 1 (``scipy.special.j1``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import j1
        >>> float(fgrad.grad(j1)(0.0))
        0.5
    """
    return _rows.j1(x)


def y0(x):
    """Bessel function of the second kind, order 0 (``scipy.special.y0``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import y0, y1
        >>> bool(fgrad.grad(y0)(1.3) == -y1(1.3))
        True
    """
    return _rows.y0(x)


def y1(x):
    """Bessel function of the second kind, order 1 (``scipy.special.y1``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import y0, y1
        >>> bool(abs(fgrad.grad(y1)(1.3) - (y0(1.3) - y1(1.3) / 1.3)) < 1e-12)
        True
    """
    return _rows.y1(x)


def jv(v, x):
    """Bessel function of the first kind, real order (``scipy.special.jv``); differentiable in ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import jv, j1
        >>> bool(abs(fgrad.grad(jv, argnums=1)(0.0, 1.3) + j1(1.3)) < 1e-12)
        True
    """
    return _rows.jv(v, x)


def yv(v, x):
    """Bessel function of the second kind, real order (``scipy.special.yv``); differentiable in ``x``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import yv, y1
        >>> bool(abs(fgrad.grad(yv, argnums=1)(0.0, 1.3) + y1(1.3)) < 1e-12)
        True
    """
    return _rows.yv(v, x)


# --- logsumexp and softmax ---------------------------------------------------------------------


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (``scipy.special.logsumexp``).

    Differentiable in ``a`` and in the weights ``b``; with ``return_sign=True``
    returns ``(log|s|, sign(s))`` (the sign is a constant).  The derivative is the
    softmax ``b * exp(a - logsumexp(a))``, which never overflows.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import logsumexp
        >>> fgrad.grad(logsumexp)(fnp.array([1000.0, 1000.0]))
        array([0.5, 0.5])
    """
    if not _traced(a, b):
        return _rows.scipy_module().logsumexp(
            a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    if b is None:
        out = _rows.logsumexp_row(a, axis=axis, keepdims=keepdims)
    else:
        from .. import numpy as fnp

        shape = np.broadcast_shapes(np.shape(concrete(a)), np.shape(concrete(b)))
        a, b = fnp.broadcast_to(a, shape), fnp.broadcast_to(b, shape)
        out = _rows.logsumexp_b_row(a, b, axis=axis, keepdims=keepdims, return_sign=return_sign)
    if not return_sign:
        return out
    # the sign is a constant: computed on values cut from the derivative (works under vmap)
    from .. import numpy as fnp

    a0, out0 = fnp.stop_gradient(a), fnp.stop_gradient(out)
    w = fnp.exp(fnp.subtract(a0, _rows._expand(out0, a0, axis, keepdims)))
    if b is not None:
        w = fnp.multiply(fnp.stop_gradient(b), w)
    sign = fnp.sign(fnp.sum(w, axis=axis, keepdims=keepdims))
    return out, fnp.where(fnp.equal(out0, -np.inf), 0.0, sign)


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (``scipy.special.softmax``; all axes by default).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import softmax
        >>> fgrad.jacrev(softmax)(fnp.zeros(2))
        array([[ 0.25, -0.25],
               [-0.25,  0.25]])
    """
    return _rows.softmax_row(x, axis=axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x)`` over ``axis``, computed stably (``scipy.special.log_softmax``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import log_softmax
        >>> fgrad.grad(lambda x: log_softmax(x)[0])(fnp.array([0.0, 0.0]))
        array([ 0.5, -0.5])
    """
    return _rows.log_softmax_row(x, axis=axis)


# --- Owen's T, Lambert W, hypergeometric functions, Faddeeva, comb, factorial ----------------


def owens_t(h, a):
    """Owen's T function ``T(h, a)`` (``scipy.special.owens_t``); differentiable in both.

    ``dT/dh = -exp(-h**2/2) erf(a h / sqrt(2)) / (2 sqrt(2 pi))`` and
    ``dT/da = exp(-h**2 (1 + a**2) / 2) / (2 pi (1 + a**2))``.

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import owens_t
        >>> math.isclose(fgrad.grad(owens_t, argnums=1)(0.0, 1.0), 1 / (4 * math.pi))
        True
    """
    return _rows.owens_t(h, a)


def lambertw(z, k=0, tol=1e-8):
    """Branch ``k`` of the Lambert W function, ``W(z) exp(W(z)) = z``
    (``scipy.special.lambertw``).

    Like scipy, the result is complex even for real ``z``.  ``dW/dz = W / (z (1 + W))``
    (1 at ``z = 0``), written as ``exp(-W) / (1 + W)``; ``k`` and ``tol`` are static.
    For a real ``z``, ``grad`` of a real function of the result (e.g. its real part)
    is real.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import lambertw
        >>> complex(lambertw(0.0))
        0j
        >>> float(fgrad.grad(lambda z: fnp.real(lambertw(z)))(0.0))
        1.0
    """
    if _traced(k, tol):
        raise TypeError(
            "lambertw: the branch k and the tolerance tol are static parameters and cannot be "
            "traced; pass plain numbers (the derivative is taken with respect to z only)")
    if not _traced(z):
        return _rows.scipy_module().lambertw(z, k, tol)
    if np.ndim(k) or np.ndim(tol):
        raise ValueError(
            "lambertw: under a transform k and tol must be scalars; call it once per branch")
    return _rows.lambertw(z, k=int(k), tol=float(tol))


def hyp1f1(a, b, x):
    """Confluent hypergeometric function ``1F1(a; b; x)`` (``scipy.special.hyp1f1``).

    Differentiable in ``x`` (``(a / b) 1F1(a + 1; b + 1; x)``, to any order, complex
    ``x`` too); not in ``a`` or ``b``: those derivatives raise a TypeError.

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import hyp1f1
        >>> math.isclose(fgrad.grad(hyp1f1, argnums=2)(1.5, 1.5, 0.3), math.exp(0.3))
        True
    """
    return _rows.hyp1f1(a, b, x)


def hyp2f1(a, b, c, z):
    """Gauss hypergeometric function ``2F1(a, b; c; z)`` (``scipy.special.hyp2f1``).

    Differentiable in ``z`` (``(a b / c) 2F1(a + 1, b + 1; c + 1; z)``, to any order,
    for ``|z| < 1`` and complex ``z``); not in ``a``, ``b`` or ``c`` (TypeError).

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import hyp2f1
        >>> # 2F1(1, 1; 2; z) = -log(1 - z) / z
        >>> math.isclose(hyp2f1(1.0, 1.0, 2.0, 0.5), 2 * math.log(2))
        True
        >>> math.isclose(fgrad.grad(hyp2f1, argnums=3)(1.0, 1.0, 1.0, 0.5), 4.0)  # 1 / (1 - z)**2
        True
    """
    return _rows.hyp2f1(a, b, c, z)


def wofz(z):
    """The Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)`` (``scipy.special.wofz``).

    Complex-valued (also for real ``z``, like scipy), entire, with
    ``w'(z) = -2 z w(z) + 2i / sqrt(pi)``.

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import wofz
        >>> complex(wofz(0.0))
        (1+0j)
        >>> _, dw = fgrad.jvp(wofz, (0.0,), (1.0,))
        >>> math.isclose(complex(dw).imag, 2 / math.sqrt(math.pi))
        True
    """
    return _rows.wofz(z)


def _no_exact(name):
    return TypeError(
        f"{name}(..., exact=True) computes exact integers, which have no derivative, and "
        "cannot take traced inputs; pass exact=False to differentiate (a floating point "
        "result through the gamma function), or call it on plain numbers outside the "
        "transformed function")


def _values_known(*xs):
    """The concrete values of ``xs``, or None under vmap (where there are none)."""
    vals = [concrete(x) for x in xs]
    ok = all(isinstance(v, (np.ndarray, np.generic, float, int)) for v in vals)
    return vals if ok else None


def comb(N, k, *, exact=False, repetition=False):
    """The number of combinations of ``N`` things taken ``k`` at a time
    (``scipy.special.comb``), differentiable in ``N`` and ``k`` when ``exact=False``.

    Under a transform this is ``exp(gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1))``
    with scipy's conventions: 0 where ``k > N``, ``N < 0`` or ``k < 0`` (a constant there,
    so a zero derivative).  ``repetition=True`` is ``comb(N + k - 1, k)``, and 1 where
    ``k == 0`` and ``N >= 0``; it is differentiable for ``N > 0`` and ``k >= 0``, and
    outside that region (where scipy's values come from limits of the gamma formula)
    it raises a ValueError, or gives NaN under vmap.  ``exact=True`` returns scipy's
    integers on plain inputs and refuses traced ones (TypeError).

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import comb, digamma
        >>> float(comb(5, 2))
        10.0
        >>> d = fgrad.grad(comb)(5.0, 2.0)  # C(N, k) (digamma(N + 1) - digamma(N - k + 1))
        >>> math.isclose(d, 10 * (digamma(6.0) - digamma(4.0)))
        True
    """
    if not _traced(N, k):
        return _rows.scipy_module().comb(N, k, exact=exact, repetition=repetition)
    if exact:
        raise _no_exact("comb")
    from .. import numpy as fnp

    if repetition:
        one = fnp.logical_and(fnp.equal(k, 0), fnp.greater_equal(N, 0))
        ok = fnp.logical_and(fnp.greater(N, 0), fnp.greater_equal(k, 0))
        known = _values_known(N, k)
        if known is not None:
            cn, ck = known
            bad = ~(((ck == 0) & (cn >= 0)) | ((cn > 0) & (ck >= 0)))
            if np.any(bad):
                raise ValueError(
                    "comb(N, k, repetition=True) is differentiable for N > 0 and k >= 0, where "
                    "it equals the gamma-function formula; got values outside that region "
                    "(scipy takes limits there). Restrict N and k, or use fgrad.stop_gradient "
                    "on plain values")
        n_safe, k_safe = fnp.where(ok, N, 1.0), fnp.where(ok, k, 0.0)
        val = fnp.exp(fnp.subtract(
            fnp.subtract(_rows.gammaln(fnp.add(n_safe, k_safe)), _rows.gammaln(fnp.add(k_safe, 1.0))),
            _rows.gammaln(n_safe)))
        return fnp.where(one, 1.0, fnp.where(ok, val, np.nan))
    cond = fnp.logical_and(fnp.logical_and(fnp.less_equal(k, N), fnp.greater_equal(N, 0)),
                           fnp.greater_equal(k, 0))
    # safe values where the result is the constant 0, so no NaN leaks into derivatives
    n_safe, k_safe = fnp.where(cond, N, 0.0), fnp.where(cond, k, 0.0)
    val = fnp.exp(fnp.subtract(
        fnp.subtract(_rows.gammaln(fnp.add(n_safe, 1.0)), _rows.gammaln(fnp.add(k_safe, 1.0))),
        _rows.gammaln(fnp.add(fnp.subtract(n_safe, k_safe), 1.0))))
    return fnp.where(cond, val, 0.0)


def factorial(n, exact=False, extend="zero"):
    """``n!`` (``scipy.special.factorial``), differentiable when ``exact=False``.

    Under a transform this is ``gamma(n + 1)`` (scipy's value exactly), with scipy's
    conventions: 0 for ``n < 0`` (``extend="zero"``, a constant there), NaN at
    ``n == -1`` with ``extend="complex"``.  ``exact=True`` returns scipy's integers on
    plain inputs and refuses traced ones (TypeError).

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import factorial
        >>> float(factorial(4.0))
        24.0
        >>> d = fgrad.grad(factorial)(4.0)  # 4! digamma(5)
        >>> math.isclose(d, 24 * (1 + 1 / 2 + 1 / 3 + 1 / 4 - 0.5772156649015329))
        True
    """
    if not _traced(n):
        return _rows.scipy_module().factorial(n, exact=exact, extend=extend)
    if exact:
        raise _no_exact("factorial")
    if extend not in ("zero", "complex"):
        raise ValueError(f"factorial: extend must be 'zero' or 'complex', got {extend!r}")
    from .. import numpy as fnp

    if extend == "complex":
        out = _rows.gamma(fnp.add(n, 1.0))
        if np.result_type(concrete(n)).kind == "c":
            return out
        return fnp.where(fnp.equal(n, -1), np.nan, out)  # scipy: NaN, not inf, at -1
    if np.result_type(concrete(n)).kind == "c":
        raise ValueError(
            "factorial of complex numbers needs extend='complex' (scipy's rule; it also "
            "changes the values at negative n)")
    pos = fnp.greater_equal(n, 0)
    out = _rows.gamma(fnp.add(fnp.where(pos, n, 0.0), 1.0))
    return fnp.where(pos, out, fnp.where(fnp.isnan(n), np.nan, 0.0))


# --- scipy's own ufuncs dispatch here when they meet a tracer --------------------------------

_UFUNC_NAMES = [
    "erf", "erfc", "erfcx", "erfinv", "erfcinv", "ndtr", "ndtri", "log_ndtr", "expit",
    "logit", "log_expit", "gammaln", "digamma", "psi", "gamma", "rgamma", "beta", "betaln",
    "gammainc", "gammaincc", "betainc", "betaincc", "stdtr", "gammaincinv", "gammainccinv",
    "betaincinv", "betainccinv", "stdtrit", "xlogy", "xlog1py", "entr", "rel_entr",
    "i0", "i1", "i0e", "i1e", "kl_div", "loggamma", "exp1", "expi", "expn", "dawsn", "iv",
    "ive", "kv", "kve", "j0", "j1", "y0", "y1", "jv", "yv", "owens_t", "hyp1f1", "hyp2f1",
    "wofz",
]


def _register_scipy_ufuncs():
    try:
        import scipy.special as sc
    except ImportError:  # pragma: no cover - fgrad.scipy works without scipy until used
        return
    from ..numpy._dispatch import UFUNCS

    mine = globals()
    for name in _UFUNC_NAMES:
        theirs = getattr(sc, name, None)
        if isinstance(theirs, np.ufunc):
            UFUNCS[theirs] = mine[name]


_register_scipy_ufuncs()
