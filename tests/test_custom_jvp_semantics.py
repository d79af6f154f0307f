"""custom_jvp has one semantics in every mode and order (issue 16, item 12).

JAX's rule: the derivative of a custom_jvp function is its rule's tangent
map; reverse mode is the transpose of that linear map; and derivatives of
higher order differentiate the expressions the rule *returns* (its primal
output expression and its tangent expression), not the custom function.
So a rule whose tangent is not the true derivative (gradient surgery, a
straight-through estimator) or whose primal output is computed by other code
than ``f(*primals)`` gives the same second derivative in grad∘grad,
jvp∘grad, jvp∘jvp and grad∘jvp.
"""

from __future__ import annotations

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

X0 = 1.0339875769760714


def _second_derivatives(g, x):
    """g'' at x four ways: grad∘grad, jvp∘grad, jvp∘jvp, grad∘jvp."""

    def d_fwd(y):
        return fgrad.jvp(g, (y,), (1.0,))[1]

    return {
        "grad(grad)": float(fgrad.grad(fgrad.grad(g))(x)),
        "jvp(grad)": float(fgrad.jvp(fgrad.grad(g), (x,), (1.0,))[1]),
        "jvp(jvp)": float(fgrad.jvp(d_fwd, (x,), (1.0,))[1]),
        "grad(jvp)": float(fgrad.grad(d_fwd)(x)),
    }


def _surgery(primal_by_f):
    """sin with the (deliberately wrong) tangent (2 cos x + x / 2) t."""

    @fgrad.custom_jvp
    def f(x):
        return fnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        out = f(x) if primal_by_f else fnp.sin(x)
        return out, (2.0 * fnp.cos(x) + 0.5 * x) * t

    return f


def test_rule_with_its_own_primal_expression_same_in_every_mode():
    # the rule computes its primal output as sin(x), not as f(x): differentiating
    # that expression gives cos(x) for its derivative
    f = _surgery(primal_by_f=False)

    def g(x):
        return f(x) * x

    x = X0
    # d/dx [ (2 cos x + x/2) x + sin x ] from the rule's expressions
    expected = 3 * np.cos(x) - 2 * x * np.sin(x) + x
    got = _second_derivatives(g, x)
    for name, value in got.items():
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), (name, got)


def test_rule_that_calls_the_function_same_in_every_mode():
    # the rule's primal output is f(x) itself: its derivative is the custom one
    f = _surgery(primal_by_f=True)

    def g(x):
        return f(x) * x

    x = 0.7
    fp = 2 * np.cos(x) + 0.5 * x
    expected = (-2 * np.sin(x) + 0.5) * x + fp + fp
    got = _second_derivatives(g, x)
    for name, value in got.items():
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), (name, got)


def test_straight_through_estimator_same_in_every_mode():
    # round with the identity as its derivative (a straight-through estimator)
    @fgrad.custom_jvp
    def ste_round(x):
        return fnp.round(x)

    @ste_round.defjvp
    def ste_round_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return fnp.round(x), t

    def g(x):
        return ste_round(x) * fnp.sin(x)

    x = 1.3
    # g' = 1 * sin x + round(x) cos x;  g'' = cos x + 0 * cos x - round(x) sin x
    # (round's own derivative, 0, where the rule's primal expression is differentiated)
    expected = np.cos(x) - np.round(x) * np.sin(x)
    got = _second_derivatives(g, x)
    for name, value in got.items():
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), (name, got)


def test_value_under_a_transform_is_the_rules_primal_output_in_every_mode():
    # an inconsistent rule (primal output differs from f): one answer everywhere
    @fgrad.custom_jvp
    def f(x):
        return fnp.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return fnp.sin(x) + 1.0, fnp.cos(x) * t

    x = 0.3
    v_fwd = float(fgrad.jvp(f, (x,), (1.0,))[0])
    v_rev = float(fgrad.value_and_grad(f)(x)[0])
    v_vjp = float(fgrad.vjp(f, x)[0])
    assert v_fwd == v_rev == v_vjp == pytest.approx(np.sin(x) + 1.0)
    assert float(f(x)) == pytest.approx(np.sin(x))  # no transform: the function itself


def _softplus():
    @fgrad.custom_jvp
    def softplus(x):
        return fnp.logaddexp(x, 0.0)

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1.0 + fnp.exp(-x))  # the true derivative

    return softplus


