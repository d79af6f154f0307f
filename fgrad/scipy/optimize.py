"""scipy.optimize on pytrees, with fgrad's derivatives, differentiable through its solutions.

:func:`minimize`, :func:`root` and :func:`least_squares` take scipy's arguments, but
``x0`` may be any pytree (a dict of arrays, a list of layers ...) and the
functions receive it in that structure; the flattening to scipy's one vector and
back is done here.  Derivatives come from fgrad: the gradient with the value in
one ``value_and_grad`` call per point, Hessian-vector products forward-over-reverse
(``hvp``) for the methods that use them, Jacobians with ``jacfwd``/``jacrev``.
Results are scipy's :class:`scipy.optimize.OptimizeResult` with ``x`` (and the
gradient) in ``x0``'s structure.

**Differentiating through the solution.**  When some leaf of ``args`` is traced by
an enclosing transform (``fgrad.grad``, ``jvp``, ``jacrev`` ...), ``result.x`` is
differentiable with respect to it by the implicit function theorem, built on
:func:`fgrad.custom_root`: the solver runs on plain values, and the derivative is
one linear solve with the Hessian of ``fun`` in ``x`` (``minimize``: the
stationarity condition ``∇ₓ fun = 0``) or the Jacobian of ``fun`` (``root``).  The
solver's iterations are never differentiated.  First derivatives only, unconstrained
problems only (an active bound changes the optimality condition), and the
derivative is as accurate as the solution: use a tight ``tol``.

Example:
    >>> import numpy as np, fgrad, fgrad.numpy as fnp
    >>> import fgrad.scipy.optimize as fopt
    >>> loss = lambda p: fnp.sum((p["w"] - 1.0) ** 2) + (p["b"] + 2.0) ** 2
    >>> res = fopt.minimize(loss, {"w": np.zeros(2), "b": 0.0}, method="BFGS")
    >>> {k: np.round(v, 6) for k, v in res.x.items()}
    {'b': np.float64(-2.0), 'w': array([1., 1.])}
"""

from __future__ import annotations

import inspect

import numpy as np
import scipy.optimize as _sopt
import scipy.sparse.linalg as _sla

from .. import numpy as fnp
from ..api import grad as _grad
from ..api import jacfwd, jacrev, jvp, value_and_grad
from ..core import Tracer, concrete
from ..implicit import custom_root
from ..tree import tree_flatten, tree_leaves, tree_map, tree_structure

__all__ = ["minimize", "root", "least_squares"]

OptimizeResult = _sopt.OptimizeResult  # what the three return (scipy's class)

# methods of scipy.optimize.minimize that use ...
_NO_GRADIENT = {"nelder-mead", "powell", "cobyla", "cobyqa"}
_HESSP = {"newton-cg", "trust-ncg", "trust-krylov", "trust-constr"}
_HESS = {"dogleg", "trust-exact"}
_ROOT_JAC = {"hybr", "lm"}
_DENSE_LIMIT = 200  # unknowns up to which the implicit solve builds the matrix


# --------------------------------------------------------------------------
# flattening pytrees for scipy (a small ravel of our own)
# --------------------------------------------------------------------------


class _Ravel:
    """A pytree's leaves as one float64 vector, and back (leaf shapes and dtypes kept)."""

    def __init__(self, tree, what, where):
        leaves, self.treedef = tree_flatten(tree)
        self.shapes, self.dtypes, self.sizes = [], [], []
        for x in leaves:
            v = np.asarray(concrete(x))
            if v.dtype.kind not in "biuf":
                raise TypeError(
                    f"{where}: {what} must hold real numbers or arrays; got a leaf of dtype "
                    f"{v.dtype}. scipy.optimize works on real vectors (split a complex "
                    "parameter into its real and imaginary parts)."
                )
            self.shapes.append(v.shape)
            self.dtypes.append(v.dtype if v.dtype.kind == "f" else np.dtype(np.float64))
            self.sizes.append(v.size)
        self.size = sum(self.sizes)
        self.where = where

    def ravel(self, tree, what="a value"):
        leaves, treedef = tree_flatten(tree)
        if treedef != self.treedef:
            raise TypeError(
                f"{self.where}: {what} must have the structure {self.treedef!r} of x0, not "
                f"{treedef!r} ({self.treedef.difference(treedef)})."
            )
        parts = []
        for x, shape in zip(leaves, self.shapes):
            v = np.asarray(concrete(x), dtype=np.float64)
            parts.append(np.broadcast_to(v, shape).ravel())
        return np.concatenate(parts) if parts else np.zeros(0)

    def unravel(self, v, cast=True):
        """Leaves from a flat vector: plain slices (or fgrad ops on tracers)."""
        parts, start = [], 0
        for shape, size, dtype in zip(self.shapes, self.sizes, self.dtypes):
            part = v[start:start + size].reshape(shape)
            if cast and isinstance(part, np.ndarray):
                part = part.astype(dtype)
            parts.append(part)
            start += size
        return self.treedef.unflatten(parts)


