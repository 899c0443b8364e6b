"""The repository's shape: small modules, one test file per module, a README that lists the tree,
and a method page that the code cites."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "skdlib"
#: A module past this many lines has usually started to mix concepts: split it.
MAX_LINES = 450


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def tracked_text_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    suffixes = {".py", ".md", ".ipynb", ".json", ".toml", ".yml", ".cfg", ".txt"}
    names = out.stdout.splitlines()
    return [ROOT / n for n in names if Path(n).suffix in suffixes or Path(n).name == "Makefile"]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_the_limit(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by concept"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_has_its_test_file(path):
    """``skdlib/a/b.py`` is tested by ``tests/a/test_b.py`` (or, inside a subpackage of models
    and the like, by the subpackage's own ``tests/a/test_<package>.py``)."""
    rel = path.relative_to(PACKAGE)
    own = ROOT / "tests" / rel.parent / f"test_{rel.stem}.py"
    package = ROOT / "tests" / rel.parent.parent / f"test_{rel.parent.name}.py"
    assert own.exists() or (rel.parent != Path(".") and package.exists()), (
        f"no tests/{rel.parent / ('test_' + rel.stem + '.py')} for skdlib/{rel}"
    )


def readme_table() -> dict[str, list[str]]:
    """``{dotted name: [its modules]}`` from the README's package / module table."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`skdlib."):
            rows[cells[0].strip("`")] = re.findall(r"`([a-z_0-9]+)`", cells[1])
    return rows


def test_readme_module_table_matches_the_tree():
    table = readme_table()
    top = {
        f"skdlib.{p.stem}"
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
        or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert top <= set(table), f"README lacks {sorted(top - set(table))}"
    for name, listed in table.items():
        path = PACKAGE.parent / Path(*name.split("."))
        assert path.with_suffix(".py").exists() or path.is_dir(), f"README lists {name}"
        if path.is_dir():
            actual = sorted(
                p.stem
                for p in path.iterdir()
                if (p.suffix == ".py" and p.stem != "__init__")
                or (p.is_dir() and (p / "__init__.py").exists())
            )
            assert sorted(listed) == actual, f"README's row for {name}: {listed} vs {actual}"
        else:
            assert listed == [], f"{name} is a module; the README lists modules in it"


def test_the_method_page_exists_and_every_section_cited_in_the_code_is_there():
    page = (ROOT / "docs" / "method.md").read_text()
    sections = {int(n) for n in re.findall(r"^## (\d+)\.", page, flags=re.M)}
    assert sections >= {1, 2, 3, 4, 5, 6, 7}
    cited = set()
    for path in PACKAGE.rglob("*.py"):
        cited |= {int(n) for n in re.findall(r"docs/method\.md`*\s*§(\d+)", path.read_text())}
    assert cited and cited <= sections, f"the code cites sections {sorted(cited - sections)}"
    assert (ROOT / "docs" / "adding-a-method.md").exists()


def test_nothing_cites_a_file_the_user_does_not_have():
    missing = "METHOD" + ".md"  # the team's internal notes; users have docs/method.md instead
    offenders = [str(p.relative_to(ROOT)) for p in tracked_text_files() if missing in p.read_text()]
    assert offenders == []
