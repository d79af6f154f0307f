"""fgrad.scipy.integrate.odeint: values against scipy and closed forms, adjoint
(reverse) and tangent (forward) derivatives against closed forms, finite
differences and each other, vmap against a loop, pytrees, and clear errors."""

import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

scipy_integrate = pytest.importorskip("scipy.integrate")
from fgrad.scipy.integrate import odeint  # noqa: E402

TIGHT = {"rtol": 1e-10, "atol": 1e-10}


def decay(y, t, k):
    return -k * y


def lotka_volterra(y, t, a, b, c, d):
    prey, pred = y[0], y[1]
    return fnp.stack([a * prey - b * prey * pred, d * prey * pred - c * pred])


LV_Y0 = np.array([1.0, 0.5])
LV_P = (1.0, 0.8, 1.2, 0.6)
LV_T = np.linspace(0.0, 4.0, 6)


def forced(y, t, w):
    # a damped oscillator driven at frequency w: func depends on t
    return fnp.stack([y[1], -0.3 * y[1] - y[0] + fnp.sin(w * t)])


@pytest.mark.parametrize("func,y0,t,args", [
    (lotka_volterra, LV_Y0, LV_T, LV_P),
    (forced, np.array([0.5, -0.2]), np.linspace(0.0, 10.0, 21), (1.3,)),
    (decay, np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.1, 3.0]), (np.array([0.5, 1.0, 2.0]),)),
])
def test_values_match_scipy_odeint(func, y0, t, args):
    want = scipy_integrate.odeint(lambda y, s, *a: np.asarray(func(y, s, *a)), y0, t, args,
                                  rtol=1e-12, atol=1e-12)
    got = odeint(func, y0, t, *args)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_exponential_decay_closed_form_and_derivatives():
    t = np.array([0.3, 0.5, 1.0, 2.5])
    y0, k = 2.0, 0.7

    def y(y0, t, k):
        return odeint(decay, y0, t, k, **TIGHT)

    exact = y0 * np.exp(-k * (t - t[0]))
    np.testing.assert_allclose(y(y0, t, k), exact, rtol=1e-8)
    # d y_i / d y0, d y_i / d k, by reverse mode (adjoint), forward mode and closed form
    for mode in (fgrad.jacrev, fgrad.jacfwd):
        np.testing.assert_allclose(mode(y, argnums=0)(y0, t, k), exact / y0, rtol=1e-7)
        np.testing.assert_allclose(mode(y, argnums=2)(y0, t, k), -(t - t[0]) * exact,
                                   rtol=1e-7, atol=1e-12)
        # d y_i / d t_j: the slope -k y_i on the diagonal, and t_0 shifts everything
        jt = mode(y, argnums=1)(y0, t, k)
        want = np.diag(-k * exact)
        want[1:, 0] = k * exact[1:]
        want[0, 0] = 0.0
        np.testing.assert_allclose(jt, want, rtol=1e-7, atol=1e-10)
    # second derivative in k: t^2 y (grad of grad, forward over reverse)
    d2 = (t[-1] - t[0]) ** 2 * exact[-1]
    np.testing.assert_allclose(fgrad.grad(fgrad.grad(lambda k: y(y0, t, k)[-1]))(k), d2,
                               rtol=1e-6)
    np.testing.assert_allclose(
        fgrad.jvp(fgrad.grad(lambda k: y(y0, t, k)[-1]), (k,), (1.0,))[1], d2, rtol=1e-6)


def test_check_grads_order_2_both_modes():
    t = np.array([0.0, 0.4, 1.0])
    fgrad.check_grads(lambda y0, t, k: odeint(decay, y0, t, k, **TIGHT),
                      (np.array([1.0, -0.5]), t, np.array([0.3, 1.1])),
                      order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)


def _central(f, x, eps=1e-5):
    x = np.asarray(x, dtype=float)
    out = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        out.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(out, axis=-1)


