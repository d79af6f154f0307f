"""Rows of the rule table: shapes, joining and indexing.

Only a few shape operations are primitives (reshape, transpose, broadcast_to,
flip, concatenate, getitem and the ``.at`` updates index_add/index_set); the
rest (stacking, splitting, repeat, tile, pad, roll, rot90, diff, meshgrid, the
other ``.at`` updates ...) are written with them, so they are differentiable
(and batchable) for free.
"""

__all__ = [
    "reshape", "ravel", "transpose", "broadcast_to", "broadcast_arrays", "expand_dims",
    "squeeze", "moveaxis", "swapaxes", "flip", "fliplr", "flipud", "rot90", "roll",
    "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack",
    "split", "array_split", "hsplit", "vsplit", "dsplit", "repeat", "tile", "pad", "diff",
    "atleast_1d", "atleast_2d", "atleast_3d", "meshgrid", "append", "delete", "block",
    "rollaxis", "resize",
    "getitem", "index_add", "index_set", "at", "matrix_transpose",
]

import numpy as np

from ..core import (
    FUNCTIONS,
    PRIMITIVES,
    BatchedValueError,
    Tracer,
    as_array,
    concrete,
    defprim,
    dtype_of,
    is_basic_index,
    is_batched,
    is_duck_array,
    ndim_of,
    shape_of,
    variadic,
    zeros_like_value,
)
from .elementwise import (
    add,
    astype,
    divide,
    floor,
    maximum,
    minimum,
    multiply,
    power,
    subtract,
    where,
)
from .elementwise import round as round_

_ndarray = np.ndarray


def _has_tracer(seq):
    return any(isinstance(x, Tracer) for x in seq)


def _stand_in(x):
    """A zero-strided array of ``x``'s shape, for numpy's shape arithmetic."""
    return np.broadcast_to(np.empty((), dtype=bool), shape_of(x))


def _axis(axis, ndim):
    """Normalise one axis, with numpy's error for an out-of-range one."""
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


# --- reshape / transpose / broadcast ------------------------------------------

def _reshape_impl(x, shape):
    # ndarray.reshape is what np.reshape calls, without its Python-level wrapper
    return x.reshape(shape) if type(x) is _ndarray else np.reshape(x, shape)


def _transpose_impl(x, axes):
    return x.transpose(axes) if type(x) is _ndarray else np.transpose(x, axes)


_FILL_MAX = 4096  # broadcast results up to this size are filled, larger ones are views


def _broadcast_to_impl(x, shape):
    # numpy's broadcast_to is a Python-level function costing several small ufunc
    # calls; for a small result, filling a new array is far cheaper (same values)
    if (type(x) is _ndarray or isinstance(x, np.generic)) and x.ndim <= len(shape):
        n = 1
        for k in shape:
            n *= k
        if n <= _FILL_MAX:
            try:
                out = np.empty(shape, x.dtype)
                out[...] = x
                return out
            except ValueError:  # not broadcastable: numpy's own error below
                pass
    return np.broadcast_to(x, shape)


_reshape = defprim(
    "reshape", _reshape_impl,
    jvp=[lambda t, ans, x, shape: _reshape(t, shape=shape)],
    vjp=[lambda g, ans, x, shape: _reshape(g, shape=np.shape(x))],
    batch="reshape",
    test={"params": [{"shape": (-1,)}]},
    reads=(0, 1),
)


def reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    """Give an array a new shape without changing its data (``numpy.reshape``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.reshape(fnp.arange(6.0), (2, 3)).shape
        (2, 3)
    """
    if shape is None:
        shape = newshape
    if order != "C":
        raise NotImplementedError("fgrad.numpy.reshape supports order='C' only")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if type(a) is _ndarray and copy is None:  # plain array: numpy's own method
        return a.reshape(shape)
    return _reshape(a, shape=tuple(shape))


def ravel(a, order="C"):
    """Flatten to one dimension (``numpy.ravel``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.ravel(fnp.ones((2, 2))).shape
        (4,)
    """
    return reshape(a, (-1,), order)


def _inverse_permutation(axes):
    return tuple(np.argsort(axes))


_transpose = defprim(
    "transpose", _transpose_impl,
    jvp=[lambda t, ans, x, axes: _transpose(t, axes=axes)],
    vjp=[lambda g, ans, x, axes: _transpose(g, axes=_inverse_permutation(axes))],
    batch="transpose",
    test={"make": lambda rng, shape: ((rng.standard_normal(shape),),
                                      {"axes": tuple(rng.permutation(len(shape)))})},
                                      reads=(1,),
)


def transpose(a, axes=None):
    """Permute the axes of an array (``numpy.transpose``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.transpose(fnp.ones((2, 3))).shape
        (3, 2)
    """
    if type(a) is _ndarray:  # plain array: numpy's own method
        return a.transpose(axes)
    ndim = np.ndim(concrete(a))
    if axes is None:
        axes = tuple(range(ndim))[::-1]
    else:
        axes = tuple(_axis(ax, ndim) for ax in axes)
    return _transpose(a, axes=axes)


def matrix_transpose(x):
    """Swap the last two axes (``numpy.matrix_transpose``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.matrix_transpose(fnp.ones((4, 2, 3))).shape
        (4, 3, 2)
    """
    return swapaxes(x, -1, -2)


def moveaxis(a, source, destination):
    """Move axes of an array to new positions (``numpy.moveaxis``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.moveaxis(fnp.ones((2, 3, 4)), 0, -1).shape
        (3, 4, 2)
    """
    ndim = np.ndim(concrete(a))
    src = _norm(source, ndim)
    dst = _norm(destination, ndim)
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, order)


def _norm(axis, ndim):
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(_axis(a, ndim) for a in axis)


def swapaxes(a, axis1, axis2):
    """Interchange two axes (``numpy.swapaxes``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.swapaxes(fnp.ones((2, 3)), 0, 1).shape
        (3, 2)
    """
    if type(a) is _ndarray:  # plain array: numpy's own method
        return a.swapaxes(axis1, axis2)
    ndim = np.ndim(concrete(a))
    order = list(range(ndim))
    i, j = _axis(axis1, ndim), _axis(axis2, ndim)  # numpy's AxisError (per example)
    order[i], order[j] = order[j], order[i]
    return transpose(a, order)


_broadcast_to = defprim(
    "broadcast_to", _broadcast_to_impl,
    jvp=[lambda t, ans, x, shape: _broadcast_to(t, shape=shape)],
    vjp=[lambda g, ans, x, shape: g],  # summed back to x's shape centrally
    batch="broadcast_to",
    test={"make": lambda rng, shape: ((rng.standard_normal(shape),), {"shape": (2,) + shape})},
    reads=(),
)


