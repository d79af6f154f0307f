"""Optimizers as gradient transformations over pytrees (the shape optax gives them).

An optimizer is a :class:`GradientTransformation`, a pair of pure functions::

    opt = fgrad.optimizers.adam(1e-3)
    state = opt.init(params)                        # a pytree of arrays and counts
    updates, state = opt.update(grads, state, params)
    params = fgrad.optimizers.apply_updates(params, updates)

``params`` and ``grads`` are any pytrees of the same structure (dicts, lists,
tuples, namedtuples); ``updates`` has that structure too.  States are
NamedTuples of arrays, so a whole training step can be mapped with
:func:`fgrad.vmap` over a batch of problems.  Nothing here keeps hidden state.

The optimizers are compositions (:func:`chain`) of small building blocks, each a
GradientTransformation itself: :func:`scale_by_adam`, :func:`scale_by_rms`,
:func:`scale_by_stddev`, :func:`scale_by_rss`, :func:`trace` (momentum),
:func:`add_decayed_weights`, :func:`clip`, :func:`clip_by_global_norm`,
:func:`scale`, :func:`scale_by_learning_rate` and :func:`scale_by_schedule`.
Wherever a learning rate is accepted, a schedule (a function of the step count,
such as :func:`cosine_decay_schedule`) may be given instead.

The update formulas are the papers': Adam with bias correction (Kingma & Ba,
2015), AdamW's decoupled weight decay (Loshchilov & Hutter, 2019), RMSProp
(Hinton's lecture 6e; with the "centered" variant of Graves, 2013), Adagrad
(Duchi, Hazan & Singer, 2011) and heavy-ball / Nesterov momentum in the form of
Sutskever et al. (2013).

Example:
    >>> import numpy as np, fgrad, fgrad.numpy as fnp
    >>> from fgrad import optimizers as optim
    >>> loss = lambda p: fnp.sum((p["w"] - 3.0) ** 2)
    >>> opt = optim.adam(0.1)
    >>> params = {"w": np.zeros(2)}
    >>> state = opt.init(params)
    >>> for _ in range(300):
    ...     updates, state = opt.update(fgrad.grad(loss)(params), state, params)
    ...     params = optim.apply_updates(params, updates)
    >>> np.round(params["w"], 3)
    array([3., 3.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import numpy as fnp
from .core import Tracer
from .tree import tree_flatten, tree_leaves, tree_map, tree_structure

__all__ = [
    "GradientTransformation", "chain", "apply_updates", "global_norm",
    "sgd", "adam", "adamw", "rmsprop", "adagrad",
    "scale", "scale_by_learning_rate", "scale_by_schedule", "scale_by_adam",
    "scale_by_rms", "scale_by_stddev", "scale_by_rss", "trace", "add_decayed_weights",
    "clip", "clip_by_global_norm",
    "constant_schedule", "linear_schedule", "exponential_decay", "cosine_decay_schedule",
    "warmup_cosine_decay_schedule",
    "EmptyState", "ScaleByAdamState", "ScaleByRmsState", "ScaleByStddevState",
    "ScaleByRssState", "ScaleByScheduleState", "TraceState",
]


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``init(params) -> state`` and
    ``update(updates, state, params=None) -> (updates, state)``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> double = optim.GradientTransformation(
        ...     lambda params: optim.EmptyState(),
        ...     lambda updates, state, params=None: (
        ...         {k: 2 * u for k, u in updates.items()}, state))
        >>> double.update({"a": np.ones(2)}, double.init(None))[0]
        {'a': array([2., 2.])}
    """

    init: Callable[[Any], Any]
    update: Callable[..., Any]


# --------------------------------------------------------------------------
# states
# --------------------------------------------------------------------------


class EmptyState(NamedTuple):
    """The state of a transformation that keeps none (``scale``, ``clip`` ...).

    Example:
        >>> from fgrad import optimizers as optim
        >>> optim.clip(1.0).init({"w": 0.0})
        EmptyState()
    """


class ScaleByAdamState(NamedTuple):
    """Adam's state: the step ``count`` and the moment estimates ``mu`` and ``nu``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.scale_by_adam().init(np.zeros(2))
        ScaleByAdamState(count=array(0), mu=array([0., 0.]), nu=array([0., 0.]))
    """

    count: Any
    mu: Any
    nu: Any


