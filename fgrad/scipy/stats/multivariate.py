"""Multivariate distributions: ``multivariate_normal``, ``multivariate_t``, ``dirichlet``,
``multinomial``, ``wishart``.

Each class writes its log density (or log pmf) out; ``pdf``/``pmf`` are its
exponential, and on plain inputs every method is scipy.stats' own.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad.scipy.stats import multivariate_normal
    >>> fgrad.grad(multivariate_normal.logpdf)(fnp.array([1.0, -2.0]), None, fnp.eye(2))  # -x
    array([-1.,  2.])
"""

import warnings

import numpy as np

from ... import numpy as fnp
from ...core import concrete
from ...primitives import scipy_linalg as _more
from ...primitives import special as _rows
from .. import special as sp
from ._base import HALF_LOG_2PI, LOG2, Multivariate, scipy_stats, squeezed_shape, unbatched

__all__ = ["multivariate_normal", "dirichlet", "multinomial", "multivariate_t", "wishart"]


class multivariate_normal(Multivariate):
    """The multivariate normal distribution (``scipy.stats.multivariate_normal``).

    ``cov`` may be a full covariance matrix (differentiated through its
    Cholesky factor, so only its lower triangle is read, as a symmetric matrix
    should be), a vector of variances, or one variance.

    With ``allow_singular=True`` a singular (positive semidefinite) ``cov`` is
    read as scipy reads it: eigenvalues up to ``1e6`` machine epsilons times the
    largest count as zero, the density lives on ``mean`` plus the range of
    ``cov`` (``-inf`` log density off it) and uses the pseudo-inverse and
    pseudo-determinant.  The derivative in ``cov`` there is the derivative along
    covariances with the same range (the range's projector ``P`` is held
    constant: ``cov -> P cov P``); across the range the density jumps, so no
    other derivative exists.  ``entropy`` reads ``cov`` the same way.
    """

    _title = "the multivariate normal distribution"
    _example = ("fnp.array([0.5, -1.0])", "fnp.zeros(2)", "fnp.array([[2.0, 0.5], [0.5, 1.0]])")

    @staticmethod
    def _parts(mean, cov):
        """scipy's argument processing: ``(dim, mean (dim,), cov)``, cov as given (0-2 axes)."""
        cov_shape = np.shape(concrete(cov))
        if mean is not None:
            dim = np.size(concrete(mean))
        else:
            dim = int(np.prod(cov_shape)) if len(cov_shape) < 2 else cov_shape[0]
            mean = np.zeros(dim)
        if dim != 1 and np.ndim(concrete(mean)) != 1:  # scipy's rule
            raise ValueError(f"Array 'mean' must be a vector of length {dim}.")
        if len(cov_shape) > 2:
            raise ValueError(f"Array 'cov' must be at most two-dimensional, but cov.ndim = "
                             f"{len(cov_shape)}")
        if len(cov_shape) == 2 and cov_shape != (dim, dim) and dim != 1:
            raise ValueError(f"multivariate_normal: 'cov' must be a ({dim}, {dim}) matrix, a "
                             f"vector of variances or one variance, got shape {cov_shape}")
        return dim, fnp.reshape(mean, (dim,)), cov

    @staticmethod
    def _full(cov, dim):
        """``cov`` as a symmetric ``(dim, dim)`` matrix built from its lower triangle."""
        nd = np.ndim(concrete(cov))
        if nd == 0 or dim == 1:
            return fnp.multiply(fnp.reshape(cov, (1, 1) if nd else ()), np.eye(dim))
        if nd == 1:
            return fnp.multiply(fnp.reshape(cov, (1, dim)), np.eye(dim))
        low = fnp.tril(cov)
        return fnp.add(low, fnp.swapaxes(fnp.tril(cov, -1), 0, 1))

    @staticmethod
    def _range(full, dim):
        """The range's projector ``P`` (a constant), the rank, and the Cholesky factor of
        ``P cov P + (I - P)``: nonsingular, with ``log det`` the log pseudo-determinant."""
        proj = _more.psd_part_row(full)
        rank = _more.psd_part_row(full, part="rank")
        shifted = fnp.add(fnp.matmul(proj, fnp.matmul(full, proj)), fnp.subtract(np.eye(dim), proj))
        return proj, rank, _rows.cholesky_row(shifted, lower=True)

    @staticmethod
    def logpdf(x, mean=None, cov=1, allow_singular=False):
        """Log density; the last axis of ``x`` is the dimension, as in scipy.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> cov = fnp.array([[2.0, 0.0], [0.0, 4.0]])
            >>> fgrad.grad(multivariate_normal.logpdf)(fnp.ones(2), None, cov)
            array([-0.5 , -0.25])
            >>> flat = fnp.array([[1.0, 1.0], [1.0, 1.0]])  # singular: mass on the line x0 = x1
            >>> fgrad.grad(multivariate_normal.logpdf)(fnp.ones(2), None, flat, True)  # -pinv x
            array([-0.5, -0.5])
        """
        dim, mean, cov = multivariate_normal._parts(mean, cov)
        cov_nd = np.ndim(concrete(cov))
        xshape = np.shape(concrete(x))
        if len(xshape) == 0:
            x = fnp.reshape(x, (1,))
        elif len(xshape) == 1:
            x = fnp.reshape(x, (xshape[0], 1) if dim == 1 else (1, xshape[0]))
        batch = np.shape(concrete(x))[:-1]
        diff = fnp.reshape(fnp.subtract(x, mean), (-1, dim))
        if allow_singular:
            full = multivariate_normal._full(cov, dim)
            proj, rank, low = multivariate_normal._range(full, dim)
            z = _rows.solve_triangular_row(low, fnp.matmul(proj, fnp.swapaxes(diff, 0, 1)),
                                           lower=True)
            maha = fnp.sum(fnp.square(z), axis=0)
            logdet = fnp.multiply(2.0, fnp.sum(fnp.log(fnp.diagonal(low))))
            out = fnp.multiply(-0.5, fnp.add(fnp.add(maha, logdet),
                                             fnp.multiply(rank, 2.0 * HALF_LOG_2PI)))
            # off mean + range(cov): -inf, with scipy's tolerance (constants per point)
            off = fnp.matmul(fnp.stop_gradient(diff), fnp.subtract(np.eye(dim), proj))
            residual = fnp.sqrt(fnp.sum(fnp.square(off), axis=-1))
            inside = fnp.less(residual, _more.psd_part_row(full, part="tol"))
            out = fnp.where(inside, out, -np.inf)
        elif cov_nd < 2:  # independent coordinates with these variances
            var = fnp.broadcast_to(fnp.reshape(cov, (-1,)), (dim,)) if cov_nd else fnp.multiply(
                cov, np.ones(dim))
            maha = fnp.sum(fnp.divide(fnp.square(diff), var), axis=-1)
            logdet = fnp.sum(fnp.log(var))
            out = fnp.multiply(-0.5, fnp.add(fnp.add(maha, logdet), 2.0 * dim * HALF_LOG_2PI))
        else:
            low = _rows.cholesky_row(cov, lower=True)
            z = _rows.solve_triangular_row(low, fnp.swapaxes(diff, 0, 1), lower=True)
            maha = fnp.sum(fnp.square(z), axis=0)
            logdet = fnp.multiply(2.0, fnp.sum(fnp.log(fnp.sum(fnp.multiply(low, np.eye(dim)),
                                                               axis=-1))))
            out = fnp.multiply(-0.5, fnp.add(fnp.add(maha, logdet), 2.0 * dim * HALF_LOG_2PI))
        return fnp.reshape(out, np.empty(batch).squeeze().shape)

    @staticmethod
    def cdf(x, mean=None, cov=1, allow_singular=False, maxpts=None, abseps=1e-5, releps=1e-5, *,
            lower_limit=None, rng=None):
        """Cumulative distribution function ``P(X <= x)``, the last axis of ``x`` the dimension.

        In one dimension it is ``ndtr((x - mean) / sqrt(cov))``, differentiable in
        ``x``, ``mean`` and ``cov``.  In more, the value is scipy's quasi-Monte-Carlo
        estimate (Genz's method, tolerances ``abseps``/``releps``), computed on traced
        values with a fixed seed per point so that it is a deterministic function of
        ``x``; its derivative in ``x`` (and ``mean``) is the exact formula
        ``d/dx_i = phi(x_i; cov_ii) Phi_{d-1}(conditional on X_i = x_i)``, whose
        conditional cdf is this function again (exact ``ndtr`` when ``d = 2``), so every
        order works.  The derivative in ``cov`` (``d > 1``) raises a TypeError, and
        ``lower_limit`` and ``rng`` are refused on traced values.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> g = fgrad.grad(multivariate_normal.cdf)(fnp.zeros(2), None, fnp.eye(2))
            >>> g.round(6)  # phi(0) * Phi(0) for each coordinate
            array([0.199471, 0.199471])
        """
        for name, value in (("lower_limit", lower_limit), ("rng", rng)):
            if value is not None:
                raise NotImplementedError(
                    f"multivariate_normal.cdf: {name} is not supported on traced values (fgrad "
                    f"seeds each point itself so that the cdf is a deterministic function); "
                    f"leave it out, or call scipy on plain values")
        dim, mean, cov = multivariate_normal._parts(mean, cov)
        xshape = np.shape(concrete(x))
        if len(xshape) == 0:
            x = fnp.reshape(x, (1,))
        elif len(xshape) == 1:
            x = fnp.reshape(x, (xshape[0], 1) if dim == 1 else (1, xshape[0]))
        batch = np.shape(concrete(x))[:-1]
        full = multivariate_normal._full(cov, dim)
        cfull = concrete(full)
        if not allow_singular and unbatched(cfull) and \
                np.min(np.linalg.eigvalsh(np.asarray(cfull))) <= 0:
            raise np.linalg.LinAlgError(
                "When `allow_singular is False`, the input matrix must be symmetric positive "
                "definite.")
        diff = fnp.subtract(x, mean)
        params = {"maxpts": None if maxpts is None else int(maxpts), "abseps": float(abseps),
                  "releps": float(releps)}
        out = _rows.mvn_cdf(diff, full, **params)
        return fnp.reshape(out, squeezed_shape(batch))

    @staticmethod
    def logcdf(x, mean=None, cov=1, allow_singular=False, maxpts=None, abseps=1e-5, releps=1e-5,
               *, lower_limit=None, rng=None):
        """Log of :meth:`cdf`, with the same derivatives and limits.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> g = fgrad.grad(multivariate_normal.logcdf)(fnp.zeros(2), None, fnp.eye(2))
            >>> g.round(6)  # phi(0) / Phi(0)
            array([0.797885, 0.797885])
        """
        return fnp.log(multivariate_normal.cdf(x, mean, cov, allow_singular, maxpts, abseps,
                                               releps, lower_limit=lower_limit, rng=rng))

    @staticmethod
    def entropy(mean=None, cov=1):
        """Differential entropy ``(rank (log(2 pi) + 1) + log pdet(cov)) / 2``.

        As in scipy, a singular ``cov`` is allowed (its rank and pseudo-determinant,
        read as in ``logpdf`` with ``allow_singular=True``); differentiable in ``cov``
        (``pinv(cov) / 2`` on the lower triangle's entries, along covariances of the
        same range when singular).

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import multivariate_normal
            >>> fgrad.grad(lambda c: multivariate_normal.entropy(None, c))(fnp.array([2.0, 4.0]))
            array([0.25 , 0.125])
        """
        dim, mean, cov = multivariate_normal._parts(mean, cov)
        full = multivariate_normal._full(cov, dim)
        _, rank, low = multivariate_normal._range(full, dim)
        logdet = fnp.multiply(2.0, fnp.sum(fnp.log(fnp.diagonal(low))))
        return fnp.multiply(0.5, fnp.add(fnp.multiply(rank, 2.0 * HALF_LOG_2PI + 1.0), logdet))


