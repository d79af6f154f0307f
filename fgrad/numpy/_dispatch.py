"""Fill core's dispatch tables from fgrad.numpy, so tracers behave like numpy arrays.

:class:`fgrad.core.Tracer` declares its operators, array methods and the NEP 13/18
protocols (``__array_ufunc__``, ``__array_function__``); the methods and protocols
look public functions up in core's tables, which :func:`install` fills here when
fgrad.numpy loads.  A numpy function that fgrad has no rule for raises a
TypeError naming it: a tracer is never silently turned into a constant.
"""

import numpy as np

from ..core import (
    FUNCTIONS,
    NUMPY_ACCUMULATORS,
    NUMPY_FUNCTIONS,
    NUMPY_REDUCERS,
    NUMPY_UFUNCS,
    concrete,
)
from ._arguments import array_likes

# Public functions that take no array-like (or only tracers and indices): not wrapped
# by array_likes, so indexing and metadata keep their cost.
_NOT_ARRAY_LIKES = frozenset({"getitem", "at", "array", "asarray", "asanyarray"})


def _wrap_array_likes(module, names, prefix, numpy_module):
    """Put :func:`array_likes` around each composite among ``names`` of ``module``
    (rows' functions retry by themselves), with ``numpy_module``'s function of the
    same name for the keywords numpy takes."""
    for name in names:
        fn = getattr(module, name, None)
        if (not callable(fn) or isinstance(fn, type) or name in _NOT_ARRAY_LIKES
                or hasattr(fn, "primitive") or getattr(fn, "array_likes", False)
                or hasattr(fn, "wraps_numpy")
                or not getattr(fn, "__module__", "").startswith("fgrad")):
            continue
        theirs = getattr(numpy_module, name, None)
        setattr(module, name, array_likes(fn, f"{prefix}.{name}",
                                          theirs if callable(theirs) else None))


def _metadata(np_fn):
    def fn(*args, **kwargs):
        return np_fn(*(concrete(a) for a in args), **kwargs)

    return fn


def install(fnp):
    """Register fgrad.numpy's functions: by name for tracers' methods, and against
    numpy's functions for ``__array_ufunc__``/``__array_function__``.  Composites
    are wrapped first, so that every way in takes lists holding tracers."""
    _wrap_array_likes(fnp, [n for n in dir(fnp) if not n.startswith("_")], "fgrad.numpy", np)
    for sub in ("linalg", "fft"):
        mod = getattr(fnp, sub)
        _wrap_array_likes(mod, getattr(mod, "__all__", ()), f"fgrad.numpy.{sub}",
                          getattr(np, sub))
    for name in dir(fnp):
        if name.startswith("_"):
            continue
        ours, theirs = getattr(fnp, name), getattr(np, name, None)
        if not callable(ours) or isinstance(ours, type):
            continue
        FUNCTIONS[name] = ours
        if (theirs is None or theirs is ours or isinstance(theirs, type)
                or getattr(ours, "wraps_numpy", None) is theirs):
            continue  # (numpy's own function re-exported: dispatching it to itself would recurse)
        if isinstance(theirs, np.ufunc):
            NUMPY_UFUNCS[theirs] = ours
        elif callable(theirs):
            NUMPY_FUNCTIONS[theirs] = ours
    for sub in ("linalg", "fft"):
        ours_mod, theirs_mod = getattr(fnp, sub), getattr(np, sub)
        for name in getattr(ours_mod, "__all__", ()):
            theirs = getattr(theirs_mod, name, None)
            if theirs is not None:
                NUMPY_FUNCTIONS[theirs] = getattr(ours_mod, name)
    for name in ("shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "can_cast",
                 "common_type"):
        NUMPY_FUNCTIONS[getattr(np, name)] = _metadata(getattr(np, name))
    NUMPY_FUNCTIONS[np.amax] = fnp.amax
    NUMPY_FUNCTIONS[np.amin] = fnp.amin
    NUMPY_REDUCERS.update({np.add: fnp.sum, np.multiply: fnp.prod, np.maximum: fnp.amax,
                           np.minimum: fnp.amin})
    NUMPY_ACCUMULATORS.update({np.add: fnp.cumsum, np.multiply: fnp.cumprod})
