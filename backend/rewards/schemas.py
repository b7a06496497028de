"""Validation of the ``iog.rewards.input/1`` document into typed records.

Validation is strict and total: every field is checked before any arithmetic happens, unknown keys are
rejected (a misspelt field must not silently become a default), and the first problem found raises
:class:`~backend.rewards.errors.RewardsInputError` naming the field (``nodes[3].stake[1].amount``).

For speed (a million stake entries) valid input is checked column by column with C-level builtins
(:func:`_build`); only when that finds a problem does the field-by-field pass (:func:`_check_nodes`) run to
name it. Wallets get integer ids in sorted order, which the engine uses for accumulation and tie-breaks.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain, compress, repeat
from operator import ne, not_, sub
from typing import Any, NamedTuple

from solders.pubkey import Pubkey

from backend.money import BPS, U32_MAX, U64_MAX
from backend.rewards.errors import RewardsInputError

INPUT_SCHEMA = "iog.rewards.input/1"
OUTPUT_SCHEMA = "iog.rewards.output/1"

_TOP_KEYS = frozenset({"schema", "epoch", "epoch_seconds", "params", "nodes", "previous_totals"})
_PARAM_KEYS = frozenset(
    {
        "emission",
        "community_bps",
        "compute_share_bps",
        "min_uptime_bps",
        "min_continuous_uptime_seconds",
        "min_stake_per_gpu",
        "gpu_multipliers_bps",
    }
)
_NODE_KEYS = frozenset(
    {
        "node",
        "operator",
        "gpu_model",
        "gpu_units",
        "commission_bps",
        "uptime_seconds",
        "continuous_uptime_seconds",
        "verified",
        "slashed",
        "compute_gpu_seconds",
        "stake",
    }
)
_STAKE_KEYS = frozenset({"owner", "amount"})
_NODE_INTS = ("gpu_units", "uptime_seconds", "continuous_uptime_seconds", "compute_gpu_seconds")


class Params(NamedTuple):
    """The epoch's versioned parameters (amounts in base units)."""

    emission: int
    community_bps: int
    compute_share_bps: int
    min_uptime_bps: int
    min_continuous_uptime_seconds: int
    min_stake_per_gpu: int
    gpu_multipliers_bps: dict[str, int]


class NodeInput(NamedTuple):
    """One node's epoch record; its stake entries are ``EpochInput.owner_ids/amounts[stake_start:stake_end]``.

    Wallets are referred to by id: the index of the wallet in :attr:`EpochInput.wallets`, which is sorted, so
    comparing ids compares the wallets' base58 strings.
    """

    node: str
    operator: str
    operator_id: int
    gpu_model: str
    gpu_units: int
    commission_bps: int
    uptime_seconds: int
    continuous_uptime_seconds: int
    verified: bool
    slashed: bool
    compute_gpu_seconds: int
    stake_start: int
    stake_end: int
    total_stake: int
    own_stake: int


class EpochInput(NamedTuple):
    """A validated epoch input, with the stake entries of all nodes in flat columns.

    ``wallets`` are all wallets that appear (operators, stake owners, previous totals), sorted by their base58
    string; ``wallet_bytes`` and ``previous`` (0 when absent) are parallel to it. ``owner_ids``, ``amounts``
    and ``delegated`` (the owner is not the node's operator) hold one element per stake entry, node after
    node in input order; node ``k``'s entries are ``offsets[k]:offsets[k + 1]``.
    """

    epoch: int
    epoch_seconds: int
    params: Params
    nodes: list[NodeInput]
    owner_ids: array[int]
    amounts: list[int]
    delegated: list[bool]
    offsets: list[int]
    wallets: list[str]
    wallet_bytes: list[bytes]
    previous: list[int]


def _fail(field: str, problem: str) -> RewardsInputError:
    return RewardsInputError(field, problem)


def parse_amount(value: Any, field: str) -> int:
    """Parse a canonical decimal string of base units (``"0"`` .. ``"18446744073709551615"``)."""
    if type(value) is not str:
        raise _fail(field, f"must be a decimal string of base units, got {type(value).__name__}")
    if not (value.isascii() and value.isdigit()):
        raise _fail(field, f"must be a non-negative integer decimal string, got {value!r}")
    if len(value) > 1 and value[0] == "0":
        raise _fail(field, f"must not have leading zeros, got {value!r}")
    if len(value) > 20 or int(value) > U64_MAX:
        raise _fail(field, f"exceeds u64 maximum {U64_MAX}")
    return int(value)


