"""fgrad.optimizers: each optimizer's first steps against the papers' formulas written
out in plain numpy here, schedules against their formulas, clipping, chain order,
convergence on convex problems, pytrees, and vmap over a batch of problems."""

import math

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad import optimizers as optim

RNG = np.random.default_rng(0)
GRADS = [RNG.normal(size=3) for _ in range(5)]
P0 = RNG.normal(size=3)


def run(opt, grads=GRADS, p0=P0):
    """Parameters after each step, feeding the given gradients in turn."""
    p, state, out = p0.copy(), opt.init(p0), []
    for g in grads:
        u, state = opt.update(g, state, p)
        p = optim.apply_updates(p, u)
        out.append(p)
    return out


# ---- independent numpy references -------------------------------------------------------


def ref_sgd(lr, mu=None, nesterov=False):
    p, b, out = P0.copy(), np.zeros(3), []
    for g in GRADS:
        if mu is None:
            step = g
        else:
            b = mu * b + g
            step = g + mu * b if nesterov else b
        p = p - lr * step
        out.append(p)
    return out


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    p, m, v, out = P0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * (mhat / (np.sqrt(vhat) + eps) + wd * p)
        out.append(p)
    return out


def ref_rmsprop(lr, rho, eps, centered=False, mu=None):
    p, v, a, b, out = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for g in GRADS:
        v = rho * v + (1 - rho) * g ** 2
        a = rho * a + (1 - rho) * g
        denom = np.sqrt(v - a ** 2 if centered else v) + eps
        step = g / denom
        if mu is not None:
            b = mu * b + step
            step = b
        p = p - lr * step
        out.append(p)
    return out


def ref_adagrad(lr, s0, eps):
    p, s, out = P0.copy(), np.full(3, s0), []
    for g in GRADS:
        s = s + g ** 2
        p = p - lr * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


CASES = [
    ("sgd", lambda: optim.sgd(0.1), lambda: ref_sgd(0.1)),
    ("momentum", lambda: optim.sgd(0.1, momentum=0.9), lambda: ref_sgd(0.1, 0.9)),
    ("nesterov", lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
     lambda: ref_sgd(0.1, 0.9, True)),
    ("adam", lambda: optim.adam(0.01), lambda: ref_adam(0.01)),
    ("adam-b", lambda: optim.adam(0.2, b1=0.5, b2=0.8, eps=1e-3),
     lambda: ref_adam(0.2, 0.5, 0.8, 1e-3)),
    ("adamw", lambda: optim.adamw(0.05, weight_decay=0.3), lambda: ref_adam(0.05, wd=0.3)),
    ("rmsprop", lambda: optim.rmsprop(0.01, decay=0.9, eps=1e-6),
     lambda: ref_rmsprop(0.01, 0.9, 1e-6)),
    ("rmsprop-centered", lambda: optim.rmsprop(0.01, decay=0.9, eps=1e-6, centered=True),
     lambda: ref_rmsprop(0.01, 0.9, 1e-6, centered=True)),
    ("rmsprop-momentum", lambda: optim.rmsprop(0.01, decay=0.8, eps=1e-6, momentum=0.5),
     lambda: ref_rmsprop(0.01, 0.8, 1e-6, mu=0.5)),
    ("adagrad", lambda: optim.adagrad(0.5, initial_accumulator_value=0.1, eps=1e-7),
     lambda: ref_adagrad(0.5, 0.1, 1e-7)),
]


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
def test_first_steps_follow_the_formula(name, make, ref):
    for got, want in zip(run(make()), ref()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_adam_first_step_is_minus_lr_times_sign():
    # m̂ = g and v̂ = g² after one step: the update is -lr * g / (|g| + eps)
    p = run(optim.adam(0.3, eps=0.0), GRADS[:1])[0]
    np.testing.assert_allclose(p, P0 - 0.3 * np.sign(GRADS[0]))


def test_adamw_decay_is_decoupled_from_the_moments():
    # with zero gradients Adam's direction is 0 and only the decay moves the weights
    p = run(optim.adamw(0.1, weight_decay=0.5), [np.zeros(3)] * 3)
    np.testing.assert_allclose(p[-1], P0 * (1 - 0.1 * 0.5) ** 3)
    # while adding the decay to the gradient (L2 into Adam) normalises it away
    l2 = optim.chain(optim.add_decayed_weights(0.5), optim.adam(0.1))
    assert not np.allclose(run(l2, [np.zeros(3)] * 3)[-1], p[-1])


def test_adamw_mask_leaves_masked_leaves_alone():
    params = {"w": np.ones(2), "b": np.ones(2)}
    zeros = {"w": np.zeros(2), "b": np.zeros(2)}
    for mask in ({"w": True, "b": False}, lambda p: {"w": True, "b": False}):
        opt = optim.adamw(0.1, weight_decay=1.0, mask=mask)
        u, _ = opt.update(zeros, opt.init(params), params)
        np.testing.assert_allclose(u["w"], -0.1)
        np.testing.assert_allclose(u["b"], 0.0)


def test_schedule_as_learning_rate():
    sched = optim.exponential_decay(0.1, transition_steps=1, decay_rate=0.5)
    p = run(optim.sgd(sched))
    want, q = [], P0.copy()
    for k, g in enumerate(GRADS):
        q = q - 0.1 * 0.5 ** k * g
        want.append(q)
    np.testing.assert_allclose(p, want)
    # and in adam: step k uses sched(k)
    p = run(optim.adam(sched))
    q, m, v = P0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        q = q - 0.1 * 0.5 ** (t - 1) * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p[-1], q)


