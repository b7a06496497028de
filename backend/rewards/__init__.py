"""Rewards engine: per-epoch payouts, emission schedule, merkle tree and proofs."""
