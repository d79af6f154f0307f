"""Structured control flow with JAX's names and semantics (``jax.lax``).

:func:`scan`, :func:`fori_loop`, :func:`while_loop`, :func:`cond` and
:func:`switch` take the loop body or the branches as functions.  Each call is
*one* row-like primitive (kept out of :data:`fgrad.core.PRIMITIVES`) whose
arguments are the leaves of the carry, the scanned values, the operands and the
traced values the functions close over, and whose parameters hold the
functions and the tree structures.  Its implementation runs the loop on plain
numpy values; its rules are written with these functions again and fgrad's
transforms applied to the body, so every transform nests to any order:

* reverse mode of ``scan`` is a reverse ``scan`` (the loop is never unrolled
  onto the tape).  A long scan's step is split by partial evaluation: the forward
  scan saves each step's residuals and the reverse scan runs only the backward
  step (see :func:`scan`); otherwise the reverse scan's body re-runs one step
  under reverse mode from the stored carry (memory O(steps x carry)).
  ``fori_loop`` with Python-int bounds is a ``scan``; ``cond``/``switch`` pull
  back through the branch taken only;
* forward mode of every function is the same loop over (value, tangent) pairs;
  ``while_loop`` (and ``fori_loop`` with traced bounds) has forward mode only,
  because reverse mode would have to store a number of steps nobody knows in
  advance;
* under :func:`fgrad.vmap`, ``cond`` with a batched predicate runs both branches
  and selects per example, and ``while_loop`` runs until every example is done,
  each keeping its own carry once its predicate is false.

Closures.  A body very often closes over a value an enclosing transform traces
(``grad(lambda w: scan(lambda c, x: (c * w, c), 0.0, xs)[0])``).  Those tracers
are found in the variables of the function (its closure cells and defaults,
recursively through the functions and ``functools.partial`` objects it holds,
and inside lists, tuples, dicts and registered pytrees there) and become
explicit arguments of the primitive, so their derivatives are exact.  A traced
value reached any other way (an attribute of an object, a global) is detected
while the body runs and raises a TypeError instead of losing its derivative.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad import lax
    >>> def total(w):                      # c: 0 -> 1 -> w + 2 -> w**2 + 2w + 3
    ...     carry, ys = lax.scan(lambda c, x: (c * w + x, c), 0.0, fnp.arange(1.0, 4.0))
    ...     return carry
    >>> float(total(2.0)), float(fgrad.grad(total)(2.0))
    (11.0, 6.0)
"""

from __future__ import annotations

import functools
import types

import numpy as np

from . import numpy as fnp
from . import shapes as _shapes
from .api import jvp as _jvp
from .autodiff import ForwardTrace, ForwardTracer, ReverseTrace, ReverseTracer
from .batching import vmap
from .core import (
    ABSTRACT_PLACEHOLDER,
    PRIMITIVES,
    Primitive,
    Trace,
    Tracer,
    _PositionRules,
    checking_process,
    debug_nans_on,
    debug_variant,
    dtype_of,
    shape_of,
    top_trace,
)
from .dynamic_slicing import (  # noqa: F401  (fgrad.lax's slices with traced starts)
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_index_in_dim,
    dynamic_update_slice,
    dynamic_update_slice_in_dim,
)
from .jit import Jitted, jit
from .program import Literal, Program, Var
from .program_passes import eliminate_dead_code, optimize
from .staging import ConcretizationError, StagingTrace, StagingTracer
from .tree import tree_flatten

__all__ = [
    "scan", "fori_loop", "while_loop", "cond", "switch",
    "dynamic_slice", "dynamic_slice_in_dim", "dynamic_index_in_dim",
    "dynamic_update_slice", "dynamic_update_slice_in_dim", "dynamic_update_index_in_dim",
]


# --------------------------------------------------------------------------
# Running a user's function: every value it sees is a tracer of a trace that
# only evaluates, so it cannot write into the caller's arrays, and a traced
# value of an enclosing transform that reaches it unannounced is caught.
# --------------------------------------------------------------------------


def _closure_error(who):
    return TypeError(
        f"{who}: the function uses a traced value of an enclosing transform (grad, jvp, "
        "vmap ...) that fgrad did not find among its arguments or the variables it "
        "closes over (for example an attribute of an object, or a global), so its "
        "derivative would be lost. Make that value a variable the function closes over "
        "(e.g. `w = self.w` before defining the function), or pass it in the carry, "
        "the scanned values or the operands."
    )


class _BodyTracer(Tracer):
    """A value inside a lax function's body while the primitive runs."""

    __slots__ = ()

    def __init__(self, value, trace):
        self.value = value
        self._trace = trace


class _BodyTrace(Trace):
    """Evaluates a body; refuses tracers of other (enclosing) transforms."""

    __slots__ = ("who",)

    def __init__(self, who):
        super().__init__()
        self.who = who

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals = []
        for a in args:
            if isinstance(a, Tracer):
                if a._trace is not self:
                    raise _closure_error(self.who)
                a = a.value
            vals.append(a)
        return _BodyTracer(prim.fn(*vals, **params), self)

    def wrap(self, values):
        return [_BodyTracer(v, self) for v in values]

    def unwrap(self, values):
        out = []
        for x in values:
            if isinstance(x, Tracer):
                if x._trace is not self:
                    raise _closure_error(self.who)
                x = x.value
            out.append(x)
        return out


def _strip(values):
    """The values under the body trace's tracers, for the transforms a rule applies to
    a step: they wrap them in their own (immutable) tracers, so each operation of the
    step is then dispatched once, not twice.  A traced value of an enclosing transform
    the step reaches unannounced still ends in its result, where ``unwrap`` refuses it."""
    return [v.value if type(v) is _BodyTracer else v for v in values]


# while NaN debugging is on (fgrad.debug_nans), the bodies are checked too
debug_variant(_BodyTrace, "process", checking_process(_BodyTrace.process))


def _pullback(fun, primals, cotangents):
    """The cotangents of ``primals`` for ``fun(primals) -> list of leaves`` seeded
    with ``cotangents`` (one per output leaf, None for none): reverse mode for one
    step of a loop, without the checks and copies of :func:`fgrad.vjp` (the step's
    values are tracers it cannot write into, and the tape lives for this call only)."""
    trace = ReverseTrace()
    try:
        tracers = [trace.new_input(x) for x in primals]
        out = fun(tracers)
    finally:
        trace.alive = False
    seeds = [(o.index, g) for o, g in zip(out, cotangents)
             if g is not None and isinstance(o, ReverseTracer) and o._trace is trace]
    cts = trace.backward(seeds, consume=True) if seeds else [None] * len(trace.tape)
    return [np.zeros(shape_of(x), dtype_of(x)) if cts[t.index] is None else cts[t.index]
            for x, t in zip(primals, tracers)]


# --------------------------------------------------------------------------
# Closure conversion: the tracers a function closes over become arguments
# --------------------------------------------------------------------------

_MAX_DEPTH = 12
_ATOMS = (str, bytes, int, float, complex, bool, np.ndarray, np.generic, type(None), type,
          types.ModuleType, types.BuiltinFunctionType, np.ufunc, np.dtype)


def _rewrite(obj, on_tracer, memo, depth):
    """``obj`` with every tracer ``t`` it holds replaced by ``on_tracer(t)``.

    Looks into functions (closure cells, defaults), ``functools.partial``
    objects, and containers fgrad's pytrees know; returns ``obj`` itself when
    nothing changed.  Other objects are left alone (see :func:`_closure_error`).
    """
    if isinstance(obj, Tracer):
        return on_tracer(obj)
    if isinstance(obj, _ATOMS) or depth > _MAX_DEPTH:
        return obj
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, types.FunctionType):
        memo[key] = obj  # (a recursive function meets itself: left as it is)
        changed = False
        cells = []
        for cell in obj.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell (a variable not assigned yet)
                cells.append(cell)
                continue
            new = _rewrite(content, on_tracer, memo, depth + 1)
            changed |= new is not content
            cells.append(cell if new is content else types.CellType(new))
        defaults = obj.__defaults__
        if defaults:
            new_defaults = tuple(_rewrite(d, on_tracer, memo, depth + 1) for d in defaults)
            changed |= any(a is not b for a, b in zip(new_defaults, defaults))
            defaults = new_defaults
        kwdefaults = obj.__kwdefaults__
        if kwdefaults:
            new_kw = {k: _rewrite(v, on_tracer, memo, depth + 1) for k, v in kwdefaults.items()}
            changed |= any(new_kw[k] is not kwdefaults[k] for k in kwdefaults)
            kwdefaults = new_kw
        if not changed:
            return obj
        new = types.FunctionType(obj.__code__, obj.__globals__, obj.__name__, defaults,
                                 tuple(cells) if obj.__closure__ is not None else None)
        new.__kwdefaults__ = kwdefaults
        new.__qualname__ = obj.__qualname__
        memo[key] = new
        return new
    if isinstance(obj, functools.partial):
        func = _rewrite(obj.func, on_tracer, memo, depth + 1)
        args = tuple(_rewrite(a, on_tracer, memo, depth + 1) for a in obj.args)
        kw = {k: _rewrite(v, on_tracer, memo, depth + 1) for k, v in obj.keywords.items()}
        if func is obj.func and all(a is b for a, b in zip(args, obj.args)) and all(
                kw[k] is obj.keywords[k] for k in kw):
            memo[key] = obj
            return obj
        new = functools.partial(func, *args, **kw)
        memo[key] = new
        return new
    try:
        leaves, tree = tree_flatten(obj)
    except Exception:  # noqa: BLE001 - an object pytrees cannot take apart: left alone
        return obj
    if tree.kind == "leaf":
        return obj
    new_leaves = [_rewrite(x, on_tracer, memo, depth + 1) for x in leaves]
    new = obj if all(a is b for a, b in zip(new_leaves, leaves)) else tree.unflatten(new_leaves)
    memo[key] = new
    return new


class _UserFun:
    """A user's function with the tracers it closes over lifted out (``consts``).

    ``bind(values)`` is the function with those tracers replaced by ``values``
    (the values the primitive's implementation or rules hold for them).
    """

    __slots__ = ("fun", "consts")

    def __init__(self, fun):
        self.fun = fun
        found, seen = [], set()

        def collect(t):
            if id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            return t

        _rewrite(fun, collect, {}, 0)
        self.consts = found

    def bind(self, values):
        if not self.consts:
            return self.fun
        table = {id(t): v for t, v in zip(self.consts, values)}
        return _rewrite(self.fun, lambda t: table.get(id(t), t), {}, 0)

    def __repr__(self):
        return f"<{_name(self.fun)}>"


