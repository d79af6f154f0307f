"""Rows for constant scipy.sparse operators: products and sparse solves.

A scipy.sparse matrix ``S`` is a *constant* linear operator here: it travels as a
keyword parameter of the row (never differentiated), and the traced operand is a
dense 1-d or 2-d array ``x`` whose first axis meets ``S``.  The maps
``x -> S @ x``, ``b -> A^-1 b`` and ``b -> LU^-1 b`` are linear, so each row's
jvp is the row itself on the tangent and its vjp is the row with the transposed
operator (plain transpose, no conjugation: JAX's convention for complex values,
see docs/design.md).  Under vmap the examples become extra columns: one sparse
product (or one solve with many right-hand sides) for the whole batch.

How ``S @ x`` reaches these rows: Python calls ``S.__matmul__(x)`` first, and
scipy would convert ``x`` to an array.  :func:`_install_scipy_sparse` (run by core
once a trace opens after scipy.sparse has been imported, see
``core.OPERAND_HOOKS``) wraps scipy.sparse's operators so that they return
``NotImplemented`` for a tracer; Python then calls the tracer's ``__rmatmul__``,
whose row finds the sparse constant and calls the function registered in
``core.SPARSE_OPERANDS``.  This module imports no scipy: the sparse objects bring
their own methods, and scipy.sparse.linalg is imported on first solve.
"""

import functools
import importlib
import sys

import numpy as np

from .. import shapes as _shp
from ..core import OPERAND_HOOKS, SPARSE_OPERANDS, Tracer, defprim, ndim_of, shape_of
from . import elementwise as _ew
from . import indexing as _ix
from . import reductions as _rd
from . import shape as _sh

__all__ = []


def scipy_sparse():
    """``scipy.sparse`` (imported on first use)."""
    return importlib.import_module("scipy.sparse")


def scipy_sparse_linalg():
    """``scipy.sparse.linalg``, imported on first use (a clear error without scipy)."""
    try:
        return importlib.import_module("scipy.sparse.linalg")
    except ImportError as err:  # pragma: no cover - scipy is installed where tests run
        raise ImportError(
            "fgrad.scipy.sparse.linalg wraps scipy.sparse.linalg, but scipy is not "
            "installed. Install it with `pip install scipy`."
        ) from err


