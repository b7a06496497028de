"""Request and response bodies of the auth routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChallengeIn(BaseModel):
    address: str = Field(description="The wallet's base58 public key")


class ChallengeOut(BaseModel):
    message: str = Field(description="The exact text to sign (wallets render it for `solana:signIn`)")
    nonce: str
    issued_at: int = Field(description="Unix seconds")
    expires_at: int = Field(description="Unix seconds; the nonce is single use")


class VerifyIn(BaseModel):
    message: str = Field(max_length=8192, description="The signed message: its text, or the signed bytes encoded")
    signature: str = Field(max_length=200, description="The 64-byte ed25519 signature, base58 or base64")
    encoding: Literal["utf8", "base64", "base58"] = Field(
        "utf8",
        description="How `message` is given: the text itself, or the exact signed bytes (e.g. a Ledger off-chain "
        "message envelope) in base64 or base58",
    )


class VerifyOut(BaseModel):
    token: str = Field(description="Bearer token: `Authorization: Bearer <token>`")
    address: str
    expires_at: int


class AuthErrorOut(BaseModel):
    error: str
    detail: str
    reason: str = Field(
        description="malformed_message, wrong_domain, unknown_nonce, nonce_used, expired, bad_signature, "
        "address_mismatch (verify); missing_credentials, unknown_token, unknown_key, revoked, expired (tokens)"
    )


class MeOut(BaseModel):
    kind: Literal["wallet", "api_key"]
    address: str | None = None
    role: str | None = None
    key_id: str | None = None
