"""The array API standard over fgrad: the namespace ``x.__array_namespace__()`` returns.

Code written against the standard (https://data-apis.org/array-api/) asks its
arrays for their namespace and calls only that: given fgrad's traced values it
gets this module, whose functions are fgrad.numpy's (under the standard's names
and signatures), so it differentiates unchanged.  Plain numpy arrays keep
numpy's namespace; call ``fgrad.numpy.array_api`` functions on them directly if
wanted (they then return numpy's values).

What differs from fgrad.numpy is only naming and signatures: ``concat``,
``permute_dims``, ``pow``, ``acos``..., ``bitwise_left_shift``, ``unique_*``,
``unstack``, ``astype(x, dtype, copy=)``, ``asarray(obj, copy=, device=)``,
``sort(descending=)``, ``std(correction=)``, keyword-only ``axis``,
``device=`` on creation functions, the ``linalg`` and ``fft`` extensions, and
``__array_namespace_info__``.  There is one device, ``"cpu"`` (numpy's name).

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> def f(x):
    ...     xp = x.__array_namespace__()
    ...     return xp.sum(xp.pow(xp.concat([x, xp.acos(x)]), 2))
    >>> fgrad.grad(f)(fnp.array([0.5]))
    array([-1.41839915])
"""

import types as _types
from collections import namedtuple as _namedtuple

import numpy as np

from ..core import FUNCTIONS, Tracer, dtype_of, shape_of
from . import fft as _fnp_fft
from . import linalg as _fnp_linalg
from ._arguments import _contains_tracer

#: fgrad.numpy itself, given by :func:`_bind` when the package has loaded (the package
#: imports this module last; importing the package here would be a cycle)
_fnp = None

__array_api_version__ = "2024.12"
_VERSIONS = ("2021.12", "2022.12", "2023.12", "2024.12")

#: the one device: numpy's arrays say ``x.device == "cpu"``
CPU = "cpu"

# constants and data types (numpy's scalar types: ``x.dtype == float64`` holds)
e, inf, nan, newaxis, pi = np.e, np.inf, np.nan, np.newaxis, np.pi
bool = np.bool_  # noqa: A001  (the standard's name)
int8, int16, int32, int64 = np.int8, np.int16, np.int32, np.int64
uint8, uint16, uint32, uint64 = np.uint8, np.uint16, np.uint32, np.uint64
float32, float64, complex64, complex128 = np.float32, np.float64, np.complex64, np.complex128
finfo, iinfo, isdtype, can_cast, result_type = np.finfo, np.iinfo, np.isdtype, np.can_cast, \
    np.result_type
from_dlpack = np.from_dlpack

# the same functions as fgrad.numpy, under the standard's names
_SAME = """abs add atan2 bitwise_and bitwise_or bitwise_xor ceil conj copysign cos cosh divide
equal exp expm1 floor floor_divide greater greater_equal hypot imag isfinite isinf isnan less
less_equal log log1p log2 log10 logaddexp logical_and logical_not logical_or logical_xor maximum
minimum multiply negative nextafter not_equal positive real reciprocal remainder sign signbit sin
sinh square sqrt subtract tan tanh trunc matmul matrix_transpose moveaxis broadcast_arrays
broadcast_to where nonzero meshgrid""".split()
_RENAMED = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
            "atan": "arctan", "atanh": "arctanh", "bitwise_invert": "invert",
            "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift",
            "pow": "power"}


def _bind(fnp):
    """Take fgrad.numpy's functions (called by fgrad.numpy once it has every name)."""
    global _fnp
    _fnp = fnp
    globals().update({name: getattr(fnp, name) for name in _SAME})
    globals().update({name: getattr(fnp, theirs) for name, theirs in _RENAMED.items()})


def _device(device):
    if device is not None and device != CPU:
        raise ValueError(f"fgrad has one device, 'cpu'; got device={device!r}")


