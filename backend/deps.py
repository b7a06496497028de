"""Request dependencies shared by the domain routers: the DB session, pagination, key and time parameters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session, sessionmaker

from backend.db import session_scope
from backend.errors import InvalidInput
from backend.money import I64_MAX

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_OFFSET = 10**9


def get_session(request: Request) -> Iterator[Session]:
    """One session per request from the app's engine; the request owns the transaction."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with session_scope(factory) as session:
        yield session


# scope="function": the session commits (or fails) before the response is sent, so a client never sees success
# for a transaction that did not commit (the default "request" scope would commit after the response).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def pubkey(value: str, name: str) -> str:
    """Return ``value`` when it is a canonical base58 32-byte public key, else raise ``InvalidInput`` naming it."""
    if len(value) > 44:
        raise InvalidInput(f"{name}: not a base58 public key (too long)")
    try:
        key = Pubkey.from_string(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: not a base58 32-byte public key ({exc})") from exc
    if str(key) != value:
        raise InvalidInput(f"{name}: not a canonical base58 public key")
    return value


@dataclass(frozen=True)
class Page:
    """Pagination window: ``limit`` rows from ``offset``."""

    limit: int
    offset: int


async def page(  # async: no I/O (see now)
    limit: Annotated[int, Query(description=f"Rows per page, 1..{MAX_LIMIT}")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(description=f"Rows to skip, 0..{MAX_OFFSET}")] = 0,
) -> Page:
    """Pagination parameters; out-of-range values are ``InvalidInput`` naming the parameter."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(f"offset: must be between 0 and {MAX_OFFSET}, got {offset}")
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page)]


async def now(  # async: no I/O, so FastAPI runs it on the event loop instead of a thread hop
    at: Annotated[
        int | None, Query(description="Unix time to evaluate unlocks and commission at (default: now)")
    ] = None,
) -> int:
    """The unix time a request evaluates time-dependent state at (``at``, else the server clock)."""
    if at is None:
        return int(time.time())
    if not 0 <= at <= I64_MAX:
        raise InvalidInput(f"at: must be a unix time between 0 and {I64_MAX}, got {at}")
    return at


NowDep = Annotated[int, Depends(now)]
