"""Full Jacobians and Hessians at n = 300, and the fixed cost of one ``grad`` call,
side by side with ``torch.func`` and HIPS autograd when they can be imported.

These are the measurements of issue 15's "eager costs": under ``vmap`` (which is
how ``jacfwd``, ``jacrev`` and ``hessian`` build a whole Jacobian) an unbatched
matrix times a batched vector must be one matrix-matrix product, and the fixed
cost of ``grad`` should be at most a third of autograd's.  Every answer is
checked against a closed form before it is timed.  One thread, one CPU, float64,
CPU time; cells are medians of interleaved rounds (so a shared machine's drift
hits every column alike).  Run it in an environment with the peers::

    python benchmarks/bench_jacobians.py               # ~1 minute
    python benchmarks/bench_jacobians.py --n 100 --rounds 5

fgrad alone is enough; a missing peer only leaves its column empty.
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402


def _pin():
    try:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass


def fgrad_tasks(A, x):
    jf = lambda y: fnp.tanh(A @ y)  # noqa: E731
    s = lambda y: fnp.sum(fnp.tanh(A @ y) ** 2)  # noqa: E731
    return {
        "jacfwd": lambda: fgrad.jacfwd(jf)(x),
        "jacrev": lambda: fgrad.jacrev(jf)(x),
        "grad": lambda: fgrad.grad(s)(x),
        "hessian": lambda: fgrad.hessian(s)(x),
        "grad call": lambda: fgrad.grad(lambda z: z * 2.0)(0.3),
    }


def torch_tasks(A, x):
    import torch
    import torch.func as tf

    torch.set_num_threads(1)
    At, xt = torch.from_numpy(A.copy()), torch.from_numpy(x.copy())
    jf = lambda y: torch.tanh(At @ y)  # noqa: E731
    s = lambda y: torch.sum(torch.tanh(At @ y) ** 2)  # noqa: E731
    return {
        "jacfwd": lambda: tf.jacfwd(jf)(xt).numpy(),
        "jacrev": lambda: tf.jacrev(jf)(xt).numpy(),
        "grad": lambda: tf.grad(s)(xt).numpy(),
        "hessian": lambda: tf.hessian(s)(xt).numpy(),
        "grad call": lambda: float(tf.grad(lambda z: z * 2.0)(torch.tensor(0.3, dtype=torch.float64))),
    }


def autograd_tasks(A, x):
    import autograd
    import autograd.numpy as anp

    jf = lambda y: anp.tanh(A @ y)  # noqa: E731
    s = lambda y: anp.sum(anp.tanh(A @ y) ** 2)  # noqa: E731
    return {
        "jacfwd": None,  # autograd has no forward-mode Jacobian of its own
        "jacrev": lambda: autograd.jacobian(jf)(x),
        "grad": lambda: autograd.grad(s)(x),
        "hessian": lambda: autograd.hessian(s)(x),
        "grad call": lambda: autograd.grad(lambda z: z * 2.0)(0.3),
    }


def references(A, x):
    t = np.tanh(A @ x)
    J = (1 - t ** 2)[:, None] * A
    g = A.T @ (2 * t * (1 - t ** 2))
    H = A.T @ ((2 * (1 - t ** 2) * (1 - 3 * t ** 2))[:, None] * A)
    return {"jacfwd": J, "jacrev": J, "grad": g, "hessian": H, "grad call": 2.0}


def timed(fn, sample):
    """Seconds per call (CPU time) over batches lasting about ``sample`` seconds."""
    n = 1
    while True:
        gc.collect()
        t0 = time.process_time()
        for _ in range(n):
            fn()
        t = time.process_time() - t0
        if t >= sample:
            return t / n
        n = max(2 * n, int(n * sample / max(t, 1e-9)) + 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--sample", type=float, default=0.2, help="seconds per timed sample")
    args = p.parse_args(argv)
    _pin()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((args.n, args.n)) / math.sqrt(args.n)
    x = rng.standard_normal(args.n)
    ref = references(A, x)
    libs = {"fgrad": fgrad_tasks}
    for name, make in (("torch.func", torch_tasks), ("autograd", autograd_tasks)):
        try:
            libs[name] = make
            make(A, x)
        except ImportError:
            del libs[name]
    cells = {}
    for lib, make in libs.items():
        for task, fn in make(A, x).items():
            if fn is None:
                continue
            out = np.asarray(fn())
            np.testing.assert_allclose(out, ref[task], rtol=1e-9, atol=1e-11,
                                       err_msg=f"{lib} {task}")
            fn()
            cells[lib, task] = (fn, [])
    gc.freeze()
    for r in range(args.rounds):
        keys = list(cells)
        keys = keys[r % len(keys):] + keys[:r % len(keys)]
        for key in keys:
            fn, samples = cells[key]
            samples.append(timed(fn, args.sample))
    med = {k: statistics.median(v[1]) for k, v in cells.items()}
    tasks = ["jacfwd", "jacrev", "grad", "hessian", "grad call"]
    names = list(libs)
    print(f"n = {args.n}, numpy {np.__version__}, one thread, CPU time, median of "
          f"{args.rounds} rounds")
    print(f"{'task':<16}" + "".join(f"{n:>14}" for n in names))
    for task in tasks:
        unit, scale = ("µs", 1e6) if task == "grad call" else ("ms", 1e3)
        row = [f"{med[lib, task] * scale:11.3g} {unit}" if (lib, task) in med else f"{'-':>14}"
               for lib in names]
        print(f"{task:<16}" + "".join(f"{c:>14}" for c in row))
    row = [f"{med[lib, 'hessian'] / med[lib, 'grad']:14.1f}" for lib in names]
    print(f"{'hessian ÷ grad':<16}" + "".join(row))
    for peer in names[1:]:
        for task in tasks:
            if (peer, task) in med:
                print(f"fgrad ÷ {peer}, {task}: {med['fgrad', task] / med[peer, task]:.2f}")


if __name__ == "__main__":
    main()
