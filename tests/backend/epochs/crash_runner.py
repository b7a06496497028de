"""One pass of the epoch runner in a process of its own, SIGKILLed (no cleanup at all) at a named point.

Usage: ``python -m tests.backend.epochs.crash_runner '<json>'`` with ``settings`` (Settings fields), ``now`` and
``kill_at`` (one of POINTS, or null to run the pass to its end). The test that starts it checks what a restart
makes of what the killed process left.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from backend.config import Settings
from backend.db import make_engine, make_sessionmaker
from backend.epochs.runner import make_runner

POINTS = (
    "before_input",  # nothing stored yet
    "before_compute",  # closing: the input is stored
    "before_post",  # computed
    "before_send",  # the post is recorded, not sent
    "after_send",  # sent, not confirmed
    "after_confirm",  # confirmed on chain, not marked posted
    "before_finalize",  # posted
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def before(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*a: Any, **k: Any) -> Any:
        die()
        return fn(*a, **k)

    return wrapped


def after(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(*a: Any, **k: Any) -> Any:
        out = fn(*a, **k)
        die()
        return out

    return wrapped


def main() -> None:
    cfg = json.loads(sys.argv[1])
    settings = Settings(**cfg["settings"], _env_file=None)
    factory = make_sessionmaker(make_engine(settings.resolved_database_url))
    runner = make_runner(settings, factory)
    chain = runner.chain
    assert chain is not None
    point = cfg.get("kill_at")
    patches: dict[str, tuple[Any, str, Callable[..., Any]]] = {
        "before_input": (runner, "_store_input", before),
        "before_compute": (runner, "_compute", before),
        "before_post": (runner, "post", before),
        "before_send": (chain, "send", before),
        "after_send": (chain, "send", after),
        "after_confirm": (chain, "confirm", after),
        "before_finalize": (runner, "finalize", before),
    }
    if point is not None:
        obj, name, wrap = patches[point]
        setattr(obj, name, wrap(getattr(obj, name)))
    report = runner.tick(int(cfg["now"]))
    print(json.dumps({"closed": report.closed, "posted": report.posted}))


if __name__ == "__main__":
    main()
