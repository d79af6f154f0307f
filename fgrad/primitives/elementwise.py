"""Rows of the rule table: elementwise arithmetic and math.

Each row names a numpy function and the partial derivatives of its output with
respect to each input, written with fgrad functions so that they are traced
again at higher order.  Broadcasting and dtype casting of the derivatives are
done centrally (fgrad.autodiff), so rules never unbroadcast by hand.
"""

import numpy as np

from ..core import defelementwise, defprim

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "positive",
    "power", "square", "reciprocal", "sqrt", "cbrt", "exp", "exp2", "expm1", "log",
    "log2", "log10", "log1p", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "absolute", "abs",
    "maximum", "minimum", "fmax", "fmin", "where", "real", "imag", "conjugate", "conj",
    "astype", "sign", "floor", "ceil", "rint", "round", "trunc", "fix",
    "greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor",
    "isnan", "isinf", "isfinite", "signbit", "floor_divide", "mod", "remainder",
    "sum_to_shape", "stop_gradient", "hypot", "arctan2", "logaddexp", "logaddexp2",
    "deg2rad", "rad2deg", "degrees", "radians", "sinc", "float_power",
]

# --- arithmetic ------------------------------------------------------------

add = defprim(
    "add", np.add,
    jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: t],
    vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: g],
    batch="elementwise",
)
subtract = defprim(
    "subtract", np.subtract,
    jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)],
    vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: negative(g)],
    batch="elementwise",
)
multiply = defprim(
    "multiply", np.multiply,
    jvp=[lambda t, ans, x, y: multiply(t, y), lambda t, ans, x, y: multiply(x, t)],
    vjp=[lambda g, ans, x, y: multiply(g, y), lambda g, ans, x, y: multiply(x, g)],
    batch="elementwise",
)
divide = defprim(
    "divide", np.divide,
    jvp=[
        lambda t, ans, x, y: divide(t, y),
        lambda t, ans, x, y: negative(multiply(t, divide(ans, y))),
    ],
    vjp=[
        lambda g, ans, x, y: divide(g, y),
        lambda g, ans, x, y: negative(multiply(g, divide(ans, y))),
    ],
    batch="elementwise",
)
true_divide = divide
negative = defprim(
    "negative", np.negative,
    jvp=[lambda t, ans, x: negative(t)],
    vjp=[lambda g, ans, x: negative(g)],
    batch="elementwise",
)
positive = defprim(
    "positive", np.positive,
    jvp=[lambda t, ans, x: t],
    vjp=[lambda g, ans, x: g],
    batch="elementwise",
)


def _power_d_base(ans, x, y):
    # y * x**(y-1), with the y == 0 case pinned to 0 (x**-1 is inf at x == 0)
    return where(equal(y, 0), 0.0, multiply(y, power(x, subtract(y, 1))))


def _power_d_exponent(ans, x, y):
    # d/dy x**y = log(x) * x**y; at x == 0 the product is taken as 0
    safe_x = where(equal(x, 0), 1.0, x)
    return multiply(log(safe_x), ans)


power = defelementwise(
    "power", np.power, _power_d_base, _power_d_exponent,
    test={"domain": [(0.2, 2.0), (-1.5, 1.5)]},
)
float_power = defelementwise(
    "float_power", np.float_power, _power_d_base, _power_d_exponent,
    test={"domain": [(0.2, 2.0), (-1.5, 1.5)], "float32": False},
)
square = defelementwise("square", np.square, lambda ans, x: multiply(2.0, x))
reciprocal = defelementwise(
    "reciprocal", np.reciprocal, lambda ans, x: negative(square(ans)),
    test={"domain": [(0.3, 2.0)]},
)
sqrt = defelementwise(
    "sqrt", np.sqrt, lambda ans, x: divide(0.5, ans), test={"domain": [(0.1, 3.0)]}
)
cbrt = defelementwise(
    "cbrt", np.cbrt, lambda ans, x: divide(1.0 / 3.0, square(ans)),
    test={"domain": [(0.1, 3.0)]},
)

# --- exponentials and logarithms --------------------------------------------

