"""Toolchain test fixtures (defined in fixtures.py so other test directories can reuse them)."""

from tests.programs.toolchain.fixtures import probe, probe_elf, sbf_build  # noqa: F401