class dirichlet(Multivariate):
    """The Dirichlet distribution on the simplex (``scipy.stats.dirichlet``).

    As in scipy, the FIRST axis of ``x`` holds the ``K`` components (or
    ``K - 1`` of them, the last being ``1 - sum``); ``alpha`` has shape
    ``(K,)``.  Points are checked as scipy checks them (a ValueError off the
    simplex).  Differentiable in ``x`` and ``alpha``.
    """

    _title = "the Dirichlet distribution"
    _example = ("fnp.array([0.25, 0.75])", "fnp.array([2.0, 3.0])")

    @staticmethod
    def logpdf(x, alpha):
        """Log density ``sum((alpha - 1) log x) - log B(alpha)``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import dirichlet
            >>> fgrad.grad(dirichlet.logpdf, argnums=1)(fnp.array([0.5, 0.5]), fnp.array([1.0, 1.0]))  # log x - digamma(1) + digamma(2)
            array([0.30685282, 0.30685282])
        """
        cx, ca = concrete(x), concrete(alpha)
        if unbatched(cx) and unbatched(ca):  # scipy's checks and errors (not per vmap example)
            scipy_stats("dirichlet").logpdf(cx, ca)
        xshape = np.shape(concrete(x))
        K = np.shape(concrete(alpha))[0]
        if xshape[0] != K:  # K - 1 components given: the last is 1 - their sum
            x = fnp.concatenate([x, fnp.subtract(1.0, fnp.sum(x, axis=0, keepdims=True))], axis=0)
        a = fnp.reshape(alpha, (K,) + (1,) * (len(xshape) - 1))
        log_beta = fnp.subtract(fnp.sum(sp.gammaln(alpha)), sp.gammaln(fnp.sum(alpha)))
        out = fnp.subtract(fnp.sum(sp.xlogy(fnp.subtract(a, 1.0), x), axis=0), log_beta)
        return fnp.squeeze(out) if len(xshape) > 1 else out



