"""More numpy functions: gradient, unwrap, insert, bincount, digitize, copy, unique.

Each one calls numpy itself when no argument is traced.  On tracers they are
written with fgrad functions (one new row, ``copy``), so every transform works
and traced values equal numpy's: ``gradient`` repeats numpy's finite-difference
formulas operation for operation, ``unwrap`` adds a piecewise-constant
correction computed from ``stop_gradient(p)``, and ``insert``/``unique`` let
numpy work out which element goes where and then gather.
"""

import numpy as np

from ..batching import BatchedValue, BatchedValueError
from ..core import any_tracer, concrete, defprim
from ..primitives.elementwise import (
    absolute,
    add,
    astype,
    decide,
    divide,
    equal,
    examples_of,
    greater,
    less,
    logical_and,
    mod,
    multiply,
    stop_gradient,
    subtract,
    where,
)
from ..primitives.indexing import _searchsorted, take
from ..primitives.scans import cumsum
from ..primitives.shape import (
    _axis,
    concatenate,
    diff,
    getitem,
    index_add,
    index_set,
    ravel,
    reshape,
)
from ._creation import _contains_tracer, asarray

__all__ = ["gradient", "unwrap", "insert", "bincount", "digitize", "copy", "unique",
           "piecewise"]

def _traced(*xs):
    """True if any argument is a tracer or a (nested) list/tuple holding one."""
    return any_tracer(*xs) or any(_contains_tracer(x) for x in xs)


def _shape(x):
    return np.shape(concrete(x))


def _ndim(x):
    return np.ndim(concrete(x))


def _dtype(x):
    return np.result_type(concrete(x))


def _batched(x):
    """True when ``x`` is batched by an enclosing ``fgrad.vmap``."""
    return isinstance(concrete(x), BatchedValue)


def _plain(x, name, what):
    """The concrete numpy value of an argument that only steers the layout.

    Under ``vmap`` it must be the same in every example; otherwise the error
    says which argument of which function was the problem.
    """
    try:
        return np.asarray(concrete(x))
    except BatchedValueError:
        raise BatchedValueError(
            f"fgrad.numpy.{name}: `{what}` is batched by fgrad.vmap and differs between the "
            "examples, but it decides the layout (shape) of the result, which must be the "
            "same for every example. Pass it unbatched (in_axes=None), or loop over the "
            "examples in Python."
        ) from None


# --- copy -----------------------------------------------------------------------------

