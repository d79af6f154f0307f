"""fgrad.tree_util: JAX's pytree names and semantics, and every transform taking
and returning registered classes, dataclasses, namedtuples, OrderedDict,
defaultdict and Partial."""

import collections
import dataclasses
import functools

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad import tree_util as tu

RNG = np.random.default_rng(1)


# -- containers used below ---------------------------------------------------


@tu.register_dataclass
@dataclasses.dataclass
class Dense:
    w: object
    b: object
    act: str = dataclasses.field(default="tanh", metadata={"static": True})


@tu.register_pytree_node_class
class Affine:
    """A registered class with a static scale."""

    def __init__(self, m, c, scale=1.0):
        self.m, self.c, self.scale = m, c, scale

    def tree_flatten(self):
        return (self.m, self.c), self.scale

    @classmethod
    def tree_unflatten(cls, scale, children):
        return cls(*children, scale=scale)


Pair = collections.namedtuple("Pair", "first second")


def dense(p, x):
    return getattr(fnp, p.act)(x @ p.w + p.b)


def affine(a, x):
    return a.scale * (a.m * x + a.c)


def _dense():
    return Dense(RNG.standard_normal((3, 2)), RNG.standard_normal(2))


def _affine():
    return Affine(RNG.standard_normal(3), RNG.standard_normal(3), scale=2.0)


def _close(a, b, rtol=1e-10):
    la, ta = tu.tree_flatten(a)
    lb, tb = tu.tree_flatten(b)
    assert ta == tb, (ta, tb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-12)


def _fd_grad(f, tree, eps=1e-6):
    """Central differences, leaf by leaf, element by element."""
    leaves, treedef = tu.tree_flatten(tree)
    out = []
    for k, x in enumerate(leaves):
        x = np.asarray(x, dtype=float)
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            for sign in (1, -1):
                y = x.copy()
                y[i] += sign * eps
                new = list(leaves)
                new[k] = y
                g[i] += sign * float(f(treedef.unflatten(new))) / (2 * eps)
        out.append(g)
    return treedef.unflatten(out)


# -- flattening ---------------------------------------------------------------


def test_leaves_structure_and_unflatten_round_trip_for_every_container():
    od = collections.OrderedDict([("z", 1.0), ("a", 2.0)])
    dd = collections.defaultdict(list, {"y": 3.0, "x": 4.0})
    tree = {"od": od, "dd": dd, "nt": Pair(5.0, None), "l": [6.0, (7.0,)], "n": None}
    leaves, treedef = tu.tree_flatten(tree)
    # dicts and defaultdicts in sorted key order, OrderedDict in insertion order
    assert leaves == [4.0, 3.0, 6.0, 7.0, 5.0, 1.0, 2.0]
    back = tu.tree_unflatten(treedef, leaves)
    assert type(back["od"]) is collections.OrderedDict and list(back["od"]) == ["z", "a"]
    assert type(back["dd"]) is collections.defaultdict and back["dd"].default_factory is list
    assert back["nt"] == Pair(5.0, None) and back["n"] is None
    assert back == tree
    assert treedef.num_leaves == 7
    # the default_factory is part of the structure
    assert tu.tree_structure(collections.defaultdict(list, a=1)) != tu.tree_structure(
        collections.defaultdict(dict, a=1))
    # OrderedDicts with the same keys in another order differ, as in JAX
    assert tu.tree_structure(collections.OrderedDict(a=1, b=2)) != tu.tree_structure(
        collections.OrderedDict(b=2, a=1))


def test_none_is_an_empty_subtree_and_is_leaf_can_make_it_a_leaf():
    assert tu.tree_leaves([None, 1.0, {"a": None}]) == [1.0]
    assert tu.tree_leaves([None, 1.0], is_leaf=lambda x: x is None) == [None, 1.0]
    assert tu.tree_map(lambda x: x * 2, [None, 1.0]) == [None, 2.0]


