"""What every family's untrained demo codec is built with: test audio, a decoder that listens, a cached directory.

A randomly initialised codec is a poor fixture: its codebooks may emit one code for everything and its
decoder's output is mostly bias (docs/design.md). Each family's ``demo.py`` fits its codebooks on
the model's own encoder output; the pieces here are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch


def demo_note(family: str) -> str:
    """The label every output made with a family's demo codec carries."""
    return f"untrained demo codec: its ids are real {family} codes, its audio is not a faithful reconstruction"


def synthetic_audio(seconds: float, sampling_rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Deterministic speech-like test signal ``[channels, samples]``: gliding harmonics, vibrato, noise bursts."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sampling_rate)
    t = np.arange(n) / sampling_rate
    out = np.zeros((channels, n), dtype=np.float64)
    for c in range(channels):
        f0 = 110 + 90 * np.sin(2 * np.pi * (0.3 + 0.1 * c) * t) + 20 * np.sin(2 * np.pi * 5.5 * t)
        phase = 2 * np.pi * np.cumsum(f0) / sampling_rate
        voiced = sum(np.sin(h * phase) / h for h in range(1, 12))
        syllables = 0.5 * (1 + np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, 6)))
        noise = rng.standard_normal(n) * (np.sin(2 * np.pi * 0.7 * t) > 0.6)
        out[c] = 0.25 * voiced * syllables + 0.05 * noise
    return out.astype(np.float32)


@torch.no_grad()
def make_decoder_listen(decoder: torch.nn.Module, decode: Callable[[], Any]) -> None:
    """Zeroes a decoder's biases and rescales each convolution so its output has unit spread on real codes.

    A random decoder's output is mostly bias, so wrong codes hardly move it; after this, they do.

    Args:
        decoder: the codec's decoder (any stack of ``Conv1d``/``ConvTranspose1d`` with other layers between).
        decode: runs the decoder once on real codes (e.g. ``lambda: model.decode(codes)``).
    """
    kinds = (torch.nn.Conv1d, torch.nn.ConvTranspose1d)
    convs: list[Any] = [m for m in decoder.modules() if isinstance(m, kinds)]
    for conv in convs:
        if conv.bias is not None:
            conv.bias.zero_()
    factors: dict[int, float] = {}

    def normalise(module: Any, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
        # A bias-free convolution is linear: scaling its output now equals scaling its weight later.
        spread = float(output.std())
        factors[id(module)] = 1.0 / spread if spread > 0 else 1.0
        return output * factors[id(module)]

    handles = [conv.register_forward_hook(normalise) for conv in convs]
    try:
        decode()  # one pass, in forward order
    finally:
        for handle in handles:
            handle.remove()
    for conv in convs:
        scale_weight(conv, factors[id(conv)])


def scale_weight(conv: Any, factor: float) -> None:
    """Multiplies a (possibly weight-normed) convolution's weight by ``factor``."""
    parametrizations = getattr(conv, "parametrizations", None)
    if parametrizations is not None and "weight" in parametrizations:
        parametrizations.weight.original0.mul_(factor)  # weight norm: the gain g
    else:
        conv.weight.mul_(factor)


def cached_demo_dir(name: str, build: Callable[[], Any], note: str, cache_dir: str | Path | None = None) -> Path:
    """Builds a demo model once with ``build()``, saves it labelled with ``note`` under ``~/.cache/audiotok/name``."""
    root = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "audiotok"
    directory = root / name
    if not (directory / "config.json").exists():
        model = build()
        model.config.update({"audiotok_note": note})
        tmp = directory.with_name(f"{directory.name}.tmp{np.random.default_rng().integers(1 << 30)}")
        model.save_pretrained(tmp)
        if directory.exists():  # another process finished first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.replace(directory)
    return directory
