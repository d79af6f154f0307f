# %% [markdown]
# # 6. Higher-order derivatives and composition
#
# A gradient function is an ordinary Python function, so it can be differentiated again, passed to
# another transform, or called inside a function that is itself being differentiated.  This notebook
# uses that for derivatives of any order, Taylor polynomials, Newton's method and Hessians, and ends
# with the classic trap of nested differentiation, *perturbation confusion*, and why fgrad avoids it.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import fgrad
import fgrad.numpy as fnp

# %% [markdown]
# ## grad of grad
#
# The derivatives of $x^3$ are $3x^2$, $6x$, $6$ and then $0$:

# %%
def cube(x):
    return x**3


d = [cube]
for _ in range(4):
    d.append(fgrad.grad(d[-1]))
print([float(fn(2.0)) for fn in d])
assert [float(fn(2.0)) for fn in d] == [8.0, 12.0, 12.0, 6.0, 0.0]

# %% [markdown]
# The derivatives of `tanh`, computed by nesting `grad`, and evaluated on a grid.  (`grad` wants a
# scalar function; for an elementwise function the gradient of the sum gives all the pointwise
# derivatives at once.)

# %%
def elementwise_derivative(fn):
    return fgrad.grad(lambda x: fnp.sum(fn(x)))


xs = np.linspace(-4, 4, 400)
fns = [fnp.tanh]
for _ in range(3):
    fns.append(elementwise_derivative(fns[-1]))

fig, ax = plt.subplots(figsize=(7, 3.4))
for k, fn in enumerate(fns):
    ax.plot(xs, fn(xs), label=["tanh", "1st", "2nd", "3rd"][k] + (" derivative" if k else ""))
ax.grid(alpha=0.3)
ax.legend()
ax.set_xlabel("x")
plt.show()

t = np.tanh(xs)
assert np.allclose(fns[1](xs), 1 - t**2)
assert np.allclose(fns[2](xs), -2 * t * (1 - t**2))
assert np.allclose(fns[3](xs), -2 * (1 - t**2) * (1 - 3 * t**2))

# %% [markdown]
# ## Taylor polynomials
#
# With derivatives of every order at hand, the Taylor polynomial of $f(x) = e^{\sin x}$ around
# $a = 0.5$ is $\sum_k f^{(k)}(a)\,(x - a)^k / k!$.

# %%
def f(x):
    return fnp.exp(fnp.sin(x))


a = 0.5
derivs = [f]
for _ in range(7):
    derivs.append(fgrad.grad(derivs[-1]))
coeffs = [float(dk(a)) / math.factorial(k) for k, dk in enumerate(derivs)]
print(np.round(coeffs, 5))

# checks against the derivatives by hand
s, c = np.sin(a), np.cos(a)
assert np.isclose(derivs[1](a), c * np.exp(s))
assert np.isclose(derivs[2](a), (c**2 - s) * np.exp(s))


def taylor(x, degree):
    return sum(coeffs[k] * (x - a) ** k for k in range(degree + 1))


xs = np.linspace(-2.5, 3.5, 300)
fig, ax = plt.subplots(figsize=(7, 3.6))
ax.plot(xs, f(xs), "k", lw=2.5, label="exp(sin x)")
for degree in (1, 2, 4, 7):
    ax.plot(xs, taylor(xs, degree), "--", label=f"degree {degree}")
ax.axvline(a, color="gray", lw=0.8)
ax.set_ylim(-0.5, 4)
ax.legend(loc="upper left", fontsize=8)
ax.grid(alpha=0.3)
plt.show()

near = np.linspace(a - 0.5, a + 0.5, 50)
errors = [np.max(np.abs(taylor(near, k) - f(near))) for k in (1, 2, 4, 7)]
print("max error on [a - 0.5, a + 0.5]:", np.round(errors, 6))
assert errors[0] > errors[1] > errors[2] > errors[3]

# %% [markdown]
# ## Newton's method
#
# Newton's iteration for a root of $g$ is $x \leftarrow x - g(x)/g'(x)$; fgrad supplies $g'$.  Newton's
# own example was $x^3 - 2x - 5 = 0$:

# %%
def g(x):
    return x**3 - 2 * x - 5


dg = fgrad.grad(g)
x = 2.0
for step in range(6):
    x = x - g(x) / dg(x)
    print(step, f"{x:.15f}")
assert abs(g(x)) < 1e-12 and np.isclose(x, 2.0945514815423265)

# %% [markdown]
# For minimisation, Newton's step uses the gradient and the Hessian: $x \leftarrow x - H^{-1}\nabla f$.
# On Rosenbrock's banana function it reaches the minimum at $(1, 1)$ in a handful of steps, where
# gradient descent needs thousands.

# %%
def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


