# %% [markdown]
# # 5. Your own primitives
#
# Seed 003 shows how PyTorch lets users add an operation with its own derivative: subclass
# `torch.autograd.Function`, compute the result in `forward`, stash what the derivative will need with
# `ctx.save_for_backward`, and return `grad_output * cosh(i)` from `backward`:
#
# ```python
# class Sinh(Function):
#     @staticmethod
#     def forward(ctx, i):
#         ctx.save_for_backward(i)
#         return i.sinh()
#
#     @staticmethod
#     def backward(ctx, grad_output):
#         i, = ctx.saved_tensors
#         return grad_output * i.cosh()
# ```
#
# fgrad offers three ways to do the same, from the most general to the most convenient:
#
# 1. `fgrad.core.defprim`: add a row to the rule table that every transform reads (a numpy
#    implementation plus a forward *and* a reverse rule);
# 2. `fgrad.custom_vjp`: decorate a function and give it a forward pass that saves *residuals* and a
#    backward pass (the direct analogue of the `Function` above);
# 3. `fgrad.custom_jvp`: decorate a function and give it a forward-mode rule; reverse mode is derived
#    from it.
#
# Whichever you use, `fgrad.check_grads` tests the rules against finite differences and against each
# other, to any order.

# %%
import numpy as np

import fgrad
import fgrad.numpy as fnp
from fgrad.core import defprim

np.set_printoptions(precision=4)
x = np.array([-1.0, 0.0, 0.5, 2.0])

# %% [markdown]
# ## 1. A primitive: a row of the rule table
#
# A primitive has a numpy implementation and one rule per argument for each mode:
# `jvp(t, ans, x)` maps an input tangent to the output tangent, and `vjp(g, ans, x)` maps an output
# cotangent to the input cotangent.  `ans` is the primitive's output, available for free.  The rules
# are written with `fgrad.numpy`, so they are differentiable themselves: that is what makes second
# derivatives work.
#
# There is no `save_for_backward`: reverse mode reads the rule's code and keeps exactly the arguments
# the rule uses (here `x`, for `cosh(x)`).
#
# Two more keywords appear below.  `batch="elementwise"` tells `fgrad.vmap` (the transform that runs a
# function on a whole batch of inputs at once, met in notebook 3) how to batch the row: an elementwise
# function already works on an array of any shape.  `replace=True` lets you run the cell again, after
# fixing a rule say: a name can be declared only once, unless each declaration says `replace=True`,
# and then the new row replaces the old one (fgrad's own rows can never be replaced; see *Adding a
# primitive* in the docs).

# %%
sinh_prim = defprim(
    "tutorial_sinh",
    np.sinh,
    jvp=[lambda t, ans, x: t * fnp.cosh(x)],
    vjp=[lambda g, ans, x: g * fnp.cosh(x)],
    batch="elementwise",
    replace=True,
)

print(fgrad.grad(lambda x: fnp.sum(sinh_prim(x)))(x))
assert np.allclose(fgrad.grad(lambda x: fnp.sum(sinh_prim(x)))(x), np.cosh(x))
# second derivative: d/dx cosh = sinh, through the rule's own derivative
assert np.allclose(fgrad.grad(fgrad.grad(lambda x: sinh_prim(x)))(0.5), np.sinh(0.5))
fgrad.check_grads(sinh_prim, (x,), order=3)
print("tutorial_sinh passes check_grads to third order")

# %% [markdown]
# The primitive appears as one node in the graph of any function that uses it:

# %%
print(fgrad.make_graph(lambda x: fnp.sum(sinh_prim(x) ** 2))(x))

# %% [markdown]
# A wrong rule does not go unnoticed.  Here the derivative is off by a factor of two, and
# `check_grads` says by how much:

# %%
bad_sinh = defprim(
    "tutorial_bad_sinh",
    np.sinh,
    jvp=[lambda t, ans, x: 2 * t * fnp.cosh(x)],
    vjp=[lambda g, ans, x: 2 * g * fnp.cosh(x)],
    batch="elementwise",
    replace=True,
)
try:
    fgrad.check_grads(bad_sinh, (x,), order=1)
except AssertionError as err:
    print("AssertionError:", str(err).splitlines()[0])
else:
    raise RuntimeError("check_grads should have caught the wrong rule")

# %% [markdown]
# ## 2. custom_vjp: the Sinh Function, functionally
#
# `fgrad.custom_vjp` is the closest match to PyTorch's `Function`.  The forward pass returns the output
# and the *residuals* (what `save_for_backward` would keep); the backward pass receives the residuals
# and the output cotangent and returns one cotangent per argument, as a tuple.

# %%
@fgrad.custom_vjp
def sinh_vjp(x):
    return fnp.sinh(x)

def sinh_fwd(x):
    return fnp.sinh(x), x            # output, residuals ("save_for_backward(x)")

def sinh_bwd(saved_x, g):
    return (g * fnp.cosh(saved_x),)  # one cotangent per argument

sinh_vjp.defvjp(sinh_fwd, sinh_bwd)

