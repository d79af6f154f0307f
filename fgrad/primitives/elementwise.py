"""Rows of the rule table: elementwise arithmetic and math.

Each row names a numpy function and the partial derivatives of its output with
respect to each input, written with fgrad functions so that they are traced
again at higher order.  Broadcasting and dtype casting of the derivatives are
done centrally (fgrad.autodiff), so rules never unbroadcast by hand.

Complex inputs follow JAX's convention (see docs/complex.md): the jvp of a
holomorphic function is ``f'(z) * t`` and its vjp ``g * f'(z)`` (no
conjugation); the non-holomorphic rows (``absolute``, ``sign``, ``real``,
``imag``, ``conjugate``, ``angle``) have rules written for the real-linear map.

Where a function is only piecewise differentiable the rules use the one-sided
or averaged value the docstring states (ties of ``maximum`` share the
derivative, ``absolute`` has derivative 0 at 0); functions that are piecewise
constant (comparisons, ``floor``, ``sign`` of real numbers ...) are
non-differentiable rows: on tracers they return plain arrays.
"""

__all__ = [
    # arithmetic
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "positive",
    "power", "pow", "float_power", "square", "reciprocal", "sqrt", "cbrt",
    "mod", "remainder", "fmod", "divmod", "modf", "floor_divide",
    # exponentials and logarithms
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "logaddexp", "logaddexp2",
    "ldexp", "frexp",
    # trigonometric and hyperbolic
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "hypot",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh",
    "deg2rad", "rad2deg", "degrees", "radians", "sinc",
    # piecewise
    "absolute", "abs", "fabs", "sign", "copysign", "maximum", "minimum", "fmax", "fmin",
    "where", "nan_to_num",
    # complex parts
    "real", "imag", "conjugate", "conj", "angle",
    # dtype
    "astype",
    # no derivative
    "floor", "ceil", "rint", "round", "around", "trunc", "fix", "heaviside",
    "nextafter", "spacing", "signbit",
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isreal", "iscomplex", "isnat",
    "gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
    "bitwise_invert", "bitwise_count", "invert", "left_shift", "right_shift",
    "bitwise_left_shift", "bitwise_right_shift",
    # plumbing
    "sum_to_shape", "stop_gradient",
]

import math

import numpy as np

from .. import shapes as _shp
from ..core import (  # noqa: F401  (examples_of: a name rows import from here)
    PRIMITIVES,
    Tracer,
    any_tracer,
    as_array,
    concrete,
    defelementwise,
    defprim,
    examples_of,
    is_duck_array,
)

_traced = any_tracer


def decide(pred, x):
    """``pred(value)`` on the concrete value of ``x``, to choose between two rules
    that are both correct (a fast one and a general one).

    Under ``fgrad.vmap`` ``pred`` is evaluated on every example; the answer is
    ``None`` when they disagree or cannot be read, and the caller then takes
    the general rule.  Only values in memory are read: for an array of another
    library (a lazy dask array, a GPU array; see ``is_duck_array``) the answer is
    ``None`` without looking, so tracing never computes or transfers data; and a
    value staged by ``fgrad.jit`` refuses to be read, so the answer is ``None`` too.
    """
    try:
        examples = examples_of(x)
    except TypeError:  # values not known (staged by fgrad.jit): the general rule
        return None
    if is_duck_array(examples):
        return None
    try:
        answers = {bool(pred(e)) for e in examples}
    except TypeError:
        return None
    return answers.pop() if len(answers) == 1 else None


def _all_finite(x):
    """True when the concrete value has no inf or nan (selects a fast rule)."""
    return decide(lambda v: np.all(np.isfinite(v)), x) is True


# --- arithmetic ------------------------------------------------------------
#
# remat=: cheap to recompute, so reverse mode may replay these on large arrays instead
# of keeping their outputs alive until the backward pass (fgrad.autodiff.ReverseTrace).
# The number weighs the work: arithmetic is bound by memory traffic (replaying it costs
# about what keeping its output costs, 1), a function like sin several times more (4).
# fresh=True: the vjp rules compute new arrays (g * y, -g ...), never hand back g.


def _signed(sign, nargs):
    """The tangent (or cotangent) rule of an argument entering a row with coefficient
    ``sign`` (+1 or -1): the same rule serves jvp and vjp of a linear row."""
    if nargs == 1:
        return (lambda v, ans, x: v) if sign > 0 else (lambda v, ans, x: negative(v))
    return (lambda v, ans, x, y: v) if sign > 0 else (lambda v, ans, x, y: negative(v))


