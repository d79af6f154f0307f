"""Abstract evaluation: a row's output shape and dtype from rules, without its data.

``fgrad.eval_shape`` traces a function with :class:`fgrad.staging.AbstractTrace`,
whose values are shapes and dtypes only.  Each row applied to them gives its
output's shape and dtype through :func:`abstract_eval`, from

* the row's own rule, declared with the row (``defprim(..., shape=rule)``):
  ``rule(*args, **params) -> (shape, dtype)``, where a traced argument is an
  abstract value with ``.shape`` and ``.dtype`` only and any other argument is the
  constant itself; or
* the rule of its ``batch`` category (:data:`CATEGORY_RULES`), for the categories
  that determine it: ``elementwise`` (numpy broadcasting), ``axis`` (shape
  preserving), ``reshape``, ``transpose``, ``broadcast_to``, ``concatenate``,
  ``getitem``, ``index_update`` and ``matmul``.

No rule reads data.  Two tools do the work without any:

* :func:`layout`: an array of the given shape whose dtype has *no bytes*
  (``np.dtype([])``, itemsize 0), so numpy's own shape logic (indexing, reshape,
  transposes, concatenation) runs on it and allocates nothing, at any size;
* :func:`dtype_of_run`: numpy's type resolution, found by running the
  implementation on *zero-size* arrays of the arguments' dtypes (no data exists,
  so none is read); numpy's dtype rules never depend on sizes.

A row whose output shape (or dtype) depends on its data has no rule of this
kind: its rule raises :class:`ShapeNeedsValues`, naming the function and the fix.
A primitive with no rule at all (a user's row declared without ``shape=``, the
primitives of ``custom_vjp``/``custom_jvp`` and ``checkpoint``) runs its
implementation once on :func:`stand_in` data of the full size.

Example:
    >>> import numpy as np
    >>> from fgrad import shapes
    >>> shapes.reduced((4, 5, 6), axis=(0, 2), keepdims=True)
    (1, 5, 1)
    >>> big = shapes.layout((10**6, 10**6))       # no bytes: indexing it allocates nothing
    >>> big[np.array([0, 3, 3]), ::2].shape
    (3, 500000)
"""

from __future__ import annotations

import numpy as np

from .core import Tracer, dtype_of, shape_of

__all__ = [
    "CATEGORY_RULES", "ShapeNeedsValues", "abstract_eval", "along", "dtype", "dtype_of_run",
    "dtype_on_tiny", "einsum_shape", "layout", "leading", "like", "needs_values", "of_param",
    "reduced", "reduction", "rule_of", "shape", "stand_in", "tiny",
]

_NO_BYTES = np.zeros((), dtype=np.dtype([]))


class ShapeNeedsValues(TypeError):
    """The shape of a result depends on the values of the data (``nonzero``, ``unique``
    without ``size=``), so ``fgrad.eval_shape`` cannot give it without running ``fun``."""


def needs_values(what, fix):
    """The error of a rule for an output whose shape (or dtype) depends on data:
    ``what`` names it ("the dtype of numpy.linalg.eig's output"), ``fix`` the way out."""
    return ShapeNeedsValues(
        f"fgrad.eval_shape: {what} depends on the values of the input, which eval_shape "
        f"never computes. {fix}"
    )


def is_abstract(x):
    """Whether ``x`` is an abstract argument (shape and dtype only), not a constant."""
    return not isinstance(x, (np.ndarray, np.generic, int, float, complex, bool)) and \
        hasattr(x, "shape") and hasattr(x, "dtype")


def shape(x):
    """The shape of an argument (abstract or constant)."""
    if isinstance(x, Tracer):
        return tuple(shape_of(x))
    return tuple(np.shape(x)) if not is_abstract(x) else tuple(x.shape)


def dtype(x):
    """The dtype of an argument (abstract or constant)."""
    if isinstance(x, Tracer):
        return dtype_of(x)
    return x.dtype if is_abstract(x) else np.result_type(x)


def layout(x):
    """A bytes-free array of ``x``'s shape (``x`` an argument or a shape tuple):
    numpy's shape logic runs on it without allocating."""
    s = x if isinstance(x, tuple) else shape(x)
    return np.broadcast_to(_NO_BYTES, s)


def _empty_like_dtype(x):
    """A zero-size stand-in of ``x`` for type resolution: Python scalars stay (their
    weak type is part of numpy's rules), every array becomes an empty array of its
    dtype (numpy 2's rules do not look at the values or the rank of arrays)."""
    if isinstance(x, (bool, int, float, complex)) or x is None:
        return x
    if isinstance(x, np.generic):
        return x  # a scalar of a fixed dtype: its value is tiny and numpy ignores it
    if isinstance(x, (list, tuple)):
        return x
    return np.empty((0,), dtype=dtype(x))


