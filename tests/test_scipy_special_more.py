"""fgrad.scipy.special (issue 11): jn/yn, the Bessel functions in their argument x,
gammasgn, multigammaln, spence, expn and exp1: values against scipy, derivatives against
closed forms and central differences, check_grads to order 2 in both modes, vmap vs a loop."""

from __future__ import annotations

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

sc = pytest.importorskip("scipy.special")
from fgrad.scipy import special as fsp  # noqa: E402

RNG = np.random.default_rng(2026)
X = RNG.uniform(0.4, 3.0, 6)
ORDERS = np.array([0, 1, 2, 3, 1, 4])


def traced(f, *args):
    """f's value computed on tracers (the rows' path, not scipy's)."""
    return fgrad.vjp(f, *args)[0]


def central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def both_modes(f, args, order=2, **kw):
    fgrad.check_grads(f, args, order=order, modes=("fwd", "rev"), **kw)


def vmap_vs_loop(f, *args):
    got = fgrad.vmap(f)(*args)
    want = np.stack([f(*a) for a in zip(*args)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    gv = fgrad.vmap(fgrad.grad(f, argnums=len(args) - 1))(*args)
    gl = [fgrad.grad(f, argnums=len(args) - 1)(*a) for a in zip(*args)]
    np.testing.assert_allclose(gv, gl, rtol=1e-12, atol=1e-14)


# --- Bessel functions: integer-order aliases and the real-order ones in x ---------------------


@pytest.mark.parametrize("name", ["jn", "yn", "jv", "yv", "iv", "kv"])
def test_bessel_values_derivatives_and_vmap(name):
    f = getattr(fsp, name)
    ref = getattr(sc, name)
    orders = ORDERS if name in ("jn", "yn") else ORDERS + 0.5
    np.testing.assert_allclose(traced(lambda x: f(orders, x), X), ref(orders, X), rtol=1e-13)
    np.testing.assert_allclose(f(orders, X), ref(orders, X))  # plain: scipy's own
    # closed form: J,Y: (F_{v-1} - F_{v+1}) / 2; I: (I_{v-1} + I_{v+1}) / 2; K: -(..+..)/2
    lo, hi = ref(orders - 1, X), ref(orders + 1, X)
    want = {"i": 0.5 * (lo + hi), "k": -0.5 * (lo + hi)}.get(name[0], 0.5 * (lo - hi))
    got = fgrad.jvp(lambda x: f(orders, x), (X,), (np.ones_like(X),))[1]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    np.testing.assert_allclose(got, central(lambda x: ref(orders, x), X), rtol=1e-6)
    both_modes(lambda x: f(orders, x), (X,))
    vmap_vs_loop(f, orders, X)


@pytest.mark.parametrize("name", ["jn", "yn", "jv", "yv", "iv", "kv"])
def test_bessel_order_derivative_is_refused_naming_it(name):
    f = getattr(fsp, name)
    order = 1 if name in ("jn", "yn") else 1.5
    with pytest.raises(TypeError, match="not differentiable with respect to its argument 0"):
        fgrad.grad(lambda v: f(v, 1.3), argnums=0)(float(order))


def test_jn_is_scipys_alias_and_ufunc_dispatch():
    assert sc.jn is sc.jv
    # scipy's own ufuncs reach fgrad on tracers
    np.testing.assert_allclose(fgrad.grad(lambda x: sc.yn(2, x))(1.3),
                               0.5 * (sc.yn(1, 1.3) - sc.yn(3, 1.3)), rtol=1e-12)
    np.testing.assert_allclose(fgrad.grad(lambda x: sc.spence(x))(2.0), -np.log(2.0))


# --- gammasgn ---------------------------------------------------------------------------------


def test_gammasgn_values_and_zero_derivative():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 7.0])
    np.testing.assert_array_equal(traced(fsp.gammasgn, x), sc.gammasgn(x))
    assert set(sc.gammasgn(x)) == {-1.0, 1.0}
    np.testing.assert_array_equal(fgrad.jvp(fsp.gammasgn, (x,), (np.ones_like(x),))[1], 0.0)
    # gamma(x) = gammasgn(x) exp(gammaln(x)): differentiable as a product
    f = lambda x: fsp.gammasgn(x) * fnp.exp(fsp.gammaln(x))  # noqa: E731
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(f))(x),
                               sc.gamma(x) * sc.digamma(x), rtol=1e-10)
    both_modes(f, (x,))
    vmap_vs_loop(fsp.gammasgn, x)


# --- multigammaln -----------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 4])
def test_multigammaln_both_modes_order_two(d):
    a = RNG.uniform(0.5 * (d - 1) + 0.3, 0.5 * d + 3.0, 5)
    np.testing.assert_allclose(traced(lambda a: fsp.multigammaln(a, d), a),
                               sc.multigammaln(a, d), rtol=1e-13)
    want = sum(sc.digamma(a - 0.5 * j) for j in range(d))
    got = fgrad.jvp(lambda a: fsp.multigammaln(a, d), (a,), (np.ones_like(a),))[1]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    both_modes(lambda a: fsp.multigammaln(a, d), (a,))
    got = fgrad.vmap(fgrad.grad(lambda a: fsp.multigammaln(a, d)))(a)
    np.testing.assert_allclose(got, want, rtol=1e-12)


# --- spence -----------------------------------------------------------------------------------


