"""Statistics: variance, standard deviation, range, weighted average, the
nan-ignoring sums, products, means, variances and standard deviations, and
covariance and correlation matrices.

Each function calls numpy itself when no argument is traced (so plain results
are exactly numpy's) and otherwise repeats numpy's own steps with fgrad
functions: the same operations in the same order, including the dtype that
numpy's in-place updates keep, so traced values agree with numpy's to the last
bit where the operations allow it, and every transform applies.
"""

import builtins
import warnings

import numpy as np

from ..core import Tracer, any_tracer, concrete, refuse_out
from ..primitives.elementwise import (
    _where,
    add,
    astype,
    conjugate,
    divide,
    equal,
    imag,
    isnan,
    less_equal,
    logical_not,
    multiply,
    real,
    sqrt,
    subtract,
)
from ..primitives.products import diagonal, dot
from ..primitives.reductions import _NO_VALUE, _norm_axis, amax, amin, mean, prod, sum
from ..primitives.shape import broadcast_to, concatenate, reshape, squeeze, transpose
from ._arguments import _contains_tracer, _dtype, _kw, _shape, _traced
from ._creation import asarray
from ._piecewise import clip

__all__ = [
    "var", "std", "ptp", "average", "nansum", "nanprod", "nanmean", "nanvar", "nanstd",
    "cov", "corrcoef",
]


def _count(a, axis, keepdims, where):
    """Elements per output (numpy's ``_count_reduce_items``): an int or an array."""
    shape = np.shape(concrete(a))
    axes = range(len(shape)) if axis is None else (
        axis if isinstance(axis, tuple) else (axis,))
    if where is _NO_VALUE or where is True:
        return int(np.prod([shape[i] for i in axes], dtype=np.int64))
    mask = np.broadcast_to(concrete(where), shape)
    return np.sum(mask, axis=axis, dtype=np.intp, keepdims=keepdims)


def _squared_magnitude(x):
    if np.iscomplexobj(concrete(x)):
        re, im = real(x), imag(x)
        return add(multiply(re, re), multiply(im, im))
    return multiply(x, x)


def _variance_options(name, a, axis, out, ddof, keepdims, correction):
    """``(ddof, axis, keepdims)`` of a traced var/nanvar call, as numpy reads them."""
    refuse_out(out, name)
    if correction is not _NO_VALUE:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    axis = _norm_axis(axis, np.ndim(concrete(a)))
    return ddof, axis, bool(keepdims) if keepdims is not _NO_VALUE else False


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
        mean=_NO_VALUE, correction=_NO_VALUE):
    """Variance (``numpy.var``), with ``ddof`` (or ``correction``), ``where`` and ``mean``.

    ``d var / d x = 2 (x - mean) / (n - ddof)``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.var)(fnp.array([1.0, 3.0]))
        array([-1.,  1.])
    """
    if not any_tracer(a, mean):
        return np.var(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                      **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    ddof, axis, keep = _variance_options("var", a, axis, out, ddof, keepdims, correction)
    # numpy's _var: mean with keepdims, centre, square, sum, divide by max(n - ddof, 0)
    if mean is _NO_VALUE:
        n_mean = _count(a, axis, True, where)
        centre = divide(sum(a, axis=axis, dtype=dtype, keepdims=True, where=where), n_mean)
    else:
        centre = mean
    sq = _squared_magnitude(subtract(a, centre))
    total = sum(sq, axis=axis, dtype=dtype, keepdims=keep, where=where)
    return divide(total, np.maximum(_count(a, axis, keep, where) - ddof, 0))


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
        mean=_NO_VALUE, correction=_NO_VALUE):
    """Standard deviation (``numpy.std``): ``sqrt(var(...))``, with the same options.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> float(fnp.std(fnp.array([1.0, 3.0])))
        1.0
        >>> fgrad.grad(lambda x: fnp.std(x, ddof=1))(fnp.array([1.0, 3.0]))
        array([-0.70710678,  0.70710678])
    """
    if not any_tracer(a, mean):
        return np.std(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                      **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    v = var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
            mean=mean, correction=correction)
    if mean is not _NO_VALUE:
        return sqrt(v)
    # Where a slice holds one element, the variance is identically 0 (or nan when
    # ddof >= 1): the centred value x - mean(x) is x - x.  sqrt at 0 has an infinite
    # slope, so sqrt(v) would give 0 * inf = nan derivatives; v itself has the same
    # value there (sqrt(0) = 0, sqrt(nan) = nan) and the right derivative (0).
    n = _count(a, _norm_axis(axis, np.ndim(concrete(a))),
               bool(keepdims) if keepdims is not _NO_VALUE else False, where)
    single = np.equal(n, 1)
    if not np.any(single):
        return sqrt(v)
    if np.all(single):
        return v
    return _where(single, v, sqrt(_where(single, 1.0, v)))


