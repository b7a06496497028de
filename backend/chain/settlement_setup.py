"""Bootstrap step for payments and settlement: a USDC mint (6 decimals), the treasury's USDC account, USDC for the
demo wallets, and SOL for the treasury owner (it pays the fees and the rent of payout/refund token accounts).

``settlement_step`` runs after the built-in steps of :mod:`backend.chain.bootstrap` (it needs the IO mint, the
treasury owner and the demo wallets) and writes the ``settlement`` section of the bootstrap file. Every action
first checks the chain: a second run on an unchanged cluster sends nothing; a wallet that spent USDC or a treasury
owner that spent SOL is topped back up (the demo faucet, like the IO top-up of the base bootstrap).
"""

from __future__ import annotations

from pathlib import Path

from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import InitializeMintParams, MintToCheckedParams, initialize_mint, mint_to_checked

from backend.chain import bootfile, ids
from backend.chain.bootstrap import BootstrapContext, BootstrapError
from backend.chain.keys import load_keypair
from backend.chain.tokens import create_ata_idempotent, io_account
from backend.money import LAMPORTS_PER_SOL

USDC_DECIMALS = 6
WALLET_USDC = 10_000 * 10**USDC_DECIMALS  # each demo wallet holds at least 10,000 USDC
TREASURY_SOL = 2 * LAMPORTS_PER_SOL  # fees and token-account rent of payouts and refunds
USDC_MINT_KEY = "usdc_mint"


def _token_balance(ctx: BootstrapContext, account: Pubkey) -> int | None:
    if ctx.client.get_account_info(account, ctx.commitment).value is None:
        return None
    return int(ctx.client.get_token_account_balance(account, ctx.commitment).value.amount)


def settlement_step(ctx: BootstrapContext) -> None:
    """Create (or find) the USDC mint and accounts; fund the demo wallets and the treasury owner."""
    client, payer = ctx.client, ctx.payer
    usdc_kp = ctx.keypair(USDC_MINT_KEY)
    usdc = usdc_kp.pubkey()
    treasury_owner = load_keypair(Path(ctx.file.treasury_owner_keypair_path)).pubkey()

    # Plan first, so that the payer is topped up only by what this run spends (nothing on a complete cluster).
    mint_missing = client.get_account_info(usdc, ctx.commitment).value is None
    if not mint_missing:
        have = client.get_token_supply(usdc, ctx.commitment).value.decimals
        if have != USDC_DECIMALS:
            raise BootstrapError(f"the USDC mint {usdc} exists with {have} decimals, not {USDC_DECIMALS}")
    owners = [treasury_owner, *(Pubkey.from_string(w.pubkey) for w in ctx.file.wallets)]
    minima = [0, *([WALLET_USDC] * len(ctx.file.wallets))]
    balances = [None if mint_missing else _token_balance(ctx, io_account(o, usdc)) for o in owners]
    sol_short = max(0, TREASURY_SOL - ctx.balance(treasury_owner))
    rent = 0
    if mint_missing:
        rent += client.get_minimum_balance_for_rent_exemption(ids.MINT_LEN, ctx.commitment).value
    missing_accounts = sum(1 for b in balances if b is None)
    if missing_accounts:
        rent += (
            missing_accounts
            * client.get_minimum_balance_for_rent_exemption(ids.TOKEN_ACCOUNT_LEN, ctx.commitment).value
        )
    need = rent + sol_short
    if need:
        fees = LAMPORTS_PER_SOL // 10  # transaction fees of this step, with room to spare
        if ctx.balance(payer.pubkey()) < need + fees:
            ctx.ensure_sol(payer.pubkey(), need + fees + LAMPORTS_PER_SOL)

    if mint_missing:
        create = CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=usdc,
            lamports=client.get_minimum_balance_for_rent_exemption(ids.MINT_LEN, ctx.commitment).value,
            space=ids.MINT_LEN,
            owner=ids.TOKEN_PROGRAM_ID,
        )
        init = InitializeMintParams(
            decimals=USDC_DECIMALS,
            program_id=ids.TOKEN_PROGRAM_ID,
            mint=usdc,
            mint_authority=payer.pubkey(),
            freeze_authority=None,
        )
        ctx.send([create_account(create), initialize_mint(init)], [usdc_kp])

    accounts: list[Pubkey] = []
    for owner, minimum, bal in zip(owners, minima, balances, strict=True):
        ata = io_account(owner, usdc)
        accounts.append(ata)
        ixs: list[Instruction] = []
        if bal is None:
            ixs.append(create_ata_idempotent(payer.pubkey(), owner, usdc))
            bal = 0
        if bal < minimum:
            params = MintToCheckedParams(
                program_id=ids.TOKEN_PROGRAM_ID,
                mint=usdc,
                dest=ata,
                mint_authority=payer.pubkey(),
                amount=minimum - bal,
                decimals=USDC_DECIMALS,
            )
            ixs.append(mint_to_checked(params))
        if ixs:
            ctx.send(ixs, [])
    if sol_short:
        ctx.ensure_sol(treasury_owner, TREASURY_SOL)

    ctx.file.settlement = bootfile.Settlement(
        usdc_mint=str(usdc),
        usdc_decimals=USDC_DECIMALS,
        treasury_usdc=str(accounts[0]),
        wallet_usdc_accounts={w.name: str(a) for w, a in zip(ctx.file.wallets, accounts[1:], strict=True)},
    )
