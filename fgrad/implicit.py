"""Differentiating through the solution of an equation: :func:`custom_root`.

A solver's answer ``x*`` of ``f(x) = 0`` depends on whatever ``f`` closes over
(parameters ``θ``).  Differentiating the solver's iterations would be slow,
inexact and often impossible (Python loops that test convergence on values).
The implicit function theorem gives the derivative from the solution alone:
``f(x*(θ), θ) = 0`` for all ``θ``, so ``∂f/∂x · dx* + ∂f/∂θ · dθ = 0`` and

    dx* = −(∂f/∂x)⁻¹ (∂f/∂θ dθ)              (forward mode, one linear solve)
    θ̄  = −(∂f/∂θ)ᵀ (∂f/∂x)⁻ᵀ x̄               (reverse mode, one transposed solve)

How fgrad does it:

1. ``solve(f, initial_guess)`` runs on plain values: ``f`` is evaluated with
   everything it closes over replaced by its concrete value (a private trace
   catches the operations on ``x`` and computes them with numpy), so the solver
   may branch on values, call scipy, and is never recorded by any transform.
2. The residual ``r = f(x*)`` is evaluated once more with the real, possibly
   traced, closure: its value is ``≈ 0`` and its derivative is ``∂f/∂θ dθ``.
3. The output is one row-like call ``x = S(r)`` whose value is ``x*`` and whose
   rules are ``t ↦ −A⁻¹ t`` (forward) and ``g ↦ −A⁻ᵀ g`` (reverse), with
   ``A = ∂f/∂x`` at ``x*`` applied through fgrad's ``jvp`` and ``vjp`` at
   concrete values, and inverted by the user's ``tangent_solve``.

Derivatives of the first order work in both modes; a second derivative (``grad``
of ``grad``, ``hessian``) through a root raises NotImplementedError rather than
silently dropping the derivative of ``A``.  vmap over a root is not supported.
"""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .api import vjp
from .core import Primitive, Trace, Tracer, concrete, dtype_of, is_batched, top_trace
from .linear_maps import linearize
from .tree import tree_flatten, tree_leaves, tree_map, tree_structure

__all__ = ["custom_root"]


# --------------------------------------------------------------------------
# evaluating f at concrete values, whatever it closes over
# --------------------------------------------------------------------------


class _ConcreteTracer(Tracer):
    """A value inside :class:`_ConcreteTrace`: a plain value that catches operations."""

    __slots__ = ("slot",)
    holds_value = True

    def __init__(self, value, trace, slot=None):
        self.value = value
        self._trace = trace
        self.slot = slot

    # its value is exact and nothing is differentiated: Python may look at it
    def __bool__(self):
        return bool(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __index__(self):
        return self.value.__index__()

    def item(self, *args):
        return np.asarray(self.value).item(*args)

    def tolist(self):
        return np.asarray(self.value).tolist()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)


class _ConcreteTrace(Trace):
    """Computes the operations on its tracers with the enclosing transforms' tracers
    replaced by their concrete values.

    ``floor`` is a level taken when custom_root was called: traces below it are the
    enclosing transforms (their tracers are dropped, nothing is recorded on their
    tapes); traces above it were opened by the solver itself (a ``grad`` inside a
    Newton step) and keep working.
    """

    __slots__ = ("floor", "eqns", "n_inputs")

    def __init__(self, floor, record=False):
        super().__init__()
        self.floor = floor
        self.eqns = [] if record else None  # (prim, params, consts, refs) when recording
        self.n_inputs = 0

    def new_input(self, value):
        self.n_inputs += 1
        return _ConcreteTracer(value, self, self.n_inputs - 1)

    def lower(self, x):
        """``x`` without this trace's wrapper and without enclosing transforms' tracers."""
        while isinstance(x, Tracer):
            if x._trace is self:
                x = x.value
            elif x._trace.level < self.floor:
                if is_batched(x):
                    raise NotImplementedError(
                        "custom_root (and fgrad.scipy.optimize's differentiable solutions) "
                        "cannot run under fgrad.vmap: loop over the problems in Python instead."
                    )
                return concrete(x)
            else:
                return x
        return x

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        values = [self.lower(a) for a in args]
        inner = any(isinstance(v, Tracer) for v in values)
        ans = prim.fn(*values, **params) if inner else prim.call(*values, **params)
        if self.eqns is None:
            return _ConcreteTracer(ans, self)
        refs = [(i, a.slot) for i, a in enumerate(args)
                if isinstance(a, _ConcreteTracer) and a._trace is self]
        consts = list(values)
        for i, _ in refs:
            consts[i] = None
        self.eqns.append((prim, params, consts, refs))
        return _ConcreteTracer(ans, self, self.n_inputs + len(self.eqns) - 1)