def test_is_leaf_stops_at_chosen_subtrees_everywhere():
    tree = {"a": (1.0, 2.0), "b": [(3.0, 4.0)]}
    is_pair = lambda x: isinstance(x, tuple)  # noqa: E731
    assert tu.tree_leaves(tree, is_leaf=is_pair) == [(1.0, 2.0), (3.0, 4.0)]
    assert tu.tree_structure(tree, is_leaf=is_pair).num_leaves == 2
    summed = tu.tree_map(sum, tree, is_leaf=is_pair)
    assert summed == {"a": 3.0, "b": [7.0]}
    leaves, treedef = tu.tree_flatten(tree, is_leaf=is_pair)
    assert tu.tree_unflatten(treedef, leaves) == tree
    paths = [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(tree, is_leaf=is_pair)]
    assert paths == ["['a']", "['b'][0]"]


def test_tree_map_over_several_trees_and_prefixes():
    a, b = {"x": 1.0, "y": [2.0, 3.0]}, {"x": 10.0, "y": [20.0, 30.0]}
    assert tu.tree_map(lambda u, v: u + v, a, b) == {"x": 11.0, "y": [22.0, 33.0]}
    # the first tree may be a prefix of the others: whole subtrees are passed
    got = tu.tree_map(lambda u, v: (u, v), {"x": 0, "y": 1}, b)
    assert got == {"x": (0, 10.0), "y": (1, [20.0, 30.0])}
    with pytest.raises(ValueError, match="pytree structures differ.*missing"):
        tu.tree_map(lambda u, v: u, a, {"x": 1.0, "z": [1, 2]})
    with pytest.raises(ValueError, match=r"at \['y'\]: expected list of length 2"):
        tu.tree_map(lambda u, v: u, a, {"x": 1.0, "y": [1.0]})


def test_unflatten_with_the_wrong_number_of_leaves_is_a_clear_error():
    treedef = tu.tree_structure([1, 2])
    with pytest.raises(ValueError, match="has 2 leaves, but 3 were given"):
        tu.tree_unflatten(treedef, [1, 2, 3])
    with pytest.raises(TypeError, match="must be a PyTreeDef"):
        tu.tree_unflatten([1, 2], [1, 2])


# -- key paths ----------------------------------------------------------------


def test_key_paths_name_every_kind_of_child():
    box = Affine(1.0, 2.0)
    tree = {"d": Dense(1.0, 2.0), "p": Pair(3.0, 4.0), "s": [5.0], "a": box,
            "o": collections.OrderedDict(k=6.0)}
    pairs, treedef = tu.tree_flatten_with_path(tree)
    assert treedef == tu.tree_structure(tree)
    assert [x for _, x in pairs] == tu.tree_leaves(tree)
    got = {tu.keystr(p): x for p, x in pairs}
    assert got == {"['a'][<flat index 0>]": 1.0, "['a'][<flat index 1>]": 2.0,
                   "['d'].w": 1.0, "['d'].b": 2.0, "['o']['k']": 6.0,
                   "['p'].first": 3.0, "['p'].second": 4.0, "['s'][0]": 5.0}
    path = pairs[2][0]
    assert path == (tu.DictKey("d"), tu.GetAttrKey("w"))
    assert tu.keystr(path, simple=True, separator="/") == "d/w"
    assert pairs[0][0] == (tu.DictKey("a"), tu.FlattenedIndexKey(0))
    assert tu.tree_leaves_with_path([1.0])[0][0] == (tu.SequenceKey(0),)
    assert hash(tu.SequenceKey(0)) == hash(tu.SequenceKey(0))
    assert tu.SequenceKey(0) != tu.FlattenedIndexKey(0)


def test_tree_map_with_path_and_leaf_paths_agree_with_tree_map():
    tree = {"b": [1.0, 2.0], "a": Pair(3.0, 4.0)}
    got = tu.tree_map_with_path(lambda p, x, y: (tu.keystr(p), x + y), tree, tree)
    assert got == {"a": Pair(("['a'].first", 6.0), ("['a'].second", 8.0)),
                   "b": [("['b'][0]", 2.0), ("['b'][1]", 4.0)]}
    assert fgrad.tree.leaf_paths(tree) == ["['a'].first", "['a'].second", "['b'][0]",
                                           "['b'][1]"]


