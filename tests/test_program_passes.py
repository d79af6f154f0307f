"""The program optimiser (fgrad/program_passes.py).

Every pass is checked three ways: the optimised program computes what the original
computes (on random inputs, for random programs drawn by hypothesis from a handful
of rows and for programs traced from real functions), the pass removes what it
should (equation counts), and it is idempotent.  plan_buffers is checked by running
the programs with ``out=`` where it says, watching the caller's arrays, the
Literals and the outputs.
"""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES, Primitive
from fgrad.program import Eqn, Literal, Program, Var
from fgrad.program_passes import (
    FOLD_MAX_BYTES,
    drop_zero_work,
    eliminate_common_subexpressions,
    eliminate_dead_code,
    fold_constants,
    optimize,
    plan_buffers,
)

P = PRIMITIVES
PASSES = [eliminate_dead_code, eliminate_common_subexpressions, fold_constants,
          drop_zero_work, optimize]


# --- building programs by hand --------------------------------------------------------


class Builder:
    """Builds a Program while evaluating it on example values (for shapes and dtypes)."""

    def __init__(self, *examples):
        self.n, self.values = 0, {}
        self.inputs = [self.var(np.asarray(x)) for x in examples]
        self.eqns = []

    def var(self, value):
        v = Var(self.n, np.shape(value), np.result_type(value))
        self.n += 1
        self.values[v] = value
        return v

    def __call__(self, name, *inputs, **params):
        prim = P[name] if isinstance(name, str) else name
        inputs = tuple(a if isinstance(a, (Var, Literal)) else Literal(a) for a in inputs)
        args = [a.value if isinstance(a, Literal) else self.values[a] for a in inputs]
        out = self.var(prim.call(*args, **params))
        self.eqns.append(Eqn(prim, inputs, params, out))
        return out

    def program(self, *outputs):
        return Program(self.inputs, self.eqns, list(outputs))


def names(program):
    return [e.prim.name for e in program.eqns]


def run_planned(program, plan, leaves):
    """Run ``program`` writing results into dead buffers where ``plan`` says, and
    forgetting each value after its last reader (as the compiled code does)."""
    last = {}
    for i, e in enumerate(program.eqns):
        for a in e.inputs:
            if isinstance(a, Var):
                last[a] = i
    env = dict(zip(program.inputs, leaves))
    read = lambda a: a.value if isinstance(a, Literal) else env[a]  # noqa: E731
    keep = set(program.outputs) | set(program.inputs)
    for i, e in enumerate(program.eqns):
        args = [read(a) for a in e.inputs]
        if i in plan:
            env[e.out] = e.prim.impl(*args, out=args[plan[i]], **e.params)
        else:
            env[e.out] = e.prim.call(*args, **e.params)
        for a in set(e.inputs):
            if isinstance(a, Var) and last[a] == i and a not in keep:
                del env[a]
    return [read(o) for o in program.outputs]


def assert_same(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w) and np.result_type(g) == np.result_type(w)
        np.testing.assert_array_equal(g, w)  # NaN equals NaN, -0.0 equals 0.0


# --- random programs ------------------------------------------------------------------

UNARY = ["sin", "cos", "tanh", "negative", "exp"]
BINARY = ["add", "subtract", "multiply"]


def _broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


