"""numpy's names in fgrad.numpy: every type and dtype name (the same objects), the
dtype helpers on tracers, ``fnp.ndarray`` accepting traced values, ``real_if_close``
and the ``fnp.at`` helper for JAX's scatter idiom on constant arrays."""

import numpy as np
import pytest
from numpy_checks import loop, same

import fgrad
import fgrad.numpy as fnp
from fgrad.core import Tracer


def _numpy_type_names():
    """Every name in numpy's namespace bound to a scalar type or dtype class, plus the
    dtype information classes."""
    names = {n for n in dir(np) if not n.startswith("_")
             and isinstance(getattr(np, n), type)
             and issubclass(getattr(np, n), (np.generic, np.dtype))}
    return names | {"finfo", "iinfo"}


def test_every_numpy_type_name_is_the_same_object_in_fgrad_numpy():
    names = _numpy_type_names()
    assert len(names) > 40  # (the enumeration found numpy's types)
    missing = sorted(n for n in names if not hasattr(fnp, n))
    assert not missing, f"numpy type names missing from fgrad.numpy: {missing}"
    different = sorted(n for n in names if getattr(fnp, n) is not getattr(np, n))
    assert not different, f"not numpy's own objects: {different}"


@pytest.mark.parametrize("name", [
    "longdouble", "clongdouble", "intc", "uintc", "bool_", "bool", "str_", "bytes_", "void",
    "object_", "dtype", "finfo", "iinfo", "generic", "number", "integer", "signedinteger",
    "unsignedinteger", "inexact", "floating", "complexfloating", "flexible", "character",
    "datetime64", "timedelta64", "half", "single", "double", "csingle", "cdouble", "byte",
    "ubyte", "short", "ushort", "long", "ulong", "longlong", "ulonglong", "intp", "uintp",
    "int_", "uint", "float16", "uint16", "uint32", "uint64", "float128", "complex256",
    "issubdtype", "isdtype", "promote_types", "can_cast", "typecodes", "sctypeDict",
    "ScalarType", "True_", "False_", "dtypes", "mintypecode", "common_type",
])
def test_named_types_and_helpers(name):
    if not hasattr(np, name):
        assert not hasattr(fnp, name)  # e.g. float128 only where numpy has it
        return
    ours, theirs = getattr(fnp, name), getattr(np, name)
    # numpy's object, or (the dtype helper functions) a function calling numpy's with the
    # same arguments that carries fgrad's docstring (fgrad/numpy/_numpy_itself.py)
    assert ours is theirs or getattr(ours, "wraps_numpy", None) is theirs


def test_code_written_against_numpy_names_runs_under_grad():
    def f(x):
        assert fnp.issubdtype(x.dtype, fnp.floating) and not fnp.issubdtype(x.dtype, fnp.integer)
        assert fnp.isdtype(x.dtype, "real floating")
        eps = fnp.finfo(x.dtype).eps
        assert fnp.iinfo(fnp.intc).max == np.iinfo(np.intc).max
        assert fnp.promote_types(x.dtype, fnp.float32) == fnp.float64
        return fnp.sum(x * x) * (1 + eps)

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(fgrad.grad(f)(x), 2 * x * (1 + np.finfo(float).eps))


def test_dtype_helpers_through_numpy_dispatch():
    seen = {}

    def f(x):
        seen["can_cast"] = np.can_cast(x, np.float32)
        seen["common_type"] = np.common_type(x)
        seen["result_type"] = np.result_type(x, 1.0)
        return x.sum()

    fgrad.grad(f)(np.ones(2, np.float32))
    assert seen == {"can_cast": True, "common_type": np.float32, "result_type": np.float32}
    # the minimal dtype of a value depends on the value: a clear refusal, no recursion
    with pytest.raises(TypeError, match="min_scalar_type"):
        fgrad.grad(lambda x: (np.min_scalar_type(x), x)[1])(1.0)


# --- fnp.ndarray -----------------------------------------------------------------------


def _is_array(x):
    return isinstance(x, fnp.ndarray)


def test_ndarray_isinstance_under_every_transform():
    x = np.array([0.5, 1.5])
    seen = []

    def f(v):
        seen.append(_is_array(v))
        return fnp.sum(fnp.sin(v))

    fgrad.grad(f)(x)
    fgrad.jvp(f, (x,), (x,))
    fgrad.vmap(f)(np.ones((3, 2)))
    fgrad.hessian(f)(x)
    fgrad.grad(lambda y: fgrad.grad(f)(y).sum())(x)
    assert seen and all(seen)


def test_ndarray_isinstance_like_numpy_for_non_arrays():
    for obj in (np.ones(2), np.float64(1.0).reshape(()), np.ma.masked_array([1.0])):
        assert isinstance(obj, fnp.ndarray) == isinstance(obj, np.ndarray)
    for obj in (1.0, [1.0], (1,), np.float64(1.0), None, "x"):
        assert not isinstance(obj, fnp.ndarray)


def test_ndarray_subclass_checks_and_construction():
    assert issubclass(np.ndarray, fnp.ndarray)
    assert issubclass(np.ma.MaskedArray, fnp.ndarray)
    assert issubclass(Tracer, fnp.ndarray)
    fgrad.grad(lambda v: (issubclass(type(v), fnp.ndarray) or 1 / 0, v)[1])(1.0)
    assert not issubclass(list, fnp.ndarray) and not issubclass(float, fnp.ndarray)
    with pytest.raises(TypeError):  # as issubclass(3, np.ndarray)
        issubclass(3, fnp.ndarray)
    assert issubclass(fnp.ndarray, fnp.ndarray)
    a = fnp.ndarray((2, 3))
    assert type(a) is np.ndarray and a.shape == (2, 3)
    b = fnp.ndarray(shape=(2,), dtype=np.float32, buffer=np.zeros(2, np.float32))
    same(b, np.zeros(2, np.float32))
    assert fnp.ndarray.sum is np.ndarray.sum and fnp.ndarray.__name__ == "ndarray"
    with pytest.raises(AttributeError, match="fgrad.numpy.ndarray has no attribute"):
        fnp.ndarray.no_such_attribute  # noqa: B018


