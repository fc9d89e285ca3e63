"""Streams: one live input (a microphone, a file, a client connection) on a shared Engine.

A ``Stream`` owns everything that belongs to one input: each plugin's state object (what its
``hark_stream_start`` returned), the audio clock and framing, the shared front end's overlap, the utterance
count, the wake-phrase window and the conversation (a pending confirmation). Two streams on one Engine therefore
never see each other's audio, and each gives the same events it would give alone.

The stream also runs the audio side of the data flow, so that no plugin calls a hook or holds the Engine:

    feed(audio) -> 30 ms frames -> front end -> hark_audio_chunk (observers, with their state)
      speech_start -> hark_speech_start          (streaming recognisers start decoding)
      pause        -> hark_end_of_turn (judges) -> hark_turn_judged (the endpointer that paused)
      speech_end   -> hark_transcribe -> Engine.parse (through the conversation) -> events

Text and n-best lists go through ``Stream.parse``, in the same conversation.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .errors import InputError
from .features import FrontEnd
from .framing import FRAME_MS, SAMPLE_RATE, Framer
from .resample import Resampler, to_int16
from .types import AudioChunk, Context, Event, NBest

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import Engine, Result

__all__ = ["Stream"]

log = logging.getLogger("hark")
_ids = itertools.count(1)
#: how many pause -> judgement -> verdict rounds one frame may take (an endpointer that always pauses again)
_MAX_ROUNDS = 8


class Stream:
    """One input's audio and conversation on an Engine: ``engine.open_stream()``, then ``feed``/``parse``, then
    ``close`` (or use it as a context manager; ``close`` returns the last events, leaving ``with`` drops them).

    ``feed(audio)`` takes int16 bytes, an int16 array or a float array in [-1, 1] at ``sample_rate`` (resampled to
    16 kHz inside), or ``AudioChunk`` frames, and returns the events that audio caused, in order. Not thread-safe:
    one thread per stream; any number of streams may share one Engine.
    """

    def __init__(self, engine: "Engine", *, sample_rate: int = SAMPLE_RATE, frame_ms: int = FRAME_MS,
                 **context: Any):
        self.engine = engine
        self.id = f"stream-{next(_ids)}"
        self.sample_rate = int(sample_rate)
        #: what every utterance's Context starts from (device_id, expected_text, ...)
        self.context_defaults = dict(context)
        self._resampler = Resampler(self.sample_rate, SAMPLE_RATE)  # validates the rate
        self._framer = Framer(SAMPLE_RATE, frame_ms)
        self._front = FrontEnd()
        self.conversation = engine.conversation()
        #: utterances endpointed so far (numbers the audio utterances)
        self.utterances = 0
        self._context: Context | None = None  # the current audio utterance's context
        self._in_audio = False
        self._odd = b""  # a byte of a sample split between two feeds
        #: stream time until which an utterance needs no wake phrase (after the phrase was said alone)
        self.awake_until = -1.0
        #: the last end-of-turn judgement {"end", "probability", "ms"} (for benchmarks and debugging)
        self.last_judgement: dict[str, Any] | None = None
        self.closed = False
        #: errors of plugins whose hark_stream_start failed (also emitted to listeners)
        self.start_events: list[Event] = []
        #: each plugin's state object for this stream, by plugin name
        self.states: dict[str, Any] = {}
        for plugin, state in engine.call("hark_stream_start", sink=self.start_events, stream=self):
            self.states[plugin] = state

    # ---------------------------------------------------------------------------------------------- public

    def context(self, **overrides: Any) -> Context:
        """A fresh Context for an utterance of this stream (now, its device_id, ...)."""
        fields = {**self.conversation.context_fields(), **self.context_defaults, **overrides}
        return self.engine.context(states=self.states, **fields)

    def feed(self, audio: Any) -> list[Event]:
        """Run the next audio of the stream; returns the events it caused (speech_start, speech_end, utterance,
        action, ...). Partial frames wait for the next feed (``flush``/``close`` run them)."""
        self._check_open()
        events: list[Event] = []
        for chunk in self._framer.push(self._pcm16(audio)):
            events += self._chunk(chunk)
        return events

    def flush(self) -> list[Event]:
        """The audio has ended for now (a file ended, push-to-talk released): run the partial frame, let
        endpointers close an utterance in progress (``hark_audio_end``). Audio fed later continues the clock."""
        self._check_open()
        if not self._in_audio and not self._odd:
            return []
        events: list[Event] = []
        if not self._resampler.identity:
            tail = self._resampler.flush()
            events += [e for chunk in self._framer.push(to_int16(tail)) for e in self._chunk(chunk)]
        for chunk in self._framer.finish():
            events += self._chunk(chunk)
        self._odd = b""
        if self._in_audio:
            events += self._observe("hark_audio_end", self._utterance_context())
        self._front.reset()  # audio that follows starts a new stretch: its rows align with its own 30 ms frames
        self._in_audio = False
        self._context = None
        return events

    def parse(self, text_or_nbest: Any, context: Context | None = None, *, utterance: int | None = None) -> "Result":
        """Typed text or an n-best list, in this stream's conversation (a yes answers its pending question)."""
        self._check_open()
        return self.conversation.parse(text_or_nbest, context or self.context(), utterance=utterance)

    def close(self, flush: bool = True) -> list[Event]:
        """Flush the audio (unless ``flush`` is false: a stream abandoned mid-utterance, Ctrl-C), then let every
        plugin release its state (``hark_stream_end``). Idempotent."""
        if self.closed:
            return []
        try:
            events = self.flush() if flush else []
        finally:
            self.closed = True
            self.engine.call("hark_stream_end", stream=self, states=self.states)
            self.states.clear()
        return events

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- the audio path

    def _check_open(self) -> None:
        if self.closed:
            raise InputError(f"{self.id} is closed")

    def _pcm16(self, audio: Any) -> bytes:
        """Any accepted audio as 16 kHz int16 bytes."""
        if isinstance(audio, AudioChunk):
            if audio.sample_rate != self.sample_rate:
                raise InputError(f"{self.id}: a {audio.sample_rate} Hz chunk in a {self.sample_rate} Hz stream "
                                 f"(open the stream with sample_rate={audio.sample_rate})")
            audio = audio.samples
        if isinstance(audio, (bytes, bytearray, memoryview)):
            data = self._odd + bytes(audio)
            cut = len(data) & ~1
            data, self._odd = data[:cut], data[cut:]
            audio = np.frombuffer(data, dtype="<i2")
        elif not isinstance(audio, np.ndarray):
            raise InputError(f"{self.id}: expected int16 bytes, a numpy array or an AudioChunk, "
                             f"got {type(audio).__name__}")
        if audio.ndim != 1:
            raise InputError(f"{self.id}: audio must be one channel (a 1-D array), got shape {audio.shape}")
        if audio.dtype == np.int16:
            if self._resampler.identity:  # 16 kHz int16 passes through bit-exact
                return audio.astype("<i2").tobytes()
            x = audio / 32768.0
        elif audio.dtype.kind == "f":
            x = np.nan_to_num(audio.astype(np.float64))
        else:
            raise InputError(f"{self.id}: audio arrays must be int16 or float, got {audio.dtype}")
        return to_int16(self._resampler.process(x))

    def _utterance_context(self) -> Context:
        if self._context is None:
            self._context = self.context()
        return self._context

    def _chunk(self, chunk: AudioChunk) -> list[Event]:
        self._in_audio = True
        features = self._front.push(chunk.to_array())
        return self._observe("hark_audio_chunk", self._utterance_context(), chunk=chunk, features=features)

    def _observe(self, hook: str, context: Context, **kwargs: Any) -> list[Event]:
        """Run an audio observer hook and everything its events set off."""
        sink: list[Event] = []
        found = self.engine.call(hook, sink=sink, states=self.states, context=context, **kwargs)
        out = list(sink)
        for plugin, returned in found:
            out += self._handle(plugin, hook, returned, context)
        return out

    def _handle(self, plugin: str, hook: str, returned: Any, context: Context, rounds: int = 0) -> list[Event]:
        out: list[Event] = []
        for event in returned if isinstance(returned, list) else [returned]:
            if not isinstance(event, Event):
                self.engine._error(out, plugin, hook, f"returned a list holding {type(event).__name__}")
                continue
            if event.kind == "pause":
                if rounds < _MAX_ROUNDS:
                    out += self._pause(plugin, event, context, rounds)
                continue
            event = dataclasses.replace(event, utterance=self.utterances)
            self.engine.emit(event)
            out.append(event)
            if event.kind == "speech_start":
                self.engine.call("hark_speech_start", sink=out, states=self.states,
                                 start=float(event.data.get("start", 0.0)), context=context)
            elif event.kind == "speech_end" and event.audio is not None:
                if "scene" not in self.context_defaults:  # the surroundings as the request ends
                    context = self.engine.with_scene(context, self.states)
                out += self._utterance(event.audio, context)
                self.utterances += 1
                self._context = None
            elif event.kind == "alert":
                out += self._alert(event, context)
        return out

    def _alert(self, event: Event, context: Context) -> list[Event]:
        """A safety sound: the skills' ``on_alert`` intents act on it, with the scene as of now."""
        return self.engine.act_on_alert(event, self.engine.with_scene(context, self.states))

    def _pause(self, plugin: str, event: Event, context: Context, rounds: int) -> list[Event]:
        """An endpointer paused: ask the judges whether the turn is over, and hand their answer back to it."""
        end = float(event.data.get("end", 0.0))
        pause = float(event.data.get("pause_ms", 0.0)) / 1000
        out: list[Event] = []
        t0 = time.perf_counter()
        probability = self._judge(end, pause, context, out)
        ms = round(1000 * (time.perf_counter() - t0), 1)
        self.last_judgement = {"end": end, "pause": pause, "probability": probability, "ms": ms}
        impl = next((i for i in self.engine._impls("hark_turn_judged") if i.plugin_name == plugin), None)
        if impl is None:
            return out
        returned = self.engine._invoke(impl, "hark_turn_judged", out, end=end, probability=probability,
                                       context=context, state=self.states.get(plugin))
        if returned is None:
            return out
        marked = [dataclasses.replace(e, data={**e.data, "judge_ms": ms})
                  if isinstance(e, Event) and e.kind == "speech_end" and e.data.get("reason") == "complete" else e
                  for e in (returned if isinstance(returned, list) else [returned])]
        return out + self._handle(plugin, "hark_turn_judged", marked, context, rounds + 1)

    def _judge(self, end: float, pause: float, context: Context, sink: list[Event]) -> float | None:
        answer = self.engine.call("hark_end_of_turn", firstresult=True, sink=sink, states=self.states, end=end,
                                  pause=pause, context=context)
        if isinstance(answer, NBest):  # the words so far: the intent tiers' confidence in their reading
            ranked = self.engine.interpret(answer, context, sink)
            return ranked[0].confidence if ranked else 0.0
        return None if answer is None else float(answer)

    # ------------------------------------------------------------------------------------------- utterances

    def _utterance(self, audio: AudioChunk, context: Context) -> list[Event]:
        """One endpointed utterance: pronunciation assessment in practice mode, else ASR then parse."""
        engine, utterance = self.engine, self.utterances
        events: list[Event] = []
        if context.expected_text:
            if context.expected_text == self.conversation.practice:  # one attempt per "how do I say ..."
                self.conversation.practice = None
            report = engine.assess_pronunciation(audio, context.expected_text, context, events,
                                                 states=self.states)
            if report is not None:
                self.conversation.last_report = report
                engine._event(events, "pronunciation", report.to_dict(), utterance)
            return events
        nbest = engine.transcribe(audio, context, events, states=self.states)
        if nbest is None:
            engine._event(events, "out_of_scope", {"text": "", "reason": "no ASR plugin transcribed the audio"},
                          utterance)
            return events
        phrase = engine.config.engine.wake_phrase
        if phrase:
            nbest = self._wake_gate(nbest, phrase, audio, events)
            if nbest is None:
                return events
        result = self.conversation.parse(nbest, context, utterance=utterance)
        if phrase and result.confirm is not None:  # the answer to the question needs no wake phrase
            self.awake_until = audio.timestamp + audio.duration + engine.config.engine.wake_window_s
        return events + list(result.events)

    def _wake_gate(self, nbest: NBest, phrase: str, audio: AudioChunk, events: list[Event]) -> NBest | None:
        """The command part of an utterance that starts with the wake phrase (or follows it closely), else None
        after a ``wake`` or ``ignored`` event."""
        from .wake import find_wake_phrase

        engine, utterance = self.engine, self.utterances
        found = find_wake_phrase(nbest, phrase)
        if found is None:
            if audio.timestamp <= self.awake_until:
                self.awake_until = -1.0  # one command per wake
                return nbest
            engine._event(events, "ignored", {"text": nbest.best.text, "reason": f"no wake phrase ({phrase!r})"},
                          utterance)
            return None
        if found.command is None:
            self.awake_until = audio.timestamp + audio.duration + engine.config.engine.wake_window_s
            engine._event(events, "wake", {"phrase": phrase, "listening_until": round(self.awake_until, 2),
                                           "probability": round(found.probability, 3)}, utterance)
            return None
        self.awake_until = -1.0
        return found.command


