"""An UNTRAINED Mimi of the kyutai/mimi shape whose codebooks and decoder are fitted so its codes mean something.

A randomly initialised ``MimiModel`` has all-zero codebooks (every code is 0). This module fits
every codebook of both quantizers (the semantic one: 1 codebook; the acoustic one: 31, on its own
projection of the same latents) with codewords drawn to the spread of the residual they quantize,
at the scale that leaves the least residual, so all 32 levels keep making real decisions on unseen
audio; then rescales the decoder so a wrong code moves the audio (``demo_tools.make_decoder_listen``).
Copying codewords from the fit audio's own frames does not work at 12.5 frames/s: a few hundred
frames drive the residual to zero within ~20 levels, leaving the last codebooks with one code.

It is the test fixture of the Mimi family and what ``--model demo-mimi`` runs offline. Its audio is
NOT a faithful reconstruction. Use ``kyutai/mimi`` (or a local copy) for real work.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import MimiConfig, MimiModel

from ..demo_tools import cached_demo_dir, demo_note, make_decoder_listen, synthetic_audio

DEMO_NOTE = demo_note("Mimi")
PUBLISHED = {"kyutai/mimi": MimiConfig()}
"""Hub id -> architecture of the published checkpoint (transformers' defaults are kyutai/mimi's)."""


def small_mimi_config(**overrides: Any) -> MimiConfig:
    """Mimi's hop (1920), 12.5 frames/s and 32 x 2048 codebooks, with few channels and layers."""
    settings: dict[str, Any] = {
        "num_filters": 4,
        "hidden_size": 32,
        "upsample_groups": 32,
        "num_hidden_layers": 1,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "codebook_dim": 16,
        "vector_quantization_hidden_dimension": 16,
    }
    settings.update(overrides)
    return MimiConfig(**settings)


def _set_codebook(codebook: Any, codewords: torch.Tensor) -> None:
    codebook.embed_sum.copy_(codewords)
    codebook.cluster_usage.fill_(1.0)
    codebook._embed = None  # the codebook caches embed_sum / cluster_usage on first use


@torch.no_grad()
def fit_quantizer(quantizer: Any, latents: torch.Tensor, generator: torch.Generator) -> None:
    """Fits each codebook of one residual quantizer on its own residuals of ``latents`` ``[B, D, T]``.

    Level k's codewords are mean + s * N(0, cov) of the level-k residuals, with the scale s (of a few)
    that leaves the least residual energy: each level removes a few percent, on seen and unseen audio.
    """
    x = quantizer.input_proj(latents) if quantizer.input_proj is not None else latents
    residual = x.transpose(1, 2).reshape(-1, x.shape[1])
    for layer in quantizer.layers:
        codebook = layer.codebook
        mean = residual.mean(dim=0)
        values, vectors = torch.linalg.eigh(torch.cov(residual.T).double())  # a root safe for rank deficiency
        root = ((vectors * values.clamp(min=0).sqrt()) @ vectors.T).float()
        shape = torch.randn(codebook.codebook_size, residual.shape[1], generator=generator) @ root
        best: tuple[float, float, torch.Tensor] | None = None
        for scale in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0):
            _set_codebook(codebook, mean + scale * shape)
            left = residual - codebook.decode(codebook.encode(residual))
            energy = float(left.pow(2).sum())
            if best is None or energy < best[0]:
                best = (energy, scale, left)
        assert best is not None
        _set_codebook(codebook, mean + best[1] * shape)
        residual = best[2]


@torch.no_grad()
def build_demo_codec(
    config: MimiConfig | None = None, fit_audio: Sequence[np.ndarray] | None = None, seed: int = 0
) -> MimiModel:
    """A random-weight ``MimiModel`` (the small shape by default) with fitted codebooks and a listening decoder."""
    config = config or small_mimi_config()
    torch.manual_seed(seed)
    model: Any = MimiModel(config).eval()
    if fit_audio is None:
        fit_audio = [synthetic_audio(6.0, config.sampling_rate, config.audio_channels, seed=seed + i) for i in range(3)]
    length = min(clip.shape[-1] for clip in fit_audio)
    batch = torch.from_numpy(np.stack([clip[..., :length] for clip in fit_audio])).float()
    latents = model.encoder(batch).latents
    generator = torch.Generator().manual_seed(seed)
    fit_quantizer(model.quantizer.semantic_residual_vector_quantizer, latents, generator)
    fit_quantizer(model.quantizer.acoustic_residual_vector_quantizer, latents, generator)
    codes = model.quantizer.encode(latents).transpose(0, 1)  # [B, K, T]
    make_decoder_listen(model.decoder, lambda: model.decode(codes))
    return model


def demo_config() -> MimiConfig:
    """The transformers config of the demo codec (Mimi's hop and codebooks, few channels)."""
    return small_mimi_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the Mimi demo codec in ``~/.cache/audiotok/demo-mimi``; its directory."""
    return cached_demo_dir("demo-mimi", build_demo_codec, DEMO_NOTE, cache_dir)
