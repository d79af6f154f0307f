"""fgrad.scipy.optimize: scipy's solvers on pytrees with fgrad's derivatives (one
value_and_grad per point, counted), and derivatives of the solutions by the implicit
function theorem against closed forms and central differences, in both modes."""

import numpy as np
import pytest

scipy = pytest.importorskip("scipy")
pytest.importorskip("scipy.optimize")

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402
import fgrad.scipy.optimize as fopt  # noqa: E402

RNG = np.random.default_rng(0)
M = RNG.normal(size=(5, 5))
Q = M @ M.T + np.eye(5)
B = RNG.normal(size=5)
X_STAR = np.linalg.solve(Q, B)


def split(x):
    return {"a": {"u": x[:2]}, "b": (x[2:4].reshape(2, 1), x[4])}


def join(t):
    return fnp.concatenate([t["a"]["u"], fnp.ravel(t["b"][0]), fnp.reshape(t["b"][1], (1,))])


def quadratic(t):
    x = join(t)
    return 0.5 * x @ Q @ x - B @ x


X0 = {"a": {"u": np.zeros(2)}, "b": (np.zeros((2, 1)), np.float64(0.0))}


def test_reachable_as_attribute_and_import():
    import subprocess
    import sys

    import fgrad.scipy

    assert fgrad.scipy.optimize is fopt
    assert "optimize" in dir(fgrad.scipy)
    # in a fresh interpreter, by attribute alone (fgrad.scipy loads it on first access)
    code = ("import fgrad, sys; assert 'fgrad.scipy.optimize' not in sys.modules; "
            "from fgrad.scipy import optimize; print(fgrad.scipy.optimize.minimize.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "minimize"


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG", "Newton-CG", "trust-ncg",
                                    "trust-krylov", "trust-exact", "dogleg", "trust-constr",
                                    "SLSQP", "TNC", None])
def test_minimize_a_pytree_with_every_gradient_method(method):
    res = fopt.minimize(quadratic, X0, method=method, tol=1e-9)
    assert res.success or "precision loss" in res.message, res.message
    assert fgrad.tree.tree_structure(res.x) == fgrad.tree.tree_structure(X0)
    assert res.x["b"][0].shape == (2, 1)
    np.testing.assert_allclose(np.asarray(join(res.x)), X_STAR, atol=1e-6)
    if isinstance(res.jac, dict):
        assert fgrad.tree.tree_structure(res.jac) == fgrad.tree.tree_structure(X0)
        np.testing.assert_allclose(np.asarray(join(res.jac)), Q @ np.asarray(join(res.x)) - B,
                                   atol=1e-8)


def test_derivative_free_method_gets_no_gradient():
    calls = []

    def f(t):
        calls.append(t)
        return quadratic(t)

    res = fopt.minimize(f, X0, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000})
    np.testing.assert_allclose(np.asarray(join(res.x)), X_STAR, atol=1e-4)
    assert len(calls) == res.nfev


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "CG"])
def test_one_call_of_fun_per_point(method):
    calls = []

    def f(t):
        calls.append(1)
        return quadratic(t)

    res = fopt.minimize(f, X0, method=method)
    # scipy counts each (value, gradient) evaluation once; fgrad calls fun once for both
    assert len(calls) == res.nfev == res.njev


def test_hessp_is_forward_over_reverse():
    calls = {"n": 0}

    def f(t):
        calls["n"] += 1
        return quadratic(t) + 0.25 * fnp.sum(join(t) ** 4)

    res = fopt.minimize(f, X0, method="Newton-CG", tol=1e-12)
    x = np.asarray(join(res.x))
    np.testing.assert_allclose(Q @ x - B + x ** 3, 0.0, atol=1e-7)
    # one call per (value, gradient) and one per Hessian-vector product
    assert calls["n"] == res.nfev + res.nhev


def test_bounds_as_pytrees_and_scalars():
    lower = {"a": {"u": np.array([0.0, 0.0])}, "b": (np.full((2, 1), -np.inf), -np.inf)}
    res = fopt.minimize(quadratic, X0, method="L-BFGS-B", bounds=scipy.optimize.Bounds(lower))
    ref = scipy.optimize.minimize(lambda x: 0.5 * x @ Q @ x - B @ x, np.zeros(5),
                                  jac=lambda x: Q @ x - B, method="L-BFGS-B",
                                  bounds=[(0, None), (0, None)] + [(None, None)] * 3)
    np.testing.assert_allclose(np.asarray(join(res.x)), ref.x, atol=1e-6)
    res = fopt.minimize(quadratic, X0, bounds=(-0.1, 0.1))
    assert np.all(np.abs(np.asarray(join(res.x))) <= 0.1 + 1e-12)


