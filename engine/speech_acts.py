"""Requests, not trigger words: tell a command from a negated command, a question, a statement or reported speech.

A trained intent model sees "don't unlock the front door" and "who unlocked the front door" as the words of
UnlockDoor. The hard negatives it is trained on (training/hard_negatives.py) teach it otherwise, and this module is
the rule-based guard behind it: the runtime drops a reading whose words carry a form the intent's own templates
never use. The licence comes from the skill: CancelTimer's template "i don't need the timer" licenses a negation
for CancelTimer only; WillItRain's "is it going to rain" licenses a question opening with "is"; LightsOn's "it's
too dark in here" licenses a statement opening with "it's".

Only the carrier words count (slot values are masked), so a song called "Don't Stop Me Now" is not a negation.
Small pure functions over words; the per-intent licences are computed once per skill set (``FormLicences``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .skills import Alt, Opt, Seq, SkillSet, SlotRef, Word, expand_template
from .text import tokenize
from .types import Interpretation

__all__ = ["COMMAND_VERBS", "FORMS", "FormLicence", "FormLicences", "carrier_words", "core_words", "detect_form",
           "licence_for", "summarise", "veto_reason"]

#: what a reading can be besides a request
FORMS = ("negated", "question", "statement", "reported", "buried")

# addressing, politeness and hesitation before the request itself; "can you ..." asks for an action
_OPENERS = (("hey", "hark"), ("ok", "hark"), ("okay", "hark"), ("hark",), ("hey",), ("please",), ("ok",),
            ("okay",), ("so",), ("um",), ("uh",), ("er",), ("well",), ("alright",), ("right",), ("now",),
            ("just",), ("and",), ("can", "you"), ("could", "you"), ("would", "you"), ("will", "you"),
            ("can", "i", "get", "you", "to"), ("i", "want", "you", "to"), ("i'd", "like", "you", "to"),
            ("i", "need", "you", "to"), ("go", "ahead", "and"), ("would", "you", "mind"), ("kindly",))
_NEGATIONS = frozenset("""don't dont not never didn't didnt doesn't doesnt won't wont shouldn't shouldnt
    wouldn't wouldnt mustn't isn't isnt aren't arent wasn't wasnt weren't werent haven't hasn't hadn't cannot
    can't cant couldn't couldnt neither nor""".split())
_NEG = "\x00not"
# questions about history or state; "what's the next word" and "which song is this" ask for what a skill serves,
# so "what" and "which" are left to the trained tier's hard negatives
_QUESTION_OPENERS = frozenset("""who whom whose when where why how did does do was were is are has have had am
    shall should who's when's where's why's how's didn't doesn't isn't wasn't aren't weren't hasn't
    haven't""".split())
_REPORTING = frozenset("""said says saying told tells telling asked asks yelled yells shouted shouts
    screamed screams whispered whispers muttered mutters wrote texted announced announces quote quoted goes
    begging begged begs insisted insists suggested suggests reminded""".split())
# directives that negate the action they take as object: "hold off on ...", "refrain from ...", "avoid ..."
_NEGATING_DIRECTIVES = (("hold", "off"), ("refrain",), ("avoid",), ("as", "it", "is"), ("as", "they", "are"),
                        ("alone",))
# "goes" quotes speech ("and then she goes turn it off") but also moves: "a flight that goes from boston to ...",
# "the bus that goes through the centre"; before a direction, or after a relative pronoun, it is motion
_MOTION_AFTER = frozenset("from to through via into onto by past back over around across along up down out".split())
_RELATIVE = frozenset("that which".split())
_FREQUENCY = frozenset("usually always often sometimes normally generally rarely every".split())
_PAST_AUX = frozenset("was were did had wasn't weren't didn't hadn't".split())
_SUBJECTS = frozenset("""i we you he she they someone somebody everyone everybody nobody no-one my our your his
    her their the this that these those it its it's that's there there's he's she's they're we're i'm
    you're mom dad""".split())
_COPULAS = frozenset("is are was were am been being it's that's there's he's she's they're we're i'm "
                     "you're".split())
