"""Debugging tools: :func:`debug_nans`, which finds the operation that made a NaN.

The switch itself is in fgrad/core.py (:func:`fgrad.core.set_debug_nans`): turning it
on installs checking variants of the traces' methods, turning it off puts the plain
ones back, so programs that do not debug pay nothing.  This module is the public
face: the function, its context manager, and the ``FGRAD_DEBUG_NANS`` environment
variable read when fgrad is imported.
"""

from __future__ import annotations

import os

import numpy as np

from .core import set_debug_nans

__all__ = ["debug_nans"]

#: Values of the FGRAD_DEBUG_NANS environment variable (case does not matter).
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


class _Restore:
    """What :func:`debug_nans` returns: used in a ``with`` statement, it puts back
    the setting found before the call when the block ends, however it ends."""

    __slots__ = ("previous", "enabled")

    def __init__(self, previous, enabled):
        self.previous, self.enabled = previous, enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        set_debug_nans(self.previous)
        return False

    def __repr__(self):
        return f"<fgrad.debug_nans({self.enabled}): restores {self.previous} on exit>"


def debug_nans(enable=True):
    """Make the first operation that produces a NaN raise ``FloatingPointError``.

    With checking on, every primitive fgrad runs under a transform is checked as it
    runs: in the forward pass, in forward mode's tangents, in the backward pass (each
    vjp rule's result, including ``custom_vjp``/``custom_jvp`` rules and
    ``checkpoint``'s recomputation), and under ``vmap`` (the error names the
    examples).  The error names the primitive (its row in ``fgrad.core.PRIMITIVES``),
    the pass, the operands' shapes, and the file and line of your code that called
    it; for the backward pass, the line of the forward call, recorded while the
    function was traced.  It also says whether an operand already held the NaN (it
    came in from an input or a constant) or the operation made it.  inf is not
    NaN and passes; integer and boolean results are not checked.

    ``debug_nans()`` turns checking on at once and returns a context manager that
    puts the previous setting back when its ``with`` block ends (also on an
    exception): ``with fgrad.debug_nans(): ...`` checks inside the block only, and
    ``fgrad.debug_nans(True)`` / ``fgrad.debug_nans(False)`` as statements switch it
    for the rest of the program.  Setting the environment variable
    ``FGRAD_DEBUG_NANS=1`` before importing fgrad turns it on from the start.

    The setting is one for the whole process, not per thread (as JAX's
    ``jax_debug_nans`` flag): while it is on, every thread's transforms check.  Blocks
    that overlap in several threads each restore what they found when they began,
    so in threaded code prefer the statement form.  Off, nothing checks: the engine
    runs its plain methods.  Plain numpy calls outside any transform are numpy's
    business: ``np.errstate(invalid="raise")`` finds NaN there.

    Args:
        enable: True (the default) to check, False to stop checking.

    Returns:
        A context manager restoring the previous setting on exit (the switch itself
        has already happened).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> def f(x):
        ...     return fnp.where(x > 0, fnp.sqrt(x), 0.0)   # NaN gradient at 0
        >>> float(fgrad.grad(f)(0.0))
        nan
        >>> with fgrad.debug_nans():
        ...     fgrad.grad(f)(0.0)
        Traceback (most recent call last):
        ...
        FloatingPointError: fgrad.debug_nans: NaN in the output of 'sqrt', in the backward pass (the vjp of 'sqrt', the cotangent of its argument 0)
        ...
    """
    if not isinstance(enable, (bool, np.bool_)):
        raise TypeError(
            f"fgrad.debug_nans(enable): enable must be True or False, got {enable!r}"
        )
    enable = bool(enable)
    return _Restore(set_debug_nans(enable), enable)


def _from_environment():
    value = os.environ.get("FGRAD_DEBUG_NANS", "").strip().lower()
    if value in _ON:
        set_debug_nans(True)
    elif value not in _OFF:
        raise ValueError(
            f"the environment variable FGRAD_DEBUG_NANS={os.environ['FGRAD_DEBUG_NANS']!r} "
            f"is not understood: use 1 (or true, yes, on) to turn NaN debugging on, "
            "0 (or false, no, off, or leave it unset) for off"
        )


_from_environment()