def test_constraints_take_pytrees_and_get_fgrad_jacobians():
    cons = [{"type": "eq", "fun": lambda t: fnp.sum(join(t)) - 1.0}]
    res = fopt.minimize(lambda t: fnp.sum(join(t) ** 2), X0, method="SLSQP", constraints=cons,
                        tol=1e-12)
    np.testing.assert_allclose(np.asarray(join(res.x)), np.full(5, 0.2), atol=1e-8)
    nl = scipy.optimize.NonlinearConstraint(lambda t: fnp.sum(join(t) ** 2), 0.0, 1.0)
    res = fopt.minimize(lambda t: -fnp.sum(join(t)), X0, method="trust-constr",
                        constraints=[nl], tol=1e-10)
    np.testing.assert_allclose(np.asarray(join(res.x)), np.full(5, 1 / np.sqrt(5)), atol=1e-5)


def test_callback_gets_pytrees():
    seen = []
    fopt.minimize(quadratic, X0, method="BFGS", callback=lambda x: seen.append(x))
    assert seen and all(set(x) == {"a", "b"} for x in seen)
    seen = []
    fopt.minimize(quadratic, X0, method="L-BFGS-B",
                  callback=lambda intermediate_result: seen.append(intermediate_result.x))
    assert seen and all(set(x) == {"a", "b"} for x in seen)


# ---- differentiating through the solution -----------------------------------------------


def argmin_quartic(theta, method="BFGS"):
    return fopt.minimize(lambda x, t: (x - t) ** 2 + x ** 4, 0.0, args=(theta,),
                         method=method, tol=1e-14).x


@pytest.mark.parametrize("method", ["BFGS", "Nelder-Mead", "Newton-CG"])
@pytest.mark.parametrize("theta", [-1.5, 0.2, 2.0])
def test_argmin_of_quartic_closed_form(theta, method):
    x = float(argmin_quartic(theta, method))
    assert abs(2 * (x - theta) + 4 * x ** 3) < 1e-6
    want = 2 / (2 + 12 * x ** 2)                      # implicit derivative
    rev = float(fgrad.grad(argmin_quartic)(theta, method))
    fwd = float(fgrad.jvp(lambda t: argmin_quartic(t, method), (theta,), (1.0,))[1])
    assert abs(rev - want) < 1e-6 and abs(fwd - want) < 1e-6


def ridge(lam, X, y):
    return fopt.minimize(lambda w, lam, X, y: fnp.sum((X @ w - y) ** 2) + lam * fnp.sum(w * w),
                         np.zeros(X.shape[1]), args=(lam, X, y), method="BFGS", tol=1e-13).x


def ridge_closed(lam, X, y):
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


XR = RNG.normal(size=(12, 4))
YR = RNG.normal(size=12)
C = RNG.normal(size=4)


def test_ridge_solution_matches_the_closed_form_and_its_derivatives():
    np.testing.assert_allclose(ridge(0.7, XR, YR), ridge_closed(0.7, XR, YR), atol=1e-7)
    loss = lambda lam, X, y: fnp.sum(ridge(lam, X, y) * C)
    closed = lambda lam, X, y: fnp.sum(
        fnp.linalg.solve(X.T @ X + lam * fnp.eye(4), X.T @ y) * C)
    g = fgrad.grad(loss, argnums=(0, 1, 2))(0.7, XR, YR)
    want = fgrad.grad(closed, argnums=(0, 1, 2))(0.7, XR, YR)
    for a, b in zip(g, want):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # d w*/dλ = -(XᵀX + λI)⁻¹ w*, by hand
    w = ridge_closed(0.7, XR, YR)
    dw = -np.linalg.solve(XR.T @ XR + 0.7 * np.eye(4), w)
    np.testing.assert_allclose(fgrad.jacfwd(ridge)(0.7, XR, YR), dw, atol=1e-6)
    np.testing.assert_allclose(fgrad.jacrev(ridge)(0.7, XR, YR), dw, atol=1e-6)
    # central differences on the numpy closed form, in a random direction of (X, y)
    dX, dy, h = RNG.normal(size=XR.shape), RNG.normal(size=YR.shape), 1e-6
    fd = (C @ ridge_closed(0.7, XR + h * dX, YR + h * dy)
          - C @ ridge_closed(0.7, XR - h * dX, YR - h * dy)) / (2 * h)
    fwd = fgrad.jvp(lambda X, y: loss(0.7, X, y), (XR, YR), (dX, dy))[1]
    assert abs(fwd - fd) < 1e-6
    assert abs(np.sum(g[1] * dX) + np.sum(g[2] * dy) - fd) < 1e-6


