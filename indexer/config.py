"""What to watch and how: resolved from Settings and the bootstrap file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.chain import bootfile
from backend.chain.ids import IDL_PATH as DEFAULT_IDL
from backend.config import Settings
from backend.errors import AppError
from indexer.decode import DecodeContext
from indexer.errors import ConfigError
from indexer.idl import EventCoder


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
    boot: bootfile.BootstrapFile | None = None
    path = settings.resolved_bootstrap_file
    if path.exists():
        try:
            boot = bootfile.load(path)
        except AppError as exc:
            raise ConfigError(f"cannot read bootstrap file {path}: {exc.message}") from exc
    pid: str | None = None
    if boot is not None:
        staking = boot.staking
        pid = staking.program_id if staking else None
        watched = {
            "program_id": pid,
            "treasury": boot.treasury,
            "rewards_vault": staking.rewards_vault if staking else None,
            "stake_vault": staking.stake_vault if staking else None,
            "emission_reserve": boot.emission_reserve,
            # The treasury's USDC account (payments in USDC, payouts and refunds in USDC).
            "treasury_usdc": boot.settlement.treasury_usdc if boot.settlement else None,
            # The community (grants) treasury: epochs fund it, governance pays grants from it.
            "community_treasury": boot.epochs.community_treasury if boot.epochs else None,
        }
        labels.update({address: key for key, address in watched.items() if address})
    program_id = settings.program_id or pid
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
    mint = settings.indexer_io_mint or (boot.mint if boot is not None else None)
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
