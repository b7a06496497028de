"""``iog localnet bootstrap``: the IO mint, treasury and emission-reserve accounts and funded demo wallets.

Everything goes through JSON-RPC, so it runs against the embedded node, a real ``solana-test-validator`` or
devnet alike. Keypairs live in ``keys_dir`` (Solana CLI JSON format) and are reused, and every on-chain step
first checks whether it is already done: a second run sends nothing.

Later work (the staking program's deploy + initialize) plugs in through :data:`EXTRA_STEPS`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    InitializeMintParams,
    MintToCheckedParams,
    create_idempotent_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to_checked,
)

from localnet.errors import LocalnetError

MINT_SPACE = 82
DEFAULT_WALLETS = ("alice", "bob", "carol")


@dataclass
class BootstrapContext:
    """What an extra step gets: the client, the keys folder, a payer, and the result being built."""

    client: Client
    keys_dir: Path
    payer: Keypair
    result: dict[str, Any]
    sent: list[str] = field(default_factory=list)

    def send(self, instructions: list[Instruction], signers: list[Keypair]) -> str:
        """Send and confirm (``confirmed``) a transaction paid by ``payer``; returns its signature."""
        return _send(self, instructions, signers)

    def ensure_sol(self, who: Pubkey, lamports: int) -> None:
        """Bring ``who`` to at least ``lamports``: an airdrop for the payer, a transfer from it for others."""
        _ensure_sol(self, who, lamports)


#: Steps run after the built-in ones, in order. Each must be idempotent and may add keys to ``ctx.result``.
EXTRA_STEPS: list[Callable[[BootstrapContext], None]] = []


def load_or_create_keypair(path: Path) -> Keypair:
    """The keypair stored at ``path`` (Solana CLI JSON), created on first use."""
    if path.exists():
        try:
            return Keypair.from_bytes(bytes(json.loads(path.read_text())))
        except (ValueError, TypeError) as exc:
            raise LocalnetError(f"{path} is not a Solana keypair file") from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    kp = Keypair()
    path.write_text(json.dumps(list(bytes(kp))))
    path.chmod(0o600)
    return kp


def _confirm(client: Client, sig: Signature, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = client.get_signature_statuses([sig]).value[0]
        if (
            st is not None
            and st.confirmation_status is not None
            and str(st.confirmation_status) != "TransactionConfirmationStatus.Processed"
        ):
            if st.err is not None:
                raise LocalnetError(f"bootstrap transaction {sig} failed: {st.err}")
            return
        time.sleep(0.05)
    raise LocalnetError(f"bootstrap transaction {sig} was not confirmed within {timeout:.0f}s")


def _send(ctx: BootstrapContext, instructions: list[Instruction], signers: list[Keypair]) -> str:
    bh = ctx.client.get_latest_blockhash(Confirmed).value.blockhash
    all_signers = [ctx.payer] + [s for s in signers if s.pubkey() != ctx.payer.pubkey()]
    tx = Transaction(all_signers, Message(instructions, ctx.payer.pubkey()), bh)
    sig = ctx.client.send_transaction(tx, opts=TxOpts(preflight_commitment=Confirmed)).value
    _confirm(ctx.client, sig)
    ctx.sent.append(str(sig))
    return str(sig)


def _ensure_sol(ctx: BootstrapContext, who: Pubkey, lamports: int) -> None:
    bal = ctx.client.get_balance(who, Confirmed).value
    if bal >= lamports:
        return
    if who == ctx.payer.pubkey():
        sig = ctx.client.request_airdrop(who, lamports - bal, Confirmed).value
        _confirm(ctx.client, sig)
        ctx.sent.append(str(sig))
    else:
        ctx.send(
            [
                transfer(
                    TransferParams(from_pubkey=ctx.payer.pubkey(), to_pubkey=who, lamports=lamports - bal)
                )
            ],
            [],
        )


def _token_balance(client: Client, account: Pubkey) -> int | None:
    info = client.get_account_info(account, Confirmed).value
    if info is None:
        return None
    return int(client.get_token_account_balance(account, Confirmed).value.amount)


def bootstrap(
    rpc_url: str,
    out_file: Path,
    keys_dir: Path,
    decimals: int = 8,
    wallets: tuple[str, ...] = DEFAULT_WALLETS,
    wallet_sol: int = 10 * 10**9,
    wallet_io: int | None = None,
    emission_io: int | None = None,
    extra_steps: list[Callable[[BootstrapContext], None]] | None = None,
) -> dict[str, Any]:
    """Create (or find) the IO mint, treasury, emission reserve and demo wallets; write and return them.

    The returned dict is the file's content plus ``sent_transactions`` (signatures this run sent; empty when
    everything already existed).

    Args:
        rpc_url: JSON-RPC endpoint of any cluster whose faucet (requestAirdrop) can fund the payer.
        out_file: the JSON file later commands read.
        keys_dir: where keypairs are stored and reused.
        decimals: IO decimals (fixed once the mint exists: a different value is an error).
        wallets: names of demo wallets.
        wallet_sol: lamports each demo wallet holds at least.
        wallet_io: IO base units each demo wallet holds at least (default 1,000,000 IO).
        emission_io: IO base units the emission reserve holds at least (default 100,000,000 IO).
        extra_steps: steps after the built-in ones (default :data:`EXTRA_STEPS`).
    """
    if not 0 <= decimals <= 18:
        raise LocalnetError("decimals must be between 0 and 18")
    unit = 10**decimals
    wallet_io = 1_000_000 * unit if wallet_io is None else wallet_io
    emission_io = 100_000_000 * unit if emission_io is None else emission_io
    if wallet_io < 0 or emission_io < 0 or wallet_sol < 0:
        raise LocalnetError("amounts must not be negative")
    client = Client(rpc_url, timeout=30)
    try:
        client.get_version()
    except Exception as exc:  # connection refused, DNS, TLS: all mean the same to the user
        raise LocalnetError(f"no Solana RPC answers at {rpc_url}: {exc}") from exc
    mint_authority = load_or_create_keypair(keys_dir / "mint_authority.json")
    mint_kp = load_or_create_keypair(keys_dir / "io_mint.json")
    treasury_owner = load_or_create_keypair(keys_dir / "treasury_owner.json")
    emission_owner = load_or_create_keypair(keys_dir / "emission_owner.json")
    ctx = BootstrapContext(client, keys_dir, mint_authority, {})
    wallet_kps = {name: load_or_create_keypair(keys_dir / f"wallet-{name}.json") for name in wallets}
    # The payer is topped up only by what this run will spend: on a complete cluster that is nothing, so a
    # re-run sends no transaction (a fixed floor would be re-topped after extra steps draw on the payer).
    need = 0
    for kp in wallet_kps.values():
        need += max(0, wallet_sol - client.get_balance(kp.pubkey(), Confirmed).value)
    if need or client.get_account_info(mint_kp.pubkey(), Confirmed).value is None:
        need += 10**9  # fees and rent of the mint and token accounts, with room to spare
        if client.get_balance(mint_authority.pubkey(), Confirmed).value < need:
            _ensure_sol(ctx, mint_authority.pubkey(), need + 10 * 10**9)

    mint = mint_kp.pubkey()
    info = client.get_account_info(mint, Confirmed).value
    if info is None:
        rent = client.get_minimum_balance_for_rent_exemption(MINT_SPACE).value
        ctx.send(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=mint_authority.pubkey(),
                        to_pubkey=mint,
                        lamports=rent,
                        space=MINT_SPACE,
                        owner=TOKEN_PROGRAM_ID,
                    )
                ),
                initialize_mint(
                    InitializeMintParams(
                        decimals=decimals,
                        program_id=TOKEN_PROGRAM_ID,
                        mint=mint,
                        mint_authority=mint_authority.pubkey(),
                        freeze_authority=None,
                    )
                ),
            ],
            [mint_kp],
        )
    else:
        have = client.get_token_supply(mint, Confirmed).value.decimals
        if have != decimals:
            raise LocalnetError(f"the IO mint {mint} exists with {have} decimals, not {decimals}")

    def ensure_ata(owner: Pubkey, minimum: int) -> Pubkey:
        ata = get_associated_token_address(owner, mint)
        bal = _token_balance(client, ata)
        ixs: list[Instruction] = []
        if bal is None:
            ixs.append(create_idempotent_associated_token_account(mint_authority.pubkey(), owner, mint))
            bal = 0
        if bal < minimum:
            ixs.append(
                mint_to_checked(
                    MintToCheckedParams(
                        program_id=TOKEN_PROGRAM_ID,
                        mint=mint,
                        dest=ata,
                        mint_authority=mint_authority.pubkey(),
                        amount=minimum - bal,
                        decimals=decimals,
                    )
                )
            )
        if ixs:
            ctx.send(ixs, [])
        return ata

    treasury = ensure_ata(treasury_owner.pubkey(), 0)
    emission = ensure_ata(emission_owner.pubkey(), emission_io)
    wallet_rows = []
    for name in wallets:
        path = keys_dir / f"wallet-{name}.json"
        kp = wallet_kps[name]
        _ensure_sol(ctx, kp.pubkey(), wallet_sol)
        ata = ensure_ata(kp.pubkey(), wallet_io)
        wallet_rows.append(
            {"name": name, "pubkey": str(kp.pubkey()), "keypair_path": str(path), "io_account": str(ata)}
        )
    ctx.result.update(
        {
            "rpc_url": rpc_url,
            "mint": str(mint),
            "decimals": decimals,
            "mint_authority": str(mint_authority.pubkey()),
            "mint_authority_keypair_path": str(keys_dir / "mint_authority.json"),
            "token_program": str(TOKEN_PROGRAM_ID),
            "treasury": str(treasury),
            "treasury_owner": str(treasury_owner.pubkey()),
            "treasury_owner_keypair_path": str(keys_dir / "treasury_owner.json"),
            "emission_reserve": str(emission),
            "emission_reserve_owner": str(emission_owner.pubkey()),
            "emission_reserve_owner_keypair_path": str(keys_dir / "emission_owner.json"),
            "wallets": wallet_rows,
        }
    )
    for step in EXTRA_STEPS if extra_steps is None else extra_steps:
        step(ctx)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(ctx.result, indent=2, sort_keys=True) + "\n"
    if not out_file.exists() or out_file.read_text() != text:
        out_file.write_text(text)
    client._provider.session.close()
    return {**ctx.result, "sent_transactions": list(ctx.sent)}
