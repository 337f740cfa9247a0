"""The Python snippets of the README and the docs pages, run as written, in order, in one namespace.

The README's snippets come first, then each docs page's in the order of mkdocs.yml's nav, so a
page's snippet may use what an earlier one made; a snippet repeated verbatim (the README's
example is also the "From Python" page's) runs once. Two things are changed, to keep the suite
fast: every ``budget=N`` and ``trials=N`` becomes ``trials=2``. The snippets are given
``flights.parquet`` (2,000 real flights) in the working folder, ``df`` (a few of its rows), and
``X``, ``y`` (scikit-learn's breast cancer table and labels).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from lathe.datasets import flights
from tests._pages import README, pages


def python_blocks(page: Path) -> list[str]:
    """A page's ```python blocks, as written."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.MULTILINE | re.DOTALL)


def python_snippets() -> list[tuple[Path, str]]:
    """Every page's ```python blocks, made fast, each once, in order."""
    snippets: dict[str, Path] = {}
    for page in pages():
        for block in python_blocks(page):
            snippets.setdefault(re.sub(r"\b(budget|trials)=\d+", "trials=2", block), page)
    return [(page, snippet) for snippet, page in snippets.items()]


def test_the_readme_has_a_python_example() -> None:
    assert python_blocks(README)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning", "ignore::UserWarning")
def test_the_python_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    table = flights().sample(2000, random_state=0)
    table.to_parquet("flights.parquet", index=False)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    namespace = {"df": table.drop(columns="late").head(20), "X": X, "y": y}
    snippets = python_snippets()

    for page, snippet in snippets:
        exec(compile(snippet, str(page), "exec"), namespace)

    assert len(snippets) >= 5
    assert {"bundle", "clf", "uri", "registry", "model"} <= set(namespace)
    assert Path("models/late/manifest.json").is_file()
    assert Path("models/late/exports/exports.json").is_file()
    assert Path("models/churn/manifest.json").is_file()
    assert Path("profile.html").is_file()
    assert namespace["registry"].version("churn").stage == "production"
    served = namespace["mlflow"].pyfunc.load_model(namespace["uri"]).predict(namespace["df"])
    pd.testing.assert_frame_equal(served, namespace["bundle"].predict(namespace["df"]))
