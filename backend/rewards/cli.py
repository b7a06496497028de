"""``iog rewards``: compute an epoch's payouts, show the emission schedule, print a wallet's merkle proof.

Exit status: 0 on success, 2 for invalid input (the message names the field; no output is written), 1 when a
wallet has no lifetime total.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from backend.rewards.emission import LAST_EPOCH, emission, emitted_before, format_io
from backend.rewards.errors import RewardsInputError, WalletNotInTotals

app = typer.Typer(no_args_is_help=True, add_completion=False)
_err = Console(stderr=True)


def _invalid(exc: RewardsInputError) -> typer.Exit:
    _err.print(f"[bold red]invalid input[/] {exc.message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command("compute")
def compute_cmd(
    input_path: Path = typer.Option(
        ..., "--input", help="Epoch input file (JSON, schema iog.rewards.input/1).", dir_okay=False
    ),
    output_path: Path = typer.Option(
        ...,
        "--output",
        help="Where to write the payouts (JSON, schema iog.rewards.output/1). Written atomically and only "
        "when the input is valid; an existing file is left untouched on error.",
        dir_okay=False,
    ),
    quiet: bool = typer.Option(False, "--quiet", help="Print nothing on success."),
) -> None:
    """Compute one epoch: pools, node results with reasons, payouts, lifetime totals, merkle root."""
    from backend.rewards.io import compute_file

    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=_err,
            transient=True,
            disable=quiet,
        ) as progress:
            progress.add_task(f"computing {input_path.name}", total=None)
            result = compute_file(input_path, output_path)
    except RewardsInputError as exc:
        raise _invalid(exc) from None
    if not quiet:
        eligible = sum(1 for n in result.nodes if n.eligible)
        typer.echo(
            f"epoch {result.epoch}: {eligible}/{len(result.nodes)} nodes eligible, "
            f"{len(result.payout_wallets)} payouts, {len(result.wallets)} totals, "
            f"unallocated {result.pool.unallocated}, root {result.merkle_root.hex()} -> {output_path}"
        )


@app.command("emission")
def emission_cmd(
    epoch: int = typer.Option(
        ..., "--epoch", help=f"Hourly epoch number: 0 .. {LAST_EPOCH} emit, later epochs emit 0.", min=0
    ),
) -> None:
    """Print an epoch's emission (base units and IO) and the amounts emitted before and after it, as JSON."""
    amount = emission(epoch)
    before = emitted_before(epoch)
    typer.echo(
        json.dumps(
            {
                "epoch": epoch,
                "emission": str(amount),
                "emission_io": format_io(amount),
                "emitted_before": str(before),
                "emitted_through": str(before + amount),
            }
        )
    )


@app.command("proof")
def proof_cmd(
    payouts_path: Path = typer.Option(
        ..., "--payouts", help="A payouts file written by `iog rewards compute`.", dir_okay=False
    ),
    wallet: str = typer.Option(..., "--wallet", help="The wallet (base58 pubkey) to prove."),
) -> None:
    """Print a wallet's lifetime total and merkle proof (sibling hashes, leaf to root, hex) as JSON.

    The file's totals are checked against its merkle root first.
    """
    from backend.rewards.io import proof_from_payouts

    try:
        doc = proof_from_payouts(payouts_path, wallet)
    except RewardsInputError as exc:
        raise _invalid(exc) from None
    except WalletNotInTotals as exc:
        _err.print(f"[bold red]not found[/] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(doc, indent=2))
