"""Proposals, ballots and tallies of the grants DAO (issue 14). Services never commit: the caller does.

- :func:`create_proposal`: by a wallet with at least ``governance_min_stake_to_propose`` bonded at the snapshot
  slot, which is the indexer's finalized slot at creation; every wallet's bonded stake at that slot is stored
  (the published snapshot); the window is ``governance_voting_base_time`` from creation.
- :func:`cast_ballot`: a signed ballot (see :mod:`backend.governance.tally`) while the window is open; a later
  ballot of the voter replaces the earlier; a reused nonce or an already submitted signature is
  :class:`BallotReplayed`, a ballot for another proposal :class:`BallotRejected`.
- :func:`close_due`: at the end of the window (never before: no early tipping) the weights are capped by the
  voters' bonded stake now and the tally decides Succeeded or Defeated; the outcome and its hash are stored.
- Execution (a succeeded grant paid after the hold-up time, exactly once) and the memo are in
  :mod:`backend.governance.tasks`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy.orm import Session

from backend.config import Settings
from backend.deps import pubkey
from backend.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from backend.governance import repository as repo
from backend.governance import tally
from backend.governance.schemas import (
    BallotIn,
    BallotOut,
    GrantIn,
    MemoOut,
    PayoutOut,
    ProposalIn,
    ProposalOut,
    SnapshotEntryOut,
    SnapshotOut,
)
from backend.ledger.amounts import parse_amount
from backend.models.governance import (
    CANCELLED,
    GRANT,
    VOTING,
    GovernanceBallot,
    GovernanceProposal,
    GovernanceSnapshotEntry,
)
from backend.nodes import service as nodes_service
from backend.staking import service as staking_service


class IndexerNotReady(AppError):
    """The indexer has not read the staking program yet: there is no finalized slot to take a snapshot at."""

    status_code = 503


class InsufficientStake(Forbidden):
    """The wallet's bonded stake is below ``governance_min_stake_to_propose``."""


class NoVotingWeight(Forbidden):
    """The voter had no bonded stake at the proposal's snapshot slot."""


class VotingClosed(Conflict):
    """The proposal is not accepting ballots (its window ended, or it is not in Voting)."""


class BallotRejected(InvalidInput):
    """A ballot that is malformed, not signed by the voter, for another proposal, or for an unknown choice."""


class BallotReplayed(Conflict):
    """A ballot whose nonce the voter already used on this proposal (or the very same signed ballot again)."""


def _options(data: ProposalIn) -> list[str]:
    options = list(data.options) if data.options is not None else list(tally.DEFAULT_OPTIONS)
    for o in options:
        if not tally.CHOICE.fullmatch(o):
            raise InvalidInput(f"options: {o!r} is not 1 to 32 of a-z 0-9 _ -")
    if len(set(options)) != len(options):
        raise InvalidInput("options: each choice once")
    if tally.YES not in options or tally.NO not in options:
        raise InvalidInput('options: must hold "yes" and "no" (the threshold is yes / (yes + no))')
    return options


def create_proposal(
    session: Session, settings: Settings, proposer: str, data: ProposalIn, now: int
) -> GovernanceProposal:
    """Record a proposal with its stake snapshot (see the module docstring)."""
    options = _options(data)
    recipient, amount = None, None
    if data.kind == GRANT:
        if data.grant is None:
            raise InvalidInput("grant: required for a grant proposal ({recipient, amount})")
        recipient = pubkey(data.grant.recipient, "grant.recipient")
        amount = parse_amount(data.grant.amount, "grant.amount")
    elif data.grant is not None:
        raise InvalidInput("grant: only a grant proposal carries one")
    slot = nodes_service.as_of_slot(session, settings)
    if not slot:
        raise IndexerNotReady("the indexer has not read the staking program yet: no finalized slot for a snapshot")
    snap = staking_service.stake_at_slot(session, slot)
    have = snap.by_owner.get(proposer, 0)
    if have < settings.governance_min_stake_to_propose:
        raise InsufficientStake(
            f"proposing needs {settings.governance_min_stake_to_propose} base units bonded; "
            f"{proposer} has {have} at slot {slot}"
        )
    p = GovernanceProposal(
        id="gp_" + secrets.token_hex(10),
        proposer=proposer,
        title=data.title,
        body=data.body,
        kind=data.kind,
        options=json.dumps(options),
        grant_recipient=recipient,
        grant_amount=amount,
        state=VOTING,
        snapshot_slot=slot,
        snapshot_total=snap.total,
        quorum_bps=settings.governance_quorum_bps,
        threshold_bps=settings.governance_threshold_bps,
        hold_up_seconds=settings.governance_transactions_hold_up_time,
        voting_starts_at=now,
        voting_ends_at=now + settings.governance_voting_base_time,
        created_at=now,
        updated_at=now,
    )
    session.add(p)
    session.flush()
    session.add_all(GovernanceSnapshotEntry(proposal_id=p.id, wallet=w, stake=s) for w, s in snap.by_owner.items())
    session.flush()
    return p


