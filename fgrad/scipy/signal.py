"""fgrad.scipy.signal: differentiable convolution and correlation (``scipy.signal``).

``convolve``, ``correlate``, ``fftconvolve``, ``convolve2d`` and ``correlate2d``
take scipy's arguments and return scipy's values; on traced inputs they are
differentiable in both inputs, in every mode, to any order, and batch under
``vmap``.  All five are one row of the rule table (N-dimensional convolution,
:mod:`fgrad.primitives.signal`): a correlation is the convolution with the second
input reversed and conjugated, and the 2-d boundary options pad the first input
(``'wrap'`` and ``'symm'``) or add the contribution of the fill value
(``'fill'``).  ``method`` only says how scipy computes the value: the linear
map, and so the derivative, is the same.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from fgrad.scipy.signal import convolve
    >>> convolve(fnp.array([1.0, 2.0, 3.0]), fnp.array([0.0, 1.0, 0.5]))
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> fgrad.grad(lambda k: convolve(fnp.arange(3.0), k, mode="valid").sum())(fnp.ones(2))
    array([3., 1.])
"""

import numpy as np

from .. import numpy as fnp
from ..core import Tracer, any_tracer, concrete, ndim_of, shape_of
from ..primitives import signal as _rows
from ..primitives.special import scipy_module
from ..tree import tree_leaves

__all__ = ["convolve", "correlate", "fftconvolve", "convolve2d", "correlate2d"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
_BOUNDARIES = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
               "symm": "symm", "symmetric": "symm"}


def _traced(*xs):
    """Whether any input holds a traced value (also inside a list or tuple)."""
    return any_tracer(*xs) or any(isinstance(leaf, Tracer) for x in xs
                                  if isinstance(x, (list, tuple)) for leaf in tree_leaves(x))


def _signal():
    return scipy_module("signal")


def _check(name, in1, in2, mode, method=None):
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', not {mode!r}")
    if method is not None and method not in _METHODS:
        raise ValueError(f"{name}: method must be 'auto', 'direct' or 'fft', not {method!r}")
    # arrays stay as they are; sequences (possibly of traced values) become arrays
    in1 = in1 if isinstance(in1, (np.ndarray, Tracer)) else fnp.asarray(in1)
    in2 = in2 if isinstance(in2, (np.ndarray, Tracer)) else fnp.asarray(in2)
    if ndim_of(in1) != ndim_of(in2):
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality "
                         f"(got {ndim_of(in1)} and {ndim_of(in2)}); add axes of length 1")
    return in1, in2


def _valid_shapes(name, s1, s2, axes):
    ok1 = all(s1[i] >= s2[i] for i in axes)
    ok2 = all(s2[i] >= s1[i] for i in axes)
    if not (ok1 or ok2):
        raise ValueError(f"{name}: for 'valid' mode, one input must be at least as large as "
                         f"the other in every dimension (got shapes {s1} and {s2})")
    return not ok1  # scipy swaps the inputs


def _empty(in1, in2):
    return 0 in shape_of(in1) or 0 in shape_of(in2)


def _reverse_conj(x, axes=None):
    return fnp.flip(fnp.conjugate(x), axis=axes)


def convolve(in1, in2, mode="full", method="auto"):
    """N-dimensional convolution of two arrays (``scipy.signal.convolve``).

    ``mode`` is ``'full'`` (every overlap), ``'same'`` (the size of ``in1``,
    centred) or ``'valid'`` (full overlaps only; one input must be at least as
    large as the other along every axis, and either may be the larger);
    ``method`` is ``'direct'``, ``'fft'`` or ``'auto'`` (scipy's choice by
    size), as in scipy.  Differentiable in both inputs.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.signal import convolve
        >>> a, k = fnp.array([1.0, 2.0, 3.0]), fnp.array([1.0, -1.0])
        >>> convolve(a, k, mode="same")
        array([1., 1., 1.])
        >>> fgrad.grad(lambda a: (convolve(a, k) ** 2).sum())(a)
        array([0., 0., 8.])
    """
    if not _traced(in1, in2):
        return _signal().convolve(in1, in2, mode=mode, method=method)
    in1, in2 = _check("convolve", in1, in2, mode, method)
    if ndim_of(in1) == 0:
        return in1 * in2
    if _empty(in1, in2):
        return np.array([])
    if mode == "valid":
        _valid_shapes("convolve", shape_of(in1), shape_of(in2), range(ndim_of(in1)))
    return _rows.convolve_row(in1, in2, mode=mode, method=method)


