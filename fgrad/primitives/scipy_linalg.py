"""Rows of the rule table for scipy.linalg: LU (packed, no pivoting), the
Sylvester equation and the principal matrix square root.

``scipy.linalg.lu_packed`` factors a matrix whose rows are already in pivot
order (the permutation is a constant chosen from the concrete value by
:mod:`fgrad.scipy.linalg`) and returns scipy's packed form ``L - I + U``.
``scipy.linalg.solve_sylvester`` solves ``A X + X B = Q``; its rules solve the
same kind of equation again, so every order works.  ``scipy.linalg.sqrtm``
differentiates through ``X dX + dX X = dA``.  Rules use plain transposes (no
conjugation): the transpose of the real-linear map, JAX's convention.
"""

import numpy as np

from .. import shapes as _shp
from ..core import defprim
from . import elementwise as _ew
from . import products as _pr
from . import shape as _sh
from .special import scipy_module
from .special import solve_triangular_row as tri

__all__ = []


def _mT(x):
    return _sh.swapaxes(x, -1, -2)


def _mask(n, k, lower, dtype):
    m = np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), k)
    return m.astype(np.finfo(np.result_type(dtype, np.float16)).dtype)


def _leading(impl):
    """Apply a 2-D implementation over broadcast leading axes."""

    def run(*args, **params):
        args = [np.asarray(a) for a in args]
        lead = np.broadcast_shapes(*[a.shape[:-2] for a in args])
        if not lead:
            return impl(*args, **params)
        args = [np.broadcast_to(a, lead + a.shape[-2:]) for a in args]
        outs = [impl(*[a[i] for a in args], **params) for i in np.ndindex(*lead)]
        return np.stack(outs).reshape(lead + outs[0].shape)

    run.__name__ = impl.__name__
    return run


# --- LU without pivoting (rows already in pivot order) ------------------------------------


def _doolittle(a):
    a = np.array(a, dtype=np.result_type(a, np.float64) if a.dtype.kind not in "fc" else a.dtype)
    n = a.shape[0]
    for k in range(n - 1):
        a[k + 1:, k] /= a[k, k]
        a[k + 1:, k + 1:] -= np.outer(a[k + 1:, k], a[k, k + 1:])
    return a


def _lu_packed_2d(a):
    lu, piv = scipy_module("linalg").lu_factor(a)
    if np.any(piv != np.arange(len(piv))):  # a tie in the pivot search: factor as given
        return _doolittle(a)
    return lu


def _lu_parts(packed):
    n = np.shape(packed)[-1]
    low = _ew.add(_ew.multiply(packed, _mask(n, -1, True, packed.dtype)), np.eye(n))
    up = _ew.multiply(packed, _mask(n, 0, False, packed.dtype))
    return low, up


def _lu_jvp(t, ans, a):
    # F = L^-1 dA U^-1; dL = L tril_strict(F), dU = triu(F) U
    low, up = _lu_parts(ans)
    n = np.shape(ans)[-1]
    y = tri(low, t, lower=True, unit_diagonal=True)
    f = _mT(tri(up, _mT(y), trans=1, lower=False))
    dl = _pr.matmul(low, _ew.multiply(f, _mask(n, -1, True, f.dtype)))
    du = _pr.matmul(_ew.multiply(f, _mask(n, 0, False, f.dtype)), up)
    return _ew.add(dl, du)


def _lu_vjp(g, ans, a):
    low, up = _lu_parts(ans)
    n = np.shape(ans)[-1]
    gl = _ew.multiply(g, _mask(n, -1, True, g.dtype))
    gu = _ew.multiply(g, _mask(n, 0, False, g.dtype))
    x = _ew.add(_ew.multiply(_pr.matmul(_mT(low), gl), _mask(n, -1, True, g.dtype)),
                _ew.multiply(_pr.matmul(gu, _mT(up)), _mask(n, 0, False, g.dtype)))
    # gA = L^-T X U^-T
    z = tri(low, x, trans=1, lower=True, unit_diagonal=True)
    return _mT(tri(up, _mT(z), lower=False))


def _make_lu(rng, shape):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    a = rng.uniform(-1, 1, size=lead + (n, n)) + 3.0 * np.eye(n)  # diagonally dominant
    return (a,), {}


lu_packed_row = defprim(
    "scipy.linalg.lu_packed", _leading(_lu_packed_2d),
    jvp=[_lu_jvp], vjp=[_lu_vjp],
    batch="leading",
    test={"make": _make_lu, "complex": True},
    reads=("ans",),
    shape=_shp.leading(lambda a: a, _leading(_lu_packed_2d)),
)


