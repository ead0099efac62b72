"""The API reference (docs/api/*.md) documents every public name of ``orbudget.__all__``."""

import re
from pathlib import Path

import orbudget as ob

ROOT = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"^:::\s*(\S+)\s*\n((?:[ \t]+.*\n)*)", re.M)


def _directives():
    """[(target, members or None)] of every mkdocstrings directive on the API pages."""
    out = []
    for page in sorted((ROOT / "docs" / "api").glob("*.md")):
        for m in DIRECTIVE.finditer(page.read_text() + "\n"):
            members = re.search(r"members:\s*\[([^\]]*)\]", m.group(2))
            out.append((m.group(1), None if members is None else {s.strip() for s in members.group(1).split(",")}))
    return out


def _covered(name, directives) -> bool:
    obj = getattr(ob, name)
    module = getattr(obj, "__module__", None) if not hasattr(obj, "__path__") and not hasattr(obj, "__file__") else None
    paths = {f"orbudget.{name}"}
    if module and hasattr(obj, "__qualname__"):
        paths.add(f"{module}.{obj.__qualname__}")
    if hasattr(obj, "__name__") and hasattr(obj, "__file__"):  # a module re-exported by name
        paths.add(obj.__name__)
    for target, members in directives:
        if target in paths:
            return True
        if module and target == module and members is None:
            return True
        if members is not None and name in members and _has(target, name):  # listed by name on a module's entry
            return True
    return False


def _has(target: str, name: str) -> bool:
    import importlib

    try:
        return getattr(importlib.import_module(target), name, None) is getattr(ob, name)
    except ImportError:
        return False


def test_every_public_name_is_in_the_api_reference():
    directives = _directives()
    missing = [name for name in ob.__all__ if not _covered(name, directives)]
    assert not missing, f"add `::: orbudget.NAME` to a page under docs/api/ for {missing}"
