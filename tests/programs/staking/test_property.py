"""Random sequences of operations across several nodes and wallets; invariants checked after each one.

- stake vault balance == sum over nodes of bonded + unbonding stake
- rewards vault >= cumulative total posted - total claimed
- every position's withdrawals + current value <= deposits - its pro-rata share of slashes (+ up to 2 base
  units of rounding per operation on its node: share rounding favours the pool, so holders who stay gain dust)
- a rejected operation changes no account, and is rejected only with an error the situation allows
- unbonding entries: the chain holds exactly the entries the model expects (each request appends one with its own
  unlock time, each withdraw removes exactly the matured ones and pays exactly their value); every entry's shares
  are in its node's unbonding pool (node unbonding shares == sum of all entries' shares), so a slash reaches every
  entry until it is withdrawn; the stake vault == bonded + every entry (both pools of every node)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain.staking import ConfigParams, error_names
from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.harness import Env, TxResult, make_env
from tests.programs.staking.units import IO

N_OPS = 320
Entry = tuple[int, int, int]  # amount, shares, unlock_time
N_NODES = 3
N_WALLETS = 5
COOLDOWN = 3 * 86400


@dataclass
class PosModel:
    deposited: int = 0
    withdrawn: int = 0
    loss: Fraction = Fraction(0)


@dataclass
class Model:
    positions: dict[tuple[int, int], PosModel] = field(default_factory=dict)
    node_ops: dict[int, int] = field(default_factory=dict)
    lifetime: list[int] = field(default_factory=lambda: [0] * N_WALLETS)
    posted: list[int] = field(default_factory=lambda: [0] * N_WALLETS)
    claimed: list[int] = field(default_factory=lambda: [0] * N_WALLETS)
    epoch: int = 0
    levels: list[list[bytes]] | None = None
    slashed: int = 0
    entries: dict[tuple[int, int], list[Entry]] = field(default_factory=dict)
    most_entries: int = 0  # most entries one position held at once
    most_paid: int = 0  # most entries one withdraw paid


class Sim:
    """Drives the program and the model side by side."""

    def __init__(self, env: Env, rng: random.Random) -> None:
        self.env, self.rng, self.m = env, rng, Model()
        self.ops: list[Keypair] = []
        self.nodes: list[Pubkey] = []
        self.wallets: list[tuple[Keypair, Pubkey]] = [env.wallet(100_000 * IO) for _ in range(N_WALLETS)]
        for i in range(N_NODES):
            op, tok = self.wallets[i]  # wallets 0..2 operate nodes 0..2 and may delegate elsewhere
            _, _, node = env.register(gpu_units=1 + i % 2, commission_bps=500, operator=op)
            self.ops.append(op)
            self.nodes.append(node)
        self.watch = [
            env.stake_vault,
            env.rewards_vault,
            env.slash_destination,
            env.client.config,
            env.client.distributor,
            *self.nodes,
            *(t for _, t in self.wallets),
            *(env.client.position(n, k.pubkey()) for n in self.nodes for k, _ in self.wallets),
            *(env.client.claim_status(k.pubkey()) for k, _ in self.wallets),
        ]

    # -- helpers -------------------------------------------------------------------------------
    def send(self, ix: object, signers: list[Keypair], allowed: set[str]) -> TxResult | None:
        """The result when the transaction succeeded, None when it was rejected with an allowed error."""
        before = self.env.snapshot(self.watch)
        r = self.env.send(ix, signers)  # type: ignore[arg-type]
        if r.ok:
            return r
        name = error_names().get(r.error_code or -1, r.error)
        assert name in allowed, f"unexpected {name}\n" + "\n".join(r.logs[-5:])
        assert self.env.snapshot(self.watch) == before
        return None

    def chain_entries(self, n: int, w: int) -> list[Entry]:
        addr = self.env.client.position(self.nodes[n], self.wallets[w][0].pubkey())
        if self.env.data(addr) is None:
            return []
        p = self.env.decode(addr)
        return [(e.amount, e.shares, e.unlock_time) for e in p.entries[: p.entry_count]]

    def node_state(self, n: int) -> object:
        return self.env.decode(self.nodes[n])

    def position_value(self, n: int, w: int) -> tuple[Fraction, Fraction]:
        addr = self.env.client.position(self.nodes[n], self.wallets[w][0].pubkey())
        if self.env.data(addr) is None:
            return Fraction(0), Fraction(0)
        p, s = self.env.decode(addr), self.node_state(n)
        b = Fraction(p.shares * s.total_stake, s.total_shares) if s.total_shares else Fraction(0)
        u = (
            Fraction(p.unbonding_shares * s.unbonding_stake, s.unbonding_shares)
            if s.unbonding_shares
            else Fraction(0)
        )
        return b, u

    def pick(self) -> tuple[int, int]:
        """A (node, wallet) pair: mostly one that has a position, sometimes any."""
        if self.m.positions and self.rng.random() < 0.85:
            return self.rng.choice(sorted(self.m.positions))
        return self.rng.randrange(N_NODES), self.rng.randrange(N_WALLETS)

    def bump(self, n: int) -> None:
        self.m.node_ops[n] = self.m.node_ops.get(n, 0) + 1

    # -- operations ----------------------------------------------------------------------------
    def op_stake(self) -> None:
        n, w = self.rng.randrange(N_NODES), self.rng.randrange(N_WALLETS)
        amount = self.rng.choice([1, IO, self.rng.randrange(1, 800 * IO)])
        k, tok = self.wallets[w]
        ok = self.send(
            self.env.stake_ix(k, self.nodes[n], tok, amount),
            [k],
            {
                "DelegationCapExceeded",
                "BelowMinimumStake",
                "NodeNotActive",
                "Paused",
                "AmountTooSmall",
                "InsufficientFunds",
            },
        )
        if ok:
            self.m.positions.setdefault((n, w), PosModel()).deposited += amount
            self.bump(n)

    def op_unstake(self) -> None:
        n, w = self.pick()
        bonded, _ = self.position_value(n, w)
        value = int(bonded)
        amount = self.rng.choice([value, value + 1, max(1, value // 3), 1, 0])
        k, _ = self.wallets[w]
        r = self.send(
            self.env.client.request_unstake(k.pubkey(), self.nodes[n], amount),
            [k],
            {
                "InsufficientStake",
                "DelegationCapExceeded",
                "BelowMinimumStake",
                "Paused",
                "ZeroAmount",
                "InvalidAccountOwner",
                "TooManyUnbondingEntries",
            },
        )
        if r:
            ev = self.env.client.parse_events(r.logs)[0].data
            assert ev.amount <= amount or amount == value, "unstaked more than asked (only the pool's last holder may)"
            if ev.amount:  # a request worth nothing leaves without an entry
                assert ev.unlock_time == self.env.now + COOLDOWN
                self.m.entries.setdefault((n, w), []).append((ev.amount, ev.unbonding_shares, ev.unlock_time))
            else:
                assert ev.unbonding_shares == 0
            self.bump(n)

    def op_withdraw(self) -> None:
        n, w = self.pick()
        k, tok = self.wallets[w]
        before = self.env.balance(tok)
        model = self.m.entries.get((n, w), [])
        matured = [e for e in model if e[2] <= self.env.now]
        s = self.node_state(n)
        paid_shares = sum(e[1] for e in matured)
        expected = (
            s.unbonding_stake
            if paid_shares == s.unbonding_shares
            else paid_shares * s.unbonding_stake // s.unbonding_shares if s.unbonding_shares else 0
        )
        r = self.send(
            self.env.client.withdraw(k.pubkey(), self.nodes[n], tok, self.env.stake_vault),
            [k],
            {"NothingPending", "CooldownNotElapsed", "Paused", "InvalidAccountOwner"},
        )
        if r is None:
            cfg = self.env.decode(self.env.client.config)
            assert cfg.params.paused or not matured, "a matured entry was not paid"
        if r:
            # exactly the matured entries, at exactly their value, and the others keep their order
            assert matured, "paid an entry before its unlock time"
            ev = self.env.client.parse_events(r.logs)[0].data
            assert (ev.entries_paid, ev.unbonding_shares, ev.amount) == (len(matured), paid_shares, expected)
            assert self.env.balance(tok) - before == expected
            self.m.most_paid = max(self.m.most_paid, len(matured))
            self.m.entries[(n, w)] = [e for e in model if e[2] > self.env.now]
            pm = self.m.positions[(n, w)]
            pm.withdrawn += self.env.balance(tok) - before
            self.bump(n)
            slack = 4 * self.m.node_ops.get(n, 0)
            assert pm.withdrawn <= pm.deposited, "withdrew more than was put in"
            assert pm.withdrawn <= pm.deposited - pm.loss + slack, "withdrew more than deposits minus slashes"

    def op_slash(self) -> None:
        n, bps = self.rng.randrange(N_NODES), self.rng.randint(1, 500)
        s = self.node_state(n)
        for w in range(N_WALLETS):
            if (n, w) in self.m.positions:
                b, u = self.position_value(n, w)
                cut_b = Fraction(s.total_stake * bps // 10_000, s.total_stake) if s.total_stake else 0
                cut_u = (
                    Fraction(s.unbonding_stake * bps // 10_000, s.unbonding_stake) if s.unbonding_stake else 0
                )
                self.m.positions[(n, w)].loss += b * cut_b + u * cut_u
        env = self.env
        before = env.balance(env.slash_destination)
        ub_before = s.unbonding_stake  # type: ignore[attr-defined]
        assert self.send(
            env.client.slash(
                env.slash_authority.pubkey(), self.nodes[n], env.stake_vault, env.slash_destination, bps, 1
            ),
            [env.slash_authority],
            set(),
        )
        self.m.slashed += env.balance(env.slash_destination) - before
        # every entry of the node is in its unbonding pool (check()), so every one bears this cut
        assert self.node_state(n).unbonding_stake == ub_before - ub_before * bps // 10_000  # type: ignore[attr-defined]
        self.bump(n)

    def op_post_root(self) -> None:
        new = [
            t + (self.rng.randrange(0, 50 * IO) if self.rng.random() < 0.6 else 0) for t in self.m.lifetime
        ]
        levels = merkle.build_levels(
            [merkle.leaf_hash(k.pubkey(), new[i]) for i, (k, _) in enumerate(self.wallets)]
        )
        env = self.env
        dist = env.decode(env.client.distributor)
        need = sum(new) - dist.total_claimed - env.balance(env.rewards_vault)
        funding = max(0, need) + self.rng.choice([0, 0, IO])
        ok = self.send(
            env.client.post_rewards_root(
                env.rewards_authority.pubkey(),
                env.rewards_funding,
                env.rewards_vault,
                self.m.epoch + 1,
                merkle.root_of(levels),
                sum(new),
                funding,
            ),
            [env.rewards_authority],
            {"Paused"},
        )
        if ok:
            self.m.epoch += 1
            self.m.levels = levels
            self.m.lifetime = self.m.posted = new

    def op_claim(self) -> None:
        if self.m.levels is None:
            return
        w = self.rng.randrange(N_WALLETS)
        k, tok = self.wallets[w]
        amount = self.m.posted[w]
        ix = self.env.client.claim(
            k.pubkey(), tok, self.env.rewards_vault, amount, merkle.proof_for(self.m.levels, w)
        )
        if self.send(ix, [k], {"NothingToClaim", "Paused"}):
            self.m.claimed[w] = amount

    def op_commission(self) -> None:
        n = self.rng.randrange(N_NODES)
        ok = self.send(
            self.env.client.set_commission(self.ops[n].pubkey(), self.nodes[n], self.rng.randrange(0, 3000)),
            [self.ops[n]],
            {"CommissionChangePending", "Paused"},
        )
        if ok:
            self.bump(n)

    def op_deactivate(self) -> None:
        n = self.rng.randrange(N_NODES)
        self.send(
            self.env.client.deactivate_node(self.ops[n].pubkey(), self.nodes[n]),
            [self.ops[n]],
            {"NodeNotActive", "Paused"},
        )

    def op_pause(self) -> None:
        cfg = self.env.decode(self.env.client.config)
        self.env.ok(
            self.env.client.update_config(
                self.env.admin.pubkey(), replace(self.env.params, paused=not cfg.params.paused)
            ),
            [self.env.admin],
        )

    def op_time(self) -> None:
        # mostly short steps, so that positions hold several entries of different ages at once
        step = 2 * COOLDOWN if self.rng.random() < 0.3 else COOLDOWN // 4
        self.env.advance(self.rng.randrange(0, step))

    # -- invariants ----------------------------------------------------------------------------
    def check(self) -> None:
        env = self.env
        nodes = [self.node_state(n) for n in range(N_NODES)]
        assert env.balance(env.stake_vault) == sum(s.total_stake + s.unbonding_stake for s in nodes)
        dist = env.decode(env.client.distributor)
        assert env.balance(env.rewards_vault) >= dist.cumulative_total - dist.total_claimed
        deposited = sum(p.deposited for p in self.m.positions.values())
        withdrawn = sum(p.withdrawn for p in self.m.positions.values())
        assert deposited == withdrawn + self.m.slashed + env.balance(env.stake_vault)
        assert dist.total_claimed == sum(self.m.claimed)
        for n, s in enumerate(nodes):
            shares = unbonding = 0
            for w in range(N_WALLETS):
                chain = self.chain_entries(n, w)
                assert chain == self.m.entries.get((n, w), []), f"entries of ({n}, {w})"
                assert len(chain) <= 8
                self.m.most_entries = max(self.m.most_entries, len(chain))
                addr = env.client.position(self.nodes[n], self.wallets[w][0].pubkey())
                if env.data(addr) is not None:
                    p = env.decode(addr)
                    assert p.unbonding_shares == sum(e[1] for e in chain)
                    shares += p.shares
                unbonding += sum(e[1] for e in chain)
            assert (s.total_shares, s.unbonding_shares) == (shares, unbonding), f"pools of node {n}"
        for (n, w), pm in self.m.positions.items():
            b, u = self.position_value(n, w)
            slack = 2 * self.m.node_ops.get(n, 0) + 2
            assert pm.withdrawn + b + u <= pm.deposited - pm.loss + slack, (
                f"position ({n}, {w}) is worth more than its deposits minus its slashes"
            )


OPS = [
    ("stake", 30),
    ("unstake", 22),
    ("withdraw", 16),
    ("slash", 6),
    ("post_root", 6),
    ("claim", 10),
    ("commission", 5),
    ("deactivate", 1),
    ("pause", 2),
    ("time", 12),
]


@pytest.mark.parametrize("seed", [11, 22, 33, 44, 55])
def test_random_operation_sequences_keep_invariants(staking_so: Path, seed: int) -> None:
    env = make_env(staking_so, ConfigParams.for_decimals(8, cooldown_seconds=COOLDOWN))
    rng = random.Random(seed)
    sim = Sim(env, rng)
    names, weights = zip(*OPS, strict=False)
    counts: dict[str, int] = {}
    for _ in range(N_OPS):
        name = rng.choices(names, weights)[0]
        counts[name] = counts.get(name, 0) + 1
        getattr(sim, f"op_{name}")()
        sim.check()
    assert sum(counts.values()) >= 300
    withdrawn = sum(p.withdrawn for p in sim.m.positions.values())
    assert withdrawn > 0 and sim.m.slashed > 0 and sum(sim.m.claimed) > 0, (
        "the sequence exercised too little",
        counts,
        withdrawn,
    )
    assert sim.m.most_entries >= 2 and sim.m.most_paid >= 2, (sim.m.most_entries, sim.m.most_paid)
