"""The exceptions audiotok raises for bad input: each is a ValueError that says what to change."""

from __future__ import annotations


class AudiotokError(ValueError):
    """Base class of every audiotok input error."""


class MissingDependencyError(AudiotokError, ImportError):
    """An optional package (an extra: plot, eval, ray) is not installed; the message says what to install."""


class ConfigError(AudiotokError):
    """A tokenizer config is impossible or does not match the codec or the tokens."""


class AudioInputError(AudiotokError):
    """Audio that cannot be encoded: NaN/Inf, empty, too many channels, unreadable file."""


class TokenizationError(AudiotokError):
    """Malformed token ids; `position` is the index of the first offending id (None if not positional)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"position {position}: {message}")
        self.position = position
        self.detail = message
