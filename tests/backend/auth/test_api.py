"""Sign-In With Solana, session tokens and API keys through the HTTP API (real app, real database)."""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import service, siws
from backend.config import Settings
from backend.errors import Unauthorized

T0 = 1_790_000_000


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The client, with the server's clock driven by ``api.now`` (so expiry is tested without sleeping)."""
    client.now = T0  # type: ignore[attr-defined]
    client.app.state.clock = lambda: client.now  # type: ignore[attr-defined]
    return client


def challenge(api: TestClient, kp: Keypair) -> dict[str, Any]:
    r = api.post("/auth/challenge", json={"address": str(kp.pubkey())})
    assert r.status_code == 200, r.text
    return r.json()


def sign_in(api: TestClient, kp: Keypair) -> str:
    c = challenge(api, kp)
    r = api.post(
        "/auth/verify", json={"message": c["message"], "signature": str(kp.sign_message(c["message"].encode()))}
    )
    assert r.status_code == 200, r.text
    return r.json()["token"]


def refused(r: Any, reason: str) -> None:
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["error"] == "Unauthorized" and body["reason"] == reason, body
    assert r.headers["www-authenticate"] == "Bearer"


class TestSignIn:
    def test_challenge_names_the_configured_domain_and_a_fresh_nonce(self, api: TestClient) -> None:
        kp = Keypair()
        c1, c2 = challenge(api, kp), challenge(api, kp)
        assert c1["nonce"] != c2["nonce"] and len(c1["nonce"]) >= 16 and c1["nonce"].isalnum()
        f = siws.parse(c1["message"])
        settings = Settings()
        assert (f.domain, f.uri, f.chain_id, f.address) == (
            settings.api_domain,
            settings.api_uri,
            "localnet",
            str(kp.pubkey()),
        )
        assert c1["expires_at"] - c1["issued_at"] == 300
        assert "\r" not in c1["message"]

    @pytest.mark.parametrize("cluster", ["devnet", "mainnet"])
    def test_chain_id_is_the_clusters(self, db_session: Session, cluster: str) -> None:
        settings = Settings(cluster=cluster, _env_file=None)  # type: ignore[call-arg]
        c = service.issue_challenge(db_session, settings, str(Keypair().pubkey()), T0)
        assert siws.parse(c.message).chain_id == cluster and f"Chain ID: {cluster}\n" in c.message

    def test_host_header_does_not_change_the_domain(self, api: TestClient) -> None:
        r = api.post("/auth/challenge", json={"address": str(Keypair().pubkey())}, headers={"Host": "evil.example"})
        assert siws.parse(r.json()["message"]).domain == Settings().api_domain

    def test_success_gives_a_token_that_signs_requests(self, api: TestClient) -> None:
        kp = Keypair()
        token = sign_in(api, kp)
        me = api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json() == {"kind": "wallet", "address": str(kp.pubkey()), "role": None, "key_id": None}

    @pytest.mark.parametrize("layout", siws.LAYOUTS)
    def test_both_layouts_are_accepted(self, api: TestClient, layout: str) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        f = siws.parse(c["message"])
        text = siws.render(siws.SignInFields(**{**f.__dict__, "statement": f.statement}), layout)
        r = api.post("/auth/verify", json={"message": text, "signature": str(kp.sign_message(text.encode()))})
        assert r.status_code == 200, r.text

    def test_ledger_envelope_is_accepted_as_bytes_and_as_text(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        env = siws.offchain_envelope(c["message"])
        sig = kp.sign_message(env)
        as_bytes = {"message": base64.b64encode(env).decode(), "encoding": "base64", "signature": str(sig)}
        assert api.post("/auth/verify", json=as_bytes).status_code == 200
        c = challenge(api, kp)  # a wallet that reports the text but signed the envelope (Ledger through a wallet)
        env = siws.offchain_envelope(c["message"])
        r = api.post("/auth/verify", json={"message": c["message"], "signature": str(kp.sign_message(env))})
        assert r.status_code == 200, r.text

    def test_signature_in_base64_is_accepted(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        sig = base64.b64encode(bytes(kp.sign_message(c["message"].encode()))).decode()
        assert api.post("/auth/verify", json={"message": c["message"], "signature": sig}).status_code == 200


class TestEveryFailureHasItsReason:
    def test_malformed_message(self, api: TestClient) -> None:
        kp = Keypair()
        refused(
            api.post("/auth/verify", json={"message": "hello", "signature": str(kp.sign_message(b"hello"))}),
            "malformed_message",
        )
        c = challenge(api, kp)
        altered = c["message"].replace("Sign in to iog", "Send all IO to")
        refused(
            api.post("/auth/verify", json={"message": altered, "signature": str(kp.sign_message(altered.encode()))}),
            "malformed_message",
        )
        refused(
            api.post("/auth/verify", json={"message": "%%%", "encoding": "base64", "signature": "x"}),
            "malformed_message",
        )

    def test_wrong_domain(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        text = c["message"].replace(Settings().api_domain, "phish.example", 1)
        refused(
            api.post("/auth/verify", json={"message": text, "signature": str(kp.sign_message(text.encode()))}),
            "wrong_domain",
        )

    def test_unknown_nonce(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        text = c["message"].replace(c["nonce"], "A" * 24)
        refused(
            api.post("/auth/verify", json={"message": text, "signature": str(kp.sign_message(text.encode()))}),
            "unknown_nonce",
        )

    def test_nonce_used_on_replay(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        body = {"message": c["message"], "signature": str(kp.sign_message(c["message"].encode()))}
        assert api.post("/auth/verify", json=body).status_code == 200
        refused(api.post("/auth/verify", json=body), "nonce_used")

    def test_expired(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        api.now = c["expires_at"]  # type: ignore[attr-defined]
        body = {"message": c["message"], "signature": str(kp.sign_message(c["message"].encode()))}
        refused(api.post("/auth/verify", json=body), "expired")

    def test_bad_signature(self, api: TestClient) -> None:
        kp = Keypair()
        c = challenge(api, kp)
        forged = str(Keypair().sign_message(c["message"].encode()))
        refused(api.post("/auth/verify", json={"message": c["message"], "signature": forged}), "bad_signature")
        other_bytes = str(kp.sign_message(b"something else"))
        refused(api.post("/auth/verify", json={"message": c["message"], "signature": other_bytes}), "bad_signature")
        refused(api.post("/auth/verify", json={"message": c["message"], "signature": "abc"}), "bad_signature")
        # a failed attempt does not burn the nonce: the owner can still sign in with it
        ok = {"message": c["message"], "signature": str(kp.sign_message(c["message"].encode()))}
        assert api.post("/auth/verify", json=ok).status_code == 200

    def test_address_mismatch(self, api: TestClient) -> None:
        victim, attacker = Keypair(), Keypair()
        c = challenge(api, victim)
        text = c["message"].replace(str(victim.pubkey()), str(attacker.pubkey()))
        body = {"message": text, "signature": str(attacker.sign_message(text.encode()))}
        refused(api.post("/auth/verify", json=body), "address_mismatch")

    def test_malformed_address_in_challenge_is_a_422(self, api: TestClient) -> None:
        r = api.post("/auth/challenge", json={"address": "not-a-key"})
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput"


class TestTokens:
    def test_logout_revokes_the_token(self, api: TestClient) -> None:
        token = sign_in(api, Keypair())
        auth = {"Authorization": f"Bearer {token}"}
        assert api.post("/auth/logout", headers=auth).status_code == 204
        refused(api.get("/auth/me", headers=auth), "revoked")

    def test_token_expires(self, api: TestClient) -> None:
        token = sign_in(api, Keypair())
        api.now = T0 + Settings().auth_token_seconds  # type: ignore[attr-defined]
        refused(api.get("/auth/me", headers={"Authorization": f"Bearer {token}"}), "expired")

    def test_missing_and_unknown_credentials(self, api: TestClient) -> None:
        refused(api.get("/auth/me"), "missing_credentials")
        refused(api.get("/auth/me", headers={"Authorization": "Bearer iogs_nope"}), "unknown_token")
        refused(api.get("/auth/me", headers={"Authorization": "Bearer something"}), "unknown_token")
        refused(api.get("/auth/me", headers={"Authorization": "Bearer iogk_nope"}), "unknown_key")

    def test_tokens_are_256_bit_random_and_distinct(self, api: TestClient) -> None:
        import base64 as b64

        tokens = {sign_in(api, Keypair()) for _ in range(5)}
        assert len(tokens) == 5
        for t in tokens:
            assert t.startswith(service.TOKEN_PREFIX)
            raw = b64.urlsafe_b64decode(t[len(service.TOKEN_PREFIX) :] + "=")
            assert len(raw) == 32

    def test_only_the_hash_is_stored(self, api: TestClient, session_factory: sessionmaker[Session]) -> None:
        from backend.models.auth import AuthSession

        token = sign_in(api, Keypair())
        with session_factory() as s:
            rows = s.query(AuthSession).all()
        assert [r.token_hash for r in rows] == [service.sha256_hex(token)]


class TestApiKeys:
    def test_role_is_checked(self, api: TestClient, session_factory: sessionmaker[Session]) -> None:
        from fastapi import Depends

        from backend.auth.deps import require_role

        with session_factory() as s:
            key = service.create_api_key(s, "orchestrator", "test", T0)
            admin = service.create_api_key(s, "admin", "ops", T0)
            s.commit()

        @api.app.get("/test-only/orchestrator")  # type: ignore[attr-defined]
        def _route(_who: Any = Depends(require_role("orchestrator"))) -> dict[str, str]:
            return {"ok": "yes"}

        assert api.get("/test-only/orchestrator", headers={"Authorization": f"Bearer {key.key}"}).status_code == 200
        assert api.get("/test-only/orchestrator", headers={"Authorization": f"Bearer {admin.key}"}).status_code == 403
        token = sign_in(api, Keypair())
        assert api.get("/test-only/orchestrator", headers={"Authorization": f"Bearer {token}"}).status_code == 403
        refused(api.get("/test-only/orchestrator"), "missing_credentials")
        me = api.get("/auth/me", headers={"Authorization": f"Bearer {key.key}"}).json()
        assert me == {"kind": "api_key", "address": None, "role": "orchestrator", "key_id": key.id}
        with session_factory() as s:
            assert service.revoke_api_key(s, key.id, T0)
            s.commit()
        refused(api.get("/auth/me", headers={"Authorization": f"Bearer {key.key}"}), "revoked")

    def test_unknown_role_is_refused(self, db_session: Session) -> None:
        with pytest.raises(Exception, match="role"):
            service.create_api_key(db_session, "root", "x", T0)


def test_two_concurrent_verifies_of_one_nonce_give_exactly_one_token(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests pass every check before either consumes the nonce; the conditional UPDATE lets one win."""
    settings = Settings()
    kp = Keypair()
    with session_factory() as s:
        c = service.issue_challenge(s, settings, str(kp.pubkey()), T0)
        s.commit()
    sig = str(kp.sign_message(c.message.encode()))
    both_checked = threading.Barrier(2, timeout=30)
    real_verify = siws.verify

    def verify_then_wait(address: str, message: bytes, signature: Any) -> bool:
        ok = real_verify(address, message, signature)
        both_checked.wait()  # neither has consumed the nonce yet
        return ok

    monkeypatch.setattr(siws, "verify", verify_then_wait)
    results: list[object] = []

    def attempt() -> None:
        with session_factory() as s:
            try:
                results.append(service.verify(s, settings, c.message, sig, T0 + 1))
                s.commit()
            except Unauthorized as exc:
                s.rollback()
                results.append(exc.reason)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    tokens = [r for r in results if isinstance(r, service.SignedIn)]
    assert len(tokens) == 1 and results.count("nonce_used") == 1, results
