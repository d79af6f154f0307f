# %% [markdown]
# # 7. A real model: handwritten digits
#
# Everything so far used toy functions.  Here we train two classifiers on the handwritten digits data
# set that ships with scikit-learn (1797 images of 8×8 pixels, ten classes): a multinomial logistic
# regression and a small multi-layer perceptron.  The models are plain numpy code; fgrad supplies the
# gradients, and `fgrad.optimizers` the update rules (plain gradient descent, Adam).  At the end, the
# same loss is handed to L-BFGS through `fgrad.scipy.optimize.minimize`, which takes the parameter
# dict as it is, and we differentiate the fitted model with respect to its regularisation strength.
#
# (scikit-learn is used only to load the data and is installed by the `tutorials` extra:
# `pip install -e ".[tutorials]"`.)

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

import fgrad
import fgrad.numpy as fnp
import fgrad.scipy.optimize as fopt
from fgrad import optimizers as optim

digits = load_digits()
X_all = digits.data / 16.0          # pixel intensities in [0, 1]
y_all = digits.target
rng = np.random.default_rng(0)
order = rng.permutation(len(X_all))
train, test = order[:1400], order[1400:]
X_train, y_train, X_test, y_test = X_all[train], y_all[train], X_all[test], y_all[test]
Y_train = np.eye(10)[y_train]       # one-hot targets
print(X_train.shape, X_test.shape)

fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, k in zip(axes, range(8)):
    ax.imshow(X_train[k].reshape(8, 8), cmap="gray_r")
    ax.set_title(str(y_train[k]))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The loss
#
# Both models output ten scores (*logits*) per image.  The cross-entropy loss is
# $\mathrm{logsumexp}(z) - z_{\text{true class}}$, averaged over the batch.  Subtracting the row maximum
# before exponentiating keeps `exp` from overflowing; the maximum is wrapped in `stop_gradient`
# because it cancels out mathematically, so no derivative needs to flow through it.

# %%
def cross_entropy(logits, Y):
    m = fgrad.stop_gradient(fnp.max(logits, axis=1, keepdims=True))
    logsumexp = fnp.log(fnp.sum(fnp.exp(logits - m), axis=1)) + m[:, 0]
    return fnp.mean(logsumexp - fnp.sum(Y * logits, axis=1))


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, axis=1) == y))

# %% [markdown]
# ## Logistic regression
#
# The parameters are a dict (a *pytree*); `fgrad.value_and_grad` returns the loss and a dict of
# gradients with the same keys and shapes.  An optimizer from `fgrad.optimizers` turns gradients into
# updates of the same structure: `optim.sgd(1.0)` is plain gradient descent with step 1,
# `p ← p − 1.0 · g`.  Its `init` makes the optimizer's state (empty here) and `update` returns the
# updates and the next state, which `apply_updates` adds to the parameters.

# %%
def logreg(params, X):
    return X @ params["W"] + params["b"]


def logreg_loss(params, X, Y, l2=1e-3):
    return cross_entropy(logreg(params, X), Y) + l2 * fnp.sum(params["W"] ** 2)


params = {"W": np.zeros((64, 10)), "b": np.zeros(10)}
loss_and_grad = fgrad.value_and_grad(logreg_loss)

# check the gradient once against central differences in one random direction
fgrad.check_grads(lambda W: logreg_loss({"W": W, "b": params["b"]}, X_train, Y_train),
                  (rng.normal(size=(64, 10)) * 0.1,), order=1)

opt = optim.sgd(1.0)
state = opt.init(params)
logreg_curve = []
for _ in range(300):
    loss, grads = loss_and_grad(params, X_train, Y_train)
    updates, state = opt.update(grads, state, params)
    params = optim.apply_updates(params, updates)
    logreg_curve.append(float(loss))

acc_logreg = accuracy(logreg(params, X_test), y_test)
print(f"final training loss {logreg_curve[-1]:.3f}; test accuracy {acc_logreg:.3f}")
assert logreg_curve[-1] < 0.35 * logreg_curve[0]
assert acc_logreg > 0.90

