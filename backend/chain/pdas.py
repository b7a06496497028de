"""Every program-derived address of the staking program, derived in one place.

Seeds (byte strings, then raw 32-byte keys) match programs/staking/src and the IDL docs:
``config``, ``distributor``, ``vault_authority``, ``node``+node_key, ``position``+node+owner,
``claim``+wallet. Program ids come from :mod:`backend.chain.ids`.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from backend.chain.ids import ASSOCIATED_TOKEN_PROGRAM_ID, BPF_LOADER_UPGRADEABLE_ID, TOKEN_PROGRAM_ID


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


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
    """The associated token account of `owner` for `mint`."""
    return Pubkey.find_program_address(
        [bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )[0]


def stake_vault_address(program_id: Pubkey, mint: Pubkey) -> Pubkey:
    """Default stake vault: the vault authority's associated token account."""
    return associated_token_address(vault_authority_pda(program_id)[0], mint)
