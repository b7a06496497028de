"""Payments: IO transfers into watched accounts, looked up by their Solana Pay reference."""