def is_sparse_array(x):
    """True for a scipy.sparse ``*_array`` (elementwise ``*``), False for a ``*_matrix``."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and isinstance(x, getattr(sparse, "sparray", ()))


def check_operator(S, where):
    """Refuse what is not a constant 2-d scipy.sparse matrix, by name."""
    if isinstance(S, Tracer):
        raise TypeError(
            f"{where}: the sparse operator is a traced value. fgrad differentiates sparse "
            "products and solves with respect to the dense operand only; the scipy.sparse "
            "matrix must be a constant (a traced sparse matrix is not supported). For a "
            "matrix whose entries depend on the inputs, build it densely with fgrad.numpy "
            "and use fgrad.numpy.linalg.solve / @; for a solve differentiable in the "
            "nonzero values of a sparse matrix use "
            "fgrad.scipy.sparse.linalg.spsolve_values."
        )
    if not hasattr(S, "tocsr") or not hasattr(S, "nnz"):
        raise TypeError(
            f"{where}: expected a scipy.sparse matrix or array (csr, csc, coo, bsr, dia, "
            f"lil, dok), got {type(S).__name__}; fgrad supports scipy.sparse matrices as "
            "constant operators, not LinearOperator or other sparse types."
        )
    if len(S.shape) != 2:
        raise ValueError(f"{where}: the sparse operator must be 2-d, got shape {S.shape}")


def _check_dense(x, n, where, name="x"):
    nd = ndim_of(x)
    if nd not in (1, 2):
        raise ValueError(
            f"{where}: the traced operand {name} must be 1-d or 2-d (got shape "
            f"{shape_of(x)}); for more axes use fgrad.vmap or reshape to 2-d."
        )
    if shape_of(x)[0] != n:
        raise ValueError(
            f"{where}: shape mismatch, the operator has {n} columns but {name} has shape "
            f"{shape_of(x)} (its first axis must have length {n})"
        )


def _columns_batch(row):
    """vmap rule of a row acting on the first axis of a 1-d or 2-d operand: the
    examples become more columns, so the whole batch is one call of the row."""

    def batch(args, dims, **params):
        (x,), (d,) = args, dims
        shape = shape_of(x)
        moved = _sh.moveaxis(x, d, 1)  # (n, batch) or (n, batch, k)
        if len(shape) == 2:
            return row(moved, **params), 1
        n, b, k = shape_of(moved)
        out = row(_sh.reshape(moved, (n, b * k)), **params)
        return _sh.reshape(out, (shape_of(out)[0], b, k)), 1

    return batch


def _make_operands(rng, shape, *, square=False, solve=False):
    """Test hint: a random sparse operator (as a parameter) and a dense operand."""
    sparse = importlib.import_module("scipy.sparse")
    n = 4
    m = n if square else 3
    dense = rng.uniform(-1.0, 1.0, (m, n)) * (rng.uniform(0, 1, (m, n)) < 0.6)
    if solve:
        dense = dense + 4.0 * np.eye(n)
    fmt = ["csr_matrix", "csc_array", "coo_array", "lil_matrix"][rng.integers(4)]
    x = rng.standard_normal((n,) + tuple(shape[1:2]))
    return (x,), {"op": getattr(sparse, fmt)(dense)}


# --- S @ x ----------------------------------------------------------------------------


def _matmul_impl(x, *, op):
    return np.asarray(op @ x)


def _matmul_shape(x, *, op):
    sx = _shp.shape(x)
    if not sx or sx[0] != op.shape[1]:
        raise ValueError(f"sparse matmul: an operator of shape {op.shape} cannot multiply an "
                         f"array of shape {sx}")
    return (op.shape[0],) + sx[1:], np.result_type(op.dtype, _shp.dtype(x))


def _solved_shape(b, **params):
    """A solve's output: the right-hand side's shape, and the dtype of the matrix with it."""
    m = params.get("A", params.get("lu"))
    dt = _shp.dtype(b)
    if m is not None:
        dt = np.result_type(m.U.dtype if hasattr(m, "U") else m.dtype, dt)
    return _shp.shape(b), dt


sparse_matmul = defprim(
    "scipy.sparse.matmul",
    _matmul_impl,
    jvp=[lambda t, ans, x, *, op: sparse_matmul(t, op=op)],
    vjp=[lambda g, ans, x, *, op: sparse_matmul(g, op=op.T)],
    batch=_columns_batch(lambda x, **p: sparse_matmul(x, **p)),
    fresh=True,
    reads=(),
    test={"make": _make_operands, "complex": True},
    shape=_matmul_shape,
)


def matmul_with_sparse(a, b):
    """``a @ b`` where one operand is a constant scipy.sparse matrix and the other a
    dense (traced) 1-d or 2-d array, with scipy's shapes (``S @ x``, ``x @ S``)."""
    if hasattr(a, "nnz") and not isinstance(a, Tracer):  # S @ x
        check_operator(a, "S @ x")
        _scalar_refused(b)
        _check_dense(b, a.shape[1], "S @ x")
        return sparse_matmul(b, op=a)
    check_operator(b, "x @ S")  # x @ S = (S^T @ x^T)^T
    _scalar_refused(a)
    nd = ndim_of(a)
    if nd not in (1, 2) or shape_of(a)[-1] != b.shape[0]:
        raise ValueError(
            f"x @ S: x must be 1-d or 2-d with last axis of length {b.shape[0]} (the rows "
            f"of S), got shape {shape_of(a)}"
        )
    if nd == 1:
        return sparse_matmul(a, op=b.T)
    return _sh.transpose(sparse_matmul(_sh.transpose(a), op=b.T))


def _scalar_refused(x):
    if ndim_of(x) == 0:
        raise ValueError(
            "a product of a sparse matrix with a scalar: `@` needs an array (scipy raises "
            "here too); a traced scalar times a sparse matrix would be a traced sparse "
            "matrix, which fgrad does not support. Multiply the result instead: "
            "c * (S @ v)."
        )


def multiply_with_sparse(a, b):
    """``S * x`` / ``x * S``: the matrix product for ``*_matrix`` classes (as scipy);
    refused for ``*_array`` classes, where scipy's ``*`` is elementwise and sparse."""
    S = a if hasattr(a, "nnz") and not isinstance(a, Tracer) else b
    if is_sparse_array(S):
        raise TypeError(
            f"S * x with a scipy.sparse {type(S).__name__} is elementwise in scipy and "
            "returns a sparse array, which cannot carry a derivative. Write S @ x for the "
            "matrix product, or S.toarray() * x for a dense elementwise product."
        )
    return matmul_with_sparse(a, b)


SPARSE_OPERANDS["matmul"] = matmul_with_sparse
SPARSE_OPERANDS["multiply"] = multiply_with_sparse


