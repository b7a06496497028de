"""iog localnet: an embedded Solana node (LiteSVM behind JSON-RPC + PubSub).

The node stands alone: it imports nothing of backend/ or indexer/ (a test checks it). Creating a cluster's
accounts (``iog localnet bootstrap``) is an RPC client and lives in backend/chain/bootstrap.py.

Module map:

- :mod:`localnet.node` -- ``LocalnetNode``: runs everything below on one thread / asyncio loop
  (``start()``/``stop()``, context manager, ``run()`` in the foreground for ``iog localnet up``).
  ``manual_clock=True`` with ``advance(n)``: a clock only the test (Python) moves, not reachable over RPC.
- :mod:`localnet.bank` -- chain state: LiteSVM, slots, 150-slot blockhash window, commitment, the
  ledger (every transaction with its meta), the address -> signatures index and the owner -> accounts index.
- :mod:`localnet.history` -- account states as ``confirmed`` / ``finalized`` see them.
- :mod:`localnet.ledger` -- the SQLite ledger file under ``--ledger DIR`` (committed every slot).
  Committed before a client can see a change: a restart, even after ``kill -9``, serves every commitment
  level as clients last saw it (transactions, accounts with their recent history, the slot, genesis).
- :mod:`localnet.rpc`, :mod:`localnet.rpc_accounts`, :mod:`localnet.params` -- JSON-RPC methods.
- :mod:`localnet.rpc_blocks` -- getBlock / getBlocks / getBlocksWithLimit, transaction counts, ledger bounds,
  getRecentPrioritizationFees and getRecentPerformanceSamples, read from the ledger (one block per slot).
- :mod:`localnet.rpc_cluster` -- epoch schedule, supply and largest accounts, inflation, stake minimum,
  leaders and block production, cluster nodes, vote accounts: a one-node cluster's values.
- :mod:`localnet.records`, :mod:`localnet.parsers` -- getTransaction / jsonParsed rendering.
- :mod:`localnet.httpserver`, :mod:`localnet.pubsub` -- HTTP/1.1 and websocket transports.
- :mod:`localnet.validator` -- ``--engine test-validator`` (a real solana-test-validator).

Known differences from a validator: one node and no forks: its identity leads every slot and every slot is a
block (no skipped slots), with no stake, votes, gossip, TPU, snapshots (getHighestSnapshotSlot answers "No
snapshot"), inflation or block rewards (fees are burnt, so blocks carry ``rewards: []``); getClusterNodes lists
the node itself with its RPC and PubSub addresses only; performance samples are read back from the ledger's slot
times rather than taken live; compute units and error message texts come from LiteSVM; priority fees are not
charged (getRecentPrioritizationFees still reports the prices transactions set); the whole ledger is also kept in
memory.
"""
