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