class ScaleByRmsState(NamedTuple):
    """RMSProp's state: the running mean ``nu`` of squared gradients.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.scale_by_rms().init(np.zeros(2))
        ScaleByRmsState(nu=array([0., 0.]))
    """

    nu: Any


class ScaleByStddevState(NamedTuple):
    """Centered RMSProp's state: running means ``mu`` of gradients and ``nu`` of their squares.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.scale_by_stddev().init(np.zeros(1))
        ScaleByStddevState(mu=array([0.]), nu=array([0.]))
    """

    mu: Any
    nu: Any


class ScaleByRssState(NamedTuple):
    """Adagrad's state: the running ``sum_of_squares`` of gradients.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.scale_by_rss(0.1).init(np.zeros(2))
        ScaleByRssState(sum_of_squares=array([0.1, 0.1]))
    """

    sum_of_squares: Any


class ScaleByScheduleState(NamedTuple):
    """The step ``count`` a schedule is evaluated at.

    Example:
        >>> from fgrad import optimizers as optim
        >>> optim.scale_by_schedule(optim.constant_schedule(0.5)).init({"w": 1.0})
        ScaleByScheduleState(count=array(0))
    """

    count: Any


class TraceState(NamedTuple):
    """Momentum's state: the running ``trace`` of updates.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.trace(0.9).init(np.zeros(2))
        TraceState(trace=array([0., 0.]))
    """

    trace: Any


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _zeros_like(tree):
    return tree_map(lambda p: fnp.zeros_like(p), tree)


def _full_like(tree, value):
    return tree_map(lambda p: fnp.full_like(p, value), tree)


def _count0():
    return np.asarray(0)


def _check_number(value, name, where, *, low=None, high=None, low_open=False):
    """A plain real number within limits, or a TypeError/ValueError naming ``name``."""
    if isinstance(value, Tracer) or isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
            value = value[()]
        else:
            raise TypeError(f"{where}: {name} must be a real number, not {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{where}: {name} must be finite, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{where}: {name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{where}: {name} must be <= {high}, got {value}")
    return value


def _check_rate(rate, name, where):
    """A learning rate: a non-negative number or a schedule (a callable of the count)."""
    if callable(rate):
        return rate
    return _check_number(rate, name, where, low=0.0)


def _check_transformation(t, where):
    if not (isinstance(t, tuple) and len(t) == 2 and callable(t[0]) and callable(t[1])):
        raise TypeError(
            f"{where}: expected GradientTransformations (pairs of init and update functions, "
            f"such as fgrad.optimizers.adam(1e-3)), got {type(t).__name__}"
        )


def _same_structure(updates, other, what, where):
    a, b = tree_structure(updates), tree_structure(other)
    if a != b:
        raise TypeError(
            f"{where}: {what} must have the structure of the updates {a!r}, not {b!r} "
            f"({a.difference(b)})."
        )


def _expect_state(state, cls, where):
    if not isinstance(state, cls):
        raise TypeError(
            f"{where}: expected the state this transformation's init returned "
            f"({cls.__name__}), got {type(state).__name__}; pass the state from init or "
            "from the previous update of the same optimizer"
        )


def _bias_correction(decay, count):
    return 1 - decay ** count


# --------------------------------------------------------------------------
# composing and applying
# --------------------------------------------------------------------------


def chain(*transforms):
    """Compose transformations: the updates pass through them from left to right.

    The state is the tuple of their states.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> opt = optim.chain(optim.clip_by_global_norm(1.0), optim.scale(-0.5))
        >>> updates, _ = opt.update(np.array([3.0, 4.0]), opt.init(np.zeros(2)))
        >>> updates
        array([-0.3, -0.4])
    """
    for t in transforms:
        _check_transformation(t, "chain")

    def init(params):
        return tuple(t.init(params) for t in transforms)

    def update(updates, state, params=None):
        if not (isinstance(state, tuple) and len(state) == len(transforms)):
            raise TypeError(
                f"chain: the state must be the tuple of {len(transforms)} states that "
                "init returned; pass the state from the previous update"
            )
        new_state = []
        for t, s in zip(transforms, state):
            updates, s = t.update(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params, updates):
    """``params + updates`` leaf by leaf, keeping each parameter's dtype.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.apply_updates({"w": np.ones(2, np.float32)}, {"w": np.array([0.5, -1.0])})
        {'w': array([1.5, 0. ], dtype=float32)}
    """
    _same_structure(params, updates, "the updates", "apply_updates")

    def add(p, u):
        out = p + u
        dtype = getattr(p, "dtype", None)
        if dtype is not None and getattr(out, "dtype", None) != dtype:
            out = fnp.astype(out, dtype)
        return out

    return tree_map(add, params, updates)


