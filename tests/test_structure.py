"""The package layout keeps its promises: explicit public names, one home per thing, small modules.

Each test names what is still pending elsewhere, so a new exception is a deliberate edit here.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "earnright"
MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")


def _name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parts[-2] != "cli" or p.stem == "__init__"]
)
def test_every_package_and_module_declares_existing_public_names(path: Path) -> None:
    name = _name(path)
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    if missing and path.stem == "__init__":  # a package may list its submodules and subpackages
        here = path.parent
        missing = [n for n in missing if not ((here / f"{n}.py").exists() or (here / n).is_dir())]
    assert missing == [], f"{name}.__all__ names what it does not define: {missing}"


# module._name, for any name but objects' own (self._x), Ibis deferred columns (t._good) and
# Jupyter's display protocol (_repr_html_)
PRIVATE_ATTRIBUTE = re.compile(
    r"\b(?!self\b|sys\b|t\b|events\b|ibis\b)[a-z_]+\.(?!_repr_\w+_\b)_[A-Za-z]\w*"
)
PENDING_PRIVATE: set[tuple[str, str]] = set()  # names still to make public


def test_tests_and_benches_use_public_names_only() -> None:
    found = set()
    for path in [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("bench").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        if path == Path(__file__):
            continue
        for statement in re.findall(r"from earnright[\w.]* import (?:\([^)]*\)|[^\n]*)", text):
            names = re.findall(r"\b(\w+)\b", statement.split(" import ", 1)[1])
            found |= {(rel, n) for n in names if n.startswith("_") and not n.startswith("__")}
        found |= {(rel, m) for m in PRIVATE_ATTRIBUTE.findall(text) if "__" not in m}
    assert found - PENDING_PRIVATE == set()


def test_the_units_table_is_read_in_one_place() -> None:
    """Analytics read the hierarchy through earnright.units (ingest writes it)."""
    readers = {
        str(p.relative_to(SRC))
        for p in MODULES
        if 'table("units")' in p.read_text(encoding="utf-8")
    }
    assert readers == {"units.py", "ingest/hierarchy.py", "ingest/batch.py"}


def test_modules_stay_under_500_lines() -> None:
    large = {
        str(p.relative_to(SRC))
        for p in MODULES
        if len(p.read_text(encoding="utf-8").splitlines()) > 500
    }
    assert large == set(), f"split these along their seams: {sorted(large)}"


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's body, its signature (a command's options) and docstring aside."""
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def test_functions_stay_under_50_lines() -> None:
    long = set()
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _body_lines(node) > 50:
                long.add(f"{path.relative_to(SRC)}:{node.name}")
    assert long == set(), f"split these into steps: {sorted(long)}"


def test_shared_statistics_are_defined_once() -> None:
    """Z95 and Benjamini–Hochberg live in earnright.stats; nothing else defines them."""
    definitions = []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            elif isinstance(node, ast.FunctionDef):
                names = [node.name]
            else:
                continue
            for n in names:
                if n in {"Z95", "benjamini_hochberg", "_bh", "Progress", "DATA_KINDS", "KINDS"}:
                    definitions.append((str(path.relative_to(SRC)), n))
    assert sorted(definitions) == [
        ("config/values.py", "DATA_KINDS"),
        ("ingest/kinds.py", "KINDS"),  # the spec of each data kind, keyed by DATA_KINDS
        ("progress.py", "Progress"),
        ("stats/multiplicity.py", "benjamini_hochberg"),
        ("stats/normal.py", "Z95"),
    ]
