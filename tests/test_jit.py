"""fgrad.jit, fgrad.make_program and fgrad.eval_shape (issue 15).

Every test compares staged results with eager mode on values the program was not
traced with, so a program that baked in the first call's values fails.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad import jit
from fgrad.staging import ConcretizationError


def f_chain(x):
    return fnp.sum(fnp.tanh(fnp.sin(x) * x + 0.5) ** 2)


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = fnp.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    return fnp.mean((out - y) ** 2)


def _mlp(rng):
    params = [(rng.standard_normal((4, 5)), rng.standard_normal(5)),
              (rng.standard_normal((5, 2)), rng.standard_normal(2))]
    return params, rng.standard_normal((3, 4)), rng.standard_normal((3, 2))


def _close(got, want, rtol=1e-12, atol=1e-12):
    got_l, got_t = fgrad.tree.tree_flatten(got)
    want_l, want_t = fgrad.tree.tree_flatten(want)
    assert got_t == want_t
    for g, w in zip(got_l, want_l):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# --- values --------------------------------------------------------------------------


def test_replay_uses_the_new_values_bit_for_bit():
    jf = jit(f_chain)
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal(5)
        assert jf(x) == f_chain(x)  # the same numpy calls: bit for bit
    assert jf.cache_info()["traces"] == 1


def test_pytree_inputs_and_outputs():
    def f(d, xs):
        return {"s": d["a"] * xs[0], "t": (fnp.exp(xs[1]), d["b"])}

    jf = jit(f)
    rng = np.random.default_rng(1)
    for _ in range(2):
        d = {"a": rng.standard_normal(3), "b": rng.standard_normal(2)}
        xs = [rng.standard_normal(3), rng.standard_normal(())]
        got, want = jf(d, xs), f(d, xs)
        _close(got, want, 0, 0)
        assert got["t"][1] is not d["b"] or want["t"][1] is d["b"]


def test_scalar_kinds_give_eager_types():
    jf = jit(lambda x: fnp.sin(x) * 2.0)
    for x in (0.5, np.float64(0.5), np.array(0.5), np.float32(0.5)):
        got, want = jf(x), fnp.sin(x) * 2.0
        assert type(got) is type(want), (type(x), type(got), type(want))
        assert np.result_type(got) == np.result_type(want)
        assert got == want
    assert jf.cache_info()["traces"] == 4


def test_gradient_kinds_follow_the_inputs_as_in_eager_mode():
    # grad gives an array for an array (even 0-d) and a numpy scalar for a scalar;
    # jit(grad(f)) must give the same kinds (it once gave the reverse for 0-d inputs)
    fns = {
        "sin": (lambda x, y: fnp.sin(x) * y, 0),
        "linear": (lambda x, y: 2.0 * x + y, 0),
        "constant": (lambda x, y: 1.0 + 0.0 * x, 1),
        "broadcast": (lambda x, y: fnp.sum(x * y), 1),
    }
    kinds = (0.5, np.float64(0.5), np.array(0.5), np.float32(0.5))
    for name, (f, argnums) in fns.items():
        for a in kinds:
            args = [a, np.array([1.0, 2.0, 3.0]) if name == "broadcast" else 1.5]
            if argnums == 1:
                args = [np.array([1.0, 2.0, 3.0]) if name == "broadcast" else 1.5, a]
            for g in (fgrad.grad(f, argnums=argnums),
                      fgrad.grad(fgrad.grad(f, argnums=argnums), argnums=argnums)
                      if name == "sin" else None):
                if g is None:
                    continue
                want = g(*args)
                got = jit(g)(*args)
                assert type(got) is type(want), (name, type(a), type(got), type(want))
                assert np.result_type(got) == np.result_type(want)
                assert got == want


def test_constant_outputs_are_fresh_arrays():
    jf = jit(lambda x: (x * 2.0, np.arange(3.0)))
    a = jf(1.0)[1]
    a[0] = 100.0
    np.testing.assert_array_equal(jf(1.0)[1], np.arange(3.0))
    np.testing.assert_array_equal(jf(1.0)[1], np.arange(3.0))


def test_closed_over_arrays_are_copied_when_traced():
    w = np.ones(3)
    jf = jit(lambda x: fnp.sum(w * x))
    assert jf(np.ones(3)) == 3.0
    w[:] = 2.0  # baked in at trace time (as in JAX): the program keeps its own copy
    assert jf(np.ones(3)) == 3.0
    jf.clear_cache()
    assert jf(np.ones(3)) == 6.0


def test_index_arrays_in_parameters_are_copied():
    idx = np.array([0, 2])
    jf = jit(lambda x: fnp.sum(x[idx]))
    x = np.array([1.0, 10.0, 100.0])
    assert jf(x) == 101.0
    idx[1] = 1
    assert jf(x) == 101.0


def test_jit_of_jit_and_static_arguments():
    def f(x, n, mode="sin"):
        y = x
        for _ in range(n):
            y = fnp.sin(y) if mode == "sin" else fnp.cos(y)
        return y

    jf = jit(f, static_argnums=1, static_argnames="mode")
    x = np.linspace(0, 1, 4)
    _close(jf(x, 3), f(x, 3), 0, 0)
    _close(jf(x, 2, mode="cos"), f(x, 2, mode="cos"), 0, 0)
    _close(jf(x, n=2, mode="cos"), f(x, 2, mode="cos"), 0, 0)
    _close(jit(lambda x: jf(x, 2) * 2.0)(x), f(x, 2) * 2.0, 0, 0)


# --- retracing and the cache ----------------------------------------------------------


def test_retracing_rules():
    traces = []

    def f(x):
        traces.append(1)
        return fnp.sum(x * 2.0)

    jf = jit(f)
    jf(np.ones(3))
    jf(np.zeros(3))  # same signature: no trace
    assert len(traces) == 1
    jf(np.ones(4))  # new shape
    assert len(traces) == 2
    jf(np.ones(3, np.float32))  # new dtype
    assert len(traces) == 3
    jg = jit(lambda t: fnp.sum(t[0]) + 1.0)
    jg((np.ones(2),))
    jg([np.ones(2)])  # a list is another structure than a tuple
    jg((np.ones(2),))
    assert jg.cache_info()["traces"] == 2
    js = jit(lambda x, k: x * k, static_argnums=1)
    js(1.0, 2)
    js(1.0, 2)
    js(1.0, 3)  # new static value
    assert js.cache_info()["traces"] == 2
    jf(np.ones(3))
    assert len(traces) == 3 and jf.cache_info() == {"size": 3, "maxsize": 64, "traces": 3}


def test_cache_is_lru_and_clearable():
    jf = jit(lambda x: x + 1.0)
    n = jf.cache_info()["maxsize"]
    for k in range(n + 1):
        jf(np.ones(k + 1))
    info = jf.cache_info()
    assert info["size"] == n and info["traces"] == n + 1
    jf(np.ones(n + 1))  # the newest: kept
    assert jf.cache_info()["traces"] == n + 1
    jf(np.ones(1))  # the oldest: dropped, traced again
    assert jf.cache_info()["traces"] == n + 2
    jf.clear_cache()
    assert jf.cache_info()["size"] == 0
    jf(np.ones(1))
    assert jf.cache_info()["traces"] == n + 3


def test_exception_leaves_no_state():
    calls = []

    def f(x):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return x * 3.0

    jf = jit(f)
    with pytest.raises(RuntimeError, match="boom"):
        jf(1.0)
    assert jf.cache_info()["size"] == 0
    assert jf(2.0) == 6.0 and jf(3.0) == 9.0
    assert jf.cache_info() == {"size": 1, "maxsize": 64, "traces": 1}


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    lambda x: x if x > 0 else -x,
    lambda x: float(x) * 2.0,
    lambda x: int(x) * 2.0,
    lambda x: np.asarray(x) * 2.0,
    lambda x: x.item() * 2.0,
    lambda x: fnp.zeros(int(fnp.sum(x))),
    lambda x: x * 2.0 if fgrad.core.concrete(x) > 0 else x,
])
def test_reading_a_staged_value_raises_a_clear_error(body):
    with pytest.raises(ConcretizationError) as info:
        jit(body)(np.float64(1.0))
    msg = str(info.value)
    assert "static_argnums" in msg and "static_argnames" in msg
    assert "fgrad.lax.cond" in msg and "while_loop" in msg and "fori_loop" in msg
    assert isinstance(info.value, TypeError)


def test_value_reads_inside_jit_of_grad_raise_too():
    def f(x):
        if x > 0:
            return x * x
        return -x

    with pytest.raises(ConcretizationError, match="static_argnums"):
        jit(fgrad.grad(f))(1.0)


def test_shapes_are_concrete_inside_jit():
    def f(x):
        n = x.shape[0]
        return fnp.sum(x[: n // 2]) * len(x) + x.ndim + x.size

    x = np.arange(6.0)
    assert jit(f)(x) == f(x)


def test_static_argument_errors():
    with pytest.raises(TypeError, match="not hashable"):
        jit(lambda x, opts: x, static_argnums=1)(1.0, [1, 2])
    with pytest.raises(TypeError, match="static_argnums must be ints"):
        jit(lambda x: x, static_argnums=("a",))
    with pytest.raises(TypeError, match="static_argnames must be strings"):
        jit(lambda x: x, static_argnames=(1,))
    with pytest.raises(ValueError, match="static_argnums contains 3"):
        jit(lambda x, *r: x, static_argnums=3)(1.0)
    with pytest.raises(TypeError, match="static_argnums"):
        jit(lambda x, s: x)(1.0, "a string")
    with pytest.raises(TypeError, match="must be callable"):
        jit(3)


def test_leaked_tracer_is_caught():
    kept = []

    def f(x):
        kept.append(x)
        return x * 2.0

    jit(f)(1.0)
    with pytest.raises(fgrad.LeakedTracerError):
        kept[0] + 1.0


# --- composition ----------------------------------------------------------------------


def test_grad_of_jit_and_jit_of_grad():
    rng = np.random.default_rng(2)
    params, x, y = _mlp(rng)
    want = fgrad.grad(mlp_loss)(params, x, y)
    _close(fgrad.grad(jit(mlp_loss))(params, x, y), want)
    jg = jit(fgrad.grad(mlp_loss))
    _close(jg(params, x, y), want)
    params2, x2, y2 = _mlp(rng)
    _close(jg(params2, x2, y2), fgrad.grad(mlp_loss)(params2, x2, y2))
    assert jg.cache_info()["traces"] == 1
    # value_and_grad staged as one program: its listing has the backward pass
    prog = fgrad.make_program(fgrad.value_and_grad(mlp_loss))(params, x, y)
    names = [e.prim.name for e in prog.eqns]
    assert "tanh" in names and names.count("matmul") >= 4


def test_vmap_and_jvp_and_hessian_compose():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((4, 3))
    jf = jit(f_chain)
    _close(fgrad.vmap(jf)(xs), fgrad.vmap(f_chain)(xs))
    _close(jit(fgrad.vmap(f_chain))(xs), fgrad.vmap(f_chain)(xs))
    x, t = xs[0], xs[1]
    _close(fgrad.jvp(jf, (x,), (t,)), fgrad.jvp(f_chain, (x,), (t,)))
    jj = jit(lambda x, t: fgrad.jvp(f_chain, (x,), (t,)))
    _close(jj(x, t), fgrad.jvp(f_chain, (x,), (t,)))
    _close(jj(t, x), fgrad.jvp(f_chain, (t,), (x,)))
    _close(fgrad.hessian(jf)(x), fgrad.hessian(f_chain)(x))
    jh = jit(fgrad.hessian(f_chain))
    _close(jh(t), fgrad.hessian(f_chain)(t))
    _close(fgrad.jacrev(jit(fnp.sin))(x), np.diag(np.cos(x)))
    fgrad.check_grads(jf, (x,), order=2, modes=("fwd", "rev"))


def test_replayed_program_under_transforms_on_new_values():
    jf = jit(f_chain)
    g = fgrad.grad(jf)
    x1, x2 = np.linspace(-1, 1, 5), np.linspace(0, 2, 5)
    _close(g(x1), fgrad.grad(f_chain)(x1))
    _close(g(x2), fgrad.grad(f_chain)(x2))  # the cached program, interpreted on tracers
    _close(jf(x2), f_chain(x2), 0, 0)


def test_closing_over_an_outer_tracer():
    def outer(y):
        return jit(lambda x: fnp.sin(x * y))(2.0)

    assert np.isclose(fgrad.grad(outer)(0.3), 2.0 * np.cos(0.6))
    assert np.isclose(fgrad.grad(outer)(0.5), 2.0 * np.cos(1.0))


def test_custom_vjp_inside():
    @fgrad.custom_vjp
    def clip_grad(x):
        return fnp.sin(x)

    clip_grad.defvjp(lambda x: (fnp.sin(x), fnp.cos(x)),
                     lambda c, g: (fnp.clip(g * c, -0.5, 0.5),))

    def f(x):
        return fnp.sum(clip_grad(x * 2.0))

    x1, x2 = np.array([0.1, 1.0, 2.0]), np.array([-0.3, 0.4, 3.0])
    for fn in (jit(fgrad.grad(f)), fgrad.grad(jit(f))):
        for x in (x1, x2, x1):
            _close(fn(x), fgrad.grad(f)(x))
    _close(jit(f)(x2), f(x2))


def test_custom_jvp_inside():
    @fgrad.custom_jvp
    def softplus(x):
        return fnp.log1p(fnp.exp(x))

    @softplus.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1.0 + fnp.exp(-x))

    def f(x):
        return fnp.sum(softplus(x) * x)

    x1, x2 = np.array([0.1, 1.0, -2.0]), np.array([3.0, -0.4, 0.0])
    for fn in (jit(fgrad.grad(f)), fgrad.grad(jit(f))):
        for x in (x1, x2):
            _close(fn(x), fgrad.grad(f)(x))
    _close(jit(f)(x2), f(x2))
    jj = jit(lambda x, t: fgrad.jvp(f, (x,), (t,)))
    _close(jj(x1, x2), fgrad.jvp(f, (x1,), (x2,)))


def test_checkpoint_inside():
    def block(x):
        return fnp.tanh(fnp.sin(x) * 3.0)

    def f(x):
        return fnp.sum(fgrad.checkpoint(block)(x) ** 2)

    x1, x2 = np.linspace(-1, 1, 4), np.linspace(0, 3, 4)
    for fn in (jit(fgrad.grad(f)), fgrad.grad(jit(f))):
        for x in (x1, x2):
            _close(fn(x), fgrad.grad(f)(x))
    _close(jit(f)(x2), f(x2), 0, 0)


def test_make_graph_draws_a_jitted_function():
    graph = fgrad.make_graph(jit(lambda x: fnp.sin(x) * x))(np.ones(3))
    ops = [n.op for n in graph.nodes]
    assert "sin" in ops and "multiply" in ops


# --- make_program and eval_shape -------------------------------------------------------


def test_make_program_listing():
    prog = fgrad.make_program(lambda x, y: fnp.sin(x) * y + 1.0)(np.ones(3), 2.0)
    text = str(prog)
    lines = text.splitlines()
    assert lines[0] == "{ lambda ; a:f64[3] b:f64[]. let"
    assert lines[1].strip() == "c:f64[3] = sin a"
    assert lines[2].strip() == "d:f64[3] = multiply c b"
    assert lines[3].strip() == "e:f64[3] = add d 1.0"
    assert lines[-1].strip() == "in (e,) }"
    assert [float(v) for v in prog(np.zeros(3), 5.0)[0]] == [1.0, 1.0, 1.0]
    gtext = str(fgrad.make_program(fgrad.grad(lambda x: fnp.sum(fnp.sin(x))))(np.ones(2)))
    assert "cos" in gtext and "f64[2]" in gtext
    # constants fold: work on constants alone is done when staging
    ctext = str(fgrad.make_program(lambda x: x * fnp.exp(fnp.ones(2)))(np.ones(2)))
    assert "exp" not in ctext and ctext.count(" = ") == 1


def test_program_interpret_equals_compiled():
    rng = np.random.default_rng(4)
    params, x, y = _mlp(rng)
    prog = fgrad.make_program(fgrad.grad(mlp_loss))(params, x, y)
    leaves = fgrad.tree.tree_leaves((params, x, y))
    for a, b in zip(prog(*leaves), prog.interpret(*leaves)):
        np.testing.assert_array_equal(a, b)
    assert "del " in prog.source  # dead values are freed


def test_eval_shape():
    S = fgrad.ShapeDtypeStruct

    def f(a, b):
        return {"m": a @ b, "s": fnp.sum(a, axis=0), "c": fnp.linalg.cholesky(b @ b.T)}

    out = fgrad.eval_shape(f, S((5, 3), np.float32), S((3, 3), np.float32))
    assert out == {"m": S((5, 3), np.float32), "s": S((3,), np.float32),
                   "c": S((3, 3), np.float32)}
    real = f(np.ones((5, 3), np.float32), np.eye(3, dtype=np.float32))
    assert all(out[k] == S(real[k].shape, real[k].dtype) for k in real)
    # arrays are read for shape and dtype only: NaN data does not matter
    got = fgrad.eval_shape(fgrad.grad(lambda x: fnp.sum(fnp.log(x))), np.full(4, np.nan))
    assert got == S((4,), np.float64)
    with pytest.raises(ConcretizationError):
        fgrad.eval_shape(lambda x: x if x > 0 else x, S((), float))


def test_traced_integer_indices_are_gathers():
    x = np.linspace(-1.0, 2.0, 6)
    m = np.arange(12.0).reshape(3, 4)
    cases = [
        (lambda x, i: x[i] * 2.0, (x, 2)),
        (lambda x, i: x[i] * 2.0, (x, np.array([0, 3, 3]))),
        (lambda x, i: x[i] * 2.0, (x, -1)),
        (lambda m, i: m[:, i], (m, np.array([1, 0]))),
        (lambda m, i: m[i], (m, 1)),
        (lambda x: x[fnp.argmax(x)] - x[fnp.argmin(x)], (x,)),
    ]
    for f, args in cases:
        jf = jit(f)
        _close(jf(*args), f(*args), 0, 0)
        _close(jf(*args), f(*args), 0, 0)
        grad = fgrad.grad(lambda a, *rest: fnp.sum(f(a, *rest)))
        _close(jit(grad)(*args), grad(*args))
    jf = jit(lambda x, i: x[i])
    jf(x, 1)
    assert jf(x, 4) == x[4]  # the index is an input of the program, not a constant
    with pytest.raises(TypeError, match="fnp.where"):
        jit(lambda x: x[x > 0])(x)


def test_take_with_a_staged_index():
    x = np.linspace(-1.0, 2.0, 6)
    for mode in ("raise", "wrap", "clip"):
        f = lambda x, i: fnp.take(x, i, mode=mode)  # noqa: E731
        i = np.array([1, 4]) if mode == "raise" else np.array([-8, 9])
        _close(jit(f)(x, i), f(x, i), 0, 0)
        g = fgrad.grad(lambda x, i: fnp.sum(f(x, i) ** 2))
        _close(jit(g)(x, i), g(x, i))


def test_indexed_updates_at_a_staged_integer_index():
    # x.at[i].set(v) inside jit with i an input (a loop counter, a position): the
    # program must hold i as an input, as x[i] does, in the forms x[i] and x[:, i]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    methods = ("set", "add", "multiply", "min", "max")
    for name in methods:
        for form in ("row", "column"):
            if form == "row":
                v = rng.standard_normal(3)

                def f(x, v, i, name=name):
                    return getattr(fnp.at(x)[i], name)(v)
            else:
                v = rng.standard_normal(4)

                def f(x, v, i, name=name):
                    return getattr(fnp.at(x)[:, i], name)(v)
            jf = jit(f)
            loss = lambda x, v, i, f=f: fnp.sum(fnp.sin(f(x, v, i)) * x)  # noqa: E731
            jg = jit(fgrad.grad(loss, argnums=(0, 1)))
            for i in (0, 2, -1, np.int64(1)):
                _close(jf(x, v, i), f(x, v, i), 0, 0)
                for got, want in zip(jg(x, v, i), fgrad.grad(loss, argnums=(0, 1))(x, v, i)):
                    _close(got, want)
            assert jf.cache_info()["traces"] <= 2  # Python int and numpy int: not per value
    # a scalar value broadcast into the row, and an integer array keeps its dtype
    jf = jit(lambda x, i: fnp.at(x)[i].set(7.0))
    _close(jf(x, 1), fnp.at(x)[1].set(7.0), 0, 0)
    k = np.arange(5)
    got = jit(lambda k, i: fnp.at(k)[i].add(3))(k, 2)
    assert got.dtype == k.dtype and list(got) == [0, 1, 5, 3, 4]
    # staged slice bounds: refused with the ways out, and the window form works
    v = np.arange(6.0)
    with pytest.raises(TypeError, match="fnp.take"):
        jit(lambda v, i: v[i:i + 2])(v, 1)
    window = lambda v, i: fnp.take(v, i + fnp.arange(2))  # noqa: E731
    _close(jit(window)(v, 3), v[3:5], 0, 0)
    # an array of staged indices may repeat (set keeps one): refused with the ways out
    with pytest.raises(TypeError, match="static_argnums"):
        jit(lambda x, i: fnp.at(x)[i].set(0.0))(x, np.array([0, 0]))


def test_debug_nans_checks_every_call_under_jit():
    def f(x):
        return fnp.sum(fnp.log(x) * 2.0)

    jf = jit(f)
    jg = jit(fgrad.grad(f))
    assert np.isfinite(jf(np.ones(2))) and np.all(np.isfinite(jg(np.ones(2))))
    with fgrad.debug_nans():
        jf(np.ones(2))  # nothing to report
        jg(np.ones(2))
        with pytest.raises(FloatingPointError, match="log"):
            jf(-np.ones(2))  # a cached signature: still checked
        with pytest.raises(FloatingPointError, match="log"):
            jg(-np.ones(2))
    assert np.isnan(jf(-np.ones(2)))  # off again: no check


def test_keyword_arguments_methods_and_odd_outputs():
    def f(x, *, scale, shift=0.0):
        return x * scale + shift

    jf = jit(f)
    x = np.arange(3.0)
    _close(jf(x, scale=2.0), f(x, scale=2.0), 0, 0)
    _close(jf(x, scale=3.0, shift=np.ones(3)), f(x, scale=3.0, shift=np.ones(3)), 0, 0)
    _close(jf(x, scale=4.0), f(x, scale=4.0), 0, 0)
    assert jf.cache_info()["traces"] == 2

    class Model:
        def __init__(self, w):
            self.w = w

        @jit
        def apply(self_, x):  # noqa: N805  (self is static: hashable by identity)
            return self_.w * x

    with pytest.raises(TypeError, match="cannot be traced"):
        Model(np.ones(2)).apply(x)  # an object argument must be static
    assert jit(lambda x: None)(x) is None
    assert jit(lambda x: x.shape[0] + 1)(x) == 4
    out = jit(lambda x: (x, [x * 2.0]))(x)
    assert out[0] is x and isinstance(out[1], list)


# rows without derivatives (the systematic table test walks the differentiable ones):
# under jit their values come from the same numpy calls, and they steer derivatives
NONDIFF_ROWS = {
    1: ["sign", "floor", "ceil", "rint", "trunc", "fix", "spacing", "isnan", "isinf",
        "isfinite", "isposinf", "isneginf", "signbit", "logical_not", "argmax", "argmin",
        "argsort", "nanargmax", "nanargmin", "stop_gradient"],
    2: ["floor_divide", "heaviside", "nextafter", "greater", "greater_equal", "less",
        "less_equal", "equal", "not_equal", "logical_and", "logical_or", "logical_xor"],
}


@pytest.mark.parametrize("name,nargs", [(n, k) for k, names in NONDIFF_ROWS.items()
                                        for n in names])
def test_rows_without_derivatives_under_jit(name, nargs):
    fn = fgrad.core.PRIMITIVES[name].fn
    rng = np.random.default_rng(5)
    args = [np.round(rng.uniform(-2, 2, (3, 4)), 1) for _ in range(nargs)]

    def f(*a):
        return fn(*a)

    jf = jit(f)
    for _ in range(2):
        _close(jf(*args), f(*args), 0, 0)
        args = [a[::-1] + 0.5 for a in args]  # a replay on other values
        got, want = jf(*args), f(*args)
        assert np.result_type(got) == np.result_type(want)
        _close(got, want, 0, 0)

    def g(x, *rest):  # the row steers a derivative
        out = fn(x, *rest)
        return fnp.sum(fnp.sin(x) * fnp.astype(out, float)) if np.ndim(out) == 2 else \
            fnp.sum(fnp.sin(x)) * 1.0
    _close(jit(fgrad.grad(g))(*args), fgrad.grad(g)(*args))


def test_compiled_replays_skip_values_nothing_reads():
    from fgrad.jit import optimized

    rng = np.random.default_rng(6)
    params, x, y = _mlp(rng)
    prog = fgrad.make_program(fgrad.grad(mlp_loss))(params, x, y)
    slim = optimized(prog)
    names = [e.prim.name for e in prog.eqns]
    slim_names = [e.prim.name for e in slim.eqns]
    assert "mean" in names and "mean" not in slim_names  # the loss value: not returned
    assert len(slim.eqns) < len(prog.eqns)
    leaves = fgrad.tree.tree_leaves(_mlp(rng))
    for a, b in zip(slim(*leaves), prog(*leaves)):
        np.testing.assert_array_equal(a, b)
    jg = jit(fgrad.grad(mlp_loss))
    jg(params, x, y)
    p2, x2, y2 = _mlp(rng)
    _close(jg(p2, x2, y2), fgrad.grad(mlp_loss)(p2, x2, y2))  # the compiled, slimmer program


def test_a_python_float_input_is_numpys_float64_under_grad_as_in_eager_mode():
    # eager reverse mode holds a Python float input as np.float64 (strong under numpy 2's
    # promotion), so x * float32_array is float64; under jit the input was a weak Python
    # float and the gradient came out in float32 precision
    a = np.linspace(0.5, 1.5, 3).astype(np.float32)

    def g(x):
        return fnp.sum(fnp.sin(x * a))

    want = fgrad.grad(g)(1.0)
    staged = fgrad.jit(fgrad.grad(g))
    for _ in range(3):  # the tracing call, the compiling replay, a compiled replay
        got = staged(1.0)
        assert got.dtype == want.dtype and got == want
    assert fgrad.jit(fgrad.grad(g))(0.25) == fgrad.grad(g)(0.25)


def test_rows_whose_dtype_numpy_picks_from_the_values_are_guarded():
    # numpy's eigvals of a real matrix is real when every eigenvalue is real and
    # complex otherwise: a program traced on real eigenvalues once dropped `.real`
    # (the identity on floats) and gave sum(Re(λ)²) = 15 where eager mode gives 0
    sym = np.array([[2.0, 1.0], [1.0, 3.0]])
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    f = lambda a: fnp.sum(fnp.linalg.eigvals(a).real ** 2)  # noqa: E731
    jf = jit(f)
    assert jf(sym) == f(sym)
    if np.linalg.eigvals(sym).dtype.kind == "f":  # numpy < 2.5: the values decide the dtype
        with pytest.raises(TypeError, match="complex"):
            jf(rot)
    else:  # numpy 2.5 always returns complex eigenvalues: nothing to guard
        assert jf(rot) == f(rot) == 0.0
    # traced on complex eigenvalues, later real ones stay complex: the same values
    g = lambda a: fnp.linalg.eigvals(a) * 2.0  # noqa: E731
    jg = jit(g)
    _close(jg(rot), g(rot), 0, 0)
    got = jg(sym)
    assert got.dtype.kind == "c"
    _close(np.sort(got.real), np.sort(g(sym)))
    np.testing.assert_array_equal(got.imag, 0.0)
    # a complex input has a complex result every time: nothing to guard
    jc = jit(lambda a: fnp.sum(fnp.abs(fnp.linalg.eigvals(a))))
    assert np.isclose(jc(sym.astype(complex)), fnp.sum(fnp.abs(np.linalg.eigvals(sym))))
    assert np.isclose(jc(rot.astype(complex)), 2.0)
    # and the derivative: grad(jit(f)) replays the guarded program on reverse mode's tracers
    h = lambda a: fnp.sum(fnp.real(fnp.linalg.eigvals(a)) ** 2)  # noqa: E731
    _close(fgrad.grad(jit(h))(sym), fgrad.grad(h)(sym))
    _close(jit(fgrad.grad(h))(sym), fgrad.grad(h)(sym))


def test_real_and_imag_attributes_are_staged():
    # a staging tracer kept the traced call's value in an attribute named `real`, which
    # hid the array attribute: jit(lambda x: x.real * 2) returned the first call's
    # answer on every later call
    for f in (lambda x: x.real * 2.0, lambda x: (x * 1j).real + x.imag,
              lambda x: (x * (1 + 2j)).imag, lambda x: fnp.sum(x.real ** 2)):
        jf = jit(f)
        for x in (np.ones(3), np.arange(3.0), np.array([1 + 2j, -1j, 3.0])):
            _close(jf(x), f(x), 0, 0)
    g = fgrad.grad(lambda x: fnp.sum((x * 3.0).real ** 2))
    for x in (np.ones(2), np.array([0.5, -2.0])):
        _close(jit(g)(x), g(x))


def test_array_attributes_and_methods_of_staged_values():
    # the tracer's own attributes must not hide the array's: x.var() once met the
    # tracer's program variable ("'Var' object is not callable")
    x = np.array([0.5, -1.0, 2.0, 3.5])
    for f in (lambda x: x.var(), lambda x: x.var(ddof=1) + x.std(), lambda x: x.T * x.size,
              lambda x: x * x.itemsize + x.nbytes, lambda x: x.conj().real.sum()):
        jf = jit(f)
        for v in (x, x * 2.0 - 1.0):
            _close(jf(v), f(v), 1e-15, 1e-15)
    g = fgrad.grad(lambda x: x.var())
    _close(jit(g)(x), g(x))