def _flat_output(out, where, what):
    """A function's pytree output as one flat float vector (fgrad ops, so traceable)."""
    leaves = tree_leaves(out)
    if not leaves:
        raise ValueError(f"{where}: {what} returned no values")
    parts = [fnp.ravel(x) for x in leaves]
    return parts[0] if len(parts) == 1 else fnp.concatenate(parts)


def _twice(f):
    """``v -> (f(v), f(v))`` with one call: a Jacobian and the value, from one pass."""

    def both(v):
        out = f(v)
        return out, out

    return both


def _args_tuple(args):
    return args if isinstance(args, tuple) else (args,)


def _traced(args):
    return any(isinstance(x, Tracer) for x in tree_leaves(args))


def _plain(args):
    return tree_map(lambda x: concrete(x) if isinstance(x, Tracer) else x, args)


def _check_callable(f, name, where):
    if not callable(f):
        raise TypeError(f"{where}: {name} must be a function, not {type(f).__name__}")


def _scalar(value, where):
    v = np.asarray(concrete(value))
    if v.size != 1 or v.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: fun must return a real scalar (the objective), got "
            f"{'an array of shape ' + str(v.shape) if v.size != 1 else 'dtype ' + str(v.dtype)}."
        )
    return float(v.reshape(()))


# --------------------------------------------------------------------------
# the linear solves of the implicit function theorem
# --------------------------------------------------------------------------


def _tangent_solver(symmetric):
    """``tangent_solve(g, y)`` for custom_root: ``g`` a linear map of pytrees."""

    def tangent_solve(g, y):
        rv = _Ravel(y, "the right-hand side", "fgrad.scipy.optimize")
        b = rv.ravel(y)
        n = b.size

        def matvec(v):
            return rv.ravel(g(rv.unravel(np.asarray(v, dtype=np.float64))))

        if n <= _DENSE_LIMIT:
            A = np.stack([matvec(e) for e in np.eye(n)], axis=1) if n else np.zeros((0, 0))
            try:
                x = np.linalg.solve(A, b)
            except np.linalg.LinAlgError:
                raise np.linalg.LinAlgError(
                    "fgrad.scipy.optimize: the Hessian (minimize) or Jacobian (root) at the "
                    "solution is singular, so the solution is not a differentiable function of "
                    "the parameters there (the implicit function theorem needs it invertible)."
                ) from None
        else:
            op = _sla.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
            solver = _sla.cg if symmetric else _sla.gmres
            x, info = solver(op, b, rtol=1e-12, atol=0.0, maxiter=10 * n)
            if info != 0:
                raise RuntimeError(
                    "fgrad.scipy.optimize: the iterative linear solve of the implicit function "
                    f"theorem did not converge ({'cg' if symmetric else 'gmres'}, info={info})."
                )
        return rv.unravel(x)

    return tangent_solve


def _differentiable(f, solution, symmetric):
    """``solution`` again, now a differentiable function of what ``f`` closes over."""
    return custom_root(f, solution, lambda f, guess: solution, _tangent_solver(symmetric))


def _refuse_constrained(where, what):
    raise NotImplementedError(
        f"{where}: differentiating through a solution with {what} is not supported (an "
        "active bound or constraint changes the optimality condition). Solve the "
        "unconstrained problem, reparametrise (e.g. x = exp(z) for x > 0), or pass the "
        "parameters as plain values (fgrad.stop_gradient)."
    )


