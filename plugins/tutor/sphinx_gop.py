"""Word-level goodness of pronunciation from pocketsphinx's acoustic model, which was trained on real voices (the
tutor's own phone model has heard only espeak-ng).

For each expected word: (log-likelihood of its frames under forced alignment of the prompt) minus (log-likelihood
of the same frames under a free phone loop), per frame. A word said as written scores near 0; a word said as
something else scores far below, because the phone loop explains its frames better than the prompt does (Witt &
Young's GOP, per word). Alignment uses ``bestpath=False``: pocketsphinx's lattice best path drops the end of an
alignment on some voices (decisions.md 38).
"""
from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["SphinxGop"]

_FLOOR = 1e-300


def _log(p: float) -> float:
    return math.log(max(float(p), _FLOOR))


class SphinxGop:
    """``word_gops(samples, words)`` -> one GOP per word (nats per 10 ms frame, <= about 0), or None when the
    alignment fails. One decoder, guarded by a lock: pocketsphinx decoders are not thread-safe."""

    def __init__(self) -> None:
        import pocketsphinx
        from pocketsphinx import Decoder

        base = Path(pocketsphinx.get_model_path()) / "en-us"
        self._decoder = Decoder(hmm=str(base / "en-us"), dict=str(base / "cmudict-en-us.dict"), lm=None,
                                loglevel="FATAL", bestpath=False)
        self._decoder.add_allphone_file("loop", str(base / "en-us-phone.lm.bin"))
        self._lock = threading.Lock()

    def _name(self, phones: Sequence[str]) -> str:
        name = "zqw_" + "_".join(phones).lower()  # never a dictionary word
        if self._decoder.lookup_word(name) is None:
            self._decoder.add_word(name, " ".join(phones), True)
        return name

    def _decode(self, pcm: bytes) -> list:
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        return list(d.seg() or [])

    def word_gops(self, samples: np.ndarray, words: Sequence[Sequence[str]]) -> list[float] | None:
        pcm = np.asarray(samples, dtype="<i2").tobytes()
        with self._lock:
            names = [self._name(p) for p in words]
            self._decoder.set_align_text(" ".join(names))
            aligned = [s for s in self._decode(pcm) if s.word.split("(")[0].startswith("zqw_")]
            if len(aligned) != len(names):
                return None
            self._decoder.activate_search("loop")
            loop = [(s.start_frame, s.end_frame + 1, _log(s.ascore)) for s in self._decode(pcm)]
        out = []
        for seg in aligned:
            start, end = seg.start_frame, seg.end_frame + 1
            frames = max(1, end - start)
            free = 0.0
            for a, b, score in loop:  # the loop's score over the same frames, shared by overlap
                overlap = min(b, end) - max(a, start)
                if overlap > 0:
                    free += score * overlap / max(1, b - a)
            out.append((_log(seg.ascore) - free) / frames)
        return out
