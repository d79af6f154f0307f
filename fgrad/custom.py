"""User-defined derivative rules: ``custom_vjp`` and ``custom_jvp`` (JAX semantics).

Each decorated function becomes one row of its own (a :class:`fgrad.core.Primitive`
kept out of the global table), whose rules call the user's rules.  So a custom
function takes part in every transform like a built-in primitive:

* ``custom_vjp``: reverse mode uses ``bwd``.  The residuals are computed once, by
  ``fwd``, when the function is called.  Enclosing transforms differentiate
  ``fwd`` and ``bwd`` as ordinary code, so ``grad(grad(f))`` and
  ``jacfwd(jacrev(f))`` work when ``fwd`` and ``bwd`` are written with fgrad
  functions.  Forward mode applied directly to a custom_vjp function raises a
  TypeError, as in JAX: use :class:`custom_jvp` for that.
* ``custom_jvp``: forward mode calls the rule with all tangents at once.  Reverse
  mode runs the rule once at the primal values, records its tangent map (linear
  in the tangents) with fgrad's own reverse mode, and plays it back transposed,
  as JAX does by linearising.  In every mode the value under a transform is the
  rule's primal output, and higher orders differentiate the expressions the rule
  returns (see docs/adding-a-primitive.md).  The tangent part of the rule must
  therefore be linear in the tangents and written with fgrad functions.

Functions may take and return pytrees; ``nondiff_argnums`` marks static
arguments (passed first to ``bwd`` / to the jvp rule, as in JAX).  Wrong
structures, shapes or dtypes coming back from a rule raise an error that names
the function and the offending argument.

Example (the seed's Sinh function, with save_for_backward as the residual):
    >>> import fgrad, fgrad.numpy as fnp
    >>> @fgrad.custom_vjp
    ... def sinh(x):
    ...     return fnp.sinh(x)
    >>> def sinh_fwd(x):
    ...     return fnp.sinh(x), x          # save x for the backward pass
    >>> def sinh_bwd(x, g):
    ...     return (g * fnp.cosh(x),)      # one cotangent per positional argument
    >>> sinh.defvjp(sinh_fwd, sinh_bwd)
    >>> float(fgrad.grad(sinh)(0.0)), float(fgrad.grad(fgrad.grad(sinh))(0.0))
    (1.0, 0.0)
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import numpy as fnp
from .api import vjp
from .autodiff import ForwardTrace, ForwardTracer
from .batching import vmap
from .core import (
    Primitive,
    Tracer,
    _PositionRules,
    concrete,
    debug_nans_on,
    dtype_of,
    has_nan,
    nan_cause,
    nan_error,
    shape_of,
    shapes_text,
    top_trace,
)
from .tree import tree_flatten, tree_leaves, tree_map

__all__ = ["custom_vjp", "custom_jvp"]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


def _inexact(x):
    return dtype_of(x).kind in "fc"


def _is_array(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic, float, int, complex))


def _zeros(meta):
    shape, dtype = meta
    return None if dtype is None else np.zeros(shape, dtype)


def _as_value(x):
    """Python scalars and lists become numpy values; arrays and tracers pass."""
    if isinstance(x, Tracer) or hasattr(x, "shape"):
        return x
    return np.asarray(x)[()]


def _resolve_args(fun, args, kwargs, kind):
    """Keyword arguments become positional ones (rules see positional arguments)."""
    if not kwargs:
        return tuple(args)
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{kind} function {_name(fun)}: {err}") from None
    if bound.kwargs:
        raise TypeError(
            f"{kind} function {_name(fun)} was called with keyword-only arguments "
            f"{sorted(bound.kwargs)}; a custom rule sees positional arguments only. "
            "Make them positional, or close over them (functools.partial)."
        )
    return tuple(bound.args)


class _Call:
    """What one call of a custom function needs to remember.

    The traces keep it in the call's parameters (``_call``), so it lives
    exactly as long as the tape entry that may need it.
    """

    __slots__ = (
        "owner", "nargs", "static", "in_tree", "in_meta", "out_tree", "out_meta",
        "single", "dtype", "res", "top",
    )

    def __init__(self, owner, nargs, static, in_tree, leaves):
        self.owner = owner
        self.nargs = nargs
        self.static = static  # {position: value} of the nondiff arguments
        self.in_tree = in_tree
        # non-array leaves (a ``self``, a string...) are passed through as constants
        self.in_meta = [(np.shape(concrete(x)), dtype_of(x)) if _is_array(x) else (None, None)
                        for x in leaves]
        self.out_tree = self.out_meta = self.single = self.dtype = None
        self.res = self.top = None

    def check_closure(self, tree, what):
        """A rule's result must not hold tracers of the transform being applied."""
        if self.top is None:
            return
        for x in tree_leaves(tree):
            if isinstance(x, Tracer) and x._trace.level >= self.top.level:
                raise TypeError(
                    f"{what} of {self.owner.kind} function {_name(self.owner.fun)} returned a "
                    "value that depends on a traced value it closes over (a variable "
                    "from an enclosing function that is being differentiated). Pass that "
                    "value as an argument of the function instead, so that its derivative "
                    "is not lost."
                )

    def __repr__(self):
        return f"<state of a {self.owner.kind} call>"

    def args(self, leaves):
        """The full positional argument list from the differentiable leaves."""
        diff = iter(self.in_tree.unflatten(list(leaves)))
        return tuple(
            self.static[i] if i in self.static else next(diff) for i in range(self.nargs)
        )

    def nondiff_values(self):
        return tuple(self.static[i] for i in sorted(self.static))

    # --- outputs are packed into one array for the traces ------------------------

    def pack(self, out, what):
        """Record the output's structure; return its inexact leaves as one array."""

        leaves, self.out_tree = tree_flatten(out)
        leaves = [_as_value(x) for x in leaves]
        meta, parts, offset = [], [], 0
        kinds = [_inexact(x) for x in leaves]
        if len(leaves) == 1 and kinds[0]:
            self.single = True
            self.out_meta = [(np.shape(concrete(leaves[0])), dtype_of(leaves[0]), None)]
            return leaves[0]
        self.single = False
        inexact = [x for x, k in zip(leaves, kinds) if k]
        self.dtype = np.result_type(*[dtype_of(x) for x in inexact]) if inexact else np.float64
        for x, k in zip(leaves, kinds):
            shape, dtype = np.shape(concrete(x)), dtype_of(x)
            if not k:  # integer/boolean outputs carry no derivative: kept as they are
                meta.append((shape, dtype, ("const", x)))
                continue
            size = int(np.prod(shape, dtype=int))
            meta.append((shape, dtype, (offset, size)))
            offset += size
            parts.append(fnp.ravel(x if dtype == self.dtype else fnp.astype(x, self.dtype)))
        self.out_meta = meta
        if not parts:
            return np.zeros(0)
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts)

    def pack_batched(self, out, size, kind):
        """Like :meth:`pack` for an output whose leaves carry a leading batch axis."""

        leaves, self.out_tree = tree_flatten(out)
        leaves = [_as_value(x) for x in leaves]
        if not all(_inexact(x) for x in leaves):
            raise NotImplementedError(
                f"vmap of {kind} function {_name(self.owner.fun)}: integer or boolean "
                "outputs cannot be batched through a custom rule; return them from a "
                "separate function."
            )
        if len(leaves) == 1:
            self.single = True
            self.out_meta = [(shape_of(leaves[0])[1:], dtype_of(leaves[0]), None)]
            return leaves[0]
        self.single = False
        self.dtype = np.result_type(*[dtype_of(x) for x in leaves])
        meta, parts, offset = [], [], 0
        for x in leaves:
            shape, dtype = shape_of(x)[1:], dtype_of(x)
            n = int(np.prod(shape, dtype=int))
            meta.append((shape, dtype, (offset, n)))
            offset += n
            x = x if dtype == self.dtype else fnp.astype(x, self.dtype)
            parts.append(fnp.reshape(x, (size, n)))
        self.out_meta = meta
        return fnp.concatenate(parts, axis=1)

    def pack_like(self, tangent, what):
        """Pack a tangent output the way the primal output was packed (checked)."""

        leaves, tree = tree_flatten(tangent)
        if tree != self.out_tree:
            raise TypeError(
                f"{what} of {_name(self.owner.fun)} returned a tangent output with the "
                f"structure {tree}, but the primal output has the structure {self.out_tree}."
            )
        parts = []
        for k, (x, (shape, dtype, where)) in enumerate(zip(leaves, self.out_meta)):
            if where is not None and where[0] == "const":
                continue
            x = _check_leaf(x, shape, dtype, f"{what} of {_name(self.owner.fun)}",
                            f"tangent output leaf {k}")
            if self.single:
                return x
            parts.append(fnp.ravel(x if dtype_of(x) == self.dtype else fnp.astype(x, self.dtype)))
        if not parts:
            return np.zeros(0)
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts)

    def unpack(self, packed):
        """The output pytree from the packed array (a tracer of the top trace)."""
        if self.single:
            return self.out_tree.unflatten([packed])
        return self.out_tree.unflatten(self._split(packed, cotangent=False))

    def _split(self, packed, cotangent):
        out = []
        for shape, dtype, where in self.out_meta:
            if where[0] == "const":
                out.append(np.zeros(shape, dtype) if cotangent else where[1])
                continue
            offset, size = where
            piece = fnp.reshape(packed[offset:offset + size], shape)
            out.append(piece if dtype == self.dtype else fnp.astype(piece, dtype))
        return out

    def cotangent_tree(self, g):
        """The output cotangent as a pytree shaped like the output."""
        if self.single:
            return self.out_tree.unflatten([g])
        return self.out_tree.unflatten(self._split(g, cotangent=True))

    # --- cotangents for the inputs, computed once per backward step ----------------

    def input_cotangents(self, cts, what):
        """Validate a tuple of per-argument cotangents; flatten to one per leaf."""
        owner = self.owner
        ndiff = self.nargs - len(self.static)
        if not isinstance(cts, (tuple, list)) or len(cts) != ndiff:
            got = (f"a {type(cts).__name__} of length {len(cts)}"
                   if isinstance(cts, (tuple, list)) else f"a {type(cts).__name__}")
            raise TypeError(
                f"{what} of {_name(owner.fun)} must return a tuple with one cotangent per "
                f"differentiable positional argument ({ndiff}), but it returned {got}. "
                "Write `return (g_x,)` for a single argument; use None for a zero cotangent."
            )
        subtrees = self.in_tree.unflatten(list(range(len(self.in_meta))))
        leaves = []
        for pos, (ct, sub) in enumerate(zip(cts, subtrees)):
            idx, sub_tree = tree_flatten(sub)
            if ct is None:
                leaves.extend(_zeros(self.in_meta[i]) for i in idx)
                continue
            ct_leaves, ct_tree = tree_flatten(ct)
            if ct_tree != sub_tree:
                raise TypeError(
                    f"{what} of {_name(owner.fun)} returned a cotangent with the structure "
                    f"{ct_tree} for argument {pos}, whose structure is {sub_tree}."
                )
            for i, c in zip(idx, ct_leaves):
                shape, dtype = self.in_meta[i]
                if c is None:
                    leaves.append(_zeros(self.in_meta[i]))
                    continue
                if dtype is None or dtype.kind not in "fc":  # no cotangent to check
                    leaves.append(c)
                    continue
                leaves.append(_check_leaf(c, shape, dtype, f"{what} of {_name(owner.fun)}",
                                          f"the cotangent of argument {pos}"))
        return leaves


