"""Rows of the rule table: linear algebra (``numpy.linalg``).

Every row has a forward (jvp) and a reverse (vjp) rule, both written with fgrad
functions, so derivatives nest to any order (forward-over-reverse Hessian-vector
products through ``cholesky`` or ``eigh`` work).  The formulas are the standard
matrix-calculus results (Giles 2008 for solve/inv/det; Murray 2016 and Seeger
et al. for Cholesky; Townsend 2016 and Wan & Zhang for the SVD; Walter &
Lehmann, Liao et al. for QR; Golub & Pereyra for the pseudo-inverse), worked
out here for complex inputs under JAX's convention: the vjp is the transpose of
the real-linear tangent map with no conjugation.  Where the literature gives an
adjoint ``A_bar`` for the Hermitian pairing ``Re tr(X^H Y)``, the JAX cotangent
is ``conj(A_bar)`` evaluated at ``conj(g)``; the rules below say which form they
use.

Functions that return several arrays (eigh, svd, qr, slogdet, eig, lstsq) are
single rows whose output *packs* the results along the last axis; the public
wrappers in ``fgrad.numpy.linalg`` unpack them with differentiable slicing.  The
packed values are bit-for-bit numpy's.

Input conventions follow numpy exactly: ``eigh``/``eigvalsh``/``cholesky`` read
one triangle only (``UPLO``/``upper``), so their derivatives with respect to the
unread triangle are zero, and the imaginary part of a Hermitian input's
diagonal is ignored, as LAPACK does.
"""

import numpy as np

from .. import shapes as _shp
from ..core import concrete, defprim, shape_of
from .elementwise import (
    absolute,
    add,
    astype,
    conjugate,
    divide,
    equal,
    imag,
    isinf,
    logical_and,
    multiply,
    negative,
    power,
    real,
    reciprocal,
    sign,
    sqrt,
    square,
    stop_gradient,
    subtract,
    where,
)
from .products import matmul
from .reductions import amax, amin, expand_reduced, prod
from .reductions import sum as _sum
from .shape import concatenate, expand_dims, getitem, moveaxis, reshape, swapaxes

__all__ = []  # the public functions live in fgrad.numpy.linalg

# ---------------------------------------------------------------------------
# helpers, all written with fgrad functions (they nest)
# ---------------------------------------------------------------------------


def _is_complex(x):
    return np.iscomplexobj(concrete(x))


def _real_dtype(x):
    return np.finfo(np.result_type(concrete(x))).dtype


def _T(x):
    return swapaxes(x, -1, -2)


def _conj(x):
    return conjugate(x) if _is_complex(x) else x


def _H(x):
    return _conj(_T(x))


def _real(x):
    return real(x) if _is_complex(x) else x


def _diag(x):
    n = min(shape_of(x)[-2:])
    idx = np.arange(n)
    return getitem(x, (Ellipsis, idx, idx))


def _diag_embed(v):
    n = shape_of(v)[-1]
    return multiply(expand_dims(v, -1), np.eye(n, dtype=_real_dtype(v)))


def _trace(x):
    return _sum(_diag(x), axis=-1)


def _tril(x, k=0):
    m, n = shape_of(x)[-2:]
    return where(np.tri(m, n, k, dtype=bool), x, 0)


def _triu(x, k=0):
    m, n = shape_of(x)[-2:]
    return where(np.tri(m, n, k - 1, dtype=bool), 0, x)


def _phi(x, lower=True):
    """One triangle with the diagonal halved (the Cholesky 'Phi' operator)."""
    strict = _tril(x, -1) if lower else _triu(x, 1)
    return add(strict, multiply(0.5, _diag_embed(_diag(x))))


def _sym(t, lower=True):
    """The Hermitian matrix numpy reads from one triangle of ``t``."""
    strict = _tril(t, -1) if lower else _triu(t, 1)
    return add(add(strict, _H(strict)), _diag_embed(_real(_diag(t))))


def _sym_transpose(z, lower=True):
    """Transpose of :func:`_sym` (also its adjoint): everything into one triangle."""
    return _phi(add(z, _H(z)), lower)


def _safe_reciprocal(x):
    zero = equal(x, 0)
    return where(zero, 0, reciprocal(where(zero, 1, x)))


def _gap_inverse(w):
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = np.eye(n, dtype=bool)
    diff = subtract(expand_dims(w, -2), expand_dims(w, -1))
    return where(eye, 0, reciprocal(where(eye, 1, diff)))


def _gap_mul(f, x):
    """``F o X`` with ``inf * 0`` taken as 0.

    At a repeated eigenvalue or singular value F is infinite; where X is exactly
    0 (the result does not use the vectors of that pair, or the direction does
    not split it) the product is 0, so values-only derivatives stay finite.
    Anywhere else the infinity is real and propagates.
    """
    out = multiply(f, x)
    return where(logical_and(isinf(f), equal(x, 0)), 0, out)


def _solve_right(x, r):
    """``x @ inv(r)`` via a solve with the transpose."""
    return _T(solve(_T(r), _T(x)))


# --- packing several outputs into one array -----------------------------------


def _pack_np(parts, lead):
    """numpy: flatten each part's core dims and join them along the last axis."""
    dtype = np.result_type(*parts)
    n = len(lead)
    # (the core size written out: -1 is ambiguous for an empty stack of matrices)
    return np.concatenate(
        [np.asarray(p, dtype=dtype).reshape(lead + (int(np.prod(np.shape(p)[n:])),))
         for p in parts], axis=-1
    )


def _pack_as(parts, cores):
    """fgrad: the traced counterpart of :func:`_pack_np`; ``cores`` are the parts' core shapes."""

    first = shape_of(parts[0])
    lead = first[: len(first) - len(cores[0])]
    dtype = np.result_type(*(concrete(p) for p in parts))
    flat = []
    for p, core in zip(parts, cores):
        # (the core size written out: -1 is ambiguous for an empty stack of matrices)
        p = reshape(p, lead + (int(np.prod(core, dtype=np.int64)),))
        flat.append(p if np.result_type(concrete(p)) == dtype else astype(p, dtype))
    return concatenate(flat, axis=-1)


