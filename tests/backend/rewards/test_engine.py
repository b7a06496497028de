"""Rules 1-8 of the rewards engine with hand-worked numbers, and its money invariants as properties."""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.rewards.engine import REASONS, canonical_json, compute, compute_epoch, gc_paused, json_bytes
from backend.rewards.errors import RewardsInputError
from backend.rewards.merkle import verify_proof
from backend.rewards.splits import largest_remainder
from tests.backend.rewards.helpers import epoch_docs, epoch_input, node, pk
from tests.backend.rewards.reference import reference_compute


def payouts_of(out: dict) -> dict[str, int]:
    return {p["wallet"]: int(p["amount"]) for p in out["payouts"]}


def totals_of(out: dict) -> dict[str, int]:
    return {t["wallet"]: int(t["cumulative"]) for t in out["totals"]}


class TestPools:
    def test_rule_1_community_compute_availability(self) -> None:
        # community = 10001*1234//10000 = 1234; gpu_pool = 8767; compute = 8767*3333//10000 = 2922;
        # availability = 8767 - 2922 = 5845.
        out = compute(epoch_input([], emission="10001", community_bps=1234, compute_share_bps=3333))
        assert out["pool"] == {
            "emission": "10001",
            "community": "1234",
            "availability": "5845",
            "compute": "2922",
            "unallocated": "8767",  # no nodes: both pools unallocated
        }

    def test_zero_compute_weight_sends_the_compute_pool_to_unallocated(self) -> None:
        out = compute(epoch_input([node("a")]))  # compute_gpu_seconds 0
        assert out["pool"]["unallocated"] == "500"
        assert out["nodes"][0]["availability_reward"] == "500" and out["nodes"][0]["compute_reward"] == "0"


class TestEligibility:
    @pytest.mark.parametrize(
        ("overrides", "reason"),
        [
            ({"gpu_model": "V100"}, "unknown_gpu_model"),
            ({"verified": False}, "not_verified"),
            ({"slashed": True}, "slashed"),
            (
                {"stake": [{"owner": pk("op"), "amount": "99"}, {"owner": pk("d"), "amount": "1000"}]},
                "stake_below_minimum",
            ),
            ({"gpu_units": 2, "stake": [{"owner": pk("op"), "amount": "199"}]}, "stake_below_minimum"),
            ({"uptime_seconds": 3239}, "uptime_below_minimum"),  # 3239 * 10000 < 9000 * 3600
            ({"continuous_uptime_seconds": 599}, "continuous_uptime_below_minimum"),
        ],
    )
    def test_single_reason(self, overrides: dict, reason: str) -> None:
        out = compute(epoch_input([node(**overrides)]))
        n = out["nodes"][0]
        assert (n["eligible"], n["reasons"], n["reward"]) == (False, [reason], "0")

    def test_boundaries_are_inclusive(self) -> None:
        # 3240 * 10000 == 9000 * 3600 and 600 == min continuous: both exactly at the minimum are eligible.
        out = compute(epoch_input([node(uptime_seconds=3240, continuous_uptime_seconds=600)]))
        assert out["nodes"][0]["eligible"] is True

    def test_every_reason_in_order(self) -> None:
        bad = node(
            gpu_model="V100",
            verified=False,
            slashed=True,
            stake=[],
            uptime_seconds=0,
            continuous_uptime_seconds=0,
        )
        assert compute(epoch_input([bad]))["nodes"][0]["reasons"] == list(REASONS)

    def test_zero_amount_stake_is_no_stake(self) -> None:
        n = compute(epoch_input([node(stake=[{"owner": pk("op"), "amount": "0"}])], min_stake_per_gpu="0"))
        assert n["nodes"][0]["reasons"] == ["no_stake"]

    def test_operator_stake_not_required_when_minimum_is_zero(self) -> None:
        only_delegated = node(stake=[{"owner": pk("d"), "amount": "5"}])
        assert compute(epoch_input([only_delegated], min_stake_per_gpu="0"))["nodes"][0]["eligible"] is True


