"""No import cycle among the project's modules (docs/architecture.md, "Layers").

``lint-imports`` checks the direction of imports between apps; this checks that no group
of modules imports itself round in a circle, inside an app or across apps. Every import
counts, including one inside a function: a function-level import hides a cycle from
Python's import machinery, not from the design. The packages are the ones import-linter
analyses (``root_packages`` in pyproject.toml), read by grimp, which import-linter uses.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def project_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["root_packages"])


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each group of modules that import one another in a circle (the strongly connected
    components of more than one module, or a module importing itself), sorted."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0

    # Tarjan's algorithm, iteratively (a deep import chain must not hit the recursion limit).
    for start in sorted(graph.modules):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = []
        index[start] = lowlink[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        work.append((start, sorted(graph.find_modules_directly_imported_by(start))))
        while work:
            module, pending = work[-1]
            if pending:
                target = pending.pop(0)
                if target not in index:
                    index[target] = lowlink[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, sorted(graph.find_modules_directly_imported_by(target))))
                elif target in on_stack:
                    lowlink[module] = min(lowlink[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[module])
            if lowlink[module] == index[module]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == module:
                        break
                if len(group) > 1 or graph.direct_import_exists(importer=module, imported=module):
                    groups.append(sorted(group))
    return sorted(groups)


def describe(graph: grimp.ImportGraph, group: list[str]) -> str:
    """The imports that hold a cycle together, with their line numbers."""
    members = set(group)
    lines = [f"{len(group)} modules: {', '.join(group)}"]
    for importer in group:
        for imported in sorted(graph.find_modules_directly_imported_by(importer) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            where = ", ".join(f"l.{d['line_number']}" for d in details)
            lines.append(f"    {importer} -> {imported} ({where})")
    return "\n".join(lines)


def test_the_cycle_finder_finds_cycles_and_only_cycles() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("app.a", "app.b"),
        ("app.b", "app.c"),
        ("app.c", "app.a"),  # a -> b -> c -> a
        ("app.c", "app.d"),  # d is imported by the cycle but not part of it
        ("other.x", "other.y"),
        ("other.y", "other.x"),  # a second cycle, in another package
        ("app.e", "app.d"),
    ]:
        graph.add_import(importer=importer, imported=imported, line_number=1, line_contents="")

    cycles = import_cycles(graph)

    assert cycles == [["app.a", "app.b", "app.c"], ["other.x", "other.y"]]
    assert "app.c -> app.a (l.1)" in describe(graph, cycles[0])


def test_no_import_cycles_among_the_project_modules() -> None:
    graph = grimp.build_graph(*project_packages(), cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "Import cycles (break each by moving a concept down or inverting it):\n" + (
        "\n".join(describe(graph, group) for group in cycles)
    )
