"""The semantics the core promises: nesting, leaks, errors, dtypes, pytrees, dispatch."""

import collections
import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad.autodiff import ReverseTrace

# --- composition and perturbation confusion ------------------------------------


def test_no_perturbation_confusion_in_reverse_mode():
    f = lambda a: a * fgrad.grad(lambda b: a + b)(1.0)
    assert fgrad.grad(f)(1.0) == 1.0


def test_no_perturbation_confusion_in_forward_mode():
    def f(a):
        return a * fgrad.jvp(lambda b: a + b, (1.0,), (1.0,))[1]

    assert fgrad.jvp(f, (1.0,), (1.0,))[1] == 1.0


def test_no_perturbation_confusion_mixed_modes():
    f = lambda a: a * fgrad.jvp(lambda b: a * b, (1.0,), (1.0,))[1]  # = a * a
    assert fgrad.grad(f)(3.0) == 6.0
    g = lambda a: a * fgrad.grad(lambda b: a * b)(1.0)  # = a * a
    assert fgrad.jvp(g, (3.0,), (1.0,))[1] == 6.0


@given(st.floats(-2, 2))
def test_every_transform_nests_with_every_other(x):
    f = lambda x: fnp.sin(x) * fnp.exp(x / 2)
    d1 = lambda x: np.cos(x) * np.exp(x / 2) + 0.5 * np.sin(x) * np.exp(x / 2)
    d2 = lambda x: (-np.sin(x) + np.cos(x) + 0.25 * np.sin(x)) * np.exp(x / 2)
    d3 = lambda x: (-np.cos(x) - 1.5 * np.sin(x) + 0.75 * np.cos(x) + 0.125 * np.sin(x)) * np.exp(x / 2)
    fwd = lambda g: (lambda x: fgrad.jvp(g, (x,), (1.0,))[1])
    rev = fgrad.grad
    for outer in (fwd, rev):
        for inner in (fwd, rev):
            np.testing.assert_allclose(outer(inner(f))(x), d2(x), rtol=1e-12, atol=1e-12)
            for innermost in (fwd, rev):
                np.testing.assert_allclose(
                    outer(inner(innermost(f)))(x), d3(x), rtol=1e-11, atol=1e-11
                )
    np.testing.assert_allclose(rev(f)(x), d1(x), rtol=1e-13, atol=1e-13)


