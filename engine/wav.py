"""WAV files as audio sources: ``WavFile`` (frames) and ``read_wav`` (a whole file as int16 samples).

Its own module because reading WAV (our RIFF header parser, sample decoding, header limits) is a concern of its
own, apart from live input in ``audio``. Any rate, channel count and PCM/float format; resampled to 16 kHz mono.
"""
from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from . import limits as limits_
from .config import LimitSettings
from .errors import InputError
from .framing import FRAME_MS, SAMPLE_RATE, AudioSource, Framer
from .resample import Resampler, to_int16
from .types import AudioChunk

__all__ = ["WavFile", "read_wav", "decode_pcm"]

log = logging.getLogger("hark")

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
    if fmt.codec != _WAVE_FLOAT:
        return decode_pcm(raw, fmt.width, fmt.channels)
    raw = raw[:len(raw) // fmt.frame_bytes * fmt.frame_bytes]
    # NaN, inf or 1e300 in a float WAV (a corrupt file) would reach the resampler and the int16 cast: silence
    # and full scale instead, like a PCM file's extremes (signalling NaNs warn on the cast itself)
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.frombuffer(raw, dtype="<f4" if fmt.width == 4 else "<f8").astype(np.float64)
    x = np.clip(np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    return x.reshape(-1, fmt.channels).mean(axis=1) if fmt.channels > 1 else x


def decode_pcm(raw: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved integer PCM (8, 16, 24 or 32 bit, little-endian; 8-bit unsigned) -> mono float in [-1, 1),
    channels averaged; a partial last frame is dropped. WAV files, microphones and Wyoming audio all arrive so."""
    raw = raw[:len(raw) // (width * channels) * (width * channels)]
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2") / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = ((v << 8) >> 8) / 8388608.0  # sign-extend 24 -> 32 bits
    else:
        x = np.frombuffer(raw, dtype="<i4") / 2147483648.0
    return x.reshape(-1, channels).mean(axis=1) if channels > 1 else x


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
        Framer(sample_rate, frame_ms)  # validates frame_ms
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
        framer = Framer(self.sample_rate, self.frame_ms)
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
                    yield from framer.push(to_int16(resampler.process(_decode(raw, fmt))))
        if not passthrough:
            yield from framer.push(to_int16(resampler.flush()))
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
