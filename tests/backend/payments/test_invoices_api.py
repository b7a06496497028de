"""/invoices, /webhooks/secret and the invoice webhook log through the real app: who may do what, every bad
input a typed error that changes nothing, the status read live from indexed transfers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from solders.keypair import Keypair
from sqlalchemy import Engine, func, select

from backend.db import make_sessionmaker, session_scope
from backend.models.payments import Invoice
from indexer.decode import DecodedTx
from indexer.store import write_batch
from tests.backend.settlement.apiharness import Api, make_api


@pytest.fixture
def api(db_url: str, db_engine: Engine, tmp_path: Path) -> Api:
    return make_api(db_url, tmp_path)


def _count(engine: Engine) -> int:
    with session_scope(make_sessionmaker(engine)) as s:
        return int(s.execute(select(func.count()).select_from(Invoice)).scalar_one())


def _transfer(api: Api, reference: str, amount: int, status: str, sig: str, dest: str | None = None) -> DecodedTx:
    """What the indexer writes for a transfer into the IO treasury naming ``reference``."""
    tx = {"signature": sig, "slot": 10, "block_time": api.now, "err": None, "failed": False, "fee": 5000,
          "memo": None, "status": status}  # fmt: skip
    row = {"signature": sig, "ix_path": "1", "slot": 10, "block_time": api.now, "kind": "transferChecked",
           "mint": api.boot["mint"], "is_io": True, "amount": amount, "amount_raw": str(amount), "source": "src",
           "destination": dest or api.boot["treasury"], "source_owner": "payer", "destination_owner": None,
           "authority": "payer", "memo": None, "failed": False, "status": status}  # fmt: skip
    return DecodedTx(tx, [row], [{"reference": reference, "signature": sig, "ix_path": "1"}])


class TestCreate:
    def test_a_signed_in_buyer_invoices_themself(self, api: Api) -> None:
        buyer = Keypair()
        r = api.client.post(
            "/invoices",
            json={"amount": "1250000000", "currency": "IO", "description": "GPU time"},
            headers=api.sign_in(buyer),
        )
        assert r.status_code == 201, r.text
        b = r.json()
        owner, mint = api.boot["treasury_owner"], api.boot["mint"]
        assert (b["buyer"], b["recipient"], b["mint"], b["destination"], b["amount"], b["status"]) == (
            str(buyer.pubkey()), owner, mint, api.boot["treasury"], "1250000000", "open",
        )  # fmt: skip
        assert b["solana_pay_url"] == (
            f"solana:{owner}?amount=12.5&spl-token={mint}&reference={b['reference']}&label=iog"
            f"&message=GPU%20time&memo={b['id']}"
        )
        link = f"{api.client.app.state.settings.api_uri}/tx/pay-invoice?invoice={b['id']}"
        assert b["transaction_request_url"] == "solana:" + quote(link, safe="")
        assert b["expires_at"] == api.now + 900 and b["fee_bps"] == 0 and b["as_of_slot"] is None
        assert api.client.get(f"/invoices/{b['id']}").json()["status"] == "open"

    def test_an_orchestrator_invoices_a_buyer_in_usdc_with_the_fee(self, api: Api) -> None:
        _, key = api.key()
        buyer = str(Keypair().pubkey())
        r = api.client.post(
            "/invoices",
            json={
                "amount": "5000000",
                "currency": "USDC",
                "buyer": buyer,
                "callback_url": "https://x.test/hook",
                "expires_in": 120,
                "job": "job-9",
            },  # fmt: skip
            headers=key,
        )
        assert r.status_code == 201, r.text
        b = r.json()
        assert (b["buyer"], b["currency"], b["mint"], b["fee_bps"], b["job"]) == (
            buyer, "USDC", api.boot["settlement"]["usdc_mint"], 200, "job-9",
        )  # fmt: skip
        assert "amount=5&" in b["solana_pay_url"] and b["expires_at"] == api.now + 120

    @pytest.mark.parametrize(
        ("who", "body", "status", "error"),
        [
            ("none", {"amount": "1", "currency": "IO"}, 401, "Unauthorized"),
            ("admin", {"amount": "1", "currency": "IO", "buyer": "B"}, 403, "Forbidden"),
            ("orchestrator", {"amount": "1", "currency": "IO"}, 422, "InvalidInput"),
            ("orchestrator", {"amount": "1", "currency": "IO", "buyer": "not-a-key"}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "IO", "buyer": "OTHER"}, 403, "Forbidden"),
            ("wallet", {"amount": "1", "currency": "IO", "callback_url": "https://x.test"}, 422, "InvalidInput"),
            ("wallet", {"amount": "1.5", "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": "-1", "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": "0", "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": 100, "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": str(2**63), "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": "1" * 40, "currency": "IO"}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "BTC"}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "IO", "expires_in": 5}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "IO", "expires_in": 10**9}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "IO", "description": "x" * 201}, 422, "InvalidInput"),
            ("wallet", {"amount": "1", "currency": "IO", "surprise": 1}, 422, "InvalidInput"),
            (
                "orchestrator",
                {"amount": "1", "currency": "IO", "buyer": "B", "callback_url": "ftp://x"},
                422,
                "InvalidInput",
            ),  # fmt: skip
        ],
    )
    def test_refused_requests_change_nothing(
        self, api: Api, db_engine: Engine, who: str, body: dict[str, Any], status: int, error: str
    ) -> None:
        headers: dict[str, str] = {}
        if who == "wallet":
            headers = api.sign_in(Keypair())
        elif who in ("admin", "orchestrator"):
            headers = api.key(who)[1]
        body = {k: (str(Keypair().pubkey()) if v in ("B", "OTHER") else v) for k, v in body.items()}
        r = api.client.post("/invoices", json=body, headers=headers)
        assert (r.status_code, r.json()["error"]) == (status, error), r.text
        assert _count(db_engine) == 0

    def test_unknown_invoice_is_404(self, api: Api) -> None:
        assert api.client.get("/invoices/inv_nope").status_code == 404
        assert api.client.get("/invoices/" + "x" * 300).status_code == 404


class TestLiveStatus:
    def _invoice(self, api: Api, amount: int = 1_000) -> dict[str, Any]:
        r = api.client.post("/invoices", json={"amount": str(amount), "currency": "IO"}, headers=api.sign_in(Keypair()))
        return dict(r.json())

    def test_status_follows_the_indexed_transfers(self, api: Api, db_engine: Engine) -> None:
        inv = self._invoice(api)
        with db_engine.begin() as conn:
            write_batch(conn, [_transfer(api, inv["reference"], 1_000, "confirmed", "S1")])
        b = api.client.get(f"/invoices/{inv['id']}").json()
        assert (b["status"], b["pending"], b["paid"], b["transfers"][0]["status"]) == ("seen", "1000", "0", "pending")
        with db_engine.begin() as conn:
            write_batch(conn, [_transfer(api, inv["reference"], 1_000, "finalized", "S1")])
        b = api.client.get(f"/invoices/{inv['id']}").json()
        assert (b["status"], b["paid"], b["transfers"][0]["outcome"]) == ("paid", "1000", "credit")

    def test_expiry_is_by_the_clock(self, api: Api) -> None:
        inv = self._invoice(api)
        api.now += 901
        assert api.client.get(f"/invoices/{inv['id']}").json()["status"] == "expired"

    def test_a_transfer_naming_two_invoices_is_credited_to_the_oldest_only(self, api: Api, db_engine: Engine) -> None:
        first = self._invoice(api)
        api.now += 1
        second = self._invoice(api)
        tx = _transfer(api, first["reference"], 1_000, "finalized", "S2")
        tx.references.append({"reference": second["reference"], "signature": "S2", "ix_path": "1"})
        with db_engine.begin() as conn:
            write_batch(conn, [tx])
        assert api.client.get(f"/invoices/{first['id']}").json()["status"] == "paid"
        assert api.client.get(f"/invoices/{second['id']}").json()["status"] == "open"

    def test_listing_is_for_the_buyer_or_a_key(self, api: Api) -> None:
        kp = Keypair()
        me = api.sign_in(kp)
        api.client.post("/invoices", json={"amount": "5", "currency": "IO"}, headers=me)
        mine = api.client.get("/invoices", headers=me).json()
        assert [i["amount"] for i in mine["invoices"]] == ["5"] and mine["buyer"] == str(kp.pubkey())
        other = str(Keypair().pubkey())
        assert api.client.get(f"/invoices?buyer={other}", headers=me).status_code == 403
        _, key = api.key()
        assert api.client.get("/invoices", headers=key).status_code == 422
        assert len(api.client.get(f"/invoices?buyer={kp.pubkey()}", headers=key).json()["invoices"]) == 1
        assert api.client.get("/invoices").status_code == 401


class TestWebhookSecrets:
    def test_each_key_has_a_stable_secret_until_rotated(self, api: Api) -> None:
        _, a = api.key()
        _, b = api.key()
        s1 = api.client.get("/webhooks/secret", headers=a).json()["secret"]
        assert api.client.get("/webhooks/secret", headers=a).json()["secret"] == s1
        assert api.client.get("/webhooks/secret", headers=b).json()["secret"] != s1
        s2 = api.client.post("/webhooks/secret/rotate", headers=a).json()["secret"]
        assert s2 != s1 and s2.startswith("whsec_")
        assert api.client.get("/webhooks/secret", headers=api.sign_in(Keypair())).status_code == 403

    def test_the_log_is_for_the_creating_key(self, api: Api) -> None:
        _, a = api.key()
        _, b = api.key()
        body = {"amount": "1", "currency": "IO", "buyer": str(Keypair().pubkey()), "callback_url": "http://h.test/x"}
        inv = api.client.post("/invoices", json=body, headers=a).json()
        assert api.client.get(f"/invoices/{inv['id']}/webhooks", headers=a).json() == {
            "invoice": inv["id"], "events": [],
        }  # fmt: skip
        assert api.client.get(f"/invoices/{inv['id']}/webhooks", headers=b).status_code == 403
        assert api.client.get(f"/invoices/{inv['id']}/webhooks", headers=api.key("admin")[1]).status_code == 200
