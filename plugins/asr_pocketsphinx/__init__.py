"""Offline ASR with pocketsphinx: the ``asr_pocketsphinx`` plugin (``hark_transcribe``, ``hark_compile``; it
observes ``hark_audio_chunk`` only to load its models when audio starts).

It decodes with a language model compiled from the installed skills (``compile.py``: their sentences and every
catalog entry, as a Kneser-Ney trigram), so "turn off the kitchen lights" competes with the few thousand things
the skills can do rather than with all of English. pocketsphinx's generic English LM decodes most synthetic and
many real voices at 60-100% WER (benchmarks/audio.py); the skill LM is what makes the audio path usable.

Out-of-skill speech: every word of the best path has a lattice posterior; when their mean falls below
``fallback_confidence`` the utterance is decoded again with the generic LM and that transcription joins the n-best
list, so the NLU can still call it out of scope on the right words ("what is the capital of peru") instead of on
the skill words the skill LM forced onto them.

Audio is fed to the decoder with a faint noise floor added (``noise_floor_dbfs``): the acoustic model was trained
on recordings that always have one, and digitally silent gaps (synthetic speech, noise-gated microphones) derail
its cepstral normalisation; measured on espeak-ng speech, WER drops from 0.48 to 0.24 with it.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hark.config import cache_dir, ranged
from hark.hookspecs import hookimpl
from hark.limits import check_audio_seconds
from hark.types import AudioChunk, Context, Hypothesis, NBest

from .compile import CompiledLM, Lexicon, compile_skills, skills_fingerprint
from .lm import ArpaModel

__all__ = ["PocketsphinxPlugin", "AsrSettings", "Transcriber", "nbest_posteriors"]

NAME = "asr_pocketsphinx"
log = logging.getLogger("hark")
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "[BREATH]", "[COUGH]", "[SMACK]", "[UM]",
                      "[UH]", "[LAUGH]", "[MUSIC]"})
LM_CHOICES = ("skills", "generic")
_RECENT_S = 2.0  # audio kept for the start of live decoding
_LEAD_S = 0.3  # live decoding starts this long before the detected speech (the VAD's default pre-roll)
FALLBACKS = ("auto", "always", "never")


@dataclass(frozen=True)
class AsrSettings:
    #: "skills" (compiled from the installed skills; the default) or "generic" (pocketsphinx's English LM)
    lm: str = "skills"
    #: when the generic LM also decodes: "auto" (skill transcription unsure), "always" or "never"
    fallback: str = "auto"
    #: mean word posterior of the skill transcription under which "auto" falls back to the generic LM
    fallback_confidence: float = 0.55
    #: distinct hypotheses returned
    nbest: int = 5
    #: sharpness of the n-best posteriors (scale on pocketsphinx's path scores); higher = more peaked
    #: (chosen with generic_weight on dev voices' saved n-best lists, docs/decisions.md 21)
    score_scale: float = field(default=45.0, metadata=ranged(0, 10_000, low_open=True))
    #: factor on the generic-LM transcription's share of the n-best mass (1 - the skill transcription's
    #: confidence) when the fallback decoded one; 1 = that whole share
    generic_weight: float = field(default=0.3, metadata=ranged(0, 1, low_open=True))
    #: level of the noise floor added before decoding (dBFS; "none" turns it off)
    noise_floor_dbfs: float | None = -50.0
    #: sentences sampled per intent for the skill LM (every catalog entry is added once on top)
    sentences_per_intent: int = 400
    #: n-gram order of the skill LM
    order: int = 3
    #: decode while the user speaks (from the VAD's speech_start), so little is left when the utterance ends
    streaming: bool = True
    #: live decoding stays this far behind the audio while the user speaks, when the endpointer asks at pauses
    #: whether the request is complete (the vad's early_silence_ms; it flushes the decode up to the pause)
    streaming_lag_s: float = 0.1
    #: ... and this far behind after such a pause, and always without semantic endpointing: at least the vad's
    #: silence_ms minus its post_roll_ms, so the trailing silence the endpointer waits through is never decoded
    pause_lag_s: float = 0.5
    #: semantic endpointing (the vad plugin asks at a short pause whether the request is complete): the words
    #: heard so far are complete only if they end a sentence with at least this skill-LM probability,
    #: P(</s> | last two words); then the answer is the intent tiers' confidence in their reading of them
    end_of_turn_lm: float = 0.2
    #: extra sentences for the skill LM (e.g. your wake phrase or chit-chat you want transcribed well)
    extra_sentences: tuple[str, ...] = ()
    #: where compiled LMs are cached (relative to the config file); empty = $HARK_CACHE/asr
    cache_dir: str = ""
    #: acoustic model folder; empty = the en-us model inside the pocketsphinx package
    hmm: str = ""
    #: pronunciation dictionary; empty = pocketsphinx's cmudict-en-us.dict
    dictionary: str = ""
    #: pocketsphinx's second, flat-lexicon search pass at the end of each utterance (fwdflat): it re-searches the
    #: whole utterance after the endpoint (200-500 ms there); off, only the lattice rescoring remains, which was
    #: as accurate in scope on the dev voices but accepted chit-chat as a command (tests/test_asr.py), so it stays on
    second_pass: bool = True
    #: other pocketsphinx decoder options, passed as they are (e.g. {beam: 1e-60, lw: 8.0})
    decoder: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.lm not in LM_CHOICES:
            out.append(("lm", f"expected one of {', '.join(LM_CHOICES)}, got {self.lm!r}"))
        if self.fallback not in FALLBACKS:
            out.append(("fallback", f"expected one of {', '.join(FALLBACKS)}, got {self.fallback!r}"))
        if not 0.0 <= self.fallback_confidence <= 1.0:
            out.append(("fallback_confidence", f"expected a value in [0, 1], got {self.fallback_confidence}"))
        if not 1 <= self.nbest <= 50:
            out.append(("nbest", f"expected 1..50, got {self.nbest}"))
        if self.score_scale <= 0:
            out.append(("score_scale", f"must be positive, got {self.score_scale}"))
        if self.generic_weight <= 0:
            out.append(("generic_weight", f"must be positive, got {self.generic_weight}"))
        if self.noise_floor_dbfs is not None and not -120 <= self.noise_floor_dbfs <= -20:
            out.append(("noise_floor_dbfs", f"expected -120..-20 dBFS (or null), got {self.noise_floor_dbfs}"))
        if not 10 <= self.sentences_per_intent <= 20000:
            out.append(("sentences_per_intent", f"expected 10..20000, got {self.sentences_per_intent}"))
        if self.order not in (1, 2, 3, 4):
            out.append(("order", f"expected 1..4, got {self.order}"))
        if not 0.0 <= self.end_of_turn_lm <= 1.0:
            out.append(("end_of_turn_lm", f"expected a probability in [0, 1], got {self.end_of_turn_lm}"))
        for name in ("streaming_lag_s", "pause_lag_s"):
            if not 0.0 <= getattr(self, name) <= 5.0:
                out.append((name, f"expected 0..5 seconds, got {getattr(self, name)}"))
        return out


def _model_paths(settings: AsrSettings, resolve) -> tuple[Path, Path, Path]:
    """(acoustic model folder, dictionary, generic LM) with the package's en-us model as the default."""
    import pocketsphinx

    base = Path(pocketsphinx.get_model_path()) / "en-us"
    hmm = resolve(settings.hmm) if settings.hmm else base / "en-us"
    dic = resolve(settings.dictionary) if settings.dictionary else base / "cmudict-en-us.dict"
    for what, path in (("hmm", hmm), ("dictionary", dic)):
        if not path.exists():
            raise FileNotFoundError(f"{what}: {path} does not exist")
    return hmm, dic, base / "en-us.lm.bin"


