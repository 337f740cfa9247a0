"""The seam between the stream and a broker: one small interface, one module per broker.

A broker module (``_redis``, ``_nats``) has two coroutines, ``open_source(address)`` and
``open_sink(address)``, returning objects with the methods of ``Source`` and ``Sink`` below. It is
found by the URI's scheme in ``BROKERS``: adding a broker (Kafka, RabbitMQ) is one module and one
line there. Only the broker modules import a broker's client library.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from lathe.errors import InvalidParameterError, MissingDependencyError

# scheme: (module, its client library as pip installs it)
BROKERS = {"redis": ("lathe.stream._redis", "redis"), "nats": ("lathe.stream._nats", "nats-py")}


@dataclass(frozen=True)
class Message:
    """One message read: the broker's id for it (a Redis entry id, a JetStream sequence number),
    its body (JSON text of one row), and what the broker needs to acknowledge it."""

    id: str
    body: bytes
    handle: Any = field(default=None, repr=False, compare=False)
    problem: str | None = None  # why the broker could not give a body, if it could not


class Source(Protocol):
    """Messages to score, read in a consumer group (durable consumer) and acknowledged once scored."""

    where: str  # the source as a person names it, without secrets

    async def read(self, count: int, wait: float) -> list[Message]:
        """Up to ``count`` messages; waits at most ``wait`` seconds for the first (``[]`` if none came).
        Messages left unacknowledged by a consumer that died are read again, here or elsewhere."""
        ...

    async def ack(self, messages: Sequence[Message]) -> None:
        """Acknowledge ``messages``: they are done and will not be read again."""
        ...

    async def waiting(self) -> int | None:
        """How many messages the group has not read yet (the lag), if the broker says."""
        ...

    async def close(self) -> None:
        """Flush what is pending (acknowledgements) and disconnect."""
        ...


class Sink(Protocol):
    """Where outputs (or dead letters) go."""

    where: str

    async def write(self, bodies: Sequence[bytes]) -> None:
        """Append ``bodies`` in order; returns once the broker has acknowledged every one."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...


@dataclass(frozen=True)
class Address:
    """A broker URI split: the connection part (``server``), the path after it, and lathe's options
    from the query (``options``); ``where`` is the whole URI with any password scrubbed."""

    scheme: str
    server: str
    path: str
    options: dict[str, str]
    where: str

    def option(self, name: str, default: str | None = None) -> str:
        """The query option ``name``; refused with the URI's shape where it is required and absent."""
        value = self.options.get(name, default)
        if value is None:
            raise InvalidParameterError(f"{self.where}: name the {name} in the URI's query, as in ?{name}=NAME")
        return value

    def number(self, name: str, default: float) -> float:
        """The query option ``name`` as a positive number."""
        text = self.options.get(name)
        try:
            value = float(text) if text is not None else default
        except ValueError:
            value = -1.0
        if not value > 0:
            raise InvalidParameterError(f"{self.where}: {name}={text} must be a positive number")
        return value


def parse_address(uri: str, known: Sequence[str]) -> Address:
    """``uri`` split into an ``Address``; its query may hold only the options ``known``."""
    parts = urlsplit(uri)
    if parts.scheme not in BROKERS:
        schemes = ", ".join(f"{s}://" for s in BROKERS)
        raise InvalidParameterError(f"{_scrubbed(uri)}: a stream is a broker URI, one of {schemes}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            listed = ", ".join(known) or "none"
            raise InvalidParameterError(
                f"{_scrubbed(uri)}: {name!r} is not an option here.{hint} The options of this URI: {listed}"
            )
    server = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return Address(parts.scheme, server, parts.path, options, _scrubbed(uri))


def _scrubbed(uri: str) -> str:
    """``uri`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _module(uri: str) -> Any:
    scheme = urlsplit(uri).scheme
    if scheme not in BROKERS:
        parse_address(uri, ())  # refuses it, naming the schemes
    module, library = BROKERS[scheme]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"lathe stream needs {library} for {scheme}:// ({exc.name} is not installed): pip install 'lathe[stream]'"
        ) from None


async def open_source(uri: str) -> Source:
    """The source ``uri`` names, connected, its group or durable consumer created if it was not."""
    source: Source = await _module(uri).open_source(uri)
    return source


async def open_sink(uri: str) -> Sink:
    """The sink ``uri`` names, connected."""
    sink: Sink = await _module(uri).open_sink(uri)
    return sink
