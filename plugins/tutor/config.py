"""Settings of the ``tutor`` plugin (``plugins.settings.tutor`` in config.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field

from hark.config import ranged

__all__ = ["TutorSettings"]


@dataclass(frozen=True)
class TutorSettings:
    #: phone model folder (relative to the config file); empty = the bundled model
    model_dir: str = ""
    #: how many nats another phone (or silence) must explain a phone's frames better before the phone is called
    #: wrong: higher gives fewer false alarms and misses more real mistakes
    margin: float = field(default=1.0, metadata=ranged(-20.0, 50.0))
    #: also score each word with pocketsphinx's acoustic model (trained on real voices; decisions.md 38): on real
    #: speech the phone model alone flags most words
    word_gop: bool = True
    #: onnxruntime threads
    threads: int = field(default=1, metadata=ranged(1, 64))
