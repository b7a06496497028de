"""The bootstrap file: what ``iog localnet bootstrap`` wrote about a cluster, typed and versioned.

Every reader goes through :func:`load`; bootstrap writes it with :func:`save` (JSON, sorted keys, written only
when it changed). Version 1 is the layout of the first wave; a file without ``version`` is version 1. Later
versions may add sections; a reader refuses a version newer than it knows, naming both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.errors import AppError
from backend.jsonfile import parse_versioned, read_json, save_json

VERSION = 1


def _pubkey(value: str) -> str:
    from solders.pubkey import Pubkey

    try:
        Pubkey.from_string(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a base58 public key") from None
    return value


Pubkey58 = Annotated[str, AfterValidator(_pubkey)]


class BootstrapFileError(AppError):
    """The bootstrap file is missing, unreadable, malformed, or of a newer version."""

    status_code = 500


class _Model(BaseModel):
    # Unknown keys are kept (a newer minor writer may add some) and written back unchanged.
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class Wallet(_Model):
    """A demo wallet."""

    name: str
    pubkey: Pubkey58
    keypair_path: str
    io_account: Pubkey58


class Staking(_Model):
    """The deployed and initialized staking program."""

    program_id: Pubkey58
    config: Pubkey58
    stake_vault: Pubkey58
    rewards_vault: Pubkey58
    slash_destination: Pubkey58
    rewards_authority: Pubkey58
    admin_keypair_path: str
    slash_authority_keypair_path: str


class DemoNode(_Model):
    """A seeded demo GPU node."""

    name: str
    node_key: Pubkey58
    node_keypair_path: str
    operator: Pubkey58
    operator_wallet: str
    node: Pubkey58
    gpu_units: int
    commission_bps: int
    status: str
    total_stake: int


class DemoPosition(_Model):
    """A seeded stake position."""

    node_name: str
    node: Pubkey58
    owner: Pubkey58
    wallet: str
    position: Pubkey58
    shares: int
    stake: int
    delegated: bool


class Demo(_Model):
    """The seeded demo network."""

    nodes: list[DemoNode] = Field(default_factory=list)
    positions: list[DemoPosition] = Field(default_factory=list)


class Epochs(_Model):
    """The epoch schedule's genesis and the community (grants) treasury the epochs' community share goes to."""

    genesis: int = Field(ge=0, description="Unix time epoch 0 starts")
    community_treasury: Pubkey58
    community_treasury_owner: Pubkey58
    community_treasury_owner_keypair_path: str


class Settlement(_Model):
    """What payments and settlement need beyond the IO accounts: the USDC mint, the treasury's USDC account and
    the demo wallets' USDC accounts (written by ``backend.chain.settlement_setup.settlement_step``)."""

    usdc_mint: Pubkey58
    usdc_decimals: int = Field(ge=0, le=18)
    treasury_usdc: Pubkey58
    wallet_usdc_accounts: dict[str, Pubkey58] = Field(default_factory=dict)


class BootstrapFile(_Model):
    """The whole file."""

    version: int = VERSION
    rpc_url: str
    mint: Pubkey58
    decimals: int = Field(ge=0, le=18)
    mint_authority: Pubkey58
    mint_authority_keypair_path: str
    token_program: Pubkey58
    treasury: Pubkey58
    treasury_owner: Pubkey58
    treasury_owner_keypair_path: str
    emission_reserve: Pubkey58
    emission_reserve_owner: Pubkey58
    emission_reserve_owner_keypair_path: str
    wallets: list[Wallet] = Field(default_factory=list)
    staking: Staking | None = None
    demo: Demo | None = None
    epochs: Epochs | None = None
    settlement: Settlement | None = None

    def wallet(self, name_or_pubkey: str) -> Wallet | None:
        """The demo wallet with this name or pubkey."""
        return next((w for w in self.wallets if name_or_pubkey in (w.name, w.pubkey)), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (what :func:`save` writes)."""
        return self.model_dump(mode="json", exclude_none=True)


def parse(doc: Any, source: str = "bootstrap file") -> BootstrapFile:
    """Validate a decoded document; errors name the field."""
    return parse_versioned(
        doc, BootstrapFile, VERSION, BootstrapFileError, source, "bootstrap file", "run `iog localnet bootstrap`"
    )


def load(path: Path) -> BootstrapFile:
    """Read and validate the bootstrap file at ``path``."""
    doc = read_json(path, BootstrapFileError, "run `iog localnet bootstrap` (or `make run`) first")
    return parse(doc, str(path))


def save(boot: BootstrapFile, path: Path) -> bool:
    """Write ``boot`` to ``path`` unless the file already holds exactly that; True when written."""
    return save_json(boot.as_dict(), path)
