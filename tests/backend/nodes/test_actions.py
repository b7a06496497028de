"""Transaction requests of operators and delegators on the embedded localnet, through the HTTP API: what each
builds, and every refusal named by the program error it would hit (checked against the program itself)."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.transaction import Transaction

from backend.chain import ids, tx
from backend.chain.tokens import io_account
from backend.nodes import rules
from tests.backend.nodes.conftest import IO, Net
from tests.fixtures.js import JsClients

MIN = 200 * IO  # min_stake_per_gpu of the bootstrap's defaults


def programs_of(b64: str) -> set[Any]:
    msg = Transaction.from_bytes(base64.b64decode(b64)).message
    return {msg.account_keys[ix.program_id_index] for ix in msg.instructions}


def the_program_says(net: Net, who: str, ix: Any) -> str:
    """Send ``ix`` straight to the cluster (no pre-check, no simulation by the API): the program's error name."""
    with pytest.raises(tx.StakingProgramError) as err:
        tx.send_and_confirm(net.client, net.wallets[who], [ix], commitment=Confirmed)
    return err.value.name


@pytest.fixture
def node(net: Net) -> dict[str, Any]:
    """alice's node (1 GPU, 5% commission) registered through the API with the two-signer flow; no stake yet."""
    key = Keypair()
    out = net.register("alice", key)
    return {"key": key, "node": out["record"]["node"]}


