"""ONNX export: one model from the raw input columns to the prediction, scored by onnxruntime.

The model reads one input per raw column, named as the column, of shape ``[N, 1]``:

- number and boolean: ``tensor(double)``, NaN when missing;
- string: ``tensor(string)``, ``""`` when missing (coerced text is trimmed, so ``""`` is never a value);
- datetime: ``tensor(int64)``, nanoseconds since 1970-01-01 UTC, ``INT64_MIN`` (NumPy's NaT) when missing.

``feed`` builds these tensors from coerced rows. The outputs are ``prediction`` (``[N]``) and, for
classification, ``probabilities`` (``[N, k]`` doubles, in class order). ``prediction`` is a double for
regression; for classification it holds the class labels: ``tensor(string)`` for string classes,
``tensor(int64)`` for integers, ``tensor(bool)`` for booleans, ``tensor(double)`` for numbers with
fractions (or integers and floats mixed), and ``tensor(string)`` of ``str(label)`` for anything else.
The model's ``metadata_props`` name the task, the classes and each input's kind and encoding.

Everything is computed in double precision with standard operators (opset 21, ``ai.onnx.ml`` 5):
trees are one ``TreeEnsemble`` node, split rule ``x <= threshold``. Two documented differences:

- a category compared case-folded matches its levels with RE2's case-insensitive match (Unicode
  *simple* case folding) where lathe uses ``str.casefold`` (*full* case folding): the two differ
  only for characters whose full folding is several characters (ß, ẞ, ligatures such as ﬁ, İ,
  ŉ, ...); such a value counts as another level (``__other``) in ONNX.
- a text's length in characters has no standard operator (only onnxruntime's non-standard
  ``com.microsoft.Tokenizer`` can split a string into characters), so a model that uses it cannot
  be exported; its word count can (``StringSplit`` on each white-space character). StringSplit pads
  its output to the longest row, so its memory grows as rows times the most words in any row.
- a text vector (``TextVector``) cannot be exported either: its terms are the runs of ASCII letters
  and digits, and no standard operator splits a text at every other character (StringSplit splits
  at one given separator; RegexFullMatch tests a whole string). Its lower-casing could be done:
  ``StringNormalizer`` with the locale "C" lowers exactly A-Z (on Linux; "en_US" fails where no
  such locale is installed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from lathe.errors import ExportError
from lathe.export._pipeline import ZERO, Affine, Pipeline, Tree, Trees, waves
from lathe.features import DateParts, Encode, Impute, OneHot, TextStats, TextVector, Transform

OPSET = 21  # StringSplit and RegexFullMatch: 20
ML_OPSET = 5  # TreeEnsemble, double throughout
IR_VERSION = 10  # the IR of opset 21
OUTPUTS = ("prediction", "probabilities")
NAT = np.iinfo(np.int64).min  # a missing timestamp, as NumPy's NaT reads as int64
NANOS = {"day": 86_400_000_000_000, "hour": 3_600_000_000_000, "minute": 60_000_000_000}
# str.isspace(): the characters Python's ``\s`` matches, so the separators of TextStats' ``\S+`` words
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000 ")
)
LEQ = 0  # TreeEnsemble's BRANCH_LEQ
_TYPES = {"number": TensorProto.DOUBLE, "boolean": TensorProto.DOUBLE, "string": TensorProto.STRING,
          "datetime": TensorProto.INT64}  # fmt: skip
_MISSING = {"number": "NaN", "boolean": "NaN", "string": '""', "datetime": "INT64_MIN (NaT)"}
_ENCODING = {"number": "double", "boolean": "double, 1.0 true and 0.0 false", "string": "string",
             "datetime": "int64 nanoseconds since 1970-01-01 UTC"}  # fmt: skip


class _Graph:
    """The nodes and constants of a graph being built, with fresh names that avoid the inputs'."""

    def __init__(self, reserved: Iterable[str]) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []
        self._used = set(reserved)

    def name(self, hint: str) -> str:
        """A name no tensor has yet, built from ``hint``."""
        count = len(self._used)
        while f"{hint}_{count}" in self._used:
            count += 1
        self._used.add(f"{hint}_{count}")
        return f"{hint}_{count}"

    def const(self, value: Any, dtype: Any = np.float64) -> str:
        """A constant tensor holding ``value`` (a scalar or a sequence)."""
        array = np.asarray(value, dtype=dtype)
        name = self.name("const")
        self.constants.append(numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, *inputs: str, out: str | None = None, domain: str = "", **attributes: Any) -> str:
        """Add a node of one output (named ``out``, or a fresh name) and return that output."""
        return self.ops(kind, *inputs, outs=[out or self.name(kind.lower())], domain=domain, **attributes)[0]

    def ops(self, kind: str, *inputs: str, outs: list[str], domain: str = "", **attributes: Any) -> list[str]:
        """Add a node with outputs ``outs`` and return them."""
        self.nodes.append(helper.make_node(kind, list(inputs), outs, domain=domain, **attributes))
        return outs

    def int64(self, value: int) -> str:
        """An int64 scalar constant."""
        return self.const(value, np.int64)

    def double(self, tensor: str) -> str:
        """``tensor`` cast to double."""
        return self.op("Cast", tensor, to=TensorProto.DOUBLE)


