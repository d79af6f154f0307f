"""Issue 16: the bad-input matrix.  Every public transform meets every kind of input; each
cell (one test id) must end in the right answer, checked against central finite
differences in float64, or in a TypeError/ValueError whose message names the problem.
Never an AttributeError/IndexError/KeyError/RecursionError, and never numpy's own words.

The test function is elementwise, ``G(t) = sin(t) * t`` leaf by leaf, and ``F`` sums it,
so the finite differences can be taken element by element: ``D = dG/dt`` and the second
derivative ``D2`` are the references for every transform."""

import decimal

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.tree import tree_flatten, tree_map

# ---------------------------------------------------------------------------------------
# the functions and their finite-difference references
# ---------------------------------------------------------------------------------------


def G(t):
    return tree_map(lambda a: fnp.sin(a) * a, t)


def F(t):
    total = 0.0
    for a in tree_flatten(t)[0]:
        total = total + fnp.sum(fnp.sin(a) * a)
    return total


def _g64(a):
    return np.sin(a) * a


def _as64(a):
    a = np.asarray(a)
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def fd1(t, eps=1e-6):
    """Elementwise central difference of G: dG/dt, leaf by leaf, in float64."""
    return tree_map(lambda a: (_g64(_as64(a) + eps) - _g64(_as64(a) - eps)) / (2 * eps), t)


def fd2(t, eps=1e-4):
    return tree_map(
        lambda a: (_g64(_as64(a) + eps) - 2 * _g64(_as64(a)) + _g64(_as64(a) - eps)) / eps ** 2, t)


def tol(t):
    """Tolerance for the precision G computes in (numpy's sin of a bool is float16)."""
    kinds = set()
    for a in tree_flatten(t)[0]:
        a = np.asarray(a)
        if a.dtype.kind in "biufc":
            kinds.add(np.sin(np.zeros(1, a.dtype)).dtype)
    if np.dtype(np.float16) in kinds:
        return 3e-2
    if np.dtype(np.float32) in kinds or np.dtype(np.complex64) in kinds:
        return 2e-3
    return 2e-5


def close(got, want, rtol):
    g_leaves, g_tree = tree_flatten(got)
    w_leaves, w_tree = tree_flatten(want)
    assert g_tree == w_tree, f"structure {g_tree} but expected {w_tree}"
    for g, w in zip(g_leaves, w_leaves):
        assert np.shape(g) == np.shape(w), f"shape {np.shape(g)} but expected {np.shape(w)}"
        np.testing.assert_allclose(np.asarray(g, dtype=np.asarray(w).dtype), w,
                                   rtol=rtol, atol=rtol)


def ones_like(t, scale=1.0):
    """Ones shaped like the numeric leaves of t; other leaves are passed on unchanged
    (a tangent as bad as its primal)."""
    def one(a):
        if not isinstance(a, (np.ndarray, np.generic, int, float, complex)):
            return a
        if np.asarray(a).dtype.kind not in "biufc":
            return a
        return (np.ones(np.shape(a), dtype=np.asarray(a).dtype) * scale).astype(np.asarray(a).dtype)
    return tree_map(one, t)


def mul(a, b):
    return tree_map(lambda x, y: _as64(x) * _as64(y), a, b)


def diag_blocks(jac, t):
    """Check a Jacobian of the elementwise G (output tree of input tree) against fd1."""
    d = tree_flatten(fd1(t))[0]
    leaves = [np.asarray(a) for a in tree_flatten(t)[0]]
    blocks = tree_flatten(jac)[0]
    n = len(leaves)
    assert len(blocks) == n * n
    for i in range(n):
        for j in range(n):
            b = np.asarray(blocks[i * n + j])
            assert b.shape == leaves[i].shape + leaves[j].shape
            want = np.diag(d[i].ravel()) if i == j else np.zeros((leaves[i].size, leaves[j].size))
            np.testing.assert_allclose(b.reshape(want.shape), want, rtol=tol(t), atol=tol(t))


