"""Audio sources: WAV files, raw PCM streams and microphones, as 16 kHz mono int16 ``AudioChunk`` frames.

Every source is an iterable of ``AudioChunk`` (``samples`` little-endian int16, ``sample_rate`` 16000 by default,
``index`` counting from 0, ``timestamp`` = seconds from the start of the stream to the frame's first sample) and a
context manager that releases its file or device. Frames are ``frame_ms`` long (30 ms = 480 samples); only the
last frame of a file may be shorter. Feed them to ``Engine.stream``.

Resampling is a polyphase windowed-sinc filter (Kaiser window, about 70 dB stop band from the output Nyquist
frequency, pass band to 85 % of it) in numpy, streaming so that long files and microphones at 44.1/48 kHz need no
more memory than a block. This module holds sources and resampling only; voice activity detection is the ``vad``
plugin's business.

``sounddevice`` (PortAudio) is imported only when a microphone is opened or listed, so files and pipes work on a
machine without PortAudio.
"""
from __future__ import annotations

import logging
import math
import queue
import struct
import threading
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np

from . import limits as limits_
from .config import LimitSettings
from .errors import InputError
from .types import AudioChunk

__all__ = [
    "SAMPLE_RATE", "FRAME_MS", "AudioSource", "WavFile", "RawPCM", "Microphone", "Resampler", "resample",
    "read_wav", "list_devices",
]

log = logging.getLogger("hark")

#: the rate every source delivers unless told otherwise
SAMPLE_RATE = 16000
#: default frame length
FRAME_MS = 30


# ------------------------------------------------------------------------------------------------- resampling


