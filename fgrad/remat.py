"""Rematerialisation: :func:`checkpoint` makes reverse mode store only the inputs
of ``fun`` and run ``fun`` again during the backward pass, instead of keeping
all of its intermediates alive.

Each call becomes one primitive-like application whose rules (jvp, vjp,
batching) re-run ``fun`` under the matching transform, so checkpointed
functions compose with every transform.  The forward run itself happens on
tracers of a trace that only evaluates (:class:`_EvalTrace`), so ``fun`` sees
the same immutable values it sees under every other transform.
"""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .api import jvp, vjp
from .batching import vmap
from .core import Primitive, Trace, Tracer, as_array, checking_process, concrete, debug_variant
from .tree import tree_flatten

__all__ = ["checkpoint"]


def _shape(x):
    return np.shape(concrete(x))


def _dtype(x):
    return np.result_type(concrete(x))


def _is_array_leaf(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic, float, int, complex)) and not (
        isinstance(x, bool)
    )


class _EvalTracer(Tracer):
    """A value inside a checkpointed function's forward run: it only evaluates."""

    __slots__ = ()

    def __init__(self, value, trace):
        self.value = value
        self._trace = trace


class _EvalTrace(Trace):
    """Runs a function on tracers that just evaluate, so it sees what it sees under
    every other transform (immutable values with ``.at``, never the caller's arrays
    to write into) while the forward pass of ``checkpoint`` records nothing."""

    __slots__ = ()

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals = [a.value if isinstance(a, Tracer) and a._trace is self else a for a in args]
        ans = prim.fn(*vals, **params)
        return ans if prim.nondiff else _EvalTracer(ans, self)


# while NaN debugging is on (fgrad.debug_nans), the forward run is checked too
debug_variant(_EvalTrace, "process", checking_process(_EvalTrace.process))


def _static_positions(static_argnums, nargs, name):
    static = set()
    for i in static_argnums:
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(
                f"checkpoint({name}): static_argnums must be ints (positions of "
                f"arguments), got {i!r}."
            )
        if not -nargs <= i < nargs:
            raise ValueError(
                f"checkpoint({name}): static_argnums={static_argnums!r} names position {i}, "
                f"but the function was called with {nargs} positional argument(s); "
                "static_argnums counts positional arguments from 0 (negative from the end)."
            )
        static.add(int(i) % nargs)
    return static


def checkpoint(fun, *, static_argnums=()):
    """Rematerialisation: reverse mode re-runs ``fun`` instead of storing its intermediates.

    Under ``grad``/``vjp`` a call of the returned function is recorded as one
    step that saves only its inputs; the backward pass runs ``fun`` again (under
    ``vjp``) when it reaches that step.  This trades one extra forward pass for
    memory: checkpointing the blocks of a deep chain keeps only the blocks'
    inputs alive.  Values and derivatives are unchanged, and the function
    composes with every transform (``jvp``, ``vmap``, nested ``grad``).
    Arguments listed in ``static_argnums`` (and keyword arguments) are passed
    through as constants; other non-array leaves are treated as constants too.
    ``fun`` must be pure.

    Args:
        fun: a pure function; its intermediates are recomputed in the backward pass.
        static_argnums: positions of arguments passed through as constants (not
            differentiated and not saved as inputs), e.g. flags and sizes.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> block = fgrad.checkpoint(lambda x: fnp.sin(fnp.sin(x)))
        >>> float(fgrad.grad(lambda x: block(block(x)))(0.0))
        1.0
    """
    if isinstance(static_argnums, (int, np.integer)):
        static_argnums = (static_argnums,)
    static_argnums = tuple(static_argnums)
    name = getattr(fun, "__name__", type(fun).__name__)

    def checkpointed(*args, **kwargs):
        nargs = len(args)
        static = _static_positions(static_argnums, nargs, name) if static_argnums else set()
        dyn_pos = [i for i in range(nargs) if i not in static]
        leaves, treedef = tree_flatten(tuple(args[i] for i in dyn_pos))
        if not any(isinstance(x, Tracer) for x in leaves):
            return fun(*args, **kwargs)
        arr_pos = [k for k, x in enumerate(leaves) if _is_array_leaf(x)]

        def call(*arrays):
            full = list(leaves)
            for k, a in zip(arr_pos, arrays):
                full[k] = a
            a = list(args)
            for i, v in zip(dyn_pos, treedef.unflatten(full)):
                a[i] = v
            return fun(*a, **kwargs)

        packed_fn, unpack = _packing(call)
        prim = _checkpoint_primitive(packed_fn, len(arr_pos), name)
        packed = prim.fn(*(leaves[k] for k in arr_pos))
        return unpack(packed)

    checkpointed.__name__ = checkpointed.__qualname__ = f"checkpoint({name})"
    checkpointed.__doc__ = f"checkpoint of {name}." + (
        f"\n\n{fun.__doc__}" if getattr(fun, "__doc__", None) else "")
    checkpointed.__wrapped__ = fun
    return checkpointed


