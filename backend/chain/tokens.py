"""SPL Token and Memo instructions the backend and its commands build (one builder each)."""

from __future__ import annotations

from collections.abc import Sequence

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from spl.token.instructions import (
    TransferCheckedParams,
    create_idempotent_associated_token_account,
    transfer_checked,
)

from backend.chain import ids
from backend.chain.pdas import associated_token_address


def memo_instruction(text: str, signers: Sequence[Pubkey] = ()) -> Instruction:
    """An SPL Memo (v3) instruction; with no signers, as Solana Pay writes it."""
    return Instruction(ids.MEMO_PROGRAM_ID, text.encode(), [AccountMeta(s, True, False) for s in signers])


def io_account(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The owner's associated token account of ``mint`` (classic SPL Token)."""
    return associated_token_address(owner, mint)


def create_ata_idempotent(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    """Create ``owner``'s associated token account of ``mint`` unless it exists (paid by ``payer``)."""
    return create_idempotent_associated_token_account(payer, owner, mint)


def transfer_checked_ix(
    source: Pubkey,
    mint: Pubkey,
    dest: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    references: Sequence[Pubkey] = (),
) -> Instruction:
    """``transferChecked`` with Solana Pay reference keys appended as read-only, non-signer accounts."""
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=ids.TOKEN_PROGRAM_ID,
            source=source,
            mint=mint,
            dest=dest,
            owner=owner,
            amount=amount,
            decimals=decimals,
        )
    )
    return Instruction(ix.program_id, ix.data, [*ix.accounts, *(AccountMeta(r, False, False) for r in references)])
