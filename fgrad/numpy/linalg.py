"""fgrad.numpy.linalg: differentiable linear algebra with numpy's signatures.

Use it as ``fnp.linalg.solve`` (``import fgrad.numpy as fnp``), or call
``np.linalg.solve`` on traced values: numpy dispatches here.  On plain arrays
every function returns exactly numpy's result; under a transform the values are
the same and derivatives are available in both modes (jvp and vjp), to any
order, for real and complex inputs.  Stacks of matrices (leading dimensions)
are handled as numpy does.

Derivatives that are not defined raise instead of returning something wrong:
``svd(..., full_matrices=True)`` and ``qr(..., mode="complete")`` of a
non-square matrix (the extra columns are not unique), ``qr(mode="raw")``.
Eigenvectors and singular vectors are unique only up to sign (complex: phase);
the derivatives follow numpy's choice (for eigh and svd: the gauge in which
``V^H dV`` has a zero diagonal), so use them in gauge-invariant expressions.
Repeated eigenvalues or singular values make the vector derivatives infinite.
"""

__all__ = [
    "solve", "inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "eig", "eigvals",
    "svd", "svdvals", "qr", "lstsq", "pinv", "norm", "matrix_norm", "vector_norm",
    "matrix_power", "multi_dot", "tensorsolve", "tensorinv", "cond", "matrix_rank",
    "trace", "diagonal", "matmul", "matrix_transpose", "outer", "tensordot", "vecdot",
    "cross",
]

import operator

import numpy as np

from ..core import BatchedValueError, Tracer, any_tracer, concrete, shape_of
from ..primitives import linalg as _p
from ..primitives.elementwise import (
    absolute,
    conjugate,
    divide,
    examples_of,
    multiply,
    real,
    sign,
    subtract,
)
from ..primitives.products import dot as _dot
from ..primitives.products import matmul as _matmul
from ..primitives.products import outer as _outer
from ..primitives.products import tensordot as _tensordot
from ..primitives.reductions import _norm_axis
from ..primitives.reductions import sum as _sum
from ..primitives.shape import (
    getitem,
    moveaxis,
    reshape,
    stack,
    swapaxes,
    transpose,
)

LinAlgError = np.linalg.LinAlgError

try:  # numpy's own result types, so that results compare and print the same
    from numpy.linalg._linalg import (
        EighResult,
        EigResult,
        QRResult,
        SlogdetResult,
        SVDResult,
    )
except ImportError:  # pragma: no cover - older layouts
    from collections import namedtuple

    EighResult = namedtuple("EighResult", "eigenvalues eigenvectors")
    EigResult = namedtuple("EigResult", "eigenvalues eigenvectors")
    QRResult = namedtuple("QRResult", "Q R")
    SlogdetResult = namedtuple("SlogdetResult", "sign logabsdet")
    SVDResult = namedtuple("SVDResult", "U S Vh")

_NO_VALUE = object()


_traced = any_tracer


def _arr(x):
    return x if isinstance(x, Tracer) else np.asarray(x)


def _square_check(a):
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise LinAlgError("Last 2 dimensions of the array must be square")


# ---------------------------------------------------------------------------
# solving and inverting
# ---------------------------------------------------------------------------


def solve(a, b):
    """Solve ``a @ x = b`` (``numpy.linalg.solve``); ``b`` is a vector iff ``b.ndim == 1``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> a = fnp.array([[2.0, 0.0], [0.0, 4.0]])
        >>> fgrad.grad(lambda b: fnp.linalg.solve(a, b).sum())(fnp.ones(2))
        array([0.5 , 0.25])
    """
    if not _traced(a, b):
        return np.linalg.solve(a, b)
    return _p.solve(_arr(a), _arr(b))


def inv(a):
    """Matrix inverse (``numpy.linalg.inv``); d inv(A) = -inv(A) dA inv(A).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.inv(a)[0, 0])(fnp.array([[2.0]]))
        array([[-0.25]])
    """
    if not _traced(a):
        return np.linalg.inv(a)
    return _p.inv(a)


