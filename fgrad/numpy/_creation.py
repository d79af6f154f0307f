"""Array creation.  Results are constants (no derivative flows into them),
except ``array``/``asarray`` of sequences holding tracers, which stack them,
``copy`` (the identity), and the evenly spaced values of ``linspace``,
``logspace`` and ``geomspace``, which are differentiable in their endpoints."""

import operator

import numpy as np

from ..core import Tracer, concrete, defprim, is_duck_array
from ..primitives import elementwise as el
from ..primitives.elementwise import astype
from ..primitives.indexing import getitem
from ..primitives.shape import broadcast_to, concatenate, expand_dims, moveaxis, reshape, stack
from ._arguments import _contains_tracer

__all__ = [
    "array", "asarray", "asanyarray", "zeros", "ones", "empty", "full", "zeros_like",
    "ones_like", "empty_like", "full_like", "arange", "linspace", "logspace", "geomspace",
    "eye", "identity", "copy",
]

# numpy's own functions of shapes and dtypes, with fgrad's docstrings
from ._numpy_itself import arange, empty, eye, identity, ones, zeros  # noqa: E402,F401


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
    if is_duck_array(a):  # a dask or cupy array stays one (np.asarray would compute it)
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
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


def _shape_tuple(shape):
    try:
        return (operator.index(shape),)
    except TypeError:
        return tuple(operator.index(k) for k in shape)


def _traced_fill(shape, fill_value, dtype):
    # the fill value broadcast to the shape: its derivative reaches every entry
    v = asarray(fill_value)
    if dtype is not None and np.dtype(dtype) != v.dtype:
        v = astype(v, dtype)
    return broadcast_to(v, _shape_tuple(shape))


def full(shape, fill_value, dtype=None, order="C", **kwargs):
    """An array of ``shape`` filled with ``fill_value`` (``numpy.full``).

    A traced ``fill_value`` (a number or an array broadcast along the last axes,
    as numpy does) is differentiable: every entry carries its derivative, so the
    gradient sums over the entries it fills.  Called on plain values it returns
    numpy's own result.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.full(3, 7.0)
        array([7., 7., 7.])
        >>> fgrad.grad(lambda v: fnp.sum(fnp.full((2, 3), v)))(7.0)  # six entries
        np.float64(6.0)
    """
    if not _contains_tracer(fill_value):
        return np.full(shape, fill_value, dtype=dtype, order=order, **kwargs)
    return _traced_fill(shape, fill_value, dtype)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """An array like ``a`` (its shape and dtype unless given) filled with
    ``fill_value`` (``numpy.full_like``).

    Only the shape and dtype of ``a`` are read, so no derivative flows into ``a``;
    a traced ``fill_value`` is differentiable, as in :func:`full`.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.full_like(fnp.ones(2), 3.0)
        array([3., 3.])
        >>> fgrad.grad(lambda v: fnp.sum(fnp.full_like(fnp.ones(4), v)))(3.0)
        np.float64(4.0)
    """
    if not _contains_tracer(fill_value):
        return np.full_like(concrete(a), fill_value, dtype=dtype, order=order, subok=subok,
                            shape=shape, **kwargs)
    ref = concrete(a)
    return _traced_fill(np.shape(ref) if shape is None else shape, fill_value,
                        np.result_type(ref) if dtype is None else dtype)


# --- copy: the identity, a row of its own -------------------------------------------

_copy = defprim(
    "copy", lambda x: np.array(x, copy=True),
    jvp=[lambda t, ans, x: t],
    vjp=[lambda g, ans, x: g],
    batch="elementwise",
    test={"complex": True},
    reads=(),
)


def copy(a, order="K", subok=False):
    """A new array with the same values (``numpy.copy``); the derivative is the identity.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([1.0, 2.0])
        >>> fnp.copy(x)
        array([1., 2.])
        >>> fgrad.grad(lambda x: (fnp.copy(x) * x).sum())(x)
        array([2., 4.])
    """
    if not _contains_tracer(a):
        return np.copy(a, order=order, subok=subok)
    return _copy(asarray(a))


# --- evenly spaced values: differentiable in the endpoints ----------------------------


