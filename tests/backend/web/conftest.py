"""Browser-test fixtures: a seeded demo network served by the real API, and Debian's chromium driven by Playwright.

- ``demo_net`` (package scope): the seeded network of :mod:`tests.backend.web.network` (localnet with the demo
  seed and a third node ``gamma`` operated by the test wallet, the real indexer, the API with the web app, two
  epochs closed and posted from real heartbeats). Pages are read only through HTTP, as a person's browser would.
- ``browser`` (package scope): chromium from the ``chromium`` Debian package (``.ci/run`` installs it); the tests
  skip, saying so, where it is missing.
- ``open_page(...)``: a fresh context and page (optionally with the test wallet), recording console errors,
  uncaught exceptions and any request that leaves this machine (aborted); ``probe.assert_clean()`` checks them.
- Screenshots go to ``.artifacts/web/`` (ignored by git; ``IOG_TEST_ARTIFACTS`` overrides); the path is printed at
  the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from solana.rpc.api import Client

from tests.backend.web.network import DemoNet, demo_network
from tests.backend.web.wallet import TestWallet

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("IOG_TEST_ARTIFACTS", REPO / ".artifacts")) / "web"
AXE = REPO / "backend" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
_shots: list[Path] = []



@pytest.fixture(scope="package")
def demo_net(tmp_path_factory: pytest.TempPathFactory, staking_so: Path) -> Iterator[DemoNet]:
    """The seeded network of :mod:`tests.backend.web.network`: localnet, demo seed, indexer, API, two epochs."""
    with demo_network(tmp_path_factory.mktemp("webnet")) as net:
        yield net


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless chromium (Debian's package) through Playwright's Python API."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Probe:
    """What a page did that a test must see: console errors, uncaught exceptions, requests off this machine."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, fragment: str) -> None:
        """Accept console errors containing ``fragment`` (a test that provokes an error on purpose)."""
        self.allowed.append(fragment)

    def assert_clean(self) -> None:
        errors = [e for e in self.errors if not any(a in e for a in self.allowed)]
        assert not errors, f"console errors: {errors}"
        assert not self.external, f"requests that left this machine: {self.external}"


def _local(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("data", "blob", "about") or p.hostname in ("127.0.0.1", "localhost")


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Probe]]]:
    """``open_page(url, wallet=None, width=1280, height=900)`` -> (page, probe); contexts close at teardown."""
    contexts: list[Any] = []

    def make(url: str, wallet: TestWallet | None = None, width: int = 1280, height: int = 900) -> tuple[Any, Probe]:
        context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        contexts.append(context)
        probe = Probe()

        def route(r: Any) -> None:
            if _local(r.request.url):
                r.continue_()
            else:
                probe.external.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        if wallet is not None:
            wallet.install(context)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and probe.errors.append(f"{m.text} ({m.location})"))
        page.on("pageerror", lambda e: probe.errors.append(f"uncaught: {e}"))
        page.goto(url)
        return page, probe

    yield make
    for c in contexts:
        c.close()


def wait_ready(page: Any, timeout: float = 30_000) -> None:
    """Wait until the page's module finished its first load (``body[data-ready=true]``)."""
    page.wait_for_selector("body[data-ready='true']", timeout=timeout)


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save a screenshot under the artifacts folder; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    _shots.append(path)
    return path


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations on the page (axe from the pinned npm package)."""
    assert AXE.is_file(), f"{AXE} is missing: run `make web` (it installs axe-core)"
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


def rpc_client(net: DemoNet) -> Client:
    return Client(net.rpc_url)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _shots:
        terminalreporter.write_line(f"web app screenshots ({len(_shots)}): {ARTIFACTS}")
