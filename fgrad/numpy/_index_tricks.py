"""Index tricks that build arrays: ``r_`` and ``c_`` (``numpy.r_``, ``numpy.c_``), and
``row_stack`` (numpy's deprecated name of ``vstack``).

``fnp.r_[...]`` reads its index like numpy: slices become ranges (a complex step
``0:1:5j`` is a count, as ``linspace``), scalars and arrays are joined along an
axis, and a first string entry sets the axis, the minimum rank and where a
lower-rank part's axes go (``'0,2,1'``), or asks for a row or column (``'r'``,
``'c'``).  With no traced part anywhere (slice bounds included) numpy builds the
result itself; otherwise each part is shaped by the same rules and the parts
are concatenated by fgrad, so the result is differentiable in every traced part.

Two things are decided from the index alone, never from traced values: the
length of a range with a real step needs plain bounds (a traced bound with a
complex step is a ``linspace`` and differentiable), and the ``'r'``/``'c'``
directives, which give an ``np.matrix`` in numpy, give a 2-D array of the same
shape when a part is traced (fgrad has no matrix type: see ``docs/sharp-bits.md``).
"""

import warnings

import numpy as np

from ..core import Tracer, concrete
from ..primitives.elementwise import astype
from ..primitives.shape import concatenate, reshape, swapaxes, transpose, vstack
from ._arguments import _contains_tracer, _dtype, _ndim, _shape
from ._creation import array, linspace

__all__ = ["r_", "c_"] + (["row_stack"] if hasattr(np, "row_stack") else [])

_SCALAR_TYPES = tuple(np.ScalarType)


def _traced_key(key):
    for item in key:
        if _contains_tracer(item):
            return True
        if isinstance(item, slice) and any(
                isinstance(b, Tracer) for b in (item.start, item.stop, item.step)):
            return True
    return False


def _with_ndmin(x, ndmin):
    shape = _shape(x)
    if len(shape) >= ndmin:
        return x
    return reshape(x, (1,) * (ndmin - len(shape)) + tuple(shape))


def _directive(item, axis, ndmin, trans1d, name):
    """The settings a string entry gives: ``(axis, ndmin, trans1d, matrix, col)``."""
    if item in ("r", "c"):
        return axis, ndmin, trans1d, True, item == "c"
    if "," in item:
        parts = item.split(",")
        try:
            if len(parts) > 3:
                raise ValueError
            axis, ndmin = int(parts[0]), int(parts[1])
            if len(parts) == 3:
                trans1d = int(parts[2])
        except ValueError:
            raise ValueError(
                f"fgrad.numpy.{name}: unknown directive {item!r}; a directive is 'r', 'c', an "
                "axis ('-1') or 'axis,ndmin[,trans1d]' such as '0,2,1'"
            ) from None
        return axis, ndmin, trans1d, False, False
    try:
        return int(item), ndmin, trans1d, False, False
    except ValueError:
        raise ValueError(
            f"fgrad.numpy.{name}: unknown directive {item!r}; a directive is 'r', 'c', an "
            "axis ('-1') or 'axis,ndmin[,trans1d]' such as '0,2,1'"
        ) from None


def _range(item, name):
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if isinstance(step, Tracer):
        raise TypeError(
            f"fgrad.numpy.{name}: the step of a slice is traced, but it decides how many "
            "values the range has; pass a plain number (a complex step such as 5j is a count)"
        )
    if isinstance(step, (complex, np.complexfloating)):
        return linspace(start, item.stop, num=int(abs(step)))
    if isinstance(start, Tracer) or isinstance(item.stop, Tracer):
        raise TypeError(
            f"fgrad.numpy.{name}: a slice with a real step is a range (np.arange) whose length "
            "depends on the values of its bounds, so its bounds cannot be traced. Give the "
            "number of values as a complex step instead, e.g. r_[a:b:5j] (a linspace, "
            "differentiable in a and b)"
        )
    return np.arange(start, item.stop, step)


