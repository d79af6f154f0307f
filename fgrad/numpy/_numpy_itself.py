"""numpy's functions that fgrad.numpy offers unchanged, with fgrad's docstrings.

These take shapes, dtypes or array metadata, never values to differentiate:
``fnp.zeros`` *is* numpy's ``zeros`` in behaviour.  Each is a thin function that
calls numpy's with the same arguments, so that it can carry fgrad's docstring
(what it returns under a transform, and that it has no derivative) instead of
numpy's, which documents keywords in numpy's terms.  ``wraps_numpy`` names
numpy's function: fgrad.numpy._dispatch does not register these against numpy's
own (dispatching numpy's function to a function calling it would recurse), so a
traced value reaches them exactly as it reached numpy's function before.

Example:
    >>> import fgrad.numpy as fnp, numpy as np
    >>> fnp.zeros.wraps_numpy is np.zeros
    True
"""

import inspect

import numpy as np

__all__ = [
    "zeros", "ones", "empty", "arange", "eye", "identity",
    "shape", "ndim", "size", "result_type",
    "can_cast", "common_type", "isdtype", "issubdtype", "min_scalar_type", "mintypecode",
    "promote_types", "typename",
]

_CONSTANT = (
    "The result is a constant: no derivative flows into it, and its arguments are shapes, "
    "dtypes and numbers, not traced values."
)
_METADATA = (
    "It reads only the shape or dtype, which a traced value has like an array, so it "
    "works inside every transform; the answer is a constant (no derivative)."
)
_DTYPES = "It takes dtypes (or arrays for their dtype), never values: there is nothing to differentiate."

