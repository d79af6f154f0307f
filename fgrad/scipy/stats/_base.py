"""The machinery every distribution of fgrad.scipy.stats shares.

A distribution is a class used as a namespace (``norm.logpdf(x)``, as in
scipy.stats and jax.scipy.stats): it is never instantiated.  It states the few
functions that define it and :class:`Distribution` builds the rest:

* :class:`Continuous` (location-scale families): the subclass writes functions
  of the standardised point ``y = (x - loc) / scale`` and the shape parameters,
  ``_logpdf`` and any of ``_cdf``, ``_logcdf``, ``_sf``, ``_logsf``, ``_ppf``,
  ``_isf``.  The public ``logpdf(x, *shapes, loc=0, scale=1)`` ... follow, with
  scipy's values off the support (``_support``): ``-inf`` log densities, CDFs 0
  below and 1 above, and finite zero derivatives there, because the formulas
  only ever see a stand-in point of the support.  Missing functions are
  derived: ``_logcdf = log(_cdf)`` (or ``_cdf = exp(_logcdf)``), likewise for
  the survival function, ``_cdf = -expm1(_logsf)`` and ``_logcdf =
  log1mexp(_logsf)`` from the log survival function alone, and for ``_symmetric`` distributions
  ``_sf(y) = _cdf(-y)``, ``_logsf(y) = _logcdf(-y)``, ``_isf(q) = -_ppf(q)``.
  Quantiles are NaN outside ``0 <= q <= 1``.
* :class:`Discrete`: the same for counts ``k`` (floored for the CDFs), with
  ``_logpmf`` and the CDF family, support ``_lo``..``_upper(*shapes)``.
* Any :class:`Distribution`: ``pdf = exp(logpdf)`` and ``pmf = exp(logpmf)``
  when not written.

Every public method falls back to scipy.stats on plain inputs (no tracer among
the arguments): the result is then scipy's own.  The table in ``_docs.py``
gives the docstrings (summary and example) of the methods a distribution
writes; a
derived method gets a generated docstring whose example checks an identity of
the derivatives (``_example`` holds its arguments).

Example:
    >>> import fgrad
    >>> from fgrad.scipy.stats import logistic
    >>> float(fgrad.grad(logistic.sf)(0.0))  # derived: cdf(-y)
    -0.25
"""

import functools
import inspect
import math

import numpy as np

from ... import numpy as fnp
from ...core import any_tracer, is_batched
from ...primitives import special as _rows
from ._docs import DOCS

