"""Rows of the rule table: products (matmul, einsum, diagonals, convolution).

``matmul``, ``einsum``, ``diagonal`` (with its transpose, ``diagonal_embed``)
and ``convolve`` are primitives; ``dot``, ``vdot``, ``inner``, ``outer``,
``tensordot``, ``kron``, ``cross``, ``trace``, ``diag``, ``tril``, ``triu`` and
``correlate`` are written with them and with the shape primitives.

Conventions for complex inputs follow JAX: a cotangent rule is the transpose
of the real-linear tangent map, with no conjugation (``einsum``'s cotangent for
one operand is an ``einsum`` of the output cotangent with the other operands).
"""

__all__ = [
    "matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron", "cross",
    "trace", "diagonal", "diag", "diagflat", "tril", "triu", "convolve", "correlate",
    "matvec", "vecmat", "vecdot", "vander",
]

import functools
import string

import numpy as np

from .. import shapes as _shp
from ..core import any_tracer, concrete, defprim, is_sparse, ndim_of, shape_of, variadic
from .elementwise import astype, conjugate, multiply, negative, subtract, where
from .reductions import sum as _sum
from .shape import (
    atleast_1d,
    broadcast_to,
    concatenate,
    expand_dims,
    flip,
    getitem,
    moveaxis,
    ravel,
    reshape,
    stack,
    swapaxes,
    transpose,
)

_ndarray = np.ndarray
_np_matmul = np.matmul


_any_tracer = any_tracer


# --- matmul ------------------------------------------------------------------------


def _matmul_vjp_a(g, ans, a, b):
    if type(g) is _ndarray and type(b) is _ndarray and b.ndim > 1 and g.ndim >= b.ndim:
        # plain values, a matrix (stack) times a matrix (stack): numpy directly
        return _np_matmul(g, b.swapaxes(-1, -2))
    nb = ndim_of(b)
    if nb == 1:
        if ndim_of(a) == 1:
            return multiply(g, b)
        return multiply(expand_dims(g, -1), b)
    if ndim_of(a) == 1:
        if nb == 2:  # b @ g is the transpose of the map t -> t @ b
            return matmul(b, g)
        return getitem(matmul(b, expand_dims(g, -1)), (Ellipsis, 0))
    return matmul(g, swapaxes(b, -1, -2))


def _matmul_vjp_b(g, ans, a, b):
    if type(g) is _ndarray and type(a) is _ndarray and a.ndim > 1 and g.ndim >= a.ndim:
        # plain values, a matrix (stack) times a matrix (stack): numpy directly
        return _np_matmul(a.swapaxes(-1, -2), g)
    na = ndim_of(a)
    if na == 1:
        if ndim_of(b) == 1:
            return multiply(g, a)
        return multiply(expand_dims(a, -1), expand_dims(g, -2))
    if ndim_of(b) == 1:
        if na == 2:  # g @ a is the transpose of the map t -> a @ t
            return matmul(g, a)
        return getitem(matmul(swapaxes(a, -1, -2), expand_dims(g, -1)), (Ellipsis, 0))
    return matmul(swapaxes(a, -1, -2), g)


matmul = defprim(
    "matmul", np.matmul,
    jvp=[lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t)],
    vjp=[_matmul_vjp_a, _matmul_vjp_b],
    batch="matmul",
    test={"make": lambda rng, shape: (
        (rng.standard_normal(shape[:1] + (2, 3)), rng.standard_normal((3, 2))), {}),
          "also": [
        lambda rng, shape: ((rng.standard_normal(3), rng.standard_normal((2, 3, 2))), {}),
        lambda rng, shape: ((rng.standard_normal((2, 3)), rng.standard_normal(3)), {}),
        lambda rng, shape: ((rng.standard_normal(3), rng.standard_normal(3)), {}),
    ], "complex": True},
    reads=(0, 1),
)


def dot(a, b):
    """Dot product (``numpy.dot``): matmul for 1-D/2-D, sum-product over the
    last axis of ``a`` and second-to-last of ``b`` otherwise.  With a scipy.sparse
    operand it is scipy's product (``S @ x``), where ``np.dot`` would not know the
    sparse matrix.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: 2 * fnp.dot(x, x))(fnp.arange(4.0))
        array([ 0.,  4.,  8., 12.])
    """
    if not _any_tracer(a, b):
        if is_sparse(a) or is_sparse(b):  # np.dot would treat S as one object
            return a * b if np.ndim(a) == 0 or np.ndim(b) == 0 else a @ b
        return np.dot(a, b)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [max(nb - 2, 0)]))


