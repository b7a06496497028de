"""iog_mul_div / iog_mul_div_ceil and the checked u64 helpers, run on chain, against Python big-int."""

from __future__ import annotations

import random
import struct

import pytest

from tests.programs.toolchain.fixtures import Probe

OP_MUL_DIV, OP_CHECKED = 5, 9
U64 = 2**64 - 1
INVALID_ARGUMENT = 2 << 32
ARITHMETIC_OVERFLOW = 24 << 32
BATCH = 40  # triples per transaction (transaction size limit)


def expected_mul_div(a: int, b: int, c: int, ceil: bool) -> tuple[int, int]:
    """(error code, quotient) as the SDK defines them."""
    if c == 0:
        return INVALID_ARGUMENT, 0
    q = -(-a * b // c) if ceil else a * b // c
    return (ARITHMETIC_OVERFLOW, 0) if q > U64 else (0, q)


def run_mul_div(probe: Probe, triples: list[tuple[int, int, int]], ceil: bool) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for i in range(0, len(triples), BATCH):
        chunk = triples[i : i + BATCH]
        data = bytes([1 if ceil else 0]) + b"".join(struct.pack("<QQQ", *t) for t in chunk)
        res = probe.call(OP_MUL_DIV, data)
        assert res.ok, res.logs
        out += [struct.unpack_from("<QQ", res.return_data, 16 * j) for j in range(len(chunk))]
    return out


EDGE_CASES: list[tuple[int, int, int]] = [
    (0, 0, 1),
    (0, U64, 1),
    (1, 1, 0),
    (U64, U64, 0),
    (U64, 1, 1),
    (U64, U64, U64),
    (U64, U64, U64 - 1),  # quotient just above u64
    (U64, U64 - 1, U64),
    (U64, 2, 2),
    (U64, 2, 1),  # overflow
    (2**63, 2, 1),  # exactly 2^64: overflow
    (2**63, 2, 2),
    (2**32, 2**32, 2**32 + 1),
    (2**32 - 1, 2**32 + 1, 3),
    (10**18, 10**18, 10**18),
    (123_456_789_123, 987_654_321_987, 1_000_000_007),
    (U64, 3, 7),
    (7, 3, U64),
    (U64 - 1, U64 - 1, U64),
    (2**64 - 2**32, 2**32, 2**32 + 7),
    (1, 1, 1),
    (5, 3, 2),  # 7.5 -> 7 / 8
    (100_000_000, 3_333, 10_000),
]


def _random_cases(seed: int, n: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        kind = rng.randrange(6)
        if kind == 0:  # anything
            a, b, c = rng.getrandbits(64), rng.getrandbits(64), rng.getrandbits(64)
        elif kind == 1:  # small denominators
            a, b, c = rng.getrandbits(64), rng.getrandbits(rng.randint(1, 64)), rng.randint(0, 1000)
        elif kind == 2:  # quotient close to 2^64
            c = rng.getrandbits(64) or 1
            a = rng.getrandbits(64) or 1
            b = min(U64, (2**64 * c) // a + rng.randint(-2, 2))
            b = max(b, 0)
        elif kind == 3:  # money-like: amount * bps / 10_000, stake * reward / total
            a, b, c = rng.randint(0, 10**17), rng.randint(0, 10**17), rng.randint(1, 10**18)
        elif kind == 4:  # mixed widths
            a, b, c = (rng.getrandbits(rng.randint(1, 64)) for _ in range(3))
        else:  # divisors that stress the quotient-digit correction of the 128/64 division
            c = rng.choice(
                [2**63, 2**63 + 1, U64, 2**32 + 1, 2**32 - 1, (2**32 - 1) << 32, rng.getrandbits(34)]
            )
            c = c or 1
            n = rng.choice([U64, 2**63, rng.getrandbits(64)]) * c + rng.randrange(c)
            a = rng.getrandbits(64) or 1
            b = min(U64, n // a)
        cases.append((a, b, c))
    return cases


class TestMulDiv:
    @pytest.mark.parametrize("ceil", [False, True], ids=["floor", "ceil"])
    def test_edge_cases_match_python(self, probe: Probe, ceil: bool) -> None:
        got = run_mul_div(probe, EDGE_CASES, ceil)
        for case, result in zip(EDGE_CASES, got, strict=True):
            err, q = expected_mul_div(*case, ceil=ceil)
            assert result[0] == err, case
            if err == 0:
                assert result[1] == q, case

    def test_random_cases_match_python(self, probe: Probe) -> None:
        cases = _random_cases(seed=20261126, n=320)
        got = run_mul_div(probe, cases, ceil=False)
        mismatches = [
            (c, r)
            for c, r in zip(cases, got, strict=True)
            if expected_mul_div(*c, ceil=False) != (r[0], r[1] if r[0] == 0 else 0)
        ]
        assert mismatches == []

    def test_random_ceil_cases_match_python(self, probe: Probe) -> None:
        cases = _random_cases(seed=7, n=120)
        got = run_mul_div(probe, cases, ceil=True)
        for c, r in zip(cases, got, strict=True):
            assert expected_mul_div(*c, ceil=True) == (r[0], r[1] if r[0] == 0 else 0), c


class TestCheckedOps:
    def test_add_sub_mul_flags_and_wrapped_values(self, probe: Probe) -> None:
        rng = random.Random(3)
        pairs = [
            (0, 0),
            (U64, 1),
            (1, U64),
            (U64, U64),
            (2**32, 2**32),
            (2**32 - 1, 2**32 + 1),
            (5, 7),
            (7, 5),
        ]
        pairs += [(rng.getrandbits(64), rng.getrandbits(rng.randint(0, 64))) for _ in range(28)]
        data = b"".join(struct.pack("<QQ", a, b) for a, b in pairs)
        res = probe.call(OP_CHECKED, data)
        assert res.ok, res.logs
        for i, (a, b) in enumerate(pairs):
            add_o, add_v, sub_o, sub_v, mul_o, mul_v = struct.unpack_from("<BQBQBQ", res.return_data, 27 * i)
            assert (add_o, add_v) == (a + b > U64, (a + b) & U64), (a, b)
            assert (sub_o, sub_v) == (b > a, (a - b) & U64), (a, b)
            assert (mul_o, mul_v) == (a * b > U64, (a * b) & U64), (a, b)
