"""fgrad.scipy.linalg: solve_banded and solveh_banded (issue 11), and the factor/solve pairs
cho_factor/cho_solve and lu_factor/lu_solve in every argument, both modes, under vmap."""

from __future__ import annotations

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

sl = pytest.importorskip("scipy.linalg")
from fgrad.scipy import linalg as fl  # noqa: E402

RNG = np.random.default_rng(11)


def _loop_vs_vmap(f, *args, in_axes=0):
    got = fgrad.vmap(f, in_axes=in_axes)(*args)
    axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    want = np.stack([f(*[a if ax is None else np.take(a, i, axis=ax)
                         for a, ax in zip(args, axes)]) for i in range(size)])
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)


# --- lu_factor / lu_solve ----------------------------------------------------------------------

STACK = RNG.standard_normal((5, 4, 4))  # the pivots differ between the examples


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_lu_solve_under_vmap_with_batched_pivots(trans):
    assert len({tuple(sl.lu_factor(a)[1]) for a in STACK}) > 1
    b, bs = RNG.standard_normal(4), RNG.standard_normal((5, 4, 2))
    _loop_vs_vmap(lambda a: fl.lu_solve(fl.lu_factor(a), b, trans=trans), STACK)
    _loop_vs_vmap(lambda a, y: fl.lu_solve(fl.lu_factor(a), y, trans=trans), STACK, bs)
    # plain factors and pivots, batched
    lus = np.stack([sl.lu_factor(a)[0] for a in STACK])
    pivs = np.stack([sl.lu_factor(a)[1] for a in STACK])
    got = fgrad.vmap(lambda lu, p, y: fl.lu_solve((lu, p), y, trans=trans))(lus, pivs, bs)
    want = [sl.lu_solve((lu, p), y, trans=trans) for lu, p, y in zip(lus, pivs, bs)]
    np.testing.assert_allclose(got, want, rtol=1e-11)
    # vmap of grad equals a loop of grads
    _loop_vs_vmap(fgrad.grad(lambda a: fnp.sum(fl.lu_solve(fl.lu_factor(a), b, trans=trans) ** 2)),
                  STACK)


@pytest.mark.parametrize("trans", [0, 1, 2])
def test_lu_solve_in_the_factor_itself(trans):
    a = RNG.standard_normal((4, 4)) + 3 * np.eye(4)
    lu, piv = sl.lu_factor(a)
    b = RNG.standard_normal((4, 2))
    f = lambda lu_, y: fl.lu_solve((lu_, piv), y, trans=trans)  # noqa: E731
    np.testing.assert_allclose(f(fnp.asarray(lu) + 0 * fgrad.numpy.zeros(1), b),
                               sl.lu_solve((lu, piv), b, trans=trans), rtol=1e-12)
    fgrad.check_grads(f, (lu, b), order=2, modes=("fwd", "rev"))
    az = a + 0.5j * RNG.standard_normal((4, 4))
    luz, pivz = sl.lu_factor(az)
    fgrad.check_grads(lambda lu_, y: fl.lu_solve((lu_, pivz), y, trans=trans),
                      (luz, b + 0j), order=2, modes=("fwd", "rev"))


def test_lu_factor_and_solve_to_order_two_both_modes():
    a = RNG.standard_normal((4, 4)) + 3 * np.eye(4)
    b = RNG.standard_normal(4)
    for trans in (0, 1, 2):
        fgrad.check_grads(lambda x, y: fl.lu_solve(fl.lu_factor(x), y, trans=trans), (a, b),
                          order=2, modes=("fwd", "rev"))
    fgrad.check_grads(lambda x: fl.lu_factor(x)[0], (a,), order=2, modes=("fwd", "rev"))


def test_cho_factor_and_solve_in_every_argument():
    m = RNG.standard_normal((4, 4))
    a = m @ m.T + 4 * np.eye(4)
    b = RNG.standard_normal((4, 2))
    for lower in (False, True):
        # through the factorisation, and in the factor itself
        fgrad.check_grads(lambda x, y: fl.cho_solve(fl.cho_factor(x, lower=lower), y), (a, b),
                          order=2, modes=("fwd", "rev"))
        # the factor's triangle (scipy leaves the input's entries in the other one)
        tri = fnp.tril if lower else fnp.triu
        fgrad.check_grads(lambda x: tri(fl.cho_factor(x, lower=lower)[0]), (a,), order=2,
                          modes=("fwd", "rev"))
        c = sl.cholesky(a, lower=lower)
        fgrad.check_grads(lambda c_, y: fl.cho_solve((c_, lower), y), (c, b), order=2,
                          modes=("fwd", "rev"))
        got = fgrad.vjp(lambda c_, y: fl.cho_solve((c_, lower), y), c, b)[0]
        np.testing.assert_allclose(got, sl.cho_solve((c, lower), b), rtol=1e-12)