def unpack(packed, cores, real_parts=()):
    """Split a packed output into its parts (differentiable slicing).

    ``cores`` are the core shapes of the parts; the parts whose index is in
    ``real_parts`` are real-valued results stored in a complex packing.
    """
    shape = shape_of(packed)
    lead = shape[:-1]
    out, start = [], 0
    for i, core in enumerate(cores):
        size = int(np.prod(core, dtype=int))
        part = reshape(getitem(packed, (Ellipsis, slice(start, start + size))), lead + tuple(core))
        if i in real_parts and _is_complex(packed):
            part = real(part)
        out.append(part)
        start += size
    return out


# ---------------------------------------------------------------------------
# solve, inv, det, slogdet
# ---------------------------------------------------------------------------


def _is_vector_rhs(ans, a):
    # numpy >= 2: b is a vector exactly when b.ndim == 1, and then ans.ndim == a.ndim - 1
    return np.ndim(concrete(ans)) == np.ndim(concrete(a)) - 1


def _solve_jvp_a(t, ans, a, b):
    x = expand_dims(ans, -1) if _is_vector_rhs(ans, a) else ans
    dx = negative(solve(a, matmul(t, x)))
    return getitem(dx, (Ellipsis, 0)) if _is_vector_rhs(ans, a) else dx


def _solve_jvp_b(t, ans, a, b):
    return solve(a, t)


def _solve_cotangent_b(g, ans, a):
    if _is_vector_rhs(ans, a):
        return getitem(solve(_T(a), expand_dims(g, -1)), (Ellipsis, 0))
    return solve(_T(a), g)


def _solve_vjp(g, ans, a, b, *, wrt):
    # one solve with a^T gives b's cotangent, and a's is built from it
    gb = _solve_cotangent_b(g, ans, a)
    return tuple(gb if i == 1 else _solve_cotangent_a(gb, ans, a) for i in wrt)


def _solve_cotangent_a(gb, ans, a):
    if _is_vector_rhs(ans, a):
        return negative(multiply(expand_dims(gb, -1), expand_dims(ans, -2)))
    return negative(matmul(gb, _T(ans)))


def _solve_batch(args, dims):
    """vmap rule: align leading (stack) dims; a vector right-hand side stays a vector."""
    a, b = args
    da, db = dims
    a_nd = np.ndim(concrete(a)) - (da is not None)
    b_nd = np.ndim(concrete(b)) - (db is not None)
    vec = b_nd == 1
    if da is not None:
        a = moveaxis(a, da, 0)
    if db is not None:
        b = moveaxis(b, db, 0)
    if vec:
        b = expand_dims(b, -1)
    lead_a, lead_b = a_nd - 2, (b_nd + 1 if vec else b_nd) - 2
    lead = max(lead_a, lead_b)
    if da is not None:
        s = shape_of(a)
        a = reshape(a, s[:1] + (1,) * (lead - lead_a) + s[1:])
    if db is not None:
        s = shape_of(b)
        b = reshape(b, s[:1] + (1,) * (lead - lead_b) + s[1:])
    out = solve(a, b)
    if vec:
        out = getitem(out, (Ellipsis, 0))
    return out, 0


def _square(rng, lead=(), n=3):
    """A well-conditioned square test matrix (random plus a multiple of I)."""
    return rng.standard_normal(lead + (n, n)) + 2.0 * n * np.eye(n)


def _make_solve(rng, shape):
    lead = tuple(shape[:1])
    a = _square(rng, lead)
    b = rng.standard_normal(lead + (3, 2))
    return (a, b), {}


# --- shape rules (fgrad.eval_shape): the output's shape from the inputs' shapes -----------


def _solve_shape(a, b):
    sa, sb = _shp.shape(a), _shp.shape(b)
    if len(sa) < 2 or sa[-1] != sa[-2]:
        raise ValueError(f"solve: a of shape {sa} is not a (stack of) square matrices")
    if len(sb) == 1:  # numpy 2: b is a vector only when it is 1-d
        out = sa[:-1]
    else:
        out = np.broadcast_shapes(sa[:-2], sb[:-2]) + sb[-2:]
    return out, _shp.dtype_on_tiny(np.linalg.solve, [a, b])


_EIG_FIX = ("Call it on data; for a symmetric (Hermitian) matrix use eigh/eigvalsh, whose "
            "eigenvalues are always real.")


def _dtype_needs_values(name, fix, core):
    """The shape rule of eig/eigvals, whose output *dtype* depends on the values for a
    real matrix: numpy's eigenvalues are real when all of them are, complex otherwise.
    A complex matrix gives a complex result of ``core(n)`` after the leading axes."""

    def rule(a):
        s = _shp.shape(a)
        if _shp.dtype(a).kind == "c":
            return s[:-2] + core(s[-1]), _shp.dtype(a)
        raise _shp.needs_values(f"the dtype of {name}'s output for a real matrix (real "
                                "when every eigenvalue is real, complex otherwise)", fix)

    return rule


def _packed_core(cores):
    return (sum(int(np.prod(c, dtype=np.int64)) for c in cores),)


def _lstsq_shape(a, b, rcond=None):
    sa, sb = _shp.shape(a), _shp.shape(b)
    out = sa[-1:] + sb[1:]
    return out, _shp.dtype_on_tiny(lambda a, b: np.linalg.lstsq(a, b, rcond=rcond)[0], [a, b])


def _norm_shape(x, ord=None, axis=None, keepdims=False):
    s = _shp.shape(x)
    axes, _ = norm_axes(len(s), ord, axis)
    return _shp.reduced(s, axes, keepdims), _shp.dtype_on_tiny(
        lambda t: _norm_impl(t, ord=ord, axis=axis, keepdims=keepdims), [x])


