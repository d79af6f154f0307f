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


def _truth_test(name, what, answer):
    np_fn = getattr(np, name)

    def truth_test(a, axis=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
        return np_fn(concrete(a), axis=axis, out=out, **_kw(keepdims=keepdims, where=where))

    truth_test.__name__ = truth_test.__qualname__ = name
    truth_test.__doc__ = (
        f"Whether {what} element is true (``numpy.{name}``); no derivative.\n\n"
        f"    Example:\n        >>> import fgrad.numpy as fnp\n"
        f"        >>> bool(fnp.{name}(fnp.array([0.0, 2.0]) > 1))\n        {answer}\n")
    return truth_test


any = _truth_test("any", "any", True)
all = _truth_test("all", "every", False)


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
