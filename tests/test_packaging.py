"""What ships with the package: the typing marker, and a changelog for the version it reports."""

from pathlib import Path

import orbudget as ob

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_marked_typed_and_the_changelog_names_its_version():
    assert (Path(ob.__file__).parent / "py.typed").is_file()  # PEP 561: type checkers read orbudget's annotations
    assert f"({ob.__version__})" in (ROOT / "CHANGELOG.md").read_text()


def test_the_version_is_written_once_in_pyproject():
    import tomllib
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert ob.__version__ == metadata.version("orbudget") == project["version"]
    assert "version" not in project.get("dynamic", [])
    assert "0.1.0" not in (ROOT / "orbudget" / "__init__.py").read_text()  # not written twice