def test_user_function_is_not_traced_through_the_iterations():
    calls = {"traced": 0, "plain": 0}

    def f(w, lam):
        calls["traced" if isinstance(lam, fgrad.core.Tracer) else "plain"] += 1
        return fnp.sum((XR @ w - YR) ** 2) + lam * fnp.sum(w * w)

    def sol(lam):
        return fnp.sum(fopt.minimize(f, np.zeros(4), args=(lam,), method="BFGS",
                                     tol=1e-12).x * C)

    fgrad.grad(sol)(0.7)
    # at the solution only: the stationarity condition with the traced λ, and once more
    # recording it on concrete values (the linear map of the implicit solve)
    assert calls["traced"] == 2
    n_solve = calls["plain"]
    calls.update(traced=0, plain=0)
    res = fopt.minimize(f, np.zeros(4), args=(0.7,), method="BFGS", tol=1e-12)
    assert calls == {"traced": 0, "plain": res.nfev}
    assert n_solve == res.nfev


def test_pytree_arguments_and_solution():
    def fit(params):
        def loss(x, p):
            return fnp.sum((x["m"] - p["target"]) ** 2 * p["weight"]) + fnp.sum(x["m"] ** 4)
        return fopt.minimize(loss, {"m": np.zeros(3)}, args=(params,), method="BFGS",
                             tol=1e-13).x["m"]

    p = {"target": np.array([1.0, -0.5, 2.0]), "weight": np.array([1.0, 2.0, 0.5])}
    fgrad.check_grads(lambda p: fnp.sum(fit(p) * np.array([1.0, 2.0, -1.0])), (p,), order=1,
                      modes=("fwd", "rev"), eps=1e-5, atol=1e-5, rtol=1e-5)


def test_constrained_problems_are_not_differentiated_silently():
    f = lambda lam: fopt.minimize(lambda x, t: (x - t) ** 2, 0.0, args=(lam,),
                                  bounds=(-1.0, 1.0)).x
    with pytest.raises(NotImplementedError, match="bounds or constraints"):
        fgrad.grad(f)(0.5)


# ---- root --------------------------------------------------------------------------------


def cubic(theta, method="hybr"):
    return fopt.root(lambda x, t: x ** 3 + t * x - 1.0, 0.5, args=(theta,), method=method,
                     tol=1e-13).x


@pytest.mark.parametrize("method", ["hybr", "lm", "krylov", "broyden1"])
def test_root_of_a_cubic_and_its_derivative(method):
    for theta in (0.5, 2.0):
        x = float(cubic(theta, method))
        assert abs(x ** 3 + theta * x - 1) < 1e-8
        want = -x / (3 * x ** 2 + theta)
        assert abs(float(fgrad.grad(cubic)(theta, method)) - want) < 1e-7
        assert abs(float(fgrad.jvp(lambda t: cubic(t, method), (theta,), (1.0,))[1]) - want) < 1e-7


def test_root_counts_one_call_per_point_and_one_traced_call():
    calls = {"traced": 0, "plain": 0}

    def f(x, p):
        calls["traced" if isinstance(p, fgrad.core.Tracer) else "plain"] += 1
        return {"u": x["u"] ** 3 + p * x["v"] - 1.0, "v": x["v"] - fnp.sin(x["u"]) * p}

    res = fopt.root(f, {"u": np.zeros(2), "v": np.zeros(2)}, args=(0.5,))
    assert res.success and calls["traced"] == 0
    # values and Jacobian from one jacfwd pass (scipy counts one evaluation more, its start)
    assert calls["plain"] <= res.nfev
    out = res.x
    np.testing.assert_allclose(out["u"] ** 3 + 0.5 * out["v"] - 1.0, 0.0, atol=1e-10)
    calls.update(traced=0, plain=0)

    def sol(p):
        x = fopt.root(f, {"u": np.zeros(2), "v": np.zeros(2)}, args=(p,), tol=1e-13).x
        return fnp.sum(x["u"]) + 2 * fnp.sum(x["v"])

    fgrad.check_grads(sol, (0.5,), order=1, modes=("fwd", "rev"), eps=1e-6, atol=1e-6)
    h = 1e-6
    fd = (sol(0.5 + h) - sol(0.5 - h)) / (2 * h)
    assert abs(fgrad.grad(sol)(0.5) - fd) < 1e-6
    calls.update(traced=0, plain=0)
    fgrad.grad(sol)(0.5)
    assert calls["traced"] == 2      # the residual at the root, and its recording


