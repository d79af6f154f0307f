"""The linear maps of a function: linearize, linear_transpose and hvp.

* :func:`linearize` runs ``fun`` once under ``jvp`` with *staged* tangents: the
  tangent computation is recorded as a list of primitive applications (the
  primal values it needs are kept as constants), so the returned ``jvp_fun``
  replays only the linear part, as often as wanted, without running ``fun``
  again.
* :func:`linear_transpose` transposes a linear function with reverse mode.
* :func:`hvp` is the Hessian-vector product, forward-over-reverse.

Rematerialisation (:func:`fgrad.checkpoint`) is in fgrad/remat.py.
"""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .api import _check_differentiable, _check_leaves, _unaliased, grad, jvp, vjp
from .core import Tracer, check_value, concrete, is_duck_array
from .staging import StagingTrace
from .tree import tree_flatten, tree_map

__all__ = ["linearize", "linear_transpose", "hvp"]


def _shape(x):
    return np.shape(concrete(x))


def _dtype(x):
    return np.result_type(concrete(x))


# --------------------------------------------------------------------------
# linearize: jvp with staged tangents
# --------------------------------------------------------------------------


def linearize(fun, *primals):
    """Evaluate ``fun`` at ``primals`` and return its linear map (the jvp) there.

    Returns ``(out, jvp_fun)``; ``jvp_fun(*tangents)`` equals
    ``fgrad.jvp(fun, primals, tangents)[1]`` but does not run ``fun`` again: the
    tangent computation was recorded once (with the primal values it needs) and
    is replayed, so evaluating the linear map many times is cheap.  ``jvp_fun``
    composes with every transform (``vmap(jvp_fun)`` pushes a batch of tangents).

    Args:
        fun: the function, of the primals as positional arguments.
        *primals: the point: one value per positional argument of ``fun``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> out, f_jvp = fgrad.linearize(fnp.sin, 0.0)
        >>> float(out), float(f_jvp(2.0)), float(f_jvp(3.0))
        (0.0, 2.0, 3.0)
    """
    for i, p in enumerate(primals):
        _check_leaves(p, "linearize", f"argument {i}")
    p_leaves, p_tree = tree_flatten(tuple(primals))
    for p in p_leaves:
        _check_differentiable(p, "linearize")
    # the recorded program outlives this call: it keeps copies of the caller's arrays
    primals = p_tree.unflatten(
        [p.copy() if isinstance(p, np.ndarray) else p for p in p_leaves])
    # the tangent computation is staged as fgrad.jit stages a function (fgrad/staging.py):
    # the primal values it needs are constants of the program, which keeps copies
    trace = StagingTrace()
    try:
        tangents = [
            trace.new_input(np.zeros(_shape(p), dtype=_dtype(p))) for p in p_leaves
        ]
        out, t_out = jvp(fun, tuple(primals), p_tree.unflatten(tangents))
        t_leaves, t_tree = tree_flatten(t_out)
    finally:
        trace.alive = False
    program, _ = trace.finish(t_leaves)
    # constants that are tracers of an enclosing transform (linearize under grad ...)
    # need the rows' functions: the program is then always interpreted
    closed_over = trace.closed_over
    shapes = [(_shape(p), _dtype(p)) for p in p_leaves]

    def jvp_fun(*tangents):
        for i, t in enumerate(tangents):
            _check_leaves(t, "linearize's jvp_fun", f"tangent {i}")
        leaves, tree = tree_flatten(tuple(tangents))
        if tree != p_tree:
            raise TypeError(
                f"linearize's jvp_fun expects tangents with the structure of the primals "
                f"{p_tree}, got {tree} ({p_tree.difference(tree)}): pass one tangent per "
                "primal, jvp_fun(*tangents)."
            )
        inputs = []
        for t, (shape, dtype) in zip(leaves, shapes):
            check_value(t, "linearize's jvp_fun")  # a mask or matrix would be dropped
            if _shape(t) != shape:
                raise ValueError(
                    f"linearize's jvp_fun: tangent of shape {_shape(t)} for a primal of "
                    f"shape {shape}; they must match."
                )
            if _dtype(t).kind == "c" and dtype.kind != "c":
                raise TypeError(
                    f"linearize's jvp_fun: a tangent is complex ({_dtype(t)}) for a real "
                    f"primal ({dtype}); its imaginary part would be lost. Pass a real "
                    "tangent, or linearize at a complex primal."
                )
            if is_duck_array(t):  # dask, cupy: cast lazily
                t = t if t.dtype == dtype else t.astype(dtype)
            elif not isinstance(t, Tracer):
                t = np.asarray(t, dtype=dtype)
            elif _dtype(t) != dtype:
                t = fnp.astype(t, dtype)
            inputs.append(t)
        if closed_over or any(isinstance(t, Tracer) for t in inputs):
            outs = program.interpret(*inputs)
        else:
            outs = program(*inputs)
        return t_tree.unflatten(_unaliased(outs, leaves))

    return out, jvp_fun