def run(stream: Stream, source: Any) -> Iterator[Event]:
    """``Engine.stream``'s loop: audio frames, text, n-best lists and {"text"|"nbest", "context"} objects, in
    order, through one stream; a bad item yields one ``error`` event and the rest go on."""
    yield from stream.start_events
    for index, item in enumerate(source):
        yield from step(stream, item, index)
    yield from stream.close()


def step(stream: Stream, item: Any, index: int) -> list[Event]:
    """The events of one item of a stream (``run``, the server's WebSocket): an AudioChunk is fed; anything
    else ends the audio so far and is parsed as utterance ``index`` in the stream's conversation; an item that
    cannot be (an InputError from ``read_jsonl``, a bad context) becomes one ``error`` event."""
    from collections.abc import Mapping

    from .errors import HarkError

    if isinstance(item, AudioChunk):
        return stream.feed(item)
    events = stream.flush()  # the audio part of the stream is over
    try:
        if isinstance(item, InputError):  # an undecodable line from read_jsonl
            raise item
        ctx = None
        if isinstance(item, Mapping) and "context" in item:
            ctx_data = item["context"]
            if not isinstance(ctx_data, Mapping):
                raise InputError("'context' must be an object")
            ctx = stream.context(**{k: v for k, v in ctx_data.items()
                                    if k in ("now", "device_id", "active_skill", "expected_text")})
        result = stream.parse(item, ctx, utterance=index)
    except HarkError as exc:
        event = Event("error", {"input": index, "message": str(exc)}, time=time.time(), utterance=index)
        stream.engine.emit(event)
        return events + [event]
    return events + list(result.events)
