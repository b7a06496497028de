"""``iog localnet``: run the embedded Solana node (or a real solana-test-validator); bootstrap a cluster."""

from __future__ import annotations

import json
import signal
import threading
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from backend.errors import AppError
from localnet.constants import CORE_VERSION
from localnet.errors import LocalnetError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The local Solana cluster.")
console = Console()


class Engine(StrEnum):
    """Which node `up` runs."""

    embedded = "embedded"
    test_validator = "test-validator"


def _settings():  # imported lazily: `--help` must not need a valid environment
    from backend.config import get_settings

    return get_settings()


@app.command("up", context_settings={"allow_extra_args": True})
def up(
    ctx: typer.Context,
    rpc_port: int | None = typer.Option(
        None, help="JSON-RPC HTTP port (default IOG_LOCALNET_RPC_PORT, 8899)."
    ),
    ws_port: int | None = typer.Option(
        None, help="PubSub websocket port (default IOG_LOCALNET_WS_PORT, 8900)."
    ),
    slot_ms: int | None = typer.Option(
        None, help="Milliseconds per slot (default IOG_LOCALNET_SLOT_MS, 400)."
    ),
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
    s = _settings()
    rpc_port = s.localnet_rpc_port if rpc_port is None else rpc_port
    ws_port = s.localnet_ws_port if ws_port is None else ws_port
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
            s.localnet_slot_ms if slot_ms is None else slot_ms,
            s.localnet_finality_slots if finality_slots is None else finality_slots,
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


@app.command("bootstrap")
def bootstrap_cmd(
    rpc_url: str | None = typer.Option(None, help="JSON-RPC endpoint (default IOG_RPC_URL)."),
    out: Path | None = typer.Option(
        None, help="Where to write the addresses (default IOG_BOOTSTRAP_FILE, .iog/localnet.json)."
    ),
    keys_dir: Path | None = typer.Option(
        None, help="Where keypairs are created and reused (default IOG_DATA_DIR/keys)."
    ),
    decimals: int | None = typer.Option(None, help="IO mint decimals (default IOG_IO_DECIMALS, 8)."),
    wallet: list[str] | None = typer.Option(
        None, help="Demo wallet name (repeatable; default alice, bob, carol)."
    ),
    staking: bool = typer.Option(
        True,
        help="Also deploy the staking program through the upgradeable loader and initialize it "
        "(needs `make programs`); --no-staking skips it.",
    ),
    demo: bool = typer.Option(
        True,
        "--demo/--no-demo",
        help="Seed the demo network on chain: two GPU nodes registered and self-staked by the first two demo "
        "wallets (alice, bob) and a delegation by the third (carol). Only with --staking (ignored with "
        "--no-staking) and at least 3 wallets (skipped with a warning otherwise); node keys are kept in "
        "--keys-dir as node-<name>.json.",
    ),
) -> None:
    """Create the IO mint, treasury, emission reserve and funded demo wallets through RPC (idempotent).

    With --staking (the default) it also deploys programs/staking/target/iog_staking.so and initializes the
    program's config, vaults and distributor; every step is skipped when its result is already on chain.

    With --staking and --demo (both the default) it then seeds demo GPU nodes, their stake and a delegation.
    """
    from localnet.bootstrap import DEFAULT_WALLETS, EXTRA_STEPS, bootstrap

    steps = list(EXTRA_STEPS)
    if staking:
        from backend.chain.deploy import bootstrap_step

        steps.append(bootstrap_step)
        if demo:
            from backend.chain.demo import WALLETS_NEEDED, seed_demo_step

            if len(wallet or DEFAULT_WALLETS) >= WALLETS_NEEDED:
                steps.append(seed_demo_step)
            else:
                console.print(f"[yellow]warning:[/yellow] no demo seed: it needs {WALLETS_NEEDED} wallets")

    s = _settings()
    out_file = out or s.resolved_bootstrap_file
    try:
        with console.status("bootstrapping the cluster..."):
            result = bootstrap(
                rpc_url or s.rpc_url,
                out_file,
                keys_dir or s.data_dir / "keys",
                s.io_decimals if decimals is None else decimals,
                tuple(wallet) if wallet else DEFAULT_WALLETS,
                extra_steps=steps,
            )
    except AppError as exc:  # LocalnetError, or DeployError from the staking step
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    sent = result.pop("sent_transactions")
    console.print_json(
        json.dumps(
            {
                k: result[k]
                for k in ("mint", "decimals", "treasury", "emission_reserve", "staking", "demo")
                if k in result
            }
        )
    )
    console.print(f"{len(sent)} transaction(s) sent; addresses written to {out_file}")