def vdot(a, b):
    """Dot product of flattened arrays, conjugating the first (``numpy.vdot``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.vdot(fnp.ones(3), fnp.arange(3.0))
        np.float64(3.0)
    """
    if not _any_tracer(a, b):
        return np.vdot(a, b)
    return matmul(reshape(conjugate(a), (-1,)), reshape(b, (-1,)))


def inner(a, b):
    """Inner product over the last axes (``numpy.inner``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.inner(fnp.ones((2, 3)), fnp.ones(3))
        array([3., 3.])
    """
    if not _any_tracer(a, b):
        return np.inner(a, b)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a, b):
    """Outer product of two flattened vectors (``numpy.outer``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.outer(fnp.ones(2), fnp.arange(3.0)).shape
        (2, 3)
    """
    if not _any_tracer(a, b):
        return np.outer(a, b)
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def tensordot(a, b, axes=2):
    """Sum products over the given axes (``numpy.tensordot``), via matmul.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.tensordot(fnp.ones((2, 3)), fnp.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    if not _any_tracer(a, b):
        return np.tensordot(a, b, axes)
    sa, sb = shape_of(a), shape_of(b)
    if isinstance(axes, (int, np.integer)):
        axes_a = list(range(len(sa) - axes, len(sa)))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    for name, ax, shape in (("a", axes_a, sa), ("b", axes_b, sb)):
        bad = [i for i in ax if not -len(shape) <= int(i) < len(shape)]
        if bad:  # numpy would raise an IndexError from inside tensordot
            raise ValueError(
                f"tensordot: axes {list(ax)} of {name} are out of range for its shape "
                f"{shape} (rank {len(shape)}); contract over axes that exist (axes=1 "
                "needs both operands of rank >= 1)."
            )
    if len(axes_a) != len(axes_b) or any(
        sa[i] != sb[j] for i, j in zip(axes_a, axes_b)
    ):
        raise ValueError(
            f"tensordot: shape-mismatch for sum: axes {axes_a} of a {sa} and {axes_b} of b {sb}"
        )
    axes_a = [ax % len(sa) for ax in axes_a]
    axes_b = [ax % len(sb) for ax in axes_b]
    free_a = [ax for ax in range(len(sa)) if ax not in axes_a]
    free_b = [ax for ax in range(len(sb)) if ax not in axes_b]
    k = int(np.prod([sa[ax] for ax in axes_a], dtype=int))
    a2 = reshape(transpose(a, free_a + axes_a), (-1, k))
    b2 = reshape(transpose(b, axes_b + free_b), (k, -1))
    out_shape = tuple(sa[ax] for ax in free_a) + tuple(sb[ax] for ax in free_b)
    return reshape(matmul(a2, b2), out_shape)


def _core_ranks(name, *specs):
    # numpy's gufunc check of the core dimensions, made on one example's rank (under
    # vmap the batched array has one more axis, and the product would go through)
    for x, need, arg, sig in specs:
        if ndim_of(x) < need:
            raise ValueError(
                f"{name}: {arg} has {ndim_of(x)} dimension(s) (per example, under vmap), but "
                f"the signature needs {sig}: at least {need}."
            )


def matvec(x1, x2, /, **kwargs):
    """Matrix-vector product over the last axes (``numpy.matvec``):
    ``(..., m, n), (..., n) -> (..., m)``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.matvec(fnp.eye(2), fnp.array([1.0, 2.0]))
        array([1., 2.])
    """
    if not _any_tracer(x1, x2):
        return np.matvec(x1, x2, **kwargs)
    _no_gufunc_kwargs("matvec", kwargs)
    _core_ranks("matvec", (x1, 2, "x1", "(..., m, n)"), (x2, 1, "x2", "(..., n)"))
    return getitem(matmul(x1, expand_dims(x2, -1)), (Ellipsis, 0))


def vecmat(x1, x2, /, **kwargs):
    """Vector-matrix product, conjugating the vector (``numpy.vecmat``):
    ``(..., n), (..., n, m) -> (..., m)``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.vecmat(fnp.array([1.0, 2.0]), fnp.eye(2))
        array([1., 2.])
    """
    if not _any_tracer(x1, x2):
        return np.vecmat(x1, x2, **kwargs)
    _no_gufunc_kwargs("vecmat", kwargs)
    _core_ranks("vecmat", (x1, 1, "x1", "(..., n)"), (x2, 2, "x2", "(..., n, m)"))
    return getitem(matmul(expand_dims(conjugate(x1), -2), x2), (Ellipsis, 0, slice(None)))


def vecdot(x1, x2, /, *, axis=-1, **kwargs):
    """Vector dot product along an axis, conjugating the first (``numpy.vecdot``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.vecdot(x, fnp.arange(3.0)))(fnp.ones(3))
        array([0., 1., 2.])
    """
    if not _any_tracer(x1, x2):
        return np.vecdot(x1, x2, axis=axis, **kwargs)
    _no_gufunc_kwargs("vecdot", kwargs)

    return _sum(multiply(conjugate(x1), x2), axis=axis)


def _no_gufunc_kwargs(name, kwargs):
    extra = {k for k, v in kwargs.items() if v is not None}
    if extra:
        raise TypeError(f"fgrad.numpy.{name} on traced values does not take {sorted(extra)}")


def vander(x, N=None, increasing=False):
    """Vandermonde matrix: columns are powers of ``x`` (``numpy.vander``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.vander(fnp.array([2.0, 3.0]), 3)
        array([[4., 2., 1.],
               [9., 3., 1.]])
    """
    if not _any_tracer(x):
        return np.vander(x, N, increasing)
    if ndim_of(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = shape_of(x)[0] if N is None else int(N)
    # numpy computes in x's dtype promoted with int: float64 for float32 or int x
    dtype = np.promote_types(np.result_type(concrete(x)), int)
    if n == 0:
        return np.zeros((shape_of(x)[0], 0), dtype=dtype)
    if np.result_type(concrete(x)) != dtype:
        x = astype(x, dtype)
    # x**k by repeated multiplication, as numpy does (so values match exactly)
    cols = [broadcast_to(np.ones((), dtype=dtype), shape_of(x))]
    power = x
    for k in range(1, n):
        cols.append(power)
        if k + 1 < n:
            power = multiply(power, x)
    out = stack(cols, axis=1)
    return out if increasing else flip(out, axis=1)


# --- einsum --------------------------------------------------------------------------

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # numpy's label order


@functools.lru_cache(maxsize=1024)
def _parse_einsum(subscripts, ndims):
    """The explicit form of an einsum spec: ``(input terms, output term)``.

    Ellipses are replaced by letters that the spec does not use (right-aligned,
    so operands with fewer broadcast dimensions get the last ones), and an
    implicit output is made explicit with numpy's rule (broadcast dimensions
    first, then the labels that appear exactly once, in label order).
    """
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    terms = ins.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"einsum: the spec {subscripts!r} names {len(terms)} operands but "
            f"{len(ndims)} were given"
        )
    fresh = [c for c in _LETTERS if c not in spec]
    n_ell = max(
        (nd - (len(t) - 3) for t, nd in zip(terms, ndims) if "..." in t), default=0
    )
    ell = "".join(fresh[:n_ell])
    explicit = []
    for t, nd in zip(terms, ndims):
        if "..." in t:
            k = nd - (len(t) - 3)
            t = t.replace("...", ell[n_ell - k:])
        explicit.append(t)
    if arrow:
        out = out.replace("...", ell)
    else:
        labels = ins.replace("...", "").replace(",", "")
        out = ell + "".join(sorted(c for c in set(labels) if labels.count(c) == 1))
    return tuple(explicit), out


def _delta(n, m, dtype):
    """The ``m``-dimensional identity tensor: 1 where all ``m`` indices agree."""
    d = np.zeros((n,) * m, dtype=dtype)
    d[(np.arange(n),) * m] = 1
    return d


def _einsum_jvp(i, t, ans, *ops, subscripts, optimize=False):
    args = list(ops)
    args[i] = t
    return _einsum(*args, subscripts=subscripts, optimize=optimize)


def _einsum_vjp(i, g, ans, *ops, subscripts, optimize=False):
    terms, out = _parse_einsum(subscripts, tuple(ndim_of(o) for o in ops))
    mine = terms[i]
    size = dict(zip(mine, shape_of(ops[i])))
    others = [t for k, t in enumerate(terms) if k != i]
    other_ops = [o for k, o in enumerate(ops) if k != i]
    uniq = "".join(dict.fromkeys(mine))
    seen = set(out).union(*others)
    kept = "".join(c for c in uniq if c in seen)
    # the cotangent over the distinct labels of operand i: one more einsum
    ct = _einsum(g, *other_ops, subscripts=",".join([out, *others]) + "->" + kept,
                 optimize=optimize)
    if kept != uniq:
        # labels summed within operand i alone: the cotangent is constant along them
        have = dict(zip(kept, shape_of(ct)))
        ct = reshape(ct, tuple(have.get(c, 1) for c in uniq))
        ct = broadcast_to(ct, tuple(have.get(c, size[c]) for c in uniq))
    if len(uniq) != len(mine):
        # repeated labels (a trace 'ii->' or a diagonal 'ii->i'): put the cotangent
        # on those diagonals with identity tensors, in one more einsum
        spare = iter(c for c in _LETTERS if c not in mine)
        ct_term, out_term, deltas, delta_terms = list(uniq), list(mine), [], []
        for c in uniq:
            m = mine.count(c)
            if m == 1:
                continue
            names = [next(spare) for _ in range(m)]
            ct_term[uniq.index(c)] = names[0]
            positions = [p for p, d in enumerate(mine) if d == c]
            for p, name in zip(positions, names):
                out_term[p] = name
            delta_terms.append("".join(names))
            deltas.append(_delta(size[c], m, np.result_type(concrete(ct))))
        spec = ",".join(["".join(ct_term), *delta_terms]) + "->" + "".join(out_term)
        ct = _einsum(ct, *deltas, subscripts=spec)
    return ct


def _einsum_batch(args, dims, subscripts, optimize=False):
    ndims = tuple(ndim_of(a) - (d is not None) for a, d in zip(args, dims))
    if all(d is None for d in dims):
        return _einsum(*args, subscripts=subscripts, optimize=optimize), None
    terms, out = _parse_einsum(subscripts, ndims)
    for k, (t, nd) in enumerate(zip(terms, ndims)):
        if len(t) != nd:  # numpy's check, made on one example's rank
            raise ValueError(
                f"einsum: operand {k} of one example has rank {nd}, but the subscripts "
                f"{subscripts!r} give it {len(t)} label(s) ({t!r}); vmap maps over one "
                "axis, so write the subscripts for one example."
            )
    b = next(c for c in _LETTERS if c not in out and all(c not in t for t in terms))
    new_terms = []
    for t, d, a in zip(terms, dims, args):
        if d is not None:
            d = d % ndim_of(a)
            t = t[:d] + b + t[d:]
        new_terms.append(t)
    spec = ",".join(new_terms) + "->" + b + out
    if optimize is False and len(args) == 2 and None in dims and _elements(args) >= 2 ** 20:
        # one operand the same for every example: numpy's einsum runs its own loops
        # unless asked to optimise, and then makes the whole batch one BLAS product
        # (as the matmul rule does); the contraction order of two operands is the same
        optimize = True
    return _einsum(*args, subscripts=spec, optimize=optimize), 0


def _elements(args):
    n = 1
    for a in args:
        for s in shape_of(a):
            n *= s
    return n


def _einsum_impl(*ops, subscripts, optimize=False):
    return np.einsum(subscripts, *ops, optimize=optimize)


def _einsum_case(spec, *shapes):
    return lambda rng, shape: (
        tuple(rng.standard_normal(s) for s in shapes), {"subscripts": spec})


_EINSUM_CASES = [
    _einsum_case("ij,jk->ik", (2, 3), (3, 2)),
    _einsum_case("ii->", (3, 3)),
    _einsum_case("ii->i", (3, 3)),
    _einsum_case("iij,jk->ik", (2, 2, 3), (3, 2)),
    _einsum_case("...ij,...jk", (2, 1, 2, 3), (3, 3, 2)),
    _einsum_case("ij,jk,kl->il", (2, 3), (3, 2), (2, 2)),
    _einsum_case("ij,k->ik", (2, 3), (2,)),
    _einsum_case("i,j", (2,), (3,)),
    _einsum_case("iji->j", (2, 3, 2)),
    _einsum_case("ij->", (2, 3)),
]

def _einsum_shape(*ops, subscripts, optimize=False):
    return (_shp.einsum_shape(subscripts, [_shp.shape(a) for a in ops]),
            np.result_type(*[_shp.dtype(a) for a in ops]))


_einsum = defprim(
    "einsum", _einsum_impl,
    jvp=variadic(_einsum_jvp),
    vjp=variadic(_einsum_vjp),
    batch=_einsum_batch,
    test={"make": _EINSUM_CASES[0], "also": _EINSUM_CASES[1:], "complex": True},
    reads=("args",), shape=_einsum_shape,
)


def _sublists_to_spec(args):
    """numpy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as a string."""
    labels = sorted(_LETTERS)

    def term(sub):
        return "".join("..." if s is Ellipsis else labels[int(s)] for s in sub)

    ops = args[0::2][: len(args) // 2]
    terms = [term(s) for s in args[1::2]]
    spec = ",".join(terms)
    if len(args) % 2:
        spec += "->" + term(args[-1])
    return spec, list(ops)


def einsum(*operands, out=None, optimize=False, dtype=None, **kwargs):
    """Einstein summation (``numpy.einsum``), differentiable in every operand.

    Implicit and explicit outputs, ellipses, any number of operands, and
    repeated labels within an operand (traces ``'ii->'``, diagonals
    ``'ii->i'``) are supported, as is numpy's interleaved sublist form.  The
    cotangent of each operand is another einsum.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda a: fnp.einsum('ii->', a))(fnp.ones((2, 2)))
        array([[1., 0.],
               [0., 1.]])
    """
    arrays = operands[1:] if isinstance(operands[0], str) else operands[0::2]
    if not _any_tracer(*arrays):
        return np.einsum(*operands, out=out, optimize=optimize, dtype=dtype, **kwargs)
    if out is not None:
        raise TypeError(
            "einsum(..., out=...) would write a traced value into an existing array; "
            "use the returned value instead"
        )
    if isinstance(operands[0], str):
        spec, ops = operands[0], list(operands[1:])
    else:
        spec, ops = _sublists_to_spec(operands)
    if dtype is not None:
        ops = [astype(o, dtype) for o in ops]
    return _einsum(*ops, subscripts=spec, optimize=optimize)


# --- diagonals -------------------------------------------------------------------------


def _diag_index(n, offset):
    """Positions of the ``offset`` diagonal's ``n`` entries along (axis1, axis2)."""
    k = np.arange(n)
    return k + max(-offset, 0), k + max(offset, 0)


