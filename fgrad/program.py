"""Staged programs: what ``fgrad.jit`` records and replays.

A :class:`Program` is a flat list of primitive applications (:class:`Eqn`) over
numbered values (:class:`Var`) and constants (:class:`Literal`): the work one call
of a function did, with the Python around it gone.  It runs in two ways:

* ``program(*leaves)`` runs *compiled* code: straight-line Python generated once
  per program, one line per equation calling the row's numpy implementation, and
  deleting each value after its last use (so peak memory is eager mode's);
* ``program.interpret(*leaves)`` goes equation by equation through the rows'
  functions, so tracers of an enclosing transform (``grad(jit(f))``,
  ``vmap(jit(f))``) see every primitive and record it as in eager mode.

``str(program)`` is the listing that :func:`fgrad.make_program` shows.

Example:
    >>> import numpy as np
    >>> from fgrad.core import PRIMITIVES
    >>> from fgrad.program import Eqn, Literal, Program, Var
    >>> x = Var(0, (3,), np.dtype(float))
    >>> y = Var(1, (3,), np.dtype(float))
    >>> prog = Program([x], [Eqn(PRIMITIVES["multiply"], (x, Literal(2.0)), {}, y)], [y])
    >>> prog(np.ones(3))
    [array([2., 2., 2.])]
"""

from __future__ import annotations

import keyword

import numpy as np

from .core import Tracer, top_trace

__all__ = ["Var", "Literal", "Eqn", "Program"]


class Var:
    """A value computed by a program (or one of its inputs).

    ``id`` is unique within one program; ``shape`` (a tuple of ints) and ``dtype``
    (a numpy dtype) are those of the value on the call that was traced.
    """

    __slots__ = ("id", "shape", "dtype")

    def __init__(self, id, shape, dtype):
        self.id = id
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)

    def __repr__(self):
        return f"Var({self.id}, {_type_text(self.shape, self.dtype)})"


class Literal:
    """A constant known when the program was staged (an array, a number, ``None`` ...)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Literal({_literal_text(self.value)})"


class Eqn:
    """One primitive application: ``out = prim(*inputs, **params)``.

    ``prim`` is a :class:`fgrad.core.Primitive` (a row of the table, or one made for
    one call: ``custom_vjp``, ``checkpoint``); ``inputs`` are :class:`Var` or
    :class:`Literal` (the positional arguments, in order); ``params`` the keyword
    parameters (never traced); ``out`` the :class:`Var` it defines.
    """

    __slots__ = ("prim", "inputs", "params", "out")

    def __init__(self, prim, inputs, params, out):
        self.prim = prim
        self.inputs = tuple(inputs)
        self.params = params
        self.out = out

    def __repr__(self):
        return f"<Eqn {self.prim.name} -> {self.out!r}>"


# --------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------

_SHORT_KINDS = {"f": "f", "c": "c", "i": "i", "u": "u"}


def _dtype_text(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return "bool"
    kind = _SHORT_KINDS.get(dtype.kind)
    if kind is None:
        return str(dtype)
    return f"{kind}{dtype.itemsize * 8}"


def _type_text(shape, dtype):
    return f"{_dtype_text(dtype)}[{','.join(str(n) for n in shape)}]"


def _literal_text(v):
    if isinstance(v, np.ndarray):
        if v.size <= 4 and v.ndim <= 1:
            return np.array2string(v, separator=",").replace(" ", "")
        return f"<{_type_text(v.shape, v.dtype)}>"
    if isinstance(v, (np.generic, float, int, complex, bool)):
        text = repr(v.item() if isinstance(v, np.generic) else v)
        return text if not isinstance(v, np.generic) else f"{text}:{_dtype_text(v.dtype)}"
    text = repr(v)
    return text if len(text) <= 30 else f"<{type(v).__name__}>"


def _param_text(v):
    if isinstance(v, np.dtype):
        return str(v)
    if isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v).name
    if callable(v) and hasattr(v, "__name__"):
        return v.__name__
    return _literal_text(v)


def _var_name(i):
    """a, b, ..., z, ba, bb ... (as make_jaxpr names them)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    name = ""
    while True:
        name = letters[i % 26] + name
        i //= 26
        if not i:
            return name


# --------------------------------------------------------------------------
# Program
# --------------------------------------------------------------------------


