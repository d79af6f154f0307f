"""Differences along an axis: ``gradient`` (finite-difference derivatives of sampled
values) and ``unwrap`` (phases without their jumps of a period).

Each calls numpy itself when no argument is traced.  On tracers, ``gradient``
repeats numpy's finite-difference formulas operation for operation, and
``unwrap`` adds a piecewise-constant correction computed from
``stop_gradient(p)``, so traced values equal numpy's and every transform works.
"""

import numpy as np

from ..core import concrete
from ..primitives.elementwise import (
    absolute,
    add,
    astype,
    decide,
    divide,
    equal,
    greater,
    less,
    logical_and,
    mod,
    multiply,
    stop_gradient,
    subtract,
    where,
)
from ..primitives.scans import cumsum
from ..primitives.shape import _axis, concatenate, diff, getitem, reshape
from ._arguments import _dtype, _ndim, _shape, _traced
from ._creation import asarray

__all__ = ["gradient", "unwrap"]


def _is_uniform(diffx):
    """Whether numpy reduces these coordinate steps to one scalar step (every example)."""
    return decide(lambda d: bool((d == d[0]).all()), diffx)


def _spacings(f, varargs, axes):
    """numpy's reading of ``*varargs``: per axis ``(step, steps, both)``.

    ``step`` is the scalar spacing or None, ``steps`` the 1-d coordinate steps
    or None; ``both`` when traced uniform coordinates need both formulas (the
    value of the scalar one, the derivative of the general one).
    """
    n, len_axes = len(varargs), len(axes)
    if n == 0:
        return [(1.0, None, False)] * len_axes
    if n == 1 and _ndim(varargs[0]) == 0:
        return [(varargs[0], None, False)] * len_axes
    if n != len_axes:
        raise TypeError(
            f"gradient: invalid number of spacing arguments ({n}); give none, one scalar, "
            f"or one scalar or 1-d coordinate array per axis ({len_axes})"
        )
    out = []
    for i, d in enumerate(varargs):
        if _ndim(d) == 0:
            out.append((d, None, False))
            continue
        d = asarray(d)
        if _ndim(d) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if _shape(d)[0] != _shape(f)[axes[i]]:
            raise ValueError(
                "when 1d, distances must match the length of the corresponding dimension"
            )
        if np.issubdtype(_dtype(d), np.integer):
            d = astype(d, np.float64)
        diffx = diff(d)
        uniform = _is_uniform(diffx)
        if uniform and not _traced(diffx):
            out.append((diffx[0], None, False))
        elif uniform:
            out.append((getitem(diffx, 0), diffx, True))
        else:
            out.append((None, diffx, False))
    return out


def _along(f, axis, start, stop):
    return getitem(f, (slice(None),) * axis + (slice(start, stop),))


def _uniform_formula(f, axis, h, edge_order):
    n = _shape(f)[axis]
    f0, f1, fm2, fm1 = (_along(f, axis, k % n, k % n + 1) for k in (0, 1, -2, -1))
    inner = divide(subtract(_along(f, axis, 2, None), _along(f, axis, None, -2)), 2.0 * h)
    if edge_order == 1:
        first = divide(subtract(f1, f0), h)
        last = divide(subtract(fm1, fm2), h)
    else:
        f2, fm3 = _along(f, axis, 2, 3), _along(f, axis, n - 3, n - 2)
        first = add(add(multiply(-1.5 / h, f0), multiply(2.0 / h, f1)),
                    multiply(-0.5 / h, f2))
        last = add(add(multiply(0.5 / h, fm3), multiply(-2.0 / h, fm2)),
                   multiply(1.5 / h, fm1))
    return first, inner, last


def _steps_formula(f, axis, dx, edge_order):
    n, nd = _shape(f)[axis], _ndim(f)
    f0, f1, fm2, fm1 = (_along(f, axis, k % n, k % n + 1) for k in (0, 1, -2, -1))
    dx1, dx2 = getitem(dx, slice(0, -1)), getitem(dx, slice(1, None))
    a = divide(-dx2, multiply(dx1, add(dx1, dx2)))
    b = divide(subtract(dx2, dx1), multiply(dx1, dx2))
    c = divide(dx1, multiply(dx2, add(dx1, dx2)))
    view = tuple(-1 if k == axis else 1 for k in range(nd))
    a, b, c = reshape(a, view), reshape(b, view), reshape(c, view)
    inner = add(add(multiply(a, _along(f, axis, None, -2)), multiply(b, _along(f, axis, 1, -1))),
                multiply(c, _along(f, axis, 2, None)))
    if edge_order == 1:
        first = divide(subtract(f1, f0), getitem(dx, 0))
        last = divide(subtract(fm1, fm2), getitem(dx, -1))
        return first, inner, last
    f2, fm3 = _along(f, axis, 2, 3), _along(f, axis, n - 3, n - 2)
    d1, d2 = getitem(dx, 0), getitem(dx, 1)
    a = divide(-(2.0 * d1 + d2), d1 * (d1 + d2))
    b = divide(d1 + d2, d1 * d2)
    c = divide(-d1, d2 * (d1 + d2))
    first = add(add(multiply(a, f0), multiply(b, f1)), multiply(c, f2))
    d1, d2 = getitem(dx, -2), getitem(dx, -1)
    a = divide(d2, d1 * (d1 + d2))
    b = divide(-(d2 + d1), d1 * d2)
    c = divide(2.0 * d2 + d1, d2 * (d1 + d2))
    last = add(add(multiply(a, fm3), multiply(b, fm2)), multiply(c, fm1))
    return first, inner, last