def _diagonal_embed_impl(g, shape, offset, axis1, axis2):
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    i, j = _diag_index(g.shape[-1], offset)
    view[..., i, j] = g
    return out


def _diagonal_batch(args, dims, offset, axis1, axis2):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)
    return _diagonal(x, offset=offset, axis1=axis1 + 1, axis2=axis2 + 1), 0


def _diagonal_embed_batch(args, dims, shape, offset, axis1, axis2):
    (g,), (d,) = args, dims
    g = moveaxis(g, d, 0)
    return _diagonal_embed(g, shape=shape_of(g)[:1] + tuple(shape), offset=offset,
                           axis1=axis1 + 1, axis2=axis2 + 1), 0


def _diagonal_case(rng, shape):
    nd = int(rng.integers(2, 4))
    x = rng.standard_normal(tuple(rng.integers(1, 4, nd)))
    axis1, axis2 = (int(a) for a in rng.permutation(nd)[:2])
    offset = int(rng.integers(-1, 2))
    return (x,), {"offset": offset, "axis1": axis1, "axis2": axis2}


def _diagonal_embed_case(rng, shape):
    (x,), params = _diagonal_case(rng, shape)
    g = np.diagonal(x, **params)
    return (rng.standard_normal(g.shape),), dict(params, shape=x.shape)


