"""Attacks on initialize, update_config, register_node, stake, request_unstake, withdraw, set_commission and
deactivate_node: each is rejected with its named error and changes no account."""

from __future__ import annotations

from dataclasses import replace

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from backend.chain import ids
from backend.chain.staking import ConfigParams, ProgramAccounts
from backend.money import U64_MAX
from tests.programs.staking.harness import Env, make_env, with_meta
from tests.programs.staking.units import IO
from tests.programs.staking.world import World, build_world, clone_account, unsigned


@pytest.fixture
def w(env: Env) -> World:
    return build_world(env)


def pause(env: Env) -> None:
    env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, paused=True)), [env.admin])


class TestInitializeAttacks:
    def _init_ix(self, env: Env, **kw: object) -> Instruction:
        accs = ProgramAccounts(env.mint, env.stake_vault, env.rewards_vault, env.slash_destination)
        accs = replace(accs, **kw)  # type: ignore[arg-type]
        return env.client.initialize(
            env.admin.pubkey(), accs, env.rewards_authority.pubkey(), env.slash_authority.pubkey(), env.params
        )

    def test_second_initialize(self, env: Env) -> None:
        env.reject(self._init_ix(env), [env.admin], "AccountAlreadyInitialized")

    @pytest.fixture
    def fresh(self, staking_so: object) -> Env:
        return make_env(staking_so, initialize=False)  # type: ignore[arg-type]

    def test_missing_admin_signature(self, fresh: Env) -> None:
        fresh.reject(unsigned(self._init_ix(fresh), 0), [], "MissingSigner")

    def test_same_vault_twice(self, fresh: Env) -> None:
        fresh.reject(self._init_ix(fresh, rewards_vault=fresh.stake_vault), [fresh.admin], "DuplicateAccount")

    def test_vault_of_wrong_mint(self, fresh: Env) -> None:
        other = fresh.token_account(fresh.client.vault_authority, mint=fresh.rewards_funding)
        fresh.reject(self._init_ix(fresh, stake_vault=other), [fresh.admin], "InvalidMint")

    def test_vault_not_owned_by_vault_authority(self, fresh: Env) -> None:
        other = fresh.token_account(fresh.admin.pubkey())
        fresh.reject(self._init_ix(fresh, rewards_vault=other), [fresh.admin], "InvalidTokenAccount")

    def test_look_alike_config_address(self, fresh: Env) -> None:
        ix = with_meta(self._init_ix(fresh), 1, pubkey=Keypair().pubkey())
        fresh.reject(ix, [fresh.admin], "InvalidPda")

    def test_program_account_not_this_program(self, fresh: Env) -> None:
        ix = with_meta(self._init_ix(fresh), 11, pubkey=ids.TOKEN_PROGRAM_ID)
        fresh.reject(ix, [fresh.admin], "InvalidProgram")

    def test_invalid_params(self, fresh: Env) -> None:
        ix = fresh.client.initialize(
            fresh.admin.pubkey(),
            ProgramAccounts(fresh.mint, fresh.stake_vault, fresh.rewards_vault, fresh.slash_destination),
            fresh.rewards_authority.pubkey(),
            fresh.slash_authority.pubkey(),
            ConfigParams.for_decimals(8, max_delegation_bps=10_001),
        )
        fresh.reject(ix, [fresh.admin], "InvalidParams")


class TestConfigAttacks:
    def test_update_by_non_admin(self, w: World) -> None:
        env = w.env
        ix = env.client.update_config(w.attacker.pubkey(), replace(env.params, max_slash_bps=10_000))
        env.reject(ix, [w.attacker], "Unauthorized")

    def test_update_without_signature(self, w: World) -> None:
        env = w.env
        env.reject(unsigned(env.client.update_config(env.admin.pubkey(), env.params), 0), [], "MissingSigner")

    def test_update_with_config_of_wrong_owner(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, env.client.config, owner=ids.SYSTEM_PROGRAM_ID)
        ix = with_meta(env.client.update_config(env.admin.pubkey(), env.params), 1, pubkey=fake)
        env.reject(ix, [env.admin], "InvalidAccountOwner")

    def test_update_with_look_alike_config(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, env.client.config)
        ix = with_meta(env.client.update_config(env.admin.pubkey(), env.params), 1, pubkey=fake)
        env.reject(ix, [env.admin], "InvalidPda", watch=(fake,))

    def test_update_with_negative_cooldown(self, w: World) -> None:
        env = w.env
        env.reject(
            env.client.update_config(env.admin.pubkey(), replace(env.params, cooldown_seconds=-1)),
            [env.admin],
            "InvalidParams",
        )


