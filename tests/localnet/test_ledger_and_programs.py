"""Embedded-node lifecycle: the ledger across restarts, --reset, --bpf-program, and loader-v3 deploys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.api import Client
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from backend.chain.deploy import deploy_program
from localnet.errors import LocalnetError
from localnet.node import LocalnetNode
from tests.fixtures.localnet import run_bootstrap
from tests.localnet.helpers import send_payment, wait_status

HELLO_SO = Path(__file__).resolve().parents[1] / "resources" / "localnet" / "hello.so"
LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


class TestLedgerPersistence:
    async def test_restart_keeps_balances_and_history_and_reset_empties(
        self, localnet_factory: Callable[..., LocalnetNode], tmp_path: Path
    ) -> None:
        ledger = tmp_path / "ledger"
        n1 = localnet_factory(ledger_dir=ledger)
        boot = run_bootstrap(n1.rpc_url, tmp_path / "b.json", tmp_path / "keys", wallets=("alice",))
        reference = Keypair().pubkey()
        async with AsyncClient(n1.rpc_url) as c:
            sig = await send_payment(c, boot, 4242, "before restart", reference)
            treasury = Pubkey.from_string(boot["treasury"])
            bal = (await c.get_token_account_balance(treasury, Confirmed)).value.amount
            sol = (await c.get_balance(Pubkey.from_string(boot["wallets"][0]["pubkey"]), Confirmed)).value
            genesis = (await c.get_genesis_hash()).value
            slot = (await c.get_slot(Confirmed)).value
        n1.stop()

        n2 = localnet_factory(ledger_dir=ledger)
        async with AsyncClient(n2.rpc_url) as c:
            assert (await c.get_genesis_hash()).value == genesis
            assert (await c.get_slot(Confirmed)).value >= slot
            assert (await c.get_token_account_balance(treasury, Confirmed)).value.amount == bal
            assert (
                await c.get_balance(Pubkey.from_string(boot["wallets"][0]["pubkey"]), Confirmed)
            ).value == sol
            found = (await c.get_signatures_for_address(reference, commitment=Confirmed)).value
            assert [f.signature for f in found] == [sig]
            tx = (
                await c.get_transaction(sig, "jsonParsed", Confirmed, max_supported_transaction_version=0)
            ).value
            assert tx.transaction.meta.fee == 5000
            # the bootstrap is still there: a re-run finds the same mint and accounts (it only tops alice up
            # again: the payment spent some of her IO and SOL)
            again = run_bootstrap(n2.rpc_url, tmp_path / "b.json", tmp_path / "keys", wallets=("alice",))
            assert (again["mint"], again["treasury"]) == (boot["mint"], boot["treasury"])
            assert len(again["sent_transactions"]) == 2
            # and the chain keeps working after the restart
            await send_payment(c, boot, 1, "after restart", reference)
            assert len((await c.get_signatures_for_address(reference, commitment=Confirmed)).value) == 2
        n2.stop()

        n3 = localnet_factory(ledger_dir=ledger, reset=True)
        async with AsyncClient(n3.rpc_url) as c:
            assert (await c.get_genesis_hash()).value != genesis
            assert (await c.get_account_info(treasury, Confirmed)).value is None
            assert (await c.get_signatures_for_address(reference, commitment=Confirmed)).value == []

    def test_a_ledger_serves_one_node_at_a_time(
        self, localnet_factory: Callable[..., LocalnetNode], tmp_path: Path
    ) -> None:
        localnet_factory(ledger_dir=tmp_path / "ledger")
        with pytest.raises(LocalnetError, match="in use"):
            localnet_factory(ledger_dir=tmp_path / "ledger")


class TestPrograms:
    async def test_bpf_program_flag_loads_a_program(
        self, localnet_factory: Callable[..., LocalnetNode]
    ) -> None:
        pid = Keypair().pubkey()
        node = localnet_factory(bpf_programs=[(str(pid), HELLO_SO)])
        async with AsyncClient(node.rpc_url) as c:
            payer = await _funded(c)
            logs = await _invoke(c, payer, pid)
            assert any("hello from localnet" in line for line in logs)

    def test_bad_bpf_program_is_a_clear_error(
        self, localnet_factory: Callable[..., LocalnetNode], tmp_path: Path
    ) -> None:
        bad = tmp_path / "bad.so"
        bad.write_bytes(b"not an elf")
        with pytest.raises(LocalnetError, match="not a loadable SBF program"):
            localnet_factory(bpf_programs=[(str(Keypair().pubkey()), bad)])
        with pytest.raises(LocalnetError, match="does not exist"):
            localnet_factory(bpf_programs=[(str(Keypair().pubkey()), tmp_path / "missing.so")])
        with pytest.raises(LocalnetError, match="public key"):
            localnet_factory(bpf_programs=[("not-a-key", HELLO_SO)])

    async def test_deploy_through_upgradeable_loader(
        self, localnet_factory: Callable[..., LocalnetNode], tmp_path: Path
    ) -> None:
        node = localnet_factory(ledger_dir=tmp_path / "ledger")
        async with AsyncClient(node.rpc_url) as c:
            payer = await _funded(c, 20 * 10**9)
            program = Keypair()
            # the project's deploy client: buffer, chunked writes, DeployWithMaxDataLen, as `solana program deploy`
            sync = Client(node.rpc_url, timeout=30)
            assert await asyncio.to_thread(deploy_program, sync, payer, program, HELLO_SO) is True
            await c.get_slot()
            logs = await _invoke(c, payer, program.pubkey())
            assert any("hello from localnet" in line for line in logs)
        node.stop()
        # a deployed program survives a restart with the ledger
        node2 = localnet_factory(ledger_dir=tmp_path / "ledger")
        async with AsyncClient(node2.rpc_url) as c:
            logs = await _invoke(c, payer, program.pubkey())
            assert any("hello from localnet" in line for line in logs)


async def _funded(c: AsyncClient, lamports: int = 10**9) -> Keypair:
    kp = Keypair()
    await wait_status(c, (await c.request_airdrop(kp.pubkey(), lamports)).value, "confirmed")
    return kp


async def _send(c: AsyncClient, payer: Keypair, ixs: list[Instruction], signers: list[Keypair]) -> Any:
    bh = (await c.get_latest_blockhash(Confirmed)).value.blockhash
    sig = (await c.send_transaction(Transaction([payer, *signers], Message(ixs, payer.pubkey()), bh))).value
    await wait_status(c, sig, "confirmed")
    return sig


async def _invoke(c: AsyncClient, payer: Keypair, pid: Pubkey) -> list[str]:
    sig = await _send(c, payer, [Instruction(pid, b"", [])], [])
    tx = (await c.get_transaction(sig, "json", Confirmed)).value
    return list(tx.transaction.meta.log_messages)


def test_failed_start_releases_the_ledger(
    localnet_factory: Callable[..., LocalnetNode], tmp_path: Path
) -> None:
    with pytest.raises(LocalnetError):
        localnet_factory(ledger_dir=tmp_path / "l", bpf_programs=[("not-a-key", HELLO_SO)])
    localnet_factory(ledger_dir=tmp_path / "l")  # starts: the failed node did not keep the lock
