"""Functions written with primitives: differentiable with no rules of their own.

Each one calls numpy itself when no argument is traced (so plain results are
exactly numpy's) and otherwise mirrors numpy's own arithmetic with fgrad
functions, so traced values agree with numpy's to the last bit where the
operations allow it.
"""

import builtins

import numpy as np

from ..core import Tracer, any_tracer, concrete, defprim
from ..primitives.elementwise import (
    _where,
    add,
    astype,
    equal,
    greater,
    imag,
    isnan,
    less,
    less_equal,
    logical_not,
    multiply,
    real,
    sqrt,
    subtract,
)
from ..primitives.elementwise import divide as _divide
from ..primitives.reductions import _NO_VALUE, _norm_axis, amax, amin, mean, prod, sum
from ..primitives.shape import broadcast_to, reshape, transpose

__all__ = [
    "var", "std", "ptp", "average", "nansum", "nanprod", "nanmean", "nanvar", "nanstd",
    "clip", "argmax", "argmin", "nanargmax", "nanargmin", "argsort", "isclose", "allclose",
    "iscomplexobj", "isrealobj", "nonzero", "count_nonzero", "any", "all",
]


_traced = any_tracer


def _no_out(out, name):
    if out is not None:
        raise TypeError(
            f"fgrad.numpy.{name}(..., out=...) would write into an existing array in place; "
            "use the returned value instead"
        )


