"""Send and confirm transactions: the one path every chain write of the backend takes.

Commitment is always explicit. Failures are typed: :class:`RpcUnavailable` (nothing answers),
:class:`TransactionFailed` (the cluster refused or executed it with an error; a custom error of the staking
program becomes :class:`StakingProgramError` with its IDL name), :class:`ConfirmationTimeout`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from solana.exceptions import SolanaRpcException
from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from backend.chain import ids
from backend.chain.layout import ERRORS
from backend.errors import AppError

#: What solana-py raises when the endpoint cannot be used: a refused or dropped connection, a timeout or an
#: unparsable answer arrive as SolanaRpcException (it wraps httpx's errors), never as OSError.
TRANSPORT_ERRORS = (OSError, SolanaRpcException)
#: Transport errors plus the node's JSON-RPC error answers.
RPC_ERRORS = (OSError, SolanaRpcException, RPCException)
_RANK = {str(Processed): 0, str(Confirmed): 1, str(Finalized): 2}
#: Programs whose custom error codes are theirs, not the staking program's.
_FOREIGN = {
    ids.SYSTEM_PROGRAM_ID,
    ids.TOKEN_PROGRAM_ID,
    ids.TOKEN_2022_PROGRAM_ID,
    ids.ASSOCIATED_TOKEN_PROGRAM_ID,
    ids.MEMO_PROGRAM_ID,
    ids.MEMO_V1_PROGRAM_ID,
    ids.COMPUTE_BUDGET_PROGRAM_ID,
    ids.BPF_LOADER_UPGRADEABLE_ID,
}


def why(exc: BaseException) -> str:
    """A transport error's text: SolanaRpcException's own is empty, the cause says what happened."""
    cause = exc.__cause__ or exc
    return str(cause) or type(cause).__name__


class ChainError(AppError):
    """The cluster could not be used as needed."""

    status_code = 502


class RpcUnavailable(ChainError):
    """No usable answer from the RPC endpoint."""


class ConfirmationTimeout(ChainError):
    """A sent transaction did not reach the wanted commitment in time (it may still land)."""

    def __init__(self, message: str, signatures: Sequence[Signature]) -> None:
        super().__init__(message)
        self.signatures = list(signatures)


class TransactionFailed(ChainError):
    """The cluster refused a transaction (preflight) or executed it with an error."""

    status_code = 409

    def __init__(self, message: str, err: Any = None, logs: Sequence[str] = (), signature: str | None = None):
        super().__init__(message)
        self.err = err
        self.logs = list(logs)
        self.signature = signature


class StakingProgramError(TransactionFailed):
    """The staking program rejected a transaction with one of its named errors (names from the IDL)."""

    status_code = 400

    def __init__(self, code: int, logs: Sequence[str] | None = None, signature: str | None = None) -> None:
        self.code = code
        self.name = ERRORS[code][0] if code in ERRORS else f"Unknown({code})"
        super().__init__(f"staking program error {code} ({self.name})", code, logs or (), signature)


def commitment_reached(level: object, wanted: Commitment) -> bool:
    """Whether a status's ``confirmation_status`` (solders enum or string) is at least ``wanted``."""
    if level is None:
        return False
    name = str(level).rsplit(".", 1)[-1].lower()
    return _RANK.get(name, -1) >= _RANK[str(wanted)]


def failure(
    err: Any, logs: Sequence[str], instructions: Sequence[Instruction], signature: str | None = None
) -> TransactionFailed:
    """The typed error for a transaction error: the staking program's custom errors by name, else generic."""
    if isinstance(err, TransactionErrorInstructionError) and isinstance(err.err, InstructionErrorCustom):
        index, code = err.index, err.err.code
        if index < len(instructions) and instructions[index].program_id not in _FOREIGN and code in ERRORS:
            return StakingProgramError(code, logs, signature)
    where = f"transaction {signature}" if signature else "transaction"
    return TransactionFailed(f"{where} failed: {err}", err, logs, signature)


def build(
    client: Client,
    payer: Keypair,
    instructions: Sequence[Instruction],
    signers: Sequence[Keypair],
    commitment: Commitment,
) -> Transaction:
    """A signed transaction paid by ``payer`` on a blockhash read at ``commitment``."""
    try:
        blockhash = client.get_latest_blockhash(commitment).value.blockhash
    except RPC_ERRORS as exc:
        raise RpcUnavailable(f"cannot read a blockhash: {why(exc)}") from exc
    all_signers = [payer, *(s for s in signers if s.pubkey() != payer.pubkey())]
    return Transaction(
        all_signers, Message.new_with_blockhash(list(instructions), payer.pubkey(), blockhash), blockhash
    )


def send(
    client: Client,
    payer: Keypair,
    instructions: Sequence[Instruction],
    signers: Sequence[Keypair] = (),
    *,
    commitment: Commitment,
) -> Signature:
    """Sign and send (preflight at ``commitment``) without waiting; a preflight failure raises typed."""
    tx = build(client, payer, instructions, signers, commitment)
    return send_signed(client, tx, instructions, commitment=commitment)


def send_signed(
    client: Client, tx: Transaction, instructions: Sequence[Instruction], *, commitment: Commitment
) -> Signature:
    """Send an already signed transaction; ``instructions`` name the programs for error decoding."""
    try:
        return client.send_transaction(tx, opts=TxOpts(skip_preflight=False, preflight_commitment=commitment)).value
    except RPCException as exc:
        data = getattr(exc.args[0], "data", None) if exc.args else None
        if data is not None and hasattr(data, "err"):
            raise failure(data.err, data.logs or [], instructions) from None
        raise TransactionFailed(
            f"the cluster refused the transaction: {getattr(exc.args[0], 'message', exc)}"
        ) from None
    except TRANSPORT_ERRORS as exc:
        raise RpcUnavailable(f"cannot send the transaction: {why(exc)}") from exc


def confirm(
    client: Client,
    signatures: Sequence[Signature],
    *,
    commitment: Commitment,
    timeout: float = 60.0,
    instructions: Sequence[Instruction] = (),
) -> None:
    """Wait until every signature reached ``commitment``; raise on an executed error or after ``timeout``."""
    pending = list(signatures)
    deadline = time.monotonic() + timeout
    while pending:
        batch = pending[:256]
        try:
            statuses = client.get_signature_statuses(batch).value
        except RPC_ERRORS as exc:
            raise RpcUnavailable(f"cannot read signature statuses: {why(exc)}") from exc
        still = []
        for sig, st in zip(batch, statuses, strict=True):
            if st is not None and st.err is not None:
                raise failure(st.err, [], instructions, str(sig))
            if st is None or not commitment_reached(st.confirmation_status, commitment):
                still.append(sig)
        pending = still + pending[256:]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise ConfirmationTimeout(
                f"{len(pending)} transaction(s) did not reach {commitment} within {timeout:.0f} s", pending
            )
        time.sleep(0.05)


def send_and_confirm(
    client: Client,
    payer: Keypair,
    instructions: Sequence[Instruction],
    signers: Sequence[Keypair] = (),
    *,
    commitment: Commitment,
    timeout: float = 60.0,
) -> Signature:
    """Sign, send and wait for ``commitment``; returns the signature."""
    sig = send(client, payer, instructions, signers, commitment=commitment)
    confirm(client, [sig], commitment=commitment, timeout=timeout, instructions=instructions)
    return sig