# --------------------------------------------------------------------------
# linear_transpose
# --------------------------------------------------------------------------


def _random_like(x, rng):
    shape, dtype = _shape(x), _dtype(x)
    r = rng.standard_normal(shape)
    if dtype.kind == "c":
        r = r + 1j * rng.standard_normal(shape)
    return np.asarray(r, dtype=dtype)


def linear_transpose(fun, *primals):
    """The transpose of a linear function: ``ct -> J^T ct`` (JAX's convention).

    ``primals`` only give the shapes and dtypes of ``fun``'s arguments.  The
    transpose is built by reverse mode at zero; ``fun`` is checked to be linear
    (``fun(0) == 0`` and ``fun(x) == J x`` at a random ``x``), and a ValueError
    says so if it is not.  ``transpose_fun(ct)`` returns a tuple with one
    cotangent per primal.  For complex functions the transpose is not
    conjugated: it is the adjoint under the pairing ``Re(sum(a * b))``.

    Args:
        fun: a linear function of the primals' shapes and dtypes.
        *primals: example arguments: only their structure, shapes and dtypes are read.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> A = fnp.array([[1.0, 2.0], [3.0, 4.0]])
        >>> f_t = fgrad.linear_transpose(lambda x: A @ x, fnp.zeros(2))
        >>> f_t(fnp.array([1.0, 0.0]))
        (array([1., 2.]),)
    """
    for i, p in enumerate(primals):
        _check_leaves(p, "linear_transpose", f"argument {i}")
    zeros = tuple(tree_map(lambda p: np.zeros(_shape(p), dtype=_dtype(p)), tuple(primals)))
    out, f_vjp = vjp(fun, *zeros)
    for o in tree_flatten(out)[0]:
        if np.any(concrete(o) != 0):
            raise ValueError(
                "linear_transpose: fun is not linear: fun(0) is not 0 (an affine offset or a "
                "non-linear function). Transpose the linear part only, e.g. "
                "lambda x: fun(x) - fun(0)."
            )
    rng = np.random.default_rng(0)
    x = tuple(tree_map(lambda p: _random_like(p, rng), zeros))
    direct = tree_flatten(fun(*x))[0]
    _, lin = jvp(fun, zeros, x)
    for a, b in zip(direct, tree_flatten(lin)[0]):
        a, b = np.asarray(concrete(a)), np.asarray(concrete(b))
        if not np.allclose(a, b, rtol=1e-6, atol=1e-9 * (1 + np.max(np.abs(b), initial=0))):
            raise ValueError(
                "linear_transpose: fun is not linear: fun(x) differs from its derivative at 0 "
                "applied to x. For the transposed derivative of a non-linear function at a "
                "point, use fgrad.vjp(fun, *primals)."
            )
    out_leaves, out_tree = tree_flatten(out)

    def transpose_fun(cotangent):
        leaves, tree = tree_flatten(cotangent)
        if tree != out_tree:
            raise TypeError(
                f"linear_transpose: expected a cotangent with the structure of fun's output "
                f"{out_tree}, got {tree} ({out_tree.difference(tree)})."
            )
        return f_vjp(cotangent)

    return transpose_fun


# --------------------------------------------------------------------------
# hvp
# --------------------------------------------------------------------------


def hvp(fun, primals, tangents):
    """Hessian-vector product ``H v`` of scalar ``fun`` (forward-over-reverse).

    ``primals`` and ``tangents`` are tuples, one entry per positional argument;
    the Hessian is taken with respect to all of them.  With one argument the
    result has its structure; with several it is a tuple (one block row of
    ``H v`` per argument).  Costs a small multiple of one gradient, whatever
    the dimension.

    Args:
        fun: a function returning a real scalar.
        primals: a tuple with one value per positional argument of ``fun`` (the point).
        tangents: a tuple with one vector per primal, of the same structure and shapes.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> f = lambda x: fnp.sum(x ** 3)
        >>> fgrad.hvp(f, (fnp.array([1.0, 2.0]),), (fnp.array([1.0, 0.0]),))
        array([6., 0.])
    """

    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "hvp expects primals and tangents as tuples, one entry per positional "
            "argument: fgrad.hvp(f, (x,), (v,))"
        )
    for i, p in enumerate(primals):
        _check_leaves(p, "hvp", f"argument {i}")
    n = len(primals)
    g = grad(fun, argnums=tuple(range(n)))
    out = jvp(g, tuple(primals), tuple(tangents))[1]
    return out[0] if n == 1 else out