def _kw(**kwargs):
    return {k: v for k, v in kwargs.items() if v is not _NO_VALUE}


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


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NO_VALUE, *, where=_NO_VALUE,
        mean=_NO_VALUE, correction=_NO_VALUE):
    """Variance (``numpy.var``), with ``ddof`` (or ``correction``), ``where`` and ``mean``.

    ``d var / d x = 2 (x - mean) / (n - ddof)``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.var)(fnp.array([1.0, 3.0]))
        array([-1.,  1.])
    """
    if not _traced(a, mean):
        return np.var(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                      **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    _no_out(out, "var")
    if correction is not _NO_VALUE:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    axis = _norm_axis(axis, np.ndim(concrete(a)))
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
    # numpy's _var: mean with keepdims, centre, square, sum, divide by max(n - ddof, 0)
    if mean is _NO_VALUE:
        n_mean = _count(a, axis, True, where)
        centre = _divide(sum(a, axis=axis, dtype=dtype, keepdims=True, where=where), n_mean)
    else:
        centre = mean
    sq = _squared_magnitude(subtract(a, centre))
    total = sum(sq, axis=axis, dtype=dtype, keepdims=keep, where=where)
    return _divide(total, np.maximum(_count(a, axis, keep, where) - ddof, 0))


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
    if not _traced(a, mean):
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
    if not _traced(a):
        return np.ptp(a, axis=axis, out=out, **_kw(keepdims=keepdims))
    _no_out(out, "ptp")
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
    if not _traced(a, weights):
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
        avg = _divide(sum(multiply(a, wgt), axis=axis, **kw), scl)
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
    if not _traced(a, initial):
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
    if not _traced(a, initial):
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
    out = _divide(total, count)
    dt = np.result_type(concrete(total))
    return out if np.result_type(concrete(out)) == dt else astype(out, dt)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Mean ignoring nan (``numpy.nanmean``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanmean)(fnp.array([1.0, fnp.nan, 3.0]))
        array([0.5, 0. , 0.5])
    """
    if not _traced(a):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out,
                          **_kw(keepdims=keepdims, where=where))
    _no_out(out, "nanmean")
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
    if not _traced(a, mean):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                         **_kw(keepdims=keepdims, where=where, mean=mean, correction=correction))
    _no_out(out, "nanvar")
    if correction is not _NO_VALUE:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    axis = _norm_axis(axis, np.ndim(concrete(a)))
    keep = bool(keepdims) if keepdims is not _NO_VALUE else False
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
    if not _traced(a, mean):
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


def clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE, max=_NO_VALUE,
         **kwargs):
    """Clip values to ``[a_min, a_max]`` (``numpy.clip``; also ``min=``/``max=``).

    The derivative is 1 inside the interval (boundaries included) and flows to
    the bound that is active outside it.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.clip(x, 0.0, 1.0).sum())(fnp.array([-1.0, 0.5, 2.0]))
        array([0., 1., 0.])
    """
    lo = a_min if a_min is not _NO_VALUE else min
    hi = a_max if a_max is not _NO_VALUE else max
    lo = None if lo is _NO_VALUE else lo
    hi = None if hi is _NO_VALUE else hi
    if not _traced(a, lo, hi):
        return np.clip(a, lo, hi, out=out, **kwargs)
    _no_out(out, "clip")
    res = a
    if lo is not None:
        res = _where(less(res, lo), lo, res)
    if hi is not None:
        res = _where(greater(res, hi), hi, res)
    return res


def _nondiff(name, impl):
    return defprim(name, impl, nondiff=True, batch="reduce")


_argmax = _nondiff("argmax", lambda a, axis=None, keepdims=False: np.argmax(a, axis=axis, keepdims=keepdims))
_argmin = _nondiff("argmin", lambda a, axis=None, keepdims=False: np.argmin(a, axis=axis, keepdims=keepdims))
_nanargmax = _nondiff("nanargmax", lambda a, axis=None, keepdims=False: np.nanargmax(a, axis=axis, keepdims=keepdims))
_nanargmin = _nondiff("nanargmin", lambda a, axis=None, keepdims=False: np.nanargmin(a, axis=axis, keepdims=keepdims))
_argsort = _nondiff("argsort", lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable"))


def argmax(a, axis=None, out=None, *, keepdims=False):
    """Indices of the maximum (``numpy.argmax``); integer output, no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.argmax(fnp.array([1.0, 3.0, 2.0])))
        1
    """
    _no_out(out, "argmax")
    return _argmax(a, axis=axis, keepdims=keepdims)


def argmin(a, axis=None, out=None, *, keepdims=False):
    """Indices of the minimum (``numpy.argmin``); integer output, no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.argmin(fnp.array([1.0, 3.0, 2.0])))
        0
    """
    _no_out(out, "argmin")
    return _argmin(a, axis=axis, keepdims=keepdims)


def nanargmax(a, axis=None, out=None, *, keepdims=False):
    """Indices of the maximum ignoring nan (``numpy.nanargmax``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.nanargmax(fnp.array([1.0, fnp.nan, 2.0])))
        2
    """
    _no_out(out, "nanargmax")
    return _nanargmax(a, axis=axis, keepdims=keepdims)


def nanargmin(a, axis=None, out=None, *, keepdims=False):
    """Indices of the minimum ignoring nan (``numpy.nanargmin``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.nanargmin(fnp.array([1.0, fnp.nan, 2.0])))
        0
    """
    _no_out(out, "nanargmin")
    return _nanargmin(a, axis=axis, keepdims=keepdims)


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort the array (``numpy.argsort``, stable); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.argsort(fnp.array([3.0, 1.0, 2.0]))
        array([1, 2, 0])
    """
    return _argsort(a, axis=axis)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.isclose`` on the values (no derivative).

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.isclose(1.0, 1.0 + 1e-12))
        True
    """
    return np.isclose(concrete(a), concrete(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``numpy.allclose`` on the values (no derivative).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.allclose(fnp.ones(2), fnp.ones(2))
        True
    """
    return bool(np.allclose(concrete(a), concrete(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def iscomplexobj(x):
    """True if the value has a complex dtype (``numpy.iscomplexobj``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.iscomplexobj(fnp.ones(2))
        False
    """
    return np.iscomplexobj(concrete(x))


def isrealobj(x):
    """True if the value has no complex dtype (``numpy.isrealobj``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.isrealobj(fnp.ones(2))
        True
    """
    return not iscomplexobj(x)


def nonzero(a):
    """Indices of the non-zero elements (``numpy.nonzero``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.nonzero(fnp.array([0.0, 2.0]))
        (array([1]),)
    """
    return np.nonzero(concrete(a))


def count_nonzero(a, axis=None, *, keepdims=False):
    """Number of non-zero values (``numpy.count_nonzero``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.count_nonzero(fnp.array([0.0, 2.0])))
        1
    """
    return np.count_nonzero(concrete(a), axis=axis, keepdims=keepdims)


def any(a, axis=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Whether any element is true (``numpy.any``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.any(fnp.array([0.0, 2.0]) > 1))
        True
    """
    return np.any(concrete(a), axis=axis, out=out, **_kw(keepdims=keepdims, where=where))


def all(a, axis=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Whether all elements are true (``numpy.all``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.all(fnp.array([0.0, 2.0]) > 1))
        False
    """
    return np.all(concrete(a), axis=axis, out=out, **_kw(keepdims=keepdims, where=where))

