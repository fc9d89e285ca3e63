"""hark's HTTP + WebSocket API (Starlette): a thin edge over one Engine. JSON in and out, the same objects as the
CLI (`POST /parse` answers what `hark parse` prints, `/stream` sends what `hark stream` prints).

Every request passes ``Guard`` first: the bearer token (when one is set), the body-size bound, the request
counters and one JSON log line per request. Engine work runs in worker threads; the event loop only moves bytes.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import limits as limits_
from ..edges import read_jsonl
from ..errors import HarkError, InputError
from ..streams import step
from .sessions import Hub

__all__ = ["create_app", "Guard"]

log = logging.getLogger("hark.serve")

#: how audio files (not raw PCM) start: a client that sends one gets told what to send instead
_FILE_MAGIC = {b"RIFF": "a WAV file", b"fLaC": "a FLAC file", b"OggS": "an Ogg file", b"ID3": "an MP3 file",
               b"\x1aE\xdf\xa3": "a WebM/Matroska file"}
#: keys a /parse body may carry
_PARSE_KEYS = {"text", "nbest", "conversation_id", "device_id", "now"}
_RESOLVE_KEYS = {"skill", "slot", "text", "nbest", "k"}


class Failure(Exception):
    """An HTTP error with a message for the client: ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def create_app(hub: Hub, token: str | None = None) -> Starlette:
    """The ASGI application serving ``hub``'s Engine; with ``token`` every request must carry it."""
    api = _Api(hub)
    app = Starlette(routes=[
        Route("/", api.index, methods=["GET"]),
        Route("/health", api.health, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        Route("/skills", api.skills, methods=["GET"]),
        Route("/parse", api.parse, methods=["POST"]),
        Route("/resolve", api.resolve, methods=["POST"]),
        WebSocketRoute("/stream", api.stream),
    ])
    return Guard(app, hub, token)


class Guard:
    """ASGI middleware: token check, body-size bound (by Content-Length; the handlers also count the bytes they
    read), per-route counters and latency, one JSON log line per HTTP request."""

    def __init__(self, app: Any, hub: Hub, token: str | None):
        self.app, self.hub, self.token = app, hub, token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        if self.token and not self._authorized(scope, headers):
            self.hub.metrics.count("requests_total", route=path, status=401)
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008, "reason": "missing or wrong token"})
            return await _json(send, 401, {"error": "missing or wrong token: send 'Authorization: Bearer <token>'"},
                               [(b"www-authenticate", b"Bearer")])
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        limit = self.hub.engine.config.serve.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            self.hub.metrics.count("requests_total", route=path, status=413)
            return await _json(send, 413, {"error": f"request body of {declared} bytes is more than the {limit} "
                                                    f"allowed (serve.max_body_bytes)"})
        status, t0 = [500], time.perf_counter()

        async def send_status(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - t0
            self.hub.metrics.count("requests_total", route=path, status=status[0])
            self.hub.metrics.observe(path, seconds)
            log.info(json.dumps({"ts": round(time.time(), 3), "method": scope.get("method"), "path": path,
                                 "status": status[0], "ms": round(seconds * 1000, 1),
                                 "client": (scope.get("client") or ["?"])[0]}))

    def _authorized(self, scope: dict, headers: dict[str, str]) -> bool:
        given = headers.get("authorization", "")
        if given.lower().startswith("bearer "):
            given = given[7:].strip()
        elif scope["type"] == "websocket":  # browsers cannot set headers on a WebSocket: ?token= is accepted there
            given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
        else:
            return False
        return hmac.compare_digest(given.encode(), self.token.encode())


async def _json(send: Callable, status: int, body: dict, extra: list | None = None) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            *(extra or [])]})
    await send({"type": "http.response.body", "body": raw})


