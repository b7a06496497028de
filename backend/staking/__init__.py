"""Staking: read-only views of nodes and stake positions, from the indexer's finalized projections."""
