"""Bounds on input, checked at the edges (CLI, ``coerce_nbest``/``read_jsonl``, WAV reading, the ASR plugin).

Each function is small and pure: it takes the input (or what a header says about it) and ``LimitSettings``, and
either returns the input, bounded, or raises an ``InputLimitError`` whose one-line message names the limit's config
key (``limits.max_text_chars``) and both numbers, so the user knows what to change. The checks are cheap by
design: they look at sizes and headers, never at what the input means, and they run before the expensive part
(JSON decoding, resampling, decoding speech, matching templates) can start.
"""
from __future__ import annotations

import logging
import math
import re
from typing import IO, Any, Iterator

from .config import LimitSettings
from .errors import InputError

__all__ = ["InputLimitError", "DEFAULT", "check_text", "check_nbest", "check_json_depth", "json_depth",
           "check_line", "bounded_lines", "read_bounded", "check_wav_format", "check_audio_seconds",
           "check_resample_ratio", "MAX_RESAMPLE_FACTOR"]

log = logging.getLogger("hark")

#: the limits of a default config, for callers that have no config (library use of ``hark.audio``)
DEFAULT = LimitSettings()

#: largest numerator or denominator of the reduced ratio between two sample rates that the resampler accepts.
#: Its filter has about 58 taps per unit of it: 44.1 -> 16 kHz (441/160) needs 25k taps, a 191999 Hz header
#: (191999/16000) would need 11 million (seconds and hundreds of MB before the first sample).
MAX_RESAMPLE_FACTOR = 4000


class InputLimitError(InputError):
    """Input beyond a configured bound (``limits.<key>`` in config.yaml); ``key`` is that dotted key."""

    def __init__(self, message: str, key: str):
        super().__init__(f"{message} (limit: {key})")
        self.key = key


# ------------------------------------------------------------------------------------------------------- text


def check_text(text: str, limits: LimitSettings = DEFAULT, what: str = "text") -> str:
    """``text`` when it is within ``max_text_chars`` and ``max_text_words``. Refused, not cut: the words after
    the cut could change what the beginning means, and nobody says a thousand words to a voice assistant."""
    if len(text) > limits.max_text_chars:
        raise InputLimitError(f"{what} is {len(text):,} characters long, more than the {limits.max_text_chars:,} "
                              f"allowed", "limits.max_text_chars")
    words = len(text.split())  # after the character check, so this is cheap
    if words > limits.max_text_words:
        raise InputLimitError(f"{what} is {words:,} words long, more than the {limits.max_text_words:,} allowed",
                              "limits.max_text_words")
    return text


def check_nbest(nbest: Any, limits: LimitSettings = DEFAULT) -> Any:
    """An NBest with at most ``max_nbest`` hypotheses (the best ones, which ``NBest`` keeps first), each within the
    text limits. A longer list is cut with a warning rather than refused: a recognizer's tail carries almost no
    probability, and the parse cost grows with every hypothesis."""
    hyps = nbest.hypotheses
    if len(hyps) > limits.max_nbest:
        dropped = hyps[limits.max_nbest:]
        log.warning("n-best list of %d hypotheses cut to the best %d (limit: limits.max_nbest); the %d dropped "
                    "held %.4f of the probability", len(hyps), limits.max_nbest, len(dropped),
                    sum(h.score for h in dropped))
        nbest = type(nbest)(hyps[:limits.max_nbest], source=nbest.source)
    for i, h in enumerate(nbest.hypotheses):
        check_text(h.text, limits, "text" if len(nbest.hypotheses) == 1 else f"hypothesis {i + 1}")
    return nbest


# ------------------------------------------------------------------------------------------------------- JSON

# a JSON string, or the rest of the line after an unterminated quote (so the scan is linear, never retried)
_JSON_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str, stop_at: int | None = None) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (brackets inside strings do not count), without decoding
    it: a cheap scan that stops as soon as ``stop_at`` is exceeded. ``json.loads`` recurses once per level and
    raises RecursionError somewhere near 1000 levels, after allocating every level."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_at is not None and deepest > stop_at:
                    break
        else:
            depth -= 1
    return deepest


