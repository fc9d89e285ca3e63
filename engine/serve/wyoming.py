"""hark as Home Assistant's Wyoming programs (`hark serve --wyoming`): one session per TCP connection answers as
an intent program, a handle program (a conversation agent) and a speech-to-text program at once. The protocol's
event type and bounded reader live in ``hark.wyoming``."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import HarkError
from ..resample import resample, to_int16
from ..types import AudioChunk
from ..wav import decode_pcm
from ..wyoming import WyEvent, WyomingError, read_event, write_event
from .sessions import Hub

__all__ = ["serve_connection", "info"]

log = logging.getLogger("hark.serve")


# ------------------------------------------------------------------------------------------------- programs


def info(hub: Hub) -> WyEvent:
    """``describe`` → ``info``: hark as an intent program, a handle program (a conversation agent) and, when an
    ASR plugin is installed, a speech-to-text program whose language model is built from the skills."""
    version = hub.version
    lang = [hub.engine.config.engine.locale.split("-")[0]]
    skills = [s.name for s in hub.engine.skills]

    def artifact(name: str, description: str, **more: Any) -> dict[str, Any]:
        return {"name": name, "description": description, "version": version, "installed": True,
                "attribution": {"name": "hark", "url": "https://github.com/hark-nlu/hark"}, **more}

    model = artifact("hark-skills", f"skills: {', '.join(skills)}", languages=lang)
    data: dict[str, Any] = {
        "intent": [artifact("hark", "hark intent recognition from the installed skills", models=[model])],
        "handle": [artifact("hark", "hark skill actions: answers with the skill's response",
                            models=[model], supports_handled_streaming=False)],
        "asr": [], "tts": [], "wake": [], "mic": [], "snd": [],
    }
    if hub.has_asr:
        data["asr"] = [artifact("hark-asr", "hark speech-to-text with a language model compiled from the skills",
                                models=[model], supports_transcript_streaming=False)]
    return WyEvent("info", data)


@dataclass
class _Audio:
    """Audio of one transcription, as it arrives (``audio-start`` .. ``audio-stop``)."""

    rate: int
    width: int
    channels: int
    pcm: bytearray = field(default_factory=bytearray)


class WyomingSession:
    """One Wyoming connection: answers events in order; a bad event gets an ``error`` event and the connection
    goes on (a malformed header ends it: the byte stream can no longer be trusted)."""

    def __init__(self, hub: Hub, writer: asyncio.StreamWriter):
        self.hub, self.writer = hub, writer
        self.audio: _Audio | None = None
        self.transcribing = False

    async def handle(self, event: WyEvent) -> None:
        kind = event.type
        if kind == "describe":
            await self.send(info(self.hub))
        elif kind == "ping":
            await self.send(WyEvent("pong", {"text": event.data.get("text")} if event.data.get("text") else {}))
        elif kind == "recognize":
            await self.recognize(event)
        elif kind == "transcript":
            await self.handle_transcript(event)
        elif kind == "transcribe":
            self.transcribing, self.audio = True, None
        elif kind == "audio-start":
            self.audio = self._start(event.data)
        elif kind == "audio-chunk":
            self._chunk(event)
        elif kind == "audio-stop":
            await self.stop()
        else:
            log.debug("wyoming: ignored a %r event", kind)

    async def send(self, event: WyEvent) -> None:
        await write_event(self.writer, event)

    # -------------------------------------------------------------------------------------------- intent

    async def recognize(self, event: WyEvent) -> None:
        """The intent role: Home Assistant carries out the intent it gets back, so a sensitive one (``confirm:``)
        is never returned on the first asking: the answer is the question, as ``not-recognized``, and the intent
        comes back only when a yes follows in the same conversation (``context.conversation_id``)."""
        text, context = _text(event), _context(event)
        out = await asyncio.to_thread(self.hub.parse, text, context.get("conversation_id"), context.get("device_id"))
        if out.confirm is not None:
            await self.send(WyEvent("not-recognized", {"text": out.confirm.prompt, **_ctx(context)}))
            return
        if out.action is None:
            await self.send(WyEvent("not-recognized", {"text": "Okay, I won't." if out.cancelled else _reason(out),
                                                       **_ctx(context)}))
            return
        entities = [{"name": s.name, "value": _plain(s.value)} for s in out.action.slots]
        await self.send(WyEvent("intent", {"name": f"{out.action.skill}.{out.action.intent}", "entities": entities,
                                           "text": out.action.response or "", **_ctx(context)}))

    async def handle_transcript(self, event: WyEvent) -> None:
        text, context = _text(event), _context(event)
        out = await asyncio.to_thread(self.hub.parse, text, context.get("conversation_id"), context.get("device_id"))
        if out.action is not None:
            await self.send(WyEvent("handled", {"text": out.action.response or "Done.", **_ctx(context)}))
        elif out.confirm is not None:  # a sensitive action: the agent asks, the next transcript answers
            await self.send(WyEvent("handled", {"text": out.confirm.prompt, **_ctx(context)}))
        elif out.cancelled:
            await self.send(WyEvent("handled", {"text": "Okay, I won't.", **_ctx(context)}))
        else:
            await self.send(WyEvent("not-handled", {"text": _reason(out), **_ctx(context)}))

    # ------------------------------------------------------------------------------------------------ ASR

    def _start(self, data: Mapping[str, Any]) -> _Audio:
        limits = self.hub.engine.config.limits
        try:
            rate, width, channels = int(data["rate"]), int(data["width"]), int(data["channels"])
        except (KeyError, TypeError, ValueError):
            raise WyomingError("audio-start needs whole numbers rate, width and channels") from None
        if width != 2:
            raise WyomingError(f"audio-start: width {width}: hark takes 16-bit PCM (width 2) only")
        if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
            raise WyomingError(f"audio-start: rate {rate} Hz is outside {limits.min_sample_rate}-"
                               f"{limits.max_sample_rate} Hz (limits.min_sample_rate / max_sample_rate)")
        if not 1 <= channels <= limits.max_channels:
            raise WyomingError(f"audio-start: {channels} channels; 1 to {limits.max_channels} are accepted "
                               f"(limits.max_channels)")
        return _Audio(rate, width, channels)

    def _chunk(self, event: WyEvent) -> None:
        if self.audio is None:
            self.audio = self._start(event.data)  # a client that skipped audio-start: the chunk says the format
        audio, limit = self.audio, self.hub.engine.config.limits.max_utterance_s
        if len(audio.pcm) + len(event.payload) > limit * audio.rate * audio.width * audio.channels:
            self.audio = None
            raise WyomingError(f"audio longer than {limit:g} s (limits.max_utterance_s): send one utterance per "
                               f"transcribe; this one was dropped")
        audio.pcm += event.payload

    async def stop(self) -> None:
        audio, self.audio = self.audio, None
        if not self.transcribing:
            return  # audio that nobody asked to transcribe (a satellite's stream): nothing to answer
        self.transcribing = False
        if not self.hub.has_asr:
            raise WyomingError("this hark has no speech-to-text plugin enabled (asr_pocketsphinx)")
        chunk = _mono16k(audio) if audio is not None else AudioChunk(b"")
        nbest, understood, failures = await asyncio.to_thread(self.hub.transcribe, chunk)
        if nbest is None and failures:
            self.hub.metrics.count("wyoming_errors_total", type="transcribe")
            await self.send(WyEvent("error", {"text": "speech-to-text failed: " + "; ".join(failures),
                                              "code": "asr-failed"}))
            return
        await self.send(WyEvent("transcript", {"text": nbest.best.text if nbest else "", "hark": understood}))


def _mono16k(audio: _Audio) -> AudioChunk:
    """The transcription's audio as one 16 kHz mono chunk (channels averaged, resampled)."""
    x = decode_pcm(bytes(audio.pcm), audio.width, audio.channels)
    if audio.rate != 16000:
        x = resample(x, audio.rate, 16000)
    return AudioChunk(to_int16(x), 16000)


