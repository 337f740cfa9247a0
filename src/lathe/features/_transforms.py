"""Fitted transforms: each a small operation with a fixed meaning once fitted.

Every transform reads one raw column (already coerced to its kind) and yields one or more
float64 feature columns, never missing. Its fitted state is plain data, saved as JSON and
replayed exactly at scoring time.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import linalg, sparse
from threadpoolctl import threadpool_limits

MAX_LEVELS = 30
MIN_LEVEL_SHARE = 0.001
DATE_PARTS = ("year", "month", "day", "weekday", "hour", "minute")
CYCLES = {"month": 12, "day": 31, "weekday": 7, "hour": 24, "minute": 60}
WORD = re.compile(r"\S+")
# A term of a free text: a run of ASCII letters and digits, lower-cased; any other character
# separates terms (so "Café!" holds the term "caf"). Every export format can say this exactly.
TERM = re.compile(r"[A-Za-z0-9]+")
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Transform:
    """Base of the fitted transforms; ``kind`` names the class in saved plans."""

    kind: ClassVar[str] = ""
    described: ClassVar[str] = ""  # what it makes, in words, for the report
    column: str

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the feature columns this transform yields, in order."""
        raise NotImplementedError

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        """The feature columns for ``values``, in the order of ``outputs``."""
        raise NotImplementedError

    def row(self, value: Any) -> list[float]:
        """``apply`` for one value, coerced by ``coerce_rows``: the row's features, without pandas."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict naming the transform's kind."""
        return {"kind": self.kind, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Impute(Transform):
    """A number with missing values replaced by the training median, plus a missing flag."""

    kind: ClassVar[str] = "impute"
    described: ClassVar[str] = "number: median for missing, plus a missing flag where needed"
    fill: float = 0.0
    indicator: bool = False

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> Impute:
        """Learn the fill value from training ``values`` (float64)."""
        median = values.median()
        fill = float(median) if pd.notna(median) else 0.0
        return cls(column=column, fill=fill, indicator=bool(values.isna().any()))

    @property
    def outputs(self) -> tuple[str, ...]:
        return (self.column, f"{self.column}__missing") if self.indicator else (self.column,)

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        raw = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(raw)
        filled = np.where(missing, self.fill, raw)
        return [filled, missing.astype("float64")] if self.indicator else [filled]

    def row(self, value: float) -> list[float]:
        missing = math.isnan(value)
        filled = self.fill if missing else value
        return [filled, float(missing)] if self.indicator else [filled]


@dataclass(frozen=True)
class OneHot(Transform):
    """One column per frequent level; rare and unseen levels share ``__other``.

    Where training values differ only in case ("Basic", "basic"), levels are compared
    case-folded (``fold_case``), at training and scoring alike.
    """

    kind: ClassVar[str] = "one_hot"
    described: ClassVar[str] = "category: one column per frequent level, the rest as other"
    levels: tuple[str, ...] = ()
    indicator: bool = False
    fold_case: bool = False

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> OneHot:
        """Keep the most frequent levels of training ``values`` (strings)."""
        counts, fold_case = level_counts(values)
        frequent = counts[counts >= level_floor(len(values))].index[:MAX_LEVELS]
        levels = tuple(str(v) for v in frequent)
        return cls(column=column, levels=levels, indicator=bool(values.isna().any()), fold_case=fold_case)

    @property
    def outputs(self) -> tuple[str, ...]:
        names = [f"{self.column}={level}" for level in self.levels] + [f"{self.column}__other"]
        return (*names, f"{self.column}__missing") if self.indicator else tuple(names)

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        codes = pd.Index(self.levels, dtype=object).get_indexer(pd.Index(_folded(values, self.fold_case)))
        missing = values.isna().to_numpy()
        columns = [(codes == i).astype("float64") for i in range(len(self.levels))]
        columns.append(((codes == -1) & ~missing).astype("float64"))
        return [*columns, missing.astype("float64")] if self.indicator else columns

    def row(self, value: str | None) -> list[float]:
        out = [0.0] * (len(self.levels) + 1 + self.indicator)
        if value is None:
            if self.indicator:
                out[-1] = 1.0
            return out
        out[self._positions.get(value.casefold() if self.fold_case else value, len(self.levels))] = 1.0
        return out

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {level: i for i, level in enumerate(self.levels)}


def _folded(values: pd.Series, fold_case: bool) -> pd.Series:
    values = values.astype(object)
    return values.map(lambda v: str(v).casefold(), na_action="ignore") if fold_case else values


@dataclass(frozen=True)
class Encode(Transform):
    """A category with too many levels for one-hot, as numbers: each level's share of the training
    rows (``frequency``) and, given targets, the smoothed mean of each target among its rows
    (``target`` for a number or the positive class, ``target=<class>`` per class for multiclass).

    Levels with fewer rows than one-hot's floor form one rare group, whose numbers unseen levels
    take too; missing values have their own. Levels are compared case-folded where training values
    differ only in case (``fold_case``). ``values[k][i]`` is output ``k`` for level ``i``.
    """

    kind: ClassVar[str] = "encode"
    described: ClassVar[str] = "category with many levels: its share of rows and the target's mean for it"
    levels: tuple[str, ...] = ()
    names: tuple[str, ...] = ("frequency",)
    values: tuple[tuple[float, ...], ...] = ()
    rare: tuple[float, ...] = ()
    missing: tuple[float, ...] = ()
    fold_case: bool = False

    @classmethod
    def fit(
        cls, column: str, values: pd.Series, targets: pd.DataFrame | None = None, fold_case: bool | None = None
    ) -> Encode:
        """Count the levels of training ``values`` and average each of ``targets``' columns over them."""
        counts, fold_case = level_counts(values, fold_case)
        levels = tuple(str(v) for v in counts[counts >= level_floor(len(values))].index)
        codes = _codes(_folded(values, fold_case), levels, values.isna().to_numpy())
        columns = [np.ones(len(values))] + ([] if targets is None else [targets[c].to_numpy(float) for c in targets])
        names = ("frequency", *(() if targets is None else (str(c) for c in targets)))
        stats = [_means(codes, column, len(levels), share=k == 0) for k, column in enumerate(columns)]
        return cls(
            column=column, levels=levels, names=names, fold_case=fold_case,
            values=tuple(tuple(v[: len(levels)]) for v in stats),
            rare=tuple(float(v[RARE]) for v in stats), missing=tuple(float(v[MISSING]) for v in stats),
        )  # fmt: skip

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(f"{self.column}__{name}" for name in self.names)

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        codes = _codes(_folded(values, self.fold_case), self.levels, values.isna().to_numpy())
        numbers = zip(self.values, self.rare, self.missing, strict=True)
        return [np.array([*level, rare, missing])[codes] for level, rare, missing in numbers]

    def row(self, value: str | None) -> list[float]:
        if value is None:
            return list(self.missing)
        i = self._positions.get(value.casefold() if self.fold_case else value)
        return list(self.rare) if i is None else [v[i] for v in self.values]

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {level: i for i, level in enumerate(self.levels)}

    def out_of_fold(self, values: pd.Series, targets: pd.DataFrame, folds: np.ndarray) -> list[np.ndarray]:
        """``apply``'s columns for the rows it was fitted on, with each target's mean for a row
        taken from the other folds' rows only: the model never learns from a row's own target."""
        out = self.apply(values)
        for fold in np.unique(folds):
            inside = folds == fold
            others = Encode.fit(self.column, values[~inside], targets[~inside], self.fold_case)
            for k, column in enumerate(others.apply(values[inside])[1:], start=1):
                out[k][inside] = column
        return out


RARE, MISSING = -2, -1  # after the levels' numbers: the rare group's, then missing values'
SMOOTHING = 10.0  # rows' worth of the overall mean mixed into each level's target mean


def level_floor(rows: int) -> int:
    """The fewest rows a level of a category needs among ``rows`` to be a level of its own."""
    return max(2, int(MIN_LEVEL_SHARE * rows))


def level_counts(values: pd.Series, fold_case: bool | None = None) -> tuple[pd.Series, bool]:
    """Rows per level of ``values``, most first, and whether levels are compared case-folded: as
    ``fold_case`` says, or where the values differ only in case ("Basic", "basic")."""
    if fold_case is None:
        distinct = values.dropna().astype(str).unique()
        fold_case = len({v.casefold() for v in distinct}) < len(distinct)
    return _folded(values, fold_case).value_counts(dropna=True), fold_case


def _codes(folded: pd.Series, levels: tuple[str, ...], missing: np.ndarray) -> np.ndarray:
    codes = pd.Index(levels, dtype=object).get_indexer(pd.Index(folded))
    codes[codes == -1] = len(levels)  # unseen or rare: the slot after the levels
    codes[missing] = len(levels) + 1
    return codes


def _means(codes: np.ndarray, values: np.ndarray, levels: int, share: bool) -> np.ndarray:
    """Per level, then rare, then missing: the share of rows (``share``) or the smoothed mean of ``values``."""
    counts = np.bincount(codes, minlength=levels + 2).astype(float)
    if share:
        return counts / max(len(codes), 1)
    sums = np.bincount(codes, weights=values, minlength=levels + 2)
    prior = float(values.mean()) if len(values) else 0.0
    return (sums + SMOOTHING * prior) / (counts + SMOOTHING)


@dataclass(frozen=True)
class DateParts(Transform):
    """Calendar parts of a timestamp, the cyclic ones also as a sine and cosine (so that December
    sits next to January), and the days elapsed since the earliest training timestamp; missing
    values filled by the training medians."""

    kind: ClassVar[str] = "date_parts"
    described: ClassVar[str] = "date: calendar parts, their sine and cosine, days elapsed"
    parts: tuple[str, ...] = ()
    fills: tuple[float, ...] = ()
    indicator: bool = False
    cyclic: tuple[str, ...] = ()
    reference: float | None = None  # days since 1970-01-01 of the earliest training timestamp
    elapsed_fill: float = 0.0

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> DateParts:
        """Keep the parts that vary in training ``values`` (datetime64)."""
        table = _date_parts(values, DATE_PARTS)
        varying = [p for p in DATE_PARTS if table[p].nunique(dropna=True) > 1]
        fills = tuple(float(table[p].median()) if table[p].notna().any() else 0.0 for p in varying)
        days = _days(values)
        present = bool(np.isfinite(days).any())
        reference = float(np.nanmin(days)) if present else None
        return cls(
            column=column, parts=tuple(varying), fills=fills, indicator=bool(values.isna().any()),
            cyclic=tuple(p for p in varying if p in CYCLES), reference=reference,
            elapsed_fill=float(np.nanmedian(days) - reference) if reference is not None else 0.0,
        )  # fmt: skip

    @property
    def outputs(self) -> tuple[str, ...]:
        names = [f"{self.column}__{part}" for part in self.parts]
        names += [f"{self.column}__{part}_{wave}" for part in self.cyclic for wave in ("sin", "cos")]
        names += [f"{self.column}__days"] if self.reference is not None else []
        return (*names, f"{self.column}__missing") if self.indicator else tuple(names)

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        table = _date_parts(values, self.parts)
        filled = {
            p: table[p].fillna(fill).to_numpy(dtype="float64") for p, fill in zip(self.parts, self.fills, strict=True)
        }
        columns = list(filled.values())
        for part in self.cyclic:
            angle = 2 * np.pi * filled[part] / CYCLES[part]
            columns += [np.sin(angle), np.cos(angle)]
        if self.reference is not None:
            elapsed = _days(values) - self.reference
            columns.append(np.where(np.isnan(elapsed), self.elapsed_fill, elapsed))
        return [*columns, values.isna().to_numpy().astype("float64")] if self.indicator else columns

    def row(self, value: datetime | None) -> list[float]:
        if value is None:
            filled = dict(zip(self.parts, self.fills, strict=True))
        else:
            found = _row_parts(value)
            filled = {p: found[p] for p in self.parts}
        out = list(filled.values())
        for part in self.cyclic:
            angle = 2 * math.pi * filled[part] / CYCLES[part]
            out += [math.sin(angle), math.cos(angle)]
        if self.reference is not None:
            out.append(self.elapsed_fill if value is None else _row_days(value) - self.reference)
        return [*out, float(value is None)] if self.indicator else out


def _row_parts(value: datetime) -> dict[str, float]:
    return {
        "year": float(value.year), "month": float(value.month), "day": float(value.day),
        "weekday": float(value.weekday()), "hour": float(value.hour), "minute": float(value.minute),
    }  # fmt: skip


def _row_days(value: datetime) -> float:
    """``_days`` of one naive timestamp: whole nanoseconds since 1970-01-01, then days."""
    delta = value - EPOCH
    nanoseconds = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    return float(nanoseconds) / 86_400e9


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as floats, NaN where missing."""
    stamps = values.to_numpy(dtype="datetime64[ns]")
    days = stamps.astype(np.int64).astype(np.float64) / 86_400e9
    return np.where(np.isnat(stamps), np.nan, days)


@dataclass(frozen=True)
class TextStats(Transform):
    """Length in characters and count of words of a free text; 0 when missing."""

    kind: ClassVar[str] = "text_stats"
    described: ClassVar[str] = "text: length and word count"

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> TextStats:
        """Nothing to learn."""
        del values
        return cls(column=column)

    @property
    def outputs(self) -> tuple[str, ...]:
        return (f"{self.column}__length", f"{self.column}__words")

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        text = values.fillna("").astype(str)
        return [text.str.len().to_numpy(dtype="float64"), text.str.count(WORD.pattern).to_numpy(dtype="float64")]

    def row(self, value: str | None) -> list[float]:
        text = value or ""
        return [float(len(text)), float(len(WORD.findall(text)))]


TEXT_MIN_ROWS = 100  # texts (not missing) a text vector needs to be learnt from
TEXT_MIN_TERMS = 10  # terms that pass the document floor, below which a text keeps its statistics alone
MAX_TERMS = 300  # the most frequent terms by document count (each costs a pass over the text in SQL)
MAX_COMPONENTS = 16
TEXT_FIT_ROWS = 100_000  # texts a vector is learnt from, a seeded sample of them where there are more
BLOCK = 25  # terms summed per partial sum (see ``TextVector``)
_CHUNK = 20_000  # rows vectorised at a time, bounding the memory ``apply`` takes
_SEPARATORS = "[^a-z0-9]+"  # between the terms of a text lower-cased in ASCII


def terms_of(text: str) -> list[str]:
    """The terms of ``text`` in order: runs of ASCII letters and digits (``TERM``), lower-cased.

    >>> terms_of("Late AGAIN, café-2!")
    ['late', 'again', 'caf', '2']
    """
    return TERM.findall(text.lower() if text.isascii() else text.translate(_ASCII_LOWER))


# A-Z to a-z, every other character as it is (``str.lower`` turns some non-ASCII letters, such as
# the Kelvin sign, into ASCII ones).
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def term_floor(texts: int) -> int:
    """The fewest texts among ``texts`` a term must occur in to be kept."""
    return max(3, math.ceil(0.001 * texts))


@dataclass(frozen=True)
class TextVector(Transform):
    """A free text as a few numbers: its counts of a fixed vocabulary of terms (see ``terms_of``),
    weighted by inverse document frequency, scaled to unit length and projected onto the leading
    directions of the training texts (the top right singular vectors of their tf-idf matrix);
    0 when missing or when no term of the vocabulary occurs.

    For term ``j`` of ``terms`` occurring ``n_j`` times, ``x_j = n_j * idf[j]``; output ``c`` is
    ``sum_j x_j * projection[j][c] / sqrt(sum_j x_j * x_j)``. Each sum runs in the order of
    ``terms``, as partial sums of ``BLOCK`` terms each, started from 0 and then added up in
    order: the exports compute the same numbers in the same order, to the last bit.
    """

    kind: ClassVar[str] = "text_vector"
    described: ClassVar[str] = "text: tf-idf of its frequent terms, reduced to a few components"
    separators: ClassVar[str] = "[^A-Za-z0-9]+"  # what lies between terms, as a regular expression
    terms: tuple[str, ...] = ()
    idf: tuple[float, ...] = ()
    projection: tuple[tuple[float, ...], ...] = ()  # one row per term, one column per output

    @classmethod
    def fit(cls, column: str, values: pd.Series) -> TextVector | None:
        """Learn the vocabulary, weights and projection from training ``values`` (strings, or
        ``None`` where missing); ``None`` where there are too few texts or terms to learn from."""
        texts = values.dropna()
        if len(texts) > TEXT_FIT_ROWS:
            texts = texts.sample(TEXT_FIT_ROWS, random_state=0)
        if len(texts) < TEXT_MIN_ROWS:
            return None
        terms, documents = _frequent_terms(texts)
        if len(terms) < TEXT_MIN_TERMS:
            return None
        idf = np.log((1.0 + len(texts)) / (1.0 + documents)) + 1.0
        rank = min(MAX_COMPONENTS, len(terms) - 1, max(2, len(texts) // 100))
        unprojected = cls(column=column, terms=terms, idf=tuple(idf.tolist()))
        rows, positions, counts = unprojected._counts(texts)
        tfidf = sparse.csr_matrix((counts * idf[positions], (rows, positions)), shape=(len(texts), len(terms)))
        projection = _directions(tfidf, rank)
        return dataclasses.replace(unprojected, projection=projection) if projection[0] else None

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(f"{self.column}__text_{c + 1}" for c in range(len(self.projection[0]) if self.projection else 0))

    @property
    def blocks(self) -> tuple[range, ...]:
        """The positions of the terms in each partial sum, in order (see the class's docstring)."""
        return tuple(range(b, min(b + BLOCK, len(self.terms))) for b in range(0, len(self.terms), BLOCK))

    def apply(self, values: pd.Series) -> list[np.ndarray]:
        out = np.zeros((len(values), len(self.outputs)))
        for start in range(0, len(values), _CHUNK):
            out[start : start + _CHUNK] = self._vectors(values.iloc[start : start + _CHUNK])
        return list(out.T.copy())

    def row(self, value: str | None) -> list[float]:
        width = len(self.outputs)
        if value is None:
            return [0.0] * width
        counts = Counter(self._positions[t] for t in terms_of(value) if t in self._positions)
        total, squares = np.zeros(width), 0.0
        partial, partial_squares, block = np.zeros(width), 0.0, -1
        for j in sorted(counts):
            if j // BLOCK != block:
                total, squares = total + partial, squares + partial_squares
                partial, partial_squares, block = np.zeros(width), 0.0, j // BLOCK
            x = float(counts[j]) * self.idf[j]
            partial, partial_squares = partial + x * self._matrix[j], partial_squares + x * x
        total, squares = total + partial, squares + partial_squares
        norm = math.sqrt(squares)
        return (total / norm).tolist() if norm > 0 else [0.0] * width

    def _vectors(self, values: pd.Series) -> np.ndarray:
        """``apply``'s outputs for a chunk of rows, as a matrix, summed as ``row`` sums them."""
        rows, terms, counts = self._counts(values)
        x = counts * np.asarray(self.idf)[terms]
        first, group = _runs(rows * (len(self.terms) // BLOCK + 1) + terms // BLOCK)  # (row, block)
        partial, partial_squares = np.zeros((len(first), len(self.outputs))), np.zeros(len(first))
        np.add.at(partial, group, x[:, None] * self._matrix[terms])  # one at a time, in order
        np.add.at(partial_squares, group, x * x)
        total, squares = np.zeros((len(values), len(self.outputs))), np.zeros(len(values))
        np.add.at(total, rows[first], partial)
        np.add.at(squares, rows[first], partial_squares)
        norm = np.sqrt(squares)[:, None]
        return np.divide(total, norm, out=np.zeros_like(total), where=norm > 0)

    def _counts(self, values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each (row position, term) of the vocabulary that occurs in ``values``, sorted by row
        then term, and how often it occurs."""
        rows, found = _occurrences(values)
        positions = pc.index_in(found, value_set=pa.array(self.terms, pa.large_string()))
        known = positions.is_valid().to_numpy(zero_copy_only=False)
        width = len(self.terms)
        keys = np.sort(rows[known] * width + positions.drop_null().to_numpy().astype(np.int64))
        first, _ = _runs(keys)
        counts = np.diff(np.append(first, len(keys))).astype(np.float64)
        return keys[first] // width, keys[first] % width, counts

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {term: j for j, term in enumerate(self.terms)}

    @cached_property
    def _matrix(self) -> np.ndarray:
        return np.array(self.projection, dtype=np.float64).reshape(len(self.terms), -1)


def _occurrences(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Every term of every text in ``values``: the row position of its text, and the term
    (``terms_of``, computed by Arrow for whole columns at a time)."""
    try:
        texts = pa.array(values.to_numpy(dtype=object), pa.large_string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError):  # a lone surrogate, which UTF-8 cannot hold
        found = [(r, t) for r, text in enumerate(values) if isinstance(text, str) for t in terms_of(text)]
        return np.array([r for r, _ in found], dtype=np.int64), pa.array([t for _, t in found], pa.large_string())
    pieces = pc.split_pattern_regex(pc.ascii_lower(texts), _SEPARATORS)
    found = pc.list_flatten(pieces)
    nonempty = pc.not_equal(found, "")  # a text that starts or ends with a separator
    rows = pc.list_parent_indices(pieces).filter(nonempty).to_numpy().astype(np.int64)
    return rows, found.filter(nonempty)


def _frequent_terms(texts: pd.Series) -> tuple[tuple[str, ...], np.ndarray]:
    """The terms that occur in at least ``term_floor`` of ``texts``, the ``MAX_TERMS`` most
    frequent by the texts they occur in (ties by the term), and those counts of texts."""
    rows, found = _occurrences(texts)
    encoded = pc.dictionary_encode(found)
    names = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy().astype(np.int64)
    pairs = np.sort(rows * max(len(names), 1) + codes)
    once = pairs[_runs(pairs)[0]]  # each term once per text
    documents = np.bincount(once % max(len(names), 1), minlength=len(names))
    kept = [j for j in np.flatnonzero(documents >= term_floor(len(texts)))]
    kept.sort(key=lambda j: (-documents[j], names[j]))
    kept = kept[:MAX_TERMS]
    return tuple(names[j] for j in kept), documents[kept].astype(np.float64)


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``keys``: where each run of equal keys starts, and each key's run."""
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    return np.flatnonzero(starts), np.cumsum(starts) - 1


def _directions(tfidf: sparse.csr_matrix, rank: int) -> tuple[tuple[float, ...], ...]:
    """The leading ``rank`` right singular vectors of ``tfidf`` with its rows scaled to unit
    length (the eigenvectors of its Gram matrix), one row per term; each vector's largest entry
    positive. Directions the training texts do not span (eigenvalue 0) are left out."""
    lengths = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    unit = sparse.diags(np.divide(1.0, lengths, out=np.zeros_like(lengths), where=lengths > 0)) @ tfidf
    gram = (unit.T @ unit).toarray()
    with threadpool_limits(1):  # a few hundred rows square: BLAS's threads only cost here
        values, vectors = linalg.eigh(gram, subset_by_index=[len(gram) - rank, len(gram) - 1], driver="evr")
    spanned = values[::-1] > 1e-9 * max(float(values.max()), 1e-300)
    top = vectors[:, ::-1][:, spanned]
    signs = np.sign(top[np.argmax(np.abs(top), axis=0), np.arange(top.shape[1])])
    return tuple(tuple(row) for row in (top * signs).tolist())


def _date_parts(values: pd.Series, parts: tuple[str, ...]) -> pd.DataFrame:
    accessor = values.dt
    getters = {
        "year": lambda: accessor.year,
        "month": lambda: accessor.month,
        "day": lambda: accessor.day,
        "weekday": lambda: accessor.day_of_week,
        "hour": lambda: accessor.hour,
        "minute": lambda: accessor.minute,
    }
    return pd.DataFrame({p: getters[p]().astype("float64") for p in parts}, index=values.index)


TRANSFORMS: dict[str, type[Transform]] = {t.kind: t for t in (Impute, OneHot, Encode, DateParts, TextStats, TextVector)}


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild a fitted transform saved by ``Transform.to_dict``."""
    fields = {k: _tupled(v) for k, v in data.items() if k != "kind"}
    factory: Any = TRANSFORMS[data["kind"]]
    return factory(**fields)  # type: ignore[no-any-return]


def _tupled(value: Any) -> Any:
    """JSON's lists back as the tuples the frozen transforms hold."""
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