def _signed_sum(name, numpy_function, *signs):
    """add, subtract, negative, positive: each argument enters with coefficient +1 or
    -1.  A rule that negates makes a new array (``fresh``) when every rule does."""
    rules = [_signed(sign, len(signs)) for sign in signs]
    return defprim(
        name, numpy_function, jvp=rules, vjp=rules, batch="elementwise",
        test={"complex": True}, reads=(), remat=1, fresh=all(sign < 0 for sign in signs),
    )


add = _signed_sum("add", np.add, +1, +1)
subtract = _signed_sum("subtract", np.subtract, +1, -1)
multiply = defprim(
    "multiply", np.multiply,
    jvp=[lambda t, ans, x, y: multiply(t, y), lambda t, ans, x, y: multiply(x, t)],
    vjp=[lambda g, ans, x, y: multiply(g, y), lambda g, ans, x, y: multiply(x, g)],
    batch="elementwise",
    test={"complex": True},
    reads=[(1,), (0,)],
    remat=1, fresh=True,
)
def _divide_vjp_denominator(g, ans, x, y):
    # -g x / y**2, with x / y recomputed rather than read from ``ans``: keeping x
    # alive is often free (a softmax's exponentials are kept by exp anyway, or x is
    # cheap to recompute) while ``ans`` would be one more saved array.  x / y is
    # bit-identical to ``ans``, and dividing twice cannot overflow as y * y can.
    if type(g) is np.ndarray and not isinstance(x, Tracer) and not isinstance(y, Tracer):
        return -(g * (x / y / y))  # operators: numpy reuses the temporaries' memory
    return negative(multiply(g, divide(divide(x, y), y)))


divide = defprim(
    "divide", np.divide,
    jvp=[
        lambda t, ans, x, y: divide(t, y),
        lambda t, ans, x, y: negative(multiply(t, divide(ans, y))),
    ],
    vjp=[lambda g, ans, x, y: divide(g, y), _divide_vjp_denominator],
    batch="elementwise",
    test={"domain": [(-1.5, 1.5), (0.5, 2.0)], "complex": True},
    reads=[(1,), (0, 1)],
    remat=1, fresh=True,
)
true_divide = divide
negative = _signed_sum("negative", np.negative, -1)
positive = _signed_sum("positive", np.positive, +1)


def _power_d_base(ans, x, y):
    # y * x**(y-1), with the y == 0 case pinned to 0 (x**-1 is inf at x == 0)
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        # a constant Python exponent (x**2, x**0.5): the common case, and the
        # one forward-over-reverse runs many times, so no where/equal ops
        if y == 0:
            return 0.0
        if y == 1:
            return 1.0
        if y == 2:
            return multiply(2.0, x)
        return multiply(float(y), power(x, y - 1))
    return _where(equal(y, 0), 0.0, multiply(y, power(x, subtract(y, 1))))


def _power_d_exponent(ans, x, y):
    # d/dy x**y = log(x) * x**y; at x == 0 the product is taken as 0
    safe_x = _where(equal(x, 0), 1.0, x)
    return multiply(log(safe_x), ans)


power = defelementwise(
    "power", np.power, _power_d_base, _power_d_exponent,
    test={"domain": [(0.2, 2.0), (-1.5, 1.5)], "complex": True},
    reads=[(0, 1), ("ans", 0)],
)
pow = power
float_power = defelementwise(
    "float_power", np.float_power, _power_d_base, _power_d_exponent,
    test={"domain": [(0.2, 2.0), (-1.5, 1.5)], "float32": False, "complex": True},
    reads=[(0, 1), ("ans", 0)],
)
square = defelementwise(
    "square", np.square, lambda ans, x: multiply(2.0, x), test={"complex": True},
    reads=(0,),
    remat=1,
)
reciprocal = defelementwise(
    "reciprocal", np.reciprocal, lambda ans, x: negative(square(ans)),
    test={"domain": [(0.3, 2.0)], "complex": True},
    reads=("ans",),
)
# sqrt and cbrt read the answer: at 0 the derivative is +inf (the true one), not nan
sqrt = defelementwise(
    "sqrt", np.sqrt, lambda ans, x: divide(0.5, ans),
    test={"domain": [(0.1, 3.0)], "complex": True},
    reads=("ans",),
    remat=4,
)
cbrt = defelementwise(
    "cbrt", np.cbrt, lambda ans, x: divide(1.0 / 3.0, square(ans)),
    test={"domain": [(0.1, 3.0)]},
    reads=("ans",),
)


