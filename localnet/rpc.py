"""JSON-RPC 2.0 over the bank: request parsing, batches, and the cluster / transaction methods.

Account and token methods live in :mod:`localnet.rpc_accounts`, blocks and the ledger's history in
:mod:`localnet.rpc_blocks`, cluster, supply and leader methods in :mod:`localnet.rpc_cluster`. Every method
is a plain function ``(bank, params) -> result``; results may hold :class:`orjson.Fragment` (pre-rendered
JSON).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from solders.hash import Hash
from solders.message import Message, MessageV0

from localnet import params as P
from localnet import rpc_accounts, rpc_blocks, rpc_cluster
from localnet.bank import Bank
from localnet.constants import (
    BLOCKHASH_WINDOW,
    CORE_VERSION,
    FEATURE_SET,
    LAMPORTS_PER_SIGNATURE,
    SLOTS_PER_EPOCH,
)
from localnet.errors import (
    BLOCK_NOT_AVAILABLE,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    PREFLIGHT_FAILURE,
    SIGNATURE_VERIFICATION_FAILURE,
    RpcError,
    invalid_params,
)
from localnet.records import is_v0, render_transaction
from localnet.svm import TxFailed, return_data_json

log = logging.getLogger(__name__)
Method = Callable[[Bank, list[Any]], Any]


def context(bank: Bank, slot: int | None = None) -> dict[str, Any]:
    """The ``context`` of an RpcResponse."""
    return {"apiVersion": CORE_VERSION, "slot": bank.slot if slot is None else slot}


# --- cluster ------------------------------------------------------------------------------------------------


def get_health(bank: Bank, params: list[Any]) -> Any:
    return "ok"


def get_version(bank: Bank, params: list[Any]) -> Any:
    return {"solana-core": CORE_VERSION, "feature-set": FEATURE_SET}


def get_genesis_hash(bank: Bank, params: list[Any]) -> Any:
    return bank.genesis_hash


def get_identity(bank: Bank, params: list[Any]) -> Any:
    return {"identity": str(bank.identity.pubkey())}


def get_slot(bank: Bank, params: list[Any]) -> Any:
    return bank.commitment_slot(P.commitment(P.config(params, 0)))


def get_epoch_info(bank: Bank, params: list[Any]) -> Any:
    slot = bank.commitment_slot(P.commitment(P.config(params, 0)))
    return {
        "absoluteSlot": slot,
        "blockHeight": slot,
        "epoch": slot // SLOTS_PER_EPOCH,
        "slotIndex": slot % SLOTS_PER_EPOCH,
        "slotsInEpoch": SLOTS_PER_EPOCH,
        "transactionCount": bank.tx_count_through(slot),
    }


def get_latest_blockhash(bank: Bank, params: list[Any]) -> Any:
    slot = bank.commitment_slot(P.commitment(P.config(params, 0)))
    return {
        "context": context(bank, slot),
        "value": {"blockhash": bank.blockhash_at(slot), "lastValidBlockHeight": slot + BLOCKHASH_WINDOW},
    }


def is_blockhash_valid(bank: Bank, params: list[Any]) -> Any:
    h = P.arg(params, 0, "blockhash")
    if not isinstance(h, str):
        raise invalid_params("`blockhash` must be a base58 string")
    try:
        Hash.from_string(h)
    except Exception:  # solders raises ParseHashError, not a ValueError
        raise invalid_params(f"`blockhash` is not a valid hash: {h[:64]!r}") from None
    max_slot = bank.commitment_slot(P.commitment(P.config(params, 1), default="finalized"))
    slot = bank.blockhashes.get(h)
    return {"context": context(bank), "value": slot is not None and slot <= max_slot}


def get_fee_for_message(bank: Bank, params: list[Any]) -> Any:
    from base64 import b64decode

    v = P.arg(params, 0, "message")
    if not isinstance(v, str):
        raise invalid_params("`message` must be a base64 string")
    try:
        raw = b64decode(v, validate=True)
        msg: Any = MessageV0.from_bytes(raw[1:]) if raw and raw[0] & 0x80 else Message.from_bytes(raw)
    except ValueError:
        raise invalid_params("`message` is not a base64 encoded message") from None
    valid = str(msg.recent_blockhash) in bank.blockhashes
    fee = LAMPORTS_PER_SIGNATURE * msg.header.num_required_signatures
    return {"context": context(bank), "value": fee if valid else None}


def get_block_time(bank: Bank, params: list[Any]) -> Any:
    slot = P.integer(P.arg(params, 0, "slot"), "slot")
    t = bank.slot_times.get(slot)
    if t is None or slot > bank.slot:
        raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
    return t


def get_minimum_balance_for_rent_exemption(bank: Bank, params: list[Any]) -> Any:
    size = P.integer(P.arg(params, 0, "dataLength"), "dataLength", hi=10 * 1024 * 1024)
    return bank.svm.minimum_balance_for_rent_exemption(size)


# --- transactions -------------------------------------------------------------------------------------------


def _describe(err: Any) -> str:
    if err == "AlreadyProcessed":
        return "This transaction has already been processed"
    if err == "BlockhashNotFound":
        return "Blockhash not found"
    if err == "AccountNotFound":
        return "Attempt to debit an account but found no record of a prior credit."
    if err == "InsufficientFundsForFee":
        return "Insufficient funds for fee"
    if isinstance(err, dict) and "InstructionError" in err:
        idx, ie = err["InstructionError"]
        if isinstance(ie, dict) and "Custom" in ie:
            detail = f"custom program error: {ie['Custom']:#x}"
        else:
            detail = str(ie)
        return f"Error processing Instruction {idx}: {detail}"
    return str(err)


def _preflight_error(err: Any, logs: list[str] | None, units: int, return_data: Any) -> RpcError:
    if err == "SignatureFailure":
        return RpcError(SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
    data = {
        "accounts": None,
        "err": err,
        "innerInstructions": None,
        "logs": logs,
        "replacementBlockhash": None,
        "returnData": return_data,
        "unitsConsumed": units,
    }
    return RpcError(PREFLIGHT_FAILURE, f"Transaction simulation failed: {_describe(err)}", data)


def send_transaction(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 1)
    tx = P.transaction(params, cfg)
    skip = P.boolean(cfg, "skipPreflight", False)
    P.commitment(cfg, key="preflightCommitment")
    sig = str(tx.signatures[0])
    pre_err = None
    if sig in bank.by_sig:
        pre_err = "AlreadyProcessed"
    elif str(tx.message.recent_blockhash) not in bank.blockhashes and not tx.uses_durable_nonce():
        pre_err = "BlockhashNotFound"
    if pre_err is not None:
        if skip:  # a validator accepts it and then drops it
            return sig
        raise _preflight_error(pre_err, [], 0, None)
    try:
        bank.process(tx, preflight=not skip)
    except TxFailed as f:
        raise _preflight_error(f.err, f.logs, f.units, f.return_data) from None
    return sig


def simulate_transaction(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 1)
    tx = P.transaction(params, cfg)
    sig_verify = P.boolean(cfg, "sigVerify", False)
    replace = P.boolean(cfg, "replaceRecentBlockhash", False)
    if sig_verify and replace:
        raise invalid_params("`sigVerify` may not be used with `replaceRecentBlockhash`")
    slot = bank.commitment_slot(P.commitment(cfg, default="finalized"))
    accounts_cfg = cfg.get("accounts")
    addresses: list[str] = []
    acc_encoding = "base64"
    if accounts_cfg is not None:
        if not isinstance(accounts_cfg, dict) or not isinstance(accounts_cfg.get("addresses", []), list):
            raise invalid_params("`accounts` must be {addresses: [...], encoding}")
        addresses = [P.pubkey_value(a, "accounts.addresses") for a in accounts_cfg.get("addresses", [])]
        acc_encoding = P.account_encoding(accounts_cfg)
    replacement = None
    if replace:
        replacement = {
            "blockhash": bank.blockhash_at(bank.slot),
            "lastValidBlockHeight": bank.slot + BLOCKHASH_WINDOW,
        }
    elif str(tx.message.recent_blockhash) not in bank.blockhashes and not tx.uses_durable_nonce():
        return {
            "context": context(bank, slot),
            "value": {
                "err": "BlockhashNotFound",
                "logs": [],
                "accounts": None,
                "unitsConsumed": 0,
                "returnData": None,
                "innerInstructions": None,
                "replacementBlockhash": None,
            },
        }
    err, (meta, post) = bank.simulate(tx, sig_verify)
    post_map = {str(k): a for k, a in post}
    accounts: list[Any] | None = None
    if accounts_cfg is not None:
        accounts = []
        for a in addresses:
            acc = post_map.get(a) or bank.get_account(a, "processed")
            accounts.append(None if acc is None else rpc_accounts.render(bank, acc, acc_encoding, None))
    return {
        "context": context(bank, slot),
        "value": {
            "err": err,
            "logs": list(meta.logs()),
            "accounts": accounts,
            "unitsConsumed": meta.compute_units_consumed(),
            "returnData": return_data_json(meta),
            "innerInstructions": None,
            "replacementBlockhash": replacement,
        },
    }


def request_airdrop(bank: Bank, params: list[Any]) -> Any:
    from solders.pubkey import Pubkey

    to = P.pubkey(params, 0, "pubkey")
    lamports = P.integer(P.arg(params, 1, "lamports"), "lamports", lo=1, hi=10**17)
    P.commitment(P.config(params, 2))
    tx = bank.airdrop_tx(Pubkey.from_string(to), lamports)
    try:
        bank.process(tx, preflight=True)
    except TxFailed as f:
        raise invalid_params(f"airdrop failed: {_describe(f.err)} ({f.err})") from None
    return str(tx.signatures[0])


def get_signature_statuses(bank: Bank, params: list[Any]) -> Any:
    sigs = P.arg(params, 0, "signatures")
    if not isinstance(sigs, list) or len(sigs) > 256:
        raise invalid_params("`signatures` must be a list of at most 256 signatures")
    cfg = P.config(params, 1)
    P.boolean(cfg, "searchTransactionHistory", False)
    out: list[dict[str, Any] | None] = []
    for i, s in enumerate(sigs):
        rec = bank.by_sig.get(P.signature_value(s, f"signatures[{i}]"))
        if rec is None:
            out.append(None)
            continue
        status = bank.status_of(rec)
        out.append(
            {
                "slot": rec.slot,
                "confirmations": None if status == "finalized" else bank.slot - rec.slot,
                "err": rec.err,
                "status": rec.status_json(),
                "confirmationStatus": status,
            }
        )
    return {"context": context(bank), "value": out}


def get_signatures_for_address(bank: Bank, params: list[Any]) -> Any:
    addr = P.pubkey(params, 0, "address")
    cfg = P.config(params, 1)
    limit = P.integer(1000 if cfg.get("limit") is None else cfg["limit"], "limit", lo=1, hi=1000)
    before = cfg.get("before")
    until = cfg.get("until")
    if before is not None:
        P.signature_value(before, "before")
    if until is not None:
        P.signature_value(until, "until")
    c = P.commitment(cfg)
    if c == "processed":
        raise invalid_params("`commitment` processed is not supported by getSignaturesForAddress")
    recs = bank.signatures_for(addr, c, before, until, limit)
    return [
        {
            "signature": r.signature,
            "slot": r.slot,
            "err": r.err,
            "memo": r.memo,
            "blockTime": r.block_time,
            "confirmationStatus": bank.status_of(r),
        }
        for r in recs
    ]


def get_transaction(bank: Bank, params: list[Any]) -> Any:
    sig = P.signature(params, 0, "signature")
    cfg = P.arg(params, 1, "config", required=False)
    if isinstance(cfg, str):  # the legacy form: the encoding itself
        cfg = {"encoding": cfg}
    elif cfg is None:
        cfg = {}
    elif not isinstance(cfg, dict):
        raise invalid_params("`config` (parameter #2) must be an object")
    encoding = P.choice(cfg, "encoding", ("json", "jsonParsed", "base64", "base58"), "json")
    c = P.commitment(cfg)
    if c == "processed":
        raise invalid_params("`commitment` processed is not supported by getTransaction")
    mv = cfg.get("maxSupportedTransactionVersion")
    if mv is not None:
        P.integer(mv, "maxSupportedTransactionVersion", hi=255)
    rec = bank.by_sig.get(sig)
    if rec is None or not bank.visible(rec, c):
        return None
    key = f"{encoding}/{mv}"
    cached = rec.cache.get(key)
    if cached is None:
        if mv is None and rec.raw and is_v0(rec.raw):
            raise rpc_blocks.unsupported_version()
        cached = rec.cache[key] = orjson.dumps(render_transaction(bank.resolve_tokens(rec), encoding, mv))
    return orjson.Fragment(cached)


METHODS: dict[str, Method] = {
    "getHealth": get_health,
    "getVersion": get_version,
    "getGenesisHash": get_genesis_hash,
    "getIdentity": get_identity,
    "getSlot": get_slot,
    "getBlockHeight": get_slot,
    "getEpochInfo": get_epoch_info,
    "getLatestBlockhash": get_latest_blockhash,
    "isBlockhashValid": is_blockhash_valid,
    "getFeeForMessage": get_fee_for_message,
    "getBlockTime": get_block_time,
    "getMinimumBalanceForRentExemption": get_minimum_balance_for_rent_exemption,
    "sendTransaction": send_transaction,
    "simulateTransaction": simulate_transaction,
    "requestAirdrop": request_airdrop,
    "getSignatureStatuses": get_signature_statuses,
    "getSignaturesForAddress": get_signatures_for_address,
    "getTransaction": get_transaction,
    **rpc_accounts.METHODS,
    **rpc_blocks.METHODS,
    **rpc_cluster.METHODS,
}


def _error(code: int, message: str, id_: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id_}


def call(bank: Bank, req: Any) -> dict[str, Any]:
    """Answer one request object; never raises."""
    if not isinstance(req, dict):
        return _error(INVALID_REQUEST, "Invalid request")
    id_ = req.get("id")
    if isinstance(id_, (dict, list)) or isinstance(id_, float):
        id_ = None
    method = req.get("method")
    if req.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(INVALID_REQUEST, "Invalid request", id_)
    fn = METHODS.get(method)
    if fn is None:
        return _error(METHOD_NOT_FOUND, "Method not found", id_)
    params = req.get("params")
    if params is None:
        params = []
    elif not isinstance(params, list):
        return {"jsonrpc": "2.0", "error": invalid_params("`params` must be an array").to_json(), "id": id_}
    try:
        return {"jsonrpc": "2.0", "result": fn(bank, params), "id": id_}
    except RpcError as e:
        return {"jsonrpc": "2.0", "error": e.to_json(), "id": id_}
    except BaseException as exc:  # a bug (or a LiteSVM panic) must not take the node down: answer -32603
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        log.exception("internal error in %s", method)
        return _error(INTERNAL_ERROR, "Internal error", id_)


def handle(bank: Bank, body: bytes) -> bytes:
    """Answer an HTTP body: one request or a batch."""
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError:
        return orjson.dumps(_error(PARSE_ERROR, "Parse error"))
    if isinstance(req, list):
        if not req:
            return orjson.dumps(_error(INVALID_REQUEST, "Invalid request"))
        return orjson.dumps([call(bank, r) for r in req])
    return orjson.dumps(call(bank, req))
