"""The core of fgrad: primitives, the rule table, tracers and traces.

Everything fgrad can differentiate is a *primitive*: a numpy implementation plus
derivative rules, declared once with :func:`defprim` and stored in
:data:`PRIMITIVES`, the one table that forward mode, reverse mode and every
later transform read.

A transform (``grad``, ``jvp`` ...) opens a *trace* and wraps its inputs in
*tracers* owned by that trace.  Calling a row's function (``prim.fn``, made by
:func:`_make_function`) on a tracer hands the call to the highest-level trace
among the arguments.  That trace unwraps only its own tracers (everything else is a
constant to it), calls the primitive again on the unwrapped values (so lower
traces see the call too), and records what it needs for the derivative.
Because a trace only ever unwraps tracers it created, nested transforms cannot
confuse each other's perturbations.  See docs/design.md for the full story.

This module is the bottom layer: it imports nothing from fgrad.  Tracers'
operators (``x * y``) look their rows up in :data:`PRIMITIVES`; their array
methods (``x.sum()``) and numpy's protocols (``np.sin(x)``) look functions up in
:data:`FUNCTIONS` and :data:`NUMPY_UFUNCS`/:data:`NUMPY_FUNCTIONS`, which
``fgrad.numpy`` fills when it loads, as the row modules fill the table.
"""

from __future__ import annotations

import inspect
import itertools
import linecache
import operator
import os
import sys
import threading
import types

import numpy as np

__all__ = [
    "PRIMITIVES",
    "Primitive",
    "Trace",
    "Tracer",
    "LeakedTracerError",
    "TracerConversionError",
    "with_arrays",
    "lift_array_likes",
    "FUNCTIONS",
    "NUMPY_FUNCTIONS",
    "NUMPY_UFUNCS",
    "ManyValues",
    "BatchingError",
    "BatchedValueError",
    "any_tracer",
    "top_trace",
    "refuse_out",
    "keyword_refusal",
    "examples_of",
    "shape_of",
    "ndim_of",
    "dtype_of",
    "is_batched",
    "is_basic_index",
    "defprim",
    "defelementwise",
    "variadic",
    "concrete",
    "is_tracer",
    "is_sparse",
    "REFUSED",
    "is_duck_array",
    "as_array",
    "zeros_like_value",
    "check_value",
    "check_values",
    "ACCEPTED_INPUTS",
    "leaf_problem",
]

class _Table(dict):
    """The rule table, a dict that is complete whenever it is read as a whole.

    Some rows are declared by modules that load on first use (the scipy-backed
    rows: loading them costs import time that most programs never need).  Their
    loaders are registered with :meth:`defer`; asking for a name the table does
    not have, or reading the whole table (iteration, ``len``, ``in``, ``get``,
    ``keys``/``values``/``items``), runs them first.  Looking up a present row
    (``PRIMITIVES["add"]``) is a plain dict look-up.
    """

    __slots__ = ("_deferred", "_replaceable")

    def __init__(self):
        super().__init__()
        self._deferred = []
        self._replaceable = set()  # rows declared with defprim(..., replace=True)

    def defer(self, loader):
        """Register ``loader()``, which declares more rows, to run on first need."""
        self._deferred.append(loader)

    def _complete(self):
        loaders, self._deferred = self._deferred, []
        for load in loaders:
            load()
        return bool(loaders)

    def __missing__(self, name):
        if self._complete():
            return self[name]
        raise KeyError(name)

    def __contains__(self, name):
        return dict.__contains__(self, name) or (
            self._complete() and dict.__contains__(self, name))

    def get(self, name, default=None):
        return self[name] if name in self else default

    def _completed_first(method):
        """``dict``'s ``method``, run on the complete table."""

        def read_whole(self, *args):
            self._complete()
            return method(self, *args)

        read_whole.__name__ = method.__name__
        return read_whole

    __iter__ = _completed_first(dict.__iter__)
    __len__ = _completed_first(dict.__len__)
    keys = _completed_first(dict.keys)
    values = _completed_first(dict.values)
    items = _completed_first(dict.items)
    del _completed_first


#: The rule table: primitive name -> :class:`Primitive`.
PRIMITIVES: dict[str, Primitive] = _Table()


#: Functions of the public namespaces that tracers' methods call, by name
#: (``x.sum()`` is ``FUNCTIONS["sum"](x)``); fgrad.numpy fills it when it loads.
FUNCTIONS: dict = {}

#: numpy ufunc -> fgrad function, for ``Tracer.__array_ufunc__`` (filled by fgrad.numpy
#: and fgrad.scipy.special).
NUMPY_UFUNCS: dict = {}

#: numpy function -> fgrad function, for ``Tracer.__array_function__`` (NEP 18).
NUMPY_FUNCTIONS: dict = {}

#: ``ufunc.reduce`` and ``ufunc.accumulate`` on tracers: numpy ufunc -> fgrad function.
NUMPY_REDUCERS: dict = {}
NUMPY_ACCUMULATORS: dict = {}

#: A constant scipy.sparse matrix meeting a tracer in a row: row name -> function
#: called instead, with the row's arguments and parameters (``S @ x`` reaches the
#: ``matmul`` row).  Rows not listed refuse sparse operands with a TypeError.
#: Filled by fgrad/primitives/sparse.py, which imports no scipy.
SPARSE_OPERANDS: dict = {}

#: module name -> ``install()``: run once, when a trace opens after that module has
#: been imported, to make the module's operators defer to tracers (scipy.sparse's
#: ``S @ x`` would otherwise convert ``x`` to an array first).  Core imports nothing.
OPERAND_HOOKS: dict = {}


def _run_operand_hooks():
    for module in [m for m in OPERAND_HOOKS if m in sys.modules]:
        install = OPERAND_HOOKS.pop(module, None)  # (None: another thread ran it)
        if install is not None:
            install()


