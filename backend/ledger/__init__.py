"""The double-entry ledger: accounts per currency, immutable balanced entries, balances, and the check against the
chain (see service.py for the chart of accounts and check.py for what is checked)."""
