"""The EVM indexer against a real anvil: payments, unmatched transfers, confirmations, reorgs, restarts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.evm.client import EvmClient
from backend.evm.indexer import DeepReorg, EvmIndexer, Watch
from backend.evm.service import invoice_payments, payment_instructions, treasury_check, unmatched_transfers
from backend.models.evm import PAID, TRANSFER_IN, EvmCursor, EvmPaymentLog
from tests.fixtures.evm import EvmDeployment

N = 3  # confirmations in these tests
USDC = 10**6
INV_A, INV_B = b"\xaa" * 32, b"\xbb" * 32


def chain_log_keys(dep: EvmDeployment) -> set[tuple[str, int]]:
    """(tx_hash, log_index) of every Paid and treasury Transfer log on the chain, read in one eth_getLogs each."""
    from backend.evm.contracts import PAID_TOPIC, TRANSFER_TOPIC, address_topic

    c, head, tt = dep.client, dep.client.block_number(), address_topic(dep.boot.treasury)
    logs = [*c.get_logs(0, head, dep.boot.router.address, [PAID_TOPIC]),
            *c.get_logs(0, head, dep.boot.token.address, [TRANSFER_TOPIC, None, tt]),
            *c.get_logs(0, head, dep.boot.token.address, [TRANSFER_TOPIC, tt])]
    return {(raw["transactionHash"], int(raw["logIndex"], 16)) for raw in logs}


def _indexer(dep: EvmDeployment, engine: Engine, log_range: int = 2000) -> EvmIndexer:
    return EvmIndexer(engine, EvmClient(dep.node.rpc_url), Watch.from_boot(dep.boot), log_range, N)


def _status(session: Session, dep: EvmDeployment, invoice: bytes, amount: int) -> tuple[int, int]:
    """(seen amount, confirmed amount) of an invoice."""
    session.expire_all()
    instr = payment_instructions(Watch.from_boot(dep.boot), "0x" + invoice.hex(), amount)
    got = invoice_payments(session, Watch.from_boot(dep.boot), instr, N)
    return got.seen_amount, got.confirmed_amount


class TestPayments:
    def test_router_payment_is_seen_then_money_after_n_blocks(
        self, evm_deployment: EvmDeployment, db_engine: Engine, db_session: Session
    ) -> None:
        dep = evm_deployment
        idx = _indexer(dep, db_engine)
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 5 * USDC) == (0, 0)  # not paid yet, and the indexer has read
        dep.pay("alice", INV_A, 5 * USDC)
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 5 * USDC) == (5 * USDC, 0)  # seen at 1 confirmation
        dep.mine(N - 2)
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 5 * USDC) == (5 * USDC, 0)  # N-1 confirmations
        dep.mine(1)
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 5 * USDC) == (5 * USDC, 5 * USDC)

    def test_plain_transfer_is_stored_and_listed_unmatched(
        self, evm_deployment: EvmDeployment, db_engine: Engine, db_session: Session
    ) -> None:
        dep = evm_deployment
        dep.pay("alice", INV_A, 2 * USDC)
        dep.transfer("bob", dep.boot.treasury, 7 * USDC)
        _indexer(dep, db_engine).pass_once()
        rows = db_session.scalars(select(EvmPaymentLog).order_by(EvmPaymentLog.block_number)).all()
        kinds = [(r.kind, r.via_router, int(r.amount_raw)) for r in rows]
        assert (PAID, False, 2 * USDC) in kinds and (TRANSFER_IN, True, 2 * USDC) in kinds
        assert (TRANSFER_IN, False, 7 * USDC) in kinds
        unmatched = unmatched_transfers(db_session, Watch.from_boot(dep.boot), N)
        assert [(u.payer, u.amount) for u in unmatched] == [(dep.boot.buyer("bob").address, 7 * USDC)]
        assert _status(db_session, dep, INV_A, 2 * USDC)[0] == 2 * USDC

    def test_treasury_check_matches_balance_at_confirmed_head(
        self, evm_deployment: EvmDeployment, db_engine: Engine, db_session: Session
    ) -> None:
        dep = evm_deployment
        dep.pay("alice", INV_A, 3 * USDC)
        dep.mine(N)
        dep.transfer("bob", dep.boot.treasury, 1 * USDC)  # not yet confirmed: outside the check's block
        _indexer(dep, db_engine).pass_once()
        check = treasury_check(db_session, dep.client, Watch.from_boot(dep.boot), N)
        assert check is not None and check.ok
        assert check.chain_balance == 3 * USDC


class TestReorgs:
    def test_reorg_below_depth_unpays_and_above_depth_never_changes(
        self, evm_deployment: EvmDeployment, db_engine: Engine, db_session: Session
    ) -> None:
        dep = evm_deployment
        idx = _indexer(dep, db_engine)
        dep.pay("alice", INV_A, 4 * USDC)
        dep.mine(N + 2)
        dep.pay("bob", INV_B, 6 * USDC)  # its approve and pay are the last two blocks
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 4 * USDC) == (4 * USDC, 4 * USDC)
        assert _status(db_session, dep, INV_B, 6 * USDC) == (6 * USDC, 0)
        a_row = db_session.scalars(select(EvmPaymentLog).where(EvmPaymentLog.kind == PAID)).first()
        dep.client.request("anvil_reorg", [N, []])  # replaces the last N blocks with empty ones
        result = idx.pass_once()
        assert len(result.rollbacks) == 1
        assert _status(db_session, dep, INV_B, 6 * USDC) == (0, 0)  # back to unpaid
        assert _status(db_session, dep, INV_A, 4 * USDC) == (4 * USDC, 4 * USDC)
        db_session.expire_all()
        again = db_session.get(EvmPaymentLog, (a_row.chain_id, a_row.tx_hash, a_row.log_index))
        assert (again.block_number, again.block_hash) == (a_row.block_number, a_row.block_hash)
        assert db_session.get(EvmCursor, Watch.from_boot(dep.boot).name).reorgs == 1

    def test_reorg_that_drops_counted_money_changes_nothing(
        self, evm_deployment: EvmDeployment, db_engine: Engine, db_session: Session
    ) -> None:
        dep = evm_deployment
        idx = _indexer(dep, db_engine)
        dep.pay("alice", INV_A, 4 * USDC)
        dep.mine(N)
        idx.pass_once()
        assert _status(db_session, dep, INV_A, 4 * USDC) == (4 * USDC, 4 * USDC)
        dep.client.request("anvil_reorg", [N + 2, []])
        with pytest.raises(DeepReorg):
            idx.pass_once()
        assert _status(db_session, dep, INV_A, 4 * USDC) == (4 * USDC, 4 * USDC)


class TestRanges:
    def test_small_ranges_and_repeated_passes_give_the_same_rows(
        self, evm_deployment: EvmDeployment, db_engine: Engine, session_factory: sessionmaker[Session]
    ) -> None:
        dep = evm_deployment
        for i in range(4):
            dep.pay("carol", bytes([i]) * 32, (i + 1) * USDC)
        idx = _indexer(dep, db_engine, log_range=2)
        while idx.pass_once(max_ranges=1).ranges:
            pass
        idx.pass_once()
        with session_factory() as s:
            paid = s.scalars(select(EvmPaymentLog.amount).where(EvmPaymentLog.kind == PAID)).all()
            keys = set(s.execute(select(EvmPaymentLog.tx_hash, EvmPaymentLog.log_index)).tuples())
            total = s.scalar(select(func.count()).select_from(EvmPaymentLog))
        assert sorted(paid) == [USDC, 2 * USDC, 3 * USDC, 4 * USDC]
        assert keys == chain_log_keys(dep) and total == len(keys) == 8  # 4 Paid + their 4 Transfers in
