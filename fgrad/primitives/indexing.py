"""Indexing functions written with ``getitem``, ``where`` and the shape rows.

``take``, ``take_along_axis``, ``choose``, ``compress``, ``select``, ``sort``,
``partition`` and ``interp`` gather from their inputs with index arrays that are
computed from the (concrete) values, so their derivatives are the ones of
``getitem`` (a scatter-add) and of elementwise arithmetic.  The indices
themselves (``argsort``, ``argpartition``, ``searchsorted``) carry no
derivative.
"""

import numpy as np

from ..core import Tracer, concrete, defprim
from .elementwise import add, divide, mod, multiply, subtract, where
from .shape import (
    _axis,
    broadcast_to,
    concatenate,
    getitem,
    ravel,
    reshape,
    stack,
)

__all__ = [
    "take", "take_along_axis", "choose", "compress", "select", "sort", "partition",
    "argpartition", "searchsorted", "interp",
]


def _traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


def _shape(x):
    return np.shape(concrete(x))


def _ndim(x):
    return np.ndim(concrete(x))


def _int_index(indices):
    idx = np.asarray(concrete(indices))
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            return idx.astype(np.intp)
        raise IndexError("arrays used as indices must be of integer type")
    return idx


def take(a, indices, axis=None, out=None, mode="raise"):
    """Elements along an axis (``numpy.take``); repeated indices accumulate
    in the cotangent.  ``mode`` is ``'raise'``, ``'wrap'`` or ``'clip'``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.take(x, [0, 0, 2]).sum())(fnp.ones(3))
        array([2., 0., 1.])
    """
    if not _traced(a):
        return np.take(a, concrete(indices), axis=axis, out=out, mode=mode)
    if out is not None:
        raise TypeError("take(..., out=...) cannot write a traced value in place")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, _ndim(a))
    n = _shape(a)[axis]
    idx = _int_index(indices)
    if mode == "wrap":
        idx = np.mod(idx, n)
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif mode != "raise":
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    return getitem(a, (slice(None),) * axis + (idx,))


def _along_axis_index(shape, indices, axis):
    """The fancy index that ``take_along_axis`` reads (numpy's own construction)."""
    nd = len(shape)
    out = []
    for d in range(nd):
        if d == axis:
            out.append(indices)
        else:
            view = [1] * nd
            view[d] = shape[d]
            out.append(np.arange(shape[d]).reshape(view))
    return tuple(out)


def take_along_axis(arr, indices, axis=-1):
    """Gather values along an axis with an index array of matching rank
    (``numpy.take_along_axis``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([[3.0, 1.0], [2.0, 5.0]])
        >>> fnp.take_along_axis(x, fnp.argsort(x, axis=1), axis=1)
        array([[1., 3.],
               [2., 5.]])
    """
    if not _traced(arr):
        return np.take_along_axis(arr, concrete(indices), axis=axis)
    idx = _int_index(indices)
    if axis is None:
        if idx.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = ravel(arr), 0
    nd = _ndim(arr)
    if idx.ndim != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    axis = _axis(axis, nd)
    return getitem(arr, _along_axis_index(_shape(arr), idx, axis))


def choose(a, choices, out=None, mode="raise"):
    """Pick, elementwise, from one of several arrays (``numpy.choose``).

    ``a`` (integers) and the choices broadcast together; ``mode`` is
    ``'raise'``, ``'wrap'`` or ``'clip'``.  Only the chosen entries get a cotangent.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.choose([1, 0], [fnp.zeros(2), fnp.ones(2)])
        array([1., 0.])
    """
    if isinstance(choices, Tracer):
        choices = [choices[i] for i in range(len(choices))]
    choices = list(choices)
    if not _traced(a, *choices):
        return np.choose(concrete(a), choices, out=out, mode=mode)
    idx = _int_index(a)
    n = len(choices)
    if mode == "wrap":
        idx = np.mod(idx, n)
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif mode == "raise":
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError("invalid entry in choice array")
    else:
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    shape = np.broadcast_shapes(idx.shape, *(_shape(c) for c in choices))
    stacked = stack([broadcast_to(c, shape) for c in choices])
    picked = take_along_axis(stacked, np.broadcast_to(idx, shape)[None], axis=0)
    return reshape(picked, shape)


def compress(condition, a, axis=None, out=None):
    """The slices of ``a`` where ``condition`` is true (``numpy.compress``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.compress([False, True], fnp.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)
        array([[3., 4.]])
    """
    cond = np.asarray(concrete(condition), dtype=bool)
    if not _traced(a):
        return np.compress(cond, a, axis=axis, out=out)
    if cond.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, _ndim(a))
    return take(a, np.flatnonzero(cond), axis=axis)


