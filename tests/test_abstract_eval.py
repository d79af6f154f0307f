"""Abstract evaluation (fgrad.eval_shape): every row's shape rule against numpy.

For every row of the table, its shape rule on the row's own test cases (the
``test=`` hints that tests/test_primitive_table.py draws from) must give the
shape and dtype numpy's implementation returns; ``eval_shape`` of the row's vjp
and jvp must give the shapes and dtypes of the real derivatives; and
``eval_shape`` on arrays of 10**12 elements must return at once, allocating
nothing of that size.
"""

import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_primitive_table import _diff_positions, _partial, cases

import fgrad
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES
from fgrad.shapes import ShapeNeedsValues, abstract_eval, rule_of
from fgrad.staging import RAN_WITHOUT_RULE, ConcretizationError, StagedValue

S = fgrad.ShapeDtypeStruct

# Rows without a shape rule: eval_shape would run their numpy code once on stand-in data
# of the full size (fgrad.staging.AbstractTrace; rows users declare without shape= and
# outside the categories that give one).  Row -> why it has none.  Every one of fgrad's
# rows has a rule, so the list is empty: test_every_row_has_a_shape_rule fails for a row
# missing a rule and not listed here, and for a listed row that has one.
NO_SHAPE_RULE = {}


# Rows whose output dtype depends on the values for real input (numpy's eigenvalues are
# real when all of them are real): their rules raise fgrad.shapes.ShapeNeedsValues there.
VALUE_DEPENDENT_DTYPE = {"eig", "eigvals", "scipy.linalg.sqrtm"}


def _all_rows():
    PRIMITIVES._complete()
    return sorted(PRIMITIVES.values(), key=lambda p: p.name)


ALL_ROWS = _all_rows()


def test_every_row_has_a_shape_rule():
    missing = sorted(p.name for p in ALL_ROWS if rule_of(p) is None)
    assert missing == sorted(NO_SHAPE_RULE), (
        "rows without a shape rule (declare shape= with the row, see "
        "docs/adding-a-primitive.md), or listed in NO_SHAPE_RULE but having one: "
        f"{sorted(set(missing) ^ set(NO_SHAPE_RULE))}")


# --- every row's rule against numpy ---------------------------------------------------

_INT_ROWS = {"gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "invert",
             "bitwise_count", "left_shift", "right_shift"}


def _nargs(prim):
    impl = prim.impl
    if isinstance(impl, np.ufunc):
        return impl.nin
    if prim.name.startswith("special."):  # scipy's ufuncs, looked up lazily
        return getattr(__import__("scipy.special").special, prim.name[8:]).nin
    import inspect
    params = inspect.signature(impl).parameters.values()
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               for p in params)


def _sorted_rows(rng, shape):
    return (np.sort(rng.standard_normal((5,))), rng.standard_normal(shape)), {"side": "left"}


def _qr_pair(a):
    return (np.linalg.qr(a)[0], a)


# cases for the non-differentiable rows that are not elementwise (they have no test hints)
_NONDIFF_CASES = {
    "argpartition": lambda rng, s: ((rng.standard_normal((4,) + s),), {"kth": 1, "axis": 0}),
    "sort_order": lambda rng, s: ((rng.standard_normal((3,) + s),),
                                  {"axis": [0, -1, None][rng.integers(3)]}),
    "searchsorted": _sorted_rows,
    "argsort": lambda rng, s: ((rng.standard_normal((3,) + s),),
                               {"axis": [0, -1, None][rng.integers(3)]}),
    "scipy.stats.poisson.ppf": lambda rng, s: ((rng.uniform(0.1, 0.9, s), 2.5), {}),
    "scipy.stats.poisson.isf": lambda rng, s: ((rng.uniform(0.1, 0.9, s), 2.5), {}),
    "scipy.linalg.lu_piv": lambda rng, s: ((rng.standard_normal(s[:1] + (3, 3)),), {}),
    "scipy.linalg.lu_perm": lambda rng, s: ((rng.standard_normal(s[:1] + (3, 3)),), {}),
    "scipy.linalg.qr_pivots": lambda rng, s: ((rng.standard_normal(s[:1] + (4, 3)),), {}),
    "scipy.linalg.qr_signs": lambda rng, s: (_qr_pair(rng.standard_normal(s[:1] + (4, 3))),
                                             {"mode": "economic"}),
    "scipy.linalg.piv_perm": lambda rng, s: ((np.array([2, 2, 2]),), {}),
    "scipy.stats.psd_part": lambda rng, s: ((np.eye(3) + 0.1 * rng.standard_normal((3, 3)),),
                                            {}),
}
for _name in ("argmax", "argmin", "nanargmax", "nanargmin"):
    _NONDIFF_CASES[_name] = lambda rng, s: (
        (rng.standard_normal((3,) + s),),
        {"axis": [None, 0, -1][rng.integers(3)], "keepdims": bool(rng.integers(2))})


