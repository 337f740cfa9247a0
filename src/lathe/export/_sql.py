"""The bundle's scoring path as one SQL SELECT, run where the rows are: PostgreSQL, MySQL/MariaDB,
SQLite, DuckDB or Spark SQL.

The statement reads the raw input columns of a table and yields, row for row, the id columns,
``prediction`` and, for classification, ``probability_<class>``, in steps (CTEs)::

    WITH lathe_inputs AS (SELECT <ids>, <each input coerced to its kind> FROM input),
         lathe_features AS (SELECT <ids>, <one expression per feature> FROM lathe_inputs),
         lathe_sums0 AS (SELECT <ids>, <the trees as CASE, 25 added per column> ...),
         lathe_margins AS (SELECT <ids>, <the partial sums added, or the affine map> ...),
         lathe_probabilities AS (SELECT <ids>, <the link> ...)
    SELECT <ids>, prediction, probability_<class> ... FROM lathe_probabilities

It is built as a sqlglot syntax tree and written by the dialect's own generator; it calls no
user-defined function. What differs between engines (date parts, epoch microseconds, text
length, case-sensitive equality, how a step is kept from being merged into the next) is data,
in ``_DIALECTS``. All arithmetic is in doubles: every number is written with all its digits
(``repr``) in exponent form, which MySQL, DuckDB and Spark read as a double rather than a
decimal; PostgreSQL reads any literal as ``numeric``, so there the leaves of the trees are cast
(the casts of constants are folded once) and each feature and margin is cast to double.

The text of a 600-tree model is a megabyte or two; it is shaped for the engines' parsers:
sums are flat chains of at most 25 terms per column (a chain of 600 overflows stacks, and
nested parentheses cost Spark's parser minutes), and each tree is one CASE that walks a path,
nested no deeper than log2 of its leaves (SQLite's parser stack holds 100 entries). In
PostgreSQL, run it with ``SET jit = off``: compiling it takes far longer than running it.

A text vector (``TextVector``) takes steps of its own between the inputs and the features (see
``_text_steps``): its terms by ``REGEXP_REPLACE``, each term's count by ``REPLACE`` and the
lengths of texts, and its sums in lathe's order, so that its features equal lathe's to the last
bit; each term costs a pass over the text.

What SQL cannot express: ``TextStats`` and ``TextVector`` in SQLite, which has no regular
expressions. What it expresses within the engine's own rules, which match lathe's for ordinary
data: trimming is of spaces (``TRIM``), case folding is ``LOWER`` (as ``str.casefold`` for all
but a few letters such as "ß"; a text vector's terms are lower-cased by ``TRANSLATE``, in MySQL
by ``LOWER``, which a Turkish collation turns I into a dotless i with), ``\\S`` is the engine's
regex class (ASCII white space in most), SQLite keeps milliseconds of a timestamp, and a
timestamp with a time zone is read in the session's zone (``score`` and
``lathe.backends.create_scored`` set it to UTC).
"""

from __future__ import annotations

import difflib
import math
import string
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlglot import exp

from lathe.backends import BATCH_ROWS, column_types, create_scored, run_select, upload_kind
from lathe.errors import ExportError, InvalidParameterError
from lathe.export._pipeline import ZERO, Affine, Pipeline, Tree, waves
from lathe.features import MISSING_TOKENS, DateParts, Encode, Impute, OneHot, TextStats, TextVector, Transform
from lathe.features._inputs import _FALSE, _TRUE

DIALECTS = ("postgres", "mysql", "sqlite", "duckdb", "spark")
ROW_KEY = "lathe_row"  # the key ``score`` gives the uploaded rows, to put the results back in order
_CLAMP = 700.0  # EXP's argument is kept within ±700: PostgreSQL raises on overflow and underflow
_NANOSECONDS_PER_DAY = 86_400e9
_UNSIGNED_MAX = 18446744073709551615  # MySQL's "no limit"
_CHAIN = 25  # terms added in one expression (see _sums)
_INFINITIES = ("inf", "-inf", "+inf", "infinity", "-infinity", "+infinity")  # lower-cased, as read (see _coerced)

Builder = Callable[[exp.Expression], exp.Expression]


# ---- what differs between engines -------------------------------------------------------------


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _number(value: float | int) -> exp.Expression:
    """A number literal with every digit of the double, in exponent form (read as a double)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return exp.Literal.number(str(value))
    number = float(value)
    if not math.isfinite(number):
        raise ExportError(f"the model holds the number {number!r}, which SQL cannot write; the export is not written")
    text = repr(number)
    return exp.Literal.number(text if "e" in text else f"{text}e0")


def _string(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def _extract(part: str) -> Builder:
    return lambda ts: exp.Extract(this=exp.var(part), expression=ts)


def _minus_one(build: Builder) -> Builder:
    return lambda ts: exp.Sub(this=build(ts), expression=_number(1))


def _shifted(build: Builder, shift: int) -> Builder:
    """(value + shift) % 7: a weekday counted from Sunday moved to Monday = 0."""
    return lambda ts: exp.Mod(
        this=exp.Paren(this=exp.Add(this=build(ts), expression=_number(shift))), expression=_number(7)
    )


def _strftime(pattern: str) -> Builder:
    return lambda ts: exp.Cast(this=_call("STRFTIME", _string(pattern), ts), to=exp.DataType.build("INTEGER"))


def _sqlite_micros(ts: exp.Expression) -> exp.Expression:
    """Microseconds since 1970 from SQLite's Julian day, which holds whole milliseconds."""
    days = exp.Sub(this=_call("JULIANDAY", ts), expression=exp.Literal.number("2440587.5"))
    millis = _call("ROUND", exp.Mul(this=exp.Paren(this=days), expression=exp.Literal.number("86400000.0")))
    return exp.Mul(this=exp.Cast(this=millis, to=exp.DataType.build("INTEGER")), expression=_number(1000))


