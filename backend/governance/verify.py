"""``iog governance verify ID``: recompute a closed vote from what the API publishes (its ballots and snapshot)
and compare with the published outcome, its hash, and the memo the governance authority recorded on chain."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import based58
import httpx
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.signature import Signature

from backend.chain import ids
from backend.errors import AppError
from backend.governance import tally

log = logging.getLogger(__name__)
_MEMO_LOG = re.compile(r'Program log: Memo \(len \d+\): "(.*)"$')
CLOSED = ("Succeeded", "Defeated", "Executing", "Completed")


class VerifyError(AppError):
    """The vote cannot be checked (API or RPC unreachable, proposal not closed)."""


@dataclass
class Verdict:
    """``difference`` is None when everything matched."""

    proposal: str
    state: str | None = None
    outcome_hash: str | None = None
    difference: str | None = None
    notes: list[str] = field(default_factory=list)


def _get(http: httpx.Client, path: str) -> dict[str, Any]:
    try:
        r = http.get(path)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot reach the API: {exc}") from None
    if r.status_code != 200:
        raise VerifyError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return dict(r.json())


def memo_of(client: Client, signature: str) -> str | None:
    """The text of the (first) Memo instruction of a transaction, or None when it has none / is unknown."""
    try:
        got = client.get_transaction(
            Signature.from_string(signature), commitment=Confirmed, max_supported_transaction_version=0
        ).value
    except Exception as exc:  # noqa: BLE001 - connection refused, RPC error: nothing to compare against
        raise VerifyError(f"cannot read transaction {signature}: {exc}") from None
    if got is None:
        return None
    doc = json.loads(got.to_json())
    txn = doc.get("transaction") or {}
    message = (txn.get("transaction") or txn).get("message") or {}
    keys = message.get("accountKeys", [])
    for ix in message.get("instructions", []):
        idx = ix.get("programIdIndex")
        if isinstance(idx, int) and idx < len(keys) and keys[idx] in ids.MEMO_PROGRAMS:
            return bytes(based58.b58decode(str(ix.get("data", "")).encode())).decode("utf-8", "replace")
    # A node that answers in another shape: the memo program's own log line `Memo (len N): "text"`.
    for line in (doc.get("meta") or txn.get("meta") or {}).get("logMessages") or []:
        m = _MEMO_LOG.match(line)
        if m:
            return m.group(1)
    log.warning("no memo instruction found in %s: %s", signature, json.dumps(doc)[:2000])
    return None


def verify_proposal(http: httpx.Client, rpc: Client | None, proposal_id: str) -> Verdict:
    """Recompute the outcome of ``proposal_id`` from its published ballots and snapshot alone."""
    p = _get(http, f"/governance/proposals/{proposal_id}")
    v = Verdict(proposal_id, p.get("state"), p.get("outcome_hash"))
    if p.get("state") not in CLOSED or p.get("outcome") is None:
        raise VerifyError(f"proposal {proposal_id} is {p.get('state')}: only a closed vote has an outcome")
    snap = _get(http, f"/governance/proposals/{proposal_id}/snapshot")
    published = _get(http, f"/governance/proposals/{proposal_id}/ballots")
    if snap["total"] != p["snapshot_total"] or snap["snapshot_slot"] != p["snapshot_slot"]:
        v.difference = "the snapshot's slot or total differs from the proposal's"
        return v
    if sum(int(e["stake"]) for e in snap["entries"]) > int(snap["total"]):
        v.difference = "the snapshot's stakes add up to more than its total"
        return v
    weights: dict[str, int] = {}
    for e in snap["entries"]:
        if e["weight"] is None:
            continue
        expected = tally.capped(int(e["stake"]), int(e["bonded_at_close"]))
        if int(e["weight"]) != expected:
            v.difference = f"weight of {e['wallet']}: published {e['weight']}, min(stake, bonded at close) {expected}"
            return v
        weights[e["wallet"]] = expected
    rules = tally.Rules(
        proposal_id,
        tuple(p["options"]),
        int(p["snapshot_slot"]),
        int(p["snapshot_total"]),
        int(p["quorum_bps"]),
        int(p["threshold_bps"]),
        int(published["voting_ends_at"]),
    )
    ballots = [
        tally.Ballot(int(b["seq"]), b["voter"], b["payload"], b["signature"], int(b["received_at"]))
        for b in published["ballots"]
    ]
    for b in ballots:
        try:
            tally.check_ballot(b.voter, b.payload, b.signature)
        except tally.BadBallot as exc:
            v.notes.append(f"ballot {b.seq} of {b.voter} does not verify ({exc.reason}): not counted")
    outcome = tally.tally(rules, weights, ballots)
    if outcome != p["outcome"]:
        diff = next((k for k in sorted(outcome) if outcome.get(k) != p["outcome"].get(k)), "(keys)")
        v.difference = f"recomputed outcome differs at {diff!r}: {outcome.get(diff)} != {p['outcome'].get(diff)}"
        return v
    digest = tally.outcome_hash(outcome)
    if digest != p.get("outcome_hash"):
        v.difference = f"outcome hash: recomputed {digest}, published {p.get('outcome_hash')}"
        return v
    expected_state = {"Executing": "Succeeded", "Completed": "Succeeded"}.get(p["state"], p["state"])
    if outcome["state"] != expected_state:
        v.difference = f"state: recomputed {outcome['state']}, published {p['state']}"
        return v
    memo = p.get("memo") or {}
    if rpc is None:
        v.notes.append("no RPC: the memo on chain was not read")
    elif not memo.get("signature") or memo.get("status") != "landed":
        v.notes.append(f"the outcome memo has not landed yet (status {memo.get('status')})")
    else:
        text = memo_of(rpc, memo["signature"])
        wanted = tally.memo_text(proposal_id, outcome["state"], digest)
        if text != wanted:
            v.difference = f"memo on chain ({memo['signature']}): {text!r} != {wanted!r}"
            return v
        v.notes.append(f"memo {memo['signature']} on chain names the outcome and its hash")
    return v
