"""Block and ledger-history JSON-RPC methods: getBlock, getBlocks, fees and performance samples.

Every slot of the embedded node is one block produced by its identity: slot ``s`` has blockhash
``blockhash_at(s)`` (what getLatestBlockhash returned while the node was at ``s``), parent ``s - 1``, block
height ``s`` and the block time of the slot; its transactions are the ledger's records of that slot, in the
order they landed. A block is served at a commitment once its slot is visible there, like a transaction.
Blocks are immutable once confirmed, so their renderings are kept in the bank's bounded memo.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from solders.transaction import VersionedTransaction

from localnet import params as P
from localnet.constants import (
    COMPUTE_BUDGET_PROGRAM,
    MAX_BLOCKS_RANGE,
    MAX_PERF_SAMPLES,
    MAX_PRIORITY_FEE_ACCOUNTS,
    PERF_SAMPLE_SECS,
    PRIORITY_FEE_BLOCKS,
    SLOT_SKIPPED,
)
from localnet.errors import (
    BLOCK_NOT_AVAILABLE,
    UNSUPPORTED_TRANSACTION_VERSION,
    RpcError,
    invalid_params,
)
from localnet.records import TxRecord, is_v0, render_accounts_entry, render_transaction

if TYPE_CHECKING:
    from localnet.bank import Bank

MEMO_SIZE = 64


def memo(bank: Bank, key: Any, make: Callable[[], Any]) -> Any:
    """``make()`` once per ``key`` while it stays among the bank's last :data:`MEMO_SIZE` renderings."""
    cache = bank.memo
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = make()
    while len(cache) > MEMO_SIZE:
        cache.popitem(last=False)
    return value


def unsupported_version() -> RpcError:
    """-32015: a v0 transaction asked for without ``maxSupportedTransactionVersion``."""
    return RpcError(
        UNSUPPORTED_TRANSACTION_VERSION,
        "Transaction version (0) is not supported by the requesting client. Please try the request again "
        'with the following configuration parameter: "maxSupportedTransactionVersion": 0',
    )


def at_least_confirmed(cfg: dict[str, Any]) -> str:
    """The commitment of a ledger-history method: confirmed or finalized (the default)."""
    c = P.commitment(cfg)
    if c == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")
    return c


# --- blocks ---------------------------------------------------------------------------------------------


def _block_entry(
    bank: Bank, rec: TxRecord, encoding: str, details: str, rewards: bool, mv: int | None
) -> dict[str, Any]:
    rec = bank.resolve_tokens(rec)
    if details == "accounts":
        return render_accounts_entry(rec, mv, rewards)
    full = render_transaction(rec, encoding, mv)
    entry: dict[str, Any] = {"transaction": full["transaction"], "meta": full["meta"]}
    if not rewards:
        entry["meta"]["rewards"] = None
    if "version" in full:
        entry["version"] = full["version"]
    return entry


def _render_block(bank: Bank, slot: int, encoding: str, details: str, rewards: bool, mv: int | None) -> Any:
    recs = bank.txs_in_slot(slot)
    parent = max(0, slot - 1)  # genesis (slot 0) is its own parent, as in a validator's blockstore
    block: dict[str, Any] = {
        "blockHeight": slot,
        "blockTime": bank.slot_times[slot],
        "blockhash": bank.blockhash_at(slot),
        "parentSlot": parent,
        "previousBlockhash": bank.blockhash_at(parent),
    }
    if details in ("full", "accounts"):
        if mv is None and any(is_v0(r.raw) for r in recs):
            raise unsupported_version()
        block["transactions"] = [_block_entry(bank, r, encoding, details, rewards, mv) for r in recs]
    elif details == "signatures":
        block["signatures"] = [r.signature for r in recs]
    if rewards:
        block["rewards"] = []  # LiteSVM burns every fee: no leader is credited, so a block has no rewards
    return orjson.Fragment(orjson.dumps(block))


