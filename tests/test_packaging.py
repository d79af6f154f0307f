"""pyproject.toml states what CI tests: the interpreters, and the oldest numpy and scipy."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
MATRIX = (ROOT / "scripts" / "test-matrix.sh").read_text(encoding="utf-8")


def _version(text):
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (3 - len(parts))


def _floor(package):
    found = re.findall(rf'"{package}>=([0-9.]+)"', PYPROJECT)
    assert found, f"pyproject.toml gives no floor for {package}"
    # the lowest floor (an extra such as `tutorials` may ask for more)
    return min(_version(v) for v in found)


def test_the_oldest_cell_runs_the_floors_of_pyproject():
    for package in ("numpy", "scipy"):
        pinned = re.search(rf"^OLDEST_{package.upper()}=([0-9.]+)$", MATRIX, flags=re.M)
        assert pinned, f"scripts/test-matrix.sh has no OLDEST_{package.upper()}"
        assert _version(pinned.group(1)) == _floor(package), (
            f"scripts/test-matrix.sh tests {package} {pinned.group(1)} but pyproject.toml "
            f"allows {package} >= {_floor(package)}: keep them equal")


def test_classifiers_and_requires_python_agree():
    low, high = re.search(r'requires-python = ">=3\.(\d+),<3\.(\d+)"', PYPROJECT).groups()
    minors = sorted(int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"',
                                               PYPROJECT))
    assert minors == list(range(int(low), minors[-1] + 1)), "a tested minor version is missing"
    assert minors[-1] < int(high), "a classified version is excluded by requires-python"
    assert int(low) <= sys.version_info[1], "the running interpreter is not supported"