def test_cho_factor_and_solve_under_vmap():
    ms = RNG.standard_normal((4, 3, 3))
    As = ms @ np.swapaxes(ms, -1, -2) + 3 * np.eye(3)
    bs = RNG.standard_normal((4, 3))
    for lower in (False, True):
        _loop_vs_vmap(lambda x, y: fl.cho_solve(fl.cho_factor(x, lower=lower), y), As, bs)
        _loop_vs_vmap(lambda x: fl.cho_solve(fl.cho_factor(x, lower=lower), bs[0]), As)
        _loop_vs_vmap(fgrad.grad(lambda x: fnp.sum(fl.cho_solve(fl.cho_factor(x, lower=lower),
                                                                 bs[0]) ** 2)), As)


# --- solve_banded / solveh_banded ---------------------------------------------------------------


def _band(low, up, n, rng, dtype=float):
    ab = rng.standard_normal((low + up + 1, n))
    if dtype is complex:
        ab = ab + 1j * rng.standard_normal(ab.shape)
    ab[up] += 4.0 * (low + up + 1)  # diagonally dominant
    return ab


def _dense(low, up, ab):
    n = ab.shape[-1]
    a = np.zeros((n, n), ab.dtype)
    for i in range(n):
        for j in range(n):
            if -up <= i - j <= low:
                a[i, j] = ab[up + i - j, j]
    return a


BANDS = [(1, 1), (0, 2), (2, 0), (1, 2), (0, 0)]


