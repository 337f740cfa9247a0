"""ASGI middleware in front of the app: the API key, the body size limit and the metrics.

Written against ASGI directly rather than as a Starlette ``BaseHTTPMiddleware``, which would
cost a task and a queue per request on the fast path.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from lathe.serve._metrics import Metrics

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

OPEN = ("/health", "/ready")  # answered without the API key: probes carry no secrets
MAX_BODY = 8 * 2**20
# Content types read as JSON: JSON itself, none, and curl -d's default.
JSON_TYPES = (b"application/json", b"", b"application/x-www-form-urlencoded")


class Guard:
    """Refuses requests without ``api_key`` (if one is set; compared in constant time) with a 401
    and bodies over ``max_body`` bytes with a 413, before the app reads them; times and counts
    every request into ``metrics``."""

    def __init__(self, app: App, metrics: Metrics, api_key: str | None = None, max_body: int = MAX_BODY) -> None:
        self.app, self.metrics, self.max_body = app, metrics, max_body
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._guarded(scope, receive, sending)
        finally:
            self.metrics.observe(scope["path"], status, time.perf_counter() - started)

    async def _guarded(self, scope: Message, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        if self.api_key and scope["path"] not in OPEN and not _authorised(headers, self.api_key):
            await answer(
                send, 401, "this server needs an API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                [(b"www-authenticate", b"Bearer")],
            )  # fmt: skip
            return
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_body:
            await answer(send, 413, self._too_large(declared.decode("latin-1")))
            return
        if scope["method"] == "POST":
            kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind not in JSON_TYPES and not kind.endswith(b"+json"):
                await answer(send, 415, f"the body must be JSON (Content-Type: application/json), not {kind.decode()}")
                return
            # curl -d sends no JSON type unless told: the body is read as JSON all the same.
            kept = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope = {**scope, "headers": [*kept, (b"content-type", b"application/json")]}
        body = await self._body(receive)
        if body is None:
            await answer(send, 413, self._too_large("more than that"))
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole request body, or ``None`` once it passes ``max_body`` (a chunked body)."""
        parts, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_body:
                return None
            more = message.get("more_body", False)
        return b"".join(parts)

    def _too_large(self, size: str) -> str:
        return (
            f"the request body is {size} bytes; this server takes at most {self.max_body:,}. "
            "Send fewer rows per request, or score a file with `lathe batch`"
        )


def _authorised(headers: dict[bytes, bytes], key: bytes) -> bool:
    given = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
    return hmac.compare_digest(given, key)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then what the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a JSON error ``{"detail": ...}`` with ``status``."""
    content = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
                    *(headers or [])],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": content})
