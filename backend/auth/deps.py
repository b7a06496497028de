"""Who is calling: FastAPI dependencies for routes that need a signed-in wallet or an API key with a role.

People send ``Authorization: Bearer iogs_...`` (a session token from Sign-In With Solana); services send
``Authorization: Bearer iogk_...`` (an API key). Every write route states which it accepts. A missing or wrong
credential is 401, a right one without the permission 403.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from backend.auth import service
from backend.deps import SessionDep
from backend.errors import Forbidden, Unauthorized

MISSING = "this route needs `Authorization: Bearer <token or API key>`"
_bearer = HTTPBearer(auto_error=False, description="A session token (iogs_...) or an API key (iogk_...)")


def clock(request: Request) -> int:
    """The server's unix time (``app.state.clock`` when a test sets one)."""
    fn = getattr(request.app.state, "clock", None)
    return int(fn() if fn is not None else time.time())


ClockDep = Annotated[int, Depends(clock)]


@dataclass(frozen=True)
class Principal:
    """The caller: a wallet signed in with SIWS, or a service holding an API key with a role."""

    kind: str  # "wallet" | "api_key"
    address: str | None = None
    role: str | None = None
    key_id: str | None = None
    token: str | None = None


def principal(
    session: SessionDep,
    now: ClockDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller; 401 ``Unauthorized`` (with a reason) when there is none."""
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized(MISSING, "missing_credentials")
    secret = creds.credentials
    if secret.startswith(service.KEY_PREFIX):
        key_id, role = service.api_key_role(session, secret)
        return Principal("api_key", role=role, key_id=key_id)
    if secret.startswith(service.TOKEN_PREFIX):
        return Principal("wallet", address=service.wallet_for_token(session, secret, now), token=secret)
    raise Unauthorized("not an iog session token or API key", "unknown_token")


PrincipalDep = Annotated[Principal, Depends(principal)]


def signed_in_wallet(who: PrincipalDep) -> str:
    """The signed-in wallet's address; 403 for an API key (this route acts for a person)."""
    if who.kind != "wallet" or who.address is None:
        raise Forbidden("this route acts for a signed-in wallet; API keys cannot use it")
    return who.address


WalletDep = Annotated[str, Depends(signed_in_wallet)]


def require_role(*roles: str):  # noqa: ANN201 (a dependency factory)
    """A dependency accepting only API keys with one of ``roles`` (403 for other keys and for wallets)."""

    def dep(who: PrincipalDep) -> Principal:
        if who.kind != "api_key" or who.role not in roles:
            raise Forbidden(f"this route needs an API key with role {' or '.join(roles)}")
        return who

    return dep


def needs_credentials(route: object) -> bool:
    """Whether a route's dependencies include :func:`principal` (any route behind WalletDep, PrincipalDep or
    require_role)."""
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        if dependant.call is principal:
            return True
        stack.extend(dependant.dependencies)
    return False


def has_bearer(request: Request) -> bool:
    """Whether the request carries ``Authorization: Bearer <something>``."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())
