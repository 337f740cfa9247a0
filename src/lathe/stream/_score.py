"""One micro-batch of messages scored: an output per message that could be, a dead letter per one
that could not (not JSON, not an object, a missing column, a value of the wrong kind), with why.

The batch is scored in one call of the bundle's fast path (``Bundle.predict_rows``); only where
that refuses a row is each row scored alone, to find which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lathe.errors import LatheError
from lathe.registry import OpenedModel
from lathe.stream._broker import Message

_ROW = re.compile(r"^(row \d+|the rows lack)")  # the scoring paths' words for a row; a message is one row


@dataclass(frozen=True)
class Scored:
    """What a batch came to: the messages (all to acknowledge once written), outputs and dead letters."""

    messages: Sequence[Message]
    outputs: list[bytes]
    dead: list[bytes]
    reasons: list[str]  # one per dead letter
    rows: list[dict[str, Any]]  # the rows scored, and their answers (for the prediction log)
    answers: list[dict[str, Any]]


def score(messages: Sequence[Message], model: OpenedModel, explain: int = 0, source: str = "") -> Scored:
    """Score ``messages`` with ``model``; with ``explain`` > 0, add that many reasons per output."""
    rows: list[tuple[Message, dict[str, Any]]] = []
    dead: list[tuple[Message, str]] = []
    for message in messages:
        row, problem = _row(message)
        if problem is None:
            rows.append((message, row))
        else:
            dead.append((message, problem))
    outputs, scored, answers = [], [], []
    for (message, row), answer in zip(rows, _predicted(model, [row for _, row in rows], explain), strict=True):
        if isinstance(answer, str):
            dead.append((message, answer))
        else:
            outputs.append(_output(message, answer, model))
            scored.append(row)
            answers.append(answer)
    letters = [_dead_letter(message, reason, source) for message, reason in dead]
    return Scored(messages, outputs, letters, [reason for _, reason in dead], scored, answers)


def _row(message: Message) -> tuple[dict[str, Any], str | None]:
    if message.problem is not None:
        return {}, message.problem
    try:
        row = json.loads(message.body)
    except (UnicodeDecodeError, ValueError) as exc:
        return {}, f"the message is not JSON text ({exc})"
    if not isinstance(row, dict):
        return {}, f"the message is JSON but not an object of column values (it is a {type(row).__name__})"
    return row, None


def _predicted(model: OpenedModel, rows: list[dict[str, Any]], explain: int) -> list[dict[str, Any] | str]:
    """Per row, its prediction (explained if asked), or why it could not be scored."""
    if not rows:
        return []
    try:
        return list(_scores(model, rows, explain))
    except LatheError:
        return [_alone(model, row, explain) for row in rows]


def _scores(model: OpenedModel, rows: list[dict[str, Any]], explain: int) -> list[dict[str, Any]]:
    predicted = model.bundle.predict_rows(rows)  # checks every value's kind, as the explanation does not
    return model.bundle.explain_rows(rows, explain) if explain else predicted


def _alone(model: OpenedModel, row: dict[str, Any], explain: int) -> dict[str, Any] | str:
    try:
        return _scores(model, [row], explain)[0]
    except (LatheError, TypeError, ValueError) as exc:
        return _ROW.sub(lambda found: "the message lacks" if found[0].endswith("lack") else "the message", str(exc))


def _output(message: Message, answer: dict[str, Any], model: OpenedModel) -> bytes:
    record = {"message_id": message.id, **answer, "model": {"name": model.name, "version": model.version}}
    return json.dumps(record, default=_plain, separators=(",", ":")).encode()


def _dead_letter(message: Message, reason: str, source: str) -> bytes:
    try:
        original: dict[str, str] = {"message": message.body.decode()}
    except UnicodeDecodeError:
        original = {"message_hex": message.body.hex()}
    record = {"message_id": message.id, "reason": reason, "source": source, **original}
    return json.dumps(record, separators=(",", ":")).encode()


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as plain Python, for JSON."""
    return value.item() if hasattr(value, "item") else str(value)