solve = defprim(
    "solve", np.linalg.solve,
    jvp=[_solve_jvp_a, _solve_jvp_b],
    vjp_joint=_solve_vjp,
    batch=_solve_batch,
    test={"make": _make_solve, "complex": True, "also": [
        lambda rng, shape: ((_square(rng), rng.standard_normal(3)), {}),
        lambda rng, shape: ((_square(rng, (2,)), rng.standard_normal(3)), {}),
        lambda rng, shape: ((_square(rng), rng.standard_normal((2, 3, 1))), {}),
    ]},
    reads=("ans", 0),
    shape=_solve_shape,
)


inv = defprim(
    "inv", np.linalg.inv,
    jvp=[lambda t, ans, a: negative(matmul(ans, matmul(t, ans)))],
    vjp=[lambda g, ans, a: negative(matmul(_T(ans), matmul(g, _T(ans))))],
    batch="leading",
    test={"make": lambda rng, shape: ((_square(rng, tuple(shape[:1])),), {}), "complex": True},
    reads=("ans",),
    shape=_shp.leading(lambda a: a, np.linalg.inv),
)


def _adjugate(a):
    """adj(A) = det(A) inv(A), also for singular A (through the SVD).

    With A = U S V^H: adj(A) = det(U) det(V^H) V diag(prod_{j != i} s_j) U^H.
    """
    u, s, vh = _svd_parts(a)
    k = shape_of(s)[-1]
    others = where(np.eye(k, dtype=bool), 1, expand_dims(s, -2))

    c = multiply(det(u), det(vh))
    adj_s = prod(others, axis=-1)
    m = matmul(multiply(_H(vh), expand_dims(adj_s, -2)), _H(u))
    return multiply(expand_dims(expand_dims(c, -1), -1), m)


def _det_times_inv(ans, a):
    try:
        return multiply(expand_dims(expand_dims(ans, -1), -1), inv(a))
    except np.linalg.LinAlgError:  # exactly singular: the adjugate is still defined
        return _adjugate(a)


det = defprim(
    "det", np.linalg.det,
    jvp=[lambda t, ans, a: _sum(multiply(_T(_det_times_inv(ans, a)), t), axis=(-2, -1))],
    vjp=[lambda g, ans, a: multiply(expand_dims(expand_dims(g, -1), -1),
                                    _T(_det_times_inv(ans, a)))],
    batch="leading",
    test={"make": lambda rng, shape: ((_square(rng, tuple(shape[:1])),), {}), "complex": True},
    reads=("ans", 0),
    shape=_shp.leading(lambda a: (), np.linalg.det),
)


def _slogdet_impl(a):
    s, logabs = np.linalg.slogdet(a)
    return np.stack([s, np.asarray(logabs).astype(np.result_type(s))], axis=-1)


def _slogdet_jvp(t, ans, a):
    tr = _trace(solve(a, t))
    if not _is_complex(ans):
        return concatenate([expand_dims(np.zeros_like(concrete(tr)), -1),
                            expand_dims(tr, -1)], axis=-1)
    sgn = getitem(ans, (Ellipsis, 0))
    dsign = multiply(sgn, multiply(1j, imag(tr)))

    dlog = astype(real(tr), np.result_type(concrete(ans)))
    return concatenate([expand_dims(dsign, -1), expand_dims(dlog, -1)], axis=-1)


def _slogdet_vjp(g, ans, a):
    g_log = getitem(g, (Ellipsis, 1))
    if _is_complex(ans):
        g_sign = getitem(g, (Ellipsis, 0))
        sgn = getitem(ans, (Ellipsis, 0))
        coef = add(real(g_log), multiply(1j, imag(multiply(g_sign, sgn))))
    else:
        coef = g_log
    return multiply(expand_dims(expand_dims(coef, -1), -1), _T(inv(a)))


slogdet = defprim(
    "slogdet", _slogdet_impl,
    jvp=[_slogdet_jvp], vjp=[_slogdet_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_square(rng, tuple(shape[:1])),), {}), "complex": True},
    reads=("ans", 0),
    shape=_shp.leading(lambda a: (2,), _slogdet_impl),
)

# ---------------------------------------------------------------------------
# cholesky, eigh, eigvalsh
# ---------------------------------------------------------------------------


def _cholesky_impl(a, upper=False):
    return np.linalg.cholesky(a, upper=upper)


def _cholesky_jvp(t, ans, a, upper=False):
    # A = L L^H, dL = L Phi(L^{-1} dA L^{-H}); dA is the Hermitian matrix numpy reads.
    lo = _H(ans) if upper else ans
    d_a = _sym(t, lower=not upper)
    x = solve(lo, _H(solve(lo, d_a)))
    d_l = matmul(lo, _phi(x))
    return _H(d_l) if upper else d_l


def _cholesky_vjp(g, ans, a, upper=False):
    # Hermitian adjoint: A_bar = Phi(Z + Z^H), Z = L^{-H} Phi(L^H L_bar) L^{-1}; JAX: conj.
    lo = _H(ans) if upper else ans
    lbar = _conj(_H(g) if upper else g)
    p = _phi(matmul(_H(lo), lbar))
    z = _H(solve(_H(lo), _H(solve(_H(lo), p))))
    return _conj(_sym_transpose(z, lower=not upper))


def _spd(rng, lead=(), n=3):
    b = rng.standard_normal(lead + (n, n))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def _half_garbage(rng, a, lower=True):
    """An SPD matrix with random values in the triangle numpy does not read."""
    junk = rng.standard_normal(a.shape)
    n = a.shape[-1]
    keep = np.tri(n, dtype=bool) if lower else ~np.tri(n, k=-1, dtype=bool)
    return np.where(keep, a, junk)


cholesky = defprim(
    "cholesky", _cholesky_impl,
    jvp=[_cholesky_jvp], vjp=[_cholesky_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_half_garbage(rng, _spd(rng, tuple(shape[:1]))),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_half_garbage(rng, _spd(rng), False),), {"upper": True})]},
          reads=("ans", 1),
    shape=_shp.leading(lambda a, upper=False: a, _cholesky_impl),
)


