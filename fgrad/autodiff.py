"""Forward mode (tangents carried along) and reverse mode (a tape played back).

Both traces read the same rule table (:data:`fgrad.core.PRIMITIVES`).  Rules are
written with fgrad functions, so when the values they receive are tracers of an
outer transform, the derivative computation is itself differentiated.
"""

from __future__ import annotations

import weakref

import numpy as np

from .core import (
    ABSTRACT_PLACEHOLDER,
    PRIMITIVES,
    Trace,
    Tracer,
    _PositionRules,
    as_array,
    check_nan_output,
    concrete,
    debug_variant,
    enter_step,
    exit_step,
    has_nan,
    is_basic_index,
    is_duck_array,
    nan_cause,
    nan_error,
    shapes_text,
    user_frame,
)

__all__ = ["ForwardTrace", "ForwardTracer", "ReverseTrace", "ReverseTracer"]


def _unknown_sizes(*shapes):
    """Refuse shapes with unknown lengths (nan: a dask array after boolean indexing):
    they never compare equal, so derivatives cannot be matched to their values."""
    for shape in shapes:
        if any(n != n for n in shape):
            raise ValueError(
                f"fgrad cannot differentiate through an array of unknown shape {shape} "
                "(a dask array whose chunk sizes are unknown, e.g. after boolean indexing "
                "or np.unique): call .compute_chunk_sizes() on it first (dask reads the "
                "data once to learn them), or use a mask and np.where instead of boolean "
                "indexing."
            )


def _fix_shape_dtype(x, shape, dtype):
    """Sum a broadcast derivative back to ``shape`` and cast it to ``dtype``."""
    if not isinstance(x, Tracer):
        return _fix_plain(x, shape, dtype)
    if x.shape != shape:
        _unknown_sizes(x.shape, shape)
        x = PRIMITIVES["sum_to_shape"].fn(x, shape=tuple(shape))
    if x.dtype != dtype:
        if x.dtype.kind == "c" and dtype.kind != "c":
            x = PRIMITIVES["real"].fn(x)
        x = _astype(x, dtype)
    return x


def _astype(x, dtype):
    # the row fgrad.numpy.astype picks: a cast to a float or complex dtype carries
    # the derivative, any other cast has none
    dtype = np.dtype(dtype)
    row = "astype" if dtype.kind in "fc" else "astype_nondiff"
    return PRIMITIVES[row].fn(x, dtype=dtype)


def _fix_plain(x, shape, dtype):
    # The same sums and casts as the sum_to_shape / real / astype rows, done with
    # numpy directly: a plain value is seen by no trace, and a backward pass does
    # this for every broadcast argument (a bias, a scalar), so it is worth it.
    x_shape = x.shape if type(x) is np.ndarray else np.shape(x)
    if x_shape != shape:
        _unknown_sizes(x_shape, shape)
        plan = _UNBROADCAST.get((x_shape, shape))
        if plan is None:
            plan = _unbroadcast_plan(x_shape, shape)
            if plan is None:  # not a broadcast of ``shape``: let the row raise its error
                x = PRIMITIVES["sum_to_shape"].fn(x, shape=tuple(shape))
                return _fix_shape_dtype(x, shape, dtype)
        axes, keepdims = plan
        x = as_array(x)  # an array of another library (dask, cupy) stays one
        if axes:
            if type(x) is np.ndarray:
                x = np.add.reduce(x, axis=axes, keepdims=keepdims)
            else:
                x = np.sum(x, axis=axes, keepdims=keepdims)
        if x.shape != shape:
            x = x.reshape(shape)  # an array, as the row gives, even for shape ()
    if x.dtype != dtype:
        if x.dtype.kind == "c" and dtype.kind != "c":
            x = np.real(x)
        if is_duck_array(x):
            x = x.astype(dtype)
        else:
            x = np.asarray(x).astype(dtype) if np.ndim(x) else np.asarray(x, dtype=dtype)[()]
    return x


_UNBROADCAST = {}  # (broadcast shape, shape) -> (axes to sum, keepdims), see below