def is_sparse(x):
    """True for a scipy.sparse matrix or array (scipy is not imported to find out:
    without scipy.sparse loaded nothing is sparse).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import is_sparse
        >>> is_sparse(np.eye(2))
        False
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)



def _refuse_sparse_in_numpy(values, name):
    """numpy's functions and ndarray methods treat a scipy.sparse matrix as one opaque
    object (``np.dot(S, x)`` on plain arrays is an object array of matrices), so
    fgrad refuses them rather than give a traced result the plain call would not."""
    if "scipy.sparse" in sys.modules:
        for v in values:
            if (type(v) not in _UNCHECKED_CONSTANTS and not isinstance(v, Tracer)
                    and is_sparse(v)):
                raise TypeError(
                    f"{name} with a scipy.sparse {type(v).__name__}: numpy does not know "
                    "sparse matrices (on plain arrays it returns an object array or "
                    "raises), so fgrad does not differentiate it either. Write the product "
                    "as S @ x, x @ S or S.dot(x) (or fgrad.numpy.dot(S, x))."
                )


def _sparse_operand(prim, args, params):
    """A row called with a tracer and a constant scipy.sparse operand."""
    handler = SPARSE_OPERANDS.get(prim.name)
    if handler is not None:
        return handler(*args, **params)
    kind = next(type(a).__name__ for a in args if is_sparse(a))
    raise TypeError(
        f"{prim.name!r}: a scipy.sparse {kind} met a traced value. fgrad treats a sparse "
        "matrix as a constant linear operator in products only: S @ x, x @ S, S.dot(x), "
        "S.T @ x, fgrad.numpy.matmul/dot(S, x) (and S * x for the *_matrix classes, where "
        "`*` is the matrix product). For any other operation convert the constant with "
        "S.toarray() first."
    )


class LeakedTracerError(RuntimeError):
    """A tracer was used after the transform that created it had returned."""


class TracerConversionError(TypeError):
    """A traced value was about to become a plain numpy array (``np.asarray(x)``,
    ``np.array([x, y])``), which would drop its derivative.

    fgrad's functions catch it when the value sat in a list or tuple argument
    and retry with that sequence made into one traced array (:func:`with_arrays`).

    Example:
        >>> import fgrad, numpy as np
        >>> from fgrad.core import TracerConversionError
        >>> try:
        ...     fgrad.grad(lambda x: np.array([x, x]).sum())(1.0)
        ... except TracerConversionError as err:
        ...     print("fnp.array" in str(err), isinstance(err, TypeError))
        True True
    """


class BatchingError(Exception):
    """Base class of the errors raised by ``vmap``."""


class BatchedValueError(BatchingError, TypeError):
    """A batched value was used where one concrete value is needed (control flow ...)."""


# --------------------------------------------------------------------------
# Primitives and the table
# --------------------------------------------------------------------------


class _PositionRules:
    """Derivative rules for any number of positional arguments, made on demand:
    ``make(i)`` is the rule of argument ``i``, made once and then kept."""

    __slots__ = ("_make", "_cache")

    def __init__(self, make):
        self._make = make
        self._cache = {}

    def __getitem__(self, i):
        rule = self._cache.get(i)
        if rule is None:
            rule = self._cache[i] = self._make(i)
        return rule

    def __len__(self):  # any position is differentiable
        return 1 << 30


class variadic(_PositionRules):
    """Marks one derivative rule that serves every positional argument.

    ``variadic(rule)`` is used for primitives taking any number of arrays
    (``concatenate``, ``stack``, ``einsum``); the rule receives the argument
    position first: ``rule(i, t_or_g, ans, *args, **params)``.
    """

    __slots__ = ("rule",)

    def __init__(self, rule):
        super().__init__(self._at)
        self.rule = rule

    def _at(self, i):
        rule = self.rule

        def fn(*rest, **params):
            return rule(i, *rest, **params)

        return fn


class Primitive:
    """One row of the rule table.

    Attributes:
        name: the primitive's name (also the key in :data:`PRIMITIVES`).
        impl: the numpy implementation, ``impl(*args, **params)``.
        jvp: per positional argument, a rule ``jvp_i(t, ans, *args, **params)``
            returning the output tangent contributed by tangent ``t`` of
            argument ``i`` (``None`` where that argument is not differentiable).
        vjp: per positional argument, a rule ``vjp_i(g, ans, *args, **params)``
            returning the cotangent of argument ``i`` for output cotangent ``g``.
            Results may be broadcast against the argument's shape; the traces
            sum them back and cast them to the argument's dtype.
        vjp_joint: ``None``, or one rule for every differentiated argument at once,
            ``vjp_joint(g, ans, *args, wrt=positions, **params)`` returning one
            cotangent per position in ``wrt``; reverse mode calls it instead of the
            ``vjp`` rules, so work they share is done once.
        reads: what the vjp rules read besides ``g`` and the keyword parameters, as
            declared to :func:`defprim`; reverse mode keeps only that on its tape.
        fresh: every vjp result is, on plain numpy values, an array newly
            allocated by the rule: reverse mode may add other cotangents into it.
        nondiff: the output carries no derivative (comparisons, ``argmax``,
            ``stop_gradient``): AD traces pass it through as a constant.
        batch: the batching rule, or a batching category name (used by vmap).
        fn: the user-facing function; calls ``impl`` directly when no argument
            is a tracer.
        call: what the traces call on plain values: ``impl`` itself, or for
            numpy's basic arithmetic ufuncs a shortcut through Python's
            operators on numpy scalars (see :func:`_scalar_shortcut`).
        indexed: the vjp is ``g`` scattered at ``params["idx"]`` into zeros shaped
            like the only argument (``getitem``): reverse mode may keep it as an
            :class:`fgrad.autodiff.IndexedCotangent` instead of calling the rule.
        remat: the cost of recomputing the output, 0 for "never": reverse mode
            may store how to recompute a large output instead of keeping it
            alive (see :class:`fgrad.autodiff.ReverseTrace`).  1 for arithmetic,
            4 for the common elementwise functions.
        no_derivative: argument position -> why that argument has no derivative
            rule; the TypeError for it and the coverage page give the reason.
        shape: ``None`` or the row's shape rule, ``shape(*args, **params) ->
            (shape, dtype)`` on abstract arguments (see ``fgrad.shapes``); rows
            of most ``batch`` categories need none.
    """

    #: True for a row whose output dtype numpy picks from the values (eig of a real
    #: matrix): fgrad.jit follows it with a guard that keeps later calls to the traced dtype.
    dtype_from_values = False

    __slots__ = (
        "name", "impl", "jvp", "vjp", "vjp_joint", "reads", "fresh", "nondiff", "batch",
        "fn", "call", "test", "remat", "indexed", "no_derivative", "shape",
        "_reads_each", "_reads_row", "_saves", "_plans", "__dict__",
    )

    def __init__(self, name, impl, jvp=None, vjp=None, nondiff=False, batch=None, test=None,
                 *, vjp_joint=None, reads=None, fresh=False, remat=0, indexed=False,
                 no_derivative=None, shape=None):
        self.name = name
        self.shape = shape
        self.impl = impl
        self.jvp = jvp
        if vjp is None and vjp_joint is not None:  # per-argument rules, for fgrad.graph
            vjp = _joint_rules(vjp_joint)
            if isinstance(jvp, (tuple, list)):  # as many as jvp has
                vjp = tuple(None if r is None else vjp[i] for i, r in enumerate(jvp))
        self.vjp = vjp
        self.vjp_joint = vjp_joint
        self.nondiff = nondiff
        self.batch = batch
        self.test = test
        self.fresh = bool(fresh)
        self.remat = remat
        self.indexed = bool(indexed)
        self.no_derivative = dict(no_derivative or {})
        self.reads = reads
        self._reads_row, self._reads_each = _parse_reads(name, reads)
        self._saves = {}
        self._plans = {}
        self.call = _scalar_shortcut(impl)
        self.fn = _make_function(self)

    def __repr__(self):
        return f"<fgrad primitive {self.name}>"

    def __call__(self, *args, **params):
        return self.fn(*args, **params)

    def not_differentiable(self, pos, where=""):
        """The TypeError for a derivative this row does not have: argument ``pos``
        (named from ``impl``'s signature when it has one)."""
        try:
            names = [p.name for p in inspect.signature(self.impl).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):  # a ufunc or builtin: no signature
            names = []
        name = f" (`{names[pos]}`)" if pos < len(names) else ""
        reason = self.no_derivative.get(pos)
        reason = f". It has no derivative there because {reason}" if reason else ""
        return TypeError(
            f"{self.name!r} is not differentiable with respect to its argument {pos}{name}"
            f"{where}{reason}; wrap that argument in fgrad.stop_gradient if it is meant as "
            "a constant"
        )

    def reads_of(self, pos):
        """``(reads ans, argument positions read or None for all)`` of argument
        ``pos``'s vjp rule, from the declaration; ``None`` when undeclared."""
        if self._reads_each is None:
            return self._reads_row
        return self._reads_each[pos] if pos < len(self._reads_each) else None

    def saves_for(self, positions):
        """Which arguments (and whether ``ans``) reverse mode must keep.

        ``positions`` are the argument positions being differentiated; the
        answer comes from the row's ``reads`` declaration (everything when a
        rule's reads are undeclared) and is cached per tuple of positions.
        """
        keep = self._saves.get(positions)
        if keep is None:
            args_used, ans_used = set(), False
            for pos in positions:
                spec = self.reads_of(pos)
                if spec is None:  # undeclared: keep everything
                    keep = (None, True)
                    break
                ans_used |= spec[0]
                if spec[1] is None:  # "args": every argument
                    args_used = None
                elif args_used is not None:
                    args_used |= spec[1]
            else:
                keep = (None if args_used is None else frozenset(args_used), ans_used)
            self._saves[positions] = keep
        return keep

    def saving_plan(self, mask, nargs):
        """``(drop, keep_ans)``: what reverse mode may forget about one call.

        ``mask`` has bit ``i`` set when argument ``i`` of the ``nargs`` is
        differentiated; ``drop`` lists the argument positions no vjp rule reads.
        Cached per call pattern: ``mask < 2**nargs``, so ``mask | nargs << nargs``
        is a unique key, and the steady state is one dict look-up.
        """
        key = mask | nargs << nargs
        plan = self._plans.get(key)
        if plan is None:
            positions = tuple(i for i in range(nargs) if mask >> i & 1)
            keep_args, keep_ans = self.saves_for(positions)
            drop = () if keep_args is None else tuple(
                i for i in range(nargs) if i not in keep_args
            )
            plan = self._plans[key] = (drop, keep_ans)
        return plan


def _parse_reads(name, reads):
    """``(row spec, per-argument specs)`` from a ``reads=`` declaration.

    A spec is ``(reads ans, frozenset of argument positions or None for all)``;
    ``None`` stands for undeclared (reverse mode then keeps everything).
    """
    if reads is None:
        return None, None
    if isinstance(reads, tuple):
        return _parse_spec(name, reads), None
    if isinstance(reads, list):
        return None, tuple(None if r is None else _parse_spec(name, r) for r in reads)
    raise TypeError(
        f"defprim({name!r}): reads= must be a tuple (what every vjp rule reads, e.g. "
        f"('ans', 1)) or a list with one such tuple per argument, not {type(reads).__name__}"
    )


def _parse_spec(name, spec):
    if not isinstance(spec, tuple):
        raise TypeError(
            f"defprim({name!r}): each entry of reads= must be a tuple such as ('ans', 0) "
            f"or (), not {spec!r}"
        )
    ans, args = False, set()
    for item in spec:
        if item == "ans":
            ans = True
        elif item == "args":
            args = None
        elif isinstance(item, int) and not isinstance(item, bool) and item >= 0:
            if args is not None:
                args.add(item)
        else:
            raise ValueError(
                f"defprim({name!r}): reads= names 'ans', 'args' (every argument) or "
                f"argument positions (ints >= 0), not {item!r}"
            )
    return ans, None if args is None else frozenset(args)


def _joint_rules(joint):
    """Per-argument vjp rules that call a joint vjp for one position each (for code
    that asks one argument at a time, e.g. :mod:`fgrad.graph`)."""

    def at(i):
        def rule(g, ans, *args, **params):
            return joint(g, ans, *args, wrt=(i,), **params)[0]

        return rule

    return _PositionRules(at)


def _rule_table(rules):
    if rules is None or isinstance(rules, _PositionRules):
        return rules
    return tuple(rules)


def defprim(name, impl, jvp=None, vjp=None, *, nondiff=False, batch=None, test=None,
            reads=None, vjp_joint=None, fresh=False, remat=0, indexed=False,
            no_derivative=None, replace=False, shape=None, dtype_from_values=False):
    """Declare a primitive: its numpy implementation and derivative rules.

    This is how fgrad itself fills its rule table, and how users extend it; a
    row is declared by this one call.  Rules are written with fgrad functions
    (``fgrad.numpy``), never raw numpy, so that derivatives of derivatives are
    traced too.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.core import defprim
        >>> cube = defprim("my_cube", lambda x: x**3,
        ...                jvp=[lambda t, ans, x: 3 * x**2 * t],
        ...                vjp=[lambda g, ans, x: 3 * x**2 * g],
        ...                reads=[(0,)])          # the vjp reads x, not the output
        >>> float(fgrad.grad(cube)(2.0))
        12.0
        >>> def hypot_vjp(g, ans, x, y, *, wrt):  # one division serves both
        ...     scale = g / ans
        ...     return tuple(scale * (x, y)[i] for i in wrt)
        >>> my_hypot = defprim("my_hypot", lambda x, y: (x * x + y * y) ** 0.5,
        ...                    jvp=[lambda t, ans, x, y: t * x / ans,
        ...                         lambda t, ans, x, y: t * y / ans],
        ...                    vjp_joint=hypot_vjp, reads=("ans", 0, 1))
        >>> [round(float(d), 12) for d in fgrad.grad(my_hypot, argnums=(0, 1))(3.0, 4.0)]
        [0.6, 0.8]

    Args:
        name: unique name, also shown in error messages and graph listings.
        impl: numpy implementation ``impl(*args, **params)``.
        jvp: sequence of per-argument tangent rules (or :class:`variadic`).
        vjp: sequence of per-argument cotangent rules (or :class:`variadic`);
            may be left out when ``vjp_joint`` is given.
        nondiff: mark the output as carrying no derivative.
        batch: batching rule or category, for ``vmap``.
        test: hints for the systematic test (domain, sample arguments).
        reads: what the vjp rules read, so reverse mode keeps only that alive:
            a tuple for every rule of the row, or a list with one tuple per
            argument (in ``vjp``'s order).  A tuple holds ``"ans"`` (the output),
            argument positions (``0``, ``1``...) or ``"args"`` (every argument);
            ``()`` means only ``g`` and the keyword parameters.  Left out (or a
            ``None`` entry): everything is kept, which is always correct.  A
            declaration that misses something a rule reads makes the rule see
            ``None`` there (tests/test_row_declarations.py checks fgrad's rows).
        vjp_joint: ``vjp_joint(g, ans, *args, wrt, **params)`` returning a tuple
            with the cotangent of each argument position in ``wrt``; reverse mode
            uses it instead of the per-argument rules, so work the cotangents
            share (a factorisation, a re-run) is done once.
        fresh: declare that every vjp result, on plain numpy values, is a new
            array no one else holds (``g * d``, never ``g`` itself or a stored
            array): reverse mode may then add other cotangents into it in place.
        remat: the cost of recomputing the output (1 arithmetic, 4 a function
            like ``sin``; 0, the default, never): reverse mode may recompute a
            large output instead of keeping it alive.
        indexed: the vjp is ``g`` scattered at ``params["idx"]`` into zeros
            shaped like the only argument (``getitem``).
        no_derivative: ``{position: reason}`` for arguments without a rule: the
            TypeError for such a derivative says why, and so does docs/coverage.md.
        shape: the output's shape and dtype without running ``impl``:
            ``shape(*args, **params) -> (shape, dtype)``, where each traced argument
            is an abstract value with only ``.shape`` and ``.dtype`` (used by
            ``fgrad.eval_shape``; see docs/adding-a-primitive.md).  Rows of the
            ``batch`` categories ``elementwise``, ``reduce``, ``axis``, ``reshape``,
            ``transpose``, ``broadcast_to``, ``concatenate``, ``getitem``,
            ``index_update`` and ``matmul`` get theirs from the category.
        dtype_from_values: ``True`` for a row whose output dtype numpy picks from the
            values (``eig`` of a real matrix is complex only when some eigenvalue
            is): ``fgrad.jit`` then checks the dtype on every call of a program,
            instead of assuming the traced call's.
        replace: ``True`` lets this declaration run again (a notebook cell re-run
            after fixing a rule): a row of the same name that was itself declared
            with ``replace=True`` is replaced by the new one.  fgrad's own rows,
            and rows declared without ``replace=True``, are never replaced.
            Functions returned by the earlier declaration keep its rules; use the
            one this call returns.

    Returns:
        The user-facing function (``prim.fn``); the :class:`Primitive` itself is
        ``PRIMITIVES[name]`` and also ``fn.primitive``.
    """
    if not isinstance(replace, bool):
        raise TypeError(f"defprim's replace= takes True or False, not {replace!r}")
    # the rows declared so far (loads nothing); with replace=True the whole table,
    # so that none of fgrad's rows loaded on first use is taken for a free name
    if replace and name in PRIMITIVES and name not in PRIMITIVES._replaceable:
        raise ValueError(
            f"a primitive named {name!r} is already in the table and was declared without "
            "replace=True, so it cannot be replaced (fgrad's own rows never can): choose "
            "another name, or restart Python to declare your row anew")
    if not replace and dict.__contains__(PRIMITIVES, name):
        again = (" (it was declared with replace=True: pass replace=True again to replace it)"
                 if name in PRIMITIVES._replaceable else
                 "; to declare a row of your own again (re-running a notebook cell, say), "
                 "declare it with replace=True from the start, and choose a name that is "
                 "not one of fgrad's")
        raise ValueError(f"a primitive named {name!r} is already in the table{again}")
    if not nondiff and (jvp is None or vjp is None and vjp_joint is None):
        raise ValueError(
            f"primitive {name!r} needs both jvp and vjp rules, or nondiff=True"
        )
    prim = Primitive(name, impl, _rule_table(jvp), _rule_table(vjp), nondiff, batch, test,
                     vjp_joint=vjp_joint, reads=reads, fresh=fresh, remat=remat,
                     indexed=indexed, no_derivative=no_derivative, shape=shape)
    if dtype_from_values:
        prim.dtype_from_values = True
    PRIMITIVES[name] = prim
    if replace:
        PRIMITIVES._replaceable.add(name)
    return prim.fn


def defelementwise(name, impl, *partials, batch="elementwise", test=None, vjp=None,
                   reads=None, remat=0, no_derivative=None, shape=None):
    """Declare an elementwise primitive from its partial derivatives.

    ``partials[i](ans, *args)`` is the derivative of the output with respect to
    argument ``i`` (elementwise), written with fgrad functions; ``None`` marks a
    non-differentiable argument.  Then ``jvp_i = t * d_i`` and ``vjp_i = g * d_i``.
    Broadcasting is undone centrally by the traces.
    ``vjp`` may override the derived cotangent rules (e.g. for complex inputs).
    ``reads`` declares what the partials (or the ``vjp`` override) read, as for
    :func:`defprim`; ``remat`` is the cost of recomputing the output.

    Example:
        >>> from fgrad.core import defelementwise
        >>> import fgrad, fgrad.numpy as fnp, numpy as np
        >>> softsign = defelementwise("my_softsign", lambda x: x / (1 + np.abs(x)),
        ...                           lambda ans, x: 1 / (1 + fnp.abs(x)) ** 2,
        ...                           reads=(0,))
        >>> float(fgrad.grad(softsign)(0.0))
        1.0
    """
    jvps, vjps = [], []
    for d in partials:
        if d is None:
            jvps.append(None)
            vjps.append(None)
            continue
        jvps.append(_elementwise_rule(d, len(partials)))
        vjps.append(_elementwise_rule(d, len(partials)))
    return defprim(
        name, impl, jvps, vjp if vjp is not None else vjps, batch=batch, test=test,
        reads=reads, fresh=vjp is None, remat=remat, no_derivative=no_derivative,
        shape=shape,
    )


def _mul(a, b):
    return PRIMITIVES["multiply"].fn(a, b)


def _elementwise_rule(d, nargs):
    """``rule(t, ans, *args) = t * d(ans, *args)``, specialised for one or two args."""
    # the ``multiply`` row's function itself when it exists (no look-up per call)
    mul = PRIMITIVES["multiply"].fn if "multiply" in PRIMITIVES else _mul
    # On plain arrays the product is written as an operator: numpy then multiplies
    # into ``d``'s result when that is a fresh temporary (its temporary elision),
    # so a backward pass over large arrays allocates one array per rule, not two.
    # When ``ans`` or an argument is a tracer (reverse mode passes None for what a rule
    # does not read), so is ``d``'s result: an array times a tracer would take numpy's
    # slow override path, so those go through ``mul``.
    if nargs == 1:

        def rule(t, ans, x):
            if type(t) is np.ndarray and not isinstance(ans, Tracer) and not isinstance(x, Tracer):
                return t * d(ans, x)
            return mul(t, d(ans, x))

    elif nargs == 2:

        def rule(t, ans, x, y):
            if (
                type(t) is np.ndarray
                and not isinstance(ans, Tracer)
                and not isinstance(x, Tracer)
                and not isinstance(y, Tracer)
            ):
                return t * d(ans, x, y)
            return mul(t, d(ans, x, y))

    else:

        def rule(t, ans, *args):
            return mul(t, d(ans, *args))

    rule.partial = d  # what the rule multiplies by (its reads are d's)
    return rule


# --------------------------------------------------------------------------
# Tracers
# --------------------------------------------------------------------------

_levels = itertools.count(1)

# How tracers' operators and methods reach the rows and the public functions.
# Core imports nothing from fgrad: operators name their rows (looked up in
# PRIMITIVES), methods name public functions (looked up in FUNCTIONS, which
# fgrad.numpy fills when it loads).


def _row_method(name, row):
    """Tracer method ``name`` that runs row ``row`` with the tracer first (``x * y``).

    On its first call it puts a copy of the row's function (same code and closure)
    on :class:`Tracer` in its own place, so from then on ``x * y`` runs the row's
    function directly: one Python call per operation, the hottest path in fgrad.
    """

    def first_call(self, *args):
        fn = PRIMITIVES[row].fn
        method = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__,
                                    fn.__closure__)
        method.__kwdefaults__ = fn.__kwdefaults__
        method.__doc__ = f"``x.{name}(...)`` runs the row {row!r}."
        setattr(Tracer, name, method)
        return method(self, *args)

    first_call.__name__ = name
    first_call.__doc__ = f"``x.{name}(...)`` runs the row {row!r}."
    return first_call