@st.composite
def any_case(draw, prim):
    """``(args, params)`` for any row: the systematic test's cases for differentiable
    rows, else numpy-broadcast arrays (elementwise rows) or the cases above."""
    if not prim.nondiff and not (prim.test or {}).get("skip"):
        return draw(cases(prim))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    shape = draw(st.sampled_from([(), (3,), (2, 3), (1, 3)]))
    if prim.name in _NONDIFF_CASES:
        args, params = _NONDIFF_CASES[prim.name](rng, shape)
        return tuple(args), dict(params)
    assert prim.batch == "elementwise", f"{prim.name}: no test case"
    n = _nargs(prim)
    shapes = [shape, shape[1:], shape][:n]
    if prim.name in _INT_ROWS:
        args = [rng.integers(0, 5, s) for s in shapes]
    elif prim.name == "isnat":
        args = [np.array(["2020-01-01", "NaT"], dtype="datetime64[D]")]
    elif prim.name in ("astype", "astype_nondiff"):
        return (rng.standard_normal(shape),), {"dtype": [np.float32, np.int16][rng.integers(2)]}
    else:
        args = [rng.uniform(-1.5, 1.5, s) for s in shapes]
    return tuple(args), {}


def _abstract(x):
    if isinstance(x, np.ndarray):
        return StagedValue(x.shape, x.dtype)
    return x


RULED = [p for p in ALL_ROWS if p.name not in NO_SHAPE_RULE]


