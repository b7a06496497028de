"""Chain I/O: RPC client helpers, PDAs and the staking program's typed client."""