# --------------------------------------------------------------------------
# minimize
# --------------------------------------------------------------------------


def _wrap_callback(callback, rv):
    if callback is None:
        return None
    _check_callable(callback, "callback", "minimize")
    try:
        new_style = "intermediate_result" in inspect.signature(callback).parameters
    except (TypeError, ValueError):
        new_style = False
    if new_style:
        def cb(intermediate_result):
            res = OptimizeResult(intermediate_result)
            res.x = rv.unravel(np.asarray(intermediate_result.x))
            return callback(intermediate_result=res)
    else:
        def cb(xk, *rest):
            return callback(rv.unravel(np.asarray(xk)), *rest)
    return cb


def _bounds(bounds, rv, where):
    """scipy bounds with pytree lower/upper parts (or scalars) made flat."""
    if bounds is None:
        return None
    if isinstance(bounds, _sopt.Bounds):
        lb, ub, keep = bounds.lb, bounds.ub, bounds.keep_feasible
    elif (isinstance(bounds, (tuple, list)) and len(bounds) == 2
          and not (rv.size == 2 and all(isinstance(b, (tuple, list)) for b in bounds))):
        lb, ub, keep = bounds[0], bounds[1], False
    else:
        return bounds  # a sequence of (min, max) pairs, one per element of the flat x

    def flat(side):
        if isinstance(side, np.ndarray) and side.dtype == object and side.size == 1:
            side = side.reshape(-1)[0]  # a pytree that scipy's Bounds wrapped in an array
        if side is None:
            return None
        if np.ndim(side) == 0 and not isinstance(side, (dict, list, tuple)):
            return np.full(rv.size, float(side))
        if tree_structure(side) == rv.treedef:
            leaves = [np.broadcast_to(np.asarray(v, float), s).ravel()
                      for v, s in zip(tree_leaves(side), rv.shapes)]
            return np.concatenate(leaves) if leaves else np.zeros(0)
        v = np.asarray(side, float)
        if v.size == 1:
            return np.full(rv.size, float(v.reshape(())))
        if v.shape != (rv.size,):
            raise ValueError(
                f"{where}: bounds must be scalars, pytrees shaped like x0, or flat arrays of "
                f"{rv.size} values; got an array of shape {v.shape}."
            )
        return v

    lo, hi = flat(lb), flat(ub)
    lo = np.full(rv.size, -np.inf) if lo is None else lo
    hi = np.full(rv.size, np.inf) if hi is None else hi
    return _sopt.Bounds(lo, hi, keep_feasible=keep)


def _constraint(c, rv, args):
    """A constraint whose ``fun`` takes x as a pytree: flat, with fgrad's Jacobian."""
    if isinstance(c, dict):
        if "fun" not in c:
            raise ValueError("minimize: a constraint dict needs 'fun' (and 'type')")
        fun, cargs = c["fun"], _args_tuple(c.get("args", ()))

        def cfun(v, *a):
            return np.asarray(_flat_output(fun(rv.unravel(v), *a), "minimize", "a constraint"))

        out = dict(c, fun=cfun, args=cargs)
        if c.get("jac") is None:
            out["jac"] = lambda v, *a: np.atleast_2d(np.asarray(jacrev(
                lambda w: _flat_output(fun(rv.unravel(w, cast=False), *a), "minimize",
                                       "a constraint"))(v)))
        return out
    if isinstance(c, _sopt.NonlinearConstraint):
        fun = c.fun

        def nfun(v):
            return np.asarray(_flat_output(fun(rv.unravel(v)), "minimize", "a constraint"))

        jac = c.jac
        if isinstance(jac, str) or jac is None:
            jac = lambda v: np.atleast_2d(np.asarray(jacrev(  # noqa: E731
                lambda w: _flat_output(fun(rv.unravel(w, cast=False)), "minimize",
                                       "a constraint"))(v)))
        return _sopt.NonlinearConstraint(nfun, c.lb, c.ub, jac=jac, hess=c.hess,
                                         keep_feasible=c.keep_feasible)
    return c  # a LinearConstraint: on the flat x


