"""What ships with the package: the typing marker, and a changelog for the version it reports."""

from pathlib import Path

import orbudget as ob

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_marked_typed_and_the_changelog_names_its_version():
    assert (Path(ob.__file__).parent / "py.typed").is_file()  # PEP 561: type checkers read orbudget's annotations
    assert f"({ob.__version__})" in (ROOT / "CHANGELOG.md").read_text()
