"""Staged mode: ``fgrad.jit``, ``fgrad.make_program`` and ``fgrad.eval_shape``.

``jit(f)`` traces ``f`` once per *input signature* into a
``fgrad.program.Program`` (a flat list of primitive applications) and
replays that program on later calls with the same signature, as generated
straight-line Python over the rows' numpy implementations: the tracing, the
dispatch and the tape bookkeeping of eager mode are paid once.

The signature of a call is the pytree structure of its (non-static) arguments,
each leaf's kind (a Python scalar, a numpy scalar type, a numpy array, a tracer of
an enclosing transform), shape and dtype, and the values of the static arguments.
Programs are kept in a small least-recently-used cache per jitted function
(``CACHE_SIZE`` entries); ``jitted.cache_info()`` shows it and
``jitted.clear_cache()`` empties it.  Once a signature's program is compiled, a call
is first checked against the last few signatures by a ``__call__`` generated for them
(exact types, dtype identity, shapes, container types, lengths, dict keys), which runs
the program directly; anything else goes through the dictionary (``_entry_source``).

When an argument is a tracer of an enclosing transform (``grad(jit(f))``,
``vmap(jit(f))``, ``jvp``, ``hessian``, ``make_graph``), the program is
*interpreted* on those tracers, so the enclosing transform sees every primitive;
``jit(grad(f))`` and ``jit(vmap(f))`` stage the whole work of the inner transform
(forward and backward pass) as one program.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict

import numpy as np

from .core import (
    Tracer,
    _debug_state,
    debug_nans_on,
    dtype_of,
    is_duck_array,
    leaf_problem,
    shape_of,
)
from .program_passes import optimize, plan_buffers
from .staging import (
    AbstractTrace,
    ConcretizationError,
    StagingTrace,
    StagingTracer,
    abstract_concretization_error,
)
from .tree import tree_flatten

__all__ = ["jit", "make_program", "eval_shape", "ShapeDtypeStruct"]

_ndarray = np.ndarray

#: How many programs (input signatures) one jitted function keeps.
CACHE_SIZE = 64

_PLAIN_LEAF_TYPES = frozenset({float, int, complex, bool, np.float64, np.float32, np.float16,
                               np.complex128, np.complex64, np.int64, np.int32, np.int16,
                               np.int8, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_})


def _leaf_key(x):
    """The part of the signature one input leaf contributes."""
    t = type(x)
    if t is np.ndarray:
        return (x.shape, x.dtype)
    if t in _PLAIN_LEAF_TYPES:  # a scalar: its type says its dtype
        return t
    return _other_key(x, t)


class _NotSimple(Exception):
    """A container the fast signature does not know (a registered node, a namedtuple)."""


def _fast_key(x, leaves):
    """The signature of ``x`` (tuples, lists, dicts, None and plain leaves only), and
    its leaves in ``tree_flatten``'s order, without building a PyTreeDef."""
    t = type(x)
    if t is _ndarray:
        leaves.append(x)
        return (x.shape, x.dtype)
    if t in _PLAIN_LEAF_TYPES:
        leaves.append(x)
        return t
    if t is tuple or t is list:
        return _children_key(x, [t], leaves)
    if t is dict:
        try:
            keys = sorted(x)
        except TypeError:
            raise _NotSimple from None
        return _children_key([x[k] for k in keys], [dict, tuple(keys)], leaves)
    if x is None:
        return None
    raise _NotSimple


def _children_key(children, key, leaves):
    for c in children:  # leaves inline: most children of a parameter pytree are arrays
        t = type(c)
        if t is _ndarray:
            leaves.append(c)
            key.append((c.shape, c.dtype))
        elif t in _PLAIN_LEAF_TYPES:
            leaves.append(c)
            key.append(t)
        else:
            key.append(_fast_key(c, leaves))
    return tuple(key)


