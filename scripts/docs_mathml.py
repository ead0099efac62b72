"""mkdocs hook: the docs' LaTeX (pymdownx.arithmatex, generic mode) is turned into MathML when the site is built,
so pages show their math with no script and no network (browsers render MathML natively).

A formula latex2mathml cannot convert fails the build, naming the page and the formula, as the strict build does for
any warning. So does a rendered page that shows a literal Sphinx role (``:func:`...```, from a docstring), a doctest
example rendered as nested quotes (an ``Example:`` section instead of ``Examples:``), and a family page without a
figure."""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|math):`")
QUOTED_PROMPT = re.compile(r"<blockquote>\s*<blockquote>\s*<blockquote>")  # `>>>` read as three nested quotes
INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


def to_mathml(tex: str, display: bool, where: str) -> str:
    try:
        return convert(html.unescape(tex).strip(), display="block" if display else "inline")
    except Exception as exc:  # noqa: BLE001 - any failure of the converter is a broken formula in the docs
        raise PluginError(f"{where}: cannot render the formula {tex.strip()[:120]!r} as MathML ({exc})") from None


def on_page_content(text, page, config, files):
    where = page.file.src_path
    text = BLOCK.sub(lambda m: to_mathml(m.group(1), True, where), text)
    return INLINE.sub(lambda m: to_mathml(m.group(1), False, where), text)


def on_post_page(output, page, config):
    where = page.file.src_path
    role = ROLE.search(output)
    if role:
        raise PluginError(
            f"{where}: shows a literal Sphinx role {output[role.start() : role.start() + 40]!r}; write "
            "docstrings in Markdown (`name`, $math$)"
        )
    if QUOTED_PROMPT.search(output):
        raise PluginError(
            f"{where}: a doctest example renders as nested quotes; head its docstring section "
            "`Examples:` (Google style), which renders `>>>` lines as code"
        )
    if where.startswith("families/") and "<img" not in output:
        raise PluginError(f"{where}: a family page needs a figure (scripts/make_figures.py makes them)")
    return output
