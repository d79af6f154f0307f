"""Sorting, searching and counting: argmax/argmin (and their nan-ignoring forms),
argsort, nonzero, count_nonzero, unique, digitize and bincount.

Their integer results carry no derivative (the arg* functions are rows marked
``nondiff``); ``unique`` gathers the unique values, so they are differentiable,
and ``bincount``'s weights are scatter-added, so they are too.  Each function
calls numpy itself when no argument is traced.
"""

import numpy as np

from .. import shapes as _shp
from ..core import BatchedValueError, concrete, defprim, is_batched, refuse_out
from ..primitives.elementwise import astype, examples_of, subtract
from ..primitives.indexing import _searchsorted, take
from ..primitives.shape import getitem, index_add, ravel
from ._arguments import _dtype, _ndim, _plain, _shape, _traced
from ._creation import asarray

__all__ = [
    "argmax", "argmin", "nanargmax", "nanargmin", "argsort", "nonzero", "count_nonzero",
    "unique", "digitize", "bincount",
]


def _nondiff(name, impl, shape):
    return defprim(name, impl, nondiff=True, batch="reduce", shape=shape)


_argsort = _nondiff("argsort", lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable"),
                    _shp.along(out_dtype=np.dtype(np.intp), axis_default=-1))

# name -> (what it finds, sample input, the index it gives): one row and one public
# function each, with numpy's signature
_ARG_REDUCTIONS = {
    "argmax": ("the maximum", "[1.0, 3.0, 2.0]", 1),
    "argmin": ("the minimum", "[1.0, 3.0, 2.0]", 0),
    "nanargmax": ("the maximum ignoring nan", "[1.0, fnp.nan, 2.0]", 2),
    "nanargmin": ("the minimum ignoring nan", "[1.0, fnp.nan, 2.0]", 0),
}


def _arg_reduction(name, what, sample, index):
    np_fn = getattr(np, name)
    row = _nondiff(name, lambda a, axis=None, keepdims=False: np_fn(a, axis=axis,
                                                                    keepdims=keepdims),
                   _shp.reduction(np_fn, out_dtype=np.dtype(np.intp)))

    def arg_reduction(a, axis=None, out=None, *, keepdims=False):
        refuse_out(out, name)
        return row(a, axis=axis, keepdims=keepdims)

    arg_reduction.__name__ = arg_reduction.__qualname__ = name
    arg_reduction.__doc__ = (
        f"Indices of {what} (``numpy.{name}``); integer output, no derivative.\n\n"
        f"    Example:\n        >>> import fgrad.numpy as fnp\n"
        f"        >>> int(fnp.{name}(fnp.array({sample})))\n        {index}\n")
    return arg_reduction


argmax, argmin, nanargmax, nanargmin = (
    _arg_reduction(name, *spec) for name, spec in _ARG_REDUCTIONS.items())


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Indices that sort the array (``numpy.argsort``, stable); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.argsort(fnp.array([3.0, 1.0, 2.0]))
        array([1, 2, 0])
    """
    return _argsort(a, axis=axis)


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


# --- unique ----------------------------------------------------------------------------


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True):
    """The unique elements (``numpy.unique``), and optionally where they come from.

    The unique values are a gather of ``ar`` at the first occurrence of each, so
    they are differentiable in ``ar``; the index, inverse and count outputs are
    plain integers.  The number of unique values depends on the values, so
    ``unique`` cannot run on an array batched by ``vmap``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([3.0, 1.0, 3.0])
        >>> fnp.unique(x)
        array([1., 3.])
        >>> fgrad.grad(lambda x: (fnp.unique(x) * fnp.array([1.0, 10.0])).sum())(x)
        array([10.,  1.,  0.])
    """
    # `sorted` only when not the default: numpy < 2.3 has no such keyword
    extra = {} if sorted is True else {"sorted": sorted}
    if not _traced(ar):
        return np.unique(ar, return_index=return_index, return_inverse=return_inverse,
                         return_counts=return_counts, axis=axis, equal_nan=equal_nan, **extra)
    ar = asarray(ar)
    if is_batched(ar):
        raise BatchedValueError(
            "fgrad.numpy.unique: the number of unique values depends on the values of the "
            "array, which is batched by fgrad.vmap, so the examples cannot share one output "
            "shape. Call unique outside vmap, or loop over the examples in Python "
            "([fnp.unique(a) for a in xs]); for a fixed-size result, sort instead "
            "(fnp.sort) and mark repeats with fnp.diff."
        )
    found = np.unique(concrete(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=equal_nan, **extra)
    first = found[1]
    values = getitem(ravel(ar), first) if axis is None else take(ar, first, axis=axis)
    if not (return_index or return_inverse or return_counts):
        return values
    out = [values]
    if return_index:
        out.append(first)
    out.extend(found[2:])
    return tuple(out)


# --- digitize / bincount (integer layouts) -------------------------------------------


def _monotonicity(b):
    """1 (non-decreasing), -1 (non-increasing) or 0 for one example's 1-d bins."""
    d = np.diff(b)
    if np.all(d >= 0):
        return 1
    if np.all(d <= 0):
        return -1
    return 0