# --- creation --------------------------------------------------------------------------


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """An array from ``obj``; traced values stay traced (``copy=False`` with a dtype
    change raises, as the standard asks)."""
    _device(device)
    if _contains_tracer(obj):
        x = obj if isinstance(obj, Tracer) else _fnp.array(obj)
        if dtype is not None and np.dtype(dtype) != dtype_of(x):
            if copy is False:
                raise ValueError("asarray(copy=False) would need a copy to change the dtype")
            return _fnp.astype(x, dtype)
        return x  # (traced values are immutable: a copy is the same value)
    return np.asarray(obj, dtype=dtype, copy=copy)


def _creation(np_fn):
    def fn(*args, dtype=None, device=None, **kwargs):
        _device(device)
        return np_fn(*args, dtype=dtype, **kwargs)

    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"``numpy.{np_fn.__name__}`` with the standard's ``device=`` (constants)."
    return fn


zeros, ones, empty, full = (_creation(f) for f in (np.zeros, np.ones, np.empty, np.full))


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """``numpy.arange`` (a constant)."""
    _device(device)
    return np.arange(start, stop, step, dtype=dtype)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    """``numpy.eye`` (a constant)."""
    _device(device)
    return np.eye(n_rows, n_cols, k=k, dtype=dtype)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    """``fgrad.numpy.linspace``: differentiable in traced endpoints."""
    _device(device)
    return _fnp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype)


def _like(np_fn):
    def fn(x, /, *args, dtype=None, device=None):
        _device(device)
        return np_fn(shape_of(x), *args, dtype=dtype_of(x) if dtype is None else dtype)

    fn.__name__ = np_fn.__name__ + "_like"
    fn.__doc__ = f"``numpy.{fn.__name__}`` of a (possibly traced) array's shape (a constant)."
    return fn


zeros_like, ones_like, empty_like, full_like = (_like(f) for f in
                                                (np.zeros, np.ones, np.empty, np.full))


def tril(x, /, *, k=0):
    """``fgrad.numpy.tril``."""
    return _fnp.tril(x, k)


def triu(x, /, *, k=0):
    """``fgrad.numpy.triu``."""
    return _fnp.triu(x, k)


# --- data types ---------------------------------------------------------------------------


def astype(x, dtype, /, *, copy=True, device=None):
    """``x`` as ``dtype`` (differentiable between inexact dtypes)."""
    _device(device)
    if np.dtype(dtype) != dtype_of(x):
        return _fnp.astype(x, dtype)
    if isinstance(x, Tracer):
        return x  # (immutable: no copy needed)
    return np.array(x, copy=True) if copy else x


# --- elementwise functions with other signatures -------------------------------------------


def clip(x, /, min=None, max=None):  # noqa: A002  (the standard's names)
    """``fgrad.numpy.clip``; with neither bound, ``x`` itself."""
    if min is None and max is None:
        return x
    return _fnp.clip(x, min, max)


def round(x, /):  # noqa: A001
    """``fgrad.numpy.round`` to the nearest integer (halves to even)."""
    return _fnp.round(x)


# --- manipulation ----------------------------------------------------------------------------


def concat(arrays, /, *, axis=0):
    """``fgrad.numpy.concatenate`` (``axis=None`` joins the flattened arrays)."""
    return _fnp.concatenate(list(arrays), axis=axis)


def stack(arrays, /, *, axis=0):
    """``fgrad.numpy.stack``."""
    return _fnp.stack(list(arrays), axis=axis)


def permute_dims(x, /, axes):
    """``fgrad.numpy.transpose`` with the axes given."""
    return _fnp.transpose(x, tuple(axes))


def expand_dims(x, /, *, axis=0):
    """``fgrad.numpy.expand_dims``."""
    return _fnp.expand_dims(x, axis)


def squeeze(x, /, axis):
    """``fgrad.numpy.squeeze`` of the given axes."""
    return _fnp.squeeze(x, axis)


