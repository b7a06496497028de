"""Unbonding entries (issue 9 part 6): each request_unstake has its own cooldown, withdraw pays every matured entry,
a ninth concurrent request is refused, and every entry stays slashable until it is withdrawn."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.programs.staking.harness import T0, Env, anchor_error
from tests.programs.staking.units import IO

DAY = 86_400
COOLDOWN = 14 * DAY
MAX_ENTRIES = 8


def setup(env: Env) -> tuple[Keypair, Pubkey, Pubkey]:
    """A node whose operator staked 1,000 IO; returns (operator, its token account, node)."""
    op, _, node = env.register()
    tok = env.token_account(op.pubkey(), 10_000 * IO)
    env.ok(env.stake_ix(op, node, tok, 1_000 * IO), [op])
    return op, tok, node


def entries(env: Env, node: Pubkey, owner: Pubkey) -> list[tuple[int, int, int]]:
    """(amount, shares, unlock_time) of the position's entries in use."""
    p = env.decode(env.client.position(node, owner))
    return [(e.amount, e.shares, e.unlock_time) for e in p.entries[: p.entry_count]]


def unstake(env: Env, owner: Keypair, node: Pubkey, amount: int) -> Any:
    r = env.ok(env.client.request_unstake(owner.pubkey(), node, amount), [owner])
    return env.client.parse_events(r.logs)[0].data


def withdraw(env: Env, owner: Keypair, node: Pubkey, tok: Pubkey) -> Any:
    r = env.ok(env.client.withdraw(owner.pubkey(), node, tok, env.stake_vault), [owner])
    return env.client.parse_events(r.logs)[0].data


class TestSeparateCooldowns:
    def test_a_second_request_does_not_delay_the_first(self, env: Env) -> None:
        op, tok, node = setup(env)
        unstake(env, op, node, 100 * IO)
        env.advance(7 * DAY)
        unstake(env, op, node, 50 * IO)
        assert [e[2] for e in entries(env, node, op.pubkey())] == [T0 + COOLDOWN, T0 + 7 * DAY + COOLDOWN]
        env.advance(7 * DAY)  # the first entry's cooldown is over, the second's is not
        before = env.balance(tok)
        ev = withdraw(env, op, node, tok)
        assert env.balance(tok) - before == 100 * IO
        assert (ev.amount, ev.entries_paid, ev.unbonding_shares, ev.withdrawn_at) == (100 * IO, 1, 100 * IO, env.now)
        assert entries(env, node, op.pubkey()) == [(50 * IO, 50 * IO, T0 + 7 * DAY + COOLDOWN)]
        env.reject(env.client.withdraw(op.pubkey(), node, tok, env.stake_vault), [op], "CooldownNotElapsed")
        env.advance(7 * DAY)
        assert withdraw(env, op, node, tok).amount == 50 * IO
        assert entries(env, node, op.pubkey()) == []
        n = env.decode(node)
        assert (n.unbonding_stake, n.unbonding_shares) == (0, 0)

    def test_cooldown_not_elapsed_logs_now_and_the_earliest_unlock(self, env: Env) -> None:
        op, tok, node = setup(env)
        unstake(env, op, node, IO)
        env.advance(DAY)
        unstake(env, op, node, IO)
        r = env.reject(env.client.withdraw(op.pubkey(), node, tok, env.stake_vault), [op], "CooldownNotElapsed")
        log = anchor_error(r.logs)
        assert log is not None and log.compared == (str(env.now), str(T0 + COOLDOWN))

    def test_withdraw_pays_every_matured_entry_in_one_transfer_and_keeps_the_order_of_the_rest(
        self, env: Env
    ) -> None:
        op, tok, node = setup(env)
        for i in range(5):
            unstake(env, op, node, (i + 1) * IO)
            env.advance(DAY)
        # a shorter cooldown from now on: a later entry can mature before earlier ones
        env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, cooldown_seconds=DAY)), [env.admin])
        unstake(env, op, node, 6 * IO)
        env.advance(COOLDOWN - 4 * DAY)  # entries 0 and 1 matured (14 days), and the short one
        before = env.balance(tok)
        ev = withdraw(env, op, node, tok)
        assert ev.entries_paid == 3 and env.balance(tok) - before == (1 + 2 + 6) * IO == ev.amount
        assert [e[0] for e in entries(env, node, op.pubkey())] == [3 * IO, 4 * IO, 5 * IO]
        p = env.decode(env.client.position(node, op.pubkey()))
        assert all((e.amount, e.shares, e.unlock_time) == (0, 0, 0) for e in p.entries[p.entry_count :])
        assert p.unbonding_shares == sum(e[1] for e in entries(env, node, op.pubkey()))

    def test_nothing_pending(self, env: Env) -> None:
        op, tok, node = setup(env)
        r = env.reject(env.client.withdraw(op.pubkey(), node, tok, env.stake_vault), [op], "NothingPending")
        log = anchor_error(r.logs)
        assert log is not None and log.account == "position"


class TestEntryLimit:
    def test_a_ninth_request_is_refused_until_a_matured_entry_is_withdrawn(self, env: Env) -> None:
        op, tok, node = setup(env)
        for _ in range(MAX_ENTRIES):
            unstake(env, op, node, IO)
            env.advance(60)
        ix = env.client.request_unstake(op.pubkey(), node, IO)
        r = env.reject(ix, [op], "TooManyUnbondingEntries")
        log = anchor_error(r.logs)
        assert log is not None and log.compared == (str(MAX_ENTRIES + 1), str(MAX_ENTRIES))
        env.advance(COOLDOWN - MAX_ENTRIES * 60)  # the first entry has just matured, the others have not
        assert withdraw(env, op, node, tok).entries_paid == 1
        unstake(env, op, node, IO)
        assert len(entries(env, node, op.pubkey())) == MAX_ENTRIES


class TestSlashes:
    def test_every_entry_bears_a_slash_until_withdrawn(self, env: Env) -> None:
        op, tok, node = setup(env)
        d, d_tok = env.wallet()
        env.ok(env.stake_ix(d, node, d_tok, 400 * IO), [d])
        unstake(env, d, node, 100 * IO)
        env.advance(10 * DAY)
        unstake(env, d, node, 100 * IO)  # young entry
        env.advance(4 * DAY)  # the old one matured; it is still slashable until withdrawn
        env.ok(
            env.client.slash(env.slash_authority.pubkey(), node, env.stake_vault, env.slash_destination, 500, 7),
            [env.slash_authority],
        )
        before = env.balance(d_tok)
        ev = withdraw(env, d, node, d_tok)
        assert ev.amount == env.balance(d_tok) - before == 95 * IO  # 5% off the matured entry
        env.advance(10 * DAY)
        assert withdraw(env, d, node, d_tok).amount == 95 * IO  # and 5% off the young one
        n = env.decode(node)
        assert (n.unbonding_stake, n.unbonding_shares) == (0, 0)
        assert env.balance(env.stake_vault) == n.total_stake
