"""One adapter per library, all with the same small interface.

The workloads (workloads.py) are written once against this interface, so every
library runs literally the same Python code:

    L.name            column title
    L.np              a numpy-like namespace: sin cos tanh exp log sqrt,
                      sum/max/mean(x, axis=None, keepdims=False); arrays support
                      + - * / ** @ and unary -, with Python floats on either side
    L.array(a)        numpy float64 array (or Python float) -> the library's array
    L.numpy(y)        the library's array -> numpy array
    L.ready(y)        block until y is computed (JAX dispatches asynchronously)
    L.wrap(f)         identity, except for the jitted JAX column
    L.grad(f, argnums=0), L.value_and_grad(f, argnums=0)
    L.jvp(f, primals, tangents) -> (out, tangent_out)
    L.jacfwd(f), L.jacrev(f)
    L.hvp(f, x, v)    Hessian-vector product, forward over reverse

A transformation a library lacks raises Missing; its cell then reads "n/a".
Peers are imported lazily and only when asked for; none of them is a
dependency of fgrad (see benchmarks/README.md for the throwaway environment).
"""

from __future__ import annotations

import numpy as onp


class Missing(Exception):
    """The library has no such transformation."""


def tree_map(fn, tree, *rest):
    """Map over dict (sorted keys) / list / tuple containers of arrays."""
    if isinstance(tree, dict):
        return {k: tree_map(fn, tree[k], *(r[k] for r in rest)) for k in sorted(tree)}
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(fn, *parts) for parts in zip(tree, *rest))
    return fn(tree, *rest)


def leaves(tree):
    """The arrays of a container, in tree_map's order."""
    out = []
    tree_map(out.append, tree)
    return out


class Lib:
    name = "?"
    differentiates = True
    numpy_arrays = False  # True: arrays are numpy's, so tracemalloc sees them
    scan = None  # the library's structured loop (lax.scan), where it has one

    def array(self, a):
        return a  # the data are numpy float64 arrays (and Python floats) already

    def numpy(self, y):
        return onp.asarray(y)

    def ready(self, y):
        return y

    def wrap(self, f):
        return f

    def version(self):
        return ""

    def grad(self, f, argnums=0):
        raise Missing("grad")

    def value_and_grad(self, f, argnums=0):
        raise Missing("value_and_grad")

    def jvp(self, f, primals, tangents):
        raise Missing("jvp")

    def jacfwd(self, f):
        raise Missing("jacfwd")

    def jacrev(self, f):
        raise Missing("jacrev")

    def hvp(self, f, x, v):
        return self.jvp(self.grad(f), (x,), (v,))[1]


class NumpyLib(Lib):
    """Plain numpy: the forward pass only, the floor every ratio is taken against."""

    name = "numpy"
    differentiates = False
    numpy_arrays = True

    def __init__(self):
        self.np = onp

    def version(self):
        return onp.__version__


class FgradLib(Lib):
    name = "fgrad"
    numpy_arrays = True

    def __init__(self):
        import fgrad
        import fgrad.numpy as fnp

        self.fgrad = fgrad
        self.np = fnp
        self.scan = fgrad.lax.scan

    def version(self):
        return self.fgrad.__version__

    def grad(self, f, argnums=0):
        return self.fgrad.grad(f, argnums=argnums)

    def value_and_grad(self, f, argnums=0):
        return self.fgrad.value_and_grad(f, argnums=argnums)

    def jvp(self, f, primals, tangents):
        return self.fgrad.jvp(f, tuple(primals), tuple(tangents))

    def jacfwd(self, f):
        return self.fgrad.jacfwd(f)

    def jacrev(self, f):
        return self.fgrad.jacrev(f)


class FgradJitLib(FgradLib):
    """The same fgrad code with each measured call wrapped in one ``fgrad.jit``
    (traced during the warm-up calls, then replayed)."""

    name = "fgrad-jit"

    def wrap(self, f):
        return self.fgrad.jit(f)


class AutogradLib(Lib):
    """HIPS autograd (jacfwd is a loop of make_jvp over the basis: it has none)."""

    name = "autograd"
    numpy_arrays = True

    def __init__(self):
        import autograd
        import autograd.numpy as anp

        self.ag = autograd
        self.np = anp

    def version(self):
        from importlib.metadata import version

        return version("autograd")

    def grad(self, f, argnums=0):
        return self.ag.grad(f, argnums)

    def value_and_grad(self, f, argnums=0):
        return self.ag.value_and_grad(f, argnums)

    def jvp(self, f, primals, tangents):
        if len(primals) == 1:
            return self.ag.make_jvp(f)(primals[0])(tangents[0])
        return self.ag.make_jvp(lambda xs: f(*xs))(tuple(primals))(tuple(tangents))

    def jacrev(self, f):
        return self.ag.jacobian(f)

    def jacfwd(self, f):
        make_jvp, anp = self.ag.make_jvp, self.np

        def jac(x):
            at = make_jvp(f)(x)
            n = onp.size(x)
            cols = [at(e.reshape(onp.shape(x)))[1] for e in onp.eye(n)]
            return anp.reshape(anp.stack(cols, axis=-1), onp.shape(cols[0]) + onp.shape(x))

        return jac


