"""audiotok: audio <-> LLM token ids through neural audio codecs (EnCodec, DAC, Mimi, ...).

Names are imported lazily: ``import audiotok`` is cheap, and a worker process that only decodes audio
never imports transformers, datasets or pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

_EXPORTS: dict[str, str] = {
    "AudioCodec": "audiotok.codecs.base",
    "AudioCodes": "audiotok.ids.codes",
    "AudioInputError": "audiotok.errors",
    "AudioLogitsProcessor": "audiotok.generation",
    "AudioTokenizer": "audiotok.tokenizer",
    "AudiotokError": "audiotok.errors",
    "CodecLoadError": "audiotok.codecs.loading",
    "ConfigError": "audiotok.errors",
    "StreamingNotSupportedError": "audiotok.codecs.base",
    "TokenizationError": "audiotok.errors",
    "TokenizerConfig": "audiotok.config",
    "build_example": "audiotok.mixed",
    "decode_mixed_output": "audiotok.mixed",
    "decode_tokens": "audiotok.api",
    "default_tokenizer": "audiotok.api",
    "encode_to_tokens": "audiotok.api",
    "extend_model": "audiotok.llm_model",
    "extend_tokenizer": "audiotok.llm_vocab",
    "load_codec": "audiotok.codecs.registry",
    "load_token_dataset": "audiotok.shards",
    "set_default_tokenizer": "audiotok.api",
    "split_mixed_output": "audiotok.mixed",
    "train_bpe": "audiotok.bpe_training",
}

__all__ = [
    "AudioCodec",
    "AudioCodes",
    "AudioInputError",
    "AudioLogitsProcessor",
    "AudioTokenizer",
    "AudiotokError",
    "CodecLoadError",
    "ConfigError",
    "StreamingNotSupportedError",
    "TokenizationError",
    "TokenizerConfig",
    "build_example",
    "decode_mixed_output",
    "decode_tokens",
    "default_tokenizer",
    "encode_to_tokens",
    "extend_model",
    "extend_tokenizer",
    "load_codec",
    "load_token_dataset",
    "set_default_tokenizer",
    "split_mixed_output",
    "train_bpe",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'audiotok' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .api import decode_tokens, default_tokenizer, encode_to_tokens, set_default_tokenizer
    from .bpe_training import train_bpe
    from .codecs.base import AudioCodec, StreamingNotSupportedError
    from .codecs.loading import CodecLoadError
    from .codecs.registry import load_codec
    from .config import TokenizerConfig
    from .errors import AudioInputError, AudiotokError, ConfigError, TokenizationError
    from .generation import AudioLogitsProcessor
    from .ids.codes import AudioCodes
    from .llm_model import extend_model
    from .llm_vocab import extend_tokenizer
    from .mixed import build_example, decode_mixed_output, split_mixed_output
    from .shards import load_token_dataset
    from .tokenizer import AudioTokenizer
