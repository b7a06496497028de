"""Fixtures of the staking program tests: a LiteSVM with the program initialized."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.programs.staking.harness import Env, make_env


@pytest.fixture
def env(staking_so: Path) -> Env:
    """A fresh LiteSVM with the program loaded and Config initialized with default parameters."""
    return make_env(staking_so)
