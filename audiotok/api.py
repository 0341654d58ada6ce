"""The one-liners a training pipeline calls, on a cached default tokenizer."""

from __future__ import annotations

import os
import threading
from typing import Any

from .audio import AudioSource
from .config import DEFAULT_CODEC
from .ids.detokenize import Errors
from .tokenizer import AudioTokenizer, IdsLike, ReturnTensors

MODEL_ENV = "AUDIOTOK_MODEL"
_lock = threading.Lock()
_default: AudioTokenizer | None = None


def default_tokenizer() -> AudioTokenizer:
    """The tokenizer the one-liners use: ``set_default_tokenizer``'s, else ``$AUDIOTOK_MODEL``'s, else
    facebook/encodec_24khz at 6 kbps, interleaved, offset 0. Loaded once, then cached."""
    global _default
    with _lock:
        if _default is None:
            _default = AudioTokenizer.from_pretrained(os.environ.get(MODEL_ENV) or DEFAULT_CODEC)
        return _default


def set_default_tokenizer(tokenizer: AudioTokenizer | str | os.PathLike[str] | None, **config_changes: Any) -> None:
    """Sets the one-liners' tokenizer: an ``AudioTokenizer``, or anything ``from_pretrained`` takes; None resets."""
    global _default
    if tokenizer is not None and not isinstance(tokenizer, AudioTokenizer):
        tokenizer = AudioTokenizer.from_pretrained(tokenizer, **config_changes)
    with _lock:
        _default = tokenizer


def encode_to_tokens(
    audio: AudioSource,
    sampling_rate: int | None = None,
    *,
    add_special_tokens: bool = True,
    return_tensors: ReturnTensors = "np",
    tokenizer: AudioTokenizer | None = None,
) -> Any:
    """Audio (path, array, tensor or list) -> LLM ids, with the default tokenizer unless one is given."""
    tokenizer = tokenizer or default_tokenizer()
    return tokenizer.encode(audio, sampling_rate, add_special_tokens=add_special_tokens, return_tensors=return_tensors)


def decode_tokens(
    ids: IdsLike,
    *,
    errors: Errors = "strict",
    return_tensors: ReturnTensors = "np",
    tokenizer: AudioTokenizer | None = None,
) -> Any:
    """LLM ids (bare, or a whole text+audio output) -> audio ``[C, samples]`` at the tokenizer's rate."""
    tokenizer = tokenizer or default_tokenizer()
    return tokenizer.decode(ids, errors=errors, return_tensors=return_tensors)
