"""fnp.r_ and fnp.c_: numpy's values (shapes, dtypes) on constants and under a trace,
derivatives in every traced part (check_grads, order 2, both modes), vmap against
a loop, and clear errors where the layout would depend on traced values; row_stack."""

import warnings

import numpy as np
import pytest
from numpy_checks import loop, same

import fgrad
import fgrad.numpy as fnp

rng = np.random.default_rng(0)
a1, b1 = rng.normal(size=3), rng.normal(size=4)
m23, m33 = rng.normal(size=(2, 3)), rng.normal(size=(3, 3))


def check_both(np_fn, fnp_fn, *args):
    """Constants: numpy's result itself; traced: the same values, dtype and shape,
    and derivatives that pass check_grads to order 2 in both modes."""
    want = np_fn(*args)
    same(fnp_fn(*args), want)
    got, _ = fgrad.vjp(fnp_fn, *args)
    same(got, want)
    fgrad.check_grads(fnp_fn, args, order=2, modes=("fwd", "rev"))


# (numpy's function, fgrad's, arguments): each builds one result from its arguments
CASES = {
    "complex step is a linspace of traced bounds": (
        lambda a, b: np.r_[a:b:5j], lambda a, b: fnp.r_[a:b:5j], (np.float64(0.3), np.float64(2.0))),
    "1j*n count": (lambda b: np.r_[0:b:1j * 4], lambda b: fnp.r_[0:b:1j * 4], (np.float64(1.5),)),
    "range, array, scalar": (
        lambda x: np.r_[1:4, x, 0.5], lambda x: fnp.r_[1:4, x, 0.5], (a1,)),
    "two arrays and a range after": (
        lambda x, y: np.r_[x, y, 0:3], lambda x, y: fnp.r_[x, y, 0:3], (a1, b1)),
    "0-d traced scalars": (
        lambda s, t: np.r_[s, 2.0, t], lambda s, t: fnp.r_[s, 2.0, t],
        (np.float64(0.7), np.float64(-1.1))),
    "axis directive": (
        lambda x, y: np.r_["-1", x, y], lambda x, y: fnp.r_["-1", x, y], (m23, m23 * 2)),
    "axis,ndmin": (
        lambda x, y: np.r_["0,2", x, y], lambda x, y: fnp.r_["0,2", x, y], (a1, a1 + 1)),
    "axis,ndmin,trans1d 0,2,0": (
        lambda x, y: np.r_["0,2,0", x, y], lambda x, y: fnp.r_["0,2,0", x, y], (a1, a1 + 1)),
    "1,2,0 with a matrix": (
        lambda x, m: np.r_["1,2,0", x, m], lambda x, m: fnp.r_["1,2,0", x, m], (a1, m33)),
    "0,3,1 raises a vector to 3-D": (
        lambda x, y: np.r_["0,3,1", x, y], lambda x, y: fnp.r_["0,3,1", x, y], (a1, a1 * 3)),
    "0,3,-2 (negative trans1d)": (
        lambda x, m: np.r_["0,3,-2", x, m], lambda x, m: fnp.r_["0,3,-2", x, m], (a1, m23)),
    "slice under a 2-D directive": (
        lambda x: np.r_["0,2,0", 0:3, x], lambda x: fnp.r_["0,2,0", 0:3, x], (a1,)),
    "c_ of vectors": (
        lambda x, y: np.c_[x, y], lambda x, y: fnp.c_[x, y], (a1, a1 * 2)),
    "c_ of a vector and a matrix": (
        lambda x, m: np.c_[x, m], lambda x, m: fnp.c_[x, m], (a1, m33)),
    "c_ with a linspace column": (
        lambda x, b: np.c_[x, 0:b:3j], lambda x, b: fnp.c_[x, 0:b:3j], (a1, np.float64(2.0))),
    "c_ of matrices": (
        lambda x, y: np.c_[x, y], lambda x, y: fnp.c_[x, y], (m23, m23 - 1)),
    "complex parts": (
        lambda z, x: np.r_[z, x], lambda z, x: fnp.r_[z, x], (a1 + 1j * b1[:3], b1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_derivatives_match_numpy(name):
    np_fn, fnp_fn, args = CASES[name]
    check_both(np_fn, fnp_fn, *args)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy's np.matrix
def test_constants_give_numpy_results_exactly():
    for key in [(slice(1, 4),), (slice(0, 1, 5j), 3, [1, 2]), ("0,2,1", [1, 2], [3, 4]),
                ("r", [1, 2], [3, 4]), ("c", [1, 2], [3, 4])]:
        got, want = fnp.r_[key], np.r_[key]
        assert type(got) is type(want)
        same(np.asarray(got), np.asarray(want))
    same(fnp.c_[np.ones(2), np.zeros(2)], np.c_[np.ones(2), np.zeros(2)])
    assert fnp.r_[1:1] .shape == (0,) and len(fnp.r_) == 0


def test_dtypes_follow_numpy_promotion():
    x32 = np.ones(2, np.float32)
    for np_fn, fnp_fn in [(lambda x: np.r_[x, 2.5], lambda x: fnp.r_[x, 2.5]),
                          (lambda x: np.r_[x, np.float64(2.5)], lambda x: fnp.r_[x, np.float64(2.5)]),
                          (lambda x: np.r_[x, 0:2], lambda x: fnp.r_[x, 0:2]),
                          (lambda x: np.r_[x, [1j]], lambda x: fnp.r_[x, [1j]])]:
        got, _ = fgrad.vjp(fnp_fn, x32)
        same(got, np_fn(x32))


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # numpy's np.matrix
def test_row_and_column_directives_give_2d_arrays_of_the_matrix_shape():
    # numpy gives np.matrix; fgrad has no matrix type, so a traced result is a 2-D
    # array with the matrix's shape and values
    for d in ("r", "c"):
        def f(x, y, d=d):
            return fnp.r_[d, x, y]

        got, _ = fgrad.vjp(f, a1, b1)
        same(got, np.asarray(np.r_[d, a1, b1]))
        fgrad.check_grads(f, (a1, b1), order=2, modes=("fwd", "rev"))
    got, _ = fgrad.vjp(lambda m: fnp.r_["c", m, m], m23)
    same(got, np.asarray(np.r_["c", m23, m23]))


def test_gradient_by_hand():
    # sum(r_[0:x:3j, x]**2) = (x/2)**2 + x**2 + x**2 -> derivative 4.5 x
    g = fgrad.grad(lambda x: fnp.sum(fnp.r_[0:x:3j, x] ** 2))(2.0)
    assert g == pytest.approx(9.0)
    g = fgrad.grad(lambda v: fnp.sum(fnp.c_[v, 3 * v] ** 2))(a1)
    np.testing.assert_allclose(g, 20 * a1)


def test_parts_from_a_list_of_tracers():
    f = lambda x: fnp.r_[[x[0], x[1]], x, 1.0]  # noqa: E731
    got, _ = fgrad.vjp(f, a1)
    same(got, np.r_[[a1[0], a1[1]], a1, 1.0])
    fgrad.check_grads(f, (a1,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["range, array, scalar", "0,3,1 raises a vector to 3-D",
                                  "c_ of a vector and a matrix", "c_ with a linspace column"])
def test_vmap_matches_a_loop(name):
    np_fn, fnp_fn, args = CASES[name]
    batch = [np.stack([np.asarray(a) * (1 + 0.1 * k) for k in range(3)]) for a in args]
    got = fgrad.vmap(fnp_fn)(*batch)
    np.testing.assert_allclose(got, loop(np_fn, *batch))
    # and the derivative of the batched function
    fgrad.check_grads(lambda *b: fgrad.vmap(fnp_fn)(*b), batch, order=1)


def test_layout_decided_by_traced_values_is_refused():
    with pytest.raises(TypeError, match="complex step"):
        fgrad.grad(lambda x: fnp.r_[0:x].sum())(3.0)
    with pytest.raises(TypeError, match="step of a slice is traced"):
        fgrad.grad(lambda x: fnp.r_[0:1:x].sum())(3.0)


def test_bad_directives_name_the_problem():
    x = np.ones(2)
    with pytest.raises(ValueError, match="first entry"):
        fgrad.grad(lambda x: fnp.r_[x, "0,2"].sum())(x)
    with pytest.raises(ValueError, match="unknown directive"):
        fgrad.grad(lambda x: fnp.r_["a,b", x].sum())(x)
    with pytest.raises(ValueError, match="unknown directive"):
        fgrad.grad(lambda x: fnp.r_["rows", x].sum())(x)
    with pytest.raises(TypeError, match="np.bmat"):
        fnp.r_["1 2; 3 4"]


@pytest.mark.skipif(not hasattr(np, "row_stack"), reason="numpy without row_stack")
def test_row_stack_is_vstack_with_numpy_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="row_stack"):
        want = np.row_stack([a1, a1 * 2])
    with pytest.warns(DeprecationWarning, match="row_stack") as rec:
        got = fnp.row_stack([a1, a1 * 2])
    assert rec[0].filename == __file__  # the warning points at the caller, as numpy's
    same(got, want)

    def f(x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return fnp.row_stack((x, y))

    got, _ = fgrad.vjp(f, a1, a1 + 1)
    same(got, np.vstack([a1, a1 + 1]))
    fgrad.check_grads(f, (a1, a1 + 1), order=2, modes=("fwd", "rev"))


def test_row_stack_present_exactly_when_numpy_has_it():
    assert hasattr(fnp, "row_stack") == hasattr(np, "row_stack")
