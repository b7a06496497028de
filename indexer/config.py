"""What to watch and how: resolved from Settings and the bootstrap file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from backend.config import Settings
from indexer.decode import DecodeContext
from indexer.errors import ConfigError
from indexer.idl import EventCoder

DEFAULT_IDL = Path(__file__).resolve().parent.parent / "programs" / "staking" / "idl" / "iog_staking.json"
# Bootstrap-file keys of addresses to watch (token accounts and the program id).
WATCH_KEYS = ("program_id", "treasury", "rewards_vault", "stake_vault", "emission_reserve")


@dataclass
class IndexerConfig:
    """The resolved watch list and decode context."""

    addresses: list[str]
    io_mint: str | None
    program_id: str | None
    idl_path: Path | None
    labels: dict[str, str] = field(default_factory=dict)

    def context(self) -> DecodeContext:
        """The decoder context for this watch list."""
        coder = EventCoder.from_file(self.idl_path) if self.idl_path else None
        token_accounts = frozenset(a for a in self.addresses if a != self.program_id)
        return DecodeContext(watched=token_accounts, io_mint=self.io_mint, program_id=self.program_id, events=coder)


def _is_pubkey(s: str) -> bool:
    from solders.pubkey import Pubkey

    try:
        Pubkey.from_string(s)
    except ValueError:
        return False
    return True


def resolve(settings: Settings) -> IndexerConfig:
    """Addresses from the bootstrap file (when present) plus ``IOG_INDEXER_ADDRESSES``; raises ConfigError."""
    labels: dict[str, str] = {}
    boot: dict[str, object] = {}
    path = settings.resolved_bootstrap_file
    if path.exists():
        try:
            boot = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read bootstrap file {path}: {exc}") from exc
    nested = boot.get("staking")
    staking: dict[str, object] = nested if isinstance(nested, dict) else {}
    for key in WATCH_KEYS:
        val = boot.get(key) or staking.get(key)
        if isinstance(val, str) and val:
            labels[val] = key
    pid = boot.get("program_id") or staking.get("program_id")
    program_id = settings.program_id or (pid if isinstance(pid, str) else None)
    if program_id:
        labels[program_id] = "program_id"
    for extra in (a.strip() for a in settings.indexer_addresses.split(",")):
        if extra:
            labels.setdefault(extra, "extra")
    bad = [a for a in labels if not _is_pubkey(a)]
    if bad:
        raise ConfigError(f"not a base58 public key: {', '.join(bad)}")
    if not labels:
        raise ConfigError(f"nothing to watch: no bootstrap file at {path} and IOG_INDEXER_ADDRESSES is empty")
    boot_mint = boot.get("mint")
    mint = settings.indexer_io_mint or (boot_mint if isinstance(boot_mint, str) else None)
    idl = settings.indexer_idl_path or (DEFAULT_IDL if DEFAULT_IDL.exists() else None)
    if idl is not None and not Path(idl).exists():
        raise ConfigError(f"IDL file not found: {idl}")
    return IndexerConfig(
        addresses=list(labels),
        io_mint=mint,
        program_id=program_id,
        idl_path=idl,
        labels=labels,
    )