def test_jacfwd_of_jacrev_matches_analytic_hessian():
    f = lambda x: fnp.sum(fnp.sin(x) * x[::-1])
    x = np.array([0.3, -0.4, 1.1])
    H = fgrad.jacfwd(fgrad.jacrev(f))(x)
    H2 = fgrad.jacrev(fgrad.jacfwd(f))(x)
    n = len(x)
    want = np.zeros((n, n))
    for i in range(n):
        j = n - 1 - i
        want[i, i] += -np.sin(x[i]) * x[j]
        want[i, j] += np.cos(x[i])
        want[j, i] += np.cos(x[i])
    np.testing.assert_allclose(H, want, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(H2, want, rtol=1e-13, atol=1e-14)


# --- control flow -----------------------------------------------------------------


def test_python_control_flow_on_traced_values():
    def f(x):
        if x.sum() > 0:
            return fnp.sum(x**2)
        return fnp.sum(x**3)

    np.testing.assert_array_equal(fgrad.grad(f)(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_array_equal(fgrad.grad(f)(np.array([-1.0, -2.0])), [3.0, 12.0])


def test_deep_loop_of_100000_steps_has_no_recursion_error():
    def f(x):
        for _ in range(100_000):
            x = x * 1.00001
        return x

    g = fgrad.grad(f)(1.0)
    np.testing.assert_allclose(g, 1.00001**100_000, rtol=1e-9)


# --- leaked tracers and exceptions ---------------------------------------------------


def test_leaked_tracer_raises_instead_of_giving_a_wrong_number():
    leaked = []

    def f(x):
        leaked.append(x)
        return x * x

    fgrad.grad(f)(3.0)
    with pytest.raises(fgrad.LeakedTracerError, match="after its transform had returned"):
        fgrad.grad(lambda y: y * leaked[0])(2.0)
    with pytest.raises(fgrad.LeakedTracerError):
        leaked[0] + 1.0


def test_leaked_forward_tracer_raises():
    leaked = []
    fgrad.jvp(lambda x: leaked.append(x) or x, (1.0,), (1.0,))
    with pytest.raises(fgrad.LeakedTracerError):
        fgrad.grad(lambda y: y * leaked[0])(2.0)


def test_has_aux_returns_plain_values_not_tracers():
    g, aux = fgrad.grad(lambda x: (x * x, {"x": x, "sq": x * x}), has_aux=True)(3.0)
    assert g == 6.0
    assert not fgrad.core.is_tracer(aux["x"]) and aux["x"] == 3.0
    assert aux["sq"] == 9.0


def test_exception_propagates_unchanged_and_state_stays_clean():
    class Boom(Exception):
        pass

    def bad(x):
        _ = x * 2
        raise Boom("inside")

    with pytest.raises(Boom, match="inside"):
        fgrad.grad(bad)(1.0)
    with pytest.raises(Boom):
        fgrad.jvp(bad, (1.0,), (1.0,))
    with pytest.raises(Boom):
        fgrad.grad(lambda x: fgrad.grad(bad)(x))(1.0)
    assert fgrad.grad(lambda x: x * x)(3.0) == 6.0
    assert fgrad.jvp(lambda x: x * x, (3.0,), (1.0,))[1] == 6.0


# --- dtypes ------------------------------------------------------------------------------


def test_float32_in_float32_out_and_python_scalars_are_weak():
    x = np.arange(3, dtype=np.float32)
    g = fgrad.grad(lambda x: fnp.sum(fnp.sin(x) * 2.5 + x**2))(x)
    assert g.dtype == np.float32
    _, t = fgrad.jvp(lambda x: fnp.exp(x) * 0.5, (x,), (np.ones(3, np.float32),))
    assert t.dtype == np.float32
    _, f_vjp = fgrad.vjp(lambda x: x * 3.0, x)
    assert f_vjp(np.ones(3, np.float32))[0].dtype == np.float32


def test_float32_input_mixed_with_float64_constant_gets_float32_gradient():
    x = np.ones(2, dtype=np.float32)
    c = np.array([1.0, 2.0])  # float64 constant upcasts the computation
    g = fgrad.grad(lambda x: fnp.sum(x * c))(x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [1.0, 2.0])


@pytest.mark.parametrize("bad", [3, np.arange(3), np.array([True, False])])
def test_grad_with_respect_to_integer_or_bool_input_is_a_clear_type_error(bad):
    with pytest.raises(TypeError, match="floating-point"):
        fgrad.grad(lambda x: fnp.sum(x * 1.0))(bad)


def test_grad_of_non_scalar_output_names_shape_and_suggests_vjp():
    with pytest.raises(TypeError, match=r"shape \(3,\).*vjp.*jacrev"):
        fgrad.grad(lambda x: x * 2)(np.ones(3))


def test_output_independent_of_input_gives_zeros_of_its_shape_and_dtype():
    x = np.ones((2, 3), dtype=np.float32)
    g = fgrad.grad(lambda x, y: y * 2.0, argnums=0)(x, 1.0)
    assert g.shape == (2, 3) and g.dtype == np.float32 and not g.any()
    gx, gy = fgrad.grad(lambda x, y: fnp.sum(x), argnums=(0, 1))(x, 5.0)
    assert gy == 0.0
    _, t = fgrad.jvp(lambda x: np.float64(3.0), (1.0,), (1.0,))
    assert t == 0.0


# --- errors ------------------------------------------------------------------------------


def test_in_place_mutation_of_a_tracer_suggests_at_set():
    def f(x):
        x[0] = 1.0
        return x.sum()

    with pytest.raises(TypeError, match=r"x.at\[idx\].set"):
        fgrad.grad(f)(np.ones(3))


def test_writing_a_tracer_into_a_numpy_array_is_refused():
    def f(x):
        buf = np.zeros(3)
        buf += x
        return buf.sum()

    with pytest.raises(TypeError, match="in place"):
        fgrad.grad(f)(np.ones(3))
    with pytest.raises(TypeError):
        fgrad.grad(lambda x: np.asarray(x).sum())(np.ones(3))


def test_at_set_and_add_are_the_functional_way():
    def f(x):
        y = fnp.at(x)[0].set(10.0 * x[1])  # works on arrays and tracers alike
        y = fnp.at(y)[np.array([2, 2])].add(x[0])
        return fnp.sum(y * y)

    def f_tracer_spelling(x):
        y = x.at[0].set(10.0 * x[1])
        y = y.at[np.array([2, 2])].add(x[0])
        return fnp.sum(y * y)

    x = np.array([1.0, 2.0, 3.0])
    y0, y1, y2 = 10 * x[1], x[1], x[2] + 2 * x[0]
    want = np.array([2 * y2 * 2, 2 * y0 * 10 + 2 * y1, 2 * y2])
    np.testing.assert_allclose(fgrad.grad(f)(x), want)
    np.testing.assert_allclose(fgrad.grad(f_tracer_spelling)(x), want)
    fgrad.check_grads(f, (x,), order=2)


def test_float_conversion_of_tracer_is_refused():
    with pytest.raises(TypeError, match="stop_gradient"):
        fgrad.grad(lambda x: float(x) * x)(1.0)


def test_argnums_out_of_range_is_explained():
    with pytest.raises(TypeError, match="argnums"):
        fgrad.grad(lambda x: x, argnums=2)(1.0)


# --- plain numpy code differentiates (NEP 13/18) -----------------------------------------


def test_plain_numpy_function_differentiates():
    def f(x):
        y = np.tanh(x) * np.exp(-x) + np.sum(x**2) / np.sqrt(x.size)
        return np.sum(np.maximum(y, 0.1) @ np.ones((3, 2)))

    x = np.array([0.3, -0.1, 0.7])
    fgrad.check_grads(f, (x,), order=2)
    g_np = fgrad.grad(f)(x)
    g_fnp = fgrad.grad(lambda x: f(x))(x)
    np.testing.assert_array_equal(g_np, g_fnp)


def test_ndarray_times_tracer_reaches_the_tracer():
    a = np.array([1.0, 2.0, 3.0])
    g = fgrad.grad(lambda x: np.sum(a * x + a / x - a**x))(np.ones(3))
    np.testing.assert_allclose(g, a - a - a * np.log(a))


def test_numpy_function_without_rule_raises_naming_it():
    with pytest.raises(TypeError, match=r"numpy.*histogram"):
        fgrad.grad(lambda x: np.sum(np.histogram(x)[1]))(np.ones(3))
    with pytest.raises(TypeError, match=r"numpy.*maximum\.accumulate"):
        fgrad.grad(lambda x: np.sum(np.maximum.accumulate(x)))(np.ones(3))


@pytest.mark.parametrize("ufunc,scan", [(np.add, np.cumsum), (np.multiply, np.cumprod)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_ufunc_accumulate_is_the_running_scan(ufunc, scan, axis):
    x = np.random.default_rng(4).uniform(0.5, 1.5, (3, 4))
    out, f_vjp = fgrad.vjp(lambda x: ufunc.accumulate(x, axis=axis), x)
    np.testing.assert_array_equal(out, ufunc.accumulate(x, axis=axis))
    ct = np.ones_like(x)
    np.testing.assert_allclose(f_vjp(ct)[0], fgrad.vjp(lambda x: scan(x, axis=axis), x)[1](ct)[0])
    fgrad.check_grads(lambda x: ufunc.accumulate(x), (x,), order=2)  # axis 0 by default
    with pytest.raises(TypeError, match="scalar"):
        fgrad.grad(lambda s: ufunc.accumulate(s))(1.0)


# --- tracers behave like arrays ---------------------------------------------------------


@pytest.mark.parametrize("f", [
    lambda x: x * 2.0, lambda x: fnp.ravel(x).sum(), lambda x: fnp.sum(x + fnp.ones(3)),
    lambda x: fnp.reshape(x, (1, 1))[0, 0] ** 2, lambda x: 3.0,
])
def test_gradient_is_of_the_same_kind_as_the_input(f):
    # a numpy scalar for a Python float or numpy scalar, an array for an array (0-d too)
    for x in (1.5, np.float64(1.5)):
        assert type(fgrad.grad(f)(x)) is np.float64
    g = fgrad.grad(f)(np.array(1.5))
    assert type(g) is np.ndarray and g.shape == ()
    gs = fgrad.grad(lambda p: f(p["a"]) + f(p["b"]))({"a": 1.5, "b": np.array(1.5)})
    assert type(gs["a"]) is np.float64 and type(gs["b"]) is np.ndarray


def test_a_missing_derivative_names_the_argument_in_every_mode():
    from fgrad.core import defprim

    def scaled(x, n):
        return x * n

    row = defprim("test_core_scaled_no_n_rule", scaled,
                  jvp=[lambda t, ans, x, n: t * n, None], vjp=[lambda g, ans, x, n: g * n, None])
    np.testing.assert_allclose(fgrad.grad(row)(2.0, 3.0), 3.0)
    for transform in (fgrad.grad, fgrad.jacfwd):
        with pytest.raises(TypeError, match=r"argument 1 \(`n`\).*stop_gradient"):
            transform(row, argnums=1)(2.0, 3.0)
    with pytest.raises(TypeError, match=r"argument 1 \(`n`\), node"):
        fgrad.make_graph(lambda x, n: row(x, n))(2.0, 3.0).adjoint_trace()


def test_tracer_copy_is_a_new_traced_array():
    def f(x):
        y = x.copy()
        assert y is not x and isinstance(y, type(x))
        return (y * x).sum()

    x = np.arange(3.0)
    np.testing.assert_array_equal(fgrad.grad(f)(x), 2 * x)
    np.testing.assert_array_equal(fgrad.jvp(f, (x,), (np.ones(3),))[1], 2 * x.sum())


def test_copy_and_deepcopy_of_a_tracer_are_copies_that_keep_the_derivative():
    """copy.copy / copy.deepcopy of a traced value are the identity function, like
    fnp.copy (not a detach, and not a tracer that escapes its transform)."""
    import copy

    x = np.arange(4.0)
    for dup in (copy.copy, copy.deepcopy, lambda v: copy.deepcopy([v])[0]):
        def f(x, dup=dup):
            y = x * x
            u = dup(y)
            assert u is not y
            return (u * x).sum()

        np.testing.assert_array_equal(fgrad.grad(f)(x), 3 * x**2)
        np.testing.assert_array_equal(fgrad.jvp(f, (x,), (np.ones(4),))[1], (3 * x**2).sum())
        np.testing.assert_array_equal(fgrad.vmap(fgrad.grad(f))(np.stack([x, x + 1])),
                                      3 * np.stack([x, x + 1]) ** 2)


def test_tracer_array_protocol():
    def f(x):
        assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
        assert x.dtype == np.float64
        rows = [r for r in x]
        y = x.T @ x + rows[0].sum() - x.mean() + x.max() * x.min()
        y = y + abs(-x.T).reshape(3, 2).dot(np.ones((2, 3)))
        return (y.sum() + x.reshape(-1)[2] ** 2 + x.prod() + x.var() + x.std()) / 10

    x = np.arange(1.0, 7.0).reshape(2, 3)
    fgrad.check_grads(f, (x,), order=2)


@given(st.sampled_from(["+", "-", "*", "/", "**", "@"]))
def test_operators_and_reflected_operators(op):
    a = np.array([[1.5, 2.0], [0.5, 1.0]])  # noqa: F841 (used by the eval'd lambda)
    fwd = eval(f"lambda x, a=a: ((x {op} a) + (a {op} x)).sum()")
    fgrad.check_grads(fwd, (np.array([[1.1, 0.7], [1.3, 0.9]]),), order=2)


# --- pytrees -----------------------------------------------------------------------------


Params = collections.namedtuple("Params", ["w", "b"])


def test_pytree_inputs_outputs_and_argnums():
    def loss(p, data):
        x, y = data["x"], data["y"]
        pred = x @ p.w + p.b[0]
        return fnp.mean((pred - y) ** 2)

    p = Params(w=np.array([0.5, -0.3]), b=[np.array(0.1)])
    data = {"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "y": np.array([1.0, 0.0])}
    g = fgrad.grad(loss)(p, data)
    assert isinstance(g, Params) and isinstance(g.b, list)
    r = (data["x"] @ p.w + 0.1) - data["y"]
    np.testing.assert_allclose(g.w, data["x"].T @ r, rtol=1e-14)
    np.testing.assert_allclose(g.b[0], r.sum(), rtol=1e-14)
    gp, gd = fgrad.grad(loss, argnums=(0, 1))(p, data)
    assert set(gd) == {"x", "y"}
    np.testing.assert_allclose(gd["y"], -r, rtol=1e-14)


def test_jacobian_of_pytrees_has_output_then_input_structure():
    f = lambda d: {"s": d["a"] * d["b"], "t": fnp.sum(d["a"])}
    d = {"a": np.array([1.0, 2.0]), "b": 3.0}
    for jac in (fgrad.jacfwd, fgrad.jacrev):
        J = jac(f)(d)
        assert J["s"]["a"].shape == (2, 2) and J["s"]["b"].shape == (2,)
        np.testing.assert_array_equal(J["s"]["a"], 3 * np.eye(2))
        np.testing.assert_array_equal(J["s"]["b"], [1.0, 2.0])
        np.testing.assert_array_equal(J["t"]["a"], [1.0, 1.0])


def test_custom_pytree_registration():
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    fgrad.tree.register_pytree_node(Point, lambda p: ((p.x, p.y), None), lambda _, c: Point(*c))
    g = fgrad.grad(lambda p: p.x * p.y)(Point(2.0, 5.0))
    assert isinstance(g, Point) and (g.x, g.y) == (5.0, 2.0)


def test_vjp_function_can_be_called_many_times():
    out, f_vjp = fgrad.vjp(lambda x: fnp.sin(x) * x, np.array([0.5, 1.0]))
    a = f_vjp(np.array([1.0, 0.0]))[0]
    b = f_vjp(np.array([0.0, 1.0]))[0]
    c = f_vjp(np.array([1.0, 1.0]))[0]
    np.testing.assert_allclose(a + b, c)
    np.testing.assert_allclose(fgrad.vjp(lambda x: x, 1.0)[1](2.0), (2.0,))


def test_value_and_grad_and_has_aux():
    (v, aux), g = fgrad.value_and_grad(lambda x: (x**3, "note"), has_aux=True)(2.0)
    assert (v, aux, g) == (8.0, "note", 12.0)


# --- memory: reverse mode keeps only what the rules read ----------------------------------


def test_reverse_mode_does_not_keep_unneeded_intermediates():
    trace = ReverseTrace()
    x = trace.new_input(np.ones(1000))
    y = fnp.sin(x)
    big = y * 1.5  # multiply by a constant: its vjp reads only the constant
    z = big + 0.25  # add: its vjp reads nothing
    ref = weakref.ref(big.value)
    del big, z, y
    gc.collect()
    assert ref() is None, "an intermediate was kept alive on the tape without need"
    trace.alive = False


def test_user_primitive_whose_impl_returns_python_scalars():
    from fgrad.core import defprim

    cube = defprim(
        "test_python_scalar_cube", lambda x: float(x) ** 3,
        jvp=[lambda t, ans, x: 3 * x**2 * t], vjp=[lambda g, ans, x: 3 * x**2 * g],
        test={"skip": "takes Python floats only"},
    )
    assert fgrad.grad(cube)(2.0) == 12.0
    assert fgrad.jvp(cube, (2.0,), (1.0,))[1] == 12.0
    assert fgrad.grad(fgrad.grad(cube))(2.0) == 12.0


def test_defprim_replace_true_declares_ones_own_row_again():
    """Re-running a declaration (a notebook cell) works with replace=True and takes the
    new rules; fgrad's own rows and rows declared without replace=True stay protected."""
    from fgrad.core import PRIMITIVES, defprim

    def declare(factor):
        return defprim("test_core_replaceable_scale", lambda x: 2.0 * x,
                       jvp=[lambda t, ans, x: factor * t], vjp=[lambda g, ans, x: factor * g],
                       batch="elementwise", replace=True, test={"skip": "declared twice"})

    first = declare(3.0)  # a wrong rule, then corrected by declaring the row again
    assert fgrad.grad(first)(1.0) == 3.0
    second = declare(2.0)
    assert PRIMITIVES["test_core_replaceable_scale"] is second.primitive
    assert fgrad.grad(second)(1.0) == 2.0
    assert fgrad.jvp(second, (1.0,), (1.0,))[1] == 2.0
    np.testing.assert_array_equal(fgrad.vmap(fgrad.grad(second))(np.ones(3)), 2.0)
    assert fgrad.make_graph(second)(1.0).primitives[0].op == "test_core_replaceable_scale"
    fgrad.check_grads(second, (np.arange(3.0),), order=2)

    # a row declared without replace=True, and fgrad's own rows, are not replaced
    defprim("test_core_fixed_scale", lambda x: 2.0 * x, jvp=[lambda t, ans, x: 2 * t],
            vjp=[lambda g, ans, x: 2 * g], test={"skip": "declared once"})
    with pytest.raises(ValueError, match="already in the table.*replace=True"):
        defprim("test_core_fixed_scale", lambda x: 2.0 * x, jvp=[lambda t, ans, x: 2 * t],
                vjp=[lambda g, ans, x: 2 * g])
    with pytest.raises(ValueError, match="declared without replace=True"):
        defprim("test_core_fixed_scale", lambda x: 2.0 * x, jvp=[lambda t, ans, x: 2 * t],
                vjp=[lambda g, ans, x: 2 * g], replace=True)
    sinh = PRIMITIVES["sinh"]
    for name in ("sinh", "special.erf"):  # an eager row and one of the rows loaded on first use
        with pytest.raises(ValueError, match=f"{name!r} is already.*without replace=True"):
            defprim(name, np.sinh, jvp=[lambda t, ans, x: t], vjp=[lambda g, ans, x: g],
                    replace=True)
    assert PRIMITIVES["sinh"] is sinh and fgrad.grad(fnp.sinh)(0.0) == 1.0
    with pytest.raises(TypeError, match="replace"):
        defprim("test_core_bad_replace", np.sinh, jvp=[lambda t, ans, x: t],
                vjp=[lambda g, ans, x: g], replace="yes")


def test_tracer_trace_method_is_numpys_trace():
    A = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(fgrad.grad(lambda a: a.trace())(A), np.eye(3))
    np.testing.assert_array_equal(fgrad.grad(lambda a: a.trace(offset=1))(A), np.eye(3, k=1))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 0.5, -1.5])
def test_power_with_constant_exponents_to_third_order(k):
    x = np.array([0.7, 1.3])
    d = fgrad.grad(lambda x: fnp.sum(x**k))(x)
    np.testing.assert_allclose(d, k * x ** (k - 1) if k else 0 * x, rtol=1e-14)
    d3 = fgrad.jacfwd(fgrad.jacrev(fgrad.grad(lambda x: fnp.sum(x**k))))(x)
    want = k * (k - 1) * (k - 2) * x ** (k - 3) if k not in (0, 1, 2) else 0 * x
    np.testing.assert_allclose(np.einsum("iii->i", d3), want, rtol=1e-12)
    assert fgrad.grad(lambda x: x**k)(np.float32(1.5)).dtype == np.float32