_copy = defprim(
    "copy", lambda x: np.array(x, copy=True),
    jvp=[lambda t, ans, x: t],
    vjp=[lambda g, ans, x: g],
    batch="elementwise",
    test={"complex": True},
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
    if not _traced(a):
        return np.copy(a, order=order, subok=subok)
    return _copy(asarray(a))


# --- digitize / bincount (integer layouts) -------------------------------------------


def _monotonicity(b):
    """1 (non-decreasing), -1 (non-increasing) or 0 for one example's 1-d bins."""
    d = np.diff(b)
    if np.all(d >= 0):
        return 1
    if np.all(d <= 0):
        return -1
    return 0


def digitize(x, bins, right=False):
    """Indices of the bins each value falls in (``numpy.digitize``); integer output,
    no derivative.  Bins may be increasing or decreasing.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> bins = fnp.array([0.0, 1.0, 2.0])
        >>> fnp.digitize(fnp.array([-0.5, 0.5, 1.0, 3.0]), bins)
        array([0, 1, 2, 3])
        >>> fgrad.grad(lambda x: fnp.digitize(x, bins) * x)(1.5)
        np.float64(2.0)
    """
    if not _traced(x, bins):
        return np.digitize(x, bins, right=right)
    x, bins = asarray(x), asarray(bins)
    if _dtype(x).kind == "c":
        raise TypeError("digitize: x may not be complex (compare real or imaginary parts)")
    if _ndim(bins) != 1:
        raise ValueError(
            f"digitize: bins must be a 1-d array, got {_ndim(bins)} dimensions; "
            "pass a flat sorted array of bin edges"
        )
    mono = {_monotonicity(e) for e in examples_of(bins)}
    if mono == {0} or len(mono) != 1:
        raise ValueError(
            "digitize: bins must be monotonically increasing or decreasing"
            + (" (in every example of the vmap)" if len(mono) != 1 else "")
            + "; sort them first (fnp.sort)"
        )
    side = "left" if right else "right"
    if mono == {-1}:
        n = _shape(bins)[0]
        return subtract(n, _searchsorted(getitem(bins, slice(None, None, -1)), x, side=side))
    return _searchsorted(bins, x, side=side)


def bincount(x, weights=None, minlength=0):
    """Count (or sum ``weights`` over) each non-negative integer (``numpy.bincount``).

    ``x`` carries no derivative; the weights do: the result is a scatter-add of
    the weights, so the cotangent of ``weights[i]`` is the cotangent of bin ``x[i]``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([0, 2, 2])
        >>> fnp.bincount(x, fnp.array([1.0, 2.0, 3.0]))
        array([1., 0., 5.])
        >>> fgrad.grad(lambda w: (fnp.bincount(x, w) ** 2).sum())(fnp.array([1.0, 2.0, 3.0]))
        array([ 2., 10., 10.])
    """
    if not _traced(x, weights, minlength):
        return np.bincount(x, weights, minlength)
    xv = _plain(x, "bincount", "x")
    counts = np.bincount(xv, minlength=int(_plain(minlength, "bincount", "minlength")))
    weights = None if weights is None else asarray(weights)
    if weights is None or xv.size == 0 and _shape(weights) == xv.shape:
        return counts  # numpy's zero-length case also ignores the weights' dtype
    if _shape(weights) != xv.shape:
        raise ValueError(
            f"bincount: weights (shape {_shape(weights)}) and x (shape {xv.shape}) must "
            "have the same length"
        )
    if _dtype(weights).kind == "c":
        raise TypeError(
            "bincount: complex weights are not supported (numpy casts weights to float64); "
            "count the real and imaginary parts separately"
        )
    if _dtype(weights) != np.float64:
        weights = astype(weights, np.float64)
    return index_add(np.zeros(counts.shape, dtype=np.float64), weights,
                     idx=xv.astype(np.intp))


# --- insert ----------------------------------------------------------------------------


def insert(arr, obj, values, axis=None):
    """Insert ``values`` before the indices ``obj`` (``numpy.insert``).

    Differentiable in ``arr`` and ``values`` (values broadcast into several slots
    collect the cotangent of each).  ``obj`` is an integer, a slice or a
    sequence, as in numpy; ``axis=None`` works on the flattened array.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.insert(fnp.array([1.0, 2.0]), 1, fnp.array(9.0))
        array([1., 9., 2.])
        >>> v = fnp.array([1.0, 2.0])
        >>> fgrad.grad(lambda v: fnp.insert(fnp.zeros((2, 2)), [0, 2], v, axis=1).sum())(v)
        array([2., 2.])
    """
    if not _traced(arr, obj, values):
        return np.insert(arr, obj, values, axis=axis)
    arr, values = asarray(arr), asarray(values)
    shape, vshape = _shape(arr), _shape(values)
    n, m = int(np.prod(shape, dtype=np.int64)), int(np.prod(vshape, dtype=np.int64))
    # numpy lays out integer codes: i >= 0 is arr.flat[i], -1 - k is values.flat[k]
    codes = np.arange(n, dtype=np.intp).reshape(shape)
    vcodes = (-1 - np.arange(m, dtype=np.intp)).reshape(vshape)
    pos = _plain(obj, "insert", "obj") if _traced(obj) else obj
    layout = np.insert(codes, pos, vcodes, axis=axis)
    source_idx = np.where(layout >= 0, layout, n - 1 - layout)
    dtype = _dtype(arr)
    if _dtype(values) != dtype:
        values = astype(values, dtype)
    return getitem(concatenate([ravel(arr), ravel(values)]), source_idx)


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


# --- gradient ---------------------------------------------------------------------------


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


# --- unique -------------------------------------------------------------------------------


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True):
    """The unique elements (``numpy.unique``), and optionally where they come from.

    The unique values are a gather of ``ar`` at the first occurrence of each, so
    they are differentiable in ``ar``; the index, inverse and count outputs are
    plain integers.  The number of unique values depends on the values, so
    ``unique`` cannot run on an array batched by ``vmap``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([3.0, 1.0, 3.0])
        >>> fnp.unique(x)
        array([1., 3.])
        >>> fgrad.grad(lambda x: (fnp.unique(x) * fnp.array([1.0, 10.0])).sum())(x)
        array([10.,  1.,  0.])
    """
    # `sorted` only when not the default: numpy < 2.3 has no such keyword
    extra = {} if sorted is True else {"sorted": sorted}
    if not _traced(ar):
        return np.unique(ar, return_index=return_index, return_inverse=return_inverse,
                         return_counts=return_counts, axis=axis, equal_nan=equal_nan, **extra)
    ar = asarray(ar)
    if _batched(ar):
        raise BatchedValueError(
            "fgrad.numpy.unique: the number of unique values depends on the values of the "
            "array, which is batched by fgrad.vmap, so the examples cannot share one output "
            "shape. Call unique outside vmap, or loop over the examples in Python "
            "([fnp.unique(a) for a in xs]); for a fixed-size result, sort instead "
            "(fnp.sort) and mark repeats with fnp.diff."
        )
    found = np.unique(concrete(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=equal_nan, **extra)
    first = found[1]
    values = getitem(ravel(ar), first) if axis is None else take(ar, first, axis=axis)
    if not (return_index or return_inverse or return_counts):
        return values
    out = [values]
    if return_index:
        out.append(first)
    out.extend(found[2:])
    return tuple(out)


# --- piecewise ------------------------------------------------------------------------


class _PieceTraced(Exception):
    pass


def _untraced(func):
    if not callable(func):
        return func

    def piece(*a, **k):
        out = func(*a, **k)
        if _traced(out):
            raise _PieceTraced
        return out

    return piece


def piecewise(x, condlist, funclist, *args, **kw):
    """Evaluate a function piece by piece (``numpy.piecewise``).

    As in numpy, each function sees only the elements its condition selects (so a
    ``sqrt`` piece never meets the negative inputs of another piece, and no NaN
    leaks into the derivative); a constant fills its piece; one extra function is
    the value where no condition holds; later pieces win where conditions overlap.
    The conditions are plain boolean arrays (comparisons of traced values are);
    under ``vmap`` they must be the same in every example (the pieces' sizes are).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([-2.0, 1.0, 4.0])
        >>> fnp.piecewise(x, [x < 0, x >= 0], [0.0, fnp.sqrt])
        array([0., 1., 2.])
        >>> fgrad.grad(lambda x: fnp.piecewise(x, [x < 0], [lambda v: v ** 2, fnp.sqrt]).sum())(x)
        array([-4.  ,  0.5 ,  0.25])
    """
    if not _traced(x, *args, *kw.values()):
        try:  # numpy itself, unless a piece returns a tracer (a closure over one)
            return np.piecewise(x, condlist, [_untraced(f) for f in funclist], *args, **kw)
        except _PieceTraced:
            pass
    shape, dtype = _shape(x), _dtype(x)
    if np.isscalar(condlist) or (
        not isinstance(condlist[0], (list, np.ndarray)) and not _traced(condlist[0])
        and len(shape) != 0
    ):
        condlist = [condlist]
    conds = [np.broadcast_to(_plain(c, "piecewise", "condlist").astype(bool), shape)
             for c in condlist]
    if len(funclist) == len(conds) + 1:  # the "otherwise" piece
        conds.append(~np.any(conds, axis=0) if conds else np.ones(shape, bool))
    elif len(funclist) != len(conds):
        raise ValueError(
            f"piecewise: with {len(conds)} condition(s) there must be {len(conds)} or "
            f"{len(conds) + 1} functions (the last one for 'otherwise'), got {len(funclist)}"
        )
    y = np.zeros(shape, dtype)
    for cond, func in zip(conds, funclist):
        if not callable(func):
            y = where(cond, astype(func, dtype), y)
        elif cond.any():
            if not shape:  # a 0-d x: the piece gets x itself, as numpy's does
                y = where(cond, astype(func(x, *args, **kw), dtype), y)
            else:
                part = astype(func(getitem(x, cond), *args, **kw), dtype)
                y = index_set(y, part, idx=cond)
    return y
