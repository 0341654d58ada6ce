"""The codec families, keyed by the ``model_type`` of a checkpoint's ``config.json``.

Adding a family is one folder (``audiotok/codecs/<family>/``, whose ``__init__`` exposes ``CODEC``,
its ``AudioCodec`` subclass; ``demo_dir``, which builds its untrained demo checkpoint once; and
``demo_config``, that checkpoint's transformers config) and one line here. Families are imported
only when used.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from ..codec_spec import CodecSpec
from .base import AudioCodec
from .loading import CodecLoadError, checkpoint_source, failed, resolve_device

FAMILIES: dict[str, str] = {
    "encodec": "audiotok.codecs.encodec",
    "dac": "audiotok.codecs.dac",
    "mimi": "audiotok.codecs.mimi",
    "wavtokenizer": "audiotok.codecs.wavtokenizer",
    "xcodec": "audiotok.codecs.xcodec",
    "xcodec2": "audiotok.codecs.xcodec2",
    "neucodec": "audiotok.codecs.neucodec",
}
"""``model_type`` -> the module of its family."""

DEMO_PREFIX = "demo"
"""``demo`` is the EnCodec 24 kHz demo codec; ``demo-<family>`` (e.g. ``demo-dac``) another family's."""


def family_module(model_type: str) -> ModuleType:
    """The module of the family registered for ``model_type``."""
    if model_type not in FAMILIES:
        raise CodecLoadError(
            f"no audiotok codec family handles model_type {model_type!r}; supported: {sorted(FAMILIES)}"
        )
    return importlib.import_module(FAMILIES[model_type])


def codec_class(model_type: str) -> type[AudioCodec]:
    """The ``AudioCodec`` subclass of ``model_type``."""
    codec: type[AudioCodec] = family_module(model_type).CODEC
    return codec


def demo_family(name: str) -> str | None:
    """The family a demo name stands for (``demo`` -> encodec, ``demo-mimi`` -> mimi), else None."""
    if name == DEMO_PREFIX:
        return "encodec"
    prefix = DEMO_PREFIX + "-"
    if name.startswith(prefix) and not os.path.exists(name):
        family = name[len(prefix) :]
        family_module(family)  # raises for an unknown family
        return family
    return None


def resolve(name_or_path: str | os.PathLike[str]) -> str:
    """A demo name -> the directory of its (built once, cached) checkpoint; anything else unchanged."""
    name = str(name_or_path)
    family = demo_family(name)
    if family is None:
        return name
    return str(family_module(family).demo_dir())


def load_codec(
    name_or_path: str | os.PathLike[str],
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> AudioCodec:
    """Loads a codec checkpoint (hub id or local directory; ``demo``/``demo-<family>`` for the untrained demo
    codecs) with the family its ``config.json`` names."""
    name = str(name_or_path)
    resolve_device(device)  # before anything loads
    source, options = checkpoint_source(resolve(name))
    values = model_config_dict(source) if os.path.isdir(source) else _config_dict(name, source, options)
    family = codec_class(model_type_of(name, values))
    try:
        model = family.model_class.from_pretrained(source, **options)
    except (OSError, ValueError) as error:
        raise failed(name, f"{source}: {error}") from error
    return family(model, device, dtype, name=name)


def _config_dict(name: str, source: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``config.json`` at ``source`` (a directory, or a hub id already checked by ``checkpoint_source``)."""
    from transformers import PretrainedConfig

    try:
        values, _ = PretrainedConfig.get_config_dict(source, **options)
    except (OSError, ValueError) as error:
        raise failed(name, f"its config.json could not be read: {error}") from error
    return values


def model_config_dict(name_or_path: str) -> dict[str, Any]:
    """The checkpoint's ``config.json`` as a dict (a local directory, or a hub id through the cache)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        file = path / "config.json"
        if not file.exists():
            raise failed(name_or_path, "a directory without config.json: not a codec checkpoint")
        try:
            values: dict[str, Any] = json.loads(file.read_text())
        except json.JSONDecodeError as error:
            raise failed(name_or_path, f"{file} is not valid JSON: {error}") from error
        return values
    source, options = checkpoint_source(name_or_path)
    return _config_dict(name_or_path, source, options)


def model_type_of(name_or_path: str, values: dict[str, Any] | None = None) -> str:
    """The ``model_type`` a checkpoint's ``config.json`` (or its already read ``values``) names."""
    model_type = (values if values is not None else model_config_dict(name_or_path)).get("model_type")
    if not isinstance(model_type, str):
        raise CodecLoadError(f"the config of {name_or_path!r} names no model_type: not a transformers checkpoint")
    return model_type


def codec_spec(name_or_path: str | os.PathLike[str]) -> CodecSpec:
    """A checkpoint's ``CodecSpec`` from its ``config.json`` alone (no weights are loaded; a demo name builds
    nothing)."""
    name = str(name_or_path)
    family_name = demo_family(name)
    if family_name is not None:
        module = family_module(family_name)
        return module.CODEC.describe(module.demo_config())
    values = model_config_dict(name)
    family = codec_class(model_type_of(name, values))
    config_class: Any = family.model_class.config_class
    return family.describe(config_class.from_dict(values))
