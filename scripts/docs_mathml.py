"""mkdocs hook: the docs' LaTeX (pymdownx.arithmatex, generic mode) is turned into MathML when the site is built,
so pages show their math with no script and no network (browsers render MathML natively).

A formula latex2mathml cannot convert fails the build, naming the page and the formula, as the strict build does for
any warning. So does a rendered page that shows a literal Sphinx role (``:func:`...```, from a docstring), a doctest
example rendered as nested quotes (an ``Example:`` section instead of ``Examples:``), and a family page without a
figure. A formula or text that would show TeX as typed (a ``\\arg``, a ``\\_``, an escaped ``\\|`` in a code span) fails it
too: ``\\arg\\max``/``\\arg\\min`` and ``\\_`` inside ``\\text{...}`` are rewritten first, since latex2mathml shows them
raw."""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|math):`")
QUOTED_PROMPT = re.compile(r"<blockquote>\s*<blockquote>\s*<blockquote>")  # `>>>` read as three nested quotes
INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


ARG = re.compile(r"\\arg\s*\\(max|min)")
TEXT = re.compile(r"\\(text)\{([^{}]*)\}")  # \mathrm{a\_b} renders its underscore already
MATH = re.compile(r"<math\b.*?</math>", re.S)
CODE = re.compile(r"<(pre|code|script|style)\b.*?</\1>", re.S)
CODE_PIPE = re.compile(r"<code>[^<]*\\\|")


def plain_tex(tex: str) -> str:
    """``tex`` in the subset latex2mathml renders: ``\\arg\\max`` as an operator, ``\\_`` in text as ``_``."""
    tex = ARG.sub(lambda m: "\\mathop{\\mathrm{arg\\," + m.group(1) + "}}", tex)
    return TEXT.sub(lambda m: "\\" + m.group(1) + "{" + m.group(2).replace("\\_", "_") + "}", tex)


def raw_tex(output: str) -> str | None:
    """The first TeX a reader would see as typed in a rendered page: a backslash inside MathML, a ``\\_`` or a
    ``\\arg`` in the text, or an escaped ``\\|`` in a code span (a table's pipe); ``None`` when there is none."""
    for m in MATH.finditer(output):
        at = m.group(0).find("\\")
        if at >= 0:
            return m.group(0)[max(0, at - 20) : at + 20]
    pipe = CODE_PIPE.search(output)
    if pipe:
        return pipe.group(0)
    text = CODE.sub("", MATH.sub("", output))
    for bad in ("\\_", "\\arg"):
        at = text.find(bad)
        if at >= 0:
            return text[max(0, at - 20) : at + 20]
    return None


def to_mathml(tex: str, display: bool, where: str) -> str:
    try:
        return convert(plain_tex(html.unescape(tex).strip()), display="block" if display else "inline")
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
    raw = raw_tex(output)
    if raw is not None:
        raise PluginError(f"{where}: shows TeX as typed, {raw!r}; write it so that it renders (see plain_tex)")
    if where.startswith("families/") and "<img" not in output:
        raise PluginError(f"{where}: a family page needs a figure (scripts/make_figures.py makes them)")
    return output