def global_norm(tree):
    """The Euclidean norm of all leaves of a pytree together.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> float(optim.global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}))
        5.0
    """
    leaves = tree_leaves(tree)
    if not leaves:
        return np.float64(0.0)
    total = sum(fnp.sum(fnp.real(x * fnp.conj(x))) for x in leaves)
    return fnp.sqrt(total)


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------


def _stateless(fn):
    def init(params):
        return EmptyState()

    def update(updates, state, params=None):
        return fn(updates, params), state

    return GradientTransformation(init, update)


def scale(step_size):
    """Multiply the updates by a constant ``step_size``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.scale(-2.0).update({"w": np.ones(2)}, optim.EmptyState())[0]
        {'w': array([-2., -2.])}
    """
    step_size = _check_number(step_size, "step_size", "scale")
    return _stateless(lambda updates, params: tree_map(lambda u: step_size * u, updates))


def scale_by_schedule(step_size_fn):
    """Multiply the updates by ``step_size_fn(count)``; the count starts at 0.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_schedule(lambda count: 1.0 / (count + 1))
        >>> state = t.init(np.zeros(1))
        >>> for _ in range(3):
        ...     u, state = t.update(np.ones(1), state)
        >>> u, int(state.count)
        (array([0.33333333]), 3)
    """
    if not callable(step_size_fn):
        raise TypeError("scale_by_schedule: step_size_fn must be a function of the step count")

    def init(params):
        return ScaleByScheduleState(_count0())

    def update(updates, state, params=None):
        _expect_state(state, ScaleByScheduleState, "scale_by_schedule")
        factor = step_size_fn(state.count)
        return tree_map(lambda u: factor * u, updates), ScaleByScheduleState(state.count + 1)

    return GradientTransformation(init, update)


