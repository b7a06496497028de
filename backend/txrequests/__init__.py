"""Solana Pay transaction requests: wallets fetch an unsigned transaction for an action, sign and send it."""
