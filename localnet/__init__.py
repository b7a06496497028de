"""iog localnet: an embedded Solana node (LiteSVM behind JSON-RPC + PubSub).

The node stands alone: it imports nothing of backend/ or indexer/ (a test checks it). Creating a cluster's
accounts (``iog localnet bootstrap``) is an RPC client and lives in backend/chain/bootstrap.py.

Module map:

- :mod:`localnet.node` -- ``LocalnetNode``: runs everything below on one thread / asyncio loop
  (``start()``/``stop()``, context manager, ``run()`` in the foreground for ``iog localnet up``).
- :mod:`localnet.bank` -- chain state: LiteSVM, slots, 150-slot blockhash window, commitment, the
  ledger (every transaction with its meta), the address -> signatures index and the owner -> accounts index.
- :mod:`localnet.history` -- account states as ``confirmed`` / ``finalized`` see them.
- :mod:`localnet.ledger` -- the SQLite ledger file under ``--ledger DIR`` (committed every slot).
- :mod:`localnet.rpc`, :mod:`localnet.rpc_accounts`, :mod:`localnet.params` -- JSON-RPC methods.
- :mod:`localnet.records`, :mod:`localnet.parsers` -- getTransaction / jsonParsed rendering.
- :mod:`localnet.httpserver`, :mod:`localnet.pubsub` -- HTTP/1.1 and websocket transports.
- :mod:`localnet.validator` -- ``--engine test-validator`` (a real solana-test-validator).

Known differences from a validator: one node, no leader schedule or forks; compute units and error message
texts come from LiteSVM; priority fees are not charged; the whole ledger is also kept in memory.
"""
