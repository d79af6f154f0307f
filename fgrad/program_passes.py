"""Optimisation passes over a staged program (:mod:`fgrad.program`).

Each pass takes a :class:`~fgrad.program.Program` and returns a new one that
computes the same outputs from the same inputs (the old program is left as it
was; the two may share ``Eqn`` and ``Var`` objects).  Everything a pass decides,
it decides from the program's structure and its ``Literal`` values, which are
fixed when the program is staged, never from the values of a call.

* :func:`eliminate_dead_code` drops equations whose output nothing reads: in
  ``jit(grad(f))``, the forward values only the primal output needed.
* :func:`eliminate_common_subexpressions` computes an equation once when an
  earlier one applies the same row to the same inputs with equal parameters
  (in either order for :data:`COMMUTATIVE` rows: ``x * y`` and ``y * x``).
* :func:`fold_constants` evaluates equations whose inputs are all Literals.
* :func:`drop_zero_work` forwards ``x`` for ``x + 0``, ``x - 0`` and ``x * 1``.
* :func:`plan_buffers` says where the compiled code may write a ufunc's result
  into a dead intermediate of the same shape and dtype (``out=``).

Only rows of :data:`fgrad.core.PRIMITIVES` are merged or folded: a call-specific
primitive (``custom_vjp``, ``checkpoint``, ``lax.scan`` ...) runs a user's
function, which fgrad does not assume pure, and the rows in :data:`IMPURE` may
give different values for equal arguments.
"""

import warnings

import numpy as np

from .core import PRIMITIVES, is_duck_array
from .program import Eqn, Literal, Program, Var

__all__ = ["optimize", "eliminate_dead_code", "eliminate_common_subexpressions",
           "fold_constants", "drop_zero_work", "plan_buffers"]

# Rows whose value may differ between two calls with equal arguments: never merged
# or folded.  (The multivariate normal cdf is a quasi-Monte-Carlo estimate; scipy
# older than 1.16 draws its points from numpy's global generator.)
IMPURE = frozenset({"special.mvn_cdf"})

# A folded constant that needs more new memory than this is left to be computed on
# each call: the program would hold it for its lifetime.  (A view of a Literal needs
# none; an all-zero result is kept as one broadcast zero whatever its shape.)
FOLD_MAX_BYTES = 1 << 16


def optimize(program):
    """All the passes, in an order where one round reaches a fixed point.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Literal, Program, Var
        >>> x, a, b, c, d = (Var(i, (3,), np.float64) for i in range(5))
        >>> prog = Program([x], [Eqn(PRIMITIVES["sin"], (x,), {}, a),
        ...                      Eqn(PRIMITIVES["sin"], (x,), {}, b),   # same as a
        ...                      Eqn(PRIMITIVES["cos"], (x,), {}, c),   # never read
        ...                      Eqn(PRIMITIVES["add"], (a, b), {}, d)], [d])
        >>> print(optimize(prog))
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
            c:f64[3] = add b b
          in (c,) }
    """
    # One walk reaches the fixed point: each equation is folded, then forwarded, then
    # merged, on inputs with every earlier rewrite applied (folding makes the
    # Literals the other two look at; forwarding and merging make no all-Literal
    # equation); dead code goes last.  The tests check idempotence.
    exposed = _exposed(program)
    steps = (_fold, _forwarding(exposed, program.kinds or {}), _merging(exposed))

    def visit(e):
        for step in steps:
            e = step(e)
            if type(e) is not Eqn:
                break
        return e

    return eliminate_dead_code(_rewrite(program, visit))


def eliminate_dead_code(program):
    """The program without the equations whose output no output depends on.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Program, Var
        >>> x, y, z = (Var(i, (), np.float64) for i in range(3))
        >>> prog = Program([x], [Eqn(PRIMITIVES["sin"], (x,), {}, y),
        ...                      Eqn(PRIMITIVES["cos"], (x,), {}, z)], [z])
        >>> [e.prim.name for e in eliminate_dead_code(prog).eqns]
        ['cos']
    """
    live = {o for o in program.outputs if isinstance(o, Var)}
    kept = []
    for e in reversed(program.eqns):
        if e.out in live:
            kept.append(e)
            live.update(a for a in e.inputs if isinstance(a, Var))
    kept.reverse()
    return _program_like(program, kept, program.outputs)


