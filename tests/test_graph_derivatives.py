"""make_graph's trace tables and pictures: local derivatives, roles, pruning, replay."""

import re
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.graph as fgraph
import fgrad.numpy as fnp
from fgrad.core import PRIMITIVES


def baydin(x1, x2):
    return fnp.log(x1) + x1 * x2 - fnp.sin(x2)


X1, X2 = 2.0, 5.0
# the survey's local derivatives: (node, argument) -> (expression, analytic value)
SURVEY = {
    ("v1", "x1"): ("1/x1", 1 / X1),
    ("v2", "x1"): ("x2", X2),
    ("v2", "x2"): ("x1", X1),
    ("v3", "v1"): ("1", 1.0),
    ("v3", "v2"): ("1", 1.0),
    ("v4", "x2"): ("cos(x2)", np.cos(X2)),
    ("v5", "v3"): ("1", 1.0),
    ("v5", "v4"): ("-1", -1.0),
}


def nfc(text):
    """The tables put combining accents on names (x + U+0307); compare composed."""
    return unicodedata.normalize("NFC", text)


def _row_fd(graph, node_name, wrt_name, h=1e-6):
    """Central difference of one row of the graph in one of its arguments."""
    node = graph[node_name]
    (pos,) = [p for p, a in node.parents if a.name == wrt_name]
    vals = [a.value if isinstance(a, fgraph.Node) else a for a in node.args]

    def at(shift):
        args = list(vals)
        args[pos] = args[pos] + shift
        return node.primitive.impl(*args, **node.params)

    return (at(h) - at(-h)) / (2 * h)


@pytest.mark.parametrize("kind", ["tangent", "adjoint"])
def test_each_step_of_the_survey_shows_its_local_derivative(kind):
    g = fgrad.make_graph(baydin)(X1, X2)
    table = g.tangent_trace(1.0, 1.0) if kind == "tangent" else g.adjoint_trace()
    terms = [t for step in table.steps for t in step]
    assert sorted((t.node, t.wrt) for t in terms) == sorted(SURVEY)
    for t in terms:
        expression, analytic = SURVEY[(t.node, t.wrt)]
        assert t.derivative == expression
        assert float(t.local) == pytest.approx(analytic, rel=1e-12)
        assert float(t.local) == pytest.approx(_row_fd(g, t.node, t.wrt), rel=1e-7)
        # local derivative × what flows in = the contribution the rule computed
        assert float(t.value) == pytest.approx(float(t.local) * float(t.incoming), rel=1e-12)
    text = str(table)
    assert "cos(x2)" in text and "1/x1" in text
    assert "0.2837" in text  # the numbers of cos(x2), next to the symbols
    assert "cos(x2)" in table._repr_html_()


def test_the_rows_read_like_the_survey_tables():
    g = fgrad.make_graph(baydin)(X1, X2)
    tan = g.tangent_trace(1.0, 0.0)
    rows = {name: (nfc(expr), float(value)) for name, expr, value in tan.rows}
    assert rows["v1"] == (nfc("(1/x1)·ẋ1"), 0.5)
    assert rows["v4"] == (nfc("cos(x2)·ẋ2"), 0.0)
    assert rows["v2"] == (nfc("x2·ẋ1 + x1·ẋ2"), 5.0)
    assert "= 0.5×1" in str(tan) and "= 5×1 + 2×0" in str(tan)
    adj = g.adjoint_trace()
    assert ("x1", nfc("+= v̄1·(1/x1)"), 0.5) in [(n, nfc(e), float(v)) for n, e, v in adj.rows]
    assert "(-1)×0.2837" in str(adj)


def test_rows_that_apply_a_linear_map_show_the_map():
    g = fgrad.make_graph(lambda w, x: fnp.sum(w @ x))(np.ones((2, 3)), np.arange(3.0))
    tan = g.tangent_trace(np.ones((2, 3)), np.zeros(3))
    mat = {t.wrt: t for t in tan.terms["v1"]}
    assert mat["w"].derivative == "· @ x" and mat["w"].is_map
    assert mat["x"].derivative == "w @ ·"
    assert tan.terms["v2"][0].derivative == "sum(·)"
    np.testing.assert_allclose(mat["w"].value, np.ones((2, 3)) @ np.arange(3.0))
    assert nfc("ẇ @ x") in nfc(tan.rows[-2][1])


