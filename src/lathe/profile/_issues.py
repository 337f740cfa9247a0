"""Data quality issues a person should look at, from a column's aggregates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lathe.profile._semantic import SemanticType

if TYPE_CHECKING:
    from lathe.profile._profile import ColumnProfile

MOSTLY_MISSING = 0.5
HIGH_CARDINALITY = 100
ALMOST_CONSTANT = 0.98


def column_issues(column: ColumnProfile) -> tuple[str, ...]:
    """Plain-words issues of one column; ``top`` (when computed) adds the almost-constant check."""
    found = []
    if column.present == 0:
        found.append("all missing")
    elif column.distinct == 1:
        found.append("constant")
    elif column.missing_share > MOSTLY_MISSING:
        found.append(f"mostly missing ({100 * column.missing_share:.0f}%)")
    if column.infinite:
        found.append(f"{column.infinite:,} infinite value{'s' if column.infinite > 1 else ''} (inf or -inf)")
    if column.semantic_type is SemanticType.IDENTIFIER:
        found.append("identifier-like: unique per row")
    if column.semantic_type is SemanticType.CATEGORICAL and column.distinct > HIGH_CARDINALITY:
        found.append(f"high cardinality ({column.distinct:,} levels)")
    if column.personal is not None:
        p = column.personal
        found.append(f"personal data: {p.kind} (confidence {p.confidence:.2f}, {p.count:,} sampled values)")
    if column.top and column.distinct > 1 and column.top[0][1] >= ALMOST_CONSTANT * column.present:
        found.append(f"almost constant ({100 * column.top[0][1] / column.present:.1f}% one value)")
    return tuple(found)


TEXT_SHARE = 0.95
MIXED_SHARE = 0.05


def content_issues(
    column: ColumnProfile,
    counts: tuple[int | None, int | None, int | None, int | None],
    twin: str | None,
) -> tuple[str, ...]:
    """Issues found by reading the content: ``counts`` of text values that read as numbers, as
    dates, of numbers far from the mean, and of distinct text values once trimmed and lower-cased;
    and the earlier column this one duplicates."""
    numbers, dates, outliers, folded = counts
    found = []
    if numbers is not None and column.present:
        share = numbers / column.present
        if share >= TEXT_SHARE:
            found.append("numbers stored as text")
        elif share > MIXED_SHARE:
            found.append(f"mixed types: {100 * share:.0f}% of the values are numbers")
    if dates is not None and column.present and dates / column.present >= TEXT_SHARE:
        found.append("dates stored as text")
    if outliers:
        found.append(f"{outliers:,} outlier{'s' if outliers > 1 else ''} (beyond 4 standard deviations)")
    if folded is not None and folded < column.distinct:
        merged = column.distinct - folded
        found.append(
            f"{merged:,} value{'s' if merged > 1 else ''} differ from another only in case or spaces (read as one)"
        )
    if twin is not None:
        found.append(f"duplicate of column {twin}")
    return tuple(found)
