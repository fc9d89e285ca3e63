"""Compile the installed skills into what pocketsphinx decodes with: an n-gram LM (ARPA) and a pronunciation dict.

The corpus is the skills' own sentences (``hark.sentences``: template walks with typed slot values), spoken the
way an ASR writes them ("25 minutes" -> "twenty five minutes"), plus every catalog entry placed once in a carrier
sentence of an intent that uses the catalog, so that all 2,000 book titles are reachable and not only those the
sampler happened to draw. Words missing from pocketsphinx's dictionary get a pronunciation from their parts
("audiobook" = "audio" + "book") or from the entity resolver's g2p when it is installed; a sentence with a word
that gets none is left out (and counted).

The result lives in a folder keyed by a hash of everything that went in, so it is rebuilt only when the skills,
the settings or the dictionary change (``hark train`` forces it).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from hark.sentences import ordinal_words, sample_sentences, spoken_number
from hark.skills import SkillSet
from hark.text import tokenize

from .lm import NgramModel

__all__ = ["CompiledLM", "compile_skills", "speakable", "Lexicon", "skills_fingerprint", "dictionary_text"]

FORMAT = "hark-pocketsphinx-lm/2"  # 2: sentences drawn per intent (hark.sentences)

_SYMBOLS = {"%": ["percent"], "&": ["and"], "+": ["plus"], "°": ["degrees"]}


#: everyday English a grammar search may hear instead of a command: the dictionary carries them beyond the skills'
#: words, so a word loop over them can take speech no template makes ("i do not want any coffee") rather than forcing
#: it into the nearest command (grammar.py); hand-picked function words, verbs and nouns of household talk
OTHER_WORDS: tuple[str, ...] = tuple("""a about after again all also always am an and any anything are around as ask at away back bad be because
been before being best better big bill book both bring but buy by call came can can't car close cold come could
day did didn't do does doesn't dog done don't door down each eat eight else even every everyone everything far
fast find fine first five for four friday from get give go going gone good got great had has have he hear hello
help her here hi him his home hot house how i i'm if in is it it's just keep kind know last later leave let like
little long look lot love made make many may maybe me meeting mean message more morning most much music must my
need never new news next nice night nine no not nothing now of off oh okay on once one only open or other our out
over people phone place play please put rain read really right said same saturday say see send set seven she
should show six so some something sorry start still stop sunday sure table take talk tell ten than thank thanks
that that's the their them then there these they thing think this those three through thursday time to today
together tomorrow tonight too tuesday turn two up us very wait want was watch water way we wednesday week well
went were what what's when where which who why will window with work would yeah year yes yesterday yet you your""".split())

def _number(n: int) -> list[str]:
    if 1100 <= n <= 2099 and n % 100 and n // 100 % 10:  # years: "nineteen eighty four"
        hi, lo = divmod(n, 100)
        return spoken_number(hi).split() + (["oh"] if lo < 10 else []) + spoken_number(lo).split()
    if n >= 10000:
        return [w for d in str(n) for w in spoken_number(int(d)).split()]
    return spoken_number(n).split()


def spoken(text: str) -> list[str]:
    """A text's words as the recogniser writes them (tokenised, numbers and symbols spelled out)."""
    return speakable(t.text for t in tokenize(text))


def speakable(words: Iterable[str]) -> list[str]:
    """Words as an ASR would write them: digits, clock times, ordinals and symbols spelled out."""
    out: list[str] = []
    for w in words:
        if w.isdigit():
            out += _number(int(w))
        elif m := re.fullmatch(r"(\d{1,2}):(\d\d)", w):
            hour, minute = int(m.group(1)), int(m.group(2))
            out += _number(hour) + ([] if minute == 0 else (["oh"] if minute < 10 else []) + _number(minute))
        elif m := re.fullmatch(r"(\d+)(st|nd|rd|th)", w):
            out += ordinal_words(spoken_number(int(m.group(1))).split())
        elif m := re.fullmatch(r"(\d+)%", w):
            out += _number(int(m.group(1))) + ["percent"]
        elif w in _SYMBOLS:
            out += _SYMBOLS[w]
        elif any(c.isdigit() for c in w):  # "4k", "mp3": letters and digits one by one
            for part in re.findall(r"\d+|[^\d]+", w):
                out += _number(int(part)) if part.isdigit() else [part]
        else:
            out.append(w)
    return out


