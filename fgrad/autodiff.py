"""Forward mode (tangents carried along) and reverse mode (a tape played back).

Both traces read the same rule table (:data:`fgrad.core.PRIMITIVES`).  Rules are
written with fgrad functions, so when the values they receive are tracers of an
outer transform, the derivative computation is itself differentiated.
"""

from __future__ import annotations

import numpy as np

from .core import Trace, Tracer

__all__ = ["ForwardTrace", "ForwardTracer", "ReverseTrace", "ReverseTracer"]


def _fix_shape_dtype(x, shape, dtype):
    """Sum a broadcast derivative back to ``shape`` and cast it to ``dtype``."""
    from . import numpy as fnp

    if x.shape != shape:
        x = fnp.sum_to_shape(x, shape)
    if x.dtype != dtype:
        if x.dtype.kind == "c" and dtype.kind != "c":
            x = fnp.real(x)
        x = fnp.astype(x, dtype)
    return x


# --------------------------------------------------------------------------
# Forward mode
# --------------------------------------------------------------------------


class ForwardTracer(Tracer):
    """A value paired with its tangent (a dual number, for arrays)."""

    __slots__ = ("tangent",)

    def __init__(self, value, trace, tangent):
        self.value = value
        self.trace = trace
        self.tangent = tangent


class ForwardTrace(Trace):
    """The trace of one ``jvp`` call."""

    __slots__ = ()

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        primals = []
        tangents = None
        for i, a in enumerate(args):
            if isinstance(a, ForwardTracer) and a.trace is self:
                primals.append(a.value)
                if tangents is None:
                    tangents = []
                tangents.append((i, a.tangent))
            else:
                primals.append(a)
        ans = prim.fn(*primals, **params)
        if prim.nondiff or tangents is None:
            return ans
        if not hasattr(ans, "shape"):  # a user impl returned a Python scalar
            ans = np.asarray(ans)[()]
        out = None
        rules = prim.jvp
        for i, t in tangents:
            rule = rules[i] if i < len(rules) else None
            if rule is None:
                raise TypeError(
                    f"{prim.name!r} is not differentiable with respect to argument {i}"
                )
            c = rule(t, ans, *primals, **params)
            out = c if out is None else out + c
        if out.shape != ans.shape:
            from . import numpy as fnp

            out = fnp.broadcast_to(out, ans.shape)
        if out.dtype != ans.dtype:
            out = _fix_shape_dtype(out, ans.shape, ans.dtype)
        return ForwardTracer(ans, self, out)


# --------------------------------------------------------------------------
# Reverse mode
# --------------------------------------------------------------------------


class ReverseTracer(Tracer):
    """A value and its position on the tape of a reverse-mode trace."""

    __slots__ = ("index",)

    def __init__(self, value, trace, index):
        self.value = value
        self.trace = trace
        self.index = index


class ReverseTrace(Trace):
    """The trace of one ``grad``/``vjp`` call: a tape in evaluation order.

    Each entry is ``(prim, params, parents, saved_args, saved_ans, shape, dtype)``
    where ``parents`` pairs argument positions with tape indices.  The tape is
    already topologically ordered, so the backward pass is one reversed loop
    (no recursion, any depth).  Only the arguments the vjp rules actually read
    are kept (see :meth:`Primitive.saves_for`).
    """

    __slots__ = ("tape",)

    def __init__(self):
        super().__init__()
        self.tape = []

    def new_input(self, value):
        self.tape.append((None, None, (), None, None, np.shape(value), np.result_type(value)))
        return ReverseTracer(value, self, len(self.tape) - 1)

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals = []
        parents = []
        for i, a in enumerate(args):
            if isinstance(a, ReverseTracer) and a.trace is self:
                vals.append(a.value)
                parents.append((i, a.index))
            else:
                vals.append(a)
        ans = prim.fn(*vals, **params)
        if prim.nondiff or not parents:
            return ans
        if not hasattr(ans, "shape"):  # a user impl returned a Python scalar
            ans = np.asarray(ans)[()]
        positions = tuple(p for p, _ in parents)
        keep_args, keep_ans = prim.saves_for(positions)
        if keep_args is None:
            saved = tuple(vals)
        else:
            saved = tuple(v if k in keep_args else None for k, v in enumerate(vals))
        tape = self.tape
        tape.append(
            (prim, params, parents, saved, ans if keep_ans else None, ans.shape, ans.dtype)
        )
        return ReverseTracer(ans, self, len(tape) - 1)

    def backward(self, seeds, consume=False):
        """Play the tape back from the ``(tape_index, cotangent)`` pairs in ``seeds``.

        Returns the list of cotangents indexed by tape position (``None`` where
        no cotangent arrived); inputs are the entries with ``prim is None``.
        With ``consume`` the tape entries are dropped as they are used, so
        saved intermediates are freed during the backward pass.
        """
        tape = self.tape
        cts = [None] * len(tape)
        start = -1
        for index, g in seeds:
            prev = cts[index]
            cts[index] = g if prev is None else prev + g
            start = index if index > start else start
        for k in range(start, -1, -1):
            g = cts[k]
            if g is None:
                continue
            prim, params, parents, saved, ans, _, _ = tape[k]
            if prim is None:
                continue
            cts[k] = None
            if consume:
                tape[k] = None
            rules = prim.vjp
            for pos, j in parents:
                rule = rules[pos] if pos < len(rules) else None
                if rule is None:
                    raise TypeError(
                        f"{prim.name!r} is not differentiable with respect to its "
                        f"argument {pos}; wrap that argument in fgrad.stop_gradient "
                        "if it is meant as a constant"
                    )
                c = rule(g, ans, *saved, **params)
                _, _, _, _, _, shape, dtype = tape[j]
                if c.shape != shape or c.dtype != dtype:
                    c = _fix_shape_dtype(c, shape, dtype)
                prev = cts[j]
                cts[j] = c if prev is None else prev + c
            g = c = prev = None
        return cts