class TestRegisterAttacks:
    def test_node_key_must_sign(self, w: World) -> None:
        env, nk = w.env, Keypair()
        env.reject(
            unsigned(env.client.register_node(w.attacker.pubkey(), nk.pubkey(), 1, 0), 1),
            [w.attacker],
            "MissingSigner",
        )

    def test_register_twice(self, w: World) -> None:
        env = w.env
        env.reject(
            env.client.register_node(w.attacker.pubkey(), w.node_key.pubkey(), 1, 0),
            [w.attacker, w.node_key],
            "AccountAlreadyInitialized",
        )

    def test_commission_above_max(self, w: World) -> None:
        env, nk = w.env, Keypair()
        env.ok(
            env.client.update_config(env.admin.pubkey(), replace(env.params, max_commission_bps=2000)),
            [env.admin],
        )
        env.reject(
            env.client.register_node(w.attacker.pubkey(), nk.pubkey(), 1, 2001),
            [w.attacker, nk],
            "CommissionTooHigh",
        )

    def test_zero_gpu_units(self, w: World) -> None:
        env, nk = w.env, Keypair()
        env.reject(
            env.client.register_node(w.attacker.pubkey(), nk.pubkey(), 0, 0),
            [w.attacker, nk],
            "InvalidGpuUnits",
        )

    def test_operator_and_node_key_the_same_account(self, w: World) -> None:
        env = w.env
        env.reject(
            env.client.register_node(w.attacker.pubkey(), w.attacker.pubkey(), 1, 0),
            [w.attacker],
            "DuplicateAccount",
        )

    def test_paused(self, w: World) -> None:
        env, nk = w.env, Keypair()
        pause(env)
        env.reject(
            env.client.register_node(w.attacker.pubkey(), nk.pubkey(), 1, 0), [w.attacker, nk], "Paused"
        )


