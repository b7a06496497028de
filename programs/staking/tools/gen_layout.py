"""Single source of truth for the staking program's interface.

Generates ``idl/iog_staking.json`` (pre-0.30 Anchor IDL, the format anchorpy 0.21 reads),
``src/layout.h`` (discriminators, account offsets and sizes, error codes, and the text the program logs
for each error, Anchor's way) and ``backend/chain/layout.py`` (account sizes and error codes for Python)
from the spec below, so the C side and the Python side cannot drift apart.

Usage: ``python gen_layout.py`` writes the three files; ``python gen_layout.py --check`` exits 1 if
any file on disk differs from what the spec generates.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDL_PATH = ROOT / "idl" / "iog_staking.json"
HEADER_PATH = ROOT / "src" / "layout.h"
PY_LAYOUT_PATH = ROOT.parent.parent / "backend" / "chain" / "layout.py"

SIZES = {"u8": 1, "bool": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "publicKey": 32}

# Field order of ConfigParams is chosen so that every field is naturally aligned inside Config.
CONFIG_PARAMS = [
    ("minStakePerGpu", "u64"),
    ("cooldownSeconds", "i64"),
    ("commissionNoticeSeconds", "i64"),
    ("maxEpochRewards", "u64"),
    ("maxDelegationBps", "u16"),
    ("maxCommissionBps", "u16"),
    ("maxSlashBps", "u16"),
    ("paused", "bool"),
]

# One pending unstake of a position: the amount requested, its shares of the node's unbonding pool (what it is
# worth follows slashes) and when it can be withdrawn.
UNBONDING_ENTRY = [
    ("amount", "u64"),
    ("shares", "u64"),
    ("unlockTime", "i64"),
]
MAX_UNBONDING_ENTRIES = 8

# Named struct types of the IDL ("types"), in IDL order.
TYPES = {"ConfigParams": CONFIG_PARAMS, "UnbondingEntry": UNBONDING_ENTRY}

ACCOUNTS = {
    "Config": [
        ("admin", "publicKey"),
        ("rewardsAuthority", "publicKey"),
        ("slashAuthority", "publicKey"),
        ("ioMint", "publicKey"),
        ("slashDestination", "publicKey"),
        ("stakeVault", "publicKey"),
        ("rewardsVault", "publicKey"),
        ("params", ("ConfigParams", CONFIG_PARAMS)),
        ("bump", "u8"),
        ("vaultAuthorityBump", "u8"),
    ],
    "Distributor": [
        ("latestEpoch", "u64"),
        ("cumulativeTotal", "u64"),
        ("totalClaimed", "u64"),
        ("latestRoot", ("bytes32", None)),
        ("rootsPosted", "u64"),
        ("bump", "u8"),
    ],
    "Node": [
        ("operator", "publicKey"),
        ("nodeKey", "publicKey"),
        ("totalStake", "u64"),
        ("totalShares", "u64"),
        ("unbondingStake", "u64"),
        ("unbondingShares", "u64"),
        ("operatorShares", "u64"),
        ("commissionEffectiveAt", "i64"),
        ("registeredAt", "i64"),
        ("slashedTotal", "u64"),
        ("gpuUnits", "u32"),
        ("commissionBps", "u16"),
        ("pendingCommissionBps", "u16"),
        ("status", "u8"),
        ("bump", "u8"),
    ],
    "StakePosition": [
        ("node", "publicKey"),
        ("owner", "publicKey"),
        ("shares", "u64"),
        ("unbondingShares", "u64"),  # sum of the entries' shares
        ("entries", ("array", "UnbondingEntry", MAX_UNBONDING_ENTRIES)),  # the first entryCount are in use
        ("entryCount", "u8"),
        ("bump", "u8"),
    ],
    "ClaimStatus": [
        ("wallet", "publicKey"),
        ("claimed", "u64"),
        ("bump", "u8"),
    ],
}

# (name, accounts [(name, isMut, isSigner)], args [(name, type)])
INSTRUCTIONS = [
    (
        "initialize",
        [
            ("admin", True, True),
            ("config", True, False),
            ("distributor", True, False),
            ("vaultAuthority", False, False),
            ("ioMint", False, False),
            ("stakeVault", False, False),
            ("rewardsVault", False, False),
            ("rewardsAuthority", False, False),
            ("slashAuthority", False, False),
            ("slashDestination", False, False),
            ("systemProgram", False, False),
            ("program", False, False),
            ("programData", False, False),
        ],
        [("params", "ConfigParams")],
    ),
    ("updateConfig", [("admin", False, True), ("config", True, False)], [("params", "ConfigParams")]),
    (
        "registerNode",
        [
            ("operator", True, True),
            ("nodeKey", False, True),
            ("config", False, False),
            ("node", True, False),
            ("systemProgram", False, False),
        ],
        [("gpuUnits", "u32"), ("commissionBps", "u16")],
    ),
    (
        "stake",
        [
            ("owner", True, True),
            ("config", False, False),
            ("node", True, False),
            ("position", True, False),
            ("ownerToken", True, False),
            ("stakeVault", True, False),
            ("tokenProgram", False, False),
            ("systemProgram", False, False),
        ],
        [("amount", "u64")],
    ),
    (
        "requestUnstake",
        [
            ("owner", False, True),
            ("config", False, False),
            ("node", True, False),
            ("position", True, False),
        ],
        [("amount", "u64")],
    ),
    (
        "withdraw",
        [
            ("owner", False, True),
            ("config", False, False),
            ("node", True, False),
            ("position", True, False),
            ("ownerToken", True, False),
            ("stakeVault", True, False),
            ("vaultAuthority", False, False),
            ("tokenProgram", False, False),
        ],
        [],
    ),
    (
        "setCommission",
        [("operator", False, True), ("config", False, False), ("node", True, False)],
        [("commissionBps", "u16")],
    ),
    (
        "postRewardsRoot",
        [
            ("rewardsAuthority", False, True),
            ("config", False, False),
            ("distributor", True, False),
            ("fundingSource", True, False),
            ("rewardsVault", True, False),
            ("tokenProgram", False, False),
        ],
        [("epoch", "u64"), ("root", "bytes32"), ("cumulativeTotal", "u64"), ("funding", "u64")],
    ),
    (
        "claim",
        [
            ("wallet", True, True),
            ("config", False, False),
            ("distributor", True, False),
            ("claimStatus", True, False),
            ("walletToken", True, False),
            ("rewardsVault", True, False),
            ("vaultAuthority", False, False),
            ("tokenProgram", False, False),
            ("systemProgram", False, False),
        ],
        [("cumulativeAmount", "u64"), ("proof", "proof")],
    ),
    (
        "slash",
        [
            ("slashAuthority", False, True),
            ("config", False, False),
            ("node", True, False),
            ("stakeVault", True, False),
            ("slashDestination", True, False),
            ("vaultAuthority", False, False),
            ("tokenProgram", False, False),
        ],
        [("slashBps", "u16"), ("reason", "u32")],
    ),
    ("deactivateNode", [("operator", False, True), ("config", False, False), ("node", True, False)], []),
]

EVENTS = [
    ("ConfigUpdated", [("admin", "publicKey"), ("params", "ConfigParams")]),
    (
        "NodeRegistered",
        [
            ("node", "publicKey"),
            ("operator", "publicKey"),
            ("nodeKey", "publicKey"),
            ("gpuUnits", "u32"),
            ("commissionBps", "u16"),
        ],
    ),
    (
        "Staked",
        [
            ("node", "publicKey"),
            ("owner", "publicKey"),
            ("amount", "u64"),
            ("shares", "u64"),
            ("delegated", "bool"),
            ("nodeTotalStake", "u64"),
        ],
    ),
    (
        "UnstakeRequested",
        [
            ("node", "publicKey"),
            ("owner", "publicKey"),
            ("amount", "u64"),
            ("sharesBurned", "u64"),
            ("unlockTime", "i64"),
            # Shares of the unbonding pool of the new entry; 0 when no entry was added (a position worth
            # nothing leaving its bonded pool for zero).
            ("unbondingShares", "u64"),
        ],
    ),
    (
        "Withdrawn",
        [
            ("node", "publicKey"),
            ("owner", "publicKey"),
            ("amount", "u64"),
            # The paid entries are exactly those with unlockTime <= withdrawnAt; these two let a reader check.
            ("unbondingShares", "u64"),
            ("entriesPaid", "u8"),
            ("withdrawnAt", "i64"),
        ],
    ),
    (
        "CommissionScheduled",
        [("node", "publicKey"), ("oldBps", "u16"), ("newBps", "u16"), ("effectiveAt", "i64")],
    ),
    (
        "RewardsRootPosted",
        [("epoch", "u64"), ("root", "bytes32"), ("cumulativeTotal", "u64"), ("funding", "u64")],
    ),
    ("Claimed", [("wallet", "publicKey"), ("amount", "u64"), ("cumulativeAmount", "u64")]),
    ("Slashed", [("node", "publicKey"), ("slashBps", "u16"), ("reason", "u32"), ("amount", "u64")]),
    ("NodeDeactivated", [("node", "publicKey"), ("operator", "publicKey")]),
]

ERRORS = [
    ("Unauthorized", "The signer is not the authority this instruction requires"),
    ("MissingSigner", "A required signer did not sign"),
    ("Paused", "The program is paused"),
    ("InvalidParams", "A configuration parameter is out of range"),
    ("InvalidAccountOwner", "An account is not owned by the expected program"),
    ("InvalidDiscriminator", "An account does not hold the expected account type"),
    ("InvalidPda", "An account is not the expected program-derived address"),
    ("AccountAlreadyInitialized", "The account to create already exists"),
    ("InvalidMint", "A token account does not hold the IO mint"),
    ("InvalidTokenAccount", "A token account is not owned by the expected wallet"),
    ("InvalidVault", "A vault account is not the one recorded in Config"),
    ("InvalidProgram", "A program account is not the expected program"),
    ("DuplicateAccount", "The same account was passed twice"),
    ("ZeroAmount", "The amount must be greater than zero"),
    ("MathOverflow", "Arithmetic overflow"),
    ("AmountTooSmall", "The amount is worth zero shares"),
    ("NodeNotActive", "The node is deactivated"),
    ("InsufficientStake", "The position holds less stake than requested"),
    ("DelegationCapExceeded", "Delegated stake would exceed max_delegation_bps of the node's stake"),
    ("BelowMinimumStake", "The operator's stake would fall below min_stake_per_gpu * gpu_units"),
    ("NothingPending", "The position has no stake in cooldown"),
    ("CooldownNotElapsed", "The cooldown has not elapsed"),
    ("CommissionTooHigh", "The commission exceeds max_commission_bps"),
    ("CommissionChangePending", "A commission increase is already scheduled"),
    ("EpochNotIncreasing", "The epoch must be greater than the latest posted epoch"),
    ("CumulativeTotalDecreased", "The cumulative total must never decrease"),
    ("EpochRewardsCapExceeded", "The root adds more than max_epoch_rewards"),
    ("VaultUnderfunded", "The rewards vault would hold less than cumulative total minus claimed"),
    ("InvalidProof", "The merkle proof does not match the posted root"),
    ("NothingToClaim", "Everything up to this amount was already claimed"),
    ("ProofTooLong", "The merkle proof has more than 32 levels"),
    ("SlashTooLarge", "slash_bps exceeds max_slash_bps"),
    ("PoolDepleted", "The node's share pool holds shares but no stake"),
    ("InvalidGpuUnits", "gpu_units must be between 1 and 65535"),
    ("InvalidInstruction", "Unknown instruction or malformed instruction data"),
    ("InsufficientFunds", "The source token account holds less than the amount"),
    ("AccountNotWritable", "An account that must be writable was passed read-only"),
    ("NotEnoughAccounts", "The instruction needs more accounts"),
    ("MaxSlashBpsTooHigh", "max_slash_bps must be below 10000 so that a slash never empties a pool"),
    ("TooManyUnbondingEntries", "The position has 8 unbonding entries: withdraw the matured ones first"),
]
ERROR_BASE = 6000
MAX_PROOF_LEN = 32

PDA_SEEDS = {
    "config": ["config"],
    "distributor": ["distributor"],
    "vault_authority": ["vault_authority"],
    "node": ["node", "<node_key>"],
    "position": ["position", "<node>", "<owner>"],
    "claim": ["claim", "<wallet>"],
}


def program_address() -> str:
    """Base58 address of the localnet program keypair (keys/iog_staking-keypair.json)."""
    from solders.keypair import Keypair

    raw = json.loads((ROOT / "keys" / "iog_staking-keypair.json").read_text())
    return str(Keypair.from_bytes(bytes(raw)).pubkey())


def disc(kind: str, name: str) -> bytes:
    """Anchor discriminator: first 8 bytes of sha256("<kind>:<name>")."""
    return hashlib.sha256(f"{kind}:{name}".encode()).digest()[:8]


def snake(name: str) -> str:
    """camelCase -> snake_case (as anchorpy does for sighashes)."""
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def idl_type(t: object) -> object:
    """IDL type JSON for a spec type."""
    if t == "bytes32" or (isinstance(t, tuple) and t[0] == "bytes32"):
        return {"array": ["u8", 32]}
    if t == "proof":
        return {"vec": {"array": ["u8", 32]}}
    if isinstance(t, tuple) and t[0] == "array":
        return {"array": [idl_type(t[1]), t[2]]}
    if isinstance(t, tuple) and t[0] in TYPES:
        return {"defined": t[0]}
    if t in TYPES:
        return {"defined": t}
    return t


def fields_json(fields: list) -> list[dict]:
    """IDL field list."""
    return [{"name": n, "type": idl_type(t)} for n, t in fields]


def build_idl() -> dict:
    """The complete IDL document."""
    return {
        "version": "0.1.0",
        "name": "iog_staking",
        "instructions": [
            {
                "name": name,
                "accounts": [{"name": a, "isMut": m, "isSigner": s} for a, m, s in accs],
                "args": fields_json(args),
            }
            for name, accs, args in INSTRUCTIONS
        ],
        "accounts": [
            {"name": name, "type": {"kind": "struct", "fields": fields_json(fields)}}
            for name, fields in ACCOUNTS.items()
        ],
        "types": [
            {"name": name, "type": {"kind": "struct", "fields": fields_json(fields)}} for name, fields in TYPES.items()
        ],
        "events": [
            {"name": name, "fields": [dict(f, index=False) for f in fields_json(fields)]}
            for name, fields in EVENTS
        ],
        "errors": [{"code": ERROR_BASE + i, "name": n, "msg": m} for i, (n, m) in enumerate(ERRORS)],
        "metadata": {"address": program_address()},
    }


def field_size(t: object) -> int:
    """Borsh size of a fixed-size spec type."""
    if t == "bytes32" or (isinstance(t, tuple) and t[0] == "bytes32"):
        return 32
    if isinstance(t, tuple) and t[0] == "array":
        return field_size(t[1]) * int(t[2])
    if isinstance(t, tuple):
        return sum(field_size(ft) for _, ft in t[1])
    if t in TYPES:
        return sum(field_size(ft) for _, ft in TYPES[str(t)])
    return SIZES[str(t)]


def upper(name: str) -> str:
    """camelCase -> UPPER_SNAKE."""
    return snake(name).upper().lstrip("_")


def disc_literal(d: bytes) -> str:
    """A discriminator as a little-endian u64 literal (compare against the first 8 data bytes)."""
    return f"0x{int.from_bytes(d, 'little'):016x}ULL"


def c_string(text: str) -> str:
    """A C string literal of ASCII ``text``."""
    if not text.isascii() or any(ch in text for ch in '"\\\n'):
        raise SystemExit(f"error text must be plain ASCII without quotes or backslashes: {text!r}")
    return f'"{text}"'


def error_text(code: int, name: str, msg: str) -> str:
    """What Anchor logs after its prefix ("AnchorError occurred. " or "AnchorError caused by account: <a>. ")."""
    return f"Error Code: {name}. Error Number: {code}. Error Message: {msg}."


def build_error_tables() -> list[str]:
    """Read-only tables the error logger uses (errors.c defines IOG_ERROR_TABLES before including this)."""
    lines = [
        "#ifdef IOG_ERROR_TABLES",
        "/* Text logged for each custom error after Anchor's prefix, indexed by code - ERROR_BASE. */",
        "typedef struct {",
        "  const char *text;",
        "  uint64_t len;",
        "} IogText;",
        "static const IogText ERROR_TEXTS[ERROR_COUNT] = {",
    ]
    for i, (n, m) in enumerate(ERRORS):
        t = error_text(ERROR_BASE + i, n, m)
        lines.append(f"    {{{c_string(t)}, {len(t)}}},")
    lines.append("};")
    lines.append("/* Account names of every instruction in IDL order, snake_case as an Anchor program names them. */")
    lines.append("static const IogText ACCOUNT_NAMES[] = {")
    starts = []
    k = 0
    for name, accs, _ in INSTRUCTIONS:
        starts.append(k)
        for a, _, _ in accs:
            sn = snake(a)
            lines.append(f"    {{{c_string(sn)}, {len(sn)}}}, /* {snake(name)} */")
            k += 1
    lines.append("};")
    lines.append("/* Index into ACCOUNT_NAMES of each instruction's first account, and its account count. */")
    lines.append(f"static const uint8_t IX_ACCOUNTS_START[IX_COUNT] = {{{', '.join(map(str, starts))}}};")
    counts = [len(accs) for _, accs, _ in INSTRUCTIONS]
    lines.append(f"static const uint8_t IX_ACCOUNTS_COUNT[IX_COUNT] = {{{', '.join(map(str, counts))}}};")
    lines.append("#endif /* IOG_ERROR_TABLES */")
    lines.append("")
    return lines


def build_header() -> str:
    """The C header text."""
    lines = [
        "/* GENERATED by programs/staking/tools/gen_layout.py -- do not edit by hand. */",
        "#pragma once",
        "",
        '/* Instruction discriminators: sha256("global:<snake_name>")[:8] as little-endian u64. */',
    ]
    for name, _, _ in INSTRUCTIONS:
        lines.append(f"#define IX_{upper(name)} {disc_literal(disc('global', snake(name)))}")
    lines.append("")
    lines.append("/* Instruction indexes (IDL order), for the account names of error logs. */")
    for i, (name, _, _) in enumerate(INSTRUCTIONS):
        lines.append(f"#define IXI_{upper(name)} {i}")
    lines.append(f"#define IX_COUNT {len(INSTRUCTIONS)}")
    lines.append("")
    lines.append("/* Account discriminators, offsets (from the start of account data) and sizes. */")
    for name, fields in ACCOUNTS.items():
        up = upper(name)
        lines.append(f"#define DISC_{up} {disc_literal(disc('account', name))}")
        off = 8
        for fname, ftype in fields:
            if off % min(field_size(ftype), 8) and not isinstance(ftype, tuple) and ftype != "publicKey":
                raise SystemExit(f"{name}.{fname} is misaligned at {off}")
            lines.append(f"#define {up}_OFF_{upper(fname)} {off}")
            if isinstance(ftype, tuple) and ftype[0] == "ConfigParams":
                sub = off
                for pname, ptype in ftype[1]:
                    lines.append(f"#define {up}_OFF_P_{upper(pname)} {sub}")
                    sub += field_size(ptype)
            off += field_size(ftype)
        lines.append(f"#define {up}_LEN {off}")
        lines.append("")
    lines.append("/* UnbondingEntry: offsets inside one entry, its size, entries per StakePosition. */")
    sub = 0
    for fname, ftype in UNBONDING_ENTRY:
        lines.append(f"#define UNBONDING_ENTRY_OFF_{upper(fname)} {sub}")
        sub += field_size(ftype)
    lines.append(f"#define UNBONDING_ENTRY_LEN {sub}")
    lines.append(f"#define MAX_UNBONDING_ENTRIES {MAX_UNBONDING_ENTRIES}")
    lines.append("")
    lines.append('/* Event discriminators: sha256("event:<Name>")[:8] as little-endian u64. */')
    for name, _ in EVENTS:
        lines.append(f"#define EV_{upper(name)} {disc_literal(disc('event', name))}")
    lines.append("")
    lines.append(f"#define CONFIG_PARAMS_LEN {field_size('ConfigParams')}")
    lines.append(f"#define MAX_PROOF_LEN {MAX_PROOF_LEN}")
    lines.append("")
    lines.append("/* Custom error codes (named in the IDL). */")
    for i, (n, _) in enumerate(ERRORS):
        lines.append(f"#define ERR_{upper(n)} {ERROR_BASE + i}")
    lines.append(f"#define ERROR_BASE {ERROR_BASE}")
    lines.append(f"#define ERROR_COUNT {len(ERRORS)}")
    lines.append("")
    lines.extend(build_error_tables())
    return "\n".join(lines)


def account_len(fields: list) -> int:
    """Bytes of an account: the 8-byte discriminator, then its fixed-size fields."""
    return 8 + sum(field_size(ft) for _, ft in fields)


def build_python() -> str:
    """The Python module text: account sizes and error codes."""
    lines = [
        "# ruff: noqa: E501",
        '"""GENERATED by programs/staking/tools/gen_layout.py -- do not edit by hand.',
        "",
        "Sizes of the staking program's accounts (discriminator included) and its custom error codes.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "#: Account name -> bytes of account data.",
        "ACCOUNT_LEN: dict[str, int] = {",
    ]
    lines += [f'    "{name}": {account_len(fields)},' for name, fields in ACCOUNTS.items()]
    lines.append("}")
    lines += [f"{upper(name)}_LEN = {account_len(fields)}" for name, fields in ACCOUNTS.items()]
    lines += ["", f"ERROR_BASE = {ERROR_BASE}", "#: Custom error code -> (name, message)."]
    lines.append("ERRORS: dict[int, tuple[str, str]] = {")
    lines += [f"    {ERROR_BASE + i}: ({json.dumps(n)}, {json.dumps(m)})," for i, (n, m) in enumerate(ERRORS)]
    lines += ["}", f"MAX_PROOF_LEN = {MAX_PROOF_LEN}", ""]
    return "\n".join(lines)


def main() -> int:
    """Write or check the generated files."""
    outputs = {
        IDL_PATH: json.dumps(build_idl(), indent=2) + "\n",
        HEADER_PATH: build_header(),
        PY_LAYOUT_PATH: build_python(),
    }
    if "--check" in sys.argv:
        stale = [str(p) for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        print(f"STALE: {', '.join(stale)}: run programs/staking/tools/gen_layout.py" if stale else "up to date")
        return 1 if stale else 0
    for path, text in outputs.items():
        path.write_text(text)
    print("wrote " + ", ".join(str(p) for p in outputs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