class JaxLib(Lib):
    """JAX op by op (no jit); JaxJitLib wraps each measured call in one jax.jit."""

    name = "jax"

    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self.jax = jax
        self.np = jnp
        self.scan = jax.lax.scan

    def version(self):
        return self.jax.__version__

    def array(self, a):
        return self.np.asarray(a, dtype=self.np.float64)

    def ready(self, y):
        return self.jax.block_until_ready(y)

    def grad(self, f, argnums=0):
        return self.jax.grad(f, argnums=argnums)

    def value_and_grad(self, f, argnums=0):
        return self.jax.value_and_grad(f, argnums=argnums)

    def jvp(self, f, primals, tangents):
        return self.jax.jvp(f, tuple(primals), tuple(tangents))

    def jacfwd(self, f):
        return self.jax.jacfwd(f)

    def jacrev(self, f):
        return self.jax.jacrev(f)


class JaxJitLib(JaxLib):
    name = "jax-jit"

    def wrap(self, f):
        return self.jax.jit(f)


class _TorchNamespace:
    """The numpy names the workloads use, on torch tensors."""

    def __init__(self, torch):
        self.t = torch
        self.sin, self.cos, self.tanh = torch.sin, torch.cos, torch.tanh
        self.exp, self.log, self.sqrt = torch.exp, torch.log, torch.sqrt

    def _reduce(self, fn, x, axis, keepdims):
        if axis is None:
            out = fn(x)
            return out.reshape((1,) * x.dim()) if keepdims else out
        return fn(x, dim=axis, keepdim=keepdims)

    def sum(self, x, axis=None, keepdims=False):
        return self._reduce(self.t.sum, x, axis, keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self._reduce(self.t.mean, x, axis, keepdims)

    def max(self, x, axis=None, keepdims=False):
        return self._reduce(self.t.amax, x, axis, keepdims)


class TorchLib(Lib):
    """Eager PyTorch: torch.autograd.grad; jvp with forward-mode dual tensors."""

    name = "torch"

    def __init__(self):
        import torch
        import torch.autograd.forward_ad as fwad

        torch.set_num_threads(1)
        self.torch, self.fwad = torch, fwad
        self.np = _TorchNamespace(torch)

    def version(self):
        return self.torch.__version__

    def array(self, a):
        return self.torch.from_numpy(onp.array(a, dtype=onp.float64))  # a copy

    def numpy(self, y):
        return y.detach().numpy() if isinstance(y, self.torch.Tensor) else onp.asarray(y)

    def _grad(self, f, argnums, args, with_value):
        torch, fwad = self.torch, self.fwad
        args = list(args)
        nested = False
        inputs = []

        def prepare(x):
            nonlocal nested
            primal, tangent = fwad.unpack_dual(x)
            if tangent is not None or x.requires_grad:  # inside jvp or an outer grad
                nested = True
                if not primal.requires_grad:
                    x = fwad.make_dual(primal.detach().requires_grad_(True), tangent)
            else:
                x = x.detach().requires_grad_(True)
            inputs.append(x)
            return x

        args[argnums] = tree_map(prepare, args[argnums])
        with torch.enable_grad():
            out = f(*args)
            gs = torch.autograd.grad(out, inputs, create_graph=nested, allow_unused=True)
        gs = iter(torch.zeros_like(x) if g is None else g for x, g in zip(inputs, gs))
        g = tree_map(lambda _: next(gs), args[argnums])
        return ((out if nested else out.detach()), g) if with_value else g

    def grad(self, f, argnums=0):
        return lambda *args: self._grad(f, argnums, args, False)

    def value_and_grad(self, f, argnums=0):
        return lambda *args: self._grad(f, argnums, args, True)

    def jvp(self, f, primals, tangents):
        fwad = self.fwad
        with fwad.dual_level():
            out = f(*(fwad.make_dual(p, t) for p, t in zip(primals, tangents)))
            primal, tangent = fwad.unpack_dual(out)
        return primal, (self.torch.zeros_like(primal) if tangent is None else tangent)

    def jacrev(self, f):
        jacobian = self.torch.autograd.functional.jacobian
        return lambda x: jacobian(f, x, vectorize=False)

    def jacfwd(self, f):
        torch = self.torch

        def jac(x):
            basis = torch.eye(x.numel(), dtype=x.dtype).reshape((-1,) + tuple(x.shape))
            cols = [self.jvp(f, (x,), (e,))[1] for e in basis]
            return torch.stack(cols, dim=-1).reshape(tuple(cols[0].shape) + tuple(x.shape))

        return jac


LIBS = {lib.name: lib for lib in (NumpyLib, AutogradLib, JaxLib, JaxJitLib, TorchLib, FgradLib,
                                  FgradJitLib)}
