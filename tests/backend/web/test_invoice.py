"""The invoice page follows a real payment without a reload: test code pays the invoice's Solana Pay transfer
request on the localnet (memo, transferChecked naming the reference, as a wallet does), the indexer reads it, and
the page polling GET /invoices/{id} turns from open to paid in the same document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.pubkey import Pubkey

from backend.chain import tx
from backend.chain.keys import load_keypair
from backend.chain.tokens import io_account, memo_instruction, transfer_checked_ix
from backend.payments.solanapay import parse
from tests.backend.web.conftest import DemoNet, run_axe, screenshot, wait_ready

#: Each status the page showed, in order (the page shows each one for at least one 2 s poll).
RECORD_STATUSES = """
window.__statuses = [];
setInterval(() => {
  const s = document.body && document.body.dataset.invoiceStatus;
  if (s && window.__statuses[window.__statuses.length - 1] !== s) window.__statuses.push(s);
}, 50);
"""


def pay(net: DemoNet, url: str, payer_name: str) -> str:
    """Pay a Solana Pay transfer-request URL from a demo wallet (its keypair signs); the signature."""
    boot = net.boot
    mint = boot["mint"]
    req = parse(url, {mint: boot["decimals"]})
    assert req.spl_token == mint and req.amount is not None
    wallet = next(w for w in boot["wallets"] if w["name"] == payer_name)
    payer = load_keypair(Path(wallet["keypair_path"]))
    m = Pubkey.from_string(mint)
    ixs = [memo_instruction(req.memo)] if req.memo else []
    ixs.append(
        transfer_checked_ix(
            io_account(payer.pubkey(), m),
            m,
            io_account(Pubkey.from_string(req.recipient), m),
            payer.pubkey(),
            req.amount,
            boot["decimals"],
            [Pubkey.from_string(r) for r in req.references],
        )
    )
    return str(tx.send_and_confirm(Client(net.rpc_url), payer, ixs, commitment=Confirmed))


def test_invoice_turns_paid_without_reloading(demo_net: DemoNet, open_page: Any) -> None:
    invoice = demo_net.open_invoice(description="2 h of 1 × H100", amount="1250000000")
    page, probe = open_page(demo_net.url + f"/pay/{invoice['id']}")
    page.add_init_script(RECORD_STATUSES)
    page.reload()
    wait_ready(page)
    assert page.locator("#invoice-amount").inner_text() == "12.5 IO"
    page.wait_for_function("() => window.__statuses.length > 0")
    assert page.evaluate("window.__statuses") == ["open"]
    page.evaluate("window.__sameDocument = true")

    signature = pay(demo_net, invoice["solana_pay_url"], "carol")
    page.wait_for_selector("body[data-invoice-status='paid']", timeout=90_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload
    statuses = page.evaluate("window.__statuses")
    assert statuses[0] == "open" and statuses[-1] == "paid" and set(statuses) <= {"open", "seen", "paid"}, statuses
    assert "Paid. Thank you!" in page.locator("#invoice-status").inner_text()
    assert page.locator("#invoice-paid").inner_text() == "12.5 IO"
    assert page.locator("img.qr").count() == 0  # nothing left to pay
    api = demo_net.get(f"/invoices/{invoice['id']}")
    assert api["status"] == "paid" and [t["signature"] for t in api["transfers"]] == [signature]
    screenshot(page, "invoice-paid")
    assert run_axe(page) == []
    probe.assert_clean()
