"""How fgrad.numpy's functions read their arguments.

Every function first asks whether an argument is traced (then it records fgrad
operations; otherwise it calls numpy itself), reads the shape and dtype of
values that may be tracers, takes the plain value of arguments that decide the
layout of the result, and refuses ``out=``.
"""

import numpy as np

from ..core import BatchedValueError, Tracer, concrete, dtype_of, ndim_of, shape_of
from ..primitives.reductions import _NO_VALUE


def _contains_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def _traced(*xs):
    """True if any argument is, or (as a list/tuple) holds, a tracer."""
    return any(_contains_tracer(x) for x in xs)


# shape, rank and dtype of values that may be tracers: core's readers
_shape, _ndim, _dtype = shape_of, ndim_of, dtype_of


def _plain(x, name, what):
    """The concrete numpy value of an argument that only steers the layout.

    Under ``vmap`` it must be the same in every example; otherwise the error
    says which argument of which function was the problem.
    """
    try:
        return np.asarray(concrete(x))
    except BatchedValueError:
        raise BatchedValueError(
            f"fgrad.numpy.{name}: `{what}` is batched by fgrad.vmap and differs between the "
            "examples, but it decides the layout (shape) of the result, which must be the "
            "same for every example. Pass it unbatched (in_axes=None), or loop over the "
            "examples in Python."
        ) from None


def _kw(**kwargs):
    return {k: v for k, v in kwargs.items() if v is not _NO_VALUE}
