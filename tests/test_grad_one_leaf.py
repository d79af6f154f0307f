"""``grad`` of one float or float-array argument takes a shorter path (issue 15: the
fixed cost of a call).  It must give what the general path gives, with every check:
the general path is the same call with ``argnums=(0,)``, compared here output for
output, error for error, kind for kind."""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

INPUTS = {
    "float": 0.7,
    "0-d float64 array": np.array(0.7),
    "1-d float64 array": np.array([0.5, -1.25, 2.0]),
    "2-d float32 array": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
}

FUNCTIONS = {
    "x * 2": lambda x: fnp.sum(x * 2.0),
    "sin, then a product": lambda x: fnp.sum(fnp.sin(x) * x),
    "the input itself": lambda x: x,
    "a constant float": lambda x: 3.0,
    "a constant float64": lambda x: np.float64(3.0),
    "a constant 0-d array": lambda x: np.array(2.0),
    "None": lambda x: None,
    "a bool": lambda x: fnp.sum(x) > 0,
    "a complex scalar": lambda x: fnp.sum(x) * 1j,
    "an array": lambda x: fnp.stack([fnp.sum(x), fnp.sum(x)]),
    "a string": lambda x: "loss",
    "an int": lambda x: 3,
    "float32": lambda x: fnp.sum(fnp.asarray(x, dtype=np.float32)),
    "the sum of a copy": lambda x: fnp.sum(fnp.array(x) * 1.0),
}


def _outcome(fn, x):
    try:
        return "ok", fn(x)
    except Exception as err:  # noqa: BLE001 - the two paths must raise alike
        return "error", (type(err), str(err))


@pytest.mark.parametrize("fname", list(FUNCTIONS))
@pytest.mark.parametrize("xname", list(INPUTS))
def test_one_leaf_path_matches_the_general_path(xname, fname):
    f, x = FUNCTIONS[fname], INPUTS[xname]
    fast = _outcome(fgrad.grad(f), x)
    general = _outcome(lambda x: fgrad.grad(f, argnums=(0,))(x)[0], x)
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "error":
        assert fast[1] == general[1]
        return
    a, b = fast[1], general[1]
    assert type(a) is type(b) and np.shape(a) == np.shape(b)
    assert np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(a, b)
    # and value_and_grad's value too
    va, ga = fgrad.value_and_grad(f)(x)
    vb, (gb,) = fgrad.value_and_grad(f, argnums=(0,))(x)
    assert type(va) is type(vb)
    np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(ga, gb)


def test_one_leaf_gradient_is_never_the_callers_array_and_flags_come_back():
    x = np.array([1.0, 2.0])
    box = {}

    def f(v):
        box["writeable_inside"] = x.flags.writeable
        return fnp.sum(v * 1.0)

    g = fgrad.grad(f)(x)
    assert box["writeable_inside"] is False  # read-only while the tape keeps it
    assert x.flags.writeable
    assert g is not x and not np.shares_memory(g, x)

    def writes(v):
        x[0] = 5.0
        return fnp.sum(v)

    with pytest.raises(ValueError, match="read-only"):
        fgrad.grad(writes)(x)
    assert x.flags.writeable  # given back after the error too


def test_one_leaf_with_keywords_and_other_positions():
    f = lambda a, x, scale=1.0: fnp.sum(a * x) * scale  # noqa: E731
    a, x = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(fgrad.grad(f, argnums=1)(a, x, scale=2.0), 2 * a)
    np.testing.assert_array_equal(fgrad.grad(f)(a, x, scale=2.0), 2 * x)
    with pytest.raises(TypeError, match="argnums"):
        fgrad.grad(f, argnums=2)(a, x)  # only two positional arguments


def test_one_leaf_under_other_transforms():
    # a tracer is not a float: the general path, with the same results
    f = lambda x: fnp.sum(fnp.sin(x) ** 2)  # noqa: E731
    x = np.array([0.3, -0.4])
    hess = fgrad.jacfwd(fgrad.grad(f))(x)
    np.testing.assert_allclose(hess, np.diag(2 * np.cos(2 * x)), rtol=1e-12)
    per_example = fgrad.vmap(fgrad.grad(f))(np.stack([x, 2 * x]))
    np.testing.assert_allclose(per_example[1], np.sin(4 * x), rtol=1e-12)
