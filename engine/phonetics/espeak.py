"""espeak-ng's phonemes as ARPAbet, and ARPAbet as espeak-ng phoneme input: the bridge between CMUdict phones
and the synthesizer that makes the tutor's training and test speech.

espeak-ng writes its phonemes (``-x``, Kirshenbaum-style mnemonics, ``--sep`` between them) and reads them back
inside ``[[...]]``. The table was built by aligning espeak-ng's en-us phonemes with CMUdict's over 3000 random
words (issue 18): 88 % of the phones agree (96.5 % on everyday words), and most of the rest are real
differences in pronunciation (names, reduced vowels), not mapping errors. Stress marks (``'`` primary, ``,``
secondary) are not phones and are dropped.
"""
from __future__ import annotations

import shutil
import subprocess
from typing import Sequence

__all__ = ["ESPEAK_TO_ARPABET", "ARPABET_TO_ESPEAK", "espeak_to_arpabet", "arpabet_to_espeak", "espeak_phonemes"]

#: espeak-ng en-us phoneme -> ARPAbet phone(s); "" drops a mark that is no phone of its own
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    **{k: (v,) for k, v in {
        "p": "P", "b": "B", "t": "T", "t#": "T", "t2": "T", "*": "T", "?": "T", "d": "D", "k": "K", "x": "K",
        "g": "G", "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "tS": "CH",
        "dZ": "JH", "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "j": "Y", "w": "W",
        "a": "AE", "aa": "AE", "aI": "AY", "aU": "AW", "A:": "AA", "0": "AA", "O:": "AO", "O": "AO", "O2": "AO",
        "OI": "OY", "oU": "OW", "@": "AH", "@2": "AH", "@5": "AH", "@-": "AH", "a#": "AH", "V": "AH", "3": "ER",
        "3:": "ER", "r-": "ER", "E": "EH", "eI": "EY", "I": "IH", "I2": "IH", "I#": "IH", "i": "IY", "i:": "IY",
        "U": "UH", "u:": "UW"}.items()},
    "A@": ("AA", "R"), "O@": ("AO", "R"), "o@": ("AO", "R"), "e@": ("EH", "R"), "i@": ("IY", "R"),
    "i@3": ("IY", "R"), "U@": ("UH", "R"), "aI@": ("AY", "ER"), "aI3": ("AY", "ER"), "aU@": ("AW", "ER"),
    "@L": ("AH", "L"), "n-": ("AH", "N"), "O~": ("AO", "N"), ";": (),
}

#: ARPAbet -> the espeak-ng en-us phoneme that says it (stressed forms; AH is "V" under stress, "@" without)
ARPABET_TO_ESPEAK: dict[str, str] = {
    "AA": "A:", "AE": "a", "AH": "V", "AO": "O:", "AW": "aU", "AY": "aI", "B": "b", "CH": "tS", "D": "d",
    "DH": "D", "EH": "E", "ER": "3:", "EY": "eI", "F": "f", "G": "g", "HH": "h", "IH": "I", "IY": "i:", "JH": "dZ",
    "K": "k", "L": "l", "M": "m", "N": "n", "NG": "N", "OW": "oU", "OY": "OI", "P": "p", "R": "r", "S": "s",
    "SH": "S", "T": "t", "TH": "T", "UH": "U", "UW": "u:", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "Z"}

_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})


def espeak_to_arpabet(word: str) -> tuple[str, ...]:
    """One word of ``espeak-ng -x --sep=" "`` output ("T 'I N k") as ARPAbet (TH IH NG K). Unknown phonemes
    raise ValueError naming them, so a new espeak-ng version cannot slip wrong labels into training data."""
    out: list[str] = []
    for token in word.split():
        phone = token.lstrip("',%=")
        if not phone:
            continue
        if phone not in ESPEAK_TO_ARPABET:
            raise ValueError(f"espeak-ng phoneme {phone!r} (in {word!r}) has no ARPAbet mapping")
        out += ESPEAK_TO_ARPABET[phone]
    return tuple(out)


def arpabet_to_espeak(words: Sequence[Sequence[str]]) -> str:
    """ARPAbet words as espeak-ng phoneme input, ``[[...]]`` with primary stress on each word's first vowel,
    so any phone sequence (a learner's substitution, an L2-GEN paraphrase) can be spoken."""
    spoken = []
    for phones in words:
        unknown = [p for p in phones if p not in ARPABET_TO_ESPEAK]
        if unknown:
            raise ValueError(f"not ARPAbet: {', '.join(unknown)}")
        first = next((i for i, p in enumerate(phones) if p in _VOWELS), None)
        spoken.append("".join(("'" if i == first else "") + (ARPABET_TO_ESPEAK[p] if p != "AH" or i == first
                                                              else "@") for i, p in enumerate(phones)))
    return "[[" + " ".join(spoken) + "]]"


def espeak_phonemes(words: Sequence[str], voice: str = "en-us") -> list[tuple[str, ...]]:
    """How espeak-ng ``voice`` pronounces each word, in ARPAbet (one espeak-ng call for all of them)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed (make system-deps installs it)")
    clean = [w.strip() for w in words]
    if any(not w or "\n" in w for w in clean):
        raise ValueError("words must be non-empty and one line each")
    out = subprocess.run([exe, "-q", "-v", voice, "-x", "--sep= "], input="\n".join(clean), capture_output=True,
                         text=True, timeout=60, check=True).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    if len(lines) != len(clean):
        raise RuntimeError(f"espeak-ng gave {len(lines)} lines for {len(clean)} words")
    return [espeak_to_arpabet(line) for line in lines]
