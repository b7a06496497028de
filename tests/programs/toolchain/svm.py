"""LiteSVM helpers for the toolchain tests: send instructions, deploy through the BPF upgradeable loader."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import FeatureSet, LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
BUFFER_METADATA_LEN = 37  # UpgradeableLoaderState::Buffer: u32 tag + Option<Pubkey>
PROGRAM_ACCOUNT_LEN = 36  # UpgradeableLoaderState::Program: u32 tag + Pubkey
WRITE_CHUNK = 900


@dataclass
class SentTx:
    """The outcome of one transaction: logs, compute units, return data, error (None on success)."""

    ok: bool
    logs: list[str]
    compute_units: int
    return_data: bytes
    error: object | None


def deploy_capable_svm() -> LiteSVM:
    """A LiteSVM whose builtins come from the default feature set, so loader-v3 deploys are accepted."""
    return (
        LiteSVM.default()
        .with_builtins(FeatureSet.default())
        .with_sysvars()
        .with_spl_programs()
        .with_lamports(1_000_000_000_000_000)
        .with_transaction_history(0)
    )


def send(
    svm: LiteSVM, payer: Keypair, ixs: list[Instruction], signers: list[Keypair] | None = None
) -> SentTx:
    """Signs (payer first) and sends instructions in one transaction; refreshes the blockhash afterwards."""
    keys = [payer, *(signers or [])]
    tx = Transaction(keys, Message(ixs, payer.pubkey()), svm.latest_blockhash())
    res = svm.send_transaction(tx)
    svm.expire_blockhash()
    if isinstance(res, FailedTransactionMetadata):
        meta = res.meta()
        rd = meta.return_data()
        return SentTx(
            False, list(meta.logs()), meta.compute_units_consumed(), bytes(rd.data) if rd else b"", res.err()
        )
    assert isinstance(res, TransactionMetadata)
    rd = res.return_data()
    return SentTx(True, list(res.logs()), res.compute_units_consumed(), bytes(rd.data) if rd else b"", None)


def _loader_ix(data: bytes, metas: list[tuple[Pubkey, bool, bool]]) -> Instruction:
    return Instruction(LOADER_V3, data, [AccountMeta(k, is_signer=s, is_writable=w) for k, s, w in metas])


def deploy_upgradeable(svm: LiteSVM, payer: Keypair, elf: bytes) -> tuple[Pubkey, list[SentTx]]:
    """Deploys `elf` through the BPF upgradeable loader (buffer, chunked writes, DeployWithMaxDataLen).

    Returns the program id and every transaction's outcome (the last is the deploy).
    Raises AssertionError with the loader's logs when a step fails.
    """
    buffer, program = Keypair(), Keypair()
    rent = svm.minimum_balance_for_rent_exemption
    steps: list[SentTx] = []
    create_buffer = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=buffer.pubkey(),
            lamports=rent(BUFFER_METADATA_LEN + len(elf)),
            space=BUFFER_METADATA_LEN + len(elf),
            owner=LOADER_V3,
        )
    )
    init = _loader_ix(struct.pack("<I", 0), [(buffer.pubkey(), False, True), (payer.pubkey(), False, False)])
    steps.append(send(svm, payer, [create_buffer, init], [buffer]))
    for off in range(0, len(elf), WRITE_CHUNK):
        chunk = elf[off : off + WRITE_CHUNK]
        data = struct.pack("<IIQ", 1, off, len(chunk)) + chunk
        steps.append(
            send(
                svm,
                payer,
                [_loader_ix(data, [(buffer.pubkey(), False, True), (payer.pubkey(), True, False)])],
            )
        )
    programdata, _ = Pubkey.find_program_address([bytes(program.pubkey())], LOADER_V3)
    create_program = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=program.pubkey(),
            lamports=rent(PROGRAM_ACCOUNT_LEN),
            space=PROGRAM_ACCOUNT_LEN,
            owner=LOADER_V3,
        )
    )
    deploy = _loader_ix(
        struct.pack("<IQ", 2, 2 * len(elf)),
        [
            (payer.pubkey(), True, True),
            (programdata, False, True),
            (program.pubkey(), False, True),
            (buffer.pubkey(), False, True),
            (RENT, False, False),
            (CLOCK, False, False),
            (SYSTEM_PROGRAM, False, False),
            (payer.pubkey(), True, False),
        ],
    )
    steps.append(send(svm, payer, [create_program, deploy], [program]))
    for step in steps:
        assert step.ok, f"deploy step failed: {step.error}\n" + "\n".join(step.logs)
    return program.pubkey(), steps