def eliminate_common_subexpressions(program):
    """The program with each repeated computation done once: an equation applying
    the same (pure) row as an earlier one to the same inputs with equal parameters
    reads the earlier one's output instead.  (An output, or what an output may be a
    view of, stays its own array, as in eager mode.)

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Literal, Program, Var
        >>> x, y, z, w = (Var(i, (), np.float64) for i in range(4))
        >>> mul = PRIMITIVES["multiply"]
        >>> prog = Program([x], [Eqn(mul, (x, Literal(2.0)), {}, y),
        ...                      Eqn(mul, (x, Literal(2.0)), {}, z),
        ...                      Eqn(PRIMITIVES["add"], (y, z), {}, w)], [w])
        >>> print(len(eliminate_common_subexpressions(prog).eqns))
        2
    """
    return _rewrite(program, _merging(_exposed(program)))


def _merging(exposed):
    seen = {}

    def visit(e):
        if not _pure_row(e.prim):
            return e
        if e.out in exposed:  # the caller gets it: it stays its own array
            seen.setdefault(_eqn_key(e), e)  # but later repeats may read it
            return e
        earlier = seen.setdefault(_eqn_key(e), e)
        return e if earlier is e else earlier.out

    return visit


def fold_constants(program):
    """The program with every (pure) row whose inputs are all Literals computed now.

    A computation that raises, warns or meets a floating-point error (``log(0.0)``)
    is left in the program, so that it does so on each call, as it would unstaged.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Literal, Program, Var
        >>> x, y, z = Var(0, (), np.float64), Var(1, (), np.float64), Var(2, (), np.float64)
        >>> prog = Program([x], [Eqn(PRIMITIVES["exp"], (Literal(0.0),), {}, y),
        ...                      Eqn(PRIMITIVES["multiply"], (x, y), {}, z)], [z])
        >>> folded = fold_constants(prog)
        >>> [e.prim.name for e in folded.eqns], float(folded.eqns[0].inputs[1].value)
        (['multiply'], 1.0)
    """
    return _rewrite(program, _fold)


def _fold(e):
    """The Literal ``e`` computes, or ``e`` if it is not folded."""
    if not all(type(a) is Literal for a in e.inputs) or not _pure_row(e.prim):
        return e
    args = [a.value for a in e.inputs]
    try:
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            value = e.prim.call(*args, **e.params)
    except Exception:  # noqa: BLE001 - left for the call to raise as it would
        return e
    if _shape_dtype(value) != (e.out.shape, e.out.dtype):
        return e
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc" and value.size and not value.any() \
                and not np.signbit(value).any():
            return Literal(np.broadcast_to(np.zeros((), value.dtype), value.shape))
        views = [a for a in args if isinstance(a, np.ndarray)
                 and np.may_share_memory(value, a)]
        if views:  # a view of a Literal (reshape ...): holds no new memory
            return Literal(value)
        if value.nbytes > FOLD_MAX_BYTES:
            return e
        value.flags.writeable = False  # a new array, shared by every call of the program
    return Literal(value)


def drop_zero_work(program):
    """The program without the arithmetic that leaves a value unchanged: ``x + 0``,
    ``0 + x``, ``x - 0`` and ``x * 1``, ``1 * x`` with an all-zero (all-one)
    Literal, when the result has ``x``'s shape and dtype (no broadcasting, no
    promotion); the equation's readers read ``x``.  (An output, or what an output
    may be a view of, stays its own array: the caller never gets ``x`` itself.)

    The results are the same numbers, except that ``-0.0 + 0.0`` gives ``-0.0``
    instead of ``0.0``.  ``x * 0`` is *not* rewritten to zeros: it is NaN where
    ``x`` is infinite or NaN, and staging must not change that.  Work on Literals
    only (a sum of zeros, zeros reshaped or broadcast) is :func:`fold_constants`'s.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Literal, Program, Var
        >>> x, y, z = (Var(i, (3,), np.float64) for i in range(3))
        >>> prog = Program([x], [Eqn(PRIMITIVES["add"], (x, Literal(np.zeros(3))), {}, y),
        ...                      Eqn(PRIMITIVES["sin"], (y,), {}, z)], [z])
        >>> print(drop_zero_work(prog))
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
          in (b,) }
    """
    return _rewrite(program, _forwarding(_exposed(program), program.kinds or {}))


