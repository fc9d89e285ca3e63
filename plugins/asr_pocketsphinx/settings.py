"""The asr_pocketsphinx plugin's settings (``plugins.settings.asr_pocketsphinx``), checked at start-up."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hark.config import ranged

__all__ = ["AsrSettings", "LM_CHOICES", "FALLBACKS", "SEARCHES"]

LM_CHOICES = ("skills", "generic")
SEARCHES = ("auto", "lm", "grammar")
FALLBACKS = ("auto", "always", "never")


@dataclass(frozen=True)
class AsrSettings:
    #: "skills" (compiled from the installed skills; the default) or "generic" (pocketsphinx's English LM)
    lm: str = "skills"
    #: how the skills constrain the search: "lm" (the skill LM: a trigram over their sentences, which also takes
    #: word strings no template makes), "grammar" (exactly the templates, as a finite-state grammar: far stronger in
    #: noise when whole recordings are decoded, but only for skills whose slots are all lists; not yet the default:
    #: streamed, it lost to the LM in noise, decisions.md 33), or "auto" (grammar when they are, else lm)
    search: str = "lm"
    #: grammar search: weight of "other speech", a loop over everyday words (compile.OTHER_WORDS and the skills'
    #: words), against the commands' 1, so that talk no template makes is heard as itself; 0 = every utterance is
    #: forced into the nearest command
    other_weight: float = 3e-28
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
    #: sentences sampled per intent for the skill LM (every catalog entry is added once on top); 2000 rather than
    #: 400 so the n-gram counts of list values and carrier phrases depend less on the draw (decision 37)
    sentences_per_intent: int = 2000
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
    #: semantic endpointing (the vad plugin asks at pauses whether the request is complete): the words heard so
    #: far end the turn only if P(over) = p / (p + (1 - p) * exp(-pause / mid_pause_ms)) reaches this, where p is
    #: the skill LM's P(</s> | last two words) and pause the silence so far; then the answer is the intent tiers'
    #: confidence in their reading of the words. A pause makes the end likelier the longer it lasts, and words
    #: the skills often continue ("a latte" | "with soy milk") need a longer one than words they rarely do
    end_of_turn_lm: float = 0.95
    #: how fast pauses inside a sentence die out (ms; see end_of_turn_lm); 0: the pause is not counted (p alone)
    mid_pause_ms: int = field(default=200, metadata=ranged(0, 10_000))
    #: words that some skill template takes as a whole request and from which no template can go on ("... with
    #: whole milk and some brown sugar") end the turn at the first pause, whatever the LM says
    end_when_finished: bool = True
    #: the words of an utterance decoded live: "whole" (the live decode, first pass only, serves the endpointer;
    #: at the endpoint the utterance is decoded again whole with both passes, normalised with the live audio's own
    #: cepstral mean; more accurate on real and synthetic speech, decisions.md 36) or "live" (the live decode,
    #: finished at the endpoint: a little less time after it)
    final_pass: str = "whole"
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
    #: child processes that decode streams while another stream already decodes in this one (pocketsphinx holds
    #: Python's GIL, so one process decodes one utterance at a time: workers.py); null = one per CPU core, 0 = every
    #: stream decodes in this process. Only ``hark serve`` with several audio clients opens concurrent streams
    decoder_processes: int | None = field(default=None, metadata=ranged(0, 64))
    #: other pocketsphinx decoder options, passed as they are (e.g. {beam: 1e-60, lw: 8.0})
    decoder: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.lm not in LM_CHOICES:
            out.append(("lm", f"expected one of {', '.join(LM_CHOICES)}, got {self.lm!r}"))
        if self.search not in SEARCHES:
            out.append(("search", f"expected one of {', '.join(SEARCHES)}, got {self.search!r}"))
        if not 0.0 <= self.other_weight <= 1.0:
            out.append(("other_weight", f"expected a weight in [0, 1], got {self.other_weight}"))
        if self.final_pass not in ("live", "whole"):
            out.append(("final_pass", f"expected live or whole, got {self.final_pass!r}"))
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
