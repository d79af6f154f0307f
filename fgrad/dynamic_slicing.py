"""Slices whose start is a value: ``fgrad.lax.dynamic_slice`` and its relatives.

``x[i:i + k]`` needs ``i`` while the function is traced, because numpy's basic
slicing reads the bounds as Python integers; under :func:`fgrad.jit` (or for the
index of a :func:`fgrad.lax.fori_loop` body) ``i`` is known only when the program
runs.  These functions take the start as a value and the size as a Python int,
so the result's shape never depends on a value (JAX's ``lax.dynamic_slice``
semantics): a negative start counts from the end, and a start that would run
past either end is moved so the slice fits.

A start that is a plain integer becomes an ordinary slice (a view, the cheapest
form).  A traced start becomes a gather (``fnp.take`` of ``start + arange(k)``)
for a slice and a masked select for an update, so everything is made of
fgrad.numpy's functions and differentiates, batches and stages like them.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad import lax
    >>> x = fnp.arange(6.0)
    >>> lax.dynamic_slice(x, (4,), (3,))        # moved to fit: x[3:6]
    array([3., 4., 5.])
    >>> window = fgrad.jit(lambda x, i: lax.dynamic_slice_in_dim(x, i, 2))
    >>> window(x, 1), window(x, -2)              # one program for every start
    (array([1., 2.]), array([4., 5.]))
"""

from __future__ import annotations

import operator

import numpy as np

from . import numpy as fnp
from .core import Tracer, dtype_of, shape_of

__all__ = [
    "dynamic_slice", "dynamic_slice_in_dim", "dynamic_index_in_dim",
    "dynamic_update_slice", "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim",
]


def _integer_start(s, who, k):
    """A start index: a Python/numpy integer, or a traced 0-d integer."""
    if isinstance(s, Tracer):
        if shape_of(s) != () or np.dtype(dtype_of(s)).kind not in "iu":
            raise TypeError(
                f"{who}: start index {k} must be a scalar integer, not a traced "
                f"{np.dtype(dtype_of(s))} array of shape {shape_of(s)}.")
        return s
    if isinstance(s, (bool, np.bool_)) or np.ndim(s) != 0 or np.result_type(s).kind not in "iu":
        raise TypeError(f"{who}: start index {k} must be a scalar integer, got {s!r}.")
    return int(s)


def _starts(start_indices, ndim, who):
    if isinstance(start_indices, Tracer) or (
            isinstance(start_indices, np.ndarray) and start_indices.ndim == 1):
        start_indices = [start_indices[k] for k in range(shape_of(start_indices)[0])]
    try:
        starts = list(start_indices)
    except TypeError:
        raise TypeError(f"{who}: start_indices must be a sequence of scalar integers, one "
                        f"per axis, not {type(start_indices).__name__}.") from None
    if len(starts) != ndim:
        raise ValueError(f"{who}: {len(starts)} start indices for an array of {ndim} axes; "
                         "give one per axis.")
    return [_integer_start(s, who, k) for k, s in enumerate(starts)]


def _sizes(slice_sizes, shape, who):
    try:
        sizes = [operator.index(k) for k in slice_sizes]
    except TypeError:
        raise TypeError(f"{who}: slice_sizes must be Python integers (the result's shape), "
                        f"got {slice_sizes!r}.") from None
    if len(sizes) != len(shape):
        raise ValueError(f"{who}: {len(sizes)} slice sizes for an array of {len(shape)} "
                         "axes; give one per axis.")
    for k, (size, n) in enumerate(zip(sizes, shape)):
        if not 0 <= size <= n:
            raise ValueError(f"{who}: slice size {size} on axis {k} does not fit an axis of "
                             f"length {n}.")
    return sizes


def _fit(s, n, size):
    """The start moved as JAX moves it: from the end if negative, then into
    ``[0, n - size]``.  A plain int stays one; a traced start is computed."""
    if not isinstance(s, Tracer):
        s = s + n if s < 0 else s
        return min(max(s, 0), n - size)
    return fnp.clip(fnp.where(s < 0, s + n, s), 0, n - size)


