"""Prometheus metrics of telemetry (served by the API at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter

HEARTBEATS = Counter(
    "iog_heartbeats_total",
    "Heartbeat items by result: accepted, or the rejection reason",
    ["result"],
)
