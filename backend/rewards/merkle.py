"""The rewards merkle tree over lifetime totals, exactly as the staking program checks it.

- leaf = sha256(0x00 || wallet (32 bytes) || cumulative as u64 little-endian)
- leaves are sorted ascending (as bytes); a parent is sha256(0x01 || min(a, b) || max(a, b))
- an odd last node of a level is carried up unchanged (so that level adds no sibling to its proofs)
- one leaf is its own root; no leaves gives 32 zero bytes
- a proof is the list of sibling hashes from leaf to root; the verifier hashes pairwise in sorted order, so a
  proof carries no left/right bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

from backend.money import U64_MAX

EMPTY_ROOT = bytes(32)
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(wallet: bytes, cumulative: int) -> bytes:
    """Hash one (wallet, lifetime total) leaf."""
    if len(wallet) != 32:
        raise ValueError("wallet must be 32 bytes")
    if not 0 <= cumulative <= U64_MAX:
        raise ValueError("cumulative must fit in a u64")
    return sha256(_LEAF + wallet + cumulative.to_bytes(8, "little")).digest()


def parent_hash(a: bytes, b: bytes) -> bytes:
    """Hash two children in sorted order."""
    return sha256(_NODE + a + b).digest() if a <= b else sha256(_NODE + b + a).digest()


def verify_proof(root: bytes, wallet: bytes, cumulative: int, proof: Sequence[bytes]) -> bool:
    """Check that (wallet, cumulative) is a leaf of the tree with ``root``.

    Args:
        root: The 32-byte merkle root.
        wallet: The wallet's 32 pubkey bytes.
        cumulative: The wallet's lifetime total in base units.
        proof: Sibling hashes from leaf to root.

    Returns:
        True when the proof leads from the leaf to ``root``.
    """
    try:
        node = leaf_hash(wallet, cumulative)
    except ValueError:
        return False
    for sibling in proof:
        if len(sibling) != 32:
            return False
        node = parent_hash(node, sibling)
    return node == root


class MerkleTree:
    """A tree over leaf hashes; ``levels[0]`` are the sorted leaves, ``levels[-1]`` the root."""

    def __init__(self, leaves: Sequence[bytes], presorted: bool = False) -> None:
        """Build every level from the given leaf hashes (sorted here unless ``presorted``).

        ``presorted`` promises that ``leaves`` are already in ascending order; it is not checked.
        """
        level = list(leaves) if presorted else sorted(leaves)
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            if len(self.levels) == 1:  # the leaves are sorted: every pair is already (min, max)
                nxt = [sha256(_NODE + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)]
            else:
                nxt = [
                    sha256(_NODE + a + b).digest() if a <= b else sha256(_NODE + b + a).digest()
                    for a, b in zip(level[0::2], level[1::2], strict=False)
                ]
            if len(level) & 1:
                nxt.append(level[-1])
            level = nxt
            self.levels.append(level)

    @property
    def root(self) -> bytes:
        """The root (32 zero bytes for an empty tree)."""
        return self.levels[-1][0] if self.levels[0] else EMPTY_ROOT

    def __len__(self) -> int:
        return len(self.levels[0])

    def proof(self, index: int) -> list[bytes]:
        """The proof of the leaf at ``index`` in sorted leaf order."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        out: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                out.append(level[sibling])
            index >>= 1
        return out

    def all_proofs(self) -> list[tuple[bytes, ...]]:
        """Every leaf's proof, in sorted leaf order, built top-down so each level costs one pass.

        A node's proof is its sibling (if any) followed by its parent's proof; tuples share the hash objects
        of the tree, so the memory is one pointer per proof element.
        """
        if not self.levels[0]:
            return []
        up: list[tuple[bytes, ...]] = [()]
        for level in reversed(self.levels[:-1]):
            paired = len(level) & ~1
            cur: list[tuple[bytes, ...]] = [()] * len(level)
            # An even node's sibling is the next node, an odd node's the previous; both extend the parent's.
            cur[0:paired:2] = [(s,) + p for s, p in zip(level[1:paired:2], up, strict=False)]
            cur[1:paired:2] = [(s,) + p for s, p in zip(level[0:paired:2], up, strict=False)]
            if len(level) & 1:
                cur[-1] = up[-1]  # carried up: no sibling at this level
            up = cur
        return up