def get(session: Session, proposal_id: str) -> GovernanceProposal:
    """A proposal by id; ``NotFound`` otherwise."""
    p = session.get(GovernanceProposal, proposal_id) if len(proposal_id) <= 40 else None
    if p is None:
        raise NotFound(f"no proposal {proposal_id!r}")
    return p


def cast_ballot(session: Session, proposal_id: str, ballot: BallotIn, now: int) -> GovernanceBallot:
    """Accept a signed ballot while the proposal's window is open (see the module docstring)."""
    p = get(session, proposal_id)
    try:
        payload = tally.check_ballot(ballot.voter, ballot.payload, ballot.signature)
    except tally.BadBallot as exc:
        raise BallotRejected(f"{exc.reason}: {exc.detail}") from None
    if payload["proposal"] != p.id:
        raise BallotRejected(f"the ballot is for proposal {payload['proposal']}, not {p.id}")
    if payload["choice"] not in json.loads(p.options):
        raise BallotRejected(f"choice: {payload['choice']!r} is not an option of {p.id}")
    if p.state != VOTING or not p.voting_starts_at <= now < p.voting_ends_at:
        raise VotingClosed(f"proposal {p.id} is {p.state}; its window ended at {p.voting_ends_at}")
    if repo.ballot_by_signature(session, ballot.signature) is not None or repo.ballot_by_nonce(
        session, p.id, ballot.voter, payload["nonce"]
    ):
        raise BallotReplayed(f"nonce {payload['nonce']!r} was already used by {ballot.voter} on {p.id}")
    entry = repo.snapshot_entry(session, p.id, ballot.voter)
    if entry is None or entry.stake <= 0:
        raise NoVotingWeight(f"{ballot.voter} had no bonded stake at slot {p.snapshot_slot}")
    repo.mark_replaced(session, p.id, ballot.voter)
    row = GovernanceBallot(
        proposal_id=p.id,
        voter=ballot.voter,
        choice=payload["choice"],
        nonce=payload["nonce"],
        signature=ballot.signature,
        received_at=now,
        replaced=False,
    )
    session.add(row)
    session.flush()
    return row


def cancel(session: Session, proposal_id: str, wallet: str, now: int) -> GovernanceProposal:
    """The proposer withdraws a proposal still in Voting (SPL Governance's Cancelled)."""
    p = get(session, proposal_id)
    if p.proposer != wallet:
        raise Forbidden("only the proposer cancels a proposal")
    if p.state != VOTING or now >= p.voting_ends_at:
        raise Conflict(f"proposal {p.id} is {p.state}: only a proposal in its voting window can be cancelled")
    p.state, p.updated_at = CANCELLED, now
    return p


def rules_of(p: GovernanceProposal) -> tally.Rules:
    """The tally's rules of a proposal."""
    return tally.Rules(
        p.id, tuple(json.loads(p.options)), p.snapshot_slot, p.snapshot_total, p.quorum_bps, p.threshold_bps,
        p.voting_ends_at,
    )  # fmt: skip


def _published(b: GovernanceBallot) -> tally.Ballot:
    payload = {"proposal": b.proposal_id, "choice": b.choice, "nonce": b.nonce}
    return tally.Ballot(b.seq, b.voter, payload, b.signature, b.received_at)


