"""An UNTRAINED WavTokenizer of the published 40-frames/s shape whose codebook and decoder are fitted to mean something.

A randomly initialised ``WavTokenizerModel`` has an all-zero codebook (every code is 0) and an encoder
whose output is nearly constant (its spread across frames is ~0.2 % of its mean), so a fitted
codebook would still be full of float near-ties. This module

1. shifts and rescales the encoder's last convolution so its output is centred with unit spread per
   channel on speech-like audio;
2. fills the 4096-entry codebook with mean + N(0, cov) draws of those outputs, so codes are diverse;
3. rescales the decoder head's linear layer to unit output spread, so log-magnitudes and phases follow
   the codes (a wrong code moves the audio).

It is the test fixture of the WavTokenizer family and what ``--model demo-wavtokenizer`` runs offline.
Its audio is NOT a faithful reconstruction. Use ``swiss-ai/wavtokenizer-large-unify-40token`` for real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import WavTokenizerConfig, WavTokenizerModel

from ..demo_tools import cached_demo_dir, demo_note, synthetic_audio

DEMO_NOTE = demo_note("WavTokenizer")
PUBLISHED = {"swiss-ai/wavtokenizer-large-unify-40token": WavTokenizerConfig()}
"""Hub id -> architecture of the published checkpoint (transformers' defaults are its shape: 24 kHz, hop 600,
one 4096-entry codebook). The 75-frames/s WavTokenizers (hop 320, ``upsampling_ratios=[8, 5, 4, 2]``) have
no transformers-format checkpoint on the hub that we know of; converted, they load the same way."""


def small_wavtokenizer_config(**overrides: Any) -> WavTokenizerConfig:
    """WavTokenizer's 24 kHz rate, hop 600 (40 frames/s) and 4096-entry codebook, with few channels and layers."""
    settings: dict[str, Any] = {
        "num_filters": 4,
        "hidden_size": 32,
        "codebook_dim": 32,
        "decoder_hidden_size": 32,
        "decoder_intermediate_size": 64,
        "decoder_num_layers": 1,
        "decoder_attention_num_groups": 4,
    }
    settings.update(overrides)
    return WavTokenizerConfig(**settings)


@torch.no_grad()
def build_demo_codec(config: WavTokenizerConfig | None = None, seed: int = 0) -> WavTokenizerModel:
    """A random-weight ``WavTokenizerModel`` (the small shape by default) with a fitted codebook and listening head."""
    config = config or small_wavtokenizer_config()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model: Any = WavTokenizerModel(config).eval()
    encoder = model.encoder_model.encoder
    audio = torch.from_numpy(np.stack([synthetic_audio(4.0, config.sampling_rate, seed=seed + i) for i in range(2)]))
    latents = encoder(audio)
    mean, spread = latents.mean(dim=(0, 2)), latents.std(dim=(0, 2)).clamp(min=1e-12)
    last = encoder.layers[-1].conv
    gain = last.parametrizations.weight.original0  # weight norm's per-output-channel gain
    gain.mul_((1.0 / spread)[:, None, None])
    last.bias.copy_((last.bias - mean) / spread)
    flat = encoder(audio).transpose(1, 2).reshape(-1, config.hidden_size)
    values, vectors = torch.linalg.eigh(torch.cov(flat.T).double())
    root = ((vectors * values.clamp(min=0).sqrt()) @ vectors.T).float()
    codebook = model.encoder_model.quantizer.codebook
    draws = torch.randn(config.codebook_size, config.hidden_size, generator=generator)
    codebook.embed.copy_(flat.mean(dim=0) + draws @ root)
    codebook.embed_avg.copy_(codebook.embed)
    codes = model.encode(audio).audio_codes
    quantized = model.encoder_model.quantizer.decode(codes[:, 0])
    hidden = model.backbone(quantized, torch.tensor([0]))
    head = model.head.linear
    head.weight.mul_(1.0 / float(head(hidden).std()))
    head.bias.zero_()
    return model


def demo_config() -> WavTokenizerConfig:
    """The transformers config of the demo codec (WavTokenizer's rate, hop and codebook, few channels)."""
    return small_wavtokenizer_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the WavTokenizer demo codec in ``~/.cache/audiotok/demo-wavtokenizer``."""
    return cached_demo_dir("demo-wavtokenizer", build_demo_codec, DEMO_NOTE, cache_dir)
