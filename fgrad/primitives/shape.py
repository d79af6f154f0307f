"""Rows of the rule table: shapes, joining and indexing.

Only a few shape operations are primitives (reshape, transpose, broadcast_to,
flip, concatenate, getitem and the ``.at`` updates); the rest are written with
them, so they are differentiable (and batchable) for free.
"""

import numpy as np

from ..core import Tracer, concrete, defprim, variadic

__all__ = [
    "reshape", "ravel", "transpose", "broadcast_to", "expand_dims", "squeeze",
    "moveaxis", "swapaxes", "flip", "concatenate", "stack", "getitem",
    "index_add", "index_set", "at", "matrix_transpose",
]


# --- reshape / transpose / broadcast ------------------------------------------

_reshape = defprim(
    "reshape", lambda x, shape: np.reshape(x, shape),
    jvp=[lambda t, ans, x, shape: _reshape(t, shape=shape)],
    vjp=[lambda g, ans, x, shape: _reshape(g, shape=np.shape(x))],
    batch="reshape",
    test={"params": [{"shape": (-1,)}]},
)


def reshape(a, shape=None, order="C", *, newshape=None):
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
    "transpose", lambda x, axes: np.transpose(x, axes),
    jvp=[lambda t, ans, x, axes: _transpose(t, axes=axes)],
    vjp=[lambda g, ans, x, axes: _transpose(g, axes=_inverse_permutation(axes))],
    batch="transpose",
    test={"make": lambda rng, shape: ((rng.standard_normal(shape),),
                                      {"axes": tuple(rng.permutation(len(shape)))})},
)


def transpose(a, axes=None):
    """Permute the axes of an array (``numpy.transpose``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.transpose(fnp.ones((2, 3))).shape
        (3, 2)
    """
    ndim = np.ndim(concrete(a))
    if axes is None:
        axes = tuple(range(ndim))[::-1]
    else:
        axes = tuple(int(ax) % ndim for ax in axes)
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
    return tuple(int(a) % ndim for a in axis)


def swapaxes(a, axis1, axis2):
    """Interchange two axes (``numpy.swapaxes``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.swapaxes(fnp.ones((2, 3)), 0, 1).shape
        (3, 2)
    """
    ndim = np.ndim(concrete(a))
    order = list(range(ndim))
    i, j = axis1 % ndim, axis2 % ndim
    order[i], order[j] = order[j], order[i]
    return transpose(a, order)


