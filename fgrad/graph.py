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

__all__ = ["make_graph", "Graph", "Node", "TraceTable", "Term", "Picture"]

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
    if x.dtype.kind in "fc":
        x = x + 0.0  # -0.0 + 0.0 is +0.0: no "-0" in tables and pictures
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


# ----------------------------------------------------------------------
# local derivatives, read off the rule table
# ----------------------------------------------------------------------

#: how a derivative expression writes a row: (template, binding strength); a
#: sub-expression that binds less tightly than its place needs gets parentheses
_COMPACT = {
    "add": ("{0} + {1}", 1), "subtract": ("{0} - {1}", 1), "multiply": ("{0}*{1}", 2),
    "divide": ("{0}/{1}", 2), "true_divide": ("{0}/{1}", 2), "matmul": ("{0} @ {1}", 2),
    "negative": ("-{0}", 3), "power": ("{0}**{1}", 4), "square": ("{0}**2", 4),
    "equal": ("{0} == {1}", 0), "not_equal": ("{0} != {1}", 0), "greater": ("{0} > {1}", 0),
    "less": ("{0} < {1}", 0), "greater_equal": ("{0} >= {1}", 0),
    "less_equal": ("{0} <= {1}", 0),
}

#: the stand-in for the tangent (or cotangent) a linear map is applied to
_SLOT = "\u00b7"  # "·"


def _is_number(value, target):
    """True for a plain (untraced) constant whose every entry equals ``target``."""
    if isinstance(value, Tracer):
        return False
    try:
        x = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything numpy cannot read is not that number
        return False
    return x.dtype.kind in "biufc" and x.size > 0 and bool(np.all(x == target))


def _render(value, trace):
    """``(text, strength)`` of a value computed on stand-ins recorded by ``trace`` (a
    :class:`_GraphTrace`): the recorded primitives become one nested expression over
    the stand-ins' names; anything not recorded is a constant."""
    if isinstance(value, _GraphTracer) and value._trace is trace:
        return _render_node(value.node)
    return _render_constant(value)


def _render_constant(value):
    text = _fmt(value)
    return text, (3 if text.startswith("-") else 5)


def _render_arg(arg):
    return _render_node(arg) if isinstance(arg, Node) else _render_constant(arg)


def _render_node(node):
    if node.is_input:
        return node.name, 5
    args = list(node.args)
    if node.op == "multiply" and len(args) == 2 and not node.params:
        for k in (0, 1):  # 1*e is e, -1*e is -e (when that changes no shape)
            c, other = args[k], args[1 - k]
            if np.shape(concrete(_value_of(other))) != np.shape(concrete(node.value)):
                continue
            if _is_number(c, 1):
                return _render_arg(other)
            if _is_number(c, -1):
                inner, strength = _render_arg(other)
                return "-" + (inner if strength >= 3 else f"({inner})"), 3
    if node.op == "astype" and len(args) == 1 and isinstance(args[0], Node) \
            and args[0].op in _COMPACT and _COMPACT[args[0].op][1] == 0:
        return f"[{_render_arg(args[0])[0]}]", 5  # a comparison as 0/1: Iverson's bracket
    if node.op == "getitem" and len(args) == 1 and set(node.params) == {"idx"}:
        text, strength = _render_arg(args[0])
        idx = node.params["idx"]
        idx = ", ".join(map(_index_text, idx)) if isinstance(idx, tuple) else _index_text(idx)
        return f"{text if strength >= 5 else f'({text})'}[{idx}]", 5
    parts = [_render_arg(a) for a in args]
    template = _COMPACT.get(node.op)
    if template is not None and template[0].count("{") == len(parts) and not node.params:
        form, strength = template
        texts = []
        for k, (text, inner) in enumerate(parts):
            need = strength
            if k == 1 and node.op in ("subtract", "divide", "true_divide"):
                need += 1  # a - (b - c), a/(b*c)
            if node.op == "power" and k == 0:
                need += 1  # (x**2)**3
            texts.append(text if inner >= need else f"({text})")
        return form.format(*texts), strength
    extra = [f"{k}={v!r}" for k, v in node.params.items() if v is not None and v is not False]
    return f"{node.op}({', '.join([t for t, _ in parts] + extra)})", 5


