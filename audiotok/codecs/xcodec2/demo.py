"""An UNTRAINED X-codec2 of the published hop, rates and 65,536-entry FSQ codebook whose codes mean something.

A randomly initialised model's FSQ projection leaves its inputs near zero, so nearly every frame gets
the same few codes. ``fit_fsq`` makes the projection into the 8 FSQ dimensions a random orthonormal
map scaled to the spread of the encoder's own output on speech-like audio, so every dimension uses all
of its 4 levels; the decoder is random (its output moves with every code).

The semantic encoder (a 16-layer, 1024-wide wav2vec2-BERT in the published model) is one small layer
here, and so are the decoder's transformer and the acoustic encoder's channels. It is the test fixture
of the X-codec2 family and what ``--model demo-xcodec2`` runs offline. Its audio is NOT a faithful
reconstruction. Use ``HKUSTAudio/xcodec2-hf`` for real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import Xcodec2Config, Xcodec2Model

from ..demo_tools import cached_demo_dir, demo_note, synthetic_audio

DEMO_NOTE = demo_note("X-codec2")
PUBLISHED = {"HKUSTAudio/xcodec2-hf": Xcodec2Config()}
"""Hub id -> architecture of the published checkpoint (transformers' defaults are HKUSTAudio/xcodec2-hf's)."""

SMALL_SEMANTIC: dict[str, Any] = {
    "model_type": "wav2vec2-bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "left_max_position_embeddings": 8,
    "right_max_position_embeddings": 4,
}


def small_settings(**overrides: Any) -> dict[str, Any]:
    """The published hop (320), rate and codebook with few channels and one layer per transformer."""
    settings: dict[str, Any] = {
        "hidden_size": 32,  # a multiple of the decoder GroupNorms' 32 groups
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "encoder_hidden_size": 2,
        "semantic_model_config": dict(SMALL_SEMANTIC),
        "quantization_dim": 64,  # hidden_size + the semantic hidden size
    }
    settings.update(overrides)
    return settings


def small_xcodec2_config(**overrides: Any) -> Xcodec2Config:
    return Xcodec2Config(**small_settings(**overrides))


@torch.no_grad()
def fit_fsq(model: Any, inputs: dict[str, torch.Tensor], generator: torch.Generator) -> None:
    """An orthonormal ``project_in`` scaled so each FSQ dimension spreads over its levels on ``inputs``."""
    captured: dict[str, torch.Tensor] = {}
    quantizer = model.quantizer
    handle = quantizer.register_forward_pre_hook(lambda _m, args: captured.update(hidden=args[0]))
    try:
        model.encode(**inputs)
    finally:
        handle.remove()
    hidden = captured["hidden"].reshape(-1, captured["hidden"].shape[-1])  # [frames, quantization_dim]
    dims = quantizer.project_in.out_features
    basis, _ = torch.linalg.qr(torch.randn(hidden.shape[-1], dims, generator=generator))
    projected = (hidden - hidden.mean(0)) @ basis
    levels = torch.tensor(list(model.config.quantization_levels), dtype=torch.float32)
    scale = 0.5 * levels / projected.std(0)  # about one level per half standard deviation
    quantizer.project_in.weight.copy_((basis * scale).T)
    quantizer.project_in.bias.copy_(-(hidden.mean(0) @ basis) * scale)


def build_demo_codec(config: Any = None, seed: int = 0, model_class: Any = Xcodec2Model) -> Any:
    """A random-weight model (the small X-codec2 shape by default) with a fitted FSQ projection."""
    from .codec import Xcodec2Codec

    config = config or small_xcodec2_config()
    torch.manual_seed(seed)
    model: Any = model_class(config).eval()
    codec_class = Xcodec2Codec if model_class is Xcodec2Model else _codec_of(model_class)
    codec = codec_class(model, device="cpu", name="fit")
    rate = codec.sampling_rate
    clips = [torch.from_numpy(synthetic_audio(4.0, rate, seed=seed + i)) for i in range(2)]
    fit_fsq(codec.model, codec.model_inputs(clips), torch.Generator().manual_seed(seed))
    return codec.model


def _codec_of(model_class: Any) -> Any:
    from ..registry import codec_class

    return codec_class(model_class.config_class.model_type)


def demo_config() -> Xcodec2Config:
    """The transformers config of the demo codec (X-codec2's hop, rates and codebook, tiny layers)."""
    return small_xcodec2_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the X-codec2 demo codec in ``~/.cache/audiotok/demo-xcodec2``; its directory."""
    return cached_demo_dir("demo-xcodec2", build_demo_codec, DEMO_NOTE, cache_dir)