def parse_pubkey(value: Any, field: str) -> bytes:
    """Decode a base58 pubkey string of exactly 32 bytes."""
    if type(value) is not str:
        raise _fail(field, f"must be a base58 pubkey string, got {type(value).__name__}")
    try:
        return bytes(Pubkey.from_string(value))
    except ValueError:
        raise _fail(field, f"is not a base58 pubkey of 32 bytes: {value!r}") from None


def _int(value: Any, field: str, maximum: int = U64_MAX, minimum: int = 0) -> int:
    if type(value) is not int:
        raise _fail(field, f"must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise _fail(field, f"must be >= {minimum}, got {value}")
    if value > maximum:
        limit = {BPS: "10000 (bps)", U32_MAX: f"{U32_MAX} (u32)"}.get(maximum, f"{maximum} (u64)")
        raise _fail(field, f"must be <= {limit}, got {value}")
    return value


def _bps(value: Any, field: str) -> int:
    return _int(value, field, BPS)


def _bool(value: Any, field: str) -> bool:
    if type(value) is not bool:
        raise _fail(field, f"must be true or false, got {type(value).__name__}")
    return value


def _object(value: Any, field: str, keys: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(field, f"must be an object, got {type(value).__name__}")
    if value.keys() != keys:
        missing = sorted(keys - value.keys())
        if missing:
            raise _fail(f"{field}.{missing[0]}" if field else missing[0], "is required")
        extra = sorted(str(k) for k in value.keys() - keys)
        raise _fail(f"{field}.{extra[0]}" if field else extra[0], "is not a known field")
    return value


def _params(raw: Any) -> Params:
    p = _object(raw, "params", _PARAM_KEYS)
    multipliers = p["gpu_multipliers_bps"]
    if not isinstance(multipliers, Mapping):
        raise _fail("params.gpu_multipliers_bps", "must be an object of gpu model -> bps")
    checked: dict[str, int] = {}
    for model, bps in multipliers.items():
        # A multiplier may exceed 10000 (an H100 may count as 2.5 base GPUs = 25000 bps); bounded by u32.
        checked[model] = _int(bps, f"params.gpu_multipliers_bps.{model}", U32_MAX)
    return Params(
        emission=parse_amount(p["emission"], "params.emission"),
        community_bps=_bps(p["community_bps"], "params.community_bps"),
        compute_share_bps=_bps(p["compute_share_bps"], "params.compute_share_bps"),
        min_uptime_bps=_bps(p["min_uptime_bps"], "params.min_uptime_bps"),
        min_continuous_uptime_seconds=_int(p["min_continuous_uptime_seconds"], "params.min_continuous_uptime_seconds"),
        min_stake_per_gpu=parse_amount(p["min_stake_per_gpu"], "params.min_stake_per_gpu"),
        gpu_multipliers_bps=checked,
    )


def validate_params(raw: Any) -> Params:
    """Validate an input's ``params`` object alone (the same rules as in :func:`validate_input`)."""
    return _params(raw)


def _check_nodes(raw_nodes: list[Any]) -> None:
    """Check the nodes one field at a time and raise on the first problem (the error-reporting path)."""
    seen_nodes: set[str] = set()
    for i, raw in enumerate(raw_nodes):
        _object(raw, f"nodes[{i}]", _NODE_KEYS)
        for key in ("node", "operator"):
            parse_pubkey(raw[key], f"nodes[{i}].{key}")
        if raw["node"] in seen_nodes:
            raise _fail(f"nodes[{i}].node", f"duplicate node {raw['node']}")
        seen_nodes.add(raw["node"])
        if type(raw["gpu_model"]) is not str:
            raise _fail(f"nodes[{i}].gpu_model", "must be a string")
        for key in _NODE_INTS:
            _int(raw[key], f"nodes[{i}].{key}")
        _bps(raw["commission_bps"], f"nodes[{i}].commission_bps")
        _bool(raw["verified"], f"nodes[{i}].verified")
        _bool(raw["slashed"], f"nodes[{i}].slashed")
        stake = raw["stake"]
        if type(stake) is not list:
            raise _fail(f"nodes[{i}].stake", "must be a list")
        owners: set[str] = set()
        for j, e in enumerate(stake):
            _object(e, f"nodes[{i}].stake[{j}]", _STAKE_KEYS)
            parse_pubkey(e["owner"], f"nodes[{i}].stake[{j}].owner")
            if e["owner"] in owners:
                raise _fail(f"nodes[{i}].stake[{j}].owner", f"duplicate owner {e['owner']} within the node")
            owners.add(e["owner"])
            parse_amount(e["amount"], f"nodes[{i}].stake[{j}].amount")


def _check_previous(raw_totals: Mapping[str, Any]) -> None:
    for wallet, amount in raw_totals.items():
        parse_pubkey(wallet, f"previous_totals.{wallet}")
        parse_amount(amount, f"previous_totals.{wallet}")


def _ints_ok(values: list[Any], maximum: int = U64_MAX) -> bool:
    """All plain ints (not bools) in [0, maximum]."""
    return not values or (set(map(type, values)) == {int} and min(values) >= 0 and max(values) <= maximum)


def _amounts(values: list[Any]) -> list[int] | None:
    """Canonical decimal strings (ASCII digits, no leading zero, at most u64) -> ints; None if any is not."""
    if not values:
        return []
    if set(map(type, values)) != {str}:
        return None
    # Scans of the joined text instead of per-value calls: only digits and one separator per value, no
    # empty value, and every value that starts with "0" (",0" in the text) is exactly "0".
    joined = "," + ",".join(values)
    if not joined.isascii() or joined.encode("ascii").translate(None, b"0123456789,"):
        return None
    if joined.count(",") != len(values) or ",," in joined or joined.endswith(","):
        return None
    if joined.count(",0") != values.count("0"):
        return None
    ints = list(map(int, values))  # without leading zeros, more than 20 digits is over u64 too
    return ints if max(ints) <= U64_MAX else None


def per_entry(values: Iterable[Any], counts: list[int]) -> Iterator[Any]:
    """Each node's value repeated once per stake entry of the node (``counts`` entries per node)."""
    return chain.from_iterable(map(repeat, values, counts))


def _slices(values: Sequence[int], offsets: list[int]) -> Iterator[Sequence[int]]:
    """``values[offsets[k]:offsets[k + 1]]`` for every k."""
    return map(values.__getitem__, map(slice, offsets, offsets[1:]))


def _build(
    epoch: int, epoch_seconds: int, params: Params, raw_nodes: list[Any], raw_totals: Mapping[str, Any]
) -> EpochInput | None:
    """Validate and convert nodes and totals column by column; None when anything is off.

    Every check here runs over a whole column with C-level builtins; :func:`_check_nodes` finds and names the
    problem when this returns None.
    """
    if raw_nodes and set(map(type, raw_nodes)) != {dict}:
        return None
    if not all(n.keys() == _NODE_KEYS for n in raw_nodes):
        return None
    col = {key: [n[key] for n in raw_nodes] for key in _NODE_KEYS}
    if not all(_ints_ok(col[key]) for key in _NODE_INTS) or not _ints_ok(col["commission_bps"], BPS):
        return None
    for key, kind in (
        ("verified", bool),
        ("slashed", bool),
        ("gpu_model", str),
        ("node", str),
        ("operator", str),
    ):
        if raw_nodes and set(map(type, col[key])) != {kind}:
            return None
    node_keys: list[str] = col["node"]
    operators: list[str] = col["operator"]
    if len(set(node_keys)) != len(node_keys):
        return None
    list(map(Pubkey.from_string, node_keys))
    stakes = col["stake"]
    if stakes and set(map(type, stakes)) != {list}:
        return None
    entries = list(chain.from_iterable(stakes))
    # Exactly two keys; a missing "owner" or "amount" raises KeyError below (and so returns None).
    if entries and (set(map(type, entries)) != {dict} or set(map(len, entries)) != {2}):
        return None
    owners = [e["owner"] for e in entries]
    amounts = _amounts([e["amount"] for e in entries])
    if amounts is None or (owners and set(map(type, owners)) != {str}):
        return None
    previous_keys = list(raw_totals)
    previous_amounts = _amounts(list(raw_totals.values()))
    if previous_amounts is None or (previous_keys and set(map(type, previous_keys)) != {str}):
        return None
    # Each distinct wallet is decoded once; ids are ranks in string order. The wallets are copied (join and
    # split) into fresh strings that lie in memory in sorted order: every later pass over them (decoding,
    # the id map, the output document) then reads memory sequentially instead of all over the input.
    distinct = sorted(set(owners).union(operators, previous_keys))
    wallets = "\n".join(distinct).split("\n") if distinct else []
    if len(wallets) != len(distinct):
        return None  # a newline inside a wallet string (not base58)
    del distinct
    wallet_bytes = list(map(bytes, map(Pubkey.from_string, wallets)))
    index = dict(zip(wallets, range(len(wallets)), strict=True))
    # Stored unboxed: the id int objects are scattered in memory, and later passes over a million entries
    # would chase a pointer to one of them per entry.
    owner_ids = array("l", list(map(index.__getitem__, owners)))
    operator_ids = list(map(index.__getitem__, operators))
    counts = list(map(len, stakes))
    offsets = [0, *accumulate(counts)]
    if sum(map(len, map(set, _slices(owner_ids, offsets)))) != len(owner_ids):
        return None  # an owner twice within a node
    previous = [0] * len(wallets)
    for wallet, amount in zip(previous_keys, previous_amounts, strict=True):
        previous[index[wallet]] = amount
    delegated = list(map(ne, owner_ids, per_entry(operator_ids, counts)))
    totals = segment_sums(amounts, offsets)
    owns = [0] * len(raw_nodes)  # owners are distinct within a node: at most one own entry per node
    for k, amount in zip(
        compress(per_entry(range(len(raw_nodes)), counts), map(not_, delegated)),
        compress(amounts, map(not_, delegated)),
        strict=True,
    ):
        owns[k] = amount
    nodes = [
        NodeInput(n, op, oid, gm, gu, cb, up, cu, ve, sl, cg, s, e, t, o)
        for n, op, oid, gm, gu, cb, up, cu, ve, sl, cg, s, e, t, o in zip(
            node_keys,
            operators,
            operator_ids,
            col["gpu_model"],
            col["gpu_units"],
            col["commission_bps"],
            col["uptime_seconds"],
            col["continuous_uptime_seconds"],
            col["verified"],
            col["slashed"],
            col["compute_gpu_seconds"],
            offsets,
            offsets[1:],
            totals,
            owns,
            strict=False,
        )
    ]
    return EpochInput(
        epoch,
        epoch_seconds,
        params,
        nodes,
        owner_ids,
        amounts,
        delegated,
        offsets,
        wallets,
        wallet_bytes,
        previous,
    )


def segment_sums(values: list[int], offsets: list[int]) -> list[int]:
    """Sums of ``values[offsets[k]:offsets[k + 1]]`` for every k, via one prefix sum."""
    prefix = [0, *accumulate(values)]
    at = list(map(prefix.__getitem__, offsets))
    return list(map(sub, at[1:], at[:-1]))


def validate_input(raw: Any) -> EpochInput:
    """Validate a parsed ``iog.rewards.input/1`` document.

    Args:
        raw: The document as parsed from JSON (dicts, lists, str, int, bool).

    Returns:
        The typed, validated input.

    Raises:
        RewardsInputError: The first invalid field, named in the message.
    """
    doc = _object(raw, "", _TOP_KEYS)
    if doc["schema"] != INPUT_SCHEMA:
        raise _fail("schema", f"must be {INPUT_SCHEMA!r}, got {doc['schema']!r}")
    epoch = _int(doc["epoch"], "epoch")
    epoch_seconds = _int(doc["epoch_seconds"], "epoch_seconds", minimum=1)
    params = _params(doc["params"])
    raw_nodes = doc["nodes"]
    if type(raw_nodes) is not list:
        raise _fail("nodes", "must be a list")
    raw_totals = doc["previous_totals"]
    if not isinstance(raw_totals, Mapping):
        raise _fail("previous_totals", "must be an object of wallet -> amount")
    try:
        built = _build(epoch, epoch_seconds, params, raw_nodes, raw_totals)
    except (TypeError, ValueError, KeyError, AttributeError):
        built = None
    if built is None:
        _check_nodes(raw_nodes)
        _check_previous(raw_totals)
        raise RuntimeError("column validation rejected an input that the field checks accept")  # a bug
    return built
