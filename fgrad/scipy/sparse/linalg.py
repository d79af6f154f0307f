"""fgrad.scipy.sparse.linalg: sparse solves differentiable in the right-hand side.

``spsolve(A, b)``, ``splu(A).solve(b)`` and ``factorized(A)(b)`` follow scipy's
names and signatures.  The matrix ``A`` is a *constant* scipy.sparse matrix; the
right-hand side ``b`` (dense, 1-d or 2-d) may be traced.  ``b -> A^-1 b`` is
linear, so the jvp solves with ``A`` again and the vjp solves with ``A.T`` (for a
factorization, ``solve(g, trans='T')``: nothing is factored twice), in both modes
and to any order; under :func:`fgrad.vmap` the examples become the columns of one
solve.  On plain inputs every function returns scipy's own result.

For derivatives with respect to the nonzero values of the matrix as well, use
:func:`spsolve_values`, which takes the matrix in CSR form (``data``, ``indices``,
``indptr``) with ``data`` traceable.

Example:
    >>> import numpy as np, scipy.sparse as sp, fgrad
    >>> from fgrad.scipy.sparse.linalg import spsolve
    >>> A = sp.csc_array([[2.0, 1.0], [0.0, 4.0]])
    >>> fgrad.grad(lambda b: spsolve(A, b).sum())(np.ones(2))  # A^-T @ [1, 1]
    array([0.5  , 0.125])
"""

import numpy as np

from ... import numpy as fnp
from ...core import any_tracer, ndim_of, shape_of
from ...primitives import sparse as _rows

__all__ = ["spsolve", "splu", "factorized", "spsolve_values"]


def _constant_matrix(A, where):
    """``A`` as a square CSR or CSC matrix for the traced path (scipy converts too)."""
    if any_tracer(A) or hasattr(A, "nnz"):
        _rows.check_operator(A, where)
    else:  # a dense constant, which scipy accepts (converting it, with a warning)
        A = np.asarray(A)
        if A.ndim != 2:
            raise ValueError(f"{where}: A must be a 2-d matrix, got shape {A.shape}")
        A = _rows.scipy_sparse().csc_matrix(A)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{where}: A must be square, got shape {A.shape}")
    return A if A.format in ("csc", "csr") else A.tocsc()


def _check_rhs(b, n, where):
    if hasattr(b, "nnz"):
        raise TypeError(
            f"{where}: a sparse right-hand side with a traced matrix is not supported; "
            "pass b as a dense array"
        )
    if ndim_of(b) not in (1, 2) or shape_of(b)[0] != n:
        raise ValueError(
            f"{where}: b must be 1-d or 2-d with first axis of length {n} (the size of A), "
            f"got shape {shape_of(b)}"
        )


def spsolve(A, b, permc_spec=None, use_umfpack=True):
    """Solve ``A x = b`` for a constant sparse ``A`` (``scipy.sparse.linalg.spsolve``),
    differentiable in ``b``.

    ``A`` is a constant scipy.sparse matrix (any format; converted to CSC as scipy
    does), ``b`` a dense 1-d or 2-d array, traced or not.  As in scipy, ``b`` of
    shape ``(n, 1)`` gives ``x`` of shape ``(n,)``.  A traced ``A`` raises a
    TypeError (see :func:`spsolve_values` for derivatives in its nonzero values).

    Example:
        >>> import numpy as np, scipy.sparse as sp, fgrad
        >>> from fgrad.scipy.sparse.linalg import spsolve
        >>> K = sp.diags([[-1.0] * 2, [2.0] * 3, [-1.0] * 2], [-1, 0, 1], format="csr")
        >>> f = np.array([1.0, 0.0, 1.0])
        >>> spsolve(K, f)
        array([1., 1., 1.])
        >>> fgrad.grad(lambda f: f @ spsolve(K, f))(f)  # 2 K^-1 f for a symmetric K
        array([2., 2., 2.])
    """
    if not any_tracer(A, b):
        return _rows.scipy_sparse_linalg().spsolve(A, b, permc_spec=permc_spec,
                                                   use_umfpack=use_umfpack)
    A = _constant_matrix(A, "spsolve")
    _check_rhs(b, A.shape[0], "spsolve")
    x = _rows.sparse_spsolve(b, A=A, permc_spec=permc_spec, use_umfpack=use_umfpack)
    if ndim_of(b) == 2 and shape_of(b)[1] == 1:
        x = fnp.reshape(x, (-1,))  # scipy's shape for an (n, 1) right-hand side
    return x


class SuperLU:
    """An LU factorization of a constant sparse matrix (from :func:`splu`) whose
    ``solve`` is differentiable in the right-hand side.

    It wraps scipy's ``SuperLU`` object, whose attributes (``L``, ``U``,
    ``perm_r``, ``perm_c``, ``shape``, ``nnz``) it shows unchanged.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> from fgrad.scipy.sparse.linalg import splu
        >>> lu = splu(sp.csc_array([[2.0, 0.0], [1.0, 1.0]]))
        >>> lu.shape, lu.solve(np.array([2.0, 3.0]))
        ((2, 2), array([1., 2.]))
    """

    __slots__ = ("factor",)

    def __init__(self, factor):
        self.factor = factor  # scipy.sparse.linalg.SuperLU

    def __getattr__(self, name):
        if name == "factor":  # not set yet (a copy being made): no recursion
            raise AttributeError(name)
        return getattr(self.factor, name)

    def __repr__(self):
        return f"fgrad SuperLU of shape {self.factor.shape}"

    def solve(self, rhs, trans="N"):
        """Solve ``A x = rhs`` (``trans='N'``), ``A.T x = rhs`` (``'T'``) or
        ``A.conj().T x = rhs`` (``'H'``), as scipy's ``SuperLU.solve``,
        differentiable in ``rhs`` (1-d or 2-d).  The vjp solves the transposed
        system with the same factors.

        Example:
            >>> import numpy as np, scipy.sparse as sp, fgrad
            >>> from fgrad.scipy.sparse.linalg import splu
            >>> lu = splu(sp.csc_array([[2.0, 0.0], [1.0, 1.0]]))
            >>> fgrad.grad(lambda b: lu.solve(b).sum())(np.ones(2))  # A^-T @ [1, 1]
            array([0., 1.])
        """
        if trans not in ("N", "T", "H"):
            raise ValueError(f"SuperLU.solve: trans must be 'N', 'T' or 'H', got {trans!r}")
        if not any_tracer(rhs):
            return self.factor.solve(rhs, trans=trans)
        _check_rhs(rhs, self.factor.shape[0], "SuperLU.solve")
        return _rows.sparse_lu_solve(rhs, lu=self.factor, trans=trans)


