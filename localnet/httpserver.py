"""A lean HTTP/1.1 server (keep-alive, Content-Length bodies) for JSON-RPC POSTs, on asyncio.Protocol.

FastAPI/uvicorn would cost several times the ~0.4 ms a transaction takes in LiteSVM; this parser does only
what JSON-RPC clients send: ``POST /`` with a Content-Length body, plus ``GET /health`` like a validator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_HEADER = 64 * 1024
MAX_BODY = 50 * 1024 * 1024
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    411: b"Length Required",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
}

# a validator's RPC allows any origin; browser dapps rely on it
_CORS = (
    b"Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: content-type, solana-client\r\n"
)


class HttpProtocol(asyncio.Protocol):
    """One client connection; ``handler(body) -> response body`` answers each POST.

    ``release(write)``, when given, decides when each reply is written (the node holds replies until what they
    show is committed); it must keep them in order.
    """

    def __init__(
        self, handler: Callable[[bytes], bytes], release: Callable[[Callable[[], None]], None] | None = None
    ) -> None:
        self.handler = handler
        self.release = release
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def _reply(self, status: int, body: bytes, close: bool, ctype: bytes = b"application/json") -> None:
        if close:
            self._closing = True  # answer nothing after this one
        if self.release is None:
            self._write(status, body, close, ctype)
        else:
            self.release(lambda: self._write(status, body, close, ctype))

    def _write(self, status: int, body: bytes, close: bool, ctype: bytes) -> None:
        if self.transport is None:
            return
        head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n" % (
            status,
            _REASONS.get(status, b"OK"),
            ctype,
            len(body),
            b"Connection: close\r\n" if close else b"",
            _CORS,
        )
        self.transport.write(head + body)
        if close:
            self.transport.close()
            self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and not self._closing:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    self._reply(431, b"header too large", True, b"text/plain")
                return
            try:
                head = bytes(self.buf[:end]).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                method, path, version = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                if length < 0:
                    raise ValueError("negative length")
            except ValueError:
                self._reply(400, b"malformed request", True, b"text/plain")
                return
            conn = headers.get("connection", "").lower()
            close = conn == "close" or (version == "HTTP/1.0" and conn != "keep-alive")
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._reply(
                    411, b"chunked bodies are not supported; send Content-Length", True, b"text/plain"
                )
                return
            if length > MAX_BODY:
                self._reply(413, b"body too large", True, b"text/plain")
                return
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body = bytes(self.buf[end + 4 : total])
            del self.buf[:total]
            if method == "POST":
                try:
                    out = self.handler(body)
                except Exception:  # the RPC layer answers errors itself; this is a last resort
                    log.exception("request handler failed")
                    self._reply(
                        500,
                        b'{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}',
                        close,
                    )
                    continue
                self._reply(200, out, close)
            elif method == "OPTIONS":  # CORS preflight from browser dapps, as a validator answers it
                self._reply(200, b"", close, b"text/plain")
            elif method == "GET" and path.split("?")[0] == "/health":
                self._reply(200, b"ok", close, b"text/plain")
            elif method == "GET":
                self._reply(404, b"not found", close, b"text/plain")
            else:
                self._reply(405, b"use POST", close, b"text/plain")
