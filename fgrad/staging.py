"""The staging trace: records a function's primitives into a :class:`~fgrad.program.Program`.

``fgrad.jit`` runs a function once on :class:`StagingTracer` inputs.  Tracing is
*concrete*: each tracer also holds the caller's actual value (``concrete``), so every
row's numpy code computes the first call's outputs as it goes, and shapes are
plain Python ints.  Each primitive applied to a staging tracer appends one
:class:`~fgrad.program.Eqn`; operations on constants alone run as plain numpy and
their results enter the program as :class:`~fgrad.program.Literal` (so constants
fold by themselves).

Nothing may *decide* from a staged value: the program must be right for every
later input of the same shapes and dtypes.  So a staging tracer's ``.value`` (what
``core.concrete`` returns) is a :class:`StagedValue`, which answers shape and
dtype questions and refuses every read of values with a
:class:`ConcretizationError` naming the ways out (static arguments, ``fgrad.lax``).
"""

from __future__ import annotations

import itertools

import numpy as np

from .core import (
    ABSTRACT_PLACEHOLDER,
    Primitive,
    Trace,
    Tracer,
    TracerConversionError,
    check_nan_output,
    debug_variant,
    dtype_of,
    shape_of,
    top_trace,
)
from .program import Eqn, Literal, Program, Var
from .shapes import abstract_eval, stand_in

_new = object.__new__

__all__ = ["AbstractTrace", "ConcretizationError", "StagedValue", "StagingTrace",
           "StagingTracer"]


class ConcretizationError(TracerConversionError):
    """A value staged by ``fgrad.jit`` was used where a concrete value is needed.

    Under ``jit`` a function is traced once for all inputs of the same shapes and
    dtypes, so its values are not known while it is traced: ``if x > 0``,
    ``float(x)``, ``int(x)``, ``np.asarray(x)`` have no answer.  Mark the argument
    static (``jit(f, static_argnums=...)``) or use ``fgrad.numpy.where`` and
    ``fgrad.lax``'s structured control flow.

    Example:
        >>> import fgrad
        >>> from fgrad.staging import ConcretizationError
        >>> try:
        ...     fgrad.jit(lambda x: x if x > 0 else -x)(1.0)
        ... except ConcretizationError as err:
        ...     print("static_argnums" in str(err), isinstance(err, TypeError))
        True True
    """


def concretization_error(what):
    err = _concretization_error(what)
    err.what = what  # (fgrad.eval_shape words its own message from it)
    return err


def abstract_concretization_error(what, name):
    """The error of ``fgrad.eval_shape(fun)`` when ``fun`` reads a value."""
    return ConcretizationError(
        f"fgrad.eval_shape({name}): {what} needs the values of the data, which eval_shape "
        "never has (it works on shapes and dtypes only). A Python branch on a value "
        "(`if x > 0`) has a structured form, fgrad.numpy.where or fgrad.lax.cond / "
        "fgrad.lax.switch / fgrad.lax.while_loop; a result whose shape depends on the "
        "values (nonzero, unique, argwhere, a boolean mask) has none: use a fixed-shape "
        "form (fnp.where(mask, x, 0.0), a masked reduction fnp.sum(x, where=mask)) or "
        "call the function on data."
    )


def _concretization_error(what):
    return ConcretizationError(
        f"{what} needs the concrete value of an array staged by fgrad.jit, which is "
        "not known while the function is traced (the program must be right for every "
        "input of the same shapes and dtypes). If the value is a configuration (a flag, "
        "a size, a mode), mark that argument static: jit(f, static_argnums=...) or "
        "static_argnames=... (a new value then traces again). For a choice on array "
        "values use fgrad.numpy.where, or fgrad.lax.cond / fgrad.lax.switch; for loops "
        "whose trip count depends on values, fgrad.lax.while_loop / fgrad.lax.fori_loop."
    )