def det(a):
    """Determinant (``numpy.linalg.det``); its gradient is the transposed adjugate,
    also at singular matrices.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.linalg.det)(fnp.array([[1.0, 2.0], [3.0, 4.0]]))
        array([[ 4., -3.],
               [-2.,  1.]])
    """
    if not _traced(a):
        return np.linalg.det(a)
    return _p.det(a)


def slogdet(a):
    """Sign and log of the absolute determinant (``numpy.linalg.slogdet``).

    d logabsdet = Re tr(A^{-1} dA); for complex A the sign (a phase) is
    differentiable too.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.slogdet(a)[1])(fnp.array([[1.0, 1.0], [-1.0, 1.0]]))
        array([[ 0.5,  0.5],
               [-0.5,  0.5]])
    """
    if not _traced(a):
        return np.linalg.slogdet(a)
    packed = _p.slogdet(a)
    sgn, logabs = getitem(packed, (Ellipsis, 0)), getitem(packed, (Ellipsis, 1))
    if np.iscomplexobj(concrete(packed)):
        logabs = real(logabs)
    return SlogdetResult(sgn, logabs)


def pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    """Moore-Penrose pseudo-inverse (``numpy.linalg.pinv``).

    The derivative (Golub & Pereyra) assumes the rank does not change nearby.
    With ``hermitian=True`` only the lower triangle is read, as numpy does.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.pinv(a).sum())(fnp.array([[2.0, 0.0]]))
        array([[-0.25,  0.25]])
    """
    params = {"rcond": rcond, "hermitian": hermitian}
    if rtol is not _NO_VALUE:
        params["rtol"] = rtol
    if not _traced(a):
        return np.linalg.pinv(a, **params)
    return _p.pinv(a, **params)


def lstsq(a, b, rcond=None):
    """Least-squares solution (``numpy.linalg.lstsq``): ``(x, residuals, rank, s)``.

    ``x`` (a row of the table), ``residuals`` and ``s`` are differentiable in
    ``a`` and ``b``; the derivative of ``x`` is that of ``pinv(a) @ b`` and
    assumes the rank does not change nearby.  Under a transform ``residuals``
    and ``s`` are recomputed from ``x`` and ``svdvals(a)`` (equal to numpy's up
    to rounding).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> a = fnp.array([[1.0], [1.0]])
        >>> fgrad.grad(lambda b: fnp.linalg.lstsq(a, b)[0][0])(fnp.array([1.0, 3.0]))
        array([0.5, 0.5])
    """
    if not _traced(a, b):
        return np.linalg.lstsq(a, b, rcond=rcond)
    a, b = _arr(a), _arr(b)
    if len(shape_of(a)) != 2 or len(shape_of(b)) not in (1, 2):
        raise LinAlgError(
            f"lstsq: a must be 2-D and b 1-D or 2-D; got {len(shape_of(a))}-D and "
            f"{len(shape_of(b))}-D arrays (numpy's lstsq does not take stacks)"
        )
    m, n = shape_of(a)
    x = _p.lstsq(a, b, rcond=rcond)
    s = svdvals(a)
    tol = _p.lstsq_rcond(rcond, a)
    # the rank decides the residuals' shape: under vmap it must be the same in every example
    ranks = {int(np.sum(v > tol * np.max(v, initial=0.0))) for v in examples_of(s)}
    if len(ranks) > 1:
        raise BatchedValueError(
            f"fgrad.numpy.linalg.lstsq under vmap: the examples have different ranks "
            f"{sorted(ranks)}, and the rank decides the shape of the residuals. Use the "
            "solution alone through fgrad.numpy.linalg.pinv(a) @ b, or loop over the "
            "examples in Python."
        )
    rank = ranks.pop()
    real_dtype = np.finfo(np.result_type(concrete(s))).dtype
    if rank == n and m > n:
        r = subtract(b, _matmul(a, x))
        res = _sum(real(multiply(conjugate(r), r)), axis=0)
        if len(shape_of(b)) == 1:
            res = reshape(res, (1,))
    else:
        res = np.array([], dtype=real_dtype)
    return x, res, np.int32(rank), s