def _reflected_row_method(name, row):
    """Tracer method ``name`` for a reflected operator: ``y + x`` is ``row(y, x)``."""

    def method(self, other):
        return PRIMITIVES[row].fn(other, self)

    method.__name__ = name
    method.__doc__ = f"``other {name}`` with a tracer on the right runs the row {row!r}."
    return method


def _function_method(name, function):
    """Tracer method ``name``: ``x.name(*args)`` is ``fgrad.numpy.function(x, *args)``."""

    def method(self, *args, **kwargs):
        return FUNCTIONS[function](self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``x.{name}(...)`` is ``fgrad.numpy.{function}(x, ...)``."
    return method


def _function_property(function, doc):
    return property(lambda self: FUNCTIONS[function](self), doc=doc)


def _in_place_method(name):

    def method(self, *args, **kwargs):
        raise TypeError(
            f"x.{name}() works in place in numpy, and traced arrays are immutable. "
            f"Write x = fgrad.numpy.{name}(x, ...) (or np.{name}(x, ...)) instead."
        )

    method.__name__ = name
    method.__doc__ = f"Refused: ``x.{name}()`` sorts in place; use ``fgrad.numpy.{name}(x)``."
    return method


_COVERAGE = "docs/coverage.md"


def _unsupported(name):
    return TypeError(
        f"fgrad has no derivative rule for numpy's {name}, so it cannot be applied to a "
        f"traced value. See {_COVERAGE} for what is covered; use fgrad.numpy "
        "(import fgrad.numpy as fnp), define the derivative with fgrad.custom_vjp / "
        "fgrad.core.defprim, or wrap the argument in fgrad.stop_gradient if no "
        "derivative is needed."
    )


def _accumulate(scan, array, axis=0, dtype=None, out=None):
    # ufunc.accumulate's defaults differ from cumsum's: axis 0, and no scalars
    if np.ndim(concrete(array)) == 0:
        raise TypeError("cannot accumulate on a scalar")
    return scan(array, axis=axis, dtype=dtype)


class Trace:
    """Base class of the traces that transforms open (one per transform call).

    ``level`` orders nested traces: the newest (innermost) has the highest
    level.  ``alive`` is cleared when the transform returns, so a tracer that
    escapes raises :class:`LeakedTracerError` instead of giving a wrong number.
    """

    __slots__ = ("level", "alive", "__weakref__")

    def __init__(self):
        self.level = next(_levels)
        self.alive = True
        if OPERAND_HOOKS:
            _run_operand_hooks()

    def process(self, prim, args, params):  # pragma: no cover - abstract
        raise NotImplementedError

    def split(self, values, own, other):
        """Two lists from ``values``: the pair ``own(x)`` for each of this trace's
        tracers, the pair ``other(x)`` for anything else (a constant, or a tracer
        of another transform).  Example: a tracer's values and tangents, with
        zero tangents for constants."""
        firsts, seconds = [], []
        for x in values:
            first, second = own(x) if isinstance(x, Tracer) and x._trace is self else other(x)
            firsts.append(first)
            seconds.append(second)
        return firsts, seconds

    def leaked(self, prim):
        return LeakedTracerError(
            f"a tracer from {type(self).__name__.replace('Trace', '').lower()} "
            f"mode was used in {prim.name!r} after its transform had returned. "
            "A value was stored outside the function being differentiated "
            "(a global, a list, an attribute, or the aux output of a call that "
            "should have been unpacked). Return the value from the function "
            "instead, or wrap it in fgrad.stop_gradient before storing it."
        )


class Tracer:
    """An array-like stand-in for a value inside a transform.

    Tracers carry their concrete value (``.value``), so Python control flow on
    them works; arithmetic, comparisons and array methods dispatch to
    fgrad.numpy, and numpy's own functions reach fgrad through NEP 13/18.
    """

    __slots__ = ("value", "_trace")
    __array_priority__ = 1000
    __hash__ = None

    #: True when ``.value`` is this tracer's actual value (forward and reverse mode),
    #: False when it stands for something else (vmap's examples, a graph placeholder):
    #: rows may then compute on the value directly, without asking which trace runs.
    holds_value = False

    #: True for a traced Python float (fgrad.jit traces Python scalars as they are): reverse
    #: mode holds such an input as numpy's float64, as it does a plain Python float.
    python_float = False

    #: The type of the value this tracer stands for (np.ndarray, np.float64, float, ...)
    #: when its trace fixes it for every call (fgrad.jit's does); None when unknown.
    value_type = None

    # Attributes of the concrete value ---------------------------------
    @property
    def shape(self):
        return shape_of(self)

    @property
    def ndim(self):
        return np.ndim(concrete(self))

    @property
    def size(self):
        return np.size(concrete(self))

    @property
    def itemsize(self):
        return np.dtype(dtype_of(self)).itemsize

    @property
    def nbytes(self):
        return self.size * self.itemsize

    @property
    def dtype(self):
        return dtype_of(self)

    def __len__(self):
        return _length(self, "traced array")

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        # Control flow on traced values is allowed: the branch taken is a
        # decision, not a value that flows into the derivative.
        return bool(concrete(self))

    def __repr__(self):
        return f"{type(self).__name__}({concrete(self)!r})"

    # Conversions that would silently drop the derivative -----------------
    def _no_conversion(self, what):
        raise TypeError(
            f"{what}() of a traced value would drop its derivative. Keep it as an "
            "array (use fgrad.numpy functions), or call fgrad.stop_gradient(x) "
            "first if a constant is really meant."
        )

    def __float__(self):
        self._no_conversion("float")

    def __int__(self):
        self._no_conversion("int")

    def __complex__(self):
        self._no_conversion("complex")

    def __index__(self):
        self._no_conversion("operator.index")

    def item(self, *args):
        self._no_conversion("item")

    def tolist(self):
        self._no_conversion("tolist")

    def __array__(self, dtype=None, copy=None):
        sparse = ""
        if "scipy.sparse" in sys.modules:  # the likeliest callers, when loaded
            sparse = (
                " With scipy.sparse: products S @ x, x @ S, S.dot(x) work on traced x "
                "(scipy.sparse imported before the transform starts); for solves use "
                "fgrad.scipy.sparse.linalg (spsolve, splu(A).solve, factorized) instead "
                "of scipy.sparse.linalg's."
            )
        raise TracerConversionError(
            "a traced value was converted to a plain numpy array, which would silently "
            "drop its derivative. numpy does this in np.array / np.asarray, and in numpy "
            "functions that convert a list themselves before fgrad sees the call "
            "(np.array([x, y]), np.mean([x, y])). Build arrays of traced values with "
            "fnp.array([...]) or fnp.stack([...]) and call fgrad.numpy's functions, which "
            "accept lists of traced values (fnp.mean([x, y]); import fgrad.numpy as fnp), "
            "or use fgrad.stop_gradient(x) if a constant is really meant. A traced integer "
            "used as an index into a numpy array (xs[i] with a traced i, e.g. the index of "
            "a fgrad.lax loop) meets the same conversion: write fnp.take(xs, i)." + sparse
        )

    # In-place mutation is not functional ----------------------------------
    def __setitem__(self, idx, val):
        raise TypeError(
            "traced arrays are immutable: `x[idx] = v` would change a value the "
            "derivative depends on. Write `x = x.at[idx].set(v)` (or "
            "`.at[idx].add(v)`), or build the array with fgrad.numpy.stack / "
            "concatenate."
        )

    @property
    def _data(self):
        # numpy.ma reads ``._data`` of every operand (np.ma.getdata) before anything
        # else: ``masked * x`` lands here and gets the masked-array refusal
        check_value(np.ma.masked_array([]), "numpy.ma (a masked array operation)")

    # Operators: rows of the table -------------------------------------------
    __add__, __radd__ = _row_method("__add__", "add"), _reflected_row_method("__radd__", "add")
    __sub__ = _row_method("__sub__", "subtract")
    __rsub__ = _reflected_row_method("__rsub__", "subtract")
    __mul__ = _row_method("__mul__", "multiply")
    __rmul__ = _reflected_row_method("__rmul__", "multiply")
    __truediv__ = _row_method("__truediv__", "divide")
    __rtruediv__ = _reflected_row_method("__rtruediv__", "divide")
    __pow__, __rpow__ = _row_method("__pow__", "power"), _reflected_row_method("__rpow__", "power")
    __matmul__ = _row_method("__matmul__", "matmul")
    __rmatmul__ = _reflected_row_method("__rmatmul__", "matmul")
    __mod__, __rmod__ = _row_method("__mod__", "mod"), _reflected_row_method("__rmod__", "mod")
    __floordiv__ = _row_method("__floordiv__", "floor_divide")
    __rfloordiv__ = _reflected_row_method("__rfloordiv__", "floor_divide")
    __lt__, __le__ = _row_method("__lt__", "less"), _row_method("__le__", "less_equal")
    __gt__, __ge__ = _row_method("__gt__", "greater"), _row_method("__ge__", "greater_equal")
    __eq__, __ne__ = _row_method("__eq__", "equal"), _row_method("__ne__", "not_equal")
    __and__, __or__ = _row_method("__and__", "logical_and"), _row_method("__or__", "logical_or")
    __neg__ = _row_method("__neg__", "negative")
    __abs__ = _row_method("__abs__", "absolute")
    __invert__ = _row_method("__invert__", "logical_not")

    def __pos__(self):
        return self

    # Operators and methods that are public functions (composites) -------------
    def __getitem__(self, idx):
        return FUNCTIONS["getitem"](self, idx)

    def __divmod__(self, other):
        return FUNCTIONS["divmod"](self, other)

    def __rdivmod__(self, other):
        return FUNCTIONS["divmod"](other, self)

    sort, partition = _in_place_method("sort"), _in_place_method("partition")

    T = _function_property("transpose", "The transpose (``fgrad.numpy.transpose(x)``).")
    mT = _function_property("matrix_transpose", "Transpose of the last two axes.")
    real = _function_property("real", "The real part (``fgrad.numpy.real(x)``).")
    imag = _function_property("imag", "The imaginary part (``fgrad.numpy.imag(x)``).")
    at = _function_property("at", "Indexed updates: ``x.at[idx].set(v)`` / ``.add(v)`` ...")

    # The array API standard: the namespace (fgrad.numpy.array_api) and the one device
    def __array_namespace__(self, *, api_version=None):
        """The array API namespace over fgrad (``fgrad.numpy.array_api``)."""
        return FUNCTIONS["__array_namespace__"](api_version)

    device = "cpu"

    def to_device(self, device, /, *, stream=None):
        """``self`` on ``device``; fgrad has one device, ``"cpu"``."""
        if device != "cpu":
            raise ValueError(f"fgrad has one device, 'cpu'; got {device!r}")
        return self

    def reshape(self, *shape, order="C"):
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``, as ``fgrad.numpy.reshape``."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return FUNCTIONS["reshape"](self, shape, order)

    def transpose(self, *axes):
        """``x.transpose(1, 0)`` or ``x.transpose((1, 0))``, as ``fgrad.numpy.transpose``."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return FUNCTIONS["transpose"](self, axes or None)

    def copy(self, order="C"):
        """A copy (``fgrad.numpy.copy(x)``)."""
        return FUNCTIONS["copy"](self)

    def __copy__(self):
        """``copy.copy(x)``: ``fgrad.numpy.copy(x)``, a copy that keeps the derivative
        (the identity function; ``fgrad.stop_gradient`` is what drops it)."""
        return FUNCTIONS["copy"](self)

    def __deepcopy__(self, memo):
        """``copy.deepcopy(x)``: as ``copy.copy(x)``; the trace is not copied."""
        return FUNCTIONS["copy"](self)

    def dot(self, b):
        """``x.dot(b)``: ``fgrad.numpy.dot(x, b)`` (refused for a scipy.sparse ``b``, as
        numpy's ``ndarray.dot`` does not know sparse matrices: write ``x @ S``)."""
        _refuse_sparse_in_numpy((b,), "x.dot(S) (ndarray.dot)")
        return FUNCTIONS["dot"](self, b)

    def compress(self, condition, axis=None):
        """``fgrad.numpy.compress(condition, x, axis)``."""
        return FUNCTIONS["compress"](condition, self, axis)

    # numpy's protocols: numpy code called on tracers reaches fgrad -----------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # (a call goes to a row's function, which refuses masked arrays and np.matrix
        # itself; reductions and accumulations are checked here)
        if method != "__call__":
            check_values(inputs, f"numpy.{ufunc.__name__}")
        _refuse_sparse_in_numpy(inputs, f"numpy.{ufunc.__name__}")
        if kwargs.get("out") is not None:
            raise TypeError(
                f"numpy.{ufunc.__name__}(..., out=...) would write a traced value into an "
                "existing array in place. Use the returned value instead (x = x + y), or "
                "x.at[idx].set(v) for indexed updates."
            )
        if method == "__call__":
            fn = NUMPY_UFUNCS.get(ufunc)
            if fn is not None:
                kwargs.pop("out", None)
                return fn(*inputs, **kwargs)
        elif method == "reduce" and ufunc in NUMPY_REDUCERS:
            return NUMPY_REDUCERS[ufunc](*inputs, **kwargs)
        elif method == "accumulate" and ufunc in NUMPY_ACCUMULATORS:
            return _accumulate(NUMPY_ACCUMULATORS[ufunc], *inputs, **kwargs)
        raise _unsupported(ufunc.__name__ + ("" if method == "__call__" else "." + method))

    def __array_function__(self, func, types, args, kwargs):
        check_values(args, f"numpy.{func.__name__}")
        check_values(kwargs.values(), f"numpy.{func.__name__}")
        _refuse_sparse_in_numpy(args, f"numpy.{func.__name__}")
        fn = NUMPY_FUNCTIONS.get(func)
        if fn is None:
            mod = getattr(func, "__module__", "numpy") or "numpy"
            raise _unsupported(f"{mod}.{func.__name__}")
        return fn(*args, **kwargs)


# Methods that are public functions: ``x.name(...)`` is ``fgrad.numpy.<function>(x, ...)``
# (method name -> function name).
_FUNCTION_METHODS = {
    "sum": "sum", "mean": "mean", "prod": "prod", "max": "amax", "min": "amin",
    "var": "var", "std": "std", "ptp": "ptp", "any": "any", "all": "all",
    "cumsum": "cumsum", "cumprod": "cumprod", "argmax": "argmax", "argmin": "argmin",
    "argsort": "argsort", "argpartition": "argpartition", "searchsorted": "searchsorted",
    "nonzero": "nonzero", "clip": "clip", "round": "round",
    "astype": "astype", "conj": "conjugate", "conjugate": "conjugate",
    "ravel": "ravel", "flatten": "ravel", "squeeze": "squeeze", "swapaxes": "swapaxes",
    "diagonal": "diagonal", "trace": "trace", "repeat": "repeat", "take": "take",
}
for _method, _function in _FUNCTION_METHODS.items():
    setattr(Tracer, _method, _function_method(_method, _function))
del _method, _function


def is_tracer(x):
    """True if ``x`` is a tracer of any live or dead transform."""
    return isinstance(x, Tracer)


def refuse_out(out, name):
    """Refuse ``out=`` in ``fgrad.numpy.<name>`` on traced values: a traced result
    cannot be written into an existing array.

    Example:
        >>> from fgrad.core import refuse_out
        >>> refuse_out(None, "cumsum")  # nothing given: nothing to refuse
        >>> refuse_out([0.0], "cumsum")
        Traceback (most recent call last):
        ...
        TypeError: fgrad.numpy.cumsum does not support out= on traced values: a traced result cannot be written into an existing array in place. Use the returned value instead (y = fnp.cumsum(...)), and x.at[idx].set(v) for indexed updates.
    """
    if out is not None:
        raise keyword_refusal(f"fgrad.numpy.{name}", "out")


def keyword_refusal(function, keyword, traced=True):
    """The TypeError for numpy's ``out=`` or ``where=`` given to ``function`` (its
    full name, ``"fgrad.numpy.sin"``) where fgrad does not support it: on traced
    values (``traced=True``) or at all.

    Example:
        >>> from fgrad.core import keyword_refusal
        >>> error = keyword_refusal("fgrad.numpy.sin", "where")
        >>> "fnp.where(mask, fnp.sin(...), fallback)" in str(error)
        True
    """
    short = "fnp." + function.split("fgrad.numpy.", 1)[-1]
    on = " on traced values" if traced else ""
    if keyword == "out" and not traced:
        return TypeError(
            f"{function} does not support out=: it returns a new array. Use the returned "
            f"value instead (y = {short}(...)); on plain arrays, numpy's own function "
            "writes into out= in place."
        )
    if keyword == "out":
        return TypeError(
            f"{function} does not support out={on}: a traced result cannot be written "
            f"into an existing array in place. Use the returned value instead "
            f"(y = {short}(...)), and x.at[idx].set(v) for indexed updates."
        )
    return TypeError(
        f"{function} does not support where={on}: without out= numpy leaves the "
        "entries where the mask is False uninitialized, and a traced result cannot be "
        f"written into out=. Select instead: fnp.where(mask, {short}(...), fallback), "
        "which differentiates the branch it selects (the reductions sum, mean, prod, "
        "max, min, var, std and their nan-versions take where= with derivatives)."
    )


#: numpy's ufunc keywords whose default asks for nothing: dropped on traced values
_UFUNC_DEFAULTS = {"dtype": None, "casting": "same_kind", "order": "K", "subok": True,
                   "signature": None}
_UFUNC_FIXES = {
    "dtype": "cast the input or the result with fnp.astype(x, dtype) instead",
    "casting": "cast the inputs with fnp.astype first instead",
    "order": "the memory layout of a traced result is numpy's choice; leave order out",
    "subok": "traced results are plain arrays; leave subok out",
    "signature": "choose the loop by casting the inputs with fnp.astype instead",
}


def _ufunc_keywords(name, params):
    """The keyword parameters of a ufunc row's call on traced values, once numpy's
    ufunc keywords at their defaults are dropped; a TypeError for any other value
    (the derivative rules take no keywords, so none may reach them)."""
    for keyword, value in list(params.items()):
        default = _UFUNC_DEFAULTS.get(keyword, params)
        if default is not params and (value is default or value == default):
            del params[keyword]
            continue
        fix = _UFUNC_FIXES.get(keyword)
        if fix is None:
            raise TypeError(
                f"fgrad.numpy.{name} got an unexpected keyword argument {keyword}=; it takes "
                "numpy's arguments of the ufunc (on traced values only the arrays, and out=None"
                ", where=True and the other keywords at their defaults)")
        raise TypeError(
            f"fgrad.numpy.{name} does not support {keyword}={value!r} on traced values: "
            f"{fix} (on plain arrays numpy's own keyword works)")
    return params


def top_trace(values):
    """The newest (innermost) trace among the tracers in ``values``, or None.

    Example:
        >>> import fgrad
        >>> from fgrad.core import top_trace
        >>> top_trace([1.0, 2.0]) is None
        True
        >>> fgrad.grad(lambda x: (print(type(top_trace([1.0, x])).__name__), x)[1])(3.0)
        ReverseTrace
        np.float64(1.0)
    """
    top = None
    for x in values:
        if isinstance(x, Tracer):
            t = x._trace
            if top is None or t.level > top.level:
                top = t
    return top


def any_tracer(*xs):
    """True if any of the arguments is a tracer (the test every composite makes
    before deciding between numpy and the traced path).

    Example:
        >>> from fgrad.core import any_tracer
        >>> any_tracer(1.0, [2.0])
        False
    """
    for x in xs:
        if isinstance(x, Tracer):
            return True
    return False


# --------------------------------------------------------------------------
# Values fgrad refuses: masked arrays and np.matrix
# --------------------------------------------------------------------------

#: ndarray subclasses whose operations mean something else than ndarray's (a masked
#: array's reductions skip masked entries; ``*`` on ``np.matrix`` is the matrix
#: product).  Traced values follow ndarray semantics and rules know nothing of masks,
#: so accepting them would give values that follow the subclass and derivatives that
#: do not: they are refused by type wherever they meet a transform.
REFUSED = (np.ma.MaskedArray, np.matrix)


def _refusal(x, where):
    if isinstance(x, np.ma.MaskedArray):
        return (
            f"{where}: got a numpy masked array (np.ma.MaskedArray), which fgrad does not "
            "support: numpy's values follow the mask but derivatives would not, so the "
            "result would be silently wrong. Pass plain arrays instead: the data and the "
            "mask separately (np.ma.getdata(x), np.ma.getmaskarray(x)), selecting with "
            "fnp.where(mask, 0.0, x) or weighting by ~mask (e.g. fnp.sum(w * x) / fnp.sum(w) "
            "for a masked mean), or x.filled(value) for a fixed fill value."
        )
    return (
        f"{where}: got an np.matrix, which fgrad does not support: for np.matrix `*` and "
        "`**` are matrix products and reductions keep two dimensions, while traced values "
        "follow ndarray semantics, so the result would silently differ from the plain "
        "call. Convert with np.asarray(m) and write matrix products with `@` "
        "(or fnp.matmul)."
    )


def check_value(x, where):
    """Raise a TypeError naming the type and the fix when ``x`` is a masked array or
    an ``np.matrix`` (see :data:`REFUSED`); ``where`` names the transform or function.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import check_value
        >>> check_value(np.ones(2), "grad")  # plain arrays pass
        >>> check_value(np.matrix([[1.0]]), "grad")
        Traceback (most recent call last):
        ...
        TypeError: grad: got an np.matrix, which fgrad does not support: ...
    """
    if type(x) is not np.ndarray and isinstance(x, REFUSED):
        raise TypeError(_refusal(x, where))


def check_values(values, where):
    """:func:`check_value` on each of ``values`` and on the entries of lists and
    tuples among them (``np.concatenate([x, m])``).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import check_values
        >>> check_values([1.0, [np.ones(2)]], "vmap")
    """
    ndarray = np.ndarray
    for v in values:
        t = type(v)
        if t is ndarray or t is float:
            continue
        if t is list or t is tuple:
            for item in v:
                if type(item) is not ndarray and isinstance(item, REFUSED):
                    raise TypeError(_refusal(item, where))
        elif isinstance(v, REFUSED):
            raise TypeError(_refusal(v, where))


#: What transforms accept as inputs, for the errors that refuse anything else.
ACCEPTED_INPUTS = (
    "fgrad accepts numbers (float, complex; int and bool where nothing is differentiated), "
    "numpy arrays and scalars of those dtypes, nested in tuples, lists, dicts and "
    "registered pytree nodes"
)


def is_duck_array(x):
    """True for an array of another library that follows numpy's protocols (NEP 13
    and NEP 18) -- a ``dask.array.Array``, a ``cupy.ndarray`` -- which fgrad traces
    without converting it: its values stay where they are (lazy, on disk, on a GPU),
    and rules read only its metadata (``shape``, ``dtype``).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import is_duck_array
        >>> is_duck_array(np.ones(3)), is_duck_array([1.0])
        (False, False)
    """
    t = type(x)
    return (
        hasattr(t, "__array_function__") and hasattr(t, "__array_ufunc__")
        and not isinstance(x, (np.ndarray, np.generic, Tracer))
        and isinstance(getattr(x, "shape", None), tuple) and hasattr(x, "dtype")
    )


def as_array(x):
    """``x`` as an array without converting arrays: a numpy array or an array of
    another library (:func:`is_duck_array`) is returned as it is, anything else
    goes through ``np.asarray``.  Rows use it where numpy's code would call
    ``np.asarray``, so a lazy or GPU array is never pulled into memory.

    Example:
        >>> from fgrad.core import as_array
        >>> as_array([1.0, 2.0])
        array([1., 2.])
    """
    if type(x) is np.ndarray or is_duck_array(x):
        return x
    return np.asarray(x)


#: While ``fgrad.eval_shape`` runs, ``[make]`` with ``make(shape, dtype)`` giving a value of
#: that shape and dtype in its abstract trace (fgrad.staging.AbstractTrace): the zeros and
#: seeds the transforms make for traced values are made with it, so that none is
#: allocated at full size; ``[None]`` otherwise.
ABSTRACT_PLACEHOLDER = [None]


def zeros_like_value(x, dtype=None):
    """Zeros of the shape of ``x``'s value: a numpy array, or for an array of
    another library an array of that library, with its chunks (no data read).

    Example:
        >>> from fgrad.core import zeros_like_value
        >>> zeros_like_value(2.0), zeros_like_value([[1, 2]], dtype=float)
        (array(0.), array([[0., 0.]]))
    """
    v = concrete(x)
    if is_duck_array(v):
        return np.zeros_like(v, dtype=dtype or v.dtype)
    if ABSTRACT_PLACEHOLDER[0] is not None and isinstance(x, Tracer):  # fgrad.eval_shape
        return ABSTRACT_PLACEHOLDER[0](tuple(shape_of(v)), np.dtype(dtype or dtype_of(v)))
    return np.zeros(shape_of(v), dtype=dtype or dtype_of(v))


def leaf_problem(x):
    """``None`` for a numeric leaf (a number, a numeric array or numpy scalar, a
    tracer), else what it is, in words, for an error message.

    Example:
        >>> from fgrad.core import leaf_problem
        >>> leaf_problem(1.5) is None, leaf_problem("float64")
        (True, "a str ('float64')")
    """
    t = type(x)
    if t is float or t is int or t is bool or t is complex or isinstance(x, Tracer):
        return None
    if isinstance(x, (np.ndarray, np.generic)):
        if x.dtype.kind in "biufc":
            return None
        return f"a numpy {'array' if isinstance(x, np.ndarray) else 'scalar'} of dtype {x.dtype}"
    if isinstance(x, (int, float, complex)):  # subclasses of the Python numbers
        return None
    if is_duck_array(x):
        if np.dtype(x.dtype).kind in "biufc":
            return None
        return f"a {t.__name__} of dtype {x.dtype}"
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    article = "an" if t.__name__[:1].lower() in "aeiou" else "a"
    return f"{article} {t.__name__} ({text})"


def concrete(x):
    """The plain numpy value under any number of tracer layers.

    Example:
        >>> import fgrad
        >>> fgrad.grad(lambda x: (print(fgrad.core.concrete(x)), x * x)[1])(3.0)
        3.0
        np.float64(6.0)
    """
    while isinstance(x, Tracer):
        x = x.value
    return x


def _holds_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        for item in obj:
            if _holds_tracer(item):
                return True
    return False


def _nested_shape(obj):
    """The shape numpy would give the nested sequence ``obj``; None when ragged."""
    if isinstance(obj, (list, tuple)):
        shapes = {_nested_shape(item) for item in obj}
        if None in shapes or len(shapes) > 1:
            return None
        return (len(obj),) + (shapes.pop() if shapes else ())
    if isinstance(obj, Tracer):
        return shape_of(obj)
    try:
        return np.shape(obj)
    except ValueError:  # a ragged plain sequence
        return None


def _as_array(seq):
    """``seq`` (a list or tuple holding tracers) as one traced array, as
    ``fgrad.numpy.array`` makes it; when ``seq`` is ragged, a list of its items
    made arrays one level down (``concatenate([[x, 1.0], [y]])`` joins two).
    The result is ``seq`` itself when nothing could be made an array."""
    if _nested_shape(seq) is not None:
        return FUNCTIONS["array"](seq)
    items = [_as_array(item) if isinstance(item, (list, tuple)) and _holds_tracer(item)
             else item for item in seq]
    if all(new is old for new, old in zip(items, seq)):
        return seq
    return items


def lift_array_likes(args, kwargs, where, lift_keywords=True):
    """``(args, kwargs)`` with every list or tuple that holds tracers made one traced
    array (as ``fgrad.numpy.array`` makes it); ``None`` when none holds one.  A ragged
    sequence raises a ValueError naming ``where`` (the function) and the argument.

    Example:
        >>> import fgrad
        >>> from fgrad.core import lift_array_likes
        >>> lift_array_likes(([1.0, 2.0],), {}, "f") is None  # no tracer: nothing to do
        True
        >>> fgrad.grad(lambda x: lift_array_likes(([x, 1.0],), {}, "f")[0][0].sum())(2.0)
        np.float64(1.0)
    """
    if "array" not in FUNCTIONS:  # fgrad.numpy is not loaded: nothing to make arrays with
        return None
    changed = False
    new_args = list(args)
    new_kwargs = dict(kwargs)
    named = [(i, f"argument {i}", a) for i, a in enumerate(args)]
    if lift_keywords:
        named += [(k, f"`{k}`", v) for k, v in kwargs.items()]
    for key, name, value in named:
        if not isinstance(value, (list, tuple)) or not _holds_tracer(value):
            continue
        lifted = _as_array(value)
        if lifted is value:
            shapes = [_nested_shape(item) for item in value]
            raise ValueError(
                f"{where}: {name} is a sequence whose items have different shapes "
                f"({', '.join('ragged' if s is None else str(s) for s in shapes)}), so it "
                "is not an array (numpy refuses such ragged sequences too). Give items of "
                "one shape, or join them first with fnp.concatenate."
            )
        changed = True
        if isinstance(key, int):
            new_args[key] = lifted
        else:
            new_kwargs[key] = lifted
    return (tuple(new_args), new_kwargs) if changed else None


def with_arrays(fn, args, kwargs, err, where, lift_keywords=True):
    """``fn(*args, **kwargs)`` again, with the lists and tuples that hold tracers
    made traced arrays (:func:`lift_array_likes`), after numpy met a tracer inside
    one: ``err`` is the :class:`TracerConversionError` of the first call, raised
    again when no argument holds one.

    fgrad.numpy's functions call it from an ``except`` clause, so the ordinary call
    pays nothing for it.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.mean([x, 2 * x, 3.0]))(1.0)  # through with_arrays
        np.float64(1.0)
    """
    lifted = lift_array_likes(args, kwargs, where, lift_keywords)
    if lifted is None:
        raise err
    return fn(*lifted[0], **lifted[1])


def is_basic_index(idx):
    """True for numpy *basic* indexing (ints, slices, None, Ellipsis): a view, no copy.

    Example:
        >>> from fgrad.core import is_basic_index
        >>> is_basic_index((0, slice(1, None))), is_basic_index([0, 2])
        (True, False)
    """
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items
    )


class ManyValues:
    """Base class of concrete values that stand for several examples at once.

    ``concrete()`` of a tracer under ``fgrad.vmap`` is such a value
    (``fgrad.batching.BatchedValue``): one example's shape and dtype, and
    ``examples()``, every example's value with the examples along a leading
    axis.  Rows and namespaces ask through :func:`is_batched` and
    :func:`examples_of`, without knowing which transform made the value.
    """

    __slots__ = ()

    def examples(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __len__(self):
        return _length(self, "batched value")


def _length(value, what):
    """``len(value)``: the length of its first axis (a 0-d value has none)."""
    shape = value.shape
    if not shape:
        raise TypeError(f"len() of a 0-d {what}")
    return shape[0]


def is_batched(x):
    """True when ``x``'s concrete value stands for several examples (under vmap).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.core import is_batched
        >>> seen = []
        >>> _ = fgrad.vmap(lambda x: seen.append(is_batched(x)) or x)(fnp.ones(2))
        >>> is_batched(1.0), seen
        (False, [True])
    """
    return isinstance(concrete(x), ManyValues)


def examples_of(x):
    """The concrete value of ``x`` with a leading axis over vmap's examples.

    A plain value is one example (``value[None]``); under ``fgrad.vmap`` it is
    every example's value.  For static decisions that must hold for all of them.
    An array of another library (:func:`is_duck_array`) stays one: callers check
    for it and do not read its values.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.core import examples_of
        >>> examples_of(2.0)
        array([2.])
    """
    v = concrete(x)
    if isinstance(v, ManyValues):
        v = v.examples()
        return v if is_duck_array(v) else np.asarray(v)
    return v[None] if is_duck_array(v) else np.asarray(v)[None]


def shape_of(x):
    """The shape of ``x``'s concrete value (one example's shape under vmap).

    Example:
        >>> from fgrad.core import shape_of
        >>> shape_of([[1.0, 2.0]]), shape_of(3.0)
        ((1, 2), ())
    """
    value = concrete(x)
    shape = getattr(value, "shape", None)  # arrays and numpy scalars: no conversion
    return shape if type(shape) is tuple else np.shape(value)


def ndim_of(x):
    """The number of axes of ``x``'s concrete value.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import ndim_of
        >>> ndim_of(np.ones((2, 3))), ndim_of(1.0)
        (2, 0)
    """
    value = concrete(x)
    return value.ndim if type(value) is np.ndarray else np.ndim(value)


def dtype_of(x):
    """The dtype of ``x``'s concrete value (``np.result_type`` for Python scalars).

    Example:
        >>> from fgrad.core import dtype_of
        >>> dtype_of(1.0), dtype_of(2)
        (dtype('float64'), dtype('int64'))
    """
    value = concrete(x)
    dtype = getattr(value, "dtype", None)  # arrays and numpy scalars: no conversion
    return dtype if isinstance(dtype, np.dtype) else np.result_type(value)


# --------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------


# Numpy's arithmetic ufuncs called on numpy *scalars* cost ~1 us; Python's
# operators on the same scalars take numpy's scalar fast path (~0.08 us) and give
# bit-identical results.  Scalar-heavy code (and every backward pass, whose
# cotangents are often numpy scalars) spends much of its time here, so these rows
# take the shortcut when one operand is a numpy float/complex scalar and the
# other a scalar too.  Arrays and everything else go to the ufunc as usual.
_SCALAR_OPERATORS = {
    np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
    np.true_divide: operator.truediv,
}
_NUMPY_FLOATS = frozenset({np.float64, np.float32, np.complex128, np.complex64})
_SCALARS = _NUMPY_FLOATS | {float, int}
# Constants a row's function passes on without a closer look (anything else may be a
# masked array, an np.matrix or a scipy.sparse matrix meeting a tracer).
_UNCHECKED_CONSTANTS = _SCALARS | {np.ndarray, bool, complex, type(None)}


def _scalar_shortcut(impl):
    op = _SCALAR_OPERATORS.get(impl)
    if op is None:
        return impl
    floats, scalars = _NUMPY_FLOATS, _SCALARS

    def call(*args, **params):
        if len(args) == 2 and not params:
            tx, ty = type(args[0]), type(args[1])
            if tx in floats and ty in scalars or ty in floats and tx in scalars:
                return op(*args)
        return impl(*args, **params)

    call.__name__ = getattr(impl, "__name__", "call")
    return call


_NOT_GIVEN = object()  # marks a positional argument that was not passed
# constants that meet a tracer without further checks (anything else, a list or an
# ndarray subclass, takes the general path, which checks it)
_PLAIN_TYPES = frozenset({np.ndarray, float, int, complex, bool, np.float64, np.float32,
                          np.complex128, np.complex64, np.int64, np.int32, np.bool_}
                         ) | _UNCHECKED_CONSTANTS
_ANY_ARGUMENTS = inspect.Signature([
    inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
    inspect.Parameter("params", inspect.Parameter.VAR_KEYWORD),
])


def _make_function(prim):
    """The user-facing function of a row: numpy when no argument is a tracer.

    This is the hottest code in fgrad (every operation, traced or not, runs it),
    so the common calls (one or two positional arguments, no keywords) skip the
    general loop that finds the top trace among the arguments.
    """
    impl, plain = prim.call, prim.impl
    op = _SCALAR_OPERATORS.get(plain)  # the scalar shortcut, inlined below
    floats, scalars = _NUMPY_FLOATS, _SCALARS
    tracer = Tracer
    plain_types = _PLAIN_TYPES
    is_ufunc = isinstance(plain, np.ufunc)

    def bind_all(args, params):
        top, suspect = None, False
        for a in args:  # the top trace, and whether a constant needs a closer look
            if isinstance(a, tracer):
                t = a._trace
                if top is None or t.level > top.level:
                    top = t
            elif type(a) not in plain_types:
                suspect = True
        if top is None:
            return impl(*args, **params)
        if params and (is_ufunc or "out" in params):
            # a row's function on traced values: nothing is written into out=, and
            # numpy's where= without out= leaves entries uninitialized; their
            # defaults ask for nothing and are dropped (the rules do not take them)
            params = dict(params)
            if params.pop("out", None) is not None:
                raise keyword_refusal(f"fgrad.numpy.{prim.name}", "out")
            if is_ufunc and params.pop("where", True) is not True:
                raise keyword_refusal(f"fgrad.numpy.{prim.name}", "where")
            if is_ufunc and params and not prim.nondiff:  # numpy's other ufunc keywords:
                params = _ufunc_keywords(prim.name, params)  # the rules take none
        if suspect:  # a constant that is not a plain array or number meets a tracer:
            if any(is_sparse(a) for a in args):  # a scipy.sparse operator,
                return _sparse_operand(prim, args, params)
            check_values(args, repr(prim.name))  # a masked array / np.matrix (refused),
            # or a list holding tracers: made an array before any trace unwraps the
            # others (a trace would take the list for a constant)
            lifted = lift_array_likes(args, params, f"fgrad.numpy.{prim.name}", False)
            if lifted is not None:
                return fn(*lifted[0], **params)
        return top.process(prim, args, params)

    def fn(x=_NOT_GIVEN, y=_NOT_GIVEN, /, *rest, **params):
        try:  # (free when nothing is raised; a list holding tracers lands in the except)
            if rest or params or x is _NOT_GIVEN:
                args = (() if x is _NOT_GIVEN else (x,) if y is _NOT_GIVEN else (x, y)) + rest
                return bind_all(args, params)
            if y is _NOT_GIVEN:  # one argument
                if isinstance(x, tracer):
                    return x._trace.process(prim, (x,), params)
                return impl(x)
            if isinstance(x, tracer):  # two arguments: the newer trace processes the call
                if isinstance(y, tracer):
                    tx, ty = x._trace, y._trace
                    top = tx if tx is ty or tx.level > ty.level else ty
                    return top.process(prim, (x, y), params)
                if type(y) not in plain_types:  # a list, an ndarray subclass, sparse ...
                    return bind_all((x, y), params)
                return x._trace.process(prim, (x, y), params)
            if isinstance(y, tracer):
                if type(x) not in plain_types:
                    return bind_all((x, y), params)
                return y._trace.process(prim, (x, y), params)
            if op is not None:
                tx, ty = type(x), type(y)
                if tx in floats and ty in scalars or ty in floats and tx in scalars:
                    return op(x, y)
            return plain(x, y)
        except TracerConversionError as err:  # numpy met a tracer in a list or tuple argument
            args = (() if x is _NOT_GIVEN else (x,) if y is _NOT_GIVEN else (x, y)) + rest
            # (keyword parameters of a row are never differentiated: not lifted)
            return with_arrays(fn, args, params, err, f"fgrad.numpy.{prim.name}", False)

    fn.__signature__ = _ANY_ARGUMENTS
    fn.__name__ = prim.name
    fn.__qualname__ = prim.name
    fn.__doc__ = getattr(prim.impl, "__doc__", None)
    fn.primitive = prim
    return fn


# --------------------------------------------------------------------------
# NaN debugging: the hook behind fgrad.debug_nans
# --------------------------------------------------------------------------

# Checking for NaN costs nothing while it is off because then nothing checks: each
# engine method that produces values (a trace's ``process``, reverse mode's
# ``backward``) registers a *checking variant* with :func:`debug_variant`, and
# :func:`set_debug_nans` puts the variants on their classes when checking is turned
# on, and the plain methods back when it is turned off.  The variants live beside
# the methods they wrap (fgrad/autodiff.py, fgrad/batching.py, fgrad/remat.py); what
# they share is here: finding NaN, finding the user's line, and the error.

_debug_lock = threading.Lock()
_debug_state = {"on": False}
_debug_variants = []  # (class, method name, plain function, checking function)
_debug_local = threading.local()  # per thread: the backward steps running (``steps``)


def debug_variant(cls, name, checking):
    """Register ``checking`` as what ``cls.<name>`` is while NaN debugging is on.

    Example:
        >>> from fgrad.core import debug_variant, set_debug_nans
        >>> class Demo:
        ...     def run(self):
        ...         return "plain"
        >>> debug_variant(Demo, "run", lambda self: "checking")
        >>> previous = set_debug_nans(True)
        >>> Demo().run()
        'checking'
        >>> _ = set_debug_nans(previous)
        >>> Demo().run()
        'plain'
    """
    with _debug_lock:
        _debug_variants.append((cls, name, cls.__dict__[name], checking))
        if _debug_state["on"]:
            setattr(cls, name, checking)


def set_debug_nans(on):
    """Turn NaN checking on or off for the whole process; returns the previous setting.

    The public switch is :func:`fgrad.debug_nans`.

    Example:
        >>> from fgrad.core import debug_nans_on, set_debug_nans
        >>> previous = set_debug_nans(True)
        >>> debug_nans_on()
        True
        >>> _ = set_debug_nans(previous)
    """
    on = bool(on)
    with _debug_lock:  # all variants swap together: no thread sees half of them
        previous = _debug_state["on"]
        if on != previous:
            for cls, name, plain, checking in _debug_variants:
                setattr(cls, name, checking if on else plain)
            _debug_state["on"] = on
    return previous


def debug_nans_on():
    """True while NaN checking is on (see :func:`fgrad.debug_nans`).

    Example:
        >>> from fgrad.core import debug_nans_on
        >>> debug_nans_on()
        False
    """
    return _debug_state["on"]


def has_nan(value):
    """True when ``value`` holds NaN (in the real or the imaginary part); integers,
    booleans and anything that is not a number or an array never do.  Tracers are
    looked through; a value batched by vmap is left to vmap's own check (False), and
    an array of another library (dask, cupy) is not read (False).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import has_nan
        >>> has_nan(np.array([1.0, np.nan])), has_nan(complex(0, np.nan)), has_nan(np.inf)
        (True, True, False)
    """
    if isinstance(value, Tracer):
        value = concrete(value)
    t = type(value)
    if t is float or t is complex:
        return value != value
    dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype) or dtype.kind not in "fc" or isinstance(value, ManyValues):
        return False
    if is_duck_array(value):  # a dask or cupy array: looking would compute or transfer it
        return False
    try:
        return bool(np.isnan(value).any())
    except TypeError:  # a value staged by fgrad.jit: not known (its trace checks its own)
        return False


_FGRAD_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__)) + os.sep