def _dtype_guard_impl(x, *, dtype, row):
    """``x`` with the dtype the program was traced with: numpy picks ``row``'s output
    dtype from the values (eig of a real matrix: complex only when some eigenvalue
    is).  A complex trace makes a real result complex (the same values); a real
    trace refuses a complex result, which the rest of the program cannot hold."""
    got = np.result_type(x)
    if got == dtype:
        return x
    if dtype.kind == "c":
        return np.asarray(x).astype(dtype)
    raise TypeError(
        f"fgrad.jit: {row} returned {got} values on this call, but the program was traced "
        f"on a call where they were {dtype} (numpy picks this dtype from the values: for a "
        "real matrix, complex only when some eigenvalue is). The program cannot hold them. "
        "Make the result complex every time by passing a complex matrix "
        "(a.astype(complex)), use eigh/eigvalsh for a symmetric matrix, or leave this "
        "function out of jit.")


#: The equation that follows a row whose output dtype numpy picks from the values
#: (``Primitive.dtype_from_values``) in a staged program: see :func:`_dtype_guard_impl`.
DTYPE_GUARD = Primitive(
    "dtype_guard", _dtype_guard_impl,
    jvp=[lambda t, ans, x, *, dtype, row: DTYPE_GUARD.fn(t, dtype=dtype, row=row)],
    vjp=[lambda g, ans, x, *, dtype, row: DTYPE_GUARD.fn(g, dtype=dtype, row=row)],
    batch="elementwise",
    reads=(),
    test={"skip": "staged programs only; tested in tests/test_jit.py"},
)


# numpy functions that read only shapes and dtypes: answered on a zero-strided stub
_METADATA_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
}


class _NoValueReads:
    """The reads of a value that neither a staged value nor its tracer allow: each
    raises :class:`ConcretizationError` naming what was asked."""

    __slots__ = ()

    def __bool__(self):
        raise concretization_error("bool() (an `if`, `while`, `and`/`or`)")

    def __float__(self):
        raise concretization_error("float()")

    def __int__(self):
        raise concretization_error("int()")

    def __complex__(self):
        raise concretization_error("complex()")

    def __index__(self):
        raise concretization_error("operator.index() (an index or a size)")

    def item(self, *args):
        raise concretization_error(".item()")

    def tolist(self):
        raise concretization_error(".tolist()")

    def __array__(self, dtype=None, copy=None):
        raise concretization_error("converting it to a numpy array (np.asarray, np.array)")


class StagedValue(_NoValueReads):
    """What ``core.concrete`` returns for a staged value: its shape and dtype only.

    ``.shape``, ``.dtype``, ``.ndim``, ``.size``, ``len()``, ``np.shape``,
    ``np.result_type``, ``np.zeros_like`` ... work; anything that would read the
    values (``bool``, ``float``, ``np.asarray``, a ufunc, indexing, comparison)
    raises :class:`ConcretizationError`.

    Example:
        >>> import numpy as np
        >>> from fgrad.staging import StagedValue
        >>> v = StagedValue((2, 3), np.dtype(float))
        >>> v.shape, v.ndim, np.result_type(v, np.float32), np.zeros_like(v).shape
        ((2, 3), 2, dtype('float64'), (2, 3))
    """

    __slots__ = ("shape", "dtype")
    __array_priority__ = 3000
    __hash__ = None

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d staged array")
        return self.shape[0]

    def _stub(self):
        return np.broadcast_to(np.zeros((), dtype=self.dtype), self.shape)

    def __array_function__(self, func, types, args, kwargs):
        if not kwargs and len(args) == 1 and args[0] is self:  # the common questions
            if func is np.shape:
                return self.shape
            if func is np.ndim:
                return len(self.shape)
            if func is np.size:
                return self.size
        if func is np.result_type:
            return np.result_type(*[a.dtype if isinstance(a, StagedValue) else a
                                    for a in args])
        if func in _METADATA_FUNCTIONS:
            args = [a._stub() if isinstance(a, StagedValue) else a for a in args]
            out = func(*args, **kwargs)
            if func in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
                out = np.array(out)  # a writable array of its own, not a view of the stub
            return out
        if "like" in kwargs and not any(isinstance(a, StagedValue) for a in args):
            # an array made in "the library of" a staged value (np.asarray(g, like=v)):
            # staged values are numpy's, and this array is made from constants
            kwargs = dict(kwargs)
            del kwargs["like"]
            return func(*args, **kwargs)
        raise concretization_error(f"numpy.{func.__name__}")

    # (no __array_ufunc__: a ufunc converts it with __array__, which refuses; and so it
    # is not taken for an array of another library, core.is_duck_array)

    def __getitem__(self, idx):
        raise concretization_error("indexing its value")

    def __iter__(self):
        raise concretization_error("iterating over its value")

    def __repr__(self):
        return f"<staged value: shape {self.shape}, dtype {self.dtype}>"


