"""Rows of the rule table: reductions.

``sum``, ``mean``, ``prod``, ``amax``/``amin`` (and their nan-ignoring
versions), the order statistics (``median``, ``quantile``, ``percentile`` and
their nan versions, one ``quantile`` row) and a stable ``_logsumexp`` that
other modules reuse.  Composites (``var``, ``std``, ``ptp``, ``average``,
``nansum`` ...) are in fgrad/numpy/_statistics.py; scans in scans.py.

Conventions shared by the rows:

* ``axis`` (``None``, an int or a tuple) and ``keepdims`` are keyword
  parameters; the public wrappers have numpy's signatures and call numpy
  itself when no argument is traced, so plain results are exactly numpy's.
* ``where=`` masks and ``initial=`` values are passed to numpy unchanged; the
  derivative is 0 at masked-out elements.
* ``max``/``min`` split the derivative evenly among tied elements.
* ``prod`` is exact at zeros, to every order: where a slice holds zeros the
  product is written as (product of its non-zero entries) x (each zero entry),
  a polynomial whose derivatives are taken exactly.
* Order statistics differentiate the sorted values they interpolate:
  ``quantile`` is ``(1 - gamma) * s[i] + gamma * s[i + 1]``, so its derivative
  is ``1 - gamma`` and ``gamma`` at those two elements (and, for the
  continuous methods, ``(s[i + 1] - s[i]) * dv/dq`` in ``q``).
"""

__all__ = [
    "sum", "mean", "prod", "amax", "amin", "max", "min", "nanmax", "nanmin",
    "median", "nanmedian", "quantile", "nanquantile", "percentile", "nanpercentile",
    "expand_reduced",
]

import builtins

import numpy as np

from .. import shapes as _shp
from ..core import (
    PRIMITIVES,
    Tracer,
    any_tracer,
    as_array,
    concrete,
    defprim,
    dtype_of,
    is_duck_array,
    ndim_of,
    refuse_out,
    shape_of,
    zeros_like_value,
)
from .elementwise import (
    _where,
    absolute,
    add,
    astype,
    decide,
    divide,
    equal,
    examples_of,
    exp,
    floor,
    fmax,
    fmin,
    greater_equal,
    isfinite,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    maximum,
    minimum,
    multiply,
    stop_gradient,
    subtract,
)
from .indexing import _scatter_along, _sort_order, take_along_axis
from .shape import broadcast_to, getitem, moveaxis, reshape, transpose

_traced = any_tracer


def _axes(axis, ndim):
    """Normalise an ``axis`` argument to a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(sorted(a % ndim if ndim else a for a in axis))
    return (axis % ndim if ndim else axis,)


def _norm_axis(axis, ndim):
    """``axis`` as numpy accepts it, with negative entries resolved (hashable)."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        return tuple(_one_axis(a, ndim) for a in axis)
    return _one_axis(axis, ndim)


def _one_axis(axis, ndim):
    axis = int(axis)
    if not ndim:
        return axis
    if not -ndim <= axis < ndim:  # numpy's error, not a silent wrap-around
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


_ndarray = np.ndarray
_KEPT = {}  # (shape, axis) -> the reduced shape with its axes kept as length 1
_FILL_MAX = 4096  # plain results up to this size are filled, larger ones are views


def _kept_shape(shape, axis):
    try:
        return _KEPT[shape, axis]
    except KeyError:
        pass
    except TypeError:  # an unhashable axis (a list): not cached
        return _kept(shape, axis)
    if len(_KEPT) > 1024:
        _KEPT.clear()
    kept = _KEPT[shape, axis] = _kept(shape, axis)
    return kept


def _kept(shape, axis):
    axes = _axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _expand_plain(g, shape, axis, keepdims):
    # expand_reduced on a plain value, with numpy directly
    if not keepdims or type(g) is not _ndarray:
        g = as_array(g).reshape(_kept_shape(shape, axis))
    if g.shape == shape:
        return g
    if type(g) is not _ndarray:  # dask, cupy: their own broadcast
        return np.broadcast_to(g, shape)
    if _size(shape) <= _FILL_MAX:
        out = np.empty(shape, g.dtype)  # filling a small array beats broadcast_to,
        out[...] = g  # a Python-level numpy function
        return out
    return np.broadcast_to(g, shape)


def _size(shape):
    n = 1
    for k in shape:
        n *= k
    return n


def expand_reduced(g, shape, axis, keepdims, like=None):
    """Broadcast the cotangent of a reduction back to the input's ``shape``.

    ``like`` is the reduction's input: when its value is an array of another
    library (a dask array, a cupy array; see ``fgrad.core.is_duck_array``) the
    result is one of that library's arrays, with ``like``'s chunks, built from
    metadata -- never a numpy array of the data's size.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad.primitives.reductions import expand_reduced
        >>> expand_reduced(fnp.array([1.0, 2.0]), (2, 3), 1, False)
        array([[1., 1., 1.],
               [2., 2., 2.]])
    """
    if like is not None and is_duck_array(concrete(like)):
        return _expand_like(g, shape, axis, keepdims, like)
    if not isinstance(g, Tracer):
        return _expand_plain(g, shape, axis, keepdims)
    if not keepdims:
        kept = _kept_shape(shape, axis)
        if _strip_ones(kept) != g.shape:  # reduced axes not all leading: reshape first
            g = reshape(g, kept)
    return broadcast_to(g, shape)


def _expand_like(g, shape, axis, keepdims, like):
    # zeros with like's chunks plus the (small) cotangent: every chunk is made
    # where it is used, the same way for a traced g (higher orders) as a plain one
    if not isinstance(g, Tracer) and not is_duck_array(g):  # into like's library (small)
        g = np.asarray(g, like=concrete(like))
    if not keepdims:
        kept = _kept_shape(shape, axis)
        g = reshape(g, kept) if isinstance(g, Tracer) else g.reshape(kept)
    return add(zeros_like_value(like, dtype=np.result_type(dtype_of(g), np.float16)), g)


