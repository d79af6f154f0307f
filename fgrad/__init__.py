"""fgrad: functional automatic differentiation for Python on numpy.

Plain Python functions are traced with tracer objects; composable transforms
turn them into their derivatives.

Example:
    >>> import fgrad, fgrad.numpy as fnp
    >>> fgrad.grad(lambda x: 2 * fnp.dot(x, x))(fnp.arange(4.0))
    array([ 0.,  4.,  8., 12.])
"""

from . import (
    numpy,  # noqa: F401  (installs the array behaviour of tracers)
    tree,  # noqa: F401
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
from .core import LeakedTracerError, defprim  # noqa: F401
from .custom import custom_jvp, custom_vjp  # noqa: F401
from .graph import make_graph  # noqa: F401
from .primitives import scipy_linalg as _scipy_linalg  # noqa: F401  (scipy.linalg rows)
from .primitives import special as _special  # noqa: F401  (scipy rows join the table)
from .testing import check_grads  # noqa: F401
from .transforms import checkpoint, hvp, linear_transpose, linearize  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian",
    "stop_gradient", "check_grads", "defprim", "LeakedTracerError", "numpy", "tree",
    "make_graph", "vmap", "linearize", "linear_transpose", "hvp", "checkpoint",
    "custom_vjp", "custom_jvp",
]
