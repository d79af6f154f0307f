"""numpy's type names in fgrad.numpy, the array type, and ``real_if_close``.

Every scalar type, dtype class and dtype helper numpy's namespace has
(``float64``, ``longdouble``, ``intc``, ``bool_``, ``str_``, ``generic``,
``floating``, ``datetime64``, ``dtype``, ``finfo``, ``iinfo``, ``issubdtype`` ...)
is taken from the installed numpy by a loop, so the same object is reachable as
``fnp.<name>`` and code written against numpy's namespace runs unchanged
(``fnp.float128`` exists exactly where numpy has it).  The helper *functions*
among them (``issubdtype``, ``promote_types`` ...) are thin functions calling
numpy's with the same arguments (fgrad/numpy/_numpy_itself.py), so that they
carry fgrad's docstrings.

The one exception is :class:`ndarray`: ``fnp.ndarray`` is a class of its own,
for which ``isinstance`` is True for numpy arrays and for traced values.
"""

import numpy as np

from ..core import Tracer
from ._arguments import _contains_tracer, _dtype
from ._creation import asarray


def _is_type_name(value):
    return isinstance(value, type) and (issubclass(value, (np.generic, np.dtype)))


# functions and tables about dtypes (they take dtypes, not array values)
_DTYPE_HELPERS = ("finfo", "iinfo", "issubdtype", "isdtype", "promote_types", "can_cast",
                  "min_scalar_type", "common_type", "mintypecode", "typename", "typecodes",
                  "sctypeDict", "ScalarType", "dtypes", "True_", "False_")

TYPE_NAMES = sorted(
    name for name in dir(np)
    if not name.startswith("_") and (_is_type_name(getattr(np, name)) or name in _DTYPE_HELPERS)
)
globals().update({name: getattr(np, name) for name in TYPE_NAMES})
# the dtype helpers among them: numpy's functions with fgrad's docstrings
from ._numpy_itself import (  # noqa: E402,F401
    can_cast,
    common_type,
    isdtype,
    issubdtype,
    min_scalar_type,
    mintypecode,
    promote_types,
    typename,
)


class _ArrayType(type):
    """The metaclass of :class:`ndarray`: instance and subclass checks accept numpy
    arrays and tracers, calls build numpy arrays, class attributes are numpy's."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, (np.ndarray, Tracer))

    def __subclasscheck__(cls, sub):
        return sub is cls or issubclass(sub, (np.ndarray, Tracer))

    def __call__(cls, *args, **kwargs):
        return np.ndarray(*args, **kwargs)

    def __getattr__(cls, name):
        try:
            return getattr(np.ndarray, name)
        except AttributeError:
            raise AttributeError(f"fgrad.numpy.ndarray has no attribute {name!r}") from None


class ndarray(metaclass=_ArrayType):
    """The array type: ``isinstance(x, fnp.ndarray)`` is True for numpy arrays and
    for traced values, so code that checks for arrays works under a transform.

    Decisions: it is not ``numpy.ndarray`` itself (numpy's type cannot be told
    about tracers) but a class whose metaclass answers ``isinstance`` with
    ``isinstance(x, (numpy.ndarray, fgrad.core.Tracer))``;
    ``issubclass(numpy.ndarray, fnp.ndarray)`` is True, and so is it for the
    tracer classes.  It is virtual: calling it, ``fnp.ndarray((2, 3))``, builds a
    plain ``numpy.ndarray`` (as numpy does), its class attributes are
    ``numpy.ndarray``'s (``fnp.ndarray.sum``), but it is not a base class numpy can
    view arrays as (``a.view(fnp.ndarray)`` raises numpy's TypeError).  fgrad itself
    never checks against it: its checks use ``numpy.ndarray`` and ``Tracer``
    directly, so nothing on fgrad's per-operation path pays for the metaclass;
    only user code that calls ``isinstance(x, fnp.ndarray)`` does: one Python-level
    call, about 1,300 more machine instructions than ``isinstance(x, np.ndarray)``
    (counted with callgrind).

    Example:
        >>> import numpy as np, fgrad, fgrad.numpy as fnp
        >>> isinstance(np.ones(2), fnp.ndarray), isinstance(1.0, fnp.ndarray)
        (True, False)
        >>> fgrad.grad(lambda x: (print(isinstance(x, fnp.ndarray)), x.sum())[1])(np.ones(2))
        True
        array([1., 1.])
        >>> issubclass(np.ndarray, fnp.ndarray), fnp.ndarray((2,)).shape
        (True, (2,))
    """


def real_if_close(a, tol=100):
    """The real part of a complex array whose imaginary parts are all within ``tol``
    machine epsilons of zero, else the array unchanged (``numpy.real_if_close``).

    numpy chooses the result's dtype from the values.  fgrad never decides from
    traced values, so: a real traced array is returned unchanged (derivative the
    identity), and a complex traced array raises a TypeError.  Decide yourself
    and differentiate ``fnp.real(z)`` (its derivative is well defined), e.g.
    ``fnp.real(z) if fnp.all(fnp.abs(fnp.imag(z)) < tol) else z`` as ordinary
    Python control flow in your function.  Without tracers, numpy's result.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.real_if_close(fnp.array([2.0 + 1e-15j, 1.0]))
        array([2., 1.])
        >>> fgrad.grad(lambda x: fnp.sum(fnp.real_if_close(x) ** 2))(fnp.array([1.0, 2.0]))
        array([2., 4.])
    """
    if not _contains_tracer(a):
        return np.real_if_close(a, tol=tol)
    a = asarray(a)
    if not np.issubdtype(_dtype(a), np.complexfloating):
        return a
    raise TypeError(
        "fgrad.numpy.real_if_close: the argument is a traced complex array, and whether the "
        "result is real would be decided from its values, which fgrad never does for traced "
        "data. Decide in your function instead: use fgrad.numpy.real(z) where the imaginary "
        "part is known to be negligible (e.g. `fnp.real(z) if fnp.all(fnp.abs(fnp.imag(z)) < "
        "tol) else z`), or keep z complex"
    )


__all__ = TYPE_NAMES + ["ndarray", "real_if_close"]
