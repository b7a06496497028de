"""``iog localnet bootstrap``: the IO mint, treasury and emission-reserve accounts and funded demo wallets.

Everything goes through JSON-RPC, so it runs against the embedded node, a real ``solana-test-validator`` or
devnet alike. Keypairs live in ``keys_dir`` (Solana CLI JSON format) and are reused, and every on-chain step
first checks whether it is already done: a second run sends nothing.

Later steps (the staking program's deploy + initialize, the demo seed) are functions of a
:class:`BootstrapContext` run after the built-in ones; each adds its section to ``ctx.file``. Every wallet that
receives payments (the treasury; a grants or USDC treasury a later step adds) is set up through
:meth:`BootstrapContext.ensure_receiver`, so that wallets (Solana Pay included) can pay it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from spl.token.instructions import InitializeMintParams, MintToCheckedParams, initialize_mint, mint_to_checked

from backend.chain import bootfile, ids, tx
from backend.chain.bootfile import BootstrapFile
from backend.chain.keys import load_or_create_keypair
from backend.chain.tokens import create_ata_idempotent, io_account
from backend.errors import AppError
from backend.money import LAMPORTS_PER_SOL, io_unit

DEFAULT_WALLETS = ("alice", "bob", "carol")


class BootstrapError(AppError):
    """The cluster cannot be bootstrapped (no RPC, a mint with other decimals, bad amounts)."""

    status_code = 500


@dataclass
class BootstrapContext:
    """What a step gets: the client, the keys folder, the payer, and the file being built."""

    client: Client
    keys_dir: Path
    payer: Keypair
    file: BootstrapFile
    commitment: Commitment = Confirmed
    sent: list[str] = field(default_factory=list)

    def keypair(self, name: str) -> Keypair:
        """The keypair ``<keys_dir>/<name>.json``, created on first use."""
        return load_or_create_keypair(self.keys_dir / f"{name}.json")

    def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair]) -> str:
        """Send and confirm a transaction paid by ``payer``; returns its signature."""
        sig = tx.send_and_confirm(self.client, self.payer, instructions, signers, commitment=self.commitment)
        self.sent.append(str(sig))
        return str(sig)

    def balance(self, who: Pubkey) -> int:
        """Lamports of ``who`` at the context's commitment."""
        return self.client.get_balance(who, self.commitment).value

    def ensure_sol(self, who: Pubkey, lamports: int) -> None:
        """Bring ``who`` to at least ``lamports``: an airdrop for the payer, a transfer from it for others."""
        have = self.balance(who)
        if have >= lamports:
            return
        if who == self.payer.pubkey():
            sig = self.client.request_airdrop(who, lamports - have, self.commitment).value
            tx.confirm(self.client, [sig], commitment=self.commitment)
            self.sent.append(str(sig))
        else:
            params = TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=who, lamports=lamports - have)
            self.send([transfer(params)], [])

    def receiver_shortfall(self, owner: Pubkey, lamports: int = 0) -> int:
        """Lamports :meth:`ensure_receiver` would move to ``owner`` (0 once it is rent-exempt)."""
        want = max(lamports, self.client.get_minimum_balance_for_rent_exemption(0, self.commitment).value)
        return max(0, want - self.balance(owner))

    def ensure_receiver(self, owner: Pubkey, mint: Pubkey, lamports: int = 0) -> Pubkey:
        """Make the wallet ``owner`` payable in ``mint``; returns its associated token account of ``mint``.

        Every wallet that receives payments (the treasury, and any treasury a later step adds) goes through here.
        A wallet with no lamports does not exist on chain, and wallets refuse to pay it (@solana/pay's
        ``createTransfer`` throws "recipient not found", as on a real cluster), even when its token account
        exists; so the wallet is funded to the rent-exempt minimum of an empty system account (or ``lamports``
        when more) and its token account created, in one transaction paid by ``payer``. Sends nothing when both
        are already so. ``mint`` is a classic SPL Token mint.
        """
        ata = io_account(owner, mint)
        ixs: list[Instruction] = []
        short = self.receiver_shortfall(owner, lamports)
        if short:
            ixs.append(transfer(TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=owner, lamports=short)))
        if self.client.get_account_info(ata, self.commitment).value is None:
            ixs.append(create_ata_idempotent(self.payer.pubkey(), owner, mint))
        if ixs:
            self.send(ixs, [])
        return ata