class TestStakeAttacks:
    def test_missing_signer(self, w: World) -> None:
        env = w.env
        env.reject(unsigned(env.stake_ix(w.d, w.node, w.d_tok, IO), 0), [], "MissingSigner")

    def test_zero_amount(self, w: World) -> None:
        w.env.reject(w.env.stake_ix(w.d, w.node, w.d_tok, 0), [w.d], "ZeroAmount")

    def test_u64_max_amount(self, w: World) -> None:
        w.env.reject(w.env.stake_ix(w.d, w.node, w.d_tok, U64_MAX), [w.d], "InsufficientFunds")

    def test_overflowing_pool(self, w: World) -> None:
        env = w.env
        rich = env.new_keypair()
        tok = env.token_account(rich.pubkey(), U64_MAX)
        env.reject(env.stake_ix(rich, w.node, tok, U64_MAX), [rich], "MathOverflow")

    def test_source_of_wrong_mint(self, w: World) -> None:
        env = w.env
        tok = env.token_account(w.d.pubkey(), 10_000 * IO, mint=env.rewards_funding)
        env.reject(env.stake_ix(w.d, w.node, tok, IO), [w.d], "InvalidMint")

    def test_source_owned_by_someone_else(self, w: World) -> None:
        env = w.env
        env.reject(env.stake_ix(w.attacker, w.node, w.d_tok, IO), [w.attacker], "InvalidTokenAccount")

    def test_wrong_stake_vault(self, w: World) -> None:
        env = w.env
        fake_vault = env.token_account(env.client.vault_authority)
        ix = env.client.stake(w.d.pubkey(), w.node, w.d_tok, fake_vault, IO)
        env.reject(ix, [w.d], "InvalidVault", watch=(fake_vault,))

    def test_source_is_the_vault(self, w: World) -> None:
        env = w.env
        ix = env.client.stake(w.d.pubkey(), w.node, env.stake_vault, env.stake_vault, IO)
        env.reject(ix, [w.d], "DuplicateAccount")

    def test_position_of_another_node(self, w: World) -> None:
        env = w.env
        ix = with_meta(
            env.stake_ix(w.d, w.node_b, w.d_tok, IO), 3, pubkey=env.client.position(w.node, w.d.pubkey())
        )
        env.reject(ix, [w.d], "InvalidPda")

    def test_look_alike_node(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, w.node)
        ix = with_meta(env.stake_ix(w.d, w.node, w.d_tok, IO), 2, pubkey=fake)
        env.reject(ix, [w.d], "InvalidPda", watch=(fake,))

    def test_node_owned_by_another_program(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, w.node, owner=ids.TOKEN_PROGRAM_ID)
        ix = with_meta(env.stake_ix(w.d, w.node, w.d_tok, IO), 2, pubkey=fake)
        env.reject(ix, [w.d], "InvalidAccountOwner", watch=(fake,))

    def test_fake_token_program(self, w: World) -> None:
        env = w.env
        ix = with_meta(env.stake_ix(w.d, w.node, w.d_tok, IO), 6, pubkey=ids.ASSOCIATED_TOKEN_PROGRAM_ID)
        env.reject(ix, [w.d], "InvalidProgram")

    def test_delegation_beyond_cap(self, w: World) -> None:
        # node A: 1,000 operator + 400 delegated bonded; 50% cap allows at most 1,000 delegated
        env = w.env
        env.reject(
            env.stake_ix(w.attacker, w.node, w.attacker_tok, 601 * IO), [w.attacker], "DelegationCapExceeded"
        )
        env.ok(env.stake_ix(w.attacker, w.node, w.attacker_tok, 600 * IO), [w.attacker])

    def test_delegation_to_node_below_operator_minimum(self, w: World) -> None:
        env = w.env
        op, _, node = env.register(gpu_units=2)
        tok = env.token_account(op.pubkey(), 1_000 * IO)
        env.ok(env.stake_ix(op, node, tok, 399 * IO), [op])
        env.reject(env.stake_ix(w.attacker, node, w.attacker_tok, IO), [w.attacker], "BelowMinimumStake")

    def test_deactivated_node(self, w: World) -> None:
        env = w.env
        env.ok(env.client.deactivate_node(w.op.pubkey(), w.node), [w.op])
        env.reject(env.stake_ix(w.d, w.node, w.d_tok, IO), [w.d], "NodeNotActive")

    def test_paused(self, w: World) -> None:
        pause(w.env)
        w.env.reject(w.env.stake_ix(w.d, w.node, w.d_tok, IO), [w.d], "Paused")

    def test_malformed_instruction_data(self, w: World) -> None:
        ix = w.env.stake_ix(w.d, w.node, w.d_tok, IO)
        bad = Instruction(ix.program_id, bytes(ix.data)[:-1], ix.accounts)
        w.env.reject(bad, [w.d], "InvalidInstruction")


