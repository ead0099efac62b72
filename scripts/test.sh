#!/usr/bin/env bash
# Set up .venv/ and run everything CI runs: lint and format (ruff), types (mypy), the test suite (skips shown), docstring examples,
# the notebooks, and a strict docs build. Exits non-zero on any failure, including "no tests collected".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MPLBACKEND=Agg NO_MKDOCS_2_WARNING=1
echo "== lint"
.venv/bin/ruff check orbudget tests benchmarks notebooks scripts
.venv/bin/ruff format --check orbudget tests benchmarks notebooks scripts
echo "== types (mypy: core and the public API, as configured in pyproject.toml)"
.venv/bin/mypy
echo "== tests"
.venv/bin/python -m pytest -rs -q tests
echo "== docstring examples"
.venv/bin/python -m pytest -q --doctest-modules orbudget
echo "== notebooks"
.venv/bin/python scripts/run_notebooks.py
echo "== docs (strict)"
.venv/bin/mkdocs build --strict --site-dir "$(mktemp -d)"  # strict: every warning fails the build, and none is hidden
echo "== all checks passed"
