"""The file interface of the rewards engine: read an epoch input, write its output, prove a wallet from it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from backend.rewards.engine import EpochResult, compute_epoch, gc_paused, json_bytes
from backend.rewards.errors import RewardsInputError, WalletNotInTotals
from backend.rewards.merkle import MerkleTree, leaf_hash, verify_proof
from backend.rewards.schemas import OUTPUT_SCHEMA, parse_amount, parse_pubkey


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def read_json(path: Path, what: str) -> Any:
    """Parse a JSON file strictly: duplicate object keys and NaN/Infinity are errors.

    Raises:
        RewardsInputError: The file is missing or is not strict JSON (field = ``what``).
    """
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise RewardsInputError(what, f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except _DuplicateKey as exc:
        raise RewardsInputError(what, f"duplicate JSON key {exc.args[0]!r} in {path}") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise RewardsInputError(what, f"{path} is not valid JSON: {exc}") from None


def write_json_atomic(path: Path, doc: Any) -> None:
    """Write ``doc`` as compact JSON plus a newline; the file appears whole or not at all."""
    path = Path(path)
    data = json_bytes(doc) + b"\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp creates 0600; give the file the mode a plain open() would
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def compute_file(input_path: Path, output_path: Path) -> EpochResult:
    """``iog rewards compute``: read, validate and compute; the output is written only on success.

    Raises:
        RewardsInputError: The input is invalid; nothing is written.
    """
    with gc_paused():
        raw = read_json(input_path, "input")
        result = compute_epoch(raw)
        try:
            write_json_atomic(output_path, result.to_json())
        except OSError as exc:
            raise RewardsInputError("output", f"cannot write {output_path}: {exc.strerror}") from None
    return result


def load_totals(doc: Any) -> tuple[list[tuple[str, bytes, int]], MerkleTree]:
    """Validate the totals and root of an ``iog.rewards.output/1`` document and check that they agree.

    Returns:
        ``(wallet, wallet bytes, cumulative)`` per total, and the tree rebuilt from them.

    Raises:
        RewardsInputError: The document is malformed or its root does not match its totals.
    """
    if not isinstance(doc, dict) or doc.get("schema") != OUTPUT_SCHEMA:
        raise RewardsInputError("schema", f"must be {OUTPUT_SCHEMA!r}")
    totals = doc.get("totals")
    if type(totals) is not list:
        raise RewardsInputError("totals", "must be a list")
    rows: list[tuple[str, bytes, int]] = []
    for i, entry in enumerate(totals):
        if not isinstance(entry, dict):
            raise RewardsInputError(f"totals[{i}]", "must be an object")
        wallet = entry.get("wallet")
        key = parse_pubkey(wallet, f"totals[{i}].wallet")
        rows.append((str(wallet), key, parse_amount(entry.get("cumulative"), f"totals[{i}].cumulative")))
    root_hex = doc.get("merkle_root")
    try:
        root = bytes.fromhex(root_hex) if isinstance(root_hex, str) else b""
    except ValueError:
        root = b""
    if len(root) != 32:
        raise RewardsInputError("merkle_root", "must be 64 hex characters")
    tree = MerkleTree([leaf_hash(k, c) for _, k, c in rows])
    if tree.root != root:
        raise RewardsInputError("merkle_root", "does not match the totals in the file")
    return rows, tree


def proof_from_payouts(path: Path, wallet: str) -> dict[str, Any]:
    """``iog rewards proof``: the wallet's lifetime total and proof from a payouts file.

    Raises:
        RewardsInputError: The file is invalid or inconsistent.
        WalletNotInTotals: The wallet is not in the file's totals.
    """
    rows, tree = load_totals(read_json(path, "payouts"))
    root = tree.root
    parse_pubkey(wallet, "wallet")
    match = [(k, c) for w, k, c in rows if w == wallet]
    if not match:
        raise WalletNotInTotals(f"wallet {wallet} has no lifetime total in {path}")
    key, cumulative = match[0]
    leaf = leaf_hash(key, cumulative)
    proof = tree.proof(tree.levels[0].index(leaf))
    if not verify_proof(root, key, cumulative, proof):  # the tree was just checked against the root
        raise RuntimeError("proof does not verify")
    return {
        "wallet": wallet,
        "cumulative": str(cumulative),
        "leaf": leaf.hex(),
        "proof": [h.hex() for h in proof],
        "merkle_root": root.hex(),
    }