class Program:
    """A staged program: ``inputs`` (Vars), ``eqns`` (in evaluation order) and
    ``outputs`` (Vars or Literals).  Immutable once built.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> x, y, z = Var(0, (), float), Var(1, (), float), Var(2, (), float)
        >>> prog = Program([x], [Eqn(PRIMITIVES["sin"], (x,), {}, y),
        ...                      Eqn(PRIMITIVES["multiply"], (y, Literal(2.0)), {}, z)], [z])
        >>> print(prog)
        { lambda ; a:f64[]. let
            b:f64[] = sin a
            c:f64[] = multiply b 2.0
          in (c,) }
        >>> [float(v) for v in prog(0.0)]
        [0.0]
    """

    __slots__ = ("inputs", "eqns", "outputs", "_compiled", "_source", "buffers", "kinds")

    def __init__(self, inputs, eqns, outputs, buffers=None, kinds=None):
        self.inputs = list(inputs)
        self.eqns = list(eqns)
        self.outputs = list(outputs)
        #: ``None``, or eqn index -> position of an input whose buffer the output may
        #: reuse (``program_passes.plan_buffers``); the compiled code then calls
        #: ``prim.impl(..., out=that input)``.
        self.buffers = buffers
        #: ``None``, or Var id -> the type of its value on the traced call (numpy
        #: scalar or array ...): arithmetic on numpy values then compiles to Python's
        #: operators, numpy's own fast path for scalars (the same results as the rows)
        self.kinds = kinds
        self._compiled = None
        self._source = None

    # -- running ---------------------------------------------------------------

    def __call__(self, *leaves):
        """Run on plain values (compiled code); returns the list of output leaves."""
        run = self._compiled
        if run is None:
            run = self.compile()
        return run(*leaves)

    def interpret(self, *leaves):
        """Run equation by equation through the rows' functions: works on tracers of
        enclosing transforms, which record every primitive."""
        if len(leaves) != len(self.inputs):
            raise TypeError(
                f"this program takes {len(self.inputs)} input leaves, got {len(leaves)}"
            )
        env = {v.id: x for v, x in zip(self.inputs, leaves)}
        for eqn in self.eqns:
            args = [env[a.id] if type(a) is Var else a.value for a in eqn.inputs]
            params = eqn.params
            prim = eqn.prim
            if "_call" in params:
                # a custom_vjp/custom_jvp call keeps per-call state (its residuals):
                # each replay gets its own, and goes to the trace that owns its values
                params = dict(params)
                params["_call"] = _copied(params["_call"])
                top = top_trace(args)
                out = (top.process(prim, tuple(args), params) if top is not None
                       else prim.call(*args, **params))
            elif any(isinstance(a, Tracer) for a in args):
                out = prim.fn(*args, **params)
            else:
                out = prim.call(*args, **params)
            env[eqn.out.id] = out
        return [env[o.id] if type(o) is Var else _fresh(o.value) for o in self.outputs]

    def compile(self):
        """Generate, ``exec`` and keep the straight-line function behind ``__call__``."""
        source, namespace = self._generate()
        exec(compile(source, "<fgrad program>", "exec"), namespace)
        self._source = source
        self._compiled = namespace["program"]
        return self._compiled

    @property
    def source(self):
        """The generated Python source of the compiled form."""
        if self._source is None:
            self.compile()
        return self._source

    def _generate(self):
        namespace = {"_fresh": _fresh}
        names = {}  # id(obj) -> name in the namespace, so each callable is bound once

        def bind(obj, prefix):
            key = (prefix, id(obj))
            name = names.get(key)
            if name is None:
                name = names[key] = f"{prefix}{len(names)}"
                namespace[name] = obj
            return name

        # the last equation reading each Var (outputs are never deleted)
        last, sized = {}, set()
        for k, eqn in enumerate(self.eqns):
            for a in eqn.inputs:
                if type(a) is Var:
                    last[a.id] = k
                    if a.shape:
                        sized.add(a.id)
        keep = {o.id for o in self.outputs if type(o) is Var}
        dead_at = [[] for _ in self.eqns]
        for vid, k in last.items():
            # (a 0-d value is a few bytes: freeing it early is not worth a statement)
            if vid not in keep and vid in sized:
                dead_at[k].append(vid)
        buffers = self.buffers or {}
        kinds = self.kinds

        lines = [f"def program({', '.join(f'v{v.id}' for v in self.inputs)}):"]
        for k, eqn in enumerate(self.eqns):
            prim = eqn.prim
            args = [f"v{a.id}" if type(a) is Var else bind(a.value, "c") for a in eqn.inputs]
            kws, extra = [], None
            for key, val in eqn.params.items():
                if key.isidentifier() and not keyword.iskeyword(key):
                    kws.append(f"{key}={bind(val, 'p')}")
                else:  # pragma: no cover - rows use identifier names
                    extra = extra or {}
                    extra[key] = val
            pos = buffers.get(k)
            infix = _INFIX.get(prim.impl) if kinds and not eqn.params else None
            if pos is not None and isinstance(prim.impl, np.ufunc) and eqn.out.shape:
                # the output goes into a dead input's buffer (planned by the passes)
                call = ", ".join(args + kws + [f"out={args[pos]}"])
                lines.append(f"    v{eqn.out.id} = {bind(prim.impl, 'f')}({call})  # {prim.name}")
            elif infix and len(args) == 2 and (_numpy_kind(eqn.inputs[0], kinds)
                                               or _numpy_kind(eqn.inputs[1], kinds)):
                lines.append(f"    v{eqn.out.id} = {args[0]} {infix} {args[1]}  # {prim.name}")
            else:
                call = ", ".join(args + kws + ([f"**{bind(extra, 'p')}"] if extra else []))
                lines.append(f"    v{eqn.out.id} = {bind(prim.call, 'f')}({call})  # {prim.name}")
            if dead_at[k]:
                lines.append("    del " + ", ".join(f"v{i}" for i in sorted(dead_at[k])))
        outs = []
        for o in self.outputs:
            if type(o) is Var:
                outs.append(f"v{o.id}")
            elif isinstance(o.value, np.ndarray):  # a constant output: a new array each call
                outs.append(f"_fresh({bind(o.value, 'c')})")
            else:
                outs.append(bind(o.value, "c"))
        lines.append(f"    return [{', '.join(outs)}]")
        return "\n".join(lines) + "\n", namespace

    # -- listing -----------------------------------------------------------------

    def __str__(self):
        names = {}

        def name(v):
            n = names.get(v.id)
            if n is None:
                n = names[v.id] = _var_name(len(names))
            return n

        def typed(v):
            return f"{name(v)}:{_type_text(v.shape, v.dtype)}"

        def ref(a):
            return name(a) if type(a) is Var else _literal_text(a.value)

        head = " ".join(typed(v) for v in self.inputs)
        lines = [f"{{ lambda ; {head}. let"]
        for eqn in self.eqns:
            params = ""
            shown = {k: v for k, v in eqn.params.items() if not k.startswith("_")}
            if shown:
                params = "[" + ", ".join(f"{k}={_param_text(v)}" for k, v in shown.items()) + "]"
            args = " ".join(ref(a) for a in eqn.inputs)
            lines.append(f"    {typed(eqn.out)} = {eqn.prim.name}{params} {args}".rstrip())
        outs = ", ".join(ref(o) for o in self.outputs)
        lines.append(f"  in ({outs}{',' if len(self.outputs) == 1 else ''}) }}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"<fgrad Program: {len(self.inputs)} inputs, {len(self.eqns)} equations, "
                f"{len(self.outputs)} outputs>")


# numpy's arithmetic ufuncs whose Python operators give the same result on numpy arrays
# and scalars (an operand that is a numpy value makes the operator call numpy)
_INFIX = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}


def _numpy_kind(a, kinds):
    if type(a) is Var:
        t = kinds.get(a.id)
        return t is not None and (t is np.ndarray or issubclass(t, np.generic))
    return type(a.value) is np.ndarray or isinstance(a.value, np.generic)


def _fresh(value):
    """A constant array output is copied, so a caller writing into it changes no program."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _copied(obj):
    cls = type(obj)
    new = cls.__new__(cls)
    for klass in cls.__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot != "__weakref__" and hasattr(obj, slot):
                setattr(new, slot, getattr(obj, slot))
    if hasattr(obj, "__dict__"):
        new.__dict__.update(obj.__dict__)
    return new
