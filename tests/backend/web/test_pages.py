"""Every page against the seeded demo network in headless chromium: renders what the API has without console
errors or requests off this machine, fits a 375 px screen, passes axe-core's WCAG 2 A/AA rules, works from the
keyboard; /docs and /redoc render offline. Screenshots of each page are saved as artifacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from backend.money import format_units
from tests.backend.web.conftest import DemoNet, run_axe, screenshot, wait_ready

PAGES = ["marketplace", "node", "wallet", "invoice", "epochs"]


def _url(net: DemoNet, page: str) -> str:
    return {
        "marketplace": "/",
        "node": f"/nodes/{net.nodes['beta']}",
        "wallet": f"/wallet?address={net.wallets['carol']}",
        "invoice": f"/pay/{net.invoice}",
        "epochs": "/epochs",
    }[page]


def _io(units: str | int) -> str:
    """How the page prints base units: grouped whole part, exact decimals (the Python reference)."""
    text = format_units(int(units), 8)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def _pct(bps: int) -> str:
    """How the page prints basis points as a percentage (exact, trailing zeros trimmed)."""
    text = format_units(bps, 2)
    return f"{text}%"


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check_content(net: DemoNet, page_name: str, page: Any) -> None:
    """What each page must show of the seeded network, read from the same API the page reads."""
    if page_name == "marketplace":
        api = net.get("/marketplace/nodes")["items"]
        assert [r.get_attribute("data-node") for r in page.locator("#nodes tbody tr").all()] == [n["node"] for n in api]
        for n in api:
            row = page.locator(f"#nodes tr[data-node='{n['node']}']").inner_text()
            for text in (n["name"], f"{n['gpu_units']} × {n['gpu_model']}", _io(n["total_stake"]),
                         _io(n["capacity_left"]), _pct(n["estimated_apy_bps"]), _pct(n["uptime_7d_bps"]),
                         _pct(n["commission_bps"]), f"{format_units(n['score']['value'], 2)} / 100"):  # fmt: skip
                assert text in row, (text, row)
            comps = page.locator(f"#nodes tr[data-node='{n['node']}'] [data-component]")
            assert comps.count() == len(n["score"]["components"]) == 4
        # every row draws its uptime per epoch
        page.wait_for_function("() => document.querySelectorAll('#nodes svg.spark').length === 3")
        assert page.locator("#nodes svg.spark polyline").count() == 3
    elif page_name == "node":
        n = net.get(f"/nodes/{net.nodes['beta']}")
        epochs = net.get(f"/nodes/{net.nodes['beta']}/epochs")["items"]
        stake = page.locator("#stake").inner_text()
        assert _io(n["total_stake"]) in stake and _io(n["operator_stake"]) in stake
        assert _pct(n["commission_bps"]) in page.locator("#commission").inner_text()
        assert "RTX4090" in page.locator("#registry").inner_text() and "beta" in page.locator("#registry").inner_text()
        charts = page.locator("#epochs svg.chart")
        assert charts.count() == 2 and charts.nth(0).locator("rect").count() == len(epochs) == 2
        zero = [e for e in epochs if e["reward"] == "0"]
        assert [e["epoch"] for e in zero] == [0] and zero[0]["reasons"] == ["uptime_below_minimum"]
        rows = page.locator("#epochs tbody tr")
        assert rows.count() == 1 and "uptime_below_minimum" in rows.nth(0).inner_text()
        assert f"{_utc(net.genesis)} · epoch 0" in rows.nth(0).inner_text()
        assert page.locator("#delegators tbody tr").count() == n["positions"] == 1
    elif page_name == "wallet":
        w = net.get(f"/wallets/{net.wallets['carol']}")
        r = net.get(f"/wallets/{net.wallets['carol']}/rewards")
        assert page.locator("#positions tbody tr").count() == 1
        assert _io(w["bonded"]) in page.locator("#positions").inner_text()
        assert "alpha" in page.locator("#positions").inner_text()
        assert _io(w["io_balance"]["amount"]) + " IO" in page.locator("#account").inner_text()
        assert int(r["claimable"]) > 0 and _io(r["claimable"]) + " IO" in page.locator("#claimable").inner_text()
        assert "read only" in page.locator("#account").inner_text()
        assert page.locator("#rewards button").count() == 0  # no action on someone else's wallet
    elif page_name == "invoice":
        text = page.locator("#invoice").inner_text()
        assert page.locator("#invoice-amount").inner_text() == "25 IO"
        assert "open" in text.lower() and "Waiting for your payment." in text
        qr = page.locator("img.qr")
        assert qr.count() == 1
        # The QR code is an image the server draws: wait for it to load (true) or fail to (false).
        loaded = qr.evaluate(
            """img => img.complete ? img.naturalWidth > 0 : new Promise(done => {
                 img.addEventListener('load', () => done(img.naturalWidth > 0));
                 img.addEventListener('error', () => done(false));
               })"""
        )
        assert loaded, "the Solana Pay QR code did not load"
        assert page.get_by_role("button", name="Pay with wallet").count() == 1  # the pay-invoice request
    elif page_name == "epochs":
        api = net.get("/epochs")["items"]
        rows = page.locator("#epochs tbody tr")
        assert rows.count() == len(api) == 3  # epochs 0 and 1 finalized, 2 open
        for i, e in enumerate(api):
            row = rows.nth(i).inner_text()
            assert row.startswith(str(e["epoch"])) and e["state"] in row
            assert f"{_utc(e['start_time'])} · epoch {e['epoch']}" in row
            if e["state"] == "finalized":
                assert _io(e["payouts_total"]) + " IO" in row
                link = rows.nth(i).get_by_role("link", name="output")
                assert link.get_attribute("href") == f"/epochs/{e['epoch']}/output"
                assert e["merkle_root"][:4] in row


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_without_console_errors(demo_net: DemoNet, open_page: Any, page_name: str) -> None:
    page, probe = open_page(demo_net.url + _url(demo_net, page_name))
    wait_ready(page)
    _check_content(demo_net, page_name, page)
    assert "Indexed to slot" in page.locator("#as-of").inner_text()
    screenshot(page, page_name)
    probe.assert_clean()


@pytest.mark.parametrize("page_name", PAGES)
def test_nothing_overflows_at_375px(demo_net: DemoNet, open_page: Any, page_name: str) -> None:
    page, probe = open_page(demo_net.url + _url(demo_net, page_name), width=375, height=812)
    wait_ready(page)
    overflow = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const out = [];
          // Visually hidden content (clipped to nothing, e.g. a stacked table's header) is not on screen.
          const clipped = (el) => {
            for (let e = el; e; e = e.parentElement) {
              const cs = getComputedStyle(e);
              if (cs.clip !== 'auto' || cs.clipPath !== 'none' || cs.display === 'none') return true;
            }
            return false;
          };
          for (const el of document.body.querySelectorAll('*')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || clipped(el)) continue;
            if (r.right > width + 0.5 || r.left < -0.5) out.push(`${el.tagName}.${el.className} ${r.left}..${r.right}`);
          }
          return {scroll: document.documentElement.scrollWidth, width, out};
        }"""
    )
    assert overflow["scroll"] <= overflow["width"] == 375, overflow
    assert not overflow["out"], overflow["out"]
    screenshot(page, f"{page_name}-375")
    probe.assert_clean()