_ADJUSTS = []


def _multinomial_adjusts_p():
    """Does the installed scipy adjust a ``p`` off the simplex (<= 1.17), or return nan?"""
    if not _ADJUSTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = scipy_stats("multinomial").logpmf([1.0, 0.0], 1, [0.5, 0.4])
        _ADJUSTS.append(bool(np.isfinite(probe)))
    return _ADJUSTS[0]


class multinomial(Multivariate):
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

    _title, _example_argnums = "the multinomial distribution", ", argnums=2"
    _example = ("fnp.array([1.0, 3.0])", 4, "fnp.array([0.25, 0.75])")

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



class multivariate_t(Multivariate):
    """The multivariate t distribution (``scipy.stats.multivariate_t``).

    The last axis of ``x`` is the dimension, as in scipy; ``shape`` is a full
    positive definite matrix (differentiated through its Cholesky factor, so
    only its lower triangle is read, as in ``multivariate_normal``), a vector
    of its diagonal, or one number times the identity.  ``df`` is a scalar;
    ``df = inf`` is the multivariate normal.  Differentiable in ``x``,
    ``loc``, ``shape`` and ``df``.
    """

    _title = "the multivariate t distribution"

    @staticmethod
    def _scipy_takes(args, kwargs):
        """``df = inf`` is fgrad's own (the multivariate normal, through scipy's): scipy
        1.15's multivariate_t raises a TypeError there."""
        df = kwargs.get("df", args[3] if len(args) > 3 else 1)
        try:
            return not np.isposinf(float(df))
        except (TypeError, ValueError):  # not a number: scipy's own error message
            return True

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
        if df is None:
            df = 1
        cdf_ = concrete(df)
        if np.ndim(cdf_) != 0:
            raise ValueError("multivariate_t: 'df' must be a scalar (vmap over it for several)")
        if unbatched(cdf_):
            if np.isnan(cdf_) or cdf_ <= 0:
                raise ValueError(f"'df' must be greater than zero or np.inf, got {cdf_}.")
            if np.isinf(cdf_):  # scipy's limit: the multivariate normal
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
        return fnp.reshape(out, squeezed_shape(batch))

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
        return fnp.exp(multivariate_t.logpdf(x, loc, shape, df))