def _plain_key(args):
    """``(key, leaves)`` of positional arguments made of plain values (arrays and
    numbers in tuples, lists and dicts): :func:`_fast_key` of the tuple with its
    first level inlined; None for anything else."""
    leaves = []
    try:
        return _children_key(args, [], leaves), leaves
    except _NotSimple:
        return None


def _other_key(x, t):
    if isinstance(x, Tracer):
        return ("tracer", tuple(shape_of(x)), dtype_of(x))
    problem = leaf_problem(x)
    if problem is not None:
        raise TypeError(
            f"fgrad.jit: an argument leaf is {problem}, which cannot be traced. Pass "
            "numbers and numeric arrays (in tuples, lists, dicts, registered pytrees), "
            "and mark other arguments static: jit(f, static_argnums=...) or "
            "static_argnames=... (they must be hashable)."
        )
    if isinstance(x, np.ndarray):  # an ndarray subclass: refused by the rows later
        return (t, x.shape, x.dtype)
    if is_duck_array(x):
        return (t, tuple(x.shape), np.dtype(x.dtype))
    return (t, np.shape(x), np.result_type(x))


def _check_static_spec(static_argnums, static_argnames, name):
    if isinstance(static_argnums, (int, np.integer)) and not isinstance(static_argnums, bool):
        static_argnums = (static_argnums,)
    if isinstance(static_argnames, str):
        static_argnames = (static_argnames,)
    try:
        nums = tuple(static_argnums)
        names = tuple(static_argnames)
    except TypeError:
        raise TypeError(
            f"{name}: static_argnums must be an int or a tuple of ints and static_argnames "
            f"a str or a tuple of str, got {static_argnums!r} and {static_argnames!r}."
        ) from None
    for i in nums:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(
                f"{name}: static_argnums must be ints (positions of arguments), got {i!r}."
            )
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{name}: static_argnames must be strings, got {n!r}.")
    return tuple(int(i) for i in nums), names


class _Signature:
    """Where the static arguments are, and how to split and rebuild a call."""

    def __init__(self, fun, static_argnums, static_argnames, name):
        nums, names = _check_static_spec(static_argnums, static_argnames, name)
        self.name = name
        self.fun = fun
        params = []
        if nums or names:  # (the signature is read only where static arguments need it)
            try:
                params = list(inspect.signature(fun).parameters.values())
            except (TypeError, ValueError):
                pass
        positional = [p.name for p in params
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        # as in JAX: a static name also covers that argument passed by position, and a
        # static position also covers its name passed as a keyword
        self.explicit = frozenset(nums)
        self.positional = positional
        nums = set(nums) | {positional.index(n) for n in names if n in positional}
        names = set(names) | {positional[i] for i in nums if 0 <= i < len(positional)}
        self.nums = frozenset(nums)
        self.names = frozenset(names)
        self.simple = not self.nums and not self.names

    def split(self, args, kwargs):
        """``(static key, dynamic pytree)`` of one call."""
        n = len(args)
        static = []
        if self.nums:
            positions = set()
            for i in self.nums:
                if not -n <= i < n:
                    named = self.positional[i] if 0 <= i < len(self.positional) else None
                    if i not in self.explicit or named in kwargs:  # passed as a keyword
                        continue
                    raise ValueError(
                        f"{self.name}: static_argnums contains {i}, but the function was "
                        f"called with {n} positional argument(s); static_argnums counts "
                        "positional arguments from 0 (negative from the end)."
                    )
                positions.add(i % n)
            dyn = []
            for i, a in enumerate(args):
                if i in positions:
                    static.append((i, _hashable(a, f"positional argument {i}", self.name)))
                else:
                    dyn.append(a)
            positions = tuple(sorted(positions))
        else:
            dyn, positions = list(args), ()
        dyn_kwargs = {}
        for k in sorted(kwargs):
            v = kwargs[k]
            if k in self.names:
                static.append((k, _hashable(v, f"argument {k!r}", self.name)))
            else:
                dyn_kwargs[k] = v
        return (positions, n, tuple(static)), (tuple(dyn), dyn_kwargs)

    @staticmethod
    def rebuild(static_key, dyn):
        positions, n, static = static_key
        dyn_args, dyn_kwargs = dyn
        values = dict(static)
        it = iter(dyn_args)
        args = [values[i] if i in values else next(it) for i in range(n)]
        kwargs = dict(dyn_kwargs)
        kwargs.update((k, v) for k, v in static if isinstance(k, str))
        return args, kwargs


def _hashable(value, which, name):
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"{name}: the static {which} is a {type(value).__name__}, which is not "
            "hashable; static arguments are part of the cache key, so they must be "
            "hashable (use a tuple instead of a list, or pass arrays as ordinary, "
            "traced arguments)."
        ) from None
    return value