# ---- schedules --------------------------------------------------------------------------


def test_schedules_follow_their_formulas():
    counts = range(0, 40)
    s = optim.constant_schedule(0.3)
    assert all(s(k) == 0.3 for k in counts)
    s = optim.exponential_decay(2.0, transition_steps=7, decay_rate=0.6, transition_begin=3)
    for k in counts:
        assert math.isclose(float(s(k)), 2.0 * 0.6 ** (max(k - 3, 0) / 7))
    s = optim.exponential_decay(2.0, 7, 0.6, staircase=True, end_value=0.5)
    for k in counts:
        assert math.isclose(float(s(k)), max(2.0 * 0.6 ** (k // 7), 0.5))
    s = optim.cosine_decay_schedule(1.5, decay_steps=20, alpha=0.2)
    for k in counts:
        c = 0.5 * (1 + math.cos(math.pi * min(k, 20) / 20))
        assert math.isclose(float(s(k)), 1.5 * (0.8 * c + 0.2))
    s = optim.linear_schedule(1.0, 0.0, transition_steps=10, transition_begin=5)
    for k in counts:
        assert math.isclose(float(s(k)), 1.0 - min(max(k - 5, 0), 10) / 10, abs_tol=1e-15)
    s = optim.warmup_cosine_decay_schedule(0.1, 1.0, warmup_steps=8, decay_steps=30,
                                           end_value=0.05)
    for k in counts:
        if k < 8:
            want = 0.1 + 0.9 * k / 8
        else:
            want = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(k - 8, 22) / 22))
        assert math.isclose(float(s(k)), want, abs_tol=1e-15), k


def test_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="decay_steps"):
        optim.warmup_cosine_decay_schedule(0.0, 1.0, 10, 5)
    with pytest.raises(TypeError, match="transition_steps must be an int"):
        optim.exponential_decay(1.0, 2.5, 0.5)
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        optim.adam(-1.0)
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        optim.sgd("0.1")
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        optim.sgd(0.1, nesterov=True)


# ---- clipping and chain -----------------------------------------------------------------


def test_clip_by_global_norm():
    tree = {"a": np.array([3.0, 0.0]), "b": (np.array([[4.0]]),)}
    assert math.isclose(float(optim.global_norm(tree)), 5.0)
    out, _ = optim.clip_by_global_norm(2.0).update(tree, optim.EmptyState())
    np.testing.assert_allclose(out["a"], [1.2, 0.0])
    np.testing.assert_allclose(out["b"][0], [[1.6]])
    assert math.isclose(float(optim.global_norm(out)), 2.0)
    same, _ = optim.clip_by_global_norm(10.0).update(tree, optim.EmptyState())
    np.testing.assert_allclose(same["a"], tree["a"])
    np.testing.assert_allclose(same["b"][0], tree["b"][0])


def test_clip_elementwise():
    out, _ = optim.clip(0.5).update([np.array([-2.0, 0.1, 0.7])], optim.EmptyState())
    np.testing.assert_allclose(out[0], [-0.5, 0.1, 0.5])


def test_chain_applies_in_order():
    g = np.array([3.0, 4.0])
    clip_then_scale = optim.chain(optim.clip_by_global_norm(1.0), optim.scale(10.0))
    scale_then_clip = optim.chain(optim.scale(10.0), optim.clip_by_global_norm(1.0))
    a, _ = clip_then_scale.update(g, clip_then_scale.init(g))
    b, _ = scale_then_clip.update(g, scale_then_clip.init(g))
    np.testing.assert_allclose(a, [6.0, 8.0])
    np.testing.assert_allclose(b, [0.6, 0.8])


def test_chain_state_is_the_tuple_of_states():
    opt = optim.chain(optim.trace(0.5), optim.scale_by_adam())
    state = opt.init({"w": np.zeros(2)})
    assert isinstance(state, tuple) and len(state) == 2
    assert isinstance(state[0], optim.TraceState) and isinstance(state[1], optim.ScaleByAdamState)
    with pytest.raises(TypeError, match="tuple of 2 states"):
        opt.update({"w": np.zeros(2)}, state[0])
    with pytest.raises(TypeError, match="GradientTransformations"):
        optim.chain(optim.scale(1.0), "adam")