def _xshape(x):
    """The shape of a rule's argument: an array, a tracer, or the Python float or
    complex a traced Python scalar holds (which has no ``.shape``)."""
    shape = getattr(x, "shape", None)
    return shape if type(shape) is tuple else np.shape(x)


def _strip_ones(shape):
    """``shape`` without its leading ones: broadcasting adds them back."""
    i = 0
    while i < len(shape) and shape[i] == 1:
        i += 1
    return shape[i:]


def _reduce_impl(np_fn, ufunc=None):
    reduce = None if ufunc is None else ufunc.reduce

    def impl(x, axis=None, keepdims=False, where=None, initial=None):
        if reduce is not None and type(x) is _ndarray and where is None and initial is None:
            return reduce(x, axis, None, None, keepdims)  # what np_fn does for an ndarray
        kw = {}
        if where is not None:
            kw["where"] = where
        if initial is not None:
            kw["initial"] = initial
        return np_fn(x, axis=axis, keepdims=keepdims, **kw)

    impl.__name__ = np_fn.__name__
    impl.__doc__ = f"``numpy.{np_fn.__name__}`` with keyword parameters."
    return impl


def _example_axis(axis, nd):
    """An axis of one example of rank ``nd`` (under vmap), with numpy's AxisError when
    it is out of range: the batched array has one more axis, so numpy would not
    notice and a wrap-around would reduce the wrong axis."""
    axis = int(axis)
    if not -nd <= axis < nd:
        raise np.exceptions.AxisError(axis, nd)
    return axis % nd


def _reduce_rule(get_prim):
    """vmap rule of a reduction row: the batch axis goes first and is never reduced
    (``axis=None`` becomes every other axis, so ``where=`` masks still broadcast)."""

    def rule(args, dims, axis=None, keepdims=False, **params):
        (x,), (d,) = args, dims
        x = moveaxis(x, d, 0)
        nd = np.ndim(concrete(x)) - 1
        if axis is None:
            axis = tuple(range(1, nd + 1))
        elif isinstance(axis, tuple):
            axis = tuple(_example_axis(a, nd) + 1 for a in axis)
        elif nd == 0:
            # numpy's sum/max... accept axis 0 / -1 of a 0-d array (they reduce nothing),
            # its mean refuses: the row's impl on a 0-d stand-in decides
            get_prim().primitive.impl(np.zeros((), concrete(x).dtype), axis=axis)
            axis = ()
        else:
            axis = _example_axis(axis, nd) + 1  # numpy's AxisError if out of range
        return get_prim()(x, axis=axis, keepdims=keepdims, **params), 0

    return rule


def _masked(g, where):
    return g if where is None else _where(where, g, 0.0)


def _reduce_case(lo=-1.5, hi=1.5):
    """Test arguments for a reduction row: an array and one of the axis choices."""

    def make(rng, shape):
        shape = (3,) + tuple(shape)
        nd = len(shape)
        params = [
            {}, {"axis": 0}, {"axis": -1, "keepdims": True}, {"axis": None, "keepdims": True},
            {"axis": (0, nd - 1)} if nd > 1 else {"axis": (0,)},
        ][rng.integers(5)]
        return (rng.uniform(lo, hi, shape),), params

    return make


def _where_case(rng, shape):
    # a where= mask (keeping at least one element per slice along axis 0)
    shape = (3,) + tuple(shape)
    mask = rng.uniform(size=shape) < 0.7
    mask[0] = True
    return (rng.uniform(0.5, 1.5, shape),), {"axis": 0, "where": mask}


def _initial_case(rng, shape):
    # where= with initial= (max/min need both); the initial value wins in some slices
    (x,), params = _where_case(rng, shape)
    return (x - 1.0,), dict(params, initial=0.0)


# --- sum ----------------------------------------------------------------------


def _sum_jvp(t, ans, x, axis=None, keepdims=False, where=None, initial=None):
    return _sum(t, axis=axis, keepdims=keepdims, where=where)


def _sum_vjp(g, ans, x, axis=None, keepdims=False, where=None, initial=None):
    return _masked(expand_reduced(g, _xshape(x), axis, keepdims, like=x), where)


_sum = defprim(
    "sum", _reduce_impl(np.sum, np.add), jvp=[_sum_jvp], vjp=[_sum_vjp], batch=_reduce_rule(lambda: _sum),
    test={"make": _reduce_case(), "also": [_where_case], "complex": True},
    reads=(0, 1, 2, 3), shape=_shp.reduction(np.sum),
)

# --- mean ---------------------------------------------------------------------


def _mean_count(shape, axis, where):
    """Number of elements averaged into each output (broadcast against the input)."""
    axes = _axes(axis, len(shape))
    if where is None:
        n = 1
        for i in axes:
            n *= shape[i]
        return float(n)
    mask = np.broadcast_to(where, shape)
    return np.sum(mask, axis=axes, keepdims=True).astype(float)


def _mean_jvp(t, ans, x, axis=None, keepdims=False, where=None):
    return _mean(t, axis=axis, keepdims=keepdims, where=where)


def _mean_vjp(g, ans, x, axis=None, keepdims=False, where=None):
    if where is None and not isinstance(g, Tracer):  # plain: divide, then expand
        shape = _xshape(x)
        return expand_reduced(np.divide(g, _mean_count(shape, axis, None)), shape, axis,
                              keepdims, like=x)
    g = expand_reduced(g, _xshape(x), axis, keepdims, like=x)
    return _masked(divide(g, _mean_count(_xshape(x), axis, where)), where)


def _mean_impl(x, axis=None, keepdims=False, where=None):
    if where is None:
        if (type(x) is _ndarray and x.dtype.kind in "fc" and x.dtype.char != "e"
                and (x.ndim or axis is None or axis == ())):  # numpy judges a 0-d's axes
            # numpy.mean's own steps (numpy/_core/_methods.py) without its
            # Python-level set-up: the same sum, count and division
            shape = x.shape
            n = 1
            for i in _axes(axis, len(shape)):
                n *= shape[i]
            if n:
                n = np.intp(n)
                ret = _add_reduce(x, axis, None, None, keepdims)
                if type(ret) is _ndarray:
                    return np.true_divide(ret, n, out=ret, casting="unsafe", subok=False)
                return ret.dtype.type(ret / n)
        return np.mean(x, axis=axis, keepdims=keepdims)
    return np.mean(x, axis=axis, keepdims=keepdims, where=where)


