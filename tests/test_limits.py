"""Hostile inputs (issue 14): each is refused with one line naming its ``limits.*`` key, or bounded with a warning,
in little time and memory, through the real `hark` command and through the Python API.

Time and memory are measured per subprocess by a small wrapper (its own children's max RSS), against a baseline run
of the same command shape on a harmless input, so start-up cost stays out of the bounds. The bounds are generous
(4 s, 300 MB beyond the baseline): before the limits these inputs took 8 s to many minutes and 0.6 to 5 GB.
"""
from __future__ import annotations

import json
import random
import struct
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from hark import Engine, load_config
from hark.audio import WavFile, read_wav
from hark.config import LimitSettings
from hark.errors import ConfigError, InputError
from hark.limits import InputLimitError, json_depth
from hark.runtime import coerce_nbest, read_jsonl

ROOT = Path(__file__).resolve().parent.parent
HARK = [sys.executable, "-m", "hark.cli"]
EXTRA_SECONDS = 4.0
EXTRA_MB = 300.0

# Runs argv with stdin from a file; prints {"rc", "seconds", "max_rss_mb", "stdout", "stderr"} as JSON. A fresh
# process, so RUSAGE_CHILDREN holds exactly the one command's peak memory.
_MEASURE = r"""
import json, resource, subprocess, sys, time
argv, stdin = json.loads(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
with open(stdin, "rb") as f:
    p = subprocess.run(argv, stdin=f, capture_output=True, timeout=300)
seconds = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": p.returncode, "seconds": seconds, "max_rss_mb": rss,
                  "stdout": p.stdout.decode(errors="replace"), "stderr": p.stderr.decode(errors="replace")}))
"""


@pytest.fixture(scope="module")
def env_config(tmp_path_factory):
    """A config over the bundled skills with the trained intent tier on (the costly part of a long n-best list);
    the ASR plugin off, so no language model is compiled (the audio limits are checked before the engine starts)."""
    folder = tmp_path_factory.mktemp("limits")
    cfg = folder / "config.yaml"
    cfg.write_text(json.dumps({"skills": {"paths": [str(ROOT / "skills")]},
                               "plugins": {"disabled": ["asr_pocketsphinx"]}}))
    return cfg


def measure(args: list[str], config: Path, stdin: Path | None = None) -> dict:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("HARK_") or k in ("HARK_CACHE", "HARK_DATA")}
    env["HARK_CONFIG"] = str(config)
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps([*HARK, *args]), str(stdin or os.devnull)],
                         capture_output=True, text=True, timeout=400, env=env, cwd=str(config.parent))
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def baseline(env_config, tmp_path_factory):
    """Start-up plus a harmless parse: what every measured command costs anyway."""
    folder = tmp_path_factory.mktemp("baseline")
    line = folder / "one.jsonl"
    line.write_text('{"text": "turn off the kitchen lights"}\n')
    runs = [measure(["stream"], env_config, line) for _ in range(2)]
    assert all(r["rc"] == 0 for r in runs), runs
    return {"seconds": max(r["seconds"] for r in runs), "max_rss_mb": max(r["max_rss_mb"] for r in runs)}


def assert_bounded(run: dict, baseline: dict) -> None:
    # on a loaded machine start-up itself runs slower: allow twice the baseline; what this catches is a hostile
    # input costing minutes, not seconds (speed is measured in benchmarks/hostile_inputs.py)
    assert run["seconds"] < 2 * baseline["seconds"] + EXTRA_SECONDS, (run["seconds"], baseline)
    assert run["max_rss_mb"] < baseline["max_rss_mb"] + EXTRA_MB, (run["max_rss_mb"], baseline)


def assert_one_line_error(run: dict, *fragments: str) -> None:
    assert run["rc"] == 1, run
    lines = run["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run["stderr"]
    assert "Traceback" not in run["stderr"]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------------------------------- hostile inputs


def nbest_file(path: Path, n: int) -> Path:
    path.write_text(json.dumps([{"text": f"turn off the kitchen lights {i}", "score": 1.0 / (i + 1)}
                                for i in range(n)]))
    return path


def deep_json(path: Path, depth: int = 100_000) -> Path:
    path.write_text("[" * depth + "]" * depth + "\n")
    return path


def long_text(seed: int = 0, size: int = 851 * 1024) -> str:
    words = "apple river blue stone quick light door open seven table music play".split()
    rng = random.Random(seed)
    parts, n = ["unlock the front door"], 21
    while n < size:
        parts.append(rng.choice(words))
        n += len(parts[-1]) + 1
    return " ".join(parts)


def wav_header(path: Path, rate: int, channels: int = 1, data: bytes = b"\0\0" * 39000,
               declared: int | None = None) -> Path:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * 2 * channels) % 2 ** 32, 2 * channels, 16)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(int(16000 * seconds), dtype="<i2").tobytes())
    return path


