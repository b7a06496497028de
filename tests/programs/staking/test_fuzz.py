"""Malformed instruction data never crashes the program: every call either succeeds or fails with one of the
program's named errors (never an access violation or another runtime abort), and a failure changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.instruction import Instruction

from backend.chain.staking import error_names
from tests.programs.staking.test_attack_matrix import NAMES, valid_call
from tests.programs.staking.world import World, build_world


@pytest.fixture
def w(env: object) -> World:
    world = build_world(env)  # type: ignore[arg-type]
    world.env.advance(14 * 86400)
    return world


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=120), cut=st.integers(min_value=0, max_value=64))
def test_random_instruction_data_is_rejected_cleanly(w: World, name: str, tail: bytes, cut: int) -> None:
    env = w.env
    ix, signers = valid_call(w, name)
    data = bytes(ix.data)
    fuzzed = data[:8] + (data[8 : 8 + cut] + tail)
    keys = [m.pubkey for m in ix.accounts]
    before = env.snapshot(keys)
    r = env.send(Instruction(ix.program_id, fuzzed, ix.accounts), signers)
    if not r.ok:
        assert r.error_code in error_names(), f"{name}: {r.error}\n" + "\n".join(r.logs[-4:])
        assert env.snapshot(keys) == before
