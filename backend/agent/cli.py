"""``iog agent``: the reference node agent: its device key, its signature on the node's registration, and the
heartbeat loop (``run``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from backend.errors import AppError

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console(stderr=True)


@app.command("keygen")
def keygen(
    out: Path = typer.Option(..., help="Where to write the node's keypair (Solana CLI JSON); never overwritten"),
) -> None:
    """Create the node's device key (its identity on chain and the key that signs its heartbeats)."""
    from backend.chain.keys import load_or_create_keypair

    if out.exists():
        console.print(f"[red]error:[/red] {out} exists; a node key is never overwritten")
        raise typer.Exit(2)
    kp = load_or_create_keypair(out)
    console.print(f"node key written to {out} (mode 0600)")
    print(kp.pubkey())


@app.command("sign-registration")
def sign_registration_cmd(
    key: Path = typer.Option(..., help="The node's keypair file (from `iog agent keygen`)"),
    tx: str = typer.Option(
        ...,
        help="The base64 register_node transaction the API built, or the API's JSON answer that carries it "
        "(`-` reads stdin)",
    ),
    program_id: str | None = typer.Option(None, help="Staking program id (default: from the bootstrap file)"),
) -> None:
    """Check a register_node transaction and add the node key's signature; prints the base64 transaction.

    The node's machine signs first; the operator's wallet then signs (it pays the fee) and sends.
    """
    from solders.pubkey import Pubkey

    from backend.agent.registration import sign_registration
    from backend.chain import bootfile, ids
    from backend.chain.keys import load_keypair
    from backend.chain.txbuild import unwrap_transaction
    from backend.config import get_settings

    try:
        text = unwrap_transaction(sys.stdin.read() if tx == "-" else tx)
        if program_id is None:
            path = get_settings().resolved_bootstrap_file
            staking = bootfile.load(path).staking if path.exists() else None
            pid = Pubkey.from_string(staking.program_id) if staking else ids.default_program_id()
        else:
            pid = Pubkey.from_string(program_id)
        print(sign_registration(text, load_keypair(key), pid))
    except (AppError, ValueError) as exc:
        console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(2) from None


@app.command("run")
def run_cmd(
    key: Path = typer.Option(..., help="The node's keypair file (from `iog agent keygen`)"),
    api: str = typer.Option(..., help="Base URL of the iog API, e.g. http://127.0.0.1:8000"),
    interval: float = typer.Option(60.0, min=1.0, help="Seconds between heartbeats"),
    simulate: str | None = typer.Option(
        None, help="Report MODEL:UNITS (e.g. A100:8) instead of asking nvidia-smi (for machines without NVIDIA GPUs)"
    ),
) -> None:
    """Send signed heartbeats, answer verification challenges, report the GPUs; back off and retry on errors.

    The GPUs come from `nvidia-smi` when it is installed, else --simulate is required. Ctrl-C stops.
    """
    import logging
    import signal
    import threading

    import httpx

    from backend.agent.gpus import detect, parse_simulate
    from backend.agent.runner import Agent
    from backend.chain.keys import load_keypair

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        gpus = parse_simulate(simulate) if simulate else detect()
        if gpus is None:
            raise AppError("nvidia-smi is not installed: pass --simulate MODEL:UNITS on a machine without it")
        keypair = load_keypair(key)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from None
    model, units = gpus
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"agent for node {keypair.pubkey()}: {units} x {model}, every {interval:g} s to {api}")
    with httpx.Client(base_url=api.rstrip("/"), timeout=30) as http:
        Agent(keypair, http, model, units).run(interval, stop)