class _Step:
    """A rule running in a checked pass (see :func:`enter_step`)."""

    __slots__ = ("label", "where", "frame")

    def __init__(self, label, where, frame):
        self.label, self.where, self.frame = label, where, frame


def enter_step(label, where):
    """Note that the caller now runs the rules of one operation (``label`` says which,
    e.g. "the backward pass: the vjp of 'sqrt'"), called by the user's code at
    ``where``.  Operations inside the rules that an enclosing transform checks are
    then reported as part of that step, at that line.  Returns the token for
    :func:`exit_step`.

    Example:
        >>> from fgrad.core import enter_step, exit_step
        >>> token = enter_step("the backward pass: the vjp of 'sqrt'", None)
        >>> exit_step(token)
    """
    steps = getattr(_debug_local, "steps", None)
    if steps is None:
        steps = _debug_local.steps = []
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    del frame  # (this frame referring to itself would keep the caller's values alive)
    step = _Step(label, where, caller)
    steps.append(step)
    return step


def exit_step(token):
    """Close the step :func:`enter_step` opened (see there)."""
    steps = _debug_local.steps
    if steps and steps[-1] is token:
        steps.pop()
    elif token in steps:
        steps.remove(token)
    token.frame = None


def user_frame():
    """``(file, line, function)`` where the user's code called the operation being
    checked: the innermost frame outside fgrad and numpy.  Inside a checked backward
    step, an operation a rule makes (fgrad's code) is placed at the forward call of
    that step's operation instead.  ``None`` when not known.

    Example:
        >>> from fgrad.core import user_frame
        >>> user_frame()[2]
        '<module>'
    """
    steps = getattr(_debug_local, "steps", None) or ()
    frame = inspect.currentframe()
    frame = frame.f_back if frame is not None else None
    while frame is not None:
        for step in steps:
            if step.frame is frame:  # reached the backward pass before any user code
                return step.where
        file = frame.f_code.co_filename
        if not (file.startswith(_FGRAD_DIR) or file.startswith(_NUMPY_DIR)):
            return file, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back
    return None


