"""``LocalnetNode``: the embedded Solana node (LiteSVM behind JSON-RPC over HTTP and PubSub over websocket).

Use it from tests and tools::

    with LocalnetNode(slot_ms=50, finality_slots=4) as node:
        client = AsyncClient(node.rpc_url)

``start()`` runs the node on a background thread with its own asyncio loop and returns once it serves;
``stop()`` shuts it down and flushes the ledger. ``run()`` serves in the foreground until SIGINT/SIGTERM
(that is what ``iog localnet up`` does).

Tests that must see each commitment level for certain drive the clock themselves::

    with LocalnetNode(manual_clock=True, finality_slots=4) as node:
        ...                 # send: processed
        node.advance()      # confirmed
        node.advance(3)     # finalized

``advance`` is a Python method of the node object: nothing reaches it over RPC.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
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
        manual_clock: no slot passes by itself; only :meth:`advance` moves the clock (for tests).
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
        manual_clock: bool = False,
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
        self.manual_clock = manual_clock
        self.bank: Bank | None = None
        self._pubsub: PubSub | None = None
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

    def advance(self, slots: int = 1, timeout: float = 60.0) -> int:
        """Move the clock ``slots`` slots now, as the ticker would; returns the new slot.

        A test hook (most useful with ``manual_clock=True``): it runs on the node's loop, so a client sees the
        node before or after a whole slot change, never half of one.
        """
        loop, bank, pubsub = self._loop, self.bank, self._pubsub
        if loop is None or bank is None or pubsub is None or self._thread is None:
            raise LocalnetError("node is not running")

        async def step() -> int:
            slot = bank.slot
            for _ in range(slots):
                slot = bank.tick()
                pubsub.on_slot(slot)
            return slot

        return asyncio.run_coroutine_threadsafe(step(), loop).result(timeout)

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
            pubsub = self._pubsub = PubSub(bank)
            committer = _Committer(bank, self._loop)
            pubsub.release = committer.release
            try:
                server = await self._loop.create_server(
                    lambda: HttpProtocol(lambda body: rpc.handle(bank, body), committer.release),
                    self.host,
                    self.rpc_port,
                )
                ws_server = await ws_serve(
                    pubsub.serve, self.host, self.ws_port, max_size=1 << 20, compression=None
                )
            except OSError as exc:
                raise LocalnetError(f"cannot listen on {self.host}: {exc}") from exc
            self.rpc_port = server.sockets[0].getsockname()[1]
            self.ws_port = next(iter(ws_server.sockets)).getsockname()[1]
            bank.contact = {"rpc": f"{self.host}:{self.rpc_port}", "pubsub": f"{self.host}:{self.ws_port}"}
            ticker = None if self.manual_clock else self._loop.create_task(self._ticker(bank, pubsub))
            self._ready.set()
            if callable(on_ready):
                on_ready(self)
            await self._stop.wait()
            if ticker is not None:
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



class _Committer:
    """Holds every reply and notification back until what it may show is committed to the ledger.

    A send lands in the ``processed`` view at once, so a client must not hear of it (an answer, a
    notification, or any read that sees it) before the ledger has it: then ``kill -9`` loses nothing a client
    saw. Writes wait in order; one commit per loop turn covers every request of that turn (group commit).
    """

    def __init__(self, bank: Bank, loop: asyncio.AbstractEventLoop) -> None:
        self.bank = bank
        self.loop = loop
        self.waiting: list[Callable[[], None]] = []

    def release(self, write: Callable[[], None]) -> None:
        """Run ``write`` now if everything is committed, else right after the next commit (in order)."""
        if not self.waiting and not self.bank.has_changes():
            write()
            return
        if not self.waiting:
            self.loop.call_soon(self._commit)
        self.waiting.append(write)

    def _commit(self) -> None:
        try:
            self.bank.flush()
        except Exception:  # the disk failed: answer anyway; the next commit (request or slot) retries
            log.exception("ledger commit failed")
        waiting, self.waiting = self.waiting, []
        for write in waiting:
            write()