def _refused(name):
    def method(self, *args):
        raise concretization_error(f"the operator {name}")

    method.__name__ = name
    return method


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and",
              "or", "xor"):
    setattr(StagedValue, f"__{_name}__", _refused(f"__{_name}__"))
    setattr(StagedValue, f"__r{_name}__", _refused(f"__r{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne", "neg", "abs", "invert", "pos"):
    setattr(StagedValue, f"__{_name}__", _refused(f"__{_name}__"))
del _name


class StagingTracer(_NoValueReads, Tracer):
    """A value inside ``fgrad.jit``: its program variable and the traced call's value.

    ``value`` is a :class:`StagedValue` (shape and dtype only), ``concrete`` the value
    on the call being traced (used only to compute that call's outputs), ``node``
    the :class:`~fgrad.program.Var` it is in the program.
    """

    __slots__ = ("value", "_trace", "concrete", "node")

    def __init__(self, value, trace, concrete, var):
        self.value = value
        self._trace = trace
        self.concrete = concrete
        self.node = var

    @property
    def python_float(self):
        return self._trace.kinds.get(self.node.id) is float

    @property
    def value_type(self):
        return self._trace.kinds.get(self.node.id)

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return len(self.value.shape)

    @property
    def size(self):
        return self.value.size

    def __repr__(self):
        return f"StagingTracer(shape={self.value.shape}, dtype={self.value.dtype})"


def _value_shape_dtype(ans):
    """Shape and dtype of a result (a plain value or an enclosing transform's tracer)."""
    if type(ans) is np.ndarray or isinstance(ans, np.generic):
        return ans.shape, ans.dtype
    if isinstance(ans, Tracer):
        return tuple(shape_of(ans)), dtype_of(ans)
    return np.shape(ans), np.result_type(ans)


def _holds_own(obj, trace):
    if isinstance(obj, StagingTracer) and obj._trace is trace:
        return True
    if isinstance(obj, (tuple, list)):
        return any(_holds_own(o, trace) for o in obj)
    return False


class StagingTrace(Trace):
    """The trace of one staging run: the equations, in evaluation order.

    ``closed_over`` is set when a tracer of another transform entered the program
    as a constant (a function closing over a value being differentiated): such a
    program is right for this call only and is not cached.
    """

    __slots__ = ("eqns", "inputs", "ids", "closed_over", "kinds", "holding")

    def __init__(self):
        super().__init__()
        self.eqns = []
        self.inputs = []
        self.ids = itertools.count()
        self.closed_over = False
        self.kinds = {}  # Var id -> the type of its value on this call
        self.holding = []  # indices of the eqns holding numpy arrays (copied by finish)

    def new_input(self, real):
        shape, dtype = _value_shape_dtype(real)
        var = Var(next(self.ids), shape, dtype)
        self.inputs.append(var)
        self.kinds[var.id] = type(real)
        return StagingTracer(StagedValue(var.shape, var.dtype), self, real, var)

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals, ins, lower, holds = [], [], False, False
        for a in args:
            if type(a) is StagingTracer and a._trace is self:
                v = a.concrete
                ins.append(a.node)
                if not lower and isinstance(v, Tracer):
                    lower = True
            else:
                v = a
                lit = _new(Literal)
                lit.value = a
                ins.append(lit)
                t = type(a)
                if t is np.ndarray:
                    holds = True
                elif isinstance(a, Tracer):
                    self.closed_over = lower = True
            vals.append(v)
        if params:
            for p in params.values():
                t = type(p)
                if t is np.ndarray:
                    holds = True
                elif t is tuple or t is list or isinstance(p, Tracer):
                    if _holds_own(p, self):
                        raise concretization_error(f"the parameters of {prim.name!r}")
                    if t is not list and any(type(i) is np.ndarray for i in p):
                        holds = True
        if not lower:
            ans = prim.call(*vals, **params) if params else prim.call(*vals)
        elif "_call" in params:  # a custom rule's call: to the trace of its values
            ans = top_trace(vals).process(prim, tuple(vals), params)
        else:
            ans = prim.fn(*vals, **params)
        # (one staged equation makes four objects: they are built without their
        # __init__ calls, a Python frame each, on this path that every primitive takes)
        var = _new(Var)
        var.id = vid = next(self.ids)
        t = type(ans)
        if t is np.ndarray or t is np.float64:  # (the usual results, inlined)
            var.shape = shape = ans.shape
            var.dtype = dtype = ans.dtype
        else:
            shape, dtype = _value_shape_dtype(ans)
            var.shape = shape = shape if type(shape) is tuple else tuple(shape)
            var.dtype = dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.kinds[vid] = t
        if holds:
            self.holding.append(len(self.eqns))
        eqn = _new(Eqn)
        eqn.prim, eqn.inputs, eqn.params, eqn.out = prim, tuple(ins), params, var
        self.eqns.append(eqn)
        if prim.dtype_from_values:  # later calls must give this dtype (or be refused)
            guarded = Var(next(self.ids), shape, dtype)
            self.kinds[guarded.id] = t
            self.eqns.append(Eqn(DTYPE_GUARD, (var,), {"dtype": dtype, "row": prim.name},
                                 guarded))
            var = guarded
        value = _new(StagedValue)
        value.shape, value.dtype = shape, dtype
        out = _new(StagingTracer)
        out.value, out._trace, out.concrete, out.node = value, self, ans, var
        return out

    def finish(self, out_leaves):
        """``(program, real outputs)`` from the output leaves, once tracing is over.

        The program keeps copies of the numpy arrays it holds as constants (arrays
        captured by closure, index arrays in parameters), so a caller changing its
        array later does not change the program.
        """
        self.alive = False
        outputs, reals = [], []
        for x in out_leaves:
            if isinstance(x, StagingTracer) and x._trace is self:
                outputs.append(x.node)
                reals.append(x.concrete)
            else:
                if isinstance(x, Tracer):
                    self.closed_over = True
                outputs.append(Literal(x))
                reals.append(x)
        memo = {}

        def own(v):
            if type(v) is np.ndarray:
                c = memo.get(id(v))
                if c is None:
                    c = memo[id(v)] = (v, v.copy())
                return c[1]
            if type(v) is tuple and any(type(i) is np.ndarray for i in v):
                return tuple(own(i) for i in v)
            return v

        eqns = list(self.eqns)
        for k in self.holding:  # (only the eqns that hold arrays are rebuilt)
            e = eqns[k]
            ins = tuple(Literal(own(a.value)) if type(a) is Literal and type(a.value) is np.ndarray
                        else a for a in e.inputs)
            params = e.params
            if params and any(type(p) in (np.ndarray, tuple) for p in params.values()):
                params = {k: own(p) for k, p in params.items()}
            eqns[k] = Eqn(e.prim, ins, params, e.out)
        outputs = [Literal(own(o.value)) if type(o) is Literal else o for o in outputs]
        return Program(self.inputs, eqns, outputs, kinds=self.kinds), reals


#: Rows that :class:`AbstractTrace` ran on stand-in data because they have no shape
#: rule (row name -> count), for tests and for finding rows that need a rule.
RAN_WITHOUT_RULE = {}


class AbstractTrace(StagingTrace):
    """The trace of ``fgrad.eval_shape``: values are shapes and dtypes only.

    Each row applied to its tracers gives its output's shape and dtype from the
    row's shape rule (:mod:`fgrad.shapes`); no implementation runs and no data
    exists (a tracer's ``concrete`` is its :class:`StagedValue`).  Transforms inside
    (``grad``, ``vmap``, ``jvp``, ``jit``) apply their rules, which are written with
    rows, so they are evaluated abstractly too.  A primitive without a shape rule
    runs its implementation once on stand-in data of the full size (recorded in
    :data:`RAN_WITHOUT_RULE`): a row a user declared without ``shape=`` outside the
    categories that give one, and the primitives of ``custom_vjp``/``custom_jvp``
    functions and of ``checkpoint``, whose implementations run user functions
    (``fgrad.lax``'s loops and branches have rules: they evaluate the body or the
    branches once, abstractly).
    """

    __slots__ = ("outer",)

    def __enter__(self):
        """Make the transforms' zeros and seeds values of this trace while it runs
        (``core.ABSTRACT_PLACEHOLDER``); leaving ends the trace."""
        self.outer = ABSTRACT_PLACEHOLDER[0]
        ABSTRACT_PLACEHOLDER[0] = self.placeholder
        return self

    def __exit__(self, *exc):
        self.alive = False
        ABSTRACT_PLACEHOLDER[0] = self.outer
        return False

    def new_input(self, real):
        if isinstance(real, Tracer):
            shape, dtype = tuple(shape_of(real)), dtype_of(real)
        elif isinstance(real, (int, float, complex, bool, np.generic)):
            shape, dtype = (), np.result_type(real)
        else:
            shape, dtype = tuple(int(n) for n in real.shape), np.dtype(real.dtype)
        var = Var(next(self.ids), shape, dtype)
        self.inputs.append(var)
        self.kinds[var.id] = type(real) if type(real) in (float, int, complex) else np.ndarray
        value = StagedValue(shape, dtype)
        return StagingTracer(value, self, value, var)

    def placeholder(self, shape, dtype):
        """A value of this trace with the given shape and dtype (the zeros and seeds
        the transforms make, see ``core.ABSTRACT_PLACEHOLDER``)."""
        var = Var(next(self.ids), tuple(int(n) for n in shape), np.dtype(dtype))
        self.kinds[var.id] = np.ndarray
        value = StagedValue(var.shape, var.dtype)
        return StagingTracer(value, self, value, var)

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals, ins, abstract = [], [], False
        for a in args:
            if type(a) is StagingTracer and a._trace is self:
                vals.append(a.value)
                ins.append(a.node)
                abstract = True
            elif isinstance(a, Tracer):  # an enclosing transform's value, closed over
                self.closed_over = abstract = True
                vals.append(StagedValue(tuple(shape_of(a)), dtype_of(a)))
                ins.append(Literal(a))
            else:
                vals.append(a)
                ins.append(Literal(a))
        if params:
            for p in params.values():
                if isinstance(p, (tuple, list, Tracer)) and _holds_own(p, self):
                    raise concretization_error(f"the parameters of {prim.name!r}")
        if not abstract:  # (constants only: a plain call)
            ans = prim.call(*vals, **params)
            shape, dtype = _value_shape_dtype(ans)
        else:
            out = abstract_eval(prim, vals, params)
            if out is None:  # no rule: the implementation runs once on stand-ins
                RAN_WITHOUT_RULE[prim.name] = RAN_WITHOUT_RULE.get(prim.name, 0) + 1
                stand = [stand_in(v.shape, v.dtype) if isinstance(v, StagedValue) else v
                         for v in vals]
                hook, ABSTRACT_PLACEHOLDER[0] = ABSTRACT_PLACEHOLDER[0], None  # (plain run)
                try:
                    with np.errstate(all="ignore"):
                        ans = prim.call(*stand, **params)
                finally:
                    ABSTRACT_PLACEHOLDER[0] = hook
                out = _value_shape_dtype(ans)
            shape, dtype = out
        var = Var(next(self.ids), shape, dtype)
        self.kinds[var.id] = np.ndarray
        self.eqns.append(Eqn(prim, tuple(ins), params, var))
        value = StagedValue(var.shape, var.dtype)
        return StagingTracer(value, self, value, var)


def _staging_process_checked(self, prim, args, params, _plain=StagingTrace.process):
    # NaN debugging (fgrad.debug_nans): the traced call's values are real, check those
    out = _plain(self, prim, args, params)
    reals = [a.concrete if isinstance(a, StagingTracer) and a._trace is self else a
             for a in args]
    check_nan_output(prim, reals, out.concrete)
    return out


debug_variant(StagingTrace, "process", _staging_process_checked)
