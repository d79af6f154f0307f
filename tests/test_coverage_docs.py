"""docs/adding-a-primitive.md: its worked example runs, and passes the systematic test."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "adding-a-primitive.md"


def _code_blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


def test_worked_example_runs_and_passes_the_table_test():
    blocks = _code_blocks()
    assert len(blocks) >= 3
    # run in a fresh interpreter: the example adds rows to the global table
    check = (
        "\nimport sys, inspect\n"
        "sys.path.insert(0, 'tests')\n"
        "import conftest, test_primitive_table as table\n"
        "from fgrad.core import PRIMITIVES\n"
        "tests = [f for n, f in sorted(vars(table).items()) if n.startswith('test_rule')]\n"
        "assert len(tests) >= 3, tests\n"
        "for name in ('example.l2_normalize', 'example.softplus'):\n"
        "    for test in tests:\n"
        "        test(prim=PRIMITIVES[name])\n"
        "print('checked', len(tests), 'table tests')\n"
    )
    r = subprocess.run([sys.executable, "-c", "\n".join(blocks) + check], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "checked" in r.stdout


def test_page_names_every_batching_category_and_test_hint():
    from fgrad.batching import CATEGORY_RULES

    text = PAGE.read_text(encoding="utf-8")
    for category in CATEGORY_RULES:
        assert f"`{category}`" in text, f"batching category {category!r} is not documented"
    table_doc = (ROOT / "tests" / "test_primitive_table.py").read_text(encoding="utf-8")
    hints = re.search(r"``domain``.*?``skip``", table_doc, re.S).group(0)
    for hint in re.findall(r"``(\w+)``", hints):
        assert f"| `{hint}` |" in text, f"test hint {hint!r} is not documented"