def _quotient(ans, x, y):
    # the integer quotient q with x == q*y + ans, recovered from the answer
    return rint(divide(subtract(x, ans), y))


# x mod y = x - floor(x / y) * y: derivative 1 in x, -floor(x/y) in y
mod = defelementwise(
    "mod", np.mod,
    lambda ans, x, y: 1.0,
    lambda ans, x, y: negative(_quotient(ans, x, y)),
    test={"domain": [(0.3, 3.0), (0.7, 1.3)], "float32": False},
    reads=[(), ("ans", 0, 1)],
)
remainder = mod
# fmod(x, y) = x - trunc(x / y) * y
fmod = defelementwise(
    "fmod", np.fmod,
    lambda ans, x, y: 1.0,
    lambda ans, x, y: negative(_quotient(ans, x, y)),
    test={"domain": [(-3.0, 3.0), (0.7, 1.3)], "float32": False},
    reads=[(), ("ans", 0, 1)],
)
_modf_fraction = defelementwise(
    "modf_fraction", lambda x: np.modf(x)[0], lambda ans, x: 1.0,
    test={"domain": [(-2.9, 2.9)]},
    reads=(),
)


def modf(x):
    """Fractional and integral parts (``numpy.modf``); the fraction has derivative 1.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.modf(fnp.array([2.5, -1.25]))
        (array([ 0.5 , -0.25]), array([ 2., -1.]))
        >>> float(fgrad.grad(lambda x: fnp.modf(x)[0])(2.5))
        1.0
    """
    if not _traced(x):
        return np.modf(x)
    return _modf_fraction(x), trunc(x)


def divmod(x, y):
    """``(floor_divide(x, y), mod(x, y))`` (``numpy.divmod``).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.divmod(fnp.array([7.0, -7.0]), 2.0)
        (array([ 3., -4.]), array([1., 1.]))
        >>> float(fgrad.grad(lambda y: fnp.divmod(7.0, y)[1])(2.0))
        -3.0
    """
    if not _traced(x, y):
        return np.divmod(x, y)
    return floor_divide(x, y), mod(x, y)


# --- exponentials and logarithms --------------------------------------------

exp = defelementwise("exp", np.exp, lambda ans, x: ans, test={"complex": True}, reads=("ans",), remat=4)
exp2 = defelementwise(
    "exp2", np.exp2, lambda ans, x: multiply(ans, np.log(2.0)), test={"complex": True},
    reads=("ans",),
)
expm1 = defelementwise(
    "expm1", np.expm1, lambda ans, x: add(ans, 1.0), test={"complex": True},
    reads=("ans",),
    remat=4,
)
log = defprim(  # t / x in one division, rather than t * (1 / x) as defelementwise would
    "log", np.log,
    jvp=[lambda t, ans, x: divide(t, x)],
    vjp=[lambda g, ans, x: divide(g, x)],
    batch="elementwise",
    test={"domain": [(0.1, 3.0)], "complex": True},
    reads=(0,),
    remat=4, fresh=True,
)
log2 = defelementwise(
    "log2", np.log2, lambda ans, x: divide(1.0 / np.log(2.0), x),
    test={"domain": [(0.1, 3.0)], "complex": True},
    reads=(0,),
)
log10 = defelementwise(
    "log10", np.log10, lambda ans, x: divide(1.0 / np.log(10.0), x),
    test={"domain": [(0.1, 3.0)], "complex": True},
    reads=(0,),
)
log1p = defelementwise(
    "log1p", np.log1p, lambda ans, x: reciprocal(add(x, 1.0)),
    test={"domain": [(-0.7, 3.0)], "complex": True},
    reads=(0,),
    remat=4,
)


def _finite_number(v):
    """True for a finite Python or numpy scalar constant (``logaddexp(0.0, z)``): a
    static fact of the program, read without looking at any traced or lazy value."""
    return type(v) in (float, int) and math.isfinite(v) or (
        isinstance(v, np.generic) and v.dtype.kind in "iuf" and bool(np.isfinite(v)))


