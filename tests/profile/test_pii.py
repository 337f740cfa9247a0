"""Personal data: flagged with a kind, a confidence and a count; kept out of features and artifacts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lathe
from lathe.backends import read_frame
from lathe.cli import main
from lathe.profile import profile_in_detail, profile_table
from lathe.profile._pii import detect_personal_data
from lathe.testing import PERSONAL_VALUES, mixed_table

PLANTED = PERSONAL_VALUES
KINDS = {
    "email": "email", "phone": "phone", "card": "card number", "iban": "IBAN", "ssn": "national id",
    "ip": "IP address", "full_name": "person", "street": "address",
}  # fmt: skip


@pytest.mark.parametrize("column", sorted(PLANTED))
def test_each_kind_is_detected(column: str) -> None:
    found = detect_personal_data(column, PLANTED[column])
    assert found is not None
    assert found.kind == KINDS[column]
    assert found.count == len(PLANTED[column])
    assert found.confidence >= 0.9


@pytest.mark.parametrize(
    "values",
    [["New York", "Los Angeles"], ["12345678", "23456789"], ["2024-01-02", "2024-03-04"], ["basic", "pro"]],
)
def test_ordinary_values_are_not_flagged(values: list[str]) -> None:
    assert detect_personal_data("city", values) is None


def test_a_card_number_must_pass_luhn() -> None:
    assert detect_personal_data("card", ["4111 1111 1111 1112"] * 4) is None


def _with_personal_data(rows: int = 400) -> pd.DataFrame:
    table = mixed_table(rows)
    rng = np.random.default_rng(3)
    for column, values in PLANTED.items():
        table[column] = rng.choice(values, rows)
    return table


def test_flagged_columns_are_left_out_and_say_why() -> None:
    table = _with_personal_data()
    profile = profile_table(read_frame(table))
    assert {c.name: c.personal.kind for c in profile.columns if c.personal} == KINDS
    bundle = lathe.train(table, target="target", trials=1, budget=None, verbose=False)
    reasons = {d["column"]: d["reason"] for d in bundle.manifest["left_out"]}
    assert all(reasons[name].startswith("personal data") for name in PLANTED)
    assert not {c["name"] for c in bundle.manifest["inputs"]} & set(PLANTED)


def test_opting_in_uses_them() -> None:
    bundle = lathe.train(_with_personal_data(), target="target", trials=1, budget=None, verbose=False, keep_pii=True)
    assert "email" in {c["name"] for c in bundle.manifest["inputs"]}


def test_no_planted_value_reaches_any_artifact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.parquet"
    _with_personal_data().to_parquet(data)
    assert main(["train", str(data), "--target", "target", "--trials", "2", "--out", str(tmp_path / "m")]) == 0
    assert main(["profile", str(data), "--out", str(tmp_path / "profile.html")]) == 0
    assert profile_in_detail(read_frame(pd.read_parquet(data))).column("email").top == ()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != data]
    captured = capsys.readouterr()
    texts = {p.name: p.read_text(errors="replace") for p in written} | {"output": captured.out + captured.err}
    assert "personal data" in captured.err
    for values in PLANTED.values():
        for value in set(values):
            leaks = [name for name, text in texts.items() if value in text]
            assert leaks == [], f"{value!r} found in {leaks}"


def _luhn_digits(body: str) -> str:
    digits = [int(d) for d in body]
    checksum = sum(digits[-2::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-1::-2])
    return body + str(-checksum % 10)


CARDS = [int(_luhn_digits(f"4{n:014d}")) for n in range(10**13, 10**13 + 40 * 7919, 7919)]
SSNS = [int(f"{a}{g:02d}{s:04d}") for a, g, s in zip(range(101, 141), range(10, 50), range(1000, 1040), strict=True)]
PHONES = [31612345600 + i for i in range(40)]


@pytest.mark.parametrize("written", ["int64", "float64", "decimal", "text"])
@pytest.mark.parametrize(
    ("name", "values", "kind"),
    [("card_no", CARDS, "card number"), ("holder_ssn", SSNS, "national id"), ("home_phone", PHONES, "phone")],
)
def test_numbers_are_judged_by_their_digits_whatever_the_type(
    written: str, name: str, values: list[int], kind: str
) -> None:
    column = {
        "int64": pd.Series(values, dtype="int64"),
        "float64": pd.Series(values, dtype="float64"),
        "decimal": pd.Series([Decimal(v) for v in values], dtype=object),
        "text": pd.Series([str(v) for v in values], dtype=object),
    }[written]
    table = pd.DataFrame({name: column, "y": range(len(values))})
    profile = profile_in_detail(read_frame(table))
    found = profile.column(name)
    assert found.personal is not None
    assert found.personal.kind == kind
    # Nothing that is, or is near, one of its values is kept: no range, mean, quantiles or bins.
    assert (found.minimum, found.maximum, found.mean, found.std) == (None, None, None, None)
    assert found.quantiles == ()
    assert found.histogram == ()


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("price", [1_000_000 + 12_345 * i for i in range(40)]),  # large numbers, not ids
        ("account", [4_000_000_000_000_000 + 7919 * i for i in range(40)]),  # 16 digits failing Luhn
        ("amount", SSNS),  # nine digits, but not named as an SSN
        ("count", PHONES),  # eleven digits, but not named as a phone
        ("ratio", [float(v) + 0.5 for v in CARDS]),  # a fraction: not written as a card number
    ],
)
def test_ordinary_numbers_are_not_flagged(name: str, values: list[float]) -> None:
    profile = profile_table(read_frame(pd.DataFrame({name: values, "y": range(len(values))})))
    assert profile.column(name).personal is None
    assert profile.column(name).maximum is not None
