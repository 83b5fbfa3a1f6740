"""The dependency rules hold: no import cycles between modules."""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    modules = sorted(graph.modules)
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in modules:
        if module not in state:
            visit(module)
    return found


def test_no_import_cycles() -> None:
    graph = grimp.build_graph("safezone", cache_dir=None)
    assert _cycles(graph) == []


def test_the_protocol_library_imports_nothing_else_of_ours() -> None:
    graph = grimp.build_graph("safezone", cache_dir=None)
    en_modules = {m for m in graph.modules if m == "safezone.en" or m.startswith("safezone.en.")}
    for module in en_modules:
        for target in graph.find_modules_directly_imported_by(module):
            assert target in en_modules, f"{module} imports {target}"