def build(pipeline: Pipeline) -> bytes:
    """The serialized ONNX ``ModelProto`` of ``pipeline``, from its raw input columns to its
    ``prediction`` (and ``probabilities`` for classification); see the module's docstring.

    Raises ``ExportError`` for a step ONNX cannot express (a text's length in characters, a text
    vector) and for an input column named like an output.
    """
    clash = [c.name for c in pipeline.inputs if c.name in OUTPUTS]
    if clash:
        raise ExportError(
            f"the ONNX export names its outputs {' and '.join(OUTPUTS)}, and input column {clash[0]!r} has that name; "
            "rename the column before training to export this model to ONNX"
        )
    graph = _Graph(c.name for c in pipeline.inputs)
    kinds = {c.name: c.kind for c in pipeline.inputs}
    columns: dict[str, str] = {}
    for step in pipeline.steps:
        columns.update(_translate(graph, step, kinds[step.column], pipeline.features))
    features = graph.op("Concat", *(columns[f] for f in pipeline.features), axis=1)
    margins = _margins(graph, pipeline, features)
    outputs = _link(graph, pipeline, margins)
    serialized: bytes = _model(graph, pipeline, outputs).SerializeToString()
    return serialized


def feed(rows: pd.DataFrame, pipeline: Pipeline) -> dict[str, np.ndarray]:
    """The model's input tensors for coerced ``rows`` (as ``coerce_frame`` gives them), for
    ``InferenceSession.run``: one ``[N, 1]`` array per input column, named as the column."""
    return {c.name: _tensor(rows[c.name], c.kind).reshape(-1, 1) for c in pipeline.inputs}


def score(artifact: bytes, rows: pd.DataFrame, pipeline: Pipeline) -> pd.DataFrame:
    """Score coerced ``rows`` with the ONNX model ``artifact`` in onnxruntime (CPU): ``prediction``
    and, for classification, ``probability_<class>`` per class, row for row."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(artifact, options, providers=["CPUExecutionProvider"])
    wanted = list(OUTPUTS) if pipeline.classes else [OUTPUTS[0]]
    found = dict(zip(wanted, session.run(wanted, feed(rows, pipeline)), strict=True))
    if not pipeline.classes:
        return pd.DataFrame({"prediction": found["prediction"]})
    out = pd.DataFrame({"prediction": pd.Series(found["prediction"].tolist(), dtype=object)})
    for i, label in enumerate(pipeline.classes):
        out[f"probability_{label}"] = found["probabilities"][:, i]
    return out


def _tensor(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        return values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if kind == "string":
        return np.array([v if isinstance(v, str) else "" for v in values], dtype=object)
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _translate(graph: _Graph, step: Transform, kind: str, features: Sequence[str]) -> dict[str, str]:
    """The tensors (``[N, 1]`` doubles) of ``step``'s outputs, by output name."""
    x = step.column
    if isinstance(step, Impute):
        return _impute(graph, step, x)
    if isinstance(step, OneHot):
        return _one_hot(graph, step, x)
    if isinstance(step, Encode):
        return _encode(graph, step, x)
    if isinstance(step, DateParts):
        return _date_parts(graph, step, x)
    if isinstance(step, TextStats):
        return _text_stats(graph, step, x, features)
    if isinstance(step, TextVector):
        raise ExportError(
            f"the text_vector step of column {step.column!r} cannot be exported to ONNX: its terms are runs of ASCII "
            "letters and digits, and standard ONNX cannot split a text at every other character (StringSplit splits "
            "at one given separator, RegexFullMatch only tests a whole string; only onnxruntime's non-standard "
            "com.microsoft.Tokenizer extracts matches). Export to PMML or SQL, or retrain without that column "
            "(drop it from the table) to export to ONNX"
        )
    raise ExportError(f"a {step.kind} step (column {step.column!r}, {kind}) cannot be exported to ONNX yet")


