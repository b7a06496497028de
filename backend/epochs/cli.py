"""``iog epochs`` (list, show, one close pass), ``iog rewards params show|set``, ``iog rewards verify`` and
``iog wallet claim`` (the last three are attached to their groups in backend/cli.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
params_app = typer.Typer(no_args_is_help=True, add_completion=False, help="Versioned reward parameters.")
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def _session() -> Iterator[Session]:
    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            yield s
    finally:
        engine.dispose()


# --- iog epochs ------------------------------------------------------------------------------------------


@app.command("list")
def list_cmd(limit: int = typer.Option(20, min=1, max=500)) -> None:
    """Epochs, newest first: state, root, payouts, post."""
    from backend.epochs import service

    with _session() as s:
        _total, rows = service.list_epochs(s, limit, 0)
        table = Table("epoch", "state", "nodes", "eligible", "payouts", "root", "signature", "error")
        for r in rows:
            cells = (r.nodes, r.eligible_nodes, r.payouts_total)
            table.add_row(
                str(r.epoch), r.state, *("" if c is None else str(c) for c in cells),
                (r.merkle_root or "")[:16], (r.post_signature or "")[:16], (r.error or "")[:40],
            )  # fmt: skip
    console.print(table)


@app.command("close")
def close_cmd(
    now: int = typer.Option(None, help="Unix time to act at (default: now)"),
    no_post: bool = typer.Option(False, "--no-post", help="Close and store only; do not post to the chain"),
) -> None:
    """One pass of the epoch runner: close frozen epochs, post the newest root, mark finalized ones.

    Refused while a scheduler is the leader (it runs the same pass).
    """
    import time

    from backend.config import get_settings
    from backend.db import make_engine, make_sessionmaker
    from backend.epochs.runner import make_runner
    from backend.scheduler.leader import leader_lock

    settings = get_settings()
    lock = leader_lock(settings)
    if not lock.acquire():
        raise _fail("a scheduler is running (it holds the leader lock) and closes epochs itself")
    try:
        runner = make_runner(settings, make_sessionmaker(make_engine(settings.resolved_database_url)), not no_post)
        report = runner.tick(int(time.time()) if now is None else now)
    except AppError as exc:
        raise _fail(exc.message, 1) from None
    finally:
        lock.release()
    console.print_json(json.dumps({"closed": report.closed, "posted": report.posted, "finalized": report.finalized}))


# --- iog rewards params ----------------------------------------------------------------------------------


def _coerce(key: str, value: str) -> tuple[list[str], Any]:
    path = key.split(".")
    if path[0] == "gpu_multipliers_bps" and len(path) == 2:
        return path, int(value)
    if len(path) != 1:
        raise ValueError(f"unknown parameter {key!r}")
    if path[0] == "min_stake_per_gpu":
        return path, value
    if path[0] in ("community_bps", "compute_share_bps", "min_uptime_bps", "min_continuous_uptime_seconds"):
        return path, int(value)
    raise ValueError(f"unknown parameter {key!r}")


@params_app.command("show")
def params_show(version: int = typer.Option(None, help="A stored version (default: the one in force)")) -> None:
    """Print a parameter set as JSON (amounts in base units; emission comes from the schedule)."""
    from backend.config import get_settings
    from backend.epochs import params

    settings = get_settings()
    try:
        with _session() as s:
            v, doc = (version, params.get(s, settings, version)) if version is not None else params.current(s, settings)
    except AppError as exc:
        raise _fail(exc.message) from None
    typer.echo(json.dumps({"version": v, "params": doc}, indent=2, sort_keys=True))


@params_app.command("set")
def params_set(
    file: Path = typer.Option(None, help="A whole parameter set (JSON) to store as the next version"),
    set_: list[str] = typer.Option(
        None, "--set", help="KEY=VALUE over the set in force (repeatable), e.g. min_uptime_bps=8000 or "
        "gpu_multipliers_bps.H100=25000"
    ),  # fmt: skip
    note: str = typer.Option("", help="Why (kept with the version)"),
) -> None:
    """Store a new version of the reward parameters (validated like an epoch input); prints the new version.

    The runner uses the version in force when it closes an epoch and records it on the epoch.
    """
    import time

    from backend.config import get_settings
    from backend.epochs import params

    settings = get_settings()
    try:
        with _session() as s:
            if file is not None:
                doc = json.loads(file.read_text())
            else:
                doc = params.current(s, settings)[1]
            for item in set_ or []:
                key, eq, value = item.partition("=")
                if not eq:
                    raise ValueError(f"--set {item!r}: expected KEY=VALUE")
                path, coerced = _coerce(key.strip(), value.strip())
                target = doc
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = coerced
            version = params.put(s, doc, int(time.time()), note)
    except (AppError, ValueError, OSError) as exc:
        raise _fail(getattr(exc, "message", str(exc))) from None
    typer.echo(json.dumps({"version": version}))


# --- iog rewards verify ----------------------------------------------------------------------------------


def verify_cmd(
    epoch: int = typer.Option(..., "--epoch", min=0, help="The epoch to recompute"),
    api: str = typer.Option(None, help="Base URL of the API (default IOG_API_URI)"),
    rpc_url: str = typer.Option(None, help="JSON-RPC URL for the posted root (default IOG_RPC_URL); 'none' skips"),
    program_id: str = typer.Option(None, help="Staking program id (default: settings, bootstrap file, localnet id)"),
) -> None:
    """Download an epoch's published input, recompute it, and compare with the published output and with the
    root posted on chain. Exit 0 on a match, 1 naming the first difference, 2 when it cannot be checked."""
    import httpx
    from solana.rpc.api import Client
    from solders.pubkey import Pubkey

    from backend.chain import bootfile, ids
    from backend.config import get_settings
    from backend.epochs.verify import verify_epoch

    settings = get_settings()
    pid = program_id or settings.program_id
    if pid is None and settings.resolved_bootstrap_file.exists():
        staking = bootfile.load(settings.resolved_bootstrap_file).staking
        pid = staking.program_id if staking else None
    rpc = None if rpc_url == "none" else Client(rpc_url or settings.rpc_url, timeout=30)
    try:
        with httpx.Client(base_url=(api or settings.api_uri).rstrip("/"), timeout=120) as http:
            verdict = verify_epoch(http, rpc, Pubkey.from_string(pid) if pid else ids.default_program_id(), epoch)
    except AppError as exc:
        raise _fail(exc.message) from None
    for note in verdict.notes:
        console.print(f"note: {note}", highlight=False)
    if verdict.difference:
        console.print(f"[red]MISMATCH[/red] epoch {epoch}: {verdict.difference}", highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]OK[/green] epoch {epoch}: recomputed output and root {verdict.root} match", highlight=False)


# --- iog wallet claim ------------------------------------------------------------------------------------


def claim_cmd(
    name: str = typer.Argument(..., help="Demo wallet name (bootstrap file) whose keypair signs"),
    api: str = typer.Option(None, help="Base URL of the API (default IOG_API_URI)"),
) -> None:
    """Claim a wallet's rewards: ask the API's `claim` transaction request, sign, send, confirm."""
    import base64

    import httpx
    from solana.rpc.api import Client
    from solana.rpc.commitment import Confirmed
    from solana.rpc.core import RPCException
    from solders.transaction import Transaction

    from backend.chain import bootfile, tx
    from backend.chain.keys import load_keypair
    from backend.config import get_settings

    settings = get_settings()
    try:
        wallet = bootfile.load(settings.resolved_bootstrap_file).wallet(name)
        if wallet is None:
            raise AppError(f"no demo wallet {name!r} in {settings.resolved_bootstrap_file}")
        kp = load_keypair(Path(wallet.keypair_path))
        base = (api or settings.api_uri).rstrip("/")
        rewards = httpx.get(f"{base}/wallets/{kp.pubkey()}/rewards", timeout=60).json()
        r = httpx.post(f"{base}/tx/claim", json={"account": str(kp.pubkey())}, timeout=60)
        if r.status_code != 200:
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            raise _fail(f"{body.get('error', r.status_code)}: {body.get('detail', r.text[:200])}", 1)
        msg = Transaction.from_bytes(base64.b64decode(r.json()["transaction"])).message
        signed = Transaction([kp], msg, msg.recent_blockhash)
        client = Client(settings.rpc_url, timeout=30)
        sig = client.send_raw_transaction(bytes(signed)).value
        tx.confirm(client, [sig], commitment=Confirmed)
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the API: {exc}") from None
    except RPCException as exc:
        raise _fail(f"the cluster refused the claim: {exc}", 1) from None
    except AppError as exc:
        raise _fail(exc.message) from None
    console.print(f"{r.json()['message']}: {sig}", highlight=False)
    console.print_json(json.dumps({"wallet": str(kp.pubkey()), "lifetime_total": rewards["lifetime_total"],
                                   "claimed_before": rewards["claimed"], "signature": str(sig)}))  # fmt: skip
