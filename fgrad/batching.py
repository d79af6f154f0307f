"""Vectorising map: ``fgrad.vmap`` and the batching rules of the table.

``vmap(f)`` runs ``f`` once on whole batches.  It opens a :class:`BatchTrace`
and wraps each mapped input in a :class:`BatchTracer` holding the batched array
(``val``) and the position of its batch axis (``bdim``).  Inside ``f`` a batched
value looks like one example: its ``shape`` leaves the batch axis out.  Every
primitive applied to it goes to :meth:`BatchTrace.process`, which looks up the
row's ``batch`` entry in the rule table and calls numpy's own vectorised form
once for the whole batch (no Python loop over the examples).

A row's ``batch`` is either a function ``batch(args, dims, **params) -> (out,
out_dim)`` (``dims[i]`` is the batch axis of ``args[i]``, or ``None`` when that
argument is the same for every example) or the name of a category below:

===============  ==================================================================
``elementwise``  numpy broadcasting functions (ufuncs, ``where``, casts)
``reduce``       functions with ``axis`` (and maybe ``keepdims``) parameters where
                 ``axis=None`` means the flattened array: reductions (``sum``,
                 ``argmax``) and scans (``cumsum``)
``axis``         shape-preserving functions of ``axis``/``axes`` where ``None``
                 means every axis (``flip``)
``reshape``      ``shape`` parameter
``transpose``    ``axes`` parameter (a full permutation)
``broadcast_to`` ``shape`` parameter
``concatenate``  any number of arrays joined along ``axis``
``getitem``      ``x[idx]`` with ``idx`` a parameter
``index_update`` ``index_add(x, y, idx=...)`` / ``index_set``
``matmul``       ``numpy.matmul`` semantics (vectors, stacks of matrices)
``leading``      numpy broadcasts the function over leading axes and every
                 argument has its core dimensions last (most of ``np.linalg``
                 for matrix arguments; a 1-D argument that numpy reads as a
                 vector needs a rule function instead)
===============  ==================================================================

All rules are written with fgrad functions, so batching composes with ``grad``,
``jvp`` and ``vjp`` at any depth.  Rules always call a primitive's ``fn`` (so
lower traces record the call) and move axes with ``fgrad.numpy`` functions.

Values that differ from example to example cannot steer Python control flow:
``bool()`` of a batched value raises :class:`BatchedValueError`, which says to
use ``fnp.where`` instead.  ``concrete()`` of a batched tracer is a
:class:`BatchedValue`: it knows one example's shape and dtype, and numpy code on
its values (e.g. a rule checking ``np.all(np.isfinite(concrete(x)))`` to pick a
formula) is evaluated for every example and accepted only when all the examples
give the same result, which is exactly what a Python loop would have seen;
otherwise it raises.  So a batched computation is never silently different
from the loop over its examples.

Rows without any ``batch`` entry fail with :class:`MissingBatchRuleError`
naming the row; ``fgrad.jacfwd``/``jacrev`` then fall back to one pass per row.

``jacfwd``, ``jacrev`` and ``hessian`` enter their unit vectors through
:func:`vmap_unit_vectors`: a structured batch (the identity, or a diagonal scaling of
it) that a few rows keep (``multiply``/``divide`` by an unbatched value, ``add``,
``subtract``, ``negative``, ``reshape``, a full ``sum``) and that ``matmul`` with an
unbatched matrix turns into the matrix scaled along one axis; every other rule gets the
dense array (see the comment above ``_BasisTracer``).
"""

from __future__ import annotations

import operator

import numpy as np

from .core import (  # noqa: F401  (the errors are fgrad.batching's names too)
    ACCEPTED_INPUTS,
    PRIMITIVES,
    REFUSED,
    BatchedValueError,
    BatchingError,
    ManyValues,
    Trace,
    Tracer,
    TracerConversionError,
    as_array,
    check_value,
    check_values,
    concrete,
    debug_variant,
    dtype_of,
    has_nan,
    leaf_problem,
    nan_cause,
    nan_error,
    ndim_of,
    shape_of,
    shapes_text,
)
from .tree import _children, leaf_paths, registration_advice, tree_flatten

__all__ = [
    "vmap",
    "BatchTrace",
    "BatchTracer",
    "BatchedValue",
    "BatchingError",
    "MissingBatchRuleError",
    "BatchedValueError",
    "CATEGORY_RULES",
    "batch_rule_of",
]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class MissingBatchRuleError(BatchingError, NotImplementedError):
    """A primitive was applied to a batched value but its row has no batching rule."""


class _BatchedConversionError(BatchedValueError, TracerConversionError):
    """numpy converting a batched tracer to an array: fgrad.numpy's functions retry
    when the tracer sat in a list argument (see :func:`fgrad.core.with_arrays`)."""


def _value_error(what, size=None):
    n = f"{size} examples" if size is not None else "the examples"
    return BatchedValueError(
        f"fgrad.vmap: {what} needs the concrete value of an array that is batched by "
        f"vmap, and that value differs between the examples ({n}), so no single Python "
        "value can stand for it. This happens with Python control flow on a batched "
        "value (`if x > 0:`, `while`, `and`/`or`, bool()), conversions (float(), int(), "
        ".item(), np.asarray), value-dependent numpy calls, and indexing an array that is "
        "not batched with an index that is. Instead: select elementwise with "
        "fnp.where(cond, a, b) (and fnp.maximum/fnp.clip), keep to fgrad.numpy "
        "functions, move the decision outside vmap, or loop over the examples in Python."
    )


# --------------------------------------------------------------------------
# Tracers
# --------------------------------------------------------------------------


def _same(results):
    """True when every example's result (leaves of pytrees) is identical."""
    first = tree_flatten(results[0])
    for r in results[1:]:
        leaves, tree = tree_flatten(r)
        if tree != first[1] or len(leaves) != len(first[0]):
            return False
        for a, b in zip(leaves, first[0]):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape:
                return False
            nan = a.dtype.kind in "fc" and b.dtype.kind in "fc"
            if not np.array_equal(a, b, equal_nan=nan):
                return False
    return True


