"""fgrad.scipy.stats: differentiable densities and distribution functions.

Each distribution is a namespace of functions with scipy's names and
signatures (as in ``jax.scipy.stats``): ``norm.logpdf(x, loc=0, scale=1)``.
They are differentiable in the point and in the parameters, written with
fgrad.numpy and the special-function rows; on plain inputs every function
returns scipy.stats' own result.  Where fgrad has no formula for a derivative
(the CDFs of ``t`` and ``beta`` in their shape parameters, of ``binom``/``nbinom``
in ``n``) asking for it raises a TypeError naming the special function and saying
why; ``gamma`` and ``chi2`` are differentiable in ``a`` and ``df`` too.

The distributions are filed by kind:

* ``continuous.py``: ``norm``, ``t``, ``laplace``, ``logistic``, ``cauchy``,
  ``vonmises``, ``gennorm``, ``truncnorm`` (symmetric or on the line),
  ``uniform``, ``beta`` (on an interval), ``gamma``, ``chi2``, ``expon``,
  ``weibull_min``, ``lognorm``, ``pareto`` (on a half-line);
* ``discrete.py``: ``poisson``, ``bernoulli``, ``binom``, ``geom``, ``nbinom``;
* ``multivariate.py``: ``multivariate_normal``, ``multivariate_t``,
  ``dirichlet``, ``multinomial``, ``wishart``;
* ``_base.py``: the base classes that derive ``pdf``, ``sf``, ``isf``, ... from
  the few functions a distribution defines, and the fallback to scipy;
* ``_docs.py``: the docstrings (summary and example) of the methods the
  distributions write; derived methods get generated ones.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import norm
    >>> fgrad.grad(norm.logpdf, argnums=(0, 1, 2))(1.0, 0.0, 2.0)
    (np.float64(-0.25), np.float64(0.25), np.float64(-0.375))
"""

__all__ = [
    "norm", "t", "beta", "gamma", "poisson", "multivariate_normal",
    "expon", "uniform", "laplace", "logistic", "cauchy", "lognorm", "pareto", "weibull_min",
    "chi2", "truncnorm", "vonmises", "gennorm",
    "bernoulli", "binom", "geom", "nbinom",
    "dirichlet", "multinomial", "multivariate_t", "wishart",
]

from .continuous import (
    beta,
    cauchy,
    chi2,
    expon,
    gamma,
    gennorm,
    laplace,
    logistic,
    lognorm,
    norm,
    pareto,
    t,
    truncnorm,
    uniform,
    vonmises,
    weibull_min,
)
from .discrete import bernoulli, binom, geom, nbinom, poisson
from .multivariate import dirichlet, multinomial, multivariate_normal, multivariate_t, wishart