def _eigh_impl(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return _pack_np([w, v], np.shape(w)[:-1])


def eigh_size(packed):
    """n for an eigh packing of length n + n*n."""
    size = shape_of(packed)[-1]
    return int(round((np.sqrt(1 + 4 * size) - 1) / 2))


def eigh_unpack(packed):
    n = eigh_size(packed)
    return unpack(packed, [(n,), (n, n)], real_parts=(0,))


def _eigh_jvp(t, ans, a, UPLO="L"):
    w, v = eigh_unpack(ans)
    n = shape_of(w)[-1]
    x = matmul(_H(v), matmul(_sym(t, lower=UPLO == "L"), v))
    dw = _real(_diag(x))
    dv = matmul(v, _gap_mul(_gap_inverse(w), x))
    return _pack_as([dw, dv], [(n,), (n, n)])


def _eigh_vjp(g, ans, a, UPLO="L"):
    # Hermitian adjoint: Z = V (diag(w_bar) + F o (V^H V_bar)) V^H, A_bar = S*(Z); JAX: conj.
    w, v = eigh_unpack(ans)
    gw, gv = unpack(g, [(shape_of(w)[-1],), shape_of(v)[-2:]], real_parts=(0,))
    inner = add(_diag_embed(gw), _gap_mul(_gap_inverse(w), matmul(_H(v), _conj(gv))))
    z = matmul(v, matmul(inner, _H(v)))
    return _conj(_sym_transpose(z, lower=UPLO == "L"))


def _distinct_spectrum(rng, lead=(), n=3):
    """A symmetric matrix with well separated eigenvalues (gaps >= 1)."""
    q, _ = np.linalg.qr(rng.standard_normal(lead + (n, n)))
    w = np.arange(n) * 1.5 - 1.0 + rng.uniform(-0.2, 0.2, lead + (n,))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


eigh = defprim(
    "eigh", _eigh_impl,
    jvp=[_eigh_jvp], vjp=[_eigh_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_half_garbage(rng, _distinct_spectrum(rng, tuple(shape[:1]))),), {}),
          "also": [lambda rng, shape: ((_half_garbage(rng, _distinct_spectrum(rng), False),),
                                       {"UPLO": "U"})]},
                                       reads=("ans", 1),
    shape=_shp.leading(lambda a, UPLO="L": (a[-1] + a[-1] * a[-1],), _eigh_impl),
)


def _eigh_parts(a, UPLO):
    return eigh_unpack(eigh(a, UPLO=UPLO))  # what fgrad.numpy.linalg.eigh returns


def _eigvalsh_jvp(t, ans, a, UPLO="L"):
    _, v = _eigh_parts(a, UPLO)
    dh = _sym(t, lower=UPLO == "L")
    return _real(_sum(multiply(_conj(v), matmul(dh, v)), axis=-2))


def _eigvalsh_vjp(g, ans, a, UPLO="L"):
    _, v = _eigh_parts(a, UPLO)
    z = matmul(multiply(v, expand_dims(g, -2)), _H(v))
    return _conj(_sym_transpose(z, lower=UPLO == "L"))


eigvalsh = defprim(
    "eigvalsh", lambda a, UPLO="L": np.linalg.eigvalsh(a, UPLO=UPLO),
    jvp=[_eigvalsh_jvp], vjp=[_eigvalsh_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_half_garbage(rng, _distinct_spectrum(rng, tuple(shape[:1]))),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_half_garbage(rng, _distinct_spectrum(rng), False),),
                                       {"UPLO": "U"})]},
                                       reads=(0, 1),
    shape=_shp.leading(lambda a, UPLO="L": a[-1:], np.linalg.eigvalsh),
)

# ---------------------------------------------------------------------------
# svd, svdvals
# ---------------------------------------------------------------------------


def _svd_impl(a, full_matrices=False, shape=None):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return _pack_np([u, s, vh], np.shape(s)[:-1])


def svd_cores(shape, full_matrices=False):
    m, n = shape
    k = min(m, n)
    if full_matrices:
        return [(m, m), (k,), (n, n)]
    return [(m, k), (k,), (k, n)]


def svd_unpack(packed, shape, full_matrices=False):
    return unpack(packed, svd_cores(shape, full_matrices), real_parts=(1,))


def _svd_jvp(t, ans, a, full_matrices=False, shape=None):
    m, n = shape
    k = min(m, n)
    u, s, vh = svd_unpack(ans, shape, full_matrices)
    v = _H(vh)
    tv = matmul(t, v)
    p = matmul(_H(u), tv)                        # U^H dA V, k x k
    dp = _diag(p)
    ds = _real(dp)
    s_row, s_col = expand_dims(s, -2), expand_dims(s, -1)
    f = _gap_inverse(square(s))                  # 1 / (s_j^2 - s_i^2)
    ps, sp = multiply(p, s_row), multiply(s_col, p)
    om_u = _gap_mul(f, add(ps, _H(ps)))
    om_v = _gap_mul(f, add(sp, _H(sp)))
    s_inv = _safe_reciprocal(s)
    if _is_complex(p):  # the phase gauge: diag(V^H dV) = 0, the rest goes to U
        om_u = add(om_u, _diag_embed(multiply(1j, multiply(imag(dp), s_inv))))
    du = matmul(u, om_u)
    dv = matmul(v, om_v)
    if m > k:
        du = add(du, multiply(subtract(tv, matmul(u, p)), expand_dims(s_inv, -2)))
    if n > k:
        thu = matmul(_H(t), u)
        dv = add(dv, multiply(subtract(thu, matmul(v, _H(p))), expand_dims(s_inv, -2)))
    return _pack_as([du, ds, _H(dv)], svd_cores(shape))


