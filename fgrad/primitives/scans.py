"""Rows of the rule table: scans (cumulative sums and products) and differences.

``cumsum`` and ``cumprod`` are primitives; ``nancumsum``, ``nancumprod``,
``cumulative_sum``, ``cumulative_prod``, ``diff``, ``ediff1d`` and
``trapezoid`` are written with them and with the shape primitives.

``cumprod`` is exact at zeros, to every order: in a lane holding zeros (or
entries tiny next to the others) the running product is written as (running
product of the other entries) x (each such entry, from its position on), a
polynomial in those entries whose derivatives are taken exactly.  Otherwise
the rules use the cheaper ``ans * cumsum(t / x)``.
"""

import numpy as np

from .. import shapes as _shp
from ..core import any_tracer, concrete, defprim, refuse_out
from .elementwise import _where, add, astype, divide, isnan, multiply
from .reductions import _no_small, _products_excluding, _Small, _sum
from .shape import concatenate, diff, flip, getitem, moveaxis, ravel, reshape

__all__ = [
    "cumsum", "cumprod", "nancumsum", "nancumprod", "cumulative_sum", "cumulative_prod",
    "ediff1d", "trapezoid",
]


_traced = any_tracer


def _scan_case(lo, hi, zeros=0.0):

    def make(rng, shape):
        shape = (3,) + tuple(shape)
        x = rng.uniform(lo, hi, shape)
        if zeros:
            x = np.where(rng.uniform(size=shape) < zeros, 0.0, x)
        return (x,), {"axis": int(rng.integers(-len(shape), len(shape)))}

    return make


# --- cumsum ---------------------------------------------------------------------


def _revcumsum(h, axis):
    """Sums from the end: ``out[i] = sum(h[i:])`` along ``axis``."""

    return flip(_cumsum(flip(h, axis=axis), axis=axis), axis=axis)


def _cumsum_vjp(g, ans, x, axis):
    if axis is None:  # numpy's flattened scan: the cotangent of the flat input, reshaped
        return reshape(_revcumsum(g, 0), np.shape(x))
    return _revcumsum(g, axis)


_cumsum = defprim(
    "cumsum", lambda x, axis: np.cumsum(x, axis=axis),
    jvp=[lambda t, ans, x, axis: _cumsum(t, axis=axis)],
    vjp=[_cumsum_vjp],
    batch="reduce",
    test={"make": _scan_case(-1.5, 1.5), "complex": True},
    reads=(0, 1),  # x for its shape (axis=None: numpy's flattened scan)
    shape=_shp.along(np.cumsum),
)

# --- cumprod (exact at zeros) -------------------------------------------------------


class _ZeroLanes:
    """A cumprod whose input holds zeros (or tiny entries), lanes along the last axis.

    With ``m`` those entries, ``x~ = where(m, 1, x)``, ``P = cumprod(x~)`` and
    ``f_r = where(i >= p_r, x[p_r], 1)`` for the r-th of them ``p_r`` in a lane,
    ``cumprod(x) = P * prod_r f_r`` for every x (the pattern held fixed).
    """

    def __init__(self, x, axis):
        self.axis = axis
        self.lanes = lanes = moveaxis(x, axis, -1)
        self.small = small = _Small(lanes)
        self.zero = small.mask
        self.ones_at = _where(small.mask, 1.0, lanes)
        self.p = _cumprod(self.ones_at, axis=-1)
        self.f = [_where(a, s, 1.0) for a, s in zip(small.after, small.values(lanes))]
        self.excl, self.q = _products_excluding(self.f, np.ones((), small.dtype))

    def back(self, y):
        return moveaxis(y, -1, self.axis)

    def jvp(self, t):
        t = moveaxis(t, self.axis, -1)
        dp = multiply(self.p, _cumsum(divide(_where(self.zero, 0.0, t), self.ones_at), axis=-1))
        out = multiply(dp, self.q)
        for e, a, others in zip(self.small.first, self.small.after, self.excl):
            ds = _sum(_where(e, t, 0.0), axis=-1, keepdims=True)
            out = add(out, multiply(multiply(self.p, others), _where(a, ds, 0.0)))
        return self.back(out)

    def vjp(self, g):
        g = moveaxis(g, self.axis, -1)
        gp = multiply(g, self.p)
        out = _where(self.zero, 0.0, divide(_revcumsum(multiply(gp, self.q), -1), self.ones_at))
        for e, a, others in zip(self.small.first, self.small.after, self.excl):
            gs = _sum(_where(a, multiply(gp, others), 0.0), axis=-1, keepdims=True)
            out = add(out, _where(e, gs, 0.0))
        return self.back(out)


def _cumprod_jvp(t, ans, x, axis):
    if axis is None:  # numpy's flattened scan
        return _cumprod_jvp(ravel(t), ans, ravel(x), 0)
    if _no_small(x):
        return multiply(ans, _cumsum(divide(t, x), axis=axis))
    return _ZeroLanes(x, axis).jvp(t)


def _cumprod_vjp(g, ans, x, axis):
    if axis is None:  # numpy's flattened scan: the flat input's cotangent, reshaped
        return reshape(_cumprod_vjp(g, ans, ravel(x), 0), np.shape(x))
    if _no_small(x):
        return divide(_revcumsum(multiply(g, ans), axis), x)
    return _ZeroLanes(x, axis).vjp(g)


_cumprod = defprim(
    "cumprod", lambda x, axis: np.cumprod(x, axis=axis),
    jvp=[_cumprod_jvp], vjp=[_cumprod_vjp],
    batch="reduce",
    test={"make": _scan_case(0.5, 1.5), "also": [_scan_case(0.5, 1.5, zeros=0.3)],
          "complex": True},
          reads=("ans", 0, 1), shape=_shp.along(np.cumprod),
)


