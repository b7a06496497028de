"""Attacks tried in the security review of the C program, pinned as regression tests.

None of them succeeded against the reviewed code; each test fails if a later change reopens the hole:
- any account of any instruction passed in two roles at once (account aliasing);
- any account slot filled with another real account of the same program state (other node, other position,
  the other vault, the distributor, a token account of another wallet, ...);
- the share-price inflation attack: a sole holder (the operator of a slashed node) alternating stake and
  partial unstake to push the value of one share up, so that a later delegator's floor-rounded share mint
  loses them most of a share's value. The share math keeps every pool at <= 1 base unit per share
  (stake <= shares: minting floors, burning ceils, and neither can cross 1 from below), so a delegator loses
  at most 2 base units to rounding;
- blocking `initialize` forever by sending lamports to the Config / Distributor PDAs first.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain import ids
from backend.chain.staking import ConfigParams, ProgramAccounts
from tests.programs.staking.harness import Env, make_env, with_meta
from tests.programs.staking.test_attack_matrix import NAMES, valid_call
from tests.programs.staking.units import IO
from tests.programs.staking.world import World, build_world


@pytest.fixture
def w(env: Env) -> World:
    world = build_world(env)
    # the pending unstake of the world becomes withdrawable: every valid call succeeds
    world.env.advance(14 * 86400)
    return world


def send_rejected(env: Env, ix: Instruction, signers: list[Keypair], watch: list[Pubkey]) -> str:
    """Send `ix` signed by whichever of `signers` it still names; assert it fails and changes nothing."""
    keys = {m.pubkey for m in ix.accounts if m.is_signer}
    watched = list(dict.fromkeys([m.pubkey for m in ix.accounts] + watch))
    before = env.snapshot(watched)
    r = env.send(ix, [s for s in signers if s.pubkey() in keys])
    assert not r.ok, "the substituted call was accepted:\n" + "\n".join(r.logs[-8:])
    assert env.snapshot(watched) == before, "a rejected instruction changed an account"
    return r.error or ""


def world_accounts(w: World) -> list[Pubkey]:
    """Every account of the populated state that an attacker could pass in some slot."""
    env, c = w.env, w.env.client
    return [
        w.node,
        w.node_b,
        c.position(w.node, w.op.pubkey()),
        c.position(w.node, w.d.pubkey()),
        c.position(w.node_b, w.op_b.pubkey()),
        c.claim_status(w.w1.pubkey()),
        env.stake_vault,
        env.rewards_vault,
        env.slash_destination,
        env.rewards_funding,
        c.config,
        c.distributor,
        c.vault_authority,
        w.op_tok,
        w.d_tok,
        w.w1_tok,
        w.attacker_tok,
        env.mint,
        ids.TOKEN_PROGRAM_ID,
        ids.SYSTEM_PROGRAM_ID,
    ]


@pytest.mark.parametrize("name", NAMES)
def test_no_account_is_accepted_in_two_roles(w: World, name: str) -> None:
    env = w.env
    ix, signers = valid_call(w, name)
    signer_keys = {s.pubkey() for s in signers}
    tried = 0
    for i, mi in enumerate(ix.accounts):
        for j, mj in enumerate(ix.accounts):
            if i == j or mi.pubkey == mj.pubkey:
                continue
            bad = with_meta(
                ix,
                j,
                pubkey=mi.pubkey,
                is_signer=mi.pubkey in signer_keys,
                is_writable=mi.is_writable or mj.is_writable,
            )
            send_rejected(env, bad, signers, world_accounts(w))
            tried += 1
    assert tried >= 2
    # the unaltered call still succeeds afterwards: the rejections were the aliasing's doing
    env.ok(ix, signers)


@pytest.mark.parametrize("name", NAMES)
def test_no_other_account_of_the_state_is_accepted_in_any_slot(w: World, name: str) -> None:
    env = w.env
    ix, signers = valid_call(w, name)
    signer_keys = {s.pubkey() for s in signers}
    pool = world_accounts(w)
    for i, meta in enumerate(ix.accounts):
        for k in pool:
            if k == meta.pubkey:
                continue
            if name == "slash" and i == 2 and k == w.node_b:
                continue  # slashing the other node instead is a valid call of the slash authority
            bad = with_meta(ix, i, pubkey=k, is_signer=k in signer_keys)
            send_rejected(env, bad, signers, pool)
    env.ok(ix, signers)


def _best_pump_step(stake: int, shares: int, balance: int) -> tuple[str, int] | None:
    """The stake or partial unstake that raises stake/shares the most (exact program rounding), if any."""
    best: tuple[float, str, int] | None = None
    for a in {1, 2, 3, stake // 2, stake - 1, stake - 2, stake - 3, stake - stake // max(shares, 1) - 1}:
        if 0 < a < stake:
            burn = -(-a * shares // stake)
            if burn < shares:
                r = (stake - a) / (shares - burn)
                if best is None or r > best[0]:
                    best = (r, "unstake", a)
    for a in {1, stake - 1, stake + 1, 2 * stake - 1, 3 * stake - 1}:
        minted = a * shares // stake
        if 0 < a <= balance and minted > 0:
            r = (stake + a) / (shares + minted)
            if best is None or r > best[0]:
                best = (r, "stake", a)
    return None if best is None else (best[1], best[2])


def test_share_price_inflation_by_a_sole_holder_is_impossible(staking_so: Path) -> None:
    # no cooldown: each unstake is withdrawn at once, so the position never runs out of unbonding entries
    env = make_env(staking_so, ConfigParams.for_decimals(8, min_stake_per_gpu=0, cooldown_seconds=0))
    op, _, node = env.register(gpu_units=1)
    op_tok = env.token_account(op.pubkey(), 10**6 * IO)
    env.ok(env.stake_ix(op, node, op_tok, 1_000 * IO), [op])
    env.ok(
        env.client.slash(env.slash_authority.pubkey(), node, env.stake_vault, env.slash_destination, 500, 1),
        [env.slash_authority],
    )
    # shrink the pool to a few shares at a fractional price, where rounding is worth the most per share
    s = env.decode(node)
    env.ok(env.client.request_unstake(op.pubkey(), node, s.total_stake - 20), [op])
    for _ in range(40):
        s = env.decode(node)
        assert s.total_stake <= s.total_shares, "a share is worth more than one base unit"
        assert s.unbonding_stake <= s.unbonding_shares
        step = _best_pump_step(s.total_stake, s.total_shares, env.balance(op_tok))
        assert step is not None
        kind, amount = step
        if kind == "stake":
            env.ok(env.stake_ix(op, node, op_tok, amount), [op])
        else:
            env.ok(env.client.request_unstake(op.pubkey(), node, amount), [op])
            env.ok(env.client.withdraw(op.pubkey(), node, op_tok, env.stake_vault), [op])
    s = env.decode(node)
    assert s.total_stake <= s.total_shares
    # a delegator now stakes as much as the cap allows and loses at most 2 base units to rounding
    victim, victim_tok = env.wallet(10**6 * IO)
    amount = s.total_stake
    env.ok(env.stake_ix(victim, node, victim_tok, amount), [victim])
    s = env.decode(node)
    pos = env.decode(env.client.position(node, victim.pubkey()))
    assert amount - pos.shares * s.total_stake // s.total_shares <= 2


@pytest.mark.parametrize("lamports", [1, 10**9])
def test_initialize_is_not_blocked_by_pre_funded_pdas(staking_so: Path, lamports: int) -> None:
    env = make_env(staking_so, initialize=False)
    c = env.client
    for address in (c.config, c.distributor, c.vault_authority):
        env.svm.airdrop(address, lamports)
    accounts = ProgramAccounts(env.mint, env.stake_vault, env.rewards_vault, env.slash_destination)
    params = replace(env.params, max_slash_bps=321)
    ix = c.initialize(
        env.admin.pubkey(), accounts, env.rewards_authority.pubkey(), env.slash_authority.pubkey(), params
    )
    env.ok(ix, [env.admin])
    assert env.decode(c.config).params.max_slash_bps == 321
    assert env.decode(c.distributor).roots_posted == 0
    cfg = env.svm.get_account(c.config)
    assert cfg is not None and cfg.owner == c.program_id