def _svd_vjp(g, ans, a, full_matrices=False, shape=None):
    # Hermitian adjoint (Townsend 2016, complex form), then conj for JAX's convention.
    m, n = shape
    k = min(m, n)
    u, s, vh = svd_unpack(ans, shape, full_matrices)
    gu, gs, gvh = svd_unpack(g, shape, full_matrices)
    v = _H(vh)
    ubar, vbar = _conj(gu), _T(gvh)
    j, kk = matmul(_H(u), ubar), matmul(_H(v), vbar)
    f = _gap_inverse(square(s))
    fj, fk = _gap_mul(f, j), _gap_mul(f, kk)
    s_row, s_col = expand_dims(s, -2), expand_dims(s, -1)
    pbar = add(multiply(add(fj, _H(fj)), s_row), multiply(s_col, add(fk, _H(fk))))
    pbar = add(pbar, _diag_embed(gs))
    s_inv = _safe_reciprocal(s)
    if _is_complex(j):
        pbar = add(pbar, _diag_embed(multiply(1j, multiply(imag(_diag(j)), s_inv))))
    abar = matmul(u, matmul(pbar, vh))
    if m > k:
        abar = add(abar, matmul(subtract(ubar, matmul(u, j)),
                                multiply(expand_dims(s_inv, -1), vh)))
    if n > k:
        abar = add(abar, matmul(multiply(u, expand_dims(s_inv, -2)),
                                _H(subtract(vbar, matmul(v, kk)))))
    return _conj(abar)


def _distinct_singular(rng, lead=(), m=3, n=3):
    """A matrix with well separated singular values (1, 2.2, 3.4, ...)."""
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal(lead + (m, k)))
    v, _ = np.linalg.qr(rng.standard_normal(lead + (n, k)))
    s = 1.0 + 1.2 * np.arange(k) + rng.uniform(-0.1, 0.1, lead + (k,))
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def _make_svd(m, n, batch=False):

    def make(rng, shape):
        lead = tuple(shape[:1]) if batch else ()
        return (_distinct_singular(rng, lead, m, n),), {"shape": (m, n)}

    return make


svd = defprim(
    "svd", _svd_impl,
    jvp=[_svd_jvp], vjp=[_svd_vjp],
    batch="leading",
    test={"make": _make_svd(3, 3, True), "also": [_make_svd(4, 2), _make_svd(2, 4, True)]},
    reads=("ans", 1, 2),
    shape=_shp.leading(lambda a, full_matrices=False, shape=None: _packed_core(
        svd_cores(a, full_matrices)), _svd_impl),
)


def _svd_parts(a):
    # what fgrad.numpy.linalg.svd(a, full_matrices=False) returns
    shape = tuple(shape_of(a)[-2:])
    return svd_unpack(svd(a, full_matrices=False, shape=shape), shape, False)


def _svdvals_jvp(t, ans, a):
    u, _, vh = _svd_parts(a)
    return _real(_sum(multiply(_conj(u), matmul(t, _H(vh))), axis=-2))


def _svdvals_vjp(g, ans, a):
    u, _, vh = _svd_parts(a)
    return _conj(matmul(multiply(u, expand_dims(g, -2)), vh))


svdvals = defprim(
    "svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
    jvp=[_svdvals_jvp], vjp=[_svdvals_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_distinct_singular(rng, tuple(shape[:1]), 3, 2),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_distinct_singular(rng, (), 2, 4),), {})]},
          reads=(0,),
    shape=_shp.leading(lambda a: (min(a),), lambda a: np.linalg.svd(a, compute_uv=False)),
)

# ---------------------------------------------------------------------------
# qr
# ---------------------------------------------------------------------------


def _qr_impl(a, mode="reduced", shape=None):
    q, r = np.linalg.qr(a, mode=mode)
    return _pack_np([q, r], np.shape(q)[:-2])


def qr_cores(shape, mode="reduced"):
    m, n = shape
    k = m if mode == "complete" else min(m, n)
    return [(m, k), (k, n)]


def _qr_omega(c):
    """Q^H dQ from C = Q^H dA R^{-1}: anti-Hermitian, strictly lower part of C."""
    low = _tril(c, -1)
    om = subtract(low, _H(low))
    if _is_complex(c):
        om = add(om, _diag_embed(multiply(1j, imag(_diag(c)))))
    return om


def _qr_tall_jvp(t, q, r):
    x = _solve_right(t, r)                 # dA R^{-1}
    c = matmul(_H(q), x)
    om = _qr_omega(c)
    dr = matmul(subtract(c, om), r)
    dq = add(matmul(q, om), subtract(x, matmul(q, c)))
    return dq, dr


def _qr_jvp(t, ans, a, mode="reduced", shape=None):
    m, n = shape
    q, r = unpack(ans, qr_cores(shape, mode))
    if m >= n:
        dq, dr = _qr_tall_jvp(t, q, r)
    else:  # A = [X, Y] with X square: X = Q R1, Y = Q R2
        dq, dr1 = _qr_tall_jvp(getitem(t, (Ellipsis, slice(0, m))), q,
                               getitem(r, (Ellipsis, slice(0, m))))
        r2 = getitem(r, (Ellipsis, slice(m, None)))
        dr2 = add(matmul(_H(q), getitem(t, (Ellipsis, slice(m, None)))),
                  matmul(_H(dq), matmul(q, r2)))
        dr = concatenate([dr1, dr2], axis=-1)
    return _pack_as([dq, dr], qr_cores(shape, mode))


def _qr_tall_adjoint(qbar, rbar, q, r):
    """Hermitian adjoint for m >= n: A_bar = [Q (C_bar - Q^H Q_bar) + Q_bar] R^{-H}."""
    qhq = matmul(_H(q), qbar)
    rrh = matmul(rbar, _H(r))
    n_ = subtract(qhq, rrh)
    low = _tril(subtract(n_, _H(n_)), -1)
    cbar = add(rrh, low)
    if _is_complex(n_):
        cbar = add(cbar, _diag_embed(multiply(1j, imag(_diag(n_)))))
    mm = add(matmul(q, subtract(cbar, qhq)), qbar)
    return _H(solve(r, _H(mm)))