LOG2 = math.log(2.0)
LOG_PI = math.log(math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def scipy_stats(dist):
    """scipy.stats' distribution named ``dist`` (scipy is imported on first use)."""
    return getattr(_rows.scipy_module("stats"), dist)


def standardise(x, loc, scale):
    """``(x - loc) / scale``."""
    return fnp.divide(fnp.subtract(x, loc), scale)


def nan_unless(ok, val):
    """``val`` where ``ok``, NaN elsewhere."""
    return fnp.where(ok, val, np.nan)


def probability(q):
    """``(ok, safe_q)``: ``ok`` where ``0 <= q <= 1``; ``safe_q`` is 0.5 elsewhere."""
    ok = fnp.logical_and(fnp.greater_equal(q, 0), fnp.less_equal(q, 1))
    return ok, fnp.where(ok, q, 0.5)


def log1mexp(a):
    """``log(1 - exp(a))`` for ``a <= 0``, accurate at both ends."""
    near = fnp.greater(a, -LOG2)
    a_near = fnp.where(near, a, -1.0)
    a_far = fnp.where(near, -1.0, a)
    return fnp.where(near, fnp.log(fnp.negative(fnp.expm1(a_near))),
                     fnp.log1p(fnp.negative(fnp.exp(a_far))))


def on_support(k, lo, hi=None):
    """``(valid, safe_k)`` for a pmf: ``k`` an integer in ``[lo, hi]``, else stand-in ``lo``."""
    valid = fnp.logical_and(fnp.greater_equal(k, lo), fnp.equal(k, fnp.floor(k)))
    if hi is not None:
        valid = fnp.logical_and(valid, fnp.less_equal(k, hi))
    return valid, fnp.where(valid, k, lo)


def shapes_first(*fns):
    """Standard functions from scipy.special ones that take the point last:
    ``f(*shapes, y)`` becomes ``g(y, *shapes)`` (one for each of ``fns``)."""
    def swap(f):
        return lambda y, *shapes: f(*shapes, y)
    return tuple(swap(f) for f in fns)


def unbatched(c):
    """True when ``c`` (a ``concrete()`` value) has one value, not one per vmapped example."""
    return not is_batched(c)


def squeezed_shape(shape):
    """The shape scipy's ``_squeeze_output`` leaves (every length-1 axis dropped)."""
    return tuple(s for s in shape if s != 1)


def _fill(inside, above, val, below_value, above_value):
    """``val`` on the support; the constants of scipy below and above it."""
    if inside is None:
        return val
    outside = below_value if above is None else fnp.where(above, above_value, below_value)
    return fnp.where(inside, val, outside)


# Off the support: (below, above) for each function of the CDF family.
_OUTSIDE = {"cdf": (0.0, 1.0), "logcdf": (-np.inf, 0.0), "sf": (1.0, 0.0),
            "logsf": (0.0, -np.inf)}

# Generated docstrings: a summary, and an example checking an identity of the
# derivatives (``{a}``: the example's arguments, ``{d}``: which one is differentiated).
_DOCS = {
    "pdf": ("Density of {title}, ``exp(logpdf)``.",
            "fgrad.grad({n}.pdf{d})({a})", "{n}.pdf({a}) * fgrad.grad({n}.logpdf{d})({a})"),
    "pmf": ("Probability mass of {title}, ``exp(logpmf)``.",
            "fgrad.grad({n}.pmf{d})({a})", "{n}.pmf({a}) * fgrad.grad({n}.logpmf{d})({a})"),
    "cdf": ("CDF of {title}.",
            "fgrad.grad({n}.logcdf{d})({a})", "fgrad.grad({n}.cdf{d})({a}) / {n}.cdf({a})"),
    "sf": ("Survival function ``1 - cdf`` of {title}.",
           "fgrad.grad({n}.sf{d})({a})", "-fgrad.grad({n}.cdf{d})({a})"),
    "logcdf": ("Log of the CDF of {title}.",
               "fgrad.grad({n}.logcdf{d})({a})", "fgrad.grad({n}.cdf{d})({a}) / {n}.cdf({a})"),
    "logsf": ("Log of the survival function of {title}.",
              "fgrad.grad({n}.logsf{d})({a})", "fgrad.grad({n}.sf{d})({a}) / {n}.sf({a})"),
    "isf": ("Inverse survival function of {title}, ``ppf(1 - q)``.",
            "fgrad.grad({n}.isf)(0.25{s})", "-fgrad.grad({n}.ppf)(0.75{s})"),
}


def _source(arg):
    return arg if isinstance(arg, str) else repr(arg)


def _written_doc(cls, name):
    """The docstring of ``name`` from the table in ``_docs.py``: the summary,
    then the example after ``import fgrad`` and the import of the distribution (unless
    the example starts with its own imports); None if the table has none."""
    entry = DOCS.get(f"{cls.__name__}.{name}")
    if entry is None:
        return None
    summary, example = entry
    if not example.startswith(">>> import"):
        example = f">>> import fgrad\n>>> from fgrad.scipy.stats import {cls.__name__}\n{example}"
    head, *rest = summary.split("\n")
    return ("".join([head] + [f"\n    {line}" if line else "\n" for line in rest])
            + "\n\n    Example:\n" + "".join(f"        {line}\n" for line in example.split("\n")))


def _generated_doc(cls, name):
    if not cls._example:
        raise TypeError(f"{cls.__name__}: set _example (the arguments of the generated "
                        f"example of {name}) or write {name}'s docstring")
    summary, lhs, rhs = _DOCS[name]
    fields = {"n": cls.__name__, "a": ", ".join(map(_source, cls._example)),
              "d": cls._example_argnums,
              "s": "".join(", " + _source(a) for a in cls._example[1:])}
    return (summary.format(title=cls._title) + "\n\n    Example:\n"
            "        >>> import fgrad, fgrad.numpy as fnp, numpy as np\n"
            f"        >>> from fgrad.scipy.stats import {cls.__name__}\n"
            f"        >>> bool(np.allclose({lhs.format(**fields)}, {rhs.format(**fields)}, "
            "rtol=1e-9))\n"
            "        True\n")


def _name_it(cls, name, fn, doc, signature=None):
    """Make ``fn`` look like a method written in ``cls``'s module (doctests, help, docs)."""
    fn.__name__, fn.__qualname__ = name, f"{cls.__name__}.{name}"
    fn.__module__, fn.__doc__ = cls.__module__, doc
    if signature is not None:
        fn.__signature__ = signature
    return fn


def _with_scipy_fallback(cls, name, impl):
    """The public method: scipy.stats' own on plain inputs, ``impl`` on traced ones."""
    dist = cls.__name__

    @functools.wraps(impl)
    def method(*args, **kwargs):
        if not any_tracer(*args, *kwargs.values()) and cls._scipy_takes(args, kwargs):
            return getattr(scipy_stats(dist), name)(*args, **kwargs)
        return impl(*args, **kwargs)

    return method


def _exp_of(cls, name, source):
    """``exp(source)`` as the public method ``name`` (pdf from logpdf, pmf from logpmf)."""
    log_impl = getattr(cls, source)

    def exp_method(*args, **kwargs):
        return fnp.exp(log_impl(*args, **kwargs))

    return _name_it(cls, name, exp_method, _written_doc(cls, name) or _generated_doc(cls, name),
                    inspect.signature(log_impl))


def _with_derivatives(cls, doc):
    """``doc`` with a sentence, before its example, on what the method differentiates
    (unless it says so already)."""
    if not doc or "ifferentiab" in doc or "derivative" in doc:
        return doc
    sentence = (f"Differentiable in the point and the parameters, except as the docstring of "
                f"``{cls.__name__}`` says.")
    at = doc.find("\n    Example:")
    if at < 0:
        return doc.rstrip() + "\n\n    " + sentence + "\n"
    return doc[:at + 1] + "    " + sentence + "\n\n" + doc[at + 1:]


def _class_doc(cls):
    """The distribution's docstring, followed by the list of its methods and the example
    of its log density (or log mass) function."""
    doc = inspect.cleandoc(cls.__doc__ or cls._title)
    if ">>>" in doc:
        return doc
    methods = sorted(m for m in vars(cls) if not m.startswith("_") and callable(getattr(cls, m)))
    main = next((m for m in ("logpdf", "logpmf") if m in methods), methods[0])
    method_doc = inspect.getdoc(getattr(cls, main)) or ""
    example = method_doc.split("Example:\n", 1)[1] if "Example:\n" in method_doc else ""
    listed = ", ".join(f"``{m}``" for m in methods)
    return (f"{doc}\n\nA namespace of functions, never instantiated: {listed}.  Each is "
            "differentiable in the point and in the parameters (``loc``, ``scale`` and the "
            "shapes), in forward and reverse mode, except where fgrad.scipy.stats says "
            "otherwise (the CDF family of ``t`` and ``beta`` in their shape parameters, of "
            "``binom`` and ``nbinom`` in ``n``: a TypeError names the special function and "
            "why); for a count ``k`` the CDF family is a step function (derivative 0).  On "
            f"plain inputs each returns scipy.stats' own result.  The example is ``{main}``'s."
            + (f"\n\nExample:\n{example}" if example else ""))


class Distribution:
    """The base of every distribution: derives ``pdf``/``pmf`` and adds the scipy fallback.

    Subclasses set ``_title`` (for generated docstrings) and ``_example`` (the
    arguments of their examples); their public methods are written as
    static methods taking plain or traced arguments.

    Example:
        >>> from fgrad.scipy.stats import norm
        >>> from fgrad.scipy.stats._base import Distribution
        >>> issubclass(norm, Distribution)
        True
    """

    _title = "the distribution"
    _example = ()
    _example_argnums = ""  # for discrete distributions: differentiate in the first shape

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:  # an intermediate base class, not a distribution
            return
        cls._build()
        for name, source in (("pdf", "logpdf"), ("pmf", "logpmf")):
            if name not in vars(cls) and source in vars(cls):
                setattr(cls, name, staticmethod(_exp_of(cls, name, source)))
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and isinstance(member, staticmethod):
                setattr(cls, name, staticmethod(_with_scipy_fallback(cls, name, member.__func__)))
        cls.__doc__ = _class_doc(cls)
        for name in vars(cls):
            method = getattr(cls, name)
            if not name.startswith("_") and callable(method):
                method.__doc__ = _with_derivatives(cls, method.__doc__)

    @staticmethod
    def _scipy_takes(args, kwargs):
        """Hook: whether scipy.stats' own method serves these plain arguments (else fgrad's)."""
        return True

    @classmethod
    def _build(cls):
        """Hook: generate public methods from the standard functions the subclass wrote."""

    @classmethod
    def _public(cls, name, impl, params):
        """Install ``impl(*bound arguments)`` as the public method ``name`` with ``params``."""
        sig = inspect.Signature([
            inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              **({"default": params[p]} if params[p] is not _REQUIRED else {}))
            for p in params])
        n = len(params)

        def public(*args, **kwargs):
            if kwargs or len(args) != n:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
                args = bound.args
            return impl(*args)

        doc = _written_doc(cls, name) or _generated_doc(cls, name)
        setattr(cls, name, staticmethod(_name_it(cls, name, public, doc, sig)))