@pytest.mark.parametrize("page_name", PAGES)
def test_accessibility_wcag_aa(demo_net: DemoNet, open_page: Any, page_name: str) -> None:
    page, probe = open_page(demo_net.url + _url(demo_net, page_name))
    wait_ready(page)
    assert run_axe(page) == []
    probe.assert_clean()


def test_keyboard_reaches_content_sorting_and_sign_in(demo_net: DemoNet, open_page: Any) -> None:
    page, probe = open_page(demo_net.url + "/")
    wait_ready(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Tab to the Commission column's sort button and press Enter: the order follows.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.sort") == "commission":
            break
    else:
        pytest.fail("the commission sort button is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("th[aria-sort] button[data-sort='commission']")
    assert "sort=commission" in page.url
    # The sign-in button opens the wallet dialog with the keyboard, and Escape closes it.
    page.focus("#sign-in")
    page.keyboard.press("Enter")
    page.wait_for_selector("#wallet-dialog[open]")
    assert page.evaluate("document.querySelector('#wallet-dialog').contains(document.activeElement)")
    assert "No Solana wallet found" in page.locator("#wallet-list").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector("#wallet-dialog:not([open])", state="attached")
    probe.assert_clean()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_api_docs_render_offline(demo_net: DemoNet, open_page: Any, path: str) -> None:
    page, probe = open_page(demo_net.url + path)
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "iog API" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector(".opblock-summary-path[data-path='/nodes/{node}/positions']")
    else:
        page.wait_for_selector("h1", timeout=30_000)
        page.wait_for_selector(
            "text=Nodes with stake, commission and delegated share", state="attached", timeout=30_000
        )
    screenshot(page, path.strip("/"), full_page=False)
    probe.assert_clean()
