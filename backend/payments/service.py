"""What counts as paid: a transfer of the expected mint into the recipient's token account, successful and
finalized. Everything else that names the reference is listed with the reason it does not count.

The recipient is a wallet (as a Solana Pay URL names it); its token account is the wallet's associated token
account of the mint, which is where Solana Pay wallets send (and what ``validateTransfer`` checks). Defaults come
from the bootstrap file: the treasury wallet and the IO mint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey
from sqlalchemy.orm import Session

from backend.chain import bootfile
from backend.chain.pdas import associated_token_address
from backend.config import Settings
from backend.errors import AppError, InvalidInput
from backend.models.indexer import CONFIRMED, FINALIZED
from backend.payments import repository as repo

#: Why a transfer naming the reference does not count toward ``paid_finalized`` (first that applies).
FAILED = "failed"  # the transaction failed: nothing moved
WRONG_MINT = "wrong_mint"  # another token than the one asked for
WRONG_DESTINATION = "wrong_destination"  # not into the recipient's token account (a refund out of it, another wallet)
PENDING = "pending"  # the right payment, seen at confirmed: in paid_pending until it is finalized


class PaymentsConfigError(AppError):
    """The deployment gives no default for a parameter the request left out (e.g. an unreadable bootstrap file)."""

    status_code = 503


@dataclass(frozen=True)
class Target:
    """Where a payment must arrive: the recipient wallet, the mint, and the wallet's token account of it."""

    recipient: str
    mint: str
    token_account: str


def _bootstrap(settings: Settings) -> tuple[bootfile.BootstrapFile | None, Path]:
    path = settings.resolved_bootstrap_file
    if not path.exists():
        return None, path
    try:
        return bootfile.load(path), path
    except bootfile.BootstrapFileError as exc:
        raise PaymentsConfigError(exc.message) from None


def resolve_target(settings: Settings, recipient: str | None, mint: str | None) -> Target:
    """The target of a lookup: ``recipient`` (default the treasury wallet) and ``mint`` (default the IO mint).

    Args:
        settings: where the defaults come from (the bootstrap file; ``IOG_INDEXER_IO_MINT`` for the mint).
        recipient: a validated base58 wallet address, or None for the default.
        mint: a validated base58 mint address, or None for the default.

    Raises:
        InvalidInput: a parameter left out that this deployment has no default for.
        PaymentsConfigError: the bootstrap file exists but cannot be read.
    """
    boot, path = _bootstrap(settings) if recipient is None or mint is None else (None, None)
    if recipient is None:
        if boot is None:
            raise InvalidInput(f"recipient: required: no bootstrap file at {path} names a treasury to default to")
        recipient = boot.treasury_owner
    if mint is None:
        mint = settings.indexer_io_mint or (boot.mint if boot is not None else None)
        if mint is None:
            raise InvalidInput(f"mint: required: neither IOG_INDEXER_IO_MINT nor a bootstrap file at {path} names it")
    ata = associated_token_address(Pubkey.from_string(recipient), Pubkey.from_string(mint))
    return Target(recipient=recipient, mint=mint, token_account=str(ata))


def not_counted_reason(t: repo.TransferFacts, target: Target) -> str | None:
    """Why ``t`` does not count as paid to ``target``; None when it counts (paid, finalized)."""
    if t.failed:
        return FAILED
    if t.mint != target.mint:
        return WRONG_MINT
    if t.destination != target.token_account:
        return WRONG_DESTINATION
    if t.status != FINALIZED:
        return PENDING
    return None


@dataclass(frozen=True)
class Summary:
    """Sums and reasons over every transfer naming a reference (all pages)."""

    paid_finalized: int
    paid_pending: int
    total: int
    not_counted: dict[str, int]


def summarize(session: Session, reference: str, target: Target) -> Summary:
    """Paid amounts (exact ints) and the reasons the other transfers naming ``reference`` do not count."""
    paid = {FINALIZED: 0, CONFIRMED: 0}
    reasons: dict[str, int] = {}
    total = 0
    for t in repo.facts_by_reference(session, reference):
        total += 1
        reason = not_counted_reason(t, target)
        if reason is None:
            paid[FINALIZED] += int(t.amount_raw)
            continue
        if reason == PENDING:
            paid[CONFIRMED] += int(t.amount_raw)
        reasons[reason] = reasons.get(reason, 0) + 1
    return Summary(paid[FINALIZED], paid[CONFIRMED], total, reasons)


def as_of(session: Session, target: Target) -> tuple[int | None, str | None]:
    """(as_of_slot, note): the finalized slot through which the indexer has read the recipient's token account.

    None, with a note saying why, when the indexer keeps no cursor for that account or has not finished a pass
    over it: then "nothing paid" may only mean "not indexed".
    """
    cursor = repo.cursor(session, target.token_account)
    where = f"{target.token_account} (the token account of {target.recipient} for mint {target.mint})"
    if cursor is None:
        hint = ""
        if repo.cursor(session, target.recipient) is not None:
            hint = f"; {target.recipient} itself is watched: if it is a token account, pass its owner's wallet"
        return None, (
            f"the indexer has no cursor for {where}: it does not watch it (add it to IOG_INDEXER_ADDRESSES) or "
            f"has not read it yet, so payments to it cannot be seen here{hint}"
        )
    if not cursor.synced_slot:
        return None, f"the indexer has not finished a pass over {where} yet"
    return int(cursor.synced_slot), None
