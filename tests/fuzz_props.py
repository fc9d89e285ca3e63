"""Fuzzing: Hypothesis strategies for hostile input and the properties every input must satisfy.

Shared by tests/test_fuzz.py (a few hundred examples, in the default suite) and benchmarks/fuzz.py (thousands,
plus CLI runs). A property function takes the engine (or a path) and one input and returns how it ended: the
result, or the ``HarkError`` that refused it. Anything else (another exception type, a message over several
lines, a stream that raised or lost a line) is a bug, reported by an AssertionError or by the exception itself.
Time and memory are measured by the callers (``measure``), since what counts as too slow is theirs to say.
"""
from __future__ import annotations

import io
import json
import random
import resource
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import strategies as st

from hark import HarkError, SkillError
from hark.runtime import Result, read_jsonl

# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class Cost:
    seconds: float
    #: growth of the process's peak resident set, in MB (0 when an earlier input already reached that peak)
    peak_growth_mb: float


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure(fn: Callable[[], Any]) -> tuple[Any, Cost]:
    """``fn()`` and what it cost. Peak RSS, not tracemalloc: numpy buffers and C parsers (libyaml) count too, and
    the process is not slowed down by tracing."""
    before, t0 = peak_rss_mb(), time.perf_counter()
    out = fn()
    return out, Cost(time.perf_counter() - t0, peak_rss_mb() - before)