def _atomic(text):
    """True when ``text`` needs no parentheses as a factor: a name, a number, a call."""
    if text.startswith("-"):
        return False
    depth = 0
    for ch in text:
        depth += ch in "(["
        depth -= ch in ")]"
        if depth == 0 and ch in " +-*/@":
            return False
    return True


def _index_text(i):
    if isinstance(i, slice):
        text = ":".join("" if v is None else str(v) for v in (i.start, i.stop, i.step))
        return text[:-1] if i.step is None else text
    if i is None:
        return "None"
    if i is Ellipsis:
        return "..."
    return repr(i) if not isinstance(i, np.ndarray) else _fmt(i)


def _value_of(arg):
    return arg.value if isinstance(arg, Node) else arg


def _roles(prim, nargs):
    """Names for a primitive's positional arguments: the row's own rules name them
    (``lambda t, ans, x, y: ...``), else the numpy function's parameters, else the
    positions."""
    rules = prim.jvp if isinstance(prim.jvp, (list, tuple)) else ()
    for rule in rules:
        if rule is None:
            continue
        try:
            params = list(inspect.signature(rule).parameters.values())[2:]
        except (TypeError, ValueError):
            continue
        names = [p.name for p in params[:nargs]
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(names) == nargs:
            return names
    if isinstance(prim.impl, np.ufunc):
        if prim.impl.nin == 2 and nargs == 2:
            return ["x", "y"]  # numpy says x1, x2: names the survey gives its inputs
    else:
        try:
            params = list(inspect.signature(prim.impl).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params[:nargs]
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(names) == nargs:
            return names
    return [str(k) for k in range(nargs)]


class Term:
    """One product in a trace row: a local derivative times what flows in.

    Attributes:
        node: the name of the primitive's node (the ``v`` of ``∂v/∂x``).
        wrt: the name of its argument (the ``x`` of ``∂v/∂x``).
        derivative: the local derivative ``∂v/∂x`` as an expression in the graph's
            names, e.g. ``"1/x1"`` or ``"cos(x2)"``, read off the row's rule; for a
            row that is not elementwise, the linear map its rule applies, with ``·``
            for what flows in (``"sum(·)"``, ``"· @ w"``).
        local: the local derivative's value (``None`` for a linear map).
        incoming: what flows in: the tangent of ``wrt`` (tangent traces) or the
            adjoint of ``node`` (adjoint traces).
        value: the contribution, computed by the row's jvp (or vjp) rule.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> g = fgrad.make_graph(lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2))(2.0, 5.0)
        >>> term, = g.tangent_trace(1.0, 0.0).terms["v1"]
        >>> term.derivative, float(term.local), float(term.incoming), float(term.value)
        ('1/x1', 0.5, 1.0, 0.5)
    """

    __slots__ = ("node", "wrt", "derivative", "local", "incoming", "value")

    def __init__(self, node, wrt, derivative, local, incoming, value):
        self.node = node
        self.wrt = wrt
        self.derivative = derivative
        self.local = local
        self.incoming = incoming
        self.value = value

    @property
    def is_map(self):
        """True when the derivative is a linear map rather than a number."""
        return self.local is None

    def symbolic(self, incoming_name, incoming_first=False):
        """``"(1/x1)·ẋ1"``: the derivative applied to ``incoming_name``."""
        if self.is_map:
            return self.derivative.replace(_SLOT, incoming_name)
        d = self.derivative
        if not _atomic(d):
            d = f"({d})"
        return f"{incoming_name}\u00b7{d}" if incoming_first else f"{d}\u00b7{incoming_name}"

    def numeric(self, incoming_first=False):
        """``"0.5×1"``: the same product with numbers."""
        if self.is_map:
            return self.derivative.replace(_SLOT, _fmt(self.incoming))
        a, b = _fmt(self.local), _fmt(self.incoming)
        a, b = (f"({t})" if t.startswith("-") or t.endswith("j") else t for t in (a, b))
        return f"{b}\u00d7{a}" if incoming_first else f"{a}\u00d7{b}"

    def __repr__(self):
        return (f"<Term \u2202{self.node}/\u2202{self.wrt} = {self.derivative}: "
                f"{self.numeric()} = {_fmt(self.value)}>")


def _local_derivative(node, pos, kind, incoming):
    """``(expression, value)`` of ``∂node/∂args[pos]``, read off the row's rule.

    The rule runs on recording stand-ins named like the graph's nodes, so what it
    computes comes back as an expression.  Elementwise rows are multiplications: the
    partial derivative (the row's ``partial``, or its jvp rule applied to a tangent
    of 1) is a number per entry.  Other rows apply a linear map: the jvp (or vjp)
    rule runs on a stand-in ``·`` for the incoming value, and the value is ``None``.
    A rule that cannot run on stand-ins is shown as ``∂v/∂x``.
    """
    prim = node.primitive
    parent = node.args[pos]
    trace = _GraphTrace()
    try:
        stand_ins = [trace.new_input(a.name, a.value) if isinstance(a, Node) else a
                     for a in node.args]
        ans = trace.new_input(node.name, node.value)
        rule = prim.jvp[pos] if kind == "tangent" or prim.batch == "elementwise" \
            else prim.vjp[pos]
        if prim.batch == "elementwise":
            partial = getattr(rule, "partial", None)
            if partial is not None:
                d = partial(ans, *stand_ins)
            else:
                one = np.ones((), dtype=np.result_type(concrete(parent.value)))
                d = rule(one, ans, *stand_ins, **node.params)
            return _render(d, trace)[0], concrete(d)
        slot = trace.new_input(_SLOT, incoming)
        out = rule(slot, ans, *stand_ins, **node.params)
        return _render(out, trace)[0], None
    except Exception:  # noqa: BLE001 - a display aid: any rule that needs real values
        return f"\u2202{node.name}/\u2202{parent.name}", None
    finally:
        trace.alive = False


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


def make_graph(fun, *, prune=False):
    """Return a function that runs ``fun`` once and returns its :class:`Graph`.

    Every floating-point (or complex) leaf of every positional argument becomes
    an input of the graph, named after ``fun``'s parameters; everything else is
    a constant.  Transforms nest: ``make_graph(fgrad.grad(f))`` shows the
    primitives of both the forward and the backward pass.

    The graph is that of this one call: a Python ``if`` or ``while`` on the
    data records only the path taken, and another input may give another graph.

    Args:
        fun: the function to record; it may be a transformed function (``fgrad.grad(f)``).
        prune: return :meth:`Graph.prune` of the graph: only what the outputs
            depend on, without multiplications by 1, constants written into
            their nodes in pictures (to fit a slide).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> g = fgrad.make_graph(lambda x: fnp.sum(fnp.sin(x) ** 2))(fnp.zeros(3))
        >>> [node.op for node in g.nodes]
        ['input', 'sin', 'power', 'sum']
        >>> g.value
        np.float64(0.0)
        >>> h = fgrad.make_graph(fgrad.grad(lambda x: x * fnp.sin(x)), prune=True)(0.0)
        >>> [node.expression() for node in h.primitives]
        ['sin(x)', 'cos(x)', 'x * v2', 'v1 + v3']
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
        graph = Graph(name, trace.nodes, outputs, out_tree.unflatten(values), out_tree)
        return graph.prune() if prune else graph

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

    def __init__(self, name, nodes, outputs, value, out_tree=None, pruned=False):
        self.name = name
        self.nodes = list(nodes)
        self.outputs = list(outputs)
        self.value = value
        self._out_tree = out_tree
        self.pruned = pruned

    def prune(self):
        """A smaller graph that computes the same outputs, to fit a slide.

        Drops the primitives no output depends on (the forward pass's own
        result in ``make_graph(grad(f))``, say), multiplications by a constant 1
        (the seed cotangent of reverse mode), and, in pictures, the floating
        constant nodes: constants are written into their node's label instead.
        The remaining primitives are renamed ``v1``, ``v2`` ... in order; the
        inputs keep their names.  :meth:`replay` runs either graph on new inputs.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> f = lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2)
            >>> g = fgrad.make_graph(fgrad.grad(f, argnums=(0, 1)))(2.0, 5.0)
            >>> len(g.primitives), len(g.prune().primitives)
            (12, 5)
            >>> print(g.prune())
            graph of grad(<lambda>): 2 inputs, 5 primitives, 2 outputs
              x1 = input      2
              x2 = input      5
              v1 = cos(x2)    0.2837
              v2 = -1 * v1    -0.2837
              v3 = v2 + x1    1.716
              v4 = 1 / x1     0.5
              v5 = x2 + v4    5.5
              outputs: v5, v3
        """
        alias = {}  # index of a ×1 node -> the argument it passes on

        def resolve(a):
            while isinstance(a, Node) and a.index in alias:
                a = alias[a.index]
            return a

        for n in self.primitives:
            args = [resolve(a) for a in n.args]
            if n.op == "multiply" and len(args) == 2 and not n.params:
                for k in (0, 1):
                    c, other = args[k], args[1 - k]
                    if (isinstance(other, Node) and _is_number(c, 1)
                            and np.shape(concrete(other.value)) == np.shape(concrete(n.value))
                            and np.result_type(concrete(other.value))
                            == np.result_type(concrete(n.value))):
                        alias[n.index] = other
                        break
        outputs = [resolve(o) for o in self.outputs]
        live, stack = set(), [o for o in outputs if isinstance(o, Node)]
        while stack:
            n = stack.pop()
            if n.index in live:
                continue
            live.add(n.index)
            stack.extend(a for a in (resolve(a) for a in n.args) if isinstance(a, Node))
        new, counter = {}, 0
        nodes = []
        for n in self.nodes:
            if not n.is_input and (n.index not in live or n.index in alias):
                continue
            if n.is_input:
                name = n.name
            else:
                counter += 1
                name = f"v{counter}"
            args = tuple(new[resolve(a).index] if isinstance(resolve(a), Node) else a
                         for a in n.args)
            m = Node(len(nodes), name, n.op, args, dict(n.params), n.value, n.primitive)
            new[n.index] = m
            nodes.append(m)
        outs = [new[o.index] if isinstance(o, Node) else o for o in outputs]
        return Graph(self.name, nodes, outs, self.value, self._out_tree, pruned=True)

    def replay(self, *inputs):
        """Run the recorded primitives again on new input values.

        One value per input node, shaped like the recorded one; returns the
        outputs structured like :attr:`value`.  The replay is an ordinary fgrad
        function (the transforms apply to it), but it is the program of *one*
        call: a branch or a loop count that depended on the recorded inputs is
        frozen in it.

        Example:
            >>> import fgrad
            >>> g = fgrad.make_graph(lambda x: x * x + 1.0)(3.0)
            >>> float(g.replay(2.0)), float(fgrad.grad(g.replay)(2.0))
            (5.0, 4.0)
        """
        ins = self.inputs
        if len(inputs) != len(ins):
            raise TypeError(
                f"replay needs one value per input ({len(ins)}: "
                f"{', '.join(n.name for n in ins)}), got {len(inputs)}."
            )
        env = {}
        for node, x in zip(ins, inputs, strict=True):
            if np.shape(concrete(x)) != np.shape(concrete(node.value)):
                raise ValueError(
                    f"replay: the value for input {node.name} has shape {np.shape(concrete(x))}, "
                    f"but the graph was recorded with shape {np.shape(concrete(node.value))}."
                )
            env[node.index] = x
        for node in self.primitives:
            args = [env[a.index] if isinstance(a, Node) else a for a in node.args]
            env[node.index] = node.primitive.fn(*args, **node.params)
        outs = [env[o.index] if isinstance(o, Node) else o for o in self.outputs]
        if self._out_tree is None:
            return outs
        return self._out_tree.unflatten(outs)

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

    def listing(self, derivatives=False):
        """The graph as text: one line per input and per primitive, with values.

        With ``derivatives=True`` each primitive's line also gives its local
        derivatives, one per argument that is a node (``∂x1: 1/x1 = 0.5``), read
        off the row's rules as in :meth:`tangent_trace`.

        Example:
            >>> import fgrad, fgrad.numpy as fnp
            >>> g = fgrad.make_graph(lambda x1, x2: fnp.log(x1) + x1 * x2 - fnp.sin(x2))(2.0, 5.0)
            >>> print(g.listing(derivatives=True))
            graph of <lambda>: 2 inputs, 5 primitives, 1 output
              x1 = input     2
              x2 = input     5
              v1 = log(x1)   0.6931   ∂x1: 1/x1 = 0.5
              v2 = x1 * x2   10       ∂x1: x2 = 5;  ∂x2: x1 = 2
              v3 = v1 + v2   10.69    ∂v1: 1;  ∂v2: 1
              v4 = sin(x2)   -0.9589  ∂x2: cos(x2) = 0.2837
              v5 = v3 - v4   11.65    ∂v3: 1;  ∂v4: -1
              output: v5
        """
        ins, prims = self.inputs, self.primitives
        outs = [o.name if isinstance(o, Node) else f"constant {_fmt(o)}" for o in self.outputs]
        head = (f"graph of {self.name}: {len(ins)} input{'s' * (len(ins) != 1)}, "
                f"{len(prims)} primitive{'s' * (len(prims) != 1)}, "
                f"{len(outs)} output{'s' * (len(outs) != 1)}")
        rows = [(n.name, n.expression(), _fmt(n.value)) for n in self.nodes]
        width = max((len(a) + len(b) for a, b, _ in rows), default=0) + 6
        vwidth = max((len(v) for _, _, v in rows), default=0) + 2
        lines = [head]
        for node, (name, expr, val) in zip(self.nodes, rows, strict=True):
            left = f"{name} = {expr}"
            line = f"  {left.ljust(width)}{val}"
            if derivatives and not node.is_input and not node.primitive.nondiff:
                parts = []
                for pos, parent in node.parents:
                    d, local = _local_derivative(node, pos, "tangent", parent.value)
                    shown = _fmt(local) if local is not None else None
                    parts.append(f"\u2202{parent.name}: {d}"
                                 + (f" = {shown}" if shown not in (None, d) else ""))
                if parts:
                    line = f"  {left.ljust(width)}{val.ljust(vwidth)}" + ";  ".join(parts)
            lines.append(line)
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
        steps = [[] for _ in rows]
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
                expr, local = _local_derivative(node, pos, "tangent", t)
                terms.append(Term(node.name, parent.name, expr, local, t, c))
                total = c if total is None else total + c
            if total is None:
                continue
            shape = np.shape(concrete(node.value))
            if np.shape(concrete(total)) != shape:
                total = fnp.broadcast_to(total, shape)
            tan[node.index] = total
            text = " + ".join(term.symbolic(_accent(term.wrt, _DOT)) for term in terms)
            rows.append((node.name, text, total))
            steps.append(terms)
        return TraceTable(self, "tangent", rows, tan, edges, steps)

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
        steps = [[] for _ in rows]
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
                expr, local = _local_derivative(node, pos, "adjoint", g)
                term = Term(node.name, parent.name, expr, local, g, c)
                rows.append((parent.name,
                             "+= " + term.symbolic(_accent(node.name, _BAR), True), c))
                steps.append([term])
        for node in self.inputs:
            if node.index in adj:
                rows.append((node.name, "total", adj[node.index]))
                steps.append([])
        return TraceTable(self, "adjoint", rows, adj, edges, steps)

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

        Edges into a primitive with several arguments are labelled with the
        argument's role (``x``/``y``, ``a``/``b``: the names the row's rules give
        them).  With a :class:`TraceTable` from :meth:`tangent_trace` or
        :meth:`adjoint_trace`, each node also shows its tangent (or adjoint) and
        each edge its step: the local derivative ``∂``, what flows in (``×``) and
        the contribution (``→``); adjoint edges point backwards, in red.  A
        graph from :meth:`prune` writes its constants into the nodes.

        Example:
            >>> import fgrad
            >>> print(fgrad.make_graph(lambda x: 2.0 * x)(1.0).to_dot())  # doctest: +ELLIPSIS
            digraph "<lambda>" {
            ...
              n0 -> n1 [headlabel="y", fontcolor="gray50"];
            }
        """
        kind = trace.kind if trace is not None else None
        lines = [f'digraph "{_dot_escape(self.name)}" {{',
                 f"  rankdir={rankdir};",
                 '  node [fontname="Helvetica", fontsize=11];',
                 '  edge [fontname="Helvetica", fontsize=9];']
        mark = {"tangent": "tangent", "adjoint": "adjoint"}.get(kind)
        out_idx = {o.index for o in self.outputs if isinstance(o, Node)}
        inline = self.pruned  # constants written into the node, not drawn as nodes
        consts = 0
        for n in self.nodes:
            if n.is_input:
                head = n.name
            elif inline and any(not isinstance(a, Node) for a in n.args):
                head = f"{n.name} = {n.expression()}"
            else:
                head = f"{n.name} = {n.op}"
            label = f"{_dot_escape(head)}\\n{_dot_escape(_fmt(n.value))}"
            if mark and trace.values.get(n.index) is not None:
                label += f"\\n{mark} {_dot_escape(_fmt(trace.values[n.index]))}"
            shape = "ellipse" if n.is_input else "box"
            style = ', style="filled", fillcolor="#dbe9f6"' if n.is_input else ""
            if n.index in out_idx:
                style = ', style="filled", fillcolor="#f6e7c1", peripheries=2'
            lines.append(f'  n{n.index} [label="{label}", shape={shape}{style}];')
        edge_terms = getattr(trace, "edge_terms", {})
        for n in self.nodes:
            drawn = sum(isinstance(a, Node) or not inline for a in n.args)
            roles = _roles(n.primitive, len(n.args)) if drawn > 1 else None
            for pos, a in enumerate(n.args):
                if isinstance(a, Node):
                    src = f"n{a.index}"
                elif inline:
                    continue
                else:
                    src = f"c{consts}"
                    consts += 1
                    lines.append(f'  {src} [label="{_dot_escape(_fmt(a))}", shape=plaintext, '
                                 'fontcolor="gray40"];')
                attrs = []
                term = edge_terms.get((a.index, n.index)) if isinstance(a, Node) else None
                if term is not None:
                    # the local derivative, then what flows in and what comes out
                    if term.is_map:
                        text = f"{term.derivative}\\n{_SLOT} = {_fmt(term.incoming)}"
                    else:
                        local = _fmt(term.local)
                        text = (f"\u2202 = {term.derivative}"
                                + (f" = {local}" if local != term.derivative else "")
                                + f"\\n\u00d7 {_fmt(term.incoming)}")
                    text = _dot_escape(text).replace("\\\\n", "\\n")
                    attrs.append(f'label="{text}\\n\u2192 {_dot_escape(_fmt(term.value))}"')
                    if kind == "adjoint":
                        attrs.append('color="firebrick", fontcolor="firebrick", dir=back')
                    else:
                        attrs.append('color="royalblue", fontcolor="royalblue"')
                if roles is not None:
                    attrs.append(f'headlabel="{_dot_escape(roles[pos])}"')  # at the user
                    if term is None:
                        attrs.append('fontcolor="gray50"')
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
    adjoint traces).  In tangent and adjoint traces each step reads *local
    derivative × what flows in = value*: the expression names the local
    derivatives (``(1/x1)·ẋ1``), ``steps`` holds the :class:`Term` objects of each
    row (their numbers), and ``terms[name]`` those of the rows for one node.
    Prints as text, and as an HTML table in Jupyter.

    Example:
        >>> import fgrad
        >>> t = fgrad.make_graph(lambda x, y: x * y)(3.0, 4.0).tangent_trace(1.0, 0.0)
        >>> name, expression, value = t.rows[-1]
        >>> name, expression, float(value)
        ('v1', 'y·ẋ + x·ẏ', 4.0)
        >>> [(term.derivative, float(term.local)) for term in t.terms["v1"]]
        [('y', 4.0), ('x', 3.0)]
        >>> print(t)
        tangent trace (forward mode) of <lambda>
          ẋ  = given                     1
          ẏ  = given                     0
          v̇1 = y·ẋ + x·ẏ   = 4×1 + 3×0   4
    """

    def __init__(self, graph, kind, rows, values, edges, steps=None):
        self.graph = graph
        self.kind = kind
        self.rows = rows
        self.values = values
        self.edges = edges
        self.steps = steps if steps is not None else [[] for _ in rows]
        self.terms = {}
        for (name, _, _), terms in zip(rows, self.steps, strict=True):
            if terms:
                self.terms.setdefault(name, []).extend(terms)
        self.edge_terms = {}
        index = {n.name: n.index for n in graph.nodes}
        for terms in self.steps:
            for term in terms:
                self.edge_terms[(index[term.wrt], index[term.node])] = term

    def __getitem__(self, name):
        node = self.graph[name]
        if node.index not in self.values:
            return np.zeros_like(concrete(node.value))
        return self.values[node.index]

    def _cells(self):
        accent = {"primal": "", "tangent": _DOT, "adjoint": _BAR}[self.kind]
        out = []
        for (name, expr, value), terms in zip(self.rows, self.steps, strict=True):
            lhs = _accent(name, accent)
            numbers = ("= " + " + ".join(t.numeric(self.kind == "adjoint") for t in terms)
                       if terms else "")
            if self.kind == "adjoint" and expr.startswith("+="):
                out.append((lhs, "+=", expr[3:], numbers, _fmt(value)))
            else:
                out.append((lhs, "=", expr, numbers, _fmt(value)))
        return out

    def __str__(self):
        title = {"primal": "primal trace", "tangent": "tangent trace (forward mode)",
                 "adjoint": "adjoint trace (reverse mode)"}[self.kind]
        cells = self._cells()
        w0 = max((_width(c[0]) for c in cells), default=0)
        w2 = max((_width(c[2]) for c in cells), default=0)
        w3 = max((_width(c[3]) for c in cells), default=0)
        lines = [f"{title} of {self.graph.name}"]
        for lhs, op, expr, numbers, val in cells:
            middle = f"{_pad(expr, w2)}   {_pad(numbers, w3)}" if w3 else _pad(expr, w2)
            lines.append(f"  {_pad(lhs, w0)} {op.rjust(2)} {middle}   {val}")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        head = {"primal": ("node", "expression", "value"),
                "tangent": ("tangent", "local derivative · tangent", "numbers", "value"),
                "adjoint": ("adjoint", "adjoint · local derivative", "numbers", "value")
                }[self.kind]

        def row(lhs, op, expr, numbers, val):
            cells = [lhs + (" +=" if op == "+=" else ""), expr]
            cells += [numbers[2:] if numbers else ""] if self.kind != "primal" else []
            cells.append(val)
            return "<tr>" + "".join(
                f"<td style='text-align:left'><code>{html.escape(c)}</code></td>" for c in cells
            ) + "</tr>"

        body = "".join(row(*c) for c in self._cells())
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
