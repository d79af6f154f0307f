"""The benchmark suite keeps working: its smoke run checks every answer.

No timing is asserted here (speed is the benchmark's business, on a quiet
machine); this runs the workloads at tiny sizes on numpy and fgrad, where each
answer is compared with a numpy-only reference, and checks the report.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_smoke_run_checks_every_answer(tmp_path):
    out = tmp_path / "smoke.json"
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.loads(out.read_text())
    cells = [c for g in result["groups"] for c in g["cells"]]
    assert {c["lib"] for c in cells} == {"numpy", "fgrad"}
    assert {g["workload"] for g in result["groups"]} >= {
        "scalar_chain", "grad_call", "mlp", "hvp", "jacobian", "rnn", "elementwise", "nested",
        "growth", "plain"}
    bad = [(c["lib"], c["task"], c["note"]) for c in cells if c["status"] != "ok"]
    assert not bad, bad
    assert all(c["median_s"] > 0 for c in cells)
    # the derived measures exist and the printed report names the targets
    assert result["metrics"]["prim_us"]["fgrad"] is not None
    assert "≤ autograd ÷ 3" in res.stdout and "all correct" in res.stdout


def test_a_wrong_answer_is_caught_and_not_timed(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import workloads

        w = workloads.WORKLOADS["scalar_chain"]
        data = w.data(3)
        right = workloads.ScalarChain.f(__import__("numpy"), data["x"], 3)
        assert w.check("fwd", 3, data, right) is None
        assert w.check("fwd", 3, data, right * (1 + 1e-9)) is not None
        assert w.check("grad", 3, data, 0.0) is not None
        mlp = workloads.WORKLOADS["mlp"]
        d = mlp.data("tiny")
        good = mlp._exact_grad(d)
        assert mlp.check("grad", "tiny", d, good) is None
        good["W2"] = good["W2"] * 1.001
        assert "relative error" in mlp.check("grad", "tiny", d, good)
        rnn = workloads.WORKLOADS["rnn"]
        d = rnn.data(2)
        zeros = {k: 0 * v for k, v in d["params"].items()}
        assert rnn.check("grad", 2, d, zeros) is not None
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
