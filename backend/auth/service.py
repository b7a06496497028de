"""Sign-In With Solana and credentials: challenges, verification, session tokens, API keys.

The caller owns the transaction (services never commit). Time comes in as ``now`` (unix seconds), so tests
drive the clock instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
from dataclasses import dataclass

import based58
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.auth import siws
from backend.config import Settings
from backend.errors import InvalidInput, Unauthorized
from backend.models.auth import ApiKey, AuthChallenge, AuthSession

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 24  # >= 16 alphanumerics, ~143 bits
TOKEN_PREFIX = "iogs_"  # session tokens
KEY_PREFIX = "iogk_"  # API keys
ROLES = ("orchestrator", "admin")
#: Challenges are kept this long after expiry (so a late verify says "expired", not "unknown"), then purged.
KEEP_EXPIRED_SECONDS = 86_400


def sha256_hex(secret: str) -> str:
    """How secrets are stored: the hex sha256 of the string."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Challenge:
    """A challenge as the client gets it."""

    message: str
    nonce: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class SignedIn:
    """A new session token (shown once) and whom it signs in."""

    token: str
    address: str
    expires_at: int


def _fields(c: AuthChallenge) -> siws.SignInFields:
    return siws.SignInFields(
        domain=c.domain,
        address=c.address,
        statement=c.statement,
        uri=c.uri,
        version="1",
        chain_id=c.chain_id,
        nonce=c.nonce,
        issued_at=siws.iso(c.issued_at),
        expiration_time=siws.iso(c.expires_at),
    )


def issue_challenge(session: Session, settings: Settings, address: str, now: int) -> Challenge:
    """A fresh single-use challenge for ``address`` (validated by the caller), valid ``auth_nonce_seconds``."""
    session.execute(delete(AuthChallenge).where(AuthChallenge.expires_at < now - KEEP_EXPIRED_SECONDS))
    nonce = "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    row = AuthChallenge(
        nonce=nonce,
        address=address,
        domain=settings.api_domain,
        uri=settings.api_uri,
        chain_id=settings.cluster,
        statement=settings.auth_statement or None,
        issued_at=now,
        expires_at=now + settings.auth_nonce_seconds,
    )
    session.add(row)
    session.flush()
    return Challenge(siws.render(_fields(row)), nonce, row.issued_at, row.expires_at)


def _signed_text(message: str, encoding: str) -> tuple[str, bytes | None]:
    """(text, the exact signed bytes when the client sent them) from the ``message`` field."""
    if encoding == "utf8":
        return message, None
    try:
        raw = (
            base64.b64decode(message, validate=True)
            if encoding == "base64"
            else bytes(based58.b58decode(message.encode()))
        )
    except (binascii.Error, ValueError) as exc:
        raise Unauthorized(f"message: not valid {encoding} ({exc})", "malformed_message") from None
    if raw.startswith(siws.OFFCHAIN_DOMAIN):
        try:
            return siws.open_envelope(raw), raw
        except siws.MalformedMessage as exc:
            raise Unauthorized(str(exc), "malformed_message") from None
    try:
        return raw.decode(), raw
    except UnicodeDecodeError:
        raise Unauthorized("message: the signed bytes are not UTF-8 text", "malformed_message") from None