# %% [markdown]
# ## A small multi-layer perceptron
#
# One hidden layer of 32 `tanh` units, trained with Adam on random batches of 128 images.  The
# parameters are now a list of dicts, one per layer; `optim.adam(0.01)` keeps its moment estimates
# in a state of the same structure, and the loop does not change.

# %%
def init_mlp(rng, sizes=(64, 32, 10)):
    return [{"W": rng.normal(size=(m, n)) / np.sqrt(m), "b": np.zeros(n)}
            for m, n in zip(sizes[:-1], sizes[1:])]


def mlp(params, X):
    h = X
    for layer in params[:-1]:
        h = fnp.tanh(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]


def mlp_loss(params, X, Y):
    return cross_entropy(mlp(params, X), Y)


params = init_mlp(np.random.default_rng(1))
opt = optim.adam(0.01)
state = opt.init(params)
mlp_grad = fgrad.value_and_grad(mlp_loss)
mlp_curve = []
for step in range(300):
    batch = rng.choice(len(X_train), size=128, replace=False)
    loss, grads = mlp_grad(params, X_train[batch], Y_train[batch])
    updates, state = opt.update(grads, state, params)
    params = optim.apply_updates(params, updates)
    mlp_curve.append(float(loss))

acc_mlp = accuracy(mlp(params, X_test), y_test)
print(f"MLP test accuracy {acc_mlp:.3f}")
assert acc_mlp > 0.93

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(logreg_curve, label=f"logistic regression, full batch (test acc. {acc_logreg:.2f})")
ax.plot(mlp_curve, alpha=0.8, label=f"MLP, Adam, batches of 128 (test acc. {acc_mlp:.2f})")
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.set_yscale("log")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %% [markdown]
# ## L-BFGS through fgrad.scipy.optimize.minimize
#
# SciPy's optimisers work on flat float vectors and want the gradient with the value.
# `fgrad.scipy.optimize.minimize` takes scipy's arguments but the parameter dict as `x0`: it
# flattens it for scipy, computes value and gradient with one `fgrad.value_and_grad` call per point,
# and returns scipy's result with `x` back in the dict's structure.

# %% tags=["variable-output"]
params0 = {"W": np.zeros((64, 10)), "b": np.zeros(10)}
result = fopt.minimize(logreg_loss, params0, args=(X_train, Y_train), method="L-BFGS-B",
                       options={"maxiter": 500})
acc_lbfgs = accuracy(logreg(result.x, X_test), y_test)
print(f"{result.message}  iterations: {result.nit}, final loss {result.fun:.4f}, "
      f"test accuracy {acc_lbfgs:.3f}")
print({k: v.shape for k, v in result.x.items()})
assert result.success
assert result.x["W"].shape == (64, 10)
assert result.fun < min(logreg_curve)      # the quasi-Newton method gets lower than 300 GD steps
assert acc_lbfgs > 0.90

# %% [markdown]
# ## How the fit depends on the regularisation
#
# The fitted weights are a function of the L2 strength `l2`.  Passed in `args`, `l2` can be
# differentiated *through* the optimisation: fgrad does not differentiate L-BFGS's iterations but
# uses the optimality condition $\nabla_W \mathrm{loss}(W^*, \ell_2) = 0$ at the solution (the implicit
# function theorem: one linear solve with the Hessian, by Hessian-vector products).  Here is the
# derivative of the test loss with respect to `l2`, checked against a central difference of two
# more fits.

# %% tags=["variable-output"]
Y_test = np.eye(10)[y_test]


def test_loss(l2):
    fit = fopt.minimize(logreg_loss, params0, args=(X_train, Y_train, l2), method="L-BFGS-B",
                        options={"maxiter": 2000, "gtol": 1e-10, "ftol": 1e-15})
    return cross_entropy(logreg(fit.x, X_test), Y_test)


l2, h = 1e-3, 1e-5
d_implicit = float(fgrad.grad(test_loss)(l2))
d_central = float((test_loss(l2 + h) - test_loss(l2 - h)) / (2 * h))
print(f"d test loss / d l2: implicit {d_implicit:.4f}, central difference {d_central:.4f}")
assert abs(d_implicit - d_central) < 1e-2 * abs(d_central)
