"""Decoder processes: where streams decode when several are open at once.

pocketsphinx holds Python's GIL while it decodes (measured: two threads decoding the same 2.6 s utterance four
times each took 1.80 s, one thread alone 0.88 s), so one process decodes one utterance at a time however many cores
the machine has, and under ``hark serve`` utterances that end together wait for each other. ``Placement`` keeps the
first open stream decoding in this process, as ``hark listen`` always has, and sends every further concurrent stream
to a child process (``decoder_processes`` of them, one per core by default) that holds that stream's
``LiveDecoder``. The parent only moves the stream's audio (32 kB a second) down a pipe and reads back the words
at pauses and the n-best list at the end; the VAD, the parse and everything else stay in the parent.

A child is this module's ``main`` in a fresh Python: length-prefixed pickles on stdin and stdout
between this module and its own copy, nothing else. It exits when its stdin closes, so it never outlives its parent.
A child that dies fails the calls of its streams with an error naming it (the engine reports a failing plugin and
goes on); the next stream that needs a child gets a fresh one.
"""
from __future__ import annotations

import itertools
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from typing import Any, BinaryIO

from .live import LiveDecoder
from .transcriber import Transcriber

__all__ = ["Placement", "RemoteDecoder", "DecoderProcess"]

log = logging.getLogger("hark")

_HEADER = struct.Struct("<I")
_MAX_MESSAGE = 64 << 20  # an utterance is capped far below this (limits.max_utterance_s)
_ANSWER_TIMEOUT_S = 120.0  # a decode takes about real time at worst; a child silent this long is stuck
#: a child with no stream for this long exits (it holds about 150 MB of models); the next busy moment starts one
IDLE_EXIT_S = 120.0


def _send(fh: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_HEADER.pack(len(data)) + data)
    fh.flush()


def _receive(fh: BinaryIO) -> Any:
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(head)[0]
    if size > _MAX_MESSAGE:
        raise EOFError
    data = fh.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own child, on a private pipe


# ------------------------------------------------------------------------------------------ the child


#: what a parent may ask of a stream's LiveDecoder in a child; anything else is refused
_CALLS = {"warm", "audio", "speech_start", "partial", "transcribe"}


def child_main(inp: BinaryIO, out: BinaryIO) -> None:
    """Serve one parent: the first message builds the Transcriber, then (request id or None, stream id, call,
    args) messages run in order. A call without a request id answers nothing; its error is kept and raised by the
    stream's next call that does answer, so a failure is never silent."""
    transcriber = Transcriber(**_receive(inp))
    decoders: dict[int, LiveDecoder] = {}
    errors: dict[int, str] = {}
    while True:
        try:
            rid, sid, call, args = _receive(inp)
        except EOFError:
            return
        value, error = None, errors.pop(sid, None)
        if call == "close":  # a stream that failed still lets its decoder go; nobody asks about it again
            error = None
        if error is None:
            try:
                value = _run(decoders, transcriber, sid, call, args)
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which reports the plugin
                error = f"{type(exc).__name__}: {exc}"
        if call == "close":
            continue
        if rid is not None:
            _send(out, (rid, value, error))
        elif error is not None:
            errors[sid] = error


def _run(decoders: dict[int, LiveDecoder], transcriber: Transcriber, sid: int, call: str, args: tuple) -> Any:
    if call == "open":
        decoders[sid] = LiveDecoder(transcriber)
        return None
    if call == "close":
        decoder = decoders.pop(sid, None)
        if decoder is not None:
            decoder.close()
        return None
    if call not in _CALLS:
        raise ValueError(f"unknown call {call!r}")
    decoder = decoders[sid]
    value = getattr(decoder, call)(*args)
    if call == "transcribe":
        return value, decoder.last_decode, decoder.streamed
    return value


# ------------------------------------------------------------------------------------------ the parent


