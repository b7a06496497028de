"""Marketplace sorting and filtering in the browser, over the demo network's three nodes (alpha: most stake, 5%;
beta: 10%; gamma: least stake, 1%), against orders computed here from the API."""

from __future__ import annotations

from typing import Any

from tests.backend.web.conftest import DemoNet, wait_ready


def _order(page: Any) -> list[str]:
    return page.locator("#nodes tbody tr").evaluate_all("rows => rows.map(r => r.dataset.node)")


def _api(net: DemoNet) -> list[dict[str, Any]]:
    return net.get("/nodes")["items"]


def _worst(n: dict[str, Any]) -> int:
    """Commission counted by the page: a scheduled increase when higher than the one in force."""
    return max(n["commission_bps"], n["pending_commission_bps"] or 0)


def test_sort_by_stake_then_commission_and_filter(demo_net: DemoNet, open_page: Any) -> None:
    nodes = _api(demo_net)
    by_stake = [n["node"] for n in sorted(nodes, key=lambda n: (-int(n["total_stake"]), n["node"]))]
    by_commission = [n["node"] for n in sorted(nodes, key=lambda n: (_worst(n), -int(n["total_stake"]), n["node"]))]
    assert by_stake != by_commission  # the demo network makes the two orders differ, or this test proves nothing

    page, probe = open_page(demo_net.url + "/")
    wait_ready(page)
    assert page.locator("#f-sort").input_value() == "stake"
    assert _order(page) == by_stake
    assert page.locator("th[aria-sort='descending'] button").get_attribute("data-sort") == "stake"

    page.select_option("#f-sort", "commission")
    page.wait_for_selector("th[aria-sort] button[data-sort='commission']")
    assert _order(page) == by_commission
    assert "sort=commission" in page.url

    page.fill("#f-commission", "5")
    page.click("#filters button[type=submit]")
    keep = [n for n in by_commission if _worst(next(x for x in nodes if x["node"] == n)) <= 500]
    page.wait_for_function("n => document.querySelectorAll('#nodes tbody tr').length === n", arg=len(keep))
    assert _order(page) == keep and 0 < len(keep) < len(nodes)
    assert f"({len(nodes) - len(keep)} filtered out)" in page.locator("#market-status").inner_text()

    # The state lives in the URL: a reload (or a shared link) shows the same list.
    page.reload()
    wait_ready(page)
    assert _order(page) == keep
    assert page.locator("#f-commission").input_value() == "5"

    # Sorting by a column header, and what this server cannot sort by yet is offered disabled.
    page.click("th button[data-sort='stake']")
    page.wait_for_selector("th[aria-sort] button[data-sort='stake']")
    assert _order(page) == [n for n in by_stake if n in keep]
    disabled = page.locator("#f-sort option:disabled").evaluate_all("o => o.map(x => x.value)")
    assert set(disabled) == {"score", "estimated_apy", "capacity", "uptime"}
    assert page.locator("#f-gpu").is_disabled() and page.locator("#f-region").is_disabled()
    probe.assert_clean()


def test_a_bad_filter_value_is_named_and_changes_nothing(demo_net: DemoNet, open_page: Any) -> None:
    page, probe = open_page(demo_net.url + "/")
    wait_ready(page)
    before = _order(page)
    page.fill("#f-commission", "5.123")  # more decimals than basis points have
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#market-status.error")
    assert "Max. commission (%): at most 2 decimal places" in page.locator("#market-status").inner_text()
    assert page.locator("#f-commission").get_attribute("aria-invalid") == "true"
    assert _order(page) == before
    probe.assert_clean()