def _packing(call):
    """``(packed_fn, unpack)``: ``call``'s output as one array and back.

    A single array output is passed as it is; a pytree of several leaves is
    raveled and concatenated (in their common dtype) and split again after.
    The output structure is learned on the first evaluation.
    """

    layout = {}

    def packed_fn(*arrays):
        out = call(*arrays)
        leaves, tree = tree_flatten(out)
        if "tree" not in layout:
            layout["tree"] = tree
            layout["leaves"] = [(_shape(x), _dtype(x)) for x in leaves]
        elif tree != layout["tree"]:
            raise TypeError(
                "checkpoint: the function returned a different output structure when run "
                f"again ({tree} instead of {layout['tree']}); it must be pure."
            )
        if tree.kind == "leaf":
            return out if isinstance(out, Tracer) else as_array(out)
        if not leaves:
            return np.zeros(0)
        return fnp.concatenate([fnp.ravel(fnp.asarray(x)) for x in leaves])

    def unpack(packed):
        tree = layout["tree"]
        if tree.kind == "leaf":
            return packed
        parts, start = [], 0
        common = np.result_type(*[d for _, d in layout["leaves"]]) if layout["leaves"] else None
        for shape, dtype in layout["leaves"]:
            n = int(np.prod(shape, dtype=np.int64))
            part = fnp.reshape(packed[start:start + n], shape)
            if dtype != common:
                part = fnp.astype(part, dtype)
            parts.append(part)
            start += n
        return tree.unflatten(parts)

    return packed_fn, unpack


def _checkpoint_primitive(packed_fn, n, name):
    """A row (not registered in the table) for one checkpointed call with ``n`` arrays."""

    def impl(*arrays):
        # the function runs on tracers of a trace that only evaluates: an in-place
        # update (`x += 1`) rebinds as it does under grad, instead of writing into the
        # caller's array (which the derivative rules below run ``fun`` on again)
        trace = _EvalTrace()
        try:
            out = packed_fn(*(_EvalTracer(a, trace) for a in arrays))
        finally:
            trace.alive = False
        if isinstance(out, _EvalTracer) and out._trace is trace:
            out = out.value
        if isinstance(out, Tracer):
            raise TypeError(
                f"checkpoint({name}): the function uses a traced value that it closes over "
                "instead of receiving it as an argument, so its derivative would be lost. "
                "Pass that value as an argument of the checkpointed function."
            )
        return out

    def vjp_joint(g, ans, *arrays, wrt):
        # every differentiated input's cotangent from one re-run of the function
        for i in wrt:
            if _dtype(arrays[i]).kind not in "fc":
                raise TypeError(
                    f"checkpoint({name}): argument {i} has no derivative (dtype "
                    f"{_dtype(arrays[i])}); pass it as a static argument (static_argnums)."
                )

        def of_wrt(*d):
            full = list(arrays)
            for k, v in zip(wrt, d):
                full[k] = v
            return packed_fn(*full)

        return tuple(vjp(of_wrt, *(arrays[k] for k in wrt))[1](g))

    def make_jvp(i):
        def rule(t, ans, *arrays):
            def of_one(a):
                full = list(arrays)
                full[i] = a
                return packed_fn(*full)

            return jvp(of_one, (arrays[i],), (t,))[1]

        return rule

    def batch(args, dims):
        return checkpoint(vmap(packed_fn, in_axes=tuple(dims)))(*args), 0

    return Primitive(
        f"checkpoint({name})", impl,
        jvp=tuple(make_jvp(i) for i in range(n)),
        vjp_joint=vjp_joint,
        reads=("args",),  # the inputs, not the output
        batch=batch,
        test={"skip": "created per call by fgrad.checkpoint; tested in tests/test_transforms.py"},
    )