Step = Callable[[BootstrapContext], None]


@dataclass(frozen=True)
class BootstrapResult:
    """The file as written, and the signatures this run sent (empty when everything already existed)."""

    file: BootstrapFile
    sent: list[str]


def _token_balance(ctx: BootstrapContext, account: Pubkey) -> int | None:
    if ctx.client.get_account_info(account, ctx.commitment).value is None:
        return None
    return int(ctx.client.get_token_account_balance(account, ctx.commitment).value.amount)


def _connect(rpc_url: str) -> Client:
    client = Client(rpc_url, timeout=30)
    try:
        client.get_version()
    except Exception as exc:  # connection refused, DNS, TLS: all mean the same to the user
        raise BootstrapError(f"no Solana RPC answers at {rpc_url}: {exc}") from exc
    return client


def bootstrap(
    rpc_url: str,
    out_file: Path,
    keys_dir: Path,
    decimals: int = 8,
    wallets: tuple[str, ...] = DEFAULT_WALLETS,
    wallet_sol: int = 10 * LAMPORTS_PER_SOL,
    wallet_io: int | None = None,
    emission_io: int | None = None,
    extra_steps: Sequence[Step] = (),
) -> BootstrapResult:
    """Create (or find) the IO mint, treasury, emission reserve and demo wallets, run ``extra_steps``, write
    the bootstrap file.

    Args:
        rpc_url: JSON-RPC endpoint of any cluster whose faucet (requestAirdrop) can fund the payer.
        out_file: the bootstrap file later commands read.
        keys_dir: where keypairs are stored and reused.
        decimals: IO decimals (fixed once the mint exists: a different value is an error).
        wallets: names of demo wallets.
        wallet_sol: lamports each demo wallet holds at least.
        wallet_io: IO base units each demo wallet holds at least (default 1,000,000 IO).
        emission_io: IO base units the emission reserve holds at least (default 100,000,000 IO).
        extra_steps: steps after the built-in ones, in order; each idempotent.
    """
    if not 0 <= decimals <= 18:
        raise BootstrapError("decimals must be between 0 and 18")
    unit = io_unit(decimals)
    wallet_io = 1_000_000 * unit if wallet_io is None else wallet_io
    emission_io = 100_000_000 * unit if emission_io is None else emission_io
    if wallet_io < 0 or emission_io < 0 or wallet_sol < 0:
        raise BootstrapError("amounts must not be negative")
    client = _connect(rpc_url)
    try:
        return _bootstrap(
            client, rpc_url, out_file, keys_dir, decimals, wallets, wallet_sol, wallet_io, emission_io, extra_steps
        )
    finally:
        client._provider.session.close()


