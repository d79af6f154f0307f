"""Statistics and polynomials: cov, corrcoef, polyval, polyfit (composites of rows).

Each function calls numpy itself when no argument holds a tracer, so plain
results are exactly numpy's.  Under a transform it repeats numpy's own steps
with fgrad functions (the same operations in the same order, including the
dtype that numpy's in-place updates keep), so traced values agree with numpy's
and every transform (grad, jvp, higher orders, vmap) applies.
"""

import warnings

import numpy as np

from ..core import concrete
from ..primitives.elementwise import (
    add,
    astype,
    conjugate,
    divide,
    imag,
    multiply,
    real,
    sqrt,
    subtract,
)
from ..primitives.linalg import lstsq as _lstsq_row
from ..primitives.products import diagonal, dot, outer, vander
from ..primitives.reductions import sum as _sum
from ..primitives.shape import concatenate, reshape, squeeze, transpose
from ._composites import average, clip
from ._creation import _contains_tracer, asarray
from .linalg import inv as _inv
from .linalg import lstsq as _lstsq

__all__ = ["cov", "corrcoef", "polyval", "polyfit"]


def _traced(*xs):
    """True if any argument is, or (as a list/tuple) holds, a tracer."""
    return any(_contains_tracer(x) for x in xs)


def _shape(x):
    return np.shape(concrete(x))


def _dtype(x):
    return np.result_type(concrete(x))


def _keep_dtype(new, old):
    """``new`` cast to ``old``'s dtype: what numpy's in-place ``old op= ...`` keeps."""
    dt = _dtype(old)
    return new if _dtype(new) == dt else astype(new, dt)


def _as_2d(a, dtype):
    """``numpy.array(a, ndmin=2, dtype=dtype)`` of a traced (or plain) value."""
    if _dtype(a) != dtype:
        a = astype(a, dtype)
    shape = _shape(a)
    if len(shape) < 2:
        a = reshape(a, (1,) * (2 - len(shape)) + shape)
    return a


# --- cov, corrcoef ------------------------------------------------------------------


