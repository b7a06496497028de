"""iog indexer: Solana -> SQL, restart-safe and exactly once."""
