"""Hard negatives: each skill's own sentences turned into things a home assistant must not act on.

A model trained only on commands learns trigger words ("unlock", "front door"), so "don't unlock the front door",
"who unlocked the front door" and "the front door is unlocked" all unlock it. These generators take sentences
sampled from every intent's templates and rewrite them into five forms, all labelled out of scope:

- negated: the user tells the assistant not to do it ("don't ...", "no need to ...");
- question: a question about history or state ("did you ...", "who turned off ...");
- statement: a report of what happened or how things are ("i already turned off ...", "the lights are off");
- reported: someone else's words ("she told me to ...", "... is what he said");
- buried: the command inside unrelated talk that is not addressed to the assistant.

A rewrite that some skill's own template accepts as a request ("i don't need the timer anymore" cancels a timer)
is dropped by the caller's ``is_request`` check, so the negatives never contradict a skill. The held-out check set
(benchmarks/data/non_requests_dev.tsv) was written by hand without these frames, and ``skill_dataset`` removes any of
its sentences from training.

Plain Python, no torch.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from hark.sentences import Sample, sample_sentences
from hark.skills import SkillSet
from hark.speech_acts import COMMAND_VERBS, FORMS, core_words

__all__ = ["FORMS", "Negative", "hard_negatives", "past_tense", "request_variants", "rewrite"]


# politeness a command may start with; removed before rewriting ("please don't please turn ..." is not English)
_LEADERS = (("hey", "hark"), ("please",), ("ok",), ("okay",), ("hark",), ("can", "you"), ("could", "you"),
            ("would", "you"), ("will", "you"))
_TRAILERS = (("please",), ("thanks",), ("thank", "you"), ("now",))

_IRREGULAR = {
    "put": "put", "set": "set", "shut": "shut", "let": "let", "cut": "cut", "read": "read", "make": "made",
    "get": "got", "give": "gave", "find": "found", "bring": "brought", "take": "took", "begin": "began",
    "run": "ran", "tell": "told", "say": "said", "go": "went", "do": "did", "keep": "kept", "throw": "threw",
    "leave": "left", "hold": "held", "show": "showed", "wake": "woke", "break": "broke", "choose": "chose",
    "sing": "sang", "hear": "heard", "lock": "locked", "speak": "spoke", "have": "had", "buy": "bought",
    "come": "came", "freeze": "froze", "unfreeze": "unfroze", "fast": "fasted", "rewind": "rewound",
    "forget": "forgot", "write": "wrote", "skip": "skipped", "stop": "stopped", "drop": "dropped",
    "flip": "flipped", "plan": "planned", "dim": "dimmed", "ring": "rang", "send": "sent", "spin": "spun",
}
_PARTICIPLE = {"take": "taken", "give": "given", "begin": "begun", "run": "run", "go": "gone", "do": "done",
               "show": "shown", "wake": "woken", "break": "broken", "choose": "chosen", "sing": "sung",
               "speak": "spoken", "freeze": "frozen", "unfreeze": "unfrozen", "write": "written",
               "forget": "forgotten", "rewind": "rewound"}
_PARTICLES = ("on", "off", "up", "down", "out", "in", "back")
_OBJECT_END = {"to", "for", "in", "at", "by", "on", "with", "from", "until", "till", "please", "now"}

_NEGATED = ("don't {s}", "do not {s}", "please don't {s}", "please do not {s}", "never {s}",
            "don't you dare {s}", "you don't need to {s}", "there's no need to {s}", "no need to {s}",
            "i don't want you to {s}", "we do not want to {s}", "don't {s} yet", "do not {s} right now",
            "you shouldn't {s}", "better not {s}", "let's not {s}", "i said don't {s}", "don't ever {s}",
            "you must not {s}", "i'd rather you didn't {s}", "whatever you do don't {s}")
_QUESTION_BASE = ("did you {s}", "did someone {s}", "who told you to {s}", "why did you {s}", "when did you {s}",
                  "did i ask you to {s}", "why would anyone {s}", "has anyone tried to {s}",
                  "did anybody {s} today", "how come you didn't {s}", "why did the kids {s}",
                  "what happens if i {s}", "do you remember when we {s_past}", "didn't you {s} already")
_QUESTION_PAST = ("who {past}", "when was the last time someone {past}", "who {past} last night",
                  "which one of you {past}", "why has somebody {pp}")
_STATEMENT_PAST = ("i already {past}", "someone {past} earlier", "you {past} yesterday", "we {past} last night",
                   "my husband {past} this morning", "i think she {past}", "i just {past}",
                   "they {past} an hour ago", "my daughter {past} after dinner", "the neighbours {past} again",
                   "i have {pp} already", "somebody has {pp}")
_REPORTED = ("{s} is what he said", "she told me to {s}", "my mom always says {s}", "he keeps saying {s}",
             "the man on tv said {s}", "in the movie the guy says {s}", "the text message said {s}",
             "my friend asked me to {s}", "and then she goes {s}", "the sign says {s}",
             "the teacher told the class to {s}", "i heard someone shout {s}", "{s} she yelled at her brother",
             "my boss wants me to {s} tomorrow", "on the podcast they said {s}")
_CONTEXT = ("so yesterday we were at my aunt's place", "honestly the traffic was terrible this morning",
            "anyway the meeting ran late again", "you know how it is with the kids", "i was telling my sister",
            "after the game we went for pizza", "the dog kept barking all night", "my phone battery died",
            "we talked about the holiday plans", "the neighbours were having a party", "she laughed at me",
            "nobody wanted to go out in the rain", "that was the funniest thing i saw all week",
            "and then the bus never came", "we ended up staying in", "i still have to finish that report",
            "whatever it was nobody remembered", "it reminded me of that show we watched",
            "he was going on about his new car", "the teacher said the same thing twice")
_BURIED = ("{a} and {s} came up but we decided against it {b}", "{a} so i said we could {s} later {b}",
           "{a} and somebody joked about how to {s} {b}", "{a} then we argued about whether to {s} {b}",
           "{a} like i said to him {s} is not how it works {b}", "{a} and my brother wanted to {s} {b}")


# the other side of each minimal pair: the same command framed as a request, so the model learns the frame, not
# "any words around a command mean no" (polite and indirect requests lost accuracy to the negatives alone)
_REQUEST_PREFIXES = ("can you", "could you", "could you please", "would you", "would you please", "will you",
                     "please", "i want you to", "i'd like you to", "i need you to", "go ahead and", "can you please",
                     "okay", "alright", "hey hark", "hey hark can you", "i'm going to bed so", "it's late so",
                     "quick one", "right", "so", "um", "when you get a chance")
# a reason said with the request ("i'm going to bed so turn off the lights"): the request still stands
_REASONS = ("i'm going to bed", "we're leaving now", "it's late", "the kids are asleep", "i'm cooking dinner",
            "guests are coming over", "i love this one", "i'm already up", "good morning", "good night", "i'm home",
            "it's getting dark", "i can't see a thing", "i'm heading out", "the baby is sleeping",
            "we're watching a film", "i'm working from home today", "dinner's ready", "i'm back", "it's freezing")
_REQUEST_SUFFIXES = ("for me", "please", "thanks", "right now", "now", "if you can", "for me please", "thank you",
                     "when you can")


@dataclass(frozen=True)
class Negative:
    """A rewritten sentence that must not be acted on, with where it came from."""

    text: str
    form: str
    source_intent: str


def _strip(words: Sequence[str]) -> list[str]:
    """The command without leading politeness and trailing thanks."""
    return core_words(words, _LEADERS, _TRAILERS)


def past_tense(verb: str, participle: bool = False) -> str:
    """English past (or past participle) of a command verb: enough for generated negatives, not a grammar."""
    if participle and verb in _PARTICIPLE:
        return _PARTICIPLE[verb]
    if verb in _IRREGULAR:
        return _IRREGULAR[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and len(verb) > 2 and verb[-2] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


def _state_statement(words: list[str], rng: random.Random) -> str | None:
    """"unlock the front door" -> "the front door is unlocked"; None when the object is not a noun phrase."""
    verb, rest = words[0], words[1:]
    particle = ""
    if rest and rest[0] in _PARTICLES:
        particle, rest = rest[0], rest[1:]
    elif len(rest) > 1 and rest[-1] in _PARTICLES:
        particle, rest = rest[-1], rest[:-1]
    obj: list[str] = []
    for w in rest:
        if w in _OBJECT_END:
            break
        obj.append(w)
    if not obj or obj[0] not in ("the", "my", "all", "our", "that", "this", "those", "these"):
        return None
    be = "are" if obj[-1].endswith("s") and not obj[-1].endswith("ss") else "is"
    tail = rng.choice(("", " already", " right now", " again", " since this morning"))
    return " ".join(obj + [be, past_tense(verb, participle=True)] + ([particle] if particle else [])) + tail


def rewrite(words: Sequence[str], form: str, rng: random.Random) -> str | None:
    """One ``form`` rewrite of a command's words, or None when this command has no such rewrite."""
    core = _strip(words)
    if not core:
        return None
    s = " ".join(core)
    is_verb = core[0] in COMMAND_VERBS  # "lights on", "it's too dark in here" take only verb-free forms
    if form == "negated":
        return rng.choice(_NEGATED).format(s=s) if is_verb else None
    if form == "question":
        if not is_verb:
            return None
        past = " ".join([past_tense(core[0])] + core[1:])
        pp = " ".join([past_tense(core[0], participle=True)] + core[1:])
        frame = rng.choice(_QUESTION_BASE + _QUESTION_PAST)
        return frame.format(s=s, s_past=past, past=past, pp=pp)
    if form == "statement":
        if not is_verb:
            return None
        if rng.random() < 0.4:
            state = _state_statement(core, rng)
            if state:
                return state
        frame = rng.choice(_STATEMENT_PAST)
        return frame.format(past=" ".join([past_tense(core[0])] + core[1:]),
                            pp=" ".join([past_tense(core[0], participle=True)] + core[1:]))
    if form == "reported":
        frames = _REPORTED if is_verb else tuple(f for f in _REPORTED if "to {s}" not in f)
        return rng.choice(frames).format(s=s)
    if form == "buried":
        a = rng.choice(_CONTEXT)
        b = rng.choice(("", "", "and then we went home", "but that's another story", "it was hilarious",
                        rng.choice(_CONTEXT)))
        return " ".join(rng.choice(_BURIED).format(a=a, s=s, b=b).split())
    raise ValueError(f"unknown form {form!r} (known: {', '.join(FORMS)})")