class _Fn:
    """A function made by a rule, taking its constants explicitly: ``fn(consts, ...)``."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def bind(self, values):
        return functools.partial(self.fn, tuple(values))

    def __repr__(self):
        return f"<{_name(self.fn)}>"


def _name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


# --------------------------------------------------------------------------
# Values, shapes, dtypes
# --------------------------------------------------------------------------


def _inexact(x):
    return dtype_of(x).kind in "fc"


def _meta(x):
    return tuple(shape_of(x)), dtype_of(x)


def _leaf_value(x, who, what):
    """A leaf as fgrad holds it: tracers pass, numbers and arrays become numpy values."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        v = x
    elif isinstance(x, (bool, int, float, complex)):
        v = np.asarray(x)[()]
    else:
        raise TypeError(
            f"{who}: {what} holds {type(x).__name__} {x!r:.60}, which is not a number or a "
            "numeric array; pass arrays and numbers in tuples, lists, dicts or registered "
            "pytree nodes."
        )
    if np.dtype(v.dtype).kind not in "biufc":
        raise TypeError(f"{who}: {what} holds an array of dtype {v.dtype}, which is not "
                        "numeric.")
    return v


def _leaves(tree, who, what):
    leaves, treedef = tree_flatten(tree)
    return [_leaf_value(x, who, what) for x in leaves], treedef


def _zeros(meta):
    shape, dtype = meta
    return np.zeros(shape, dtype)


def _check_leaves(values, tree, metas, expect_tree, who, what, fix):
    """Output leaves of a body must have the expected structure, shapes and dtypes."""
    if tree != expect_tree:
        raise TypeError(
            f"{who}: {what} has the structure {tree}, but it must keep the structure "
            f"{expect_tree}. {fix}"
        )
    for k, (v, (shape, dtype)) in enumerate(zip(values, metas)):
        got_shape, got_dtype = _meta(v)
        if got_shape != shape or got_dtype != dtype:
            where = "" if len(metas) == 1 else f" (leaf {k})"
            raise TypeError(
                f"{who}: {what}{where} has shape {got_shape} and dtype {got_dtype}, but it "
                f"must keep shape {shape} and dtype {dtype}. {fix}"
            )


def _as_leaves(values, who, what):
    return [_leaf_value(x, who, what) for x in values]


# --------------------------------------------------------------------------
# Packing: a primitive has one output, an array; the leaves go in one after the
# other (cast to one dtype) and come out as slices.
# --------------------------------------------------------------------------


class _Layout:
    """Where each output leaf (shape, dtype) lives in the packed output."""

    __slots__ = ("metas", "dtype", "spans")

    def __init__(self, metas):
        self.metas = list(metas)
        inexact = [d for _, d in self.metas if d.kind in "fc"]
        exact = [d for _, d in self.metas if d.kind not in "fc"]
        if inexact:
            dtype = np.result_type(*inexact)
            if exact:  # integers travel exactly in a float64 (checked in `pack`)
                dtype = np.result_type(dtype, np.float64)
        else:
            dtype = np.dtype(np.int64)
        self.dtype = dtype
        self.spans, start = [], 0
        for shape, _ in self.metas:
            n = int(np.prod(shape, dtype=np.int64))
            self.spans.append((start, n))
            start += n

    def __eq__(self, other):
        return isinstance(other, _Layout) and self.metas == other.metas

    __hash__ = None

    def pack(self, values, who):
        """Plain numpy values into one array (integers checked to travel exactly)."""
        parts = []
        for v, (_, dtype) in zip(values, self.metas):
            v = np.asarray(v)
            _check_exact(v, self.dtype, who)
            if dtype == np.uint64 and v.size and v.max() > np.iinfo(np.int64).max:
                raise ValueError(f"{who}: uint64 values above 2**63 are not supported.")
            parts.append(v.astype(self.dtype, copy=False).reshape(-1))
        if not parts:
            return np.zeros(0, self.dtype)
        return np.concatenate(parts)

    def pack_traced(self, values):
        """Values (maybe tracers) into one array, with fgrad functions."""
        parts = [fnp.reshape(fnp.astype(v, self.dtype), (-1,)) for v in values]
        if not parts:
            return np.zeros(0, self.dtype)
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts)

    def pack_batched(self, values, size):
        """Leaves with a leading batch axis of ``size`` into ``(size, total)``."""
        parts = [fnp.reshape(fnp.astype(v, self.dtype), (size, -1)) for v in values]
        if not parts:
            return np.zeros((size, 0), self.dtype)
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts, axis=1)

    def unpack(self, packed, cotangent=False, first=0, stop=None):
        """The leaves ``first:stop``; a cotangent keeps the packed (inexact) dtype for
        integer leaves."""
        out = []
        for (start, n), (shape, dtype) in zip(self.spans[first:stop], self.metas[first:stop]):
            piece = fnp.reshape(packed[start:start + n], shape)
            if self.dtype.kind == "c" and dtype.kind != "c":
                piece = fnp.real(piece)  # (a real leaf packed with complex ones)
            if dtype != self.dtype and not (cotangent and dtype.kind not in "fc"):
                piece = fnp.astype(piece, dtype)
            if not shape and isinstance(piece, np.ndarray):
                piece = piece[()]  # a numpy scalar, as numpy's own reductions give
            out.append(piece)
        return out


class _Out:
    """What a body returns besides its carry, learned when it first runs
    (the outputs of the branches of a switch, the ``ys`` of a scan)."""

    __slots__ = ("tree", "metas", "first")

    def __init__(self):
        self.tree = self.metas = self.first = None

    def learn(self, values, tree, who, what, branch=None):
        metas = [_meta(v) for v in values]
        if self.tree is None:
            self.tree, self.metas, self.first = tree, metas, branch
            return
        if tree != self.tree or metas != self.metas:
            if branch is not None and branch != self.first:
                raise TypeError(
                    f"{who}: the branches return different structures, shapes or dtypes: "
                    f"branch {self.first} returns {self.tree} with leaves "
                    f"{_metas_text(self.metas)}, branch {branch} returns {tree} with leaves "
                    f"{_metas_text(metas)}. Every branch must return the same pytree "
                    "structure, shapes and dtypes (cast with .astype, or broadcast)."
                )
            raise TypeError(
                f"{who}: {what} changes from one step to the next: {self.tree} with leaves "
                f"{_metas_text(self.metas)}, then {tree} with leaves {_metas_text(metas)}. "
                "Every step must return the same structure, shapes and dtypes."
            )


def _metas_text(metas):
    return "[" + ", ".join(f"{d}{list(s)}" for s, d in metas) + "]"


def _pair(out, who):
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        got = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, (tuple, list))
                                    else "")
        raise TypeError(f"{who}: the function must return a pair (carry, y), but it returned "
                        f"{got}.")
    return out


def _flat_tree(n):
    return tree_flatten(list(range(n)))[1]


def _moveaxis(x, src, dst):
    return x if src == dst else fnp.moveaxis(x, src, dst)


def _to_front(x, d):
    return x if d is None or d == 0 else fnp.moveaxis(x, d, 0)


def _batch_size(vals, dims):
    return next(shape_of(v)[d] for v, d in zip(vals, dims) if d is not None)


def _broadcast_front(x, d, size):
    """``x`` with its batch axis first; an unbatched ``x`` is broadcast to ``size``."""
    if d is not None:
        return _to_front(x, d)
    return fnp.broadcast_to(x, (size,) + tuple(shape_of(x)))


def _where_batched(pred, a, b):
    """``where(pred, a, b)`` for a ``(size,)`` predicate and leaves ``(size, ...)``."""
    nd = len(shape_of(a))
    p = fnp.reshape(pred, tuple(shape_of(pred)) + (1,) * (nd - 1))
    return fnp.where(p, a, b)


# --------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------


class _ScanCall:
    """The parameters of one scan: the body, the trees, and the layout of its output.

    The primitive's output is, packed: the final carry, the stacked ``ys`` and
    the stacked carries each step started from (what reverse mode needs).
    """

    __slots__ = ("body", "who", "nk", "nc", "nx", "carry_tree", "carry_metas", "x_tree",
                 "length", "reverse", "ys", "stepper", "residuals")

    def __init__(self, body, who, nk, carry_tree, carry_metas, x_tree, nx, length, reverse):
        self.body, self.who = body, who
        self.nk, self.nc, self.nx = nk, len(carry_metas), nx
        self.carry_tree, self.carry_metas, self.x_tree = carry_tree, carry_metas, x_tree
        self.length, self.reverse = length, reverse
        self.ys = _Out()
        self.stepper = None  # the step staged by fgrad.jit (see _staged_step)
        self.residuals = None  # the step split for reverse mode (_Residuals), False: none

    def __repr__(self):
        return f"<{self.who} of {self.body!r}, length {self.length}>"

    def step(self, k, c, x):
        """One step on leaves: ``(carry leaves, y leaves)``, checked."""
        return self.step_fn(self.body.bind(k), c, x)

    def step_fn(self, fun, c, x, unwrap=None):
        out = _pair(fun(self.carry_tree.unflatten(list(c)), self.x_tree.unflatten(list(x))),
                    self.who)
        c_leaves, c_tree = tree_flatten(out[0])
        y_leaves, y_tree = tree_flatten(out[1])
        if unwrap is not None:
            c_leaves, y_leaves = unwrap(c_leaves), unwrap(y_leaves)
        c_leaves = _as_leaves(c_leaves, self.who, "the carry")
        y_leaves = _as_leaves(y_leaves, self.who, "the output y")
        _check_leaves(c_leaves, c_tree, self.carry_metas, self.carry_tree, self.who,
                      "the carry the function returns",
                      "The carry must keep the structure, shapes and dtypes of `init` "
                      "(give `init` the dtype the body computes, e.g. 0.0 instead of 0).")
        self.ys.learn(y_leaves, y_tree, self.who, "the output y")
        return c_leaves, y_leaves

    def layout(self, save=True):
        """The primitive's packed output: the final carry, the stacked ys and, with
        ``save``, the stacked carries each step started from (what reverse mode reads)."""
        L = self.length
        metas = list(self.carry_metas) + [((L,) + s, d) for s, d in self.ys.metas]
        if save:
            metas += [((L,) + s, d) for s, d in self.carry_metas]
        return _Layout(metas)

    def split(self, leaves):
        nk, nc = self.nk, self.nc
        return list(leaves[:nk]), list(leaves[nk:nk + nc]), list(leaves[nk + nc:])