def test_library_code_checking_for_arrays_keeps_working():
    def normalize(v):  # library code: arrays pass through, other inputs are converted
        if not isinstance(v, fnp.ndarray):
            v = fnp.asarray(v, dtype=float)
        return v / fnp.sqrt(fnp.sum(v * v))

    x = np.array([3.0, 4.0])
    fgrad.check_grads(normalize, (x,), order=2, modes=("fwd", "rev"))
    same(normalize([3.0, 4.0]), x / 5)


# --- real_if_close -----------------------------------------------------------------------


def test_real_if_close_constants_are_numpy():
    for a, tol in [([2.0 + 1e-15j, 1.0], 100), ([2.0 + 1e-3j], 100), ([2.0 + 1e-3j], 1e-2),
                   (np.ones(3), 100), (np.array([1 + 0j], np.complex64), 100), (3 + 0j, 100)]:
        same(fnp.real_if_close(a, tol=tol), np.real_if_close(a, tol=tol))


def test_real_if_close_on_traced_real_values_is_the_identity():
    x = np.array([0.5, -1.0, 2.0])
    f = lambda v: fnp.real_if_close(fnp.sin(v)) * v  # noqa: E731
    got, _ = fgrad.vjp(f, x)
    same(got, np.real_if_close(np.sin(x)) * x)
    fgrad.check_grads(f, (x,), order=2, modes=("fwd", "rev"))
    xs = np.stack([x, 2 * x])
    np.testing.assert_allclose(fgrad.vmap(f)(xs), loop(lambda v: np.sin(v) * v, xs))
    x32 = x.astype(np.float32)
    assert fgrad.grad(lambda v: fnp.real_if_close(v).sum())(x32).dtype == np.float32


def test_real_if_close_on_traced_complex_values_is_refused_clearly():
    z = np.array([1.0 + 1e-16j, 2.0])
    with pytest.raises(TypeError, match=r"decided from its values.*fgrad.numpy.real"):
        fgrad.vjp(fnp.real_if_close, z)
    # the documented way: the decision as the user's own control flow
    def f(w):
        r = fnp.real(w) if fnp.all(fnp.abs(fnp.imag(w)) < 1e-12) else w
        return fnp.sum(r * r)

    np.testing.assert_allclose(fgrad.grad(f)(z), 2 * z.real)


# --- fnp.at: JAX's scatter idiom on constant and traced arrays ---------------------------------


def test_at_on_a_constant_array_differentiates_in_the_values():
    v = np.array([1.5, -0.5])
    f = lambda v: fnp.at(fnp.zeros(5))[np.array([1, 3])].set(v * v)  # noqa: E731
    got, _ = fgrad.vjp(f, v)
    want = np.zeros(5)
    want[[1, 3]] = v * v
    same(got, want)
    fgrad.check_grads(f, (v,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(fgrad.jacrev(f)(v), fgrad.jacfwd(f)(v))
    # a constant array with plain values stays numpy's
    same(fnp.at(np.zeros(3))[1].set(2.0), np.array([0.0, 2.0, 0.0]))
    same(fnp.at(np.ones(3))[[0, 0]].add(1.0), np.array([3.0, 1.0, 1.0]))


@pytest.mark.parametrize("op", ["set", "add", "multiply", "min", "max"])
def test_at_in_the_array_and_the_values(op):
    x, v = np.array([0.3, 1.2, -0.7, 2.0]), np.array([0.9, -0.4])
    idx = np.array([2, 0])

    def f(x, v):
        return getattr(fnp.at(x)[idx], op)(v) ** 2

    def ref(x, v):
        out = x.copy()
        ufunc = {"set": None, "add": np.add, "multiply": np.multiply, "min": np.minimum,
                 "max": np.maximum}[op]
        if ufunc is None:
            out[idx] = v
        else:
            ufunc.at(out, idx, v)
        return out ** 2

    got, _ = fgrad.vjp(f, x, v)
    np.testing.assert_allclose(got, ref(x, v))
    fgrad.check_grads(f, (x, v), order=2, modes=("fwd", "rev"))
    # the tracer spelling is the same function
    np.testing.assert_allclose(fgrad.grad(lambda x: f(x, v).sum())(x),
                               fgrad.grad(lambda x: (getattr(x.at[idx], op)(v) ** 2).sum())(x))
    xs, vs = np.stack([x, x + 1, x * 2]), np.stack([v, v - 1, v * 3])
    np.testing.assert_allclose(fgrad.vmap(f)(xs, vs), loop(ref, xs, vs))
    np.testing.assert_allclose(fgrad.vmap(f, in_axes=(None, 0))(x, vs),
                               loop(lambda w: ref(x, w), vs))


def test_numpy_arrays_have_no_at_attribute():
    # fgrad.numpy's creation functions return plain numpy arrays, and numpy's type
    # cannot be given an `.at`: the helper is the spelling that works for both
    with pytest.raises(AttributeError):
        fnp.zeros(3).at  # noqa: B018
