"""Write the student version of a teaching notebook (default: notebooks/03_bwk_exercises.py).

Every code cell tagged ``solution`` (``# %% tags=["solution"]`` in jupytext's percent format) keeps only the
signatures of the functions it defines or imports from the checkout's ``solutions/`` folder (``from
solutions.bwk_exercises import hedge``: the worked answers, which the package does not ship), each body replaced by
``raise NotImplementedError``; the cell's other lines are dropped, and everything else is copied as it is, so the
graders' cells still run and answer "NOT YET" until the student fills the functions in.

    python scripts/student_notebook.py [SOURCE [TARGET]]

TARGET defaults to SOURCE with ``_student`` before ``.py``; it is written atomically.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

SOLUTION = '# %% tags=["solution"]'
STUB = 'raise NotImplementedError("your answer here: see the statement printed above")'
NOTE = (
    "# > Student version, written by `scripts/student_notebook.py` from the worked notebook: fill in the functions\n"
    "# > that raise NotImplementedError, then run the grading cell after each.\n"
)


ROOT = Path(__file__).resolve().parent.parent


def solution_functions(body: str, root: Path = ROOT) -> list[ast.FunctionDef]:
    """The functions a solution cell defines, and those it imports from ``root``'s ``solutions/`` package, in order."""
    found = []
    for node in ast.parse(body).body:
        if isinstance(node, ast.FunctionDef):
            found.append(node)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "solutions":
            path = root.joinpath(*node.module.split(".")).with_suffix(".py")
            defined = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
            for alias in node.names:
                if alias.name not in defined:
                    raise ValueError(f"{path} defines no function {alias.name!r}")
                found.append(defined[alias.name])
    return found


def student_version(text: str, root: Path = ROOT) -> str:
    """The notebook ``text`` with every ``solution`` cell reduced to stubs of the functions it defines or imports
    from ``root``'s ``solutions/``."""
    cells = re.split(r"(?m)^(?=# %%)", text)
    out = []
    for cell in cells:
        first, _, body = cell.partition("\n")
        if first.strip() != SOLUTION:
            out.append(cell)
            continue
        stubs = [f"def {node.name}({ast.unparse(node.args)}):\n    {STUB}\n" for node in solution_functions(body, root)]
        if not stubs:
            raise ValueError(f"a solution cell defines no function to stub:\n{cell[:200]}")
        out.append("# %%\n" + "\n\n".join(stubs) + "\n\n")  # two blank lines after a function, as ruff format
    result = "".join(out)
    title = re.search(r"(?m)^# # .*\n", result)  # the note goes under the notebook's title
    if title is None:
        raise ValueError("the notebook has no '# # title' line")
    return result[: title.end()] + "#\n" + NOTE + result[title.end() :]


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else ROOT / "notebooks" / "03_bwk_exercises.py"
    target = Path(argv[1]) if len(argv) > 1 else source.with_name(source.stem + "_student.py")
    sys.path.insert(0, str(ROOT))
    from orbudget.core.io import atomic_write_bytes

    atomic_write_bytes(target, student_version(source.read_text()).encode())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
