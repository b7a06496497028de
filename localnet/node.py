"""``LocalnetNode``: the embedded Solana node (LiteSVM behind JSON-RPC over HTTP and PubSub over websocket).

Use it from tests and tools::

    with LocalnetNode(slot_ms=50, finality_slots=4) as node:
        client = AsyncClient(node.rpc_url)

``start()`` runs the node on a background thread with its own asyncio loop and returns once it serves;
``stop()`` shuts it down and flushes the ledger. ``run()`` serves in the foreground until SIGINT/SIGTERM
(that is what ``iog localnet up`` does).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from websockets.asyncio.server import serve as ws_serve

from localnet import rpc
from localnet.bank import Bank
from localnet.errors import LocalnetError
from localnet.httpserver import HttpProtocol
from localnet.pubsub import PubSub

log = logging.getLogger(__name__)


class LocalnetNode:
    """An embedded Solana cluster of one node.

    Args:
        rpc_port: HTTP JSON-RPC port (0 picks a free one).
        ws_port: websocket PubSub port (0 picks a free one).
        slot_ms: milliseconds per slot.
        finality_slots: slots until a transaction is finalized.
        ledger_dir: where the ledger persists; None keeps it in memory.
        reset: start from an empty ledger.
        bpf_programs: (program id, path to .so) pairs loaded at start.
        host: interface to bind.
    """

    def __init__(
        self,
        rpc_port: int = 0,
        ws_port: int = 0,
        slot_ms: int = 400,
        finality_slots: int = 32,
        ledger_dir: Path | str | None = None,
        reset: bool = False,
        bpf_programs: Sequence[tuple[str, Path | str]] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if slot_ms < 1:
            raise LocalnetError("slot_ms must be at least 1")
        self.rpc_port = rpc_port
        self.ws_port = ws_port
        self.slot_ms = slot_ms
        self.finality_slots = finality_slots
        self.ledger_dir = Path(ledger_dir) if ledger_dir is not None else None
        self.reset = reset
        self.bpf_programs = [(str(p), Path(f)) for p, f in bpf_programs or []]
        self.host = host
        self.bank: Bank | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def rpc_url(self) -> str:
        """``http://host:port`` of JSON-RPC."""
        return f"http://{self.host}:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        """``ws://host:port`` of PubSub."""
        return f"ws://{self.host}:{self.ws_port}"

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> LocalnetNode:
        """Run on a background thread; returns when the node serves (raises what stopped it from starting)."""
        if self._thread is not None:
            raise LocalnetError("node already started")
        self._thread = threading.Thread(target=self._thread_main, name="localnet", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise LocalnetError("localnet node did not start in time")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        """Shut down and flush the ledger (idempotent)."""
        if self._thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # loop already closed
                pass
        self._thread.join(30)
        self._thread = None

    def __enter__(self) -> LocalnetNode:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def run(self, on_ready: object = None) -> None:
        """Serve in the foreground until SIGINT or SIGTERM; ``on_ready(node)`` is called once serving."""
        asyncio.run(self._main(on_ready, install_signals=True))

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main(None, install_signals=False))
        except BaseException as exc:  # reported to start()
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.exception("localnet node crashed")

    async def _main(self, on_ready: object, install_signals: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stop.set)
        bank = self.bank = Bank(self.finality_slots, self.ledger_dir, self.reset, self.bpf_programs)
        try:
            pubsub = PubSub(bank)
            try:
                server = await self._loop.create_server(
                    lambda: HttpProtocol(lambda body: rpc.handle(bank, body)), self.host, self.rpc_port
                )
                ws_server = await ws_serve(
                    pubsub.serve, self.host, self.ws_port, max_size=1 << 20, compression=None
                )
            except OSError as exc:
                raise LocalnetError(f"cannot listen on {self.host}: {exc}") from exc
            self.rpc_port = server.sockets[0].getsockname()[1]
            self.ws_port = next(iter(ws_server.sockets)).getsockname()[1]
            ticker = self._loop.create_task(self._ticker(bank, pubsub))
            self._ready.set()
            if callable(on_ready):
                on_ready(self)
            await self._stop.wait()
            ticker.cancel()
            server.close()
            ws_server.close()
            await ws_server.wait_closed()
        finally:
            bank.close()

    async def _ticker(self, bank: Bank, pubsub: PubSub) -> None:
        period = self.slot_ms / 1000
        due = time.monotonic() + period
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            due = max(due + period, time.monotonic())
            try:
                slot = bank.tick()
                pubsub.on_slot(slot)
            except Exception:  # a failed flush must not stop time; it is logged and retried next slot
                log.exception("slot tick failed")
