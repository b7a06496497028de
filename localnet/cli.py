"""``iog localnet up``: run the embedded Solana node (or a real solana-test-validator).

The node stands alone: its defaults come from :class:`NodeDefaults`, which the ``iog`` composition root
(backend/cli.py) fills from settings through ``ctx.obj`` (a zero-argument callable, so ``--help`` reads no
settings). ``iog localnet bootstrap`` is a chain client, not part of the node: it lives in backend/chain.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from localnet.constants import CORE_VERSION
from localnet.errors import LocalnetError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The local Solana cluster.")
console = Console()


@dataclass(frozen=True)
class NodeDefaults:
    """Option defaults of ``up`` (the composition root passes the configured ones)."""

    rpc_port: int = 8899
    ws_port: int = 8900
    slot_ms: int = 400
    finality_slots: int = 32


def _defaults(ctx: typer.Context) -> NodeDefaults:
    provider: Callable[[], NodeDefaults] | None = ctx.obj if callable(ctx.obj) else None
    return provider() if provider is not None else NodeDefaults()


class Engine(StrEnum):
    """Which node `up` runs."""

    embedded = "embedded"
    test_validator = "test-validator"


@app.command("up", context_settings={"allow_extra_args": True})
def up(
    ctx: typer.Context,
    rpc_port: int | None = typer.Option(None, help="JSON-RPC HTTP port (default IOG_LOCALNET_RPC_PORT, 8899)."),
    ws_port: int | None = typer.Option(None, help="PubSub websocket port (default IOG_LOCALNET_WS_PORT, 8900)."),
    slot_ms: int | None = typer.Option(None, help="Milliseconds per slot (default IOG_LOCALNET_SLOT_MS, 400)."),
    finality_slots: int | None = typer.Option(
        None, help="Slots until a transaction is finalized (default IOG_LOCALNET_FINALITY_SLOTS, 32)."
    ),
    ledger: Path | None = typer.Option(
        None,
        help="Directory of the persistent ledger; accounts and history survive restarts. "
        "Without it the ledger lives in memory.",
    ),
    reset: bool = typer.Option(False, help="Start from an empty ledger (deletes the one in --ledger)."),
    bpf_program: list[str] | None = typer.Option(
        None,
        help="Load a program at start, as PROGRAM_ID=PATH.so or 'PROGRAM_ID PATH.so' (repeatable). "
        "The solana-test-validator form `--bpf-program ID PATH` also works.",
    ),
    engine: Engine = typer.Option(
        Engine.embedded, help="embedded (LiteSVM) or test-validator (a real solana-test-validator on PATH)."
    ),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
) -> None:
    """Start a local Solana node and print its URLs; runs until Ctrl-C or SIGTERM."""
    d = _defaults(ctx)
    rpc_port = d.rpc_port if rpc_port is None else rpc_port
    ws_port = d.ws_port if ws_port is None else ws_port
    programs = _parse_programs(bpf_program or [], list(ctx.args))
    if engine is Engine.test_validator:
        from localnet.validator import run_test_validator, test_validator_command

        try:
            argv, warnings = test_validator_command(
                rpc_port, ws_port, ledger, reset, programs, slot_ms, finality_slots
            )
        except LocalnetError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            raise typer.Exit(1) from None
        for w in warnings:
            console.print(f"[yellow]warning:[/yellow] {w}")
        raise typer.Exit(run_test_validator(argv))
    from localnet.node import LocalnetNode

    try:
        node = LocalnetNode(
            rpc_port,
            ws_port,
            d.slot_ms if slot_ms is None else slot_ms,
            d.finality_slots if finality_slots is None else finality_slots,
            ledger,
            reset,
            programs,
            host,
        )
        node.start()
    except LocalnetError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    bank = node.bank
    assert bank is not None
    # plain prints, like solana-test-validator: scripts read these lines
    print(f"Ledger location: {ledger if ledger is not None else '(in memory)'}")
    print(f"Identity: {bank.identity.pubkey()}")
    print(f"Genesis Hash: {bank.genesis_hash}")
    print(f"Version: {CORE_VERSION} (embedded LiteSVM)")
    for pid, path in programs:
        print(f"Program: {pid} {path}")
    print(f"JSON RPC URL: {node.rpc_url}")
    print(f"WebSocket PubSub URL: {node.ws_url}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        with console.status("") as status:
            while not done.wait(0.5):
                status.update(
                    f"Processed Slot: {bank.slot} | Confirmed Slot: {bank.commitment_slot('confirmed')} "
                    f"| Finalized Slot: {bank.commitment_slot('finalized')} | "
                    f"Transactions: {len(bank.txs)}"
                )
    except KeyboardInterrupt:
        pass
    node.stop()
    console.print("localnet stopped")


def _parse_programs(values: list[str], extra: list[str]) -> list[tuple[str, Path]]:
    """``--bpf-program ID=PATH``, ``'ID PATH'`` or ``ID PATH`` (PATH then arrives as an extra argument)."""
    out = []
    for v in values:
        if "=" in v:
            pid, _, path = v.partition("=")
        elif " " in v.strip():
            pid, path = v.split(None, 1)
        elif extra:
            pid, path = v, extra.pop(0)
        else:
            console.print(f"[red]error:[/red] --bpf-program {v}: missing PATH.so")
            raise typer.Exit(2)
        out.append((pid, Path(path)))
    if extra:
        console.print(f"[red]error:[/red] unexpected arguments: {' '.join(extra)}")
        raise typer.Exit(2)
    return out
