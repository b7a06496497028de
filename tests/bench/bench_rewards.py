"""Benchmark of the rewards engine against a straightforward Fraction baseline, measured in the same run.

    .venv/bin/python tests/bench/bench_rewards.py                 # 10,000 and 100,000 nodes
    .venv/bin/python tests/bench/bench_rewards.py --sizes 1000    # quick look

Each size gets one synthetic epoch (10 stake entries per node: the operator's own and 9 delegations drawn
from a pool of as many delegators as there are entries, so wallets recur across nodes; 20 % of the pool has a
previous lifetime total; ~5 % of nodes fail an eligibility rule). The input is written to a JSON file once;
then every case runs in a fresh Python subprocess, which parses the file (not timed), runs the case, and
reports its wall time and its peak resident memory (``ru_maxrss``). The RSS right after parsing the input is
reported too, so the memory the case itself adds is ``peak - input``.

Measured case ("compute + tree + all proofs"): validation, the rule-8 input hash, all rules, the merkle tree,
the output document, and every wallet's proof. The baseline is tests/backend/rewards/reference.py (per-entry
loops with fractions.Fraction, one walk up the tree per proof); both results are checked to be identical.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

app = typer.Typer(add_completion=False)
STAKES_PER_NODE = 10
MULTIPLIERS = {"A100": 10000, "H100": 25000, "L40S": 8000, "RTX4090": 4000}
MIN_STAKE = 1_000_000_000


def make_epoch(n_nodes: int, seed: int = 5) -> dict:
    """A synthetic epoch with ``n_nodes`` nodes and 10 stake entries each."""
    import based58

    rnd = random.Random(seed)

    def key() -> str:
        return based58.b58encode(rnd.randbytes(32)).decode()

    entries = n_nodes * STAKES_PER_NODE
    delegators = [key() for _ in range(entries)]
    operators = [key() for _ in range(max(1, n_nodes // 5))]
    models = list(MULTIPLIERS) + ["unknown"]
    nodes = []
    for _ in range(n_nodes):
        operator = rnd.choice(operators)
        units = rnd.randint(1, 8)
        healthy = rnd.random() < 0.95
        stake = [{"owner": operator, "amount": str(MIN_STAKE * units + rnd.randint(0, 10**12))}]
        for owner in rnd.sample(delegators, STAKES_PER_NODE - 1):
            stake.append({"owner": owner, "amount": str(rnd.randint(1, 10**13))})
        nodes.append(
            {
                "node": key(),
                "operator": operator,
                "gpu_model": rnd.choice(models[:-1]) if healthy else rnd.choice(models),
                "gpu_units": units,
                "commission_bps": rnd.randint(0, 2000),
                "uptime_seconds": rnd.randint(3240, 3600) if healthy else rnd.randint(0, 3600),
                "continuous_uptime_seconds": rnd.randint(1800, 3600) if healthy else rnd.randint(0, 3600),
                "verified": healthy or rnd.random() < 0.5,
                "slashed": not healthy and rnd.random() < 0.3,
                "compute_gpu_seconds": rnd.randint(0, units * 3600),
                "stake": stake,
            }
        )
    previous = {w: str(rnd.randint(1, 10**14)) for w in rnd.sample(delegators, entries // 5)}
    return {
        "schema": "iog.rewards.input/1",
        "epoch": 1234,
        "epoch_seconds": 3600,
        "params": {
            "emission": "456614658926",
            "community_bps": 1000,
            "compute_share_bps": 5000,
            "min_uptime_bps": 9000,
            "min_continuous_uptime_seconds": 1800,
            "min_stake_per_gpu": str(MIN_STAKE),
            "gpu_multipliers_bps": MULTIPLIERS,
        },
        "nodes": nodes,
        "previous_totals": previous,
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@app.command("worker", hidden=True)
def worker(impl: str = typer.Option(...), input_path: Path = typer.Option(..., "--input")) -> None:
    """Run one case in this (fresh) process and print its measurements as JSON."""
    import hashlib

    doc = json.loads(input_path.read_bytes())
    input_rss = _rss_mb()
    phases: dict[str, float] = {}
    start = time.perf_counter()
    cpu_start = time.process_time()
    if impl == "engine":
        from backend.rewards.engine import compute_epoch

        result = compute_epoch(doc)
        phases["compute+tree"] = time.perf_counter() - start
        out = result.to_json()
        phases["output doc"] = time.perf_counter() - start - phases["compute+tree"]
        proof_list = result.all_proofs()  # parallel to result.wallets
        phases["all proofs"] = time.perf_counter() - start - phases["compute+tree"] - phases["output doc"]
    else:
        from tests.backend.rewards.reference import reference_compute

        out, proofs = reference_compute(doc)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    if impl == "engine":
        proofs = dict(zip(result.wallets, proof_list, strict=True))
    proof_digest = hashlib.sha256()
    for wallet in sorted(proofs):
        proof_digest.update(wallet.encode() + b"".join(proofs[wallet]))
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "phases": phases,
                "peak_mb": _rss_mb(),
                "input_mb": input_rss,
                "wallets": len(out["totals"]),
                "output_sha256": hashlib.sha256(json.dumps(out).encode()).hexdigest(),
                "proofs_sha256": proof_digest.hexdigest(),
            }
        )
    )


def _run_case(impl: str, path: Path, timeout: float) -> dict | None:
    cmd = [sys.executable, __file__, "worker", "--impl", impl, "--input", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{impl} worker failed:\n{exc.stderr}") from None
    return json.loads(done.stdout.strip().splitlines()[-1])


@app.command()
def main(
    sizes: str = typer.Option("10000,100000", help="Comma-separated node counts (10 stake entries each)."),
    baseline_max: int = typer.Option(
        100000, help="Largest node count at which the Fraction baseline also runs (it is far slower)."
    ),
    baseline_timeout: float = typer.Option(600, help="Seconds after which a baseline case is abandoned."),
    workdir: Path = typer.Option(
        Path("/tmp/iog_bench_rewards"), help="Where the generated inputs are cached."
    ),
) -> None:
    """Time and measure peak memory of compute + tree + all proofs, engine vs Fraction baseline."""
    console = Console(width=170)
    workdir.mkdir(parents=True, exist_ok=True)
    table = Table(title="rewards: compute + tree + all proofs (fresh subprocess per case, peak = ru_maxrss)")
    for col in (
        "nodes",
        "entries",
        "wallets",
        "impl",
        "wall s",
        "CPU s",
        "phases (wall s)",
        "peak RSS MB",
        "input RSS MB",
        "added MB",
        "same output",
    ):
        table.add_column(col, justify="right")
    with Progress(console=console, transient=True) as progress:
        node_counts = [int(s) for s in sizes.split(",")]
        task = progress.add_task("benchmark", total=len(node_counts) * 2)
        for n in node_counts:
            path = workdir / f"epoch_{n}.json"
            if not path.exists():
                progress.update(task, description=f"generating {n} nodes")
                path.write_text(json.dumps(make_epoch(n)))
            progress.update(task, description=f"engine {n}")
            eng = _run_case("engine", path, timeout=3600)
            assert eng is not None
            progress.advance(task)
            base = None
            note = "not run (> --baseline-max)"
            if n <= baseline_max:
                progress.update(task, description=f"baseline {n}")
                base = _run_case("baseline", path, timeout=baseline_timeout)
                note = "timed out" if base is None else ""
            progress.advance(task)
            same = "-"
            if base is not None:
                same = (
                    "yes"
                    if (base["output_sha256"], base["proofs_sha256"])
                    == (eng["output_sha256"], eng["proofs_sha256"])
                    else "NO"
                )
            for impl, r in (("engine", eng), ("Fraction baseline", base)):
                if r is None:
                    table.add_row(
                        f"{n:,}", f"{n * STAKES_PER_NODE:,}", "", impl, note, "", "", "", "", "", ""
                    )
                    continue
                table.add_row(
                    f"{n:,}",
                    f"{n * STAKES_PER_NODE:,}",
                    f"{r['wallets']:,}",
                    impl,
                    f"{r['seconds']:.2f}",
                    f"{r['cpu_seconds']:.2f}",
                    " ".join(f"{k} {v:.2f}" for k, v in r["phases"].items()),
                    f"{r['peak_mb']:.0f}",
                    f"{r['input_mb']:.0f}",
                    f"{r['peak_mb'] - r['input_mb']:.0f}",
                    same,
                )
    console.print(table)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        typer.main.get_command(app).main(args=sys.argv[1:], prog_name="bench_rewards")
    else:
        typer.run(main)
