"""The generated entry of fgrad.jit: after a signature's program is compiled, a call
first goes through a ``__call__`` generated for the last signatures (exact types,
dtype identity, shapes, container types, lengths and dict keys), and only then
through the cache's dictionary.

These tests try to fool that entry: each warms a jitted function on one signature
(so the entry guards it), then calls it with another signature that differs in one
way only, and checks the result against eager mode on the new input and the
retracing count against the number of distinct signatures.
"""

import functools

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad import jit
from fgrad.jit import _GUARDED, _REGENERATIONS, Jitted


def _f(x):
    return fnp.sin(x) * 2.0 + 1.0


def _same(got, want):
    got_l, got_t = fgrad.tree.tree_flatten(got)
    want_l, want_t = fgrad.tree.tree_flatten(want)
    assert got_t == want_t
    for g, w in zip(got_l, want_l):
        assert type(g) is type(w), (type(g), type(w))
        assert np.shape(g) == np.shape(w)
        assert np.result_type(g) == np.result_type(w)
        np.testing.assert_array_equal(g, w)


def _warm(jf, *args):
    for _ in range(3):  # trace, compile on the first replay, then the entry is generated
        jf(*args)
    assert jf._guarded, "the signature was not guarded"


class _Sub(np.ndarray):
    pass


# (warm-up argument, a call with another signature)
_FOOLS = {
    "dtype": (np.ones(3), np.ones(3, np.float32)),
    "shape": (np.ones(3), np.ones(4)),
    "shape-transposed": (np.ones((3, 1)), np.ones((1, 3))),
    "0-d vs 1-element": (np.array(0.5), np.array([0.5])),
    "int vs float": (2, 2.0),
    "float vs int": (2.0, 2),
    "bool vs int": (True, 1),
    "0-d array vs float": (np.array(0.5), 0.5),
    "float vs 0-d array": (0.5, np.array(0.5)),
    "np.float64 vs float": (np.float64(0.5), 0.5),
    "float vs np.float64": (0.5, np.float64(0.5)),
    "np.float32 vs np.float64": (np.float32(0.5), np.float64(0.5)),
    "complex vs float": (0.5 + 0j, 0.5),
    "int array vs float array": (np.arange(3), np.arange(3.0)),
    "byte order": (np.ones(3), np.ones(3, ">f8")),
}


@pytest.mark.parametrize("name", list(_FOOLS))
def test_the_entry_refuses_another_leaf_signature(name):
    warm, other = _FOOLS[name]
    jf = jit(_f)
    _warm(jf, warm)
    _same(jf(other), _f(other))
    assert jf.cache_info()["traces"] == 2
    _same(jf(warm), _f(warm))  # the first signature still runs its own program
    _same(jf(other), _f(other))
    assert jf.cache_info()["traces"] == 2


def _g(t):
    a, b = t[0], t[1]
    return fnp.sum(a * 2.0) + (0.0 if b is None else fnp.sum(b))


@pytest.mark.parametrize("warm, other", [
    ((np.ones(2), np.ones(2)), [np.ones(2), np.ones(2)]),  # tuple vs list
    ([np.ones(2), np.ones(2)], (np.ones(2), np.ones(2))),
    ((np.ones(2), None), (np.ones(2), np.ones(2))),  # None vs an array
    ((np.ones(2), np.ones(2)), (np.ones(2), None)),
    ((np.ones(2), np.ones(2)), (np.ones(2), np.ones(2), np.ones(2))),  # a longer tuple
    ((np.ones(2), (np.ones(2),)), (np.ones(2), [np.ones(2)])),  # nested
    ((np.ones(2), np.ones(2)), (np.ones(2), (np.ones(2),))),  # a leaf vs a node
])
def test_the_entry_refuses_another_structure(warm, other):
    jf = jit(_g)
    _warm(jf, warm)
    want = _g(other)
    _same(jf(other), want)
    assert jf.cache_info()["traces"] == 2


def _h(d):
    return fnp.sum(d["a"]) * 2.0 + sum(fnp.sum(v) for k, v in d.items() if k != "a")


@pytest.mark.parametrize("other", [
    {"a": np.ones(2), "c": np.ones(2)},  # other keys, same length
    {"a": np.ones(2), "b": np.ones(2), "c": np.ones(2)},  # one more key
    {"a": np.ones(2)},  # one key fewer
    {"a": np.ones(2), "b": np.ones(3)},  # another shape inside
])
def test_the_entry_refuses_another_dict(other):
    jf = jit(_h)
    warm = {"a": np.ones(2), "b": np.ones(2)}
    _warm(jf, warm)
    _same(jf(other), _h(other))
    assert jf.cache_info()["traces"] == 2
    _same(jf(warm), _h(warm))


