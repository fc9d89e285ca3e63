"""Speech with known phones for the tutor's phone recognizer: espeak-ng reads ARPAbet (through ``[[...]]`` phoneme
input), so every recording's label is exactly the phone sequence it was asked to say, mispronounced or not.

- Prompts are everyday sentences (HWU64's training text, CC BY 4.0) in CMUdict/g2p pronunciations. Sentences of
  the tutor's real-speech benchmark (speechocean762 prompts) and L2-ARCTIC's canonical sequences are never used:
  ``prompts`` drops them and ``check_disjoint`` proves it before anything is written.
- Half the recordings carry made-up mispronunciations (substitutions among confusable phones, some deletions), so
  the recognizer learns to report what it hears, not the word it expects.
- Voices: espeak-ng accents x voice variants, in three sets that share no variant (checked at import): "train",
  "dev" (model selection and int8 calibration) and "test" (the synthetic benchmark's held-out voices).
"""
from __future__ import annotations

import csv
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hark.phonetics import G2P, text_words
from hark.phonetics.espeak import arpabet_to_espeak

__all__ = ["VOICES", "CONFUSABLE", "L2ARCTIC_TEST_SPEAKERS", "prompts", "mispronounce", "random_errors", "regroup",
           "synthesize", "check_disjoint", "voice_variant", "l2arctic", "phone_edits", "syllables", "dev_speaker"]

_ACCENTS_TRAIN = ("en-us", "en", "en-029", "en-gb-x-rp", "en-gb-x-gbclan")
_VARIANTS_TRAIN = ("", "m1", "m2", "m4", "m5", "m7", "f1", "f3", "f5", "klatt", "klatt2", "klatt4", "croak")
VOICES: dict[str, tuple[str, ...]] = {
    "train": tuple(a + (f"+{v}" if v else "") for a in _ACCENTS_TRAIN for v in _VARIANTS_TRAIN),
    "dev": ("en-us+m6", "en-gb-x-rp+f4", "en+klatt5"),
    "test": ("en-gb-scotland+m3", "en-gb-x-gbcwmd+f2", "en-us+m8", "en+klatt3", "en-029+klatt6"),
}


def voice_variant(voice: str) -> str:
    """The voice variant ("m3") of an espeak-ng voice name ("en-us+m3"); "" for the accent's own voice."""
    return voice.partition("+")[2]


_variants = [{voice_variant(v) for v in VOICES[k]} for k in ("train", "dev", "test")]
assert not (_variants[0] & _variants[1] or _variants[0] & _variants[2] or _variants[1] & _variants[2]), \
    "two voice sets share a voice variant"

#: what a learner plausibly says instead (L2 confusions: th-stopping/fronting, v/w/b, l/r, lax/tense vowels, ...)
CONFUSABLE: dict[str, tuple[str, ...]] = {
    "TH": ("S", "T", "F"), "DH": ("D", "Z", "V"), "S": ("SH", "TH", "Z"), "Z": ("S", "JH"), "SH": ("S", "CH"),
    "ZH": ("SH", "JH"), "CH": ("SH", "T"), "JH": ("ZH", "CH", "Y"), "V": ("W", "B", "F"), "W": ("V",),
    "F": ("P", "HH"), "B": ("P", "V"), "P": ("B", "F"), "D": ("T", "DH"), "T": ("D", "CH"), "G": ("K",),
    "K": ("G",), "R": ("L", "W"), "L": ("R", "N"), "N": ("NG", "L"), "NG": ("N", "NG"), "M": ("N",),
    "HH": ("F",), "Y": ("JH",), "IH": ("IY", "EH"), "IY": ("IH",), "EH": ("AE", "IH", "EY"), "AE": ("EH", "AA"),
    "AA": ("AO", "AH"), "AO": ("AA", "OW"), "AH": ("AA", "AO"), "UH": ("UW",), "UW": ("UH",), "EY": ("EH",),
    "OW": ("AO",), "ER": ("AA", "EH"), "AY": ("AA",), "AW": ("AO",), "OY": ("AO",),
}


