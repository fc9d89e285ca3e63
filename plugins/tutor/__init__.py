"""The pronunciation tutor: hears a learner say a prompt and reports which words and phones were wrong and what
was said instead.

- ``hark_assess_pronunciation``: in practice mode (``context.expected_text``) the stream hands over the
  utterance's audio; the plugin answers with a PronunciationReport (``assess.Assessor``: its own CTC phone
  recognizer, forced alignment of the expected phones, goodness of pronunciation per phone, ``scoring``; fused
  per word with pocketsphinx's word GOP, ``sphinx_gop``, for real voices).
- ``hark_act`` for the pronunciation skill: "how do I say thorough" answers with the word's phones (and espeak-ng
  phoneme input a device's TTS can speak) and sets ``params.practice``, which puts the conversation in practice
  mode: its next utterance is assessed against the word. "Say it again" practises the same word once more;
  "how did I do?" answers from the last report (``context.last_report``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

from hark.errors import ModelError
from hark.hookspecs import hookimpl
from hark.types import Context, Interpretation, PronunciationReport, SkillAction

from .assess import Assessor, describe_phone
from .config import TutorSettings
from .model import DEFAULT_MODEL_DIR, PhoneModel
from .sphinx_gop import SphinxGop

__all__ = ["TutorPlugin", "TutorSettings", "Assessor", "PhoneModel"]

NAME = "tutor"
SKILL = "pronunciation"


class TutorPlugin:
    """Registered through the ``hark`` entry point ``tutor``; settings under ``plugins.settings.tutor``."""

    name = NAME

    def __init__(self) -> None:
        self.settings = TutorSettings()
        self.assessor: Assessor | None = None
        self.status = "not started"

    @hookimpl
    def hark_startup(self, engine: Any) -> None:
        from hark.phonetics import G2P

        self.settings = engine.config.plugin_settings(NAME, TutorSettings)
        directory = engine.config.resolve_path(self.settings.model_dir) if self.settings.model_dir \
            else DEFAULT_MODEL_DIR
        try:
            model = PhoneModel(directory, threads=self.settings.threads)
        except ModelError as exc:
            if self.settings.model_dir:  # a model the user named must load
                raise
            self.status = f"idle: {exc}"
            return
        sphinx, note = None, "phone model only"
        if self.settings.word_gop:
            try:
                sphinx, note = SphinxGop(), "with pocketsphinx word GOP"
            except (ImportError, RuntimeError, ValueError) as exc:
                note = f"phone model only (pocketsphinx: {exc})"
        self.assessor = Assessor(model, G2P.default(), margin=self.settings.margin, sphinx=sphinx)
        self.status = f"{directory.name} ({model.precision}, {len(model.phones)} phones), {note}"

    @hookimpl
    def hark_assess_pronunciation(self, audio: Any, expected: str) -> PronunciationReport | None:
        if self.assessor is None:
            return None
        return self.assessor.assess(audio.to_array(), expected)

    @hookimpl(tryfirst=True)
    def hark_act(self, interpretation: Interpretation, skills: Any, context: Context) -> SkillAction | None:
        """PracticeWord: how the word is said, and practice mode for it; SayItAgain: the same word again."""
        if interpretation.skill != SKILL or self.assessor is None:
            return None
        from hark.plugins.skill_actions import build_action

        action = build_action(interpretation, skills, context)
        if action is None:
            return None
        word = None
        if interpretation.intent == "PracticeWord":
            slot = interpretation.slot("word")
            word = str(slot.value) if slot is not None else None
        elif interpretation.intent == "SayItAgain":
            word = (context.previous_action.params.get("practice") if context.previous_action is not None
                    else None) or (context.last_report.expected if context.last_report is not None else None)
        elif interpretation.intent == "HowDidIDo":
            return dataclasses.replace(action, response=self.how_did_i_do(context), params={
                **action.params, "report": context.last_report.to_dict() if context.last_report else None})
        if not word:
            return action
        return dataclasses.replace(action, response=self.model_answer(word), params={
            **action.params, **self.pronunciation(word), "practice": word})

    @staticmethod
    def how_did_i_do(context: Context) -> str:
        """The last attempt's score and advice, for a TTS."""
        report = context.last_report
        if report is None:
            return "I have not heard you practise yet. Ask me how to say a word, then say it."
        return f"You scored {round(100 * report.score)} out of 100 on '{report.expected}'. " + " ".join(report.feedback)

    def pronunciation(self, text: str) -> dict[str, Any]:
        """The phones of ``text`` per word and espeak-ng phoneme input that says them."""
        from hark.phonetics.espeak import arpabet_to_espeak

        words = self.assessor.canonical(text) if self.assessor else []
        return {"phones": [list(p) for _, p in words], "espeak": arpabet_to_espeak([p for _, p in words])}

    def model_answer(self, text: str) -> str:
        words = self.assessor.canonical(text) if self.assessor else []
        sounds = "; ".join(f"{w}: " + ", ".join(describe_phone(p) for p in ph) for w, ph in words)
        return f"Listen: {text}. The sounds are {sounds}. Now you say it."
