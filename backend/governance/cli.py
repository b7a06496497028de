"""``iog governance``: propose, vote (a ballot signed with a local keypair), list, show, verify, cancel, and one
pass of the scheduler's job (``run``). Every command but ``run`` talks to the API over HTTP (``--api``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from backend.errors import AppError, InvalidInput

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()

KEYPAIR_HELP = "Keypair file of the wallet (or a demo wallet name from the bootstrap file)"
API_HELP = "Base URL of the API (default IOG_API_URI)"


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _keypair(name: str) -> Any:
    from backend.chain import bootfile
    from backend.chain.keys import load_keypair
    from backend.config import get_settings

    path = Path(name)
    if not path.exists():
        settings = get_settings()
        w = (
            bootfile.load(settings.resolved_bootstrap_file).wallet(name)
            if settings.resolved_bootstrap_file.exists()
            else None
        )
        if w is None:
            raise InvalidInput(f"{name!r} is neither a keypair file nor a demo wallet of the bootstrap file")
        path = Path(w.keypair_path)
    return load_keypair(path)


def _http(api: str | None) -> Any:
    import httpx

    from backend.config import get_settings

    return httpx.Client(base_url=(api or get_settings().api_uri).rstrip("/"), timeout=60)


def _check(resp: Any) -> dict[str, Any]:
    if resp.status_code >= 400:
        try:
            body = resp.json()
            detail = f"{body.get('error')}: {body.get('detail')}"
        except ValueError:
            detail = resp.text[:200]
        raise AppError(f"the API answered {resp.status_code}: {detail}")
    return dict(resp.json())


def _sign_in(http: Any, kp: Any) -> str:
    """Sign-In With Solana with ``kp``; the session token."""
    ch = _check(http.post("/auth/challenge", json={"address": str(kp.pubkey())}))
    sig = kp.sign_message(ch["message"].encode())
    return str(_check(http.post("/auth/verify", json={"message": ch["message"], "signature": str(sig)}))["token"])


def _run(fn: Any) -> None:
    import httpx

    try:
        fn()
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach the API: {exc}") from None
    except AppError as exc:
        raise _fail(exc.message, 1) from None


def _print(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, sort_keys=True))


@app.command("propose")
def propose(
    keypair: str = typer.Option(..., "--keypair", help=KEYPAIR_HELP),
    title: str = typer.Option(..., help="Title"),
    body: str = typer.Option("", help="Body text"),
    kind: str = typer.Option("grant", help="grant or signal"),
    recipient: str | None = typer.Option(None, help="Grant: the wallet paid"),
    amount: str | None = typer.Option(None, help="Grant: IO base units (a decimal string)"),
    option: list[str] | None = typer.Option(None, "--option", help="A choice (repeatable; default yes, no, abstain)"),
    api: str | None = typer.Option(None, help=API_HELP),
) -> None:
    """Create a proposal as the keypair's wallet (signs in first); prints the proposal."""

    def go() -> None:
        kp = _keypair(keypair)
        doc: dict[str, Any] = {"title": title, "body": body, "kind": kind}
        if kind == "grant":
            doc["grant"] = {"recipient": recipient, "amount": amount}
        if option:
            doc["options"] = list(option)
        with _http(api) as http:
            token = _sign_in(http, kp)
            _print(_check(http.post("/governance/proposals", json=doc, headers={"Authorization": f"Bearer {token}"})))

    _run(go)


@app.command("vote")
def vote(
    proposal: str = typer.Argument(..., help="Proposal id (gp_...)"),
    choice: str = typer.Argument(..., help="yes, no, abstain (or another option of the proposal)"),
    keypair: str = typer.Option(..., "--keypair", help=KEYPAIR_HELP),
    nonce: str | None = typer.Option(None, help="Ballot nonce (default: the current time in nanoseconds)"),
    api: str | None = typer.Option(None, help=API_HELP),
) -> None:
    """Sign a ballot with the keypair and send it (a later ballot replaces this one until the window closes)."""
    from backend.governance.tally import sign_ballot

    def go() -> None:
        ballot = sign_ballot(_keypair(keypair), proposal, choice, nonce or str(time.time_ns()))
        with _http(api) as http:
            _print(_check(http.post(f"/governance/proposals/{proposal}/ballots", json=ballot)))

    _run(go)