_REQUIRED = object()


_DERIVATIONS = [  # (missing, source, how): tried in this order
    ("_logcdf", "_cdf", lambda f: lambda y, *s: fnp.log(f(y, *s))),
    ("_logsf", "_sf", lambda f: lambda y, *s: fnp.log(f(y, *s))),
    ("_cdf", "_logcdf", lambda f: lambda y, *s: fnp.exp(f(y, *s))),
    ("_sf", "_logsf", lambda f: lambda y, *s: fnp.exp(f(y, *s))),
    # from the log survival function alone: 1 - exp(logsf), accurate in both tails
    ("_cdf", "_logsf", lambda f: lambda y, *s: fnp.negative(fnp.expm1(f(y, *s)))),
    ("_logcdf", "_logsf", lambda f: lambda y, *s: log1mexp(f(y, *s))),
]
_MIRRORS = [  # for symmetric distributions
    ("_sf", "_cdf", lambda f: lambda y, *s: f(fnp.negative(y), *s)),
    ("_logsf", "_logcdf", lambda f: lambda y, *s: f(fnp.negative(y), *s)),
    ("_isf", "_ppf", lambda f: lambda q, *s: fnp.negative(f(q, *s))),
]


def _standard_functions(cls):
    """The subclass's standard functions, with the missing ones derived where possible."""
    std = {name: getattr(cls, name) for name in
           ("_logpdf", "_logpmf", "_cdf", "_logcdf", "_sf", "_logsf", "_ppf", "_isf")
           if getattr(cls, name, None) is not None}
    rules = (_MIRRORS if cls._symmetric else []) + _DERIVATIONS
    for missing, source, how in rules:
        if missing not in std and source in std:
            std[missing] = how(std[source])  # no docstring: one is generated
    return std


