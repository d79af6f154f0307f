"""Derivatives of scipy.special functions that had none (issue 16): gammainc and
gammaincc in their shape argument ``a``, the Hurwitz zeta function in ``x``.

Each is checked against central differences of scipy's own function (an
independent implementation), both AD modes, to second order, and at points
from small to large ``a`` and ``x``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fgrad
from fgrad.scipy import special as fsp

sc = pytest.importorskip("scipy.special")

# small and large a, x either side of the crossover x = a + 1
A_VALUES = [0.01, 0.2, 1.0, 2.5, 9.0, 40.0, 300.0]
X_VALUES = [1e-3, 0.3, 1.0, 3.0, 10.0, 45.0, 280.0, 330.0]
POINTS = [(a, x) for a, x in itertools.product(A_VALUES, X_VALUES)
          # where P or Q is so near 0 or 1 that it underflows, differences of scipy's
          # values say nothing; keep the points where the function varies measurably
          if 1e-250 < sc.gammainc(a, x) and 1e-250 < sc.gammaincc(a, x)]


def _fd_a(f, a, x, order=1):
    """Five-point central differences in a of scipy's function (step scaled to a).

    Of P and Q = 1 - P, the smaller one is differenced (scipy computes it to full
    relative accuracy, where 1 - it would lose the digits that matter)."""
    # the step shrinks with the scale |log x - psi(a)| on which the function varies in a
    scale = 1.0 / max(1e-3, abs(np.log(x) - sc.digamma(a)))
    h = min(1e-3 * min(max(a, 0.05), scale), 0.2 * a)
    sign = 1.0
    other = sc.gammaincc if f is sc.gammainc else sc.gammainc
    if abs(other(a, x)) < abs(f(a, x)):
        f, sign = other, -1.0
    m2, m1, p1, p2 = (f(a + k * h, x) for k in (-2, -1, 1, 2))
    if order == 1:
        return sign * (m2 - 8 * m1 + 8 * p1 - p2) / (12 * h)
    return sign * (-m2 + 16 * m1 - 30 * f(a, x) + 16 * p1 - p2) / (12 * h**2)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_derivative_in_a_matches_scipy_differences(name):
    f_sc, f_fg = getattr(sc, name), getattr(fsp, name)
    checked = 0
    for a, x in POINTS:
        want = _fd_a(f_sc, a, x)
        rev = float(fgrad.grad(f_fg, argnums=0)(a, x))
        fwd = float(fgrad.jvp(lambda a_: f_fg(a_, x), (a,), (1.0,))[1])
        assert rev == fwd or abs(rev - fwd) <= 1e-12 * abs(rev), (a, x, rev, fwd)
        tol = 1e-6 * abs(want) + 1e-9 * min(sc.gammainc(a, x), sc.gammaincc(a, x))
        assert abs(rev - want) <= tol, (name, a, x, rev, want)
        checked += 1
    assert checked >= 40


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
def test_gammainc_second_derivatives_match_scipy_differences(name):
    f_sc, f_fg = getattr(sc, name), getattr(fsp, name)
    for a, x in POINTS:
        p = sc.gammainc(a, x)
        if min(p, 1 - p) < 1e-8:  # second differences need a measurable change
            continue
        daa = float(fgrad.grad(fgrad.grad(f_fg, argnums=0), argnums=0)(a, x))
        daa_fwd = float(fgrad.jacfwd(fgrad.grad(f_fg, argnums=0), argnums=0)(a, x))
        want = _fd_a(f_sc, a, x, order=2)
        assert abs(daa_fwd - daa) <= 1e-10 * abs(daa) + 1e-300, (a, x, daa, daa_fwd)
        assert abs(daa - want) <= 2e-4 * abs(want) + 1e-7 * min(p, 1 - p), (name, a, x, daa, want)
        # the mixed derivative: d/dx of d/da, against differences in a of d/dx
        dax = float(fgrad.grad(fgrad.grad(f_fg, argnums=0), argnums=1)(a, x))
        dxa = float(fgrad.grad(fgrad.grad(f_fg, argnums=1), argnums=0)(a, x))
        assert abs(dax - dxa) <= 1e-10 * abs(dax) + 1e-300, (a, x, dax, dxa)
        h = 1e-5 * max(a, 0.05)

        def dx(a_):
            return float(fgrad.grad(f_fg, argnums=1)(a_, x))

        want = (dx(a + h) - dx(a - h)) / (2 * h)
        assert abs(dax - want) <= 1e-5 * abs(want) + 1e-9 * abs(dx(a)), (name, a, x, dax, want)


@pytest.mark.parametrize("name", ["gammainc", "gammaincc"])
@pytest.mark.parametrize("a, x", [(0.7, 0.4), (1.6, 3.5), (12.0, 10.0), (30.0, 33.0)])
def test_gammainc_check_grads_order_2_in_both_arguments(name, a, x):
    f = getattr(fsp, name)
    fgrad.check_grads(f, (a, x), order=2)
    fgrad.check_grads(f, (np.array([a, a + 0.5]), np.array([x, 1.3 * x])), order=2)


def test_gammainc_in_a_is_elementwise_and_batches():
    a = np.array([[0.5, 2.0, 7.0]])
    x = np.array([[0.3], [4.0]])
    g = fgrad.grad(lambda a_: fsp.gammainc(a_, x).sum())(a)
    assert g.shape == a.shape
    want = [sum(_fd_a(sc.gammainc, ai, xi) for xi in x.ravel()) for ai in a.ravel()]
    np.testing.assert_allclose(g.ravel(), want, rtol=1e-7)
    batched = fgrad.vmap(fgrad.grad(fsp.gammaincc))(np.array([0.5, 2.0, 7.0]),
                                                   np.array([1.0, 1.5, 9.0]))
    looped = [float(fgrad.grad(fsp.gammaincc)(a_, x_))
              for a_, x_ in zip([0.5, 2.0, 7.0], [1.0, 1.5, 9.0])]
    np.testing.assert_allclose(batched, looped, rtol=1e-14)


def test_gammainc_derivative_in_a_at_the_edges():
    # x = 0: P = 0 for every a > 0, so dP/da = 0; a large x: P = 1
    assert float(fgrad.grad(fsp.gammainc)(2.0, 0.0)) == 0.0
    assert float(fgrad.grad(fsp.gammaincc)(2.0, 0.0)) == 0.0
    assert float(fgrad.grad(fsp.gammainc)(2.0, np.inf)) == 0.0
    # outside the domain (a <= 0, x < 0) scipy gives nan, and so do the derivatives
    assert np.isnan(float(fgrad.grad(fsp.gammainc)(-1.0, 2.0)))
    assert np.isnan(float(fgrad.grad(fsp.gammainc)(1.0, -2.0)))


# --- Hurwitz zeta in x ------------------------------------------------------------------

ZETA_POINTS = list(itertools.product([1.05, 1.5, 2.0, 3.7, 8.0, 25.0, 60.0],
                                     [0.02, 0.5, 1.0, 3.0, 40.0, 1e3]))


def test_zeta_derivative_in_x_matches_scipy_differences():
    for x, q in ZETA_POINTS:
        h = 1e-3 * min(1.0, x - 1.0) / max(1.0, abs(np.log(q)))  # the pole at x = 1
        vals = [sc.zeta(x + k * h, q) for k in (-2, -1, 1, 2)]
        want = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * h)
        rev = float(fgrad.grad(fsp.zeta)(x, q))
        fwd = float(fgrad.jvp(lambda x_: fsp.zeta(x_, q), (x,), (1.0,))[1])
        assert abs(rev - fwd) <= 1e-13 * abs(rev), (x, q, rev, fwd)
        # (differences of zeta near 1 lose digits: the second term of the tolerance)
        tol = 1e-7 * abs(want) + 1e-15 * abs(sc.zeta(x, q)) / h
        assert abs(rev - want) <= tol, (x, q, rev, want)


def test_zeta_derivative_in_x_known_values():
    # zeta'(2) = pi^2 / 6 (gamma + log(2 pi) - 12 log(Glaisher's A)), the Riemann case
    glaisher = 1.2824271291006226
    want = np.pi**2 / 6 * (np.euler_gamma + np.log(2 * np.pi) - 12 * np.log(glaisher))
    assert float(fgrad.grad(fsp.zeta)(2.0)) == pytest.approx(want, rel=1e-13)
    # d/dx zeta(x, q) = -sum log(n + q) / (n + q)^x, summed directly where that converges fast
    n = np.arange(200000.0)
    for x, q in [(6.0, 0.7), (9.0, 2.5)]:
        direct = -np.sum(np.log(n + q) / (n + q) ** x)
        assert float(fgrad.grad(fsp.zeta)(x, q)) == pytest.approx(direct, rel=1e-12)


def test_zeta_second_derivatives():
    for x, q in [(1.5, 0.5), (2.0, 1.0), (4.0, 3.0), (12.0, 0.3)]:
        dxx = float(fgrad.grad(fgrad.grad(fsp.zeta))(x, q))
        h = 1e-4
        want = (float(fgrad.grad(fsp.zeta)(x + h, q))
                - float(fgrad.grad(fsp.zeta)(x - h, q))) / (2 * h)
        assert dxx == pytest.approx(want, rel=1e-7)
        dxq = float(fgrad.grad(fgrad.grad(fsp.zeta), argnums=1)(x, q))
        dqx = float(fgrad.grad(fgrad.grad(fsp.zeta, argnums=1), argnums=0)(x, q))
        assert dxq == pytest.approx(dqx, rel=1e-12)
        fgrad.check_grads(fsp.zeta, (x, q), order=2)


def test_zeta_in_x_batches():
    xs, qs = np.array([1.5, 2.0, 7.0]), np.array([0.5, 1.0, 2.0])
    batched = fgrad.vmap(fgrad.grad(fsp.zeta))(xs, qs)
    looped = [float(fgrad.grad(fsp.zeta)(x, q)) for x, q in zip(xs, qs)]
    np.testing.assert_allclose(batched, looped, rtol=1e-14)


# --- the inverses of gammainc in a, by the implicit function theorem ---------------------


@pytest.mark.parametrize("name, forward", [("gammaincinv", "gammainc"),
                                           ("gammainccinv", "gammaincc")])
def test_gammaincinv_derivative_in_a(name, forward):
    f_sc, f_fg = getattr(sc, name), getattr(fsp, name)
    for a, y in [(0.3, 0.2), (1.0, 0.5), (4.0, 0.9), (40.0, 0.01), (200.0, 0.6)]:
        h = 1e-4 * a
        want = (f_sc(a + h, y) - f_sc(a - h, y)) / (2 * h)
        got = float(fgrad.grad(f_fg)(a, y))
        assert got == pytest.approx(want, rel=1e-6), (a, y, got, want)
        # the identity gammainc(a, gammaincinv(a, y)) = y holds along a: derivative 0
        ident = float(fgrad.grad(lambda a_: getattr(fsp, forward)(a_, f_fg(a_, y)))(a))
        assert abs(ident) < 1e-9
        fgrad.check_grads(f_fg, (a, y), order=2)


# --- derivatives that stay refused say why ------------------------------------------------


@pytest.mark.parametrize("call, words", [
    (lambda: fgrad.grad(fsp.betainc)(1.5, 2.0, 0.3), "shape parameters"),
    (lambda: fgrad.grad(fsp.betaincinv)(1.5, 2.0, 0.3), "shape parameters"),
    (lambda: fgrad.grad(fsp.stdtr)(3.0, 0.5), "degrees of freedom"),
    (lambda: fgrad.grad(fsp.jv)(1.5, 0.5), "order"),
    (lambda: fgrad.jvp(lambda b: fsp.hyp1f1(0.5, b, 0.3), (1.5,), (1.0,)), "parameters"),
    (lambda: fgrad.grad(lambda n: fsp.expn(n, 0.5))(2.0), "integer"),
])
def test_refused_derivatives_say_why(call, words):
    with pytest.raises(TypeError) as info:
        call()
    message = str(info.value)
    assert "not differentiable with respect to its argument" in message
    assert "because" in message and words in message, message


def test_coverage_page_lists_the_reasons():
    from fgrad._coverage import generate

    text = generate()
    assert "`special.betainc` in argument 0" in text
    assert "because" in text.split("`special.betainc` in argument 0", 1)[1].splitlines()[0]
