"""Numerical checks of derivatives, public so users can test their own rules."""

import numpy as np

from .api import _check_leaves, jvp, vjp
from .tree import tree_flatten

__all__ = ["check_grads"]


def _leaves(tree):
    return [np.asarray(x) for x in tree_flatten(tree)[0]]


def _inner(a, b):
    # the bilinear pairing under which vjp is the transpose of jvp (also for complex)
    return sum(float(np.real(np.sum(x * y))) for x, y in zip(_leaves(a), _leaves(b)))


def _random_like(tree, rng):
    leaves, treedef = tree_flatten(tree)
    out = []
    for x in leaves:
        x = np.asarray(x)
        r = rng.standard_normal(x.shape)
        if x.dtype.kind == "c":
            r = r + 1j * rng.standard_normal(x.shape)
        out.append(r.astype(x.dtype))
    return treedef.unflatten(out)


def _upcast(tree):
    leaves, treedef = tree_flatten(tree)
    return treedef.unflatten([
        np.asarray(x, np.float64) if np.asarray(x).dtype == np.float16 else x for x in leaves])


def _axpy(a, x, y):
    leaves_x, treedef = tree_flatten(x)
    leaves_y = tree_flatten(y)[0]
    return treedef.unflatten([yy + a * xx for xx, yy in zip(leaves_x, leaves_y)])


def _assert_close(what, got, want, atol, rtol):
    for g, w in zip(_leaves(got), _leaves(want)):
        err = np.max(np.abs(g - w), initial=0.0)
        scale = atol + rtol * np.max(np.abs(w), initial=0.0)
        if not err <= scale:  # also catches NaN
            raise AssertionError(
                f"{what}: discrepancy {err:.3g} exceeds tolerance {scale:.3g}\n"
                f"  derivative: {g}\n  reference:  {w}"
            )


def check_grads(fun, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None,
                seed=0):
    """Check ``fun``'s derivatives numerically, up to ``order``.

    ``"fwd"`` compares ``jvp`` with central differences along a random
    direction; ``"rev"`` checks ``vjp`` against the Jacobian-vector product
    through the identity ``<u, J v> = <J^T u, v>``.  Higher orders repeat the
    checks on the jvp and vjp functions themselves.  Raises AssertionError with
    the size of the discrepancy.

    Args:
        fun: the function to check, of positional arguments.
        args: a tuple with one value per positional argument (the point of the check).
        order: the highest order checked (2 by default checks the derivatives of the jvp and
            vjp functions as well).
        modes: ``("fwd",)``, ``("rev",)`` or both (the default): forward mode against
            central differences, reverse mode against forward mode through the dot-product
            identity.
        atol: absolute tolerance; by default 1e-5 for float64, 5e-2 for float32 and
            complex64, 5e-3 for float16 arguments.
        rtol: relative tolerance; by default 1e-5 for float64, 5e-2 for float32 and
            complex64, 2e-2 for float16 arguments.
        eps: the step of the central differences; by default 1e-6 (1e-3 for float32
            arguments; float16 arguments are differenced in float64).
        seed: the seed of the random direction (and of the cotangent), for a reproducible
            check.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.check_grads(fnp.sin, (fnp.array([0.5, 1.0]),), order=2)
    """

    args = tuple(args)
    for i, a in enumerate(args):
        _check_leaves(a, "check_grads", f"argument {i}")
    leaves = _leaves(args)
    half = any(x.dtype == np.float16 for x in leaves)
    low = half or any(x.dtype in (np.float32, np.complex64) for x in leaves)
    # float16 has 3 significant digits: central differences in float16 cancel to
    # nothing at any step that keeps the truncation error small, so they are taken
    # on float64 copies of the arguments (the function runs in float64 there)
    eps = eps if eps is not None else (1e-6 if half else 1e-3 if low else 1e-6)
    # (float16 values are exact in float64, so only float16's rounding in the
    # derivative itself is left: a few units of 2**-11 relative)
    atol = atol if atol is not None else (5e-3 if half else 5e-2 if low else 1e-5)
    rtol = rtol if rtol is not None else (2e-2 if half else 5e-2 if low else 1e-5)
    rng = np.random.default_rng(seed)

    v = _random_like(args, rng)
    if "fwd" in modes or "rev" in modes:
        fd_args, fd_v = args, v
        if half:
            fd_args, fd_v = (_upcast(args), _upcast(v))
        f_plus = fun(*_axpy(eps, fd_v, fd_args))
        f_minus = fun(*_axpy(-eps, fd_v, fd_args))
        fd = [(np.asarray(p) - np.asarray(m)) / (2 * eps)
              for p, m in zip(_leaves(f_plus), _leaves(f_minus))]
    out, jv = jvp(fun, args, v) if "fwd" in modes else (fun(*args), fd)
    if "fwd" in modes:
        _assert_close(f"jvp of {getattr(fun, '__name__', fun)}", jv, fd, atol, rtol)
    if "rev" in modes:
        out, f_vjp = vjp(fun, *args)
        u = _random_like(out, rng)
        ct = f_vjp(u)
        lhs, rhs = _inner(u, jv), _inner(ct, v)
        if not abs(lhs - rhs) <= atol + rtol * max(abs(lhs), abs(rhs)):
            raise AssertionError(
                f"vjp of {getattr(fun, '__name__', fun)}: <u, J v> = {lhs!r} but "
                f"<J^T u, v> = {rhs!r} (discrepancy {abs(lhs - rhs):.3g})"
            )
    if order > 1:
        n = len(args)
        if "fwd" in modes:

            def jvp_fun(*primals_and_tangents):
                return jvp(fun, primals_and_tangents[:n], primals_and_tangents[n:])[1]

            check_grads(jvp_fun, args + tuple(v), order - 1, modes, atol, rtol, eps, seed + 1)
        if "rev" in modes:
            u = _random_like(fun(*args), rng)

            def vjp_fun(*primals_and_ct):
                return vjp(fun, *primals_and_ct[:n])[1](primals_and_ct[n])

            check_grads(vjp_fun, args + (u,), order - 1, modes, atol, rtol, eps, seed + 1)