exp = defelementwise("exp", np.exp, lambda ans, x: ans)
exp2 = defelementwise("exp2", np.exp2, lambda ans, x: multiply(ans, np.log(2.0)))
expm1 = defelementwise("expm1", np.expm1, lambda ans, x: add(ans, 1.0))
log = defelementwise(
    "log", np.log, lambda ans, x: reciprocal(x), test={"domain": [(0.1, 3.0)]}
)
log2 = defelementwise(
    "log2", np.log2, lambda ans, x: divide(1.0 / np.log(2.0), x),
    test={"domain": [(0.1, 3.0)]},
)
log10 = defelementwise(
    "log10", np.log10, lambda ans, x: divide(1.0 / np.log(10.0), x),
    test={"domain": [(0.1, 3.0)]},
)
log1p = defelementwise(
    "log1p", np.log1p, lambda ans, x: reciprocal(add(x, 1.0)),
    test={"domain": [(-0.7, 3.0)]},
)
logaddexp = defelementwise(
    "logaddexp", np.logaddexp,
    lambda ans, x, y: exp(subtract(x, ans)),
    lambda ans, x, y: exp(subtract(y, ans)),
)
logaddexp2 = defelementwise(
    "logaddexp2", np.logaddexp2,
    lambda ans, x, y: exp2(subtract(x, ans)),
    lambda ans, x, y: exp2(subtract(y, ans)),
)

# --- trigonometric and hyperbolic -------------------------------------------

sin = defelementwise("sin", np.sin, lambda ans, x: cos(x))
cos = defelementwise("cos", np.cos, lambda ans, x: negative(sin(x)))
tan = defelementwise("tan", np.tan, lambda ans, x: add(1.0, square(ans)))
arcsin = defelementwise(
    "arcsin", np.arcsin, lambda ans, x: reciprocal(sqrt(subtract(1.0, square(x)))),
    test={"domain": [(-0.8, 0.8)]},
)
arccos = defelementwise(
    "arccos", np.arccos,
    lambda ans, x: negative(reciprocal(sqrt(subtract(1.0, square(x))))),
    test={"domain": [(-0.8, 0.8)]},
)
arctan = defelementwise(
    "arctan", np.arctan, lambda ans, x: reciprocal(add(1.0, square(x)))
)
arctan2 = defelementwise(
    "arctan2", np.arctan2,
    lambda ans, y, x: divide(x, add(square(x), square(y))),
    lambda ans, y, x: divide(negative(y), add(square(x), square(y))),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
)
hypot = defelementwise(
    "hypot", np.hypot,
    lambda ans, x, y: divide(x, ans),
    lambda ans, x, y: divide(y, ans),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
)
sinh = defelementwise("sinh", np.sinh, lambda ans, x: cosh(x))
cosh = defelementwise("cosh", np.cosh, lambda ans, x: sinh(x))
tanh = defelementwise("tanh", np.tanh, lambda ans, x: subtract(1.0, square(ans)))
arcsinh = defelementwise(
    "arcsinh", np.arcsinh, lambda ans, x: reciprocal(sqrt(add(square(x), 1.0)))
)
arccosh = defelementwise(
    "arccosh", np.arccosh, lambda ans, x: reciprocal(sqrt(subtract(square(x), 1.0))),
    test={"domain": [(1.2, 3.0)]},
)
arctanh = defelementwise(
    "arctanh", np.arctanh, lambda ans, x: reciprocal(subtract(1.0, square(x))),
    test={"domain": [(-0.8, 0.8)]},
)
deg2rad = defelementwise("deg2rad", np.deg2rad, lambda ans, x: np.pi / 180.0)
rad2deg = defelementwise("rad2deg", np.rad2deg, lambda ans, x: 180.0 / np.pi)
radians, degrees = deg2rad, rad2deg


def _sinc_d(ans, x):
    # d/dx sin(pi x)/(pi x) = (cos(pi x) - sinc(x)) / x, and 0 at x == 0
    safe_x = where(equal(x, 0), 1.0, x)
    return where(equal(x, 0), 0.0, divide(subtract(cos(multiply(np.pi, safe_x)), ans), safe_x))


sinc = defelementwise("sinc", np.sinc, _sinc_d)

# --- piecewise ----------------------------------------------------------------

absolute = defelementwise(
    "absolute", np.absolute, lambda ans, x: sign(x), test={"avoid": 0.0}
)
abs = absolute


def _balanced_eq(x, z, y):
    # 1 where x wins, 0 where y wins, 1/2 at ties (the subgradient split evenly)
    return divide(
        astype(equal(x, z), z.dtype), add(1.0, astype(equal(y, z), z.dtype))
    )


