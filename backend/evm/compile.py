"""Compile the EVM contracts (Vyper, pinned in pyproject's dev extra) to the committed ABI and bytecode.

``make contracts`` runs ``python -m backend.evm.compile --write``; ``--check`` (and the test suite) recompiles
and compares with the committed artifacts byte for byte. Nothing is downloaded: Vyper is a PyPI package. The
runtime never compiles: it reads ``contracts/artifacts/*.json`` through :mod:`backend.evm.contracts`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

CONTRACTS_DIR = Path(__file__).parent / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
SOURCES = ("Token", "PaymentRouter")
VYPER_VERSION = "0.4.3"


def compile_source(name: str) -> str:
    """The artifact text of ``contracts/<name>.vy``: JSON with abi, bytecode, compiler and source hash."""
    import vyper  # dev dependency: only compiling needs it

    if not vyper.__version__.startswith(VYPER_VERSION):
        raise SystemExit(f"vyper {VYPER_VERSION} is pinned; found {vyper.__version__} (run `make install`)")
    path = CONTRACTS_DIR / f"{name}.vy"
    source = path.read_text()
    out = vyper.compile_code(source, contract_path=path.name, output_formats=["abi", "bytecode"])
    doc = {
        "contract": name,
        "compiler": f"vyper {VYPER_VERSION}",
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def artifact_path(name: str) -> Path:
    """Where the committed artifact of ``name`` lives."""
    return ARTIFACTS_DIR / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    """``--write`` the artifacts, or ``--check`` them (exit 1 naming each that differs)."""
    ap = argparse.ArgumentParser(description=__doc__)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write contracts/artifacts/*.json")
    mode.add_argument("--check", action="store_true", help="recompile and compare with the committed files")
    args = ap.parse_args(argv)
    stale = []
    for name in SOURCES:
        text = compile_source(name)
        path = artifact_path(name)
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                print(f"wrote {path}")
        elif not path.exists() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        print("stale or missing artifacts (run `make contracts`): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
