"""An UNTRAINED X-codec of the published shape whose codebooks and decoder are fitted so its codes mean something.

A randomly initialised ``XcodecModel`` has all-zero codebooks (every code is 0). This module

1. shifts and rescales the projection before the quantizer (``fc``) so its output is centred with unit
   spread per channel on speech-like audio;
2. fits every RVQ level with codewords mean + s * N(0, cov) of that level's residuals, with the scale s
   (of a few) that leaves the least residual, so all 8 levels make real decisions on unseen audio;
3. rescales the acoustic decoder so a wrong code moves the audio (``demo_tools.make_decoder_listen``).

It is the test fixture of the X-codec family and what ``--model demo-xcodec`` runs offline. Its audio
is NOT a faithful reconstruction. Use ``hf-audio/xcodec-hubert-librispeech`` (or another published
X-codec) for real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import XcodecConfig, XcodecModel

from ..demo_tools import cached_demo_dir, demo_note, make_decoder_listen, synthetic_audio

DEMO_NOTE = demo_note("X-codec")

_WAVLM = {"model_type": "wavlm"}  # microsoft/wavlm-base-plus: transformers' WavLM defaults
PUBLISHED = {
    "hf-audio/xcodec-hubert-librispeech": XcodecConfig(),
    "hf-audio/xcodec-wavlm-mls": XcodecConfig(semantic_model_config=_WAVLM),
    "hf-audio/xcodec-wavlm-more-data": XcodecConfig(semantic_model_config=_WAVLM),
    "hf-audio/xcodec-hubert-general": XcodecConfig(),
    "hf-audio/xcodec-hubert-general-balanced": XcodecConfig(),
}
"""Hub id -> architecture of the published checkpoints, from transformers' defaults (HuBERT base, which are
xcodec-hubert-librispeech's) and the semantic models their model cards name (WavLM base plus for the
``wavlm`` ones); all are 16 kHz, hop 320, 0.5-4 kbps = 1-8 x 1024 codebooks."""


def small_xcodec_config(**overrides: Any) -> XcodecConfig:
    """X-codec's 16 kHz rate, hop 320, bandwidths and 8 x 1024 codebooks, with a tiny DAC and a 1-layer HuBERT."""
    settings: dict[str, Any] = {
        "acoustic_model_config": {"encoder_hidden_size": 4, "decoder_hidden_size": 32, "hidden_size": 16},
        "semantic_model_config": {
            "model_type": "hubert",
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 32,
            "conv_dim": [16] * 7,
            "num_conv_pos_embeddings": 16,
            "num_conv_pos_embedding_groups": 2,
        },
    }
    settings.update(overrides)
    return XcodecConfig(**settings)


def _projected(model: Any, audio: torch.Tensor) -> torch.Tensor:
    """What ``XcodecModel.encode`` quantizes, for whole-frame audio ``[B, 1, L]``: ``[B, D, T]``."""
    semantic = model.encoder_semantic(model._extract_semantic_features(audio).transpose(1, 2))
    joint = torch.cat([model.acoustic_encoder(audio), semantic], dim=1)
    return model.fc(joint.transpose(1, 2)).transpose(1, 2)


@torch.no_grad()
def fit_quantizer(model: Any, embeddings: torch.Tensor, generator: torch.Generator) -> None:
    """Fits each RVQ level on its own residuals of ``embeddings`` ``[B, D, T]`` (the scale that leaves least)."""
    residual = embeddings.transpose(1, 2).reshape(-1, embeddings.shape[1])
    for level in model.quantizer.quantizers:
        codebook = level.codebook
        mean = residual.mean(dim=0)
        values, vectors = torch.linalg.eigh(torch.cov(residual.T).double())  # a root safe for rank deficiency
        root = ((vectors * values.clamp(min=0).sqrt()) @ vectors.T).float()
        shape = torch.randn(codebook.codebook_size, residual.shape[1], generator=generator) @ root
        best: tuple[float, float, torch.Tensor] | None = None
        for scale in (0.2, 0.3, 0.5, 0.7, 1.0):
            codebook.embed.copy_(mean + scale * shape)
            left = residual - codebook.decode(codebook.encode(residual))
            energy = float(left.pow(2).sum())
            if best is None or energy < best[0]:
                best = (energy, scale, left)
        assert best is not None
        codebook.embed.copy_(mean + best[1] * shape)
        codebook.embed_avg.copy_(codebook.embed)
        residual = best[2]


@torch.no_grad()
def build_demo_codec(config: XcodecConfig | None = None, seed: int = 0) -> XcodecModel:
    """A random-weight ``XcodecModel`` (the small shape by default) with fitted codebooks and a listening decoder."""
    config = config or small_xcodec_config()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model: Any = XcodecModel(config).eval()
    rate, hop = config.sample_rate, config.hop_length
    length = int(4.0 * rate) // hop * hop
    audio = torch.from_numpy(np.stack([synthetic_audio(4.0, rate, seed=seed + i)[:, :length] for i in range(3)]))
    embeddings = _projected(model, audio)
    mean, spread = embeddings.mean(dim=(0, 2)), embeddings.std(dim=(0, 2)).clamp(min=1e-12)
    model.fc.weight.div_(spread[:, None])
    model.fc.bias.copy_((model.fc.bias - mean) / spread)
    fit_quantizer(model, _projected(model, audio), generator)
    codes = model.encode(audio).audio_codes
    make_decoder_listen(model.acoustic_decoder, lambda: model.decode(codes))
    return model


def demo_config() -> XcodecConfig:
    """The transformers config of the demo codec (X-codec's rate, hop and codebooks, tiny networks)."""
    return small_xcodec_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the X-codec demo codec in ``~/.cache/audiotok/demo-xcodec``; its directory."""
    return cached_demo_dir("demo-xcodec", build_demo_codec, DEMO_NOTE, cache_dir)