def _stage(fun, sig, static_key, leaves, tree, reals=None):
    """Trace ``fun`` once: ``(program, out_tree, real outputs, cacheable)``.

    ``reals`` are the values the tracing run computes on (the leaves themselves
    unless given); nothing is kept when ``fun`` raises."""
    trace = StagingTrace()
    try:
        tracers = [trace.new_input(x) for x in (leaves if reals is None else reals)]
        args, kwargs = sig.rebuild(static_key, tree.unflatten(tracers))
        out = fun(*args, **kwargs)
        out_leaves, out_tree = tree_flatten(out)
    finally:
        trace.alive = False
    program, outs = trace.finish(out_leaves)
    return program, out_tree, outs, not trace.closed_over


def optimized(program, leaves=()):
    """The program the compiled replays run: the staged program after the passes of
    fgrad/program_passes.py, with its plan of ``out=`` into dead intermediates when
    the values are numpy's (``leaves``: the inputs of the call that compiles it).
    ``optimize`` returns a new program, with the staged value ``kinds``."""
    new = optimize(program)
    if not any(map(is_duck_array, leaves)):
        new.buffers = plan_buffers(new)
    return new


#: How many signatures the generated entry of a jitted function checks (newest first)
#: before it falls back to the cache's dictionary.
_GUARDED = 4
#: How many times a jitted function regenerates its entry; after that, signatures not
#: guarded go through the dictionary (a function called with ever-changing signatures
#: must not pay a code generation per call).
_REGENERATIONS = 32