def tensorsolve(a, b, axes=None):
    """Solve the tensor equation ``tensordot(a, x, x.ndim) = b`` (``numpy.linalg.tensorsolve``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.tensorsolve(2.0 * fnp.eye(4).reshape(2, 2, 2, 2), fnp.ones((2, 2)))
        array([[0.5, 0.5],
               [0.5, 0.5]])
    """
    if not _traced(a, b):
        return np.linalg.tensorsolve(a, b, axes=axes)
    a, b = _arr(a), _arr(b)
    an = len(shape_of(a))
    if axes is not None:
        allaxes = list(range(an))
        for k in axes:
            allaxes.remove(k)
            allaxes.insert(an, k)
        a = transpose(a, allaxes)
    oldshape = shape_of(a)[-(an - len(shape_of(b))):]
    size = int(np.prod(oldshape, dtype=int))
    if int(np.prod(shape_of(a), dtype=int)) != size**2:
        raise LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    res = solve(reshape(a, (size, size)), reshape(b, (-1,)))
    return reshape(res, oldshape)


def tensorinv(a, ind=2):
    """Inverse of an N-d array seen as a linear map (``numpy.linalg.tensorinv``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.tensorinv(2.0 * fnp.eye(4).reshape(4, 2, 2), ind=1).shape
        (2, 2, 4)
    """
    if not _traced(a):
        return np.linalg.tensorinv(a, ind=ind)
    oldshape = shape_of(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    invshape = oldshape[ind:] + oldshape[:ind]
    size = int(np.prod(oldshape[ind:], dtype=int))
    return reshape(inv(reshape(a, (size, -1))), invshape)


def matrix_power(a, n):
    """Raise a square matrix to an integer power (``numpy.linalg.matrix_power``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.matrix_power(a, 3)[0, 0])(fnp.array([[2.0]]))
        array([[12.]])
    """
    if not _traced(a):
        return np.linalg.matrix_power(a, n)
    _square_check(a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:  # the identity: a constant
        out = np.empty_like(concrete(a))
        out[...] = np.eye(shape_of(a)[-2], dtype=out.dtype)
        return out
    if n < 0:
        a = inv(a)
        n = abs(n)
    if n == 1:
        return a
    if n == 2:
        return _matmul(a, a)
    if n == 3:
        return _matmul(_matmul(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else _matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else _matmul(result, z)
    return result


def _chain_order(dims):
    """Optimal parenthesisation of a matrix chain (textbook dynamic programme)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = np.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if q < cost[i][j]:
                    cost[i][j] = q
                    split[i][j] = k
    return split


def _chain_product(arrays, split, i, j):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return _dot(_chain_product(arrays, split, i, k), _chain_product(arrays, split, k + 1, j))


def multi_dot(arrays, *, out=None):
    """Product of several matrices in the cheapest order (``numpy.linalg.multi_dot``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.ones(2)
        >>> fgrad.grad(lambda m: fnp.linalg.multi_dot([x, m, m, x]))(fnp.eye(2))
        array([[2., 2.],
               [2., 2.]])
    """
    arrays = list(arrays)
    if not _traced(*arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("multi_dot(..., out=...) cannot write a traced result into an array")
    n = len(arrays)
    if n < 2:
        raise ValueError("Expecting at least two arrays.")
    if n == 2:
        return _dot(arrays[0], arrays[1])
    arrays = [_arr(a) for a in arrays]
    first, last = len(shape_of(arrays[0])), len(shape_of(arrays[-1]))
    if first == 1:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if len(shape_of(a)) != 2:
            raise LinAlgError(f"{len(shape_of(a))}-dimensional array given. Array must be two-dimensional")
    if n == 3:
        (a0, a1b0), (b1c0, c1) = shape_of(arrays[0]), shape_of(arrays[2])
        if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
            result = _dot(_dot(arrays[0], arrays[1]), arrays[2])
        else:
            result = _dot(arrays[0], _dot(arrays[1], arrays[2]))
    else:
        dims = [shape_of(a)[0] for a in arrays] + [shape_of(arrays[-1])[1]]
        result = _chain_product(arrays, _chain_order(dims), 0, n - 1)
    if first == 1 and last == 1:
        return getitem(result, (0, 0))
    if first == 1 or last == 1:
        return reshape(result, (-1,))
    return result


# ---------------------------------------------------------------------------
# factorisations and spectra
# ---------------------------------------------------------------------------


def cholesky(a, /, *, upper=False):
    """Cholesky factor (``numpy.linalg.cholesky``), lower (or upper) triangular.

    Only the lower (``upper=True``: upper) triangle of ``a`` is read, so the
    gradient lives in that triangle.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.cholesky(a)[0, 0])(fnp.array([[4.0]]))
        array([[0.25]])
    """
    if not _traced(a):
        return np.linalg.cholesky(a, upper=upper)
    return _p.cholesky(a, upper=bool(upper))


def _uplo(UPLO):
    """``UPLO`` checked: which triangle of a Hermitian matrix eigh/eigvalsh read."""
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO


def eigh(a, UPLO="L"):
    """Eigen-decomposition of a Hermitian matrix (``numpy.linalg.eigh``).

    Reads one triangle (``UPLO``).  Eigenvector derivatives need distinct
    eigenvalues and are in the gauge where ``V^H dV`` has a zero diagonal.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.eigh(a)[0][-1])(fnp.array([[2.0, 1.0], [1.0, 2.0]]))
        array([[0.5, 0. ],
               [1. , 0.5]])
    """
    if not _traced(a):
        return np.linalg.eigh(a, UPLO=UPLO)
    w, v = _p.eigh_unpack(_p.eigh(a, UPLO=_uplo(UPLO)))
    return EighResult(w, v)


def eigvalsh(a, UPLO="L"):
    """Eigenvalues of a Hermitian matrix (``numpy.linalg.eigvalsh``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.eigvalsh(a)[-1])(fnp.array([[1.0, 0.0], [0.0, 2.0]]))
        array([[0., 0.],
               [0., 1.]])
    """
    if not _traced(a):
        return np.linalg.eigvalsh(a, UPLO=UPLO)
    return _p.eigvalsh(a, UPLO=_uplo(UPLO))


def eig(a):
    """Eigenvalues and right eigenvectors of a square matrix (``numpy.linalg.eig``).

    Derivatives need distinct eigenvalues; the eigenvectors follow numpy's
    normalisation (unit norm, largest component real).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> a = fnp.array([[1.0, 2.0], [0.0, 3.0]])
        >>> fgrad.grad(lambda a: fnp.linalg.eig(a)[0].real.sum())(a)
        array([[1., 0.],
               [0., 1.]])
    """
    if not _traced(a):
        return np.linalg.eig(a)
    w, v = _p.eig_unpack(_p.eig(a))
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues of a square matrix (``numpy.linalg.eigvals``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> a = fnp.array([[1.0, 2.0], [0.0, 3.0]])
        >>> fgrad.grad(lambda a: fnp.linalg.eigvals(a).real.max())(a)
        array([[0., 0.],
               [1., 1.]])
    """
    if not _traced(a):
        return np.linalg.eigvals(a)
    return _p.eigvals(a)


def _take_last(x, idx):
    """``take_along_axis(x, idx, axis=-1)`` with a constant ``idx`` (differentiable in x)."""
    full = np.broadcast_shapes(shape_of(x)[:-1] + (1,), np.shape(idx))
    grids = np.indices(full, sparse=True)
    return getitem(x, tuple(grids[:-1]) + (np.broadcast_to(idx, full),))


def _svd_hermitian(a, compute_uv):
    # numpy's own algorithm (through eigh), written with fgrad functions
    if not compute_uv:
        s = absolute(eigvalsh(a))
        return getitem(_take_last(s, np.argsort(concrete(s), axis=-1)), (Ellipsis, slice(None, None, -1)))
    s, u = eigh(a)
    sgn = sign(concrete(s))
    s = absolute(s)
    sidx = np.argsort(concrete(s), axis=-1)[..., ::-1]
    sgn = np.take_along_axis(sgn, sidx, axis=-1)
    s = _take_last(s, sidx)
    u = _take_last(u, sidx[..., None, :])
    vt = conjugate(swapaxes(multiply(u, sgn[..., None, :]), -1, -2))
    return SVDResult(u, s, vt)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular value decomposition (``numpy.linalg.svd``).

    Differentiable for ``compute_uv=False``, for ``full_matrices=False``, and for
    square matrices; ``full_matrices=True`` on a non-square matrix raises under a
    transform (the extra singular vectors are not unique).  Singular vectors
    need distinct singular values and are in the gauge where ``V^H dV`` has a
    zero diagonal.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.svd(a, compute_uv=False)[0])(fnp.array([[3.0, 0.0], [0.0, -1.0]]))
        array([[1., 0.],
               [0., 0.]])
    """
    if not _traced(a):
        return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                             hermitian=hermitian)
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    if not compute_uv:
        return _p.svdvals(a)
    m, n = shape_of(a)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            f"svd(..., full_matrices=True) of a {m}x{n} matrix has no derivative: the "
            f"{max(m, n) - min(m, n)} extra singular vectors are not unique. Use "
            "full_matrices=False (the columns that are unique), or compute_uv=False "
            "for singular values only."
        )
    packed = _p.svd(a, full_matrices=bool(full_matrices), shape=(m, n))
    u, s, vh = _p.svd_unpack(packed, (m, n), bool(full_matrices))
    return SVDResult(u, s, vh)


def svdvals(x, /):
    """Singular values (``numpy.linalg.svdvals``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.svdvals(a).sum())(fnp.array([[2.0, 0.0], [0.0, -3.0]]))
        array([[ 1.,  0.],
               [ 0., -1.]])
    """
    return svd(x, compute_uv=False, hermitian=False)


def qr(a, mode="reduced"):
    """QR decomposition (``numpy.linalg.qr``), modes 'reduced', 'complete', 'r'.

    Differentiable where Q and R are unique: full column rank for m >= n, and
    the leading m x m block of full rank for m < n.  ``mode='complete'`` with
    m > n and ``mode='raw'`` raise under a transform.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.qr(a)[1][0, 0])(fnp.array([[3.0], [4.0]]))
        array([[-0.6],
               [-0.8]])
    """
    if not _traced(a):
        return np.linalg.qr(a, mode=mode)
    shape = shape_of(a)
    if len(shape) < 2:
        raise LinAlgError(f"{len(shape)}-dimensional array given. Array must be at least two-dimensional")
    m, n = shape[-2:]
    if mode == "raw":
        raise NotImplementedError(
            "qr(..., mode='raw') returns Householder reflectors, which fgrad does not "
            "differentiate; use mode='reduced' (or 'r')."
        )
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unrecognized mode '{mode}'")
    if mode == "complete" and m > n:
        raise NotImplementedError(
            f"qr(..., mode='complete') of a {m}x{n} matrix has no derivative: the "
            f"{m - n} extra columns of Q are not unique. Use mode='reduced'."
        )
    inner = "reduced" if mode == "r" else mode
    q, r = _p.unpack(_p.qr(a, mode=inner, shape=(m, n)), _p.qr_cores((m, n), inner))
    return r if mode == "r" else QRResult(q, r)


# ---------------------------------------------------------------------------
# norms and related
# ---------------------------------------------------------------------------


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (``numpy.linalg.norm``), every order numpy offers.

    Vectors: 2 (default), 1, inf, -inf, 0 (a count: zero derivative) and any
    p; matrices: 'fro', 'nuc', 1, -1, inf, -inf, 2, -2.  At 0 the derivative is
    the subgradient 0, not NaN; ties in max/min orders share the gradient.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.linalg.norm)(fnp.array([3.0, 4.0]))
        array([0.6, 0.8])
        >>> fgrad.grad(fnp.linalg.norm)(fnp.zeros(2))
        array([0., 0.])
    """
    if not _traced(x):
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    if isinstance(axis, list):
        axis = tuple(axis)
    _p.norm_axes(len(shape_of(x)), ord, axis)  # validate early, with numpy's message
    return _p.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """Vector norm over any axes (``numpy.linalg.vector_norm``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> float(fnp.linalg.vector_norm(fnp.ones((2, 2)), ord=1))
        4.0
    """
    if not _traced(x):
        return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    shape = list(shape_of(x))
    ndim = len(shape)
    if axis is None:
        y = reshape(x, (-1,))
        _axis = 0
    elif isinstance(axis, tuple):
        normalized = tuple(_norm_axis(ax, ndim) for ax in axis)
        rest = tuple(i for i in range(ndim) if i not in normalized)
        y = reshape(transpose(x, axis + rest),
                    (int(np.prod([shape[i] for i in axis], dtype=int)), *[shape[i] for i in rest]))
        _axis = 0
    else:
        y, _axis = x, _norm_axis(axis, ndim)
    res = norm(y, axis=_axis, ord=ord)
    if keepdims:
        axes = range(ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        for i in axes:
            shape[int(i) % ndim] = 1
        res = reshape(res, tuple(shape))
    return res


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """Matrix norm over the last two axes (``numpy.linalg.matrix_norm``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.linalg.matrix_norm(a, ord="nuc"))(fnp.array([[2.0, 0.0], [0.0, -3.0]]))
        array([[ 1.,  0.],
               [ 0., -1.]])
    """
    return norm(x, axis=(-2, -1), keepdims=keepdims, ord=ord)


def cond(x, p=None):
    """Condition number (``numpy.linalg.cond``), differentiable where it is finite.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.linalg.cond)(fnp.array([[2.0, 0.0], [0.0, 1.0]]))
        array([[ 1.,  0.],
               [ 0., -2.]])
    """
    if not _traced(x):
        return np.linalg.cond(x, p=p)
    if p is None or p in (2, -2):
        s = svdvals(x)
        top, bottom = getitem(s, (Ellipsis, 0)), getitem(s, (Ellipsis, -1))
        return divide(bottom, top) if p == -2 else divide(top, bottom)
    _square_check(x)
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


def matrix_rank(A, tol=None, hermitian=False, *, rtol=None):
    """Rank (``numpy.linalg.matrix_rank``): an integer, no derivative.

    Example:
        >>> import fgrad.numpy as fnp
        >>> int(fnp.linalg.matrix_rank(fnp.ones((3, 3))))
        1
    """
    return np.linalg.matrix_rank(concrete(A), tol=concrete(tol), hermitian=hermitian,
                                 rtol=concrete(rtol))


# ---------------------------------------------------------------------------
# the array-API helpers numpy.linalg also offers
# ---------------------------------------------------------------------------


def _diag_indices(shape, offset):
    m, n = shape[-2:]
    if offset >= 0:
        k = max(0, min(m, n - offset))
        return np.arange(k), np.arange(k) + offset
    k = max(0, min(m + offset, n))
    return np.arange(k) - offset, np.arange(k)


def diagonal(x, /, *, offset=0):
    """Diagonals of the last two axes (``numpy.linalg.diagonal``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.diagonal(fnp.arange(4.0).reshape(2, 2))
        array([0., 3.])
    """
    if not _traced(x):
        return np.linalg.diagonal(x, offset=offset)
    rows, cols = _diag_indices(shape_of(x), offset)
    return getitem(x, (Ellipsis, rows, cols))


def trace(x, /, *, offset=0, dtype=None):
    """Sum of the diagonals of the last two axes (``numpy.linalg.trace``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.linalg.trace)(fnp.ones((2, 2)))
        array([[1., 0.],
               [0., 1.]])
    """
    if not _traced(x):
        return np.linalg.trace(x, offset=offset, dtype=dtype)
    return _sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def matmul(x1, x2, /):
    """Matrix product (``numpy.linalg.matmul``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.matmul(fnp.eye(2), fnp.ones(2))
        array([1., 1.])
    """
    if not _traced(x1, x2):
        return np.linalg.matmul(x1, x2)
    return _matmul(x1, x2)


def matrix_transpose(x, /):
    """Swap the last two axes (``numpy.linalg.matrix_transpose``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.matrix_transpose(fnp.ones((3, 1, 2))).shape
        (3, 2, 1)
    """
    if not _traced(x):
        return np.linalg.matrix_transpose(x)
    return swapaxes(x, -1, -2)


def outer(x1, x2, /):
    """Outer product of two vectors (``numpy.linalg.outer``; 1-D inputs only).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.outer(fnp.ones(2), fnp.arange(3.0)).shape
        (2, 3)
    """
    if not _traced(x1, x2):
        return np.linalg.outer(x1, x2)
    n1, n2 = len(shape_of(x1)), len(shape_of(x2))
    if n1 != 1 or n2 != 1:
        raise ValueError(
            f"Input arrays must be one-dimensional, but they are x1.ndim={n1} and x2.ndim={n2}."
        )
    return _outer(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    """Tensor contraction (``numpy.linalg.tensordot``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.tensordot(fnp.ones((2, 3)), fnp.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    if not _traced(x1, x2):
        return np.linalg.tensordot(x1, x2, axes=axes)
    return _tensordot(x1, x2, axes=axes)


def vecdot(x1, x2, /, *, axis=-1):
    """Vector dot product along an axis, conjugating ``x1`` (``numpy.linalg.vecdot``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.linalg.vecdot(x, x))(fnp.array([1.0, 2.0]))
        array([2., 4.])
    """
    if not _traced(x1, x2):
        return np.linalg.vecdot(x1, x2, axis=axis)
    c1 = conjugate(x1) if np.iscomplexobj(concrete(x1)) else x1
    return _sum(multiply(c1, x2), axis=axis)


def cross(x1, x2, /, *, axis=-1):
    """Cross product of 3-vectors (``numpy.linalg.cross``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.linalg.cross(fnp.array([1.0, 0.0, 0.0]), fnp.array([0.0, 1.0, 0.0]))
        array([0., 0., 1.])
    """
    if not _traced(x1, x2):
        return np.linalg.cross(x1, x2, axis=axis)
    x1, x2 = _arr(x1), _arr(x2)
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, but they are "
            f"{shape_of(x1)[axis]} and {shape_of(x2)[axis]} dimensional instead."
        )
    a = [getitem(moveaxis(x1, axis, -1), (Ellipsis, i)) for i in range(3)]
    b = [getitem(moveaxis(x2, axis, -1), (Ellipsis, i)) for i in range(3)]
    c = stack([
        subtract(multiply(a[1], b[2]), multiply(a[2], b[1])),
        subtract(multiply(a[2], b[0]), multiply(a[0], b[2])),
        subtract(multiply(a[0], b[1]), multiply(a[1], b[0])),
    ], axis=-1)
    return moveaxis(c, -1, axis)