# row -> (the unit, positions where it may stand): x + 0, 0 + x, x - 0, x * 1, 1 * x
_IDENTITIES = {"add": (0, (0, 1)), "subtract": (0, (1,)), "multiply": (1, (0, 1))}


def _forwarding(exposed, kinds):
    def visit(e):
        rule = _IDENTITIES.get(e.prim.name)
        if (rule is None or e.params or len(e.inputs) != 2 or not _pure_row(e.prim)
                or e.out in exposed):  # the caller gets it: it stays its own array
            return e
        unit, positions = rule
        for pos in positions:
            other = e.inputs[1 - pos]
            if (_all_equal(e.inputs[pos], unit) and type(other) is Var
                    and (other.shape, other.dtype) == (e.out.shape, e.out.dtype)
                    # and of the same kind: a Python float plus 0.0 is a numpy float64,
                    # which promotes differently (numpy 2 treats Python scalars as weak)
                    and kinds.get(other.id) is kinds.get(e.out.id)):
                return other
        return e

    return visit


def plan_buffers(program):
    """Where the compiled program may write a result into a dead intermediate.

    Returns ``{eqn index: input position}``: equation ``i``'s row is an
    elementwise numpy ufunc, and its input at that position is a Var that

    * the program allocated (the output of a ufunc row, not 0-d: never an input
      leaf, a Literal, or a view of one),
    * nothing reads after equation ``i``, neither directly nor through a view
      (``reshape``, ``transpose``, ``getitem`` ... may return views of it),
    * is not (and has no view that is) an output of the program, nor an argument
      of a call-specific primitive (which may keep it),
    * has the output's shape and dtype,

    so ``impl(*args, out=args[position])`` computes the same values without
    allocating.  (numpy's ufuncs give the right answer when ``out`` overlaps an
    input.)  The plan is for numpy values: it is empty when a Literal is an array
    of another library, and the caller uses none when an input is one.

    Example:
        >>> import numpy as np
        >>> from fgrad.core import PRIMITIVES
        >>> from fgrad.program import Eqn, Program, Var
        >>> x, y, z = (Var(i, (4,), np.float64) for i in range(3))
        >>> prog = Program([x], [Eqn(PRIMITIVES["sin"], (x,), {}, y),    # x: the caller's
        ...                      Eqn(PRIMITIVES["cos"], (y,), {}, z)], [z])  # y dies here
        >>> plan_buffers(prog)
        {1: 0}
    """
    eqns = program.eqns
    if any(type(a) is Literal and is_duck_array(a.value) for e in eqns for a in e.inputs):
        return {}  # values of other array libraries: out= is numpy's contract only
    last_read = {}  # Var -> the last equation reading it
    views = {}      # Var -> the program's buffers it may be or view (absent: none)
    pinned = set()  # buffers never to write: seen by the caller or by a call-specific primitive
    writers = []    # equations that may write into a buffer: elementwise ufunc rows
    for i, e in enumerate(eqns):
        for a in e.inputs:
            if type(a) is Var:
                last_read[a] = i
        prim, out = e.prim, e.out
        row = _is_row(prim)
        if row and isinstance(prim.impl, np.ufunc) and out.shape:
            views[out] = (out,)  # a new array
            if prim.impl.signature is None and prim.impl.nout == 1:
                writers.append(i)
        else:  # may return (a view of) any of its inputs
            seen = {b for a in e.inputs if type(a) is Var for b in views.get(a, ())}
            if seen:
                views[out] = tuple(seen)
                if not row:
                    pinned.update(seen)
    for o in program.outputs:
        pinned.update(views.get(o, ()))
    dies = {}  # buffer -> the last equation reading it or a view of it
    for v, buffers in views.items():
        i = last_read.get(v, -1)
        for b in buffers:
            if dies.get(b, -1) < i:
                dies[b] = i
    plan = {}
    for i in writers:
        out = eqns[i].out
        for pos, a in enumerate(eqns[i].inputs):
            if (type(a) is Var and views.get(a) == (a,) and a not in pinned and dies[a] == i
                    and a.shape == out.shape and a.dtype == out.dtype):
                plan[i] = pos
                break
    return plan