def _shape_text(x):
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_shape_text(v) for v in x) + "]"
    try:
        return str(shape_of(x))
    except Exception:  # noqa: BLE001 - only for the message: an object without a shape
        return type(x).__name__


def shapes_text(operands):
    """The shapes of an operation's operands, for the errors of NaN debugging.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import shapes_text
        >>> shapes_text([np.ones((2, 3)), 1.0, [np.ones(2), np.ones(2)]])
        '(2, 3), (), [(2,), (2,)]'
    """
    return ", ".join(_shape_text(a) for a in operands)


def _where_text(where, label):
    if where is None:
        return [f"  {label}: not known (the operation was recorded while debugging was off)"]
    file, line, function = where
    lines = [f"  {label}: {file}:{line}, in {function}"]
    code = linecache.getline(file, line).strip()
    if code:
        lines.append(f"      {code}")
    return lines


def nan_error(name, stage, shapes, out_shape, cause, where=None, *, backward=False):
    """The FloatingPointError of NaN debugging: NaN came out of primitive ``name`` in
    ``stage`` (the pass, in words); ``shapes`` are the operands' (:func:`shapes_text`),
    ``cause`` says whether the NaN came in or was made here; ``where``
    is the user's line (found now when not given: the caller's stack is the user's).

    Example:
        >>> from fgrad.core import nan_error
        >>> print(nan_error("log", "in the forward pass", "()", "()", "made here",
        ...                 ("f.py", 3, "f")))
        fgrad.debug_nans: NaN in the output of 'log', in the forward pass
          operand shapes: () -> ()
          called at: f.py:3, in f
          made here
    """
    if where is None and not backward:
        where = user_frame()
    lines = [f"fgrad.debug_nans: NaN in the output of {name!r}, {stage}",
             f"  operand shapes: {shapes} -> {out_shape}"]
    lines += _where_text(where, "forward call at" if backward else "called at")
    steps = getattr(_debug_local, "steps", None)
    if steps:
        step = steps[-1]
        lines.append(f"  inside {step.label}")
        lines += ["  " + text for text in _where_text(step.where, "called at")]
    lines.append(f"  {cause}")
    return FloatingPointError("\n".join(lines))


