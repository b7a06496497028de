"""The EVM bootstrap file (``evm.json`` beside the Solana bootstrap file): what ``iog evmnet bootstrap`` deployed.

Typed and versioned like :mod:`backend.chain.bootfile`; every reader goes through :func:`load`. It is a file of
its own because the Solana bootstrap rewrites its file on every start and the two chains are bootstrapped
independently (the EVM rail is optional).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.errors import AppError
from backend.jsonfile import parse_versioned, read_json, save_json

VERSION = 1
_ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def _address(value: str) -> str:
    value = value.lower()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a 20-byte hex address")
    return value


Address = Annotated[str, AfterValidator(_address)]


class EvmBootFileError(AppError):
    """The EVM bootstrap file is missing, unreadable, malformed, or of a newer version."""

    status_code = 500


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=True)


class Contract(_Model):
    """A deployed contract and the block of its deployment (where the indexer starts)."""

    address: Address
    deploy_block: int = Field(ge=0)


class Token(Contract):
    """The USDC-like token."""

    symbol: str
    decimals: int = Field(ge=0, le=36)


class Buyer(_Model):
    """A demo buyer: one of the dev chain's deterministic accounts."""

    name: str
    address: Address
    dev_account_index: int = Field(ge=0)


class EvmBootFile(_Model):
    """The whole file. Addresses are lower-case hex."""

    version: int = VERSION
    rpc_url: str
    chain_id: int = Field(ge=1)
    deployer: Address
    token: Token
    router: Contract
    treasury: Address
    treasury_keypair_path: str
    confirmations: int = Field(ge=1, description="The confirmation depth this chain's deployment uses")
    buyers: list[Buyer] = Field(default_factory=list)

    def buyer(self, name_or_address: str) -> Buyer | None:
        """The demo buyer with this name or address."""
        key = name_or_address.lower()
        return next((b for b in self.buyers if key in (b.name, b.address)), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON document (what :func:`save` writes)."""
        return self.model_dump(mode="json", exclude_none=True)


def load(path: Path) -> EvmBootFile:
    """Read and validate the EVM bootstrap file at ``path``."""
    hint = "run `iog evmnet bootstrap` first"
    doc = read_json(path, EvmBootFileError, hint)
    return parse_versioned(doc, EvmBootFile, VERSION, EvmBootFileError, str(path), "EVM bootstrap file", hint)


def save(boot: EvmBootFile, path: Path) -> bool:
    """Write ``boot`` unless the file already holds exactly that; True when written."""
    return save_json(boot.as_dict(), path)
