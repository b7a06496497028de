"""Attacks on post_rewards_root, claim and slash: each is rejected with its named error, changing nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from backend.money import U64_MAX
from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.harness import Env, with_meta
from tests.programs.staking.units import IO
from tests.programs.staking.world import World, build_world, clone_account, unsigned


@pytest.fixture
def w(env: Env) -> World:
    return build_world(env)


def post(w: World, epoch: int, root: bytes, total: int, funding: int) -> Instruction:
    env = w.env
    return env.client.post_rewards_root(
        env.rewards_authority.pubkey(), env.rewards_funding, env.rewards_vault, epoch, root, total, funding
    )


class TestPostRootAttacks:
    def test_by_non_authority(self, w: World) -> None:
        env = w.env
        ix = env.client.post_rewards_root(
            w.attacker.pubkey(), w.attacker_tok, env.rewards_vault, 2, bytes(32), 50 * IO, 0
        )
        env.reject(ix, [w.attacker], "Unauthorized")

    def test_missing_signer(self, w: World) -> None:
        w.env.reject(unsigned(post(w, 2, bytes(32), 50 * IO, 0), 0), [], "MissingSigner")

    def test_epoch_not_increasing(self, w: World) -> None:
        w.env.reject(post(w, 1, bytes(32), 60 * IO, 10 * IO), [w.env.rewards_authority], "EpochNotIncreasing")

    def test_cumulative_total_decreases(self, w: World) -> None:
        w.env.reject(
            post(w, 2, bytes(32), 50 * IO - 1, 0), [w.env.rewards_authority], "CumulativeTotalDecreased"
        )

    def test_increase_above_cap(self, w: World) -> None:
        env = w.env
        env.ok(
            env.client.update_config(env.admin.pubkey(), replace(env.params, max_epoch_rewards=100 * IO)),
            [env.admin],
        )
        env.reject(
            post(w, 2, bytes(32), 150 * IO + 1, 101 * IO), [env.rewards_authority], "EpochRewardsCapExceeded"
        )

    def test_u64_max_total(self, w: World) -> None:
        w.env.reject(post(w, 2, bytes(32), U64_MAX, 0), [w.env.rewards_authority], "EpochRewardsCapExceeded")

    def test_u64_max_funding(self, w: World) -> None:
        w.env.reject(post(w, 2, bytes(32), 60 * IO, U64_MAX), [w.env.rewards_authority], "InsufficientFunds")

    def test_underfunded_root(self, w: World) -> None:
        w.env.reject(
            post(w, 2, bytes(32), 60 * IO, 10 * IO - 1), [w.env.rewards_authority], "VaultUnderfunded"
        )

    def test_wrong_rewards_vault(self, w: World) -> None:
        env = w.env
        ix = with_meta(post(w, 2, bytes(32), 60 * IO, 10 * IO), 4, pubkey=env.stake_vault)
        env.reject(ix, [env.rewards_authority], "InvalidVault")

    def test_funding_from_the_vault_itself(self, w: World) -> None:
        env = w.env
        ix = with_meta(post(w, 2, bytes(32), 60 * IO, 10 * IO), 3, pubkey=env.rewards_vault)
        env.reject(ix, [env.rewards_authority], "DuplicateAccount")

    def test_funding_of_wrong_mint(self, w: World) -> None:
        env = w.env
        tok = env.token_account(env.rewards_authority.pubkey(), 100 * IO, mint=env.stake_vault)
        ix = with_meta(post(w, 2, bytes(32), 60 * IO, 10 * IO), 3, pubkey=tok)
        env.reject(ix, [env.rewards_authority], "InvalidMint")

    def test_look_alike_distributor(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, env.client.distributor)
        ix = with_meta(post(w, 2, bytes(32), 60 * IO, 10 * IO), 2, pubkey=fake)
        env.reject(ix, [env.rewards_authority], "InvalidPda", watch=(fake,))

    def test_paused(self, w: World) -> None:
        env = w.env
        env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, paused=True)), [env.admin])
        env.reject(post(w, 2, bytes(32), 60 * IO, 10 * IO), [env.rewards_authority], "Paused")


class TestClaimAttacks:
    def _ix(self, w: World, amount: int = 30 * IO, proof: list[bytes] | None = None) -> Instruction:
        env = w.env
        return env.client.claim(
            w.w1.pubkey(), w.w1_tok, env.rewards_vault, amount, w.proof(0) if proof is None else proof
        )

    def test_double_claim(self, w: World) -> None:
        w.env.ok(self._ix(w), [w.w1])
        w.env.reject(self._ix(w), [w.w1], "NothingToClaim")

    def test_lower_amount_after_claim(self, w: World) -> None:
        env = w.env
        env.ok(self._ix(w), [w.w1])
        levels = merkle.build_levels([merkle.leaf_hash(w.w1.pubkey(), 10 * IO)])
        env.ok(post(w, 2, merkle.root_of(levels), 50 * IO, 0), [env.rewards_authority])
        env.reject(self._ix(w, 10 * IO, []), [w.w1], "NothingToClaim")

    def test_proof_of_another_wallet(self, w: World) -> None:
        env = w.env
        ix = env.client.claim(w.attacker.pubkey(), w.attacker_tok, env.rewards_vault, 20 * IO, w.proof(1))
        env.reject(ix, [w.attacker], "InvalidProof")

    def test_other_amount(self, w: World) -> None:
        w.env.reject(self._ix(w, 30 * IO + 1), [w.w1], "InvalidProof")

    def test_u64_max_amount(self, w: World) -> None:
        w.env.reject(self._ix(w, U64_MAX), [w.w1], "InvalidProof")

    def test_zero_amount(self, w: World) -> None:
        w.env.reject(self._ix(w, 0), [w.w1], "InvalidProof")

    def test_proof_longer_than_32(self, w: World) -> None:
        w.env.reject(self._ix(w, proof=[bytes(32)] * 33), [w.w1], "ProofTooLong")

    def test_missing_signer(self, w: World) -> None:
        w.env.reject(unsigned(self._ix(w), 0), [], "MissingSigner")

    def test_to_someone_elses_token_account(self, w: World) -> None:
        env = w.env
        ix = env.client.claim(w.w1.pubkey(), w.attacker_tok, env.rewards_vault, 30 * IO, w.proof(0))
        env.reject(ix, [w.w1], "InvalidTokenAccount")

    def test_to_token_account_of_wrong_mint(self, w: World) -> None:
        env = w.env
        tok = env.token_account(w.w1.pubkey(), mint=env.stake_vault)
        env.reject(
            env.client.claim(w.w1.pubkey(), tok, env.rewards_vault, 30 * IO, w.proof(0)),
            [w.w1],
            "InvalidMint",
        )

    def test_from_the_stake_vault(self, w: World) -> None:
        env = w.env
        ix = env.client.claim(w.w1.pubkey(), w.w1_tok, env.stake_vault, 30 * IO, w.proof(0))
        env.reject(ix, [w.w1], "InvalidVault")

    def test_destination_is_the_vault(self, w: World) -> None:
        env = w.env
        ix = env.client.claim(w.w1.pubkey(), env.rewards_vault, env.rewards_vault, 30 * IO, w.proof(0))
        env.reject(ix, [w.w1], "DuplicateAccount")

    def test_claim_status_of_another_wallet(self, w: World) -> None:
        env = w.env
        env.ok(env.client.claim(w.w2.pubkey(), w.w2_tok, env.rewards_vault, 20 * IO, w.proof(1)), [w.w2])
        ix = with_meta(self._ix(w), 3, pubkey=env.client.claim_status(w.w2.pubkey()))
        env.reject(ix, [w.w1], "InvalidPda")

    def test_look_alike_claim_status(self, w: World) -> None:
        env = w.env
        fake = Keypair().pubkey()
        env.reject(with_meta(self._ix(w), 3, pubkey=fake), [w.w1], "InvalidPda", watch=(fake,))

    def test_paused(self, w: World) -> None:
        env = w.env
        env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, paused=True)), [env.admin])
        env.reject(self._ix(w), [w.w1], "Paused")


class TestSlashAttacks:
    def _ix(self, w: World, bps: int = 100) -> Instruction:
        env = w.env
        return env.client.slash(
            env.slash_authority.pubkey(), w.node, env.stake_vault, env.slash_destination, bps, 1
        )

    def test_above_max(self, w: World) -> None:
        w.env.reject(self._ix(w, 501), [w.env.slash_authority], "SlashTooLarge")

    def test_u16_max(self, w: World) -> None:
        w.env.reject(self._ix(w, 65535), [w.env.slash_authority], "SlashTooLarge")

    def test_zero(self, w: World) -> None:
        w.env.reject(self._ix(w, 0), [w.env.slash_authority], "ZeroAmount")

    def test_by_non_authority(self, w: World) -> None:
        env = w.env
        ix = env.client.slash(w.attacker.pubkey(), w.node, env.stake_vault, env.slash_destination, 100, 1)
        env.reject(ix, [w.attacker], "Unauthorized")

    def test_missing_signer(self, w: World) -> None:
        w.env.reject(unsigned(self._ix(w), 0), [], "MissingSigner")

    def test_destination_not_the_configured_one(self, w: World) -> None:
        env = w.env
        ix = env.client.slash(env.slash_authority.pubkey(), w.node, env.stake_vault, w.attacker_tok, 100, 1)
        env.reject(ix, [env.slash_authority], "InvalidVault")

    def test_vault_and_destination_the_same(self, w: World) -> None:
        env = w.env
        ix = env.client.slash(env.slash_authority.pubkey(), w.node, env.stake_vault, env.stake_vault, 100, 1)
        env.reject(ix, [env.slash_authority], "DuplicateAccount")

    def test_look_alike_node(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, w.node)
        env.reject(with_meta(self._ix(w), 2, pubkey=fake), [env.slash_authority], "InvalidPda", watch=(fake,))

    def test_slash_still_allowed_while_paused(self, w: World) -> None:
        env = w.env
        env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, paused=True)), [env.admin])
        env.ok(self._ix(w), [env.slash_authority])

    def test_pending_unstake_cannot_escape_a_slash(self, w: World) -> None:
        env = w.env
        env.ok(env.client.request_unstake(w.d.pubkey(), w.node, 400 * IO), [w.d])  # all of D's bonded stake
        env.ok(self._ix(w, 500), [env.slash_authority])
        env.advance(14 * 86400)
        before = env.balance(w.d_tok)
        env.ok(env.client.withdraw(w.d.pubkey(), w.node, w.d_tok, env.stake_vault), [w.d])
        assert env.balance(w.d_tok) - before == 475 * IO  # 500 pending, 5% slashed
