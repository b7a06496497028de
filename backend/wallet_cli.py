"""``iog wallet``: look at and move IO with the demo wallets that ``iog localnet bootstrap`` created.

For trying the system by hand (the README's example): balances, an IO payment with a memo and Solana Pay
reference keys, and lookups by signature or by reference. Wallets are named as in the bootstrap file
(alice, bob, carol, treasury) or given as base58 pubkeys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from backend.errors import AppError, InvalidInput, NotFound
from backend.money import format_units, to_base_units

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()
MEMO_PROGRAM = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"


class Cluster:
    """The bootstrap file's addresses plus an RPC client to the configured cluster."""

    def __init__(self) -> None:
        from solana.rpc.api import Client

        from backend.config import get_settings

        settings = get_settings()
        path: Path = settings.resolved_bootstrap_file
        if not path.exists():
            raise NotFound(f"{path} not found: run `iog localnet bootstrap` (or `make run`) first")
        try:
            self.boot: dict[str, Any] = json.loads(path.read_text())
            self.decimals: int = int(self.boot["decimals"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{path} is not a bootstrap file ({exc!r}): run `iog localnet bootstrap`") from None
        self.client = Client(settings.rpc_url, timeout=30)

    def wallet(self, who: str) -> tuple[str, str | None]:
        """(pubkey, keypair path or None) for a demo wallet name, 'treasury', or a raw pubkey."""
        from solders.pubkey import Pubkey

        for w in self.boot.get("wallets", []):
            if who in (w["name"], w["pubkey"]):
                return w["pubkey"], w["keypair_path"]
        if who == "treasury":
            return self.boot["treasury_owner"], self.boot.get("treasury_owner_keypair_path")
        try:
            return str(Pubkey.from_string(who)), None
        except ValueError:
            raise InvalidInput(f"{who!r} is neither a demo wallet name nor a base58 pubkey") from None

    def io_account(self, owner: str) -> str:
        from solders.pubkey import Pubkey
        from spl.token.instructions import get_associated_token_address

        return str(get_associated_token_address(Pubkey.from_string(owner), Pubkey.from_string(self.boot["mint"])))


def _run(fn: Any) -> Any:
    from solana.rpc.core import RPCException

    try:
        return fn()
    except AppError as exc:
        message = exc.message
    except RPCException as exc:  # the node refused the request, e.g. a transfer above the balance
        message = f"the cluster refused the request: {getattr(exc.args[0], 'message', exc)}"
    console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(2) from None


@app.command("balance")
def balance(who: list[str] = typer.Argument(None, help="Wallet names or pubkeys (default: every demo wallet)")) -> None:
    """Show SOL and IO balances of wallets (at confirmed commitment)."""

    def go() -> None:
        from solana.rpc.commitment import Confirmed
        from solana.rpc.core import RPCException
        from solders.pubkey import Pubkey

        c = Cluster()
        names = who or [w["name"] for w in c.boot.get("wallets", [])] + ["treasury"]
        table = Table("wallet", "pubkey", "SOL", "IO")
        for name in names:
            pk, _ = c.wallet(name)
            sol = c.client.get_balance(Pubkey.from_string(pk), Confirmed).value
            try:
                info = c.client.get_token_account_balance(Pubkey.from_string(c.io_account(pk)), Confirmed)
                io = format_units(int(info.value.amount), c.decimals)
            except RPCException:  # no IO token account yet
                io = "-"
            table.add_row(name, pk, format_units(sol, 9), io)
        console.print(table)

    _run(go)


@app.command("transfer")
def transfer(
    sender: str = typer.Argument(..., help="Demo wallet that pays (its keypair signs)"),
    recipient: str = typer.Argument(..., help="Wallet name or pubkey; the IO goes to its IO token account"),
    amount: str = typer.Argument(..., help="IO amount, e.g. 12.5 (exact; at most the mint's decimals)"),
    memo: str | None = typer.Option(None, help="Memo attached to the payment"),
    reference: list[str] = typer.Option(None, help="Solana Pay reference pubkey (repeatable)"),
    new_reference: bool = typer.Option(False, help="Add a fresh random reference key (as an invoice would)"),
) -> None:
    """Pay IO from a demo wallet: transfer_checked (+ memo, + read-only reference keys), confirmed."""

    def go() -> None:
        from solana.rpc.commitment import Confirmed
        from solana.rpc.types import TxOpts
        from solders.instruction import AccountMeta, Instruction
        from solders.keypair import Keypair
        from solders.message import Message
        from solders.pubkey import Pubkey
        from solders.transaction import Transaction
        from spl.token.constants import TOKEN_PROGRAM_ID
        from spl.token.instructions import (
            TransferCheckedParams,
            create_idempotent_associated_token_account,
            transfer_checked,
        )

        c = Cluster()
        units = to_base_units(amount, c.decimals)
        if units == 0:
            raise InvalidInput("amount must be greater than zero")
        src_pk, key_path = c.wallet(sender)
        if key_path is None:
            raise InvalidInput(f"{sender!r} has no keypair here: the sender must be a demo wallet")
        dst_pk, _ = c.wallet(recipient)
        refs = [Pubkey.from_string(c.wallet(r)[0]) for r in reference or []]
        if new_reference:
            refs.append(Keypair().pubkey())
        payer = Keypair.from_json(Path(key_path).read_text())
        mint = Pubkey.from_string(c.boot["mint"])
        dest = Pubkey.from_string(c.io_account(dst_pk))
        ix = transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=Pubkey.from_string(c.io_account(src_pk)),
                mint=mint,
                dest=dest,
                owner=payer.pubkey(),
                amount=units,
                decimals=c.decimals,
            )
        )
        ix = Instruction(ix.program_id, ix.data, [*ix.accounts, *(AccountMeta(r, False, False) for r in refs)])
        ixs = [create_idempotent_associated_token_account(payer.pubkey(), Pubkey.from_string(dst_pk), mint), ix]
        if memo:
            ixs.append(Instruction(Pubkey.from_string(MEMO_PROGRAM), memo.encode(), []))
        bh = c.client.get_latest_blockhash(Confirmed).value.blockhash
        tx = Transaction([payer], Message(ixs, payer.pubkey()), bh)
        sig = c.client.send_transaction(tx, opts=TxOpts(preflight_commitment=Confirmed)).value
        c.client.confirm_transaction(sig, Confirmed)
        console.print(f"sent {format_units(units, c.decimals)} IO {sender} -> {recipient}")
        console.print(f"signature {sig}", soft_wrap=True)
        for r in refs:
            console.print(f"reference {r}", soft_wrap=True)

    _run(go)


