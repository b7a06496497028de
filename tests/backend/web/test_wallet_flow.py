"""A wallet in the page (the tests' Wallet Standard wallet, fixed keypair) signs in and delegates through the real
API, localnet and indexer: connect, ``solana:signIn`` (or ``signMessage``), ``POST /auth/verify``, then the
``stake`` transaction request built by the API (``POST /tx/stake?node=&amount=``), signed in the page, sent to the
cluster, followed to finalized, and the position shown on the wallet page once the indexer has it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from solana.rpc.commitment import Finalized
from solders.signature import Signature

from backend.money import to_base_units
from tests.backend.web.conftest import DemoNet, rpc_client, screenshot, wait_ready
from tests.backend.web.wallet import TestWallet


def _sign_in(page: Any, wallet: TestWallet) -> str:
    """Click through the sign-in; returns the session token the page stored."""
    page.click("#sign-in")
    page.wait_for_selector("#wallet-dialog[open]")
    page.get_by_role("button", name=wallet.name).click()
    page.wait_for_selector("#sign-out", timeout=30_000)
    session = json.loads(page.evaluate("sessionStorage.getItem('iog.session')"))
    assert session["address"] == wallet.address and session["wallet"] == wallet.name
    return str(session["token"])


def _me(net: DemoNet, token: str) -> httpx.Response:
    return httpx.get(f"{net.url}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_sign_in_with_sign_in_feature_then_sign_out(demo_net: DemoNet, open_page: Any) -> None:
    wallet = TestWallet()
    page, probe = open_page(demo_net.url + "/", wallet=wallet)
    wait_ready(page)
    token = _sign_in(page, wallet)
    calls = page.evaluate("window.__iogTestWalletCalls.map(c => c[0])")
    assert calls[:2] == ["connect", "signIn"]
    # The wallet signed exactly the text the server issued (the server verified it byte for byte).
    (signed,) = wallet.signed_messages
    assert signed.decode().startswith(f"{demo_net.settings.api_domain} wants you to sign in with your Solana account:")
    assert _me(demo_net, token).json() == {"kind": "wallet", "address": wallet.address, "role": None, "key_id": None}
    assert wallet.address[:4] in page.locator("#session").inner_text()
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")
    assert _me(demo_net, token).status_code == 401
    probe.allow("401")  # the header's check of the revoked token, if it ran
    probe.assert_clean()


def test_sign_in_falls_back_to_sign_message(demo_net: DemoNet, open_page: Any) -> None:
    wallet = TestWallet(name="iog Test Wallet (no signIn)", sign_in=False)
    page, probe = open_page(demo_net.url + "/wallet", wallet=wallet)
    wait_ready(page)
    token = _sign_in(page, wallet)
    assert "signMessage" in page.evaluate("window.__iogTestWalletCalls.map(c => c[0])")
    assert "signIn" not in page.evaluate("window.__iogTestWalletCalls.map(c => c[0])")
    assert _me(demo_net, token).json()["address"] == wallet.address
    probe.assert_clean()


def _wait_finalized(net: DemoNet, sig: str, timeout: float = 60) -> None:
    client = rpc_client(net)
    deadline = time.monotonic() + timeout
    while True:
        st = client.get_signature_statuses([Signature.from_string(sig)], search_transaction_history=True).value[0]
        if st is not None and st.confirmation_status is not None and "Finalized" in str(st.confirmation_status):
            assert st.err is None
            return
        assert time.monotonic() < deadline, f"{sig} not finalized"
        time.sleep(0.2)


def test_delegate_from_the_marketplace_and_see_the_position(
    demo_net: DemoNet, open_page: Any
) -> None:
    wallet = TestWallet()
    beta = demo_net.nodes["beta"]
    before = {p["node"]: p for p in demo_net.get(f"/wallets/{wallet.address}/positions")["positions"]}
    page, probe = open_page(demo_net.url + "/", wallet=wallet)
    wait_ready(page)
    _sign_in(page, wallet)

    page.locator(f"#nodes tr[data-node='{beta}'] button[data-action='stake']").click()
    page.wait_for_selector("#tx-dialog[open]")
    page.fill("#tx-amount", "1.5")
    page.get_by_role("button", name="Continue").click()
    assert "= 150000000 base units." in page.locator("#tx-amount-hint").inner_text()
    page.wait_for_selector("#tx-dialog img.qr")  # the Solana Pay QR code of the same request, for a phone
    page.click("#tx-sign")
    page.wait_for_selector("#tx-finalized, #tx-error", timeout=90_000)
    assert page.locator("#tx-error").count() == 0, page.locator("#tx-steps").inner_text()
    sig = page.locator("#tx-signature").inner_text()
    _wait_finalized(demo_net, sig)
    assert page.evaluate("window.__iogTestWalletCalls.filter(c => c[0] === 'signTransaction').map(c => c[1])") == [
        "solana:localnet"
    ]
    screenshot(page, "delegate-dialog", full_page=False)

    # The chain has the stake from the test wallet's own signature (fee payer and staker).
    tx = rpc_client(demo_net).get_transaction(Signature.from_string(sig), commitment=Finalized).value
    keys = [str(k) for k in tx.transaction.transaction.message.account_keys]
    assert keys[0] == wallet.address and beta in keys

    # The wallet page shows the new position once the indexer has read it.
    page.goto(demo_net.url + "/wallet")
    want = int(before.get(beta, {}).get("bonded", "0")) + to_base_units("1.5", 8)
    deadline = time.monotonic() + 60
    while True:
        wait_ready(page)
        row = page.locator(f"#positions tbody tr:has(a[href='/nodes/{beta}'])")
        if row.count() and f"{want // 10**8:,}.{str(want % 10**8).rjust(8, '0').rstrip('0')}" in row.inner_text():
            break
        assert time.monotonic() < deadline, page.locator("#positions").inner_text()
        time.sleep(1)
        page.reload()
    assert page.locator("#account").inner_text().count("signed in") == 1
    operated = page.locator("#operator").inner_text()
    assert "gamma" in operated and "1%" in operated  # the test wallet operates gamma: its commission schedule
    assert page.locator("#operator button[data-action='set_commission']").count() == 1
    screenshot(page, "wallet-signed-in")
    probe.assert_clean()


def _sign_and_finalize(net: DemoNet, page: Any) -> str:
    page.click("#tx-sign")
    page.wait_for_selector("#tx-finalized, #tx-error", timeout=90_000)
    assert page.locator("#tx-error").count() == 0, page.locator("#tx-steps").inner_text()
    sig = str(page.locator("#tx-signature").inner_text())
    _wait_finalized(net, sig)
    page.keyboard.press("Escape")
    return sig


def _until(page: Any, check: Any, what: str, timeout: float = 60) -> None:
    """Reload the page until ``check()`` holds (the indexer reads a finalized transaction within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        wait_ready(page)
        if check():
            return
        assert time.monotonic() < deadline, what
        time.sleep(1)
        page.reload()


def test_unstake_shows_a_countdown_and_claim_empties_claimable(demo_net: DemoNet, open_page: Any) -> None:
    wallet = TestWallet()
    gamma = demo_net.nodes["gamma"]
    claimable = demo_net.get(f"/wallets/{wallet.address}/rewards")["claimable"]
    assert int(claimable) > 0  # gamma earned in epoch 1
    page, probe = open_page(demo_net.url + "/wallet", wallet=wallet)
    wait_ready(page)
    _sign_in(page, wallet)
    page.wait_for_selector("#positions tbody tr")

    # request_unstake of 1 IO from the test wallet's own node: an unbonding entry with its unlock countdown
    row = page.locator(f"#positions tbody tr:has(a[href='/nodes/{gamma}'])")
    row.locator("button[data-action='request_unstake']").click()
    page.fill("#tx-amount", "1")
    page.get_by_role("button", name="Continue").click()
    _sign_and_finalize(demo_net, page)
    _until(page, lambda: "unlocks in" in row.inner_text(), "the unbonding entry on the wallet page")
    entry = demo_net.get(f"/wallets/{wallet.address}")["positions"]
    (mine,) = [p for p in entry if p["node"] == gamma]
    assert [e["amount"] for e in mine["entries"]] == ["100000000"]
    unlock = row.locator("td[data-label='Unlock']").inner_text()
    assert "1 IO" in unlock and datetime.fromtimestamp(mine["entries"][0]["unlock_time"], UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    ) in unlock

    # claim: the wallet's whole claimable amount, then nothing left to claim
    assert f"{int(claimable) // 10**8:,}" in page.locator("#claimable").inner_text()
    page.locator("#rewards button[data-action='claim']").click()
    _sign_and_finalize(demo_net, page)
    _until(page, lambda: page.locator("#claimable").inner_text() == "0 IO", "claimable back to 0")
    assert demo_net.get(f"/wallets/{wallet.address}/rewards")["claimed"] == claimable
    assert page.locator("#rewards button[data-action='claim']").count() == 0
    screenshot(page, "wallet-after-claim")
    probe.assert_clean()


def test_a_refused_transaction_names_the_program_error(demo_net: DemoNet, open_page: Any) -> None:
    wallet = TestWallet()
    alpha = demo_net.nodes["alpha"]  # carol already took half of its delegation room
    page, probe = open_page(demo_net.url + f"/nodes/{alpha}", wallet=wallet)
    wait_ready(page)
    _sign_in(page, wallet)
    page.locator("#node-actions button[data-action='stake']").click()
    page.fill("#tx-amount", "900000")
    page.get_by_role("button", name="Continue").click()
    page.click("#tx-sign")
    page.wait_for_selector("#tx-error", timeout=60_000)
    assert "DelegationCapExceeded" in page.locator("#tx-error").inner_text()
    assert wallet.signed_transactions == []  # nothing reached the wallet
    probe.allow("409")  # the API's answer to the build request, logged by the browser
    probe.assert_clean()