# --- helpers ---------------------------------------------------------------------------


def _program_like(program, eqns, outputs):
    return Program(program.inputs, eqns, outputs, kinds=program.kinds)


def _rewrite(program, visit):
    """Run ``visit(eqn)`` over the equations in order, on their inputs as rewritten so
    far: it returns the equation to keep (or a new one), or the Var or Literal its
    output becomes."""
    subst = {}  # Var -> what replaces it (Vars and Literals hash by identity)
    eqns = []
    for e in program.eqns:
        if subst:
            inputs = tuple([subst.get(a, a) for a in e.inputs])
            if inputs != e.inputs:  # compares by identity
                e = Eqn(e.prim, inputs, e.params, e.out)
        new = visit(e)
        if type(new) is Eqn:
            eqns.append(new)
        else:
            subst[e.out] = new
    return _program_like(program, eqns, [subst.get(o, o) for o in program.outputs])


def _exposed(program):
    """The Vars whose memory the caller may get: the outputs, and what they may be
    views of (anything but a ufunc may return a view of an input, or the input).
    CSE and drop_zero_work never replace these, so that staging never makes an
    output share memory with an input or another output where eager mode does not."""
    exposed = {o for o in program.outputs if isinstance(o, Var)}
    for e in reversed(program.eqns):
        if e.out in exposed and not (isinstance(e.prim.impl, np.ufunc) and _is_row(e.prim)):
            exposed.update(a for a in e.inputs if isinstance(a, Var))
    return exposed


# Rows whose two arguments may be swapped: the same bits either way (IEEE addition and
# multiplication are commutative, signed zeros included; a NaN stays a NaN, its payload
# aside).  maximum/minimum are not here: which zero they return depends on the order.
COMMUTATIVE = frozenset({"add", "multiply", "equal", "not_equal", "logical_and", "logical_or",
                         "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor"})


def _eqn_key(e):
    inputs = [a if type(a) is Var else _freeze(a.value) for a in e.inputs]
    if e.prim.name in COMMUTATIVE and len(inputs) == 2:  # x * y is y * x
        inputs.sort(key=lambda k: (0, k.id) if type(k) is Var else (1, hash(k)))
    return (e.prim.name, tuple(inputs), _freeze(e.params) if e.params else ())


def _is_row(prim):
    # a plain dict look-up: asking the table itself would load the scipy-backed rows
    return dict.get(PRIMITIVES, prim.name) is prim


def _pure_row(prim):
    return prim.name not in IMPURE and _is_row(prim)


def _shape_dtype(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return value.shape, value.dtype
    return None


def _all_equal(atom, unit):
    """Whether ``atom`` is a numeric Literal whose every element equals ``unit``."""
    if not isinstance(atom, Literal):
        return False
    v = atom.value
    if isinstance(v, (bool, int, float, complex)):
        return v == unit
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "biufc":
        return bool(np.all(v == unit))
    return False


_ARRAY_KEY_BYTES = 1 << 12  # Literal arrays up to this size are compared by value


def _freeze(v):
    """A hashable key equal for two parameter values only if they are certainly equal:
    by value for numbers (``-0.0`` and ``0.0``, ``1`` and ``1.0`` differ), strings,
    small arrays and containers of those; by identity for anything else (functions,
    large arrays, objects)."""
    t = type(v)
    if t in (bool, int, str, bytes) or v is None:
        return (t, v)
    if t in (float, complex):
        return (t, repr(v))
    if t in (tuple, list):
        return (t, tuple(map(_freeze, v)))
    if t is dict:
        return (t, tuple(sorted((repr(k), _freeze(x)) for k, x in v.items())))
    if t is slice:
        return (t, _freeze(v.start), _freeze(v.stop), _freeze(v.step))
    if isinstance(v, np.dtype):
        return (np.dtype, v.str)
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "biufcmM" \
            and v.nbytes <= _ARRAY_KEY_BYTES:
        return (t, v.dtype.str, v.shape, v.tobytes())
    return ("object", id(v))
