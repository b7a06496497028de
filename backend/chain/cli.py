"""``iog localnet bootstrap``: create a cluster's accounts through RPC (the command keeps its name and flags)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from backend.errors import AppError

console = Console()


def bootstrap_cmd(
    rpc_url: str | None = typer.Option(None, help="JSON-RPC endpoint (default IOG_RPC_URL)."),
    out: Path | None = typer.Option(
        None, help="Where to write the addresses (default IOG_BOOTSTRAP_FILE, .iog/localnet.json)."
    ),
    keys_dir: Path | None = typer.Option(
        None, help="Where keypairs are created and reused (default IOG_DATA_DIR/keys)."
    ),
    decimals: int | None = typer.Option(None, help="IO mint decimals (default IOG_IO_DECIMALS, 8)."),
    wallet: list[str] | None = typer.Option(None, help="Demo wallet name (repeatable; default alice, bob, carol)."),
    staking: bool = typer.Option(
        True,
        help="Also deploy the staking program through the upgradeable loader and initialize it "
        "(needs `make programs`); --no-staking skips it.",
    ),
    epochs: bool = typer.Option(
        True,
        "--epochs/--no-epochs",
        help="Create the community (grants) treasury token account the epochs' community share goes to, fund "
        "the rewards authority's fees, and record the epoch genesis (kept from an earlier bootstrap file).",
    ),
    demo: bool = typer.Option(
        True,
        "--demo/--no-demo",
        help="Seed the demo network on chain: two GPU nodes registered and self-staked by the first two demo "
        "wallets (alice, bob) and a delegation by the third (carol). Only with --staking (ignored with "
        "--no-staking) and at least 3 wallets (skipped with a warning otherwise); node keys are kept in "
        "--keys-dir as node-<name>.json.",
    ),
    settlement: bool = typer.Option(
        True,
        help="Also create the USDC mint (6 decimals), the treasury's USDC account, USDC for the demo wallets and "
        "SOL for the treasury owner (payments and settlement need them); --no-settlement skips it.",
    ),
) -> None:
    """Create the IO mint, treasury, emission reserve and funded demo wallets through RPC (idempotent).

    With --staking (the default) it also deploys programs/staking/target/iog_staking.so and initializes the
    program's config, vaults and distributor; every step is skipped when its result is already on chain.

    With --staking and --demo (both the default) it then seeds demo GPU nodes, their stake and a delegation.
    """
    from backend.chain.bootstrap import DEFAULT_WALLETS, Step, bootstrap
    from backend.config import get_settings

    steps: list[Step] = []
    if staking:
        from backend.chain.deploy import bootstrap_step

        steps.append(bootstrap_step)
        if demo:
            from backend.chain.demo import WALLETS_NEEDED, seed_demo_step

            if len(wallet or DEFAULT_WALLETS) >= WALLETS_NEEDED:
                steps.append(seed_demo_step)
            else:
                console.print(f"[yellow]warning:[/yellow] no demo seed: it needs {WALLETS_NEEDED} wallets")

    if settlement:
        from backend.chain.settlement_setup import settlement_step

        steps.append(settlement_step)

    s = get_settings()
    out_file = out or s.resolved_bootstrap_file
    if epochs:
        from backend.chain.epoch_setup import epochs_step

        steps.append(epochs_step(out_file))
    try:
        with console.status("bootstrapping the cluster..."):
            result = bootstrap(
                rpc_url or s.rpc_url,
                out_file,
                keys_dir or s.data_dir / "keys",
                s.io_decimals if decimals is None else decimals,
                tuple(wallet) if wallet else DEFAULT_WALLETS,
                extra_steps=steps,
            )
    except AppError as exc:  # BootstrapError, a failed transaction, a bad key file, DeployError
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    doc = result.file.as_dict()
    shown = ("mint", "decimals", "treasury", "emission_reserve", "staking", "demo", "epochs", "settlement")
    console.print_json(json.dumps({k: doc[k] for k in shown if k in doc}))
    console.print(f"{len(result.sent)} transaction(s) sent; addresses written to {out_file}")


def set_params_cmd(
    cooldown_seconds: int | None = typer.Option(None, help="Unstake cooldown, seconds"),
    commission_notice_seconds: int | None = typer.Option(None, help="Notice before a commission increase, seconds"),
    max_delegation_bps: int | None = typer.Option(None, help="Delegated share cap of a node's stake, bps"),
    max_commission_bps: int | None = typer.Option(None, help="Highest commission, bps"),
    min_stake_per_gpu: str | None = typer.Option(None, help="Operator minimum per GPU, in IO (e.g. 200)"),
    paused: bool | None = typer.Option(None, "--paused/--unpaused", help="Pause or unpause the program"),
) -> None:
    """Change the staking program's parameters (update_config, signed by the admin key of the bootstrap file).

    For a local or test cluster, e.g. a short cooldown to try unstake and withdraw:
    `iog localnet set-params --cooldown-seconds 30`. Options not given keep their value on chain.
    """
    from dataclasses import replace

    from solana.rpc.api import Client
    from solana.rpc.commitment import Confirmed
    from solders.pubkey import Pubkey

    from backend.chain import bootfile, tx
    from backend.chain.keys import load_keypair
    from backend.chain.staking import ConfigParams, StakingClient
    from backend.config import get_settings
    from backend.money import to_base_units

    s = get_settings()
    try:
        boot = bootfile.load(s.resolved_bootstrap_file)
        if boot.staking is None:
            raise AppError("the bootstrap file has no staking program: run `iog localnet bootstrap` first")
        sc = StakingClient(Pubkey.from_string(boot.staking.program_id))
        client = Client(s.rpc_url, timeout=30)
        info = client.get_account_info(sc.config, Confirmed).value
        if info is None:
            raise AppError(f"no staking Config at {sc.config}: the program is not initialized")
        p = sc.decode_account(bytes(info.data)).params
        current = ConfigParams(
            min_stake_per_gpu=p.min_stake_per_gpu,
            max_epoch_rewards=p.max_epoch_rewards,
            cooldown_seconds=p.cooldown_seconds,
            commission_notice_seconds=p.commission_notice_seconds,
            max_delegation_bps=p.max_delegation_bps,
            max_commission_bps=p.max_commission_bps,
            max_slash_bps=p.max_slash_bps,
            paused=p.paused,
        )
        changes: dict[str, Any] = {
            k: v
            for k, v in {
                "cooldown_seconds": cooldown_seconds,
                "commission_notice_seconds": commission_notice_seconds,
                "max_delegation_bps": max_delegation_bps,
                "max_commission_bps": max_commission_bps,
                "paused": paused,
                "min_stake_per_gpu": None
                if min_stake_per_gpu is None
                else to_base_units(min_stake_per_gpu, boot.decimals),
            }.items()
            if v is not None
        }
        new = replace(current, **changes)
        if new == current:
            console.print("nothing to change")
        else:
            admin = load_keypair(Path(boot.staking.admin_keypair_path))
            sig = tx.send_and_confirm(client, admin, [sc.update_config(admin.pubkey(), new)], commitment=Confirmed)
            console.print(f"update_config sent: {sig}", soft_wrap=True)
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    console.print_json(json.dumps(new.__dict__))