def scale_by_learning_rate(learning_rate, *, flip_sign=True):
    """Multiply by ``-learning_rate`` (a number or a schedule of the count): the step of descent.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_learning_rate(0.1)
        >>> t.update(np.array([1.0, -2.0]), t.init(np.zeros(2)))[0]
        array([-0.1,  0.2])
    """
    learning_rate = _check_rate(learning_rate, "learning_rate", "scale_by_learning_rate")
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def scale_by_adam(b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
    """Adam's direction (Kingma & Ba 2015, Algorithm 1), without the learning rate.

    With ``t`` the step (1, 2, ...): ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²``,
    update ``= m̂ / (sqrt(v̂ + eps_root) + eps)`` with the bias-corrected
    ``m̂ = m / (1 - b1^t)`` and ``v̂ = v / (1 - b2^t)``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_adam()
        >>> u, state = t.update(np.array([0.5, -2.0]), t.init(np.zeros(2)))
        >>> np.round(u, 6)        # the first step is sign(g), up to eps
        array([ 1., -1.])
    """
    where = "scale_by_adam"
    _check_number(b1, "b1", where, low=0.0, high=1.0)
    _check_number(b2, "b2", where, low=0.0, high=1.0)
    _check_number(eps, "eps", where, low=0.0)
    _check_number(eps_root, "eps_root", where, low=0.0)

    def init(params):
        return ScaleByAdamState(_count0(), _zeros_like(params), _zeros_like(params))

    def update(updates, state, params=None):
        _expect_state(state, ScaleByAdamState, where)
        _same_structure(updates, state.mu, "Adam's state", where)
        mu = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = tree_map(lambda v, g: b2 * v + (1 - b2) * (g * g), state.nu, updates)
        count = state.count + 1
        c1, c2 = _bias_correction(b1, count), _bias_correction(b2, count)
        out = tree_map(lambda m, v: (m / c1) / (fnp.sqrt(v / c2 + eps_root) + eps), mu, nu)
        return out, ScaleByAdamState(count, mu, nu)

    return GradientTransformation(init, update)


def scale_by_rms(decay=0.9, eps=1e-8, initial_scale=0.0):
    """RMSProp's direction: ``v = decay v + (1 - decay) g²``, update ``= g / (sqrt(v) + eps)``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_rms(decay=0.75, eps=0.0)
        >>> t.update(np.array([2.0]), t.init(np.zeros(1)))[0]     # 2 / sqrt(0.25 * 4)
        array([2.])
    """
    where = "scale_by_rms"
    _check_number(decay, "decay", where, low=0.0, high=1.0)
    _check_number(eps, "eps", where, low=0.0)
    _check_number(initial_scale, "initial_scale", where, low=0.0)

    def init(params):
        return ScaleByRmsState(_full_like(params, initial_scale))

    def update(updates, state, params=None):
        _expect_state(state, ScaleByRmsState, where)
        _same_structure(updates, state.nu, "RMSProp's state", where)
        nu = tree_map(lambda v, g: decay * v + (1 - decay) * (g * g), state.nu, updates)
        out = tree_map(lambda g, v: g / (fnp.sqrt(v) + eps), updates, nu)
        return out, ScaleByRmsState(nu)

    return GradientTransformation(init, update)


def scale_by_stddev(decay=0.9, eps=1e-8, initial_scale=0.0):
    """Centered RMSProp's direction: ``g / (sqrt(v - m²) + eps)`` with running means
    ``m`` of the gradients and ``v`` of their squares.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_stddev(decay=0.5, eps=0.0)
        >>> t.update(np.array([2.0]), t.init(np.zeros(1)))[0]   # 2 / sqrt(2 - 1)
        array([2.])
    """
    where = "scale_by_stddev"
    _check_number(decay, "decay", where, low=0.0, high=1.0)
    _check_number(eps, "eps", where, low=0.0)
    _check_number(initial_scale, "initial_scale", where, low=0.0)

    def init(params):
        return ScaleByStddevState(_zeros_like(params), _full_like(params, initial_scale))

    def update(updates, state, params=None):
        _expect_state(state, ScaleByStddevState, where)
        _same_structure(updates, state.nu, "RMSProp's state", where)
        mu = tree_map(lambda m, g: decay * m + (1 - decay) * g, state.mu, updates)
        nu = tree_map(lambda v, g: decay * v + (1 - decay) * (g * g), state.nu, updates)
        out = tree_map(lambda g, m, v: g / (fnp.sqrt(v - m * m) + eps), updates, mu, nu)
        return out, ScaleByStddevState(mu, nu)

    return GradientTransformation(init, update)


def scale_by_rss(initial_accumulator_value=0.1, eps=1e-7):
    """Adagrad's direction (Duchi et al. 2011): ``s = s + g²``, update ``= g / (sqrt(s) + eps)``.

    The sum starts at ``initial_accumulator_value``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.scale_by_rss(0.0, eps=0.0)
        >>> t.update(np.array([-3.0]), t.init(np.zeros(1)))[0]
        array([-1.])
    """
    where = "scale_by_rss"
    _check_number(initial_accumulator_value, "initial_accumulator_value", where, low=0.0)
    _check_number(eps, "eps", where, low=0.0)

    def init(params):
        return ScaleByRssState(_full_like(params, initial_accumulator_value))

    def update(updates, state, params=None):
        _expect_state(state, ScaleByRssState, where)
        _same_structure(updates, state.sum_of_squares, "Adagrad's state", where)
        s = tree_map(lambda s, g: s + g * g, state.sum_of_squares, updates)
        out = tree_map(lambda g, s: g / (fnp.sqrt(s) + eps), updates, s)
        return out, ScaleByRssState(s)

    return GradientTransformation(init, update)


def trace(decay, nesterov=False):
    """Momentum: ``b = decay b + g``; the update is ``b``, or ``g + decay b`` with Nesterov.

    This is the form of Sutskever et al. (2013) that PyTorch and optax use.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.trace(0.5)
        >>> state = t.init(np.zeros(1))
        >>> for _ in range(3):
        ...     u, state = t.update(np.ones(1), state)
        >>> u                              # 1 + 0.5 + 0.25
        array([1.75])
    """
    _check_number(decay, "decay", "trace", low=0.0)

    def init(params):
        return TraceState(_zeros_like(params))

    def update(updates, state, params=None):
        _expect_state(state, TraceState, "trace")
        _same_structure(updates, state.trace, "the momentum state", "trace")
        buf = tree_map(lambda b, g: decay * b + g, state.trace, updates)
        if nesterov:
            out = tree_map(lambda g, b: g + decay * b, updates, buf)
        else:
            out = buf
        return out, TraceState(buf)

    return GradientTransformation(init, update)


def _resolve_mask(mask, params):
    if mask is None:
        return tree_map(lambda p: True, params)
    if callable(mask):
        mask = mask(params)
    _same_structure(params, mask, "the weight-decay mask", "add_decayed_weights")
    return mask


def add_decayed_weights(weight_decay=0.0, mask=None):
    """Add ``weight_decay * params`` to the updates (decoupled weight decay when it
    comes after the gradient's scaling, as in AdamW).

    ``mask``: a pytree of bools with the structure of the parameters (or a function
    of the parameters returning one): only leaves marked True decay.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> t = optim.add_decayed_weights(0.1, mask={"w": True, "b": False})
        >>> params = {"w": np.array([2.0]), "b": np.array([2.0])}
        >>> t.update({"w": np.zeros(1), "b": np.zeros(1)}, t.init(params), params)[0]
        {'b': array([0.]), 'w': array([0.2])}
    """
    _check_number(weight_decay, "weight_decay", "add_decayed_weights")

    def update(updates, params):
        if params is None:
            raise ValueError(
                "add_decayed_weights (weight decay, adamw) needs the parameters: call "
                "opt.update(grads, state, params)"
            )
        _same_structure(updates, params, "the parameters", "add_decayed_weights")
        m_leaves, _ = tree_flatten(_resolve_mask(mask, params))
        u_leaves, treedef = tree_flatten(updates)
        p_leaves = tree_leaves(params)
        out = [u + weight_decay * p if bool(m) else u
               for u, p, m in zip(u_leaves, p_leaves, m_leaves)]
        return treedef.unflatten(out)

    return _stateless(update)


def clip(max_delta):
    """Clip every update element to ``[-max_delta, max_delta]``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.clip(1.0).update(np.array([-3.0, 0.5, 2.0]), optim.EmptyState())[0]
        array([-1. ,  0.5,  1. ])
    """
    max_delta = _check_number(max_delta, "max_delta", "clip", low=0.0)
    return _stateless(
        lambda updates, params: tree_map(lambda u: fnp.clip(u, -max_delta, max_delta), updates))


def clip_by_global_norm(max_norm):
    """Scale all updates together so that their global norm is at most ``max_norm``.

    ``g ← g · max_norm / max(‖g‖, max_norm)``: unchanged when the norm is within
    the limit, otherwise shrunk to exactly ``max_norm`` (direction kept).

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> optim.clip_by_global_norm(1.0).update(
        ...     {"a": np.array([3.0]), "b": np.array([4.0])}, optim.EmptyState())[0]
        {'a': array([0.6]), 'b': array([0.8])}
    """
    max_norm = _check_number(max_norm, "max_norm", "clip_by_global_norm", low=0.0, low_open=True)

    def update(updates, params):
        factor = max_norm / fnp.maximum(global_norm(updates), max_norm)
        return tree_map(lambda u: u * factor, updates)

    return _stateless(update)


# --------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------


def sgd(learning_rate, momentum=None, nesterov=False):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``p ← p − lr · g``; with ``momentum=μ``: ``b ← μ b + g``, ``p ← p − lr · b``
    (Nesterov: ``p ← p − lr · (g + μ b)``).

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> opt = optim.sgd(0.1, momentum=0.9)
        >>> u, state = opt.update(np.array([1.0]), opt.init(np.zeros(1)))
        >>> u, state[0].trace
        (array([-0.1]), array([1.]))
    """
    learning_rate = _check_rate(learning_rate, "learning_rate", "sgd")
    parts = []
    if momentum is not None:
        parts.append(trace(_check_number(momentum, "momentum", "sgd", low=0.0), nesterov))
    elif nesterov:
        raise ValueError("sgd: nesterov=True needs a momentum (e.g. momentum=0.9)")
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0):
    """Adam (Kingma & Ba 2015): ``p ← p − lr · m̂ / (sqrt(v̂) + eps)``; see :func:`scale_by_adam`.

    Example:
        >>> import numpy as np, fgrad, fgrad.numpy as fnp
        >>> from fgrad import optimizers as optim
        >>> opt = optim.adam(0.05)
        >>> x = np.array([1.0, -2.0])
        >>> state = opt.init(x)
        >>> for _ in range(200):
        ...     u, state = opt.update(fgrad.grad(lambda x: fnp.sum(x ** 2))(x), state, x)
        ...     x = optim.apply_updates(x, u)
        >>> bool(np.all(np.abs(x) < 0.05))
        True
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root),
                 scale_by_learning_rate(_check_rate(learning_rate, "learning_rate", "adam")))