_mean = defprim(
    "mean", _mean_impl, jvp=[_mean_jvp], vjp=[_mean_vjp], batch=_reduce_rule(lambda: _mean),
    test={"make": _reduce_case(), "also": [_where_case], "complex": True},
    reads=(0, 1, 2, 3), shape=_shp.reduction(np.mean),
)

# --- prod (exact at zeros) -------------------------------------------------------


def _lanes(x, axes):
    """Move the reduced ``axes`` last and merge them: ``(lanes..., n)`` plus the undo."""

    shape = np.shape(concrete(x))
    ndim = len(shape)
    keep = [i for i in range(ndim) if i not in axes]
    perm = tuple(keep + list(axes))
    lead = tuple(shape[i] for i in keep)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    moved_shape = tuple(shape[i] for i in perm)
    inverse = tuple(int(i) for i in np.argsort(perm))

    def to_lanes(y):
        return reshape(transpose(y, perm), lead + (n,))

    def from_lanes(y):
        return transpose(reshape(y, moved_shape), inverse)

    return to_lanes, from_lanes


# Entries this much smaller than the largest of their slice are treated like
# zeros by prod and cumprod: dividing by them would make the higher
# derivatives cancel catastrophically (errors ~ eps * (largest / entry)^order).
_SMALL = 1e-3


def _maybe_small(v):
    """Cheap test on a concrete value: could any slice hold a zero or a tiny entry?"""
    a = np.abs(v)
    return a.size > 0 and not bool(np.min(a) > _SMALL * np.max(a))


def _no_small(x):
    """True when the division-based rules of prod/cumprod are safe for ``x``."""
    return decide(lambda v: not _maybe_small(v), x) is True


class _Small:
    """The zero (or tiny) entries of each lane of ``lanes`` (last axis).

    Masks are computed with fgrad functions on the undifferentiated value, so
    they are plain arrays under AD and batched arrays under vmap.  ``first[r]``
    marks the r-th such entry of each lane, ``after[r]`` the positions from
    it on, ``fewer[r]`` the lanes that have fewer than r + 1 of them.
    """

    def __init__(self, lanes):
        a = absolute(stop_gradient(lanes))
        self.mask = mask = less_equal(a, multiply(_SMALL, _amax(a, axis=-1, keepdims=True)))
        try:
            k = int(np.max(np.sum(examples_of(mask), axis=-1), initial=0))
        except TypeError:  # values not known (staged by fgrad.jit): as many as could be,
            k = shape_of(lanes)[-1]  # every entry of a lane (exact for any input)
        self.dtype = dtype = np.result_type(concrete(lanes))
        # the "cumsum" row of scans.py (a row module above this one: looked up by name)
        rank = PRIMITIVES["cumsum"].fn(astype(mask, np.float64), axis=-1)
        count = getitem(rank, (Ellipsis, slice(-1, None)))
        self.first = [logical_and(mask, equal(rank, r + 1)) for r in range(k)]
        self.after = [greater_equal(rank, r + 1) for r in range(k)]
        self.fewer = [astype(less(count, r + 1), dtype) for r in range(k)]

    def values(self, lanes):
        """The r-th small entry of each lane (1 where a lane has fewer), keepdims."""
        return [add(_sum(_where(e, lanes, 0.0), axis=-1, keepdims=True), f)
                for e, f in zip(self.first, self.fewer)]


def _products_excluding(factors, one):
    """``[prod(factors[j] for j != i) for i]`` by prefix and suffix products."""
    k = len(factors)
    prefix = [one]
    for f in factors[:-1]:
        prefix.append(multiply(prefix[-1], f))
    out = [None] * k
    suffix = one
    for i in range(k - 1, -1, -1):
        out[i] = multiply(prefix[i], suffix)
        suffix = multiply(suffix, factors[i])
    return out, suffix  # suffix is now the product of all factors


def _prod_partial(ans, x, axis, keepdims, where, initial):
    """d prod / d x, shaped like x: products of the other factors, exact at zeros."""
    xw = x if where is None else _where(where, x, 1.0)
    shape = np.shape(concrete(xw))
    if _no_small(xw):
        return _masked(divide(expand_reduced(ans, shape, axis, keepdims), xw), where)
    # prod = initial * P * s_0 * s_1 ... where P is the product of the other
    # entries of a lane and s_r its r-th zero (or tiny) entry, 1 in lanes with
    # fewer: a polynomial in those entries, so every derivative is exact
    to_lanes, from_lanes = _lanes(xw, _axes(axis, len(shape)))
    lanes = to_lanes(xw)
    small = _Small(lanes)
    ones_at = _where(small.mask, 1.0, lanes)
    p = _prod(ones_at, axis=-1, keepdims=True)
    if initial is not None:
        p = multiply(p, initial)
    excl, q = _products_excluding(small.values(lanes), np.ones((), small.dtype))
    at_small = 0.0
    for e, others in zip(small.first, excl):
        at_small = add(at_small, _where(e, multiply(p, others), 0.0))
    partial = _where(small.mask, at_small, divide(multiply(p, q), ones_at))
    return _masked(from_lanes(partial), where)


def _prod_jvp(t, ans, x, axis=None, keepdims=False, where=None, initial=None):
    d = _prod_partial(ans, x, axis, keepdims, where, initial)
    return _sum(multiply(t, d), axis=axis, keepdims=keepdims)


def _prod_vjp(g, ans, x, axis=None, keepdims=False, where=None, initial=None):
    d = _prod_partial(ans, x, axis, keepdims, where, initial)
    return multiply(expand_reduced(g, _xshape(x), axis, keepdims, like=x), d)


def _prod_zeros(rng, shape):
    shape = (3,) + tuple(shape)
    x = rng.uniform(0.5, 1.5, shape)
    x = np.where(rng.uniform(size=shape) < 0.3, 0.0, x)
    return (x,), {"axis": [None, 0, -1][rng.integers(3)]}


