"""node_performance: what the marketplace shows per node (uptime windows, compute, rewards, APY basis)."""

from __future__ import annotations

from solders.keypair import Keypair
from sqlalchemy.orm import Session, sessionmaker

from backend.epochs.clock import EpochClock
from backend.epochs.service import node_performance
from backend.models.epochs import COMPUTED, OPEN, Epoch, EpochNode
from backend.models.telemetry import EpochUptime, UsageRecord

HOUR, DAY = 3600, 86_400
T0 = 1_700_000_000 // 3600 * 3600  # genesis on an hour
CLOCK = EpochClock(T0, HOUR, 900)
ALL = (2**60 - 1).to_bytes(8, "little")  # all 60 minutes of an hourly epoch


def key() -> str:
    return str(Keypair().pubkey())


def uptime(s: Session, node_key: str, epoch: int, bitmap: bytes = ALL) -> None:
    minutes = int.from_bytes(bitmap, "little").bit_count()
    s.add(EpochUptime(node_key=node_key, epoch=epoch, minutes=bitmap, up_minutes=minutes, last_minute=0,
                      streak_minutes=0))  # fmt: skip


def test_uptime_windows_compute_rewards_and_payouts(session_factory: sessionmaker[Session]) -> None:
    now = T0 + 40 * DAY  # on an hour: epoch now is just starting
    current = CLOCK.epoch_at(now)
    a, b, nobody = key(), key(), key()
    with session_factory.begin() as s:
        for e in range(current - 24, current):  # A: every minute of the last 24 hours
            uptime(s, a, e)
        uptime(s, b, current - 3, (2**30 - 1).to_bytes(8, "little"))  # B: 30 minutes
        uptime(s, b, current - 30 * 24 - 5)  # B: an hour before the 30-day window: not counted
        s.add(UsageRecord(job_id="j1", period_start=now - 2 * DAY, period_end=now - 2 * DAY + 600, node=a,
                          gpu_seconds=3600, recorded_at=now, source="k"))  # fmt: skip
        s.add(UsageRecord(job_id="j2", period_start=now - 8 * DAY, period_end=now - 8 * DAY + 600, node=a,
                          gpu_seconds=1000, recorded_at=now, source="k"))  # fmt: skip
        for e in range(current - 200, current):  # 200 computed epochs; A earns e units in epoch e
            s.add(Epoch(epoch=e, state=COMPUTED, start_time=CLOCK.start(e), end_time=CLOCK.end(e), post_attempts=0,
                        updated_at=now))  # fmt: skip
            s.add(EpochNode(epoch=e, node=f"n-{a[:8]}", node_key=a, operator=a, gpu_model="A100", gpu_units=1,
                            uptime_seconds=0, continuous_uptime_seconds=0, verified=True, slashed=False,
                            compute_gpu_seconds=0, total_stake=1, eligible=True, reasons="", reward=e,
                            availability_reward=e, compute_reward=0, operator_commission=0))  # fmt: skip
        s.add(Epoch(epoch=current, state=OPEN, start_time=CLOCK.start(current), end_time=CLOCK.end(current),
                    post_attempts=0, updated_at=now))  # fmt: skip
    with session_factory() as s:
        perf = node_performance(s, [a, b, nobody], now, clock=CLOCK)
    pa, pb, pn = perf[a], perf[b], perf[nobody]
    assert (pa.uptime_bps_24h, pa.uptime_bps_7d, pa.uptime_bps_30d) == (10_000, 10_000 // 7, 10_000 // 30)
    assert pb.uptime_bps_24h == 30 * 60 * 10_000 // DAY and pb.uptime_bps_30d == 30 * 60 * 10_000 // (30 * DAY)
    assert pa.compute_gpu_seconds_7d == 3600 and pb.compute_gpu_seconds_7d == 0
    assert pa.rewards == tuple((e, e) for e in range(current - 24, current))
    # epochs that ended in the last 7 days: the 7 * 24 before `current`
    assert pa.payouts_7d == sum(range(current - 7 * 24, current))
    assert pb.rewards == tuple((e, 0) for e in range(current - 24, current)) and pb.payouts_7d == 0
    assert (pn.uptime_bps_24h, pn.compute_gpu_seconds_7d, pn.payouts_7d) == (0, 0, 0)


def test_windows_longer_than_the_network_are_cut_to_its_life(session_factory: sessionmaker[Session]) -> None:
    now = T0 + 2 * DAY
    a = key()
    with session_factory.begin() as s:
        for e in range(0, 48):
            uptime(s, a, e)
    with session_factory() as s:
        p = node_performance(s, [a], now, clock=CLOCK)[a]
    assert (p.uptime_bps_24h, p.uptime_bps_7d, p.uptime_bps_30d) == (10_000, 10_000, 10_000)
    assert node_performance(s, [], now, clock=CLOCK) == {}
