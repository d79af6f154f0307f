"""Reverse mode's savings: recomputed values, in-place and indexed cotangent sums.

On large arrays the tape may store how to recompute a cheap value instead of the
value (``fgrad.autodiff.REMAT_*``), the backward pass adds cotangents into arrays
it alone owns, and the cotangent of ``x[idx]`` is kept as its indexed part
(``fgrad.autodiff.IndexedCotangent``).  None may change the results.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.autodiff as ad
import fgrad.numpy as fnp
from fgrad.api import _reverse
from fgrad.core import defprim

N = 40_000  # 320 kB per float64 array: above REMAT_MIN_BYTES


@pytest.fixture
def no_remat(monkeypatch):
    def off():
        monkeypatch.setattr(ad, "REMAT_SHARE", 0.0)

    return off


def chain(x):
    """The benchmark's 20-operation elementwise chain."""
    y = fnp.tanh(fnp.sin(x) * 1.5 + 0.25)
    y = fnp.log(fnp.exp(-(y * y)) + 1.0)
    y = fnp.cos(fnp.sqrt(y + 1.0)) * x
    y = fnp.tanh(y / (x * x + 1.0)) - 0.5
    return fnp.exp(y * 0.9)


def loss(x):
    return fnp.sum(chain(x))


def x_large(seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, N)


def recomputed_entries(fun, x):
    trace = _reverse(fun, (x,), {}, (0,), False, "vjp")[0]
    found = [
        a
        for entry in trace.tape
        if type(entry[3]) is ad._SavedWithRemat
        for a in entry[3]
        if type(a) is ad._Remat
    ]
    return trace, found


