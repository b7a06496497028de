"""Compare the database with the chain: token-account flows vs balances, node projections vs Node accounts,
position projections (shares and unbonding entries) vs StakePosition accounts."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, case, func, select

from indexer.config import IndexerConfig
from indexer.errors import MalformedEvent
from indexer.pipeline import Indexer
from indexer.projections import ENTRIES, NODES, POSITIONS, rebuild_all
from indexer.store import FINALIZED, TRANSFERS


@dataclass
class Item:
    """One comparison."""

    name: str
    db: Any
    chain: Any

    @property
    def ok(self) -> bool:
        """Whether both sides agree."""
        return bool(self.db == self.chain)


@dataclass
class Report:
    """All comparisons."""

    items: list[Item] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every comparison agrees."""
        return all(i.ok for i in self.items)


def net_flow(engine: Engine, account: str) -> int:
    """Finalized, successful transfers in minus out of ``account``, in base units."""
    t = TRANSFERS
    amount = case((t.c.destination == account, t.c.amount), else_=-t.c.amount)
    with engine.connect() as conn:
        v = conn.execute(
            select(func.coalesce(func.sum(amount), 0)).where(
                (t.c.destination == account) | (t.c.source == account),
                t.c.failed.is_(False),
                t.c.status == FINALIZED,
            )
        ).scalar_one()
    return int(v)


async def reconcile(engine: Engine, cfg: IndexerConfig, indexer: Indexer, *, repair: bool) -> Report:
    """Run the checks; with ``repair``, first catch up and rebuild projections from events."""
    rpc = indexer.rpc
    try:
        if repair:
            await indexer.backfill_all()
            with engine.begin() as conn:
                rebuild_all(conn)
        report = Report()
        for addr in cfg.addresses:
            if addr == cfg.program_id:
                continue
            bal = await rpc.call("getTokenAccountBalance", [addr, {"commitment": FINALIZED}])
            chain = int(bal["value"]["amount"])
            # Token accounts may hold funds that did not arrive by transfer (mintTo at bootstrap): the
            # comparison is chain balance vs flows, so such an account reports its untracked remainder.
            report.items.append(Item(f"balance {cfg.labels.get(addr, '')} {addr[:8]}", net_flow(engine, addr), chain))
        coder = indexer.ctx.events
        if cfg.program_id and coder is not None and "Node" in coder.accounts:
            report.items.extend(await _program_checks(engine, rpc, cfg.program_id, coder))
        return report
    finally:
        await rpc.aclose()


NODE_FIELDS = {
    "total_stake": "totalStake",
    "total_shares": "totalShares",
    "unbonding_stake": "unbondingStake",
    "unbonding_shares": "unbondingShares",
    "slashed_total": "slashedTotal",
}
POSITION_FIELDS = {"shares": "shares", "unbonding_shares": "unbondingShares"}


async def _program_checks(engine: Engine, rpc: Any, program_id: str, coder: Any) -> list[Item]:
    """Node and StakePosition accounts (getProgramAccounts, decoded with the IDL) vs the projections."""
    accs = await rpc.call("getProgramAccounts", [program_id, {"encoding": "base64", "commitment": FINALIZED}])
    chain_nodes: dict[str, dict[str, Any]] = {}
    chain_pos: dict[tuple[str, str], dict[str, Any]] = {}
    for a in accs:
        try:
            data = base64.b64decode(a["account"]["data"][0])
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        for name in ("Node", "StakePosition"):
            try:
                acc = coder.decode_account(name, data)
            except MalformedEvent:
                continue
            if name == "Node":
                chain_nodes[a["pubkey"]] = acc
            else:
                chain_pos[(acc["node"], acc["owner"])] = acc
    with engine.connect() as conn:
        db_nodes = {r.node: r for r in conn.execute(select(NODES))}
        db_pos = {(r.node, r.owner): r for r in conn.execute(select(POSITIONS))}
        db_entries: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
        for e in conn.execute(select(ENTRIES)):
            db_entries.setdefault((e.node, e.owner), []).append((int(e.amount), int(e.shares), int(e.unlock_time)))
    items = [Item("nodes", sorted(db_nodes), sorted(chain_nodes))]
    for key, n in sorted(chain_nodes.items()):
        row = db_nodes.get(key)
        db_vals = {col: getattr(row, col) for col in NODE_FIELDS} if row else None
        items.append(Item(f"node {key[:8]}", db_vals, {col: int(n[f]) for col, f in NODE_FIELDS.items()}))
    # Positions closed on chain may remain in the projection with zero shares.
    live_db = {k for k, r in db_pos.items() if r.shares or r.unbonding_shares}
    live_chain = {k for k, p in chain_pos.items() if int(p["shares"]) or int(p["unbondingShares"])}
    items.append(Item("positions", len(live_db), len(live_chain)))
    for pkey in sorted(live_chain):
        r = db_pos.get(pkey)
        pos_vals: dict[str, Any] | None = {col: getattr(r, col) for col in POSITION_FIELDS} if r else None
        chain = chain_pos[pkey]
        chain_vals: dict[str, Any] = {col: int(chain[f]) for col, f in POSITION_FIELDS.items()}
        # Unbonding entries as (amount, shares, unlock_time), sorted: requests of one slot may be stored in
        # another order than the chain's.
        if pos_vals is not None:
            pos_vals["entries"] = sorted(db_entries.get(pkey, []))
        chain_vals["entries"] = sorted(
            (int(e["amount"]), int(e["shares"]), int(e["unlockTime"]))
            for e in chain.get("entries", [])[: int(chain.get("entryCount", 0))]
        )
        items.append(Item(f"position {pkey[0][:6]}/{pkey[1][:6]}", pos_vals, chain_vals))
    return items
