"""The compiled contracts (committed artifacts of :mod:`backend.evm.compile`), their event topics and selectors.

Everything here is pure: artifacts are read from the package, topics and selectors are keccak hashes of the
signatures the issue fixes (``Paid(bytes32,address,uint256)``, ERC-20 ``Transfer``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_utils import keccak

from backend.evm.compile import artifact_path


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


PAID_TOPIC = _topic("Paid(bytes32,address,uint256)")
TRANSFER_TOPIC = _topic("Transfer(address,address,uint256)")
APPROVE_SELECTOR = "0x" + keccak(text="approve(address,uint256)")[:4].hex()
PAY_SELECTOR = "0x" + keccak(text="pay(bytes32,uint256)")[:4].hex()
TRANSFER_SELECTOR = "0x" + keccak(text="transfer(address,uint256)")[:4].hex()


@dataclass(frozen=True)
class Artifact:
    """ABI and creation bytecode of one contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    compiler: str


@cache
def artifact(name: str) -> Artifact:
    """The committed artifact of ``Token`` or ``PaymentRouter``."""
    doc = json.loads(artifact_path(name).read_text())
    return Artifact(doc["contract"], doc["abi"], doc["bytecode"], doc["compiler"])


def address_topic(address: str) -> str:
    """An address as a 32-byte log topic (left-padded), lower-case hex."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")