def broadcast_to(array, shape):
    """Broadcast an array to a new shape (``numpy.broadcast_to``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.broadcast_to(x, (3, 2)).sum())(fnp.ones(2))
        array([3., 3.])
    """
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if not isinstance(array, Tracer):  # plain: numpy's read-only view
        return np.broadcast_to(array, shape)
    return _broadcast_to(array, shape=tuple(shape))


def expand_dims(a, axis):
    """Insert new axes of length one (``numpy.expand_dims``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.expand_dims(fnp.ones(3), 0).shape
        (1, 3)
    """
    if type(axis) is int and isinstance(a, Tracer):  # one axis: the shape directly
        shape = a.shape
        i = _axis(axis, len(shape) + 1)
        return reshape(a, shape[:i] + (1,) + shape[i:])
    shape = np.expand_dims(_stand_in(a), axis).shape
    return reshape(a, shape)


def squeeze(a, axis=None):
    """Remove axes of length one (``numpy.squeeze``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.squeeze(fnp.ones((1, 3, 1))).shape
        (3,)
    """
    shape = np.squeeze(_stand_in(a), axis).shape
    return reshape(a, shape)


_flip = defprim(
    "flip", lambda x, axis: np.flip(x, axis),
    jvp=[lambda t, ans, x, axis: _flip(t, axis=axis)],
    vjp=[lambda g, ans, x, axis: _flip(g, axis=axis)],
    batch="axis",
    test={"params": [{"axis": None}, {"axis": 0}]},
    reads=(1,),
)


def flip(m, axis=None):
    """Reverse the order of elements along the given axes (``numpy.flip``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.flip(fnp.arange(3.0))
        array([2., 1., 0.])
    """
    if axis is not None:
        nd = ndim_of(m)
        axis = tuple(_axis(a, nd) for a in ((axis,) if np.ndim(axis) == 0 else axis))
    return _flip(m, axis=axis)


