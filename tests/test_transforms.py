"""linearize, linear_transpose, hvp, checkpoint, chunked Jacobians and holomorphic=."""


import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.core import defprim

RNG = np.random.default_rng(1)


def randn(*shape):
    return RNG.standard_normal(shape)


def close(got, want, rtol=1e-10, atol=1e-12):
    g_leaves, g_tree = fgrad.tree.tree_flatten(got)
    w_leaves, w_tree = fgrad.tree.tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def fd_jvp(f, x, v, eps=1e-6):
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


# --- linearize --------------------------------------------------------------------------


def test_linearize_matches_jvp_and_finite_differences():
    W = randn(3, 4)
    f = lambda x: fnp.tanh(W @ fnp.sin(x)) * fnp.sum(x ** 2)
    x = randn(4)
    out, f_jvp = fgrad.linearize(f, x)
    close(out, f(x))
    for _ in range(3):
        v = randn(4)
        close(f_jvp(v), fgrad.jvp(f, (x,), (v,))[1], rtol=1e-12)
        close(f_jvp(v), fd_jvp(f, x, v), rtol=1e-6, atol=1e-8)


def test_linearize_does_not_run_the_function_again():
    calls = []

    def f(x, y):
        calls.append(1)
        return {"a": fnp.exp(x) * y, "b": x[::-1]}

    x, y = randn(3), randn(3)
    out, f_jvp = fgrad.linearize(f, x, y)
    assert len(calls) == 1
    for _ in range(4):
        u, v = randn(3), randn(3)
        got = f_jvp(u, v)
        close(got, fgrad.jvp(f, (x, y), (u, v))[1], rtol=1e-12)
    assert len(calls) == 1 + 4  # only the jvp references above ran f


