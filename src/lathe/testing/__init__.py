"""Helpers for testing lathe and code built on it: small tables of every column type,
personal data of every kind, and small bundles fitted on them."""

from lathe.testing._bundles import small_bundle
from lathe.testing._tables import PERSONAL_VALUES, mixed_table, reviews_table, shops_table

__all__ = ["PERSONAL_VALUES", "mixed_table", "reviews_table", "shops_table", "small_bundle"]