def flipud(m):
    """Reverse the order along axis 0 (``numpy.flipud``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.flipud(fnp.array([[1.0], [2.0]]))
        array([[2.],
               [1.]])
    """
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def fliplr(m):
    """Reverse the order along axis 1 (``numpy.fliplr``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fliplr(fnp.array([[1.0, 2.0]]))
        array([[2., 1.]])
    """
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def rot90(m, k=1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (``numpy.rot90``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.rot90(fnp.array([[1.0, 2.0], [3.0, 4.0]]))
        array([[2., 4.],
               [1., 3.]])
    """
    if not _has_tracer((m,)):
        return np.rot90(m, k, axes)
    nd = ndim_of(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    a0, a1 = _axis(axes[0], nd), _axis(axes[1], nd)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    order = list(range(nd))
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return transpose(flip(m, a1), order)
    return flip(transpose(m, order), a1)


def roll(a, shift, axis=None):
    """Roll elements along an axis, wrapping around (``numpy.roll``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.roll(fnp.arange(4.0), 1)
        array([3., 0., 1., 2.])
        >>> fgrad.grad(lambda x: (fnp.roll(x, 1) * fnp.arange(3.0)).sum())(fnp.ones(3))
        array([1., 2., 0.])
    """
    if not _has_tracer((a,)):
        return np.roll(a, shift, axis)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape_of(a))
    shape, nd = shape_of(a), ndim_of(a)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    total = {}
    for s, ax in zip(shifts.ravel(), axes.ravel()):
        ax = _axis(ax, nd)
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = shape[ax]
        s = s % n if n else 0
        if s:
            head = (slice(None),) * ax
            a = concatenate([getitem(a, head + (slice(n - s, None),)),
                             getitem(a, head + (slice(0, n - s),))], axis=ax)
    return a


# --- joining --------------------------------------------------------------------


def _concat_offsets(xs, axis):
    return tuple(np.cumsum([0] + [np.shape(x)[axis] for x in xs]).tolist())


def _concat_part(i, shape, axis, offsets):
    idx = [slice(None)] * len(shape)
    idx[axis] = slice(offsets[i], offsets[i + 1])
    return tuple(idx)


def _concat_slice(i, g, ans, *xs, axis, offsets=None):
    offsets = offsets or _concat_offsets(xs, axis)
    return getitem(g, _concat_part(i, shape_of(g), axis, offsets))


def _concat_tangent(i, t, ans, *xs, axis, offsets=None):
    # the tangent of part i, placed in zeros: O(1) Python work per part, so that
    # stacking n traced values costs O(n) calls, not O(n^2)
    offsets = offsets or _concat_offsets(xs, axis)
    zeros = np.zeros(shape_of(ans), dtype=np.result_type(concrete(t)))
    return index_set(zeros, t, idx=_concat_part(i, shape_of(ans), axis, offsets))


_concatenate = defprim(
    "concatenate", lambda *xs, axis, offsets=None: np.concatenate(xs, axis=axis),
    jvp=variadic(_concat_tangent),
    vjp=variadic(_concat_slice),
    batch="concatenate",
    test={"make": lambda rng, shape: (
        (rng.standard_normal((2,) + shape), rng.standard_normal((1,) + shape)), {"axis": 0}),
          "also": [lambda rng, shape: (
              (rng.standard_normal((2, 1)), rng.standard_normal((2, 3)),
               rng.standard_normal((2, 2))), {"axis": 1})],
          "complex": True},
          reads=("args",),
)


def _cast_all(arrays, dtype):
    return arrays if dtype is None else tuple(astype(a, dtype) for a in arrays)


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays along an existing axis (``numpy.concatenate``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.concatenate([fnp.ones(2), fnp.zeros(1)])
        array([1., 1., 0.])
    """
    arrays = tuple(arrays)
    if not _has_tracer(arrays):
        return np.concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    if out is not None:
        raise TypeError("concatenate(..., out=...) cannot write a traced value in place; "
                        "use the returned value")
    arrays = _cast_all(arrays, dtype)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    ndim = ndim_of(arrays[0])
    axis = _axis(axis, ndim) if ndim else axis
    offsets = _concat_offsets([concrete(a) for a in arrays], axis) if ndim else None
    return _concatenate(*arrays, axis=axis, offsets=offsets)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Join arrays of equal shape along a new axis (``numpy.stack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.stack([fnp.ones(2), fnp.zeros(2)]).shape
        (2, 2)
    """
    arrays = tuple(arrays)
    if not _has_tracer(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, ndim_of(arrays[0]) + 1)
    return concatenate([expand_dims(a, axis) for a in _cast_all(arrays, dtype)], axis=axis)


def _atleast(arys, nd, numpy_fn):
    if not _has_tracer(arys):
        return numpy_fn(*arys)
    out = []
    for a in arys:
        shape = shape_of(a)
        if len(shape) < nd:
            if nd == 3 and len(shape) == 2:
                shape = shape + (1,)
            elif nd == 3 and len(shape) == 1:
                shape = (1,) + shape + (1,)
            else:
                shape = (1,) * (nd - len(shape)) + shape
            a = reshape(a, shape)
        elif not isinstance(a, Tracer):
            a = np.asanyarray(a)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*arys):
    """View inputs as arrays with at least one dimension (``numpy.atleast_1d``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.atleast_1d(1.0)
        array([1.])
    """
    return _atleast(arys, 1, np.atleast_1d)


def atleast_2d(*arys):
    """View inputs as arrays with at least two dimensions (``numpy.atleast_2d``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.atleast_2d(fnp.ones(3)).shape
        (1, 3)
    """
    return _atleast(arys, 2, np.atleast_2d)


def atleast_3d(*arys):
    """View inputs as arrays with at least three dimensions (``numpy.atleast_3d``):
    a 1-D ``(N,)`` becomes ``(1, N, 1)`` and a 2-D ``(M, N)`` becomes ``(M, N, 1)``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.atleast_3d(fnp.ones(3)).shape
        (1, 3, 1)
    """
    return _atleast(arys, 3, np.atleast_3d)


def _as_list(x):
    return list(x) if isinstance(x, tuple) else [x]


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays horizontally (along axis 1, or 0 for 1-D inputs; ``numpy.hstack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.hstack([fnp.ones(2), fnp.zeros(1)])
        array([1., 1., 0.])
    """
    tup = tuple(tup)
    if not _has_tracer(tup):
        return np.hstack(tup, dtype=dtype, casting=casting)
    arrs = _as_list(atleast_1d(*tup))
    return concatenate(arrs, axis=0 if ndim_of(arrs[0]) == 1 else 1, dtype=dtype)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays vertically, as rows (``numpy.vstack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.vstack([fnp.ones(2), fnp.zeros(2)]).shape
        (2, 2)
    """
    tup = tuple(tup)
    if not _has_tracer(tup):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return concatenate(_as_list(atleast_2d(*tup)), axis=0, dtype=dtype)


def dstack(tup):
    """Stack arrays along the third axis (``numpy.dstack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.dstack([fnp.ones(2), fnp.zeros(2)]).shape
        (1, 2, 2)
    """
    tup = tuple(tup)
    if not _has_tracer(tup):
        return np.dstack(tup)
    return concatenate(_as_list(atleast_3d(*tup)), axis=2)


def column_stack(tup):
    """Stack 1-D arrays as columns of a 2-D array (``numpy.column_stack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.column_stack([fnp.ones(2), fnp.zeros(2)])
        array([[1., 0.],
               [1., 0.]])
    """
    tup = tuple(tup)
    if not _has_tracer(tup):
        return np.column_stack(tup)
    cols = []
    for a in tup:
        if ndim_of(a) < 2:
            a = transpose(atleast_2d(a))
        cols.append(a)
    return concatenate(cols, axis=1)


def _split_bounds(n, indices_or_sections, equal):
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        if equal and extra:
            raise ValueError("array split does not result in an equal division")
        sizes = [each + 1] * extra + [each] * (sections - extra)
        points = np.cumsum([0] + sizes).tolist()
    else:
        points = [0] + [int(i) for i in indices_or_sections] + [n]
    return list(zip(points[:-1], points[1:]))


def _split(ary, indices_or_sections, axis, equal):
    axis = _axis(axis, ndim_of(ary))
    head = (slice(None),) * axis
    return [
        getitem(ary, head + (slice(lo, hi),))
        for lo, hi in _split_bounds(shape_of(ary)[axis], indices_or_sections, equal)
    ]


def array_split(ary, indices_or_sections, axis=0):
    """Split into sub-arrays, allowing unequal sizes (``numpy.array_split``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> [p.shape for p in fnp.array_split(fnp.ones(5), 2)]
        [(3,), (2,)]
    """
    if not _has_tracer((ary,)):
        return np.array_split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, equal=False)


def split(ary, indices_or_sections, axis=0):
    """Split into equal sub-arrays, or at the given indices (``numpy.split``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> a, b = fnp.split(fnp.arange(4.0), 2)
        >>> b
        array([2., 3.])
        >>> fgrad.grad(lambda x: fnp.split(x, [1])[1].sum())(fnp.ones(3))
        array([0., 1., 1.])
    """
    if not _has_tracer((ary,)):
        return np.split(ary, indices_or_sections, axis)
    return _split(ary, indices_or_sections, axis, equal=True)


def _split_along(plain, name, ary, indices_or_sections, min_ndim, axis):
    """hsplit/vsplit/dsplit: numpy's ``plain`` on untraced input, else ``split``
    along ``axis(ndim)`` of an array with at least ``min_ndim`` axes."""
    if not _has_tracer((ary,)):
        return plain(ary, indices_or_sections)
    ndim = ndim_of(ary)
    if ndim < min_ndim:
        raise ValueError(
            f"{name} only works on arrays of {min_ndim} or more dimensions")
    return split(ary, indices_or_sections, axis(ndim))


def hsplit(ary, indices_or_sections):
    """Split horizontally (axis 1, or 0 for 1-D input; ``numpy.hsplit``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> len(fnp.hsplit(fnp.ones((2, 4)), 2))
        2
    """
    return _split_along(np.hsplit, "hsplit", ary, indices_or_sections, 1, lambda ndim: min(ndim - 1, 1))


def vsplit(ary, indices_or_sections):
    """Split vertically, along axis 0 (``numpy.vsplit``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> len(fnp.vsplit(fnp.ones((4, 2)), 2))
        2
    """
    return _split_along(np.vsplit, "vsplit", ary, indices_or_sections, 2, lambda ndim: 0)


def dsplit(ary, indices_or_sections):
    """Split along the third axis (``numpy.dsplit``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> len(fnp.dsplit(fnp.ones((1, 1, 4)), 2))
        2
    """
    return _split_along(np.dsplit, "dsplit", ary, indices_or_sections, 3, lambda ndim: 2)


def repeat(a, repeats, axis=None):
    """Repeat each element (``numpy.repeat``); the cotangent sums the copies.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.repeat(fnp.array([1.0, 2.0]), 2)
        array([1., 1., 2., 2.])
        >>> fgrad.grad(lambda x: fnp.repeat(x, [1, 3]).sum())(fnp.ones(2))
        array([1., 3.])
    """
    if not _has_tracer((a,)):
        return np.repeat(a, repeats, axis)
    if axis is None:
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = _axis(axis, len(shape))
    reps = np.asarray(concrete(repeats))
    if reps.dtype.kind not in "iub":
        raise TypeError("repeat: repeats must be integers")
    if np.any(reps < 0):
        raise ValueError("repeat: negative dimensions are not allowed")
    n = shape[axis]
    if reps.size == 1:
        k = int(reps.reshape(-1)[0])
        x = broadcast_to(expand_dims(a, axis + 1), shape[: axis + 1] + (k,) + shape[axis + 1:])
        return reshape(x, shape[:axis] + (n * k,) + shape[axis + 1:])
    if reps.shape != (n,):
        raise ValueError(f"repeat: repeats has shape {reps.shape}, expected ({n},)")
    return getitem(a, (slice(None),) * axis + (np.repeat(np.arange(n), reps),))


def tile(A, reps):
    """Repeat a whole array ``reps`` times along each axis (``numpy.tile``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.tile(fnp.array([1.0, 2.0]), 2)
        array([1., 2., 1., 2.])
        >>> fgrad.grad(lambda x: fnp.tile(x, (2, 3)).sum())(fnp.ones(2))
        array([6., 6.])
    """
    if not _has_tracer((A,)):
        return np.tile(A, reps)
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    shape = shape_of(A)
    d = max(len(reps), len(shape))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    x = reshape(A, tuple(v for s in shape for v in (1, s)))
    x = broadcast_to(x, tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return reshape(x, tuple(r * s for r, s in zip(reps, shape)))


_PAD_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")
_PAD_STAT_MODES = ("maximum", "minimum", "mean", "median")


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad an array (``numpy.pad``): every mode of numpy's but a callable one:
    ``constant`` (values may be traced), ``edge``, ``reflect``, ``symmetric``,
    ``wrap``, ``empty``, ``linear_ramp`` (``end_values`` may be traced) and the
    statistics ``maximum``, ``minimum``, ``mean``, ``median`` (with ``stat_length``).

    The index modes gather from the input (their cotangent sums back where an
    element was copied), the statistics pass their derivative to the elements
    they summarise; axes are padded one after the other, as numpy does.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.pad(fnp.array([1.0, 2.0]), 1, mode="edge")
        array([1., 1., 2., 2.])
        >>> fgrad.grad(lambda x: fnp.pad(x, (0, 2), mode="wrap").sum())(fnp.ones(3))
        array([2., 2., 1.])
        >>> fgrad.grad(lambda x: fnp.pad(x, 1, mode="mean", stat_length=2).sum())(fnp.ones(3))
        array([1.5, 2. , 1.5])
    """
    if not _has_tracer((array, kwargs.get("constant_values"), kwargs.get("end_values"))):
        return np.pad(array, pad_width, mode, **kwargs)
    nd = ndim_of(array)
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError("pad: `pad_width` must be of integral type.")
    widths = np.broadcast_to(widths, (nd, 2))
    if np.any(widths < 0):
        raise ValueError("pad: index can't contain negative values")
    dtype = np.result_type(concrete(array))
    if mode in ("constant", "empty"):
        key, default = "constant_values", 0
    elif mode in _PAD_INDEX_MODES:
        if kwargs.get("reflect_type", "even") != "even":
            raise NotImplementedError(
                "fgrad.numpy.pad supports reflect_type='even' only; write the odd "
                "reflection as 2 * edge - pad(x, ..., mode) if you need it"
            )
        kwargs.pop("reflect_type", None)
        key, default = None, None
    elif mode == "linear_ramp":
        key, default = "end_values", 0
    elif mode in _PAD_STAT_MODES:
        key, default = "stat_length", None
    else:
        raise NotImplementedError(
            f"fgrad.numpy.pad does not support mode={mode!r} on traced values (a callable mode "
            "would run numpy on the tracer's values). Build the padding with fnp.concatenate."
        )
    option = kwargs.pop(key, default) if key else None
    if mode == "empty":
        option = 0
    if kwargs:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {set(kwargs)}")
    if mode in ("constant", "empty", "linear_ramp"):
        option = broadcast_to(astype(option, dtype), (nd, 2))  # per axis, per side
    x = array
    for ax in range(nd):  # one axis after the other, as numpy pads
        before, after = (int(w) for w in widths[ax])
        if not before and not after:
            continue
        if mode in ("constant", "empty"):
            blocks = tuple(
                _pad_block(getitem(option, (ax, side)), x, ax, width)
                for side, width in ((0, before), (1, after))
            )
            x = _pad_edges(x, ax, blocks, before, after)
        elif mode in _PAD_INDEX_MODES:  # a gather from the input
            source = np.pad(np.arange(shape_of(x)[ax]), (before, after), mode=mode)
            x = getitem(x, (slice(None),) * ax + (source,))
        elif mode == "linear_ramp":
            x = _pad_ramps(x, ax, before, after, getitem(option, (ax, 0)), getitem(option, (ax, 1)))
        else:
            x = _pad_stats(x, ax, before, after, mode, option, nd)
    return x


def _pad_block(value, x, ax, width):
    """``value`` broadcast to a padding block of ``width`` along ``ax`` (None if empty)."""
    if not width:
        return None
    shape = shape_of(x)
    return broadcast_to(value, shape[:ax] + (width,) + shape[ax + 1:])


def _pad_edges(x, ax, parts, before, after):
    """Join the padding blocks ``parts = (left or None, right or None)`` to ``x``."""
    left, right = parts
    blocks = ([left] if before else []) + [x] + ([right] if after else [])
    return concatenate(blocks, axis=ax)


def _pad_ramps(x, ax, before, after, end_before, end_after):
    # numpy's linear_ramp: linspace(end, edge, width, endpoint=False) on each side
    # (reversed on the right), i.e. end + i * (edge - end) / width for i = 0..width-1
    shape, nd = shape_of(x), ndim_of(x)
    head = (slice(None),) * ax
    kind = np.dtype(np.result_type(concrete(x))).kind

    def ramp(end, edge, width, reverse):
        steps = np.arange(width, dtype=float)
        if reverse:
            steps = steps[::-1]
        steps = steps.reshape((width,) + (1,) * (nd - ax - 1))
        delta = edge - end
        if _any_zero(delta):
            # numpy's own rounding then (it divides the steps first, for denormals)
            block = end + steps / width * delta
        else:
            block = end + steps * (delta / width)
        block = broadcast_to(block, shape[:ax] + (width,) + shape[ax + 1:])
        if kind in "iub":  # numpy's integer linspace rounds towards -inf

            block = floor(block)
        return astype(block, np.result_type(concrete(x)))

    left = right = None
    if before:
        left = ramp(end_before, getitem(x, head + (slice(0, 1),)), before, False)
    if after:
        right = ramp(end_after, getitem(x, head + (slice(-1, None),)), after, True)
    return _pad_edges(x, ax, (left, right), before, after)


def _any_zero(x):
    """Is any entry of ``x`` zero?  False under vmap, where entries differ per example
    (the answer only picks between two roundings of the same ramp)."""
    try:
        return bool(np.any(np.asarray(concrete(x)) == 0))
    except BatchedValueError:
        return False


def _pad_stats(x, ax, before, after, mode, stat_length, nd):
    # reductions.py is a row module above this one: its functions are looked up by name
    stat = FUNCTIONS[{"maximum": "amax", "minimum": "amin", "mean": "mean",
                      "median": "median"}[mode]]
    shape = shape_of(x)
    n = shape[ax]
    if stat_length is None:
        lengths = (n, n)
    else:
        lengths = np.broadcast_to(np.asarray(stat_length), (nd, 2))[ax]
        if np.asarray(stat_length).dtype.kind not in "iu" or np.any(lengths < 0):
            raise TypeError(
                f"pad: stat_length must be non-negative integers, got {stat_length!r}"
            )
        lengths = (min(int(lengths[0]), n), min(int(lengths[1]), n))
    head = (slice(None),) * ax
    kind = np.dtype(np.result_type(concrete(x))).kind
    blocks = []
    for width, length, side in ((before, lengths[0], slice(0, lengths[0])),
                                (after, lengths[1], slice(n - lengths[1], n))):
        if not width:
            blocks.append(None)
            continue
        if length == 0:
            raise ValueError("pad: stat_length of 0 yields no value for padding; give at "
                             "least 1 (or None for the whole axis)")
        value = stat(getitem(x, head + (side,)), axis=ax, keepdims=True)
        if mode in ("mean", "median") and kind in "iub":  # numpy rounds for integers

            value = astype(round_(value), np.result_type(concrete(x)))
        blocks.append(_pad_block(value, x, ax, width))
    return _pad_edges(x, ax, tuple(blocks), before, after)


_NOVALUE = object()


def diff(a, n=1, axis=-1, prepend=_NOVALUE, append=_NOVALUE):
    """The ``n``-th discrete difference along an axis (``numpy.diff``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.diff(fnp.array([1.0, 4.0, 9.0]))
        array([3., 5.])
        >>> fgrad.grad(lambda x: fnp.diff(x, 2).sum())(fnp.ones(4))
        array([ 1., -1., -1.,  1.])
    """
    extra = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not _NOVALUE}
    if not _has_tracer((a, *extra.values())):
        return np.diff(a, n, axis, **extra)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    nd = ndim_of(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = _axis(axis, nd)
    parts = []
    for key in ("prepend", "append"):
        if key in extra:
            v = extra[key]
            if ndim_of(v) == 0:
                shape = list(shape_of(a))
                shape[axis] = 1
                v = broadcast_to(v, tuple(shape))
            parts.append((key, v))
    if parts:
        pre = [v for k, v in parts if k == "prepend"]
        post = [v for k, v in parts if k == "append"]
        a = concatenate(pre + [a] + post, axis=axis)
    head = (slice(None),) * axis
    for _ in range(n):
        a = subtract(getitem(a, head + (slice(1, None),)), getitem(a, head + (slice(None, -1),)))
    return a


def broadcast_arrays(*args):
    """Broadcast arrays against each other (``numpy.broadcast_arrays``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> [a.shape for a in fnp.broadcast_arrays(fnp.ones(2), fnp.ones((3, 1)))]
        [(3, 2), (3, 2)]
    """
    if not _has_tracer(args):
        return np.broadcast_arrays(*args)
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(broadcast_to(a, shape) for a in args)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from coordinate vectors (``numpy.meshgrid``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> X, Y = fnp.meshgrid(fnp.arange(3.0), fnp.arange(2.0))
        >>> X.shape
        (2, 3)
    """
    if not _has_tracer(xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    ones = (1,) * nd
    out = [reshape(x, ones[:i] + (-1,) + ones[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + ones[2:])
        out[1] = reshape(out[1], (-1, 1) + ones[2:])
    if not sparse:
        out = broadcast_arrays(*out)
    return tuple(out)


def append(arr, values, axis=None):
    """Values appended to the end of an array (``numpy.append``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.append(fnp.ones((1, 2)), [3.0])
        array([1., 1., 3.])
    """
    if not _has_tracer((arr, values)):
        return np.append(arr, values, axis)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis=axis)


def delete(arr, obj, axis=None):
    """A copy without the given entries along an axis (``numpy.delete``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.delete(x, [0, 2]).sum())(fnp.ones(4))
        array([0., 1., 0., 1.])
    """
    if not _has_tracer((arr,)):
        return np.delete(arr, obj, axis)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _axis(axis, ndim_of(arr))
    keep = np.delete(np.arange(shape_of(arr)[axis]), concrete(obj))
    return getitem(arr, (slice(None),) * axis + (keep,))


def _block_depth(x):
    return 1 + _block_depth(x[0]) if isinstance(x, list) and x else (1 if isinstance(x, list) else 0)


def _block_has_tracer(x):
    return any(_block_has_tracer(v) for v in x) if isinstance(x, list) else isinstance(x, Tracer)


def block(arrays):
    """Assemble an array from nested lists of blocks (``numpy.block``): the
    innermost lists are joined along the last axis, the next along the one before.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.block([[fnp.ones((1, 1)), fnp.zeros((1, 2))], [fnp.ones((1, 3))]])
        array([[1., 0., 0.],
               [1., 1., 1.]])
    """
    if not _block_has_tracer(arrays):
        return np.block(arrays)
    depth = _block_depth(arrays)

    def leaves(x):
        return [w for v in x for w in leaves(v)] if isinstance(x, list) else [x]

    nd = max(depth, max(ndim_of(a) for a in leaves(arrays)))

    def build(x, level):
        if not isinstance(x, list):
            return reshape(x, (1,) * (nd - ndim_of(x)) + shape_of(x))
        if len(x) == 0 or (level < depth - 1 and any(not isinstance(v, list) for v in x)):
            raise ValueError("block: lists must be nested to the same depth and non-empty")
        return concatenate([build(v, level + 1) for v in x], axis=nd - depth + level)

    return build(arrays, 0)


def rollaxis(a, axis, start=0):
    """Roll ``axis`` backwards until it lies before ``start`` (``numpy.rollaxis``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.rollaxis(fnp.ones((2, 3, 4)), 2).shape
        (4, 2, 3)
    """
    if not _has_tracer((a,)):
        return np.rollaxis(a, axis, start)
    n = ndim_of(a)
    axis = _axis(axis, n)
    if not -n <= start <= n:
        raise np.exceptions.AxisError(f"'start' arg requires {-n} <= start < {n + 1}")
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return transpose(a, order)


def resize(a, new_shape):
    """An array of ``new_shape`` filled by repeating ``a`` (``numpy.resize``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.resize(x, (2, 3)).sum())(fnp.ones(2))
        array([3., 3.])
    """
    if not _has_tracer((a,)):
        return np.resize(a, new_shape)
    new_shape = (new_shape,) if np.ndim(new_shape) == 0 else tuple(new_shape)
    total = int(np.prod(new_shape, dtype=int))
    size = int(np.prod(shape_of(a), dtype=int))
    if any(n < 0 for n in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    if size == 0 or total == 0:
        return np.zeros(new_shape, dtype=np.result_type(concrete(a)))
    return reshape(getitem(ravel(a), np.arange(total) % size), new_shape)


# --- indexing ---------------------------------------------------------------------


def _static_index(idx):
    """Indices are not differentiated: strip tracers from them (e.g. a mask)."""
    if isinstance(idx, tuple):
        return tuple(_static_index(i) for i in idx)
    if isinstance(idx, Tracer):
        return concrete(idx)
    if isinstance(idx, list):
        return np.asarray([concrete(i) for i in idx]) if idx else np.asarray(idx, dtype=int)
    return idx


def _int_arrays(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, np.ndarray) and i.dtype.kind in "iu" for i in items)


def _getitem_impl(x, idx):
    return as_array(x)[idx]


def _getitem_vjp(g, ans, x, idx):
    return index_add(zeros_like_value(x, dtype=np.result_type(concrete(g))), g, idx=idx)


def _getitem_case(idx, shape=(4, 3)):
    return lambda rng, _: ((rng.standard_normal(shape),), {"idx": idx})


_getitem = defprim(
    "getitem", _getitem_impl,
    jvp=[lambda t, ans, x, idx: _getitem(t, idx=idx)],
    vjp=[_getitem_vjp],
    batch="getitem",
    test={"make": lambda rng, shape: ((rng.standard_normal((3,) + shape),),
                                      {"idx": [0, slice(1, None), np.array([0, 2, 0])][rng.integers(3)]}),
          "also": [lambda rng, shape: ((rng.standard_normal((4, 3)),),
                                       {"idx": rng.standard_normal((4, 3)) > 0}),
                   _getitem_case((slice(None, None, -2), None, Ellipsis, -1)),
                   _getitem_case((np.array([[0, 3], [3, 3]]), np.array([2, 0]))),
                   _getitem_case((slice(1, 3), np.array([0, 0, 2]))),
                   _getitem_case((Ellipsis, np.array([True, False, True]))),
                   _getitem_case((np.array([1, 1]), slice(None), np.array([0, 2])), (2, 3, 4))],
          "complex": True},
    reads=(0, 1),
    indexed=True,  # reverse mode keeps its cotangent sparse (autodiff.py)
)


def _batched(i):
    return isinstance(i, Tracer) and is_batched(i)


def take_traced_index(x, i, axis):
    """``x`` indexed along ``axis`` by an integer array ``i`` that is itself traced
    (an index that differs between the examples of ``fgrad.vmap``): a gather by
    ``take_along_axis``, whose rules take the index as an argument, not a constant.
    The result has shape ``x.shape[:axis] + i.shape + x.shape[axis + 1:]``.
    """
    shape, ishape, nd = shape_of(x), shape_of(i), ndim_of(x)
    if np.result_type(concrete(i)).kind not in "iu":
        raise IndexError("arrays used as indices must be of integer type")
    k = int(np.prod(ishape, dtype=int))
    flat = reshape(i, (1,) * axis + (k,) + (1,) * (nd - axis - 1))
    flat = broadcast_to(flat, shape[:axis] + (k,) + shape[axis + 1:])
    # the "take_along_axis" row of indexing.py (a row module above: looked up by name)
    out = PRIMITIVES["take_along_axis"].fn(x, flat, axis=axis % nd)
    return reshape(out, shape[:axis] + ishape + shape[axis + 1:])


def _getitem_batched_index(x, idx):
    # x[i] or x[:, ..., :, i] (full slices before one batched integer index, full
    # slices after it): the forms an embedding lookup or a per-example pick takes
    items = idx if isinstance(idx, tuple) else (idx,)
    batched = [k for k, item in enumerate(items) if _batched(item)]
    full = slice(None)
    if len(batched) == 1 and all(
        item == full for k, item in enumerate(items) if k != batched[0]
    ) and isinstance(items[batched[0]], Tracer):
        return take_traced_index(x, items[batched[0]], batched[0])
    raise IndexError(
        "fgrad.vmap: this index differs between the examples; indexing with it is supported "
        "as x[i] or x[:, i] (one integer index that differs per example, full slices "
        "elsewhere), or fgrad.numpy.take(x, i, axis=k) / take_along_axis. Rewrite the "
        "index in one of those forms, or loop over the examples in Python."
    )


def _value_unknown(i):
    """True for a traced index whose values cannot be read (staged by ``fgrad.jit``:
    its concrete value is a stand-in that is neither an array nor a number)."""
    if not isinstance(i, Tracer):
        return False
    v = concrete(i)
    return not isinstance(v, (np.ndarray, np.generic, int, float, bool)) and not (
        is_duck_array(v) or is_batched(i))


def _getitem_unknown_index(x, idx):
    # under fgrad.jit: an integer index known only by shape is a gather, in the forms
    # x[i] and x[:, ..., :, i]; a boolean mask would give a shape that depends on values
    items = idx if isinstance(idx, tuple) else (idx,)
    unknown = [k for k, item in enumerate(items) if _value_unknown(item)]
    for k in unknown:
        if np.result_type(concrete(items[k])).kind == "b":
            raise TypeError(
                "indexing with a boolean mask whose values are staged by fgrad.jit: the "
                "result's shape would depend on the values. Use fnp.where(mask, x, 0.0) "
                "(or a masked reduction, fnp.sum(x, where=mask)) instead, or mark the "
                "mask's argument static."
            )
    full = slice(None)
    if len(unknown) == 1 and all(
        isinstance(item, slice) and item == full for k, item in enumerate(items) if k != unknown[0]
    ):
        return take_traced_index(x, items[unknown[0]], unknown[0])
    raise TypeError(
        "fgrad.jit: an index whose values are staged is supported as x[i] or x[:, i] (one "
        "integer index, full slices elsewhere), or as fgrad.numpy.take(x, i, axis=k) / "
        "take_along_axis. Rewrite the index in one of those forms, or mark its argument "
        "static (jit(f, static_argnums=...))."
    )


def getitem(x, idx):
    """``x[idx]`` for basic, integer-array and boolean-mask indices.

    Repeated integer indices accumulate in the cotangent.  Indices are never
    differentiated (tracers in them are read as their values; under ``vmap`` an
    integer index that differs per example works in the forms ``x[i]``,
    ``x[:, i]``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: x[fnp.array([0, 0, 2])].sum())(fnp.ones(3))
        array([2., 0., 1.])
    """
    for item in idx if isinstance(idx, tuple) else (idx,):
        # an index that differs per vmap example, into an array that does not: a gather
        # (a batched array takes batched indices through the getitem row's batch rule)
        if isinstance(item, Tracer) and _batched(item) and not _batched(x):
            return _getitem_batched_index(x, idx)
        if _value_unknown(item):
            return _getitem_unknown_index(x, idx)
        if isinstance(item, slice) and any(
                _value_unknown(b) for b in (item.start, item.stop, item.step)):
            raise TypeError(
                "fgrad.jit: a slice whose bounds are staged values (x[i:i + k]): the "
                "result's shape would depend on the values. Take a window of fixed size "
                "k with fgrad.lax.dynamic_slice_in_dim(x, i, k, axis) (or "
                "fnp.take(x, i + fnp.arange(k), axis=...)), or mark the argument static "
                "(jit(f, static_argnums=...)).")
    return _getitem(x, idx=_static_index(idx))


def _index_add_impl(x, y, idx):
    """A copy of ``x`` with ``y`` added at ``idx``; repeated indices accumulate
    (``x.at[idx].add(y)``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.index_add(fnp.zeros(3), 1.0, idx=fnp.array([0, 0, 2]))
        array([2., 0., 1.])
    """
    if is_duck_array(x):  # dask/cupy: a lazy copy, written through basic indices only
        out = x.copy()
        if not is_basic_index(idx):
            raise NotImplementedError(
                f"adding into a {type(x).__name__} at integer-array or boolean indices is "
                "not supported (numpy's np.add.at has no lazy counterpart); index it with "
                "slices, or convert it with np.asarray first")
        out[idx] = out[idx] + y
        return out
    out = np.array(x, copy=True)
    if is_basic_index(idx):
        out[idx] += y
    else:
        np.add.at(out, idx, y)
    return out


def _index_set_impl(x, y, idx):
    """A copy of ``x`` with ``y`` written at ``idx`` (``x.at[idx].set(y)``); with
    repeated indices numpy keeps one write, and only it gets a cotangent.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.index_set(fnp.zeros(3), 5.0, idx=slice(1, None))
        array([0., 5., 5.])
    """
    out = np.array(x, copy=True)
    out[idx] = y
    return out


def _selection_ids(shape, idx):
    """Flat positions (in an array of ``shape``) read by ``x[idx]``, shaped like it."""
    return np.arange(int(np.prod(shape, dtype=int)), dtype=np.intp).reshape(shape)[idx]


def _repeated(shape, idx):
    """The selection ids of ``x[idx]`` if it selects some element twice, else None."""
    if not _int_arrays(idx):
        return None  # slices, integers and boolean masks never repeat an element
    ids = _selection_ids(shape, idx)
    flat = ids.ravel()
    if np.unique(flat).size == flat.size:
        return None
    return ids


def _winners(shape, idx):
    """Which updates of ``x[idx] = y`` survive (numpy keeps one per element), or None.

    Found by doing the assignment on tags, so it is numpy's own choice.
    """
    ids = _repeated(shape, idx)
    if ids is None:
        return None
    tag = np.full(shape, -1, dtype=np.intp)
    tag[idx] = np.arange(ids.size).reshape(ids.shape)
    win = np.zeros(ids.size, dtype=bool)
    win[tag[tag >= 0]] = True
    return win.reshape(ids.shape)


def _index_set_vjp_y(g, ans, x, y, idx):
    sel = _getitem(g, idx=idx)
    win = _winners(np.shape(g), idx)
    return sel if win is None else where(win, sel, 0.0)


index_add = defprim(
    "index_add", _index_add_impl,
    jvp=[
        lambda t, ans, x, y, idx: t,
        lambda t, ans, x, y, idx: index_add(np.zeros(np.shape(ans), dtype=t.dtype), t, idx=idx),
    ],
    vjp=[
        lambda g, ans, x, y, idx: g,
        lambda g, ans, x, y, idx: _getitem(g, idx=idx),
    ],
    batch="index_update",
    test={"make": lambda rng, shape: (
        (rng.standard_normal((4,) + shape), rng.standard_normal((3,) + shape)),
        {"idx": np.array([0, 2, 0])}),
          "also": [lambda rng, shape: (
              (rng.standard_normal((4, 3)), rng.standard_normal(3)),
              {"idx": (slice(None, None, -1), np.array([2, 0, 2]))})],
          "complex": True},
          reads=[(), (2,)],
)
index_set = defprim(
    "index_set", _index_set_impl,
    jvp=[
        lambda t, ans, x, y, idx: index_set(t, 0.0, idx=idx),
        lambda t, ans, x, y, idx: index_set(np.zeros(np.shape(ans), dtype=t.dtype), t, idx=idx),
    ],
    vjp=[
        lambda g, ans, x, y, idx: index_set(g, 0.0, idx=idx),
        _index_set_vjp_y,
    ],
    batch="index_update",
    test={"make": lambda rng, shape: (
        (rng.standard_normal((4,) + shape), rng.standard_normal((2,) + shape)),
        {"idx": slice(1, 3)}),
          "also": [lambda rng, shape: (
              (rng.standard_normal((4, 2)), rng.standard_normal((5, 2))),
              {"idx": np.array([0, 2, 0, 3, 2])}),
                   lambda rng, shape: (
              (rng.standard_normal((3, 3)), rng.standard_normal(())),
              {"idx": (np.array([0, 0]), np.array([1, 1]))})],
          "complex": True},
          reads=(2,),
)


def _occurrence(flat):
    """For each entry, how many earlier entries hold the same value (0, 1, 2 ...)."""
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    first = np.r_[True, s[1:] != s[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(s.size), 0))
    rank = np.empty_like(order)
    rank[order] = np.arange(s.size) - start
    return rank


def _scatter(x, idx, values, op):
    """``x`` with ``x[i] = op(x[i], v)`` for every update ``(i, v)`` of ``idx``/``values``.

    Repeated indices apply all their updates, in order (like numpy's ``ufunc.at``
    and JAX's scatter): the updates are split into rounds that each touch an
    element at most once, and every round is a gather, ``op`` and an ``index_set``.
    """
    ids = _repeated(shape_of(x), idx)
    if ids is None:
        return index_set(x, op(_getitem(x, idx=idx), values), idx=idx)
    flat = ids.ravel()
    rank = _occurrence(flat)
    vals = reshape(broadcast_to(values, ids.shape), (-1,))
    out = reshape(x, (-1,))
    for r in range(int(rank.max()) + 1):
        pick = np.flatnonzero(rank == r)
        pos = flat[pick]
        out = index_set(out, op(_getitem(out, idx=pos), _getitem(vals, idx=pick)), idx=pos)
    return reshape(out, shape_of(x))


def _staged_position(idx):
    """``(axis, i)`` for an index ``x[i]`` / ``x[:, ..., :, i]`` whose integer ``i``
    is staged by ``fgrad.jit`` (its value known only when the program runs), None
    for an index whose values are known; other staged forms are refused."""
    items = idx if isinstance(idx, tuple) else (idx,)
    unknown = [k for k, item in enumerate(items) if _value_unknown(item)]
    if not unknown:
        return None
    k = unknown[0]
    i = items[k]
    full = slice(None)
    if (len(unknown) == 1 and shape_of(i) == () and np.result_type(concrete(i)).kind in "iu"
            and all(isinstance(item, slice) and item == full
                    for j, item in enumerate(items) if j != k)):
        return k, i
    raise TypeError(
        "fgrad.jit: an indexed update x.at[idx] whose index values are staged is supported "
        "for one integer (0-d) index, as x.at[i] or x.at[:, i] (full slices elsewhere); "
        "an array of staged indices could repeat a position, which would make the result "
        "depend on the values. Mark the index's argument static (jit(f, static_argnums=...)), "
        "or write the update with a mask: fnp.where(positions == i, v, x); a block at a "
        "staged start is fgrad.lax.dynamic_update_slice."
    )


def _update_at_staged(x, position, values, op):
    """``x`` with ``op(x[i], values)`` (or ``values`` for ``op=None``) at the staged
    position ``(axis, i)``, as a masked select: which entry changes is decided by
    the program's arithmetic on ``i``, never while tracing.  A negative ``i`` counts
    from the end as in numpy; an out-of-range ``i`` changes nothing."""
    axis, i = position
    shape = shape_of(x)
    n = shape[axis]
    rows = np.arange(n).reshape((n,) + (1,) * (len(shape) - axis - 1))
    mask = rows == where(i < 0, i + n, i)
    v = expand_dims(broadcast_to(values, shape[:axis] + shape[axis + 1:]), axis)
    out = where(mask, v if op is None else op(x, v), x)
    dtype = dtype_of(x)
    if dtype_of(out) != dtype:
        if op is not None:  # numpy's x[i] += v refuses such a cast as well
            raise TypeError(
                f"x.at[i].{op.__name__}(values): the result's dtype {dtype_of(out)} cannot be "
                f"written into the {dtype} array x without losing values; cast x first "
                "(x.astype(...))")
        out = astype(out, dtype)
    return out


class _IndexUpdateRef:
    """``x.at[idx]``: functional updates at ``idx`` (JAX's semantics).

    With repeated indices, ``add``, ``multiply``, ``divide``, ``power``, ``min``
    and ``max`` apply every update in turn (as numpy's ``ufunc.at``); ``set``
    keeps one value per element (numpy's choice, the last one for integer
    arrays), and only that value receives a cotangent.
    """

    __slots__ = ("array", "idx", "staged")

    def __init__(self, array, idx):
        self.array = array
        self.staged = _staged_position(idx)  # (axis, i) for an index staged by fgrad.jit
        self.idx = idx if self.staged is not None else _static_index(idx)

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.idx!r})"

    def get(self):
        """The selected values: ``x.at[idx].get()`` is ``x[idx]``."""
        if self.staged is not None:
            return getitem(self.array, self.idx)
        return _getitem(self.array, idx=self.idx)

    def set(self, values):
        """A copy of the array with ``values`` written at ``idx``."""
        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, None)
        return index_set(self.array, values, idx=self.idx)

    def add(self, values):
        """A copy with ``values`` added at ``idx`` (repeated indices accumulate)."""
        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, add)
        return index_add(self.array, values, idx=self.idx)

    def multiply(self, values):
        """A copy with the entries at ``idx`` multiplied by ``values`` (all repeats)."""

        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, multiply)
        return _scatter(self.array, self.idx, values, multiply)

    mul = multiply

    def divide(self, values):
        """A copy with the entries at ``idx`` divided by ``values`` (all repeats)."""

        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, divide)
        return _scatter(self.array, self.idx, values, divide)

    def power(self, values):
        """A copy with the entries at ``idx`` raised to ``values`` (all repeats)."""

        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, power)
        return _scatter(self.array, self.idx, values, power)

    def min(self, values):
        """A copy with ``x[idx] = minimum(x[idx], values)``, over all repeats."""

        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, minimum)
        return _scatter(self.array, self.idx, values, minimum)

    def max(self, values):
        """A copy with ``x[idx] = maximum(x[idx], values)``, over all repeats."""

        if self.staged is not None:
            return _update_at_staged(self.array, self.staged, values, maximum)
        return _scatter(self.array, self.idx, values, maximum)


class _IndexHelper:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.array, idx)


def at(x):
    """Functional indexed updates for any array: ``fnp.at(x)[idx].set(v)``.

    Tracers offer the same as ``x.at[idx].set(v)`` (JAX's spelling); also
    ``.add``, ``.multiply``, ``.divide``, ``.power``, ``.min``, ``.max`` and
    ``.get``.  Repeated indices apply every update (``set`` keeps one).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.at(fnp.zeros(3))[1].set(5.0)
        array([0., 5., 0.])
        >>> fnp.at(fnp.ones(2))[fnp.array([0, 0])].multiply(3.0)
        array([9., 1.])
    """
    return _IndexHelper(x)
