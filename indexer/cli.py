"""``iog indexer``: backfill, run (follow), status and reconcile."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Solana -> SQL indexer.")
console = Console()


def _setup(rpc_url: str | None) -> tuple[Any, Any, Any]:
    from pydantic import ValidationError

    from backend import migrate
    from backend.config import get_settings
    from backend.db import make_engine
    from indexer.config import resolve
    from indexer.errors import ConfigError

    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"IOG_{'_'.join(map(str, e['loc'])).upper()} ({e['loc'][0]}): {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
    cfg = resolve(settings)
    engine = make_engine(settings.resolved_database_url)
    migrate.upgrade(engine)
    if rpc_url:
        settings = settings.model_copy(update={"rpc_url": rpc_url})
    return settings, cfg, engine


def _build(settings: Any, cfg: Any, engine: Any) -> tuple[Any, Any]:
    from indexer.pipeline import Indexer, IndexerOptions
    from indexer.rpc import RpcClient

    rpc = RpcClient(
        settings.rpc_url,
        timeout=settings.indexer_rpc_timeout,
        max_retries=settings.indexer_max_retries,
        concurrency=settings.indexer_concurrency,
    )
    opts = IndexerOptions(
        batch_size=settings.indexer_batch_size,
        chunk_size=settings.indexer_chunk_size,
        page_limit=settings.indexer_page_limit,
    )
    return rpc, Indexer(engine, rpc, cfg.context(), cfg.addresses, opts)


def _fail(exc: Exception) -> NoReturn:
    console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
    raise typer.Exit(1)


def _setup_locked(rpc_url: str | None) -> tuple[Any, Any, Any, Any]:
    """:func:`_setup` plus the address-set lock (taken); any expected error (bad settings, a database that
    cannot be migrated, a lock held) ends the command with its message."""
    from backend.errors import AppError
    from indexer.store import AddressSetLock

    try:
        settings, cfg, engine = _setup(rpc_url)
        lock = AddressSetLock(engine, cfg.addresses)
        lock.acquire()
    except AppError as exc:
        _fail(exc)
    return settings, cfg, engine, lock


@app.command("backfill")
def backfill(
    rpc_url: str = typer.Option(None, help="JSON-RPC URL (default IOG_RPC_URL)"),
    quiet: bool = typer.Option(False, help="No progress bar"),
) -> None:
    """Ingest every finalized transaction of the watched addresses newer than their cursors, then exit."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from indexer.errors import IndexerError

    logging.basicConfig(level=logging.WARNING)
    settings, cfg, engine, lock = _setup_locked(rpc_url)
    rpc, indexer = _build(settings, cfg, engine)
    start = time.monotonic()
    total_done = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} tx/s"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(address: str, done: int, total: int) -> None:
            nonlocal total_done
            label = f"{cfg.labels.get(address, '')} {address[:8]}"
            if address not in tasks:
                tasks[address] = bar.add_task(label, total=total, rate="-")
            rate = done / max(1e-6, time.monotonic() - start)
            bar.update(tasks[address], completed=done, total=total, rate=f"{rate:,.0f}")

        async def go() -> dict[str, int]:
            try:
                return await indexer.backfill_all(progress)
            finally:
                await rpc.aclose()

        try:
            result = asyncio.run(go())
        except IndexerError as exc:
            from indexer.store import record_error

            for address in cfg.addresses:  # shown by `iog indexer status`
                record_error(engine, address, f"{type(exc).__name__}: {exc}")
            lock.release()
            _fail(exc)
    lock.release()
    n = sum(result.values())
    console.print(f"backfilled {n} transactions in {time.monotonic() - start:.1f}s")


