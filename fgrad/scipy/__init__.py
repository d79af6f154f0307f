"""fgrad.scipy: differentiable counterparts of scipy functions (scipy is optional).

``fgrad.scipy.special``, ``fgrad.scipy.stats`` and ``fgrad.scipy.linalg`` follow
scipy's names and signatures, like ``jax.scipy``.  On plain inputs they return
scipy's own results; on traced inputs they are rows of fgrad's rule table or
functions written with them.  scipy itself is imported only when needed;
without it these functions raise an ImportError saying ``pip install scipy``.

Example:
    >>> import fgrad, fgrad.scipy
    >>> float(fgrad.grad(fgrad.scipy.stats.norm.logpdf)(1.0))
    -1.0
"""

from . import linalg, sparse, special, stats  # noqa: F401

__all__ = ["linalg", "sparse", "special", "stats"]
