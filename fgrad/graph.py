"""Graph inspection: the primitive-level computation graph of one call.

``fgrad.make_graph(f)(*args)`` runs ``f`` once under a small recording trace
and returns a :class:`Graph`: every primitive that ran, its inputs, its
parameters and its value.  A graph prints as a listing (one line per
primitive), converts to Graphviz DOT, and shows itself as a picture in Jupyter
(SVG when Graphviz's ``dot`` program is installed, a listing with a note
otherwise).

The graph can also be *replayed* with the rule table: :meth:`Graph.tangent_trace`
pushes input tangents forward through each primitive's jvp rules (the tangent
trace of forward mode), and :meth:`Graph.adjoint_trace` pulls an output
cotangent back through the vjp rules (the adjoint trace of reverse mode).  Both
use exactly the rules that :func:`fgrad.jvp` and :func:`fgrad.vjp` use.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> g = fgrad.make_graph(lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2))(2.0, 5.0)
    >>> print(g)
    graph of <lambda>: 2 inputs, 5 primitives, 1 output
      x1 = input     2
      x2 = input     5
      v1 = log(x1)   0.6931
      v2 = x1 * x2   10
      v3 = v1 + v2   10.69
      v4 = sin(x2)   -0.9589
      v5 = v3 - v4   11.65
      output: v5
"""

from __future__ import annotations

import html
import inspect
import shutil
import subprocess

import numpy as np

from . import numpy as fnp
from .autodiff import _fix_shape_dtype
from .core import Trace, Tracer, check_value, concrete
from .tree import tree_flatten

__all__ = ["make_graph", "Graph", "Node", "TraceTable", "Picture"]

_INFIX = {
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}",
    "divide": "{0} / {1}", "true_divide": "{0} / {1}", "power": "{0} ** {1}",
    "matmul": "{0} @ {1}", "negative": "-{0}", "greater": "{0} > {1}",
    "less": "{0} < {1}", "greater_equal": "{0} >= {1}", "less_equal": "{0} <= {1}",
    "equal": "{0} == {1}", "not_equal": "{0} != {1}",
}


_DOT, _BAR = "\u0307", "\u0304"  # combining dot (tangent) and bar (adjoint)


def _accent(name, mark):
    """``v1`` -> ``v̇1``: the mark goes on the letter, as in the AD literature."""
    return name[:1] + mark + name[1:] if mark else name


def _width(text):
    """Display width: combining marks take no column."""
    return len(text) - text.count(_DOT) - text.count(_BAR)


def _pad(text, width):
    return text + " " * (width - _width(text))


def _fmt(value, digits=4):
    """A short rendering of a value: scalars as numbers, small arrays in full."""
    x = np.asarray(concrete(value))
    if x.ndim == 0:
        v = x.item()
        if isinstance(v, complex):
            return f"{v.real:.{digits}g}{v.imag:+.{digits}g}j"
        if isinstance(v, float):
            return f"{v:.{digits}g}"
        return str(v)
    if x.size <= 6:
        text = np.array2string(x, precision=digits, separator=", ", suppress_small=True,
                               max_line_width=10**6)
        return " ".join(text.split())
    return f"{x.dtype}[{','.join(str(d) for d in x.shape)}]"


