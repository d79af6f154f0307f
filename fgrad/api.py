"""The transforms: grad, value_and_grad, vjp, jvp, jacfwd, jacrev, hessian.

Each call opens a fresh trace, wraps the differentiated inputs in tracers of
that trace, runs the function, and reads the derivative off the trace.  The
trace is closed (``alive = False``) on the way out, even when the function
raises, so a tracer that escapes cannot be used by mistake later.
"""

from __future__ import annotations

import numpy as np

from . import numpy as fnp
from .autodiff import ForwardTrace, ForwardTracer, ReverseTrace, ReverseTracer
from .batching import BatchingError, check_chunk_size, vmap, vmap_unit_vectors
from .core import ACCEPTED_INPUTS as _ACCEPTED
from .core import Tracer, check_value, concrete, dtype_of, is_duck_array, shape_of, zeros_like_value
from .core import leaf_problem as _leaf_problem
from .tree import leaf_paths, registration_advice, tree_flatten, tree_map, tree_unflatten

__all__ = [
    "grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian",
    "stop_gradient",
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _check_leaves(tree, transform, what):
    """Refuse non-numeric leaves of ``tree`` (one argument) by type, naming the
    argument (``what``, e.g. "argument 0") and the leaf's path inside it."""
    leaves = tree_flatten(tree)[0]
    for k, x in enumerate(leaves):
        problem = _leaf_problem(x)
        if problem is not None:
            path = leaf_paths(tree)[k]
            advice = registration_advice(x)
            raise TypeError(
                f"{transform}: {what}{' at ' + path if path else ''} is {problem}, which "
                f"is not a number or numeric array.{advice} {_ACCEPTED}. Pass a number or "
                "array here, or keep this value out of the differentiated arguments (leave "
                "it out of argnums, or close over it)."
            )
    return leaves


def _check_outputs(out, leaves, transform):
    """Refuse non-numeric leaves of a function's output (``leaves``, flattened from
    ``out``): an unregistered class instance, a string.  Before, these gave numpy
    dtype errors or came back holding tracers."""
    for k, x in enumerate(leaves):
        if type(x) is np.ndarray or isinstance(x, Tracer):
            continue
        problem = _leaf_problem(x)
        if problem is not None:
            path = leaf_paths(out)[k]
            raise TypeError(
                f"{transform}: the function's output{' at ' + path if path else ''} is "
                f"{problem}, which is not a number or numeric array.{registration_advice(x)} "
                "Return arrays and numbers, in tuples, lists, dicts or registered pytree "
                "nodes (return other values as aux with has_aux=True)."
            )


def _check_inputs(args, nums, transform):
    for i in nums:
        _check_leaves(args[i], transform, f"argument {i}")


def _check_differentiable(x, transform):
    t = type(x)
    if t is not np.ndarray and t is not float:
        check_value(x, transform)  # masked arrays, np.matrix: refused
        problem = _leaf_problem(x)
        if problem is not None:
            raise TypeError(
                f"{transform}: an input is {problem}, which is not a number or numeric "
                f"array. {_ACCEPTED}."
            )
    kind = x.dtype.kind if t is np.ndarray else "f" if t is float else dtype_of(x).kind
    if kind not in "fc":
        raise TypeError(
            f"{transform} requires floating-point (or complex) inputs, but got an input of "
            f"dtype {dtype_of(x)} with value {concrete(x)!r}. Integers and booleans have no "
            "derivative: pass floats (e.g. 3.0 instead of 3, or x.astype(float)), or "
            "leave this argument out of argnums."
        )


def _argnums_tuple(argnums, nargs, transform):
    if type(argnums) is int and 0 <= argnums < nargs:  # the common case, quickly
        return True, (argnums,)
    single = isinstance(argnums, (int, np.integer))
    items = (argnums,) if single else argnums if isinstance(argnums, (tuple, list)) else None
    if items is None or not items or any(
            not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_))
            for a in items):
        raise TypeError(
            f"{transform}: argnums must be an int or a non-empty tuple of ints (positions "
            f"of the arguments to differentiate, from 0), got {argnums!r}."
        )
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise TypeError(
                f"{transform}: argnums={argnums!r} but the function was called with "
                f"{nargs} positional argument(s); argnums counts positional arguments "
                "from 0."
            )
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(
            f"{transform}: argnums={argnums!r} names the same argument more than once; "
            "each argument can be differentiated once. Remove the repeat (the gradient "
            "for a repeated position is the same value)."
        )
    return single, nums