def _check_leaf(x, shape, dtype, what, which):
    x = _as_value(x)
    got_shape, got_dtype = np.shape(concrete(x)), dtype_of(x)
    if got_shape != shape:
        raise ValueError(
            f"{what} returned {which} with shape {got_shape}, but it must have the shape "
            f"{shape} of the corresponding primal value."
        )
    if got_dtype.kind == "c" and dtype.kind != "c":
        raise TypeError(
            f"{what} returned {which} with complex dtype {got_dtype} for a real primal of "
            f"dtype {dtype}; return a real value (take the real part if that is meant)."
        )
    if got_dtype.kind not in "fc":
        if got_dtype.kind not in "biu":
            raise TypeError(f"{what} returned {which} with dtype {got_dtype}; expected {dtype}.")
        return fnp.astype(x, dtype)
    return x if got_dtype == dtype else fnp.astype(x, dtype)


class _Custom:
    """What custom_vjp and custom_jvp share: the decorator and the call protocol."""

    kind = "custom"

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(sorted({int(i) for i in nondiff_argnums}))
        self._prim = None

    def __get__(self, obj, objtype=None):  # usable as a method
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        self._check_defined()
        args = _resolve_args(self.fun, args, kwargs, self.kind)
        static, leaves, in_tree = self._split_args(args)
        top = top_trace(leaves)
        if top is None:
            return self.fun(*args)
        if isinstance(top, ForwardTrace):
            return self._forward(top, len(args), static, leaves, in_tree)
        return self._call_on_tracers(top, args, static, leaves, in_tree)

    def _split_args(self, args):
        n = len(args)
        nondiff = set()
        for i in self.nondiff_argnums:
            if not -n <= i < n:
                raise TypeError(
                    f"{self.kind} function {_name(self.fun)}: nondiff_argnums contains {i}, "
                    f"but it was called with {n} positional argument(s)."
                )
            nondiff.add(i % n)
        static = {i: args[i] for i in nondiff}
        for i, v in static.items():
            if any(isinstance(x, Tracer) for x in tree_leaves(v)):
                raise TypeError(
                    f"{self.kind} function {_name(self.fun)}: argument {i} is in "
                    "nondiff_argnums but received a traced value. nondiff_argnums are for "
                    "static values (callables, ints, flags); pass arrays as ordinary "
                    "arguments (return None as their cotangent if they need none)."
                )
        diff = tuple(args[i] for i in range(n) if i not in nondiff)
        leaves, in_tree = tree_flatten(diff)
        return static, leaves, in_tree

    def _batch(self, args, dims, _call):
        """vmap's rule: the same kind of custom function, of the vmapped pieces.

        As in JAX, the batched function gets batched rules (``fwd``/``bwd`` or
        the jvp rule under vmap), so reverse or forward mode taken outside the
        vmap still uses the user's rule.
        """
        size = next(shape_of(a)[d] for a, d in zip(args, dims) if d is not None)
        out = self._batched(_call, tuple(dims))(*args)
        return _call.pack_batched(out, size, self.kind), 0

    def _call_on_tracers(self, top, args, static, leaves, in_tree):
        call = _Call(self, len(args), static, in_tree, leaves)
        call.top = top
        packed = top.process(self._prim, tuple(leaves), {"_call": call})
        return call.unpack(packed)


