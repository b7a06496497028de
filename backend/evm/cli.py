"""``iog evmnet`` (the local EVM node, bootstrap, demo payments) and ``iog evm`` (the EVM indexer and lookups)."""

from __future__ import annotations

import json
import logging
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from backend.errors import AppError

evmnet_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The local EVM node (anvil) and its demo.")
evm_app = typer.Typer(no_args_is_help=True, add_completion=False, help="The EVM rail: indexer and payment lookups.")
index_app = typer.Typer(no_args_is_help=True, add_completion=False, help="EVM -> SQL: Paid and treasury Transfer logs.")
evm_app.add_typer(index_app, name="index")
console = Console()
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _fail(exc: AppError | str) -> NoReturn:
    console.print(f"[red]error:[/red] {exc.message if isinstance(exc, AppError) else exc}")
    raise typer.Exit(1)


@dataclass
class _Ctx:
    settings: Any
    boot: Any
    rpc_url: str
    confirmations: int

    def client(self) -> Any:
        from backend.evm.client import GWEI, EvmClient

        s = self.settings
        return EvmClient(self.rpc_url, timeout=s.evm_rpc_timeout, max_fee_cap=s.evm_tx_max_fee_gwei * GWEI)

    def watch(self) -> Any:
        from backend.evm.indexer import Watch

        return Watch.from_boot(self.boot)


def _ctx(rpc_url: str | None = None) -> _Ctx:
    """Settings, the EVM bootstrap file, the RPC URL (option > IOG_EVM_RPC_URL > the file) and the depth."""
    from backend.config import get_settings
    from backend.evm import bootfile
    from backend.evm.tasks import confirmations

    s = get_settings()
    try:
        boot = bootfile.load(s.resolved_evm_bootstrap_file)
    except AppError as exc:
        _fail(exc)
    url = rpc_url or s.evm_rpc_url or boot.rpc_url
    return _Ctx(s, boot, url, confirmations(s, boot))


def invoice_bytes32(text: str) -> str:
    """An invoice id as bytes32: ``0x`` + 64 hex as given, any other text as its keccak-256 (e.g. ``INV-1``)."""
    if _BYTES32.match(text):
        return text.lower()
    from eth_utils import keccak

    return "0x" + keccak(text=text).hex()


# --- iog evmnet ---------------------------------------------------------------------------------------------------
@evmnet_app.command("up")
def up(
    port: int = typer.Option(None, help="JSON-RPC port (default IOG_EVM_ANVIL_PORT, 8545)"),
    block_time: int = typer.Option(None, "--block-time", help="Seconds per block (default: a block per transaction)"),
    state: Path = typer.Option(None, help="State file loaded at start and written at exit (default: none)"),
) -> None:
    """Run anvil (the pinned local EVM node) on 127.0.0.1 with the deterministic dev accounts until Ctrl-C."""
    from backend.config import get_settings
    from backend.evm.anvil import DEV_CHAIN_ID, Anvil, find_anvil

    s = get_settings()
    node = Anvil(port=port or s.evm_anvil_port, block_time=block_time, state=state, binary=find_anvil(s.evm_anvil_bin))

    def _stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Before anvil starts: a SIGTERM that comes as soon as it answers still stops it cleanly (state written).
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            node.start()
        except AppError as exc:
            _fail(exc)
        mode = f"a block every {block_time} s" if block_time else "a block per transaction"
        console.print(f"anvil up: {node.rpc_url} (chain id {DEV_CHAIN_ID}, {mode}); Ctrl-C stops it")
        node.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


@evmnet_app.command("bootstrap")
def bootstrap_cmd(
    rpc_url: str = typer.Option(None, help="EVM JSON-RPC (default IOG_EVM_RPC_URL, else http://127.0.0.1:8545)"),
    out: Path = typer.Option(None, help="Where to write the addresses (default IOG_EVM_BOOTSTRAP_FILE, .iog/evm.json)"),
    keys_dir: Path = typer.Option(None, help="Where the treasury key is kept (default IOG_DATA_DIR/keys)"),
    confirmations: int = typer.Option(3, min=1, help="Confirmation depth recorded for this dev chain"),
) -> None:
    """Deploy the USDC-like token and the PaymentRouter, fund alice/bob/carol, write evm.json (idempotent)."""
    from backend.config import get_settings
    from backend.evm.bootstrap import bootstrap
    from backend.evm.client import EvmClient

    s = get_settings()
    url = rpc_url or s.evm_rpc_url or f"http://127.0.0.1:{s.evm_anvil_port}"
    target = out or s.resolved_evm_bootstrap_file
    try:
        result = bootstrap(EvmClient(url, timeout=s.evm_rpc_timeout), target, keys_dir or s.data_dir / "keys",
                           confirmations=confirmations)
    except AppError as exc:
        _fail(exc)
    doc = result.file.as_dict()
    console.print_json(json.dumps({k: doc[k] for k in ("chain_id", "token", "router", "treasury", "confirmations")}))
    console.print(f"{len(result.sent)} transaction(s) sent; addresses written to {target}")


