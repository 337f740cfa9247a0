"""Schemathesis drives the running server from its own OpenAPI schema: no request may meet a
server error, and every answer must conform to the schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from schemathesis.generation.modes import GenerationMode

from tests.serve.conftest import running

AUTH = {"X-API-Key": "schemathesis"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_route_conforms_to_its_schema(bundle_folder: Path, mode: GenerationMode) -> None:
    # Schemathesis's pytest plugin (`from_fixture`) does not run under pytest 9, so each operation's
    # strategy is driven here with hypothesis directly: the same cases and the same checks.
    with running(str(bundle_folder), "--api-key", AUTH["X-API-Key"], "--max-rows", "20") as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json", headers=AUTH)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.path for op in operations} >= {"/predict", "/explain", "/model", "/metrics"}
        for operation in operations:
            if mode is GenerationMode.POSITIVE or len(operation.body) or len(operation.query):
                _check(operation, mode)  # a route that takes nothing has no wrong input to send


def _check(operation: Any, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(mode))
    @settings(max_examples=60, deadline=None)
    def answers_conform(case: Any) -> None:
        case.call_and_validate(headers=AUTH)

    answers_conform()
