"""``iog rewards`` (placeholder until the rewards engine lands)."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)