def test_register_pytree_with_keys_names_the_children():
    class Bag:
        def __init__(self, **kw):
            self.kw = kw

    tu.register_pytree_with_keys(
        Bag,
        lambda b: ([(tu.DictKey(k), b.kw[k]) for k in sorted(b.kw)], tuple(sorted(b.kw))),
        lambda keys, ch: Bag(**dict(zip(keys, ch))))
    bag = Bag(y=2.0, x=1.0)
    assert tu.tree_leaves(bag) == [1.0, 2.0]
    assert [tu.keystr(p) for p, _ in tu.tree_leaves_with_path(bag)] == ["['x']", "['y']"]
    g = fgrad.grad(lambda b: b.kw["x"] * b.kw["y"] ** 2)(Bag(x=3.0, y=2.0))
    assert (float(g.kw["x"]), float(g.kw["y"])) == (4.0, 12.0)
    with pytest.raises(ValueError, match="already a registered pytree node"):
        tu.register_pytree_with_keys(Bag, lambda b: ((), None), lambda a, c: Bag())


# -- registration -------------------------------------------------------------


def test_register_dataclass_reads_static_fields_and_checks_explicit_ones():
    leaves, treedef = tu.tree_flatten(Dense(1.0, 2.0, act="sin"))
    assert leaves == [1.0, 2.0]
    assert treedef != tu.tree_structure(Dense(1.0, 2.0, act="tanh"))  # static differs
    assert tu.tree_unflatten(treedef, [5.0, 6.0]) == Dense(5.0, 6.0, act="sin")

    @dataclasses.dataclass
    class Cfg:
        x: float
        n: int
        cache: float = dataclasses.field(init=False, default=0.0)

    tu.register_dataclass(Cfg, data_fields=["x"], meta_fields=["n"])
    assert tu.tree_leaves(Cfg(1.5, 3)) == [1.5]
    assert tu.tree_map(lambda v: v * 2, Cfg(1.5, 3)) == Cfg(3.0, 3)

    class Plain:  # not a dataclass: fields given, rebuilt by keywords
        def __init__(self, a, k):
            self.a, self.k = a, k

    tu.register_dataclass(Plain, data_fields=("a",), meta_fields=("k",))
    out = fgrad.grad(lambda p: p.a ** p.k)(Plain(2.0, 3))
    assert float(out.a) == 12.0 and out.k == 3

    @dataclasses.dataclass
    class Missing:
        a: float
        b: float

    with pytest.raises(ValueError, match=r"missing \['b'\]"):
        tu.register_dataclass(Missing, data_fields=["a"], meta_fields=[])
    with pytest.raises(TypeError, match="both data_fields and meta_fields"):
        tu.register_dataclass(Missing, data_fields=["a", "b"])
    with pytest.raises(TypeError, match="not a dataclass"):
        tu.register_dataclass(Plain)
    with pytest.raises(TypeError, match="must define tree_flatten and tree_unflatten"):
        tu.register_pytree_node_class(Plain)


def test_register_dataclass_with_field_lists_as_a_decorator():
    @tu.register_dataclass(data_fields=["v"], meta_fields=["tag"])
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        v: object
        tag: str

    assert tu.tree_leaves(Frozen(1.0, "t")) == [1.0]
    assert fgrad.grad(lambda f: f.v ** 2)(Frozen(3.0, "t")) == Frozen(6.0, "t")


# -- transpose, reduce, all, leaves helpers ---------------------------------------