_prod = defprim(
    "prod", _reduce_impl(np.prod), jvp=[_prod_jvp], vjp=[_prod_vjp],
    batch=_reduce_rule(lambda: _prod),
    test={"make": _reduce_case(0.5, 1.5), "also": [_where_case, _prod_zeros], "complex": True},
    reads=("ans", 0, 1, 2, 3, 4), shape=_shp.reduction(np.prod),
)

# --- max / min (ties split evenly) --------------------------------------------------


def _chooser_weights(ans, x, axis, keepdims, where=None, initial=None):
    # the subgradient of max/min: split evenly among the elements that tie (an
    # `initial` value that ties takes its share too)
    full = ans if keepdims else reshape(ans, _kept_shape(_xshape(x), axis))  # broadcasts
    hit = equal(x, full)
    if where is not None:
        hit = logical_and(hit, where)
    hit = astype(hit, ans.dtype)
    count = _sum(hit, axis=axis, keepdims=True)
    if initial is not None:
        count = add(count, astype(equal(full, initial), ans.dtype))
        count = _where(equal(count, 0), 1.0, count)
    return divide(hit, count)


def _known(x):
    """``x``'s numpy value when only forward/reverse autodiff tracers wrap it (their
    values are the real ones), else ``None`` (vmap, graph tracing: use the rows)."""
    while isinstance(x, Tracer):
        if not x.holds_value:
            return None
        x = x.value
    return x


def _chooser_weights_known(ans, x, axis, keepdims, where, initial):
    # _chooser_weights on numpy values: the weights are piecewise constant (their
    # derivative is zero at every order), so the values are all that is needed
    x = as_array(x)  # a traced Python scalar's value is a float or complex
    kept = _kept_shape(x.shape, axis)
    ans = as_array(ans)
    full = ans if keepdims else ans.reshape(kept)
    hit = np.equal(x, full)
    count = _add_reduce if type(hit) is _ndarray else _sum_kept  # dask, cupy: np.sum
    if where is None and initial is None and ans.dtype == _FLOAT64:
        # the usual call: the booleans counted and divided directly (into float64)
        return hit / count(hit, axis, None, None, True)
    if where is not None:
        hit = np.logical_and(hit, where)
    hit = hit.astype(ans.dtype)
    count = count(hit, axis, None, None, True)
    if initial is not None:
        count = np.add(count, np.equal(full, initial).astype(ans.dtype))
        count = np.where(np.equal(count, 0), 1.0, count)
    return np.divide(hit, count)


def _sum_kept(x, axis, dtype, out, keepdims):
    """``np.add.reduce``'s signature over ``np.sum``, which arrays of other libraries
    (dask, cupy) implement through NEP 18."""
    return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _weights(ans, x, axis, keepdims, where, initial):
    xv = _known(x)
    av = None if xv is None else _known(ans)
    if av is None:
        return _chooser_weights(ans, x, axis, keepdims, where, initial)
    return _chooser_weights_known(av, xv, axis, keepdims, where, initial)


def _chooser(name, impl, test):

    def jvp(t, ans, x, axis=None, keepdims=False, where=None, initial=None):
        w = _weights(ans, x, axis, keepdims, where, initial)
        return _sum(multiply(t, w), axis=axis, keepdims=keepdims)

    def vjp(g, ans, x, axis=None, keepdims=False, where=None, initial=None):
        w = _weights(ans, x, axis, keepdims, where, initial)  # of x's shape
        if not keepdims:  # g broadcasts against the weights once its axes are back
            kept = _kept_shape(_xshape(x), axis)
            if not isinstance(g, Tracer):
                g = as_array(g).reshape(kept)
            elif _strip_ones(kept) != g.shape:  # not only leading axes reduced
                g = reshape(g, kept)
        return multiply(g, w)

    prim = defprim(name, impl, jvp=[jvp], vjp=[vjp], test=test,
                   batch=_reduce_rule(lambda: prim), reads=("ans", 0, 1, 2, 3, 4),
                   shape=_shp.reduction(impl))
    return prim


def _with_nans(rng, shape):
    shape = (3,) + tuple(shape)
    x = rng.standard_normal(shape)
    x[1] = np.nan
    return (x,), {"axis": 0}


_amax = _chooser("amax", _reduce_impl(np.max, np.maximum),
                 {"make": _reduce_case(), "also": [_initial_case]})
_amin = _chooser("amin", _reduce_impl(np.min, np.minimum),
                 {"make": _reduce_case(), "also": [_initial_case]})
_nanmax = _chooser("nanmax", _reduce_impl(np.nanmax), {"make": _reduce_case(), "also": [_with_nans]})
_nanmin = _chooser("nanmin", _reduce_impl(np.nanmin), {"make": _reduce_case(), "also": [_with_nans]})

# --- logsumexp (internal helper for numpy-only code; scipy's lives in special.py) -------


def _logsumexp_impl(x, axis=None, keepdims=False):
    """``log(sum(exp(x), axis))``, computed stably (internal helper).

    ``_logsumexp(x, axis=None, keepdims=False)``; its derivative is the softmax
    ``exp(x - logsumexp(x))``.  A scipy-free helper: fgrad.scipy.special.logsumexp
    has its own scipy-backed row (with ``b`` and ``return_sign``).

    Example:
        >>> import fgrad
        >>> from fgrad.primitives.reductions import _logsumexp
        >>> float(_logsumexp([1000.0, 1000.0]))
        1000.6931471805599
        >>> fgrad.grad(_logsumexp)(fgrad.numpy.array([0.0, 0.0]))
        array([0.5, 0.5])
    """
    x = as_array(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=_axes(axis, x.ndim))
        out = out[()] if out.ndim == 0 else out
    return out


