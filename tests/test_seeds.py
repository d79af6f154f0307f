"""The seed documents' examples, with their numbers (see shared/seeds/README.md)."""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp


def test_two_x_dot_x_gradient_is_4x():
    x = fnp.arange(4.0)
    g = fgrad.grad(lambda x: 2 * fnp.dot(x, x))(x)
    np.testing.assert_array_equal(g, [0.0, 4.0, 8.0, 12.0])
    np.testing.assert_array_equal(g, 4 * x)


def test_gradient_of_sum_is_ones_and_does_not_accumulate():
    x = fnp.arange(4.0)
    g1 = fgrad.grad(lambda x: 2 * fnp.dot(x, x))(x)
    g2 = fgrad.grad(fnp.sum)(x)  # a second function: no zeroing needed
    np.testing.assert_array_equal(g2, np.ones(4))
    np.testing.assert_array_equal(g1, 4 * x)  # the first result is untouched


def test_mean_of_three_x_plus_two_squared():
    f = lambda x: fnp.mean(3 * (x + 2) ** 2)
    x = fnp.ones((2, 2))
    assert f(x) == 27.0
    np.testing.assert_array_equal(fgrad.grad(f)(x), np.full((2, 2), 4.5))


def test_vjp_of_x_times_x_with_ones():
    x = fnp.arange(4.0)
    out, f_vjp = fgrad.vjp(lambda x: x * x, x)
    (g,) = f_vjp(np.ones(4))
    np.testing.assert_array_equal(g, [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_array_equal(g, fgrad.grad(lambda x: fnp.sum(x * x))(x))


def test_stop_gradient_detach_example():
    x = fnp.arange(4.0)

    def z(x):
        u = fgrad.stop_gradient(x * x)
        return fnp.sum(u * x)

    np.testing.assert_array_equal(fgrad.grad(z)(x), x * x)


def test_stop_gradient_inside_a_sum_gives_2_not_5():
    f = lambda x: x**2 + fgrad.stop_gradient(x**3)
    assert fgrad.grad(f)(1.0) == 2.0
    assert fgrad.grad(lambda x: x**2 + x**3)(1.0) == 5.0


def test_view_then_backward_with_projection_vector():
    v = np.array([[1.0, 0.1], [0.01, 0.001]])
    out, f_vjp = fgrad.vjp(lambda x: fnp.reshape(2 * x, (2, 2)), np.ones(4))
    (g,) = f_vjp(v)
    np.testing.assert_allclose(g, [2.0, 0.2, 0.02, 0.002], rtol=1e-15)


def test_l_equals_x_plus_y_times_z():
    l = lambda x, y, z: (x + y) * z
    gx, gy, gz = fgrad.grad(l, argnums=(0, 1, 2))(2.0, 3.0, 4.0)
    assert (gx, gy, gz) == (4.0, 4.0, 5.0)


def _control_flow(a):
    b = a * 2
    while fnp.linalg.norm(b) < 1000:
        b = b * 2
    if fnp.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c


@pytest.mark.parametrize("a", [0.37, -0.8, 1e-3])
def test_control_flow_gradient_is_f_over_a(a):
    g = fgrad.grad(_control_flow)(a)
    np.testing.assert_allclose(g, _control_flow(a) / a, rtol=1e-14)


def test_control_flow_with_a_vector():
    a = np.array([0.3, -0.2, 0.1])
    out, f_vjp = fgrad.vjp(_control_flow, a)
    # f is piecewise linear in a with the same factor for every component: f(a) = k a
    k = _control_flow(a)[0] / a[0]
    np.testing.assert_allclose(fgrad.jacrev(_control_flow)(a), k * np.eye(3), rtol=1e-14)
    np.testing.assert_allclose(f_vjp(np.ones(3))[0], np.full(3, k), rtol=1e-14)


def _jacobian_example(x):
    x1, x2, x3 = x[0], x[1], x[2]
    return fnp.stack([x1**2 + 2 * x2 + x3, x1 + x2**3 + x3**2, 2 * x1 + x2**2 + x3**3])


def test_jacobian_projection_example():
    x = np.array([1.0, 2.0, 3.0])
    _, f_vjp = fgrad.vjp(_jacobian_example, x)
    np.testing.assert_array_equal(f_vjp(np.ones(3))[0], [5.0, 18.0, 34.0])
    x1, x2, x3 = x
    analytic = np.array([[2 * x1, 2, 1], [1, 3 * x2**2, 2 * x3], [2, 2 * x2, 3 * x3**2]])
    np.testing.assert_array_equal(fgrad.jacfwd(_jacobian_example)(x), analytic)
    np.testing.assert_array_equal(fgrad.jacrev(_jacobian_example)(x), analytic)


def _survey_f(x1, x2):
    return fnp.log(x1) + x1 * x2 - fnp.sin(x2)


def test_forward_and_reverse_mode_on_the_survey_function():
    value = _survey_f(2.0, 5.0)
    np.testing.assert_allclose(value, np.log(2) + 10 - np.sin(5), rtol=1e-15)
    assert f"{value:.3f}" == "11.652"
    want = (5.5, 2 - np.cos(5.0))
    # reverse mode: one pass gives both partials
    np.testing.assert_allclose(fgrad.grad(_survey_f, argnums=(0, 1))(2.0, 5.0), want, rtol=1e-15)
    # forward mode: one pass per input direction
    _, d1 = fgrad.jvp(_survey_f, (2.0, 5.0), (1.0, 0.0))
    _, d2 = fgrad.jvp(_survey_f, (2.0, 5.0), (0.0, 1.0))
    np.testing.assert_allclose((d1, d2), want, rtol=1e-15)


def test_third_derivative_of_sin_is_minus_cos():
    d3 = fgrad.grad(fgrad.grad(fgrad.grad(fnp.sin)))
    for x in np.linspace(-3, 3, 7):
        np.testing.assert_allclose(d3(x), -np.cos(x), rtol=1e-14, atol=1e-15)


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    H = fgrad.hessian(lambda x: x @ A @ x)(x)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-14)
