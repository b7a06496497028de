"""The layering rules of the code base (WAVE2.md), checked on the real import graph with grimp.

- localnet/ is the node alone: it imports nothing of backend/ or indexer/;
- indexer/ imports no localnet code, and of backend/ only config, db (and its migrations and process locks),
  models, chain, errors and money;
- backend/ imports no indexer or localnet code, except the composition root (backend/cli.py, backend/runner.py);
- backend/rewards/ is pure: no database, no ORM models, no chain I/O.

Imports inside functions count too (grimp reads them all).
"""

from __future__ import annotations

import grimp
import pytest

COMPOSITION_ROOT = {"backend.cli", "backend.runner"}
# backend.migrate is the database's schema (the indexer migrates before it writes).
INDEXER_MAY_USE = (
    "backend.config",
    "backend.db",
    "backend.locks",
    "backend.migrate",
    "backend.models",
    "backend.chain",
    "backend.errors",
    "backend.money",
)
# What "no database and no chain I/O" means for the rewards engine: solders' pure types remain allowed.
REWARDS_FORBIDDEN = ("sqlalchemy", "backend.db", "backend.models", "backend.chain", "solana", "httpx", "anchorpy")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("backend", "indexer", "localnet", include_external_packages=True)


def _imports(graph: grimp.ImportGraph, package: str) -> list[tuple[str, str]]:
    """Every (importer, imported) pair whose importer is inside ``package``."""
    pairs = []
    for module in graph.find_children(package) | {package} | graph.find_descendants(package):
        for imported in graph.find_modules_directly_imported_by(module):
            pairs.append((module, imported))
    return pairs


def _inside(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_localnet_stands_alone(graph: grimp.ImportGraph) -> None:
    bad = [(a, b) for a, b in _imports(graph, "localnet") if _inside(b, ("backend", "indexer"))]
    assert bad == []


def test_indexer_uses_only_the_backend_foundation(graph: grimp.ImportGraph) -> None:
    bad = [
        (a, b)
        for a, b in _imports(graph, "indexer")
        if _inside(b, "localnet") or (_inside(b, "backend") and not _inside(b, INDEXER_MAY_USE))
    ]
    assert bad == []


def test_backend_imports_indexer_and_localnet_only_in_the_composition_root(graph: grimp.ImportGraph) -> None:
    bad = [
        (a, b)
        for a, b in _imports(graph, "backend")
        if _inside(b, ("indexer", "localnet")) and a not in COMPOSITION_ROOT
    ]
    assert bad == []


def test_rewards_engine_is_pure(graph: grimp.ImportGraph) -> None:
    bad = [(a, b) for a, b in _imports(graph, "backend.rewards") if _inside(b, REWARDS_FORBIDDEN)]
    assert bad == []


def test_the_checks_see_a_violation() -> None:
    """The helper really flags a cross import (guards against a check that cannot fail)."""
    g = grimp.ImportGraph()
    for m in ("localnet", "localnet.node", "backend", "backend.config"):
        g.add_module(m)
    g.add_import(importer="localnet.node", imported="backend.config")
    assert [(a, b) for a, b in _imports(g, "localnet") if _inside(b, "backend")] == [
        ("localnet.node", "backend.config")
    ]
