"""Pytrees: nested containers of arrays that transforms accept and return.

Tuples, lists, dicts (in sorted key order, as JAX), ``OrderedDict`` (in insertion
order), ``defaultdict`` (sorted, its ``default_factory`` kept as structure),
namedtuples and ``None`` (a node with no leaves) are containers; everything else
is a leaf.  Register your own container types with :func:`register_pytree_node`
(or the friendlier front ends of :mod:`fgrad.tree_util`).

This is the engine's module (layer 0: the transforms read it); the public,
JAX-named toolkit is :mod:`fgrad.tree_util`, which re-exports every name here.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict

import numpy as np

__all__ = [
    "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
    "register_pytree_node", "PyTreeDef", "leaf_paths",
    "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path", "keystr",
    "SequenceKey", "DictKey", "GetAttrKey", "FlattenedIndexKey", "registration_advice",
]

#: type -> (flatten, unflatten, flatten_with_keys or None)
_REGISTRY = {}

_BUILTIN_NODES = (tuple, list, dict, OrderedDict, defaultdict, type(None))


def register_pytree_node(cls, flatten, unflatten, flatten_with_keys=None):
    """Teach fgrad a container type.

    ``flatten(obj) -> (children, aux)`` and ``unflatten(aux, children) -> obj``;
    ``aux`` is static data (hashable, compared for structure equality).  The
    optional ``flatten_with_keys(obj) -> (((key, child), ...), aux)`` names the
    children in key paths (see :func:`tree_flatten_with_path`); without it they
    are numbered (:class:`FlattenedIndexKey`).  Registering a type twice, or a
    built-in container, raises a ValueError (as JAX).

    Example:
        >>> import fgrad
        >>> class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        >>> fgrad.tree.register_pytree_node(
        ...     Pair, lambda p: ((p.a, p.b), None), lambda aux, ch: Pair(*ch))
        >>> fgrad.tree.tree_leaves(Pair(1.0, 2.0))
        [1.0, 2.0]
    """
    if not isinstance(cls, type):
        raise TypeError(
            f"register_pytree_node: the first argument must be a class, got {cls!r}.")
    if not callable(flatten) or not callable(unflatten) or not (
            flatten_with_keys is None or callable(flatten_with_keys)):
        raise TypeError(
            "register_pytree_node(cls, flatten, unflatten): flatten and unflatten must be "
            "functions: flatten(obj) -> (children, aux), unflatten(aux, children) -> obj.")
    if cls in _REGISTRY or cls in _BUILTIN_NODES:
        raise ValueError(
            f"register_pytree_node: {cls.__qualname__} is already a registered pytree "
            "node type; register each type once.")
    _REGISTRY[cls] = (flatten, unflatten, flatten_with_keys)


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


def _registered_children(x, t):
    out = _REGISTRY[t][0](x)
    try:
        children, aux = out
    except (TypeError, ValueError):
        raise TypeError(
            f"the flatten function registered for {t.__qualname__} must return a pair "
            f"(children, aux_data), but it returned {out!r}."
        ) from None
    return list(children), aux, t


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
        return _registered_children(x, t)
    if t is OrderedDict:
        return list(x.values()), tuple(x), OrderedDict
    if t is defaultdict:
        keys = _sorted_keys(x)
        return [x[k] for k in keys], (x.default_factory, tuple(keys)), defaultdict
    if _is_namedtuple(x):
        return tuple(x), None, t
    return None


# --------------------------------------------------------------------------
# key paths
# --------------------------------------------------------------------------


class _Key:
    __slots__ = ()
    _field = ""

    def __eq__(self, other):
        return type(other) is type(self) and getattr(self, self._field) == getattr(
            other, self._field)

    def __hash__(self):
        return hash((type(self).__name__, getattr(self, self._field)))

    def __repr__(self):
        return f"{type(self).__name__}({self._field}={getattr(self, self._field)!r})"


class SequenceKey(_Key):
    """The key of an entry of a tuple or list in a key path: its index.

    Example:
        >>> from fgrad.tree import tree_leaves_with_path
        >>> tree_leaves_with_path((1.0, 2.0))[1]
        ((SequenceKey(idx=1),), 2.0)
        >>> str(tree_leaves_with_path((1.0, 2.0))[1][0][0])
        '[1]'
    """

    __slots__ = ("idx",)
    _field = "idx"

    def __init__(self, idx):
        self.idx = idx

    def __str__(self):
        return f"[{self.idx!r}]"


class DictKey(_Key):
    """The key of an entry of a dict (also ``OrderedDict``, ``defaultdict``) in a key path.

    Example:
        >>> from fgrad.tree import tree_leaves_with_path
        >>> path, leaf = tree_leaves_with_path({"w": 3.0})[0]
        >>> path, str(path[0])
        ((DictKey(key='w'),), "['w']")
    """

    __slots__ = ("key",)
    _field = "key"

    def __init__(self, key):
        self.key = key

    def __str__(self):
        return f"[{self.key!r}]"


class GetAttrKey(_Key):
    """The key of an attribute (a namedtuple's or a dataclass's field) in a key path.

    Example:
        >>> from collections import namedtuple
        >>> from fgrad.tree import tree_leaves_with_path
        >>> P = namedtuple("P", "w b")
        >>> path, leaf = tree_leaves_with_path(P(1.0, 2.0))[1]
        >>> path, str(path[0])
        ((GetAttrKey(name='b'),), '.b')
    """

    __slots__ = ("name",)
    _field = "name"

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f".{self.name}"


class FlattenedIndexKey(_Key):
    """The key of a child of a registered node that names no keys: its position
    among the node's children.

    Example:
        >>> import fgrad
        >>> class Box:
        ...     def __init__(self, v): self.v = v
        >>> fgrad.tree.register_pytree_node(Box, lambda b: ((b.v,), None),
        ...                                 lambda aux, ch: Box(*ch))
        >>> path, leaf = fgrad.tree.tree_leaves_with_path(Box(1.0))[0]
        >>> path, fgrad.tree.keystr(path)
        ((FlattenedIndexKey(key=0),), '[<flat index 0>]')
    """

    __slots__ = ("key",)
    _field = "key"

    def __init__(self, key):
        self.key = key

    def __str__(self):
        return f"[<flat index {self.key}>]"


def _child_keys(x, children, aux, kind):
    """The key of each child of the container ``x``."""
    if kind is tuple or kind is list:
        return [SequenceKey(i) for i in range(len(children))]
    if kind is dict or kind is OrderedDict:
        return [DictKey(k) for k in aux]
    if kind is defaultdict:
        return [DictKey(k) for k in aux[1]]
    if kind is None:
        return []
    if kind in _REGISTRY:
        with_keys = _REGISTRY[kind][2]
        if with_keys is None:
            return [FlattenedIndexKey(i) for i in range(len(children))]
        pairs, _ = with_keys(x)
        keys = [k for k, _ in pairs]
        if len(keys) != len(children):
            raise ValueError(
                f"the flatten_with_keys function registered for {kind.__qualname__} gave "
                f"{len(keys)} keys for {len(children)} children; it must name each child "
                "its flatten function returns, in the same order.")
        return keys
    return [GetAttrKey(f) for f in type(x)._fields]  # namedtuple


def keystr(keys, *, simple=False, separator=""):
    """A key path (a tuple of keys) as a string, like ``"['a'][0]"``.

    With ``simple=True`` each key is written as its bare name or index, joined by
    ``separator`` (``"a/0"`` with ``separator="/"``).

    Example:
        >>> from fgrad.tree import keystr, tree_leaves_with_path
        >>> path, leaf = tree_leaves_with_path({"a": [1.0, 2.0]})[1]
        >>> keystr(path), keystr(path, simple=True, separator="/")
        ("['a'][1]", 'a/1')
    """
    if not isinstance(keys, (tuple, list)):
        raise TypeError(f"keystr expects a key path (a tuple of keys), got {keys!r}.")
    if simple:
        return separator.join(
            str(getattr(k, k._field)) if isinstance(k, _Key) else str(k) for k in keys)
    return separator.join(str(k) for k in keys)


def _walk_with_path(x, path, out, is_leaf):
    if is_leaf is not None and is_leaf(x):
        out.append((path, x))
        return _LEAF
    info = None if type(x) in _LEAF_TYPES else _children(x)
    if info is None:
        out.append((path, x))
        return _LEAF
    children, aux, kind = info
    keys = _child_keys(x, children, aux, kind)
    return PyTreeDef(kind, aux, tuple(
        [_walk_with_path(c, path + (k,), out, is_leaf) for k, c in zip(keys, children)]))


def tree_flatten_with_path(tree, is_leaf=None):
    """Like :func:`tree_flatten`, with each leaf paired with its key path.

    Returns ``([(path, leaf), ...], treedef)``; a path is a tuple of keys
    (:class:`SequenceKey`, :class:`DictKey`, :class:`GetAttrKey`,
    :class:`FlattenedIndexKey`), printable with :func:`keystr`.

    Example:
        >>> from fgrad.tree import keystr, tree_flatten_with_path
        >>> pairs, treedef = tree_flatten_with_path({"b": (1.0, 2.0), "a": 3.0})
        >>> [(keystr(p), x) for p, x in pairs]
        [("['a']", 3.0), ("['b'][0]", 1.0), ("['b'][1]", 2.0)]
    """
    out = []
    treedef = _walk_with_path(tree, (), out, is_leaf)
    return out, treedef


def tree_leaves_with_path(tree, is_leaf=None):
    """The ``(key path, leaf)`` pairs of a pytree, in flattening order.

    Example:
        >>> from fgrad.tree import tree_leaves_with_path
        >>> tree_leaves_with_path([5.0])
        [((SequenceKey(idx=0),), 5.0)]
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(f, tree, *rest, is_leaf=None):
    """Like :func:`tree_map`, but ``f(path, leaf, *others)`` also gets each leaf's key path.

    Example:
        >>> from fgrad.tree import keystr, tree_map_with_path
        >>> tree_map_with_path(lambda p, x: keystr(p) + "=" + str(x), {"a": 1, "b": [2]})
        {'a': "['a']=1", 'b': ["['b'][0]=2"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = [treedef.flatten_up_to(r, "tree_map_with_path") for r in rest]
    return treedef.unflatten(
        [f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


class PyTreeDef:
    """The shape of a pytree without its leaves.  Compare with ``==``.

    Example:
        >>> from fgrad.tree import tree_structure
        >>> treedef = tree_structure({"w": [1.0, 2.0], "b": None})
        >>> treedef, treedef.num_leaves, treedef.num_nodes
        ({'b': None, 'w': list(*, *)}, 2, 5)
        >>> treedef.unflatten([10.0, 20.0])
        {'b': None, 'w': [10.0, 20.0]}
    """

    __slots__ = ("kind", "aux", "children", "num_leaves", "flat")

    def __init__(self, kind, aux, children):
        self.kind, self.aux, self.children = kind, aux, children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)
        # a dict, tuple or list of leaves (a dict of parameters): rebuilt in one step
        self.flat = kind in (dict, tuple, list) and all(c.kind == "leaf" for c in children)

    @property
    def num_nodes(self):
        """The number of nodes (containers, ``None`` and leaves) in the structure."""
        return 1 + sum(c.num_nodes for c in self.children)

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
        if self.kind is OrderedDict or self.kind is defaultdict:
            keys = self.aux if self.kind is OrderedDict else self.aux[1]
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(keys, self.children))
            return f"{self.kind.__name__}({{{inner}}})"
        inner = ", ".join(map(repr, self.children))
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"{name}({inner})"

    def _labels(self):
        """How each child is written in a path: ``['a']``, ``[0]`` or ``.field``."""
        if self.kind is dict or self.kind is OrderedDict:
            return [f"[{k!r}]" for k in self.aux]
        if self.kind is defaultdict:
            return [f"[{k!r}]" for k in self.aux[1]]
        fields = getattr(self.kind, "_fields", None)
        if isinstance(self.kind, type) and issubclass(self.kind, tuple) and fields:
            return [f".{f}" for f in fields]
        return [f"[{i}]" for i in range(len(self.children))]

    def _node_difference(self, other, where):
        """How the top node of ``other`` differs from this one ("" if it does not)."""
        if self.kind != other.kind:
            return f"{where}: expected {_kind_name(self)}, got {_kind_name(other)}"
        if self.kind in (dict, OrderedDict, defaultdict) and self.aux != other.aux:
            mine, theirs = (self.aux, other.aux) if self.kind is not defaultdict else (
                self.aux[1], other.aux[1])
            if list(mine) != list(theirs):
                missing = [k for k in mine if k not in theirs]
                extra = [k for k in theirs if k not in mine]
                if missing or extra:
                    return f"{where}: dict keys differ: missing {missing}, unexpected {extra}"
                return f"{where}: dict keys in a different order: {list(mine)} vs {list(theirs)}"
        if self.aux != other.aux:
            return f"{where}: {_kind_name(self)} metadata differs: {self.aux!r} vs {other.aux!r}"
        if len(self.children) != len(other.children):
            return (f"{where}: expected {_kind_name(self)} of length {len(self.children)}, "
                    f"got length {len(other.children)}")
        return ""

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
        node = self._node_difference(other, where)
        if node:
            return node
        for label, a, b in zip(self._labels(), self.children, other.children):
            if a != b:
                return a.difference(b, f"{path}{label}")
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
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"tree_unflatten: the structure {self} has {self.num_leaves} leaves, but "
                f"{len(leaves)} were given.")
        return _build(self, iter(leaves))

    def flatten_up_to(self, tree, what="tree_map"):
        """The subtrees of ``tree`` that sit where this structure has its leaves.

        ``tree`` must have this structure as a prefix (a ValueError says where it
        does not).  ``tree_map`` uses it for its extra trees, ``tree_transpose``
        for the outer structure.

        Example:
            >>> from fgrad.tree import tree_structure
            >>> tree_structure([0, 0]).flatten_up_to([(1, 2), {"a": 3}])
            [(1, 2), {'a': 3}]
        """
        out = []
        self._up_to(tree, out, "", what)
        return out

    def _up_to(self, x, out, path, what):
        if self.kind == "leaf":
            out.append(x)
            return
        info = None if type(x) in _LEAF_TYPES else _children(x)
        where = f"at {path}" if path else "at the top"
        if info is None:
            raise ValueError(
                f"{what}: pytree structures differ ({where}: expected {_kind_name(self)}, "
                f"got a leaf of type {type(x).__name__}); the other trees must have the "
                f"first one's structure {self} (or have it as a prefix).")
        children, aux, kind = info
        shallow = PyTreeDef(kind, aux, tuple(_LEAF for _ in children))
        problem = self._node_difference(shallow, where)
        if problem:
            raise ValueError(
                f"{what}: pytree structures differ ({problem}); the other trees must have "
                f"the first one's structure {self} (or have it as a prefix).")
        for label, sub, c in zip(self._labels(), self.children, children):
            sub._up_to(c, out, f"{path}{label}", what)


def _kind_name(treedef):
    if treedef.kind == "leaf":
        return "a leaf (array or number)"
    if treedef.kind is None:
        return "None"
    return getattr(treedef.kind, "__name__", str(treedef.kind))


def leaf_paths(tree):
    """The path of each leaf of ``tree``, as ``"['a'][0]"`` strings, in flattening order.

    Namedtuple and dataclass fields are written ``.name`` (see :func:`keystr`).

    Example:
        >>> from fgrad.tree import leaf_paths
        >>> leaf_paths({"b": (1, 2), "a": 3})
        ["['a']", "['b'][0]", "['b'][1]"]
    """
    return [keystr(p) for p, _ in tree_flatten_with_path(tree)[0]]


_LEAF = PyTreeDef("leaf", None, ())


def registration_advice(x):
    """What to tell a user whose object ``x`` was found as a leaf where arrays are
    needed: how to register its class ("" for builtins and numpy's types).

    Example:
        >>> from fgrad.tree import registration_advice
        >>> class Model: pass
        >>> "register_dataclass" in registration_advice(Model()), registration_advice("text")
        (True, '')
    """
    t = type(x)
    module = getattr(t, "__module__", None) or ""
    if module == "builtins" or module.split(".")[0] == "numpy" or isinstance(
            x, (np.ndarray, np.generic, type)):
        return ""
    name = t.__qualname__
    return (
        f" {name} is not a registered pytree node, so fgrad takes it whole, as one leaf. "
        f"If it holds arrays, register the class: decorate it with "
        "@fgrad.tree_util.register_dataclass (a dataclass; mark static fields with "
        "dataclasses.field(metadata={'static': True})) or with "
        "@fgrad.tree_util.register_pytree_node_class (it defines tree_flatten and the "
        f"classmethod tree_unflatten), or call fgrad.tree_util.register_pytree_node({name}, "
        "flatten, unflatten)."
    )


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


def _flatten_is_leaf(x, leaves, is_leaf):
    if is_leaf(x) or type(x) in _LEAF_TYPES:
        leaves.append(x)
        return _LEAF
    info = _children(x)
    if info is None:
        leaves.append(x)
        return _LEAF
    children, aux, kind = info
    return PyTreeDef(kind, aux, tuple([_flatten_is_leaf(c, leaves, is_leaf) for c in children]))


def _build(treedef, it):
    kind = treedef.kind
    if kind == "leaf":
        return next(it)
    if kind is None:
        return None
    children = [_build(c, it) for c in treedef.children]
    if kind is tuple or kind is list:
        return kind(children)
    if kind is dict or kind is OrderedDict:
        return kind(zip(treedef.aux, children))
    if kind is defaultdict:
        return defaultdict(treedef.aux[0], zip(treedef.aux[1], children))
    if kind in _REGISTRY:
        return _REGISTRY[kind][1](treedef.aux, children)
    return kind(*children)  # namedtuple


def tree_flatten(tree, is_leaf=None):
    """Split a pytree into its list of leaves and its structure.

    ``is_leaf(x) -> bool``, if given, is asked at every node first: where it
    says True, ``x`` is taken as a leaf whole, even a container or ``None``.

    Example:
        >>> from fgrad.tree import tree_flatten
        >>> leaves, treedef = tree_flatten({"b": (1, 2), "a": 3})
        >>> leaves
        [3, 1, 2]
        >>> tree_flatten({"b": (1, 2), "a": 3}, is_leaf=lambda x: isinstance(x, tuple))[0]
        [3, (1, 2)]
    """
    leaves = []
    if is_leaf is None:
        treedef = _flatten(tree, leaves)
    else:
        treedef = _flatten_is_leaf(tree, leaves, is_leaf)
    return leaves, treedef


def tree_unflatten(treedef, leaves):
    """Inverse of :func:`tree_flatten`.

    Example:
        >>> from fgrad.tree import tree_flatten, tree_unflatten
        >>> leaves, treedef = tree_flatten([1, (2, 3)])
        >>> tree_unflatten(treedef, [x * 10 for x in leaves])
        [10, (20, 30)]
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(
            f"tree_unflatten(treedef, leaves): treedef must be a PyTreeDef (from "
            f"tree_flatten or tree_structure), got {type(treedef).__name__}.")
    return treedef.unflatten(leaves)


def tree_leaves(tree, is_leaf=None):
    """The leaves of a pytree, in flattening order.

    Example:
        >>> from fgrad.tree import tree_leaves
        >>> tree_leaves([1, {"x": 2}, None])
        [1, 2]
    """
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None):
    """The :class:`PyTreeDef` of a pytree.

    Example:
        >>> from fgrad.tree import tree_structure
        >>> tree_structure((1, [2]))
        tuple(*, list(*))
    """
    return tree_flatten(tree, is_leaf)[1]


def tree_map(fn, tree, *rest, is_leaf=None):
    """Apply ``fn`` leaf by leaf over one or more pytrees.

    The other trees must have ``tree``'s structure, or have it as a prefix (then
    ``fn`` gets their whole subtrees where ``tree`` has a leaf).  ``is_leaf``
    is as in :func:`tree_flatten`, for ``tree``.

    Example:
        >>> from fgrad.tree import tree_map
        >>> tree_map(lambda a, b: a + b, {"w": 1, "b": 2}, {"w": 10, "b": 20})
        {'b': 22, 'w': 11}
        >>> tree_map(lambda a, b: (a, b), [1], [(2, 3)])
        [(1, (2, 3))]
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([fn(x) for x in leaves])
    others = [treedef.flatten_up_to(r, "tree_map") for r in rest]
    return treedef.unflatten([fn(*xs) for xs in zip(leaves, *others)])