class TestUnstakeAttacks:
    def test_missing_signer(self, w: World) -> None:
        env = w.env
        env.reject(unsigned(env.client.request_unstake(w.d.pubkey(), w.node, IO), 0), [], "MissingSigner")

    def test_zero_amount(self, w: World) -> None:
        w.env.reject(w.env.client.request_unstake(w.d.pubkey(), w.node, 0), [w.d], "ZeroAmount")

    def test_u64_max_amount(self, w: World) -> None:
        w.env.reject(w.env.client.request_unstake(w.d.pubkey(), w.node, U64_MAX), [w.d], "InsufficientStake")

    def test_more_than_the_position(self, w: World) -> None:
        w.env.reject(
            w.env.client.request_unstake(w.d.pubkey(), w.node, 400 * IO + 1), [w.d], "InsufficientStake"
        )

    def test_someone_elses_position(self, w: World) -> None:
        env = w.env
        ix = with_meta(
            env.client.request_unstake(w.attacker.pubkey(), w.node, IO),
            3,
            pubkey=env.client.position(w.node, w.d.pubkey()),
        )
        env.reject(ix, [w.attacker], "InvalidPda")

    def test_operator_below_delegation_cap(self, w: World) -> None:
        # bonded: operator 1,000, delegated 400 -> operator must keep >= 400
        env = w.env
        env.reject(
            env.client.request_unstake(w.op.pubkey(), w.node, 601 * IO), [w.op], "DelegationCapExceeded"
        )

    def test_operator_below_minimum_stake(self, w: World) -> None:
        env = w.env
        env.ok(
            env.client.update_config(env.admin.pubkey(), replace(env.params, min_stake_per_gpu=900 * IO)),
            [env.admin],
        )
        env.reject(env.client.request_unstake(w.op.pubkey(), w.node, 101 * IO), [w.op], "BelowMinimumStake")

    def test_paused(self, w: World) -> None:
        pause(w.env)
        w.env.reject(w.env.client.request_unstake(w.d.pubkey(), w.node, IO), [w.d], "Paused")