def select(condlist, choicelist, default=0):
    """Elementwise, the choice of the first true condition (``numpy.select``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([-1.0, 2.0])
        >>> fgrad.grad(lambda x: fnp.select([x < 0, x > 0], [-x, x ** 2]).sum())(x)
        array([-1.,  4.])
    """
    condlist, choicelist = list(condlist), list(choicelist)
    if not _traced(*choicelist, default):
        return np.select([concrete(c) for c in condlist], choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    conds = [np.asarray(concrete(c)) for c in condlist]
    for i, c in enumerate(conds):
        if c.dtype != bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    out = default
    for c, v in zip(reversed(conds), reversed(choicelist)):
        out = where(c, v, out)
    shape = np.broadcast_shapes(*(c.shape for c in conds), *(_shape(v) for v in choicelist),
                                _shape(default))
    return broadcast_to(out, shape) if _shape(out) != shape else out


def _argpartition_impl(a, kth, axis=-1):
    return np.argpartition(a, kth, axis=axis)


_argpartition = defprim("argpartition", _argpartition_impl, nondiff=True, batch=None)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition the array (``numpy.argpartition``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> x = fnp.array([3.0, 1.0, 2.0])
        >>> float(x[fnp.argpartition(x, 1)][1])
        2.0
    """
    return _argpartition(a, kth, axis=axis)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion indices that keep ``a`` sorted (``numpy.searchsorted``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.searchsorted(fnp.array([1.0, 2.0, 3.0]), 2.5)
        np.int64(2)
    """
    return np.searchsorted(concrete(a), concrete(v), side=side, sorter=concrete(sorter))


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted copy (``numpy.sort``); the values are differentiable.

    The derivative moves with the values: it is the gather by the (stable)
    sorting permutation.  Tied values each receive the cotangent of the
    position they were sorted to.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([3.0, 1.0, 2.0])
        >>> fgrad.grad(lambda x: (fnp.sort(x) * fnp.arange(3.0)).sum())(x)
        array([2., 0., 1.])
    """
    if not _traced(a):
        return np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    if order is not None:
        raise ValueError("sort: `order` applies to structured arrays, which cannot be traced")
    if axis is None:
        a, axis = ravel(a), 0
    idx = np.argsort(concrete(a), axis=axis, kind="stable")
    return take_along_axis(a, idx, axis)


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """Partially sorted copy (``numpy.partition``); values differentiable.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.partition(fnp.array([3.0, 1.0, 2.0]), 0)[0]
        np.float64(1.0)
    """
    if not _traced(a):
        return np.partition(a, kth, axis=axis, kind=kind, order=order)
    if axis is None:
        a, axis = ravel(a), 0
    idx = np.argpartition(concrete(a), kth, axis=axis, kind=kind)
    return take_along_axis(a, idx, axis)


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation (``numpy.interp``).

    Differentiable in ``x`` (the slope of the segment ``x`` falls in; at a knot,
    the segment to its right; 0 outside ``[xp[0], xp[-1]]``), in ``fp``, in
    ``left``/``right`` and in ``xp``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> xp, fp = fnp.array([0.0, 1.0, 3.0]), fnp.array([0.0, 2.0, 3.0])
        >>> float(fnp.interp(2.0, xp, fp))
        2.5
        >>> float(fgrad.grad(fnp.interp)(2.0, xp, fp))
        0.5
    """
    if not _traced(x, xp, fp, left, right):
        return np.interp(x, xp, fp, left=left, right=right, period=period)
    if _ndim(xp) != 1 or _ndim(fp) != 1:
        raise ValueError("interp: xp and fp must be 1-D sequences")
    if _shape(xp) != _shape(fp):
        raise ValueError("fp and xp are not of the same length.")
    if _shape(xp)[0] == 0:
        raise ValueError("array of sample points is empty")
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        x = mod(x, period)
        xp = mod(xp, period)
        order = np.argsort(concrete(xp), kind="stable")
        xp, fp = getitem(xp, order), getitem(fp, order)
        xp = concatenate([subtract(getitem(xp, slice(-1, None)), period), xp,
                          add(getitem(xp, slice(0, 1)), period)])
        fp = concatenate([getitem(fp, slice(-1, None)), fp, getitem(fp, slice(0, 1))])
        left = right = None
    xv, xpv = np.asarray(concrete(x)), np.asarray(concrete(xp))
    n = xpv.shape[0]
    if n == 1:
        inner = broadcast_to(getitem(fp, 0), xv.shape)
    else:
        # the segment [xp[j], xp[j+1]] holding x; at the last knot, anchor at that
        # knot (so the value is fp[-1] exactly) with the last segment's slope
        j = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, n - 2)
        anchor = np.where(xv == xpv[-1], n - 1, j)
        slope = divide(subtract(getitem(fp, j + 1), getitem(fp, j)),
                       subtract(getitem(xp, j + 1), getitem(xp, j)))
        inner = add(getitem(fp, anchor), multiply(slope, subtract(x, getitem(xp, anchor))))
    lo = getitem(fp, 0) if left is None else left
    hi = getitem(fp, -1) if right is None else right
    out = where(xv < xpv[0], lo, where(xv > xpv[-1], hi, inner))
    return out
