"""Exactly-once sending by the treasury key against a real anvil: crashes before and after the send, repeats,
and same-nonce replacement of a stuck transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.errors import Conflict
from backend.evm.keys import load_key
from backend.evm.sender import Sender
from backend.models.evm import OUT_MINED, EvmTxAttempt
from tests.fixtures.evm import EvmDeployment

USDC = 10**6


@pytest.fixture
def funded(evm_deployment: EvmDeployment) -> EvmDeployment:
    """The treasury holds 100 USDC (a plain transfer from alice)."""
    evm_deployment.transfer("alice", evm_deployment.boot.treasury, 100 * USDC)
    return evm_deployment


def _sender(dep: EvmDeployment, sessions: sessionmaker[Session]) -> Sender:
    return Sender(sessions, dep.client, load_key(dep.keys_dir / "evm-treasury.json"))


def _bob(dep: EvmDeployment) -> int:
    return dep.client.token_balance(dep.boot.token.address, dep.boot.buyer("bob").address)


class TestExactlyOnce:
    def test_a_key_is_paid_once_however_often_it_is_submitted(
        self, funded: EvmDeployment, session_factory: sessionmaker[Session]
    ) -> None:
        dep, sender = funded, _sender(funded, session_factory)
        before, nonce = _bob(dep), dep.client.nonce(dep.boot.treasury)
        bob = dep.boot.buyer("bob").address
        first = sender.token_transfer("refund:1", dep.boot.token.address, bob, 5 * USDC)
        again = sender.token_transfer("refund:1", dep.boot.token.address, bob, 5 * USDC)
        settled = sender.ensure_sent("refund:1")
        assert settled.status == OUT_MINED and first.tx_hash == again.tx_hash == settled.tx_hash
        assert _bob(dep) - before == 5 * USDC
        assert dep.client.nonce(dep.boot.treasury) == nonce + 1
        with pytest.raises(Conflict):
            sender.token_transfer("refund:1", dep.boot.token.address, bob, 6 * USDC)

    def test_crash_after_recording_before_sending_sends_the_recorded_bytes(
        self, funded: EvmDeployment, session_factory: sessionmaker[Session]
    ) -> None:
        dep = funded
        bob = dep.boot.buyer("bob").address
        data = dep.client.call_data("Token", dep.boot.token.address, "transfer", bob, 7 * USDC)
        recorded = _sender(dep, session_factory).record("payout:9", dep.boot.token.address, data)  # then "crash"
        assert dep.client.transaction(recorded.tx_hash) is None  # the node never saw it
        before = _bob(dep)
        resumed = _sender(dep, session_factory).resume()  # a new process
        assert [r.tx_hash for r in resumed] == [recorded.tx_hash]
        assert _sender(dep, session_factory).ensure_sent("payout:9").status == OUT_MINED
        assert _bob(dep) - before == 7 * USDC

    def test_crash_after_sending_does_not_send_twice(
        self, funded: EvmDeployment, session_factory: sessionmaker[Session]
    ) -> None:
        dep = funded
        bob = dep.boot.buyer("bob").address
        data = dep.client.call_data("Token", dep.boot.token.address, "transfer", bob, 3 * USDC)
        sender = _sender(dep, session_factory)
        recorded = sender.record("refund:2", dep.boot.token.address, data)
        with session_factory() as s:
            raw = s.get(EvmTxAttempt, recorded.tx_hash).raw
        dep.client.send_raw(raw)  # sent and mined, then the process died before it noted anything
        before, nonce = _bob(dep), dep.client.nonce(dep.boot.treasury)
        out = _sender(dep, session_factory).submit("refund:2", dep.boot.token.address, data)
        assert out.status == OUT_MINED and out.tx_hash == recorded.tx_hash
        assert (_bob(dep), dep.client.nonce(dep.boot.treasury)) == (before, nonce)


class TestReplacement:
    def test_stuck_transaction_is_replaced_with_the_same_nonce_and_mined_once(
        self, funded: EvmDeployment, session_factory: sessionmaker[Session]
    ) -> None:
        dep, sender = funded, _sender(funded, session_factory)
        bob = dep.boot.buyer("bob").address
        dep.client.request("evm_setAutomine", [False])
        before = _bob(dep)
        first = sender.token_transfer("refund:3", dep.boot.token.address, bob, 2 * USDC)
        assert first.status != OUT_MINED
        second = sender.replace("refund:3")
        assert second.nonce == first.nonce and second.tx_hash != first.tx_hash and second.attempts == 2
        dep.mine(1)
        done = sender.ensure_sent("refund:3")
        assert done.status == OUT_MINED and done.tx_hash == second.tx_hash
        assert _bob(dep) - before == 2 * USDC  # one of the two versions, once
        assert dep.client.receipt(first.tx_hash) is None
        with session_factory() as s:
            assert s.scalar(select(func.count()).select_from(EvmTxAttempt)) == 2
