"""Rows of the rule table for gathers, and indexing functions written with them.

``take_along_axis`` (with its transpose ``scatter_add_along_axis``) takes the
index array as an argument, not as a parameter, so the indices may be computed
inside the traced function: ``sort`` and ``partition`` gather with the
permutation from the non-differentiable rows ``sort_order`` and ``argpartition``,
``interp`` with the segment from ``searchsorted``, ``choose`` with its integer
argument.  Everything therefore also works under ``vmap``.  ``take``,
``compress`` and ``select`` are written with ``getitem`` and ``where``.
"""

__all__ = [
    "take", "take_along_axis", "choose", "compress", "select", "sort", "partition",
    "argpartition", "searchsorted", "interp", "argwhere", "flatnonzero",
]

import numpy as np

from .. import shapes as _shp
from ..core import PRIMITIVES, Tracer, any_tracer, concrete, defprim, ndim_of, shape_of
from .elementwise import (
    add,
    divide,
    equal,
    greater,
    less,
    less_equal,
    maximum,
    minimum,
    mod,
    multiply,
    subtract,
    where,
)
from .shape import (
    _axis,
    _batched,
    _value_unknown,
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    moveaxis,
    ravel,
    reshape,
    stack,
    take_traced_index,
)

_traced = any_tracer


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
    if not _traced(a, indices):
        return np.take(a, indices, axis=axis, out=out, mode=mode)
    if out is not None:
        raise TypeError("take(..., out=...) cannot write a traced value in place")
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    n = shape_of(a)[axis]
    if _batched(indices) and not _batched(a) or _value_unknown(indices):
        # an index that differs per vmap example, or whose values are staged by jit
        if mode == "wrap":
            indices = mod(indices, n)
        elif mode == "clip":
            indices = maximum(minimum(indices, n - 1), 0)
        elif mode != "raise":
            raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
        return take_traced_index(a, indices, axis)
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


def _scatter_along_impl(g, idx, shape, axis):
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    np.add.at(out, _along_axis_index(shape, idx, axis), g)
    return out


def _front(x, d):
    """Batch axis ``d`` to the front; an unbatched value gets a length-1 axis
    (these rows broadcast it)."""
    return expand_dims(x, 0) if d is None else moveaxis(x, d, 0)


def _take_along_batch(args, dims, axis):
    (x, idx), (dx, di) = args, dims
    return _take_along(_front(x, dx), _front(idx, di), axis=axis + 1), 0


def _scatter_along_batch(args, dims, shape, axis):
    (g, idx), (dg, di) = args, dims
    size = shape_of(g)[dg] if dg is not None else shape_of(idx)[di]
    g = moveaxis(g, dg, 0) if dg is not None else broadcast_to(g, (size,) + shape_of(g))
    return _scatter_along(g, _front(idx, di), shape=(size,) + tuple(shape), axis=axis + 1), 0


def _along_case(rng, shape):
    nd = int(rng.integers(1, 4))
    xs = tuple(int(n) for n in rng.integers(1, 4, nd))
    axis = int(rng.integers(nd))
    ishape = list(xs)
    ishape[axis] = int(rng.integers(1, 5))
    if nd > 1 and rng.random() < 0.3:
        ishape[(axis + 1) % nd] = 1  # broadcast against x
    idx = rng.integers(0, xs[axis], tuple(ishape))
    return rng.standard_normal(xs), idx, axis


def _take_along_shape(x, idx, axis):
    xs, js = _shp.shape(x), _shp.shape(idx)
    if axis is None:
        return js, _shp.dtype(x)
    axis = _shp.normalize_axes(axis, len(xs), "take_along_axis")[0]
    if len(js) != len(xs):
        raise ValueError(f"take_along_axis: indices of shape {js} for an array of shape {xs}: "
                         "they must have as many axes")
    rest = tuple(1 if d == axis else n for d, n in enumerate(xs))
    return np.broadcast_shapes(js, rest), _shp.dtype(x)


_take_along = defprim(
    "take_along_axis", lambda x, idx, axis: np.take_along_axis(x, idx, axis=axis),
    jvp=[lambda t, ans, x, idx, axis: _take_along(t, idx, axis=axis), None],
    vjp=[lambda g, ans, x, idx, axis: _scatter_along(g, idx, shape=x.shape, axis=axis), None],
    batch=_take_along_batch,
    test={"make": lambda rng, shape: (lambda x, i, a: ((x, i), {"axis": a}))(*_along_case(rng, shape)),
          "complex": True},
          reads=(0, 1, 2), shape=_take_along_shape,
)


