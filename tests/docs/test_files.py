"""docs/files.md: its field table lists every kind `load` knows with the fields each takes (required ones in bold);
every JSON example validates against the published schema, loads, and solves; the published schema is the one
`file_schema()` builds."""

import json
import re
from pathlib import Path

import pytest

import orbudget as ob
from orbudget.core.io import _KINDS, file_schema, keyword_fields

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = (DOCS / "files.md").read_text()
EXAMPLES = re.findall(r"```json\n(.*?)```", PAGE, flags=re.S)


def test_the_field_table_matches_every_kind():
    ob.core.registry.load_adapters()  # the models register their kinds when they are imported
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|$", PAGE, flags=re.M))
    assert set(rows) == set(_KINDS) - {"BudgetedAssignment"}
    for kind, text in rows.items():
        want = ", ".join(f"**{p.name}**" if p.default is p.empty else p.name for p in keyword_fields(_KINDS[kind]))
        assert text == want, kind


def test_the_published_schema_is_the_built_one():
    assert json.loads((DOCS / "orbudget-file.schema.json").read_text()) == file_schema()


def test_there_is_an_example_per_family():
    kinds = {json.loads(e)["kind"] for e in EXAMPLES}
    assert kinds == {
        "MultipleChoiceKnapsack",
        "RolloutAllocation",
        "OnlineAllocation",
        "BanditsWithKnapsacks",
        "BiddingCampaign",
        "CoupledRMAB",
        "SampleAllocation",
        "ModelRouting",
    }


@pytest.mark.parametrize("text", EXAMPLES, ids=lambda t: json.loads(t)["kind"])
def test_each_example_validates_loads_and_solves(text, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(text), file_schema())
    path = tmp_path / "p.json"
    path.write_text(text)
    r = ob.solve(ob.load(path), seed=0)
    assert r.ok, r.message


def test_saved_files_validate_and_the_schema_refuses_a_typo(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    big = ob.MultipleChoiceKnapsack.random(3000, 4, seed=0)  # arrays beside the JSON, in a .npz
    for obj in (
        big,
        ob.solve(ob.MultipleChoiceKnapsack.random(5, 3, seed=0)),
        ob.CoupledRMAB.budget(3, 1, seed=0, horizon=3, episodes=2),
    ):
        path = ob.save(obj, tmp_path / f"{type(obj).__name__}.json")
        jsonschema.validate(json.loads(path.read_text()), file_schema())
    bad = json.loads(EXAMPLES[0])
    bad["data"]["max_rollout"] = 4
    with pytest.raises(jsonschema.ValidationError, match="max_rollout"):
        jsonschema.validate(bad, file_schema())
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ob.InvalidProblemError, match="`max_rollout`"):
        ob.load(path)