def verify(
    session: Session, settings: Settings, message: str, signature: str, now: int, encoding: str = "utf8"
) -> SignedIn:
    """Check a signed challenge and open a session; every failure is :class:`Unauthorized` with its reason.

    The server checks the bytes it issued: the message must be byte-equal to a rendering of a challenge it
    issued (either layout, optionally inside the off-chain envelope), the nonce unused and unexpired, the
    signature the challenge address's over exactly the signed bytes. The address comes from the challenge.
    The nonce is consumed with a conditional UPDATE, so two concurrent verifies give one token.
    """
    text, signed = _signed_text(message, encoding)
    try:
        fields = siws.parse(text)
    except siws.MalformedMessage as exc:
        raise Unauthorized(str(exc), "malformed_message") from None
    if fields.domain != settings.api_domain:
        raise Unauthorized(f"the message is for {fields.domain!r}, not {settings.api_domain!r}", "wrong_domain")
    if not fields.nonce:
        raise Unauthorized("the message has no Nonce", "malformed_message")
    challenge = session.get(AuthChallenge, fields.nonce)
    if challenge is None:
        raise Unauthorized("this nonce was not issued here (or has been purged)", "unknown_nonce")
    if fields.address != challenge.address:
        raise Unauthorized("the message names another address than the challenge", "address_mismatch")
    renderings = {siws.render(_fields(challenge), layout) for layout in siws.LAYOUTS}
    if text not in renderings:
        raise Unauthorized("the message differs from the challenge issued for this nonce", "malformed_message")
    if challenge.used_at is not None:
        raise Unauthorized("this nonce was already used", "nonce_used")
    if now >= challenge.expires_at:
        raise Unauthorized("the challenge expired: ask for a new one", "expired")
    try:
        sig = siws.decode_signature(signature)
    except ValueError as exc:
        raise Unauthorized(str(exc), "bad_signature") from None
    candidates = [signed] if signed is not None else [text.encode(), siws.offchain_envelope(text)]
    if not any(siws.verify(challenge.address, c, sig) for c in candidates):
        raise Unauthorized("the signature does not verify for the challenge address", "bad_signature")
    won = session.execute(
        update(AuthChallenge)
        .where(AuthChallenge.nonce == challenge.nonce, AuthChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
        raise Unauthorized("this nonce was already used", "nonce_used")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + settings.auth_token_seconds
    session.add(
        AuthSession(
            token_hash=sha256_hex(token),
            address=challenge.address,
            nonce=challenge.nonce,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    return SignedIn(token, challenge.address, expires)


def wallet_for_token(session: Session, token: str, now: int) -> str:
    """The address a live session token signs in; :class:`Unauthorized` otherwise."""
    row = session.get(AuthSession, sha256_hex(token))
    if row is None:
        raise Unauthorized("unknown token: sign in again", "unknown_token")
    if row.revoked_at is not None:
        raise Unauthorized("this token was revoked (logged out): sign in again", "revoked")
    if now >= row.expires_at:
        raise Unauthorized("this token expired: sign in again", "expired")
    return row.address


def logout(session: Session, token: str, now: int) -> None:
    """Revoke a session token (idempotent for a token already revoked)."""
    row = session.get(AuthSession, sha256_hex(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now


@dataclass(frozen=True)
class NewKey:
    """A created API key: the secret is shown once."""

    id: str
    key: str
    role: str
    name: str


def create_api_key(session: Session, role: str, name: str, now: int) -> NewKey:
    """A new API key with ``role``; only its sha256 is stored."""
    if role not in ROLES:
        raise InvalidInput(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if not 1 <= len(name) <= 128:
        raise InvalidInput("name: 1 to 128 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(8)
    session.add(ApiKey(id=key_id, key_hash=sha256_hex(key), role=role, name=name, created_at=now))
    session.flush()
    return NewKey(key_id, key, role, name)


def api_key_role(session: Session, key: str) -> tuple[str, str]:
    """(key id, role) of a live API key; :class:`Unauthorized` otherwise."""
    row = session.execute(select(ApiKey).where(ApiKey.key_hash == sha256_hex(key))).scalar_one_or_none()
    if row is None:
        raise Unauthorized("unknown API key", "unknown_key")
    if row.revoked_at is not None:
        raise Unauthorized("this API key was revoked", "revoked")
    return row.id, row.role


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key, newest first (hashes only)."""
    return list(session.execute(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)).scalars())


def revoke_api_key(session: Session, key_id: str, now: int) -> bool:
    """Revoke a key by id; False when there is no such key."""
    row = session.get(ApiKey, key_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = now
    return True
