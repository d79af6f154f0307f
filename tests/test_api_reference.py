"""The API reference is complete, and what it promises holds.

* Every public name of fgrad, fgrad.numpy (with linalg and fft) and fgrad.scipy.*
  has fgrad's own docstring (not numpy's or scipy's) with a ``>>>`` example, and
  every one of those examples runs here with doctest (the docstrings of functions
  defined in fgrad.core or built by a factory are not all reached by
  ``--doctest-modules``).
* Every table of the API page has rows: the selection is the one docs/conf.py uses.
* Every transform documents each of its parameters under ``Args:``.
* numpy's keywords that a row cannot honour on traced values (``dtype=``,
  ``casting=`` ... of a ufunc) are refused with a TypeError naming the function,
  the keyword and what to do, never an internal message.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

X = np.array([0.3, 0.6, 0.9])


def _ufunc_rows():
    rows = {}
    for name in dir(fnp):
        fn = getattr(fnp, name)
        prim = getattr(fn, "primitive", None)
        if prim is not None and isinstance(prim.impl, np.ufunc) and not prim.nondiff:
            rows.setdefault(prim.name, fn)
    return sorted(rows.items())


UFUNC_KEYWORDS = {"dtype": np.float32, "casting": "unsafe", "order": "F", "subok": False,
                  "signature": "d->d", "nonsense": 1}


@pytest.mark.parametrize("keyword", sorted(UFUNC_KEYWORDS))
def test_ufunc_keywords_on_traced_values_are_a_clear_error(keyword):
    value = UFUNC_KEYWORDS[keyword]
    checked = 0
    for name, fn in _ufunc_rows():
        args = (X,) * fn.primitive.impl.nin
        with pytest.raises(TypeError) as info:
            fgrad.grad(lambda x, fn=fn: fnp.sum(fn(x, *args[1:], **{keyword: value})))(X)
        message = str(info.value)
        assert f"fgrad.numpy.{name}" in message and f"{keyword}=" in message, (name, message)
        assert "rule" not in message and "reads=" not in message, (name, message)
        checked += 1
    assert checked > 40


def test_nondifferentiable_ufunc_rows_keep_numpy_keywords_on_traced_values():
    def f(x):
        return fnp.sum(x * fnp.floor(3 * x, dtype=np.float32))

    assert np.allclose(fgrad.grad(f)(X), np.floor(3 * X))


def test_ufunc_keywords_keep_working_on_plain_values_and_at_their_defaults():
    assert fnp.sin(X, dtype=np.float32).dtype == np.float32
    assert np.array_equal(fnp.add(X, X, casting="unsafe", dtype=np.float32),
                          np.add(X, X, casting="unsafe", dtype=np.float32))
    grad = fgrad.grad(lambda x: fnp.sum(fnp.sin(x, dtype=None, casting="same_kind", order="K",
                                                 subok=True, out=None, where=True)))(X)
    assert np.allclose(grad, np.cos(X))