_MODALS = frozenset("can could should must will would shall might may need needs".split())
# -ed words that are not past tenses
_NOT_PAST = frozenset("need bed red shed seed speed feed weed bleed breed embed hundred called named labeled "
                      "labelled titled expected scheduled".split())
_IRREGULAR_PAST = frozenset("""was were been had did went got gone made told left took taken gave given woke
    woken ran came found brought began begun kept held heard broke broken chose sang sung spoke spoken bought
    thought sent forgot forgotten wrote written threw thrown froze frozen fell fallen slept felt saw seen ate
    eaten drank drunk sat stood lost met paid spent won understood taught caught flew flown drove driven rode
    grew grown knew known shook wore worn hid bit lit meant fed led stuck struck swung hung dug sank overslept
    became""".split())
_TIME_NOUNS = frozenset("""night week month year time weekend summer winter spring autumn fall monday tuesday
    wednesday thursday friday saturday sunday christmas""".split())

_PAST_TIME = frozenset("yesterday ago earlier lastnight".split())

#: verbs that start commands, in the bundled skills and in skills people write
COMMAND_VERBS = frozenset("""activate add adjust begin bolt boost boot break brighten bring bump buy cancel change
    check choose clear close come continue cool crank create cut deactivate decrease delete dim disable dismiss drop
    enable end fast find fire flip forget freeze get give go hear heat hold increase jump keep kill launch leave let
    lift light list listen load lock lower make move mute open pause plan play power practice practise pronounce
    pull put queue raise read record reduce remove repeat replay restart resume rewind ring roll run say schedule
    secure send set show shuffle shut sing skip speak spin start stop stream switch take tell throw turn unfreeze
    unlock unmute unpause wake warm watch write scrap bring""".split())

#: extra carrier words allowed beyond the intent's longest template ("hey hark can you please ...")
BURIED_MARGIN = 5


@dataclass(frozen=True)
class FormLicence:
    """What one intent's own templates allow: negations, opening words, statements, reporting verbs, length."""

    #: (negation, next word) and (previous word, negation) pairs of the templates ("don't need", "i don't"), any
    #: negation word standing for all ("no need" is licensed by "don't need")
    negations: frozenset[tuple[str, str]]
    #: first words of the templates after politeness
    openers: frozenset[str]
    #: every word of the templates (a form word they use is licensed: "forget the timer", "was")
    words: frozenset[str]
    #: word pairs of the templates ("hold on" does not license "hold off")
    pairs: frozenset[tuple[str, str]]
    max_carrier: int

    @property
    def asks(self) -> bool:
        """The templates ask questions ("is it going to rain", "how much time is left")."""
        return bool(self.openers & _QUESTION_OPENERS)

    @property
    def describes(self) -> bool:
        """The templates describe a state ("it's too dark in here"): copulas and past forms are no statement."""
        return _describes(self.words)

    @property
    def past(self) -> bool:
        """The templates use a past form themselves."""
        return any(_is_past(w) for w in self.words)

    @property
    def reporting(self) -> frozenset[str]:
        return self.words & _REPORTING


def _max_words(node: Any) -> int:
    """Most carrier words any sentence of a template can have (slots count 0)."""
    if isinstance(node, Word):
        return len(node.text.split())
    if isinstance(node, SlotRef):
        return 0
    if isinstance(node, Opt):
        return _max_words(node.item)
    if isinstance(node, Alt):
        return max((_max_words(o) for o in node.options), default=0)
    if isinstance(node, Seq):
        return sum(_max_words(i) for i in node.items)
    return 0


def _sentences(node: Any, limit: int = 400) -> list[list[str]]:
    """Carrier words of a bounded expansion of a template (a huge template is licensed by what was seen)."""
    out: list[list[str]] = []
    try:
        for seq in expand_template(node, limit):
            out.append([w for item in seq if isinstance(item, Word) for w in item.text.split()])
    except ValueError:
        pass
    return out


