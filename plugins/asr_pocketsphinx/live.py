"""One stream's recogniser: its own decoders, the last seconds of its audio and the utterance decoded live.

The asr_pocketsphinx plugin makes one ``LiveDecoder`` per stream (``hark_stream_start``). Decoding while the user
speaks (from ``hark_speech_start``) leaves only the last frames to decode when the utterance ends. The decoders are
the stream's own, so a second microphone or client never shifts this one's cepstral mean or interrupts its live
utterance: each stream decodes exactly as it would alone.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from hark.types import NBest

from .transcriber import Transcriber, check_rate, clean, decode, noise_sigma, add_noise_floor, results

__all__ = ["LiveDecoder"]

_RECENT_S = 2.0  # audio kept for the start of live decoding
_LEAD_S = 0.3  # live decoding starts this long before the detected speech (the VAD's default pre-roll)
_MAX_LIVE_SAMPLES = 30 * 16000  # no endpoint came: stop decoding an endless utterance


class LiveDecoder:
    """Per-stream state of the asr_pocketsphinx plugin. One thread per stream, so no lock."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self.settings = transcriber.settings
        self._decoder: Any = None
        self._generic: Any = None
        self._recent: deque[tuple[float, np.ndarray]] = deque()
        self._adapted = False  # the decoder's cepstral mean has been estimated on this stream's audio
        self._live: float | None = None  # stream time the utterance being decoded live started at
        self._live_samples = 0
        self._live_sigma = 0.0
        self._live_rng = np.random.default_rng(0)
        self._pending: deque[tuple[float, np.ndarray]] = deque()
        #: an endpointer asks at pauses (partial() was called): decode with the short lag until a judged pause
        self.judged_pauses = False
        self._hold: float | None = None  # frames from this stream time on wait pause_lag_s (a judged pause)
        #: utterances decoded live (finished at the endpoint) rather than whole afterwards
        self.streamed = 0
        #: see Transcriber.last_decode
        self.last_decode: dict[str, Any] | None = None
        #: the last end-of-turn judgement {"text", "lm"} (for benchmarks and debugging)
        self.last_judgement: dict[str, Any] | None = None

    @property
    def decoder(self) -> Any:
        if self._decoder is None:
            self._decoder = self.transcriber.new_decoder()
        return self._decoder

    def warm(self) -> bool:
        """Load the decoder now; True when it was already loaded."""
        loaded = self._decoder is not None
        self.decoder  # noqa: B018 - loads the models
        return loaded

    def close(self) -> None:
        if self._live is not None:
            self._end_live()
        self._decoder = self._generic = None
        self._recent.clear()

    # ------------------------------------------------------------------------------------------ audio in

    def audio(self, pcm: np.ndarray, t: float) -> None:
        """Keep the last seconds of audio; while an utterance is decoded live, queue the frame for it."""
        self._recent.append((t, pcm))
        while self._recent and t - self._recent[0][0] > _RECENT_S:
            self._recent.popleft()
        if self.settings.streaming:
            self._queue(pcm, t)

    def speech_start(self, start: float) -> None:
        """Speech began at ``start``: decode live from a little before it.

        Not before one utterance of the stream has been decoded whole: live decoding normalises the cepstra with
        the running mean of earlier utterances, and with only the built-in initial mean the first decodes badly."""
        if not self.settings.streaming or not self._recent or not self._adapted:
            return
        t0 = start - _LEAD_S
        pieces = [(ts, pcm) for ts, pcm in self._recent if ts + len(pcm) / 16000 > t0]
        if not pieces:
            return
        if self._live is not None:
            self._end_live()
        pcm = np.concatenate([p for _, p in pieces])
        dbfs = self.settings.noise_floor_dbfs
        self._live_sigma = noise_sigma(pcm, dbfs) if dbfs is not None else 0.0
        self._live_rng = np.random.default_rng(0)
        self.decoder.start_utt()
        self._live, self._live_samples = max(pieces[0][0], t0), 0
        self._hold = None
        self._pending.clear()
        self._feed(pcm)

    def _queue(self, pcm: np.ndarray, t: float) -> None:
        """Queue a frame that starts at stream time ``t``; frames older than the lag are decoded now. The lag is
        ``pause_lag_s`` (long enough that the trailing silence the endpointer waits through is never decoded: it
        would only invite insertions) unless an endpointer asks at pauses: then ``streaming_lag_s`` up to the
        last pause it asked about (``partial`` decoded up to there), ``pause_lag_s`` after it."""
        if self._live is None:
            return
        self._pending.append((t, pcm))
        short, long = t - self.settings.streaming_lag_s, t - self.settings.pause_lag_s
        while self._pending:
            ts = self._pending[0][0]
            paused = not self.judged_pauses or (self._hold is not None and ts >= self._hold)
            if ts >= (long if paused else short):
                break
            self._feed(self._pending.popleft()[1])
        if self._live_samples > _MAX_LIVE_SAMPLES:
            self._end_live()

    def _feed(self, pcm: np.ndarray) -> None:
        x = np.asarray(pcm, dtype=np.int16)
        if self._live_sigma > 0:
            noise = self._live_rng.normal(0.0, self._live_sigma, len(x))
            x = np.clip(x + noise, -32768, 32767).astype(np.int16)
        self.decoder.process_raw(x.tobytes(), no_search=False, full_utt=False)
        self._live_samples += len(x)

    def _end_live(self) -> None:
        """Close the live utterance; its results stay readable from the decoder until the next one starts."""
        self.decoder.end_utt()
        self._live = None
        self._pending.clear()

    # ------------------------------------------------------------------------------------------ answers

    def partial(self, until: float) -> str | None:
        """The live decoder's best words so far, after decoding the queued frames that start before stream time
        ``until`` (the end of the audio the endpointer would hand over now); None when nothing is decoded live.

        Decoding those frames now rather than at the endpoint costs nothing extra: they belong to the utterance
        whether it ends here or goes on, and whatever is decoded at the pause is not left for after the endpoint."""
        self.judged_pauses = True
        if self._live is None:
            return None
        self._hold = until
        while self._pending and self._pending[0][0] < until:
            self._feed(self._pending.popleft()[1])
        hyp = self.decoder.hyp()
        return clean(hyp.hypstr) if hyp is not None else ""

    def transcribe(self, samples: np.ndarray, sample_rate: int, start: float, end: float) -> NBest | None:
        """The n-best list of the utterance from stream time ``start`` to ``end``: finished from the live decode
        when one began near ``start``, else ``samples`` decoded whole with this stream's decoder."""
        check_rate(sample_rate)
        n = self.settings.nbest
        pcm: np.ndarray | None = None  # with the noise floor: made only when the samples are decoded here

        def with_floor() -> np.ndarray:
            nonlocal pcm
            if pcm is None:
                pcm = add_noise_floor(np.asarray(samples, dtype=np.int16), self.settings.noise_floor_dbfs)
            return pcm

        if self._live is not None and abs(self._live - start) <= 1.0:
            while self._pending and self._pending[0][0] < end:
                self._feed(self._pending.popleft()[1])
            self._end_live()
            self.streamed += 1
            rows, confidence = results(self.decoder, n)
        else:
            if self._live is not None:  # a live utterance that does not match this audio: abandon it
                self._end_live()
            rows, confidence = decode(with_floor(), self.decoder, n)
        self._adapted = True
        extra = self.transcriber.fallback_rows(confidence, with_floor, self._generic_decoder)
        self.last_decode = {"skill": rows, "confidence": confidence, "generic": extra}
        return self.transcriber.nbest(rows, confidence, extra)

    def _generic_decoder(self) -> Any:
        if self._generic is None:
            self._generic = self.transcriber.new_decoder(generic=True)
        return self._generic