def _set_call(prim, method):
    """Make every path of the traces (fn, call, impl) run ``method`` for this row."""

    def fn(*args, **params):
        return method(*args, **params)

    fn.__name__ = fn.__qualname__ = prim.name
    prim.fn = fn
    prim.impl = fn
    try:
        prim.call = fn
    except AttributeError:  # pragma: no cover - a core without the ``call`` shortcut
        pass
    fn.primitive = prim


# --------------------------------------------------------------------------
# custom_vjp
# --------------------------------------------------------------------------


class custom_vjp(_Custom):
    """A function with a user-defined reverse-mode rule (``jax.custom_vjp``).

    Use as a decorator, then give the rule with :meth:`defvjp`::

        @fgrad.custom_vjp
        def f(x, y): ...
        def f_fwd(x, y): return f(x, y), residuals
        def f_bwd(residuals, g): return (g_x, g_y)
        f.defvjp(f_fwd, f_bwd)

    ``bwd`` returns a tuple with one cotangent per positional argument (not in
    ``nondiff_argnums``), each with the structure and shapes of that argument, or
    ``None`` for zero.  Values in ``nondiff_argnums`` are passed to ``bwd`` first:
    ``bwd(*nondiff_args, residuals, g)``.  ``jvp`` (forward mode) of a
    custom_vjp function raises a TypeError; ``grad`` of any order, ``vjp``,
    ``jacrev``, ``hessian`` (forward over reverse) work.

    Args:
        fun: the function whose reverse-mode rule is given with :meth:`defvjp`.
        nondiff_argnums: positions of arguments that are not differentiated (flags, sizes,
            functions); they are passed to ``bwd`` first.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> @fgrad.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> clip_gradient.defvjp(lambda x: (x, None),
        ...                      lambda res, g: (fnp.clip(g, -1.0, 1.0),))
        >>> float(fgrad.grad(lambda x: 3.0 * clip_gradient(x))(2.0))
        1.0
    """

    kind = "custom_vjp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None
        prim = Primitive(
            f"custom_vjp[{_name(fun)}]", None,
            jvp=_PositionRules(self._jvp_rule),
            vjp_joint=self._vjp_joint,  # bwd gives every cotangent at once
            reads=(),  # bwd reads the residuals (in the call's parameters) only
            batch=self._batch,
        )
        _set_call(prim, self._run_fwd)
        self._prim = prim

    def defvjp(self, fwd, bwd):
        """Define the rule: ``fwd(*args) -> (out, residuals)``, ``bwd(residuals, g) -> tuple``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> f = fgrad.custom_vjp(lambda x: fnp.exp(x))
            >>> f.defvjp(lambda x: (fnp.exp(x), fnp.exp(x)), lambda e, g: (g * e,))
            >>> float(fgrad.grad(f)(0.0))
            1.0
        """
        self.fwd, self.bwd = fwd, bwd

    def _check_defined(self):
        if self.fwd is None:
            raise AttributeError(
                f"No VJP defined for custom_vjp function {_name(self.fun)}: call "
                f"{_name(self.fun)}.defvjp(fwd, bwd) first."
            )

    def _forward(self, top, nargs, static, leaves, in_tree):
        raise TypeError(
            f"{_name(self.fun)} is a custom_vjp function: it can be differentiated in "
            "reverse mode (grad, vjp, jacrev) but not in forward mode (jvp, jacfwd), "
            "as in JAX. Define it with fgrad.custom_jvp instead if forward mode is "
            "needed (reverse mode then works too), or differentiate with jacrev."
        )

    # the row's implementation: run fwd one level down, keep the residuals
    def _run_fwd(self, *leaves, _call):
        pair = self.fwd(*_call.args(leaves))
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(
                f"the fwd rule of custom_vjp function {_name(self.fun)} must return a pair "
                f"(output, residuals), but it returned {type(pair).__name__}"
                + (f" of length {len(pair)}" if isinstance(pair, (tuple, list)) else "") + "."
            )
        _call.check_closure(pair, "the fwd rule")
        out, _call.res = pair
        return _call.pack(out, "the fwd rule")

    def _vjp_joint(self, g, ans, *saved, wrt, _call):
        cts = self.bwd(*_call.nondiff_values(), _call.res, _call.cotangent_tree(g))
        cts = _call.input_cotangents(cts, "the bwd rule")
        return tuple(cts[i] for i in wrt)

    def _batched(self, call, in_axes):

        def fun(*leaves):
            return self.fun(*call.args(leaves))

        def fwd(*leaves):
            return self.fwd(*call.args(leaves))

        def bwd_one(res, g):
            cts = self.bwd(*call.nondiff_values(), res, g)
            return tuple(call.input_cotangents(cts, "the bwd rule"))

        def bwd(res, g):
            cts = vmap(bwd_one)(res, g)
            # a shared (unbatched) input gets the sum over the examples
            return tuple(fnp.sum(c, axis=0) if ax is None else fnp.moveaxis(c, 0, ax)
                         for c, ax in zip(cts, in_axes))

        batched = custom_vjp(vmap(fun, in_axes=in_axes))
        batched.defvjp(vmap(fwd, in_axes=in_axes), bwd)
        return batched

    def _jvp_rule(self, i):  # pragma: no cover - __call__ never lets forward mode here
        def rule(t, ans, *args, _call):
            raise TypeError(f"{_name(self.fun)} is a custom_vjp function: no forward mode")

        return rule


