"""lathe in a real Jupyter kernel: the live search display and the HTML summaries."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client's path migration notice

CELLS = [
    "import lathe\nfrom lathe.testing import mixed_table\n"
    "bundle = lathe.train(mixed_table(300), target='target', trials=3)",
    "bundle",
    "bundle.leaderboard",
    "lathe.profile(mixed_table(100), out=None)",
]


@pytest.fixture(scope="module")
def outputs() -> list[list[dict[str, Any]]]:
    """Each cell's outputs, after running the notebook in a fresh kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    return [cell["outputs"] for cell in notebook.cells]


def test_train_draws_its_progress_as_a_live_widget(outputs: list[list[dict[str, Any]]]) -> None:
    kinds = {kind for output in outputs[0] for kind in output.get("data", {})}

    assert "application/vnd.jupyter.widget-view+json" in kinds
    assert not [output for output in outputs[0] if output["output_type"] == "error"]


@pytest.mark.parametrize(
    ("cell", "html", "text"),
    [
        (1, "binary classification of", "Bundle: binary classification of 'target'"),
        (2, "<table", "roc_auc"),
        (3, "rows", "Profile"),
    ],
)
def test_values_show_an_html_summary_and_a_readable_repr(
    outputs: list[list[dict[str, Any]]], cell: int, html: str, text: str
) -> None:
    shown = next(output["data"] for output in outputs[cell] if output["output_type"] == "execute_result")

    assert html in shown["text/html"]
    assert text in shown["text/plain"]