class TestWithdrawAttacks:
    def _ix(self, w: World) -> Instruction:
        return w.env.client.withdraw(w.d.pubkey(), w.node, w.d_tok, w.env.stake_vault)

    def test_early_withdraw(self, w: World) -> None:
        w.env.advance(14 * 86400 - 1)
        w.env.reject(self._ix(w), [w.d], "CooldownNotElapsed")

    def test_double_withdraw(self, w: World) -> None:
        w.env.advance(14 * 86400)
        w.env.ok(self._ix(w), [w.d])
        w.env.reject(self._ix(w), [w.d], "NothingPending")

    def test_nothing_requested(self, w: World) -> None:
        env = w.env
        env.reject(
            env.client.withdraw(w.op.pubkey(), w.node, w.op_tok, env.stake_vault), [w.op], "NothingPending"
        )

    def test_missing_signer(self, w: World) -> None:
        w.env.advance(14 * 86400)
        w.env.reject(unsigned(self._ix(w), 0), [], "MissingSigner")

    def test_to_someone_elses_token_account(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        ix = env.client.withdraw(w.d.pubkey(), w.node, w.attacker_tok, env.stake_vault)
        env.reject(ix, [w.d], "InvalidTokenAccount")

    def test_to_token_account_of_wrong_mint(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        tok = env.token_account(w.d.pubkey(), mint=env.rewards_funding)
        env.reject(env.client.withdraw(w.d.pubkey(), w.node, tok, env.stake_vault), [w.d], "InvalidMint")

    def test_from_the_rewards_vault(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        env.reject(
            env.client.withdraw(w.d.pubkey(), w.node, w.d_tok, env.rewards_vault), [w.d], "InvalidVault"
        )

    def test_destination_is_the_vault(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        ix = env.client.withdraw(w.d.pubkey(), w.node, env.stake_vault, env.stake_vault)
        env.reject(ix, [w.d], "DuplicateAccount")

    def test_look_alike_vault_authority(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        env.reject(with_meta(self._ix(w), 6, pubkey=Keypair().pubkey()), [w.d], "InvalidPda")

    def test_position_through_another_node(self, w: World) -> None:
        env = w.env
        env.advance(14 * 86400)
        ix = with_meta(
            env.client.withdraw(w.d.pubkey(), w.node_b, w.d_tok, env.stake_vault),
            3,
            pubkey=env.client.position(w.node, w.d.pubkey()),
        )
        env.reject(ix, [w.d], "InvalidPda")

    def test_paused(self, w: World) -> None:
        w.env.advance(14 * 86400)
        pause(w.env)
        w.env.reject(self._ix(w), [w.d], "Paused")


class TestCommissionAttacks:
    def test_above_max(self, w: World) -> None:
        env = w.env
        env.ok(
            env.client.update_config(env.admin.pubkey(), replace(env.params, max_commission_bps=2000)),
            [env.admin],
        )
        env.reject(env.client.set_commission(w.op.pubkey(), w.node, 2001), [w.op], "CommissionTooHigh")

    def test_u16_max(self, w: World) -> None:
        w.env.reject(w.env.client.set_commission(w.op.pubkey(), w.node, 65535), [w.op], "CommissionTooHigh")

    def test_second_increase_before_notice(self, w: World) -> None:
        env = w.env
        env.ok(env.client.set_commission(w.op.pubkey(), w.node, 1500), [w.op])
        env.advance(86400 - 1)
        env.reject(env.client.set_commission(w.op.pubkey(), w.node, 1600), [w.op], "CommissionChangePending")
        assert env.decode(w.node).commission_bps == 1000  # the increase is not in force yet

    def test_by_non_operator(self, w: World) -> None:
        env = w.env
        env.reject(env.client.set_commission(w.attacker.pubkey(), w.node, 0), [w.attacker], "Unauthorized")

    def test_missing_signer(self, w: World) -> None:
        env = w.env
        env.reject(unsigned(env.client.set_commission(w.op.pubkey(), w.node, 0), 0), [], "MissingSigner")

    def test_paused(self, w: World) -> None:
        pause(w.env)
        w.env.reject(w.env.client.set_commission(w.op.pubkey(), w.node, 0), [w.op], "Paused")


class TestDeactivateAttacks:
    def test_by_non_operator(self, w: World) -> None:
        env = w.env
        env.reject(env.client.deactivate_node(w.attacker.pubkey(), w.node), [w.attacker], "Unauthorized")

    def test_twice(self, w: World) -> None:
        env = w.env
        env.ok(env.client.deactivate_node(w.op.pubkey(), w.node), [w.op])
        env.reject(env.client.deactivate_node(w.op.pubkey(), w.node), [w.op], "NodeNotActive")

    def test_missing_signer(self, w: World) -> None:
        env = w.env
        env.reject(unsigned(env.client.deactivate_node(w.op.pubkey(), w.node), 0), [], "MissingSigner")

    def test_look_alike_node(self, w: World) -> None:
        env = w.env
        fake = clone_account(env, w.node)
        ix = with_meta(env.client.deactivate_node(w.op.pubkey(), w.node), 2, pubkey=fake)
        env.reject(ix, [w.op], "InvalidPda", watch=(fake,))

    def test_paused(self, w: World) -> None:
        pause(w.env)
        w.env.reject(w.env.client.deactivate_node(w.op.pubkey(), w.node), [w.op], "Paused")

    def test_operator_may_leave_fully_after_deactivation(self, w: World) -> None:
        env = w.env
        env.ok(env.client.deactivate_node(w.op.pubkey(), w.node), [w.op])
        env.ok(env.client.request_unstake(w.op.pubkey(), w.node, 1_000 * IO), [w.op])


class TestPreFundedAddresses:
    """Lamports sent to a PDA before it exists must not block its creation forever."""

    def test_stake_opens_a_pre_funded_position(self, w: World) -> None:
        env = w.env
        pos = env.client.position(w.node, w.attacker.pubkey())
        env.svm.airdrop(pos, 1_000)
        env.ok(env.stake_ix(w.attacker, w.node, w.attacker_tok, 10 * IO), [w.attacker])
        assert env.decode(pos).shares == 10 * IO

    def test_claim_opens_a_pre_funded_claim_status(self, w: World) -> None:
        env = w.env
        status = env.client.claim_status(w.w1.pubkey())
        env.svm.airdrop(status, 10**9)  # more than the rent minimum
        env.ok(env.client.claim(w.w1.pubkey(), w.w1_tok, env.rewards_vault, 30 * IO, w.proof(0)), [w.w1])
        assert env.decode(status).claimed == 30 * IO

    def test_register_a_pre_funded_node(self, w: World) -> None:
        env, nk = w.env, Keypair()
        env.svm.airdrop(env.client.node(nk.pubkey()), 1)
        env.ok(env.client.register_node(w.attacker.pubkey(), nk.pubkey(), 1, 0), [w.attacker, nk])
