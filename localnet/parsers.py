"""jsonParsed rendering: instruction parsers (system, SPL token, memo, associated token) and token accounts.

Pure functions from raw bytes to the JSON shapes a real validator returns. Anything they do not recognise
returns ``None`` and the caller falls back to the raw (unparsed) form, as a validator does.
"""

from __future__ import annotations

import struct
from base64 import b64encode
from typing import Any

from solders.pubkey import Pubkey

from localnet.b58 import b58encode
from localnet.constants import (
    ATA_PROGRAM,
    MEMO_PROGRAMS,
    SYSTEM_PROGRAM,
    TOKEN_2022_PROGRAM,
    TOKEN_PROGRAMS,
    U64_MAX,
)

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
_ACCOUNT_STATES = {1: "initialized", 2: "frozen"}


def _pk(raw: bytes) -> str:
    return str(Pubkey.from_bytes(raw))


def ui_token_amount(amount: int, decimals: int) -> dict[str, Any]:
    """The ``uiTokenAmount`` object; ``uiAmount`` is a float only because the RPC format says so."""
    s = str(amount)
    if decimals:
        s = s.rjust(decimals + 1, "0")
        whole, frac = s[:-decimals], s[-decimals:].rstrip("0")
        ui_str = f"{whole}.{frac}" if frac else whole
    else:
        ui_str = s
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(ui_str),
        "uiAmountString": ui_str,
    }


def read_mint(data: bytes) -> dict[str, Any] | None:
    """Decode an SPL mint (the first 82 bytes; Token-2022 extensions are ignored)."""
    if len(data) < MINT_LEN or (len(data) != MINT_LEN and len(data) < TOKEN_ACCOUNT_LEN):
        return None
    if len(data) > MINT_LEN and (len(data) == TOKEN_ACCOUNT_LEN or data[TOKEN_ACCOUNT_LEN] != 1):
        return None
    (has_auth,) = struct.unpack_from("<I", data, 0)
    supply, decimals, initialized, has_freeze = struct.unpack_from("<QBBI", data, 36)
    if not initialized:
        return None
    return {
        "decimals": decimals,
        "freezeAuthority": _pk(data[50:82]) if has_freeze else None,
        "isInitialized": True,
        "mintAuthority": _pk(data[4:36]) if has_auth else None,
        "supply": str(supply),
    }


def read_token_account(data: bytes) -> tuple[str, str, int, int] | None:
    """(mint, owner, amount, state) of an SPL token account, or None when ``data`` is not one."""
    if len(data) < TOKEN_ACCOUNT_LEN:
        return None
    if len(data) > TOKEN_ACCOUNT_LEN and data[TOKEN_ACCOUNT_LEN] != 2:
        return None
    state = data[108]
    if state not in _ACCOUNT_STATES:
        return None
    (amount,) = struct.unpack_from("<Q", data, 64)
    return _pk(data[0:32]), _pk(data[32:64]), amount, state


def read_delegate(data: bytes) -> str | None:
    """The delegate of an SPL token account (None when it has none)."""
    if len(data) < TOKEN_ACCOUNT_LEN or not struct.unpack_from("<I", data, 72)[0]:
        return None
    return _pk(data[76:108])


def parse_token_account_json(data: bytes, decimals: int | None, program: str) -> dict[str, Any] | None:
    """The jsonParsed form of a token account or mint, or None for anything else."""
    acc = read_token_account(data)
    if acc is not None and decimals is not None:
        mint, owner, amount, state = acc
        (is_native,) = struct.unpack_from("<I", data, 109)
        info: dict[str, Any] = {
            "isNative": bool(is_native),
            "mint": mint,
            "owner": owner,
            "state": _ACCOUNT_STATES[state],
            "tokenAmount": ui_token_amount(amount, decimals),
        }
        if (delegate := read_delegate(data)) is not None:
            info["delegate"] = delegate
            info["delegatedAmount"] = ui_token_amount(struct.unpack_from("<Q", data, 121)[0], decimals)
        parsed = {"type": "account", "info": info}
    else:
        mint_info = read_mint(data)
        if mint_info is None:
            return None
        parsed = {"type": "mint", "info": mint_info}
    name = "spl-token-2022" if program == TOKEN_2022_PROGRAM else "spl-token"
    return {"program": name, "parsed": parsed, "space": len(data)}


# --- instructions -----------------------------------------------------------------------------------------


def _amount(data: bytes, off: int = 1) -> int | None:
    if len(data) < off + 8:
        return None
    return struct.unpack_from("<Q", data, off)[0]


