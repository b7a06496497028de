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
from backend.money import SOL_DECIMALS, format_units, to_base_units

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()


class Cluster:
    """The bootstrap file's addresses plus an RPC client to the configured cluster."""

    def __init__(self) -> None:
        from solana.rpc.api import Client

        from backend.chain import bootfile
        from backend.config import get_settings

        settings = get_settings()
        self.boot = bootfile.load(settings.resolved_bootstrap_file)
        self.decimals = self.boot.decimals
        self.client = Client(settings.rpc_url, timeout=30)

    def wallet(self, who: str) -> tuple[str, str | None]:
        """(pubkey, keypair path or None) for a demo wallet name, 'treasury', or a raw pubkey."""
        from solders.pubkey import Pubkey

        w = self.boot.wallet(who)
        if w is not None:
            return w.pubkey, w.keypair_path
        if who == "treasury":
            return self.boot.treasury_owner, self.boot.treasury_owner_keypair_path
        try:
            return str(Pubkey.from_string(who)), None
        except ValueError:
            raise InvalidInput(f"{who!r} is neither a demo wallet name nor a base58 pubkey") from None

    def io_account(self, owner: str) -> str:
        from solders.pubkey import Pubkey

        from backend.chain.tokens import io_account

        return str(io_account(Pubkey.from_string(owner), Pubkey.from_string(self.boot.mint)))


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
        names = who or [w.name for w in c.boot.wallets] + ["treasury"]
        table = Table("wallet", "pubkey", "SOL", "IO")
        for name in names:
            pk, _ = c.wallet(name)
            sol = c.client.get_balance(Pubkey.from_string(pk), Confirmed).value
            try:
                info = c.client.get_token_account_balance(Pubkey.from_string(c.io_account(pk)), Confirmed)
                io = format_units(int(info.value.amount), c.decimals)
            except RPCException:  # no IO token account yet
                io = "-"
            table.add_row(name, pk, format_units(sol, SOL_DECIMALS), io)
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
        from solders.keypair import Keypair
        from solders.pubkey import Pubkey

        from backend.chain import tx
        from backend.chain.keys import load_keypair
        from backend.chain.tokens import create_ata_idempotent, memo_instruction, transfer_checked_ix

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
        payer = load_keypair(Path(key_path))
        mint = Pubkey.from_string(c.boot.mint)
        dest = Pubkey.from_string(c.io_account(dst_pk))
        source = Pubkey.from_string(c.io_account(src_pk))
        ixs = [
            create_ata_idempotent(payer.pubkey(), Pubkey.from_string(dst_pk), mint),
            transfer_checked_ix(source, mint, dest, payer.pubkey(), units, c.decimals, refs),
        ]
        if memo:
            ixs.append(memo_instruction(memo))
        sig = tx.send_and_confirm(c.client, payer, ixs, commitment=Confirmed)
        console.print(f"sent {format_units(units, c.decimals)} IO {sender} -> {recipient}")
        console.print(f"signature {sig}", soft_wrap=True)
        for r in refs:
            console.print(f"reference {r}", soft_wrap=True)

    _run(go)


