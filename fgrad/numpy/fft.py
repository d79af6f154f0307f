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

from ..core import any_tracer, concrete, refuse_out
from ..primitives import fft as _p
from ..primitives.elementwise import conjugate, multiply
from ..primitives.shape import getitem

__all__ = [
    "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
    "rfftn", "irfftn", "hfft", "ihfft", "fftshift", "ifftshift", "fftfreq", "rfftfreq",
]


_traced = any_tracer


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


def _transform(name, row, summary, example, result, *, axes=None, real_input=False,
               inverse_real=False):
    """The public ``name`` of numpy.fft: numpy's own result on plain values, else
    the row ``row``.  ``axes=None``: one axis (``n``, ``axis``), as fft/rfft;
    ``axes="all"`` or a tuple: several (``s``, ``axes``) with that default, as
    fftn/fft2.  ``real_input``: refuse complex input (rfft*); ``inverse_real``:
    the default length is the real signal's, ``2 * (m - 1)`` (irfft*)."""
    plain = getattr(np.fft, name)

    def check(a, out):
        refuse_out(out, f"fft.{name}")
        if real_input:
            _real_input(a, name)

    if axes is None:

        def transform(a, n=None, axis=-1, norm=None, out=None):
            if not _traced(a):
                return plain(a, n=n, axis=axis, norm=norm, out=out)
            check(a, out)
            return _one(row, a, n, axis, norm, inverse_real=inverse_real)

    else:

        def transform(a, s=None, axes=None if axes == "all" else axes, norm=None, out=None):
            if not _traced(a):
                return plain(a, s=s, axes=axes, norm=norm, out=out)
            check(a, out)
            s, axes = _cook(a, s, axes, inverse_real=inverse_real)
            return row(a, s=s, axes=axes, norm=norm)

    return _document(transform, name, summary, example, result)


def _document(function, name, summary, example, result):
    """Name ``function`` ``name`` and give it a docstring with a runnable example."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"{summary} (``numpy.fft.{name}``).\n\n    Example:\n"
        f"        >>> import fgrad, fgrad.numpy as fnp\n        >>> {example}\n        {result}\n"
    )
    return function


fft = _transform("fft", _p.fft, "One-dimensional discrete Fourier transform",
                 "fgrad.grad(lambda x: fnp.fft.fft(x)[0].real)(fnp.ones(3))",
                 "array([1., 1., 1.])")
ifft = _transform("ifft", _p.ifft, "One-dimensional inverse discrete Fourier transform",
                  "fgrad.grad(lambda x: fnp.fft.ifft(x)[0].real)(fnp.ones(4))",
                  "array([0.25, 0.25, 0.25, 0.25])")
rfft = _transform("rfft", _p.rfft, "Discrete Fourier transform of real input, half spectrum",
                  "fgrad.grad(lambda x: fnp.fft.rfft(x)[1].imag)(fnp.ones(4))",
                  "array([ 0., -1.,  0.,  1.])", real_input=True)
irfft = _transform("irfft", _p.irfft, "Inverse of ``rfft``: real output of length ``n``",
                   "fgrad.grad(lambda x: fnp.fft.irfft(x)[0])(fnp.ones(3, dtype=complex))",
                   "array([0.25+0.j, 0.5 +0.j, 0.25+0.j])", inverse_real=True)
fftn = _transform("fftn", _p.fft, "N-dimensional discrete Fourier transform",
                  "fgrad.grad(lambda x: fnp.fft.fftn(x)[0, 0].real)(fnp.ones((2, 2)))",
                  "array([[1., 1.], [1., 1.]])", axes="all")
ifftn = _transform("ifftn", _p.ifft, "N-dimensional inverse discrete Fourier transform",
                   "fnp.fft.ifftn(fnp.ones((2, 2))).real",
                   "array([[1., 0.], [0., 0.]])", axes="all")
rfftn = _transform("rfftn", _p.rfft, "N-dimensional discrete Fourier transform of real input",
                   "fnp.fft.rfftn(fnp.ones((2, 4))).shape",
                   "(2, 3)", axes="all", real_input=True)
irfftn = _transform("irfftn", _p.irfft, "Inverse of ``rfftn``",
                    "fnp.fft.irfftn(fnp.ones((2, 3))).shape",
                    "(2, 4)", axes="all", inverse_real=True)
fft2 = _transform("fft2", _p.fft, "Two-dimensional discrete Fourier transform",
                  "fnp.fft.fft2(fnp.ones((2, 2))).real",
                  "array([[4., 0.], [0., 0.]])", axes=(-2, -1))
ifft2 = _transform("ifft2", _p.ifft, "Two-dimensional inverse discrete Fourier transform",
                   "fnp.fft.ifft2(fnp.ones((2, 2))).real",
                   "array([[1., 0.], [0., 0.]])", axes=(-2, -1))
rfft2 = _transform("rfft2", _p.rfft, "Two-dimensional FFT of real input",
                   "fnp.fft.rfft2(fnp.ones((2, 4))).shape",
                   "(2, 3)", axes=(-2, -1), real_input=True)
irfft2 = _transform("irfft2", _p.irfft, "Inverse of ``rfft2``",
                    "fnp.fft.irfft2(fnp.ones((2, 3))).shape",
                    "(2, 4)", axes=(-2, -1), inverse_real=True)


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
    refuse_out(out, "hfft")
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
    refuse_out(out, "ihfft")
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


def _shifter(name, sign, summary, example, result):
    """numpy.fft's ``name``: roll every axis in ``axes`` by ``sign`` * half its length."""
    plain = getattr(np.fft, name)

    def shift(x, axes=None):
        if not _traced(x):
            return plain(x, axes=axes)
        return _shift(x, axes, sign)

    return _document(shift, name, summary, example, result)


fftshift = _shifter("fftshift", 1, "Move the zero-frequency term to the centre",
                    "fnp.fft.fftshift(fnp.arange(5.0))", "array([3., 4., 0., 1., 2.])")
ifftshift = _shifter("ifftshift", -1, "Inverse of ``fftshift``",
                     "fnp.fft.ifftshift(fnp.arange(5.0))", "array([2., 3., 4., 0., 1.])")


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
