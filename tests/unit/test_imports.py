"""The import graph: packages of `orchard` import one way, and runtime code never imports dev tooling."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

INCLUDE = Path(__file__).parents[2] / "include"
DEV_TOOLING = ("orchard_dev", "tests", "scripts", "bench")


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module a file imports, at the top or inside a function, relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = package[: len(package) - node.level + 1]
            found.add(".".join([*base, node.module] if node.module else base))
        elif isinstance(node, ast.ImportFrom):  # `from orchard import settings` imports orchard.settings
            found.update([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)])
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(INCLUDE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str | None:
    """orchard.load.pipelines -> orchard.load; orchard.settings -> orchard.settings; others -> None."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "orchard" and len(parts) > 1 else None


def orchard_imports() -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p, module_name(p)) for p in (INCLUDE / "orchard").rglob("*.py")}


def package_graph(imports: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in imports.items():
        source = package_of(module)
        if source is None:  # orchard/__init__.py
            continue
        graph.setdefault(source, set())
        graph[source].update(t for t in map(package_of, targets) if t and t != source)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return exc.args[1]
    return None


def test_packages_import_one_way():
    cycle = find_cycle(package_graph(orchard_imports()))
    assert cycle is None, f"import cycle between packages: {' -> '.join(cycle)}"


def test_the_cycle_check_finds_a_cycle_between_packages():
    imports = {
        "orchard.load.pipelines": {"orchard.sources.shop"},
        "orchard.sources.shop": {"orchard.load.contracts"},
    }
    assert set(find_cycle(package_graph(imports))) == {"orchard.load", "orchard.sources"}


def test_runtime_code_never_imports_dev_tooling():
    offending = {
        module: sorted(t for t in targets if t.split(".")[0] in DEV_TOOLING)
        for module, targets in orchard_imports().items()
    }
    assert {m: t for m, t in offending.items() if t} == {}


def test_relative_imports_resolve_to_their_package(tmp_path):
    module = tmp_path / "pipeline.py"
    module.write_text("from .source import shop\nfrom . import helpers\n")
    assert imported_modules(module, "orchard.sources.shop.pipeline") == {
        "orchard.sources.shop.source",
        "orchard.sources.shop",
    }