# --- A^-1 b (scipy.sparse.linalg.spsolve) ------------------------------------------------


def _spsolve_impl(b, *, A, permc_spec=None, use_umfpack=True):
    x = scipy_sparse_linalg().spsolve(A, b, permc_spec=permc_spec, use_umfpack=use_umfpack)
    return np.asarray(x).reshape(np.shape(b))  # scipy flattens an (n, 1) b


sparse_spsolve = defprim(
    "scipy.sparse.linalg.spsolve",
    _spsolve_impl,
    jvp=[lambda t, ans, b, **p: sparse_spsolve(t, **p)],
    vjp=[lambda g, ans, b, *, A, **p: sparse_spsolve(g, A=A.T, **p)],
    batch=_columns_batch(lambda b, **p: sparse_spsolve(b, **p)),
    fresh=True,
    reads=(),
    test={"make": lambda rng, shape: _rename(_make_operands(rng, shape, square=True,
                                                            solve=True), "A"),
          "complex": True},
    shape=_solved_shape,
)


def _rename(case, name):
    args, params = case
    return args, {name: params["op"].tocsc()}


# --- LU^-1 b (scipy.sparse.linalg.splu(A).solve) --------------------------------------------

_TRANSPOSED = {"N": "T", "T": "N"}


def _lu_solve_vjp(g, ans, b, *, lu, trans):
    if trans == "H":  # (A^-H)^T g = conj(A^-1 conj(g))
        return _ew.conjugate(sparse_lu_solve(_ew.conjugate(g), lu=lu, trans="N"))
    return sparse_lu_solve(g, lu=lu, trans=_TRANSPOSED[trans])


def _lu_solve_impl(b, *, lu, trans="N"):
    return lu.solve(np.asarray(b), trans=trans)


sparse_lu_solve = defprim(
    "scipy.sparse.linalg.lu_solve",
    _lu_solve_impl,
    jvp=[lambda t, ans, b, *, lu, trans: sparse_lu_solve(t, lu=lu, trans=trans)],
    vjp=[_lu_solve_vjp],
    batch=_columns_batch(lambda b, **p: sparse_lu_solve(b, **p)),
    fresh=True,
    reads=(),
    # (complex right-hand sides need a complex factor: scipy refuses to mix them;
    # tests/test_scipy_sparse.py checks complex factors with trans 'N', 'T', 'H')
    test={"make": lambda rng, shape: _factor(_make_operands(rng, shape, square=True,
                                                            solve=True))},
    shape=_solved_shape,
)


def _factor(case):
    args, params = case
    return args, {"lu": scipy_sparse_linalg().splu(params["op"].tocsc()), "trans": "N"}


# --- A(data)^-1 b with the nonzero values of A traced (CSR arrays) -----------------------


def _csr_pattern(indices, indptr, transpose):
    """``(R, C, P)`` for the matrix ``M`` the row solves with: ``M[R[k], C[k]] = data[k]``,
    and ``P`` the constant 0/1 matrix that sums values of the ``k``'s into rows ``R``."""
    n = len(indptr) - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    R, C = (indices, rows) if transpose else (rows, indices)
    P = scipy_sparse().csr_matrix((np.ones(len(R)), (R, np.arange(len(R)))), shape=(n, len(R)))
    return R, C, P


def _csr_solve_impl(data, b, *, indices, indptr, transpose=False):
    n = len(indptr) - 1
    layout = scipy_sparse().csc_matrix if transpose else scipy_sparse().csr_matrix
    M = layout((data, indices, indptr), shape=(n, n))  # CSC of the CSR arrays: A.T
    x = scipy_sparse_linalg().spsolve(M, b)
    return np.asarray(x).reshape(np.shape(b))


def _columns(v, x):
    """``v`` (one value per nonzero) against the columns of ``x`` (1-d or 2-d)."""
    return v if ndim_of(x) == 1 else _sh.expand_dims(v, 1)


def _csr_solve_jvp_data(t, ans, data, b, *, indices, indptr, transpose=False):
    R, C, P = _csr_pattern(indices, indptr, transpose)
    dMx = sparse_matmul(_columns(t, ans) * _ix.take(ans, C, axis=0), op=P)
    return -csr_solve(data, dMx, indices=indices, indptr=indptr, transpose=transpose)