def test_spence_values_and_derivative_against_finite_differences():
    z = np.concatenate([RNG.uniform(0.05, 4.0, 8), [0.5, 2.0, 1.0 + 2e-4, 1.0 - 7e-4]])
    np.testing.assert_allclose(traced(fsp.spence, z), sc.spence(z), rtol=1e-14)
    d = fgrad.jvp(fsp.spence, (z,), (np.ones_like(z),))[1]
    # scipy's convention spence(z) = int_1^z log t / (1 - t) dt, so d/dz = log z / (1 - z)
    np.testing.assert_allclose(d, np.log(z) / (1 - z), rtol=1e-12)
    np.testing.assert_allclose(d, central(sc.spence, z), rtol=1e-7)
    both_modes(fsp.spence, (z,))
    vmap_vs_loop(fsp.spence, z)


def test_spence_at_one():
    # spence' = -log1p(w)/w (w = z - 1) = -1 + w/2 - ...: -1 and 1/2 at z = 1
    assert fgrad.grad(fsp.spence)(1.0) == -1.0
    np.testing.assert_allclose(fgrad.grad(fgrad.grad(fsp.spence))(1.0), 0.5, rtol=1e-12)
    np.testing.assert_allclose(fgrad.jvp(fgrad.grad(fsp.spence), (1.0,), (1.0,))[1], 0.5,
                               rtol=1e-12)
    h = 1e-3  # the second derivative, by central differences of log z / (1 - z) away from 1
    fd = (np.log(1 + 2 * h) / (-2 * h) - np.log(1 - 2 * h) / (2 * h)) / (4 * h)
    np.testing.assert_allclose(fgrad.grad(fgrad.grad(fsp.spence))(1.0), fd, rtol=1e-5)


def test_spence_complex():
    z = RNG.uniform(0.3, 2.5, 4) + 1j * RNG.uniform(-1.0, 1.0, 4)
    np.testing.assert_allclose(traced(fsp.spence, z), sc.spence(z), rtol=1e-13)
    d = fgrad.jvp(fsp.spence, (z,), (np.ones_like(z),))[1]
    np.testing.assert_allclose(d, np.log(z) / (1 - z), rtol=1e-12)
    both_modes(fsp.spence, (z,))


# --- exponential integrals --------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_expn(n):
    x = RNG.uniform(0.2, 4.0, 6)
    f = lambda x: fsp.expn(n, x)  # noqa: E731
    np.testing.assert_allclose(traced(f, x), sc.expn(n, x), rtol=1e-14)
    d = fgrad.jvp(f, (x,), (np.ones_like(x),))[1]
    # E_n' = -E_{n-1} (n >= 1); E_0 = exp(-x)/x, E_0' = -exp(-x) (x + 1) / x^2
    want = -sc.expn(n - 1, x) if n >= 1 else -np.exp(-x) * (x + 1) / x ** 2
    np.testing.assert_allclose(d, want, rtol=1e-12)
    np.testing.assert_allclose(d, central(lambda x: sc.expn(n, x), x), rtol=1e-7)
    both_modes(f, (x,))
    vmap_vs_loop(fsp.expn, np.full(6, n), x)
    with pytest.raises(TypeError, match="integer"):
        fgrad.grad(lambda k: fsp.expn(k, 1.0))(float(n))


def test_exp1():
    x = RNG.uniform(0.1, 5.0, 7)
    np.testing.assert_allclose(traced(fsp.exp1, x), sc.exp1(x), rtol=1e-14)
    d = fgrad.jvp(fsp.exp1, (x,), (np.ones_like(x),))[1]
    np.testing.assert_allclose(d, -np.exp(-x) / x, rtol=1e-13)
    np.testing.assert_allclose(d, central(sc.exp1, x), rtol=1e-7)
    both_modes(fsp.exp1, (x,))
    vmap_vs_loop(fsp.exp1, x)


# --- a row met by the random-program test (tests/test_random_programs.py) --------------------


@pytest.mark.parametrize("row", ["logsumexp_row", "logsumexp_b_row"])
def test_logsumexp_row_of_a_scalar_with_keepdims(row):
    # scipy keeps a 0-d input's reduced axis as shape (1,); the rows reduce a 0-d input to
    # 0-d as numpy's reductions do (so their batch rule matches a loop), and
    # fgrad.scipy.special.logsumexp adds scipy's (1,): the cotangent of that output must
    # come back to the 0-d input, also when vmap (jacrev) batches the cotangents
    import scipy.special as ss

    from fgrad.primitives import special as rows

    if row == "logsumexp_row":
        f = lambda x: rows.logsumexp_row(x, axis=-1, keepdims=True)  # noqa: E731
        public = lambda x: fsp.logsumexp(x, axis=-1, keepdims=True)  # noqa: E731
        want = ss.logsumexp(0.27, axis=-1, keepdims=True)
    else:
        f = lambda x: rows.logsumexp_b_row(x, np.array(2.0), axis=-1,  # noqa: E731
                                           keepdims=True, return_sign=False)
        public = lambda x: fsp.logsumexp(x, axis=-1, b=2.0, keepdims=True)  # noqa: E731
        want = ss.logsumexp(0.27, axis=-1, b=2.0, keepdims=True)
    x = np.array(0.27)
    assert np.shape(f(x)) == ()
    np.testing.assert_allclose(fgrad.jacrev(f)(x), 1.0)
    np.testing.assert_allclose(fgrad.jacfwd(f)(x), 1.0)
    fgrad.check_grads(f, (x,), order=2, modes=("fwd", "rev"))
    assert np.shape(public(x)) == np.shape(want) == (1,)
    np.testing.assert_allclose(public(fgrad.numpy.asarray(x)), want)
    np.testing.assert_allclose(fgrad.jacrev(public)(x), [1.0])
    np.testing.assert_allclose(fgrad.jacfwd(public)(x), [1.0])
    fgrad.check_grads(public, (x,), order=2, modes=("fwd", "rev"))
