"""Personal data planted as text and as numbers (int64, float64, decimal) in CSV, Parquet,
PostgreSQL and SQLite sources: after training, every export and one served request, no file the
run wrote holds a planted value in any representation, read by decoding each format (Parquet,
JSON, ONNX, PMML, SQL and the rest as text) rather than by grepping bytes."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import ibis
import numpy as np
import onnx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from onnx import numpy_helper

from lathe.cli import main
from lathe.testing import PERSONAL_VALUES, mixed_table
from tests.serve.conftest import running

ROWS = 300


def _luhn_valid(rng: np.random.Generator, prefix: str) -> int:
    digits = [int(d) for d in prefix] + [int(d) for d in rng.integers(0, 10, 15 - len(prefix))]
    checksum = sum(digits[-2::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-1::-2])
    return int("".join(map(str, digits)) + str(-checksum % 10))


def _planted_numbers(seed: int) -> dict[str, list[int]]:
    """Card numbers (Luhn-valid, 16 digits), US SSNs (9 digits) and phone numbers (11 digits)."""
    rng = np.random.default_rng(seed)
    return {
        "card": [_luhn_valid(rng, prefix) for prefix in ("4", "51", "37", "6011") * 10],
        "ssn": [int(f"{a:03d}{g:02d}{s:04d}") for a, g, s in zip(rng.integers(100, 600, 40), rng.integers(10, 99, 40),
                                                                      rng.integers(1000, 9999, 40), strict=True)],
        "phone": [int(f"316{n:08d}") for n in rng.integers(10_000_000, 99_999_999, 40)],
    }  # fmt: skip


PLANTED_TEXT = PERSONAL_VALUES
# Each number kind in a column of each type, named as a person would name it.
NUMBER_COLUMNS = {
    "card_int": ("card", "int"), "card_float": ("card", "float"), "card_decimal": ("card", "decimal"),
    "card_digits": ("card", "text"),
    "holder_ssn": ("ssn", "int"), "spouse_ssn": ("ssn", "float"), "tax_id": ("ssn", "decimal"),
    "partner_ssn": ("ssn", "text"),
    "home_phone": ("phone", "int"), "work_phone": ("phone", "float"), "mobile": ("phone", "decimal"),
    "fax": ("phone", "text"),
}  # fmt: skip
KINDS = {"card": "card number", "ssn": "national id", "phone": "phone"}


def _planted_table() -> tuple[pd.DataFrame, dict[str, Any]]:
    """``mixed_table`` with personal data planted as text and as numbers; and the planted values."""
    table = mixed_table(ROWS).drop(columns="note")  # free text cannot go to ONNX
    rng = np.random.default_rng(5)
    numbers = _planted_numbers(11)
    for column, values in PLANTED_TEXT.items():
        table[column] = rng.choice(values, ROWS)
    for column, (kind, written) in NUMBER_COLUMNS.items():
        picked = [numbers[kind][i] for i in rng.integers(0, len(numbers[kind]), ROWS)]
        table[column] = {
            "int": lambda v: pd.Series(v, dtype="int64"),
            "float": lambda v: pd.Series(v, dtype="float64"),
            "decimal": lambda v: pd.Series([Decimal(x) for x in v], dtype=object),
            "text": lambda v: pd.Series([str(x) for x in v], dtype=object),
        }[written](picked)
    planted = {value for values in PLANTED_TEXT.values() for value in values}
    planted |= {value for values in numbers.values() for value in values}
    return table, planted


DECIMAL = pa.decimal128(20, 0)


def _arrow(table: pd.DataFrame, decimal: pa.DataType = DECIMAL) -> pa.Table:
    """``table`` with its decimal columns as ``decimal`` (SQLite has no decimal type: int64 there)."""
    decimals = {name for name, (_, written) in NUMBER_COLUMNS.items() if written == "decimal"}
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    return arrow.cast(pa.schema([pa.field(f.name, decimal if f.name in decimals else f.type) for f in arrow.schema]))


@pytest.fixture(params=["csv", "parquet", "postgres", "sqlite"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """The planted table in one kind of source, as the arguments that name it; and the planted values."""
    table, planted = _planted_table()
    data = tmp_path / "data"
    data.mkdir()
    if request.param == "csv":
        table.to_csv(data / "people.csv", index=False)
        yield [str(data / "people.csv")], planted
    elif request.param == "parquet":
        pq.write_table(_arrow(table), data / "people.parquet")
        yield [str(data / "people.parquet")], planted
    elif request.param == "sqlite":
        connection = ibis.sqlite.connect(str(data / "people.sqlite"))
        connection.create_table("people", _arrow(table, pa.int64()).drop(["unused"]))
        connection.disconnect()
        yield [f"sqlite:///{data / 'people.sqlite'}", "--table", "people"], planted
    else:
        uri = request.getfixturevalue("postgres_uri")
        connection = ibis.connect(uri)
        connection.create_table("lathe_people", _arrow(table), overwrite=True)
        yield [uri, "--table", "lathe_people"], planted
        connection.drop_table("lathe_people", force=True)
        connection.disconnect()


def test_no_planted_value_is_in_any_file_a_run_writes(
    source: tuple[list[str], dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments, planted = source
    out = tmp_path / "run"
    model = out / "model"
    assert main(["train", *arguments, "--target", "target", "--trials", "2", "--out", str(model)]) == 0
    assert main(["profile", *arguments, "--out", str(out / "profile.html")]) == 0
    for export in (["onnx"], ["pmml"], *(["sql", "--dialect", d] for d in ("duckdb", "sqlite"))):
        assert main(["export", str(model), "--format", *export]) == 0
    manifest = json.loads((model / "manifest.json").read_text())
    flagged = {c["name"]: c["personal"]["kind"] for c in manifest["profile"]["columns"] if c["personal"]}
    assert set(PLANTED_TEXT) | set(NUMBER_COLUMNS) <= set(flagged)
    for column, (kind, _) in NUMBER_COLUMNS.items():
        assert flagged[column] == KINDS[kind], column
    inputs = {c["name"] for c in manifest["inputs"]}
    assert not inputs & (set(PLANTED_TEXT) | set(NUMBER_COLUMNS))

    first = _planted_table()[0].iloc[0]
    kinds = {c["name"]: c["kind"] for c in manifest["inputs"]}
    row = {name: _json_ready(value, kinds.get(name)) for name, value in first.items() if name != "target"}
    with running(str(model)) as url:
        answer = httpx.post(f"{url}/predict", json={"rows": [row]}, timeout=30)
    assert answer.status_code == 200, answer.text
    captured = capsys.readouterr()
    assert "personal data" in captured.err

    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".parquet", ".json", ".onnx", ".pmml", ".sql", ".html"}
    found = [(str(p.relative_to(out)), value) for p in files for value in _leaked(_contents(p), planted)] + [
        ("output", value) for value in _leaked(_from_text(captured.out + captured.err + answer.text), planted)
    ]
    assert found == []


def _json_ready(value: Any, kind: str | None) -> Any:
    """``value`` as JSON of the input's ``kind``: the planted columns, not inputs, as they are."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind == "string":
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value)
    return value.item() if isinstance(value, np.generic) else value