def _csr_solve_vjp(g, ans, data, b, *, wrt, indices, indptr, transpose=False):
    lam = csr_solve(data, g, indices=indices, indptr=indptr, transpose=not transpose)
    out = []
    for i in wrt:
        if i == 1:
            out.append(lam)
        else:
            R, C, _ = _csr_pattern(indices, indptr, transpose)
            prod = _ix.take(lam, R, axis=0) * _ix.take(ans, C, axis=0)
            out.append(-(prod if ndim_of(prod) == 1 else _rd.sum(prod, axis=1)))
    return tuple(out)


def _csr_solve_batch(args, dims, **params):
    (data, b), (dd, db) = args, dims
    if dd is None:  # one matrix: the examples are columns of one solve
        return _columns_batch(lambda v, **p: csr_solve(data, v, **p))((b,), (db,), **params)
    data = _sh.moveaxis(data, dd, 0)
    n = shape_of(data)[0]
    bs = [b] * n if db is None else list(_sh.moveaxis(b, db, 0))
    return _sh.stack([csr_solve(data[i], bs[i], **params) for i in range(n)]), 0


def _make_csr_case(rng, shape):
    n = 4
    dense = rng.uniform(-1.0, 1.0, (n, n)) * (rng.uniform(0, 1, (n, n)) < 0.5) + 4 * np.eye(n)
    A = scipy_sparse().csr_matrix(dense)
    b = rng.standard_normal((n,) + tuple(shape[1:2]))
    return (A.data, b), {"indices": A.indices, "indptr": A.indptr}


csr_solve = defprim(
    "scipy.sparse.linalg.spsolve_values",
    _csr_solve_impl,
    jvp=[_csr_solve_jvp_data,
         lambda t, ans, data, b, **p: csr_solve(data, t, **p)],
    vjp_joint=_csr_solve_vjp,
    batch=_csr_solve_batch,
    reads=("ans", 0),
    test={"make": _make_csr_case, "complex": True},
    shape=lambda data, b, **params: (_shp.shape(b),
                                     np.result_type(_shp.dtype(data), _shp.dtype(b))),
)


# --- scipy.sparse's operators defer to tracers ---------------------------------------------

# Binary operators of scipy.sparse classes that would convert a traced operand to an
# array: with a tracer they return NotImplemented, so Python asks the tracer, whose row
# (matmul, multiply, add ...) finds the sparse constant (core.SPARSE_OPERANDS).
_DEFERRING = ("__matmul__", "__rmatmul__", "__mul__", "__rmul__", "__add__", "__radd__",
              "__sub__", "__rsub__", "__truediv__", "__rtruediv__", "__pow__")


def _deferring(method):
    @functools.wraps(method)
    def operator(self, other, *args, **kwargs):
        if isinstance(other, Tracer):
            return NotImplemented
        return method(self, other, *args, **kwargs)

    operator._fgrad_defers = True
    return operator


def _dot_deferring(method):
    @functools.wraps(method)
    def dot(self, other, *args, **kwargs):
        if isinstance(other, Tracer):
            return matmul_with_sparse(self, other)
        return method(self, other, *args, **kwargs)

    dot._fgrad_defers = True
    return dot


def _multiply_refusing(method):
    @functools.wraps(method)
    def multiply(self, other, *args, **kwargs):
        if isinstance(other, Tracer):
            raise TypeError(
                f"{type(self).__name__}.multiply(x) with a traced x is an elementwise "
                "product whose result is sparse, which cannot carry a derivative. Write "
                "S.toarray() * x for a dense elementwise product (or S @ x for the "
                "matrix product)."
            )
        return method(self, other, *args, **kwargs)

    multiply._fgrad_defers = True
    return multiply


def _install_scipy_sparse():
    """Wrap scipy.sparse's operators (every class that defines one) as described above.
    Plain operands take scipy's own code unchanged."""
    sparse = sys.modules["scipy.sparse"]
    wrappers = dict.fromkeys(_DEFERRING, _deferring)
    wrappers.update(dot=_dot_deferring, multiply=_multiply_refusing)
    roots = tuple(getattr(sparse, n) for n in ("spmatrix", "sparray") if hasattr(sparse, n))
    for name in dir(sparse):
        cls = getattr(sparse, name)
        if not (isinstance(cls, type) and issubclass(cls, roots)):
            continue
        for klass in cls.__mro__:
            if not klass.__module__.startswith("scipy.sparse"):
                continue  # (dict, object: builtins, never changed)
            for attr, wrap in wrappers.items():
                method = klass.__dict__.get(attr)
                if callable(method) and not getattr(method, "_fgrad_defers", False):
                    setattr(klass, attr, wrap(method))


OPERAND_HOOKS["scipy.sparse"] = _install_scipy_sparse