class Resampler:
    """Streaming rational-factor resampler: ``process(block)`` as input arrives, ``flush()`` at the end.

    Polyphase FIR: the prototype low-pass is a Kaiser-windowed sinc designed at ``L * src_rate`` (``L/M`` is the
    reduced ratio ``dst/src``), cut off at the lower of the two Nyquist frequencies: pass band to ``passband``
    times it, at least ``attenuation_db`` down from it on. The filter's delay is compensated, so output sample
    ``n`` is the signal at time ``n / dst_rate``; a whole signal of ``N`` samples gives ``ceil(N * dst / src)``.
    Input and output are float arrays (any scale).
    """

    def __init__(self, src_rate: int, dst_rate: int, *, passband: float = 0.85, attenuation_db: float = 70.0):
        if int(src_rate) != src_rate or int(dst_rate) != dst_rate or src_rate <= 0 or dst_rate <= 0:
            raise InputError(f"resampling needs positive whole sample rates, got {src_rate} -> {dst_rate}")
        limits_.check_resample_ratio(int(src_rate), int(dst_rate))
        self.src_rate, self.dst_rate = int(src_rate), int(dst_rate)
        g = math.gcd(self.src_rate, self.dst_rate)
        self.up, self.down = self.dst_rate // g, self.src_rate // g
        self.identity = self.up == self.down
        if not self.identity:
            self._design(passband, attenuation_db)
        self.reset()

    def _design(self, passband: float, attenuation_db: float) -> None:
        L, M = self.up, self.down
        edge = 0.5 / max(L, M)  # lower Nyquist, in cycles per sample of the upsampled signal
        width = (1.0 - passband) * edge  # transition band: passband*edge .. edge
        beta = 0.1102 * (attenuation_db - 8.7)
        taps = int(math.ceil((attenuation_db - 7.95) / (2.285 * 2 * math.pi * width)))
        half = taps // 2 + 1
        n = np.arange(-half, half + 1, dtype=np.float64)
        cutoff = (1.0 + passband) / 2 * edge
        h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(len(n), beta)
        h *= L / h.sum()  # unity gain at DC after zero-stuffing by L
        self._delay = half  # centre tap
        k = -(-len(h) // L)  # taps per phase
        table = np.zeros((L, k))
        padded = np.zeros(k * L)
        padded[: len(h)] = h
        for p in range(L):
            table[p] = padded[p::L]
        self._table = table
        self._k = k

    def reset(self) -> None:
        """Forget the stream: the next ``process`` starts a new signal at time 0."""
        self._n_in = 0  # input samples received
        self._n_out = 0  # output samples produced
        if not self.identity:
            self._buf = np.zeros(self._k)  # input history; _buf[0] is input sample _buf_start
            self._buf_start = -self._k

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample the next block of a signal; returns the output samples that are complete so far."""
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        self._n_in += len(x)
        if self.identity:
            self._n_out += len(x)
            return x
        self._buf = np.concatenate([self._buf, x])
        # output n needs input up to floor((n*M + D) / L); it is ready when that index has arrived
        last = (self._n_in * self.up - 1 - self._delay) // self.down
        return self._emit(last)

    def flush(self) -> np.ndarray:
        """The remaining output samples of the signal (zeros assumed after its end); then ``reset``."""
        if self.identity:
            self.reset()
            return np.zeros(0)
        total = -(-self._n_in * self.up // self.down)
        self._buf = np.concatenate([self._buf, np.zeros(self._delay // self.up + self._k + 1)])
        out = self._emit(total - 1)
        self.reset()
        return out

    def _emit(self, last: int) -> np.ndarray:
        if last < self._n_out:
            return np.zeros(0)
        L, M, D = self.up, self.down, self._delay
        out = np.empty(last + 1 - self._n_out)
        taps = np.arange(self._k)
        for start in range(self._n_out, last + 1, 4096):  # bounded memory for long blocks
            n = np.arange(start, min(start + 4096, last + 1), dtype=np.int64)
            pos = n * M + D
            hi, phase = pos // L, pos % L
            idx = hi[:, None] - taps[None, :] - self._buf_start
            out[start - self._n_out: start - self._n_out + len(n)] = np.einsum(
                "nk,nk->n", self._table[phase], self._buf[idx])
        self._n_out = last + 1
        # keep only the history the next output needs
        next_hi = (self._n_out * M + D) // L
        drop = next_hi - self._k + 1 - self._buf_start
        if drop > 0:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a whole float signal (see ``Resampler``); the result has ``ceil(len(x) * dst / src)`` samples."""
    r = Resampler(src_rate, dst_rate)
    if r.identity:
        return np.asarray(x, dtype=np.float64).copy()
    return np.concatenate([r.process(x), r.flush()])


def _to_int16(x: np.ndarray) -> bytes:
    """Float samples in [-1, 1) -> little-endian int16 bytes (clipped)."""
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


# ---------------------------------------------------------------------------------------------------- framing


class _Framer:
    """Cuts a sample stream into AudioChunks of ``frame`` samples with running index and timestamp."""

    def __init__(self, sample_rate: int, frame_ms: int):
        if frame_ms <= 0:
            raise InputError(f"frame_ms must be positive, got {frame_ms}")
        self.sample_rate = sample_rate
        self.frame_bytes = 2 * max(1, int(round(sample_rate * frame_ms / 1000)))
        self._pending = b""
        self.index = 0
        self.samples = 0  # samples already emitted

    def push(self, pcm: bytes) -> Iterator[AudioChunk]:
        data = self._pending + pcm
        n = len(data) // self.frame_bytes * self.frame_bytes
        for start in range(0, n, self.frame_bytes):
            yield self._chunk(data[start:start + self.frame_bytes])
        self._pending = data[n:]

    def finish(self) -> Iterator[AudioChunk]:
        if self._pending:
            yield self._chunk(self._pending)
            self._pending = b""

    def _chunk(self, pcm: bytes) -> AudioChunk:
        chunk = AudioChunk(pcm, self.sample_rate, round(self.samples / self.sample_rate, 6), self.index)
        self.index += 1
        self.samples += len(pcm) // 2
        return chunk


class AudioSource:
    """Base of all sources: iterate for ``AudioChunk`` frames; ``with`` or ``close()`` releases the input."""

    sample_rate: int = SAMPLE_RATE
    frame_ms: int = FRAME_MS
    #: what the source reads, for messages ("file.wav", "stdin", "microphone 'USB Audio'")
    description: str = "audio"

    def __iter__(self) -> Iterator[AudioChunk]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the file or device (idempotent)."""

    def __enter__(self) -> "AudioSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------------- WAV

_WAVE_PCM, _WAVE_FLOAT, _WAVE_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
_KNOWN_CODECS = {0x0002: "MS ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM", 0x0055: "MP3",
                 0x0031: "GSM 6.10"}


class _WavFormat:
    def __init__(self, codec: int, channels: int, rate: int, width: int, data_offset: int, data_size: int | None):
        self.codec, self.channels, self.rate, self.width = codec, channels, rate, width
        self.data_offset, self.data_size = data_offset, data_size

    @property
    def frame_bytes(self) -> int:
        return self.channels * self.width

    def describe(self) -> str:
        kind = "float" if self.codec == _WAVE_FLOAT else "PCM"
        return f"{self.rate} Hz, {self.channels} channel(s), {8 * self.width}-bit {kind}"


def _parse_wav_header(f: BinaryIO, path: Path, limits: LimitSettings = limits_.DEFAULT) -> _WavFormat:
    """RIFF/WAVE header: PCM 8/16/24/32-bit, IEEE float 32/64-bit, WAVE_FORMAT_EXTENSIBLE with either. The rate
    and channel count must be within ``limits`` (checked here, before any buffer or filter is sized by them).

    Our own parser rather than the stdlib ``wave`` module, which (Python 3.11) reads neither float WAVs nor
    WAVE_FORMAT_EXTENSIBLE, the header most tools write for 24-bit and multichannel files.
    """
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
        raise InputError(f"{path}: not a WAV file (no RIFF/WAVE header); convert it first, e.g. "
                         f"`sox in.mp3 -r 16000 -c 1 -b 16 out.wav`")
    if head[:4] != b"RIFF":
        raise InputError(f"{path}: {head[:4].decode()} WAV files are not supported (only little-endian RIFF)")
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = f.read(8)
        if len(chunk) < 8:
            raise InputError(f"{path}: WAV file has no data chunk" + ("" if fmt else " and no fmt chunk"))
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            body = f.read(size + (size & 1))
            if len(body) < 16:
                raise InputError(f"{path}: WAV fmt chunk is truncated")
            codec, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if codec == _WAVE_EXTENSIBLE:
                if len(body) < 40:
                    raise InputError(f"{path}: WAVE_FORMAT_EXTENSIBLE fmt chunk is truncated")
                codec = struct.unpack("<H", body[24:26])[0]  # first two bytes of the sub-format GUID
            fmt = (codec, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise InputError(f"{path}: WAV data chunk comes before the fmt chunk")
            codec, channels, rate, bits = fmt
            if codec not in (_WAVE_PCM, _WAVE_FLOAT):
                name = _KNOWN_CODECS.get(codec, f"format 0x{codec:04x}")
                raise InputError(f"{path}: compressed WAV ({name}) is not supported; only PCM and float. Convert it, "
                                 f"e.g. `sox in.wav -b 16 out.wav`")
            if codec == _WAVE_PCM and bits not in (8, 16, 24, 32):
                raise InputError(f"{path}: {bits}-bit PCM WAV is not supported (8, 16, 24 or 32 bits)")
            if codec == _WAVE_FLOAT and bits not in (32, 64):
                raise InputError(f"{path}: {bits}-bit float WAV is not supported (32 or 64 bits)")
            if channels < 1 or rate < 1:
                raise InputError(f"{path}: WAV header says {channels} channels at {rate} Hz")
            limits_.check_wav_format(rate, channels, limits, str(path))
            # 0 or 0xFFFFFFFF: written by a program streaming to a pipe, which could not seek back: read to EOF
            data_size = None if size in (0, 0xFFFFFFFF) else size
            return _WavFormat(codec, channels, rate, bits // 8, f.tell(), data_size)
        else:
            f.seek(size + (size & 1), 1)


def _decode(raw: bytes, fmt: _WavFormat) -> np.ndarray:
    """Interleaved WAV samples -> mono float in [-1, 1) (channels averaged)."""
    n = len(raw) // fmt.frame_bytes * fmt.frame_bytes
    raw = raw[:n]
    w = fmt.width
    if fmt.codec == _WAVE_FLOAT:
        # NaN, inf or 1e300 in a float WAV (a corrupt file) would reach the resampler and the int16 cast: silence
        # and full scale instead, like a PCM file's extremes (signalling NaNs warn on the cast itself)
        with np.errstate(invalid="ignore", over="ignore"):
            x = np.frombuffer(raw, dtype="<f4" if w == 4 else "<f8").astype(np.float64)
        x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    elif w == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif w == 2:
        x = np.frombuffer(raw, dtype="<i2") / 32768.0
    elif w == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = ((v << 8) >> 8) / 8388608.0  # sign-extend 24 -> 32 bits
    else:
        x = np.frombuffer(raw, dtype="<i4") / 2147483648.0
    if fmt.channels > 1:
        x = x.reshape(-1, fmt.channels).mean(axis=1)
    return x


class WavFile(AudioSource):
    """Frames from a WAV file of any rate, channel count and sample format, as ``sample_rate`` mono int16.

    The header is read when the object is made, so a missing, unreadable or non-WAV file fails at once
    (``InputError`` naming the file), and so does one whose header is outside ``limits`` (rate, channels, a
    duration over ``max_file_s``). A header that declares more audio than the file holds is believed only as far as
    the file goes (a warning says so). Channels are averaged; other rates are resampled (see ``Resampler``).
    A 16 kHz mono 16-bit file passes through bit-exact.
    """

    #: input bytes decoded per step (about 0.25-1 s of audio)
    _BLOCK_FRAMES = 16384

    def __init__(self, path: str | Path, frame_ms: int = FRAME_MS, sample_rate: int = SAMPLE_RATE,
                 limits: LimitSettings = limits_.DEFAULT):
        self.path = Path(path)
        self.frame_ms = frame_ms
        self.sample_rate = sample_rate
        self.description = str(self.path)
        _Framer(sample_rate, frame_ms)  # validates frame_ms
        try:
            with open(self.path, "rb") as f:
                self.format = _parse_wav_header(f, self.path, limits)
        except FileNotFoundError:
            raise InputError(f"{self.path}: no such WAV file") from None
        except IsADirectoryError:
            raise InputError(f"{self.path}: is a folder, not a WAV file") from None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read ({exc.strerror or exc})") from None
        try:  # here rather than on the first frame: `hark listen --wav` would have built its engine by then
            limits_.check_resample_ratio(self.format.rate, sample_rate)
        except InputError as exc:
            raise InputError(f"{self.path}: {exc}") from None
        actual = max(0, self.path.stat().st_size - self.format.data_offset)
        size = self.format.data_size
        if size is not None and size > actual:
            log.warning("%s: the WAV header declares %d bytes of audio, the file holds %d: reading those",
                        self.path, size, actual)
            self.format.data_size = size = actual
        #: length of the file's audio in seconds
        self.duration = (actual if size is None else size) // self.format.frame_bytes / self.format.rate
        limits_.check_audio_seconds(self.duration, limits, utterance=False, what=str(self.path))

    @property
    def source_rate(self) -> int:
        return self.format.rate

    @property
    def channels(self) -> int:
        return self.format.channels

    def __iter__(self) -> Iterator[AudioChunk]:
        fmt = self.format
        framer = _Framer(self.sample_rate, self.frame_ms)
        resampler = Resampler(fmt.rate, self.sample_rate)
        passthrough = fmt.codec == _WAVE_PCM and fmt.width == 2 and fmt.channels == 1 and resampler.identity
        remaining = fmt.data_size
        with open(self.path, "rb") as f:
            f.seek(fmt.data_offset)
            while remaining is None or remaining > 0:
                want = self._BLOCK_FRAMES * fmt.frame_bytes
                if remaining is not None:
                    want = min(want, remaining)
                raw = f.read(want)
                if not raw:
                    if remaining:
                        log.warning("%s: WAV file is truncated (%d bytes of audio missing)", self.path, remaining)
                    break
                if remaining is not None:
                    remaining -= len(raw)
                usable = len(raw) // fmt.frame_bytes * fmt.frame_bytes
                if usable < len(raw):  # only at a truncated end: drop the partial sample frame
                    raw = raw[:usable]
                if passthrough:
                    yield from framer.push(raw)
                else:
                    yield from framer.push(_to_int16(resampler.process(_decode(raw, fmt))))
        if not passthrough:
            yield from framer.push(_to_int16(resampler.flush()))
        yield from framer.finish()


def read_wav(path: str | Path, sample_rate: int = SAMPLE_RATE, limits: LimitSettings = limits_.DEFAULT,
             utterance: bool = False) -> np.ndarray:
    """A whole WAV file as ``sample_rate`` mono int16 samples (a convenience over ``WavFile``). With
    ``utterance``, the file is one utterance: its length is checked against ``limits.max_utterance_s`` from the
    header, before anything is read."""
    wav = WavFile(path, frame_ms=1000, sample_rate=sample_rate, limits=limits)
    if utterance:
        limits_.check_audio_seconds(wav.duration, limits, what=str(path))
    pcm = b"".join(c.samples for c in wav)
    return np.frombuffer(pcm, dtype="<i2")


# --------------------------------------------------------------------------------------------------- raw PCM


class RawPCM(AudioSource):
    """Frames from raw signed 16-bit little-endian mono PCM on a binary stream (stdin, a pipe, a socket file).

    ``sample_rate`` is the stream's rate; other rates than ``output_rate`` (16 kHz) are resampled. Reads one
    frame at a time, so live input (``arecord -t raw -f S16_LE -r 16000 -c 1 | hark listen --raw``) keeps its
    latency. A trailing odd byte at the end of the stream is dropped.
    """

    def __init__(self, stream: BinaryIO, sample_rate: int = SAMPLE_RATE, frame_ms: int = FRAME_MS,
                 output_rate: int = SAMPLE_RATE):
        self.stream = getattr(stream, "buffer", stream)  # sys.stdin -> sys.stdin.buffer
        self.input_rate = int(sample_rate)
        self.sample_rate = int(output_rate)
        self.frame_ms = frame_ms
        self.description = getattr(stream, "name", "raw PCM stream")
        _Framer(self.sample_rate, frame_ms)
        Resampler(self.input_rate, self.sample_rate)  # validates the rates

    def __iter__(self) -> Iterator[AudioChunk]:
        framer = _Framer(self.sample_rate, self.frame_ms)
        resampler = Resampler(self.input_rate, self.sample_rate)
        step = 2 * max(1, int(round(self.input_rate * self.frame_ms / 1000)))
        odd = b""
        while True:
            data = self.stream.read(step)
            if not data:
                break
            data = odd + data
            cut = len(data) & ~1
            data, odd = data[:cut], data[cut:]
            if resampler.identity:
                yield from framer.push(data)
            else:
                x = np.frombuffer(data, dtype="<i2") / 32768.0
                yield from framer.push(_to_int16(resampler.process(x)))
        if odd:
            log.warning("%s: raw PCM stream ended in the middle of a sample (1 byte dropped)", self.description)
        if not resampler.identity:
            yield from framer.push(_to_int16(resampler.flush()))
        yield from framer.finish()

    def close(self) -> None:
        pass  # the caller owns the stream


# ------------------------------------------------------------------------------------------------ microphone


def _sounddevice() -> Any:
    """Import sounddevice on first use, with an answer for the usual failure (PortAudio missing)."""
    try:
        import sounddevice
    except OSError as exc:  # the Python package is there, the PortAudio library is not
        raise InputError(f"microphone input needs the PortAudio library ({exc}); on Debian/Ubuntu: "
                         f"apt-get install libportaudio2") from None
    except ImportError:
        raise InputError("microphone input needs the sounddevice package: pip install sounddevice") from None
    return sounddevice


def list_devices() -> list[dict[str, Any]]:
    """Input-capable audio devices: ``{index, name, hostapi, channels, default_samplerate, default}``."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise InputError(f"cannot list audio devices: {exc}") from None
    out = []
    for d in devices:
        if d["max_input_channels"] <= 0:
            continue
        out.append({"index": d["index"], "name": d["name"], "hostapi": hostapis[d["hostapi"]]["name"],
                    "channels": d["max_input_channels"], "default_samplerate": d["default_samplerate"],
                    "default": d["index"] == default_in})
    return out


def _describe_devices(devices: list[dict[str, Any]]) -> str:
    if not devices:
        return "no input devices found (is a microphone connected? `arecord -l` lists ALSA capture devices)"
    return "input devices: " + "; ".join(f"[{d['index']}] {d['name']}" for d in devices)


def _find_device(device: int | str | None) -> dict[str, Any]:
    """The input device for an index, a (case-insensitive) name substring, or None for the default."""
    devices = list_devices()
    if device is None:
        for d in devices:
            if d["default"]:
                return d
        if devices:
            return devices[0]
        raise InputError(f"no default input device; {_describe_devices(devices)}")
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        index = int(device)
        for d in devices:
            if d["index"] == index:
                return d
        raise InputError(f"audio device {index} is not an input device or does not exist; "
                         f"{_describe_devices(devices)}")
    name = str(device).strip().lower()
    exact = [d for d in devices if d["name"].lower() == name]
    matches = exact or [d for d in devices if name in d["name"].lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"no input device matches {device!r}; {_describe_devices(devices)}")
    raise InputError(f"{len(matches)} input devices match {device!r}, be more specific: "
                     + "; ".join(f"[{d['index']}] {d['name']}" for d in matches))


class Microphone(AudioSource):
    """Live frames from an input device through a sounddevice ``InputStream``.

    ``device`` is ``None`` (the default input), an index or a name substring (``hark devices`` lists them). The
    stream opens on iteration (or ``open()``) at ``sample_rate`` mono int16 when the device supports that, else at
    its default rate and channel count, downmixed and resampled here. PortAudio's callback thread hands blocks to
    the iterating thread through a bounded queue; a block PortAudio reports as overflowed, or that finds the queue
    full because the consumer is too slow, counts in ``overflows`` (a warning is logged at close). The stream
    closes when iteration stops, on ``close()``, on leaving ``with``, and on KeyboardInterrupt (re-raised).
    """

    def __init__(self, device: int | str | None = None, sample_rate: int = SAMPLE_RATE, frame_ms: int = FRAME_MS,
                 queue_seconds: float = 5.0):
        self.device = device
        self.sample_rate = int(sample_rate)
        self.frame_ms = frame_ms
        _Framer(self.sample_rate, frame_ms)
        self.overflows = 0
        self.frames = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=max(4, int(queue_seconds * 1000 / frame_ms)))
        self._stream: Any = None
        self._lock = threading.Lock()
        self.info: dict[str, Any] = {}
        self.description = "microphone"

    def open(self) -> "Microphone":
        """Find the device and start the stream (idempotent)."""
        if self._stream is not None:
            return self
        sd = _sounddevice()
        info = _find_device(self.device)
        while not self._queue.empty():  # left over from an earlier run
            self._queue.get_nowait()
        rate, channels = self.sample_rate, 1
        try:
            sd.check_input_settings(device=info["index"], channels=1, dtype="int16", samplerate=self.sample_rate)
        except Exception:  # the device (e.g. a raw hw: device) cannot do 16 kHz mono: convert here instead
            rate, channels = int(info["default_samplerate"]), min(2, info["channels"])
        self._resampler = Resampler(rate, self.sample_rate)
        self._channels = channels
        block = max(1, int(round(rate * self.frame_ms / 1000)))
        try:
            stream = sd.InputStream(device=info["index"], samplerate=rate, channels=channels, dtype="int16",
                                    blocksize=block, callback=self._callback)
            stream.start()
        except Exception as exc:
            raise InputError(f"cannot open input device [{info['index']}] {info['name']!r} at {rate} Hz: {exc}") \
                from None
        self._stream = stream
        self.info = {**info, "stream_rate": rate, "stream_channels": channels}
        self.description = f"microphone [{info['index']}] {info['name']}"
        return self

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        # PortAudio's thread: no logging, no allocation beyond the copy, never block
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.overflows += 1

    def __iter__(self) -> Iterator[AudioChunk]:
        self.open()
        framer = _Framer(self.sample_rate, self.frame_ms)
        try:
            while True:
                try:
                    block = self._queue.get(timeout=0.25)
                except queue.Empty:
                    if self._stream is None or not self._stream.active:
                        break
                    continue
                if block is None:  # close() was called from another thread
                    break
                if self._resampler.identity and self._channels == 1:
                    pcm = block
                else:
                    x = np.frombuffer(block, dtype="<i2").reshape(-1, self._channels).mean(axis=1) / 32768.0
                    pcm = _to_int16(self._resampler.process(x))
                for chunk in framer.push(pcm):
                    self.frames += 1
                    yield chunk
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.stop()
        finally:
            stream.close()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass
        if self.overflows:
            log.warning("%s: %d input overflow(s): audio was dropped (the consumer fell behind)",
                        self.description, self.overflows)
