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

#: Programs and sysvars LiteSVM preloads: part of the supply, though no transaction writes them.
PRELOADED_ACCOUNTS = (
    "11111111111111111111111111111111",
    "Vote111111111111111111111111111111111111111",
    "Stake11111111111111111111111111111111111111",
    "Config1111111111111111111111111111111111111",
    "BPFLoader1111111111111111111111111111111111",
    "BPFLoader2111111111111111111111111111111111",
    "BPFLoaderUpgradeab1e11111111111111111111111",
    "ComputeBudget111111111111111111111111111111",
    "AddressLookupTab1e1111111111111111111111111",
    "Ed25519SigVerify111111111111111111111111111",
    "KeccakSecp256k11111111111111111111111111111",
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
    "SysvarC1ock11111111111111111111111111111111",
    "SysvarEpochSchedu1e111111111111111111111111",
    "SysvarRecentB1ockHashes11111111111111111111",
    "SysvarRent111111111111111111111111111111111",
    "SysvarS1otHashes111111111111111111111111111",
    "SysvarStakeHistory1111111111111111111111111",
    "SysvarEpochRewards1111111111111111111111111",
    "SysvarLastRestartS1ot1111111111111111111111",
    "SysvarS1otHistory11111111111111111111111111",
    "SysvarFees111111111111111111111111111111111",
)
VOTE_PROGRAM = "Vote111111111111111111111111111111111111111"
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"
#: ``stake_raise_minimum_delegation_to_1_sol``: when active, the minimum stake delegation is 1 SOL, else 1 lamport.
STAKE_MIN_DELEGATION_1_SOL_FEATURE = "9onWzzvCzNC2jfhxxeqRgs5q7nFAAKpCUvkj6T6GJK9i"

# --- RPC limits and error codes of a validator that localnet.errors does not name -----------------------------
#: getBlocks range and getBlocksWithLimit limit (MAX_GET_CONFIRMED_BLOCKS_RANGE).
MAX_BLOCKS_RANGE = 500_000
#: getRecentPerformanceSamples limit, and the period of one sample in seconds.
MAX_PERF_SAMPLES = 720
PERF_SAMPLE_SECS = 60
#: getRecentPrioritizationFees: addresses per request (MAX_TX_ACCOUNT_LOCKS) and blocks remembered.
MAX_PRIORITY_FEE_ACCOUNTS = 128
PRIORITY_FEE_BLOCKS = 150
#: getSlotLeaders limit; getLargestAccounts / getTokenLargestAccounts result size.
MAX_SLOT_LEADERS = 5_000
NUM_LARGEST_ACCOUNTS = 20
#: getVoteAccounts: a vote account whose last vote is this many slots old is delinquent; epochs of credits shown.
DELINQUENT_SLOT_DISTANCE = 128
EPOCH_CREDITS_HISTORY = 5
#: SlotHistory keeps this many slots (getBlockProduction's oldest slot).
SLOT_HISTORY_MAX = 1024 * 1024
SLOT_SKIPPED = -32007
NO_SNAPSHOT = -32008