def correlate(in1, in2, mode="full", method="auto"):
    """N-dimensional cross-correlation of two arrays (``scipy.signal.correlate``).

    ``z[k] = sum_n in1[n + k] * conj(in2[n])`` (shifted as scipy's ``mode``
    says); ``mode`` and ``method`` as in :func:`convolve`.  It is the
    convolution of ``in1`` with ``in2`` reversed along every axis and
    conjugated, which is how its derivative is taken.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.signal import correlate
        >>> correlate(fnp.array([1.0, 2.0, 3.0]), fnp.array([0.0, 1.0]), mode="valid")
        array([2., 3.])
        >>> fgrad.grad(lambda v: correlate(fnp.arange(3.0), v, mode="valid").sum())(fnp.ones(2))
        array([1., 3.])
    """
    if not _traced(in1, in2):
        return _signal().correlate(in1, in2, mode=mode, method=method)
    in1, in2 = _check("correlate", in1, in2, mode, method)
    if ndim_of(in1) == 0:
        return in1 * fnp.conjugate(in2)
    if _empty(in1, in2):
        return np.array([])
    if mode == "valid":
        _valid_shapes("correlate", shape_of(in1), shape_of(in2), range(ndim_of(in1)))
    return _rows.convolve_row(in1, _reverse_conj(in2), mode=mode, method=method)