# ---------------------------------------------------------------------------------------
# the transforms: each runs on one argument and checks its own answer
# ---------------------------------------------------------------------------------------


def _custom_vjp():
    @fgrad.custom_vjp
    def f(t):
        return F(t)

    f.defvjp(lambda t: (F(t), t),
             lambda t, g: (tree_map(lambda a: g * (fnp.cos(a) * a + fnp.sin(a)), t),))
    return f


def _custom_jvp():
    @fgrad.custom_jvp
    def f(t):
        return F(t)

    @f.defjvp
    def f_jvp(primals, tangents):
        (t,), (dt,) = primals, tangents
        tan = 0.0
        for a, da in zip(tree_flatten(t)[0], tree_flatten(dt)[0]):
            tan = tan + fnp.sum(da * (fnp.cos(a) * a + fnp.sin(a)))
        return F(t), tan

    return f


def run_grad(t):
    close(fgrad.grad(F)(t), fd1(t), tol(t))


def run_value_and_grad(t):
    v, g = fgrad.value_and_grad(F)(t)
    close(v, F(tree_map(_as64, t)), tol(t))
    close(g, fd1(t), tol(t))


def run_vjp(t):
    out, f_vjp = fgrad.vjp(G, t)
    close(out, G(tree_map(_as64, t)), tol(t))
    u = ones_like(out, 0.5)
    close(f_vjp(u)[0], mul(fd1(t), u), tol(t))


def run_jvp(t):
    v = ones_like(t, 0.5)
    out, tan = fgrad.jvp(G, (t,), (v,))
    close(tan, mul(fd1(t), v), tol(t))


def run_jacfwd(t):
    diag_blocks(fgrad.jacfwd(G)(t), t)


def run_jacrev(t):
    diag_blocks(fgrad.jacrev(G)(t), t)


def run_hessian(t):
    h = fgrad.hessian(F)(t)
    d2 = tree_flatten(fd2(t))[0]
    blocks = tree_flatten(h)[0]
    n = len(d2)
    for i in range(n):
        for j in range(n):
            b = np.asarray(blocks[i * n + j])
            want = np.diag(d2[i].ravel()) if i == j else 0 * b.reshape(d2[i].size, -1)
            np.testing.assert_allclose(b.reshape(want.shape), want, rtol=1e-3 + tol(t),
                                       atol=1e-3 + tol(t))


def run_hvp(t):
    v = ones_like(t, 0.5)
    close(fgrad.hvp(F, (t,), (v,)), mul(fd2(t), v), 1e-3 + tol(t))


def run_linearize(t):
    out, f_jvp = fgrad.linearize(G, t)
    v = ones_like(t, 0.5)
    close(f_jvp(v), mul(fd1(t), v), tol(t))


def run_linear_transpose(t):
    f_t = fgrad.linear_transpose(lambda s: tree_map(lambda a: 2 * a, s), t)
    ct = ones_like(t, 0.5)
    eps = 1e-6
    slope = tree_map(lambda a: ((2 * (_as64(a) + eps)) - 2 * (_as64(a) - eps)) / (2 * eps), t)
    close(f_t(ct)[0], mul(slope, ct), tol(t))


def run_vmap(t):
    close(fgrad.vmap(G)(t), G(tree_map(_as64, t)), tol(t))


def run_checkpoint(t):
    close(fgrad.grad(fgrad.checkpoint(F))(t), fd1(t), tol(t))


def run_custom_vjp(t):
    close(fgrad.grad(_custom_vjp())(t), fd1(t), tol(t))


def run_custom_jvp(t):
    close(fgrad.grad(_custom_jvp())(t), fd1(t), tol(t))


def run_stop_gradient(t):
    close(fgrad.grad(lambda s: F(s) + F(fgrad.stop_gradient(s)))(t), fd1(t), tol(t))


def run_check_grads(t):
    fgrad.check_grads(G, (t,), order=1)


def run_make_graph(t):
    close(fgrad.make_graph(F)(t).value, F(tree_map(_as64, t)), tol(t))


