"""Rule 7: leaves, parents, odd carry, proofs and their verification."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.rewards.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, parent_hash, verify_proof


def h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


W = [bytes([i]) * 32 for i in range(1, 6)]


class TestHashes:
    def test_leaf_is_sha256_of_tag_wallet_and_u64_le(self) -> None:
        expected = h(b"\x00" + W[0] + bytes([0x39, 0x30, 0, 0, 0, 0, 0, 0]))  # 12345 = 0x3039
        assert leaf_hash(W[0], 12345) == expected

    def test_parent_hashes_min_then_max(self) -> None:
        a, b = h(b"a"), h(b"b")
        lo, hi = sorted([a, b])
        assert parent_hash(a, b) == parent_hash(b, a) == h(b"\x01" + lo + hi)

    @pytest.mark.parametrize("amount", [-1, 2**64])
    def test_leaf_rejects_amounts_outside_u64(self, amount: int) -> None:
        with pytest.raises(ValueError):
            leaf_hash(W[0], amount)


class TestTree:
    def test_no_leaves_gives_32_zero_bytes(self) -> None:
        assert MerkleTree([]).root == EMPTY_ROOT == bytes(32)
        assert MerkleTree([]).all_proofs() == []

    def test_one_leaf_is_its_own_root_with_empty_proof(self) -> None:
        leaf = leaf_hash(W[0], 5)
        tree = MerkleTree([leaf])
        assert tree.root == leaf
        assert tree.proof(0) == [] and tree.all_proofs() == [()]
        assert verify_proof(leaf, W[0], 5, [])

    def test_three_leaves_carry_the_odd_one_up(self) -> None:
        leaves = [leaf_hash(W[i], 10 + i) for i in range(3)]
        l0, l1, l2 = sorted(leaves)
        p01 = h(b"\x01" + l0 + l1)  # sorted already
        root = h(b"\x01" + min(p01, l2) + max(p01, l2))
        tree = MerkleTree(leaves)
        assert tree.root == root
        assert tree.proof(0) == [l1, l2]
        assert tree.proof(2) == [p01]  # level 0 contributes no sibling for the carried leaf
        assert tree.all_proofs() == [(l1, l2), (l0, l2), (p01,)]

    def test_five_leaves_carry_through_two_levels(self) -> None:
        leaves = sorted(leaf_hash(W[i], 1) for i in range(5))
        a = parent_hash(leaves[0], leaves[1])
        b = parent_hash(leaves[2], leaves[3])
        ab = parent_hash(a, b)
        assert MerkleTree(leaves).root == parent_hash(ab, leaves[4])
        assert MerkleTree(leaves).proof(4) == [ab]


class TestProofs:
    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(
        st.lists(
            st.tuples(st.binary(min_size=32, max_size=32), st.integers(1, 2**64 - 1)),
            max_size=40,
            unique_by=lambda t: t[0],
        )
    )
    def test_every_proof_verifies_and_a_tampered_amount_does_not(self, rows: list[tuple[bytes, int]]) -> None:
        tree = MerkleTree([leaf_hash(w, c) for w, c in rows])
        proofs = tree.all_proofs()
        for w, c in rows:
            i = tree.levels[0].index(leaf_hash(w, c))
            assert list(proofs[i]) == tree.proof(i)
            assert verify_proof(tree.root, w, c, proofs[i])
            assert not verify_proof(tree.root, w, c - 1, proofs[i])
            assert not verify_proof(tree.root, w, c + 1, proofs[i])

    def test_wrong_length_sibling_fails(self) -> None:
        leaves = [leaf_hash(W[0], 1), leaf_hash(W[1], 2)]
        tree = MerkleTree(leaves)
        assert not verify_proof(tree.root, W[0], 1, [b"\x00" * 31])


class TestAgreesWithTheIndependentReference:
    """A second, independently written tree (tests/programs/staking/merkle_ref.py, which the program's tests use
    to build the roots the program accepts) computes the same root and proofs."""

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
    def test_same_root_and_proofs(self, wallets: list[bytes]) -> None:
        from solders.pubkey import Pubkey

        from tests.programs.staking import merkle_ref as chain

        rows = [(w, i + 1) for i, w in enumerate(wallets)]
        leaves = sorted(chain.leaf_hash(Pubkey(w), c) for w, c in rows)
        assert leaves == sorted(leaf_hash(w, c) for w, c in rows)
        levels = chain.build_levels(leaves)
        tree = MerkleTree(leaves)
        assert chain.root_of(levels) == tree.root
        for i, leaf in enumerate(leaves):
            assert chain.proof_for(levels, i) == tree.proof(i)
            assert chain.verify(tree.root, leaf, tree.proof(i))
