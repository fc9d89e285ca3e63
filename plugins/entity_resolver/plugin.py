"""The ``entity_resolver`` plugin: catalog slots resolved by sound in ``hark_resolve``, indexes built by ``hark_compile``.

An interpreter fills a catalog slot by spelling: the skill's ``Catalog`` knows exact names, aliases and close
spellings. What a recogniser mishears ("play the mattress") is none of those. For every catalog slot of an
interpretation this plugin

1. keeps a slot whose words are exactly an entry's name or alias (adding sound-alike alternatives);
2. otherwise resolves the slot's words with a phonetic ``Resolver`` over the catalog, together with the words at
   the same place in the other n-best hypotheses (``project_span``), and fills ``value``, ``entity_id``,
   ``confidence`` and ``alternatives``. When those words match nothing, spans up to ``reach`` words wider or
   narrower are tried (a tagger that kept "caption" of "in caption" still finds "Inception");
3. when the interpretation has no words for a catalog slot every template of its intent needs (the intent model
   did not tag an unknown-sounding title), tries the spans of the hypothesis that are not the intent's carrier words
   ("play", "the movie", ...) and fills the slot from the best match scoring at least ``recover_min_score``.

A slot filled in steps 2-3 that had no value raises the interpretation's confidence (``boost``): a catalog name
said where the intent expects one is evidence for that intent. A slot heard as a name that sounds like no entry
lowers it (``unresolved_penalty``): "play the lying king" is not a book request just because "the lying king"
was tagged as a book. Resolvers are built on first use per catalog (indexes cached on
disk by content), in the background when an audio stream starts, and all at once by ``hark train``.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from hark.hookspecs import hookimpl
from hark.skills import Alt, Catalog, Opt, Seq, Word
from hark.text import nearby_spans, normalize, tokenize
from hark.types import Context, EntityCandidate, Interpretation, NBest, Slot

__all__ = ["EntityResolverPlugin", "ResolverSettings", "project_span", "carrier_words", "candidate_spans",
           "boosted"]

NAME = "entity_resolver"
PRESETS = ("default", "phonetic", "lexical", "combined")
log = logging.getLogger("hark")


@dataclass(frozen=True)
class ResolverSettings:
    #: ranker preset: "default" (the shipped one) or one of "phonetic", "lexical", "combined"
    weights: str = "default"
    #: calibrated score under which a tagged slot stays unresolved (null: the preset's own, 0.24, which also
    #: expects names missing from the catalog); lower here, since an interpreter already read the words as a name
    min_score: float | None = 0.1
    #: how many alternative entries a resolved slot carries
    alternatives: int = 4
    #: fill a catalog slot the interpreter left out, from the words around the intent's carrier phrase
    recover_missing: bool = True
    #: calibrated score a recovered slot needs (higher than min_score: nothing tagged those words as a name)
    recover_min_score: float = 0.6
    #: longest span, in words, tried when recovering a slot
    max_span_words: int = 8
    #: share of the remaining confidence a resolved slot adds: c + (1 - c) * boost * score
    boost: float = 0.7
    #: use the other n-best hypotheses' words for the same slot
    use_nbest: bool = True
    #: a tagged catalog slot is also tried this many words wider or narrower on each side
    reach: int = 2
    #: confidence factor of a reading whose catalog slot sounds like no entry
    unresolved_penalty: float = 0.85

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.weights not in PRESETS:
            out.append(("weights", f"expected one of {', '.join(PRESETS)}, got {self.weights!r}"))
        for key in ("min_score", "recover_min_score", "boost", "unresolved_penalty"):
            value = getattr(self, key)
            if value is not None and not 0.0 <= value <= 1.0:
                out.append((key, f"expected a value in [0, 1], got {value}"))
        if not 0 <= self.alternatives <= 50:
            out.append(("alternatives", f"expected 0..50, got {self.alternatives}"))
        if not 0 <= self.reach <= 5:
            out.append(("reach", f"expected 0..5, got {self.reach}"))
        if not 1 <= self.max_span_words <= 30:
            out.append(("max_span_words", f"expected 1..30, got {self.max_span_words}"))
        return out


# ------------------------------------------------------------------------------------------- pure functions


def project_span(src: Sequence[str], start: int, end: int, dst: Sequence[str]) -> tuple[int, int] | None:
    """Where words ``src[start:end]`` are in another hypothesis ``dst`` of the same utterance, as (start, end).

    An alignment of the two word lists anchors the span: it runs from just after the last shared word before it
    to just before the first shared word after it, and no wider than its own shared words allow. "play the
    mattress" [2:3] in "play the matrix" -> [2:3] ("matrix"). None when nothing is left between the anchors.
    """
    left, right = 0, len(dst)
    inner_left, inner_right = 0, len(dst)
    first_inside = True
    matcher = difflib.SequenceMatcher(a=list(src), b=list(dst), autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            i, j = a + k, b + k
            if i < start:
                left = max(left, j + 1)
            elif i >= end:
                right = min(right, j)
            else:  # a word of the span itself is shared: the span sits around it
                if first_inside:
                    inner_left, first_inside = j - (i - start), False
                inner_right = j + 1 + (end - 1 - i)
    lo, hi = max(left, inner_left), min(right, inner_right)
    return (lo, hi) if lo < hi else None


def carrier_words(templates: Iterable[Any]) -> frozenset[str]:
    """The literal words of an intent's templates ("play", "the", "movie"): words that frame a slot, not fill it.
    Example slot values written in the templates ("[the matrix](title)") are not carrier words."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Word):
            found.add(node.text)
        elif isinstance(node, Seq):
            for item in node.items:
                walk(item)
        elif isinstance(node, Alt):
            for option in node.options:
                walk(option)
        elif isinstance(node, Opt):
            walk(node.item)

    for template in templates:
        walk(template)
    return frozenset(found)