def _qr_vjp(g, ans, a, mode="reduced", shape=None):
    m, n = shape
    q, r = unpack(ans, qr_cores(shape, mode))
    gq, gr = unpack(g, qr_cores(shape, mode))
    qbar, rbar = _conj(gq), _conj(gr)
    if m >= n:
        return _conj(_qr_tall_adjoint(qbar, rbar, q, r))
    r1, r2 = getitem(r, (Ellipsis, slice(0, m))), getitem(r, (Ellipsis, slice(m, None)))
    rbar1, rbar2 = getitem(rbar, (Ellipsis, slice(0, m))), getitem(rbar, (Ellipsis, slice(m, None)))
    qbar = add(qbar, matmul(matmul(q, r2), _H(rbar2)))
    xbar = _qr_tall_adjoint(qbar, rbar1, q, r1)
    ybar = matmul(q, rbar2)
    return _conj(concatenate([xbar, ybar], axis=-1))


def _make_qr(m, n, batch=False, mode="reduced"):

    def make(rng, shape):
        lead = tuple(shape[:1]) if batch else ()
        return (_distinct_singular(rng, lead, m, n),), {"mode": mode, "shape": (m, n)}

    return make


qr = defprim(
    "qr", _qr_impl,
    jvp=[_qr_jvp], vjp=[_qr_vjp],
    batch="leading",
    test={"make": _make_qr(3, 3, True), "complex": True,
          "also": [_make_qr(4, 2), _make_qr(2, 4, True), _make_qr(2, 3, mode="complete")]},
          reads=("ans", 1, 2),
    shape=_shp.leading(lambda a, mode="reduced", shape=None: _packed_core(qr_cores(a, mode)),
                       _qr_impl),
)

# ---------------------------------------------------------------------------
# pinv, lstsq
# ---------------------------------------------------------------------------


def _pinv_tangent(da, p, a):
    """Golub & Pereyra: dP = -P dA P + P P^H dA^H (I - A P) + (I - P A) dA^H P^H P."""
    dah = _H(da)
    ph = _H(p)
    t1 = negative(matmul(p, matmul(da, p)))
    t2 = matmul(matmul(p, ph), subtract(dah, matmul(matmul(dah, a), p)))
    t3 = matmul(subtract(dah, matmul(p, matmul(a, dah))), matmul(ph, p))
    return add(add(t1, t2), t3)


def _pinv_adjoint(pbar, p, a):
    """Hermitian adjoint of :func:`_pinv_tangent` (A_bar for P_bar)."""
    ph = _H(p)
    pbh = _H(pbar)
    t1 = negative(matmul(ph, matmul(pbar, ph)))
    t2 = matmul(subtract(pbh, matmul(a, matmul(p, pbh))), matmul(p, ph))
    t3 = matmul(matmul(ph, p), subtract(pbh, matmul(matmul(pbh, p), a)))
    return add(add(t1, t2), t3)


def _pinv_impl(a, **params):
    return np.linalg.pinv(a, **params)


def _pinv_jvp(t, ans, a, **params):
    if params.get("hermitian"):
        return _pinv_tangent(_sym(t), ans, _sym(a))
    return _pinv_tangent(t, ans, a)


def _pinv_vjp(g, ans, a, **params):
    if params.get("hermitian"):
        return _sym_transpose(_conj(_pinv_adjoint(_conj(g), ans, _sym(a))))
    return _conj(_pinv_adjoint(_conj(g), ans, a))


pinv = defprim(
    "pinv", _pinv_impl,
    jvp=[_pinv_jvp], vjp=[_pinv_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_distinct_singular(rng, tuple(shape[:1]), 3, 2),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_distinct_singular(rng, (), 2, 4),), {}),
                   lambda rng, shape: ((_square(rng),), {}),
                   lambda rng, shape: ((_half_garbage(rng, _spd(rng)),), {"hermitian": True})]},
                   reads=("ans", 0),
    shape=_shp.leading(lambda a, **params: a[::-1], _pinv_impl),
)


def lstsq_rcond(rcond, a):
    """The relative cutoff numpy's lstsq uses (machine epsilon times the larger side)."""
    return np.finfo(np.float64).eps * max(shape_of(a)[-2:]) if rcond is None else rcond


def _lstsq_matrix(b, ans):
    # x has b's layout: a vector right-hand side gives a vector solution
    return expand_dims(b, -1) if np.ndim(concrete(ans)) == 1 else b


def _lstsq_jvp_a(t, ans, a, b, rcond=None):
    p = pinv(a, rcond=lstsq_rcond(rcond, a))
    dx = matmul(_pinv_tangent(t, p, a), _lstsq_matrix(b, ans))
    return getitem(dx, (Ellipsis, 0)) if np.ndim(concrete(ans)) == 1 else dx


def _lstsq_jvp_b(t, ans, a, b, rcond=None):
    return matmul(pinv(a, rcond=lstsq_rcond(rcond, a)), t)


def _lstsq_vjp(g, ans, a, b, rcond=None, *, wrt):
    # x = pinv(a) b: one pseudo-inverse serves both cotangents
    p = pinv(a, rcond=lstsq_rcond(rcond, a))
    return tuple(_lstsq_cotangent_a(g, ans, b, p, a) if i == 0 else matmul(_T(p), g)
                 for i in wrt)


def _lstsq_cotangent_a(g, ans, b, p, a):
    # the cotangent of pinv(a) is g b^T, pushed through pinv's vjp
    pbar = matmul(_lstsq_matrix(g, ans), _T(_lstsq_matrix(b, ans)))
    return _conj(_pinv_adjoint(_conj(pbar), p, a))


def _lstsq_batch(args, dims, rcond=None):
    """vmap rule: numpy's lstsq takes one matrix, so batch through pinv (same solution)."""
    a, b = args
    da, db = dims
    vec = np.ndim(concrete(b)) - (db is not None) == 1
    if da is not None:
        a = moveaxis(a, da, 0)
    if db is not None:
        b = moveaxis(b, db, 0)
    x = matmul(pinv(a, rcond=lstsq_rcond(rcond, a)), expand_dims(b, -1) if vec else b)
    return (getitem(x, (Ellipsis, 0)) if vec else x), 0