def _axis(axis, ndim, who):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"{who}: axis must be an integer, got {axis!r}.") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"{who}: axis {axis} is out of range for an array of {ndim} axes.")
    return axis % ndim


def dynamic_slice(operand, start_indices, slice_sizes):
    """The block of ``operand`` of shape ``slice_sizes`` starting at ``start_indices``
    (``jax.lax.dynamic_slice``).

    The starts may be traced (staged by :func:`fgrad.jit`, a loop index, batched
    under :func:`fgrad.vmap`); the sizes are Python ints.  A negative start counts
    from the end, and a block that would run past an end is moved to fit, so the
    result always has shape ``slice_sizes``.  Differentiable in ``operand``.

    Args:
        operand: the array to slice.
        start_indices: one scalar integer per axis.
        slice_sizes: one Python int per axis, at most the axis's length.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> x = fnp.arange(12.0).reshape(3, 4)
        >>> lax.dynamic_slice(x, (1, 1), (2, 3))
        array([[ 5.,  6.,  7.],
               [ 9., 10., 11.]])
    """
    who = "lax.dynamic_slice"
    x = fnp.asarray(operand)
    shape = shape_of(x)
    starts = _starts(start_indices, len(shape), who)
    sizes = _sizes(slice_sizes, shape, who)
    starts = [_fit(s, n, size) for s, n, size in zip(starts, shape, sizes)]
    static = tuple(slice(s, s + size) for s, size in zip(starts, sizes)
                   if not isinstance(s, Tracer))
    if len(static) == len(shape):
        return x[static] if shape else x
    out = x
    for axis, (s, size) in enumerate(zip(starts, sizes)):
        if isinstance(s, Tracer):
            out = fnp.take(out, s + np.arange(size), axis=axis)
        elif size != shape[axis]:
            out = out[(slice(None),) * axis + (slice(s, s + size),)]
    return out


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """``operand[..., start:start + slice_size, ...]`` along ``axis`` with a start that
    may be traced (``jax.lax.dynamic_slice_in_dim``); the start moves to fit as in
    :func:`dynamic_slice`.

    Args:
        operand: the array to slice.
        start_index: a scalar integer.
        slice_size: a Python int.
        axis: the axis sliced.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.dynamic_slice_in_dim(fnp.arange(5.0), 4, 3)   # moved to fit
        array([2., 3., 4.])
    """
    who = "lax.dynamic_slice_in_dim"
    x = fnp.asarray(operand)
    shape = shape_of(x)
    axis = _axis(axis, len(shape), who)
    starts = [0] * len(shape)
    starts[axis] = start_index
    sizes = list(shape)
    sizes[axis] = slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """The entry ``index`` along ``axis``, with an index that may be traced
    (``jax.lax.dynamic_index_in_dim``); the axis is kept with length 1 unless
    ``keepdims=False``.  An out-of-range index is moved to the nearest end.

    Args:
        operand: the array to index.
        index: a scalar integer.
        axis: the axis indexed.
        keepdims: keep ``axis`` with length 1.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.dynamic_index_in_dim(fnp.arange(6.0).reshape(2, 3), 1, axis=1, keepdims=False)
        array([1., 4.])
    """
    who = "lax.dynamic_index_in_dim"
    x = fnp.asarray(operand)
    axis = _axis(axis, len(shape_of(x)), who)
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else fnp.squeeze(out, axis=axis)