# every elementwise row whose arguments are all floats, with the row's own domain
ELEMENTWISE = sorted(
    (p for p in PRIMITIVES.values()
     if p.batch == "elementwise" and not p.nondiff and isinstance(p.jvp, (list, tuple))
     and 1 <= len(p.jvp) <= 2 and all(r is not None for r in p.jvp)
     and not (p.test or {}).get("skip") and "make" not in (p.test or {})
     and "params" not in (p.test or {})),
    key=lambda p: p.name,
)


def test_the_systematic_check_covers_the_usual_rows():
    names = {p.name for p in ELEMENTWISE}
    assert {"sin", "log", "exp", "tanh", "multiply", "divide", "power", "sqrt"} <= names
    assert len(names) > 40


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ELEMENTWISE), st.integers(0, 2**31 - 1))
def test_local_derivatives_of_elementwise_rows_match_finite_differences(prim, seed):
    rng = np.random.default_rng(seed)
    nargs = len(prim.jvp)
    domain = (prim.test or {}).get("domain", [(-1.5, 1.5)] * nargs)
    args = [float(rng.uniform(lo, hi)) for lo, hi in domain]
    names = ["a", "b"][:nargs]
    fun = {1: lambda a: prim.fn(a), 2: lambda a, b: prim.fn(a, b)}[nargs]
    g = fgrad.make_graph(fun)(*args)
    (node,) = g.primitives
    table = g.tangent_trace(*[1.0] * nargs)
    terms = {t.wrt: t for t in table.terms[node.name]}
    assert sorted(terms) == names
    for name in names:
        t = terms[name]
        assert not t.derivative.startswith("∂"), (prim.name, t.derivative)  # read off the rule
        fd = _row_fd(g, node.name, name)
        if not np.isfinite(fd) or abs(fd) > 1e6:
            continue  # a pole or a kink: finite differences say nothing there
        np.testing.assert_allclose(t.local, fd, rtol=1e-5, atol=1e-6, err_msg=prim.name)
        np.testing.assert_allclose(t.value, np.asarray(t.local) * 1.0, rtol=1e-12,
                                   err_msg=prim.name)


def test_no_negative_zero_labels():
    # the tangent of sin at 0 with a zero tangent is -1 × 0 = -0 in IEEE arithmetic
    g = fgrad.make_graph(baydin)(X1, X2)
    tan = g.tangent_trace(1.0, 0.0)
    assert np.signbit(tan.terms["v5"][1].value)  # the number really is -0.0 ...
    dot = g.to_dot(tan)
    assert "-0\\n" not in dot and '"-0"' not in dot and "× -0" not in dot
    assert "-0 " not in str(tan) and not str(tan).rstrip().endswith("-0")
    assert fgraph._fmt(-0.0) == "0" and fgraph._fmt(np.array([-0.0, 1.0])) == "[0., 1.]"
    if fgraph.dot_available():  # Graphviz writes "-" as "&#45;" in SVG text
        texts = re.findall(r"<text[^>]*>(.*?)</text>", tan.picture().svg())
        assert any("cos(x2)" in t for t in texts)
        assert not [t for t in texts if re.search(r"(?:-|&#45;)0(?![.\d])", t)]


def test_edges_are_labelled_with_roles_not_positions():
    g = fgrad.make_graph(baydin)(X1, X2)
    dot = g.to_dot()
    assert "label=\"0\"" not in dot and "label=\"1\"" not in dot
    assert 'n0 -> n3 [headlabel="x"' in dot and 'n1 -> n3 [headlabel="y"' in dot
    m = fgrad.make_graph(lambda a, b: a @ b)(np.ones((2, 2)), np.ones(2)).to_dot()
    assert 'headlabel="a"' in m and 'headlabel="b"' in m
    w = fgrad.make_graph(lambda x, y: fnp.where(x > 0, x, y))(np.ones(2), np.zeros(2)).to_dot()
    assert 'headlabel="c"' in w or 'headlabel="condition"' in w
    # the trace picture keeps the roles and adds each step
    ann = g.to_dot(g.adjoint_trace())
    assert "∂ = cos(x2) = 0.2837" in ann and 'headlabel="y"' in ann
    # a pruned graph writes constants into the node: no role label for a lone edge
    pruned = fgrad.make_graph(fgrad.grad(baydin, argnums=(0, 1)), prune=True)(X1, X2).to_dot()
    assert "-1 * v1" in pruned and pruned.count("headlabel=") == 4  # the two adds


