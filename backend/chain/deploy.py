"""Deploy the staking program over JSON-RPC (BPF upgradeable loader) and initialize it.

Works against any cluster: the embedded localnet, ``solana-test-validator`` or devnet. Every step checks first
whether it is already done, so running it twice sends nothing the second time.

``bootstrap_step`` plugs into ``localnet.bootstrap.EXTRA_STEPS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.types import TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction
from spl.token.instructions import (
    InitializeAccountParams,
    create_idempotent_associated_token_account,
    initialize_account,
)

from backend.chain import pdas
from backend.chain.staking import ConfigParams, ProgramAccounts, StakingClient
from backend.errors import AppError
from localnet.bootstrap import load_or_create_keypair

BPF_LOADER_UPGRADEABLE = pdas.BPF_LOADER_UPGRADEABLE_ID
BUFFER_HEADER = 37  # UpgradeableLoaderState::Buffer: u32 tag, Option<Pubkey> authority
PROGRAM_ACCOUNT_LEN = 36  # UpgradeableLoaderState::Program: u32 tag, programdata address
WRITE_CHUNK = 900  # bytes of program per Write transaction (fits the 1,232-byte packet)
TOKEN_ACCOUNT_LEN = 165


class DeployError(AppError):
    """Deploying or initializing the program failed."""

    status_code = 500


@dataclass(frozen=True)
class StakingDeployment:
    """Addresses of a deployed and initialized staking program."""

    program_id: Pubkey
    config: Pubkey
    stake_vault: Pubkey
    rewards_vault: Pubkey
    slash_destination: Pubkey

    def as_json(self) -> dict[str, str]:
        """String form for bootstrap files."""
        return {k: str(v) for k, v in self.__dict__.items()}


def _send(
    client: Client,
    payer: Keypair,
    ixs: list[Instruction],
    signers: list[Keypair],
    commitment: Commitment = Confirmed,
    wait: bool = True,
) -> Signature:
    blockhash = client.get_latest_blockhash(commitment).value.blockhash
    all_signers = [payer] + [s for s in signers if s.pubkey() != payer.pubkey()]
    tx = Transaction(all_signers, Message.new_with_blockhash(ixs, payer.pubkey(), blockhash), blockhash)
    sig = client.send_transaction(
        tx, opts=TxOpts(skip_preflight=False, preflight_commitment=commitment)
    ).value
    if wait:
        confirm(client, [sig], commitment)
    return sig


def confirm(
    client: Client, sigs: list[Signature], commitment: Commitment = Confirmed, timeout: float = 60
) -> None:
    """Wait until every signature reached `commitment`; raise DeployError on failure or timeout."""
    pending = list(sigs)
    deadline = time.monotonic() + timeout
    wanted = {"confirmed", "finalized"} if commitment == Confirmed else {"finalized"}
    while pending:
        if time.monotonic() > deadline:
            raise DeployError(f"{len(pending)} transactions not confirmed after {timeout}s")
        statuses = client.get_signature_statuses(pending[:256]).value
        still = []
        for sig, st in zip(pending[:256], statuses, strict=True):
            level = None if st is None or st.confirmation_status is None else str(st.confirmation_status)
            if st is not None and st.err is not None:
                raise DeployError(f"transaction {sig} failed: {st.err}")
            if level is None or level.rsplit(".", 1)[-1].lower() not in wanted:
                still.append(sig)
        pending = still + pending[256:]
        if pending:
            time.sleep(0.1)


def _loader_ix(data: bytes, metas: list[tuple[Pubkey, bool, bool]]) -> Instruction:
    return Instruction(BPF_LOADER_UPGRADEABLE, data, [AccountMeta(k, s, w) for k, s, w in metas])


def _loader_account(payer: Pubkey, new: Pubkey, lamports: int, space: int) -> Instruction:
    """Create an account owned by the upgradeable loader (the buffer, or the program account)."""
    return create_account(
        CreateAccountParams(
            from_pubkey=payer, to_pubkey=new, lamports=lamports, space=space, owner=BPF_LOADER_UPGRADEABLE
        )
    )


def deploy_program(
    client: Client, payer: Keypair, program: Keypair, so_path: Path, commitment: Commitment = Confirmed
) -> bool:
    """Deploy `so_path` at `program`'s address with `payer` as upgrade authority.

    Returns False (sending nothing) when an executable program is already there.
    """
    existing = client.get_account_info(program.pubkey(), commitment).value
    if existing is not None:
        if existing.executable:
            return False
        raise DeployError(f"{program.pubkey()} exists and is not a program")
    elf = so_path.read_bytes()
    buffer = Keypair()
    buf_len = BUFFER_HEADER + len(elf)
    rent = client.get_minimum_balance_for_rent_exemption(buf_len, commitment).value
    _send(
        client,
        payer,
        [
            _loader_account(payer.pubkey(), buffer.pubkey(), rent, buf_len),
            _loader_ix(
                (0).to_bytes(4, "little"), [(buffer.pubkey(), False, True), (payer.pubkey(), False, False)]
            ),
        ],
        [buffer],
        commitment,
    )
    sigs = []
    for off in range(0, len(elf), WRITE_CHUNK):
        chunk = elf[off : off + WRITE_CHUNK]
        data = (
            (1).to_bytes(4, "little") + off.to_bytes(4, "little") + len(chunk).to_bytes(8, "little") + chunk
        )
        ix = _loader_ix(data, [(buffer.pubkey(), False, True), (payer.pubkey(), True, False)])
        sigs.append(_send(client, payer, [ix], [], commitment, wait=False))
    confirm(client, sigs, commitment)
    programdata = pdas.program_data_address(program.pubkey())
    prog_rent = client.get_minimum_balance_for_rent_exemption(PROGRAM_ACCOUNT_LEN, commitment).value
    max_len = 2 * len(elf)  # room for upgrades
    deploy = _loader_ix(
        (2).to_bytes(4, "little") + max_len.to_bytes(8, "little"),
        [
            (payer.pubkey(), True, True),
            (programdata, False, True),
            (program.pubkey(), False, True),
            (buffer.pubkey(), False, True),
            (RENT, False, False),
            (CLOCK, False, False),
            (pdas.SYSTEM_PROGRAM_ID, False, False),
            (payer.pubkey(), True, False),
        ],
    )
    _send(
        client,
        payer,
        [
            _loader_account(payer.pubkey(), program.pubkey(), prog_rent, PROGRAM_ACCOUNT_LEN),
            deploy,
        ],
        [program],
        commitment,
    )
    return True


def initialize_program(
    client: Client,
    admin: Keypair,
    mint: Pubkey,
    rewards_authority: Pubkey,
    slash_authority: Pubkey,
    rewards_vault: Keypair,
    params: ConfigParams,
    program_id: Pubkey | None = None,
    commitment: Commitment = Confirmed,
) -> StakingDeployment:
    """Create the two vaults and the slash destination, then `initialize` (skipped when Config exists)."""
    sc = StakingClient(program_id)
    stake_vault = pdas.stake_vault_address(sc.program_id, mint)
    slash_destination = pdas.associated_token_address(admin.pubkey(), mint)
    cfg_info = client.get_account_info(sc.config, commitment).value
    if cfg_info is not None:
        cfg = sc.decode_account(bytes(cfg_info.data))
        return StakingDeployment(
            sc.program_id, sc.config, cfg.stake_vault, cfg.rewards_vault, cfg.slash_destination
        )
    ixs = [
        create_idempotent_associated_token_account(admin.pubkey(), sc.vault_authority, mint),
        create_idempotent_associated_token_account(admin.pubkey(), admin.pubkey(), mint),
    ]
    signers = []
    if client.get_account_info(rewards_vault.pubkey(), commitment).value is None:
        rent = client.get_minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN, commitment).value
        ixs += [
            create_account(
                CreateAccountParams(
                    from_pubkey=admin.pubkey(),
                    to_pubkey=rewards_vault.pubkey(),
                    lamports=rent,
                    space=TOKEN_ACCOUNT_LEN,
                    owner=pdas.TOKEN_PROGRAM_ID,
                )
            ),
            initialize_account(
                InitializeAccountParams(
                    program_id=pdas.TOKEN_PROGRAM_ID,
                    account=rewards_vault.pubkey(),
                    mint=mint,
                    owner=sc.vault_authority,
                )
            ),
        ]
        signers.append(rewards_vault)
    _send(client, admin, ixs, signers, commitment)
    accounts = ProgramAccounts(mint, stake_vault, rewards_vault.pubkey(), slash_destination)
    _send(
        client,
        admin,
        [sc.initialize(admin.pubkey(), accounts, rewards_authority, slash_authority, params)],
        [],
        commitment,
    )
    return StakingDeployment(sc.program_id, sc.config, stake_vault, rewards_vault.pubkey(), slash_destination)


def bootstrap_step(ctx: Any) -> None:
    """``localnet.bootstrap`` extra step: deploy + initialize; adds ``staking`` to the result.

    The emission reserve's owner is the rewards authority (roots are funded from the reserve); the staking
    admin, slash authority and rewards vault keys live in the bootstrap keys folder.
    """
    keys: Path = ctx.keys_dir
    admin = load_or_create_keypair(keys / "staking_admin.json")
    slash_authority = load_or_create_keypair(keys / "slash_authority.json")
    rewards_vault = load_or_create_keypair(keys / "rewards_vault.json")
    emission_owner = Pubkey.from_string(ctx.result["emission_reserve_owner"])
    client: Client = ctx.client
    program_info = client.get_account_info(pdas.program_keypair().pubkey(), Confirmed).value
    deployed = program_info is not None and program_info.executable
    # Fund the admin only for a first deploy: a re-run over a deployed program must send nothing.
    if not deployed and client.get_balance(admin.pubkey(), Confirmed).value < 5 * 10**9:
        ctx.ensure_sol(ctx.payer.pubkey(), 11 * 10**9)
        ctx.ensure_sol(admin.pubkey(), 10 * 10**9)
    deploy_program(client, admin, pdas.program_keypair(), build_so())
    dep = initialize_program(
        client,
        admin,
        Pubkey.from_string(ctx.result["mint"]),
        emission_owner,
        slash_authority.pubkey(),
        rewards_vault,
        ConfigParams(),
    )
    ctx.result["staking"] = {
        **dep.as_json(),
        "admin_keypair_path": str(keys / "staking_admin.json"),
        "slash_authority_keypair_path": str(keys / "slash_authority.json"),
        "rewards_authority": str(emission_owner),
    }


def build_so() -> Path:
    """The built program (run ``make programs`` first)."""
    if not pdas.SO_PATH.exists():
        raise DeployError(f"{pdas.SO_PATH} is missing: run `make programs`")
    return pdas.SO_PATH