def _run_scan(call, leaves, save, packed=False):
    """The loop on plain values: ``(carry, ys, carries or None)`` as lists of leaves,
    or with ``packed`` the primitive's output, one array into which each step writes
    its ``y`` and the carry it started from (no stacking and packing afterwards)."""
    k, c, xs = call.split(leaves)
    L = call.length
    out = buf = None  # the arrays the steps write into (ys, then carries), and the packed one
    trace = _BodyTrace(call.who)
    try:
        fun = call.body.bind(trace.wrap(k))
        order = range(L - 1, -1, -1) if call.reverse else range(L)
        done = 0
        for t in order:
            x_t = [x[t] for x in xs]
            step = (_staged_step(call, k, c, x_t)
                    if call.stepper is not False and L >= _STAGE_MIN_LENGTH else None)
            if step is None:  # the body could not be staged: it runs in Python
                step = call.step_fn(fun, trace.wrap(c), trace.wrap(x_t), trace.unwrap)
            c_next, y = step
            if out is None:  # the shapes of ys are known after the first step
                out, buf = _scan_outputs(call, save, packed)
            for a, v in zip(out, y + c if save else y):
                if buf is not None:
                    _check_exact(v, buf.dtype, call.who)
                a[t] = v
            c = c_next
            done += 1
            if done == 2 and call.stepper:  # staged, and past the change of value kinds
                c = _replay_steps(call, k, c, xs, order[2:], out, buf, save)
                break
        if out is None:
            if call.ys.tree is None:
                # nothing ran: one step on zeros gives the shapes and dtypes of ys
                with np.errstate(all="ignore"):
                    zeros = [np.zeros(np.shape(x)[1:], x.dtype) for x in xs]
                    call.step_fn(fun, trace.wrap(c), trace.wrap(zeros), trace.unwrap)
            out, buf = _scan_outputs(call, save, packed)
    finally:
        trace.alive = False
    if packed:
        lay = call.layout(save)
        for v, (start, n) in zip(c, lay.spans):
            _check_exact(v, buf.dtype, call.who)
            buf[start:start + n] = np.ravel(v)
        return buf
    ny = len(call.ys.metas)
    return list(c), out[:ny], (out[ny:] if save else None)


#: A scan of at least this many steps stages its step (fgrad.jit: traced once, compiled on
#: its first replay, a few hundred microseconds); shorter ones run the body step by step.
#: Under jit the staged step is kept with the program, so it is staged once in all.
_STAGE_MIN_LENGTH = 16


def _replay_steps(call, k, c, xs, order, out, buf, save):
    """The remaining steps of a staged scan, in a tight loop: the step's program
    replayed (its first two calls have settled the kinds of the values it sees),
    each step's ``y`` (and with ``save`` the carry it started from) written into
    ``out``; returns the final carry."""
    stepper, nc = call.stepper, call.nc
    written = list(call.ys.metas) + (list(call.carry_metas) if save else [])
    check = buf is not None and buf.dtype.kind in "fc" and any(
        d.kind in "iu" for _, d in written)
    run = stepper
    for t in order:
        args = (*k, *c, *[x[t] for x in xs])
        res = run(*args)
        if run is stepper:
            run = _compiled_step(stepper, args)
        c_next = res[:nc]
        for a, v in zip(out, (*res[nc:], *c) if save else res[nc:]):
            if check:
                _check_exact(v, buf.dtype, call.who)
            a[t] = v
        c = c_next
    return list(c)


def _compiled_step(stepper, args):
    """The compiled program of the jitted step ``stepper`` for the signature of
    ``args`` (the step it just ran), or ``stepper`` itself when there is none yet
    (the first replay of a new signature compiles it) or NaN debugging is on.
    Calling it directly skips jit's look-up of the signature, a few microseconds,
    at every step: the signature cannot change any more (the carry keeps its shapes
    and dtypes, and the program's outputs have the same kinds at every step)."""
    if debug_nans_on() or not isinstance(stepper, Jitted):
        return stepper
    run = stepper.compiled_for(*args)
    return stepper if run is None else run


def _staged_step(call, k, c, x):
    """One step on plain values through the step staged by :func:`fgrad.jit` (traced at
    the first step of the first call, then replayed: the body's Python and fgrad's
    dispatch run once, not once per step), or None when the body cannot be staged
    (it reads a value, e.g. through a row whose rule depends on values): then it
    runs eagerly, step by step, with the same results."""
    stepper = call.stepper
    if stepper is None:
        nk, nc = call.nk, call.nc

        def flat_step(*leaves):  # flat leaves in and out: jit's cheapest signature
            c_next, y = call.step(leaves[:nk], leaves[nk:nk + nc], leaves[nk + nc:])
            return (*c_next, *y)

        stepper = call.stepper = jit(flat_step)
    try:
        out = stepper(*k, *c, *x)
    except ConcretizationError:
        call.stepper = False
        return None
    for v in out:
        if isinstance(v, Tracer):  # a traced value reached unannounced (an attribute)
            raise _closure_error(call.who)
    return list(out[:call.nc]), list(out[call.nc:])


def _scan_outputs(call, save, packed):
    """``(arrays, packed)``: where the steps write their ys (and, with ``save``, the
    carries they start from): views into one packed output, or arrays of their own."""
    L = call.length
    metas = [((L,) + s, d) for s, d in call.ys.metas]
    if save:
        metas += [((L,) + s, d) for s, d in call.carry_metas]
    if not packed:
        return [np.empty(s, d) for s, d in metas], None
    lay = call.layout(save)
    buf = np.empty(lay.spans[-1][0] + lay.spans[-1][1] if lay.spans else 0, lay.dtype)
    views = [buf[start:start + n].reshape(shape)
             for (start, n), (shape, _) in zip(lay.spans[call.nc:], lay.metas[call.nc:])]
    return views, buf


def _check_exact(v, dtype, who):
    """An integer stored in a floating-point array must come back exactly."""
    if dtype.kind not in "fc":
        return
    kind = v.dtype.kind if hasattr(v, "dtype") else np.dtype(type(v)).kind
    if kind in "iu" and np.size(v):
        if np.abs(np.asarray(v, dtype=np.float64)).max() > 2.0 ** 53:
            raise ValueError(
                f"{who}: an integer value of magnitude above 2**53 is carried next to "
                "floating-point values, which fgrad does not support; keep such integers "
                "outside the loop."
            )


def _scan_impl(*leaves, _call, _save=True):
    return _run_scan(_call, leaves, save=_save, packed=True)


def _traced(tangents):
    """Whether a tangent is itself traced (by linearize's staging, or a transform below
    forward mode): then the values are computed on their own, so that they do not
    depend on the tangents (which would make them staged or differentiated too)."""
    return any(isinstance(t, Tracer) for t in tangents)


def _scan_bind(call, leaves, save=False):
    """``(carry, ys, carries)`` leaves of one scan, through whichever trace is on top
    (``carries`` is None on plain values unless ``save``)."""
    top = top_trace(leaves)
    if top is None:
        return _run_scan(call, leaves, save=save)
    if isinstance(top, ForwardTrace):  # forward mode: one scan over (value, tangent)
        primals, tangents = top.split(leaves, lambda x: (x.value, x.tangent),
                                      lambda x: (x, None))
        outs, touts = _scan_jvp(call, primals, tangents, save)
        if _traced(tangents):  # the joint loop made the values depend on the tangents
            carry, ys, cs = _scan_bind(call, primals, save)
            outs = carry + ys + (cs if cs is not None else [None] * call.nc)
        res = [o if t is None else ForwardTracer(o, top, t) for o, t in zip(outs, touts)]
        nc, ny = call.nc, len(call.ys.metas)
        return res[:nc], res[nc:nc + ny], res[nc + ny:]
    if (not save and isinstance(top, ReverseTrace) and call.length >= _STAGE_MIN_LENGTH
            and call.stepper is not False and call.residuals is not False):
        out = _scan_with_residuals(call, leaves, top)
        if out is not None:
            return out
    # The stacked carries are what reverse mode reads: a staged program (fgrad.jit)
    # leaves them out unless asked (the backward scan of jit(grad(f)) and a forward-only
    # jit(f) need them not); reverse mode through such a program recomputes them.
    save = save or not isinstance(top, StagingTrace)
    packed = _SCAN.fn(*leaves, _call=call, _save=save)
    out = call.layout(save).unpack(packed)
    nc, ny = call.nc, len(call.ys.metas)
    return out[:nc], out[nc:nc + ny], (out[nc + ny:] if save else None)


def _new_scan(body, who, consts, carry, xs, length, reverse, save=False):
    """A scan of a rule-made body over flat lists: ``body(consts, carry, xs)``."""
    call = _ScanCall(_Fn(body), who, len(consts), _flat_tree(len(carry)),
                     [_meta(c) for c in carry], _flat_tree(len(xs)), len(xs), length, reverse)
    return _scan_bind(call, list(consts) + list(carry) + list(xs), save), call


def _scan_jvp(call, primals, tangents, save=True):
    """Forward mode: ``(outs, tangents)`` over the whole layout (carry, ys, carries);
    a tangent is None for integer leaves."""
    k, c, x = call.split(primals)
    tk, tc, tx = call.split(tangents)
    nk, nc, nx = call.nk, call.nc, call.nx
    dk = [i for i in range(nk) if tk[i] is not None]
    dx = [i for i in range(nx) if tx[i] is not None]
    dc = [j for j in range(nc) if _inexact(c[j])]
    tcs = [tc[j] if tc[j] is not None else _zeros(call.carry_metas[j]) for j in dc]

    def body(k2, c2, x2):
        kk, kt = list(k2[:nk]), list(k2[nk:])
        cc, ct = list(c2[:nc]), list(c2[nc:])
        xx, xt = list(x2[:nx]), list(x2[nx:])

        def f(kd, cd, xd):
            a, b, e = list(kk), list(cc), list(xx)
            for i, v in zip(dk, kd):
                a[i] = v
            for j, v in zip(dc, cd):
                b[j] = v
            for i, v in zip(dx, xd):
                e[i] = v
            return call.step(a, b, e)

        (cn, y), (tcn, ty) = _jvp(f, (_strip([kk[i] for i in dk]), _strip([cc[j] for j in dc]),
                                      _strip([xx[i] for i in dx])),
                                  (_strip(kt), _strip(ct), _strip(xt)))
        return (list(cn) + [tcn[j] for j in dc],
                list(y) + [t for t, v in zip(ty, y) if _inexact(v)])

    (carry, ys, cs), _ = _new_scan(
        body, call.who, k + [tk[i] for i in dk], c + tcs, x + [tx[i] for i in dx],
        call.length, call.reverse, save)
    if cs is None:  # (the carries were not asked for)
        cs = [None] * (2 * len(c))
    ny = len(call.ys.metas)
    dy = [j for j, (_, d) in enumerate(call.ys.metas) if d.kind in "fc"]
    outs = carry[:nc] + ys[:ny] + cs[:nc]
    t_carry, t_cs = [None] * nc, [None] * nc
    for j, t, s in zip(dc, carry[nc:], cs[nc:]):
        t_carry[j], t_cs[j] = t, s
    t_ys = [None] * ny
    for j, t in zip(dy, ys[ny:]):
        t_ys[j] = t
    return outs, t_carry + t_ys + t_cs


def _scan_jvp_rule(i):
    # per-argument form (code replaying rows one argument at a time); forward mode
    # itself runs one scan with every tangent (see _scan_bind)
    def rule(t, ans, *primals, _call, _save=True):
        tangents = [None] * len(primals)
        tangents[i] = t
        _, touts = _scan_jvp(_call, list(primals), tangents, _save)
        lay = _call.layout(_save)
        return lay.pack_traced([_zeros(m) if v is None else v
                                for v, m in zip(touts, lay.metas)])

    return rule


