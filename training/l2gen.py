"""L2-GEN sampling with the exported paraphraser (numpy + onnxruntime; ``training.train_l2gen`` trains it):
plausible non-native renderings of any canonical phone sequence, for the tutor's training speech."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from hark.phonetics import ARPABET

__all__ = ["Paraphraser", "FORMAT", "PHONES", "MAX_PHONES", "DEFAULT_DIR"]

FORMAT = "hark-l2gen-1"
PHONES = ["<pad>", "<s>", "</s>"] + list(ARPABET)
MAX_PHONES = 96
DEFAULT_DIR = Path(__file__).resolve().parent / "l2gen"
_PAD, _BOS, _EOS = 0, 1, 2


class Paraphraser:
    """``sample(prompts, rng)`` -> one paraphrase per prompt (ARPAbet tuples)."""

    def __init__(self, directory: Path = DEFAULT_DIR, threads: int = 1):
        from hark.onnx import load_session

        self.meta = json.loads((Path(directory) / "meta.json").read_text())
        if self.meta.get("format") != FORMAT:
            raise ValueError(f"{directory}/meta.json: not a {FORMAT} model")
        self.encoder, self.decoder = (load_session(Path(directory) / self.meta["files"][p]["file"],
                                                   sha256=self.meta["files"][p]["sha256"], threads=threads)
                                      for p in ("encoder", "decoder"))
        self.index = {p: i for i, p in enumerate(PHONES)}

    def sample(self, prompts: Sequence[Sequence[str]], rng: np.random.Generator, temperature: float | None = None,
               batch: int = 64) -> list[tuple[str, ...]]:
        temperature = float(self.meta.get("temperature", 1.0) if temperature is None else temperature)
        out: list[tuple[str, ...]] = []
        for start in range(0, len(prompts), batch):
            out += self._batch([list(p)[:MAX_PHONES] for p in prompts[start:start + batch]], rng, temperature)
        return out

    def _batch(self, prompts: list[list[str]], rng: np.random.Generator, temperature: float) -> list[tuple[str, ...]]:
        width = max(len(p) for p in prompts)
        src = np.full((len(prompts), width), _PAD, dtype=np.int64)
        for i, p in enumerate(prompts):
            src[i, :len(p)] = [self.index[x] for x in p]
        memory = self.encoder.run(None, {"phones": src})[0]
        prefix = np.full((len(prompts), 1), _BOS, dtype=np.int64)
        done = np.zeros(len(prompts), dtype=bool)
        limit = min(MAX_PHONES, width + 8)
        for _ in range(limit + 1):
            logp = self.decoder.run(None, {"memory": memory, "phones": src, "prefix": prefix})[0] / temperature
            logp[:, [_PAD, _BOS]] = -np.inf
            if prefix.shape[1] > limit:
                logp[:, 3:] = -np.inf  # long enough: end
            p = np.exp(logp - logp.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            nxt = np.array([rng.choice(len(row), p=row) for row in p])
            nxt = np.where(done, _EOS, nxt)
            prefix = np.concatenate([prefix, nxt[:, None]], axis=1)
            done |= nxt == _EOS
            if done.all():
                break
        out = []
        for row in prefix[:, 1:].tolist():
            row = row[:row.index(_EOS)] if _EOS in row else row
            out.append(tuple(PHONES[i] for i in row if i > _EOS))
        return out