class _Concatenator:
    """``r_``/``c_``: index with parts to join them (see the module docstring)."""

    __slots__ = ()
    name, axis, ndmin, trans1d = "r_", 0, 1, -1

    def __len__(self):
        return 0

    def __repr__(self):
        return f"fgrad.numpy.{self.name}"

    def __getitem__(self, key):
        name = self.name
        if isinstance(key, str):
            raise TypeError(
                f"fgrad.numpy.{name}[{key!r}]: a string alone asks numpy for a matrix built "
                "from variable names (np.bmat), which fgrad does not support; join arrays "
                f"with fgrad.numpy.{name}[a, b] or fgrad.numpy.block"
            )
        key = key if isinstance(key, tuple) else (key,)
        if not _traced_key(key):
            return (np.r_ if name == "r_" else np.c_)[key]
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        matrix = col = False
        parts, kinds = [], []
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError(
                        f"fgrad.numpy.{name}: a directive string ({item!r}) must be the first entry"
                    )
                axis, ndmin, trans1d, matrix, col = _directive(item, axis, ndmin, trans1d, name)
                continue
            if isinstance(item, slice):
                part = _range(item, name)
                if ndmin > 1:
                    part = _with_ndmin(part, ndmin)
                    if trans1d != -1:
                        part = swapaxes(part, -1, trans1d)
                parts.append(part)
                kinds.append(_dtype(part))
            elif type(item) in _SCALAR_TYPES:
                parts.append(item)
                kinds.append(item)  # a Python scalar promotes weakly, as in numpy
            else:
                part = array(item) if _contains_tracer(item) else np.asarray(item)
                nd = _ndim(part)
                part = _with_ndmin(part, ndmin)
                if trans1d != -1 and nd < ndmin:
                    k2 = ndmin - nd
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    order = list(range(ndmin))
                    part = transpose(part, order[:k1] + order[k2:] + order[k1:k2])
                parts.append(part)
                kinds.append(_dtype(part))
        dt = np.result_type(*kinds)
        joined = []
        for part in parts:
            if not isinstance(part, Tracer):
                part = np.array(concrete(part), dtype=dt, ndmin=ndmin)
            else:
                part = _with_ndmin(part, ndmin)
                if _dtype(part) != dt:
                    part = astype(part, dt)
            joined.append(part)
        out = concatenate(joined, axis=axis)
        if matrix:  # numpy's np.matrix, as a 2-D array of its shape
            if len(_shape(out)) == 1:
                out = reshape(out, (-1, 1) if col else (1, -1))
        return out


class RClass(_Concatenator):
    """Join slices, scalars and arrays along the first axis (``numpy.r_``).

    ``fnp.r_[0:1:5j, x, 7.0]`` is numpy's result when nothing is traced, and a
    differentiable concatenation otherwise; a first string entry is a directive
    (``'r'``, ``'c'``, an axis, or ``'axis,ndmin,trans1d'``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.r_[1:4, 0, fnp.array([7, 8])]
        array([1, 2, 3, 0, 7, 8])
        >>> fgrad.grad(lambda x: fnp.sum(fnp.r_[0:x:3j, x] ** 2))(2.0)
        np.float64(9.0)
    """

    __slots__ = ()


class CClass(_Concatenator):
    """Join arrays as columns, along the last axis (``numpy.c_``).

    1-D parts become columns; otherwise as ``r_`` with the directive ``'-1,2,0'``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.c_[fnp.array([1.0, 2.0]), fnp.array([3.0, 4.0])]
        array([[1., 3.],
               [2., 4.]])
        >>> fgrad.grad(lambda x: fnp.c_[x, 2 * x][:, 1].sum())(fnp.ones(2))
        array([2., 2.])
    """

    __slots__ = ()
    name, axis, ndmin, trans1d = "c_", -1, 2, 0


r_ = RClass()
c_ = CClass()


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """Stack arrays as rows: numpy's deprecated name of :func:`vstack`
    (``numpy.row_stack``, deprecated since numpy 2.0).

    Present exactly when the installed numpy has it, and like numpy it gives a
    ``DeprecationWarning`` pointing at the caller, then returns ``vstack(tup)``.

    Example:
        >>> import warnings, fgrad.numpy as fnp
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     fnp.row_stack([fnp.ones(2), fnp.zeros(2)])
        array([[1., 1.],
               [0., 0.]])
    """
    warnings.warn("`row_stack` alias is deprecated (as numpy.row_stack is since numpy 2.0). "
                  "Use `fgrad.numpy.vstack` directly.", DeprecationWarning,
                  stacklevel=3)  # the caller, past fgrad.numpy's array-like wrapper
    return vstack(tup, dtype=dtype, casting=casting)


if not hasattr(np, "row_stack"):
    del row_stack
