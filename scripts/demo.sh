#!/usr/bin/env bash
# Set up .venv/ and run the main job: every family on its embedded default instance.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/orbudget demo "$@"