def adamw(learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, weight_decay=1e-4,
          mask=None):
    """AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the gradient.

    ``p ← p − lr · (m̂ / (sqrt(v̂) + eps) + weight_decay · p)``; the decay does not
    pass through Adam's moments.  ``mask`` (see :func:`add_decayed_weights`) picks
    the leaves that decay (biases are often left out).

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> opt = optim.adamw(0.1, weight_decay=0.5)
        >>> params = np.array([2.0])
        >>> u, _ = opt.update(np.array([0.0]), opt.init(params), params)
        >>> u                                  # only the decay: -0.1 * 0.5 * 2
        array([-0.1])
    """
    return chain(scale_by_adam(b1, b2, eps, eps_root),
                 add_decayed_weights(weight_decay, mask),
                 scale_by_learning_rate(_check_rate(learning_rate, "learning_rate", "adamw")))


def rmsprop(learning_rate, decay=0.9, eps=1e-8, initial_scale=0.0, centered=False,
            momentum=None, nesterov=False):
    """RMSProp (Hinton, lecture 6e): ``p ← p − lr · g / (sqrt(v) + eps)``, ``v`` the running
    mean of ``g²``.

    ``centered=True`` divides by the running standard deviation instead
    (:func:`scale_by_stddev`); ``momentum`` adds :func:`trace` after the scaling.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> opt = optim.rmsprop(0.01, decay=0.99, eps=0.0)
        >>> opt.update(np.array([4.0]), opt.init(np.zeros(1)))[0]   # -0.01 * 4 / sqrt(0.01 * 16)
        array([-0.1])
    """
    where = "rmsprop"
    learning_rate = _check_rate(learning_rate, "learning_rate", where)
    parts = [scale_by_stddev(decay, eps, initial_scale) if centered
             else scale_by_rms(decay, eps, initial_scale)]
    if momentum is not None:
        parts.append(trace(_check_number(momentum, "momentum", where, low=0.0), nesterov))
    elif nesterov:
        raise ValueError("rmsprop: nesterov=True needs a momentum (e.g. momentum=0.9)")
    parts.append(scale_by_learning_rate(learning_rate))
    return chain(*parts)