class wishart(Multivariate):
    """The Wishart distribution of ``p x p`` positive definite matrices (``scipy.stats.wishart``).

    As in scipy, ``X`` is one ``p x p`` matrix or a stack with the matrices
    along the LAST axis (shape ``(p, p, N)``); ``scale`` is a matrix, a vector
    of its diagonal or a number; ``df > p - 1`` is a scalar.  Log determinants
    and ``tr(scale^-1 X)`` use ``slogdet`` and ``solve`` on the full matrices,
    so the derivative in ``X`` (and ``scale``) is the symmetric
    ``(df - p - 1)/2 X^-1 - scale^-1/2``; keep both symmetric positive definite.
    Differentiable in ``X``, ``df`` and ``scale``.
    """

    _title = "the Wishart distribution"
    _example = ("fnp.array([[2.0, 0.3], [0.3, 1.0]])", 4.0, "fnp.eye(2)")

    @staticmethod
    def logpdf(x, df, scale):
        """Log density ``(df-p-1)/2 log|X| - tr(S^-1 X)/2 - df p/2 log 2 - df/2 log|S| - log G_p(df/2)``.

        One value per matrix of the stack ``X`` (a plain float for one matrix).

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> from fgrad.scipy.stats import wishart
            >>> # (df - p - 1)/2 X^-1 - S^-1/2 = 3/2 I - 1/2 I
            >>> fgrad.grad(wishart.logpdf)(fnp.eye(2), 6.0, fnp.eye(2))
            array([[1., 0.],
                   [0., 1.]])
        """
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
        if unbatched(cdf_) and cdf_ <= dim - 1:
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
            if unbatched(m):  # scipy factors both and raises the same LinAlgError
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
            fnp.add(fnp.add(fnp.multiply(half_df, dim * LOG2), fnp.multiply(half_df, logdet_s)),
                    sp.multigammaln(half_df, dim)))
        return fnp.reshape(out, squeezed_shape(np.shape(concrete(xs))[:1]))
