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

from ..core import any_tracer, concrete
from ..primitives import special as _rows

__all__ = [
    "solve_triangular", "cholesky", "cho_factor", "cho_solve", "expm", "expm_frechet",
    "solve", "inv", "det", "block_diag",
]


_traced = any_tracer


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


def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """Fréchet derivative of expm at ``A`` in direction ``E`` (``scipy.linalg.expm_frechet``).

    Returns ``(expm(A), L(A, E))``, or only ``L`` when ``compute_expm`` is False;
    differentiable in both ``A`` and ``E`` (to any order).

    Example:
        >>> import fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import expm_frechet
        >>> expm_frechet(fnp.zeros((2, 2)), fnp.eye(2), compute_expm=False)
        array([[1., 0.],
               [0., 1.]])
    """
    if not _traced(A, E):
        return _rows.scipy_module("linalg").expm_frechet(
            A, E, method=method, compute_expm=compute_expm, check_finite=check_finite)
    L = _rows._expm_frechet(A, E)
    return (_rows.expm_row(A), L) if compute_expm else L


_GENERAL = (None, "gen", "general")
_SYMMETRIC = ("sym", "her", "pos", "positive definite")


def _as_read(a, assume_a, lower):
    """The matrix scipy actually uses: one triangle mirrored for symmetric kinds."""
    from .. import numpy as fnp

    n = np.shape(concrete(a))[-1]
    keep = np.tril(np.ones((n, n)), -1) if lower else np.triu(np.ones((n, n)), 1)
    part = fnp.multiply(a, keep)
    other = fnp.swapaxes(part, -1, -2)
    if assume_a in ("her", "pos", "positive definite"):
        other = fnp.conjugate(other)
    diag = fnp.multiply(a, np.eye(n))
    if assume_a in ("her", "pos", "positive definite"):
        diag = fnp.real(diag) if np.result_type(concrete(a)).kind == "c" else diag
    return fnp.add(fnp.add(part, other), diag)


def _unsupported_kind(name, assume_a):
    return NotImplementedError(
        f"fgrad.scipy.linalg.{name}: assume_a={assume_a!r} is not implemented for traced "
        f"values; use one of {list(_GENERAL[1:] + _SYMMETRIC)} or 'lower triangular'/'upper "
        "triangular'."
    )


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """Solve ``a x = b`` (``scipy.linalg.solve``), differentiable in ``a`` and ``b``.

    With ``assume_a`` symmetric/Hermitian/positive definite only the triangle named
    by ``lower`` is read (as scipy does), so the derivative is taken with respect
    to that triangle; triangular kinds use :func:`solve_triangular`.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solve
        >>> A = fnp.array([[2.0, 0.0], [0.0, 4.0]])
        >>> fgrad.grad(lambda b: solve(A, b).sum())(fnp.ones(2))
        array([0.5 , 0.25])
    """
    if not _traced(a, b):
        kwargs = dict(lower=lower, overwrite_a=overwrite_a, overwrite_b=overwrite_b,
                      check_finite=check_finite, transposed=transposed)
        if assume_a is not None:
            kwargs["assume_a"] = assume_a
        return _rows.scipy_module("linalg").solve(a, b, **kwargs)
    from .. import numpy as fnp

    if assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, b, trans=1 if transposed else 0,
                                lower=assume_a.startswith("lower"))
    if assume_a in _SYMMETRIC:
        a = _as_read(a, assume_a, lower)
    elif assume_a not in _GENERAL:
        raise _unsupported_kind("solve", assume_a)
    if transposed:
        a = fnp.swapaxes(a, -1, -2)
    return fnp.linalg.solve(a, b)


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """Matrix inverse (``scipy.linalg.inv``); ``assume_a`` as in :func:`solve`.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import inv
        >>> float(fgrad.grad(lambda s: inv(s * fnp.eye(2))[0, 0])(2.0))
        -0.25
    """
    if not _traced(a):
        kwargs = {} if assume_a is None and not lower else {"assume_a": assume_a, "lower": lower}
        return _rows.scipy_module("linalg").inv(
            a, overwrite_a=overwrite_a, check_finite=check_finite, **kwargs)
    from .. import numpy as fnp

    n = np.shape(concrete(a))[-1]
    if assume_a in ("lower triangular", "upper triangular"):
        return solve_triangular(a, np.eye(n), lower=assume_a.startswith("lower"))
    if assume_a in _SYMMETRIC:
        a = _as_read(a, assume_a, lower)
    elif assume_a not in _GENERAL:
        raise _unsupported_kind("inv", assume_a)
    return fnp.linalg.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """Determinant (``scipy.linalg.det``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import det
        >>> fgrad.grad(det)(fnp.array([[2.0, 1.0], [1.0, 3.0]]))  # det(A) inv(A).T
        array([[ 3., -1.],
               [-1.,  2.]])
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").det(a, overwrite_a=overwrite_a,
                                                check_finite=check_finite)
    from .. import numpy as fnp

    return fnp.linalg.det(a)


def block_diag(*arrs):
    """Block-diagonal matrix from the given blocks (``scipy.linalg.block_diag``).

    Scalars are 1x1 blocks and 1-D arrays are single rows, as in scipy.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import block_diag
        >>> fgrad.grad(lambda x: (block_diag(x, 2.0 * x) ** 2).sum())(fnp.ones(2))
        array([10., 10.])
    """
    if not _traced(*arrs):
        return _rows.scipy_module("linalg").block_diag(*arrs)
    from .. import numpy as fnp

    blocks = []
    for x in arrs:
        shape = np.shape(concrete(x))
        if len(shape) > 2:
            raise ValueError(
                f"arguments in the following positions have dimension greater than 2: {shape}")
        blocks.append(fnp.reshape(x, (1,) * (2 - len(shape)) + tuple(shape)))
    dtype = np.result_type(*[np.result_type(concrete(x)) for x in arrs])
    widths = [np.shape(concrete(x))[1] for x in blocks]
    total = sum(widths)
    rows, col = [], 0
    for x, w in zip(blocks, widths):
        h = np.shape(concrete(x))[0]
        parts = [fnp.astype(x, dtype)]
        if col:
            parts.insert(0, np.zeros((h, col), dtype))
        if total - col - w:
            parts.append(np.zeros((h, total - col - w), dtype))
        rows.append(fnp.concatenate(parts, axis=1) if len(parts) > 1 else parts[0])
        col += w
    return fnp.concatenate(rows, axis=0)