def _scatter_case(rng, shape):
    x, idx, axis = _along_case(rng, shape)
    g = np.take_along_axis(x, idx, axis=axis)
    return (rng.standard_normal(g.shape), idx), {"shape": x.shape, "axis": axis}


_scatter_along = defprim(
    "scatter_add_along_axis", _scatter_along_impl,
    jvp=[lambda t, ans, g, idx, shape, axis: _scatter_along(t, idx, shape=shape, axis=axis),
         None],
    vjp=[lambda c, ans, g, idx, shape, axis: _take_along(c, idx, axis=axis), None],
    batch=_scatter_along_batch,
    test={"make": _scatter_case},
    reads=(1, 3), shape=_shp.of_param("shape"),
)


def _check_indices(indices):
    """Plain index arrays are validated here; traced ones (vmap) go to numpy."""
    if isinstance(indices, Tracer):
        return indices
    return _int_index(indices)


def take_along_axis(arr, indices, axis=-1):
    """Gather values along an axis with an index array of matching rank
    (``numpy.take_along_axis``).  The cotangent is scattered back (repeated
    indices add up); the indices may themselves be batched by ``vmap``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([[3.0, 1.0], [2.0, 5.0]])
        >>> fnp.take_along_axis(x, fnp.argsort(x, axis=1), axis=1)
        array([[1., 3.],
               [2., 5.]])
    """
    if not _traced(arr, indices):
        return np.take_along_axis(arr, indices, axis=axis)
    idx = _check_indices(indices)
    if axis is None:
        if ndim_of(idx) != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr, axis = ravel(arr), 0
    nd = ndim_of(arr)
    if ndim_of(idx) != nd:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return _take_along(arr, idx, axis=_axis(axis, nd))


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
        return np.choose(a, choices, out=out, mode=mode)
    n = len(choices)
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', not {mode!r}")
    idx = _check_indices(a)
    if not isinstance(idx, Tracer):
        if mode == "wrap":
            idx = np.mod(idx, n)
        elif mode == "clip":
            idx = np.clip(idx, 0, n - 1)
        elif idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError("invalid entry in choice array")
    elif mode != "raise":
        raise NotImplementedError("choose: mode='wrap'/'clip' needs concrete indices")
    shape = np.broadcast_shapes(shape_of(idx), *(shape_of(c) for c in choices))
    stacked = stack([broadcast_to(c, shape) for c in choices])
    picked = _take_along(stacked, expand_dims(broadcast_to(idx, shape), 0), axis=0)
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
    axis = _axis(axis, ndim_of(a))
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
    if not _traced(*condlist, *choicelist, default):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    for i, c in enumerate(condlist):
        if np.result_type(concrete(c)).kind != "b":
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    out = default
    for c, v in zip(reversed(condlist), reversed(choicelist)):
        out = where(c, v, out)
    shape = np.broadcast_shapes(*(shape_of(c) for c in condlist),
                                *(shape_of(v) for v in choicelist), shape_of(default))
    return broadcast_to(out, shape) if shape_of(out) != shape else out


def _argpartition_batch(args, dims, kth, axis):
    (a,), (d,) = args, dims
    a = moveaxis(a, d, 0)
    if axis is None:
        a, axis = reshape(a, (shape_of(a)[0], -1)), 0
    return _argpartition(a, kth=kth, axis=axis % (ndim_of(a) - 1) + 1), 0


_argpartition = defprim(
    "argpartition", lambda a, kth, axis: np.argpartition(a, kth, axis=axis),
    nondiff=True, batch=_argpartition_batch, shape=_shp.along(out_dtype=np.dtype(np.intp)),
)


def _sort_order_batch(args, dims, axis):
    (a,), (d,) = args, dims
    a = moveaxis(a, d, 0)
    return _sort_order(a, axis=axis % (ndim_of(a) - 1) + 1), 0


# the stable sorting permutation along an axis: the indices sort gathers with
_sort_order = defprim(
    "sort_order", lambda a, axis: np.argsort(a, axis=axis, kind="stable"),
    nondiff=True, batch=_sort_order_batch, shape=_shp.along(out_dtype=np.dtype(np.intp)),
)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """Indices that partition the array (``numpy.argpartition``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> x = fnp.array([3.0, 1.0, 2.0])
        >>> float(x[fnp.argpartition(x, 1)][1])
        2.0
    """
    return _argpartition(a, kth=kth, axis=axis)


