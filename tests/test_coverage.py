"""docs/coverage.md is generated from the rule table and must be current."""

import fgrad
import fgrad.numpy as fnp
import fgrad.scipy
from fgrad import _coverage, core


def test_committed_coverage_page_is_current():
    want = _coverage.generate()
    have = _coverage.PAGE.read_text(encoding="utf-8") if _coverage.PAGE.exists() else ""
    assert have == want, (
        "docs/coverage.md is out of date (rows or names were added): regenerate it with "
        f"`{_coverage.COMMAND}` from the repository root and commit it"
    )


def test_page_lists_every_offered_name():
    text = _coverage.generate()
    for name in fgrad.scipy.special.__all__ + fgrad.scipy.linalg.__all__:
        assert f"| `{name}` |" in text
    for name in ("sin", "sum", "where", "matmul"):
        if hasattr(fnp, name):
            assert f"| `{name}` |" in text
    assert "| `norm.logpdf` |" in text and "| `multivariate_normal.logpdf` |" in text
    assert text.startswith("# Coverage") and _coverage.COMMAND in text.splitlines()[2]


def test_rows_reached_by_composites():
    names = {p.name for p in _coverage.reached_rows(fgrad.scipy.stats.norm.cdf)}
    assert "special.ndtr" in names and "subtract" in names
    names = {p.name for p in _coverage.reached_rows(fgrad.scipy.linalg.cho_solve)}
    assert names == {"scipy.linalg.solve_triangular"}
    how, jv, vj, order, _, _ = _coverage._describe(fgrad.scipy.special.erf)
    assert how == "row `special.erf`" and (jv, vj, order) == ("✓", "✓", "2")
    assert _coverage._describe(fnp.zeros)[0].startswith("no derivative")


def test_unsupported_error_points_to_the_page():
    err = core._unsupported("numpy.example")
    assert "docs/coverage.md" in str(err) and _coverage.PAGE.name == "coverage.md"
    assert _coverage.PAGE.parent.name == "docs"


def test_check_mode(tmp_path, monkeypatch, capsys):
    page = tmp_path / "coverage.md"
    monkeypatch.setattr(_coverage, "PAGE", page)
    assert _coverage.main(["--check"]) == 1
    assert _coverage.main([]) == 0 and page.read_text(encoding="utf-8") == _coverage.generate()
    assert _coverage.main(["--check"]) == 0


def test_fgrad_only_helpers_are_declared():
    # The numpy section is fgrad.numpy's functions minus FGRAD_ONLY (not what the installed
    # numpy has), so that the page is the same with every numpy: the list must be complete.
    import numpy as np

    offered = set(_coverage._public_functions(fnp))
    not_numpy = {n for n in offered if not hasattr(np, n)}
    assert not_numpy <= _coverage.FGRAD_ONLY, (
        f"add {sorted(not_numpy - _coverage.FGRAD_ONLY)} to fgrad._coverage.FGRAD_ONLY")
    assert _coverage.FGRAD_ONLY <= offered
    assert not any(hasattr(np, n) for n in _coverage.FGRAD_ONLY)


def test_rows_are_found_without_reading_bytecode(monkeypatch):
    import dis

    def refuse(*args, **kwargs):
        raise AssertionError("fgrad._coverage read bytecode")

    for name in ("get_instructions", "Bytecode", "dis", "disassemble"):
        monkeypatch.setattr(dis, name, refuse)
    monkeypatch.setattr(_coverage, "_CANDIDATES", {})
    names = {p.name for p in _coverage.reached_rows(fgrad.scipy.stats.norm.logpdf)}
    assert "log" in names or "square" in names or "power" in names, names


def _operator_rows():
    """Rows that Tracer's operators reach (``x - y``): not counted in a composite's rows."""
    from fgrad.core import Tracer

    rows = set()
    for name in dir(Tracer):
        if name.startswith("__") and callable(getattr(Tracer, name)):
            rows |= _coverage.reached_rows(getattr(Tracer, name))
    return rows


def test_a_recorded_trace_reaches_only_the_rows_the_page_lists():
    # The page's rows come from the source; a real call, recorded with make_graph, must not
    # reach a row the page does not list (rows reached through operators on traced values
    # excepted: the page does not count those).
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=4)
    m = rng.normal(size=(3, 3))
    spd = m @ m.T + 3 * np.eye(3)
    lower = np.linalg.cholesky(spd)
    calls = [
        (fgrad.scipy.stats.norm.cdf, (x, 0.5, 2.0)),
        (fgrad.scipy.stats.norm.logpdf, (x,)),
        (fgrad.scipy.special.logsumexp, (x,)),
        (fgrad.scipy.linalg.cho_solve, ((lower, True), x[:3])),
        (fnp.linalg.norm, (m,)),
        (fnp.linalg.slogdet, (spd,)),
        (fnp.var, (x,)),
        (fnp.cov, (m,)),
        (fnp.linalg.pinv, (m,)),
        (fnp.interp, (x, np.sort(x), x)),
    ]
    operators = _operator_rows()
    for fn, args in calls:
        recorded = {n.primitive for n in fgrad.make_graph(fn)(*args).primitives}
        listed = _coverage.reached_rows(fn)
        extra = {p.name for p in recorded - listed - operators}
        assert not extra, f"{fn.__qualname__} reaches {sorted(extra)}, the page does not list them"
        assert recorded & listed, fn.__qualname__
