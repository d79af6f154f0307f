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

import warnings

import numpy as np

from .. import numpy as fnp
from ..core import any_tracer, concrete
from ..primitives import scipy_linalg as _more
from ..primitives import special as _rows

__all__ = [
    "solve_triangular", "cholesky", "cho_factor", "cho_solve", "expm", "expm_frechet",
    "solve", "inv", "det", "block_diag", "eigh", "qr", "svd", "polar", "toeplitz",
    "lu_factor", "lu_solve", "lu", "solve_sylvester", "solve_continuous_lyapunov", "sqrtm",
    "solve_banded", "solveh_banded",
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

    Differentiable in ``a`` (through the factor ``c``; only its triangle named by ``lower``
    is read); the flags are constants.

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

    Differentiable in ``a`` (``-inv(a) da inv(a)``); the flags are constants.

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

    Differentiable in ``a``: the derivative is the cofactor matrix (``det(a) inv(a).T``
    where ``a`` is invertible), also at singular ``a``; the flags are constants.

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
    return fnp.linalg.det(a)


def block_diag(*arrs):
    """Block-diagonal matrix from the given blocks (``scipy.linalg.block_diag``).

    Scalars are 1x1 blocks and 1-D arrays are single rows, as in scipy.

    Differentiable in every block (a linear map that places entries).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import block_diag
        >>> fgrad.grad(lambda x: (block_diag(x, 2.0 * x) ** 2).sum())(fnp.ones(2))
        array([10., 10.])
    """
    if not _traced(*arrs):
        return _rows.scipy_module("linalg").block_diag(*arrs)
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


# --- decompositions with scipy's signatures ---------------------------------------------------


def _align(x, ref, axis=-2):
    """The constant unit factors that turn the columns (``axis=-2``: vectors are
    columns) of traced ``x`` into scipy's ``ref``: both are valid, they may differ
    by a sign (a phase when complex), which is a gauge choice, not a derivative."""
    xv = np.asarray(concrete(x))
    inner = np.sum(np.conj(xv) * np.asarray(ref), axis=axis)
    size = np.abs(inner)
    return np.where(size > 0, inner / np.where(size > 0, size, 1), 1).astype(xv.dtype)


def _refuse(name, option, value, fix):
    return NotImplementedError(
        f"fgrad.scipy.linalg.{name}: {option}={value!r} is not supported on traced values; {fix}")


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """Eigenvalues and eigenvectors of a Hermitian (or generalised) problem (``scipy.linalg.eigh``).

    With ``b`` the problem ``a v = w b v`` is reduced with the Cholesky factor of
    ``b`` (``b = L L^T``, ``C = L^-1 a L^-T``, ``v = L^-T eigvecs(C)``), so it is
    differentiable in ``a`` and ``b`` (real ``b``).  Only the triangle named by
    ``lower`` is read.  Eigenvectors take scipy's signs; their derivatives need
    distinct eigenvalues.  ``subset_by_index`` is supported, ``type`` other
    than 1 and ``subset_by_value`` are not on traced values.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import eigh
        >>> A = fnp.array([[2.0, 1.0], [1.0, 2.0]])
        >>> eigh(A, eigvals_only=True)
        array([1., 3.])
        >>> fgrad.grad(lambda A: eigh(A, eigvals_only=True)[-1])(A)
        array([[0.5, 0. ],
               [1. , 0.5]])
    """
    params = dict(lower=lower, eigvals_only=eigvals_only, type=type,
                  subset_by_index=subset_by_index, subset_by_value=subset_by_value,
                  driver=driver)
    sl = _rows.scipy_module("linalg")
    if not _traced(a, b):
        return sl.eigh(a, b, overwrite_a=overwrite_a, overwrite_b=overwrite_b,
                       check_finite=check_finite, **params)
    if type != 1:
        raise _refuse("eigh", "type", type, "use type=1 (a v = w b v) or reduce the problem first")
    if subset_by_value is not None:
        raise _refuse("eigh", "subset_by_value", subset_by_value,
                      "use subset_by_index, or select eigenvalues after the call")
    uplo = "L" if lower else "U"
    if b is None:
        w, v = fnp.linalg.eigh(a, UPLO=uplo)
        low = None
    else:
        low = _rows.cholesky_row(b, lower=True) if lower else fnp.swapaxes(
            _rows.cholesky_row(b, lower=False), -1, -2)
        full = _as_read(a, "sym" if np.result_type(concrete(a)).kind != "c" else "her", lower)
        y = _rows.solve_triangular_row(low, full, lower=True)
        c = fnp.swapaxes(_rows.solve_triangular_row(low, fnp.swapaxes(y, -1, -2), lower=True),
                         -1, -2)
        w, v = fnp.linalg.eigh(c)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        w, v = w[..., lo:hi + 1], v[..., lo:hi + 1]
    if eigvals_only:
        return w
    if low is not None:
        v = _rows.solve_triangular_row(low, v, trans=1, lower=True)
    ref = sl.eigh(concrete(a), None if b is None else concrete(b), **params)[1]
    return w, fnp.multiply(v, _align(v, ref)[..., None, :])


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """QR decomposition (``scipy.linalg.qr``): modes 'full', 'economic', 'r'; ``pivoting``.

    On traced values the factors take scipy's signs and are differentiable where
    they are unique (full column rank; ``mode='full'`` of a tall matrix is not
    unique and raises).  With ``pivoting`` the column permutation is a constant
    chosen at the current value.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import qr
        >>> a = fnp.array([[3.0], [4.0]])
        >>> qr(a, mode="economic")[1]
        array([[-5.]])
        >>> fgrad.grad(lambda a: qr(a, mode="economic")[1][0, 0])(a)
        array([[-0.6],
               [-0.8]])
    """
    sl = _rows.scipy_module("linalg")
    if not _traced(a):
        # `lwork` only when given: scipy 1.18 deprecates it (and warns even for None)
        extra = {} if lwork is None else {"lwork": lwork}
        return sl.qr(a, overwrite_a=overwrite_a, mode=mode, pivoting=pivoting,
                     check_finite=check_finite, **extra)
    if mode not in ("full", "economic", "r"):
        raise _refuse("qr", "mode", mode, "use 'full', 'economic' or 'r'")
    m, n = np.shape(concrete(a))[-2:]
    original = a
    perm = None
    if pivoting:  # the column pivots, chosen per matrix (per example under vmap) by a row
        perm = _more.qr_pivots_row(a)
        a = fnp.take_along_axis(a, fnp.broadcast_to(perm[..., None, :], (m, n)), axis=-1)
    if mode == "r" and m > n:  # scipy's R is m x n: zero rows below the n x n block
        q, r = fnp.linalg.qr(a, mode="reduced")
        zeros = np.zeros(np.shape(concrete(r))[:-2] + (m - n, n), np.result_type(concrete(r)))
        r = fnp.concatenate([r, zeros], axis=-2)
    else:
        q, r = fnp.linalg.qr(a, mode="complete" if mode == "full" else "reduced")
    k = min(m, n)
    # the unit factors turning the columns of q into scipy's (a row, as the pivots are);
    # the columns of a square-complete Q beyond k are aligned too
    d = _more.qr_signs_row(q, original, mode=mode, pivoting=pivoting)
    q = fnp.multiply(q, d[..., None, :])
    rows = np.shape(concrete(r))[-2]
    if rows > k:
        extra = np.ones(rows - k, np.result_type(concrete(q)))
        d = fnp.concatenate([d[..., :k], fnp.broadcast_to(extra, np.shape(d)[:-1] + (rows - k,))],
                            axis=-1)
    else:
        d = d[..., :rows]
    r = fnp.multiply(r, fnp.conjugate(d)[..., :, None])
    out = (r,) if mode == "r" else (q, r)
    return out + (perm,) if pivoting else out


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """Singular value decomposition (``scipy.linalg.svd``).

    Traced values go through ``fgrad.numpy.linalg.svd`` (the same rules, so the
    same limits: ``full_matrices=True`` of a non-square matrix raises, singular
    vectors need distinct singular values); the vectors take scipy's signs.

    Differentiable in ``a`` where its singular values are distinct (and, for the vectors,
    nonzero); the flags are constants.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import svd
        >>> a = fnp.array([[3.0, 0.0], [0.0, -1.0]])
        >>> svd(a, compute_uv=False)
        array([3., 1.])
        >>> fgrad.grad(lambda a: svd(a, compute_uv=False)[1])(a)
        array([[ 0.,  0.],
               [ 0., -1.]])
    """
    sl = _rows.scipy_module("linalg")
    if not _traced(a):
        return sl.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                      overwrite_a=overwrite_a, check_finite=check_finite,
                      lapack_driver=lapack_driver)
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f'lapack_driver must be "gesdd" or "gesvd", not "{lapack_driver}"')
    if not compute_uv:
        return fnp.linalg.svd(a, compute_uv=False)
    u, s, vh = fnp.linalg.svd(a, full_matrices=full_matrices)
    ref_u = sl.svd(concrete(a), full_matrices=full_matrices, lapack_driver=lapack_driver)[0]
    d = _align(u, ref_u)
    return fnp.multiply(u, d[..., None, :]), s, fnp.multiply(vh, np.conj(d)[..., :, None])


