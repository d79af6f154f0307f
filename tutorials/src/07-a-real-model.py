# %% [markdown]
# # 7. A real model: handwritten digits
#
# Everything so far used toy functions.  Here we train two classifiers on the handwritten digits data
# set that ships with scikit-learn (1797 images of 8×8 pixels, ten classes): a multinomial logistic
# regression and a small multi-layer perceptron.  The models are plain numpy code; fgrad supplies the
# gradients; the training loops are a few lines of numpy.  At the end, the same loss is handed to
# `scipy.optimize.minimize` with `jac=True`, fed by `fgrad.value_and_grad`.
#
# (scikit-learn is used only to load the data and is installed by the `tutorials` extra:
# `pip install -e ".[tutorials]"`.)

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize
from sklearn.datasets import load_digits

import fgrad
import fgrad.numpy as fnp

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
# gradients with the same keys and shapes, and the update is a `tree_map`.

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

logreg_curve = []
for _ in range(300):
    loss, grads = loss_and_grad(params, X_train, Y_train)
    params = fgrad.tree.tree_map(lambda p, g: p - 1.0 * g, params, grads)
    logreg_curve.append(float(loss))

acc_logreg = accuracy(logreg(params, X_test), y_test)
print(f"final training loss {logreg_curve[-1]:.3f}; test accuracy {acc_logreg:.3f}")
assert logreg_curve[-1] < 0.35 * logreg_curve[0]
assert acc_logreg > 0.90

# %% [markdown]
# ## A small multi-layer perceptron
#
# One hidden layer of 32 `tanh` units, trained with Adam (written out in numpy: fgrad only computes
# gradients, optimisers are ordinary code).

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


tree_map = fgrad.tree.tree_map
params = init_mlp(np.random.default_rng(1))
m = tree_map(np.zeros_like, params)
v = tree_map(np.zeros_like, params)
lr, b1, b2 = 0.01, 0.9, 0.999
mlp_grad = fgrad.value_and_grad(mlp_loss)
mlp_curve = []
for step in range(1, 301):
    batch = rng.choice(len(X_train), size=128, replace=False)
    loss, g = mlp_grad(params, X_train[batch], Y_train[batch])
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
    params = tree_map(
        lambda p, m, v: p - lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + 1e-8),
        params, m, v)
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
# ## scipy.optimize.minimize, fed by value_and_grad
#
# SciPy's optimisers work on flat float vectors and, with `jac=True`, expect the objective to return
# `(value, gradient)`: exactly what `value_and_grad` computes.  We flatten the logistic-regression
# parameters into one vector and let L-BFGS do the work.

# %% tags=["variable-output"]
def unflatten(theta):
    return {"W": theta[:640].reshape(64, 10), "b": theta[640:]}


def objective(theta):
    return logreg_loss(unflatten(theta), X_train, Y_train)


objective_and_grad = fgrad.value_and_grad(objective)
result = scipy.optimize.minimize(objective_and_grad, np.zeros(650), jac=True, method="L-BFGS-B",
                                 options={"maxiter": 500})
acc_lbfgs = accuracy(logreg(unflatten(result.x), X_test), y_test)
print(f"{result.message}  iterations: {result.nit}, final loss {result.fun:.4f}, "
      f"test accuracy {acc_lbfgs:.3f}")
assert result.success
assert result.fun < min(logreg_curve)      # the quasi-Newton method gets lower than 300 GD steps
assert acc_lbfgs > 0.90

# scipy's own finite-difference check agrees with fgrad's gradient
theta0 = np.random.default_rng(2).normal(size=650) * 0.1
err = scipy.optimize.check_grad(objective, lambda t: objective_and_grad(t)[1], theta0,
                                direction="random", rng=np.random.default_rng(3))
print(f"check_grad error: {err:.1e}")
assert err < 1e-5