value_and_grad = fgrad.value_and_grad(rosenbrock)
hess = fgrad.hessian(rosenbrock)
p = np.array([-1.2, 1.0])
for step in range(8):
    value, grad = value_and_grad(p)
    p = p - np.linalg.solve(hess(p), grad)
    f_p = rosenbrock(p)
    print(step, np.round(p, 6), f"f = {f_p:.2e}" if f_p > 1e-10 else "f < 1e-10")
assert np.allclose(p, [1.0, 1.0])

# %% [markdown]
# ## The Hessian of a small loss
#
# For logistic regression with loss $L(w) = \frac1n\sum_i \log(1 + e^{x_i \cdot w}) - y_i\,x_i \cdot w$ the
# Hessian is $\frac1n X^\top \mathrm{diag}(p(1-p)) X$ with $p = \sigma(Xw)$: symmetric and positive
# semi-definite, so the loss is convex.

# %%
rng = np.random.default_rng(1)
X = rng.normal(size=(20, 3))
y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=20) > 0).astype(float)


def logistic_loss(w):
    z = X @ w
    return fnp.mean(fnp.logaddexp(0.0, z) - y * z)


w = np.array([0.1, 0.2, -0.3])
H = fgrad.hessian(logistic_loss)(w)
p = 1 / (1 + np.exp(-(X @ w)))
print(np.round(H, 4))
assert np.allclose(H, X.T @ np.diag(p * (1 - p)) @ X / len(X))
assert np.allclose(H, H.T) and np.all(np.linalg.eigvalsh(H) > 0)

# %% [markdown]
# ## Perturbation confusion
#
# Nesting derivatives has a classic pitfall (Siskind and Pearlmutter, 2005).  Consider
#
# $$\frac{d}{dx}\left[\, x \cdot \frac{d}{dy}(x + y)\Big|_{y=1} \right]_{x=1}.$$
#
# The inner derivative is 1 for every $x$, so the whole expression is $\frac{d}{dx}[x] = 1$.  A
# forward-mode implementation with *untagged* dual numbers gets 2: inside the inner derivative, $x$ is
# itself a dual number carrying the outer perturbation, and the inner derivative cannot tell the two
# perturbations apart.  Here is such a naive implementation, in a dozen lines:

# %%
class Dual:
    """A value with ONE untagged perturbation: the naive way to do forward mode."""

    def __init__(self, value, eps):
        self.value, self.eps = value, eps

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, 0.0)
        return Dual(self.value + other.value, self.eps + other.eps)

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other, 0.0)
        return Dual(self.value * other.value, self.value * other.eps + self.eps * other.value)

    __rmul__ = __mul__


def naive_derivative(fn, x):
    out = fn(Dual(x, 1.0))
    return out.eps if isinstance(out, Dual) else 0.0


naive = naive_derivative(lambda x: x * naive_derivative(lambda y: x + y, 1.0), 1.0)
print("naive dual numbers:", naive)
assert naive == 2.0  # wrong

# %% [markdown]
# fgrad gets 1, in forward mode, in reverse mode, and mixing the two:

# %%
def d_fwd(fn, x):
    return fgrad.jvp(fn, (x,), (1.0,))[1]


answers = {
    "grad of grad": fgrad.grad(lambda x: x * fgrad.grad(lambda y: x + y)(1.0))(1.0),
    "jvp of jvp": d_fwd(lambda x: x * d_fwd(lambda y: x + y, 1.0), 1.0),
    "grad of jvp": fgrad.grad(lambda x: x * d_fwd(lambda y: x + y, 1.0))(1.0),
    "jvp of grad": d_fwd(lambda x: x * fgrad.grad(lambda y: x + y)(1.0), 1.0),
}
print({name: float(v) for name, v in answers.items()})
assert all(float(v) == 1.0 for v in answers.values())

# %% [markdown]
# **Why.** Each transform call opens its own *trace* with a fresh level number, and wraps only its own
# inputs in tracers of that trace.  When a primitive runs, the trace with the highest level among the
# arguments handles it and unwraps only *its own* tracers; the outer `x` is, to the inner trace, a
# constant (which happens to be an outer tracer, so the outer trace still sees everything that is done
# with it).  The inner derivative of $x + y$ with respect to $y$ is therefore exactly 1, never
# contaminated by $x$'s perturbation: this is the "tagging" that the naive `Dual` lacks.  The design
# notes (docs/design.md) describe the mechanism in detail.
#
# The same machinery makes a *leaked* tracer an error rather than a wrong number: a tracer that escapes
# its transform (stored in a global, say) cannot be used after the transform has returned.

# %%
leaked = []


def keeps_a_tracer(x):
    leaked.append(x)
    return x * x


fgrad.grad(keeps_a_tracer)(3.0)
try:
    leaked[0] + 1.0
except fgrad.LeakedTracerError as err:
    print("LeakedTracerError:", err)
