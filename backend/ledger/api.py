"""Routes: /ledger/check (public: the books against the chain) and /ledger/balances (an owner's accounts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from backend.auth.deps import PrincipalDep
from backend.chain import treasury as treasury_mod
from backend.chain.history import JsonRpc
from backend.deps import SessionDep, pubkey
from backend.errors import Forbidden, InvalidInput
from backend.ledger import service
from backend.ledger.check import Report, check
from backend.ledger.runtime import evm_input
from backend.ledger.schemas import BalanceOut, BalancesOut, CheckOut, CurrencyCheckOut

router = APIRouter(tags=["ledger"])


def report_out(report: Report) -> CheckOut:
    """The JSON form of a check report."""
    return CheckOut(
        ok=report.ok,
        differences=report.differences,
        warnings=report.warnings,
        notes=report.notes,
        entries=report.entries,
        postings=report.postings,
        currencies=[
            CurrencyCheckOut(
                currency=c.currency,
                treasury_account=c.account,
                as_of_slot=c.as_of_slot,
                as_of_block=c.as_of_block,
                book_treasury=None if c.book_treasury is None else str(c.book_treasury),
                chain_treasury=None if c.chain_treasury is None else str(c.chain_treasury),
                unbooked_transfers=c.unbooked,
                treasury=str(c.treasury),
                liabilities=str(c.liabilities),
                income=str(c.income),
                equity=str(c.equity),
            )
            for c in report.currencies
        ],
    )


@router.get("/ledger/check", response_model=CheckOut, summary="The books against themselves and the chain")
def ledger_check(request: Request, session: SessionDep) -> CheckOut:
    """Every entry balances; the book treasury equals the treasury token account on chain at the indexer's
    finalized slot, per currency; treasury = liabilities + income + equity. ``ok`` false names each difference."""
    settings = request.app.state.settings
    with JsonRpc(settings.rpc_url) as rpc:
        return report_out(check(session, treasury_mod.load(settings), rpc, evm_input(session, settings)))


@router.get("/ledger/balances", response_model=BalancesOut, summary="An owner's ledger accounts")
def ledger_balances(
    session: SessionDep,
    who: PrincipalDep,
    owner: Annotated[str | None, Query(description="Wallet (default: the signed-in wallet)")] = None,
) -> BalancesOut:
    """``buyer:``, ``buyer_reserved:`` and ``provider:`` balances of a wallet (the wallet itself, or an API key)."""
    if who.kind == "wallet":
        if owner not in (None, who.address):
            raise Forbidden("a signed-in wallet reads its own balances only")
        owner = who.address
    elif owner is None:
        raise InvalidInput("owner: required with an API key")
    assert owner is not None
    owner = pubkey(owner, "owner")
    names = [service.buyer(owner), service.buyer_reserved(owner), service.provider(owner)]
    rows = service.balances(session, names=names)
    return BalancesOut(
        owner=owner,
        balances=[
            BalanceOut(account=b.account, currency=b.currency, kind=b.kind, balance=str(b.balance)) for b in rows
        ],
    )
