"""fgrad.numpy.fft: numpy's values, derivatives in both modes, JAX's transpose convention.

The four rows (fft, ifft, rfft, irfft) are also checked by the systematic table
test; here every public function with its n/s, axis/axes and norm parameters.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad import check_grads

rng0 = np.random.default_rng(77)
X = rng0.standard_normal((3, 4))
Z = X + 1j * rng0.standard_normal((3, 4))
H = rng0.standard_normal((3, 3)) + 1j * rng0.standard_normal((3, 3))

CASES = [
    ("fft", dict(), Z), ("fft", dict(n=6, axis=0, norm="ortho"), Z), ("fft", dict(n=2), X),
    ("ifft", dict(), Z), ("ifft", dict(n=3, axis=-2, norm="forward"), Z),
    ("fft2", dict(), Z), ("fft2", dict(s=(2, 5), norm="ortho"), X),
    ("ifft2", dict(s=(4, 3)), Z), ("fftn", dict(), Z), ("fftn", dict(axes=(0,)), X),
    ("fftn", dict(s=(2, 6), axes=(1, 0)), Z), ("ifftn", dict(norm="forward"), Z),
    ("rfft", dict(), X), ("rfft", dict(n=7, axis=0, norm="ortho"), X), ("rfft", dict(n=3), X),
    ("irfft", dict(), Z), ("irfft", dict(n=5), Z), ("irfft", dict(n=2, axis=0, norm="forward"), Z),
    ("rfft2", dict(), X), ("rfft2", dict(s=(2, 6), norm="forward"), X),
    ("irfft2", dict(), H), ("irfft2", dict(s=(4, 5), norm="ortho"), H),
    ("rfftn", dict(axes=(0,)), X), ("rfftn", dict(s=(5, 3)), X),
    ("irfftn", dict(), H), ("irfftn", dict(s=(2, 3), axes=(1, 0)), H),
    ("hfft", dict(), Z), ("hfft", dict(n=5, norm="ortho"), Z), ("ihfft", dict(), X),
    ("ihfft", dict(n=6, axis=0, norm="forward"), X),
    ("fftshift", dict(), Z), ("fftshift", dict(axes=0), X), ("ifftshift", dict(axes=(1,)), Z),
    ("ifftshift", dict(), X),
]
IDS = [f"{n}-{kw}" for n, kw, _ in CASES]


@pytest.mark.parametrize("name,kw,x", CASES, ids=IDS)
def test_values_are_numpys_plain_and_traced(name, kw, x):
    want = getattr(np.fft, name)(x, **kw)
    got = getattr(fnp.fft, name)(x, **kw)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
    traced = fgrad.jvp(lambda x: getattr(fnp.fft, name)(x, **kw), (x,), (np.ones_like(x),))[0]
    np.testing.assert_array_equal(traced, want)
    assert traced.dtype == want.dtype


@pytest.mark.parametrize("name,kw,x", CASES, ids=IDS)
def test_derivatives_to_second_order(name, kw, x):
    def f(x):
        y = getattr(fnp.fft, name)(x, **kw)
        return y * y  # a nonlinear function of the transform

    check_grads(f, (x,), order=2)
    if not np.iscomplexobj(x) and name not in ("rfft", "rfft2", "rfftn", "ihfft"):
        check_grads(f, (x + 0.5j * X[: x.shape[0], : x.shape[1]],), order=1)


def test_numpy_fft_dispatches_on_tracers():
    f = lambda x: np.sum(np.abs(np.fft.rfft(x)) ** 2)  # noqa: E731
    g = fgrad.grad(f)(X[0])
    want = fgrad.grad(lambda x: fnp.sum(fnp.abs(fnp.fft.rfft(x)) ** 2))(X[0])
    np.testing.assert_array_equal(g, want)


def test_vjp_of_fft_is_fft_not_the_inverse():
    # JAX's convention: the DFT matrix is symmetric, so its transpose is itself
    g = rng0.standard_normal(5) + 1j * rng0.standard_normal(5)
    z = Z[0, :4]
    for norm in (None, "ortho", "forward"):
        (ct,) = fgrad.vjp(lambda x: fnp.fft.fft(x, n=5, norm=norm), z)[1](g)
        np.testing.assert_allclose(ct, np.fft.fft(g, norm=norm)[:4], rtol=1e-12)
        (ct,) = fgrad.vjp(lambda x: fnp.fft.ifft(x, norm=norm), g)[1](g)
        np.testing.assert_allclose(ct, np.fft.ifft(g, norm=norm), rtol=1e-12)


def test_parseval_gradient():
    # sum |fft(x)|^2 = n sum x^2 for real x: gradient 2 n x
    x = X[0]
    g = fgrad.grad(lambda x: fnp.sum(fnp.abs(fnp.fft.fft(x)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x.size * x, rtol=1e-12)
    # the half spectrum counts the interior bins once: weights 1, 2, ..., 2, 1
    c = np.array([1.0, 2.0, 1.0])
    g = fgrad.grad(lambda x: fnp.sum(c * fnp.abs(fnp.fft.rfft(x)) ** 2))(x)
    np.testing.assert_allclose(g, 2 * x.size * x, rtol=1e-12)


@pytest.mark.parametrize("n", [6, 7])
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_irfft_rfft_round_trip_derivatives(n, norm):
    x = rng0.standard_normal(n)
    w = rng0.standard_normal(n)

    def f(x):
        return fnp.sum(w * fnp.fft.irfft(fnp.fft.rfft(x, norm=norm), n=n, norm=norm))

    np.testing.assert_allclose(fgrad.grad(f)(x), w, rtol=1e-12, atol=1e-14)
    _, t = fgrad.jvp(lambda x: fnp.fft.irfft(fnp.fft.rfft(x, norm=norm), n=n, norm=norm), (x,), (w,))
    np.testing.assert_allclose(t, w, rtol=1e-12, atol=1e-14)


def test_irfft_ignores_the_imaginary_part_of_real_bins():
    # numpy reads X[0] and X[n/2] (even n) through their real parts: the derivative
    # with respect to their imaginary parts is zero, and the cotangent says so
    z = Z[0]
    (ct,) = fgrad.vjp(lambda z: fnp.fft.irfft(z, n=6), z)[1](rng0.standard_normal(6))
    assert abs(ct[0].imag) < 1e-15 and abs(ct[3].imag) < 1e-15 and abs(ct[1].imag) > 1e-3
    _, t = fgrad.jvp(lambda z: fnp.fft.irfft(z, n=6), (z,), (np.array([1j, 0, 0, 1j]),))
    np.testing.assert_allclose(t, 0, atol=1e-15)


def test_hessian_vector_product_through_fft():
    x, v = X[0], X[1]

    def f(x):
        return fnp.sum(fnp.abs(fnp.fft.rfft(fnp.sin(x))) ** 4)

    _, hv = fgrad.jvp(fgrad.grad(f), (x,), (v,))
    eps = 1e-6
    fd = (fgrad.grad(f)(x + eps * v) - fgrad.grad(f)(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-6)


def test_fftfreq_in_the_spacing_and_constants():
    np.testing.assert_array_equal(fnp.fft.fftfreq(5, 0.1), np.fft.fftfreq(5, 0.1))
    np.testing.assert_array_equal(fnp.fft.rfftfreq(6, 0.3), np.fft.rfftfreq(6, 0.3))
    for fn in (fnp.fft.fftfreq, fnp.fft.rfftfreq):
        out = fgrad.jvp(lambda d: fn(5, d), (0.1,), (1.0,))
        np.testing.assert_allclose(out[0], getattr(np.fft, fn.__name__)(5, 0.1), rtol=1e-15)
        np.testing.assert_allclose(out[1], -getattr(np.fft, fn.__name__)(5, 0.1) / 0.1, rtol=1e-12)


def test_float32_and_batching():
    from fgrad.batching import vmap

    x32 = X.astype(np.float32)
    g = fgrad.grad(lambda x: fnp.sum(fnp.abs(fnp.fft.rfft2(x)) ** 2))(x32)
    assert g.dtype == np.float32
    f = fgrad.grad(lambda x: fnp.sum(fnp.real(fnp.fft.fft(x, n=6)) ** 3))
    np.testing.assert_allclose(vmap(f)(X), np.stack([f(x) for x in X]), rtol=1e-10)


def test_errors():
    with pytest.raises(TypeError, match="real input"):
        fgrad.grad(lambda z: fnp.real(fnp.fft.rfft(z)).sum())(Z[0])
    with pytest.raises(TypeError, match="out="):
        fgrad.grad(lambda x: fnp.real(fnp.fft.fft(x, out=np.empty(4, complex))).sum())(X[0])
    with pytest.raises(ValueError, match="Invalid number"):
        fgrad.grad(lambda x: fnp.real(fnp.fft.fft(x, n=0)).sum())(X[0])


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6), m=st.integers(1, 6),
       norm=st.sampled_from([None, "ortho", "forward"]), axis=st.sampled_from([0, 1, -1]))
def test_padding_and_truncation_random(seed, n, m, norm, axis):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4))
    check_grads(lambda x: fnp.fft.rfft(x, n=n, axis=axis, norm=norm), (x,), order=1)
    check_grads(lambda x: fnp.fft.irfft(x, n=m, axis=axis, norm=norm), (x + 0.3j,), order=1)
    check_grads(lambda x: fnp.fft.fft(x, n=n, axis=axis, norm=norm), (x - 0.2j,), order=1)
