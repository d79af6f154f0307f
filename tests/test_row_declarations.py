"""Every row declares what its vjp reads (``reads=``), and the declaration is true.

Reverse mode keeps on its tape only what a row's ``reads=`` names (see
``fgrad.core.defprim``); a declaration that missed something would hand the rule
``None`` in its place.  fgrad itself never looks at a rule's code.  This test does,
on interpreters where it can: the bytecode of a rule shows which of its parameters
it loads, and every loaded one must be declared (declared ⊇ used).  Where the
bytecode reader fails its self-check (another interpreter, a new bytecode), the
check is skipped; the declarations are then still exercised by every gradient test.
"""

import dis

import pytest

import fgrad
import fgrad.numpy  # noqa: F401 - registers its rows
import fgrad.scipy.linalg  # noqa: F401
import fgrad.scipy.special  # noqa: F401
import fgrad.scipy.stats  # noqa: F401
from fgrad.core import PRIMITIVES, variadic


def _loaded(fn, skip=0):
    """``(loads ans, {argument positions loaded})`` of a rule ``fn([i,] g, ans, *args)``,
    or None when its parameters cannot be told apart (no code, ``*args``).

    ``skip`` counts leading parameters before ``g`` (1 for a variadic rule's ``i``,
    -1 for an elementwise partial ``d(ans, *args)``, which has no ``g``).
    """
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & 0x04:  # no code, or *args
        return None
    names = code.co_varnames[: code.co_argcount]
    read = set(code.co_cellvars)  # parameters that inner functions read
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("LOAD_"):
            val = ins.argval
            read.update(val if isinstance(val, tuple) else (val,))
    uses_ans = len(names) > skip + 1 and names[skip + 1] in read
    return uses_ans, {k for k, name in enumerate(names[skip + 2:]) if name in read}


def _reader_works():
    def closure(g, ans, x, y):
        return (lambda: ans)()

    return (
        _loaded(lambda g, ans, x, y: g * y) == (False, {1})
        and _loaded(closure) == (True, set())
        and _loaded(lambda i, g, ans, x: x[i], skip=1) == (False, {0})
        and _loaded(lambda ans, x, y: ans * x, skip=-1) == (True, {0})
    )


needs_reader = pytest.mark.skipif(
    not _reader_works(), reason="this interpreter's bytecode cannot be read for parameter use"
)

DIFFERENTIABLE = sorted(n for n, p in PRIMITIVES.items() if not p.nondiff)


def _rules(prim):
    """``(position or None for every position, function, skip)`` for each vjp rule."""
    if prim.vjp_joint is not None:
        yield None, prim.vjp_joint, 0
    if isinstance(prim.vjp, variadic):
        yield None, prim.vjp.rule, 1
    elif isinstance(prim.vjp, tuple):
        for pos, rule in enumerate(prim.vjp):
            if rule is None:
                continue
            partial = getattr(rule, "partial", None)  # defelementwise: rule = g * partial
            yield (pos, rule, 0) if partial is None else (pos, partial, -1)


def _declared(prim, pos):
    if pos is not None:
        return prim.reads_of(pos)
    # a joint or variadic rule may read what any position's rule reads
    specs = [prim.reads_of(p) for p in range(8)] if prim._reads_each is None else [
        prim.reads_of(p) for p in range(len(prim._reads_each))]
    if any(s is None for s in specs):
        return None
    args = set()
    for _, a in specs:
        if a is None:
            return any(s[0] for s in specs), None
        args |= a
    return any(s[0] for s in specs), args


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_every_row_declares_what_its_vjp_reads(name):
    assert PRIMITIVES[name].reads is not None, (
        f"row {name!r} has no reads= declaration: reverse mode keeps all its inputs and "
        "its output alive. Declare reads= in its defprim call."
    )


@needs_reader
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_declared_reads_cover_what_the_rules_read(name):
    prim = PRIMITIVES[name]
    for pos, fn, skip in _rules(prim):
        used = _loaded(fn, skip)
        declared = _declared(prim, pos)
        if used is None or declared is None:  # unreadable, or undeclared (keeps all)
            continue
        where = f"{name}: the vjp rule of argument {pos}" if pos is not None else name
        assert declared[0] or not used[0], f"{where} reads ans but reads= does not say so"
        if declared[1] is not None:
            missing = used[1] - declared[1]
            assert not missing, f"{where} reads argument(s) {sorted(missing)} not in reads="


def test_a_declaration_that_misses_a_read_is_caught():
    # the check can fail: a rule reading x (position 0) declared as reading nothing
    bad = fgrad.core.Primitive(
        "test_bad_reads", lambda x: x * x, jvp=[lambda t, ans, x: 2 * x * t],
        vjp=[lambda g, ans, x: 2 * x * g], reads=(),
    )
    if not _reader_works():
        pytest.skip("no bytecode reader here")
    used = _loaded(bad.vjp[0])
    assert used == (False, {0}) and not used[1] <= bad.reads_of(0)[1]


def test_bad_declarations_are_refused_clearly():
    for reads, err in [("ans", TypeError), ([("ans",), "x"], TypeError), (("answer",), ValueError),
                       ((-1,), ValueError)]:
        with pytest.raises(err, match="reads="):
            fgrad.core.Primitive("test_refused", lambda x: x, jvp=[None], vjp=[None], reads=reads)


def test_a_rule_reading_what_its_row_leaves_out_fails_with_a_clear_error():
    from fgrad.core import defprim

    cube = defprim(
        "test_reads_misdeclared_cube", lambda x: x ** 3,
        jvp=[lambda t, ans, x: 3 * x ** 2 * t], vjp=[lambda g, ans, x: 3 * x ** 2 * g],
        reads=("ans",), batch="elementwise",  # wrong: the rule reads x, not ans
        test={"skip": "misdeclared on purpose (tests/test_row_declarations.py)"},
    )
    with pytest.raises(TypeError, match=r"argument 0.*add them to its reads="):
        fgrad.grad(cube)(2.0)
