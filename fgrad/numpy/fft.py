"""fgrad.numpy.fft: differentiable discrete Fourier transforms with numpy's signatures.

Use it as ``fnp.fft.fft`` (``import fgrad.numpy as fnp``), or call
``np.fft.fft`` on traced values: numpy dispatches here.  On plain arrays each
function returns exactly numpy's result.  All transforms are linear; their
derivatives in both modes (any order, real and complex inputs, every ``n``/``s``,
``axis``/``axes`` and ``norm``) come from four rows of the table (see
``fgrad/primitives/fft.py``).  Under JAX's convention the vjp of ``fft`` is
``fft`` itself, not the inverse.
"""

import numpy as np

from ..core import any_tracer, concrete
from ..primitives import fft as _p
from ..primitives.elementwise import conjugate, multiply
from ..primitives.shape import getitem

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft", "fftshift", "ifftshift", "fftfreq", "rfftfreq",
]


_traced = any_tracer


def _no_out(out, name):
    if out is not None:
        raise TypeError(
            f"fgrad.numpy.fft.{name}(..., out=...) would write a traced result into an "
            "existing array; use the returned value instead."
        )


def _axes_1d(x, axis):
    ndim = np.ndim(concrete(x))
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim - ndim


def _cook(x, s, axes, inverse_real=False):
    """numpy's defaults for ``s`` and ``axes``, as explicit sizes and negative axes."""
    shape = np.shape(concrete(x))
    ndim = len(shape)
    if axes is None:
        axes = tuple(range(ndim)) if s is None else tuple(range(-len(s), 0))
    axes = tuple(int(ax) for ax in axes)
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(ax, ndim)
    axes = tuple(ax % ndim - ndim for ax in axes)
    if len(set(axes)) != len(axes):
        raise NotImplementedError(
            "fgrad.numpy.fft: repeated axes are not supported on traced values; "
            "apply the transform twice instead."
        )
    if s is None:
        s = [shape[ax] for ax in axes]
        if inverse_real:
            s[-1] = 2 * (shape[axes[-1]] - 1)
    else:
        if len(s) != len(axes):
            raise ValueError("Shape and axes have different lengths.")
        s = [shape[ax] if (n is None or n == -1) else int(n) for n, ax in zip(s, axes)]
        if inverse_real and (s[-1] is None or s[-1] == -1):
            s[-1] = 2 * (shape[axes[-1]] - 1)
    for n in s:
        if n < 1:
            raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return tuple(s), axes


def _one(prim, x, n, axis, norm, inverse_real=False):
    axis = _axes_1d(x, axis)
    if n is None:
        m = np.shape(concrete(x))[axis]
        n = 2 * (m - 1) if inverse_real else m
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    return prim(x, s=(int(n),), axes=(axis,), norm=norm)


def fft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional discrete Fourier transform (``numpy.fft.fft``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.fft.fft(x)[0].real)(fnp.ones(3))
        array([1., 1., 1.])
    """
    if not _traced(a):
        return np.fft.fft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "fft")
    return _one(_p.fft, a, n, axis, norm)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    """One-dimensional inverse discrete Fourier transform (``numpy.fft.ifft``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.fft.ifft(x)[0].real)(fnp.ones(4))
        array([0.25, 0.25, 0.25, 0.25])
    """
    if not _traced(a):
        return np.fft.ifft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "ifft")
    return _one(_p.ifft, a, n, axis, norm)


def fftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional discrete Fourier transform (``numpy.fft.fftn``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.fft.fftn(x)[0, 0].real)(fnp.ones((2, 2)))
        array([[1., 1.],
               [1., 1.]])
    """
    if not _traced(a):
        return np.fft.fftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out(out, "fftn")
    s, axes = _cook(a, s, axes)
    return _p.fft(a, s=s, axes=axes, norm=norm)


def ifftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional inverse discrete Fourier transform (``numpy.fft.ifftn``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.ifftn(fnp.ones((2, 2))).real
        array([[1., 0.],
               [0., 0.]])
    """
    if not _traced(a):
        return np.fft.ifftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out(out, "ifftn")
    s, axes = _cook(a, s, axes)
    return _p.ifft(a, s=s, axes=axes, norm=norm)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional discrete Fourier transform (``numpy.fft.fft2``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.fft2(fnp.ones((2, 2))).real
        array([[4., 0.],
               [0., 0.]])
    """
    if not _traced(a):
        return np.fft.fft2(a, s=s, axes=axes, norm=norm, out=out)
    return fftn(a, s=s, axes=axes, norm=norm, out=out)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional inverse discrete Fourier transform (``numpy.fft.ifft2``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.ifft2(fnp.ones((2, 2))).real
        array([[1., 0.],
               [0., 0.]])
    """
    if not _traced(a):
        return np.fft.ifft2(a, s=s, axes=axes, norm=norm, out=out)
    return ifftn(a, s=s, axes=axes, norm=norm, out=out)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    """Discrete Fourier transform of real input, half spectrum (``numpy.fft.rfft``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.fft.rfft(x)[1].imag)(fnp.ones(4))
        array([ 0., -1.,  0.,  1.])
    """
    if not _traced(a):
        return np.fft.rfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "rfft")
    _real_input(a, "rfft")
    return _one(_p.rfft, a, n, axis, norm)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of ``rfft``: real output of length ``n`` (``numpy.fft.irfft``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.fft.irfft(x)[0])(fnp.ones(3, dtype=complex))
        array([0.25+0.j, 0.5 +0.j, 0.25+0.j])
    """
    if not _traced(a):
        return np.fft.irfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "irfft")
    return _one(_p.irfft, a, n, axis, norm, inverse_real=True)


def rfftn(a, s=None, axes=None, norm=None, out=None):
    """N-dimensional discrete Fourier transform of real input (``numpy.fft.rfftn``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.rfftn(fnp.ones((2, 4))).shape
        (2, 3)
    """
    if not _traced(a):
        return np.fft.rfftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out(out, "rfftn")
    _real_input(a, "rfftn")
    s, axes = _cook(a, s, axes)
    return _p.rfft(a, s=s, axes=axes, norm=norm)


def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Inverse of ``rfftn`` (``numpy.fft.irfftn``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.irfftn(fnp.ones((2, 3))).shape
        (2, 4)
    """
    if not _traced(a):
        return np.fft.irfftn(a, s=s, axes=axes, norm=norm, out=out)
    _no_out(out, "irfftn")
    s, axes = _cook(a, s, axes, inverse_real=True)
    return _p.irfft(a, s=s, axes=axes, norm=norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Two-dimensional FFT of real input (``numpy.fft.rfft2``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.rfft2(fnp.ones((2, 4))).shape
        (2, 3)
    """
    if not _traced(a):
        return np.fft.rfft2(a, s=s, axes=axes, norm=norm, out=out)
    return rfftn(a, s=s, axes=axes, norm=norm, out=out)


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    """Inverse of ``rfft2`` (``numpy.fft.irfft2``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.irfft2(fnp.ones((2, 3))).shape
        (2, 4)
    """
    if not _traced(a):
        return np.fft.irfft2(a, s=s, axes=axes, norm=norm, out=out)
    return irfftn(a, s=s, axes=axes, norm=norm, out=out)


_SWAP = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


def _swap(norm):
    if norm not in _SWAP:
        raise ValueError(
            f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".'
        )
    return _SWAP[norm]


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """FFT of a Hermitian-symmetric signal given by its half (``numpy.fft.hfft``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.hfft(fnp.array([1.0, 0.0, 0.0]))
        array([1., 1., 1., 1.])
    """
    if not _traced(a):
        return np.fft.hfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "hfft")
    if n is None:
        n = (np.shape(concrete(a))[axis] - 1) * 2
    return irfft(conjugate(a), n, axis, norm=_swap(norm))


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """Inverse of ``hfft`` (``numpy.fft.ihfft``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.ihfft(fnp.ones(4))
        array([1.-0.j, 0.-0.j, 0.-0.j])
    """
    if not _traced(a):
        return np.fft.ihfft(a, n=n, axis=axis, norm=norm, out=out)
    _no_out(out, "ihfft")
    if n is None:
        n = np.shape(concrete(a))[axis]
    return conjugate(rfft(a, n, axis, norm=_swap(norm)))


def _real_input(a, name):
    if np.iscomplexobj(concrete(a)):
        raise TypeError(
            f"fgrad.numpy.fft.{name} takes real input (numpy raises for complex input "
            "too); use fft/fftn for complex signals."
        )


def _roll(x, shifts, axes):
    ndim = np.ndim(concrete(x))
    for shift, ax in zip(shifts, axes):
        n = np.shape(concrete(x))[ax]
        idx = (np.arange(n) - shift) % n
        x = getitem(x, (slice(None),) * (ax % ndim) + (idx,))
    return x


def _shift(x, axes, sign):
    shape = np.shape(concrete(x))
    if axes is None:
        axes = tuple(range(len(shape)))
    elif isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    return _roll(x, [sign * (shape[ax] // 2) for ax in axes], axes)


def fftshift(x, axes=None):
    """Move the zero-frequency term to the centre (``numpy.fft.fftshift``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.fftshift(fnp.arange(5.0))
        array([3., 4., 0., 1., 2.])
    """
    if not _traced(x):
        return np.fft.fftshift(x, axes=axes)
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of ``fftshift`` (``numpy.fft.ifftshift``).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.ifftshift(fnp.arange(5.0))
        array([2., 3., 4., 0., 1.])
    """
    if not _traced(x):
        return np.fft.ifftshift(x, axes=axes)
    return _shift(x, axes, -1)


def fftfreq(n, d=1.0, device=None):
    """Sample frequencies (``numpy.fft.fftfreq``); differentiable in the spacing ``d``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.fftfreq(4, d=0.5)
        array([ 0. ,  0.5, -1. , -0.5])
    """
    if not _traced(d):
        return np.fft.fftfreq(n, d=d, device=device)
    ints = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)])
    return multiply(ints, 1.0 / multiply(n, d))


def rfftfreq(n, d=1.0, device=None):
    """Sample frequencies of ``rfft`` (``numpy.fft.rfftfreq``); differentiable in ``d``.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.fft.rfftfreq(4, d=0.5)
        array([0. , 0.5, 1. ])
    """
    if not _traced(d):
        return np.fft.rfftfreq(n, d=d, device=device)
    return multiply(np.arange(0, n // 2 + 1), 1.0 / multiply(n, d))