def _trimmed_text(value: exp.Expression) -> exp.Expression:
    """SQLite has no timestamp type: its date functions read ISO text."""
    return exp.Trim(this=exp.Cast(this=value, to=exp.DataType.build("TEXT")))


def _binary(value: exp.Expression) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build("BINARY", dialect="mysql"))


def _same(value: exp.Expression) -> exp.Expression:
    return value


def _same_select(select: exp.Select) -> exp.Select:
    """Spark computes a column read several times by the next step once (CollapseProject keeps it)."""
    return select


def _offset(select: exp.Select) -> exp.Select:
    """PostgreSQL does not merge a subquery with an OFFSET into the query that reads it (without,
    a 600-tree model takes 100 times as long); DuckDB too runs faster with it."""
    return select.offset(0, copy=False)


def _sqlite_offset(select: exp.Select) -> exp.Select:
    """SQLite does not flatten a subquery with an OFFSET (which needs a LIMIT; -1 is none)."""
    return select.limit(-1, copy=False).offset(0, copy=False)


def _limit(select: exp.Select) -> exp.Select:
    """MySQL and MariaDB do not merge a derived table with a LIMIT (they materialize it)."""
    return select.limit(_UNSIGNED_MAX, copy=False)


def _translated(text: exp.Expression) -> exp.Expression:
    """A-Z to a-z by TRANSLATE: the same in every locale and collation."""
    return _call("TRANSLATE", text, _string(string.ascii_uppercase), _string(string.ascii_lowercase))


def _lower(text: exp.Expression) -> exp.Expression:
    """LOWER, where there is no TRANSLATE: A-Z to a-z but in a Turkish collation (I to a dotless i)."""
    return exp.Lower(this=text)


@dataclass(frozen=True)
class _Dialect:
    """How one engine says what the statement needs."""

    text: str  # CAST target for text
    double: str  # CAST target for a double
    timestamp: Builder  # a column's value (not a missing token) as a naive UTC timestamp (SQLite: ISO text)
    parts: dict[str, Builder]  # year ... minute, weekday Monday = 0, of a timestamp
    micros: Builder  # whole microseconds since 1970-01-01 of a timestamp
    length: str  # the length of a text in characters
    regexp: bool  # whether REGEXP_REPLACE exists
    ascii_lower: Builder  # A-Z lower-cased in a text of ASCII letters, digits and spaces
    literal: Builder  # a number literal made a double where the engine would read a decimal
    exact: Builder  # a text compared case- and accent-sensitively
    greatest: str
    least: str
    # keeps a step from being merged into the next, where each reference to a merged column
    # would compute its whole expression again
    fence: Callable[[exp.Select], exp.Select]
    case_sensitive: str = ""  # what makes a regular expression case-sensitive where a collation may not

    @property
    def separators(self) -> str:
        """The regular expression of what lies between the terms of a text (``TextVector``)."""
        return self.case_sensitive + TextVector.separators


def _parts(weekday: Builder) -> dict[str, Builder]:
    return {p: _extract(p.upper()) for p in ("year", "month", "day", "hour", "minute")} | {"weekday": weekday}


def _cast(type_: str, dialect: str) -> Builder:
    return lambda value: exp.Cast(this=value, to=exp.DataType.build(type_, dialect=dialect))