def dtype_of_run(fn, args, params=None, ndim=None):
    """The dtype ``fn(*args, **params)`` returns, found by running it on zero-size
    arrays of the arguments' dtypes (with ``ndim``, empty arrays of that many axes,
    for functions that need their axes).  No data is read: there is none."""
    if ndim is None:
        stand = [_empty_like_dtype(a) for a in args]
    else:
        stand = [np.empty((0,) * ndim, dtype(a)) if (is_abstract(a) or isinstance(
            a, np.ndarray)) else a for a in args]
    with np.errstate(all="ignore"):
        out = fn(*stand, **(params or {}))
    return np.result_type(out)


def normalize_axes(axis, ndim, who):
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{who}: axis {a} is out of bounds for an array of {ndim} "
                             f"dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: repeated axis in {axis!r}")
    return tuple(out)


def reduced(s, axis, keepdims=False, who="reduction"):
    """The shape of a reduction of an array of shape ``s`` over ``axis`` (None: all)."""
    axes = normalize_axes(axis, len(s), who)
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(s))
    return tuple(n for i, n in enumerate(s) if i not in axes)


# --------------------------------------------------------------------------
# the rules of the categories
# --------------------------------------------------------------------------


def _elementwise(prim, args, params):
    s = np.broadcast_shapes(*(shape(a) for a in args))
    return s, dtype_of_run(prim.impl, args, params)


def _like_first(prim, args, params):
    return shape(args[0]), dtype(args[0])


def _reshape(prim, args, params):
    return layout(args[0]).reshape(params["shape"]).shape, dtype(args[0])


def _transpose(prim, args, params):
    return np.transpose(layout(args[0]), params.get("axes")).shape, dtype(args[0])


def _broadcast_to(prim, args, params):
    return np.broadcast_to(layout(args[0]), params["shape"]).shape, dtype(args[0])


def _concatenate(prim, args, params):
    axis = params.get("axis", 0)
    s = np.concatenate([layout(a) for a in args], axis=axis).shape
    return s, np.result_type(*[dtype(a) for a in args])


def _getitem(prim, args, params):
    return layout(args[0])[params["idx"]].shape, dtype(args[0])


def _matmul(prim, args, params):
    a, b = shape(args[0]), shape(args[1])
    if not a or not b:
        raise ValueError("matmul: an operand is 0-d (a scalar); use * to scale instead")
    sa = (1,) + a if len(a) == 1 else a
    sb = b + (1,) if len(b) == 1 else b
    if sa[-1] != sb[-2]:
        raise ValueError(f"matmul: the inner dimensions differ: shapes {a} and {b} "
                         f"({sa[-1]} != {sb[-2]})")
    s = np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1])
    if len(b) == 1:
        s = s[:-1]
    if len(a) == 1:
        s = s[:-2] + s[-1:] if len(b) > 1 else s[:-1]
    dt = dtype_of_run(np.matmul, [np.empty((0, 0), dtype(x)) for x in args])
    return s, dt


#: ``batch`` category -> ``rule(prim, args, params) -> (shape, dtype)``.
CATEGORY_RULES = {
    "elementwise": _elementwise,
    "axis": _like_first,
    "index_update": _like_first,
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "concatenate": _concatenate,
    "getitem": _getitem,
    "matmul": _matmul,
}


def rule_of(prim):
    """The row's shape rule as ``rule(prim, args, params)``, or None when it has none."""
    if prim.shape is not None:
        own = prim.shape
        return lambda prim, args, params: own(*args, **params)
    batch = prim.batch
    return CATEGORY_RULES.get(batch) if isinstance(batch, str) else None


def _normal(out, prim):
    s, dt = out
    return tuple(int(n) for n in s), np.dtype(dt)


def abstract_eval(prim, args, params):
    """``(shape, dtype)`` of ``prim``'s output on ``args`` (abstract values and
    constants), from its rule; None when the row has no rule."""
    rule = rule_of(prim)
    if rule is None:
        return None
    return _normal(rule(prim, args, params), prim)


def stand_in(s, dt):
    """Data of shape ``s`` and dtype ``dt`` for a row without a shape rule (its
    implementation then runs once on it): 0.5 everywhere plus the identity on square
    trailing axes (well conditioned for solves and factorisations), ones for
    integers and booleans."""
    dt = np.dtype(dt)
    if dt.kind in "biu":
        return np.ones(s, dt)
    x = np.full(s, 0.5, dt)
    if len(s) >= 2 and s[-1] == s[-2]:
        x = x + np.eye(s[-1], dtype=dt)
    return x if s else x[()]