def test_lotka_volterra_derivatives_match_finite_differences():
    def final(y0, t, params):
        return odeint(lotka_volterra, y0, t, *params, **TIGHT)[-1]

    p = np.array(LV_P)
    jy = fgrad.jacrev(final, argnums=0)(LV_Y0, LV_T, p)
    jt = fgrad.jacrev(final, argnums=1)(LV_Y0, LV_T, p)
    jp = fgrad.jacrev(lambda p: final(LV_Y0, LV_T, tuple(p[i] for i in range(4))))(p)
    np.testing.assert_allclose(jy, _central(lambda y: final(y, LV_T, p), LV_Y0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(jt, _central(lambda t: final(LV_Y0, t, p), LV_T), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(jp, _central(lambda q: final(LV_Y0, LV_T, tuple(q)), p),
                               rtol=1e-5, atol=1e-6)


def test_reverse_and_forward_mode_agree():
    def ys(y0, params):
        return odeint(lotka_volterra, y0, LV_T[[0, 2, 5]], *params)[1:]

    p = np.array(LV_P)
    f = lambda y0, p: ys(y0, tuple(p[i] for i in range(4)))  # noqa: E731
    for argnums in (0, 1):
        rev = fgrad.jacrev(f, argnums=argnums)(LV_Y0, p)
        fwd = fgrad.jacfwd(f, argnums=argnums)(LV_Y0, p)
        np.testing.assert_allclose(rev, fwd, rtol=1e-6, atol=1e-8)


def test_pytree_state_and_pytree_args():
    State = namedtuple("State", "prey pred")

    def lv(state, t, params):
        x, z = state.prey, state.pred["z"]
        return State(params["a"] * x - params["b"] * x * z,
                     {"z": params["d"] * x[0] * z - params["c"] * z})

    y0 = State(np.array([1.0]), {"z": 0.5})
    params = {"a": 1.0, "b": 0.8, "c": 1.2, "d": 0.6}
    out = odeint(lv, y0, LV_T, params, **TIGHT)
    assert isinstance(out, State) and out.prey.shape == (6, 1) and out.pred["z"].shape == (6,)
    flat = odeint(lotka_volterra, LV_Y0, LV_T, *LV_P, **TIGHT)
    np.testing.assert_allclose(out.prey[:, 0], flat[:, 0], rtol=1e-8)
    np.testing.assert_allclose(out.pred["z"], flat[:, 1], rtol=1e-8)

    def loss(y0, params):
        ys = odeint(lv, y0, LV_T, params, **TIGHT)
        return fnp.sum(ys.prey ** 2) + fnp.sum(ys.pred["z"])

    g_y0, g_p = fgrad.grad(loss, argnums=(0, 1))(y0, params)
    assert isinstance(g_y0, State) and set(g_p) == set(params)
    eps = 1e-6
    for key in params:
        up, down = dict(params), dict(params)
        up[key] += eps
        down[key] -= eps
        fd = (loss(y0, up) - loss(y0, down)) / (2 * eps)
        np.testing.assert_allclose(g_p[key], fd, rtol=1e-5, atol=1e-7)
    fd = (loss(State(np.array([1.0]), {"z": 0.5 + eps}), params)
          - loss(State(np.array([1.0]), {"z": 0.5 - eps}), params)) / (2 * eps)
    np.testing.assert_allclose(g_y0.pred["z"], fd, rtol=1e-5)
    # forward mode through the pytrees agrees with reverse mode
    tangent = {k: (1.0 if k == "c" else 0.0) for k in params}
    jv = fgrad.jvp(lambda p: loss(y0, p), (params,), (tangent,))[1]
    np.testing.assert_allclose(jv, g_p["c"], rtol=1e-6)


def test_vmap_over_y0_and_args_matches_a_loop():
    y0s = np.array([[1.0, 0.5], [0.8, 0.7], [1.5, 0.2]])
    out = fgrad.vmap(lambda y0: odeint(lotka_volterra, y0, LV_T, *LV_P))(y0s)
    loop = np.stack([odeint(lotka_volterra, y0, LV_T, *LV_P) for y0 in y0s])
    np.testing.assert_allclose(out, loop, rtol=1e-12)
    rates = np.array([0.9, 1.0, 1.1])
    out = fgrad.vmap(lambda a: odeint(lotka_volterra, LV_Y0, LV_T, a, *LV_P[1:]))(rates)
    loop = np.stack([odeint(lotka_volterra, LV_Y0, LV_T, a, *LV_P[1:]) for a in rates])
    np.testing.assert_allclose(out, loop, rtol=1e-12)
    # per-example gradients
    g = fgrad.vmap(fgrad.grad(lambda y0: odeint(lotka_volterra, y0, LV_T, *LV_P)[-1, 0]))(y0s)
    loop = [fgrad.grad(lambda y0: odeint(lotka_volterra, y0, LV_T, *LV_P)[-1, 0])(y0)
            for y0 in y0s]
    np.testing.assert_allclose(g, loop, rtol=1e-12)


@pytest.mark.parametrize("t,match", [
    (np.array([0.0, 1.0, 0.5]), "strictly increasing"),
    (np.array([0.0, 0.0, 1.0]), "strictly increasing"),
    (np.array([[0.0, 1.0]]), "1-d"),
    (np.array(1.0), "1-d"),
    (np.array([0.0, np.inf]), "finite"),
])
def test_bad_times_raise(t, match):
    with pytest.raises(ValueError, match=match):
        odeint(decay, 1.0, t, 0.5)
    with pytest.raises(ValueError, match=match):  # traced times too
        fgrad.grad(lambda t: fnp.sum(odeint(decay, 1.0, t, 0.5)))(t)


def test_func_returning_a_wrong_structure_or_shape_raises():
    t = np.array([0.0, 1.0])
    with pytest.raises(TypeError, match="structure of y0"):
        odeint(lambda y, t: (y["a"], y["b"]), {"a": 1.0, "b": 2.0}, t)
    with pytest.raises(ValueError, match="shape"):
        odeint(lambda y, t: fnp.ones(3), np.ones(2), t)
    with pytest.raises(TypeError, match="structure of y0"):
        fgrad.grad(lambda y0: odeint(lambda y, t: [y], y0, t)[1])(1.0)


def test_other_bad_inputs_raise_clearly():
    t = np.array([0.0, 1.0])
    with pytest.raises(TypeError, match="closes over"):
        fgrad.grad(lambda k: odeint(lambda y, s: -k * y, 1.0, t)[1])(0.5)
    with pytest.raises(TypeError, match="complex"):
        odeint(decay, 1.0 + 1.0j, t, 0.5)
    with pytest.raises(TypeError, match="callable"):
        odeint("decay", 1.0, t)
    with pytest.raises(ValueError, match="rtol"):
        odeint(decay, 1.0, t, 0.5, rtol=-1.0)
    with pytest.raises(RuntimeError, match="mxstep"):
        odeint(decay, 1.0, np.array([0.0, 100.0]), 50.0, mxstep=5)


def test_importable_as_attribute_and_module():
    code = ("import fgrad, sys; assert 'fgrad.scipy.integrate' not in sys.modules; "
            "m = fgrad.scipy.integrate; import fgrad.scipy.integrate as n; assert m is n; "
            "assert n.odeint.__module__ == 'fgrad.scipy.integrate'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_single_time_returns_y0_with_exact_derivatives():
    y = lambda y0, t, k: odeint(decay, y0, t, k)  # noqa: E731
    t = np.array([0.5])
    np.testing.assert_array_equal(y(np.array([2.0]), t, 0.3), [[2.0]])
    gy, gt, gk = fgrad.grad(lambda *a: fnp.sum(y(*a)), argnums=(0, 1, 2))(np.array([2.0]), t, 0.3)
    assert (gy, gt, gk) == (1.0, 0.0, 0.0)
    _, tan = fgrad.jvp(lambda t, k: y(np.array([2.0]), t, k), (t, 0.3), (np.ones(1), 1.0))
    np.testing.assert_array_equal(tan, [[0.0]])