class Node:
    """One vertex of a :class:`Graph`: an input or one primitive application.

    Attributes:
        index: position in :attr:`Graph.nodes` (evaluation order).
        name: ``x1``-style for inputs (the parameter names), ``v1``, ``v2`` ... for
            primitives.
        op: the primitive's name, or ``"input"``.
        args: per positional argument, either a :class:`Node` or a constant value.
        params: the primitive's keyword parameters.
        value: the value computed at this node.
        primitive: the :class:`fgrad.core.Primitive` (``None`` for inputs).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> node = fgrad.make_graph(lambda x: fnp.exp(2.0 * x))(0.0)["v2"]
        >>> node.op, node.expression(), [p.name for _, p in node.parents], float(node.value)
        ('exp', 'exp(v1)', ['v1'], 1.0)
    """

    __slots__ = ("index", "name", "op", "args", "params", "value", "primitive")

    def __init__(self, index, name, op, args, params, value, primitive):
        self.index = index
        self.name = name
        self.op = op
        self.args = args
        self.params = params
        self.value = value
        self.primitive = primitive

    @property
    def is_input(self):
        return self.primitive is None

    @property
    def parents(self):
        """``(position, node)`` pairs for the arguments that are graph nodes."""
        return [(i, a) for i, a in enumerate(self.args) if isinstance(a, Node)]

    def expression(self):
        """The right-hand side of this node's line, e.g. ``"log(x1)"``."""
        if self.is_input:
            return "input"
        names = [a.name if isinstance(a, Node) else _fmt(a) for a in self.args]
        template = _INFIX.get(self.op)
        if template is not None and template.count("{") == len(names) and not self.params:
            return template.format(*names)
        # parameters left at None / False (numpy's usual defaults) are omitted
        extra = [f"{k}={v!r}" for k, v in self.params.items() if v is not None and v is not False]
        return f"{self.op}({', '.join(names + extra)})"

    def __repr__(self):
        return f"<Node {self.name} = {self.expression()}>"


class _GraphTracer(Tracer):
    __slots__ = ("node",)

    def __init__(self, value, trace, node):
        self.value = value
        self._trace = trace
        self.node = node


class _GraphTrace(Trace):
    """Records every primitive applied to its tracers, in evaluation order."""

    __slots__ = ("nodes", "counter")

    def __init__(self):
        super().__init__()
        self.nodes = []
        self.counter = 0

    def new_input(self, name, value):
        node = Node(len(self.nodes), name, "input", (), {}, value, None)
        self.nodes.append(node)
        return _GraphTracer(value, self, node)

    def process(self, prim, args, params):
        if not self.alive:
            raise self.leaked(prim)
        vals, refs = self.split(args, lambda a: (a.value, a.node), lambda a: (a, a))
        ans = prim.fn(*vals, **params)
        self.counter += 1
        node = Node(len(self.nodes), f"v{self.counter}", prim.name, tuple(refs),
                    dict(params), ans, prim)
        self.nodes.append(node)
        return _GraphTracer(ans, self, node)


def _input_names(fun, args):
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for i in range(len(args)):
        p = params[i] if i < len(params) else None
        if p is None or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            names.append(f"{p.name if p is not None else 'arg'}{i}")
        else:
            names.append(p.name)
    return names


def make_graph(fun):
    """Return a function that runs ``fun`` once and returns its :class:`Graph`.

    Every floating-point (or complex) leaf of every positional argument becomes
    an input of the graph, named after ``fun``'s parameters; everything else is
    a constant.  Transforms nest: ``make_graph(fgrad.grad(f))`` shows the
    primitives of both the forward and the backward pass.

    Args:
        fun: the function to trace; it may be a transformed function (``fgrad.grad(f)``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> g = fgrad.make_graph(lambda x: fnp.sum(fnp.sin(x) ** 2))(fnp.zeros(3))
        >>> [node.op for node in g.nodes]
        ['input', 'sin', 'power', 'sum']
        >>> g.value
        np.float64(0.0)
    """

    def graph_fun(*args, **kwargs):
        trace = _GraphTrace()
        names = _input_names(fun, args)
        try:
            wrapped = []
            for name, arg in zip(names, args, strict=True):
                leaves, treedef = tree_flatten(arg)
                new = []
                for k, leaf in enumerate(leaves):
                    check_value(leaf, "make_graph")  # masked arrays, np.matrix: refused
                    kind = np.result_type(concrete(leaf)).kind if _is_arraylike(leaf) else ""
                    if kind in ("f", "c"):
                        leaf_name = name if len(leaves) == 1 else f"{name}[{k}]"
                        new.append(trace.new_input(leaf_name, leaf))
                    else:
                        new.append(leaf)
                wrapped.append(treedef.unflatten(new))
            out = fun(*wrapped, **kwargs)
        finally:
            trace.alive = False
        out_leaves, out_tree = tree_flatten(out)
        outputs, values = trace.split(out_leaves, lambda o: (o.node, o.value), lambda o: (o, o))
        name = getattr(fun, "__name__", type(fun).__name__)
        return Graph(name, trace.nodes, outputs, out_tree.unflatten(values))

    graph_fun.__name__ = f"make_graph({getattr(fun, '__name__', 'fun')})"
    return graph_fun


