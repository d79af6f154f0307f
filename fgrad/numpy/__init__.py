"""fgrad.numpy: numpy-compatible functions that accept arrays, scalars and tracers.

Use it as ``import fgrad.numpy as fnp``.  On plain numpy inputs every function
returns exactly what numpy returns; on tracers it records the operation for
differentiation.  Plain ``numpy`` code differentiates too: numpy hands tracers
to these functions through ``__array_ufunc__``/``__array_function__``.

Wherever numpy takes an array-like, a (nested) list or tuple holding traced
values is made one traced array (``fnp.mean([x, y])``).  numpy's ``out=`` is
refused on traced values (use the returned value); ``where=`` is supported, with
derivatives, by the reductions (``sum``, ``mean``, ``prod``, ``max``, ``min``,
``var``, ``std``, ``all``, ``any`` and the ``nan`` versions) and refused elsewhere
on traced values, since numpy leaves the masked-out entries of a ufunc's result
uninitialized: write ``fnp.where(mask, fnp.sin(x), fallback)`` instead.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> fgrad.grad(lambda x: fnp.sum(fnp.sin(x) ** 2))(fnp.zeros(2))
    array([0., 0.])
"""

# ruff: noqa: I001  (import order is the namespace layering: later modules build on earlier)
import sys as _sys

import numpy as _np

from ..primitives.elementwise import *  # noqa: F401,F403
from ..primitives.products import *  # noqa: F401,F403
from ..primitives.reductions import *  # noqa: F401,F403
from ..primitives.scans import *  # noqa: F401,F403
from ..primitives.shape import *  # noqa: F401,F403
from ..primitives.indexing import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._logic import *  # noqa: F401,F403
from ._sorting_searching import *  # noqa: F401,F403
from ._piecewise import *  # noqa: F401,F403
from ._statistics import *  # noqa: F401,F403
from ._polynomials import *  # noqa: F401,F403
from ._differences import *  # noqa: F401,F403
from ._manipulation import *  # noqa: F401,F403
from ._index_tricks import *  # noqa: F401,F403
from ._types import *  # noqa: F401,F403  (every numpy type name, fnp.ndarray)
from . import fft, linalg  # noqa: F401,E402

# Constants and dtypes, so that `fnp.pi` and `fnp.float32` work as in numpy.
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, _np.newaxis
float16, float32, float64 = _np.float16, _np.float32, _np.float64
complex64, complex128 = _np.complex64, _np.complex128
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, bool_, dtype = _np.uint8, _np.bool_, _np.dtype
from ._numpy_itself import ndim, result_type, shape, size  # noqa: E402,F401  (numpy's, own docs)

from ._rowdocs import apply as _apply_docs  # noqa: E402
from ._rowdocs import apply_composites as _apply_composites  # noqa: E402

_apply_docs(_sys.modules[__name__])  # fgrad's docstrings for the rows' functions (not numpy's)
for _module, _prefix in ((_sys.modules[__name__], ""), (linalg, "linalg."), (fft, "fft.")):
    _apply_composites(_module, _prefix)  # and what the composites differentiate

from ._dispatch import install as _install  # noqa: E402

_install(_sys.modules[__name__])  # tracers' methods and numpy's protocols reach these functions

from . import array_api  # noqa: E402  (traced values' __array_namespace__)

array_api._bind(_sys.modules[__name__])