class BatchedValue(ManyValues):
    """What ``concrete()`` returns for a batched tracer: one example's shape and
    dtype, and its values only where they are the same in every example.

    Metadata queries always work (``.shape``, ``.dtype``, ``np.shape``,
    ``np.ndim``, ``np.result_type``, ``np.zeros_like`` ...).  Numpy code on the
    values (``np.any(np.equal(v, 0))``, ``np.asarray(v)``, ``int(v)``) is
    evaluated for every example; when all the examples give the same result,
    that result is returned, exactly as a Python loop over the examples would
    see it.  When they differ, :class:`BatchedValueError` explains why and what
    to use instead.  ``bool()`` always raises (Python control flow on a batched
    value), as in JAX.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> def show(x):
        ...     print(fgrad.core.concrete(x).shape)
        ...     return x
        >>> fgrad.vmap(show)(fnp.ones((5, 3))).shape
        (3,)
        (5, 3)
    """

    __slots__ = ("tracer",)
    __array_priority__ = 2000
    __hash__ = None

    def __init__(self, tracer):
        self.tracer = tracer

    @property
    def shape(self):
        return self.tracer.shape

    @property
    def dtype(self):
        return self.tracer.dtype

    @property
    def ndim(self):
        return len(self.tracer.shape)

    @property
    def size(self):
        return int(np.prod(self.tracer.shape, dtype=np.int64))

    def _stub(self):
        # a zero-strided stand-in with this shape and dtype, for metadata only
        return np.broadcast_to(np.zeros((), dtype=self.dtype), self.shape)

    def examples(self):
        """The values of every example, the batch axis first (a plain array)."""
        t = self.tracer
        v = t.val
        if isinstance(v, Tracer):
            v = concrete(v)
        if isinstance(v, BatchedValue):
            raise _value_error("a value batched by two nested vmaps", t._trace.size)
        return np.moveaxis(np.asarray(v), t.bdim, 0)

    def _agreed(self, what, results):
        if len(results) and _same(results):
            return results[0]
        raise _value_error(what, self.tracer._trace.size)

    def _per_example(self, what, fn, args, kwargs):
        """``fn`` with this trace's batched values replaced by each example's values."""
        trace = self.tracer._trace
        cache = {}

        def data(v):
            key = id(v)
            if key not in cache:
                cache[key] = v.examples()
            return cache[key]

        def sub(x, b):
            if isinstance(x, BatchedValue):
                if x.tracer._trace is not trace:
                    raise _value_error(what + " (on values of two different vmaps)", None)
                return data(x)[b]
            if isinstance(x, (list, tuple)) and any(isinstance(i, BatchedValue) for i in x):
                return type(x)(sub(i, b) for i in x)
            return x

        results = [
            fn(*[sub(a, b) for a in args], **{k: sub(v, b) for k, v in kwargs.items()})
            for b in range(trace.size)
        ]
        return self._agreed(what, results)

    def __array_function__(self, func, types, args, kwargs):
        if func in _METADATA_FUNCTIONS:
            args = [a._stub() if isinstance(a, BatchedValue) else a for a in args]
            return func(*args, **kwargs)
        return self._per_example(f"numpy.{func.__name__}", func, args, kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise _value_error(f"numpy.{ufunc.__name__}(..., out=...)", self.tracer._trace.size)
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return self._per_example(f"numpy.{ufunc.__name__}", fn, inputs, kwargs)

    def __array__(self, dtype=None, copy=None):
        out = self._agreed("converting it to a numpy array", list(self.examples()))
        return np.array(out, dtype=dtype)

    def __bool__(self):
        raise _value_error("bool() (an `if`, `while`, `and`/`or`)", self.tracer._trace.size)

    def __float__(self):
        return float(self.__array__())

    def __int__(self):
        return int(self.__array__())

    def __complex__(self):
        return complex(self.__array__())

    def __index__(self):
        return operator.index(self.__array__()[()])

    def item(self, *args):
        return self.__array__().item(*args)

    def tolist(self):
        return self.__array__().tolist()

    def __getitem__(self, idx):
        return self._per_example("indexing", lambda v: v[idx], (self,), {})

    def __iter__(self):
        return iter(self.__array__())

    def __repr__(self):
        return (
            f"<batched value: shape {self.shape}, dtype {self.dtype}, one per example of a "
            f"vmap over {self.tracer._trace.size} examples>"
        )


def _operator(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


for _name, _uf in [
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
    ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power),
    ("matmul", np.matmul), ("and", np.logical_and), ("or", np.logical_or),
]:
    setattr(BatchedValue, f"__{_name}__", _operator(_uf))
    setattr(BatchedValue, f"__r{_name}__", _operator(_uf, reflected=True))
for _name, _uf in [("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)]:
    setattr(BatchedValue, f"__{_name}__", _operator(_uf))
BatchedValue.__neg__ = lambda self: np.negative(self)
BatchedValue.__abs__ = lambda self: np.absolute(self)
BatchedValue.__invert__ = lambda self: np.invert(self)


_METADATA_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
}


class BatchTracer(Tracer):
    """A batch of values seen as one example.

    ``val`` is the batched array (or a tracer of an enclosing transform) and
    ``bdim`` the position of the batch axis in it; ``shape`` and ``dtype`` are
    those of one example.
    """

    __slots__ = ("val", "bdim")

    def __init__(self, val, trace, bdim):
        self.val = val
        self._trace = trace
        self.bdim = bdim

    @property
    def value(self):
        """The per-example stand-in :class:`BatchedValue` (what ``concrete`` sees)."""
        return BatchedValue(self)

    @property
    def shape(self):
        s = shape_of(self.val)
        d = self.bdim
        return s[:d] + s[d + 1 :]

    @property
    def ndim(self):
        return ndim_of(self.val) - 1

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self):
        return dtype_of(self.val)

    def __bool__(self):
        raise _value_error("bool() (an `if`, `while`, `and`/`or`)", self._trace.size)

    def _no_conversion(self, what):
        raise _value_error(f"{what}()", self._trace.size)

    def __array__(self, dtype=None, copy=None):
        err = _value_error("converting it to a numpy array", self._trace.size)
        raise _BatchedConversionError(*err.args)

    def __repr__(self):
        return f"BatchTracer(batch axis {self.bdim} of {self.val!r})"


class BatchTrace(Trace):
    """The trace of one ``vmap`` call; ``size`` is the batch size."""

    __slots__ = ("size", "basis")

    def __init__(self, size):
        super().__init__()
        self.size = size
        self.basis = False  # True once a _BasisTracer of this trace exists

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        if self.basis:
            rule = _BASIS_RULES.get(prim.name)
            if rule is not None and PRIMITIVES.get(prim.name) is prim:
                out = rule(self, *args, **params)
                if out is not None:
                    return out
        vals, dims = [], []
        for a in args:
            if isinstance(a, BatchTracer) and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                if type(a) is not np.ndarray and isinstance(a, REFUSED):
                    check_value(a, f"fgrad.vmap ({prim.name!r})")
                vals.append(a)
                dims.append(None)
        rule = batch_rule_of(prim)
        if isinstance(rule, str):
            category = CATEGORY_RULES.get(rule)
            if category is None:
                raise MissingBatchRuleError(
                    f"fgrad.vmap: primitive {prim.name!r} names the batching category "
                    f"{rule!r}, which does not exist; the categories are "
                    f"{sorted(CATEGORY_RULES)} (see fgrad/batching.py), or give a rule "
                    "function batch(args, dims, **params) -> (out, out_dim)."
                )
            out, out_dim = category(self, prim, vals, dims, **params)
        elif rule is None:
            raise MissingBatchRuleError(
                f"fgrad.vmap: primitive {prim.name!r} has no batching rule, so it cannot be "
                "applied to a value batched by vmap. Give its row a `batch=` category or "
                "rule function (see fgrad/batching.py), or compute this step with a Python "
                "loop over the examples, e.g. fnp.stack([f(x) for x in xs])."
            )
        else:
            out, out_dim = rule(vals, dims, **params)
        return self.wrap(out, out_dim)

    def wrap(self, out, out_dim):
        """Wrap a rule's output (an array or a tuple of arrays) in this trace's tracers."""
        if isinstance(out, (tuple, list)):
            dims = out_dim if isinstance(out_dim, (tuple, list)) else [out_dim] * len(out)
            return type(out)(self.wrap(o, d) for o, d in zip(out, dims))
        if out_dim is None:
            return out
        return BatchTracer(out, self, int(out_dim) % ndim_of(out))


def _process_checked(self, prim, args, params, _plain=BatchTrace.process):
    """``BatchTrace.process`` while NaN debugging is on (fgrad.debug_nans): the same,
    then a look for NaN in what it made, naming the examples that hold it."""
    out = _plain(self, prim, args, params)
    for o in out if isinstance(out, (tuple, list)) else (out,):
        if isinstance(o, BatchTracer) and o._trace is self:
            v = o.val
            if isinstance(v, Tracer) or not has_nan(v):  # (a lower trace checks its own)
                continue
            rows = np.isnan(np.moveaxis(np.asarray(v), o.bdim, 0).reshape(self.size, -1))
            stage = (f"under vmap (in examples {np.flatnonzero(rows.any(axis=1)).tolist()} "
                     f"of {self.size})")
            shape = o.shape
        elif has_nan(o):
            stage, shape = "under vmap (a result shared by every example)", np.shape(o)
        else:
            continue
        values = [a.val if isinstance(a, BatchTracer) and a._trace is self else concrete(a)
                  for a in args]
        cause = nan_cause(values, [f"operand {i}" for i in range(len(args))])
        raise nan_error(prim.name, stage, shapes_text(args), str(shape), cause)
    return out


debug_variant(BatchTrace, "process", _process_checked)


#: Batching rules that rows without a ``batch`` entry borrow until their owners
#: add one (row name -> category or rule).  Rows that set ``batch`` ignore this.
_PENDING_ROW_RULES = {}


def batch_rule_of(prim):
    """The batching rule of a row: its ``batch`` entry (category name or function).

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad.batching import batch_rule_of
        >>> batch_rule_of(fnp.sin.primitive)
        'elementwise'
    """
    rule = prim.batch
    if rule is None:
        rule = _PENDING_ROW_RULES.get(prim.name)
    return rule


# --------------------------------------------------------------------------
# Helpers for rules (values may be tracers of enclosing transforms)
# --------------------------------------------------------------------------


# The shape rows the engine itself applies (looked up in the table: the engine
# never calls the public fgrad.numpy).


def _transpose(x, perm):
    return PRIMITIVES["transpose"].fn(x, axes=tuple(perm))


def _moveaxis(x, src, dst):
    order = [n for n in range(ndim_of(x)) if n != src]
    order.insert(dst, src)
    return _transpose(x, order)


def _broadcast_to(x, shape):
    return PRIMITIVES["broadcast_to"].fn(x, shape=tuple(shape))


def _batch_size(args, dims):
    for a, d in zip(args, dims):
        if d is not None:
            return shape_of(a)[d]
    raise ValueError("a batching rule was called without any batched argument")


def to_front(x, d):
    """Move batch axis ``d`` of ``x`` to position 0 (no-op when it is there)."""
    if d == 0:
        return x
    return _moveaxis(x, d, 0)


def _bcast_front(x, size):
    """Give an unbatched value a leading batch axis of ``size`` (a broadcast view)."""
    return _broadcast_to(x, (size,) + shape_of(x))


def _reshape(x, shape):
    if shape_of(x) == tuple(shape):
        return x
    return PRIMITIVES["reshape"].fn(x, shape=tuple(shape))


# --------------------------------------------------------------------------
# Category rules: rule(trace, prim, args, dims, **params) -> (out, out_dim)
# --------------------------------------------------------------------------


def _elementwise(trace, prim, args, dims, **params):
    nds = [ndim_of(a) - (d is not None) for a, d in zip(args, dims)]
    out_nd = max(nds)
    bdims = {d for d in dims if d is not None}
    if len(bdims) == 1:
        (d,) = bdims
        if all(
            (nd == out_nd) if dd is not None else (nd <= out_nd - d)
            for nd, dd in zip(nds, dims)
        ):
            return prim.fn(*args, **params), d
    size = _batch_size(args, dims)
    new = []
    for a, d, nd in zip(args, dims, nds):
        if d is not None:
            a = to_front(a, d)
            if nd < out_nd:
                a = _reshape(a, (size,) + (1,) * (out_nd - nd) + shape_of(a)[1:])
        new.append(a)
    return prim.fn(*new, **params), 0


def _one_axis(a, nd):
    a = int(a)
    if not -nd <= a < nd:  # numpy's error for one example, not a silent wrap-around
        raise np.exceptions.AxisError(a, nd)
    return a % nd + 1


def _norm_axes(axis, nd):
    """An ``axis`` parameter of one example (rank ``nd``) as axes of the batch, whose
    batch axis is in front; out-of-range axes raise numpy's AxisError."""
    if isinstance(axis, (tuple, list)):
        return tuple(_one_axis(a, nd) for a in axis)
    return _one_axis(axis, nd)


def _reduce(trace, prim, args, dims, **params):
    if any(d is not None for d in dims[1:]):
        raise MissingBatchRuleError(
            f"fgrad.vmap: the 'reduce' batching category of {prim.name!r} handles a batched "
            "first argument only; give the row a batching rule function for its other "
            "arguments."
        )
    x = to_front(args[0], dims[0])
    shape = shape_of(x)
    size, nd = shape[0], len(shape) - 1
    axis = params.get("axis")
    if axis is None:
        # axis=None: the whole example, flattened (also right for scans like cumsum)
        n = int(np.prod(shape[1:], dtype=np.int64))
        x = _reshape(x, (size, n))
        out = prim.fn(x, *args[1:], **dict(params, axis=1))
        if params.get("keepdims"):
            out = _reshape(out, (size,) + (1,) * nd)
        return out, 0
    if nd == 0:
        # numpy and scipy accept axis 0 / -1 (or (0,)) on a 0-d array: the row's impl on a
        # 0-d stand-in decides (raising numpy's own error otherwise) and gives one example's
        # output shape; the batch is then reduced as (size, 1) along its second axis
        one = prim.impl(np.zeros((), dtype_of(x)), *args[1:], **params)
        ax = (1,) if isinstance(axis, (tuple, list)) else 1
        out = prim.fn(_reshape(x, (size, 1)), *args[1:], **dict(params, axis=ax))
        return _reshape(out, (size,) + np.shape(one)), 0
    return prim.fn(x, *args[1:], **dict(params, axis=_norm_axes(axis, nd))), 0


def _axis(trace, prim, args, dims, **params):
    x = to_front(args[0], dims[0])
    nd = ndim_of(x) - 1
    new = dict(params)
    for key in ("axis", "axes"):
        if key in params:
            ax = params[key]
            new[key] = tuple(range(1, nd + 1)) if ax is None else _norm_axes(ax, nd)
    if "axis" not in params and "axes" not in params:
        new["axis"] = tuple(range(1, nd + 1))
    return prim.fn(x, *args[1:], **new), 0


def _resolve_shape(shape, size):
    shape = tuple(int(s) for s in shape)
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
        missing = size // known if known else 0
        shape = tuple(missing if s == -1 else s for s in shape)
    return shape


def _reshape_rule(trace, prim, args, dims, shape):
    x = to_front(args[0], dims[0])
    xs = shape_of(x)
    per = _resolve_shape(shape, int(np.prod(xs[1:], dtype=np.int64)))
    return prim.fn(x, shape=(xs[0],) + per), 0


def _transpose_rule(trace, prim, args, dims, axes):
    d = dims[0]
    moved = tuple(a if a < d else a + 1 for a in axes)
    return prim.fn(args[0], axes=(d,) + moved), 0


def _broadcast_to_rule(trace, prim, args, dims, shape):
    x = to_front(args[0], dims[0])
    xs = shape_of(x)
    shape = tuple(shape)
    x = _reshape(x, (xs[0],) + (1,) * (len(shape) - len(xs) + 1) + xs[1:])
    return prim.fn(x, shape=(xs[0],) + shape), 0


def _concatenate(trace, prim, args, dims, axis, **params):
    size = _batch_size(args, dims)
    new = [_bcast_front(a, size) if d is None else to_front(a, d) for a, d in zip(args, dims)]
    nd = ndim_of(new[0]) - 1
    return prim.fn(*new, axis=_norm_axes(axis, nd), **params), 0


def _matmul(trace, prim, args, dims, **params):
    (a, b), (da, db) = args, dims
    nda, ndb = ndim_of(a) - (da is not None), ndim_of(b) - (db is not None)
    if not nda or not ndb:
        # numpy refuses scalars in matmul; the batched arrays are not 0-d, so numpy
        # would not notice on the whole batch: say it here, for one example
        which = "first" if not nda else "second"
        raise ValueError(
            f"{prim.name}: the {which} operand of one example is 0-d (a scalar), and "
            "matmul needs arrays of rank >= 1 (numpy raises the same for one example). "
            "Multiply by a scalar with `*`, or give the operand an axis (x[None] or "
            "fnp.atleast_1d(x))."
        )
    if db is None and ndb <= 2:
        return _gemm_left(prim, to_front(a, da), b, params)
    if da is None and nda <= 2 and shape_of(a)[-1]:
        return _gemm_right(prim, a, nda, to_front(b, db), ndb, params)
    if da is not None and db is None and nda >= 2 and nda >= ndb:
        return prim.fn(to_front(a, da), b, **params), 0  # a stack of matrices times b
    size = _batch_size(args, dims)
    if da is not None:
        a = to_front(a, da)
    if db is not None:
        b = to_front(b, db)
    vec_a, vec_b = nda == 1, ndb == 1
    if vec_a:  # a row vector (1, n)
        sa = shape_of(a)
        a = _reshape(a, sa[:-1] + (1,) + sa[-1:])
        nda = 2
    if vec_b:  # a column vector (n, 1)
        b = _reshape(b, shape_of(b) + (1,))
        ndb = 2
    lead = max(nda, ndb) - 2
    if da is not None:
        sa = shape_of(a)
        a = _reshape(a, (size,) + (1,) * (lead - nda + 2) + sa[1:])
    if db is not None:
        sb = shape_of(b)
        b = _reshape(b, (size,) + (1,) * (lead - ndb + 2) + sb[1:])
    out = prim.fn(a, b, **params)
    if vec_a or vec_b:
        so = shape_of(out)
        keep = so[:-2] + (() if vec_a else so[-2:-1]) + (() if vec_b else so[-1:])
        out = _reshape(out, keep)
    return out, 0


def _gemm_left(prim, a, b, params):
    """Batched ``a`` (batch axis first) times one matrix or vector ``b``: every
    example's rows are rows of a single product, so fold the batch (and any stack
    axes) into the rows and make one matrix-matrix (or matrix-vector) product,
    where numpy's stacked matmul would make one small product per example."""
    sa = shape_of(a)
    rows = _reshape(a, (_prod(sa[:-1]), sa[-1]))
    out = prim.fn(rows, b, **params)
    return _reshape(out, sa[:-1] + shape_of(b)[1:]), 0


def _gemm_right(prim, a, nda, b, ndb, params):
    """One matrix or vector ``a`` times batched ``b`` (batch axis first): the
    batch goes into the columns of one product."""
    sb = shape_of(b)
    if nda == 1:
        if ndb == 1:  # one dot product per example: (batch, n) @ (n,)
            return prim.fn(b, a, **params), 0
        # a @ B_i is B_i^T a: the rows of every B_i^T, stacked, times a
        bt = _moveaxis(b, ndb, ndb - 1)
        n = sb[-2]
        out = prim.fn(_reshape(bt, (_prod(sb) // n if n else 0, n)), a, **params)
        return _reshape(out, sb[:-2] + sb[-1:]), 0
    if ndb == 1:  # A @ b_i for every i: A times the columns (n, batch)
        return prim.fn(a, _transpose(b, (1, 0)), **params), 1
    # A @ B_i: put B_i's row axis first, the batch and every other axis in the columns
    cols = _moveaxis(b, ndb - 1, 0)
    n = sb[-2]
    out = prim.fn(a, _reshape(cols, (n, _prod(sb) // n if n else 0)), **params)
    m = shape_of(a)[0]
    out = _reshape(out, (m,) + sb[:-2] + sb[-1:])
    return _moveaxis(out, 0, ndb - 1), 0


def _prod(shape):
    p = 1
    for s in shape:
        p *= s
    return p


def _leading(trace, prim, args, dims, **params):
    nds = [ndim_of(a) - (d is not None) for a, d in zip(args, dims)]
    for k, nd in enumerate(nds):
        if nd < 2:  # the batched array may be 2-d: numpy would not notice on the batch
            raise np.linalg.LinAlgError(
                f"{prim.name}: argument {k} of one example is {nd}-dimensional, and this "
                "function needs matrices (at least two dimensions), as numpy says for one "
                "example. vmap maps over one axis: pass a batch of matrices, e.g. shape "
                "(batch, n, n), or map over a different axis with in_axes."
            )
    out_nd = max(nds)
    size = _batch_size(args, dims)
    new = []
    for a, d, nd in zip(args, dims, nds):
        if d is not None:
            a = to_front(a, d)
            a = _reshape(a, (size,) + (1,) * (out_nd - nd) + shape_of(a)[1:])
        new.append(a)
    return prim.fn(*new, **params), 0


# --- indexing -------------------------------------------------------------------


def _is_bool_array(i):
    return isinstance(i, np.ndarray) and i.dtype == np.bool_


def _index_kind(i, own):
    if i is None:
        return "none"
    if isinstance(i, slice):
        return "slice"
    if isinstance(i, BatchedValue):
        if i.tracer._trace is own:
            return "batched"
        raise _value_error(
            "indexing with an index batched by an enclosing vmap (the indexed array is not "
            "batched by it)", i.tracer._trace.size)
    if isinstance(i, (bool, np.bool_)):
        return "bool"
    if isinstance(i, (int, np.integer)):
        return "int"
    if isinstance(i, np.ndarray) or isinstance(i, (list, tuple)):
        return "array"
    return "array"  # anything numpy accepts as an index array


def _index_plan(idx, nd, own):
    """Analyse a numpy index for an example of rank ``nd``.

    Returns ``(items, kinds, info)`` where ``items`` is the index as a tuple with
    the Ellipsis expanded and trailing slices added, and ``info`` is a dict with
    ``adv`` (advanced indices present), ``contiguous`` (numpy keeps them in
    place), ``adv_nd`` (rank of their broadcast shape), ``before`` (result dims
    produced before the first advanced index) and ``batched`` (a batched index).
    """
    items = idx if isinstance(idx, tuple) else (idx,)
    kinds = [_index_kind(i, own) for i in items if i is not Ellipsis]
    consumed = 0
    k = 0
    for i in items:
        if i is Ellipsis:
            continue
        kind = kinds[k]
        k += 1
        if kind == "array":
            consumed += np.ndim(i) if _is_bool_array(np.asarray(i)) else 1
        elif kind in ("slice", "int", "batched"):
            consumed += 1
    fill = (slice(None),) * max(nd - consumed, 0)
    if any(i is Ellipsis for i in items):
        pos = next(n for n, i in enumerate(items) if i is Ellipsis)
        items = items[:pos] + fill + items[pos + 1 :]
    else:
        items = items + fill
    kinds = [_index_kind(i, own) for i in items]
    adv = any(kd in ("array", "batched", "bool") for kd in kinds)
    positions = [
        n for n, kd in enumerate(kinds)
        if kd in ("array", "batched", "bool") or (adv and kd == "int")
    ]
    info = {"adv": adv, "batched": "batched" in kinds}
    if adv:
        info["contiguous"] = positions == list(range(positions[0], positions[-1] + 1))
        ranks = []
        for i, kd in zip(items, kinds):
            if kd == "array":
                arr = np.asarray(i)
                ranks.append(1 if arr.dtype == np.bool_ else arr.ndim)
            elif kd == "batched":
                ranks.append(len(i.shape))
            elif kd == "bool":
                ranks.append(1)
        info["adv_nd"] = max(ranks, default=0)
        info["before"] = sum(kd in ("slice", "none") for kd in kinds[: positions[0]])
    return items, kinds, info


def _gather_index(items, kinds, info, size):
    """Turn an index with batched entries into one for the batched array (batch axis 0).

    Returns ``(new_index, perm)``: ``x_batched[new_index]`` has layout (batch,
    advanced dims, basic dims); ``perm`` reorders it to (batch, the example's
    layout), or is ``None`` when they agree.
    """
    adv_nd = info["adv_nd"]
    new = [np.arange(size).reshape((size,) + (1,) * adv_nd)]
    for i, kd in zip(items, kinds):
        if kd == "batched":
            if i.dtype == np.bool_:
                raise _value_error(
                    "a boolean mask that differs between examples (the result's shape "
                    "would differ too); use fnp.where(mask, x, 0) instead", size)
            v = i.tracer.val
            if isinstance(v, Tracer):
                v = concrete(v)
            if isinstance(v, BatchedValue):
                raise _value_error("an index batched by two nested vmaps", size)
            v = np.moveaxis(np.asarray(v), i.tracer.bdim, 0)
            new.append(v.reshape((size,) + (1,) * (adv_nd - v.ndim + 1) + v.shape[1:]))
        elif kd == "array" and _is_bool_array(np.asarray(i)):
            new.extend(np.nonzero(np.asarray(i)))
        elif kd == "bool":
            raise _value_error("a boolean scalar index together with a batched index", size)
        else:
            new.append(i)
    perm = None
    before = info["before"]
    if info["contiguous"] and before:
        total = 1 + adv_nd + sum(kd in ("slice", "none") for kd in kinds)
        perm = (
            (0,)
            + tuple(range(1 + adv_nd, 1 + adv_nd + before))
            + tuple(range(1, 1 + adv_nd))
            + tuple(range(1 + adv_nd + before, total))
        )
    return tuple(new), perm


def _getitem(trace, prim, args, dims, idx, **params):
    x = to_front(args[0], dims[0])
    size = shape_of(x)[0]
    items, kinds, info = _index_plan(idx, ndim_of(x) - 1, trace)
    if not info["batched"]:
        out = prim.fn(x, idx=(slice(None),) + items, **params)
        if info["adv"] and not info["contiguous"]:
            return out, info["adv_nd"]
        return out, 0
    new, perm = _gather_index(items, kinds, info, size)
    out = prim.fn(x, idx=new, **params)
    if perm is not None:
        out = _transpose(out, perm)
    return out, 0


def _index_update(trace, prim, args, dims, idx, **params):
    (x, y), (dx, dy) = args, dims
    size = _batch_size(args, dims)
    x = _bcast_front(x, size) if dx is None else to_front(x, dx)
    items, kinds, info = _index_plan(idx, ndim_of(x) - 1, trace)
    # the shape of one example's selection x[idx]
    sel = _selection_shape(x, items, kinds, info, size)
    if dy is None:
        y_lead, yb = 1, y
    else:
        y_lead, yb = size, to_front(y, dy)
    ys = shape_of(yb)[1:] if dy is not None else shape_of(yb)
    yb = _reshape(yb, (y_lead,) + (1,) * (len(sel) - len(ys)) + ys)
    if not info["batched"]:
        if info["adv"] and not info["contiguous"]:
            yb = _moveaxis(yb, 0, info["adv_nd"])
        return prim.fn(x, yb, idx=(slice(None),) + items, **params), 0
    new, perm = _gather_index(items, kinds, info, size)
    if perm is not None:
        yb = _transpose(yb, tuple(np.argsort(perm)))
    return prim.fn(x, yb, idx=new, **params), 0


def _selection_shape(x, items, kinds, info, size):
    stub = np.broadcast_to(np.zeros((), dtype=np.int8), shape_of(x)[1:])
    plain = []
    for i, kd in zip(items, kinds):
        if kd == "batched":
            plain.append(np.zeros(i.shape, dtype=np.intp))
        else:
            plain.append(i)
    return np.shape(stub[tuple(plain)])


CATEGORY_RULES = {
    "elementwise": _elementwise,
    "reduce": _reduce,
    "axis": _axis,
    "reshape": _reshape_rule,
    "transpose": _transpose_rule,
    "broadcast_to": _broadcast_to_rule,
    "concatenate": _concatenate,
    "getitem": _getitem,
    "index_update": _index_update,
    "matmul": _matmul,
    "leading": _leading,
}


# --- rows that have no batch entry yet ------------------------------------------------


_PENDING_ROW_RULES.update({
    "cumsum": "reduce",
    "argmax": "reduce",
    "argmin": "reduce",
    "argsort": "reduce",
})


# --------------------------------------------------------------------------
# The standard basis as a structured batch (jacfwd, jacrev, hessian)
# --------------------------------------------------------------------------
#
# jacfwd, jacrev and hessian push every unit vector of an input (or output) of shape S
# through one vmap: n = prod(S) examples, example b zero except for a 1 at flat position
# b.  Held densely that is eye(n), and the first product it meets costs a matrix-matrix
# product (eye(n) @ A is n^3 multiply-adds) for an answer that is A's rows.  A
# _BasisTracer holds it as a *diagonal batch* instead: example b is zero except at flat
# position b, where it holds diag.ravel()[b] (diag None: ones, the basis itself).  The
# rows in _BASIS_RULES keep or use that structure; each one checks the kinds and shapes
# of its operands (another _BasisTracer of the trace, or a value the trace does not
# batch) and otherwise returns None.  Every other rule, and everything else that reads
# the tracer's ``val`` (concrete(), the NaN checks, vmap's output), gets the dense array,
# made on first use: no rule can meet the structure unawares.  Nothing is decided from
# values.  The entries that are zero by structure stay exact zeros: where the dense
# array would meet an inf or a nan (0 * inf), the structured path keeps the 0 that the
# derivative has there, and the dense path has a nan.


class _BasisTracer(BatchTracer):
    """A diagonal batch: ``size`` examples of ``shape`` (``size == prod(shape)``),
    example ``b`` zero except at flat position ``b``, where it is ``diag.ravel()[b]``
    (``diag`` None: 1, the standard basis).  ``val`` is the dense array, made on first
    use; ``bdim`` is 0."""

    __slots__ = ("diag", "example_shape", "example_dtype", "_dense")

    def __init__(self, trace, diag, shape, dtype):
        self._trace = trace
        self.bdim = 0
        self.diag = diag
        self.example_shape = tuple(shape)
        self.example_dtype = np.dtype(dtype)
        self._dense = None
        trace.basis = True

    @property
    def val(self):
        dense = self._dense
        if dense is None:
            dense = self._dense = self._materialise()
        return dense

    def _materialise(self):
        """The dense batch, batch axis first: zeros off the diagonal, exactly."""
        n, shape = self._trace.size, self.example_shape
        d = self.diag
        if d is None:
            return np.eye(n, dtype=self.example_dtype).reshape((n,) + shape)
        if type(d) is np.ndarray:
            out = np.zeros((n, n), dtype=d.dtype)
            out.flat[:: n + 1] = d.ravel()
            return out.reshape((n,) + shape)
        # a value of an enclosing transform: written with rows, which it records
        eye = np.eye(n, dtype=bool).reshape((n,) + shape)
        zero = np.zeros((), dtype=self.example_dtype)
        return PRIMITIVES["where"].fn(eye, _reshape(d, (1,) + shape), zero)

    def ones(self):
        """``diag`` as a value (ones of the example's shape and dtype for the basis)."""
        if self.diag is None:
            return np.ones(self.example_shape, dtype=self.example_dtype)
        return self.diag

    @property
    def shape(self):
        return self.example_shape

    @property
    def ndim(self):
        return len(self.example_shape)

    @property
    def dtype(self):
        return self.example_dtype

    def __repr__(self):
        return (f"BatchTracer(the unit vectors of shape {self.example_shape}, scaled by "
                f"{self.diag!r})")


def _basis_of(trace, x):
    """``x`` when it is a diagonal batch of ``trace``."""
    return x if type(x) is _BasisTracer and x._trace is trace else None


_NUMBERS = (float, int, complex)


def _unbatched(trace, x):
    """True when ``trace`` does not batch ``x`` and ``x`` is a value of an enclosing
    transform, a Python number or a numeric numpy array or scalar.  Anything else (a
    masked array, a dask array, an object array ...) takes the dense path, with its
    checks."""
    if isinstance(x, Tracer):
        return not (isinstance(x, BatchTracer) and x._trace is trace)
    if type(x) is np.ndarray or isinstance(x, np.generic):
        return x.dtype.kind in "biufc"
    return type(x) in _NUMBERS


def _same_diagonal(trace, args):
    """Both operands diagonal batches of one example shape, or None."""
    a, b = (_basis_of(trace, x) for x in args)
    if a is None or b is None or a.example_shape != b.example_shape:
        return None
    return a, b


def _basis_scale(trace, prim, args, swap):
    """``basis * u``, ``u * basis`` (``swap``) or ``basis / u``: a diagonal batch again,
    with the diagonal times (over) ``u``, when ``u`` is not batched and broadcasts to
    the example's shape (so the result has that shape)."""
    d, u = (args[1], args[0]) if swap else (args[0], args[1])
    d = _basis_of(trace, d)
    if d is None or not _unbatched(trace, u):
        return None
    try:
        if np.broadcast_shapes(shape_of(u), d.example_shape) != d.example_shape:
            return None
    except ValueError:
        return None  # the dense rule gives numpy's error
    diag = prim.fn(u, d.ones()) if swap else prim.fn(d.ones(), u)
    return _BasisTracer(trace, diag, d.example_shape, dtype_of(diag))


def _basis_multiply(trace, x, y, **params):
    if params:
        return None
    pair = _same_diagonal(trace, (x, y))
    if pair is not None:  # (d1 e_b) * (d2 e_b) = (d1 d2) e_b
        diag = PRIMITIVES["multiply"].fn(pair[0].ones(), pair[1].ones())
        return _BasisTracer(trace, diag, pair[0].example_shape, dtype_of(diag))
    prim = PRIMITIVES["multiply"]
    out = _basis_scale(trace, prim, (x, y), swap=False)
    if out is None:
        out = _basis_scale(trace, prim, (x, y), swap=True)
    return out


def _basis_divide(trace, x, y, **params):
    if params:
        return None
    return _basis_scale(trace, PRIMITIVES["divide"], (x, y), swap=False)


def _basis_sum_of(name):
    def rule(trace, x, y, **params):
        pair = _same_diagonal(trace, (x, y))
        if pair is None or params:
            return None
        diag = PRIMITIVES[name].fn(pair[0].ones(), pair[1].ones())
        return _BasisTracer(trace, diag, pair[0].example_shape, dtype_of(diag))

    return rule


def _basis_negative(trace, x, **params):
    d = _basis_of(trace, x)
    if d is None or params:
        return None
    diag = PRIMITIVES["negative"].fn(d.ones())
    return _BasisTracer(trace, diag, d.example_shape, dtype_of(diag))


def _basis_reshape(trace, x, shape=None, **params):
    d = _basis_of(trace, x)
    if d is None or shape is None or params:
        return None
    try:
        if sum(int(s) == -1 for s in shape) > 1:
            return None  # the dense rule gives numpy's error
        new = _resolve_shape(shape, trace.size)
    except (TypeError, ValueError):
        return None
    if _prod(new) != trace.size or any(s < 0 for s in new):
        return None  # the dense rule gives numpy's error
    # C order keeps every element's flat position: still example b's position b
    diag = None if d.diag is None else _reshape(d.diag, new)
    return _BasisTracer(trace, diag, new, d.example_dtype)


def _basis_sum(trace, x, axis=None, keepdims=False, where=None, initial=None, **params):
    """The sum over every axis of example b is its one entry: the diagonal itself."""
    d = _basis_of(trace, x)
    if d is None or where is not None or initial is not None or params:
        return None
    nd = len(d.example_shape)
    if d.example_dtype.kind not in "fc":
        return None  # numpy's sum would change an integer or bool dtype
    if axis is not None:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        if not all(isinstance(a, (int, np.integer)) and -nd <= a < nd for a in axes):
            return None
        if sorted(int(a) % nd for a in axes) != list(range(nd)):
            return None
    out = _reshape(PRIMITIVES["positive"].fn(d.ones()), (trace.size,)
                   + ((1,) * nd if keepdims else ()))
    return trace.wrap(out, 0)


def _basis_matmul(trace, a, b, **params):
    """A diagonal batch of vectors times a matrix (or a matrix times it): example b is
    ``diag[b]`` times row (column) b of the matrix, so the batch is the matrix scaled
    along that axis, O(n m) instead of the dense product's O(n^2 m)."""
    if params:
        return None
    mul = PRIMITIVES["multiply"].fn
    left = _basis_of(trace, a)
    if left is not None and len(left.example_shape) == 1 and _unbatched(trace, b):
        n, nb = trace.size, ndim_of(b)
        if nb == 0 or shape_of(b)[max(nb - 2, 0)] != n:
            return None  # the dense rule gives numpy's error
        if nb == 1:  # one dot product per example: diag[b] * m[b]
            return trace.wrap(mul(left.ones(), b), 0)
        rows = b if nb == 2 else _moveaxis(b, nb - 2, 0)  # (n, ..., k): row b first
        scale = _reshape(left.ones(), (n,) + (1,) * (nb - 1))
        return trace.wrap(mul(scale, rows), 0)
    right = _basis_of(trace, b)
    if right is not None and len(right.example_shape) == 1 and _unbatched(trace, a):
        n, na = trace.size, ndim_of(a)
        if na == 0 or shape_of(a)[-1] != n:
            return None
        # m @ (diag[b] e_b) is column b of m scaled: the batch axis is m's last axis
        return trace.wrap(mul(a, right.ones()), na - 1)
    return None


_BASIS_RULES = {
    "multiply": _basis_multiply,
    "divide": _basis_divide,
    "add": _basis_sum_of("add"),
    "subtract": _basis_sum_of("subtract"),
    "negative": _basis_negative,
    "reshape": _basis_reshape,
    "sum": _basis_sum,
    "matmul": _basis_matmul,
}


def vmap_unit_vectors(fun, shape, dtype):
    """``vmap(fun)`` over the unit vectors of arrays of ``shape`` (one example per
    element, in C order), without making the ``n x n`` identity: ``fun`` sees them as
    one structured batch that products with a fixed matrix turn into that matrix's
    rows or columns (see the comment above ``_BasisTracer``).  The outputs are those of
    ``vmap(fun)(eye(n).reshape((n,) + shape))``, batch axis first.

    Example:
        >>> import numpy as np
        >>> from fgrad.batching import vmap_unit_vectors
        >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
        >>> vmap_unit_vectors(lambda e: A @ (3.0 * e), (2,), np.float64)  # 3 A's columns
        array([[ 3.,  9.],
               [ 6., 12.]])
    """
    shape = tuple(int(s) for s in shape)
    n = _prod(shape)
    trace = BatchTrace(n)
    try:
        out = fun(_BasisTracer(trace, None, shape, dtype))
        leaves, tree = tree_flatten(out)
        _refuse_non_numeric_outputs(out, leaves)
        result = [_unbatch(o, 0, trace, n) for o in leaves]
    finally:
        trace.alive = False
    return tree.unflatten(result)


# --------------------------------------------------------------------------
# vmap
# --------------------------------------------------------------------------


def _is_axis_leaf(p):
    return p is None or isinstance(p, (int, np.integer))


def _prefix_leaves(prefix, tree, what):
    """Broadcast a pytree prefix of axes (ints / None) to the leaves of ``tree``."""
    if _is_axis_leaf(prefix):
        return [prefix] * len(tree_flatten(tree)[0])
    p_info, t_info = _children(prefix), _children(tree)
    if p_info is None or t_info is None:
        raise ValueError(
            f"vmap {what} must be an int, None, or a container matching the arguments' "
            f"structure; got {prefix!r} for a value of type {type(tree).__name__}."
        )
    p_children, p_aux, p_kind = p_info
    t_children, t_aux, t_kind = t_info
    same_kind = p_kind is t_kind or {p_kind, t_kind} <= {tuple, list}
    if not same_kind or p_aux != t_aux or len(p_children) != len(t_children):
        raise ValueError(
            f"vmap {what} {prefix!r} does not match the structure of the value it describes "
            f"(a {type(tree).__name__} with {len(t_children)} entries): give one axis (or "
            "None) per entry, or a single int/None for all of them."
        )
    out = []
    for p, t in zip(p_children, t_children):
        out.extend(_prefix_leaves(p, t, what))
    return out


def check_chunk_size(chunk_size, transform):
    """``chunk_size`` as a positive int, or ``None``; a TypeError for what is not an
    int (a float, a bool), a ValueError for zero or less.  Shared by ``vmap`` and
    ``jacfwd``/``jacrev``.

    Example:
        >>> from fgrad.batching import check_chunk_size
        >>> check_chunk_size(8, "vmap")
        8
        >>> check_chunk_size(0, "vmap")
        Traceback (most recent call last):
        ...
        ValueError: vmap: chunk_size must be a positive int (the number of examples per pass), got 0.
    """
    if chunk_size is None:
        return None
    if isinstance(chunk_size, (bool, np.bool_)) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(
            f"{transform}: chunk_size must be a positive int (the number of examples per "
            f"pass) or None, got {chunk_size!r} of type {type(chunk_size).__name__}.")
    if chunk_size <= 0:
        raise ValueError(
            f"{transform}: chunk_size must be a positive int (the number of examples per "
            f"pass), got {chunk_size!r}.")
    return int(chunk_size)


def vmap(fun, in_axes=0, out_axes=0, *, axis_size=None, chunk_size=None):
    """Vectorise ``fun`` over an axis of its arguments, with JAX's semantics.

    ``in_axes`` gives, per positional argument (and per pytree leaf, as a prefix
    of the arguments' structure), the axis to map over or ``None`` for an
    argument shared by every example; negative axes count from the end.
    Keyword arguments are mapped over axis 0.  ``out_axes`` places the batch
    axis in each output (``None``: the output must not depend on the batch).
    ``fun`` sees one example; each primitive runs once on the whole batch with
    numpy's vectorised form.  vmap composes with every transform:
    ``vmap(grad(f))`` gives per-example gradients.

    ``chunk_size=N`` bounds memory: the batch runs in passes of ``N`` examples
    (the last one smaller), and each output leaf is the concatenation of the
    passes along its batch axis, the same values as one pass gives.  (JAX's
    ``vmap`` has no such argument; ``jax.lax.map(..., batch_size=N)`` does the
    same for axis 0.)

    Python control flow on batched values raises :class:`BatchedValueError`:
    use ``fnp.where`` to select elementwise.

    Args:
        fun: the function of one example.
        in_axes: the mapped axis of each positional argument: an int for all of them,
            ``None`` for an argument shared by every example, or a tuple (a prefix of the
            arguments' pytree) of those.
        out_axes: where the batch axis goes in each output: an int, ``None`` (the output
            must not depend on the batch) or a pytree prefix of the outputs.
        axis_size: the batch size, needed only when no argument is mapped.
        chunk_size: run the batch in passes of this many examples to bound memory; ``None``,
            the default, runs one pass.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> xs = fnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        >>> fgrad.vmap(lambda x, w: fnp.dot(x, w), in_axes=(0, None))(xs, fnp.ones(2))
        array([ 3.,  7., 11.])
        >>> fgrad.vmap(fgrad.grad(lambda x: fnp.sum(x ** 3)))(xs)
        array([[  3.,  12.],
               [ 27.,  48.],
               [ 75., 108.]])
        >>> fgrad.vmap(lambda x: fnp.outer(x, x).sum(), chunk_size=2)(xs)  # passes of 2, then 1
        array([  9.,  49., 121.])
    """
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (_is_axis_leaf(in_axes) or isinstance(in_axes, tuple)):
        raise TypeError(
            "vmap in_axes must be an int, None, or a tuple with one entry per positional "
            f"argument; got {in_axes!r}."
        )
    chunk_size = check_chunk_size(chunk_size, "vmap")

    def vmapped(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(
                f"vmap in_axes has {len(in_axes)} entries but the function was called with "
                f"{len(args)} positional arguments; give one axis (or None) per argument."
            )
        leaves, treedef = tree_flatten(args)
        axes = _prefix_leaves(in_axes, args, "in_axes")
        _refuse_non_numeric(args, leaves, axes)
        kw_leaves, kw_tree = tree_flatten(kwargs)
        check_values(leaves, "vmap")
        check_values(kw_leaves, "vmap")
        all_leaves = leaves + kw_leaves
        all_axes = axes + [0] * len(kw_leaves)
        size = _axis_size(all_leaves, all_axes, axis_size)
        call = (fun, out_axes, treedef, kw_tree)
        if chunk_size is not None and size > chunk_size:
            return _in_chunks(call, all_leaves, all_axes, size, chunk_size)
        return _vmap_call(call, all_leaves, all_axes, size)

    name = getattr(fun, "__name__", type(fun).__name__)
    vmapped.__name__ = vmapped.__qualname__ = f"vmap({name})"
    vmapped.__doc__ = f"vmap of {name}."
    vmapped.__wrapped__ = fun
    return vmapped


def _vmap_call(call, all_leaves, all_axes, size):
    """One pass of vmap: ``fun`` on tracers of a new batch trace of ``size`` examples."""
    fun, out_axes, treedef, kw_tree = call
    n = treedef.num_leaves
    trace = BatchTrace(size)
    try:
        wrapped = []
        for x, ax in zip(all_leaves, all_axes):
            if ax is None:
                wrapped.append(x)
            else:
                wrapped.append(BatchTracer(x, trace, int(ax) % ndim_of(x)))
        a = treedef.unflatten(wrapped[:n])
        kw = kw_tree.unflatten(wrapped[n:])
        out = fun(*a, **kw)
        out_leaves, out_tree = tree_flatten(out)
        _refuse_non_numeric_outputs(out, out_leaves)
        o_axes = _prefix_leaves(
            tuple(out_axes) if isinstance(out_axes, list) else out_axes, out, "out_axes"
        )
        result = [_unbatch(o, ax, trace, size) for o, ax in zip(out_leaves, o_axes)]
    finally:
        trace.alive = False
    return out_tree.unflatten(result)


def _in_chunks(call, all_leaves, all_axes, size, chunk_size):
    """vmap in passes of ``chunk_size`` examples: each mapped leaf is sliced along its
    axis (a view for numpy arrays), each pass is one :func:`_vmap_call`, and each
    output leaf is the passes joined along its batch axis."""
    out_axes = call[1]
    passes, out_tree = [], None
    for start in range(0, size, chunk_size):
        stop = min(start + chunk_size, size)
        part = []
        for x, ax in zip(all_leaves, all_axes):
            if ax is None:
                part.append(x)
            else:
                ax = int(ax) % ndim_of(x)
                part.append(x[(slice(None),) * ax + (slice(start, stop),)])
        out = _vmap_call(call, part, all_axes, stop - start)
        leaves, tree = tree_flatten(out)
        if out_tree is None:
            out_tree = tree
            o_axes = _prefix_leaves(
                tuple(out_axes) if isinstance(out_axes, list) else out_axes, out, "out_axes")
        elif tree != out_tree:
            raise ValueError(
                f"vmap(..., chunk_size={chunk_size}): the function returned a different "
                f"structure for examples {start}..{stop - 1} ({out_tree.difference(tree)}); "
                "its output structure must not depend on the batch.")
        passes.append(leaves)
    joined = []
    for k, ax in enumerate(o_axes):
        if ax is None:  # the same in every pass (vmap checked that it is unbatched)
            joined.append(passes[0][k])
            continue
        parts = [p[k] for p in passes]
        axis = _out_axis(ax, ndim_of(parts[0]))
        joined.append(PRIMITIVES["concatenate"].fn(*parts, axis=axis))
    return out_tree.unflatten(joined)


def _refuse_non_numeric(args, leaves, axes):
    """A mapped leaf must be a number or numeric array (issue 16): say which one is not."""
    for k, (x, ax) in enumerate(zip(leaves, axes)):
        if ax is None or leaf_problem(x) is None:
            continue
        if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "mM":
            continue  # datetimes: nothing is differentiated, numpy maps them fine
        path = leaf_paths(args)[k]  # "[i]..." : argument i, then the path inside it
        i, rest = path[1:path.index("]")], path[path.index("]") + 1:]
        raise TypeError(
            f"vmap: argument {i}{' at ' + rest if rest else ''} is {leaf_problem(x)}, "
            f"which cannot be mapped over.{registration_advice(x)} {ACCEPTED_INPUTS}. Pass "
            "an array, or None in in_axes for a value shared by every example."
        )


def _refuse_non_numeric_outputs(out, leaves):
    """An output leaf must be a number or array: an unregistered class instance
    would otherwise come back as an object array (issue 11)."""
    for k, x in enumerate(leaves):
        if type(x) is np.ndarray or isinstance(x, Tracer) or leaf_problem(x) is None:
            continue
        path = leaf_paths(out)[k]
        raise TypeError(
            f"vmap: the function's output{' at ' + path if path else ''} is "
            f"{leaf_problem(x)}, which is not a number or numeric array."
            f"{registration_advice(x)} Return arrays and numbers, in tuples, lists, dicts "
            "or registered pytree nodes."
        )


def _axis_size(leaves, axes, axis_size):
    sizes = []
    for n, (x, ax) in enumerate(zip(leaves, axes)):
        if ax is None:
            continue
        shape = np.shape(concrete(x)) if isinstance(x, Tracer) else np.shape(x)
        if not -len(shape) <= int(ax) < len(shape) or not shape:
            raise ValueError(
                f"vmap was asked to map argument leaf {n} over axis {ax}, but it has shape "
                f"{shape} (rank {len(shape)}); map over an existing axis or pass None in "
                "in_axes for values shared by every example."
            )
        sizes.append((n, shape, int(ax), shape[int(ax)]))
    if not sizes:
        if axis_size is None:
            raise ValueError(
                "vmap needs at least one mapped argument (an in_axes entry that is not "
                "None) or an explicit axis_size."
            )
        return int(axis_size)
    found = {s for *_, s in sizes}
    if axis_size is not None:
        found.add(int(axis_size))
    if len(found) > 1:
        detail = "; ".join(f"leaf {n} has shape {sh} mapped over axis {ax} (size {s})"
                           for n, sh, ax, s in sizes)
        raise ValueError(f"vmap got inconsistent sizes for the mapped axes: {detail}.")
    return found.pop()


def _out_axis(ax, rank):
    """``out_axes`` entry ``ax`` for a batched output of ``rank`` (batch axis included),
    as a non-negative position; negative entries count from the end as in numpy."""
    ax = int(ax)
    if not -rank <= ax < rank:
        raise ValueError(
            f"vmap out_axes={ax} is out of range for an output of rank {rank} (one "
            f"example's rank {rank - 1} plus the batch axis): give an axis in "
            f"[{-rank}, {rank - 1}], negative axes counting from the end."
        )
    return ax % rank


def _unbatch(o, ax, trace, size):
    if isinstance(o, BatchTracer) and o._trace is trace:
        if ax is None:
            raise ValueError(
                "vmap: out_axes is None for an output that differs between the examples; "
                "give it an axis (e.g. out_axes=0), or make that output independent of the "
                "mapped inputs."
            )
        val, d = o.val, o.bdim
        target = _out_axis(ax, ndim_of(val))
        return val if target == d else _moveaxis(val, d, target)
    if ax is None:
        return o
    if not isinstance(o, Tracer):
        o = as_array(o)  # a dask or cupy output stays one
    nd = ndim_of(o)
    target = _out_axis(ax, nd + 1)
    shape = shape_of(o)
    expanded = PRIMITIVES["reshape"].fn(o, shape=shape[:target] + (1,) + shape[target:])
    out = _broadcast_to(expanded, shape[:target] + (size,) + shape[target:])
    return np.array(out) if isinstance(out, np.ndarray) else out
