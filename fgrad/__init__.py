"""fgrad: functional automatic differentiation for Python on numpy.

Plain Python functions are traced with tracer objects; composable transforms
turn them into their derivatives.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> fgrad.grad(lambda x: 2 * fnp.dot(x, x))(fnp.arange(4.0))
    array([ 0.,  4.,  8., 12.])
"""

from . import (
    flatten_util,  # noqa: F401
    lax,  # noqa: F401  (structured control flow; loads nothing new)
    numpy,  # noqa: F401  (fills the tables of tracers' methods)
    optimizers,  # noqa: F401
    tree,  # noqa: F401
    tree_util,  # noqa: F401
)
from .api import (  # noqa: F401
    grad,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .batching import vmap  # noqa: F401
from .core import PRIMITIVES as _PRIMITIVES
from .core import LeakedTracerError, defprim  # noqa: F401
from .custom import custom_jvp, custom_vjp  # noqa: F401
from .debugging import debug_nans  # noqa: F401
from .implicit import custom_root  # noqa: F401
from .jit import ShapeDtypeStruct, eval_shape, jit, make_program  # noqa: F401
from .linear_maps import hvp, linear_transpose, linearize  # noqa: F401
from .primitives import sparse as _sparse  # noqa: F401  (scipy.sparse operands; imports no scipy)
from .remat import checkpoint  # noqa: F401
from .testing import check_grads  # noqa: F401

__version__ = "0.1.0"


# Optional parts load when first used (PEP 562), so `import fgrad` stays about as
# fast as `import numpy`: fgrad.scipy, fgrad.graph (make_graph), and the rows of
# fgrad/primitives/special.py and scipy_linalg.py, which join the rule table as
# soon as anything asks for a row it lacks or reads the whole table.


def _load_scipy_rows():
    from .primitives import scipy_linalg, signal, special  # noqa: F401  (lazy: scipy-backed rows)


_PRIMITIVES.defer(_load_scipy_rows)


def __getattr__(name):
    if name == "make_graph":
        from .graph import make_graph  # lazy: graph loads html/subprocess/inspect

        return make_graph
    if name == "scipy":
        import fgrad.scipy as namespace  # lazy: fgrad.scipy and its rows

        return namespace
    raise AttributeError(f"module 'fgrad' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"make_graph", "scipy"})

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian",
    "stop_gradient", "check_grads", "defprim", "LeakedTracerError", "numpy", "tree",
    "tree_util", "flatten_util",
    "make_graph", "vmap", "linearize", "linear_transpose", "hvp", "checkpoint",
    "custom_vjp", "custom_jvp", "custom_root", "optimizers", "debug_nans", "lax",
]
__all__ += ["jit", "make_program", "eval_shape", "ShapeDtypeStruct"]  # staged mode (issue 15)
