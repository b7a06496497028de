"""Exactly-once sending of the backend's own EVM transactions (the treasury's refunds and payouts).

Each transaction has an idempotency key (e.g. ``refund:42``). :meth:`Sender.submit` signs it with the next nonce
and current EIP-1559 fees and **commits the signed bytes and their hash before sending**. Whatever happens next
(a crash, a timeout, a second call with the same key), :meth:`Sender.ensure_sent` first looks every recorded
hash up: a receipt settles it, a known pending transaction is left alone, and only a transaction the node does
not know is sent again, byte for byte (same hash). :meth:`Sender.replace` re-signs a stuck transaction with the
**same nonce** and fees at least 12.5% higher (recorded before it is sent too), so at most one of its versions
can ever be mined. Nonces: the larger of the node's pending count and the highest recorded nonce plus one; the
(chain, sender, nonce) unique constraint stops two processes from taking the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import Conflict, InvalidInput, NotFound
from backend.evm.client import EvmClient, EvmTxFailed, Fees
from backend.models.evm import OUT_MINED, OUT_REVERTED, OUT_SIGNED, EvmOutboundTx, EvmTxAttempt

NONCE_TRIES = 5


@dataclass(frozen=True)
class Outbound:
    """The state of one keyed transaction."""

    key: str
    status: str  # signed | mined | reverted
    nonce: int
    tx_hash: str  # the mined attempt once mined, else the newest
    attempts: int
    block_number: int | None


def _view(row: EvmOutboundTx, attempts: int) -> Outbound:
    return Outbound(row.key, row.status, row.nonce, row.tx_hash, attempts, row.block_number)


class Sender:
    """Sends the transactions of one account (the treasury) on one chain, exactly once per key."""

    def __init__(
        self, sessions: sessionmaker[Session], client: EvmClient, account: LocalAccount,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.account = account
        self.sender = account.address.lower()
        self.clock = clock

    # --- recording ------------------------------------------------------------------------------------------------
    def _next_nonce(self, session: Session, chain_id: int) -> int:
        recorded = session.scalar(
            select(func.max(EvmOutboundTx.nonce))
            .where(EvmOutboundTx.chain_id == chain_id, EvmOutboundTx.sender == self.sender)
        )
        chain = self.client.nonce(self.sender, "pending")
        return max(chain, -1 if recorded is None else int(recorded) + 1)

    def record(self, key: str, to: str, data: str) -> Outbound:
        """Sign and commit ``key`` (not sent yet); an existing key is returned as it is (same to/data) or refused."""
        to, data = to.lower(), data.lower()
        chain_id = self.client.chain_id()
        for _ in range(NONCE_TRIES):
            try:
                with session_scope(self.sessions) as s:
                    row = s.get(EvmOutboundTx, key)
                    if row is not None:
                        if (row.to, row.data, row.chain_id, row.sender) != (to, data, chain_id, self.sender):
                            raise Conflict(f"{key} was already recorded for a different transaction")
                        return _view(row, self._attempts(s, key))
                    nonce = self._next_nonce(s, chain_id)
                    fees = self.client.fees()
                    signed = self.client.sign(self.account, {"to": to, "data": data}, nonce, fees)
                    now = int(self.clock())
                    s.add(EvmOutboundTx(key=key, chain_id=chain_id, sender=self.sender, nonce=nonce, to=to, data=data,
                                        gas=signed.gas, status=OUT_SIGNED, tx_hash=signed.tx_hash, created_at=now,
                                        updated_at=now))
                    s.flush()
                    s.add(EvmTxAttempt(tx_hash=signed.tx_hash, key=key, raw=signed.raw,
                                       max_fee_per_gas=str(fees.max_fee_per_gas),
                                       max_priority_fee_per_gas=str(fees.max_priority_fee_per_gas), created_at=now))
                    return Outbound(key, OUT_SIGNED, nonce, signed.tx_hash, 1, None)
            except IntegrityError:
                continue  # another process took this nonce (or recorded this key): read again
        raise Conflict(f"could not record {key}: nonces kept colliding")

    @staticmethod
    def _attempts(session: Session, key: str) -> int:
        return int(session.scalar(select(func.count()).select_from(EvmTxAttempt).where(EvmTxAttempt.key == key)) or 0)

    # --- sending ----------------------------------------------------------------------------------------------------
    def submit(self, key: str, to: str, data: str) -> Outbound:
        """Record (if new), then make sure it is sent: safe to call again with the same key at any time."""
        self.record(key, to, data)
        return self.ensure_sent(key)

    def ensure_sent(self, key: str) -> Outbound:
        """Look every recorded version up; settle a mined one; resend the newest only if the node knows none."""
        with session_scope(self.sessions) as s:
            row = s.get(EvmOutboundTx, key)
            if row is None:
                raise NotFound(f"no outbound transaction {key}")
            if row.status != OUT_SIGNED:
                return _view(row, self._attempts(s, key))
            attempts = s.scalars(
                select(EvmTxAttempt).where(EvmTxAttempt.key == key).order_by(EvmTxAttempt.created_at.desc(),
                                                                             EvmTxAttempt.tx_hash)
            ).all()
            known = False
            for attempt in attempts:
                receipt = self.client.receipt(attempt.tx_hash)
                if receipt is not None:
                    ok = int(receipt.get("status", "0x0"), 16) == 1
                    row.status = OUT_MINED if ok else OUT_REVERTED
                    row.tx_hash = attempt.tx_hash
                    row.block_number = int(receipt["blockNumber"], 16)
                    row.updated_at = int(self.clock())
                    return _view(row, len(attempts))
                known = known or self.client.transaction(attempt.tx_hash) is not None
            if not known:
                # The node has none of them (never sent, or dropped): send the newest version again, byte for byte.
                self.client.send_raw(attempts[0].raw)
            return _view(row, len(attempts))

    def replace(self, key: str) -> Outbound:
        """Re-sign a still-unmined transaction with the same nonce and higher fees; record, then send."""
        with session_scope(self.sessions) as s:
            row = s.get(EvmOutboundTx, key)
            if row is None:
                raise NotFound(f"no outbound transaction {key}")
            newest = s.get(EvmTxAttempt, row.tx_hash)
            assert newest is not None
            old = Fees(int(newest.max_fee_per_gas), int(newest.max_priority_fee_per_gas))
            nonce, to, data, gas = row.nonce, row.to, row.data, row.gas
        current = self.ensure_sent(key)
        if current.status != OUT_SIGNED:
            return current
        if self.client.nonce(self.sender, "latest") > nonce:
            raise EvmTxFailed(f"{key}: nonce {nonce} is already used on chain but no recorded version was mined")
        fees = self.client.fees(bump_from=old)
        signed = self.client.sign(self.account, {"to": to, "data": data, "gas": gas}, nonce, fees)
        with session_scope(self.sessions) as s:
            row = s.get(EvmOutboundTx, key)
            assert row is not None
            now = int(self.clock())
            s.add(EvmTxAttempt(tx_hash=signed.tx_hash, key=key, raw=signed.raw,
                               max_fee_per_gas=str(fees.max_fee_per_gas),
                               max_priority_fee_per_gas=str(fees.max_priority_fee_per_gas), created_at=now))
            row.tx_hash, row.updated_at = signed.tx_hash, now
        self.client.send_raw(signed.raw)
        return self.ensure_sent(key)

    def resume(self) -> list[Outbound]:
        """After a restart: :meth:`ensure_sent` for every recorded, unsettled transaction of this account."""
        with self.sessions() as s:
            keys = s.scalars(
                select(EvmOutboundTx.key)
                .where(EvmOutboundTx.sender == self.sender, EvmOutboundTx.status == OUT_SIGNED)
                .order_by(EvmOutboundTx.nonce)
            ).all()
        return [self.ensure_sent(k) for k in keys]

    def token_transfer(self, key: str, token: str, to: str, amount: int) -> Outbound:
        """Exactly-once ``transfer(to, amount)`` of ``token`` (a refund or payout in base units)."""
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InvalidInput(f"{key}: amount {amount!r} is not a positive integer of base units")
        return self.submit(key, token, self.client.call_data("Token", token, "transfer", to, amount))