def request_variants(skills: SkillSet, per_intent: int = 20, seed: int = 0) -> list[Sample]:
    """About ``per_intent`` commands per intent re-framed as polite or indirect requests, tags kept aligned."""
    rng = random.Random(seed + 202)
    out: list[Sample] = []
    for sample in sample_sentences(skills, per_intent, seed + 303, filler_rate=0.0):
        core = _strip(sample.words)
        start = next((i for i in range(len(sample.words)) if list(sample.words[i:i + len(core)]) == core), None)
        if not core or start is None:
            continue
        tags = list(sample.tags[start:start + len(core)])
        frames = _REQUEST_PREFIXES if core[0] in COMMAND_VERBS else \
            tuple(p for p in _REQUEST_PREFIXES if p.split()[-1] not in ("to", "you", "and", "please"))
        roll = rng.random()
        if roll < 0.25:  # a reason first, then the request
            pre, post = (rng.choice(_REASONS) + rng.choice((" so", " so", "", " and"))).split(), []
        elif roll < 0.35:  # the request, then the reason
            pre, post = [], rng.choice(_REASONS).split()
        else:
            pre = rng.choice(frames).split() if roll < 0.85 else []
            post = rng.choice(_REQUEST_SUFFIXES).split() if not pre or rng.random() < 0.3 else []
        words = pre + core + post
        out.append(Sample(tuple(words), tuple(["O"] * len(pre) + tags + ["O"] * len(post)), sample.intent))
    return out


def hard_negatives(skills: SkillSet, per_intent: int = 60, seed: int = 0,
                   is_request: Callable[[str], bool] | None = None,
                   exclude: Iterable[str] = ()) -> list[Negative]:
    """About ``per_intent`` negatives per intent, spread over the five forms.

    ``is_request(text)``: True when a skill template accepts the rewrite as a request (then it is dropped).
    ``exclude``: normalised sentences that must never be generated (held-out evaluation sets).
    """
    rng = random.Random(seed)
    skip = set(exclude)
    samples: list[Sample] = sample_sentences(skills, per_intent, seed + 101, filler_rate=0.1)
    out: list[Negative] = []
    seen: set[str] = set()
    for sample in samples:
        for form in rng.sample(FORMS, 2):
            text = rewrite(sample.words, form, rng)
            if text is None or text in seen or text in skip:
                continue
            if is_request is not None and is_request(text):
                continue
            seen.add(text)
            out.append(Negative(text, form, sample.intent))
    return out