def _make_lstsq(m, n, k):

    def make(rng, shape):
        a = _distinct_singular(rng, (), m, n)
        b = rng.standard_normal((m,) if k is None else (m, k))
        return (a, b), {}

    return make


lstsq = defprim(
    "lstsq", lambda a, b, rcond=None: np.linalg.lstsq(a, b, rcond=rcond)[0],
    jvp=[_lstsq_jvp_a, _lstsq_jvp_b], vjp_joint=_lstsq_vjp,
    batch=_lstsq_batch,
    test={"make": _make_lstsq(4, 2, 3), "complex": True,
          "also": [_make_lstsq(4, 3, None), _make_lstsq(2, 3, 2), _make_lstsq(3, 3, None)]},
          reads=[("ans", 0, 1, 2), (0, 2)],
    shape=_lstsq_shape,
)

# ---------------------------------------------------------------------------
# eig, eigvals (general square matrices; holomorphic in A for simple eigenvalues)
# ---------------------------------------------------------------------------


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    return _pack_np([w, v], np.shape(w)[:-1])


def eig_unpack(packed):
    n = eigh_size(packed)
    return unpack(packed, [(n,), (n, n)])


def _eig_largest(v):
    """Mask of each eigenvector's largest component (LAPACK makes it real)."""
    return _tie_weights(absolute(stop_gradient(v)), amax, -2)


def _eig_jvp(t, ans, a):
    w, v = eig_unpack(ans)
    n = shape_of(w)[-1]
    y = solve(v, matmul(t, v))                   # V^{-1} dA V
    dw = _diag(y)
    dv0 = matmul(v, _gap_mul(_gap_inverse(w), y))
    # numpy's gauge: unit norm and the largest component real
    alpha = _real(_sum(multiply(_conj(v), dv0), axis=-2))
    dv = subtract(dv0, multiply(v, expand_dims(alpha, -2)))
    if _is_complex(v):
        mask = _eig_largest(v)
        vk = real(_sum(multiply(mask, v), axis=-2))
        theta = divide(imag(_sum(multiply(mask, dv0), axis=-2)), vk)
        dv = subtract(dv, multiply(v, expand_dims(multiply(1j, theta), -2)))
    return _pack_as([dw, dv], [(n,), (n, n)])


def _eig_vjp(g, ans, a):
    w, v = eig_unpack(ans)
    n = shape_of(w)[-1]
    gw, gv = unpack(g, [(n,), (n, n)])
    gamma = _sum(multiply(gv, v), axis=-2)       # sum_j G_ji V_ji
    gv = subtract(gv, multiply(_conj(v), expand_dims(_real(gamma), -2)))
    if _is_complex(v):
        mask = _eig_largest(v)
        vk = real(_sum(multiply(mask, v), axis=-2))
        e = multiply(mask, expand_dims(multiply(-1j, divide(imag(gamma), vk)), -2))
        gv = add(gv, e)
    ybar = add(_diag_embed(gw), _gap_mul(_gap_inverse(w), matmul(_T(v), gv)))
    return solve(_T(v), matmul(ybar, _T(v)))     # V^{-T} Y_bar V^T


def _distinct_eig(rng, lead=(), n=3):
    """A non-symmetric matrix with real, well separated eigenvalues."""
    x = rng.standard_normal(lead + (n, n)) + 2 * np.eye(n)
    w = np.arange(n) * 1.5 - 1.0 + rng.uniform(-0.2, 0.2, lead + (n,))
    return (x * w[..., None, :]) @ np.linalg.inv(x)


def _rotation_like(rng, lead=()):
    """A real 2x2 matrix with a complex-conjugate pair of eigenvalues."""
    a = rng.uniform(0.5, 1.5, lead)
    b = rng.uniform(0.8, 1.5, lead)
    m = np.stack([np.stack([a, -b], -1), np.stack([b, a], -1)], -2)
    return m + 0.1 * rng.standard_normal(lead + (2, 2))


eig = defprim(
    "eig", _eig_impl,
    jvp=[_eig_jvp], vjp=[_eig_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_distinct_eig(rng, tuple(shape[:1])),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_rotation_like(rng),), {})]},
          reads=("ans",),
    shape=_dtype_needs_values("numpy.linalg.eig", core=lambda n: (n + n * n,), fix=_EIG_FIX),
    dtype_from_values=True,  # real or complex, as the eigenvalues are
)


def _eig_parts(a):
    w, v = eig_unpack(eig(a))
    return w, v


def _eigvals_jvp(t, ans, a):
    _, v = _eig_parts(a)
    return _diag(solve(v, matmul(t, v)))


def _eigvals_vjp(g, ans, a):
    _, v = _eig_parts(a)
    return solve(_T(v), multiply(expand_dims(g, -1), _T(v)))


eigvals = defprim(
    "eigvals", np.linalg.eigvals,
    jvp=[_eigvals_jvp], vjp=[_eigvals_vjp],
    batch="leading",
    test={"make": lambda rng, shape: ((_distinct_eig(rng, tuple(shape[:1])),), {}),
          "complex": True,
          "also": [lambda rng, shape: ((_rotation_like(rng),), {})]},
          reads=(0,),
    shape=_dtype_needs_values("numpy.linalg.eigvals", core=lambda n: (n,), fix=_EIG_FIX),
    dtype_from_values=True,  # real or complex, as the eigenvalues are
)

# ---------------------------------------------------------------------------
# norm: one row for every vector and matrix order
# ---------------------------------------------------------------------------


def norm_axes(ndim, ord, axis):
    """Which axes ``numpy.linalg.norm`` reduces, and how: ``(axes, kind)``.

    kind is ``"flat"`` (2-norm of everything), ``"vector"`` or ``"matrix"``.
    """
    if axis is None:
        if ord is None or (ord in ("f", "fro") and ndim == 2) or (ord == 2 and ndim == 1):
            return tuple(range(ndim)), "flat"
        axis = tuple(range(ndim))
    elif not isinstance(axis, tuple):
        axis = (int(axis),)
    for ax in axis:  # numpy's error (under vmap: for one example), not a wrap-around
        if not -ndim <= int(ax) < ndim:
            raise np.exceptions.AxisError(int(ax), ndim)
    axes = tuple(int(ax) % ndim for ax in axis)
    if len(axes) == 1:
        return axes, "vector"
    if len(axes) == 2:
        return axes, "matrix"
    raise ValueError("Improper number of dimensions to norm.")


