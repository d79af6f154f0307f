"""fgrad.scipy.integrate: ``odeint``, an adaptive ODE solver with derivatives.

``odeint(func, y0, t, *args)`` has JAX's semantics (``jax.experimental.ode.odeint``):
``func(y, t, *args)`` is the time derivative of the state ``y`` (any pytree of
real arrays), ``t`` an increasing 1-d array of times, and the result the state
at every time of ``t``, each leaf with a leading time axis.

* The solve is fgrad's own explicit Runge--Kutta method of Dormand and Prince
  (order 5 with an embedded order-4 error estimate, per-step error control by
  ``rtol``/``atol``), in numpy; it steps onto every output time exactly.
* Reverse mode (``grad``, ``vjp``, ``jacrev``) uses the **adjoint method**: for
  each interval between output times, from the last backwards, it integrates
  the state, the adjoint ``lambda`` (``dlambda/dt = -lambda . df/dy``) and the
  parameter integrals (``lambda . df/dargs``) backwards in time, with vector-Jacobian
  products of ``func`` from fgrad's own ``vjp``.  Memory does not grow with the
  number of solver steps.  Cotangents for ``y0``, every time in ``t`` and
  every array in ``args``.
* Forward mode (``jvp``, ``jacfwd``) integrates the tangent (sensitivity)
  system ``du/dt = df/dy . u + df/dargs . dargs`` alongside the state, with
  fgrad's ``jvp`` of ``func``.

Both derivative systems are solved by ``odeint`` itself, with the same
tolerances, so they are correct to the solver's tolerance (not to rounding:
they are not the derivative of the discrete steps), and derivatives of any
order follow (each order solves a system twice as large; second order is
tested).  ``func`` must be written with fgrad functions (``fgrad.numpy``) so
that it can be differentiated, and every array it depends on should be passed
in ``args`` (a traced value it closes over is not differentiated: it raises).

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad.scipy.integrate import odeint
    >>> t = fnp.array([0.0, 1.0])
    >>> decay = lambda y, t, k: -k * y
    >>> round(float(odeint(decay, 1.0, t, 0.5)[1]), 6)   # exp(-0.5)
    0.606531
    >>> round(float(fgrad.grad(lambda k: odeint(decay, 1.0, t, k)[1])(0.5)), 6)  # -exp(-0.5)
    -0.606531
"""

import numpy as np

from .. import numpy as fnp
from ..api import jvp as _jvp
from ..api import vjp as _vjp
from ..core import Primitive, _PositionRules, any_tracer, concrete, shape_of
from ..tree import tree_flatten, tree_unflatten

__all__ = ["odeint"]

# Dormand--Prince 5(4): nodes, stage coefficients, the order-5 weights (also the
# last stage, evaluated at the new point: "first same as last") and the
# difference between the order-5 and order-4 weights (the error estimate).
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0)
_A = tuple(np.array(row) for row in (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
))
_B = np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0])
_E = _B - np.array([5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200,
                    187 / 2100, 1 / 40])


class _ODE:
    """The static part of one solve: ``fun(y, t, *args)`` on flat state vectors."""

    __slots__ = ("fun", "n", "rtol", "atol", "mxstep", "hmax", "what")

    def __init__(self, fun, n, rtol, atol, mxstep, hmax, what):
        self.fun, self.n, self.rtol, self.atol = fun, n, rtol, atol
        self.mxstep, self.hmax, self.what = mxstep, hmax, what

    def derived(self, fun, n, what):
        return _ODE(fun, n, self.rtol, self.atol, self.mxstep, self.hmax, what)

    def __repr__(self):
        return f"<odeint system: {self.what}>"


def _rms(x):
    return float(np.sqrt(np.mean(np.abs(x) ** 2))) if x.size else 0.0


def _check_times(t):
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"odeint: t must be a non-empty 1-d array of times, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("odeint: the times t must be finite")
    if np.any(np.diff(t) <= 0):
        raise ValueError("odeint: the times t must be strictly increasing (got "
                         f"{t.tolist() if t.size <= 8 else 'a non-increasing array'}); "
                         "to integrate backwards, substitute s = -t")
    return t