def _describes(words: Sequence[str]) -> bool:
    return any(w in _COPULAS or w == "has" or _is_past(w) for w in words)


def licence_for(templates: Sequence[Seq]) -> FormLicence:
    negations: set[tuple[str, str]] = set()
    openers: set[str] = set()
    seen: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for tree in templates:
        for words in _sentences(tree):
            core = core_words(words)
            seen |= set(core)
            pairs |= set(zip(core, core[1:]))
            if core:
                openers.add(core[0])
            for prev, w, nxt in zip([""] + core, core, core[1:] + [""]):
                if w in _NEGATIONS or w == "no":
                    negations |= {(_NEG, nxt)} | ({(prev, _NEG)} if prev else set())
    return FormLicence(frozenset(negations), frozenset(openers), frozenset(seen), frozenset(pairs),
                       max((_max_words(t) for t in templates), default=0))


class FormLicences:
    """Licences of every intent of a skill set, computed on first use."""

    def __init__(self, skills: SkillSet):
        self.skills = skills
        self._cache: dict[tuple[str, str], FormLicence | None] = {}

    def accepted(self, skill: str) -> frozenset[str]:
        """Forms the skill declares as requests (``accepts:``), e.g. questions for a skill that answers them."""
        found = self.skills.get(skill)
        return found.accepts if found is not None else frozenset()

    def get(self, skill: str, intent: str) -> FormLicence | None:
        key = (skill, intent)
        if key not in self._cache:
            found = self.skills.intent(skill, intent)
            self._cache[key] = licence_for(found.templates) if found is not None and found.templates else None
        return self._cache[key]


def core_words(words: Sequence[str], openers: Sequence[tuple[str, ...]] = _OPENERS,
               closers: Sequence[tuple[str, ...]] = ()) -> list[str]:
    """The words after addressing and politeness ("hey hark could you please turn ..." -> "turn ..."), and
    before any of ``closers`` ("... thank you"); a word is never stripped to nothing."""
    out = list(words)
    changed = True
    while changed and out:
        changed = False
        for opener in openers:
            if len(out) > len(opener) and tuple(out[:len(opener)]) == opener:
                out, changed = out[len(opener):], True
        for closer in closers:
            if len(out) > len(closer) and tuple(out[-len(closer):]) == closer:
                out, changed = out[:-len(closer)], True
    return out


def carrier_words(interpretation: Interpretation) -> list[str]:
    """The reading's words outside its slot values, in order."""
    spans = [(s.start, s.end) for s in interpretation.slots if s.end > s.start]
    return [t.text for t in tokenize(interpretation.text)
            if not any(a <= t.start < b for a, b in spans)]


def _has_phrase(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i:i + n]) == phrase for i in range(len(words) - n + 1))


def _is_past(word: str) -> bool:
    return word in _IRREGULAR_PAST or (len(word) > 4 and word.endswith("ed") and word not in _NOT_PAST)


# "why" (and "how come") asks about causes, even of an intent that answers other questions
_WHY = frozenset({"why", "why's"})
_AFTER_SO = frozenset("no please can could would will let's just".split())
_EMBEDDING = frozenset("to i we they he she it you a an the my your our his her their its this that of".split()) \
    | _FREQUENCY


def _commands_too(core: Sequence[str], lic: FormLicence) -> bool:
    """A reason, then the request itself: "i'm going to bed so turn off the lights", "it's getting dark close
    the curtains", "i missed something replay the chapter": a command verb later in the sentence that is not
    embedded ("i forgot to turn off ...", "we play it every friday"), or that follows "could you"; or "so"
    followed by a request's opening ("... so no alarm", "... so please"; "so dark", "so i went" are not)."""
    for i in range(1, len(core)):
        if core[i] == "so" and i + 1 < len(core) and core[i + 1] in _AFTER_SO:  # "i'm off so no alarm"
            return True
        if core[i] not in COMMAND_VERBS:
            continue
        before = core[i - 1]
        if before not in _EMBEDDING or (before == "you" and i >= 2 and core[i - 2] in _MODALS):
            return True
    return False


