"""The README's screenshot of the web app: ``make web-screenshot`` (or ``.venv/bin/python -m
tests.backend.web.screenshot [out.png]``).

Starts the seeded network of the browser tests (:mod:`tests.backend.web.network`: localnet with the demo seed and
gamma, the real indexer and API, two epochs closed from real heartbeats), opens the marketplace in Debian's
chromium and writes ``backend/web/docs/marketplace.png`` (1280 px wide, the whole page).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.backend.web.conftest import CHROMIUM, CHROMIUM_ARGS, REPO
from tests.backend.web.network import demo_network

OUT = REPO / "backend" / "web" / "docs" / "marketplace.png"


def main(out: Path = OUT) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="iog-shot-") as tmp, demo_network(Path(tmp)) as net, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(net.url + "/")
        page.wait_for_selector("body[data-ready='true']", timeout=30_000)
        page.wait_for_function("() => document.querySelectorAll('#nodes svg.spark').length === 3")
        page.locator("#nodes tbody tr").first.locator("td[data-label='Score'] summary").click()
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
