"""The asr_wyoming plugin: hark using a Wyoming speech-to-text service, tested against hark's own Wyoming ASR
server (`hark serve --wyoming`) running on localhost."""
from __future__ import annotations

import socket
import wave

import pytest

from hark import Engine
from hark.config import load_config
from hark.errors import ConfigError
from hark.types import AudioChunk
from serving import DEMO, ROOT, Server, free_port, pcm


@pytest.fixture(scope="module")
def server():
    srv = Server()
    yield srv
    srv.stop()


def engine_for(uri: str, **settings) -> Engine:
    config = load_config(plugins={"disabled": ["asr_pocketsphinx"],
                                  "settings": {"asr_wyoming": {"uri": uri, **settings}}})
    return Engine(config)


def test_transcribes_through_the_service_and_acts(server):
    audio, rate, _ = pcm(DEMO / "set_a_timer_for_ten_minutes.wav")
    with engine_for(f"tcp://127.0.0.1:{server.wyoming}") as engine:
        nbest = engine.transcribe(AudioChunk(audio, rate))
        assert nbest.source == "asr_wyoming" and nbest.best.text == "set a timer for ten minutes"
        with engine.open_stream(sample_rate=rate) as stream:
            events = stream.feed(audio + b"\0\0" * rate) + stream.close()
    actions = [e for e in events if e.kind == "action"]
    assert len(actions) == 1 and actions[0].data["params"]["duration"] == 600


def test_an_unreachable_service_is_a_reported_error_not_a_crash():
    audio, rate, _ = pcm(DEMO / "play_the_matrix.wav")
    with engine_for(f"tcp://127.0.0.1:{free_port()}", timeout_s=2) as engine:
        sink: list = []
        assert engine.transcribe(AudioChunk(audio, rate), sink=sink) is None
    errors = [e for e in sink if e.kind == "error"]
    assert errors and "cannot reach" in errors[0].data["message"]


def test_a_silent_service_times_out():
    with socket.socket() as listener:  # accepts, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        uri = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        with engine_for(uri, timeout_s=0.5) as engine:
            sink: list = []
            assert engine.transcribe(AudioChunk(b"\0\0" * 1600, 16000), sink=sink) is None
    assert "within 0.5 s" in [e for e in sink if e.kind == "error"][0].data["message"]


def test_a_bad_uri_names_the_setting():
    with pytest.raises(ConfigError, match="asr_wyoming.uri.*tcp://HOST:PORT"):
        engine_for("http://localhost:10300")


def test_without_a_uri_the_next_recognizer_answers():
    with wave.open(str(DEMO / "play_the_matrix.wav")) as w:
        audio, rate = w.readframes(w.getnframes()), w.getframerate()
    with Engine(load_config()) as engine:  # asr_wyoming loaded but off: pocketsphinx transcribes
        assert engine.transcribe(AudioChunk(audio, rate)).source == "asr_pocketsphinx"


def test_a_failing_recognizer_behind_hark_serve_is_an_error_event_not_an_empty_transcript(tmp_path):
    """hark serve's Wyoming speech-to-text, itself transcribing through an unreachable service: Home Assistant
    must hear that recognition failed, not get an empty transcript it would read as silence."""
    import asyncio

    from wyoming.asr import Transcribe
    from wyoming.audio import AudioChunk as WyChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    config = tmp_path / "config.yaml"
    config.write_text(f"skills:\n  paths: [{ROOT / 'skills'}]\n"
                      "plugins:\n  disabled: [asr_pocketsphinx]\n  settings:\n    asr_wyoming:\n"
                      f"      uri: tcp://127.0.0.1:{free_port()}\n      timeout_s: 2\n")
    srv = Server(config=config)
    try:
        async def ask():
            async with AsyncTcpClient("127.0.0.1", srv.wyoming) as client:
                fmt = dict(rate=16000, width=2, channels=1)
                for event in (Transcribe().event(), AudioStart(**fmt).event(),
                              WyChunk(audio=b"\0\0" * 1600, **fmt).event(), AudioStop().event()):
                    await client.write_event(event)
                return await asyncio.wait_for(client.read_event(), 30)

        reply = asyncio.run(ask())
        assert reply.type == "error" and reply.data["code"] == "asr-failed"
        assert "asr_wyoming" in reply.data["text"] and "cannot reach" in reply.data["text"]
        assert srv.request("GET", "/health")[0] == 200  # and it goes on serving
    finally:
        srv.stop()
