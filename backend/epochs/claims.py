"""The ``claim`` transaction request: the wallet claims ``lifetime total - already claimed`` with the proof for
the latest posted root.

Pre-checks (409, before anything is simulated): no root posted yet -> ``no_rewards_posted``; the wallet has no
lifetime total, or its on-chain ClaimStatus already covers it -> ``NothingToClaim`` (the program's error name).
The builder then simulates, so any other program error is named too.

Size: a claim's data is 8 (discriminator) + 8 (amount) + 4 + 32 per proof level bytes. With a depth-20 proof
(up to 2^20 = 1,048,576 wallets), its nine accounts, both compute-budget instructions (limit and price) and an
idempotent creation of the wallet's IO account, the transaction is 1,221 bytes: under the 1,232-byte limit with 11
to spare. Without the account creation (74 bytes) it is 1,147, so proofs of depth 21 and 22 (up to 4,194,304
wallets) still fit for wallets that have an IO account; depth 23 does not fit at all (the builder then refuses
with ``TransactionTooLarge``). tests/backend/epochs/test_claims.py measures this and claims with it on the
embedded node.
"""

from __future__ import annotations

from collections.abc import Mapping

from solana.rpc.commitment import Confirmed
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from backend.chain import bootfile
from backend.chain.staking import StakingClient
from backend.chain.tokens import create_ata_idempotent, io_account
from backend.chain.txbuild import WouldFail
from backend.epochs import service
from backend.errors import AppError
from backend.money import format_units
from backend.txrequests.registry import Action, Plan, RequestContext, register


def claim_instructions(
    staking: StakingClient,
    wallet: Pubkey,
    mint: Pubkey,
    rewards_vault: Pubkey,
    cumulative: int,
    proof: list[bytes],
    create_account: bool,
) -> list[Instruction]:
    """The wallet's claim, preceded by an idempotent creation of its IO account when it has none."""
    ixs = [create_ata_idempotent(wallet, wallet, mint)] if create_account else []
    ixs.append(staking.claim(wallet, io_account(wallet, mint), rewards_vault, cumulative, proof))
    return ixs


def already_claimed(ctx: RequestContext, staking: StakingClient, wallet: Pubkey) -> int:
    """The wallet's claimed amount on chain (its ClaimStatus; 0 without one)."""
    info = ctx.client.get_account_info(staking.claim_status(wallet), Confirmed).value
    return 0 if info is None else int(staking.decode_account(bytes(info.data)).claimed)


def plan_claim(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    """Build the claim of ``account`` (the wallet signs and pays the fee)."""
    try:
        boot = bootfile.load(ctx.settings.resolved_bootstrap_file)
    except AppError as exc:
        raise WouldFail("ClusterNotBootstrapped", exc.message) from None
    if boot.staking is None:
        raise WouldFail("ClusterNotBootstrapped", "the staking program is not deployed (bootstrap file)")
    rewards = service.wallet_rewards(ctx.session, str(account))
    if rewards.epoch is None:
        raise WouldFail("no_rewards_posted", "no rewards root has been posted yet: nothing can be claimed")
    if rewards.proof is None:
        raise WouldFail("NothingToClaim", f"{account} has no lifetime total in the root of epoch {rewards.epoch}")
    staking = StakingClient(Pubkey.from_string(ctx.settings.program_id or boot.staking.program_id))
    claimed = already_claimed(ctx, staking, account)
    if rewards.lifetime_total <= claimed:
        raise WouldFail(
            "NothingToClaim", f"{account} already claimed {claimed} of its lifetime total {rewards.lifetime_total}"
        )
    mint = Pubkey.from_string(boot.mint)
    has_account = ctx.client.get_account_info(io_account(account, mint), Confirmed).value is not None
    ixs = claim_instructions(
        staking, account, mint, Pubkey.from_string(boot.staking.rewards_vault), rewards.lifetime_total,
        rewards.proof, not has_account,
    )  # fmt: skip
    amount = format_units(rewards.lifetime_total - claimed, boot.decimals)
    message = f"Claim {amount} IO of rewards (through epoch {rewards.epoch})"
    return Plan(ixs, message, programs=frozenset({staking.program_id}))


CLAIM = register(
    Action(
        "claim",
        "iog rewards claim",
        plan_claim,
        description="Claim the wallet's rewards: lifetime total in the latest posted root minus what it claimed.",
    )
)
