"""Every program-derived address of the staking program, derived in one place.

Seeds (byte strings, then raw 32-byte keys) match programs/staking/src and the IDL docs:
``config``, ``distributor``, ``vault_authority``, ``node``+node_key, ``position``+node+owner,
``claim``+wallet.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "programs" / "staking"
PROGRAM_KEYPAIR_PATH = PROGRAM_DIR / "keys" / "iog_staking-keypair.json"
IDL_PATH = PROGRAM_DIR / "idl" / "iog_staking.json"
SO_PATH = PROGRAM_DIR / "target" / "iog_staking.so"

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")


@lru_cache(maxsize=1)
def program_keypair() -> Keypair:
    """The localnet keypair of the program (its public key is the default program id)."""
    return Keypair.from_bytes(bytes(json.loads(PROGRAM_KEYPAIR_PATH.read_text())))


def default_program_id() -> Pubkey:
    """Program id used on localnet and in tests."""
    return program_keypair().pubkey()


def program_data_address(program_id: Pubkey) -> Pubkey:
    """The ProgramData account of a program deployed through the upgradeable loader."""
    return Pubkey.find_program_address([bytes(program_id)], BPF_LOADER_UPGRADEABLE_ID)[0]


def config_pda(program_id: Pubkey) -> tuple[Pubkey, int]:
    """The Config account."""
    return Pubkey.find_program_address([b"config"], program_id)


def distributor_pda(program_id: Pubkey) -> tuple[Pubkey, int]:
    """The rewards Distributor account."""
    return Pubkey.find_program_address([b"distributor"], program_id)


def vault_authority_pda(program_id: Pubkey) -> tuple[Pubkey, int]:
    """The PDA that owns the stake vault and the rewards vault token accounts."""
    return Pubkey.find_program_address([b"vault_authority"], program_id)


def node_pda(program_id: Pubkey, node_key: Pubkey) -> tuple[Pubkey, int]:
    """A Node account, keyed by the device identity key."""
    return Pubkey.find_program_address([b"node", bytes(node_key)], program_id)


def position_pda(program_id: Pubkey, node: Pubkey, owner: Pubkey) -> tuple[Pubkey, int]:
    """The StakePosition of `owner` on the Node account `node`."""
    return Pubkey.find_program_address([b"position", bytes(node), bytes(owner)], program_id)


def claim_status_pda(program_id: Pubkey, wallet: Pubkey) -> tuple[Pubkey, int]:
    """The ClaimStatus of a wallet."""
    return Pubkey.find_program_address([b"claim", bytes(wallet)], program_id)


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The associated token account of `owner` for `mint` (classic SPL Token)."""
    return Pubkey.find_program_address(
        [bytes(owner), bytes(TOKEN_PROGRAM_ID), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )[0]


def stake_vault_address(program_id: Pubkey, mint: Pubkey) -> Pubkey:
    """Default stake vault: the vault authority's associated token account."""
    return associated_token_address(vault_authority_pda(program_id)[0], mint)
