"""Functions written with primitives: differentiable with no rules of their own."""

import builtins

import numpy as np

from ..core import Tracer, concrete, defprim
from ..primitives.elementwise import (
    conjugate, greater, less, maximum, minimum, multiply, real, sqrt, subtract, where,
)
from ..primitives.reductions import mean, sum

__all__ = [
    "var", "std", "clip", "argmax", "argmin", "argsort", "isclose", "allclose",
    "iscomplexobj", "isrealobj", "nonzero", "count_nonzero", "any", "all",
]


def _traced(*xs):
    return builtins.any(isinstance(x, Tracer) for x in xs)


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance (``numpy.var``), with ``ddof``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.var)(fnp.array([1.0, 3.0]))
        array([-1.,  1.])
    """
    if not _traced(a):
        return np.var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    centred = subtract(a, mean(a, axis=axis, dtype=dtype, keepdims=True))
    sq = real(multiply(centred, conjugate(centred)))
    n = np.size(concrete(a)) // builtins.max(np.size(np.sum(concrete(a), axis=axis)), 1)
    return multiply(sum(sq, axis=axis, keepdims=keepdims), 1.0 / (n - ddof))


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation (``numpy.std``), with ``ddof``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.std(fnp.array([1.0, 3.0]))
        np.float64(1.0)
    """
    if not _traced(a):
        return np.std(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims)
    return sqrt(var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def clip(a, a_min=None, a_max=None):
    """Clip values to ``[a_min, a_max]`` (``numpy.clip``).

    The derivative is 1 inside the interval (boundaries included) and flows to
    the bound that is active outside it.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.clip(x, 0.0, 1.0).sum())(fnp.array([-1.0, 0.5, 2.0]))
        array([0., 1., 0.])
    """
    if not _traced(a, a_min, a_max):
        return np.clip(a, a_min, a_max)
    out = a
    if a_min is not None:
        out = where(less(out, a_min), a_min, out)
    if a_max is not None:
        out = where(greater(out, a_max), a_max, out)
    return out


def _nondiff(name, impl):
    return defprim(name, impl, nondiff=True, batch=None)


_argmax = _nondiff("argmax", lambda a, axis=None, keepdims=False: np.argmax(a, axis=axis, keepdims=keepdims))
_argmin = _nondiff("argmin", lambda a, axis=None, keepdims=False: np.argmin(a, axis=axis, keepdims=keepdims))
_argsort = _nondiff("argsort", lambda a, axis=-1: np.argsort(a, axis=axis, kind="stable"))


def argmax(a, axis=None, keepdims=False):
    """Indices of the maximum (``numpy.argmax``); integer output, no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.argmax(fnp.array([1.0, 3.0, 2.0])))
        1
    """
    return _argmax(a, axis=axis, keepdims=keepdims)


def argmin(a, axis=None, keepdims=False):
    """Indices of the minimum (``numpy.argmin``); integer output, no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.argmin(fnp.array([1.0, 3.0, 2.0])))
        0
    """
    return _argmin(a, axis=axis, keepdims=keepdims)


def argsort(a, axis=-1, kind=None, order=None):
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


def count_nonzero(a, axis=None, keepdims=False):
    """Number of non-zero values (``numpy.count_nonzero``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.count_nonzero(fnp.array([0.0, 2.0])))
        1
    """
    return np.count_nonzero(concrete(a), axis=axis, keepdims=keepdims)


def any(a, axis=None, keepdims=False):
    """Whether any element is true (``numpy.any``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.any(fnp.array([0.0, 2.0]) > 1))
        True
    """
    return np.any(concrete(a), axis=axis, keepdims=keepdims)


def all(a, axis=None, keepdims=False):
    """Whether all elements are true (``numpy.all``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.all(fnp.array([0.0, 2.0]) > 1))
        False
    """
    return np.all(concrete(a), axis=axis, keepdims=keepdims)


_ = (maximum, minimum)
