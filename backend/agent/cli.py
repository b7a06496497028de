"""``iog agent``: the reference node agent: its device key and its signature on the node's registration."""

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
    tx: str = typer.Option(..., help="The base64 register_node transaction the API built (`-` reads stdin)"),
    program_id: str | None = typer.Option(None, help="Staking program id (default: from the bootstrap file)"),
) -> None:
    """Check a register_node transaction and add the node key's signature; prints the base64 transaction.

    The node's machine signs first; the operator's wallet then signs (it pays the fee) and sends.
    """
    from solders.pubkey import Pubkey

    from backend.agent.registration import sign_registration
    from backend.chain import bootfile, ids
    from backend.chain.keys import load_keypair
    from backend.config import get_settings

    try:
        text = sys.stdin.read().strip() if tx == "-" else tx.strip()
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