def _is_arraylike(x):
    return isinstance(x, (np.ndarray, np.generic, float, complex, Tracer))


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


class Graph:
    """The primitive-level graph of one call (see :func:`make_graph`).

    Attributes:
        name: the function's name.
        nodes: the :class:`Node` list in evaluation order (inputs first).
        outputs: per output leaf, the :class:`Node` that produced it (or the
            constant itself when the output does not depend on the inputs).
        value: the function's return value, as a plain value.

    Example:
        >>> import fgrad
        >>> g = fgrad.make_graph(lambda x: x * x + 1.0)(3.0)
        >>> [n.name for n in g.inputs], g.value
        (['x'], np.float64(10.0))
    """

    def __init__(self, name, nodes, outputs, value):
        self.name = name
        self.nodes = list(nodes)
        self.outputs = list(outputs)
        self.value = value

    @property
    def inputs(self):
        """The input nodes, in argument order."""
        return [n for n in self.nodes if n.is_input]

    @property
    def primitives(self):
        """The nodes that are primitive applications (not inputs)."""
        return [n for n in self.nodes if not n.is_input]

    def __getitem__(self, name):
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r}; the nodes are {[n.name for n in self.nodes]}")

    def listing(self):
        """The graph as text: one line per input and per primitive, with values."""
        ins, prims = self.inputs, self.primitives
        outs = [o.name if isinstance(o, Node) else f"constant {_fmt(o)}" for o in self.outputs]
        head = (f"graph of {self.name}: {len(ins)} input{'s' * (len(ins) != 1)}, "
                f"{len(prims)} primitive{'s' * (len(prims) != 1)}, "
                f"{len(outs)} output{'s' * (len(outs) != 1)}")
        rows = [(n.name, n.expression(), _fmt(n.value)) for n in self.nodes]
        width = max((len(a) + len(b) for a, b, _ in rows), default=0) + 6
        lines = [head]
        for name, expr, val in rows:
            left = f"{name} = {expr}"
            lines.append(f"  {left.ljust(width)}{val}")
        lines.append("  output" + ("s" if len(outs) != 1 else "") + ": " + ", ".join(outs))
        return "\n".join(lines)

    def __str__(self):
        return self.listing()

    def __repr__(self):
        return f"<fgrad Graph of {self.name}: {len(self.nodes)} nodes>"

    # ------------------------------------------------------------------
    # replay with the rule table
    # ------------------------------------------------------------------

    def _arg_values(self, node):
        return [a.value if isinstance(a, Node) else a for a in node.args]

    def tangent_trace(self, *tangents):
        """Forward mode by hand: push input tangents through the jvp rules.

        Give one tangent per input node (same shapes as the inputs).  Returns a
        :class:`TraceTable` with one row per node (``ẋ`` for inputs, ``v̇k`` for
        primitives), listing the contribution of each parent.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> g = fgrad.make_graph(lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2))(2.0, 5.0)
            >>> t = g.tangent_trace(1.0, 0.0)
            >>> float(t["v5"])
            5.5
        """

        ins = self.inputs
        if len(tangents) != len(ins):
            raise TypeError(
                f"tangent_trace needs one tangent per input ({len(ins)}: "
                f"{', '.join(n.name for n in ins)}), got {len(tangents)}."
            )
        tan = {}
        rows = []
        for node, t in zip(ins, tangents, strict=True):
            t = np.asarray(t, dtype=np.result_type(concrete(node.value)))
            if t.shape != np.shape(concrete(node.value)):
                raise ValueError(
                    f"tangent for input {node.name} has shape {t.shape}, but the input has "
                    f"shape {np.shape(concrete(node.value))}; they must match."
                )
            tan[node.index] = t
            rows.append((node.name, "given", t))
        edges = {}
        for node in self.primitives:
            prim = node.primitive
            if prim.nondiff:
                continue
            vals = self._arg_values(node)
            total, terms = None, []
            for pos, parent in node.parents:
                t = tan.get(parent.index)
                if t is None:
                    continue
                c = prim.jvp[pos](t, node.value, *vals, **node.params)
                edges[(parent.index, node.index)] = c
                terms.append(f"∂{node.name}/∂{parent.name}·{_accent(parent.name, _DOT)}")
                total = c if total is None else total + c
            if total is None:
                continue
            shape = np.shape(concrete(node.value))
            if np.shape(concrete(total)) != shape:
                total = fnp.broadcast_to(total, shape)
            tan[node.index] = total
            rows.append((node.name, " + ".join(terms), total))
        return TraceTable(self, "tangent", rows, tan, edges)

    def adjoint_trace(self, cotangent=None):
        """Reverse mode by hand: pull an output cotangent back through the vjp rules.

        ``cotangent`` defaults to 1 for a single scalar output.  Returns a
        :class:`TraceTable` whose rows run backwards, one per edge
        (``x̄ += v̄·∂v/∂x``), and whose per-node adjoints are the totals.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> g = fgrad.make_graph(lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2))(2.0, 5.0)
            >>> a = g.adjoint_trace()
            >>> round(float(a["x1"]), 4), round(float(a["x2"]), 4)
            (5.5, 1.7163)
        """

        outs = [o for o in self.outputs if isinstance(o, Node)]
        if cotangent is None:
            if len(self.outputs) != 1 or np.shape(concrete(self.value)) != ():
                raise TypeError(
                    "adjoint_trace() without a cotangent needs a single scalar output; pass "
                    "a cotangent shaped like the output (a tuple for several outputs)."
                )
            cts = [np.ones((), dtype=np.result_type(concrete(self.value)))]
        else:
            cts = tree_flatten(cotangent)[0]
            if len(cts) != len(self.outputs):
                raise TypeError(
                    f"adjoint_trace: {len(cts)} cotangent(s) for {len(self.outputs)} output(s)."
                )
        adj = {}
        rows = []
        for o, c in zip(self.outputs, cts, strict=True):
            if isinstance(o, Node):
                c = np.asarray(c)
                adj[o.index] = c if o.index not in adj else adj[o.index] + c
        for o in outs:
            rows.append((o.name, "given", adj[o.index]))
        edges = {}
        for node in reversed(self.primitives):
            g = adj.get(node.index)
            if g is None or node.primitive.nondiff:
                continue
            prim = node.primitive
            vals = self._arg_values(node)
            for pos, parent in node.parents:
                if parent.primitive is not None and parent.primitive.nondiff:
                    continue
                rule = prim.vjp[pos] if pos < len(prim.vjp) else None
                if rule is None:
                    raise prim.not_differentiable(pos, f", node {parent.name}")
                c = rule(g, node.value, *vals, **node.params)
                shape = np.shape(concrete(parent.value))
                dtype = np.result_type(concrete(parent.value))
                if np.shape(concrete(c)) != shape or np.result_type(concrete(c)) != dtype:
                    c = _fix_shape_dtype(c, shape, dtype)
                edges[(parent.index, node.index)] = c
                prev = adj.get(parent.index)
                adj[parent.index] = c if prev is None else prev + c
                rows.append((parent.name,
                             f"+= {_accent(node.name, _BAR)}·∂{node.name}/∂{parent.name}", c))
        for node in self.inputs:
            if node.index in adj:
                rows.append((node.name, "total", adj[node.index]))
        return TraceTable(self, "adjoint", rows, adj, edges)

    def primal_trace(self):
        """The evaluation trace as a :class:`TraceTable` (one row per node).

        Example:
            >>> import fgrad
            >>> t = fgrad.make_graph(lambda x: x * x)(3.0).primal_trace()
            >>> float(t["v1"])
            9.0
        """
        rows = [(n.name, n.expression(), n.value) for n in self.nodes]
        return TraceTable(self, "primal", rows, {n.index: n.value for n in self.nodes}, {})

    # ------------------------------------------------------------------
    # pictures
    # ------------------------------------------------------------------

    def to_dot(self, trace=None, rankdir="LR"):
        """Graphviz DOT source of the graph.

        With a :class:`TraceTable` from :meth:`tangent_trace` or
        :meth:`adjoint_trace`, each node also shows its tangent (or adjoint) and
        each edge the contribution that flows along it (adjoint edges point
        backwards, in red).

        Example:
            >>> import fgrad
            >>> print(fgrad.make_graph(lambda x: 2.0 * x)(1.0).to_dot())  # doctest: +ELLIPSIS
            digraph "<lambda>" {
            ...
              n0 -> n1 [taillabel="1", fontcolor="gray50"];
            }
        """
        kind = trace.kind if trace is not None else None
        lines = [f'digraph "{_dot_escape(self.name)}" {{',
                 f"  rankdir={rankdir};",
                 '  node [fontname="Helvetica", fontsize=11];',
                 '  edge [fontname="Helvetica", fontsize=9];']
        mark = {"tangent": "tangent", "adjoint": "adjoint"}.get(kind)
        out_idx = {o.index for o in self.outputs if isinstance(o, Node)}
        consts = 0
        for n in self.nodes:
            label = (f"{n.name}\\n{_dot_escape(_fmt(n.value))}" if n.is_input
                     else f"{n.name} = {_dot_escape(n.op)}\\n{_dot_escape(_fmt(n.value))}")
            if mark and trace.values.get(n.index) is not None:
                label += f"\\n{mark} {_dot_escape(_fmt(trace.values[n.index]))}"
            shape = "ellipse" if n.is_input else "box"
            style = ', style="filled", fillcolor="#dbe9f6"' if n.is_input else ""
            if n.index in out_idx:
                style = ', style="filled", fillcolor="#f6e7c1", peripheries=2'
            lines.append(f'  n{n.index} [label="{label}", shape={shape}{style}];')
        for n in self.nodes:
            for pos, a in enumerate(n.args):
                if isinstance(a, Node):
                    src = f"n{a.index}"
                else:
                    src = f"c{consts}"
                    consts += 1
                    lines.append(f'  {src} [label="{_dot_escape(_fmt(a))}", shape=plaintext, '
                                 'fontcolor="gray40"];')
                attrs = []
                if isinstance(a, Node) and (a.index, n.index) in getattr(trace, "edges", {}):
                    c = trace.edges[(a.index, n.index)]
                    attrs.append(f'label="{_dot_escape(_fmt(c))}"')
                    if kind == "adjoint":
                        attrs.append('color="firebrick", fontcolor="firebrick", dir=back')
                    else:
                        attrs.append('color="royalblue", fontcolor="royalblue"')
                if len(n.args) > 1 and not attrs:
                    attrs.append(f'taillabel="{pos}", fontcolor="gray50"')
                lines.append(f"  {src} -> n{n.index}" + (f" [{', '.join(attrs)}]" if attrs else "")
                             + ";")
        lines.append("}")
        return "\n".join(lines)

    def picture(self, trace=None, rankdir="LR"):
        """A :class:`Picture` of the graph (optionally annotated with a trace table)."""
        return Picture(self.to_dot(trace, rankdir), self.listing() if trace is None else str(trace))

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.picture()._repr_mimebundle_(include, exclude)