def reshape(x, /, shape, *, copy=None):
    """``fgrad.numpy.reshape``."""
    return _fnp.reshape(x, tuple(shape))


def flip(x, /, *, axis=None):
    """``fgrad.numpy.flip``."""
    return _fnp.flip(x, axis)


def roll(x, /, shift, *, axis=None):
    """``fgrad.numpy.roll``."""
    return _fnp.roll(x, shift, axis)


def repeat(x, repeats, /, *, axis=None):
    """``fgrad.numpy.repeat``."""
    return _fnp.repeat(x, repeats, axis)


def tile(x, repetitions, /):
    """``fgrad.numpy.tile``."""
    return _fnp.tile(x, repetitions)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = _fnp.moveaxis(x, axis, 0)
    return tuple(x[i] for i in range(shape_of(x)[0]))


# --- indexing, searching, sorting, sets ---------------------------------------------------


def take(x, indices, /, *, axis=None):
    """``fgrad.numpy.take``."""
    return _fnp.take(x, indices, axis)


def take_along_axis(x, indices, /, *, axis=-1):
    """``fgrad.numpy.take_along_axis``."""
    return _fnp.take_along_axis(x, indices, axis)


def argmax(x, /, *, axis=None, keepdims=False):
    """``fgrad.numpy.argmax``."""
    return _fnp.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, /, *, axis=None, keepdims=False):
    """``fgrad.numpy.argmin``."""
    return _fnp.argmin(x, axis=axis, keepdims=keepdims)


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """``fgrad.numpy.count_nonzero``."""
    return _fnp.count_nonzero(x, axis=axis, keepdims=keepdims)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """``fgrad.numpy.searchsorted``."""
    return _fnp.searchsorted(x1, x2, side=side, sorter=sorter)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """``fgrad.numpy.sort``; ``descending=True`` keeps equal elements in their order."""
    if not descending:
        return _fnp.sort(x, axis=axis, stable=stable)
    return _fnp.flip(_fnp.sort(_fnp.flip(x, axis), axis=axis, stable=stable), axis)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """``fgrad.numpy.argsort``; ``descending=True`` keeps equal elements in their order."""
    if not descending:
        return _fnp.argsort(x, axis=axis, stable=stable)
    n = shape_of(x)[axis] if shape_of(x) else 1
    return n - 1 - _fnp.flip(_fnp.argsort(_fnp.flip(x, axis), axis=axis, stable=stable), axis)


UniqueAllResult = _namedtuple("UniqueAllResult", "values indices inverse_indices counts")
UniqueCountsResult = _namedtuple("UniqueCountsResult", "values counts")
UniqueInverseResult = _namedtuple("UniqueInverseResult", "values inverse_indices")


def unique_values(x, /):
    """The distinct values (sorted, as numpy), differentiable in ``x``."""
    return _fnp.unique(x)


def unique_counts(x, /):
    """The distinct values and how often each occurs."""
    return UniqueCountsResult(*_fnp.unique(x, return_counts=True))


def unique_inverse(x, /):
    """The distinct values, and where each element of ``x`` is among them (``x``'s shape)."""
    values, inverse = _fnp.unique(x, return_inverse=True)
    return UniqueInverseResult(values, _fnp.reshape(inverse, shape_of(x)))


def unique_all(x, /):
    """Values, first indices, inverse indices (``x``'s shape) and counts."""
    values, index, inverse, counts = _fnp.unique(x, return_index=True, return_inverse=True,
                                                 return_counts=True)
    return UniqueAllResult(values, index, _fnp.reshape(inverse, shape_of(x)), counts)


# --- statistics and utilities ---------------------------------------------------------------


def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001
    """``fgrad.numpy.sum``."""
    return _fnp.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    """``fgrad.numpy.prod``."""
    return _fnp.prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """``fgrad.numpy.amax``."""
    return _fnp.amax(x, axis=axis, keepdims=keepdims)