def _solve(y0, t, *args, ode):
    """Dormand--Prince 5(4) from ``t[0]``, landing on every ``t[i]``: the row's impl."""
    t = _check_times(t)
    y = np.asarray(y0, dtype=np.float64).copy()
    out = np.empty((t.size, y.size))
    out[0] = y
    if t.size == 1:
        return out

    def f(y, s):
        out = ode.fun(y, s, *args)
        if any_tracer(out):
            raise TypeError(
                f"odeint: {ode.what} returned a traced value for a plain state: it uses a "
                "traced array it closes over (a value being differentiated or vmapped). "
                "Pass such arrays to odeint as extra arguments, odeint(func, y0, t, *args), "
                "so their derivatives are computed")
        return np.asarray(out, dtype=np.float64)

    rtol, atol, hmax = ode.rtol, ode.atol, ode.hmax
    tc, k1 = t[0], f(y, t[0])
    # initial step (Hairer, Norsett & Wanner, II.4): from the sizes of y, f and f'
    scale = atol + rtol * np.abs(y)
    d0, d1 = _rms(y / scale), _rms(k1 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, t[-1] - t[0], hmax)
    d2 = _rms((f(y + h0 * k1, tc + h0) - k1) / scale) / h0
    h1 = max(1e-6, h0 * 1e-3) if max(d1, d2) <= 1e-15 else (0.01 / max(d1, d2)) ** 0.2
    h = min(100 * h0, h1, hmax)
    ks = np.empty((7, y.size))
    for i in range(1, t.size):
        target, steps = t[i], 0
        while tc < target:
            if steps >= ode.mxstep:
                raise RuntimeError(
                    f"odeint ({ode.what}): more than mxstep={ode.mxstep} steps between "
                    f"t={t[i - 1]!r} and t={target!r}; the system may be stiff (an explicit "
                    "method needs tiny steps) or mxstep too small")
            steps += 1
            last = tc + h >= target
            step = target - tc if last else h
            ks[0] = k1
            for s in range(1, 6):
                ks[s] = f(y + step * (_A[s] @ ks[:s]), tc + _C[s] * step)
            y_new = y + step * (_B[:6] @ ks[:6])
            t_new = target if last else tc + step
            ks[6] = f(y_new, t_new)
            err = step * (_E @ ks)
            ratio = _rms(err / (atol + rtol * np.maximum(np.abs(y), np.abs(y_new))))
            if not np.isfinite(ratio):
                factor = 0.2
            else:
                factor = 10.0 if ratio == 0 else min(10.0, max(0.2, 0.9 * ratio ** -0.2))
            if ratio <= 1.0:
                y, tc, k1 = y_new, t_new, ks[6].copy()
                h = min(max(step * factor, h if last else 0.0), hmax)
            else:
                h = step * min(factor, 1.0)
                if h <= 1e-14 * max(1.0, abs(tc)):
                    raise RuntimeError(
                        f"odeint ({ode.what}): the step size fell to {h:g} at t={tc!r} "
                        "without meeting the tolerances (the solution may blow up or be "
                        "not finite there)")
        out[i] = y
    return out


# --- the row and its rules ------------------------------------------------------------


def _call(z0, t, args, ode):
    return _odeint_row(z0, t, *args, ode=ode)


def _tangent_of_y0(u0, ans, y0, t, args, ode):
    """The solution's tangent for the tangent ``u0`` of the initial state."""
    n = ode.n

    def fun(z, s, *args):
        out, tan = _jvp(lambda y: ode.fun(y, s, *args), (z[:n],), (z[n:],))
        return fnp.concatenate([out, tan])

    tan_ode = ode.derived(fun, 2 * n, f"tangent system of {ode.what}")
    return _call(fnp.concatenate([y0, u0]), t, args, tan_ode)[:, n:]


def _jvp_rule(k):
    def y0_rule(ty, ans, y0, t, *args, ode):
        return _tangent_of_y0(ty, ans, y0, t, args, ode)

    def t_rule(tt, ans, y0, t, *args, ode):
        # a later output time moves along the solution; moving t[0] shifts it all
        slopes = fnp.stack([ode.fun(ans[i], t[i], *args) for i in range(shape_of(t)[0])])
        shift = _tangent_of_y0(-slopes[0] * tt[0], ans, y0, t, args, ode)
        return slopes * fnp.reshape(tt, (-1, 1)) + shift

    def arg_rule(ta, ans, y0, t, *args, ode):
        n, j = ode.n, k - 2

        def fun(z, s, *rest):
            args, ta = rest[:-1], rest[-1]

            def f(y, a):
                return ode.fun(y, s, *args[:j], a, *args[j + 1:])

            out, tan = _jvp(f, (z[:n], args[j]), (z[n:], ta))
            return fnp.concatenate([out, tan])

        tan_ode = ode.derived(fun, 2 * n, f"tangent system of {ode.what}")
        z0 = fnp.concatenate([y0, fnp.zeros(n)])
        return _call(z0, t, args + (ta,), tan_ode)[:, n:]

    return y0_rule if k == 0 else t_rule if k == 1 else arg_rule