def polar(a, side="right"):
    """Polar decomposition (``scipy.linalg.polar``): ``a = u p`` (right) or ``p u`` (left).

    Written with the thin SVD ``a = U S V^H``: ``u = U V^H`` and ``p = V S V^H``
    (right) or ``U S U^H`` (left).  Gauge-free, so only singular values need to
    be distinct for the derivative (and nonzero for ``u``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import polar
        >>> polar(fnp.array([[0.0, -2.0], [3.0, 0.0]]))[1]
        array([[3., 0.],
               [0., 2.]])
        >>> float(fgrad.grad(lambda s: polar(fnp.diag(fnp.stack([s, 1.0])))[1][0, 0])(-2.0))
        -1.0
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").polar(a, side=side)
    if side not in ("right", "left"):
        raise ValueError("`side` must be either 'right' or 'left'")
    if len(np.shape(concrete(a))) != 2:
        raise ValueError("`a` must be a 2-D array.")
    u, s, vh = fnp.linalg.svd(a, full_matrices=False)
    unitary = fnp.matmul(u, vh)
    w = vh if side == "right" else fnp.conjugate(fnp.swapaxes(u, -1, -2))
    p = fnp.matmul(fnp.conjugate(fnp.swapaxes(w, -1, -2)), fnp.multiply(s[..., :, None], w))
    return unitary, p


_BATCHES = []


def _toeplitz_batches():
    """Does the installed scipy treat arrays with more axes as batches (>= 1.17) or ravel them?"""
    if not _BATCHES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = _rows.scipy_module("linalg").toeplitz(np.zeros((2, 1)))
        _BATCHES.append(probe.ndim == 3)
    return _BATCHES[0]


def toeplitz(c, r=None):
    """Toeplitz matrix with first column ``c`` and first row ``r`` (``scipy.linalg.toeplitz``).

    ``r`` defaults to ``conjugate(c)``; ``r[0]`` is ignored (the diagonal is
    ``c[0]``).  Arrays with more than one axis are batches of vectors along the
    last axis, as in scipy 1.17 (with an older scipy they are raveled, as that
    scipy does, with a FutureWarning).  A gather, differentiable in ``c`` and ``r``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import toeplitz
        >>> toeplitz(fnp.array([1.0, 2.0, 3.0]), fnp.array([1.0, 4.0]))
        array([[1., 4.],
               [2., 1.],
               [3., 2.]])
        >>> fgrad.grad(lambda c: toeplitz(c).sum())(fnp.array([1.0, 2.0, 3.0]))
        array([3., 4., 2.])
    """
    if not _traced(c, r):
        return _rows.scipy_module("linalg").toeplitz(c, r)
    if max(np.ndim(c), np.ndim(c if r is None else r)) > 1 and not _toeplitz_batches():
        warnings.warn("fgrad.scipy.linalg.toeplitz: the installed scipy (< 1.17) ravels arrays "
                      "with more than one axis, and so does fgrad with it; scipy >= 1.17 treats "
                      "them as batches. Ravel the arguments yourself to keep this behaviour.",
                      FutureWarning, stacklevel=2)
        c, r = fnp.ravel(c), None if r is None else fnp.ravel(r)
    r = fnp.conjugate(c) if r is None else r
    c = fnp.reshape(c, (1,)) if np.ndim(concrete(c)) == 0 else c
    r = fnp.reshape(r, (1,)) if np.ndim(concrete(r)) == 0 else r
    m, n = np.shape(concrete(c))[-1], np.shape(concrete(r))[-1]
    vals = fnp.concatenate([fnp.flip(c, axis=-1), r[..., 1:]], axis=-1)
    idx = (m - 1) - np.arange(m)[:, None] + np.arange(n)[None, :]
    return vals[..., idx]


# --- LU ---------------------------------------------------------------------------------------


def _traced_lu(a, name):
    """(packed factors of the rows of ``a`` in pivot order, LAPACK's piv, perm)."""
    shape = np.shape(concrete(a))
    if len(shape) != 2 or shape[0] != shape[1]:
        raise NotImplementedError(
            f"fgrad.scipy.linalg.{name} differentiates square 2-D matrices only, got shape "
            f"{shape}; loop over a stack, or pad a rectangular matrix to a square one.")
    # the pivots are constants chosen at the value, by rows: per example under vmap
    piv, perm = _more.lu_piv_row(a), _more.lu_perm_row(a)
    return _more.lu_packed_row(_take_rows(a, perm)), piv, perm


def _take_rows(x, perm):
    """``x[perm]`` for a square ``x``, also when ``perm`` is batched by vmap."""
    n = np.shape(concrete(x))[-1]
    return fnp.take_along_axis(x, fnp.broadcast_to(perm[:, None], (n, n)), axis=0)


def lu_factor(a, overwrite_a=False, check_finite=True):
    """LU factorisation with partial pivoting for :func:`lu_solve` (``scipy.linalg.lu_factor``).

    Returns ``(lu, piv)``: ``L - I + U`` packed, and LAPACK's row interchanges.
    On traced (square) matrices ``lu`` is differentiable; the pivots are
    constants chosen at the current value.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import lu_factor
        >>> a = fnp.array([[1.0, 2.0], [4.0, 3.0]])
        >>> lu_factor(a)[1]
        array([1, 1], dtype=int32)
        >>> fgrad.grad(lambda a: lu_factor(a)[0][1, 1])(a)  # U[1,1] = a01 - a00 a11 / a10
        array([[-0.75  ,  1.    ],
               [ 0.1875, -0.25  ]])
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").lu_factor(a, overwrite_a=overwrite_a,
                                                      check_finite=check_finite)
    packed, piv, _ = _traced_lu(a, "lu_factor")
    return packed, piv


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve ``op(a) x = b`` given ``lu_factor(a)`` (``scipy.linalg.lu_solve``).

    Written with :func:`solve_triangular` on the factors, so it is
    differentiable in ``lu`` (its two triangles) and in ``b``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import lu_factor, lu_solve
        >>> a = fnp.array([[1.0, 2.0], [4.0, 3.0]])
        >>> lu_solve(lu_factor(a), fnp.array([3.0, 7.0]))
        array([1., 1.])
        >>> fgrad.grad(lambda b: lu_solve(lu_factor(a), b).sum())(fnp.ones(2))
        array([0.2, 0.2])
    """
    lu_, piv = lu_and_piv
    if not _traced(lu_, b):
        return _rows.scipy_module("linalg").lu_solve(
            (lu_, piv), b, trans=trans, overwrite_b=overwrite_b, check_finite=check_finite)
    code = _trans_code(trans)
    if np.ndim(concrete(piv)) != 1:
        raise ValueError(f"lu_solve: piv must be a vector of row interchanges (lu_factor's "
                         f"second output), got shape {np.shape(concrete(piv))}")
    # the permutation is computed from piv by a row, so pivots batched by vmap work too
    if code == 0:  # P L U x = b: x = U^-1 L^-1 b[perm]
        y = _rows.solve_triangular_row(lu_, _permute_rows(b, _more.piv_perm_row(piv)),
                                       lower=True, unit_diagonal=True)
        return _rows.solve_triangular_row(lu_, y, lower=False)
    # op(a) = U^op L^op P^T: x = P L^-op U^-op b
    y = _rows.solve_triangular_row(lu_, b, trans=code, lower=False)
    y = _rows.solve_triangular_row(lu_, y, trans=code, lower=True, unit_diagonal=True)
    return _permute_rows(y, _more.piv_perm_row(piv, inverse=True))


def _permute_rows(x, perm):
    """``x[perm]`` along the first axis, also when ``perm`` is batched by vmap."""
    shape = np.shape(concrete(x))
    if not shape or shape[0] != np.shape(concrete(perm))[-1]:
        raise ValueError(f"lu_solve: b must have {np.shape(concrete(perm))[-1]} rows, as the "
                         f"factored matrix, got shape {shape}")
    idx = fnp.reshape(perm, (shape[0],) + (1,) * (len(shape) - 1))
    return fnp.take_along_axis(x, fnp.broadcast_to(idx, shape), axis=0)


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """LU decomposition ``a = p l u`` (``scipy.linalg.lu``), with ``permute_l`` and ``p_indices``.

    Returns ``(p, l, u)``, or ``(p @ l, u)`` with ``permute_l``; with
    ``p_indices`` ``p`` is a vector of row indices (``a = l[p] @ u``).  On traced
    (square) matrices ``l`` and ``u`` are differentiable:
    ``dL = L tril_strict(L^-1 P^T dA U^-1)``, ``dU = triu(L^-1 P^T dA U^-1) U``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import lu
        >>> a = fnp.array([[1.0, 2.0], [4.0, 3.0]])
        >>> lu(a, p_indices=True)[0]
        array([1, 0], dtype=int32)
        >>> fgrad.grad(lambda a: lu(a)[1][1, 0])(a)  # L[1,0] = a00 / a10
        array([[ 0.25  ,  0.    ],
               [-0.0625,  0.    ]])
    """
    if not _traced(a):
        return _rows.scipy_module("linalg").lu(a, permute_l=permute_l, overwrite_a=overwrite_a,
                                               check_finite=check_finite, p_indices=p_indices)
    packed, _, perm = _traced_lu(a, "lu")
    low, up = _more._lu_parts(packed)
    inv_perm = _more.lu_perm_row(a, inverse=True)
    if permute_l:
        return _take_rows(low, inv_perm), up
    if p_indices:
        return inv_perm, low, up
    n = np.shape(concrete(a))[-1]
    dtype = np.result_type(concrete(a))
    # p[i, j] = 1 where perm[j] == i
    p = fnp.equal(perm[None, :], np.arange(n)[:, None])
    return fnp.astype(p, np.finfo(dtype).dtype if dtype.kind in "fc" else np.float64), low, up


# --- matrix equations and functions -----------------------------------------------------------


def solve_sylvester(a, b, q):
    """Solve the Sylvester equation ``a x + x b = q`` (``scipy.linalg.solve_sylvester``).

    A row of the table: ``dx`` solves ``a dx + dx b = dq - da x - x db``, and the
    cotangent of ``q`` solves ``a^T g + g b^T = gx``; differentiable in all three
    (to any order, also complex and stacked).  The three matrices are promoted
    to one dtype first: scipy 1.17 alone returns a wrong ``x`` for a complex
    ``a`` and a real ``b`` with complex eigenvalues.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solve_sylvester
        >>> solve_sylvester(fnp.array([[1.0]]), fnp.array([[2.0]]), fnp.array([[6.0]]))
        array([[2.]])
        >>> float(fgrad.grad(lambda s: solve_sylvester(s * fnp.eye(1), fnp.eye(1),
        ...                                            fnp.eye(1))[0, 0])(1.0))  # -1/(s+1)^2
        -0.25
    """
    if not _traced(a, b, q):
        return _more._sylvester_2d(a, b, q) if np.ndim(a) == np.ndim(b) == 2 else \
            _rows.scipy_module("linalg").solve_sylvester(a, b, q)
    return _more.solve_sylvester_row(a, b, q)


def solve_continuous_lyapunov(a, q):
    """Solve ``a x + x a^H = q`` (``scipy.linalg.solve_continuous_lyapunov``).

    Written as ``solve_sylvester(a, a^H, q)``, so differentiable in ``a`` and ``q``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solve_continuous_lyapunov
        >>> solve_continuous_lyapunov(fnp.array([[1.0, 0.0], [0.0, 2.0]]), fnp.eye(2))
        array([[0.5 , 0.  ],
               [0.  , 0.25]])
        >>> float(fgrad.grad(lambda s: solve_continuous_lyapunov(s * fnp.eye(1),
        ...                                                      fnp.eye(1))[0, 0])(1.0))
        -0.5
    """
    if not _traced(a, q):
        return _rows.scipy_module("linalg").solve_continuous_lyapunov(a, q)
    return _more.solve_sylvester_row(a, fnp.conjugate(fnp.swapaxes(a, -1, -2)), q)


_NOT_GIVEN = object()


def sqrtm(A, disp=_NOT_GIVEN, blocksize=_NOT_GIVEN):
    """Principal matrix square root (``scipy.linalg.sqrtm``).

    A row of the table: ``dX`` solves ``X dX + dX X = dA`` (a Sylvester
    equation), so every order works; it needs ``X`` and ``-X`` to share no
    eigenvalue (``A`` nonsingular).  ``disp`` and ``blocksize`` (deprecated in
    scipy) are passed to scipy on plain inputs and refused on traced ones.

    Differentiable in ``A`` (the derivative solves a Sylvester equation); ``disp`` and
    ``blocksize`` are constants.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import sqrtm
        >>> sqrtm(fnp.array([[4.0, 0.0], [0.0, 9.0]]))
        array([[2., 0.],
               [0., 3.]])
        >>> float(fgrad.grad(lambda s: sqrtm(s * fnp.eye(2))[0, 0])(4.0))  # 1 / (2 sqrt(s))
        0.25
    """
    if not _traced(A):
        kwargs = {k: v for k, v in (("disp", disp), ("blocksize", blocksize))
                  if v is not _NOT_GIVEN}
        return _rows.scipy_module("linalg").sqrtm(A, **kwargs)
    for name, value in (("disp", disp), ("blocksize", blocksize)):
        if value is not _NOT_GIVEN:
            raise _refuse("sqrtm", name, value, "leave it out (scipy deprecates it)")
    return _more.sqrtm_row(A)


# --- banded systems ---------------------------------------------------------------------------


def _band_count(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"solve_banded: the number of {what} diagonals must be a plain "
                        f"non-negative integer (it is a shape, not differentiable), got {value!r}")
    if value < 0:
        raise ValueError(f"solve_banded: the number of {what} diagonals must be >= 0, got {value}")
    return int(value)


def _banded_shapes(name, ab, b, rows):
    ashape, bshape = np.shape(concrete(ab)), np.shape(concrete(b))
    if len(ashape) < 2:
        raise ValueError(f"{name}: ab must be 2-D (diagonal ordered form), got shape {ashape}")
    if ashape[-2] != rows:
        raise ValueError(f"{name}: ab has {ashape[-2]} rows but the band needs {rows}; "
                         f"see the diagonal ordered form in scipy's documentation")
    n = ashape[-1]
    if len(bshape) == 0 or bshape[-1 if len(bshape) == 1 else -2] != n:
        raise ValueError(f"{name}: shapes of ab {ashape} and b {bshape} are not compatible: "
                         f"b needs {n} rows")
    return n


def _band_to_dense(ab, offsets, conj_mirror=None):
    """The dense ``(..., n, n)`` matrix with ``A[i, j] = ab[offsets[i, j], j]`` where
    ``offsets`` is in range, 0 elsewhere: a gather, so the cotangent of ``ab`` is the
    banded part of the dense cotangent.  ``conj_mirror`` (a boolean mask) takes
    ``conj(ab[offsets[j, i], i])`` at those entries instead (the mirrored triangle)."""
    rows, n = np.shape(concrete(ab))[-2:]
    cols = np.broadcast_to(np.arange(n)[None, :], (n, n))
    inside = (offsets >= 0) & (offsets < rows)
    dense = ab[..., np.clip(offsets, 0, rows - 1), cols]
    if conj_mirror is not None:
        mirrored = fnp.conjugate(ab[..., np.clip(offsets.T, 0, rows - 1), cols.T])
        dense = fnp.where(conj_mirror, mirrored, dense)
        inside = np.where(conj_mirror, inside.T, inside)
    zero = np.zeros((), np.result_type(concrete(ab)))
    return fnp.where(inside, dense, zero)


def _solve_rhs(solve_matrix, b):
    """scipy's right-hand sides: a vector when ``b`` is 1-D, else a matrix ``(..., n, k)``."""
    if np.ndim(concrete(b)) == 1:
        return solve_matrix(fnp.reshape(b, (-1, 1)))[..., 0]
    return solve_matrix(b)


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """Solve ``a x = b`` for a banded ``a`` given in diagonal ordered form
    (``scipy.linalg.solve_banded``).

    ``ab[u + i - j, j] == a[i, j]`` for the ``l`` lower and ``u`` upper diagonals.
    On traced values the band is expanded to the dense matrix (``O(n^3)``, not
    scipy's banded ``O(n (l + u)^2)``) and solved, so the result is differentiable
    in ``ab`` (the cotangent of ``ab`` is the banded part of the dense
    cotangent ``-a^-T g x^T``; entries of ``ab`` outside the matrix get 0) and in
    ``b``, to any order and under vmap.  ``(l, u)`` are plain integers.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solve_banded
        >>> ab = fnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])  # tridiagonal
        >>> solve_banded((1, 1), ab, fnp.array([5.0, 6.0, 5.0]))
        array([1., 1., 1.])
        >>> fgrad.grad(lambda b: solve_banded((1, 1), ab, b)[0])(fnp.ones(3))
        array([ 0.26785714, -0.07142857,  0.01785714])
    """
    if not _traced(ab, b, l_and_u):
        return _rows.scipy_module("linalg").solve_banded(
            l_and_u, ab, b, overwrite_ab=overwrite_ab, overwrite_b=overwrite_b,
            check_finite=check_finite)
    try:
        low, up = l_and_u
    except (TypeError, ValueError):
        raise TypeError(f"solve_banded: l_and_u must be a pair (l, u) of integers, got "
                        f"{l_and_u!r}") from None
    low, up = _band_count(low, "lower"), _band_count(up, "upper")
    n = _banded_shapes("solve_banded", ab, b, low + up + 1)
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    dense = _band_to_dense(ab, up + i - j)
    return _solve_rhs(lambda rhs: fnp.linalg.solve(dense, rhs), b)


def solveh_banded(ab, b, overwrite_ab=False, overwrite_b=False, lower=False, check_finite=True):
    """Solve ``a x = b`` for a Hermitian positive definite banded ``a``
    (``scipy.linalg.solveh_banded``).

    ``ab`` holds one triangle: ``ab[u + i - j, j] == a[i, j]`` for ``i <= j``
    (upper form), or ``ab[i - j, j] == a[i, j]`` for ``i >= j`` (``lower=True``).
    As in LAPACK, only the real part of the diagonal is read.  On traced values
    the matrix is expanded to dense form (each stored entry fills both
    triangles) and solved through its Cholesky factor (real) or LU (complex), so
    the result is differentiable in ``ab`` (the cotangent of each stored entry
    collects both triangles' parts of the dense cotangent) and ``b``, to any
    order and under vmap.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.linalg import solveh_banded
        >>> ab = fnp.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0]])  # upper form, tridiagonal
        >>> solveh_banded(ab, fnp.array([5.0, 6.0, 5.0]))
        array([1., 1., 1.])
        >>> fgrad.grad(lambda ab: solveh_banded(ab, fnp.ones(3))[1])(ab)  # ab[0, 0]: unused
        array([[ 0.        , -0.05102041, -0.05102041],
               [ 0.01530612, -0.04081633,  0.01530612]])
    """
    if not _traced(ab, b):
        return _rows.scipy_module("linalg").solveh_banded(
            ab, b, overwrite_ab=overwrite_ab, overwrite_b=overwrite_b, lower=lower,
            check_finite=check_finite)
    rows = np.shape(concrete(ab))[-2] if np.ndim(concrete(ab)) >= 2 else 0
    n = _banded_shapes("solveh_banded", ab, b, max(rows, 1))
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    complex_ = np.result_type(concrete(ab)).kind == "c"
    if complex_:  # LAPACK reads the real part of the diagonal only
        diag_row = 0 if lower else rows - 1
        keep = np.zeros((rows, 1), bool)
        keep[diag_row] = True
        ab = fnp.where(keep, fnp.astype(fnp.real(ab), np.result_type(concrete(ab))), ab)
    if lower:  # stored: i >= j at ab[i - j, j]; above the diagonal the mirror
        dense = _band_to_dense(ab, i - j, conj_mirror=i < j)
    else:  # stored: i <= j at ab[u + i - j, j]; below the diagonal the mirror
        dense = _band_to_dense(ab, (rows - 1) + i - j, conj_mirror=i > j)
    if complex_:
        return _solve_rhs(lambda rhs: fnp.linalg.solve(dense, rhs), b)
    factor = _rows.cholesky_row(dense, lower=True)

    def by_cholesky(rhs):
        y = _rows.solve_triangular_row(factor, rhs, lower=True)
        return _rows.solve_triangular_row(factor, y, trans=1, lower=True)

    return _solve_rhs(by_cholesky, b)
