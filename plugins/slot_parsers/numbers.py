"""Spoken and written numbers: ``parse_number`` ("twenty five" -> 25) and ``parse_ordinal`` ("third" -> 3).

Slot parsers see the words an ASR put in a slot, so the input is lower-case English words ("one hundred and
three"), digits ("103", "1,000", "1.5") or a mix ("5 thousand"). A parser must return ``None`` when any word is not
part of the number ("ten minutes" is not a number): the template matcher tries several spans and keeps the ones a
parser accepts. Every word is first checked against a frozen vocabulary, which rejects most spans in a few
microseconds before any grammar runs.

The ``*_prefix`` helpers read the longest number at a token position and return ``(value, end)``; the duration
and datetime parsers build on them. ``tokenize`` is the normalisation all parsers of this plugin share.

Choices:
    * integral values come back as ``int`` ("2.0" -> 2, "half a dozen" -> 6), others as ``float``;
    * "half" -> 0.5, "a quarter" -> 0.25, "three quarters" -> 0.75, "two thirds" -> 0.666...; a lone "third" is an
      ordinal, not a fraction, and numerators above nine are not fractions ("twenty third" is not 20/3);
    * "hundred", "thousand" at the start mean one of them (ASR often drops the "a" of "a hundred");
    * number words are not juxtaposed: "five six" and "twenty twenty six" (year style) are rejected;
    * "zero", "oh" and "nought" are 0, but only on their own or after "point" ("point oh five" -> 0.05).
"""
from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Sequence

__all__ = [
    "tokenize",
    "all_known",
    "parse_number",
    "parse_ordinal",
    "parse_number_prefix",
    "parse_cardinal_prefix",
    "parse_fraction_prefix",
    "parse_ordinal_prefix",
    "numeral_value",
    "tidy",
    "NUMBER_WORDS",
    "ORDINAL_WORDS",
]

# --------------------------------------------------------------------------------------------------- tables

