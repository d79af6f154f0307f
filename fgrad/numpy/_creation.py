"""Array creation.  Results are constants (no derivative flows into them),
except ``array``/``asarray`` of sequences holding tracers, which stack them."""

import numpy as np

from ..core import Tracer, concrete
from ..primitives.elementwise import astype
from ..primitives.shape import expand_dims, stack

__all__ = [
    "array", "asarray", "asanyarray", "zeros", "ones", "empty", "full", "zeros_like",
    "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "eye",
    "identity",
]

zeros, ones, empty, full = np.zeros, np.ones, np.empty, np.full
arange, linspace, logspace, eye, identity = np.arange, np.linspace, np.logspace, np.eye, np.identity


def _contains_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def _stack_nested(obj):
    if isinstance(obj, (list, tuple)):
        return stack([_stack_nested(o) for o in obj])
    return obj


def array(object, dtype=None, copy=True, ndmin=0):
    """Create an array (``numpy.array``); sequences of tracers are stacked.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.array([x, 2 * x]).sum())(1.0)
        np.float64(3.0)
    """
    if not _contains_tracer(object):
        return np.array(object, dtype=dtype, copy=copy, ndmin=ndmin)
    out = _stack_nested(object)
    if dtype is not None:
        out = astype(out, dtype)
    while np.ndim(concrete(out)) < ndmin:
        out = expand_dims(out, 0)
    return out


def asarray(a, dtype=None):
    """Convert to an array (``numpy.asarray``); tracers pass through unchanged.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.asarray([1.0, 2.0])
        array([1., 2.])
    """
    if isinstance(a, Tracer):
        return a if dtype is None or np.dtype(dtype) == a.dtype else astype(a, dtype)
    if _contains_tracer(a):
        return array(a, dtype=dtype)
    return np.asarray(a, dtype=dtype)


asanyarray = asarray


def _like(np_fn):

    def fn(a, *args, **kwargs):
        return np_fn(concrete(a), *args, **kwargs)

    fn.__name__ = np_fn.__name__
    fn.__doc__ = (
        f"``numpy.{np_fn.__name__}`` of the value's shape and dtype; a constant.\n\n"
        f"    Example:\n        >>> import fgrad.numpy as fnp\n"
        f"        >>> fnp.{np_fn.__name__}(fnp.ones(2), *{'(3.0,)' if 'full' in np_fn.__name__ else '()'}).shape\n"
        f"        (2,)\n"
    )
    return fn


zeros_like = _like(np.zeros_like)
ones_like = _like(np.ones_like)
empty_like = _like(np.empty_like)
full_like = _like(np.full_like)
