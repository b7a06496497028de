"""Events of the staking program as the decoder stores them, and random but valid histories of them (an independent
small model of the program), for the projection tests and tests/bench/bench_projections.py."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

BPS = 10_000
LIMIT = 2**62  # shares beyond u64 make the program fail with MathOverflow; SQLite holds up to 2**63 - 1


def event(slot: int, sig: str, name: str, fields: dict[str, Any], idx: int = 0) -> dict[str, Any]:
    """A finalized, decoded program event row as the decoder writes it (wide integers as strings)."""
    subject = fields.get("node") or fields.get("wallet") or fields.get("epoch")
    return {
        "signature": sig,
        "ix_path": "0",
        "event_index": idx,
        "slot": slot,
        "block_time": None,
        "program_id": "Prog111",
        "name": name,
        "subject": str(subject),
        "owner": fields.get("owner"),
        "fields": json.dumps({k: str(v) if isinstance(v, int) and k not in SMALL else v for k, v in fields.items()}),
        "raw": "",
        "error": None,
        "status": "finalized",
    }


SMALL = {"gpuUnits", "commissionBps", "slashBps", "reason", "oldBps", "newBps", "entriesPaid", "delegated"}


@dataclass
class Chain:
    """A small independent model of the program that emits the events of a random history, in chain order."""

    rng: random.Random
    slot: int = 1
    now: int = 1_000
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    pools: dict[str, list[int]] = field(default_factory=dict)  # node -> [stake, shares, ub_stake, ub_shares]
    shares: dict[tuple[str, str], int] = field(default_factory=dict)
    entries: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)  # (shares, unlock)
    claimed: dict[str, int] = field(default_factory=dict)
    epoch: int = 0

    def emit(self, name: str, fields: dict[str, Any]) -> None:
        if self.rng.random() < 0.5:  # several events per slot: their order inside the slot is the signature's
            self.slot += 1
            self.now += self.rng.randrange(0, 40)
        self.seq += 1
        self.events.append(event(self.slot, f"sig{self.seq:06d}", name, fields))

    def value(self, shares: int, stake: int, total: int) -> int:
        return 0 if total == 0 else stake if shares == total else shares * stake // total

    def step(self, nodes: list[str], owners: list[str]) -> None:
        node, owner = self.rng.choice(nodes), self.rng.choice(owners)
        pool = self.pools.setdefault(node, [0, 0, 0, 0])
        key = (node, owner)
        op = self.rng.choices(
            ["stake", "unstake", "withdraw", "slash", "commission", "claim", "root"], [30, 20, 15, 8, 4, 5, 3]
        )[0]
        if op == "stake":
            amount = self.rng.randrange(1, 10**6)
            minted = amount if pool[1] == 0 else amount * pool[1] // pool[0] if pool[0] else 0
            if minted == 0 or pool[1] + minted > LIMIT:  # the program refuses it (AmountTooSmall, MathOverflow)
                return
            pool[0] += amount
            pool[1] += minted
            self.shares[key] = self.shares.get(key, 0) + minted
            self.emit(
                "Staked",
                dict(node=node, owner=owner, amount=amount, shares=minted, delegated=True, nodeTotalStake=pool[0]),
            )
        elif op == "unstake" and self.shares.get(key) and len(self.entries.get(key, [])) < 8:
            value = self.value(self.shares[key], pool[0], pool[1])
            amount = self.rng.choice([value, max(1, value // 3)])
            if amount == 0 or amount > value:
                return
            burn = self.shares[key] if amount == value else -(-amount * pool[1] // pool[0])
            if burn == pool[1]:
                amount = pool[0]
            minted = amount if pool[3] == 0 else amount * pool[3] // pool[2] if pool[2] else 0
            if minted == 0 or pool[3] + minted > LIMIT:
                return  # the program refuses it (AmountTooSmall, MathOverflow) and changes nothing
            pool[0] -= amount
            pool[1] -= burn
            self.shares[key] -= burn
            pool[2] += amount
            pool[3] += minted
            unlock = self.now + self.rng.choice([0, 30, 200])
            self.entries.setdefault(key, []).append((minted, unlock))
            self.emit(
                "UnstakeRequested",
                dict(
                    node=node, owner=owner, amount=amount, sharesBurned=burn, unlockTime=unlock, unbondingShares=minted
                ),
            )
        elif op == "withdraw" and self.entries.get(key):
            self.now += self.rng.randrange(0, 100)
            paid = [e for e in self.entries[key] if e[1] <= self.now]
            if not paid:
                return
            shares = sum(e[0] for e in paid)
            pay = self.value(shares, pool[2], pool[3])
            pool[2] -= pay
            pool[3] -= shares
            self.entries[key] = [e for e in self.entries[key] if e[1] > self.now]
            self.emit(
                "Withdrawn",
                dict(
                    node=node,
                    owner=owner,
                    amount=pay,
                    unbondingShares=shares,
                    entriesPaid=len(paid),
                    withdrawnAt=self.now,
                ),
            )
        elif op == "slash":
            bps = self.rng.randrange(1, 600)
            cut = pool[0] * bps // BPS + pool[2] * bps // BPS
            pool[0] -= pool[0] * bps // BPS
            pool[2] -= pool[2] * bps // BPS
            self.emit("Slashed", dict(node=node, slashBps=bps, reason=1, amount=cut))
        elif op == "commission":
            self.emit(
                "CommissionScheduled",
                dict(node=node, oldBps=100, newBps=self.rng.randrange(0, 3000), effectiveAt=self.now + 86_400),
            )
        elif op == "claim":
            self.claimed[owner] = self.claimed.get(owner, 0) + self.rng.randrange(1, 1000)
            self.emit("Claimed", dict(wallet=owner, amount=1, cumulativeAmount=self.claimed[owner]))
        elif op == "root":
            self.epoch += 1
            self.emit(
                "RewardsRootPosted",
                dict(epoch=self.epoch, root="ab" * 32, cumulativeTotal=self.epoch, funding=self.epoch * 10),
            )


def history(seed: int, n: int, nodes: int = 3, owners: int = 5) -> list[dict[str, Any]]:
    """``n`` events (at least) of a random history over ``nodes`` nodes and ``owners`` wallets, in chain order."""
    rng = random.Random(seed)
    chain = Chain(rng)
    node_keys = [f"Node{i}" for i in range(nodes)]
    owner_keys = [f"Owner{i}" for i in range(owners)]
    for node in node_keys:
        fields = dict(node=node, operator=owner_keys[0], nodeKey=node + "key", gpuUnits=1, commissionBps=500)
        chain.emit("NodeRegistered", fields)
    while len(chain.events) < n:
        chain.step(node_keys, owner_keys)
    return chain.events
