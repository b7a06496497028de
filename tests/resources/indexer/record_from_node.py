"""Records getTransaction responses (encoding ``json``) from the embedded node for the golden tests.

Run ``.venv/bin/python tests/resources/indexer/record_from_node.py`` (then ``IOG_UPDATE_GOLDEN=1`` on the
decoder tests to rewrite the expected rows, and review the diff). Writes ``node_*.json`` and
``node_meta.json`` here. ``node_truncated_event.json`` is the recorded stake transaction with its
``Program data:`` payload cut short by 5 bytes (a real program cannot be made to log that).
"""

from __future__ import annotations

import base64
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from solana.rpc.api import Client  # noqa: E402
from solana.rpc.commitment import Confirmed  # noqa: E402
from solders.hash import Hash  # noqa: E402
from solders.keypair import Keypair  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from spl.token.client import Token  # noqa: E402
from spl.token.constants import TOKEN_PROGRAM_ID  # noqa: E402

from backend.chain.deploy import bootstrap_step  # noqa: E402
from tests.fixtures.localnet import run_bootstrap  # noqa: E402
from localnet.node import LocalnetNode  # noqa: E402
from tests.indexer.chainload import Loader, StakeLoader, payment_tx  # noqa: E402


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    with LocalnetNode(slot_ms=50, finality_slots=4) as node:
        boot = run_bootstrap(node.rpc_url, tmp / "b.json", tmp / "keys", extra_steps=[bootstrap_step])
        ld = Loader(node.rpc_url, boot)
        stk = StakeLoader(ld)
        ld.wait_finalized(stk.register_nodes())
        bh = Hash.from_string(ld.rpc("getLatestBlockhash", [{"commitment": "confirmed"}])["value"]["blockhash"])
        refs = [
            Pubkey.from_string("Ref1111111111111111111111111111111111111111"),
            Keypair.from_seed(bytes(32)).pubkey(),
        ]
        p = ld.payers[0]
        txs = {
            "payment_two_refs": payment_tx(p, ld.treasury, ld.mint, ld.decimals, 1_234_567, refs, "invoice-42", bh),
            "failed_payment": payment_tx(p, ld.treasury, ld.mint, ld.decimals, 10**18, refs[:1], "too-much", bh),
        }
        sigs = {}
        for name, tx in txs.items():
            sigs[name] = ld.rpc(
                "sendTransaction",
                [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64", "skipPreflight": True}],
            )
        ld._n = 0  # next StakeLoader tx is a stake, the 4th an unstake
        stake_sigs = stk.send_batch(4)
        sigs["cpi_stake"], sigs["unstake_event"] = stake_sigs[0], stake_sigs[3]
        # Another mint, and a token account of it owned by the treasury owner: watched, but never IO.
        client = Client(node.rpc_url, commitment=Confirmed)
        other = Token.create_mint(client, p.keypair, p.keypair.pubkey(), 6, TOKEN_PROGRAM_ID)
        src = other.create_associated_token_account(p.keypair.pubkey())
        dst = other.create_associated_token_account(Pubkey.from_string(boot["treasury_owner"]))
        other.mint_to(src, p.keypair, 1000)
        sigs["other_mint"] = str(other.transfer(src, dst, p.keypair, 99).value)
        ld.wait_finalized(list(sigs.values()))
        opts = {"encoding": "json", "commitment": "finalized", "maxSupportedTransactionVersion": 0}
        for name, sig in sigs.items():
            res = ld.rpc("getTransaction", [sig, opts])
            (HERE / f"node_{name}.json").write_text(json.dumps({"signature": sig, "result": res}, indent=1) + "\n")
            if name == "cpi_stake":
                cut = json.loads(json.dumps(res))
                logs = cut["meta"]["logMessages"]
                i = next(i for i, line in enumerate(logs) if line.startswith("Program data: "))
                payload = base64.b64decode(logs[i].split(": ", 1)[1])
                logs[i] = "Program data: " + base64.b64encode(payload[:-5]).decode()
                (HERE / "node_truncated_event.json").write_text(
                    json.dumps({"signature": sig, "result": cut}, indent=1) + "\n"
                )
        meta = {
            "io_mint": boot["mint"],
            "program_id": boot["staking"]["program_id"],
            "watched": [
                boot["treasury"],
                boot["staking"]["stake_vault"],
                boot["staking"]["rewards_vault"],
                str(dst),
            ],
            "references": [str(r) for r in refs],
        }
        (HERE / "node_meta.json").write_text(json.dumps(meta, indent=1) + "\n")
        print("recorded", sorted(sigs))


if __name__ == "__main__":
    main()