def gradient(f, *varargs, axis=None, edge_order=1):
    """Second-order finite differences of sampled values (``numpy.gradient``).

    Central differences inside, one-sided differences of order ``edge_order``
    (1 or 2) at the edges; spacing given as one scalar, or per axis a scalar or
    the 1-d sample coordinates (unevenly spaced is allowed).  Several axes give
    a tuple, one array per axis.  The result is linear in ``f``; it is also
    differentiable in traced spacings or coordinates.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.gradient(fnp.array([1.0, 4.0, 9.0, 16.0]), 2.0)
        array([1.5, 2. , 3. , 3.5])
        >>> fgrad.grad(lambda f: fnp.gradient(f)[1])(fnp.array([1.0, 4.0, 9.0]))
        array([-0.5,  0. ,  0.5])
    """
    if not _traced(f, *varargs):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = asarray(f)
    nd = _ndim(f)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = np.lib.array_utils.normalize_axis_tuple(axis, nd)
    spacing = _spacings(f, varargs, axes)
    if edge_order not in (1, 2):
        raise ValueError(
            f"gradient: edge_order must be 1 or 2, not {edge_order!r} "
            "('edge_order' greater than 2 not supported)"
        )
    otype = _dtype(f)
    if not np.issubdtype(otype, np.inexact):
        if np.issubdtype(otype, np.integer):
            f = astype(f, np.float64)
        otype = np.dtype(np.float64)
    outs = []
    for ax, (h, dx, both) in zip(axes, spacing):
        if _shape(f)[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, at least "
                f"(edge_order + 1) = {edge_order + 1} elements are required along axis {ax} "
                f"(it has {_shape(f)[ax]}); use edge_order=1 or more samples."
            )
        if h is not None:
            out = concatenate(_uniform_formula(f, ax, h, edge_order), axis=ax)
            if both:
                # numpy's value (the scalar-step formula), the derivative of the formula
                # for general steps: they agree at evenly spaced coordinates, but only
                # the general one differentiates correctly with respect to each one.
                general = concatenate(_steps_formula(f, ax, dx, edge_order), axis=ax)
                out = add(stop_gradient(out), subtract(general, stop_gradient(general)))
        else:
            out = concatenate(_steps_formula(f, ax, dx, edge_order), axis=ax)
        if _dtype(out) != otype:
            out = astype(out, otype)
        outs.append(out)
    return outs[0] if len(axes) == 1 else tuple(outs)


# --- unwrap ------------------------------------------------------------------------------


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """Remove jumps larger than ``discont`` by adding multiples of ``period``
    (``numpy.unwrap``).

    The correction is piecewise constant in ``p`` (computed from
    ``fgrad.stop_gradient(p)``), so the derivative is the identity.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> p = fnp.array([0.0, 3.0, -3.0])
        >>> fnp.unwrap(p)
        array([0.        , 3.        , 3.28318531])
        >>> fgrad.grad(lambda p: (fnp.unwrap(p) * fnp.arange(3.0)).sum())(p)
        array([0., 1., 2.])
    """
    if not _traced(p, discont, period):
        return np.unwrap(p, discont, axis, period=period)
    p = asarray(p)
    nd = _ndim(p)
    if nd == 0:
        raise ValueError("unwrap: p must be at least one dimensional (a sequence of phases)")
    axis = _axis(axis, nd)
    dd = diff(stop_gradient(p), axis=axis)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(concrete(dd), concrete(period))
    if np.issubdtype(dtype, np.integer):
        interval_high, rem = divmod(period, 2)
        boundary_ambiguous = not np.any(concrete(rem))
    else:
        interval_high = period / 2
        boundary_ambiguous = True
    interval_low = -interval_high
    ddmod = add(mod(subtract(dd, interval_low), period), interval_low)
    mod_dtype = _dtype(ddmod)
    if boundary_ambiguous:
        # a jump of exactly +period/2 keeps its sign (numpy's convention)
        ddmod = where(logical_and(equal(ddmod, interval_low), greater(dd, 0)),
                      interval_high, ddmod)
        if _dtype(ddmod) != mod_dtype:
            ddmod = astype(ddmod, mod_dtype)
    correct = subtract(ddmod, dd)
    correct = where(less(absolute(dd), discont), 0, correct)
    head = (slice(None),) * axis
    rest = add(getitem(p, head + (slice(1, None),)), cumsum(correct, axis=axis))
    first = getitem(p, head + (slice(0, 1),))
    if _dtype(first) != dtype:
        first = astype(first, dtype)
    if _dtype(rest) != dtype:
        rest = astype(rest, dtype)
    return concatenate([first, rest], axis=axis)
