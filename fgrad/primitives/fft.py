"""Rows of the rule table: discrete Fourier transforms (``numpy.fft``).

Four rows cover numpy's whole FFT family: ``fft`` and ``ifft`` (complex to
complex), ``rfft`` (real to half spectrum) and ``irfft`` (half spectrum to
real), each over explicit ``axes`` with output sizes ``s`` and a ``norm``.  The
public functions in ``fgrad.numpy.fft`` (fft, fft2, fftn, rfft2, hfft ...) call
them with normalised parameters: ``axes`` negative (so a leading batch axis
never changes their meaning) and ``s`` explicit.

Every transform is linear, so its jvp is the transform itself.  Under JAX's
convention (vjp = transpose with no conjugation) the DFT matrix is symmetric,
so the vjp of ``fft`` is ``fft`` with the same ``norm`` (not the inverse),
followed by the transpose of numpy's zero-padding/truncation to ``s``.  The
real transforms need care with the half spectrum:

- ``rfft``: the transpose of ``x -> rfft(x)`` is ``G -> Re fft(G padded with
  zeros to n)``.
- ``irfft``: numpy reads ``X[0]`` (and ``X[n/2]`` for even n) through their real
  parts and counts the other bins twice (Hermitian symmetry), so the transpose
  is ``g -> c * ifft(g)[:n//2+1]`` with weights ``c = 1, 2, ..., 2, (1)``.
"""

import numpy as np

from .. import shapes as _shp
from ..core import PRIMITIVES, concrete, defprim, shape_of
from .elementwise import multiply, real
from .shape import concatenate, getitem, moveaxis

__all__ = []  # the public functions live in fgrad.numpy.fft


def _index_along(axis, item):
    """An index selecting ``item`` along negative axis ``axis``."""
    return (Ellipsis, item) + (slice(None),) * (-axis - 1)


def fit(x, sizes, axes):
    """Zero-pad or truncate ``x`` along ``axes`` to ``sizes`` (as numpy's ``n``/``s`` do)."""
    for n, ax in zip(sizes, axes):
        shape = shape_of(x)
        cur = shape[ax]
        if cur > n:
            x = getitem(x, _index_along(ax, slice(0, n)))
        elif cur < n:
            pad_shape = list(shape)
            pad_shape[ax] = n - cur
            zeros = np.zeros(pad_shape, dtype=np.result_type(concrete(x)))
            x = concatenate([x, zeros], axis=ax)
    return x


def _impl(one, many):

    def impl(x, s, axes, norm=None):
        if len(axes) == 1:
            return one(x, n=s[0], axis=axes[0], norm=norm)
        return many(x, s=s, axes=axes, norm=norm)

    impl.__name__ = one.__name__
    impl.__doc__ = f"numpy.fft.{one.__name__} / {many.__name__} over explicit sizes and axes."
    return impl


def _sizes(x, axes):
    shape = shape_of(x)
    return [shape[ax] for ax in axes]


def _batch_front(name):

    def rule(args, dims, **params):
        return PRIMITIVES[name].fn(moveaxis(args[0], dims[0], 0), **params), 0

    rule.__name__ = f"{name}_batch"
    return rule


def _make(shape_, s, axes, norm=None):

    def make(rng, shape):
        return (rng.standard_normal(shape_),), {"s": s, "axes": axes, "norm": norm}

    return make


def _shape_rule(name, impl):
    """The output shape of a transform: the sizes ``s`` along ``axes`` (rfft keeps
    ``s // 2 + 1`` of the last); the dtype from a transform of length 1."""

    def rule(x, s, axes, norm=None):
        out = list(_shp.shape(x))
        for n, ax in zip(s, axes):
            out[_shp.normalize_axes(ax, len(out), name)[0]] = n
        if name == "rfft":
            out[_shp.normalize_axes(axes[-1], len(out), name)[0]] = s[-1] // 2 + 1
        return tuple(out), _shp.dtype_on_tiny(
            lambda t: impl(t, s=(1,) * len(s), axes=axes, norm=norm), [x])

    return rule


