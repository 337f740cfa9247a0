"""The MLflow flavor against the real MLflow: log, load, register, serve, and no pickle anywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("mlflow", reason="the MLflow flavor needs the extra: pip install 'lathe[mlflow]'")

import mlflow
from mlflow.exceptions import MlflowException

import lathe
import lathe.mlflow
from lathe.registry import Registry
from lathe.testing import mixed_table

pytestmark = [
    # MLflow warns about its own deprecations (the file store among them) and about extra columns.
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A tracking store and model registry in a SQLite file, and an experiment keeping its artifacts
    in a folder beside it: no server."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri, mlflow.create_experiment("lathe", (folder / "artifacts").as_uri())
    mlflow.set_registry_uri(None)
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Rows to score: every column type, missing values, and the id column."""
    return mixed_table(120, "binary", seed=7).drop(columns="target")


@pytest.fixture(scope="module")
def bundle() -> lathe.Bundle:
    """A small binary bundle trained on every column type."""
    return lathe.train(mixed_table(300, "binary"), target="target", trials=2, verbose=False)


@pytest.fixture(scope="module")
def logged(tracking: tuple[str, str], bundle: lathe.Bundle) -> mlflow.models.model.ModelInfo:
    """``bundle`` logged in a run and registered as version 1 of ``churn``."""
    with mlflow.start_run(experiment_id=tracking[1]):
        return lathe.mlflow.log_model(bundle, name="churn", registered_model_name="churn")


def test_pyfunc_predicts_exactly_what_the_bundle_predicts(
    logged: mlflow.models.model.ModelInfo, bundle: lathe.Bundle, rows: pd.DataFrame
) -> None:
    model = mlflow.pyfunc.load_model(logged.model_uri)

    pd.testing.assert_frame_equal(model.predict(rows), bundle.predict(rows))
    assert list(model.predict(rows).columns) == ["customer_id", "prediction", "probability_no", "probability_yes"]


def test_load_model_gives_the_bundle_back_from_the_run_and_the_registry(
    logged: mlflow.models.model.ModelInfo, bundle: lathe.Bundle, rows: pd.DataFrame
) -> None:
    from_run = lathe.mlflow.load_model(logged.model_uri)
    from_registry = lathe.mlflow.load_model("models:/churn/1")

    assert from_run.manifest["data"]["fingerprint"] == bundle.manifest["data"]["fingerprint"]
    pd.testing.assert_frame_equal(from_run.predict(rows), bundle.predict(rows))
    pd.testing.assert_frame_equal(from_registry.predict(rows), bundle.predict(rows))
    assert logged.registered_model_version == 1


def test_the_signature_is_the_manifests_inputs(logged: mlflow.models.model.ModelInfo, bundle: lathe.Bundle) -> None:
    inputs = {spec.name: (spec.type.name, spec.required) for spec in logged.signature.inputs.inputs}

    assert inputs == {
        "amount": ("double", True),
        "plan": ("string", True),
        "active": ("boolean", True),
        "signup": ("datetime", True),
        "note": ("string", True),
        "customer_id": ("long", False),
    }
    assert {c["name"] for c in bundle.manifest["inputs"]} == set(inputs) - {"customer_id"}


def test_schema_enforcement_refuses_what_lathe_refuses(
    logged: mlflow.models.model.ModelInfo, rows: pd.DataFrame
) -> None:
    model = mlflow.pyfunc.load_model(logged.model_uri)

    with pytest.raises(MlflowException, match="plan"):
        model.predict(rows.drop(columns="plan"))
    with pytest.raises(MlflowException, match="amount"):
        model.predict(rows.assign(amount="lots"))


def test_the_logged_model_holds_no_pickle(logged: mlflow.models.model.ModelInfo) -> None:
    folder = Path(mlflow.artifacts.download_artifacts(logged.model_uri))
    files = [path for path in folder.rglob("*") if path.is_file()]

    assert {path.name for path in files} >= {"MLmodel", "manifest.json", "plan.json", "requirements.txt"}
    assert not [path for path in files if path.suffix in {".pkl", ".pickle", ".joblib", ".skops"}]
    assert not [path for path in files if path.read_bytes()[:2] in PICKLE_MAGIC]
    assert "pickle" not in (folder / "MLmodel").read_text() + (folder / "requirements.txt").read_text()


def test_push_copies_a_lathe_registry_version_into_mlflows_registry(
    tracking: tuple[str, str], bundle: lathe.Bundle, rows: pd.DataFrame, tmp_path: Path
) -> None:
    registry = Registry(tmp_path / "registry")
    bundle.save(tmp_path / "bundle")
    registry.add(tmp_path / "bundle", "late")
    registry.add(tmp_path / "bundle", "late")
    registry.promote("late", 2, "production")

    with mlflow.start_run(experiment_id=tracking[1]):
        info = lathe.mlflow.push("late", registry=registry)

    pushed = mlflow.MlflowClient().get_model_version_by_alias("late", "production")
    assert str(pushed.version) == str(info.registered_model_version)
    assert pushed.tags == {"lathe.version": "2", "lathe.stage": "production", "lathe.parent": "1",
                           "lathe.fingerprint": bundle.manifest["data"]["fingerprint"]}  # fmt: skip
    served = mlflow.pyfunc.load_model("models:/late@production").predict(rows)
    pd.testing.assert_frame_equal(served, bundle.predict(rows))


def test_regression_bundles_saved_to_a_folder_round_trip(tmp_path: Path) -> None:
    table = mixed_table(200, "regression")
    bundle = lathe.train(table, target="target", trials=1, verbose=False)
    bundle.save(tmp_path / "bundle")

    lathe.mlflow.save_model(tmp_path / "bundle", tmp_path / "model")

    predicted = mlflow.pyfunc.load_model(str(tmp_path / "model")).predict(table)
    pd.testing.assert_frame_equal(predicted, bundle.predict(table))


def test_loading_another_flavor_says_so(tmp_path: Path) -> None:
    mlflow.pyfunc.save_model(tmp_path / "other", loader_module="json", pip_requirements=[])

    with pytest.raises(lathe.LatheError, match="not a lathe model"):
        lathe.mlflow.load_model(str(tmp_path / "other"))


def test_mlflow_models_serve_answers_with_the_bundles_predictions(
    tracking: tuple[str, str], logged: mlflow.models.model.ModelInfo, bundle: lathe.Bundle, rows: pd.DataFrame
) -> None:
    port = _free_port()
    command = ["mlflow", "models", "serve", "-m", logged.model_uri, "--env-manager", "local"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    bin_dir = str(Path(sys.executable).parent)  # where mlflow and the uvicorn it starts live, as in an active venv
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracking[0], "MLFLOW_DISABLE_TELEMETRY": "true"}
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/ping", server)
        body = json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", date_format="iso"))})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = pd.DataFrame(json.loads(response.read())["predictions"])
    finally:
        server.terminate()
        server.communicate(timeout=30)

    pd.testing.assert_frame_equal(served, bundle.predict(rows), check_dtype=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = server.communicate()[0].decode()
            pytest.fail(f"mlflow models serve exited with {server.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow models serve did not answer {url} within {seconds:.0f} s")