def refused_or(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, or the HarkError it raised, checked to be one line naming something."""
    try:
        return fn()
    except HarkError as exc:
        message = str(exc)
        assert message.strip(), f"{type(exc).__name__} without a message"
        assert "\n" not in message, f"{type(exc).__name__} message over several lines: {message!r}"
        return exc


# ------------------------------------------------------------------------------------------------- text

#: words the bundled skills and slot parsers react to, so junk also reaches the matchers and slot parsers
SKILL_WORDS = ("set a timer for ten minutes turn on off the kitchen lights living room play music by at "
               "tomorrow 7 pm am wake me up in half an hour cancel my pause resume volume to 50 percent "
               "what's weather next monday noon midnight o'clock 12:30 3.5 hours seconds dim brightness "
               "audiobook chapter movie yes no not don't is are").split()
ODD_TOKENS = ["", " ", "\t", "\x00", "\x1b[2J", "\u200b", "\u202e", "\ufeff", "\ud800", "😀", "👩‍👩‍👧", "مرحبا",
              "שלום", "٣", "²", "½", "Ⅻ", "１２", "9" * 40, "-1", "1e308", "nan", "inf", "0x1F", "(", ")", "[", "]",
              "{", "}", "{duration}", "$room", "%s", "\\", "'", '"', "...", "?!", "-", "–", ":", "::", "24:61",
              "99:99", "13 pm", "0 am", "1000000 hours", "-5 minutes", "İ", "ß", "ﬀ", "a" * 300]

texts = st.one_of(
    st.text(),  # arbitrary unicode, control characters
    st.text(st.characters(blacklist_categories=()), max_size=50),  # lone surrogates too
    st.lists(st.sampled_from(SKILL_WORDS + ODD_TOKENS), max_size=30).map(" ".join),
    st.sampled_from(ODD_TOKENS),
    st.builds(lambda t, n: t * n, st.sampled_from(["a ", "x", ".", "😀", "set a timer "]), st.integers(0, 1200)),
)

# -------------------------------------------------------------------------------------------------- JSON

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
                         st.floats(allow_nan=True, allow_infinity=True), texts)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.one_of(st.sampled_from(["text", "nbest", "score", "context"]),
                                                           st.text(max_size=8)), inner, max_size=5)),
    max_leaves=25)
scores = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1),
                   st.integers(-10**400, 10**400), st.text(max_size=5), st.booleans(), st.lists(st.integers(),
                                                                                               max_size=2))
hypothesis_items = st.one_of(
    st.fixed_dictionaries({"text": texts, "score": scores}),
    st.fixed_dictionaries({"text": texts}),
    st.fixed_dictionaries({}, optional={"text": json_values, "score": scores, "extra": json_values}),
    st.tuples(texts, scores),
    st.tuples(json_values, json_values),
    texts,
    json_values,
)
nbest_lists = st.lists(hypothesis_items, max_size=40)


@st.composite
def long_nbest(draw: Any) -> list[dict[str, Any]]:
    """A recognizer's long list (up to 12,000 hypotheses, built cheaply): the issue's 10,000-hypothesis case."""
    n = draw(st.integers(0, 12_000))
    word = draw(st.sampled_from(["turn on the light", "set a timer for", "play", "x"]))
    kind = draw(st.sampled_from(["prob", "logit", "none"]))
    return [{"text": f"{word} {i}", **({"score": 1.0 / (i + 2)} if kind == "prob" else
                                        {"score": -0.01 * i} if kind == "logit" else {})} for i in range(n)]


parse_inputs = st.one_of(
    texts, nbest_lists, long_nbest(),
    st.fixed_dictionaries({"text": json_values}), st.fixed_dictionaries({"nbest": json_values}),
    st.fixed_dictionaries({"nbest": nbest_lists}), st.fixed_dictionaries({"text": texts}),
    st.builds(lambda v, n: Nested(v, n), json_values, st.integers(1, 3000)),
    json_values,
)


@dataclass
class Nested:
    """``{"nbest": {"nbest": ... value}}`` ``depth`` levels deep, built only when parsed: Hypothesis and repr()
    would recurse through it to print it."""

    value: Any
    depth: int

    def build(self) -> Any:
        out = self.value
        for _ in range(self.depth):
            out = {"nbest": out}
        return out


def check_parse(engine: Any, value: Any) -> Any:
    """``Engine.parse`` ends in a Result or a HarkError."""
    if isinstance(value, Nested):
        value = value.build()
    out = refused_or(lambda: engine.parse(value))
    assert isinstance(out, (Result, HarkError)), type(out)
    if isinstance(out, Result):
        json.dumps(out.to_dict())  # what `hark parse` prints must be printable
    return out


# ------------------------------------------------------------------------------------------------ streams

contexts = st.dictionaries(st.sampled_from(["now", "device_id", "active_skill", "expected_text", "junk"]),
                           st.one_of(json_values, st.sampled_from(["2026-11-24T21:00:00+01:00", "9999-12-31T23:59:59",
                                                                   "0001-01-01T00:00:00", "2026-02-30"])),
                           max_size=4)
stream_lines = st.one_of(
    texts.map(lambda t: t.replace("\n", " ")),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.builds(lambda t, c: json.dumps({"text": t, "context": c}), texts, contexts),
    st.builds(lambda n: json.dumps({"nbest": n}), nbest_lists),
    st.builds(lambda o, c: "[" * o + "1" + "]" * c, st.integers(0, 3000), st.integers(0, 3000)),
    st.builds(lambda o: '{"nbest": ' * o + "[]" + "}" * o, st.integers(0, 100)),
    st.builds(lambda p, junk: p + junk, st.sampled_from(['{', '[', '"', '{"text": ', '[{"text": "a", "score": ']),
              st.text(max_size=30).map(lambda t: t.replace("\n", " "))),  # invalid JSON
    st.builds(lambda n: '"' + "a" * n + '"', st.sampled_from([999_998, 1_000_000, 1_000_001, 1_500_000])),
)


def check_stream(engine: Any, lines: list[str], as_file: bool) -> list[Any]:
    """``read_jsonl`` + ``Engine.stream`` never raise, and every non-blank line gets events of its own."""
    source = io.StringIO("\n".join(lines) + "\n") if as_file else [line + "\n" for line in lines]
    items = list(read_jsonl(source))
    assert len(items) == sum(1 for line in lines if line.strip()), "a line was lost or split"
    events = list(engine.stream(items))
    seen = {e.utterance for e in events}
    missing = set(range(len(items))) - seen
    assert not missing, f"lines without events: {sorted(missing)[:5]}"
    for e in events:
        if e.kind == "error":
            assert "\n" not in str(e.data.get("message", "")), e.data
        json.dumps(e.to_dict())
    return events


# ---------------------------------------------------------------------------------------------------- WAV

RATES = [16000, 8000, 44100, 48000, 22050, 11025, 0, 1, 7999, 191999, 192000, 192001, 4_000_000_000, 0xFFFFFFFF]
SIZES = [0, 1, 2, 15, 16, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]


def often(values: list[int], top: int) -> Any:
    """One of ``values`` three times out of four, else any number up to ``top``: most files get far enough into
    the reader to reach the decoder and resampler, the rest try every field's extremes."""
    some = st.sampled_from(values)
    return st.one_of(some, some, some, st.integers(0, top))


def u32(values: list[int]) -> Any:
    return often(values, 0xFFFFFFFF)


def u16(values: list[int]) -> Any:
    return often(values, 0xFFFF)


@st.composite
def wav_files(draw: Any) -> bytes:
    """A WAV file whose every header field may lie: codec, channels (0..65535), rate (0 .. 4e9), sample width,
    fmt and data sizes, the RIFF size; extra chunks; truncated anywhere; a few bytes flipped."""
    codec = draw(u16([1, 1, 3, 0xFFFE, 2, 6, 7, 0x55]))
    channels = draw(u16([1, 1, 2, 0, 8, 9, 64, 65535]))
    rate = draw(u32(RATES))
    bits = draw(u16([16, 16, 8, 24, 32, 64, 0, 1, 12]))
    fmt = struct.pack("<HHIIHH", codec, channels, rate, rate * max(channels, 1) * max(bits, 8) // 8 & 0xFFFFFFFF,
                      max(channels, 1) * max(bits, 8) // 8 & 0xFFFF, bits)
    if codec == 0xFFFE:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", draw(u16([1, 3, 2]))) + b"\x00" * 14
    fmt += draw(st.one_of(st.just(b""), st.just(b""), st.binary(max_size=8)))
    fmt_size = draw(st.one_of(st.just(len(fmt)), st.just(len(fmt)), u32(SIZES)))
    data = draw(st.binary(max_size=3000))
    data_size = draw(st.one_of(st.just(len(data)), st.just(len(data)),
                               u32(SIZES + [len(data) + 1, max(len(data) - 1, 0)])))
    extra = b""
    if draw(st.booleans()):
        junk = draw(st.binary(max_size=20))
        extra = b"LIST" + struct.pack("<I", draw(st.one_of(st.just(len(junk)), u32(SIZES)))) + junk
    chunks = [b"fmt " + struct.pack("<I", fmt_size) + fmt, extra, b"data" + struct.pack("<I", data_size) + data]
    if draw(st.integers(0, 7)) == 7:
        chunks.reverse()  # data before fmt
    body = b"WAVE" + b"".join(chunks)
    magic = draw(st.sampled_from([b"RIFF"] * 12 + [b"RIFX", b"RF64", b"riff"]))
    out = bytearray(magic + struct.pack("<I", draw(st.one_of(st.just(len(body)), u32(SIZES)))) + body)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):  # flip a few bytes
        if out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.just(len(out)), st.just(len(out)), st.integers(0, len(out))))
    return bytes(out[:cut])


