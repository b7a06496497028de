"""ORM models, all in one place. Import every model module here so Alembic sees every table."""

from backend.models import auth as auth  # noqa: F401  (sign-in, sessions, API keys)
from backend.models import epochs as epochs  # noqa: F401  (reward parameter sets, epochs)
from backend.models import evm as evm  # noqa: F401  (EVM rail: payment logs, blocks, cursors, outbound txs)
from backend.models import governance as governance  # noqa: F401  (proposals, snapshots, ballots)
from backend.models import indexer as indexer  # noqa: F401  (indexer tables)
from backend.models import ledger as ledger  # noqa: F401  (double-entry ledger)
from backend.models import nodes as nodes  # noqa: F401  (node registry, marketplace stats)
from backend.models import payments as payments  # noqa: F401  (invoices, webhooks)
from backend.models import settlement as settlement  # noqa: F401  (jobs, payouts, refunds, burns)
from backend.models import staking as staking  # noqa: F401  (staking projections)
from backend.models import telemetry as telemetry  # noqa: F401  (usage records, heartbeats, uptime, challenges)
from backend.models.base import Base, Money, MoneyOutOfRange
from backend.models.meta import AppMeta

__all__ = ["AppMeta", "Base", "Money", "MoneyOutOfRange"]