@app.command("run")
def run(
    rpc_url: str = typer.Option(None, help="JSON-RPC URL (default IOG_RPC_URL)"),
    ws_url: str = typer.Option(None, help="PubSub websocket URL (default IOG_WS_URL); 'none' to poll only"),
    metrics_port: int = typer.Option(
        None, help="Serve Prometheus metrics on this port (default IOG_INDEXER_METRICS_PORT)"
    ),
) -> None:
    """Follow the chain: finalized passes from the cursor, logsSubscribe for pending rows (Ctrl-C stops).

    Logs a progress line every IOG_INDEXER_LOG_SECONDS (transactions written, rate, lag, last error)."""
    import signal

    from indexer.follow import Follower
    from indexer.status import log_progress

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpcore", "websockets", "alembic"):  # one line per request is noise here
        logging.getLogger(chatty).setLevel(logging.WARNING)
    settings, cfg, engine, lock = _setup_locked(rpc_url)
    port = metrics_port or settings.indexer_metrics_port
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1")
    rpc, indexer = _build(settings, cfg, engine)
    ws = ws_url or settings.ws_url
    follower = Follower(indexer, None if ws == "none" else ws, settings.indexer_poll_seconds)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, follower.stop.set)
        progress = asyncio.create_task(
            log_progress(engine, cfg, rpc, indexer.written, settings.indexer_log_seconds, follower.stop)
        )
        try:
            await follower.run()
        finally:
            progress.cancel()
            await asyncio.gather(progress, return_exceptions=True)
            await rpc.aclose()

    console.print(
        f"indexing {len(cfg.addresses)} addresses from {settings.rpc_url}; "
        f"a progress line every {settings.indexer_log_seconds:g} s (IOG_INDEXER_LOG_SECONDS)"
    )
    try:
        asyncio.run(go())
    finally:
        lock.release()


@app.command("status")
def status(
    rpc_url: str = typer.Option(None, help="JSON-RPC URL for heads and lag (default IOG_RPC_URL)"),
    wide: bool = typer.Option(False, "--wide", help="Full signatures in the cursor and head columns"),
) -> None:
    """Per watched address: cursor and its slot, the address's newest finalized signature (head) and its slot, lag
    (head slot - cursor slot, 0 when caught up), rows stored, last error."""
    from backend.errors import AppError
    from indexer.rpc import RpcClient
    from indexer.status import address_status

    async def go(settings: Any, cfg: Any, engine: Any) -> Any:
        async with RpcClient(settings.rpc_url, timeout=5.0, max_retries=1) as rpc:
            return await address_status(engine, cfg, rpc)

    try:
        settings, cfg, engine = _setup(rpc_url)
        report = asyncio.run(go(settings, cfg, engine))
    except AppError as exc:
        _fail(exc)

    def sig(value: str | None) -> str:
        if value is None:
            return "-"
        return value if wide else value[:16] + "…"

    finalized = "?" if report.finalized_slot is None else str(report.finalized_slot)
    table = Table(
        "address", "role", "cursor", "slot", "head", "head slot", "lag", "rows", "last error",
        title=f"finalized slot {finalized} at {settings.rpc_url}",
    )  # fmt: skip
    for r in report.addresses:
        if r.lag is None:
            lag = "?"
        elif r.lag == 0 and r.caught_up is False:
            lag = "0 (same slot)"  # the cursor stopped inside the head's slot (between two chunks)
        else:
            lag = str(r.lag)
        table.add_row(
            r.address,
            r.role,
            sig(r.signature),
            str(r.slot),
            "?" if r.lag is None else sig(r.head_signature),
            "?" if r.lag is None else ("-" if r.head_slot is None else str(r.head_slot)),
            lag,
            str(r.rows),
            r.last_error or "",
        )
    if wide:  # never shorten a column: lines may be longer than the terminal
        Console(width=max(console.width, 400)).print(table)
    else:
        console.print(table)


@app.command("reconcile")
def reconcile(
    rpc_url: str = typer.Option(None, help="JSON-RPC URL (default IOG_RPC_URL)"),
    repair: bool = typer.Option(False, help="Rebuild projections from events and re-run the finalized backfill"),
) -> None:
    """Compare token-account sums and projections with the chain; report (exit 1) or --repair differences."""
    from backend.errors import AppError
    from indexer.reconcile import reconcile as do_reconcile

    try:
        settings, cfg, engine = _setup(rpc_url)
        rpc, indexer = _build(settings, cfg, engine)
        report = asyncio.run(do_reconcile(engine, cfg, indexer, repair=repair))
    except AppError as exc:
        _fail(exc)
    table = Table("check", "database", "chain", "ok")
    for item in report.items:
        table.add_row(item.name, str(item.db), str(item.chain), "[green]yes[/green]" if item.ok else "[red]NO[/red]")
    console.print(table)
    if not report.ok:
        raise typer.Exit(1)
