"""Proposals and ballots through the API on the test's database, stake from indexed events: weight at the
snapshot, stake moved after it, re-votes, forged and replayed ballots, no early tipping, verify reproducing every
published outcome."""

from __future__ import annotations

import json

from solders.keypair import Keypair

from backend.governance import tally
from backend.governance.verify import verify_proposal
from tests.backend.governance.helpers import DAY, IO, World

ALICE, BOB, CAROL, DAVE = (Keypair() for _ in range(4))


def _setup(world: World) -> str:
    """alice 600 IO own node, bob 300 own node, carol 100 delegated to alice; a signal proposal by alice."""
    world.stake(ALICE, 600 * IO)
    world.stake(BOB, 300 * IO)
    world.stake(CAROL, 100 * IO, operator=ALICE)
    world.advance(60)
    r = world.propose(ALICE, title="Fund a GPU lab")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _snapshot(world: World, pid: str) -> dict[str, dict[str, str | None]]:
    doc = world.client.get(f"/governance/proposals/{pid}/snapshot").json()
    return {e["wallet"]: e for e in doc["entries"]}


def _verified(world: World, pid: str) -> None:
    verdict = verify_proposal(world.client, None, pid)
    assert verdict.difference is None, verdict


class TestProposing:
    def test_snapshot_is_the_finalized_slot_and_every_stake_at_it(self, world: World) -> None:
        pid = _setup(world)
        p = world.get(pid)
        assert p["state"] == "Voting" and p["snapshot_slot"] == world.slot
        assert p["snapshot_total"] == str(1000 * IO)
        assert p["voting_ends_at"] == world.now + 3 * DAY
        snap = _snapshot(world, pid)
        assert {w: e["stake"] for w, e in snap.items()} == {
            str(ALICE.pubkey()): str(600 * IO),
            str(BOB.pubkey()): str(300 * IO),
            str(CAROL.pubkey()): str(100 * IO),
        }

    def test_below_min_stake_to_propose_is_refused(self, world: World) -> None:
        world.stake(DAVE, 99 * IO, operator=None)
        r = world.propose(DAVE)
        assert r.status_code == 403 and r.json()["error"] == "InsufficientStake"
        assert world.client.get("/governance/proposals").json()["proposals"] == []

    def test_stake_in_cooldown_does_not_count_to_propose(self, world: World) -> None:
        world.stake(DAVE, 150 * IO)
        world.unstake(DAVE, 60 * IO)
        assert world.propose(DAVE).status_code == 403

    def test_a_grant_needs_a_recipient_and_an_amount(self, world: World) -> None:
        world.stake(ALICE, 600 * IO)
        r = world.propose(ALICE, kind="grant")
        assert r.status_code == 422
        r = world.propose(ALICE, kind="grant", grant={"recipient": str(DAVE.pubkey()), "amount": "0"})
        assert r.status_code == 422
        r = world.propose(ALICE, kind="grant", grant={"recipient": str(DAVE.pubkey()), "amount": str(5 * IO)})
        assert r.status_code == 201 and r.json()["grant"]["amount"] == str(5 * IO)

    def test_creating_needs_a_signed_in_wallet(self, world: World) -> None:
        r = world.client.post("/governance/proposals", json={"title": "x", "kind": "signal"})
        assert r.status_code == 401