@pytest.mark.parametrize("prim", RULED, ids=lambda p: p.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_shape_rule_is_numpys(prim, data):
    """The rule, on abstract values of the row's test arguments, gives the shape and
    dtype of numpy's output on the arguments."""
    args, params = data.draw(any_case(prim))
    with np.errstate(all="ignore"):
        want = prim.impl(*args, **params)
    try:
        got = abstract_eval(prim, [_abstract(a) for a in args], params)
    except ShapeNeedsValues as err:  # only where numpy's dtype depends on the values
        assert prim.name in VALUE_DEPENDENT_DTYPE, (prim.name, err)
        assert all(np.result_type(a).kind != "c" for a in args)
        return
    assert got == (np.shape(want), np.result_type(want)), (prim.name, params)


# --- the rows' derivatives, evaluated abstractly ----------------------------------------


def _struct(x):
    return S(np.shape(x), np.result_type(x))


DIFF_ROWS = [p for p in RULED if not p.nondiff and not (p.test or {}).get("skip")]


@pytest.mark.parametrize("prim", DIFF_ROWS, ids=lambda p: p.name)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_eval_shape_of_vjp_and_jvp_is_numpys(prim, data):
    """eval_shape of the row's vjp and jvp (the rules traced abstractly) equals the
    shapes and dtypes of the derivatives computed on the data."""
    args, params = data.draw(any_case(prim))
    positions = _diff_positions(prim, args)
    if not positions:
        return
    f = _partial(prim, args, params, positions)
    x = tuple(np.asarray(args[i]) for i in positions)
    with np.errstate(all="ignore"):
        want = f(*x)
    ct = np.ones(np.shape(want), np.result_type(want))
    ts = tuple(np.ones_like(a) for a in x)

    def vjp_f(*a):
        return fgrad.vjp(f, *a)[1](ct)

    def jvp_f(a, t):
        return fgrad.jvp(f, a, t)

    before = dict(RAN_WITHOUT_RULE)
    for fn, inputs in [(vjp_f, x), (jvp_f, (x, ts))]:
        with np.errstate(all="ignore"):
            real = fn(*inputs)
        structs = fgrad.tree.tree_map(_struct, inputs)
        if prim.name in VALUE_DEPENDENT_DTYPE and all(a.dtype.kind != "c" for a in x):
            with pytest.raises(ShapeNeedsValues, match="eval_shape"):
                fgrad.eval_shape(fn, *structs)
            continue
        got = fgrad.eval_shape(fn, *structs)
        assert got == fgrad.tree.tree_map(_struct, real), (prim.name, fn.__name__)
    assert RAN_WITHOUT_RULE == before, "a row ran on stand-in data"


# --- arrays far larger than memory --------------------------------------------------------

BIG = S((10**6, 10**6), np.float64)  # 10**12 elements, 8 TB


def _loss(w):
    h = fnp.tanh(w[:, :8] * 2.0 + 1.0)              # indexing, elementwise
    z = (h.T @ w[:, 8:16]).reshape(4, 16)           # matmul, transpose, reshape
    return fnp.sum(fnp.exp(z) / fnp.max(z, axis=0, keepdims=True)) + fnp.mean(w ** 2)


@pytest.mark.parametrize("case", [
    ("elementwise and reductions", lambda w: fnp.sum(fnp.sin(w) * w + 1.0, axis=0),
     S((10**6,), np.float64)),
    ("matmul", lambda w: w @ w, BIG),
    ("reshape, transpose, indexing", lambda w: w.T.reshape(10**4, -1)[::2, 5],
     S((5000,), np.float64)),
    ("boolean and integer indices", lambda w: w[np.array([0, 5, 5]), :10][:, np.arange(10) > 4],
     S((3, 5), np.float64)),
    ("a loss", _loss, S((), np.float64)),
    ("grad of a loss", fgrad.grad(_loss), BIG),
    ("vjp of indexing", lambda w: fgrad.vjp(lambda v: v[3:7, ::2] * 2.0, w)[1](w[:4, ::2]),
     (BIG,)),
    ("jvp", lambda w: fgrad.jvp(lambda v: fnp.cumsum(fnp.cos(v), axis=1), (w,), (w,)), (BIG, BIG)),
    ("vmap", fgrad.vmap(lambda row: fnp.dot(row, row)), S((10**6,), np.float64)),
    ("jit inside", fgrad.jit(lambda w: fnp.sum(w * w, axis=1)), S((10**6,), np.float64)),
    ("value_and_grad, float32", fgrad.value_and_grad(lambda w: fnp.sum(fnp.log1p(w * w))),
     (S((), np.float64), BIG)),
], ids=lambda c: c[0])
def test_eval_shape_of_huge_arrays_allocates_nothing(case):
    """eval_shape of elementwise, reduction, matmul, reshape and indexing code on an
    array of 10**12 elements, and of its derivatives: the right answer, at once, with
    a small peak of traced memory (numpy's allocations are traced by tracemalloc)."""
    _, fun, want = case
    RAN_WITHOUT_RULE.clear()
    tracemalloc.start()
    start = time.perf_counter()
    try:
        got = fgrad.eval_shape(fun, BIG)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    assert got == want
    assert peak < 2 * 10**6, f"{peak} bytes traced"
    assert elapsed < 2.0
    assert not RAN_WITHOUT_RULE


def test_eval_shape_of_huge_float32_keeps_float32():
    x = S((10**6, 10**6), np.float32)
    got = fgrad.eval_shape(fgrad.grad(lambda w: fnp.sum(fnp.tanh(w) * 0.5)), x)
    assert got == x


def test_abstract_values_are_not_data():
    """Every route to the values of an abstract argument is refused."""
    for f in [lambda x: x if x > 0 else -x, lambda x: float(x), lambda x: np.asarray(x)]:
        with pytest.raises(ConcretizationError):
            fgrad.eval_shape(f, S((), float))


# --- transforms, custom rules and control flow inside ------------------------------------


def test_eval_shape_matches_real_outputs_under_transforms():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    x = rng.standard_normal((5, 3)).astype(np.float32)

    def f(w, x):
        return fnp.sum(fnp.tanh(x @ w) ** 2)

    @fgrad.custom_vjp
    def clip(v):
        return v

    clip.defvjp(lambda v: (v, None), lambda res, g: (fnp.clip(g, -1.0, 1.0),))

    @fgrad.custom_jvp
    def softplus(v):
        return fnp.log1p(fnp.exp(v))

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] / (1 + fnp.exp(-p[0]))))

    funs = [
        (fgrad.grad(f, argnums=(0, 1)), (w, x)),
        (fgrad.hessian(lambda w: f(w, x)), (w,)),
        (fgrad.jacfwd(lambda w: fnp.tanh(x @ w)), (w,)),
        (fgrad.vmap(fgrad.grad(lambda w, xi: fnp.sum(fnp.sin(xi @ w))), in_axes=(None, 0)),
         (w, x)),
        (fgrad.jit(fgrad.grad(f)), (w, x)),
    ]
    RAN_WITHOUT_RULE.clear()
    for fun, args in funs:
        want = fun(*args)
        got = fgrad.eval_shape(fun, *[S(a.shape, a.dtype) for a in args])
        assert got == fgrad.tree.tree_map(_struct, want)
    assert not RAN_WITHOUT_RULE
    # custom rules and checkpoint run user functions: their primitives run once on
    # stand-in data
    fun = fgrad.grad(lambda w: fnp.sum(clip(w) * softplus(fgrad.checkpoint(fnp.sin)(w))))
    assert fgrad.eval_shape(fun, S(w.shape, w.dtype)) == _struct(fun(w))
    assert set(RAN_WITHOUT_RULE) <= {"custom_vjp[clip]", "custom_jvp[softplus]",
                                     "checkpoint(sin)"}