def test_gradient_is_bit_identical_with_and_without_recomputation(no_remat):
    x = x_large()
    trace, found = recomputed_entries(loss, x)
    assert found, "the chain should have recomputed values"
    g = fgrad.grad(loss)(x)
    no_remat()
    assert not recomputed_entries(loss, x)[1]
    np.testing.assert_array_equal(g, fgrad.grad(loss)(x))
    # and it is the derivative: central differences of the elementwise map
    h = 1e-6
    fd = (chain(x + h) - chain(x - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_recomputation_lowers_the_peak_memory_of_grad(no_remat, peak_bytes):
    x = x_large()
    g = fgrad.grad(loss)
    with_remat = peak_bytes(lambda: g(x))
    no_remat()
    without = peak_bytes(lambda: g(x))
    # at least one fewer array of x's size alive at the peak
    assert with_remat <= without - x.nbytes, (with_remat, without)


def test_recomputation_stays_within_its_budgets():
    def sines(x):
        for _ in range(40):
            x = fnp.sin(x)
        return fnp.sum(x)

    for fun in (loss, sines):
        trace, found = recomputed_entries(fun, x_large())
        assert found
        assert all(r.ops <= ad.REMAT_MAX_OPS for r in found)
        assert trace.rework <= ad.REMAT_SHARE * trace.work
        assert trace.rework == sum(r.cost for r in {id(r): r for r in found}.values())


def test_small_arrays_and_nested_transforms_record_no_recipes():
    small = x_large()[:100]
    assert recomputed_entries(loss, small)[0].recipes == 0
    # under an enclosing transform the values are tracers: nothing is recomputed,
    # and second derivatives agree with the same computation on small arrays
    x = x_large()
    hvp = fgrad.grad(lambda x: fnp.vdot(fgrad.grad(loss)(x), np.ones(N)))(x)
    hvp_small = fgrad.grad(lambda x: fnp.vdot(fgrad.grad(loss)(x), np.ones(100)))(small)
    np.testing.assert_array_equal(hvp[:100], hvp_small)


def test_a_vjp_function_recomputes_on_every_call():
    x = x_large()
    out, f_vjp = fgrad.vjp(chain, x)
    ct = np.random.default_rng(1).standard_normal(N)
    ct_copy = ct.copy()
    first = f_vjp(ct)[0]
    np.testing.assert_array_equal(f_vjp(ct)[0], first)
    np.testing.assert_array_equal(ct, ct_copy)  # the caller's cotangent is untouched
    np.testing.assert_array_equal(first, fgrad.grad(lambda x: fnp.vdot(chain(x), ct))(x))


UNARY = {
    "sin": (fnp.sin, np.cos),
    "cos": (fnp.cos, lambda v: -np.sin(v)),
    "tanh": (fnp.tanh, lambda v: 1 - np.tanh(v) ** 2),
    "exp_half": (lambda v: fnp.exp(0.5 * v), lambda v: 0.5 * np.exp(0.5 * v)),
    "square": (fnp.square, lambda v: 2 * v),
    "neg": (fnp.negative, lambda v: -np.ones_like(v)),
    "scale": (lambda v: 1.3 * v + 0.1, lambda v: np.full_like(v, 1.3)),
}


@given(st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=12), st.integers(0, 3))
def test_random_unary_chains_match_the_chain_rule_exactly_with_and_without(ops, seed):
    x = x_large(seed) * 0.5

    def f(v):
        for name in ops:
            v = UNARY[name][0](v)
        return fnp.sum(v)

    d, v = np.ones(N), x
    for name in ops:  # the chain rule, by hand
        d = d * UNARY[name][1](v)
        v = np.asarray(UNARY[name][0](v))
    g = fgrad.grad(f)(x)
    np.testing.assert_allclose(g, d, rtol=1e-12, atol=1e-12)
    share = ad.REMAT_SHARE
    ad.REMAT_SHARE = 0.0
    try:
        np.testing.assert_array_equal(g, fgrad.grad(f)(x))
    finally:
        ad.REMAT_SHARE = share


@given(st.integers(1, 4), st.sampled_from([10, N]))
def test_cotangent_sums_in_place_never_touch_shared_arrays(k, n):
    # x reaches the output along several paths, some of whose rules hand the same
    # cotangent object to two parents (add) or return it unchanged
    x = x_large()[:n]

    def f(x):
        y = x + x
        for i in range(k):
            y = y + x * (i + 1.0) + fnp.sin(x)
        return y

    out, f_vjp = fgrad.vjp(f, x)
    ct = np.linspace(-1.0, 1.0, n)
    ct_copy = ct.copy()
    (gx,) = f_vjp(ct)
    expected = ct * (2 + sum(i + 1.0 for i in range(k)) + k * np.cos(x))
    np.testing.assert_allclose(gx, expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(ct, ct_copy)
    np.testing.assert_array_equal(f_vjp(ct)[0], gx)


@pytest.mark.parametrize(
    "f, times",
    [
        (lambda x: x + x, 2.0),  # add hands the caller's cotangent to both parents
        (lambda x: fnp.reshape(x, x.shape) + fnp.positive(x), 2.0),
        (lambda x: x + x + x, 3.0),
        (lambda x: x - (-x), 2.0),
    ],
)
def test_the_callers_cotangent_is_never_summed_into(f, times):
    x = x_large()
    ct = np.random.default_rng(2).standard_normal(N)
    ct_copy = ct.copy()
    (gx,) = fgrad.vjp(f, x)[1](ct)
    np.testing.assert_array_equal(ct, ct_copy)
    np.testing.assert_allclose(gx, times * ct, rtol=1e-15)


# Arrays a rule returns that someone else holds: a global a custom bwd returns, the
# caller's cotangent handed back unchanged by a user's rule.  The backward pass may add
# in place only into arrays it allocated itself; adding into these would change the
# user's data and, when the same array arrives twice, double the gradient.
KEPT = np.array([0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])


@fgrad.custom_vjp
def _returns_a_global(x):
    return x * 1.0


_returns_a_global.defvjp(lambda x: (x * 1.0, None), lambda res, g: (KEPT,))

_identity_rule = defprim(
    "test_remat_identity_vjp_returns_g", lambda x: x * 1.0,
    jvp=[lambda t, ans, x: t], vjp=[lambda g, ans, x: g], reads=(), batch="elementwise",
    test={"skip": "a test row: its vjp hands back g (tests/test_remat.py)"},
)


@pytest.mark.parametrize("kept_first", [True, False])
def test_a_global_returned_by_a_custom_bwd_is_never_summed_into(kept_first):
    kept = KEPT.copy()

    def f(x):
        if kept_first:
            return fnp.sum(_returns_a_global(x)) + fnp.sum(fnp.sin(x))
        return fnp.sum(fnp.sin(x)) + fnp.sum(_returns_a_global(x))

    x = np.linspace(-1.0, 1.0, 7)
    g = fgrad.grad(f)
    for _ in range(2):  # a second call must see the same global
        np.testing.assert_allclose(g(x), kept + np.cos(x), rtol=1e-15)
        np.testing.assert_array_equal(KEPT, kept)


@pytest.mark.parametrize("rule_first", [True, False])
def test_the_cotangent_a_user_rule_hands_back_is_never_summed_into(rule_first):
    x = np.linspace(-1.0, 1.0, 9)
    ct = np.random.default_rng(3).standard_normal(9)
    ct_copy = ct.copy()

    def f(x):
        if rule_first:
            return _identity_rule(x) + fnp.sin(x)
        return fnp.sin(x) + _identity_rule(x)

    _, f_vjp = fgrad.vjp(f, x)
    for _ in range(2):
        np.testing.assert_allclose(f_vjp(ct)[0], ct_copy * (1.0 + np.cos(x)), rtol=1e-15)
        np.testing.assert_array_equal(ct, ct_copy)


def test_cotangent_sums_reuse_the_rules_fresh_arrays(monkeypatch, peak_bytes):
    # x feeds many terms: its cotangent is summed once per term, in place into an array
    # the backward pass owns (a fresh row's result, or its own sum); without that,
    # every sum allocates one more
    def f(x):
        y = fnp.sin(x)
        for c in (0.5, 1.5, 2.5):
            y = y + fnp.sin(x * c)
        return fnp.sum(y)

    x = x_large()
    g = fgrad.grad(f)
    in_place = peak_bytes(lambda: g(x))
    expected = g(x)
    monkeypatch.setattr(ad, "_add_cotangents", lambda prev, _, c, __: (c + prev, 0))
    copied = peak_bytes(lambda: g(x))
    np.testing.assert_array_equal(g(x), expected)
    assert in_place < copied - x.nbytes // 2, (in_place, copied)  # one array fewer


# --- indexed cotangents: x[idx] in a loop ----------------------------------------------------


@pytest.fixture
def dense_getitem(monkeypatch):
    from fgrad.core import PRIMITIVES

    def off():
        monkeypatch.setattr(PRIMITIVES["getitem"], "indexed", False)

    return off


INDEXES = [3, -1, (1, 2), (slice(1, 3), 0), slice(None, None, 2), np.array([0, 2, 2, 3]),
           (np.array([1, 1]), np.array([0, 0])), np.array([[True, False, True]] * 4), Ellipsis]


@pytest.mark.parametrize("idx", INDEXES, ids=range(len(INDEXES)))
def test_indexed_cotangents_match_the_dense_scatter(idx, dense_getitem):
    x = np.random.default_rng(6).standard_normal((4, 3))

    def f(x):  # x read through idx several times, and densely too
        total = fnp.sum(fnp.sin(x[idx]) * x[idx]) + fnp.sum(x * x)
        for k in range(3):
            total = total + fnp.sum(x[idx] ** (k + 1))
        return total

    g = fgrad.grad(f)(x)
    out, f_vjp = fgrad.vjp(f, x)
    np.testing.assert_array_equal(f_vjp(1.0)[0], g)  # a vjp function, called again
    dense_getitem()
    np.testing.assert_allclose(g, fgrad.grad(f)(x), rtol=1e-14, atol=1e-14)
    fgrad.check_grads(f, (x,), order=2)


def test_a_loop_over_elements_gives_the_analytic_gradient_in_every_dtype():
    for dtype in (np.float64, np.float32, np.complex128):
        x = (np.arange(1.0, 41.0) / 7).astype(dtype)

        def f(x):
            s = 0.0
            for i in range(len(x)):
                s = s + x[i] * x[i] * 0.5 + x[-1 - i] * 2.0
            return fnp.real(s) if dtype == np.complex128 else s

        g = fgrad.grad(f)(x)
        assert g.dtype == x.dtype and g.shape == x.shape
        want = np.conj(x) + 2.0 if dtype == np.complex128 else x + 2.0
        np.testing.assert_allclose(g, want, rtol=1e-6 if dtype == np.float32 else 1e-14)
    # second order goes through the dense rule (the cotangents are tracers there)
    x = np.linspace(0.5, 2.0, 6)
    h = fgrad.hessian(lambda x: sum(x[i] ** 3 for i in range(6)))(x)
    np.testing.assert_allclose(h, np.diag(6 * x), rtol=1e-14)


def test_a_loop_over_elements_costs_linear_time_in_the_backward_pass():
    # the backward pass builds no x-sized array per x[i]: count numpy's zeros calls
    from fgrad import autodiff

    calls = []
    real_zeros = np.zeros

    class CountingNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def zeros(*args, **kwargs):
            calls.append(args)
            return real_zeros(*args, **kwargs)

    from fgrad.primitives import shape

    x = np.linspace(0.0, 1.0, 200)
    modules = (autodiff, shape)  # the backward pass, and getitem's dense vjp rule
    for module in modules:
        module.np = CountingNumpy()
    try:
        g = fgrad.grad(lambda x: sum(x[i] * x[i] for i in range(200)))(x)
    finally:
        for module in modules:
            module.np = np
    np.testing.assert_allclose(g, 2 * x, rtol=1e-15)
    assert len(calls) <= 1, len(calls)  # one dense array at the end, not one per step


def test_indexed_cotangents_meet_batched_ones_under_vmap():
    # under vmap some cotangents reaching x are batched tracers, others plain numbers
    # (x[2] only meets the seed): the indexed part and the traced part add up
    ps = np.random.default_rng(8).standard_normal((5, 3))
    f = lambda p: (p[0] * p[1] + p[2] + fnp.sum(p[1:] ** 2)).sum()
    got = fgrad.vmap(fgrad.grad(f))(ps)
    np.testing.assert_allclose(got, np.stack([fgrad.grad(f)(p) for p in ps]), rtol=1e-15)
    want = np.stack([ps[:, 1], ps[:, 0] + 2 * ps[:, 1], 1 + 2 * ps[:, 2]], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(fgrad.jacrev(fgrad.grad(f))(ps[0]),
                               fgrad.hessian(f)(ps[0]), rtol=1e-14)