def _softmax_weights(ans, x, axis, keepdims):
    # exp(x - logsumexp(x)); where the answer is infinite (all -inf, or a +inf
    # entry) the weights are shared by the elements equal to it

    full = expand_reduced(ans, _xshape(x), axis, keepdims, like=x)
    if decide(lambda v: np.all(np.isfinite(v)), ans):
        return exp(subtract(x, full))
    fin = isfinite(full)
    inside = exp(subtract(_where(fin, x, 0.0), _where(fin, full, 0.0)))
    hit = astype(logical_and(equal(x, full), logical_not(fin)), ans.dtype)
    count = _sum(hit, axis=axis, keepdims=True)
    return _where(fin, inside, divide(hit, _where(equal(count, 0), 1.0, count)))


_logsumexp = defprim(
    "logsumexp", _logsumexp_impl,
    jvp=[lambda t, ans, x, axis=None, keepdims=False: _sum(
        multiply(t, _softmax_weights(ans, x, axis, keepdims)), axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, x, axis=None, keepdims=False: multiply(
        expand_reduced(g, _xshape(x), axis, keepdims, like=x),
        _softmax_weights(ans, x, axis, keepdims))],
    batch=_reduce_rule(lambda: _logsumexp),
    test={"make": _reduce_case(-30.0, 30.0)},
    reads=("ans", 0, 1, 2), shape=_shp.reduction(_logsumexp_impl),
)
# --- order statistics: median, quantile, percentile -----------------------------------

_Q_FUNCTIONS = {
    "quantile": np.quantile, "nanquantile": np.nanquantile,
    "percentile": np.percentile, "nanpercentile": np.nanpercentile,
}
# the continuous methods: v = n q + alpha + q (1 - alpha - beta) - 1 is the
# position of the q-th quantile in the sorted values (Hyndman and Fan)
_Q_ALPHA_BETA = {
    "linear": (1.0, 1.0), "weibull": (0.0, 0.0), "hazen": (0.5, 0.5),
    "median_unbiased": (1.0 / 3.0, 1.0 / 3.0), "normal_unbiased": (3.0 / 8.0, 3.0 / 8.0),
    "interpolated_inverted_cdf": (0.0, 1.0),
}
_Q_METHODS = tuple(_Q_ALPHA_BETA) + (
    "lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
    "closest_observation",
)


def _quantile_impl(a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    if kind == "median":
        return np.median(a, axis=axis, keepdims=keepdims)
    if kind == "nanmedian":
        return np.nanmedian(a, axis=axis, keepdims=keepdims)
    return _Q_FUNCTIONS[kind](a, q, axis=axis, method=method, keepdims=keepdims)


class _QuantileSetup:
    """Which sorted elements a quantile interpolates, and with which weights.

    Everything is computed with fgrad functions (the sorting permutation from
    the non-differentiable ``sort_order`` row), so the rules also run under
    ``vmap``.  The position ``r`` of each quantile among the sorted values of
    a lane is read off the quantile row itself, applied to the ranks of the
    values (``0 .. c-1``, nan kept for the nan-ignoring kinds): ``r = i +
    gamma`` puts weight ``1 - gamma`` on ``s[i]`` and ``gamma`` on ``s[i + 1]``,
    for every method.  Through ``q``, ``gamma`` carries its derivative in q.

    Lanes are the reduced axes moved last and merged, ``(m, n)``; indices and
    weights are ``(m, nq)`` with ``nq`` the number of quantiles.
    """

    def __init__(self, a, q, axis, method, keepdims, kind):
        shape = np.shape(concrete(a))
        axes = _axes(axis, len(shape))
        keep = [i for i in range(len(shape)) if i not in axes]
        self.perm = tuple(keep + list(axes))
        self.inverse = tuple(int(i) for i in np.argsort(self.perm))
        lead = tuple(shape[i] for i in keep)
        self.m = m = int(np.prod(lead, dtype=np.int64))
        self.n = n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
        self.moved = tuple(shape[i] for i in self.perm)
        median = kind in ("median", "nanmedian")
        self.qshape = () if median else np.shape(concrete(q))
        self.nq = nq = int(np.prod(self.qshape, dtype=np.int64))
        out_lead = tuple(1 if i in axes else shape[i] for i in range(len(shape))) \
            if keepdims else lead
        self.out = self.qshape + out_lead
        self.kind, self.method = kind, method

        values = self.lanes(stop_gradient(a))
        # axis=1, not -1: sort_order's vmap rule does not shift negative axes
        self.order = order = _sort_order(values, axis=1)
        if kind.startswith("nan"):
            self.nan = nan = isnan(values)
            rank = astype(_sort_order(order, axis=1), np.float64)
            ref = _where(nan, np.nan, rank)
            self.count = _sum(astype(logical_not(nan), np.float64), axis=-1, keepdims=True)
        else:
            ref = np.arange(n, dtype=np.float64)[None]
            self.count = float(n)
        r = _quantile(ref, q, axis=-1, method=method, keepdims=False, kind=kind)
        r = transpose(reshape(r, (nq, np.shape(concrete(r))[-1])), (1, 0))
        r = broadcast_to(r, (m, nq))
        r_ok = _where(isnan(r), 0.0, r)
        base = floor(stop_gradient(r_ok))
        lo = astype(base, np.intp)
        last = n - 1
        if kind.startswith("nan"):  # the last non-nan element of each lane
            last = maximum(astype(subtract(self.count, 1.0), np.intp), 0)
        hi = minimum(add(lo, 1), last)
        self.gamma = subtract(r, base)  # nan in an all-nan lane: so is the derivative
        self.idx_lo = take_along_axis(order, lo, axis=-1)
        self.idx_hi = take_along_axis(order, hi, axis=-1)
        self._q = q

    def lanes(self, x):
        return reshape(transpose(x, self.perm), (self.m, self.n))

    def unlanes(self, x):
        return transpose(reshape(x, self.moved), self.inverse)

    def to_out(self, x):
        """``(m, nq)`` -> the result's shape (quantile axes first)."""

        return reshape(transpose(x, (1, 0)), self.out)

    def from_out(self, g):
        return transpose(reshape(g, (self.nq, self.m)), (1, 0))

    def weights(self, like):
        dt = np.result_type(concrete(like))
        g = self.gamma if dt == np.float64 or dt.kind not in "fc" else astype(self.gamma, dt)
        return subtract(1.0, g), g

    def pick(self, x):
        """``x``'s two interpolated elements per lane and quantile: ``(m, nq)`` each."""

        lanes = self.lanes(x)
        return (take_along_axis(lanes, self.idx_lo, axis=-1),
                take_along_axis(lanes, self.idx_hi, axis=-1))

    def slope(self):
        """dr/dq, ``(m, nq)``: zero for the discrete methods and where r is clamped."""

        if self.method not in _Q_ALPHA_BETA or self.kind in ("median", "nanmedian"):
            return None
        alpha, beta = _Q_ALPHA_BETA[self.method]
        scale = 0.01 if self.kind.endswith("percentile") else 1.0
        q = multiply(reshape(stop_gradient(self._q), (1, self.nq)), scale)
        c = self.count
        if self.method == "linear":
            v = multiply(subtract(c, 1.0), q)
        else:
            v = add(multiply(c, q), subtract(alpha - 1.0, multiply(q, alpha + beta - 1.0)))
        inside = logical_and(greater_equal(v, 0.0), less(v, subtract(c, 1.0)))
        dv = multiply(add(c, 1.0 - alpha - beta), scale)
        return _where(inside, dv, 0.0)


def _quantile_jvp_a(t, ans, a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    setup = _QuantileSetup(a, q, axis, method, keepdims, kind)
    w_lo, w_hi = setup.weights(t)
    t_lo, t_hi = setup.pick(t)
    return setup.to_out(add(multiply(t_lo, w_lo), multiply(t_hi, w_hi)))


def _quantile_vjp_a(g, ans, a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    setup = _QuantileSetup(a, q, axis, method, keepdims, kind)
    w_lo, w_hi = setup.weights(g)
    g = setup.from_out(g)
    shape = (setup.m, setup.n)
    out = add(_scatter_along(multiply(g, w_lo), setup.idx_lo, shape=shape, axis=1),
              _scatter_along(multiply(g, w_hi), setup.idx_hi, shape=shape, axis=1))
    return setup.unlanes(out)


def _quantile_q_factor(setup, a):
    # d result / d q = dr/dq * (s[i + 1] - s[i]), (m, nq); None when it is zero
    slope = setup.slope()
    if slope is None:
        return None
    s_lo, s_hi = setup.pick(a)
    return multiply(subtract(s_hi, s_lo), slope)


def _quantile_jvp_q(t, ans, a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    setup = _QuantileSetup(a, q, axis, method, keepdims, kind)
    factor = _quantile_q_factor(setup, a)
    if factor is None:
        return np.zeros(setup.out, np.result_type(concrete(t)))
    return setup.to_out(multiply(reshape(t, (1, setup.nq)), factor))


def _quantile_vjp_q(g, ans, a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    setup = _QuantileSetup(a, q, axis, method, keepdims, kind)
    factor = _quantile_q_factor(setup, a)
    if factor is None:
        return np.zeros(np.shape(concrete(q)), dtype=np.result_type(concrete(g)))
    out = _sum(multiply(setup.from_out(g), factor), axis=0)
    return reshape(out, np.shape(concrete(q)))


def _quantile_batch(args, dims, axis=None, method="linear", keepdims=False, kind="quantile"):
    """vmap rule.  The reduced axes of a batched ``a`` are merged into one last
    axis, after the batch axis (numpy mis-shapes the results of a tuple
    ``axis`` with a 2-d ``q`` in the nan functions); a batched ``q`` adds a
    leading quantile axis, and the diagonal is taken when both are batched."""

    (a, q), (da, dq) = args, dims
    median = kind in ("median", "nanmedian")
    if median and dq is not None:  # the median does not read q
        if da is None:
            out = _quantile(a, 0.5, axis=axis, method=method, keepdims=keepdims, kind=kind)
            size = np.shape(concrete(q))[dq]
            return broadcast_to(out, (size,) + np.shape(concrete(out))), 0
        dq = None
    kept = None
    if da is not None:
        a = moveaxis(a, da, 0)
        shape = np.shape(concrete(a))
        nd = len(shape) - 1
        axes = tuple(i + 1 for i in _axes(axis, nd))
        keep = [i for i in range(1, nd + 1) if i not in axes]
        n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
        a = reshape(transpose(a, (0, *keep, *axes)), (shape[0], *(shape[i] for i in keep), n))
        axis = len(keep) + 1
        if keepdims:
            kept = (shape[0],) + tuple(1 if i in axes else shape[i] for i in range(1, nd + 1))
    elif dq is not None and isinstance(axis, tuple):
        # a shared ``a`` with a (now 2-d) batched q: the same merge of the reduced axes
        shape = np.shape(concrete(a))
        axes = _axes(axis, len(shape))
        keep = [i for i in range(len(shape)) if i not in axes]
        n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
        a = reshape(transpose(a, (*keep, *axes)), (*(shape[i] for i in keep), n))
        axis = len(keep)
        if keepdims:
            kept = tuple(1 if i in axes else shape[i] for i in range(len(shape)))
    if dq is not None:
        q = moveaxis(q, dq, 0)
    qshape = () if median else np.shape(concrete(q))
    out = _quantile(a, q, axis=axis, method=method, keepdims=keepdims and kept is None,
                    kind=kind)
    if kept is not None:
        out = reshape(out, qshape + kept)
    if dq is None:
        return out, len(qshape)
    if da is None:
        return out, 0
    diag = np.arange(qshape[0])
    return getitem(out, (diag,) + (slice(None),) * (len(qshape) - 1) + (diag,)), 0


def _quantile_case(rng, shape):
    shape = (4,) + tuple(shape)
    a = rng.standard_normal(shape)
    kind = ["quantile", "percentile", "median", "nanquantile", "nanmedian"][rng.integers(5)]
    if kind.startswith("nan"):  # some nan, but no slice all nan
        mask = rng.uniform(size=shape) < 0.4
        mask[1] = False
        mask[..., 0] = False
        a[mask] = np.nan
    method = ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
              "median_unbiased", "normal_unbiased", "inverted_cdf"][rng.integers(10)]
    q = rng.uniform(0.05, 0.85, size=[(), (2,)][rng.integers(2)])  # room for vmap's nudges
    if kind.endswith("median"):
        method, q = "linear", np.float64(0.5)
    if kind == "percentile":
        q = 100 * q
    axis = [None, 0, -1, (0, -1)][rng.integers(4)] if len(shape) > 1 else [None, 0][rng.integers(2)]
    return (a, q), {"axis": axis, "method": method, "keepdims": bool(rng.integers(2)), "kind": kind}


def _quantile_shape(a, q, axis=None, method="linear", keepdims=False, kind="quantile"):
    s = _shp.reduced(_shp.shape(a), axis, keepdims)
    if kind not in ("median", "nanmedian"):
        s = _shp.shape(q) + s
    return s, _shp.dtype_on_tiny(lambda a, q: _quantile_impl(
        a, q, axis=axis, method=method, keepdims=keepdims, kind=kind), [a, q])


_quantile = defprim(
    "quantile", _quantile_impl,
    jvp=[_quantile_jvp_a, _quantile_jvp_q], vjp=[_quantile_vjp_a, _quantile_vjp_q],
    batch=_quantile_batch,
    test={"make": _quantile_case},
    reads=(0, 1, 2, 3, 4, 5), shape=_quantile_shape,
)


def _quantile_function(kind, doc):
    """numpy's ``kind`` (quantile, nanquantile, percentile, nanpercentile): numpy's
    own result on untraced input, else the differentiable ``_quantile``."""
    np_fn = _Q_FUNCTIONS[kind]

    def function(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=False, *, weights=None, interpolation=None):
        if not _traced(a, q, weights):
            extra = {} if interpolation is None else {"interpolation": interpolation}
            return np_fn(a, q, axis=axis, out=out, overwrite_input=overwrite_input, method=method,
                         keepdims=keepdims, weights=weights, **extra)
        refuse_out(out, kind)
        if weights is not None or interpolation is not None:
            raise NotImplementedError(
                f"fgrad.numpy.{kind} on traced values supports neither weights= nor the deprecated "
                "interpolation= (use method=); wrap the argument in fgrad.stop_gradient if no "
                "derivative is needed"
            )
        if method not in _Q_METHODS:
            raise ValueError(f"{method!r} is not a valid method for {kind}")
        ndim = np.ndim(concrete(a))
        return _quantile(a, q, axis=_norm_axis(axis, ndim), method=method, keepdims=keepdims,
                         kind=kind)

    function.__name__ = function.__qualname__ = kind
    function.__doc__ = doc
    return function


quantile = _quantile_function("quantile", """The ``q``-th quantiles along the given axes (``numpy.quantile``), every method.

    The derivative flows to the (at most two) sorted elements the result
    interpolates, with the interpolation weights; for the continuous methods
    (``linear``, ``hazen``, ``weibull`` ...) ``q`` is differentiable too.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([4.0, 1.0, 3.0, 2.0])
        >>> float(fnp.quantile(x, 0.25))
        1.75
        >>> fgrad.grad(lambda x: fnp.quantile(x, 0.25))(x)
        array([0.  , 0.25, 0.  , 0.75])
        >>> float(fgrad.grad(lambda q: fnp.quantile(x, q))(0.25))
        3.0
    """)

nanquantile = _quantile_function("nanquantile", """Quantiles ignoring nan (``numpy.nanquantile``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.nanquantile(x, 0.5))(fnp.array([1.0, fnp.nan, 3.0]))
        array([0.5, 0. , 0.5])
    """)

percentile = _quantile_function("percentile", """The ``q``-th percentiles (``numpy.percentile``): quantiles with ``q`` in percent.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.percentile(x, 50))(fnp.array([3.0, 1.0, 2.0]))
        array([0., 0., 1.])
    """)

nanpercentile = _quantile_function("nanpercentile", """Percentiles ignoring nan (``numpy.nanpercentile``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> float(fnp.nanpercentile(fnp.array([1.0, fnp.nan, 3.0]), 50))
        2.0
    """)


def _median(plain, kind, a, axis, out, overwrite_input, keepdims):
    """median/nanmedian: numpy's ``plain`` on untraced input, else the 0.5 quantile."""
    if not _traced(a):
        return plain(a, axis=axis, out=out, overwrite_input=overwrite_input, keepdims=keepdims)
    refuse_out(out, kind)
    return _quantile(a, 0.5, axis=_norm_axis(axis, np.ndim(concrete(a))), method="linear",
                     keepdims=keepdims, kind=kind)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median along the given axes (``numpy.median``).

    With an even count the median is the mean of the two middle elements,
    which share the derivative.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.median)(fnp.array([4.0, 1.0, 3.0, 2.0]))
        array([0. , 0. , 0.5, 0.5])
    """
    return _median(np.median, "median", a, axis, out, overwrite_input, keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median ignoring nan (``numpy.nanmedian``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanmedian)(fnp.array([4.0, fnp.nan, 1.0]))
        array([0.5, 0. , 0.5])
    """
    return _median(np.nanmedian, "nanmedian", a, axis, out, overwrite_input, keepdims)


# --- public wrappers ---------------------------------------------------------------

_NO_VALUE = np._NoValue


_add_reduce = np.add.reduce
_FLOAT64 = np.dtype(np.float64)
_multiply_reduce = np.multiply.reduce
_maximum_reduce = np.maximum.reduce
_minimum_reduce = np.minimum.reduce


def _cast(x, dtype):
    return x if dtype is None else astype(x, dtype)


def _kw(keepdims, initial, where):
    kw = {}
    if keepdims is not _NO_VALUE:
        kw["keepdims"] = keepdims
    if initial is not _NO_VALUE:
        kw["initial"] = initial
    if where is not _NO_VALUE:
        kw["where"] = where
    return kw


def _traced_params(name, initial=None, where=None):
    if isinstance(where, Tracer):
        raise TypeError(f"fgrad.numpy.{name}: where= must be a boolean array, not a traced value")
    return (None if initial is _NO_VALUE else initial,
            None if where is _NO_VALUE or where is True else np.asarray(where))


def _reduce_traced(prim, a, axis, keepdims):
    # the common traced call (no initial, where, dtype or out) in a few steps
    if axis is not None and not (type(axis) is int and axis >= 0):  # else numpy checks it
        axis = _norm_axis(axis, a.ndim)
    return prim(a, axis=axis, keepdims=keepdims is not _NO_VALUE and bool(keepdims))


def _reduce(prim, name, a, axis, keepdims, initial, where, combine=None):
    if initial is where is _NO_VALUE:
        initial = where = None
    else:
        initial, where = _traced_params(name, initial, where)
    keepdims = bool(keepdims) if keepdims is not _NO_VALUE else False
    if axis is not None and not (type(axis) is int and axis >= 0):  # else numpy checks it
        axis = _norm_axis(axis, ndim_of(a))
    if isinstance(initial, Tracer):  # a traced initial value joins afterwards
        return combine(prim(a, axis=axis, keepdims=keepdims, where=where), initial)
    return prim(a, axis=axis, keepdims=keepdims, where=where, initial=initial)


def sum(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE,
        where=_NO_VALUE):
    """Sum of array elements over the given axes (``numpy.sum``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.sum(x * x))(fnp.arange(3.0))
        array([0., 2., 4.])
    """
    if type(a) is _ndarray and keepdims is initial is where is _NO_VALUE:
        return _add_reduce(a, axis, dtype, out)  # what numpy.sum does for an ndarray
    if isinstance(a, Tracer) and a.holds_value and initial is where is _NO_VALUE and dtype is out is None:
        return _reduce_traced(_sum, a, axis, keepdims)
    if not _traced(a, initial):
        return np.sum(a, axis=axis, dtype=dtype, out=out, **_kw(keepdims, initial, where))
    refuse_out(out, "sum")
    return _reduce(_sum, "sum", _cast(a, dtype), axis, keepdims, initial, where, add)


def mean(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, *, where=_NO_VALUE):
    """Arithmetic mean over the given axes (``numpy.mean``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.mean)(fnp.ones(4))
        array([0.25, 0.25, 0.25, 0.25])
    """
    if type(a) is _ndarray and keepdims is where is _NO_VALUE:
        return a.mean(axis, dtype, out)  # what numpy.mean does for an ndarray
    if not _traced(a):
        return np.mean(a, axis=axis, dtype=dtype, out=out, **_kw(keepdims, _NO_VALUE, where))
    refuse_out(out, "mean")
    _, where = _traced_params("mean", None, where)
    keepdims = bool(keepdims) if keepdims is not _NO_VALUE else False
    a = _cast(a, dtype)
    if axis is not None and not (type(axis) is int and axis >= 0):  # else numpy checks it
        axis = _norm_axis(axis, ndim_of(a))
    if where is None:  # fewer params: cheaper to record and to pass to the rules
        return _mean(a, axis=axis, keepdims=keepdims)
    return _mean(a, axis=axis, keepdims=keepdims, where=where)


def prod(a, axis=None, dtype=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE,
         where=_NO_VALUE):
    """Product of array elements (``numpy.prod``); exact derivatives at zeros.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.prod)(fnp.array([2.0, 3.0, 0.0]))
        array([0., 0., 6.])
    """
    if type(a) is _ndarray and keepdims is initial is where is _NO_VALUE:
        return _multiply_reduce(a, axis, dtype, out)  # what numpy.prod does for an ndarray
    if not _traced(a, initial):
        return np.prod(a, axis=axis, dtype=dtype, out=out, **_kw(keepdims, initial, where))
    refuse_out(out, "prod")
    return _reduce(_prod, "prod", _cast(a, dtype), axis, keepdims, initial, where, multiply)


def _extremum(prim, np_fn, name, combine, a, axis, out, keepdims, initial, where):
    if not _traced(a, initial):
        return np_fn(a, axis=axis, out=out, **_kw(keepdims, initial, where))
    refuse_out(out, name)
    return _reduce(prim, name, a, axis, keepdims, initial, where, combine)


def amax(a, axis=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE, where=_NO_VALUE):
    """Maximum over the given axes (``numpy.max``); ties share the derivative evenly.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.max)(fnp.array([1.0, 3.0, 3.0]))
        array([0. , 0.5, 0.5])
    """
    if type(a) is _ndarray and keepdims is initial is where is _NO_VALUE:
        return _maximum_reduce(a, axis, None, out)  # what numpy.max does for an ndarray
    if isinstance(a, Tracer) and a.holds_value and initial is where is _NO_VALUE and out is None:
        return _reduce_traced(_amax, a, axis, keepdims)
    return _extremum(_amax, np.max, "max", maximum, a, axis, out, keepdims, initial, where)


def amin(a, axis=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE, where=_NO_VALUE):
    """Minimum over the given axes (``numpy.min``); ties share the derivative evenly.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.min)(fnp.array([1.0, 3.0]))
        array([1., 0.])
    """
    if type(a) is _ndarray and keepdims is initial is where is _NO_VALUE:
        return _minimum_reduce(a, axis, None, out)  # what numpy.min does for an ndarray
    return _extremum(_amin, np.min, "min", minimum, a, axis, out, keepdims, initial, where)


max, min = amax, amin


def nanmax(a, axis=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE, where=_NO_VALUE):
    """Maximum ignoring nan (``numpy.nanmax``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanmax)(fnp.array([1.0, fnp.nan, 3.0]))
        array([0., 0., 1.])
    """
    return _extremum(_nanmax, np.nanmax, "nanmax", fmax, a, axis, out, keepdims, initial, where)


def nanmin(a, axis=None, out=None, keepdims=_NO_VALUE, initial=_NO_VALUE, where=_NO_VALUE):
    """Minimum ignoring nan (``numpy.nanmin``); nan entries get derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.nanmin)(fnp.array([1.0, fnp.nan, 3.0]))
        array([1., 0., 0.])
    """
    return _extremum(_nanmin, np.nanmin, "nanmin", fmin, a, axis, out, keepdims, initial, where)


_ = builtins  # the builtins shadowed above (sum, max, min) stay reachable as builtins.*
