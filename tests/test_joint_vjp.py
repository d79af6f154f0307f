"""Joint vjp rules: a row may give every differentiated argument's cotangent at once.

Work the cotangents share is then done once per backward pass: solve's solve with
the transpose, lstsq's pseudo-inverse, solve_sylvester's transposed solve, a
custom_vjp's ``bwd``, a checkpoint's re-run.  Counted here on the tape of an
enclosing reverse trace (which records every row the backward pass calls), or by
counting calls; the values are checked against finite differences and the other
mode.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
import fgrad.scipy.linalg as fsl
from fgrad.api import _reverse
from fgrad.core import defprim
from fgrad.testing import check_grads


def rows_recorded(fun, *args):
    """How often each row runs in ``fun(*args)``, all arguments differentiated."""
    trace = _reverse(fun, args, {}, tuple(range(len(args))), False, "vjp")[0]
    counts = {}
    for entry in trace.tape:
        if entry[0] is not None:
            counts[entry[0].name] = counts.get(entry[0].name, 0) + 1
    return counts


def backward_count(row, loss, *args):
    """How often ``row`` runs in the backward pass of ``grad(loss)`` (all arguments)."""
    argnums = tuple(range(len(args)))
    forward = rows_recorded(loss, *args).get(row, 0)

    def both(*a):
        return sum(fnp.sum(c) for c in fgrad.grad(loss, argnums=argnums)(*a))

    return rows_recorded(both, *args).get(row, 0) - forward


rng = np.random.default_rng(0)
A = rng.standard_normal((4, 4)) + 4 * np.eye(4)
B = rng.standard_normal((4, 2))


@pytest.mark.parametrize("b", [B, B[:, 0]])
def test_solve_runs_one_solve_for_both_cotangents(b):
    def loss(a, b):
        return fnp.sum(fnp.sin(fnp.linalg.solve(a, b)))

    assert backward_count("solve", loss, A, b) == 1
    check_grads(loss, (A, b), order=2)


def test_lstsq_computes_one_pseudo_inverse_for_both_cotangents():
    a = rng.standard_normal((5, 3))
    b = rng.standard_normal((5, 2))

    def loss(a, b):
        return fnp.sum(fnp.sin(fnp.linalg.lstsq(a, b)[0]))

    assert backward_count("pinv", loss, a, b) == 1
    check_grads(loss, (a, b), order=1)


def test_solve_sylvester_solves_the_transposed_equation_once():
    a = rng.uniform(-0.5, 0.5, (3, 3)) + 2 * np.eye(3)
    b = rng.uniform(-0.5, 0.5, (2, 2)) + np.eye(2)
    q = rng.standard_normal((3, 2))

    def loss(a, b, q):
        return fnp.sum(fnp.sin(fsl.solve_sylvester(a, b, q)))

    assert backward_count("scipy.linalg.solve_sylvester", loss, a, b, q) == 1
    check_grads(loss, (a, b, q), order=1)


def test_a_custom_bwd_runs_once_per_backward_pass_and_never_from_a_stale_cache():
    calls = []

    @fgrad.custom_vjp
    def f(x, y):
        return x * y

    def bwd(res, g):
        calls.append(1)
        x, y = res
        return g * y, g * x

    f.defvjp(lambda x, y: (x * y, (x, y)), bwd)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    out, f_vjp = fgrad.vjp(f, x, y)
    ct = np.ones(2)
    gx, gy = f_vjp(ct)
    assert len(calls) == 1  # one call for both cotangents
    np.testing.assert_array_equal(gx, y)
    ct *= 2.0  # the same array, new values: the cotangents must follow
    gx, gy = f_vjp(ct)
    assert len(calls) == 2
    np.testing.assert_array_equal(gx, 2 * y)
    np.testing.assert_array_equal(gy, 2 * x)


def test_a_custom_jvp_is_transposed_once_and_never_from_a_stale_cache():
    runs = []

    @fgrad.custom_jvp
    def f(x, y):
        return x * y

    @f.defjvp
    def _(primals, tangents):
        runs.append(1)
        (x, y), (tx, ty) = primals, tangents
        return f(x, y), tx * y + x * ty

    x, y = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    _, f_vjp = fgrad.vjp(f, x, y)
    assert len(runs) == 1  # reverse mode linearises the rule once, at the primals ...
    ct = np.ones(2)
    f_vjp(ct)
    assert len(runs) == 1  # ... and the backward pass plays that map back transposed
    ct *= 3.0
    gx, gy = f_vjp(ct)
    np.testing.assert_array_equal(gx, 3 * y)
    np.testing.assert_array_equal(gy, 3 * x)


def test_a_checkpoint_reruns_once_for_all_its_arguments():
    runs = []

    def block(x, y, z):
        runs.append(1)
        return fnp.sin(x) * y + z

    f = fgrad.checkpoint(block)
    x, y, z = np.array([0.1, 0.2]), np.array([1.5, -0.5]), np.array([2.0, 3.0])
    g = fgrad.grad(lambda x, y, z: fnp.sum(f(x, y, z)), argnums=(0, 1, 2))
    gx, gy, gz = g(x, y, z)
    assert len(runs) == 2  # the forward pass and one re-run
    np.testing.assert_allclose(gx, np.cos(x) * y, rtol=1e-15)
    np.testing.assert_allclose(gy, np.sin(x), rtol=1e-15)
    np.testing.assert_array_equal(gz, np.ones(2))


def _hypot_joint(g, ans, x, y, *, wrt):
    scale = g / ans
    return tuple(scale * (x, y)[i] for i in wrt)


_hypot = defprim(
    "test_joint_hypot", lambda x, y: np.sqrt(x * x + y * y),
    jvp=[lambda t, ans, x, y: t * x / ans, lambda t, ans, x, y: t * y / ans],
    vjp_joint=_hypot_joint, reads=("ans", 0, 1), batch="elementwise",
    test={"domain": [(0.5, 2.0), (0.5, 2.0)]},
)


def test_a_user_row_with_only_a_joint_vjp_works_in_every_mode():
    x, y = np.array([0.5, 1.5]), np.array([2.0, 0.7])
    check_grads(lambda x, y: _hypot(x, y), (x, y), order=2)
    jac = fgrad.jacrev(_hypot, argnums=1)(x, y)
    np.testing.assert_allclose(jac, np.diag(y / np.hypot(x, y)), rtol=1e-14)
    np.testing.assert_allclose(  # vmap of grad against a loop
        fgrad.vmap(fgrad.grad(lambda a, b: _hypot(a, b)))(x, y),
        [fgrad.grad(lambda a, b: _hypot(a, b))(a, b) for a, b in zip(x, y)])


def test_a_joint_vjp_returning_the_wrong_count_is_refused():
    bad = defprim(
        "test_joint_bad_count", lambda x, y: x + y,
        jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: t],
        vjp_joint=lambda g, ans, x, y, *, wrt: (g,), reads=(), batch="elementwise",
        test={"skip": "refused on purpose (tests/test_joint_vjp.py)"},
    )
    with pytest.raises(TypeError, match="one cotangent per position"):
        fgrad.grad(lambda x: bad(x, x))(1.0)
