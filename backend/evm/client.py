"""The one module of EVM chain I/O: reads (heads, headers, logs, balances), EIP-1559 fees, nonces, signing and
raw sends, receipts, deploys. Everything else in backend/evm reaches the chain through :class:`EvmClient`.

Logs and headers are returned as the node's JSON (hex strings), so decoders stay pure functions over RPC JSON
(:mod:`backend.evm.decode`). Block tags are always explicit. Transport and node errors become
:class:`EvmRpcError`; a reverted transaction :class:`EvmTxFailed`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from backend.errors import AppError
from backend.evm.contracts import artifact

GWEI = 10**9


def _abi_args(args: tuple[Any, ...]) -> list[Any]:
    """Addresses (20-byte hex strings) in the checksum form web3 requires; everything else unchanged."""
    out: list[Any] = []
    for a in args:
        is_address = isinstance(a, str) and len(a) == 42 and a.startswith("0x")
        out.append(to_checksum_address(a) if is_address else a)
    return out


class EvmRpcError(AppError):
    """The EVM node did not answer, or answered with an error."""

    status_code = 503


class EvmTxFailed(AppError):
    """A transaction was mined but reverted (status 0), or could not be mined in time."""

    status_code = 502


@dataclass(frozen=True)
class BlockRef:
    """A block header's identity."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int
    base_fee: int | None


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fee fields in wei."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True)
class Signed:
    """A signed transaction: its raw bytes (hex) and hash, recorded before it is sent."""

    raw: str
    tx_hash: str
    nonce: int
    fees: Fees
    gas: int


