"""Routes under /governance: proposals (create, list, read, cancel), signed ballots, the published ballots and
stake snapshot that ``iog governance verify`` recomputes every outcome from."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from backend.auth.deps import ClockDep, WalletDep
from backend.deps import PageDep, SessionDep
from backend.governance import service
from backend.governance.schemas import (
    BallotIn,
    BallotList,
    BallotOut,
    ProposalIn,
    ProposalList,
    ProposalOut,
    SnapshotOut,
)

router = APIRouter(prefix="/governance", tags=["governance"])

State = Literal["Draft", "Voting", "Succeeded", "Defeated", "Cancelled", "Executing", "Completed"]


@router.post("/proposals", response_model=ProposalOut, status_code=201, summary="Create a proposal")
def create_proposal(
    body: ProposalIn, request: Request, session: SessionDep, wallet: WalletDep, now: ClockDep
) -> ProposalOut:
    """A signed-in wallet with at least ``governance_min_stake_to_propose`` bonded at the indexer's finalized slot,
    which becomes the snapshot slot; the voting window opens now for ``governance_voting_base_time``."""
    p = service.create_proposal(session, request.app.state.settings, wallet, body, now)
    return service.view(session, p)


@router.get("/proposals", response_model=ProposalList, summary="Proposals, newest first")
def list_proposals(
    session: SessionDep, page: PageDep, state: Annotated[State | None, Query(description="Only this state")] = None
) -> ProposalList:
    return ProposalList(proposals=service.list_proposals(session, state, page.limit, page.offset))


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, summary="A proposal, its outcome and payout")
def get_proposal(proposal_id: str, session: SessionDep) -> ProposalOut:
    return service.view(session, service.get(session, proposal_id))


@router.post("/proposals/{proposal_id}/cancel", response_model=ProposalOut, summary="Cancel a proposal (its proposer)")
def cancel_proposal(proposal_id: str, session: SessionDep, wallet: WalletDep, now: ClockDep) -> ProposalOut:
    return service.view(session, service.cancel(session, proposal_id, wallet, now))


@router.post(
    "/proposals/{proposal_id}/ballots", response_model=BallotOut, status_code=201, summary="Cast a signed ballot"
)
def cast_ballot(proposal_id: str, body: BallotIn, session: SessionDep, now: ClockDep) -> BallotOut:
    """No token: the ballot is signed by the voter's wallet (ed25519 over ``b"iog-ballot/1\\n"`` + the canonical
    JSON of ``{proposal, choice, nonce}``). A later ballot of the voter replaces the earlier until the window
    closes; a reused nonce is refused (409), a ballot for another proposal or badly signed too (422)."""
    return service.ballot_out(service.cast_ballot(session, proposal_id, body, now))


@router.get(
    "/proposals/{proposal_id}/ballots", response_model=BallotList, summary="Every signed ballot, in received order"
)
def list_ballots(proposal_id: str, session: SessionDep) -> BallotList:
    p = service.get(session, proposal_id)
    return BallotList(proposal=p.id, voting_ends_at=p.voting_ends_at, ballots=service.ballots_out(session, p))


@router.get(
    "/proposals/{proposal_id}/snapshot", response_model=SnapshotOut, summary="Bonded stake at the snapshot slot"
)
def get_snapshot(proposal_id: str, session: SessionDep) -> SnapshotOut:
    """Every wallet's bonded stake at the snapshot slot and the total (the quorum's base); after the close, each
    voter's bonded stake then and its weight (the smaller of the two)."""
    return service.snapshot_out(session, service.get(session, proposal_id))