def _impute(graph: _Graph, step: Impute, x: str) -> dict[str, str]:
    missing = graph.op("IsNaN", x)
    out = {step.column: graph.op("Where", missing, graph.const(step.fill), x)}
    if step.indicator:
        out[f"{step.column}__missing"] = graph.double(missing)
    return out


def _one_hot(graph: _Graph, step: OneHot, x: str) -> dict[str, str]:
    missing = graph.op("Equal", x, graph.const("", object))
    out = {f"{step.column}={level}": graph.double(_matches(graph, x, level, step.fold_case)) for level in step.levels}
    seen = graph.op("Sum", *out.values()) if out else graph.const(0.0)
    # case-folded levels are distinct under simple folding too, so at most one level matches
    out[f"{step.column}__other"] = graph.op("Sub", graph.double(graph.op("Not", missing)), seen)
    if step.indicator:
        out[f"{step.column}__missing"] = graph.double(missing)
    return out


def _encode(graph: _Graph, step: Encode, x: str) -> dict[str, str]:
    """One ai.onnx.ml LabelEncoder per output: level to number, the rare group's number by default."""
    if step.fold_case:
        raise ExportError(
            f"the encode transform of column {step.column!r} compares levels case-folded, which ONNX cannot do "
            "without a locale; export to PMML or SQL, or make the column's case consistent and retrain"
        )
    missing = graph.op("Equal", x, graph.const("", object))
    out = {}
    for name, values, rare, when_missing in zip(step.outputs, step.values, step.rare, step.missing, strict=True):
        encoded = graph.op(
            "LabelEncoder", x, domain="ai.onnx.ml", keys_strings=list(step.levels),
            values_tensor=numpy_helper.from_array(np.asarray(values, dtype=np.float64), "values"),
            default_tensor=numpy_helper.from_array(np.asarray([rare], dtype=np.float64), "default"),
        )  # fmt: skip
        out[name] = graph.op("Where", missing, graph.const(when_missing), encoded)
    return out


def _matches(graph: _Graph, x: str, level: str, fold_case: bool) -> str:
    """Where ``x`` is ``level``: exactly, or case-insensitively (levels are stored case-folded)."""
    if not fold_case:
        return graph.op("Equal", x, graph.const(level, object))
    literal = "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):X}}}" for c in level)
    return graph.op("RegexFullMatch", x, pattern=f"(?i){literal}")


def _date_parts(graph: _Graph, step: DateParts, x: str) -> dict[str, str]:
    missing = graph.op("Equal", x, graph.const(NAT, np.int64))
    ns = graph.op("Where", missing, graph.const(0, np.int64), x)
    parts = _calendar(graph, ns, step.parts)
    filled = {
        p: graph.op("Where", missing, graph.const(fill), graph.double(parts[p]))
        for p, fill in zip(step.parts, step.fills, strict=True)
    }
    out = {f"{step.column}__{p}": filled[p] for p in step.parts}
    for part in step.cyclic:
        out.update(_waves(graph, step, part, parts[part], missing))
    if step.reference is not None:  # as NumPy: int64 to float64, then divide
        days = graph.op("Div", graph.double(x), graph.const(float(NANOS["day"])))
        elapsed = graph.op("Sub", days, graph.const(step.reference))
        out[f"{step.column}__days"] = graph.op("Where", missing, graph.const(step.elapsed_fill), elapsed)
    if step.indicator:
        out[f"{step.column}__missing"] = graph.double(missing)
    return out


def _waves(graph: _Graph, step: DateParts, part: str, value: str, missing: str) -> dict[str, str]:
    """Sine and cosine of a cyclic part, looked up in lathe's own tables (see ``Waves``)."""
    table = waves(step, part)
    index = graph.op("Sub", value, graph.int64(table.lowest))
    return {
        f"{step.column}__{part}_{name}": graph.op(
            "Where", missing, graph.const(fill), graph.op("Gather", graph.const(np.array(wave)), index, axis=0)
        )
        for name, wave, fill in (("sin", table.sin, table.fill_sin), ("cos", table.cos, table.fill_cos))
    }