def test_root_needs_a_square_system():
    with pytest.raises(ValueError, match="as many values"):
        fopt.root(lambda x: fnp.concatenate([x, x]), np.zeros(2))


# ---- least_squares -----------------------------------------------------------------------

T = np.linspace(0, 2, 30)


def model(p):
    return p["a"] * fnp.exp(-p["k"] * T) + p["c"]


def test_least_squares_on_a_pytree():
    y = 2.0 * np.exp(-1.3 * T) + 0.5
    calls = []

    def residuals(p, y):
        calls.append(1)
        return model(p) - y

    res = fopt.least_squares(residuals, {"a": 1.0, "k": 1.0, "c": 0.0}, args=(y,))
    # residuals and Jacobian from one pass per point (and one first call counting residuals)
    assert len(calls) == res.nfev + 1 and res.njev <= res.nfev
    for k, v in {"a": 2.0, "k": 1.3, "c": 0.5}.items():
        assert abs(float(res.x[k]) - v) < 1e-8
    assert set(res.grad) == {"a", "k", "c"}
    # the Jacobian scipy saw is fgrad's
    J = fgrad.jacfwd(lambda v: model({"a": v[0], "c": v[1], "k": v[2]}))(
        np.array([2.0, 0.5, 1.3]))
    np.testing.assert_allclose(res.jac, J, atol=1e-8)


def test_least_squares_with_pytree_bounds_and_fewer_residuals_than_unknowns():
    res = fopt.least_squares(lambda p: p["x"] - 3.0, {"x": np.zeros(2)},
                             bounds=({"x": np.array([-1.0, -1.0])}, {"x": np.array([1.0, 5.0])}))
    np.testing.assert_allclose(res.x["x"], [1.0, 3.0], atol=1e-8)
    # 1 residual, 3 unknowns: jacrev; any point on the plane is a solution
    res = fopt.least_squares(lambda x: fnp.sum(x) - 1.0, np.zeros(3))
    assert abs(np.sum(res.x) - 1.0) < 1e-7


def test_least_squares_solution_is_differentiable_in_the_data():
    def fit(y):
        return fopt.least_squares(lambda p, y: model(p) - y, {"a": 1.0, "k": 1.0, "c": 0.0},
                                  args=(y,), xtol=1e-15, ftol=1e-15, gtol=1e-15).x["k"]

    y = 2.0 * np.exp(-1.3 * T) + 0.5 + 0.01 * RNG.normal(size=T.size)
    d, h = RNG.normal(size=T.size), 1e-3     # (the solver's tolerance limits smaller h)
    fd = (fit(y + h * d) - fit(y - h * d)) / (2 * h)
    assert abs(fgrad.jvp(fit, (y,), (d,))[1] - fd) < 1e-5 * abs(fd)
    assert abs(np.sum(fgrad.grad(fit)(y) * d) - fd) < 1e-5 * abs(fd)


# ---- bad inputs --------------------------------------------------------------------------


def test_bad_inputs_get_clear_errors():
    with pytest.raises(TypeError, match="real numbers"):
        fopt.minimize(lambda x: fnp.sum(fnp.abs(x)), np.zeros(2, complex))
    with pytest.raises(TypeError, match="scalar output"):
        fopt.minimize(lambda x: x * 2, np.zeros(2))
    with pytest.raises(TypeError, match="fun must be a function"):
        fopt.minimize("f", np.zeros(2))
    with pytest.raises(ValueError, match="no values"):
        fopt.minimize(lambda x: 0.0, {})
    with pytest.raises(ValueError, match="bounds must be"):
        fopt.minimize(quadratic, X0, bounds=scipy.optimize.Bounds(np.zeros(3), np.ones(3)))