@app.command("pay")
def pay(
    url: str = typer.Argument(..., help="A Solana Pay transfer-request URL (solana:<recipient>?amount=...)"),
    sender: str = typer.Option("alice", "--from", help="Demo wallet that pays (its keypair signs)"),
) -> None:
    """Pay a Solana Pay transfer-request URL as a wallet does: memo, then transferChecked of the amount to the
    recipient's token account of spl-token, naming the reference keys; confirmed."""

    def go() -> None:
        from solana.rpc.commitment import Confirmed
        from solders.pubkey import Pubkey

        from backend.chain import tx
        from backend.chain.keys import load_keypair
        from backend.chain.tokens import memo_instruction, transfer_checked_ix
        from backend.payments.solanapay import parse

        c = Cluster()
        decimals_of = {c.boot.mint: c.decimals}
        if c.boot.settlement is not None:
            decimals_of[c.boot.settlement.usdc_mint] = c.boot.settlement.usdc_decimals
        req = parse(url, decimals_of)
        if req.spl_token is None or req.amount is None:
            raise InvalidInput("url: this wallet pays SPL token transfer requests with an amount (spl-token=...)")
        src_pk, key_path = c.wallet(sender)
        if key_path is None:
            raise InvalidInput(f"{sender!r} has no keypair here: the sender must be a demo wallet")
        payer = load_keypair(Path(key_path))
        mint = Pubkey.from_string(req.spl_token)
        from backend.chain.tokens import io_account as ata

        ixs = []
        if req.memo:
            ixs.append(memo_instruction(req.memo))
        ixs.append(
            transfer_checked_ix(
                ata(payer.pubkey(), mint),
                mint,
                ata(Pubkey.from_string(req.recipient), mint),
                payer.pubkey(),
                req.amount,
                decimals_of[req.spl_token],
                [Pubkey.from_string(r) for r in req.references],
            )
        )
        sig = tx.send_and_confirm(c.client, payer, ixs, commitment=Confirmed)
        shown = format_units(req.amount, decimals_of[req.spl_token])
        console.print(f"paid {shown} ({req.label or 'no label'}: {req.message or ''}) from {sender}")
        console.print(f"signature {sig}", soft_wrap=True)

    _run(go)


@app.command("lookup")
def lookup(
    address: str = typer.Argument(..., help="Reference key, wallet, token account or program id"),
    limit: int = typer.Option(20, min=1, max=1000, help="How many signatures, newest first"),
) -> None:
    """List the newest signatures that name an address (e.g. a payment's reference key)."""

    def go() -> None:
        from solana.rpc.commitment import Finalized
        from solders.pubkey import Pubkey

        c = Cluster()
        pk, _ = c.wallet(address)
        rows = c.client.get_signatures_for_address(Pubkey.from_string(pk), limit=limit, commitment=Finalized).value
        table = Table("signature", "slot", "status", "memo")
        for r in rows:
            table.add_row(str(r.signature), str(r.slot), "failed" if r.err else "ok", r.memo or "")
        console.print(table)

    _run(go)


@app.command("tx")
def tx(signature: str = typer.Argument(..., help="Transaction signature (base58)")) -> None:
    """Show a transaction: slot, status, fee, memo and the IO balance changes it made."""

    def go() -> None:
        from solana.rpc.commitment import Finalized
        from solders.signature import Signature

        c = Cluster()
        try:
            sig = Signature.from_string(signature)
        except ValueError:
            raise InvalidInput(f"{signature!r} is not a base58 signature") from None
        resp = c.client.get_transaction(
            sig, encoding="jsonParsed", commitment=Finalized, max_supported_transaction_version=0
        )
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


def token_file(name: str) -> Path:
    """Where ``iog wallet login NAME`` keeps NAME's session token."""
    from backend.config import get_settings

    return get_settings().data_dir / "tokens" / f"{name}.token"