def test_a_dict_subclass_or_a_namedtuple_is_not_taken_for_the_plain_node():
    import collections

    Pair = collections.namedtuple("Pair", "a b")
    jf = jit(_g)
    _warm(jf, (np.ones(2), np.ones(2)))
    p = Pair(np.ones(2), np.ones(2))
    _same(jf(p), _g(p))
    assert jf.cache_info()["traces"] == 2
    jd = jit(_h)
    _warm(jd, {"a": np.ones(2), "b": np.ones(2)})
    od = collections.OrderedDict(a=np.ones(2), b=np.ones(2))
    want = _h(od)
    _same(jd(od), want)


def test_an_ndarray_subclass_is_not_taken_for_an_ndarray():
    x = np.linspace(0.1, 1.0, 3)
    fresh = jit(_f)
    try:
        want = fresh(x.view(_Sub))
        error = None
    except Exception as e:  # whatever a fresh jit does with it, the warm one does too
        want, error = None, type(e)
    jf = jit(_f)
    _warm(jf, x)
    if error is None:
        _same(jf(x.view(_Sub)), want)
        assert jf.cache_info()["traces"] == 2  # its own signature
    else:
        with pytest.raises(error):
            jf(x.view(_Sub))


def test_tracer_arguments_go_through_the_program_interpreted():
    jf = jit(_f)
    x = np.linspace(0.1, 1.0, 3)
    _warm(jf, x)
    g = fgrad.grad(lambda x: fnp.sum(jf(x)))(x)
    np.testing.assert_allclose(g, 2.0 * np.cos(x), rtol=1e-14)
    jv = fgrad.vmap(jf)(np.stack([x, 2 * x]))
    np.testing.assert_array_equal(jv, np.stack([_f(x), _f(2 * x)]))
    _warm(jf, 0.5)
    d = fgrad.grad(jf)(0.5)
    assert d == pytest.approx(2.0 * np.cos(0.5), rel=1e-15)
    # and the guarded signatures still run
    _same(jf(x), _f(x))
    _same(jf(0.5), _f(0.5))


def test_keyword_calls_and_their_order():
    def f(x, y=1.0):
        return x * 2.0 + y

    jf = jit(f)
    _warm(jf, np.ones(2))
    _same(jf(np.ones(2), 3.0), f(np.ones(2), 3.0))  # another number of arguments
    _same(jf(x=np.ones(2)), f(x=np.ones(2)))  # a keyword where the entry has a position
    _same(jf(np.ones(2), y=np.ones(2)), f(np.ones(2), y=np.ones(2)))
    a = jf(x=np.ones(2), y=2.0)
    b = jf(y=2.0, x=np.ones(2))  # the order of keywords does not matter
    _same(a, f(np.ones(2), 2.0))
    _same(b, a)
    traces = jf.cache_info()["traces"]
    jf(y=2.0, x=np.ones(2))
    assert jf.cache_info()["traces"] == traces


def test_static_arguments_with_the_entry():
    def f(x, n, mode="sin"):
        for _ in range(n):
            x = fnp.sin(x) if mode == "sin" else fnp.cos(x)
        return x

    jf = jit(f, static_argnums=1, static_argnames="mode")
    x = np.linspace(0, 1, 4)
    for _ in range(3):
        _same(jf(x, 2), f(x, 2))
    _same(jf(x, 3), f(x, 3))
    _same(jf(x, 2, mode="cos"), f(x, 2, mode="cos"))
    _same(jf(x, 2), f(x, 2))
    assert jf.cache_info()["traces"] == 3


def test_several_signatures_alternate_without_retracing():
    jf = jit(_f)
    args = [np.ones(3), np.ones(4), 0.5, np.float32(0.25), np.ones((2, 2)), 3,
            np.ones(3, np.float32)]
    assert len(args) > _GUARDED
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = args[rng.integers(len(args))]
        a = a * rng.uniform(0.5, 1.5) if isinstance(a, np.ndarray) else a
        _same(jf(a), _f(a))
    assert jf.cache_info() == {"size": len(args), "maxsize": 64, "traces": len(args)}
    assert jf._regenerations <= _REGENERATIONS  # no code generation per call