def _searchsorted_batch(args, dims, side, sorter=None):
    (a, v), (da, dv) = args, dims
    if da is None:  # numpy's searchsorted already maps over any shape of v
        return _searchsorted(a, v, side=side, sorter=sorter), dv
    if sorter is not None:
        raise NotImplementedError(
            "searchsorted with sorter= on an array batched by vmap: sort it first "
            "(fnp.take_along_axis(a, sorter, 0)) and drop sorter"
        )
    # a different sorted array per example: count the entries below each value
    a = moveaxis(a, da, 0)
    v = _front(v, dv)
    extra = ndim_of(v) - 1
    a = reshape(a, (shape_of(a)[0],) + (1,) * extra + (-1,))
    below = (less if side == "left" else less_equal)(a, expand_dims(v, -1))
    # the "sum" row of reductions.py (a row module above this one: looked up by name)
    return PRIMITIVES["sum"].fn(below, axis=ndim_of(below) - 1), 0


_searchsorted = defprim(
    "searchsorted",
    lambda a, v, side, sorter=None: np.searchsorted(a, v, side=side, sorter=sorter),
    nondiff=True, batch=_searchsorted_batch,
    shape=lambda a, v, side, sorter=None: (_shp.shape(v), np.dtype(np.intp)),
)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion indices that keep ``a`` sorted (``numpy.searchsorted``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.searchsorted(fnp.array([1.0, 2.0, 3.0]), 2.5)
        np.int64(2)
    """
    if not _traced(a, v):
        return np.searchsorted(a, v, side=side, sorter=sorter)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    return _searchsorted(a, v, side=side, sorter=None if sorter is None else concrete(sorter))


def argwhere(a):
    """Indices of the non-zero entries, one row each (``numpy.argwhere``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.argwhere(fnp.array([0.0, 2.0, 3.0]))
        array([[1],
               [2]])
    """
    return np.argwhere(concrete(a))


def flatnonzero(a):
    """Indices of the non-zero entries of the flattened array (``numpy.flatnonzero``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.flatnonzero(fnp.array([[0.0, 2.0], [3.0, 0.0]]))
        array([1, 2])
    """
    return np.flatnonzero(concrete(a))


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
    axis = _axis(axis, ndim_of(a))
    return _take_along(a, _sort_order(a, axis=axis), axis=axis)


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
    axis = _axis(axis, ndim_of(a))
    return _take_along(a, _argpartition(a, kth=kth, axis=axis), axis=axis)


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
    # sample points and values given as lists (numpy accepts any sequence)
    x, xp, fp = (v if isinstance(v, Tracer) else np.asarray(v) * 1.0 for v in (x, xp, fp))
    if ndim_of(xp) != 1 or ndim_of(fp) != 1:
        raise ValueError("interp: xp and fp must be 1-D sequences")
    if shape_of(xp) != shape_of(fp):
        raise ValueError("fp and xp are not of the same length.")
    if shape_of(xp)[0] == 0:
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

    n = shape_of(xp)[0]
    shape = shape_of(x)

    def at(arr, k):  # arr[k] for an index array k shaped like x (possibly batched)
        return reshape(_take_along(arr, reshape(k, (-1,)), axis=0), shape)

    if n == 1:
        inner = broadcast_to(getitem(fp, 0), shape)
    else:
        # the segment [xp[j], xp[j+1]] holding x; at the last knot, anchor at that
        # knot (so the value is fp[-1] exactly) with the last segment's slope
        j = minimum(maximum(subtract(_searchsorted(xp, x, side="right"), 1), 0), n - 2)
        anchor = add(j, equal(x, getitem(xp, -1)))
        slope = divide(subtract(at(fp, add(j, 1)), at(fp, j)),
                       subtract(at(xp, add(j, 1)), at(xp, j)))
        inner = add(at(fp, anchor), multiply(slope, subtract(x, at(xp, anchor))))
    lo = getitem(fp, 0) if left is None else left
    hi = getitem(fp, -1) if right is None else right
    return where(less(x, getitem(xp, 0)), lo, where(greater(x, getitem(xp, -1)), hi, inner))