class TestWeights:
    def test_stake_added_after_the_snapshot_does_not_vote(self, world: World) -> None:
        pid = _setup(world)
        world.stake(BOB, 5_000 * IO)  # after the snapshot
        world.advance(60)
        for kp, choice in ((ALICE, "no"), (BOB, "yes"), (CAROL, "yes")):
            assert world.vote(kp, pid, choice).status_code == 201
        world.advance(3 * DAY)
        assert world.close() == [pid]
        p = world.get(pid)
        assert p["outcome"]["totals"] == {"yes": str(400 * IO), "no": str(600 * IO), "abstain": "0"}
        assert p["state"] == "Defeated"
        _verified(world, pid)

    def test_stake_moved_away_after_the_snapshot_is_capped(self, world: World) -> None:
        pid = _setup(world)
        world.unstake(ALICE, 500 * IO)  # into cooldown after the snapshot: only 100 IO still bonded
        world.advance(60)
        world.vote(ALICE, pid, "no")
        world.vote(BOB, pid, "yes")
        world.advance(3 * DAY)
        world.close()
        p = world.get(pid)
        assert p["outcome"]["totals"]["no"] == str(100 * IO) and p["state"] == "Succeeded"
        snap = _snapshot(world, pid)[str(ALICE.pubkey())]
        assert snap == {"wallet": str(ALICE.pubkey()), "stake": str(600 * IO), "bonded_at_close": str(100 * IO),
                        "weight": str(100 * IO)}  # fmt: skip
        _verified(world, pid)

    def test_a_wallet_without_stake_at_the_snapshot_cannot_vote(self, world: World) -> None:
        pid = _setup(world)
        world.stake(DAVE, 50 * IO, operator=BOB)
        r = world.vote(DAVE, pid, "yes")
        assert r.status_code == 403 and r.json()["error"] == "NoVotingWeight"


class TestBallots:
    def test_a_re_vote_replaces_the_earlier_ballot(self, world: World) -> None:
        pid = _setup(world)
        world.vote(BOB, pid, "no")
        world.advance(10)
        world.vote(BOB, pid, "yes")
        ballots = world.client.get(f"/governance/proposals/{pid}/ballots").json()["ballots"]
        assert [(b["choice"], b["replaced"]) for b in ballots] == [("no", True), ("yes", False)]
        world.advance(3 * DAY)
        world.close()
        assert world.get(pid)["outcome"]["totals"]["yes"] == str(300 * IO)
        _verified(world, pid)

    def test_a_forged_ballot_is_rejected_and_changes_nothing(self, world: World) -> None:
        pid = _setup(world)
        b = tally.sign_ballot(DAVE, pid, "yes", "1")
        b["voter"] = str(ALICE.pubkey())  # dave signs in alice's name
        r = world.client.post(f"/governance/proposals/{pid}/ballots", json=b)
        assert r.status_code == 422 and "bad_signature" in r.json()["detail"]
        b = tally.sign_ballot(ALICE, pid, "yes", "1")
        b["payload"]["choice"] = "no"  # tampered after signing
        assert world.client.post(f"/governance/proposals/{pid}/ballots", json=b).status_code == 422
        assert world.client.get(f"/governance/proposals/{pid}/ballots").json()["ballots"] == []

    def test_a_replayed_ballot_is_rejected(self, world: World) -> None:
        pid = _setup(world)
        first = tally.sign_ballot(BOB, pid, "no", "n1")
        assert world.client.post(f"/governance/proposals/{pid}/ballots", json=first).status_code == 201
        world.vote(BOB, pid, "yes", nonce="n2")
        r = world.client.post(f"/governance/proposals/{pid}/ballots", json=first)  # the old "no" sent again
        assert r.status_code == 409 and r.json()["error"] == "BallotReplayed"
        r = world.vote(BOB, pid, "no", nonce="n1")  # a new ballot reusing a nonce
        assert r.status_code == 409
        assert [b["choice"] for b in world.client.get(f"/governance/proposals/{pid}/ballots").json()["ballots"]] == [
            "no", "yes"
        ]  # fmt: skip

    def test_a_ballot_for_another_proposal_is_rejected(self, world: World) -> None:
        pid = _setup(world)
        other = world.propose(BOB, title="other").json()["id"]
        b = tally.sign_ballot(CAROL, other, "yes", "1")
        r = world.client.post(f"/governance/proposals/{pid}/ballots", json=b)
        assert r.status_code == 422 and other in r.json()["detail"]

    def test_an_unknown_choice_is_rejected(self, world: World) -> None:
        pid = _setup(world)
        assert world.vote(BOB, pid, "maybe").status_code == 422

    def test_ballots_after_the_window_are_refused(self, world: World) -> None:
        pid = _setup(world)
        world.advance(3 * DAY)
        r = world.vote(BOB, pid, "yes")
        assert r.status_code == 409 and r.json()["error"] == "VotingClosed"


