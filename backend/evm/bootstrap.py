"""``iog evmnet bootstrap``: deploy the USDC-like token and the payment router on a dev chain, fund the demo
buyers, and write the typed EVM bootstrap file. Idempotent: a second run on the same chain sends nothing.

The deployer and the buyers are dev-mnemonic accounts (anvil's deterministic accounts 0 and 1..n); the treasury
is the backend's own key (``keys/evm-treasury.json``, created on first use), funded with ETH for its gas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import AppError
from backend.evm import bootfile
from backend.evm.bootfile import Buyer, Contract, EvmBootFile, EvmBootFileError, Token
from backend.evm.client import EvmClient, dev_account
from backend.evm.keys import load_or_create_key

DEFAULT_BUYERS = ("alice", "bob", "carol")
TOKEN_NAME, TOKEN_SYMBOL, TOKEN_DECIMALS = "USD Coin (iog dev)", "USDC", 6
BUYER_FUNDING = 1_000_000 * 10**TOKEN_DECIMALS  # each demo buyer is topped up to this
TREASURY_GAS_MIN = 10**18  # 1 ETH: below it the treasury is topped up to TREASURY_GAS
TREASURY_GAS = 10 * 10**18
DEMO_CONFIRMATIONS = 3
TREASURY_KEY = "evm-treasury.json"


class EvmBootstrapError(AppError):
    """The chain cannot be bootstrapped (no funded dev account, a foreign contract at a recorded address)."""

    status_code = 500


@dataclass
class EvmBootstrapResult:
    """The file written and the hashes of the transactions sent (empty on an unchanged chain)."""

    file: EvmBootFile
    sent: list[str] = field(default_factory=list)


def _previous(path: Path, chain_id: int) -> EvmBootFile | None:
    if not path.exists():
        return None
    try:
        prev = bootfile.load(path)
    except EvmBootFileError:
        return None  # unreadable: deploy afresh and overwrite it
    return prev if prev.chain_id == chain_id else None


def _has_code(client: EvmClient, address: str | None) -> bool:
    return bool(address) and len(client.code(address)) > 0  # type: ignore[arg-type]


def bootstrap(
    client: EvmClient,
    out: Path,
    keys_dir: Path,
    buyers: tuple[str, ...] = DEFAULT_BUYERS,
    confirmations: int = DEMO_CONFIRMATIONS,
) -> EvmBootstrapResult:
    """Deploy what is missing, top up what is short, write ``out``; see the module docstring."""
    chain_id = client.chain_id()
    deployer = dev_account(0)
    treasury = load_or_create_key(keys_dir / TREASURY_KEY)
    prev = _previous(out, chain_id)
    sent: list[str] = []

    def send(tx: dict[str, object]) -> dict[str, object]:
        rec = client.send_and_wait(deployer, tx)
        sent.append(str(rec["transactionHash"]))
        return rec

    if client.eth_balance(deployer.address) == 0:
        raise EvmBootstrapError(
            f"dev account {deployer.address} holds no ETH on chain {chain_id}: `iog evmnet bootstrap` is for a dev "
            "chain such as `iog evmnet up` (anvil)"
        )

    token = prev.token if prev and _has_code(client, prev.token.address) else None
    if token is None:
        address, rec = client.deploy(deployer, "Token", TOKEN_NAME, TOKEN_SYMBOL)
        sent.append(str(rec["transactionHash"]))
        token = Token(address=address, deploy_block=int(rec["blockNumber"], 16), symbol=TOKEN_SYMBOL,
                      decimals=TOKEN_DECIMALS)

    router = None
    if prev and _has_code(client, prev.router.address):
        fns = client.contract("PaymentRouter", prev.router.address).functions
        if fns.token().call().lower() == token.address and fns.treasury().call().lower() == treasury.address.lower():
            router = prev.router
    if router is None:
        address, rec = client.deploy(deployer, "PaymentRouter", token.address, treasury.address)
        sent.append(str(rec["transactionHash"]))
        router = Contract(address=address, deploy_block=int(rec["blockNumber"], 16))

    records = []
    for i, name in enumerate(buyers, start=1):
        account = dev_account(i)
        short = BUYER_FUNDING - client.token_balance(token.address, account.address)
        if short > 0:
            data = client.call_data("Token", token.address, "mint", account.address, short)
            send({"to": token.address, "data": data})
        records.append(Buyer(name=name, address=account.address, dev_account_index=i))

    gas = client.eth_balance(treasury.address)
    if gas < TREASURY_GAS_MIN:
        send({"to": treasury.address, "value": TREASURY_GAS - gas, "gas": 21_000})

    boot = EvmBootFile(
        rpc_url=client.rpc_url,
        chain_id=chain_id,
        deployer=deployer.address,
        token=token,
        router=router,
        treasury=treasury.address,
        treasury_keypair_path=str(keys_dir / TREASURY_KEY),
        confirmations=prev.confirmations if prev and confirmations == DEMO_CONFIRMATIONS else confirmations,
        buyers=records,
    )
    bootfile.save(boot, out)
    return EvmBootstrapResult(boot, sent)
