"""Account and token JSON-RPC methods.

Reads honour ``commitment``: an account written in a slot not yet confirmed/finalized is served as it was
before (see :mod:`localnet.history`). getProgramAccounts and getTokenAccountsByOwner iterate the node's owner
index, which holds every account a transaction wrote or the node loaded.
"""

from __future__ import annotations

from base64 import b64decode
from typing import TYPE_CHECKING, Any

from solders.account import Account
from solders.pubkey import Pubkey

from localnet import params as P
from localnet.b58 import b58decode
from localnet.constants import CORE_VERSION, NUM_LARGEST_ACCOUNTS, TOKEN_PROGRAMS
from localnet.errors import invalid_params
from localnet.parsers import encode_account, read_delegate, read_mint, read_token_account, ui_token_amount

if TYPE_CHECKING:
    from localnet.bank import Bank


def _ctx(bank: Bank, cfg: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": CORE_VERSION, "slot": bank.commitment_slot(P.commitment(cfg))}


def render(bank: Bank, acc: Account, encoding: str, data_slice: tuple[int, int] | None) -> dict[str, Any]:
    """An account in RPC form."""

    def decimals(data: bytes) -> int | None:
        t = read_token_account(data)
        return bank.mint_decimals(t[0]) if t is not None else 0

    return encode_account(
        acc.lamports, bytes(acc.data), str(acc.owner), acc.executable, encoding, data_slice, decimals
    )


def get_balance(bank: Bank, params: list[Any]) -> Any:
    pk = P.pubkey(params, 0, "pubkey")
    cfg = P.config(params, 1)
    acc = bank.get_account(pk, P.commitment(cfg))
    return {"context": _ctx(bank, cfg), "value": 0 if acc is None else acc.lamports}


def get_account_info(bank: Bank, params: list[Any]) -> Any:
    pk = P.pubkey(params, 0, "pubkey")
    cfg = P.config(params, 1)
    enc = P.account_encoding(cfg, "base58")
    ds = P.data_slice(cfg)
    acc = bank.get_account(pk, P.commitment(cfg))
    return {"context": _ctx(bank, cfg), "value": None if acc is None else render(bank, acc, enc, ds)}


def get_multiple_accounts(bank: Bank, params: list[Any]) -> Any:
    keys = P.arg(params, 0, "pubkeys")
    if not isinstance(keys, list) or len(keys) > 100:
        raise invalid_params("`pubkeys` must be a list of at most 100 public keys")
    cfg = P.config(params, 1)
    enc = P.account_encoding(cfg, "base64")
    ds = P.data_slice(cfg)
    out = []
    for i, k in enumerate(keys):
        acc = bank.get_account(P.pubkey_value(k, f"pubkeys[{i}]"), P.commitment(cfg))
        out.append(None if acc is None else render(bank, acc, enc, ds))
    return {"context": _ctx(bank, cfg), "value": out}


def _filters(cfg: dict[str, Any]) -> list[tuple[str, Any]]:
    raw = cfg.get("filters") or []
    if not isinstance(raw, list) or len(raw) > 4:
        raise invalid_params("`filters` must be a list of at most 4 filters")
    out: list[tuple[str, Any]] = []
    for i, f in enumerate(raw):
        if isinstance(f, dict) and "dataSize" in f:
            out.append(("size", P.integer(f["dataSize"], f"filters[{i}].dataSize")))
        elif isinstance(f, dict) and isinstance(f.get("memcmp"), dict):
            m = f["memcmp"]
            off = P.integer(m.get("offset"), f"filters[{i}].memcmp.offset")
            b = m.get("bytes")
            enc = m.get("encoding", "base58")
            if not isinstance(b, str) or enc not in ("base58", "base64"):
                raise invalid_params(f"`filters[{i}].memcmp` needs `bytes` as a base58 or base64 string")
            if len(b) > 175:
                raise invalid_params(f"`filters[{i}].memcmp.bytes` is longer than 128 bytes")
            try:
                data = b58decode(b) if enc == "base58" else b64decode(b, validate=True)
            except ValueError:
                raise invalid_params(f"`filters[{i}].memcmp.bytes` is not valid {enc}") from None
            out.append(("memcmp", (off, data)))
        elif isinstance(f, dict) and "tokenAccountState" in f:
            out.append(("tokenAccountState", None))
        else:
            raise invalid_params(f"`filters[{i}]` must be {{dataSize}} or {{memcmp: {{offset, bytes}}}}")
    return out


def _matches(data: bytes, filters: list[tuple[str, Any]]) -> bool:
    for kind, arg in filters:
        if kind == "size":
            if len(data) != arg:
                return False
        elif kind == "memcmp":
            off, needle = arg
            if data[off : off + len(needle)] != needle:
                return False
        elif read_token_account(data) is None:
            return False
    return True


def get_program_accounts(bank: Bank, params: list[Any]) -> Any:
    pid = P.pubkey(params, 0, "programId")
    cfg = P.config(params, 1)
    enc = P.account_encoding(cfg, "base64")
    ds = P.data_slice(cfg)
    filters = _filters(cfg)
    with_context = P.boolean(cfg, "withContext", False)
    commitment = P.commitment(cfg)
    out = []
    for pk in bank.accounts_of_program(pid):
        acc = bank.get_account(pk, commitment)
        if acc is None or str(acc.owner) != pid:
            continue
        if _matches(bytes(acc.data), filters):
            out.append({"pubkey": pk, "account": render(bank, acc, enc, ds)})
    return {"context": _ctx(bank, cfg), "value": out} if with_context else out


def _token_account(bank: Bank, pk: str, commitment: str) -> tuple[Account, tuple[str, str, int, int]]:
    acc = bank.get_account(pk, commitment)
    t = read_token_account(bytes(acc.data)) if acc is not None and str(acc.owner) in TOKEN_PROGRAMS else None
    if acc is None or t is None:
        raise invalid_params(
            f"Invalid param: could not find account {pk}"
            if acc is None
            else "Invalid param: not a Token account"
        )
    return acc, t


def get_token_account_balance(bank: Bank, params: list[Any]) -> Any:
    pk = P.pubkey(params, 0, "pubkey")
    cfg = P.config(params, 1)
    _acc, t = _token_account(bank, pk, P.commitment(cfg))
    decimals = bank.mint_decimals(t[0])
    if decimals is None:
        raise invalid_params("Invalid param: could not find mint")
    return {"context": _ctx(bank, cfg), "value": ui_token_amount(t[2], decimals)}


def get_token_supply(bank: Bank, params: list[Any]) -> Any:
    pk = P.pubkey(params, 0, "mint")
    cfg = P.config(params, 1)
    acc = bank.get_account(pk, P.commitment(cfg))
    info = read_mint(bytes(acc.data)) if acc is not None and str(acc.owner) in TOKEN_PROGRAMS else None
    if info is None:
        raise invalid_params("Invalid param: not a Token mint")
    return {"context": _ctx(bank, cfg), "value": ui_token_amount(int(info["supply"]), info["decimals"])}


def _token_filter(bank: Bank, params: list[Any], commitment: str) -> tuple[list[str], str | None]:
    """The token programs to scan and the mint, from ``{mint}`` or ``{programId}`` at position 1."""
    flt = P.arg(params, 1, "filter")
    if not isinstance(flt, dict) or len(flt) != 1 or not ({"mint", "programId"} & flt.keys()):
        raise invalid_params("`filter` must be {mint: <pubkey>} or {programId: <pubkey>}")
    if "mint" in flt:
        mint = P.pubkey_value(flt["mint"], "filter.mint")
        acc = bank.get_account(mint, commitment)
        if acc is None or str(acc.owner) not in TOKEN_PROGRAMS or read_mint(bytes(acc.data)) is None:
            raise invalid_params("Invalid param: not a Token mint")
        return [str(acc.owner)], mint
    program = P.pubkey_value(flt["programId"], "filter.programId")
    if program not in TOKEN_PROGRAMS:
        raise invalid_params(f"Invalid param: unrecognized Token program id {program}")
    return [program], None


def _token_accounts_by(bank: Bank, params: list[Any], role: str) -> Any:
    """getTokenAccountsByOwner (``role`` owner) and getTokenAccountsByDelegate (``role`` delegate)."""
    who = P.pubkey(params, 0, role)
    cfg = P.config(params, 2)
    commitment = P.commitment(cfg)
    programs, mint = _token_filter(bank, params, commitment)
    enc = P.account_encoding(cfg, "base64")
    ds = P.data_slice(cfg)
    out = []
    for prog in programs:
        for pk in bank.accounts_of_program(prog):
            acc = bank.get_account(pk, commitment)
            if acc is None:
                continue
            data = bytes(acc.data)
            t = read_token_account(data)
            if t is None or (mint is not None and t[0] != mint):
                continue
            if role == "owner" and t[1] != who:
                continue
            if role == "delegate" and read_delegate(data) != who:
                continue
            out.append({"pubkey": pk, "account": render(bank, acc, enc, ds)})
    return {"context": _ctx(bank, cfg), "value": out}


def get_token_accounts_by_owner(bank: Bank, params: list[Any]) -> Any:
    return _token_accounts_by(bank, params, "owner")


def get_token_accounts_by_delegate(bank: Bank, params: list[Any]) -> Any:
    return _token_accounts_by(bank, params, "delegate")


def get_token_largest_accounts(bank: Bank, params: list[Any]) -> Any:
    mint = P.pubkey(params, 0, "mint")
    cfg = P.config(params, 1)
    commitment = P.commitment(cfg)
    acc = bank.get_account(mint, commitment)
    info = read_mint(bytes(acc.data)) if acc is not None and str(acc.owner) in TOKEN_PROGRAMS else None
    if acc is None or info is None:
        raise invalid_params("Invalid param: not a Token mint")
    balances: list[tuple[int, bytes, str]] = []
    for pk in bank.accounts_of_program(str(acc.owner)):
        held = bank.get_account(pk, commitment)
        t = read_token_account(bytes(held.data)) if held is not None else None
        if t is not None and t[0] == mint:
            balances.append((t[2], bytes(Pubkey.from_string(pk)), pk))
    balances.sort(reverse=True)  # largest first; equal amounts by address bytes, as a validator's heap does
    value = [
        {"address": pk, **ui_token_amount(amount, info["decimals"])}
        for amount, _raw, pk in balances[:NUM_LARGEST_ACCOUNTS]
    ]
    return {"context": _ctx(bank, cfg), "value": value}


METHODS = {
    "getBalance": get_balance,
    "getAccountInfo": get_account_info,
    "getMultipleAccounts": get_multiple_accounts,
    "getProgramAccounts": get_program_accounts,
    "getTokenAccountBalance": get_token_account_balance,
    "getTokenSupply": get_token_supply,
    "getTokenAccountsByOwner": get_token_accounts_by_owner,
    "getTokenAccountsByDelegate": get_token_accounts_by_delegate,
    "getTokenLargestAccounts": get_token_largest_accounts,
}