_DOCS = {
    "zeros": ("An array of zeros of a given shape and dtype (``numpy.zeros``).", _CONSTANT, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.zeros(3)
array([0., 0., 0.])
>>> fgrad.grad(lambda x: fnp.sum(fnp.zeros(3) + x))(2.0)  # zeros add nothing
np.float64(3.0)"""),
    "ones": ("An array of ones of a given shape and dtype (``numpy.ones``).", _CONSTANT, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.ones((2, 2), dtype=int)
array([[1, 1],
       [1, 1]])
>>> fgrad.grad(lambda x: fnp.sum(x * fnp.ones(4)))(2.0)  # x broadcast to 4 entries
np.float64(4.0)"""),
    "empty": ("An array of a given shape and dtype with unset entries (``numpy.empty``).",
              _CONSTANT + " Fill it before use; inside a transform build values with "
              "``fnp.zeros`` or ``fnp.where`` instead, since its entries are arbitrary.", """\
>>> import fgrad.numpy as fnp
>>> fnp.empty((2, 3)).shape
(2, 3)"""),
    "arange": ("Evenly spaced values ``start, start + step, ...`` below ``stop`` "
               "(``numpy.arange``).", _CONSTANT + " For points differentiable in their "
               "endpoints use ``fnp.linspace``.", """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.arange(4.0)
array([0., 1., 2., 3.])
>>> fgrad.grad(lambda x: fnp.sum(fnp.arange(4.0) * x))(1.0)  # 0 + 1 + 2 + 3
np.float64(6.0)"""),
    "eye": ("A 2-D array with ones on the ``k``-th diagonal and zeros elsewhere "
            "(``numpy.eye``).", _CONSTANT, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.eye(2, k=1)
array([[0., 1.],
       [0., 0.]])
>>> fgrad.grad(lambda x: fnp.trace(x * fnp.eye(3)))(2.0)
np.float64(3.0)"""),
    "identity": ("The ``n`` by ``n`` identity matrix (``numpy.identity``).", _CONSTANT, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.identity(2)
array([[1., 0.],
       [0., 1.]])
>>> fgrad.grad(lambda x: fnp.sum(x * fnp.identity(2)))(1.0)
np.float64(2.0)"""),
    "shape": ("The shape of an array, a number or a traced value (``numpy.shape``).",
              _METADATA, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.shape([[1, 2, 3]])
(1, 3)
>>> fgrad.grad(lambda x: fnp.sum(x) / fnp.shape(x)[0])(fnp.ones(4))  # the mean
array([0.25, 0.25, 0.25, 0.25])"""),
    "ndim": ("The number of dimensions of an array or a traced value (``numpy.ndim``).",
             _METADATA, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.ndim([[1.0, 2.0]])
2
>>> fgrad.grad(lambda x: fnp.ndim(x) * x)(1.5)  # a number has 0 dimensions
np.float64(0.0)"""),
    "size": ("The number of elements of an array or a traced value (``numpy.size``).",
             _METADATA, """\
>>> import fgrad, fgrad.numpy as fnp
>>> fnp.size(fnp.ones((2, 3)))
6
>>> fgrad.grad(lambda x: fnp.sum(x) / fnp.size(x))(fnp.ones(2))
array([0.5, 0.5])"""),
    "result_type": ("The dtype numpy's promotion gives to a combination of arrays and dtypes "
                    "(``numpy.result_type``).", _METADATA, """\
>>> import fgrad, fgrad.numpy as fnp, numpy as np
>>> fnp.result_type(np.float32, 1.0)
dtype('float32')
>>> fgrad.grad(lambda x: fnp.astype(x, fnp.result_type(x, np.float32)))(1.5)
np.float64(1.0)"""),
    "can_cast": ("Whether a dtype can be cast to another under a casting rule "
                 "(``numpy.can_cast``).", _DTYPES, """\
>>> import fgrad.numpy as fnp, numpy as np
>>> fnp.can_cast(np.float32, np.float64), fnp.can_cast(np.float64, np.int32)
(True, False)"""),
    "common_type": ("The inexact scalar type common to arrays (``numpy.common_type``).",
                    _METADATA, """\
>>> import fgrad.numpy as fnp, numpy as np
>>> fnp.common_type(np.ones(2, dtype=np.float32), np.arange(2))
<class 'numpy.float64'>"""),
    "isdtype": ("Whether a dtype is of a kind such as ``'real floating'`` "
                "(``numpy.isdtype``, the array API's).", _DTYPES, """\
>>> import fgrad.numpy as fnp, numpy as np
>>> fnp.isdtype(np.float32, "real floating"), fnp.isdtype(np.int8, "real floating")
(True, False)"""),
    "issubdtype": ("Whether a dtype is below another in numpy's type hierarchy "
                   "(``numpy.issubdtype``).", _DTYPES + " To test a traced value's dtype, "
                   "pass ``x.dtype``.", """\
>>> import fgrad, fgrad.numpy as fnp, numpy as np
>>> fnp.issubdtype(np.float32, np.floating)
True
>>> fgrad.grad(lambda x: x * fnp.issubdtype(x.dtype, np.floating))(2.0)
np.float64(1.0)"""),
    "min_scalar_type": ("The smallest dtype that holds a given number "
                        "(``numpy.min_scalar_type``).", _DTYPES + " A traced argument is "
                        "refused with a TypeError naming it.", """\
>>> import fgrad.numpy as fnp
>>> fnp.min_scalar_type(300)
dtype('uint16')"""),
    "mintypecode": ("The type character of the smallest safe dtype for given type characters "
                    "(``numpy.mintypecode``).", _DTYPES, """\
>>> import fgrad.numpy as fnp
>>> fnp.mintypecode("idF")
'D'"""),
    "promote_types": ("The smallest dtype both given dtypes can be cast to safely "
                      "(``numpy.promote_types``).", _DTYPES, """\
>>> import fgrad.numpy as fnp, numpy as np
>>> fnp.promote_types(np.float32, np.int16)
dtype('float32')"""),
    "typename": ("A description of a dtype's type character (``numpy.typename``).", _DTYPES,
                 """\
>>> import fgrad.numpy as fnp
>>> fnp.typename("d")
'double precision'"""),
}


def _itself(name):
    numpy_function = getattr(np, name)

    def fn(*args, **kwargs):
        return numpy_function(*args, **kwargs)

    summary, body, example = _DOCS[name]
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{summary}\n\n{body} Called with numpy's arguments, it returns "
                  f"numpy's result.\n\nExample:\n"
                  + "".join(f"    {line}\n" for line in example.splitlines()))
    try:
        fn.__signature__ = inspect.signature(numpy_function)
    except (TypeError, ValueError):  # a C function without a signature
        pass
    fn.wraps_numpy = numpy_function
    return fn


zeros, ones, empty = _itself("zeros"), _itself("ones"), _itself("empty")
arange, eye, identity = _itself("arange"), _itself("eye"), _itself("identity")
shape, ndim, size, result_type = (_itself("shape"), _itself("ndim"), _itself("size"),
                                  _itself("result_type"))
can_cast, common_type, isdtype = _itself("can_cast"), _itself("common_type"), _itself("isdtype")
issubdtype, min_scalar_type = _itself("issubdtype"), _itself("min_scalar_type")
mintypecode, promote_types, typename = (_itself("mintypecode"), _itself("promote_types"),
                                        _itself("typename"))
