"""Unusual numpy inputs (issue 16): each gives the right derivative or a clear error.

* ``std``/``var`` of single values (identically 0 there: derivative 0, not NaN);
* ``linspace``/``logspace``/``geomspace`` with traced endpoints;
* reductions of a traced Python float/complex scalar;
* ``interp`` with lists for the sample points;
* ``logsumexp(x, keepdims=True)`` on a 0-d ``x`` under every transform;
* masked arrays and ``np.matrix`` are refused by type, as inputs and as constants.

Derivatives are checked against central finite differences or closed forms.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.scipy.special import logsumexp


def fd(f, x, eps=1e-6):
    """Central finite differences of a real function of a real array (or scalar)."""
    x = np.asarray(x, dtype=float)
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = eps
        g[i] = (np.sum(f(x + e)) - np.sum(f(x - e))) / (2 * eps)
    return g


# --- std / var of single values (item 11) ----------------------------------------------


@pytest.mark.parametrize("name", ["std", "var"])
@pytest.mark.parametrize("ddof", [0, -1])
@pytest.mark.parametrize("x", [np.array([2.0]), np.array(2.0), 2.0, np.array([[2.0], [5.0]])],
                         ids=["1-elem", "0-d", "float", "axis-1"])
def test_std_var_of_single_values_have_zero_derivative(name, ddof, x):
    fn = getattr(fnp, name)
    axis = 1 if np.ndim(x) == 2 else None

    def f(v):
        return fnp.sum(fn(v, axis=axis, ddof=ddof))

    np.testing.assert_array_equal(f(x), np.sum(getattr(np, name)(x, axis=axis, ddof=ddof)))
    want = fd(lambda v: getattr(np, name)(v, axis=axis, ddof=ddof), x)
    np.testing.assert_array_equal(want, 0.0)  # identically 0
    with np.errstate(all="raise"):  # no 0 * inf on the way
        g = fgrad.grad(f)(x)
        _, t = fgrad.jvp(f, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(g, want)
    assert t == 0.0
    gg = fgrad.grad(fgrad.grad(f))(x) if np.ndim(x) == 0 else fgrad.hessian(f)(x)
    np.testing.assert_array_equal(gg, 0.0)


def test_std_mixed_slices_single_and_longer():
    # one slice of length 1 (derivative 0) next to a slice with spread (the usual one)
    x = np.array([[2.0, 4.0], [5.0, 1.0]])
    where = np.array([[True, False], [True, True]])

    def f(v):
        return fnp.sum(fnp.std(v, axis=1, where=where))

    def ref(v):
        return np.sum(np.std(v, axis=1, where=where))

    np.testing.assert_allclose(fgrad.grad(f)(x), fd(ref, x), atol=1e-8)


def test_std_ddof_equal_to_count_is_nan_like_numpy():
    # n - ddof = 0: numpy gives nan (0 / 0); so does the derivative, no silent number
    x = np.array([2.0])
    with np.errstate(all="ignore"):
        assert np.isnan(fnp.std(x, ddof=1))
        assert np.all(np.isnan(fgrad.grad(lambda v: fnp.std(v, ddof=1))(x)))


def test_std_vmap_of_single_values():
    xs = np.array([[1.0], [3.0]])
    g = fgrad.vmap(fgrad.grad(lambda v: fnp.std(v)))(xs)
    np.testing.assert_array_equal(g, np.zeros((2, 1)))


# --- linspace / logspace / geomspace with traced endpoints -----------------------------


SPACES = {
    "linspace": lambda mod, a, b, **kw: mod.linspace(a, b, 5, **kw),
    "linspace-noend": lambda mod, a, b, **kw: mod.linspace(a, b, 4, endpoint=False, **kw),
    "linspace-1": lambda mod, a, b, **kw: mod.linspace(a, b, 1, **kw),
    "logspace": lambda mod, a, b, **kw: mod.logspace(a, b, 4, **kw),
    "logspace-base2": lambda mod, a, b, **kw: mod.logspace(a, b, 4, base=2.0, **kw),
    "geomspace": lambda mod, a, b, **kw: mod.geomspace(a, b, 4, **kw),
}


@pytest.mark.parametrize("name", sorted(SPACES))
@pytest.mark.parametrize("mod", [np, fnp], ids=["np", "fnp"])
def test_spaces_with_traced_endpoints(name, mod):
    space = SPACES[name]

    def f(x):
        return mod.sum(space(mod, x, 2 * x + 1) ** 2)

    x = 0.7
    np.testing.assert_allclose(f(x), np.sum(space(np, x, 2 * x + 1) ** 2), rtol=1e-13)
    want = fd(lambda v: np.sum(space(np, v, 2 * v + 1) ** 2), x)
    np.testing.assert_allclose(fgrad.grad(f)(x), want, rtol=1e-6)
    _, t = fgrad.jvp(f, (x,), (1.0,))
    np.testing.assert_allclose(t, want, rtol=1e-6)


@pytest.mark.parametrize("name", ["linspace", "logspace", "geomspace"])
def test_spaces_array_endpoints_axis_and_vmap(name):
    a, b = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    sp = getattr(fnp, name)

    def f(u, v):
        return sp(u, v, 3, axis=1)

    np.testing.assert_allclose(f(fgrad.stop_gradient(a), b), getattr(np, name)(a, b, 3, axis=1))
    jac = fgrad.jacfwd(f)(a, b)
    want = np.stack([fd(lambda u, k=k: getattr(np, name)(u, b, 3, axis=1).ravel()[k], a)
                     for k in range(6)]).reshape(2, 3, 2)
    np.testing.assert_allclose(jac, want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fgrad.jacrev(f)(a, b), jac, rtol=1e-12)
    got = fgrad.vmap(lambda u: sp(u, 4.0, 3))(a)
    np.testing.assert_allclose(got, np.stack([getattr(np, name)(u, 4.0, 3) for u in a]))


def test_linspace_retstep_traced():
    def f(x):
        return fnp.linspace(x, 3 * x, 5, retstep=True)

    y, step = fgrad.vmap(f)(np.array([2.0]))
    want_y, want_step = np.linspace(2.0, 6.0, 5, retstep=True)
    np.testing.assert_allclose(y[0], want_y, rtol=1e-15)
    np.testing.assert_allclose(step[0], want_step, rtol=1e-15)
    assert fgrad.grad(lambda x: f(x)[1])(2.0) == pytest.approx(0.5)  # step = 2x / 4


# --- reductions of a traced Python scalar ----------------------------------------------


REDUCERS = ["max", "min", "amax", "amin", "sum", "mean", "prod", "var", "std", "ptp",
            "median", "average", "nanmax", "nansum"]


@pytest.mark.parametrize("name", REDUCERS)
@pytest.mark.parametrize("x", [2.0, np.float64(2.0), np.array(2.0)], ids=["float", "f64", "0-d"])
def test_reductions_of_a_traced_python_float(name, x):
    red = getattr(np, name)
    want = fd(lambda v: red(v) * v, x)  # d/dx (r(x) x): r(x) + x r'(x)

    def f(v):
        return red(v) * v

    np.testing.assert_allclose(fgrad.grad(f)(x), want, rtol=1e-7, atol=1e-9)
    _, t = fgrad.jvp(f, (x,), (1.0,))
    np.testing.assert_allclose(t, want, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ["max", "min", "sum", "mean", "prod", "var", "std", "ptp"])
def test_reductions_of_a_traced_python_complex(name):
    red = getattr(np, name)
    z = 2.0 + 1.0j
    if name in ("max", "min", "ptp"):  # numpy orders complex numbers lexicographically
        want_t = {"max": 1.0 + 0j, "min": 1.0 + 0j, "ptp": 0j}[name]
    elif name in ("var", "std"):
        want_t = 0.0
    else:
        want_t = 1.0 + 0j
    out, t = fgrad.jvp(lambda v: red(v), (z,), (1.0 + 0j,))
    assert out == red(z)
    assert t == want_t
    g = fgrad.grad(lambda v: fnp.real(red(v) * fnp.conj(v)))(z)
    # d/dz-bar of Re(r(z) conj(z)) for r(z) = z (or 0 for var/std), fgrad's convention
    # (the gradient of a real function of z = x + iy is df/dx + i df/dy ... conjugated)
    eps = 1e-6
    real = lambda v: np.real(red(v) * np.conj(v))  # noqa: E731
    dx = (real(z + eps) - real(z - eps)) / (2 * eps)
    dy = (real(z + 1j * eps) - real(z - 1j * eps)) / (2 * eps)
    assert abs(g - (dx - 1j * dy)) < 1e-6 or abs(g - (dx + 1j * dy)) < 1e-6


# --- interp with list sample points ----------------------------------------------------


def test_interp_with_lists():
    xp, fp = [0.0, 1.0, 3.0], [0.0, 2.0, 3.0]

    def f(v):
        return np.interp(v, xp, fp)

    assert fgrad.grad(f)(2.0) == pytest.approx(0.5)
    assert fgrad.jvp(f, (0.5,), (1.0,))[1] == pytest.approx(2.0)
    g = fgrad.grad(lambda p: np.interp(2.0, xp, p))(np.array(fp))
    np.testing.assert_allclose(g, fd(lambda p: np.interp(2.0, xp, p), np.array(fp)), atol=1e-8)
    g = fgrad.grad(lambda v: fnp.sum(fnp.interp(v, xp, fp, left=-1.0, right=[5.0][0])))(
        np.array([-1.0, 0.5, 2.0, 4.0]))
    np.testing.assert_allclose(g, [0.0, 2.0, 0.5, 0.0])


def test_interp_bad_lists_are_value_errors():
    with pytest.raises(ValueError, match="same length"):
        fgrad.grad(lambda v: np.interp(v, [0.0, 1.0], [0.0, 1.0, 2.0]))(0.5)
    with pytest.raises(ValueError, match="1-D"):
        fgrad.grad(lambda v: np.interp(v, [[0.0, 1.0]], [[0.0, 1.0]]))(0.5)


# --- logsumexp keepdims on 0-d ---------------------------------------------------------


@pytest.mark.parametrize("b", [None, 2.0])
def test_logsumexp_keepdims_0d_under_every_transform(b):
    import scipy.special

    x = np.array(0.3)
    want_shape = np.shape(scipy.special.logsumexp(x, b=b, keepdims=True))

    def f(v):
        return logsumexp(v, b=b, keepdims=True)

    out, t = fgrad.jvp(f, (x,), (np.array(1.0),))
    assert np.shape(out) == want_shape
    assert np.shape(t) == np.shape(out)  # the tangent matches its output
    np.testing.assert_allclose(t, np.ones(want_shape))  # d/dx log(b e^x) = 1
    np.testing.assert_allclose(fgrad.jacrev(f)(x), fgrad.jacfwd(f)(x))
    np.testing.assert_allclose(fgrad.jacrev(f)(x), np.ones(want_shape))

    def s(v):
        return fnp.sum(f(v) ** 2)

    want_g = 2 * np.log((1.0 if b is None else b) * np.exp(0.3))  # d/dx (x + log b)^2
    np.testing.assert_allclose(fgrad.grad(s)(x), want_g)
    np.testing.assert_allclose(fgrad.hessian(s)(x), 2.0)
    np.testing.assert_allclose(fgrad.grad(fgrad.grad(s))(x), 2.0)
    np.testing.assert_allclose(fgrad.hvp(s, (x,), (np.array(1.0),)), 2.0)
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(s))(np.array([0.3, 0.3])), [want_g] * 2)


# --- masked arrays and np.matrix (item 3) ----------------------------------------------


MASKED = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])
MATRIX = np.matrix([[1.0, 2.0], [3.0, 4.0]])


def _transforms():
    def scalar(x):
        return fnp.sum(x * x)

    return {
        "grad": lambda x: fgrad.grad(scalar)(x),
        "value_and_grad": lambda x: fgrad.value_and_grad(scalar)(x),
        "vjp": lambda x: fgrad.vjp(lambda v: v * 2.0, x),
        "jvp": lambda x: fgrad.jvp(lambda v: v * 2.0, (x,), (np.ones(np.shape(x)),)),
        "jacfwd": lambda x: fgrad.jacfwd(lambda v: v * 2.0)(x),
        "jacrev": lambda x: fgrad.jacrev(lambda v: v * 2.0)(x),
        "hessian": lambda x: fgrad.hessian(scalar)(x),
        "linearize": lambda x: fgrad.linearize(lambda v: v * 2.0, x),
        "vmap": lambda x: fgrad.vmap(lambda v: v * 2.0)(x),
        "vmap-None": lambda x: fgrad.vmap(lambda v, w: v * 2.0, in_axes=(0, None))(
            np.ones(2), x),
    }


@pytest.mark.parametrize("transform", sorted(_transforms()))
@pytest.mark.parametrize("kind", ["masked", "matrix"])
def test_masked_and_matrix_inputs_are_refused(transform, kind):
    x = MASKED if kind == "masked" else MATRIX
    word = "masked array" if kind == "masked" else "np.matrix"
    with pytest.raises(TypeError, match=word):
        _transforms()[transform](x)


def test_masked_refusal_says_what_to_do():
    with pytest.raises(TypeError, match=r"fnp.where|getmaskarray|filled"):
        fgrad.grad(lambda x: fnp.mean(x))(MASKED)
    with pytest.raises(TypeError, match=r"np.asarray.*@"):
        fgrad.grad(lambda x: fnp.sum(x))(MATRIX)


CONSTANT_USES = {
    "x*c": lambda x, c: x * c,
    "c*x": lambda x, c: c * x,
    "x+c": lambda x, c: x + c,
    "c-x": lambda x, c: c - x,
    "np.multiply": lambda x, c: np.multiply(x, c),
    "np.dot": lambda x, c: np.dot(c, x),
    "np.where": lambda x, c: np.where(True, c, x),
    "np.matmul": lambda x, c: np.matmul(c, x),
    # fgrad.numpy called directly: the row's function meets the constant itself
    "fnp.multiply": lambda x, c: fnp.multiply(x, c),
    "fnp.multiply-reflected": lambda x, c: fnp.multiply(c, x),
    "fnp.where": lambda x, c: fnp.where(True, c, x),
    "fnp.clip": lambda x, c: fnp.clip(x, c, 10.0),
}


@pytest.mark.parametrize("use", sorted(CONSTANT_USES))
@pytest.mark.parametrize("kind", ["masked", "matrix"])
@pytest.mark.parametrize("transform", ["grad", "jvp", "vmap"])
def test_masked_and_matrix_constants_inside_are_refused(use, kind, transform):
    c = MATRIX if kind == "matrix" else np.ma.array(np.arange(4.0).reshape(2, 2),
                                                    mask=[[0, 1], [0, 0]])
    word = "masked array" if kind == "masked" else "np.matrix"
    op = CONSTANT_USES[use]
    x = np.ones((2, 2))

    def f(v):
        return fnp.sum(fnp.asarray(op(v, c)))

    with pytest.raises(TypeError, match=word):
        if transform == "grad":
            fgrad.grad(f)(x)
        elif transform == "jvp":
            fgrad.jvp(f, (x,), (x,))
        else:
            fgrad.vmap(f)(np.ones((3, 2, 2)))


def test_plain_arrays_and_other_ndarray_subclasses_still_work():
    # the refusal is by type: plain arrays and a harmless subclass (a memmap-like view)
    class Tagged(np.ndarray):
        pass

    x = np.arange(3.0)
    t = x.view(Tagged)
    np.testing.assert_array_equal(fgrad.grad(lambda v: fnp.sum(v * v))(t), 2 * x)
    np.testing.assert_array_equal(fgrad.vmap(lambda v: v * 2.0)(t), 2 * x)
    np.testing.assert_array_equal(fgrad.grad(lambda v: fnp.sum(v * t))(x), x)


@pytest.mark.parametrize("x", [np.array([2.0, np.nan]), np.array([2.0]),
                               np.array([[2.0, np.nan], [1.0, 3.0]])])
def test_nanstd_of_single_non_nan_values(x):
    axis = -1 if x.ndim == 2 else None

    def f(v):
        return fnp.sum(fnp.nanstd(v, axis=axis))

    def ref(v):
        return np.sum(np.nanstd(v, axis=axis))

    np.testing.assert_allclose(f(x), ref(x))
    want = np.where(np.isnan(x), 0.0, fd(lambda v: ref(np.where(np.isnan(x), np.nan, v)),
                                         np.nan_to_num(x)))
    g = fgrad.grad(f)(x)
    np.testing.assert_allclose(g, want, atol=1e-7)
    _, t = fgrad.jvp(f, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, np.sum(want), atol=1e-7)


@pytest.mark.parametrize("kind", ["masked", "matrix"])
def test_masked_and_matrix_tangents_and_cotangents_are_refused(kind):
    # a tangent or cotangent is a value too: its mask (or matrix semantics) would be dropped
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    bad = (np.ma.array(np.ones((2, 2)), mask=[[0, 1], [0, 0]]) if kind == "masked"
           else np.matrix(np.ones((2, 2))))
    word = "masked array" if kind == "masked" else "np.matrix"
    with pytest.raises(TypeError, match=word):
        fgrad.jvp(lambda v: v * 2.0, (x,), (bad,))
    _, f_vjp = fgrad.vjp(lambda v: v * 2.0, x)
    with pytest.raises(TypeError, match=word):
        f_vjp(bad)
    _, f_jvp = fgrad.linearize(lambda v: v * 2.0, x)
    with pytest.raises(TypeError, match=word):
        f_jvp(bad)