def _fft_axes(in1, in2, axes):
    nd = ndim_of(in1)
    if axes is None:
        axes = list(range(nd))
    else:
        axes = [axes] if np.ndim(axes) == 0 else list(axes)
        if not axes:
            raise ValueError("fftconvolve: when provided, axes cannot be empty")
        for ax in axes:
            if not isinstance(ax, (int, np.integer)) or isinstance(ax, (bool, np.bool_)):
                raise TypeError(f"fftconvolve: axes must be integers, got {ax!r}")
            if not -nd <= ax < nd:
                raise ValueError(f"fftconvolve: axis {ax} is out of bounds for arrays of "
                                 f"dimension {nd}")
        axes = [int(ax) % nd for ax in axes]
        if len(set(axes)) != len(axes):
            raise ValueError(f"fftconvolve: all axes must be unique, got {axes}")
    s1, s2 = shape_of(in1), shape_of(in2)
    # as scipy: an axis of length 1 in either input is broadcast, not transformed
    axes = tuple(sorted(ax for ax in axes if s1[ax] != 1 and s2[ax] != 1))
    if not all(s1[d] == s2[d] or 1 in (s1[d], s2[d]) for d in range(nd) if d not in axes):
        raise ValueError(f"fftconvolve: incompatible shapes for in1 and in2: {s1} and {s2} "
                         "(the axes not convolved must be equal or of length 1)")
    return axes


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution of two N-dimensional arrays by FFT (``scipy.signal.fftconvolve``).

    ``axes`` (default: all) are the axes convolved; along the others the
    inputs broadcast, so a batch of signals can be filtered at once.  ``mode``
    as in :func:`convolve` ('same' centres the output on ``in1``'s shape along
    every axis, as scipy does).  Differentiable in both inputs.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.signal import fftconvolve
        >>> x = fnp.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])   # two signals
        >>> fnp.round(fftconvolve(x, fnp.array([[1.0, 1.0]]), axes=1), 10)
        array([[1., 3., 5., 3.],
               [0., 1., 1., 0.]])
        >>> fgrad.grad(lambda k: fftconvolve(x, k, axes=1).sum())(fnp.array([[1.0, 1.0]])).round(10)
        array([[7., 7.]])
    """
    if not _traced(in1, in2):
        return _signal().fftconvolve(in1, in2, mode=mode, axes=axes)
    in1, in2 = _check("fftconvolve", in1, in2, mode)
    if ndim_of(in1) == 0:
        return in1 * in2
    if _empty(in1, in2):
        return np.array([])
    axes = _fft_axes(in1, in2, axes)
    if not axes:  # nothing left to convolve: a broadcast product, cut as the mode says
        out = in1 * in2
        if mode != "same":
            return out
        starts = [(m - n) // 2 for m, n in zip(shape_of(out), shape_of(in1))]
        return out[tuple(slice(s, s + n) for s, n in zip(starts, shape_of(in1)))]
    if mode == "valid":
        _valid_shapes("fftconvolve", shape_of(in1), shape_of(in2), axes)
    return _rows.convolve_row(in1, in2, mode=mode, method="fft", axes=axes)


def _check_2d(name, in1, in2, mode, boundary, fillvalue):
    in1, in2 = _check(name, in1, in2, mode)
    if ndim_of(in1) != 2:
        raise ValueError(f"{name}: inputs must both be 2-D arrays (got {ndim_of(in1)}-D)")
    if boundary not in _BOUNDARIES:
        raise ValueError(f"{name}: boundary must be 'fill', 'wrap' or 'symm' (or scipy's "
                         f"aliases 'pad', 'circular', 'symmetric'), not {boundary!r}")
    if np.ndim(concrete(fillvalue)) != 0:
        raise ValueError(f"{name}: fillvalue must be a scalar, got an array of shape "
                         f"{np.shape(concrete(fillvalue))}")
    return in1, in2, _BOUNDARIES[boundary]


def _conv2d(in1, kernel, mode, boundary, fillvalue):
    """``convolve2d(in1, kernel, mode, boundary, fillvalue)`` on traced values."""
    conv = lambda x, y, m: _rows.convolve_row(x, y, mode=m, method="direct")  # noqa: E731
    if mode == "valid" or boundary == "fill":
        out = conv(in1, kernel, mode)
        if mode == "valid" or (not any_tracer(fillvalue) and concrete(fillvalue) == 0):
            return out
        # the padding holds ``fillvalue``: add it times the kernel's weight outside in1
        ones = np.ones(shape_of(in1), dtype=np.finfo(np.result_type(concrete(in1), np.float16)).dtype)
        outside = fnp.sum(kernel) - conv(ones, kernel, mode)
        return out + fillvalue * outside
    (n0, n1), (k0, k1) = shape_of(in1), shape_of(kernel)
    padded = fnp.pad(in1, [(k0 - 1, k0 - 1), (k1 - 1, k1 - 1)],
                     mode="wrap" if boundary == "wrap" else "symmetric")
    full = conv(padded, kernel, "valid")
    if mode == "full":
        return full
    s0, s1 = (k0 - 1) // 2, (k1 - 1) // 2
    return full[s0:s0 + n0, s1:s1 + n1]


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Two-dimensional convolution with boundary handling (``scipy.signal.convolve2d``).

    ``boundary`` says what lies outside ``in1``: ``'fill'`` (``fillvalue``,
    default 0), ``'wrap'`` (periodic) or ``'symm'`` (mirrored, the edge
    repeated); it does not matter in ``'valid'`` mode.  Differentiable in both
    inputs (and in a traced ``fillvalue``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.signal import convolve2d
        >>> img, k = fnp.arange(9.0).reshape(3, 3), fnp.array([[0.0, 1.0], [1.0, 0.0]])
        >>> convolve2d(img, k, mode="valid")
        array([[ 4.,  6.],
               [10., 12.]])
        >>> fgrad.grad(lambda k: convolve2d(img, k, boundary="wrap", mode="same").sum())(k)
        array([[36., 36.],
               [36., 36.]])
    """
    if not _traced(in1, in2, fillvalue):
        return _signal().convolve2d(in1, in2, mode=mode, boundary=boundary, fillvalue=fillvalue)
    in1, in2, boundary = _check_2d("convolve2d", in1, in2, mode, boundary, fillvalue)
    if mode == "valid":
        _valid_shapes("convolve2d", shape_of(in1), shape_of(in2), (0, 1))
    return _conv2d(in1, in2, mode, boundary, fillvalue)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """Two-dimensional cross-correlation with boundary handling (``scipy.signal.correlate2d``).

    The convolution of ``in1`` with ``in2`` reversed and conjugated, with
    ``boundary`` and ``fillvalue`` as in :func:`convolve2d`.  In ``'valid'``
    mode with ``in2`` the larger input, scipy correlates the swapped inputs and
    reverses the result without conjugating it; fgrad returns the same values.

    Differentiable in ``in1`` and ``in2`` (bilinear); ``mode``, ``boundary`` and
    ``fillvalue`` are constants.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.signal import correlate2d
        >>> img = fnp.arange(9.0).reshape(3, 3)
        >>> correlate2d(img, fnp.array([[1.0, 0.0], [0.0, -1.0]]), mode="valid")
        array([[-4., -4.],
               [-4., -4.]])
        >>> fgrad.grad(lambda x: correlate2d(x, fnp.ones((2, 2)), mode="valid").sum())(img)
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    if not _traced(in1, in2, fillvalue):
        return _signal().correlate2d(in1, in2, mode=mode, boundary=boundary,
                                     fillvalue=fillvalue)
    in1, in2, boundary = _check_2d("correlate2d", in1, in2, mode, boundary, fillvalue)
    if mode == "valid" and _valid_shapes("correlate2d", shape_of(in1), shape_of(in2), (0, 1)):
        # scipy: correlate the swapped inputs, then reverse (no conjugation)
        return _rows.convolve_row(fnp.conjugate(in1), fnp.flip(in2), mode="valid",
                                  method="direct")
    if mode != "same":
        return _conv2d(in1, _reverse_conj(in2), mode, boundary, fillvalue)
    # scipy centres correlate2d's 'same' output k // 2 into the full one (the
    # convolution's, and correlate's, at (k - 1) // 2)
    full = _conv2d(in1, _reverse_conj(in2), "full", boundary, fillvalue)
    (n0, n1), (k0, k1) = shape_of(in1), shape_of(in2)
    return full[k0 // 2:k0 // 2 + n0, k1 // 2:k1 // 2 + n1]