def close(session: Session, p: GovernanceProposal, now: int) -> None:
    """Close a proposal whose window has ended: cap the voters' weights, tally, store the outcome and its hash."""
    rules = rules_of(p)
    ballots = [_published(b) for b in repo.ballots(session, p.id)]
    voters = sorted(tally.counted_ballots(rules, ballots))
    current = staking_service.bonded_now(session, voters)
    weights: dict[str, int] = {}
    for voter in voters:
        entry = repo.snapshot_entry(session, p.id, voter)
        stake = entry.stake if entry is not None else 0
        weights[voter] = tally.capped(stake, current.get(voter, 0))
        if entry is not None:
            entry.bonded_at_close, entry.weight = current.get(voter, 0), weights[voter]
    outcome = tally.tally(rules, weights, ballots)
    p.outcome = tally.outcome_bytes(outcome).decode()
    p.outcome_hash = tally.outcome_hash(outcome)
    p.state, p.tallied_at, p.updated_at = outcome["state"], now, now


def close_due(session: Session, now: int) -> list[str]:
    """Close every proposal in Voting whose window has ended; their ids."""
    closed = []
    for p in repo.due_to_close(session, VOTING, now):
        close(session, p, now)
        closed.append(p.id)
    session.flush()
    return closed


# --- views ------------------------------------------------------------------------------------------------------


def list_proposals(session: Session, state: str | None, limit: int, offset: int) -> list[ProposalOut]:
    return [view(session, p) for p in repo.proposals(session, state, limit, offset)]


def view(session: Session, p: GovernanceProposal) -> ProposalOut:
    """The published form of a proposal (with its payout when a grant was executed)."""
    from backend.settlement import transfers

    payout = None
    if p.payout_id is not None:
        t = transfers.get(session, p.payout_id, transfers.GRANT)
        payout = PayoutOut(
            id=t.id, status=t.status, amount=str(t.amount), destination=t.destination, signature=t.signature,
            slot=t.slot,
        )  # fmt: skip
    grant = None
    if p.kind == GRANT and p.grant_recipient is not None and p.grant_amount is not None:
        grant = GrantIn(recipient=p.grant_recipient, amount=str(p.grant_amount))
    outcome: dict[str, Any] | None = json.loads(p.outcome) if p.outcome else None
    memo_text = tally.memo_text(p.id, p.state if outcome is None else outcome["state"], p.outcome_hash or "")
    return ProposalOut(
        id=p.id,
        proposer=p.proposer,
        title=p.title,
        body=p.body,
        kind=p.kind,
        options=json.loads(p.options),
        grant=grant,
        state=p.state,  # type: ignore[arg-type]
        snapshot_slot=p.snapshot_slot,
        snapshot_total=str(p.snapshot_total),
        quorum_bps=p.quorum_bps,
        threshold_bps=p.threshold_bps,
        hold_up_seconds=p.hold_up_seconds,
        voting_starts_at=p.voting_starts_at,
        voting_ends_at=p.voting_ends_at,
        executable_at=p.voting_ends_at + p.hold_up_seconds if p.kind == GRANT else None,
        outcome=outcome,
        outcome_hash=p.outcome_hash,
        memo=MemoOut(
            status=p.memo_status,
            signature=p.memo_signature,
            slot=p.memo_slot,
            text=memo_text if p.outcome_hash else None,
        ),  # fmt: skip
        payout=payout,
        execution_note=p.execution_note,
        created_at=p.created_at,
    )


def ballot_out(b: GovernanceBallot) -> BallotOut:
    """The published form of a ballot (its payload is exactly what the voter signed)."""
    return BallotOut(
        seq=b.seq, voter=b.voter, payload={"proposal": b.proposal_id, "choice": b.choice, "nonce": b.nonce},
        signature=b.signature, choice=b.choice, received_at=b.received_at, replaced=b.replaced,
    )  # fmt: skip


def ballots_out(session: Session, p: GovernanceProposal) -> list[BallotOut]:
    return [ballot_out(b) for b in repo.ballots(session, p.id)]


def snapshot_out(session: Session, p: GovernanceProposal) -> SnapshotOut:
    return SnapshotOut(
        proposal=p.id,
        snapshot_slot=p.snapshot_slot,
        total=str(p.snapshot_total),
        entries=[
            SnapshotEntryOut(
                wallet=e.wallet,
                stake=str(e.stake),
                bonded_at_close=None if e.bonded_at_close is None else str(e.bonded_at_close),
                weight=None if e.weight is None else str(e.weight),
            )  # fmt: skip
            for e in repo.snapshot(session, p.id)
        ],
    )
