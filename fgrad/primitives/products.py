"""Rows of the rule table: matrix products.

``matmul`` is the primitive; ``dot``, ``vdot``, ``inner``, ``outer`` and
``tensordot`` are written with it and with the shape primitives.
"""

import numpy as np

from ..core import Tracer, concrete, defprim
from .elementwise import multiply
from .reductions import sum as _sum
from .shape import expand_dims, getitem, reshape, swapaxes, transpose

__all__ = ["matmul", "dot", "vdot", "inner", "outer", "tensordot"]


def _matmul_vjp_a(g, ans, a, b):
    if np.ndim(b) == 1:
        if np.ndim(a) == 1:
            return multiply(g, b)
        return multiply(expand_dims(g, -1), b)
    if np.ndim(a) == 1:
        return getitem(matmul(b, expand_dims(g, -1)), (Ellipsis, 0))
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, ans, a, b):
    if np.ndim(a) == 1:
        if np.ndim(b) == 1:
            return multiply(g, a)
        return multiply(expand_dims(a, -1), expand_dims(g, -2))
    if np.ndim(b) == 1:
        return getitem(matmul(swapaxes(a, -1, -2), expand_dims(g, -1)), (Ellipsis, 0))
    return matmul(swapaxes(a, -1, -2), g)


matmul = defprim(
    "matmul", np.matmul,
    jvp=[lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t)],
    vjp=[_matmul_vjp_a, _matmul_vjp_b],
    batch="matmul",
    test={"make": lambda rng, shape: (
        (rng.standard_normal(shape[:1] + (2, 3)), rng.standard_normal((3, 2))), {}),
          "also": [
        lambda rng, shape: ((rng.standard_normal(3), rng.standard_normal((2, 3, 2))), {}),
        lambda rng, shape: ((rng.standard_normal((2, 3)), rng.standard_normal(3)), {}),
        lambda rng, shape: ((rng.standard_normal(3), rng.standard_normal(3)), {}),
    ]},
)


def _any_tracer(*xs):
    return any(isinstance(x, Tracer) for x in xs)


def dot(a, b):
    """Dot product (``numpy.dot``): matmul for 1-D/2-D, sum-product over the
    last axis of ``a`` and second-to-last of ``b`` otherwise.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: 2 * fnp.dot(x, x))(fnp.arange(4.0))
        array([ 0.,  4.,  8., 12.])
    """
    if not _any_tracer(a, b):
        return np.dot(a, b)
    na, nb = np.ndim(concrete(a)), np.ndim(concrete(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [max(nb - 2, 0)]))


def vdot(a, b):
    """Dot product of flattened arrays, conjugating the first (``numpy.vdot``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.vdot(fnp.ones(3), fnp.arange(3.0))
        np.float64(3.0)
    """
    if not _any_tracer(a, b):
        return np.vdot(a, b)
    from .elementwise import conjugate

    return matmul(reshape(conjugate(a), (-1,)), reshape(b, (-1,)))


def inner(a, b):
    """Inner product over the last axes (``numpy.inner``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.inner(fnp.ones((2, 3)), fnp.ones(3))
        array([3., 3.])
    """
    if not _any_tracer(a, b):
        return np.inner(a, b)
    na, nb = np.ndim(concrete(a)), np.ndim(concrete(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b):
    """Outer product of two flattened vectors (``numpy.outer``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.outer(fnp.ones(2), fnp.arange(3.0)).shape
        (2, 3)
    """
    if not _any_tracer(a, b):
        return np.outer(a, b)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def tensordot(a, b, axes=2):
    """Sum products over the given axes (``numpy.tensordot``), via matmul.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.tensordot(fnp.ones((2, 3)), fnp.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    if not _any_tracer(a, b):
        return np.tensordot(a, b, axes)
    sa, sb = np.shape(concrete(a)), np.shape(concrete(b))
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(len(sa) - axes, len(sa)))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    axes_a = [ax % len(sa) for ax in axes_a]
    axes_b = [ax % len(sb) for ax in axes_b]
    free_a = [ax for ax in range(len(sa)) if ax not in axes_a]
    free_b = [ax for ax in range(len(sb)) if ax not in axes_b]
    k = int(np.prod([sa[ax] for ax in axes_a], dtype=int))
    a2 = reshape(transpose(a, free_a + axes_a), (-1, k))
    b2 = reshape(transpose(b, axes_b + free_b), (k, -1))
    out_shape = tuple(sa[ax] for ax in free_a) + tuple(sb[ax] for ax in free_b)
    return reshape(matmul(a2, b2), out_shape)


_ = _sum
