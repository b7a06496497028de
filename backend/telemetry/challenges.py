"""Verification challenges: one interface (:class:`Verifier`) and the proof-of-work puzzle that implements it.

The puzzle: find ``x`` (up to 32 bytes) such that ``sha256(nonce || node key || x)`` starts with ``difficulty``
zero bits, where ``difficulty = IOG_CHALLENGE_DIFFICULTY_BITS + floor(log2(gpu_units))`` (twice the GPUs, twice
the expected work). What passing it proves and what it does not is written in README.md of this package: it
shows the node key's holder is alive, answers within the deadline and can spend some CPU, not that it has GPUs.
A real GPU benchmark replaces it by implementing :class:`Verifier` (its name is stored with each challenge).
"""

from __future__ import annotations

import hashlib
import secrets
from itertools import count
from typing import Protocol

from solders.pubkey import Pubkey

MAX_SOLUTION_BYTES = 32


class Verifier(Protocol):
    """What a verification method provides: a challenge for a node and the check of an answer."""

    name: str

    def issue(self, node_key: str, gpu_units: int) -> tuple[str, int]:
        """A fresh challenge for the node: (nonce as hex, difficulty)."""

    def check(self, nonce: str, difficulty: int, node_key: str, solution: str) -> bool:
        """Whether ``solution`` (hex) answers the challenge for this node."""


def leading_zero_bits(digest: bytes) -> int:
    """Number of leading zero bits of ``digest``."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def _digest(nonce: bytes, node_key: bytes, x: bytes) -> bytes:
    return hashlib.sha256(nonce + node_key + x).digest()


class PuzzleVerifier:
    """The sha256 proof-of-work puzzle, scaled by the node's GPU units."""

    name = "sha256-puzzle/1"

    def __init__(self, base_bits: int) -> None:
        self.base_bits = base_bits

    def difficulty(self, gpu_units: int) -> int:
        """Leading zero bits asked of a node with ``gpu_units`` GPUs (at most 64)."""
        return min(64, self.base_bits + max(1, gpu_units).bit_length() - 1)

    def issue(self, node_key: str, gpu_units: int) -> tuple[str, int]:
        return secrets.token_hex(16), self.difficulty(gpu_units)

    def check(self, nonce: str, difficulty: int, node_key: str, solution: str) -> bool:
        try:
            x = bytes.fromhex(solution)
            key = bytes(Pubkey.from_string(node_key))
            n = bytes.fromhex(nonce)
        except ValueError:
            return False
        if len(x) > MAX_SOLUTION_BYTES:
            return False
        return leading_zero_bits(_digest(n, key, x)) >= difficulty


def solve_puzzle(nonce: str, difficulty: int, node_key: str) -> str:
    """The agent's side: the first counter ``x`` (8 bytes, big-endian) that solves the puzzle, as hex."""
    n = bytes.fromhex(nonce)
    key = bytes(Pubkey.from_string(node_key))
    prefix = hashlib.sha256(n + key)  # the common prefix is hashed once and copied per attempt
    for i in count():
        x = i.to_bytes(8, "big")
        h = prefix.copy()
        h.update(x)
        if leading_zero_bits(h.digest()) >= difficulty:
            return x.hex()
    raise AssertionError("unreachable")