def nan_cause(values, labels):
    """The sentence of :func:`nan_error` saying where the NaN came from: the first of
    ``values`` holding NaN (named by ``labels``), or none of them (made here).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import nan_cause
        >>> nan_cause([1.0, np.nan], ["operand 0", "operand 1"])
        'operand 1 already held NaN: it came from an input, a constant or a step fgrad does not check (np.errstate(invalid="raise") finds NaN in plain numpy code)'
    """
    for value, label in zip(values, labels):
        parts = value if isinstance(value, (list, tuple)) else (value,)
        if any(has_nan(v) for v in parts):
            return (f"{label} already held NaN: it came from an input, a constant or a "
                    "step fgrad does not check (np.errstate(invalid=\"raise\") finds NaN in "
                    "plain numpy code)")
    return "no operand held NaN: this operation made it"


def check_nan_output(prim, args, out, where=None, stage="in the forward pass"):
    """Raise :func:`nan_error` when ``out`` (what a trace's ``process(prim, args, ...)``
    returned: a tracer, a plain value, or a tuple of them) holds NaN; ``where`` is the
    user's line when already known.  What the checking variants of the traces call
    (see :func:`debug_variant`).

    Example:
        >>> import numpy as np
        >>> from fgrad.core import check_nan_output
        >>> check_nan_output("log", [2.0], np.log(2.0))  # no NaN: nothing to say
    """
    for o in out if type(out) is tuple or type(out) is list else (out,):
        if has_nan(o):
            name = getattr(prim, "name", prim)
            values = [concrete(a) for a in args]
            cause = nan_cause(values, [f"operand {i}" for i in range(len(args))])
            raise nan_error(name, stage, shapes_text(args), _shape_text(o), cause, where)


def checking_process(process):
    """The checking variant of a trace's ``process`` whose tracers hold their values:
    ``process`` itself, then :func:`check_nan_output` on what it returned.

    Example:
        >>> from fgrad.core import checking_process
        >>> checking_process(lambda self, prim, args, params: 1.0)(None, "demo", (), {})
        1.0
    """

    def checked(self, prim, args, params):
        out = process(self, prim, args, params)
        check_nan_output(prim, args, out)
        return out

    checked.__name__ = getattr(process, "__name__", "process")
    checked.__doc__ = "The checking variant of ``process`` (NaN debugging is on)."
    return checked