def _vjp_joint(g, ans, y0, t, *args, wrt, ode):
    """The adjoint method: backwards over each interval between output times."""
    n, nt = ode.n, shape_of(t)[0]
    diff = [k - 2 for k in wrt if k >= 2]  # the args differentiated
    sizes = [int(np.prod(shape_of(args[j]), dtype=int)) for j in diff]

    def fun(z, s, *args):
        # in reversed time s = -t: the state runs back, the adjoint and the
        # parameter integrals accumulate lambda . df/dy and lambda . df/dargs
        def f(y, *dargs):
            full = list(args)
            for j, a in zip(diff, dargs):
                full[j] = a
            return ode.fun(y, -s, *full)

        out, pull = _vjp(f, z[:n], *[args[j] for j in diff])
        cts = pull(z[n:2 * n])
        return fnp.concatenate([-out] + [fnp.ravel(c) for c in cts])

    adj_ode = ode.derived(fun, 2 * n + sum(sizes), f"adjoint system of {ode.what}")
    lam = g[nt - 1]
    bars = fnp.zeros(sum(sizes))
    t_bar = [None] * nt
    for i in range(nt - 1, 0, -1):
        t_bar[i] = fnp.sum(ode.fun(ans[i], t[i], *args) * g[i])
        z = _call(fnp.concatenate([ans[i], lam, bars]), fnp.stack([-t[i], -t[i - 1]]), args,
                  adj_ode)[1]
        lam, bars = z[n:2 * n] + g[i - 1], z[2 * n:]
    out = []
    for k in wrt:
        if k == 0:
            out.append(lam)
        elif k == 1:
            # t[0] moves the whole solution (but not the first output, which is y0)
            t_bar[0] = fnp.sum(ode.fun(y0, t[0], *args) * (g[0] - lam))
            out.append(fnp.stack(t_bar))
        else:
            at = sum(sizes[:diff.index(k - 2)])
            size = sizes[diff.index(k - 2)]
            out.append(fnp.reshape(bars[at:at + size], shape_of(args[k - 2])))
    return tuple(out)


def _batch(args, dims, ode):
    """One solve per example (each with its own adaptive steps), stacked."""
    size = next(shape_of(x)[d] for x, d in zip(args, dims) if d is not None)
    args = [x if d is None else fnp.moveaxis(x, d, 0) for x, d in zip(args, dims)]
    outs = [_odeint_row(*[x if d is None else x[i] for x, d in zip(args, dims)], ode=ode)
            for i in range(size)]
    return fnp.stack(outs), 0


_odeint_row = Primitive(
    "scipy.integrate.odeint", _solve,
    jvp=_PositionRules(_jvp_rule),
    vjp_joint=_vjp_joint,
    reads=("ans", "args"),
    batch=_batch,
).fn


# --- the public function ---------------------------------------------------------------


def _leaf_shapes(leaves, what):
    shapes = []
    for i, leaf in enumerate(leaves):
        kind = np.result_type(concrete(leaf)).kind if not isinstance(leaf, str) else "U"
        if kind not in "biuf":
            raise TypeError(
                f"odeint: every leaf of {what} must be a real number or array, but leaf {i} "
                f"is {type(leaf).__name__}" + (" (complex: integrate the real and imaginary "
                                              "parts as two real states)" if kind == "c" else ""))
        shapes.append(tuple(shape_of(leaf)))
    return shapes