FORMATS = [(1, 16), (1, 8), (1, 24), (1, 32), (3, 32), (3, 64), (0xFFFE, 16), (0xFFFE, 32)]


@st.composite
def plausible_wavs(draw: Any, any_rate: bool = True) -> bytes:
    """A well-formed WAV of any supported format, channel count and rate (with ``any_rate``, any whole number
    8000-192000 Hz, so the resampler meets awkward ratios), whose data size may disagree with the bytes there:
    this is what reaches the decoder and the resampler."""
    codec, bits = draw(st.sampled_from(FORMATS))
    channels = draw(st.sampled_from([1, 2, 3, 6, 8]))
    common = st.sampled_from(RATES[:6])
    rate = draw(st.one_of(common, st.integers(8000, 192000)) if any_rate else common)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", codec, channels, rate, rate * block, block, bits)
    if codec == 0xFFFE:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", 1 if bits == 16 else 3) + b"\x00" * 14
    size = draw(st.one_of(st.integers(0, 64), st.integers(0, 32000)))  # up to 1 s at 16 kHz; noise, cheaply:
    data = random.Random(draw(st.integers(0, 2**32))).randbytes(size)  # Hypothesis' binary() stays short
    declared = draw(st.one_of(st.just(len(data)), st.just(0), st.just(0xFFFFFFFF), st.integers(0, 0xFFFFFFFF)))
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", declared) + data
    out = b"RIFF" + struct.pack("<I", len(body)) + body
    return out[:draw(st.one_of(st.just(len(out)), st.just(len(out)), st.just(len(out)), st.integers(0, len(out))))]