def _text(event: WyEvent) -> str:
    text = event.data.get("text")
    if not isinstance(text, str):
        raise WyomingError(f"{event.type}: data.text must be a string")
    return text


def _context(event: WyEvent) -> Mapping[str, Any]:
    context = event.data.get("context")
    return context if isinstance(context, dict) else {}


def _ctx(context: Mapping[str, Any]) -> dict[str, Any]:
    """The request's context, echoed back (Home Assistant keeps the conversation id in it)."""
    return {"context": dict(context)} if context else {}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else json.loads(json.dumps(
        value, default=str))


def _reason(result: Any) -> str:
    """Why nothing was done, in words a speaker can show the user."""
    for event in result.events:
        if event.kind == "out_of_scope" and event.data.get("not_a_request"):
            return "That did not sound like a request, so I did nothing."
    return "Sorry, I didn't understand that."


async def serve_connection(hub: Hub, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one Wyoming client until it disconnects, goes silent for ``serve.idle_timeout_s`` or sends a
    header that cannot be read."""
    settings = hub.engine.config.serve
    peer = writer.get_extra_info("peername")
    session = WyomingSession(hub, writer)
    if not hub.connections.acquire():
        await write_event(writer, WyEvent("error", {"text": f"server busy: {settings.max_connections} connections "
                                                            f"open (serve.max_connections)", "code": "busy"}))
        writer.close()
        return
    hub.metrics.count("wyoming_connections_total")
    try:
        while True:
            try:
                event = await asyncio.wait_for(read_event(reader, settings.max_body_bytes), settings.idle_timeout_s)
            except WyomingError as exc:
                await session.send(WyEvent("error", {"text": str(exc), "code": "bad-event"}))
                break
            if event is None:
                break
            hub.metrics.count("wyoming_events_total", type=event.type)
            try:
                await session.handle(event)
            except HarkError as exc:
                hub.metrics.count("wyoming_errors_total", type=event.type)
                await session.send(WyEvent("error", {"text": str(exc), "code": "bad-request"}))
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass  # silent too long, or gone mid-event: nothing to answer
    except Exception:  # noqa: BLE001 - one connection's bug must not stop the server
        log.exception("wyoming: connection %s failed", peer)
    finally:
        hub.connections.release()
        writer.close()
