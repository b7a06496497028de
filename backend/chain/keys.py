"""Keypair files (the Solana CLI JSON format: a list of 64 byte values)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from solders.keypair import Keypair

from backend.errors import AppError


class KeyFileError(AppError):
    """A keypair file that is missing or not a Solana keypair."""

    status_code = 500


def load_keypair(path: Path) -> Keypair:
    """The keypair stored at ``path``; a missing or malformed file is a :class:`KeyFileError`."""
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise KeyFileError(f"keypair file {path} not found") from None
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path} is not a Solana keypair file: {exc}") from None
    try:
        return Keypair.from_bytes(bytes(raw))
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not a Solana keypair file: {exc}") from None


def load_or_create_keypair(path: Path) -> Keypair:
    """The keypair stored at ``path``, created (mode 0600) on first use."""
    path = Path(path)
    if path.exists():
        return load_keypair(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kp = Keypair()
    # Written to a temporary name and renamed, so a crash never leaves a half-written key behind.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(list(bytes(kp))))
    os.replace(tmp, path)
    return kp