def _handler(fn: Callable[..., Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """A route's errors as JSON: Failure with its status, InputError 400, other HarkErrors 422, bugs 500."""

    async def wrapper(self: "_Api", request: Request) -> Response:
        try:
            out = await fn(self, request)
        except Failure as exc:
            return JSONResponse({"error": str(exc)}, exc.status)
        except InputError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except HarkError as exc:
            return JSONResponse({"error": str(exc)}, 422)
        except Exception:  # noqa: BLE001 - a bug answers 500 and the server goes on
            log.exception("serve: %s %s failed", request.method, request.url.path)
            return JSONResponse({"error": "internal error (logged on the server)"}, 500)
        return out if isinstance(out, Response) else JSONResponse(out)

    wrapper.__name__ = fn.__name__
    return wrapper


class _Api:
    def __init__(self, hub: Hub):
        self.hub = hub
        self._resolvers: dict[tuple[str, str, int], Any] = {}
        self._resolver_lock = threading.Lock()

    @property
    def engine(self) -> Any:
        return self.hub.engine  # not cached: a skill reload swaps it

    # ------------------------------------------------------------------------------------------------ http

    @_handler
    async def index(self, request: Request) -> Any:
        return {"name": "hark", "version": self.hub.version, "endpoints": {
            "POST /parse": '{"text": "..."} or {"nbest": [{"text": "...", "score": 0.9}, ...]}; optional '
                           'conversation_id, device_id, now',
            "POST /resolve": '{"skill": "...", "slot": "...", "text": "...", "nbest": ["..."], "k": 5}',
            "GET /skills": "installed skills, intents and slots", "GET /health": "status",
            "GET /metrics": "Prometheus text", "WS /stream": "binary 16-bit PCM (?rate=16000) or JSON lines in, "
                                                             "events out"}}

    @_handler
    async def health(self, request: Request) -> Any:
        plugins = [{"name": p.name, "status": p.status} for p in self.engine.plugin_info]
        failed = [p["name"] for p in plugins if p["status"] == "failed"]
        return {"status": "degraded" if failed else "ok", "version": self.hub.version,
                "skills": len(list(self.engine.skills)), "asr": self.hub.has_asr, "plugins": plugins,
                "uptime_s": round(time.time() - self.hub.started, 1)}

    @_handler
    async def metrics(self, request: Request) -> Any:
        return PlainTextResponse(self.hub.metrics.render(self.hub.gauges()),
                                 media_type="text/plain; version=0.0.4")

    @_handler
    async def skills(self, request: Request) -> Any:
        from ..skills import describe_skill

        return {"skills": [describe_skill(s) for s in self.engine.skills]}

    @_handler
    async def parse(self, request: Request) -> Any:
        body = await self._body(request, _PARSE_KEYS)
        if "text" not in body and "nbest" not in body:
            raise Failure(400, 'give "text" (a string) or "nbest" (a list of {"text", "score"})')
        if "nbest" in body and not isinstance(body["nbest"], list):
            raise Failure(400, f"'nbest' must be a list of {{\"text\", \"score\"}} objects, got "
                               f"{type(body['nbest']).__name__}")
        item = {"nbest": body["nbest"]} if "nbest" in body else {"text": body["text"]}
        ids = {k: body.get(k) for k in ("conversation_id", "device_id", "now")}
        for key, value in ids.items():
            if value is not None and not isinstance(value, str):
                raise Failure(400, f"'{key}' must be a string")
        result = await asyncio.to_thread(self.hub.parse, item, ids["conversation_id"], ids["device_id"], ids["now"])
        return result.to_dict()

    @_handler
    async def resolve(self, request: Request) -> Any:
        body = await self._body(request, _RESOLVE_KEYS)
        skill_name, slot_name, text = body.get("skill"), body.get("slot"), body.get("text")
        if not all(isinstance(v, str) for v in (skill_name, slot_name, text)):
            raise Failure(400, "give \"skill\", \"slot\" and \"text\" as strings")
        limits_.check_text(text, self.engine.config.limits)
        k = body.get("k", 5)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50:
            raise Failure(400, "'k' must be a whole number from 1 to 50")
        alternatives = body.get("nbest") or []
        if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
            raise Failure(400, "'nbest' must be a list of strings (other things the recognizer heard)")
        alternatives = [limits_.check_text(a, self.engine.config.limits) for a in
                        alternatives[: self.engine.config.limits.max_nbest]]
        resolver = await asyncio.to_thread(self._resolver, skill_name, slot_name)
        nbest = [(text, 1.0)] + [(a, 0.5 ** (i + 1)) for i, a in enumerate(alternatives)] if alternatives else None
        matches = await asyncio.to_thread(resolver.resolve, text, nbest=nbest, k=k)
        return {"skill": skill_name, "slot": slot_name, "text": text, "matches": [m.to_dict() for m in matches]}

    def _resolver(self, skill_name: str, slot_name: str) -> Any:
        """The phonetic resolver over one slot's catalog, built once (its index is cached on disk)."""
        skill = self.engine.skills.get(skill_name)
        if skill is None:
            raise Failure(404, f"no skill {skill_name!r} (GET /skills lists them)")
        slot = skill.slots.get(slot_name)
        if slot is None or not slot.catalog:
            with_catalogs = [n for n, s in skill.slots.items() if s.catalog]
            raise Failure(404, f"skill {skill_name!r} has no slot {slot_name!r} with a catalog (slots with one: "
                               f"{', '.join(with_catalogs) or 'none'})")
        try:
            from hark.plugins.entity_resolver import Resolver
            from hark.plugins.entity_resolver.plugin import catalog_values
        except ImportError:
            raise Failure(501, "the entity_resolver plugin is not installed") from None
        with self._resolver_lock:
            key = (skill_name, slot_name, id(slot.catalog))  # a skill reload brings new catalogs
            if key not in self._resolvers:
                if len(self._resolvers) >= 64:
                    self._resolvers.clear()
                self._resolvers[key] = Resolver.from_values(catalog_values(slot.catalog), kind=slot_name)
            return self._resolvers[key]

    async def _body(self, request: Request, known: set[str]) -> dict[str, Any]:
        """The request's JSON object, read within ``serve.max_body_bytes`` and ``limits.max_json_depth``."""
        limit = self.engine.config.serve.max_body_bytes
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise Failure(413, f"request body is more than the {limit} bytes allowed (serve.max_body_bytes)")
        if not raw.strip():
            raise Failure(400, 'empty body: send a JSON object, e.g. {"text": "turn on the kitchen lights"}')
        try:
            text = raw.decode("utf-8")
            limits_.check_json_depth(text, self.engine.config.limits, "request body")
            body = json.loads(text)
        except UnicodeDecodeError:
            raise Failure(400, "request body is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise Failure(400, f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column "
                               f"{exc.colno}") from None
        if not isinstance(body, dict):
            raise Failure(400, f"request body must be a JSON object, got {type(body).__name__}")
        unknown = sorted(set(body) - known)
        if unknown:
            raise Failure(400, f"unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
        return body

    # ------------------------------------------------------------------------------------------- websocket

    async def stream(self, ws: WebSocket) -> None:
        """One Stream per connection: binary messages are 16-bit little-endian mono PCM at ``?rate=`` (default
        16000), text messages are JSON lines like `hark stream` reads ({"text"}, {"nbest"}, {"type": "flush"}
        to end the audio so far); every event goes back as one JSON text message."""
        settings, hub = self.engine.config.serve, self.hub
        if not hub.connections.acquire():
            await ws.close(code=1013, reason=f"server busy: {settings.max_connections} connections open")
            return
        stream = None
        try:
            try:
                rate = int(ws.query_params.get("rate", "16000"))
                device = ws.query_params.get("device_id") or "websocket"
                stream = await asyncio.to_thread(self.engine.open_stream, sample_rate=rate, device_id=device)
            except (ValueError, HarkError) as exc:
                await ws.accept()
                await ws.send_json({"kind": "error", "data": {"message": f"cannot open a stream: {exc}"}})
                await ws.close(code=1003)
                return
            await ws.accept()
            hub.metrics.count("stream_connections_total")
            index = 0
            for event in stream.start_events:
                await ws.send_text(_event_json(event))
            while True:
                message = await asyncio.wait_for(ws.receive(), settings.idle_timeout_s)
                if message["type"] == "websocket.disconnect":
                    break
                events = await self._stream_message(stream, message, index)
                index += 1
                for event in events:
                    await ws.send_text(event if isinstance(event, str) else _event_json(event))
        except (WebSocketDisconnect, asyncio.TimeoutError, RuntimeError):
            pass  # the client left (or went silent): its stream is closed below, the server goes on
        finally:
            hub.connections.release()
            if stream is not None:
                await asyncio.to_thread(stream.close, False)
            try:
                await ws.close()
            except (RuntimeError, WebSocketDisconnect):
                pass  # already closed by the client

    async def _stream_message(self, stream: Any, message: dict, index: int) -> list[Any]:
        data = message.get("bytes")
        if data is not None:
            kind = next((name for magic, name in _FILE_MAGIC.items() if data.startswith(magic)), None)
            if kind:
                return [_error(index, f"this looks like {kind}: binary messages must be raw 16-bit little-endian "
                                      f"mono PCM at {stream.sample_rate} Hz (?rate=); send the samples without "
                                      f"the file header")]
            self.hub.metrics.count("stream_audio_bytes_total", len(data))
            return await asyncio.to_thread(stream.feed, data)  # a sample split across messages is kept
        # one message is one line of what `hark stream` reads: the same decoding, bounds and error events
        item = next(read_jsonl([message.get("text") or ""], self.engine.config.limits, first=index + 1), None)
        if isinstance(item, dict) and item.get("type") == "flush":
            return await asyncio.to_thread(stream.flush)
        if not item:
            return [_error(index, 'empty message: send {"text": ...}, {"nbest": [...]}, {"type": "flush"} or '
                                  'binary PCM')]
        return await asyncio.to_thread(step, stream, item, index)


def _event_json(event: Any) -> str:
    out = event.to_dict()
    out.pop("audio", None)  # the utterance's samples stay on the server
    return json.dumps(out, ensure_ascii=False)


def _error(index: int, message: str) -> str:
    return json.dumps({"kind": "error", "data": {"input": index, "message": message}, "utterance": index})