def splu(A, permc_spec=None, diag_pivot_thresh=None, relax=None, panel_size=None,
         options=None):
    """LU factorization of a constant sparse matrix (``scipy.sparse.linalg.splu``),
    whose ``solve(b)`` is differentiable in ``b``.

    ``A`` must be a constant (a traced ``A`` raises a TypeError); the arguments
    are scipy's.  Returns a ``SuperLU`` object (its ``solve`` method is differentiable).

    Example:
        >>> import numpy as np, scipy.sparse as sp, fgrad
        >>> from fgrad.scipy.sparse.linalg import splu
        >>> lu = splu(sp.csc_array([[4.0, 1.0], [1.0, 3.0]]))
        >>> J = fgrad.jacfwd(lu.solve)(np.zeros(2))  # the inverse matrix
        >>> np.allclose(J, np.linalg.inv([[4.0, 1.0], [1.0, 3.0]]))
        True
    """
    if any_tracer(A):
        _rows.check_operator(A, "splu")
    factor = _rows.scipy_sparse_linalg().splu(
        A, permc_spec=permc_spec, diag_pivot_thresh=diag_pivot_thresh, relax=relax,
        panel_size=panel_size, options=options)
    return SuperLU(factor)


def factorized(A):
    """A function solving ``A x = b`` for a constant sparse ``A`` with one LU
    factorization (``scipy.sparse.linalg.factorized``), differentiable in ``b``.

    fgrad factors with SuperLU (scipy's choice when scikit-umfpack is absent).

    Example:
        >>> import numpy as np, scipy.sparse as sp, fgrad
        >>> from fgrad.scipy.sparse.linalg import factorized
        >>> solve = factorized(sp.csc_array([[2.0, 0.0], [0.0, 4.0]]))
        >>> fgrad.grad(lambda b: solve(b) @ b)(np.array([1.0, 1.0]))
        array([1. , 0.5])
    """
    if any_tracer(A):
        _rows.check_operator(A, "factorized")
    return splu(A).solve


def spsolve_values(data, indices, indptr, b):
    """Solve ``A x = b`` with ``A`` given by its CSR arrays, differentiable in the
    nonzero values ``data`` and in ``b``.

    ``A = scipy.sparse.csr_array((data, indices, indptr), shape=(n, n))`` with
    ``n = len(indptr) - 1``; ``indices`` and ``indptr`` (the sparsity pattern) are
    constants, ``data`` and ``b`` (1-d or 2-d) may be traced.  The derivative with
    respect to ``data`` is that of the matrix restricted to its pattern:
    ``-(A^-T g)[i] x[j]`` for the entry at row ``i``, column ``j`` (summed over the
    columns of a 2-d ``b``).  Each solve factors the matrix (the vjp factors
    ``A.T``); under vmap with batched ``data`` there is one solve per example.

    Example:
        >>> import numpy as np, scipy.sparse as sp, fgrad
        >>> from fgrad.scipy.sparse.linalg import spsolve_values
        >>> A = sp.csr_array([[2.0, 0.0], [0.0, 4.0]])
        >>> b = np.array([1.0, 2.0])
        >>> spsolve_values(A.data, A.indices, A.indptr, b)
        array([0.5, 0.5])
        >>> fgrad.grad(lambda d: spsolve_values(d, A.indices, A.indptr, b).sum())(A.data)
        array([-0.25 , -0.125])
    """
    if any_tracer(indices, indptr):
        raise TypeError(
            "spsolve_values: indices and indptr (the sparsity pattern) must be constant "
            "integer arrays; only data and b can carry derivatives"
        )
    indices, indptr = np.asarray(indices), np.asarray(indptr)
    n = len(indptr) - 1
    if indptr.ndim != 1 or n < 1 or indices.ndim != 1 or shape_of(data) != indices.shape:
        raise ValueError(
            "spsolve_values: expected CSR arrays (data and indices of one length nnz, "
            f"indptr of length n + 1), got shapes data {shape_of(data)}, indices "
            f"{indices.shape}, indptr {indptr.shape}"
        )
    _check_rhs(b, n, "spsolve_values")
    if not any_tracer(data, b):
        A = _rows.scipy_sparse().csr_array((data, indices, indptr), shape=(n, n))
        return _rows.scipy_sparse_linalg().spsolve(A, b)
    x = _rows.csr_solve(data, b, indices=indices, indptr=indptr)
    if ndim_of(b) == 2 and shape_of(b)[1] == 1:
        x = fnp.reshape(x, (-1,))  # scipy's shape for an (n, 1) right-hand side
    return x