def check_json_depth(text: str, limits: LimitSettings = DEFAULT, what: str = "input") -> str:
    depth = json_depth(text, stop_at=limits.max_json_depth)
    if depth > limits.max_json_depth:
        raise InputLimitError(f"{what}: JSON nested more than {limits.max_json_depth} levels deep",
                              "limits.max_json_depth")
    return text


def check_line(line: str, limits: LimitSettings = DEFAULT, what: str = "input line") -> str:
    if len(line) > limits.max_line_chars:
        raise InputLimitError(f"{what} is {len(line):,} characters long, more than the {limits.max_line_chars:,} "
                              f"allowed", "limits.max_line_chars")
    return line


def bounded_lines(stream: IO[str], limits: LimitSettings = DEFAULT) -> Iterator[str | InputError]:
    """The lines of a text stream, each read with at most ``max_line_chars`` + 1 characters in memory. A longer
    line is skipped to its end and replaced by an InputLimitError (the stream goes on), so a line with no end
    (``/dev/zero``-like input) costs time but never memory."""
    cap = limits.max_line_chars
    number = 0
    while True:
        line = stream.readline(cap + 1)
        if not line:
            return
        number += 1
        if len(line) <= cap or (len(line) == cap + 1 and line.endswith("\n")):
            yield line
            continue
        size = len(line)
        while not line.endswith("\n"):  # skip the rest of the over-long line
            line = stream.readline(1 << 16)
            if not line:
                break
            size += len(line)
        yield InputLimitError(f"input line {number} is {size:,} characters long, more than the {cap:,} allowed",
                              "limits.max_line_chars")


def read_bounded(stream: IO[str], limits: LimitSettings = DEFAULT, what: str = "input") -> str:
    """All of ``stream`` as one document of at most ``max_line_chars`` characters (``hark parse --nbest FILE``)."""
    text = stream.read(limits.max_line_chars + 1)
    if len(text) > limits.max_line_chars:
        raise InputLimitError(f"{what} is more than {limits.max_line_chars:,} characters long",
                              "limits.max_line_chars")
    return text


# ------------------------------------------------------------------------------------------------------ audio


def check_wav_format(rate: int, channels: int, limits: LimitSettings = DEFAULT, what: str = "WAV file") -> None:
    """A header's sample rate and channel count are plausible for speech. Checked before anything is allocated:
    a 78 KB file declaring 4,000,000,000 Hz would otherwise make the resampler design a filter of billions of
    taps."""
    if not limits.min_sample_rate <= rate <= limits.max_sample_rate:
        key = "limits.min_sample_rate" if rate < limits.min_sample_rate else "limits.max_sample_rate"
        raise InputLimitError(f"{what}: the header says {rate:,} Hz; allowed are {limits.min_sample_rate:,} to "
                              f"{limits.max_sample_rate:,} Hz", key)
    if not 1 <= channels <= limits.max_channels:
        raise InputLimitError(f"{what}: the header says {channels} channels; allowed are 1 to "
                              f"{limits.max_channels}", "limits.max_channels")


def check_resample_ratio(src_rate: int, dst_rate: int) -> None:
    """Rates whose reduced ratio is unwieldy (191999 -> 16000 Hz) would need a filter of millions of taps: refuse
    them with a way out, rather than spend seconds and hundreds of MB. Every common rate passes (8000 to 192000 Hz,
    11025, 22050, 44100, 48000 ...)."""
    g = math.gcd(int(src_rate), int(dst_rate))
    if max(src_rate, dst_rate) // g > MAX_RESAMPLE_FACTOR:
        raise InputError(f"cannot resample {src_rate} Hz to {dst_rate} Hz cheaply (ratio {dst_rate // g}/"
                         f"{src_rate // g}); convert the audio first, e.g. `sox in.wav -r {dst_rate} out.wav`")


def check_audio_seconds(seconds: float, limits: LimitSettings = DEFAULT, *, utterance: bool = True,
                        what: str = "audio") -> float:
    """Audio of one utterance within ``max_utterance_s`` (``utterance``) or of one file within ``max_file_s``."""
    limit, key = (limits.max_utterance_s, "limits.max_utterance_s") if utterance else \
        (limits.max_file_s, "limits.max_file_s")
    if seconds > limit:
        kind = "one utterance" if utterance else "one file"
        raise InputLimitError(f"{what} is {seconds:,.1f} s long, more than the {limit:g} s allowed for {kind}", key)
    return seconds
