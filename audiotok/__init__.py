"""audiotok: audio <-> LLM token ids through Meta's EnCodec."""

from .api import decode_tokens, default_tokenizer, encode_to_tokens, set_default_tokenizer
from .codec import Codec, CodecLoadError
from .config import TokenizerConfig
from .errors import AudioInputError, AudiotokError, ConfigError, TokenizationError
from .tokenizer import AudioTokenizer

__version__ = "0.1.0"

__all__ = [
    "AudioInputError",
    "AudioTokenizer",
    "AudiotokError",
    "Codec",
    "CodecLoadError",
    "ConfigError",
    "TokenizationError",
    "TokenizerConfig",
    "decode_tokens",
    "default_tokenizer",
    "encode_to_tokens",
    "set_default_tokenizer",
]