def digitize(x, bins, right=False):
    """Indices of the bins each value falls in (``numpy.digitize``); integer output,
    no derivative.  Bins may be increasing or decreasing.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> bins = fnp.array([0.0, 1.0, 2.0])
        >>> fnp.digitize(fnp.array([-0.5, 0.5, 1.0, 3.0]), bins)
        array([0, 1, 2, 3])
        >>> fgrad.grad(lambda x: fnp.digitize(x, bins) * x)(1.5)
        np.float64(2.0)
    """
    if not _traced(x, bins):
        return np.digitize(x, bins, right=right)
    x, bins = asarray(x), asarray(bins)
    if _dtype(x).kind == "c":
        raise TypeError("digitize: x may not be complex (compare real or imaginary parts)")
    if _ndim(bins) != 1:
        raise ValueError(
            f"digitize: bins must be a 1-d array, got {_ndim(bins)} dimensions; "
            "pass a flat sorted array of bin edges"
        )
    mono = {_monotonicity(e) for e in examples_of(bins)}
    if mono == {0} or len(mono) != 1:
        raise ValueError(
            "digitize: bins must be monotonically increasing or decreasing"
            + (" (in every example of the vmap)" if len(mono) != 1 else "")
            + "; sort them first (fnp.sort)"
        )
    side = "left" if right else "right"
    if mono == {-1}:
        n = _shape(bins)[0]
        return subtract(n, _searchsorted(getitem(bins, slice(None, None, -1)), x, side=side))
    return _searchsorted(bins, x, side=side)


def bincount(x, weights=None, minlength=0):
    """Count (or sum ``weights`` over) each non-negative integer (``numpy.bincount``).

    ``x`` carries no derivative; the weights do: the result is a scatter-add of
    the weights, so the cotangent of ``weights[i]`` is the cotangent of bin ``x[i]``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([0, 2, 2])
        >>> fnp.bincount(x, fnp.array([1.0, 2.0, 3.0]))
        array([1., 0., 5.])
        >>> fgrad.grad(lambda w: (fnp.bincount(x, w) ** 2).sum())(fnp.array([1.0, 2.0, 3.0]))
        array([ 2., 10., 10.])
    """
    if not _traced(x, weights, minlength):
        return np.bincount(x, weights, minlength)
    xv = _plain(x, "bincount", "x")
    counts = np.bincount(xv, minlength=int(_plain(minlength, "bincount", "minlength")))
    weights = None if weights is None else asarray(weights)
    if weights is None or xv.size == 0 and _shape(weights) == xv.shape:
        return counts  # numpy's zero-length case also ignores the weights' dtype
    if _shape(weights) != xv.shape:
        raise ValueError(
            f"bincount: weights (shape {_shape(weights)}) and x (shape {xv.shape}) must "
            "have the same length"
        )
    if _dtype(weights).kind == "c":
        raise TypeError(
            "bincount: complex weights are not supported (numpy casts weights to float64); "
            "count the real and imaginary parts separately"
        )
    if _dtype(weights) != np.float64:
        weights = astype(weights, np.float64)
    return index_add(np.zeros(counts.shape, dtype=np.float64), weights,
                     idx=xv.astype(np.intp))
