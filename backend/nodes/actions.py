"""Transaction requests of operators and delegators: register_node, stake, request_unstake, withdraw,
set_commission, deactivate_node (``/tx/{action}``, registered by :func:`register_actions`).

Each planner reads the chain at ``confirmed`` (:mod:`backend.nodes.onchain`) and refuses first what the program
would refuse, with the program error's IDL name (409 ``{error, detail}``); then the builder simulates. Parameters:
``node`` is the Node account (its node key is accepted too), ``amount`` a decimal string of IO base units.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from backend.chain.staking import STATUS_ACTIVE
from backend.chain.tokens import create_ata_idempotent
from backend.chain.txbuild import WouldFail
from backend.errors import InvalidInput
from backend.money import BPS, U64_MAX, format_units
from backend.nodes import onchain, rules
from backend.txrequests.registry import Action, Param, Plan, RequestContext, register

MAX_GPU_UNITS = 65_535
_DIGITS = re.compile(r"^\d{1,20}$")


def amount_param(params: Mapping[str, str], name: str = "amount") -> int:
    """A decimal string of base units in the u64 range."""
    text = params[name]
    if not _DIGITS.match(text) or int(text) > U64_MAX:
        raise InvalidInput(f"{name}: a decimal string of base units between 0 and {U64_MAX}, got {text[:40]!r}")
    return int(text)


def int_param(params: Mapping[str, str], name: str, low: int, high: int) -> int:
    """An integer parameter in ``low..high``."""
    text = params[name]
    if not re.fullmatch(r"\d{1,10}", text) or not low <= int(text) <= high:
        raise InvalidInput(f"{name}: an integer between {low} and {high}, got {text[:40]!r}")
    return int(text)


def key_param(params: Mapping[str, str], name: str) -> Pubkey:
    """A canonical base58 public key parameter."""
    try:
        key = Pubkey.from_string(params[name])
    except ValueError as exc:
        raise InvalidInput(f"{name}: not a base58 public key ({exc})") from None
    if str(key) != params[name]:
        raise InvalidInput(f"{name}: not a canonical base58 public key")
    return key


def _io(program: onchain.ProgramContext, units: int) -> str:
    return f"{format_units(units, program.decimals)} IO"


def _state(
    ctx: RequestContext, account: Pubkey | None, node: str | None
) -> tuple[onchain.ProgramContext, onchain.ChainState]:
    program = onchain.program_context(ctx.settings)
    state = onchain.read_state(ctx.client, program, node=node, owner=account)
    if state.config.params.paused:
        raise WouldFail("Paused", "the staking program is paused: only the admin can unpause it")
    return program, state


@dataclass(frozen=True)
class OnNode:
    """The chain state of an action on one node (the Node exists: read_state said NotFound otherwise)."""

    program: onchain.ProgramContext
    state: onchain.ChainState
    address: Pubkey
    node: Any
    position: Any | None


def _on_node(ctx: RequestContext, params: Mapping[str, str], account: Pubkey | None) -> OnNode:
    program, state = _state(ctx, account, params["node"])
    assert state.node_address is not None and state.node is not None  # read_state raises NotFound otherwise
    return OnNode(program, state, state.node_address, state.node, state.position)


def _fail(name: str, detail: str) -> WouldFail:
    return WouldFail(name, detail)


def _pool(node: object) -> rules.Pool:
    return rules.Pool(node.total_stake, node.total_shares, node.operator_shares)  # type: ignore[attr-defined]


def _operator_only(node: Any, account: Pubkey) -> None:
    if node.operator != account:
        raise _fail("Unauthorized", f"only the node's operator {node.operator} can do this")


# --- register_node --------------------------------------------------------------------------------------------


def register_node_instructions(
    ctx: RequestContext, operator: Pubkey, node_key: Pubkey, gpu_units: int, commission_bps: int
) -> tuple[Plan, Pubkey]:
    """Pre-check and plan register_node (shared by ``POST /nodes`` and ``/tx/register_node``); returns the plan
    and the Node account it creates."""
    program, state = _state(ctx, None, None)
    sc = program.client
    params = state.config.params
    if node_key == operator:
        raise _fail("DuplicateAccount", "the node key must be the machine's own key, not the operator's wallet")
    if not 1 <= gpu_units <= MAX_GPU_UNITS:
        raise _fail("InvalidGpuUnits", f"gpu_units must be between 1 and {MAX_GPU_UNITS}")
    if commission_bps > params.max_commission_bps:
        raise _fail(
            "CommissionTooHigh", f"commission {commission_bps} bps exceeds the maximum {params.max_commission_bps}"
        )
    if onchain.node_exists(ctx.client, program, node_key):
        raise _fail(
            "AccountAlreadyInitialized", f"node key {node_key} is already registered (Node {sc.node(node_key)})"
        )
    minimum = params.min_stake_per_gpu * gpu_units
    message = (
        f"Register node {sc.node(node_key)} ({gpu_units} GPU, commission {commission_bps} bps). "
        f"Signed by the node key first, then by your wallet. To accept delegations, stake at least "
        f"{_io(program, minimum)} on it yourself."
    )
    ix = sc.register_node(operator, node_key, gpu_units, commission_bps)
    return Plan([ix], message, programs=frozenset({sc.program_id})), sc.node(node_key)


def _plan_register(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    node_key = key_param(params, "node_key")
    gpu_units = int_param(params, "gpu_units", 1, MAX_GPU_UNITS)
    commission = int_param(params, "commission_bps", 0, BPS)
    return register_node_instructions(ctx, account, node_key, gpu_units, commission)[0]


# --- stake ----------------------------------------------------------------------------------------------------


def _plan_stake(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    amount = amount_param(params)
    on = _on_node(ctx, params, account)
    program, state, node, cfg = on.program, on.state, on.node, on.state.config
    if node.status != STATUS_ACTIVE:
        raise _fail("NodeNotActive", "the node is deactivated: it takes no new stake")
    if amount == 0:
        raise _fail("ZeroAmount", "amount must be greater than zero")
    if state.token_balance is None:
        raise _fail("InsufficientFunds", f"{account} has no IO token account ({state.token_account})")
    if state.token_balance < amount:
        raise _fail(
            "InsufficientFunds",
            f"the wallet holds {_io(program, state.token_balance)}, less than {_io(program, amount)}",
        )
    is_operator = node.operator == account
    p = cfg.params
    err = rules.check_stake(_pool(node), amount, is_operator, node.gpu_units, p.min_stake_per_gpu, p.max_delegation_bps)
    if err == "BelowMinimumStake":
        minimum = p.min_stake_per_gpu * node.gpu_units
        op_value = rules.share_value(node.operator_shares, node.total_stake, node.total_shares)
        raise _fail(
            err,
            f"the operator holds {_io(program, op_value)} on this node; delegations open at "
            f"{_io(program, minimum)} ({p.min_stake_per_gpu} base units x {node.gpu_units} GPU)",
        )
    if err == "DelegationCapExceeded":
        op_value = rules.share_value(node.operator_shares, node.total_stake, node.total_shares)
        room = rules.delegation_room(
            node.total_stake, op_value, True, node.gpu_units, p.min_stake_per_gpu, p.max_delegation_bps
        )
        raise _fail(
            err,
            f"delegated stake would exceed {p.max_delegation_bps} bps of the node's stake; room under the cap now: "
            f"{room} base units ({_io(program, room)})",
        )
    if err:
        raise _fail(err, f"stake({amount}) would fail: {err}")
    sc = program.client
    assert state.token_account is not None  # read with the owner
    ix = sc.stake(account, on.address, state.token_account, cfg.stake_vault, amount)
    role = "your own stake" if is_operator else "a delegation"
    message = f"Stake {_io(program, amount)} on node {on.address} ({role})"
    return Plan([ix], message, programs=frozenset({sc.program_id}))


# --- request_unstake ------------------------------------------------------------------------------------------


def _plan_unstake(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    amount = amount_param(params)
    on = _on_node(ctx, params, account)
    program, state, node, pos, p = on.program, on.state, on.node, on.position, on.state.config.params
    if pos is None:
        raise _fail("InsufficientStake", f"{account} has no stake position on node {on.address}")
    is_operator = node.operator == account
    active = node.status == STATUS_ACTIVE
    err = rules.check_unstake(
        _pool(node),
        pos.shares,
        amount,
        is_operator,
        active,
        (node.unbonding_stake, node.unbonding_shares),
        node.gpu_units,
        p.min_stake_per_gpu,
        p.max_delegation_bps,
        pos.entry_count,
    )
    value = rules.share_value(pos.shares, node.total_stake, node.total_shares)
    if err == "ZeroAmount":
        raise _fail(err, "amount must be greater than zero (0 only leaves a position worth nothing)")
    if err == "TooManyUnbondingEntries":
        raise _fail(
            err,
            f"the position already has {rules.MAX_UNBONDING_ENTRIES} unbonding entries: withdraw the matured ones "
            "(or wait for their cooldown) before unstaking more",
        )
    if err == "InsufficientStake":
        raise _fail(
            err, f"the position's bonded stake is {_io(program, value)}, less than {_io(program, amount)}"
        )
    if err in ("BelowMinimumStake", "DelegationCapExceeded"):
        raise _fail(
            err,
            "the node has delegations: the operator must keep its minimum stake and the delegation cap; "
            "deactivate the node first to leave entirely",
        )
    if err:
        raise _fail(err, f"request_unstake({amount}) would fail: {err}")
    sc = program.client
    ix = sc.request_unstake(account, on.address, amount)
    unlock = state.chain_time + p.cooldown_seconds
    message = (
        f"Unstake {_io(program, amount)} from node {on.address}: withdrawable after the "
        f"{p.cooldown_seconds} s cooldown (unix time {unlock} if sent now)"
    )
    return Plan([ix], message, programs=frozenset({sc.program_id}))


# --- withdraw -------------------------------------------------------------------------------------------------


def _plan_withdraw(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    on = _on_node(ctx, params, account)
    program, state, node, pos = on.program, on.state, on.node, on.position
    if pos is None or pos.entry_count == 0:
        raise _fail("NothingPending", f"{account} has no stake in cooldown on node {on.address}")
    entries = [(e.shares, e.unlock_time) for e in pos.entries[: pos.entry_count]]
    pay, ahead = rules.withdraw_amount(entries, (node.unbonding_stake, node.unbonding_shares), state.chain_time)
    matured = any(state.chain_time >= unlock for _shares, unlock in entries)
    if not matured:
        assert ahead is not None
        raise _fail(
            "CooldownNotElapsed",
            f"the earliest cooldown ends at unix time {ahead} ({ahead - state.chain_time} s from the cluster's "
            "clock now)",
        )
    sc = program.client
    ixs: list[Instruction] = []
    if state.token_balance is None:  # the payout needs the owner's IO token account
        ixs.append(create_ata_idempotent(account, account, state.config.io_mint))
    assert state.token_account is not None  # read with the owner
    ixs.append(sc.withdraw(account, on.address, state.token_account, state.config.stake_vault))
    message = f"Withdraw {_io(program, pay)} of unbonded stake from node {on.address}"
    return Plan(ixs, message, programs=frozenset({sc.program_id}))


# --- set_commission, deactivate_node --------------------------------------------------------------------------


def _plan_commission(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    bps = int_param(params, "commission_bps", 0, BPS)
    on = _on_node(ctx, params, None)
    program, state, node, p = on.program, on.state, on.node, on.state.config.params
    _operator_only(node, account)
    if bps > p.max_commission_bps:
        raise _fail("CommissionTooHigh", f"commission {bps} bps exceeds the maximum {p.max_commission_bps}")
    current, pending = node.commission_bps, node.pending_commission_bps
    if pending != current and state.chain_time >= node.commission_effective_at:
        current = pending  # a matured increase is in force
    if bps <= current:
        message = f"Set the commission of node {on.address} to {bps} bps now (from {current})"
    else:
        if pending != current:
            raise _fail(
                "CommissionChangePending",
                f"an increase to {pending} bps takes effect at unix time {node.commission_effective_at}; "
                "wait for it (or lower the commission, which cancels it)",
            )
        effective = state.chain_time + p.commission_notice_seconds
        message = (
            f"Raise the commission of node {on.address} from {current} to {bps} bps, effective after "
            f"the {p.commission_notice_seconds} s notice (unix time {effective} if sent now)"
        )
    sc = program.client
    ix = sc.set_commission(account, on.address, bps)
    return Plan([ix], message, programs=frozenset({sc.program_id}))


def _plan_deactivate(ctx: RequestContext, params: Mapping[str, str], account: Pubkey) -> Plan:
    on = _on_node(ctx, params, None)
    _operator_only(on.node, account)
    if on.node.status != STATUS_ACTIVE:
        raise _fail("NodeNotActive", "the node is already deactivated")
    sc = on.program.client
    ix = sc.deactivate_node(account, on.address)
    message = (
        f"Deactivate node {on.address}: no new stake; every position (yours too) can then leave through "
        "the cooldown"
    )
    return Plan([ix], message, programs=frozenset({sc.program_id}))


NODE = Param("node", "The node: its Node account address (the Node PDA) or its node key, base58")
AMOUNT = Param("amount", "IO base units, a decimal string")
COMMISSION = Param("commission_bps", "Commission in basis points (0..10000, at most the program's maximum)")
ACTIONS = (
    Action(
        "register_node",
        "iog: register a GPU node",
        _plan_register,
        (
            Param("node_key", "The node machine's key (iog agent keygen); it signs the transaction first"),
            Param("gpu_units", "GPUs on the machine, 1..65535"),
            COMMISSION,
        ),
        "Create the node's account; needs the node key's signature and the operator's (fee payer).",
    ),
    Action("stake", "iog: stake IO on a node", _plan_stake, (NODE, AMOUNT), "Stake (operator) or delegate IO."),
    Action(
        "request_unstake",
        "iog: unstake IO (starts the cooldown)",
        _plan_unstake,
        (NODE, AMOUNT),
        "Move bonded stake into the cooldown; withdraw it when the cooldown ends.",
    ),
    Action("withdraw", "iog: withdraw unbonded IO", _plan_withdraw, (NODE,), "Pay out the stake whose cooldown ended."),
    Action(
        "set_commission",
        "iog: set a node's commission",
        _plan_commission,
        (NODE, COMMISSION),
        "Operator only. A decrease applies now, an increase after the notice period.",
    ),
    Action(
        "deactivate_node",
        "iog: deactivate a node",
        _plan_deactivate,
        (NODE,),
        "Operator only. The node takes no new stake; positions leave through the cooldown.",
    ),
)


def register_actions() -> None:
    """Add this domain's actions to the transaction-request registry (idempotent)."""
    for action in ACTIONS:
        register(action)
