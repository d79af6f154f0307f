"""Flat vectors and pytrees: ``ravel_pytree``, as ``jax.flatten_util``.

Optimisers, solvers and samplers that work on one 1-d vector (``scipy.optimize``,
a hand-written Newton step, ``check_grads`` on many parameters) can then take a
model's parameters however they are nested.

Example:
    >>> import fgrad.numpy as fnp
    >>> from fgrad.flatten_util import ravel_pytree
    >>> flat, unravel = ravel_pytree({"w": fnp.ones((2, 2)), "b": fnp.zeros(2)})
    >>> flat
    array([0., 0., 1., 1., 1., 1.])
    >>> unravel(flat + 1)["b"]
    array([1., 1.])
"""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .core import dtype_of, leaf_problem, shape_of
from .tree import keystr, tree_flatten, tree_flatten_with_path

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree):
    """Flatten a pytree of arrays and numbers into one 1-d array.

    Returns ``(flat, unravel)``: ``flat`` joins the leaves, each raveled in C
    order, in the order of :func:`fgrad.tree_util.tree_leaves`, with the dtype
    numpy promotes the leaves' dtypes to; ``unravel(v)`` takes a 1-d array of
    the same length and returns the pytree, each leaf with its original shape
    and dtype (a float32 leaf comes back float32 from a float64 ``flat``).
    Both directions are differentiable and work under ``vmap``.  A tree
    without leaves gives an empty float64 vector (numpy's default float).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.flatten_util import ravel_pytree
        >>> params = (fnp.array([1.0, 2.0]), {"s": 3.0})
        >>> flat, unravel = ravel_pytree(params)
        >>> flat
        array([1., 2., 3.])
        >>> unravel(fnp.array([4.0, 5.0, 6.0]))
        (array([4., 5.]), {'s': array(6.)})
        >>> loss = lambda p: fnp.sum(p[0] ** 2) * p[1]["s"]
        >>> fgrad.grad(lambda v: loss(unravel(v)))(flat)   # a gradient as one vector
        array([ 6., 12.,  5.])
    """
    leaves, treedef = tree_flatten(pytree)
    for k, x in enumerate(leaves):
        problem = leaf_problem(x)
        if problem is not None:
            path = keystr(tree_flatten_with_path(pytree)[0][k][0])
            raise TypeError(
                f"ravel_pytree: the leaf{' at ' + path if path else ''} is {problem}; "
                "ravel_pytree joins numbers and numeric arrays. Register a container "
                "class with fgrad.tree_util.register_pytree_node_class or "
                "register_dataclass, or keep this value out of the tree.")
    shapes = [shape_of(x) for x in leaves]
    dtypes = [dtype_of(x) for x in leaves]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    total = sum(sizes)
    dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    if not leaves:
        flat = np.zeros(0, dtype=dtype)
    else:
        parts = [fnp.ravel(x if d == dtype else fnp.astype(x, dtype))
                 for x, d in zip(leaves, dtypes)]
        flat = parts[0] if len(parts) == 1 else fnp.concatenate(parts)
    bounds = np.cumsum([0] + sizes)

    def unravel(v):
        if shape_of(v) != (total,):
            raise ValueError(
                f"unravel expects a 1-d array of length {total} (like the flat vector "
                f"ravel_pytree returned), got one of shape {shape_of(v)}.")
        if dtype_of(v).kind == "c" and dtype.kind != "c":
            raise TypeError(
                f"unravel got a complex vector ({dtype_of(v)}) for a pytree of real leaves "
                f"({dtype}); its imaginary part would be lost. Pass the real part.")
        out = []
        for k, (shape, d) in enumerate(zip(shapes, dtypes)):
            piece = fnp.reshape(v[int(bounds[k]):int(bounds[k + 1])], shape)
            if d.kind != "c" and dtype_of(piece).kind == "c":
                piece = fnp.real(piece)  # a real leaf of a mixed real/complex tree
            out.append(piece if dtype_of(piece) == d else fnp.astype(piece, d))
        return treedef.unflatten(out)

    return flat, unravel