def _scan_vjp(g, ans, *args, wrt, _call, _save=True):
    """Reverse mode: a reverse scan whose body re-runs one step under vjp."""
    call = _call
    lay = call.layout(_save)
    nk, nc, nx = call.nk, call.nc, call.nx
    ny = len(call.ys.metas)
    gl = lay.unpack(g, cotangent=True)
    if _save:
        cs = lay.unpack(ans)[nc + ny:]
    else:  # a staged scan differentiated afterwards (grad(jit(f))): the carries again
        cs = _scan_bind(call, list(args), save=True)[2]
    k, c0, xs = call.split(args)
    wrt = set(wrt)
    dk = [i for i in range(nk) if i in wrt and _inexact(k[i])]
    dx = [i for i in range(nx) if nk + nc + i in wrt and _inexact(xs[i])]
    dc = [j for j in range(nc) if _inexact(c0[j])]
    dy = [j for j, (_, d) in enumerate(call.ys.metas) if d.kind in "fc"]
    g_carry = [gl[j] for j in dc]
    g_ys = [gl[nc + j] for j in dy]
    g_cs = [gl[nc + ny + j] for j in dc] if _save else []
    zeros_k = [np.zeros(shape_of(k[i]), dtype_of(k[i])) for i in dk]
    nd = len(dc)

    def body(k2, c2, x2):
        ct_c, ct_k = list(c2[:nd]), list(c2[nd:])
        c_t, x_t = list(x2[:nc]), list(x2[nc:nc + nx])
        gy, gc = list(x2[nc + nx:nc + nx + len(dy)]), list(x2[nc + nx + len(dy):])

        def f(d):
            a, b, e = list(k2), list(c_t), list(x_t)
            for i, v in zip(dk, d[:len(dk)]):
                a[i] = v
            for j, v in zip(dc, d[len(dk):len(dk) + nd]):
                b[j] = v
            for i, v in zip(dx, d[len(dk) + nd:]):
                e[i] = v
            cn, y = call.step(a, b, e)
            return [cn[j] for j in dc] + [y[j] for j in dy]

        primals = _strip([k2[i] for i in dk] + [c_t[j] for j in dc] + [x_t[i] for i in dx])
        cts = _pullback(f, primals, _strip(ct_c + gy))
        gk, gcn, gx = cts[:len(dk)], cts[len(dk):len(dk) + nd], cts[len(dk) + nd:]
        if gc:
            gcn = [a + b for a, b in zip(gcn, gc)]
        return (list(gcn) + [a + b for a, b in zip(ct_k, gk)],
                list(gx))

    (carry, ys, _), _ = _new_scan(body, call.who, k, g_carry + zeros_k,
                                  cs + xs + g_ys + g_cs, call.length, not call.reverse)
    out = _reverse_scan_cotangents(carry, ys, dc, dk, dx, nk, nc)
    return tuple(out[p] if p in out else np.zeros(shape_of(args[p]), dtype_of(args[p]))
                 for p in sorted(wrt))


# --------------------------------------------------------------------------
# scan under reverse mode: the step split into a forward step that saves
# residuals and a backward step that reads them (partial evaluation)
# --------------------------------------------------------------------------

#: Reverse mode through a staged scan keeps, for every step, the values its backward
#: step reads (the residuals) when their size per step is at most this many times the
#: size of one step's carry and scanned values; a larger set (a step that builds a big
#: intermediate from a small carry) is not kept, and each backward step recomputes its
#: forward step from the saved carry instead.
_RESIDUAL_FACTOR = 3


_ADD, _MATMUL, _TRANSPOSE, _SUM_TO_SHAPE = (
    PRIMITIVES[n] for n in ("add", "matmul", "transpose", "sum_to_shape"))

#: Rows whose result is a view of (or as cheap as) their input: a residual that such a
#: row makes from the carry or x is made again by the backward step from its input.
_VIEWS = frozenset({"transpose", "reshape", "broadcast_to", "diagonal", "flip", "real",
                    "getitem"})


class _Residuals:
    """One step of a scan, split for reverse mode.

    The step's vjp over ``(consts, carry, x, cotangents)`` is staged as one program
    (:func:`_split_step`) and cut in two: the equations that do not depend on the
    cotangents form ``fwd`` (``consts, carry, x -> new carry, y, residuals``), the
    others ``bwd`` (``consts, hoisted, x, residuals, cotangents of the new carry and
    of y -> cotangents of the inexact consts dk, carries dc and xs dx``).  The
    residuals are the values ``fwd`` computes and ``bwd`` reads (the carry itself
    among them when ``bwd`` reads it).  Not residuals: a value of the consts alone (a
    transposed weight matrix), which ``hoist`` (``consts -> hoisted``) computes once
    before the reverse scan, and a view of a residual or of ``x`` (``h.T``), which
    ``bwd`` takes again.  ``base`` is the bytes of one step's carry and ``x``, the
    unit of the memory policy (:data:`_RESIDUAL_FACTOR`).
    """

    __slots__ = ("fwd", "hoist", "bwd", "metas", "base", "dk", "dc", "dx", "dy", "call")

    def __init__(self, fwd, hoist, bwd, metas, base, dk, dc, dx, dy):
        self.fwd, self.hoist, self.bwd, self.metas = fwd, hoist, bwd, metas
        self.base = base
        self.dk, self.dc, self.dx, self.dy = dk, dc, dx, dy
        self.call = None  # the scan of the forward step (made once, see _forward_call)


def _joint_step_program(call, k, c, x):
    """The vjp of one step staged on plain values ``k, c, x`` (one step's): a
    Program over ``k + c + x + cotangents of (dc carries, dy outputs)`` whose outputs
    are ``new carry + y + cotangents of (dk, dc, dx)``; ``None`` when the step cannot
    be staged."""
    nk, nc, nx = call.nk, call.nc, call.nx
    dk = [i for i in range(nk) if _inexact(k[i])]
    dc = [j for j in range(nc) if _inexact(c[j])]
    dx = [i for i in range(nx) if _inexact(x[i])]
    staging = StagingTrace()
    try:
        sk = [staging.new_input(v) for v in k]
        sc = [staging.new_input(v) for v in c]
        sx = [staging.new_input(v) for v in x]
        rev = ReverseTrace()
        try:
            ins = [rev.new_input(v) for v in [sk[i] for i in dk] + [sc[j] for j in dc]
                   + [sx[i] for i in dx]]
            a, b, e = list(sk), list(sc), list(sx)
            for i, v in zip(dk, ins):
                a[i] = v
            for j, v in zip(dc, ins[len(dk):]):
                b[j] = v
            for i, v in zip(dx, ins[len(dk) + len(dc):]):
                e[i] = v
            cn, y = call.step(a, b, e)
            dy = [j for j, v in enumerate(y) if _inexact(v)]
            seeds = []
            with np.errstate(all="ignore"):  # (the cotangents traced with are zeros)
                for o in [cn[j] for j in dc] + [y[j] for j in dy]:
                    g = staging.new_input(np.zeros(shape_of(o), dtype_of(o)))
                    if isinstance(o, ReverseTracer) and o._trace is rev:
                        seeds.append((o.index, g))
                cts = rev.backward(seeds, consume=True) if seeds else [None] * len(rev.tape)
            wrt = [sk[i] for i in dk] + [sc[j] for j in dc] + [sx[i] for i in dx]
            grads = [np.zeros(shape_of(v), dtype_of(v)) if cts[t.index] is None
                     else cts[t.index] for v, t in zip(wrt, ins)]
            outs = [o.value if isinstance(o, ReverseTracer) and o._trace is rev else o
                    for o in list(cn) + list(y)]
        finally:
            rev.alive = False
            rev.thaw()
    except ConcretizationError:
        return None
    finally:
        staging.alive = False
    program, _ = staging.finish(outs + grads)
    if staging.closed_over:  # a traced value reached the step unannounced: the
        return None  # recomputing path reports it
    return program, dk, dc, dx, dy


def _split_step(call, k, c, x):
    """The step of ``call`` split for reverse mode (a :class:`_Residuals`), or ``None``
    when the recomputing reverse pass is kept: the step cannot be staged, it holds a
    ``checkpoint`` (which asks for recomputation), or its residuals are larger than
    :data:`_RESIDUAL_FACTOR` times its carry and scanned values."""
    joint = _joint_step_program(call, k, c, x)
    if joint is None:
        return None
    program, dk, dc, dx, dy = joint
    program = optimize(program)
    if any(e.prim.name.startswith("checkpoint(") for e in program.eqns):
        return None
    nk, nc, nx = call.nk, call.nc, call.nx
    ny = len(call.ys.metas)
    ins, outs = program.inputs, program.outputs
    in_k, in_c, in_x = ins[:nk], ins[nk:nk + nc], ins[nk + nc:nk + nc + nx]
    in_ct = ins[nk + nc + nx:]
    out_fwd, out_grads = outs[:nc + ny], outs[nc + ny:]
    # which values depend on the cotangents (backward), and which vary per step
    back = {v.id for v in in_ct}
    varying = {v.id for v in in_c + in_x}
    for e in program.eqns:
        ids = [a.id for a in e.inputs if type(a) is Var]
        if any(i in back for i in ids):
            back.add(e.out.id)
        elif any(i in varying for i in ids):
            varying.add(e.out.id)
    fwd_eqns = [e for e in program.eqns if e.out.id not in back]
    bwd_eqns = [e for e in program.eqns if e.out.id in back]
    # the forward values the backward step reads
    needed, seen = [], set()
    for a in [a for e in bwd_eqns for a in e.inputs] + out_grads:
        if type(a) is Var and a.id not in back and a.id not in seen:
            seen.add(a.id)
            needed.append(a)
    direct = {v.id for v in in_k + in_x}  # the reverse scan has these anyway
    made_by = {e.out.id: e for e in fwd_eqns}
    residuals, hoisted, again = [], [], set()  # kept per step / once / made again
    done = set(direct)
    stack = list(reversed(needed))
    while stack:
        v = stack.pop()
        if v.id in done:
            continue
        done.add(v.id)
        e = made_by.get(v.id)
        if e is not None and v.id not in varying:
            # from the consts only (W.T): computed once, before the reverse scan
            hoisted.append(v)
        elif e is not None and e.prim.name in _VIEWS and all(
                _size(a) <= _size(v) for a in e.inputs if type(a) is Var):
            # a view no smaller than what it views (x.T, h.T): made again per step
            again.add(v.id)
            stack.extend(a for a in e.inputs if type(a) is Var)
        else:
            residuals.append(v)
    base = max(sum(_size(v) for v in in_c + in_x), 1)
    if sum(_size(v) for v in residuals) > _RESIDUAL_FACTOR * base:
        return None
    kinds = program.kinds
    fwd = eliminate_dead_code(Program(in_k + in_c + in_x, fwd_eqns, out_fwd + residuals,
                                      kinds=kinds))
    hoist = eliminate_dead_code(Program(in_k, fwd_eqns, hoisted, kinds=kinds))
    bwd = eliminate_dead_code(Program(
        in_k + hoisted + in_x + residuals + in_ct,
        [e for e in fwd_eqns if e.out.id in again] + bwd_eqns, out_grads, kinds=kinds))
    return _Residuals(fwd, hoist, bwd,
                      [(tuple(v.shape), np.dtype(v.dtype)) for v in residuals], base,
                      dk, dc, dx, dy)


