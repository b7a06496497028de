"""The payment validator (pure): what each transfer naming a reference does to an invoice."""

from __future__ import annotations

import pytest

from backend.payments.validator import (
    CREDIT,
    IGNORED_FAILED,
    IGNORED_NOT_TREASURY,
    WRONG_MINT,
    Terms,
    Transfer,
    evaluate,
)

IO_MINT, USDC_MINT, T_IO, T_USDC, OTHER = "ioMint", "usdcMint", "treasuryIO", "treasuryUSDC", "someone"
TERMS = Terms(amount=1_000, mint=IO_MINT, destination=T_IO, expires_at=500, treasury_accounts={T_IO: IO_MINT,
              T_USDC: USDC_MINT})  # fmt: skip


def t(amount: int, *, status: str = "finalized", mint: str | None = IO_MINT, dest: str = T_IO, failed: bool = False,
      at: int = 100, kind: str = "transferChecked", path: str = "1") -> Transfer:  # fmt: skip
    return Transfer(f"sig{amount}{status}{path}", path, 5, at, kind, mint, amount, "payer", dest, failed, status)


@pytest.mark.parametrize(
    ("transfers", "now", "status", "paid", "pending", "flags"),
    [
        ([], 100, "open", 0, 0, []),
        ([], 501, "expired", 0, 0, []),
        ([t(1_000, status="confirmed")], 100, "seen", 0, 1_000, []),
        ([t(1_000)], 100, "paid", 1_000, 0, []),
        ([t(400)], 100, "partially_paid", 400, 0, []),
        ([t(400), t(600, status="confirmed", path="2")], 100, "seen", 400, 600, []),
        ([t(400), t(600, path="2")], 100, "paid", 1_000, 0, []),
        ([t(1_500)], 100, "overpaid", 1_500, 0, []),
        ([t(1_000, at=600)], 700, "paid", 1_000, 0, ["late"]),
        ([t(400)], 700, "partially_paid", 400, 0, []),  # something arrived in time: not expired
        ([t(1_000, mint=USDC_MINT, dest=T_USDC)], 100, "open", 0, 0, ["wrong_mint"]),
        ([t(1_000, mint=USDC_MINT, dest=T_USDC)], 600, "expired", 0, 0, ["wrong_mint"]),
        ([t(1_000, failed=True)], 100, "open", 0, 0, []),
        ([t(1_000, dest=OTHER)], 100, "open", 0, 0, []),  # not into the treasury: ignored
        ([t(1_000, mint=None)], 100, "paid", 1_000, 0, []),  # plain transfer: the mint is the destination's
        ([t(1_000, kind="burn")], 100, "open", 0, 0, []),
    ],
)
def test_status(transfers: list[Transfer], now: int, status: str, paid: int, pending: int, flags: list[str]) -> None:
    st = evaluate(TERMS, transfers, now)
    assert (st.status, st.paid, st.pending, st.flags) == (status, paid, pending, flags)
    assert st.excess == max(0, paid - TERMS.amount)


def test_outcomes() -> None:
    st = evaluate(
        TERMS,
        [t(1), t(2, failed=True), t(3, mint=USDC_MINT, dest=T_USDC), t(4, dest=OTHER), t(5, mint=USDC_MINT)],
        0,
    )
    assert [c.outcome for c in st.transfers] == [CREDIT, IGNORED_FAILED, WRONG_MINT, IGNORED_NOT_TREASURY,
                                                 IGNORED_NOT_TREASURY]  # fmt: skip