class Continuous(Distribution):
    """A location-scale family, written as functions of ``y = (x - loc) / scale``.

    ``_shapes`` names the shape parameters (between the point and ``loc``);
    ``_support = (lo, hi)`` in standard units (``None``: unbounded), or an
    override of ``_split``.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.stats import expon
        >>> round(float(fgrad.grad(expon.sf, argnums=2)(3.0, 1.0, 2.0)), 9)  # exp(-y) y / scale
        0.183939721
    """

    _shapes = ()
    _support = (None, None)
    _symmetric = False
    _logpdf = _cdf = _logcdf = _sf = _logsf = _ppf = _isf = None

    @classmethod
    def _split(cls, y, *shapes):
        """``(inside, above, safe y)``; ``None`` for a side without bound."""
        lo, hi = cls._support
        if lo is None and hi is None:
            return None, None, y
        if hi is None:
            inside = fnp.greater_equal(y, lo)
            return inside, None, fnp.where(inside, y, lo + 1.0)
        inside = fnp.logical_and(fnp.greater_equal(y, lo), fnp.less_equal(y, hi))
        return inside, fnp.greater(y, hi), fnp.where(inside, y, 0.5 * (lo + hi))

    @classmethod
    def _build(cls):
        std = _standard_functions(cls)
        ns = len(cls._shapes)
        point = dict.fromkeys(cls._shapes, _REQUIRED)
        params = {"x": _REQUIRED, **point, "loc": 0, "scale": 1}
        q_params = {"q": _REQUIRED, **point, "loc": 0, "scale": 1}

        cls._public("logpdf", _log_density(cls, std["_logpdf"], ns), params)
        for name, (below, above_value) in _OUTSIDE.items():
            if "_" + name in std:
                cls._public(name, _cdf_family(cls, std["_" + name], ns, below, above_value),
                            params)
        for name in ("ppf", "isf"):
            if "_" + name in std:
                cls._public(name, _quantile(std["_" + name], ns), q_params)


