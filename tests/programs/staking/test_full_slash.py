"""A full slash can no longer brick a node (issue 9 part 6): max_slash_bps stays below 10000, a slash never leaves
shares without stake, and positions in a pool that is already depleted (state written before the cap) still leave,
for zero, so that the node can take stake again."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount

from backend.chain.staking import ConfigParams, ProgramAccounts
from tests.programs.staking.harness import Env, anchor_error
from tests.programs.staking.test_idl import header_defines
from tests.programs.staking.units import IO

D = header_defines()
COOLDOWN = 14 * 86_400


def patch(env: Env, address: Pubkey, offset: int, value: int, fmt: str = "<Q") -> None:
    """Overwrite a field of an account's data (state the program could not have written)."""
    acc = env.svm.get_account(address)
    assert acc is not None
    data = bytearray(bytes(acc.data))
    struct.pack_into(fmt, data, offset, value)
    env.svm.set_account(address, Account(acc.lamports, bytes(data), acc.owner, acc.executable, acc.rent_epoch))


def set_token_amount(env: Env, address: Pubkey, amount: int) -> None:
    acc = env.svm.get_account(address)
    assert acc is not None
    t = TokenAccount.from_bytes(bytes(acc.data))
    new = TokenAccount(t.mint, t.owner, amount, t.delegate, t.state, t.is_native, t.delegated_amount, t.close_authority)
    env.svm.set_account(address, Account(acc.lamports, bytes(new), acc.owner, False, 0))


def slash_ix(env: Env, node: Pubkey, bps: int) -> object:
    return env.client.slash(env.slash_authority.pubkey(), node, env.stake_vault, env.slash_destination, bps, 1)


class TestSlashCap:
    @pytest.mark.parametrize("bps", [10_000, 10_001, 65_535])
    def test_initialize_refuses_a_full_slash_cap(self, staking_so: object, bps: int) -> None:
        from tests.programs.staking.harness import make_env

        fresh = make_env(staking_so, initialize=False)  # type: ignore[arg-type]
        ix = fresh.client.initialize(
            fresh.admin.pubkey(),
            ProgramAccounts(fresh.mint, fresh.stake_vault, fresh.rewards_vault, fresh.slash_destination),
            fresh.rewards_authority.pubkey(),
            fresh.slash_authority.pubkey(),
            ConfigParams.for_decimals(8, max_slash_bps=bps),
        )
        r = fresh.reject(ix, [fresh.admin], "MaxSlashBpsTooHigh")
        log = anchor_error(r.logs)
        assert log is not None and log.compared == (str(bps), "9999")

    def test_update_config_refuses_10000_and_accepts_9999(self, env: Env) -> None:
        ix = env.client.update_config(env.admin.pubkey(), replace(env.params, max_slash_bps=10_000))
        env.reject(ix, [env.admin], "MaxSlashBpsTooHigh")
        env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, max_slash_bps=9_999)), [env.admin])
        assert env.decode(env.client.config).params.max_slash_bps == 9_999

    def test_a_slash_of_100_percent_is_refused_even_under_an_old_config_that_allows_it(self, env: Env) -> None:
        op, _, node = env.register()
        env.ok(env.stake_ix(op, node, env.token_account(op.pubkey(), 1_000 * IO), 1_000 * IO), [op])
        patch(env, env.client.config, D["CONFIG_OFF_P_MAX_SLASH_BPS"], 10_000, "<H")  # written before the cap
        r = env.reject(slash_ix(env, node, 10_000), [env.slash_authority], "SlashTooLarge")  # type: ignore[arg-type]
        log = anchor_error(r.logs)
        assert log is not None and log.compared == ("10000", "9999")

    @pytest.mark.parametrize("stake", [1, 3, 10_000, 1_000 * IO])
    def test_the_largest_slash_leaves_stake_behind_every_share(self, env: Env, stake: int) -> None:
        env.ok(
            env.client.update_config(
                env.admin.pubkey(), replace(env.params, max_slash_bps=9_999, min_stake_per_gpu=0)
            ),
            [env.admin],
        )
        op, _, node = env.register()
        tok = env.token_account(op.pubkey(), 10_000 * IO)
        env.ok(env.stake_ix(op, node, tok, stake + 1), [op])
        env.ok(env.client.request_unstake(op.pubkey(), node, 1), [op])  # an entry in the unbonding pool too
        for _ in range(3):
            env.ok(slash_ix(env, node, 9_999), [env.slash_authority])  # type: ignore[arg-type]
            n = env.decode(node)
            assert n.total_stake >= 1 and n.unbonding_stake >= 1
        # the node still takes stake (a small amount: at such a share price a large one overflows the u64 shares)
        env.ok(env.stake_ix(op, node, tok, 1), [op])


