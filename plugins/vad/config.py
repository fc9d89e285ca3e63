"""Settings of the ``vad`` plugin (``plugins.settings.vad`` in config.yaml); unknown keys are errors."""
from __future__ import annotations

from dataclasses import dataclass, field

from hark.config import ranged

__all__ = ["VadSettings", "DETECTORS"]

#: detector names accepted by ``detector``
DETECTORS = ("spectral", "energy", "webrtc")


@dataclass(frozen=True)
class VadSettings:
    #: per-frame detector: "spectral" (numpy, built in), "energy" (numpy, simpler) or "webrtc" (needs the
    #: webrtcvad-wheels package). benchmarks/vad.py compares them.
    detector: str = "spectral"
    #: a frame is speech when the detector's probability reaches this
    threshold: float = 0.5
    #: once in speech, frames stay speech down to this probability (hysteresis); default threshold - 0.15
    neg_threshold: float | None = None
    #: speech needed (within one candidate, short dips allowed) before speech_start is emitted
    min_speech_ms: int = field(default=120, metadata=ranged(0, 10_000))
    #: silence that ends an utterance (the hangover); also the delay from the end of speech to speech_end
    silence_ms: int = 600
    #: semantic endpointing: after this much silence, and again at every multiple of it short of silence_ms
    #: (0 = off), the endpointer asks the ``hark_end_of_turn`` judges (the asr plugin) whether what was said is a
    #: complete request ...
    early_silence_ms: int = 150
    #: ... and ends the utterance at once when their answer reaches this probability; otherwise it waits silence_ms
    complete_threshold: float = 0.9
    #: ... and at silence_ms, when the judges answer that the words so far are only the start of a request (a
    #: negative answer: "give me a sixteen ounce"), the utterance stays open up to this much silence (0 = never):
    #: in noise the detector misses quiet words, and a command cut there is lost whole
    hold_silence_ms: int = field(default=1500, metadata=ranged(0, 10_000))
    #: audio kept before the detected start of speech (ASR decodes better with a little lead-in)
    pre_roll_ms: int = field(default=300, metadata=ranged(0, 5_000))
    #: audio kept after the detected end of speech: in noise the detector misses a quiet last word ("... and soy
    #: | milk"), and the recogniser finds it in this audio (dev recordings at kitchen 12 dB: 80.4 -> 82.2 %,
    #: clean 91.6 -> 93.5 %, with 150 ms against 450 ms; decisions.md 36)
    post_roll_ms: int = field(default=450, metadata=ranged(0, 5_000))
    #: an utterance is cut (speech_end with reason "max_length") after this long
    max_utterance_s: float = field(default=15.0, metadata=ranged(0, 600, low_open=True))
    #: webrtc detector only: aggressiveness 0 (least) .. 3 (most eager to call a frame non-speech)
    webrtc_mode: int = 3

    def problems(self) -> list[tuple[str, str]]:
        """``(setting, message)`` for every value out of range (types are checked by the config loader)."""
        out = []
        if self.detector not in DETECTORS:
            out.append(("detector", f"expected one of {', '.join(DETECTORS)}, got {self.detector!r}"))
        if not 0.0 < self.threshold < 1.0:
            out.append(("threshold", f"expected a probability between 0 and 1, got {self.threshold}"))
        if self.neg_threshold is not None and not 0.0 <= self.neg_threshold <= self.threshold:
            out.append(("neg_threshold", f"expected 0 <= neg_threshold <= threshold ({self.threshold}), "
                                         f"got {self.neg_threshold}"))
        for name in ("min_speech_ms", "pre_roll_ms", "post_roll_ms"):
            if getattr(self, name) < 0:
                out.append((name, f"must not be negative, got {getattr(self, name)}"))
        if self.silence_ms < 30:
            out.append(("silence_ms", f"at least 30 ms (one frame), got {self.silence_ms}"))
        if self.early_silence_ms and not 30 <= self.early_silence_ms < self.silence_ms:
            out.append(("early_silence_ms", f"expected 0 (off) or 30 ms up to silence_ms ({self.silence_ms}), "
                                            f"got {self.early_silence_ms}"))
        if not 0.0 < self.complete_threshold <= 1.0:
            out.append(("complete_threshold", f"expected a probability in (0, 1], got {self.complete_threshold}"))
        if self.max_utterance_s <= 0:
            out.append(("max_utterance_s", f"must be positive, got {self.max_utterance_s}"))
        if self.webrtc_mode not in (0, 1, 2, 3):
            out.append(("webrtc_mode", f"expected 0, 1, 2 or 3, got {self.webrtc_mode}"))
        return out

    @property
    def release_threshold(self) -> float:
        return self.neg_threshold if self.neg_threshold is not None else max(0.0, self.threshold - 0.15)
