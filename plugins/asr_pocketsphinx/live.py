"""One stream's recogniser: its own decoders, the last seconds of its audio and the utterance decoded live.

The asr_pocketsphinx plugin makes one ``LiveDecoder`` per stream (``hark_stream_start``). Decoding while the user
speaks (from ``hark_speech_start``) leaves only the last frames to decode when the utterance ends. The decoders are
the stream's own, so a second microphone or client never shifts this one's cepstral mean or interrupts its live
utterance: each stream decodes exactly as it would alone.

Every utterance is decoded the same way, the first of a stream included: the search waits until ``CMN_WINDOW_S``
of the utterance (its lead-in and first words) is in, takes the cepstral mean of that audio, and then decodes
the utterance from its start with it. Live decoding has to normalise with some mean before the utterance is over;
the built-in initial mean fits neither synthetic voices nor most microphones (20 of 40 synthetic test sentences
right against 27 decoded whole), the previous utterance's fits only the same speaker through the same channel,
and an utterance's own first 1.3 s (0.3 s of lead-in, a second of speech; ``window_mean``) does as well as its
whole (30 of 40; 55 of 60 real recorded coffee orders, as many as decoded whole; a window of 1.0 s gave 26 and
55, 1.6 s 30 and 54). It also makes an utterance's transcription independent of what the stream heard before it.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from hark.types import NBest

from .transcriber import Transcriber, check_rate, clean, decode, noise_sigma, add_noise_floor, results

__all__ = ["LiveDecoder", "window_mean"]

_RECENT_S = 2.0  # audio kept for the start of live decoding
_LEAD_S = 0.3  # live decoding starts this long before the detected speech (the VAD's default pre-roll)
_MAX_LIVE_SAMPLES = 30 * 16000  # no endpoint came: stop decoding an endless utterance
CMN_WINDOW_S = 1.3  # audio of an utterance whose cepstral mean normalises its live decode (see the docstring)


#: frames of weight pocketsphinx's live cepstral mean normalisation gives its current mean (CMN_WIN in cmn_live.c)
_CMN_PRIOR_FRAMES = 500


def window_mean(decoder: Any, pcm: bytes) -> str:
    """The cepstral mean of ``pcm`` (16 kHz int16), as ``Decoder.set_cmn`` takes it.

    pocketsphinx computes cepstra only inside the decoder, so the audio goes through it once without search; its
    live mean then blends the old mean, weighted as 500 frames, with the sum of the new frames, and the new
    frames' own mean is taken back out of that blend (checked: over a whole utterance it equals the batch mean of
    a whole-utterance decode to two decimals). The blend itself would leave a second of speech a fifth of the
    say, which decoded worse than the built-in mean on some sentences."""
    before = decoder.get_cmn(False)
    decoder.start_utt()
    decoder.process_raw(pcm, no_search=True, full_utt=False)
    own = _own_mean(decoder, before, len(pcm) // 2)
    decoder.end_utt()
    return own


def _own_mean(decoder: Any, before: str, samples: int) -> str:
    """The mean of the ``samples`` a decoder has taken in the current utterance, its live mean having been
    ``before`` when the utterance started (the blend undone, see ``window_mean``)."""
    prior = np.array([float(v) for v in before.split(",")])
    blended = np.array([float(v) for v in decoder.get_cmn(True).split(",")])
    frames = max(1, (samples - 410) // 160 + 1)  # 25.6 ms windows every 10 ms
    own = (blended * (_CMN_PRIOR_FRAMES + frames) - _CMN_PRIOR_FRAMES * prior) / frames
    return ",".join(f"{v:.4f}" for v in own)


class LiveDecoder:
    """Per-stream state of the asr_pocketsphinx plugin. One thread per stream, so no lock."""

    def __init__(self, transcriber: Transcriber):
        self.transcriber = transcriber
        self.settings = transcriber.settings
        self._decoder: Any = None
        self._live_decoder: Any = None  # final_pass whole: a first-pass-only decoder of its own for the live decode
        self._generic: Any = None
        self._recent: deque[tuple[float, np.ndarray]] = deque()
        self._live: float | None = None  # stream time the utterance being decoded live started at
        self._live_samples = 0
        self._live_sigma = 0.0
        self._live_rng = np.random.default_rng(0)
        self._pending: deque[tuple[float, np.ndarray]] = deque()
        #: audio of the live utterance held until CMN_WINDOW_S of it is in (None once the search runs)
        self._held: list[np.ndarray] | None = None
        #: samples of held audio a provisional search (a pause judged before the window filled) has decoded
        self._provisional: int | None = None
        self._start_mean = ""  # the live decoder's cepstral mean when the live search started
        #: an endpointer asks at pauses (partial() was called): decode with the short lag until a judged pause
        self.judged_pauses = False
        self._hold: float | None = None  # frames from this stream time on wait pause_lag_s (a judged pause)
        #: utterances decoded live as they were spoken (the endpointer read their words at pauses; with
        #: ``final_pass: live`` the live decode is also the transcription)
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

    @property
    def live_decoder(self) -> Any:
        """The decoder of the live utterance: the same one with ``final_pass: live``; with ``whole`` a first-pass
        decoder of its own, since its words only serve the endpointer and ending it must cost nothing (the
        second pass over the live utterance took 25-45 ms per 3 s after the endpoint, for words nobody read)."""
        if self.settings.final_pass == "live":
            return self.decoder
        if self._live_decoder is None:
            self._live_decoder = self.transcriber.new_decoder(first_pass_only=True)
        return self._live_decoder

    def warm(self) -> bool:
        """Load the decoder now; True when it was already loaded."""
        loaded = self._decoder is not None
        self.decoder  # noqa: B018 - loads the models
        if self.settings.streaming:
            self.live_decoder  # noqa: B018
        return loaded

    def close(self) -> None:
        if self._live is not None:
            self._end_live()
        self._decoder = self._live_decoder = self._generic = None
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
        """Speech began at ``start``: decode live from a little before it (once its first second is in)."""
        if not self.settings.streaming or not self._recent:
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
        self._held, self._provisional = [], None
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
        self._live_samples += len(x)
        if self._held is None:
            self.live_decoder.process_raw(x.tobytes(), no_search=False, full_utt=False)
            return
        self._held.append(x)
        if self._live_samples >= CMN_WINDOW_S * 16000:
            self._search_held()

    def _search_held(self, provisional: bool = False) -> None:
        """Start the search: the cepstral mean of the held audio first, then the held audio decoded with it.

        ``provisional``: a pause is judged before the window is full, so the words so far are needed now; the
        audio stays held, and when more comes the search starts again from the utterance's start with the mean of
        the full window (the first words are decoded twice, but a mean from half a second of speech would have
        to serve the whole utterance)."""
        if self._held is None:
            return
        size = self._live_samples  # every sample of the live utterance is held until the search starts
        if self._provisional is not None:
            if self._provisional == size:  # nothing new since the provisional search: it stands
                if not provisional:
                    self._held, self._provisional = None, None
                return
            self.live_decoder.end_utt()
        held = np.concatenate(self._held).tobytes() if self._held else b""
        self._provisional = size if provisional else None
        if not provisional:
            self._held = None
        decoder = self.live_decoder
        if held:
            decoder.set_cmn(window_mean(decoder, held))
        self._start_mean = decoder.get_cmn(False)
        decoder.start_utt()
        if held:
            decoder.process_raw(held, no_search=False, full_utt=False)

    def _end_live(self, mean: bool = False) -> str | None:
        """Close the live utterance; its results stay readable from the decoder until the next one starts.
        With ``mean``, returns the cepstral mean of the audio it decoded (read off the decoder: no extra pass;
        only for a decode that is thrown away, since reading it updates the decoder's live mean)."""
        self._search_held()  # a short utterance: its whole audio is under the window
        own = _own_mean(self.live_decoder, self._start_mean, self._live_samples) if mean else None
        self.live_decoder.end_utt()
        self._live = None
        self._pending.clear()
        return own

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
        self._search_held(provisional=True)
        hyp = self.live_decoder.hyp()
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

        matches = self._live is not None and abs(self._live - start) <= 1.0
        self.streamed += matches
        if matches and self.settings.final_pass == "live":
            while self._pending and self._pending[0][0] < end:
                self._feed(self._pending.popleft()[1])
            self._end_live()
            rows, confidence = results(self.live_decoder, n, self.transcriber.lattice)
        else:
            # a live decode of other audio, or final_pass whole (it served the endpointer): either way the whole
            # decode is normalised with this utterance's own cepstral mean, not the one the decoder was left with
            # (dev recordings, clean: 93.5 -> 94.4 %): the live decode's when it covered this audio, else a pass
            # of its own (about 40 ms a second of audio)
            mean = self._end_live(mean=matches) if self._live is not None else None
            decoder = self.decoder
            decoder.set_cmn(mean if matches and mean else window_mean(decoder, with_floor().tobytes()))
            rows, confidence = decode(with_floor(), decoder, n, self.transcriber.lattice)
        extra = self.transcriber.fallback_rows(confidence, with_floor, self._generic_decoder)
        self.last_decode = {"skill": rows, "confidence": confidence, "generic": extra}
        return self.transcriber.nbest(rows, confidence, extra)

    def _generic_decoder(self) -> Any:
        if self._generic is None:
            self._generic = self.transcriber.new_decoder(generic=True)
        return self._generic