def dynamic_update_slice(operand, update, start_indices):
    """A copy of ``operand`` with the block ``update`` written at ``start_indices``
    (``jax.lax.dynamic_update_slice``).

    The starts may be traced; the block is moved to fit as in :func:`dynamic_slice`.
    ``update`` has as many axes as ``operand``, each no longer, and is cast to
    ``operand``'s dtype.  Differentiable in ``operand`` (outside the block) and in
    ``update``.  With a traced start the update is a masked select over the whole
    array (one pass over ``operand``).

    Args:
        operand: the array written into (it is not changed: the result is new).
        update: the block written.
        start_indices: one scalar integer per axis.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.dynamic_update_slice(fnp.zeros(6), fnp.ones(3), (5,))   # moved to fit
        array([0., 0., 0., 1., 1., 1.])
        >>> put = fgrad.jit(lambda x, v, i: lax.dynamic_update_slice(x, v, (i,)))
        >>> put(fnp.zeros(4), fnp.array([7.0, 8.0]), 1)
        array([0., 7., 8., 0.])
    """
    who = "lax.dynamic_update_slice"
    x = fnp.asarray(operand)
    u = fnp.asarray(update)
    shape, ushape = shape_of(x), shape_of(u)
    if len(ushape) != len(shape):
        raise ValueError(f"{who}: update has {len(ushape)} axes and operand {len(shape)}; "
                         "give the update as many axes (fnp.expand_dims / reshape).")
    starts = _starts(start_indices, len(shape), who)
    sizes = _sizes(ushape, shape, who)
    dtype = np.dtype(dtype_of(x))
    if np.dtype(dtype_of(u)) != dtype:
        u = fnp.astype(u, dtype)
    starts = [_fit(s, n, size) for s, n, size in zip(starts, shape, sizes)]
    if not any(isinstance(s, Tracer) for s in starts):
        block = tuple(slice(s, s + size) for s, size in zip(starts, sizes))
        return fnp.at(x)[block].set(u)
    if 0 in sizes:  # an empty block writes nothing
        return fnp.copy(x)
    # the update spread over the operand's shape (entry p of an axis reads the
    # block's entry p - start, clipped), kept only inside the block
    spread, inside = u, None
    for axis, (s, n, size) in enumerate(zip(starts, shape, sizes)):
        pos = np.arange(n).reshape((n,) + (1,) * (len(shape) - axis - 1))
        spread = fnp.take(spread, fnp.clip(np.arange(n) - s, 0, size - 1), axis=axis)
        here = (pos >= s) & (pos < s + size)
        inside = here if inside is None else inside & here
    return fnp.where(inside, spread, x)


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """:func:`dynamic_update_slice` along one axis (``jax.lax.dynamic_update_slice_in_dim``):
    the other axes of ``update`` cover ``operand``'s from 0.

    Args:
        operand: the array written into.
        update: the block written, as many axes as ``operand``.
        start_index: a scalar integer, the start along ``axis``.
        axis: the axis the start applies to.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.dynamic_update_slice_in_dim(fnp.zeros((2, 3)), fnp.ones((2, 1)), 2, axis=1)
        array([[0., 0., 1.],
               [0., 0., 1.]])
    """
    who = "lax.dynamic_update_slice_in_dim"
    x = fnp.asarray(operand)
    axis = _axis(axis, len(shape_of(x)), who)
    starts = [0] * len(shape_of(x))
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """``operand`` with the entry ``index`` along ``axis`` replaced by ``update``
    (``jax.lax.dynamic_update_index_in_dim``); ``update`` may lack that axis.

    Args:
        operand: the array written into.
        update: the values written, shaped like one entry along ``axis`` (with or
            without that axis).
        index: a scalar integer.
        axis: the axis indexed.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.dynamic_update_index_in_dim(fnp.zeros((3, 2)), fnp.array([1.0, 2.0]), 1, 0)
        array([[0., 0.],
               [1., 2.],
               [0., 0.]])
    """
    who = "lax.dynamic_update_index_in_dim"
    x = fnp.asarray(operand)
    axis = _axis(axis, len(shape_of(x)), who)
    u = fnp.asarray(update)
    if len(shape_of(u)) == len(shape_of(x)) - 1:
        u = fnp.expand_dims(u, axis)
    return dynamic_update_slice_in_dim(x, u, index, axis)