def test_linearize_pytrees_constants_and_errors():
    f = lambda p: (p["w"] * 2.0, 3.0)
    out, f_jvp = fgrad.linearize(f, {"w": randn(2)})
    t = f_jvp({"w": np.ones(2)})
    close(t[0], np.full(2, 2.0))
    assert np.all(np.asarray(t[1]) == 0)
    with pytest.raises(TypeError, match="structure"):
        f_jvp(np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        f_jvp({"w": np.ones(3)})
    with pytest.raises(TypeError, match="floating"):
        fgrad.linearize(lambda n: n * 2, 3)


def test_linearize_composes_with_vmap_and_grad():
    W = randn(3, 4)
    f = lambda x: fnp.sin(W @ x)
    x = randn(4)
    _, f_jvp = fgrad.linearize(f, x)
    # a batch of tangents through the recorded linear map is the Jacobian
    close(fgrad.vmap(f_jvp, out_axes=1)(np.eye(4)), fgrad.jacrev(f)(x), rtol=1e-12)
    # the linear map's gradient is the transpose: grad <u, J v> wrt v = J^T u
    u = randn(3)
    close(fgrad.grad(lambda v: fnp.sum(u * f_jvp(v)))(randn(4)), fgrad.vjp(f, x)[1](u)[0])
    # linearize inside grad: differentiate the linear map with respect to the point
    v = randn(4)
    g = fgrad.grad(lambda y: fnp.sum(fgrad.linearize(f, y)[1](v)))(x)
    want = fgrad.grad(lambda y: fnp.sum(fgrad.jvp(f, (y,), (v,))[1]))(x)
    close(g, want, rtol=1e-12)
    fgrad.check_grads(lambda y: fgrad.linearize(f, y)[1](v), (x,), order=1)


# --- linear_transpose ---------------------------------------------------------------------


def test_linear_transpose_of_a_matrix_and_of_a_pytree_map():
    A = randn(3, 4)
    f_t = fgrad.linear_transpose(lambda x: A @ x, np.zeros(4))
    u = randn(3)
    close(f_t(u), (A.T @ u,))
    g = lambda p, q: {"s": p * 2.0 + q[:2], "t": fnp.sum(q)}
    g_t = fgrad.linear_transpose(g, np.zeros(2), np.zeros(3))
    ct = {"s": randn(2), "t": np.float64(1.5)}
    p_ct, q_ct = g_t(ct)
    close(p_ct, 2 * ct["s"])
    close(q_ct, np.r_[ct["s"], 0.0] + 1.5)


def test_linear_transpose_complex_is_the_unconjugated_transpose():
    w = randn(3) + 1j * randn(3)
    f = lambda z: w * z[::-1]
    f_t = fgrad.linear_transpose(f, np.zeros(3, complex))
    u, v = randn(3) + 1j * randn(3), randn(3) + 1j * randn(3)
    (ft_u,) = f_t(u)
    # adjoint under Re(sum(a * b)), no conjugation (JAX's convention)
    assert np.isclose(np.real(np.sum(u * f(v))), np.real(np.sum(ft_u * v)))
    close(ft_u, (w * u)[::-1])


def test_linear_transpose_rejects_non_linear_functions():
    with pytest.raises(ValueError, match="fun\\(0\\)"):
        fgrad.linear_transpose(lambda x: x + 1.0, np.zeros(2))
    with pytest.raises(ValueError, match="not linear"):
        fgrad.linear_transpose(lambda x: fnp.sin(x), np.zeros(2))


# --- hvp -------------------------------------------------------------------------------------


def rosenbrock(x):
    return fnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_hvp_matches_the_hessian_and_an_analytic_case():
    x, v = randn(5), randn(5)
    H = fgrad.hessian(rosenbrock)(x)
    close(fgrad.hvp(rosenbrock, (x,), (v,)), H @ v)
    A = randn(4, 4)
    A = A + A.T
    q = lambda y: 0.5 * y @ A @ y
    close(fgrad.hvp(q, (randn(4),), (v[:4],)), A @ v[:4])
    # finite differences of the gradient
    g = fgrad.grad(rosenbrock)
    close(fgrad.hvp(rosenbrock, (x,), (v,)), fd_jvp(g, x, v), rtol=1e-6, atol=1e-6)


def test_hvp_several_arguments_and_errors():
    f = lambda a, b: fnp.sum(fnp.sin(a) * b ** 2)
    a, b, va, vb = randn(3), randn(3), randn(3), randn(3)
    ha, hb = fgrad.hvp(f, (a, b), (va, vb))
    close(ha, -np.sin(a) * b ** 2 * va + 2 * np.cos(a) * b * vb)
    close(hb, 2 * np.cos(a) * b * va + 2 * np.sin(a) * vb)
    with pytest.raises(TypeError, match="tuples"):
        fgrad.hvp(f, a, va)


# --- checkpoint ------------------------------------------------------------------------------


def block(x):
    for _ in range(10):
        x = fnp.sin(x) * 1.01
    return x


def test_checkpoint_values_and_gradients_are_unchanged():
    x = randn(6)
    plain = lambda x: fnp.sum(block(block(x)) ** 2)
    ck = fgrad.checkpoint(block)
    remat = lambda x: fnp.sum(ck(ck(x)) ** 2)
    assert remat(x) == plain(x)
    np.testing.assert_array_equal(fgrad.grad(remat)(x), fgrad.grad(plain)(x))
    close(fgrad.jacrev(lambda x: ck(x))(x), fgrad.jacrev(block)(x), rtol=1e-12)
    close(fgrad.jvp(ck, (x,), (x,))[1], fgrad.jvp(block, (x,), (x,))[1], rtol=1e-12)
    close(fgrad.hvp(remat, (x,), (x,)), fgrad.hvp(plain, (x,), (x,)), rtol=1e-10)
    close(fgrad.grad(lambda x: fnp.sum(fgrad.grad(remat)(x)))(x),
          fgrad.grad(lambda x: fnp.sum(fgrad.grad(plain)(x)))(x), rtol=1e-10)


def test_checkpoint_reruns_the_function_in_the_backward_pass():
    calls = []

    def f(x):
        calls.append(1)
        return fnp.exp(x) * x

    ck = fgrad.checkpoint(f)
    x = randn(3)
    g = fgrad.grad(lambda x: fnp.sum(ck(x)))(x)
    assert len(calls) == 2  # forward (values only) + once more in the backward pass
    close(g, np.exp(x) * (1 + x))


def test_checkpoint_pytrees_several_arguments_statics_and_kwargs():
    def layer(params, x, n, scale=1.0):
        h = fnp.tanh(x @ params["W"] + params["b"])
        for _ in range(n):
            h = h * scale
        return {"h": h, "norm": fnp.sum(h ** 2), "count": np.int64(n)}

    params = {"W": randn(3, 4), "b": randn(4)}
    x = randn(2, 3)
    ck = fgrad.checkpoint(layer, static_argnums=(2,))

    def loss(layer_fn, p, x):
        out = layer_fn(p, x, 2, scale=0.5)
        return fnp.sum(out["h"]) + out["norm"] + 0 * out["count"]

    g1 = fgrad.grad(loss, argnums=(1, 2))(ck, params, x)
    g2 = fgrad.grad(loss, argnums=(1, 2))(layer, params, x)
    close(g1, g2, rtol=1e-12)
    out = ck(params, x, 2)
    assert out["count"] == 2 and out["count"].dtype == np.int64


def test_checkpoint_composes_with_vmap():
    ck = fgrad.checkpoint(block)
    xs = randn(4, 3)
    close(fgrad.vmap(ck)(xs), np.stack([block(x) for x in xs]), rtol=1e-12)
    per = fgrad.vmap(fgrad.grad(lambda x: fnp.sum(ck(x))))(xs)
    close(per, np.stack([fgrad.grad(lambda x: fnp.sum(block(x)))(x) for x in xs]), rtol=1e-12)
    g = fgrad.grad(lambda xs: fnp.sum(fgrad.vmap(ck)(xs) ** 2))(xs)
    close(g, fgrad.grad(lambda xs: fnp.sum(block(xs) ** 2))(xs), rtol=1e-12)


def test_checkpoint_refuses_closed_over_traced_values():
    def outer(w):
        ck = fgrad.checkpoint(lambda x: x * w)
        return fnp.sum(ck(fnp.ones(2) * w))

    with pytest.raises(TypeError, match="closes over"):
        fgrad.grad(outer)(2.0)


def test_checkpoint_lowers_peak_memory_on_a_deep_chain(peak_bytes):
    x = np.linspace(0.1, 1.0, 50_000)  # 400 kB per intermediate
    ck = fgrad.checkpoint(block)

    def deep(b):
        def f(x):
            for _ in range(8):
                x = b(x)
            return fnp.sum(x)
        return f

    g_plain = fgrad.grad(deep(block))
    g_ck = fgrad.grad(deep(ck))
    np.testing.assert_array_equal(g_plain(x), g_ck(x))
    plain, remat = peak_bytes(lambda: g_plain(x)), peak_bytes(lambda: g_ck(x))
    # 80 saved intermediates against 8 block inputs plus one block's intermediates
    assert remat < 0.4 * plain, (remat, plain)


# --- chunked Jacobians ---------------------------------------------------------------------


def test_chunk_size_bounds_the_batch_of_each_pass():
    sizes = []

    def rule(args, dims):
        (x,), (d,) = args, dims
        sizes.append(np.shape(x)[d])
        return double(x), d

    # a linear row whose rules use the row itself: the batched tangents and
    # cotangents of jacfwd/jacrev go through its batching rule
    double = defprim("test_transforms_recording_double", lambda x: 2.0 * x,
                     jvp=[lambda t, ans, x: double(t)],
                     vjp=[lambda g, ans, x: double(g)], batch=rule)
    x = randn(10)
    for jac in (fgrad.jacfwd, fgrad.jacrev):
        sizes.clear()
        J = jac(lambda v: double(fnp.sin(v)), chunk_size=3)(x)
        close(J, np.diag(2 * np.cos(x)))
        assert sizes and max(sizes) <= 3
        sizes.clear()
        jac(lambda v: double(fnp.sin(v)))(x)
        assert max(sizes) == 10  # one pass for all unit vectors by default
    with pytest.raises(ValueError, match="chunk_size"):
        fgrad.jacrev(fnp.sin, chunk_size=0)(x)


def test_jacobians_of_empty_and_scalar_arguments():
    f = lambda a, b: fnp.sum(a) * b
    Ja, Jb = fgrad.jacfwd(f, argnums=(0, 1))(np.zeros(0), 2.0)
    assert Ja.shape == (0,) and float(Jb) == 0.0
    Ja, Jb = fgrad.jacrev(f, argnums=(0, 1))(np.ones(3), 2.0)
    close(Ja, np.full(3, 2.0))
    close(Jb, np.float64(3.0))


# --- holomorphic ------------------------------------------------------------------------------


def test_holomorphic_grad_jacfwd_jacrev_and_hessian():
    z = np.array([0.3 + 0.4j, -1.0 + 0.2j])
    A = randn(2, 2) + 1j * randn(2, 2)
    f = lambda z: fnp.exp(A @ z)
    J = A * np.exp(A @ z)[:, None]
    close(fgrad.jacfwd(f, holomorphic=True)(z), J)
    close(fgrad.jacrev(f, holomorphic=True)(z), J)
    g = fgrad.grad(lambda w: fnp.sin(w) * w, holomorphic=True)(z[0])
    close(g, np.cos(z[0]) * z[0] + np.sin(z[0]))
    H = fgrad.hessian(lambda w: fnp.sum(w ** 3), holomorphic=True)(z)
    close(H, np.diag(6 * z))
    # the derivative along a complex direction agrees: f(z + h t) ~ f(z) + J h t
    t = np.array([0.1 - 0.3j, 0.2j])
    close(fgrad.jvp(f, (z,), (t,))[1], J @ t)


def test_holomorphic_errors_and_complex_rules_of_jax():
    z = np.array([1.0 + 1.0j])
    with pytest.raises(TypeError, match=r"holomorphic=True\) requires inputs"):
        fgrad.grad(lambda x: x * x, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match=r"holomorphic=True\) requires an output"):
        fgrad.grad(lambda w: fnp.real(w * w), holomorphic=True)(1.0 + 0j)
    with pytest.raises(TypeError, match="holomorphic=True"):
        fgrad.jacfwd(lambda w: w * w)(z)
    with pytest.raises(TypeError, match="real-valued outputs"):
        fgrad.jacrev(lambda w: w * w)(z)
    with pytest.raises(TypeError, match=r"holomorphic=True\) requires outputs"):
        fgrad.jacrev(lambda w: fnp.abs(w), holomorphic=True)(z)
    # a real function of a complex input: jacrev is allowed, JAX's df/dx - i df/dy
    close(fgrad.jacrev(lambda w: fnp.real(w * fnp.conj(w)))(z), 2 * np.conj(z)[None])
