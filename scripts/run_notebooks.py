"""Execute every jupytext notebook in notebooks/ (py:percent) with nbclient, or only those named on the command line
(``python scripts/run_notebooks.py notebooks/03_bwk_exercises.py``); fail on the first error.

Before that, the student editions (``*_student.py``, written by ``scripts/student_notebook.py``) are built as the
``.ipynb`` a student opens, unexecuted, beside them (``notebooks/*.ipynb`` is not committed). The kernels talk to
this process over IPC sockets in a temporary folder, not over TCP, so they print no "running over TCP without
encryption" warning.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def build_student_notebooks(folder: Path = ROOT / "notebooks", out: Path | None = None) -> list[Path]:
    """Write each ``*_student.py`` notebook in ``folder`` as an unexecuted, valid ``.ipynb`` (in ``out``, by default
    beside it); return the paths written."""
    written = []
    for path in sorted(folder.glob("*_student.py")):
        nb = jupytext.read(path)
        nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
        nbformat.validate(nb)
        target = (out or path.parent) / (path.stem + ".ipynb")
        tmp = target.with_suffix(".ipynb.tmp")
        nbformat.write(nb, str(tmp))
        tmp.replace(target)  # atomically: a reader never sees half a notebook
        written.append(target)
    return written


def execute(path: Path) -> int:
    """Run the notebook at ``path`` in a fresh kernel (IPC transport); return its number of cells."""
    nb = jupytext.read(path)
    with tempfile.TemporaryDirectory(prefix="orbudget-kernel-") as folder:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(folder) / "kernel"))
        try:
            NotebookClient(nb, km=km, timeout=900, resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            if km.has_kernel:
                km.shutdown_kernel(now=False)
    return len(nb.cells)


def main(argv: list[str] | None = None) -> None:
    names = sys.argv[1:] if argv is None else argv
    paths = [Path(n).resolve() for n in names] or sorted((ROOT / "notebooks").glob("[0-9]*.py"))
    if not paths:
        sys.exit("no notebooks found in notebooks/")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"no such notebook: {', '.join(missing)}")
    for target in build_student_notebooks():
        print(f"{target.relative_to(ROOT)}: written (student edition)")
    for path in paths:
        t0 = time.perf_counter()
        cells = execute(path)
        print(f"{path.name}: ok ({time.perf_counter() - t0:.1f} s, {cells} cells)")


if __name__ == "__main__":
    main()