# The implementations close over the standard function itself (not a table), so
# the coverage page, which follows closures, sees the rows each method reaches.


def _log_density(cls, fn, ns):
    def impl(x, *rest):
        shapes, loc, scale = rest[:ns], rest[ns], rest[ns + 1]
        inside, above, y = cls._split(standardise(x, loc, scale), *shapes)
        return _fill(inside, above, fnp.subtract(fn(y, *shapes), fnp.log(scale)),
                     -np.inf, -np.inf)
    return impl


def _cdf_family(cls, fn, ns, below, above_value):
    def impl(x, *rest):
        shapes, loc, scale = rest[:ns], rest[ns], rest[ns + 1]
        inside, above, y = cls._split(standardise(x, loc, scale), *shapes)
        return _fill(inside, above, fn(y, *shapes), below, above_value)
    return impl


def _quantile(fn, ns):
    def impl(q, *rest):
        shapes, loc, scale = rest[:ns], rest[ns], rest[ns + 1]
        ok, q = probability(q)
        return nan_unless(ok, fnp.add(loc, fnp.multiply(scale, fn(q, *shapes))))
    return impl


class Discrete(Distribution):
    """A distribution of counts ``k`` on ``_lo, _lo + 1, ..., _upper(*shapes)``.

    ``_logpmf(k, *shapes)`` sees a valid count; the CDF family sees ``floor(k - loc)``
    on the support.  Both are piecewise constant in ``k`` except the log pmf,
    which is differentiable in ``k`` through its continuous extension (as in
    ``jax.scipy.stats``).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.stats import geom
        >>> float(fgrad.grad(geom.sf, argnums=1)(2, 0.5))  # derived: exp(logsf)
        -1.0
    """

    _shapes = ()
    _lo = 0
    _symmetric = False
    _example_argnums = ", argnums=1"
    _logpmf = _cdf = _logcdf = _sf = _logsf = _ppf = _isf = None

    @staticmethod
    def _upper(*shapes):
        """The largest count (``None``: unbounded)."""
        return None

    @classmethod
    def _split(cls, kf, *shapes):
        hi = cls._upper(*shapes)
        below = fnp.less(kf, cls._lo)
        if hi is None:
            inside, above = fnp.logical_not(below), None
        else:
            above = fnp.greater_equal(kf, hi)
            inside = fnp.logical_not(fnp.logical_or(below, above))
        return inside, above, fnp.where(inside, kf, float(cls._lo))

    @classmethod
    def _build(cls):
        std = _standard_functions(cls)
        ns = len(cls._shapes)
        params = {"k": _REQUIRED, **dict.fromkeys(cls._shapes, _REQUIRED), "loc": 0}

        cls._public("logpmf", _log_mass(cls, std["_logpmf"], ns), params)
        for name, (below, above_value) in _OUTSIDE.items():
            if "_" + name in std:
                cls._public(name, _count_cdf_family(cls, std["_" + name], ns, below,
                                                    above_value), params)


def _log_mass(cls, fn, ns):
    def impl(k, *rest):
        shapes, loc = rest[:ns], rest[ns]
        valid, k = on_support(fnp.subtract(k, loc), cls._lo, cls._upper(*shapes))
        return fnp.where(valid, fn(k, *shapes), -np.inf)
    return impl


def _count_cdf_family(cls, fn, ns, below, above_value):
    def impl(k, *rest):
        shapes, loc = rest[:ns], rest[ns]
        inside, above, kf = cls._split(fnp.floor(fnp.subtract(k, loc)), *shapes)
        return _fill(inside, above, fn(kf, *shapes), below, above_value)
    return impl


class Multivariate(Distribution):
    """A distribution whose public methods are written out (``pdf``/``pmf`` are derived).

    Example:
        >>> from fgrad.scipy.stats import dirichlet
        >>> from fgrad.scipy.stats._base import Multivariate
        >>> issubclass(dirichlet, Multivariate)
        True
    """
