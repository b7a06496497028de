"""The tally: pure, shared by the server (closing a vote) and ``iog governance verify`` (recomputing it from the
published ballots and snapshot alone).

A ballot is ``{voter, payload, signature}``: ``payload`` is ``{proposal, choice, nonce}`` and ``signature`` the
base58 ed25519 signature by ``voter`` over ``b"iog-ballot/1\\n"`` + the canonical JSON of ``payload`` (sorted keys,
no spaces, UTF-8: the heartbeats' encoder). Field values are restricted to ASCII patterns so the canonical bytes of
a parsed payload are exactly what the wallet signed.

Rules (issue 14): each voter's last ballot received before the window closed counts (a later one replaces the
earlier); its weight is the voter's bonded stake at the snapshot slot capped by its bonded stake at the close;
quorum: ``voted * 10_000 >= quorum_bps * total`` (``total``: all bonded stake at the snapshot; every choice counts
as voted, abstain included); threshold: ``yes * 10_000 > threshold_bps * (yes + no)`` (strictly: a tie is
defeated, and so is a vote with no yes and no no). Succeeded when both hold, else Defeated. The outcome document
(canonical JSON) names every counted ballot; its sha256 is what the memo on chain records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from backend.money import BPS
from backend.telemetry.heartbeats import canonical

DOMAIN = b"iog-ballot/1\n"

SUCCEEDED, DEFEATED = "Succeeded", "Defeated"
YES, NO, ABSTAIN = "yes", "no", "abstain"
DEFAULT_OPTIONS = (YES, NO, ABSTAIN)
PROPOSAL_ID = re.compile(r"gp_[0-9a-f]{20}")
CHOICE = re.compile(r"[a-z0-9_-]{1,32}")
NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PAYLOAD_KEYS = frozenset({"proposal", "choice", "nonce"})


class BadBallot(Exception):
    """A ballot that cannot count: ``reason`` is ``malformed`` or ``bad_signature``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def message(payload: dict[str, Any]) -> bytes:
    """The bytes a voter signs."""
    return DOMAIN + canonical(payload)


def sign_ballot(keypair: Keypair, proposal: str, choice: str, nonce: str) -> dict[str, Any]:
    """A ballot ``{voter, payload, signature}`` signed by ``keypair`` (the voter's side)."""
    payload = {"proposal": proposal, "choice": choice, "nonce": nonce}
    return {
        "voter": str(keypair.pubkey()),
        "payload": payload,
        "signature": str(keypair.sign_message(message(payload))),
    }


def check_ballot(voter: Any, payload: Any, signature: Any) -> dict[str, str]:
    """The payload of a well-formed ballot whose signature by ``voter`` verifies; else :class:`BadBallot`."""
    if not isinstance(payload, dict) or payload.keys() != _PAYLOAD_KEYS:
        raise BadBallot("malformed", "payload: exactly the keys proposal, choice, nonce")
    proposal, choice, nonce = payload["proposal"], payload["choice"], payload["nonce"]
    if type(proposal) is not str or not PROPOSAL_ID.fullmatch(proposal):
        raise BadBallot("malformed", "payload.proposal: a proposal id (gp_ and 20 hex digits)")
    if type(choice) is not str or not CHOICE.fullmatch(choice):
        raise BadBallot("malformed", "payload.choice: 1 to 32 of a-z 0-9 _ -")
    if type(nonce) is not str or not NONCE.fullmatch(nonce):
        raise BadBallot("malformed", "payload.nonce: 1 to 64 of A-Z a-z 0-9 _ -")
    if type(voter) is not str or len(voter) > 44 or type(signature) is not str or len(signature) > 90:
        raise BadBallot("malformed", "voter and signature: base58 strings")
    try:
        key = Pubkey.from_string(voter)
        sig = Signature.from_string(signature)
    except ValueError:
        raise BadBallot("malformed", "voter: a base58 public key; signature: base58 of 64 bytes") from None
    if str(key) != voter:
        raise BadBallot("malformed", "voter: not a canonical base58 public key")
    clean = {"proposal": proposal, "choice": choice, "nonce": nonce}
    if not sig.verify(key, message(clean)):
        raise BadBallot("bad_signature", "the signature is not the voter's over this ballot")
    return clean


def capped(stake: int, bonded_at_close: int) -> int:
    """A voter's weight: bonded stake at the snapshot, capped by its bonded stake at the close."""
    return max(0, min(stake, bonded_at_close))


@dataclass(frozen=True)
class Rules:
    """What a proposal's tally depends on besides its ballots and weights."""

    proposal: str
    options: tuple[str, ...]
    snapshot_slot: int
    total: int
    quorum_bps: int
    threshold_bps: int
    voting_ends_at: int


@dataclass(frozen=True)
class Ballot:
    """A published ballot, in received order (``seq``)."""

    seq: int
    voter: str
    payload: dict[str, Any]
    signature: str
    received_at: int


def counted_ballots(rules: Rules, ballots: Iterable[Ballot]) -> dict[str, tuple[Ballot, str]]:
    """Each voter's last valid ballot received before the close, with its choice (invalid ones never count)."""
    counted: dict[str, tuple[Ballot, str]] = {}
    for b in sorted(ballots, key=lambda x: x.seq):
        if b.received_at >= rules.voting_ends_at:
            continue
        try:
            payload = check_ballot(b.voter, b.payload, b.signature)
        except BadBallot:
            continue
        if payload["proposal"] != rules.proposal or payload["choice"] not in rules.options:
            continue
        counted[b.voter] = (b, payload["choice"])
    return counted


def tally(rules: Rules, weights: dict[str, int], ballots: Sequence[Ballot]) -> dict[str, Any]:
    """The outcome document of a closed vote (see the module docstring for the rules)."""
    counted = counted_ballots(rules, ballots)
    totals = dict.fromkeys(rules.options, 0)
    rows = []
    for voter in sorted(counted):
        b, choice = counted[voter]
        w = weights.get(voter, 0)
        totals[choice] += w
        rows.append({"voter": voter, "choice": choice, "weight": str(w), "signature": b.signature})
    voted = sum(totals.values())
    yes, no = totals.get(YES, 0), totals.get(NO, 0)
    quorum = voted * BPS >= rules.quorum_bps * rules.total
    threshold = yes + no > 0 and yes * BPS > rules.threshold_bps * (yes + no)
    return {
        "proposal": rules.proposal,
        "snapshot_slot": rules.snapshot_slot,
        "total": str(rules.total),
        "quorum_bps": rules.quorum_bps,
        "threshold_bps": rules.threshold_bps,
        "totals": {k: str(v) for k, v in totals.items()},
        "voted": str(voted),
        "quorum_reached": quorum,
        "threshold_reached": threshold,
        "state": SUCCEEDED if quorum and threshold else DEFEATED,
        "ballots": rows,
    }


def outcome_bytes(outcome: dict[str, Any]) -> bytes:
    """The canonical JSON of an outcome document (what is stored, published and hashed)."""
    return canonical(outcome)


def outcome_hash(outcome: dict[str, Any]) -> str:
    """sha256 (hex) of the outcome's canonical JSON."""
    return hashlib.sha256(outcome_bytes(outcome)).hexdigest()


def memo_text(proposal: str, state: str, digest: str) -> str:
    """The memo the governance authority records on chain for a closed vote."""
    return f"iog-governance/1 proposal={proposal} outcome={state} sha256={digest}"
