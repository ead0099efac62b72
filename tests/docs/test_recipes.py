"""Every Python block of docs/recipes.md runs as written (a fresh namespace per block)."""

from pathlib import Path

import pytest

from ..conftest import needs, python_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"
BLOCKS = python_blocks(PAGE)


def test_the_page_has_its_recipes():
    assert len(BLOCKS) == 12  # a first solve per family (8) and four recipes


@needs("torch")
@pytest.mark.parametrize("code", BLOCKS, ids=lambda c: c.splitlines()[0][24:60] or c.splitlines()[-1][:40])
def test_recipe_runs_as_written(code):
    exec(compile(code, str(PAGE), "exec"), {})  # noqa: S102 - the page's own example
