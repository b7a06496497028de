"""A lean JSON-RPC client over httpx with batching, typed errors and retries with backoff and jitter.

Every response is validated: a body that is not JSON, a batch with missing or foreign ids, or a result of the
wrong shape is an :class:`RpcBadResponse` (retried), never an empty page.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from indexer import metrics
from indexer.errors import (
    RpcBadResponse,
    RpcError,
    RpcGaveUp,
    RpcHttpError,
    RpcServerError,
    RpcTimeout,
    RpcTransportError,
)

# JSON-RPC errors that mean "your request is wrong": retrying cannot help.
_CLIENT_ERRORS = {-32600, -32601, -32602}


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, min(float(value), 30.0))
    except ValueError:
        return None


class RpcClient:
    """JSON-RPC over HTTP. ``call`` and ``batch`` retry retryable failures up to ``max_retries`` times.

    A call that timed out is retried with twice the timeout (up to 8 times ``timeout``, at most 60 s unless
    ``timeout`` itself is longer): an RPC that is merely slow (a loaded machine, a big batch) is read in the
    end instead of timing out on every attempt until the retries run out.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 8,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        concurrency: int = 4,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.timeout_cap = max(timeout, min(timeout * 8, 60.0))
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2),
        )
        self._ids = 0
        self.sem = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> RpcClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    async def _post(self, payload: Any, label: str, timeout: float) -> Any:
        metrics.RPC_CALLS.labels(label).inc()
        body = orjson.dumps(payload)
        try:
            resp = await self._client.post(
                self.url, content=body, headers={"content-type": "application/json"}, timeout=timeout
            )
        except httpx.TimeoutException as exc:
            raise RpcTimeout(f"timeout after {timeout:g}s: {exc!r}") from exc
        except (httpx.TransportError, OSError) as exc:
            raise RpcTransportError(f"transport: {exc!r}") from exc
        if resp.status_code != 200:
            raise RpcHttpError(f"HTTP {resp.status_code}", retry_after=_retry_after(resp.headers.get("retry-after")))
        try:
            return orjson.loads(resp.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RpcBadResponse(f"invalid JSON ({len(resp.content)} bytes): {exc}") from exc

    async def _backoff(self, attempt: int, exc: RpcError) -> None:
        metrics.RPC_RETRIES.inc()
        delay = min(self.backoff_cap, self.backoff_base * 2**attempt)
        delay = random.uniform(delay / 2, delay)  # jitter
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        await asyncio.sleep(delay)

    async def _with_retries(self, fn: Any, label: str) -> Any:
        last: RpcError | None = None
        timeout = self.timeout
        for attempt in range(self.max_retries + 1):
            try:
                async with self.sem:
                    return await fn(timeout)
            except RpcError as exc:
                metrics.RPC_ERRORS.labels(type(exc).__name__).inc()
                if not exc.retryable:
                    raise
                if isinstance(exc, RpcTimeout):
                    timeout = min(self.timeout_cap, timeout * 2)
                last = exc
                if attempt < self.max_retries:
                    await self._backoff(attempt, exc)
        raise RpcGaveUp(f"{label}: gave up after {self.max_retries + 1} attempts: {last}")

    @staticmethod
    def _unwrap(item: Any, label: str) -> Any:
        if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
            raise RpcBadResponse(f"{label}: not a JSON-RPC response")
        if "error" in item and item["error"] is not None:
            err = item["error"]
            code = err.get("code", 0) if isinstance(err, dict) else 0
            msg = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            raise RpcServerError(f"{label}: {msg}", code, retryable=code not in _CLIENT_ERRORS)
        if "result" not in item:
            raise RpcBadResponse(f"{label}: response has neither result nor error")
        return item["result"]

    async def call(
        self, method: str, params: list[Any] | None = None, check: Callable[[Any], Any] | None = None
    ) -> Any:
        """One call, retried; returns ``result`` (passed through ``check``, whose RpcError is retried too)."""

        async def once(timeout: float) -> Any:
            rid = self._next_id()
            data = await self._post(
                {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}, method, timeout
            )
            if isinstance(data, dict) and data.get("id") not in (rid, None):
                raise RpcBadResponse(f"{method}: response id {data.get('id')} != {rid}")
            result = self._unwrap(data, method)
            return check(result) if check else result

        return await self._with_retries(once, method)

    async def batch(
        self, method: str, params_list: Sequence[list[Any]], check: Callable[[list[Any]], Any] | None = None
    ) -> list[Any]:
        """The same method with many params in one HTTP request; results in order, the batch retried whole."""
        if not params_list:
            return []

        async def once(timeout: float) -> list[Any]:
            ids = [self._next_id() for _ in params_list]
            payload = [
                {"jsonrpc": "2.0", "id": i, "method": method, "params": p}
                for i, p in zip(ids, params_list, strict=True)
            ]
            data = await self._post(payload, method, timeout)
            if not isinstance(data, list):
                if isinstance(data, dict):
                    self._unwrap(data, method)  # a whole-batch error object raises typed
                raise RpcBadResponse(f"{method}: batch response is not a list")
            # ids of other types (a list is not even hashable) are foreign: never ours, never a crash
            by_id = {item["id"]: item for item in data if isinstance(item, dict) and isinstance(item.get("id"), int)}
            if len(data) != len(ids) or any(i not in by_id for i in ids):
                raise RpcBadResponse(f"{method}: batch of {len(ids)} answered with {len(data)} items/ids")
            results = [self._unwrap(by_id[i], method) for i in ids]
            if check:
                check(results)
            return results

        return await self._with_retries(once, f"{method} x{len(params_list)}")

    # --- typed helpers ---------------------------------------------------------------------------------

    async def get_slot(self, commitment: str = "finalized") -> int:
        """Current slot at ``commitment``."""
        slot = await self.call("getSlot", [{"commitment": commitment}])
        if not isinstance(slot, int):
            raise RpcBadResponse(f"getSlot: {slot!r} is not an int")
        return slot

    async def signatures_page(
        self, address: str, *, before: str | None, until: str | None, limit: int, commitment: str
    ) -> list[dict[str, Any]]:
        """One getSignaturesForAddress page, shape-checked (newest first)."""
        opts: dict[str, Any] = {"limit": limit, "commitment": commitment}
        if before:
            opts["before"] = before
        if until:
            opts["until"] = until
        return await self.call(
            "getSignaturesForAddress", [address, opts], check=lambda page: check_signature_page(page, limit)
        )

    async def get_transactions(self, signatures: Sequence[str], commitment: str) -> list[dict[str, Any] | None]:
        """getTransaction (``json`` encoding) for many signatures in one batch."""
        opts = {"encoding": "json", "commitment": commitment, "maxSupportedTransactionVersion": 0}

        def check(results: list[Any]) -> None:
            for sig, res in zip(signatures, results, strict=True):
                if res is None:
                    continue
                if not (isinstance(res, dict) and isinstance(res.get("transaction"), dict) and "slot" in res):
                    raise RpcBadResponse(f"getTransaction {sig}: unexpected shape")
                sigs = res["transaction"].get("signatures")
                if not isinstance(sigs, list) or not sigs or sigs[0] != sig:
                    raise RpcBadResponse(f"getTransaction {sig}: answer is for another transaction")

        return await self.batch("getTransaction", [[s, opts] for s in signatures], check=check)


def check_signature_page(page: Any, limit: int) -> list[dict[str, Any]]:
    """Validate a getSignaturesForAddress result: at most ``limit`` entries, slots non-increasing."""
    if not isinstance(page, list):
        raise RpcBadResponse("getSignaturesForAddress: result is not a list")
    if len(page) > limit:
        raise RpcBadResponse(f"getSignaturesForAddress: {len(page)} entries > limit {limit}")
    prev = None
    seen: set[str] = set()
    for e in page:
        if not isinstance(e, dict) or not isinstance(e.get("signature"), str) or not isinstance(e.get("slot"), int):
            raise RpcBadResponse("getSignaturesForAddress: bad entry")
        if e["signature"] in seen:
            raise RpcBadResponse("getSignaturesForAddress: repeated entry in one page")
        seen.add(e["signature"])
        if prev is not None and e["slot"] > prev:
            raise RpcBadResponse("getSignaturesForAddress: entries not newest first")
        prev = e["slot"]
    return page