def _buyer(ctx: _Ctx, name: str) -> Any:
    from backend.evm.client import dev_account

    b = ctx.boot.buyer(name)
    if b is None:
        _fail(f"no demo buyer {name!r} (have: {', '.join(x.name for x in ctx.boot.buyers)})")
    return dev_account(b.dev_account_index)


@evmnet_app.command("pay")
def pay(
    buyer: str = typer.Argument(..., help="Demo buyer (alice, bob, carol)"),
    amount: str = typer.Argument(..., help="USDC amount, e.g. 12.5 (exact: at most 6 decimals)"),
    invoice: str = typer.Option(..., help="Invoice id: 0x + 64 hex, or any text (its keccak-256 is used)"),
) -> None:
    """Pay through the router as a wallet would: approve(router, amount), then pay(invoice, amount)."""
    from backend.money import to_base_units

    ctx = _ctx()
    account = _buyer(ctx, buyer)
    try:
        units = to_base_units(amount, ctx.boot.token.decimals)
        c, token, router, inv = ctx.client(), ctx.boot.token.address, ctx.boot.router.address, invoice_bytes32(invoice)
        c.send_and_wait(account, {"to": token, "data": c.call_data("Token", token, "approve", router, units)})
        data = c.call_data("PaymentRouter", router, "pay", inv, units)
        rec = c.send_and_wait(account, {"to": router, "data": data})
    except AppError as exc:
        _fail(exc)
    console.print_json(json.dumps({"invoice_id": inv, "amount": str(units), "payer": account.address.lower(),
                                   "tx_hash": rec["transactionHash"], "block": int(rec["blockNumber"], 16)}))


@evmnet_app.command("transfer")
def transfer(
    buyer: str = typer.Argument(..., help="Demo buyer (alice, bob, carol)"),
    amount: str = typer.Argument(..., help="USDC amount, e.g. 3"),
    to: str = typer.Option("treasury", help="Recipient address, or `treasury`"),
) -> None:
    """A plain token transfer (no invoice): into the treasury it is recorded and listed as unmatched."""
    from backend.money import to_base_units

    ctx = _ctx()
    account = _buyer(ctx, buyer)
    recipient = ctx.boot.treasury if to == "treasury" else to
    try:
        units = to_base_units(amount, ctx.boot.token.decimals)
        c, token = ctx.client(), ctx.boot.token.address
        rec = c.send_and_wait(account, {"to": token, "data": c.call_data("Token", token, "transfer", recipient, units)})
    except (AppError, ValueError) as exc:
        _fail(exc if isinstance(exc, AppError) else str(exc))
    console.print_json(json.dumps({"to": recipient, "amount": str(units), "tx_hash": rec["transactionHash"]}))


@evmnet_app.command("balance")
def balance() -> None:
    """USDC (base units and UI) and ETH of the demo buyers and the treasury."""
    from backend.money import format_units

    ctx = _ctx()
    c = ctx.client()
    table = Table("who", "address", "USDC", "ETH")
    holders = [(b.name, b.address) for b in ctx.boot.buyers] + [("treasury", ctx.boot.treasury)]
    try:
        for name, address in holders:
            usdc = c.token_balance(ctx.boot.token.address, address)
            table.add_row(name, address, format_units(usdc, ctx.boot.token.decimals),
                          format_units(c.eth_balance(address), 18))
    except AppError as exc:
        _fail(exc)
    console.print(table)


