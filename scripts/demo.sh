#!/usr/bin/env bash
# Set up .venv/ and run the main job: every family on its embedded default instance (the quick run, about a
# minute on two cores; pass --full for the large instances).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/orbudget demo "$@"