def _parse_system(data: bytes, accts: list[str]) -> dict[str, Any] | None:
    if len(data) < 4:
        return None
    (tag,) = struct.unpack_from("<I", data, 0)
    if tag == 2 and len(data) >= 12 and len(accts) >= 2:
        return {
            "type": "transfer",
            "info": {
                "source": accts[0],
                "destination": accts[1],
                "lamports": struct.unpack_from("<Q", data, 4)[0],
            },
        }
    if tag == 0 and len(data) >= 52 and len(accts) >= 2:
        lamports, space = struct.unpack_from("<QQ", data, 4)
        return {
            "type": "createAccount",
            "info": {
                "source": accts[0],
                "newAccount": accts[1],
                "lamports": lamports,
                "space": space,
                "owner": _pk(data[20:52]),
            },
        }
    if tag == 1 and len(data) >= 36 and accts:
        return {"type": "assign", "info": {"account": accts[0], "owner": _pk(data[4:36])}}
    if tag == 8 and len(data) >= 12 and accts:
        return {
            "type": "allocate",
            "info": {"account": accts[0], "space": struct.unpack_from("<Q", data, 4)[0]},
        }
    return None


def _authority(info: dict[str, Any], key: str, accts: list[str], idx: int) -> None:
    """A single authority, or a multisig with its signers, as the validator's parser names them."""
    if len(accts) > idx + 1:
        info["multisig" + key[0].upper() + key[1:]] = accts[idx]
        info["signers"] = accts[idx + 1 :]
    elif len(accts) > idx:
        info[key] = accts[idx]


def _parse_token(data: bytes, accts: list[str]) -> dict[str, Any] | None:  # noqa: C901 - a flat dispatch
    if not data:
        return None
    tag = data[0]
    n = len(accts)
    info: dict[str, Any]
    if tag in (3, 7, 8) and n >= 3:
        amount = _amount(data)
        if amount is None:
            return None
        if tag == 3:
            info = {"source": accts[0], "destination": accts[1], "amount": str(amount)}
            _authority(info, "authority", accts, 2)
            return {"type": "transfer", "info": info}
        if tag == 7:
            info = {"mint": accts[0], "account": accts[1], "amount": str(amount)}
            _authority(info, "mintAuthority", accts, 2)
            return {"type": "mintTo", "info": info}
        info = {"account": accts[0], "mint": accts[1], "amount": str(amount)}
        _authority(info, "authority", accts, 2)
        return {"type": "burn", "info": info}
    if tag in (12, 14, 15) and len(data) >= 10:
        amount = _amount(data)
        assert amount is not None
        ta = ui_token_amount(amount, data[9])
        if tag == 12 and n >= 4:
            info = {"source": accts[0], "mint": accts[1], "destination": accts[2], "tokenAmount": ta}
            _authority(info, "authority", accts, 3)
            return {"type": "transferChecked", "info": info}
        if tag == 14 and n >= 3:
            info = {"mint": accts[0], "account": accts[1], "tokenAmount": ta}
            _authority(info, "mintAuthority", accts, 2)
            return {"type": "mintToChecked", "info": info}
        if tag == 15 and n >= 3:
            info = {"account": accts[0], "mint": accts[1], "tokenAmount": ta}
            _authority(info, "authority", accts, 2)
            return {"type": "burnChecked", "info": info}
        return None
    if tag in (0, 20) and len(data) >= 35 and n >= 1:
        info = {"mint": accts[0], "decimals": data[1], "mintAuthority": _pk(data[2:34])}
        if data[34] == 1 and len(data) >= 67:
            info["freezeAuthority"] = _pk(data[35:67])
        if tag == 0 and n >= 2:
            info["rentSysvar"] = accts[1]
        return {"type": "initializeMint" if tag == 0 else "initializeMint2", "info": info}
    if tag == 1 and n >= 4:
        return {
            "type": "initializeAccount",
            "info": {"account": accts[0], "mint": accts[1], "owner": accts[2], "rentSysvar": accts[3]},
        }
    if tag in (16, 18) and len(data) >= 33 and n >= 2:
        info = {"account": accts[0], "mint": accts[1], "owner": _pk(data[1:33])}
        if tag == 16 and n >= 3:
            info["rentSysvar"] = accts[2]
        return {"type": "initializeAccount2" if tag == 16 else "initializeAccount3", "info": info}
    if tag == 9 and n >= 3:
        info = {"account": accts[0], "destination": accts[1]}
        _authority(info, "owner", accts, 2)
        return {"type": "closeAccount", "info": info}
    if tag == 4 and n >= 3:
        amount = _amount(data)
        if amount is None:
            return None
        info = {"source": accts[0], "delegate": accts[1], "amount": str(amount)}
        _authority(info, "owner", accts, 2)
        return {"type": "approve", "info": info}
    if tag == 5 and n >= 2:
        info = {"source": accts[0]}
        _authority(info, "owner", accts, 1)
        return {"type": "revoke", "info": info}
    return None