def test_eval_shape_of_lax_control_flow():
    from fgrad import lax

    xs = np.linspace(0.0, 1.0, 12).reshape(6, 2)

    def rnn(w, xs):
        def step(h, x):
            h = fnp.tanh(w * h + x)
            return h, fnp.sum(h)

        return lax.scan(step, fnp.zeros(2), xs)

    def branches(w, xs):
        return lax.cond(fnp.sum(w) > 0, lambda v: v * 2.0, lambda v: -v, xs)

    def loop(w, xs):
        return lax.fori_loop(0, 3, lambda i, v: v * w, xs)

    def while_(w, xs):
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * w), (0, xs))

    def switch(w, xs):
        return lax.switch(fnp.argmax(w), [lambda v: v[0], lambda v: v[1] * 2.0], xs)

    w = np.array([0.5, -0.3])
    grad_rnn = fgrad.grad(lambda w, xs: fnp.sum(rnn(w, xs)[1]))
    xss = np.stack([xs, 2 * xs])
    RAN_WITHOUT_RULE.clear()
    for fun, x in [(rnn, xs), (branches, xs), (loop, xs), (while_, xs), (switch, xs),
                   (grad_rnn, xs), (fgrad.jit(grad_rnn), xs),
                   (fgrad.vmap(rnn, in_axes=(None, 0)), xss),
                   (fgrad.vmap(branches, in_axes=(None, 0)), xss)]:
        want = fun(w, x)
        got = fgrad.eval_shape(fun, S(w.shape, w.dtype), S(x.shape, x.dtype))
        assert got == fgrad.tree.tree_map(_struct, want), fun
    assert not RAN_WITHOUT_RULE
    # a scan over 10**6 steps of 10**6 values: one step is evaluated, abstractly
    big = S((10**6, 10**6), np.float64)
    w_big = S((10**6,), np.float64)
    got = fgrad.eval_shape(lambda w, xs: lax.scan(lambda h, x: (fnp.tanh(w * h + x), h @ x),
                                                  fnp.zeros(10**6), xs), w_big, big)
    assert got == (w_big, S((10**6,), np.float64))


