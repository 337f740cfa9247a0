"""`lathe serve` as a client meets it: a real server process on loopback, answering over HTTP."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import lathe
from lathe.testing import mixed_table
from tests.serve.conftest import LATHE, running

KEY = "s3cret-key"


@pytest.fixture(scope="module")
def server(bundle_folder: Path) -> Iterator[httpx.Client]:
    """A client of a server with an API key and at most 50 rows per request."""
    with (
        running(str(bundle_folder), "--api-key", KEY, "--max-rows", "50") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client,
    ):
        yield client


def _rows(count: int) -> list[dict[str, Any]]:
    table = mixed_table(count, seed=7).drop(columns="target")
    table["signup"] = table["signup"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in table.to_dict("records")]  # fmt: skip


def test_one_row_and_many_are_predicted_as_the_bundle_predicts(server: httpx.Client, bundle_folder: Path) -> None:
    rows = _rows(40)
    expected = lathe.load(bundle_folder).predict(pd.DataFrame(rows))

    one = server.post("/predict", json={"rows": rows[:1]})
    many = server.post("/predict", json={"rows": rows})

    assert one.status_code == many.status_code == 200
    assert one.json()["model"] == {"name": str(bundle_folder), "version": None}
    answered = pd.DataFrame(many.json()["predictions"])
    pd.testing.assert_frame_equal(answered, expected, check_dtype=False, rtol=1e-12)
    assert one.json()["predictions"][0] == many.json()["predictions"][0]


def test_explanations_add_up_to_the_prediction(server: httpx.Client) -> None:
    answer = server.post("/explain", params={"top": 2}, json={"rows": _rows(3)})

    assert answer.status_code == 200
    for row in answer.json()["explanations"]:
        assert row["explained"] == "yes"
        total = row["base_value"] + sum(row["contributions"].values())
        assert total == pytest.approx(row["probability_yes"], abs=1e-6)
        assert row["reasons"].count(";") == 1
        assert set(row["contributions"]) == {"amount", "plan", "active", "signup", "note"}


def _problem(answer: httpx.Response) -> Any:
    return answer.json()["detail"]


def test_a_missing_or_mistyped_field_is_a_422_naming_it(server: httpx.Client) -> None:
    absent, mistyped, infinite = _rows(1)[0], _rows(1)[0], _rows(1)[0]
    del absent["plan"]
    mistyped["amount"] = "a lot"

    answers = [server.post("/predict", json={"rows": [row]}) for row in (absent, mistyped)]
    not_finite = server.post(
        "/predict", content=json.dumps({"rows": [infinite]}).replace('"amount": ', '"amount": NaN, "x": ')
    )

    assert [a.status_code for a in answers] == [422, 422]
    assert _problem(answers[0])[0]["loc"] == ["body", "rows", 0, "plan"]
    assert _problem(answers[0])[0]["msg"] == "Field required"
    assert _problem(answers[1])[0]["loc"] == ["body", "rows", 0, "amount"]
    assert not_finite.status_code == 422
    assert _problem(not_finite)[0]["msg"] == "Input should be a finite number"


def test_bad_bodies_are_refused_with_a_4xx_never_a_500(server: httpx.Client) -> None:
    row = _rows(1)[0]
    cases = {
        "not json": (server.post("/predict", content=b'{"rows": [}'), 422, "JSON decode error"),
        "no rows": (server.post("/predict", json={"rows": []}), 422, "at least 1 item"),
        "too many rows": (server.post("/predict", json={"rows": [row] * 51}), 422, "at most 50 items"),
        "a list": (server.post("/predict", json=[row]), 422, "valid dictionary"),
        "an unknown key": (server.post("/predict", json={"row": row}), 422, "Field required"),
        "not json typed": (server.post("/predict", content=b"rows", headers={"Content-Type": "text/plain"}), 415,
                           "must be JSON"),
        "too large": (server.post("/predict", content=b" " * (8 * 2**20 + 1)), 413, "at most 8,388,608"),
        "too large, chunked": (server.post("/predict", content=iter([b" " * 2**20] * 9)), 413, "at most"),
        "a bad top": (server.post("/explain", params={"top": 0}, json={"rows": [row]}), 422, "greater than"),
    }  # fmt: skip
    for name, (answer, status, words) in cases.items():
        assert answer.status_code == status, name
        assert words in json.dumps(answer.json()), name


def test_curl_d_without_a_content_type_is_read_as_json(server: httpx.Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = server.post("/predict", content=json.dumps({"rows": _rows(1)}), headers=form)
    assert answer.status_code == 200


def test_the_api_key_is_needed_but_for_probes(server: httpx.Client) -> None:
    url = str(server.base_url)
    body = {"rows": _rows(1)}

    assert httpx.post(f"{url}/predict", json=body).status_code == 401
    assert httpx.post(f"{url}/predict", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    assert httpx.post(f"{url}/predict", json=body, headers={"X-API-Key": KEY}).status_code == 200
    assert httpx.get(f"{url}/metrics").status_code == 401
    assert httpx.get(f"{url}/health").json() == {"status": "alive"}
    assert httpx.get(f"{url}/ready").status_code == 200


def test_metrics_count_requests_errors_latency_and_the_model_version(server: httpx.Client) -> None:
    server.post("/predict", json={"rows": _rows(2)})
    server.post("/predict", json={"rows": []})

    text = server.get("/metrics").text

    assert 'lathe_requests_total{route="/predict",status="200"}' in text
    assert 'lathe_request_errors_total{route="/predict"}' in text
    assert 'lathe_request_seconds_bucket{le="0.01",route="/predict"}' in text
    assert "lathe_rows_scored_total" in text
    assert "lathe_model_version 0.0" in text


def test_the_model_route_summarises_the_manifest(server: httpx.Client, bundle_folder: Path) -> None:
    summary = server.get("/model").json()
    manifest = json.loads((bundle_folder / "manifest.json").read_text())

    assert summary["task"] == "binary"
    assert summary["inputs"] == manifest["inputs"]
    assert summary["metrics"] == manifest["metrics"]
    assert summary["follows"] is None


def test_the_openapi_schema_is_made_from_the_inputs(server: httpx.Client) -> None:
    schema = server.get("/openapi.json").json()
    row = schema["components"]["schemas"]["Row"]

    assert set(row["required"]) == {"amount", "plan", "active", "signup", "note"}
    assert row["properties"]["amount"]["anyOf"][0]["type"] == "number"
    assert row["properties"]["signup"]["anyOf"][0]["format"] == "date-time"
    assert "customer_id" in row["properties"]  # an id column: optional, copied into the answer


def test_a_bundle_whose_checksums_do_not_match_is_refused(bundle_folder: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    for path in (p for p in bundle_folder.iterdir() if p.is_file()):  # not the compiled scorer's cache
        (changed / path.name).write_bytes(path.read_bytes())
    plan = changed / "plan.json"
    plan.write_text(plan.read_text().replace('"fill": ', '"fill": 1'))

    done = subprocess.run([LATHE, "serve", str(changed), "--port", "1"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert "plan.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_serving_loads_no_pickle(bundle_folder: Path) -> None:
    # Python's audit hook sees every global an unpickler looks up: none may be, but those of numba's
    # own cache (of lathe's compiled loops, in lathe's __pycache__, never in the bundle).
    script = f"""
import sys
seen = []
def numba_cache(frame):
    while frame is not None and not frame.f_code.co_filename.endswith("numba/core/caching.py"):
        frame = frame.f_back
    return frame is not None
def hook(event, args):
    if event == "pickle.find_class" and not numba_cache(sys._getframe(1)):
        seen.append(args)
sys.addaudithook(hook)
from lathe.serve import Holder, create_app, served
model = served({str(bundle_folder)!r})
create_app(Holder(model))
model.bundle.predict_rows([{{c.name: None for c in model.bundle.plan.inputs}}])
print(seen)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