class DecoderProcess:
    """One child and the pipe to it. Calls may come from any thread; answers are matched to them by id."""

    def __init__(self, init: dict[str, Any]):
        self.proc = subprocess.Popen([sys.executable, "-c", f"from {__name__} import main; main()"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
        self.streams = 0  # open streams placed here
        self.idle_since = time.monotonic()
        self._write_lock = threading.Lock()  # one message at a time down the pipe
        self._lock = threading.Lock()  # the answers awaited (never held while writing: a write may block)
        self._waiting: dict[int, Future] = {}
        self._ids = itertools.count(1)
        self.failure: str | None = None
        self._write(init)
        self._reader = threading.Thread(target=self._read, name="hark-decoder-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.failure is None

    def _write(self, obj: Any) -> None:
        try:
            with self._write_lock:
                _send(self.proc.stdin, obj)
        except (BrokenPipeError, OSError, ValueError):
            self._fail()

    def _read(self) -> None:
        while True:
            try:
                rid, value, error = _receive(self.proc.stdout)
            except (EOFError, OSError, ValueError, pickle.UnpicklingError):
                self._fail()
                return
            with self._lock:
                future = self._waiting.pop(rid, None)
            if future is not None:
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(f"asr_pocketsphinx decoder process: {error}"))

    def _fail(self) -> None:
        status = self.proc.poll()
        with self._lock:
            if self.failure is None:
                self.failure = (f"asr_pocketsphinx decoder process {self.proc.pid} exited"
                                + (f" (status {status})" if status is not None else ""))
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_exception(RuntimeError(self.failure))

    def tell(self, sid: int, call: str, *args: Any) -> None:
        """Ask without waiting (audio, speech start): the child runs calls in order."""
        if self.failure is None:
            self._write((None, sid, call, args))

    def ask(self, sid: int, call: str, *args: Any) -> Any:
        """Ask and wait for the answer (raises the child's error, or RuntimeError once the child is gone)."""
        if self.failure is not None:
            raise RuntimeError(self.failure)
        future: Future = Future()
        rid = next(self._ids)
        with self._lock:
            self._waiting[rid] = future
        self._write((rid, sid, call, args))
        return future.result(timeout=_ANSWER_TIMEOUT_S)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RemoteDecoder:
    """A stream's LiveDecoder living in a DecoderProcess, with the calls the plugin makes on it."""

    _sids = itertools.count(1)

    def __init__(self, process: DecoderProcess):
        self.process = process
        self.sid = next(self._sids)
        self.last_judgement: dict[str, Any] | None = None  # the plugin's own note, kept here
        self.last_decode: dict[str, Any] | None = None
        self.streamed = 0
        self._warm = False
        process.streams += 1
        process.tell(self.sid, "open")

    def warm(self) -> bool:
        was, self._warm = self._warm, True
        if not was:
            self.process.tell(self.sid, "warm")
        return was

    def audio(self, pcm: Any, t: float) -> None:
        self.process.tell(self.sid, "audio", pcm, t)

    def speech_start(self, start: float) -> None:
        self.process.tell(self.sid, "speech_start", start)

    def partial(self, until: float) -> str | None:
        return self.process.ask(self.sid, "partial", until)

    def transcribe(self, samples: Any, sample_rate: int, start: float, end: float) -> Any:
        nbest, self.last_decode, self.streamed = self.process.ask(self.sid, "transcribe", samples, sample_rate,
                                                                  start, end)
        return nbest

    def close(self) -> None:
        self.process.tell(self.sid, "close")
        self.process.streams -= 1
        if self.process.streams == 0:
            self.process.idle_since = time.monotonic()


class Placement:
    """Where each new stream decodes: here while no other stream decodes here, else in the child process with the
    fewest streams (started when first needed, replaced when it died). ``processes`` 0 keeps every stream here."""

    def __init__(self, transcriber: Transcriber, processes: int, idle_exit_s: float = IDLE_EXIT_S):
        self.transcriber = transcriber
        self.size = processes
        self.idle_exit_s = idle_exit_s
        self._here = 0
        self._children: list[DecoderProcess] = []
        self._lock = threading.Lock()
        self._retired = False
        self._timer: threading.Timer | None = None

    def open(self) -> LiveDecoder | RemoteDecoder:
        """A decoder for a new stream; its ``placement`` is this (``close`` it here when the stream ends)."""
        with self._lock:
            decoder = self._place()
        decoder.placement = self
        return decoder

    def _place(self) -> LiveDecoder | RemoteDecoder:
        if self.size == 0 or self._here == 0:
            self._here += 1
            return LiveDecoder(self.transcriber)
        for dead in [c for c in self._children if not c.alive]:
            self._children.remove(dead)
            dead.close()
        idle = [c for c in self._children if c.streams == 0]
        if not idle and len(self._children) < self.size:
            self._children.append(DecoderProcess(self.transcriber.init_args()))
            log.info("asr_pocketsphinx: %d concurrent streams, decoder process %d of %d started",
                     self._here + sum(c.streams for c in self._children), len(self._children), self.size)
        return RemoteDecoder(min(self._children, key=lambda c: c.streams))

    def close(self, decoder: LiveDecoder | RemoteDecoder) -> None:
        with self._lock:
            if isinstance(decoder, LiveDecoder):
                self._here -= 1
            decoder.close()
            idle = self._retired and self._here == 0 and not any(c.streams for c in self._children)
            if isinstance(decoder, RemoteDecoder) and decoder.process.streams == 0 and self._timer is None:
                self._timer = threading.Timer(self.idle_exit_s, self._reap_idle)
                self._timer.daemon = True
                self._timer.start()
        if idle:
            self.shutdown()

    def _reap_idle(self) -> None:
        """End the children that have had no stream for ``idle_exit_s``; check again later if some are idle."""
        now = time.monotonic()
        with self._lock:
            self._timer = None
            idle = [c for c in self._children if c.streams == 0 and now - c.idle_since >= self.idle_exit_s * 0.99]
            self._children = [c for c in self._children if c not in idle]
            waiting = [c.idle_since for c in self._children if c.streams == 0]
            if waiting:
                self._timer = threading.Timer(max(0.1, min(waiting) + self.idle_exit_s - now), self._reap_idle)
                self._timer.daemon = True
                self._timer.start()
        for child in idle:
            child.close()
        if idle:
            log.info("asr_pocketsphinx: %d idle decoder process(es) ended", len(idle))

    def retire(self) -> None:
        """The models changed (a recompile): shut the children down once their last stream ends."""
        with self._lock:
            self._retired = True
            idle = self._here == 0 and not any(c.streams for c in self._children)
        if idle:
            self.shutdown()

    def shutdown(self) -> None:
        with self._lock:
            children, self._children = self._children, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for child in children:
            child.close()


def main() -> None:
    """A child's entry point (``DecoderProcess`` starts it)."""
    # the protocol gets a private copy of stdout; anything a library prints goes to stderr instead
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    child_main(sys.stdin.buffer, protocol)
