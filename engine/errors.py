"""One error hierarchy for everything the user can get wrong.

Every message names *what* was wrong and *where* (file, line, dotted key, plugin), so the CLI can print it as a
single line without a traceback.
"""
from __future__ import annotations

__all__ = ["HarkError", "ConfigError", "SkillError", "PluginError", "ModelError", "InputError"]


class HarkError(Exception):
    """Base class: an error caused by input, configuration or an installed plugin, not by a bug in hark."""


class ConfigError(HarkError):
    """config.yaml or a HARK_* environment variable is invalid."""


class SkillError(HarkError):
    """A skill file is invalid. The message starts with ``file:line: key:``."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None, key: str | None = None):
        self.path, self.line, self.key, self.detail = path, line, key, message
        where = ""
        if path:
            where = str(path) + (f":{line}" if line else "") + ": "
        if key:  # a key is the user's text: a newline in it ('? "a\n"') must not break the one-line message
            where += (key if key.isprintable() else key.encode("unicode_escape").decode("ascii")) + ": "
        super().__init__(where + message)


class PluginError(HarkError):
    """A plugin could not be loaded, or two plugins claim the same name."""


class ModelError(HarkError):
    """A model file is missing, corrupt (checksum mismatch) or incompatible."""


class InputError(HarkError):
    """Input given to parse/stream (text, n-best JSON, audio) is malformed."""