TRANSFORMS = {name[4:]: fn for name, fn in dict(globals()).items() if name.startswith("run_")}

# ---------------------------------------------------------------------------------------
# the catalogue of inputs
# ---------------------------------------------------------------------------------------


def _noncontig():
    return np.arange(12.0).reshape(3, 4).T[::2] / 7.0


def _readonly():
    a = np.array([0.3, -1.2, 2.0])
    a.flags.writeable = False
    return a


# name -> (make input, what is acceptable)
#   "exact": must give the right answer
#   ("error", words[, transforms]): the right answer, or a TypeError/ValueError naming one
#   of the words (only from the listed transforms, if a set is given)
KINDS = {
    "f64-vector": (lambda: np.array([0.3, -1.2, 2.0]), "exact"),
    "f64-matrix": (lambda: np.array([[0.3, -1.2], [2.0, 0.7]]), "exact"),
    "0d-array": (lambda: np.array(0.7), ("error", ["rank", "axis"], {"vmap"})),
    "python-float": (lambda: 0.7, ("error", ["rank", "axis"], {"vmap"})),
    "numpy-scalar": (lambda: np.float64(0.7), ("error", ["rank", "axis"], {"vmap"})),
    "0-size": (lambda: np.zeros((0, 3)), "exact"),
    "non-contiguous": (_noncontig, "exact"),
    "read-only": (_readonly, "exact"),
    "float32": (lambda: np.array([0.3, -1.2, 2.0], np.float32), "exact"),
    "float16": (lambda: np.array([0.3, -1.2, 2.0], np.float16), "exact"),
    "complex": (lambda: np.array([0.3 + 0.2j, -1.0 + 0.5j]),
                ("error", ["complex", "real"])),
    "int": (lambda: np.array([1, 2, 3]), ("error", ["integer", "int64", "float"])),
    "python-int": (lambda: 3, ("error", ["integer", "int", "float", "rank"])),
    "bool": (lambda: np.array([True, False]), ("error", ["bool", "float"])),
    "nested-pytree": (lambda: {"w": np.array([[0.3, -1.2], [2.0, 0.7]]),
                               "b": [np.array([0.5, 0.1]), (np.array([1.5, -0.5]),)]}, "exact"),
    "list-of-arrays": (lambda: [np.array([0.3, -1.2]), np.array([2.0, 0.7])], "exact"),
    "empty-tuple": (lambda: (), ("error", ["argument", "leaves", "scalar"])),
    "None": (lambda: None, ("error", ["argument", "None", "leaves"])),
    "str": (lambda: "float64", ("error", ["str"])),
    "bytes": (lambda: b"ab", ("error", ["bytes"])),
    "dtype": (lambda: np.dtype("float64"), ("error", ["DType", "dtype"])),
    "type-float": (lambda: float, ("error", ["type"])),
    "Decimal": (lambda: decimal.Decimal("1.5"), ("error", ["Decimal"])),
    "object": (lambda: object(), ("error", ["object"])),
    "str-array": (lambda: np.array(["a", "b"]), ("error", ["<U1", "dtype"])),
    "object-array": (lambda: np.array([1.0, 2.0], dtype=object), ("error", ["object"])),
    "str-in-pytree": (lambda: {"a": np.ones(2), "b": "x"}, ("error", ["['b']"])),
    "masked-array": (lambda: np.ma.masked_array([0.3, -1.2, 2.0], mask=[0, 1, 0]),
                     ("error", ["masked"])),
    "np-matrix": (lambda: np.matrix([[0.3, -1.2], [2.0, 0.7]]), ("error", ["matrix"])),
}

# (transform, kind) cells whose right outcome is not an error although the kind is
# refused elsewhere: the kind is a legitimate input there
ALLOWED_RESULTS = {
    # vmap and make_graph differentiate nothing: integers and bools are fine inputs
    ("vmap", "int"), ("vmap", "bool"), ("make_graph", "int"), ("make_graph", "bool"),
    ("make_graph", "python-int"),
}