class TraceTable:
    """A primal, tangent or adjoint trace of a :class:`Graph`, as a table.

    ``rows`` holds ``(name, expression, value)`` triples in the order they were
    computed; ``table[name]`` gives the value at a node (the total adjoint for
    adjoint traces).  Prints as text, and as an HTML table in Jupyter.

    Example:
        >>> import fgrad
        >>> t = fgrad.make_graph(lambda x, y: x * y)(3.0, 4.0).tangent_trace(1.0, 0.0)
        >>> name, expression, value = t.rows[-1]   # v̇1 = ∂v1/∂x·ẋ + ∂v1/∂y·ẏ
        >>> name, expression.count("∂"), float(value)
        ('v1', 4, 4.0)
        >>> float(t["v1"])
        4.0
    """

    def __init__(self, graph, kind, rows, values, edges):
        self.graph = graph
        self.kind = kind
        self.rows = rows
        self.values = values
        self.edges = edges

    def __getitem__(self, name):
        node = self.graph[name]
        if node.index not in self.values:
            return np.zeros_like(concrete(node.value))
        return self.values[node.index]

    def _cells(self):
        accent = {"primal": "", "tangent": _DOT, "adjoint": _BAR}[self.kind]
        out = []
        for name, expr, value in self.rows:
            lhs = _accent(name, accent)
            if self.kind == "adjoint" and expr.startswith("+="):
                out.append((lhs, "+=", expr[3:], _fmt(value)))
            else:
                out.append((lhs, "=", expr, _fmt(value)))
        return out

    def __str__(self):
        title = {"primal": "primal trace", "tangent": "tangent trace (forward mode)",
                 "adjoint": "adjoint trace (reverse mode)"}[self.kind]
        cells = self._cells()
        w0 = max((_width(c[0]) for c in cells), default=0)
        w2 = max((_width(c[2]) for c in cells), default=0)
        lines = [f"{title} of {self.graph.name}"]
        for lhs, op, expr, val in cells:
            lines.append(f"  {_pad(lhs, w0)} {op.rjust(2)} {_pad(expr, w2)}   {val}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        head = {"primal": ("node", "expression", "value"),
                "tangent": ("tangent", "sum of contributions", "value"),
                "adjoint": ("adjoint", "contribution", "value")}[self.kind]
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'><code>{html.escape(s)}</code></td>"
                             for s in (lhs + (" +=" if op == "+=" else ""), expr, val)) + "</tr>"
            for lhs, op, expr, val in self._cells()
        )
        th = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"

    def picture(self, rankdir="LR"):
        """The graph drawn with this table's values on nodes and edges."""
        return self.graph.picture(self, rankdir)


