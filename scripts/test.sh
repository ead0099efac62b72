#!/usr/bin/env bash
# Set up .venv/ and run everything CI runs: lint and format (ruff), types (mypy), the test suite (skips shown), docstring examples,
# the notebooks, and a strict docs build. Every phase runs even when an earlier one fails; the failing phases are listed at the
# end and the script exits non-zero if there is any, including pytest's "no tests collected" (exit 5).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "== set-up failed: nothing was tested"; exit 1; }
export MPLBACKEND=Agg NO_MKDOCS_2_WARNING=1
failed=()
phase() {  # phase NAME COMMAND...: run one phase, time it, and remember it when it fails
  local name="$1" start=$SECONDS rc
  shift
  echo "== $name"
  "$@"
  rc=$?
  echo "-- $name: exit $rc after $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ]; then failed+=("$name (exit $rc)"); fi
}
phase "lint" .venv/bin/ruff check orbudget tests benchmarks notebooks scripts solutions
phase "format" .venv/bin/ruff format --check orbudget tests benchmarks notebooks scripts solutions
phase "types (mypy: core and the public API, as configured in pyproject.toml)" .venv/bin/mypy
phase "tests" .venv/bin/python -m pytest -rs -q tests
phase "docstring examples" .venv/bin/python -m pytest -q --doctest-modules orbudget
phase "notebooks" .venv/bin/python scripts/run_notebooks.py
docs_dir="$(mktemp -d)"
phase "docs (strict)" .venv/bin/mkdocs build --strict --site-dir "$docs_dir"  # strict: every warning fails the build, none is hidden
if [ "${#failed[@]}" -ne 0 ]; then
  echo "== FAILED phases (${#failed[@]}):"
  printf '   %s\n' "${failed[@]}"
  exit 1
fi
echo "== all checks passed"
