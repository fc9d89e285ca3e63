"""`hark serve` as users run it: a real server process on localhost, real HTTP requests, a real WebSocket
client and Home Assistant's own Wyoming client. Bad input gets a clear error and the server keeps serving."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from serving import DEMO, Server, pcm

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def server():
    srv = Server()
    yield srv
    code, err = srv.stop()  # SIGTERM: a clean exit, no traceback from anything the tests threw at it
    assert code == 0 and "Traceback" not in err, err[-3000:]


# ------------------------------------------------------------------------------------------------------- HTTP


def test_parse_text_and_nbest(server):
    status, out = server.request("POST", "/parse", {"text": "set a timer for ten minutes"})
    assert status == 200 and out["intent"] == "SetTimer" and out["action"]["params"]["duration"] == 600
    nbest = [{"text": "turn of the kitchen lights", "score": 0.6},
             {"text": "turn off the kitchen lights", "score": 0.4}]
    status, out = server.request("POST", "/parse", {"nbest": nbest})
    assert status == 200 and out["intent"] == "LightsOff" and out["action"]["params"]["room"] == "kitchen"


def test_confirmation_spans_two_requests_of_one_conversation(server):
    status, out = server.request("POST", "/parse", {"text": "unlock the front door", "conversation_id": "hall"})
    assert status == 200 and out["action"] is None and out["confirm"]["intent"]
    status, out = server.request("POST", "/parse", {"text": "yes", "conversation_id": "hall"})
    assert status == 200 and out["action"] is not None, out
    # without the conversation id nothing is pending: a bare "yes" unlocks nothing
    status, out = server.request("POST", "/parse", {"text": "yes"})
    assert status == 200 and out["action"] is None


@pytest.mark.parametrize("body, status, words", [
    (b'{"text": ', 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b"", 400, "empty body"),
    (b"\xff\xfe{}", 400, "UTF-8"),
    (b'{"nbest": "turn on"}', 400, "nbest"),
    (b'{"nbest": [{"score": 1.0}]}', 400, "text"),
    (b'{"nbest": {"nbest": []}}', 400, "list"),
    (b'{"text": 5}', 400, "string"),
    (b'{"txt": "hi"}', 400, "unknown key"),
    (b'{"text": "hi", "now": "yesterday"}', 400, "ISO 8601"),
    (b'{"text": "' + b"go " * 300 + b'"}', 400, "max_text_words"),
    (b"[" * 100 + b"]" * 100, 400, "nested"),
])
def test_bad_requests_get_a_clear_error(server, body, status, words):
    got, out = server.request("POST", "/parse", body, {"Content-Type": "application/json"})
    assert got == status and words in out["error"], out


def test_oversized_body_is_refused_and_the_server_goes_on(server):
    big = b'{"text": "' + b"a" * 300_000 + b'"}'
    status, out = server.request("POST", "/parse", big)
    assert status == 413 and "serve.max_body_bytes" in out["error"]
    # the same body sent chunked, with no Content-Length: counted while read
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"POST /parse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for i in range(0, len(big), 65536):
                part = big[i:i + 65536]
                s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the rest arrives
        reply = s.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert server.request("GET", "/health")[0] == 200


def test_skills_health_metrics_and_resolve(server):
    status, out = server.request("GET", "/skills")
    assert status == 200 and {"timer", "home", "video"} <= {s["name"] for s in out["skills"]}
    status, out = server.request("GET", "/health")
    assert status == 200 and out["status"] == "ok" and out["asr"] is True
    status, out = server.request("POST", "/resolve", {"skill": "video", "slot": "title", "text": "jurassic parking"})
    assert status == 200 and out["matches"][0]["value"] == "Jurassic Park", out
    status, out = server.request("POST", "/resolve", {"skill": "video", "slot": "nope", "text": "x"})
    assert status == 404 and "title" in out["error"]
    status, text = server.request("GET", "/metrics")
    assert status == 200 and 'hark_requests_total{route="/parse",status="200"}' in text
    assert "hark_request_seconds_bucket" in text and "hark_open_connections" in text


# --------------------------------------------------------------------------------------------------- WebSocket


async def _events(ws, until: str, timeout: float = 20) -> list[dict]:
    out = []
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        out.append(message)
        if message["kind"] in (until, "error"):
            return out


def test_websocket_text_audio_and_bad_frames(server):
    from websockets.asyncio.client import connect

    audio, rate, channels = pcm(DEMO / "play_the_matrix.wav")
    assert channels == 1

    async def session():
        async with connect(f"ws://127.0.0.1:{server.port}/stream?rate={rate}") as ws:
            await ws.send(json.dumps({"text": "turn off the kitchen lights"}))
            got = await _events(ws, "action")
            assert got[-1]["kind"] == "action" and got[-1]["data"]["params"]["room"] == "kitchen"
            await ws.send("{not json")
            got = await _events(ws, "action")
            assert got[-1]["kind"] == "error" and "not valid JSON" in got[-1]["data"]["message"]
            await ws.send((DEMO / "play_the_matrix.wav").read_bytes()[:4000])
            got = await _events(ws, "action")
            assert got[-1]["kind"] == "error" and "WAV file" in got[-1]["data"]["message"]
            for i in range(0, len(audio), 3200):  # 100 ms frames, as a microphone sends them
                await ws.send(audio[i:i + 3200])
            await ws.send(b"\0\0" * rate)  # a second of silence ends the utterance
            await ws.send(json.dumps({"type": "flush"}))
            got = await _events(ws, "action")
            assert got[-1]["kind"] == "action" and got[-1]["data"]["params"]["title"] == "The Matrix", got[-3:]

    asyncio.run(session())


def test_abrupt_disconnects_leave_the_server_serving(server):
    from websockets.asyncio.client import connect

    audio, rate, _ = pcm(DEMO / "set_a_timer_for_ten_minutes.wav")

    async def drop_mid_utterance():
        ws = await connect(f"ws://127.0.0.1:{server.port}/stream")
        await ws.send(audio[: len(audio) // 2])
        ws.transport.abort()  # no close frame: the client vanished

    for _ in range(3):
        asyncio.run(drop_mid_utterance())
    with socket.create_connection(("127.0.0.1", server.wyoming)) as s:  # half a Wyoming event, then gone
        s.sendall(b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, '
                  b'"payload_length": 4000}\n' + b"\0" * 100)
    time.sleep(0.5)
    assert server.request("POST", "/parse", {"text": "set a timer for ten minutes"})[1]["intent"] == "SetTimer"
    deadline = time.time() + 10
    while "hark_open_connections 0" not in server.request("GET", "/metrics")[1]:
        assert time.time() < deadline, "dropped connections were not released"
        time.sleep(0.2)


# ----------------------------------------------------------------------------------------------------- Wyoming


def _wyoming(server, events, replies: int = 1):
    from wyoming.client import AsyncTcpClient

    async def talk():
        out = []
        async with AsyncTcpClient("127.0.0.1", server.wyoming) as client:
            for event in events:
                await client.write_event(event)
            for _ in range(replies):
                out.append(await asyncio.wait_for(client.read_event(), 30))
        return out

    return asyncio.run(talk())


def test_wyoming_describe_lists_intent_handle_and_asr(server):
    from wyoming.info import Describe, Info

    info = Info.from_event(_wyoming(server, [Describe().event()])[0])
    assert [p.name for p in info.intent] == ["hark"] and [p.name for p in info.handle] == ["hark"]
    assert [p.name for p in info.asr] == ["hark-asr"] and info.asr[0].models[0].languages == ["en"]


def test_wyoming_recognize_and_handle(server):
    from wyoming.asr import Transcript
    from wyoming.handle import Handled, NotHandled
    from wyoming.intent import Intent, NotRecognized, Recognize

    got = _wyoming(server, [Recognize(text="set a timer for ten minutes").event(),
                            Recognize(text="what is the meaning of life").event(),
                            Recognize(text="don't turn off the kitchen lights").event()], replies=3)
    intent = Intent.from_event(got[0])
    assert intent.name == "timer.SetTimer" and [(e.name, e.value) for e in intent.entities] == [("duration", 600)]
    assert NotRecognized.is_type(got[1].type) and NotRecognized.is_type(got[2].type)
    # the intent role: Home Assistant would carry out an intent at once, so unlocking asks first
    ask = {"conversation_id": "wy-0"}
    got = _wyoming(server, [Recognize(text="unlock the front door", context=ask).event(),
                            Recognize(text="yes", context=ask).event()], replies=2)
    assert NotRecognized.is_type(got[0].type) and "?" in got[0].data["text"]
    assert Intent.from_event(got[1]).name == "home.UnlockDoor"
    ctx = {"conversation_id": "wy-1", "device_id": "hall"}
    got = _wyoming(server, [Transcript(text="unlock the front door", context=ctx).event(),
                            Transcript(text="yes", context=ctx).event(),
                            Transcript(text="banana helicopter", context=ctx).event()], replies=3)
    assert Handled.is_type(got[0].type) and "?" in Handled.from_event(got[0]).text
    assert Handled.is_type(got[1].type) and "nlock" in Handled.from_event(got[1]).text
    assert NotHandled.is_type(got[2].type) and Handled.from_event(got[0]).context == ctx


@pytest.mark.parametrize("name, words", [
    ("set_a_timer_for_ten_minutes", "set a timer for ten minutes"),
    ("turn_off_the_kitchen_lights", "turn off the kitchen lights"),
    ("play_the_matrix", "play the matrix"),
])
def test_wyoming_asr_transcribes_the_demo_wavs(server, name, words):
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    audio, rate, channels = pcm(DEMO / f"{name}.wav")
    fmt = dict(rate=rate, width=2, channels=channels)
    events = [Transcribe(language="en").event(), AudioStart(**fmt).event()]
    events += [AudioChunk(audio=audio[i:i + 2048], **fmt).event() for i in range(0, len(audio), 2048)]
    reply = _wyoming(server, events + [AudioStop().event()])[0]
    assert Transcript.is_type(reply.type) and Transcript.from_event(reply).text == words
    assert reply.data["hark"]["intent"] is not None  # what it understood comes along


def test_wyoming_bad_events_get_errors(server):
    from wyoming.audio import AudioStart
    from wyoming.event import Event

    got = _wyoming(server, [AudioStart(rate=16000, width=4, channels=1).event(),
                            Event("recognize", {"text": 5}), Event("ping")], replies=3)
    assert got[0].type == "error" and "16-bit" in got[0].data["text"]
    assert got[1].type == "error" and "string" in got[1].data["text"]
    assert got[2].type == "pong"
    with socket.create_connection(("127.0.0.1", server.wyoming)) as s:  # a payload bigger than allowed
        s.sendall(b'{"type": "audio-chunk", "payload_length": 999999999}\n')
        reply = json.loads(s.makefile("rb").readline())
    assert reply["type"] == "error"
    assert _wyoming(server, [Event("ping")])[0].type == "pong"


# ------------------------------------------------------------------------------------------------- operation


def test_token_required_off_loopback_and_checked_on_every_request():
    off = subprocess.run([sys.executable, "-m", "hark.cli", "serve", "--host", "0.0.0.0"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "HARK_TOKEN": ""})
    assert off.returncode == 1 and "token" in off.stderr and "Traceback" not in off.stderr
    srv = Server("--token", TOKEN)
    try:
        assert srv.request("GET", "/health")[0] == 401
        assert srv.request("POST", "/parse", {"text": "hi"}, {"Authorization": "Bearer wrong"})[0] == 401
        status, out = srv.request("POST", "/parse", {"text": "set a timer for ten minutes"},
                                  {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and out["intent"] == "SetTimer"

        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        async def ws(url):
            async with connect(url) as conn:
                await conn.send(json.dumps({"text": "set a timer for ten minutes"}))
                return await _events(conn, "action")

        with pytest.raises(InvalidStatus):
            asyncio.run(ws(f"ws://127.0.0.1:{srv.port}/stream"))
        assert asyncio.run(ws(f"ws://127.0.0.1:{srv.port}/stream?token={TOKEN}"))[-1]["kind"] == "action"
    finally:
        code, err = srv.stop()
    assert code == 0, err[-2000:]
    assert "Traceback" not in err


def test_sigterm_finishes_the_request_in_flight():
    srv = Server()
    body = json.dumps({"text": "set a timer for ten minutes"}).encode()
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        s.sendall(b"POST /parse HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)  # half a request has arrived
        time.sleep(1.0)
        s.sendall(body[10:])
        s.settimeout(30)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.split(b"\r\n\r\n", 1)[1]) < _content_length(raw):
            chunk = s.recv(65536)  # headers and body may come in separate segments
            if not chunk:
                break
            raw += chunk
        reply = raw.decode(errors="replace")
    assert reply.startswith("HTTP/1.1 200") and '"intent":"SetTimer"' in reply.replace(" ", ""), reply[:300]
    assert srv.proc.wait(timeout=30) == 0


def _content_length(raw: bytes) -> int:
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0
