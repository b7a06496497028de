"""Typed client of the iog_staking program: instruction builders, account and event decoding.

All instruction bytes are produced by anchorpy's coder over programs/staking/idl/iog_staking.json;
all addresses come from backend.chain.pdas. Nothing here talks to the network: callers put the
returned instructions into transactions (LiteSVM in tests, RPC elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from anchorpy import Context, Idl, Program, Provider, Wallet
from anchorpy.program.event import EventParser
from solana.rpc.async_api import AsyncClient
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from backend.chain import ids, pdas
from backend.chain.layout import ERRORS
from backend.chain.tx import StakingProgramError as StakingProgramError  # re-exported for callers
from backend.money import io_unit

STATUS_ACTIVE = 0
STATUS_DEACTIVATED = 1


@lru_cache(maxsize=1)
def load_idl() -> Idl:
    """The program's IDL (parsed once)."""
    return Idl.from_json(ids.IDL_PATH.read_text())


def error_names() -> dict[int, str]:
    """Custom error code -> name (the IDL's names; both come from the one spec in gen_layout.py)."""
    return {code: name for code, (name, _msg) in ERRORS.items()}


@dataclass(frozen=True)
class ConfigParams:
    """Program parameters (amounts in IO base units, durations in seconds).

    Amounts have no defaults here: they depend on the mint's decimals, so use :meth:`for_decimals`.
    """

    min_stake_per_gpu: int
    max_epoch_rewards: int
    cooldown_seconds: int = 14 * 86_400
    commission_notice_seconds: int = 86_400
    max_delegation_bps: int = 5_000
    max_commission_bps: int = 10_000
    max_slash_bps: int = 500
    paused: bool = False

    @classmethod
    def for_decimals(cls, decimals: int, **overrides: Any) -> ConfigParams:
        """The deployment defaults (200 IO minimum stake per GPU, 1,000,000 IO per epoch at most) in base
        units of a mint with ``decimals``; ``overrides`` replace any field."""
        unit = io_unit(decimals)
        return cls(**{"min_stake_per_gpu": 200 * unit, "max_epoch_rewards": 1_000_000 * unit, **overrides})


@dataclass(frozen=True)
class ProgramAccounts:
    """Addresses fixed at initialize."""

    io_mint: Pubkey
    stake_vault: Pubkey
    rewards_vault: Pubkey
    slash_destination: Pubkey