_DIALECTS = {
    "postgres": _Dialect(
        text="TEXT", double="DOUBLE PRECISION", timestamp=_cast("TIMESTAMP", "postgres"),
        parts=_parts(_minus_one(_extract("ISODOW"))),
        micros=lambda ts: exp.Mul(this=_extract("EPOCH")(ts), expression=_number(1_000_000)),
        length="CHAR_LENGTH", regexp=True, ascii_lower=_translated, literal=_cast("DOUBLE PRECISION", "postgres"),
        exact=_same, greatest="GREATEST", least="LEAST", fence=_offset,
    ),
    "mysql": _Dialect(
        text="CHAR", double="DOUBLE", timestamp=_cast("DATETIME(6)", "mysql"),
        parts=_parts(lambda ts: _call("WEEKDAY", ts)),
        micros=lambda ts: _call("TIMESTAMPDIFF", exp.var("MICROSECOND"), _string("1970-01-01 00:00:00"), ts),
        length="CHAR_LENGTH", regexp=True, ascii_lower=_lower, literal=_same, exact=_binary,
        greatest="GREATEST", least="LEAST", fence=_limit, case_sensitive="(?-i)",
    ),
    "sqlite": _Dialect(
        text="TEXT", double="REAL", timestamp=_trimmed_text,
        parts={"year": _strftime("%Y"), "month": _strftime("%m"), "day": _strftime("%d"),
               "weekday": _shifted(_strftime("%w"), 6), "hour": _strftime("%H"), "minute": _strftime("%M")},
        micros=_sqlite_micros, length="LENGTH", regexp=False, ascii_lower=_lower, literal=_same, exact=_same,
        greatest="MAX", least="MIN", fence=_sqlite_offset,
    ),
    "duckdb": _Dialect(
        text="TEXT", double="DOUBLE", timestamp=_cast("TIMESTAMP", "duckdb"),
        parts=_parts(_minus_one(lambda ts: _call("ISODOW", ts))), micros=lambda ts: _call("EPOCH_US", ts),
        length="LENGTH", regexp=True, ascii_lower=_translated, literal=_same, exact=_same, greatest="GREATEST",
        least="LEAST", fence=_offset,
    ),
    "spark": _Dialect(
        text="STRING", double="DOUBLE", timestamp=_cast("TIMESTAMP", "spark"),
        parts=_parts(_shifted(lambda ts: _call("DAYOFWEEK", ts), 5)), micros=lambda ts: _call("UNIX_MICROS", ts),
        length="CHAR_LENGTH", regexp=True, ascii_lower=_translated, literal=_same, exact=_same, greatest="GREATEST",
        least="LEAST", fence=_same_select,
    ),
}  # fmt: skip


# ---- the statement -------------------------------------------------------------------------------


def build(
    pipeline: Pipeline,
    dialect: str,
    table: str = "input",
    ids: tuple[str, ...] | None = None,
    types: Mapping[str, str] | None = None,
) -> str:
    """One SELECT in ``dialect`` that scores the rows of ``table`` as ``pipeline`` does.

    It yields the ``ids`` columns (by default the bundle's), ``prediction`` and, for
    classification, one ``probability_<class>`` per class. ``table`` may be qualified
    (``schema.table``). ``types`` gives the kind of the table's columns where the database
    types them (integer, float, boolean, datetime, text; see ``typed_inputs``): such a column
    is read as it is stored, without the text check for written-out missing values (see
    ``_coerced``); any other is read through that check. Raises ``ExportError`` for a step the
    dialect cannot express.
    """
    statement = _statement(pipeline, _dialect(dialect), table, pipeline.ids if ids is None else ids, types or {})
    return statement.sql(dialect=dialect, copy=False)  # a copy of a tree this size takes seconds


