"""Logic: comparisons of whole arrays (isclose, allclose), truth tests (any, all),
and dtype tests (iscomplexobj, isrealobj).

Their results are booleans, so they carry no derivative: each one reads the
values of traced arguments and answers with numpy's own result.
"""

import numpy as np

from ..core import concrete
from ..primitives.reductions import _NO_VALUE
from ._arguments import _kw

__all__ = ["isclose", "allclose", "any", "all", "iscomplexobj", "isrealobj"]


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


def any(a, axis=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Whether any element is true (``numpy.any``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.any(fnp.array([0.0, 2.0]) > 1))
        True
    """
    return np.any(concrete(a), axis=axis, out=out, **_kw(keepdims=keepdims, where=where))


def all(a, axis=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Whether all elements are true (``numpy.all``); no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> bool(fnp.all(fnp.array([0.0, 2.0]) > 1))
        False
    """
    return np.all(concrete(a), axis=axis, out=out, **_kw(keepdims=keepdims, where=where))


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
