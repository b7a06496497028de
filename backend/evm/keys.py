"""EVM key files of the backend's own accounts (the treasury): JSON ``{"address", "private_key"}``, mode 0600."""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from backend.chain.keys import KeyFileError


def load_key(path: Path) -> LocalAccount:
    """The account stored at ``path``; a missing or malformed file is a :class:`KeyFileError`."""
    try:
        doc = json.loads(Path(path).read_text())
        account: LocalAccount = Account.from_key(doc["private_key"])
    except FileNotFoundError:
        raise KeyFileError(f"EVM key file {path} not found") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an EVM key file: {type(exc).__name__}") from None
    if doc.get("address", account.address).lower() != account.address.lower():
        raise KeyFileError(f"{path}: the address does not belong to the private key")
    return account


def load_or_create_key(path: Path) -> LocalAccount:
    """The account stored at ``path``, created (mode 0600, written atomically) on first use."""
    path = Path(path)
    if path.exists():
        return load_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    account: LocalAccount = Account.create()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"address": account.address, "private_key": "0x" + account.key.hex()}))
    os.replace(tmp, path)
    return account