def _spaced_arrays(*xs):
    """Tracers unchanged, everything else as numpy arrays (lists of endpoints)."""
    return [x if isinstance(x, Tracer) else asarray(x) for x in xs]


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """Evenly spaced numbers over an interval (``numpy.linspace``); differentiable in
    ``start`` and ``stop``.

    The sample ``k`` is ``start + k * step`` with ``step = (stop - start) / div``
    (``div = num - 1``, or ``num`` without the endpoint), and with the endpoint the
    last sample is ``stop`` itself, as in numpy.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.sum(fnp.linspace(x, 2 * x, 5)))(1.0)
        np.float64(7.5)
    """
    if not _contains_tracer([start, stop]):
        return np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                           axis=axis, device=device)

    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = _spaced_arrays(start, stop)
    dt = np.result_type(concrete(start), concrete(stop), float(num))
    start, stop = astype(start, dt), astype(stop, dt)
    shape = np.broadcast_shapes(np.shape(concrete(start)), np.shape(concrete(stop)))
    div = num - 1 if endpoint else num
    delta = el.subtract(stop, start)
    k = np.arange(num, dtype=dt).reshape((-1,) + (1,) * len(shape))
    if div > 0:
        step = el.divide(delta, float(div))
        y = el.add(el.multiply(k, reshape(step, (1,) + np.shape(concrete(step)))), start)
        if endpoint and num > 1:  # the last sample is stop itself
            last = np.arange(num).reshape(k.shape) == num - 1
            y = el.where(last, broadcast_to(stop, shape), y)
    else:  # one sample without a step (numpy: step is nan, the sample is start)
        step = np.nan
        y = el.add(el.multiply(k, delta), start)
    y = broadcast_to(y, (num,) + shape)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None and np.dtype(dtype) != dt:
        if np.issubdtype(dtype, np.integer):
            y = el.floor(y)
        y = astype(y, dtype)
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale, ``base ** linspace(start, stop)``
    (``numpy.logspace``); differentiable in ``start``, ``stop`` and ``base``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> float(fgrad.grad(lambda x: fnp.logspace(0.0, x, 3)[-1])(1.0))  # d 10**x / dx
        23.02585092994046
    """
    if not _contains_tracer([start, stop, base]):
        return np.logspace(start, stop, num, endpoint=endpoint, base=base, dtype=dtype,
                           axis=axis)

    start, stop, base = _spaced_arrays(start, stop, base)
    nd = max(np.ndim(concrete(v)) for v in (start, stop, base))

    def lift(v):  # numpy's ndmin: leading axes of length 1
        s = np.shape(concrete(v))
        return v if len(s) == nd else reshape(v, (1,) * (nd - len(s)) + s)

    start, stop, base = lift(start), lift(stop), lift(base)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = el.power(expand_dims(base, axis), y)
    return out if dtype is None else astype(out, dtype)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Numbers spaced evenly on a log scale between the endpoints themselves
    (``numpy.geomspace``); differentiable in real ``start`` and ``stop``.

    The first (and with the endpoint, the last) sample is the endpoint itself,
    as in numpy.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> round(float(fgrad.grad(lambda x: fnp.geomspace(1.0, x, 3)[1])(4.0)), 12)  # d sqrt(x)/dx
        0.25
    """
    if not _contains_tracer([start, stop]):
        return np.geomspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)

    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = _spaced_arrays(start, stop)
    s0, s1 = concrete(start), concrete(stop)
    if np.iscomplexobj(s0) or np.iscomplexobj(s1):
        raise TypeError(
            "fgrad.numpy.geomspace: traced complex endpoints are not supported; use "
            "fnp.exp(fnp.linspace(fnp.log(start), fnp.log(stop), num)) with the branch "
            "of the logarithm you mean, or stop_gradient the endpoints."
        )
    if np.any(np.equal(s0, 0)) or np.any(np.equal(s1, 0)):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(s0, s1, float(num))
    start, stop = astype(start, dt), astype(stop, dt)
    shape = np.broadcast_shapes(np.shape(s0), np.shape(s1))
    sign = np.sign(s0)  # a constant: the sequence keeps the start's sign
    a, b = el.multiply(start, sign), el.multiply(stop, sign)
    y = logspace(el.log10(a), el.log10(b), num=num, endpoint=endpoint, base=10.0)
    y = broadcast_to(y, (num,) + shape)
    # numpy puts the endpoints themselves at the ends (no rounding through log/exp)
    ends = []
    if num > 0:
        ends.append((0, a))
    if num > 1 and endpoint:
        ends.append((num - 1, b))
    if ends:

        pieces, at = [], 0
        for pos, v in ends:
            if pos > at:
                pieces.append(getitem(y, slice(at, pos)))
            pieces.append(reshape(broadcast_to(v, shape), (1,) + shape))
            at = pos + 1
        if at < num:
            pieces.append(getitem(y, slice(at, num)))
        y = concatenate(pieces, axis=0) if len(pieces) > 1 else pieces[0]
    y = el.multiply(y, sign)
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None and np.dtype(dtype) != dt:
        y = astype(y, dtype)
    return y