def test_tree_transpose_swaps_outer_and_inner_and_round_trips():
    steps = [{"loss": 1.0, "acc": (0.5, 0.1)}, {"loss": 0.8, "acc": (0.6, 0.2)},
             {"loss": 0.7, "acc": (0.7, 0.3)}]
    outer = tu.tree_structure([0, 0, 0])
    inner = tu.tree_structure({"loss": 0, "acc": (0, 0)})
    t = tu.tree_transpose(outer, inner, steps)
    assert t == {"loss": [1.0, 0.8, 0.7], "acc": ([0.5, 0.6, 0.7], [0.1, 0.2, 0.3])}
    assert tu.tree_transpose(inner, outer, t) == steps
    assert tu.tree_transpose(outer, None, steps) == t
    with pytest.raises(ValueError, match="pytree structures differ"):
        tu.tree_transpose(outer, inner, steps[:2])


def test_tree_reduce_all_and_leaf_predicates():
    tree = {"a": 1, "b": [2, 3], "c": None}
    assert tu.tree_reduce(lambda a, b: a * b, tree) == 6
    assert tu.tree_reduce(lambda a, b: a + b, tree, 10) == 16
    with pytest.raises(TypeError, match="initializer"):
        tu.tree_reduce(lambda a, b: a + b, [None])
    assert tu.tree_all([True, (1, 2.0)]) and not tu.tree_all([True, {"x": 0}])
    assert tu.tree_all([])
    assert tu.treedef_is_leaf(tu.tree_structure(np.ones(3)))
    assert tu.treedef_is_leaf(tu.tree_structure(None))  # a node with no children, as JAX
    assert not tu.treedef_is_leaf(tu.tree_structure((1.0,)))
    assert tu.all_leaves([1.0, np.ones(2), "s"])
    assert not tu.all_leaves([1.0, [2.0]])
    assert tu.all_leaves([[2.0]], is_leaf=lambda x: isinstance(x, list))


# -- Partial ------------------------------------------------------------------


def test_partial_bound_arguments_are_leaves_and_the_function_is_static():
    def f(w, x, *, b):
        return fnp.sum(w * x) + b

    p = tu.Partial(f, np.array([1.0, 2.0]), b=0.5)
    assert float(p(np.ones(2))) == 3.5
    leaves, treedef = tu.tree_flatten(p)
    assert len(leaves) == 2
    assert treedef == tu.tree_structure(tu.Partial(f, np.zeros(2), b=1.0))
    assert treedef != tu.tree_structure(tu.Partial(lambda *a, **k: 0, np.zeros(2), b=1.0))
    q = tu.tree_unflatten(treedef, [np.array([3.0, 4.0]), 2.0])
    assert isinstance(q, tu.Partial) and q.func is f and float(q(np.ones(2))) == 9.0
    # a functools.partial as the function stays whole: its arguments are static
    inner = functools.partial(f, np.ones(2))
    r = tu.Partial(inner, b=1.0)
    assert tu.tree_leaves(r) == [1.0] and float(r(np.ones(2))) == 3.0


def test_partial_through_grad_vjp_jvp_and_vmap():
    def f(w, x):
        return fnp.sum(fnp.sin(w * x))

    w, x = RNG.standard_normal(3), RNG.standard_normal(3)
    g = fgrad.grad(lambda p: p(x))(tu.Partial(f, w))
    assert isinstance(g, tu.Partial) and g.func is f
    np.testing.assert_allclose(g.args[0], np.cos(w * x) * x, rtol=1e-13)
    out, t = fgrad.jvp(lambda p: p(x), (tu.Partial(f, w),), (tu.Partial(f, np.ones(3)),))
    np.testing.assert_allclose(t, np.sum(np.cos(w * x) * x), rtol=1e-13)
    ws = RNG.standard_normal((4, 3))
    per = fgrad.vmap(lambda p: p(x))(tu.Partial(f, ws))
    np.testing.assert_allclose(per, [f(wi, x) for wi in ws], rtol=1e-13)
    # a Partial returned from a transform
    made = fgrad.vmap(lambda wi: tu.Partial(f, wi * 2))(ws)
    np.testing.assert_allclose(made.args[0], ws * 2)


# -- transforms on registered classes and dataclasses ---------------------------


