"""The semantic encoder's input: 80-bin Kaldi log-mel filter banks of each clip at 16 kHz, mean/variance
normalised per clip, two frames stacked per code frame (what ``Xcodec2FeatureExtractor`` computes).

transformers' feature extractors compute the filter banks with ``torchaudio.compliance.kaldi.fbank``. Where
torchaudio is installed, ``input_features`` calls transformers' own extractor; elsewhere it uses
``kaldi_fbank`` below, the same computation for the settings those extractors use (the tests compare the
two where torchaudio is present).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from typing import Any

import torch

NUM_MEL_BINS = 80
FRAME_LENGTH = 400  # samples at 16 kHz (25 ms)
FRAME_SHIFT = 160  # samples at 16 kHz (10 ms)
STRIDE = 2  # filter-bank frames stacked per code frame
LOW_FREQ = 20.0


def has_torchaudio() -> bool:
    return importlib.util.find_spec("torchaudio") is not None


def _mel(freq: torch.Tensor | float) -> Any:
    return 1127.0 * (torch.log1p(freq / 700.0) if isinstance(freq, torch.Tensor) else math.log1p(freq / 700.0))


def _mel_banks(sampling_rate: int, padded: int) -> torch.Tensor:
    """Kaldi's triangular mel filters ``[bins, padded // 2 + 1]`` (the last, Nyquist, column zero)."""
    low, high = _mel(LOW_FREQ), _mel(sampling_rate / 2)
    delta = (high - low) / (NUM_MEL_BINS + 1)
    index = torch.arange(NUM_MEL_BINS).unsqueeze(1)
    left, center, right = low + index * delta, low + (index + 1.0) * delta, low + (index + 2.0) * delta
    mel = _mel(sampling_rate / padded * torch.arange(padded / 2)).unsqueeze(0)
    up, down = (mel - left) / (center - left), (right - mel) / (right - center)
    banks = torch.max(torch.zeros(1), torch.min(up, down))
    return torch.nn.functional.pad(banks, (0, 1))


def kaldi_fbank(wave: torch.Tensor, sampling_rate: int) -> torch.Tensor:
    """Log mel filter banks ``[frames, 80]`` of a 1-D float32 wave in [-1, 1] (Kaldi's settings as in
    ``Xcodec2FeatureExtractor``: povey window, pre-emphasis 0.97, DC removed, no dither, snipped edges)."""
    x = wave * 2**15
    if x.shape[-1] < FRAME_LENGTH:
        return torch.zeros(0, NUM_MEL_BINS)
    frames = x.unfold(0, FRAME_LENGTH, FRAME_SHIFT)
    frames = frames - frames.mean(dim=1, keepdim=True)
    previous = torch.nn.functional.pad(frames.unsqueeze(0), (1, 0), mode="replicate").squeeze(0)[:, :-1]
    frames = frames - 0.97 * previous
    frames = frames * torch.hann_window(FRAME_LENGTH, periodic=False, dtype=x.dtype).pow(0.85)
    padded = 1 << (FRAME_LENGTH - 1).bit_length()
    frames = torch.nn.functional.pad(frames, (0, padded - FRAME_LENGTH))
    power = torch.fft.rfft(frames).abs().pow(2.0)
    energies = torch.mm(power, _mel_banks(sampling_rate, padded).to(x.dtype).T)
    return torch.max(energies, torch.tensor(torch.finfo(x.dtype).eps, dtype=x.dtype)).log()


def stacked_features(padded_waves: Sequence[torch.Tensor], sampling_rate: int) -> torch.Tensor:
    """Equal-length mel inputs ``[B, frames // 2, 160]`` of the waves (``[L]`` each, already padded as the
    family's extractor pads them before its filter banks)."""
    rows = []
    for wave in padded_waves:
        bank = kaldi_fbank(wave.float(), sampling_rate)
        bank = (bank - bank.mean(0)) / torch.sqrt(bank.var(0, unbiased=True) + 1e-7)
        usable = bank.shape[0] - bank.shape[0] % STRIDE
        rows.append(bank[:usable].reshape(usable // STRIDE, NUM_MEL_BINS * STRIDE))
    return torch.stack(rows)


def fbank_moments(wave: torch.Tensor, sampling_rate: int, chunk: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased variance over time of ``kaldi_fbank(wave)`` (``[80]`` each), from ``chunk`` filter-bank
    frames at a time: a long clip's per-clip normalisation without its whole filter bank in memory."""
    total = (wave.shape[-1] - FRAME_LENGTH) // FRAME_SHIFT + 1 if wave.shape[-1] >= FRAME_LENGTH else 0
    sums = torch.zeros(NUM_MEL_BINS, dtype=torch.float64)
    squares = torch.zeros(NUM_MEL_BINS, dtype=torch.float64)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        bank = kaldi_fbank(wave[start * FRAME_SHIFT : (stop - 1) * FRAME_SHIFT + FRAME_LENGTH].float(), sampling_rate)
        sums += bank.double().sum(0)
        squares += bank.double().pow(2).sum(0)
    mean = sums / max(total, 1)
    variance = (squares - total * mean.pow(2)) / max(total - 1, 1)
    return mean.float(), variance.float()


def window_features(wave: torch.Tensor, sampling_rate: int, moments: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Stacked mel inputs ``[frames // 2, 160]`` of a window of a long clip's mel input, normalised with the whole
    clip's ``moments`` (``fbank_moments``), so they equal the whole clip's features at the window's frames."""
    mean, variance = moments
    bank = (kaldi_fbank(wave.float(), sampling_rate) - mean) / torch.sqrt(variance + 1e-7)
    usable = bank.shape[0] - bank.shape[0] % STRIDE
    return bank[:usable].reshape(usable // STRIDE, NUM_MEL_BINS * STRIDE)
