"""Sequences holding traced values wherever numpy takes an array-like.

``fnp.mean([x, y])``, ``fnp.linalg.norm([x, x + 2])``, ``fnp.interp(v, [a, b], fp)``:
a (nested) list or tuple that holds tracers among constants is made into one
traced array, as ``fnp.array`` would.  Every case is written once for a module
``m`` (numpy or fgrad.numpy), so its traced value is compared with numpy's on the
same numbers, its derivatives are checked to order 2 in both modes, and its vmap
with a Python loop.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp

X = np.array([0.7, 1.3, 0.4, 1.9])

# name -> case(m, x): x is a vector of 4 floats (traced or plain)
CASES = {
    "mean": lambda m, x: m.mean([x[0], x[1] * 2]),
    "mean nested axis": lambda m, x: m.mean([[x[0], 1.0], [x[1], x[2]]], axis=0),
    "mean 0-d and rows": lambda m, x: m.mean([x[0:2], [1.0, x[3]]], axis=1),
    "std": lambda m, x: m.std([x[0], x[1], 3.0]),
    "var ddof": lambda m, x: m.var((x[0], x[1], 3.0, x[2]), ddof=1),
    "sum axis": lambda m, x: m.sum([[x[0], x[1]], [2.0, x[2]]], axis=1),
    "sum array constant": lambda m, x: m.sum([np.array([1.0, 2.0]), x[1:3]], axis=0),
    "prod tuple": lambda m, x: m.prod((x[0], x[1], 2.0)),
    "max": lambda m, x: m.max([x[0], x[1] * 0.5, x[2]]),
    "norm": lambda m, x: m.linalg.norm([x[0], x[0] + 2]),
    "norm matrix": lambda m, x: m.linalg.norm([[x[0], 1.0], [x[1], x[2]]]),
    "det": lambda m, x: m.linalg.det([[x[0], x[1]], [1.0, x[2]]]),
    "append": lambda m, x: m.append([x[0], 1.0], [x[1], x[2]]),
    "concatenate regular": lambda m, x: m.concatenate([[x[0], 1.0], [x[1], x[2]]]),
    "concatenate ragged": lambda m, x: m.concatenate([[x[0], 1.0], [x[1]]]),
    "concatenate array and list": lambda m, x: m.concatenate([x[0:3], [x[3], 1.0]]),
    "stack": lambda m, x: m.stack([[x[0], 1.0], x[1:3]], axis=1),
    "interp fp": lambda m, x: m.interp(0.5 * x[2], [0.0, 1.0, 2.0], [x[0], x[1], 2.0]),
    "interp xp": lambda m, x: m.interp(0.3 * x[0], [0.0, x[1] + 1, 3.0], [1.0, 2.0, 0.5]),
    "dot": lambda m, x: m.dot([x[0], 1.0], [x[1], x[2]]),
    "where": lambda m, x: m.where([True, False, True], [x[0], 1.0, x[2]], x[1]),
    "clip": lambda m, x: m.clip([x[0], x[1], x[2]], 0.5, [1.0, x[3], 1.0]),
    "polyval": lambda m, x: m.polyval([x[0], 1.0, x[1]], x[2]),
    "sin (a row)": lambda m, x: m.sin([x[0], x[1]]),
    "add list first": lambda m, x: m.add([x[0], x[1]], x[2]),
    "add list second": lambda m, x: m.add(x[2], [x[0], 2.0]),
    "multiply operator": lambda m, x: x[0:2] * [x[3], 1.0],
    "matmul": lambda m, x: m.matmul([[x[0], 1.0], [x[1], x[2]]], [x[3], 1.0]),
    "fft": lambda m, x: m.real(m.fft.fft([x[0], x[1], x[2]])),
    "cumsum": lambda m, x: m.cumsum([x[0], x[1], x[2]]),
    "outer": lambda m, x: m.outer([x[0], 1.0], [x[1], x[2]]),
    "einsum": lambda m, x: m.einsum("i,i->", [x[0], 1.0], [x[1], x[2]]),
    "average weights keyword": lambda m, x: m.average([x[0], x[1]], weights=[x[2], 1.0]),
    "diff": lambda m, x: m.diff([x[0], x[1] * x[1], x[2]]),
    "sort": lambda m, x: m.sort([x[0], x[1], x[2]]),
    "linspace list endpoints": lambda m, x: m.linspace([x[0], 0.0], [x[1], x[2]], 4),
    "method with list": lambda m, x: m.asarray(x[0:2]).dot([x[2], 1.0]),
}


def traced(case):
    return lambda x: case(fnp, x)


@pytest.mark.parametrize("name", list(CASES))
def test_value_matches_numpy(name):
    case = CASES[name]
    got, _ = fgrad.vjp(traced(case), X)
    want = case(np, X)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("name", list(CASES))
def test_derivatives(name):
    fgrad.check_grads(traced(CASES[name]), (X,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(CASES))
def test_vmap_against_loop(name):
    case = CASES[name]
    xs = X + np.linspace(0.0, 0.3, 3)[:, None]
    got = fgrad.vmap(traced(case))(xs)
    want = np.stack([case(np, x) for x in xs])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_separate_arguments_in_one_list():
    """The issue's example: two inputs in one list, differentiated separately."""
    f = lambda x, y: fnp.mean([x, y]) + fnp.std([x, y])  # noqa: E731
    gx, gy = fgrad.grad(f, argnums=(0, 1))(1.0, 3.0)
    # mean: 1/2 each; std of two values is |x - y| / 2: -1/2 and +1/2
    np.testing.assert_allclose([gx, gy], [0.0, 1.0])


