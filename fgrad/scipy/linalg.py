"""fgrad.scipy.linalg: differentiable counterparts of scipy.linalg functions.

``solve_triangular``, ``cholesky`` and ``expm`` are rows of the rule table
(forward and reverse rules, any order); ``cho_factor`` and ``cho_solve`` are
written with them.  Functions that read only one triangle of a matrix
(``solve_triangular``, ``cholesky``, ``cho_solve``) have derivatives only with
respect to that triangle: the other one does not influence the result.  On
plain inputs each function returns scipy's own result.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad.scipy.linalg import expm
    >>> round(float(fgrad.grad(lambda t: expm(t * fnp.eye(2))[0, 0])(1.0)), 6)  # d/dt e^t
    2.718282
"""

import numpy as np

from ..core import Tracer, concrete
from ..primitives import special as _rows

__all__ = ["solve_triangular", "cholesky", "cho_factor", "cho_solve", "expm"]


def _traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


def _trans_code(trans):
    codes = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}
    if trans not in codes:
        raise ValueError(f"trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    return codes[trans]


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """Solve ``op(a) x = b`` for triangular ``a`` (``scipy.linalg.solve_triangular``).

    ``trans`` is 0 (``a``), 1 (``a.T``) or 2 (``a.conj().T``).  Only the triangle
    of ``a`` named by ``lower`` is read (and not its diagonal when
    ``unit_diagonal``), so the derivative with respect to the rest is zero.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solve_triangular
        >>> L = fnp.array([[2.0, 0.0], [1.0, 1.0]])
        >>> fgrad.grad(lambda b: solve_triangular(L, b, lower=True).sum())(fnp.ones(2))
        array([0., 1.])
    """
    if not _traced(a, b):
        return _rows.scipy_module("linalg").solve_triangular(
            a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
            overwrite_b=overwrite_b, check_finite=check_finite)
    return _rows.solve_triangular_row(
        a, b, trans=_trans_code(trans), lower=bool(lower), unit_diagonal=bool(unit_diagonal))


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """Cholesky factor of a symmetric positive-definite matrix (``scipy.linalg.cholesky``).

    Returns upper-triangular ``U`` with ``a = U.T @ U`` (or lower ``L`` with
    ``a = L @ L.T`` when ``lower``).  Only that triangle of ``a`` is read, so the
    derivative is taken with respect to it: a perturbation of the other
    triangle changes nothing.  Real matrices (also stacked, ``(..., n, n)``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import cholesky
        >>> float(fgrad.grad(lambda s: cholesky(s * fnp.eye(2))[0, 0])(4.0))  # d sqrt(s)
        0.25
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").cholesky(
            a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    return _rows.cholesky_row(a, lower=bool(lower))


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """Cholesky factorisation for :func:`cho_solve` (``scipy.linalg.cho_factor``).

    Returns ``(c, lower)``.  As in scipy, only one triangle of ``c`` holds the
    factor; on traced inputs the other triangle is zero (scipy leaves arbitrary
    values there).

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import cho_factor, cho_solve
        >>> A = fnp.array([[4.0, 2.0], [2.0, 3.0]])
        >>> cho_solve(cho_factor(A), fnp.array([6.0, 5.0]))
        array([1., 1.])
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").cho_factor(
            a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite)
    return _rows.cholesky_row(a, lower=bool(lower)), bool(lower)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` given ``cho_factor(a)`` (``scipy.linalg.cho_solve``).

    Differentiable in the factor (its triangle) and in ``b``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import cho_factor, cho_solve
        >>> A = fnp.array([[4.0, 2.0], [2.0, 3.0]])
        >>> fgrad.grad(lambda b: cho_solve(cho_factor(A), b).sum())(fnp.ones(2))
        array([0.125, 0.25 ])
    """
    c, lower = c_and_lower
    if not _traced(c, b):
        return _rows.scipy_module("linalg").cho_solve(
            (c, lower), b, overwrite_b=overwrite_b, check_finite=check_finite)
    herm = 2 if np.result_type(concrete(c)).kind == "c" else 1
    if lower:  # a = L L^H
        y = _rows.solve_triangular_row(c, b, lower=True)
        return _rows.solve_triangular_row(c, y, trans=herm, lower=True)
    y = _rows.solve_triangular_row(c, b, trans=herm, lower=False)  # a = U^H U
    return _rows.solve_triangular_row(c, y, lower=False)


def expm(A):
    """Matrix exponential (``scipy.linalg.expm``), also of stacks ``(..., n, n)``.

    The derivative is the Fréchet derivative ``L(A, E)``, read off the
    exponential of the block matrix ``[[A, E], [0, A]]``; reverse mode uses
    ``L(A.T, G)``.  Both are written with expm itself, so every order works.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import expm
        >>> N = fnp.array([[0.0, 1.0], [0.0, 0.0]])
        >>> fgrad.jvp(expm, (fnp.zeros((2, 2)),), (N,))[1]
        array([[0., 1.],
               [0., 0.]])
    """
    return _rows.expm_row(A)