def _size(v):
    """The bytes of a staged value."""
    return int(np.prod(v.shape, dtype=np.int64)) * np.dtype(v.dtype).itemsize


def _forward_call(call, res):
    """The scan of the forward step with residuals: its ``ys`` are the step's ``y``
    followed by the residuals."""
    if res.call is None:
        nc, fwd = call.nc, res.fwd

        def forward_step(consts, c, x):
            out = fwd.interpret(*consts, *c, *x)
            return out[:nc], out[nc:]

        forward_step.__name__ = f"forward step of {call.body!r}"
        res.call = _ScanCall(_Fn(forward_step), call.who, call.nk, _flat_tree(nc),
                             call.carry_metas, _flat_tree(call.nx), call.nx, call.length,
                             call.reverse)
    return res.call


def _scan_with_residuals(call, leaves, top):
    """``(carry, ys, None)`` of a scan under reverse mode (``top``) that keeps the
    residuals of every step, or ``None`` to take the recomputing path.  Taken when
    the scan's values below ``top`` are plain or staged by fgrad.jit (so nothing
    differentiates the residuals themselves: under higher-order derivatives the
    recomputing path runs, whose rules nest)."""
    if ABSTRACT_PLACEHOLDER[0] is not None:  # fgrad.eval_shape: no values to stage
        return None  # the step from (the recomputing path has a shape rule)
    reals = []
    for v in leaves:
        if isinstance(v, ReverseTracer) and v._trace is top:
            v = v.value
        if isinstance(v, StagingTracer):
            v = v.concrete
        if isinstance(v, Tracer):
            return None
        reals.append(v)
    res = call.residuals
    if res is None:
        k, c, xs = call.split(reals)
        t = call.length - 1 if call.reverse else 0
        res = call.residuals = _split_step(call, k, c, [x[t] for x in xs]) or False
    if res is False:
        return None
    fcall = _forward_call(call, res)
    record = _ResidualRecord(call, res)
    packed = top.process(_SCAN_RES, tuple(leaves), {"_call": record})
    nc, ny = call.nc, len(call.ys.metas)
    out = fcall.layout(False).unpack(packed, stop=nc + ny)
    return out[:nc], out[nc:], None


class _ResidualRecord:
    """One scan recorded by reverse mode with its residuals: ``full`` is the forward
    scan's whole output (final carry, ys, residual stacks), one level below reverse
    mode; the recorded primitive's output is only its first part (carry and ys), so
    that reverse mode's cotangent of it is not as large as the residual stacks."""

    __slots__ = ("call", "res", "full")

    def __init__(self, call, res):
        self.call, self.res, self.full = call, res, None

    def __repr__(self):
        return repr(self.call)


def _scan_res_forward(*leaves, _call):
    """The forward scan with residuals, one level down (plain values, or the staging
    trace of fgrad.jit, where it is an ordinary scan with ordinary rules)."""
    record = _call
    call, fcall = record.call, record.res.call
    full = record.full = _SCAN.fn(*leaves, _call=fcall, _save=False)
    lay = fcall.layout(False)
    start, n = lay.spans[call.nc + len(call.ys.metas) - 1]
    return full[:start + n]


def _scan_res_vjp(g, ans, *args, wrt, _call):
    """Reverse mode from the residuals: a reverse scan of the backward step alone."""
    call, res = _call.call, _call.res
    fcall = res.call
    lay = fcall.layout(False)
    nk, nc, nx = call.nk, call.nc, call.nx
    ny = len(call.ys.metas)
    gl = lay.unpack(g, cotangent=True, stop=nc + ny)
    stacks = lay.unpack(_call.full, first=nc + ny)
    k, _, xs = call.split(args)
    wrt = set(wrt)
    dk = [i for i in res.dk if i in wrt]
    dx = [i for i in res.dx if nk + nc + i in wrt]
    pick_k = [res.dk.index(i) for i in dk]
    pick_x = [res.dx.index(i) for i in dx]
    dc, nd, nr, ndk = res.dc, len(res.dc), len(res.metas), len(res.dk)
    outs = res.bwd.outputs
    # a const whose cotangent is a zero constant (the body does not use it) is not
    # accumulated over the steps
    live = [(p, i) for p, i in zip(pick_k, dk)
            if not (type(outs[p]) is Literal and not np.any(outs[p].value))]
    pick_k, dk = [p for p, _ in live], [i for _, i in live]
    # the backward step computes only the cotangents asked for
    bwd = res.bwd
    nkh = nk + len(res.hoist.outputs)
    # A const's cotangent that is a sum of (stacked value).T @ (per-step factor) terms
    # (W's h.T @ delta) or of reductions of per-step factors (b's sum of delta) is not
    # accumulated step by step: the steps stack the factors, and one matmul or sum over
    # all the steps makes the total afterwards (the same sum, in another order).
    stacked = {v.id: ("x", i) for i, v in enumerate(bwd.inputs[nkh:nkh + nx])}
    stacked.update({v.id: ("r", j) for j, v in
                    enumerate(bwd.inputs[nkh + nx:nkh + nx + nr])})
    made = {e.out.id: e for e in bwd.eqns}
    terms = [_summed_terms(outs[p], made, stacked) for p in pick_k]
    factors = list({t[2].id: t[2] for ts in terms if ts for t in ts}.values())
    if sum(_size(v) for v in factors) > _RESIDUAL_FACTOR * res.base:  # (stacked per step)
        terms, factors = [None] * len(terms), []
    step_k = [p for p, ts in zip(pick_k, terms) if not ts]
    bwd = eliminate_dead_code(Program(
        bwd.inputs, bwd.eqns,
        [outs[p] for p in step_k] + outs[ndk:ndk + nd] + [outs[ndk + nd + p] for p in pick_x]
        + factors, kinds=bwd.kinds))
    nks = len(step_k)

    def backward_step(k2, c2, x2):
        ct_c, acc = list(c2[:nd]), list(c2[nd:])
        out = bwd.interpret(*k2, *x2[:nx], *x2[nx:nx + nr], *ct_c, *x2[nx + nr:])
        gk, gc, gx = out[:nks], out[nks:nks + nd], out[nks + nd:]
        return list(gc) + [a + b for a, b in zip(acc, gk)], gx

    backward_step.__name__ = f"backward step of {call.body!r}"
    summed = [i for i, ts in zip(dk, terms) if ts]
    summed_terms = [ts for ts in terms if ts]
    dk = [i for i, ts in zip(dk, terms) if not ts]
    zeros_k = [np.zeros(shape_of(k[i]), dtype_of(k[i])) for i in dk]
    # what the backward step reads of the consts alone, computed once
    hoisted = res.hoist.interpret(*k) if res.hoist.outputs else []
    (carry, ys, _), _ = _new_scan(backward_step, call.who, list(k) + hoisted,
                                  [gl[j] for j in dc] + zeros_k,
                                  list(xs) + stacks + [gl[nc + j] for j in res.dy],
                                  call.length, not call.reverse)
    out = _reverse_scan_cotangents(carry, ys, dc, dk, dx, nk, nc)
    stacked_factors = {v.id: s for v, s in zip(factors, ys[len(dx):])}
    for i, ts in zip(summed, summed_terms):
        total = None
        for kind, where, factor, eqn in ts:
            f = stacked_factors[factor.id]
            if kind == "matmul":
                r = xs[where[1]] if where[0] == "x" else stacks[where[1]]
                r = fnp.reshape(r, (-1, shape_of(r)[-1]))
                term = fnp.matmul(fnp.transpose(r), fnp.reshape(f, (-1, shape_of(f)[-1])))
            else:  # a reduction to the const's shape, of the sum over the steps
                term = eqn.prim.fn(fnp.sum(f, axis=0), **eqn.params)
            total = term if total is None else total + term
        out[i] = total
    return tuple(out[p] if p in out else np.zeros(shape_of(args[p]), dtype_of(args[p]))
                 for p in sorted(wrt))


def _summed_terms(o, made, stacked):
    """How a const's cotangent ``o`` in the backward step is made, when it is a sum of
    terms that can be summed over the steps at once: a list of ``("matmul", (kind,
    position) of the stacked value r, the factor d, eqn)`` for ``transpose(r) @ d``
    (r a scanned value or a residual, both 2-d) and ``("sum", None, d, eqn)`` for
    ``sum_to_shape(d)``; ``None`` otherwise."""
    if type(o) is not Var:
        return None
    e = made.get(o.id)
    if e is None:
        return None
    if e.prim is _ADD and len(e.inputs) == 2 and all(type(a) is Var for a in e.inputs):
        if e.inputs[0].shape != e.inputs[1].shape:
            return None
        parts = [_summed_terms(a, made, stacked) for a in e.inputs]
        return None if None in parts else parts[0] + parts[1]
    if (e.prim is _MATMUL and len(e.inputs) == 2 and not e.params
            and all(type(a) is Var and len(a.shape) == 2 for a in e.inputs)):
        a, d = e.inputs
        t = made.get(a.id)
        if (t is not None and t.prim is _TRANSPOSE and type(t.inputs[0]) is Var
                and t.inputs[0].id in stacked and d.id not in stacked
                and tuple(int(i) for i in t.params.get("axes") or (1, 0)) == (1, 0)):
            return [("matmul", stacked[t.inputs[0].id], d, e)]
    if e.prim is _SUM_TO_SHAPE and len(e.inputs) == 1 and type(e.inputs[0]) is Var:
        return [("sum", None, e.inputs[0], e)]
    return None


# Reverse mode's record of a scan that keeps residuals.  Only the reverse trace that
# chose the path sees it (``ReverseTrace.process`` runs ``fn`` one level down, which is
# the ordinary scan of the forward step); it never enters a program.
_SCAN_RES = Primitive(
    "lax.scan", _scan_res_forward,
    vjp_joint=_scan_res_vjp,
    reads=("ans", "args"),  # the residuals (in the output), the consts and the xs
    test={"skip": "fgrad.lax's primitive, made per call; tested in tests/test_lax.py"},
)
_SCAN_RES.fn = _SCAN_RES.call = _scan_res_forward


def _reverse_scan_cotangents(carry, ys, dc, dk, dx, nk, nc):
    """``{argument position: cotangent}`` from a reverse scan whose carry holds the
    carries' cotangents (``dc``) then the consts' (``dk``) and whose ys are the xs'
    (``dx``)."""
    nd = len(dc)
    out = {}
    for j, v in zip(dc, carry[:nd]):
        out[nk + j] = v
    for i, v in zip(dk, carry[nd:]):
        out[i] = v
    for i, v in zip(dx, ys):
        out[nk + nc + i] = v
    return out


