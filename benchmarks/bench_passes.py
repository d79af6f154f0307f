"""What the program optimiser (fgrad/program_passes.py) buys on jit(grad(f)) (fgrad only).

For the scalar chain, the small and large MLPs, the elementwise chain at n = 1e6
and the 1,000-step tanh RNN of
workloads.py, stage ``grad(f)`` with ``fgrad.make_program`` and compare the
program as traced, after ``optimize``, and after ``optimize`` with the buffer plan
(``out=`` into dead intermediates): equation counts, time per call (median of
interleaved rounds of CPU time, one BLAS thread, next to numpy's forward and eager
``grad``),
and peak memory of one call by tracemalloc (which sees every numpy buffer).
Each variant's gradient is checked against eager ``grad`` before it is timed.

    PYTHONPATH=$PWD python benchmarks/bench_passes.py [--rounds 7] [--cases mlp-large,rnn1000]
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import WORKLOADS  # noqa: E402

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402
from fgrad.program import Program  # noqa: E402
from fgrad.program_passes import optimize, plan_buffers  # noqa: E402
from fgrad.tree import tree_leaves  # noqa: E402


def cases():
    sc, mlp, rnn = WORKLOADS["scalar_chain"], WORKLOADS["mlp"], WORKLOADS["rnn1000"]
    ew = WORKLOADS["elementwise"]
    out = {}
    for n in (10, 1000):
        d = sc.data(n)
        out[f"scalar-chain-{n}"] = (lambda x, n=n: sc.f(fnp, x, n), lambda x, n=n: sc.f(np, x, n),
                                    (d["x"],))
    for size in ("small", "large"):
        d = mlp.data(size)
        out[f"mlp-{size}"] = (lambda p, x, y: mlp.loss(fnp, p, x, y),
                              lambda p, x, y: mlp.loss(np, p, x, y),
                              (d["params"], d["x"], d["y"]))
    d = ew.data(1_000_000)
    out["elementwise-1e6"] = (lambda x: ew.f(fnp, x), lambda x: ew.f(np, x), (d["x"],))
    d = rnn.data(1000)
    out["rnn1000"] = (lambda p, xs, h, y: rnn.loss(fnp, p, xs, h, y),
                      lambda p, xs, h, y: rnn.loss(np, p, xs, h, y),
                      (d["params"], d["xs"], d["h"], d["y"]))
    return out


def timed(fns, rounds, sample=0.2):
    """Median seconds per call of each function, rounds interleaved."""
    counts = {}
    for k, f in fns.items():  # calls per sample
        t0, n = time.process_time(), 0
        while time.process_time() - t0 < sample / 4:
            f()
            n += 1
        counts[k] = max(1, 4 * n)
    times = {k: [] for k in fns}
    for r in range(rounds):
        keys = list(fns)
        keys = keys[r % len(keys):] + keys[:r % len(keys)]
        for k in keys:
            f, n = fns[k], counts[k]
            gc.collect()
            t0 = time.process_time()
            for _ in range(n):
                f()
            times[k].append((time.process_time() - t0) / n)
    return {k: statistics.median(v) for k, v in times.items()}


def peak(fn):
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cases", default=None)
    opts = ap.parse_args()
    all_cases = cases()
    names = opts.cases.split(",") if opts.cases else list(all_cases)
    print(f"numpy {np.__version__}, load average {os.getloadavg()[0]:.1f}, "
          f"{opts.rounds} rounds, one BLAS thread")
    for name in names:
        f, f_np, args = all_cases[name]
        g = fgrad.grad(f)
        leaves = tree_leaves(args)
        t0 = time.process_time()
        raw = fgrad.make_program(g)(*args)
        t_trace = time.process_time() - t0
        t0 = time.process_time()
        opt = optimize(raw)
        t_opt = time.process_time() - t0
        buf = Program(opt.inputs, opt.eqns, opt.outputs, buffers=plan_buffers(opt), kinds=opt.kinds)
        want = tree_leaves(g(*args))
        for p in (raw, opt, buf):
            got = p(*leaves)
            assert len(got) == len(want)
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
        t = timed({"numpy fwd": lambda: f_np(*args), "eager grad": lambda: g(*args),
                   "raw": lambda: raw(*leaves), "optimized": lambda: opt(*leaves),
                   "opt+buffers": lambda: buf(*leaves)}, opts.rounds)
        mem = {k: peak(lambda p=p: p(*leaves)) for k, p in
               (("raw", raw), ("optimized", opt), ("opt+buffers", buf))}
        mem["numpy fwd"] = peak(lambda: f_np(*args))
        mem["eager grad"] = peak(lambda: g(*args))
        fwd = t["numpy fwd"]
        print(f"\n{name}: equations {len(raw.eqns)} traced -> {len(opt.eqns)} optimized "
              f"({len(buf.buffers)} written into dead buffers); trace {t_trace * 1e3:.1f} ms, "
              f"optimize {t_opt * 1e3:.1f} ms")
        for k in ("numpy fwd", "eager grad", "raw", "optimized", "opt+buffers"):
            print(f"  {k:12s} {t[k] * 1e6:10.1f} µs  {t[k] / fwd:6.2f}× fwd   "
                  f"peak {mem[k] / 1024:10.1f} KiB")


if __name__ == "__main__":
    main()
