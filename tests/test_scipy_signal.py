"""fgrad.scipy.signal: values against scipy.signal, derivatives to order 2 in both
modes, vmap against a loop, and clear errors."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp

scipy_signal = pytest.importorskip("scipy.signal")
import fgrad.scipy.signal as fs  # noqa: E402

MODES = ("full", "same", "valid")
NAMES = ("convolve", "correlate", "fftconvolve", "convolve2d", "correlate2d")


def _options(name):
    if name in ("convolve", "correlate"):
        return [{"method": m} for m in ("direct", "fft", "auto")]
    if name.endswith("2d"):
        return [{"boundary": b, "fillvalue": v} for b in ("fill", "wrap", "symm")
                for v in (0, 1.5)]
    return [{}]


def _traced(fun, *args):
    """``fun(*args)`` computed on traced values (through jvp), so fgrad's own path runs."""
    return fgrad.jvp(fun, args, tuple(np.zeros_like(a) for a in args))[0]


def _array(rng, shape, complex_):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if complex_ else x


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(NAMES),
       mode=st.sampled_from(MODES), complex_=st.booleans(),
       shapes=st.integers(1, 3).flatmap(lambda nd: st.tuples(
           st.tuples(*[st.integers(1, 6)] * nd), st.tuples(*[st.integers(1, 6)] * nd))))
def test_values_match_scipy_on_random_shapes(seed, name, mode, complex_, shapes):
    # either input may be the larger, along any axis: scipy's swap rule in 'valid' mode
    # and its 'same' centring (which differs between correlate and correlate2d)
    s1, s2 = shapes
    if name.endswith("2d") and len(s1) != 2:
        s1, s2 = (s1 + (3, 2))[:2], (s2 + (2, 4))[:2]
    if name == "fftconvolve" and all(1 in (m, n) for m, n in zip(s1, s2)):
        s1 = tuple(m + 1 for m in s1)  # nothing to convolve: scipy versions differ there
    rng = np.random.default_rng(seed)
    a, b = _array(rng, s1, complex_), _array(rng, s2, complex_)
    ours, theirs = getattr(fs, name), getattr(scipy_signal, name)
    for opts in _options(name):
        try:
            want = theirs(a, b, mode=mode, **opts)
        except ValueError:
            with pytest.raises(ValueError, match="valid"):
                _traced(lambda x, y: ours(x, y, mode=mode, **opts), a, b)
            continue
        np.testing.assert_array_equal(ours(a, b, mode=mode, **opts), want)  # plain: scipy's
        got = _traced(lambda x, y: ours(x, y, mode=mode, **opts), a, b)
        assert got.shape == want.shape and got.dtype == want.dtype, (opts, got.shape)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=str(opts))


def test_correlate_conjugates_the_second_input():
    rng = np.random.default_rng(1)
    a, v = _array(rng, 5, True), _array(rng, 3, True)
    # z[k] = sum_n a[n + k] conj(v[n]), by the definition, for the 'valid' part
    want = [np.sum(a[k:k + 3] * np.conj(v)) for k in range(3)]
    got = _traced(lambda x, y: fs.correlate(x, y, mode="valid"), a, v)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    got2 = _traced(lambda x, y: fs.correlate2d(x, y, mode="valid"), a[None], v[None])
    np.testing.assert_allclose(got2[0], want, rtol=1e-12)


# in1 larger, in2 larger, mixed sizes (no 'valid' then), and length-1 axes
SHAPES_2D = [((4, 3), (2, 2)), ((2, 3), (3, 4)), ((3, 2), (2, 3)), ((1, 4), (3, 1))]


def _grad_cases():
    for name in NAMES:
        for mode in MODES:
            for s1, s2 in SHAPES_2D:
                if mode == "valid" and not (all(m >= n for m, n in zip(s1, s2))
                                            or all(n >= m for m, n in zip(s1, s2))):
                    continue
                for opts in _options(name)[::2]:
                    yield name, mode, s1, s2, opts


