"""safezone.device imports nothing of ours but safezone.en -- including domains added later.

The import-linter contract in pyproject.toml forbids today's packages by name; this test
states the rule as an allow-list, so a new domain cannot slip in unnoticed.
"""

from __future__ import annotations

import grimp


def test_device_imports_only_the_protocol_library() -> None:
    graph = grimp.build_graph("safezone")
    ours = set()
    for module in graph.find_children("safezone.device") | {"safezone.device"}:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == "safezone" or imported.startswith("safezone."):
                ours.add(imported)
    outside = {
        m
        for m in ours
        if not m.startswith(("safezone.en.", "safezone.device."))
        and m not in ("safezone.en", "safezone.device")
    }
    assert outside == set()
    assert "safezone.en.device" in ours  # the test sees real imports
