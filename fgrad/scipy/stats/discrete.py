"""Discrete distributions of counts: ``poisson``, ``bernoulli``, ``binom``, ``geom``, ``nbinom``.

Each class writes its log pmf for a valid count and its CDF family for
``floor(k - loc)`` on the support; :class:`~fgrad.scipy.stats._base.Discrete`
makes scipy's methods ``logpmf(k, *shapes, loc=0)``, ``pmf``, ``cdf``, ``logcdf``,
``sf``, ``logsf`` with scipy's values off the support.  As in ``jax.scipy.stats``
the log pmf is differentiable in the counts through its continuous extension
(``gammaln``); the CDFs are piecewise constant in ``k`` and differentiable in the
continuous parameters, except where they go through ``betainc``/``gammainc`` in
their shape arguments (``binom``/``nbinom`` CDFs in ``n``): that derivative raises
a TypeError naming the special function.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import poisson
    >>> float(fgrad.grad(poisson.logpmf, argnums=1)(3, 2.0))  # k / mu - 1
    0.5
"""

from ... import numpy as fnp
from ...primitives import special as _rows
from .. import special as sp
from ._base import Discrete

__all__ = ["poisson", "bernoulli", "binom", "geom", "nbinom"]


class poisson(Discrete):
    """The Poisson distribution with mean ``mu`` (``scipy.stats.poisson``).

    ``k`` is a count: the functions are differentiable in ``mu``.
    """

    _title, _example, _shapes = "the Poisson distribution", (2, 1.5), ("mu",)

    @staticmethod
    def _logpmf(k, mu):
        return fnp.subtract(fnp.subtract(sp.xlogy(k, mu), sp.gammaln(fnp.add(k, 1.0))), mu)

    @staticmethod
    def _cdf(k, mu):
        return sp.gammaincc(fnp.add(k, 1.0), mu)

    @staticmethod
    def _sf(k, mu):
        return sp.gammainc(fnp.add(k, 1.0), mu)

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
        return _rows.poisson_isf(q, mu, loc)


class bernoulli(Discrete):
    """The Bernoulli distribution with success probability ``p`` (``scipy.stats.bernoulli``).

    ``k`` is a count: as in ``jax.scipy.stats`` (and ``poisson``), the log pmf is
    differentiable in it through its continuous extension; the CDFs are piecewise
    constant in ``k`` (derivative zero).  The functions are differentiable in ``p``.
    """

    _title, _example, _shapes = "the Bernoulli distribution", (0, 0.25), ("p",)

    @staticmethod
    def _upper(p):
        return 1

    @staticmethod
    def _logpmf(k, p):
        return fnp.add(sp.xlogy(k, p), sp.xlog1py(fnp.subtract(1.0, k), fnp.negative(p)))

    @staticmethod
    def _cdf(k, p):
        return fnp.subtract(1.0, p)

    @staticmethod
    def _logcdf(k, p):
        return fnp.log1p(fnp.negative(p))

    @staticmethod
    def _sf(k, p):
        return p

    @staticmethod
    def _logsf(k, p):
        return fnp.log(p)


class binom(Discrete):
    """The binomial distribution with ``n`` trials and success probability ``p`` (``scipy.stats.binom``).

    ``k`` and ``n`` are counts: as in ``jax.scipy.stats``, the log pmf is
    differentiable in them through its continuous extension (``gammaln``); the CDFs
    are piecewise constant in ``k`` and differentiable in ``p`` only (``betainc``).
    """

    _title, _example, _shapes = "the binomial distribution", (2, 5, 0.4), ("n", "p")
    _example_argnums = ", argnums=2"

    @staticmethod
    def _upper(n, p):
        return n

    @staticmethod
    def _logpmf(k, n, p):
        nk = fnp.subtract(n, k)
        comb = fnp.subtract(sp.gammaln(fnp.add(n, 1.0)),
                            fnp.add(sp.gammaln(fnp.add(k, 1.0)), sp.gammaln(fnp.add(nk, 1.0))))
        return fnp.add(comb, fnp.add(sp.xlogy(k, p), sp.xlog1py(nk, fnp.negative(p))))

    @staticmethod
    def _trials(k, n):
        """``n`` where ``k < n`` (on the support), else ``k + 1``: ``betainc`` sees ``n - k >= 1``."""
        return fnp.where(fnp.less(k, n), n, fnp.add(k, 1.0))

    @staticmethod
    def _cdf(k, n, p):
        n = binom._trials(k, n)
        return sp.betainc(fnp.subtract(n, k), fnp.add(k, 1.0), fnp.subtract(1.0, p))

    @staticmethod
    def _sf(k, n, p):
        n = binom._trials(k, n)
        return sp.betainc(fnp.add(k, 1.0), fnp.subtract(n, k), p)


class geom(Discrete):
    """The geometric distribution on ``1, 2, ...`` (``scipy.stats.geom``).

    ``k`` is a count (the log pmf's continuous extension is differentiable in it, as in
    ``jax.scipy.stats``; the CDFs are piecewise constant in ``k``); differentiable in ``p``.
    """

    _title, _example, _shapes, _lo = "the geometric distribution", (2, 0.5), ("p",), 1

    @staticmethod
    def _logpmf(k, p):
        return fnp.add(sp.xlog1py(fnp.subtract(k, 1.0), fnp.negative(p)), fnp.log(p))

    @staticmethod
    def _logsf(k, p):
        return fnp.multiply(k, fnp.log1p(fnp.negative(p)))


class nbinom(Discrete):
    """The negative binomial distribution: failures before the ``n``-th success (``scipy.stats.nbinom``).

    ``k`` is a count (the log pmf's continuous extension is differentiable in it, as in
    ``jax.scipy.stats``; the CDFs are piecewise constant in it).  ``n`` may be any
    positive real: the pmf
    is differentiable in ``n`` and ``p``; the CDF and survival function go
    through ``betainc`` and are differentiable in ``p`` only (a TypeError
    names ``special.betainc`` for ``n``).
    """

    _title, _example, _shapes = "the negative binomial distribution", (2, 3.0, 0.5), ("n", "p")
    _example_argnums = ", argnums=2"

    @staticmethod
    def _logpmf(k, n, p):
        coeff = fnp.subtract(sp.gammaln(fnp.add(n, k)),
                             fnp.add(sp.gammaln(fnp.add(k, 1.0)), sp.gammaln(n)))
        return fnp.add(coeff, fnp.add(fnp.multiply(n, fnp.log(p)), sp.xlog1py(k, fnp.negative(p))))

    @staticmethod
    def _cdf(k, n, p):
        return sp.betainc(n, fnp.add(k, 1.0), p)

    @staticmethod
    def _sf(k, n, p):
        return sp.betainc(fnp.add(k, 1.0), n, fnp.subtract(1.0, p))
