"""io.net's published emission schedule, exact in integer base units.

Schedule: 175,319 hourly epochs (0 .. 175,318) over 20 years. Epoch 0 emits 4,566.21 IO (456,621,000,000 base
units, IO has 8 decimals) and each epoch emits 0.0013886952 % less than the one before, i.e. the ratio is
exactly ``r = 999986113048 / 10**12``. Epoch ``n`` emits ``floor(V0 * r**n)``, never more than what remains of
300,000,000 IO; the last epoch emits exactly what remains (396.57629970 IO), so the total is exactly
300,000,000 IO; later epochs emit 0.

How ``floor(V0 * r**n)`` is computed exactly: a fixed-point recurrence with ``P = 128`` guard bits,
``x_0 = V0 * 2**P`` and ``x_{n+1} = floor(x_n * 999986113048 / 10**12)``. With ``X_n = V0 * r**n * 2**P`` the
error ``e_n = X_n - x_n`` satisfies ``e_0 = 0`` and ``e_{n+1} = r * e_n + frac(x_n * r) < e_n + 1``, so
``0 <= e_n < n`` for ``n >= 1``: the true value lies in ``[x_n, x_n + n)``. When
``(x_n + n) >> P == x_n >> P`` no integer boundary lies in that interval and ``x_n >> P`` is the exact floor.
Otherwise (probability about ``n / 2**128``; never for this schedule, but the path is tested with few guard
bits) the value is recomputed exactly with ``decimal`` at a precision large enough for ``999986113048**n`` to
be an exact integer (``Inexact``/``Rounded`` trapped) and a single explicit ``ROUND_FLOOR``: there is no
rounding that could differ between machines.

The whole table (values and prefix sums) is built once per process, lazily: about 0.1-0.2 s and ~15 MB; after
that :func:`emission` and :func:`emitted_before` are list lookups for any epoch.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_FLOOR, Context, Decimal, Inexact, Rounded
from functools import lru_cache

from backend.rewards.errors import EmissionEpochError

IO_DECIMALS = 8
V0 = 456_621_000_000
RATIO_NUMERATOR = 999_986_113_048
RATIO_DENOMINATOR = 10**12
EPOCHS = 175_319
LAST_EPOCH = EPOCHS - 1
TOTAL_EMISSION = 300_000_000 * 10**IO_DECIMALS
GUARD_BITS = 128


def schedule_value_exact(n: int) -> int:
    """``floor(V0 * r**n)`` computed exactly with decimal arithmetic (~0.15 s for the last epoch)."""
    if n < 0:
        raise EmissionEpochError(f"epoch must be >= 0, got {n}")
    digits = 12 * n + 26
    ctx = Context(
        prec=digits,
        Emax=decimal.MAX_EMAX,
        Emin=decimal.MIN_EMIN,
        traps=[Inexact, Rounded],
        rounding=ROUND_FLOOR,
    )
    scaled = ctx.multiply(ctx.power(Decimal(RATIO_NUMERATOR), n), Decimal(V0))
    return int(ctx.scaleb(scaled, -12 * n).to_integral_value(rounding=ROUND_FLOOR, context=ctx))


def build_schedule(epochs: int = EPOCHS, guard_bits: int = GUARD_BITS) -> tuple[list[int], int]:
    """The first ``epochs`` schedule values ``floor(V0 * r**n)``, and how many needed the exact fallback."""
    x = V0 << guard_bits
    values: list[int] = []
    fallbacks = 0
    for n in range(epochs):
        q = x >> guard_bits
        if (x + n) >> guard_bits != q:
            fallbacks += 1
            q = schedule_value_exact(n)
        values.append(q)
        x = x * RATIO_NUMERATOR // RATIO_DENOMINATOR
    return values, fallbacks


@lru_cache(maxsize=1)
def _table() -> tuple[list[int], list[int]]:
    """(emissions per epoch, prefix sums with ``prefix[n]`` = emitted by epochs ``< n``)."""
    values, _ = build_schedule()
    emissions: list[int] = []
    prefix = [0]
    emitted = 0
    for n, value in enumerate(values):
        remaining = TOTAL_EMISSION - emitted
        amount = remaining if n == LAST_EPOCH else min(value, remaining)
        emissions.append(amount)
        emitted += amount
        prefix.append(emitted)
    return emissions, prefix


def _check_epoch(epoch: int) -> None:
    if type(epoch) is not int or epoch < 0:
        raise EmissionEpochError(f"epoch must be a non-negative integer, got {epoch!r}")


def emission(epoch: int) -> int:
    """Base units emitted in ``epoch`` (0 after the last epoch)."""
    _check_epoch(epoch)
    if epoch > LAST_EPOCH:
        return 0
    return _table()[0][epoch]


def emitted_before(epoch: int) -> int:
    """Base units emitted by all epochs before ``epoch`` (the prefix sum)."""
    _check_epoch(epoch)
    return _table()[1][min(epoch, EPOCHS)]


def format_io(amount: int) -> str:
    """Base units as an IO decimal string with all 8 decimals (``456621000000`` -> ``"4566.21000000"``)."""
    whole, frac = divmod(amount, 10**IO_DECIMALS)
    return f"{whole}.{frac:0{IO_DECIMALS}d}"