def _transform_row(name, one, many, test, vjp=None):
    """The row of one of numpy.fft's linear transforms over explicit sizes and axes
    (``one`` for one axis, ``many`` for several).  Its jvp is the transform itself;
    so is its vjp, fitted to the input's sizes, unless ``vjp`` is given (fft's vjp
    is fft, not its inverse, under JAX's convention)."""

    def jvp(t, ans, x, s, axes, norm=None):
        return row(t, s=s, axes=axes, norm=norm)

    def same_transform_vjp(g, ans, x, s, axes, norm=None):
        return fit(row(g, s=s, axes=axes, norm=norm), _sizes(x, axes), axes)

    row = defprim(
        name, _impl(one, many), jvp=[jvp], vjp=[vjp or same_transform_vjp],
        batch=_batch_front(name), test=test, reads=(0, 1, 2, 3),
        shape=_shape_rule(name, _impl(one, many)),
    )
    return row


# --- complex to complex ---------------------------------------------------------

fft = _transform_row(
    "fft", np.fft.fft, np.fft.fftn,
    test={"make": _make((5,), (5,), (-1,)), "complex": True, "also": [
        _make((2, 4), (6,), (-1,), "ortho"),
        _make((3, 4), (2,), (-2,), "forward"),
        _make((2, 3, 4), (3, 2), (-3, -1)),
        _make((3, 4), (4, 3), (-2, -1), "ortho"),
    ]},
)

ifft = _transform_row(
    "ifft", np.fft.ifft, np.fft.ifftn,
    test={"make": _make((5,), (5,), (-1,)), "complex": True, "also": [
        _make((2, 4), (6,), (-1,), "forward"),
        _make((3, 4), (2,), (-2,), "ortho"),
        _make((2, 3, 4), (3, 5), (-2, -1)),
    ]},
)

# --- real to half spectrum and back -----------------------------------------------


def _rfft_vjp(g, ans, x, s, axes, norm=None):
    full = fit(g, [s[-1]], axes[-1:])  # zero bins n//2+1 .. n-1
    return fit(real(fft(full, s=s, axes=axes, norm=norm)), _sizes(x, axes), axes)


rfft = _transform_row(
    "rfft", np.fft.rfft, np.fft.rfftn, vjp=_rfft_vjp,
    test={"make": _make((6,), (6,), (-1,)), "also": [
        _make((2, 5), (5,), (-1,), "ortho"),
        _make((2, 5), (8,), (-1,), "forward"),
        _make((4, 3), (3,), (-2,)),
        _make((2, 3, 4), (4, 6), (-3, -1), "ortho"),
    ]},
)


def half_weights(n, dtype=np.float64):
    """How often each bin of a length-n half spectrum counts in the full spectrum."""
    c = np.full(n // 2 + 1, 2.0, dtype=dtype)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c


def _irfft_vjp(g, ans, x, s, axes, norm=None):
    h = s[-1] // 2 + 1
    y = fit(ifft(g, s=s, axes=axes, norm=norm), [h], axes[-1:])
    c = half_weights(s[-1], np.finfo(np.result_type(concrete(g))).dtype)
    y = multiply(y, c.reshape((h,) + (1,) * (-axes[-1] - 1)))
    return fit(y, _sizes(x, axes), axes)


irfft = _transform_row(
    "irfft", np.fft.irfft, np.fft.irfftn, vjp=_irfft_vjp,
    test={"make": _make((4,), (6,), (-1,)), "complex": True, "also": [
        _make((2, 4), (7,), (-1,), "ortho"),
        _make((2, 5), (4,), (-1,), "forward"),
        _make((4, 3), (6,), (-2,)),
        _make((3, 2, 4), (2, 5), (-3, -1), "ortho"),
    ]},
)