@app.command("lookup")
def lookup(
    address: str = typer.Argument(..., help="Reference key, wallet, token account or program id"),
    limit: int = typer.Option(20, min=1, max=1000, help="How many signatures, newest first"),
) -> None:
    """List the newest signatures that name an address (e.g. a payment's reference key)."""

    def go() -> None:
        from solders.pubkey import Pubkey

        c = Cluster()
        pk, _ = c.wallet(address)
        rows = c.client.get_signatures_for_address(Pubkey.from_string(pk), limit=limit).value
        table = Table("signature", "slot", "status", "memo")
        for r in rows:
            table.add_row(str(r.signature), str(r.slot), "failed" if r.err else "ok", r.memo or "")
        console.print(table)

    _run(go)


@app.command("tx")
def tx(signature: str = typer.Argument(..., help="Transaction signature (base58)")) -> None:
    """Show a transaction: slot, status, fee, memo and the IO balance changes it made."""

    def go() -> None:
        from solders.signature import Signature

        c = Cluster()
        try:
            sig = Signature.from_string(signature)
        except ValueError:
            raise InvalidInput(f"{signature!r} is not a base58 signature") from None
        resp = c.client.get_transaction(sig, encoding="jsonParsed", max_supported_transaction_version=0)
        if resp.value is None:
            raise NotFound(f"transaction {signature} not found (not yet finalized, or unknown)")
        doc = json.loads(resp.value.to_json())
        meta = doc["meta"]
        console.print(f"slot {doc['slot']}  status {'failed' if meta['err'] else 'ok'}  fee {meta['fee']} lamports")
        pre = {(b["accountIndex"], b["mint"]): int(b["uiTokenAmount"]["amount"]) for b in meta["preTokenBalances"]}
        table = Table("owner", "mint", "change")
        for b in meta["postTokenBalances"]:
            delta = int(b["uiTokenAmount"]["amount"]) - pre.get((b["accountIndex"], b["mint"]), 0)
            if delta:
                decimals = b["uiTokenAmount"]["decimals"]
                table.add_row(b.get("owner", "?"), b["mint"], format_units(delta, decimals))
        console.print(table)
        for line in meta["logMessages"]:
            if "Memo" in line:
                console.print(line)

    _run(go)
