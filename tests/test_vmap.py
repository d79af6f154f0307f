"""fgrad.vmap: JAX semantics, each batching category against a Python loop,
composition with the other transforms, and the errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fgrad
import fgrad.numpy as fnp
from fgrad.batching import BatchedValueError, MissingBatchRuleError
from fgrad.core import defprim

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def loop(f, in_axes=0, out_axes=0):
    """The reference: a Python loop over the examples, results stacked."""

    def run(*args):
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        sizes = {np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None}
        (n,) = sizes
        outs = []
        for i in range(n):
            ex = [a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, axes)]
            outs.append(f(*ex))
        leaves, tree = fgrad.tree.tree_flatten(outs[0])
        per = [fgrad.tree.tree_flatten(o)[0] for o in outs]
        o_axes = out_axes if isinstance(out_axes, (tuple, list)) else (out_axes,) * len(leaves)
        return tree.unflatten(
            [np.stack([p[k] for p in per], axis=ax) for k, ax in enumerate(o_axes)])

    return run


def same(got, want, rtol=1e-12, atol=1e-12):
    g_leaves, g_tree = fgrad.tree.tree_flatten(got)
    w_leaves, w_tree = fgrad.tree.tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        assert np.shape(g) == np.shape(w), (np.shape(g), np.shape(w))
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def check(f, *args, in_axes=0, out_axes=0):
    same(fgrad.vmap(f, in_axes, out_axes)(*args), loop(f, in_axes, out_axes)(*args))


# --- semantics ---------------------------------------------------------------------


def test_example_sees_one_example():
    seen = {}

    def f(x):
        seen["shape"], seen["ndim"], seen["len"] = x.shape, x.ndim, len(x)
        seen["dtype"] = x.dtype
        seen["np"] = (np.shape(x), np.ndim(x), np.size(x))
        return x

    fgrad.vmap(f, in_axes=1)(np.ones((3, 5, 4), dtype=np.float32))
    assert seen["shape"] == (3, 4) and seen["ndim"] == 2 and seen["len"] == 3
    assert seen["dtype"] == np.float32
    assert seen["np"] == ((3, 4), 2, 12)


def test_in_axes_per_argument_none_and_negative():
    x, w = randn(4, 3), randn(3, 5)
    check(lambda x, w: x @ w, x, w, in_axes=(0, None))
    check(lambda x, w: x @ w, x.T.copy(), w, in_axes=(-1, None))
    check(lambda x, w: x @ w, randn(3, 4), randn(3, 5, 4), in_axes=(1, 2))


def test_in_axes_pytree_prefix_and_kwargs():
    params = {"w": randn(3, 2), "b": randn(2)}
    xs = randn(5, 3)

    def f(p, x, scale=1.0):
        return fnp.tanh(x @ p["w"] + p["b"]) * scale

    got = fgrad.vmap(f, in_axes=(None, 0))(params, xs)
    same(got, np.stack([f(params, x) for x in xs]))
    per = {"w": randn(5, 3, 2), "b": randn(2)}
    got = fgrad.vmap(f, in_axes=({"w": 0, "b": None}, 0))(per, xs)
    same(got, np.stack([f({"w": per["w"][i], "b": per["b"]}, xs[i]) for i in range(5)]))
    scales = randn(5)  # keyword arguments are mapped over axis 0
    got = fgrad.vmap(f, in_axes=(None, 0))(params, xs, scale=scales)
    same(got, np.stack([f(params, xs[i], scales[i]) for i in range(5)]))
    # a list of in_axes is read as a tuple, as in JAX
    same(fgrad.vmap(f, in_axes=[None, 0])(params, xs), np.stack([f(params, x) for x in xs]))


def test_out_axes_pytree_none_and_negative():
    xs = randn(4, 3)

    def f(x):
        return {"a": x * 2, "b": fnp.sum(x), "c": 7.0}

    got = fgrad.vmap(f, out_axes={"a": -1, "b": 0, "c": None})(xs)
    same(got["a"], (xs * 2).T)
    same(got["b"], xs.sum(1))
    assert got["c"] == 7.0
    got = fgrad.vmap(lambda x: (x, 1.0), out_axes=(1, 0))(xs)
    same(got[0], xs.T)
    same(got[1], np.ones(4))  # an unbatched output is broadcast over the batch


def test_axis_size_without_mapped_inputs():
    got = fgrad.vmap(lambda c: c * 2.0, in_axes=None, axis_size=3)(np.ones(2))
    same(got, np.full((3, 2), 2.0))


def test_vmap_of_vmap():
    x = randn(2, 3, 4)
    f = lambda v: fnp.sum(fnp.sin(v) * v)
    same(fgrad.vmap(fgrad.vmap(f))(x), np.sum(np.sin(x) * x, axis=-1))
    # mapping different axes at each level
    got = fgrad.vmap(fgrad.vmap(f, in_axes=1), in_axes=2)(x)
    same(got, np.sum(np.sin(x) * x, axis=0).T)
    g = lambda a, b: fnp.outer(a, b)
    got = fgrad.vmap(fgrad.vmap(g, in_axes=(None, 0)), in_axes=(0, None))(randn(3, 2), randn(5, 4))
    assert got.shape == (3, 5, 2, 4)


# --- errors ---------------------------------------------------------------------------


def test_control_flow_on_a_batched_value_raises_with_the_fix():
    def f(x):
        if fnp.sum(x) > 0:
            return x
        return -x

    with pytest.raises(BatchedValueError, match=r"fnp\.where"):
        fgrad.vmap(f)(randn(3, 2))
    with pytest.raises(BatchedValueError, match="control flow"):
        fgrad.vmap(lambda x: x if x > 0 else -x)(randn(3))
    # the fix works
    same(fgrad.vmap(lambda x: fnp.where(x > 0, x, -x))(np.array([1.0, -2.0])), np.array([1.0, 2.0]))


def test_conversions_of_batched_values_raise():
    for f in (float, int, lambda x: x.item(), np.asarray, lambda x: np.array(x) + 1):
        with pytest.raises((BatchedValueError, TypeError), match="vmap"):
            fgrad.vmap(f)(randn(3))


def test_value_dependent_numpy_on_concrete_raises():
    def f(x):
        c = fgrad.core.concrete(x)
        assert c.shape == (2,)
        return x * np.max(c)

    with pytest.raises(BatchedValueError, match="numpy.amax|numpy.max"):
        fgrad.vmap(f)(randn(3, 2))
    x = np.array([[1.0, 2.0], [-1.0, -2.0], [1.0, -1.0]])
    with pytest.raises(BatchedValueError, match="differs between the examples"):
        fgrad.vmap(lambda x: x * fnp.any(x > 0))(x)


def test_value_dependent_numpy_is_exact_when_every_example_agrees():
    # numpy on concrete values is evaluated per example; a result that is the
    # same in every example is what a loop would see, so it may be used
    x = np.array([[1.0, 2.0], [-1.0, -2.0], [1.0, -1.0]])
    same(fgrad.vmap(lambda v: v * fnp.any(v > 10))(x), np.zeros((3, 2)))
    c = fgrad.vmap(lambda v: v + np.sum(fgrad.core.concrete(v) * 0 + 1))(x)
    same(c, x + 2)
    with pytest.raises(BatchedValueError, match="bool"):
        fgrad.vmap(lambda v: v if fgrad.core.concrete(v) else v)(x[:, 0])
    # rules that pick a formula from the values (logaddexp: are there infinities?)
    for f in (lambda v: fnp.logaddexp(v[0], v[1]), lambda v: fnp.logaddexp2(v[1], v[0])):
        same(fgrad.vmap(fgrad.grad(f))(x), np.stack([fgrad.grad(f)(v) for v in x]))
    # an unbatched table indexed with a batched index that is the same everywhere
    table = randn(5, 2)
    same(fgrad.vmap(lambda i, v: fnp.getitem(table, i) * v)(np.array([3, 3, 3]), x),
         table[3] * x)


def test_missing_batch_rule_names_the_primitive():
    twice = defprim("test_vmap_twice_no_rule", lambda x: 2 * x,
                    jvp=[lambda t, ans, x: 2 * t], vjp=[lambda g, ans, x: 2 * g])
    assert float(twice(np.float64(3.0))) == 6.0
    with pytest.raises(MissingBatchRuleError, match="test_vmap_twice_no_rule"):
        fgrad.vmap(twice)(randn(3))
    # and with a rule function it batches
    twice2 = defprim("test_vmap_twice_rule", lambda x: 2 * x,
                     jvp=[lambda t, ans, x: 2 * t], vjp=[lambda g, ans, x: 2 * g],
                     batch=lambda args, dims: (2 * args[0], dims[0]))
    check(twice2, randn(3, 2), in_axes=1)


def test_inconsistent_sizes_rank_and_structure_errors():
    with pytest.raises(ValueError, match="inconsistent sizes"):
        fgrad.vmap(lambda a, b: a + b)(randn(3), randn(4))
    with pytest.raises(ValueError, match="rank 0"):
        fgrad.vmap(lambda a: a)(1.0)
    with pytest.raises(ValueError, match="positional"):
        fgrad.vmap(lambda a, b: a + b, in_axes=(0,))(randn(3), randn(3))
    with pytest.raises(ValueError, match="at least one mapped"):
        fgrad.vmap(lambda a: a, in_axes=None)(randn(3))
    with pytest.raises(ValueError, match="out_axes is None"):
        fgrad.vmap(lambda a: a, out_axes=None)(randn(3))
    with pytest.raises(ValueError, match="does not match the structure"):
        fgrad.vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": randn(3)})


def test_leaked_batch_tracer_raises():
    stash = []

    def f(x):
        stash.append(x)
        return x

    fgrad.vmap(f)(randn(3))
    with pytest.raises(fgrad.LeakedTracerError):
        fnp.sin(stash[0])


# --- the categories, against a Python loop --------------------------------------------


def test_elementwise_broadcasting_across_batch_axes():
    x, y = randn(3, 4), randn(4, 3)
    check(lambda a, b: a * b + fnp.sin(a), x, y, in_axes=(0, 1))
    check(lambda a, b: fnp.maximum(a, b), randn(2, 3, 4), randn(4), in_axes=(1, None))
    check(lambda a, b: a - b, randn(3), randn(5, 3, 4), in_axes=(0, 1))  # rank 0 vs rank 2
    check(lambda c, a, b: fnp.where(c, a, b), randn(3, 4) > 0, randn(4), randn(3, 4),
          in_axes=(0, None, 0))
    check(lambda a: fnp.astype(a, np.float32) * 2, randn(4, 3), in_axes=1)


@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": -1, "keepdims": True},
                                {"axis": (0, 1)}, {"keepdims": True}])
def test_reductions(kw):
    x = randn(4, 2, 3)
    for f in (fnp.sum, fnp.mean, fnp.prod, fnp.max, fnp.min, fnp.var, fnp.std):
        check(lambda a, f=f: f(a, **kw), x, in_axes=1)
    for f in (fnp.argmax, fnp.argmin):
        if "axis" in kw and isinstance(kw["axis"], tuple):
            continue
        check(lambda a, f=f: f(a, **kw), x, in_axes=2)


def test_scans_and_sorts():
    x = randn(4, 2, 3)
    check(lambda a: fnp.cumsum(a), x, in_axes=1)
    check(lambda a: fnp.cumsum(a, axis=-1), x, in_axes=0)
    check(lambda a: fnp.argsort(a, axis=0), x, in_axes=2)


def test_shape_operations():
    x = randn(4, 2, 3)
    check(lambda a: fnp.reshape(a, (-1,)), x, in_axes=1)
    check(lambda a: fnp.reshape(a, (2, 1, 4)), x, in_axes=2)
    check(lambda a: fnp.transpose(a), x, in_axes=1)
    check(lambda a: fnp.moveaxis(a, 0, -1), x, in_axes=2)
    check(lambda a: fnp.broadcast_to(a, (5, 2, 3)), x, in_axes=0)
    check(lambda a: fnp.broadcast_to(a, (2, 3)), randn(3, 4), in_axes=1)
    check(lambda a: fnp.flip(a), x, in_axes=1)
    check(lambda a: fnp.flip(a, axis=0), x, in_axes=0)
    check(lambda a: fnp.expand_dims(a, 1) * fnp.squeeze(a[:1]), x, in_axes=2)
    check(lambda a, b: fnp.concatenate([a, b, a], axis=-1), x, randn(2, 5), in_axes=(0, None))
    check(lambda a, b: fnp.stack([a, b], axis=1), randn(3, 4), randn(4, 3), in_axes=(0, 1))


@pytest.mark.parametrize("idx", [
    1, -1, slice(None, None, -1), (Ellipsis, 0), (None, 1), (slice(1, 3), None, 0),
    np.array([0, 2, 2]), (np.array([0, 1]), slice(None), np.array([2, 0])),
    (slice(None), np.array([[1], [0]]), np.array([0, 2])), (0, slice(None), np.array([1, 1])),
])
def test_getitem_static_indices(idx):
    x = randn(5, 3, 4, 3)  # examples of shape (3, 4, 3), batched on axis 1
    check(lambda a: a[idx], x, in_axes=1)
    check(lambda a: a[idx], np.moveaxis(x, 1, -1).copy(), in_axes=-1)


def test_getitem_boolean_mask():
    x = randn(4, 3, 2)
    mask = randn(3, 2) > 0
    check(lambda a: a[mask], x)
    with pytest.raises(BatchedValueError, match="mask"):
        fgrad.vmap(lambda a: a[a > 0])(x)


def test_getitem_batched_indices():
    logits, labels = randn(6, 4), np.array([0, 3, 1, 1, 2, 0])
    check(lambda z, y: z[y], logits, labels)
    x = randn(6, 3, 5)
    idx = RNG.integers(0, 5, size=(6, 2))
    check(lambda a, i: a[:, i], x, idx)  # the advanced index after a slice
    check(lambda a, i: a[i[0]], randn(6, 5, 3), idx)
    check(lambda a, i: a[1, i], x, idx)
    check(lambda a, i: a[i, None], randn(6, 5), idx)
    check(lambda a, i: a[:, i], x, idx[:, 0], in_axes=(0, 0))
    # per-example gradient of a cross-entropy loss with per-example labels
    def loss(z, y):
        return -fnp.log(fnp.exp(z[y]) / fnp.sum(fnp.exp(z)))

    check(fgrad.grad(loss), logits, labels)
    # an unbatched table with a per-example index: a gather (an embedding lookup), and
    # the per-example gradients of the table
    table = randn(5, 2)
    ids = np.array([0, 4, 2, 2, -1])
    check(lambda i: fnp.getitem(table, i), ids)
    check(lambda i: fnp.take(table, i, axis=0), ids)
    check(lambda i: fnp.getitem(table, (slice(None), i)), np.array([0, 1, 1]))
    check(lambda i: fnp.take(table, i, axis=1, mode="wrap"), np.array([[0, 3], [-1, 2]]))
    check(lambda i: fnp.take(table, i, axis=0, mode="clip"), np.array([9, -3, 1]))
    def embed_loss(t, i, v):
        return fnp.sum(t[i] * v) + fnp.sum(t[:, i % 2] ** 2)

    check(fgrad.grad(embed_loss), table, ids, randn(5, 2), in_axes=(None, 0, 0))
    with pytest.raises(IndexError, match="x\\[:, i\\]"):
        fgrad.vmap(lambda i: fnp.getitem(table, (i, 0)))(ids)
    # a plain ndarray indexed by a tracer is numpy's own indexing: it cannot reach fgrad
    with pytest.raises(BatchedValueError, match="differs between the examples"):
        fgrad.vmap(lambda i: table[i])(np.array([0, 1]))


@pytest.mark.parametrize("update", ["set", "add", "multiply", "max"])
def test_index_updates(update):
    x, y = randn(3, 5, 4), randn(3, 2, 4)
    idx = np.array([1, 1])  # repeated: accumulates for add
    def f(a, b):
        return getattr(fnp.at(a)[idx], update)(b)

    check(f, x, y)
    check(f, x, y[0], in_axes=(0, None))
    check(f, x[0], y, in_axes=(None, 0))
    check(lambda a, b: getattr(fnp.at(a)[:, 1:3], update)(b), x, randn(3, 5, 2), in_axes=(0, 0))
    check(lambda a, b: getattr(fnp.at(a)[np.array([0, 1]), :, np.array([1, 2])], update)(b),
          randn(3, 2, 3, 4), randn(3, 2, 3), in_axes=(0, 0))
    check(lambda a, b: getattr(fnp.at(a)[0, :, np.array([1, 2])], update)(b),
          randn(3, 2, 3, 4), randn(2, 3), in_axes=(0, None))


def test_index_updates_with_batched_indices():
    x, y, idx = randn(4, 5), randn(4), np.array([0, 3, 3, 1])
    check(lambda a, b, i: fnp.at(a)[i].add(b), x, y, idx)
    check(lambda a, b, i: fnp.at(a)[i].set(b), x, y, idx)
    check(lambda a, i: fnp.at(a)[i].add(1.0), x, idx)
    x3 = randn(4, 3, 5)
    check(lambda a, b, i: fnp.at(a)[:, i].set(b), x3, randn(4, 3), idx)
    check(lambda a, b, i: fnp.at(a)[:, i].add(b), x3, randn(3), idx, in_axes=(0, None, 0))


@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
])
@pytest.mark.parametrize("axes", [(0, None), (None, 0), (0, 0), (-1, 0)])
def test_matmul_every_combination(sa, sb, axes):
    a = randn(*((4,) + sa)) if axes[0] is not None else randn(*sa)
    b = randn(*((4,) + sb)) if axes[1] is not None else randn(*sb)
    if axes[0] == -1:
        a = np.moveaxis(a, 0, -1).copy()
    check(fnp.matmul, a, b, in_axes=axes)
    check(fnp.dot, a, b, in_axes=axes)


def test_composites_batch_through_their_primitives():
    x, y = randn(4, 3), randn(4, 3)
    check(lambda a, b: fnp.tensordot(fnp.outer(a, b), a, axes=1), x, y)
    check(lambda a: fnp.clip(a, -0.5, 0.5) + fnp.linalg.norm(a), x)
    check(lambda a: fnp.array([a[0], 2 * a[1]]), x)


# --- composition with the differentiation transforms ------------------------------------


def mlp(params, x):
    h = fnp.tanh(x @ params["W1"] + params["b1"])
    return fnp.sum((h @ params["W2"]) ** 2)


PARAMS = {"W1": randn(3, 4), "b1": randn(4), "W2": randn(4, 2)}


def test_per_example_gradients():
    xs = randn(8, 3)
    got = fgrad.vmap(fgrad.grad(mlp), in_axes=(None, 0))(PARAMS, xs)
    want = [fgrad.grad(mlp)(PARAMS, x) for x in xs]
    for k in PARAMS:
        same(got[k], np.stack([w[k] for w in want]), rtol=1e-10)
    gx = fgrad.vmap(fgrad.grad(mlp, argnums=1), in_axes=(None, 0))(PARAMS, xs)
    same(gx, np.stack([fgrad.grad(mlp, argnums=1)(PARAMS, x) for x in xs]), rtol=1e-10)


def test_grad_of_vmap_matches_sum_of_per_example_gradients():
    xs = randn(8, 3)
    total = lambda p: fnp.sum(fgrad.vmap(mlp, in_axes=(None, 0))(p, xs))
    got = fgrad.grad(total)(PARAMS)
    for k in PARAMS:
        want = sum(fgrad.grad(mlp)(PARAMS, x)[k] for x in xs)
        same(got[k], want, rtol=1e-10)
    fgrad.check_grads(lambda w: fgrad.vmap(lambda x: fnp.sin(x @ w))(xs), (randn(3, 2),))


def test_vmap_of_jvp_vjp_and_hessian():
    f = lambda x: fnp.sin(x) * fnp.sum(x ** 2)
    xs, vs = randn(5, 3), randn(5, 3)
    got = fgrad.vmap(lambda x, v: fgrad.jvp(f, (x,), (v,))[1])(xs, vs)
    same(got, np.stack([fgrad.jvp(f, (x,), (v,))[1] for x, v in zip(xs, vs)]), rtol=1e-10)
    got = fgrad.vmap(lambda x, u: fgrad.vjp(f, x)[1](u)[0])(xs, vs)
    same(got, np.stack([fgrad.vjp(f, x)[1](u)[0] for x, u in zip(xs, vs)]), rtol=1e-10)
    g = lambda x: fnp.sum(fnp.sin(x) * x[::-1])
    same(fgrad.vmap(fgrad.hessian(g))(xs), np.stack([fgrad.hessian(g)(x) for x in xs]),
         rtol=1e-10)
    # jvp of vmap: push a batch of tangents through the batched function
    out, t = fgrad.jvp(fgrad.vmap(f), (xs,), (vs,))
    same(t, np.stack([fgrad.jvp(f, (x,), (v,))[1] for x, v in zip(xs, vs)]), rtol=1e-10)


def test_second_order_through_vmap():
    xs = randn(4, 3)
    f = lambda x: fnp.sum(fnp.exp(fnp.sin(x)))
    g2 = fgrad.grad(lambda x: fnp.sum(fgrad.grad(f)(x) ** 2))
    same(fgrad.vmap(g2)(xs), np.stack([g2(x) for x in xs]), rtol=1e-10)
    same(fgrad.vmap(fgrad.vmap(g2))(xs[None]), np.stack([g2(x) for x in xs])[None], rtol=1e-10)


# --- jacobians through vmap -------------------------------------------------------------


def _rowwise(jac, *args, **kw):
    import fgrad.api as api

    old = api._BATCHED_JACOBIANS
    api._BATCHED_JACOBIANS = False
    try:
        return jac(*args, **kw)
    finally:
        api._BATCHED_JACOBIANS = old


@pytest.mark.parametrize("jac", [fgrad.jacfwd, fgrad.jacrev])
@pytest.mark.parametrize("chunk_size", [None, 1, 3, 100])
def test_jacobians_batched_equal_row_loop(jac, chunk_size):
    f = lambda x, W: {"y": fnp.tanh(W @ x), "s": fnp.sum(x ** 2)}
    x, W = randn(4), randn(5, 4)
    got = jac(f, argnums=(0, 1), chunk_size=chunk_size)(x, W)
    want = _rowwise(jac(f, argnums=(0, 1)), x, W)
    same(got, want, rtol=1e-12)
    assert got["y"][1].shape == (5, 5, 4) and got["s"][0].shape == (4,)


def test_jacobian_falls_back_to_rows_without_batch_rules():
    cube = defprim("test_vmap_cube_no_rule", lambda x: x ** 3,
                   jvp=[lambda t, ans, x: 3 * x ** 2 * t],
                   vjp=[lambda g, ans, x: 3 * x ** 2 * g])
    x = randn(3)
    for jac in (fgrad.jacfwd, fgrad.jacrev):
        same(jac(lambda v: fnp.sin(cube(v)))(x), np.diag(3 * x ** 2 * np.cos(x ** 3)),
             rtol=1e-12)


def test_hessian_is_jacfwd_of_jacrev_through_vmap():
    A = randn(4, 4)
    f = lambda x: fnp.sum(fnp.sin(A @ x)) + x @ A @ x
    x = randn(4)
    H = fgrad.hessian(f)(x)
    want = -(A.T * np.sin(A @ x)) @ A + A + A.T
    same(H, want, rtol=1e-10)


# --- property: random programs and axes -------------------------------------------------


PROGRAMS = [
    lambda a, b: fnp.sum(a * b, axis=-1) + fnp.max(a),
    lambda a, b: fnp.tanh(a) @ fnp.transpose(b) if a.ndim == 2 else fnp.sin(a) * b,
    lambda a, b: fnp.concatenate([fnp.ravel(a), fnp.ravel(b[::-1])]),
    lambda a, b: fnp.where(a > b, a ** 2, fnp.exp(b)).mean(axis=0),
]


@given(st.data())
def test_random_programs_and_axes_match_the_loop(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=3))
    prog = data.draw(st.sampled_from(PROGRAMS))
    axes = []
    args = []
    for _ in range(2):
        if data.draw(st.booleans()) or not axes or all(a is None for a in axes):
            ax = data.draw(st.integers(-len(shape) - 1, len(shape)))
            per = [randn(*shape) for _ in range(3)]
            args.append(np.stack(per, axis=ax))
            axes.append(ax)
        else:
            args.append(randn(*shape))
            axes.append(None)
    check(prog, *args, in_axes=tuple(axes))
    f = lambda a, b: fnp.sum(prog(a, b) ** 2)
    check(fgrad.grad(f, argnums=(0, 1)), *args, in_axes=tuple(axes))


# --- rows the systematic table test does not draw: non-differentiable ones -------------------


def _nondiff_elementwise_rows():
    from fgrad.core import PRIMITIVES

    rows = []
    for p in PRIMITIVES.values():
        if not p.nondiff or p.batch != "elementwise":
            continue
        if isinstance(p.impl, np.ufunc):
            rows.append((p, p.impl.nin))
        elif p.name not in ("astype_nondiff",):
            rows.append((p, 1))
    return sorted(rows, key=lambda r: r[0].name)


@pytest.mark.parametrize("prim,nin", _nondiff_elementwise_rows(), ids=lambda r: getattr(r, "name", ""))
def test_nondifferentiable_elementwise_rows_batch_like_a_loop(prim, nin):
    args = [randn(3, 4) * 3, randn(4) * 3 + 0.5, randn(3, 1) * 3][:nin]
    if prim.name in ("ldexp", "left_shift", "right_shift") or "bitwise" in prim.name or prim.name in (
            "gcd", "lcm", "invert"):
        args = [RNG.integers(1, 5, size=np.shape(a)) for a in args]
    if prim.name == "isnat":  # datetimes only
        days = RNG.integers(0, 1000, size=(3, 4)).astype("datetime64[D]")
        args = [np.where(RNG.random((3, 4)) < 0.3, np.datetime64("NaT"), days)]
    axes = [0, None, 1][:nin]
    with np.errstate(all="ignore"):
        want = loop(prim.fn, tuple(axes))(*args)
        got = fgrad.vmap(prim.fn, in_axes=tuple(axes))(*args)
    same(got, want)


@pytest.mark.parametrize("fn", [
    lambda a: fnp.argmax(a), lambda a: fnp.argmin(a, axis=0), lambda a: fnp.argsort(a, axis=-1),
    lambda a: fnp.argmax(a, axis=1, keepdims=True), lambda a: fnp.sort(a, axis=0),
    lambda a: fnp.astype(a > 0, np.int32), lambda a: fnp.floor(a) + fnp.sign(a),
    lambda a: fgrad.stop_gradient(a) * a, lambda a: fnp.sum_to_shape(a, (1, 4)),
    lambda a: fnp.sum_to_shape(a, (4,)),
])
def test_other_nondifferentiable_rows(fn):
    check(fn, randn(3, 2, 4), in_axes=1)


def test_logsumexp_rows_keep_numpys_keepdims_on_0d_examples():
    # scipy's logsumexp gives a 0-d input with keepdims=True the shape (1,), numpy's
    # reductions give (); the rows follow numpy (the batch rule does), and fgrad.scipy's
    # logsumexp adds scipy's (1,): vmap of the row once gave (3,) against the loop's (3, 1)
    from fgrad.core import PRIMITIVES

    xb = np.array([0.1, -0.2, 0.3])
    for name, extra in (("special.logsumexp", ()), ("special.logsumexp_b", (np.array(2.0),))):
        fn = PRIMITIVES[name].fn
        f = lambda v, fn=fn, extra=extra: fn(v, *extra, axis=None, keepdims=True)  # noqa: E731
        loop = np.stack([np.asarray(f(x)) for x in xb])
        np.testing.assert_allclose(fgrad.vmap(f)(xb), loop)
        assert np.shape(f(xb[0])) == np.shape(np.sum(xb[0], keepdims=True))
    import scipy.special as ss

    import fgrad.scipy.special as fss
    assert np.shape(fss.logsumexp(fnp.asarray(0.3), keepdims=True)) == np.shape(
        ss.logsumexp(0.3, keepdims=True))
    g = fgrad.vmap(lambda v: fss.logsumexp(v, keepdims=True))(xb)
    np.testing.assert_allclose(g, np.stack([ss.logsumexp(x, keepdims=True) for x in xb]))
