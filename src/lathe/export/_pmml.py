"""PMML 4.4 export: the whole pipeline as one document, scored by JPMML, the reference evaluator.

The document, written with ElementTree:

- ``DataDictionary``: one ``DataField`` per input, named as the column: a number is a continuous
  double; a boolean a continuous double in ``[0, 1]`` (as coerced: 1 true, 0 false; another value
  is invalid); a string categorical, with no list of values (an unseen level is no error); a
  timestamp a continuous ``dateTime`` (ISO 8601, naive UTC). Last, the target (classes as values).
- The model's ``LocalTransformations``: one ``DerivedField`` per feature (named as the feature,
  unless the name is taken, e.g. by the input an imputed number comes from), in PMML 4.4 built-in
  functions only: ``isMissing``, ``if``, ``equal``, ``lowercase``, ``replace`` and ``stringLength``,
  arithmetic, ``sqrt`` and ``floor``, ``sin`` and ``cos``, ``dateDaysSinceYear`` and
  ``dateSecondsSinceMidnight``; year, month and day come from the days since 1970 by Howard
  Hinnant's ``civil_from_days`` in floor arithmetic, a few helper fields holding its steps. A text
  vector's term counts are ``TextIndex`` elements (the text split on ``[^A-Za-z0-9]+``, terms
  compared case-insensitively, every hit counted), its sums fields added in lathe's order, so
  that they come out to the last bit.
- The model. ``Affine``: a ``RegressionModel``. ``Trees``: a ``MiningModel`` chaining
  (``modelChain``) one sum of ``TreeModel`` segments per margin, each published as an output
  field, and a ``RegressionModel`` for the link, as JPMML-LightGBM lays it out; a blend's linear
  part is added in that model's tables. The link:
  ``normalizationMethod`` none (regression), softmax (multiclass) or logit (binary). For binary,
  the first table is the class ``classes[0]`` with the margin negated: PMML gives the
  first table ``1/(1+exp(-y))`` and the second its complement, so ``p(classes[1]) =
  1/(1+exp(-margin))``, and a tie at 0.5 goes to the earlier class, as numpy's argmax does.
  Trees split on ``SimplePredicate lessOrEqual`` at the threshold written in full (``repr``);
  where LightGBM reads zero as missing, ``|x| <= 1e-35`` takes the default branch.
- ``Output``: ``prediction`` (the label, or the number) and ``probability_<label>`` per class.
  An input with one of these names is refused (JPMML rejects the clash).

Text is matched as lathe matches it, not as Java would: lengths count code points (Java's
``String.length`` counts a character outside the BMP twice, so those are replaced by one
character first), words are split on what ``\\s`` matches in Python (``str.isspace``, wider
than Java's ``\\s``), and case-folded levels fold like ``str.casefold`` (full case folding) for
every character that could make a level match (``ß`` to ``ss``, the long s U+017F to ``s``,
...). ``lowercase`` follows the evaluator's locale: in a Turkish locale ``I`` lowers to a dotless
i (U+0131).

One difference is documented rather than refused: PMML's date functions count whole days and
seconds, so a timestamp's fraction of a second is dropped (lathe's days elapsed keep it, to the
nanosecond): a difference under 1/86400 of a day in ``<column>__days``, the calendar parts
being exact.

``score`` runs JPMML-Evaluator in this process through JPype (``jpmml_evaluator``), the JVM
started once per process; it reads timestamps as ISO 8601 text.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lathe.errors import ExportError, MissingDependencyError
from lathe.export._pipeline import ZERO, Affine, Pipeline, Tree, Trees, waves
from lathe.features import DateParts, Encode, Impute, InputColumn, OneHot, TextStats, TextVector, Transform
from lathe.profile import Task

NAMESPACE = "http://www.dmg.org/PMML-4_4"
VERSION = "4.4"
ENGINE = "JPMML-Evaluator"
EPOCH_YEAR = 1970
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
# Characters outside the Basic Multilingual Plane: one code point each, two UTF-16 units in Java's String.length.
SUPPLEMENTARY = r"[\x{10000}-\x{10FFFF}]"
_DATA_TYPES = {"number": "double", "boolean": "double", "string": "string", "datetime": "dateTime"}
_OPTYPES = {"double": "continuous", "dateTime": "continuous", "string": "categorical"}

Argument = ET.Element | str | float  # an expression, a field's name, or a number
Table = tuple[float, list[tuple[str, float]]]  # a margin: intercept, and (field, coefficient) per predictor


def build(pipeline: Pipeline) -> str:
    """The PMML 4.4 document of ``pipeline``: inputs to prediction, in PMML built-in functions.

    Raises ``ExportError`` for a transform or model PMML cannot express, and for an input named
    as one of the output fields.
    """
    outputs = _output_names(pipeline)
    clash = sorted({c.name for c in pipeline.inputs} & set(outputs))
    if clash:
        raise ExportError(
            f"PMML cannot name an output field as the input {clash[0]!r}: rename the column and retrain to export "
            "to PMML, or export to another format"
        )
    root = ET.Element("PMML", xmlns=NAMESPACE, version=VERSION)
    _header(root)
    fields = _Fields(ET.Element("LocalTransformations"), {c.name for c in pipeline.inputs} | set(outputs))
    target = fields.name("target")
    _data_dictionary(root, pipeline, target)
    derived = _features(pipeline, fields)
    features = [derived[name] for name in pipeline.features]  # each feature's field, in matrix order
    scorer = pipeline.model
    if isinstance(scorer, Affine):
        model = _affine(pipeline, scorer, features, fields)
    else:
        model = _trees(pipeline, scorer, features, target, fields)
    _top_level(model, pipeline, target, fields.transformations)
    root.append(model)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


class _Fields:
    """The derived fields of the document (its model's ``LocalTransformations``), each name unique."""

    def __init__(self, transformations: ET.Element, taken: set[str]) -> None:
        self.transformations = transformations
        self.taken = set(taken)

    def name(self, wanted: str) -> str:
        """``wanted``, or ``wanted`` with a suffix where another field has that name."""
        name, n = wanted, 1
        while name in self.taken:
            name, n = f"{wanted}__pmml{'' if n == 1 else n}", n + 1
        self.taken.add(name)
        return name

    def derive(self, wanted: str, expression: ET.Element, data_type: str = "double") -> str:
        """Add a ``DerivedField`` for ``expression``; return the name it was given."""
        name = self.name(wanted)
        field = _element(
            self.transformations, "DerivedField", name=name, optype=_OPTYPES[data_type], dataType=data_type
        )
        field.append(expression)
        return name


# ---------------------------------------------------------------------------------------------- expressions


def _element(parent: ET.Element | None, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.Element(tag, attributes) if parent is None else ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _number(value: float) -> str:
    """A double written to the last bit (``repr`` round-trips)."""
    return repr(float(value))


def _expression(argument: Argument) -> ET.Element:
    if isinstance(argument, ET.Element):
        return argument
    if isinstance(argument, str):
        return _element(None, "FieldRef", field=argument)
    return _element(None, "Constant", _number(argument), dataType="double")


def _apply(function: str, *arguments: Argument) -> ET.Element:
    """``function(arguments)``: a string argument names a field, a number is a double constant."""
    apply = _element(None, "Apply", function=function)
    apply.extend(_expression(a) for a in arguments)
    return apply


def _text(value: str) -> ET.Element:
    return _element(None, "Constant", value, dataType="string")


def _integer(value: int) -> ET.Element:
    return _element(None, "Constant", str(value), dataType="integer")


def _unless_missing(column: str, fill: float, expression: Argument) -> ET.Element:
    """``fill`` where ``column`` is missing, else ``expression``."""
    return _apply("if", _apply("isMissing", column), fill, expression)


def _indicator(condition: ET.Element) -> ET.Element:
    return _apply("if", condition, 1.0, 0.0)


# ---------------------------------------------------------------------------------------------- features


def _features(pipeline: Pipeline, fields: _Fields) -> dict[str, str]:
    """Derive each step's features; return the field name of each output derived."""
    keep = set(pipeline.features)
    named: dict[str, str] = {}
    for step in pipeline.steps:
        named |= _derive(step, fields, keep)
    return named


def _derive(step: Transform, fields: _Fields, keep: set[str]) -> dict[str, str]:
    """Derive the outputs of ``step`` that are in ``keep`` (and what they need); name each's field."""
    if isinstance(step, DateParts):
        return _date_parts(step, fields, keep)
    if isinstance(step, TextVector):
        return _text_vector(step, fields, keep)
    if isinstance(step, Impute):
        made = _impute(step)
    elif isinstance(step, OneHot):
        made = _one_hot(step, fields)
    elif isinstance(step, Encode):
        made = _encode(step, fields)
    elif isinstance(step, TextStats):
        made = _text_stats(step)
    else:
        raise ExportError(
            f"PMML cannot express the {step.kind or type(step).__name__} transform of column {step.column!r}; "
            "export to another format, or leave the column out and retrain"
        )
    return _derived(fields, keep, made)


def _derived(fields: _Fields, keep: set[str], made: dict[str, ET.Element]) -> dict[str, str]:
    return {name: fields.derive(name, expression) for name, expression in made.items() if name in keep}


def _impute(step: Impute) -> dict[str, ET.Element]:
    made = {step.column: _unless_missing(step.column, step.fill, step.column)}
    if step.indicator:
        made[f"{step.column}__missing"] = _indicator(_apply("isMissing", step.column))
    return made


def _level_key(step: OneHot | Encode, fields: _Fields) -> str:
    """The field a category's levels are matched on: the column, or its case-folded copy."""
    if not step.fold_case:
        return step.column
    return fields.derive(f"{step.column}__folded", _casefold(step.column, step.levels), "string")


def _one_hot(step: OneHot, fields: _Fields) -> dict[str, ET.Element]:
    column = step.column
    value = _level_key(step, fields)

    def present(condition: ET.Element) -> ET.Element:
        return _apply("if", _apply("isMissing", column), 0.0, _indicator(condition))

    made = {f"{column}={level}": present(_apply("equal", value, _text(level))) for level in step.levels}
    matches = [_apply("equal", value, _text(level)) for level in step.levels]
    known = matches[0] if len(matches) == 1 else _apply("or", *matches)
    made[f"{column}__other"] = present(_apply("not", known)) if matches else _indicator(_apply("isNotMissing", column))
    if step.indicator:
        made[f"{column}__missing"] = _indicator(_apply("isMissing", column))
    return made


def _encode(step: Encode, fields: _Fields) -> dict[str, ET.Element]:
    """A MapValues per output: level to number, the rare group's by default; missing values' own."""
    column, value = step.column, _level_key(step, fields)
    made = {}
    for name, values, rare, missing in zip(step.outputs, step.values, step.rare, step.missing, strict=True):
        mapped = _element(None, "MapValues", outputColumn="out", dataType="double", defaultValue=_number(rare))
        _element(mapped, "FieldColumnPair", field=value, column="in")
        rows = _element(mapped, "InlineTable")
        for level, number in zip(step.levels, values, strict=True):
            row = _element(rows, "row")
            _element(row, "in", level)
            _element(row, "out", _number(number))
        made[name] = _unless_missing(column, missing, mapped)  # the folded field is not read where missing
    return made


def _casefold(column: str, levels: tuple[str, ...]) -> ET.Element:
    """``str.casefold`` as far as matching ``levels`` goes: ``lowercase``, then each character whose
    full case folding differs from its lower case and could be part of a level, folded by ``replace``."""
    folded = _apply("lowercase", column)
    for lower, fold in _folds().items():
        if any(fold in level for level in levels):
            folded = _apply("replace", folded, _text(_pattern(lower)), _text(fold))
    return folded


@functools.cache
def _folds() -> dict[str, str]:
    """The lower case of each character whose ``casefold`` differs from it, with the folding."""
    chars = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    return {c.lower(): c.casefold() for c in chars if c.lower() != c.casefold()}


def _pattern(literal: str) -> str:
    """A regular expression matching ``literal`` exactly."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in literal)


def _text_stats(step: TextStats) -> dict[str, ET.Element]:
    column = step.column
    space = _pattern(_whitespace())
    length = _apply("stringLength", _apply("replace", column, _text(SUPPLEMENTARY), _text("_")))
    each_word_one_letter = _apply("replace", column, _text(f"[^{space}]+"), _text("w"))
    words = _apply("replace", each_word_one_letter, _text(f"[{space}]+"), _text(""))
    return {
        f"{column}__length": _unless_missing(column, 0.0, length),
        f"{column}__words": _unless_missing(column, 0.0, _apply("stringLength", words)),
    }


def _text_vector(step: TextVector, fields: _Fields, keep: set[str]) -> dict[str, str]:
    """Each term's count by a ``TextIndex`` (the text split on ``TextVector.separators``, terms
    compared case-insensitively: they are ASCII letters and digits) times its weight; then the
    partial sums, their totals and the projection, added in ``TextVector``'s order."""
    column, width = step.column, len(step.outputs)
    weighted = [
        fields.derive(f"{column}__tfidf_{j + 1}", _unless_missing(column, 0.0, _apply("*", _text_index(column, t), w)))
        for j, (t, w) in enumerate(zip(step.terms, step.idf, strict=True))
    ]
    partials: list[list[Argument]] = [[] for _ in range(width + 1)]  # per output, then the squares
    for b, block in enumerate(step.blocks):
        for c in range(width):
            products = [_apply("*", weighted[j], step.projection[j][c]) for j in block]
            partials[c].append(fields.derive(f"{column}__text_{c + 1}_part_{b + 1}", _added(products)))
        squared = [_apply("*", weighted[j], weighted[j]) for j in block]
        partials[width].append(fields.derive(f"{column}__text_squares_part_{b + 1}", _added(squared)))
    squares = fields.derive(f"{column}__text_squares", _added(partials[width]))
    scaled = [_apply("/", _added(parts), _apply("sqrt", squares)) for parts in partials[:width]]
    made = {name: _apply("if", _apply("greaterThan", squares, 0.0), value, 0.0)
            for name, value in zip(step.outputs, scaled, strict=True)}  # fmt: skip
    return _derived(fields, keep, made)


def _text_index(column: str, term: str) -> ET.Element:
    """How often ``term`` occurs in the text ``column`` as a whole word."""
    index = _element(
        None, "TextIndex", textField=column, localTermWeights="termFrequency", isCaseSensitive="false",
        maxLevenshteinDistance="0", countHits="allHits", wordSeparatorCharacterRE=TextVector.separators,
        tokenize="true",
    )  # fmt: skip
    index.append(_text(term))
    return index


def _added(terms: Sequence[Argument]) -> ET.Element:
    """``terms`` added left to right."""
    total = _expression(terms[0])
    for term in terms[1:]:
        total = _apply("+", total, term)
    return total


@functools.cache
def _whitespace() -> str:
    """The characters ``\\s`` matches in Python's ``re`` (``str.isspace``), which separate words."""
    return "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def _date_parts(step: DateParts, fields: _Fields, keep: set[str]) -> dict[str, str]:
    """The kept outputs of ``step``, and the filled parts the cyclic ones need."""
    column, calendar = step.column, _Calendar(step.column, fields)
    named: dict[str, str] = {}
    for part, fill in zip(step.parts, step.fills, strict=True):
        name = f"{column}__{part}"
        if name in keep or part in step.cyclic:
            named[name] = fields.derive(name, _unless_missing(column, fill, calendar.part(part)))
    made = {}
    for part in step.cyclic:
        table = waves(step, part)
        value = named[f"{column}__{part}"]
        made[f"{column}__{part}_sin"] = _looked_up(value, table.lowest, table.sin, column, table.fill_sin)
        made[f"{column}__{part}_cos"] = _looked_up(value, table.lowest, table.cos, column, table.fill_cos)
    if step.reference is not None:
        made[f"{column}__days"] = _unless_missing(column, step.elapsed_fill, calendar.elapsed(step.reference))
    if step.indicator:
        made[f"{column}__missing"] = _indicator(_apply("isMissing", column))
    return named | _derived(fields, keep, made)


def _looked_up(value: str, lowest: int, table: tuple[float, ...], column: str, fill: float) -> ET.Element:
    """``table[value - lowest]``, or ``fill`` where the timestamp ``column`` is missing: a sine or
    cosine as lathe computed it (see ``Waves``), not as the evaluator would."""
    mapped = _element(None, "MapValues", outputColumn="out", dataType="double")
    _element(mapped, "FieldColumnPair", field=value, column="in")
    rows = _element(mapped, "InlineTable")
    for offset, wave in enumerate(table):
        row = _element(rows, "row")
        _element(row, "in", str(lowest + offset))
        _element(row, "out", _number(wave))
    return _apply("if", _apply("isMissing", column), fill, mapped)


class _Calendar:
    """Helper fields for the calendar of one timestamp column, each derived when first needed."""

    def __init__(self, column: str, fields: _Fields) -> None:
        self.column, self.fields = column, fields

    def _derive(self, suffix: str, expression: ET.Element) -> str:
        return self.fields.derive(f"{self.column}__{suffix}", expression)

    @functools.cached_property
    def days(self) -> str:
        """Whole days since 1970-01-01 (negative before)."""
        return self._derive("days_since_1970", _apply("dateDaysSinceYear", self.column, _integer(EPOCH_YEAR)))

    @functools.cached_property
    def seconds(self) -> str:
        """Whole seconds since midnight."""
        return self._derive("seconds_of_day", _apply("dateSecondsSinceMidnight", self.column))

    @functools.cached_property
    def civil(self) -> tuple[str, str, str, str]:
        """Era (400 years from 0000-03-01), year of era, day of year from March 1 and month from
        March (0-11): the steps of Howard Hinnant's ``civil_from_days``, in floor arithmetic."""
        era = self._derive("era", _apply("floor", _apply("/", _apply("+", self.days, 719468.0), 146097.0)))
        of_era = self._derive("day_of_era", _apply("-", _apply("+", self.days, 719468.0), _apply("*", era, 146097.0)))
        spans = _apply(
            "-",
            _apply("+", _apply("-", of_era, _floor_by(of_era, 1460.0)), _floor_by(of_era, 36524.0)),
            _floor_by(of_era, 146096.0),
        )
        year = self._derive("year_of_era", _apply("floor", _apply("/", spans, 365.0)))
        leap = _apply("-", _apply("+", _apply("*", year, 365.0), _floor_by(year, 4.0)), _floor_by(year, 100.0))
        day = self._derive("day_of_march_year", _apply("-", of_era, leap))
        month = self._derive("month_from_march", _floor_by(_apply("+", _apply("*", day, 5.0), 2.0), 153.0))
        return era, year, day, month

    def part(self, part: str) -> ET.Element:
        """The expression of calendar ``part`` (unfilled: missing where the timestamp is)."""
        return _PARTS[part](self)

    def elapsed(self, reference: float) -> ET.Element:
        """Days since 1970 as lathe counts them (nanoseconds / 86400e9), less ``reference``."""
        seconds = _apply("+", _apply("*", self.days, 86400.0), self.seconds)
        return _apply("-", _apply("/", _apply("*", seconds, 1e9), 86400e9), reference)


def _floor_by(numerator: Argument, denominator: float) -> ET.Element:
    return _apply("floor", _apply("/", numerator, denominator))


def _year(calendar: _Calendar) -> ET.Element:
    era, year, _, month = calendar.civil
    january_or_february = _indicator(_apply("greaterOrEqual", month, 10.0))
    return _apply("+", _apply("+", year, _apply("*", era, 400.0)), january_or_february)


def _month(calendar: _Calendar) -> ET.Element:
    month = calendar.civil[3]
    return _apply("if", _apply("lessThan", month, 10.0), _apply("+", month, 3.0), _apply("-", month, 9.0))


def _day(calendar: _Calendar) -> ET.Element:
    _, _, day, month = calendar.civil
    return _apply("+", _apply("-", day, _floor_by(_apply("+", _apply("*", month, 153.0), 2.0), 5.0)), 1.0)


def _weekday(calendar: _Calendar) -> ET.Element:
    """Monday 0: 1970-01-01 was a Thursday."""
    shifted = _apply("+", calendar.days, 3.0)
    return _apply("-", shifted, _apply("*", _floor_by(shifted, 7.0), 7.0))


def _hour(calendar: _Calendar) -> ET.Element:
    return _floor_by(calendar.seconds, 3600.0)


def _minute(calendar: _Calendar) -> ET.Element:
    return _apply("-", _floor_by(calendar.seconds, 60.0), _apply("*", _floor_by(calendar.seconds, 3600.0), 60.0))


_PARTS: dict[str, Callable[[_Calendar], ET.Element]] = {
    "year": _year, "month": _month, "day": _day, "weekday": _weekday, "hour": _hour, "minute": _minute,
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- document


def _output_names(pipeline: Pipeline) -> list[str]:
    return ["prediction", *(f"probability_{label}" for label in pipeline.classes)]


def _header(root: ET.Element) -> None:
    header = _element(root, "Header", description="a lathe bundle's whole pipeline: inputs, features, model")
    _element(header, "Application", name="lathe", version=importlib.metadata.version("lathe"))


def _data_dictionary(root: ET.Element, pipeline: Pipeline, target: str) -> None:
    dictionary = _element(root, "DataDictionary", numberOfFields=str(len(pipeline.inputs) + 1))
    for column in pipeline.inputs:
        data_type = _DATA_TYPES[column.kind]
        field = _element(dictionary, "DataField", name=column.name, optype=_OPTYPES[data_type], dataType=data_type)
        if column.kind == "boolean":
            _element(field, "Interval", closure="closedClosed", leftMargin="0", rightMargin="1")
    if pipeline.task is Task.REGRESSION:
        _element(dictionary, "DataField", name=target, optype="continuous", dataType="double")
        return
    field = _element(dictionary, "DataField", name=target, optype="categorical", dataType="string")
    for label in pipeline.classes:
        _element(field, "Value", value=str(label))


def _top_level(model: ET.Element, pipeline: Pipeline, target: str, transformations: ET.Element) -> None:
    """Give the document's model its ``MiningSchema`` (the inputs and the target), ``Output`` and
    ``LocalTransformations`` (the features, visible to the models nested in it)."""
    model.insert(0, _schema([c.name for c in pipeline.inputs], target))
    output = ET.Element("Output")
    kind = ("continuous", "double") if pipeline.task is Task.REGRESSION else ("categorical", "string")
    prediction = _element(output, "OutputField", name="prediction", optype=kind[0], dataType=kind[1])
    prediction.set("feature", "predictedValue")
    probabilities = _output_names(pipeline)[1:]
    for label, name in zip(pipeline.classes, probabilities, strict=True):
        _element(
            output, "OutputField", name=name, optype="continuous", dataType="double", feature="probability",
            value=str(label),
        )  # fmt: skip
    if pipeline.threshold is not None:  # binary: the second class where its probability reaches the threshold
        output.remove(prediction)
        output.append(prediction)
        prediction.set("feature", "transformedValue")
        first, second = (_element(None, "Constant", str(c), dataType="string") for c in pipeline.classes)
        prediction.append(_apply("if", _apply("greaterOrEqual", probabilities[1], pipeline.threshold), second, first))
    model.insert(1, output)
    model.insert(2, transformations)


def _schema(fields: Iterable[str], target: str | None = None) -> ET.Element:
    schema = ET.Element("MiningSchema")
    for name in fields:
        _element(schema, "MiningField", name=name)
    if target is not None:
        _element(schema, "MiningField", name=target, usageType="target")
    return schema


# ---------------------------------------------------------------------------------------------- models


def _affine(pipeline: Pipeline, affine: Affine, features: list[str], fields: _Fields) -> ET.Element:
    """A ``RegressionModel``: one table per margin, the link as its normalization."""
    tables = [(float(affine.bias[m]), _predictors(affine, m, features, fields)) for m in range(pipeline.margins)]
    return _link(pipeline, tables)


def _predictors(affine: Affine, margin: int, features: list[str], fields: _Fields) -> list[tuple[str, float]]:
    """Margin ``margin``'s (field, coefficient) pairs: the features, then the signed logs of those
    that enter as such, each derived once (as sign(x) ln1p(|x|))."""
    pairs = list(zip(features, map(float, affine.weights[margin]), strict=True))
    if affine.logged is None:
        return pairs
    for k, weight in enumerate(affine.logged[margin]):
        if weight != 0.0:
            feature = features[k]
            name = f"{feature}__signed_log"
            if name not in fields.taken:
                sign = _apply("if", _apply("lessThan", feature, 0.0), -1.0, 1.0)
                fields.derive(name, _apply("*", sign, _apply("ln1p", _apply("abs", feature))))
            pairs.append((name, float(weight)))
    return pairs


def _link(pipeline: Pipeline, tables: list[Table]) -> ET.Element:
    """The ``RegressionModel`` from margins (``tables``) to the prediction, by ``pipeline.link``."""
    if pipeline.link == "identity":
        model = ET.Element("RegressionModel", functionName="regression", normalizationMethod="none")
        _table(model, None, *tables[0])
        return model
    model = ET.Element("RegressionModel", functionName="classification")
    if pipeline.link == "sigmoid":  # the first table's probability is 1/(1+exp(-y)), the second's its complement
        model.set("normalizationMethod", "logit")
        intercept, predictors = tables[0]
        _table(model, pipeline.classes[0], -intercept, [(name, -c) for name, c in predictors])
        _table(model, pipeline.classes[1], 0.0, [])
        return model
    model.set("normalizationMethod", "softmax")
    for label, table in zip(pipeline.classes, tables, strict=True):
        _table(model, label, *table)
    return model


def _table(model: ET.Element, label: Any, intercept: float, predictors: list[tuple[str, float]]) -> None:
    table = _element(model, "RegressionTable", intercept=_number(intercept))
    if label is not None:
        table.set("targetCategory", str(label))
    for name, coefficient in predictors:
        _element(table, "NumericPredictor", name=name, coefficient=_number(coefficient))


def _trees(pipeline: Pipeline, ensemble: Trees, features: list[str], target: str, fields: _Fields) -> ET.Element:
    """A ``MiningModel`` chaining one sum of trees per margin (each an output field) and the link."""
    function = "regression" if pipeline.task is Task.REGRESSION else "classification"
    model = ET.Element("MiningModel", functionName=function)
    chain = _element(model, "Segmentation", multipleModelMethod="modelChain")
    margins = []
    for m in range(pipeline.margins):
        margin = fields.name("margin" if pipeline.margins == 1 else f"margin_{pipeline.classes[m]}")
        trees = [tree for tree in ensemble.trees if tree.margin == m]
        _segment(chain, str(m + 1)).append(_tree_sum(trees, features, margin, pipeline.inputs[0].name))
        margins.append(margin)
    linear = ensemble.linear
    if linear is None:
        tables = [(0.0, [(margin, 1.0)]) for margin in margins]
    else:  # the blend's linear part is added in the link's tables
        tables = [
            (float(linear.bias[m]), [(margin, 1.0), *_predictors(linear, m, features, fields)])
            for m, margin in enumerate(margins)
        ]
    link = _link(pipeline, tables)
    link.insert(0, _schema(dict.fromkeys(name for _, predictors in tables for name, _ in predictors), target))
    _segment(chain, str(pipeline.margins + 1)).append(link)
    return model


def _segment(segmentation: ET.Element, identifier: str) -> ET.Element:
    segment = _element(segmentation, "Segment", id=identifier)
    _element(segment, "True")
    return segment


def _tree_sum(trees: list[Tree], names: list[str], margin: str, fallback: str) -> ET.Element:
    """A ``MiningModel`` adding up ``trees``, its prediction published as the field ``margin``."""
    model = ET.Element("MiningModel", functionName="regression")
    model.append(_schema(_read(trees, names, fallback)))
    output = _element(model, "Output")
    _element(
        output, "OutputField", name=margin, optype="continuous", dataType="double", feature="predictedValue",
        isFinalResult="false",
    )  # fmt: skip
    segmentation = _element(model, "Segmentation", multipleModelMethod="sum")
    for i, tree in enumerate(trees):
        _segment(segmentation, str(i + 1)).append(_tree(tree, names, fallback))
    return model


def _read(trees: list[Tree], names: list[str], fallback: str) -> list[str]:
    """The fields ``trees`` split on, in feature order; ``fallback`` where none (PMML wants one)."""
    used = sorted({f for tree in trees for f in tree.feature if f >= 0})
    return [names[f] for f in used] or [fallback]


def _tree(tree: Tree, names: list[str], fallback: str) -> ET.Element:
    model = ET.Element(
        "TreeModel", functionName="regression", splitCharacteristic="binarySplit", missingValueStrategy="none"
    )
    model.append(_schema(_read([tree], names, fallback)))
    model.append(_node(tree, 0, names, _element(None, "True")))
    return model


def _node(tree: Tree, index: int, names: list[str], predicate: ET.Element) -> ET.Element:
    node = ET.Element("Node")
    node.append(predicate)
    if tree.feature[index] < 0:
        node.set("score", _number(tree.value[index]))
        return node
    left, right = _split(tree, index, names[tree.feature[index]])
    node.append(_node(tree, tree.left[index], names, left))
    node.append(_node(tree, tree.right[index], names, right))
    return node


def _split(tree: Tree, node: int, field: str) -> tuple[ET.Element, ET.Element]:
    """The predicates of the left and right branches: ``x <= threshold`` and its complement, except
    that where zero reads as missing, ``|x| <= ZERO`` goes the default way."""
    threshold = tree.threshold[node]
    below, above = _compare(field, "lessOrEqual", threshold), _compare(field, "greaterThan", threshold)
    if not tree.zero_is_missing[node]:
        return below, above
    zero = _compound("and", _compare(field, "greaterOrEqual", -ZERO), _compare(field, "lessOrEqual", ZERO))
    nonzero = _compound("or", _compare(field, "lessThan", -ZERO), _compare(field, "greaterThan", ZERO))
    if tree.default_left[node]:
        return _compound("or", below, zero), _compound("and", above, nonzero)
    return _compound("and", below, nonzero), _compound("or", above, zero)


def _compare(field: str, operator: str, value: float) -> ET.Element:
    return _element(None, "SimplePredicate", field=field, operator=operator, value=_number(value))


def _compound(operator: str, *predicates: ET.Element) -> ET.Element:
    compound = _element(None, "CompoundPredicate", booleanOperator=operator)
    compound.extend(predicates)
    return compound


# ---------------------------------------------------------------------------------------------- scoring


def score(artifact: str, rows: pd.DataFrame, pipeline: Pipeline) -> pd.DataFrame:
    """Score coerced ``rows`` with JPMML-Evaluator reading the PMML document ``artifact``:
    ``prediction`` and, for classification, ``probability_<label>`` per class, row for row."""
    evaluator = _evaluator(artifact)
    arguments = pd.DataFrame({c.name: _arguments(rows[c.name], c) for c in pipeline.inputs}, dtype=object)
    results = evaluator.evaluateAll(arguments, nan_as_missing=False)
    if "errors" in results.columns and results["errors"].notna().any():
        row = int(np.flatnonzero(results["errors"].notna().to_numpy())[0])
        raise ExportError(f"{ENGINE} could not score checked row {row}: {results['errors'].iloc[row]}")
    if pipeline.task is Task.REGRESSION:
        return pd.DataFrame({"prediction": results["prediction"].to_numpy(dtype="float64")}, index=rows.index)
    labels = {str(label): label for label in pipeline.classes}
    scored = pd.DataFrame({"prediction": [labels[p] for p in results["prediction"]]}, index=rows.index)
    for name in _output_names(pipeline)[1:]:
        scored[name] = results[name].to_numpy(dtype="float64")
    return scored


def _arguments(values: pd.Series, column: InputColumn) -> list[Any]:
    """A column as JPMML reads it: floats, strings or ISO 8601 timestamps, ``None`` where missing."""
    if column.kind == "datetime":
        return [None if pd.isna(v) else v.isoformat() for v in pd.to_datetime(values)]
    if column.kind == "string":
        return [None if pd.isna(v) else str(v) for v in values]
    return [None if math.isnan(v) else v for v in values.to_numpy(dtype="float64").tolist()]


def _evaluator(document: str) -> Any:
    backend = _backend()
    from jpmml_evaluator import JavaError, make_evaluator

    try:
        return make_evaluator(document, backend=backend, lax=False).verify()
    except JavaError as exc:
        raise ExportError(f"{ENGINE} rejects the PMML document: {exc}") from None


@functools.cache
def _backend() -> Any:
    """JPMML's in-process Java backend (JPype), the JVM started once per process.

    The JVM compiles with its quick compiler only (C1): a check scores a few hundred rows, and
    the optimizing compiler's threads would take more time than they save (three times, here).
    """
    try:
        import jpmml_evaluator
        import jpype
        from jpmml_evaluator.jpype import JPypeBackend
    except ImportError as exc:
        raise MissingDependencyError(
            f"the PMML export needs an optional extra: pip install 'lathe[export]' ({exc})"
        ) from None
    if not jpype.isJVMStarted():
        try:
            jpype.startJVM(JVM_OPTIONS, classpath=jpmml_evaluator._classpath([]))
        except (OSError, RuntimeError, jpype.JVMNotFoundException) as exc:
            raise MissingDependencyError(
                f"the PMML export is checked by JPMML, which needs Java 17 or later (JAVA_HOME, or java on the PATH): "
                f"install a Java runtime, e.g. apt-get install openjdk-17-jre-headless ({exc})"
            ) from None
    return JPypeBackend()