def candidate_spans(words: Sequence[str], carriers: frozenset[str], taken: Sequence[bool],
                    max_words: int) -> list[tuple[int, int]]:
    """Spans [start, end) that may be an untagged name: free words (not another slot's), bounded by the sentence
    edges or carrier words, holding at least one word that is not a carrier word. Longest first."""
    n = len(words)
    starts = [a for a in range(n) if (a == 0 or words[a - 1] in carriers or taken[a - 1]) and not taken[a]]
    out = []
    for a in starts:
        for b in range(a + 1, min(n, a + max_words) + 1):
            if taken[b - 1]:
                break
            if (b == n or words[b] in carriers or taken[b]) and any(w not in carriers for w in words[a:b]):
                out.append((a, b))
    return sorted(out, key=lambda s: (s[0] - s[1], s[0]))


def boosted(confidence: float, score: float, boost: float) -> float:
    """An interpretation's confidence after one of its catalog slots was resolved with ``score``."""
    return round(confidence + (1.0 - confidence) * boost * score, 4)


# ---------------------------------------------------------------------------------------------------- plugin


@dataclass(frozen=True, eq=False)
class _CatalogResolver:
    """A Resolver over every name and alias of a skill catalog; match ids are entry positions in the catalog."""

    catalog: Catalog
    resolver: Any

    def __post_init__(self) -> None:
        # per instance (a cache on the method would keep closed engines' indexes alive): the top readings of one
        # utterance ask about the same words
        object.__setattr__(self, "_cached", functools.lru_cache(maxsize=512)(self._resolve))

    def resolve(self, text: str, nbest: list[tuple[str, float]] | None, k: int) -> list[tuple[Any, float]]:
        """[(CatalogEntry, score)] best first, one per entry (a name and its alias count once)."""
        return list(self._cached(text, tuple(nbest or ()), k))  # type: ignore[attr-defined]

    def _resolve(self, text: str, nbest: tuple[tuple[str, float], ...], k: int) -> tuple[tuple[Any, float], ...]:
        out, seen = [], set()
        for match in self.resolver.resolve(text, nbest=list(nbest) or None, k=k + 3):
            if match.id not in seen:
                seen.add(match.id)
                out.append((self.catalog.entries[match.id], match.score))
        return tuple(out[:k])


def catalog_values(catalog: Catalog) -> list[tuple[int, str, float]]:
    """(entry position, name or alias, popularity) for ``Resolver.from_values``."""
    return [(i, form, max(entry.weight, 1e-6)) for i, entry in enumerate(catalog.entries)
            for form in dict.fromkeys((entry.name, *entry.aliases)) if normalize(form)]