def _data_dir() -> Path:
    return Path(os.environ.get("HARK_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def _held_out_sentences(data: Path) -> set[str]:
    """speechocean762's prompts (the tutor benchmark's real speech), normalised."""
    out: set[str] = set()
    for split in ("train", "test"):
        path = data / "speechocean762" / split / "text"
        if path.exists():
            for line in path.read_text().splitlines():
                _, _, text = line.partition("\t") if "\t" in line else line.partition(" ")
                out.add(" ".join(text_words(text)))
    return out


def _held_out_phones(data: Path) -> set[tuple[str, ...]]:
    """L2-ARCTIC's canonical phone sequences (the synthetic benchmark's prompts)."""
    path = data / "l2arctic_mdd_test" / "canonical_phones.txt"
    if not path.exists():
        return set()
    return {tuple(p.upper() for p in line.split()[1:]) for line in path.read_text().splitlines() if line.strip()}


def prompts(limit: int, seed: int = 0, data: Path | None = None) -> list[tuple[tuple[str, ...], ...]]:
    """Up to ``limit`` everyday sentences as ARPAbet words, none of them a benchmark prompt."""
    data = data or _data_dir()
    path = data / "nlu_evaluation_data_hwu64" / "train.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: set HARK_DATA to the shared data folder")
    with path.open(newline="") as f:
        texts = sorted({" ".join(text_words(row["answer_from_anno"])) for row in csv.DictReader(f, delimiter=";")})
    held = _held_out_sentences(data)
    texts = [t for t in texts if t and t not in held and 2 <= len(t.split()) <= 14]
    random.Random(seed).shuffle(texts)
    g2p = G2P.default()
    out = []
    for text in texts[:limit]:
        words = tuple(tuple(p) for p in g2p.phonemes_many(text.split()) if p)
        if words:
            out.append(words)
    check_disjoint(out, data)
    return out


def check_disjoint(sentences: Iterable[Sequence[Sequence[str]]], data: Path | None = None) -> None:
    """Raise if any sentence is one of L2-ARCTIC's canonical sequences (the synthetic benchmark's prompts)."""
    held = _held_out_phones(data or _data_dir())
    for words in sentences:
        flat = tuple(p for w in words for p in w)
        if flat in held:
            raise ValueError(f"training prompt {flat[:8]}... is an L2-ARCTIC benchmark prompt")


def mispronounce(words: Sequence[Sequence[str]], rng: random.Random, rate: float = 0.12,
                 delete_share: float = 0.15, any_phone: bool = False) -> tuple[tuple[str, ...], ...]:
    """Each phone is changed with probability ``rate``: deleted (``delete_share`` of the changes, never a word's
    only phone) or replaced by a confusable phone (``any_phone``: by any other phone, the random baseline)."""
    from hark.phonetics import ARPABET

    out = []
    for word in words:
        new: list[str] = []
        for p in word:
            if rng.random() < rate:
                if rng.random() < delete_share and len(word) > 1:
                    continue
                p = rng.choice([q for q in ARPABET if q != p] if any_phone else CONFUSABLE.get(p, (p,)))
            new.append(p)
        out.append(tuple(new or word))
    return tuple(out)


def random_errors(words: Sequence[Sequence[str]], rng: random.Random, rate: float) -> tuple[tuple[str, ...], ...]:
    """The "random substitutions" baseline: ``mispronounce`` where a changed phone becomes any other phone."""
    return mispronounce(words, rng, rate, any_phone=True)


def regroup(words: Sequence[Sequence[str]], said: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """A whole-sentence rendering ``said`` (an L2-GEN sample) cut back into the prompt's words, by aligning it to
    the canonical phones (phones it inserts are dropped; a word it deletes entirely keeps its canonical phones)."""
    flat = [p for w in words for p in w]
    edits = phone_edits(flat, said)
    out, at = [], 0
    for word in words:
        new = tuple(q for q in edits[at:at + len(word)] if q is not None)
        at += len(word)
        out.append(new or tuple(word))
    return tuple(out)


def synthesize(words: Sequence[Sequence[str]], voice: str, speed: int = 160, pitch: int = 50) -> np.ndarray:
    """espeak-ng saying ARPAbet ``words`` with ``voice``, as 16 kHz int16."""
    from hark.wav import read_wav

    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (make system-deps installs it)")
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", f.name, arpabet_to_espeak(words)],
                       check=True, capture_output=True, timeout=60)
        return read_wav(f.name)


# ----------------------------------------------------------------------------------------------- L2-ARCTIC

def dev_speaker(speaker: str) -> bool:
    """speechocean762 speakers the tutor's real-speech settings are chosen on (a fifth, by a hash of the id);
    benchmarks/tutor.py reports on the others."""
    import zlib

    return zlib.crc32(speaker.encode()) % 5 == 0


#: L2-ARCTIC speakers whose annotations only the benchmark reads (Spanish and Mandarin L1); the other four may
#: train the L2-GEN paraphraser
L2ARCTIC_TEST_SPEAKERS = ("NJS", "TXHC")


def l2arctic(split: str, data: Path | None = None) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(utterance id, canonical phones, perceived phones) of the "train" or "test" speakers, ARPAbet upper case
    ("ERR" where the annotator could not name the phone)."""
    base = (data or _data_dir()) / "l2arctic_mdd_test"
    if not (base / "canonical_phones.txt").exists():
        raise FileNotFoundError(f"{base} is missing: set HARK_DATA to the shared data folder")
    read = {}
    for name in ("canonical", "perceived"):
        for line in (base / f"{name}_phones.txt").read_text().splitlines():
            if line.strip():
                utt, *phones = line.split()
                read.setdefault(utt, {})[name] = tuple(p.upper() for p in phones)
    want_test = split == "test"
    return [(utt, d["canonical"], d["perceived"]) for utt, d in sorted(read.items())
            if (utt.split("_")[0] in L2ARCTIC_TEST_SPEAKERS) == want_test]


def phone_edits(canonical: Sequence[str], perceived: Sequence[str]) -> list[str | None]:
    """For each canonical phone what was perceived in its place (Levenshtein alignment): the same phone, another
    phone (a substitution) or None (a deletion). Insertions are not attached to any canonical phone."""
    n, m = len(canonical), len(perceived)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1,
                             cost[i - 1, j - 1] + (canonical[i - 1] != perceived[j - 1]))
    out: list[str | None] = [None] * n
    i, j = n, m
    while i > 0:
        if j > 0 and cost[i, j] == cost[i - 1, j - 1] + (canonical[i - 1] != perceived[j - 1]):
            out[i - 1] = perceived[j - 1]
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            out[i - 1] = None
            i -= 1
        else:
            j -= 1
    return out


def syllables(phones: Sequence[str]) -> list[tuple[str, ...]]:
    """A flat phone sequence cut into syllable-sized pseudo-words (a new one starts at the consonant before each
    vowel), so espeak-ng stresses every syllable instead of running 40 phones together as one word."""
    vowels = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
    cuts = [0]
    for k, p in enumerate(phones):
        if p in vowels and k > 0:
            start = k - 1 if phones[k - 1] not in vowels else k
            if start > cuts[-1] and any(q in vowels for q in phones[cuts[-1]:start]):
                cuts.append(start)
    cuts.append(len(phones))
    return [tuple(phones[a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]