def _scan_batch(vals, dims, _call, _save=True):
    """vmap: a scan of the vmapped body; every carry leaf is batched up front (a carry
    the body makes batched then needs no second pass)."""
    call = _call
    size = _batch_size(vals, dims)
    k, c, xs = call.split(vals)
    kd, _, xd = call.split(dims)
    k = [_to_front(v, d) for v, d in zip(k, kd)]
    k_axes = tuple(None if d is None else 0 for d in kd)
    c = [_broadcast_front(v, d, size) for v, d in zip(c, call.split(dims)[1])]
    # the scanned axis stays first, the batch axis goes second
    xs = [v if d is None else _moveaxis(v, d, 1) for v, d in zip(xs, xd)]
    x_axes = tuple(None if d is None else 0 for d in xd)

    def one(kk, cc, xx):
        return call.step(list(kk), list(cc), list(xx))

    def body(k2, c2, x2):
        return vmap(one, in_axes=(k_axes, 0, x_axes), axis_size=size)(tuple(k2), tuple(c2), tuple(x2))

    (carry, ys, cs), inner = _new_scan(body, call.who, k, c, xs, call.length, call.reverse,
                                       save=_save)
    if call.ys.tree is None:  # the layout of one example, from the batched run
        call.ys.tree = inner.ys.tree
        call.ys.metas = [(s[1:], d) for s, d in inner.ys.metas]
    ys = [fnp.moveaxis(v, 1, 0) for v in ys]
    cs = [fnp.moveaxis(v, 1, 0) for v in cs] if _save else []
    return call.layout(_save).pack_batched(list(carry) + ys + cs, size), 0


# --------------------------------------------------------------------------
# shape rules (fgrad.eval_shape): the packed output's size and dtype, with the
# body or branches run once on abstract values (fgrad.staging.AbstractTrace)
# --------------------------------------------------------------------------


def _abstract(vals, drop_first=False):
    """Values of the running abstract trace for the abstract ``vals`` (constants stay)."""
    make = ABSTRACT_PLACEHOLDER[0]
    return [make(_shapes.shape(v)[1:] if drop_first else _shapes.shape(v), _shapes.dtype(v))
            if _shapes.is_abstract(v) else (v[0] if drop_first else v) for v in vals]


def _packed(layout):
    size = layout.spans[-1][0] + layout.spans[-1][1] if layout.spans else 0
    return (size,), layout.dtype


def _scan_shape(*leaves, _call, _save=True):
    call = _call
    if call.ys.tree is None:  # the shapes of ys: one step of the body, abstractly
        k, c, xs = call.split(leaves)
        call.step(_abstract(k), [ABSTRACT_PLACEHOLDER[0](s, d) for s, d in call.carry_metas],
                  _abstract(xs, drop_first=True))
    return _packed(call.layout(_save))


def _while_shape(*leaves, _call):
    return _packed(_call.layout())


def _switch_shape(*leaves, _call):
    call = _call
    _, consts, ops = call.split(leaves)
    if call.out.tree is None:  # every branch, abstractly: they must agree
        consts, ops = _abstract(consts), _abstract(ops)
        for i in range(len(call.branches)):
            call.run(i, consts, ops)
    return _packed(call.layout())


_SCAN = Primitive(
    "lax.scan", _scan_impl,
    jvp=_PositionRules(_scan_jvp_rule),
    vjp_joint=_scan_vjp,
    reads=("ans", "args"),  # the stacked carries (in the output) and the inputs
    batch=_scan_batch,
    test={"skip": "fgrad.lax's primitive, made per call; tested in tests/test_lax.py"},
    shape=_scan_shape,
)


def _check_function(f, who, what):
    if not callable(f):
        raise TypeError(f"{who}: {what} must be a function, not {type(f).__name__}.")


def _scan(f, init, xs, length, reverse, who):
    _check_function(f, who, "the body f")
    if not isinstance(reverse, (bool, np.bool_)):
        raise TypeError(f"{who}: reverse must be True or False, not {reverse!r}.")
    c_leaves, carry_tree = _leaves(init, who, "init")
    x_leaves, x_tree = _leaves(xs, who, "xs")
    if length is not None:
        if isinstance(length, (bool, np.bool_)) or not isinstance(length, (int, np.integer)):
            raise TypeError(f"{who}: length must be a Python int, not {type(length).__name__}"
                            " (a traced length cannot set the number of steps).")
        if length < 0:
            raise ValueError(f"{who}: length must be >= 0, not {length}.")
        length = int(length)
    lengths = set()
    for x in x_leaves:
        shape = shape_of(x)
        if not shape:
            raise ValueError(f"{who}: every leaf of xs needs a leading axis to scan over; "
                             "one is a scalar (0-d). (A Python list is a pytree of its "
                             "entries: pass np.asarray(xs) to scan over its elements.)")
        lengths.add(shape[0])
    if length is None:
        if not lengths:
            raise ValueError(f"{who}: with xs=None (or no arrays in xs) give length=, the "
                             "number of steps.")
        if len(lengths) > 1:
            raise ValueError(f"{who}: the leaves of xs have different leading lengths "
                             f"{sorted(lengths)}; they must agree.")
        length = lengths.pop()
    elif lengths and lengths != {length}:
        raise ValueError(f"{who}: length={length} does not match the leading length of xs "
                         f"{sorted(lengths)}.")
    body = _UserFun(f)
    call = _ScanCall(body, who, len(body.consts), carry_tree, [_meta(c) for c in c_leaves],
                     x_tree, len(x_leaves), length, bool(reverse))
    carry, ys, _ = _scan_bind(call, list(body.consts) + c_leaves + x_leaves)
    return carry_tree.unflatten(carry), call.ys.tree.unflatten(ys)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``f`` over the leading axis of ``xs``, carrying state (``jax.lax.scan``).

    ``f(carry, x) -> (carry, y)``.  Returns ``(carry, ys)``: the final carry and
    the ``y`` of every step stacked along a new leading axis.  In Python::

        def scan(f, init, xs, length=None):
            carry, ys = init, []
            for x in xs:                # or range(length) when xs is None
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(ys)

    ``init``, ``xs`` and the outputs may be pytrees; ``xs=None`` with
    ``length=n`` runs ``n`` steps with ``x = None``; ``reverse=True`` runs from
    the last element to the first (``ys`` stays in the order of ``xs``).  The
    carry must keep its structure, shapes and dtypes.  ``unroll`` is accepted
    for JAX compatibility and does not change anything.

    Reverse mode through a scan of 16 steps or more keeps, for every step, the
    values its backward step reads (its *residuals*; for ``tanh(h @ W + x)``, the
    carry ``h`` and ``1 - tanh**2``), and its reverse loop runs only the backward
    step: the vjp of one step is staged once and split in two, a forward step that
    saves the residuals and a backward step that reads them.  The cotangent of a
    weight the body multiplies (``h.T @ delta`` of every step) is made by one
    matmul over all the steps after the loop.  Memory is O(steps x (carry + x)):
    this path is taken only when a step's residuals are at most three times the
    size of its carry and ``x``.  Otherwise (and for shorter scans, under
    higher-order derivatives, and when the body calls :func:`fgrad.checkpoint`,
    which asks for recomputation) reverse mode stores the carry of every step and
    the reverse loop re-runs each step under ``vjp``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> lax.scan(lambda c, x: (c + x, c * x), 0.0, fnp.arange(1.0, 4.0))
        (np.float64(6.0), array([0., 2., 9.]))
        >>> lax.scan(lambda c, _: (c * 2, c), 1, None, length=4)
        (np.int64(16), array([1, 2, 4, 8]))
    """
    if isinstance(unroll, (bool, np.bool_)):
        unroll = 1
    if not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise TypeError(f"lax.scan: unroll must be a positive int (or a bool), not {unroll!r}.")
    return _scan(f, init, xs, length, reverse, "lax.scan")


# --------------------------------------------------------------------------
# while_loop
# --------------------------------------------------------------------------


class _WhileCall:
    __slots__ = ("cond", "body", "who", "nq", "nb", "carry_tree", "carry_metas", "reverse_hint")

    def __init__(self, cond, body, who, nq, nb, carry_tree, carry_metas, reverse_hint):
        self.cond, self.body, self.who = cond, body, who
        self.nq, self.nb = nq, nb
        self.carry_tree, self.carry_metas = carry_tree, carry_metas
        self.reverse_hint = reverse_hint

    def __repr__(self):
        return f"<{self.who} of {self.cond!r}, {self.body!r}>"

    def split(self, leaves):
        nq, nb = self.nq, self.nb
        return list(leaves[:nq]), list(leaves[nq:nq + nb]), list(leaves[nq + nb:])

    def layout(self):
        return _Layout(self.carry_metas)

    def pred_fn(self, fun, c, unwrap=None):
        p = fun(self.carry_tree.unflatten(list(c)))
        if unwrap is not None:
            p = unwrap([p])[0]
        p = _leaf_value(p, self.who, "the value cond_fun returns")
        if shape_of(p) != () or dtype_of(p).kind not in "biuf":
            raise TypeError(
                f"{self.who}: cond_fun must return a scalar boolean, but it returned shape "
                f"{shape_of(p)} and dtype {dtype_of(p)}; reduce it (e.g. fnp.all(...)).")
        return p

    def body_fn(self, fun, c, unwrap=None):
        out = fun(self.carry_tree.unflatten(list(c)))
        leaves, tree = tree_flatten(out)
        if unwrap is not None:
            leaves = unwrap(leaves)
        leaves = _as_leaves(leaves, self.who, "the carry")
        _check_leaves(leaves, tree, self.carry_metas, self.carry_tree, self.who,
                      "the carry body_fun returns",
                      "The carry must keep the structure, shapes and dtypes of `init_val` "
                      "(give `init_val` the dtype the body computes, e.g. 0.0 instead of 0).")
        return leaves

    def step(self, kb, c):
        return self.body_fn(self.body.bind(kb), c)

    def pred(self, kq, c):
        return self.pred_fn(self.cond.bind(kq), c)


def _while_impl(*leaves, _call):
    call = _call
    kq, kb, c = call.split(leaves)
    trace = _BodyTrace(call.who)
    try:
        cond_fun = call.cond.bind(trace.wrap(kq))
        body_fun = call.body.bind(trace.wrap(kb))
        while bool(call.pred_fn(cond_fun, trace.wrap(c), trace.unwrap)):
            c = call.body_fn(body_fun, trace.wrap(c), trace.unwrap)
    finally:
        trace.alive = False
    return call.layout().pack(c, call.who)


def _reverse_error(call):
    return TypeError(
        f"{call.who} cannot be differentiated in reverse mode (grad, vjp, jacrev): its "
        "number of steps is only known when it has run, so reverse mode cannot store "
        "the steps it would have to go back through (JAX refuses it for the same "
        f"reason). {call.reverse_hint} Forward mode (jvp, jacfwd) works."
    )


def _while_jvp(call, primals, tangents):
    kq, kb, c = call.split(primals)
    _, tb, tc = call.split(tangents)
    nq, nb, nc = call.nq, call.nb, len(call.carry_metas)
    db = [i for i in range(nb) if tb[i] is not None]
    dc = [j for j in range(nc) if _inexact(c[j])]
    tcs = [tc[j] if tc[j] is not None else _zeros(call.carry_metas[j]) for j in dc]

    def cond2(k2, c2):
        return call.pred(list(k2[:nq]), list(c2[:nc]))

    def body2(k2, c2):
        kk, kt = list(k2[:nb]), list(k2[nb:])
        cc, ct = list(c2[:nc]), list(c2[nc:])

        def f(kd, cd):
            a, b = list(kk), list(cc)
            for i, v in zip(db, kd):
                a[i] = v
            for j, v in zip(dc, cd):
                b[j] = v
            return call.step(a, b)

        cn, tcn = _jvp(f, (_strip([kk[i] for i in db]), _strip([cc[j] for j in dc])),
                       (_strip(kt), _strip(ct)))
        return list(cn) + [tcn[j] for j in dc]

    out = _new_while(cond2, body2, call, kq, kb + [tb[i] for i in db], c + tcs)
    touts = [None] * nc
    for j, t in zip(dc, out[nc:]):
        touts[j] = t
    return out[:nc], touts


def _new_while(cond, body, like, kq, kb, carry):
    call = _WhileCall(_Fn(cond), _Fn(body), like.who, len(kq), len(kb),
                      _flat_tree(len(carry)), [_meta(c) for c in carry], like.reverse_hint)
    return _while_bind(call, list(kq) + list(kb) + list(carry))


def _while_jvp_rule(i):
    def rule(t, ans, *primals, _call):
        tangents = [None] * len(primals)
        tangents[i] = t
        _, touts = _while_jvp(_call, list(primals), tangents)
        lay = _call.layout()
        return lay.pack_traced([_zeros(m) if v is None else v for v, m in zip(touts, lay.metas)])

    return rule


def _while_vjp(g, ans, *args, wrt, _call):
    if any(p >= _call.nq for p in wrt):
        raise _reverse_error(_call)
    # only values cond_fun reads: the trip count does not change with them (almost
    # everywhere), so their derivative is zero
    return tuple(np.zeros(shape_of(args[p]), dtype_of(args[p])) for p in wrt)


def _while_batch(vals, dims, _call):
    """vmap: loop while any example's predicate holds; finished examples keep their carry."""
    call = _call
    size = _batch_size(vals, dims)
    kq, kb, c = call.split(vals)
    dq, db, dc = call.split(dims)
    kq = [_to_front(v, d) for v, d in zip(kq, dq)]
    kb = [_to_front(v, d) for v, d in zip(kb, db)]
    q_axes = tuple(None if d is None else 0 for d in dq)
    b_axes = tuple(None if d is None else 0 for d in db)
    c = [_broadcast_front(v, d, size) for v, d in zip(c, dc)]
    nq, nc = call.nq, len(c)

    def pred_one(kk, cc):
        return call.pred(list(kk), list(cc))

    def step_one(kk, cc):
        return call.step(list(kk), list(cc))

    def preds(k, cc):
        p = vmap(pred_one, in_axes=(q_axes, 0), axis_size=size)(tuple(k), tuple(cc))
        return fnp.astype(p, bool)

    def cond2(k2, c2):
        return fnp.any(c2[nc])

    def body2(k2, c2):
        k_q, k_b = k2[:nq], k2[nq:]
        cc, p = list(c2[:nc]), c2[nc]
        new = vmap(step_one, in_axes=(b_axes, 0), axis_size=size)(tuple(k_b), tuple(cc))
        cc = [_where_batched(p, a, b) for a, b in zip(new, cc)]
        return cc + [fnp.logical_and(p, preds(k_q, cc))]

    out = _new_while(cond2, body2, call, [], kq + kb, c + [preds(kq, c)])
    return call.layout().pack_batched(out[:nc], size), 0