# --- iog evm index --------------------------------------------------------------------------------------------------
def _indexer(ctx: _Ctx) -> Any:
    from backend import migrate
    from backend.db import make_engine
    from backend.evm.indexer import EvmIndexer

    engine = make_engine(ctx.settings.resolved_database_url)
    migrate.upgrade(engine)
    client = ctx.client()
    try:
        chain = client.chain_id()
    except AppError as exc:
        _fail(exc)
    if chain != ctx.boot.chain_id:
        _fail(f"{ctx.rpc_url} is chain {chain}, the EVM bootstrap file is for chain {ctx.boot.chain_id}")
    return EvmIndexer(engine, client, ctx.watch(), ctx.settings.evm_log_range, ctx.confirmations)


@index_app.command("backfill")
def backfill(rpc_url: str = typer.Option(None, help="EVM JSON-RPC (default IOG_EVM_RPC_URL, else evm.json)")) -> None:
    """Read every block from the cursor to the head, then exit."""
    logging.basicConfig(level=logging.WARNING)
    ctx = _ctx(rpc_url)
    idx = _indexer(ctx)
    start = time.monotonic()
    try:
        result = idx.pass_once()
    except AppError as exc:
        idx.record_error(f"{type(exc).__name__}: {exc.message}")
        _fail(exc)
    console.print(f"{result.ranges} range(s), {result.logs} new log(s), up to block {result.last_block} "
                  f"(rollbacks: {result.rollbacks or 'none'}) in {time.monotonic() - start:.1f} s")


@index_app.command("run")
def run(rpc_url: str = typer.Option(None, help="EVM JSON-RPC (default IOG_EVM_RPC_URL, else evm.json)")) -> None:
    """Follow the chain: a pass every IOG_EVM_POLL_SECONDS until Ctrl-C or SIGTERM."""
    import threading

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("backend.evm").setLevel(logging.INFO)
    ctx = _ctx(rpc_url)
    idx = _indexer(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(f"EVM indexer following chain {ctx.boot.chain_id} at {ctx.rpc_url} "
                  f"(router {ctx.boot.router.address}, {ctx.confirmations} confirmations)")
    try:
        idx.follow(ctx.settings.evm_poll_seconds, stop)
    except KeyboardInterrupt:
        pass


@index_app.command("status")
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Cursor, head, lag, rows per kind, unmatched transfers, last error."""
    from backend.db import make_engine, make_sessionmaker
    from backend.evm.service import index_status

    ctx = _ctx()
    engine = make_engine(ctx.settings.resolved_database_url)
    with make_sessionmaker(engine)() as session:
        doc = index_status(session, ctx.watch(), ctx.confirmations, ctx.client())
    if as_json:
        console.print_json(json.dumps(doc))
        return
    table = Table("field", "value")
    for k, v in doc.items():
        table.add_row(k, json.dumps(v) if isinstance(v, dict | list) else str(v))
    console.print(table)


@evm_app.command("invoice")
def invoice_cmd(
    invoice: str = typer.Argument(..., help="Invoice id: 0x + 64 hex, or the text given to `iog evmnet pay`"),
    amount: str = typer.Option(..., help="Amount due in USDC, e.g. 12.5"),
) -> None:
    """An invoice's payment instructions, EIP-681 links, and its payments at `seen` and at N confirmations."""
    from backend.db import make_engine, make_sessionmaker
    from backend.evm.service import eip681_links, invoice_payments, payment_instructions
    from backend.money import to_base_units

    ctx = _ctx()
    try:
        instr = payment_instructions(ctx.watch(), invoice_bytes32(invoice),
                                     to_base_units(amount, ctx.boot.token.decimals))
    except AppError as exc:
        _fail(exc)
    with make_sessionmaker(make_engine(ctx.settings.resolved_database_url))() as session:
        got = invoice_payments(session, ctx.watch(), instr, ctx.confirmations)

    def rows(ps: list[Any]) -> list[dict[str, Any]]:
        return [{"tx_hash": p.tx_hash, "block": p.block_number, "payer": p.payer, "amount": str(p.amount),
                 "confirmations": p.confirmations} for p in ps]

    console.print_json(json.dumps({
        "instructions": instr.as_dict(), "links": eip681_links(instr),
        "indexed_to_block": got.indexed_to_block, "confirmations_required": got.confirmations_required,
        "seen_amount": str(got.seen_amount), "confirmed_amount": str(got.confirmed_amount),
        "seen": rows(got.seen), "confirmed": rows(got.confirmed),
    }))