def test_a_10000_hypothesis_nbest_list_keeps_the_best_10_with_a_warning(tmp_path, env_config, baseline):
    run = measure(["parse", "--compact", "--nbest", str(nbest_file(tmp_path / "n.json", 10_000))], env_config)
    assert run["rc"] == 0, run
    assert "cut to the best 10" in run["stderr"] and "limits.max_nbest" in run["stderr"]
    assert json.loads(run["stdout"])["intent"] == "LightsOff"
    assert_bounded(run, baseline)


def test_a_1000_hypothesis_nbest_list_on_stream_is_bounded(tmp_path, env_config, baseline):
    line = tmp_path / "n.jsonl"
    line.write_text(json.dumps({"nbest": json.loads(nbest_file(tmp_path / "n.json", 1000).read_text())}) + "\n")
    run = measure(["stream"], env_config, line)
    assert run["rc"] == 0 and "limits.max_nbest" in run["stderr"], run
    assert_bounded(run, baseline)


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_json_nested_100000_deep_on_parse_nbest(tmp_path, env_config, baseline, how):
    deep = deep_json(tmp_path / "deep.json")
    run = measure(["parse", "--nbest", str(deep) if how == "file" else "-"], env_config,
                  deep if how == "stdin" else None)
    assert_one_line_error(run, "nested more than 20 levels", "limits.max_json_depth")
    assert_bounded(run, baseline)


def test_json_nested_100000_deep_on_stream_is_an_error_event_and_the_stream_goes_on(tmp_path, env_config,
                                                                                     baseline):
    src = tmp_path / "in.jsonl"
    src.write_text(deep_json(tmp_path / "deep.json").read_text() + '{"text": "turn off the kitchen lights"}\n')
    run = measure(["stream"], env_config, src)
    assert run["rc"] == 0, run
    events = [json.loads(line) for line in run["stdout"].splitlines()]
    assert events[0]["kind"] == "error" and "limits.max_json_depth" in events[0]["data"]["message"]
    assert any(e["kind"] == "action" for e in events[1:])
    assert "internal error" not in run["stderr"]
    assert_bounded(run, baseline)


@pytest.mark.parametrize("shape", ["json", "text"])
def test_a_command_followed_by_851_kb_of_words_is_refused(tmp_path, env_config, baseline, shape):
    text = long_text()
    src = tmp_path / "in.jsonl"
    src.write_text((json.dumps({"text": text}) if shape == "json" else text) + "\n")
    run = measure(["stream"], env_config, src)
    events = [json.loads(line) for line in run["stdout"].splitlines()]
    assert [e["kind"] for e in events] == ["error"], events
    assert "limits.max_text_chars" in events[0]["data"]["message"]
    assert_bounded(run, baseline)


def test_a_line_longer_than_max_line_chars_is_skipped_in_bounded_memory(tmp_path, env_config, baseline):
    src = tmp_path / "in.jsonl"
    src.write_text("x" * 5_000_000 + "\nturn off the kitchen lights\n")
    run = measure(["stream"], env_config, src)
    events = [json.loads(line) for line in run["stdout"].splitlines()]
    assert events[0]["kind"] == "error" and "limits.max_line_chars" in events[0]["data"]["message"]
    assert any(e["kind"] == "action" for e in events)
    assert_bounded(run, baseline)


def test_a_wav_declaring_4_ghz_is_refused_from_its_header(tmp_path, env_config, baseline):
    run = measure(["transcribe", str(wav_header(tmp_path / "x.wav", 4_000_000_000))], env_config)
    assert_one_line_error(run, "4,000,000,000 Hz", "limits.max_sample_rate")
    assert_bounded(run, baseline)


def test_30_minutes_of_silence_on_transcribe_is_refused_at_once(tmp_path, env_config, baseline):
    run = measure(["transcribe", str(silent_wav(tmp_path / "silence.wav", 1800))], env_config)
    assert_one_line_error(run, "1,800.0 s", "limits.max_utterance_s")
    assert_bounded(run, baseline)


# ------------------------------------------------------------------------------------------------- Python API


@pytest.fixture(scope="module")
def engine():
    with Engine(load_config(None, env={}, **{"skills.paths": [str(ROOT / "skills")],
                                             "plugins.disabled": ["asr_pocketsphinx"]})) as eng:
        yield eng


