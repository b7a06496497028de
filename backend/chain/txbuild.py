"""Build unsigned transactions for a user's wallet to sign (Solana Pay transaction requests).

The backend never holds a user's key: it composes the instructions, checks that only allowed programs appear,
simulates (``sigVerify: false``) so a transaction that would fail is refused with the program error's IDL name
before any wallet sees it, sets a compute-unit limit from the simulation plus a margin and a priority fee from
``getRecentPrioritizationFees`` (capped), and serializes it with the wallet as fee payer, a fresh blockhash and
empty signatures. Signers other than the wallet that the transaction needs (e.g. a node's device key for
``register_node``) sign it afterwards, on their own machines.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from backend.chain import ids, tx
from backend.errors import AppError, InvalidInput

#: Programs a built transaction may call besides the staking program.
BASE_PROGRAMS = frozenset(
    {
        ids.SYSTEM_PROGRAM_ID,
        ids.TOKEN_PROGRAM_ID,
        ids.ASSOCIATED_TOKEN_PROGRAM_ID,
        ids.MEMO_PROGRAM_ID,
        ids.COMPUTE_BUDGET_PROGRAM_ID,
    }
)
MAX_COMPUTE_UNITS = 1_400_000
PACKET_BYTES = 1232  # the most a transaction may serialize to


class WouldFail(AppError):
    """The transaction would fail on chain; ``error`` is the program error's IDL name when it has one."""

    status_code = 409

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name

    @property
    def error_name(self) -> str:
        return self.name


class NotAllowed(AppError):
    """A built transaction calls a program outside the allowlist (a bug in a builder, never sent out)."""

    status_code = 500


@dataclass(frozen=True)
class Fees:
    """How compute and priority are set."""

    margin_bps: int = 2_000  # compute-unit limit = simulated units * (1 + margin) + headroom
    headroom: int = 1_000
    max_priority_micro_lamports: int = 100_000
    percentile: int = 75


@dataclass(frozen=True)
class Built:
    """An unsigned transaction ready for a wallet."""

    transaction: str  # base64 of the serialized transaction, empty signatures
    last_valid_block_height: int
    compute_unit_limit: int
    priority_micro_lamports: int
    simulated_units: int
    signers: tuple[str, ...]  # every pubkey that must sign, fee payer first


def check_programs(instructions: Iterable[Instruction], allowed: frozenset[Pubkey]) -> None:
    """Refuse instructions of programs outside ``allowed``."""
    for ix in instructions:
        if ix.program_id not in allowed:
            raise NotAllowed(f"a built transaction may not call {ix.program_id}")


def priority_fee(client: Client, accounts: Sequence[Pubkey], fees: Fees) -> int:
    """Micro-lamports per compute unit: the chosen percentile of recent fees on ``accounts``, capped."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "getRecentPrioritizationFees",
        "params": [[str(a) for a in accounts[:128]]],
    }
    try:
        resp = client._provider.session.post(client._provider.endpoint_uri, json=body, timeout=10)
        values = sorted(int(e["prioritizationFee"]) for e in resp.json()["result"])
    except Exception:  # an RPC without the method, a malformed answer: pay no priority fee rather than fail
        return 0
    if not values:
        return 0
    pick = values[min(len(values) - 1, len(values) * fees.percentile // 100)]
    return max(0, min(pick, fees.max_priority_micro_lamports))


def _simulate(
    client: Client, instructions: list[Instruction], payer: Pubkey, blockhash: Hash, commitment: Commitment
) -> int:
    probe = [set_compute_unit_limit(MAX_COMPUTE_UNITS), *instructions]
    txn = Transaction.new_unsigned(Message.new_with_blockhash(probe, payer, blockhash))
    try:
        result = client.simulate_transaction(txn, sig_verify=False, commitment=commitment).value
    except tx.RPC_ERRORS as exc:
        raise tx.RpcUnavailable(f"cannot simulate the transaction: {tx.why(exc)}") from exc
    if result.err is not None:
        failed = tx.failure(result.err, result.logs or [], probe)
        name = failed.name if isinstance(failed, tx.StakingProgramError) else "TransactionWouldFail"
        raise WouldFail(name, f"the transaction would fail: {failed.message}; logs: {(result.logs or [])[-3:]}")
    return int(result.units_consumed or 0)


def build(
    client: Client,
    instructions: Sequence[Instruction],
    fee_payer: Pubkey,
    *,
    allowed: frozenset[Pubkey],
    fees: Fees = Fees(),
    commitment: Commitment = Confirmed,
) -> Built:
    """Check, simulate, price and serialize ``instructions`` for ``fee_payer``'s wallet."""
    ixs = list(instructions)
    check_programs(ixs, allowed | BASE_PROGRAMS)
    try:
        latest = client.get_latest_blockhash(commitment).value
    except tx.RPC_ERRORS as exc:
        raise tx.RpcUnavailable(f"cannot read a blockhash: {tx.why(exc)}") from exc
    units = _simulate(client, ixs, fee_payer, latest.blockhash, commitment)
    limit = min(MAX_COMPUTE_UNITS, units + units * fees.margin_bps // 10_000 + fees.headroom)
    writable = sorted({m.pubkey for ix in ixs for m in ix.accounts if m.is_writable}, key=bytes)
    price = priority_fee(client, writable, fees)
    budget = [set_compute_unit_limit(limit)] + ([set_compute_unit_price(price)] if price else [])
    message = Message.new_with_blockhash([*budget, *ixs], fee_payer, latest.blockhash)
    txn = Transaction.new_unsigned(message)
    raw = bytes(txn)
    if len(raw) > PACKET_BYTES:
        raise WouldFail("TransactionTooLarge", f"the transaction is {len(raw)} bytes; at most {PACKET_BYTES} fit")
    signers = tuple(str(k) for k in message.account_keys[: message.header.num_required_signatures])
    return Built(base64.b64encode(raw).decode(), latest.last_valid_block_height, limit, price, units, signers)


def unwrap_transaction(text: str) -> str:
    """The base64 transaction in ``text``: the base64 itself, or an API answer that carries it (a JSON object with
    a ``transaction`` field, as ``POST /tx/{action}`` and ``POST /nodes`` return), so commands can read a pipe."""
    import json

    text = text.strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"the input looks like JSON but is not: {exc}") from None
        value = doc.get("transaction") if isinstance(doc, dict) else None
        if not isinstance(value, str):
            detail = f" (the API answered {doc.get('error')}: {doc.get('detail')})" if isinstance(doc, dict) else ""
            raise InvalidInput("the JSON input has no `transaction` field" + detail)
        return value.strip()
    return text
