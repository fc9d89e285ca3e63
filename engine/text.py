"""Text normalisation shared by skills, matchers and resolvers: one tokenizer, so offsets always agree."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

__all__ = ["Token", "tokenize", "normalize", "nearby_spans"]

# a recognizer's unknown-word marker (Kaldi/ESPnet "<unk>", "< unk >", "[unk]", AllenNLP "@@UNKNOWN@@"): no word;
# a clitic a recognizer split off ("what 's", "ca n't", Penn Treebank style); numbers with optional decimals/clock
# colons and a percent sign; words with inner apostrophes; a lone percent sign
_TOKEN_RE = re.compile(r"(?P<unk><\s*unk\s*>|\[\s*unk\s*\]|@@unknown@@)|(?P<clitic>'(?:s|re|ll|d|m|ve)\b|n't\b)"
                       r"|\d+(?:[.:]\d+)*%?|[^\W_]+(?:'[^\W_]+)*|%")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


@dataclass(frozen=True)
class Token:
    text: str  # normalised (lower-case, NFKC, straight apostrophes)
    start: int  # character offsets into the original string
    end: int


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()


def tokenize(text: str) -> list[Token]:
    """Split into normalised word tokens, keeping offsets into ``text``.

    NFKC never changes the length of the ASCII text ASR systems emit; for other text, offsets refer to the folded
    string, which has the same length for all common Latin input.
    """
    folded = _fold(text)
    if len(folded) != len(text):  # rare compatibility characters: offsets into folded text are the best we have
        text = folded
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(folded):
        if m.group("unk"):
            continue
        if m.group("clitic") and tokens and not folded[tokens[-1].end:m.start()].strip():
            tokens[-1] = Token(tokens[-1].text + m.group(), tokens[-1].start, m.end())  # "what 's" -> "what's"
        else:
            tokens.append(Token(m.group().lstrip("'"), m.start() + m.group().startswith("'"), m.end()))
    return tokens


def normalize(text: str) -> str:
    """Lower-case words joined by single spaces: the form catalogs and parsers compare."""
    return " ".join(t.text for t in tokenize(text))


def nearby_spans(start: int, end: int, taken: Sequence[bool], reach: int) -> list[tuple[int, int]]:
    """Token spans within ``reach`` words of [start, end) on free words (``taken[k]`` False), fewest words moved
    first, [start, end) itself left out: where to look when a tagger cut a name short or ran it long ("caption"
    of "in caption")."""
    n = len(taken)
    return [(a, b) for _, a, b in sorted((abs(a - start) + abs(b - end), a, b)
                                         for a in range(max(0, start - reach), min(end, n))
                                         for b in range(a + 1, min(n, end + reach) + 1)
                                         if (a, b) != (start, end) and not any(taken[a:b]))]