def _entry_source(keys, cache):
    """``(source, namespace)`` of a ``__call__`` that checks the cheapest way whether
    a call has the signature of one of ``keys`` and runs that program directly, or
    ``(None, None)`` when a key holds something it does not check.

    A signature is guarded only by exact types (``type(x) is ndarray``, ``is float``
    ...), the identity of dtypes (numpy's built-in dtypes are singletons; an equal
    dtype that is another object simply takes the dictionary path), shape tuples,
    container types, lengths and dict keys: every check is one the key itself made,
    so the generated code accepts a call only when the dictionary would find the
    same entry."""
    namespace = {"_nd": _ndarray, "_dbg": _debug_state, "_M": _MISSING}
    consts = {}

    def const(value):
        name = consts.get(id(value))
        if name is None:
            name = consts[id(value)] = f"c{len(consts)}"
            namespace[name] = value
        return name

    counter = [0]

    def local():
        counter[0] += 1
        return f"t{counter[0]}"

    def conditions(k, first, name, conds, leaves):
        # `first` evaluates the value (binding `name` on the way), `name` reads it again
        if k is None:
            conds.append(f"{first} is None")
            return True
        if type(k) is type:
            if k not in _PLAIN_LEAF_TYPES:
                return False
            conds.append(f"type({first}) is {const(k)}")
            leaves.append(name)
            return True
        if type(k) is not tuple or not k:
            return False
        head = k[0]
        if type(head) is tuple:  # an ndarray: (shape, dtype)
            if len(k) != 2 or not isinstance(k[1], np.dtype):
                return False
            conds.append(f"type({first}) is _nd")
            conds.append(f"{name}.dtype is {const(k[1])}")
            conds.append(f"{name}.shape == {const(head)}")
            leaves.append(name)
            return True
        if head is tuple or head is list:
            children = k[1:]
            conds.append(f"type({first}) is {const(head)}")
            conds.append(f"len({name}) == {len(children)}")
            items = [f"{name}[{i}]" for i in range(len(children))]
        elif head is dict:
            keys, children = k[1], k[2:]
            conds.append(f"type({first}) is {const(dict)}")
            conds.append(f"len({name}) == {len(children)}")
            items = [f"{name}.get({const(kk)}, _M)" for kk in keys]
        else:
            return False
        for child, item in zip(children, items):
            if child is None:
                conds.append(f"{item} is None")
                continue
            t = local()
            if not conditions(child, f"({t} := {item})", t, conds, leaves):
                return False
        return True

    by_count = {}
    for key in keys:
        entry = cache[key]
        conds, leaves = [], []
        names = [f"a{i}" for i in range(len(key))]
        for k, a in zip(key, names):
            if not conditions(k, a, a, conds, leaves):
                return None, None
        run = const(entry[0])
        call = f"{run}({', '.join(leaves)})"
        result = f"{call}[0]" if entry[2] else f"{const(entry[1].unflatten)}({call})"
        by_count.setdefault(len(key), []).append((conds, result))
    lines = ["def __call__(self, *args, **kwargs):",
             "    if not kwargs and not _dbg['on']:",
             "        n = len(args)"]
    for n, cases in by_count.items():
        lines.append(f"        if n == {n}:")
        if n:
            lines.append(f"            {', '.join(f'a{i}' for i in range(n))}, = args")
        for conds, result in cases:
            if conds:
                lines.append(f"            if {' and '.join(conds)}:")
                lines.append(f"                return {result}")
            else:
                lines.append(f"            return {result}")
    lines.append("    return _slow(self, *args, **kwargs)")
    return "\n".join(lines) + "\n", namespace


_MISSING = object()