class TestDepletedPool:
    """A node emptied by a 100% slash before the cap: total_stake 0 (and unbonding_stake 0) with shares left."""

    def depleted(self, env: Env) -> tuple[Keypair, Pubkey, Keypair, Pubkey, Pubkey]:
        op, _, node = env.register()
        op_tok = env.token_account(op.pubkey(), 10_000 * IO)
        env.ok(env.stake_ix(op, node, op_tok, 1_000 * IO), [op])
        d, d_tok = env.wallet()
        env.ok(env.stake_ix(d, node, d_tok, 500 * IO), [d])
        env.ok(env.client.request_unstake(d.pubkey(), node, 100 * IO), [d])
        # what a 100% slash left behind: no stake in either pool (sent to the slash destination), shares unchanged
        n = env.decode(node)
        patch(env, node, D["NODE_OFF_TOTAL_STAKE"], 0)
        patch(env, node, D["NODE_OFF_UNBONDING_STAKE"], 0)
        set_token_amount(env, env.stake_vault, env.balance(env.stake_vault) - n.total_stake - n.unbonding_stake)
        return op, op_tok, d, d_tok, node

    def test_new_stake_waits_for_the_pool_to_empty(self, env: Env) -> None:
        _, _, _, _, node = self.depleted(env)
        w, w_tok = env.wallet()
        env.reject(env.stake_ix(w, node, w_tok, IO), [w], "PoolDepleted")

    def test_positions_leave_for_zero_and_the_node_takes_stake_again(self, env: Env) -> None:
        op, op_tok, d, d_tok, node = self.depleted(env)
        env.reject(env.client.request_unstake(d.pubkey(), node, 1), [d], "InsufficientStake")
        r = env.ok(env.client.request_unstake(d.pubkey(), node, 0), [d])
        ev = env.client.parse_events(r.logs)[0].data
        assert (ev.amount, ev.unbonding_shares) == (0, 0) and ev.shares_burned == 400 * IO
        pos = env.decode(env.client.position(node, d.pubkey()))
        assert pos.shares == 0 and pos.entry_count == 1  # only the entry requested before the slash
        env.advance(COOLDOWN)
        before = env.balance(d_tok)
        ev = env.client.parse_events(env.ok(env.client.withdraw(d.pubkey(), node, d_tok, env.stake_vault), [d]).logs)[0]
        assert ev.data.amount == 0 and ev.data.entries_paid == 1 and env.balance(d_tok) == before
        assert env.decode(env.client.position(node, d.pubkey())).entry_count == 0
        env.ok(env.client.request_unstake(op.pubkey(), node, 0), [op])  # the operator leaves last
        n = env.decode(node)
        assert (n.total_stake, n.total_shares, n.operator_shares, n.unbonding_stake, n.unbonding_shares) == (0,) * 5
        # an empty pool starts over at one share per base unit
        env.ok(env.stake_ix(op, node, op_tok, 300 * IO), [op])
        w, w_tok = env.wallet()
        env.ok(env.stake_ix(w, node, w_tok, 100 * IO), [w])
        assert env.decode(env.client.position(node, w.pubkey())).shares == 100 * IO
        n = env.decode(node)
        assert env.balance(env.stake_vault) == n.total_stake + n.unbonding_stake == 400 * IO

    def test_leaving_for_zero_needs_no_free_entry(self, env: Env) -> None:
        op, _, node = env.register()
        env.ok(env.stake_ix(op, node, env.token_account(op.pubkey(), 1_000 * IO), 1_000 * IO), [op])
        d, d_tok = env.wallet()
        env.ok(env.stake_ix(d, node, d_tok, 500 * IO), [d])
        for _ in range(8):
            env.ok(env.client.request_unstake(d.pubkey(), node, IO), [d])
        patch(env, node, D["NODE_OFF_TOTAL_STAKE"], 0)
        patch(env, node, D["NODE_OFF_UNBONDING_STAKE"], 0)
        env.ok(env.client.request_unstake(d.pubkey(), node, 0), [d])
        pos = env.decode(env.client.position(node, d.pubkey()))
        assert pos.shares == 0 and pos.entry_count == 8

    def test_zero_is_still_refused_for_a_position_worth_something(self, env: Env) -> None:
        op, _, node = env.register()
        env.ok(env.stake_ix(op, node, env.token_account(op.pubkey(), 1_000 * IO), 1_000 * IO), [op])
        env.reject(env.client.request_unstake(op.pubkey(), node, 0), [op], "ZeroAmount")
        w, _ = env.wallet()
        env.reject(env.client.request_unstake(w.pubkey(), node, 0), [w], "InvalidAccountOwner")  # no position