def test_nested_transforms_see_their_own_tracers_in_one_list():
    # grad of grad: the inner tracer and the outer one meet in one list
    f = lambda x: fgrad.grad(lambda y: fnp.sum(fnp.square([x * y, y, 2.0])))(x)  # noqa: E731
    # inner: d/dy (x^2 y^2 + y^2 + 4) = 2 x^2 y + 2 y at y = x: 2 x^3 + 2 x
    np.testing.assert_allclose(f(1.5), 2 * 1.5**3 + 2 * 1.5)
    np.testing.assert_allclose(fgrad.grad(f)(1.5), 6 * 1.5**2 + 2)


def test_ragged_sequence_is_a_clear_value_error():
    with pytest.raises(ValueError, match=r"fgrad\.numpy\.mean.*ragged"):
        fgrad.grad(lambda x: fnp.mean([x[0:2], [1.0]]))(X)


# --- plain numpy calls: which ones numpy lets fgrad see --------------------------------

SEEN_BY_NUMPY = {
    "np.concatenate": lambda x: np.concatenate([x[0:2], [x[2], 1.0]]),
    "np.stack": lambda x: np.stack([x[0:2], [x[2], 1.0]]),
    "np.vstack": lambda x: np.vstack([x[0:2], [x[2], 1.0]]),
    "np.einsum": lambda x: np.einsum("i,i->", x[0:2], [x[2], 1.0]),
    "np.add": lambda x: np.add(x[0:2], [x[2], 1.0]),
    "np.dot": lambda x: np.dot(x[0:2], [x[2], 1.0]),
    "np.where": lambda x: np.where(x[0:2] > 1.0, [x[2], 1.0], x[1:3]),
    "np.append": lambda x: np.append(x[0:2], [x[2], 1.0]),
}