@st.composite
def programs(draw):
    """A random program over a (3, 3) matrix, a (3,) vector and a 0-d input, with
    Literals (random numbers, zeros, ones), all-Literal chains, repeated equations
    and values nobody reads."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    b = Builder(rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal(()))
    pool = list(b.inputs)

    def literal(shape):
        kind = draw(st.sampled_from(["number", "zeros", "ones", "array", "neg0"]))
        if kind == "number":
            return float(rng.standard_normal())
        if kind == "neg0":
            return -0.0
        fill = {"zeros": np.zeros, "ones": np.ones, "array": rng.standard_normal}[kind]
        return fill(shape)

    def operand(x):
        fits = [v for v in pool if _broadcastable(v.shape, x.shape)]
        if draw(st.booleans()):
            return draw(st.sampled_from(fits))
        return Literal(literal(draw(st.sampled_from([(), x.shape, x.shape[-1:]]))))

    for _ in range(draw(st.integers(1, 14))):
        step = draw(st.sampled_from(["unary", "binary", "binary", "matmul", "sum", "reshape",
                                     "transpose", "repeat", "constant"]))
        x = draw(st.sampled_from(pool))
        if step == "unary":
            out = b(draw(st.sampled_from(UNARY)), b("tanh", x) if draw(st.booleans()) else x)
        elif step == "binary":
            ops = [x, operand(x)]
            if draw(st.booleans()):
                ops.reverse()
            out = b(draw(st.sampled_from(BINARY)), *ops)
        elif step == "matmul":
            sq = [v for v in pool if v.shape == (3, 3)]
            vec = [v for v in pool if v.shape in ((3,), (3, 3))]
            out = b("matmul", draw(st.sampled_from(sq)), draw(st.sampled_from(vec)))
        elif step == "sum":
            axis = draw(st.sampled_from([None] + list(range(len(x.shape)))))
            out = b("sum", x, axis=axis)
        elif step == "reshape":
            out = b("reshape", x, shape=(-1,))
        elif step == "transpose":
            out = b("transpose", x, axes=tuple(reversed(range(len(x.shape)))))
        elif step == "repeat" and b.eqns:
            e = draw(st.sampled_from(b.eqns))
            out = b(e.prim, *e.inputs, **e.params)
        else:  # a chain of equations on Literals only
            out = b("sin", Literal(literal((3,))))
            out = b("multiply", out, Literal(literal(())))
        pool.append(out)
    made = pool[3:]
    outputs = draw(st.lists(st.sampled_from(made), min_size=1, max_size=3))
    if draw(st.booleans()):
        outputs.append(Literal(np.arange(3.0)))
    return b.program(*outputs), b.inputs


def leaves_for(inputs, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(v.shape) for v in inputs]


@settings(max_examples=40)
@given(programs(), st.integers(0, 100))
@pytest.mark.parametrize("run", PASSES, ids=lambda f: f.__name__)
def test_pass_keeps_the_values_of_random_programs(run, prog_inputs, seed):
    prog, inputs = prog_inputs
    leaves = leaves_for(inputs, seed)
    with np.errstate(all="ignore"):
        want = prog(*leaves)
        new = run(prog)
        assert_same(new(*leaves), want)
        assert_same(new.interpret(*leaves), want)
    assert len(new.eqns) <= len(prog.eqns)
    # no output shares memory with another or with an input unless it did before
    with np.errstate(all="ignore"):
        a, b = prog(*leaves), new(*leaves)
    for i in range(len(a)):
        for j in range(i):
            assert np.shares_memory(a[i], a[j]) or not np.shares_memory(b[i], b[j])
        for x in leaves:
            assert np.shares_memory(a[i], x) or not np.shares_memory(b[i], x)
    assert new.inputs == prog.inputs
    again = run(new)
    assert names(again) == names(new) and str(again) == str(new)  # idempotent


@settings(max_examples=40)
@given(programs(), st.integers(0, 100))
def test_buffer_reuse_on_random_programs(prog_inputs, seed):
    prog, inputs = prog_inputs
    for p in (prog, optimize(prog)):
        leaves = leaves_for(inputs, seed)
        copies = [x.copy() for x in leaves]
        literals = [(a, np.copy(a.value)) for e in p.eqns for a in e.inputs
                    if isinstance(a, Literal)]
        with np.errstate(all="ignore"):
            want = p(*copies)
            plain_leaves = [x.copy() for x in leaves]
            plain = run_planned(p, {}, plain_leaves)
            got = run_planned(p, plan_buffers(p), leaves)
        assert_same(got, want)
        for x, c in zip(leaves, copies):  # the caller's arrays are never written
            np.testing.assert_array_equal(x, c)
        for lit, before in literals:
            np.testing.assert_array_equal(lit.value, before)
        # reuse makes no output share memory with another or with an input unless it
        # does so without reuse too (a view, or the same Var)
        for i in range(len(got)):
            for j in range(i + 1, len(got)):
                assert np.shares_memory(got[i], got[j]) == np.shares_memory(plain[i], plain[j])
            for x, y in zip(leaves, plain_leaves):
                assert np.shares_memory(got[i], x) == np.shares_memory(plain[i], y)


@settings(max_examples=40)
@given(programs(), st.integers(0, 100))
def test_jit_grad_of_random_programs(prog_inputs, seed):
    """jit(grad(f)), whose replays run the optimised program with its buffer plan,
    against eager grad(f), for f built from a random program."""
    prog, inputs = prog_inputs

    def f(*xs):
        return sum(fnp.sum(fnp.sin(o)) for o in prog.interpret(*xs))

    g = fgrad.grad(f, argnums=(0, 1, 2))
    jg = fgrad.jit(g)
    leaves = leaves_for(inputs, seed)
    copies = [x.copy() for x in leaves]
    with np.errstate(all="ignore"):
        jg(*leaves)  # traces
        for x in (leaves, leaves_for(inputs, seed + 1)):
            want, got = g(*x), jg(*x)  # replays: optimised, compiled
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
            assert not any(np.shares_memory(a, v) for a in got for v in x)
    for x, c in zip(leaves, copies):
        np.testing.assert_array_equal(x, c)


# --- what each pass removes -----------------------------------------------------------


def test_dead_code_removes_values_nobody_reads():
    b = Builder(np.ones(3))
    (x,) = b.inputs
    y = b("sin", x)
    b("cos", y)                      # read by nobody
    z = b("exp", x)
    b("multiply", z, 2.0)           # read by nobody
    prog = b.program(b("add", y, z))
    out = eliminate_dead_code(prog)
    assert names(out) == ["sin", "exp", "add"]
    assert_same(out(np.arange(3.0)), prog(np.arange(3.0)))
    assert names(eliminate_dead_code(b.program(x))) == []  # the identity


def combined(b, values):
    """An output reading all ``values`` (so none of them is an output itself)."""
    total = b("sum", values[0])
    for v in values[1:]:
        total = b("add", total, b("sum", v))
    return b.program(total)


def test_cse_merges_equal_rows_and_only_those():
    b = Builder(np.ones((2, 2)))
    (x,) = b.inputs
    small = np.array([1, 0])
    outs = [
        b("multiply", x, 2.0), b("multiply", x, 2.0),                          # merged
        b("multiply", x, 2), b("multiply", x, -0.0), b("multiply", x, 0.0),    # all differ
        b("sum", x, axis=0), b("sum", x, axis=0), b("sum", x, axis=1),        # 2 of 3
        b("getitem", x, idx=small), b("getitem", x, idx=small.copy()),         # equal arrays
        b("multiply", x, np.full((2, 2), 3.0)), b("multiply", x, np.full((2, 2), 3.0)),
        b("sin", x), b("sin", x),
    ]
    prog = combined(b, outs)
    out = eliminate_common_subexpressions(prog)
    # 9 distinct rows, 9 distinct sums of them (the sums of merged rows merge), 13 adds
    assert Counter(names(out)) == {"multiply": 5, "sum": 2 + 9, "getitem": 1, "sin": 1,
                                   "add": 13}
    x0 = np.array([[1.0, -2.0], [np.inf, 0.5]])
    with np.errstate(invalid="ignore"):
        assert_same(out(x0), prog(x0))


def test_cse_knows_commutative_rows():
    b = Builder(np.ones(3), np.ones(3))
    x, y = b.inputs
    outs = [b("multiply", x, y), b("multiply", y, x),    # merged
            b("add", x, 2.0), b("add", 2.0, x),          # merged
            b("subtract", x, y), b("subtract", y, x),    # not commutative
            b("maximum", x, y), b("maximum", y, x)]      # which zero: order-dependent
    prog = combined(b, outs)
    out = eliminate_common_subexpressions(prog)
    assert Counter(names(out))["multiply"] == 1 and Counter(names(out))["subtract"] == 2
    assert Counter(names(out))["maximum"] == 2
    args = np.array([0.0, -0.0, np.inf]), np.array([-0.0, 0.0, 1.0])
    assert_same(out(*args), prog(*args))
    # the chain rule of x * x: g * x and x * g
    prog = fgrad.make_program(fgrad.grad(lambda v: fnp.sum(fnp.sin(v) * fnp.sin(v))))(x0 := np.ones(3))
    assert Counter(names(optimize(prog)))["multiply"] < Counter(names(prog))["multiply"]
    assert_close(optimize(prog)(x0), prog(x0))


def test_cse_keeps_outputs_distinct_arrays():
    b = Builder(np.ones(3))
    (x,) = b.inputs
    y1, y2 = b("sin", x), b("sin", x)
    r = b("reshape", b("sin", x), shape=(3, 1))  # a view of a third sin(x)
    t = b("cos", b("sin", x))                    # a fourth, internal: merged
    prog = b.program(y1, y2, r, t)
    out = eliminate_common_subexpressions(prog)
    assert names(out) == ["sin", "sin", "sin", "reshape", "cos"]
    got = out(np.arange(3.0))
    assert not any(np.shares_memory(got[i], got[j]) for i in range(4) for j in range(i))


def test_cse_compares_large_arrays_and_functions_by_identity():
    big, f = np.zeros(10_000), (lambda v: v)
    b = Builder(np.ones(10_000))
    (x,) = b.inputs
    ys = [b("add", x, big), b("add", x, big), b("add", x, big.copy())]
    out = eliminate_common_subexpressions(combined(b, ys))
    assert names(out).count("add") == 2 + 2
    # a parameter that is a function: one object merges, two equal-looking ones do not
    # (a row made for the test, put in the table for the duration)
    fn = Primitive("test.apply", lambda v, *, fun: fun(v))
    dict.__setitem__(P, fn.name, fn)
    try:
        b = Builder(np.ones(2))
        (x,) = b.inputs
        ys = [b(fn, x, fun=f), b(fn, x, fun=f), b(fn, x, fun=lambda v: v)]
        out = eliminate_common_subexpressions(combined(b, ys))
        assert names(out).count("test.apply") == 2
    finally:
        dict.pop(P, fn.name)


def test_cse_and_folding_leave_impure_and_call_specific_primitives():
    custom = Primitive("my_call", lambda v: v * 2.0)  # not a table row
    b = Builder(np.ones(2))
    (x,) = b.inputs
    ys = [b(custom, x), b(custom, x), b(custom, Literal(np.ones(2)))]
    assert names(optimize(combined(b, ys))).count("my_call") == 3
    mvn = P["special.mvn_cdf"]
    d, cov = np.array([0.1, 0.2]), np.eye(2) + 0.5
    b = Builder(d)
    (x,) = b.inputs
    ys = [b(mvn, x, Literal(cov)), b(mvn, x, Literal(cov)), b(mvn, Literal(d), Literal(cov))]
    assert names(optimize(combined(b, ys))).count("special.mvn_cdf") == 3


def test_fold_constants_folds_chains_of_literals():
    b = Builder(np.ones(3))
    (x,) = b.inputs
    c = b("exp", Literal(np.arange(3.0)))
    c = b("multiply", c, 2.0)
    c = b("sum", c)
    prog = b.program(b("multiply", x, c))
    out = fold_constants(prog)
    assert names(out) == ["multiply"]
    assert isinstance(out.eqns[0].inputs[1], Literal)
    assert_same(out(np.arange(3.0)), prog(np.arange(3.0)))
    # a folded array is read-only: every call of the program shares it
    b = Builder(np.ones(3))
    prog = b.program(b("exp", Literal(np.arange(3.0))))
    (lit,) = fold_constants(prog).outputs
    assert isinstance(lit, Literal) and not lit.value.flags.writeable


def test_fold_constants_leaves_what_raises_or_warns_and_large_results():
    b = Builder(np.ones(3))
    (x,) = b.inputs
    with np.errstate(divide="ignore"):
        warns = b("log", Literal(np.zeros(3)))          # divide-by-zero warning
    b("reshape", Literal(np.ones(4)), shape=(2, 2))     # fine: folded
    small = Literal(np.ones(1))
    big = b("broadcast_to", small, shape=(FOLD_MAX_BYTES // 8 + 1,))  # a view: folded
    bigger = b("add", big, 1.0)                       # a new large array: left
    prog = b.program(b("add", x, warns), big, bigger)
    out = fold_constants(prog)
    assert names(out) == ["log", "add", "add"]
    with np.errstate(divide="ignore"):
        assert_same(out(np.ones(3)), prog(np.ones(3)))


def test_fold_constants_keeps_zero_results_as_one_broadcast_zero():
    b = Builder(np.ones((300, 300)))
    (x,) = b.inputs
    z = b("multiply", Literal(np.zeros((300, 300))), 5.0)  # 720 kB of zeros
    s = b("sum", z, axis=0)                                  # a sum of zeros
    prog = b.program(b("add", x, z), s)
    out = fold_constants(prog)
    assert names(out) == ["add"]
    zero = out.eqns[0].inputs[1].value
    assert zero.shape == (300, 300) and zero.strides == (0, 0)
    assert_same(out(np.ones((300, 300))), prog(np.ones((300, 300))))
    # negative zeros are not zeros to this rule: their sign is kept
    b = Builder(np.ones(2))
    prog = b.program(b("negative", Literal(np.zeros(2))))
    assert np.signbit(fold_constants(prog).outputs[0].value).all()


def test_drop_zero_work_forwards_unchanged_values():
    b = Builder(np.ones((2, 3)), np.ones(3, np.float32))
    x, f = b.inputs
    kept = [
        b("multiply", x, 0.0),                      # inf * 0 is NaN: kept
        b("add", b("sin", f), np.zeros(3)),        # float32 + float64 array: promoted, kept
        b("add", b("sin", f), np.zeros((2, 3), np.float32)),  # broadcast: kept
        b("subtract", 0.0, x),                      # 0 - x: kept
    ]
    dropped = [b("add", x, 0.0), b("add", np.zeros((2, 3)), x), b("subtract", x, np.zeros(3)),
               b("multiply", x, 1.0), b("multiply", np.ones((2, 3)), x), b("add", b("cos", f), 0.0)]
    exposed = b("add", x, 0.0)                      # an output: stays its own array
    prog = b.program(*[b("negative", v) for v in kept + dropped], exposed)
    out = drop_zero_work(prog)
    assert names(out) == ["multiply", "sin", "add", "sin", "add", "subtract", "cos", "add"] + \
        ["negative"] * 10
    assert [e.inputs[0] for e in out.eqns[-6:-1]] == [x] * 5
    args = np.array([[np.inf, -1.0, 0.0], [np.nan, 2.0, -0.0]]), np.arange(3, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        assert_same(out(*args), prog(*args))
    assert not np.shares_memory(out(*args)[-1], args[0])


def test_optimize_reaches_a_fixed_point():
    # a fold makes a zero, drop_zero_work then forwards sin(x), and DCE removes what
    # nobody reads
    b = Builder(np.ones(3))
    (x,) = b.inputs
    a1 = b("cos", Literal(np.arange(3.0)))
    a2 = b("cos", Literal(np.arange(3.0)))
    d = b("subtract", a1, a2)      # zeros, once folded
    y = b("add", b("sin", x), d)   # sin(x) + 0
    b("exp", y)                    # read by nobody
    prog = b.program(b("multiply", y, 3.0))
    out = optimize(prog)
    assert names(out) == ["sin", "multiply"]
    assert_same(out(np.arange(3.0)), prog(np.arange(3.0)))
    assert str(optimize(out)) == str(out)


# --- plan_buffers ---------------------------------------------------------------------


def test_plan_buffers_reuses_dead_intermediates_only():
    b = Builder(np.ones(4), np.ones(4))
    x, w = b.inputs
    y = b("sin", x)                    # 0: x is the caller's: not written
    z = b("cos", y)                    # 1: y dies here -> out=y
    r = b("reshape", z, shape=(2, 2))  # 2: a view of z, read at 5
    u = b("exp", z)                    # 3: z dies here, but its view r lives on
    v = b("add", u, Literal(np.ones(4)))  # 4: u dies -> out=u (the Literal never)
    t = b("multiply", r, 2.0)          # 5: r is a view, not the program's own buffer
    s = b("tanh", b("sum", t, axis=0))  # 6, 7: 0-d? no: (2,), and sum's output is not a ufunc's
    o = b("sin", v)                    # 8: v dies, but the output o ... -> out=v
    k = b("negative", o)               # 9: o is an output: never written
    q = b("matmul", b("sin", w), b("cos", w))  # 10, 11, 12: matmul is not elementwise
    m = b("square", b("exp", w))       # 13, 14: exp(w) dies -> out=
    n = b("add", b("cos", Literal(np.float64(1.0))), q)  # 15 (0-d), 16
    prog = b.program(o, k, s, m, n)
    plan = plan_buffers(prog)
    assert plan == {1: 0, 4: 0, 8: 0, 14: 0}
    leaves = [np.arange(4.0), np.linspace(0, 1, 4)]
    copies = [a.copy() for a in leaves]
    assert_same(run_planned(prog, plan, leaves), prog(*copies))
    np.testing.assert_array_equal(leaves[0], copies[0])


def test_plan_buffers_never_writes_arguments_of_call_specific_primitives():
    kept = []
    keep = Primitive("keeps_its_argument", lambda v: kept.append(v) or v.sum())
    b = Builder(np.ones(3))
    (x,) = b.inputs
    y = b("sin", x)
    b(keep, y)
    prog = b.program(b("cos", y))
    assert plan_buffers(prog) == {}


def test_plan_buffers_respects_dtype_and_shape():
    b = Builder(np.ones(3, np.float32), np.ones((2, 3)))
    f, x = b.inputs
    a = b("sin", f)
    c = b("add", a, np.float64(1.0) * np.ones(3))  # float32 + float64 array -> float64
    d = b("sin", x)
    e = b("add", b("sin", c), d)                     # sin(c): (3,), result (2, 3)
    prog = b.program(e)
    plan = plan_buffers(prog)
    assert plan == {3: 0, 4: 1}  # not a: float32, the result float64
    assert_same(run_planned(prog, plan, [np.ones(3, np.float32), np.ones((2, 3))]),
                prog(np.ones(3, np.float32), np.ones((2, 3))))


# --- programs traced from real functions ----------------------------------------------


def _mlp(p, x):
    h = fnp.tanh(x @ p["W1"] + p["b1"])
    z = h @ p["W2"]
    m = fnp.max(z, axis=1, keepdims=True)
    return fnp.mean(fnp.log(fnp.sum(fnp.exp(z - m), axis=1)) + m[:, 0] - z[:, 0])


def _chain(x):
    for _ in range(5):
        x = fnp.sin(x) * 1.0001 + 1e-5
    return fnp.sum(x)


def _repeats(x):  # the same value computed twice, a where, a slice in a loop
    y = fnp.sin(x) * fnp.sin(x) + fnp.where(x > 0, x, 0.0)
    return sum(y[i] * x[i] for i in range(3)) + fnp.sum(y * 0.0 + 1.0)


def _rng_args(seed):
    rng = np.random.default_rng(seed)
    return {
        "mlp": ({"W1": rng.standard_normal((3, 5)), "b1": rng.standard_normal(5),
                 "W2": rng.standard_normal((5, 4))}, rng.standard_normal((2, 3))),
        "chain": (rng.standard_normal(4),),
        "repeats": (rng.standard_normal(4),),
    }


REAL = {"mlp": _mlp, "chain": _chain, "repeats": _repeats}


@pytest.mark.parametrize("name", sorted(REAL))
@pytest.mark.parametrize("run", PASSES, ids=lambda f: f.__name__)
def test_passes_on_traced_gradients(name, run):
    g = fgrad.grad(REAL[name], argnums=0)
    prog = fgrad.make_program(g)(*_rng_args(0)[name])
    new = run(prog)
    assert str(run(new)) == str(new)  # idempotent
    for seed in (1, 2):
        args = _rng_args(seed)[name]
        leaves = fgrad.tree.tree_leaves(args)
        copies = [x.copy() for x in leaves]
        want = fgrad.tree.tree_leaves(g(*args))
        assert_close(new(*leaves), want)
        assert_close(new.interpret(*leaves), want)
        assert_close(run_planned(new, plan_buffers(new), leaves), want)
        for x, c in zip(leaves, copies):
            np.testing.assert_array_equal(x, c)
    if run in (eliminate_dead_code, optimize):  # the loss value itself is never read
        assert len(new.eqns) < len(prog.eqns)
        if name == "mlp":
            assert "log" not in names(new)  # only the loss value needed it


def assert_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_optimize_on_traced_gradient_counts():
    prog = fgrad.make_program(fgrad.grad(_repeats))(np.arange(1.0, 5.0))
    out = optimize(prog)
    c_raw, c_opt = Counter(names(prog)), Counter(names(out))
    assert c_opt["sin"] == 1 < c_raw["sin"]      # CSE: sin(x) once
    assert len(out.eqns) < len(prog.eqns)


def test_jit_runs_the_optimised_program_with_its_buffer_plan(monkeypatch):
    import sys

    jit_module = sys.modules["fgrad.jit"]
    real, seen = jit_module.optimize, []

    def spy(program):
        out = real(program)
        seen.append((len(program.eqns), len(out.eqns)))
        return out

    monkeypatch.setattr(jit_module, "optimize", spy)
    f = fgrad.jit(fgrad.grad(_mlp))
    for seed in (0, 1, 2):
        args = _rng_args(seed)["mlp"]
        copies = fgrad.tree.tree_map(np.copy, args)
        got = f(*args)
        want = fgrad.grad(_mlp)(*args)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12)
            np.testing.assert_array_equal(args[0][k], copies[0][k])  # never written
            assert not any(np.shares_memory(got[k], v) for v in fgrad.tree.tree_leaves(args))
            assert not any(np.shares_memory(got[k], got[j]) for j in got if j != k)
    assert len(seen) == 1 and seen[0][1] < seen[0][0]


def test_jit_plans_buffers_for_numpy_inputs_only(monkeypatch):
    import sys

    da = pytest.importorskip("dask.array")
    jit_module = sys.modules["fgrad.jit"]
    real, calls = jit_module.plan_buffers, []
    monkeypatch.setattr(jit_module, "plan_buffers", lambda p: calls.append(p) or real(p))
    f = lambda x: fnp.sum(fnp.tanh(fnp.sin(x) * 2.0 + 1.0))  # noqa: E731
    x = np.linspace(0.0, 1.0, 6)
    g = fgrad.jit(fgrad.grad(f))
    for arg in (da.from_array(x, chunks=3), x):
        for _ in range(2):
            np.testing.assert_allclose(np.asarray(g(arg)), fgrad.grad(f)(x), rtol=1e-14)
    assert len(calls) == 1 and plan_buffers(calls[0])  # the numpy signature's program
    # a program holding another library's array as a constant gets no plan
    b = Builder(np.ones(6))
    (v,) = b.inputs
    prog = b.program(b("cos", b("add", b("sin", v), Literal(da.from_array(x, chunks=3)))))
    assert plan_buffers(prog) == {}


def test_a_python_float_plus_zero_keeps_numpy_promotion_on_replays():
    # x + 0.0 on a Python float is numpy's add (a float64 scalar, strong under numpy 2's
    # promotion); forwarding x itself (a weak Python float) made replays float32 where
    # the tracing call was float64
    a = np.ones(3, np.float32)
    f = fgrad.jit(lambda x: fnp.sin((x + 0.0) * a))
    first, replay, again = f(1.0), f(1.0), f(2.0)
    assert first.dtype == replay.dtype == again.dtype == np.float64
    np.testing.assert_array_equal(first, replay)
