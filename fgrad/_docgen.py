"""Generates the examples of fgrad's own docstrings for fgrad.numpy's row functions.

``python -m fgrad._docgen`` rewrites the table ``EXAMPLES`` in
fgrad/numpy/_rowdocs.py: for each elementwise row without a hand-written example it
picks a sample point from the row's ``test=`` domain, runs the function and its
derivative there, and writes the calls with the values printed (shortened to ten
significant digits, so that a last-digit difference between math libraries passes).
The values are computed when the table is written, never at import; the test suite
runs every example (tests/test_api_reference.py) and compares each printed
derivative with central differences.

Example:
    >>> import fgrad.numpy as fnp
    >>> from fgrad._docgen import example_of
    >>> example_of("sqrt", fnp.sqrt).splitlines()[1:]
    ['>>> fnp.sqrt(0.5)', 'np.float64(0.7071067811...)', '>>> fgrad.grad(fnp.sqrt)(0.5)', 'np.float64(0.7071067811...)']
"""

from pathlib import Path

import numpy as np

import fgrad
import fgrad.numpy as fnp
from fgrad.numpy._rowdocs import _INTEGER, HAND_EXAMPLES, rows_of


def _positions(prim):
    rules = prim.jvp if isinstance(prim.jvp, (list, tuple)) else [prim.jvp]
    return [i for i, r in enumerate(rules) if r is not None], len(rules)


# --------------------------------------------------------------------------------------

_CANDIDATES = (0.5, 1.5, 0.25, 0.75, 2.0, 1.25, -0.5, -1.5)
#: Sample points chosen by hand where the first candidate would sit on a tie or a jump.
_POINTS = {"mod": (2.5, 0.75), "fmod": (2.5, 0.75), "ldexp": (1.5, 3)}


def _point(prim, n):
    if prim.name in _POINTS:
        return _POINTS[prim.name]
    test = prim.test or {}
    domains = test.get("domain") or [(-1.5, 1.5)] * n
    chosen = []
    for i in range(n):
        lo, hi = domains[i] if i < len(domains) else (-1.5, 1.5)
        for c in _CANDIDATES:
            if lo < c < hi and c != test.get("avoid") and c not in chosen:
                chosen.append(c)
                break
    return tuple(chosen)


def _shown(value):
    """``repr(value)``, shortened to 10 significant digits and ``...`` when longer, so
    that a last-digit difference between platforms' math libraries passes."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    text = repr(value)
    if not text.startswith("np.float64(") or len(text) <= len("np.float64()") + 13:
        return text
    inner = text[len("np.float64("):-1]
    mantissa, exp = (inner.split("e") + [""])[:2]
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-")
    keep, count = "", 0
    for ch in digits:
        keep += ch
        if ch.isdigit() and (count or ch != "0"):
            count += 1
        if count == 10:
            break
    if exp:  # numbers like 4.440892098500626e-16: keep the exponent
        return f"np.float64({sign}{keep}...e{exp})"
    return f"np.float64({sign}{keep}...)"


def example_of(name, fn):
    """The example of the row function ``fn`` (public as ``fnp.<name>``), as doctest lines."""
    prim = fn.primitive
    lines = [">>> import fgrad, fgrad.numpy as fnp"]
    if prim.nondiff and name in _INTEGER:
        n = getattr(prim.impl, "nin", 1)
        args = (12, 8) if n == 2 else (12,)
        lines += [f">>> fnp.{name}{args if n == 2 else '(12)'}",
                  _shown(fn(*args)),
                  ">>> import numpy as np",
                  f">>> fgrad.vmap(lambda n: fnp.{name}(n{', 3' if n == 2 else ''}))"
                  "(np.array([8, 9, 10]))",
                  repr(fgrad.vmap(lambda v: fn(v, 3) if n == 2 else fn(v))(
                      np.array([8, 9, 10])))]
        return "\n".join(lines)
    if prim.nondiff:
        n = getattr(prim.impl, "nin", 1)
        call = f"fnp.{name}(2.25, 1.0)" if n == 2 else f"fnp.{name}(2.25)"
        inner = f"fnp.{name}(x, 1.0)" if n == 2 else f"fnp.{name}(x)"
        value = fn(2.25, 1.0) if n == 2 else fn(2.25)
        grad = fgrad.grad(lambda x: x * (fn(x, 1.0) if n == 2 else fn(x)))(2.25)
        lines += [f">>> {call}", _shown(value),
                  f">>> fgrad.grad(lambda x: x * {inner})(2.25)  # {inner} is a constant",
                  _shown(grad)]
        return "\n".join(lines)
    where, n = _positions(prim)
    point = _point(prim, n)
    text = ", ".join(repr(p) for p in point)
    lines += [f">>> fnp.{name}({text})", _shown(fn(*point))]
    if len(where) == 1:
        argnums = "" if where == [0] else f", argnums={where[0]}"
        grad = fgrad.grad(fn, argnums=where[0])(*point)
    else:
        argnums = f", argnums={tuple(where)}"
        grad = fgrad.grad(fn, argnums=tuple(where))(*point)
    lines += [f">>> fgrad.grad(fnp.{name}{argnums})({text})", _shown(grad)]
    return "\n".join(lines)


def generate_examples(module):
    """``{row name: example}`` for the rows of ``module`` without a hand-written one."""
    out = {}
    for fn in rows_of(module):
        name = fn.primitive.name
        if name not in HAND_EXAMPLES:
            out[name] = example_of(name, fn)
    return dict(sorted(out.items()))


def write(path=Path(fnp.__file__).with_name("_rowdocs.py")):
    """Rewrite the generated table of ``path``; returns how many examples it holds."""
    table = generate_examples(fnp)
    body = "EXAMPLES = {\n" + "".join(
        f"    {name!r}: (\n" + "".join(f"        {line + chr(10)!r}\n"
                                      for line in example.splitlines()) + "    ),\n"
        for name, example in table.items()) + "}\n"
    text = open(path, encoding="utf-8").read()
    start = text.index("\nEXAMPLES = {") + 1
    end = text.index("# -- end of the generated table --")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:start] + body + text[end:])
    return len(table)


if __name__ == "__main__":  # pragma: no cover
    print(f"wrote {write()} examples")