@pytest.mark.parametrize("name", list(SEEN_BY_NUMPY))
def test_plain_numpy_calls_that_reach_fgrad(name):
    f = SEEN_BY_NUMPY[name]
    got, _ = fgrad.vjp(f, X)
    np.testing.assert_allclose(got, f(X), rtol=1e-13)
    fgrad.check_grads(f, (X,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("call", [
    lambda x: np.mean([x[0], x[1]]),
    lambda x: np.sum([x[0], 1.0]),
    lambda x: np.linalg.norm([x[0], x[1]]),
])
def test_plain_numpy_calls_numpy_does_not_hand_over_say_what_to_do(call):
    with pytest.raises(TypeError, match=r"fnp\.array.*fnp\.stack|fnp\.stack.*fnp\.array"):
        fgrad.grad(call)(X)


def test_np_array_of_tracers_says_use_fnp_array_or_stack():
    with pytest.raises(TypeError, match=r"fnp\.array") as info:
        fgrad.grad(lambda x: np.sum(np.array([x[0], x[1]])))(X)
    assert "fnp.stack" in str(info.value)
    assert isinstance(info.value, fgrad.core.TracerConversionError)
    with pytest.raises(TypeError, match="fgrad.stop_gradient"):
        fgrad.grad(lambda x: np.sum(np.asarray(x)))(X)


# --- hypothesis: nesting shapes -------------------------------------------------------


@st.composite
def nested(draw):
    """A nested-list description of a (rows, cols) array: each row is a slice of
    the traced vector, or a list of entries each a traced scalar, a product of
    two, or a constant."""
    rows = draw(st.integers(1, 3))
    cols = draw(st.integers(1, 3))
    spec = []
    for _ in range(rows):
        if draw(st.booleans()):
            start = draw(st.integers(0, 4 - cols))
            spec.append(("slice", start))
        else:
            spec.append(("list", [draw(st.one_of(
                st.tuples(st.just("x"), st.integers(0, 3)),
                st.tuples(st.just("xx"), st.integers(0, 3)),
                st.tuples(st.just("c"), st.floats(-2, 2)),
            )) for _ in range(cols)]))
    return cols, spec, draw(st.sampled_from(["sum", "mean", "prod", "max", "var"])), draw(
        st.sampled_from([None, 0, 1]))


def build(x, cols, spec, as_tuple):
    rows = []
    for kind, what in spec:
        if kind == "slice":
            rows.append(x[what:what + cols])
        else:
            row = [x[i] if k == "x" else x[i] * x[(i + 1) % 4] if k == "xx" else i
                   for k, i in what]
            rows.append(tuple(row) if as_tuple else row)
    return tuple(rows) if as_tuple else rows


@settings(max_examples=40, deadline=None)
@given(nested(), st.booleans())
def test_nesting_shapes(described, as_tuple):
    cols, spec, reduction, axis = described

    def case(m, x):
        return getattr(m, reduction)(build(x, cols, spec, as_tuple), axis=axis)

    got, _ = fgrad.vjp(lambda x: case(fnp, x), X)
    np.testing.assert_allclose(got, case(np, X), rtol=1e-12, atol=1e-12)
    fgrad.check_grads(lambda x: case(fnp, x), (X,), order=1, modes=("fwd", "rev"))


# --- linspace / logspace / geomspace: traced endpoints (and base) ----------------------

# name -> case(m, x), x a vector of 4 floats in (0.4, 2.2): every option of the three
SPACES = {
    "linspace": lambda m, x: m.linspace(x[0], x[1] + 2, 5),
    "linspace num 1": lambda m, x: m.linspace(x[0], x[1], 1),
    "linspace num 2 no endpoint": lambda m, x: m.linspace(x[0], x[1], 2, endpoint=False),
    "linspace retstep": lambda m, x: m.linspace(x[0], 3 * x[1], 4, retstep=True)[1] * x[2],
    "linspace arrays axis 1": lambda m, x: m.linspace(x[0:2], x[2:4] + 3, 4, axis=1),
    "linspace arrays axis -1": lambda m, x: m.linspace(x[0:2], 5.0, 3, axis=-1),
    "linspace list endpoints": lambda m, x: m.linspace([x[0], 1.0], x[2], 3),
    "logspace": lambda m, x: m.logspace(x[0], x[1], 4),
    "logspace base": lambda m, x: m.logspace(0.5, 1.5, 4, base=x[2] + 1),
    "logspace all traced": lambda m, x: m.logspace(x[0], x[1], 3, base=x[2] + 1,
                                                   endpoint=False),
    "logspace array base axis": lambda m, x: m.logspace(x[0:2], 2.0, 3, base=x[2:4] + 1,
                                                        axis=1),
    "geomspace": lambda m, x: m.geomspace(x[0], x[1] + 3, 4),
    "geomspace negative": lambda m, x: m.geomspace(-x[0], -x[1] - 3, 4, endpoint=False),
    "geomspace arrays axis": lambda m, x: m.geomspace(x[0:2], x[2:4] + 1, 3, axis=1),
}


@pytest.mark.parametrize("name", list(SPACES))
def test_spaces_value_derivatives_and_vmap(name):
    case = SPACES[name]
    got, _ = fgrad.vjp(traced(case), X)
    want = case(np, X)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    assert np.shape(got) == np.shape(want)
    fgrad.check_grads(traced(case), (X,), order=2, modes=("fwd", "rev"))
    xs = X + np.linspace(0.0, 0.3, 3)[:, None]
    np.testing.assert_allclose(fgrad.vmap(traced(case))(xs),
                               np.stack([case(np, x) for x in xs]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ["linspace", "logspace", "geomspace"])
def test_spaces_through_plain_numpy(name):
    """``np.linspace(x, ...)`` on a traced endpoint reaches fgrad (NEP 18)."""
    def f(x):
        return getattr(np, name)(x[0], x[1] + 2, 4)

    got, _ = fgrad.vjp(f, X)
    np.testing.assert_allclose(got, f(X), rtol=1e-13)
    fgrad.check_grads(f, (X,), order=2, modes=("fwd", "rev"))
