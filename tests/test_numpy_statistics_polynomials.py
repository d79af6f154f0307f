"""Statistics and polynomials of fgrad.numpy: cov, corrcoef, polyval, polyfit.

Values under a trace against numpy's, derivatives against central differences
and the other mode (check_grads, to second order), closed forms (the derivative
polynomial, the least-squares slope, the sample variance), hypothesis over
shapes, vmap against a Python loop, numpy dispatch and the error messages.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp

RNG = np.random.default_rng(20261122)
M = RNG.standard_normal((3, 6))  # 3 variables, 6 observations
Y2 = RNG.standard_normal((2, 6))
AW = RNG.random(6) + 0.2
FW = np.array([1, 2, 1, 3, 1, 2])
X7 = np.linspace(-1.0, 1.5, 7)
Y7 = RNG.standard_normal(7)
W7 = RNG.random(7) + 0.5


def traced_value(f, *args):
    """f's output computed on tracers (the primal value of a vjp)."""
    return fgrad.vjp(f, *args)[0]


def assert_same(got, want):
    assert np.shape(got) == np.shape(want)
    assert np.result_type(got) == np.result_type(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# (fgrad function of the traced argument, the numpy function, the argument)
CASES = {
    "cov": (fnp.cov, np.cov, M),
    "cov_1d": (fnp.cov, np.cov, M[0]),
    "cov_rowvar_false": (lambda m: fnp.cov(m, rowvar=False), lambda m: np.cov(m, rowvar=False),
                         M.T),
    "cov_bias": (lambda m: fnp.cov(m, bias=True), lambda m: np.cov(m, bias=True), M),
    "cov_ddof": (lambda m: fnp.cov(m, ddof=2), lambda m: np.cov(m, ddof=2), M),
    "cov_y": (lambda m: fnp.cov(m, Y2), lambda m: np.cov(m, Y2), M),
    "cov_y_1d": (lambda m: fnp.cov(m, M[1]), lambda m: np.cov(m, M[1]), M[0]),
    "cov_y_rowvar_false": (lambda m: fnp.cov(m, Y2.T, rowvar=False),
                           lambda m: np.cov(m, Y2.T, rowvar=False), M.T),
    "cov_aweights": (lambda m: fnp.cov(m, aweights=AW), lambda m: np.cov(m, aweights=AW), M),
    "cov_fweights": (lambda m: fnp.cov(m, fweights=FW), lambda m: np.cov(m, fweights=FW), M),
    "cov_both_weights": (lambda m: fnp.cov(m, fweights=FW, aweights=AW),
                         lambda m: np.cov(m, fweights=FW, aweights=AW), M),
    "cov_weights_bias": (lambda m: fnp.cov(m, aweights=AW, bias=True),
                         lambda m: np.cov(m, aweights=AW, bias=True), M),
    "corrcoef": (fnp.corrcoef, np.corrcoef, M),
    "corrcoef_y": (lambda m: fnp.corrcoef(m, Y2), lambda m: np.corrcoef(m, Y2), M),
    "corrcoef_rowvar_false": (lambda m: fnp.corrcoef(m, rowvar=False),
                              lambda m: np.corrcoef(m, rowvar=False), M.T),
    "corrcoef_1d_pair": (lambda m: fnp.corrcoef(m, M[1]), lambda m: np.corrcoef(m, M[1]), M[0]),
    "polyval": (lambda p: fnp.polyval(p, X7), lambda p: np.polyval(p, X7), M[0, :4]),
    "polyval_in_x": (lambda x: fnp.polyval(M[0, :4], x), lambda x: np.polyval(M[0, :4], x),
                     M[1:]),
    "polyval_scalar_x": (lambda x: fnp.polyval(M[0, :3], x), lambda x: np.polyval(M[0, :3], x),
                         0.7),
    "polyfit_deg1": (lambda y: fnp.polyfit(X7, y, 1), lambda y: np.polyfit(X7, y, 1), Y7),
    "polyfit_deg2_in_x": (lambda x: fnp.polyfit(x, Y7, 2), lambda x: np.polyfit(x, Y7, 2), X7),
    "polyfit_deg3_w": (lambda w: fnp.polyfit(X7, Y7, 3, w=w), lambda w: np.polyfit(X7, Y7, 3, w=w),
                       W7),
    "polyfit_2d_y": (lambda y: fnp.polyfit(X7, y, 2), lambda y: np.polyfit(X7, y, 2),
                     np.stack([Y7, Y7 ** 2], axis=1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_under_a_trace_equal_numpys(name):
    f, g, x = CASES[name]
    assert_same(traced_value(f, x), g(x))


def test_plain_inputs_return_numpys_result_exactly():
    for got, want in [
        (fnp.cov(M, Y2, aweights=AW), np.cov(M, Y2, aweights=AW)),
        (fnp.corrcoef(M), np.corrcoef(M)),
        (fnp.polyval([1, 2, 3], 2), np.polyval([1, 2, 3], 2)),
        (fnp.polyfit(X7, Y7, 2, w=W7), np.polyfit(X7, Y7, 2, w=W7)),
    ]:
        assert type(got) is type(want) and np.result_type(got) == np.result_type(want)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_grads_second_order(name):
    f, _, x = CASES[name]
    fgrad.check_grads(f, (x,), order=2)


def test_gradients_in_every_differentiable_argument():
    # cov in m, y and aweights together (fweights fixed)
    fgrad.check_grads(lambda m, y, a: fnp.cov(m, y, fweights=FW, aweights=a), (M, Y2, AW),
                      order=2)
    fgrad.check_grads(lambda a: fnp.cov(M, aweights=a, ddof=0), (AW,), order=2)
    fgrad.check_grads(lambda x, y: fnp.corrcoef(x, y, rowvar=False), (M.T, Y2.T), order=2)
    fgrad.check_grads(fnp.polyval, (M[0, :5], M[1:]), order=2)
    for deg in (1, 2, 3):
        fgrad.check_grads(lambda x, y, w: fnp.polyfit(x, y, deg, w=w), (X7, Y7, W7), order=2)


def test_complex_inputs():
    z = M + 1j * RNG.standard_normal(M.shape)
    assert_same(traced_value(fnp.cov, z), np.cov(z))
    assert_same(traced_value(fnp.corrcoef, z), np.corrcoef(z))
    fgrad.check_grads(fnp.cov, (z,), order=2)
    fgrad.check_grads(fnp.corrcoef, (z,), order=2)
    fgrad.check_grads(lambda p: fnp.polyval(p, z[1]), (z[0, :3],), order=2)


def test_float32_keeps_numpys_dtypes():
    m32 = M.astype(np.float32)
    for f, g in [(fnp.cov, np.cov),
                 (lambda m: fnp.cov(m, aweights=AW), lambda m: np.cov(m, aweights=AW)),
                 (lambda m: fnp.cov(m, dtype=np.float32), lambda m: np.cov(m, dtype=np.float32)),
                 (lambda m: fnp.polyval(m[0, :3], m[1]), lambda m: np.polyval(m[0, :3], m[1])),
                 (lambda m: fnp.polyfit(m[0], m[1], 2, w=AW),
                  lambda m: np.polyfit(m[0], m[1], 2, w=AW))]:
        got, want = traced_value(f, m32), g(m32)
        assert np.result_type(got) == np.result_type(want)
        np.testing.assert_allclose(got, want, rtol=1e-6)


# --- closed forms ---------------------------------------------------------------------


def test_polyval_derivative_in_x_is_the_derivative_polynomial():
    p, x = M[0, :5], M[1]
    got = fgrad.grad(lambda t: fnp.polyval(p, t).sum())(x)
    np.testing.assert_allclose(got, np.polyval(np.polyder(p), x), rtol=1e-12, atol=1e-13)
    second = fgrad.grad(lambda t: fgrad.grad(lambda s: fnp.polyval(p, s))(t))(0.3)
    assert second == pytest.approx(np.polyval(np.polyder(p, 2), 0.3), rel=1e-12)
    # in p: the powers of x
    np.testing.assert_allclose(fgrad.grad(lambda q: fnp.polyval(q, 0.5))(p),
                               0.5 ** np.arange(4, -1, -1), rtol=1e-15)


def test_fitted_slope_gradient_in_y_is_the_least_squares_weights():
    # slope = sum((x - xbar) y) / Sxx, so d slope / d y_i = (x_i - xbar) / Sxx
    xc = X7 - X7.mean()
    got = fgrad.grad(lambda y: fnp.polyfit(X7, y, 1)[0])(Y7)
    np.testing.assert_allclose(got, xc / (xc @ xc), rtol=1e-10, atol=1e-14)
    # weighted: slope = sum(v (x - xw)(y - yw)) / sum(v (x - xw)^2) with v = w**2
    v = W7 ** 2
    xw = (v * X7).sum() / v.sum()
    want = v * (X7 - xw) / (v * (X7 - xw) ** 2).sum()
    got = fgrad.grad(lambda y: fnp.polyfit(X7, y, 1, w=W7)[0])(Y7)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    # in x: against a central difference of numpy's fit
    h = 1e-6
    e = np.zeros(7)
    e[2] = h
    fd = (np.polyfit(X7 + e, Y7, 1)[0] - np.polyfit(X7 - e, Y7, 1)[0]) / (2 * h)
    assert fgrad.grad(lambda x: fnp.polyfit(x, Y7, 1)[0])(X7)[2] == pytest.approx(fd, rel=1e-6)


def test_cov_of_one_variable_is_the_sample_variance():
    x = M[0]
    n = x.size
    np.testing.assert_allclose(fgrad.grad(fnp.cov)(x), 2 * (x - x.mean()) / (n - 1),
                               rtol=1e-12)
    np.testing.assert_allclose(fgrad.grad(lambda t: fnp.cov(t, bias=True))(x),
                               2 * (x - x.mean()) / n, rtol=1e-12)
    # off-diagonal: d cov(x, y) / d y = (x - xbar) / (n - 1)
    y = M[1]
    np.testing.assert_allclose(fgrad.grad(lambda t: fnp.cov(x, t)[0, 1])(y),
                               (x - x.mean()) / (n - 1), rtol=1e-12, atol=1e-15)
    # corrcoef's diagonal is identically one: zero derivative
    np.testing.assert_allclose(fgrad.grad(lambda t: fnp.corrcoef(t)[1, 1])(M), 0.0, atol=1e-12)


@given(k=st.integers(1, 3), n=st.integers(2, 6), rowvar=st.booleans(), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_cov_and_corrcoef_over_shapes(k, n, rowvar, bias, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((k, n) if rowvar else (n, k))
    a = rng.random(n) + 0.1
    f = lambda t, w: fnp.cov(t, rowvar=rowvar, bias=bias, aweights=w)  # noqa: E731
    assert_same(traced_value(f, m, a), np.cov(m, rowvar=rowvar, bias=bias, aweights=a))
    fgrad.check_grads(f, (m, a), order=1)
    if n > 2:
        fgrad.check_grads(lambda t: fnp.corrcoef(t, rowvar=rowvar), (m,), order=1)


@given(deg=st.integers(0, 4), shape=st.sampled_from([(), (3,), (2, 3)]),
       seed=st.integers(0, 2**16))
def test_polyval_over_degrees_and_shapes(deg, shape, seed):
    rng = np.random.default_rng(seed)
    p, x = rng.standard_normal(deg + 1), rng.standard_normal(shape)
    assert_same(traced_value(fnp.polyval, p, x), np.polyval(p, x))
    fgrad.check_grads(fnp.polyval, (p, x), order=1)


# --- full / cov options of polyfit, warnings ------------------------------------------


def test_polyfit_full_and_cov_outputs():
    got = traced_value(lambda y: fnp.polyfit(X7, y, 2, full=True), Y7)
    want = np.polyfit(X7, Y7, 2, full=True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert got[2] == want[2] and got[4] == want[4]
    fgrad.check_grads(lambda x, y: fnp.polyfit(x, y, 2, full=True)[1], (X7, Y7), order=2)
    for option in (True, "unscaled"):
        for y in (Y7, np.stack([Y7, 2 * Y7 + 1], axis=1)):
            got = traced_value(lambda t: fnp.polyfit(X7, t, 2, cov=option), y)
            want = np.polyfit(X7, y, 2, cov=option)
            for g, w in zip(got, want):
                assert_same(g, w)
    fgrad.check_grads(lambda x, y: fnp.polyfit(x, y, 2, cov=True)[1], (X7, Y7), order=2)
    with pytest.raises(ValueError, match="cov='unscaled'"):
        fgrad.grad(lambda y: fnp.polyfit(X7[:3], y, 2, cov=True)[1].sum())(Y7[:3])


def test_polyfit_warns_like_numpy_when_rank_deficient():
    x = np.array([1.0, 1.0, 1.0, 2.0])
    with pytest.warns(np.exceptions.RankWarning):
        fgrad.grad(lambda y: fnp.polyfit(x, y, 3).sum())(np.arange(4.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fgrad.grad(lambda y: fnp.polyfit(X7, y, 3).sum())(Y7)


# --- vmap -------------------------------------------------------------------------------


def test_cov_and_corrcoef_under_vmap_match_a_loop():
    ms = RNG.standard_normal((4, 3, 5))
    aws = RNG.random((4, 5)) + 0.1
    for f in (fnp.cov, fnp.corrcoef, lambda m: fnp.cov(m, rowvar=False, bias=True)):
        np.testing.assert_allclose(fgrad.vmap(f)(ms), np.stack([f(m) for m in ms]),
                                   rtol=1e-12, atol=1e-14)
    f = lambda m, a: fnp.cov(m, aweights=a)  # noqa: E731
    np.testing.assert_allclose(fgrad.vmap(f)(ms, aws),
                               np.stack([f(m, a) for m, a in zip(ms, aws)]), rtol=1e-12)
    g = fgrad.grad(lambda m: fnp.cov(m)[0, 1])
    np.testing.assert_allclose(fgrad.vmap(g)(ms), np.stack([g(m) for m in ms]), rtol=1e-12,
                               atol=1e-15)


def test_polyval_and_polyfit_under_vmap_match_a_loop():
    ps, xs = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 6))
    np.testing.assert_allclose(fgrad.vmap(fnp.polyval)(ps, xs),
                               np.stack([np.polyval(p, x) for p, x in zip(ps, xs)]), rtol=1e-13)
    np.testing.assert_allclose(fgrad.vmap(fnp.polyval, in_axes=(0, None))(ps, X7),
                               np.stack([np.polyval(p, X7) for p in ps]), rtol=1e-13)
    xs7, ys7 = RNG.standard_normal((3, 7)), RNG.standard_normal((3, 7))
    f = lambda x, y: fnp.polyfit(x, y, 2)  # noqa: E731
    np.testing.assert_allclose(fgrad.vmap(f)(xs7, ys7),
                               np.stack([np.polyfit(x, y, 2) for x, y in zip(xs7, ys7)]),
                               rtol=1e-10)


def test_polyval_gradients_under_vmap_match_a_loop():
    # Horner's scheme reads p[0], p[1], ...: the cotangent of p is assembled from
    # indexed parts whose values are batched
    ps, xs = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 6))
    g = fgrad.grad(lambda p, x: fnp.polyval(p, x).sum(), argnums=(0, 1))
    for got, want in zip(fgrad.vmap(g)(ps, xs), zip(*[g(p, x) for p, x in zip(ps, xs)])):
        np.testing.assert_allclose(got, np.stack(want), rtol=1e-13)


def test_second_order_through_indexed_arguments():
    fgrad.check_grads(lambda m: fnp.corrcoef(m[0], m[1]), (M,), order=2)
    fgrad.check_grads(lambda m: fnp.cov(m[0], m[1:], aweights=AW), (M,), order=2)


# --- dispatch and errors ----------------------------------------------------------------


def test_numpy_calls_on_tracers_dispatch_here():
    g = fgrad.grad(lambda m: np.cov(m).sum() + np.corrcoef(m)[0, 1])(M)
    np.testing.assert_allclose(g, fgrad.grad(lambda m: fnp.cov(m).sum()
                                             + fnp.corrcoef(m)[0, 1])(M), rtol=1e-14)
    assert fgrad.grad(lambda x: np.polyval([1.0, 0.0, 0.0], x))(3.0) == 6.0
    np.testing.assert_allclose(fgrad.grad(lambda y: np.polyfit(X7, y, 1)[1])(Y7),
                               fgrad.grad(lambda y: fnp.polyfit(X7, y, 1)[1])(Y7), rtol=1e-14)
    # a list holding tracers is traced too
    assert fgrad.grad(lambda a: fnp.polyval([a, 1.0], 2.0))(1.0) == 2.0


def test_bad_inputs_raise_with_the_fix():
    with pytest.raises(TypeError, match="aweights"):
        fgrad.grad(lambda f: fnp.cov(M, fweights=f).sum())(FW.astype(float))
    with pytest.raises(ValueError, match="more than 2 dimensions"):
        fgrad.grad(lambda m: fnp.cov(m).sum())(np.ones((2, 2, 2)))
    with pytest.raises(RuntimeError, match="one weight per observation"):
        fgrad.grad(lambda a: fnp.cov(M, aweights=a).sum())(AW[:4])
    with pytest.raises(ValueError, match="negative"):
        fgrad.grad(lambda a: fnp.cov(M, aweights=a).sum())(-AW)
    with pytest.raises(ValueError, match="same number"):
        fgrad.grad(lambda m: fnp.cov(m, Y2[:, :4]).sum())(M)
    with pytest.raises(TypeError, match=r"write \[p\]"):
        fgrad.grad(lambda p: fnp.polyval(p, 2.0))(1.0)
    with pytest.raises(TypeError, match="1-D vector for x"):
        fgrad.grad(lambda x: fnp.polyfit(x, Y7, 1).sum())(np.ones((7, 1)))
    with pytest.raises(TypeError, match="same length"):
        fgrad.grad(lambda y: fnp.polyfit(X7, y, 1).sum())(Y7[:5])
    with pytest.raises(ValueError, match="deg >= 0"):
        fgrad.grad(lambda y: fnp.polyfit(X7, y, -1).sum())(Y7)
