"""The one configuration object, read from ``IOG_*`` environment variables (and an optional ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of every part; each field is ``IOG_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="IOG_", env_file=".env", extra="ignore")

    # --- storage -------------------------------------------------------------------------------------------
    data_dir: Path = Field(Path(".iog"), description="Local state: SQLite file, localnet ledger, bootstrap file")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is a SQLite file in data_dir")

    # --- chain ---------------------------------------------------------------------------------------------
    rpc_url: str = "http://127.0.0.1:8899"
    ws_url: str = "ws://127.0.0.1:8900"
    bootstrap_file: Path | None = Field(None, description="JSON written by `iog localnet bootstrap`")
    io_decimals: int = Field(8, ge=0, le=18)
    program_id: str | None = Field(None, description="Staking program id; default from the bootstrap file")

    cluster: Literal["localnet", "devnet", "mainnet"] = Field(
        "localnet", description="Which cluster this deployment serves (the Chain ID of sign-in messages)"
    )

    # --- API -----------------------------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_domain: str = Field("127.0.0.1:8000", description="The domain (host[:port]) sign-in messages name")
    api_uri: str = Field("http://127.0.0.1:8000", description="The public base URL of the API")

    # --- transaction requests ------------------------------------------------------------------------------
    tx_compute_margin_bps: int = Field(2_000, ge=0, le=50_000, description="Compute-unit limit over simulation")
    tx_max_priority_micro_lamports: int = Field(
        100_000, ge=0, description="Cap of the priority fee (micro-lamports per compute unit) put in built txs"
    )

    # --- node registry and marketplace (backend/nodes) ---------------------------------------------------------
    nodes_refresh_seconds: float = Field(
        10.0,
        gt=0,
        description="`iog run` / `iog nodes refresh-stats --every`: how often registry statuses and node_stats "
        "are brought up to date (until the scheduler runs backend.nodes.tasks)",
    )

    # --- authentication -------------------------------------------------------------------------------------
    auth_statement: str = Field(
        "Sign in to iog to manage your nodes, stake and invoices.",
        description="The statement line of sign-in messages (empty: none)",
    )
    auth_nonce_seconds: int = Field(300, ge=30, le=3600, description="How long a sign-in challenge is valid")
    auth_token_seconds: int = Field(86_400, ge=60, description="How long a session token is valid")

    # --- web app ------------------------------------------------------------------------------------------
    web_rpc_url: str | None = Field(
        None,
        description="The Solana RPC URL browsers send signed transactions to and follow them on (default: "
        "IOG_RPC_URL); set it when the backend reaches the cluster at an address browsers cannot",
    )

    # --- embedded localnet ---------------------------------------------------------------------------------
    localnet_rpc_port: int = 8899
    localnet_ws_port: int = 8900
    localnet_slot_ms: int = 400
    localnet_finality_slots: int = 32

    # --- indexer ------------------------------------------------------------------------------------------
    indexer_addresses: str = Field("", description="Extra addresses to watch, comma-separated")
    indexer_io_mint: str | None = Field(None, description="IO mint; default from the bootstrap file")
    indexer_idl_path: Path | None = Field(None, description="Staking IDL (default: programs/staking/idl)")
    indexer_batch_size: int = Field(100, ge=1, le=1000, description="getTransaction calls per JSON-RPC batch")
    indexer_concurrency: int = Field(4, ge=1, le=64, description="RPC requests in flight")
    indexer_chunk_size: int = Field(1000, ge=1, description="Transactions per database transaction")
    indexer_page_limit: int = Field(1000, ge=1, le=1000, description="getSignaturesForAddress page size")
    indexer_rpc_timeout: float = Field(10.0, gt=0, description="Seconds per RPC HTTP request")
    indexer_max_retries: int = Field(8, ge=0, description="Retries of a failed RPC call")
    indexer_poll_seconds: float = Field(2.0, gt=0, description="Follow mode: finalized pass interval")
    indexer_metrics_port: int | None = Field(None, description="Serve Prometheus metrics on this port")
    indexer_log_seconds: float = Field(30.0, gt=0, description="iog indexer run: seconds between progress lines")

    # --- EVM rail (backend/evm) ----------------------------------------------------------------------------
    evm_rpc_url: str | None = Field(
        None, description="EVM JSON-RPC endpoint; unset: nothing EVM starts (iog run starts anvil when it is local)"
    )
    evm_bootstrap_file: Path | None = Field(
        None, description="JSON written by `iog evmnet bootstrap` (default: evm.json next to the Solana one)"
    )
    evm_confirmations: int | None = Field(
        None, ge=1, le=1000, description="Blocks a payment needs to count as money (default: bootstrap file, else 12)"
    )
    evm_log_range: int = Field(2_000, ge=1, le=100_000, description="Blocks per eth_getLogs call of the indexer")
    evm_poll_seconds: float = Field(2.0, gt=0, description="EVM indexer: seconds between passes in follow mode")
    evm_rpc_timeout: float = Field(10.0, gt=0, description="Seconds per EVM RPC HTTP request")
    evm_anvil_port: int = Field(8545, description="Port of the local anvil that `iog evmnet up` starts")
    evm_block_time: int | None = Field(
        1, ge=0, description="Seconds per block of the local anvil started by `iog run` (0: mine on each tx)"
    )
    evm_anvil_bin: Path | None = Field(None, description="anvil binary (default: .tools/anvil from `make anvil`)")
    evm_tx_max_fee_gwei: int = Field(500, ge=1, description="Cap of maxFeePerGas for transactions the backend sends")

    @property
    def resolved_evm_bootstrap_file(self) -> Path:
        """Where the EVM bootstrap addresses live: ``evm.json`` beside the Solana bootstrap file by default."""
        return self.evm_bootstrap_file or self.resolved_bootstrap_file.parent / "evm.json"

    # --- telemetry, epochs and the scheduler (issue 11) --------------------------------------------------
    epoch_seconds: int = Field(
        3600, ge=60, description="Epoch length in seconds, a multiple of 60 (3600; `iog run` uses 60 for the demo)"
    )
    epoch_grace_seconds: int = Field(
        900, ge=0, description="Late heartbeats of an epoch count until its end plus this; then it is frozen"
    )
    epoch_genesis: int | None = Field(
        None, ge=0, description="Unix time epoch 0 starts; default: the bootstrap file's `epochs.genesis`"
    )
    uptime_max_gap_minutes: int = Field(
        5, ge=0, description="A gap longer than this (in minutes without a heartbeat) resets continuous uptime"
    )
    heartbeat_max_skew_seconds: int = Field(120, ge=1, description="|ts - received_at| above this is clock_skew")
    heartbeat_min_interval_seconds: int = Field(
        5, ge=0, description="A node's heartbeat ts must advance by at least this (else rate_limited)"
    )
    heartbeat_node_cache_seconds: float = Field(
        300.0, ge=0, description="How long an API process keeps a node's registry/chain status for heartbeats (0: none)"
    )
    challenge_difficulty_bits: int = Field(
        16, ge=0, le=64, description="Leading zero bits of a challenge for 1 GPU; + floor(log2(gpu_units)) above"
    )
    challenge_answer_seconds: int = Field(
        300, ge=1, description="Time to answer a challenge (capped at the epoch's end plus the grace)"
    )
    rewards_authority_keypair: Path | None = Field(
        None, description="Keypair that posts roots (default: the bootstrap file's emission reserve owner)"
    )
    scheduler_tick_seconds: float = Field(
        10.0, gt=0, description="How often the scheduler leader runs its jobs (closing due epochs, finalizing)"
    )
    scheduler_lock_file: Path | None = Field(
        None, description="Leader lock file on SQLite (default: next to the database file)"
    )

    @field_validator("epoch_seconds")
    @classmethod
    def _whole_minutes(cls, v: int) -> int:
        # Uptime is kept per minute of the epoch: an epoch must hold whole minutes.
        if v % 60:
            raise ValueError("must be a multiple of 60 seconds")
        return v

    # --- payments, ledger and settlement (issue 12) ---------------------------------------------------------
    treasury_keypair: Path | None = Field(
        None,
        description="Keypair file of the treasury owner: the one custodial key (payouts, refunds, burns); "
        "default: the bootstrap file's treasury_owner_keypair_path",
    )
    invoice_expires_seconds: int = Field(900, ge=60, le=30 * 86_400, description="Default invoice lifetime")
    invoice_max_expires_seconds: int = Field(30 * 86_400, ge=60, description="Longest expires_in accepted")
    fee_payment_io_bps: int = Field(0, ge=0, le=10_000, description="Fee on payments in IO (basis points)")
    fee_payment_usdc_bps: int = Field(200, ge=0, le=10_000, description="Fee on payments in USDC (basis points)")
    fee_rental_buyer_bps: int = Field(25, ge=0, le=10_000, description="Fee on the buyer's side of a rental")
    fee_rental_provider_bps: int = Field(25, ge=0, le=10_000, description="Fee on the provider's side of a rental")
    burn_share_bps: int = Field(5_000, ge=0, le=10_000, description="Share of IO fee income burned, per epoch")
    payout_interval_seconds: int = Field(3_600, ge=1, description="How often the scheduler pays providers out")
    payout_threshold_io: int = Field(
        1_000_000_000, ge=1, description="Providers' IO balances at or above this (base units) are paid out"
    )
    payout_threshold_usdc: int = Field(
        10_000_000, ge=1, description="Providers' USDC balances at or above this (base units) are paid out"
    )
    webhook_master_key_file: Path | None = Field(
        None, description="Key file from which per-API-key webhook secrets derive (default data_dir/keys)"
    )
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="Deliveries of a webhook event before giving up")
    webhook_backoff_seconds: float = Field(2.0, gt=0, description="First retry delay; doubles each attempt")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one webhook delivery")
    settlement_poll_seconds: float = Field(0.25, gt=0, description="`iog settlement watch`: pause between passes")

    # --- governance of the grants DAO (issue 14; names after SPL Governance's parameters) -------------------
    governance_min_stake_to_propose: int = Field(
        100_000_000_000, ge=0, description="Bonded stake (IO base units) a wallet needs to create a proposal"
    )
    governance_voting_base_time: int = Field(
        259_200, ge=1, description="Seconds a proposal is open for ballots from its creation (3 days)"
    )
    governance_quorum_bps: int = Field(
        1_000, ge=0, le=10_000, description="Share of all bonded stake at the snapshot that must vote (bps)"
    )
    governance_threshold_bps: int = Field(
        5_000, ge=0, le=9_999, description="yes / (yes + no) must be above this (bps); a tie is defeated"
    )
    governance_transactions_hold_up_time: int = Field(
        86_400, ge=0, description="Seconds between a grant's vote closing and its payment"
    )
    governance_authority_keypair: Path | None = Field(
        None,
        description="Keypair of the governance authority: owns the community (grants) treasury, pays grants and "
        "signs outcome memos (default: the bootstrap file's community_treasury_owner_keypair_path)",
    )
    governance_poll_seconds: float = Field(
        10.0, gt=0, description="How often the scheduler closes proposals, records memos and executes grants"
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one, else a SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iog.db').resolve()}"

    @property
    def resolved_bootstrap_file(self) -> Path:
        """Where the bootstrap addresses live."""
        return self.bootstrap_file or self.data_dir / "localnet.json"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()  # type: ignore[call-arg]  # fields come from the environment