def _logaddexp_partial(base_exp):
    """d/dx log(b^x + b^y) = 1 / (1 + b^(y - x)): stable and accurate for large inputs.

    (``b^(x - ans)`` is the same number, but ``ans`` carries a rounding error
    as large as ``ulp(ans)``.)  Where ``x`` and ``y`` are the same infinity
    the derivative is split evenly, like the ties of ``maximum``; the double
    ``where`` keeps nan out of higher derivatives there.
    """

    def d(ans, x, y):
        if _finite_number(x) or _finite_number(y) or _all_finite(ans):  # no tie possible
            return reciprocal(add(1.0, base_exp(subtract(y, x))))
        tie = logical_and(isinf(x), equal(x, y))
        inside = reciprocal(add(1.0, base_exp(subtract(_where(tie, 0.0, y), _where(tie, 0.0, x)))))
        return _where(tie, 0.5, inside)

    return d


def _symmetric(name, numpy_function, partial, **declarations):
    """A row symmetric in its two arguments: ``partial(ans, x, y)`` is its derivative
    in ``x``, and ``partial(ans, y, x)`` the one in ``y``."""
    return defelementwise(
        name, numpy_function,
        lambda ans, x, y: partial(ans, x, y),
        lambda ans, x, y: partial(ans, y, x),
        **declarations,
    )


logaddexp = _symmetric("logaddexp", np.logaddexp, _logaddexp_partial(lambda u: exp(u)),
                       test={"domain": [(-3.0, 3.0), (-3.0, 3.0)]}, reads=("ans", 0, 1))
logaddexp2 = _symmetric("logaddexp2", np.logaddexp2, _logaddexp_partial(lambda u: exp2(u)),
                        test={"domain": [(-3.0, 3.0), (-3.0, 3.0)]}, reads=("ans", 0, 1))


def _ldexp_scale(ans, x, i):
    # d/dx x * 2**i = 2**i, exactly, in x's dtype (i is an integer: not differentiable)
    return ldexp(np.ones((), dtype=np.result_type(concrete(x))), i)


ldexp = defelementwise(
    "ldexp", np.ldexp, _ldexp_scale, None,
    test={"make": lambda rng, shape: (
        (rng.uniform(-2.0, 2.0, shape), rng.integers(-3, 4, shape)), {})},
        reads=(0, 1),
)


def frexp(x):
    """Mantissa and exponent (``numpy.frexp``); the mantissa ``x * 2**-e`` is differentiable.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fnp.frexp(fnp.array([8.0, 0.75]))
        (array([0.5 , 0.75]), array([4, 0], dtype=int32))
        >>> float(fgrad.grad(lambda x: fnp.frexp(x)[0])(8.0))
        0.0625
    """
    if not _traced(x):
        return np.frexp(x)
    e = _frexp_exponent(x)
    return ldexp(x, negative(e)), e


# --- trigonometric and hyperbolic -------------------------------------------

sin = defelementwise("sin", np.sin, lambda ans, x: cos(x), test={"complex": True}, reads=(0,), remat=4)
cos = defelementwise("cos", np.cos, lambda ans, x: negative(sin(x)), test={"complex": True}, reads=(0,), remat=4)
tan = defelementwise(
    "tan", np.tan, lambda ans, x: add(1.0, square(ans)), test={"complex": True},
    reads=("ans",),
)
arcsin = defelementwise(
    "arcsin", np.arcsin, lambda ans, x: reciprocal(sqrt(subtract(1.0, square(x)))),
    test={"domain": [(-0.8, 0.8)], "complex": True},
    reads=(0,),
)
arccos = defelementwise(
    "arccos", np.arccos,
    lambda ans, x: negative(reciprocal(sqrt(subtract(1.0, square(x))))),
    test={"domain": [(-0.8, 0.8)], "complex": True},
    reads=(0,),
)
arctan = defelementwise(
    "arctan", np.arctan, lambda ans, x: reciprocal(add(1.0, square(x))),
    test={"complex": True},
    reads=(0,),
)


def _nonzero_or_one(d):
    # the denominator d, with 1 where it is 0 (the numerators vanish there)
    return _where(equal(d, 0), 1.0, d)


def _arctan2_den(y, x):
    return _nonzero_or_one(add(square(x), square(y)))