maximum = defelementwise(
    "maximum", np.maximum,
    lambda ans, x, y: _balanced_eq(x, ans, y),
    lambda ans, x, y: _balanced_eq(y, ans, x),
)
minimum = defelementwise(
    "minimum", np.minimum,
    lambda ans, x, y: _balanced_eq(x, ans, y),
    lambda ans, x, y: _balanced_eq(y, ans, x),
)
fmax = defelementwise(
    "fmax", np.fmax,
    lambda ans, x, y: _balanced_eq(x, ans, y),
    lambda ans, x, y: _balanced_eq(y, ans, x),
)
fmin = defelementwise(
    "fmin", np.fmin,
    lambda ans, x, y: _balanced_eq(x, ans, y),
    lambda ans, x, y: _balanced_eq(y, ans, x),
)

where = defprim(
    "where", np.where,
    jvp=[None, lambda t, ans, c, x, y: where(c, t, 0.0), lambda t, ans, c, x, y: where(c, 0.0, t)],
    vjp=[None, lambda g, ans, c, x, y: where(c, g, 0.0), lambda g, ans, c, x, y: where(c, 0.0, g)],
    batch="elementwise",
    test={"make": lambda rng, shape: (
        (rng.standard_normal(shape) > 0, rng.standard_normal(shape), rng.standard_normal(shape[1:])),
        {})},
)

# --- complex parts ------------------------------------------------------------

real = defprim(
    "real", np.real,
    jvp=[lambda t, ans, x: real(t)],
    vjp=[lambda g, ans, x: g],
    batch="elementwise",
)
imag = defprim(
    "imag", np.imag,
    jvp=[lambda t, ans, x: imag(t)],
    vjp=[lambda g, ans, x: multiply(-1j, g)],
    batch="elementwise",
)
conjugate = defprim(
    "conjugate", np.conjugate,
    jvp=[lambda t, ans, x: conjugate(t)],
    vjp=[lambda g, ans, x: conjugate(g)],
    batch="elementwise",
)
conj = conjugate

# --- dtype conversion ------------------------------------------------------------

_astype_float = defprim(
    "astype", lambda x, dtype: np.asarray(x).astype(dtype) if np.ndim(x) else np.asarray(x, dtype=dtype)[()],
    jvp=[lambda t, ans, x, dtype: _astype_float(t, dtype=dtype)],
    vjp=[lambda g, ans, x, dtype: g],  # cast back to x's dtype centrally
    batch="elementwise",
    test={"skip": "a dtype conversion: its rules are exercised by every float32 test"},
)
_astype_nondiff = defprim(
    "astype_nondiff", lambda x, dtype: np.asarray(x).astype(dtype), nondiff=True,
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
    x = np.asarray(x)
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1
    )
    if axes:
        x = np.sum(x, axis=axes, keepdims=True)
    return x.reshape(shape)


def _broadcast_like(g, ans, x, shape):
    from ..numpy import broadcast_to

    return broadcast_to(g, x.shape)


sum_to_shape = defprim(
    "sum_to_shape", _sum_to_shape_impl,
    jvp=[lambda t, ans, x, shape: sum_to_shape(t, shape=shape)],
    vjp=[_broadcast_like],
    test={"skip": "exercised by every broadcasting test of the binary primitives"},
)

# --- non-differentiable ------------------------------------------------------------

stop_gradient = defprim("stop_gradient", lambda x: x, nondiff=True, batch="elementwise")


def _nondiff(name, impl):
    return defprim(name, impl, nondiff=True, batch="elementwise")


sign = _nondiff("sign", np.sign)
floor = _nondiff("floor", np.floor)
ceil = _nondiff("ceil", np.ceil)
rint = _nondiff("rint", np.rint)
trunc = _nondiff("trunc", np.trunc)
fix = _nondiff("fix", np.fix)
round = _nondiff("round", np.round)
floor_divide = _nondiff("floor_divide", np.floor_divide)
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
signbit = _nondiff("signbit", np.signbit)

# x mod y = x - floor(x / y) * y: derivative 1 in x, -floor(x/y) in y
mod = defelementwise(
    "mod", np.mod,
    lambda ans, x, y: 1.0,
    lambda ans, x, y: negative(floor(divide(x, y))),
    test={"domain": [(0.3, 3.0), (0.7, 1.3)], "float32": False},
)
remainder = mod