# --------------------------------------------------------------------------
# tools for the rules rows declare (defprim(..., shape=...))
# --------------------------------------------------------------------------


def tiny(x):
    """A one-element stand-in of an array argument (its rank and dtype, all ones);
    other arguments as they are.  For type resolution of functions that refuse
    zero-size input (``max``, ``linalg``): ones, a 1x1 identity, are valid input."""
    if is_abstract(x) or isinstance(x, np.ndarray):
        return np.ones((1,) * len(shape(x)), dtype(x))
    return x


def dtype_on_tiny(fn, args, params=None):
    """The dtype ``fn`` returns on one-element stand-ins of the arguments (see
    :func:`tiny`); only for functions whose result dtype depends on dtypes alone."""
    with np.errstate(all="ignore"):
        out = fn(*[tiny(a) for a in args], **(params or {}))
    return np.result_type(out)


def like(i=0, dtype_=None):
    """The rule of a row whose output has argument ``i``'s shape (and its dtype, or
    ``dtype_``)."""

    def rule(*args, **params):
        return shape(args[i]), dtype(args[i]) if dtype_ is None else dtype_

    return rule


def reduction(impl, out_dtype=None):
    """The rule of a reduction row ``impl(x, axis=None, keepdims=False, ...)``; the
    dtype from ``impl`` on a one-element stand-in (or ``out_dtype``)."""

    def rule(x, axis=None, keepdims=False, where=None, **params):
        s = reduced(shape(x), axis, keepdims)
        if out_dtype is not None:
            return s, out_dtype
        return s, dtype_on_tiny(
            lambda t: impl(t, axis=axis, keepdims=keepdims, **params), [x])

    return rule


def along(impl=None, out_dtype=None, axis_default=None):
    """The rule of a row that keeps the shape along ``axis`` (``cumsum``, ``argsort``)
    and flattens for ``axis=None``."""

    def rule(x, *rest, axis=axis_default, **params):
        s = shape(x)
        if axis is None:
            out = (int(np.prod(s, dtype=np.int64)),)
        else:
            normalize_axes(axis, len(s), "axis")
            out = s
        if out_dtype is not None:
            return out, out_dtype
        return out, dtype_on_tiny(lambda t: impl(t, *rest, axis=axis, **params), [x])

    return rule


def of_param(name, i=0):
    """The rule of a row whose output shape is its parameter ``name`` and whose dtype
    is argument ``i``'s."""

    def rule(*args, **params):
        return tuple(params[name]), dtype(args[i])

    return rule


def leading(core, impl, n_core=2):
    """The rule of a ``leading``-category row: ``core(*core_shapes, **params)`` gives
    the output's trailing shape from the arguments' last ``n_core`` axes (an int,
    or one per argument); the leading axes broadcast; the dtype from ``impl`` on
    one-element stand-ins."""

    def rule(*args, **params):
        ns = n_core if isinstance(n_core, (tuple, list)) else (n_core,) * len(args)
        shapes = [shape(a) for a in args]
        for a, k in zip(shapes, ns):
            if len(a) < k:
                raise ValueError(f"an argument of shape {a} has fewer than {k} axes")
        lead = np.broadcast_shapes(*[s[:len(s) - k] for s, k in zip(shapes, ns)])
        tail = core(*[s[len(s) - k:] for s, k in zip(shapes, ns)], **params)
        return lead + tuple(tail), dtype_on_tiny(impl, args, params)

    return rule


def einsum_shape(subscripts, shapes):
    """The output shape of ``numpy.einsum(subscripts, *operands)`` from the shapes."""
    subs = subscripts.replace(" ", "")
    ins, out = subs.split("->") if "->" in subs else (subs, None)
    terms = ins.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(terms)} operands, "
                         f"{len(shapes)} given")
    sizes, ell, counts = {}, [], {}
    for term, s in zip(terms, shapes):
        if "..." in term:
            pre, post = term.split("...")
            k = len(s) - len(pre) - len(post)
            ell.append(s[len(pre):len(pre) + k])
            letters, dims = pre + post, s[:len(pre)] + s[len(s) - len(post):]
        else:
            letters, dims = term, s
        if len(letters) != len(dims):
            raise ValueError(f"einsum: {term!r} does not fit an operand of shape {s}")
        for c, n in zip(letters, dims):
            counts[c] = counts.get(c, 0) + 1
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n}")
    e = np.broadcast_shapes(*ell) if ell else ()
    if out is None:
        out = ("..." if ell else "") + "".join(sorted(c for c, k in counts.items() if k == 1))
    if "..." in out:
        pre, post = out.split("...")
        return tuple(sizes[c] for c in pre) + e + tuple(sizes[c] for c in post)
    return tuple(sizes[c] for c in out)
