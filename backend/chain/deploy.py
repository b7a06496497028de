"""Deploy the staking program over JSON-RPC (BPF upgradeable loader) and initialize it.

Works against any cluster: the embedded localnet, ``solana-test-validator`` or devnet. Every step checks first
whether it is already done, so running it twice sends nothing the second time.

``bootstrap_step`` is a step of :func:`backend.chain.bootstrap.bootstrap`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import InitializeAccountParams, initialize_account

from backend.chain import bootfile, ids, pdas, tx
from backend.chain.bootstrap import BootstrapContext
from backend.chain.staking import ConfigParams, ProgramAccounts, StakingClient
from backend.chain.tokens import create_ata_idempotent
from backend.errors import AppError
from backend.money import LAMPORTS_PER_SOL

BPF_LOADER_UPGRADEABLE = ids.BPF_LOADER_UPGRADEABLE_ID
BUFFER_HEADER = 37  # UpgradeableLoaderState::Buffer: u32 tag, Option<Pubkey> authority
PROGRAM_ACCOUNT_LEN = 36  # UpgradeableLoaderState::Program: u32 tag, programdata address
WRITE_CHUNK = 900  # bytes of program per Write transaction (fits the 1,232-byte packet)


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
    tx.send_and_confirm(
        client,
        payer,
        [
            _loader_account(payer.pubkey(), buffer.pubkey(), rent, buf_len),
            _loader_ix(
                (0).to_bytes(4, "little"), [(buffer.pubkey(), False, True), (payer.pubkey(), False, False)]
            ),
        ],
        [buffer],
        commitment=commitment,
    )
    sigs = []
    for off in range(0, len(elf), WRITE_CHUNK):
        chunk = elf[off : off + WRITE_CHUNK]
        data = (
            (1).to_bytes(4, "little") + off.to_bytes(4, "little") + len(chunk).to_bytes(8, "little") + chunk
        )
        ix = _loader_ix(data, [(buffer.pubkey(), False, True), (payer.pubkey(), True, False)])
        sigs.append(tx.send(client, payer, [ix], commitment=commitment))
    tx.confirm(client, sigs, commitment=commitment)
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
            (ids.RENT, False, False),
            (ids.CLOCK, False, False),
            (ids.SYSTEM_PROGRAM_ID, False, False),
            (payer.pubkey(), True, False),
        ],
    )
    tx.send_and_confirm(
        client,
        payer,
        [_loader_account(payer.pubkey(), program.pubkey(), prog_rent, PROGRAM_ACCOUNT_LEN), deploy],
        [program],
        commitment=commitment,
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
        create_ata_idempotent(admin.pubkey(), sc.vault_authority, mint),
        create_ata_idempotent(admin.pubkey(), admin.pubkey(), mint),
    ]
    signers = []
    if client.get_account_info(rewards_vault.pubkey(), commitment).value is None:
        rent = client.get_minimum_balance_for_rent_exemption(ids.TOKEN_ACCOUNT_LEN, commitment).value
        ixs += [
            create_account(
                CreateAccountParams(
                    from_pubkey=admin.pubkey(),
                    to_pubkey=rewards_vault.pubkey(),
                    lamports=rent,
                    space=ids.TOKEN_ACCOUNT_LEN,
                    owner=ids.TOKEN_PROGRAM_ID,
                )
            ),
            initialize_account(
                InitializeAccountParams(
                    program_id=ids.TOKEN_PROGRAM_ID,
                    account=rewards_vault.pubkey(),
                    mint=mint,
                    owner=sc.vault_authority,
                )
            ),
        ]
        signers.append(rewards_vault)
    tx.send_and_confirm(client, admin, ixs, signers, commitment=commitment)
    accounts = ProgramAccounts(mint, stake_vault, rewards_vault.pubkey(), slash_destination)
    ix = sc.initialize(admin.pubkey(), accounts, rewards_authority, slash_authority, params)
    tx.send_and_confirm(client, admin, [ix], commitment=commitment)
    return StakingDeployment(sc.program_id, sc.config, stake_vault, rewards_vault.pubkey(), slash_destination)


def bootstrap_step(ctx: BootstrapContext) -> None:
    """Bootstrap step: deploy + initialize; sets ``ctx.file.staking``.

    The emission reserve's owner is the rewards authority (roots are funded from the reserve); the staking
    admin, slash authority and rewards vault keys live in the bootstrap keys folder. Amount parameters are in
    base units of the IO mint's decimals.
    """
    admin = ctx.keypair("staking_admin")
    slash_authority = ctx.keypair("slash_authority")
    rewards_vault = ctx.keypair("rewards_vault")
    emission_owner = Pubkey.from_string(ctx.file.emission_reserve_owner)
    client = ctx.client
    program_info = client.get_account_info(ids.program_keypair().pubkey(), ctx.commitment).value
    deployed = program_info is not None and program_info.executable
    # Fund the admin only for a first deploy: a re-run over a deployed program must send nothing.
    if not deployed and ctx.balance(admin.pubkey()) < 5 * LAMPORTS_PER_SOL:
        ctx.ensure_sol(ctx.payer.pubkey(), 11 * LAMPORTS_PER_SOL)
        ctx.ensure_sol(admin.pubkey(), 10 * LAMPORTS_PER_SOL)
    deploy_program(client, admin, ids.program_keypair(), build_so(), ctx.commitment)
    dep = initialize_program(
        client,
        admin,
        Pubkey.from_string(ctx.file.mint),
        emission_owner,
        slash_authority.pubkey(),
        rewards_vault,
        ConfigParams.for_decimals(ctx.file.decimals),
        commitment=ctx.commitment,
    )
    ctx.file.staking = bootfile.Staking(
        **dep.as_json(),
        admin_keypair_path=str(ctx.keys_dir / "staking_admin.json"),
        slash_authority_keypair_path=str(ctx.keys_dir / "slash_authority.json"),
        rewards_authority=str(emission_owner),
    )


def build_so() -> Path:
    """The built program (run ``make programs`` first)."""
    if not ids.SO_PATH.exists():
        raise DeployError(f"{ids.SO_PATH} is missing: run `make programs`")
    return ids.SO_PATH
