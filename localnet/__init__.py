"""iog localnet: an embedded Solana node (LiteSVM behind JSON-RPC + PubSub) and cluster bootstrap."""