class TestSplits:
    def test_rule_3_availability_by_gpu_units_multiplier_uptime(self) -> None:
        # weights 1*10000*3600 = 36e6 and 1*25000*3600 = 90e6 over 500: bases 142, 357 (sum 499),
        # fracs 108e6 and 18e6 -> the leftover unit goes to the A100 node.
        out = compute(epoch_input([node("a"), node("h", gpu_model="H100")]))
        assert [n["availability_reward"] for n in out["nodes"]] == ["143", "357"]

    def test_rule_3_compute_by_gpu_seconds_times_multiplier(self) -> None:
        # compute weights 100*10000 and 100*25000 over 500: 142.857 -> 143 and 357.142 -> 357.
        nodes = [node("a", compute_gpu_seconds=100), node("h", gpu_model="H100", compute_gpu_seconds=100)]
        out = compute(epoch_input(nodes))
        assert [n["compute_reward"] for n in out["nodes"]] == ["143", "357"]
        assert out["pool"]["unallocated"] == "0"

    def test_rule_4_commission_on_delegated_share_only(self) -> None:
        # reward 900 (community 10%) over stake 10 (operator) : 30 (delegator) = 225 : 675;
        # commission = 675 * 1000 // 10000 = 67 -> operator 225 + 67 = 292, delegator 608.
        delegator = pk("d")
        n = node(
            commission_bps=1000,
            compute_gpu_seconds=1,
            stake=[{"owner": pk("op"), "amount": "10"}, {"owner": delegator, "amount": "30"}],
        )
        out = compute(epoch_input([n], community_bps=1000, min_stake_per_gpu="10"))
        assert out["pool"]["community"] == "100"
        assert out["nodes"][0]["reward"] == "900" and out["nodes"][0]["operator_commission"] == "67"
        assert payouts_of(out) == {pk("op"): 292, delegator: 608}

    def test_rule_6_payouts_summed_per_wallet_across_nodes(self) -> None:
        out = compute(epoch_input([node("a"), node("b")]))  # same operator on both, 250 each
        assert payouts_of(out) == {pk("op"): 500}

    def test_rule_6_totals_add_previous_and_drop_zero(self) -> None:
        previous = {pk("op"): "1000", pk("old"): "7", pk("zero"): "0"}
        out = compute(epoch_input([node("a")], previous=previous))
        assert totals_of(out) == {pk("op"): 1500, pk("old"): 7}
        assert [t["wallet"] for t in out["totals"]] == sorted(totals_of(out))

    def test_total_overflowing_u64_is_an_input_error(self) -> None:
        with pytest.raises(RewardsInputError) as exc:
            compute(epoch_input([node("a")], previous={pk("op"): str(2**64 - 100)}))
        assert exc.value.field == f"previous_totals.{pk('op')}"


class TestOutput:
    def test_rule_8_inputs_sha256(self) -> None:
        doc = epoch_input([node("a")])
        expected = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        assert compute(doc)["inputs_sha256"] == expected

    def test_same_input_same_bytes(self) -> None:
        doc = epoch_input([node("a"), node("b", operator="op2", compute_gpu_seconds=5)])
        assert json.dumps(compute(doc)) == json.dumps(compute(copy.deepcopy(doc)))

    def test_nodes_follow_input_order_and_payouts_are_sorted(self) -> None:
        doc = epoch_input([node(f"n{i}", operator=f"o{i}") for i in range(5)])
        out = compute(doc)
        assert [n["node"] for n in out["nodes"]] == [n["node"] for n in doc["nodes"]]
        assert [p["wallet"] for p in out["payouts"]] == sorted(payouts_of(out))

    def test_empty_totals_root_is_zero(self) -> None:
        assert compute(epoch_input([]))["merkle_root"] == "00" * 32


def strip_order(out: dict) -> dict:
    out = dict(out)
    out.pop("inputs_sha256")  # rule 8 hashes the input as given, so a reordered input hashes differently
    out["nodes"] = sorted(out["nodes"], key=lambda n: n["node"])
    return out


class TestProperties:
    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(epoch_docs())
    def test_conservation(self, doc: dict) -> None:
        out = compute(doc)
        pool = {k: int(v) for k, v in out["pool"].items()}
        rewards = sum(int(n["reward"]) for n in out["nodes"])
        assert pool["community"] + rewards + pool["unallocated"] == pool["emission"]
        assert pool["community"] + pool["availability"] + pool["compute"] == pool["emission"]
        assert sum(payouts_of(out).values()) == rewards  # every stake split sums exactly

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(epoch_docs())
    def test_matches_the_fraction_reference(self, doc: dict) -> None:
        expected, proofs = reference_compute(doc)
        result = compute_epoch(doc)
        assert result.to_json() == expected
        assert {w: list(p) for w, p in zip(result.wallets, result.all_proofs(), strict=True)} == proofs

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(epoch_docs(), st.randoms(use_true_random=False))
    def test_shuffling_nodes_and_stake_changes_nothing(self, doc: dict, rnd: random.Random) -> None:
        shuffled = copy.deepcopy(doc)
        rnd.shuffle(shuffled["nodes"])
        for n in shuffled["nodes"]:
            rnd.shuffle(n["stake"])
        items = list(shuffled["previous_totals"].items())
        rnd.shuffle(items)
        shuffled["previous_totals"] = dict(items)
        assert strip_order(compute(shuffled)) == strip_order(compute(doc))

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(epoch_docs())
    def test_commission_never_exceeds_the_delegated_share(self, doc: dict) -> None:
        out = compute(doc)
        for n_in, n_out in zip(doc["nodes"], out["nodes"], strict=True):
            reward = int(n_out["reward"])
            if not reward:
                assert n_out["operator_commission"] == "0"
                continue
            owners = [e["owner"] for e in n_in["stake"]]
            shares = largest_remainder(reward, [int(e["amount"]) for e in n_in["stake"]], owners)
            delegated = sum(s for o, s in zip(owners, shares, strict=True) if o != n_in["operator"])
            assert int(n_out["operator_commission"]) * 10000 <= delegated * n_in["commission_bps"]
            assert int(n_out["operator_commission"]) <= delegated

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(epoch_docs())
    def test_totals_never_decrease(self, doc: dict) -> None:
        out = compute(doc)
        totals = totals_of(out)
        paid = payouts_of(out)
        for wallet, before in doc["previous_totals"].items():
            assert totals.get(wallet, 0) >= int(before)
        for wallet, total in totals.items():
            assert total == int(doc["previous_totals"].get(wallet, "0")) + paid.get(wallet, 0)

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(epoch_docs())
    def test_every_proof_verifies_and_a_tampered_amount_does_not(self, doc: dict) -> None:
        result = compute_epoch(doc)
        root = result.merkle_root
        for wallet, proof in zip(result.wallets, result.all_proofs(), strict=True):
            cumulative, single = result.proof(wallet)
            assert list(proof) == single
            key = result.key_of(wallet)
            assert verify_proof(root, key, cumulative, proof)
            assert not verify_proof(root, key, cumulative + 1, proof)
            assert not verify_proof(root, key, cumulative - 1, proof)


