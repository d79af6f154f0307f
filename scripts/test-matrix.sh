#!/usr/bin/env bash
# The test suite on every other CPython >= 3.10 on this machine, with the newest numpy/scipy
# the registry serves, and once with the oldest numpy/scipy fgrad supports.
#
#   bash scripts/test-matrix.sh            # every cell
#   FGRAD_PYTHONS="/usr/bin/python3.12" bash scripts/test-matrix.sh   # these interpreters only
#
# Interpreters: $(pyenv root)/versions/3.*/bin/python3 (or the list in FGRAD_PYTHONS), minus the
# one .venv uses (the README's commands test that one).  No pyenv and no FGRAD_PYTHONS: nothing
# to do.  Each cell is a throwaway venv under .ci/venvs/ (git-ignored, rebuilt every run) with
# fgrad installed from this checkout plus its test and dask extras; the docs build and the notebooks are
# skipped there (FGRAD_SKIP_DOCS=1, honoured by tests/conftest.py).  Exit status 1 if any cell
# fails.  Run from anywhere; it works on the repository it lives in.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The oldest versions fgrad supports: keep them equal to the floors in pyproject.toml.
OLDEST_NUMPY=2.2.0
OLDEST_SCIPY=1.15.0

version_of() { "$1" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null; }
is_supported() { "$1" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2])' 2>/dev/null; }

main_python=.venv/bin/python
[ -x "$main_python" ] || main_python=$(command -v python3 || true)
main_version=$( [ -n "$main_python" ] && version_of "$main_python" || echo none)

if [ -n "${FGRAD_PYTHONS:-}" ]; then
  candidates=$FGRAD_PYTHONS
elif command -v pyenv >/dev/null 2>&1; then
  candidates=$(ls -d "$(pyenv root)"/versions/3.*/bin/python3 2>/dev/null || true)
else
  echo "test-matrix: pyenv is not installed and FGRAD_PYTHONS is empty: no other interpreter to test"
  exit 0
fi

# supported interpreters other than the main one, one per minor version, oldest first
declare -A seen=()
others=()
while read -r version python; do
  minor=${version%.*}
  [ -n "$version" ] || continue
  [ "$minor" = "${main_version%.*}" ] && continue
  [ -n "${seen[$minor]:-}" ] && continue
  seen[$minor]=1
  others+=("$python")
done < <(for p in $candidates; do
           [ -x "$p" ] && is_supported "$p" && echo "$(version_of "$p") $p"
         done | sort -t. -k1,1n -k2,2n -k3,3n)

if [ "${#others[@]}" -eq 0 ]; then
  echo "test-matrix: no CPython >= 3.10 besides the main one ($main_version) found"
  exit 0
fi

# cells: "python|label|pins"; newest numpy/scipy everywhere, the oldest on the oldest interpreter
cells=()
for p in "${others[@]}"; do cells+=("$p|newest|"); done
cells+=("${others[0]}|oldest|numpy==$OLDEST_NUMPY scipy==$OLDEST_SCIPY")

VENVS=$ROOT/.ci/venvs
mkdir -p "$VENVS"
summary=()
failed=0
k=0
for cell in "${cells[@]}"; do
  IFS='|' read -r python label pins <<<"$cell"
  k=$((k + 1))
  version=$(version_of "$python")
  venv=$VENVS/py$version-$label
  start=$SECONDS
  rm -rf "$venv"
  echo
  echo "================================================================================"
  echo "test-matrix [$k/${#cells[@]}]: CPython $version, $label numpy/scipy ($python)"
  echo "================================================================================"
  # shellcheck disable=SC2086  # $pins is a list of requirements
  if ! { "$python" -m venv "$venv" \
         && "$venv/bin/python" -m pip install --quiet --upgrade pip \
         && "$venv/bin/python" -m pip install --quiet -e ".[test,dask]" $pins; }; then
    echo "test-matrix: installing into $venv failed"
    summary+=("FAIL  CPython $version  $label  (install failed)  $((SECONDS - start)) s")
    failed=1
    continue
  fi
  versions=$("$venv/bin/python" -c 'import numpy, scipy; print(f"numpy {numpy.__version__}, scipy {scipy.__version__}")')
  echo "--- CPython $version, $versions ---"
  log=$VENVS/py$version-$label.log
  FGRAD_SKIP_DOCS=1 "$venv/bin/python" -m pytest -q 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  [ "$status" -eq 5 ] && echo "test-matrix: pytest collected no tests; that is a failure"
  word=ok
  if [ "$status" -ne 0 ]; then word=FAIL; failed=1; fi
  result=$(tail -n 1 "$log" | tr -d '=' | sed 's/^ *//')
  summary+=("$word  CPython $version, $versions ($label): $result; cell $((SECONDS - start)) s")
  rm -rf "$venv"
done

echo
echo "test-matrix summary (docs build and notebooks skipped in these cells):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