def minimize(fun, x0, args=(), method=None, jac=None, hess=None, hessp=None, bounds=None,
             constraints=(), tol=None, callback=None, options=None):
    """:func:`scipy.optimize.minimize` for a pytree ``x0``, with fgrad's derivatives.

    ``fun(x, *args)`` receives ``x`` in ``x0``'s structure and returns a real scalar,
    written with ``fgrad.numpy``.  Unless ``jac`` is given, the value and the
    gradient come from one :func:`fgrad.value_and_grad` call per point (``jac=False``:
    no gradient, scipy's finite differences); for ``Newton-CG``, ``trust-ncg``,
    ``trust-krylov`` and ``trust-constr`` the Hessian-vector product is forward-over-
    reverse, for ``dogleg`` and ``trust-exact`` the Hessian is ``jacfwd`` of the
    gradient.  A ``jac``, ``hess`` or ``hessp`` you pass goes to scipy as it is (on the
    flat vector).  ``bounds`` may be a :class:`scipy.optimize.Bounds` or a
    ``(lower, upper)`` pair whose parts are scalars or pytrees shaped like ``x0``;
    constraint dicts and :class:`~scipy.optimize.NonlinearConstraint` take ``x`` as a
    pytree too and get fgrad's Jacobian.  ``callback`` receives ``x`` as a pytree.

    Returns scipy's OptimizeResult; ``x`` and ``jac`` have ``x0``'s structure.  When
    ``args`` holds values traced by an enclosing transform, ``x`` is differentiable with
    respect to them (implicit function theorem on ``∇ₓ fun = 0``; see the module).

    Example:
        >>> import numpy as np, fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.optimize import minimize
        >>> def argmin(theta):       # argmin_x (x - θ)² + x⁴, differentiated in θ
        ...     return minimize(lambda x, t: (x - t) ** 2 + x ** 4, 0.0, args=(theta,),
        ...                     method="BFGS", tol=1e-12).x
        >>> x = float(argmin(1.0))
        >>> round(float(fgrad.grad(argmin)(1.0)), 6) == round(2 / (2 + 12 * x ** 2), 6)
        True
    """
    where = "minimize"
    _check_callable(fun, "fun", where)
    args = _args_tuple(args)
    rv = _Ravel(x0, "x0", where)
    if rv.size == 0:
        raise ValueError("minimize: x0 has no values to optimise")
    v0 = rv.ravel(x0)
    plain_args = _plain(args)
    name = method.lower() if isinstance(method, str) else method

    def value(v):
        return _scalar(fun(rv.unravel(v), *plain_args), where)

    def flat_fun(v):
        return fun(rv.unravel(v, cast=False), *plain_args)

    value_grad = value_and_grad(flat_fun)

    def value_and_gradient(v):
        val, g = value_grad(np.asarray(v, dtype=np.float64))
        return _scalar(val, where), np.asarray(g, dtype=np.float64)

    kwargs = {}
    if jac is None or jac is True:
        if name in _NO_GRADIENT:
            objective = value
        else:
            objective, kwargs["jac"] = value_and_gradient, True
    elif jac is False:
        objective = value
    else:
        objective, kwargs["jac"] = value, jac
    if hess is None and hessp is None and kwargs.get("jac") is True:
        if name in _HESSP:
            grad_flat = _grad(flat_fun)
            kwargs["hessp"] = lambda v, p: np.asarray(
                jvp(grad_flat, (np.asarray(v, float),), (np.asarray(p, float),))[1], float)
        elif name in _HESS:
            grad_flat = _grad(flat_fun)
            kwargs["hess"] = lambda v: np.asarray(jacfwd(grad_flat)(np.asarray(v, float)), float)
    else:
        if hess is not None:
            kwargs["hess"] = hess
        if hessp is not None:
            kwargs["hessp"] = hessp
    if bounds is not None:
        kwargs["bounds"] = _bounds(bounds, rv, where)
    if constraints is not None and not (isinstance(constraints, (tuple, list))
                                        and len(constraints) == 0):
        cons = constraints if isinstance(constraints, (tuple, list)) else [constraints]
        kwargs["constraints"] = [_constraint(c, rv, plain_args) for c in cons]
    res = _sopt.minimize(objective, v0, method=method, tol=tol,
                         callback=_wrap_callback(callback, rv), options=options, **kwargs)
    x_flat = np.asarray(res.x, dtype=np.float64)
    res.x = rv.unravel(x_flat)
    if "jac" in res and np.shape(res.jac) == (rv.size,):
        res.jac = rv.unravel(np.asarray(res.jac, dtype=np.float64))
    if _traced(args):
        if bounds is not None or kwargs.get("constraints"):
            _refuse_constrained(where, "bounds or constraints")
        res.x = _differentiable(lambda x: _grad(fun)(x, *args), res.x, symmetric=True)
    return res


