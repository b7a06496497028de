"""The pure tally: quorum and threshold edges, a tie, re-votes, late and forged ballots, the outcome hash."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from backend.governance import tally

PID = "gp_" + "ab" * 10
VOTERS = [Keypair() for _ in range(4)]


def rules(total: int = 1000, quorum: int = 2_000, threshold: int = 5_000, ends: int = 100) -> tally.Rules:
    return tally.Rules(PID, tally.DEFAULT_OPTIONS, 7, total, quorum, threshold, ends)


def ballot(seq: int, kp: Keypair, choice: str, at: int = 10, proposal: str = PID) -> tally.Ballot:
    b = tally.sign_ballot(kp, proposal, choice, f"n{seq}")
    return tally.Ballot(seq, b["voter"], b["payload"], b["signature"], at)


def weights(*ws: int) -> dict[str, int]:
    return {str(kp.pubkey()): w for kp, w in zip(VOTERS, ws, strict=False)}


class TestQuorum:
    def test_exactly_the_quorum_succeeds(self) -> None:
        out = tally.tally(rules(total=1000), weights(200), [ballot(1, VOTERS[0], "yes")])
        assert out["quorum_reached"] and out["state"] == "Succeeded"

    def test_one_unit_below_the_quorum_is_defeated(self) -> None:
        out = tally.tally(rules(total=1000), weights(199), [ballot(1, VOTERS[0], "yes")])
        assert not out["quorum_reached"] and out["state"] == "Defeated"

    def test_abstain_counts_toward_the_quorum_not_the_threshold(self) -> None:
        ballots = [ballot(1, VOTERS[0], "yes"), ballot(2, VOTERS[1], "abstain")]
        out = tally.tally(rules(total=1000), weights(1, 199), ballots)
        assert out["quorum_reached"] and out["threshold_reached"] and out["voted"] == "200"


class TestThreshold:
    def test_a_tie_is_defeated(self) -> None:
        ballots = [ballot(1, VOTERS[0], "yes"), ballot(2, VOTERS[1], "no")]
        out = tally.tally(rules(total=1000), weights(300, 300), ballots)
        assert out["quorum_reached"] and not out["threshold_reached"] and out["state"] == "Defeated"

    def test_one_unit_above_half_succeeds(self) -> None:
        ballots = [ballot(1, VOTERS[0], "yes"), ballot(2, VOTERS[1], "no")]
        out = tally.tally(rules(total=1000), weights(301, 300), ballots)
        assert out["state"] == "Succeeded"

    @pytest.mark.parametrize(("yes", "no", "passes"), [(6_000, 4_000, False), (6_001, 3_999, True)])
    def test_threshold_is_strict(self, yes: int, no: int, passes: bool) -> None:
        ballots = [ballot(1, VOTERS[0], "yes"), ballot(2, VOTERS[1], "no")]
        out = tally.tally(rules(total=10_000, threshold=6_000), weights(yes, no), ballots)
        assert out["threshold_reached"] is passes

    def test_only_abstentions_are_defeated(self) -> None:
        out = tally.tally(rules(total=100, quorum=0), weights(100), [ballot(1, VOTERS[0], "abstain")])
        assert out["state"] == "Defeated"


class TestBallots:
    def test_a_later_ballot_replaces_the_earlier(self) -> None:
        ballots = [ballot(1, VOTERS[0], "no"), ballot(2, VOTERS[0], "yes")]
        out = tally.tally(rules(total=100), weights(100), ballots)
        assert out["totals"] == {"yes": "100", "no": "0", "abstain": "0"} and len(out["ballots"]) == 1

    def test_order_is_by_seq_not_by_list_position(self) -> None:
        ballots = [ballot(2, VOTERS[0], "yes"), ballot(1, VOTERS[0], "no")]
        assert tally.tally(rules(total=100), weights(100), ballots)["totals"]["yes"] == "100"

    def test_a_ballot_received_at_the_close_does_not_count(self) -> None:
        ballots = [ballot(1, VOTERS[0], "yes", at=99), ballot(2, VOTERS[0], "no", at=100)]
        assert tally.tally(rules(total=100, ends=100), weights(100), ballots)["totals"]["yes"] == "100"

    def test_forged_and_foreign_ballots_do_not_count(self) -> None:
        forged = ballot(1, VOTERS[0], "yes")
        forged = tally.Ballot(1, str(VOTERS[1].pubkey()), forged.payload, forged.signature, 10)  # signed by another
        other = ballot(2, VOTERS[2], "yes", proposal="gp_" + "cd" * 10)
        out = tally.tally(rules(total=100), weights(50, 50, 50), [forged, other])
        assert out["voted"] == "0" and out["ballots"] == []

    def test_a_voter_without_weight_counts_zero(self) -> None:
        out = tally.tally(rules(total=100), {}, [ballot(1, VOTERS[0], "yes")])
        assert out["voted"] == "0"

    def test_check_ballot_refuses_extra_keys_and_bad_signatures(self) -> None:
        b = tally.sign_ballot(VOTERS[0], PID, "yes", "1")
        with pytest.raises(tally.BadBallot) as e:
            tally.check_ballot(b["voter"], {**b["payload"], "x": 1}, b["signature"])
        assert e.value.reason == "malformed"
        with pytest.raises(tally.BadBallot) as e:
            tally.check_ballot(b["voter"], {**b["payload"], "choice": "no"}, b["signature"])
        assert e.value.reason == "bad_signature"


def test_the_signed_bytes_are_the_canonical_json() -> None:
    assert tally.message({"proposal": PID, "nonce": "1", "choice": "yes"}) == (
        b'iog-ballot/1\n{"choice":"yes","nonce":"1","proposal":"' + PID.encode() + b'"}'
    )


def test_outcome_hash_is_the_sha256_of_the_canonical_outcome() -> None:
    import hashlib

    out = tally.tally(rules(), weights(300), [ballot(1, VOTERS[0], "yes")])
    assert tally.outcome_hash(out) == hashlib.sha256(tally.outcome_bytes(out)).hexdigest()
    assert tally.outcome_bytes(out).startswith(b'{"ballots":[{"choice":"yes"')


def test_capped_weight() -> None:
    assert tally.capped(500, 300) == 300 and tally.capped(500, 900) == 500 and tally.capped(5, 0) == 0
