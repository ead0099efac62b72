"""mkdocs hook: the docs' LaTeX (pymdownx.arithmatex, generic mode) is turned into MathML when the site is built,
so pages show their math with no script and no network (browsers render MathML natively).

A formula latex2mathml cannot convert fails the build, naming the page and the formula, as the strict build does for
any warning."""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

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
