"""An UNTRAINED NeuCodec of the published hop, rates (16 kHz in, 24 kHz out) and 65,536-entry FSQ codebook.

Built as X-codec2's demo (``xcodec2.demo``): tiny layers, a one-layer wav2vec2-BERT semantic encoder, and
an FSQ projection fitted so every dimension uses its levels. It is the test fixture of the NeuCodec
family and what ``--model demo-neucodec`` runs offline. Its audio is NOT a faithful reconstruction. Use
``neuphonic/neucodec`` for real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import NeuCodecConfig, NeuCodecModel

from ..demo_tools import cached_demo_dir, demo_note
from ..xcodec2.demo import build_demo_codec as build_xcodec2_like
from ..xcodec2.demo import small_settings

DEMO_NOTE = demo_note("NeuCodec")
PUBLISHED = {"neuphonic/neucodec": NeuCodecConfig()}
"""Hub id -> architecture of the published checkpoint (transformers' defaults are neuphonic/neucodec's)."""


def small_neucodec_config(**overrides: Any) -> NeuCodecConfig:
    """NeuCodec's hop (320 in, 480 out), rates and codebook with few channels and one layer per transformer."""
    return NeuCodecConfig(**small_settings(**overrides))


def build_demo_codec(config: NeuCodecConfig | None = None, seed: int = 0) -> NeuCodecModel:
    """A random-weight ``NeuCodecModel`` (the small shape by default) with a fitted FSQ projection."""
    model: NeuCodecModel = build_xcodec2_like(config or small_neucodec_config(), seed, model_class=NeuCodecModel)
    return model


def demo_config() -> NeuCodecConfig:
    """The transformers config of the demo codec (NeuCodec's hop, rates and codebook, tiny layers)."""
    return small_neucodec_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the NeuCodec demo codec in ``~/.cache/audiotok/demo-neucodec``; its directory."""
    return cached_demo_dir("demo-neucodec", build_demo_codec, DEMO_NOTE, cache_dir)