def test_grad_with_argnums_and_has_aux_on_dataclasses_and_classes():
    d, a, x = _dense(), _affine(), RNG.standard_normal((4, 3))

    def loss(d, a, x):
        h = dense(d, x)
        return fnp.sum(affine(a, fnp.sum(h)) ** 2), {"h": h}

    (gd, ga), aux = fgrad.grad(loss, argnums=(0, 1), has_aux=True)(d, a, x)
    assert isinstance(gd, Dense) and gd.act == "tanh" and isinstance(ga, Affine)
    assert ga.scale == 2.0  # static data kept
    np.testing.assert_allclose(aux["h"], dense(d, x))
    _close(gd, _fd_grad(lambda t: loss(t, a, x)[0], d), rtol=1e-6)
    _close(ga, _fd_grad(lambda t: loss(d, t, x)[0], a), rtol=1e-6)
    fgrad.check_grads(lambda d, a: loss(d, a, x)[0], (d, a), order=2, modes=("fwd", "rev"))


def test_vjp_and_jvp_with_registered_outputs():
    d, x = _dense(), RNG.standard_normal((4, 3))

    def f(d):
        return Pair(dense(d, x), Affine(d.b, d.b * 2, scale=3.0))

    out, f_vjp = fgrad.vjp(f, d)
    assert isinstance(out, Pair) and isinstance(out.second, Affine)
    ct = tu.tree_map(np.ones_like, out)
    (gd,) = f_vjp(ct)
    assert isinstance(gd, Dense)
    t_in = tu.tree_map(lambda v: RNG.standard_normal(np.shape(v)), d)
    out2, t_out = fgrad.jvp(f, (d,), (t_in,))
    assert isinstance(t_out, Pair) and t_out.second.scale == 3.0
    # <ct, J t> == <J^T ct, t>
    lhs = sum(np.sum(c * t) for c, t in zip(tu.tree_leaves(ct), tu.tree_leaves(t_out)))
    rhs = sum(np.sum(g * t) for g, t in zip(tu.tree_leaves(gd), tu.tree_leaves(t_in)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_vmap_in_axes_and_out_axes_as_pytrees_of_registered_classes():
    ds = Dense(RNG.standard_normal((5, 3, 2)), RNG.standard_normal(2))
    x = RNG.standard_normal((4, 3))
    # map over w (axis 0) only: in_axes is a Dense of axes
    f = fgrad.vmap(lambda d: Pair(dense(d, x), fnp.sum(d.b)),
                   in_axes=(Dense(0, None),), out_axes=Pair(1, None))
    out = f(ds)
    assert out.first.shape == (4, 5, 2)
    for i in range(5):
        np.testing.assert_allclose(out.first[:, i], dense(Dense(ds.w[i], ds.b), x), rtol=1e-13)
    np.testing.assert_allclose(out.second, np.sum(ds.b))
    # a namedtuple prefix for a namedtuple argument
    g = fgrad.vmap(lambda p: p.first * p.second, in_axes=(Pair(0, None),))
    np.testing.assert_allclose(g(Pair(np.arange(3.0), 2.0)), 2 * np.arange(3.0))


def test_jacfwd_jacrev_and_hessian_on_dataclasses():
    d, x = _dense(), RNG.standard_normal((2, 3))
    f = lambda d: dense(d, x)  # noqa: E731
    Jf, Jr = fgrad.jacfwd(f)(d), fgrad.jacrev(f)(d)
    assert isinstance(Jf, Dense) and Jf.w.shape == (2, 2, 3, 2) and Jf.b.shape == (2, 2, 2)
    _close(Jf, Jr, rtol=1e-12)
    scalar = lambda d: fnp.sum(dense(d, x) ** 2)  # noqa: E731
    H = fgrad.hessian(scalar)(d)
    assert isinstance(H, Dense) and isinstance(H.w, Dense)  # input structure twice
    assert H.w.b.shape == (3, 2, 2)
    # the Hessian is the Jacobian of the gradient, and symmetric
    Jg = fgrad.jacfwd(fgrad.grad(scalar))(d)
    _close(H, Jg, rtol=1e-10)
    np.testing.assert_allclose(H.w.b, np.moveaxis(H.b.w, 0, -1), rtol=1e-10)


def test_hessian_with_has_aux_on_pytrees():
    params = {"a": RNG.standard_normal(2), "p": Pair(0.3, RNG.standard_normal(2))}

    def f(q):
        s = fnp.sum(q["a"] ** 2 * q["p"].second) + fnp.sin(q["p"].first) * fnp.sum(q["a"])
        return s, {"value": s, "note": "aux"}

    H, aux = fgrad.hessian(f, has_aux=True)(params)
    H0 = fgrad.hessian(lambda q: f(q)[0])(params)
    _close(H, H0)
    np.testing.assert_allclose(aux["value"], f(params)[0])
    assert aux["note"] == "aux"
    # against finite differences of the gradient
    g = fgrad.grad(lambda q: f(q)[0])
    eps = 1e-6
    for k in range(2):
        up, dn = tu.tree_map(np.copy, params), tu.tree_map(np.copy, params)
        up["a"][k] += eps
        dn["a"][k] -= eps
        col = tu.tree_map(lambda u, v: (u - v) / (2 * eps), g(up), g(dn))
        np.testing.assert_allclose(H["a"]["a"][:, k], col["a"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(H["p"].second["a"][:, k], col["p"].second, rtol=1e-6,
                                   atol=1e-8)
    # argnums picks arguments, aux comes back as it is
    H2, aux2 = fgrad.hessian(lambda u, v: (fnp.sum(u * v ** 2), v), argnums=(0, 1),
                             has_aux=True)(np.ones(2), np.full(2, 3.0))
    np.testing.assert_allclose(H2[1][1], np.diag([2.0, 2.0]))
    np.testing.assert_allclose(H2[0][1], np.diag([6.0, 6.0]))
    np.testing.assert_allclose(aux2, [3.0, 3.0])


def test_custom_vjp_takes_and_returns_registered_classes():
    @fgrad.custom_vjp
    def apply(a, x):
        return Pair(a.m * x, a.c + x)

    def fwd(a, x):
        return apply(a, x), (a, x)

    def bwd(res, g):
        a, x = res
        return Affine(g.first * x, g.second, scale=a.scale), g.first * a.m + g.second

    apply.defvjp(fwd, bwd)
    a, x = _affine(), RNG.standard_normal(3)
    loss = lambda a, x: fnp.sum(apply(a, x).first ** 2 + apply(a, x).second)  # noqa: E731
    ref = lambda a, x: fnp.sum((a.m * x) ** 2 + a.c + x)  # noqa: E731
    ga, gx = fgrad.grad(loss, argnums=(0, 1))(a, x)
    ra, rx = fgrad.grad(ref, argnums=(0, 1))(a, x)
    assert isinstance(ga, Affine) and ga.scale == 2.0
    _close((ga, gx), (ra, rx), rtol=1e-12)


def test_defaultdict_and_ordereddict_parameters_through_grad_and_vmap():
    od = collections.OrderedDict([("w", np.array([1.0, 2.0])), ("b", 0.5)])
    dd = collections.defaultdict(float, {"s": 3.0})
    g = fgrad.grad(lambda o, d: fnp.sum(o["w"] ** 2) * d["s"] + o["b"], argnums=(0, 1))(od, dd)
    assert type(g[0]) is collections.OrderedDict and list(g[0]) == ["w", "b"]
    assert type(g[1]) is collections.defaultdict and g[1].default_factory is float
    np.testing.assert_allclose(g[0]["w"], [6.0, 12.0])
    assert float(g[1]["s"]) == 5.0
    out = fgrad.vmap(lambda o: collections.OrderedDict(z=o["w"] * 2, a=o["b"]))(
        collections.OrderedDict(w=np.arange(3.0), b=np.ones(3)))
    assert list(out) == ["z", "a"]
    np.testing.assert_allclose(out["z"], 2 * np.arange(3.0))
