"""Prometheus metrics of the indexer (served by ``iog indexer run --metrics-port``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

INGESTED = Counter("iog_indexer_ingested_transactions_total", "Transactions written", ["address", "status"])
LAG = Gauge("iog_indexer_lag_slots", "Finalized slot minus the cursor slot", ["address"])
RPC_ERRORS = Counter("iog_indexer_rpc_errors_total", "Failed RPC attempts", ["kind"])
RPC_RETRIES = Counter("iog_indexer_rpc_retries_total", "RPC attempts that were retried")
UNDECODABLE = Counter("iog_indexer_undecodable_transactions_total", "Transactions kept undecoded (raw stored)")
RPC_CALLS = Counter("iog_indexer_rpc_calls_total", "RPC HTTP requests sent", ["method"])