def adagrad(learning_rate, initial_accumulator_value=0.1, eps=1e-7):
    """Adagrad (Duchi et al. 2011): ``s ← s + g²``, ``p ← p − lr · g / (sqrt(s) + eps)``.

    Example:
        >>> import numpy as np
        >>> from fgrad import optimizers as optim
        >>> opt = optim.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
        >>> opt.update(np.array([2.0, -0.5]), opt.init(np.zeros(2)))[0]
        array([-1.,  1.])
    """
    return chain(scale_by_rss(initial_accumulator_value, eps),
                 scale_by_learning_rate(_check_rate(learning_rate, "learning_rate", "adagrad")))


# --------------------------------------------------------------------------
# schedules: functions of the step count (0, 1, 2, ...)
# --------------------------------------------------------------------------


def _check_steps(n, name, where, low=1):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, not {type(n).__name__}")
    if n < low:
        raise ValueError(f"{where}: {name} must be >= {low}, got {n}")
    return int(n)


def constant_schedule(value):
    """The schedule ``count -> value``.

    Example:
        >>> from fgrad import optimizers as optim
        >>> optim.constant_schedule(0.1)(1000)
        0.1
    """
    value = _check_number(value, "value", "constant_schedule")

    def schedule(count):
        return value

    return schedule


