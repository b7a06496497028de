"""Nodes: what operators and delegators do from their wallets (issue 10).

- ``api.py``: ``POST /nodes``, ``PATCH /nodes/{node}``, ``GET /nodes/{node}/record`` (the registry),
  ``GET /marketplace/nodes``, ``GET /marketplace/score``, ``GET /wallets/{w}``; importing it registers the
  transaction requests of ``actions.py``.
- ``actions.py``: ``/tx/register_node``, ``stake``, ``request_unstake``, ``withdraw``, ``set_commission``,
  ``deactivate_node``: pre-checks named by the program's errors, read from the chain (``onchain.py``) with the
  program's rules (``rules.py``); the builder (backend/chain/txbuild.py) then simulates.
- ``service.py``: the registry (records, status transitions), node resolution, the ONE reader of a wallet's
  positions, ``as_of_slot``. ``repository.py``: its queries.
- ``tasks.py``: ``sync_registry`` and ``refresh_node_stats`` (the marketplace's ``node_stats``), run by
  ``iog nodes refresh-stats`` (and ``iog run``) until the scheduler runs them; ``performance.py``: the ONE source
  of uptime / compute / rewards / APY (the epoch runner's, null until connected); ``score.py``: the published
  score; ``market.py``: the keyset-paged listing.
"""
