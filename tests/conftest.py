"""Suite-wide fixtures. Database tests run on PostgreSQL when IOG_TEST_DATABASE_URL is set, else on SQLite."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.localnet",
    "tests.fixtures.program",
    "tests.fixtures.js",
    "tests.fixtures.api",
    "tests.fixtures.evm",
]
