"""Audio sources: WAV files, raw PCM streams and microphones, as 16 kHz mono int16 ``AudioChunk`` frames.

Every source is an iterable of ``AudioChunk`` (``samples`` little-endian int16, ``sample_rate`` 16000 by default,
``index`` counting from 0, ``timestamp`` = seconds from the start of the stream to the frame's first sample) and a
context manager that releases its file or device. Frames are ``frame_ms`` long (30 ms = 480 samples); only the
last frame of a file may be shorter. Feed them to ``Engine.stream``.

This module holds live input (``RawPCM``, ``Microphone``, ``list_devices``) and is the public face of the others:
it re-exports the frame contract (``framing``), WAV reading (``wav``) and resampling (``resample``). Voice activity
detection is the ``vad`` plugin's business.

``sounddevice`` (PortAudio) is imported only when a microphone is opened or listed, so files and pipes work on a
machine without PortAudio.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Any, BinaryIO, Iterator

import numpy as np

from .errors import InputError
from .framing import FRAME_MS, SAMPLE_RATE, AudioSource, Framer
from .resample import Resampler, resample, to_int16
from .types import AudioChunk
from .wav import WavFile, decode_pcm, read_wav

__all__ = [
    "SAMPLE_RATE", "FRAME_MS", "Framer", "AudioSource", "WavFile", "RawPCM", "Microphone", "Resampler", "resample",
    "read_wav", "list_devices",
]

log = logging.getLogger("hark")


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
        Framer(self.sample_rate, frame_ms)
        Resampler(self.input_rate, self.sample_rate)  # validates the rates

    def __iter__(self) -> Iterator[AudioChunk]:
        framer = Framer(self.sample_rate, self.frame_ms)
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
                yield from framer.push(to_int16(resampler.process(x)))
        if odd:
            log.warning("%s: raw PCM stream ended in the middle of a sample (1 byte dropped)", self.description)
        if not resampler.identity:
            yield from framer.push(to_int16(resampler.flush()))
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
        Framer(self.sample_rate, frame_ms)
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
        framer = Framer(self.sample_rate, self.frame_ms)
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
                    pcm = to_int16(self._resampler.process(decode_pcm(block, 2, self._channels)))
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
