"""An UNTRAINED EnCodec of the real shape, whose codebooks and decoder are fitted so its codes mean something.

A randomly initialised ``EncodecModel`` has all-zero codebooks (every code is 0) and a decoder
whose output is mostly bias (docs/design.md), so tests built on it pass vacuously. This module
builds a small model of the 24 kHz (or any) architecture and

1. centres and scales the encoder's output (a random encoder's embeddings are a large constant
   vector plus 1 % of variation, which makes float32 distances tie-prone),
2. fits every residual codebook with k-means on the encoder's own residuals of some audio, so each
   codebook emits many distinct codes, and
3. zeroes the decoder's biases and rescales each of its convolutions, in forward order, to unit
   output spread on real codes, so a wrong code moves the decoded audio measurably.

It is what the tests use as their fixture codec and what ``audiotok ... --model demo`` runs when
the real checkpoint cannot be downloaded. Its audio is NOT a faithful reconstruction: it is
untrained. Use ``facebook/encodec_24khz`` (or a local copy) for real work.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import EncodecConfig, EncodecModel

from ..demo_tools import cached_demo_dir, demo_note, make_decoder_listen, scale_weight, synthetic_audio

DEMO_NOTE = demo_note("EnCodec")


def small_encodec_config(**overrides: Any) -> EncodecConfig:
    """The 24 kHz EnCodec shape (hop 320, 75 frames/s, 32 x 1024 codebooks) with few filters; overrides win."""
    settings: dict[str, Any] = {
        "num_filters": 4,
        "hidden_size": 32,
        "num_lstm_layers": 1,
        "num_residual_layers": 1,
    }
    settings.update(overrides)
    return EncodecConfig(**settings)


ENCODEC_48KHZ_ARCHITECTURE: dict[str, Any] = {  # facebook/encodec_48khz, as transformers' converter sets it
    "target_bandwidths": [3.0, 6.0, 12.0, 24.0],
    "sampling_rate": 48_000,
    "audio_channels": 2,
    "use_causal_conv": False,
    "norm_type": "time_group_norm",
    "normalize": True,
    "chunk_length_s": 1.0,
    "overlap": 0.01,
}


def encodec_48khz_config(**overrides: Any) -> EncodecConfig:
    """The facebook/encodec_48khz architecture (stereo, 1 s chunks with 10 ms overlap, per-chunk scales)."""
    return EncodecConfig(**{**ENCODEC_48KHZ_ARCHITECTURE, **overrides})


@torch.no_grad()
def condition_encoder(model: EncodecModel, audio: torch.Tensor) -> None:
    """Shifts and scales the encoder's last convolution so its output on ``audio`` has zero mean, unit spread."""
    last: Any = model.encoder.layers[-1].conv
    embeddings = model.encoder(audio)
    mean = embeddings.mean(dim=(0, 2))
    spread = float((embeddings - mean[:, None]).std())
    last.bias.sub_(mean).div_(spread)
    scale_weight(last, 1.0 / spread)


@torch.no_grad()
def fit_codebooks(model: EncodecModel, audio: torch.Tensor, seed: int = 0) -> None:
    """Gives each residual codebook codewords spread like the residual it quantizes.

    Level k's codewords are level-k residuals of the encoder on ``audio`` ``[B, C, L]``, each moved
    by Gaussian noise of half the residuals' covariance. Unlike k-means on a few seconds of audio,
    this never collapses the residual to zero after a few levels, so every level keeps real
    decisions (as trained RVQ does), and no two codewords are near-duplicates (which would let
    float noise flip codes).
    """
    generator = torch.Generator().manual_seed(seed)
    residual = model.encoder(audio).transpose(1, 2).reshape(-1, model.config.codebook_dim)
    layer: Any
    for layer in model.quantizer.layers:
        noise = torch.randn(model.config.codebook_size, residual.shape[1], generator=generator)
        covariance = torch.cov(residual.T) + 1e-6 * torch.eye(residual.shape[1])
        picks = torch.randint(residual.shape[0], (model.config.codebook_size,), generator=generator)
        codewords = residual[picks] + 0.5 * noise @ torch.linalg.cholesky(covariance).T
        codebook = layer.codebook
        codebook.embed.copy_(codewords)
        codebook.embed_avg.copy_(codewords)
        codebook.cluster_size.fill_(1.0)
        residual = residual - codebook.decode(codebook.encode(residual))


def build_demo_codec(
    config: EncodecConfig | None = None,
    fit_audio: Sequence[np.ndarray] | None = None,
    seed: int = 0,
) -> EncodecModel:
    """An untrained ``EncodecModel`` with fitted codebooks and a decoder that listens to its codes.

    Args:
        config: the architecture; ``small_encodec_config()`` by default.
        fit_audio: clips ``[C, L]`` at the config's rate to fit the codebooks on; synthetic audio by default.
        seed: makes the weights and the fit reproducible.
    """
    config = config or small_encodec_config()
    torch.manual_seed(seed)
    model: Any = EncodecModel(config).eval()
    if fit_audio is None:
        fit_audio = [synthetic_audio(8.0, config.sampling_rate, config.audio_channels, seed=seed + i) for i in range(3)]
    length = min(clip.shape[-1] for clip in fit_audio)
    batch = torch.from_numpy(np.stack([clip[..., :length] for clip in fit_audio])).float()
    if config.normalize:
        batch = batch / (batch.pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-8)
    condition_encoder(model, batch)
    fit_codebooks(model, batch, seed=seed)
    codes = model.quantizer.encode(model.encoder(batch), bandwidth=None)
    with torch.no_grad():
        make_decoder_listen(model.decoder, lambda: model.decoder(model.quantizer.decode(codes)))
    return model


def demo_config() -> EncodecConfig:
    """The transformers config of the demo codec (the 24 kHz shape with few filters)."""
    return small_encodec_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the EnCodec demo codec in ``~/.cache/audiotok/demo-encodec-24khz``; its directory."""
    return cached_demo_dir("demo-encodec-24khz", build_demo_codec, DEMO_NOTE, cache_dir)