class EntityResolverPlugin:
    """Registered through the ``hark`` entry point ``entity_resolver``; settings under
    ``plugins.settings.entity_resolver``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = ResolverSettings()
        self._resolvers: dict[int, _CatalogResolver] = {}
        self._lock = threading.Lock()
        self._skills: Any = None
        self._warming: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def status(self) -> str:
        """One line for ``hark doctor``."""
        if not self._resolvers:
            return "no catalog index loaded yet (built on first use or by hark train)"
        sizes = ", ".join(f"{r.catalog.name} ({len(r.catalog)})" for r in self._resolvers.values())
        return f"catalog indexes: {sizes}"

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, ResolverSettings)
        self._skills = engine.skills
        if "OMP_NUM_THREADS" not in os.environ:  # one query at a time: faiss's OpenMP threads only spin, and on a
            import faiss  # small box they take the core the recogniser needs (builds ran 3-4x slower)

            faiss.omp_set_num_threads(1)

    @hookimpl
    def hark_stream_start(self) -> None:
        """A new stream: load every catalog index in the background, so the first spoken request that names a
        title does not wait for it (text-only use loads an index when a slot first needs it). The indexes are
        shared by all streams; nothing of this plugin is per stream."""
        if self._skills is None:
            return
        catalogs = [c for c in _catalogs(self._skills) if id(c) not in self._resolvers]
        if catalogs and (self._warming is None or not self._warming.is_alive()):
            self._warming = threading.Thread(target=self._warm, args=(catalogs,), name="hark-entity-warm",
                                             daemon=True)
            self._warming.start()

    @hookimpl
    def hark_shutdown(self, engine: Any) -> None:
        """Wait for a background index load: a thread still inside faiss or onnxruntime when the interpreter
        exits aborts the process."""
        self._closing.set()
        if self._warming is not None:
            self._warming.join()

    def _warm(self, catalogs: list[Catalog]) -> None:
        for catalog in catalogs:
            if self._closing.is_set():
                return
            try:
                self._for(catalog)
            except Exception as exc:  # reported again, in the hook's error event, when a request needs it
                log.warning("entity_resolver: could not load the index of catalog %s: %s", catalog.name, exc)
                return

    @hookimpl
    def hark_compile(self, engine: Any, force: bool) -> str | None:
        catalogs = _catalogs(engine.skills)
        if not catalogs:
            return None
        built = 0
        for catalog in catalogs:
            with self._lock:
                known = self._resolvers.get(id(catalog))
                if force or (known is not None and known.catalog is not catalog):
                    self._resolvers.pop(id(catalog), None)
                    known = None
            if known is None and not self._for(catalog, rebuild=force).resolver.loaded_from_cache:
                built += 1
        entries = sum(len(c) for c in catalogs)
        return (f"{NAME}: {len(catalogs)} catalog indexes ({entries} entries), {built} built, "
                f"{len(catalogs) - built} up to date")

    def _for(self, catalog: Catalog, rebuild: bool = False) -> _CatalogResolver:
        """The catalog's resolver, built (or read from the disk cache) on first use."""
        key = id(catalog)
        with self._lock:
            found = self._resolvers.get(key)
            if found is not None and found.catalog is catalog:
                return found
            from .resolver import Resolver

            s = self.settings
            weights = None if s.weights == "default" else s.weights

            def build() -> Any:
                return Resolver.from_values(catalog_values(catalog), kind=catalog.name, weights=weights,
                                            min_score=s.min_score)

            resolver = build()
            if rebuild and resolver.loaded_from_cache and resolver.cache_path is not None:
                shutil.rmtree(resolver.cache_path, ignore_errors=True)
                resolver = build()
            found = self._resolvers[key] = _CatalogResolver(catalog, resolver)
            return found

    @hookimpl
    def hark_resolve(self, interpretation: Interpretation, nbest: NBest, skills: Any,
                     context: Context) -> Interpretation | None:
        skill = skills.get(interpretation.skill)
        intent = skill.intent(interpretation.intent) if skill is not None else None
        if intent is None:
            return None
        specs = {name: spec for name, spec in skill.slots.items()
                 if spec.type == "catalog" and spec.catalog is not None and len(spec.catalog)}
        if not specs:
            return None
        utt = _Utterance(interpretation, nbest, self.settings.use_nbest)
        s = self.settings
        confidence = interpretation.confidence
        slots = list(interpretation.slots)
        changed = False
        for i, slot in enumerate(slots):
            spec = specs.get(slot.name)
            if spec is None:
                continue
            if spec.catalog.exact(slot.raw):  # said as spelled: keep it, offer sound-alikes as alternatives
                if not slot.alternatives and s.alternatives:
                    found = self._lookup(spec.catalog, utt, utt.span_of(slot))
                    extra = tuple(EntityCandidate(e.name, e.id, sc) for e, sc in found if e.id != slot.entity_id)
                    if extra:
                        slots[i] = dataclasses.replace(slot, alternatives=extra[: s.alternatives])
                        changed = True
                continue
            taken = utt.taken(slots, but=i)
            span = utt.span_of(slot)
            # an unresolved slot nobody vouched for (confidence 0: a template's wildcard) needs a surer match
            # (its words were framed by the template, so no wider or narrower span is tried either)
            wildcard = slot.value is None and slot.confidence <= 0
            floor = s.recover_min_score if wildcard else s.min_score
            best = self._best(spec.catalog, utt, [span] if span else [], floor)
            if best is None and span is not None and not wildcard:
                best = self._best(spec.catalog, utt, nearby_spans(*span, taken, s.reach), floor)
            if best is None:
                if slot.value is None:  # heard as a name, but like none in the catalog
                    confidence = round(confidence * s.unresolved_penalty, 4)
                    changed = True
                continue
            if slot.value is None:
                confidence = boosted(confidence, best[2][0][1], s.boost)
            slots[i] = utt.slot(slot.name, best[1], best[2], s.alternatives)
            changed = True
        if s.recover_missing:
            present = {slot.name for slot in slots}
            for name in sorted(intent.required_slots):
                if name not in specs or name in present:
                    continue
                spans = candidate_spans(utt.words, carrier_words(intent.templates), utt.taken(slots),
                                        s.max_span_words)
                best = self._best(specs[name].catalog, utt, spans, s.recover_min_score)
                if best is not None:
                    slots.append(utt.slot(name, best[1], best[2], s.alternatives))
                    confidence = boosted(confidence, best[0], s.boost)
                    changed = True
        if not changed:
            return None
        slots.sort(key=lambda sl: sl.start)
        return dataclasses.replace(interpretation, slots=tuple(slots), confidence=confidence)

    # ------------------------------------------------------------------------------------------ helpers

    def _lookup(self, catalog: Catalog, utt: "_Utterance", span: tuple[int, int] | None) -> list[tuple[Any, float]]:
        """[(CatalogEntry, score)] for words [a, b) of the hypothesis, the same place in the others as n-best."""
        if span is None:
            return []
        text, nbest = utt.texts(span)
        return self._for(catalog).resolve(text, nbest, self.settings.alternatives + 1)

    def _best(self, catalog: Catalog, utt: "_Utterance", spans: Iterable[tuple[int, int]],
              min_score: float | None) -> tuple[float, tuple[int, int], list] | None:
        """(score, span, matches) of the span whose top match scores highest (the first span on ties)."""
        best = None
        for span in spans:
            found = self._lookup(catalog, utt, span)
            if found and (min_score is None or found[0][1] >= min_score) and (best is None or found[0][1] > best[0]):
                best = (found[0][1], span, found)
        return best