class TestOutcome:
    def test_no_early_tipping(self, world: World) -> None:
        pid = _setup(world)
        for kp in (ALICE, BOB, CAROL):
            world.vote(kp, pid, "yes")  # every unit of stake: already decided
        world.advance(3 * DAY - 1)
        assert world.close() == []
        assert world.get(pid)["state"] == "Voting" and world.get(pid)["outcome"] is None
        assert world.vote(BOB, pid, "no").status_code == 201  # and a voter may still change its mind
        world.advance(1)
        assert world.close() == [pid]
        p = world.get(pid)
        assert p["state"] == "Succeeded" and p["outcome"]["totals"]["no"] == str(300 * IO)
        assert world.close() == []  # closed once
        _verified(world, pid)

    def test_quorum_not_reached_is_defeated(self, world: World) -> None:
        pid = _setup(world)
        world.vote(CAROL, pid, "yes")  # 10% < 20%
        world.advance(3 * DAY)
        world.close()
        p = world.get(pid)
        assert p["state"] == "Defeated" and p["outcome"]["quorum_reached"] is False
        _verified(world, pid)

    def test_a_tie_is_defeated(self, world: World) -> None:
        world.stake(ALICE, 300 * IO)
        world.stake(BOB, 300 * IO)
        world.advance(60)
        pid = world.propose(ALICE).json()["id"]
        world.vote(ALICE, pid, "yes")
        world.vote(BOB, pid, "no")
        world.advance(3 * DAY)
        world.close()
        p = world.get(pid)
        assert p["state"] == "Defeated" and p["outcome"]["quorum_reached"] and not p["outcome"]["threshold_reached"]
        _verified(world, pid)

    def test_outcome_hash_is_published_with_the_outcome(self, world: World) -> None:
        pid = _setup(world)
        world.vote(ALICE, pid, "yes")
        world.advance(3 * DAY)
        world.close()
        p = world.get(pid)
        assert p["outcome_hash"] == tally.outcome_hash(p["outcome"])
        assert p["memo"]["text"] == f"iog-governance/1 proposal={pid} outcome=Succeeded sha256={p['outcome_hash']}"

    def test_verify_finds_a_tampered_outcome(self, world: World) -> None:
        from sqlalchemy import update

        from backend.models.governance import GovernanceSnapshotEntry

        pid = _setup(world)
        world.vote(ALICE, pid, "yes")
        world.vote(BOB, pid, "no")
        world.advance(3 * DAY)
        world.close()
        bob = GovernanceSnapshotEntry.wallet == str(BOB.pubkey())
        _verified(world, pid)
        with world.session() as s:  # a published weight above min(stake, bonded at close)
            s.execute(update(GovernanceSnapshotEntry).where(bob).values(weight=1000 * IO, bonded_at_close=1000 * IO))
        verdict = verify_proposal(world.client, None, pid)
        assert verdict.difference is not None and "weight of" in verdict.difference
        with world.session() as s:  # consistent weights that the published outcome was not computed from
            s.execute(update(GovernanceSnapshotEntry).where(bob).values(stake=200 * IO, bonded_at_close=200 * IO,
                                                                       weight=200 * IO))  # fmt: skip
        verdict = verify_proposal(world.client, None, pid)
        assert verdict.difference is not None and "recomputed outcome differs" in verdict.difference

    def test_cancel_by_the_proposer_only(self, world: World) -> None:
        pid = _setup(world)
        assert world.client.post(f"/governance/proposals/{pid}/cancel", headers=world.token(BOB)).status_code == 403
        r = world.client.post(f"/governance/proposals/{pid}/cancel", headers=world.token(ALICE))
        assert r.status_code == 200 and r.json()["state"] == "Cancelled"
        assert world.vote(BOB, pid, "yes").status_code == 409


def test_list_filters_by_state(world: World) -> None:
    pid = _setup(world)
    assert [p["id"] for p in world.client.get("/governance/proposals?state=Voting").json()["proposals"]] == [pid]
    assert world.client.get("/governance/proposals?state=Succeeded").json()["proposals"] == []
    assert world.client.get("/governance/proposals/gp_nope").status_code == 404
    assert json.loads(json.dumps(world.get(pid)))["options"] == ["yes", "no", "abstain"]
