"""What the treasury sender needs from the cluster, behind one small interface: a blockhash with its expiry, sending
a signed transaction (through :mod:`backend.chain.tx`), signature statuses, the finalized block height, and whether
any transaction names a reference key. :class:`RpcChain` is the real one; the property tests drive the sender with
an in-memory cluster of the same interface (hypothesis needs thousands of steps, each a finalization here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed, Finalized
from solana.rpc.core import RPCException
from solders.hash import Hash
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

from backend.chain import tx as chain_tx


@dataclass(frozen=True)
class SigStatus:
    """A signature's status: its slot, its error (None: success) and commitment (processed/confirmed/finalized)."""

    slot: int
    err: object | None
    commitment: str


class ChainPort(Protocol):
    """The cluster as the sender sees it."""

    def latest_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, last valid block height) at confirmed."""

    def send(self, txn: Transaction, instructions: Sequence[Instruction]) -> str:
        """Send a signed transaction; returns its signature; typed errors from backend.chain.tx."""

    def statuses(self, signatures: Sequence[str]) -> list[SigStatus | None]:
        """Statuses with history search (None: the cluster never saw it)."""

    def block_height(self) -> int:
        """The finalized block height (a blockhash is expired once this passes its last valid block height)."""

    def reference_named(self, reference: str) -> bool:
        """Whether any transaction (confirmed or finalized) names ``reference``."""


class RpcChain:
    """:class:`ChainPort` over JSON-RPC (solana-py), every call with an explicit commitment."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def latest_blockhash(self) -> tuple[Hash, int]:
        try:
            v = self.client.get_latest_blockhash(Confirmed).value
        except (OSError, RPCException) as exc:
            raise chain_tx.RpcUnavailable(f"cannot read a blockhash: {exc}") from exc
        return v.blockhash, int(v.last_valid_block_height)

    def send(self, txn: Transaction, instructions: Sequence[Instruction]) -> str:
        return str(chain_tx.send_signed(self.client, txn, instructions, commitment=Confirmed))

    def statuses(self, signatures: Sequence[str]) -> list[SigStatus | None]:
        out: list[SigStatus | None] = []
        for i in range(0, len(signatures), 256):
            part = [Signature.from_string(s) for s in signatures[i : i + 256]]
            try:
                values = self.client.get_signature_statuses(part, search_transaction_history=True).value
            except (OSError, RPCException) as exc:
                raise chain_tx.RpcUnavailable(f"cannot read signature statuses: {exc}") from exc
            for st in values:
                if st is None:
                    out.append(None)
                else:
                    level = str(st.confirmation_status).rsplit(".", 1)[-1].lower() if st.confirmation_status else ""
                    out.append(SigStatus(int(st.slot), st.err, level or "processed"))
        return out

    def block_height(self) -> int:
        try:
            return int(self.client.get_block_height(Finalized).value)
        except (OSError, RPCException) as exc:
            raise chain_tx.RpcUnavailable(f"cannot read the block height: {exc}") from exc

    def reference_named(self, reference: str) -> bool:
        try:
            rows = self.client.get_signatures_for_address(
                Pubkey.from_string(reference), limit=1, commitment=Confirmed
            ).value
        except (OSError, RPCException) as exc:
            raise chain_tx.RpcUnavailable(f"cannot look up reference {reference}: {exc}") from exc
        return bool(rows)
