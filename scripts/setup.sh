#!/usr/bin/env bash
# One-command set-up for a fresh machine: a virtual environment in .venv with
# fgrad installed (editable) plus its test tools.  Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "fgrad is set up in .venv; run the tests with: .venv/bin/python -m pytest -q"