# at the origin arctan2 is not differentiable; its rules give 0 there (not nan)
arctan2 = defelementwise(
    "arctan2", np.arctan2,
    lambda ans, y, x: divide(x, _arctan2_den(y, x)),
    lambda ans, y, x: divide(negative(y), _arctan2_den(y, x)),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
    reads=(0, 1),
)
hypot = defelementwise(
    "hypot", np.hypot,
    lambda ans, x, y: divide(x, _nonzero_or_one(ans)),
    lambda ans, x, y: divide(y, _nonzero_or_one(ans)),
    test={"domain": [(0.2, 2.0), (-2.0, -0.2)]},
    reads=[("ans", 0), ("ans", 1)],
)
sinh = defelementwise("sinh", np.sinh, lambda ans, x: cosh(x), test={"complex": True}, reads=(0,))
cosh = defelementwise("cosh", np.cosh, lambda ans, x: sinh(x), test={"complex": True}, reads=(0,))
tanh = defelementwise(
    "tanh", np.tanh, lambda ans, x: subtract(1.0, square(ans)), test={"complex": True},
    reads=("ans",),
    remat=4,
)
arcsinh = defelementwise(
    "arcsinh", np.arcsinh, lambda ans, x: reciprocal(sqrt(add(square(x), 1.0))),
    test={"complex": True},
    reads=(0,),
)
arccosh = defelementwise(
    "arccosh", np.arccosh,
    # sqrt(x - 1) * sqrt(x + 1) rather than sqrt(x**2 - 1): right branch for complex x
    lambda ans, x: reciprocal(multiply(sqrt(subtract(x, 1.0)), sqrt(add(x, 1.0)))),
    test={"domain": [(1.2, 3.0)], "complex": True},
    reads=(0,),
)
arctanh = defelementwise(
    "arctanh", np.arctanh, lambda ans, x: reciprocal(subtract(1.0, square(x))),
    test={"domain": [(-0.8, 0.8)], "complex": True},
    reads=(0,),
)
asin, acos, atan, atan2 = arcsin, arccos, arctan, arctan2
asinh, acosh, atanh = arcsinh, arccosh, arctanh
deg2rad = defelementwise("deg2rad", np.deg2rad, lambda ans, x: np.pi / 180.0, reads=())
rad2deg = defelementwise("rad2deg", np.rad2deg, lambda ans, x: 180.0 / np.pi, reads=())
radians, degrees = deg2rad, rad2deg

# sinc'(x) = (cos(pi x) - sinc(x)) / x cancels badly near 0; there its Taylor
# series is used instead, so that derivatives of every order are right at 0.
_SINC_SMALL = 1e-3
_SINC_SERIES = [  # coefficients of x**(2k-1) in sinc'(x), k = 1..5
    (-1) ** k * 2 * k * np.pi ** (2 * k) / float(np.prod(np.arange(1, 2 * k + 2)))
    for k in range(1, 6)
]


def _sinc_d(ans, x):
    small = less(absolute(x), _SINC_SMALL)
    xs = _where(small, x, 0.0)
    x2 = square(xs)
    series = 0.0
    for c in reversed(_SINC_SERIES):
        series = add(multiply(series, x2), c)
    series = multiply(series, xs)
    xl = _where(small, 1.0, x)
    formula = divide(subtract(cos(multiply(np.pi, xl)), sinc(xl)), xl)
    return _where(small, series, formula)


def _sinc_test_args(rng, shape):
    x = rng.uniform(-1.5, 1.5, shape)
    x = np.where(rng.uniform(size=shape) < 0.3, rng.choice([0.0, 2e-4, -5e-4], size=shape), x)
    return (x,), {}


sinc = defelementwise(
    "sinc", np.sinc, _sinc_d, test={"make": _sinc_test_args, "complex": True},
    reads=(0,),
)

# --- piecewise ----------------------------------------------------------------


def _unit(ans, x):
    # x / |x|, and 0 at 0
    return divide(x, _nonzero_or_one(ans))


def _abs_jvp(t, ans, x):
    if np.iscomplexobj(concrete(x)):  # the real-linear map t -> Re(conj(x) t) / |x|
        return real(multiply(conjugate(_unit(ans, x)), t))
    return multiply(t, sign(x))


def _abs_vjp(g, ans, x):
    if np.iscomplexobj(concrete(x)):  # its transpose under Re(sum(a * b)): g conj(x) / |x|
        return multiply(g, conjugate(_unit(ans, x)))
    return multiply(g, sign(x))


absolute = defprim(
    "absolute", np.absolute, jvp=[_abs_jvp], vjp=[_abs_vjp], batch="elementwise",
    test={"avoid": 0.0, "complex": True},
    reads=("ans", 0),
    remat=1, fresh=True,
)
abs = absolute
fabs = defelementwise("fabs", np.fabs, lambda ans, x: sign(x), test={"avoid": 0.0}, reads=(0,))


