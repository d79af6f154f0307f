"""Polynomials: evaluation (polyval, by Horner's scheme) and least-squares
fitting (polyfit), differentiable in the coefficients, the points and the weights.

Each calls numpy itself when no argument is traced; under a transform it
repeats numpy's steps with fgrad functions (including the dtypes numpy's
in-place updates keep), so traced values agree with numpy's.
"""

import warnings

import numpy as np

from ..core import concrete
from ..primitives.elementwise import add, astype, divide, multiply, sqrt
from ..primitives.linalg import lstsq as _lstsq_row
from ..primitives.products import dot, outer, vander
from ..primitives.reductions import sum as _sum
from ..primitives.shape import reshape, transpose
from ._arguments import _dtype, _shape, _traced
from ._creation import asarray
from ._statistics import _keep_dtype
from .linalg import inv as _inv
from .linalg import lstsq as _lstsq

__all__ = ["polyval", "polyfit"]


def polyval(p, x):
    """Evaluate a polynomial (``numpy.polyval``) by Horner's scheme,
    ``p[0] * x**(n-1) + ... + p[n-1]``; differentiable in ``p`` and ``x``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> float(fnp.polyval(fnp.array([1.0, 0.0, -2.0]), 3.0))  # x**2 - 2
        7.0
        >>> float(fgrad.grad(fnp.polyval, argnums=1)(fnp.array([1.0, 0.0, -2.0]), 3.0))
        6.0
    """
    if not _traced(p, x):
        return np.polyval(p, x)
    if isinstance(x, np.poly1d):
        raise TypeError(
            "polyval: composing with a numpy.poly1d is not differentiable; pass the "
            "points as an array (or use numpy.polyval on plain values)")
    p, x = asarray(p), asarray(x)
    if not _shape(p):
        raise TypeError(
            "polyval: p must be a 1-D sequence of coefficients, highest degree first; "
            "got a 0-d value (write [p] for a constant polynomial)")
    # numpy: y = zeros_like(x); for pv in p: y = y * x + pv
    y = np.zeros(_shape(x), dtype=_dtype(x))
    for k in range(_shape(p)[0]):
        y = add(multiply(y, x), p[k])
    return y


def _rank_warning():
    exceptions = getattr(np, "exceptions", np)
    return getattr(exceptions, "RankWarning", RuntimeWarning)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit (``numpy.polyfit``), coefficients highest degree
    first; differentiable in ``x``, ``y`` and ``w``.

    As numpy does, the columns of the Vandermonde matrix are scaled to unit norm
    before ``linalg.lstsq``; the derivative is that of the least-squares
    solution and assumes the rank does not change nearby.  ``full=True`` returns
    ``(coefficients, residuals, rank, singular_values, rcond)`` (rank and rcond
    plain numbers; residuals and singular values differentiable like those of
    ``linalg.lstsq``), and ``cov=True`` (or ``"unscaled"``) also the covariance
    of the coefficients.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([0.0, 1.0, 2.0])
        >>> fnp.polyfit(x, fnp.array([1.0, 3.0, 5.0]), 1).round(12)
        array([2., 1.])
        >>> fgrad.grad(lambda y: fnp.polyfit(x, y, 1)[0])(fnp.array([1.0, 3.0, 5.0])).round(12)
        array([-0.5,  0. ,  0.5])
    """
    if not _traced(x, y, w):
        return np.polyfit(x, y, deg, rcond=rcond, full=full, w=w, cov=cov)
    order = int(deg) + 1
    x, y = add(asarray(x), 0.0), add(asarray(y), 0.0)
    if deg < 0:
        raise ValueError(f"polyfit: expected deg >= 0; got {deg}")
    xs, ys = _shape(x), _shape(y)
    if len(xs) != 1:
        raise TypeError(f"polyfit: expected a 1-D vector for x; got shape {xs}")
    if xs[0] == 0:
        raise TypeError("polyfit: expected a non-empty vector for x")
    if len(ys) < 1 or len(ys) > 2:
        raise TypeError(
            f"polyfit: expected a 1-D or 2-D array for y (one column per data set); got shape "
            f"{ys}")
    if xs[0] != ys[0]:
        raise TypeError(
            f"polyfit: expected x and y to have the same length; got {xs[0]} and {ys[0]}")
    if rcond is None:
        rcond = xs[0] * np.finfo(_dtype(x)).eps
    # numpy's vander computes in promote_types(x.dtype, int): float64 for float32 x
    vdt = np.promote_types(_dtype(x), np.int_)
    lhs, rhs = vander(x if _dtype(x) == vdt else astype(x, vdt), order), y
    if w is not None:
        w = add(asarray(w), 0.0)
        if len(_shape(w)) != 1:
            raise TypeError(f"polyfit: expected a 1-D array for the weights w; got shape "
                            f"{_shape(w)}")
        if _shape(w)[0] != ys[0]:
            raise TypeError(
                f"polyfit: expected w and y to have the same length; got {_shape(w)[0]} and "
                f"{ys[0]}")
        w_col = reshape(w, (-1, 1))
        lhs = _keep_dtype(multiply(lhs, w_col), lhs)
        rhs = _keep_dtype(multiply(rhs, w_col if len(ys) == 2 else w), rhs)
    scale = sqrt(_sum(multiply(lhs, lhs), axis=0))
    lhs = _keep_dtype(divide(lhs, scale), lhs)
    if full or cov:
        c, resids, rank, s = _lstsq(lhs, rhs, rcond)
    else:
        # the row alone (it batches under vmap); numpy's rank test is lstsq's cutoff
        # s > rcond * max(s), which matrix_rank applies with rtol=rcond
        c = _lstsq_row(lhs, rhs, rcond=rcond)
        rank = np.linalg.matrix_rank(concrete(lhs), rtol=rcond)
    c = transpose(divide(transpose(c), scale))
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", _rank_warning(), stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if not cov:
        return c
    vbase = divide(_inv(dot(transpose(lhs), lhs)), outer(scale, scale))
    if cov == "unscaled":
        fac = 1
    else:
        if xs[0] <= order:
            raise ValueError(
                f"polyfit: the number of data points ({xs[0]}) must exceed order ({order}) "
                "to scale the covariance matrix; pass cov='unscaled' or more points")
        fac = divide(resids, xs[0] - order)
    if len(ys) == 1:
        return c, multiply(vbase, fac)
    return c, multiply(reshape(vbase, _shape(vbase) + (1,)), fac)