def _calendar(graph: _Graph, ns: str, parts: Sequence[str]) -> dict[str, str]:
    """The calendar ``parts`` (int64) of nanoseconds since 1970-01-01, by integer arithmetic that
    floors (right before 1970 too); the date by Howard Hinnant's ``civil_from_days``."""
    i64 = graph.int64
    days, time = _floor_divide(graph, ns, NANOS["day"])
    hour = graph.op("Div", time, i64(NANOS["hour"]))
    minute = graph.op("Div", graph.op("Mod", time, i64(NANOS["hour"])), i64(NANOS["minute"]))
    weekday = graph.op("Mod", graph.op("Add", days, i64(3)), i64(7))  # 1970-01-01 was a Thursday
    found = {"hour": hour, "minute": minute, "weekday": weekday}
    if {"year", "month", "day"} & set(parts):
        found.update(_civil(graph, days))
    return {p: found[p] for p in parts}


def _civil(graph: _Graph, days: str) -> dict[str, str]:
    """Year, month and day of ``days`` since 1970-01-01 (Hinnant's ``civil_from_days``)."""
    op, i64 = graph.op, graph.int64
    era, doe = _floor_divide(graph, op("Add", days, i64(719_468)), 146_097)
    a, b, c = (op("Div", doe, i64(d)) for d in (1460, 36_524, 146_096))
    yoe = op("Div", op("Sub", op("Add", op("Sub", doe, a), b), c), i64(365))
    leap = op("Sub", op("Add", op("Mul", yoe, i64(365)), op("Div", yoe, i64(4))), op("Div", yoe, i64(100)))
    doy = op("Sub", doe, leap)
    mp = op("Div", op("Add", op("Mul", doy, i64(5)), i64(2)), i64(153))
    day = op("Add", op("Sub", doy, op("Div", op("Add", op("Mul", mp, i64(153)), i64(2)), i64(5))), i64(1))
    month = op("Add", mp, op("Where", op("Less", mp, i64(10)), i64(3), i64(-9)))
    year = op(
        "Add",
        op("Add", yoe, op("Mul", era, i64(400))),
        op("Cast", op("LessOrEqual", month, i64(2)), to=TensorProto.INT64),
    )
    return {"year": year, "month": month, "day": day}


def _floor_divide(graph: _Graph, x: str, divisor: int) -> tuple[str, str]:
    """Quotient rounded down and remainder in ``[0, divisor)``, as Python's ``divmod``."""
    remainder = graph.op("Mod", x, graph.const(divisor, np.int64))  # fmod=0: the divisor's sign
    quotient = graph.op("Div", graph.op("Sub", x, remainder), graph.const(divisor, np.int64))
    return quotient, remainder


def _text_stats(graph: _Graph, step: TextStats, x: str, features: Sequence[str]) -> dict[str, str]:
    length, words = step.outputs
    if length in features:
        raise ExportError(
            f"the text_stats step of column {step.column!r} cannot be exported to ONNX: its length in characters "
            f"({length}) needs a string-length operator, which standard ONNX lacks. Export to another format, or "
            "retrain without that column (drop it from the table) to export to ONNX"
        )
    return {words: _word_count(graph, x)}


def _word_count(graph: _Graph, x: str) -> str:
    """The number of ``\\S+`` runs in each string of ``x`` (``[N, 1]``), as doubles: split on each
    white-space character in turn, keeping the non-empty pieces and the row each came from."""
    op = graph.op
    pieces = op("Reshape", x, graph.const([-1], np.int64))
    count = op("Shape", pieces)
    rows = op("Range", graph.const(0, np.int64), op("Squeeze", count), graph.const(1, np.int64))
    flat, column, empty = graph.const([-1], np.int64), graph.const([1], np.int64), graph.const("", object)
    for separator in WHITESPACE:
        split = graph.ops("StringSplit", pieces, outs=[graph.name("split"), graph.name("splits")], delimiter=separator)
        spread = op("Expand", op("Unsqueeze", rows, column), op("Shape", split[0]))
        parts = op("Reshape", split[0], flat)
        kept = op("Not", op("Equal", parts, empty))
        pieces, rows = op("Compress", parts, kept, axis=0), op("Compress", op("Reshape", spread, flat), kept, axis=0)
    ones = op("ConstantOfShape", op("Shape", rows), value=numpy_helper.from_array(np.ones(1)))
    zeros = op("ConstantOfShape", count, value=numpy_helper.from_array(np.zeros(1)))
    words = op("ScatterElements", zeros, rows, ones, axis=0, reduction="add")
    return op("Unsqueeze", words, column)


