"""Offline ASR with pocketsphinx: the ``asr_pocketsphinx`` plugin (``hark_transcribe``, ``hark_compile``, and per
stream ``hark_audio_chunk``/``hark_speech_start`` to decode while the user speaks, ``hark_end_of_turn`` to say
whether a pause ends the request).

It decodes with a language model compiled from the installed skills (``compile.py``: their sentences and every
catalog entry, as a Kneser-Ney trigram), so "turn off the kitchen lights" competes with the few thousand things
the skills can do rather than with all of English. pocketsphinx's generic English LM decodes most synthetic and
many real voices at 60-100% WER (benchmarks/audio.py); the skill LM is what makes the audio path usable.

Out-of-skill speech: every word of the best path has a lattice posterior; when their mean falls below
``fallback_confidence`` the utterance is decoded again with the generic LM and that transcription joins the n-best
list, so the NLU can still call it out of scope on the right words ("what is the capital of peru") instead of on
the skill words the skill LM forced onto them.

transcriber.py decodes (models, noise floor, posteriors), live.py holds one stream's decoders and live utterance,
compile.py builds the skill LM, settings.py the settings.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from hark.config import cache_dir
from hark.hookspecs import hookimpl
from hark.limits import check_audio_seconds
from hark.types import AudioChunk, Hypothesis, NBest

from .compile import OTHER_WORDS, CompiledLM, Lexicon, compile_skills, skills_fingerprint
from .grammar import closed, jsgf
from .live import LiveDecoder
from .lm import ArpaModel
from .settings import AsrSettings
from .transcriber import NAME, Transcriber, model_paths, nbest_posteriors
from .turns import SkillGrammar, turn_over
from .workers import Placement, RemoteDecoder

__all__ = ["PocketsphinxPlugin", "AsrSettings", "Transcriber", "LiveDecoder", "nbest_posteriors", "model_paths",
           "g2p_or_none", "turn_over"]

log = logging.getLogger("hark")


class PocketsphinxPlugin:
    """Registered through the ``hark`` entry point ``asr_pocketsphinx``; settings under
    ``plugins.settings.asr_pocketsphinx``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = AsrSettings()
        self.transcriber: Transcriber | None = None
        self.compiled: CompiledLM | None = None
        self._arpa: ArpaModel | None = None
        self._grammar: SkillGrammar | None = None
        self._limits: Any = None
        self._placement: Placement | None = None

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
        self.settings = engine.config.plugin_settings(NAME, AsrSettings)  # raises ConfigError naming a bad key
        self._limits = engine.config.limits
        self._load(engine, force=False)

    def _load(self, engine: Any, force: bool) -> str:
        try:
            return self._build(engine, force)
        except ValueError as exc:  # pocketsphinx refused a decoder option: the user's setting, say which
            if "decoder settings" not in str(exc):
                raise
            raise engine.config.error_at(f"plugins.settings.{NAME}.decoder", str(exc)) from None

    def _build(self, engine: Any, force: bool) -> str:
        settings = self.settings
        try:
            hmm, dic, generic_lm = model_paths(settings, engine.config.resolve_path)
        except FileNotFoundError as exc:
            raise engine.config.error_at(f"plugins.settings.{NAME}", str(exc)) from None
        if settings.lm == "generic":
            self.transcriber = Transcriber(hmm, dic, generic_lm, replace(settings, fallback="never"))
            return "generic English LM (nothing to compile)"
        self.compiled, built = self._compiled(engine, dic, force)
        self._grammar = SkillGrammar.from_skills(engine.skills)
        search = self._search_grammar(engine)
        self.transcriber = Transcriber(hmm, self.compiled.dict, self.compiled.lm, settings,
                                       generic_lm=generic_lm if settings.fallback != "never" else None,
                                       grammar=search)
        meta = self.compiled.meta
        return (f"skill language model {'compiled' if built else 'up to date'}: {meta['sentences']} sentences, "
                f"{meta['vocabulary']} words, {meta['ngrams'][-1]} {settings.order}-grams "
                f"({self.compiled.folder}); search: {'grammar' if search else 'LM'}")

    def _search_grammar(self, engine: Any) -> str | None:
        """The JSGF the decoders search (``search``: grammar, or auto with only list slots), else None (the LM)."""
        s = self.settings
        if s.search == "lm" or (s.search == "auto" and not closed(engine.skills)):
            return None
        if s.search == "grammar" and not closed(engine.skills):
            raise engine.config.error_at(f"plugins.settings.{NAME}.search",
                                         "a grammar search needs skills whose slots are all lists (text, catalog "
                                         "and typed slots are open-ended): use lm or auto")
        words = {line.split(" ", 1)[0].split("(", 1)[0]
                 for line in self.compiled.dict.read_text(encoding="utf-8").splitlines() if line.strip()}
        return jsgf(engine.skills, words.__contains__, other=OTHER_WORDS, other_weight=s.other_weight,
                    wake=engine.config.engine.wake_phrase or "")

    def _compiled(self, engine: Any, dictionary: Path, force: bool) -> tuple[CompiledLM, bool]:
        s = self.settings
        key = skills_fingerprint(engine.skills, {
            "per_intent": s.sentences_per_intent, "order": s.order, "extra": list(s.extra_sentences),
            "dictionary": str(dictionary), "dict_size": os.path.getsize(dictionary), "g2p": _g2p_identity(),
            "wake": engine.config.engine.wake_phrase,
            "version": 2})
        root = engine.config.resolve_path(s.cache_dir) if s.cache_dir else cache_dir("asr")
        folder = root / key
        if not force:
            found = CompiledLM.load(folder)
            if found is not None:
                return found, False
        log.info("compiling the skill language model into %s", folder)
        lexicon = Lexicon(dictionary, g2p=g2p_or_none())
        return compile_skills(engine.skills, folder, lexicon, per_intent=s.sentences_per_intent, order=s.order,
                              extra=s.extra_sentences, wake_phrase=engine.config.engine.wake_phrase,
                              fingerprint=key), True

    @hookimpl
    def hark_compile(self, engine: Any, force: bool) -> str | None:
        return "asr_pocketsphinx: " + self._load(engine, force=force)

    @hookimpl
    def hark_stream_start(self) -> LiveDecoder | RemoteDecoder | None:
        """A new stream gets decoders of its own, loaded at its first audio (not when its first utterance ends,
        and not at all for a stream of text); in a decoder process when another stream decodes here."""
        if self.transcriber is None:
            return None
        if self._placement is None or self._placement.transcriber is not self.transcriber:  # (re)compiled
            if self._placement is not None:
                self._placement.retire()
            processes = self.settings.decoder_processes
            self._placement = Placement(self.transcriber, (os.cpu_count() or 1) if processes is None else processes)
        return self._placement.open()

    @hookimpl
    def hark_stream_end(self, state: LiveDecoder | RemoteDecoder | None) -> None:
        if state is not None:
            state.placement.close(state)

    @hookimpl
    def hark_shutdown(self) -> None:
        if self._placement is not None:
            self._placement.shutdown()

    @hookimpl
    def hark_audio_chunk(self, chunk: AudioChunk, state: LiveDecoder | None) -> None:
        """Keep the last seconds of audio; once speech has started, decode each frame as it arrives."""
        if state is None or chunk.sample_rate != 16000:
            return
        if not state.warm():  # the stream's first audio: load its decoder and the skill LM's probabilities now
            self._skill_lm()
        state.audio(chunk.to_array(), chunk.timestamp)

    @hookimpl
    def hark_speech_start(self, start: float, state: LiveDecoder | None) -> None:
        if state is not None:
            state.speech_start(start)

    def _skill_lm(self) -> ArpaModel | None:
        """The skill LM as ARPA probabilities (read on first audio, ~1 s), None with the generic LM."""
        if self._arpa is None and self.compiled is not None and self.settings.lm == "skills":
            self._arpa = ArpaModel.load(self.compiled.lm)
        return self._arpa

    @hookimpl
    def hark_end_of_turn(self, end: float, pause: float, state: LiveDecoder | None) -> float | NBest | None:
        """At a pause: the live partial transcription up to ``end``, for the runtime to interpret, when the skill LM
        and the ``pause`` so far make the end of the turn likely (see ``AsrSettings.end_of_turn_lm``), or the skills'
        templates take the words as a request that cannot go on; 0 when more words are likely; None without a live
        decode."""
        if state is None or not self.settings.streaming:
            return None
        text = state.partial(end)
        lm = self._skill_lm()
        if not text or lm is None:
            state.last_judgement = None
            return None
        p_end = lm.end_probability(text.split())
        before = state.last_judgement  # the same pause is asked about again as it grows: same words, same answer
        if before is not None and before["text"] == text:
            grammar = before["grammar"]
        else:
            grammar = self._grammar.state(text) if self._grammar is not None else ""
        finished = grammar == "finished" and self.settings.end_when_finished
        over = 1.0 if finished else turn_over(p_end, pause, self.settings.mid_pause_ms)
        state.last_judgement = {"text": text, "lm": round(p_end, 4), "pause": round(pause, 3), "over": round(over, 4),
                                "grammar": grammar}
        if grammar == "started":
            return -1.0  # only the start of a request: the endpointer may keep the turn open (hold_silence_ms)
        if over < self.settings.end_of_turn_lm:
            return 0.0
        return NBest((Hypothesis(text, 1.0),), source=NAME)

    @hookimpl
    def hark_transcribe(self, audio: AudioChunk, state: LiveDecoder | None) -> NBest | None:
        if self.transcriber is None:
            return None
        # decoding costs about real time: refuse (an error event naming limits.max_utterance_s) rather than spend
        # minutes on what cannot be one command (the vad plugin cuts live speech at its max_utterance_s)
        check_audio_seconds(audio.duration, self._limits, what="utterance audio")
        if state is None:
            return self.transcriber.transcribe(audio.to_array(), audio.sample_rate)
        return state.transcribe(audio.to_array(), audio.sample_rate, audio.timestamp,
                                audio.timestamp + audio.duration)


def _g2p_identity() -> str:
    """Which g2p model would fill in pronunciations (part of the cache key: a new model means a new LM)."""
    try:
        from hark.phonetics import MODEL_DIR
    except ImportError:
        return "none"
    meta = MODEL_DIR / "meta.json"
    return hashlib.sha256(meta.read_bytes()).hexdigest()[:16] if meta.is_file() else "none"


def g2p_or_none():
    """The g2p the skill LM's dictionary uses for words pocketsphinx's dictionary lacks (``phonemes``), or None
    when it is not installed; public because training.asr_hypotheses builds its recogniser's dictionary alike."""
    try:
        from hark.phonetics import G2P
    except ImportError:
        return None
    try:
        return G2P.default().phonemes
    except Exception as exc:  # noqa: BLE001 - without g2p only some catalog names go missing
        log.warning("g2p unavailable (%s): names missing from the dictionary are left out of the skill LM", exc)
        return None
