"""fgrad.numpy.linalg: differentiable linear algebra (``import fgrad.numpy as fnp``;
``fnp.linalg.norm``)."""

import numpy as np

from ..core import Tracer, concrete, defprim
from ..primitives.elementwise import absolute, conjugate, divide, multiply, real, where, equal
from ..primitives.reductions import amax, sum

__all__ = ["norm"]


def _norm2_impl(x, axis=None, keepdims=False):
    return np.linalg.norm(x, axis=axis, keepdims=keepdims)


def _norm2_direction(ans, x, axis, keepdims):
    # d||x|| = <x, dx> / ||x||; at x == 0 the subgradient 0 is taken, not NaN
    from ..primitives.reductions import expand_reduced

    full = expand_reduced(ans, np.shape(x), axis, keepdims)
    safe = where(equal(full, 0), 1.0, full)
    return divide(x, safe)


def _norm2_jvp(t, ans, x, axis=None, keepdims=False):
    return sum(real(multiply(conjugate(_norm2_direction(ans, x, axis, keepdims)), t)),
               axis=axis, keepdims=keepdims)


def _norm2_vjp(g, ans, x, axis=None, keepdims=False):
    from ..primitives.reductions import expand_reduced

    return multiply(expand_reduced(g, np.shape(x), axis, keepdims),
                    _norm2_direction(ans, x, axis, keepdims))


_norm2 = defprim("norm2", _norm2_impl, jvp=[_norm2_jvp], vjp=[_norm2_vjp], batch="reduce",
                 test={"params": [{}, {"axis": 0}], "avoid": 0.0})


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (``numpy.linalg.norm``).

    The 2-norm (and Frobenius norm) is a primitive whose derivative at 0 is the
    subgradient 0 rather than NaN; other orders are built from primitives.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.linalg.norm)(fnp.array([3.0, 4.0]))
        array([0.6, 0.8])
    """
    if not isinstance(x, Tracer):
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    ndim = np.ndim(concrete(x))
    vector = (axis is None and ndim == 1) or isinstance(axis, (int, np.integer)) or (
        isinstance(axis, tuple) and len(axis) == 1)
    if ord is None or (ord == 2 and vector) or (ord == "fro" and not vector):
        if axis is None and ndim > 2 and ord is None:
            return _norm2(x)
        return _norm2(x, axis=axis, keepdims=keepdims)
    if vector:
        a = absolute(x)
        if ord == np.inf:
            return amax(a, axis=axis, keepdims=keepdims)
        if ord == 1:
            return sum(a, axis=axis, keepdims=keepdims)
        from ..primitives.elementwise import power

        return power(sum(power(a, ord), axis=axis, keepdims=keepdims), 1.0 / ord)
    raise NotImplementedError(
        f"fgrad.numpy.linalg.norm: ord={ord!r} for matrices is not implemented yet"
    )