def _sample_weights(fweights, aweights, nobs):
    """Check numpy's frequency and analytic weights; return (w, aweights)."""
    w = None
    if fweights is not None:
        if _contains_tracer(fweights):
            raise TypeError(
                "cov: fweights are integer repeat counts and have no derivative, but a traced "
                "value was passed. Pass a plain array (fgrad.stop_gradient(fweights) inside a "
                "transform), or use aweights for weights that should be differentiated."
            )
        fweights = np.asarray(fweights, dtype=float)
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("cov: fweights must be integer counts; round them, or pass "
                            "non-integer weights as aweights")
        if fweights.ndim > 1:
            raise RuntimeError(
                f"cov: fweights must be 1-D (one count per observation); got shape "
                f"{fweights.shape}")
        if fweights.shape[0] != nobs:
            raise RuntimeError(
                f"cov: {fweights.shape[0]} fweights for {nobs} observations; give one "
                "count per observation")
        if np.any(fweights < 0):
            raise ValueError("cov: fweights cannot be negative; use 0 to drop an observation")
        w = fweights
    if aweights is not None:
        aweights = asarray(aweights)
        if _dtype(aweights) != np.float64:
            aweights = astype(aweights, float)
        shape = _shape(aweights)
        if len(shape) > 1:
            raise RuntimeError(
                f"cov: aweights must be 1-D (one weight per observation); got shape {shape}")
        if shape[0] != nobs:
            raise RuntimeError(
                f"cov: {shape[0]} aweights for {nobs} observations; give one weight per "
                "observation")
        if np.any(concrete(aweights) < 0):
            raise ValueError("cov: aweights cannot be negative; use 0 to drop an observation")
        w = aweights if w is None else multiply(w, aweights)
    return w, aweights


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """Covariance matrix (``numpy.cov``); differentiable in ``m``, ``y`` and ``aweights``.

    ``fweights`` are integer repeat counts and take no derivative.  For
    observations ``x_k`` with weights ``w_k`` the result is
    ``sum_k w_k (x_k - avg)(x_k - avg)^T / fact`` (no conjugation of the
    derivative, as everywhere in fgrad).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.cov(fnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        array([[ 1., -1.],
               [-1.,  1.]])
        >>> fgrad.grad(fnp.cov)(fnp.array([1.0, 2.0, 6.0]))  # 2 (x - mean) / (n - 1)
        array([-2., -1.,  3.])
    """
    if not _traced(m, y, aweights, fweights):
        return np.cov(m, y, rowvar=rowvar, bias=bias, ddof=ddof, fweights=fweights,
                      aweights=aweights, dtype=dtype)
    if ddof is not None and ddof != int(ddof):
        raise ValueError(f"cov: ddof must be an integer; got {ddof!r}")
    m = asarray(m)
    if len(_shape(m)) > 2:
        raise ValueError(
            f"cov: m has more than 2 dimensions (shape {_shape(m)}); pass one variable per "
            "row (rowvar=True) or per column (rowvar=False), e.g. reshape it to 2-D")
    if y is not None:
        y = asarray(y)
        if len(_shape(y)) > 2:
            raise ValueError(
                f"cov: y has more than 2 dimensions (shape {_shape(y)}); reshape it to 2-D")
    if dtype is None:
        dtype = (np.result_type(concrete(m), np.float64) if y is None
                 else np.result_type(concrete(m), concrete(y), np.float64))
    dtype = np.dtype(dtype)
    X = _as_2d(m, dtype)
    if not rowvar and len(_shape(m)) != 1:
        X = transpose(X)
    if _shape(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _as_2d(y, dtype)
        if not rowvar and _shape(y)[0] != 1:
            y = transpose(y)
        if _shape(y)[1] != _shape(X)[1]:
            raise ValueError(
                f"cov: m and y hold {_shape(X)[1]} and {_shape(y)[1]} observations; they "
                "must have the same number (check rowvar)")
        X = concatenate((X, y), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _shape(X)[1]
    w, aweights = _sample_weights(fweights, aweights, nobs)

    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = nobs - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = subtract(w_sum, ddof)
    else:
        fact = subtract(w_sum, divide(multiply(ddof, _sum(multiply(w, aweights))), w_sum))
    if np.all(concrete(fact) <= 0):
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    X = _keep_dtype(subtract(X, reshape(avg, (-1, 1))), X)
    X_T = transpose(X) if w is None else transpose(multiply(X, w))
    if np.iscomplexobj(concrete(X_T)):
        X_T = conjugate(X_T)
    c = dot(X, X_T)
    c = _keep_dtype(multiply(c, divide(1, fact)), c)
    return squeeze(c)


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """Pearson correlation coefficients (``numpy.corrcoef``): ``cov`` scaled by the
    standard deviations, with the real (and imaginary) parts clipped to [-1, 1].

    The clipping only removes rounding error: the diagonal, identically 1, has
    zero derivative, and entries of exactly correlated variables are clipped.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.corrcoef(fnp.array([1.0, 2.0, 3.0]), fnp.array([1.0, 3.0, 2.0]))
        array([[1. , 0.5],
               [0.5, 1. ]])
        >>> g = fgrad.grad(lambda y: fnp.corrcoef(fnp.array([1.0, 2.0, 3.0]), y)[0, 1])
        >>> g(fnp.array([1.0, 3.0, 2.0]))
        array([-0.25, -0.25,  0.5 ])
    """
    if not _traced(x, y):
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if len(_shape(c)) != 2:  # a single variable: nan for a zero/nan/inf variance, else 1
        return divide(c, c)
    stddev = sqrt(real(diagonal(c)))
    c = _keep_dtype(divide(c, reshape(stddev, (-1, 1))), c)
    c = _keep_dtype(divide(c, reshape(stddev, (1, -1))), c)
    if np.iscomplexobj(concrete(c)):
        re, im = clip(real(c), -1, 1), clip(imag(c), -1, 1)
        return _keep_dtype(add(re, multiply(1j, im)), c)
    return clip(c, -1, 1)


# --- polyval, polyfit -------------------------------------------------------------


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
