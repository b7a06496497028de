"""Cluster JSON-RPC methods: epoch schedule, supply, leaders, block production, vote accounts, nodes.

The embedded node is a cluster of one: its identity leads every slot and produced every block; it has no
stake, no vote account of its own, no gossip, no snapshots and no inflation. Every answer has the shape a
validator gives, with those single-node values; vote accounts that transactions created are listed as they
are (unstaked, so delinquent unless they vote).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from solders.hash import Hash
from solders.pubkey import Pubkey

from localnet import params as P
from localnet.constants import (
    CORE_VERSION,
    DELINQUENT_SLOT_DISTANCE,
    EPOCH_CREDITS_HISTORY,
    FEATURE_SET,
    MAX_SLOT_LEADERS,
    NO_SNAPSHOT,
    NUM_LARGEST_ACCOUNTS,
    SLOT_HISTORY_MAX,
    SLOTS_PER_EPOCH,
    STAKE_MIN_DELEGATION_1_SOL_FEATURE,
    VOTE_PROGRAM,
)
from localnet.errors import RpcError, invalid_params
from localnet.parsers import read_vote_state
from localnet.rpc_blocks import memo
from localnet.svm import FEATURES

if TYPE_CHECKING:
    from localnet.bank import Bank


def _ctx(slot: int) -> dict[str, Any]:
    return {"apiVersion": CORE_VERSION, "slot": slot}


def _identity(bank: Bank) -> str:
    return str(bank.identity.pubkey())


def _identity_filter(cfg: dict[str, Any]) -> str | None:
    v = cfg.get("identity")
    return None if v is None else P.pubkey_value(v, "identity")


# --- epochs and economics -------------------------------------------------------------------------------


def get_epoch_schedule(bank: Bank, params: list[Any]) -> Any:
    es = bank.svm.get_epoch_schedule()
    return {
        "slotsPerEpoch": es.slots_per_epoch,
        "leaderScheduleSlotOffset": es.leader_schedule_slot_offset,
        "warmup": es.warmup,
        "firstNormalEpoch": es.first_normal_epoch,
        "firstNormalSlot": es.first_normal_slot,
    }


def _balances(bank: Bank, commitment: str) -> list[tuple[str, int]]:
    """(address, lamports) of every account the node knows, as ``commitment`` sees them."""
    slot = bank.commitment_slot(commitment)

    def scan() -> list[tuple[str, int]]:
        out = []
        for pk in bank.known_accounts():
            acc = bank.get_account(pk, commitment)
            if acc is not None and acc.lamports:
                out.append((pk, acc.lamports))
        return out

    return memo(bank, ("balances", commitment, slot, len(bank.txs), len(bank.owner_of)), scan)  # type: ignore[no-any-return]


def get_supply(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 0)
    c = P.commitment(cfg)
    P.boolean(cfg, "excludeNonCirculatingAccountsList", False)
    total = sum(lamports for _pk, lamports in _balances(bank, c))
    # no lockups or foundation accounts here: every lamport circulates (the faucet too, as on a test validator)
    value = {"total": total, "circulating": total, "nonCirculating": 0, "nonCirculatingAccounts": []}
    return {"context": _ctx(bank.commitment_slot(c)), "value": value}


def get_largest_accounts(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 0)
    c = P.commitment(cfg)
    flt = cfg.get("filter")
    if flt is not None and flt not in ("circulating", "nonCirculating"):
        raise invalid_params(f"`filter` must be circulating or nonCirculating, not {flt!r}")
    P.boolean(cfg, "sortResults", True)
    rows: list[tuple[str, int]] = [] if flt == "nonCirculating" else _balances(bank, c)
    top = sorted(rows, key=lambda r: (r[1], bytes(Pubkey.from_string(r[0]))), reverse=True)
    value = [{"address": pk, "lamports": lamports} for pk, lamports in top[:NUM_LARGEST_ACCOUNTS]]
    return {"context": _ctx(bank.commitment_slot(c)), "value": value}


def get_inflation_rate(bank: Bank, params: list[Any]) -> Any:
    # LiteSVM pays no epoch rewards: the honest rate of this cluster is zero
    epoch = bank.commitment_slot("finalized") // SLOTS_PER_EPOCH
    return {"total": 0.0, "validator": 0.0, "foundation": 0.0, "epoch": epoch}


def get_stake_minimum_delegation(bank: Bank, params: list[Any]) -> Any:
    c = P.commitment(P.config(params, 0))
    one_sol = FEATURES.is_active(Pubkey.from_string(STAKE_MIN_DELEGATION_1_SOL_FEATURE))
    return {"context": _ctx(bank.commitment_slot(c)), "value": 10**9 if one_sol else 1}


def get_highest_snapshot_slot(bank: Bank, params: list[Any]) -> Any:
    raise RpcError(NO_SNAPSHOT, "No snapshot")  # the ledger file is not a snapshot archive


def get_max_slot(bank: Bank, params: list[Any]) -> Any:
    # getMaxRetransmitSlot / getMaxShredInsertSlot: the only shreds are the node's own, up to its slot
    return bank.slot


# --- leaders and production -----------------------------------------------------------------------------


def get_slot_leader(bank: Bank, params: list[Any]) -> Any:
    P.commitment(P.config(params, 0))
    return _identity(bank)


def get_slot_leaders(bank: Bank, params: list[Any]) -> Any:
    start = P.integer(P.arg(params, 0, "startSlot"), "startSlot")
    limit = P.integer(P.arg(params, 1, "limit"), "limit")
    if limit > MAX_SLOT_LEADERS:
        raise invalid_params(f"Invalid limit; max {MAX_SLOT_LEADERS}")
    known = bank.commitment_slot("finalized") // SLOTS_PER_EPOCH + 1  # the leader-schedule epoch
    if limit and (start + limit - 1) // SLOTS_PER_EPOCH > known:
        epoch = max(start // SLOTS_PER_EPOCH, known + 1)
        raise invalid_params(f"Invalid slot range: leader schedule for epoch {epoch} is unavailable")
    return [_identity(bank)] * limit


def get_leader_schedule(bank: Bank, params: list[Any]) -> Any:
    first = P.arg(params, 0, "slot", required=False)
    if isinstance(first, dict):  # getLeaderSchedule(config)
        slot, cfg = None, first
    else:
        slot = None if first is None else P.integer(first, "slot")
        cfg = P.config(params, 1)
    identity = _identity_filter(cfg)
    at = bank.commitment_slot(P.commitment(cfg))
    epoch = (at if slot is None else slot) // SLOTS_PER_EPOCH
    if epoch > at // SLOTS_PER_EPOCH + 1:
        return None  # not computed yet, as on a validator
    me = _identity(bank)
    if identity is not None and identity != me:
        return {}
    return memo(bank, ("leaders", me), lambda: orjson.Fragment(orjson.dumps({me: list(range(SLOTS_PER_EPOCH))})))


def get_block_production(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 0)
    identity = _identity_filter(cfg)
    top = bank.commitment_slot(P.commitment(cfg))
    rng = cfg.get("range")
    if rng is None:
        first, last = top - top % SLOTS_PER_EPOCH, top
    else:
        if not isinstance(rng, dict):
            raise invalid_params("`range` must be an object {firstSlot, lastSlot}")
        first = P.integer(rng.get("firstSlot"), "range.firstSlot")
        last = top if rng.get("lastSlot") is None else P.integer(rng["lastSlot"], "range.lastSlot")
        if last < first:
            raise invalid_params(f"lastSlot, {last}, cannot be less than firstSlot, {first}")
    oldest = max(0, top + 1 - SLOT_HISTORY_MAX)
    if first < oldest:
        raise invalid_params(f"firstSlot, {first}, is too small; min {oldest}")
    if last > top:
        raise invalid_params(f"lastSlot, {last}, is too large; max {top}")
    me = _identity(bank)
    n = last - first + 1  # every slot of the range was the node's, and it produced a block in each
    by_identity = {} if identity is not None and identity != me else {me: [n, n]}
    value = {"byIdentity": by_identity, "range": {"firstSlot": first, "lastSlot": last}}
    return {"context": _ctx(top), "value": value}


# --- nodes and votes ------------------------------------------------------------------------------------


def _shred_version(genesis_hash: str) -> int:
    """A validator's shred version: the genesis hash folded to 16 bits by XOR, plus one (no hard forks)."""
    raw = bytes(Hash.from_string(genesis_hash))
    a = b = 0
    for i in range(0, len(raw), 2):
        a ^= raw[i]
        b ^= raw[i + 1]
    return min(0xFFFF, (a << 8 | b) + 1)


