"""Suite-wide fixtures. Database tests run on PostgreSQL when IOG_TEST_DATABASE_URL is set, else on SQLite."""

import pytest

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.localnet",
    "tests.fixtures.program",
    "tests.fixtures.js",
    "tests.fixtures.api",
    "tests.fixtures.evm",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test PYTEST_ARGS="-n 2 --dist loadgroup"``), each file runs on one worker, so
    a module's fixtures (a localnet, a migrated world) are built once; the browser tests share one seeded network
    (a package fixture), so ``tests/backend/web`` is one group. Without xdist the marks do nothing."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        group = "tests/backend/web" if path.startswith("tests/backend/web/") else path
        item.add_marker(pytest.mark.xdist_group(group))
