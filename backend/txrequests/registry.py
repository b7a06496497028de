"""The actions a wallet can ask a transaction for. Each domain registers its own (``register``).

An action's ``plan`` function gets the request context, the query parameters and the wallet (``account``)
and returns the instructions (plus what the wallet is told); it checks what it can know first and raises
:class:`backend.chain.txbuild.WouldFail` with the program error's name. It never trusts ``account`` for more
than the fee payer and the signer the transaction needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from sqlalchemy.orm import Session

from backend.config import Settings


@dataclass
class RequestContext:
    """What a planner may use: the database session, settings, the chain client and the server time."""

    session: Session
    settings: Settings
    client: Any  # solana.rpc.api.Client (typed loosely: planners that need no chain never touch it)
    now: int


@dataclass(frozen=True)
class Plan:
    """What an action builds: instructions and the message shown in the wallet."""

    instructions: list[Instruction]
    message: str
    #: Programs beyond the base allowlist this plan may call (e.g. the staking program's id).
    programs: frozenset[Pubkey] = frozenset()


@dataclass(frozen=True)
class Param:
    """A documented query parameter of an action."""

    name: str
    description: str
    required: bool = True


@dataclass(frozen=True)
class Action:
    """A transaction-request action: ``GET/POST /tx/{name}``."""

    name: str
    label: str
    plan: Callable[[RequestContext, Mapping[str, str], Pubkey], Plan]
    params: tuple[Param, ...] = field(default_factory=tuple)
    description: str = ""


ACTIONS: dict[str, Action] = {}


def register(action: Action) -> Action:
    """Add (or replace, for tests) an action."""
    ACTIONS[action.name] = action
    return action
