"""mkdocs hook: every method table of the docs is generated from the registry, so none can leave a method out.

A page writes ``<!-- methods: ClassName -->`` on a line of its own where the table goes; the hook puts there one row
per registered method of that model, in preference order (the default first): its name, backend, whether it is
exact-by-default or long, the standard keywords it honours and the first line of its description. A marker that
names no registered model fails the build, naming the page."""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError

MARKER = re.compile(r"^<!-- methods: (\w+) -->$", re.M)


def _registry():
    from orbudget.core.registry import registered  # imports every adapter, which registers its methods

    return registered()


def model_names() -> set[str]:
    return {s.problem.__name__ for s in _registry()}


def methods_table(name: str) -> str:
    """The Markdown table of the methods of the model class ``name``, one row per (method, backend)."""
    specs = [s for s in _registry() if s.problem.__name__ == name]
    if not specs:
        raise KeyError(name)
    rows = ["| method | backend | honours | what it is |", "|---|---|---|---|"]
    for i, s in enumerate(specs):
        notes = []
        if i == 0:
            notes.append("default")
        if s.long:
            notes.append("long")
        note = f" ({', '.join(notes)})" if notes else ""
        honours = ", ".join(f"`{k}`" for k in (s.honours or ())) or "-"
        description = " ".join((s.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{s.method}`{note} | {s.backend} | {honours} | {description} |")
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    def table(m):
        try:
            return methods_table(m.group(1))
        except KeyError:
            raise PluginError(
                f"{page.file.src_path}: `<!-- methods: {m.group(1)} -->` names no registered model; "
                f"known: {', '.join(sorted(model_names()))}"
            ) from None

    return MARKER.sub(table, markdown)
