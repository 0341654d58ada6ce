"""An UNTRAINED DAC of the published shapes whose codes mean something, and whose batch padding is visible.

A randomly initialised ``DacModel`` has zero biases, and ``snake(0) == 0``: zero input is a fixed point,
so batch zero-padding would be invisible (it is not in a trained checkpoint) and its decoder hardly
listens. This module

1. rescales every encoder convolution, in forward order, to unit output spread on speech-like audio,
   then gives it a random bias, so zeros are no fixed point;
2. for each RVQ level makes ``in_proj`` a random orthonormal map and ``out_proj`` its transpose (the
   residual shrinks level by level, as in trained RVQ), and fills the codebook with that level's own
   projected residuals plus noise, so every level emits many distinct codes;
3. rescales every decoder convolution to unit output spread on real codes, then adds random biases.

It is the test fixture of the DAC family and what ``--model demo-dac`` runs offline. Its audio is NOT
a faithful reconstruction. Use ``descript/dac_16khz`` / ``_24khz`` / ``_44khz`` for real work.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import DacConfig, DacModel

from ..demo_tools import cached_demo_dir, demo_note, synthetic_audio

DEMO_NOTE = demo_note("DAC")


def _published(rate: int, ratios: list[int], codebooks: int) -> DacConfig:
    shape: dict[str, Any] = {
        "codebook_size": 1024,
        "codebook_dim": 8,
        "encoder_hidden_size": 64,
        "decoder_hidden_size": 1536,
    }
    return DacConfig(sampling_rate=rate, downsampling_ratios=ratios, n_codebooks=codebooks, **shape)


PUBLISHED = {
    "descript/dac_16khz": _published(16000, [2, 4, 5, 8], 12),
    "descript/dac_24khz": _published(24000, [2, 4, 5, 8], 32),
    "descript/dac_44khz": _published(44100, [2, 4, 8, 8], 9),
}
"""Hub id -> architecture of the published checkpoints (from their config.json as we know them)."""


def small_dac_config(published: str = "descript/dac_16khz", **overrides: Any) -> DacConfig:
    """A published DAC's rate, strides and codebooks with 4 encoder / 32 decoder channels."""
    values = {**PUBLISHED[published].to_dict(), "encoder_hidden_size": 4, "decoder_hidden_size": 32, **overrides}
    return DacConfig(**{k: v for k, v in values.items() if k in DacConfig().to_dict()})


_CONVS = (torch.nn.Conv1d, torch.nn.ConvTranspose1d)


@torch.no_grad()
def _normalise(
    network: torch.nn.Module, run: Callable[[], Any], bias_std: float, last_gain: float, generator: torch.Generator
) -> None:
    """Scales each convolution (forward order) to unit output spread on one ``run()``, then adds random biases."""
    convs = [m for m in network.modules() if isinstance(m, _CONVS)]
    for conv in convs:
        if conv.bias is not None:
            conv.bias.zero_()

    def hook(module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        spread = float(output.std())
        factor = (last_gain if module is convs[-1] else 1.0) / spread if spread > 0 else 1.0
        module.weight.mul_(factor)
        return output * factor

    handles = [conv.register_forward_hook(hook) for conv in convs]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    for conv in convs:
        if conv.bias is not None:
            gain = last_gain if conv is convs[-1] else 1.0
            conv.bias.copy_(bias_std * gain * torch.randn(conv.bias.shape, generator=generator))


@torch.no_grad()
def fit_quantizer(model: Any, audio: torch.Tensor, generator: torch.Generator) -> None:
    """Orthonormal ``in_proj``/``out_proj`` pairs and codebooks drawn from each level's own projected residuals."""
    config = model.config
    residual = model.encoder(audio)
    hidden, dim = config.hidden_size, config.codebook_dim
    for quantizer in model.quantizer.quantizers:
        basis, _ = torch.linalg.qr(torch.randn(hidden, dim, generator=generator))
        quantizer.in_proj.weight.copy_(basis.T[:, :, None])
        quantizer.in_proj.bias.zero_()
        quantizer.out_proj.weight.copy_(basis[:, :, None])
        quantizer.out_proj.bias.zero_()
        latents = quantizer.in_proj(residual).transpose(1, 2).reshape(-1, dim)
        covariance = torch.cov(latents.T) + 1e-6 * torch.eye(dim)
        picks = torch.randint(latents.shape[0], (config.codebook_size,), generator=generator)
        noise = torch.randn(config.codebook_size, dim, generator=generator)
        quantizer.codebook.weight.copy_(latents[picks] + 0.5 * noise @ torch.linalg.cholesky(covariance).T)
        quantized, *_ = quantizer(residual)
        residual = residual - quantized


def build_demo_codec(config: DacConfig | None = None, seed: int = 0, bias_std: float = 0.1) -> DacModel:
    """A random-weight ``DacModel`` (small 16 kHz shape by default) with fitted RVQ and a listening decoder."""
    config = config or small_dac_config()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model: Any = DacModel(config).eval()
    rate, hop = config.sampling_rate, config.hop_length
    length = int(4.0 * rate) // hop * hop
    audio = torch.from_numpy(np.stack([synthetic_audio(4.0, rate, seed=seed + i)[:, :length] for i in range(2)]))
    _normalise(model.encoder, lambda: model.encoder(audio), bias_std, 1.0, generator)
    fit_quantizer(model, audio, generator)
    with torch.no_grad():
        quantized = model.quantizer.from_codes(model.encode(audio).audio_codes)[0]
    _normalise(model.decoder, lambda: model.decoder(quantized), bias_std, 0.3, generator)
    return model


def demo_config() -> DacConfig:
    """The transformers config of the demo codec (descript/dac_16khz's rate and strides, few channels)."""
    return small_dac_config()


def demo_dir(cache_dir: str | Path | None = None) -> Path:
    """Builds (once) and caches the DAC demo codec in ``~/.cache/audiotok/demo-dac``; its directory."""
    return cached_demo_dir("demo-dac", build_demo_codec, DEMO_NOTE, cache_dir)
