"""jacfwd, jacrev and hessian hand their unit vectors to vmap as a structured batch
(``fgrad.batching._BasisTracer``: the identity, or a diagonal scaling of it) instead of
a dense ``eye(n)``; a few rows keep the structure, products with a fixed matrix turn it
into the matrix's rows or columns, and every other rule sees the dense array.

The oracle is the same transform with the dense identity (``fgrad.api._STRUCTURED_BASIS
= False``, the tree before this change), on random programs over the rows the
structure meets (elementwise rows, products in both operand orders, broadcasting,
reductions, indexing, reshapes, non-square shapes, pytrees of inputs, nested
transforms), and central differences.  One test pins that ``tanh(A @ y)`` takes the
structured path all the way (no dense identity is ever made), so the speed-up cannot
disappear silently.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.api
import fgrad.batching as batching
import fgrad.numpy as fnp


def both(transform, f, *args, **kw):
    """``transform(f, **kw)(*args)`` with the structured unit vectors, and with the dense
    identity."""
    old = fgrad.api._STRUCTURED_BASIS
    try:
        fgrad.api._STRUCTURED_BASIS = True
        fast = transform(f, **kw)(*args)
        fgrad.api._STRUCTURED_BASIS = False
        dense = transform(f, **kw)(*args)
    finally:
        fgrad.api._STRUCTURED_BASIS = old
    return fast, dense


def same(fast, dense, rtol=1e-12, atol=1e-13):
    fl, ft = fgrad.tree_util.tree_flatten(fast)
    dl, dt = fgrad.tree_util.tree_flatten(dense)
    assert ft == dt
    for a, b in zip(fl, dl):
        assert type(a) is type(b) or (isinstance(a, np.generic) and isinstance(b, np.generic))
        assert np.shape(a) == np.shape(b) and np.result_type(a) == np.result_type(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def central(f, x, h=1e-6):
    """The Jacobian of ``f`` at vector ``x`` by central differences, (out..., in)."""
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


@pytest.fixture
def counted(monkeypatch):
    """Counts of the dense identity being made, and of each structured rule that
    answered (returned a structured or dense result instead of None)."""
    counts = {"materialised": 0}
    plain = batching._BasisTracer._materialise

    def materialise(self):
        counts["materialised"] += 1
        return plain(self)

    monkeypatch.setattr(batching._BasisTracer, "_materialise", materialise)
    rules = dict(batching._BASIS_RULES)
    for name, rule in rules.items():
        def wrapped(*a, _rule=rule, _name=name, **k):
            out = _rule(*a, **k)
            if out is not None:
                counts[_name] = counts.get(_name, 0) + 1
            return out
        monkeypatch.setitem(batching._BASIS_RULES, name, wrapped)
    return counts


# --------------------------------------------------------------------------
# the benchmark's function takes the structured path
# --------------------------------------------------------------------------


def test_tanh_of_matmul_never_makes_the_identity(counted):
    rng = np.random.default_rng(0)
    n = 40
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    t = np.tanh(A @ x)
    J = (1 - t ** 2)[:, None] * A
    H = A.T @ ((2 * (1 - t ** 2) * (1 - 3 * t ** 2))[:, None] * A)

    def f(y):
        return fnp.tanh(A @ y)

    def s(y):
        return fnp.sum(fnp.tanh(A @ y) ** 2)

    np.testing.assert_allclose(fgrad.jacrev(f)(x), J, rtol=1e-13, atol=1e-15)
    assert counted["materialised"] == 0 and counted["matmul"] == 1
    assert counted["multiply"] == 1  # tanh's cotangent rule: g * (1 - t^2)
    np.testing.assert_allclose(fgrad.jacfwd(f)(x), J, rtol=1e-13, atol=1e-15)
    assert counted["materialised"] == 0 and counted["matmul"] == 2
    np.testing.assert_allclose(fgrad.hessian(s)(x), H, rtol=1e-12, atol=1e-14)
    assert counted["materialised"] == 0 and counted["matmul"] == 3
    # the same with the product written the other way round, and with dot
    np.testing.assert_allclose(fgrad.jacrev(lambda y: fnp.tanh(y @ A.T))(x), J, rtol=1e-13,
                               atol=1e-15)
    np.testing.assert_allclose(fgrad.jacfwd(lambda y: fnp.tanh(fnp.dot(A, y)))(x), J,
                               rtol=1e-13, atol=1e-15)
    assert counted["materialised"] == 0


def test_the_dense_identity_is_made_where_a_rule_needs_it(counted):
    # sin of the unit vectors themselves: no structured rule, the dense identity
    x = np.linspace(0.1, 1.0, 5)
    fast, dense = both(fgrad.jacfwd, lambda y: fnp.sin(y) + fnp.cumsum(y), x)
    same(fast, dense)
    assert counted["materialised"] >= 1
    np.testing.assert_allclose(fast, np.diag(np.cos(x)) + np.tril(np.ones((5, 5))))


# --------------------------------------------------------------------------
# hand-written cases of each structured rule
# --------------------------------------------------------------------------

rng0 = np.random.default_rng(1)
A34 = rng0.standard_normal((3, 4))
A43 = rng0.standard_normal((4, 3))
S243 = rng0.standard_normal((2, 4, 3))
S234 = rng0.standard_normal((2, 3, 4))
W4 = rng0.uniform(0.5, 1.5, 4)
W24 = rng0.uniform(0.5, 1.5, (2, 4))

CASES = {
    "A @ y": lambda y: A34 @ y,
    "y @ B": lambda y: y @ A43,
    "stack @ y": lambda y: S234 @ y,
    "y @ stack": lambda y: y @ S243,
    "y @ w (dot product)": lambda y: y @ W4,
    "w @ y": lambda y: fnp.matmul(W4, y),
    "y * w, then A @": lambda y: A34 @ (y * W4),
    "w * y / w2": lambda y: fnp.tanh(W4 * y / (W4 + 1.0)),
    "2 * y / 3 - y": lambda y: A34 @ (2.0 * y / 3.0 - y),
    "y * y (two diagonals)": lambda y: A34 @ (y * y),
    "y + y, y - 2y": lambda y: (y + y, y - 2.0 * y),
    "-y": lambda y: A34 @ (-y),
    "broadcast to a matrix": lambda y: fnp.sin(W24 * y),
    "y + constant": lambda y: A34 @ (y + W4),
    "sum": lambda y: fnp.sum(y * W4),
    "sum keepdims": lambda y: fnp.sum(W4 * y, keepdims=True),
    "sum axis 0": lambda y: fnp.sum(y, axis=0) * 2.0,
    "mean": lambda y: fnp.mean(y) + fnp.sum(y ** 2),
    "reshape": lambda y: fnp.reshape(y * W4, (2, 2)) @ A34[:2, :2],
    "reshape -1": lambda y: A43.T @ fnp.reshape(fnp.reshape(y, (2, 2)), (-1,)),
    "index": lambda y: (y[1:3] * 2.0, y[::2] @ A43[:2]),
    "outer": lambda y: fnp.outer(y, W4),
    "einsum": lambda y: fnp.einsum("ij,j->i", A34, y),
    "identity": lambda y: y,
    "constant": lambda y: A34 @ W4,
    "pytree output": lambda y: {"a": A34 @ y, "b": [fnp.sum(y), y * W4]},
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("transform", [fgrad.jacfwd, fgrad.jacrev], ids=["jacfwd", "jacrev"])
def test_cases_against_the_dense_identity_and_differences(transform, name):
    f = CASES[name]
    x = np.array([0.3, -0.7, 1.1, 0.5])
    fast, dense = both(transform, f, x)
    same(fast, dense)
    leaves = fgrad.tree_util.tree_leaves(fast)
    for k, leaf in enumerate(leaves):
        def part(v, k=k):
            return np.asarray(fgrad.tree_util.tree_leaves(f(v))[k])
        np.testing.assert_allclose(leaf, central(part, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_hessian_and_nested(name):
    f = CASES[name]
    x = np.array([0.3, -0.7, 1.1, 0.5])
    w = [np.cos(np.arange(np.size(v)) + 1.0).reshape(np.shape(v))
         for v in fgrad.tree_util.tree_leaves(f(x))]

    def s(y):
        return sum(fnp.sum(fnp.sin(v) * c) for v, c in zip(fgrad.tree_util.tree_leaves(f(y)), w))

    fast, dense = both(fgrad.hessian, s, x)
    same(fast, dense)
    g = fgrad.grad(s)
    np.testing.assert_allclose(fast, central(g, x), rtol=1e-5, atol=1e-6)
    fast, dense = both(lambda h: fgrad.jacrev(fgrad.jacfwd(h)), f, x)
    same(fast, dense)


# --------------------------------------------------------------------------
# random programs
# --------------------------------------------------------------------------

UNARY = {
    "sin": fnp.sin, "tanh": fnp.tanh, "exp": lambda v: fnp.exp(v / 4), "square": fnp.square,
    "negative": fnp.negative, "soft": lambda v: fnp.sqrt(v * v + 1.0),
    "pow": lambda v: (v * v + 1.0) ** 1.5, "log1p": lambda v: fnp.log1p(v * v),
}


@st.composite
def program(draw):
    """A random program: a list of steps on a current value ``v`` (an example of shape
    ``shape``) and the earlier values, each drawn with its constants."""
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from([(1,), (2,), (5,), (3,), (2, 3), (1, 4)]))
    steps, cur = [], shape
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(
            ["unary", "scale", "divide", "earlier", "matmul_left", "matmul_right", "sum",
             "index", "reshape", "broadcast", "transpose", "plus_const"]))
        n = cur[-1] if cur else 1
        if kind == "unary":
            steps.append(("unary", draw(st.sampled_from(sorted(UNARY)))))
        elif kind == "scale":
            cshape = draw(st.sampled_from([(), cur, cur[-1:]]))
            steps.append(("scale", rng.uniform(0.5, 1.5, cshape), draw(st.booleans())))
        elif kind == "divide":
            steps.append(("divide", rng.uniform(0.5, 1.5, draw(st.sampled_from([(), cur])))))
        elif kind == "earlier":
            steps.append(("earlier", draw(st.sampled_from(["add", "subtract", "multiply"]))))
        elif kind == "matmul_left" and len(cur) == 1:
            m = draw(st.integers(1, 4))
            lead = draw(st.sampled_from([(), (2,)]))
            M = rng.standard_normal(lead + (m, n))
            steps.append(("matmul_left", M))
            cur = lead + (m,)
        elif kind == "matmul_right" and len(cur) in (1, 2):
            m = draw(st.integers(1, 4))
            M = rng.standard_normal((n, m)) if draw(st.booleans()) else rng.standard_normal(n)
            steps.append(("matmul_right", M))
            cur = cur[:-1] + M.shape[1:]
        elif kind == "sum" and cur:
            axis = draw(st.sampled_from([None, 0, -1, tuple(range(len(cur)))]))
            keep = draw(st.booleans())
            steps.append(("sum", axis, keep))
            cur = np.sum(np.zeros(cur), axis=axis, keepdims=keep).shape
        elif kind == "index" and cur and cur[0] > 1:
            idx = draw(st.sampled_from([slice(1, None), slice(None, None, 2), 0,
                                        np.array([0, 0, cur[0] - 1])]))
            steps.append(("index", idx))
            cur = np.zeros(cur)[idx].shape
        elif kind == "reshape" and cur:
            new = draw(st.sampled_from([(-1,), cur[::-1], (1,) + cur]))
            steps.append(("reshape", new))
            cur = np.zeros(cur).reshape(new).shape
        elif kind == "broadcast":
            steps.append(("broadcast", rng.uniform(0.5, 1.5, (2,) + cur)))
            cur = (2,) + cur
        elif kind == "transpose" and len(cur) >= 2:
            steps.append(("transpose",))
            cur = cur[::-1]
        elif kind == "plus_const":
            steps.append(("plus_const", rng.uniform(-1, 1, cur)))
    x = rng.uniform(-1.0, 1.0, shape)
    return steps, x


def run(steps, x):
    vals = [x]
    v = x
    for step in steps:
        kind = step[0]
        if kind == "unary":
            v = UNARY[step[1]](v)
        elif kind == "scale":
            v = v * step[1] if step[2] else step[1] * v
        elif kind == "divide":
            v = v / step[1]
        elif kind == "earlier":
            same_shape = [u for u in vals if np.shape(u) == np.shape(v)]
            u = same_shape[0]
            v = {"add": fnp.add, "subtract": fnp.subtract, "multiply": fnp.multiply}[step[1]](v, u)
        elif kind == "matmul_left":
            v = step[1] @ v
        elif kind == "matmul_right":
            v = v @ step[1]
        elif kind == "sum":
            v = fnp.sum(v, axis=step[1], keepdims=step[2])
        elif kind == "index":
            v = v[step[1]]
        elif kind == "reshape":
            v = fnp.reshape(v, step[1])
        elif kind == "broadcast":
            v = step[1] * v
        elif kind == "transpose":
            v = fnp.transpose(v)
        elif kind == "plus_const":
            v = v + step[1]
        vals.append(v)
    return v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program())
def test_random_programs_against_the_dense_identity(prog):
    steps, x = prog

    def f(y):
        return run(steps, y)

    for transform in (fgrad.jacfwd, fgrad.jacrev):
        fast, dense = both(transform, f, x)
        same(fast, dense)
    np.testing.assert_allclose(fast, central(f, x), rtol=1e-6, atol=1e-7)
    w = np.cos(np.arange(np.size(f(x))) + 0.5).reshape(np.shape(f(x)))

    def s(y):
        return fnp.sum(fnp.tanh(f(y)) * w)

    fast, dense = both(fgrad.hessian, s, x)
    same(fast, dense)
    np.testing.assert_allclose(fast, central(fgrad.grad(s), x), rtol=1e-5, atol=1e-6)
    fast, dense = both(lambda h: fgrad.jacfwd(fgrad.jacrev(h)), f, x)
    same(fast, dense)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(), program())
def test_random_programs_of_a_pytree_of_inputs(p1, p2):
    (s1, x1), (s2, x2) = p1, p2

    def f(d):
        a, b = run(s1, d["a"]), run(s2, d["b"])
        return {"out": a, "mixed": fnp.sum(a) * fnp.tanh(b)}

    d = {"a": x1, "b": x2}
    for transform in (fgrad.jacfwd, fgrad.jacrev):
        fast, dense = both(transform, f, d)
        same(fast, dense)

    def g(a, b):
        return fnp.sum(run(s1, a) ** 2) * fnp.sum(fnp.sin(run(s2, b)))

    fast, dense = both(fgrad.hessian, g, x1, x2, argnums=(0, 1))
    same(fast, dense)


# --------------------------------------------------------------------------
# values of enclosing transforms, dtypes, aliasing, non-finite values
# --------------------------------------------------------------------------


def test_under_vmap_grad_and_jit():
    rng = np.random.default_rng(3)
    As = rng.standard_normal((3, 4, 4))
    ws = rng.uniform(0.5, 1.5, (3, 4))
    x = rng.standard_normal(4)

    def per(A, w):  # the diagonal becomes a value of the enclosing vmap (w * e), and
        # sin needs the dense identity built from it
        return fgrad.jacrev(lambda y: fnp.sin(w * y) + fnp.tanh(A @ (w * y)))(x)

    fast, dense = both(lambda h: fgrad.vmap(h), per, As, ws)
    loop = np.stack([per(A, w) for A, w in zip(As, ws)])
    same(fast, dense)
    same(fast, loop)

    def outer(w):  # the diagonal is a reverse-mode value of the enclosing grad
        J = fgrad.jacfwd(lambda y: fnp.cos(w * y) + (w * y) @ As[0])(x)
        return fnp.sum(J * J)

    fast, dense = both(fgrad.grad, outer, ws[0])
    same(fast, dense)
    np.testing.assert_allclose(fast, central(outer, ws[0]), rtol=1e-6, atol=1e-7)
    if hasattr(fgrad, "jit"):
        f = lambda y: fnp.tanh(As[1] @ y)  # noqa: E731
        same(fgrad.jit(fgrad.jacrev(f))(x), fgrad.jacrev(f)(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_follow_the_dense_path(dtype):
    A = np.arange(12.0).reshape(3, 4).astype(dtype)
    x = np.linspace(0.1, 0.4, 4).astype(dtype)
    for f in (lambda y: fnp.tanh(A @ y), lambda y: y @ A.T * 2.0, lambda y: fnp.sum(y / 3)):
        for transform in (fgrad.jacfwd, fgrad.jacrev):
            fast, dense = both(transform, f, x)
            assert np.result_type(fast) == np.result_type(dense)
            same(fast, dense, rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_holomorphic():
    A = np.array([[1.0 + 2j, 0.5], [0.3j, 2.0 - 1j]])
    z = np.array([0.2 + 0.1j, -0.3 + 0.5j])
    for transform in (fgrad.jacfwd, fgrad.jacrev):
        fast, dense = both(transform, lambda y: fnp.sin(A @ (2.0 * y)), z, holomorphic=True)
        same(fast, dense)


def test_the_result_is_never_a_constant_of_the_function():
    A = np.arange(16.0).reshape(4, 4)
    x = np.ones(4)
    for transform in (fgrad.jacfwd, fgrad.jacrev):
        for f in (lambda y: A @ y, lambda y: y @ A):
            J = transform(f)(x)
            assert not np.shares_memory(J, A)
            J[...] = 0.0
            assert A[1, 2] == 6.0


def test_structural_zeros_stay_zero_where_the_dense_identity_meets_inf():
    # sqrt' is inf at 0: the dense identity multiplies it by the zeros of the other unit
    # vectors (nan there); the structured one keeps the derivative's exact 0
    x = np.array([0.0, 1.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        fast, dense = both(fgrad.jacrev, fnp.sqrt, x)
    np.testing.assert_array_equal(fast, np.diag([np.inf, 0.5, 0.25]))
    assert np.isnan(dense[1:, 0]).all()
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_array_equal(fast[off & np.isfinite(dense)], dense[off & np.isfinite(dense)])


def test_chunks_and_single_elements_keep_the_dense_identity(counted):
    A = np.arange(6.0).reshape(2, 3)
    J = fgrad.jacrev(lambda y: A @ y, chunk_size=1)(np.ones(3))
    np.testing.assert_array_equal(J, A)
    J = fgrad.jacfwd(lambda y: A[:, :1] @ y)(np.ones(1))
    np.testing.assert_array_equal(J, A[:, :1])
    assert counted.get("matmul", 0) == 0


def test_vmap_unit_vectors_matches_vmap_of_the_identity():
    rng = np.random.default_rng(5)
    M = rng.standard_normal((3, 6))

    def fun(e):
        return [fnp.reshape(e, (6,)) @ M.T, fnp.sum(e * 2.0), fnp.cos(e)]

    got = batching.vmap_unit_vectors(fun, (2, 3), np.float64)
    want = fgrad.vmap(fun)(np.eye(6).reshape(6, 2, 3))
    same(got, want)


BAD = {
    "a masked array": lambda y: y * np.ma.masked_array(np.ones(4), mask=[0, 1, 0, 0]),
    "an np.matrix": lambda y: y * np.matrix(np.ones(4)),
    "two unknown sizes": lambda y: fnp.reshape(y, (-1, -1, 4)),
    "a bad size": lambda y: fnp.reshape(y, (3,)),
    "mismatched product": lambda y: y @ np.ones((3, 2)),
    "mismatched product, other order": lambda y: np.ones((2, 3)) @ y,
    "0-d product": lambda y: fnp.matmul(y, np.float64(2.0)),
    "bad sum axis": lambda y: fnp.sum(y, axis=1),
}


@pytest.mark.parametrize("name", sorted(BAD))
@pytest.mark.parametrize("transform", [fgrad.jacfwd, fgrad.jacrev], ids=["jacfwd", "jacrev"])
def test_bad_inputs_give_the_dense_paths_error(transform, name):
    f = BAD[name]
    x = np.ones(4)
    errors = []
    for structured in (True, False):
        old = fgrad.api._STRUCTURED_BASIS
        fgrad.api._STRUCTURED_BASIS = structured
        try:
            with pytest.raises(Exception) as info:
                transform(f)(x)
        finally:
            fgrad.api._STRUCTURED_BASIS = old
        errors.append(info.value)
    fast, dense = errors
    assert type(fast) is type(dense) and str(fast) == str(dense)
    assert isinstance(fast, (TypeError, ValueError))


@pytest.mark.parametrize("structured", [True, False])
@pytest.mark.parametrize("transform", [fgrad.jacfwd, fgrad.jacrev], ids=["jacfwd", "jacrev"])
def test_no_two_blocks_share_memory(monkeypatch, transform, structured):
    # an output returned twice (or two views of one value) must give independent
    # blocks: writing into one block changes no other
    monkeypatch.setattr(fgrad.api, "_STRUCTURED_BASIS", structured)
    x = np.array([1.0, 2.0, 3.0])
    for f in (lambda y: (y, y), lambda y: (y, 2.0 * y), lambda y: [y[:2], y[1:], y]):
        blocks = fgrad.tree_util.tree_leaves(transform(f)(x))
        for i, a in enumerate(blocks):
            for b in blocks[i + 1:]:
                assert not np.shares_memory(a, b)


@pytest.mark.parametrize("structured", [True, False])
@pytest.mark.parametrize("transform", [fgrad.jacfwd, fgrad.jacrev], ids=["jacfwd", "jacrev"])
def test_no_two_blocks_share_memory_over_inputs(monkeypatch, transform, structured):
    monkeypatch.setattr(fgrad.api, "_STRUCTURED_BASIS", structured)
    x = np.array([1.0, 2.0, 3.0])
    for f in (lambda a, b: a + b, lambda a, b: (a - b, a)):
        blocks = fgrad.tree_util.tree_leaves(transform(f, argnums=(0, 1))(x, x + 1.0))
        for i, a in enumerate(blocks):
            for b in blocks[i + 1:]:
                assert not np.shares_memory(a, b)