def _check_like(value, like, what, like_what, fix):
    """Refuse a tangent or cotangent ``value`` whose shape is not ``like``'s, or that
    is complex where ``like`` is real (its imaginary part would be dropped), or that
    is a masked array or an ``np.matrix`` (its mask or matrix semantics would be)."""
    check_value(value, what)
    if shape_of(value) != shape_of(like):
        raise ValueError(
            f"{what} has shape {shape_of(value)} but {like_what} has shape "
            f"{shape_of(like)}; they must match."
        )
    if dtype_of(value).kind == "c" and dtype_of(like).kind != "c":
        raise TypeError(
            f"{what} is complex ({dtype_of(value)}) but {like_what} is real "
            f"({dtype_of(like)}); its imaginary part would be lost. {fix}"
        )


def _split_aux(out, has_aux, transform):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(
            f"{transform}(..., has_aux=True) expects the function to return a pair "
            f"(output, aux), but it returned {type(out).__name__}."
        )
    return out[0], out[1]


def _lower(x, trace):
    """Strip this trace's tracers from a value (for outputs and aux)."""
    if isinstance(x, Tracer) and x._trace is trace:
        return x.value
    return x


def _zeros_like(x):
    return zeros_like_value(x)  # a dask input's zero cotangent is lazy zeros


def _tangent_value(t, dtype):
    """A plain tangent as an array of ``dtype``; a dask or cupy one stays lazy."""
    if is_duck_array(t):
        return t if t.dtype == dtype else t.astype(dtype)
    return np.asarray(t, dtype=dtype)


def _substitute(args, argnums, values):
    args = list(args)
    for i, v in zip(argnums, values):
        args[i] = v
    return args


# --------------------------------------------------------------------------
# reverse mode
# --------------------------------------------------------------------------


def _reverse(fun, args, kwargs, argnums, has_aux, transform, copy_inputs=False):
    """Run ``fun`` under a new reverse trace.

    Returns ``(trace, input_leaves, input_trees, out, aux)``; the trace is dead.
    Arrays the tape keeps are read-only until ``trace.thaw()`` (or
    ``trace.snapshot()``); the caller must call one of them.  On an error they are
    thawed here.
    """
    trace = ReverseTrace()
    ok = False
    try:
        in_leaves, in_trees, wrapped = [], [], []
        for i in argnums:
            leaves, treedef = tree_flatten(args[i])
            for x in leaves:
                if type(x) is not float and not (type(x) is np.ndarray and x.dtype.kind == "f"):
                    if _leaf_problem(x) is not None:
                        _check_leaves(args[i], transform, f"argument {i}")
                    _check_differentiable(x, transform)
            if copy_inputs:  # the tape outlives the call: keep the values of now
                leaves = [x.copy() if isinstance(x, np.ndarray) else x for x in leaves]
            else:
                for x in leaves:
                    if isinstance(x, np.ndarray):
                        trace.freeze(x)
            tracers = [trace.new_input(x) for x in leaves]
            in_leaves.append(leaves)
            in_trees.append(treedef)
            wrapped.append(treedef.unflatten(tracers))
        out = fun(*_substitute(args, argnums, wrapped), **kwargs)
        out, aux = _split_aux(out, has_aux, transform)
        ok = True
    finally:
        trace.alive = False
        if not ok:
            trace.thaw()
    if has_aux:
        aux = tree_map(lambda a: _lower(a, trace), aux)
    return trace, in_leaves, in_trees, out, aux


_PLAIN_OUTPUTS = frozenset({np.float64, np.float32, np.ndarray, float})


def _unaliased(values, foreign=()):
    """``values`` (a list) with every array that is one of ``foreign`` (the caller's
    objects) or appears earlier in the list replaced by a copy: an in-place update
    of one result must not change another, nor the caller's arrays."""
    seen = {id(v) for v in foreign if isinstance(v, np.ndarray)}
    for k, v in enumerate(values):
        if isinstance(v, np.ndarray):
            if id(v) in seen:
                values[k] = v = v.copy()
            seen.add(id(v))
    return values


def _kind_like(c, x):
    """``c`` as an array when ``x`` is an array (even 0-d), else as a numpy scalar.

    Under ``fgrad.jit`` both may be staged: their types on the traced call are
    those of every call, so the conversion is staged too."""
    tx = x.value_type if isinstance(x, Tracer) else type(x)
    if tx is None:  # an enclosing transform's value: its own grad converts
        return c
    tc = c.value_type if isinstance(c, Tracer) else type(c)
    if tx is np.ndarray:
        if tc is not None and issubclass(tc, np.generic):
            c = fnp.broadcast_to(c, ()) if isinstance(c, Tracer) else np.asarray(c)
    elif tc is np.ndarray and not c.ndim:
        c = c[()]
    return c


