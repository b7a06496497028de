"""The EVM rail: USDC payments on EVM chains (web3.py), settled into the same invoices and ledger as Solana.

Module map:
- ``anvil.py``     the local EVM node (anvil from the pinned npm package in .tools/anvil)
- ``compile.py``   Vyper sources in ``contracts/`` -> committed ``contracts/artifacts/*.json`` (make contracts)
- ``contracts.py`` the artifacts, event topics, function selectors (pure)
- ``client.py``    the one module of EVM chain I/O (reads, logs, EIP-1559 fees, nonces, signing, sends)
- ``keys.py``      the backend's own EVM key files (the treasury)
- ``bootfile.py``  the typed EVM bootstrap file; ``bootstrap.py`` deploys token + router, funds demo buyers
- ``decode.py``    pure decoders of ``Paid`` and ``Transfer`` logs from RPC JSON
- ``indexer.py``   eth_getLogs over block ranges -> SQL, reorg-safe, cursor committed with the rows
- ``sender.py``    exactly-once sending of the treasury's transactions (recorded before sent, replaced by nonce)
- ``service.py``   what other domains call: an invoice's payments, EIP-681 links, the treasury balance
- ``tasks.py``     scheduler jobs: one indexer pass, resume the treasury's unsettled transactions
- ``cli.py``       ``iog evmnet up|bootstrap|pay|transfer|balance`` and ``iog evm index|payments``
"""

# py_ecc (under eth_account and web3) raises the recursion limit at import; import it here, under a guard, so that
# no import of the EVM rail changes the process (see _pyecc).
from backend.evm import _pyecc as _pyecc  # noqa: E402
