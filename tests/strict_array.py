"""A stand-in for a device array library (CuPy) in tests without a GPU.

``StrictArray`` wraps a numpy array and implements numpy's protocols (NEP 13 and
NEP 18) as CuPy does: numpy functions and ufuncs on it give ``StrictArray``
results, it refuses to be converted to a numpy array (``np.asarray`` raises, as
CuPy's implicit device-to-host transfer does), and it refuses numpy arrays as
operands (as CuPy does), accepting Python and numpy scalars.  Code that runs on
it assumes nothing about ``np.ndarray``.
"""

import numpy as np


class ConversionError(TypeError):
    pass


def _unwrap(x, where):
    if isinstance(x, StrictArray):
        return x.data
    if isinstance(x, np.ndarray):
        raise ConversionError(f"{where}: a numpy array operand (shape {x.shape}) met a "
                              "StrictArray; a device library refuses implicit transfers")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i, where) for i in x)
    return x


def _wrap(x):
    if isinstance(x, (np.ndarray, np.generic)):  # 0-d results stay arrays, as in CuPy
        return StrictArray(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_wrap(i) for i in x)
    return x


_CREATION = {np.asarray, np.array, np.asanyarray, np.zeros, np.ones, np.empty, np.full,
             np.eye, np.identity, np.arange}


class StrictArray:
    __array_priority__ = 10  # below fgrad's tracers, which must see it first

    def __init__(self, data):
        self.data = np.asarray(data)

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    nbytes = property(lambda self: self.data.nbytes)
    T = property(lambda self: StrictArray(self.data.T))

    def __array__(self, dtype=None, copy=None):
        raise ConversionError("StrictArray refuses conversion to a numpy array "
                              "(a device array would need an explicit transfer)")

    def get(self):
        """The values as numpy (CuPy's explicit device-to-host copy)."""
        return self.data.copy()

    def __repr__(self):
        return f"StrictArray({self.data!r})"

    def __len__(self):
        return len(self.data)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, ufunc.__name__) for o in kwargs["out"])
        args = [_unwrap(x, ufunc.__name__) for x in inputs]
        return _wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (StrictArray, np.ndarray)) for t in types):
            return NotImplemented
        name = func.__name__
        if func in _CREATION:  # np.asarray(host, like=device): an explicit transfer
            kwargs = {k: v for k, v in kwargs.items() if k != "like"}
            args = [a.data if isinstance(a, StrictArray) else a for a in args]
            return StrictArray(func(*args, **kwargs))
        return _wrap(func(*_unwrap(args, name), **_unwrap(kwargs, name)))

    def astype(self, dtype, copy=True):
        return StrictArray(self.data.astype(dtype, copy=copy))

    def reshape(self, *shape, **kwargs):
        return StrictArray(self.data.reshape(*shape, **kwargs))

    def copy(self):
        return StrictArray(self.data.copy())

    def sum(self, *args, **kwargs):
        return np.sum(self, *args, **kwargs)

    def __getitem__(self, idx):
        return StrictArray(self.data[_unwrap(idx, "getitem")])

    def __setitem__(self, idx, value):
        self.data[_unwrap(idx, "setitem")] = _unwrap(value, "setitem")

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)


def _binary(ufunc, reflected=False):
    def op(self, other):
        if hasattr(other, "__array_ufunc__") and not isinstance(other, (StrictArray, np.ndarray)):
            return NotImplemented  # fgrad's tracers handle the call
        return ufunc(other, self) if reflected else ufunc(self, other)
    return op


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("pow", np.power), ("matmul", np.matmul),
                      ("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
    if _name not in ("lt", "le", "gt", "ge", "eq", "ne"):
        setattr(StrictArray, f"__r{_name}__", _binary(_ufunc, reflected=True))
StrictArray.__neg__ = lambda self: np.negative(self)
StrictArray.__abs__ = lambda self: np.absolute(self)
StrictArray.__hash__ = None