# --------------------------------------------------------------------------
# custom_jvp
# --------------------------------------------------------------------------


class custom_jvp(_Custom):
    """A function with a user-defined forward-mode rule (``jax.custom_jvp``).

    ::

        @fgrad.custom_jvp
        def f(x, y): ...
        @f.defjvp
        def f_jvp(primals, tangents):
            x, y = primals
            x_dot, y_dot = tangents
            return f(x, y), <tangent output, linear in x_dot and y_dot>

    The rule gets tuples of the differentiable arguments and their tangents
    (zeros for arguments that are not being differentiated); values in
    ``nondiff_argnums`` come first: ``rule(*nondiff_args, primals, tangents)``.
    Reverse mode (``grad``, ``vjp``, ``jacrev``) transposes the rule's tangent
    map with fgrad's own reverse mode, so it must be linear in the tangents and
    written with fgrad functions; every order of every transform then works, and
    gives the same answer in every mode: higher orders differentiate the primal
    and tangent expressions the rule returns (as in JAX).

    Args:
        fun: the function whose forward-mode rule is given with :meth:`defjvp`.
        nondiff_argnums: positions of arguments that are not differentiated (flags, sizes,
            functions); they are passed to the rule first.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> @fgrad.custom_jvp
        ... def log1pexp(x):
        ...     return fnp.log1p(fnp.exp(x))
        >>> @log1pexp.defjvp
        ... def log1pexp_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return log1pexp(x), t * (1.0 - 1.0 / (1.0 + fnp.exp(x)))
        >>> float(fgrad.grad(log1pexp)(1000.0))  # the plain formula would give nan
        1.0
    """

    kind = "custom_jvp"

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None
        prim = Primitive(
            f"custom_jvp[{_name(fun)}]", None,
            jvp=_PositionRules(self._jvp_rule),
            vjp_joint=self._vjp_joint,  # the recorded linear map, transposed once
            reads=(),  # nothing but that map (kept on the call, see _run_primal)
            batch=self._batch,
        )
        _set_call(prim, self._run_primal)
        self._prim = prim

    def defjvp(self, jvp):
        """Define the rule ``jvp(primals, tangents) -> (out, tangent_out)``; returns ``jvp``.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> f = fgrad.custom_jvp(fnp.sin)
            >>> _ = f.defjvp(lambda p, t: (fnp.sin(p[0]), fnp.cos(p[0]) * t[0]))
            >>> float(fgrad.grad(f)(0.0))
            1.0
        """
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """Define the rule by one function per argument: ``jvps[i](t_i, out, *primals)``.

        ``None`` marks an argument with zero derivative.  The contributions are added.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> f = fgrad.custom_jvp(lambda x, y: x * y)
            >>> f.defjvps(lambda tx, out, x, y: tx * y, lambda ty, out, x, y: x * ty)
            >>> fgrad.grad(f, argnums=(0, 1))(2.0, 3.0)
            (np.float64(3.0), np.float64(2.0))
        """
        if self.nondiff_argnums:
            raise TypeError("defjvps does not support nondiff_argnums; use defjvp")

        def rule(primals, tangents):
            out = self(*primals)
            t_out = None
            for f, t in zip(jvps, tangents):
                if f is None:
                    continue
                c = f(t, out, *primals)
                t_out = c if t_out is None else _tree_add(t_out, c)
            if t_out is None:
                t_out = tree_map(lambda o: np.zeros(np.shape(concrete(o)), dtype_of(o)), out)
            return out, t_out

        self.jvp = rule

    def _check_defined(self):
        if self.jvp is None:
            raise AttributeError(
                f"No JVP defined for custom_jvp function {_name(self.fun)}: call "
                f"{_name(self.fun)}.defjvp(rule) first."
            )

    def _apply_rule(self, call, primal_leaves, tangent_leaves):
        primals = call.in_tree.unflatten(list(primal_leaves))
        tangents = call.in_tree.unflatten(list(tangent_leaves))
        pair = self.jvp(*call.nondiff_values(), primals, tangents)
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(
                f"the jvp rule of custom_jvp function {_name(self.fun)} must return a pair "
                f"(primal_out, tangent_out), but it returned {type(pair).__name__}."
            )
        return pair

    def _forward(self, top, nargs, static, leaves, in_tree):
        call = _Call(self, nargs, static, in_tree, leaves)
        primals, tangents = top.split(leaves, lambda x: (x.value, x.tangent), lambda x: (x, None))
        tangents = [_zeros(meta) if t is None else t for t, meta in zip(tangents, call.in_meta)]
        call.top = top
        out, t_out = self._apply_rule(call, primals, tangents)
        call.check_closure(out, "the jvp rule")
        out_leaves, out_tree = tree_flatten(out)
        t_leaves, t_tree = tree_flatten(t_out)
        if t_tree != out_tree:
            raise TypeError(
                f"the jvp rule of custom_jvp function {_name(self.fun)} returned a tangent "
                f"output with the structure {t_tree}, but the primal output has the "
                f"structure {out_tree}."
            )
        result = []
        for k, (o, t) in enumerate(zip(out_leaves, t_leaves)):
            o = _as_value(o)
            if not _inexact(o):
                result.append(o)
                continue
            t = _check_leaf(t, np.shape(concrete(o)), dtype_of(o),
                            f"the jvp rule of {_name(self.fun)}", f"tangent output leaf {k}")
            if debug_nans_on():  # fgrad.debug_nans: the rule ran on plain values, unchecked
                self._check_nans(o, t, primals, tangents)
            result.append(ForwardTracer(o, top, t))
        return out_tree.unflatten(result)

    def _check_nans(self, out, tangent, primals, tangents):
        for value, stage in ((out, "in forward mode (the primal output of its jvp rule)"),
                             (tangent, "in forward mode's tangent (its jvp rule)")):
            if has_nan(value):
                n = len(primals)
                cause = nan_cause(list(primals) + list(tangents),
                                  [f"operand {i}" for i in range(n)]
                                  + [f"the tangent of operand {i}" for i in range(n)])
                raise nan_error(self._prim.name, stage, shapes_text(primals),
                                str(np.shape(concrete(value))), cause)

    # the row's implementation, one level down (reverse mode): the rule linearised at
    # the primals.  Its primal output is what the rule returns, computed on the values
    # of the enclosing transforms, so those differentiate the rule's expressions (as
    # forward mode does); its tangent map is recorded once, and the vjp rule plays it
    # back transposed.
    def _run_primal(self, *leaves, _call):
        which = [k for k, (_, dtype) in enumerate(_call.in_meta)
                 if dtype is not None and dtype.kind in "fc"]
        zeros = [_zeros(meta) for meta in _call.in_meta]
        primal = {}

        def tangent_map(*ts):
            tangents = list(zeros)
            for k, t in zip(which, ts):
                tangents[k] = t
            out, t_out = self._apply_rule(_call, leaves, tangents)
            _call.check_closure(out, "the jvp rule")
            primal["out"] = _call.pack(out, "the jvp rule")
            return _call.pack_like(t_out, "the jvp rule")

        _, f_vjp = vjp(tangent_map, *(zeros[k] for k in which))
        _call.res = (which, f_vjp)
        return primal["out"]

    def _vjp_joint(self, g, ans, *unused, wrt, _call):
        # the recorded tangent map, transposed once for every differentiated input
        which, f_vjp = _call.res
        out = [_zeros(meta) for meta in _call.in_meta]
        for k, c in zip(which, f_vjp(g)):
            out[k] = c
        return tuple(out[i] for i in wrt)

    def _batched(self, call, in_axes):

        def fun(*leaves):
            return self.fun(*call.args(leaves))

        def rule_one(primals, tangents):
            return tuple(self._apply_rule(call, primals, tangents))

        batched = custom_jvp(vmap(fun, in_axes=in_axes))
        batched.defjvp(lambda primals, tangents: vmap(rule_one, in_axes=(in_axes, in_axes))(
            tuple(primals), tuple(tangents)))
        return batched

    def _jvp_rule(self, i):
        # per-argument form of the rule, for code that replays rows one argument at
        # a time (fgrad.make_graph's tangent traces); forward mode itself calls the
        # rule once with every tangent (see _forward)
        def rule(t, ans, *primal_leaves, _call):
            tangents = [_zeros(meta) for meta in _call.in_meta]
            tangents[i] = t
            _, t_out = self._apply_rule(_call, primal_leaves, tangents)
            return _call.pack_like(t_out, "the jvp rule")

        return rule


def _tree_add(a, b):
    return tree_map(fnp.add, a, b)