class StakingClient:
    """Builds every instruction of the program and decodes its accounts and events."""

    def __init__(self, program_id: Pubkey | None = None) -> None:
        self.program_id = program_id or ids.default_program_id()
        # The provider is never used to send anything; anchorpy just needs one to build namespaces.
        provider = Provider(AsyncClient("http://127.0.0.1:1"), Wallet(Keypair()))
        self.program = Program(load_idl(), self.program_id, provider)
        self.coder = self.program.coder
        self.config = pdas.config_pda(self.program_id)[0]
        self.distributor = pdas.distributor_pda(self.program_id)[0]
        self.vault_authority = pdas.vault_authority_pda(self.program_id)[0]

    # -- addresses ---------------------------------------------------------------------------
    def node(self, node_key: Pubkey) -> Pubkey:
        """Node account of a device key."""
        return pdas.node_pda(self.program_id, node_key)[0]

    def position(self, node: Pubkey, owner: Pubkey) -> Pubkey:
        """StakePosition of `owner` on Node account `node`."""
        return pdas.position_pda(self.program_id, node, owner)[0]

    def claim_status(self, wallet: Pubkey) -> Pubkey:
        """ClaimStatus of a wallet."""
        return pdas.claim_status_pda(self.program_id, wallet)[0]

    # -- instructions ------------------------------------------------------------------------
    def _ix(self, name: str, args: list[Any], accounts: dict[str, Pubkey]) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts))

    def _params(self, params: ConfigParams) -> Any:
        return self.program.type["ConfigParams"](**params.__dict__)

    def initialize(
        self,
        admin: Pubkey,
        accounts: ProgramAccounts,
        rewards_authority: Pubkey,
        slash_authority: Pubkey,
        params: ConfigParams,
    ) -> Instruction:
        """initialize(params): create Config and Distributor, record vaults and authorities.

        On a program deployed through the upgradeable loader, `admin` must be its upgrade authority.
        """
        return self._ix(
            "initialize",
            [self._params(params)],
            {
                "admin": admin,
                "config": self.config,
                "distributor": self.distributor,
                "vault_authority": self.vault_authority,
                "io_mint": accounts.io_mint,
                "stake_vault": accounts.stake_vault,
                "rewards_vault": accounts.rewards_vault,
                "rewards_authority": rewards_authority,
                "slash_authority": slash_authority,
                "slash_destination": accounts.slash_destination,
                "system_program": ids.SYSTEM_PROGRAM_ID,
                "program": self.program_id,
                "program_data": pdas.program_data_address(self.program_id),
            },
        )

    def update_config(self, admin: Pubkey, params: ConfigParams) -> Instruction:
        """update_config(params): admin changes the parameters."""
        return self._ix("update_config", [self._params(params)], {"admin": admin, "config": self.config})

    def register_node(
        self, operator: Pubkey, node_key: Pubkey, gpu_units: int, commission_bps: int
    ) -> Instruction:
        """register_node(gpu_units, commission_bps): signed by the operator and the node key."""
        return self._ix(
            "register_node",
            [gpu_units, commission_bps],
            {
                "operator": operator,
                "node_key": node_key,
                "config": self.config,
                "node": self.node(node_key),
                "system_program": ids.SYSTEM_PROGRAM_ID,
            },
        )

    def stake(
        self, owner: Pubkey, node: Pubkey, owner_token: Pubkey, stake_vault: Pubkey, amount: int
    ) -> Instruction:
        """stake(amount): move IO from `owner_token` into the stake vault on `node`."""
        return self._ix(
            "stake",
            [amount],
            {
                "owner": owner,
                "config": self.config,
                "node": node,
                "position": self.position(node, owner),
                "owner_token": owner_token,
                "stake_vault": stake_vault,
                "token_program": ids.TOKEN_PROGRAM_ID,
                "system_program": ids.SYSTEM_PROGRAM_ID,
            },
        )

    def request_unstake(self, owner: Pubkey, node: Pubkey, amount: int) -> Instruction:
        """request_unstake(amount): start the cooldown for `amount` of bonded stake."""
        return self._ix(
            "request_unstake",
            [amount],
            {
                "owner": owner,
                "config": self.config,
                "node": node,
                "position": self.position(node, owner),
            },
        )

    def withdraw(self, owner: Pubkey, node: Pubkey, owner_token: Pubkey, stake_vault: Pubkey) -> Instruction:
        """withdraw(): pay out the unbonded stake after the cooldown."""
        return self._ix(
            "withdraw",
            [],
            {
                "owner": owner,
                "config": self.config,
                "node": node,
                "position": self.position(node, owner),
                "owner_token": owner_token,
                "stake_vault": stake_vault,
                "vault_authority": self.vault_authority,
                "token_program": ids.TOKEN_PROGRAM_ID,
            },
        )

    def set_commission(self, operator: Pubkey, node: Pubkey, commission_bps: int) -> Instruction:
        """set_commission(commission_bps): decrease now, increase after the notice period."""
        return self._ix(
            "set_commission", [commission_bps], {"operator": operator, "config": self.config, "node": node}
        )

    def post_rewards_root(
        self,
        rewards_authority: Pubkey,
        funding_source: Pubkey,
        rewards_vault: Pubkey,
        epoch: int,
        root: bytes,
        cumulative_total: int,
        funding: int,
    ) -> Instruction:
        """post_rewards_root(epoch, root, cumulative_total, funding)."""
        return self._ix(
            "post_rewards_root",
            [epoch, list(root), cumulative_total, funding],
            {
                "rewards_authority": rewards_authority,
                "config": self.config,
                "distributor": self.distributor,
                "funding_source": funding_source,
                "rewards_vault": rewards_vault,
                "token_program": ids.TOKEN_PROGRAM_ID,
            },
        )

    def claim(
        self,
        wallet: Pubkey,
        wallet_token: Pubkey,
        rewards_vault: Pubkey,
        cumulative_amount: int,
        proof: list[bytes],
    ) -> Instruction:
        """claim(cumulative_amount, proof): pay what the wallet has not claimed yet."""
        return self._ix(
            "claim",
            [cumulative_amount, [list(p) for p in proof]],
            {
                "wallet": wallet,
                "config": self.config,
                "distributor": self.distributor,
                "claim_status": self.claim_status(wallet),
                "wallet_token": wallet_token,
                "rewards_vault": rewards_vault,
                "vault_authority": self.vault_authority,
                "token_program": ids.TOKEN_PROGRAM_ID,
                "system_program": ids.SYSTEM_PROGRAM_ID,
            },
        )

    def slash(
        self,
        slash_authority: Pubkey,
        node: Pubkey,
        stake_vault: Pubkey,
        slash_destination: Pubkey,
        slash_bps: int,
        reason: int,
    ) -> Instruction:
        """slash(slash_bps, reason): cut bonded and unbonding stake of `node` pro rata."""
        return self._ix(
            "slash",
            [slash_bps, reason],
            {
                "slash_authority": slash_authority,
                "config": self.config,
                "node": node,
                "stake_vault": stake_vault,
                "slash_destination": slash_destination,
                "vault_authority": self.vault_authority,
                "token_program": ids.TOKEN_PROGRAM_ID,
            },
        )

    def deactivate_node(self, operator: Pubkey, node: Pubkey) -> Instruction:
        """deactivate_node(): no new stake; positions leave through the cooldown."""
        return self._ix("deactivate_node", [], {"operator": operator, "config": self.config, "node": node})

    # -- decoding ----------------------------------------------------------------------------
    def decode_account(self, data: bytes) -> Any:
        """Decode any of the program's accounts (Config, Distributor, Node, StakePosition, ClaimStatus)."""
        return self.coder.accounts.decode(data)

    def parse_events(self, logs: list[str]) -> list[Any]:
        """Events (anchorpy Event with .name and .data) emitted by this program in `logs`."""
        out: list[Any] = []
        if not logs:
            return out
        EventParser(self.program_id, self.coder).parse_logs(logs, out.append)
        return out