def _dialect(name: str) -> _Dialect:
    if name not in _DIALECTS:
        close = difflib.get_close_matches(name, DIALECTS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InvalidParameterError(f"no SQL dialect {name!r}.{hint} Dialects: {', '.join(DIALECTS)}")
    return _DIALECTS[name]


def _statement(pipeline: Pipeline, d: _Dialect, table: str, ids: Sequence[str], types: Mapping[str, str]) -> exp.Select:
    keys = [f"i{k}" for k in range(len(ids))]
    passed = [_column(i).as_(k, quoted=True, copy=False) for i, k in zip(ids, keys, strict=True)]
    inputs = [
        _coerced(c.name, c.kind, d, types.get(c.name, "text")).as_(f"c{k}", quoted=True, copy=False)
        for k, c in enumerate(pipeline.inputs)
    ]
    columns = {c.name: f"c{k}" for k, c in enumerate(pipeline.inputs)}
    steps = [("lathe_inputs", _select([*passed, *inputs], _table(table)))]
    _text_steps(pipeline, d, keys, columns, steps)
    made = _features(pipeline, {name: _column(c) for name, c in columns.items()}, d)
    features = [
        _double(made[name], d).as_(f"f{k}", quoted=True, copy=False) for k, name in enumerate(pipeline.features)
    ]
    steps.append(("lathe_features", _select([*map(_column, keys), *features], _table(steps[-1][0]))))
    terms = _sums(_terms(pipeline, d), keys, steps)
    margins = [
        _double(_chain(t) if t else _number(0.0), d).as_(f"m{k}", quoted=True, copy=False) for k, t in enumerate(terms)
    ]
    steps.append(("lathe_margins", _select([*map(_column, keys), *margins], _table(steps[-1][0]))))
    last, outputs = _link(pipeline, d, keys, steps)
    named = [_column(k).as_(i, quoted=True, copy=False) for i, k in zip(ids, keys, strict=True)]
    final = _select([*named, *outputs], _table(last))
    for name, step in steps:
        final = final.with_(name, as_=d.fence(step), copy=False)
    return final


def _select(expressions: list[exp.Expression], source: exp.Table) -> exp.Select:
    return exp.Select(expressions=expressions).from_(source, copy=False)


def _column(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _table(name: str) -> exp.Table:
    """A table name, ``catalog.schema.table`` parts each quoted as they are written."""
    parts = [exp.to_identifier(part, quoted=True) for part in name.split(".")]
    return exp.Table(
        this=parts[-1], db=parts[-2] if len(parts) > 1 else None, catalog=parts[-3] if len(parts) > 2 else None
    )


def _double(value: exp.Expression, d: _Dialect) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build(d.double))


# ---- inputs: the database's values read as lathe's coercion reads them --------------------------


def typed_inputs(pipeline: Pipeline) -> dict[str, str]:
    """The column types that ``lathe export --typed`` assumes: each number input in a numeric
    column (read as a float, which serves an integer column too) and each datetime input in a
    timestamp or date column. Booleans and strings are read through the text check still: a
    boolean's column differs between databases (BOOLEAN, TINYINT(1), an integer of 0 and 1)."""
    stored = {"number": "float", "datetime": "datetime"}
    return {c.name: stored[c.kind] for c in pipeline.inputs if c.kind in stored}


def _coerced(name: str, kind: str, d: _Dialect, stored: str = "text") -> exp.Expression:
    """The input column ``name`` as its ``kind``: NULL where missing or a missing token.

    Where the column is ``stored`` as a number, boolean or timestamp, it holds no written-out
    token, and its value is read as it is, as lathe reads a typed column: a float's NaN and
    infinities are missing (``x - x = 0`` fails for them, in every engine), a boolean read from
    a number is 1 or 0 or else missing. The text check costs ~15 times a plain cast.
    """
    raw = _column(name)
    typed = _typed(raw, kind, stored, d)
    if typed is not None:
        return typed
    text = exp.Trim(this=exp.Cast(this=raw, to=exp.DataType.build(d.text)))
    lowered = exp.Lower(this=text.copy())
    token = exp.In(this=lowered, expressions=[_string(t) for t in MISSING_TOKENS])
    if kind == "boolean":
        spelled = [(_among(lowered.copy(), _TRUE), _number(1)), (_among(lowered.copy(), _FALSE), _number(0))]
        return _double(_case(spelled, exp.null()), d)
    if kind == "number":  # an infinity, written out or a float's (as the engine writes it), is missing too
        token.set("expressions", [*token.expressions, *map(_string, _INFINITIES)])
        return _case([(token, exp.null())], _double(raw.copy(), d))
    return _case([(token, exp.null())], text if kind == "string" else d.timestamp(raw.copy()))


def _typed(raw: exp.Column, kind: str, stored: str, d: _Dialect) -> exp.Expression | None:
    """Input ``raw`` of ``kind`` read from a column ``stored`` as a number, boolean or timestamp;
    None where the text check is needed."""
    numeric = stored in ("integer", "float")
    if kind == "number" and stored == "integer":
        return _double(raw, d)
    if kind == "number" and stored == "float":
        finite = exp.EQ(this=exp.Sub(this=raw.copy(), expression=raw.copy()), expression=_number(0))
        return _case([(finite, _double(raw, d))], exp.null())
    if kind == "boolean" and (numeric or stored == "boolean"):
        if stored == "boolean":
            spelled = [(raw.copy(), _number(1)), (exp.Not(this=raw.copy()), _number(0))]
        else:
            spelled = [(exp.EQ(this=raw.copy(), expression=_number(v)), _number(v)) for v in (1, 0)]
        return _double(_case(spelled, exp.null()), d)
    if kind == "datetime" and stored == "datetime":
        return d.timestamp(raw)
    return None


def _among(value: exp.Expression, spellings: set[str]) -> exp.Expression:
    return exp.In(this=value, expressions=[_string(s) for s in sorted(spellings)])


def _case(whens: Sequence[tuple[exp.Expression, exp.Expression]], default: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=cond, true=then) for cond, then in whens], default=default)


def _flag(condition: exp.Expression) -> exp.Case:
    """1 where ``condition`` holds, else 0 (integers: the feature is cast to double once)."""
    return _case([(condition, _number(1))], _number(0))


# ---- features: the four transforms ---------------------------------------------------------------


def _features(pipeline: Pipeline, named: dict[str, exp.Expression], d: _Dialect) -> dict[str, exp.Expression]:
    """Each step's outputs by name (the dropped ones too, which are then not selected)."""
    made: dict[str, exp.Expression] = {}
    for step in pipeline.steps:
        columns = _STEPS[type(step)](step, named[step.column], d)
        made.update(zip(step.outputs, columns, strict=True))
    return made


