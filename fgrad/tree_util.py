"""Pytrees with JAX's names: ``fgrad.tree_util`` is ``jax.tree_util`` for fgrad.

Everything in :mod:`fgrad.tree` (the engine's pytree module) is here too, with
the registration helpers, :class:`Partial` and the tree utilities JAX code
reaches for, so code written against ``jax.tree_util`` runs with
``import fgrad.tree_util as tree_util``.

A pytree is a nest of containers (tuples, lists, dicts, ``OrderedDict``,
``defaultdict``, namedtuples, ``None`` as an empty node, registered classes)
whose leaves are everything else.  The transforms (``grad``, ``vjp``, ``jvp``,
``vmap``, ``jacfwd``/``jacrev``, ``custom_vjp`` ...) take and return pytrees;
a class instance that is not registered is a leaf here, and a transform refuses
it with a TypeError that says how to register it.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> from dataclasses import dataclass
    >>> @fgrad.tree_util.register_dataclass
    ... @dataclass
    ... class Linear:
    ...     w: object
    ...     b: object
    >>> g = fgrad.grad(lambda p, x: fnp.sum(p.w * x + p.b))(Linear(fnp.ones(2), 0.5), fnp.arange(2.0))
    >>> g
    Linear(w=array([0., 1.]), b=np.float64(2.0))
"""

from __future__ import annotations

import dataclasses
import functools

from .tree import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    keystr,
    register_pytree_node,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_structure,
    tree_unflatten,
)

__all__ = [
    "PyTreeDef", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure",
    "tree_map", "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path",
    "keystr", "SequenceKey", "DictKey", "GetAttrKey", "FlattenedIndexKey",
    "register_pytree_node", "register_pytree_node_class", "register_pytree_with_keys",
    "register_pytree_with_keys_class", "register_dataclass", "tree_transpose",
    "tree_reduce", "tree_all", "treedef_is_leaf", "all_leaves", "Partial",
]

_MISSING = object()


def register_pytree_node_class(cls):
    """Register a class by its own methods; usable as a class decorator.

    The class defines ``tree_flatten(self) -> (children, aux_data)`` and the
    classmethod ``tree_unflatten(cls, aux_data, children)``.  Returns ``cls``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> @fgrad.tree_util.register_pytree_node_class
        ... class Scaled:
        ...     def __init__(self, x, scale):
        ...         self.x, self.scale = x, scale    # scale: static, not differentiated
        ...     def tree_flatten(self):
        ...         return (self.x,), self.scale
        ...     @classmethod
        ...     def tree_unflatten(cls, scale, children):
        ...         return cls(children[0], scale)
        >>> g = fgrad.grad(lambda s: fnp.sum(s.scale * s.x ** 2))(Scaled(fnp.ones(2), 3.0))
        >>> g.x, g.scale
        (array([6., 6.]), 3.0)
    """
    _need_methods(cls, ("tree_flatten", "tree_unflatten"), "register_pytree_node_class")
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys(nodetype, flatten_with_keys, unflatten_func, flatten_func=None):
    """Register a container whose flatten function names its children.

    ``flatten_with_keys(obj) -> (((key, child), ...), aux_data)``; the keys
    appear in key paths (:func:`tree_flatten_with_path`, :func:`keystr`).
    ``flatten_func`` (children without keys), if given, is the faster path used
    when no keys are asked for.

    Example:
        >>> from fgrad import tree_util
        >>> class Named:
        ...     def __init__(self, **parts): self.parts = parts
        >>> tree_util.register_pytree_with_keys(
        ...     Named,
        ...     lambda n: ([(tree_util.DictKey(k), n.parts[k]) for k in sorted(n.parts)],
        ...                tuple(sorted(n.parts))),
        ...     lambda keys, children: Named(**dict(zip(keys, children))))
        >>> [tree_util.keystr(p) for p, _ in tree_util.tree_leaves_with_path(Named(a=1.0, b=2.0))]
        ["['a']", "['b']"]
    """
    if not callable(flatten_with_keys):
        raise TypeError("register_pytree_with_keys: flatten_with_keys must be a function "
                        "obj -> (((key, child), ...), aux_data).")
    if flatten_func is None:
        def flatten_func(x):
            pairs, aux = flatten_with_keys(x)
            return [c for _, c in pairs], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_with_keys_class(cls):
    """Class decorator like :func:`register_pytree_node_class`, for a class that
    defines ``tree_flatten_with_keys(self) -> (((key, child), ...), aux_data)``
    and the classmethod ``tree_unflatten`` (``tree_flatten`` optional).

    Example:
        >>> from fgrad import tree_util
        >>> @tree_util.register_pytree_with_keys_class
        ... class Pair:
        ...     def __init__(self, a, b): self.a, self.b = a, b
        ...     def tree_flatten_with_keys(self):
        ...         return ((tree_util.GetAttrKey("a"), self.a),
        ...                 (tree_util.GetAttrKey("b"), self.b)), None
        ...     @classmethod
        ...     def tree_unflatten(cls, aux, children): return cls(*children)
        >>> tree_util.tree_leaves_with_path(Pair(1.0, 2.0))[1]
        ((GetAttrKey(name='b'),), 2.0)
    """
    _need_methods(cls, ("tree_flatten_with_keys", "tree_unflatten"),
                  "register_pytree_with_keys_class")
    flat = (lambda x: x.tree_flatten()) if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten,
                              flat)
    return cls


