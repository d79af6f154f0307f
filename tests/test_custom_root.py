"""fgrad.custom_root: derivatives of a solution by the implicit function theorem, in both
modes, against closed forms and central differences; the user's function is evaluated on
plain values by the solver and never recorded through its iterations."""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.core import Tracer


def newton(f, x, steps=30):
    for _ in range(steps):
        x = x - f(x) / fgrad.grad(f)(x)
    return x


def scalar_solve(g, y):
    return y / g(1.0)


def cubic_root(theta):
    # the real root of x³ + θx − 1 (θ > 0: one real root)
    return fgrad.custom_root(lambda x: x ** 3 + theta * x - 1.0, 0.5, newton, scalar_solve)


def cubic_root_numpy(theta):
    roots = np.roots([1.0, 0.0, theta, -1.0])
    return float(roots[np.abs(roots.imag) < 1e-9].real[0])


@pytest.mark.parametrize("theta", [0.5, 1.0, 3.0])
def test_cubic_root_and_its_derivative_in_both_modes(theta):
    x = cubic_root_numpy(theta)
    assert abs(float(cubic_root(theta)) - x) < 1e-12
    want = -x / (3 * x ** 2 + theta)           # implicit derivative of x³ + θx − 1 = 0
    rev = float(fgrad.grad(cubic_root)(theta))
    fwd = float(fgrad.jvp(cubic_root, (theta,), (1.0,))[1])
    h = 1e-5
    fd = (cubic_root_numpy(theta + h) - cubic_root_numpy(theta - h)) / (2 * h)
    assert abs(rev - want) < 1e-12 and abs(fwd - want) < 1e-12
    assert abs(fd - want) < 1e-8


def test_solver_iterations_are_not_traced():
    calls = {"plain": 0, "traced": 0}

    def f_of(theta):
        def f(x):
            out = x ** 3 + theta * x - 1.0
            # during the solve, f runs on concrete values: no tracer of the enclosing
            # grad reaches it (the Newton step's own grad tracer does, and is fine)
            outer = isinstance(out, Tracer) and out._trace.level < level[0]
            calls["traced" if outer else "plain"] += 1
            return out
        return f

    level = [None]

    def solution(theta):
        level[0] = fgrad.core.Trace().level
        return fgrad.custom_root(f_of(theta), 0.5, lambda f, x: newton(f, x, 20), scalar_solve)

    fgrad.grad(solution)(1.0)
    # 20 Newton steps call f twice each (value, and its grad); the residual at the solution
    # is the one traced call; one more plain call linearises f for the tangent solve
    assert calls == {"plain": 41, "traced": 1}


def test_argmin_of_a_quartic_matches_the_implicit_derivative():
    # argmin_x (x − θ)² + x⁴ solves 2(x − θ) + 4x³ = 0; dx*/dθ = 2 / (2 + 12 x*²)
    def argmin(theta):
        f = fgrad.grad(lambda x: (x - theta) ** 2 + x ** 4)
        return fgrad.custom_root(f, 0.0, newton, scalar_solve)

    for theta in (-1.0, 0.3, 2.0):
        x = float(argmin(theta))
        assert abs(2 * (x - theta) + 4 * x ** 3) < 1e-12
        want = 2 / (2 + 12 * x ** 2)
        assert abs(float(fgrad.grad(argmin)(theta)) - want) < 1e-12
        assert abs(float(fgrad.jvp(argmin, (theta,), (1.0,))[1]) - want) < 1e-12


def dense_solve(g, y):
    """Solve g(x) = y for pytrees by building g's matrix column by column."""
    leaves, tree = fgrad.tree.tree_flatten(y)
    shapes = [np.shape(v) for v in leaves]
    sizes = [int(np.prod(s, dtype=int)) for s in shapes]
    n = sum(sizes)

    def unflat(v):
        parts, k = [], 0
        for s, m in zip(shapes, sizes):
            parts.append(v[k:k + m].reshape(s))
            k += m
        return tree.unflatten(parts)

    def flat(t):
        return np.concatenate([np.ravel(v) for v in fgrad.tree.tree_leaves(t)])

    A = np.stack([flat(g(unflat(e))) for e in np.eye(n)], axis=1)
    return unflat(np.linalg.solve(A, flat(y)))


def newton_tree(f, x):
    """Newton's method on pytrees, with fgrad.jacfwd on the flattened system."""
    leaves, tree = fgrad.tree.tree_flatten(x)
    shapes = [np.shape(v) for v in leaves]

    def unflat(v):
        parts, k = [], 0
        for s in shapes:
            m = int(np.prod(s, dtype=int))
            parts.append(v[k:k + m].reshape(s))
            k += m
        return tree.unflatten(parts)

    def F(v):
        return fnp.concatenate([fnp.ravel(o) for o in fgrad.tree.tree_leaves(f(unflat(v)))])

    v = np.concatenate([np.ravel(leaf) for leaf in leaves])
    for _ in range(40):
        v = v - np.linalg.solve(fgrad.jacfwd(F)(v), F(v))
    return unflat(v)


