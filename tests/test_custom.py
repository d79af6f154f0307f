"""fgrad.custom_vjp and fgrad.custom_jvp: JAX semantics, every transform, clear errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES, concrete

# --- the seed: a Sinh Function with save_for_backward --------------------------------------


@fgrad.custom_vjp
def sinh_vjp(x):
    return fnp.sinh(x)


def _sinh_fwd(x):
    return fnp.sinh(x), x  # ctx.save_for_backward(x)


def _sinh_bwd(x, g):
    return (g * fnp.cosh(x),)


sinh_vjp.defvjp(_sinh_fwd, _sinh_bwd)


@fgrad.custom_jvp
def sinh_jvp(x):
    return fnp.sinh(x)


@sinh_jvp.defjvp
def _sinh_jvp_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return sinh_jvp(x), fnp.cosh(x) * t


xs = st.floats(-2.0, 2.0)


@given(xs)
def test_seed_sinh_custom_vjp(x):
    assert fgrad.grad(sinh_vjp)(x) == pytest.approx(np.cosh(x))
    assert fgrad.grad(fgrad.grad(sinh_vjp))(x) == pytest.approx(np.sinh(x))
    assert fgrad.grad(fgrad.grad(fgrad.grad(sinh_vjp)))(x) == pytest.approx(np.cosh(x))


@given(xs)
def test_seed_sinh_custom_jvp(x):
    assert fgrad.jvp(sinh_jvp, (x,), (1.0,))[1] == pytest.approx(np.cosh(x))
    assert fgrad.grad(sinh_jvp)(x) == pytest.approx(np.cosh(x))
    assert fgrad.grad(fgrad.grad(sinh_jvp))(x) == pytest.approx(np.sinh(x))
    assert fgrad.hessian(sinh_jvp)(x) == pytest.approx(np.sinh(x))


def test_seed_sinh_against_numerics_both_modes():
    x = np.array([-1.2, 0.3, 0.8])
    fgrad.check_grads(sinh_vjp, (x,), order=2, modes=("rev",))
    fgrad.check_grads(sinh_jvp, (x,), order=2)
    H = fgrad.hessian(lambda v: fnp.sum(sinh_vjp(v)))(x)  # forward over reverse
    np.testing.assert_allclose(H, np.diag(np.sinh(x)))
    J = fgrad.jacrev(fgrad.jacfwd(sinh_jvp))(x)  # reverse over forward
    np.testing.assert_allclose(J, np.einsum("ij,jk->ijk", np.eye(3), np.diag(np.sinh(x))))


def test_plain_calls_return_the_function_itself():
    x = np.array([0.1, 0.2])
    np.testing.assert_array_equal(sinh_vjp(x), np.sinh(x))
    np.testing.assert_array_equal(sinh_jvp(x), np.sinh(x))
    assert sinh_vjp.__name__ == "sinh_vjp"
    assert not any(name.startswith("custom_") for name in PRIMITIVES)  # not in the table


# --- the user's rule is the one used --------------------------------------------------------


@fgrad.custom_vjp
def clip_gradient(x, lo, hi):
    return x


clip_gradient.defvjp(lambda x, lo, hi: (x, (lo, hi)),
                     lambda res, g: (fnp.clip(g, res[0], res[1]), None, None))


def test_custom_vjp_rule_replaces_the_derivative():
    g = fgrad.grad(lambda x: fnp.sum(5.0 * clip_gradient(x, -1.0, 1.0)))(np.ones(3))
    np.testing.assert_array_equal(g, np.ones(3))
    # and in vmap, vjp and jacrev
    J = fgrad.jacrev(lambda x: 5.0 * clip_gradient(x, -2.0, 2.0))(np.ones(2))
    np.testing.assert_array_equal(J, 2.0 * np.eye(2))


def _raw_numpy_softplus(x):
    # not differentiable by fgrad at all: numpy on the concrete values
    return np.logaddexp(0.0, concrete(x))


@fgrad.custom_jvp
def softplus(x):
    return _raw_numpy_softplus(x)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t / (1.0 + fnp.exp(-x))


def test_custom_jvp_makes_opaque_code_differentiable_and_stable():
    x = np.array([-1000.0, 0.0, 1000.0])
    g = fgrad.grad(lambda v: fnp.sum(softplus(v)))(x)
    np.testing.assert_array_equal(g, [0.0, 0.5, 1.0])
    h = fgrad.hessian(lambda v: fnp.sum(softplus(v)))(np.array([0.0, 1.0]))
    s = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    np.testing.assert_allclose(h, np.diag(s * (1 - s)))
    fgrad.check_grads(softplus, (np.array([-0.5, 0.4]),), order=3)


# --- several arguments, pytrees, mixed dtypes, nondiff_argnums ------------------------------


@fgrad.custom_vjp
def polar(params, scale):
    r, theta = params["r"], params["theta"]
    return (scale * r * fnp.cos(theta), scale * r * fnp.sin(theta)), fnp.astype(r, np.float32)


def _polar_fwd(params, scale):
    return polar(params, scale), (params, scale)


def _polar_bwd(res, g):
    params, scale = res
    (gx, gy), gr32 = g
    r, th = params["r"], params["theta"]
    c, s = fnp.cos(th), fnp.sin(th)
    dr = scale * (gx * c + gy * s) + fnp.astype(gr32, r.dtype)
    dth = scale * r * (gy * c - gx * s)
    dscale = fnp.sum(r * (gx * c + gy * s))
    return {"r": dr, "theta": dth}, dscale


polar.defvjp(_polar_fwd, _polar_bwd)


def _polar_plain(params, scale):
    r, th = params["r"], params["theta"]
    return (scale * r * fnp.cos(th), scale * r * fnp.sin(th)), fnp.astype(r, np.float32)


def test_pytree_arguments_and_outputs():
    params = {"r": np.array([1.0, 2.0]), "theta": np.array([0.3, -0.4])}

    def loss(f):
        def L(p, s):
            (x, y), r32 = f(p, s)
            return fnp.sum(x * x + 3.0 * y) + fnp.sum(fnp.astype(r32, np.float64) ** 2)
        return L

    got = fgrad.grad(loss(polar), argnums=(0, 1))(params, 1.5)
    want = fgrad.grad(loss(_polar_plain), argnums=(0, 1))(params, 1.5)
    for g, w in zip(fgrad.tree.tree_leaves(got), fgrad.tree.tree_leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    out, f_vjp = fgrad.vjp(polar, params, 1.5)
    assert out[1].dtype == np.float32
    ct = ((np.ones(2), np.zeros(2)), np.ones(2, np.float32))
    gp, gs = f_vjp(ct)
    assert set(gp) == {"r", "theta"} and np.shape(gs) == ()


def test_custom_jvp_several_arguments_and_outputs():
    @fgrad.custom_jvp
    def f(x, y):
        return x * y, x + y

    @f.defjvp
    def f_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), (tx * y + x * ty, tx + ty)

    x, y = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    out, t = fgrad.jvp(f, (x, y), (np.ones(2), np.zeros(2)))
    np.testing.assert_array_equal(t[0], y)
    np.testing.assert_array_equal(t[1], np.ones(2))
    gx, gy = fgrad.grad(lambda x, y: fnp.sum(f(x, y)[0] + 2 * f(x, y)[1]), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, y + 2)
    np.testing.assert_allclose(gy, x + 2)
    fgrad.check_grads(lambda x, y: f(x, y)[0], (x, y), order=2)


def test_nondiff_argnums():
    @fgrad.custom_vjp
    def apply(fn, x, power):
        return fn(x) ** power

    def apply_fwd(fn, x, power):
        return apply(fn, x, power), x

    def apply_bwd(fn, power, x, g):  # nondiff arguments come first
        return (g * power * fn(x) ** (power - 1) * fnp.cos(x),)

    apply = fgrad.custom_vjp(apply.fun, nondiff_argnums=(0, 2))
    apply.defvjp(apply_fwd, apply_bwd)
    g = fgrad.grad(lambda x: apply(fnp.sin, x, 3))(0.4)
    assert g == pytest.approx(3 * np.sin(0.4) ** 2 * np.cos(0.4))

    @fgrad.custom_jvp
    def scaled(k, x):
        return k * fnp.sin(x)

    scaled = fgrad.custom_jvp(scaled.fun, nondiff_argnums=(0,))

    @scaled.defjvp
    def _scaled_jvp(k, primals, tangents):
        (x,), (t,) = primals, tangents
        return scaled(k, x), k * fnp.cos(x) * t

    assert fgrad.grad(lambda x: scaled(3.0, x))(0.0) == 3.0
    assert fgrad.jvp(lambda x: scaled(3.0, x), (0.0,), (2.0,))[1] == 6.0


def test_keyword_arguments_none_cotangents_and_methods():
    @fgrad.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, y), lambda y, g: (g * y, None))
    assert fgrad.grad(lambda x: f(x, y=4.0))(1.0) == 4.0
    assert fgrad.grad(f, argnums=1)(1.0, 4.0) == 0.0  # None: a zero cotangent

    class Model:
        @fgrad.custom_jvp
        def forward(self, x):
            return 2.0 * x

        forward.defjvps(None, lambda t, out, self, x: 2.0 * t)

    m = Model()
    assert m.forward(3.0) == 6.0
    assert fgrad.grad(m.forward)(3.0) == 2.0


def test_integer_arguments_are_constants():
    @fgrad.custom_vjp
    def shift(x, n):
        return x * n

    shift.defvjp(lambda x, n: (x * n, n), lambda n, g: (g * n, None))
    assert fgrad.grad(shift)(2.0, 3) == 3.0


def test_defjvps():
    f = fgrad.custom_jvp(lambda x, y: fnp.sin(x) * y)
    f.defjvps(lambda tx, out, x, y: fnp.cos(x) * y * tx, lambda ty, out, x, y: fnp.sin(x) * ty)
    g = fgrad.grad(f, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose(g, (np.cos(0.5) * 2.0, np.sin(0.5)))
    fgrad.check_grads(f, (0.5, 2.0), order=2)


# --- composition with the other transforms --------------------------------------------------


def test_vmap_uses_the_custom_rules():
    @fgrad.custom_vjp
    def f(x):
        return fnp.sin(x)

    f.defvjp(lambda x: (fnp.sin(x), x), lambda x, g: (10.0 * g * fnp.cos(x),))

    @fgrad.custom_jvp
    def h(x, w):
        return fnp.sin(x) * w

    h.defjvp(lambda p, t: (h(*p), 10.0 * (fnp.cos(p[0]) * p[1] * t[0] + fnp.sin(p[0]) * t[1])))
    X = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    w = np.array([1.0, -2.0])
    np.testing.assert_allclose(fgrad.vmap(f)(X), np.sin(X))
    g = fgrad.grad(lambda X: fnp.sum(fgrad.vmap(f, in_axes=1)(X)))(X)
    np.testing.assert_allclose(g, 10.0 * np.cos(X))
    g = fgrad.vmap(fgrad.grad(lambda x: fnp.sum(f(x))))(X)
    np.testing.assert_allclose(g, 10.0 * np.cos(X))
    gw = fgrad.grad(lambda w: fnp.sum(fgrad.vmap(h, in_axes=(0, None))(X, w)))(w)
    np.testing.assert_allclose(gw, 10.0 * np.sum(np.sin(X), axis=0))
    t = fgrad.jvp(lambda X: fgrad.vmap(h, in_axes=(0, None))(X, w), (X,), (np.ones_like(X),))[1]
    np.testing.assert_allclose(t, 10.0 * np.cos(X) * w)


def test_linearize_hvp_checkpoint():
    x = np.array([0.3, -0.7])
    out, f_jvp = fgrad.linearize(sinh_jvp, x)
    np.testing.assert_allclose(f_jvp(np.ones(2)), np.cosh(x))
    for f in (sinh_vjp, sinh_jvp):
        hv = fgrad.hvp(lambda v: fnp.sum(f(v)), (x,), (np.ones(2),))
        hv = hv[1] if isinstance(hv, tuple) else hv
        np.testing.assert_allclose(hv, np.sinh(x))
        g = fgrad.grad(lambda v: fnp.sum(fgrad.checkpoint(f)(v)))(x)
        np.testing.assert_allclose(g, np.cosh(x))


def test_custom_inside_custom():
    @fgrad.custom_vjp
    def outer(x):
        return sinh_vjp(x) * 2.0

    outer.defvjp(lambda x: (outer(x), x), lambda x, g: (2.0 * g * fgrad.grad(sinh_jvp)(x),))
    assert fgrad.grad(outer)(0.5) == pytest.approx(2 * np.cosh(0.5))
    assert fgrad.grad(fgrad.grad(outer))(0.5) == pytest.approx(2 * np.sinh(0.5))


# --- errors ---------------------------------------------------------------------------------


def test_forward_mode_of_custom_vjp_is_a_clear_error():
    with pytest.raises(TypeError, match="custom_vjp function.*forward mode.*custom_jvp"):
        fgrad.jvp(sinh_vjp, (0.5,), (1.0,))
    with pytest.raises(TypeError, match="custom_vjp"):
        fgrad.jacfwd(sinh_vjp)(np.ones(2))


def test_missing_rule():
    f = fgrad.custom_vjp(fnp.sin)
    with pytest.raises(AttributeError, match="No VJP defined.*defvjp"):
        f(1.0)
    g = fgrad.custom_jvp(fnp.sin)
    with pytest.raises(AttributeError, match="No JVP defined.*defjvp"):
        g(1.0)


def _vjp_with_bwd(bwd, fwd=None):
    f = fgrad.custom_vjp(lambda x, y: x * y)
    f.defvjp(fwd or (lambda x, y: (x * y, (x, y))), bwd)
    return f


@pytest.mark.parametrize("bwd, error, match", [
    (lambda r, g: g * r[1], TypeError, "tuple with one cotangent per.*2.*returned a"),
    (lambda r, g: (g * r[1],), TypeError, "of length 1"),
    (lambda r, g: (np.ones(3), g), ValueError, "argument 0 with shape \\(3,\\).*\\(2,\\)"),
    (lambda r, g: (g * 1j, g), TypeError, "complex dtype"),
    (lambda r, g: ((g, g), g), TypeError, "structure"),
])
def test_wrong_bwd_results_are_named(bwd, error, match):
    f = _vjp_with_bwd(bwd)
    with pytest.raises(error, match=match):
        fgrad.grad(lambda x, y: fnp.sum(f(x, y)))(np.ones(2), np.ones(2))


def test_wrong_fwd_and_jvp_results_are_named():
    f = _vjp_with_bwd(lambda r, g: (g, g), fwd=lambda x, y: x * y)
    with pytest.raises(TypeError, match="fwd rule.*pair"):
        fgrad.grad(lambda x: f(x, 2.0))(1.0)
    g = fgrad.custom_jvp(lambda x: fnp.sin(x))
    g.defjvp(lambda p, t: (fnp.sin(p[0]), (t[0], t[0])))
    with pytest.raises(TypeError, match="structure"):
        fgrad.jvp(g, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="structure"):
        fgrad.grad(g)(1.0)
    h = fgrad.custom_jvp(lambda x: fnp.sin(x))
    h.defjvp(lambda p, t: (fnp.sin(p[0]), fnp.ones(3)))
    with pytest.raises(ValueError, match="shape \\(3,\\)"):
        fgrad.jvp(h, (np.ones(2),), (np.ones(2),))
    k = fgrad.custom_jvp(lambda x: fnp.sin(x))
    k.defjvp(lambda p, t: fnp.sin(p[0]))
    with pytest.raises(TypeError, match="pair"):
        fgrad.jvp(k, (1.0,), (1.0,))


def test_traced_nondiff_argument_is_an_error():
    f = fgrad.custom_vjp(lambda k, x: k * x, nondiff_argnums=(0,))
    f.defvjp(lambda k, x: (k * x, None), lambda k, r, g: (g * k,))
    with pytest.raises(TypeError, match="nondiff_argnums.*traced"):
        fgrad.grad(lambda k: f(k, 2.0))(1.0)


def test_graph_replays_the_custom_rules():
    g = fgrad.make_graph(lambda x: 2.0 * sinh_vjp(x))(0.5)
    assert float(g.adjoint_trace()["x"]) == pytest.approx(2 * np.cosh(0.5))
    g = fgrad.make_graph(lambda x: 2.0 * sinh_jvp(x))(0.5)
    assert float(g.adjoint_trace()["x"]) == pytest.approx(2 * np.cosh(0.5))
    assert float(g.tangent_trace(1.0)["v1"]) == pytest.approx(np.cosh(0.5))


def test_closing_over_a_traced_value_is_an_error():
    def loss_vjp(w):
        f = fgrad.custom_vjp(lambda x: x * w)
        f.defvjp(lambda x: (x * w, None), lambda r, g: (g * w,))
        return f(2.0 + 0.0 * w)

    with pytest.raises(TypeError, match="closes over"):
        fgrad.grad(loss_vjp)(3.0)

    def loss_jvp(w):
        f = fgrad.custom_jvp(lambda x: x * w)
        f.defjvp(lambda p, t: (p[0] * w, t[0] * w))
        return f(2.0 + 0.0 * w)

    for transform in (fgrad.grad, lambda f: (lambda w: fgrad.jvp(f, (w,), (1.0,)))):
        with pytest.raises(TypeError, match="closes over"):
            transform(loss_jvp)(3.0)
