"""The tokenizer config a ``--model`` names, read without loading codec weights (all `info` and `vocab` need)."""

from __future__ import annotations

from pathlib import Path

from ..codecs.registry import codec_spec
from ..config import CONFIG_NAME, DEFAULT_CODEC, TokenizerConfig
from ..errors import ConfigError


def config_only(model: str) -> TokenizerConfig:
    """The config of an audiotok config (JSON or saved tokenizer dir), or the default config of a codec checkpoint.

    A codec checkpoint (hub id or directory, of any family) needs only its ``config.json``; the demo
    codecs need nothing.
    """
    if model == DEFAULT_CODEC:
        return TokenizerConfig()
    path = Path(model)
    if path.is_file() or (path / CONFIG_NAME).exists():
        return TokenizerConfig.from_pretrained(path)
    try:
        spec = codec_spec(model)
    except OSError as error:
        raise ConfigError(
            f"--model {model}: {error}; pass {DEFAULT_CODEC}, a codec checkpoint directory or hub id, or an "
            "audiotok config"
        ) from None
    return TokenizerConfig.for_codec(model, spec)
