"""What the transaction builders read from the cluster: the program's Config, a Node, a StakePosition, the
owner's IO balance and the cluster clock, at ``confirmed`` in two ``getMultipleAccounts`` calls.

Pre-checks read the chain (not the indexer): a wallet acting right after its previous transaction must be
checked against that transaction's effect, which the indexer only has once it is finalized.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK

from backend.chain import bootfile, ids
from backend.chain.staking import StakingClient
from backend.chain.tokens import io_account
from backend.chain.tx import RPC_ERRORS, RpcUnavailable, why
from backend.config import Settings
from backend.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class ProgramContext:
    """The staking program this deployment serves and the IO mint's decimals."""

    program_id: Pubkey
    decimals: int
    mint: Pubkey | None  # None: read it from the program's Config

    @property
    def client(self) -> StakingClient:
        return _staking_client(str(self.program_id))


@lru_cache(maxsize=8)
def _staking_client(program_id: str) -> StakingClient:
    return StakingClient(Pubkey.from_string(program_id))


@lru_cache(maxsize=8)
def _from_file(path: str, _mtime_ns: int) -> tuple[str | None, int | None, str | None]:
    boot = bootfile.load(Path(path))
    return (boot.staking.program_id if boot.staking else None), boot.decimals, boot.mint


@lru_cache(maxsize=8)
def rpc_client(url: str) -> Client:
    """One RPC client per URL (connection reuse)."""
    return Client(url, timeout=30)


def program_context(settings: Settings) -> ProgramContext:
    """Program id: ``IOG_PROGRAM_ID``, else the bootstrap file's, else the localnet default; decimals and mint
    from the bootstrap file, else ``IOG_IO_DECIMALS`` and ``IOG_INDEXER_IO_MINT``. The file is read again only
    when it changes."""
    path = settings.resolved_bootstrap_file
    pid, decimals, mint = None, None, None
    try:
        pid, decimals, mint = _from_file(str(path), path.stat().st_mtime_ns)
    except (OSError, bootfile.BootstrapFileError):
        pass
    program = settings.program_id or pid
    mint = mint or settings.indexer_io_mint
    return ProgramContext(
        Pubkey.from_string(program) if program else ids.default_program_id(),
        settings.io_decimals if decimals is None else decimals,
        Pubkey.from_string(mint) if mint else None,
    )


def _disc(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


DISCRIMINATORS = {name: _disc(name) for name in ("Config", "Node", "StakePosition")}
TOKEN_AMOUNT = struct.Struct("<Q")  # SPL token account: mint (32), owner (32), amount u64 at offset 64


@dataclass(frozen=True)
class ChainState:
    """Accounts a pre-check needs (decoded with the program's IDL; None when absent)."""

    config: Any
    chain_time: int
    node_address: Pubkey | None = None
    node: Any | None = None
    position: Any | None = None
    token_account: Pubkey | None = None
    token_balance: int | None = None  # None: the owner has no IO token account


def _decode(sc: StakingClient, name: str, info: Any) -> Any | None:
    if info is None or info.owner != sc.program_id:
        return None
    data = bytes(info.data)
    if data[:8] != DISCRIMINATORS[name]:
        return None
    return sc.decode_account(data)


def _fetch(client: Client, keys: list[Pubkey], commitment: Commitment) -> list[Any]:
    try:
        return list(client.get_multiple_accounts(keys, commitment).value)
    except RPC_ERRORS as exc:
        raise RpcUnavailable(f"cannot read accounts from the cluster: {why(exc)}") from exc


def node_candidates(program: ProgramContext, given: str) -> tuple[Pubkey, Pubkey]:
    """(given, the Node PDA of given as a node key): ``node`` may name the Node account or its node key."""
    try:
        key = Pubkey.from_string(given)
    except ValueError as exc:
        raise InvalidInput(f"node: not a base58 public key ({exc})") from None
    if str(key) != given:
        raise InvalidInput("node: not a canonical base58 public key")
    return key, program.client.node(key)


def read_state(
    client: Client,
    program: ProgramContext,
    *,
    node: str | None = None,
    owner: Pubkey | None = None,
    commitment: Commitment = Confirmed,
) -> ChainState:
    """Config and clock; with ``node``, the Node it names (NotFound when neither reading names one); with
    ``owner`` too, the owner's StakePosition on it and the owner's IO token balance."""
    sc = program.client
    keys = [sc.config, CLOCK]
    candidates: tuple[Pubkey, ...] = node_candidates(program, node) if node is not None else ()
    infos = _fetch(client, [*keys, *candidates], commitment)
    config = _decode(sc, "Config", infos[0])
    if config is None:
        raise NotFound(f"the staking program {sc.program_id} is not initialized on this cluster (no Config)")
    chain_time = struct.unpack_from("<q", bytes(infos[1].data), 32)[0] if infos[1] is not None else 0
    node_address, node_acc = None, None
    for address, info in zip(candidates, infos[2:], strict=True):
        decoded = _decode(sc, "Node", info)
        if decoded is not None:
            node_address, node_acc = address, decoded
            break
    if node is not None and node_acc is None:
        raise NotFound(f"node {node} is not on chain (neither a Node account nor the node key of one)")
    if owner is None:
        return ChainState(config, chain_time, node_address, node_acc)
    token = io_account(owner, config.io_mint)
    more = [token] if node_address is None else [token, sc.position(node_address, owner)]
    infos = _fetch(client, more, commitment)
    balance = None
    if infos[0] is not None and bytes(infos[0].data)[:32] == bytes(config.io_mint):
        balance = TOKEN_AMOUNT.unpack_from(bytes(infos[0].data), 64)[0]
    position = _decode(sc, "StakePosition", infos[1]) if len(infos) > 1 else None
    return ChainState(config, chain_time, node_address, node_acc, position, token, balance)


def io_balance(client: Client, program: ProgramContext, owner: Pubkey) -> tuple[Pubkey, int, int]:
    """(IO token account, balance, slot of the read) of ``owner`` at confirmed; 0 without a token account."""
    mint = program.mint or read_state(client, program).config.io_mint
    token = io_account(owner, mint)
    try:
        resp = client.get_account_info(token, Confirmed)
    except RPC_ERRORS as exc:
        raise RpcUnavailable(f"cannot read {token}: {why(exc)}") from exc
    info = resp.value
    if info is None or bytes(info.data)[:32] != bytes(mint):
        return token, 0, resp.context.slot
    return token, TOKEN_AMOUNT.unpack_from(bytes(info.data), 64)[0], resp.context.slot


def node_exists(client: Client, program: ProgramContext, node_key: Pubkey) -> bool:
    """Whether the Node account of ``node_key`` exists (any owner: the address is taken either way)."""
    return _fetch(client, [program.client.node(node_key)], Confirmed)[0] is not None