def dot_available():
    """True if Graphviz's ``dot`` program is on the PATH.

    Example:
        >>> from fgrad.graph import dot_available
        >>> dot_available() in (True, False)
        True
    """
    return shutil.which("dot") is not None


_NO_DOT = (
    "Graphviz's `dot` program was not found, so this graph is shown as text. "
    "Install Graphviz to see a picture (Debian/Ubuntu: apt-get install graphviz; "
    "macOS: brew install graphviz; conda: conda install graphviz), or paste the "
    "output of .to_dot() into any Graphviz viewer."
)


class Picture:
    """A drawable graph: DOT source, rendered to SVG by Graphviz when available.

    In Jupyter it displays as an SVG picture; without ``dot`` it displays the
    text listing with a note saying how to get pictures.

    Example:
        >>> import fgrad
        >>> pic = fgrad.make_graph(lambda x: x * x)(3.0).picture()
        >>> pic.dot.splitlines()[0]
        'digraph "<lambda>" {'
        >>> sorted(pic._repr_mimebundle_())[-1]  # SVG with Graphviz, else HTML; always text
        'text/plain'
    """

    def __init__(self, dot, text):
        self.dot = dot
        self.text = text

    def svg(self):
        """The picture as an SVG string (needs Graphviz's ``dot`` program)."""
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(_NO_DOT)
        res = subprocess.run([exe, "-Tsvg"], input=self.dot.encode(), capture_output=True,
                             check=False, timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"dot failed: {res.stderr.decode(errors='replace')}")
        svg = res.stdout.decode()
        start = svg.find("<svg")
        return svg[start:] if start >= 0 else svg

    def save(self, path):
        """Write the picture: ``.svg`` (needs ``dot``) or ``.dot`` (always works)."""
        text = self.dot if str(path).endswith(".dot") else self.svg()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def __str__(self):
        return self.text

    def _repr_mimebundle_(self, include=None, exclude=None):
        if dot_available():
            return {"image/svg+xml": self.svg(), "text/plain": self.text}
        note = html.escape(_NO_DOT)
        return {
            "text/html": f"<p><em>{note}</em></p><pre>{html.escape(self.text)}</pre>",
            "text/plain": self.text,
        }
