#!/usr/bin/env python3
"""fgrad's automatic gradient against the hand-written one, over dask arrays.

A logistic regression's loss and gradient, per optimiser step, on the same lazy
data with the same chunks: the gradient dask users write by hand today (the
formula of dask-glm and dask-ml, ``X.T @ (sigmoid(X @ w) - y) / n``) and
``fgrad.value_and_grad`` of the loss written in plain numpy.  Each step computes
the value and the gradient together in one ``dask.compute``.

    python benchmarks/dask_glm.py                       # 1e7 rows, generated lazily
    python benchmarks/dask_glm.py --rows 1e8 --steps 3  # the out-of-core size
    python benchmarks/dask_glm.py --persist --rows 1e7  # data held in memory first

Reported: the graph-build time of each gradient (tracing, for fgrad), its task
count, and the median compute time per step of the two, interleaved (ABAB...) so
that drift on a shared machine hits both alike.  Before any timing, the two
gradients are computed once and compared (they must agree to 1e-10).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=float, default=1e7)
    p.add_argument("--features", type=int, default=10)
    p.add_argument("--chunk", type=float, default=1e6, help="rows per chunk")
    p.add_argument("--steps", type=int, default=5, help="timed steps per method")
    p.add_argument("--persist", action="store_true", help="hold the data in memory first")
    p.add_argument("--scheduler", default="threads", help="dask scheduler (threads, processes)")
    return p.parse_args(argv)


def data(rows, features, chunk, persist):
    import dask.array as da

    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, features), chunks=(chunk, features))
    w_true = np.linspace(-1.0, 1.0, features)
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(rows, chunks=chunk) < p).astype(float)
    if persist:
        X, y = X.persist(), y.persist()
    return X, y


def hand_written(X, y, w, lam):
    """Value and gradient as dask users write them (the dask-glm formula)."""
    n = X.shape[0]
    z = X @ w
    value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * w @ w
    grad = X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / n + lam * w
    return value, grad


def loss(w, X, y, lam):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * w @ w


def main(argv=None):
    args = parse(argv)
    import dask

    import fgrad

    rows, chunk = int(args.rows), int(args.chunk)
    X, y = data(rows, args.features, chunk, args.persist)
    lam = 1e-3
    w = np.full(args.features, 0.1)

    def build_fgrad(w):
        return fgrad.value_and_grad(loss)(w, X, y, lam)

    def build_hand(w):
        return hand_written(X, y, w, lam)

    builds = {}
    for name, build in (("fgrad", build_fgrad), ("hand-written", build_hand)):
        times = []
        for _ in range(5):
            t = time.perf_counter()
            out = build(w)
            times.append(time.perf_counter() - t)
        builds[name] = (min(times), len(dict(out[1].__dask_graph__())))

    with dask.config.set(scheduler=args.scheduler):
        (vf, gf), (vh, gh) = dask.compute(build_fgrad(w), build_hand(w))
        assert abs(vf - vh) <= 1e-10 * abs(vh), (vf, vh)
        np.testing.assert_allclose(gf, gh, rtol=1e-10, atol=1e-14)
        samples = {"fgrad": [], "hand-written": []}
        for step in range(args.steps):
            order = ["fgrad", "hand-written"] if step % 2 == 0 else ["hand-written", "fgrad"]
            for name in order:
                t = time.perf_counter()
                out = build_fgrad(w) if name == "fgrad" else build_hand(w)
                dask.compute(*out)
                samples[name].append(time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"logistic regression, {rows:.0e} rows x {args.features} features, chunks of "
          f"{chunk:.0e} rows, {'persisted' if args.persist else 'generated lazily'}, "
          f"scheduler={args.scheduler}, {args.steps} steps each")
    print(f"{'gradient':<14}{'build (s)':>11}{'tasks':>8}{'step (s)':>10}{'build/step':>12}")
    for name in ("hand-written", "fgrad"):
        b, tasks = builds[name]
        print(f"{name:<14}{b:>11.4f}{tasks:>8d}{med[name]:>10.3f}{b / med[name]:>11.2%}")
    print(f"fgrad / hand-written per step: {med['fgrad'] / med['hand-written']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