# --- outputs whose shape or dtype depends on data ---------------------------------------


def test_data_dependent_shapes_are_clear_errors():
    x = S((5,), np.float64)
    for fun in [fnp.nonzero, fnp.unique, fnp.argwhere, lambda v: v[v > 0]]:
        with pytest.raises(TypeError) as info:
            fgrad.eval_shape(fun, x)
        assert "fnp.where" in str(info.value), str(info.value)
    with pytest.raises(ConcretizationError, match=r"eval_shape\(<lambda>\): bool\(\)"):
        fgrad.eval_shape(lambda v: v if fnp.sum(v) > 0 else -v, x)


def test_eigenvalue_dtypes_depend_on_values():
    """numpy's eigenvalues of a real matrix are real when all of them are: the dtype
    depends on the data, so eval_shape says so (and gives it for complex input)."""
    # (numpy before 2.5 returns real eigenvalues when all are real; numpy 2.5 always returns
    # complex ones: the rule refuses real input on every version, never guessing)
    assert np.linalg.eigvals(np.array([[0.0, -1.0], [1.0, 0.0]])).dtype.kind == "c"
    with pytest.raises(ShapeNeedsValues, match="eigh"):
        fgrad.eval_shape(fnp.linalg.eigvals, S((3, 3), np.float64))
    assert fgrad.eval_shape(fnp.linalg.eigvals, S((2, 3, 3), np.complex64)) == \
        S((2, 3), np.complex64)
    assert fgrad.eval_shape(fnp.linalg.eigvalsh, S((2, 3, 3), np.float32)) == \
        S((2, 3), np.float32)


# --- rows declared by users ---------------------------------------------------------------


def test_user_rows_with_and_without_a_shape_rule():
    from fgrad.core import defprim

    def outer_impl(x, y):
        return np.multiply.outer(x, y)

    rules = dict(jvp=[lambda t, ans, x, y: outer(t, y), lambda t, ans, x, y: outer(x, t)],
                 vjp=[lambda g, ans, x, y: fnp.tensordot(g, y, axes=y.ndim),
                      lambda g, ans, x, y: fnp.tensordot(x, g, axes=x.ndim)],
                 reads=("args",), replace=True)
    outer = defprim("test_abstract.outer", outer_impl, **rules,
                    shape=lambda x, y: (x.shape + y.shape, np.result_type(x.dtype, y.dtype)))
    plain = defprim("test_abstract.outer_no_rule", outer_impl, **rules)
    x, y = S((10**6,), np.float32), S((10**6,), np.float64)
    RAN_WITHOUT_RULE.clear()
    assert fgrad.eval_shape(outer, x, y) == S((10**6, 10**6), np.float64)
    assert not RAN_WITHOUT_RULE
    # without a rule, the implementation runs once on stand-ins of the given shapes
    small = S((3,), np.float32), S((4,), np.float64)
    assert fgrad.eval_shape(plain, *small) == S((3, 4), np.float64)
    assert RAN_WITHOUT_RULE == {"test_abstract.outer_no_rule": 1}


def test_eval_shape_of_the_gradient_of_a_long_scan():
    # reverse mode through a scan of 16+ steps keeps residuals, staged from the values
    # of one step: eval_shape has no values, so it must take the path with a shape rule
    from fgrad import lax

    def loss(W, xs):
        h, _ = lax.scan(lambda h, x: (fnp.tanh(h @ W + x), None), fnp.zeros((2, 4)), xs)
        return fnp.sum(h)

    S = fgrad.ShapeDtypeStruct
    args = (S((4, 4), np.float64), S((100, 2, 4), np.float64))
    for f in (fgrad.grad(loss), fgrad.jit(fgrad.grad(loss)), fgrad.grad(loss, argnums=(0, 1))):
        got = fgrad.eval_shape(f, *args)
        real = f(np.eye(4) * 0.5, np.zeros((100, 2, 4)))
        assert fgrad.tree_util.tree_map(lambda a: (a.shape, a.dtype), got) == \
            fgrad.tree_util.tree_map(lambda a: (np.shape(a), np.result_type(a)), real)