_WHILE = Primitive(
    "lax.while_loop", _while_impl,
    jvp=_PositionRules(_while_jvp_rule),
    vjp_joint=_while_vjp,
    reads=("ans", "args"),  # (all of it: a failing rule's own error is then shown as it is)
    batch=_while_batch,
    test={"skip": "fgrad.lax's primitive, made per call; tested in tests/test_lax.py"},
    shape=_while_shape,
)


def _while_bind(call, leaves):
    top = top_trace(leaves)
    if top is None:
        return call.layout().unpack(_WHILE.fn(*leaves, _call=call))
    kq, kb, c = call.split(leaves)
    for x in kb + c:  # values the loop carries or its body reads: no reverse mode
        if isinstance(x, Tracer) and isinstance(x._trace, ReverseTrace) and _inexact(x):
            raise _reverse_error(call)
    if isinstance(top, ForwardTrace):
        primals, tangents = top.split(leaves, lambda x: (x.value, x.tangent),
                                      lambda x: (x, None))
        outs, touts = _while_jvp(call, primals, tangents)
        if _traced(tangents):  # the joint loop made the values depend on the tangents
            outs = _while_bind(call, primals)
        return [o if t is None else ForwardTracer(o, top, t) for o, t in zip(outs, touts)]
    return call.layout().unpack(_WHILE.fn(*leaves, _call=call))


def _while(cond_fun, body_fun, init_val, who, hint):
    _check_function(cond_fun, who, "cond_fun")
    _check_function(body_fun, who, "body_fun")
    c_leaves, tree = _leaves(init_val, who, "init_val")
    cond, body = _UserFun(cond_fun), _UserFun(body_fun)
    call = _WhileCall(cond, body, who, len(cond.consts), len(body.consts), tree,
                      [_meta(c) for c in c_leaves], hint)
    out = _while_bind(call, list(cond.consts) + list(body.consts) + c_leaves)
    return tree.unflatten(out)


def while_loop(cond_fun, body_fun, init_val):
    """Run ``body_fun`` while ``cond_fun`` holds (``jax.lax.while_loop``).

    In Python::

        def while_loop(cond_fun, body_fun, init_val):
            val = init_val
            while cond_fun(val):
                val = body_fun(val)
            return val

    ``init_val`` may be a pytree; ``body_fun`` must keep its structure, shapes and
    dtypes, and ``cond_fun`` must return a scalar boolean.  Forward mode (``jvp``,
    ``jacfwd``) runs the loop over (value, tangent) pairs.  Reverse mode (``grad``,
    ``vjp``) raises a TypeError: the number of steps is unknown until the loop has
    run, so there is nothing to reverse through; use :func:`scan` or
    :func:`fori_loop` with Python-int bounds instead.  Under ``vmap`` every example
    runs for its own number of steps.

    Example:
        >>> import fgrad
        >>> from fgrad import lax
        >>> lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1.0))
        (np.int64(5), np.float64(32.0))
        >>> fgrad.jvp(lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * 3.0, x),
        ...           (1.0,), (1.0,))
        (np.float64(27.0), np.float64(27.0))
    """
    return _while(cond_fun, body_fun, init_val, "lax.while_loop",
                  "Use lax.scan, or lax.fori_loop with Python-int bounds, where the number "
                  "of steps is known in advance.")


# --------------------------------------------------------------------------
# fori_loop
# --------------------------------------------------------------------------


def _static_int(v, who, what):
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{who}: {what} must be an integer, not a bool.")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, np.ndarray) and v.shape == () and v.dtype.kind in "iu":
        return int(v)
    raise TypeError(f"{who}: {what} must be an integer, not {type(v).__name__} {v!r:.40}.")


