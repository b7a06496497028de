"""A fault-injecting proxy for JSON-RPC over HTTP and PubSub over websocket (for tests and benchmarks).

A fraction ``rate`` of HTTP calls fails in one of the ways real RPC providers fail: a hang past the client's
timeout, a connection reset, HTTP 429 with or without Retry-After, 5xx, a truncated body, invalid JSON, a
signature page that skips or repeats an entry, a batch with an item missing. ``delay_seconds`` makes every
answer late (a slow but working RPC). Websocket connections are dropped after a random number of messages.
It runs in a background thread with its own event loop.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
import threading
from collections import Counter
from typing import Any

import httpx
import websockets

HTTP_FAULTS = (
    "hang",
    "reset",
    "429",
    "429_retry_after",
    "5xx",
    "truncated",
    "cut_body",
    "invalid_json",
    "skip_entry",
    "repeat_entry",
    "drop_batch_item",
)


class FaultProxy:
    """Proxy ``upstream_rpc`` (and ``upstream_ws``) on free local ports, failing ``rate`` of the calls."""

    def __init__(
        self,
        upstream_rpc: str,
        upstream_ws: str | None = None,
        *,
        rate: float = 0.1,
        hang_seconds: float = 3.0,
        ws_drop_every: tuple[int, int] = (5, 40),
        seed: int | None = None,
        faults: tuple[str, ...] = HTTP_FAULTS,
        delay_seconds: float = 0.0,
    ) -> None:
        self.upstream_rpc = upstream_rpc
        self.upstream_ws = upstream_ws
        self.rate = rate
        self.hang_seconds = hang_seconds
        self.ws_drop_every = ws_drop_every
        self.faults = faults
        self.delay_seconds = delay_seconds  # every answer comes this late (a slow but working RPC)
        self.rng = random.Random(seed)
        self.stats: Counter[str] = Counter()
        self._turns: dict[tuple[str, ...], int] = {}
        self._page_turn = 0
        self.url = ""
        self.ws_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        """Start serving; returns when both listeners are up."""
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=32))
        server = await asyncio.start_server(self._handle_http, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        ws_server = None
        if self.upstream_ws:
            ws_server = await websockets.serve(self._handle_ws, "127.0.0.1", 0, max_size=2**24)
            self.ws_url = f"ws://127.0.0.1:{next(iter(ws_server.sockets)).getsockname()[1]}"
        self._ready.set()
        await self._stop.wait()
        server.close()
        if ws_server:
            ws_server.close()
        await self._client.aclose()

    # --- HTTP ------------------------------------------------------------------------------------------

    def _pick_fault(self, payload: Any) -> str | None:
        if self.rng.random() >= self.rate:
            return None
        options = list(self.faults)
        is_pages = isinstance(payload, dict) and payload.get("method") == "getSignaturesForAddress"
        page_faults = [f for f in options if f in ("skip_entry", "repeat_entry")]
        options = [f for f in options if f not in page_faults]
        if is_pages and page_faults:
            # Page calls are few: every other fault on one is a skipped or repeated entry.
            self._page_turn += 1
            if self._page_turn % 2 or not options:
                return page_faults[(self._page_turn // 2) % len(page_faults)]
        if not isinstance(payload, list):
            options = [f for f in options if f != "drop_batch_item"]
        if not options:
            return None
        # Round-robin over the kinds applicable to this call, so every kind shows up even in a short run.
        key = tuple(options)
        self._turns[key] = self._turns.get(key, self.rng.randrange(len(options))) + 1
        return options[self._turns[key] % len(options)]

    async def _handle_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                if not await self._answer(body, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    @staticmethod
    def _send(
        writer: asyncio.StreamWriter,
        status: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        h = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body) if length is None else length),
        }
        h.update(headers or {})
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        writer.write(head.encode() + body)

    async def _answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False closes the connection."""
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        fault = self._pick_fault(payload)
        self.stats["calls"] += 1
        if fault:
            self.stats[fault] += 1
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
            return False
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if fault in ("429", "429_retry_after"):
            hdr = {"Retry-After": "1"} if fault == "429_retry_after" else {}
            self._send(writer, "429 Too Many Requests", b'{"error":"rate limited"}', hdr)
            await writer.drain()
            return True
        if fault == "5xx":
            self._send(
                writer,
                self.rng.choice(["500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable"]),
                b"upstream error",
            )
            await writer.drain()
            return True
        if fault == "invalid_json":
            self._send(writer, "200 OK", b'{"jsonrpc":"2.0","result":[{"signature": nope')
            await writer.drain()
            return True
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        resp = await self._client.post(self.upstream_rpc, content=body, headers={"content-type": "application/json"})
        data = resp.content
        if fault == "truncated":
            data = data[: max(1, len(data) // 2)]
        elif fault == "cut_body":  # advertise the full length, send half, hang up
            self._send(writer, "200 OK", data[: len(data) // 2], length=len(data))
            await writer.drain()
            return False
        elif fault in ("skip_entry", "repeat_entry", "drop_batch_item"):
            data = self._corrupt(fault, data)
        self._send(writer, f"{resp.status_code} {resp.reason_phrase}", data)
        await writer.drain()
        return True

    def _corrupt(self, fault: str, data: bytes) -> bytes:
        try:
            obj = json.loads(data)
        except ValueError:
            return data
        if fault == "drop_batch_item" and isinstance(obj, list) and obj:
            obj.pop(self.rng.randrange(len(obj)))
        elif isinstance(obj, dict) and isinstance(obj.get("result"), list) and obj["result"]:
            page = obj["result"]
            i = self.rng.randrange(len(page))
            if fault == "skip_entry":
                page.pop(i)
            else:
                page.insert(i, page[i])
        return json.dumps(obj).encode()

    # --- websocket -------------------------------------------------------------------------------------

    async def _handle_ws(self, client: Any) -> None:
        assert self.upstream_ws
        budget = self.rng.randint(*self.ws_drop_every)
        try:
            async with websockets.connect(self.upstream_ws, max_size=2**24) as upstream:

                async def up() -> None:
                    async for msg in client:
                        await upstream.send(msg)

                async def down() -> None:
                    nonlocal budget
                    async for msg in upstream:
                        budget -= 1
                        if budget <= 0:
                            self.stats["ws_drop"] += 1
                            return
                        await client.send(msg)

                tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for t in tasks:
                    t.cancel()
        except (OSError, websockets.WebSocketException):
            pass
        finally:
            await client.close()