def _bootstrap(
    client: Client,
    rpc_url: str,
    out_file: Path,
    keys_dir: Path,
    decimals: int,
    wallets: tuple[str, ...],
    wallet_sol: int,
    wallet_io: int,
    emission_io: int,
    extra_steps: Sequence[Step],
) -> BootstrapResult:
    mint_authority = load_or_create_keypair(keys_dir / "mint_authority.json")
    mint_kp = load_or_create_keypair(keys_dir / "io_mint.json")
    treasury_owner = load_or_create_keypair(keys_dir / "treasury_owner.json")
    emission_owner = load_or_create_keypair(keys_dir / "emission_owner.json")
    wallet_kps = {name: load_or_create_keypair(keys_dir / f"wallet-{name}.json") for name in wallets}
    mint = mint_kp.pubkey()
    ctx = BootstrapContext(
        client,
        keys_dir,
        mint_authority,
        BootstrapFile(
            rpc_url=rpc_url,
            mint=str(mint),
            decimals=decimals,
            mint_authority=str(mint_authority.pubkey()),
            mint_authority_keypair_path=str(keys_dir / "mint_authority.json"),
            token_program=str(ids.TOKEN_PROGRAM_ID),
            treasury=str(io_account(treasury_owner.pubkey(), mint)),
            treasury_owner=str(treasury_owner.pubkey()),
            treasury_owner_keypair_path=str(keys_dir / "treasury_owner.json"),
            emission_reserve=str(io_account(emission_owner.pubkey(), mint)),
            emission_reserve_owner=str(emission_owner.pubkey()),
            emission_reserve_owner_keypair_path=str(keys_dir / "emission_owner.json"),
        ),
    )
    # The payer is topped up only by what this run will spend: on a complete cluster that is nothing, so a
    # re-run sends no transaction (a fixed floor would be re-topped after extra steps draw on the payer).
    need = sum(max(0, wallet_sol - ctx.balance(kp.pubkey())) for kp in wallet_kps.values())
    need += ctx.receiver_shortfall(treasury_owner.pubkey())
    if need or client.get_account_info(mint, ctx.commitment).value is None:
        need += LAMPORTS_PER_SOL  # fees and rent of the mint and token accounts, with room to spare
        if ctx.balance(mint_authority.pubkey()) < need:
            ctx.ensure_sol(mint_authority.pubkey(), need + 10 * LAMPORTS_PER_SOL)

    if client.get_account_info(mint, ctx.commitment).value is None:
        rent = client.get_minimum_balance_for_rent_exemption(ids.MINT_LEN, ctx.commitment).value
        create = CreateAccountParams(
            from_pubkey=mint_authority.pubkey(),
            to_pubkey=mint,
            lamports=rent,
            space=ids.MINT_LEN,
            owner=ids.TOKEN_PROGRAM_ID,
        )
        init = InitializeMintParams(
            decimals=decimals,
            program_id=ids.TOKEN_PROGRAM_ID,
            mint=mint,
            mint_authority=mint_authority.pubkey(),
            freeze_authority=None,
        )
        ctx.send([create_account(create), initialize_mint(init)], [mint_kp])
    else:
        have = client.get_token_supply(mint, ctx.commitment).value.decimals
        if have != decimals:
            raise BootstrapError(f"the IO mint {mint} exists with {have} decimals, not {decimals}")

    def ensure_ata(owner: Pubkey, minimum: int) -> Pubkey:
        ata = io_account(owner, mint)
        bal = _token_balance(ctx, ata)
        ixs: list[Instruction] = []
        if bal is None:
            ixs.append(create_ata_idempotent(mint_authority.pubkey(), owner, mint))
            bal = 0
        if bal < minimum:
            params = MintToCheckedParams(
                program_id=ids.TOKEN_PROGRAM_ID,
                mint=mint,
                dest=ata,
                mint_authority=mint_authority.pubkey(),
                amount=minimum - bal,
                decimals=decimals,
            )
            ixs.append(mint_to_checked(params))
        if ixs:
            ctx.send(ixs, [])
        return ata

    ctx.ensure_receiver(treasury_owner.pubkey(), mint)
    ensure_ata(emission_owner.pubkey(), emission_io)
    for name in wallets:
        kp = wallet_kps[name]
        ctx.ensure_sol(kp.pubkey(), wallet_sol)
        ata = ensure_ata(kp.pubkey(), wallet_io)
        ctx.file.wallets.append(
            bootfile.Wallet(
                name=name,
                pubkey=str(kp.pubkey()),
                keypair_path=str(keys_dir / f"wallet-{name}.json"),
                io_account=str(ata),
            )
        )
    for step in extra_steps:
        step(ctx)
    bootfile.save(ctx.file, out_file)
    return BootstrapResult(ctx.file, list(ctx.sent))
