"""The import graph of our packages has no circle, and the composition root registers a job for
every job the app enqueues and a sender for every kind of outbox row it writes.

grimp sees every import import-linter sees plus the ones inside functions and under
``TYPE_CHECKING``; a circle hidden in function-local imports fails here too."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "services", "ocr", "storage", "workflows")


def circles(graph: grimp.ImportGraph) -> list[set[str]]:
    """The strongly connected components of more than one module."""
    found: list[set[str]] = []
    seen: set[str] = set()
    for module in sorted(graph.modules):
        if module in seen:
            continue
        component = {module} | (graph.find_upstream_modules(module) & graph.find_downstream_modules(module))
        seen |= component
        if len(component) > 1:
            found.append(component)
    return found


def describe(graph: grimp.ImportGraph, component: set[str]) -> str:
    first, *rest = sorted(component)
    lines = [f"{len(component)} modules: {', '.join(sorted(component))}"]
    for other in rest[:3]:
        there = graph.find_shortest_chain(importer=first, imported=other) or ()
        back = graph.find_shortest_chain(importer=other, imported=first) or ()
        lines.append(f"  {' -> '.join(there)}  and back  {' -> '.join(back)}")
    return "\n".join(lines)


def test_no_import_circle_in_our_packages() -> None:
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False)
    found = circles(graph)
    assert not found, "import circles (see docs/architecture.md):\n" + "\n".join(
        describe(graph, component) for component in found
    )


def test_the_circle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert circles(graph) == [{"pkg.a", "pkg.b"}]


def _literal_calls(attribute: str, position: int, receiver: str | None = None) -> set[str]:
    """String literals passed at ``position`` to ``<receiver>.<attribute>(...)`` anywhere in bot/
    or services/."""
    found: set[str] = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != attribute or len(node.args) <= position:
                continue
            if receiver is not None and not (
                isinstance(node.func.value, ast.Name) and node.func.value.id == receiver
            ):
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add(arg.value)
    return found


def test_every_enqueued_job_and_every_outbox_kind_is_registered_by_the_wiring() -> None:
    from bot import delivery, jobs, wiring

    wiring.wire()
    enqueued = _literal_calls("enqueue", 0)
    kinds = _literal_calls("add", 1, receiver="outbox")
    assert {"read_receipt", "crm_writeback"} <= enqueued  # the scan finds the calls
    assert {"card", "dm", "approval_request", "digest", "digest_files"} <= kinds
    assert enqueued <= set(jobs.registry()), enqueued - set(jobs.registry())
    assert kinds <= set(delivery.senders()), kinds - set(delivery.senders())
    wiring.wire()  # idempotent
    assert set(jobs.registry()) >= enqueued