@app.command("list")
def list_cmd(
    state: str | None = typer.Option(None, help="Only this state (Voting, Succeeded, ...)"),
    api: str | None = typer.Option(None, help=API_HELP),
) -> None:
    """Proposals, newest first: id, state, kind, title, window end."""

    def go() -> None:
        with _http(api) as http:
            doc = _check(http.get("/governance/proposals", params={"state": state} if state else {}))
        for p in doc["proposals"]:
            grant = f" {p['grant']['amount']} -> {p['grant']['recipient']}" if p["grant"] else ""
            typer.echo(f"{p['id']}  {p['state']:<9}  {p['kind']:<6}  ends {p['voting_ends_at']}  {p['title']}{grant}")

    _run(go)


@app.command("show")
def show(
    proposal: str = typer.Argument(..., help="Proposal id"),
    ballots: bool = typer.Option(False, "--ballots", help="Also print every published ballot"),
    api: str | None = typer.Option(None, help=API_HELP),
) -> None:
    """A proposal as JSON (outcome, memo, payout)."""

    def go() -> None:
        with _http(api) as http:
            doc = _check(http.get(f"/governance/proposals/{proposal}"))
            if ballots:
                doc["ballots"] = _check(http.get(f"/governance/proposals/{proposal}/ballots"))["ballots"]
        _print(doc)

    _run(go)


@app.command("cancel")
def cancel(
    proposal: str = typer.Argument(..., help="Proposal id"),
    keypair: str = typer.Option(..., "--keypair", help=KEYPAIR_HELP),
    api: str | None = typer.Option(None, help=API_HELP),
) -> None:
    """Cancel a proposal in its voting window (its proposer only)."""

    def go() -> None:
        with _http(api) as http:
            token = _sign_in(http, _keypair(keypair))
            _print(
                _check(
                    http.post(f"/governance/proposals/{proposal}/cancel", headers={"Authorization": f"Bearer {token}"})
                )
            )

    _run(go)


@app.command("verify")
def verify(
    proposal: str = typer.Argument(..., help="Proposal id"),
    api: str | None = typer.Option(None, help=API_HELP),
    rpc_url: str | None = typer.Option(
        None, help="JSON-RPC URL to read the outcome memo (default IOG_RPC_URL); 'none' skips"
    ),
) -> None:
    """Recompute a closed vote from the published ballots and snapshot alone; compare with the published outcome,
    its hash and the memo on chain. Exit 0 on a match, 1 naming the first difference, 2 when it cannot be checked."""
    from solana.rpc.api import Client

    from backend.config import get_settings
    from backend.governance.verify import verify_proposal

    settings = get_settings()
    rpc = None if rpc_url == "none" else Client(rpc_url or settings.rpc_url, timeout=30)
    try:
        with _http(api) as http:
            verdict = verify_proposal(http, rpc, proposal)
    except AppError as exc:
        raise _fail(exc.message) from None
    for note in verdict.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if verdict.difference:
        console.print(f"[red]MISMATCH[/red] {proposal}: {verdict.difference}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"[green]OK[/green] {proposal}: {verdict.state}; recomputed outcome and hash {verdict.outcome_hash} match",
        highlight=False,
        soft_wrap=True,
    )


@app.command("run")
def run_cmd() -> None:
    """One pass of the scheduler's `governance` job: close ended votes, record memos, pay due grants."""
    from backend.config import get_settings
    from backend.governance.tasks import governance_pass

    try:
        result = governance_pass(get_settings())
    except AppError as exc:
        raise _fail(exc.message, 1) from None
    _print(result.as_dict())