class _Utterance:
    """The hypothesis an interpretation read, tokenised, with the other n-best hypotheses to project spans into."""

    def __init__(self, interpretation: Interpretation, nbest: NBest, use_nbest: bool):
        self.text = interpretation.text
        self.tokens = tokenize(self.text)
        self.words = [t.text for t in self.tokens]
        index = interpretation.hypothesis_index
        self.own = nbest.hypotheses[index].score if 0 <= index < len(nbest.hypotheses) else 1.0
        self.others = [([t.text for t in tokenize(h.text)], h.score) for k, h in enumerate(nbest.hypotheses)
                       if use_nbest and k != index and h.text != self.text]

    def span_of(self, slot: Slot) -> tuple[int, int] | None:
        """Token indices [a, b) covering the slot's characters."""
        inside = [k for k, t in enumerate(self.tokens) if t.start >= slot.start and t.end <= slot.end]
        return (inside[0], inside[-1] + 1) if inside else None

    def taken(self, slots: Sequence[Slot], but: int = -1) -> list[bool]:
        """Which words other slots (all but index ``but``) hold."""
        out = [False] * len(self.words)
        for k, slot in enumerate(slots):
            span = self.span_of(slot) if k != but else None
            if span is not None:
                out[span[0]:span[1]] = [True] * (span[1] - span[0])
        return out

    def texts(self, span: tuple[int, int]) -> tuple[str, list[tuple[str, float]] | None]:
        """The span's words, and [(words, posterior)] at the same place in every hypothesis (None if alone)."""
        a, b = span
        text = " ".join(self.words[a:b])
        nbest = [(text, max(self.own, 1e-6))]
        for other, p in self.others:
            where = project_span(self.words, a, b, other)
            if where is not None:
                nbest.append((" ".join(other[where[0]:where[1]]), max(p, 1e-6)))
        return text, nbest if len(nbest) > 1 else None

    def slot(self, name: str, span: tuple[int, int], found: list[tuple[Any, float]], alternatives: int) -> Slot:
        start, end = self.tokens[span[0]].start, self.tokens[span[1] - 1].end
        (entry, score), rest = found[0], found[1:]
        return Slot(name, self.text[start:end], entry.name, entry.id, round(score, 4), start, end, "catalog",
                    tuple(EntityCandidate(e.name, e.id, round(sc, 4)) for e, sc in rest[:alternatives]))


def _catalogs(skills: Any) -> list[Catalog]:
    """Every distinct catalog of the installed skills' slots."""
    out: dict[int, Catalog] = {}
    for skill in skills:
        for spec in skill.slots.values():
            if spec.type == "catalog" and spec.catalog is not None and len(spec.catalog):
                out.setdefault(id(spec.catalog), spec.catalog)
    return list(out.values())