# --- Sylvester equation A X + X B = Q --------------------------------------------------------


def _sylvester_2d(a, b, q):
    # one common dtype: scipy 1.17 returns a wrong X for complex a with a real b
    # whose real Schur form has 2x2 blocks (residual ~0.1); promoting b fixes it
    dtype = np.result_type(a, b, q, np.float64)
    return scipy_module("linalg").solve_sylvester(
        np.asarray(a, dtype), np.asarray(b, dtype), np.asarray(q, dtype))


def _syl(a, b, q):
    return solve_sylvester_row(a, b, q)


def _syl_transposed(g, a, b):
    # the transpose of Q -> X: G with A^T G + G B^T = g
    return solve_sylvester_row(_mT(a), _mT(b), g)


def _sylvester_vjp(g, ans, a, b, q, *, wrt):
    # one transposed solve serves all three cotangents
    gq = _syl_transposed(g, a, b)
    parts = {0: lambda: _ew.negative(_pr.matmul(gq, _mT(ans))),
             1: lambda: _ew.negative(_pr.matmul(_mT(ans), gq)),
             2: lambda: gq}
    return tuple(parts[i]() for i in wrt)


solve_sylvester_row = defprim(
    "scipy.linalg.solve_sylvester", _leading(_sylvester_2d),
    jvp=[
        lambda t, ans, a, b, q: _syl(a, b, _ew.negative(_pr.matmul(t, ans))),
        lambda t, ans, a, b, q: _syl(a, b, _ew.negative(_pr.matmul(ans, t))),
        lambda t, ans, a, b, q: _syl(a, b, t),
    ],
    vjp_joint=_sylvester_vjp,
    batch="leading",
    test={
        "make": lambda rng, shape: (
            (rng.uniform(-0.5, 0.5, (3, 3)) + 2.0 * np.eye(3),
             rng.uniform(-0.5, 0.5, (2, 2)) + np.eye(2),
             rng.standard_normal((3, 2))), {}),
        "also": [lambda rng, shape: (
            (rng.uniform(-0.5, 0.5, (2, 2, 2)) + 2.0 * np.eye(2),
             rng.uniform(-0.5, 0.5, (2, 2)) + np.eye(2),
             rng.standard_normal((2, 2, 2))), {})],
        "complex": True,
    },
    reads=[("ans", 0, 1), ("ans", 0, 1), (0, 1)],
    shape=_shp.leading(lambda a, b, q: q, _leading(_sylvester_2d)),
)


# --- principal square root --------------------------------------------------------------------


def _sqrtm_2d(a):
    return scipy_module("linalg").sqrtm(a)


def _make_sqrtm(rng, shape):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    b = rng.uniform(-1, 1, size=lead + (n, n))
    # eigenvalues near 1..2: far from the negative real axis, X + X well separated
    return (np.eye(n) + 0.3 * b + 0.5 * np.eye(n),), {}


def _sqrtm_shape(a):
    if _shp.dtype(a).kind == "c":
        return _shp.shape(a), _shp.dtype(a)
    raise _shp.needs_values(
        "the dtype of scipy.linalg.sqrtm's output for a real matrix (complex when it has "
        "a negative real eigenvalue, real otherwise)",
        "Call it on data, or pass a complex matrix (then the result is complex).")


sqrtm_row = defprim(
    "scipy.linalg.sqrtm", _leading(_sqrtm_2d),
    jvp=[lambda t, ans, a: solve_sylvester_row(ans, ans, t)],
    vjp=[lambda g, ans, a: solve_sylvester_row(_mT(ans), _mT(ans), g)],
    batch="leading",
    test={"make": _make_sqrtm, "complex": True},
    reads=("ans",),
    shape=_sqrtm_shape,
    dtype_from_values=True,  # complex when some eigenvalue is negative
)


# --- constants chosen per matrix: pivots and signs (nondifferentiable rows) --------------------
# A factorisation's pivots, and the signs that make traced factors equal scipy's, are chosen at
# the concrete value; as rows (batch "leading") they are chosen per example under vmap.


def _lu_piv_2d(a):
    return scipy_module("linalg").lu_factor(a)[1]


def _lu_perm_2d(a, inverse=False):
    piv = _lu_piv_2d(a)
    perm = np.arange(len(piv))
    for i, p in enumerate(piv):
        perm[i], perm[p] = perm[p], perm[i]
    return np.argsort(perm).astype(np.int32) if inverse else perm