def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)`` (``jax.lax.fori_loop``).

    With Python-int (or numpy integer) bounds this is a :func:`scan` over
    ``i``, and every transform works, reverse mode included.  With traced bounds
    (under ``vmap``, or integer values computed by a transform) it is a
    :func:`while_loop`: forward mode and ``vmap`` work (each example runs its own
    number of steps), reverse mode raises a TypeError asking for static bounds.
    ``unroll`` is accepted for JAX compatibility and changes nothing.

    Example:
        >>> import fgrad
        >>> from fgrad import lax
        >>> lax.fori_loop(0, 4, lambda i, v: v + i, 0)          # 0 + 0 + 1 + 2 + 3
        np.int64(6)
        >>> float(fgrad.grad(lambda x: lax.fori_loop(0, 3, lambda i, v: v * x, 1.0))(2.0))
        12.0
    """
    who = "lax.fori_loop"
    _check_function(body_fun, who, "body_fun")
    if not isinstance(lower, Tracer) and not isinstance(upper, Tracer):
        lo, hi = _static_int(lower, who, "lower"), _static_int(upper, who, "upper")
        dtype = np.result_type(*(np.asarray(v).dtype for v in (lower, upper)))
        idx = np.arange(lo, max(lo, hi), dtype=dtype)
        carry, _ = _scan(lambda c, i: (body_fun(i, c), None), init_val, idx, None, False, who)
        return carry
    for v, what in ((lower, "lower"), (upper, "upper")):
        if shape_of(v) != () or dtype_of(v).kind not in "iu":
            raise TypeError(f"{who}: {what} must be a scalar integer, but it has shape "
                            f"{shape_of(v)} and dtype {dtype_of(v)}.")
    i0 = lower if isinstance(lower, Tracer) else np.asarray(lower, dtype_of(upper))[()]
    out = _while(lambda s: s[0] < upper, lambda s: (s[0] + 1, body_fun(s[0], s[1])),
                 (i0, init_val), who,
                 "fori_loop runs as a while_loop here because its bounds lower/upper are "
                 "traced values; pass Python ints as lower and upper (static bounds) to "
                 "get a scan, which reverse mode can go through.")
    return out[1]


# --------------------------------------------------------------------------
# cond and switch
# --------------------------------------------------------------------------


class _SwitchCall:
    __slots__ = ("branches", "who", "counts", "op_tree", "out", "nk")

    def __init__(self, branches, who, counts, op_tree, nk=None):
        # counts: the number of constants of each branch, or None when every branch
        # reads all ``nk`` of them (the branches rules make)
        self.branches, self.who, self.counts, self.op_tree = branches, who, counts, op_tree
        self.nk = sum(counts) if counts is not None else nk
        self.out = _Out()

    def __repr__(self):
        return f"<{self.who} of {len(self.branches)} branches>"

    def split(self, leaves):
        """``(index, consts of every branch, operands)``."""
        n = self.nk
        return leaves[0], list(leaves[1:1 + n]), list(leaves[1 + n:])

    def consts_of(self, i, consts):
        if self.counts is None:
            return consts
        start = sum(self.counts[:i])
        return consts[start:start + self.counts[i]]

    def run_fn(self, i, fun, ops, unwrap=None):
        out = fun(*self.op_tree.unflatten(list(ops)))
        leaves, tree = tree_flatten(out)
        if unwrap is not None:
            leaves = unwrap(leaves)
        leaves = _as_leaves(leaves, self.who, "the output of a branch")
        self.out.learn(leaves, tree, self.who, "the output", branch=i)
        return leaves

    def run(self, i, consts, ops):
        return self.run_fn(i, self.branches[i].bind(self.consts_of(i, consts)), ops)

    def layout(self):
        return _Layout(self.out.metas)


def _clamp(i, n):
    return min(max(int(i), 0), n - 1)


def _switch_impl(*leaves, _call):
    call = _call
    index, consts, ops = call.split(leaves)
    i = _clamp(index, len(call.branches))
    trace = _BodyTrace(call.who)
    try:
        fun = call.branches[i].bind(trace.wrap(call.consts_of(i, consts)))
        out = call.run_fn(i, fun, trace.wrap(ops), trace.unwrap)
    finally:
        trace.alive = False
    return call.layout().pack(out, call.who)


def _switch_jvp(call, primals, tangents):
    index, consts, ops = call.split(primals)
    _, tk, to = call.split(tangents)
    dk = [i for i, t in enumerate(tk) if t is not None]
    do = [i for i, t in enumerate(to) if t is not None]
    nk = len(consts)

    def branch(i):
        def run(k2, *o2):
            kk, kt = list(k2[:nk]), list(k2[nk:])
            oo, ot = list(o2[:len(ops)]), list(o2[len(ops):])

            def f(kd, od):
                a, b = list(kk), list(oo)
                for j, v in zip(dk, kd):
                    a[j] = v
                for j, v in zip(do, od):
                    b[j] = v
                return call.run(i, a, b)

            out, tout = _jvp(f, (_strip([kk[j] for j in dk]), _strip([oo[j] for j in do])),
                             (_strip(kt), _strip(ot)))
            return list(out) + [t for t, v in zip(tout, out) if _inexact(v)]

        run.__name__ = f"jvp of branch {i}"
        return run

    out = _new_switch(index, [branch(i) for i in range(len(call.branches))], call.who,
                      consts + [tk[j] for j in dk], ops + [to[j] for j in do])
    n = len(call.out.metas)
    touts = [None] * n
    for j, t in zip([j for j, (_, d) in enumerate(call.out.metas) if d.kind in "fc"], out[n:]):
        touts[j] = t
    return out[:n], touts


def _new_switch(index, fns, who, consts, ops):
    """A switch of rule-made branches ``fn(consts, *ops)``, each reading every constant."""
    call = _SwitchCall([_Fn(f) for f in fns], who, None, _flat_tree(len(ops)), len(consts))
    return _switch_bind(call, [index] + list(consts) + list(ops))


def _switch_jvp_rule(i):
    def rule(t, ans, *primals, _call):
        tangents = [None] * len(primals)
        tangents[i] = t
        _, touts = _switch_jvp(_call, list(primals), tangents)
        lay = _call.layout()
        return lay.pack_traced([_zeros(m) if v is None else v for v, m in zip(touts, lay.metas)])

    return rule


def _switch_vjp(g, ans, *args, wrt, _call):
    """Reverse mode: a switch of the branches' vjps (each re-runs its branch forward)."""
    call = _call
    index, consts, ops = call.split(args)
    nk = len(consts)
    lay = call.layout()
    gl = lay.unpack(g, cotangent=True)
    dout = [j for j, (_, d) in enumerate(lay.metas) if d.kind in "fc"]
    g_out = [gl[j] for j in dout]
    wrt = set(wrt)
    if 0 in wrt:
        raise TypeError(f"{call.who}: the index (predicate) has no derivative.")
    dk = [j for j in range(nk) if 1 + j in wrt and _inexact(consts[j])]
    do = [j for j in range(len(ops)) if 1 + nk + j in wrt and _inexact(ops[j])]

    def branch(i):
        def run(k2, *o2):
            kk, oo, gg = list(k2), list(o2[:len(ops)]), list(o2[len(ops):])

            def f(d):
                a, b = list(kk), list(oo)
                for j, v in zip(dk, d[:len(dk)]):
                    a[j] = v
                for j, v in zip(do, d[len(dk):]):
                    b[j] = v
                out = call.run(i, a, b)
                return [out[j] for j in dout]

            return _pullback(f, _strip([kk[j] for j in dk] + [oo[j] for j in do]), _strip(gg))

        run.__name__ = f"vjp of branch {i}"
        return run

    out = _new_switch(index, [branch(i) for i in range(len(call.branches))], call.who,
                      consts, ops + g_out)
    res = {}
    for j, v in zip(dk, out[:len(dk)]):
        res[1 + j] = v
    for j, v in zip(do, out[len(dk):]):
        res[1 + nk + j] = v
    return tuple(res[p] if p in res else np.zeros(shape_of(args[p]), dtype_of(args[p]))
                 for p in sorted(wrt))


def _switch_batch(vals, dims, _call):
    call = _call
    size = _batch_size(vals, dims)
    index, consts, ops = call.split(vals)
    d_index, dk, do = call.split(dims)
    consts = [_to_front(v, d) for v, d in zip(consts, dk)]
    ops = [_to_front(v, d) for v, d in zip(ops, do)]
    k_axes = tuple(None if d is None else 0 for d in dk)
    o_axes = tuple(None if d is None else 0 for d in do)
    n = len(call.branches)

    def one(i):
        def run(kk, oo):
            return call.run(i, list(kk), list(oo))

        return run

    def batched(i, k, o):
        return vmap(one(i), in_axes=(k_axes, o_axes), axis_size=size)(tuple(k), tuple(o))

    if d_index is None:  # one branch for every example: a switch of vmapped branches
        def branch(i):
            def run(k2, *o2):
                return list(batched(i, k2, o2))

            return run

        out = _new_switch(index, [branch(i) for i in range(n)], call.who, consts, ops)
    else:  # each example its own branch: all of them run, and each example picks one
        index = fnp.clip(_to_front(index, d_index), 0, n - 1)
        with np.errstate(all="ignore"):  # (what the examples do not select is discarded)
            outs = [list(batched(i, consts, ops)) for i in range(n)]
        out = outs[n - 1]
        for i in range(n - 2, -1, -1):
            out = [_where_batched(index == i, a, b) for a, b in zip(outs[i], out)]
    metas = [(tuple(shape_of(v))[1:], dtype_of(v)) for v in out]
    if call.out.metas is not None and call.out.metas != metas:  # pragma: no cover
        raise TypeError(f"{call.who}: the branches return different shapes or dtypes.")
    return call.layout().pack_batched(out, size), 0


_SWITCH = Primitive(
    "lax.switch", _switch_impl,
    jvp=_PositionRules(_switch_jvp_rule),
    vjp_joint=_switch_vjp,
    reads=("ans", "args"),  # (all of it: an error of a branch re-run is then shown as it is)
    batch=_switch_batch,
    no_derivative={0: "it is the index of the branch taken"},
    test={"skip": "fgrad.lax's primitive, made per call; tested in tests/test_lax.py"},
    shape=_switch_shape,
)


def _switch_bind(call, leaves):
    top = top_trace(leaves)
    if isinstance(top, ForwardTrace):
        primals, tangents = top.split(leaves, lambda x: (x.value, x.tangent),
                                      lambda x: (x, None))
        outs, touts = _switch_jvp(call, primals, tangents)
        if _traced(tangents):  # the joint branch made the values depend on the tangents
            outs = _switch_bind(call, primals)
        return [o if t is None else ForwardTracer(o, top, t) for o, t in zip(outs, touts)]
    packed = _SWITCH.fn(*leaves, _call=call)
    return call.layout().unpack(packed)


def _switch(index, branches, operands, who):
    _check_function_list(branches, who)
    op_leaves, op_tree = _leaves(tuple(operands), who, "the operands")
    funs = [_UserFun(b) for b in branches]
    call = _SwitchCall(funs, who, [len(f.consts) for f in funs], op_tree)
    consts = [c for f in funs for c in f.consts]
    out = _switch_bind(call, [index] + consts + op_leaves)
    return call.out.tree.unflatten(out)


def _check_function_list(branches, who):
    if not branches:
        raise ValueError(f"{who}: needs at least one branch.")
    for i, b in enumerate(branches):
        _check_function(b, who, f"branch {i}")


def _scalar_index(x, who, what, kinds, kind_text):
    """The predicate / index: a scalar (per example under vmap) of the given kinds."""
    if not isinstance(x, Tracer):
        x = _leaf_value(x, who, what)
    if shape_of(x) != ():
        raise TypeError(f"{who}: {what} must be a scalar, but it has shape {shape_of(x)}; "
                        "reduce it first (e.g. fnp.all(...) or fnp.any(...)).")
    if dtype_of(x).kind not in kinds:
        raise TypeError(f"{who}: {what} must be {kind_text}, not of dtype {dtype_of(x)}.")
    return x


def switch(index, branches, *operands):
    """Apply ``branches[index](*operands)`` (``jax.lax.switch``).

    ``index`` is a scalar integer, clamped to ``[0, len(branches) - 1]``.  Only
    the branch taken runs (and only its derivative is computed), unless ``index``
    is batched under ``vmap``: then every branch runs and each example picks its
    own.  Every branch must return the same pytree structure, shapes and dtypes.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> branches = [fnp.sin, fnp.cos, lambda x: x * x]
        >>> float(lax.switch(2, branches, 3.0)), float(lax.switch(7, branches, 3.0))
        (9.0, 9.0)
        >>> float(fgrad.grad(lambda x: lax.switch(0, branches, x))(0.0))
        1.0
    """
    who = "lax.switch"
    if not isinstance(branches, (list, tuple)):
        raise TypeError(f"{who}: branches must be a list or tuple of functions, not "
                        f"{type(branches).__name__}.")
    index = _scalar_index(index, who, "index", "iub", "an integer")
    if not isinstance(index, Tracer):
        index = np.asarray(index, np.int64)[()]
    return _switch(index, list(branches), operands, who)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (``jax.lax.cond``).

    ``pred`` is a scalar (boolean, or a number compared with 0).  Only the branch
    taken runs, so the derivative never sees the other branch (its NaNs
    included), unless ``pred`` is batched under ``vmap``: then both branches run
    and each example selects its result (``where``).  Both branches must return
    the same pytree structure, shapes and dtypes.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad import lax
        >>> def safe_log(x):
        ...     return lax.cond(x > 0, fnp.log, lambda x: fnp.zeros_like(x), x)
        >>> float(fgrad.grad(safe_log)(2.0)), float(fgrad.grad(safe_log)(-1.0))
        (0.5, 0.0)
    """
    who = "lax.cond"
    _check_function(true_fun, who, "true_fun")
    _check_function(false_fun, who, "false_fun")
    pred = _scalar_index(pred, who, "pred", "biuf", "a boolean or a real number")
    if isinstance(pred, Tracer):
        index = fnp.astype(pred != 0, np.int64)
    else:
        index = np.int64(pred != 0)
    return _switch(index, [false_fun, true_fun], operands, who)