def _unbroadcast_plan(x_shape, shape):
    """Which axes of ``x_shape`` to sum to get back ``shape`` it was broadcast from,
    and whether to keep them (when a length-1 axis of ``shape`` is summed)."""
    lead = len(x_shape) - len(shape)
    if lead < 0:
        return None
    ones = tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x_shape[lead + i] != 1
    )
    # (summing to shape () keeps the axes too: the reshape then gives a 0-d array, as
    # the sum_to_shape row does, where a full reduction would give a numpy scalar)
    plan = (tuple(range(lead)) + ones, bool(ones) or not shape)
    if len(_UNBROADCAST) > 1024:
        _UNBROADCAST.clear()
    _UNBROADCAST[x_shape, shape] = plan
    return plan


def _shape_dtype(ans):
    """``(shape, dtype, ans)`` of an operation's result, read from the numpy value
    under any tracers (no properties); a Python scalar becomes a numpy scalar."""
    v = ans
    while isinstance(v, Tracer):
        v = v.value
    try:
        return v.shape, v.dtype, ans
    except AttributeError:  # a user impl returned a Python scalar
        ans = np.asarray(ans)[()]
        return ans.shape, ans.dtype, ans


# --------------------------------------------------------------------------
# Forward mode
# --------------------------------------------------------------------------


class ForwardTracer(Tracer):
    """A value paired with its tangent (a dual number, for arrays)."""

    __slots__ = ("tangent",)
    holds_value = True

    def __init__(self, value, trace, tangent):
        self.value = value
        self._trace = trace
        self.tangent = tangent


class ForwardTrace(Trace):
    """The trace of one ``jvp`` call."""

    __slots__ = ()

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        n = len(args)
        x = args[0] if n else None
        if n == 1 and type(x) is ForwardTracer and x._trace is self:
            # the common calls first, without the general loop (as in ReverseTrace)
            primals, tangents = [x.value], ((0, x.tangent),)
            lower = isinstance(primals[0], Tracer)
        elif n == 2 and type(x) is ForwardTracer and x._trace is self:
            y = args[1]
            if type(y) is ForwardTracer and y._trace is self:
                primals, tangents = [x.value, y.value], ((0, x.tangent), (1, y.tangent))
                lower = isinstance(primals[0], Tracer) or isinstance(primals[1], Tracer)
            elif isinstance(y, Tracer):
                primals, tangents, lower = self._inputs(args)
            else:
                primals, tangents = [x.value, y], ((0, x.tangent),)
                lower = isinstance(primals[0], Tracer)
        elif (
            n == 2
            and type(args[1]) is ForwardTracer
            and args[1]._trace is self
            and not isinstance(x, Tracer)
        ):
            y = args[1]
            primals, tangents = [x, y.value], ((1, y.tangent),)
            lower = isinstance(primals[1], Tracer)
        else:
            primals, tangents, lower = self._inputs(args)
        ans = prim.fn(*primals, **params) if lower else prim.call(*primals, **params)
        if not tangents or prim.nondiff:
            return ans
        if lower:
            shape, dtype, ans = _shape_dtype(ans)
        else:  # a plain numpy result (the hot path: no call)
            try:
                shape, dtype = ans.shape, ans.dtype
            except AttributeError:  # a user impl returned a Python scalar
                shape, dtype, ans = _shape_dtype(ans)
        out = None
        rules = prim.jvp
        for i, t in tangents:
            rule = rules[i] if i < len(rules) else None
            if rule is None:
                raise prim.not_differentiable(i)
            c = rule(t, ans, *primals, **params)
            out = c if out is None else out + c
        if out.shape != shape:
            _unknown_sizes(out.shape, shape)
            out = PRIMITIVES["broadcast_to"].fn(out, shape=tuple(shape))
        if out.dtype != dtype:
            out = _fix_shape_dtype(out, shape, dtype)
        return ForwardTracer(ans, self, out)

    def _inputs(self, args):
        """``(primals, tangents, lower)``: ``tangents`` pairs argument positions with
        the tangents of this trace's tracers; ``lower`` tells whether a primal is
        still a tracer of an enclosing transform."""
        primals = list(args)
        tangents = []
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    primals[i] = v = a.value
                    tangents.append((i, a.tangent))
                    lower = lower or isinstance(v, Tracer)
                else:
                    lower = True
        return primals, tangents, lower


# --------------------------------------------------------------------------
# Reverse mode
# --------------------------------------------------------------------------


class ReverseTracer(Tracer):
    """A value and its position on the tape of a reverse-mode trace."""

    __slots__ = ("index",)
    holds_value = True

    def __init__(self, value, trace, index):
        self.value = value
        self._trace = trace
        self.index = index


