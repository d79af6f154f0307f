"""fgrad.scipy.linalg.lu / lu_factor / qr under vmap (issue 16): the pivots and the
signs are chosen per example, so vmap equals a Python loop, also for vmap of grad."""

from __future__ import annotations

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

pytest.importorskip("scipy.linalg")
from fgrad.scipy import linalg as fl  # noqa: E402

RNG = np.random.default_rng(7)
# different examples need different pivots (the max of column 0 moves around)
STACK = RNG.standard_normal((5, 4, 4))


def _compare(f, xs):
    batched = fgrad.vmap(f)(xs)
    looped = [f(x) for x in xs]
    if not isinstance(batched, tuple):
        batched, looped = (batched,), [(out,) for out in looped]
    for k, b in enumerate(batched):
        want = np.stack([np.asarray(out[k]) for out in looped])
        np.testing.assert_allclose(b, want, rtol=1e-12, atol=1e-12)
        assert np.asarray(b).dtype == want.dtype


@pytest.mark.parametrize("options", [{}, {"permute_l": True}, {"p_indices": True}])
def test_lu_under_vmap_matches_a_loop(options):
    assert len({int(np.argmax(np.abs(a[:, 0]))) for a in STACK}) > 1
    _compare(lambda a: fl.lu(a, **options), STACK)


def test_lu_factor_under_vmap_matches_a_loop():
    _compare(fl.lu_factor, STACK)


def _lu_loss(a):
    p, low, up = fl.lu(a)
    return fnp.sum(fnp.sin(low)) + fnp.sum(up * up)


def test_vmap_of_grad_of_lu_matches_a_loop():
    _compare(fgrad.grad(_lu_loss), STACK)
    _compare(fgrad.grad(lambda a: fnp.sum(fl.lu_factor(a)[0] ** 2)), STACK)


def test_grad_of_vmap_of_lu_matches_a_loop():
    g = fgrad.grad(lambda s: fnp.sum(fgrad.vmap(_lu_loss)(s)))(STACK)
    np.testing.assert_allclose(g, [fgrad.grad(_lu_loss)(a) for a in STACK], rtol=1e-12)


@pytest.mark.parametrize("shape, options", [
    ((4, 4), {}), ((5, 3), {"mode": "economic"}), ((5, 3), {"mode": "r"}),
    ((3, 5), {}), ((4, 4), {"pivoting": True}), ((5, 3), {"mode": "economic", "pivoting": True}),
])
def test_qr_under_vmap_matches_a_loop(shape, options):
    xs = RNG.standard_normal((4,) + shape)
    _compare(lambda a: fl.qr(a, **options), xs)


@pytest.mark.parametrize("shape, options", [
    ((4, 4), {}), ((5, 3), {"mode": "economic"}), ((5, 3), {"mode": "r"}),
    ((4, 4), {"pivoting": True}),
])
def test_vmap_of_grad_of_qr_matches_a_loop(shape, options):
    xs = RNG.standard_normal((4,) + shape)

    def loss(a):
        out = fl.qr(a, **options)
        r = out[0] if options.get("mode") == "r" else out[1]
        q = None if options.get("mode") == "r" else out[0]
        total = fnp.sum(fnp.tanh(r))
        return total if q is None else total + fnp.sum(q[0] * fnp.arange(q.shape[-1]))

    _compare(fgrad.grad(loss), xs)


@pytest.mark.parametrize("scipy_batches", [True, False])
def test_solve_triangular_and_cholesky_under_vmap_on_either_scipy(monkeypatch, scipy_batches):
    # scipy < 1.16 rejects stacks of matrices: the rows then loop themselves.  Both paths
    # are run here on the installed scipy (the batched one only where scipy batches).
    from fgrad.primitives import special as rows

    if scipy_batches and not rows.scipy_linalg_batches():
        pytest.skip("the installed scipy does not take stacks of matrices (scipy < 1.16)")
    monkeypatch.setitem(rows._SCIPY, "linalg batches", scipy_batches)
    spd = STACK @ np.swapaxes(STACK, -1, -2) + 4 * np.eye(4)
    rhs = RNG.standard_normal((5, 4, 2))
    _compare(lambda a: fl.cholesky(a, lower=True), spd)
    _compare(lambda a: fl.solve_triangular(fl.cholesky(a), a[:, :2], trans=1), spd)
    _compare(lambda b: fl.solve_triangular(fl.cholesky(spd[0]), b), rhs)
    _compare(lambda b: fl.solve_triangular(fl.cholesky(spd[0]), b[:, 0]), rhs)
    grads = fgrad.vmap(fgrad.grad(lambda a: fnp.sum(fl.cholesky(a, lower=True))))(spd)
    loop = [fgrad.grad(lambda a: fnp.sum(fl.cholesky(a, lower=True)))(a) for a in spd]
    np.testing.assert_allclose(grads, np.stack(loop), rtol=1e-10, atol=1e-12)