def _noise_sigma(x: np.ndarray, dbfs: float) -> float:
    """Standard deviation of the noise that lifts ``x``'s floor (10th percentile of 10 ms RMS) to ``dbfs``."""
    if len(x) == 0:
        return 32768.0 * 10 ** (dbfs / 20)
    target = 32768.0 * 10 ** (dbfs / 20)
    frames = x[: len(x) // 160 * 160].astype(np.float32).reshape(-1, 160) if len(x) >= 160 else x[None, :]
    floor = float(np.percentile(np.sqrt((frames.astype(np.float32) ** 2).mean(axis=1)), 10))
    return 0.0 if floor >= target else math.sqrt(target ** 2 - floor ** 2)


def add_noise_floor(x: np.ndarray, dbfs: float | None, seed: int = 0) -> np.ndarray:
    """``x`` (int16) with Gaussian noise at ``dbfs`` RMS where its own floor is quieter (deterministic)."""
    if dbfs is None or len(x) == 0:
        return x
    sigma = _noise_sigma(x, dbfs)
    if sigma == 0.0:
        return x
    noise = np.random.default_rng(seed).normal(0.0, sigma, len(x))
    return np.clip(x.astype(np.float64) + noise, -32768, 32767).astype(np.int16)


class Transcriber:
    """One pocketsphinx decoder (skill LM) plus an optional generic-LM decoder; thread-safe, usable alone."""

    def __init__(self, hmm: Path, dictionary: Path, lm: Path, settings: AsrSettings,
                 generic_lm: Path | None = None):
        self.settings = settings
        self._options = {"fwdflat": settings.second_pass, **settings.decoder}
        self._hmm = hmm
        self._lm, self._dict = lm, dictionary
        self._generic_dict = dictionary
        self._generic_lm = generic_lm
        self._decoder_obj: Any = None
        self._generic = None
        self._lock = threading.Lock()
        self._live: float | None = None  # stream time the utterance being decoded live started at
        self._live_samples = 0
        self._live_sigma = 0.0
        self._live_rng = np.random.default_rng(0)
        self._pending: deque[tuple[float, np.ndarray]] = deque()
        self._adapted = False  # the skill decoder's cepstral mean has been estimated on real audio
        #: an endpointer asks at pauses (partial() was called): decode with the short lag until a judged pause
        self.judged_pauses = False
        self._hold: float | None = None  # frames from this stream time on wait pause_lag_s (a judged pause)
        #: utterances decoded live (finished at the endpoint) rather than whole afterwards
        self.streamed = 0
        #: what the last ``transcribe`` decoded before the posteriors: skill-LM (text, log score) rows, the mean
        #: word posterior of its best path and the generic-LM rows (benchmarks replay other settings with it)
        self.last_decode: dict[str, Any] | None = None
        self._check_options()

    def _check_options(self) -> None:
        """Validate the decoder options now (cheap) though the models load on first use (about a second)."""
        from pocketsphinx import Config

        try:
            Config(loglevel="FATAL", **self._options)
        except (ValueError, RuntimeError, TypeError, KeyError) as exc:
            raise ValueError(f"pocketsphinx refused the decoder settings {self._options}: {exc}") from None

    @property
    def decoder(self) -> Any:
        """The skill-LM decoder, loaded on first use so that text-only commands start fast."""
        if self._decoder_obj is None:
            self._decoder_obj = self._decoder(self._lm, self._dict)
        return self._decoder_obj

    def warm(self) -> None:
        with self._lock:
            self.decoder  # noqa: B018 - loads the models

    def _decoder(self, lm: Path, dictionary: Path) -> Any:
        from pocketsphinx import Decoder

        try:
            return Decoder(hmm=str(self._hmm), lm=str(lm), dict=str(dictionary), loglevel="FATAL",
                           **self._options)
        except (ValueError, RuntimeError, TypeError, KeyError) as exc:
            raise ValueError(f"pocketsphinx could not load {lm} with {dictionary} "
                             f"(options {self._options}): {exc}") from None

    @property
    def generic(self) -> Any:
        if self._generic is None:
            if self._generic_lm is None:
                return None
            self._generic = self._decoder(self._generic_lm, self._generic_dict)
        return self._generic

    def decode(self, pcm: np.ndarray, decoder: Any) -> tuple[list[tuple[str, float]], float]:
        """Distinct n-best ``(text, log score)`` of one decoder, and the mean word posterior of its best path."""
        decoder.start_utt()
        decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
        decoder.end_utt()
        return self._results(decoder)

    def _results(self, decoder: Any) -> tuple[list[tuple[str, float]], float]:
        self._adapted = self._adapted or decoder is self._decoder_obj
        if decoder.hyp() is None:
            return [], 0.0
        posteriors = [min(1.0, seg.prob) for seg in decoder.seg() if seg.word not in _FILLERS
                      and not seg.word.startswith("[")]
        confidence = float(np.mean(posteriors)) if posteriors else 0.0
        found: dict[str, float] = {}
        for i, entry in enumerate(decoder.nbest()):
            if i >= self.settings.nbest * 8 or len(found) >= self.settings.nbest:
                break
            if entry is None:  # the lattice search can run dry before n distinct paths
                break
            text = _clean(entry.hypstr)
            if text and text not in found and entry.score > 0:
                found[text] = math.log(entry.score)
        best = _clean(decoder.hyp().hypstr)
        if best and best not in found:  # the Viterbi best path leads (measured: slightly lower WER than
            found = {best: max(found.values(), default=0.0), **found}  # the lattice's first path)
        return list(found.items()), confidence

    # -- streaming: decode while the user is still speaking, so only the last frames remain at the endpoint

    def stream_start(self, pcm: np.ndarray, t0: float) -> None:
        """Start decoding an utterance that began at stream time ``t0`` with the audio heard since then.

        Not before one utterance has been decoded whole: live decoding normalises the cepstra with the running
        mean of earlier utterances, and with only the built-in initial mean the first one decodes badly."""
        with self._lock:
            if not self._adapted:
                return
            decoder = self.decoder
            if self._live is not None:
                self._end_live()
            dbfs = self.settings.noise_floor_dbfs
            self._live_sigma = _noise_sigma(pcm, dbfs) if dbfs is not None else 0.0
            self._live_rng = np.random.default_rng(0)
            decoder.start_utt()
            self._live, self._live_samples = t0, 0
            self._hold = None
            self._pending.clear()
            self._feed(pcm)

    def stream_feed(self, pcm: np.ndarray, t: float) -> None:
        """Queue a frame that starts at stream time ``t``; frames older than the lag are decoded now. The lag is
        ``pause_lag_s`` (long enough that the trailing silence the endpointer waits through is never decoded: it
        would only invite insertions) unless an endpointer asks at pauses: then ``streaming_lag_s`` up to the
        last pause it asked about (``partial`` decoded up to there), ``pause_lag_s`` after it."""
        with self._lock:
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
            if self._live_samples > 30 * 16000:  # no endpoint came: stop decoding an endless utterance
                self._end_live()

    def _end_live(self) -> None:
        """Close the live utterance; its results stay readable from the decoder until the next one starts."""
        self.decoder.end_utt()
        self._live = None
        self._pending.clear()

    def _flush(self, until: float) -> None:
        """Decode the queued frames that start before ``until`` (the end of the endpointed audio)."""
        while self._pending and self._pending[0][0] < until:
            self._feed(self._pending.popleft()[1])
        self._pending.clear()

    def _feed(self, pcm: np.ndarray) -> None:
        x = np.asarray(pcm, dtype=np.int16)
        if self._live_sigma > 0:
            noise = self._live_rng.normal(0.0, self._live_sigma, len(x))
            x = np.clip(x + noise, -32768, 32767).astype(np.int16)
        self.decoder.process_raw(x.tobytes(), no_search=False, full_utt=False)
        self._live_samples += len(x)

    def partial(self, until: float) -> str | None:
        """The live decoder's best words so far, after decoding the queued frames that start before stream time
        ``until`` (the end of the audio the endpointer would hand over now); None when nothing is decoded live.

        Decoding those frames now rather than at the endpoint costs nothing extra: they belong to the utterance
        whether it ends here or goes on, and whatever is decoded at the pause is not left for after the endpoint."""
        with self._lock:
            self.judged_pauses = True
            if self._live is None:
                return None
            self._hold = until
            while self._pending and self._pending[0][0] < until:
                self._feed(self._pending.popleft()[1])
            hyp = self.decoder.hyp()
            return _clean(hyp.hypstr) if hyp is not None else ""

    def stream_active(self, near: float, tolerance: float = 1.0) -> bool:
        return self._live is not None and abs(self._live - near) <= tolerance

    def transcribe(self, samples: np.ndarray, sample_rate: int = 16000, streamed: bool = False,
                   end: float = 0.0) -> NBest | None:
        """The n-best list of one utterance: of ``samples``, or (``streamed``) of the audio fed since
        ``stream_start`` up to stream time ``end``, which only needs finishing."""
        if sample_rate != 16000:
            raise ValueError(f"pocketsphinx decodes 16 kHz audio, got {sample_rate} Hz "
                             "(hark.audio sources resample to 16 kHz)")
        pcm: np.ndarray | None = None  # with the noise floor: made only when the samples are decoded here
        with self._lock:
            if streamed and self._live is not None:
                self._flush(end)
                self._end_live()
                self.streamed += 1
                rows, confidence = self._results(self.decoder)
            else:
                if self._live is not None:  # a live utterance that does not match this audio: abandon it
                    self._end_live()
                pcm = add_noise_floor(np.asarray(samples, dtype=np.int16), self.settings.noise_floor_dbfs)
                rows, confidence = self.decode(pcm, self.decoder)
            fallback = self.settings.fallback
            extra: list[tuple[str, float]] = []
            if fallback == "always" or (fallback == "auto" and confidence < self.settings.fallback_confidence):
                generic = self.generic
                if generic is not None:
                    if pcm is None:
                        pcm = add_noise_floor(np.asarray(samples, dtype=np.int16), self.settings.noise_floor_dbfs)
                    extra, _ = self.decode(pcm, generic)
        self.last_decode = {"skill": rows, "confidence": confidence, "generic": extra[:1]}
        return self._nbest(rows, confidence, extra[:1])

    def _nbest(self, rows: list[tuple[str, float]], confidence: float,
               extra: list[tuple[str, float]]) -> NBest | None:
        hyps = nbest_posteriors(rows, confidence, extra, self.settings)
        if not hyps:
            return None
        return NBest(tuple(Hypothesis(t, p) for t, p in hyps), source=NAME)


def nbest_posteriors(rows: list[tuple[str, float]], confidence: float, extra: list[tuple[str, float]],
                     settings: AsrSettings) -> list[tuple[str, float]]:
    """Posteriors of the n-best texts: a softmax of the skill LM's path log scores times ``score_scale``, scaled
    by the skill transcription's share; the generic-LM transcription (``extra``), when there is one, gets the rest
    of the mass, ``(1 - confidence) * generic_weight`` before renormalising. Best first, at most ``nbest``."""
    if not rows and not extra:
        return []
    scale = settings.score_scale
    top = max((s for _, s in rows), default=0.0)
    weights = [(t, math.exp(max(-50.0, scale * (s - top)))) for t, s in rows]
    total = sum(w for _, w in weights) or 1.0
    # the skill LM's share of the probability is its own confidence; the generic transcription gets the rest
    share = confidence if extra else 1.0
    probs: dict[str, float] = {}
    for t, w in weights:
        probs[t] = probs.get(t, 0.0) + share * w / total
    for text, _ in extra:  # the generic transcription may repeat a skill one: then it adds to it
        probs[text] = probs.get(text, 0.0) + (1.0 - share) * settings.generic_weight
    hyps = sorted(probs.items(), key=lambda h: -h[1])[: settings.nbest]
    kept = sum(p for _, p in hyps) or 1.0
    return [(t, round(p / kept, 6)) for t, p in hyps]


def _clean(hypstr: str) -> str:
    words = [w for w in hypstr.split() if w not in _FILLERS and not w.startswith("[")]
    return " ".join(w.split("(", 1)[0] for w in words)


class PocketsphinxPlugin:
    """Registered through the ``hark`` entry point ``asr_pocketsphinx``; settings under
    ``plugins.settings.asr_pocketsphinx``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = AsrSettings()
        self.transcriber: Transcriber | None = None
        self._recent: deque[tuple[float, np.ndarray]] = deque()
        self.compiled: CompiledLM | None = None
        self._engine: Any = None
        self._arpa: ArpaModel | None = None
        #: the last end-of-turn judgement: {"text", "lm", "confidence", "reading"} (for benchmarks and debugging)
        self.last_judgement: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        """One line for ``hark doctor``."""
        if self.transcriber is None:
            return "not started"
        s = self.settings
        if s.lm == "generic":
            return f"generic English LM, {s.nbest}-best"
        meta = self.compiled.meta if self.compiled else {}
        return (f"skill LM {meta.get('fingerprint', '?')} ({meta.get('sentences', 0)} sentences, "
                f"{meta.get('vocabulary', 0)} words, {meta.get('dropped_sentences', 0)} unpronounceable), "
                f"{s.nbest}-best, fallback {s.fallback}")

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        config = engine.config
        settings = config.plugin_settings(NAME, AsrSettings)  # raises ConfigError naming a bad key
        self.settings = settings
        self._engine = engine
        self._load(force=False)

    def _load(self, force: bool) -> str:
        try:
            return self._build(force)
        except ValueError as exc:  # pocketsphinx refused a decoder option: the user's setting, say which
            if "decoder settings" not in str(exc):
                raise
            raise self._engine.config.error_at(f"plugins.settings.{NAME}.decoder", str(exc)) from None

    def _build(self, force: bool) -> str:
        engine, settings = self._engine, self.settings
        try:
            hmm, dic, generic_lm = _model_paths(settings, engine.config.resolve_path)
        except FileNotFoundError as exc:
            raise engine.config.error_at(f"plugins.settings.{NAME}", str(exc)) from None
        if settings.lm == "generic":
            self.transcriber = Transcriber(hmm, dic, generic_lm, replace(settings, fallback="never"))
            return "generic English LM (nothing to compile)"
        self.compiled, built = self._compiled(engine, dic, force)
        self.transcriber = Transcriber(hmm, self.compiled.dict, self.compiled.lm, settings,
                                       generic_lm=generic_lm if settings.fallback != "never" else None)
        meta = self.compiled.meta
        return (f"skill language model {'compiled' if built else 'up to date'}: {meta['sentences']} sentences, "
                f"{meta['vocabulary']} words, {meta['ngrams'][-1]} {settings.order}-grams "
                f"({self.compiled.folder})")

    def _compiled(self, engine: Any, dictionary: Path, force: bool) -> tuple[CompiledLM, bool]:
        s = self.settings
        key = skills_fingerprint(engine.skills, {
            "per_intent": s.sentences_per_intent, "order": s.order, "extra": list(s.extra_sentences),
            "dictionary": str(dictionary), "dict_size": os.path.getsize(dictionary), "g2p": _g2p_identity(),
            "wake": engine.config.engine.wake_phrase,
            "version": 1})
        root = engine.config.resolve_path(s.cache_dir) if s.cache_dir else cache_dir("asr")
        folder = root / key
        if not force:
            found = CompiledLM.load(folder)
            if found is not None:
                return found, False
        log.info("compiling the skill language model into %s", folder)
        lexicon = Lexicon(dictionary, g2p=_g2p())
        return compile_skills(engine.skills, folder, lexicon, per_intent=s.sentences_per_intent, order=s.order,
                              extra=s.extra_sentences, wake_phrase=engine.config.engine.wake_phrase,
                              fingerprint=key), True

    @hookimpl
    def hark_compile(self, engine: Any, force: bool) -> str | None:
        self._engine = engine
        return "asr_pocketsphinx: " + self._load(force=force)

    @hookimpl
    def hark_audio_chunk(self, chunk: AudioChunk, context: Context) -> None:
        """Keep the last seconds of audio; once speech has started, decode each frame as it arrives."""
        t = self.transcriber
        if t is None or chunk.sample_rate != 16000:
            return
        if chunk.index == 0:  # a new stream: load the models now, not when the first utterance ends
            t.warm()
            self._skill_lm()
            self._recent.clear()
        pcm = chunk.to_array()
        self._recent.append((chunk.timestamp, pcm))
        while self._recent and chunk.timestamp - self._recent[0][0] > _RECENT_S:
            self._recent.popleft()
        if self.settings.streaming:
            t.stream_feed(pcm, chunk.timestamp)

    @hookimpl
    def hark_event(self, event: Any) -> None:
        """A ``speech_start`` (from the VAD) starts live decoding, from a little before the speech."""
        t = self.transcriber
        if event.kind != "speech_start" or t is None or not self.settings.streaming or not self._recent:
            return
        t0 = float(event.data.get("start", 0.0)) - _LEAD_S
        pieces = [pcm for ts, pcm in self._recent if ts + len(pcm) / 16000 > t0]
        first = next((ts for ts, pcm in self._recent if ts + len(pcm) / 16000 > t0), t0)
        if pieces:
            t.stream_start(np.concatenate(pieces), max(first, t0))

    def _skill_lm(self) -> ArpaModel | None:
        """The skill LM as ARPA probabilities (read on first audio, ~1 s), None with the generic LM."""
        if self._arpa is None and self.compiled is not None and self.settings.lm == "skills":
            self._arpa = ArpaModel.load(self.compiled.lm)
        return self._arpa

    @hookimpl
    def hark_end_of_turn(self, end: float, context: Context) -> float | None:
        """At a short pause: the live partial transcription up to ``end`` is complete when the skill LM expects
        the sentence to end there and the intent tiers read it as an in-scope request; the answer is the
        reading's confidence (0 when the LM expects more words). None without a live decode."""
        t = self.transcriber
        if t is None or not self.settings.streaming:
            return None
        text = t.partial(end)
        lm = self._skill_lm()
        if not text or lm is None:
            self.last_judgement = None
            return None
        p_end = lm.end_probability(text.split())
        judgement: dict[str, Any] = {"text": text, "lm": round(p_end, 4), "confidence": 0.0, "reading": None}
        self.last_judgement = judgement
        if p_end < self.settings.end_of_turn_lm or self._engine is None:
            return 0.0
        ranked = self._engine.interpret(NBest((Hypothesis(text, 1.0),), source=NAME), context)
        if not ranked:
            return 0.0
        top = ranked[0]
        judgement["confidence"] = round(top.confidence, 4)
        judgement["reading"] = f"{top.skill}.{top.intent}"
        return top.confidence

    @hookimpl
    def hark_transcribe(self, audio: AudioChunk, context: Context) -> NBest | None:
        t = self.transcriber
        if t is None:
            return None
        # decoding costs about real time: refuse (an error event naming limits.max_utterance_s) rather than spend
        # minutes on what cannot be one command (the vad plugin cuts live speech at its max_utterance_s)
        check_audio_seconds(audio.duration, self._engine.config.limits, what="utterance audio")
        return t.transcribe(audio.to_array(), audio.sample_rate, streamed=t.stream_active(audio.timestamp),
                            end=audio.timestamp + audio.duration)


def _g2p_identity() -> str:
    """Which g2p model would fill in pronunciations (part of the cache key: a new model means a new LM)."""
    try:
        from hark.phonetics import MODEL_DIR
    except ImportError:
        return "none"
    meta = MODEL_DIR / "meta.json"
    return hashlib.sha256(meta.read_bytes()).hexdigest()[:16] if meta.is_file() else "none"


def _g2p():
    """The entity resolver's g2p (pronunciations for names not in the dictionary), when it is installed."""
    try:
        from hark.phonetics import G2P
    except ImportError:
        return None
    try:
        return G2P.default().phonemes
    except Exception as exc:  # noqa: BLE001 - without g2p only some catalog names go missing
        log.warning("g2p unavailable (%s): names missing from the dictionary are left out of the skill LM", exc)
        return None
