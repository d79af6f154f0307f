#!/usr/bin/env bash
# One-command set-up for a fresh machine: a virtual environment in .venv with
# fgrad installed (editable) plus everything the test suite needs (test tools,
# the docs build and the tutorial notebooks: the `dev` extra).  Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"  # test tools, docs and tutorial extras
echo "fgrad is set up in .venv; run the tests with: .venv/bin/python -m pytest -q"