wav_bytes = st.one_of(plausible_wavs(), plausible_wavs(), wav_files(), wav_files(), wav_files(),
                      st.binary(max_size=200), st.binary(max_size=100).map(lambda b: b"RIFF" + b))


def check_wav(path: Path, data: bytes) -> Any:
    """``read_wav`` (as `hark transcribe` calls it) and ``WavFile`` (as `hark listen --wav` iterates it) end in
    samples or a HarkError."""
    from hark.audio import WavFile, read_wav

    path.write_bytes(data)
    out = refused_or(lambda: read_wav(path, utterance=True))
    frames = refused_or(lambda: sum(len(c.samples) for c in WavFile(path)))
    assert isinstance(frames, (int, HarkError))
    return out


def check_listen_wav(engine: Any, path: Path, data: bytes) -> Any:
    """`hark listen --wav`: the file's frames through ``Engine.stream`` (vad, then ASR if enabled), or a HarkError
    when the header is refused; the stream itself never raises."""
    from hark.audio import WavFile

    path.write_bytes(data)
    source = refused_or(lambda: WavFile(path))
    if isinstance(source, HarkError):
        return source
    events = list(engine.stream(iter(source)))
    for e in events:
        json.dumps(e.to_dict() if e.kind != "speech_end" else {k: v for k, v in e.data.items() if k != "audio"})
    return events


# --------------------------------------------------------------------------------------------- skill files

VALID_SKILL = {
    "name": "home",
    "description": "lights",
    "intents": {
        "LightsOff": {"examples": ["(turn|switch) off the {room} (lights|light)", "turn off the [kitchen](room) lights",
                                   "(turn|switch) off (the)? lights( in the {room})?"],
                      "action": {"name": "home.lights_off", "params": {"room": "$room"}},
                      "response": ["Turning off the {room} lights.", "Done."], "tests": ["kill the lights"],
                      "confirm": False, "min_confidence": 0.6},
        "SetTimer": {"examples": ["set a timer for [ten minutes](duration)"], "action": "timer.start"},
    },
    "slots": {"room": {"type": "list", "values": ["kitchen", {"value": "living room", "synonyms": ["lounge"]}]},
              "duration": "duration", "label": {"type": "text"}},
}
TEMPLATE_JUNK = ["(", ")", "|", "?", "[", "]", "{", "}", "(a|b)", "[x](room)", "{room}", "{nope}", "[](room)",
                 "()", "(|)", "((a))", "a?", "{ room }", "[a]( room )", "[a]", "\\", "(a|", "|b)"]
templates = st.one_of(
    st.lists(st.sampled_from(TEMPLATE_JUNK + SKILL_WORDS[:12]), max_size=12).map(" ".join),
    st.builds(lambda words, n: "(" + "|".join((words * n)[:5000]) + ")", st.lists(st.sampled_from(SKILL_WORDS),
                                                                                   min_size=1, max_size=5),
              st.integers(1, 2000)),  # huge alternation
    st.builds(lambda n: "turn (on)? " * n + "lights", st.integers(0, 60)),  # many optional groups
    st.builds(lambda n: "(" * n + "a" + ")" * n, st.integers(0, 300)),  # deep groups
    st.text(max_size=40),
)


