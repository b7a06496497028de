"""An independent reference of the rewards merkle tree, byte for byte as the staking program verifies it.

leaf   = sha256(0x00 || wallet (32 bytes) || cumulative_amount as u64 little-endian)
parent = sha256(0x01 || min(a, b) || max(a, b))   (bytewise comparison)
A proof is the list of sibling hashes from the leaf up to the root; a lone leaf is its own root.
An odd node at the end of a level is carried up unchanged (it has no sibling at that level).

The product's tree is backend/rewards/merkle.py; this one is written separately on purpose, so the two check each
other (tests/backend/rewards/test_merkle.py) and the program's tests do not depend on the engine's code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from solders.pubkey import Pubkey

U64_MAX = (1 << 64) - 1


def leaf_hash(wallet: Pubkey, cumulative_amount: int) -> bytes:
    """Hash of one (wallet, lifetime total) leaf."""
    if not 0 <= cumulative_amount <= U64_MAX:
        raise ValueError("cumulative_amount must fit in u64")
    return hashlib.sha256(b"\x00" + bytes(wallet) + cumulative_amount.to_bytes(8, "little")).digest()


def parent_hash(a: bytes, b: bytes) -> bytes:
    """Hash of two sibling nodes, order-independent."""
    lo, hi = (a, b) if a <= b else (b, a)
    return hashlib.sha256(b"\x01" + lo + hi).digest()


def build_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels of the tree, leaves first, root level last."""
    if not leaves:
        raise ValueError("a merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        nxt = [parent_hash(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])
        levels.append(nxt)
    return levels


def root_of(levels: list[list[bytes]]) -> bytes:
    """The root of a tree built by `build_levels`."""
    return levels[-1][0]


def proof_for(levels: list[list[bytes]], index: int) -> list[bytes]:
    """Sibling hashes from leaf `index` up to the root."""
    proof: list[bytes] = []
    for level in levels[:-1]:
        sib = index ^ 1
        if sib < len(level):
            proof.append(level[sib])
        index //= 2
    return proof


def verify(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """Check a proof the way the program does."""
    node = leaf
    for sib in proof:
        node = parent_hash(node, sib)
    return node == root