def _staged(fun, floor, x):
    """``fun`` at ``x`` recorded as a replayable function of ``x`` alone: what it closes
    over enters as concrete constants (closure conversion), so the enclosing transforms'
    tracers are neither needed nor touched when it is replayed later, e.g. in a
    backward pass."""
    trace = _ConcreteTrace(floor, record=True)
    try:
        leaves, x_tree = tree_flatten(x)
        out = fun(x_tree.unflatten([trace.new_input(v) for v in leaves]))
        out_leaves, out_tree = tree_flatten(out)
        refs = [x.slot if isinstance(x, _ConcreteTracer) and x._trace is trace
                else ("const", trace.lower(x)) for x in out_leaves]
    finally:
        trace.alive = False
    eqns, n = trace.eqns, trace.n_inputs

    def replay(x):
        env = list(tree_leaves(x)) + [None] * len(eqns)
        for k, (prim, params, consts, arefs) in enumerate(eqns):
            args = list(consts)
            for i, slot in arefs:
                args[i] = env[slot]
            env[n + k] = prim.fn(*args, **params)
        return out_tree.unflatten([r[1] if isinstance(r, tuple) else env[r] for r in refs])

    return replay


def _concrete_tree(tree):
    return tree_map(lambda x: np.asarray(concrete(x)) if isinstance(x, Tracer) else x, tree)


def _on_concrete_values(fun, floor, *trees):
    """``fun(*trees)`` with the leaves of ``trees`` as tracers of a fresh concrete trace;
    the result without it (and without the enclosing transforms' tracers)."""
    trace = _ConcreteTrace(floor)
    try:
        wrapped = [tree_map(lambda x: _ConcreteTracer(x, trace), t) for t in trees]
        return tree_map(trace.lower, fun(*wrapped))
    finally:
        trace.alive = False


# --------------------------------------------------------------------------
# the row-like call x = S(r)
# --------------------------------------------------------------------------


def _second_order(what):
    return NotImplementedError(
        f"{what}: only first derivatives (grad, vjp, jacrev, jvp, jacfwd) of a "
        "solution found by custom_root or fgrad.scipy.optimize are supported; a second "
        "derivative (grad of grad, hessian, or a derivative of a derivative) would need "
        "the derivative of the linearised system, which fgrad does not compute. "
        "Differentiate the optimality condition yourself for higher orders."
    )