class TestStakeAndDelegate:
    def test_the_cap_and_the_operator_minimum(self, net: Net, node: dict[str, Any]) -> None:
        n = node["node"]
        body = net.refused("stake", "bob", "BelowMinimumStake", node=n, amount=str(10 * IO))
        assert "200 IO" in body["detail"]  # says what the operator must hold
        sc = net.sc
        mint = net.boot["mint"]
        from solders.pubkey import Pubkey

        vault = Pubkey.from_string(net.boot["staking"]["stake_vault"])
        bob_token = io_account(net.wallets["bob"].pubkey(), Pubkey.from_string(mint))
        raw = sc.stake(net.wallets["bob"].pubkey(), Pubkey.from_string(n), bob_token, vault, 10 * IO)
        assert the_program_says(net, "bob", raw) == "BelowMinimumStake"

        r = net.request("stake", "alice", node=n, amount=str(2 * MIN))
        assert r.status_code == 200, r.text
        assert programs_of(r.json()["transaction"]) == {net.sc.program_id, ids.COMPUTE_BUDGET_PROGRAM_ID}
        assert "your own stake" in r.json()["message"]
        before = net.io("alice")
        net.send(r.json()["transaction"], "alice")
        assert before - net.io("alice") == 2 * MIN

        # 50% cap: as much again as the operator's 400 IO can be delegated
        net.act("stake", "bob", node=n, amount=str(300 * IO))
        body = net.refused("stake", "carol", "DelegationCapExceeded", node=n, amount=str(100 * IO + 1))
        assert "room under the cap now: 10000000000" in body["detail"]
        carol_token = io_account(net.wallets["carol"].pubkey(), Pubkey.from_string(mint))
        raw = sc.stake(net.wallets["carol"].pubkey(), Pubkey.from_string(n), carol_token, vault, 100 * IO + 1)
        assert the_program_says(net, "carol", raw) == "DelegationCapExceeded"
        # exactly the room passes, and the node key is accepted for `node`
        net.act("stake", "carol", node=str(node["key"].pubkey()), amount=str(100 * IO))

    def test_amounts_and_balances(self, net: Net, node: dict[str, Any]) -> None:
        n = node["node"]
        net.refused("stake", "alice", "ZeroAmount", node=n, amount="0")
        net.refused("stake", "alice", "InsufficientFunds", node=n, amount=str(2_000_000 * IO))
        for bad in ("-1", "1.5", "1e9", str(2**64), "abc"):
            r = net.request("stake", "alice", node=n, amount=bad)
            assert r.status_code == 422 and r.json()["error"] == "InvalidInput", r.text
        assert net.request("stake", "alice", node=str(Keypair().pubkey()), amount="1").status_code == 404
        assert net.request("stake", "alice", node="not-a-key", amount="1").status_code == 422

    def test_simulation_names_the_error_when_a_pre_check_misses_it(
        self, net: Net, node: dict[str, Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(rules, "check_stake", lambda *a, **k: None)  # the API runs in this process
        net.refused("stake", "bob", "BelowMinimumStake", node=node["node"], amount=str(10 * IO))


class TestUnstakeAndWithdraw:
    def test_cooldown_nothing_pending_and_insufficient_stake(self, net: Net, node: dict[str, Any]) -> None:
        n = node["node"]
        net.act("stake", "alice", node=n, amount=str(2 * MIN))
        net.act("stake", "bob", node=n, amount=str(100 * IO))
        net.refused("request_unstake", "carol", "InsufficientStake", node=n, amount="1")
        net.refused("request_unstake", "bob", "InsufficientStake", node=n, amount=str(100 * IO + 1))
        net.refused("request_unstake", "bob", "ZeroAmount", node=n, amount="0")
        # the operator cannot drop below the minimum while it has delegators
        net.refused("request_unstake", "alice", "BelowMinimumStake", node=n, amount=str(201 * IO))
        assert the_program_says(
            net, "alice", net.sc.request_unstake(net.wallets["alice"].pubkey(), _pk(n), 201 * IO)
        ) == ("BelowMinimumStake")
        net.refused("withdraw", "bob", "NothingPending", node=n)
        r = net.request("request_unstake", "bob", node=n, amount=str(40 * IO))
        assert r.status_code == 200 and "cooldown" in r.json()["message"], r.text
        net.send(r.json()["transaction"], "bob")
        body = net.refused("withdraw", "bob", "CooldownNotElapsed", node=n)
        assert "cooldown ends at unix time" in body["detail"]
        assert the_program_says(net, "bob", _withdraw_ix(net, "bob", n)) == "CooldownNotElapsed"

    def test_withdraw_pays_after_the_cooldown(self, net: Net, node: dict[str, Any]) -> None:
        net.set_params(cooldown_seconds=1)
        n = node["node"]
        net.act("stake", "alice", node=n, amount=str(2 * MIN))
        net.act("request_unstake", "alice", node=n, amount=str(50 * IO))
        before = net.io("alice")
        for _ in range(100):  # the chain's clock passes the unlock time within a few slots
            r = net.request("withdraw", "alice", node=n)
            if r.status_code == 200:
                break
            assert r.json()["error"] == "CooldownNotElapsed", r.text
            time.sleep(0.2)
        assert r.status_code == 200 and "Withdraw 50 IO" in r.json()["message"], r.text
        net.send(r.json()["transaction"], "alice")
        assert net.io("alice") - before == 50 * IO


def _pk(s: str) -> Any:
    from solders.pubkey import Pubkey

    return Pubkey.from_string(s)


def _withdraw_ix(net: Net, who: str, node: str) -> Any:
    owner = net.wallets[who].pubkey()
    token = io_account(owner, _pk(net.boot["mint"]))
    return net.sc.withdraw(owner, _pk(node), token, _pk(net.boot["staking"]["stake_vault"]))


class TestOperatorActions:
    def test_commission_and_deactivation(self, net: Net, node: dict[str, Any]) -> None:
        n = node["node"]
        net.refused("set_commission", "bob", "Unauthorized", node=n, commission_bps="100")
        assert the_program_says(net, "bob", net.sc.set_commission(net.wallets["bob"].pubkey(), _pk(n), 100)) == (
            "Unauthorized"
        )
        r = net.request("set_commission", "alice", node=n, commission_bps="800")
        assert r.status_code == 200 and "effective after" in r.json()["message"], r.text
        net.send(r.json()["transaction"], "alice")
        net.refused("set_commission", "alice", "CommissionChangePending", node=n, commission_bps="900")
        assert the_program_says(net, "alice", net.sc.set_commission(net.wallets["alice"].pubkey(), _pk(n), 900)) == (
            "CommissionChangePending"
        )
        assert "now" in net.request("set_commission", "alice", node=n, commission_bps="100").json()["message"]
        assert net.request("set_commission", "alice", node=n, commission_bps="10001").status_code == 422
        net.set_params(max_commission_bps=1_000)
        net.refused("set_commission", "alice", "CommissionTooHigh", node=n, commission_bps="1001")

        net.refused("deactivate_node", "bob", "Unauthorized", node=n)
        net.act("deactivate_node", "alice", node=n)
        net.refused("deactivate_node", "alice", "NodeNotActive", node=n)
        net.refused("stake", "alice", "NodeNotActive", node=n, amount=str(IO))

    def test_register_node_requests(self, net: Net, node: dict[str, Any]) -> None:
        alice = str(net.wallets["alice"].pubkey())
        net.refused("register_node", "alice", "DuplicateAccount", node_key=alice, gpu_units="1", commission_bps="0")
        net.refused(
            "register_node", "bob", "AccountAlreadyInitialized", node_key=str(node["key"].pubkey()), gpu_units="1",
            commission_bps="0",
        )  # fmt: skip
        assert net.request("register_node", "bob", node_key=str(Keypair().pubkey()), gpu_units="0",
                           commission_bps="0").status_code == 422  # fmt: skip
        key = Keypair()
        r = net.request("register_node", "bob", node_key=str(key.pubkey()), gpu_units="2", commission_bps="300")
        assert r.status_code == 200 and r.json()["signers"] == [str(net.wallets["bob"].pubkey()), str(key.pubkey())]

    def test_paused_program_refuses_everything(self, net: Net, node: dict[str, Any]) -> None:
        net.set_params(paused=True)
        net.refused("stake", "alice", "Paused", node=node["node"], amount=str(IO))
        net.refused("deactivate_node", "alice", "Paused", node=node["node"])
        net.refused("register_node", "bob", "Paused", node_key=str(Keypair().pubkey()), gpu_units="1",
                    commission_bps="0")  # fmt: skip


def test_every_action_is_a_solana_pay_request(net: Net) -> None:
    for action in ("register_node", "stake", "request_unstake", "withdraw", "set_commission", "deactivate_node"):
        meta = httpx.get(net.url(f"/tx/{action}")).json()
        assert meta["label"].startswith("iog: ") and meta["icon"].endswith("/tx-icon.svg")
    link = httpx.get(net.url("/tx/stake/link"), params={"node": str(Keypair().pubkey()), "amount": "5"}).json()
    assert link["url"].startswith("solana:")


def test_solana_pay_client_stakes_like_a_wallet(
    net: Net, node: dict[str, Any], js: JsClients, live_api_factory: Any
) -> None:
    """@solana/pay 0.2.6 fetchTransaction against /tx/stake over HTTPS, signed and sent by the JS client."""
    net.act("stake", "alice", node=node["node"], amount=str(2 * MIN))
    api = live_api_factory(tls=True, rpc_url=net.rpc, bootstrap_file=net.boot_file)
    link = httpx.get(
        f"{api.url}/tx/stake/link", params={"node": node["node"], "amount": str(50 * IO)}, verify=str(api.ca_file)
    ).json()["url"]
    before = net.io("bob")
    out = js.run(
        "txrequest.mjs",
        {"rpc": net.rpc, "ws": net.ws, "url": link, "secretKey": list(bytes(net.wallets["bob"]))},
        env={"NODE_EXTRA_CA_CERTS": str(api.ca_file)},
    )
    assert out["err"] is None and out["label"] == "iog: stake IO on a node"
    assert out["feePayer"] == str(net.wallets["bob"].pubkey())
    assert set(out["programs"]) == {str(net.sc.program_id), str(ids.COMPUTE_BUDGET_PROGRAM_ID)}
    assert before - net.io("bob") == 50 * IO
    pos = net.sc.decode_account(
        bytes(net.client.get_account_info(net.sc.position(_pk(node["node"]), net.wallets["bob"].pubkey())).value.data)
    )
    assert pos.shares == 50 * IO