# numpy's own messages, which must not be what a user sees from fgrad
NUMPY_WORDS = [
    "could not convert", "not understood", "Cannot interpret", "setting an array element",
    "operands could not be broadcast", "not supported between instances", "has no attribute",
    "out of bounds", "ufunc", "unsupported operand",
]


def _check_error(err, words):
    assert isinstance(err, (TypeError, ValueError)), f"{type(err).__name__}: {err}"
    msg = str(err)
    for w in NUMPY_WORDS:
        assert w not in msg, f"numpy-internal message: {msg}"
    assert any(w.lower() in msg.lower() for w in words), f"message does not name {words}: {msg}"


def _reference_plain(kind):
    """make_graph passes non-numeric leaves through as constants: whatever the plain
    call does (a value or the function's own error) is the right outcome there."""
    try:
        return F(KINDS[kind][0]()), None
    except Exception as err:  # noqa: BLE001 - the plain call's own outcome
        return None, type(err)


def _cells():
    for t in TRANSFORMS:
        for k in KINDS:
            yield pytest.param(t, k, id=f"{t}-{k}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("transform,kind", list(_cells()))
def test_transform_by_input_kind(transform, kind):
    make, expect = KINDS[kind]
    numeric = kind not in {"str", "bytes", "dtype", "type-float", "Decimal", "object",
                           "str-array", "object-array", "str-in-pytree"}
    if transform == "make_graph" and not numeric:
        want, err_type = _reference_plain(kind)
        if err_type is not None:
            with pytest.raises(err_type):
                fgrad.make_graph(F)(make())
        else:
            close(fgrad.make_graph(F)(make()).value, want, 1e-12)
        return
    try:
        TRANSFORMS[transform](make())
    except AssertionError:
        raise
    except Exception as err:  # noqa: BLE001 - judged below
        if expect == "exact" or (transform, kind) in ALLOWED_RESULTS:
            raise
        if len(expect) > 2 and transform not in expect[2]:
            raise
        _check_error(err, expect[1])


# ---------------------------------------------------------------------------------------
# wrong cotangents, tangents, axes and argnums
# ---------------------------------------------------------------------------------------

X = {"a": np.array([0.3, -1.2]), "b": np.array([2.0, 0.7, 1.1])}

BAD_COTANGENTS = {
    "shape": ({"a": np.ones(3), "b": np.ones(3)}, ["shape"]),
    "missing-key": ({"a": np.ones(2)}, ["'b'"]),
    "other-key": ({"a": np.ones(2), "c": np.ones(3)}, ["'b'", "'c'"]),
    "tuple-for-dict": ((np.ones(2), np.ones(3)), ["dict", "tuple"]),
    "array-for-dict": (np.ones(5), ["dict", "leaf"]),
    "complex-for-real": ({"a": np.ones(2) * 1j, "b": np.ones(3)}, ["complex"]),
    "str": ({"a": "x", "b": np.ones(3)}, ["str"]),
    "None-leaf": ({"a": None, "b": np.ones(3)}, ["None", "'a'"]),
    "0d-for-vector": ({"a": np.array(1.0), "b": np.ones(3)}, ["shape"]),
}
GOOD_COTANGENTS = {
    "int-dtype": {"a": np.array([1, 2]), "b": np.array([3, 1, 2])},
    "float32": {"a": np.ones(2, np.float32), "b": np.ones(3, np.float32)},
    "python-lists-as-leaves": {"a": np.array([1.0, 2.0]), "b": np.array([1.0, 1.0, 0.5])},
}


@pytest.mark.parametrize("where", ["vjp_fun", "linear_transpose"])
@pytest.mark.parametrize("kind", list(BAD_COTANGENTS) + list(GOOD_COTANGENTS))
def test_cotangents(where, kind):
    if where == "vjp_fun":
        _, f = fgrad.vjp(G, X)
        slope = fd1(X)
    else:
        f = fgrad.linear_transpose(lambda s: tree_map(lambda a: 2 * a, s), X)
        slope = tree_map(lambda a: 2.0 + 0 * a, X)
    if kind in GOOD_COTANGENTS:
        ct = GOOD_COTANGENTS[kind]
        close(f(ct)[0], mul(slope, ct), 1e-5)
        return
    ct, words = BAD_COTANGENTS[kind]
    with pytest.raises((TypeError, ValueError)) as info:
        f(ct)
    _check_error(info.value, words)


BAD_TANGENTS = {
    "shape": ({"a": np.ones(3), "b": np.ones(3)}, ["shape"]),
    "other-key": ({"a": np.ones(2), "c": np.ones(3)}, ["'b'", "'c'"]),
    "complex-for-real": ({"a": np.ones(2) * 1j, "b": np.ones(3)}, ["complex"]),
    "str": ({"a": "x", "b": np.ones(3)}, ["str"]),
    "array-for-dict": (np.ones(5), ["dict", "leaf"]),
}


@pytest.mark.parametrize("where", ["jvp", "linearize", "hvp"])
@pytest.mark.parametrize("kind", list(BAD_TANGENTS) + ["int-dtype"])
def test_tangents(where, kind):
    if kind == "int-dtype":
        v = {"a": np.array([1, 2]), "b": np.array([3, 1, 2])}
    else:
        v, words = BAD_TANGENTS[kind]
    if where == "jvp":
        call, want = (lambda: fgrad.jvp(G, (X,), (v,))[1]), lambda: mul(fd1(X), v)
    elif where == "linearize":
        call, want = (lambda: fgrad.linearize(G, X)[1](v)), lambda: mul(fd1(X), v)
    else:
        call, want = (lambda: fgrad.hvp(F, (X,), (v,))), lambda: mul(fd2(X), v)
    if kind == "int-dtype":
        close(call(), want(), 1e-3)
        return
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    _check_error(info.value, words)


BAD_AXES = {
    "in_axes-out-of-range": (dict(in_axes=5), ["axis"]),
    "in_axes-negative-out-of-range": (dict(in_axes=-5), ["axis"]),
    "in_axes-too-many": (dict(in_axes=(0, 0)), ["in_axes"]),
    "in_axes-str": (dict(in_axes="a"), ["in_axes"]),
    "in_axes-float": (dict(in_axes=1.5), ["in_axes"]),
    "in_axes-wrong-dict-keys": (dict(in_axes=({"a": 0, "c": 0},)), ["in_axes"]),
    "out_axes-out-of-range": (dict(out_axes=5), ["out_axes", "axis"]),
    "out_axes-too-many": (dict(out_axes=(0, 0)), ["out_axes"]),
    "out_axes-str": (dict(out_axes="x"), ["out_axes"]),
}
@pytest.mark.parametrize("kind", list(BAD_AXES))
def test_vmap_axes(kind):
    kwargs, words = BAD_AXES[kind]
    x = {"a": np.ones((2, 3)), "b": np.ones((2, 4))}
    with pytest.raises((TypeError, ValueError)) as info:
        fgrad.vmap(lambda d: fnp.sum(d["a"]) + fnp.sum(d["b"]), **kwargs)(x)
    _check_error(info.value, words)


BAD_ARGNUMS = {
    "out-of-range": (5, ["argnums"]),
    "negative-out-of-range": (-3, ["argnums"]),
    "duplicate": ((0, 0), ["argnums"]),
    "str": ("a", ["argnums"]),
    "float": (1.5, ["argnums"]),
    "None": (None, ["argnums"]),
}


@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacrev", "jacfwd", "hessian"])
@pytest.mark.parametrize("kind", list(BAD_ARGNUMS))
def test_argnums(transform, kind):
    argnums, words = BAD_ARGNUMS[kind]
    with pytest.raises((TypeError, ValueError)) as info:
        getattr(fgrad, transform)(lambda x, y: fnp.sum(x * y), argnums=argnums)(1.0, 2.0)
    _check_error(info.value, words)