class TestTieBreaks:
    def test_equal_node_weights_give_the_leftover_unit_to_the_smaller_node_key(self) -> None:
        # 500 availability over three equal nodes: 166 each + 2 leftover units to the two smallest node keys.
        # Input order is the reverse of key order, so an input-order tie-break would fail this.
        nodes = sorted(
            (node(f"t{i}", operator=f"o{i}") for i in range(3)), key=lambda n: n["node"], reverse=True
        )
        out = compute(epoch_input(nodes))
        by_key = sorted((n["node"], int(n["availability_reward"])) for n in out["nodes"])
        assert [r for _, r in by_key] == [167, 167, 166]

    def test_equal_stake_gives_the_leftover_unit_to_the_smaller_owner(self) -> None:
        # reward 500 (compute pool unallocated) over three equal stakes: 166 each, 2 units to the two
        # smallest.
        owners = [pk("op"), pk("x"), pk("y")]
        n = node(stake=[{"owner": o, "amount": "100"} for o in owners])
        paid = payouts_of(compute(epoch_input([n])))
        assert [paid[o] for o in sorted(owners)] == [167, 167, 166]


# ASCII text exercises the fast route (orjson), any text the fallback; keys collide often to test sorting.
_ascii = st.text(st.characters(max_codepoint=127))
_texts = st.one_of(_ascii, st.text(), st.sampled_from(["a", "B", "a0", "_"]))
json_scalars = st.one_of(_texts, st.integers(0, 2**64 - 1), st.booleans())
json_docs = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_texts, inner, max_size=6)),
    max_leaves=30,
)


class TestCanonicalJson:
    """The orjson route must give exactly json.dumps' bytes (rule 8 and the output file), or fall back to it."""

    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # shared machine: no timing
    @given(json_docs)
    def test_fast_route_equals_json_dumps(self, doc: object) -> None:
        expected = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        assert canonical_json(doc, validated=True) == expected
        assert canonical_json(doc) == expected
        assert json_bytes(doc) == json.dumps(doc, separators=(",", ":")).encode()

    @pytest.mark.parametrize("code", [*range(0, 0x80), 0xA0, 0x2028, 0xD800, 0xFEFF, 0x1F600])
    def test_every_ascii_character_and_some_others(self, code: int) -> None:
        doc = {f"k{chr(code)}": [f"v{chr(code)}", 1], "a": True}
        assert (
            canonical_json(doc, validated=True)
            == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        )


class TestGcPaused:
    """The collector is off during a run; what the run made lands in the oldest generation, unscanned."""

    def test_results_move_to_the_oldest_generation_and_the_collector_is_back_on(self) -> None:
        assert gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]
        assert gc.isenabled() and gc.get_freeze_count() == 0
        oldest = gc.get_objects(generation=2)
        assert any(obj is made for obj in oldest) and any(obj is made[-1] for obj in oldest)

    def test_objects_frozen_by_the_process_stay_frozen(self) -> None:
        gc.freeze()
        try:
            frozen = gc.get_freeze_count()
            with gc_paused():
                assert not gc.isenabled()
            assert gc.isenabled() and gc.get_freeze_count() == frozen > 0
        finally:
            gc.unfreeze()

    def test_a_paused_caller_stays_paused(self) -> None:
        gc.disable()
        try:
            with gc_paused():
                pass
            assert not gc.isenabled()
        finally:
            gc.enable()