def ptp(a, axis=None, out=None, keepdims=_NO_VALUE):
    """Range of values, ``max - min`` (``numpy.ptp``); ties share the derivative.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.ptp)(fnp.array([2.0, 5.0, 1.0]))
        array([ 0.,  1., -1.])
    """
    if not any_tracer(a):
        return np.ptp(a, axis=axis, out=out, **_kw(keepdims=keepdims))
    refuse_out(out, "ptp")
    return subtract(amax(a, axis=axis, keepdims=keepdims), amin(a, axis=axis, keepdims=keepdims))


def average(a, axis=None, weights=None, returned=False, *, keepdims=_NO_VALUE):
    """Weighted average (``numpy.average``); differentiable in ``a`` and in ``weights``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> w = fnp.array([1.0, 3.0])
        >>> float(fnp.average(fnp.array([1.0, 2.0]), weights=w))
        1.75
        >>> fgrad.grad(lambda w: fnp.average(fnp.array([1.0, 2.0]), weights=w))(w)
        array([-0.1875,  0.0625])
    """
    if not any_tracer(a, weights):
        return np.average(a, axis=axis, weights=weights, returned=returned,
                          **_kw(keepdims=keepdims))

    ndim = np.ndim(concrete(a))
    shape = np.shape(concrete(a))
    if axis is not None:
        axis = tuple(sorted(_norm_axis(ax, ndim) for ax in (
            axis if isinstance(axis, (tuple, list)) else (axis,))))
        if len(set(axis)) != len(axis):
            raise ValueError("repeated axis")
    kw = {} if keepdims is _NO_VALUE else {"keepdims": keepdims}
    if weights is None:
        avg = mean(a, axis=axis, **kw)
        scl = np.result_type(concrete(avg)).type(
            np.size(concrete(a)) / builtins.max(np.size(concrete(avg)), 1))
    else:
        wgt = weights
        wshape = np.shape(concrete(wgt))
        if wshape != shape:
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if wshape != tuple(shape[ax] for ax in axis):
                raise ValueError(
                    "Shape of weights must be consistent with shape of a along specified axis.")
            wgt = transpose(wgt, tuple(np.argsort(axis)))
            wgt = reshape(wgt, tuple(s if ax in axis else 1 for ax, s in enumerate(shape)))
        scl = sum(wgt, axis=axis, **kw)
        if np.any(concrete(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = divide(sum(multiply(a, wgt), axis=axis, **kw), scl)
    if not returned:
        return avg
    if np.shape(concrete(scl)) != np.shape(concrete(avg)):
        if isinstance(scl, Tracer):
            scl = broadcast_to(scl, np.shape(concrete(avg)))
        else:
            scl = np.broadcast_to(scl, np.shape(concrete(avg))).copy()
    return avg, scl


# --- nan-ignoring reductions -------------------------------------------------------


def _replace_nan(a, value):
    return _where(isnan(a), value, a)


def nansum(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE,
           where=_NO_VALUE):
    """Sum treating nan as 0 (``numpy.nansum``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nansum)(fnp.array([1.0, fnp.nan]))
        array([1., 0.])
    """
    if not any_tracer(a, initial):
        return np.nansum(a, axis=axis, dtype=dtype, out=out,
                         **_kw(keepdims=keepdims, initial=initial, where=where))
    return sum(_replace_nan(a, 0), axis=axis, dtype=dtype, out=out, keepdims=keepdims,
               initial=initial, where=where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE,
            where=_NO_VALUE):
    """Product treating nan as 1 (``numpy.nanprod``); exact at zeros like ``prod``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanprod)(fnp.array([2.0, fnp.nan, 3.0]))
        array([3., 0., 2.])
    """
    if not any_tracer(a, initial):
        return np.nanprod(a, axis=axis, dtype=dtype, out=out,
                          **_kw(keepdims=keepdims, initial=initial, where=where))
    return prod(_replace_nan(a, 1), axis=axis, dtype=dtype, out=out, keepdims=keepdims,
                initial=initial, where=where)


def _nan_count(a, axis, keepdims, where):
    """Non-nan elements per output (an integer array; batched under vmap)."""
    ok = astype(logical_not(isnan(a)), np.intp)
    return sum(ok, axis=axis, keepdims=keepdims, where=where)


def _divide_by_count(total, count):
    # numpy's _divide_by_count: the division keeps the dtype of the total
    out = divide(total, count)
    dt = np.result_type(concrete(total))
    return out if np.result_type(concrete(out)) == dt else astype(out, dt)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Mean ignoring nan (``numpy.nanmean``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanmean)(fnp.array([1.0, fnp.nan, 3.0]))
        array([0.5, 0. , 0.5])
    """
    if not any_tracer(a):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out,
                          **_kw(keepdims=keepdims, where=where))
    refuse_out(out, "nanmean")
    axis = _norm_axis(axis, np.ndim(concrete(a)))
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
    tot = sum(_replace_nan(a, 0), axis=axis, dtype=dtype, keepdims=keep, where=where)
    return _divide_by_count(tot, _nan_count(a, axis, keep, where))


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
           mean=_NO_VALUE, correction=_NO_VALUE):
    """Variance ignoring nan (``numpy.nanvar``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanvar)(fnp.array([1.0, fnp.nan, 3.0]))
        array([-1.,  0.,  1.])
    """
    if not any_tracer(a, mean):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                         **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    ddof, axis, keep = _variance_options("nanvar", a, axis, out, ddof, keepdims, correction)
    nan = isnan(a)
    arr = _replace_nan(a, 0)
    if mean is _NO_VALUE:
        cnt = _nan_count(a, axis, True, where)
        avg = _divide_by_count(sum(arr, axis=axis, dtype=dtype, keepdims=True, where=where), cnt)
    else:
        avg = mean
    centred = _where(nan, 0, subtract(arr, avg))
    total = sum(_squared_magnitude(centred), axis=axis, dtype=dtype, keepdims=keep, where=where)
    dof = subtract(_nan_count(a, axis, keep, where), ddof)
    return _where(less_equal(dof, 0), np.nan, _divide_by_count(total, dof))


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
           mean=_NO_VALUE, correction=_NO_VALUE):
    """Standard deviation ignoring nan (``numpy.nanstd``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> float(fnp.nanstd(fnp.array([1.0, fnp.nan, 3.0])))
        1.0
    """
    if not any_tracer(a, mean):
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                         **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    v = nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, where=where,
               mean=mean, correction=correction)
    if mean is not _NO_VALUE:
        return sqrt(v)
    # as in std: where one non-nan element is left, the variance is identically 0 and
    # its own value and derivative are the right ones (sqrt's slope at 0 is infinite)
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
    single = equal(_nan_count(a, _norm_axis(axis, np.ndim(concrete(a))), keep, where), 1)
    return _where(single, v, sqrt(_where(single, 1.0, v)))


# --- cov, corrcoef ------------------------------------------------------------------


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
        fact = subtract(w_sum, divide(multiply(ddof, sum(multiply(w, aweights))), w_sum))
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
