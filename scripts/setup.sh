#!/usr/bin/env bash
# Create .venv/ in the repository root and install orbudget with every extra and the dev tools, then compile and cache
# the numba kernels of every family's default method (`orbudget warmup`). Needs only Python >= 3.11 on the machine.
# Set PYTHON to choose the interpreter. Each step says what it does and how long it takes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
step() { echo "[setup] $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  step "1/5 creating .venv/ (a few seconds)"
  "$PY" -m venv .venv
else
  step "1/5 .venv/ exists"
fi
step "2/5 upgrading pip (a few seconds; about 30 s the first time)"
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
# torch is pinned: this wheel is CPU-only here; an unpinned torch pulls a multi-gigabyte CUDA build.
step "3/5 installing torch==2.13.0, CPU wheel (a few seconds once installed; 1-3 minutes the first time)"
.venv/bin/python -m pip install --quiet "torch==2.13.0"
step "4/5 installing orbudget with every extra and the dev tools (a few seconds once installed; 2-4 minutes the first time)"
.venv/bin/python -m pip install --quiet -e ".[all,docs]" --group dev
step "5/5 compiling and caching every family's default kernels: orbudget warmup (about 10 s once cached; 1-2 minutes the first time)"
.venv/bin/orbudget warmup
step "done"
