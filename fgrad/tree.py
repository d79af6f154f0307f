"""Pytrees: nested containers of arrays that transforms accept and return.

Tuples, lists, dicts (in sorted key order, as JAX), namedtuples and ``None`` (a
node with no leaves) are containers; everything else is a leaf.  Register your
own container types with :func:`register_pytree_node`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
    "register_pytree_node", "PyTreeDef", "leaf_paths",
]

_REGISTRY = {}


def register_pytree_node(cls, flatten, unflatten):
    """Teach fgrad a container type.

    ``flatten(obj) -> (children, aux)`` and ``unflatten(aux, children) -> obj``;
    ``aux`` is static data (hashable, compared for structure equality).

    Example:
        >>> import fgrad
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> fgrad.tree.register_pytree_node(
        ...     Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
        >>> fgrad.tree.tree_leaves(Pair(1.0, 2.0))
        [1.0, 2.0]
    """
    _REGISTRY[cls] = (flatten, unflatten)


def _sorted_keys(d):
    """A dict's keys in sorted order; keys of mixed types (``1`` and ``"a"``) that do
    not compare are ordered by type name first, then by value within each type."""
    try:
        return sorted(d)
    except TypeError:
        pass
    try:
        return sorted(d, key=lambda k: (type(k).__qualname__, k))
    except TypeError:
        raise TypeError(
            f"a dict in a pytree has keys that cannot be ordered ({list(d)!r}); fgrad "
            "flattens dicts in sorted key order. Use keys of one comparable type (e.g. "
            "all str), or convert the dict to a list/tuple."
        ) from None


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(x):
    """``(children, aux, rebuild)`` for a container, or ``None`` for a leaf."""
    t = type(x)
    if t is tuple or t is list:
        return x, None, t
    if t is dict:
        keys = _sorted_keys(x)
        return [x[k] for k in keys], tuple(keys), dict
    if x is None:
        return (), None, None
    if t in _REGISTRY:
        children, aux = _REGISTRY[t][0](x)
        return children, aux, t
    if _is_namedtuple(x):
        return tuple(x), None, t
    return None


class PyTreeDef:
    """The shape of a pytree without its leaves.  Compare with ``==``."""

    __slots__ = ("kind", "aux", "children", "num_leaves", "flat")

    def __init__(self, kind, aux, children):
        self.kind, self.aux, self.children = kind, aux, children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)
        # a dict, tuple or list of leaves (a dict of parameters): rebuilt in one step
        self.flat = kind in (dict, tuple, list) and all(c.kind == "leaf" for c in children)

    def __eq__(self, other):
        return (
            isinstance(other, PyTreeDef)
            and self.kind == other.kind
            and self.aux == other.aux
            and self.children == other.children
        )

    def __hash__(self):
        return hash((self.kind, self.aux, self.children))

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        if self.kind is None:
            return "None"
        if self.kind is dict:
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.aux, self.children))
            return "{" + inner + "}"
        inner = ", ".join(map(repr, self.children))
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"{name}({inner})"

    def difference(self, other, path=""):
        """Where ``other`` differs from this structure, in words (``""`` if equal).

        Example:
            >>> from fgrad.tree import tree_structure
            >>> tree_structure({"a": 1, "b": 2}).difference(tree_structure({"a": 1, "c": 2}))
            "at the top: dict keys differ: missing ['b'], unexpected ['c']"
        """
        where = f"at {path}" if path else "at the top"
        if not isinstance(other, PyTreeDef):
            return f"{where}: not a pytree structure"
        if self.kind != other.kind:
            return f"{where}: expected {_kind_name(self)}, got {_kind_name(other)}"
        if self.kind is dict and self.aux != other.aux:
            missing = [k for k in self.aux if k not in other.aux]
            extra = [k for k in other.aux if k not in self.aux]
            return f"{where}: dict keys differ: missing {missing}, unexpected {extra}"
        if self.aux != other.aux:
            return f"{where}: {_kind_name(self)} metadata differs: {self.aux!r} vs {other.aux!r}"
        if len(self.children) != len(other.children):
            return (f"{where}: expected {_kind_name(self)} of length {len(self.children)}, "
                    f"got length {len(other.children)}")
        keys = self.aux if self.kind is dict else range(len(self.children))
        for k, a, b in zip(keys, self.children, other.children):
            if a != b:
                return a.difference(b, f"{path}[{k!r}]")
        return ""

    def expect(self, other, what):
        """Unless ``other`` is this structure, raise a TypeError saying that ``what``
        must have it, and where ``other`` differs.

        Example:
            >>> from fgrad.tree import tree_structure
            >>> tree_structure((1, 2)).expect(tree_structure((1,)), "f's cotangent")
            Traceback (most recent call last):
            ...
            TypeError: f's cotangent must have the structure tuple(*, *), not tuple(*) (at the top: expected tuple of length 2, got length 1).
        """
        if other != self:
            raise TypeError(
                f"{what} must have the structure {self}, not {other} ({self.difference(other)})."
            )

    def unflatten(self, leaves):
        """Rebuild a pytree of this structure from a sequence of leaves."""
        if self.flat and type(leaves) is list and len(leaves) == self.num_leaves:
            return dict(zip(self.aux, leaves)) if self.kind is dict else self.kind(leaves)
        return _build(self, iter(leaves))


def _kind_name(treedef):
    if treedef.kind == "leaf":
        return "a leaf (array or number)"
    if treedef.kind is None:
        return "None"
    return getattr(treedef.kind, "__name__", str(treedef.kind))


def leaf_paths(tree):
    """The path of each leaf of ``tree``, as ``"['a'][0]"`` strings, in flattening order.

    Example:
        >>> from fgrad.tree import leaf_paths
        >>> leaf_paths({"b": (1, 2), "a": 3})
        ["['a']", "['b'][0]", "['b'][1]"]
    """
    paths = []

    def walk(x, path):
        info = None if type(x) in _LEAF_TYPES else _children(x)
        if info is None:
            paths.append(path)
            return
        children, aux, kind = info
        keys = aux if kind is dict else range(len(children))
        for k, c in zip(keys, children):
            walk(c, f"{path}[{k!r}]")

    walk(tree, "")
    return paths


_LEAF = PyTreeDef("leaf", None, ())


_LEAF_TYPES = frozenset({np.ndarray, float, np.float64, np.float32, int})


def _flatten(x, leaves):
    if type(x) in _LEAF_TYPES:  # the usual leaves, without asking _children
        leaves.append(x)
        return _LEAF
    info = _children(x)
    if info is None:
        leaves.append(x)
        return _LEAF
    children, aux, kind = info
    return PyTreeDef(kind, aux, tuple([_flatten(c, leaves) for c in children]))


def _build(treedef, it):
    kind = treedef.kind
    if kind == "leaf":
        return next(it)
    if kind is None:
        return None
    children = [_build(c, it) for c in treedef.children]
    if kind is tuple or kind is list:
        return kind(children)
    if kind is dict:
        return dict(zip(treedef.aux, children))
    if kind in _REGISTRY:
        return _REGISTRY[kind][1](treedef.aux, children)
    return kind(*children)  # namedtuple


def tree_flatten(tree):
    """Split a pytree into its list of leaves and its structure.

    Example:
        >>> from fgrad.tree import tree_flatten
        >>> leaves, treedef = tree_flatten({"b": (1, 2), "a": 3})
        >>> leaves
        [3, 1, 2]
    """
    leaves = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def tree_unflatten(treedef, leaves):
    """Inverse of :func:`tree_flatten`.

    Example:
        >>> from fgrad.tree import tree_flatten, tree_unflatten
        >>> leaves, treedef = tree_flatten([1, (2, 3)])
        >>> tree_unflatten(treedef, [x * 10 for x in leaves])
        [10, (20, 30)]
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree):
    """The leaves of a pytree, in flattening order.

    Example:
        >>> from fgrad.tree import tree_leaves
        >>> tree_leaves([1, {"x": 2}, None])
        [1, 2]
    """
    return tree_flatten(tree)[0]


def tree_structure(tree):
    """The :class:`PyTreeDef` of a pytree.

    Example:
        >>> from fgrad.tree import tree_structure
        >>> tree_structure((1, [2]))
        tuple(*, list(*))
    """
    return tree_flatten(tree)[1]


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leaf by leaf over one or more pytrees of the same structure.

    Example:
        >>> from fgrad.tree import tree_map
        >>> tree_map(lambda a, b: a + b, {"w": 1, "b": 2}, {"w": 10, "b": 20})
        {'b': 22, 'w': 11}
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError(
                f"tree_map: pytree structures differ ({treedef.difference(r_def)}): "
                f"{treedef} vs {r_def}"
            )
        others.append(r_leaves)
    return treedef.unflatten([fn(*xs) for xs in zip(leaves, *others)])
