"""Make tracers behave like numpy arrays.

Installs Python operators and array methods on :class:`fgrad.core.Tracer`, and
the NEP 13/18 protocols (``__array_ufunc__``, ``__array_function__``) so that
plain numpy code called on tracers reaches fgrad.numpy.  A numpy function that
fgrad has no rule for raises a TypeError naming it: a tracer is never silently
turned into a constant.
"""

import operator
import types

import numpy as np

from ..core import Tracer, concrete
from ._subclasses import REFUSED, check_value, check_values

UFUNCS = {}
FUNCTIONS = {}

_COVERAGE = "docs/coverage.md"


def _unsupported(name):
    return TypeError(
        f"fgrad has no derivative rule for numpy's {name}, so it cannot be applied to a "
        f"traced value. See {_COVERAGE} for what is covered; use fgrad.numpy "
        "(import fgrad.numpy as fnp), define the derivative with fgrad.custom_vjp / "
        "fgrad.core.defprim, or wrap the argument in fgrad.stop_gradient if no "
        "derivative is needed."
    )


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    check_values(inputs, f"numpy.{ufunc.__name__}")
    if kwargs.get("out") is not None:
        raise TypeError(
            f"numpy.{ufunc.__name__}(..., out=...) would write a traced value into an "
            "existing array in place. Use the returned value instead (x = x + y), or "
            "x.at[idx].set(v) for indexed updates."
        )
    if method == "__call__":
        fn = UFUNCS.get(ufunc)
        if fn is not None:
            kwargs.pop("out", None)
            return fn(*inputs, **kwargs)
    elif method == "reduce" and ufunc in _REDUCERS:
        return _REDUCERS[ufunc](*inputs, **kwargs)
    elif method == "accumulate" and ufunc in _ACCUMULATORS:
        return _accumulate(_ACCUMULATORS[ufunc], *inputs, **kwargs)
    raise _unsupported(ufunc.__name__ + ("" if method == "__call__" else "." + method))


def _array_function(self, func, types, args, kwargs):
    check_values(args, f"numpy.{func.__name__}")
    check_values(kwargs.values(), f"numpy.{func.__name__}")
    fn = FUNCTIONS.get(func)
    if fn is None:
        mod = getattr(func, "__module__", "numpy") or "numpy"
        raise _unsupported(f"{mod}.{func.__name__}")
    return fn(*args, **kwargs)


_REDUCERS = {}
_ACCUMULATORS = {}  # np.add.accumulate -> cumsum, np.multiply.accumulate -> cumprod


def _accumulate(scan, array, axis=0, dtype=None, out=None):
    # ufunc.accumulate's defaults differ from cumsum's: axis 0, and no scalars
    if np.ndim(concrete(array)) == 0:
        raise TypeError("cannot accumulate on a scalar")
    return scan(array, axis=axis, dtype=dtype)


def _metadata(np_fn):
    def fn(*args, **kwargs):
        return np_fn(*(concrete(a) for a in args), **kwargs)

    return fn


def install():
    from .. import numpy as fnp

    for name in dir(fnp):
        if name.startswith("_"):
            continue
        ours, theirs = getattr(fnp, name), getattr(np, name, None)
        if not callable(ours) or theirs is None or isinstance(theirs, type):
            continue
        if isinstance(theirs, np.ufunc):
            UFUNCS[theirs] = ours
        elif callable(theirs):
            FUNCTIONS[theirs] = ours
    for sub in ("linalg", "fft"):
        ours_mod, theirs_mod = getattr(fnp, sub, None), getattr(np, sub)
        if ours_mod is None:
            continue
        for name in getattr(ours_mod, "__all__", ()):
            theirs = getattr(theirs_mod, name, None)
            if theirs is not None:
                FUNCTIONS[theirs] = getattr(ours_mod, name)
    for name in ("shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj"):
        FUNCTIONS[getattr(np, name)] = _metadata(getattr(np, name))
    FUNCTIONS[np.result_type] = _metadata(np.result_type)
    FUNCTIONS[np.amax] = fnp.amax
    FUNCTIONS[np.amin] = fnp.amin
    _REDUCERS.update({np.add: fnp.sum, np.multiply: fnp.prod, np.maximum: fnp.amax,
                      np.minimum: fnp.amin})
    _ACCUMULATORS.update({np.add: fnp.cumsum, np.multiply: fnp.cumprod})

    Tracer.__array_ufunc__ = _array_ufunc
    Tracer.__array_function__ = _array_function
    _install_operators(fnp)
    _install_methods(fnp)