# --------------------------------------------------------------------------
# root
# --------------------------------------------------------------------------


def root(fun, x0, args=(), method="hybr", jac=None, tol=None, callback=None, options=None):
    """:func:`scipy.optimize.root` for a pytree ``x0``, with fgrad's Jacobian.

    ``fun(x, *args)`` receives ``x`` in ``x0``'s structure and returns values (any
    pytree) with as many elements as ``x`` has.  For ``hybr`` and ``lm``, unless
    ``jac`` is given, the value and the Jacobian come from one ``jacfwd`` pass
    (``jac=False``: scipy's finite differences).  Returns scipy's OptimizeResult with
    ``x`` in ``x0``'s structure; with traced ``args``, ``x`` is differentiable with
    respect to them (implicit function theorem: one solve with the Jacobian in ``x``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.optimize import root
        >>> def solution(theta):     # the root of x³ + θx − 1
        ...     return root(lambda x, t: x ** 3 + t * x - 1.0, 0.5, args=(theta,), tol=1e-12).x
        >>> x = float(solution(1.0))
        >>> round(x, 6), round(float(fgrad.grad(solution)(1.0)), 6) == round(-x / (3 * x**2 + 1), 6)
        (0.682328, True)
    """
    where = "root"
    _check_callable(fun, "fun", where)
    args = _args_tuple(args)
    rv = _Ravel(x0, "x0", where)
    v0 = rv.ravel(x0)
    plain_args = _plain(args)
    name = method.lower() if isinstance(method, str) else method

    def flat_fun(v):
        return _flat_output(fun(rv.unravel(v, cast=False), *plain_args), where, "fun")

    def values(v):
        out = np.asarray(flat_fun(np.asarray(v, dtype=np.float64)), dtype=np.float64)
        if out.shape != (rv.size,):
            raise ValueError(
                f"root: fun must return as many values as x has ({rv.size}), got {out.size}; "
                "use least_squares for over- or under-determined systems."
            )
        return out

    both = jacfwd(_twice(flat_fun), has_aux=True)

    def values_and_jacobian(v):
        J, out = both(np.asarray(v, dtype=np.float64))
        out = np.asarray(out, dtype=np.float64)
        if out.shape != (rv.size,):
            values(v)  # raises the message
        return out, np.asarray(J, dtype=np.float64)

    kwargs = {}
    if (jac is None or jac is True) and name in _ROOT_JAC:
        objective, kwargs["jac"] = values_and_jacobian, True
    elif jac is None or jac is True or jac is False:
        objective = values
    else:
        objective, kwargs["jac"] = values, jac
    if callback is not None:
        _check_callable(callback, "callback", where)
        kwargs["callback"] = lambda x, f: callback(rv.unravel(np.asarray(x)), f)
    res = _sopt.root(objective, v0, method=method, tol=tol, options=options, **kwargs)
    res.x = rv.unravel(np.asarray(res.x, dtype=np.float64))
    if _traced(args):
        def f(x):
            # the residual, reshaped into x's structure (custom_root's convention)
            return rv.unravel(_flat_output(fun(x, *args), where, "fun"), cast=False)
        res.x = _differentiable(f, res.x, symmetric=False)
    return res


# --------------------------------------------------------------------------
# least_squares
# --------------------------------------------------------------------------


