#!/usr/bin/env bash
# Create .venv/ in the repository root and install orbudget with every extra and the dev tools.
# Needs only Python >= 3.11 on the machine. Set PYTHON to choose the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
# torch is pinned: this wheel is CPU-only here; an unpinned torch pulls a multi-gigabyte CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[all,docs]" --group dev