def linear_schedule(init_value, end_value, transition_steps, transition_begin=0):
    """From ``init_value`` to ``end_value`` linearly over ``transition_steps`` steps
    (after ``transition_begin`` steps at ``init_value``), then constant.

    Example:
        >>> from fgrad import optimizers as optim
        >>> s = optim.linear_schedule(0.0, 1.0, transition_steps=4)
        >>> [float(s(k)) for k in range(6)]
        [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    """
    where = "linear_schedule"
    init_value = _check_number(init_value, "init_value", where)
    end_value = _check_number(end_value, "end_value", where)
    transition_steps = _check_steps(transition_steps, "transition_steps", where)
    transition_begin = _check_steps(transition_begin, "transition_begin", where, low=0)

    def schedule(count):
        frac = fnp.clip((count - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + (end_value - init_value) * frac

    return schedule


def exponential_decay(init_value, transition_steps, decay_rate, transition_begin=0,
                      staircase=False, end_value=None):
    """``init_value · decay_rate^((count − transition_begin) / transition_steps)``.

    Constant at ``init_value`` for the first ``transition_begin`` steps;
    ``staircase=True`` rounds the exponent down (decay in steps); ``end_value``
    bounds the value (from below when decaying, from above when growing).

    Example:
        >>> from fgrad import optimizers as optim
        >>> s = optim.exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
        >>> float(s(0)), float(s(10)), float(s(20))
        (1.0, 0.5, 0.25)
    """
    where = "exponential_decay"
    init_value = _check_number(init_value, "init_value", where)
    transition_steps = _check_steps(transition_steps, "transition_steps", where)
    decay_rate = _check_number(decay_rate, "decay_rate", where, low=0.0, low_open=True)
    transition_begin = _check_steps(transition_begin, "transition_begin", where, low=0)
    if end_value is not None:
        end_value = _check_number(end_value, "end_value", where)

    def schedule(count):
        p = fnp.maximum(count - transition_begin, 0) / transition_steps
        if staircase:
            p = fnp.floor(p)
        value = init_value * decay_rate ** p
        if end_value is not None:
            value = (fnp.maximum(value, end_value) if decay_rate < 1
                     else fnp.minimum(value, end_value))
        return value

    return schedule


def cosine_decay_schedule(init_value, decay_steps, alpha=0.0):
    """Cosine decay (Loshchilov & Hutter's SGDR without restarts):
    ``init_value · ((1 − alpha) · ½(1 + cos(π · min(count, decay_steps) / decay_steps)) + alpha)``.

    Example:
        >>> from fgrad import optimizers as optim
        >>> s = optim.cosine_decay_schedule(1.0, decay_steps=100, alpha=0.1)
        >>> [round(float(s(k)), 3) for k in (0, 50, 100, 200)]
        [1.0, 0.55, 0.1, 0.1]
    """
    where = "cosine_decay_schedule"
    init_value = _check_number(init_value, "init_value", where)
    decay_steps = _check_steps(decay_steps, "decay_steps", where)
    alpha = _check_number(alpha, "alpha", where)

    def schedule(count):
        frac = fnp.minimum(count, decay_steps) / decay_steps
        return init_value * ((1 - alpha) * 0.5 * (1 + fnp.cos(np.pi * frac)) + alpha)

    return schedule


def warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps,
                                 end_value=0.0):
    """Linear warm-up from ``init_value`` to ``peak_value`` over ``warmup_steps``, then cosine
    decay to ``end_value``, reached at step ``decay_steps`` (which counts the warm-up).

    Example:
        >>> from fgrad import optimizers as optim
        >>> s = optim.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=110)
        >>> [round(float(s(k)), 3) for k in (0, 5, 10, 60, 110, 500)]
        [0.0, 0.5, 1.0, 0.5, 0.0, 0.0]
    """
    where = "warmup_cosine_decay_schedule"
    init_value = _check_number(init_value, "init_value", where)
    peak_value = _check_number(peak_value, "peak_value", where)
    end_value = _check_number(end_value, "end_value", where)
    warmup_steps = _check_steps(warmup_steps, "warmup_steps", where, low=0)
    decay_steps = _check_steps(decay_steps, "decay_steps", where)
    if decay_steps <= warmup_steps:
        raise ValueError(
            f"{where}: decay_steps ({decay_steps}) counts the warm-up and must exceed "
            f"warmup_steps ({warmup_steps})"
        )
    cosine_steps = decay_steps - warmup_steps

    def schedule(count):
        warm = (init_value + (peak_value - init_value) * fnp.minimum(count, warmup_steps)
                / max(warmup_steps, 1))
        frac = fnp.clip((count - warmup_steps) / cosine_steps, 0.0, 1.0)
        cosine = end_value + (peak_value - end_value) * 0.5 * (1 + fnp.cos(np.pi * frac))
        return fnp.where(count < warmup_steps, warm, cosine)

    return schedule
