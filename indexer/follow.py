"""Follow mode: a finalized pass every few seconds, woken early by ``logsSubscribe`` notifications.

Notifications at ``confirmed`` are written as pending rows right away. Every (re)connect of the websocket
triggers a finalized pass from the cursor, so whatever happened while disconnected is filled in; the pass also
drops pending rows that never finalized. The websocket only lowers latency: correctness comes from the cursor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random

import websockets

from indexer.pipeline import Indexer
from indexer.store import record_error

log = logging.getLogger(__name__)


class Follower:
    """Runs an Indexer forever (or until ``stop`` is set)."""

    def __init__(self, indexer: Indexer, ws_url: str | None, poll_seconds: float = 2.0) -> None:
        self.indexer = indexer
        self.ws_url = ws_url
        self.poll_seconds = poll_seconds
        self.wake = asyncio.Event()
        self.stop = asyncio.Event()
        self.pending: asyncio.Queue[str] = asyncio.Queue()
        self.passes = 0
        self.subscribed = asyncio.Event()  # set while the websocket subscriptions are live

    async def run(self) -> None:
        """Run the websocket listener, the pending writer and the finalized loop until ``stop``."""
        tasks = [asyncio.create_task(self._finalized_loop()), asyncio.create_task(self._pending_loop())]
        if self.ws_url:
            tasks.append(asyncio.create_task(self._ws_loop()))
        await self.stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _finalized_loop(self) -> None:
        while not self.stop.is_set():
            try:
                await self.indexer.backfill_all()
                self.passes += 1
            except Exception as exc:  # noqa: BLE001 - the loop must survive any pass failure
                log.error("finalized pass failed: %s", exc)
                for a in self.indexer.addresses:
                    await asyncio.to_thread(record_error, self.indexer.engine, a, f"{type(exc).__name__}: {exc}")
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass

    async def _pending_loop(self) -> None:
        while True:
            sigs = [await self.pending.get()]
            while not self.pending.empty() and len(sigs) < 100:
                sigs.append(self.pending.get_nowait())
            try:
                await self.indexer.ingest_pending(list(dict.fromkeys(sigs)))
            except Exception as exc:  # noqa: BLE001 - pending rows are best effort; finalized pass is the truth
                log.warning("pending ingest failed (the finalized pass will cover it): %s", exc)

    async def _ws_loop(self) -> None:
        attempt = 0
        assert self.ws_url
        while not self.stop.is_set():
            try:
                async with websockets.connect(self.ws_url, max_size=2**24) as ws:
                    for i, addr in enumerate(self.indexer.addresses):
                        await ws.send(
                            json.dumps(
                                {
                                    "jsonrpc": "2.0",
                                    "id": i + 1,
                                    "method": "logsSubscribe",
                                    "params": [{"mentions": [addr]}, {"commitment": "confirmed"}],
                                }
                            )
                        )
                    acks = 0
                    attempt = 0
                    self.wake.set()  # (re)connected: fill the gap from the cursor now
                    async for raw in ws:
                        msg = json.loads(raw)
                        if not isinstance(msg, dict):
                            raise ValueError(f"not a JSON-RPC message: {str(raw)[:200]}")
                        if "id" in msg:
                            if "error" in msg:
                                raise ValueError(f"logsSubscribe refused: {msg['error']}")
                            acks += 1
                            if acks == len(self.indexer.addresses):
                                self.subscribed.set()
                            continue
                        if msg.get("method") != "logsNotification":
                            continue
                        value = msg["params"]["result"]["value"]
                        # Failed transactions are recorded too (as failed); they never count.
                        self.pending.put_nowait(value["signature"])
                        self.wake.set()
            except (OSError, websockets.WebSocketException, ValueError, KeyError, TypeError) as exc:
                log.warning("websocket dropped (%s); reconnecting", exc)
            self.subscribed.clear()
            attempt += 1
            await asyncio.sleep(min(5.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))