@app.command("login")
def login(
    name: str = typer.Argument(..., help="Demo wallet name (from the bootstrap file) or a keypair file path"),
    api: str | None = typer.Option(None, help="API base URL (default IOG_API_URI)"),
) -> None:
    """Sign in to the API with a keypair (Sign-In With Solana) and store the session token.

    The token is written to IOG_DATA_DIR/tokens/NAME.token and printed, so scripts can use
    `Authorization: Bearer $(cat .iog/tokens/NAME.token)`.
    """

    def go() -> None:
        import httpx

        from backend.chain.keys import load_keypair
        from backend.config import get_settings

        settings = get_settings()
        path = Path(name)
        if not path.exists():
            _, key_path = Cluster().wallet(name)
            if key_path is None:
                raise InvalidInput(f"{name!r} is neither a keypair file nor a demo wallet with a keypair here")
            path = Path(key_path)
        kp = load_keypair(path)
        base = (api or settings.api_uri).rstrip("/")
        try:
            with httpx.Client(base_url=base, timeout=30) as http:
                ch = http.post("/auth/challenge", json={"address": str(kp.pubkey())})
                _raise_for(ch)
                message = ch.json()["message"]
                sig = kp.sign_message(message.encode())
                resp = http.post("/auth/verify", json={"message": message, "signature": str(sig)})
                _raise_for(resp)
        except httpx.HTTPError as exc:
            raise AppError(f"cannot reach the API at {base}: {exc}") from None
        token = resp.json()["token"]
        out = token_file(path.stem if path.exists() and name.endswith(".json") else name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch(mode=0o600)
        out.chmod(0o600)  # before the secret goes in, also when the file existed with other permissions
        out.write_text(token + "\n")
        console.print(f"signed in as {kp.pubkey()}; token saved to {out}", soft_wrap=True)
        print(token)

    _run(go)


def _raise_for(resp: Any) -> None:
    if resp.status_code >= 400:
        try:
            body = resp.json()
            detail = f"{body.get('error')}: {body.get('detail')}" + (f" ({body['reason']})" if "reason" in body else "")
        except ValueError:
            detail = resp.text[:200]
        raise AppError(f"the API answered {resp.status_code}: {detail}")


@app.command("address")
def address(name: str = typer.Argument(..., help="Demo wallet name (alice, bob, carol, treasury)")) -> None:
    """Print a demo wallet's public key (for scripts: `CAROL=$(iog wallet address carol)`)."""

    def go() -> None:
        print(Cluster().wallet(name)[0])

    _run(go)


@app.command("sign-and-send")
def sign_and_send(
    name: str = typer.Argument(..., help="Demo wallet name or keypair file: the wallet that signs and pays the fee"),
    tx: str = typer.Option(..., help="base64 transaction, or the API's JSON answer that carries it (`-` reads stdin)"),
) -> None:
    """Do what a wallet does with a transaction request: show what it calls, sign as fee payer and send it.

    Signatures already on the transaction (e.g. the node key's, from `iog agent sign-registration`) are kept.
    Waits for confirmed and prints the signature.
    """

    def go() -> None:
        import base64
        import binascii
        import sys

        from solana.rpc.commitment import Confirmed
        from solders.instruction import Instruction
        from solders.signature import Signature
        from solders.transaction import Transaction

        from backend.chain import tx as chain_tx
        from backend.chain.keys import load_keypair
        from backend.chain.txbuild import unwrap_transaction

        text = unwrap_transaction(sys.stdin.read() if tx == "-" else tx)
        try:
            txn = Transaction.from_bytes(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"--tx is not a base64 Solana transaction: {exc}") from None
        path = Path(name)
        c = Cluster()
        if not path.exists():
            _, key_path = c.wallet(name)
            if key_path is None:
                raise InvalidInput(f"{name!r} is neither a keypair file nor a demo wallet with a keypair here")
            path = Path(key_path)
        kp = load_keypair(path)
        msg = txn.message
        keys = msg.account_keys
        if keys[0] != kp.pubkey():
            raise InvalidInput(f"the fee payer is {keys[0]}, not {name} ({kp.pubkey()}): a wallet refuses to sign")
        programs = [keys[ix.program_id_index] for ix in msg.instructions]
        console.print(f"{name} signs a transaction calling: {', '.join(str(p) for p in programs)}", soft_wrap=True)
        txn.partial_sign([kp], msg.recent_blockhash)
        required = keys[: msg.header.num_required_signatures]
        missing = [str(k) for k, s in zip(required, txn.signatures, strict=True) if s == Signature.default()]
        if missing:
            raise InvalidInput(
                f"the transaction still lacks the signature of {', '.join(missing)} (a node key signs first: "
                "iog agent sign-registration)"
            )
        ixs = [Instruction(p, b"", []) for p in programs]  # program ids name the errors of a failure
        sig = chain_tx.send_signed(c.client, txn, ixs, commitment=Confirmed)
        chain_tx.confirm(c.client, [sig], commitment=Confirmed, instructions=ixs)
        console.print(f"sent and confirmed: {sig}", soft_wrap=True)
        print(sig)

    _run(go)
