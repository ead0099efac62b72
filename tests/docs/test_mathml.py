"""The docs' math hook (scripts/docs_mathml.py): arithmatex's LaTeX becomes MathML at build time, and a formula that
cannot be converted fails the build naming the page."""

import importlib.util
import types
from pathlib import Path

import pytest

pytest.importorskip("latex2mathml")
pytest.importorskip("mkdocs")
ROOT = Path(__file__).resolve().parents[2]


def _hook():
    spec = importlib.util.spec_from_file_location("docs_mathml", ROOT / "scripts" / "docs_mathml.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_inline_and_block_math_become_mathml():
    hook = _hook()
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_path="families/online.md"))
    text = (
        '<p>price <span class="arithmatex">\\(\\mu_t \\ge 0\\)</span> and</p>'
        '<div class="arithmatex">\\[\\sum_t r_t &lt; B\\]</div>'
    )
    out = hook.on_page_content(text, page, None, None)
    assert "arithmatex" not in out and "\\(" not in out and out.count("<math") == 2
    assert 'display="inline"' in out and 'display="block"' in out and "&#x0003C;" in out  # the < unescaped, then MathML
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match="families/online.md: cannot render the formula"):
        hook.on_page_content('<span class="arithmatex">\\(\\left( x\\)</span>', page, None, None)


def test_the_site_config_uses_the_hook_and_no_cdn():
    config = (ROOT / "mkdocs.yml").read_text()
    assert "scripts/docs_mathml.py" in config and "https://" not in config and "mathjax" not in config.lower()


def test_a_literal_role_a_quoted_example_or_a_family_page_without_a_figure_fails_the_build():
    from mkdocs.exceptions import PluginError

    hook = _hook()
    family = types.SimpleNamespace(file=types.SimpleNamespace(src_path="families/rco.md"))
    other = types.SimpleNamespace(file=types.SimpleNamespace(src_path="api/rco.md"))
    assert hook.on_post_page("<p>ok</p>", other, None) == "<p>ok</p>"
    assert hook.on_post_page('<img src="x.png">', family, None) == '<img src="x.png">'
    with pytest.raises(PluginError, match="api/rco.md: shows a literal Sphinx role"):
        hook.on_post_page("<p>see :func:`orbudget.solve`</p>", other, None)
    with pytest.raises(PluginError, match="api/rco.md: a doctest example renders as nested quotes"):
        hook.on_post_page("<blockquote>\n<blockquote>\n<blockquote><p>import orbudget</p>", other, None)
    with pytest.raises(PluginError, match="families/rco.md: a family page needs a figure"):
        hook.on_post_page("<p>no picture</p>", family, None)


def test_tex_that_would_show_as_typed_is_rewritten_or_fails_the_build():
    from mkdocs.exceptions import PluginError

    hook = _hook()
    page = types.SimpleNamespace(file=types.SimpleNamespace(src_path="families/online.md"))
    # \arg\max and \_ inside \text render (latex2mathml shows both raw as written)
    text = (
        '<span class="arithmatex">\\(\\arg\\max_k r_k\\)</span> <span class="arithmatex">\\(\\arg\\min_\\mu f\\)</span>'
        '<span class="arithmatex">\\(N(0, \\text{difficulty\\_spread}^2)\\)</span>'
    )
    out = hook.on_page_content(text, page, None, None)
    assert hook.raw_tex(out) is None and "difficulty_spread" in out and out.count("<math") == 3
    assert hook.on_post_page(out + "<img>", page, None)
    # what the old pages showed fails the build, naming the page
    for shown in (
        '<math display="inline"><mi>\\arg</mi><mo>max</mo></math>',
        "<p>the <code>rate</code> field, rate\\_range, ...</p>",
        "<td><code>orbudget exercises list\\|show\\|check</code></td>",
    ):
        with pytest.raises(PluginError, match="families/online.md: shows TeX as typed"):
            hook.on_post_page(shown + "<img>", page, None)
    # code keeps its backslashes
    assert hook.raw_tex('<pre><code>print("a\\_b")</code></pre>') is None
