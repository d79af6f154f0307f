"""An object fgrad does not know as a container, among a transform's inputs or
outputs, is refused with one TypeError naming its type, its key path and how
to register the class (issue 11)."""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp


class Params:  # a plain class: not registered, so a leaf
    def __init__(self, w):
        self.w = w


HOW = "fgrad.tree_util.register_pytree_node_class"


def _check(err, path):
    text = str(err.value)
    assert "Params" in text, text
    assert path in text, text
    assert HOW in text and "register_dataclass" in text, text


@pytest.mark.parametrize("name, call, path", [
    ("grad", lambda: fgrad.grad(lambda p: fnp.sum(p["a"][1].w))({"a": [1.0, Params(np.ones(2))]}),
     "['a'][1]"),
    ("vjp", lambda: fgrad.vjp(lambda p: p[0].w, (Params(np.ones(2)),)), "[0]"),
    ("jvp", lambda: fgrad.jvp(lambda p: p.w, ({"x": Params(np.ones(2))},),
                              ({"x": Params(np.ones(2))},)), "['x']"),
    ("vmap", lambda: fgrad.vmap(lambda p: p["k"].w)({"k": Params(np.ones(2))}), "['k']"),
    ("jacrev", lambda: fgrad.jacrev(lambda p: p[0].w)([Params(np.ones(2))]), "[0]"),
    ("hessian", lambda: fgrad.hessian(lambda p: fnp.sum(p[0].w))([Params(np.ones(2))]), "[0]"),
])
def test_an_unregistered_input_is_refused_with_its_path_and_how_to_register(name, call, path):
    with pytest.raises(TypeError) as err:
        call()
    _check(err, path)


@pytest.mark.parametrize("name, call, path", [
    ("jvp", lambda: fgrad.jvp(lambda x: {"out": Params(x)}, (1.0,), (1.0,)), "['out']"),
    ("vjp", lambda: fgrad.vjp(lambda x: [x, Params(x)], 1.0), "[1]"),
    ("vmap", lambda: fgrad.vmap(lambda x: (x, Params(x)))(np.ones(3)), "[1]"),
    ("linearize", lambda: fgrad.linearize(lambda x: Params(x), 1.0), ""),
    ("jacfwd", lambda: fgrad.jacfwd(lambda x: {"p": Params(x)})(np.ones(2)), "['p']"),
    ("jacrev", lambda: fgrad.jacrev(lambda x: {"p": Params(x)})(np.ones(2)), "['p']"),
])
def test_an_unregistered_output_is_refused_with_its_path_and_how_to_register(name, call, path):
    """Before: jvp raised numpy's "Cannot interpret ... as a data type", vjp returned the
    object holding live tracers, vmap returned an object array."""
    with pytest.raises(TypeError) as err:
        call()
    _check(err, path)


def test_registering_the_class_makes_the_same_calls_work():
    class Reg:
        def __init__(self, w):
            self.w = w

    fgrad.tree_util.register_pytree_node(Reg, lambda r: ((r.w,), None), lambda _, c: Reg(*c))
    g = fgrad.grad(lambda p: fnp.sum(p.w ** 2))(Reg(np.arange(3.0)))
    np.testing.assert_allclose(g.w, 2 * np.arange(3.0))
    out = fgrad.vmap(lambda x: Reg(x * 2))(np.arange(3.0))
    np.testing.assert_allclose(out.w, 2 * np.arange(3.0))
    primal, tangent = fgrad.jvp(lambda x: Reg(fnp.sin(x)), (0.5,), (1.0,))
    np.testing.assert_allclose(tangent.w, np.cos(0.5))


def test_non_numeric_builtin_leaves_get_no_registration_advice():
    with pytest.raises(TypeError) as err:
        fgrad.grad(lambda p: 1.0)({"a": "text"})
    assert HOW not in str(err.value)
