"""CONTRIBUTING.md's walk-throughs ("Add a method", "Add a backend") run as written: the page's Python blocks, in
order, in one fresh interpreter (the methods and the backend they register stay out of this test session)."""

import subprocess
import sys
from pathlib import Path

from ..conftest import python_blocks

ROOT = Path(__file__).resolve().parents[2]


def test_the_contributing_examples_run_as_written():
    blocks = python_blocks(ROOT / "CONTRIBUTING.md")
    assert len(blocks) >= 3 and any("register_backend(" in b for b in blocks) and any("@register(" in b for b in blocks)
    code = "\n".join(blocks) + "\nprint('RAN', len(ob.available_solvers(p)))\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and "RAN" in out.stdout, out.stderr[-3000:]


def test_the_example_method_breaks_when_it_is_wrong():
    """The walk-through's asserts can fail: the same code with the cheapest option swapped for the dearest fails."""
    blocks = python_blocks(ROOT / "CONTRIBUTING.md")
    wrong = "\n".join(blocks[:2]).replace("np.inf).argmin(axis=1)", "-np.inf).argmax(axis=1)")
    assert wrong != "\n".join(blocks[:2])
    out = subprocess.run([sys.executable, "-c", wrong], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode != 0
