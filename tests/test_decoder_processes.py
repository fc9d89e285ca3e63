"""Decoder processes (plugins/asr_pocketsphinx/workers.py): a stream opened while another decodes in this process
decodes in a child process, gives the same events as alone, and a child that dies is reported, not hung on.

Real pocketsphinx in real child processes, on espeak-ng speech."""
from __future__ import annotations

import numpy as np
import pytest

from hark import Engine, load_config

from conftest import ROOT, espeak, needs_espeak, silence

pytestmark = needs_espeak
CHUNK = 1600  # 100 ms


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARK_CACHE", str(tmp_path_factory.mktemp("asr-cache")))
        engine = Engine(load_config(ROOT / "config.yaml", env={}, **{
            "plugins.settings.asr_pocketsphinx.decoder_processes": 1}))
        yield engine
    engine.close()


@pytest.fixture(scope="module")
def command(tmp_path_factory):
    wav = tmp_path_factory.mktemp("speech") / "timer.wav"
    return np.concatenate([silence(0.4), espeak("set a ten minute timer", wav), silence(1.0)])


def _feed(stream, x):
    return [e for i in range(0, len(x), CHUNK) for e in stream.feed(x[i:i + CHUNK])]


def _actions(events):
    return [(e.data["name"], e.data["params"]["duration"]) for e in events if e.kind == "action"]


def test_a_second_concurrent_stream_decodes_in_a_child_with_the_same_result(engine, command):
    here = engine.open_stream(device_id="one")
    there = engine.open_stream(device_id="two")
    try:
        assert type(here.states["asr_pocketsphinx"]).__name__ == "LiveDecoder"
        remote = there.states["asr_pocketsphinx"]
        assert type(remote).__name__ == "RemoteDecoder"
        child = remote.process.proc
        assert child.poll() is None
        got_here, got_there = _feed(here, command), _feed(there, command)
        got_here += here.flush()
        got_there += there.flush()
    finally:
        here.close()
        there.close()
    assert _actions(got_here) == _actions(got_there) == [("timer.start", 600)]
    assert remote.streamed == 1  # decoded live in the child while it was spoken
    nbest_here = next(e for e in got_here if e.kind == "utterance").data
    nbest_there = next(e for e in got_there if e.kind == "utterance").data
    assert nbest_here == nbest_there


def test_a_dead_child_is_an_error_event_and_the_next_stream_gets_a_fresh_one(engine, command):
    here = engine.open_stream()
    there = engine.open_stream()
    try:
        child = there.states["asr_pocketsphinx"].process.proc
        events = _feed(there, command[: len(command) // 2])
        child.kill()
        child.wait()
        events += _feed(there, command[len(command) // 2:]) + there.flush()
        errors = [e.data for e in events if e.kind == "error"]
        assert errors and all(e["plugin"] == "asr_pocketsphinx" for e in errors)
        assert any("decoder process" in e["message"] and "exited" in e["message"] for e in errors)
        assert not _actions(events)  # nothing was understood, so nothing was done
    finally:
        there.close()
    again = engine.open_stream()
    try:
        fresh = again.states["asr_pocketsphinx"]
        assert fresh.process.proc.pid != child.pid
        assert _actions(_feed(again, command) + again.flush()) == [("timer.start", 600)]
    finally:
        again.close()
        here.close()


def test_closing_the_engine_ends_its_children(tmp_path, command):
    engine = Engine(load_config(ROOT / "config.yaml", env={"HARK_CACHE": str(tmp_path)},
                                **{"plugins.settings.asr_pocketsphinx.decoder_processes": 2}))
    streams = [engine.open_stream() for _ in range(3)]
    children = {s.states["asr_pocketsphinx"].process.proc for s in streams[1:]}
    assert len(children) == 2
    for s in streams:
        s.close()
    engine.close()
    assert all(c.poll() is not None for c in children)


def test_zero_processes_keeps_every_stream_here(tmp_path):
    engine = Engine(load_config(ROOT / "config.yaml", env={"HARK_CACHE": str(tmp_path)},
                                **{"plugins.settings.asr_pocketsphinx.decoder_processes": 0}))
    try:
        streams = [engine.open_stream() for _ in range(2)]
        assert [type(s.states["asr_pocketsphinx"]).__name__ for s in streams] == ["LiveDecoder"] * 2
        for s in streams:
            s.close()
    finally:
        engine.close()


def test_an_idle_child_exits_and_a_busy_one_stays(engine):
    import time

    from hark.plugins.asr_pocketsphinx.workers import Placement

    placement = Placement(engine.pm.get_plugin("asr_pocketsphinx").transcriber, 2, idle_exit_s=0.5)
    here, a, b = placement.open(), placement.open(), placement.open()
    try:
        assert a.process is not b.process  # two children, one stream each
        placement.close(a)
        time.sleep(1.5)
        assert a.process.proc.poll() is not None  # idle past its time: gone
        assert b.process.proc.poll() is None and b.partial(0.0) is None  # busy: still answering
        c = placement.open()  # a new stream starts a fresh child where the idle one was
        assert c.process.alive and c.process is not a.process
        placement.close(c)
    finally:
        placement.close(b)
        placement.close(here)
        placement.shutdown()


def test_a_failed_stream_still_frees_its_decoder_in_the_child(engine):
    """The child protocol itself, in this process over byte buffers: an error of a call that answers nothing is
    raised by the stream's next answering call, and closing a failed stream still removes its decoder."""
    import io

    from hark.plugins.asr_pocketsphinx.workers import _receive, _send, child_main

    inp = io.BytesIO()
    _send(inp, engine.pm.get_plugin("asr_pocketsphinx").transcriber.init_args())
    for message in [(None, 1, "open", ()), (None, 1, "audio", ("not audio",)), (1, 1, "partial", (0.0,)),
                    (None, 1, "close", ()), (2, 1, "partial", (0.0,)), (3, 2, "nonsense", ())]:
        _send(inp, message)
    inp.seek(0)
    out = io.BytesIO()
    child_main(inp, out)
    out.seek(0)
    answers = [_receive(out) for _ in range(3)]
    assert answers[0][0] == 1 and answers[0][2] is not None  # the audio call's failure, at the next question
    assert answers[1][0] == 2 and "KeyError" in answers[1][2]  # closed: the decoder is gone
    assert answers[2][0] == 3 and "unknown call" in answers[2][2]
