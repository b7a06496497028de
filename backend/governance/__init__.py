"""Governance of the grants DAO: proposals, signed ballots, reproducible tallies, executed grants."""
