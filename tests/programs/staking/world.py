"""A populated program state that the attack tests start from."""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from tests.programs.staking import merkle_ref as merkle
from tests.programs.staking.harness import Env
from tests.programs.staking.units import IO


@dataclass
class World:
    """Node A (operator stake 1,000 IO, delegator D 500 IO with 100 IO pending), node B (300 IO),
    and rewards epoch 1 (W1: 30 IO, W2: 20 IO) funded in full."""

    env: Env
    op: Keypair
    op_tok: Pubkey
    node: Pubkey
    node_key: Keypair
    d: Keypair
    d_tok: Pubkey
    op_b: Keypair
    op_b_tok: Pubkey
    node_b: Pubkey
    w1: Keypair
    w1_tok: Pubkey
    w2: Keypair
    w2_tok: Pubkey
    levels: list[list[bytes]]
    attacker: Keypair
    attacker_tok: Pubkey

    def proof(self, i: int) -> list[bytes]:
        """Proof of leaf i of epoch 1 (0: W1, 1: W2)."""
        return merkle.proof_for(self.levels, i)


def build_world(env: Env) -> World:
    """Populate `env` (see World)."""
    op, nk, node = env.register(gpu_units=1, commission_bps=1000)
    op_tok = env.token_account(op.pubkey(), 10_000 * IO)
    env.ok(env.stake_ix(op, node, op_tok, 1_000 * IO), [op])
    d, d_tok = env.wallet(10_000 * IO)
    env.ok(env.stake_ix(d, node, d_tok, 500 * IO), [d])
    env.ok(env.client.request_unstake(d.pubkey(), node, 100 * IO), [d])
    op_b, _, node_b = env.register(gpu_units=1)
    op_b_tok = env.token_account(op_b.pubkey(), 10_000 * IO)
    env.ok(env.stake_ix(op_b, node_b, op_b_tok, 300 * IO), [op_b])
    w1, w1_tok = env.wallet(0)
    w2, w2_tok = env.wallet(0)
    levels = merkle.build_levels(
        [merkle.leaf_hash(w1.pubkey(), 30 * IO), merkle.leaf_hash(w2.pubkey(), 20 * IO)]
    )
    env.ok(
        env.client.post_rewards_root(
            env.rewards_authority.pubkey(),
            env.rewards_funding,
            env.rewards_vault,
            1,
            merkle.root_of(levels),
            50 * IO,
            50 * IO,
        ),
        [env.rewards_authority],
    )
    attacker, attacker_tok = env.wallet(10_000 * IO)
    return World(
        env,
        op,
        op_tok,
        node,
        nk,
        d,
        d_tok,
        op_b,
        op_b_tok,
        node_b,
        w1,
        w1_tok,
        w2,
        w2_tok,
        levels,
        attacker,
        attacker_tok,
    )


def clone_account(env: Env, src: Pubkey, owner: Pubkey | None = None) -> Pubkey:
    """Copy an account to a fresh address (optionally under another owner): a look-alike."""
    acc = env.svm.get_account(src)
    assert acc is not None
    addr = Pubkey.new_unique()
    env.svm.set_account(addr, Account(acc.lamports, bytes(acc.data), owner or acc.owner, False, 0))
    return addr


def unsigned(ix: Instruction, index: int) -> Instruction:
    """`ix` with account `index` no longer marked as a signer."""
    from tests.programs.staking.harness import with_meta

    return with_meta(ix, index, is_signer=False)
