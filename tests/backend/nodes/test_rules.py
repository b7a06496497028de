"""The pre-check rules agree with the staking program: random operations on the real program (LiteSVM, the
built .so) with the rules' prediction checked before each one; and the delegation room is never above the limit."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.chain.staking import ConfigParams, error_names
from backend.nodes import rules
from tests.programs.staking.harness import Env, make_env
from tests.programs.staking.units import IO

BPS = 10_000


class TestDelegationRoom:
    @settings(max_examples=400, deadline=None)
    @given(
        stake=st.integers(1, 10**15),
        price_den=st.integers(0, 1000),
        op_frac=st.integers(1, 1000),
        cap=st.integers(0, 9_999),
        gpus=st.integers(1, 8),
    )
    def test_room_passes_and_is_close_to_the_limit(
        self, stake: int, price_den: int, op_frac: int, cap: int, gpus: int
    ) -> None:
        """A delegation of exactly the room passes the program's check; 2 x 10000 / (10000 - cap) + 2 more does
        not (the room is never above the limit, and below it only by the operator's rounding gain)."""
        shares = stake + stake * price_den // 1000  # a share is worth <= 1 base unit (slashes only lower it)
        op_shares = max(1, shares * op_frac // 1000)
        pool = rules.Pool(stake, shares, op_shares)
        op_value = rules.share_value(op_shares, stake, shares)
        delegated = stake - op_value
        if delegated * BPS > stake * cap:  # the pool already breaks the cap: no state the program allows
            return
        room = rules.delegation_room(stake, op_value, True, gpus, 0, cap)
        if room > 0:
            assert rules.check_stake(pool, room, False, gpus, 0, cap) in (None, "AmountTooSmall")
        beyond = room + 2 * (-(-BPS // (BPS - cap))) + 2
        assert rules.check_stake(pool, beyond, False, gpus, 0, cap) in ("DelegationCapExceeded", "MathOverflow")

    def test_no_room_below_the_operator_minimum_or_when_inactive(self) -> None:
        assert rules.delegation_room(1_000, 1_000, True, 2, 600, 5_000) == 0  # needs 1,200
        assert rules.delegation_room(1_000, 1_000, False, 1, 0, 5_000) == 0
        assert rules.delegation_room(1_000, 1_000, True, None, 0, 5_000) == 0
        assert rules.delegation_room(1_000, 1_000, True, 1, 1_000, 5_000) == 1_000  # 50% cap: as much again

    def test_full_cap_is_no_cap(self) -> None:
        assert rules.delegation_room(10, 10, True, 1, 0, BPS) == 2**64 - 1 - 10


def _names() -> dict[int, str]:
    return error_names()


class Sim:
    """Random stake / request_unstake / withdraw / deactivate on the program, each predicted by the rules."""

    def __init__(self, env: Env, rng: random.Random) -> None:
        self.env, self.rng = env, rng
        self.nodes = []
        for gpus in (1, 2):
            op, _nk, node = env.register(gpu_units=gpus)
            tok = env.token_account(op.pubkey(), 100_000 * IO)
            self.nodes.append((op, tok, node, gpus))
        self.delegators = [env.wallet(100_000 * IO) for _ in range(3)]
        self.checked = {"stake": 0, "request_unstake": 0, "withdraw": 0}
        self.outcomes: set[tuple[str, str | None]] = set()

    def _accounts(self, node: object, owner: object) -> tuple[object, object | None]:
        n = self.env.decode(node)  # type: ignore[arg-type]
        pos_addr = self.env.client.position(node, owner)  # type: ignore[arg-type]
        return n, (self.env.decode(pos_addr) if self.env.data(pos_addr) else None)

    def step(self) -> None:
        env, rng, p = self.env, self.rng, self.env.params
        op, op_tok, node, gpus = rng.choice(self.nodes)
        who, tok = rng.choice([(op, op_tok), *self.delegators])
        n, pos = self._accounts(node, who.pubkey())
        pool = rules.Pool(n.total_stake, n.total_shares, n.operator_shares)
        is_op = who.pubkey() == op.pubkey()
        kind = rng.choice(["stake", "stake", "request_unstake", "withdraw", "advance"] + (["deactivate"] * is_op))
        if kind == "advance":
            env.advance(rng.choice([60, p.cooldown_seconds]))
            return
        if kind == "deactivate":
            if rng.random() < 0.05:
                env.send(env.client.deactivate_node(op.pubkey(), node), [op])
            return
        if kind == "stake":
            amount = rng.choice([0, 1, IO, 100 * IO, 300 * IO, 2_000 * IO, rng.randint(1, 5_000 * IO)])
            if n.status != 0:
                expected = "NodeNotActive"
            elif amount == 0:
                expected = "ZeroAmount"
            elif env.balance(tok) < amount:
                expected = "InsufficientFunds"
            else:
                expected = rules.check_stake(pool, amount, is_op, gpus, p.min_stake_per_gpu, p.max_delegation_bps)
            ix = env.stake_ix(who, node, tok, amount)
        elif kind == "request_unstake":
            if pos is None:
                return
            value = rules.share_value(pos.shares, n.total_stake, n.total_shares)
            amount = rng.choice([0, value, max(1, value // 2), value + 1, 1])
            expected = rules.check_unstake(
                pool, pos.shares, amount, is_op, n.status == 0, (n.unbonding_stake, n.unbonding_shares), gpus,
                p.min_stake_per_gpu, p.max_delegation_bps, pos.entry_count,
            )  # fmt: skip
            ix = env.client.request_unstake(who.pubkey(), node, amount)
        else:
            if pos is None:
                return
            entries = [(e.shares, e.unlock_time) for e in pos.entries[: pos.entry_count]]
            if pos.entry_count == 0:
                expected = "NothingPending"
            elif not any(env.now >= unlock for _shares, unlock in entries):
                expected = "CooldownNotElapsed"
            else:
                expected = None
            ix = env.client.withdraw(who.pubkey(), node, tok, env.stake_vault)
        r = env.send(ix, [who])
        got = None if r.ok else _names().get(r.error_code, r.error)
        assert got == expected, f"{kind}: rules predicted {expected}, the program said {got}\n" + "\n".join(r.logs[-4:])
        self.checked[kind] += 1
        self.outcomes.add((kind, got))


@pytest.mark.parametrize("seed", [1, 2])
def test_rules_predict_the_program(staking_so: Path, seed: int) -> None:
    params = ConfigParams.for_decimals(8, cooldown_seconds=3_600, max_delegation_bps=5_000)
    sim = Sim(make_env(staking_so, params), random.Random(seed))
    for _ in range(250):
        sim.step()
    assert all(v > 10 for v in sim.checked.values()), sim.checked
    # the run reached the interesting refusals, not only successes
    reached = {name for _kind, name in sim.outcomes}
    assert {"DelegationCapExceeded", "BelowMinimumStake", "InsufficientStake", "CooldownNotElapsed"} <= reached, reached
