"""The treasury as payments and settlement see it: its owner wallet, one token account per currency, the keypair.

Read from the bootstrap file (IO from its base section, USDC from its ``settlement`` section) and settings
(``IOG_TREASURY_KEYPAIR`` names the one custodial key; default: the bootstrap file's treasury owner keypair).

Grants are paid from another source: the community (grants) treasury the epoch runner funds, owned by the
governance authority (``IOG_GOVERNANCE_AUTHORITY_KEYPAIR``; default: the bootstrap file's community treasury
owner), described by :class:`GrantsSource` when the bootstrap file has an epochs section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from solders.keypair import Keypair

from backend.chain import bootfile
from backend.chain.keys import load_keypair
from backend.config import Settings
from backend.errors import AppError, InvalidInput

IO, USDC = "IO", "USDC"
CURRENCIES = (IO, USDC)


class TreasuryNotConfigured(AppError):
    """The bootstrap file lacks what payments need (run `iog localnet bootstrap`)."""

    status_code = 503


@dataclass(frozen=True)
class Currency:
    """A currency the treasury accepts: its code, mint, decimals and the treasury's token account of it."""

    code: str
    mint: str
    decimals: int
    account: str


@dataclass(frozen=True)
class GrantsSource:
    """The community (grants) treasury: its IO token account and the governance authority that owns it."""

    account: str
    owner: str
    keypair_path: Path

    def keypair(self) -> Keypair:
        """The governance authority's keypair (grants and outcome memos)."""
        kp = load_keypair(self.keypair_path)
        if str(kp.pubkey()) != self.owner:
            raise TreasuryNotConfigured(
                f"the governance authority keypair {self.keypair_path} is {kp.pubkey()}, but the community "
                f"treasury's owner is {self.owner}"
            )
        return kp


@dataclass(frozen=True)
class Treasury:
    """The treasury owner wallet and its token accounts, per currency."""

    owner: str
    keypair_path: Path
    currencies: dict[str, Currency]
    #: Network accounts that hold IO outside circulation (shown by /supply).
    reserves: dict[str, str] = field(default_factory=dict)
    io_mint_authority: str | None = None
    grants: GrantsSource | None = None

    def currency(self, code: str) -> Currency:
        """The currency ``code``; ``InvalidInput`` when unknown or not set up on this cluster."""
        if code not in CURRENCIES:
            raise InvalidInput(f"currency: must be one of {', '.join(CURRENCIES)}, got {code!r}")
        cur = self.currencies.get(code)
        if cur is None:
            raise TreasuryNotConfigured(f"{code} is not set up on this cluster: run `iog localnet bootstrap`")
        return cur

    def by_mint(self, mint: str | None) -> Currency | None:
        """The currency of ``mint``, if the treasury accepts it."""
        return next((c for c in self.currencies.values() if c.mint == mint), None)

    def by_account(self, account: str | None) -> Currency | None:
        """The currency whose treasury token account is ``account``."""
        return next((c for c in self.currencies.values() if c.account == account), None)

    @property
    def accounts(self) -> list[str]:
        """Every treasury token account."""
        return [c.account for c in self.currencies.values()]

    def keypair(self) -> Keypair:
        """The treasury owner's keypair (only the processes that send payouts, refunds and burns load it)."""
        kp = load_keypair(self.keypair_path)
        if str(kp.pubkey()) != self.owner:
            raise TreasuryNotConfigured(
                f"the treasury keypair {self.keypair_path} is {kp.pubkey()}, but the treasury owner is {self.owner}"
            )
        return kp


def from_bootfile(
    boot: bootfile.BootstrapFile, keypair: Path | None = None, governance_keypair: Path | None = None
) -> Treasury:
    """The treasury described by a bootstrap file."""
    currencies = {IO: Currency(IO, boot.mint, boot.decimals, boot.treasury)}
    if boot.settlement is not None:
        s = boot.settlement
        currencies[USDC] = Currency(USDC, s.usdc_mint, s.usdc_decimals, s.treasury_usdc)
    reserves = {"emission_reserve": boot.emission_reserve}
    if boot.staking is not None:
        reserves["rewards_vault"] = boot.staking.rewards_vault
    grants = None
    if boot.epochs is not None:
        e = boot.epochs
        path = Path(governance_keypair or e.community_treasury_owner_keypair_path)
        grants = GrantsSource(e.community_treasury, e.community_treasury_owner, path)
    return Treasury(
        owner=boot.treasury_owner,
        keypair_path=Path(keypair or boot.treasury_owner_keypair_path),
        currencies=currencies,
        reserves=reserves,
        io_mint_authority=boot.mint_authority,
        grants=grants,
    )


def load(settings: Settings) -> Treasury:
    """The treasury of the configured cluster; ``TreasuryNotConfigured`` without a bootstrap file."""
    path = settings.resolved_bootstrap_file
    try:
        boot = bootfile.load(path)
    except bootfile.BootstrapFileError as exc:
        raise TreasuryNotConfigured(exc.message) from None
    return from_bootfile(boot, settings.treasury_keypair, settings.governance_authority_keypair)
