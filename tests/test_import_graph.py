"""The package's import graph has no cycle: what a module imports at its top level (and the
packages those imports pass through) never leads back to it. Imports inside functions are
left out on purpose: they are how a module defers a heavy or optional dependency."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "crawler"


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                # Importing a.b.c runs a.b's __init__ too, unless a.b is this module's own
                # package (already being imported when this module runs).
                for step in (target, *_parents(target)):
                    if step in modules and step != name and step not in _parents(name) \
                            and step != "crawler":
                        graph[name].add(step)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the scan saw the package
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def test_the_shared_vocabulary_is_a_leaf_and_the_store_never_reaches_the_deliverer() -> None:
    graph = import_graph()
    assert graph["crawler.kinds"] == set()
    store = {name for name in graph if name.startswith("crawler.store")}
    reached = set().union(*(reachable(graph, name) for name in store))
    assert "crawler.kinds" in reached  # the scan follows the store's imports
    # The retry schedule's constants bound stored due times (`crawler.clockstep`); nothing
    # else of the delivery side is the store's business.
    webhooks = {name for name in reached if name.startswith("crawler.webhooks")}
    assert webhooks <= {"crawler.webhooks", "crawler.webhooks.retry"}
    assert not {"crawler.httpapi", "crawler.metrics"} & reachable(graph, "crawler.config")


def top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_benchmarks_never_import_the_tests_and_the_crawler_never_imports_its_test_parts() -> None:
    benchmarks = sorted((REPO / "benchmarks").glob("*.py"))
    assert len(benchmarks) > 5
    from_tests = {path.name: sorted(m for m in top_level_imports(path)
                                    if m == "tests" or m.startswith("tests."))
                  for path in benchmarks}
    assert {name: found for name, found in from_tests.items() if found} == {}
    graph = import_graph()
    assert "crawler.testing.news_site" in graph
    users = {name for name, targets in graph.items()
             if not name.startswith("crawler.testing")
             and any(t.startswith("crawler.testing") for t in targets)}
    assert users == set()
