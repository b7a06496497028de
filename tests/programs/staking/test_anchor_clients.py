"""Anchor clients name the program's errors (issue 9 part 2), against the embedded localnet over RPC.

The program is deployed through the upgradeable loader and called the way a user's code calls it: with the official
Anchor TypeScript client (``program.methods.stake(new BN(0)).accounts(...).rpc()`` must reject with an
``AnchorError`` whose ``error.errorCode.code`` is the IDL name) and with anchorpy 0.21 (whose ``ProgramError``
comes from the custom error code; the logs it carries hold the same Anchor line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anchorpy import Context, Program, Provider, Wallet
from anchorpy.error import ProgramError
from solana.rpc.api import Client
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from backend.chain import ids, tx
from backend.chain.deploy import StakingDeployment, deploy_program, initialize_program
from backend.chain.staking import ConfigParams, StakingClient, load_idl
from tests.fixtures.js import JsClients
from tests.programs.staking.units import IO


def _load(path: str) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(Path(path).read_text())))


@dataclass
class Deployed:
    """A fresh deployment with one node (alice operates it, 1,000 IO) and a delegator (bob)."""

    rpc_url: str
    ws_url: str
    sc: StakingClient
    dep: StakingDeployment
    node: Pubkey
    bob: Keypair
    bob_path: str
    bob_tok: Pubkey

    def stake_accounts(self, stake_vault: Pubkey | None = None) -> dict[str, str]:
        """The accounts of bob's `stake`, named as in the IDL (camelCase)."""
        return {
            "owner": str(self.bob.pubkey()),
            "config": str(self.sc.config),
            "node": str(self.node),
            "position": str(self.sc.position(self.node, self.bob.pubkey())),
            "ownerToken": str(self.bob_tok),
            "stakeVault": str(stake_vault or self.dep.stake_vault),
            "tokenProgram": str(ids.TOKEN_PROGRAM_ID),
            "systemProgram": str(ids.SYSTEM_PROGRAM_ID),
        }


@pytest.fixture
def deployed(localnet: Any, localnet_bootstrap: dict[str, Any], staking_so: Path) -> Deployed:
    boot = localnet_bootstrap
    client = Client(boot["rpc_url"], timeout=30)
    admin = Keypair()
    mint_auth = _load(boot["mint_authority_keypair_path"])
    fund = transfer(TransferParams(from_pubkey=mint_auth.pubkey(), to_pubkey=admin.pubkey(), lamports=5 * 10**9))
    tx.send_and_confirm(client, mint_auth, [fund], [], commitment=Confirmed)
    program = Keypair()  # a fresh id, deployed through the upgradeable loader as on a real cluster
    deploy_program(client, admin, program, staking_so)
    mint = Pubkey.from_string(boot["mint"])
    rewards_auth = _load(boot["emission_reserve_owner_keypair_path"])
    dep = initialize_program(
        client,
        admin,
        mint,
        rewards_auth.pubkey(),
        Keypair().pubkey(),
        Keypair(),
        ConfigParams.for_decimals(8),
        program_id=program.pubkey(),
    )
    sc = StakingClient(program.pubkey())
    alice, bob = (_load(w["keypair_path"]) for w in boot["wallets"][:2])
    a_tok, b_tok = (Pubkey.from_string(w["io_account"]) for w in boot["wallets"][:2])
    node_key = Keypair()
    node = sc.node(node_key.pubkey())
    tx.send_and_confirm(
        client, alice, [sc.register_node(alice.pubkey(), node_key.pubkey(), 1, 500)], [node_key], commitment=Confirmed
    )
    tx.send_and_confirm(
        client, alice, [sc.stake(alice.pubkey(), node, a_tok, dep.stake_vault, 1_000 * IO)], [], commitment=Confirmed
    )
    return Deployed(boot["rpc_url"], localnet.ws_url, sc, dep, node, bob, boot["wallets"][1]["keypair_path"], b_tok)


def test_anchor_ts_client_rejects_with_the_idl_error(js: JsClients, deployed: Deployed) -> None:
    d = deployed
    calls = [
        {"label": "zero", "method": "stake", "args": ["0"], "accounts": d.stake_accounts()},
        # 1,001 IO delegated next to 1,000 IO of the operator: above 50% of 2,001 IO
        {"label": "cap", "method": "stake", "args": [str(1_001 * IO)], "accounts": d.stake_accounts()},
        {
            "label": "vault",
            "method": "stake",
            "args": [str(IO)],
            "accounts": d.stake_accounts(stake_vault=d.dep.rewards_vault),
        },
        {"label": "ok", "method": "stake", "args": [str(IO)], "accounts": d.stake_accounts()},
    ]
    out = js.run(
        "anchor_errors.js",
        {
            "rpc": d.rpc_url,
            "ws": d.ws_url,
            "idl": str(ids.IDL_PATH),
            "programId": str(d.sc.program_id),
            "payer": d.bob_path,
            "calls": calls,
        },
    )
    zero = out["zero"]
    assert zero["isAnchorError"], zero
    assert (zero["code"], zero["number"]) == ("ZeroAmount", 6013)
    assert zero["errorMessage"] == "The amount must be greater than zero"
    assert zero["origin"] is None and zero["comparedValues"] is None
    assert zero["program"] == str(d.sc.program_id)

    cap = out["cap"]
    assert cap["isAnchorError"] and (cap["code"], cap["number"]) == ("DelegationCapExceeded", 6018), cap
    assert cap["comparedValues"] == [str(1_001 * IO), str(2_001 * IO * 5_000 // 10_000)]  # delegated, cap

    vault = out["vault"]
    assert vault["isAnchorError"] and vault["code"] == "InvalidVault", vault
    assert vault["origin"] == "stake_vault"
    assert vault["comparedValues"] == [str(d.dep.rewards_vault), str(d.dep.stake_vault)]  # passed, recorded

    assert out["ok"]["ok"], out["ok"]


async def test_anchorpy_names_the_error_and_its_logs_carry_the_anchor_line(deployed: Deployed) -> None:
    d = deployed
    async with AsyncClient(d.rpc_url, commitment=Confirmed) as conn:
        program = Program(load_idl(), d.sc.program_id, Provider(conn, Wallet(d.bob)))
        accounts = {k: Pubkey.from_string(v) for k, v in d.stake_accounts().items()}
        # anchorpy's context takes snake_case account names
        ctx = Context(accounts={_snake(k): v for k, v in accounts.items()})
        with pytest.raises(ProgramError) as zero:
            await program.rpc["stake"](0, ctx=ctx)
        with pytest.raises(ProgramError) as cap:
            await program.rpc["stake"](1_001 * IO, ctx=ctx)
    err = zero.value
    assert (err.code, err.msg) == (6013, "The amount must be greater than zero")
    line = (
        "Program log: AnchorError occurred. Error Code: ZeroAmount. Error Number: 6013. "
        "Error Message: The amount must be greater than zero."
    )
    assert line in (err.logs or [])
    err = cap.value
    assert (err.code, err.msg) == (6018, "Delegated stake would exceed max_delegation_bps of the node's stake")
    logs = err.logs or []
    i = next(i for i, x in enumerate(logs) if "AnchorError occurred. Error Code: DelegationCapExceeded." in x)
    assert logs[i + 1 : i + 3] == [f"Program log: Left: {1_001 * IO}", f"Program log: Right: {2_001 * IO // 2}"]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
