"""``iog indexer`` (placeholder until the indexer lands)."""

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)
