"""Transaction requests (Solana Pay): built for the wallet, simulated, priced, refused with the program's error
name, and followed by the official @solana/pay client like a wallet would."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from backend.chain import ids
from backend.chain.deploy import bootstrap_step
from backend.chain.staking import StakingClient
from backend.chain.tokens import io_account, memo_instruction, transfer_checked_ix
from backend.txrequests.registry import ACTIONS, Action, Param, Plan, RequestContext, register
from tests.fixtures.js import JsClients
from tests.fixtures.localnet import run_bootstrap


def _pay_plan(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    boot = json.loads(Path(ctx.settings.resolved_bootstrap_file).read_text())
    mint, treasury = Pubkey.from_string(boot["mint"]), Pubkey.from_string(boot["treasury"])
    amount = int(params["amount"])
    ixs = [
        transfer_checked_ix(io_account(account, mint), mint, treasury, account, amount, boot["decimals"]),
        memo_instruction("test payment"),
    ]
    return Plan(ixs, f"Pay {amount} base units of IO")


def _stake_plan(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    boot = json.loads(Path(ctx.settings.resolved_bootstrap_file).read_text())
    sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
    node = Pubkey.from_string(params["node"])
    mint = Pubkey.from_string(boot["mint"])
    ix = sc.stake(
        account,
        node,
        io_account(account, mint),
        Pubkey.from_string(boot["staking"]["stake_vault"]),
        int(params["amount"]),
    )
    return Plan([ix], "Stake", programs=frozenset({sc.program_id}))


def _forbidden_plan(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    from solders.instruction import Instruction

    return Plan([Instruction(Keypair().pubkey(), b"", [])], "calls an unknown program")


@pytest.fixture
def actions() -> Iterator[None]:
    saved = dict(ACTIONS)
    register(Action("test-pay", "iog test payment", _pay_plan, (Param("amount", "base units"),)))
    register(Action("test-stake", "iog test stake", _stake_plan, (Param("node", "node"), Param("amount", "units"))))
    register(Action("test-forbidden", "bad builder", _forbidden_plan))
    yield
    ACTIONS.clear()
    ACTIONS.update(saved)


@pytest.fixture
def net(localnet: Any, staking_so: Path, tmp_path: Path, live_api_factory: Any, actions: None) -> dict[str, Any]:
    boot_file = tmp_path / "boot.json"
    boot = run_bootstrap(localnet.rpc_url, boot_file, tmp_path / "keys", extra_steps=[bootstrap_step])
    api = live_api_factory(rpc_url=localnet.rpc_url, bootstrap_file=boot_file)
    alice = Keypair.from_json(Path(boot["wallets"][0]["keypair_path"]).read_text())
    return {"boot": boot, "api": api, "alice": alice, "rpc": localnet.rpc_url, "ws": localnet.ws_url}


class TestProtocol:
    def test_get_gives_label_and_an_absolute_icon(self, net: dict[str, Any]) -> None:
        r = httpx.get(f"{net['api'].url}/tx/test-pay")
        assert r.json() == {"label": "iog test payment", "icon": f"{net['api'].url}/tx-icon.svg"}
        assert httpx.get(r.json()["icon"]).headers["content-type"].startswith("image/svg+xml")

    def test_post_builds_an_unsigned_transaction_for_the_wallet(self, net: dict[str, Any]) -> None:
        alice = net["alice"]
        r = httpx.post(f"{net['api'].url}/tx/test-pay?amount=1000", json={"account": str(alice.pubkey())})
        assert r.status_code == 200, r.text
        body = r.json()
        txn = Transaction.from_bytes(base64.b64decode(body["transaction"]))
        msg = txn.message
        assert msg.account_keys[0] == alice.pubkey() and body["signers"] == [str(alice.pubkey())]
        assert all(bytes(s) == bytes(64) for s in txn.signatures)
        programs = {msg.account_keys[ix.program_id_index] for ix in msg.instructions}
        assert programs <= {ids.TOKEN_PROGRAM_ID, ids.MEMO_PROGRAM_ID, ids.COMPUTE_BUDGET_PROGRAM_ID}
        assert body["compute_unit_limit"] > 0 and body["message"] == "Pay 1000 base units of IO"
        # the wallet signs and sends it as built
        signed = Transaction([alice], msg, msg.recent_blockhash)
        client = Client(net["rpc"])
        sig = client.send_raw_transaction(bytes(signed)).value
        client.confirm_transaction(sig, Confirmed)
        assert client.get_signature_statuses([sig]).value[0].err is None

    def test_zero_stake_on_a_real_node_names_zero_amount(self, net: dict[str, Any], tmp_path: Path) -> None:
        from backend.chain import tx

        boot, alice = net["boot"], net["alice"]
        sc = StakingClient(Pubkey.from_string(boot["staking"]["program_id"]))
        node_key = Keypair()
        client = Client(net["rpc"])
        tx.send_and_confirm(
            client,
            alice,
            [sc.register_node(alice.pubkey(), node_key.pubkey(), 1, 100)],
            [node_key],
            commitment=Confirmed,
        )
        node = sc.node(node_key.pubkey())
        r = httpx.post(f"{net['api'].url}/tx/test-stake?node={node}&amount=0", json={"account": str(alice.pubkey())})
        assert r.status_code == 409 and r.json()["error"] == "ZeroAmount", r.text

    def test_a_transfer_beyond_the_balance_is_a_409(self, net: dict[str, Any]) -> None:
        r = httpx.post(f"{net['api'].url}/tx/test-pay?amount={10**18}", json={"account": str(net["alice"].pubkey())})
        assert r.status_code == 409 and r.json()["error"] == "TransactionWouldFail", r.text

    def test_programs_outside_the_allowlist_are_never_built(self, net: dict[str, Any]) -> None:
        r = httpx.post(f"{net['api'].url}/tx/test-forbidden", json={"account": str(net["alice"].pubkey())})
        assert r.status_code == 500 and r.json()["error"] == "NotAllowed"

    @pytest.mark.parametrize(
        ("path", "body", "status"),
        [
            ("/tx/nope", {"account": "11111111111111111111111111111111"}, 404),
            ("/tx/test-pay", {"account": "11111111111111111111111111111111"}, 422),  # missing amount
            ("/tx/test-pay?amount=1&evil=1", {"account": "11111111111111111111111111111111"}, 422),
            ("/tx/test-pay?amount=1", {"account": "not-a-key"}, 422),
            ("/tx/test-pay?amount=1", {}, 422),
        ],
    )
    def test_bad_requests(self, net: dict[str, Any], path: str, body: dict, status: int) -> None:
        assert httpx.post(net["api"].url + path, json=body).status_code == status

    def test_link_and_qr(self, net: dict[str, Any]) -> None:
        r = httpx.get(f"{net['api'].url}/tx/test-pay/link?amount=1000").json()
        assert r["url"].startswith("solana:") and unquote(r["url"][7:]) == f"{net['api'].url}/tx/test-pay?amount=1000"
        svg = httpx.get(net["api"].url + r["qr_svg"])
        assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
        png = httpx.get(f"{net['api'].url}/tx/test-pay/link?amount=1000&format=png")
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_solana_pay_client_follows_the_request_like_a_wallet(
    net: dict[str, Any], js: JsClients, live_api_factory: Any, tmp_path: Path
) -> None:
    """Over HTTPS (Solana Pay links must be https), with the test certificate given to Node."""
    api = live_api_factory(tls=True, rpc_url=net["rpc"], bootstrap_file=tmp_path / "boot.json")
    link = httpx.get(f"{api.url}/tx/test-pay/link?amount=2500", verify=str(api.ca_file)).json()["url"]
    mint = Pubkey.from_string(net["boot"]["mint"])
    client = Client(net["rpc"])
    treasury = Pubkey.from_string(net["boot"]["treasury"])
    before = int(client.get_token_account_balance(treasury, Confirmed).value.amount)
    out = js.run(
        "txrequest.mjs",
        {"rpc": net["rpc"], "ws": net["ws"], "url": link, "secretKey": list(bytes(net["alice"]))},
        env={"NODE_EXTRA_CA_CERTS": str(api.ca_file)},
    )
    assert out["err"] is None and out["label"] == "iog test payment"
    assert out["feePayer"] == str(net["alice"].pubkey())
    assert int(client.get_token_account_balance(treasury, Confirmed).value.amount) - before == 2500
    assert io_account(net["alice"].pubkey(), mint)  # the wallet paid from its own IO account