def _install_operators(fnp):
    ndarray, refused = np.ndarray, REFUSED

    def binary(fn):
        # `x * m` with a masked array or np.matrix m is refused by type (see
        # _subclasses.py); the check costs a type comparison for the usual operands
        name = f"the operator for {getattr(fn, '__name__', 'an operation')}"

        def op(self, other):
            if type(other) is not ndarray and isinstance(other, refused):
                check_value(other, name)
            return fn(self, other)

        def rop(self, other):
            if type(other) is not ndarray and isinstance(other, refused):
                check_value(other, name)
            return fn(other, self)

        return op, rop

    for name, fn in [
        ("add", fnp.add), ("sub", fnp.subtract), ("mul", fnp.multiply),
        ("truediv", fnp.divide), ("pow", fnp.power), ("matmul", fnp.matmul),
        ("mod", fnp.mod), ("floordiv", fnp.floor_divide),
    ]:
        op, rop = binary(fn)
        setattr(Tracer, f"__{name}__", op)
        setattr(Tracer, f"__r{name}__", rop)
    for name, fn in [
        ("lt", fnp.less), ("le", fnp.less_equal), ("gt", fnp.greater),
        ("ge", fnp.greater_equal), ("eq", fnp.equal), ("ne", fnp.not_equal),
    ]:
        setattr(Tracer, f"__{name}__", binary(fn)[0])
    neg = fnp.negative
    if isinstance(neg, types.FunctionType):
        # a copy of the row's function binds as the method: `-x` runs it directly
        neg = types.FunctionType(neg.__code__, neg.__globals__, neg.__name__,
                                 neg.__defaults__, neg.__closure__)
        neg.__kwdefaults__ = fnp.negative.__kwdefaults__
    Tracer.__neg__ = neg
    Tracer.__pos__ = lambda self: self
    Tracer.__abs__ = lambda self: fnp.absolute(self)
    Tracer.__divmod__, Tracer.__rdivmod__ = binary(fnp.divmod)
    Tracer.__invert__ = lambda self: fnp.logical_not(self)
    Tracer.__getitem__ = lambda self, idx: fnp.getitem(self, idx)
    Tracer.__and__ = binary(fnp.logical_and)[0]
    Tracer.__or__ = binary(fnp.logical_or)[0]
    Tracer.__hash__ = None
    _ = operator


def _install_methods(fnp):
    def method(fn):
        def m(self, *args, **kwargs):
            return fn(self, *args, **kwargs)

        m.__name__ = fn.__name__
        m.__doc__ = fn.__doc__
        return m

    for name, fn in [
        ("sum", fnp.sum), ("mean", fnp.mean), ("prod", fnp.prod), ("max", fnp.amax),
        ("min", fnp.amin), ("var", fnp.var), ("std", fnp.std), ("dot", fnp.dot),
        ("clip", fnp.clip), ("cumsum", fnp.cumsum), ("argmax", fnp.argmax),
        ("argmin", fnp.argmin), ("argsort", fnp.argsort), ("astype", fnp.astype),
        ("conj", fnp.conjugate), ("conjugate", fnp.conjugate), ("ravel", fnp.ravel),
        ("flatten", fnp.ravel), ("squeeze", fnp.squeeze), ("swapaxes", fnp.swapaxes),
        ("round", fnp.round), ("any", fnp.any), ("all", fnp.all),
        ("nonzero", fnp.nonzero), ("cumprod", fnp.cumprod), ("ptp", fnp.ptp),
    ]:
        setattr(Tracer, name, method(fn))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return fnp.reshape(self, shape, order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return fnp.transpose(self, axes or None)

    def copy(self, order="C"):
        return fnp.copy(self)

    Tracer.reshape = reshape
    Tracer.transpose = transpose
    Tracer.copy = copy
    Tracer.T = property(lambda self: fnp.transpose(self))
    Tracer.mT = property(lambda self: fnp.matrix_transpose(self))
    Tracer.real = property(lambda self: fnp.real(self))
    Tracer.imag = property(lambda self: fnp.imag(self))
    Tracer.at = property(lambda self: fnp.at(self))

    # shapes, indexing and products
    for name, fn in [
        ("diagonal", fnp.diagonal), ("trace", fnp.trace), ("repeat", fnp.repeat),
        ("take", fnp.take), ("argpartition", fnp.argpartition),
        ("searchsorted", fnp.searchsorted),
    ]:
        setattr(Tracer, name, method(fn))
    Tracer.compress = lambda self, condition, axis=None: fnp.compress(condition, self, axis)

    def _in_place(name):
        def m(self, *args, **kwargs):
            raise TypeError(
                f"x.{name}() works in place in numpy, and traced arrays are immutable. "
                f"Write x = fgrad.numpy.{name}(x, ...) (or np.{name}(x, ...)) instead."
            )

        m.__name__ = name
        return m

    # numpy.ma reads `._data` of every operand (np.ma.getdata) before falling back to
    # np.array: `masked * x` lands here, and gets the masked-array refusal itself
    def _masked_operand(self):
        check_value(np.ma.masked_array([]), "numpy.ma (a masked array operation)")

    Tracer._data = property(_masked_operand)

    Tracer.sort = _in_place("sort")
    Tracer.partition = _in_place("partition")