class EvmClient:
    """JSON-RPC client of one EVM chain (web3.py's HTTP provider)."""

    def __init__(self, rpc_url: str, timeout: float = 10.0, max_fee_cap: int = 500 * GWEI) -> None:
        self.rpc_url = rpc_url
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.max_fee_cap = max_fee_cap
        self._chain_id: int | None = None

    # --- raw JSON-RPC -----------------------------------------------------------------------------------------
    def request(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC call; the ``result`` or :class:`EvmRpcError`."""
        try:
            resp = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except Exception as exc:  # requests/aiohttp/socket errors: the node is unreachable or timed out
            raise EvmRpcError(f"{method} at {self.rpc_url}: {type(exc).__name__}: {exc}") from None
        if "error" in resp:
            err = resp["error"]
            msg = err.get("message", err) if isinstance(err, dict) else err
            raise EvmRpcError(f"{method}: {msg}")
        return resp.get("result")

    # --- reads ------------------------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The chain id (cached: it never changes for an endpoint)."""
        if self._chain_id is None:
            self._chain_id = int(self.request("eth_chainId", []), 16)
        return self._chain_id

    def block_number(self) -> int:
        """The newest block number (``latest``)."""
        return int(self.request("eth_blockNumber", []), 16)

    def block(self, number: int | str) -> BlockRef | None:
        """The header of block ``number`` (or a tag such as ``"latest"``); None when the chain has no such block."""
        tag = hex(number) if isinstance(number, int) else number
        raw = self.request("eth_getBlockByNumber", [tag, False])
        if raw is None:
            return None
        try:
            base = raw.get("baseFeePerGas")
            return BlockRef(
                int(raw["number"], 16), raw["hash"].lower(), raw["parentHash"].lower(), int(raw["timestamp"], 16),
                int(base, 16) if base else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise EvmRpcError(f"eth_getBlockByNumber({tag}): malformed header {str(raw)[:200]}") from None

    def get_logs(self, from_block: int, to_block: int, address: str | list[str], topics: list[Any]) -> list[dict]:
        """``eth_getLogs`` over an inclusive block range; the node's JSON log objects."""
        params = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": address, "topics": topics}
        result = self.request("eth_getLogs", [params])
        if not isinstance(result, list):
            raise EvmRpcError(f"eth_getLogs {from_block}..{to_block}: not a list")
        return result

    def code(self, address: str) -> bytes:
        """The contract code at ``address`` at ``latest`` (empty for an account without code)."""
        return bytes.fromhex(str(self.request("eth_getCode", [to_checksum_address(address), "latest"]))[2:])

    def contract(self, name: str, address: str) -> Any:
        """A web3 contract object for a committed artifact at ``address``."""
        return self.w3.eth.contract(address=to_checksum_address(address), abi=artifact(name).abi)

    def token_balance(self, token: str, owner: str, block: int | str = "latest") -> int:
        """``balanceOf(owner)`` of an ERC-20 at ``block`` (a number or tag)."""
        try:
            return int(self.contract("Token", token).functions.balanceOf(to_checksum_address(owner)).call(
                block_identifier=block
            ))
        except Exception as exc:  # a revert or transport error: never a silent zero
            raise EvmRpcError(f"balanceOf({owner}) at {block}: {type(exc).__name__}: {exc}") from None

    def eth_balance(self, address: str) -> int:
        """Wei held by ``address`` at ``latest``."""
        return int(self.request("eth_getBalance", [to_checksum_address(address), "latest"]), 16)

    def nonce(self, address: str, tag: str = "pending") -> int:
        """Transaction count of ``address`` at ``tag`` (``pending`` counts the mempool, ``latest`` does not)."""
        return int(self.request("eth_getTransactionCount", [to_checksum_address(address), tag]), 16)

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt JSON of a mined transaction, or None."""
        result = self.request("eth_getTransactionReceipt", [tx_hash])
        return result if isinstance(result, dict) else None

    def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """The transaction JSON (pending or mined), or None when the node does not know it."""
        result = self.request("eth_getTransactionByHash", [tx_hash])
        return result if isinstance(result, dict) else None

    # --- fees, signing, sending --------------------------------------------------------------------------------
    def fees(self, bump_from: Fees | None = None) -> Fees:
        """EIP-1559 fees: priority from ``eth_maxPriorityFeePerGas``, max fee twice the latest base fee plus it,
        capped at ``max_fee_cap``. With ``bump_from`` (a replacement), each field is at least 12.5% above the old
        one, so nodes accept it as a replacement of the same nonce (they require +10%)."""
        head = self.block("latest")
        base = head.base_fee if head and head.base_fee is not None else 0
        priority = int(self.request("eth_maxPriorityFeePerGas", []), 16)
        max_fee = 2 * base + priority
        if bump_from is not None:
            priority = max(priority, bump_from.max_priority_fee_per_gas * 9 // 8 + 1)
            max_fee = max(max_fee, bump_from.max_fee_per_gas * 9 // 8 + 1)
        if max_fee > self.max_fee_cap:
            raise EvmTxFailed(
                f"maxFeePerGas {max_fee} wei exceeds the cap {self.max_fee_cap} (IOG_EVM_TX_MAX_FEE_GWEI)"
            )
        return Fees(max_fee, min(priority, max_fee))

    def sign(self, account: LocalAccount, tx: dict[str, Any], nonce: int, fees: Fees) -> Signed:
        """Sign a type-2 transaction with ``nonce`` and ``fees``; gas is estimated unless given."""
        full = {
            "type": 2,
            "chainId": self.chain_id(),
            "nonce": nonce,
            "value": 0,
            "data": "0x",
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
            **tx,
        }
        if "to" in full and full["to"] is not None:
            full["to"] = to_checksum_address(full["to"])
        if "gas" not in full:
            est = {k: v for k, v in full.items() if k in ("to", "data", "value")} | {"from": account.address}
            full["gas"] = self.estimate_gas(est) * 6 // 5  # 20% margin: state may change before it is mined
        signed = account.sign_transaction(full)
        return Signed("0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex(), nonce, fees, int(full["gas"]))

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        """``eth_estimateGas``; a revert is :class:`EvmTxFailed` naming the reason."""
        params = {k: (hex(v) if isinstance(v, int) else v) for k, v in tx.items()}
        try:
            return int(self.request("eth_estimateGas", [params]), 16)
        except EvmRpcError as exc:
            raise EvmTxFailed(f"the transaction would revert: {exc.message}") from None

    def send_raw(self, raw: str) -> str:
        """``eth_sendRawTransaction``; returns the hash. "already known" counts as sent (same bytes, same hash)."""
        try:
            return str(self.request("eth_sendRawTransaction", [raw]))
        except EvmRpcError as exc:
            if "already known" in exc.message.lower() or "already imported" in exc.message.lower():
                return "0x" + Web3.keccak(hexstr=raw).hex()
            raise

    def wait_receipt(self, tx_hash: str, timeout: float = 60.0, poll: float = 0.2) -> dict[str, Any]:
        """Poll until ``tx_hash`` is mined; :class:`EvmTxFailed` on a revert or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.receipt(tx_hash)
            if rec is not None:
                if int(rec.get("status", "0x0"), 16) != 1:
                    raise EvmTxFailed(f"transaction {tx_hash} reverted (block {int(rec['blockNumber'], 16)})")
                return rec
            time.sleep(poll)
        raise EvmTxFailed(f"transaction {tx_hash} not mined within {timeout:.0f} s")

    def send_and_wait(self, account: LocalAccount, tx: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Sign with the account's pending nonce and current fees, send, wait for the receipt (for set-up tools
        such as the bootstrap; money the backend sends goes through :mod:`backend.evm.sender`)."""
        signed = self.sign(account, tx, self.nonce(account.address), self.fees())
        return self.wait_receipt(self.send_raw(signed.raw), timeout)

    def deploy(self, account: LocalAccount, name: str, *args: Any) -> tuple[str, dict[str, Any]]:
        """Deploy a committed artifact with constructor ``args``; (address, receipt)."""
        art = artifact(name)
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        data = factory.constructor(*_abi_args(args)).data_in_transaction
        rec = self.send_and_wait(account, {"data": data})
        return str(rec["contractAddress"]).lower(), rec

    def call_data(self, name: str, address: str, fn: str, *args: Any) -> str:
        """ABI-encoded calldata of ``fn(*args)`` on a committed contract."""
        return str(self.contract(name, address).encode_abi(fn, args=_abi_args(args)))


def dev_account(index: int) -> LocalAccount:
    """Account ``index`` of the standard dev mnemonic (anvil's deterministic accounts)."""
    from backend.evm.anvil import DEV_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
