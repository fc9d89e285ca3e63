"""Audio sources (engine/audio.py): WAV decoding and resampling, raw PCM, and a real microphone stream.

WAV files are written here with the stdlib ``wave`` module (and by hand for float and WAVE_FORMAT_EXTENSIBLE,
which ``wave`` cannot write). The microphone test opens a real sounddevice/PortAudio InputStream on an ALSA
``file`` device that reads a raw file, configured through an ``.asoundrc`` in a temporary HOME; it runs in a
subprocess because PortAudio reads the ALSA configuration once per process.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from hark.audio import RawPCM, Resampler, WavFile, read_wav, resample
from hark.errors import InputError
from hark.types import AudioChunk

SR = 16000


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def write_wav(path: Path, x: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> Path:
    """Integer PCM through the stdlib writer; ``x`` float in [-1, 1), duplicated across channels."""
    if width == 1:
        data = np.clip(np.round(x * 128 + 128), 0, 255).astype(np.uint8)
    else:
        scale = 2 ** (8 * width - 1)
        v = np.clip(np.round(x * scale), -scale, scale - 1).astype(np.int64)
        data = v
    frames = np.repeat(data[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        raw = frames.astype(np.uint8).tobytes()
    elif width == 3:
        b = frames.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        raw = b.tobytes()
    else:
        raw = frames.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


def write_riff(path: Path, data: bytes, codec: int, channels: int, rate: int, bits: int,
               extensible: bool = False) -> Path:
    """A WAV file by hand: float (codec 3) or WAVE_FORMAT_EXTENSIBLE headers the stdlib cannot write."""
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) \
            + struct.pack("<H", codec) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", codec, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", 4) + b"INFO" \
        + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def peak_hz(x: np.ndarray, rate: int = SR) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spec) * rate / len(x))


def rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-20)


# ------------------------------------------------------------------------------------------------ WAV files


def test_16k_mono_16bit_passes_through_bit_exact(tmp_path):
    x = tone(440, 1.0, SR)
    path = write_wav(tmp_path / "a.wav", x, SR)
    got = read_wav(path)
    want = np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("rate,channels,width", [
    (8000, 1, 2), (44100, 1, 2), (48000, 1, 2), (44100, 2, 2), (48000, 2, 3), (22050, 1, 1), (32000, 1, 4),
    (11025, 2, 1), (16000, 2, 3),
], ids=lambda v: str(v))
def test_any_wav_becomes_16k_mono_with_the_tone_kept(tmp_path, rate, channels, width):
    seconds = 1.25
    path = write_wav(tmp_path / "in.wav", tone(1000, seconds, rate), rate, channels, width)
    source = WavFile(path)
    assert (source.source_rate, source.channels) == (rate, channels)
    assert source.duration == pytest.approx(seconds, abs=1 / rate)
    chunks = list(source)
    assert all(c.sample_rate == SR for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(len(c.samples) == 960 for c in chunks[:-1]) and 0 < len(chunks[-1].samples) <= 960
    assert [c.timestamp for c in chunks[:3]] == [0.0, 0.03, 0.06]
    samples = np.frombuffer(b"".join(c.samples for c in chunks), dtype="<i2") / 32768.0
    assert len(samples) == int(np.ceil(round(seconds * rate) * SR / rate))  # duration kept to the sample
    assert abs(peak_hz(samples) - 1000) <= SR / len(samples)
    middle = samples[len(samples) // 4: 3 * len(samples) // 4]
    assert 20 * np.log10(np.max(np.abs(middle)) / 0.5) == pytest.approx(0, abs=0.3 if width > 1 else 0.6)


@pytest.mark.parametrize("rate,freq", [(48000, 12000), (44100, 9000), (32000, 8500)])
def test_tone_above_the_new_nyquist_is_attenuated(tmp_path, rate, freq):
    path = write_wav(tmp_path / "hi.wav", tone(freq, 1.0, rate), rate, 1, 3)
    out = read_wav(path) / 32768.0
    inside = out[SR // 10: -SR // 10]
    assert rms_db(inside) - rms_db(tone(freq, 1.0, rate)) < -60  # would alias to an audible tone without a filter


def test_float32_and_extensible_wav(tmp_path):
    x = tone(1000, 0.5, 48000, amp=0.25)
    stereo = np.repeat(x[:, None], 2, axis=1).astype("<f4").tobytes()
    path = write_riff(tmp_path / "float.wav", stereo, 3, 2, 48000, 32)
    out = read_wav(path) / 32768.0
    assert len(out) == 8000 and abs(peak_hz(out) - 1000) <= 2
    assert np.max(np.abs(out[2000:6000])) == pytest.approx(0.25, abs=0.005)
    pcm24 = (np.round(x * 2 ** 23).astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]).tobytes()
    ext = write_riff(tmp_path / "ext.wav", pcm24, 1, 1, 48000, 24, extensible=True)
    assert np.allclose(read_wav(ext) / 32768.0, out, atol=2e-4)
    f64 = write_riff(tmp_path / "f64.wav", x.astype("<f8").tobytes(), 3, 1, 48000, 64, extensible=True)
    assert np.allclose(read_wav(f64) / 32768.0, out, atol=2e-4)


def test_resampler_streams_like_the_whole_signal():
    x = np.random.default_rng(0).standard_normal(44100) * 0.1
    whole = resample(x, 44100, SR)
    r = Resampler(44100, SR)
    parts = [r.process(x[i:i + 333]) for i in range(0, len(x), 333)] + [r.flush()]
    assert np.allclose(np.concatenate(parts), whole)
    assert len(whole) == SR


def test_resampler_keeps_time_alignment():
    for rate in (8000, 44100, 48000):
        out = resample(tone(300, 1.0, rate), rate, SR)
        ref = tone(300, 1.0, SR)
        assert np.max(np.abs(out - ref)[800:-800]) < 1e-3  # no delay, no gain error


@pytest.mark.parametrize("setup,fragment", [
    (lambda p: None, "no such WAV file"),
    (lambda p: p.write_text("just text, not audio\n"), "not a WAV file"),
    (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt "), "no data chunk"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: write_riff(p, b"\x00" * 100, 6, 1, 8000, 8), "compressed WAV (A-law)"),
    (lambda p: write_riff(p, b"\x00" * 100, 1, 1, 8000, 12), "12-bit PCM"),
], ids=["missing", "text", "truncated", "folder", "alaw", "12bit"])
def test_bad_wav_files_are_input_errors_naming_the_file(tmp_path, setup, fragment):
    path = tmp_path / "bad.wav"
    setup(path)
    with pytest.raises(InputError) as err:
        WavFile(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_truncated_data_chunk_reads_what_is_there(tmp_path, caplog):
    path = write_wav(tmp_path / "t.wav", tone(440, 1.0, SR), SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 3201])  # cut mid-sample
    samples = read_wav(path)
    assert len(samples) == SR - 1601
    assert "truncated" in caplog.text


# --------------------------------------------------------------------------------------------------- raw PCM


def test_raw_pcm_frames_and_odd_trailing_byte(caplog):
    x = (tone(440, 0.1, SR) * 32768).astype("<i2").tobytes()
    chunks = list(RawPCM(io.BytesIO(x + b"\x01")))
    assert [len(c.samples) for c in chunks] == [960, 960, 960, 320]
    assert b"".join(c.samples for c in chunks) == x
    assert chunks[-1].timestamp == 0.09 and chunks[-1].index == 3
    assert "1 byte dropped" in caplog.text


def test_raw_pcm_at_another_rate_is_resampled():
    x = (tone(1000, 1.0, 8000) * 32768).astype("<i2").tobytes()
    out = np.frombuffer(b"".join(c.samples for c in RawPCM(io.BytesIO(x), sample_rate=8000)), dtype="<i2")
    assert len(out) == SR and abs(peak_hz(out / 32768.0) - 1000) <= 1


# ------------------------------------------------------------------------------------------------ microphone


ASOUNDRC = """
pcm.harkfile {{
  type plug
  slave {{
    pcm {{ type file; slave.pcm "null"; file "/dev/null"; infile "{infile}"; format "raw" }}
    format S16_LE
    rate 16000
    channels 1
  }}
  hint {{ show on; description "hark test input" }}
}}
"""

MIC_SCRIPT = """
import json, time
import numpy as np
from hark.audio import Microphone, list_devices
from hark.errors import InputError

