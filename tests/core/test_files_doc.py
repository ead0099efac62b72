"""docs/files.md lists every kind `load` knows, with the fields each takes (required ones in bold), and its example
loads as written."""

import inspect
import json
import re
from pathlib import Path

import orbudget as ob
from orbudget.core.io import _KINDS

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "files.md").read_text()


def test_the_field_table_matches_every_kind():
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", PAGE, flags=re.M))
    assert set(rows) == set(_KINDS) - {"BudgetedAssignment"}
    for kind, text in rows.items():
        params = [p for p in inspect.signature(_KINDS[kind]).parameters.values()
                  if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        want = ", ".join(f"**{p.name}**" if p.default is p.empty else p.name for p in params)
        assert text == want, kind


def test_the_example_file_loads_and_solves(tmp_path):
    example = re.search(r"```json\n(.*?)```", PAGE, flags=re.S).group(1)
    path = tmp_path / "p.json"
    path.write_text(example)
    p = ob.load(path)
    assert isinstance(p, ob.MultipleChoiceKnapsack) and ob.solve(p).objective == 6.0
    data = json.loads(example)
    data["data"]["max_rollout"] = 4
    path.write_text(json.dumps(data))
    try:
        ob.load(path)
    except ob.InvalidProblemError as exc:
        assert "`max_rollout`" in str(exc)
    else:
        raise AssertionError("an unknown key was accepted")