def get_block(bank: Bank, params: list[Any]) -> Any:
    slot = P.integer(P.arg(params, 0, "slot"), "slot")
    cfg = P.arg(params, 1, "config", required=False)
    if isinstance(cfg, str):  # the legacy form: the encoding itself
        cfg = {"encoding": cfg}
    elif cfg is None:
        cfg = {}
    elif not isinstance(cfg, dict):
        raise invalid_params("`config` (parameter #2) must be an object")
    encoding = P.choice(cfg, "encoding", ("json", "jsonParsed", "base64", "base58"), "json")
    details = P.choice(cfg, "transactionDetails", ("full", "accounts", "signatures", "none"), "full")
    rewards = P.boolean(cfg, "rewards", True)
    c = at_least_confirmed(cfg)
    mv = cfg.get("maxSupportedTransactionVersion")
    if mv is not None:
        P.integer(mv, "maxSupportedTransactionVersion", hi=255)
    if slot > bank.commitment_slot(c):
        raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
    if slot not in bank.slot_times:
        raise RpcError(SLOT_SKIPPED, f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot")
    # a confirmed block never changes: only v0 vs legacy matters of the version number, as v0 is the only one
    key = ("block", slot, encoding, details, rewards, mv is not None)
    return memo(bank, key, lambda: _render_block(bank, slot, encoding, details, rewards, mv))


def get_blocks(bank: Bank, params: list[Any]) -> Any:
    start = P.integer(P.arg(params, 0, "startSlot"), "startSlot")
    second = P.arg(params, 1, "endSlot", required=False)
    if isinstance(second, dict):  # getBlocks(start, config)
        end, cfg = None, second
    else:
        end = None if second is None else P.integer(second, "endSlot")
        cfg = P.config(params, 2)
    top = bank.commitment_slot(at_least_confirmed(cfg))
    end = min(start + MAX_BLOCKS_RANGE if end is None else end, top)
    if end < start:
        return []
    if end - start > MAX_BLOCKS_RANGE:
        raise invalid_params(f"Slot range too large; max {MAX_BLOCKS_RANGE}")
    return list(range(start, end + 1))  # no slot is ever skipped: each one is a block


def get_blocks_with_limit(bank: Bank, params: list[Any]) -> Any:
    start = P.integer(P.arg(params, 0, "startSlot"), "startSlot")
    limit = P.integer(P.arg(params, 1, "limit"), "limit")
    if limit > MAX_BLOCKS_RANGE:
        raise invalid_params(f"Limit too large; max {MAX_BLOCKS_RANGE}")
    top = bank.commitment_slot(at_least_confirmed(P.config(params, 2)))
    return list(range(start, min(start + limit, top + 1)))


def get_block_commitment(bank: Bank, params: list[Any]) -> Any:
    P.integer(P.arg(params, 0, "block"), "block")
    # no stake votes on this node: no block has a commitment array, and the total stake is zero
    return {"commitment": None, "totalStake": 0}


def get_transaction_count(bank: Bank, params: list[Any]) -> Any:
    return bank.tx_count_through(bank.commitment_slot(P.commitment(P.config(params, 0))))


def get_first_available_block(bank: Bank, params: list[Any]) -> Any:
    return 0  # the ledger keeps every block since genesis


def minimum_ledger_slot(bank: Bank, params: list[Any]) -> Any:
    return 0


# --- fees and samples -----------------------------------------------------------------------------------


def compute_unit_price(rec: TxRecord) -> int | None:
    """The SetComputeUnitPrice of a transaction in micro-lamports (0 without one); None when it does not count
    (a zero compute-unit limit or a repeated compute-budget instruction, as a validator excludes them)."""
    msg = VersionedTransaction.from_bytes(rec.raw).message
    price = limit = None
    for ix in msg.instructions:
        if rec.keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM:
            continue
        data = bytes(ix.data)
        if data[:1] == b"\x03" and len(data) >= 9:
            if price is not None:
                return None
            price = int.from_bytes(data[1:9], "little")
        elif data[:1] == b"\x02" and len(data) >= 5:
            if limit is not None:
                return None
            limit = int.from_bytes(data[1:5], "little")
    if limit == 0:
        return None
    return price or 0


def _slot_fees(bank: Bank, slot: int) -> tuple[int, dict[str, int]] | None:
    """(lowest price in the block, lowest price per written account), or None for a block without any."""
    block_min: int | None = None
    per_account: dict[str, int] = {}
    for rec in bank.txs_in_slot(slot):
        price = compute_unit_price(rec)
        if price is None:
            continue
        block_min = price if block_min is None else min(block_min, price)
        for key, writable in zip(rec.keys, rec.writable, strict=True):
            if writable:
                per_account[key] = min(per_account.get(key, price), price)
    return None if block_min is None else (block_min, per_account)


def get_recent_prioritization_fees(bank: Bank, params: list[Any]) -> Any:
    v = P.arg(params, 0, "addresses", required=False)
    if v is None:
        v = []
    if not isinstance(v, list):
        raise invalid_params("`addresses` must be a list of public keys")
    if len(v) > MAX_PRIORITY_FEE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_PRIORITY_FEE_ACCOUNTS}")
    keys = [P.pubkey_value(k, f"addresses[{i}]") for i, k in enumerate(v)]
    # like a validator's cache: the last 150 confirmed blocks that had transactions, oldest first
    slots: list[int] = []
    i = bank.tx_count_through(bank.commitment_slot("confirmed"))
    while i > 0 and len(slots) < PRIORITY_FEE_BLOCKS:
        slot = bank.tx_slots[i - 1]
        slots.append(slot)
        i = bisect_right(bank.tx_slots, slot - 1)
    out = []
    for slot in reversed(slots):
        fees = memo(bank, ("fees", slot), lambda s=slot: _slot_fees(bank, s))  # type: ignore[misc]
        if fees is None:
            continue
        fee = fees[0]
        for k in keys:
            fee = max(fee, fees[1].get(k, fee))
        out.append({"slot": slot, "prioritizationFee": fee})
    return out


