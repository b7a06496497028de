"""The EVM bootstrap file (``evm.json`` beside the Solana bootstrap file): what ``iog evmnet bootstrap`` deployed.

Typed and versioned like :mod:`backend.chain.bootfile`; every reader goes through :func:`load`. It is a file of
its own because the Solana bootstrap rewrites its file on every start and the two chains are bootstrapped
independently (the EVM rail is optional).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from backend.errors import AppError

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
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise EvmBootFileError(f"{path} not found: run `iog evmnet bootstrap` first") from None
    except (OSError, ValueError) as exc:
        raise EvmBootFileError(f"cannot read {path}: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("version"), int) and doc["version"] > VERSION:
        raise EvmBootFileError(f"{path} has version {doc['version']}; this iog reads up to {VERSION}: upgrade iog")
    try:
        return EvmBootFile.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise EvmBootFileError(f"{path} is not a valid EVM bootstrap file: {where}: {first['msg']}") from None


def save(boot: EvmBootFile, path: Path) -> bool:
    """Write ``boot`` unless the file already holds exactly that; True when written."""
    text = json.dumps(boot.as_dict(), indent=2, sort_keys=True) + "\n"
    path = Path(path)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True