class _Root:
    """One solution and what its rules need: the solution, f, tangent_solve, shapes."""

    __slots__ = ("f", "tangent_solve", "sol", "x_tree", "shapes", "dtypes", "sizes", "flat",
                 "name", "_jvp_fun", "_vjp_fun")

    def __init__(self, f, tangent_solve, sol, name):
        self.f = f  # f closure-converted: a function of x alone
        self._jvp_fun = self._vjp_fun = None  # its linear maps at sol, made on first use
        self.tangent_solve = tangent_solve
        self.sol = sol
        self.name = name
        leaves, self.x_tree = tree_flatten(sol)
        self.shapes = [np.shape(x) for x in leaves]
        self.dtypes = [np.result_type(x) for x in leaves]
        self.sizes = [int(np.prod(s, dtype=int)) for s in self.shapes]
        dtype = np.result_type(*self.dtypes) if leaves else np.float64
        self.flat = (np.concatenate([np.ravel(x).astype(dtype) for x in leaves])
                     if leaves else np.zeros(0))

    def __repr__(self):
        return f"<root of {self.name}>"

    # flat vectors <-> trees shaped like x
    def unravel(self, v):
        parts, start = [], 0
        for shape, size, dtype in zip(self.shapes, self.sizes, self.dtypes):
            part = fnp.reshape(v[start:start + size], shape)
            if dtype_of(part) != dtype:
                part = fnp.astype(part, dtype)
            parts.append(part)
            start += size
        return self.x_tree.unflatten(parts)

    def ravel(self, tree, what):
        leaves, treedef = tree_flatten(tree)
        if treedef != self.x_tree:
            raise TypeError(
                f"custom_root ({self.name}): {what} must have the structure of the initial "
                f"guess {self.x_tree!r}, not {treedef!r} ({self.x_tree.difference(treedef)})."
            )
        parts = []
        for x, shape in zip(leaves, self.shapes):
            if np.shape(concrete(x)) != shape:
                raise ValueError(
                    f"custom_root ({self.name}): {what} has a leaf of shape "
                    f"{np.shape(concrete(x))} where the initial guess has {shape}."
                )
            parts.append(fnp.ravel(x))
        if not parts:
            return np.zeros(0)
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts)

    def _leaf(self, v, shape, dtype):
        return np.broadcast_to(np.asarray(concrete(v), dtype=dtype), shape).copy()

    def _plain_tree(self, tree, what):
        leaves, treedef = tree_flatten(tree)
        if treedef != self.x_tree:
            raise TypeError(
                f"custom_root ({self.name}): the linear map given to tangent_solve takes "
                f"{what} with the structure {self.x_tree!r}, not {treedef!r}."
            )
        return self.x_tree.unflatten([self._leaf(v, s, d)
                                      for v, s, d in zip(leaves, self.shapes, self.dtypes)])

    # A = ∂f/∂x at the solution, on concrete values
    # (recorded once, replayed for every vector the tangent solve applies them to)
    def matvec(self, v):
        v = self._plain_tree(v, "vectors")
        if self._jvp_fun is None:
            self._jvp_fun = linearize(self.f, self.sol)[1]
        return _concrete_tree(self._jvp_fun(v))

    def vecmat(self, w):
        w = self._plain_tree(w, "vectors")
        if self._vjp_fun is None:
            self._vjp_fun = vjp(self.f, self.sol)[1]
        return _concrete_tree(self._vjp_fun(w)[0])

    def solve_with(self, linear_map, rhs_flat, what):
        out = self.tangent_solve(linear_map, self.unravel(np.asarray(rhs_flat)))
        out = _concrete_tree(out)
        return np.asarray(concrete(self.ravel(out, f"{what} (tangent_solve's result)")))


def _check_plain(r, root):
    if isinstance(r, Tracer):
        raise _second_order(f"custom_root ({root.name})")


def _solve_impl(v, *, _root, transpose):
    if transpose:
        return -_root.solve_with(_root.vecmat, v, "the cotangent")
    return -_root.solve_with(_root.matvec, v, "the tangent")


def _solve_batch(args, dims, *, _root, transpose):
    # several tangents or cotangents at once (jacfwd, jacrev): one solve each
    (v,), (d,) = args, dims
    if isinstance(v, Tracer):
        raise _second_order(f"custom_root ({_root.name})")
    v = np.moveaxis(np.asarray(v), d, 0)
    return np.stack([_solve_impl(e, _root=_root, transpose=transpose) for e in v]), 0


def _solve_derivative(*args, **params):
    raise _second_order(f"custom_root ({params['_root'].name})")


_SOLVE = Primitive("custom_root_solve", _solve_impl, jvp=(_solve_derivative,),
                   vjp_joint=_solve_derivative, reads=(), batch=_solve_batch)


def _impl(r, *, _root):
    return _root.flat.copy()


def _jvp_rule(t, ans, r, *, _root):
    _check_plain(r, _root)
    return _SOLVE.fn(t, _root=_root, transpose=False)


def _vjp_joint(g, ans, r, *, wrt, _root):
    _check_plain(r, _root)
    return (_SOLVE.fn(g, _root=_root, transpose=True),)


def _batch(args, dims, _root):
    raise NotImplementedError(
        "custom_root (and fgrad.scipy.optimize's differentiable solutions) cannot run under "
        "fgrad.vmap: loop over the problems in Python instead."
    )


_ROOT = Primitive("custom_root", _impl, jvp=(_jvp_rule,), vjp_joint=_vjp_joint, reads=(0,),
                  batch=_batch)


def _call(r, root):
    top = top_trace([r])
    if top is None:
        return _impl(r, _root=root)
    return top.process(_ROOT, (r,), {"_root": root})


def _root_fn(r, _root):
    return _call(r, _root)


# the traces call fn (on outer tracers) or call (on plain values)
_ROOT.fn = _ROOT.impl = _root_fn
_ROOT.call = _impl


# --------------------------------------------------------------------------
# custom_root
# --------------------------------------------------------------------------


def _name(fun):
    return getattr(fun, "__name__", type(fun).__name__)


