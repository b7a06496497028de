"""Pure decoders: ``eth_getLogs`` JSON -> :class:`DecodedLog` records. No I/O, no clock.

A malformed log (wrong topic count, data that is not one 32-byte word, non-hex fields, a missing field) gives
``None`` and a warning: the indexer loop never crashes on what a node returned. A log marked ``removed`` (a
node's own reorg notice) is skipped: the indexer sees reorgs through block hashes instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from backend.evm.contracts import PAID_TOPIC, TRANSFER_TOPIC
from backend.models.evm import PAID, TRANSFER_IN, TRANSFER_OUT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedLog:
    """One Paid or Transfer log; ``amount`` is the exact uint256."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    tx_index: int
    kind: str
    contract: str
    invoice_id: str | None
    payer: str
    recipient: str
    amount: int


def _hex32(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError(f"not a 32-byte hex word: {str(value)[:80]}")
    int(value, 16)
    return value.lower()


def _word_address(topic: str) -> str:
    word = _hex32(topic)
    if word[2:26] != "0" * 24:
        raise ValueError(f"topic is not an address: {word}")
    return "0x" + word[26:]


def _int(value: Any) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"not a hex quantity: {str(value)[:80]}")
    return int(value, 16)


def _common(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "tx_hash": _hex32(raw["transactionHash"]),
        "log_index": _int(raw["logIndex"]),
        "block_number": _int(raw["blockNumber"]),
        "block_hash": _hex32(raw["blockHash"]),
        "tx_index": _int(raw["transactionIndex"]),
        "contract": str(raw["address"]).lower(),
    }


def decode_log(raw: Any, treasury: str) -> DecodedLog | None:
    """Decode a Paid log, or a Transfer log into or out of ``treasury``; None (with a warning) otherwise."""
    try:
        if not isinstance(raw, dict):
            raise ValueError("log is not an object")
        if raw.get("removed"):
            return None
        topics = raw["topics"]
        if not isinstance(topics, list) or len(topics) != 3:
            raise ValueError(f"expected 3 topics, got {topics!r}"[:120])
        data = raw["data"]
        if not isinstance(data, str) or len(data) != 66:
            raise ValueError(f"data is not one 32-byte word: {str(data)[:80]}")
        amount = _int(data)
        common = _common(raw)
        treasury = treasury.lower()
        topic0 = str(topics[0]).lower()
        if topic0 == PAID_TOPIC:
            return DecodedLog(
                **common, kind=PAID, invoice_id=_hex32(topics[1]), payer=_word_address(topics[2]),
                recipient=treasury, amount=amount,
            )
        if topic0 == TRANSFER_TOPIC:
            src, dst = _word_address(topics[1]), _word_address(topics[2])
            if dst == treasury:
                kind = TRANSFER_IN
            elif src == treasury:
                kind = TRANSFER_OUT
            else:
                raise ValueError(f"Transfer neither into nor out of the treasury ({src} -> {dst})")
            return DecodedLog(**common, kind=kind, invoice_id=None, payer=src, recipient=dst, amount=amount)
        raise ValueError(f"unknown event topic {topic0}")
    except (KeyError, ValueError, TypeError) as exc:
        log.warning("skipping malformed EVM log: %s", exc)
        return None


def decode_logs(raws: Iterable[Any], treasury: str) -> tuple[list[DecodedLog], int]:
    """Decode many logs in chain order (block, log index); also the number that did not decode (``removed`` ones
    are not counted): the indexer refuses a range with any, so a node's bad answer never becomes a gap."""
    out: list[DecodedLog] = []
    bad = 0
    for raw in raws:
        decoded = decode_log(raw, treasury)
        if decoded is not None:
            out.append(decoded)
        elif not (isinstance(raw, dict) and raw.get("removed")):
            bad += 1
    out.sort(key=lambda d: (d.block_number, d.log_index))
    return out, bad
