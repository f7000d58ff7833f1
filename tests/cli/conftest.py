"""Fixtures shared by the CLI tests."""

from tests.cli.test_commands import loaded

__all__ = ["loaded"]