def _csign_jvp(t, ans, x):
    # d (z/|z|) = (t - s Re(conj(s) t)) / |z|, with s = sign(z)
    r = _nonzero_or_one(absolute(x))
    return divide(subtract(t, multiply(ans, real(multiply(conjugate(ans), t)))), r)


def _csign_vjp(g, ans, x):
    r = _nonzero_or_one(absolute(x))
    return divide(subtract(g, multiply(real(multiply(g, ans)), conjugate(ans))), r)


_sign_real = defprim("sign", np.sign, nondiff=True, batch="elementwise")
_sign_complex = defprim(
    "sign_complex", np.sign, jvp=[_csign_jvp], vjp=[_csign_vjp], batch="elementwise",
    test={"avoid": 0.0, "complex": True},
    reads=("ans", 0),
)


def sign(x):
    """Sign of each element (``numpy.sign``).

    Piecewise constant on real numbers (no derivative); on complex numbers it
    is ``z / |z|``, which is differentiated (its derivative at 0 is taken as 0).

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.sign(fnp.array([-2.0, 0.0, 3.0]))
        array([-1.,  0.,  1.])
    """
    if isinstance(x, Tracer) and np.iscomplexobj(concrete(x)):
        return _sign_complex(x)
    return _sign_real(x)


# copysign(x, y) = |x| * sign(y): derivative +-1 in x (the sign of the product),
# and 0 in y (piecewise constant)
copysign = defelementwise(
    "copysign", np.copysign,
    lambda ans, x, y: _where(equal(signbit(x), signbit(y)), 1.0, -1.0),
    lambda ans, x, y: 0.0,
    test={"avoid": 0.0},
    reads=[(0, 1), ()],
)


# nextafter(x, y) is x moved one unit in the last place towards y (and y where x == y):
# derivative 1 in x and 0 in y, the other way round at ties
nextafter = defelementwise(
    "nextafter", np.nextafter,
    lambda ans, x, y: _where(equal(x, y), 0.0, 1.0),
    lambda ans, x, y: _where(equal(x, y), 1.0, 0.0),
    test={"avoid": 0.0},
    reads=[(0, 1), (0, 1)],
)


def _balanced_eq(z, x, y):
    # 1 where x wins, 0 where y wins, 1/2 at ties (the subgradient split evenly)
    return divide(
        astype(equal(x, z), z.dtype), add(1.0, astype(equal(y, z), z.dtype))
    )


# maximum/minimum/fmax/fmin: the derivative goes to the argument that won
maximum = _symmetric("maximum", np.maximum, _balanced_eq, reads=("ans", 0, 1))
minimum = _symmetric("minimum", np.minimum, _balanced_eq, reads=("ans", 0, 1))
fmax = _symmetric("fmax", np.fmax, _balanced_eq, reads=("ans", 0, 1))
fmin = _symmetric("fmin", np.fmin, _balanced_eq, reads=("ans", 0, 1))

_where = defprim(
    "where", np.where,
    jvp=[None, lambda t, ans, c, x, y: _where(c, t, 0.0), lambda t, ans, c, x, y: _where(c, 0.0, t)],
    vjp=[None, lambda g, ans, c, x, y: _where(c, g, 0.0), lambda g, ans, c, x, y: _where(c, 0.0, g)],
    batch="elementwise",
    test={"make": lambda rng, shape: (
        (rng.standard_normal(shape) > 0, rng.standard_normal(shape), rng.standard_normal(shape[1:])),
        {})},
        reads=(0,),
)