#: Outputs of ``remat`` primitives at least this large may be recomputed during the
#: backward pass instead of kept alive from the forward pass (0 turns that off).
REMAT_MIN_BYTES = 1 << 17  # 128 KiB
#: How many operations one recomputation may replay, at most.
REMAT_MAX_OPS = 3
#: Recomputation may add at most this share of the forward pass's work on such arrays
#: (work weighted by each primitive's ``remat`` cost: arithmetic 1, functions 4).
REMAT_SHARE = 0.25


class _Remat:
    """How to recompute a saved value: ``prim.call(*args, **params)`` on plain values,
    where an argument may itself be a ``_Remat``.  ``ops`` counts the calls in all
    and ``cost`` their weights (see :attr:`Primitive.remat`)."""

    __slots__ = ("prim", "args", "params", "ops", "cost")

    def __init__(self, prim, args, params):
        self.prim, self.args, self.params = prim, args, params
        inner = [a for a in args if type(a) is _Remat]
        self.ops = 1 + sum(a.ops for a in inner)
        self.cost = prim.remat + sum(a.cost for a in inner)

    def value(self):
        args = [a.value() if type(a) is _Remat else a for a in self.args]
        return self.prim.call(*args, **self.params)


class _SavedWithRemat(tuple):
    """The saved arguments of a tape entry, some of them :class:`_Remat` recipes."""

    __slots__ = ()

    def resolve(self):
        done = {}  # one recomputation per recipe, if two arguments share it
        for a in self:
            if type(a) is _Remat and id(a) not in done:
                done[id(a)] = a.value()
        return tuple(done[id(a)] if type(a) is _Remat else a for a in self)


class IndexedCotangent:
    """A cotangent that is a dense ``base`` (or zero) plus values at indices.

    Reverse mode's cotangent of ``x[idx]`` with respect to ``x`` is zero except at
    ``idx``; summing many of them (a Python loop reading ``x[i]``) as dense arrays
    costs ``O(x.size)`` each.  This keeps the parts instead, and makes one array when
    the cotangent is used (``dense``).  Only the backward pass creates and sees these,
    on plain values; they are never shared, so ``add`` may update them in place.
    """

    __slots__ = ("shape", "dtype", "base", "parts")

    def __init__(self, shape, dtype, idx, value):
        self.shape, self.dtype, self.base, self.parts = shape, dtype, None, [(idx, value)]

    def add(self, other):
        """Add a dense cotangent or another ``IndexedCotangent`` into this one."""
        if type(other) is IndexedCotangent:
            self.parts += other.parts
            other = other.base
            if other is None:
                return self
        self.base = other if self.base is None else self.base + other
        return self

    def dense(self):
        if ABSTRACT_PLACEHOLDER[0] is not None:  # fgrad.eval_shape: shape and dtype only
            return ABSTRACT_PLACEHOLDER[0](tuple(self.shape), np.dtype(self.dtype))
        base = self.base
        traced = isinstance(base, Tracer)  # a dense part from under an enclosing vmap
        if base is None or traced:
            out = np.zeros(self.shape, self.dtype)
        else:
            out = np.array(base, dtype=self.dtype, copy=True).reshape(self.shape)
        for idx, value in self.parts:  # plain values: the backward pass checked
            if is_basic_index(idx):
                out[idx] += value
            else:  # repeated indices accumulate
                np.add.at(out, idx, value)
        return out if not traced else base + out


class ReverseTrace(Trace):
    """The trace of one ``grad``/``vjp`` call: a tape in evaluation order.

    Each entry is ``(prim, params, parents, saved_args, saved_ans, shape, dtype,
    recipe)`` where ``parents`` pairs argument positions with tape indices.  The
    tape is already topologically ordered, so the backward pass is one reversed
    loop (no recursion, any depth).  Only the arguments the vjp rules actually
    read are kept (see :meth:`Primitive.saves_for`).

    Memory: a rule may need a large value that a cheap operation computed from
    values the tape keeps anyway (``cos(i)`` when ``i`` is kept, ``f + 1`` when
    ``f`` is kept, ``x * x`` of the input ``x``).  Then the entry stores how to
    recompute it (a ``_Remat``) instead of the value.  ``recipe`` is what makes
    that possible: for a ``remat`` primitive with an output of at least
    :data:`REMAT_MIN_BYTES`, its constant arguments (tracer positions ``None``).
    This only happens on plain arrays, never when the values are tracers of an
    enclosing transform, so higher-order derivatives trace exactly the same
    operations as before.
    """

    __slots__ = ("tape", "recipes", "work", "rework", "frozen", "frozen_ids")

    def __init__(self):
        super().__init__()
        self.tape = []
        self.recipes = 0  # how many entries have a recipe (none: skip the search)
        self.work = 0  # weighted forward operations on large arrays (REMAT_SHARE)
        self.rework = 0  # weighted operations the backward pass will recompute
        self.frozen = []  # the caller's arrays made read-only while the tape keeps them
        self.frozen_ids = set()  # their ids: a constant used again costs a set look-up

    # Mutable numpy arrays the tape keeps (inputs, and constants a rule reads) are made
    # read-only while the trace records and plays back, so code that overwrites one
    # mid-function (a reused scratch buffer) fails loudly instead of giving the backward
    # pass the overwritten values.  :meth:`thaw` gives the flags back; :meth:`snapshot`
    # first swaps the tape's references for private copies (vjp, whose tape outlives
    # the call).
    def freeze(self, a):
        # only an array that owns its memory: a view (a slice of a data set, taken
        # anew at each step of a loop) would cost a flag change per operation, and
        # making it read-only would not stop writes through its base anyway
        if a.base is None and a.flags.writeable:
            a.setflags(write=False)
            self.frozen.append(a)
            self.frozen_ids.add(id(a))

    def thaw(self):
        pending, self.frozen = self.frozen, []
        self.frozen_ids = set()
        while pending:  # a view can become writable only after its base
            failed = []
            for a in pending:
                try:
                    a.setflags(write=True)
                except ValueError:
                    failed.append(a)
            if len(failed) == len(pending):
                break
            pending = failed

    def snapshot(self):
        """Replace the frozen arrays the tape refers to by copies, then thaw."""
        if self.frozen:
            memo = {id(a): a.copy() for a in self.frozen}

            def swap(v):
                if type(v) is _Remat:
                    v.args = [swap(a) for a in v.args]
                    return v
                return memo.get(id(v), v) if isinstance(v, np.ndarray) else v

            tape = self.tape
            for k, entry in enumerate(tape):
                if entry is None or entry[0] is None:
                    continue
                prim, params, parents, saved, ans, shape, dtype, recipe = entry
                if saved is not None:
                    saved = type(saved)(swap(v) for v in saved)
                if recipe is not None:
                    recipe = tuple(swap(v) for v in recipe)
                tape[k] = (prim, params, parents, saved, ans, shape, dtype, recipe)
        self.thaw()

    def new_input(self, value):
        if type(value) is float:  # numpy's scalar arithmetic is the fast kind
            value = np.float64(value)
        elif isinstance(value, Tracer) and value.python_float:  # a Python float under jit:
            value = PRIMITIVES["positive"].fn(value)  # numpy's float64 too (np.positive)
        if type(value) is np.ndarray or isinstance(value, np.generic):
            shape, dtype = value.shape, value.dtype
        else:
            shape, dtype = np.shape(value), np.result_type(value)
        # an input's value sits in the ``saved_ans`` slot: recomputations may use it
        self.tape.append((None, None, (), None, value, shape, dtype, None))
        return ReverseTracer(value, self, len(self.tape) - 1)

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        n = len(args)
        x = args[0] if n else None
        const = None  # the position of a constant argument (-1: look for them)
        if n == 1 and type(x) is ReverseTracer and x._trace is self:
            # the common calls first, without the general loop: one argument ...
            vals, parents, mask = [x.value], ((0, x.index),), 1
            lower = isinstance(vals[0], Tracer)
        elif n == 2 and type(x) is ReverseTracer and x._trace is self:
            # ... or two, the first one of this trace's tracers
            y = args[1]
            if type(y) is ReverseTracer and y._trace is self:
                vals, parents, mask = [x.value, y.value], ((0, x.index), (1, y.index)), 3
                lower = isinstance(vals[0], Tracer) or isinstance(vals[1], Tracer)
            elif isinstance(y, Tracer):
                vals, parents, mask, lower = self._inputs(args)
            else:
                vals, parents, mask = [x.value, y], ((0, x.index),), 1
                lower = isinstance(vals[0], Tracer)
                const = 1 if isinstance(y, np.ndarray) else None
        elif (
            n == 2
            and type(args[1]) is ReverseTracer
            and args[1]._trace is self
            and not isinstance(x, Tracer)
        ):  # ... or two, a constant and then one of this trace's tracers
            y = args[1]
            vals, parents, mask = [x, y.value], ((1, y.index),), 2
            lower = isinstance(vals[1], Tracer)
            const = 0 if isinstance(x, np.ndarray) else None
        else:
            vals, parents, mask, lower = self._inputs(args)
            const = -1 if mask != (1 << n) - 1 else None
        ans = prim.fn(*vals, **params) if lower else prim.call(*vals, **params)
        if not parents or prim.nondiff:
            return ans
        if lower:
            shape, dtype, ans = _shape_dtype(ans)
        else:  # a plain numpy result (the hot path: no call)
            try:
                shape, dtype = ans.shape, ans.dtype
            except AttributeError:  # a user impl returned a Python scalar
                shape, dtype, ans = _shape_dtype(ans)
        plan = prim._plans.get(mask | n << n)  # the cache of saving_plan, inlined
        drop, keep_ans = plan if plan is not None else prim.saving_plan(mask, n)
        recipe = None
        if not lower and prim.remat and ans.nbytes >= REMAT_MIN_BYTES:
            recipe = self._recipe(prim, vals, mask)
        for i in drop:  # arguments no vjp rule reads are not kept alive
            vals[i] = None
        if const is not None:  # a constant that is a mutable array: read-only from now
            if const >= 0:
                c = vals[const]
                if c is not None and id(c) not in self.frozen_ids:  # (None: no rule reads it)
                    self.freeze(c)
            else:
                for i, v in enumerate(vals):
                    if isinstance(v, np.ndarray) and not mask >> i & 1:
                        self.freeze(v)
        vals = tuple(vals)
        if self.recipes and not lower:
            vals = self._recompute_instead(vals, parents)
        # tuples of arrays and numbers: the garbage collector stops tracking them, so
        # a long tape does not make every collection slower
        tape = self.tape
        tape.append(
            (prim, params, parents, vals, ans if keep_ans else None, shape,
             dtype, recipe)
        )
        return ReverseTracer(ans, self, len(tape) - 1)

    def _inputs(self, args):
        """``(values, parents, mask, lower)`` for a call's arguments: ``parents`` pairs
        positions with tape indices, bit ``i`` of ``mask`` is set when argument ``i`` is
        one of this trace's tracers, and ``lower`` tells whether a value is still a
        tracer of an enclosing transform."""
        vals = list(args)
        parents = []
        mask = 0
        lower = False
        for i, a in enumerate(args):
            if isinstance(a, Tracer):
                if a._trace is self:
                    vals[i] = v = a.value
                    parents.append((i, a.index))
                    mask |= 1 << i
                    lower = lower or isinstance(v, Tracer)
                else:
                    lower = True
        return vals, tuple(parents), mask, lower

    def _recipe(self, prim, vals, mask):
        # the constants of a cheap operation on large arrays; None when a constant is
        # itself large (keeping it alive for a recomputation would cost what it saves)
        self.work += prim.remat
        recipe = []
        for i, a in enumerate(vals):
            if mask >> i & 1:
                a = None
            elif getattr(a, "nbytes", 0) >= REMAT_MIN_BYTES:
                return None
            elif isinstance(a, np.ndarray):
                self.freeze(a)
            recipe.append(a)
        self.recipes += 1
        return tuple(recipe)

    def _recompute_instead(self, vals, parents):
        tape = self.tape
        vals = list(vals)
        found = {}  # tape index -> its recipe, for a value saved twice (x * x)
        for pos, j in parents:
            if vals[pos] is None or tape[j][7] is None or tape[j][4] is not None:
                continue  # not kept, not cheap to recompute, or kept by its own entry
            source = found.get(j)
            if source is None:
                source = self._source(j)
                if type(source) is not _Remat:
                    continue
                if self.rework + source.cost > REMAT_SHARE * self.work:
                    continue  # over the budget: keep the value, as without recomputation
                self.rework += source.cost
                found[j] = source
            vals[pos] = source
        return _SavedWithRemat(vals) if found else tuple(vals)

    def _source(self, j, budget=None):
        """Tape entry ``j``'s value as something the tape keeps alive anyway, or a
        ``_Remat`` built from such things in at most ``budget`` operations; ``None``
        if neither."""
        prim, params, parents, saved, ans, _, _, recipe = self.tape[j]
        if ans is not None:  # an input, or an output its own rule keeps
            return ans
        if budget is None:
            budget = REMAT_MAX_OPS
        if recipe is None or budget < 1:
            return None
        args = list(recipe)
        budget -= 1
        for pos, m in parents:
            a = saved[pos]  # kept by entry j for its own rule
            if a is None:
                a = self._source(m, budget)
                if a is None:
                    return None
            if type(a) is _Remat:
                budget -= a.ops
                if budget < 0:
                    return None
            args[pos] = a
        return _Remat(prim, args, params)

    def backward(self, seeds, consume=False, tape=None):
        """Play the tape back from the ``(tape_index, cotangent)`` pairs in ``seeds``.

        Returns the list of cotangents indexed by tape position (``None`` where
        no cotangent arrived); inputs are the entries with ``prim is None``.
        A cotangent is dropped as soon as its entry has been processed; with
        ``consume`` the tape entries are dropped too, so the values they saved
        are freed during the backward pass.

        Cotangents arriving at one entry are summed.  ``owned[j]`` is set while
        ``cts[j]`` is an array this pass allocated (a sum it made, a broadcast it
        summed back, the result of a ``fresh`` row's rule): only such an array is
        ever added into in place.  Anything else (the caller's cotangent, ``g``
        handed on by ``add``, an array a user's rule keeps) is only read.

        ``tape`` is the list of entries to play, the trace's own by default (NaN
        debugging passes a copy whose rows check their results, see the end of
        this file).
        """
        if tape is None:
            tape = self.tape
        cts = [None] * len(tape)
        owned = bytearray(len(tape))
        indexed = []  # slots that received an IndexedCotangent (densified at the end)
        start = -1
        for index, g in seeds:
            if ABSTRACT_PLACEHOLDER[0] is not None and not isinstance(g, Tracer):
                g = ABSTRACT_PLACEHOLDER[0](np.shape(g), np.result_type(g))  # fgrad.eval_shape
            prev = cts[index]
            cts[index] = g if prev is None else prev + g
            start = index if index > start else start
        for k in range(start, -1, -1):
            g = cts[k]
            if g is None:
                continue
            prim, params, parents, saved, ans, _, _, _ = tape[k]
            if prim is None:  # an input: its cotangent is part of the result
                continue
            if type(g) is IndexedCotangent:
                g = g.dense()
            if type(saved) is _SavedWithRemat:
                saved = saved.resolve()
            cts[k] = None
            if consume:
                tape[k] = None
            if (
                prim.indexed
                and not isinstance(g, Tracer)
                and not is_duck_array(g)  # dask, cupy: the row's own rule keeps it lazy
                and getattr(g, "dtype", None) == tape[parents[0][1]][6]
            ):
                self._scatter(cts, owned, indexed, tape[parents[0][1]], parents[0][1],
                              params["idx"], g)
                g = saved = ans = None
                continue
            if prim.vjp_joint is not None:
                results = _joint_cotangents(prim, g, ans, saved, params, parents)
            rules = prim.vjp
            for pos, j in parents:
                if prim.vjp_joint is not None:
                    c = results[pos]
                else:
                    rule = rules[pos] if pos < len(rules) else None
                    if rule is None:
                        raise prim.not_differentiable(pos)
                    try:
                        c = rule(g, ans, *saved, **params)
                    except (TypeError, AttributeError) as err:
                        raise _misdeclared(prim, saved, ans, err) from err
                parent = tape[j]
                mine = prim.fresh
                v = c
                while isinstance(v, Tracer):  # under an enclosing transform
                    v = v.value
                if v.shape != parent[5] or v.dtype != parent[6]:
                    c, mine = _fix_cotangent(c, mine, parent[5], parent[6])
                prev = cts[j]
                if prev is None:
                    cts[j] = c
                    owned[j] = mine
                elif type(prev) is IndexedCotangent:
                    cts[j] = prev.add(c)
                else:
                    cts[j], owned[j] = _add_cotangents(prev, owned[j], c, mine)
            g = c = v = prev = saved = ans = results = None  # free them before the next entry
        for j in indexed:  # inputs' cotangents leave as arrays
            if type(cts[j]) is IndexedCotangent:
                cts[j] = cts[j].dense()
        return cts

    def _scatter(self, cts, owned, indexed, parent, j, idx, g):
        """``x[idx]`` on plain values: its cotangent is ``g`` at ``idx`` and zero
        elsewhere, kept as that part rather than a dense array (a loop over ``x[i]``
        would otherwise cost O(len(x)) per step in the backward pass).  ``parent``
        is entry ``j`` of the tape being played (NaN debugging plays a copy)."""
        c = IndexedCotangent(parent[5], parent[6], idx, g)
        prev = cts[j]
        if prev is None:
            cts[j] = c
            indexed.append(j)
        elif type(prev) is IndexedCotangent:  # (appending to the longer list)
            prev.add(c)
        else:
            cts[j] = c.add(prev)
            owned[j] = 0
            indexed.append(j)


def _joint_cotangents(prim, g, ans, saved, params, parents):
    """``{position: cotangent}`` for every differentiated argument, from the row's
    joint vjp (checked)."""
    wrt = tuple(pos for pos, _ in parents)
    try:
        results = prim.vjp_joint(g, ans, *saved, wrt=wrt, **params)
    except (TypeError, AttributeError) as err:
        raise _misdeclared(prim, saved, ans, err) from err
    if not isinstance(results, (tuple, list)) or len(results) != len(wrt):
        raise TypeError(
            f"the joint vjp of {prim.name!r} must return a tuple with one cotangent per "
            f"position in wrt={wrt}, but it returned {type(results).__name__}"
            + (f" of length {len(results)}" if isinstance(results, (tuple, list)) else "")
        )
    return dict(zip(wrt, results))


def _misdeclared(prim, saved, ans, err):
    """The error of a vjp rule that failed: ``err`` itself, or when reverse mode left
    out values by the row's ``reads=`` declaration, a TypeError that says so."""
    left_out = [f"argument {i}" for i, a in enumerate(saved) if a is None]
    if ans is None:
        left_out.insert(0, "ans")
    if not left_out or prim.reads is None:
        return err
    return TypeError(
        f"the vjp rule of {prim.name!r} failed ({type(err).__name__}: {err}). Reverse mode "
        f"passed None for {', '.join(left_out)}, which reads={prim.reads!r} does not "
        "name; if the rule reads them, add them to its reads= declaration."
    )


def _fix_cotangent(c, owned, shape, dtype):
    """``(c summed to shape and cast to dtype, owned)``: a sum or cast made here is
    an array the backward pass owns, whoever holds ``c``."""
    fixed = _fix_shape_dtype(c, shape, dtype)
    if fixed is not c and type(fixed) is np.ndarray and fixed.base is None:
        owned = True
    return fixed, owned


def _add_cotangents(prev, prev_owned, c, c_owned):
    """``(prev + c, owned)``: in place into whichever of the two this pass owns.

    Both were fixed to the entry's shape and dtype.  0-d sums stay numpy
    scalars, as numpy gives them; tracers (an enclosing transform) are never
    written to.
    """
    if type(prev) is np.ndarray and type(c) is np.ndarray and c.ndim:
        if prev_owned and prev.flags.writeable:
            return np.add(prev, c, out=prev), 1
        if c_owned and c.flags.writeable:
            return np.add(c, prev, out=c), 1
        return c + prev, 1  # a new array: ours
    # prev first when it is a tracer: no numpy override path
    return (c + prev if type(prev) is np.ndarray else prev + c), 0


# --------------------------------------------------------------------------
# NaN debugging (fgrad.debug_nans): the checking variants, installed only while
# it is on (see fgrad/core.py), so the methods above stay as they are
# --------------------------------------------------------------------------


