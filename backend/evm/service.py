"""What other domains call on the EVM rail (invoices, the ledger, refunds): read-only, never commits.

- :func:`payment_instructions` / :class:`PaymentInstructions`: what an invoice in ``USDC-EVM`` tells the payer.
- :func:`invoice_payments`: the indexed ``Paid`` logs of an invoice, at ``seen`` (1 confirmation) and as money
  (N confirmations), with how far the indexer has read (not found is never "not paid").
- :func:`eip681_links`: wallet links, the two honest steps (``approve``, then ``pay``).
- :func:`treasury_check`: the treasury's ``balanceOf`` at the indexer's confirmed head next to the indexed flows,
  for ``iog ledger check``.
- :func:`unmatched_transfers`: transfers into the treasury that name no invoice (credited to nothing).
Amounts are ``int`` base units of the token (USDC: 6 decimals).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import AppError, InvalidInput
from backend.evm.client import EvmClient
from backend.evm.indexer import Watch
from backend.models.evm import PAID, TRANSFER_IN, TRANSFER_OUT, EvmCursor, EvmPaymentLog
from backend.money import U64_MAX

_BYTES32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def new_invoice_id() -> str:
    """A fresh random bytes32 invoice id (``0x`` + 64 hex), unguessable and unique in practice."""
    return "0x" + secrets.token_hex(32)


@dataclass(frozen=True)
class PaymentInstructions:
    """An invoice's EVM payment instructions: pay ``amount`` through ``router`` naming ``invoice_id``."""

    chain_id: int
    router: str
    token: str
    invoice_id: str
    amount: int

    def __post_init__(self) -> None:
        if not isinstance(self.chain_id, int) or self.chain_id < 1:
            raise InvalidInput(f"chain_id {self.chain_id!r} is not a positive integer")
        for name in ("router", "token"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _ADDRESS.match(value.lower()):
                raise InvalidInput(f"{name} {value!r} is not a 20-byte hex address")
            object.__setattr__(self, name, value.lower())
        if not isinstance(self.invoice_id, str) or not _BYTES32.match(self.invoice_id.lower()):
            raise InvalidInput(f"invoice_id {self.invoice_id!r} is not a bytes32 (0x + 64 hex digits)")
        object.__setattr__(self, "invoice_id", self.invoice_id.lower())
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or not 0 < self.amount <= U64_MAX:
            raise InvalidInput(f"amount {self.amount!r} is not a positive integer of base units")

    def as_dict(self) -> dict[str, Any]:
        """JSON form (amount as a decimal string, like every amount in the API)."""
        return {"chain_id": self.chain_id, "router": self.router, "token": self.token,
                "invoice_id": self.invoice_id, "amount": str(self.amount)}


def payment_instructions(watch: Watch, invoice_id: str, amount: int) -> PaymentInstructions:
    """The instructions of a new invoice on this deployment."""
    return PaymentInstructions(watch.chain_id, watch.router, watch.token, invoice_id, amount)


def _check_watch(watch: Watch, instr: PaymentInstructions) -> None:
    if (instr.chain_id, instr.router, instr.token) != (watch.chain_id, watch.router, watch.token):
        raise InvalidInput(
            f"instructions for chain {instr.chain_id}, router {instr.router}, token {instr.token} are not those of "
            f"the indexed deployment (chain {watch.chain_id}, router {watch.router}, token {watch.token})"
        )


@dataclass(frozen=True)
class EvmPayment:
    """One indexed log with its depth (confirmations counted from the indexer's verified block)."""

    tx_hash: str
    log_index: int
    block_number: int
    payer: str
    amount: int
    confirmations: int


@dataclass(frozen=True)
class InvoicePayments:
    """The payments of one invoice. ``indexed_to_block`` None: the indexer has not read this deployment yet."""

    instructions: PaymentInstructions
    confirmations_required: int
    indexed_to_block: int | None
    seen: list[EvmPayment]  # every payment in a block the indexer verified (>= 1 confirmation)
    confirmed: list[EvmPayment]  # the subset at >= confirmations_required: money

    @property
    def seen_amount(self) -> int:
        """Sum at >= 1 confirmation (pending: shown, never counted)."""
        return sum(p.amount for p in self.seen)

    @property
    def confirmed_amount(self) -> int:
        """Sum at >= N confirmations (money)."""
        return sum(p.amount for p in self.confirmed)

    @property
    def confirmed_head(self) -> int | None:
        """The newest block whose payments count as money."""
        if self.indexed_to_block is None:
            return None
        return self.indexed_to_block - self.confirmations_required + 1


def indexed_to_block(session: Session, watch: Watch) -> int | None:
    """The newest block the indexer verified for ``watch`` (None before its first range)."""
    cur = session.get(EvmCursor, watch.name)
    if cur is None or cur.last_hash is None:
        return None
    return int(cur.last_block)


def _payment(row: EvmPaymentLog, head: int) -> EvmPayment:
    return EvmPayment(row.tx_hash, row.log_index, row.block_number, row.payer, int(row.amount_raw),
                      head - row.block_number + 1)


def invoice_payments(
    session: Session, watch: Watch, instr: PaymentInstructions, confirmations: int
) -> InvoicePayments:
    """The router's ``Paid`` logs naming ``instr.invoice_id``, at ``seen`` and at ``confirmations``."""
    _check_watch(watch, instr)
    head = indexed_to_block(session, watch)
    seen: list[EvmPayment] = []
    if head is not None:
        rows = session.scalars(
            select(EvmPaymentLog)
            .where(EvmPaymentLog.chain_id == watch.chain_id, EvmPaymentLog.contract == watch.router,
                   EvmPaymentLog.kind == PAID, EvmPaymentLog.invoice_id == instr.invoice_id,
                   EvmPaymentLog.block_number <= head)
            .order_by(EvmPaymentLog.block_number, EvmPaymentLog.log_index)
        ).all()
        seen = [_payment(r, head) for r in rows]
    return InvoicePayments(instr, confirmations, head, seen, [p for p in seen if p.confirmations >= confirmations])


def unmatched_transfers(session: Session, watch: Watch, confirmations: int) -> list[EvmPayment]:
    """Transfers into the treasury outside a router payment: they name no invoice and are credited to nothing."""
    head = indexed_to_block(session, watch)
    if head is None:
        return []
    rows = session.scalars(
        select(EvmPaymentLog)
        .where(EvmPaymentLog.chain_id == watch.chain_id, EvmPaymentLog.contract == watch.token,
               EvmPaymentLog.kind == TRANSFER_IN, EvmPaymentLog.recipient == watch.treasury,
               EvmPaymentLog.via_router.is_(False))
        .order_by(EvmPaymentLog.block_number, EvmPaymentLog.log_index)
    ).all()
    return [_payment(r, head) for r in rows]


def _uint(value: int) -> str:
    return str(int(value))


def eip681_links(instr: PaymentInstructions) -> dict[str, str]:
    """EIP-681 URLs for a wallet: step 1 ``approve(router, amount)`` on the token, step 2 ``pay(invoice_id,
    amount)`` on the router. Both are function calls (``ethereum:<contract>@<chain_id>/<function>?<type>=<value>``);
    amounts are integers of base units. Wallet support for arbitrary function calls (step 2) varies: a wallet
    that only understands ``/transfer`` cannot name the invoice. A plain ``/transfer`` to the treasury
    (:func:`transfer_link`) reaches the treasury but is listed as unmatched, never credited to the invoice.
    """
    c = instr.chain_id
    return {
        "approve": f"ethereum:{instr.token}@{c}/approve?address={instr.router}&uint256={_uint(instr.amount)}",
        "pay": f"ethereum:{instr.router}@{c}/pay?bytes32={instr.invoice_id}&uint256={_uint(instr.amount)}",
    }


def transfer_link(token: str, chain_id: int, to: str, amount: int) -> str:
    """The EIP-681 ERC-20 transfer URL (``ethereum:<token>@<chain_id>/transfer?address=<to>&uint256=<amount>``)."""
    return f"ethereum:{token.lower()}@{chain_id}/transfer?address={to.lower()}&uint256={_uint(amount)}"


@dataclass(frozen=True)
class TreasuryCheck:
    """The treasury on chain vs. the indexed flows, both as of ``block`` (the confirmed head)."""

    block: int
    chain_balance: int
    indexed_in: int
    indexed_out: int

    @property
    def indexed_balance(self) -> int:
        """What the indexed transfers say the treasury holds."""
        return self.indexed_in - self.indexed_out

    @property
    def ok(self) -> bool:
        """True when the chain and the index agree."""
        return self.chain_balance == self.indexed_balance


def treasury_check(session: Session, client: EvmClient, watch: Watch, confirmations: int) -> TreasuryCheck | None:
    """``balanceOf(treasury)`` at the confirmed head and the confirmed indexed inflow/outflow up to it (the
    ledger compares its ``treasury`` account of ``USDC-EVM`` with ``chain_balance``). None before indexing or
    while the indexer is fewer than ``confirmations`` blocks in."""
    head = indexed_to_block(session, watch)
    if head is None or head - confirmations + 1 < watch.start_block:
        return None
    block = head - confirmations + 1
    rows = session.execute(
        select(EvmPaymentLog.kind, EvmPaymentLog.amount_raw)
        .where(EvmPaymentLog.chain_id == watch.chain_id, EvmPaymentLog.contract == watch.token,
               EvmPaymentLog.kind.in_((TRANSFER_IN, TRANSFER_OUT)), EvmPaymentLog.block_number <= block)
    ).all()
    inflow = sum(int(raw) for kind, raw in rows if kind == TRANSFER_IN)
    outflow = sum(int(raw) for kind, raw in rows if kind == TRANSFER_OUT)
    return TreasuryCheck(block, client.token_balance(watch.token, watch.treasury, block), inflow, outflow)


def index_status(session: Session, watch: Watch, confirmations: int, client: EvmClient | None = None) -> dict[str, Any]:
    """What ``iog evm index status`` shows: cursor, head and lag (when ``client`` answers), rows, last error."""
    from sqlalchemy import func

    cur = session.get(EvmCursor, watch.name)
    counts = dict(
        session.execute(
            select(EvmPaymentLog.kind, func.count()).where(EvmPaymentLog.chain_id == watch.chain_id)
            .group_by(EvmPaymentLog.kind)
        ).tuples().all()
    )
    doc: dict[str, Any] = {
        "chain_id": watch.chain_id, "router": watch.router, "token": watch.token, "treasury": watch.treasury,
        "confirmations": confirmations, "start_block": watch.start_block,
        "indexed_to_block": cur.last_block if cur and cur.last_hash else None,
        "confirmed_head": (cur.last_block - confirmations + 1) if cur and cur.last_hash else None,
        "rows": {k: int(v) for k, v in sorted(counts.items())},
        "unmatched_transfers": len(unmatched_transfers(session, watch, confirmations)),
        "reorgs": cur.reorgs if cur else 0,
        "last_error": cur.last_error if cur else None,
    }
    if client is not None:
        try:
            head = client.block_number()
            doc["head"] = head
            doc["lag_blocks"] = head - doc["indexed_to_block"] if doc["indexed_to_block"] is not None else None
        except AppError as exc:
            doc["head"] = f"unreachable: {exc.message}"
    return doc
