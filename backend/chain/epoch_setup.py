"""Bootstrap step for the epoch runner: the community (grants) treasury and the epoch genesis.

The community share of every epoch's emission goes to the community treasury: the IO token account of a key
``community_treasury_owner`` kept in the keys folder (the governance authority: grants are paid from it). The
rewards authority (the emission reserve's owner, which signs every root) and the community treasury's owner get
SOL for their transaction fees. The genesis (the
unix time epoch 0 starts) is chosen once, floored to the minute, and kept: a later bootstrap reads it back from
the previous bootstrap file, so the step is idempotent (a second run sends nothing and writes the same file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from solders.pubkey import Pubkey

from backend.chain import bootfile
from backend.chain.bootstrap import BootstrapContext, Step
from backend.chain.tokens import create_ata_idempotent, io_account
from backend.money import LAMPORTS_PER_SOL

#: The rewards authority is topped up to 1 SOL when it holds less than this (a post costs 5,000 lamports).
AUTHORITY_MIN_LAMPORTS = LAMPORTS_PER_SOL // 20
AUTHORITY_TOP_UP = LAMPORTS_PER_SOL


def previous_genesis(path: Path | None) -> int | None:
    """The genesis recorded in an existing bootstrap file (None when there is none or no epochs section)."""
    if path is None or not Path(path).exists():
        return None
    try:
        section = bootfile.load(path).epochs
    except bootfile.BootstrapFileError:
        return None
    return section.genesis if section is not None else None


def epochs_step(previous_file: Path | None, clock: Callable[[], float] = time.time) -> Step:
    """A bootstrap step that creates the community treasury and records the genesis.

    Args:
        previous_file: The bootstrap file of an earlier run (its genesis is kept), usually the output path.
        clock: Unix time source for a first genesis (tests pass their own).
    """

    def step(ctx: BootstrapContext) -> None:
        mint = Pubkey.from_string(ctx.file.mint)
        owner = ctx.keypair("community_treasury_owner")
        treasury = io_account(owner.pubkey(), mint)
        if ctx.client.get_account_info(treasury, ctx.commitment).value is None:
            ctx.send([create_ata_idempotent(ctx.payer.pubkey(), owner.pubkey(), mint)], [])
        # The rewards authority signs every root; the community treasury's owner (the governance authority) pays
        # grants (and their recipients' token accounts) and signs outcome memos.
        for authority in (Pubkey.from_string(ctx.file.emission_reserve_owner), owner.pubkey()):
            if ctx.balance(authority) < AUTHORITY_MIN_LAMPORTS:
                ctx.ensure_sol(ctx.payer.pubkey(), AUTHORITY_TOP_UP + LAMPORTS_PER_SOL)
                ctx.ensure_sol(authority, AUTHORITY_TOP_UP)
        genesis = previous_genesis(previous_file)
        if genesis is None:
            genesis = int(clock()) // 60 * 60
        ctx.file.epochs = bootfile.Epochs(
            genesis=genesis,
            community_treasury=str(treasury),
            community_treasury_owner=str(owner.pubkey()),
            community_treasury_owner_keypair_path=str(ctx.keys_dir / "community_treasury_owner.json"),
        )

    return step
