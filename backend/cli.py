"""The ``iog`` command line: the composition root. Each part owns its command group; this file wires them
together and is (with runner.py) the only code that joins localnet, indexer and backend."""

from __future__ import annotations

import typer

from backend.agent.cli import app as agent_app
from backend.auth.cli import app as apikey_app
from backend.chain.cli import bootstrap_cmd, set_params_cmd
from backend.dbcli import app as db_app
from backend.epochs.cli import app as epochs_app
from backend.epochs.cli import claim_cmd, params_app, verify_cmd
from backend.evm.cli import evm_app, evmnet_app
from backend.governance.cli import app as governance_app
from backend.ledger.cli import app as ledger_app
from backend.nodes.cli import app as nodes_app
from backend.payments.cli import app as webhooks_app
from backend.payments.cli import invoices_app
from backend.rewards.cli import app as rewards_app
from backend.scheduler.cli import app as scheduler_app
from backend.settlement.cli import app as settlement_app
from backend.wallet_cli import app as wallet_app
from indexer.cli import app as indexer_app
from localnet.cli import NodeDefaults
from localnet.cli import app as localnet_app

app = typer.Typer(
    name="iog",
    help="iog: staking and payment settlement backend of a decentralized GPU network on Solana.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _node_defaults() -> NodeDefaults:
    """The embedded node's option defaults, from settings (read only when `up` runs, never for --help)."""
    from backend.config import get_settings

    s = get_settings()
    return NodeDefaults(s.localnet_rpc_port, s.localnet_ws_port, s.localnet_slot_ms, s.localnet_finality_slots)


def _localnet_group(ctx: typer.Context) -> None:
    ctx.obj = _node_defaults


# The node (`up`) stands alone in localnet/; `bootstrap` is a chain client of backend/chain, filed under the
# same group because that is where its users look for it.
localnet_app.command("bootstrap")(bootstrap_cmd)
localnet_app.command("set-params")(set_params_cmd)
app.add_typer(
    localnet_app,
    name="localnet",
    callback=_localnet_group,
    help="Run the embedded Solana node and bootstrap a cluster.",
)
app.add_typer(db_app, name="db", help="Database schema: migrate and inspect.")
# The engine's command group stays pure (backend/rewards imports no database or chain); the commands that read
# the database (parameter sets) or the API and chain (verify) come from backend/epochs and are attached here.
rewards_app.add_typer(params_app, name="params")
rewards_app.command("verify")(verify_cmd)
wallet_app.command("claim")(claim_cmd)
app.add_typer(indexer_app, name="indexer", help="Follow Solana into SQL: payments, stake and delegation events.")
app.add_typer(rewards_app, name="rewards", help="Per-epoch rewards: compute payouts, emission, merkle proofs.")
app.add_typer(wallet_app, name="wallet", help="Demo wallets: balances, IO payments, lookups, sign-in (by hand).")
app.add_typer(agent_app, name="agent", help="The node agent on a GPU machine: key, registration signature, heartbeats.")
app.add_typer(apikey_app, name="apikey", help="API keys with roles for services (orchestrator, admin).")
app.add_typer(evmnet_app, name="evmnet", help="The local EVM node (anvil): start, bootstrap, demo payments.")
app.add_typer(evm_app, name="evm", help="The EVM rail: follow USDC payments (router and treasury), look up invoices.")
app.add_typer(epochs_app, name="epochs", help="Epochs: list them, run one close pass (the scheduler does it).")
app.add_typer(scheduler_app, name="scheduler", help="Scheduled jobs: one leader runs them, others stand by.")
app.add_typer(ledger_app, name="ledger", help="The double-entry ledger: check it against the chain, balances.")
app.add_typer(
    settlement_app, name="settlement", help="Settlement worker: payouts, burn, passes (book, meter, refunds)."
)
app.add_typer(invoices_app, name="invoices", help="Invoices (IO, USDC, USDC-EVM): create one for a buyer, watch it.")
app.add_typer(webhooks_app, name="webhooks", help="Webhook secrets of API keys (HMAC-SHA256 of invoice events).")
app.add_typer(nodes_app, name="nodes", help="Node registry and marketplace jobs (registry statuses, node_stats).")
app.add_typer(
    governance_app, name="governance", help="Grants DAO: proposals, signed ballots, verify a tally, pay grants."
)


@app.command("api")
def api(
    host: str = typer.Option(None, help="Bind address (default IOG_API_HOST, 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default IOG_API_PORT, 8000)"),
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from backend.app import create_app
    from backend.config import get_settings

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port)


@app.command("run")
def run() -> None:
    """Start the whole system on embedded defaults: localnet, bootstrap, database, indexer, API, scheduler and one
    simulated agent per demo node (Ctrl-C stops all)."""
    from backend.runner import run_all

    raise typer.Exit(run_all())


if __name__ == "__main__":
    app()
