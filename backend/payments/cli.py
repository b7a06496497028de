"""``iog webhooks``: the webhook secret of an API key (for the service that receives the webhooks).
``iog invoices``: create an invoice for a buyer (an operator's shortcut to ``POST /invoices``) and watch it."""

from __future__ import annotations

import json
import time
from typing import Any

import typer
from rich.console import Console

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
invoices_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Invoices: create one, show or watch it.")
console = Console()
CURRENCIES = ("IO", "USDC", "USDC-EVM")


def _fail(exc: AppError | str) -> None:
    console.print(f"[red]error:[/red] {exc.message if isinstance(exc, AppError) else exc}")
    raise typer.Exit(1)


def _show(settings: Any, invoice_id: str) -> dict[str, Any]:
    from backend.chain import treasury as treasury_mod
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.payments import invoices
    from backend.payments.invoices_api import views_out

    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            inv = invoices.get(session, invoice_id)
            (out,) = views_out(session, settings, treasury_mod.load(settings), [inv], int(time.time()))
            return out.model_dump()
    finally:
        engine.dispose()


@invoices_app.command("create")
def create_cmd(
    amount: str = typer.Option(..., help="Amount in the currency's units, e.g. 12.5 (exact: no rounding)"),
    currency: str = typer.Option("USDC-EVM", help="IO, USDC (Solana) or USDC-EVM (the EVM chain's router)"),
    buyer: str = typer.Option(None, help="The buyer's Solana wallet, or a demo wallet's name (default: the first)"),
    description: str = typer.Option("", help="Shown to the payer"),
    expires_in: int = typer.Option(None, help="Seconds until it expires (default IOG_INVOICE_EXPIRES_SECONDS)"),
) -> None:
    """Create an invoice for a buyer (as an orchestrator key would) and print it as the API shows it."""
    from backend.chain import bootfile
    from backend.chain import treasury as treasury_mod
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.deps import pubkey
    from backend.money import to_base_units
    from backend.payments import evm_invoices, invoices

    settings = get_settings()
    if currency not in CURRENCIES:
        _fail(f"--currency: one of {', '.join(CURRENCIES)}")
    now, created_by = int(time.time()), "cli"
    expires = expires_in if expires_in is not None else settings.invoice_expires_seconds
    engine = make_engine(settings.resolved_database_url)
    try:
        boot = bootfile.load(settings.resolved_bootstrap_file)
        wallet = boot.wallet(buyer) if buyer else (boot.wallets[0] if boot.wallets else None)
        who = pubkey(wallet.pubkey if wallet is not None else buyer or "", "buyer")
        with session_scope(make_sessionmaker(engine)) as session:
            if currency == evm_invoices.EVM:
                rail = evm_invoices.require_rail(settings)
                inv = evm_invoices.create(
                    session, settings, rail, buyer=who, created_by=created_by, api_key_id=None,
                    amount=to_base_units(amount, rail.decimals), description=description, expires_in=expires,
                    callback_url=None, job_id=None, now=now,
                )  # fmt: skip
            else:
                treasury = treasury_mod.load(settings)
                inv = invoices.create(
                    session, settings, treasury, buyer=who, created_by=created_by, api_key_id=None,
                    amount=to_base_units(amount, treasury.currency(currency).decimals), currency=currency,
                    description=description, expires_in=expires, callback_url=None, job_id=None, now=now,
                )  # fmt: skip
            invoice_id = inv.id
    except (AppError, ValueError) as exc:
        _fail(exc if isinstance(exc, AppError) else str(exc))
    finally:
        engine.dispose()
    console.print_json(json.dumps(_show(settings, invoice_id)))


@invoices_app.command("show")
def show_cmd(
    invoice_id: str = typer.Argument(..., help="The invoice id (inv_...)"),
    wait_for: str = typer.Option(None, "--wait-for", help="Poll until the status is this one (e.g. paid)"),
    timeout: float = typer.Option(120.0, help="Seconds --wait-for waits before it gives up (exit 1)"),
) -> None:
    """An invoice with its live status (as ``GET /invoices/{id}``); with --wait-for, each status change as it
    happens."""
    from backend.config import get_settings

    settings = get_settings()
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            doc = _show(settings, invoice_id)
        except AppError as exc:
            _fail(exc)
        if wait_for is None:
            console.print_json(json.dumps(doc))
            return
        where = f"block {doc['as_of_block']}" if doc.get("as_of_block") is not None else f"slot {doc['as_of_slot']}"
        if doc["status"] != last:
            console.print(f"{doc['status']} (paid {doc['paid']}, pending {doc['pending']}, indexed to {where})")
            last = doc["status"]
        if doc["status"] == wait_for:
            return
        if time.monotonic() >= deadline:
            _fail(f"still {doc['status']} after {timeout:.0f} s")
        time.sleep(0.5)


@app.command("secret")
def secret_cmd(
    key_id: str = typer.Argument(..., help="The API key's id (key_...)"),
    rotate: bool = typer.Option(False, help="Replace the secret (undelivered events get signed with the new one)"),
) -> None:
    """Print the HMAC-SHA256 secret that signs the webhooks of invoices this API key creates."""
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope
    from backend.payments import webhooks

    settings = get_settings()
    engine = make_engine(settings.resolved_database_url)
    with session_scope(make_sessionmaker(engine)) as session:
        fn = webhooks.rotate if rotate else webhooks.secret_for
        print(fn(session, settings, key_id, int(time.time())))