class Jitted:
    """A function staged by :func:`jit` (what ``jit(f)`` returns).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> f = fgrad.jit(lambda x: fnp.sin(x) ** 2)
        >>> float(f(0.5)) == float(fnp.sin(0.5) ** 2)
        True
        >>> f.cache_info()["size"]
        1
    """

    def __init__(self, fun, static_argnums=(), static_argnames=(), cache_size=CACHE_SIZE):
        if not callable(fun):
            raise TypeError(f"fgrad.jit: fun must be callable, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        name = f"jit({getattr(fun, '__name__', 'fun')})"
        self._sig = _Signature(fun, static_argnums, static_argnames, name)
        self._simple = self._sig.simple
        self._cache = OrderedDict()
        self._maxsize = int(cache_size)
        self._traces = 0
        self._guarded = []  # the signatures the generated __call__ checks, newest first
        self._regenerations = 0

    def __get__(self, obj, objtype=None):  # usable as a method
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        # (the entry of every call until a signature is guarded: then the generated
        # __call__ of this jitted function's own class runs first, see _guard)
        if self._simple and not kwargs:  # the hot path: plain arrays in tuples/lists/dicts
            found = _plain_key(args)
            if found is None:
                return self._call_general(args, kwargs)
            key, leaves = found
            entry = self._cache.get(key)
            if entry is not None and not debug_nans_on():
                self._cache.move_to_end(key)
                outs = entry[0](*leaves)
                if key not in self._guarded and self._regenerations < _REGENERATIONS:
                    self._guard(key)
                return outs[0] if entry[2] else entry[1].unflatten(outs)
            return self._miss(key, ((), len(args), ()), (args, {}))
        return self._call_general(args, kwargs)

    def _guard(self, key):
        """Put ``key`` first among the signatures checked by this jitted function's
        generated ``__call__`` (once its program is compiled)."""
        entry = self._cache.get(key)
        if entry is None or not entry[4]:
            return
        guarded = [key] + [k for k in self._guarded if k in self._cache][:_GUARDED - 1]
        source, namespace = _entry_source(guarded, self._cache)
        if source is None:
            return
        self._source = source
        namespace["_slow"] = Jitted.__call__
        exec(compile(source, "<fgrad.jit entry>", "exec"), namespace)
        self._regenerations += 1
        self._guarded = guarded
        cls = type(self)
        if cls is Jitted:  # a class of its own, whose __call__ is the generated one
            cls = type("Jitted", (Jitted,), {"__module__": __name__, "__doc__": Jitted.__doc__,
                                             "__qualname__": "Jitted"})
            self.__class__ = cls
        cls.__call__ = namespace["__call__"]

    def _unguard(self):
        self._guarded = []
        if type(self) is not Jitted:
            self.__class__ = Jitted

    def _call_general(self, args, kwargs):
        static_key, dyn = self._sig.split(args, kwargs)
        leaves = []
        try:
            key = (static_key, _fast_key(dyn, leaves))
        except _NotSimple:  # registered nodes, namedtuples, tracers, other arrays
            leaves, tree = tree_flatten(dyn)
            key = ("general", tree, static_key, *map(_leaf_key, leaves))
        entry = self._cache.get(key)
        if entry is not None and not debug_nans_on():
            self._cache.move_to_end(key)
            outs = entry[0](*leaves)
            return outs[0] if entry[2] else entry[1].unflatten(outs)
        return self._miss(key, static_key, dyn)

    def _miss(self, key, static_key, dyn):
        leaves, tree = tree_flatten(dyn)
        for x in leaves:
            _leaf_key(x)  # the clear error for a leaf that cannot be traced
        program, out_tree, outs, cacheable = _stage(self.fun, self._sig, static_key,
                                                    leaves, tree)
        self._traces += 1
        if cacheable and not debug_nans_on():  # (NaN debugging checks every call's trace)
            traced = any(isinstance(x, Tracer) for x in leaves)
            if traced:
                run = optimize(program).interpret  # fgrad/program_passes.py
            else:
                run = self._compile_later(key, program)
            self._cache[key] = (run, out_tree, out_tree.kind == "leaf", program, False)
            while len(self._cache) > self._maxsize:
                # the least recently used entry goes, but not a guarded one (hits through
                # the generated entry do not reorder the cache) unless all are
                guarded = self._guarded
                victim = next((k for k in self._cache if k is not key and k not in guarded),
                              None)
                if victim is None:
                    victim = next(iter(self._cache))
                    self._unguard()
                del self._cache[victim]
        return out_tree.unflatten(outs)

    def compiled_for(self, *args):
        """The compiled program cached for the signature of ``args`` (positional
        plain values, no static arguments), called with the leaves in order and
        returning the list of output leaves; ``None`` when there is none (not traced,
        not yet compiled, static arguments, or arguments that are not plain).  For
        a caller replaying one signature in a loop (``fgrad.lax.scan``'s steps)."""
        found = _plain_key(args) if self._simple else None
        if found is None:
            return None
        key, leaves = found
        entry = self._cache.get(key)
        if entry is None or not entry[4] or len(leaves) != len(args):
            return None
        return entry[0]

    def _compile_later(self, key, program):
        """The first replay compiles the program (a function traced once and never
        called again costs no compilation) and puts the compiled code in the cache."""
        cache = self._cache

        def first_replay(*leaves):
            run = optimized(program, leaves).compile()
            entry = cache.get(key)
            if entry is not None and entry[0] is first_replay:
                cache[key] = (run,) + entry[1:4] + (True,)
            return run(*leaves)

        return first_replay

    def cache_info(self):
        """The cache's state: ``{"size", "maxsize", "traces"}`` (``traces``: how many
        times the function was traced so far).

        Example:
            >>> import fgrad, numpy as np
            >>> f = fgrad.jit(lambda x: x * 2.0)
            >>> _ = f(np.ones(2)); _ = f(np.ones(2)); _ = f(np.ones(3))
            >>> f.cache_info()
            {'size': 2, 'maxsize': 64, 'traces': 2}
        """
        return {"size": len(self._cache), "maxsize": self._maxsize, "traces": self._traces}

    def clear_cache(self):
        """Forget every program: the next call traces again.

        Example:
            >>> import fgrad
            >>> f = fgrad.jit(lambda x: x + 1.0)
            >>> _ = f(1.0); f.clear_cache(); f.cache_info()["size"]
            0
        """
        self._cache.clear()
        self._unguard()

    def __repr__(self):
        return f"<fgrad.jit of {self.fun!r}>"


def jit(fun, static_argnums=(), static_argnames=()):
    """Stage ``fun``: trace it once per input signature, then replay the program.

    The first call with a new signature (pytree structure, each leaf's kind, shape
    and dtype, the static arguments' values) runs ``fun`` on tracers that record
    every primitive into a program (and compute this call's result on the way);
    later calls with the same signature run the program's generated numpy code,
    without tracing.  Results equal eager results.

    Inside ``fun`` shapes are known (Python ints), values are not: ``if x > 0``,
    ``float(x)``, ``int(x)`` raise ``fgrad.staging.ConcretizationError``;
    mark such arguments static (``static_argnums`` positions, ``static_argnames``
    names; their values must be hashable and key the cache), or use
    ``fgrad.numpy.where`` / ``fgrad.lax``.  Arrays that ``fun`` closes over are
    constants of the program, copied when it is traced: later changes to them are
    not seen until ``clear_cache()``.

    ``jit`` composes with every transform, in both orders (``grad(jit(f))``,
    ``jit(grad(f))``, ``vmap``, ``jvp``, ``hessian`` ...).  Each jitted function
    keeps ``CACHE_SIZE`` programs (least recently used dropped first);
    ``cache_info()`` and ``clear_cache()`` inspect and empty the cache.

    Args:
        fun: the function to stage; its arguments are pytrees of arrays and numbers
            (and the static arguments), its outputs a pytree of arrays and numbers.
        static_argnums: positions of the arguments that are settings rather than data
            (an int or a tuple of ints); their values key the cache and must be hashable.
        static_argnames: the same, by parameter name (a string or a tuple of strings).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> f = fgrad.jit(lambda x: fnp.tanh(x) * x)
        >>> float(f(1.0)) == float(fnp.tanh(1.0) * 1.0)
        True
        >>> g = fgrad.jit(fgrad.grad(lambda x: fnp.tanh(x) * x))
        >>> round(float(g(1.0)), 6)
        1.181568
    """
    return Jitted(fun, static_argnums, static_argnames)


def make_program(fun, static_argnums=(), static_argnames=()):
    """Return a function that traces ``fun`` on its arguments and returns the
    ``fgrad.program.Program`` (JAX's ``make_jaxpr``): print it for a listing,
    one line per primitive with its name in the rule table, shapes and dtypes.

    Args:
        fun: the function to trace (it may be a transformed function, ``grad(f)``).
        static_argnums: as for :func:`jit`: arguments that are settings, not data.
        static_argnames: the same, by parameter name.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> print(fgrad.make_program(lambda x: fnp.sin(x) * 2.0)(1.0))
        { lambda ; a:f64[]. let
            b:f64[] = sin a
            c:f64[] = multiply b 2.0
          in (c,) }
    """
    sig = _Signature(fun, static_argnums, static_argnames,
                     f"make_program({getattr(fun, '__name__', 'fun')})")

    def traced(*args, **kwargs):
        static_key, dyn = sig.split(args, kwargs)
        leaves, tree = tree_flatten(dyn)
        for x in leaves:
            _leaf_key(x)  # the same checks as jit
        program = _stage(fun, sig, static_key, leaves, tree)[0]
        return program

    return traced


class ShapeDtypeStruct:
    """A shape and a dtype (what :func:`eval_shape` returns, and accepts as an input).

    Args:
        shape: a tuple of ints.
        dtype: anything ``np.dtype`` accepts.

    Example:
        >>> import numpy as np
        >>> from fgrad import ShapeDtypeStruct
        >>> ShapeDtypeStruct((2, 3), np.float32)
        ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other):
        return (isinstance(other, ShapeDtypeStruct) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes of ``fun(*args, **kwargs)``'s outputs, as a pytree of
    :class:`ShapeDtypeStruct`, without computing on the arguments' data.

    Arguments may be :class:`ShapeDtypeStruct` (or anything with ``shape`` and
    ``dtype``: only those are read) or numbers.  fgrad traces ``fun`` abstractly
    (``fgrad.staging.AbstractTrace``): every value is a shape and a dtype, and each
    row gives its output's from its shape rule (``fgrad.shapes``), so no numpy code
    runs on data and an argument of 10**12 elements costs what one of 10 does.
    Transforms inside ``fun`` (``grad``, ``vjp``, ``jvp``, ``vmap``, ``jit``) are
    evaluated the same way.  It fails where ``fun`` needs values (``if x > 0``
    raises ``fgrad.staging.ConcretizationError``) and where a result's shape
    depends on data (``nonzero``, ``unique`` without ``size=``:
    ``fgrad.shapes.ShapeNeedsValues``).  The few rows that have no shape rule yet
    run their numpy code once on stand-in data of the given shapes.

    Args:
        fun: the function whose outputs are described.
        *args: its positional arguments: :class:`ShapeDtypeStruct` (or anything with
            ``shape`` and ``dtype``), arrays or numbers.
        **kwargs: its keyword arguments, the same kinds.

    Example:
        >>> import fgrad, fgrad.numpy as fnp, numpy as np
        >>> x = fgrad.ShapeDtypeStruct((5, 3), np.float32)
        >>> fgrad.eval_shape(lambda a: fnp.sum(a * 2.0, axis=0), x)
        ShapeDtypeStruct(shape=(3,), dtype=float32)
        >>> big = fgrad.ShapeDtypeStruct((10**6, 10**6), np.float64)  # 8 TB: never made
        >>> fgrad.eval_shape(fgrad.grad(lambda a: fnp.sum(fnp.tanh(a) @ a[:, :3])), big)
        ShapeDtypeStruct(shape=(1000000, 1000000), dtype=float64)
    """
    leaves, tree = tree_flatten((args, kwargs))
    for x in leaves:
        if type(x) in _PLAIN_LEAF_TYPES or isinstance(x, Tracer):
            continue
        shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
        if not isinstance(shape, tuple) or dtype is None:
            _other_key(x, type(x))  # the clear error for a non-numeric leaf
    sig = _Signature(fun, (), (), f"eval_shape({getattr(fun, '__name__', 'fun')})")
    with AbstractTrace() as trace:
        tracers = [trace.new_input(x) for x in leaves]
        f_args, f_kwargs = sig.rebuild(((), len(args), ()), tree.unflatten(tracers))
        try:
            out = fun(*f_args, **f_kwargs)
        except ConcretizationError as err:
            if not hasattr(err, "what"):
                raise
            raise abstract_concretization_error(
                err.what, getattr(fun, "__name__", "fun")) from None
        out_leaves, out_tree = tree_flatten(out)
    shapes = []
    for o in out_leaves:
        if isinstance(o, StagingTracer) and o._trace is trace:
            shapes.append(ShapeDtypeStruct(o.shape, o.dtype))
        elif isinstance(o, Tracer):
            shapes.append(ShapeDtypeStruct(shape_of(o), dtype_of(o)))
        else:
            shapes.append(ShapeDtypeStruct(np.shape(o), np.result_type(o)))
    return out_tree.unflatten(shapes)
