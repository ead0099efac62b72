"""Execute every jupytext notebook in notebooks/ (py:percent) with nbclient; fail on the first error."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

root = Path(__file__).resolve().parents[1]
paths = sorted((root / "notebooks").glob("[0-9]*.py"))
if not paths:
    sys.exit("no notebooks found in notebooks/")
for path in paths:
    t0 = time.perf_counter()
    nb = jupytext.read(path)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    print(f"{path.name}: ok ({time.perf_counter() - t0:.1f} s, {len(nb.cells)} cells)")
