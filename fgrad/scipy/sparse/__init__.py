"""fgrad.scipy.sparse: constant scipy.sparse matrices as linear operators.

A scipy.sparse matrix or array ``S`` (csr, csc, coo, bsr, dia, lil, dok; the
``*_matrix`` and the ``*_array`` classes) is a *constant* to fgrad: products with a
traced dense 1-d or 2-d ``x`` are differentiable in ``x``, in both modes and to any
order, and batch under :func:`fgrad.vmap` as one sparse-times-dense product.  These
spellings work (scipy.sparse imported before the transform starts):

* ``S @ x``, ``x @ S``, ``S.dot(x)``, ``S.T @ x``;
* ``np.matmul(S, x)``, ``np.dot(S, x)``, ``fgrad.numpy.matmul`` / ``fgrad.numpy.dot``;
* ``S * x`` and ``x * S`` for the ``*_matrix`` classes, where scipy's ``*`` is the
  matrix product.  For the ``*_array`` classes ``*`` is elementwise with a sparse
  result, which cannot carry a derivative: fgrad raises and suggests ``S @ x`` or
  ``S.toarray() * x``.

The derivative is the transposed product (``S.T @ g``).  Other operations mixing a
sparse matrix and a traced value (``S + x``, ``S.multiply(x)``) raise a TypeError
saying to convert the constant with ``S.toarray()``; a traced *sparse* matrix is
not supported.  Sparse solves are in :mod:`fgrad.scipy.sparse.linalg`.

Example:
    >>> import numpy as np, scipy.sparse as sp, fgrad
    >>> S = sp.csr_array([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    >>> fgrad.grad(lambda x: (S @ x).sum())(np.ones(3))  # S.T @ [1, 1]
    array([2., 3., 1.])
"""

from . import linalg  # noqa: F401

__all__ = ["linalg"]
