"""numpy's ``out=`` and ``where=`` keyword arguments in fgrad.numpy.

Every fgrad.numpy function whose numpy counterpart takes ``out=`` or ``where=`` is
found by reading numpy's signatures (ufuncs take both), not from a hand list.  On
traced values:

* ``out=`` is refused with a TypeError naming the function, ``out=`` and the fix
  (use the returned value): a traced result cannot be written into an array;
* ``where=`` is supported, with derivatives, by the reductions in ``WHERE_SUPPORTED``
  (numpy's result there is defined without ``out=``); everywhere else (ufuncs,
  whose masked-out entries numpy leaves uninitialized without ``out=``, and the
  matrix products) it is refused with a TypeError naming it and pointing to
  ``fnp.where``.
"""

import inspect
import re

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

X = np.array([0.3, 0.6, 0.9])
MASK = np.array([True, False, True])
INTS = np.array([3, 6, 12])


def _numpy_keywords(theirs):
    if isinstance(theirs, np.ufunc):
        return {"out", "where"}
    try:
        return set(inspect.signature(theirs).parameters)
    except (TypeError, ValueError):  # a C function without a signature (np.dot on numpy
        # 2.2): its docstring's first line is one, "dot(a, b, out=None)"
        first = (getattr(theirs, "__doc__", None) or "").strip().splitlines()
        match = re.match(r"^[\w.]+\((.*)\)\s*$", first[0]) if first else None
        if match is None:
            return set()
        return {p.strip().split("=")[0].lstrip("*") for p in match.group(1).split(",")}


def _functions():
    """(name, ours, theirs, numpy's keywords) of every fgrad.numpy function with a
    numpy counterpart, in fgrad.numpy, fgrad.numpy.linalg and fgrad.numpy.fft."""
    found = []
    spaces = [("", fnp, np, [n for n in dir(fnp) if not n.startswith("_")]),
              ("linalg.", fnp.linalg, np.linalg, fnp.linalg.__all__),
              ("fft.", fnp.fft, np.fft, fnp.fft.__all__)]
    for prefix, ours_mod, theirs_mod, names in spaces:
        for name in names:
            ours, theirs = getattr(ours_mod, name), getattr(theirs_mod, name, None)
            if (theirs is None or not callable(ours) or isinstance(ours, type)
                    or isinstance(theirs, type) or not callable(theirs)):
                continue
            found.append((prefix + name, ours, theirs, _numpy_keywords(theirs)))
    return found


FUNCTIONS = _functions()
TAKING = {kw: [f for f in FUNCTIONS if kw in f[3]] for kw in ("out", "where")}

# arguments (x traced) for functions that need more than (x,) or (x, x)
SPECIAL = {
    "take": lambda x: (x, [0, 1]),
    "choose": lambda x: ([0, 1, 0], [x, x]),
    "compress": lambda x: ([True, False, True], x),
    "einsum": lambda x: ("i->i", x),
    "clip": lambda x: (x, 0.2, 0.8),
    "percentile": lambda x: (x, 50), "nanpercentile": lambda x: (x, 50),
    "quantile": lambda x: (x, 0.5), "nanquantile": lambda x: (x, 0.5),
    "concatenate": lambda x: ([x, x],), "stack": lambda x: ([x, x],),
    "ldexp": lambda x: (x, 2),
    "trace": lambda x: (fnp.outer(x, x),),
    "linalg.multi_dot": lambda x: ([fnp.outer(x, x), x],),
    "matvec": lambda x: (fnp.outer(x, x), x), "vecmat": lambda x: (x, fnp.outer(x, x)),
    "fft.fft2": lambda x: (fnp.outer(x, x),), "fft.ifft2": lambda x: (fnp.outer(x, x),),
    "fft.rfft2": lambda x: (fnp.outer(x, x),), "fft.irfft2": lambda x: (fnp.outer(x, x),),
}
INTEGER_ONLY = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert",
                "bitwise_left_shift", "bitwise_right_shift", "bitwise_count", "invert",
                "left_shift", "right_shift", "gcd", "lcm"}
SKIP = {"isnat"}  # datetimes only: nothing fgrad traces


def _arguments(name, theirs, sample):
    """A function of x giving arguments numpy accepts (checked on ``sample``)."""
    candidates = [SPECIAL[name]] if name in SPECIAL else [lambda x: (x,), lambda x: (x, x)]
    for make in candidates:
        try:
            theirs(*make(sample))
        except (TypeError, ValueError):
            continue
        return make
    raise AssertionError(f"no sample arguments for {name}")  # pragma: no cover


def _result_like(theirs, args):
    want = theirs(*args)
    if isinstance(want, tuple):
        return tuple(np.full_like(w, 7) for w in want)
    return np.full_like(np.asarray(want), 7)


def _traced_call(name, fn):
    """Run ``fn(x)`` on a traced x: under vjp for float functions, vmap for integer ones."""
    if name in INTEGER_ONLY:
        return fgrad.vmap(fn)(INTS[None, :].repeat(2, 0))
    return fgrad.vjp(fn, X)


def _ids(functions):
    return [f[0] for f in functions if f[0] not in SKIP]


def _by_name(kw, name):
    return next(f for f in TAKING[kw] if f[0] == name)


def _names_function(message, name):
    """The message names the function: as called, or as numpy or fgrad spell it
    (``fnp.acos`` is numpy's ``arccos``, ``fnp.around`` fgrad's ``round``)."""
    _, ours, theirs, _ = next(f for f in FUNCTIONS if f[0] == name)
    spellings = {name.split(".")[-1], getattr(theirs, "__name__", ""),
                 getattr(ours, "__name__", "")} - {""}
    return any(s in message for s in spellings)


