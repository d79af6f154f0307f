"""Rows of the rule table: reductions (sum, mean, prod, max, min) and scans."""

import builtins

import numpy as np

from ..core import defprim
from .elementwise import add, astype, divide, equal, multiply, where

__all__ = ["sum", "mean", "prod", "amax", "amin", "max", "min", "cumsum", "expand_reduced"]


def _axes(axis, ndim):
    """Normalise an ``axis`` argument to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim if ndim else a for a in axis))
    return (axis % ndim if ndim else axis,)


def expand_reduced(g, shape, axis, keepdims):
    """Broadcast the cotangent of a reduction back to the input's ``shape``."""
    from .shape import broadcast_to, reshape

    if not keepdims:
        axes = _axes(axis, len(shape))
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
        g = reshape(g, kept)
    return broadcast_to(g, shape)


def _sum_jvp(t, ans, x, axis=None, keepdims=False, dtype=None):
    return _sum(t, axis=axis, keepdims=keepdims)


def _sum_vjp(g, ans, x, axis=None, keepdims=False, dtype=None):
    return expand_reduced(g, x.shape, axis, keepdims)


_sum = defprim(
    "sum", np.sum, jvp=[_sum_jvp], vjp=[_sum_vjp], batch="reduce",
    test={"params": [{}, {"axis": 0}, {"axis": -1, "keepdims": True}]},
)


def _count(x, ans):
    return np.size(x) // builtins.max(np.size(ans), 1) if np.size(ans) else 1


_mean = defprim(
    "mean", np.mean,
    jvp=[lambda t, ans, x, axis=None, keepdims=False, dtype=None: _mean(t, axis=axis, keepdims=keepdims)],
    vjp=[
        lambda g, ans, x, axis=None, keepdims=False, dtype=None: divide(
            expand_reduced(g, x.shape, axis, keepdims), _count(x, ans)
        )
    ],
    batch="reduce",
    test={"params": [{}, {"axis": 0}, {"axis": -1, "keepdims": True}]},
)


def _prod_partial(ans, x, axis, keepdims):
    # d prod / d x_i = prod of the others; computed by division where x != 0 and
    # by an explicit product of the others where x == 0 (exact at zeros).
    full = expand_reduced(ans, x.shape, axis, keepdims)
    if not np.any(np.equal(_concrete(x), 0)):
        return divide(full, x)
    from .shape import moveaxis, reshape

    axes = _axes(axis, np.ndim(x))
    moved = moveaxis(x, axes, tuple(range(-len(axes), 0)))
    lead = moved.shape[: moved.ndim - len(axes)]
    flat = reshape(moved, lead + (-1,))
    n = flat.shape[-1]
    cols = []
    for i in range(n):
        others = [flat[..., j] for j in range(n) if j != i]
        p = others[0] if others else np.ones(lead)
        for o in others[1:]:
            p = multiply(p, o)
        cols.append(p)
    from .shape import moveaxis as mv, stack

    out = reshape(stack(cols, axis=-1), moved.shape)
    return mv(out, tuple(range(-len(axes), 0)), axes)


def _concrete(x):
    from ..core import concrete

    return concrete(x)


_prod = defprim(
    "prod", np.prod,
    jvp=[lambda t, ans, x, axis=None, keepdims=False, dtype=None: _sum(
        multiply(t, _prod_partial(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, x, axis=None, keepdims=False, dtype=None: multiply(
        expand_reduced(g, x.shape, axis, keepdims), _prod_partial(ans, x, axis, keepdims))],
    batch="reduce",
    test={"params": [{}, {"axis": 0}], "domain": [(0.5, 1.5)]},
)


def _chooser_weights(ans, x, axis, keepdims):
    # the subgradient of max/min: split evenly among the elements that tie
    full = expand_reduced(ans, x.shape, axis, keepdims)
    hit = astype(equal(x, full), ans.dtype)
    return divide(hit, expand_reduced(_sum(hit, axis=axis, keepdims=keepdims), x.shape, axis, keepdims))


def _chooser(name, impl):
    def jvp(t, ans, x, axis=None, keepdims=False):
        return _sum(multiply(t, _chooser_weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)

    def vjp(g, ans, x, axis=None, keepdims=False):
        return multiply(expand_reduced(g, x.shape, axis, keepdims), _chooser_weights(ans, x, axis, keepdims))

    return defprim(name, impl, jvp=[jvp], vjp=[vjp], batch="reduce",
                   test={"params": [{}, {"axis": 0}, {"axis": -1, "keepdims": True}]})


_amax = _chooser("amax", np.max)
_amin = _chooser("amin", np.min)


def _cumsum_vjp(g, ans, x, axis=None, dtype=None):
    from .shape import flip, reshape

    if axis is None:
        return reshape(flip(_cumsum(flip(g, axis=0), axis=0), axis=0), x.shape)
    return flip(_cumsum(flip(g, axis=axis), axis=axis), axis=axis)


_cumsum = defprim(
    "cumsum", np.cumsum,
    jvp=[lambda t, ans, x, axis=None, dtype=None: _cumsum(t, axis=axis)],
    vjp=[_cumsum_vjp],
    batch=None,
    test={"params": [{"axis": 0}, {"axis": -1}]},
)



def _cast(x, dtype):
    return x if dtype is None else astype(x, dtype)


def sum(a, axis=None, dtype=None, keepdims=False):
    """Sum of array elements over the given axes (``numpy.sum``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.sum(x * x))(fnp.arange(3.0))
        array([0., 2., 4.])
    """
    return _sum(_cast(a, dtype), axis=axis, keepdims=keepdims)


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over the given axes (``numpy.mean``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.mean)(fnp.ones(4))
        array([0.25, 0.25, 0.25, 0.25])
    """
    return _mean(_cast(a, dtype), axis=axis, keepdims=keepdims)


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product of array elements (``numpy.prod``); exact derivative at zeros.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.prod)(fnp.array([2.0, 3.0, 0.0]))
        array([0., 0., 6.])
    """
    return _prod(_cast(a, dtype), axis=axis, keepdims=keepdims)


def amax(a, axis=None, keepdims=False):
    """Maximum over the given axes (``numpy.max``); ties share the gradient.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.max)(fnp.array([1.0, 3.0, 3.0]))
        array([0. , 0.5, 0.5])
    """
    return _amax(a, axis=axis, keepdims=keepdims)


def amin(a, axis=None, keepdims=False):
    """Minimum over the given axes (``numpy.min``); ties share the gradient.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.min)(fnp.array([1.0, 3.0]))
        array([1., 0.])
    """
    return _amin(a, axis=axis, keepdims=keepdims)


max, min = amax, amin


def cumsum(a, axis=None, dtype=None):
    """Cumulative sum along an axis (``numpy.cumsum``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.cumsum(x)[-1] + fnp.cumsum(x)[0])(fnp.ones(3))
        array([2., 1., 1.])
    """
    return _cumsum(_cast(a, dtype), axis=axis)


_ = (add, where)  # building blocks re-exported for rules in sibling modules
