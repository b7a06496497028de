"""Marketplace sorting and filtering in the browser, through GET /marketplace/nodes of the seeded network (alpha:
most stake, 5%; beta: 10%, offline part of epoch 0; gamma: least stake, 1%), against the orders the API gives for
the same parameters."""

from __future__ import annotations

import json
from typing import Any

from tests.backend.web.conftest import DemoNet, wait_ready


def _order(page: Any) -> list[str]:
    return page.locator("#nodes tbody tr[data-node]").evaluate_all("rows => rows.map(r => r.dataset.node)")


def _wait_order(page: Any, order: list[str]) -> None:
    page.wait_for_function(
        "want => JSON.stringify([...document.querySelectorAll('#nodes tbody tr[data-node]')]"
        ".map(r => r.dataset.node)) === want",
        arg=json.dumps(order, separators=(",", ":")),
    )


def _api(net: DemoNet, **params: Any) -> list[str]:
    return [n["node"] for n in net.get("/marketplace/nodes", params=params)["items"]]


def test_sort_and_filter_through_the_marketplace_api(demo_net: DemoNet, open_page: Any) -> None:
    by_score, by_stake, by_commission = (_api(demo_net, sort=s) for s in ("score", "stake", "commission"))
    assert by_score != by_stake != by_commission  # each step changes the order, or the test proves nothing

    page, probe = open_page(demo_net.url + "/")
    wait_ready(page)
    assert page.locator("#f-sort").input_value() == "score"
    assert _order(page) == by_score
    assert page.locator("th[aria-sort='descending'] button").get_attribute("data-sort") == "score"

    page.select_option("#f-sort", "stake")
    page.wait_for_selector("th[aria-sort='descending'] button[data-sort='stake']")
    _wait_order(page, by_stake)
    assert "sort=stake" in page.url
    page.click("th button[data-sort='commission']")  # a column header sorts too
    page.wait_for_selector("th[aria-sort='ascending'] button[data-sort='commission']")
    _wait_order(page, by_commission)
    assert "sort=commission" in page.url

    page.fill("#f-commission", "5")
    page.click("#filters button[type=submit]")
    keep = _api(demo_net, sort="commission", max_commission_bps=500)
    assert 0 < len(keep) < 3
    _wait_order(page, keep)

    # The state lives in the URL: a reload (or a shared link) shows the same list.
    page.reload()
    wait_ready(page)
    assert _order(page) == keep
    assert page.locator("#f-commission").input_value() == "5"

    # GPU model and uptime filters go to the API as they are.
    with page.expect_navigation():  # Reset is a link to "/": wait for the new document, not the old one's ready flag
        page.click("#filters a:has-text('Reset')")
    wait_ready(page)
    page.select_option("#f-gpu", "A100")
    _wait_order(page, [demo_net.nodes["alpha"]])
    assert "gpu_model=A100" in page.url
    page.select_option("#f-gpu", "")
    # The network's stats are as of the end of epoch 1 (virtual time): beta was offline 3 of those 10 minutes.
    uptime = {n["name"]: n["uptime_30d_bps"] for n in demo_net.get("/marketplace/nodes")["items"]}
    assert uptime == {"alpha": 10_000, "beta": 7_000, "gamma": 10_000}
    page.fill("#f-uptime", "80")
    page.click("#filters button[type=submit]")
    up = _api(demo_net, sort="score", min_uptime_bps=8000)
    assert sorted(up) == sorted([demo_net.nodes["alpha"], demo_net.nodes["gamma"]])
    assert "min_uptime=80" in page.url
    _wait_order(page, up)
    probe.assert_clean()


def test_the_score_shows_its_components_and_how_it_is_made(demo_net: DemoNet, open_page: Any) -> None:
    alpha = next(n for n in demo_net.get("/marketplace/nodes")["items"] if n["name"] == "alpha")
    page, probe = open_page(demo_net.url + "/")
    wait_ready(page)
    cell = page.locator(f"#nodes tr[data-node='{alpha['node']}'] td[data-label='Score']")
    cell.locator("summary").click()
    for c in alpha["score"]["components"]:
        text = cell.locator(f"[data-component='{c['name']}']").inner_text()
        assert f"rank {c['rank_bps'] / 100:g}%" in text and f"weight {c['weight_bps'] / 100:g}%" in text, text
    page.wait_for_selector("#score-doc")
    page.locator("#score-doc summary").click()
    assert "score = sum(rank x weight_bps)" in page.locator("#score-doc").inner_text()
    apy = page.locator(f"#nodes tr[data-node='{alpha['node']}'] td[data-label='Est. APY'] [title]").first
    assert "actual payouts of the last 7 days" in apy.get_attribute("title")
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