def _reporting_words(core: Sequence[str]) -> set[str]:
    """The reporting verbs among ``core``, "goes" only where it quotes rather than moves."""
    found = set()
    for prev, w, nxt in zip([""] + list(core), core, list(core[1:]) + [""]):
        if w in _REPORTING and not (w == "goes" and (nxt in _MOTION_AFTER or prev in _RELATIVE)):
            found.add(w)
    return found


def detect_form(words: Sequence[str], licence: FormLicence | None = None,
                all_words: Sequence[str] = ()) -> str | None:
    """The non-request form of a reading's carrier words, or None for a request.

    ``licence``: forms the intent's own templates use are not counted (None: nothing is licensed).
    ``all_words``: the whole reading, slot values included, for time markers ("yesterday", "last night").
    """
    lic = licence or FormLicence(frozenset(), frozenset(), frozenset(), frozenset(), 10 ** 6)
    core = core_words(words)
    if not core:
        return None
    for prev, w, nxt in zip([""] + core, core, core[1:] + [""]):
        if (w in _NEGATIONS or (w == "no" and nxt in ("need", "way"))) \
                and (_NEG, nxt) not in lic.negations and (prev, _NEG) not in lic.negations:
            return "negated"
    for directive in _NEGATING_DIRECTIVES:
        used = set(zip(directive, directive[1:])) <= lic.pairs if len(directive) > 1 else directive[0] in lic.words
        if _has_phrase(core, directive) and not used:
            return "negated"
    for a, b, c in zip(core, core[1:] + [""], core[2:] + ["", ""]):  # "skip watching", "forget about streaming"
        if (a == "skip" and b.endswith("ing")) or (a, b) == ("forget", "about") and c.endswith("ing"):
            return "negated"
    if _reporting_words(core) - lic.reporting or _has_phrase(core, ("used", "to", "say")):
        return "reported"
    first = "why" if core[:2] == ["how", "come"] else core[0]
    asking = first in _QUESTION_OPENERS
    past = any(_is_past(w) for w in core) and not _commands_too(core, lic)
    context = list(all_words or core)
    if past and (_PAST_TIME & set(context)
                 or any(a == "last" and b in _TIME_NOUNS for a, b in zip(context, context[1:]))):
        return "question" if asking else "statement"
    if asking and first not in lic.openers and (not lic.asks or first in _WHY):
        return "question"
    if (asking or first in ("what", "which")) and (set(core[:3]) & _PAST_AUX) - lic.words:
        return "question"  # history: "how long was the heater on", "was the alarm set", "what did we watch"
    if first in _SUBJECTS and not _commands_too(core, lic):
        rest = core[1:]
        licensed = first in lic.openers and lic.describes
        if any(_is_past(w) for w in rest) and not lic.past and not any(w in _MODALS for w in rest):
            return "statement"  # "it rained all through our holiday", even for an intent that says "it is raining"
        if not licensed and (first in _COPULAS or (not any(w in _MODALS for w in rest) and _describes(rest))):
            return "statement"
        if (set(rest) & _FREQUENCY) - lic.words:  # habits: "i usually wake up before my alarm"
            return "statement"
    if len(core) > lic.max_carrier + BURIED_MARGIN:
        return "buried"
    return None


def veto_reason(interpretation: Interpretation, licences: FormLicences) -> str | None:
    """Why a reading must not be acted on ("negated", "question", ...), or None when it reads as a request."""
    licence = licences.get(interpretation.skill, interpretation.intent)
    if licence is None:
        return None
    form = detect_form(carrier_words(interpretation), licence, [t.text for t in tokenize(interpretation.text)])
    return None if form in licences.accepted(interpretation.skill) else form


def summarise(vetoed: Iterable[tuple[Interpretation, str]]) -> list[Mapping[str, Any]]:
    """Vetoed readings as event data: which intent, how sure the tier was, and why it was not a request."""
    return [{"skill": i.skill, "intent": i.intent, "confidence": round(i.confidence, 4), "form": form}
            for i, form in vetoed]