def _last_slot_at(bank: Bank, t: int) -> int:
    """The last slot that began at or before unix time ``t`` (-1 if none)."""
    times = bank.slot_times
    return bisect_right(range(bank.slot + 1), t, key=lambda s: times.get(s, 0)) - 1


def get_recent_performance_samples(bank: Bank, params: list[Any]) -> Any:
    v = P.arg(params, 0, "limit", required=False)
    limit = MAX_PERF_SAMPLES if v is None else P.integer(v, "limit")
    if limit > MAX_PERF_SAMPLES:
        raise invalid_params(f"Invalid limit; max {MAX_PERF_SAMPLES}")
    # a validator samples every 60 s; here the samples are read back from the ledger's slot times: one per
    # whole 60 s since genesis, newest first, skipping periods the node was down
    t0 = bank.slot_times[0]
    k = (bank.slot_times[bank.slot] - t0) // PERF_SAMPLE_SECS
    out: list[dict[str, Any]] = []
    end_slot = _last_slot_at(bank, t0 + k * PERF_SAMPLE_SECS)
    while k >= 1 and len(out) < limit:
        start_slot = _last_slot_at(bank, t0 + (k - 1) * PERF_SAMPLE_SECS)
        if end_slot <= start_slot:  # the node was down: jump to the period of the last slot it had
            k = min(k - 1, -(-(bank.slot_times.get(end_slot, t0) - t0) // PERF_SAMPLE_SECS))
            continue
        n = bank.tx_count_through(end_slot) - bank.tx_count_through(start_slot)
        out.append(
            {
                "slot": end_slot,
                "numTransactions": n,
                "numNonVoteTransactions": n,  # no vote transactions on this node
                "numSlots": end_slot - start_slot,
                "samplePeriodSecs": PERF_SAMPLE_SECS,
            }
        )
        end_slot = start_slot
        k -= 1
    return out


METHODS = {
    "getBlock": get_block,
    "getBlocks": get_blocks,
    "getBlocksWithLimit": get_blocks_with_limit,
    "getBlockCommitment": get_block_commitment,
    "getTransactionCount": get_transaction_count,
    "getFirstAvailableBlock": get_first_available_block,
    "minimumLedgerSlot": minimum_ledger_slot,
    "getRecentPrioritizationFees": get_recent_prioritization_fees,
    "getRecentPerformanceSamples": get_recent_performance_samples,
}