def _need_methods(cls, names, what):
    if not isinstance(cls, type):
        raise TypeError(f"{what} expects a class, got {cls!r}.")
    missing = [n for n in names if not callable(getattr(cls, n, None))]
    if missing:
        raise TypeError(
            f"{what}: {cls.__qualname__} must define {' and '.join(names)} "
            f"(missing: {', '.join(missing)}); see the docstring's example.")


def register_dataclass(nodetype=None, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass (or any class built from keyword arguments) as a pytree node.

    ``data_fields`` are children (arrays, subtrees); ``meta_fields`` are static
    (hashable, compared for structure equality, never differentiated).  For a
    dataclass both may be left out: a field is static when declared with
    ``dataclasses.field(metadata={"static": True})``, data otherwise; fields
    with ``init=False`` are left out (``__init__`` recomputes them).  Given
    explicitly, the two lists together must name every ``__init__`` field of a
    dataclass except ``drop_fields``.  Rebuilding calls
    ``nodetype(**fields)``.  Returns ``nodetype``, so it also works as a
    decorator (put it above ``@dataclass``).

    Example:
        >>> import dataclasses, fgrad, fgrad.numpy as fnp
        >>> @fgrad.tree_util.register_dataclass
        ... @dataclasses.dataclass
        ... class Layer:
        ...     w: object
        ...     act: str = dataclasses.field(default="tanh", metadata={"static": True})
        >>> fgrad.tree_util.tree_leaves(Layer(fnp.ones(2)))
        [array([1., 1.])]
        >>> fgrad.grad(lambda l: fnp.sum(getattr(fnp, l.act)(l.w)))(Layer(fnp.zeros(2)))
        Layer(w=array([1., 1.]), act='tanh')
    """
    if nodetype is None:  # register_dataclass(data_fields=..., meta_fields=...)(cls)
        return functools.partial(register_dataclass, data_fields=data_fields,
                                 meta_fields=meta_fields, drop_fields=drop_fields)
    if not isinstance(nodetype, type):
        raise TypeError(f"register_dataclass expects a class, got {nodetype!r}.")
    is_dc = dataclasses.is_dataclass(nodetype)
    if (data_fields is None) != (meta_fields is None):
        raise TypeError(
            "register_dataclass: give both data_fields and meta_fields, or neither (for a "
            f"dataclass, to read them from the fields); got data_fields={data_fields!r}, "
            f"meta_fields={meta_fields!r}.")
    if data_fields is None:
        if not is_dc:
            raise TypeError(
                f"register_dataclass: {nodetype.__qualname__} is not a dataclass, so "
                "data_fields and meta_fields must be given (or decorate the class with "
                "@dataclasses.dataclass first, below @register_dataclass).")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
    for what, names in (("data_fields", data_fields), ("meta_fields", meta_fields)):
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"register_dataclass: {what} must be a sequence of field "
                            f"names (str), got {names!r}.")
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if is_dc:
        init = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        given = set(data_fields) | set(meta_fields)
        if given != init or len(given) != len(data_fields) + len(meta_fields):
            raise ValueError(
                f"register_dataclass: data_fields and meta_fields of {nodetype.__qualname__} "
                f"must name each __init__ field once (except drop_fields): missing "
                f"{sorted(init - given)}, not fields {sorted(given - init)}.")

    def flatten(x):
        return ([getattr(x, n) for n in data_fields],
                tuple(getattr(x, n) for n in meta_fields))

    def flatten_with_keys(x):
        return ([(GetAttrKey(n), getattr(x, n)) for n in data_fields],
                tuple(getattr(x, n) for n in meta_fields))

    def unflatten(meta, children):
        return nodetype(**dict(zip(data_fields, children)), **dict(zip(meta_fields, meta)))

    register_pytree_node(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


def tree_transpose(outer_treedef, inner_treedef, pytree_to_transpose):
    """Turn a tree of trees inside out: an outer structure of inner structures
    becomes an inner structure of outer structures.

    ``inner_treedef`` may be ``None``: it is then read from the first inner tree.

    Example:
        >>> from fgrad.tree_util import tree_structure, tree_transpose
        >>> per_step = [{"loss": 1.0, "acc": 0.5}, {"loss": 0.8, "acc": 0.6}]
        >>> tree_transpose(tree_structure([0, 0]), tree_structure({"loss": 0, "acc": 0}),
        ...                per_step)
        {'acc': [0.5, 0.6], 'loss': [1.0, 0.8]}
    """
    for name, t in (("outer_treedef", outer_treedef), ("inner_treedef", inner_treedef)):
        if not (isinstance(t, PyTreeDef) or (t is None and name == "inner_treedef")):
            raise TypeError(f"tree_transpose: {name} must be a PyTreeDef (from "
                            f"tree_structure), got {type(t).__name__}.")
    inners = outer_treedef.flatten_up_to(pytree_to_transpose, "tree_transpose")
    if inner_treedef is None:
        if not inners:
            raise ValueError("tree_transpose: inner_treedef=None needs at least one inner "
                             "tree to read the structure from; pass inner_treedef.")
        inner_treedef = tree_structure(inners[0])
    columns = [inner_treedef.flatten_up_to(t, "tree_transpose") for t in inners]
    per_inner = [outer_treedef.unflatten([col[k] for col in columns])
                 for k in range(inner_treedef.num_leaves)]
    return inner_treedef.unflatten(per_inner)


def tree_reduce(function, tree, initializer=_MISSING, is_leaf=None):
    """Fold ``function(accumulated, leaf)`` over the leaves, as ``functools.reduce``.

    Example:
        >>> from fgrad.tree_util import tree_reduce
        >>> tree_reduce(lambda a, b: a + b, {"a": 1, "b": [2, 3]})
        6
        >>> tree_reduce(max, [], initializer=0)
        0
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _MISSING:
        if not leaves:
            raise TypeError("tree_reduce of a tree with no leaves needs an initializer.")
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree, *, is_leaf=None):
    """True when every leaf is truthy (``all`` over the leaves).

    Example:
        >>> from fgrad.tree_util import tree_all
        >>> tree_all({"a": True, "b": (1, 2)}), tree_all([True, 0])
        (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


def treedef_is_leaf(treedef):
    """True for the structure of a single node without children: a leaf (and, as in
    JAX, ``None`` and empty containers).

    Example:
        >>> from fgrad.tree_util import tree_structure, treedef_is_leaf
        >>> treedef_is_leaf(tree_structure(1.0)), treedef_is_leaf(tree_structure([1.0]))
        (True, False)
    """
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(f"treedef_is_leaf expects a PyTreeDef, got {type(treedef).__name__}.")
    return treedef.num_nodes == 1


def all_leaves(iterable, is_leaf=None):
    """True when every element of ``iterable`` is a leaf (no container, no ``None``).

    Example:
        >>> import numpy as np
        >>> from fgrad.tree_util import all_leaves
        >>> all_leaves([np.ones(2), 3.0]), all_leaves([np.ones(2), (3.0,)])
        (True, False)
    """
    return all(tree_structure(x, is_leaf).kind == "leaf" for x in iterable)


class Partial(functools.partial):
    """``functools.partial`` as a pytree: the bound arguments are its children
    (leaves that transforms differentiate and map over), the function is static.

    So a function with parameters bound to it can be passed into and returned
    from transforms.  Two ``Partial`` of the same function have the same
    structure when their bound arguments do.  A ``functools.partial`` (or a
    ``Partial``) given as the function is kept whole, as JAX does: its own bound
    arguments are static, not leaves.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.tree_util import Partial
        >>> def model(w, x):
        ...     return fnp.sum(w * x)
        >>> f = Partial(model, fnp.array([1.0, 2.0]))
        >>> f(fnp.ones(2))
        np.float64(3.0)
        >>> g = fgrad.grad(lambda f, x: f(x))(f, fnp.array([3.0, 4.0]))
        >>> g.func is model, g.args
        (True, (array([3., 4.]),))
    """

    def __new__(cls, func, *args, **kw):
        if isinstance(func, functools.partial):
            # functools.partial would merge a partial's bound arguments into this one;
            # keep it whole (and static, with its arguments), as JAX does
            func = _WholePartial(func)
        return super().__new__(cls, func, *args, **kw)


class _WholePartial:
    """A ``functools.partial`` kept whole as the function of a :class:`Partial`;
    equal to another when both hold the same partial object."""

    __slots__ = ("partial",)

    def __init__(self, partial):
        self.partial = partial

    def __call__(self, *args, **kw):
        return self.partial(*args, **kw)

    def __eq__(self, other):
        return isinstance(other, _WholePartial) and other.partial is self.partial

    def __hash__(self):
        return id(self.partial)

    def __repr__(self):
        return repr(self.partial)


def _partial_flatten(p):
    return (p.args, p.keywords), p.func


def _partial_unflatten(func, children):
    args, keywords = children
    return Partial(func, *args, **keywords)


register_pytree_node(Partial, _partial_flatten, _partial_unflatten)

