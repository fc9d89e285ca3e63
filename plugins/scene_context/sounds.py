"""How the assistant speaks of a sound: ESC-50 labels as phrases, and the answer to "what was that noise?"."""
from __future__ import annotations

from typing import Sequence

from hark.types import HeardSound

__all__ = ["phrase", "describe"]

_PHRASES = {
    "dog": "a dog barking", "rooster": "a rooster", "pig": "a pig", "cow": "a cow", "frog": "a frog",
    "cat": "a cat", "hen": "a hen", "insects": "insects buzzing", "sheep": "a sheep", "crow": "a crow",
    "rain": "rain", "sea_waves": "waves", "crackling_fire": "a crackling fire", "crickets": "crickets",
    "chirping_birds": "birds", "water_drops": "dripping water", "wind": "wind", "pouring_water": "pouring water",
    "toilet_flush": "a toilet flushing", "thunderstorm": "thunder", "crying_baby": "a baby crying",
    "sneezing": "someone sneezing", "clapping": "clapping", "breathing": "breathing", "coughing": "someone coughing",
    "footsteps": "footsteps", "laughing": "laughter", "brushing_teeth": "someone brushing their teeth",
    "snoring": "snoring", "drinking_sipping": "someone drinking", "door_wood_knock": "a knock at the door",
    "mouse_click": "a mouse clicking", "keyboard_typing": "typing", "door_wood_creaks": "a door creaking",
    "can_opening": "a can opening", "washing_machine": "a washing machine", "vacuum_cleaner": "a vacuum cleaner",
    "clock_alarm": "an alarm clock", "clock_tick": "a clock ticking", "glass_breaking": "glass breaking",
    "helicopter": "a helicopter", "chainsaw": "a chainsaw", "siren": "a siren", "car_horn": "a car horn",
    "engine": "an engine", "train": "a train", "church_bells": "church bells", "airplane": "an airplane",
    "fireworks": "fireworks", "hand_saw": "a saw",
}


def phrase(label: str) -> str:
    """``glass_breaking`` -> "glass breaking"; a label of another model keeps its words."""
    return _PHRASES.get(label, label.replace("_", " "))


def _ago(seconds: float) -> str:
    if seconds < 5:
        return "just now"
    if seconds < 90:
        return f"about {int(round(seconds, -1) or 5)} seconds ago"
    return f"about {int(round(seconds / 60))} minutes ago"


def describe(heard: Sequence[HeardSound], now: float, most: int = 3) -> str:
    """The answer to "what was that noise?": the latest distinct sounds, most recent first."""
    latest: dict[str, HeardSound] = {}
    for sound in heard:
        if sound.label not in latest or sound.end > latest[sound.label].end:
            latest[sound.label] = sound
    recent = sorted(latest.values(), key=lambda s: -s.end)[:most]
    if not recent:
        return "I didn't hear anything I recognise."
    first, rest = recent[0], recent[1:]
    text = f"That sounded like {phrase(first.label)}, {_ago(max(0.0, now - first.end))}"
    if rest:
        text += "; before that, " + " and ".join(phrase(s.label) for s in rest)
    return text + "."