def _input_cotangents(trace, cts, in_leaves, in_trees, start=0, foreign=()):
    """Collect per-input cotangents from the backward pass, as pytrees."""
    results = []
    if len(in_leaves) == 1 and len(in_leaves[0]) == 1 and not foreign:  # one input leaf
        n = 1
        flat = cts[start:start + 1]
        if flat[0] is in_leaves[0][0] and isinstance(flat[0], np.ndarray):
            flat[0] = flat[0].copy()  # never the caller's own array
    else:
        n = sum(len(leaves) for leaves in in_leaves)
        flat = cts[start:start + n]
        # (the inputs themselves count as the caller's too)
        _unaliased(flat, [x for leaves in in_leaves for x in leaves] + list(foreign))
    k = 0
    for leaves, treedef in zip(in_leaves, in_trees):
        out = []
        for x in leaves:
            c = flat[k]
            if c is None:
                c = _zeros_like(x)
            # the kind follows the input's: an array for an array (even 0-d), a numpy
            # scalar for a Python or numpy scalar
            out.append(_kind_like(c, x))
            k += 1
        results.append(treedef.unflatten(out))
    return results


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Return a function computing ``fun``'s value and its gradient.

    ``fun`` must return a real scalar (or ``(scalar, aux)`` with ``has_aux``).
    The gradient has the structure, shapes, dtypes and kinds (a numpy scalar for a
    scalar, an array for an array) of the arguments selected
    by ``argnums`` (a tuple of gradients when ``argnums`` is a tuple).
    With ``holomorphic=True``, ``fun`` maps complex inputs to a complex scalar
    and the result is the complex derivative ``df/dz`` (JAX's convention).

    Args:
        fun: the function to differentiate; it must return a real scalar (or ``(scalar,
            aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate: an int, or a tuple of ints
            for a tuple of results, one per argument (negative positions count from the end;
            0 by default).
        has_aux: ``fun`` returns ``(scalar, aux)``; the result is then ``((value, aux),
            gradient)``.
        holomorphic: ``fun`` maps complex inputs to complex outputs and is
            complex-differentiable; the result is then the complex derivative ``df/dz``
            (JAX's convention). False by default, when ``fun`` must return a real value
            (complex inputs are allowed).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> value, g = fgrad.value_and_grad(lambda x: fnp.sum(x ** 2))(fnp.array([1.0, 2.0]))
        >>> float(value), g
        (5.0, array([2., 4.]))
    """

    # the common call, one float or float-array argument differentiated, without aux:
    # no tree flattening, and the output checks only when the value is not a float64
    one_leaf = type(argnums) is int and argnums >= 0 and not has_aux and not holomorphic

    def value_and_grad_fun(*args, **kwargs):
        if one_leaf and argnums < len(args):
            x = args[argnums]
            tx = type(x)
            if tx is float or (tx is np.ndarray and x.dtype.kind == "f"):
                return _value_and_grad_one_leaf(x, tx, args, kwargs)
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        trace, in_leaves, in_trees, out, aux = _reverse(
            fun, args, kwargs, nums, has_aux, "grad"
        )
        if not trace.frozen:
            return _finish_grad(trace, in_leaves, in_trees, out, aux, single)
        try:
            return _finish_grad(trace, in_leaves, in_trees, out, aux, single)
        finally:
            trace.thaw()

    def _value_and_grad_one_leaf(x, tx, args, kwargs):
        # what _reverse, _finish_grad and _input_cotangents do for one leaf, in one place
        trace = ReverseTrace()
        ok = False
        try:
            if tx is np.ndarray:
                trace.freeze(x)
            args = list(args)
            args[argnums] = trace.new_input(x)
            out = fun(*args, **kwargs)
            ok = True
        finally:
            trace.alive = False
            if not ok:
                trace.thaw()
        if not trace.frozen:
            return _finish_one_leaf(trace, x, tx, out)
        try:
            return _finish_one_leaf(trace, x, tx, out)
        finally:
            trace.thaw()

    def _finish_one_leaf(trace, x, tx, out):
        if isinstance(out, ReverseTracer) and out._trace is trace:
            value = out.value
            if type(value) is np.float64:  # passes every check of _check_grad_output
                seed = np.array(1.0)
            else:
                _check_grad_output(value, (x,))
                seed = np.array(1, dtype=dtype_of(value))
                if is_duck_array(value):  # dask, cupy: the seed lives where the data does
                    seed = np.ones_like(value)
            c = trace.backward([(out.index, seed)], consume=True)[0]
        else:
            value = _lower(out, trace)
            _check_grad_output(value, (x,))
            c = None
        # the kind follows the input's, and the gradient is never the caller's array
        if c is None:
            c = _zeros_like(x)
        elif c is x:
            c = c.copy()
        if tx is np.ndarray:
            if isinstance(c, np.generic):
                c = np.asarray(c)
        elif type(c) is np.ndarray and not c.ndim:
            c = c[()]
        return value, c

    def _check_grad_output(value, inputs):
        """grad's checks of the function's value: a real (or, holomorphic, complex)
        scalar."""
        if value is None:
            raise TypeError(
                "grad: the function returned None; did the function forget to return? "
                "grad needs a function that returns a real scalar (e.g. return fnp.sum(...))."
            )
        if type(value) not in _PLAIN_OUTPUTS and _leaf_problem(value) is not None:
            raise TypeError(
                f"grad requires a function with a real scalar output, but it returned "
                f"{_leaf_problem(value)}."
            )
        shape = shape_of(value)
        if shape != ():
            raise TypeError(
                f"grad requires a function with a scalar output, but it returned an array "
                f"of shape {shape}. Use fgrad.vjp for vector-Jacobian products, "
                "fgrad.jacrev/jacfwd for the full Jacobian, or reduce the output (e.g. "
                ".sum()) if that is what is meant."
            )
        if holomorphic:
            _check_holomorphic(list(inputs), "inputs", "grad")
            _check_holomorphic([value], "an output", "grad")
        elif (kind := dtype_of(value).kind) == "b":
            raise TypeError(
                "grad requires a floating-point output, but the function returned a bool "
                "(a comparison, or np.allclose / np.isclose): it has no derivative. Return "
                "the float quantity itself (e.g. a squared error), not a test on it."
            )
        elif kind not in "fi":
            raise TypeError(
                f"grad requires a real-valued output, got dtype {dtype_of(value)}. For "
                "complex outputs use fgrad.vjp (or holomorphic=True for a holomorphic "
                "function), or take the real part / abs first."
            )

    def _finish_grad(trace, in_leaves, in_trees, out, aux, single):
        value = _lower(out, trace)
        _check_grad_output(value, [x for leaves in in_leaves for x in leaves])
        if isinstance(out, ReverseTracer) and out._trace is trace:
            seed = np.array(1, dtype=dtype_of(value))
            if is_duck_array(value):  # dask, cupy: the seed lives where the data does
                seed = np.ones_like(value)
            cts = trace.backward([(out.index, seed)], consume=True)
        else:
            cts = [None] * len(trace.tape)
        grads = _input_cotangents(trace, cts, in_leaves, in_trees)
        g = grads[0] if single else tuple(grads)
        return ((value, aux), g) if has_aux else (value, g)

    _wraps(value_and_grad_fun, fun, "value_and_grad")
    return value_and_grad_fun


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Return a function computing the gradient of scalar-valued ``fun``.

    Args:
        fun: the function to differentiate; it must return a real scalar (or ``(scalar,
            aux)`` with ``has_aux``).
        argnums: which positional argument(s) to differentiate: an int, or a tuple of ints
            for a tuple of results, one per argument (negative positions count from the end;
            0 by default).
        has_aux: ``fun`` returns a pair ``(output, aux)``; ``aux`` is passed through
            undifferentiated and returned beside the result.
        holomorphic: ``fun`` maps complex inputs to complex outputs and is
            complex-differentiable; the result is then the complex derivative ``df/dz``
            (JAX's convention). False by default, when ``fun`` must return a real value
            (complex inputs are allowed).

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.grad(lambda x: 2 * fnp.dot(x, x))(fnp.arange(4.0))
        array([ 0.,  4.,  8., 12.])
        >>> fgrad.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 3.0)
        (np.float64(3.0), np.float64(2.0))
        >>> complex(fgrad.grad(lambda z: z ** 2, holomorphic=True)(1j))
        2j
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    def grad_fun(*args, **kwargs):
        (value_aux, g) = vg(*args, **kwargs)
        return (g, value_aux[1]) if has_aux else g

    _wraps(grad_fun, fun, "grad")
    return grad_fun


def vjp(fun, *primals, has_aux=False):
    """Evaluate ``fun(*primals)`` and return it with its vector-Jacobian product.

    Returns ``(out, vjp_fun)`` (or ``(out, vjp_fun, aux)``); ``vjp_fun(ct)``
    takes a cotangent shaped like ``out`` and returns a tuple with one
    cotangent per primal.  ``vjp_fun`` can be called any number of times.

    Args:
        fun: the function, of the primals as positional arguments.
        *primals: the point: one value (array, number or pytree) per positional argument of
            ``fun``.
        has_aux: ``fun`` returns ``(output, aux)``; the result is then ``(out, vjp_fun,
            aux)``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> out, f_vjp = fgrad.vjp(lambda x: x * x, fnp.arange(4.0))
        >>> f_vjp(fnp.ones(4))
        (array([0., 2., 4., 6.]),)
    """
    return _vjp(fun, primals, has_aux)[:-1]


def _vjp(fun, primals, has_aux, frozen=False):
    """``vjp``, and its trace last.  With ``frozen`` the tape keeps the caller's
    arrays themselves, read-only, instead of copies: for a caller that is done with
    ``vjp_fun`` before it returns (``jacrev``) and then calls ``trace.thaw()``."""
    nums = tuple(range(len(primals)))
    trace, in_leaves, in_trees, out, aux = _reverse(
        fun, primals, {}, nums, has_aux, "vjp", copy_inputs=not frozen)
    if not frozen:
        trace.snapshot()  # the tape outlives this call: it keeps copies, not the caller's
    out_leaves, out_tree = tree_flatten(out)
    _check_outputs(out, out_leaves, "vjp")
    out_values = [_lower(o, trace) for o in out_leaves]
    def vjp_fun(cotangent):
        ct_leaves, ct_tree = tree_flatten(cotangent)
        out_tree.expect(ct_tree, "vjp_fun: the cotangent (like the output)")
        seeds = []
        for k, (o, v, c) in enumerate(zip(out_leaves, out_values, ct_leaves)):
            where = "" if out_tree.kind == "leaf" else f" at {leaf_paths(cotangent)[k]}"
            problem = _leaf_problem(c)
            if problem is not None:
                raise TypeError(
                    f"vjp_fun: the cotangent{where} is {problem}; pass an array shaped "
                    "like the output, with its dtype."
                )
            _check_like(c, v, f"vjp_fun: the cotangent{where}", "the output",
                        "Pass a real cotangent (split a complex one into real and "
                        "imaginary parts).")
            if isinstance(o, ReverseTracer) and o._trace is trace:
                if type(c) in (float, int, complex):  # a Python number: the output's dtype
                    c = np.asarray(c, dtype=dtype_of(v))
                seeds.append((o.index, c))
        cts = trace.backward(seeds) if seeds else [None] * len(trace.tape)
        return tuple(_input_cotangents(trace, cts, in_leaves, in_trees, foreign=ct_leaves))

    out = out_tree.unflatten(out_values)
    return (out, vjp_fun, aux, trace) if has_aux else (out, vjp_fun, trace)


# --------------------------------------------------------------------------
# forward mode
# --------------------------------------------------------------------------


def jvp(fun, primals, tangents, has_aux=False):
    """Evaluate ``fun`` and its Jacobian-vector product at ``primals``.

    ``primals`` and ``tangents`` are tuples (one entry per positional argument)
    of matching structure, shapes and dtypes.  Returns ``(out, tangent_out)``
    (or ``(out, tangent_out, aux)``).

    Args:
        fun: the function, of the primals as positional arguments.
        primals: a tuple (or list) with one value per positional argument of ``fun``.
        tangents: a tuple with one tangent per primal, of the same structure, shapes and
            dtypes.
        has_aux: ``fun`` returns ``(output, aux)``; the result is then ``(out, tangent_out,
            aux)``.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.jvp(fnp.sin, (0.0,), (2.0,))
        (np.float64(0.0), np.float64(2.0))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp expects primals and tangents as tuples, one entry per positional "
            "argument: fgrad.jvp(f, (x,), (v,))"
        )
    p_leaves, p_tree = tree_flatten(tuple(primals))
    t_leaves, t_tree = tree_flatten(tuple(tangents))
    for i, p in enumerate(primals):
        _check_leaves(p, "jvp", f"argument {i}")
    if p_tree != t_tree:
        raise TypeError(
            f"jvp: primals {p_tree} and tangents {t_tree} differ in structure "
            f"({p_tree.difference(t_tree)}); pass one tangent per primal leaf."
        )
    for i, t in enumerate(tangents):
        _check_leaves(t, "jvp", f"the tangent of argument {i}")
    trace = ForwardTrace()
    try:
        tracers = []
        for p, t in zip(p_leaves, t_leaves):
            _check_differentiable(p, "jvp")
            _check_like(t, p, "jvp: the tangent", "its primal",
                        "Pass a real tangent, or make the primal complex.")
            if not isinstance(t, Tracer):
                t = _tangent_value(t, dtype_of(p))
            elif dtype_of(t) != dtype_of(p):
                t = fnp.astype(t, dtype_of(p))
            tracers.append(ForwardTracer(p, trace, t))
        out = fun(*p_tree.unflatten(tracers))
        out, aux = _split_aux(out, has_aux, "jvp")
    finally:
        trace.alive = False
    out_leaves, out_tree = tree_flatten(out)
    _check_outputs(out, out_leaves, "jvp")
    values, tangents_out = trace.split(
        out_leaves, lambda o: (o.value, o.tangent), lambda o: (o, _zeros_like(o)))
    _unaliased(tangents_out, t_leaves)
    result = (out_tree.unflatten(values), out_tree.unflatten(tangents_out))
    if has_aux:
        return result + (tree_map(lambda a: _lower(a, trace), aux),)
    return result


# --------------------------------------------------------------------------
# Jacobians
# --------------------------------------------------------------------------


def _check_holomorphic(leaves, what, transform):
    for x in leaves:
        if dtype_of(x).kind != "c":
            raise TypeError(
                f"{transform}(..., holomorphic=True) requires {what} with a complex dtype, "
                f"but got {dtype_of(x)}. Cast them (e.g. x.astype(complex)), or drop "
                "holomorphic=True for a function that is not complex-to-complex."
            )


def _jacobian_inputs(fun, args, kwargs, argnums, holomorphic, transform):
    """What jacrev and jacfwd differentiate: ``(single, dyn, in_leaves, in_tree,
    partial)``, with ``partial(*dyn)`` calling ``fun`` on ``args`` where the
    arguments ``argnums`` are replaced (the inputs checked, complex ones too
    when ``holomorphic``)."""
    single, nums = _argnums_tuple(argnums, len(args), transform)
    _check_inputs(args, nums, transform)
    dyn = tuple(args[i] for i in nums)
    in_leaves, in_tree = tree_flatten(dyn)
    if holomorphic:
        _check_holomorphic(in_leaves, "inputs", transform)

    def partial(*dyn_args):
        return fun(*_substitute(args, nums, dyn_args), **kwargs)

    return single, dyn, in_leaves, in_tree, partial


def _require_real(leaves, transform, what, otherwise):
    """Refuse complex ``leaves`` (the inputs or outputs of a Jacobian)."""
    for x in leaves:
        if dtype_of(x).kind == "c":
            raise TypeError(
                f"{transform} requires real-valued {what}, but got dtype {dtype_of(x)}. For "
                f"a holomorphic function pass holomorphic=True; for other functions {otherwise}"
            )


def _unit_rows(shape, dtype, start, stop, like=None):
    """Rows ``start..stop-1`` of the identity, each reshaped to ``shape``; in the
    library of ``like``'s value when that is a dask or cupy array."""
    size = int(np.prod(shape, dtype=int))
    rows = np.eye(stop - start, size, k=start, dtype=dtype)  # ones at (i, start + i)
    rows = rows.reshape((stop - start,) + tuple(shape))
    like = concrete(like)
    return np.asarray(rows, like=like) if is_duck_array(like) else rows


def _jacobian_blocks(fn, shape, dtype, chunk_size, empty, like=None):
    """Stack ``fn(e)`` over the unit vectors ``e`` of arrays of ``shape``.

    ``fn`` returns a list of arrays; the result is that list with each entry
    stacked along a new leading axis.  Chunks of ``chunk_size`` unit vectors
    (all of them by default) go through ``vmap``, so one pass handles a whole
    chunk; if a primitive involved has no batching rule, the rows are computed
    one by one instead.  ``empty`` gives ``(shape, dtype)`` of each entry, for
    arrays without elements.
    """

    n = int(np.prod(shape, dtype=int))
    if n == 0:
        return [np.zeros((0,) + s, dtype=d) for s, d in empty]
    step = n if chunk_size is None else chunk_size  # checked by jacrev/jacfwd
    parts, batched = [], _BATCHED_JACOBIANS
    structured = (_STRUCTURED_BASIS and step >= n and n >= 2 and np.dtype(dtype).kind in "fc"
                  and not is_duck_array(concrete(like)))
    for start in range(0, n, step):
        if batched and structured:
            try:
                # the unit vectors as one structured batch (no n x n identity)
                parts.append(vmap_unit_vectors(fn, shape, dtype))
                continue
            except BatchingError:
                batched = False
        rows = _unit_rows(shape, dtype, start, min(start + step, n), like)
        if batched:
            try:
                parts.append(vmap(fn)(rows))
                continue
            except BatchingError:
                batched = False  # a primitive without a batching rule: one row at a time
        per_row = [fn(r) for r in rows]
        parts.append([fnp.stack([r[m] for r in per_row]) for m in range(len(per_row[0]))])
    if len(parts) == 1:
        return parts[0]
    return [fnp.concatenate([p[m] for p in parts]) for m in range(len(parts[0]))]


def _independent_blocks(result):
    """``result`` (a pytree of Jacobian blocks) with every numpy block that shares
    memory with an earlier one copied: one vmap output can stand for several blocks
    (an output returned twice, two inputs with one cotangent), and writing into one
    block must not change another."""
    leaves, tree = tree_flatten(result)
    roots, changed = set(), False
    for k, v in enumerate(leaves):
        if type(v) is not np.ndarray:
            continue
        root = v
        while isinstance(root.base, np.ndarray):
            root = root.base
        if id(root) in roots:
            leaves[k] = v.copy()
            changed = True
        else:
            roots.add(id(root))
    return tree.unflatten(leaves) if changed else result


#: jacfwd/jacrev push whole chunks of unit vectors through one vmapped pass;
#: set to False to compute one row (column) per pass, as autograd does.
_BATCHED_JACOBIANS = True

#: ... and, when one pass takes every unit vector, hand them to vmap as the structured
#: batch of ``fgrad.batching.vmap_unit_vectors`` rather than a dense identity matrix;
#: set to False for the dense identity (the tests compare the two).
_STRUCTURED_BASIS = True


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, chunk_size=None):
    """Jacobian of ``fun`` by reverse mode: vjps with the output's unit vectors.

    The result for an output leaf of shape ``S`` and an input leaf of shape
    ``T`` has shape ``S + T``; pytrees nest as output structure, then input.
    ``fun`` runs once; the vjps are pushed through ``vmap`` in chunks of
    ``chunk_size`` unit vectors (all at once by default: pass a chunk size to
    bound memory for large Jacobians).  Outputs must be real, as in JAX; with
    ``holomorphic=True`` inputs and outputs must be complex and the result is
    the complex derivative ``df/dz``.

    Args:
        fun: the function; its outputs may be arrays or pytrees of them.
        argnums: which positional argument(s) to differentiate: an int, or a tuple of ints
            for a tuple of results, one per argument (negative positions count from the end;
            0 by default).
        has_aux: ``fun`` returns a pair ``(output, aux)``; ``aux`` is passed through
            undifferentiated and returned beside the result.
        holomorphic: complex inputs and outputs, and the result is ``df/dz``; False by
            default, when outputs must be real.
        chunk_size: pull the unit vectors through ``vmap`` this many at a time (bounds
            memory); ``None``, the default, pulls all at once.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> fgrad.jacrev(lambda x: x ** 2)(fnp.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])
        >>> fgrad.jacrev(lambda z: z ** 2, holomorphic=True)(fnp.array([1j]))
        array([[0.+2.j]])
    """
    chunk_size = check_chunk_size(chunk_size, "jacrev")

    def jac_fun(*args, **kwargs):
        single, dyn, in_leaves, in_tree, partial = _jacobian_inputs(
            fun, args, kwargs, argnums, holomorphic, "jacrev")
        # the vjp is used up before this returns: its tape may keep the caller's arrays
        # (read-only meanwhile) instead of copying them
        res = _vjp(partial, dyn, has_aux, frozen=True)
        trace = res[-1]
        try:
            result = _independent_blocks(
                _jacrev_rows(res[0], res[1], in_leaves, in_tree, single))
            if trace.frozen_ids:  # no block of the result is one of the caller's arrays
                leaves, tree = tree_flatten(result)
                if any(id(v) in trace.frozen_ids for v in leaves):
                    result = tree.unflatten(
                        [v.copy() if id(v) in trace.frozen_ids else v for v in leaves])
        finally:
            trace.thaw()
        return (result, res[2]) if has_aux else result

    def _jacrev_rows(out, f_vjp, in_leaves, in_tree, single):
        out_leaves, out_tree = tree_flatten(out)
        if holomorphic:
            _check_holomorphic(out_leaves, "outputs", "jacrev")
        else:
            _require_real(out_leaves, "jacrev", "outputs", "with complex outputs use fgrad.vjp "
                          "directly (or split the output into real and imaginary parts).")
        in_specs = [(np.shape(concrete(x)), dtype_of(x)) for x in in_leaves]
        per_out = []
        for k, o in enumerate(out_leaves):
            o_shape, o_dtype = np.shape(concrete(o)), dtype_of(o)

            def row(e, k=k):
                ct = [e if j == k else _zeros_like(other) for j, other in enumerate(out_leaves)]
                return tree_flatten(f_vjp(out_tree.unflatten(ct)))[0]

            blocks = _jacobian_blocks(row, o_shape, o_dtype, chunk_size, in_specs, like=o)
            per_in = [fnp.reshape(b, o_shape + s) for b, (s, _) in zip(blocks, in_specs)]
            tree = in_tree.unflatten(per_in)
            per_out.append(tree[0] if single else tree)
        return out_tree.unflatten(per_out)

    _wraps(jac_fun, fun, "jacrev")
    return jac_fun


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False, chunk_size=None):
    """Jacobian of ``fun`` by forward mode: jvps with the input's unit vectors.

    Same shapes as :func:`jacrev` (output shape, then input shape), one column
    per input element: the jvps are pushed through ``vmap`` in chunks of
    ``chunk_size`` unit vectors (all at once by default).  Cheaper than
    :func:`jacrev` when there are fewer inputs than outputs.  Inputs must be
    real, as in JAX, unless ``holomorphic=True`` (complex inputs and outputs,
    result ``df/dz``).

    Args:
        fun: the function; its outputs may be arrays or pytrees of them.
        argnums: which positional argument(s) to differentiate: an int, or a tuple of ints
            for a tuple of results, one per argument (negative positions count from the end;
            0 by default).
        has_aux: ``fun`` returns a pair ``(output, aux)``; ``aux`` is passed through
            undifferentiated and returned beside the result.
        holomorphic: complex inputs and outputs, and the result is ``df/dz``; False by
            default, when inputs must be real.
        chunk_size: push the unit vectors through ``vmap`` this many at a time (bounds
            memory); ``None``, the default, pushes all at once.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> f = lambda x: fnp.array([x[0] * x[1], x[0] + x[1], fnp.sin(x[0])])
        >>> fgrad.jacfwd(f)(fnp.array([0.0, 3.0]))  # 3 outputs x 2 inputs
        array([[3., 0.],
               [1., 1.],
               [1., 0.]])
    """
    chunk_size = check_chunk_size(chunk_size, "jacfwd")

    def jac_fun(*args, **kwargs):
        single, dyn, in_leaves, in_tree, partial = _jacobian_inputs(
            fun, args, kwargs, argnums, holomorphic, "jacfwd")
        if not holomorphic:
            _require_real(in_leaves, "jacfwd", "inputs",
                          "of complex inputs use fgrad.jvp directly, or jacrev.")

        # the primal output and aux do not depend on the tangent: keep one copy
        primal = {}

        def column(e, m):
            tangent = [e if j == m else _zeros_like(y) for j, y in enumerate(in_leaves)]
            res = jvp(partial, dyn, tuple(in_tree.unflatten(tangent)), has_aux=has_aux)
            primal["out"], primal["aux"] = res[0], (res[2] if has_aux else None)
            return tree_flatten(res[1])[0]

        columns = [None] * len(in_leaves)
        for m, x in enumerate(in_leaves):
            if np.size(concrete(x)):
                columns[m] = _jacobian_blocks(
                    lambda e, m=m: column(e, m), np.shape(concrete(x)), dtype_of(x),
                    chunk_size, None, like=x)
        if "out" not in primal:  # no input elements at all: evaluate once for the output
            res = jvp(partial, dyn, tuple(tree_map(_zeros_like, dyn)), has_aux=has_aux)
            primal["out"], primal["aux"] = res[0], (res[2] if has_aux else None)
        out, aux = primal["out"], primal["aux"]
        out_leaves, out_tree = tree_flatten(out)
        if holomorphic:
            _check_holomorphic(out_leaves, "outputs", "jacfwd")
        per_out = []
        for k, o in enumerate(out_leaves):
            o_shape = np.shape(concrete(o))
            per_in = []
            for m, x in enumerate(in_leaves):
                x_shape = np.shape(concrete(x))
                if columns[m] is None:
                    per_in.append(np.zeros(o_shape + x_shape, dtype=dtype_of(o)))
                    continue
                block = fnp.moveaxis(columns[m][k], 0, -1)  # (n_in, *o_shape) -> (*o_shape, n_in)
                per_in.append(fnp.reshape(block, o_shape + x_shape))
            tree = in_tree.unflatten(per_in)
            per_out.append(tree[0] if single else tree)
        result = _independent_blocks(out_tree.unflatten(per_out))
        return (result, aux) if has_aux else result

    _wraps(jac_fun, fun, "jacfwd")
    return jac_fun


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """Hessian of scalar-valued ``fun``: ``jacfwd(jacrev(fun))``.

    For pytree inputs the result nests as input structure, then input structure
    again (``H[a][b]`` is the block of second derivatives in ``a`` and ``b``),
    as JAX.  With ``has_aux=True`` ``fun`` returns ``(value, aux)`` and the
    result is ``(hessian, aux)``.

    Args:
        fun: a function returning a real scalar (or ``(scalar, aux)`` with ``has_aux``).
        argnums: which positional argument(s) to take second derivatives in: an int, or a
            tuple of ints, when the result nests as ``H[i][j]`` over the pairs of selected
            arguments.
        has_aux: ``fun`` returns ``(scalar, aux)``; the result is then ``(hessian, aux)``.
        holomorphic: complex inputs and output, and the result holds the complex second
            derivatives ``d2f/dz2``; False by default.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> A = fnp.array([[1.0, 2.0], [0.0, 3.0]])
        >>> fgrad.hessian(lambda x: x @ A @ x)(fnp.ones(2))
        array([[2., 2.],
               [2., 6.]])
        >>> H, aux = fgrad.hessian(lambda x: (fnp.sum(x ** 3), fnp.max(x)), has_aux=True)(
        ...     fnp.array([1.0, 2.0]))
        >>> H, aux
        (array([[ 6.,  0.],
               [ 0., 12.]]), np.float64(2.0))
    """
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


def stop_gradient(x):
    """The same value with zero derivative, in every mode and at every order.

    Works on pytrees.  This is fgrad's ``detach``.

    Args:
        x: a value: an array, a number, a traced value or a pytree of them.

    Example:
        >>> import fgrad
        >>> fgrad.grad(lambda x: fgrad.stop_gradient(x * x) * x)(3.0)
        np.float64(9.0)
    """

    return tree_map(fnp.stop_gradient, x)


def _wraps(wrapper, fun, transform):
    name = getattr(fun, "__name__", type(fun).__name__)
    wrapper.__name__ = f"{transform}({name})"
    wrapper.__qualname__ = wrapper.__name__
    wrapper.__doc__ = f"{transform} of {name}." + (
        f"\n\n{fun.__doc__}" if getattr(fun, "__doc__", None) else ""
    )
    wrapper.__wrapped__ = fun


_ = tree_unflatten