def _sgn(x):
    """x / |x|, and 0 at 0 (for real x: sign(x), which has zero derivative)."""
    if not _is_complex(x):
        return sign(x)
    zero = equal(x, 0)
    safe = where(zero, 1, x)
    mag = sqrt(real(multiply(safe, conjugate(safe))))
    return where(zero, 0, divide(safe, mag))


def _tie_weights(values, pick, axis):
    """1/count where ``values`` attains its extreme along ``axis`` (the subgradient
    split evenly among ties), 0 elsewhere; a constant."""
    hit = astype(equal(values, pick(values, axis=axis, keepdims=True)), _real_dtype(values))
    return divide(hit, _sum(hit, axis=axis, keepdims=True))


def _norm_direction(x, ans, ord, axis, keepdims):
    """D with d norm = Re sum(conj(D) dx): the (sub)gradient of the norm."""
    shape = shape_of(x)
    axes, kind = norm_axes(len(shape), ord, axis)
    full = expand_reduced(ans, shape, axes, keepdims)
    if kind == "flat" or ord is None or ord in ("f", "fro") or (kind == "vector" and ord == 2):
        return multiply(x, _safe_reciprocal(full))
    if kind == "vector":
        if ord == 0:
            return None
        if ord == 1:
            return _sgn(x)
        if ord in (np.inf, -np.inf):
            absx = absolute(stop_gradient(x))
            return multiply(_sgn(x), _tie_weights(absx, amax if ord == np.inf else amin, axes))

        ratio = multiply(absolute(x), _safe_reciprocal(full))
        return multiply(_sgn(x), power(ratio, ord - 1))
    row, col = axes
    if ord in (2, -2, "nuc"):
        xm = moveaxis(x, (row, col), (-2, -1))
        u, _, vh = _svd_parts(xm)
        if ord == "nuc":
            d = matmul(u, vh)
        else:
            i = 0 if ord == 2 else shape_of(vh)[-2] - 1
            d = multiply(getitem(u, (Ellipsis, slice(None), slice(i, i + 1))),
                         getitem(vh, (Ellipsis, slice(i, i + 1), slice(None))))
        d = moveaxis(d, (-2, -1), (row, col))
        return where(equal(full, 0), 0, d)  # at 0: the subgradient 0, as for the other orders
    if ord in (1, -1, np.inf, -np.inf):
        summed, over = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(absolute(stop_gradient(x)), axis=summed, keepdims=True)
        return multiply(_sgn(x), _tie_weights(sums, amax if ord in (1, np.inf) else amin, over))
    raise ValueError(f"Invalid norm order {ord!r} for matrices.")


def _norm_impl(x, ord=None, axis=None, keepdims=False):
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _norm_jvp(t, ans, x, ord=None, axis=None, keepdims=False):
    d = _norm_direction(x, ans, ord, axis, keepdims)
    if d is None:
        return np.zeros(shape_of(ans), dtype=np.result_type(concrete(ans)))
    axes, _ = norm_axes(len(shape_of(x)), ord, axis)
    return _sum(_real(multiply(_conj(d), t)), axis=axes, keepdims=keepdims)


def _norm_vjp(g, ans, x, ord=None, axis=None, keepdims=False):
    d = _norm_direction(x, ans, ord, axis, keepdims)
    if d is None:
        return np.zeros(shape_of(x), dtype=np.result_type(concrete(g)))
    axes, _ = norm_axes(len(shape_of(x)), ord, axis)
    return multiply(expand_reduced(g, shape_of(x), axes, keepdims), _conj(d))


def _norm_batch(args, dims, ord=None, axis=None, keepdims=False):
    x = moveaxis(args[0], dims[0], 0)
    shape = shape_of(x)
    nd = len(shape) - 1
    axes, kind = norm_axes(nd, ord, axis)
    if kind == "flat":
        out = norm(reshape(x, (shape[0], -1)), axis=-1)
        return (reshape(out, (shape[0],) + (1,) * nd) if keepdims else out), 0
    neg = tuple(ax - nd for ax in axes)
    return norm(x, ord=ord, axis=neg if kind == "matrix" else neg[0], keepdims=keepdims), 0


def _make_norm(shape_, **params):

    def make(rng, shape):
        x = rng.uniform(0.3, 1.5, shape_) * rng.choice([-1.0, 1.0], shape_)
        return (x,), params

    return make


norm = defprim(
    "norm", _norm_impl,
    jvp=[_norm_jvp], vjp=[_norm_vjp],
    batch=_norm_batch,
    test={"make": lambda rng, shape: ((rng.uniform(-1.5, 1.5, shape),), {}),
          "complex": True,
          "also": [
              _make_norm((2, 3), axis=0),
              _make_norm((2, 3), axis=-1, keepdims=True),
              _make_norm((4,), ord=1),
              _make_norm((4,), ord=np.inf),
              _make_norm((4,), ord=-np.inf),
              _make_norm((2, 4), ord=3, axis=1),
              _make_norm((4,), ord=0.5),
              _make_norm((2, 3), ord="fro"),
              _make_norm((2, 3, 2), ord="fro", axis=(0, 2)),
              _make_norm((2, 3), ord=1),
              _make_norm((3, 2), ord=-1),
              _make_norm((2, 3), ord=np.inf),
              _make_norm((3, 2), ord=-np.inf),
              _make_norm((3, 2), ord=2),
              _make_norm((2, 3), ord=-2),
              _make_norm((2, 3, 2), ord="nuc", axis=(2, 1), keepdims=True),
          ]},
          reads=("ans", 0, 1, 2, 3),
    shape=_norm_shape,
)