g = fgrad.grad(lambda x: fnp.sum(sinh_vjp(x)))(x)
print(g)
assert np.allclose(g, np.cosh(x))
# the backward pass is written with fgrad functions, so it is differentiable again
assert np.allclose(fgrad.grad(fgrad.grad(lambda x: sinh_vjp(x)))(0.5), np.sinh(0.5))
fgrad.check_grads(sinh_vjp, (x,), order=2, modes=("rev",))
print("custom_vjp sinh passes the reverse-mode checks to second order")

# %% [markdown]
# A custom_vjp function has only a reverse rule, so forward mode applied to it directly is refused (as
# in JAX), with a message pointing to `custom_jvp`:

# %%
try:
    fgrad.jvp(sinh_vjp, (x,), (np.ones_like(x),))
except TypeError as err:
    print("TypeError:", err)

# %% [markdown]
# ## 3. custom_jvp: a forward rule, reverse mode for free
#
# With `custom_jvp` you give the rule as a function of the primals and tangents, returning the output
# and its tangent.  Reverse mode is obtained from it (the rule is linear in the tangent).

# %%
@fgrad.custom_jvp
def sinh_jvp(x):
    return fnp.sinh(x)

@sinh_jvp.defjvp
def sinh_jvp_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return fnp.sinh(x), fnp.cosh(x) * t

_, tangent = fgrad.jvp(sinh_jvp, (x,), (np.ones_like(x),))
assert np.allclose(tangent, np.cosh(x))
assert np.allclose(fgrad.grad(lambda x: fnp.sum(sinh_jvp(x)))(x), np.cosh(x))
fgrad.check_grads(sinh_jvp, (x,), order=2)
print("custom_jvp sinh: forward and reverse mode agree with cosh")

# %% [markdown]
# ## A numerically stable log(1 + exp(x))
#
# The *softplus* function $\log(1 + e^x)$ is a common building block.  Written naively it overflows for
# large $x$: $e^{1000}$ is `inf`, so the value is `inf` and the derivative
# $e^x / (1 + e^x) = \infty/\infty$ is `nan`.  Mathematically the value is $\approx x$ and the
# derivative $\approx 1$.

# %%
def softplus_naive(x):
    return fnp.log(1 + fnp.exp(x))


with np.errstate(over="ignore", invalid="ignore"):
    print("naive value:", softplus_naive(1000.0),
          " naive derivative:", fgrad.grad(softplus_naive)(1000.0))

# %% [markdown]
# The fix is a primitive whose implementation is numpy's stable `logaddexp(0, x)` and whose derivative
# is the logistic sigmoid, written in a form that cannot overflow: $\sigma(x) = \frac12(1 + \tanh(x/2))$.
# Because the rule is written with fgrad functions, the second derivative
# $\sigma'(x) = \sigma(x)(1 - \sigma(x))$ comes out right too.

# %%
def sigmoid(x):
    return 0.5 * (1 + fnp.tanh(0.5 * x))


softplus = defprim(
    "tutorial_softplus",
    lambda x: np.logaddexp(0.0, x),
    jvp=[lambda t, ans, x: t * sigmoid(x)],
    vjp=[lambda g, ans, x: g * sigmoid(x)],
    batch="elementwise",
    replace=True,
)

big = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
print("value:     ", softplus(big))
print("derivative:", fgrad.grad(lambda x: fnp.sum(softplus(x)))(big))
print("second:    ", fgrad.grad(lambda x: fnp.sum(fgrad.grad(lambda y: fnp.sum(softplus(y)))(x)))(big))
assert np.allclose(softplus(big), [0.0, np.log1p(np.exp(-30.0)), np.log(2), 30.0, 1000.0])
assert np.allclose(fgrad.grad(lambda x: fnp.sum(softplus(x)))(big), [0.0, 0.0, 0.5, 1.0, 1.0])
assert np.all(np.isfinite(fgrad.hessian(lambda x: fnp.sum(softplus(x)))(big)))

moderate = np.linspace(-5, 5, 7)
fgrad.check_grads(softplus, (moderate,), order=3)
assert np.allclose(softplus(moderate), softplus_naive(moderate))
print("softplus passes check_grads to third order")

# %% [markdown]
# With `custom_jvp` the same fix reads:

# %%
@fgrad.custom_jvp
def softplus_cj(x):
    return fnp.logaddexp(0.0, x)

@softplus_cj.defjvp
def softplus_cj_rule(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus_cj(x), sigmoid(x) * t

assert np.allclose(fgrad.grad(lambda x: fnp.sum(softplus_cj(x)))(big), [0, 0, 0.5, 1, 1])
fgrad.check_grads(softplus_cj, (moderate,), order=2)
print("custom_jvp softplus passes check_grads to second order")

# %% [markdown]
# ## Which one to use
#
# * `custom_jvp` when you know the derivative as a formula: both modes, and all orders, follow.
# * `custom_vjp` when the backward pass is easier than the forward rule, or should save memory or time
#   by choosing what to keep (the analogue of PyTorch's `Function`).
# * `defprim` to extend fgrad.numpy itself, with a batching rule and test hints so that the
#   systematic table test checks the new row automatically (see *Adding a primitive* in the docs).