def _qr_pivots_2d(a):
    return scipy_module("linalg").qr(a, mode="r", pivoting=True)[1]


def _qr_signs_2d(q, a, mode="full", pivoting=False):
    # the unit factors (a sign, a phase when complex) turning q's columns into scipy's
    ref = scipy_module("linalg").qr(a, mode="economic" if mode == "r" else mode,
                                    pivoting=pivoting)[0]
    inner = np.sum(np.conj(q) * ref, axis=-2)
    size = np.abs(inner)
    return np.where(size > 0, inner / np.where(size > 0, size, 1), 1).astype(q.dtype)


lu_piv_row = defprim("scipy.linalg.lu_piv", _leading(_lu_piv_2d), nondiff=True, batch="leading",
    shape=_shp.leading(lambda a: a[-1:], _leading(_lu_piv_2d)),
)
lu_perm_row = defprim("scipy.linalg.lu_perm", _leading(_lu_perm_2d), nondiff=True,
                      batch="leading",
    shape=_shp.leading(lambda a, inverse=False: a[-1:], _leading(_lu_perm_2d)),
)
qr_pivots_row = defprim("scipy.linalg.qr_pivots", _leading(_qr_pivots_2d), nondiff=True,
                        batch="leading",
    shape=_shp.leading(lambda a: a[-1:], _leading(_qr_pivots_2d)),
)
qr_signs_row = defprim("scipy.linalg.qr_signs", _leading(_qr_signs_2d), nondiff=True,
                       batch="leading",
    shape=_shp.leading(lambda q, a, **params: q[-1:], _leading(_qr_signs_2d)),
)


def _piv_perm_impl(piv, inverse=False):
    """LAPACK's row interchanges ``piv`` (last axis) as the permutation they make, or its
    inverse: ``b[perm]`` is ``P^T b`` for ``a = P L U``.  Leading axes are independent."""
    piv = np.asarray(piv)
    if piv.ndim == 0:
        raise ValueError("lu_solve: piv must be a vector of row interchanges, got a scalar")
    flat = piv.reshape(-1, piv.shape[-1])
    out = np.empty(flat.shape, np.intp)
    for row, p in zip(out, flat):
        perm = np.arange(len(p))
        for i, j in enumerate(p):
            perm[i], perm[j] = perm[j], perm[i]
        row[:] = np.argsort(perm) if inverse else perm
    return out.reshape(piv.shape)


def _piv_perm_batch(args, dims, inverse=False):
    (piv,), (d,) = args, dims
    return piv_perm_row(_sh.moveaxis(piv, d, 0), inverse=inverse), 0


# pivots given as data (plain, or batched by vmap) turned into a permutation, per example
piv_perm_row = defprim("scipy.linalg.piv_perm", _piv_perm_impl, nondiff=True,
                       batch=_piv_perm_batch,
    shape=lambda piv, inverse=False: (_shp.shape(piv), np.dtype(np.intp)),
)


# --- the numerical range of a positive semidefinite matrix, as scipy.stats decides it ----------


def _psd_part_2d(a, part="projector"):
    """scipy.stats' reading of a symmetric PSD matrix (its ``_PSD``, from the lower
    triangle): eigenvalues ``<= eps = cond * max|s|`` (``cond`` 1e6 machine epsilons in
    double, 1e3 in single precision) count as zero.  ``part`` picks the projector onto the
    eigenvectors kept, the rank, or the support tolerance ``1e3 eps``."""
    s, u = scipy_module("linalg").eigh(a, lower=True)
    t = s.dtype.char.lower()
    eps = {"f": 1e3, "d": 1e6}.get(t, 1e6) * np.finfo(s.dtype).eps * np.max(np.abs(s))
    if np.min(s) < -eps:
        raise ValueError("multivariate_normal: the covariance matrix must be symmetric positive "
                         f"semidefinite; it has the eigenvalue {np.min(s):.3g}")
    keep = s > eps
    if part == "rank":
        return np.asarray(keep.sum(), dtype=s.dtype)
    if part == "tol":
        return np.asarray(1e3 * eps, dtype=s.dtype)
    return (u[:, keep] * 1.0) @ u[:, keep].conj().T


# constants chosen per matrix (per example under vmap), like the pivots above
psd_part_row = defprim("scipy.stats.psd_part", _leading(_psd_part_2d), nondiff=True,
                       batch="leading",
    shape=_shp.leading(lambda a, part="projector": a if part == "projector" else (),
                       _leading(_psd_part_2d)),
)
