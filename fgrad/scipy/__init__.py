"""fgrad.scipy: differentiable counterparts of scipy functions (scipy is optional).

``fgrad.scipy.special``, ``fgrad.scipy.stats``, ``fgrad.scipy.linalg`` and
``fgrad.scipy.signal`` follow scipy's names and signatures, like ``jax.scipy``;
``fgrad.scipy.integrate`` has ``odeint`` with JAX's semantics.  On plain inputs they return
scipy's own results; on traced inputs they are rows of fgrad's rule table or
functions written with them.  scipy itself is imported only when needed;
without it these functions raise an ImportError saying ``pip install scipy``.

Example:
    >>> import fgrad, fgrad.scipy
    >>> float(fgrad.grad(fgrad.scipy.stats.norm.logpdf)(1.0))
    -1.0
"""

from . import linalg, signal, sparse, special, stats  # noqa: F401

__all__ = ["integrate", "linalg", "optimize", "signal", "sparse", "special", "stats"]


def __getattr__(name):
    # Tools over fgrad's transforms that live under scipy's names (layer 4, like
    # fgrad.custom) load on first use, so that this namespace package never imports
    # a layer above it when it loads (tests/test_layers.py lists both imports).
    if name == "integrate":
        import fgrad.scipy.integrate as integrate

        return integrate
    if name == "optimize":
        import fgrad.scipy.optimize as optimize  # and scipy.optimize

        return optimize
    raise AttributeError(f"module 'fgrad.scipy' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"integrate", "optimize"})