@st.composite
def skill_documents(draw: Any) -> str:
    """A valid skill.yaml, mutated: keys dropped, values retyped, template junk, a line duplicated."""
    doc = json.loads(json.dumps(VALID_SKILL))
    for _ in range(draw(st.integers(0, 4))):
        parent, key = _pick(draw, doc)
        if parent is None:
            break
        action = draw(st.sampled_from(["drop", "retype", "template", "rename"]))
        if action == "drop":
            del parent[key]
        elif action == "retype":
            parent[key] = draw(json_values)
        elif action == "template":
            parent[key] = draw(templates)
        elif isinstance(parent, dict):  # rename
            parent[draw(st.text(max_size=10))] = parent.pop(key)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    lines = text.splitlines()
    if lines and draw(st.booleans()):  # a repeated line: often a duplicate key, sometimes bad indentation
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
    return "\n".join(lines) + "\n"


def _pick(draw: Any, doc: Any) -> tuple[Any, Any]:
    """A random (container, key) inside ``doc``, walking down a few levels."""
    parent, key = None, None
    node = doc
    for _ in range(draw(st.integers(1, 5))):
        if isinstance(node, dict) and node:
            k = draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            k = draw(st.integers(0, len(node) - 1))
        else:
            break
        parent, key, node = node, k, node[k]
    if isinstance(parent, list) and not isinstance(key, int):
        return None, None
    return parent, key


YAML_CHARS = "abcxyz:-[]{}()|?&*!#%@`'\",.>|\n \t\\0123456789"
yaml_texts = st.one_of(
    st.text(st.sampled_from(YAML_CHARS), max_size=200),
    st.text(max_size=100),
    st.builds(lambda a, n: a.replace("N", str(n)), st.sampled_from(["a: &x [*x]", "&x {k: *x}", "x: !!int abc",
                                                                   "x: !!python/object:os.system ls", "x: !!binary %%",
                                                                   "x: !!timestamp 2001-02-30", "x: !!float N.N.N",
                                                                   "? [a, b]\n: c", "- " * 30]), st.integers(0, 9)),
    st.builds(lambda n: "name: x\nintents: {A: {examples: [a]}}\nv: &v0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"v{i}: &v{i} [{', '.join([f'*v{i - 1}'] * 10)}]\n" for i in range(1, n)), st.integers(1, 9)),  # alias bomb
)


def check_skill(path: Path, text: str, slot_types: Any, via_registry: bool = False) -> Any:
    """``Skill.from_yaml`` (or ``SkillRegistry.add_path`` on the file written out, lone surrogates and all) ends in
    a Skill or a SkillError that starts with the file's name."""
    from hark.skills import Skill, SkillRegistry

    if via_registry:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        registry = SkillRegistry(slot_types)
        out = refused_or(lambda: registry.add_path(path.parent) or registry.build())
    else:
        out = refused_or(lambda: Skill.from_yaml(path, slot_types, text))
    if isinstance(out, HarkError):
        assert isinstance(out, SkillError), f"{type(out).__name__}: {out}"
        assert str(out).startswith(str(path)), str(out)
    return out


def check_skill_engine(folder: Path, text: str, sentences: list[str]) -> Any:
    """An engine over one fuzzed skill (templates only) starts or stops with a SkillError, then parses
    ``sentences`` (matching many optional groups or a huge alternation must stay cheap)."""
    from hark import Engine, load_config

    (folder / "fuzzed").mkdir(parents=True, exist_ok=True)
    (folder / "fuzzed" / "skill.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    engine = refused_or(lambda: Engine(load_config(None, env={}, **{
        "skills.paths": [str(folder)], "plugins.disabled": ["intent", "asr_pocketsphinx"]})))
    if isinstance(engine, HarkError):
        assert isinstance(engine, SkillError), f"{type(engine).__name__}: {engine}"
        return engine
    with engine:
        return [check_parse(engine, s) for s in sentences]
