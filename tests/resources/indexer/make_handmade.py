"""Writes the hand-made getTransaction responses (real validator ``json`` shape) used by the golden tests.

Kept for provenance: the handmade_* files here come from
``python tests/resources/indexer/make_handmade.py``.
Keys are derived from fixed seeds so the output is stable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import based58
from solders.keypair import Keypair

HERE = Path(__file__).parent
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
MEMO = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
# A fixed stand-in id: the events are decoded with the real IDL whatever the program's address.
PROGRAM = str(Keypair.from_seed(bytes([42] * 32)).pubkey())


def key(n: int) -> str:
    return str(Keypair.from_seed(bytes([n] * 32)).pubkey())


def sig(n: int) -> str:
    return based58.b58encode(hashlib.sha512(bytes([n])).digest()).decode()


def b58(data: bytes) -> str:
    return based58.b58encode(data).decode()


PAYER, IO_MINT, OTHER_MINT, TREASURY, PAYER_ATA, REF1, REF2, VAULT, OTHER_ATA, TREASURY_OTHER = (
    key(i) for i in range(1, 11)
)


def tb(idx: int, mint: str, owner: str, amount: int, decimals: int = 8) -> dict:
    return {
        "accountIndex": idx,
        "mint": mint,
        "owner": owner,
        "programId": TOKEN,
        "uiTokenAmount": {
            "amount": str(amount),
            "decimals": decimals,
            "uiAmount": amount / 10**decimals,
            "uiAmountString": str(amount / 10**decimals),
        },
    }


def tx(
    n: int,
    keys: list[str],
    header: tuple[int, int, int],
    instructions: list[dict],
    *,
    inner=None,
    pre=None,
    post=None,
    logs=None,
    err=None,
    slot=100,
) -> dict:
    return {
        "slot": slot + n,
        "blockTime": 1_790_000_000 + n,
        "version": "legacy",
        "transaction": {
            "signatures": [sig(n)],
            "message": {
                "header": {
                    "numRequiredSignatures": header[0],
                    "numReadonlySignedAccounts": header[1],
                    "numReadonlyUnsignedAccounts": header[2],
                },
                "accountKeys": keys,
                "recentBlockhash": b58(bytes([n]) * 32),
                "instructions": instructions,
            },
        },
        "meta": {
            "err": err,
            "status": {"Err": err} if err else {"Ok": None},
            "fee": 5000,
            "preBalances": [0] * len(keys),
            "postBalances": [0] * len(keys),
            "innerInstructions": inner or [],
            "logMessages": logs or [],
            "preTokenBalances": pre or [],
            "postTokenBalances": post or [],
            "rewards": [],
            "loadedAddresses": {"writable": [], "readonly": []},
            "computeUnitsConsumed": 1000,
        },
    }


def ev(name: str, payload: bytes) -> str:
    return base64.b64encode(hashlib.sha256(f"event:{name}".encode()).digest()[:8] + payload).decode()


def main() -> None:
    out = {}
    # 1. IO payment: transferChecked with two references + memo (top level).
    keys = [PAYER, PAYER_ATA, TREASURY, IO_MINT, REF1, REF2, TOKEN, MEMO]
    out["payment_two_refs"] = tx(
        1,
        keys,
        (1, 0, 5),
        [
            {"programIdIndex": 7, "accounts": [], "data": b58(b"invoice-42"), "stackHeight": None},
            {
                "programIdIndex": 6,
                "accounts": [1, 3, 2, 0, 4, 5],
                "data": b58(bytes([12]) + struct.pack("<QB", 1234567, 8)),
                "stackHeight": None,
            },
        ],
        pre=[tb(1, IO_MINT, PAYER, 10**10), tb(2, IO_MINT, TREASURY, 0)],
        post=[tb(1, IO_MINT, PAYER, 10**10 - 1234567), tb(2, IO_MINT, TREASURY, 1234567)],
    )
    # 2. CPI: the program moves IO into the vault (inner transferChecked) and pays out (inner transfer).
    keys = [PAYER, PAYER_ATA, VAULT, IO_MINT, TOKEN, PROGRAM]
    staked = (
        based58.b58decode(key(20).encode())
        + based58.b58decode(PAYER.encode())
        + struct.pack("<QQ?Q", 500, 500, False, 500)
    )
    out["cpi_stake"] = tx(
        2,
        keys,
        (1, 0, 3),
        [
            {
                "programIdIndex": 5,
                "accounts": [0, 1, 2, 3, 4],
                "data": b58(b"\x01" * 16),
                "stackHeight": None,
            },
        ],
        inner=[
            {
                "index": 0,
                "instructions": [
                    {
                        "programIdIndex": 4,
                        "accounts": [1, 3, 2, 0],
                        "data": b58(bytes([12]) + struct.pack("<QB", 500, 8)),
                        "stackHeight": 2,
                    },
                    {
                        "programIdIndex": 4,
                        "accounts": [2, 1, 0],
                        "data": b58(bytes([3]) + struct.pack("<Q", 7)),
                        "stackHeight": 2,
                    },
                ],
            }
        ],
        pre=[tb(1, IO_MINT, PAYER, 1000), tb(2, IO_MINT, PAYER, 0)],
        post=[tb(1, IO_MINT, PAYER, 507), tb(2, IO_MINT, PAYER, 493)],
        logs=[
            f"Program {PROGRAM} invoke [1]",
            "Program log: Instruction: Stake",
            f"Program {TOKEN} invoke [2]",
            "Program log: Instruction: TransferChecked",
            f"Program data: {ev('Staked', b'bogus-from-token-program')}",
            f"Program {TOKEN} consumed 6000 of 190000 compute units",
            f"Program {TOKEN} success",
            f"Program data: {ev('Staked', staked)}",
            f"Program {TOKEN} invoke [2]",
            f"Program {TOKEN} success",
            f"Program {PROGRAM} consumed 20000 of 200000 compute units",
            f"Program {PROGRAM} success",
        ],
    )
    # 3. A transfer of another mint into a watched account (plain transfer: mint only from token balances).
    keys = [PAYER, OTHER_ATA, TREASURY_OTHER, TOKEN]
    out["other_mint"] = tx(
        3,
        keys,
        (1, 0, 1),
        [
            {
                "programIdIndex": 3,
                "accounts": [1, 2, 0],
                "data": b58(bytes([3]) + struct.pack("<Q", 99)),
                "stackHeight": None,
            },
        ],
        pre=[tb(1, OTHER_MINT, PAYER, 100, 6), tb(2, OTHER_MINT, TREASURY, 0, 6)],
        post=[tb(1, OTHER_MINT, PAYER, 1, 6), tb(2, OTHER_MINT, TREASURY, 99, 6)],
    )
    # 4. A failed payment: recorded as failed, never counted.
    keys = [PAYER, PAYER_ATA, TREASURY, IO_MINT, REF1, TOKEN]
    out["failed_payment"] = tx(
        4,
        keys,
        (1, 0, 3),
        [
            {
                "programIdIndex": 5,
                "accounts": [1, 3, 2, 0, 4],
                "data": b58(bytes([12]) + struct.pack("<QB", 10**12, 8)),
                "stackHeight": None,
            },
        ],
        err={"InstructionError": [0, {"Custom": 1}]},
        pre=[tb(1, IO_MINT, PAYER, 10), tb(2, IO_MINT, TREASURY, 0)],
        post=[tb(1, IO_MINT, PAYER, 10), tb(2, IO_MINT, TREASURY, 0)],
    )
    # 5. Events: a good one, a truncated one, an unknown discriminator, bad base64.
    keys = [PAYER, PROGRAM]
    # Withdrawn {node, owner, amount, unbondingShares, entriesPaid, withdrawnAt}
    withdrawn = (
        based58.b58decode(key(20).encode())
        + based58.b58decode(PAYER.encode())
        + struct.pack("<QQBq", 77, 70, 1, 1_700_000_000)
    )
    out["events_mixed"] = tx(
        5,
        keys,
        (1, 0, 1),
        [
            {"programIdIndex": 1, "accounts": [0], "data": b58(b"\x02" * 8), "stackHeight": None},
            {"programIdIndex": 1, "accounts": [0], "data": b58(b"\x03" * 8), "stackHeight": None},
        ],
        logs=[
            f"Program {PROGRAM} invoke [1]",
            f"Program data: {ev('Withdrawn', withdrawn)}",
            f"Program data: {ev('Withdrawn', withdrawn[:-3])}",
            f"Program {PROGRAM} success",
            f"Program {PROGRAM} invoke [1]",
            f"Program data: {base64.b64encode(b'12345678abcdefgh').decode()}",
            "Program data: !!not-base64!!",
            f"Program data: {ev('Withdrawn', withdrawn + b'xx')}",
            f"Program {PROGRAM} success",
        ],
    )
    # 6. A version-0 transaction whose treasury and reference come from an address lookup table.
    keys = [PAYER, PAYER_ATA, IO_MINT, TOKEN]  # static; loaded: writable [TREASURY], readonly [REF2]
    v0 = tx(
        6,
        keys,
        (1, 0, 2),
        [
            {
                "programIdIndex": 3,
                "accounts": [1, 2, 4, 0, 5],
                "data": b58(bytes([12]) + struct.pack("<QB", 4242, 8)),
                "stackHeight": None,
            }
        ],
        pre=[tb(1, IO_MINT, PAYER, 10**6), tb(4, IO_MINT, TREASURY, 0)],
        post=[tb(1, IO_MINT, PAYER, 10**6 - 4242), tb(4, IO_MINT, TREASURY, 4242)],
    )
    v0["version"] = 0
    v0["transaction"]["message"]["addressTableLookups"] = [
        {"accountKey": key(30), "writableIndexes": [0], "readonlyIndexes": [1]}
    ]
    v0["meta"]["loadedAddresses"] = {"writable": [TREASURY], "readonly": [REF2]}
    out["v0_lookup_table"] = v0
    meta = {
        "io_mint": IO_MINT,
        "program_id": PROGRAM,
        "watched": [TREASURY, VAULT, TREASURY_OTHER],
        "references": [REF1, REF2],
    }
    (HERE / "handmade_meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    for name, t in out.items():
        (HERE / f"handmade_{name}.json").write_text(
            json.dumps({"signature": t["transaction"]["signatures"][0], "result": t}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