def _check_guess(initial_guess):
    def leaf(x):
        value = np.asarray(concrete(x))
        if value.dtype.kind != "f":
            raise TypeError(
                "custom_root: the initial guess must be made of real floating-point numbers "
                f"or arrays (the solution is continuous); got a leaf of dtype {value.dtype}. "
                "Pass floats, e.g. 1.0 instead of 1."
            )
        return value

    return tree_map(leaf, initial_guess)


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """Solve ``f(x) = 0`` with your own solver, differentiable with respect to what ``f``
    closes over by the implicit function theorem (``jax.lax.custom_root`` semantics).

    Args:
        f: the function whose root is sought; takes a pytree shaped like
            ``initial_guess`` and returns one of the same structure.  Parameters it
            closes over (traced values of enclosing transforms) are what the
            solution is differentiated with respect to.
        initial_guess: a pytree of floats, the starting point (not differentiated).
        solve: ``solve(f, initial_guess) -> solution`` (or ``(solution, aux)`` with
            ``has_aux``); it receives ``f`` on concrete values and may be any
            numerical code (Python loops, scipy).  Its iterations are never traced.
        tangent_solve: ``tangent_solve(g, y) -> x`` with ``g(x) = y``, where ``g`` is
            ``f`` linearised in ``x`` at the solution (a linear function of pytrees
            shaped like ``x``).  For a scalar ``x``: ``lambda g, y: y / g(1.0)``; for
            vectors, e.g. ``np.linalg.solve(fgrad.jacfwd(g)(y), y)``.  Reverse mode
            calls it with the transposed map.
        has_aux: ``solve`` returns ``(solution, aux)``; ``aux`` is returned as it is,
            with no derivative.

    Returns:
        the solution (with the structure of ``initial_guess``), or ``(solution, aux)``.

    First derivatives only: a second derivative through the solution raises
    NotImplementedError.  The solver's accuracy bounds the derivative's: the
    theorem holds at an exact root.

    Example:
        >>> import fgrad          # the cube root of a by Newton's method; d/da = 1/(3 a^(2/3))
        >>> def newton(f, x):
        ...     for _ in range(50):
        ...         x = x - f(x) / fgrad.grad(f)(x)
        ...     return x
        >>> def cube_root(a):
        ...     return fgrad.custom_root(lambda x: x ** 3 - a, 1.0, newton,
        ...                              lambda g, y: y / g(1.0))
        >>> round(float(cube_root(8.0)), 12), round(float(fgrad.grad(cube_root)(8.0)), 12)
        (2.0, 0.083333333333)
    """
    if not callable(f):
        raise TypeError(f"custom_root: f must be a function, not {type(f).__name__}")
    if not callable(solve):
        raise TypeError(f"custom_root: solve must be a function, not {type(solve).__name__}")
    if not callable(tangent_solve):
        raise TypeError("custom_root: tangent_solve must be a function, not "
                        f"{type(tangent_solve).__name__}")
    guess = _check_guess(initial_guess)
    x_tree = tree_structure(guess)
    floor = Trace().level  # enclosing transforms' traces are below, the solver's above

    def f_concrete(x):
        return _on_concrete_values(f, floor, x)

    out = solve(f_concrete, guess)
    aux = None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("custom_root: with has_aux=True, solve must return a pair "
                            "(solution, aux)")
        out, aux = out
        aux = _concrete_tree(aux)
    sol_leaves, sol_tree = tree_flatten(_concrete_tree(out))
    if sol_tree != x_tree:
        raise TypeError(
            f"custom_root: solve ({_name(solve)}) returned a solution with the structure "
            f"{sol_tree!r}; it must have the initial guess's {x_tree!r} "
            f"({x_tree.difference(sol_tree)})."
        )
    g_leaves = tree_leaves(guess)
    sol = x_tree.unflatten([np.asarray(s, dtype=np.result_type(g)).reshape(np.shape(g))
                            for s, g in zip(sol_leaves, g_leaves)])
    # the residual at the solution, with the real closure: ≈ 0, carrying ∂f/∂θ
    residual = f(sol)
    res_leaves, res_tree = tree_flatten(residual)
    if res_tree != x_tree:
        raise TypeError(
            f"custom_root: f ({_name(f)}) must return a pytree with the structure of its input "
            f"{x_tree!r}, not {res_tree!r} ({x_tree.difference(res_tree)})."
        )
    if any(isinstance(x, Tracer) for x in res_leaves):
        root = _Root(_staged(f, floor, sol), tangent_solve, sol, _name(f))
        result = root.unravel(_call(root.ravel(residual, "f's output"), root))
    else:
        result = tree_map(lambda x: x.copy(), sol)
    return (result, aux) if has_aux else result
