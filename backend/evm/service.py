"""What other domains call on the EVM rail (invoices, the ledger, refunds): read-only, never commits.

- :func:`payment_instructions` / :class:`PaymentInstructions`: what an invoice in ``USDC-EVM`` tells the payer.
- :func:`invoice_payments`: the indexed ``Paid`` logs of an invoice, at ``seen`` (1 confirmation) and as money
  (N confirmations), with how far the indexer has read (not found is never "not paid").
- :func:`eip681_links`: wallet links, the two honest steps (``approve``, then ``pay``).
- :func:`treasury_check`: the treasury's ``balanceOf`` at the indexer's confirmed head next to the indexed flows,
  for ``iog ledger check``.
- :func:`unmatched_transfers`: transfers into the treasury that name no invoice (credited to nothing).
- :func:`rail`: the configured deployment (bootstrap file, client, depth) or None; :func:`treasury_sender`.
- :func:`treasury_flows`, :func:`invoice_ids_since`, :func:`sent_keys`, :func:`block_times`: what the settlement
  pass books (every confirmed movement of the treasury) and how it recognises its own transactions.
Amounts are ``int`` base units of the token (USDC: 6 decimals).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.errors import AppError, InvalidInput
from backend.evm import bootfile
from backend.evm.bootfile import EvmBootFile
from backend.evm.client import GWEI, EvmClient
from backend.evm.indexer import Watch
from backend.evm.sender import Sender
from backend.models.evm import PAID, TRANSFER_IN, TRANSFER_OUT, EvmCursor, EvmPaymentLog, EvmTxAttempt
from backend.money import U64_MAX

#: The ledger currency of USDC held by the EVM treasury (its own ``treasury`` asset account).
EVM_CURRENCY = "USDC-EVM"
DEFAULT_CONFIRMATIONS = 12

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


# --- the configured deployment, for settlement ------------------------------------------------------------------


@dataclass(frozen=True)
class Rail:
    """The EVM rail of this deployment: what was bootstrapped, a client of its chain, the depth in force."""

    boot: EvmBootFile
    client: EvmClient
    confirmations: int
    watch: Watch = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "watch", Watch.from_boot(self.boot))

    @property
    def decimals(self) -> int:
        """Decimals of the token (USDC: 6)."""
        return self.boot.token.decimals

    def instructions(self, invoice_id: str, amount: int) -> PaymentInstructions:
        """Payment instructions on this deployment."""
        return payment_instructions(self.watch, invoice_id, amount)


def rail(settings: Settings) -> Rail | None:
    """The EVM rail, or None when it is not configured (no EVM bootstrap file: ``iog evmnet bootstrap`` not run)."""
    path = settings.resolved_evm_bootstrap_file
    if not path.exists():
        return None
    boot = bootfile.load(path)
    client = EvmClient(settings.evm_rpc_url or boot.rpc_url, timeout=settings.evm_rpc_timeout,
                       max_fee_cap=settings.evm_tx_max_fee_gwei * GWEI)
    depth = settings.evm_confirmations or boot.confirmations or DEFAULT_CONFIRMATIONS
    return Rail(boot, client, depth)


def treasury_sender(sessions: sessionmaker[Session], r: Rail) -> Sender:
    """The exactly-once sender of the treasury key (loads the key: only the settlement worker calls it)."""
    from backend.evm.keys import load_key

    account = load_key(Path(r.boot.treasury_keypair_path))
    if account.address.lower() != r.watch.treasury:
        raise InvalidInput(f"the EVM treasury key {r.boot.treasury_keypair_path} is {account.address}, "
                           f"the treasury is {r.watch.treasury}")
    return Sender(sessions, r.client, account)


def transfer_data(r: Rail, to: str, amount: int) -> tuple[str, str]:
    """(to, data) of the token ``transfer(to, amount)`` the treasury signs."""
    if not isinstance(to, str) or not _ADDRESS.match(to.lower()):
        raise InvalidInput(f"{to!r} is not a 20-byte hex address")
    return r.watch.token, r.client.call_data("Token", r.watch.token, "transfer", to.lower(), amount)


@dataclass(frozen=True)
class Flow:
    """A confirmed movement of the treasury: a router payment (``paid``), a plain transfer in (``transfer_in``,
    naming no invoice), or a transfer out (``transfer_out``). ``amount`` is exact (uint256)."""

    kind: str
    tx_hash: str
    log_index: int
    block_number: int
    payer: str
    recipient: str
    amount: int
    invoice_id: str | None


def treasury_flows(
    session: Session, watch: Watch, confirmations: int, after_block: int
) -> tuple[int | None, list[Flow]]:
    """(confirmed head, every confirmed treasury movement in blocks ``after_block + 1 .. head``). A router payment
    is one flow (its ``Paid`` log; the token ``Transfer`` it made is the same money and is not repeated)."""
    head = indexed_to_block(session, watch)
    if head is None:
        return None, []
    confirmed = head - confirmations + 1
    if confirmed <= after_block:
        return confirmed, []
    L = EvmPaymentLog
    rows = session.scalars(
        select(L)
        .where(L.chain_id == watch.chain_id, L.block_number > after_block, L.block_number <= confirmed,
               ((L.kind == PAID) & (L.contract == watch.router))
               | ((L.kind == TRANSFER_IN) & (L.contract == watch.token) & L.via_router.is_(False))
               | ((L.kind == TRANSFER_OUT) & (L.contract == watch.token)))
        .order_by(L.block_number, L.log_index)
    ).all()
    return confirmed, [Flow(r.kind, r.tx_hash, r.log_index, r.block_number, r.payer, r.recipient,
                            int(r.amount_raw), r.invoice_id) for r in rows]


def invoice_ids_since(session: Session, watch: Watch, after_block: int) -> set[str]:
    """Invoice ids named by router payments indexed in blocks after ``after_block`` (new or still confirming)."""
    L = EvmPaymentLog
    rows = session.scalars(
        select(L.invoice_id).where(L.chain_id == watch.chain_id, L.contract == watch.router, L.kind == PAID,
                                   L.block_number > after_block).distinct()
    ).all()
    return {r for r in rows if r is not None}


def sent_keys(session: Session, tx_hashes: Iterable[str]) -> dict[str, str]:
    """Which of ``tx_hashes`` the treasury's sender signed: hash -> idempotency key (any recorded version)."""
    hashes = sorted({h.lower() for h in tx_hashes})
    out: dict[str, str] = {}
    for i in range(0, len(hashes), 500):
        rows = session.execute(
            select(EvmTxAttempt.tx_hash, EvmTxAttempt.key).where(EvmTxAttempt.tx_hash.in_(hashes[i:i + 500]))
        )
        out.update({h: k for h, k in rows})
    return out


_TIMES: dict[tuple[str, int], int] = {}
_TIMES_LOCK = threading.Lock()


def block_times(client: EvmClient, numbers: Iterable[int]) -> dict[int, int]:
    """Unix timestamps of blocks (kept in memory: a block deep enough to hold a payment keeps its time)."""
    out: dict[int, int] = {}
    for n in sorted(set(numbers)):
        key = (client.rpc_url, n)
        with _TIMES_LOCK:
            known = _TIMES.get(key)
        if known is None:
            ref = client.block(n)
            if ref is None:
                continue
            known = ref.timestamp
            with _TIMES_LOCK:
                if len(_TIMES) > 100_000:
                    _TIMES.clear()
                _TIMES[key] = known
        out[n] = known
    return out
