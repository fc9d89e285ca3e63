"""Speech-to-text from any Wyoming service on the network: the ``asr_wyoming`` plugin.

Home Assistant users often run a Wyoming speech-to-text service already (wyoming-faster-whisper, another hark). With
``plugins.settings.asr_wyoming.uri`` set, hark sends each endpointed utterance there (``transcribe``,
``audio-start``, ``audio-chunk``..., ``audio-stop``) and takes the ``transcript`` back as a one-best list. Without
a uri the plugin does nothing and the next recognizer (asr_pocketsphinx) answers. It asks first when it has a uri;
disable asr_pocketsphinx as well so that its live decoding does not end turns on its own words.
"""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from hark.config import ranged
from hark.errors import PluginError
from hark.hookspecs import hookimpl
from hark.limits import check_audio_seconds
from hark.types import AudioChunk, Hypothesis, NBest
from hark.wyoming import WyEvent, WyomingError, encode, read_event_sync, tcp_address

__all__ = ["AsrWyomingPlugin", "WyomingAsrSettings", "transcribe"]

NAME = "asr_wyoming"
log = logging.getLogger("hark")

#: bytes of audio per audio-chunk event (64 ms at 16 kHz, 16-bit mono: what Home Assistant's satellites send)
CHUNK_BYTES = 2048
#: largest event accepted back from the service (a transcript is a few hundred bytes)
MAX_REPLY_BYTES = 1_000_000


@dataclass(frozen=True)
class WyomingAsrSettings:
    #: the service, tcp://HOST:PORT (wyoming-faster-whisper listens on 10300 by default); empty: plugin off
    uri: str = ""
    #: seconds to wait for the transcript of one utterance (connect included)
    timeout_s: float = field(default=15.0, metadata=ranged(0.1, 600))
    #: language asked for ("en"); empty: the service's default
    language: str = ""
    #: model name asked for; empty: the service's default
    model: str = ""

    def problems(self) -> list[tuple[str, str]]:
        if self.uri:
            try:
                tcp_address(self.uri)
            except ValueError as exc:
                return [("uri", str(exc))]
        return []


def transcribe(uri: str, audio: AudioChunk, *, timeout_s: float = 15.0, language: str = "",
               model: str = "") -> str:
    """The transcript a Wyoming speech-to-text service gives for ``audio`` (16-bit mono at its sample rate)."""
    host, port = tcp_address(uri)
    deadline = time.monotonic() + timeout_s
    request: dict[str, Any] = {k: v for k, v in (("language", language), ("name", model)) if v}
    fmt = {"rate": audio.sample_rate, "width": 2, "channels": 1}
    events = [WyEvent("transcribe", request), WyEvent("audio-start", {**fmt, "timestamp": 0})]
    for i in range(0, len(audio.samples), CHUNK_BYTES):
        events.append(WyEvent("audio-chunk", fmt, audio.samples[i:i + CHUNK_BYTES]))
    events.append(WyEvent("audio-stop", {}))
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"".join(encode(e) for e in events))
            stream = sock.makefile("rb")
            while True:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                reply = read_event_sync(stream, MAX_REPLY_BYTES)
                if reply is None:
                    raise PluginError(f"{NAME}: {uri} closed the connection without a transcript")
                if reply.type == "transcript":
                    text = reply.data.get("text")
                    return text if isinstance(text, str) else ""
                if reply.type == "error":
                    raise PluginError(f"{NAME}: {uri} answered with an error: {reply.data.get('text')}")
    except socket.timeout:
        raise PluginError(f"{NAME}: no transcript from {uri} within {timeout_s:g} s "
                          f"(plugins.settings.{NAME}.timeout_s)") from None
    except WyomingError as exc:
        raise PluginError(f"{NAME}: {uri} sent something that is not Wyoming: {exc}") from None
    except OSError as exc:
        raise PluginError(f"{NAME}: cannot reach {uri}: {exc.strerror or exc}") from None


class AsrWyomingPlugin:
    """Registered through the ``hark`` entry point ``asr_wyoming``; settings under
    ``plugins.settings.asr_wyoming``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = WyomingAsrSettings()
        self._limits: Any = None

    @property
    def active(self) -> bool:
        """Off without a uri (``Engine.implements`` then does not count it as a recognizer)."""
        return bool(self.settings.uri)

    @property
    def status(self) -> str:
        """One line for ``hark doctor``."""
        return f"transcribes with {self.settings.uri}" if self.settings.uri else "off (no uri)"

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, WyomingAsrSettings)
        self._limits = engine.config.limits

    @hookimpl(tryfirst=True)
    def hark_transcribe(self, audio: AudioChunk) -> NBest | None:
        s = self.settings
        if not s.uri:
            return None
        if self._limits is not None:
            check_audio_seconds(audio.duration, self._limits, what="utterance audio")
        text = transcribe(s.uri, audio, timeout_s=s.timeout_s, language=s.language, model=s.model)
        return NBest((Hypothesis(text.strip(), 1.0),), source=NAME)
