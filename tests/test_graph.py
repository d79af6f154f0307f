"""Graph inspection (fgrad.make_graph): listing, DOT, pictures, replayed traces."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fgrad
import fgrad.graph as fgraph
import fgrad.numpy as fnp


def baydin(x1, x2):
    return fnp.log(x1) + x1 * x2 - fnp.sin(x2)


def test_listing_of_the_survey_function():
    g = fgrad.make_graph(baydin)(2.0, 5.0)
    assert [n.name for n in g.nodes] == ["x1", "x2", "v1", "v2", "v3", "v4", "v5"]
    assert [n.op for n in g.primitives] == ["log", "multiply", "add", "sin", "subtract"]
    assert [n.expression() for n in g.primitives] == [
        "log(x1)", "x1 * x2", "v1 + v2", "sin(x2)", "v3 - v4"]
    text = str(g)
    assert text.splitlines()[0] == "graph of baydin: 2 inputs, 5 primitives, 1 output"
    assert "v1 = log(x1)" in text and "0.6931" in text and "output: v5" in text
    assert g.value == pytest.approx(np.log(2) + 10 - np.sin(5))
    assert g["v5"].value == pytest.approx(11.652071455223084)
    assert [p.name for _, p in g["v2"].parents] == ["x1", "x2"]


def test_tangent_and_adjoint_traces_give_the_survey_numbers():
    g = fgrad.make_graph(baydin)(2.0, 5.0)
    tan = g.tangent_trace(1.0, 0.0)
    assert [float(tan[k]) for k in ("v1", "v2", "v3", "v4", "v5")] == pytest.approx(
        [0.5, 5.0, 5.5, 0.0, 5.5])
    adj = g.adjoint_trace()
    assert float(adj["x1"]) == pytest.approx(5.5)
    assert float(adj["x2"]) == pytest.approx(2 - np.cos(5.0))
    assert float(adj["v4"]) == -1.0
    # the rows name each contribution; x2 receives two of them
    x2_rows = [r for r in adj.rows if r[0] == "x2" and r[1].startswith("+=")]
    assert len(x2_rows) == 2
    assert sum(float(r[2]) for r in x2_rows) == pytest.approx(2 - np.cos(5.0))
    assert "x̄1" in str(adj) and "total" in str(adj)
    assert "<table>" in adj._repr_html_()


def composite(x, y):
    z = fnp.tanh(x[:, None] * y) + fnp.exp(-(y ** 2))
    return fnp.sum(z * z, axis=0) / 3.0


@given(st.integers(0, 1000))
def test_replayed_traces_agree_with_jvp_and_vjp(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=3), rng.normal(size=(1, 2))
    tx, ty = rng.normal(size=3), rng.normal(size=(1, 2))
    g = fgrad.make_graph(composite)(x, y)
    np.testing.assert_allclose(g.value, composite(x, y))
    out_node = g.outputs[0]
    _, want = fgrad.jvp(composite, (x, y), (tx, ty))
    got = g.tangent_trace(tx, ty)
    np.testing.assert_allclose(got[out_node.name], want, rtol=1e-12, atol=1e-12)
    ct = rng.normal(size=2)
    _, f_vjp = fgrad.vjp(composite, x, y)
    want_x, want_y = f_vjp(ct)
    adj = g.adjoint_trace(ct)
    np.testing.assert_allclose(adj["x"], want_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(adj["y"], want_y, rtol=1e-12, atol=1e-12)
    assert np.shape(adj["y"]) == (1, 2)  # summed back over the broadcast


def test_graph_of_a_gradient_shows_the_backward_pass():
    g = fgrad.make_graph(fgrad.grad(baydin, argnums=(0, 1)))(2.0, 5.0)
    assert len(g.outputs) == 2
    assert [float(v) for v in g.value] == pytest.approx([5.5, 2 - np.cos(5.0)])
    ops = [n.op for n in g.primitives]
    assert ops[:5] == ["log", "multiply", "add", "sin", "subtract"]
    assert "cos" in ops[5:] and "divide" in ops[5:]  # d log(x) = dx / x


def test_pytree_inputs_constants_and_integer_leaves():
    def loss(params, n):
        return fnp.sum((params["w"] * 2.0 + params["b"]) ** n)

    g = fgrad.make_graph(loss)({"w": np.ones(2), "b": 0.5}, 2)
    assert [n.name for n in g.inputs] == ["params[0]", "params[1]"]  # sorted keys: b, w
    assert "2" in g["v1"].expression()  # the constant appears inline
    assert g.value == pytest.approx(12.5)
    adj = g.adjoint_trace()
    np.testing.assert_allclose(adj["params[1]"], 2 * 2 * 2.5 * np.ones(2))


def test_dot_and_pictures(monkeypatch):
    g = fgrad.make_graph(baydin)(2.0, 5.0)
    dot = g.to_dot()
    assert dot.startswith('digraph "baydin" {') and dot.rstrip().endswith("}")
    for k in range(7):
        assert f"n{k} [label=" in dot
    assert dot.count("->") == 8
    annotated = g.to_dot(g.adjoint_trace())
    assert "adjoint 5.5" in annotated and "dir=back" in annotated
    assert "tangent 5.5" in g.to_dot(g.tangent_trace(1.0, 0.0))

    # without Graphviz: a clear fallback, and a clear error when an SVG is requested
    monkeypatch.setattr(fgraph.shutil, "which", lambda name: None)
    bundle = g._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert "apt-get install graphviz" in bundle["text/html"]
    assert bundle["text/plain"] == g.listing()
    with pytest.raises(RuntimeError, match="Graphviz"):
        g.picture().svg()


@pytest.mark.skipif(not fgraph.dot_available(), reason="needs Graphviz's dot (CI has none)")
def test_svg_when_dot_is_installed(tmp_path):
    g = fgrad.make_graph(baydin)(2.0, 5.0)
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<svg")
    assert "v5 = subtract" in bundle["image/svg+xml"]
    g.picture().save(tmp_path / "g.svg")
    assert (tmp_path / "g.svg").read_text().startswith("<svg")


def test_errors_name_the_problem():
    g = fgrad.make_graph(baydin)(2.0, 5.0)
    with pytest.raises(TypeError, match="one tangent per input"):
        g.tangent_trace(1.0)
    with pytest.raises(ValueError, match="shape"):
        g.tangent_trace(np.ones(2), 0.0)
    h = fgrad.make_graph(lambda x: x * 2.0)(np.ones(3))
    with pytest.raises(TypeError, match="cotangent"):
        h.adjoint_trace()
    with pytest.raises(KeyError, match="no node named"):
        g["v9"]


def test_a_leaked_graph_tracer_is_an_error():
    box = []

    def f(x):
        box.append(x)
        return x * x

    fgrad.make_graph(f)(1.0)
    with pytest.raises(fgrad.LeakedTracerError):
        box[0] * 2.0
