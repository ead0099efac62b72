"""The docs' method tables (scripts/docs_methods.py) are generated from the registry: every method of every model is
in them, and every model has one on a page."""

import importlib.util
import re
import types
from pathlib import Path

import pytest

from orbudget.core import registry

pytest.importorskip("mkdocs")
ROOT = Path(__file__).resolve().parents[2]


def _hook():
    spec = importlib.util.spec_from_file_location("docs_methods", ROOT / "scripts" / "docs_methods.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MODELS = sorted({s.problem for s in registry.registered() if s.func.__module__.startswith("orbudget.")}, key=lambda c: c.__name__)


@pytest.mark.parametrize("model", MODELS, ids=lambda c: c.__name__)
def test_the_table_lists_every_registered_method_in_preference_order(model):
    table = _hook().methods_table(model.__name__)
    rows = table.splitlines()[2:]
    shown = [(re.match(r"\| `(\w+)`", r).group(1), r.split("|")[2].strip()) for r in rows]
    want = [(s.method, s.backend) for s in registry.specs_for(model) if s.problem is model]
    assert shown == want
    assert "(default" in rows[0]


def test_every_model_has_a_generated_table_on_a_page_and_the_knapsack_one_starts_with_core():
    pages = {p: p.read_text() for p in (ROOT / "docs").rglob("*.md")}
    marked = {m for text in pages.values() for m in re.findall(r"^<!-- methods: (\w+) -->$", text, re.M)}
    assert {c.__name__ for c in MODELS} <= marked
    assert "scripts/docs_methods.py" in (ROOT / "mkdocs.yml").read_text()
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_path="families/knapsack.md"))
    out = _hook().on_page_markdown("<!-- methods: MultipleChoiceKnapsack -->\n", page, None, None)
    assert out.splitlines()[2].startswith("| `core` (default")


def test_a_marker_naming_no_model_fails_the_build():
    from mkdocs.exceptions import PluginError

    page = types.SimpleNamespace(file=types.SimpleNamespace(src_path="families/x.md"))
    with pytest.raises(PluginError, match="families/x.md: `<!-- methods: Knapsak -->` names no registered model"):
        _hook().on_page_markdown("<!-- methods: Knapsak -->\n", page, None, None)


def test_the_home_page_guides_to_every_family():
    home = (ROOT / "docs" / "index.md").read_text()
    guide = home.split("## Which family?")[1].split("\n## ")[0]
    for family in (ROOT / "docs" / "families").glob("*.md"):
        assert f"(families/{family.name})" in guide, family.name
    for model in MODELS:
        assert f"`{model.__name__}`" in guide, model.__name__
