"""Helpers for testing lathe and code built on it: small tables of every column type."""

from lathe.testing._tables import mixed_table

__all__ = ["mixed_table"]
