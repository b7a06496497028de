"""Well-known program ids and protocol constants of the embedded node."""

from __future__ import annotations

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM, TOKEN_2022_PROGRAM})
ATA_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMO_PROGRAMS = frozenset(
    {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"}
)
BPF_UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111"
LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111"
#: Entries kept in the SlotHashes sysvar (as on a validator; lookup-table creation checks it)
SLOT_HASHES_MAX = 512

#: Lamports per signature; LiteSVM charges this flat fee and no priority fee.
LAMPORTS_PER_SIGNATURE = 5_000
#: How many recent blockhashes (one per slot) a transaction may reference, as on a real validator.
BLOCKHASH_WINDOW = 150
#: Slots per epoch (mainnet value, without warm-up).
SLOTS_PER_EPOCH = 432_000
#: Reported as ``solana-core`` by getVersion: the Agave line LiteSVM in solders 0.26 embeds.
CORE_VERSION = "2.2.0"
FEATURE_SET = 3294202862
U64_MAX = 18_446_744_073_709_551_615
