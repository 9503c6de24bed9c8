"""The import graph keeps its shape: no import cycles in the client or the sandbox, and `webapi/` imports nothing from
the rest of the project (design.md, "Import direction").

Read from the source with `ast`, counting every import (function-level ones too), so a cycle cannot hide behind an
import moved into a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "dataverse"


def _modules() -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in PACKAGE_ROOT.rglob("*.py"):
        parts = ["dataverse", *path.relative_to(PACKAGE_ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _imports(name: str, source: str, *, is_package: bool = False) -> set[str]:
    """Every name module `name` imports, anywhere in its body: `from x import y` gives both x and x.y."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.update(f"{module}.{alias.name}" for alias in node.names)
            found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, (path, is_package) in modules.items():
        imported = _imports(name, path.read_text(encoding="utf-8"), is_package=is_package)
        targets = {target for target in imported if target in modules and target != name}
        # `from . import submodule` names the package too; only the submodule is really needed.
        graph[name] = {t for t in targets if not any(o.startswith(t + ".") and o in targets for o in targets)}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _within(prefix: str, cycles: list[list[str]]) -> list[list[str]]:
    return [cycle for cycle in cycles if any(module.startswith(prefix) for module in cycle)]


def test_the_client_has_no_import_cycles():
    assert _within("dataverse.webapi", _cycles(_graph())) == []


def test_the_sandbox_has_no_import_cycles():
    assert _within("dataverse.sandbox", _cycles(_graph())) == []


def test_the_client_imports_nothing_from_the_rest_of_the_project():
    graph = _graph()
    outside = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("dataverse.webapi")
        for target in targets
        if not target.startswith("dataverse.webapi")
    }
    assert outside == set()


def test_an_import_inside_a_function_counts():
    source = "def build():\n    from .seed import seed_organization\n"
    assert "dataverse.sandbox.dataverse.seed" in _imports("dataverse.sandbox.dataverse.organization", source)


def test_a_cycle_is_found_however_long():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_has_no_import_cycles():
    assert _cycles(_graph()) == []


def test_storage_imports_nothing_from_the_project_and_oauth_never_imports_tools_or_webapi():
    graph = _graph()
    storage_out = {(m, t) for m, ts in graph.items() if m.startswith("dataverse.storage")
                   for t in ts if not t.startswith("dataverse.storage")}
    oauth_out = {(m, t) for m, ts in graph.items() if m.startswith("dataverse.oauth")
                 for t in ts if t.startswith(("dataverse.tools", "dataverse.webapi"))}
    assert storage_out == set() and oauth_out == set()


def test_only_tests_the_demo_and_the_sandbox_itself_import_the_sandbox():
    graph = _graph()
    allowed = ("dataverse.sandbox", "dataverse.__main__")
    importers = {m for m, ts in graph.items() if any(t.startswith("dataverse.sandbox") for t in ts)}
    assert {m for m in importers if not m.startswith(allowed)} == set()
