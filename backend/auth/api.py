"""Routes: Sign-In With Solana (challenge, verify), logout, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from backend.auth import service
from backend.auth.deps import ClockDep, PrincipalDep
from backend.auth.schemas import AuthErrorOut, ChallengeIn, ChallengeOut, MeOut, VerifyIn, VerifyOut
from backend.deps import SessionDep, pubkey
from backend.errors import Forbidden

router = APIRouter(prefix="/auth", tags=["auth"])
_401: dict[int | str, dict[str, Any]] = {
    401: {"model": AuthErrorOut, "description": "Not signed in; `reason` says which check failed"}
}


@router.post("/challenge", response_model=ChallengeOut, summary="Get a sign-in message to sign (public)")
def challenge(body: ChallengeIn, request: Request, session: SessionDep, now: ClockDep) -> ChallengeOut:
    """A single-use Sign-In With Solana message for ``address``, valid 5 minutes by default.

    Domain and URI come from settings (`IOG_API_DOMAIN`, `IOG_API_URI`), never from the request.
    """
    c = service.issue_challenge(session, request.app.state.settings, pubkey(body.address, "address"), now)
    return ChallengeOut(message=c.message, nonce=c.nonce, issued_at=c.issued_at, expires_at=c.expires_at)


@router.post("/verify", response_model=VerifyOut, responses=_401, summary="Exchange a signed message for a token")
def verify(body: VerifyIn, request: Request, session: SessionDep, now: ClockDep) -> VerifyOut:
    """Check the signature over the issued message and return a bearer token (default lifetime 24 h)."""
    s = service.verify(session, request.app.state.settings, body.message, body.signature, now, body.encoding)
    return VerifyOut(token=s.token, address=s.address, expires_at=s.expires_at)


@router.post("/logout", status_code=204, responses=_401, summary="Revoke this session token (signed in)")
def logout(who: PrincipalDep, session: SessionDep, now: ClockDep) -> Response:
    """Revoke the bearer token of this request; it is refused from then on."""
    if who.token is None:
        raise Forbidden("logout revokes session tokens; revoke API keys with `iog apikey revoke`")
    service.logout(session, who.token, now)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, responses=_401, summary="Who the credential of this request is")
def me(who: PrincipalDep) -> MeOut:
    """The signed-in wallet, or the API key's id and role."""
    return MeOut(kind=who.kind, address=who.address, role=who.role, key_id=who.key_id)  # type: ignore[arg-type]
