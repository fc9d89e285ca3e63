"""Home Assistant's Wyoming protocol at hark's edges (`hark serve --wyoming`, the asr_wyoming plugin): one small
event type and bounded readers and writers for it.

A Wyoming event is a JSON header line ``{type, data?, data_length?, payload_length?, version?}``, then
``data_length`` bytes of JSON merged into ``data``, then ``payload_length`` bytes of binary payload (audio). The
readers check every length against ``max_bytes`` before they read, so a peer cannot make hark buffer more than
that for one event. The ``wyoming`` package is not needed; the tests check this against its client.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import IO, Any, Mapping

from .errors import InputError

__all__ = ["WyEvent", "WyomingError", "read_event", "write_event", "read_event_sync", "encode", "tcp_address"]

#: the protocol version hark speaks (the version field of every header it writes)
VERSION = "1.5.2"


class WyomingError(InputError):
    """A Wyoming event hark cannot read or accept (the server sends the message back as an ``error`` event)."""


@dataclass(frozen=True)
class WyEvent:
    """One Wyoming event: its type, its JSON data and its binary payload (audio)."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    payload: bytes = b""


def _header(line: bytes, max_bytes: int) -> tuple[str, dict[str, Any], int, int]:
    """(type, inline data, data_length, payload_length) of a header line, each length checked."""
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WyomingError(f"event header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise WyomingError("event header must be a JSON object with a string 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise WyomingError(f"{header['type']}: 'data' must be an object")
    return (header["type"], data, _length(header, "data_length", max_bytes),
            _length(header, "payload_length", max_bytes))


def _length(header: Mapping[str, Any], key: str, max_bytes: int) -> int:
    value = header.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise WyomingError(f"{header['type']}: {key} must be a non-negative whole number")
    if value > max_bytes:
        raise WyomingError(f"{header['type']}: {key} {value} is more than the {max_bytes} bytes one event may carry "
                           f"(serve.max_body_bytes)")
    return value


def _merge(kind: str, data: dict[str, Any], extra: bytes) -> dict[str, Any]:
    if not extra:
        return data
    try:
        more = json.loads(extra)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WyomingError(f"{kind}: data is not JSON: {exc}") from None
    if not isinstance(more, dict):
        raise WyomingError(f"{kind}: data must be a JSON object")
    return {**data, **more}


def tcp_address(uri: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (the way Wyoming programs are addressed) as (host, port); ValueError naming the form
    otherwise, a port out of range included."""
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    try:
        port = parsed.port
    except ValueError:  # not a number, or beyond 65535
        port = None
    if parsed.scheme != "tcp" or not parsed.hostname or port is None:
        raise ValueError(f"expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:10700, got {uri!r}")
    return parsed.hostname, port


async def read_event(reader: asyncio.StreamReader, max_bytes: int) -> WyEvent | None:
    """The next event, or None at the end of the connection (the reader's own limit bounds the header line)."""
    try:
        line = await reader.readline()
    except ValueError:  # asyncio's LimitOverrunError: the header line is longer than the reader's limit
        raise WyomingError(f"event header longer than {max_bytes} bytes") from None
    if not line:
        return None
    kind, data, extra_len, payload_len = _header(line, max_bytes)
    data = _merge(kind, data, await reader.readexactly(extra_len) if extra_len else b"")
    return WyEvent(kind, data, await reader.readexactly(payload_len) if payload_len else b"")


def read_event_sync(stream: IO[bytes], max_bytes: int) -> WyEvent | None:
    """``read_event`` for a blocking socket file (``sock.makefile("rb")``)."""
    line = stream.readline(max_bytes + 1)
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise WyomingError(f"event header longer than {max_bytes} bytes, or cut off")
    kind, data, extra_len, payload_len = _header(line, max_bytes)
    data = _merge(kind, data, _exactly(stream, extra_len))
    return WyEvent(kind, data, _exactly(stream, payload_len))


def _exactly(stream: IO[bytes], n: int) -> bytes:
    out = stream.read(n) if n else b""
    if len(out) != n:
        raise WyomingError(f"connection closed {n - len(out)} bytes before the end of an event")
    return out


def encode(event: WyEvent) -> bytes:
    """The bytes of one event (data after the header, as the ``wyoming`` package writes it)."""
    header: dict[str, Any] = {"type": event.type, "version": VERSION}
    body = json.dumps(dict(event.data), ensure_ascii=False).encode() if event.data else b""
    if body:
        header["data_length"] = len(body)
    if event.payload:
        header["payload_length"] = len(event.payload)
    return json.dumps(header).encode() + b"\n" + body + event.payload


async def write_event(writer: asyncio.StreamWriter, event: WyEvent) -> None:
    writer.write(encode(event))
    await writer.drain()
