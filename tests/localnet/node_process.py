"""An embedded node in its own process under a clock the test drives: what crash tests kill with SIGKILL.

    python -m tests.localnet.node_process --ledger DIR [--finality-slots N]

Prints ``RPC <url>`` then ``READY``, and then answers each line on stdin: ``advance N`` moves the clock N
slots and prints ``slot S``. Test tooling only: the clock is driven through this process's stdin, never
over RPC, and without ``advance`` no slot ever passes, so a restarted node can be read exactly as it came up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from localnet.node import LocalnetNode

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ledger", required=True)
    ap.add_argument("--finality-slots", type=int, default=4)
    args = ap.parse_args()
    node = LocalnetNode(ledger_dir=args.ledger, finality_slots=args.finality_slots, manual_clock=True)
    node.start()
    print(f"RPC {node.rpc_url}", flush=True)
    print("READY", flush=True)
    for line in sys.stdin:
        cmd, _, arg = line.strip().partition(" ")
        if cmd == "advance":
            print(f"slot {node.advance(int(arg or 1))}", flush=True)
    node.stop()


class NodeProcess:
    """Runs :func:`main` in a child process; ``advance`` drives its clock, ``kill`` is ``kill -9``."""

    def __init__(self, ledger: Path, finality_slots: int = 4) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.localnet.node_process", "--ledger", str(ledger)]
            + ["--finality-slots", str(finality_slots)],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        assert first.startswith("RPC "), f"node process did not start: {first!r}"
        self.rpc_url = first.split(" ", 1)[1].strip()
        assert self.proc.stdout.readline().strip() == "READY"

    def advance(self, slots: int = 1) -> int:
        """Move the node's clock ``slots`` slots; returns its new slot."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"advance {slots}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        assert answer.startswith("slot "), answer
        return int(answer.split()[1])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        self.proc.kill()
        self.proc.wait(30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


if __name__ == "__main__":
    main()
