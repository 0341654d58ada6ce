"""audiotok: audio <-> LLM token ids through Meta's EnCodec."""

from .api import decode_tokens, default_tokenizer, encode_to_tokens, set_default_tokenizer
from .codec import AudioCodes, Codec, CodecLoadError
from .config import TokenizerConfig
from .errors import AudioInputError, AudiotokError, ConfigError, TokenizationError
from .llm_model import extend_model
from .llm_vocab import extend_tokenizer
from .mixed import build_example, decode_mixed_output, split_mixed_output
from .shards import load_token_dataset
from .tokenizer import AudioTokenizer

__version__ = "0.1.0"

__all__ = [
    "AudioCodes",
    "AudioInputError",
    "AudioTokenizer",
    "AudiotokError",
    "Codec",
    "CodecLoadError",
    "ConfigError",
    "TokenizationError",
    "TokenizerConfig",
    "build_example",
    "decode_mixed_output",
    "decode_tokens",
    "default_tokenizer",
    "encode_to_tokens",
    "extend_model",
    "extend_tokenizer",
    "load_token_dataset",
    "set_default_tokenizer",
    "split_mixed_output",
]