def system(params):
    # a pytree unknown {"u": vector, "s": scalar}, parameters {"A": matrix, "b": vector}
    def f(x):
        return {"u": params["A"] @ x["u"] + fnp.tanh(x["u"]) - params["b"] * x["s"],
                "s": fnp.sum(x["u"] ** 2) + x["s"] - 1.0}
    guess = {"u": np.zeros(3), "s": np.array(0.5)}
    return fgrad.custom_root(f, guess, newton_tree, dense_solve)


RNG = np.random.default_rng(0)
PARAMS = {"A": RNG.normal(size=(3, 3)) + 3 * np.eye(3), "b": RNG.normal(size=3)}


def test_pytree_system_against_central_differences_in_both_modes():
    out = system(PARAMS)
    assert set(out) == {"u", "s"} and out["u"].shape == (3,) and np.shape(out["s"]) == ()
    loss = lambda p: fnp.sum(system(p)["u"] * np.array([1.0, -2.0, 0.5])) + 3 * system(p)["s"]
    fgrad.check_grads(loss, (PARAMS,), order=1, modes=("fwd", "rev"), eps=1e-6)
    # and one directional derivative against plain central differences
    d = {"A": RNG.normal(size=(3, 3)), "b": RNG.normal(size=3)}
    h = 1e-6
    plus = loss(fgrad.tree.tree_map(lambda p, v: p + h * v, PARAMS, d))
    minus = loss(fgrad.tree.tree_map(lambda p, v: p - h * v, PARAMS, d))
    fd = (plus - minus) / (2 * h)
    fwd = fgrad.jvp(loss, (PARAMS,), (d,))[1]
    g = fgrad.grad(loss)(PARAMS)
    rev = np.sum(g["A"] * d["A"]) + np.sum(g["b"] * d["b"])
    assert abs(fwd - fd) < 1e-6 and abs(rev - fd) < 1e-6


def test_jacobians_of_a_vector_solution():
    def solution(theta):
        f = lambda x: x ** 3 + theta * x - 1.0      # elementwise, so the Jacobian is diagonal
        return fgrad.custom_root(f, np.full(3, 0.5), newton_tree, dense_solve)

    theta = np.array([0.5, 1.0, 2.0])
    x = solution(theta)
    want = np.diag(-x / (3 * x ** 2 + theta))
    np.testing.assert_allclose(fgrad.jacrev(solution)(theta), want, atol=1e-12)
    np.testing.assert_allclose(fgrad.jacfwd(solution)(theta), want, atol=1e-12)


def test_has_aux_returns_the_solvers_extra_output():
    def solve(f, x):
        return newton(f, x), {"steps": 30}

    def sol(theta):
        x, aux = fgrad.custom_root(lambda x: x ** 3 + theta * x - 1.0, 0.5, solve,
                                   scalar_solve, has_aux=True)
        assert aux == {"steps": 30}
        return x

    x = cubic_root_numpy(2.0)
    assert abs(float(fgrad.grad(sol)(2.0)) + x / (3 * x ** 2 + 2.0)) < 1e-12


def test_parameters_used_apart_from_x_are_differentiated():
    # θ² is computed inside f without touching x
    def sol(theta):
        return fgrad.custom_root(lambda x: x - theta ** 2, 0.0, newton, scalar_solve)

    assert abs(float(fgrad.grad(sol)(3.0)) - 6.0) < 1e-12
    assert abs(float(fgrad.jvp(sol, (3.0,), (1.0,))[1]) - 6.0) < 1e-12


def test_untraced_call_returns_the_solution():
    assert abs(float(cubic_root(1.0)) - cubic_root_numpy(1.0)) < 1e-12


def test_second_derivatives_are_refused():
    with pytest.raises(NotImplementedError, match="first derivatives"):
        fgrad.grad(fgrad.grad(cubic_root))(1.0)
    with pytest.raises(NotImplementedError, match="first derivatives"):
        fgrad.jvp(fgrad.grad(cubic_root), (1.0,), (1.0,))


def test_vmap_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="vmap"):
        fgrad.vmap(cubic_root)(np.array([1.0, 2.0]))


def test_bad_inputs():
    f = lambda x: x - 1.0
    with pytest.raises(TypeError, match="floating-point"):
        fgrad.custom_root(f, 1, newton, scalar_solve)
    with pytest.raises(TypeError, match="structure"):
        fgrad.custom_root(f, 1.0, lambda f, x: (x, x), scalar_solve)
    with pytest.raises(TypeError, match="solve must be a function"):
        fgrad.custom_root(f, 1.0, None, scalar_solve)
    with pytest.raises(TypeError, match="pair"):
        fgrad.custom_root(f, 1.0, newton, scalar_solve, has_aux=True)
    with pytest.raises(TypeError, match="structure"):
        fgrad.custom_root(lambda x: (x, x), 1.0, lambda f, x: x, scalar_solve)