def least_squares(fun, x0, jac=None, bounds=(-np.inf, np.inf), method="trf", args=(),
                  kwargs=None, **options):
    """:func:`scipy.optimize.least_squares` for a pytree ``x0``, with fgrad's Jacobian.

    ``fun(x, *args, **kwargs)`` receives ``x`` in ``x0``'s structure and returns the
    residuals (any pytree; flattened).  Unless ``jac`` is given (a callable or
    ``"2-point"`` etc., passed to scipy as it is), the Jacobian is ``jacfwd`` when there
    are at least as many residuals as unknowns and ``jacrev`` otherwise, computed at
    once with the residuals.  ``bounds`` parts may be scalars or pytrees shaped like
    ``x0``.  Other keywords (``ftol``, ``loss``, ``max_nfev`` ...) go to scipy.
    Returns scipy's OptimizeResult with ``x`` and ``grad`` in ``x0``'s structure
    (``fun`` and ``jac`` stay flat).  With traced ``args`` and no bounds, ``x`` is
    differentiable (the stationarity of ``½‖r‖²``), for the default ``loss="linear"``.

    Example:
        >>> import numpy as np, fgrad.numpy as fnp
        >>> from fgrad.scipy.optimize import least_squares
        >>> t = np.linspace(0, 1, 20); y = 2.0 * np.exp(-1.5 * t)
        >>> res = least_squares(lambda p: p["a"] * fnp.exp(-p["k"] * t) - y,
        ...                     {"a": 1.0, "k": 1.0})
        >>> round(float(res.x["a"]), 6), round(float(res.x["k"]), 6)
        (2.0, 1.5)
    """
    where = "least_squares"
    _check_callable(fun, "fun", where)
    args = _args_tuple(args)
    kwargs = dict(kwargs or {})
    rv = _Ravel(x0, "x0", where)
    v0 = rv.ravel(x0)
    plain_args, plain_kwargs = _plain(args), _plain(kwargs)

    def flat_fun(v):
        return _flat_output(fun(rv.unravel(v, cast=False), *plain_args, **plain_kwargs),
                            where, "fun")

    cache = {}

    def evaluate(v):
        """Residuals and (by default) their Jacobian at ``v``, from one pass, kept for reuse."""
        v = np.asarray(v, dtype=np.float64)
        if "x" in cache and np.array_equal(cache["x"], v):
            return
        if jac is None or jac is True:
            J, r = cache["both"](v)
            cache["J"] = np.atleast_2d(np.asarray(J, dtype=np.float64))
        else:
            r = flat_fun(v)
        cache["x"], cache["r"] = v.copy(), np.asarray(r, dtype=np.float64)

    # the number of residuals picks forward or reverse mode for the Jacobian
    m = np.size(np.asarray(flat_fun(v0)))
    jac_of = jacfwd if m >= rv.size else jacrev
    cache["both"] = jac_of(_twice(flat_fun), has_aux=True)

    def residuals(v):
        evaluate(v)
        return cache["r"]

    def jacobian(v):
        evaluate(v)
        return cache["J"]

    use_jac = jacobian if jac is None or jac is True else jac
    flat_bounds = _bounds(bounds, rv, where)
    if isinstance(flat_bounds, _sopt.Bounds):
        flat_bounds = (flat_bounds.lb, flat_bounds.ub)
    res = _sopt.least_squares(residuals, v0, jac=use_jac, bounds=flat_bounds, method=method,
                              **options)
    res.x = rv.unravel(np.asarray(res.x, dtype=np.float64))
    if np.shape(res.grad) == (rv.size,):
        res.grad = rv.unravel(np.asarray(res.grad, dtype=np.float64))
    if _traced(args) or _traced(kwargs):
        lo, hi = flat_bounds
        if np.any(np.isfinite(lo)) or np.any(np.isfinite(hi)):
            _refuse_constrained(where, "bounds")
        if options.get("loss", "linear") != "linear":
            raise NotImplementedError(
                f"{where}: differentiating through the solution is supported for "
                "loss='linear' only.")

        def cost(x):
            r = _flat_output(fun(x, *args, **kwargs), where, "fun")
            return 0.5 * (r @ r)

        res.x = _differentiable(_grad(cost), res.x, symmetric=True)
    return res
