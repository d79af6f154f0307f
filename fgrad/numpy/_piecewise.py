"""Functions defined piece by piece: ``clip`` (the bound outside ``[a_min, a_max]``,
the value inside) and ``piecewise`` (a function or constant per condition).

Each calls numpy itself when no argument is traced; on tracers they select with
``where`` (and, for ``piecewise``, scatter each piece's results into place), so
every piece gets the derivative of the function that produced its values.
"""

import numpy as np

from ..core import any_tracer, refuse_out
from ..primitives.elementwise import _where, astype, greater, less, where
from ..primitives.reductions import _NO_VALUE
from ..primitives.shape import getitem, index_set
from ._arguments import _dtype, _plain, _shape, _traced

__all__ = ["clip", "piecewise"]


def clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE, max=_NO_VALUE,
         **kwargs):
    """Clip values to ``[a_min, a_max]`` (``numpy.clip``; also ``min=``/``max=``).

    The derivative is 1 inside the interval (boundaries included) and flows to
    the bound that is active outside it.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.clip(x, 0.0, 1.0).sum())(fnp.array([-1.0, 0.5, 2.0]))
        array([0., 1., 0.])
    """
    lo = a_min if a_min is not _NO_VALUE else min
    hi = a_max if a_max is not _NO_VALUE else max
    lo = None if lo is _NO_VALUE else lo
    hi = None if hi is _NO_VALUE else hi
    if not any_tracer(a, lo, hi):
        return np.clip(a, lo, hi, out=out, **kwargs)
    refuse_out(out, "clip")
    res = a
    if lo is not None:
        res = _where(less(res, lo), lo, res)
    if hi is not None:
        res = _where(greater(res, hi), hi, res)
    return res


class _PieceTraced(Exception):
    pass


def _untraced(func):
    if not callable(func):
        return func

    def piece(*a, **k):
        out = func(*a, **k)
        if _traced(out):
            raise _PieceTraced
        return out

    return piece


def piecewise(x, condlist, funclist, *args, **kw):
    """Evaluate a function piece by piece (``numpy.piecewise``).

    As in numpy, each function sees only the elements its condition selects (so a
    ``sqrt`` piece never meets the negative inputs of another piece, and no NaN
    leaks into the derivative); a constant fills its piece; one extra function is
    the value where no condition holds; later pieces win where conditions overlap.
    The conditions are plain boolean arrays (comparisons of traced values are);
    under ``vmap`` they must be the same in every example (the pieces' sizes are).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> x = fnp.array([-2.0, 1.0, 4.0])
        >>> fnp.piecewise(x, [x < 0, x >= 0], [0.0, fnp.sqrt])
        array([0., 1., 2.])
        >>> fgrad.grad(lambda x: fnp.piecewise(x, [x < 0], [lambda v: v ** 2, fnp.sqrt]).sum())(x)
        array([-4.  ,  0.5 ,  0.25])
    """
    if not _traced(x, *args, *kw.values()):
        try:  # numpy itself, unless a piece returns a tracer (a closure over one)
            return np.piecewise(x, condlist, [_untraced(f) for f in funclist], *args, **kw)
        except _PieceTraced:
            pass
    shape, dtype = _shape(x), _dtype(x)
    if np.isscalar(condlist) or (
        not isinstance(condlist[0], (list, np.ndarray)) and not _traced(condlist[0])
        and len(shape) != 0
    ):
        condlist = [condlist]
    conds = [np.broadcast_to(_plain(c, "piecewise", "condlist").astype(bool), shape)
             for c in condlist]
    if len(funclist) == len(conds) + 1:  # the "otherwise" piece
        conds.append(~np.any(conds, axis=0) if conds else np.ones(shape, bool))
    elif len(funclist) != len(conds):
        raise ValueError(
            f"piecewise: with {len(conds)} condition(s) there must be {len(conds)} or "
            f"{len(conds) + 1} functions (the last one for 'otherwise'), got {len(funclist)}"
        )
    y = np.zeros(shape, dtype)
    for cond, func in zip(conds, funclist):
        if not callable(func):
            y = where(cond, astype(func, dtype), y)
        elif cond.any():
            if not shape:  # a 0-d x: the piece gets x itself, as numpy's does
                y = where(cond, astype(func(x, *args, **kw), dtype), y)
            else:
                part = astype(func(getitem(x, cond), *args, **kw), dtype)
                y = index_set(y, part, idx=cond)
    return y