@pytest.mark.parametrize("name,mode,s1,s2,opts", list(_grad_cases()))
def test_check_grads_order_2_both_inputs(name, mode, s1, s2, opts):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    fun = getattr(fs, name)
    fgrad.check_grads(lambda x, y: fun(x, y, mode=mode, **opts), (a, b), order=2,
                      modes=("fwd", "rev"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", MODES)
def test_check_grads_complex(name, mode):
    rng = np.random.default_rng(3)
    a, b = _array(rng, (4, 3), True), _array(rng, (2, 3), True)
    opts = {"boundary": "symm", "fillvalue": 0} if name.endswith("2d") else {}
    fgrad.check_grads(lambda x, y: getattr(fs, name)(x, y, mode=mode, **opts), (a, b),
                      order=2, modes=("fwd", "rev"))


def test_gradient_is_the_correlation_with_the_other_input():
    # d/da sum(w * convolve(a, b)) = correlate(w, b, 'valid'): the transpose, by hand
    rng = np.random.default_rng(4)
    a, b, w = rng.standard_normal(6), rng.standard_normal(3), rng.standard_normal(8)
    g = fgrad.grad(lambda x: fnp.sum(w * fs.convolve(x, b)))(a)
    np.testing.assert_allclose(g, np.correlate(w, b, mode="valid"), rtol=1e-12)
    gb = fgrad.grad(lambda y: fnp.sum(w * fs.convolve(a, y)))(b)
    np.testing.assert_allclose(gb, np.correlate(w, a, mode="valid"), rtol=1e-12)


def test_fillvalue_enters_linearly_and_is_differentiable():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 2))
    for mode in ("full", "same"):
        for name in ("convolve2d", "correlate2d"):
            fun = getattr(fs, name)
            want = getattr(scipy_signal, name)(a, b, mode=mode, fillvalue=2.0)
            np.testing.assert_allclose(_traced(lambda f: fun(a, b, mode=mode, fillvalue=f), 2.0),
                                       want, rtol=1e-12)
            fgrad.check_grads(lambda f, x: fun(x, b, mode=mode, fillvalue=f), (2.0, a),
                              order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("axes", [None, 1, (1,), (0, 1), -1])
def test_fftconvolve_axes_broadcast_and_differentiate(axes):
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((3, 7)), rng.standard_normal((1, 3))
    for mode in MODES:
        want = scipy_signal.fftconvolve(a, b, mode=mode, axes=axes)
        got = _traced(lambda x: fs.fftconvolve(x, b, mode=mode, axes=axes), a)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
        fgrad.check_grads(lambda x, y: fs.fftconvolve(x, y, mode=mode, axes=axes), (a, b),
                          order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (1, 0)])
def test_vmap_matches_a_loop(name, in_axes):
    rng = np.random.default_rng(7)
    shapes = {None: (4, 3), 0: (2, 4, 3), 1: (4, 2, 3)}
    a = rng.standard_normal(shapes[in_axes[0]])
    b = rng.standard_normal(shapes[in_axes[1]])[..., :2, :2]
    fun = getattr(fs, name)
    for mode in MODES:
        out = fgrad.vmap(lambda x, y: fun(x, y, mode=mode), in_axes=in_axes)(a, b)
        pick = lambda x, ax, i: x if ax is None else np.take(x, i, axis=ax)  # noqa: E731
        loop = np.stack([fun(pick(a, in_axes[0], i), pick(b, in_axes[1], i), mode=mode)
                         for i in range(2)])
        np.testing.assert_allclose(out, loop, rtol=1e-12, atol=1e-12)
    # and the gradient of a vmapped convolution
    fgrad.check_grads(fgrad.vmap(lambda x, y: fun(x, y, mode="same"), in_axes=in_axes),
                      (a, b), order=1, modes=("rev",))


@pytest.mark.parametrize("call,match", [
    (lambda x: fs.convolve(x, np.ones(2), mode="middle"), "mode must be"),
    (lambda x: fs.convolve(x, np.ones(2), method="slow"), "method must be"),
    (lambda x: fs.correlate(x, np.ones((2, 2))), "same dimensionality"),
    (lambda x: fs.convolve(x[:, None] * np.ones(3), np.ones((4, 2)), mode="valid"),
     "at least as large"),
    (lambda x: fs.convolve2d(x, np.ones(2)), "2-D"),
    (lambda x: fs.convolve2d(x[None], np.ones((1, 2)), boundary="reflect"), "boundary must"),
    (lambda x: fs.correlate2d(x[None], np.ones((1, 2)), fillvalue=np.ones(2)), "fillvalue"),
    (lambda x: fs.fftconvolve(x, np.ones(2), axes=3), "out of bounds"),
    (lambda x: fs.fftconvolve(x * np.ones((2, 1)), np.ones((3, 2)), axes=1), "incompatible shapes"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        fgrad.grad(lambda x: fnp.sum(call(x)))(np.ones(3))


def test_sequences_of_traced_values_are_arrays():
    def f(x):
        return fnp.sum(fs.convolve([x, 2.0 * x, 1.0], [1.0, x]) ** 2)

    def same(x):
        return fnp.sum(fs.convolve(fnp.stack([x, 2.0 * x, 1.0]), fnp.stack([1.0, x])) ** 2)

    np.testing.assert_allclose(fgrad.grad(f)(0.7), fgrad.grad(same)(0.7), rtol=1e-12)
    fgrad.check_grads(f, (0.7,), order=2, modes=("fwd", "rev"))


def test_importable_as_attribute_and_module():
    code = ("import fgrad; import fgrad.scipy.signal as s; "
            "assert fgrad.scipy.signal is s and s.convolve.__module__ == 'fgrad.scipy.signal'")
    subprocess.run([sys.executable, "-c", code], check=True)