def get_cluster_nodes(bank: Bank, params: list[Any]) -> Any:
    # the node itself, with the addresses it serves; it has no gossip, TPU, TVU or repair sockets
    return [
        {
            "pubkey": _identity(bank),
            "gossip": None,
            "tvu": None,
            "tpu": None,
            "tpuQuic": None,
            "tpuForwards": None,
            "tpuForwardsQuic": None,
            "tpuVote": None,
            "serveRepair": None,
            "rpc": bank.contact.get("rpc"),
            "pubsub": bank.contact.get("pubsub"),
            "version": CORE_VERSION,
            "featureSet": FEATURE_SET,
            "shredVersion": _shred_version(bank.genesis_hash),
        }
    ]


def get_vote_accounts(bank: Bank, params: list[Any]) -> Any:
    cfg = P.config(params, 0)
    only = cfg.get("votePubkey")
    if only is not None:
        only = P.pubkey_value(only, "votePubkey")
    c = P.commitment(cfg)
    keep = P.boolean(cfg, "keepUnstakedDelinquents", False)
    v = cfg.get("delinquentSlotDistance")
    distance = DELINQUENT_SLOT_DISTANCE if v is None else P.integer(v, "delinquentSlotDistance")
    slot = bank.commitment_slot(c)
    current: list[dict[str, Any]] = []
    delinquent: list[dict[str, Any]] = []
    for pk in bank.accounts_of_program(VOTE_PROGRAM):
        if only is not None and pk != only:
            continue
        acc = bank.get_account(pk, c)
        state = read_vote_state(bytes(acc.data)) if acc is not None and str(acc.owner) == VOTE_PROGRAM else None
        if state is None:
            continue
        # no stake ever activates here (no epoch boundary processing): every vote account is unstaked
        info = {"votePubkey": pk, "activatedStake": 0, "epochVoteAccount": False, **state}
        info["epochCredits"] = state["epochCredits"][-EPOCH_CREDITS_HISTORY:]
        last = state["lastVote"]
        voting = last > slot - distance if slot >= distance else last > 0
        (current if voting else delinquent).append(info)
    if not keep:
        delinquent = [d for d in delinquent if d["activatedStake"] > 0]
    return {"current": current, "delinquent": delinquent}


METHODS = {
    "getEpochSchedule": get_epoch_schedule,
    "getSupply": get_supply,
    "getLargestAccounts": get_largest_accounts,
    "getInflationRate": get_inflation_rate,
    "getStakeMinimumDelegation": get_stake_minimum_delegation,
    "getHighestSnapshotSlot": get_highest_snapshot_slot,
    "getMaxRetransmitSlot": get_max_slot,
    "getMaxShredInsertSlot": get_max_slot,
    "getSlotLeader": get_slot_leader,
    "getSlotLeaders": get_slot_leaders,
    "getLeaderSchedule": get_leader_schedule,
    "getBlockProduction": get_block_production,
    "getClusterNodes": get_cluster_nodes,
    "getVoteAccounts": get_vote_accounts,
}