def test_api_long_text_is_refused_naming_the_limit(engine):
    with pytest.raises(InputLimitError, match=r"limits\.max_text_chars") as info:
        engine.parse(long_text())
    assert info.value.key == "limits.max_text_chars"
    with pytest.raises(InputLimitError, match=r"limits\.max_text_words"):
        engine.parse(" ".join(["play"] * 101))


def test_api_long_nbest_is_cut_to_the_configured_best_with_a_warning(engine, caplog):
    items = [(f"turn off the kitchen lights {i}", -float(i)) for i in range(10_000)]
    result = engine.parse(items)
    assert len(result.nbest.hypotheses) == 10
    assert result.nbest.best.text == "turn off the kitchen lights 0"
    assert result.action is not None and result.action.name == "home.lights_off"
    assert "limits.max_nbest" in caplog.text
    short = coerce_nbest(items, LimitSettings(max_nbest=3))
    assert [h.text for h in short.hypotheses] == [t for t, _ in items[:3]]


def test_api_stream_reports_a_deep_line_and_goes_on(engine):
    import io

    src = io.StringIO("[" * 100_000 + "]" * 100_000 + "\nturn off the kitchen lights\n")
    events = list(engine.stream(read_jsonl(src, engine.config.limits)))
    assert events[0].kind == "error" and "limits.max_json_depth" in events[0].data["message"]
    assert any(e.kind == "action" for e in events)


def test_configured_limits_apply(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"skills: {{paths: [{ROOT / 'skills'}]}}\nplugins: {{disabled: [asr_pocketsphinx, intent]}}\n"
                   "limits: {max_text_chars: 20, max_nbest: 2}\n")
    with Engine(load_config(cfg, env={})) as eng:
        assert eng.parse("turn off the lights").action is not None
        with pytest.raises(InputLimitError, match="more than the 20 allowed"):
            eng.parse("turn off the kitchen lights")
        assert len(eng.parse(["a b", "c d", "e f"]).nbest.hypotheses) == 2


def test_limits_are_range_checked(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("limits:\n  max_nbest: 0\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:2: limits\.max_nbest: expected a number in \[1, 1000\], "
                                          r"got 0"):
        load_config(cfg, env={})
    cfg.write_text("limits:\n  max_texts: 3\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(cfg, env={})


def test_json_depth_ignores_brackets_in_strings_and_stops_early():
    assert json_depth('{"nbest": [{"text": "[[[[[[", "score": 1}]}') == 3
    assert json_depth('"\\"[[[" [1]') == 1
    assert json_depth("[" * 1_000_000, stop_at=20) == 21
    assert json_depth('"unterminated [[[[') == 0


# ----------------------------------------------------------------------------------------------- WAV headers


@pytest.mark.parametrize("rate,channels,key", [
    (4_000_000_000, 1, "limits.max_sample_rate"),
    (4000, 1, "limits.min_sample_rate"),
    (16000, 200, "limits.max_channels"),
])
def test_implausible_wav_headers_are_refused(tmp_path, rate, channels, key):
    path = wav_header(tmp_path / "x.wav", rate, channels)
    with pytest.raises(InputLimitError, match=key.replace(".", r"\.")):
        WavFile(path)


def test_a_rate_with_an_unwieldy_ratio_is_refused_before_the_filter_is_built(tmp_path):
    with pytest.raises(InputError, match="cannot resample 191999 Hz"):
        list(WavFile(wav_header(tmp_path / "x.wav", 191_999)))
    assert len(read_wav(wav_header(tmp_path / "y.wav", 44_100, data=b"\0\0" * 4410))) == 1600


def test_a_header_declaring_more_data_than_the_file_holds_is_read_as_far_as_it_goes(tmp_path, caplog):
    path = wav_header(tmp_path / "x.wav", 16000, data=b"\1\0" * 1600, declared=4_000_000_000)
    wav = WavFile(path)
    assert wav.duration == pytest.approx(0.1)
    assert "declares 4000000000 bytes" in caplog.text
    assert len(read_wav(path)) == 1600


def test_file_and_utterance_durations(tmp_path):
    path = silent_wav(tmp_path / "s.wav", 40)
    with pytest.raises(InputLimitError, match=r"limits\.max_utterance_s"):
        read_wav(path, utterance=True)
    assert len(read_wav(path)) == 40 * 16000  # a file may be longer than one utterance
    with pytest.raises(InputLimitError, match=r"limits\.max_file_s"):
        WavFile(path, limits=LimitSettings(max_file_s=30))