def _forward_process_checked(self, prim, args, params, _plain=ForwardTrace.process):
    where = user_frame()
    token = enter_step(f"forward mode's step for {prim.name!r} (its value and jvp rule)",
                       where)
    try:
        out = _plain(self, prim, args, params)
    finally:
        exit_step(token)
    check_nan_output(prim, args, out, where)
    if type(out) is ForwardTracer and out._trace is self and has_nan(out.tangent):
        values = [concrete(a) for a in args]
        tangents = [a.tangent if type(a) is ForwardTracer and a._trace is self else None
                    for a in args]
        cause = nan_cause(tangents + values, [f"the tangent of operand {i}" for i in
                                              range(len(args))]
                          + [f"operand {i}" for i in range(len(args))])
        raise nan_error(prim.name, f"in forward mode's tangent (the jvp of {prim.name!r})",
                        shapes_text(args), _shape_of_value(out.value), cause, where)
    return out


#: trace -> {tape index: ((file, line, function), operand shapes)} of the operations
#: recorded while NaN debugging was on, for the errors of the backward pass.
_CALL_SITES = weakref.WeakKeyDictionary()


def _reverse_process_checked(self, prim, args, params, _plain=ReverseTrace.process):
    where = user_frame()
    out = _plain(self, prim, args, params)
    check_nan_output(prim, args, out, where)
    if type(out) is ReverseTracer and out._trace is self:
        sites = _CALL_SITES.get(self)
        if sites is None:
            sites = _CALL_SITES[self] = {}
        sites[out.index] = (where, shapes_text(args))
    return out


