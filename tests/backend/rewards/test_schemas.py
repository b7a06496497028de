"""Rule 9: invalid input raises a typed error naming the field, and the input is left as it was."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from backend.errors import AppError
from backend.money import U64_MAX
from backend.rewards.engine import compute
from backend.rewards.errors import RewardsInputError
from backend.rewards.schemas import validate_input
from tests.backend.rewards.helpers import epoch_input, node, pk


def valid() -> dict[str, Any]:
    n = node("a", stake=[{"owner": pk("op"), "amount": "100"}, {"owner": pk("d"), "amount": "5"}])
    return epoch_input([n, node("b")], previous={pk("old"): "10"})


def setter(path: str, value: Any) -> Callable[[dict], None]:
    """Set a dotted path (``nodes.0.stake.1.amount``) in a document."""

    def apply(doc: dict) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


def delete(path: str) -> Callable[[dict], None]:
    def apply(doc: dict) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return apply


CASES: list[tuple[str, Callable[[dict], None], str]] = [
    ("unknown schema", setter("schema", "iog.rewards.input/2"), "schema"),
    ("bad node pubkey", setter("nodes.0.node", "not-a-key"), "nodes[0].node"),
    ("short pubkey", setter("nodes.0.operator", "2" * 32), "nodes[0].operator"),
    ("bad owner pubkey", setter("nodes.0.stake.1.owner", "0OIl" * 10), "nodes[0].stake[1].owner"),
    ("two pubkeys in one", setter("nodes.0.stake.1.owner", f"{pk('x')}\n{pk('y')}"), "nodes[0].stake[1].owner"),
    (
        "newline in previous wallet",
        setter(f"previous_totals.{pk('x')}\n{pk('y')}", "1"),
        f"previous_totals.{pk('x')}\n{pk('y')}",
    ),
    ("pubkey not a string", setter("nodes.1.node", 5), "nodes[1].node"),
    ("duplicate node", setter("nodes.1.node", pk("a")), "nodes[1].node"),
    ("duplicate owner", setter("nodes.0.stake.1.owner", pk("op")), "nodes[0].stake[1].owner"),
    ("negative amount", setter("nodes.0.stake.0.amount", "-1"), "nodes[0].stake[0].amount"),
    ("fractional amount", setter("nodes.0.stake.0.amount", "1.5"), "nodes[0].stake[0].amount"),
    ("float amount", setter("nodes.0.stake.0.amount", 1.5), "nodes[0].stake[0].amount"),
    ("number amount", setter("nodes.0.stake.0.amount", 100), "nodes[0].stake[0].amount"),
    ("leading zeros", setter("nodes.0.stake.0.amount", "0100"), "nodes[0].stake[0].amount"),
    ("non-ascii digits", setter("nodes.0.stake.0.amount", "\u0661\u0660"), "nodes[0].stake[0].amount"),
    ("amount over u64", setter("nodes.0.stake.0.amount", str(U64_MAX + 1)), "nodes[0].stake[0].amount"),
    ("emission over u64", setter("params.emission", "1" * 21), "params.emission"),
    ("negative emission", setter("params.emission", "-5"), "params.emission"),
    ("min stake not integer", setter("params.min_stake_per_gpu", "1e3"), "params.min_stake_per_gpu"),
    ("community bps over 10000", setter("params.community_bps", 10001), "params.community_bps"),
    ("compute bps over 10000", setter("params.compute_share_bps", 10001), "params.compute_share_bps"),
    ("uptime bps over 10000", setter("params.min_uptime_bps", 20000), "params.min_uptime_bps"),
    ("commission over 10000", setter("nodes.1.commission_bps", 10001), "nodes[1].commission_bps"),
    ("negative bps", setter("params.community_bps", -1), "params.community_bps"),
    ("negative multiplier", setter("params.gpu_multipliers_bps.A100", -1), "params.gpu_multipliers_bps.A100"),
    ("negative uptime", setter("nodes.0.uptime_seconds", -1), "nodes[0].uptime_seconds"),
    ("float gpu units", setter("nodes.0.gpu_units", 1.0), "nodes[0].gpu_units"),
    ("bool gpu units", setter("nodes.0.gpu_units", True), "nodes[0].gpu_units"),
    ("verified not bool", setter("nodes.0.verified", 1), "nodes[0].verified"),
    ("gpu model not string", setter("nodes.0.gpu_model", 3), "nodes[0].gpu_model"),
    ("stake not a list", setter("nodes.0.stake", {}), "nodes[0].stake"),
    ("stake entry not an object", setter("nodes.0.stake.0", "x"), "nodes[0].stake[0]"),
    ("missing field", delete("nodes.0.verified"), "nodes[0].verified"),
    (
        "stake key misspelt",
        setter("nodes.0.stake.0", {"owner": pk("op"), "amt": "1"}),
        "nodes[0].stake[0].amount",
    ),
    ("stake extra key", setter("nodes.1.stake.0.memo", "x"), "nodes[1].stake[0].memo"),
    ("stake amount missing", delete("nodes.1.stake.0.amount"), "nodes[1].stake[0].amount"),
    ("empty amount", setter("nodes.0.stake.0.amount", ""), "nodes[0].stake[0].amount"),
    ("amount with spaces", setter("nodes.0.stake.0.amount", " 100"), "nodes[0].stake[0].amount"),
    ("amount with underscore", setter("nodes.0.stake.0.amount", "1_000"), "nodes[0].stake[0].amount"),
    ("amount with a comma", setter("nodes.0.stake.0.amount", "1,000"), "nodes[0].stake[0].amount"),
    ("double zero", setter("nodes.0.stake.1.amount", "00"), "nodes[0].stake[1].amount"),
    ("last amount empty", setter("nodes.0.stake.1.amount", ""), "nodes[0].stake[1].amount"),
    ("21 digits", setter("nodes.0.stake.1.amount", "1" + "0" * 20), "nodes[0].stake[1].amount"),
    ("5000 digits", setter("nodes.0.stake.0.amount", "9" * 5000), "nodes[0].stake[0].amount"),
    ("previous leading zero", setter(f"previous_totals.{pk('old')}", "07"), f"previous_totals.{pk('old')}"),
    ("operator not a string", setter("nodes.0.operator", None), "nodes[0].operator"),
    ("node not an object", setter("nodes.1", []), "nodes[1]"),
    ("unknown field", setter("nodes.0.comission_bps", 5), "nodes[0].comission_bps"),
    ("unknown top-level field", setter("extra", 1), "extra"),
    ("missing params field", delete("params.emission"), "params.emission"),
    ("zero epoch seconds", setter("epoch_seconds", 0), "epoch_seconds"),
    ("negative epoch", setter("epoch", -1), "epoch"),
    ("nodes not a list", setter("nodes", {}), "nodes"),
    ("bad previous wallet", setter("previous_totals.xyz", "1"), "previous_totals.xyz"),
    ("bad previous amount", setter(f"previous_totals.{pk('old')}", "-3"), f"previous_totals.{pk('old')}"),
]


class TestInvalidInput:
    def test_the_base_document_is_valid(self) -> None:
        validate_input(valid())

    @pytest.mark.parametrize(("mutate", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
    def test_error_names_the_field_and_input_is_untouched(
        self, mutate: Callable[[dict], None], field: str
    ) -> None:
        doc = valid()
        mutate(doc)
        before = copy.deepcopy(doc)
        with pytest.raises(RewardsInputError) as exc:
            compute(doc)
        assert exc.value.field == field
        assert str(exc.value).startswith(f"{field}: ")
        assert isinstance(exc.value, AppError) and exc.value.status_code == 422
        assert doc == before

    def test_not_an_object(self) -> None:
        with pytest.raises(RewardsInputError):
            validate_input([1, 2])

    def test_zero_amounts_side_by_side_are_valid(self) -> None:
        doc = valid()
        doc["nodes"][0]["stake"].append({"owner": pk("z1"), "amount": "0"})
        doc["nodes"][0]["stake"].append({"owner": pk("z2"), "amount": "0"})
        doc["previous_totals"][pk("z3")] = "0"
        assert validate_input(doc).amounts[:4] == [100, 5, 0, 0]  # node "b" follows

    def test_max_u64_amount_is_valid(self) -> None:
        doc = valid()
        doc["params"]["emission"] = str(U64_MAX)
        assert compute(doc)["pool"]["emission"] == str(U64_MAX)

    def test_multiplier_may_exceed_10000_bps(self) -> None:
        doc = valid()
        doc["params"]["gpu_multipliers_bps"]["H100"] = 25000
        validate_input(doc)
