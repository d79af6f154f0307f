"""numpy array subclasses fgrad refuses: masked arrays and ``np.matrix``.

Both change what numpy operations mean (a masked array's reductions skip its
masked entries; ``*`` on ``np.matrix`` is the matrix product), while traced
values follow plain ``ndarray`` semantics and derivative rules know nothing of
masks.  Accepting them would give values that follow the subclass and
derivatives that do not, so they are refused by type wherever they enter a
transform: as an input, or as a constant meeting a traced value.
"""

import numpy as np

__all__ = ["REFUSED", "check_value", "check_values"]

#: The refused types (and their subclasses).
REFUSED = (np.ma.MaskedArray, np.matrix)

_ndarray = np.ndarray


def _message(x, where):
    if isinstance(x, np.ma.MaskedArray):
        return (
            f"{where}: got a numpy masked array (np.ma.MaskedArray), which fgrad does not "
            "support: numpy's values follow the mask but derivatives would not, so the "
            "result would be silently wrong. Pass plain arrays instead: the data and the "
            "mask separately (np.ma.getdata(x), np.ma.getmaskarray(x)), selecting with "
            "fnp.where(mask, 0.0, x) or weighting by ~mask (e.g. fnp.sum(w * x) / fnp.sum(w) "
            "for a masked mean), or x.filled(value) for a fixed fill value."
        )
    return (
        f"{where}: got an np.matrix, which fgrad does not support: for np.matrix `*` and "
        "`**` are matrix products and reductions keep two dimensions, while traced values "
        "follow ndarray semantics, so the result would silently differ from the plain "
        "call. Convert with np.asarray(m) and write matrix products with `@` "
        "(or fnp.matmul)."
    )


def check_value(x, where):
    """Raise a TypeError naming the type and the fix when ``x`` is a masked array or
    an ``np.matrix``; ``where`` names the transform or function.

    Example:
        >>> import numpy as np
        >>> from fgrad.numpy._subclasses import check_value
        >>> check_value(np.ones(2), "grad")  # plain arrays pass
        >>> check_value(np.matrix([[1.0]]), "grad")
        Traceback (most recent call last):
        ...
        TypeError: grad: got an np.matrix, which fgrad does not support: ...
    """
    if type(x) is not _ndarray and isinstance(x, REFUSED):
        raise TypeError(_message(x, where))


def check_values(values, where):
    """:func:`check_value` on each of ``values`` and on the entries of lists and
    tuples among them (``np.concatenate([x, m])``).

    Example:
        >>> import numpy as np
        >>> from fgrad.numpy._subclasses import check_values
        >>> check_values([1.0, [np.ones(2)]], "vmap")
    """
    for v in values:
        t = type(v)
        if t is _ndarray or t is float:
            continue
        if t is list or t is tuple:
            for item in v:
                if type(item) is not _ndarray and isinstance(item, REFUSED):
                    raise TypeError(_message(item, where))
        elif isinstance(v, REFUSED):
            raise TypeError(_message(v, where))