def _backward_checked(self, seeds, consume=False, _plain=ReverseTrace.backward):
    # the same loop, on a copy of the tape whose rows check what their rules return
    sites = _CALL_SITES.get(self, {})
    own = self.tape
    tape = list(own)
    for k, entry in enumerate(own):
        if entry is not None and entry[0] is not None:
            tape[k] = (_CheckedRow(entry[0], sites.get(k), entry[5]), *entry[1:])
            if consume:  # only the copy holds it: the pass frees it as it goes
                own[k] = None
    return _plain(self, seeds, consume, tape)


def _shape_of_value(v):
    return str(getattr(concrete(v), "shape", ()))


class _CheckedRow:
    """A tape entry's row while NaN debugging is on: the row itself (attributes are
    read through) with vjp rules that check the cotangents they return, and that
    mark the backward step they run (for operations an enclosing transform checks)."""

    __slots__ = ("row", "label", "where", "shapes", "out_shape", "vjp", "vjp_joint")

    def __init__(self, row, site, out_shape):
        self.row, self.out_shape = row, out_shape
        self.label = f"the backward pass: the vjp of {row.name!r}"
        self.where, self.shapes = site if site is not None else (None, "not recorded")
        rules = row.vjp
        if isinstance(rules, _PositionRules):
            self.vjp = _PositionRules(lambda i: self._checked(rules[i], i))
        elif rules is not None:
            self.vjp = tuple(None if r is None else self._checked(r, i)
                             for i, r in enumerate(rules))
        else:
            self.vjp = None
        joint = row.vjp_joint
        self.vjp_joint = None if joint is None else self._checked_joint(joint)

    def __getattr__(self, name):
        return getattr(self.row, name)

    def _checked(self, rule, pos):
        if rule is None:
            return None

        def checked(g, ans, *saved, **params):
            token = enter_step(self.label, self.where)
            try:
                c = rule(g, ans, *saved, **params)
            finally:
                exit_step(token)
            if has_nan(c):
                raise self._error(g, ans, saved, f"the cotangent of its argument {pos}")
            return c

        return checked

    def _checked_joint(self, joint):

        def checked(g, ans, *saved, wrt, **params):
            token = enter_step(self.label, self.where)
            try:
                results = joint(g, ans, *saved, wrt=wrt, **params)
            finally:
                exit_step(token)
            if isinstance(results, (tuple, list)):
                for pos, c in zip(wrt, results):
                    if has_nan(c):
                        raise self._error(g, ans, saved, f"the cotangent of its argument {pos}")
            return results

        return checked

    def _error(self, g, ans, saved, which):
        name = self.row.name
        if has_nan(g):
            cause = ("the cotangent it received already held NaN: the cotangents from "
                     "several uses of its output added up to NaN (inf + -inf), or the "
                     "cotangent passed to the vjp function held it")
        elif has_nan(ans) or any(has_nan(v) for v in saved):
            cause = ("a value saved from the forward pass for the rule already held NaN "
                     "(it came from an input or a constant)")
        else:
            cause = ("the cotangent it received and the values saved for it hold no NaN: "
                     f"the vjp rule of {name!r} made it")
        return nan_error(name, f"in the backward pass (the vjp of {name!r}, {which})",
                         self.shapes, str(self.out_shape), cause, self.where, backward=True)


debug_variant(ForwardTrace, "process", _forward_process_checked)
debug_variant(ReverseTrace, "process", _reverse_process_checked)
debug_variant(ReverseTrace, "backward", _backward_checked)