def odeint(func, y0, t, *args, rtol=1.4e-8, atol=1.4e-8, mxstep=np.inf, hmax=np.inf):
    """Solve ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0`` at the times ``t``.

    Args:
        func: the right-hand side, ``func(y, t, *args)``, returning a pytree of
            the structure and shapes of ``y``; written with ``fgrad.numpy`` so it
            can be differentiated.
        y0: the initial state: an array or a pytree of real arrays.
        t: a 1-d array of strictly increasing times; ``y0`` is the state at ``t[0]``.
        *args: further arguments of ``func`` (arrays or pytrees of arrays); the
            derivatives with respect to them are computed, like those for
            ``y0`` and ``t``.
        rtol, atol: relative and absolute tolerance of the local error per step.
        mxstep: the most steps (accepted or rejected) between two output times;
            more raise a RuntimeError.
        hmax: the largest step size.

    Returns:
        The state at every time of ``t``: ``y0``'s structure, each leaf with a
        leading axis of length ``len(t)`` (float64).

    Derivatives: reverse mode by the adjoint method, forward mode by the
    tangent system, both solved with the same tolerances (see the module's
    documentation); under ``vmap`` each example is solved on its own.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.integrate import odeint
        >>> def lotka_volterra(state, t, a, b):
        ...     prey, pred = state["prey"], state["pred"]
        ...     return {"prey": a * prey - b * prey * pred, "pred": b * prey * pred - pred}
        >>> ts = fnp.linspace(0.0, 1.0, 3)
        >>> ys = odeint(lotka_volterra, {"prey": 1.0, "pred": 0.5}, ts, 1.0, 0.5)
        >>> ys["prey"].shape
        (3,)
        >>> g = fgrad.grad(lambda a: odeint(lotka_volterra, {"prey": 1.0, "pred": 0.5},
        ...                                 ts, a, 0.5)["prey"][-1])(1.0)
        >>> bool(g > 0)   # more prey growth, more prey
        True
    """
    if not callable(func):
        raise TypeError(f"odeint: func must be callable as func(y, t, *args), "
                        f"got {type(func).__name__}")
    for name, value in (("rtol", rtol), ("atol", atol), ("hmax", hmax)):
        if not (np.ndim(value) == 0 and float(value) > 0):
            raise ValueError(f"odeint: {name} must be a positive number, got {value!r}")
    if not (np.ndim(mxstep) == 0 and mxstep >= 1):
        raise ValueError(f"odeint: mxstep must be a positive number of steps, got {mxstep!r}")
    ndim_t = len(shape_of(t)) if any_tracer(t) else np.ndim(t)
    if ndim_t != 1:
        raise ValueError(f"odeint: t must be a 1-d array of times, got {ndim_t} dimensions")
    if not any_tracer(t):
        t = _check_times(t)
    y_leaves, y_tree = tree_flatten(y0)
    if not y_leaves:
        raise ValueError("odeint: y0 has no arrays in it")
    shapes = _leaf_shapes(y_leaves, "y0")
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    a_leaves, a_tree = tree_flatten(args)
    _leaf_shapes(a_leaves, "args")
    name = getattr(func, "__name__", type(func).__name__)

    vector = len(shapes) == 1 and len(shapes[0]) == 1  # one 1-d leaf: no reshaping

    def unflat(y):
        if vector:
            return tree_unflatten(y_tree, [y])
        return tree_unflatten(y_tree, [fnp.reshape(y[offsets[i]:offsets[i + 1]], shapes[i])
                                       for i in range(len(shapes))])

    def fun(y, s, *leaves):
        out = func(unflat(y), s, *tree_unflatten(a_tree, list(leaves)))
        out_leaves, out_tree = tree_flatten(out)
        if out_tree != y_tree:
            raise TypeError(
                f"odeint: func {name} must return the time derivative with the structure of "
                f"y0 ({y_tree}), but it returned {out_tree}")
        parts = []
        for i, leaf in enumerate(out_leaves):
            if tuple(shape_of(leaf)) != shapes[i]:
                raise ValueError(
                    f"odeint: func {name} returned a leaf of shape {tuple(shape_of(leaf))} "
                    f"where y0 has shape {shapes[i]} (leaf {i})")
            parts.append(leaf if vector else fnp.ravel(leaf))
        return parts[0] if len(parts) == 1 else fnp.concatenate(parts)

    ode = _ODE(fun, offsets[-1], float(rtol), float(atol), mxstep, float(hmax), f"func {name}")
    flat = [fnp.ravel(fnp.astype(leaf, np.float64)) for leaf in y_leaves]
    z0 = flat[0] if len(flat) == 1 else fnp.concatenate(flat)
    if not any_tracer(t):
        t = np.asarray(t, dtype=np.float64)
    ys = _odeint_row(z0, fnp.astype(t, np.float64), *a_leaves, ode=ode)
    nt = shape_of(t)[0]
    return tree_unflatten(y_tree, [fnp.reshape(ys[:, offsets[i]:offsets[i + 1]],
                                               (nt,) + shapes[i]) for i in range(len(shapes))])