_diagonal = defprim(
    "diagonal", lambda x, offset, axis1, axis2: np.diagonal(x, offset, axis1, axis2),
    jvp=[lambda t, ans, x, offset, axis1, axis2: _diagonal(
        t, offset=offset, axis1=axis1, axis2=axis2)],
    vjp=[lambda g, ans, x, offset, axis1, axis2: _diagonal_embed(
        g, shape=x.shape, offset=offset, axis1=axis1, axis2=axis2)],
    batch=_diagonal_batch,
    test={"make": _diagonal_case, "complex": True},
    reads=(0, 1, 2, 3),
    shape=lambda x, offset, axis1, axis2: (
        np.diagonal(_shp.layout(x), offset, axis1, axis2).shape, _shp.dtype(x)),
)
_diagonal_embed = defprim(
    "diagonal_embed", _diagonal_embed_impl,
    jvp=[lambda t, ans, g, shape, offset, axis1, axis2: _diagonal_embed(
        t, shape=shape, offset=offset, axis1=axis1, axis2=axis2)],
    vjp=[lambda c, ans, g, shape, offset, axis1, axis2: _diagonal(
        c, offset=offset, axis1=axis1, axis2=axis2)],
    batch=_diagonal_embed_batch,
    test={"make": _diagonal_embed_case},
    reads=(2, 3, 4), shape=_shp.of_param("shape"),
)


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The given diagonal of an array (``numpy.diagonal``), as a new last axis.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.diagonal(x, 1).sum())(fnp.ones((2, 3)))
        array([[0., 1., 0.],
               [0., 0., 1.]])
    """
    if not _any_tracer(a):
        return np.diagonal(a, offset, axis1, axis2)
    nd = ndim_of(a)
    if nd < 2:
        raise ValueError("diagonal requires an array of at least two dimensions")
    axis1, axis2 = int(axis1) % nd, int(axis2) % nd
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    return _diagonal(a, offset=int(offset), axis1=axis1, axis2=axis2)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """Sum along a diagonal (``numpy.trace``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(fnp.trace)(fnp.ones((2, 2)))
        array([[1., 0.],
               [0., 1.]])
    """
    if not _any_tracer(a):
        return np.trace(a, offset, axis1, axis2, dtype=dtype, out=out)

    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v, k=0):
    """Extract a diagonal of a 2-D array, or build a 2-D array with ``v`` on a
    diagonal (``numpy.diag``); the two directions are each other's transpose.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.diag(fnp.array([1.0, 2.0]), 1)
        array([[0., 1., 0.],
               [0., 0., 2.],
               [0., 0., 0.]])
        >>> fgrad.grad(lambda v: fnp.diag(v).sum())(fnp.ones(2))
        array([1., 1.])
    """
    if not _any_tracer(v):
        return np.diag(v, k)
    nd, k = ndim_of(v), int(k)
    if nd == 1:
        n = shape_of(v)[0] + abs(k)
        return _diagonal_embed(v, shape=(n, n), offset=k, axis1=0, axis2=1)
    if nd == 2:
        return _diagonal(v, offset=k, axis1=0, axis2=1)
    raise ValueError("diag: input must be 1-d or 2-d")


def diagflat(v, k=0):
    """A 2-D array with the flattened input on diagonal ``k`` (``numpy.diagflat``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.diagflat(fnp.ones((1, 2)))
        array([[1., 0.],
               [0., 1.]])
    """
    if not _any_tracer(v):
        return np.diagflat(v, k)
    return diag(ravel(v), k)


def _tri_mask(shape, k, lower):
    n, m = (shape[-2], shape[-1]) if len(shape) >= 2 else (shape[-1], shape[-1])
    mask = np.tri(n, m, k if lower else k - 1, dtype=bool)
    return mask if lower else ~mask


def _triangle(plain, m, k, lower):
    """tril/triu: numpy's ``plain`` on untraced input, else ``m`` masked to the
    triangle on or below (``lower``) / above diagonal ``k``."""
    if not _any_tracer(m):
        return plain(m, k)
    mask = _tri_mask(shape_of(m), int(k), lower=lower)
    return where(mask, m, np.zeros(1, dtype=np.result_type(concrete(m))))


def tril(m, k=0):
    """Lower triangle: zeros above diagonal ``k`` of the last two axes (``numpy.tril``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.tril(x).sum())(fnp.ones((2, 2)))
        array([[1., 0.],
               [1., 1.]])
    """
    return _triangle(np.tril, m, k, lower=True)


def triu(m, k=0):
    """Upper triangle: zeros below diagonal ``k`` of the last two axes (``numpy.triu``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.triu(x, 1).sum())(fnp.ones((2, 2)))
        array([[0., 1.],
               [0., 0.]])
    """
    return _triangle(np.triu, m, k, lower=False)


# --- kron and cross -----------------------------------------------------------------------


def kron(a, b):
    """Kronecker product (``numpy.kron``): blocks ``a[i] * b``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.kron(fnp.array([1.0, 2.0]), fnp.ones(2))
        array([1., 1., 2., 2.])
        >>> fgrad.grad(lambda a: fnp.kron(a, fnp.arange(3.0)).sum())(fnp.ones(2))
        array([3., 3.])
    """
    if not _any_tracer(a, b):
        return np.kron(a, b)
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + sa
    sb = (1,) * (nd - len(sb)) + sb
    a2 = reshape(a, tuple(x for n in sa for x in (n, 1)))
    b2 = reshape(b, tuple(x for n in sb for x in (1, n)))
    return reshape(multiply(a2, b2), tuple(p * q for p, q in zip(sa, sb)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors) along an axis (``numpy.cross``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.cross(fnp.array([1.0, 0.0, 0.0]), fnp.array([0.0, 1.0, 0.0]))
        array([0., 0., 1.])
    """
    if not _any_tracer(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    if not ndim_of(a) or not ndim_of(b):  # numpy's check (under vmap: one example's rank)
        raise ValueError("cross: at least one array has zero dimension (a scalar); the "
                         "cross product needs vectors of length 2 or 3")
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError(
            "incompatible dimensions for cross product (dimension must be 2 or 3)"
        )
    if na == 2 or nb == 2:
        # numpy 2.0 deprecates 2-vectors and numpy 2.5 refuses them: ask the installed numpy
        # (on zeros of the same lengths), so that fgrad warns or refuses exactly as it does
        np.cross(np.zeros(na), np.zeros(nb))
    if na == 2 and nb == 2:
        return subtract(multiply(a[..., 0], b[..., 1]), multiply(a[..., 1], b[..., 0]))
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None

    def prod(x, y):
        return None if x is None or y is None else multiply(x, y)

    def minus(x, y):
        if x is None:
            return negative(y)
        return x if y is None else subtract(x, y)

    c0 = minus(prod(a1, b2), prod(a2, b1))
    c1 = minus(prod(a2, b0), prod(a0, b2))
    c2 = subtract(multiply(a0, b1), multiply(a1, b0))
    shape = np.broadcast_shapes(shape_of(c0), shape_of(c1), shape_of(c2))
    c = stack([broadcast_to(c0, shape), broadcast_to(c1, shape), broadcast_to(c2, shape)],
              axis=-1)
    return moveaxis(c, -1, axisc)


# --- convolution ----------------------------------------------------------------------------


def _convolve_vjp(which, g, a, v, mode):
    """Cotangent of one operand: zero-pad ``g`` to the 'full' length, then a
    'valid' convolution with the other operand reversed."""
    na, nv = shape_of(a)[0], shape_of(v)[0]
    full = na + nv - 1
    start = _mode_start(na, nv, mode)
    dtype = np.result_type(concrete(g))
    pad = (np.zeros(start, dtype=dtype), np.zeros(full - start - shape_of(g)[0], dtype=dtype))
    g_full = concatenate([pad[0], g, pad[1]])
    other = v if which == 0 else a
    return _convolve(g_full, flip(other, axis=0), mode="valid")


def _mode_start(na, nv, mode):
    """Where numpy's ``convolve(a, v, mode)`` output starts inside the 'full' one."""
    n = min(na, nv)
    return {"full": 0, "same": (n - 1) // 2, "valid": n - 1}[mode]


def _convolve_batch(args, dims, mode):
    """Batched convolution without a loop: a Toeplitz gather of ``v`` and an einsum."""
    (a, v), (da, dv) = args, dims
    a = a if da is None else moveaxis(a, da, 0)
    v = v if dv is None else moveaxis(v, dv, 0)
    na, nv = shape_of(a)[-1], shape_of(v)[-1]
    full = na + nv - 1
    pad = np.zeros(shape_of(v)[:-1] + (na - 1,), dtype=np.result_type(concrete(v)))
    v_pad = concatenate([pad, v, pad], axis=-1)
    # toeplitz[..., n, k] = v[..., n - k], zero outside 0 <= n - k < nv
    index = np.arange(full)[:, None] - np.arange(na)[None, :] + (na - 1)
    toeplitz = getitem(v_pad, (Ellipsis, index))
    spec = ("k" if da is None else "bk") + "," + ("nk" if dv is None else "bnk") + "->bn"
    out = _einsum(a, toeplitz, subscripts=spec)
    start = _mode_start(na, nv, mode)
    length = {"full": full, "same": max(na, nv), "valid": max(na, nv) - min(na, nv) + 1}[mode]
    return getitem(out, (slice(None), slice(start, start + length))), 0


def _convolve_shape(a, v, mode):
    n, m = (int(np.prod(_shp.shape(x), dtype=np.int64)) for x in (a, v))
    if not n or not m:
        raise ValueError("convolve: an input is empty")
    size = {"full": n + m - 1, "same": max(n, m), "valid": max(n, m) - min(n, m) + 1}[mode]
    return (size,), _shp.dtype_on_tiny(lambda a, v: np.convolve(a, v, mode=mode), [a, v])


_convolve = defprim(
    "convolve", lambda a, v, mode: np.convolve(a, v, mode=mode),
    jvp=[lambda t, ans, a, v, mode: _convolve(t, v, mode=mode),
         lambda t, ans, a, v, mode: _convolve(a, t, mode=mode)],
    vjp=[lambda g, ans, a, v, mode: _convolve_vjp(0, g, a, v, mode),
         lambda g, ans, a, v, mode: _convolve_vjp(1, g, a, v, mode)],
    batch=_convolve_batch,
    test={"make": lambda rng, shape: (
        (rng.standard_normal(int(rng.integers(1, 6))), rng.standard_normal(int(rng.integers(1, 6)))),
        {"mode": ["full", "same", "valid"][int(rng.integers(3))]}),
          "complex": True},
          reads=(0, 1, 2), shape=_convolve_shape,
)


def _check_1d(a, v, name, mode):
    """The two inputs of convolve/correlate as 1-D arrays, and ``mode`` checked."""
    a, v = atleast_1d(a), atleast_1d(v)
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        raise ValueError(f"{name}: object too deep for desired array (inputs must be 1-D)")
    if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
        raise ValueError(f"{name}: inputs cannot be empty")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', not {mode!r}")
    return a, v


def convolve(a, v, mode="full"):
    """Discrete linear convolution of two 1-D sequences (``numpy.convolve``).

    Modes ``'full'``, ``'same'`` and ``'valid'``; differentiable in both inputs.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.convolve(fnp.array([1.0, 2.0]), fnp.array([1.0, 1.0]))
        array([1., 3., 2.])
        >>> fgrad.grad(lambda a: fnp.convolve(a, fnp.array([1.0, 1.0])).sum())(fnp.ones(2))
        array([2., 2.])
    """
    if not _any_tracer(a, v):
        return np.convolve(a, v, mode)
    a, v = _check_1d(a, v, "convolve", mode)
    return _convolve(a, v, mode=mode)


def correlate(a, v, mode="valid"):
    """Cross-correlation of two 1-D sequences (``numpy.correlate``):
    ``c[k] = sum_n a[n + k] * conj(v[n])``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.correlate(fnp.array([1.0, 2.0, 3.0]), fnp.array([0.0, 1.0]))
        array([2., 3.])
        >>> fgrad.grad(lambda v: fnp.correlate(fnp.arange(3.0), v).sum())(fnp.ones(2))
        array([1., 3.])
    """
    if not _any_tracer(a, v):
        return np.correlate(a, v, mode)
    a, v = _check_1d(a, v, "correlate", mode)
    full = _convolve(a, flip(conjugate(v), axis=0), mode="full")
    na, nv = shape_of(a)[0], shape_of(v)[0]
    n = min(na, nv)
    if mode == "full":
        return full
    if mode == "valid":
        return getitem(full, slice(n - 1, max(na, nv)))
    # numpy centres 'same' differently depending on which input is longer
    start = (n - 1) // 2 if na >= nv else n // 2
    return getitem(full, slice(start, start + max(na, nv)))