def _margins(graph: _Graph, pipeline: Pipeline, features: str) -> str:
    """The model's margins, ``[N, margins]`` doubles."""
    model = pipeline.model
    if isinstance(model, Affine):
        return _affine(graph, model, features)
    trees = _trees(graph, pipeline, model, features)
    return trees if model.linear is None else graph.op("Add", trees, _affine(graph, model.linear, features))


def _affine(graph: _Graph, model: Affine, features: str) -> str:
    product = graph.op("Add", graph.op("MatMul", features, graph.const(model.weights.T)), graph.const(model.bias))
    if model.logged is None:
        return product
    lengths = graph.op("Log", graph.op("Add", graph.op("Abs", features), graph.const(1.0)))
    logs = graph.op("Mul", graph.op("Sign", features), lengths)  # sign(x) ln(1 + |x|)
    return graph.op("Add", product, graph.op("MatMul", logs, graph.const(model.logged.T)))


def _trees(graph: _Graph, pipeline: Pipeline, model: Trees, features: str) -> str:
    zeroed = sorted({t.feature[n] for t in model.trees for n in range(len(t.feature)) if t.zero_is_missing[n]})
    if zeroed:  # a copy of each such feature with NaN for |x| <= ZERO, and NaN goes the default way
        copies = graph.op("Gather", features, graph.const(zeroed, np.int64), axis=1)
        near = graph.op("LessOrEqual", graph.op("Abs", copies), graph.const(ZERO))
        features = graph.op("Concat", features, graph.op("Where", near, graph.const(np.nan), copies), axis=1)
    ensemble = _Ensemble({f: len(pipeline.features) + i for i, f in enumerate(zeroed)})
    for tree in model.trees:
        ensemble.add(tree)
    return graph.op("TreeEnsemble", features, domain="ai.onnx.ml", **ensemble.attributes(pipeline.margins))


@dataclass
class _Ensemble:
    """The flat arrays of one ``TreeEnsemble`` node: splits (``x <= threshold`` goes to the true
    branch) and leaves, each tree's splits reading the zero-as-NaN copy of a feature (``copy_of``,
    feature to column) where ``zero_is_missing``."""

    copy_of: dict[int, int]
    roots: list[int] = field(default_factory=list)
    features: list[int] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    missing_left: list[int] = field(default_factory=list)
    branches: dict[bool, list[tuple[int, bool]]] = field(default_factory=lambda: {True: [], False: []})
    leaf_margins: list[int] = field(default_factory=list)
    leaf_values: list[float] = field(default_factory=list)

    def add(self, tree: Tree) -> None:
        """Append ``tree``; a lone leaf gets a split whose two branches both lead to it."""
        splits = [n for n, f in enumerate(tree.feature) if f >= 0]
        leaves = [n for n, f in enumerate(tree.feature) if f < 0]
        split_id = {n: len(self.features) + i for i, n in enumerate(splits)}
        leaf_id = {n: len(self.leaf_values) + i for i, n in enumerate(leaves)}
        self.roots.append(len(self.features))
        if not splits:
            self._split(0, 0.0, False, (leaf_id[0], True), (leaf_id[0], True))
        for n in splits:
            zeroed = tree.zero_is_missing[n]
            left, right = (
                (leaf_id[c], True) if c in leaf_id else (split_id[c], False) for c in (tree.left[n], tree.right[n])
            )
            feature = self.copy_of[tree.feature[n]] if zeroed else tree.feature[n]
            self._split(feature, tree.threshold[n], zeroed and tree.default_left[n], left, right)
        self.leaf_margins += [tree.margin] * len(leaves)
        self.leaf_values += [tree.value[n] for n in leaves]

    def _split(self, feature: int, threshold: float, missing_left: bool, *branches: tuple[int, bool]) -> None:
        self.features.append(feature)
        self.thresholds.append(threshold)
        self.missing_left.append(int(missing_left))
        for side, branch in zip((True, False), branches, strict=True):
            self.branches[side].append(branch)

    def attributes(self, margins: int) -> dict[str, Any]:
        """The node's attributes, summing the trees into ``margins`` double outputs."""
        ids = {side: [i for i, _ in b] for side, b in self.branches.items()}
        leafs = {side: [int(leaf) for _, leaf in b] for side, b in self.branches.items()}
        return {
            "tree_roots": self.roots, "nodes_featureids": self.features,
            "nodes_splits": numpy_helper.from_array(np.array(self.thresholds, dtype=np.float64)),
            "nodes_modes": numpy_helper.from_array(np.full(len(self.features), LEQ, dtype=np.uint8)),
            "nodes_truenodeids": ids[True], "nodes_trueleafs": leafs[True],
            "nodes_falsenodeids": ids[False], "nodes_falseleafs": leafs[False],
            "nodes_missing_value_tracks_true": self.missing_left, "leaf_targetids": self.leaf_margins,
            "leaf_weights": numpy_helper.from_array(np.array(self.leaf_values, dtype=np.float64)),
            "n_targets": margins, "aggregate_function": 1, "post_transform": 0,
        }  # fmt: skip