def test_guarded_signatures_are_not_dropped_from_the_cache_while_used():
    jf = Jitted(_f, cache_size=3)
    hot = np.ones(2)
    _warm(jf, hot)
    for k in range(3, 10):  # new signatures, each once, with the hot one in between
        jf(np.ones(k))
        _same(jf(hot), _f(hot))
    assert jf.cache_info()["traces"] == 1 + 7
    assert jf.cache_info()["size"] == 3


def test_a_guarded_signature_dropped_from_a_full_cache_traces_again():
    jf = Jitted(_f, cache_size=1)
    _warm(jf, np.ones(2))
    _same(jf(np.ones(3)), _f(np.ones(3)))  # the only entry goes
    assert jf.cache_info() == {"size": 1, "maxsize": 1, "traces": 2}
    _same(jf(np.ones(2)), _f(np.ones(2)))
    assert jf.cache_info() == {"size": 1, "maxsize": 1, "traces": 3}


def test_clear_cache_forgets_the_entry():
    jf = jit(_f)
    _warm(jf, np.ones(2))
    jf.clear_cache()
    assert type(jf) is Jitted and not jf._guarded
    _same(jf(np.ones(2)), _f(np.ones(2)))
    assert jf.cache_info() == {"size": 1, "maxsize": 64, "traces": 2}


def test_debug_nans_is_checked_on_guarded_signatures():
    def f(x):
        return fnp.sum(fnp.log(x) * 2.0)

    jf = jit(f)
    _warm(jf, np.ones(2))
    with fgrad.debug_nans():
        with pytest.raises(FloatingPointError, match="log"):
            jf(-np.ones(2))
    assert np.isnan(jf(-np.ones(2)))


def test_wrapping_methods_and_pytree_outputs_survive_the_entry():
    def f(x, y):
        """doc of f"""
        return {"s": x + y, "p": (x * y, None)}

    jf = jit(f)
    _warm(jf, np.ones(2), 2.0)
    assert jf.__wrapped__ is f and jf.__name__ == "f" and jf.__doc__ == "doc of f"
    assert isinstance(jf, Jitted)
    _same(jf(np.arange(2.0), 3.0), f(np.arange(2.0), 3.0))

    class Model:
        def __init__(self, w):
            self.w = w

        @jit
        def apply(self, x):
            return x * 2.0

    m = Model(1.0)
    # the instance is an argument: a pytree leaf refused by jit, or a static value
    with pytest.raises(TypeError, match="static"):
        m.apply(np.ones(2))

    class Model2:
        @functools.partial(jit, static_argnums=0)
        def apply(self, x):
            return x * 2.0

        def __hash__(self):
            return 0

    m2 = Model2()
    for _ in range(3):
        _same(m2.apply(np.ones(2)), np.ones(2) * 2.0)
    assert Model2.apply.cache_info()["traces"] == 1


def test_non_contiguous_and_readonly_inputs():
    jf = jit(_f)
    x = np.linspace(0.0, 1.0, 8)
    _warm(jf, x[:4].copy())
    _same(jf(x[::2]), _f(x[::2]))
    y = x[:4].copy()
    y.flags.writeable = False
    _same(jf(y), _f(y))
    assert jf.cache_info()["traces"] == 1


def test_random_signature_sequences_match_eager_mode():
    """Random calls drawn from a pool of signatures that differ in one detail at a
    time: every result is eager mode's, and each signature traces exactly once."""
    pool = [
        lambda r: (r.standard_normal(3),),
        lambda r: (r.standard_normal(3).astype(np.float32),),
        lambda r: (r.standard_normal((3, 1)),),
        lambda r: (float(r.standard_normal()),),
        lambda r: (np.float64(r.standard_normal()),),
        lambda r: (np.array(r.standard_normal()),),
        lambda r: (int(r.integers(1, 5)),),
        lambda r: ((r.standard_normal(3), r.standard_normal(3)),),
        lambda r: ([r.standard_normal(3), r.standard_normal(3)],),
        lambda r: ({"a": r.standard_normal(3), "b": 1.5},),
        lambda r: ({"a": r.standard_normal(3), "c": 1.5},),
        lambda r: (r.standard_normal(3), r.standard_normal(3)),
    ]

    def f(*args):
        leaves = fgrad.tree.tree_flatten(args)[0]
        out = 0.0
        for v in leaves:
            out = out + fnp.sum(fnp.sin(v) * 2.0)
        return out

    jf = jit(f)
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(400):
        k = int(rng.integers(len(pool)))
        seen.add(k)
        args = pool[k](rng)
        _same(jf(*args), f(*args))
    assert jf.cache_info()["traces"] == len(seen)