@pytest.mark.parametrize("low, up", BANDS)
@pytest.mark.parametrize("bshape", [(5,), (5, 2)])
def test_solve_banded_values_and_derivatives(low, up, bshape):
    rng = np.random.default_rng(low * 10 + up + len(bshape))
    ab, b = _band(low, up, 5, rng), rng.standard_normal(bshape)
    f = lambda ab_, b_: fl.solve_banded((low, up), ab_, b_)  # noqa: E731
    want = sl.solve_banded((low, up), ab, b)
    np.testing.assert_allclose(fgrad.vjp(f, ab, b)[0], want, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(f(ab, b), want)  # plain: scipy's own
    fgrad.check_grads(f, (ab, b), order=2, modes=("fwd", "rev"))
    # the cotangent of ab is the banded part of -inv(A)^T g x^T
    g = rng.standard_normal(bshape)
    a = _dense(low, up, ab)
    x = np.linalg.solve(a, b)
    dense_ct = -np.linalg.solve(a.T, g).reshape(5, -1) @ x.reshape(5, -1).T
    want_ct = np.zeros_like(ab)
    for i in range(5):
        for j in range(5):
            if -up <= i - j <= low:
                want_ct[up + i - j, j] = dense_ct[i, j]
    got_ct = fgrad.vjp(f, ab, b)[1](g)[0]
    np.testing.assert_allclose(got_ct, want_ct, rtol=1e-10, atol=1e-12)


def test_solve_banded_complex():
    rng = np.random.default_rng(3)
    ab, b = _band(1, 2, 4, rng, complex), rng.standard_normal(4) + 1j * rng.standard_normal(4)
    f = lambda ab_, b_: fl.solve_banded((1, 2), ab_, b_)  # noqa: E731
    np.testing.assert_allclose(fgrad.vjp(f, ab, b)[0], sl.solve_banded((1, 2), ab, b),
                               rtol=1e-11)
    fgrad.check_grads(f, (ab, b), order=2, modes=("fwd", "rev"))


def test_solve_banded_under_vmap():
    rng = np.random.default_rng(4)
    abs_ = np.stack([_band(1, 2, 5, rng) for _ in range(4)])
    bs = rng.standard_normal((4, 5, 2))
    f = lambda ab_, b_: fl.solve_banded((1, 2), ab_, b_)  # noqa: E731
    _loop_vs_vmap(f, abs_, bs)
    _loop_vs_vmap(f, abs_, bs[0], in_axes=(0, None))
    _loop_vs_vmap(f, abs_[0], bs, in_axes=(None, 0))
    _loop_vs_vmap(fgrad.grad(lambda ab_, b_: fnp.sum(f(ab_, b_) ** 2)), abs_, bs)
    _loop_vs_vmap(fgrad.grad(lambda ab_, b_: fnp.sum(f(ab_, b_) ** 2), argnums=1), abs_, bs)


def _hband(u, n, rng, lower, dtype=float):
    ab = rng.standard_normal((u + 1, n)) * 0.5
    if dtype is complex:
        ab = ab + 0.5j * rng.standard_normal(ab.shape)
    ab[0 if lower else u] = np.abs(ab[0 if lower else u]) + 2.0 * (u + 1)
    return ab


@pytest.mark.parametrize("u", [0, 1, 2])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("bshape", [(5,), (5, 3)])
def test_solveh_banded_values_and_derivatives(u, lower, bshape):
    rng = np.random.default_rng(u * 7 + lower + len(bshape))
    ab, b = _hband(u, 5, rng, lower), rng.standard_normal(bshape)
    f = lambda ab_, b_: fl.solveh_banded(ab_, b_, lower=lower)  # noqa: E731
    want = sl.solveh_banded(ab, b, lower=lower)
    np.testing.assert_allclose(fgrad.vjp(f, ab, b)[0], want, rtol=1e-11, atol=1e-13)
    fgrad.check_grads(f, (ab, b), order=2, modes=("fwd", "rev"))
    # each stored entry off the diagonal collects the dense cotangent of both triangles
    g = rng.standard_normal(bshape)
    dense = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            k = (i - j) if lower else (u + i - j)
            if lower and 0 <= i - j <= u:
                dense[i, j] = dense[j, i] = ab[k, j]
            if not lower and 0 <= j - i <= u:
                dense[i, j] = dense[j, i] = ab[k, j]
    x = np.linalg.solve(dense, b)
    ct = -np.linalg.solve(dense.T, g).reshape(5, -1) @ x.reshape(5, -1).T
    want_ct = np.zeros_like(ab)
    for i in range(5):
        for j in range(5):
            if lower and 0 <= i - j <= u:
                want_ct[i - j, j] = ct[i, j] + (ct[j, i] if i != j else 0.0)
            if not lower and 0 <= j - i <= u:
                want_ct[u + i - j, j] = ct[i, j] + (ct[j, i] if i != j else 0.0)
    np.testing.assert_allclose(fgrad.vjp(f, ab, b)[1](g)[0], want_ct, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lower", [False, True])
def test_solveh_banded_complex_hermitian(lower):
    rng = np.random.default_rng(8)
    ab = _hband(1, 4, rng, lower, complex)
    b = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    f = lambda ab_, b_: fl.solveh_banded(ab_, b_, lower=lower)  # noqa: E731
    np.testing.assert_allclose(fgrad.vjp(f, ab, b)[0], sl.solveh_banded(ab, b, lower=lower),
                               rtol=1e-11)
    fgrad.check_grads(f, (ab, b), order=2, modes=("fwd", "rev"))


def test_solveh_banded_under_vmap():
    rng = np.random.default_rng(9)
    for lower in (False, True):
        abs_ = np.stack([_hband(1, 5, rng, lower) for _ in range(4)])
        bs = rng.standard_normal((4, 5))
        f = lambda ab_, b_: fl.solveh_banded(ab_, b_, lower=lower)  # noqa: E731
        _loop_vs_vmap(f, abs_, bs)
        _loop_vs_vmap(f, abs_, bs[0], in_axes=(0, None))
        _loop_vs_vmap(f, abs_[0], bs, in_axes=(None, 0))
        _loop_vs_vmap(fgrad.grad(lambda ab_, b_: fnp.sum(f(ab_, b_) ** 2)), abs_, bs)


def test_banded_bad_input():
    ab, b = _band(1, 1, 4, RNG), RNG.standard_normal(4)
    with pytest.raises(ValueError, match="rows but the band needs 4"):
        fgrad.grad(lambda a: fl.solve_banded((1, 2), a, b).sum())(ab)
    with pytest.raises(ValueError, match="b needs 4 rows"):
        fgrad.grad(lambda a: fl.solve_banded((1, 1), a, np.ones(3)).sum())(ab)
    with pytest.raises(TypeError, match="pair"):
        fgrad.grad(lambda a: fl.solve_banded(1, a, b).sum())(ab)
    with pytest.raises(TypeError, match="plain non-negative integer"):
        fgrad.grad(lambda a: fl.solve_banded((1.5, 1), a, b).sum())(ab)
    with pytest.raises(ValueError, match="must be a vector of row interchanges"):
        fgrad.grad(lambda y: fl.lu_solve((np.eye(4), np.zeros((2, 2), int)), y).sum())(b)
    with pytest.raises(np.linalg.LinAlgError):  # not positive definite, as scipy
        fgrad.grad(lambda a: fl.solveh_banded(a, b).sum())(-np.abs(_hband(1, 4, RNG, False)))
