"""Authentication: Sign-In With Solana for people, API keys with roles for services."""