def min(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """``fgrad.numpy.amin``."""
    return _fnp.amin(x, axis=axis, keepdims=keepdims)


def mean(x, /, *, axis=None, keepdims=False):
    """``fgrad.numpy.mean``."""
    return _fnp.mean(x, axis=axis, keepdims=keepdims)


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """``fgrad.numpy.std`` with ``ddof=correction``."""
    return _fnp.std(x, axis=axis, ddof=correction, keepdims=keepdims)


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """``fgrad.numpy.var`` with ``ddof=correction``."""
    return _fnp.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """``fgrad.numpy.cumulative_sum``."""
    return _fnp.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """``fgrad.numpy.cumulative_prod``."""
    return _fnp.cumulative_prod(x, axis=axis, dtype=dtype, include_initial=include_initial)


def all(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """``fgrad.numpy.all``."""
    return _fnp.all(x, axis=axis, keepdims=keepdims)


def any(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """``fgrad.numpy.any``."""
    return _fnp.any(x, axis=axis, keepdims=keepdims)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """``fgrad.numpy.diff``."""
    kw = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return _fnp.diff(x, n=n, axis=axis, **kw)


def tensordot(x1, x2, /, *, axes=2):
    """``fgrad.numpy.tensordot``."""
    return _fnp.tensordot(x1, x2, axes=axes)


def vecdot(x1, x2, /, *, axis=-1):
    """``fgrad.numpy.vecdot`` (conjugating ``x1``)."""
    return _fnp.vecdot(x1, x2, axis=axis)


# --- extensions and inspection ----------------------------------------------------------------


def _extension(name, source, names, extra=()):
    mod = _types.ModuleType(f"{__name__}.{name}",
                            f"The standard's {name} extension over fgrad.numpy.{name}.")
    for n in names:
        setattr(mod, n, getattr(source, n))
    for n, fn in extra:
        setattr(mod, n, fn)
    return mod


linalg = _extension("linalg", _fnp_linalg, [
    "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul", "matrix_norm",
    "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv", "qr", "slogdet",
    "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm"],
    [("tensordot", tensordot), ("vecdot", vecdot)])
fft = _extension("fft", _fnp_fft, [
    "fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
    "fftshift", "ifftshift", "fftfreq", "rfftfreq"])


class _Info:
    """What ``__array_namespace_info__()`` returns: fgrad's one device and its dtypes."""

    def capabilities(self):
        return {"boolean indexing": True, "data-dependent shapes": True,
                "max dimensions": 64}

    def default_device(self):
        return CPU

    def devices(self):
        return [CPU]

    def default_dtypes(self, *, device=None):
        _device(device)
        return {"real floating": np.dtype(np.float64), "complex floating":
                np.dtype(np.complex128), "integral": np.dtype(np.intp),
                "indexing": np.dtype(np.intp)}

    def dtypes(self, *, device=None, kind=None):
        _device(device)
        every = [bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32,
                 float64, complex64, complex128]
        return {np.dtype(t).name: np.dtype(t) for t in every
                if kind is None or np.isdtype(np.dtype(t), kind)}


def __array_namespace_info__():
    """Inspection: devices, default and supported dtypes."""
    return _Info()


def namespace(api_version=None):
    """This module, for a supported ``api_version`` (None: the newest); what
    ``Tracer.__array_namespace__`` returns.

    Example:
        >>> import fgrad.numpy.array_api as xp
        >>> xp.namespace("2023.12") is xp, xp.__array_api_version__
        (True, '2024.12')
    """
    if api_version is not None and api_version not in _VERSIONS:
        raise ValueError(f"fgrad supports array API versions {', '.join(_VERSIONS)}; got "
                         f"api_version={api_version!r}")
    return _SELF


import sys as _sys  # noqa: E402

_SELF = _sys.modules[__name__]
FUNCTIONS["__array_namespace__"] = namespace