def _parse_ata(data: bytes, accts: list[str]) -> dict[str, Any] | None:
    if len(accts) < 6 or (data and data[0] not in (0, 1)) or len(data) > 1:
        return None
    info = {
        "source": accts[0],
        "account": accts[1],
        "wallet": accts[2],
        "mint": accts[3],
        "systemProgram": accts[4],
        "tokenProgram": accts[5],
    }
    return {"type": "createIdempotent" if data and data[0] == 1 else "create", "info": info}


def parse_instruction(program_id: str, data: bytes, accts: list[str]) -> dict[str, Any] | None:
    """``{"program", "programId", "parsed"}`` for a known program's instruction, else None."""
    if program_id == SYSTEM_PROGRAM:
        parsed: Any = _parse_system(data, accts)
        name = "system"
    elif program_id in TOKEN_PROGRAMS:
        parsed = _parse_token(data, accts)
        name = "spl-token"
    elif program_id in MEMO_PROGRAMS:
        try:
            parsed = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        name = "spl-memo"
    elif program_id == ATA_PROGRAM:
        parsed = _parse_ata(data, accts)
        name = "spl-associated-token-account"
    else:
        return None
    if parsed is None:
        return None
    return {"program": name, "programId": program_id, "parsed": parsed}


def encode_account(
    lamports: int,
    data: bytes,
    owner: str,
    executable: bool,
    encoding: str,
    data_slice: tuple[int, int] | None = None,
    mint_decimals: Any = None,
) -> dict[str, Any]:
    """An account in RPC form for ``encoding`` (base64, base58 or jsonParsed)."""
    out: dict[str, Any] = {
        "lamports": lamports,
        "owner": owner,
        "executable": executable,
        "rentEpoch": U64_MAX,
        "space": len(data),
    }
    if encoding == "jsonParsed" and owner in TOKEN_PROGRAMS and data_slice is None:
        decimals = mint_decimals(data) if mint_decimals is not None else None
        parsed = parse_token_account_json(data, decimals, owner)
        if parsed is not None:
            out["data"] = parsed
            return out
    if data_slice is not None:
        off, length = data_slice
        data = data[off : off + length]
    if encoding == "base58":
        out["data"] = [b58encode(data), "base58"]
    else:
        out["data"] = [b64encode(data).decode(), "base64"]
    return out


# --- vote accounts ------------------------------------------------------------------------------------------

_VOTE_LANDED = 2  # VoteStateVersions::Current: votes carry a latency byte
_VOTE_1_14_11 = 1
_PRIOR_VOTERS_LEN = 32 * 48 + 8 + 1  # CircBuf<(Pubkey, Epoch, Epoch)> of 32 entries, index, is_empty


def read_vote_state(data: bytes) -> dict[str, Any] | None:
    """node pubkey, commission, last vote, root slot and epoch credits of an initialized vote account.

    Reads the bincode layouts of VoteStateVersions 1.14.11 and Current (what the runtime here writes);
    anything else, or an account without authorized voters (uninitialized), gives None, as a validator's
    vote-account cache would not hold it.
    """
    try:
        (tag,) = struct.unpack_from("<I", data, 0)
        if tag not in (_VOTE_1_14_11, _VOTE_LANDED):
            return None
        node = _pk(data[4:36])
        commission = data[68]
        off = 69
        (n,) = struct.unpack_from("<Q", data, off)
        size = 13 if tag == _VOTE_LANDED else 12
        off += 8
        if off + n * size > len(data):
            return None
        last_vote = 0
        if n:
            last_vote = struct.unpack_from("<Q", data, off + (n - 1) * size + (1 if tag == _VOTE_LANDED else 0))[0]
        off += n * size
        root_slot = 0
        if data[off] == 1:
            (root_slot,) = struct.unpack_from("<Q", data, off + 1)
            off += 9
        else:
            off += 1
        (voters,) = struct.unpack_from("<Q", data, off)
        if voters == 0 or voters > 64:
            return None
        off += 8 + voters * 40 + _PRIOR_VOTERS_LEN
        (e,) = struct.unpack_from("<Q", data, off)
        off += 8
        if off + e * 24 > len(data):
            return None
        credits = [list(struct.unpack_from("<QQQ", data, off + 24 * i)) for i in range(e)]
    except (struct.error, IndexError):
        return None
    return {
        "nodePubkey": node,
        "commission": commission,
        "lastVote": last_vote,
        "rootSlot": root_slot,
        "epochCredits": credits,
    }
