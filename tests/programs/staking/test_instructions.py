"""Every instruction's success path, called through the anchorpy-built client against the real .so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backend.chain.staking import STATUS_DEACTIVATED, ConfigParams
from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.harness import T0, Env
from tests.programs.staking.units import IO


def events(env: Env, logs: list[str]) -> list[str]:
    return [e.name for e in env.client.parse_events(logs)]


class TestInitialize:
    def test_config_records_vaults_authorities_and_params(self, env: Env) -> None:
        cfg = env.decode(env.client.config)
        assert cfg.admin == env.admin.pubkey()
        assert cfg.rewards_authority == env.rewards_authority.pubkey()
        assert cfg.slash_authority == env.slash_authority.pubkey()
        assert cfg.io_mint == env.mint
        assert cfg.stake_vault == env.stake_vault
        assert cfg.rewards_vault == env.rewards_vault
        assert cfg.slash_destination == env.slash_destination
        assert cfg.params.min_stake_per_gpu == 200 * IO
        assert cfg.params.max_delegation_bps == 5000
        assert cfg.params.cooldown_seconds == 14 * 86400
        dist = env.decode(env.client.distributor)
        assert (dist.latest_epoch, dist.cumulative_total, dist.total_claimed, dist.roots_posted) == (
            0,
            0,
            0,
            0,
        )

    def test_update_config_changes_params_and_emits_event(self, env: Env) -> None:
        new = replace(env.params, cooldown_seconds=3600, max_slash_bps=1000)
        r = env.ok(env.client.update_config(env.admin.pubkey(), new), [env.admin])
        assert events(env, r.logs) == ["ConfigUpdated"]
        cfg = env.decode(env.client.config)
        assert cfg.params.cooldown_seconds == 3600 and cfg.params.max_slash_bps == 1000


class TestNodeLifecycle:
    def test_register_node_creates_node(self, env: Env) -> None:
        op, nk, node = env.register(gpu_units=4, commission_bps=700)
        n = env.decode(node)
        assert n.operator == op.pubkey() and n.node_key == nk.pubkey()
        assert (n.gpu_units, n.commission_bps, n.status, n.registered_at) == (4, 700, 0, T0)
        acc = env.svm.get_account(node)
        assert acc is not None and acc.lamports == env.svm.minimum_balance_for_rent_exemption(len(acc.data))

    def test_stake_by_operator_then_delegator(self, env: Env) -> None:
        op, _, node = env.register(gpu_units=1)
        op_tok = env.token_account(op.pubkey(), 1_000 * IO)
        r = env.ok(env.stake_ix(op, node, op_tok, 300 * IO), [op])
        ev = env.client.parse_events(r.logs)
        assert [e.name for e in ev] == ["Staked"] and ev[0].data.delegated is False
        d, d_tok = env.wallet(1_000 * IO)
        r = env.ok(env.stake_ix(d, node, d_tok, 200 * IO), [d])
        ev = env.client.parse_events(r.logs)
        assert ev[0].data.delegated is True and ev[0].data.node_total_stake == 500 * IO
        n = env.decode(node)
        assert (n.total_stake, n.total_shares, n.operator_shares) == (500 * IO, 500 * IO, 300 * IO)
        assert env.balance(env.stake_vault) == 500 * IO
        assert env.balance(d_tok) == 800 * IO
        pos = env.decode(env.client.position(node, d.pubkey()))
        assert pos.shares == 200 * IO and pos.owner == d.pubkey() and pos.node == node

    def test_request_unstake_then_withdraw_after_cooldown(self, env: Env) -> None:
        op, _, node = env.register()
        tok = env.token_account(op.pubkey(), 1_000 * IO)
        env.ok(env.stake_ix(op, node, tok, 500 * IO), [op])
        r = env.ok(env.client.request_unstake(op.pubkey(), node, 200 * IO), [op])
        ev = env.client.parse_events(r.logs)[0]
        assert ev.name == "UnstakeRequested" and ev.data.unlock_time == T0 + 14 * 86400
        assert ev.data.unbonding_shares == 200 * IO
        pos = env.decode(env.client.position(node, op.pubkey()))
        assert pos.entry_count == 1 and pos.unbonding_shares == 200 * IO
        e = pos.entries[0]
        assert (e.amount, e.shares, e.unlock_time) == (200 * IO, 200 * IO, T0 + 14 * 86400)
        env.advance(14 * 86400)
        r = env.ok(env.client.withdraw(op.pubkey(), node, tok, env.stake_vault), [op])
        ev = env.client.parse_events(r.logs)[0]
        assert ev.name == "Withdrawn" and ev.data.amount == 200 * IO
        assert (ev.data.unbonding_shares, ev.data.entries_paid, ev.data.withdrawn_at) == (200 * IO, 1, env.now)
        pos = env.decode(env.client.position(node, op.pubkey()))
        assert pos.entry_count == 0 and pos.unbonding_shares == 0 and pos.entries[0].shares == 0
        assert env.balance(tok) == 700 * IO and env.balance(env.stake_vault) == 300 * IO
        n = env.decode(node)
        assert (n.total_stake, n.unbonding_stake, n.unbonding_shares) == (300 * IO, 0, 0)

    def test_commission_decrease_is_immediate_increase_waits_for_notice(self, env: Env) -> None:
        op, _, node = env.register(commission_bps=1000)
        r = env.ok(env.client.set_commission(op.pubkey(), node, 800), [op])
        assert events(env, r.logs) == ["CommissionScheduled"]
        assert env.decode(node).commission_bps == 800
        r = env.ok(env.client.set_commission(op.pubkey(), node, 1500), [op])
        ev = env.client.parse_events(r.logs)[0]
        assert ev.data.effective_at == T0 + 86400
        n = env.decode(node)
        assert (n.commission_bps, n.pending_commission_bps) == (800, 1500)
        env.advance(86400)
        env.ok(env.client.set_commission(op.pubkey(), node, 2000), [op])  # matured 1500, schedules 2000
        n = env.decode(node)
        assert (n.commission_bps, n.pending_commission_bps) == (1500, 2000)

    def test_deactivate_node(self, env: Env) -> None:
        op, _, node = env.register()
        r = env.ok(env.client.deactivate_node(op.pubkey(), node), [op])
        assert events(env, r.logs) == ["NodeDeactivated"]
        assert env.decode(node).status == STATUS_DEACTIVATED

    def test_slash_cuts_bonded_and_unbonding_pro_rata(self, env: Env) -> None:
        op, _, node = env.register()
        tok = env.token_account(op.pubkey(), 1_000 * IO)
        env.ok(env.stake_ix(op, node, tok, 1_000 * IO), [op])
        env.ok(env.client.request_unstake(op.pubkey(), node, 400 * IO), [op])
        r = env.ok(
            env.client.slash(
                env.slash_authority.pubkey(), node, env.stake_vault, env.slash_destination, 500, 7
            ),
            [env.slash_authority],
        )
        ev = env.client.parse_events(r.logs)[0]
        assert ev.name == "Slashed" and ev.data.amount == 50 * IO and ev.data.reason == 7
        n = env.decode(node)
        assert (n.total_stake, n.unbonding_stake, n.slashed_total) == (570 * IO, 380 * IO, 50 * IO)
        assert env.balance(env.slash_destination) == 50 * IO
        env.advance(14 * 86400)
        env.ok(env.client.withdraw(op.pubkey(), node, tok, env.stake_vault), [op])
        assert env.balance(tok) == 380 * IO  # the pending unstake was slashed too


class TestRewards:
    def test_post_root_and_claim_single_leaf(self, env: Env) -> None:
        w, w_tok = env.wallet(0)
        root = merkle.leaf_hash(w.pubkey(), 25 * IO)
        r = env.ok(
            env.client.post_rewards_root(
                env.rewards_authority.pubkey(),
                env.rewards_funding,
                env.rewards_vault,
                1,
                root,
                25 * IO,
                25 * IO,
            ),
            [env.rewards_authority],
        )
        ev = env.client.parse_events(r.logs)[0]
        assert ev.name == "RewardsRootPosted" and bytes(ev.data.root) == root
        r = env.ok(env.client.claim(w.pubkey(), w_tok, env.rewards_vault, 25 * IO, []), [w])
        ev = env.client.parse_events(r.logs)[0]
        assert ev.name == "Claimed" and ev.data.amount == 25 * IO
        assert env.balance(w_tok) == 25 * IO
        assert env.decode(env.client.claim_status(w.pubkey())).claimed == 25 * IO
        assert env.decode(env.client.distributor).total_claimed == 25 * IO

    def test_cumulative_claims_pay_only_the_difference(self, env: Env) -> None:
        wallets = [env.wallet(0) for _ in range(5)]
        amounts = [10 * IO * (i + 1) for i in range(5)]
        levels = merkle.build_levels(
            [merkle.leaf_hash(k.pubkey(), a) for (k, _), a in zip(wallets, amounts, strict=False)]
        )
        env.ok(
            env.client.post_rewards_root(
                env.rewards_authority.pubkey(),
                env.rewards_funding,
                env.rewards_vault,
                1,
                merkle.root_of(levels),
                sum(amounts),
                sum(amounts),
            ),
            [env.rewards_authority],
        )
        k, tok = wallets[3]
        env.ok(
            env.client.claim(k.pubkey(), tok, env.rewards_vault, amounts[3], merkle.proof_for(levels, 3)), [k]
        )
        # epoch 2: wallet 3 earns 7 IO more
        amounts2 = list(amounts)
        amounts2[3] += 7 * IO
        levels2 = merkle.build_levels(
            [merkle.leaf_hash(k2.pubkey(), a) for (k2, _), a in zip(wallets, amounts2, strict=False)]
        )
        env.ok(
            env.client.post_rewards_root(
                env.rewards_authority.pubkey(),
                env.rewards_funding,
                env.rewards_vault,
                2,
                merkle.root_of(levels2),
                sum(amounts2),
                7 * IO,
            ),
            [env.rewards_authority],
        )
        env.ok(
            env.client.claim(k.pubkey(), tok, env.rewards_vault, amounts2[3], merkle.proof_for(levels2, 3)),
            [k],
        )
        assert env.balance(tok) == amounts2[3]
        dist = env.decode(env.client.distributor)
        assert (dist.latest_epoch, dist.roots_posted, dist.total_claimed) == (2, 2, amounts2[3])
        assert env.balance(env.rewards_vault) == sum(amounts2) - amounts2[3]


def test_default_params_match_the_issue() -> None:
    p = ConfigParams.for_decimals(8)
    assert (p.min_stake_per_gpu, p.max_delegation_bps, p.cooldown_seconds) == (200 * IO, 5000, 14 * 86400)
    assert (p.max_commission_bps, p.commission_notice_seconds, p.max_slash_bps) == (10000, 86400, 500)


class TestCrossChecks:
    def test_rewards_engine_tree_is_accepted_on_chain(self, env: Env) -> None:
        engine_merkle = pytest.importorskip("backend.rewards.merkle")
        wallets = [env.wallet(0) for _ in range(7)]
        totals = {bytes(k.pubkey()): (i + 1) * 3 * IO for i, (k, _) in enumerate(wallets)}
        leaves = {engine_merkle.leaf_hash(wb, amt): wb for wb, amt in totals.items()}
        tree = engine_merkle.MerkleTree(list(leaves))
        env.ok(
            env.client.post_rewards_root(
                env.rewards_authority.pubkey(),
                env.rewards_funding,
                env.rewards_vault,
                1,
                tree.root,
                sum(totals.values()),
                sum(totals.values()),
            ),
            [env.rewards_authority],
        )
        for k, tok in wallets:
            leaf = engine_merkle.leaf_hash(bytes(k.pubkey()), totals[bytes(k.pubkey())])
            index = tree.levels[0].index(leaf)
            env.ok(
                env.client.claim(
                    k.pubkey(), tok, env.rewards_vault, totals[bytes(k.pubkey())], tree.proof(index)
                ),
                [k],
            )
            assert env.balance(tok) == totals[bytes(k.pubkey())]
        assert env.balance(env.rewards_vault) == 0

    def test_reject_helper_fails_on_the_wrong_error(self, env: Env) -> None:
        op, _, node = env.register()
        with pytest.raises(AssertionError, match="expected Paused, got NodeNotActive"):
            env.ok(env.client.deactivate_node(op.pubkey(), node), [op])
            env.reject(env.client.deactivate_node(op.pubkey(), node), [op], "Paused")
