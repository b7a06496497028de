"""``iog rewards verify``: recompute a published epoch and compare it with what was published and posted.

Downloads the epoch's stored input and output from the API, runs the engine on the input, and compares: the
output bytes (naming the first differing field when they differ), the API's ``inputs_sha256`` and root, and the
root of the RewardsRootPosted event in the epoch's post transaction on chain (an epoch superseded by a later
post has no root of its own on chain; that is reported, not counted as a difference).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey
from solders.signature import Signature

from backend.chain.staking import StakingClient
from backend.errors import AppError
from backend.rewards.engine import compute_epoch, json_bytes
from backend.rewards.errors import RewardsInputError


class VerifyError(AppError):
    """The epoch cannot be checked (API or RPC unreachable, no such epoch, not computed)."""


@dataclass
class Verdict:
    """The outcome: ``difference`` is None on a match."""

    epoch: int
    root: str | None = None
    difference: str | None = None
    notes: list[str] = field(default_factory=list)


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The path of the first place two JSON values differ (None when equal)."""
    if type(a) is not type(b):
        return f"{path or '(root)'}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: present in only one document"
            found = first_difference(a[key], b[key], f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        return None
    return None if a == b else f"{path or '(root)'}: {json.dumps(a)[:80]} != {json.dumps(b)[:80]}"


def _get(http: httpx.Client, path: str) -> httpx.Response:
    try:
        r = http.get(path)
    except httpx.HTTPError as exc:
        raise VerifyError(f"cannot reach the API: {exc}") from None
    if r.status_code != 200:
        raise VerifyError(f"GET {path}: {r.status_code} {r.text[:200]}")
    return r


def posted_root(client: Client, program_id: Pubkey, signature: str, epoch: int) -> str | None:
    """The root of the RewardsRootPosted event for ``epoch`` in the transaction ``signature`` (None if absent)."""
    try:
        got = client.get_transaction(
            Signature.from_string(signature), commitment=Confirmed, max_supported_transaction_version=0
        ).value
    except Exception as exc:  # connection refused, RPC error: nothing to compare against
        raise VerifyError(f"cannot read transaction {signature}: {exc}") from None
    if got is None or got.transaction.meta is None:
        return None
    for ev in StakingClient(program_id).parse_events(list(got.transaction.meta.log_messages or [])):
        if ev.name == "RewardsRootPosted" and int(ev.data.epoch) == epoch:
            return bytes(ev.data.root).hex()
    return None


def verify_epoch(http: httpx.Client, rpc: Client | None, program_id: Pubkey, epoch: int) -> Verdict:
    """Recompute ``epoch`` from its published input and compare (see the module docstring)."""
    meta = _get(http, f"/epochs/{epoch}").json()
    raw_input = _get(http, f"/epochs/{epoch}/input").content
    published = _get(http, f"/epochs/{epoch}/output").content
    verdict = Verdict(epoch)
    try:
        result = compute_epoch(json.loads(raw_input))
    except (ValueError, RewardsInputError) as exc:
        verdict.difference = f"the published input does not compute: {exc}"
        return verdict
    mine = result.to_json()
    verdict.root = result.merkle_root.hex()
    if json_bytes(mine) != published:
        try:
            theirs = json.loads(published)
        except ValueError:
            verdict.difference = "the published output is not JSON"
            return verdict
        verdict.difference = "output " + (first_difference(mine, theirs) or "bytes differ (formatting)")
        return verdict
    for key, value in (("inputs_sha256", result.inputs_sha256), ("merkle_root", verdict.root)):
        if meta.get(key) != value:
            verdict.difference = f"the API's {key} {meta.get(key)} != recomputed {value}"
            return verdict
    if meta.get("posted_in") is None:
        verdict.notes.append(f"epoch {epoch} is {meta.get('state')}: no root posted yet")
    elif meta["posted_in"] != epoch:
        verdict.notes.append(f"epoch {epoch} has no root of its own on chain: epoch {meta['posted_in']}'s root "
                             "(lifetime totals) superseded it")  # fmt: skip
    elif rpc is not None and meta.get("signature"):
        on_chain = posted_root(rpc, program_id, meta["signature"], epoch)
        if on_chain is None:
            verdict.difference = f"no RewardsRootPosted for epoch {epoch} in transaction {meta['signature']}"
        elif on_chain != verdict.root:
            verdict.difference = f"root on chain {on_chain} != recomputed {verdict.root}"
        else:
            verdict.notes.append(f"root on chain in {meta['signature']} matches")
    elif meta.get("signature") is None:
        verdict.notes.append("posted without a recorded signature: root on chain not checked")
    return verdict
