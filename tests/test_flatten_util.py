"""fgrad.flatten_util.ravel_pytree: flat vector <-> pytree, differentiable both ways,
under vmap, with mixed dtypes (promoted, cast back) and empty trees."""

import collections
import dataclasses

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad import tree_util as tu
from fgrad.flatten_util import ravel_pytree

RNG = np.random.default_rng(2)
Pair = collections.namedtuple("Pair", "a b")


@tu.register_dataclass
@dataclasses.dataclass
class Layer:
    w: object
    b: object
    name: str = dataclasses.field(default="l", metadata={"static": True})


def _tree():
    return {"layer": Layer(RNG.standard_normal((2, 3)), RNG.standard_normal(3)),
            "p": Pair(0.7, RNG.standard_normal((2, 2))), "none": None}


def test_values_order_and_round_trip():
    tree = _tree()
    flat, unravel = ravel_pytree(tree)
    leaves = tu.tree_leaves(tree)
    expected = np.concatenate([np.ravel(x) for x in leaves])
    np.testing.assert_array_equal(flat, expected)
    assert flat.shape == (6 + 3 + 1 + 4,) and flat.dtype == np.float64
    back = unravel(flat)
    assert tu.tree_structure(back) == tu.tree_structure(tree)
    for x, y in zip(tu.tree_leaves(back), leaves):
        np.testing.assert_array_equal(x, y)
        assert np.shape(x) == np.shape(y)
    # unravel then ravel is the identity on vectors too
    v = RNG.standard_normal(flat.shape)
    np.testing.assert_array_equal(ravel_pytree(unravel(v))[0], v)


def test_mixed_dtypes_promote_and_unravel_casts_back():
    tree = {"f32": np.array([1.5, 2.5], dtype=np.float32), "i": np.array([1, 2]),
            "f64": np.array(3.25)}
    flat, unravel = ravel_pytree(tree)
    assert flat.dtype == np.result_type(np.float32, np.int64, np.float64) == np.float64
    back = unravel(flat + 0.5)
    assert back["f32"].dtype == np.float32 and back["i"].dtype == tree["i"].dtype
    np.testing.assert_array_equal(back["f32"], [2.0, 3.0])
    np.testing.assert_array_equal(back["i"], (tree["i"] + 0.5).astype(tree["i"].dtype))
    f32 = {"a": np.ones(2, np.float32), "b": np.ones((), np.float32)}
    assert ravel_pytree(f32)[0].dtype == np.float32
    mixed = {"r": np.ones(2), "c": np.array([1 + 2j])}
    flat_c, unravel_c = ravel_pytree(mixed)
    assert flat_c.dtype == np.complex128
    out = unravel_c(flat_c)
    assert out["r"].dtype == np.float64 and out["c"].dtype == np.complex128
    np.testing.assert_array_equal(out["c"], [1 + 2j])


def test_empty_trees():
    for empty in ({}, [], (None, {}), None):
        flat, unravel = ravel_pytree(empty)
        assert flat.shape == (0,) and flat.dtype == np.float64
        assert unravel(np.zeros(0)) == empty
    g = fgrad.grad(lambda v: fnp.sum(v) + 1.0)(ravel_pytree({})[0])
    assert g.shape == (0,)


def test_unravel_refuses_wrong_lengths_and_complex_for_real_trees():
    flat, unravel = ravel_pytree(_tree())
    with pytest.raises(ValueError, match="length 14"):
        unravel(np.zeros(13))
    with pytest.raises(ValueError, match="1-d array of length 14"):
        unravel(np.zeros((2, 7)))
    with pytest.raises(TypeError, match="imaginary part would be lost"):
        unravel(flat.astype(complex))
    with pytest.raises(TypeError, match=r"leaf at \['x'\].*register_dataclass"):
        ravel_pytree({"x": object()})


def test_gradients_through_ravel_and_through_unravel():
    tree = _tree()
    flat, unravel = ravel_pytree(tree)

    def loss(t):
        return (fnp.sum(fnp.tanh(t["layer"].w) * t["layer"].b) * t["p"].a
                + fnp.sum(t["p"].b ** 3))

    # through unravel: the gradient in the flat vector is the raveled tree gradient
    g_flat = fgrad.grad(lambda v: loss(unravel(v)))(flat)
    g_tree = fgrad.grad(loss)(tree)
    np.testing.assert_allclose(g_flat, ravel_pytree(g_tree)[0], rtol=1e-12)
    # through ravel: a function of the flat vector, differentiated in the tree
    c = RNG.standard_normal(flat.shape)
    g_through = fgrad.grad(lambda t: fnp.sum(fnp.sin(ravel_pytree(t)[0]) * c))(tree)
    np.testing.assert_allclose(ravel_pytree(g_through)[0], np.cos(flat) * c, rtol=1e-12)
    fgrad.check_grads(lambda v: loss(unravel(v)), (flat,), order=2, modes=("fwd", "rev"))
    fgrad.check_grads(lambda t: fnp.sum(fnp.sin(ravel_pytree(t)[0]) * c), (tree,), order=2,
                      modes=("fwd", "rev"))
    # and the two composed (ravel of unravel) in both modes
    fgrad.check_grads(lambda v: ravel_pytree(unravel(v))[0] ** 2, (flat,), order=2,
                      modes=("fwd", "rev"))


def test_float32_leaves_get_float32_gradients_through_unravel():
    tree = {"a": np.ones(2, np.float32), "b": np.ones(1)}
    flat, unravel = ravel_pytree(tree)
    g = fgrad.grad(lambda t: fnp.sum(ravel_pytree(t)[0] ** 2))(tree)
    assert g["a"].dtype == np.float32 and g["b"].dtype == np.float64
    np.testing.assert_allclose(g["a"], [2.0, 2.0])


def test_under_vmap_against_a_loop():
    tree = _tree()
    flat, unravel = ravel_pytree(tree)
    vs = RNG.standard_normal((5,) + flat.shape)
    batched = fgrad.vmap(unravel)(vs)
    for i, v in enumerate(vs):
        one = unravel(v)
        for x, y in zip(tu.tree_leaves(batched), tu.tree_leaves(one)):
            np.testing.assert_array_equal(x[i], y)
    trees = fgrad.vmap(lambda s: tu.tree_map(lambda x: x * s, tree))(np.arange(3.0))
    flats = fgrad.vmap(lambda t: ravel_pytree(t)[0])(trees)
    np.testing.assert_allclose(flats, [flat * s for s in range(3)])
    per_example = fgrad.vmap(fgrad.grad(lambda v, c: fnp.sum(unravel(v)["p"].b * c)),
                             in_axes=(0, None))(vs, 2.0)
    np.testing.assert_allclose(per_example[:, -4:], 2.0)
    np.testing.assert_allclose(per_example[:, :-4], 0.0)
