"""Elementwise math, reductions and scans of fgrad.numpy (issue 3, part A).

Analytic derivatives, edge cases (zeros, infinities, ties, nan), the complex
convention, numpy's exact values on plain and traced inputs, and dispatch of
plain numpy calls on tracers.  The systematic table test covers every row
too; these tests pin down what it cannot (specific points and formulas).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fgrad
import fgrad.numpy as fnp
from fgrad.primitives.reductions import _logsumexp

grad, jacfwd, jacrev = fgrad.grad, fgrad.jacfwd, fgrad.jacrev


def d(f, x):
    return float(grad(f)(float(x)))


def fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def num_jac(f, x, eps=1e-6):
    """Central-difference Jacobian of f at x (output shape + input shape)."""
    x = np.asarray(x, float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(x)) + x.shape)


# --- elementwise: analytic derivatives ---------------------------------------------

ANALYTIC = [
    (lambda x: fnp.hypot(x, 4.0), 3.0, 3.0 / 5.0),
    (lambda y: fnp.arctan2(y, 2.0), 1.0, 2.0 / 5.0),
    (lambda x: fnp.arctan2(1.0, x), 2.0, -1.0 / 5.0),
    (lambda x: fnp.logaddexp(x, 0.5), 0.2, 1 / (1 + np.exp(0.3))),
    (lambda x: fnp.logaddexp2(x, 0.5), 0.2, 1 / (1 + 2 ** 0.3)),
    (fnp.sinc, 0.3, (np.cos(np.pi * 0.3) - np.sinc(0.3)) / 0.3),
    (fnp.deg2rad, 10.0, np.pi / 180), (fnp.radians, 10.0, np.pi / 180),
    (fnp.rad2deg, 1.0, 180 / np.pi), (fnp.degrees, 1.0, 180 / np.pi),
    (fnp.cbrt, 8.0, 1.0 / 12.0), (fnp.cbrt, -8.0, 1.0 / 12.0),
    (fnp.square, -3.0, -6.0), (fnp.reciprocal, 2.0, -0.25),
    (lambda x: fnp.fmax(x, 1.0), 2.0, 1.0), (lambda x: fnp.fmax(x, 1.0), 0.5, 0.0),
    (lambda x: fnp.fmin(x, np.nan), 0.5, 1.0), (lambda x: fnp.fmax(np.nan, x), 0.5, 1.0),
    (lambda x: fnp.copysign(x, -1.0), 2.0, -1.0), (lambda x: fnp.copysign(x, -1.0), -2.0, 1.0),
    (lambda x: fnp.copysign(x, 1.0), -2.0, -1.0), (lambda y: fnp.copysign(2.0, y), -1.0, 0.0),
    (lambda x: fnp.true_divide(1.0, x), 2.0, -0.25),
    (lambda x: fnp.float_power(x, 3), 2.0, 12.0), (lambda y: fnp.float_power(2.0, y), 3.0, 8 * np.log(2)),
    (fnp.exp2, 3.0, 8 * np.log(2)), (fnp.log2, 4.0, 1 / (4 * np.log(2))),
    (fnp.log10, 100.0, 1 / (100 * np.log(10))), (fnp.fabs, -2.0, -1.0),
    (lambda x: fnp.fmod(x, 1.5), -2.0, 1.0), (lambda y: fnp.fmod(-7.0, y), 2.0, 3.0),
    (lambda y: fnp.mod(-7.0, y), 2.0, 4.0), (lambda y: fnp.remainder(7.0, y), 2.0, -3.0),
    (lambda x: fnp.ldexp(x, 3), 1.5, 8.0), (lambda x: fnp.frexp(x)[0], 12.0, 1 / 16),
    (lambda x: fnp.modf(x)[0], -2.25, 1.0), (lambda y: fnp.divmod(7.0, y)[1], 2.0, -3.0),
    (lambda x: fnp.power(x, 0.5), 4.0, 0.25), (lambda x: fnp.pow(x, 2), -3.0, -6.0),
    (lambda x: fnp.angle(x + 1j), 1.0, -0.5), (fnp.arccosh, 2.0, 1 / np.sqrt(3)),
    (fnp.asin, 0.5, 1 / np.sqrt(0.75)), (fnp.atanh, 0.5, 1 / 0.75),
]


@pytest.mark.parametrize("k", range(len(ANALYTIC)))
def test_elementwise_analytic_derivatives(k):
    f, x, want = ANALYTIC[k]
    assert d(f, x) == pytest.approx(want, rel=1e-12, abs=1e-14)
    # and forward mode agrees
    _, t = fgrad.jvp(f, (x,), (1.0,))
    assert float(t) == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_sqrt_and_cbrt_at_zero_are_plus_infinity():
    with np.errstate(divide="ignore"):
        assert d(fnp.sqrt, 0.0) == np.inf
        assert d(fnp.cbrt, 0.0) == np.inf
        assert float(fgrad.jvp(fnp.sqrt, (0.0,), (1.0,))[1]) == np.inf


def test_logaddexp_is_stable_and_exact_at_large_and_infinite_inputs():
    assert d(lambda x: fnp.logaddexp(x, 1000.0), 1000.0) == 0.5
    assert d(lambda x: fnp.logaddexp2(x, 1000.0), 1000.0) == 0.5
    assert d(lambda x: fnp.logaddexp(x, -1000.0), 1000.0) == 1.0
    assert d(lambda x: fnp.logaddexp(x, 1000.0), -1000.0) == 0.0
    assert d(lambda x: fnp.logaddexp(x, 1.0), np.inf) == 1.0
    assert d(lambda x: fnp.logaddexp(x, 1.0), -np.inf) == 0.0
    assert d(lambda x: fnp.logaddexp(x, x), -np.inf) == 1.0  # 1/2 + 1/2
    h = fgrad.hessian(lambda x: fnp.logaddexp(x, -np.inf))(-np.inf)
    assert not np.isnan(h)
    # the second derivative: sigma'(x - y)
    s = 1 / (1 + np.exp(-0.3))
    assert float(fgrad.hessian(lambda x: fnp.logaddexp(x, 0.0))(0.3)) == pytest.approx(s * (1 - s))


def test_sinc_derivatives_of_every_order_at_and_near_zero():
    # sinc(x) = 1 - (pi x)^2/6 + (pi x)^4/120 - ...
    f1, f2 = grad(fnp.sinc), grad(grad(fnp.sinc))
    f4 = grad(grad(grad(grad(fnp.sinc))))
    assert float(f1(0.0)) == 0.0
    assert float(f2(0.0)) == pytest.approx(-np.pi ** 2 / 3, rel=1e-12)
    assert float(f4(0.0)) == pytest.approx(np.pi ** 4 / 5, rel=1e-10)

    def series(x, order):  # derivatives of sum_k (-1)^k (pi x)^(2k) / (2k+1)!, 12 terms
        total = 0.0
        for k in range(1, 13):
            c = (-1) ** k * np.pi ** (2 * k) / math.factorial(2 * k + 1)
            p = 2 * k
            for _ in range(order):
                c, p = c * p, p - 1
            total += c * x ** p
        return total

    for x in [1e-8, 5e-4, 9.99e-4, 1.001e-3, 0.01, 0.3]:
        assert float(f1(x)) == pytest.approx(series(x, 1), rel=1e-9)
        assert float(f2(x)) == pytest.approx(series(x, 2), rel=1e-7)


def test_piecewise_functions_at_their_kinks():
    assert d(fnp.abs, 0.0) == 0.0
    assert d(lambda x: fnp.maximum(x, 1.0), 1.0) == 0.5
    assert d(lambda x: fnp.minimum(x, x), 2.0) == 1.0
    assert d(lambda x: fnp.hypot(x, 0.0), 0.0) == 0.0
    assert d(lambda x: fnp.arctan2(x, 0.0), 0.0) == 0.0
    assert d(lambda x: fnp.arctan2(0.0, x), 0.0) == 0.0
    assert d(lambda x: fnp.power(x, 2.0), 0.0) == 0.0
    assert d(lambda x: fnp.power(x, 0.0), 0.0) == 0.0
    assert d(lambda y: fnp.power(0.0, y), 2.0) == 0.0
    assert d(fnp.sign, 2.0) == 0.0
    assert d(lambda x: fnp.clip(x, 0.0, 1.0), 1.0) == 1.0
    assert d(lambda x: fnp.nan_to_num(x), np.inf) == 0.0
    assert d(lambda x: fnp.nan_to_num(x), 2.0) == 1.0


# --- complex numbers -------------------------------------------------------------------


def _complex_grad_reference(f, z, eps=1e-6):
    # JAX's convention for a real-valued f: grad = df/dx - i df/dy
    dx = (f(z + eps) - f(z - eps)) / (2 * eps)
    dy = (f(z + 1j * eps) - f(z - 1j * eps)) / (2 * eps)
    return dx - 1j * dy


REAL_OF_COMPLEX = {
    "abs": fnp.abs,
    "abs**2": lambda z: fnp.abs(z) ** 2,
    "angle": fnp.angle,
    "real": fnp.real,
    "imag": fnp.imag,
    "real(conj*z)": lambda z: fnp.real(fnp.conj(z) * z),
    "real(sign)": lambda z: fnp.real(fnp.sign(z)),
    "imag(sign)": lambda z: fnp.imag(fnp.sign(z)),
    "real(exp)": lambda z: fnp.real(fnp.exp(z)),
    "imag(log)": lambda z: fnp.imag(fnp.log(z)),
    "real(sqrt)": lambda z: fnp.real(fnp.sqrt(z)),
    "abs(sin)": lambda z: fnp.abs(fnp.sin(z)),
    "real(cos*tanh)": lambda z: fnp.real(fnp.cos(z) * fnp.tanh(z)),
    "real(z/(1+z**2.5))": lambda z: fnp.real(z / (1 + fnp.power(z, 2.5))),
    "sum|z|": lambda z: fnp.sum(fnp.abs(z * fnp.array([1.0, 2j]))),
}


@pytest.mark.parametrize("name", sorted(REAL_OF_COMPLEX))
@pytest.mark.parametrize("z", [3 + 4j, -0.7 + 0.2j, 0.5 - 1.5j])
def test_grad_of_real_function_of_complex_is_df_dx_minus_i_df_dy(name, z):
    f = REAL_OF_COMPLEX[name]
    want = _complex_grad_reference(lambda u: np.asarray(f(u)), z)
    got = complex(grad(f)(z))
    assert abs(got - want) < 1e-6 * max(1.0, abs(want))


def test_abs_vjp_at_complex_point_is_g_conj_z_over_abs_z():
    z = np.array([3 + 4j, -1 + 1j])
    _, f_vjp = fgrad.vjp(fnp.abs, z)
    (ct,) = f_vjp(np.array([1.0, 2.0]))
    np.testing.assert_allclose(ct, np.array([1.0, 2.0]) * np.conj(z) / np.abs(z))


COMPLEX_FUNCS = {
    "exp": fnp.exp, "log": fnp.log, "sin": fnp.sin, "cos": fnp.cos, "tanh": fnp.tanh,
    "sqrt": fnp.sqrt, "abs": fnp.abs, "real": fnp.real, "imag": fnp.imag, "conj": fnp.conj,
    "angle": fnp.angle, "sign": fnp.sign, "square": fnp.square, "reciprocal": fnp.reciprocal,
    "log1p": fnp.log1p, "arctan": fnp.arctan, "sinc": fnp.sinc,
    "multiply": lambda z: z * (2 - 1j) * z, "divide": lambda z: (1 + 2j) / z,
    "power": lambda z: fnp.power(z, 1.5 + 0.5j), "power_z_z": lambda z: fnp.power(z, z),
    "sum": fnp.sum, "prod": fnp.prod, "mean": fnp.mean, "cumsum": fnp.cumsum,
    "cumprod": fnp.cumprod, "var": fnp.var,
}


@pytest.mark.parametrize("name", sorted(COMPLEX_FUNCS))
def test_complex_inputs_second_order(name):
    z = np.array([0.8 + 0.3j, 1.3 - 0.4j, 0.6 + 0.9j])
    fgrad.check_grads(COMPLEX_FUNCS[name], (z,), order=2)


# --- non-differentiable functions inside a trace ----------------------------------------

NONDIFF_UNARY = [
    "floor", "ceil", "rint", "round", "around", "trunc", "fix", "spacing", "signbit",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "iscomplex", "logical_not",
    "argmax", "argmin", "nanargmax", "nanargmin", "argsort", "nonzero", "count_nonzero",
]
NONDIFF_BINARY = [
    "heaviside", "floor_divide", "greater", "greater_equal", "less",
    "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_xor",
]


def test_nextafter_moves_with_its_first_argument():
    """nextafter(x, y) is x moved by one unit in the last place: derivative 1 in x and 0 in y,
    except where x == y (the result is y there).  Treating it as a constant silently dropped
    the derivative: grad(x * nextafter(x, 2)) was about x instead of about 2 x."""
    x = np.array([0.3, -1.7, 2.0, 5.0])
    y = np.array([2.0, -3.0, 2.0, 9.0])
    gx, gy = fgrad.grad(lambda a, b: fnp.sum(a * fnp.nextafter(a, b)), argnums=(0, 1))(x, y)
    tie = x == y
    np.testing.assert_allclose(gx, np.where(tie, x, 2 * x), rtol=1e-12)
    np.testing.assert_allclose(gy, np.where(tie, x, 0.0), rtol=1e-12)
    h = 1e-6
    for i in np.flatnonzero(~tie):  # central differences in x
        e = np.zeros_like(x)
        e[i] = h
        fd = (np.sum((x + e) * np.nextafter(x + e, y)) - np.sum((x - e) * np.nextafter(x - e, y)))
        np.testing.assert_allclose(gx[i], fd / (2 * h), rtol=1e-6)
    fgrad.check_grads(lambda a: fnp.nextafter(a, 10.0) * a, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", NONDIFF_UNARY + NONDIFF_BINARY)
def test_nondifferentiable_functions_return_plain_values_in_a_trace(name):
    x = np.array([-1.5, 0.0, 2.5, 3.0])
    nargs = 2 if name in NONDIFF_BINARY else 1
    want = getattr(np, name)(*([x, x[::-1]][:nargs]))
    seen = {}

    def f(t):
        for api in (fnp, np):  # fgrad.numpy and plain numpy (dispatch) alike
            out = getattr(api, name)(*([t, t[::-1]][:nargs]))
            leaves = out if isinstance(out, tuple) else (out,)
            assert not any(isinstance(o, fgrad.core.Tracer) for o in leaves)
            seen[api.__name__] = out
        return fnp.sum(t * t)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = grad(f)(x)
    np.testing.assert_array_equal(g, 2 * x)
    for out in seen.values():
        if isinstance(want, tuple):
            for a, b in zip(out, want):
                np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_array_equal(out, want)


def test_integer_only_ufuncs_are_reachable_and_nondifferentiable():
    i, j = np.array([12, 18]), np.array([8, 4])
    for name in ["gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift",
                 "right_shift", "bitwise_left_shift", "bitwise_right_shift"]:
        np.testing.assert_array_equal(getattr(fnp, name)(i, j), getattr(np, name)(i, j))
    for name in ["invert", "bitwise_not", "bitwise_invert", "bitwise_count"]:
        np.testing.assert_array_equal(getattr(fnp, name)(i), getattr(np, name)(i))
    for name in ["gcd", "invert", "bitwise_count"]:
        assert fgrad.core.PRIMITIVES[name].nondiff


# --- numpy's values, plain and traced, and dispatch ------------------------------------

X = np.array([[0.3, -1.2, 2.5, 0.0], [1.1, 0.7, -0.4, 2.5], [np.e, -2.0, 0.05, 1.0]])
POS = np.abs(X) + 0.5
CASES = {
    # name: (args, kwargs); args marked "x" are differentiated
    "hypot": ((X, POS), {}), "arctan2": ((X, POS), {}), "logaddexp": ((X, POS), {}),
    "logaddexp2": ((X, POS), {}), "sinc": ((X,), {}), "cbrt": ((X,), {}),
    "copysign": ((X, -POS), {}), "fmod": ((X, POS), {}), "fabs": ((X,), {}),
    "ldexp": ((X, np.array([1, -2, 3, 0])), {}), "frexp": ((X,), {}), "modf": ((X,), {}),
    "divmod": ((X, POS), {}), "angle": ((X + 2j * POS,), {"deg": True}),
    "nan_to_num": ((np.where(X > 2, np.inf, X),), {"posinf": 9.0}),
    "sum": ((X,), {"axis": 1, "keepdims": True}), "mean": ((X,), {"axis": (0, 1)}),
    "prod": ((X,), {"axis": 0}), "max": ((X,), {"axis": 1}), "min": ((X,), {}),
    "amax": ((X,), {"initial": 2.6, "axis": 0}), "amin": ((X,), {"where": X > 0, "initial": 9.0}),
    "ptp": ((X,), {"axis": 0}), "var": ((X,), {"axis": 1, "ddof": 1}),
    "std": ((X,), {"axis": 0, "keepdims": True}), "average": ((X,), {"axis": 1, "weights": POS[0]}),
    "nansum": ((np.where(X > 2, np.nan, X),), {"axis": 0}),
    "nanprod": ((np.where(X > 2, np.nan, X),), {}),
    "nanmean": ((np.where(X > 2, np.nan, X),), {"axis": 1}),
    "nanvar": ((np.where(X > 2, np.nan, X),), {"axis": 1, "ddof": 1}),
    "nanstd": ((np.where(X > 2, np.nan, X),), {}),
    "nanmax": ((np.where(X > 2, np.nan, X),), {"axis": 0}),
    "nanmin": ((np.where(X > 2, np.nan, X),), {"axis": 1}),
    "median": ((X,), {"axis": 1}), "nanmedian": ((np.where(X > 2, np.nan, X),), {"axis": 0}),
    "quantile": ((X, 0.3), {"axis": 0, "method": "hazen"}),
    "nanquantile": ((np.where(X > 2, np.nan, X), [0.1, 0.9]), {"axis": 1}),
    "percentile": ((X, 40), {"method": "nearest"}),
    "nanpercentile": ((np.where(X > 2, np.nan, X), 65.0), {"axis": 0, "keepdims": True}),
    "cumsum": ((X,), {"axis": 1}), "cumprod": ((X,), {"axis": 0}),
    "nancumsum": ((np.where(X > 2, np.nan, X),), {}),
    "nancumprod": ((np.where(X > 2, np.nan, X),), {"axis": 1}),
    "cumulative_sum": ((X,), {"axis": 0, "include_initial": True}),
    "cumulative_prod": ((X[0],), {}),
    "diff": ((X,), {"n": 2, "axis": 1, "prepend": 0.5}), "ediff1d": ((X,), {"to_end": [1.0, 2.0]}),
    "trapezoid": ((X,), {"x": np.array([0.0, 0.5, 2.0, 2.5])}),
    "clip": ((X, -1.0, 1.0), {}),
}


def _assert_same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
        return
    got = fgrad.core.concrete(got)
    assert np.result_type(got) == np.result_type(want), (np.result_type(got), np.result_type(want))
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_equal_numpys_plain_traced_and_dispatched(name):
    args, kwargs = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(np, name)(*args, **kwargs)
        _assert_same(getattr(fnp, name)(*args, **kwargs), want)
        for api in (fnp, np):
            def f(x):
                return getattr(api, name)(x, *args[1:], **kwargs)

            out, _ = fgrad.jvp(f, (args[0],), (np.ones_like(args[0]),))
            _assert_same(out, want)
            out, _ = fgrad.vjp(f, args[0])
            _assert_same(out, want)


def test_tracer_methods():
    x = np.array([[2.0, 0.5, 3.0], [1.0, 4.0, 0.25]])
    g = grad(lambda t: t.cumprod(axis=1).sum() + t.ptp() + t.max(axis=0).sum())(x)
    want = num_jac(lambda t: np.cumprod(t, axis=1).sum() + np.ptp(t) + t.max(axis=0).sum(), x)
    np.testing.assert_allclose(g, want, rtol=1e-7)
    q, r = fgrad.jvp(lambda t: divmod(t, 1.5), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(q[0], np.floor_divide(x, 1.5))
    np.testing.assert_array_equal(r[1], np.ones_like(x))  # d mod / dx = 1
    assert d(lambda t: divmod(7.0, t)[1], 2.0) == -3.0


# --- reductions ---------------------------------------------------------------------------


@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
                 elements=st.floats(-3, 3)),
    data=st.data(),
)
def test_var_and_std_gradients_are_analytic(x, data):
    axis = data.draw(st.sampled_from([None] + list(range(x.ndim))))
    ddof = data.draw(st.sampled_from([0, 1]))
    n = x.size if axis is None else x.shape[axis]
    mu = np.mean(x, axis=axis, keepdims=True)
    want = 2 * (x - mu) / (n - ddof)
    g = grad(lambda t: fnp.sum(fnp.var(t, axis=axis, ddof=ddof)))(x)
    np.testing.assert_allclose(g, want, atol=1e-12)
    s = np.std(x, axis=axis, ddof=ddof, keepdims=True)
    if np.all(s > 1e-3):
        g = grad(lambda t: fnp.sum(fnp.std(t, axis=axis, ddof=ddof)))(x)
        np.testing.assert_allclose(g, (x - mu) / ((n - ddof) * s), rtol=1e-9, atol=1e-12)
    # the Hessian of var: 2 (I - 1/n) / (n - ddof) on each slice
    if axis is None and x.size <= 8:
        h = fgrad.hessian(lambda t: fnp.var(t, ddof=ddof))(x.ravel())
        want_h = 2 * (np.eye(x.size) - 1.0 / x.size) / (x.size - ddof)
        np.testing.assert_allclose(h, want_h, atol=1e-12)


def test_mean_sum_with_where_and_initial():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = np.array([[True, False, True], [True, True, False]])
    np.testing.assert_array_equal(grad(lambda t: fnp.sum(t, where=mask))(x), mask * 1.0)
    g = grad(lambda t: fnp.mean(t, axis=1, where=mask).sum())(x)
    np.testing.assert_array_equal(g, mask / mask.sum(axis=1, keepdims=True))
    g = grad(lambda t: fnp.prod(t, initial=2.0, where=mask))(x)
    np.testing.assert_allclose(g, np.where(mask, 2 * np.prod(x, where=mask) / x, 0))
    # initial wins in row 0 (max 3 < 3.5): no derivative there
    g = grad(lambda t: fnp.max(t, axis=1, initial=3.5).sum())(x)
    np.testing.assert_array_equal(g, [[0, 0, 0], [0, 0, 1]])
    # a traced initial value
    assert d(lambda v: fnp.max(x, initial=v), 7.0) == 1.0
    assert d(lambda v: fnp.sum(x, initial=v), 7.0) == 1.0


def test_max_min_split_ties_evenly():
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(grad(lambda t: fnp.max(t))(x), [[0.5, 0, 0.5], [0, 0, 0]])
    np.testing.assert_allclose(grad(lambda t: fnp.min(t, axis=1).sum())(x),
                               [[0, 1, 0], [1 / 3, 1 / 3, 1 / 3]])
    _, t = fgrad.jvp(lambda t: fnp.amax(t, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, [1.0, 1.0])
    np.testing.assert_array_equal(grad(fnp.ptp)(np.array([1.0, 5.0, 5.0, 1.0])),
                                  [-0.5, 0.5, 0.5, -0.5])


def test_nan_reductions_ignore_nan_entries():
    x = np.array([1.0, np.nan, 3.0, 2.0])
    np.testing.assert_array_equal(grad(fnp.nansum)(x), [1, 0, 1, 1])
    np.testing.assert_allclose(grad(fnp.nanmean)(x), [1 / 3, 0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(grad(fnp.nanvar)(x), [2 * (1 - 2) / 3, 0, 2 / 3, 0], atol=1e-15)
    np.testing.assert_array_equal(grad(fnp.nanmax)(x), [0, 0, 1, 0])
    np.testing.assert_array_equal(grad(fnp.nanmin)(x), [1, 0, 0, 0])
    np.testing.assert_array_equal(grad(fnp.nanprod)(x), [6, 0, 2, 3])
    np.testing.assert_array_equal(grad(fnp.nanmedian)(x), [0, 0, 0, 1])


def _prod_hessian(x):
    n = x.size
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                h[i, j] = np.prod(np.delete(x, [i, j]))
    return h


@pytest.mark.parametrize("x", [
    [2.0, 3.0, 0.5, 4.0], [2.0, 0.0, 0.5, 4.0], [0.0, 3.0, 0.0, 4.0], [0.0, 0.0, 0.0, 2.0],
    [0.0, 0.0, 0.0, 0.0], [1e-9, 3.0, 0.5, 4.0], [2.0, -1e-12, 0.5, 1e-14],
])
def test_prod_is_exact_at_zeros_to_second_order(x):
    x = np.array(x)
    others = np.array([np.prod(np.delete(x, i)) for i in range(x.size)])
    np.testing.assert_array_equal(grad(fnp.prod)(x), others)
    np.testing.assert_allclose(fgrad.hessian(fnp.prod)(x), _prod_hessian(x), atol=1e-15)
    np.testing.assert_allclose(jacrev(grad(fnp.prod))(x), _prod_hessian(x), atol=1e-15)
    # a third derivative, where two zeros need three differentiations to see
    third = jacfwd(fgrad.hessian(fnp.prod))(x)
    i, j, k = 0, 1, 2
    assert third[i, j, k] == pytest.approx(np.prod(np.delete(x, [i, j, k])))


def test_prod_with_zeros_along_an_axis_and_complex():
    x = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 0.5], [0.0, 2.0, 0.0]])
    for axis in [0, 1, None, (0, 1)]:
        jac = jacrev(lambda t: fnp.prod(t, axis=axis))(x)
        want = num_jac(lambda t: np.prod(t, axis=axis), x)
        np.testing.assert_allclose(jac, want, atol=1e-8)
    z = np.array([1 + 1j, 0j, 2 - 1j])
    fgrad.check_grads(fnp.prod, (z,), order=2)


def _cumprod_jacobian(x):
    n = x.size
    j = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            j[i, k] = np.prod(np.delete(x[: i + 1], k))
    return j


@pytest.mark.parametrize("x", [
    [2.0, 3.0, 0.5, 4.0], [2.0, 0.0, 0.5, 4.0], [0.0, 3.0, 0.0, 4.0], [0.0, 0.0, 5.0, 0.0],
    [1e-9, 3.0, 0.5, 4.0], [2.0, -1e-12, 0.5, 1e-14],
])
def test_cumprod_is_exact_at_zeros_to_second_order(x):
    x = np.array(x)
    np.testing.assert_allclose(jacfwd(fnp.cumprod)(x), _cumprod_jacobian(x), atol=1e-15)
    np.testing.assert_allclose(jacrev(fnp.cumprod)(x), _cumprod_jacobian(x), atol=1e-15)
    # the last element of cumprod is prod: same Hessian, in both orders of the modes
    np.testing.assert_allclose(fgrad.hessian(lambda t: fnp.cumprod(t)[-1])(x), _prod_hessian(x),
                               atol=1e-15)
    np.testing.assert_allclose(jacrev(jacrev(lambda t: fnp.cumprod(t)[-1]))(x),
                               _prod_hessian(x), atol=1e-15)
    fgrad.check_grads(fnp.cumprod, (x,), order=3)


def test_cumprod_with_zeros_along_axes():
    x = np.array([[1.0, 0.0, 2.0], [3.0, 4.0, 0.5], [0.0, 2.0, 0.0]])
    for axis in [0, 1, -1, None]:
        jac = jacrev(lambda t: fnp.cumprod(t, axis=axis))(x)
        np.testing.assert_allclose(jac, num_jac(lambda t: np.cumprod(t, axis=axis), x), atol=1e-8)
        fgrad.check_grads(lambda t: fnp.cumprod(t, axis=axis), (x,), order=2)


def test_cumsum_family_and_differences():
    x = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    for f, ref in [
        (lambda t: fnp.cumsum(t, axis=0), lambda t: np.cumsum(t, axis=0)),
        (lambda t: fnp.cumsum(t), np.cumsum),
        (lambda t: fnp.cumulative_sum(t, axis=1, include_initial=True),
         lambda t: np.cumulative_sum(t, axis=1, include_initial=True)),
        (lambda t: fnp.cumulative_prod(t, axis=0), lambda t: np.cumulative_prod(t, axis=0)),
        (lambda t: fnp.diff(t, n=2, axis=1, append=[[1.0], [2.0]]),
         lambda t: np.diff(t, n=2, axis=1, append=[[1.0], [2.0]])),
        (lambda t: fnp.ediff1d(t, to_begin=-1.0), lambda t: np.ediff1d(t, to_begin=-1.0)),
        (lambda t: fnp.trapezoid(t, dx=0.5, axis=0), lambda t: np.trapezoid(t, dx=0.5, axis=0)),
    ]:
        np.testing.assert_allclose(jacrev(f)(x), num_jac(ref, x), atol=1e-8)
        np.testing.assert_allclose(jacfwd(f)(x), num_jac(ref, x), atol=1e-8)
    # trapezoid in the abscissae
    y = np.array([1.0, 4.0, 9.0])
    g = grad(lambda s: fnp.trapezoid(y, s))(np.array([0.0, 1.0, 3.0]))
    np.testing.assert_allclose(g, num_jac(lambda s: np.trapezoid(y, s), np.array([0.0, 1.0, 3.0])),
                               atol=1e-8)


def test_average_weights_and_returned():
    a = np.array([[1.0, 2.0, 4.0], [3.0, 0.0, 1.0]])
    w = np.array([1.0, 2.0, 3.0])
    g = grad(lambda t: fnp.average(a, axis=1, weights=t).sum())(w)
    np.testing.assert_allclose(g, num_jac(lambda t: np.average(a, axis=1, weights=t).sum(), w),
                               atol=1e-8)
    g = grad(lambda t: fnp.average(t, axis=1, weights=w).sum())(a)
    np.testing.assert_allclose(g, np.broadcast_to(w / w.sum(), a.shape))
    avg, scl = fnp.average(a, axis=0, returned=True)
    avg2, scl2 = fgrad.jvp(lambda t: fnp.average(t, axis=0, returned=True), (a,),
                           (np.ones_like(a),))[0]
    _assert_same((avg2, scl2), (avg, scl))


# --- order statistics ---------------------------------------------------------------------

METHODS = ["linear", "lower", "higher", "nearest", "midpoint", "hazen", "weibull",
           "median_unbiased", "normal_unbiased", "interpolated_inverted_cdf", "inverted_cdf",
           "averaged_inverted_cdf", "closest_observation"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n", [1, 2, 5, 6])
def test_quantile_derivatives_every_method(method, n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 3))
    q = np.array([0.0, 0.13, 0.5, 0.77, 1.0])

    def ref(t):
        return np.quantile(t, q, axis=0, method=method)

    jac = jacrev(lambda t: fnp.quantile(t, q, axis=0, method=method))(x)
    np.testing.assert_allclose(jac, num_jac(ref, x), atol=1e-8)
    jac = jacfwd(lambda t: fnp.percentile(t, 100 * q, axis=0, method=method))(x)
    np.testing.assert_allclose(jac, num_jac(ref, x), atol=1e-8)
    # in q (between the kinks)
    qi = np.array([0.13, 0.77])
    jq = jacfwd(lambda s: fnp.quantile(x, s, axis=0, method=method))(qi)
    want = num_jac(lambda s: np.quantile(x, s, axis=0, method=method), qi)
    np.testing.assert_allclose(jq, want, atol=1e-6)


def test_median_and_percentile_values_and_gradients():
    x = np.array([4.0, 1.0, 3.0, 2.0, 5.0])
    np.testing.assert_array_equal(grad(fnp.median)(x), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(grad(fnp.median)(x[:4]), [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(grad(lambda t: fnp.percentile(t, 30.0))(x), [0, 0, 0.2, 0.8, 0])
    # the slope in q: (s[i+1] - s[i]) (n - 1) / 100 for percentiles
    assert d(lambda p: fnp.percentile(x, p), 30.0) == pytest.approx(0.04)
    m = np.array([[1.0, 7.0, 3.0], [8.0, 2.0, 6.0]])
    g = grad(lambda t: fnp.median(t, axis=1).sum())(m)
    np.testing.assert_array_equal(g, [[0, 0, 1], [0, 0, 1]])
    g = grad(lambda t: fnp.nanmedian(t, axis=0, keepdims=True).sum())(
        np.array([[1.0, np.nan], [3.0, 2.0], [np.nan, 4.0]]))
    np.testing.assert_array_equal(g, [[0.5, 0], [0.5, 0.5], [0, 0.5]])


@pytest.mark.parametrize("kind", ["quantile", "nanquantile", "percentile", "nanpercentile"])
def test_quantile_second_order_in_a_and_q(kind):
    x = np.array([[0.3, -1.1, 2.0, 0.7], [1.5, 0.2, -0.6, 0.9]])
    if kind.startswith("nan"):
        x[0, 1] = np.nan
    q = np.array([0.35, 0.6]) * (100 if kind.endswith("percentile") else 1)
    f = getattr(fnp, kind)
    fgrad.check_grads(lambda t, s: f(t, s, axis=1), (x, q), order=2)
    # the mixed derivative d2/dq da: the weights move with q
    h = jacfwd(grad(lambda t, s: f(t, s, axis=1).sum(), argnums=1), argnums=0)(x, q)
    assert np.any(h != 0)


def test_quantile_rejects_unsupported_options_clearly():
    x = np.array([1.0, 2.0])
    with pytest.raises(NotImplementedError, match="weights"):
        grad(lambda t: fnp.quantile(t, 0.5, method="inverted_cdf", weights=[1.0, 1.0]))(x)
    with pytest.raises(ValueError, match="not a valid method"):
        grad(lambda t: fnp.quantile(t, 0.5, method="bogus"))(x)
    with pytest.raises(TypeError, match="out="):
        grad(lambda t: fnp.sum(t, out=np.zeros(())))(x)


# --- logsumexp helper --------------------------------------------------------------------


def test_logsumexp_helper_is_stable_and_its_gradient_is_softmax():
    x = np.array([[1000.0, 1000.0, 990.0], [-1e4, 0.0, 1.0]])
    want = np.log(np.sum(np.exp(x - x.max(1, keepdims=True)), 1)) + x.max(1)
    np.testing.assert_allclose(_logsumexp(x, axis=1), want, rtol=1e-15)
    g = grad(lambda t: _logsumexp(t, axis=1).sum())(x)
    sm = np.exp(x - want[:, None])
    np.testing.assert_allclose(g, sm, rtol=1e-12)
    fgrad.check_grads(lambda t: _logsumexp(t, axis=0, keepdims=True), (x[:, :2] / 1000,), order=2)
    with np.errstate(all="ignore"):
        y = np.array([-np.inf, -np.inf])
        assert _logsumexp(y) == -np.inf
        np.testing.assert_array_equal(grad(_logsumexp)(y), [0.5, 0.5])
        np.testing.assert_array_equal(grad(_logsumexp)(np.array([np.inf, 1.0])), [1.0, 0.0])


# --- under vmap ------------------------------------------------------------------------------

VMAPPED = {
    "prod": fnp.prod,
    "cumprod[-1]": lambda t: fnp.cumprod(t)[-1],
    "median": fnp.median,
    "percentile": lambda t: fnp.percentile(t, 30.0, method="hazen"),
    "nanquantile": lambda t: fnp.nanquantile(fnp.where(t > 1.5, fnp.nan, t), 0.4),
    "max": fnp.max,
    "logsumexp": _logsumexp,
    "logaddexp": lambda t: fnp.logaddexp(t[0], t[1]),
    "var": lambda t: fnp.var(t, ddof=1),
    "nanmean": lambda t: fnp.nanmean(fnp.where(t > 1.5, fnp.nan, t)),
    "sinc": lambda t: fnp.sinc(t).sum(),
}


@pytest.mark.parametrize("name", sorted(VMAPPED))
def test_gradients_and_hessians_under_vmap_match_a_loop(name):
    from fgrad.batching import vmap

    f = VMAPPED[name]
    xs = np.array([[2.0, 0.0, 0.5, 3.0], [1.0, 2.0, 0.7, 0.1], [0.0, 0.0, 4.0, 1.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for transform in (grad, fgrad.hessian):
            got = vmap(transform(f))(xs)
            want = np.stack([transform(f)(x) for x in xs])
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_the_complex_numbers_guide_runs_and_its_table_holds():
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "complex.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert blocks
    namespace = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    # the angle row of the table: vjp g (-y - i x) / |z|^2
    z = 0.6 - 1.7j
    want = (-z.imag - 1j * z.real) / abs(z) ** 2
    assert abs(complex(grad(fnp.angle)(z)) - want) < 1e-12
    # the sign row: (g - Re(g s) conj(s)) / |z| with g = 1 on the real part
    s = z / abs(z)
    got = complex(grad(lambda u: fnp.real(fnp.sign(u)))(z))
    assert abs(got - (1 - (s).real * np.conj(s)) / abs(z)) < 1e-12