def test_true_rule_matches_finite_differences_in_every_mode():
    softplus = _softplus()

    def g(x):
        return softplus(x) * fnp.cos(x)

    x, h = 0.4, 1e-4
    dg = fgrad.grad(g)
    fd = (float(dg(x + h)) - float(dg(x - h))) / (2 * h)
    s = 1 / (1 + np.exp(-x))
    sp = np.logaddexp(x, 0.0)
    expected = s * (1 - s) * np.cos(x) - 2 * s * np.sin(x) - sp * np.cos(x)
    got = _second_derivatives(g, x)
    for name, value in got.items():
        assert value == pytest.approx(expected, rel=1e-12), (name, got)
        assert value == pytest.approx(fd, rel=1e-6), (name, got)
    fgrad.check_grads(g, (x,), order=3)


def test_several_arguments_nondiff_and_pytree_outputs():
    @fgrad.custom_jvp
    def f(scale, x, y):
        return {"a": scale * fnp.sin(x) * y, "b": x + y}

    f = fgrad.custom_jvp(f.fun, nondiff_argnums=(0,))

    @f.defjvp
    def f_jvp(scale, primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        out = {"a": scale * fnp.sin(x) * y, "b": x + y}
        # a deliberately altered derivative in x: 3 cos x instead of cos x
        return out, {"a": scale * (3 * fnp.cos(x) * y * tx + fnp.sin(x) * ty),
                     "b": tx + ty}

    def g(x, y):
        out = f(2.0, x, y)
        return fnp.sum(out["a"] * out["b"])

    x, y = np.array([0.3, 0.9]), np.array([1.1, -0.4])
    h_rr = fgrad.jacrev(fgrad.grad(g))(x, y)
    h_fr = fgrad.jacfwd(fgrad.grad(g))(x, y)
    h_ff = fgrad.jacfwd(fgrad.jacfwd(g))(x, y)
    h_rf = fgrad.jacrev(fgrad.jacfwd(g))(x, y)
    np.testing.assert_allclose(h_fr, h_rr, rtol=1e-12)
    np.testing.assert_allclose(h_ff, h_rr, rtol=1e-12)
    np.testing.assert_allclose(h_rf, h_rr, rtol=1e-12)
    # analytic, from the rule's expressions: a = 2 sin(x) y with da/dx = 6 cos(x) y,
    # b = x + y; g' = da/dx b + a, differentiated through both expressions
    a = 2 * np.sin(x) * y
    expected = np.diag(-6 * np.sin(x) * y * (x + y) + 6 * np.cos(x) * y + 2 * np.cos(x) * y)
    np.testing.assert_allclose(h_rr, expected, rtol=1e-12)
    assert a.shape == (2,)


def test_vmap_of_second_derivatives_matches_a_loop():
    f = _surgery(primal_by_f=False)

    def g(x):
        return f(x) * x

    xs = np.linspace(-1.0, 2.0, 5)
    for transform in (fgrad.grad(fgrad.grad(g)),
                      lambda x: fgrad.jvp(fgrad.grad(g), (x,), (1.0,))[1]):
        batched = fgrad.vmap(transform)(xs)
        looped = np.array([float(transform(x)) for x in xs])
        np.testing.assert_allclose(batched, looped, rtol=1e-12)
        np.testing.assert_allclose(looped, 3 * np.cos(xs) - 2 * xs * np.sin(xs) + xs,
                                   rtol=1e-12, atol=1e-12)


def test_third_order_agrees_across_modes():
    f = _surgery(primal_by_f=False)

    def g(x):
        return f(x) * x

    x = 0.8
    ggg = float(fgrad.grad(fgrad.grad(fgrad.grad(g)))(x))

    def d1(y):
        return fgrad.jvp(g, (y,), (1.0,))[1]

    def d2(y):
        return fgrad.jvp(d1, (y,), (1.0,))[1]

    jjj = float(fgrad.jvp(d2, (x,), (1.0,))[1])
    gjg = float(fgrad.grad(lambda y: fgrad.jvp(fgrad.grad(g), (y,), (1.0,))[1])(x))
    # d/dx (3 cos x - 2 x sin x + x)
    expected = -5 * np.sin(x) - 2 * x * np.cos(x) + 1
    for value in (ggg, jjj, gjg):
        assert value == pytest.approx(expected, rel=1e-12)