# --- public functions ---------------------------------------------------------------


def _prepare(a, axis, dtype):
    if dtype is not None:
        a = astype(a, dtype)
    if axis is None:
        return ravel(a), 0
    nd = max(np.ndim(concrete(a)), 1)  # numpy scans a 0-d array as a 1-d one
    axis = int(axis)
    if not -nd <= axis < nd:  # numpy's error (under vmap: for one example)
        raise np.exceptions.AxisError(axis, nd)
    return a, axis % nd


def _scan(row, plain, name, a, axis, dtype, out):
    """cumsum/cumprod: numpy's ``plain`` on untraced input, else the row ``row``."""
    if not _traced(a):
        return plain(a, axis=axis, dtype=dtype, out=out)
    refuse_out(out, name)
    a, axis = _prepare(a, axis, dtype)
    return row(a, axis=axis)


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along an axis (``numpy.cumsum``; flattened when ``axis`` is None).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.cumsum(x)[-1] + fnp.cumsum(x)[0])(fnp.ones(3))
        array([2., 1., 1.])
    """
    return _scan(_cumsum, np.cumsum, "cumsum", a, axis, dtype, out)


def cumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product along an axis (``numpy.cumprod``); exact derivatives at zeros.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.cumprod(x)[-1])(fnp.array([2.0, 0.0, 3.0]))
        array([0., 6., 0.])
    """
    return _scan(_cumprod, np.cumprod, "cumprod", a, axis, dtype, out)


def _nan_scan(scan, np_fn, name, fill, a, axis, dtype, out):
    """``scan`` with nan entries replaced by ``fill`` (their derivative is 0)."""
    if not _traced(a):
        return np_fn(a, axis=axis, dtype=dtype, out=out)
    refuse_out(out, name)
    return scan(_where(isnan(a), fill, a), axis=axis, dtype=dtype)


def nancumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum treating nan as 0 (``numpy.nancumsum``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.nancumsum(x)[-1])(fnp.array([1.0, fnp.nan, 2.0]))
        array([1., 0., 1.])
    """
    return _nan_scan(cumsum, np.nancumsum, "nancumsum", 0, a, axis, dtype, out)


def nancumprod(a, axis=None, dtype=None, out=None):
    """Cumulative product treating nan as 1 (``numpy.nancumprod``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.nancumprod(x)[-1])(fnp.array([2.0, fnp.nan, 3.0]))
        array([3., 0., 2.])
    """
    return _nan_scan(cumprod, np.nancumprod, "nancumprod", 1, a, axis, dtype, out)


def _cumulative(fn, np_fn, name, identity, x, axis, dtype, out, include_initial):
    if not _traced(x):
        return np_fn(x, axis=axis, dtype=dtype, out=out, include_initial=include_initial)
    refuse_out(out, name)

    ndim = np.ndim(concrete(x))
    if ndim == 0:
        x, ndim = reshape(x, (1,)), 1
    if axis is None:
        if ndim >= 2:
            raise ValueError(f"{name}: for arrays of more than one dimension `axis` is required")
        axis = 0
    res = fn(x, axis=axis, dtype=dtype)
    if include_initial:
        shape = list(np.shape(concrete(res)))
        shape[axis] = 1
        first = np.full(shape, identity, dtype=np.result_type(concrete(res)))
        res = concatenate([first, res], axis=axis)
    return res


def cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative sum (``numpy.cumulative_sum``), optionally starting with 0.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.cumulative_sum(fnp.array([1.0, 2.0]), include_initial=True)
        array([0., 1., 3.])
    """
    return _cumulative(cumsum, np.cumulative_sum, "cumulative_sum", 0, x, axis, dtype, out,
                       include_initial)


def cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    """Cumulative product (``numpy.cumulative_prod``), optionally starting with 1.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.cumulative_prod(fnp.array([2.0, 3.0]), include_initial=True)
        array([1., 2., 6.])
    """
    return _cumulative(cumprod, np.cumulative_prod, "cumulative_prod", 1, x, axis, dtype, out,
                       include_initial)


def _along(ndim, axis, sl):
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences between consecutive elements of the flattened array (``numpy.ediff1d``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.ediff1d(fnp.array([1.0, 4.0, 9.0]), to_begin=0.0)
        array([0., 3., 5.])
    """
    if not _traced(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end=to_end, to_begin=to_begin)

    parts = []
    if to_begin is not None:
        parts.append(ravel(to_begin))
    parts.append(diff(ravel(ary)))
    if to_end is not None:
        parts.append(ravel(to_end))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral by the composite trapezoidal rule (``numpy.trapezoid``).

    Differentiable in the samples ``y`` and in the abscissae ``x`` (or ``dx``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.trapezoid)(fnp.array([1.0, 2.0, 3.0]))
        array([0.5, 1. , 0.5])
    """
    if not _traced(y, x, dx):
        return np.trapezoid(y, x=x, dx=dx, axis=axis)

    ndim = np.ndim(concrete(y))
    if not -ndim <= int(axis) < ndim:  # (numpy raises an IndexError from inside)
        raise np.exceptions.AxisError(int(axis), ndim)
    axis = int(axis) % ndim
    if x is None:
        d = dx
    elif np.ndim(concrete(x)) == 1:
        d = diff(x)
        shape = [1] * ndim
        shape[axis] = np.shape(concrete(d))[0]
        d = reshape(d, tuple(shape))
    else:
        d = diff(x, axis=axis)
    upper, lower = _along(ndim, axis, slice(1, None)), _along(ndim, axis, slice(None, -1))
    pair = add(getitem(y, upper), getitem(y, lower))
    return _sum(divide(multiply(d, pair), 2.0), axis=axis)
