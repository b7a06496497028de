"""Every program id, sysvar, size and path the chain layer needs, in one place.

Token decimals: IO's come from settings (``IOG_IO_DECIMALS``) when bootstrap creates the mint, and from the
mint itself afterwards (the bootstrap file records them; a mismatch is an error, never a silent rescale).
Account sizes of the staking program come from the generated :mod:`backend.chain.layout`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK as CLOCK  # re-exported: the sysvars instructions name
from solders.sysvar import RENT as RENT

from backend.chain.layout import ACCOUNT_LEN as ACCOUNT_LEN  # re-exported: account sizes, generated
from backend.chain.layout import CLAIM_STATUS_LEN as CLAIM_STATUS_LEN
from backend.chain.layout import NODE_LEN as NODE_LEN
from backend.chain.layout import STAKE_POSITION_LEN as STAKE_POSITION_LEN

SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
#: SPL Memo v3 (the one wallets and Solana Pay use) and the legacy v1 that old transactions name.
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
MEMO_V1_PROGRAM_ID = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

#: Base58 forms, for decoders that read RPC JSON.
TOKEN_PROGRAMS = frozenset({str(TOKEN_PROGRAM_ID), str(TOKEN_2022_PROGRAM_ID)})
MEMO_PROGRAMS = frozenset({str(MEMO_PROGRAM_ID), str(MEMO_V1_PROGRAM_ID)})

MINT_LEN = 82  # spl-token Mint
TOKEN_ACCOUNT_LEN = 165  # spl-token Account

# -- the staking program ---------------------------------------------------------------------------------------
PROGRAM_DIR = Path(__file__).resolve().parents[2] / "programs" / "staking"
PROGRAM_KEYPAIR_PATH = PROGRAM_DIR / "keys" / "iog_staking-keypair.json"
IDL_PATH = PROGRAM_DIR / "idl" / "iog_staking.json"
SO_PATH = PROGRAM_DIR / "target" / "iog_staking.so"


@lru_cache(maxsize=1)
def program_keypair() -> Keypair:
    """The localnet keypair of the staking program (its public key is the default program id)."""
    return Keypair.from_bytes(bytes(json.loads(PROGRAM_KEYPAIR_PATH.read_text())))


def default_program_id() -> Pubkey:
    """Staking program id on localnet and in tests (deployments elsewhere name theirs in the bootstrap file)."""
    return program_keypair().pubkey()
