"""The repository's shape: small modules, one test file per module, a README that lists the tree,
and a method page that the code cites."""

import ast
import re
import subprocess
import sys
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


# -- floors: which part of the package may import which ----------------------------------------

#: The floors from the bottom up (docs/floors.md). A module may import modules of its own
#: package and of any lower floor; on the core floor the modules may import one another.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("", "config", "checkpoint", "staging", "runtime", "schedule", "progress", "hooks",
     "losses", "filenames", "loaders"),
    ("models", "data"),
    ("embedding",),
    ("dissect", "distill"),
    ("viz",),
    ("tutorial",),
    ("commands",),
    ("cli",),
    ("__main__",),
)  # fmt: skip
LEVEL = {unit: level for level, units in enumerate(FLOORS) for unit in units}
#: Libraries that draw, show widgets or run notebooks, and the parts of skdlib that may load them.
DRAWING = {"matplotlib": {"viz"}, "ipywidgets": {"viz", "tutorial"}, "papermill": {"tutorial"}}


def _unit(module: str) -> str:
    """``skdlib.distill.trainer`` -> ``distill``; ``skdlib.losses`` -> ``losses``; ``skdlib``
    (the package itself) -> ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import in the file, function-level ones included."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts if path.name == "__init__.py" else rel.parts[:-1])
    if path.name == "__init__.py":
        package = package[:-1] + [package[-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
                if not node.module:  # from .. import a, b: modules of the package, or its names
                    for a in node.names:
                        sub = PACKAGE.parent.joinpath(*f"{name}.{a.name}".split("."))
                        is_module = sub.with_suffix(".py").exists() or sub.is_dir()
                        found.append((node.lineno, f"{name}.{a.name}" if is_module else name))
                    continue
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _all_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_points_down_the_floors(path):
    rel = path.relative_to(PACKAGE)
    own = rel.parts[0].removesuffix(".py") if rel.parts[0] != "__init__.py" else ""
    assert own in LEVEL, f"skdlib/{rel}: {own!r} is on no floor of FLOORS (docs/floors.md)"
    wrong = []
    for line, module in _imports(path):
        top = module.split(".")[0]
        if top == "skdlib":
            other = _unit(module)
            same_core = LEVEL[own] == 0 and LEVEL.get(other) == 0
            if other != own and not same_core and not LEVEL.get(other, 99) < LEVEL[own]:
                wrong.append(f"line {line}: {module} (floor {LEVEL.get(other)})")
        elif top in DRAWING and own not in DRAWING[top]:
            wrong.append(f"line {line}: {module} (only {sorted(DRAWING[top])} may load it)")
    assert wrong == [], f"skdlib/{rel} (floor {LEVEL[own]}) imports upward or across: {wrong}"


def test_the_floor_table_checks_what_it_says():
    """The parser above resolves relative imports: an upward one is caught."""
    probe = PACKAGE / "distill" / "trainer.py"
    modules = {m for _, m in _imports(probe)}
    assert "skdlib.models" in modules and "skdlib.distill.methods" in modules
    assert LEVEL["tutorial"] > LEVEL["distill"] > LEVEL["models"] > LEVEL["losses"]


@pytest.mark.parametrize("package", ["distill", "embedding", "dissect", "models", "data"])
def test_the_method_packages_load_no_drawing_widget_or_notebook_library(package):
    """Every public name of the package imported, in a fresh interpreter: none of matplotlib,
    ipywidgets, scikit-learn or papermill is loaded (a torchrun worker pays for none of them)."""
    code = (
        "import importlib, sys\n"
        f"m = importlib.import_module('skdlib.{package}')\n"
        "[getattr(m, n) for n in m.__all__]\n"
        "print(sorted({k.split('.')[0] for k in sys.modules} & "
        "{'matplotlib', 'ipywidgets', 'sklearn', 'papermill'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
