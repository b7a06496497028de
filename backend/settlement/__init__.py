"""Settlement: jobs and metering, payouts, refunds and the burn, each sent exactly once from the treasury and
booked in the ledger at finalized (see outgoing.py for how a treasury transaction is recorded, sent and resolved)."""