def _link(graph: _Graph, pipeline: Pipeline, margins: str) -> dict[str, str]:
    """The graph's outputs from the margins: the prediction, and the probabilities when classifying."""
    op, one = graph.op, graph.const(1.0)
    if pipeline.link == "identity":
        return {"prediction": op("Reshape", margins, graph.const([-1], np.int64), out="prediction")}
    if pipeline.link == "sigmoid":  # as lathe: 1 / (1 + exp(-margin))
        p = op("Div", one, op("Add", one, op("Exp", op("Neg", margins))))
        probabilities = op("Concat", op("Sub", one, p), p, axis=1, out="probabilities")
    else:
        axis = graph.const([1], np.int64)
        e = op("Exp", op("Sub", margins, op("ReduceMax", margins, axis, keepdims=1)))
        probabilities = op("Div", e, op("ReduceSum", e, axis, keepdims=1), out="probabilities")
    if pipeline.threshold is None:
        best = op("ArgMax", probabilities, axis=1, keepdims=0, select_last_index=0)
    else:  # binary: the second class where its probability reaches the threshold
        second = op("Gather", probabilities, graph.const(1, np.int64), axis=1)
        reaches = op("GreaterOrEqual", second, graph.const(pipeline.threshold))
        best = op("Cast", reaches, to=TensorProto.INT64)
    labels = graph.const(_labels(pipeline.classes), None)
    return {"prediction": op("Gather", labels, best, axis=0, out="prediction"), "probabilities": probabilities}


def _labels(classes: Sequence[Any]) -> np.ndarray:
    """The class labels as the tensor the prediction gathers from (see the module's docstring)."""
    if all(isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=bool)
    if all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.int64)
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in classes):
        return np.array(classes, dtype=np.float64)
    return np.array([c if isinstance(c, str) else str(c) for c in classes], dtype=object)


def _model(graph: _Graph, pipeline: Pipeline, outputs: dict[str, str]) -> onnx.ModelProto:
    """The model: the graph's inputs and outputs, its nodes less those no output needs, metadata."""
    inputs = [
        helper.make_tensor_value_info(c.name, _TYPES[c.kind], [None, 1], doc_string=_described(c.kind))
        for c in pipeline.inputs
    ]
    labels = helper.np_dtype_to_tensor_dtype(_labels(pipeline.classes).dtype) if pipeline.classes else None
    declared = [helper.make_tensor_value_info("prediction", labels or TensorProto.DOUBLE, [None])]
    if "probabilities" in outputs:
        declared.append(
            helper.make_tensor_value_info("probabilities", TensorProto.DOUBLE, [None, len(pipeline.classes)])
        )
    nodes, constants = _needed(graph, outputs.values())
    body = helper.make_graph(nodes, "lathe", inputs, declared, initializer=constants)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
    model = helper.make_model(body, opset_imports=opsets, ir_version=IR_VERSION, producer_name="lathe")
    model.doc_string = f"lathe {pipeline.task.value} model: raw input columns to prediction"
    helper.set_model_props(model, _metadata(pipeline))
    return model


def _described(kind: str) -> str:
    return f"lathe {kind} input: {_ENCODING[kind]}; {_MISSING[kind]} when missing"


def _metadata(pipeline: Pipeline) -> dict[str, str]:
    inputs = [{"name": c.name, "kind": c.kind, "encoding": _ENCODING[c.kind], "missing": _MISSING[c.kind]}
              for c in pipeline.inputs]  # fmt: skip
    classes = [c if isinstance(c, bool | int | float | str) else str(c) for c in pipeline.classes]
    return {"lathe.task": pipeline.task.value, "lathe.classes": json.dumps(classes), "lathe.inputs": json.dumps(inputs)}


def _needed(graph: _Graph, outputs: Iterable[str]) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """The nodes and constants that ``outputs`` depend on, in order."""
    wanted, kept = set(outputs), []
    for node in reversed(graph.nodes):
        if wanted.intersection(node.output):
            kept.append(node)
            wanted.update(node.input)
    return kept[::-1], [c for c in graph.constants if c.name in wanted]
