"""Fixture module: build C programs into .so files (``sbf_build``) and run the SDK probe in LiteSVM.

Usable by any test directory: ``from tests.programs.toolchain.fixtures import sbf_build`` in a conftest.py, or
list ``tests.programs.toolchain.fixtures`` in the root ``pytest_plugins``.

The toolchain is imported from the repository (``programs.toolchain``: ``programs/`` is a namespace package on
the repository root, which pytest puts on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from programs.toolchain.build import build_program
from tests.programs.toolchain.svm import SentTx, send

C_DIR = Path(__file__).parent / "c"
PROBE_SOURCE = C_DIR / "probe.c"

Builder = Callable[..., Path]


@pytest.fixture
def sbf_build(tmp_path: Path) -> Builder:
    """Builds C sources (paths, or (name, text) pairs written to tmp_path) into tmp_path/<out>."""

    def build(sources: Sequence[Path | tuple[str, str]], out: str = "program.so", **kwargs: object) -> Path:
        paths: list[Path] = []
        for src in sources:
            if isinstance(src, tuple):
                path = tmp_path / src[0]
                path.write_text(src[1])
                paths.append(path)
            else:
                paths.append(Path(src))
        return build_program(paths, tmp_path / out, **kwargs)  # type: ignore[arg-type]

    return build


@pytest.fixture(scope="session")
def probe_elf(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The probe program (tests/programs/toolchain/c/probe.c), built once per session."""
    out = tmp_path_factory.mktemp("probe") / "probe.so"
    return build_program([PROBE_SOURCE], out).read_bytes()


@dataclass
class Probe:
    """The probe program loaded in a fresh LiteSVM, with a funded payer."""

    svm: LiteSVM
    program_id: Pubkey
    payer: Keypair
    signers: list[Keypair] = field(default_factory=list)

    def call(
        self,
        op: int,
        data: bytes = b"",
        accounts: Sequence[AccountMeta] = (),
        signers: Sequence[Keypair] = (),
    ) -> SentTx:
        """Sends one probe instruction (op byte + data) and returns the outcome."""
        ix = Instruction(self.program_id, bytes([op]) + data, list(accounts))
        return send(self.svm, self.payer, [ix], list(signers))


@pytest.fixture
def probe(probe_elf: bytes) -> Probe:
    """The probe program in a fresh LiteSVM (standard builtins, sysvars and SPL programs)."""
    svm = LiteSVM().with_transaction_history(0)
    program_id = Pubkey.from_string("Probe11111111111111111111111111111111111111")
    svm.add_program(program_id, probe_elf)
    payer = Keypair.from_seed(bytes(range(32)))
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    return Probe(svm, program_id, payer)
