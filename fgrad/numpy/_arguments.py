"""How fgrad.numpy's functions read their arguments.

Every function first asks whether an argument is traced (then it records fgrad
operations; otherwise it calls numpy itself), reads the shape and dtype of
values that may be tracers, takes the plain value of arguments that decide the
layout of the result, and refuses ``out=``.  Lists and tuples holding tracers,
wherever numpy takes an array-like, are made traced arrays by :func:`array_likes`,
which wraps every public function once when fgrad.numpy loads.
"""

import functools
import inspect
import re
import textwrap

import numpy as np

from ..core import (
    BatchedValueError,
    Tracer,
    TracerConversionError,
    concrete,
    dtype_of,
    keyword_refusal,
    ndim_of,
    shape_of,
    with_arrays,
)
from ..primitives.reductions import _NO_VALUE


def _contains_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tracer(o) for o in obj)
    return False


def _traced(*xs):
    """True if any argument is, or (as a list/tuple) holds, a tracer."""
    return any(_contains_tracer(x) for x in xs)


# shape, rank and dtype of values that may be tracers: core's readers
_shape, _ndim, _dtype = shape_of, ndim_of, dtype_of


def _plain(x, name, what):
    """The concrete numpy value of an argument that only steers the layout.

    Under ``vmap`` it must be the same in every example; otherwise the error
    says which argument of which function was the problem.
    """
    try:
        return np.asarray(concrete(x))
    except BatchedValueError:
        raise BatchedValueError(
            f"fgrad.numpy.{name}: `{what}` is batched by fgrad.vmap and differs between the "
            "examples, but it decides the layout (shape) of the result, which must be the "
            "same for every example. Pass it unbatched (in_axes=None), or loop over the "
            "examples in Python."
        ) from None


def _kw(**kwargs):
    return {k: v for k, v in kwargs.items() if v is not _NO_VALUE}


def array_likes(fn, where, theirs=None):
    """``fn`` taking lists and tuples that hold tracers as traced arrays, and
    refusing numpy's ``out=``/``where=`` clearly where ``fn`` does not support them.

    numpy takes a (nested) sequence wherever it documents an array-like, and
    makes it an array itself; with a tracer inside, that conversion raises
    :class:`fgrad.core.TracerConversionError`.  The wrapper catches it and calls
    ``fn`` again with each such sequence made one traced array (as ``fnp.array``
    makes it): the usual call pays only for the ``try``.  Functions that take
    sequences of arrays themselves (``concatenate``, ``stack``, ``einsum``) keep
    doing so; only a call that fails is retried.

    ``theirs``, numpy's function of the same name, says which of ``out=`` and
    ``where=`` numpy takes: ``out=`` is refused on traced values (and always when
    ``fn`` has no such parameter), ``where=`` unless ``fn`` names it (the
    reductions, which differentiate it).  Their defaults (``None``, ``True``) pass.

    Example:
        >>> import fgrad, numpy as np
        >>> from fgrad.numpy._arguments import array_likes
        >>> mean = array_likes(np.mean, "mean")  # np.mean([x, 3 * x]) alone would raise
        >>> fgrad.grad(lambda x: mean([x, 3.0 * x]))(1.0)
        np.float64(2.0)
    """
    checks = _keyword_checks(fn, theirs)

    @functools.wraps(fn)
    def call(x=_ABSENT, /, *args, **kwargs):
        if x is not _ABSENT and not args and not kwargs:  # fnp.sum(x): no packing
            try:
                return fn(x)
            except TracerConversionError as err:
                return with_arrays(fn, (x,), {}, err, where)
        if x is not _ABSENT:
            args = (x,) + args
        if kwargs and checks:
            for keyword, always in checks:
                value = kwargs.get(keyword, _ABSENT)
                if value is _ABSENT or value is None or value is True:
                    continue
                if always or _traced(*args, *kwargs.values()):
                    raise keyword_refusal(where, keyword, traced=not always)
        try:
            return fn(*args, **kwargs)
        except TracerConversionError as err:
            return with_arrays(fn, args, kwargs, err, where)

    call.array_likes = True
    call.__doc__ = _with_keyword_note(call.__doc__, checks, fn, theirs)
    return call


def _with_keyword_note(doc, checks, fn, theirs):
    """``doc`` with a paragraph, before its example, saying what happens to numpy's
    ``out=``/``where=`` (from the same checks the wrapper makes)."""
    if not doc or theirs is None or "Keywords:" in doc:
        return doc
    refused = dict(checks)
    try:
        own = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        own = set()
    numpy_keywords = ({"out", "where"} if isinstance(theirs, np.ufunc)
                      else _parameter_names(theirs) & {"out", "where"})
    notes = []
    if "out" in numpy_keywords:
        notes.append("numpy's ``out=`` is not supported: use the returned value"
                     if refused.get("out") else
                     "``out=`` is refused on traced values (use the returned value); on plain "
                     "arrays numpy's works")
    if "where" in numpy_keywords:
        if "where" not in refused and "where" in own:
            notes.append("``where=`` is supported, with derivatives")
        elif refused.get("where"):
            notes.append("numpy's ``where=`` is not supported: select with ``fnp.where``")
        else:
            notes.append("``where=`` is refused on traced values (select with ``fnp.where``)")
    if not notes:
        return doc
    text = "Keywords: " + "; ".join(notes) + ". A refusal is a TypeError naming the fix."
    match = re.search(r"\n([ \t]*)Example:", doc)
    indent = match.group(1) if match else "    "
    para = textwrap.fill(text, 88, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)
    if match is None:
        return doc.rstrip() + "\n\n" + para + "\n"
    return doc[:match.start() + 1] + para + "\n\n" + doc[match.start() + 1:]


_ABSENT = object()


def _parameter_names(theirs):
    """The parameter names of numpy's function: from its signature, or for a C
    function without one (``np.dot`` on numpy 2.2) from its docstring's first line,
    ``dot(a, b, out=None)``."""
    try:
        return set(inspect.signature(theirs).parameters)
    except (TypeError, ValueError):
        first = (getattr(theirs, "__doc__", None) or "").strip().splitlines()
        match = re.match(r"^[\w.]+\((.*)\)\s*$", first[0]) if first else None
        if match is None:
            return set()
        return {p.strip().split("=")[0].lstrip("*") for p in match.group(1).split(",")}


def _keyword_checks(fn, theirs):
    """``((keyword, always), ...)``: numpy's ``out``/``where`` that ``fn`` refuses, on
    traced values (``always=False``) or always (``fn`` has no such parameter)."""
    if theirs is None:
        return ()
    if isinstance(theirs, np.ufunc):
        numpy_keywords = {"out", "where"}
    else:
        numpy_keywords = _parameter_names(theirs) & {"out", "where"}
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    open_ended = any(p.kind == p.VAR_KEYWORD for p in params.values())
    checks = []
    for keyword in sorted(numpy_keywords):
        if keyword not in params and not open_ended:
            checks.append((keyword, True))  # fn has no such parameter at all
        elif keyword == "out" or keyword not in params:
            checks.append((keyword, False))  # fn passes it to numpy on plain values only
    return tuple(checks)