def test_mismatched_structures_are_refused():
    opt = optim.adam(0.1)
    state = opt.init({"w": np.zeros(2)})
    with pytest.raises(TypeError, match="structure"):
        opt.update({"v": np.zeros(2)}, state)
    with pytest.raises(TypeError, match="apply_updates"):
        optim.apply_updates({"w": 1.0}, {"w": 1.0, "b": 2.0})
    # another optimizer's state
    sgd_state = optim.sgd(0.1, momentum=0.9).init({"w": np.zeros(2)})
    with pytest.raises(TypeError, match="ScaleByAdamState"):
        opt.update({"w": np.zeros(2)}, sgd_state)
    with pytest.raises(ValueError, match="needs the parameters"):
        optim.adamw(0.1).update({"w": np.zeros(2)}, optim.adamw(0.1).init({"w": np.zeros(2)}))


# ---- convergence, pytrees, grads from fgrad ---------------------------------------------


def _train(opt, loss, params, steps):
    state = opt.init(params)
    g = fgrad.grad(loss)
    for _ in range(steps):
        updates, state = opt.update(g(params), state, params)
        params = optim.apply_updates(params, updates)
    return params


A = RNG.normal(size=(6, 4))
Q = A.T @ A + 0.5 * np.eye(4)
B = RNG.normal(size=4)
X_STAR = np.linalg.solve(Q, B)


def quadratic(params):
    x = fnp.concatenate([params["a"]["x"], params["b"][0]])
    return 0.5 * x @ Q @ x - B @ x


@pytest.mark.parametrize("opt", [
    optim.sgd(0.05), optim.sgd(0.02, momentum=0.9), optim.sgd(0.02, momentum=0.9, nesterov=True),
    optim.adam(0.05), optim.adamw(0.05, weight_decay=0.0),
    optim.rmsprop(optim.exponential_decay(0.01, 300, 0.5), centered=True),
    optim.adagrad(0.5), optim.chain(optim.clip_by_global_norm(1.0), optim.adam(0.05)),
    optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.1, 50, 3000)),
], ids=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "clip+adam",
        "adam+schedule"])
def test_converges_on_a_quadratic_given_as_a_pytree(opt):
    params = {"a": {"x": np.zeros(2)}, "b": (np.zeros(2),)}
    params = _train(opt, quadratic, params, 3000)
    assert set(params) == {"a", "b"} and isinstance(params["b"], tuple)
    x = np.concatenate([params["a"]["x"], params["b"][0]])
    np.testing.assert_allclose(x, X_STAR, atol=2e-3)


def test_logistic_regression_converges_to_scipys_optimum():
    import scipy.optimize

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=80) > 0).astype(float)

    def loss(params):
        z = X @ params["w"] + params["b"]
        return fnp.mean(fnp.logaddexp(0.0, z) - y * z) + 0.01 * fnp.sum(params["w"] ** 2)

    def plain(theta):
        z = X @ theta[:3] + theta[3]
        return np.mean(np.logaddexp(0.0, z) - y * z) + 0.01 * np.sum(theta[:3] ** 2)

    ref = scipy.optimize.minimize(plain, np.zeros(4), method="BFGS", tol=1e-12).x
    params = _train(optim.adam(0.05), loss, {"w": np.zeros(3), "b": np.float64(0.0)}, 2000)
    np.testing.assert_allclose(np.append(params["w"], params["b"]), ref, atol=1e-4)


def test_dtype_of_parameters_is_kept():
    p = {"w": np.ones(3, np.float32)}
    out = _train(optim.adam(0.1), lambda p: fnp.sum(p["w"] ** 2), p, 3)
    assert out["w"].dtype == np.float32


def test_vmap_over_a_batch_of_problems():
    # five quadratics with different centres, optimised together under one vmap
    centres = RNG.normal(size=(5, 3))
    opt = optim.chain(optim.clip_by_global_norm(5.0),
                      optim.adam(optim.cosine_decay_schedule(0.1, 100)))

    def loss(p, c):
        return fnp.sum((p - c) ** 2) + 0.1 * fnp.sum(p ** 4)

    def step(p, state, c):
        updates, state = opt.update(fgrad.grad(loss)(p, c), state, p)
        return optim.apply_updates(p, updates), state

    params = np.zeros((5, 3))
    state = fgrad.vmap(opt.init)(params)
    for _ in range(20):
        params, state = fgrad.vmap(step)(params, state, centres)
    # the same steps one problem at a time
    for k in range(5):
        p, s = np.zeros(3), opt.init(np.zeros(3))
        for _ in range(20):
            p, s = step(p, s, centres[k])
        np.testing.assert_allclose(params[k], p, rtol=1e-12, atol=1e-14)
