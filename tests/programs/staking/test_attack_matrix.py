"""The same attacks applied systematically to every instruction: each signer left out, each program account
replaced by a copy under another owner or at another address, each writable account passed read-only, and
every call while paused. Each valid call is first shown to succeed, so each rejection is the attack's doing.
Every rejection logs Anchor's error line naming the attacked account (``AnchorError caused by account: <name>``,
the snake_case name an Anchor program gives it), which is what Anchor clients show.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair

from backend.chain import ids
from tests.programs.staking.harness import TxResult, anchor_error, with_meta
from tests.programs.staking.units import IO
from tests.programs.staking.world import World, build_world, clone_account, unsigned

# Every instruction after initialize, from the IDL: a new instruction joins the matrix without an edit here.
# The IDL spells them in Anchor's camelCase; the client takes snake_case.
NAMES = [
    re.sub(r"(?<!^)(?=[A-Z])", "_", ix["name"]).lower()
    for ix in json.loads(ids.IDL_PATH.read_text())["instructions"]
    if ix["name"] != "initialize"
]
ACCOUNTS = {
    re.sub(r"(?<!^)(?=[A-Z])", "_", ix["name"]).lower(): [
        re.sub(r"(?<!^)(?=[A-Z])", "_", a["name"]).lower() for a in ix["accounts"]
    ]
    for ix in json.loads(ids.IDL_PATH.read_text())["instructions"]
}
NOT_PAUSABLE = {"update_config", "slash"}
# Accounts an instruction creates when missing (init-if-needed): an account there that the program does not
# own is taken as "not yet created", and its address is then checked against the PDA.
INIT_IF_NEEDED = {("stake", 3), ("claim", 3)}


def valid_call(w: World, name: str) -> tuple[Instruction, list[Keypair]]:
    """A call of `name` that succeeds in the world state (after the cooldown has passed)."""
    env, c = w.env, w.env.client
    if name == "update_config":
        return c.update_config(env.admin.pubkey(), replace(env.params, max_slash_bps=400)), [env.admin]
    if name == "register_node":
        nk = Keypair()
        return c.register_node(w.attacker.pubkey(), nk.pubkey(), 1, 100), [w.attacker, nk]
    if name == "stake":
        return env.stake_ix(w.d, w.node, w.d_tok, IO), [w.d]
    if name == "request_unstake":
        return c.request_unstake(w.d.pubkey(), w.node, IO), [w.d]
    if name == "withdraw":
        return c.withdraw(w.d.pubkey(), w.node, w.d_tok, env.stake_vault), [w.d]
    if name == "set_commission":
        return c.set_commission(w.op.pubkey(), w.node, 900), [w.op]
    if name == "post_rewards_root":
        ix = c.post_rewards_root(
            env.rewards_authority.pubkey(),
            env.rewards_funding,
            env.rewards_vault,
            2,
            bytes(32),
            60 * IO,
            10 * IO,
        )
        return ix, [env.rewards_authority]
    if name == "claim":
        return c.claim(w.w1.pubkey(), w.w1_tok, env.rewards_vault, 30 * IO, w.proof(0)), [w.w1]
    if name == "slash":
        ix = c.slash(env.slash_authority.pubkey(), w.node, env.stake_vault, env.slash_destination, 100, 3)
        return ix, [env.slash_authority]
    assert name == "deactivate_node"
    return c.deactivate_node(w.op.pubkey(), w.node), [w.op]


def names_account(r: TxResult, name: str, index: int) -> None:
    """The error log names account `index` of instruction `name`."""
    log = anchor_error(r.logs)
    assert log is not None and log.account == ACCOUNTS[name][index], (log, ACCOUNTS[name][index])


@pytest.fixture
def w(env: object) -> World:
    world = build_world(env)  # type: ignore[arg-type]
    world.env.advance(14 * 86400)
    return world


@pytest.mark.parametrize("name", NAMES)
def test_valid_call_succeeds(w: World, name: str) -> None:
    ix, signers = valid_call(w, name)
    w.env.ok(ix, signers)


@pytest.mark.parametrize("name", NAMES)
def test_every_signer_is_required(w: World, name: str) -> None:
    ix, signers = valid_call(w, name)
    for i, meta in enumerate(ix.accounts):
        if meta.is_signer:
            rest = [s for s in signers if s.pubkey() != meta.pubkey]
            names_account(w.env.reject(unsigned(ix, i), rest, "MissingSigner"), name, i)


@pytest.mark.parametrize("name", NAMES)
def test_program_accounts_of_wrong_owner_or_address(w: World, name: str) -> None:
    env = w.env
    ix, signers = valid_call(w, name)
    checked = 0
    for i, meta in enumerate(ix.accounts):
        acc = env.svm.get_account(meta.pubkey)
        if acc is None or acc.owner != env.client.program_id:
            continue
        foreign = clone_account(env, meta.pubkey, owner=ids.SYSTEM_PROGRAM_ID)
        expected = "InvalidPda" if (name, i) in INIT_IF_NEEDED else "InvalidAccountOwner"
        names_account(env.reject(with_meta(ix, i, pubkey=foreign), signers, expected, watch=(foreign,)), name, i)
        look_alike = clone_account(env, meta.pubkey)
        r = env.reject(with_meta(ix, i, pubkey=look_alike), signers, "InvalidPda", watch=(look_alike,))
        names_account(r, name, i)
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", NAMES)
def test_writable_accounts_passed_read_only(w: World, name: str) -> None:
    env = w.env
    ix, signers = valid_call(w, name)
    for i, meta in enumerate(ix.accounts):
        if meta.is_writable:
            names_account(env.reject(with_meta(ix, i, is_writable=False), signers, "AccountNotWritable"), name, i)


@pytest.mark.parametrize("name", sorted(set(NAMES) - NOT_PAUSABLE))
def test_paused(w: World, name: str) -> None:
    env = w.env
    env.ok(env.client.update_config(env.admin.pubkey(), replace(env.params, paused=True)), [env.admin])
    ix, signers = valid_call(w, name)
    log = anchor_error(env.reject(ix, signers, "Paused").logs)
    assert log is not None and log.account is None  # no account is at fault
