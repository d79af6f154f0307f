"""Issue 16: inputs that used to give silently wrong answers now give the right one or a
clear TypeError/ValueError.  Every expected value is computed independently (analytic
derivative, central differences, or the same transform without the feature under test)."""

import decimal

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp


def central(f, x, eps=1e-6):
    """Central-difference gradient of scalar ``f`` at float64 array ``x``."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# --- 1: checkpoint and the caller's arrays ----------------------------------------------


def _mutating(x):
    x += 1  # numpy users write this; on a traced value it rebinds x
    return fnp.sum(x ** 2)


def test_checkpoint_inplace_update_matches_plain_grad_and_leaves_caller_alone():
    x = np.array([1.0, 2.0, 3.0])
    keep = x.copy()
    want = fgrad.grad(_mutating)(x.copy())
    np.testing.assert_allclose(want, 2 * (keep + 1))
    got = fgrad.grad(fgrad.checkpoint(_mutating))(x)
    np.testing.assert_allclose(got, want)
    np.testing.assert_array_equal(x, keep)  # the caller's array is untouched


def test_checkpoint_inplace_update_jvp():
    x = np.array([1.0, 2.0, 3.0])
    v = np.array([1.0, -1.0, 0.5])
    want = fgrad.jvp(_mutating, (x.copy(),), (v,))
    got = fgrad.jvp(fgrad.checkpoint(_mutating), (x,), (v,))
    np.testing.assert_allclose(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1])
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_checkpoint_read_only_input_and_at_set():
    x = np.array([1.0, 2.0, 3.0])
    x.flags.writeable = False

    def f(x):
        return fnp.sum(x.at[0].set(5.0) ** 2)

    want = central(lambda y: np.sum(np.concatenate([[5.0], y[1:]]) ** 2), x)
    np.testing.assert_allclose(fgrad.grad(fgrad.checkpoint(f))(x), want, rtol=1e-6)
    np.testing.assert_allclose(fgrad.grad(f)(x), want, rtol=1e-6)


@pytest.mark.parametrize("bad", [5, -3, (0, 2)])
def test_checkpoint_static_argnums_out_of_range(bad):
    f = fgrad.checkpoint(lambda x, n: fnp.sum(x ** n), static_argnums=bad)
    with pytest.raises(ValueError, match="static_argnums"):
        fgrad.grad(f)(np.ones(2), 2)


def test_checkpoint_static_argnums_negative_in_range():
    f = fgrad.checkpoint(lambda x, n: fnp.sum(x ** n), static_argnums=-1)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(fgrad.grad(f)(x, 3), 3 * x ** 2)


# --- 2: duplicate argnums --------------------------------------------------------------


@pytest.mark.parametrize("transform", [fgrad.grad, fgrad.value_and_grad, fgrad.jacrev,
                                       fgrad.jacfwd, fgrad.hessian])
def test_duplicate_argnums_raise(transform):
    with pytest.raises(ValueError, match="argnums.*more than once"):
        transform(lambda x, y: x * y * y, argnums=(0, 0))(2.0, 3.0)
    with pytest.raises(ValueError, match="argnums.*more than once"):
        transform(lambda x, y: x * y * y, argnums=(1, -1))(2.0, 3.0)


# --- 4: outputs that are not a float scalar ---------------------------------------------


@pytest.mark.parametrize("transform", [fgrad.grad, fgrad.value_and_grad])
def test_output_none_is_refused(transform):
    def forgot(x):
        fnp.sum(x ** 2)

    with pytest.raises(TypeError, match="forget to return"):
        transform(forgot)(np.ones(2))


@pytest.mark.parametrize("transform", [fgrad.grad, fgrad.value_and_grad])
def test_output_bool_is_refused(transform):
    with pytest.raises(TypeError, match="bool"):
        transform(lambda x: np.allclose(x, 1.0))(np.ones(2))
    with pytest.raises(TypeError, match="bool"):
        transform(lambda x: fnp.sum(x) > 0)(np.ones(2))


# --- 5: mutation of what the tape keeps -----------------------------------------------


def test_vjp_fun_unaffected_by_later_mutation_of_the_input():
    x = np.array([1.0, 2.0, 3.0])
    want = 2 * x
    out, f_vjp = fgrad.vjp(lambda x: x * x, x)
    x[:] = 10.0
    np.testing.assert_allclose(f_vjp(np.ones(3))[0], want)
    np.testing.assert_allclose(out, [1.0, 4.0, 9.0])


def test_linearize_unaffected_by_later_mutation_of_the_input():
    x = np.array([1.0, 2.0, 3.0])
    want = 2 * x
    out, f_jvp = fgrad.linearize(lambda x: x * x, x)
    x[:] = 10.0
    np.testing.assert_allclose(f_jvp(np.ones(3)), want)


def test_vjp_fun_unaffected_by_later_mutation_of_a_closed_over_constant():
    w = np.array([1.0, 2.0, 3.0])
    want = w.copy()
    _, f_vjp = fgrad.vjp(lambda x: fnp.sum(x * w), np.ones(3))
    w[:] = 0.0
    np.testing.assert_allclose(f_vjp(1.0)[0], want)
    w[:] = 5.0  # the caller's array is writable again after the transform
    _, f_jvp = fgrad.linearize(lambda x: fnp.sum(x * w), np.ones(3))
    w[:] = 0.0
    np.testing.assert_allclose(f_jvp(np.ones(3)), 15.0)


def _reuses_buffer(x):
    buf = np.empty(3)
    acc = 0.0
    for k in (1.0, 2.0, 3.0):
        buf[:] = k  # the same scratch array, overwritten while the tape holds it
        acc = acc + fnp.sum(x * buf)
    return acc


def test_buffer_reused_mid_function_is_an_error_not_a_wrong_gradient():
    # the right gradient is [6, 6, 6]; reading the tape's buffer at the end gave [9, 9, 9]
    x = np.ones(3)
    np.testing.assert_allclose(central(_reuses_buffer, x), [6.0, 6.0, 6.0], rtol=1e-6)
    for transform in (fgrad.grad, lambda f: lambda x: fgrad.vjp(f, x)[1](1.0)[0]):
        try:
            g = transform(_reuses_buffer)(x)
        except ValueError as err:  # numpy's read-only error: the tape holds the buffer
            assert "read-only" in str(err)
        else:
            np.testing.assert_allclose(g, [6.0, 6.0, 6.0])


def test_buffer_writable_again_after_the_transform():
    w = np.ones(3)
    fgrad.grad(lambda x: fnp.sum(x * w))(np.ones(3))
    w[0] = 2.0  # no error: the flag was restored
    assert w.flags.writeable
    ro = np.ones(3)
    ro.flags.writeable = False
    fgrad.grad(lambda x: fnp.sum(x * ro))(np.ones(3))
    assert not ro.flags.writeable


def test_grad_error_inside_restores_flags():
    w = np.ones(3)

    def f(x):
        x * w  # the tape keeps w
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fgrad.grad(f)(np.ones(3))
    assert w.flags.writeable


# --- 7: non-numeric leaves --------------------------------------------------------------

NON_NUMERIC = [
    pytest.param("float64", id="str"),
    pytest.param(b"ab", id="bytes"),
    pytest.param(np.dtype("float64"), id="dtype"),
    pytest.param(float, id="type-float"),
    pytest.param(decimal.Decimal("1.5"), id="Decimal"),
    pytest.param(object(), id="object"),
    pytest.param(np.array(["a", "b"]), id="str-array"),
    pytest.param(np.array([1.0, None], dtype=object), id="object-array"),
]


@pytest.mark.parametrize("bad", NON_NUMERIC)
def test_non_numeric_leaf_refused_by_every_transform(bad):
    f = lambda *a: a[0]  # noqa: E731
    calls = {
        "grad": lambda: fgrad.grad(f)(bad),
        "value_and_grad": lambda: fgrad.value_and_grad(f)(bad),
        "vjp": lambda: fgrad.vjp(f, bad),
        "jvp": lambda: fgrad.jvp(f, (bad,), (bad,)),
        "jacrev": lambda: fgrad.jacrev(f)(bad),
        "jacfwd": lambda: fgrad.jacfwd(f)(bad),
        "hessian": lambda: fgrad.hessian(f)(bad),
        "hvp": lambda: fgrad.hvp(f, (bad,), (bad,)),
        "linearize": lambda: fgrad.linearize(f, bad),
        "linear_transpose": lambda: fgrad.linear_transpose(f, bad),
        "check_grads": lambda: fgrad.check_grads(f, (bad,)),
    }
    for name, call in calls.items():
        with pytest.raises(TypeError, match="argument 0") as info:
            call()
        msg = str(info.value)
        assert type(bad).__name__ in msg or str(getattr(bad, "dtype", "")) in msg, (name, msg)
        assert "accepts" in msg and "pass" in msg.lower(), (name, msg)


def test_non_numeric_leaf_names_its_path():
    with pytest.raises(TypeError, match=r"argument 1 at \['b'\]\[1\].*str"):
        fgrad.grad(lambda x, d: x, argnums=(0, 1))(1.0, {"a": 1.0, "b": [2.0, "x"]})


# --- 8: results never alias ------------------------------------------------------------


def test_gradients_do_not_alias_each_other():
    d = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    g = fgrad.grad(lambda d: fnp.sum((d["a"] + d["b"]) ** 2))(d)
    want = 2 * (d["a"] + d["b"])
    assert g["a"] is not g["b"]
    g["a"] += 100.0
    np.testing.assert_allclose(g["b"], want)


def test_vjp_fun_does_not_return_the_callers_cotangent():
    ct = np.array([1.0, 2.0, 3.0])
    _, f_vjp = fgrad.vjp(lambda x, y: (x, x), np.ones(3), np.ones(3))
    gx, gy = f_vjp((ct, np.zeros(3)))
    assert gx is not ct
    gx[0] = 7.0
    np.testing.assert_array_equal(ct, [1.0, 2.0, 3.0])
    _, f_vjp = fgrad.vjp(lambda x: x, np.ones(3))
    (g,) = f_vjp(ct)
    g[:] = 0.0
    np.testing.assert_array_equal(ct, [1.0, 2.0, 3.0])


def test_jvp_does_not_return_the_callers_tangent_or_twice_the_same():
    t = np.array([1.0, 2.0, 3.0])
    out, t_out = fgrad.jvp(lambda x: (x, x), (np.ones(3),), (t,))
    assert t_out[0] is not t and t_out[1] is not t and t_out[0] is not t_out[1]
    t_out[0][0] = 9.0
    np.testing.assert_array_equal(t, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(t_out[1], [1.0, 2.0, 3.0])
    _, f_jvp = fgrad.linearize(lambda x: x, np.ones(3))
    assert f_jvp(t) is not t


# --- 9: complex cotangents/tangents for real values -------------------------------------


def test_complex_cotangent_for_real_output_raises():
    _, f_vjp = fgrad.vjp(lambda x: 2 * x, np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        f_vjp(np.ones(3) * 1j)


def test_complex_tangent_for_real_input_raises():
    with pytest.raises(TypeError, match="complex"):
        fgrad.jvp(lambda x: 2 * x, (np.ones(3),), (np.ones(3) * 1j,))
    _, f_jvp = fgrad.linearize(lambda x: 2 * x, np.ones(3))
    with pytest.raises(TypeError, match="complex"):
        f_jvp(np.ones(3) * 1j)


def test_complex_cotangent_for_complex_output_still_fine():
    z = np.array([1.0 + 1.0j])
    _, f_vjp = fgrad.vjp(lambda z: 2 * z, z)
    np.testing.assert_allclose(f_vjp(np.array([1j]))[0], [2j])


# --- 10: check_grads with float16 ------------------------------------------------------


@pytest.mark.parametrize("fun", [fnp.sin, fnp.exp, lambda x: x * x, fnp.tanh])
def test_check_grads_accepts_correct_float16_functions(fun):
    fgrad.check_grads(fun, (np.array([0.5, 1.0, -0.25], np.float16),), order=2)


def test_check_grads_float16_still_catches_a_wrong_rule():
    from fgrad.core import defprim

    name = "issue16_wrong_sin_f16"
    bad = defprim(name, np.sin, jvp=[lambda t, ans, x: t * fnp.cos(x) * 1.5],
                  vjp=[lambda g, ans, x: g * fnp.cos(x) * 1.5])
    try:
        with pytest.raises(AssertionError):
            fgrad.check_grads(bad, (np.array([0.5, 1.0], np.float16),), order=1)
    finally:
        del fgrad.core.PRIMITIVES[name]


# --- error messages ---------------------------------------------------------------------


def test_dict_cotangent_with_wrong_keys_names_them():
    _, f_vjp = fgrad.vjp(lambda d: d, {"a": 1.0, "b": 2.0})
    with pytest.raises(TypeError) as info:
        f_vjp({"a": 1.0, "c": 2.0})
    msg = str(info.value)
    assert "'b'" in msg and "'c'" in msg


def test_mixed_int_and_str_dict_keys_are_supported():
    d = {1: 1.5, "a": 2.0}
    g = fgrad.grad(lambda d: d[1] * d["a"])(d)
    assert set(g) == {1, "a"}
    np.testing.assert_allclose([g[1], g["a"]], [2.0, 1.5])
    leaves, tree = fgrad.tree.tree_flatten(d)
    assert fgrad.tree.tree_unflatten(tree, leaves) == d
    # the order does not depend on insertion order
    assert fgrad.tree.tree_flatten({"a": 2.0, 1: 1.5})[1] == tree