def test_prune_keeps_value_and_gradient():
    f = fgrad.grad(baydin, argnums=(0, 1))
    full = fgrad.make_graph(f)(X1, X2)
    small = fgrad.make_graph(f, prune=True)(X1, X2)
    assert small.pruned and not full.pruned
    assert len(small.primitives) < len(full.primitives)
    ops = [n.op for n in small.primitives]
    assert "log" not in ops and "sin" not in ops  # the forward pass's result is unused
    assert not any(n.op == "multiply" and any(fgraph._is_number(a, 1) for a in n.args)
                   for n in small.primitives)  # no ×1
    dot = small.to_dot()
    assert "shape=plaintext" not in dot  # no floating constants
    assert "-1 * v1" in dot  # constants written into their node
    rng = np.random.default_rng(0)
    for x in [(X1, X2)] + [tuple(rng.uniform(0.5, 3.0, 2)) for _ in range(5)]:
        want = f(*x)
        np.testing.assert_allclose(small.replay(*x), want, rtol=1e-14)
        np.testing.assert_allclose(full.replay(*x), want, rtol=1e-14)
        # the gradient of the pruned graph (a Hessian of baydin) is the full graph's
        for k in range(2):
            gs = fgrad.jacrev(lambda a, b, k=k: small.replay(a, b)[k], argnums=(0, 1))(*x)
            gf = fgrad.jacrev(lambda a, b, k=k: full.replay(a, b)[k], argnums=(0, 1))(*x)
            np.testing.assert_allclose(gs, gf, rtol=1e-14)
    h = fgrad.hessian(baydin, argnums=(0, 1))(X1, X2)
    np.testing.assert_allclose(
        fgrad.jacfwd(lambda a, b: fnp.stack(small.replay(a, b)), argnums=(0, 1))(X1, X2),
        np.asarray(h), rtol=1e-12)
    # the pruned graph's own tables agree with the full graph's
    a_small, a_full = small.adjoint_trace((1.0, 0.0)), full.adjoint_trace((1.0, 0.0))
    for name in ("x1", "x2"):
        assert float(a_small[name]) == pytest.approx(float(a_full[name]), rel=1e-14)


def test_prune_of_arrays_and_pytrees():
    def loss(params, x):
        return fnp.sum(fnp.tanh(x @ params["w"] + params["b"]) ** 2)

    params = {"w": np.linspace(-1, 1, 6).reshape(3, 2), "b": np.array([0.1, -0.2])}
    x = np.arange(6.0).reshape(2, 3) / 6
    f = fgrad.grad(loss)
    full = fgrad.make_graph(f)(params, x)
    small = full.prune()
    assert len(small.primitives) <= len(full.primitives)
    got = small.replay(*[n.value for n in small.inputs])
    want = f(params, x)
    assert sorted(got) == ["b", "w"]
    for k in ("b", "w"):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-14)


def test_replay_refuses_wrong_inputs():
    g = fgrad.make_graph(baydin)(X1, X2)
    with pytest.raises(TypeError, match="one value per input"):
        g.replay(1.0)
    with pytest.raises(ValueError, match="shape"):
        g.replay(np.ones(2), 1.0)


def test_the_listing_can_show_the_local_derivatives():
    g = fgrad.make_graph(baydin)(X1, X2)
    plain, full = g.listing(), g.listing(derivatives=True)
    assert "∂" not in plain and str(g) == plain
    lines = {ln.split("=")[0].strip(): ln for ln in full.splitlines()[1:-1]}
    assert lines["v1"].endswith("∂x1: 1/x1 = 0.5")
    assert lines["v4"].endswith(f"∂x2: cos(x2) = {np.cos(X2):.4g}")
    assert "∂v4: -1" in lines["v5"] and "∂x1: x2 = 5" in lines["v2"]
