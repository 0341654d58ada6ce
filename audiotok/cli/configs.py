"""The tokenizer config a ``--model`` names, read without loading codec weights (all `info` and `vocab` need)."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import CONFIG_NAME, DEFAULT_CODEC, TokenizerConfig
from ..demo_codec import DEMO_MODEL_NAME, small_encodec_config
from ..errors import ConfigError


def config_only(model: str) -> TokenizerConfig:
    """24 kHz defaults, an audiotok config (JSON or saved tokenizer dir), or the config for an EnCodec's config.json.

    A hub id other than the default needs only the codec's ``config.json`` (``EncodecConfig.from_pretrained``).
    """
    if model == DEFAULT_CODEC:
        return TokenizerConfig()
    if model == DEMO_MODEL_NAME:
        return TokenizerConfig.for_codec(DEMO_MODEL_NAME, small_encodec_config())
    path = Path(model)
    if path.is_file() or (path / CONFIG_NAME).exists():
        return TokenizerConfig.from_pretrained(path)
    if path.is_dir():  # EncodecConfig.from_pretrained takes a folder without config.json for the defaults
        file = path / "config.json"
        model_type = json.loads(file.read_text()).get("model_type") if file.exists() else None
        if model_type != "encodec":
            found = f"a {model_type!r} model" if file.exists() else f"no config.json and no {CONFIG_NAME}"
            raise ConfigError(f"--model {model}: expected an EnCodec directory, found {found}")
    from transformers import EncodecConfig

    try:
        codec_config = EncodecConfig.from_pretrained(model)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"cannot read an EnCodec config from {model!r} ({error}); pass {DEFAULT_CODEC}, a local EnCodec "
            "directory, or an audiotok config"
        ) from None
    return TokenizerConfig.for_codec(model, codec_config)