def _impute(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    del d
    filled = exp.Coalesce(this=value.copy(), expressions=[_number(step.fill)])
    return [filled, _flag(exp.Is(this=value.copy(), expression=exp.null()))] if step.indicator else [filled]


def _level_key(step: Any, value: exp.Expression) -> exp.Expression:
    """What a category's levels are matched against: the value, or its lower case (levels are stored folded)."""
    return exp.Lower(this=value.copy()) if step.fold_case else value.copy()


def _one_hot(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    key = _level_key(step, value)
    out: list[exp.Expression] = [_flag(exp.EQ(this=d.exact(key.copy()), expression=d.exact(_string(level))))
                                 for level in step.levels]  # fmt: skip
    known = exp.In(this=d.exact(key.copy()), expressions=[d.exact(_string(level)) for level in step.levels])
    missing = exp.Is(this=value.copy(), expression=exp.null())
    whens = [(missing, _number(0))] + ([(known, _number(0))] if step.levels else [])
    out.append(_case(whens, _number(1)))
    return [*out, _flag(missing.copy())] if step.indicator else out


def _encode(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    """Per output, CASE key WHEN level THEN number ... ELSE the rare group's number, missing values' own."""
    key = _level_key(step, value)
    missing = exp.Is(this=value.copy(), expression=exp.null())
    out: list[exp.Expression] = []
    for values, rare, when_missing in zip(step.values, step.rare, step.missing, strict=True):
        pairs = zip(step.levels, values, strict=True)
        whens = [exp.If(this=d.exact(_string(level)), true=_number(v)) for level, v in pairs]
        looked_up = exp.Case(this=d.exact(key.copy()), ifs=whens, default=_number(rare))
        out.append(_case([(missing.copy(), _number(when_missing))], looked_up))
    return out


def _date_parts(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    filled = {part: exp.Coalesce(this=d.parts[part](value.copy()), expressions=[_number(fill)])
              for part, fill in zip(step.parts, step.fills, strict=True)}  # fmt: skip
    out: list[exp.Expression] = list(filled.values())
    for part in step.cyclic:  # looked up, as lathe computed them (see ``Waves``): no engine's SIN
        table = waves(step, part)
        out += [_looked_up(d.parts[part](value.copy()), table.lowest, wave, fill)
                for wave, fill in ((table.sin, table.fill_sin), (table.cos, table.fill_cos))]  # fmt: skip
    if step.reference is not None:  # as lathe: nanoseconds since 1970 as a double, over 86400e9
        micros = exp.Cast(this=d.micros(value.copy()), to=exp.DataType.build(d.double))
        days = exp.Div(this=exp.Mul(this=micros, expression=_number(1000.0)), expression=_number(_NANOSECONDS_PER_DAY))
        elapsed = exp.Sub(this=days, expression=_number(step.reference))
        out.append(exp.Coalesce(this=elapsed, expressions=[_number(step.elapsed_fill)]))
    return [*out, _flag(exp.Is(this=value.copy(), expression=exp.null()))] if step.indicator else out


def _looked_up(part: exp.Expression, lowest: int, table: tuple[float, ...], fill: float) -> exp.Case:
    """CASE part WHEN lowest THEN table[0] ... ELSE fill END: a missing part takes the fill's."""
    whens = [exp.If(this=_number(lowest + k), true=_number(v)) for k, v in enumerate(table)]
    return exp.Case(this=part, ifs=whens, default=_number(fill))


def _text_stats(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    if not d.regexp:
        raise ExportError(
            f"the text_stats transform of column {step.column!r} counts words with a regular expression, which "
            "the sqlite dialect lacks; export for another dialect, or train without that text column"
        )
    text = exp.Coalesce(this=value.copy(), expressions=[_string("")])
    words = [_call(d.length, exp.RegexpReplace(this=text.copy(), expression=_string(r"\S+"), replacement=_string(r)))
             for r in ("x", "")]  # fmt: skip
    return [_call(d.length, text), exp.Sub(this=words[0], expression=words[1])]


def _text_steps(
    pipeline: Pipeline, d: _Dialect, keys: list[str], columns: dict[str, str], steps: list[tuple[str, exp.Select]]
) -> None:
    """Append the steps the text vectors need before the features, each passing the ids, the
    inputs and what the later steps read on: ``lathe_words``, each text as its terms lower-cased,
    two spaces apart and one at each end; ``lathe_lengths``, their lengths; then per text vector
    ``lathe_terms<v>``, each term's count (the occurrences of " term ", which do not overlap)
    times its weight, and ``lathe_blocks<v>``, the partial sums of ``TextVector``, which
    ``_text_vector`` adds up. A step holds the terms of one text vector only: PostgreSQL allows
    1,664 columns in one."""
    vectors = [step for step in pipeline.steps if isinstance(step, TextVector)]
    if not vectors:
        return
    if not d.regexp:
        raise ExportError(
            f"the text_vector transform of column {vectors[0].column!r} splits a text into terms with a regular "
            "expression, which the sqlite dialect lacks; export for another dialect, or train without that text column"
        )
    passed = [*keys, *columns.values()]
    words = []
    for step in vectors:
        text = exp.Coalesce(this=_column(columns[step.column]), expressions=[_string("")])
        spaced = exp.RegexpReplace(this=text, expression=_string(d.separators), replacement=_string("  "))
        padded = exp.Concat(expressions=[_string(" "), spaced, _string(" ")], safe=True, coalesce=False)
        words.append(d.ascii_lower(padded).as_(f"{columns[step.column]}_w", quoted=True, copy=False))
    steps.append(("lathe_words", _select([*map(_column, passed), *words], _table(steps[-1][0]))))
    passed += [word.alias for word in words]
    lengths = [_call(d.length, _column(word.alias)).as_(f"{word.alias}n", quoted=True, copy=False) for word in words]
    steps.append(("lathe_lengths", _select([*map(_column, passed), *lengths], _table(steps[-1][0]))))
    passed += [length.alias for length in lengths]
    for v, step in enumerate(vectors):
        key = columns[step.column]
        weighted = [
            _weighted(key, term, weight, d).as_(f"{key}_x{j}", quoted=True, copy=False)
            for j, (term, weight) in enumerate(zip(step.terms, step.idf, strict=True))
        ]
        steps.append((f"lathe_terms{v}", _select([*map(_column, passed), *weighted], _table(steps[-1][0]))))
        partials = _partials(step, key)
        steps.append((f"lathe_blocks{v}", _select([*map(_column, passed), *partials], _table(steps[-1][0]))))
        passed += [partial.alias for partial in partials]


def _weighted(key: str, term: str, weight: float, d: _Dialect) -> exp.Expression:
    """The count of ``term`` in the words of input ``key`` (``<key>_w``, of length ``<key>_wn``;
    see ``_text_steps``) times ``weight``."""
    removed = _call("REPLACE", _column(f"{key}_w"), _string(f" {term} "), _string(""))
    shorter = exp.Paren(this=exp.Sub(this=_column(f"{key}_wn"), expression=_call(d.length, removed)))
    count = _double(exp.Div(this=shorter, expression=_number(len(term) + 2)), d)
    return exp.Mul(this=count, expression=_number(weight))


def _partials(step: TextVector, key: str) -> list[exp.Expression]:
    """Per block of terms, the partial sum of each output (``<key>_b<block>_<output>``) and of the
    squares (``<key>_b<block>_n``)."""
    out: list[exp.Expression] = []
    for b, block in enumerate(step.blocks):
        for c in range(len(step.outputs)):
            products: list[exp.Expression] = [
                exp.Mul(this=_column(f"{key}_x{j}"), expression=_number(step.projection[j][c])) for j in block
            ]
            out.append(_chain(products).as_(f"{key}_b{b}_{c}", quoted=True, copy=False))
        squares: list[exp.Expression] = [
            exp.Mul(this=_column(f"{key}_x{j}"), expression=_column(f"{key}_x{j}")) for j in block
        ]
        out.append(_chain(squares).as_(f"{key}_b{b}_n", quoted=True, copy=False))
    return out


def _text_vector(step: Any, value: exp.Expression, d: _Dialect) -> list[exp.Expression]:
    """Each output from the partial sums of ``lathe_blocks``: their total over the square root of
    the total of squares, or 0 where no term occurs."""
    del d
    key, blocks = value.name, range(len(step.blocks))
    squares = _chain([_column(f"{key}_b{b}_n") for b in blocks])
    out: list[exp.Expression] = []
    for c in range(len(step.outputs)):
        total = exp.Paren(this=_chain([_column(f"{key}_b{b}_{c}") for b in blocks]))
        scaled = exp.Div(this=total, expression=exp.Sqrt(this=squares.copy()))
        out.append(_case([(exp.GT(this=squares.copy(), expression=_number(0.0)), scaled)], _number(0.0)))
    return out


_STEPS: dict[type[Transform], Callable[[Any, exp.Expression, _Dialect], list[exp.Expression]]] = {
    Impute: _impute, OneHot: _one_hot, Encode: _encode, DateParts: _date_parts, TextStats: _text_stats,
    TextVector: _text_vector,
}  # fmt: skip


# ---- the model -----------------------------------------------------------------------------------


def _terms(pipeline: Pipeline, d: _Dialect) -> list[list[exp.Expression]]:
    """Per margin, the terms that add up to it: one per tree, and one per weight and the bias."""
    model = pipeline.model
    if isinstance(model, Affine):
        return [_affine(model, m) for m in range(pipeline.margins)]
    terms: list[list[exp.Expression]] = [[] for _ in range(pipeline.margins)]
    for tree in model.trees:
        terms[tree.margin].append(_tree(tree, d))
    if model.linear is not None:
        for m in range(pipeline.margins):
            terms[m] += _affine(model.linear, m)
    return terms


def _affine(affine: Affine, margin: int) -> list[exp.Expression]:
    """Margin ``margin``'s terms of ``affine``: weight times feature, weight times the feature's
    signed log (SIGN(f) * LN(1 + ABS(f))), and the bias."""
    products = [
        exp.Mul(this=_number(float(w)), expression=_column(f"f{k}"))
        for k, w in enumerate(affine.weights[margin]) if w != 0.0
    ]  # fmt: skip
    if affine.logged is not None:
        for k, w in enumerate(affine.logged[margin]):
            if w != 0.0:
                feature = _column(f"f{k}")
                length = exp.Ln(this=exp.Add(this=_number(1.0), expression=exp.Abs(this=feature.copy())))
                logged = exp.Mul(this=exp.Sign(this=feature), expression=length)
                products.append(exp.Mul(this=_number(float(w)), expression=exp.Paren(this=logged)))
    return [*products, _number(float(affine.bias[margin]))]


def _tree(tree: Tree, d: _Dialect) -> exp.Expression:
    """A tree as CASE expressions, nested as little as can be (see ``_case_of``)."""
    return _case_of(tree, 0, _strahler(tree), d)


def _case_of(tree: Tree, node: int, order: list[int], d: _Dialect) -> exp.Expression:
    """The subtree at ``node`` as one CASE whose WHENs walk down a path: at each split, the
    child of the lower Strahler ``order`` becomes a WHEN's (nested) result and the walk goes on
    into the other, whose CASE merges into this one as further WHENs. CASE is then nested at
    most log2(leaves) deep: SQLite's parser stack holds 100 entries, and a deep nesting
    also costs Spark's parser dearly."""
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    while tree.feature[node] >= 0:
        left, right = tree.left[node], tree.right[node]
        goes_left = order[left] <= order[right]
        whens.append((_split(tree, node, goes_left), _case_of(tree, left if goes_left else right, order, d)))
        node = right if goes_left else left
    leaf = d.literal(_number(tree.value[node]))
    return _case(whens, leaf) if whens else leaf


def _split(tree: Tree, node: int, left: bool) -> exp.Expression:
    """The condition for going ``left`` (or right) at ``node``: left when the feature is <= the
    threshold, except that where zero means missing, a feature within ``ZERO`` of zero goes the
    default way. Features are never NULL."""
    x = _column(f"f{tree.feature[node]}")
    threshold = _number(tree.threshold[node])
    below = exp.LTE(this=x, expression=threshold) if left else exp.GT(this=x, expression=threshold)
    if not tree.zero_is_missing[node]:
        return below
    magnitude = exp.Abs(this=x.copy())
    if tree.default_left[node] == left:  # zero goes this way
        return exp.or_(exp.LTE(this=magnitude, expression=_number(ZERO)), below, copy=False)
    return exp.and_(exp.GT(this=magnitude, expression=_number(ZERO)), below, copy=False)


def _strahler(tree: Tree) -> list[int]:
    """Each node's Strahler number: 1 at a leaf; at a split, the larger of its children's, plus
    one where they are equal."""
    order = [1] * len(tree.feature)

    def visit(node: int) -> int:
        if tree.feature[node] >= 0:
            a, b = visit(tree.left[node]), visit(tree.right[node])
            order[node] = max(a, b) + (a == b)
        return order[node]

    visit(0)
    return order


def _sums(
    terms: list[list[exp.Expression]], keys: list[str], steps: list[tuple[str, exp.Select]]
) -> list[list[exp.Expression]]:
    """Add long lists of terms in steps: each column of a step adds at most ``_CHAIN`` terms of
    the step before, left to right, until each margin has at most ``_CHAIN`` left.

    A sum is a flat chain, which every parser reads as a loop, never a nested one: Spark's
    parser takes minutes over parentheses nested a few deep around megabytes of CASE, and a
    chain of hundreds of additions overflows the stacks of Spark's analyzer and of others'
    parsers. A chain of ``_CHAIN`` per step is shallow for all. Append the steps to ``steps``;
    return the terms left, which read the last step.
    """
    level = 0
    while any(len(margin) > _CHAIN for margin in terms):
        columns: list[exp.Expression] = []
        left: list[list[exp.Expression]] = []
        for m, margin in enumerate(terms):
            names = [f"s{level}_{m}_{k}" for k in range(math.ceil(len(margin) / _CHAIN))]
            columns += [
                _chain(margin[k * _CHAIN : (k + 1) * _CHAIN]).as_(n, quoted=True, copy=False)
                for k, n in enumerate(names)
            ]
            left.append([_column(n) for n in names])
        steps.append((f"lathe_sums{level}", _select([*map(_column, keys), *columns], _table(steps[-1][0]))))
        terms, level = left, level + 1
    return terms


# ---- the link ------------------------------------------------------------------------------------


def _link(
    pipeline: Pipeline, d: _Dialect, keys: list[str], steps: list[tuple[str, exp.Select]]
) -> tuple[str, list[exp.Expression]]:
    """Add the steps from margins to probabilities; the final columns, and the step they read."""
    margin = [_column(f"m{k}") for k in range(pipeline.margins)]
    if pipeline.link == "identity":
        return "lathe_margins", [margin[0].as_("prediction", quoted=True, copy=False)]
    if pipeline.link == "sigmoid":
        power = _clamped(exp.Neg(this=margin[0]), d)
        p1 = exp.Div(this=_number(1.0), expression=exp.Paren(this=exp.Add(this=_number(1.0), expression=power)))
        probabilities: list[exp.Expression] = [exp.Sub(this=_number(1.0), expression=_column("p1")), _column("p1")]
        steps.append(
            (
                "lathe_sigmoid",
                _select([*map(_column, keys), p1.as_("p1", quoted=True, copy=False)], _table("lathe_margins")),
            )
        )
        source = "lathe_sigmoid"
    else:
        top = _call(d.greatest, *margin)
        exps = [_clamped(exp.Sub(this=m.copy(), expression=top.copy()), d).as_(f"e{k}", quoted=True, copy=False)
                for k, m in enumerate(margin)]  # fmt: skip
        steps.append(("lathe_exps", _select([*map(_column, keys), *exps], _table("lathe_margins"))))
        total = exp.Paren(this=_chain([_column(f"e{k}") for k in range(len(margin))]))
        probabilities = [exp.Div(this=_column(f"e{k}"), expression=total.copy()) for k in range(len(margin))]
        source = "lathe_exps"
    named = [p.as_(f"p{k}", quoted=True, copy=False) for k, p in enumerate(probabilities)]
    steps.append(("lathe_probabilities", _select([*map(_column, keys), *named], _table(source))))
    p: list[exp.Expression] = [_column(f"p{k}") for k in range(len(probabilities))]
    outputs: list[exp.Expression] = [_decided(p, pipeline).as_("prediction", quoted=True, copy=False)]
    outputs += [
        pk.copy().as_(f"probability_{label}", quoted=True, copy=False)
        for pk, label in zip(p, pipeline.classes, strict=True)
    ]
    return "lathe_probabilities", outputs


def _clamped(power: exp.Expression, d: _Dialect) -> exp.Expression:
    """EXP of ``power`` kept within ±700, where the result is the same to 1e-300."""
    inner = _call(d.least, _call(d.greatest, power, _number(-_CLAMP)), _number(_CLAMP))
    return exp.Exp(this=inner)


def _chain(terms: list[exp.Expression]) -> exp.Expression:
    """``terms`` added left to right (as numpy sums a handful of them)."""
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return total


def _decided(probabilities: list[exp.Expression], pipeline: Pipeline) -> exp.Expression:
    """The predicted class: the largest probability's, ties to the earlier class (as numpy's
    argmax), or for binary with a threshold, the second class where its probability reaches it."""
    classes = pipeline.classes
    if pipeline.threshold is not None:
        reaches = exp.GTE(this=probabilities[1].copy(), expression=_number(pipeline.threshold))
        return _case([(reaches, _label(classes[1]))], _label(classes[0]))
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    for k in range(len(classes) - 1):
        later = [exp.GTE(this=probabilities[k].copy(), expression=q.copy()) for q in probabilities[k + 1 :]]
        whens.append((exp.and_(*later, copy=False), _label(classes[k])))
    return _case(whens, _label(classes[-1]))


def _label(label: Any) -> exp.Expression:
    """A class label as the bundle gives it: a number stays a number, anything else is text."""
    if isinstance(label, int | float | np.integer | np.floating) and not isinstance(label, bool):
        return _number(label.item() if isinstance(label, np.generic) else label)
    return _string(str(label))


# ---- scoring -------------------------------------------------------------------------------------


def score(
    artifact: str,
    rows: pd.DataFrame,
    pipeline: Pipeline,
    dialect: str,
    uri: str | None = None,
    typed: Collection[str] = (),
) -> pd.DataFrame:
    """Score ``rows`` (coerced inputs) in the engine of ``dialect``, as the SQL export does.

    The rows, with a row key, are uploaded to a table of the engine: in memory for duckdb and
    sqlite, a temporary view of a local SparkSession for spark, a temporary table of the
    database at ``uri`` for postgres and mysql. The statement run is ``artifact``'s, built for
    that table and with the row key as its only id column (``artifact`` reads another table
    and passes other ids through; nothing else differs). The inputs named in ``typed`` are read
    as the upload stores them (numbers and booleans as doubles, datetimes as timestamps: see
    ``build``'s ``types``), the others through the text check. Returns ``prediction`` and
    ``probability_<class>`` columns, in the order of ``rows``.
    """
    del artifact  # the same statement is built again around the row key (see above)
    if dialect in ("postgres", "mysql") and uri is None:
        raise InvalidParameterError(f"scoring in {dialect} needs the URI of a database to run in")
    table = f"lathe_rows_{uuid.uuid4().hex[:12]}"
    frame = rows[[c.name for c in pipeline.inputs]].reset_index(drop=True)
    frame.insert(0, ROW_KEY, np.arange(len(frame), dtype="int64"))
    stored = {c.name: upload_kind(frame[c.name]) for c in pipeline.inputs if c.name in typed}
    sql = build(pipeline, dialect, table=table, ids=(ROW_KEY,), types=stored)
    scored = run_select(uri or dialect, sql, {table: frame})
    scored = scored.sort_values(ROW_KEY, kind="stable").drop(columns=ROW_KEY).reset_index(drop=True)
    for column in scored.columns:
        if column.startswith("probability_") or (column == "prediction" and not pipeline.classes):
            scored[column] = scored[column].astype("float64")
    return scored


def score_in_database(
    pipeline: Pipeline,
    engine: str,
    source: str,
    into: str,
    *,
    view: bool = False,
    key: str | None = None,
    batch_rows: int = BATCH_ROWS,
    types: Mapping[str, str] | None = None,
) -> int:
    """Score the table ``source`` of ``engine`` (a database URI, or ``spark`` for the active
    SparkSession) into its table ``into``, or define ``into`` as a view that scores it, with no
    row leaving the database; return the rows written. ``types`` are its columns' (see
    ``build``), by default as the database declares them (``lathe.backends.column_types``).
    See ``lathe.backends.create_scored`` for the batches (``key``, ``batch_rows``) and for what
    happens to an existing ``into``."""
    known = column_types(engine, source) if types is None else types
    return create_scored(engine, lambda dialect, table: build(pipeline, dialect, table=table, types=known), source,
                         into, view=view, key=key, batch_rows=batch_rows)  # fmt: skip
