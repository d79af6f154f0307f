"""Notebook 2's display: a PyTorch tape idiom next to its fgrad form, each with its result.

``side_by_side(title, tape, functional, expected)`` runs ``functional()`` (the fgrad
form) and checks its result against ``expected``, the numbers the seed documents
recorded from PyTorch.  Where PyTorch is installed it runs ``tape()`` too and checks
that both agree.  Either side may be meant to raise (``tape_raises=RuntimeError``,
``fgrad_raises=TypeError``): then the error is its result, and the check is that it
is raised.

In a notebook the result shows as a table: the code of both functions (their bodies,
a last ``return x`` shown as ``x``) and both results.  Its plain-text form holds only
what does not depend on PyTorch being installed (fgrad's result and the expected
numbers), so tests/test_tutorials.py compares the stored outputs, made with PyTorch,
with a run where PyTorch is absent.
"""

from __future__ import annotations

import html
import inspect
import textwrap

import numpy as np

try:
    import torch
except ImportError:  # the tape column is then not run
    torch = None

__all__ = ["torch", "side_by_side", "status"]


def status():
    """Whether the tape column runs here, as a display object."""
    if torch is None:
        text = ("PyTorch is not installed here: the tape column shows the code only, and "
                "fgrad's results are checked against the numbers the seeds recorded.")
    else:
        text = (f"PyTorch {torch.__version__} is installed: the tape column runs too, and "
                "its results are checked against fgrad's.")
    return _Shown(html_text=f"<p><em>{html.escape(text)}</em></p>",
                  plain="Each idiom below: PyTorch's tape on the left, fgrad on the right.")


def side_by_side(title, tape, functional, expected=None, *, tape_raises=None,
                 fgrad_raises=None, agree=None, rtol=1e-4, atol=1e-6, note=""):
    """Run both forms, check them, and return the table to display.

    ``expected``: the numbers fgrad's result must match (``None``: no check).
    ``agree(tape_result, fgrad_result)``: how to compare two results that are not
    numbers of the same shape (default: ``np.allclose`` after converting tensors).
    """
    fgrad_result = _run(functional, fgrad_raises, "fgrad")
    if fgrad_raises is None and expected is not None:
        got, want = _numbers(fgrad_result), np.asarray(expected, dtype=float)
        assert got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol), (
            title, got, want)
    tape_result = None
    if torch is not None:
        tape_result = _run(tape, tape_raises, "PyTorch")
        if tape_raises is None and fgrad_raises is None:
            if agree is not None:
                assert agree(tape_result, fgrad_result), (title, tape_result, fgrad_result)
            else:
                t, f = _numbers(tape_result), _numbers(fgrad_result)
                assert t.shape == f.shape and np.allclose(t, f, rtol=1e-5, atol=1e-6), (
                    title, t, f)
    return _Table(title, tape, functional, tape_result, fgrad_result, expected, note)


class _Raised:
    def __init__(self, err):
        self.name = type(err).__name__
        self.message = str(err)

    def __str__(self):
        return f"{self.name}: {self.message}"


def _run(fn, raises, who):
    if raises is None:
        return fn()
    try:
        fn()
    except raises as err:
        return _Raised(err)
    raise AssertionError(f"the {who} form was expected to raise {raises.__name__}")


def _numbers(value):
    """A result as one float array (tensors, lists and tuples of them included)."""
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().numpy().astype(float)
    if isinstance(value, (list, tuple)):
        return np.array([_numbers(v) for v in value], dtype=float)
    return np.asarray(value, dtype=float)


def _show(value):
    """A result as text: numbers rounded to 4 decimals, errors as ``Name: message``."""
    if isinstance(value, _Raised):
        return str(value)
    if isinstance(value, str):
        return value
    try:
        numbers = _numbers(value)
    except (TypeError, ValueError):
        return repr(value)
    shown = np.round(numbers, 4) + 0.0  # no "-0.0"
    return str(shown.tolist()) if shown.ndim else str(float(shown))


def _body(fn):
    """The body of ``fn``, dedented, with a last ``return x`` shown as ``x``."""
    lines = textwrap.dedent(inspect.getsource(fn)).splitlines()
    start = next(k for k, line in enumerate(lines) if line.rstrip().endswith(":")) + 1
    body = textwrap.dedent("\n".join(lines[start:])).rstrip().splitlines()
    if body and body[-1].startswith("return "):
        body[-1] = body[-1][len("return "):]
    return "\n".join(body)


class _Shown:
    def __init__(self, html_text, plain):
        self._html, self._plain = html_text, plain

    def _repr_html_(self):
        return self._html

    def __repr__(self):
        return self._plain


_CELL = "vertical-align: top; text-align: left; padding: 4px 8px"
_PRE = "margin: 0; white-space: pre-wrap; font-size: 0.85em"


class _Table(_Shown):
    def __init__(self, title, tape, functional, tape_result, fgrad_result, expected, note):
        if torch is None:
            tape_text = "(PyTorch is not installed here, so this was not run"
            tape_text += f"; the seeds recorded {_show(expected)})" if expected is not None else ")"
        else:
            tape_text = _show(tape_result)
        rows = [
            ("code", _body(tape), _body(functional)),
            ("result", tape_text, _show(fgrad_result)),
        ]
        cells = "".join(
            f"<tr><th style='{_CELL}'>{kind}</th>"
            + "".join(f"<td style='{_CELL}'><pre style='{_PRE}'>{html.escape(text)}</pre></td>"
                      for text in (left, right))
            + "</tr>"
            for kind, left, right in rows)
        head = (f"<tr><th style='{_CELL}; width: 8%'></th>"
                f"<th style='{_CELL}; width: 46%'>PyTorch (tape)</th>"
                f"<th style='{_CELL}; width: 46%'>fgrad (functional)</th></tr>")
        caption = f"<caption style='text-align: left'><b>{html.escape(title)}</b></caption>"
        foot = f"<p>{html.escape(note)}</p>" if note else ""
        table = (f"<table style='width: 100%; table-layout: fixed'>{caption}{head}{cells}"
                 f"</table>{foot}")
        plain = [title, f"  fgrad:    {_show(fgrad_result)}"]
        if expected is not None:
            plain.append(f"  expected: {_show(expected)}")
        super().__init__(table, "\n".join(plain))
