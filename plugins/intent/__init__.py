"""Trained tier: a joint intent + slot network (quantized ONNX) over every n-best hypothesis at once.

It generalises past the skills' example shapes; the template tier stays as a high-precision override (the
runtime keeps the higher confidence per reading, and exact template matches score 1.0). Without a model
directory the plugin stays idle and says so in ``hark doctor``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hark.config import ranged
from hark.hookspecs import hookimpl
from hark.skills import SkillSet
from hark.text import nearby_spans
from hark.types import Context, Interpretation, NBest, Slot

from .model import JointModel, Prediction

__all__ = ["IntentModelPlugin", "IntentSettings", "fuse_predictions", "intent_name_for_label", "slot_name_for_tag"]

NAME = "intent"
log = logging.getLogger("hark")


@dataclass(frozen=True)
class IntentSettings:
    #: model directory (relative to the config file); empty = the model shipped with the bundled skills
    model_dir: str = ""
    #: label the model uses for out-of-scope requests
    oos_label: str = "oos"
    #: how many intents per utterance become interpretations
    top_intents: int = field(default=3, metadata=ranged(1, 100))
    #: skill name for labels without a "skill." prefix (models trained on a data set's flat intent names)
    default_skill: str = ""
    #: confidence factor per slot whose words do not resolve to its type, so a tier that resolved it wins
    unresolved_penalty: float = field(default=0.7, metadata=ranged(0, 1))
    threads: int = field(default=1, metadata=ranged(1, 256))


DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"


class IntentModelPlugin:
    """Registered through the ``hark`` entry point ``intent``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = IntentSettings()
        self.model: JointModel | None = None
        self.status = "not started"

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        self.settings = engine.config.plugin_settings(NAME, IntentSettings)
        directory = engine.config.resolve_path(self.settings.model_dir) if self.settings.model_dir \
            else DEFAULT_MODEL_DIR
        if not (directory / "meta.json").is_file():
            self.status = f"idle: no model in {directory} (train one with `hark train`)"
            log.info("intent: %s", self.status)
            return
        self.model = JointModel(directory, threads=self.settings.threads)
        members = len(self.model.networks)
        self.status = (f"loaded {directory} ({len(self.model.intents)} intents, {len(self.model.tags)} tags"
                       + (f", an ensemble of {members} networks)" if members > 1 else ")"))

    @hookimpl
    def hark_interpret(self, nbest: NBest, skills: SkillSet, context: Context) -> list[Interpretation]:
        if self.model is None:
            return []
        texts = [h.text for h in nbest.hypotheses]
        preds = self.model.predict(texts)
        return fuse_predictions(nbest, preds, self.model.intents, skills, context, self.settings)


_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def slot_name_for_tag(tag_type: str) -> str:
    """A model's tag type as a skill slot name ("fromloc.city_name" -> "fromloc_city_name")."""
    return _NOT_IDENTIFIER.sub("_", tag_type)


def intent_name_for_label(label: str) -> str:
    """A data-set label as a skill intent name ("atis_flight#atis_airfare" -> "atis_flight_atis_airfare")."""
    name = slot_name_for_tag(label)
    return name if name[:1].isalpha() else f"I_{name}"


def _split_label(label: str, default_skill: str) -> tuple[str, str]:
    if "." in label:
        skill, intent = label.split(".", 1)
        return skill, intent
    return default_skill, intent_name_for_label(label)


def fuse_predictions(nbest: NBest, preds: list[Prediction], labels: list[str], skills: SkillSet, context: Context,
                     settings: IntentSettings) -> list[Interpretation]:
    """P(intent | utterance) = sum_i p_i * P(intent | hypothesis i); slots come from the hypothesis that
    contributes most to that intent. Out-of-scope mass simply stays out of the returned list."""
    weights = np.array([h.score for h in nbest.hypotheses], dtype=np.float64)
    weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(weights), 1 / len(weights))
    probs = np.stack([p.intent_probs for p in preds])  # [hyps, intents]
    fused = weights @ probs
    out: list[Interpretation] = []
    for k in np.argsort(-fused)[: settings.top_intents]:
        label = labels[int(k)]
        if label == settings.oos_label or fused[k] <= 0:
            continue
        skill_name, intent_name = _split_label(label, settings.default_skill)
        skill = skills.get(skill_name)
        if skill is None or skill.intent(intent_name) is None:
            continue  # the model knows an intent the installed skills do not (disabled skill)
        carrier = int(np.argmax(weights * probs[:, k]))
        slots, factor = _slots(preds[carrier], nbest.hypotheses[carrier].text, skill, context,
                               settings.unresolved_penalty)
        intent = skill.intent(intent_name)
        missing = (intent.required_slots if intent is not None else frozenset()) - {s.name for s in slots}
        factor *= settings.unresolved_penalty ** len(missing)  # "how do you pronounce quinoa" without the word
        out.append(Interpretation(skill_name, intent_name, round(float(fused[k]) * factor, 4), slots,
                                  nbest.hypotheses[carrier].text, carrier, NAME))
    return out


def _slots(pred: Prediction, text: str, skill: Any, context: Context,
           unresolved_penalty: float = 0.7) -> tuple[tuple[Slot, ...], float]:
    """Predicted spans as Slots, values normalised by the skill's slot types (catalog, list, duration, ...).

    A span whose words do not parse as its type ("the" for a film title) is repaired with the nearest span
    around it that does ("the dark knight"); if none does, the slot keeps its words, unresolved, and the
    reading's confidence is multiplied by ``unresolved_penalty`` (returned as the second value), so a tier that
    did resolve it wins.
    """
    slots = []
    factor = 1.0
    seen: set[str] = set()
    taken = [False] * len(pred.tokens)
    for span in pred.spans:
        name = slot_name_for_tag(span.slot)
        spec = skill.slots.get(name)
        if spec is None or (name in seen and not spec.multiple):
            continue  # a tag this skill does not declare, or a second span for a slot that takes one
        seen.add(name)
        start_w, end_w, matches = _resolve_span(pred, text, spec, context, span.start, span.end, taken)
        for k in range(start_w, end_w):
            taken[k] = True
        start, end = pred.tokens[start_w].start, pred.tokens[end_w - 1].end
        raw = text[start:end]
        if matches:
            best = matches[0]
            slots.append(Slot(name, raw, best.value, best.entity_id, round(span.confidence * best.score, 4),
                              start, end, spec.type))
        else:  # heard as this slot but not of its type: keep the words, unresolved
            factor *= unresolved_penalty
            slots.append(Slot(name, raw, None, None, round(span.confidence * 0.5, 4), start, end, spec.type))
    return tuple(slots), factor


def _resolve_span(pred: Prediction, text: str, spec: Any, context: Context, start: int, end: int,
                  taken: list[bool], reach: int = 3) -> tuple[int, int, tuple]:
    """(start, end, matches) for the predicted span, or for the closest span within ``reach`` words of it that
    the slot type accepts (free text accepts anything, so it is never moved)."""
    def match(a: int, b: int) -> tuple:
        return spec.match(text[pred.tokens[a].start:pred.tokens[b - 1].end], context)

    found = match(start, end)
    if found or spec.type == "text":
        return start, end, found
    for a, b in nearby_spans(start, end, taken, reach):
        found = match(a, b)
        if found:
            return a, b, found
    return start, end, ()
