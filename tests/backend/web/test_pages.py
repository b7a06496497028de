"""Every page against the seeded demo network in headless chromium: renders what the API has without console
errors or requests off this machine, fits a 375 px screen, passes axe-core's WCAG 2 A/AA rules, works from the
keyboard; /docs and /redoc render offline. Screenshots of each page are saved as artifacts."""

from __future__ import annotations

from typing import Any

import pytest

from backend.money import format_units
from tests.backend.web.conftest import DemoNet, run_axe, screenshot, wait_ready

PAGES = ["marketplace", "node", "wallet", "invoice", "epochs"]


def _url(net: DemoNet, page: str) -> str:
    return {
        "marketplace": "/",
        "node": f"/nodes/{net.nodes['alpha']}",
        "wallet": f"/wallet?address={net.wallets['carol']}",
        "invoice": f"/pay/{net.invoice}",
        "epochs": "/epochs",
    }[page]


def _io(units: str | int) -> str:
    """How the page prints base units: grouped whole part, exact decimals (the Python reference)."""
    text = format_units(int(units), 8)
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def _check_content(net: DemoNet, page_name: str, page: Any) -> None:
    """What each page must show from the API of main (and the clear state of what is not there yet)."""
    if page_name == "marketplace":
        rows = page.locator("#nodes tbody tr")
        assert rows.count() == 3
        api = {n["node"]: n for n in net.get("/nodes")["items"]}
        for i in range(3):
            row = rows.nth(i)
            node = row.get_attribute("data-node")
            assert _io(api[node]["total_stake"]) in row.inner_text()
        assert "not available yet" in page.locator("#market-notice").inner_text()
    elif page_name == "node":
        n = net.get(f"/nodes/{net.nodes['alpha']}")
        stake = page.locator("#stake").inner_text()
        assert _io(n["total_stake"]) in stake and _io(n["delegated_stake"]) in stake
        assert "5%" in page.locator("#commission").inner_text()
        delegators = page.locator("#delegators tbody tr")
        assert delegators.count() == n["positions"] == 2
        assert "No epochs yet." in page.locator("#epochs").inner_text()  # issue 11's route, before the first close
    elif page_name == "wallet":
        w = net.get(f"/wallets/{net.wallets['carol']}/positions")
        assert page.locator("#positions tbody tr").count() == 1
        assert _io(w["bonded"]) in page.locator("#positions").inner_text()
        assert "read only" in page.locator("#account").inner_text()
    elif page_name == "invoice":
        text = page.locator("#invoice").inner_text()
        assert "25" in text and "open" in text.lower(), text  # the test wallet's 25 IO invoice, not paid yet
    elif page_name == "epochs":
        assert "No epoch has closed yet." in page.locator("#epochs").inner_text()  # the demo network's first epoch


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
