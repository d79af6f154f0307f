"""Array manipulation beyond the shape rows: ``insert`` (values placed before given
indices).

It calls numpy itself when no argument is traced; on tracers numpy works out
which element goes where (on integer codes), and the result is a gather of the
array and the values, so it is differentiable in both.
"""

import numpy as np

from ..primitives.elementwise import astype
from ..primitives.shape import concatenate, getitem, ravel
from ._arguments import _dtype, _plain, _shape, _traced
from ._creation import asarray

__all__ = ["insert"]


def insert(arr, obj, values, axis=None):
    """Insert ``values`` before the indices ``obj`` (``numpy.insert``).

    Differentiable in ``arr`` and ``values`` (values broadcast into several slots
    collect the cotangent of each).  ``obj`` is an integer, a slice or a
    sequence, as in numpy; ``axis=None`` works on the flattened array.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.insert(fnp.array([1.0, 2.0]), 1, fnp.array(9.0))
        array([1., 9., 2.])
        >>> v = fnp.array([1.0, 2.0])
        >>> fgrad.grad(lambda v: fnp.insert(fnp.zeros((2, 2)), [0, 2], v, axis=1).sum())(v)
        array([2., 2.])
    """
    if not _traced(arr, obj, values):
        return np.insert(arr, obj, values, axis=axis)
    arr, values = asarray(arr), asarray(values)
    shape, vshape = _shape(arr), _shape(values)
    n, m = int(np.prod(shape, dtype=np.int64)), int(np.prod(vshape, dtype=np.int64))
    # numpy lays out integer codes: i >= 0 is arr.flat[i], -1 - k is values.flat[k]
    codes = np.arange(n, dtype=np.intp).reshape(shape)
    vcodes = (-1 - np.arange(m, dtype=np.intp)).reshape(vshape)
    pos = _plain(obj, "insert", "obj") if _traced(obj) else obj
    layout = np.insert(codes, pos, vcodes, axis=axis)
    source_idx = np.where(layout >= 0, layout, n - 1 - layout)
    dtype = _dtype(arr)
    if _dtype(values) != dtype:
        values = astype(values, dtype)
    return getitem(concatenate([ravel(arr), ravel(values)]), source_idx)
