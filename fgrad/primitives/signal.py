"""Row of the rule table for scipy.signal: N-dimensional linear convolution.

One row, ``scipy.signal.convolve``, serves ``convolve``, ``correlate``,
``fftconvolve``, ``convolve2d`` and ``correlate2d`` of :mod:`fgrad.scipy.signal`
(correlation is convolution with the other input reversed and conjugated; the
2-d boundary options pad the first input).  Its keyword parameters are the
``mode`` (``'full'``, ``'same'``, ``'valid'``), the ``method`` (``'direct'``,
``'fft'``, ``'auto'``: how scipy computes the value; the linear map, hence the
derivative, is the same) and the ``axes`` convolved (the others broadcast, as in
``scipy.signal.fftconvolve``).

Convolution is bilinear, so every rule is again a convolution, written with
this row: the tangent in one input is the convolution of the tangent with the
other input, and the cotangent of one input is the 'valid' (or 'full')
convolution of the cotangent with the other input reversed along the axes, the
transpose of the linear map (no conjugation, JAX's convention for complex
values).  Derivatives of every order follow.
"""

import numpy as np

from .. import shapes as _shp
from ..core import defprim, shape_of
from . import indexing as _ix
from . import shape as _sh
from .special import scipy_module

__all__ = []


def _impl(a, b, mode, method, axes):
    signal = scipy_module("signal")
    if method == "fft" or axes is not None:
        return signal.fftconvolve(a, b, mode=mode, axes=axes)
    return signal.convolve(a, b, mode=mode, method=method)


def _axes(x, axes):
    return tuple(range(len(shape_of(x)))) if axes is None else axes


def _flip(x, axes):
    return _sh.flip(x, axis=_axes(x, axes))


def _sizes(x, axes):
    shape = shape_of(x)
    return [shape[ax] for ax in _axes(x, axes)]


def _pad_same(g, a, b, axes):
    """The 'full' cotangent from a 'same' one: zeros where 'same' cut the output.

    scipy centres the 'same' output on ``a`` along every axis: a convolved axis
    is cut from ``na + nb - 1``, a broadcast one (``fftconvolve``'s other axes)
    from ``max(na, nb)``.
    """
    na, nb = shape_of(a), shape_of(b)
    conv_axes = _axes(a, axes)
    widths = []
    for d, (m, n) in enumerate(zip(na, nb)):
        full = m + n - 1 if d in conv_axes else max(m, n)
        start = (full - m) // 2
        widths.append((start, full - m - start))
    return _sh.pad(g, widths)


def _conv_vjp(which, g, a, b, mode, method, axes):
    """Cotangent of input ``which`` (0 or 1) of ``convolve(a, b, mode)``."""
    conv = lambda x, y, m: _convolve(x, y, mode=m, method=method, axes=axes)  # noqa: E731
    this, other = (a, b) if which == 0 else (b, a)
    if mode == "same":
        g = _pad_same(g, a, b, axes)
        mode = "full"
    if mode == "full":
        return conv(g, _flip(other, axes), "valid")
    # 'valid': the larger input's cotangent is a 'full' convolution, the smaller one's a
    # reversed 'valid' one (scipy swaps the inputs when the second is the larger)
    if all(m >= n for m, n in zip(_sizes(this, axes), _sizes(other, axes))):
        return conv(g, _flip(other, axes), "full")
    return _flip(conv(other, _flip(g, axes), "valid"), axes)


def _conv_batch(args, dims, mode, method, axes):
    """One convolution per example (scipy's convolve has no batch axes), stacked."""
    size = next(shape_of(x)[d] for x, d in zip(args, dims) if d is not None)
    args = [x if d is None else _sh.moveaxis(x, d, 0) for x, d in zip(args, dims)]
    outs = [_convolve(*[x if d is None else _ix.getitem(x, i) for x, d in zip(args, dims)],
                      mode=mode, method=method, axes=axes) for i in range(size)]
    return _sh.stack(outs), 0


def _case(rng, shape):
    mode = ["full", "same", "valid"][int(rng.integers(3))]
    method = ["direct", "fft", "auto"][int(rng.integers(3))]
    na = tuple(int(n) for n in rng.integers(1, 5, size=2))
    nb = tuple(int(n) for n in rng.integers(1, 4, size=2))
    if mode == "valid":
        nb = tuple(min(m, n) for m, n in zip(na, nb))
    args = (rng.standard_normal(na), rng.standard_normal(nb))
    return args, {"mode": mode, "method": method, "axes": None}


def _convolve_shape(a, b, mode, method, axes):
    sa, sb = _shp.shape(a), _shp.shape(b)
    if len(sa) != len(sb):
        raise ValueError(f"scipy.signal.convolve: inputs of {len(sa)} and {len(sb)} dimensions")
    along = range(len(sa)) if axes is None else _shp.normalize_axes(axes, len(sa), "convolve")
    out = list(np.broadcast_shapes(*[tuple(1 if i in along else n for i, n in enumerate(s))
                                     for s in (sa, sb)]))
    for i in along:
        n, m = sa[i], sb[i]
        out[i] = {"full": n + m - 1, "same": n, "valid": max(n, m) - min(n, m) + 1}[mode]
    return tuple(out), _shp.dtype_on_tiny(
        lambda a, b: _impl(a, b, mode=mode, method=method, axes=axes), [a, b])


_convolve = defprim(
    "scipy.signal.convolve", _impl,
    jvp=[lambda t, ans, a, b, *, mode, method, axes: _convolve(
             t, b, mode=mode, method=method, axes=axes),
         lambda t, ans, a, b, *, mode, method, axes: _convolve(
             a, t, mode=mode, method=method, axes=axes)],
    vjp=[lambda g, ans, a, b, *, mode, method, axes: _conv_vjp(0, g, a, b, mode, method, axes),
         lambda g, ans, a, b, *, mode, method, axes: _conv_vjp(1, g, a, b, mode, method, axes)],
    batch=_conv_batch,
    reads=(0, 1),  # each cotangent reads the other input, and the shapes of both
    test={"make": _case, "complex": True, "float32": False},
    shape=_convolve_shape,
)


def convolve_row(a, b, mode="full", method="auto", axes=None):
    """The row, for :mod:`fgrad.scipy.signal` (``axes`` a tuple of non-negative ints)."""
    return _convolve(a, b, mode=mode, method=method, axes=axes)