class Lexicon:
    """Pronunciations: pocketsphinx's dictionary, then word parts, then an optional g2p for the rest."""

    def __init__(self, dict_path: Path, g2p: Callable[[str], Sequence[str]] | None = None):
        self.path = dict_path
        self.entries: dict[str, list[str]] = {}
        with open(dict_path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                word = parts[0].split("(", 1)[0]
                self.entries.setdefault(word, []).append(" ".join(parts[1:]))
        self.g2p = g2p
        self.guessed: dict[str, str] = {}
        self.missing: set[str] = set()

    def pronounce(self, word: str) -> list[str] | None:
        """All pronunciations of ``word`` (phones separated by spaces), or None when none can be made."""
        if word in self.entries:
            return self.entries[word]
        if word in self.guessed:
            return [self.guessed[word]]
        if word in self.missing:
            return None
        phones = self._split(word)
        if phones is None and self.g2p is not None and re.fullmatch(r"[a-z']+", word):
            try:
                phones = " ".join(self.g2p(word)) or None
            except Exception:  # noqa: BLE001 - a g2p failure only costs this word
                phones = None
        if phones is None:
            self.missing.add(word)
            return None
        self.guessed[word] = phones
        return [phones]

    def _split(self, word: str) -> str | None:
        """A compound of two dictionary words ("audiobook", "unpause" is not: "un" is no word)."""
        for i in range(len(word) - 3, 2, -1):
            head, tail = word[:i], word[i:]
            if head in self.entries and tail in self.entries and len(tail) >= 3:
                return self.entries[head][0] + " " + self.entries[tail][0]
        return None


def dictionary_text(words: Iterable[str], lexicon: Lexicon) -> str:
    """A pocketsphinx dictionary of ``words`` (each once, markers such as ``<s>`` left out): a line per
    pronunciation, the second and later ones as ``word(2)``; words the lexicon cannot pronounce are left out."""
    lines = []
    for word in dict.fromkeys(words):
        if word.startswith("<"):
            continue
        for k, phones in enumerate(lexicon.pronounce(word) or []):
            lines.append(f"{word} {phones}" if k == 0 else f"{word}({k + 1}) {phones}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class CompiledLM:
    """A compiled skill language model on disk."""

    folder: Path
    lm: Path
    dict: Path
    meta: dict

    @classmethod
    def load(cls, folder: Path) -> "CompiledLM | None":
        meta_path = folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        lm, dic = folder / "skills.lm", folder / "skills.dict"
        if meta.get("format") != FORMAT or not lm.is_file() or not dic.is_file():
            return None
        return cls(folder, lm, dic, meta)


def skills_fingerprint(skills: SkillSet, extra: dict) -> str:
    """A hash of every skill file (and catalog) plus the compile settings: the cache key of a compiled LM."""
    h = hashlib.sha256(json.dumps({**extra, "format": FORMAT}, sort_keys=True).encode())
    for skill in sorted(skills, key=lambda s: s.name):
        h.update(skill.name.encode())
        for path in sorted(_skill_files(skill)):
            h.update(str(path.name).encode())
            try:
                h.update(path.read_bytes())
            except OSError:
                pass
    return h.hexdigest()[:16]


def _skill_files(skill) -> list[Path]:
    path = getattr(skill, "path", None)
    if path is None:
        return []
    folder = Path(path).parent
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml", ".csv", ".txt")]


def corpus(skills: SkillSet, per_intent: int, seed: int = 0, extra: Sequence[str] = (),
           wake_phrase: str = "") -> list[list[str]]:
    """Spoken-form training sentences for the LM: sampled sentences plus every catalog entry once (and the wake
    phrase alone and in front of one sentence in four, when there is one)."""
    samples = sample_sentences(skills, per_intent, seed, filler_rate=0.15)
    sentences = [speakable(s.words) for s in samples]
    if wake_phrase:
        wake = spoken(wake_phrase)
        sentences = [wake + s if i % 4 == 0 else s for i, s in enumerate(sentences)] + [wake] * 50
    # every catalog entry once, in a carrier sentence that had a value of the same slot
    carriers: dict[tuple[str, str], list[tuple[list[str], int, int]]] = {}
    for s in samples:
        skill = s.intent.split(".", 1)[0]
        i = 0
        while i < len(s.tags):
            tag = s.tags[i]
            if tag.startswith("B-"):
                j = i + 1
                while j < len(s.tags) and s.tags[j] == "I-" + tag[2:]:
                    j += 1
                carriers.setdefault((skill, tag[2:]), []).append((list(s.words), i, j))
                i = j
            else:
                i += 1
    rng = random.Random(seed + 7)
    for skill in skills:
        for slot in skill.slots.values():
            if slot.catalog is None or not len(slot.catalog):
                continue
            pool = carriers.get((skill.name, slot.name))
            if not pool:
                continue
            for entry in slot.catalog.entries:
                for form in (entry.name, *entry.aliases):
                    words, i, j = rng.choice(pool)
                    value = [t.text for t in tokenize(form)]
                    sentences.append(speakable(words[:i] + value + words[j:]))
    for line in extra:
        sentences.append(spoken(line))
    if any(intent.confirm for intent in skills.intents()):  # a sensitive intent asks: the answers must be heard
        from hark.conversation import ANSWERS

        sentences += [spoken(a) for a in ANSWERS for _ in range(10)]
    return [s for s in sentences if s]


def compile_skills(skills: SkillSet, out: Path, lexicon: Lexicon, *, per_intent: int = 400, order: int = 3,
                   extra: Sequence[str] = (), wake_phrase: str = "", fingerprint: str = "") -> CompiledLM:
    """Write skills.lm (ARPA), skills.dict and meta.json into ``out`` and return them."""
    t0 = time.perf_counter()
    sentences = corpus(skills, per_intent, extra=extra, wake_phrase=wake_phrase)
    kept: list[list[str]] = []
    dropped = 0
    for words in sentences:
        if all(lexicon.pronounce(w) for w in words):
            kept.append(words)
        else:
            dropped += 1
    if not kept:
        raise ValueError("no skill sentence could be pronounced: is the pronunciation dictionary empty?")
    model = NgramModel((tuple(w) for w in kept), order=order)
    out.mkdir(parents=True, exist_ok=True)
    suffix = f".{os.getpid()}.tmp"  # two engines compiling the same skills never write into each other's files
    tmp_lm, tmp_dict, tmp_meta = (out / f"{name}{suffix}" for name in ("skills.lm", "skills.dict", "meta.json"))
    tmp_lm.write_text(model.to_arpa(), encoding="utf-8")
    # the LM's words, then everyday words a grammar search may hear instead of a command (grammar.OTHER_WORDS)
    tmp_dict.write_text(dictionary_text([*model.vocabulary, *OTHER_WORDS], lexicon), encoding="utf-8")
    meta = {
        "format": FORMAT, "fingerprint": fingerprint, "order": order, "per_intent": per_intent,
        "sentences": len(kept), "dropped_sentences": dropped, "vocabulary": len(model.vocabulary) - 1,
        "guessed_pronunciations": len(lexicon.guessed), "unpronounceable_words": sorted(lexicon.missing)[:50],
        "ngrams": [len(model.counts[n]) for n in range(1, order + 1)],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    tmp_meta.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_lm, out / "skills.lm")
    os.replace(tmp_dict, out / "skills.dict")
    os.replace(tmp_meta, out / "meta.json")  # last: a folder with meta.json is complete
    return CompiledLM(out, out / "skills.lm", out / "skills.dict", meta)