def where(condition, x=None, y=None):
    """``x`` where ``condition`` holds, else ``y`` (``numpy.where``).

    The derivative flows to the branch that was selected.  With only a
    condition, the indices where it holds (``numpy.nonzero``, no derivative).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.where(x > 0, x, 2 * x).sum())(fnp.array([-1.0, 1.0]))
        array([2., 1.])
    """
    if x is None and y is None:
        return np.nonzero(concrete(condition))
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
    return _where(condition, x, y)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace nan and infinities by numbers (``numpy.nan_to_num``).

    The derivative is 1 at finite entries and 0 where a value was replaced.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: fnp.nan_to_num(x).sum())(fnp.array([1.0, fnp.inf]))
        array([1., 0.])
    """
    if not _traced(x):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    if np.iscomplexobj(concrete(x)):
        re = nan_to_num(real(x), nan=nan, posinf=posinf, neginf=neginf)
        im = nan_to_num(imag(x), nan=nan, posinf=posinf, neginf=neginf)
        return add(re, multiply(1j, im))
    info = np.finfo(np.result_type(concrete(x)))
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = _where(isnan(x), nan, x)
    out = _where(isposinf(x), posinf, out)
    return _where(isneginf(x), neginf, out)


# --- complex parts ------------------------------------------------------------

def _linear_part(name, numpy_function, vjp):
    """real, imag, conjugate: real-linear maps, so the jvp is the map itself; ``vjp``
    is its adjoint (fgrad's convention for complex cotangents)."""

    def jvp(t, ans, x):
        return row(t)

    row = defprim(name, numpy_function, jvp=[jvp], vjp=[vjp], batch="elementwise",
                  test={"complex": True}, reads=())
    return row


real = _linear_part("real", np.real, lambda g, ans, x: g)
imag = _linear_part("imag", np.imag, lambda g, ans, x: multiply(-1j, g))
conjugate = _linear_part("conjugate", np.conjugate, lambda g, ans, x: conjugate(g))
conj = conjugate


def angle(z, deg=False):
    """The argument of complex numbers (``numpy.angle``), ``arctan2(imag, real)``.

    Its derivative at ``z = x + iy`` is ``(x dy - y dx) / |z|**2``; for real
    inputs it is piecewise constant (0 or pi) and has derivative 0.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> float(fnp.angle(1j))
        1.5707963267948966
        >>> complex(fgrad.grad(fnp.angle)(1.0 + 1.0j))
        (-0.5-0.5j)
    """
    if not _traced(z):
        return np.angle(z, deg=deg)
    if np.iscomplexobj(concrete(z)):
        a = arctan2(imag(z), real(z))
    else:
        a = arctan2(0, z)
    if deg:
        a = multiply(a, 180 / np.pi)
    return a


# --- dtype conversion ------------------------------------------------------------

def _cast(x, dtype):
    """``x`` as ``dtype``: a new array (a numpy scalar for 0-d input); an array of
    another library (dask, cupy) is cast by its own ``astype``, never converted."""
    if is_duck_array(x):
        return x.astype(dtype)
    return np.asarray(x).astype(dtype) if np.ndim(x) else np.asarray(x, dtype=dtype)[()]


_astype_float = defprim(
    "astype", _cast,
    jvp=[lambda t, ans, x, dtype: _astype_float(t, dtype=dtype)],
    vjp=[lambda g, ans, x, dtype: g],  # cast back to x's dtype centrally
    batch="elementwise",
    test={"skip": "a dtype conversion: its rules are exercised by every float32 test"},
    reads=(),
)
_astype_nondiff = defprim(
    "astype_nondiff", lambda x, dtype: x.astype(dtype) if is_duck_array(x) else np.asarray(x).astype(dtype),
    nondiff=True,
    batch="elementwise",
)


def astype(x, dtype):
    """``x.astype(dtype)``; a cast to an integer or boolean dtype has zero derivative.

    Example:
        >>> import fgrad.numpy as fnp, numpy as np
        >>> fnp.astype(np.arange(3), np.float32).dtype
        dtype('float32')
    """
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        return _astype_float(x, dtype=dtype)
    return _astype_nondiff(x, dtype=dtype)


# --- broadcasting back (used centrally by reverse mode) ---------------------------


def _sum_to_shape_impl(x, shape):
    x = as_array(x)  # an array of another library (dask, cupy) stays one
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    if axes:
        if type(x) is np.ndarray:  # what np.sum runs, minus its wrapper
            x = np.add.reduce(x, axis=axes, keepdims=True)
        else:
            x = np.sum(x, axis=axes, keepdims=True)
    return x.reshape(shape)


def _broadcast_like(g, ans, x, shape):
    return PRIMITIVES["broadcast_to"].fn(g, shape=tuple(x.shape))  # a row of shape.py, above


def _sum_to_shape_batch(args, dims, shape):
    # the leading axes are the ones summed away: park the batch axis right before
    # the axes that line up with `shape`, and keep it
    x, d = args[0], dims[0]
    lead = np.ndim(concrete(x)) - 1 - len(shape)
    if d != lead:  # move axis d to lead with the transpose row (shape.py, above)
        order = [n for n in range(np.ndim(concrete(x))) if n != d]
        order.insert(lead, d)
        x = PRIMITIVES["transpose"].fn(x, axes=tuple(order))
    return _sum_to_shape(x, shape=(np.shape(concrete(x))[lead],) + tuple(shape)), 0


def _sum_to_shape_shape(x, shape):
    xs, shape = _shp.shape(x), tuple(shape)
    lead = len(xs) - len(shape)
    if lead < 0 or np.broadcast_shapes(xs, shape) != xs:
        raise ValueError(f"sum_to_shape: shape {shape} does not broadcast to {xs}")
    summed = lead > 0 or any(n == 1 and xs[lead + i] != 1 for i, n in enumerate(shape))
    dt = _shp.dtype(x)
    return shape, np.add.reduce(np.ones(1, dt)).dtype if summed else dt


_sum_to_shape = defprim(
    "sum_to_shape", _sum_to_shape_impl,
    jvp=[lambda t, ans, x, shape: _sum_to_shape(t, shape=shape)],
    vjp=[_broadcast_like],
    batch=_sum_to_shape_batch,
    test={"make": lambda rng, shape: ((rng.standard_normal((2,) + shape),), {"shape": shape})},
    reads=(0, 1), shape=_sum_to_shape_shape,
)


def sum_to_shape(x, shape):
    """Sum ``x`` down to ``shape`` (undo broadcasting): leading axes, then size-1 axes.

    Reverse mode applies it to every cotangent whose shape differs from its
    argument's.

    Example:
        >>> import fgrad.numpy as fnp
        >>> fnp.sum_to_shape(fnp.ones((2, 3)), (1, 3))
        array([[2., 2., 2.]])
    """
    return _sum_to_shape(x, shape=tuple(shape))


# --- non-differentiable ------------------------------------------------------------

stop_gradient = defprim("stop_gradient", lambda x: x, nondiff=True, batch="elementwise")


def _nondiff(name, impl):
    return defprim(name, impl, nondiff=True, batch="elementwise")


floor = _nondiff("floor", np.floor)
ceil = _nondiff("ceil", np.ceil)
rint = _nondiff("rint", np.rint)
trunc = _nondiff("trunc", np.trunc)
fix = _nondiff("fix", np.fix)
round = _nondiff("round", np.round)
around = round
floor_divide = _nondiff("floor_divide", np.floor_divide)
heaviside = _nondiff("heaviside", np.heaviside)
spacing = _nondiff("spacing", np.spacing)
greater = _nondiff("greater", np.greater)
greater_equal = _nondiff("greater_equal", np.greater_equal)
less = _nondiff("less", np.less)
less_equal = _nondiff("less_equal", np.less_equal)
equal = _nondiff("equal", np.equal)
not_equal = _nondiff("not_equal", np.not_equal)
logical_and = _nondiff("logical_and", np.logical_and)
logical_or = _nondiff("logical_or", np.logical_or)
logical_not = _nondiff("logical_not", np.logical_not)
logical_xor = _nondiff("logical_xor", np.logical_xor)
isnan = _nondiff("isnan", np.isnan)
isinf = _nondiff("isinf", np.isinf)
isfinite = _nondiff("isfinite", np.isfinite)
isposinf = _nondiff("isposinf", np.isposinf)
isneginf = _nondiff("isneginf", np.isneginf)
isreal = _nondiff("isreal", np.isreal)
iscomplex = _nondiff("iscomplex", np.iscomplex)
isnat = _nondiff("isnat", np.isnat)
signbit = _nondiff("signbit", np.signbit)
_frexp_exponent = _nondiff("frexp_exponent", lambda x: np.frexp(x)[1])
# integer-only ufuncs: no derivative (numpy itself rejects float inputs)
gcd = _nondiff("gcd", np.gcd)
lcm = _nondiff("lcm", np.lcm)
bitwise_and = _nondiff("bitwise_and", np.bitwise_and)
bitwise_or = _nondiff("bitwise_or", np.bitwise_or)
bitwise_xor = _nondiff("bitwise_xor", np.bitwise_xor)
invert = _nondiff("invert", np.invert)
bitwise_not = bitwise_invert = invert
bitwise_count = _nondiff("bitwise_count", np.bitwise_count)
left_shift = _nondiff("left_shift", np.left_shift)
right_shift = _nondiff("right_shift", np.right_shift)
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift
