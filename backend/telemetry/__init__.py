"""Telemetry: the off-chain inputs of rewards and billing (usage records; heartbeats and challenges)."""