def test_enumeration_finds_the_usual_suspects():
    assert {"sum", "sin", "add", "cumsum", "dot", "fft.fft", "linalg.multi_dot"} <= set(
        _ids(TAKING["out"]))
    assert {"sum", "mean", "var", "sin", "matmul"} <= set(_ids(TAKING["where"]))


@pytest.mark.parametrize("name", _ids(TAKING["out"]))
def test_out_on_traced_values_is_refused_and_names_the_fix(name):
    _, ours, theirs, _ = _by_name("out", name)
    sample = INTS if name in INTEGER_ONLY else X
    make = _arguments(name, theirs, sample)
    out = _result_like(theirs, make(sample))
    before = [o.copy() for o in (out if isinstance(out, tuple) else (out,))]
    with pytest.raises(TypeError) as info:
        _traced_call(name, lambda x: ours(*make(x), out=out))
    message = str(info.value)
    assert _names_function(message, name) and "out=" in message, message
    assert "returned value" in message, message
    for o, b in zip(out if isinstance(out, tuple) else (out,), before):
        np.testing.assert_array_equal(o, b)  # nothing was written


@pytest.mark.parametrize("name", _ids(TAKING["out"]))
def test_out_on_plain_values_is_numpy_or_a_clear_error(name):
    _, ours, theirs, _ = _by_name("out", name)
    sample = INTS if name in INTEGER_ONLY else X
    make = _arguments(name, theirs, sample)
    args = make(sample)
    want_out = _result_like(theirs, args)
    theirs(*args, out=want_out)
    out = _result_like(theirs, args)
    try:
        ours(*args, out=out)
    except TypeError as err:  # fgrad's function has no out=: it says so
        assert _names_function(str(err), name) and "out=" in str(err), str(err)
        assert "numpy." in str(err), str(err)
        return
    for o, w in zip(out if isinstance(out, tuple) else (out,),
                    want_out if isinstance(want_out, tuple) else (want_out,)):
        np.testing.assert_array_equal(o, w)


# --- where= ----------------------------------------------------------------------------

# The reductions: where= has a defined result without out=; fgrad differentiates it.
# name -> extra keyword arguments numpy needs with a mask
WHERE_SUPPORTED = {
    "sum": {}, "mean": {}, "prod": {}, "var": {}, "std": {},
    "max": {"initial": -5.0}, "min": {"initial": 5.0},
    "amax": {"initial": -5.0}, "amin": {"initial": 5.0},
    "nansum": {}, "nanprod": {}, "nanmean": {}, "nanvar": {}, "nanstd": {},
    "nanmax": {"initial": -5.0}, "nanmin": {"initial": 5.0},
}
WHERE_VALUES_ONLY = {"all", "any"}  # boolean results: a value, no derivative


@pytest.mark.parametrize("name", sorted(WHERE_SUPPORTED))
def test_where_in_reductions_is_supported_with_derivatives(name):
    _, ours, theirs, _ = _by_name("where", name)
    kw = WHERE_SUPPORTED[name]
    x2 = np.array([[0.3, 0.6, 0.9], [1.2, 0.4, 0.8]])
    mask = np.array([[True, False, True], [True, True, False]])
    for axis in (None, 0, 1):
        def f(x, axis=axis):
            return ours(x, axis=axis, where=mask, **kw)

        got, _ = fgrad.vjp(f, x2)
        np.testing.assert_allclose(got, theirs(x2, axis=axis, where=mask, **kw), rtol=1e-13)
        fgrad.check_grads(f, (x2,), order=2, modes=("fwd", "rev"))
        xs = np.stack([x2, x2 + 0.1])
        np.testing.assert_allclose(fgrad.vmap(f)(xs), np.stack([f(x) for x in xs]),
                                   rtol=1e-13)


@pytest.mark.parametrize("name", sorted(WHERE_VALUES_ONLY))
def test_where_in_boolean_reductions(name):
    _, ours, theirs, _ = _by_name("where", name)
    got = fgrad.vmap(lambda x: ours(x > 0.5, where=MASK))(np.stack([X, X[::-1]]))
    np.testing.assert_array_equal(got, [theirs(X > 0.5, where=MASK),
                                        theirs(X[::-1] > 0.5, where=MASK)])


@pytest.mark.parametrize("name", [n for n in _ids(TAKING["where"])
                                  if n not in WHERE_SUPPORTED and n not in WHERE_VALUES_ONLY])
def test_where_elsewhere_on_traced_values_is_refused_and_names_the_fix(name):
    _, ours, theirs, _ = _by_name("where", name)
    sample = INTS if name in INTEGER_ONLY else X
    make = _arguments(name, theirs, sample)
    with pytest.raises(TypeError) as info:
        _traced_call(name, lambda x: ours(*make(x), where=MASK))
    message = str(info.value)
    assert _names_function(message, name) and "where=" in message, message
    assert "fnp.where" in message, message


@pytest.mark.parametrize("name", ["sin", "add", "sum"])
def test_default_out_and_where_are_accepted(name):
    """``out=None`` and ``where=True`` ask for nothing: accepted on traced values."""
    _, ours, theirs, _ = _by_name("where", name)
    make = _arguments(name, theirs, X)

    def f(x):
        return ours(*make(x), out=None, where=True)

    got, _ = fgrad.vjp(f, X)
    np.testing.assert_allclose(got, theirs(*make(X)))
    fgrad.check_grads(f, (X,), order=2, modes=("fwd", "rev"))


def test_plain_numpy_ufunc_where_on_a_tracer_is_refused():
    with pytest.raises(TypeError, match=r"sin.*where=.*fnp\.where"):
        fgrad.grad(lambda x: np.sum(np.sin(x, where=MASK)))(X)