_broadcast_to = defprim(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    jvp=[lambda t, ans, x, shape: _broadcast_to(t, shape=shape)],
    vjp=[lambda g, ans, x, shape: g],  # summed back to x's shape centrally
    batch="broadcast_to",
    test={"make": lambda rng, shape: ((rng.standard_normal(shape),), {"shape": (2,) + shape})},
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
    return _broadcast_to(array, shape=tuple(shape))


def expand_dims(a, axis):
    """Insert new axes of length one (``numpy.expand_dims``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.expand_dims(fnp.ones(3), 0).shape
        (1, 3)
    """
    shape = np.expand_dims(np.empty(np.shape(concrete(a)), dtype=bool), axis).shape
    return reshape(a, shape)


def squeeze(a, axis=None):
    """Remove axes of length one (``numpy.squeeze``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.squeeze(fnp.ones((1, 3, 1))).shape
        (3,)
    """
    shape = np.squeeze(np.empty(np.shape(concrete(a)), dtype=bool), axis).shape
    return reshape(a, shape)


_flip = defprim(
    "flip", lambda x, axis: np.flip(x, axis),
    jvp=[lambda t, ans, x, axis: _flip(t, axis=axis)],
    vjp=[lambda g, ans, x, axis: _flip(g, axis=axis)],
    batch="axis",
    test={"params": [{"axis": None}, {"axis": 0}]},
)


def flip(m, axis=None):
    """Reverse the order of elements along the given axes (``numpy.flip``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.flip(fnp.arange(3.0))
        array([2., 1., 0.])
    """
    return _flip(m, axis=axis)


# --- joining --------------------------------------------------------------------


def _concat_slice(i, g, ans, *xs, axis):
    start = int(np.sum([np.shape(x)[axis] for x in xs[:i]], dtype=int))
    stop = start + np.shape(xs[i])[axis]
    idx = [slice(None)] * np.ndim(g)
    idx[axis] = slice(start, stop)
    return getitem(g, tuple(idx))


def _concat_tangent(i, t, ans, *xs, axis):
    from .elementwise import astype

    parts = [
        t if j == i else np.zeros(np.shape(x), dtype=np.result_type(t))
        for j, x in enumerate(xs)
    ]
    return astype(_concatenate(*parts, axis=axis), t.dtype)


_concatenate = defprim(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
    jvp=variadic(_concat_tangent),
    vjp=variadic(_concat_slice),
    batch="concatenate",
    test={"make": lambda rng, shape: (
        (rng.standard_normal((2,) + shape), rng.standard_normal((1,) + shape)), {"axis": 0})},
)


def _has_tracer(seq):
    return any(isinstance(x, Tracer) for x in seq)


def concatenate(arrays, axis=0):
    """Join arrays along an existing axis (``numpy.concatenate``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.concatenate([fnp.ones(2), fnp.zeros(1)])
        array([1., 1., 0.])
    """
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    if not _has_tracer(arrays):
        return np.concatenate(arrays, axis=axis)
    ndim = np.ndim(concrete(arrays[0]))
    return _concatenate(*arrays, axis=axis % ndim if ndim else axis)


def stack(arrays, axis=0):
    """Join arrays along a new axis (``numpy.stack``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.stack([fnp.ones(2), fnp.zeros(2)]).shape
        (2, 2)
    """
    arrays = tuple(arrays)
    if not _has_tracer(arrays):
        return np.stack(arrays, axis=axis)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


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


def _is_basic(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items
    )


def _getitem_impl(x, idx):
    return np.asarray(x)[idx]


def _getitem_vjp(g, ans, x, idx):
    from ..numpy import zeros

    return index_add(zeros(np.shape(x), dtype=g.dtype), g, idx=idx)


_getitem = defprim(
    "getitem", _getitem_impl,
    jvp=[lambda t, ans, x, idx: _getitem(t, idx=idx)],
    vjp=[_getitem_vjp],
    batch="getitem",
    test={"make": lambda rng, shape: ((rng.standard_normal((3,) + shape),),
                                      {"idx": [0, slice(1, None), np.array([0, 2, 0])][rng.integers(3)]}),
          "also": [lambda rng, shape: ((rng.standard_normal((4, 3)),),
                                       {"idx": rng.standard_normal((4, 3)) > 0})]},
)


def getitem(x, idx):
    """``x[idx]`` for basic, integer-array and boolean-mask indices.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: x[fnp.array([0, 0, 2])].sum())(fnp.ones(3))
        array([2., 0., 1.])
    """
    return _getitem(x, idx=_static_index(idx))


def _index_add_impl(x, y, idx):
    out = np.array(x, copy=True)
    if _is_basic(idx):
        out[idx] += y
    else:
        np.add.at(out, idx, y)
    return out


def _index_set_impl(x, y, idx):
    out = np.array(x, copy=True)
    out[idx] = y
    return out


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
        {"idx": np.array([0, 2, 0])})},
)
index_set = defprim(
    "index_set", _index_set_impl,
    jvp=[
        lambda t, ans, x, y, idx: index_set(t, 0.0, idx=idx),
        lambda t, ans, x, y, idx: index_set(np.zeros(np.shape(ans), dtype=t.dtype), t, idx=idx),
    ],
    vjp=[
        lambda g, ans, x, y, idx: index_set(g, 0.0, idx=idx),
        lambda g, ans, x, y, idx: _getitem(g, idx=idx),
    ],
    batch="index_update",
    test={"make": lambda rng, shape: (
        (rng.standard_normal((4,) + shape), rng.standard_normal((2,) + shape)),
        {"idx": slice(1, 3)})},
)


class _IndexUpdateRef:
    __slots__ = ("array", "idx")

    def __init__(self, array, idx):
        self.array = array
        self.idx = _static_index(idx)

    def get(self):
        """The selected values: ``x.at[idx].get()`` is ``x[idx]``."""
        return _getitem(self.array, idx=self.idx)

    def set(self, values):
        """A copy of the array with ``values`` written at ``idx``."""
        return index_set(self.array, values, idx=self.idx)

    def add(self, values):
        """A copy with ``values`` added at ``idx`` (repeated indices accumulate)."""
        return index_add(self.array, values, idx=self.idx)

    def multiply(self, values):
        """A copy with the entries at ``idx`` multiplied by ``values``."""
        from .elementwise import multiply

        return index_set(self.array, multiply(_getitem(self.array, idx=self.idx), values), idx=self.idx)

    def min(self, values):
        """A copy with the entries at ``idx`` replaced by ``minimum(x[idx], values)``."""
        from .elementwise import minimum

        return index_set(self.array, minimum(_getitem(self.array, idx=self.idx), values), idx=self.idx)

    def max(self, values):
        """A copy with the entries at ``idx`` replaced by ``maximum(x[idx], values)``."""
        from .elementwise import maximum

        return index_set(self.array, maximum(_getitem(self.array, idx=self.idx), values), idx=self.idx)


class _IndexHelper:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, idx):
        return _IndexUpdateRef(self.array, idx)


def at(x):
    """Functional indexed updates for any array: ``fnp.at(x)[idx].set(v)``.

    Tracers offer the same as ``x.at[idx].set(v)`` (JAX's spelling).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.at(fnp.zeros(3))[1].set(5.0)
        array([0., 5., 0.])
    """
    return _IndexHelper(x)