out = {"devices": list_devices()}
mic = Microphone("harkfile", queue_seconds=0.3)  # room for 10 frames
frames = []
for chunk in mic:
    frames.append(chunk)
    if len(frames) == 1:
        time.sleep(0.5)  # the null device runs unthrottled: the full queue drops blocks and counts overflows
    if len(frames) == 40:
        break  # leaving the loop closes the stream
out["closed_after_loop"] = mic._stream is None
out["indexes"] = [c.index for c in frames]
out["timestamps"] = [c.timestamp for c in frames[:3]]
out["sizes"] = sorted({len(c.samples) for c in frames})
out["first"] = np.frombuffer(b"".join(c.samples for c in frames), dtype="<i2")[:4800].tolist()
out["overflows"] = mic.overflows
with Microphone(0) as again:
    frames_again = iter(again)
    next(frames_again)
    out["open_in_with"] = again._stream is not None
out["closed_after_with"] = again._stream is None
for bad in ("no such mic", 7):
    try:
        Microphone(bad).open()
    except InputError as exc:
        out.setdefault("errors", []).append(str(exc))
print(json.dumps(out))
"""


@pytest.fixture
def alsa_home(tmp_path):
    """Environment whose ALSA configuration offers one capture device, 'harkfile', reading a 440 Hz tone."""
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        pytest.skip(f"PortAudio is not installed ({exc}); `make system-deps` installs libportaudio2")
    infile = tmp_path / "in.raw"
    infile.write_bytes((tone(440, 2.0, SR) * 32768).astype("<i2").tobytes())
    home = tmp_path / "home"
    home.mkdir()
    (home / ".asoundrc").write_text(textwrap.dedent(ASOUNDRC.format(infile=infile)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "ALSA_", "XDG_CONFIG"))}
    env["HOME"] = str(home)
    return env, infile


def test_microphone_reads_a_real_alsa_stream_and_closes_cleanly(alsa_home):
    env, infile = alsa_home
    proc = subprocess.run([sys.executable, "-c", MIC_SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [d["name"] for d in out["devices"]] == ["harkfile"]
    assert out["indexes"] == list(range(40)) and out["sizes"] == [960]
    assert out["timestamps"] == [0.0, 0.03, 0.06]
    want = np.frombuffer(infile.read_bytes(), dtype="<i2")[:4800]
    assert out["first"] == want.tolist()  # the file's samples, in order, through PortAudio
    assert out["closed_after_loop"] and out["open_in_with"] and out["closed_after_with"]
    assert out["overflows"] > 0 and "input overflow" in proc.stderr  # counted and reported at close
    assert "no input device matches 'no such mic'; input devices: [0] harkfile" in out["errors"][0]
    assert "audio device 7 is not an input device" in out["errors"][1]


def test_hark_devices_lists_the_alsa_device(alsa_home):
    env, _ = alsa_home
    hark = [sys.executable, "-m", "hark.cli"]
    proc = subprocess.run([*hark, "devices"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "* [0] harkfile  (ALSA" in proc.stdout
    listed = json.loads(subprocess.run([*hark, "devices", "--json"], capture_output=True, text=True, env=env,
                                       timeout=60).stdout)
    assert listed[0]["name"] == "harkfile" and listed[0]["default"] is True
