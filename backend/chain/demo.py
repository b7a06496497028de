"""Seed the demo network on chain: GPU nodes registered and staked by the bootstrap's demo wallets.

``seed_demo_step`` is a ``localnet.bootstrap`` extra step that runs after
``backend.chain.deploy.bootstrap_step``. The first two demo wallets (alice, bob by default) each operate
one node and self-stake twice the minimum (``min_stake_per_gpu * gpu_units``, read from the on-chain
Config); the third (carol) delegates to the first node half of the room under ``max_delegation_bps``.
Node keypairs live in the keys folder (``node-<name>.json``).

Every action first checks the chain (node PDA; position PDA and its shares) and the whole plan is made
before the first transaction, so a second run sends nothing. Each transaction first refunds the rent of the
account it opens (from the payer) and mints the IO it stakes (mint authority), so the demo wallets keep the
SOL and liquid IO the bootstrap gave them and its wallet top-ups stay idle on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import MintToCheckedParams, mint_to_checked

from backend.chain.staking import STATUS_ACTIVE, StakingClient
from backend.errors import AppError
from localnet.bootstrap import load_or_create_keypair

BPS = 10_000
OPERATOR_STAKE_MULTIPLE = 2  # operators self-stake twice the minimum, so they can still unstake some
MIN_SOL = 50_000_000  # lamports the payer keeps for fees (0.05 SOL); below it, it gets an airdrop
NODE_LEN = 146  # bytes of a Node account (programs/README.md)
POSITION_LEN = 282  # bytes of a StakePosition account (programs/README.md)
LAMPORTS_PER_SOL = 10**9


class DemoSeedError(AppError):
    """The demo network cannot be seeded (no staking program, too few wallets, paused, foreign node)."""


@dataclass(frozen=True)
class DemoNode:
    """One demo GPU node: its name (key file node-<name>.json), operator wallet index and terms."""

    name: str
    operator: int
    gpu_units: int
    commission_bps: int


DEMO_NODES = (DemoNode("alpha", 0, 8, 500), DemoNode("beta", 1, 4, 1_000))
DELEGATOR = 2  # wallet index of the delegator
DELEGATED_NODE = "alpha"
WALLETS_NEEDED = max(DELEGATOR, *(n.operator for n in DEMO_NODES)) + 1


def _share_value(shares: int, stake: int, total_shares: int) -> int:
    return 0 if total_shares == 0 else shares * stake // total_shares


def _account(client: Client, sc: StakingClient, address: Pubkey) -> Any | None:
    info = client.get_account_info(address, Confirmed).value
    return None if info is None else sc.decode_account(bytes(info.data))


def seed_demo_step(ctx: Any) -> None:
    """``localnet.bootstrap`` extra step: register, stake and delegate on the demo nodes; adds ``demo``."""
    staking = ctx.result.get("staking")
    if staking is None:
        raise DemoSeedError("the demo seed needs the staking program: run it after the staking deploy step")
    wallets = ctx.result.get("wallets", [])
    if len(wallets) < WALLETS_NEEDED:
        raise DemoSeedError(f"the demo seed needs {WALLETS_NEEDED} demo wallets, got {len(wallets)}")
    client: Client = ctx.client
    sc = StakingClient(Pubkey.from_string(staking["program_id"]))
    stake_vault = Pubkey.from_string(staking["stake_vault"])
    cfg = _account(client, sc, sc.config)
    if cfg is None:
        raise DemoSeedError(f"no staking Config at {sc.config}: the program is not initialized")
    params = cfg.params
    kps = [load_or_create_keypair(Path(w["keypair_path"])) for w in wallets]
    tokens = [Pubkey.from_string(w["io_account"]) for w in wallets]
    node_keys = {n.name: load_or_create_keypair(ctx.keys_dir / f"node-{n.name}.json") for n in DEMO_NODES}

    mint_auth = load_or_create_keypair(Path(ctx.result["mint_authority_keypair_path"]))
    mint, decimals = Pubkey.from_string(ctx.result["mint"]), int(ctx.result["decimals"])
    actions: list[tuple[list[Instruction], list[Keypair]]] = []
    refunds = 0  # lamports the payer hands out as rent

    def act(owner: Keypair, ix: Instruction, opens: int, amount: int, signers: list[Keypair]) -> None:
        """`ix`, preceded by a refund of the rent of the account it opens (`opens` bytes) and a mint of the
        IO it stakes, in one transaction: the wallet ends with the SOL and liquid IO it had."""
        nonlocal refunds
        pre = []
        if opens:
            lamports = client.get_minimum_balance_for_rent_exemption(opens, Confirmed).value
            refunds += lamports
            pre.append(
                transfer(
                    TransferParams(
                        from_pubkey=ctx.payer.pubkey(), to_pubkey=owner.pubkey(), lamports=lamports
                    )
                )
            )
        if amount:
            token = tokens[kps.index(owner)]
            pre.append(
                mint_to_checked(
                    MintToCheckedParams(TOKEN_PROGRAM_ID, mint, token, mint_auth.pubkey(), amount, decimals)
                )
            )
            signers = [*signers, mint_auth]
        actions.append(([*pre, ix], signers))

    # Bonded pool per node after the planned actions: (total_stake, operator_value); None when inactive.
    pools: dict[str, tuple[int, int] | None] = {}
    for spec in DEMO_NODES:
        op = kps[spec.operator]
        key = node_keys[spec.name]
        node_addr = sc.node(key.pubkey())
        node = _account(client, sc, node_addr)
        if node is None:
            commission = min(spec.commission_bps, params.max_commission_bps)
            ix = sc.register_node(op.pubkey(), key.pubkey(), spec.gpu_units, commission)
            act(op, ix, NODE_LEN, 0, [op, key])
            total, total_shares, op_shares, gpu_units, active = 0, 0, 0, spec.gpu_units, True
        else:
            if node.operator != op.pubkey():
                raise DemoSeedError(
                    f"demo node {spec.name} ({node_addr}) is operated by {node.operator}, not {op.pubkey()}"
                )
            total, total_shares, op_shares = node.total_stake, node.total_shares, node.operator_shares
            gpu_units, active = node.gpu_units, node.status == STATUS_ACTIVE
        op_value = _share_value(op_shares, total, total_shares)
        minimum = params.min_stake_per_gpu * gpu_units
        # Stake when there is no position yet, or top up when the operator fell below the minimum (a slash,
        # a raised min_stake_per_gpu): the target is far enough above it that rounding never re-triggers it.
        if active and (op_shares == 0 or op_value < minimum):
            amount = OPERATOR_STAKE_MULTIPLE * minimum - op_value
            has_pos = _account(client, sc, sc.position(node_addr, op.pubkey())) is not None
            ix = sc.stake(op.pubkey(), node_addr, tokens[spec.operator], stake_vault, amount)
            act(op, ix, 0 if has_pos else POSITION_LEN, amount, [op])
            total, op_value = total + amount, op_value + amount
        pools[spec.name] = (total, op_value) if active else None

    delegator = kps[DELEGATOR]
    target = sc.node(node_keys[DELEGATED_NODE].pubkey())
    position = _account(client, sc, sc.position(target, delegator.pubkey()))
    pool = pools[DELEGATED_NODE]
    if pool is not None and (position is None or position.shares == 0):
        total, op_value = pool
        delegated = total - op_value
        bps = params.max_delegation_bps
        # delegated + d <= (total + d) * bps / BPS  <=>  d * (BPS - bps) <= total * bps - delegated * BPS
        room = op_value if bps >= BPS else max(0, total * bps - delegated * BPS) // (BPS - bps)
        if room // 2 > 0:
            ix = sc.stake(delegator.pubkey(), target, tokens[DELEGATOR], stake_vault, room // 2)
            act(delegator, ix, POSITION_LEN if position is None else 0, room // 2, [delegator])

    if actions:
        if params.paused:
            raise DemoSeedError("the staking program is paused: unpause it (update_config) or use --no-demo")
        if client.get_balance(ctx.payer.pubkey(), Confirmed).value < refunds + MIN_SOL:
            ctx.ensure_sol(ctx.payer.pubkey(), refunds + LAMPORTS_PER_SOL)
        for ixs, signers in actions:
            ctx.send(ixs, signers)
    ctx.result["demo"] = _describe(client, sc, wallets, kps, node_keys, ctx.keys_dir)


def _describe(
    client: Client,
    sc: StakingClient,
    wallets: list[dict[str, Any]],
    kps: list[Keypair],
    node_keys: dict[str, Keypair],
    keys_dir: Path,
) -> dict[str, Any]:
    """The ``demo`` section, read back from chain (so a re-run writes the same thing)."""
    nodes, positions = [], []
    for spec in DEMO_NODES:
        addr = sc.node(node_keys[spec.name].pubkey())
        node = _account(client, sc, addr)
        if node is None:  # the plan registers every node; only a concurrent reset could get here
            raise DemoSeedError(f"demo node {spec.name} ({addr}) is missing after seeding")
        nodes.append(
            {
                "name": spec.name,
                "node_key": str(node.node_key),
                "node_keypair_path": str(keys_dir / f"node-{spec.name}.json"),
                "operator": str(node.operator),
                "operator_wallet": wallets[spec.operator]["name"],
                "node": str(addr),
                "gpu_units": node.gpu_units,
                "commission_bps": node.commission_bps,
                "status": "active" if node.status == STATUS_ACTIVE else "deactivated",
                "total_stake": node.total_stake,
            }
        )
        for idx in (spec.operator, DELEGATOR):
            pos_addr = sc.position(addr, kps[idx].pubkey())
            pos = _account(client, sc, pos_addr)
            if pos is None:
                continue
            positions.append(
                {
                    "node_name": spec.name,
                    "node": str(addr),
                    "owner": str(kps[idx].pubkey()),
                    "wallet": wallets[idx]["name"],
                    "position": str(pos_addr),
                    "shares": pos.shares,
                    "stake": _share_value(pos.shares, node.total_stake, node.total_shares),
                    "delegated": idx != spec.operator,
                }
            )
    return {"nodes": nodes, "positions": positions}