UNITS = MappingProxyType(
    {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
)
TEENS = MappingProxyType(
    {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
     "seventeen": 17, "eighteen": 18, "nineteen": 19}
)
TENS = MappingProxyType(
    {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
     "eighty": 80, "ninety": 90}
)
#: multipliers above "hundred"; each may appear once, largest first
SCALES = MappingProxyType({"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000})
ZEROS = frozenset({"zero", "oh", "nought"})
#: words read one by one after "point"
DECIMAL_DIGITS = MappingProxyType({**{w: str(v) for w, v in UNITS.items()}, "zero": "0", "oh": "0", "o": "0",
                                   "nought": "0"})
#: "a <denominator>" / "one <denominator>"
SINGULAR_FRACTIONS = MappingProxyType({"half": 0.5, "quarter": 0.25, "third": 1 / 3})
#: "<two..nine> <denominators>"
PLURAL_FRACTIONS = MappingProxyType({"quarters": 0.25, "thirds": 1 / 3})
#: fractions that stand alone ("half an hour", "quarter hour")
BARE_FRACTIONS = MappingProxyType({"half": 0.5, "quarter": 0.25})
SIGN_WORDS = frozenset({"minus", "negative"})
_A_FOLLOWERS = frozenset({"hundred", *SCALES})
_CARDINAL_CORE = frozenset({*UNITS, *TEENS, *TENS, *SCALES, "hundred"})

#: ordinal word -> the cardinal word it stands for, so "twenty first" is read as "twenty one"
ORDINAL_TO_CARDINAL = MappingProxyType(
    {"zeroth": "zero", "first": "one", "second": "two", "third": "three", "fourth": "four", "fifth": "five",
     "sixth": "six", "seventh": "seven", "eighth": "eight", "ninth": "nine", "tenth": "ten", "eleventh": "eleven",
     "twelfth": "twelve", "thirteenth": "thirteen", "fourteenth": "fourteen", "fifteenth": "fifteen",
     "sixteenth": "sixteen", "seventeenth": "seventeen", "eighteenth": "eighteen", "nineteenth": "nineteen",
     "twentieth": "twenty", "thirtieth": "thirty", "fortieth": "forty", "fiftieth": "fifty", "sixtieth": "sixty",
     "seventieth": "seventy", "eightieth": "eighty", "ninetieth": "ninety", "hundredth": "hundred",
     "thousandth": "thousand", "millionth": "million", "billionth": "billion"}
)

NUMBER_WORDS = frozenset(
    {*UNITS, *TEENS, *TENS, *SCALES, *ZEROS, *SINGULAR_FRACTIONS, *PLURAL_FRACTIONS, *SIGN_WORDS,
     "hundred", "a", "an", "and", "point", "o", "dozen"}
)
ORDINAL_WORDS = frozenset({*ORDINAL_TO_CARDINAL, *UNITS, *TEENS, *TENS, *SCALES, "hundred", "a", "and", "the"})

# --------------------------------------------------------------------------------------------------- text

#: the first (?=...) lets the regex engine skip to candidate characters; without it sub() costs ~20 us a span
_SEPARATORS = re.compile(
    r"(?=[-,.:'!?;\"()\[\]{}\u2026\u201c\u201d])(?:"
    r"-(?<=[a-z0-9]-)(?=[a-z])|-(?<=[a-z]-)(?=\d)"  # twenty-five, 5-minute, twenty-5 (not -5)
    r"|,(?!\d)|,(?<!\d,)"  # commas except inside 1,000
    r"|\.(?!\d)"  # full stops, and the dots of a.m. / p.m.; keeps 1.5 and .5
    r"|:(?!\d)|:(?<!\d:)"  # colons except inside 7:30
    r"|'(?<![a-z]')|'(?![a-z])"  # quotes, but not the apostrophe of o'clock
    r"|[!?;\"()\[\]{}\u2026\u201c\u201d])",
    re.ASCII,
)
#: digits with optional sign, thousands commas and decimals: 5, -5, 1,000, 1.5, .5
_NUMERAL = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+", re.ASCII)
_ORDINAL_NUMERAL = re.compile(r"(\d+)(st|nd|rd|th)", re.ASCII)


def tokenize(text: object) -> list[str] | None:
    """Lower-case words of ``text`` with punctuation and word hyphens removed; ``None`` if it is not a string.

    "50%" becomes ["50", "percent"], "p.m." becomes ["p", "m"]; digits keep their decimal point, thousands commas
    and time colon ("1,000", "1.5", "7:30").
    """
    if not isinstance(text, str):
        return None
    text = text.lower()
    if "%" in text:
        text = text.replace("%", " percent ")
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    return _SEPARATORS.sub(" ", text).split()


_SUFFIXES = frozenset({"st", "nd", "rd", "th"})


def join_ordinal_suffixes(tokens: list[str]) -> list[str]:
    """["24", "th"] -> ["24th"]: the engine's tokenizer splits digits from letters before a slot parser sees them."""
    out: list[str] = []
    for t in tokens:
        if t in _SUFFIXES and out and out[-1].isascii() and out[-1].isdigit():
            out[-1] += t
        else:
            out.append(t)
    return out


def all_known(tokens: Sequence[str], vocabulary: frozenset[str], *patterns: re.Pattern[str]) -> bool:
    """Fast reject: every token is in ``vocabulary``, is a numeral, or fully matches one of ``patterns``."""
    for t in tokens:
        if t in vocabulary or _NUMERAL.fullmatch(t):
            continue
        if not any(p.fullmatch(t) for p in patterns):
            return False
    return True


#: longer digit strings are not something anyone says; refusing them keeps every later product a finite float
MAX_NUMERAL_CHARS = 24


def numeral_value(token: str) -> int | float | None:
    """Value of a digit token ("1,000" -> 1000, "1.5" -> 1.5), or ``None`` if it is not one (or absurdly long)."""
    if len(token) > MAX_NUMERAL_CHARS or not _NUMERAL.fullmatch(token):
        return None
    token = token.replace(",", "")
    return float(token) if "." in token else int(token)


def tidy(value: int | float) -> int | float:
    """Integral floats become ints so 2.0 and 2 compare and serialise the same."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --------------------------------------------------------------------------------------------------- grammar


def _scaled(value: int | float, tokens: Sequence[str], j: int) -> tuple[int | float, int]:
    """Apply "hundred" / "thousand" / ... after a numeral ("5 thousand", "1.5 million"), increasing order."""
    cap = 0
    while j < len(tokens):
        mult = 100 if tokens[j] == "hundred" else SCALES.get(tokens[j], 0)
        if mult <= cap:
            break
        value, cap, j = value * mult, mult, j + 1
    return tidy(value), j


def parse_cardinal_prefix(tokens: Sequence[str], i: int = 0) -> tuple[int | float, int] | None:
    """Longest cardinal at ``tokens[i:]`` -> ``(value, end)``: "one hundred and three", "2,000", "5 thousand".

    No sign, no fractions, no "point". Words follow English order (units after tens, "and" only after
    "hundred"/"thousand" and before more number words); anything else ends the number.
    """
    n = len(tokens)
    if i >= n:
        return None
    t = tokens[i]
    if t in ZEROS:
        return 0, i + 1
    if t[0].isdigit() or t[0] in "-.":
        value = numeral_value(t)
        return None if value is None else _scaled(value, tokens, i + 1)
    total = cur = 0
    last = ""
    cap = math.inf
    j = i
    if t in ("a", "an"):
        if i + 1 >= n or tokens[i + 1] not in _A_FOLLOWERS:
            return None
        cur, last, j = 1, "unit", i + 1
    while j < n:
        t = tokens[j]
        if t in UNITS:
            if last not in ("", "hundred", "scale", "and", "tens"):
                break
            cur += UNITS[t]
            last = "unit"
        elif t in TEENS or t in TENS:
            if last not in ("", "hundred", "scale", "and"):
                break
            cur += TEENS[t] if t in TEENS else TENS[t]
            last = "tens" if t in TENS else "teen"
        elif t == "hundred":
            if last == "":
                cur = 100
            elif last in ("unit", "teen") and 0 < cur < 100:  # "nineteen hundred", not "fifty hundred"
                cur *= 100
            else:
                break
            last = "hundred"
        elif t in SCALES:
            scale = SCALES[t]
            if scale >= cap or last not in ("", "unit", "teen", "tens", "hundred"):
                break
            total += (cur or 1) * scale
            cur, cap, last = 0, scale, "scale"
        elif t == "and":
            nxt = tokens[j + 1] if j + 1 < n else ""
            if last not in ("hundred", "scale") or not (nxt in UNITS or nxt in TEENS or nxt in TENS):
                break
            last = "and"
        else:
            break
        j += 1
    if last == "":
        return None
    return total + cur, j


def parse_fraction_prefix(tokens: Sequence[str], i: int = 0) -> tuple[float, int] | None:
    """A fraction below one at ``tokens[i:]``: "half", "a half", "a quarter", "three quarters", "two thirds"."""
    n = len(tokens)
    if i >= n:
        return None
    t = tokens[i]
    nxt = tokens[i + 1] if i + 1 < n else ""
    if t in ("a", "an", "one") and nxt in SINGULAR_FRACTIONS:
        return SINGULAR_FRACTIONS[nxt], i + 2
    if t in UNITS and t != "one" and nxt in PLURAL_FRACTIONS:
        value = UNITS[t] * PLURAL_FRACTIONS[nxt]
        return (value, i + 2) if value < 1 else None
    if t in BARE_FRACTIONS:
        return BARE_FRACTIONS[t], i + 1
    return None


def _decimals(tokens: Sequence[str], j: int) -> tuple[str, int] | None:
    """Digits after "point": spoken one by one ("five", "oh five") or as one numeral ("2 point 5")."""
    n = len(tokens)
    if j < n and tokens[j].isascii() and tokens[j].isdigit():
        return (tokens[j], j + 1) if len(tokens[j]) <= MAX_NUMERAL_CHARS else None
    digits = []
    while j < n and tokens[j] in DECIMAL_DIGITS and len(digits) < MAX_NUMERAL_CHARS:
        digits.append(DECIMAL_DIGITS[tokens[j]])
        j += 1
    return ("".join(digits), j) if digits else None


def parse_number_prefix(tokens: Sequence[str], i: int = 0) -> tuple[int | float, int] | None:
    """Longest unsigned number at ``tokens[i:]`` -> ``(value, end)``.

    Adds to ``parse_cardinal_prefix``: fractions ("three quarters", "one and a half"), decimals ("two point
    five", "point five") and dozens ("a dozen", "two dozen", "half a dozen").
    """
    n = len(tokens)
    if i >= n:
        return None
    frac = parse_fraction_prefix(tokens, i)
    if frac is not None:
        value, j = frac
        if tokens[j:j + 2] == ["a", "dozen"]:
            return tidy(value * 12), j + 2
        return value, j
    if tokens[i] == "point":
        dec = _decimals(tokens, i + 1)
        return None if dec is None else (float("0." + dec[0]), dec[1])
    if tokens[i] in ("a", "an") and i + 1 < n and tokens[i + 1] == "dozen":
        return 12, i + 2
    card = parse_cardinal_prefix(tokens, i)
    if card is None:
        return None
    value, j = card
    if j >= n or not isinstance(value, int):
        return card
    t = tokens[j]
    if t == "point":
        dec = _decimals(tokens, j + 1)
        if dec is not None:
            return _scaled(float(f"{value}.{dec[0]}"), tokens, dec[1])
    elif t == "dozen" and value > 0:
        return value * 12, j + 1
    elif t == "and":
        frac = parse_fraction_prefix(tokens, j + 1)
        if frac is not None:
            return value + frac[0], frac[1]
    return card


def _ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def parse_ordinal_prefix(tokens: Sequence[str], i: int = 0) -> tuple[int, int] | None:
    """An ordinal at ``tokens[i:]`` -> ``(value, end)``: "3rd", "third", "twenty first", "one hundred and first".

    The last word is the ordinal one; the words before it must form a cardinal with it ("twenty first" reads as
    "twenty one"). "22th" is rejected: the suffix must agree with the number.
    """
    n = len(tokens)
    if i >= n:
        return None
    m = _ORDINAL_NUMERAL.fullmatch(tokens[i])
    if m:
        value = int(m.group(1))
        return (value, i + 1) if m.group(2) == _ordinal_suffix(value) else None
    j = i
    while j < n and (tokens[j] in _CARDINAL_CORE or tokens[j] in ("a", "and")):
        j += 1
    if j >= n or tokens[j] not in ORDINAL_TO_CARDINAL:
        return None
    words = [*tokens[i:j], ORDINAL_TO_CARDINAL[tokens[j]]]
    card = parse_cardinal_prefix(words, 0)
    if card is None or card[1] != len(words):
        return None
    return card[0], j + 1  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------- parsers


def parse_number(text: object) -> int | float | None:
    """The number that ``text`` is, all of it: "twenty five" -> 25, "minus 1.5" -> -1.5, "ten please" -> None."""
    tokens = tokenize(text)
    if not tokens or not all_known(tokens, NUMBER_WORDS):
        return None
    sign, i = 1, 0
    if tokens[0] in SIGN_WORDS:
        if len(tokens) == 1 or tokens[1].startswith("-"):
            return None
        sign, i = -1, 1
    found = parse_number_prefix(tokens, i)
    if found is None or found[1] != len(tokens):
        return None
    return tidy(sign * found[0])


def parse_ordinal(text: object) -> int | None:
    """The position ``text`` names: "third" -> 3, "21st" -> 21, "the twenty first" -> 21; else ``None``.

    A leading "the" is allowed so that "play the third one" works whichever span the matcher tries.
    """
    tokens = tokenize(text)
    if not tokens:
        return None
    if tokens[0] == "the":
        tokens = tokens[1:]
    if not tokens or not all_known(tokens, ORDINAL_WORDS, _ORDINAL_NUMERAL):
        return None
    found = parse_ordinal_prefix(tokens, 0)
    if found is None or found[1] != len(tokens):
        return None
    return found[0]
