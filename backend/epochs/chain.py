"""The epoch runner's chain side: read the Distributor, build and sign the post, send it, look it up.

One transaction carries an epoch's post: the community share moved from the emission reserve to the community
(grants) treasury, then ``post_rewards_root(epoch, root, cumulative_total, funding)`` (which moves ``funding``
from the reserve into the rewards vault), both signed by the rewards authority (the reserve's owner, also fee
payer). Because the program refuses a second root for an epoch (EpochNotIncreasing), the transfer in the same
transaction happens at most once too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

from backend.chain import bootfile, tx
from backend.chain.keys import load_keypair
from backend.chain.staking import StakingClient
from backend.chain.tokens import transfer_checked_ix
from backend.config import Settings
from backend.errors import AppError


class ChainNotReady(AppError):
    """The bootstrap file lacks what posting needs (staking program, epochs section)."""

    status_code = 503


@dataclass(frozen=True)
class Distributor:
    """The program's rewards Distributor account."""

    latest_epoch: int
    cumulative_total: int
    total_claimed: int
    latest_root: bytes
    roots_posted: int


@dataclass(frozen=True)
class Landed:
    """What a signature lookup found: ``landed`` (with slot), ``failed`` (executed with an error) or ``unknown``."""

    state: str
    slot: int | None = None
    err: Any = None


class EpochChain:
    """Chain I/O of the runner for one deployment."""

    def __init__(
        self,
        client: Client,
        staking: StakingClient,
        authority: Keypair,
        mint: Pubkey,
        decimals: int,
        reserve: Pubkey,
        community: Pubkey,
        rewards_vault: Pubkey,
    ) -> None:
        self.client = client
        self.staking = staking
        self.authority = authority
        self.mint = mint
        self.decimals = decimals
        self.reserve = reserve
        self.community = community
        self.rewards_vault = rewards_vault

    @classmethod
    def from_settings(cls, settings: Settings) -> EpochChain:
        """From the bootstrap file (and ``IOG_REWARDS_AUTHORITY_KEYPAIR``)."""
        boot = bootfile.load(settings.resolved_bootstrap_file)
        if boot.staking is None or boot.epochs is None:
            raise ChainNotReady("the bootstrap file has no staking or epochs section: run `iog localnet bootstrap`")
        key_path = settings.rewards_authority_keypair or Path(boot.emission_reserve_owner_keypair_path)
        program = Pubkey.from_string(settings.program_id or boot.staking.program_id)
        return cls(
            Client(settings.rpc_url, timeout=30),
            StakingClient(program),
            load_keypair(key_path),
            Pubkey.from_string(boot.mint),
            boot.decimals,
            Pubkey.from_string(boot.emission_reserve),
            Pubkey.from_string(boot.epochs.community_treasury),
            Pubkey.from_string(boot.staking.rewards_vault),
        )

    def distributor(self) -> Distributor:
        """The Distributor as of confirmed commitment."""
        try:
            info = self.client.get_account_info(self.staking.distributor, Confirmed).value
        except (OSError, RPCException) as exc:
            raise tx.RpcUnavailable(f"cannot read the Distributor: {exc}") from exc
        if info is None:
            raise ChainNotReady(f"no Distributor at {self.staking.distributor}: is the program initialized?")
        d = self.staking.decode_account(bytes(info.data))
        return Distributor(
            int(d.latest_epoch), int(d.cumulative_total), int(d.total_claimed), bytes(d.latest_root),
            int(d.roots_posted),
        )  # fmt: skip

    def build_post(
        self, epoch: int, root: bytes, cumulative_total: int, funding: int, community: int
    ) -> tuple[Transaction, int]:
        """The signed post (and community transfer) and its blockhash's last valid block height."""
        ixs = []
        if community > 0:
            ixs.append(
                transfer_checked_ix(
                    self.reserve, self.mint, self.community, self.authority.pubkey(), community, self.decimals
                )
            )
        ixs.append(
            self.staking.post_rewards_root(
                self.authority.pubkey(), self.reserve, self.rewards_vault, epoch, root, cumulative_total, funding
            )
        )
        try:
            latest = self.client.get_latest_blockhash(Confirmed).value
        except (OSError, RPCException) as exc:
            raise tx.RpcUnavailable(f"cannot read a blockhash: {exc}") from exc
        msg = Message.new_with_blockhash(ixs, self.authority.pubkey(), latest.blockhash)
        return Transaction([self.authority], msg, latest.blockhash), latest.last_valid_block_height

    def send(self, txn: Transaction) -> None:
        """Send with preflight; a refusal raises typed (TransactionFailed / StakingProgramError)."""
        tx.send_signed(self.client, txn, _instructions(txn), commitment=Confirmed)

    def rebroadcast(self, raw: bytes) -> None:
        """Send the recorded bytes again (same signature: it can land at most once); errors are ignored, the
        next lookup tells what happened."""
        try:
            self.client.send_raw_transaction(raw, TxOpts(skip_preflight=True))
        except (OSError, RPCException):
            pass

    def lookup(self, signature: str) -> Landed:
        """Whether a signature is on chain (searching history)."""
        try:
            st = self.client.get_signature_statuses([Signature.from_string(signature)], True).value[0]
        except (OSError, RPCException) as exc:
            raise tx.RpcUnavailable(f"cannot look up {signature}: {exc}") from exc
        if st is None:
            return Landed("unknown")
        if st.err is not None:
            return Landed("failed", st.slot, st.err)
        return Landed("landed", st.slot)

    def block_height(self) -> int:
        """Current block height (confirmed)."""
        try:
            return int(self.client.get_block_height(Confirmed).value)
        except (OSError, RPCException) as exc:
            raise tx.RpcUnavailable(f"cannot read the block height: {exc}") from exc

    def confirm(self, signature: str, timeout: float = 30.0) -> None:
        """Wait for confirmed (raises ConfirmationTimeout / TransactionFailed)."""
        tx.confirm(self.client, [Signature.from_string(signature)], commitment=Confirmed, timeout=timeout)

    def close(self) -> None:
        """Close the HTTP session."""
        self.client._provider.session.close()


def _instructions(txn: Transaction) -> list[Any]:
    """The message's instructions, enough of them to name a program error (only program ids are read)."""
    from solders.instruction import Instruction

    keys = txn.message.account_keys
    return [Instruction(keys[ci.program_id_index], bytes(ci.data), []) for ci in txn.message.instructions]