def _leaked(contents: tuple[set[str], list[float]], planted: set[Any]) -> list[Any]:
    """The planted values found in a file's texts (as written, as an integer's digits, as a
    float's shortest or longest form) or numbers (equal, to a float32's precision or 1e-12)."""
    texts, numbers = contents
    text = "\n".join(texts)
    found = []
    for value in planted:
        if isinstance(value, str):
            if value in text:
                found.append(value)
            continue
        forms = (str(value), repr(float(value)), f"{float(value):e}", f"{float(value):.15e}", f"{float(value):.17g}")
        if any(form in text for form in forms) or _near(value, numbers):
            found.append(value)
    return found


def _near(value: int, numbers: list[float]) -> bool:
    if not numbers:
        return False
    values = np.asarray(numbers, dtype=np.float64)
    target = float(value)
    return bool(np.any(np.abs(values - target) <= 1e-12 * target) or np.any(values == np.float32(target)))


def _contents(path: Path) -> tuple[set[str], list[float]]:
    """Every text and number in the file at ``path``, decoded by its format."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _from_values(pq.read_table(path).to_pylist())
    if suffix == ".json":
        return _from_values(json.loads(path.read_text()))
    if suffix == ".onnx":
        return _from_onnx(onnx.load(str(path)))
    if suffix in (".pmml", ".xml"):
        root = ET.parse(path).getroot()
        return _from_text("\n".join([*(" ".join(e.attrib.values()) for e in root.iter()), *root.itertext()]))
    return _from_text(path.read_text(errors="replace"))


def _from_values(data: Any) -> tuple[set[str], list[float]]:
    texts: set[str] = set()
    numbers: list[float] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            texts.add(value)
            numbers.extend(_numbers_in(value))
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float | Decimal):
            numbers.append(float(value))
        else:
            texts.add(str(value))

    walk(data)
    return texts, numbers


def _from_onnx(model: onnx.ModelProto) -> tuple[set[str], list[float]]:
    texts, numbers = {model.graph.name}, []
    for tensor in model.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype.kind in "OUS":
            texts.update(map(str, array.ravel().tolist()))
        else:
            numbers.extend(array.astype(np.float64).ravel().tolist())
    for node in model.graph.node:
        for attribute in node.attribute:
            numbers.extend([attribute.f, *attribute.floats, attribute.i, *attribute.ints])
            strings = [attribute.s, *attribute.strings]
            texts.update(s.decode(errors="replace") for s in strings)
            if attribute.HasField("t"):
                array = numpy_helper.to_array(attribute.t)
                if array.dtype.kind in "OUS":
                    texts.update(map(str, array.ravel().tolist()))
                else:
                    numbers.extend(array.astype(np.float64).ravel().tolist())
    texts.update(i.name for i in model.graph.input)
    return texts, numbers


def _from_text(text: str) -> tuple[set[str], list[float]]:
    return {text}, list(_numbers_in(text))


def _numbers_in(text: str) -> Iterator[float]:
    for token in re.findall(r"[-+]?\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?", text):
        try:
            yield float(token.replace("_", ""))
        except ValueError:
            continue
