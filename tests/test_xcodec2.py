"""X-codec2 / NeuCodec specifics: the mel features the semantic encoder reads, and which clips share a batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiotok import load_codec
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.codecs.xcodec2 import features


@pytest.mark.parametrize("family", ["xcodec2", "neucodec"])
@pytest.mark.parametrize("samples", [37, 319, 320, 16007])
def test_features_equal_transformers_extractor(family: str, samples: int, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("torchaudio", reason="transformers' extractor computes its filter banks with torchaudio")
    codec = load_codec(request.getfixturevalue(f"{family}_dir"), device="cpu")
    clip = codec.prepare(torch.from_numpy(synthetic_audio(samples / 16000 + 0.01, 16000, seed=samples)[:, :samples]))
    ours = features.stacked_features(
        [codec.mel_input(torch.nn.functional.pad(clip[0], (0, codec.padded_samples(clip.shape[-1]) - clip.shape[-1])))],
        codec.sampling_rate,
    )
    theirs = codec.feature_extractor()(clip[0].numpy(), sampling_rate=16000, return_tensors="pt")["input_features"]
    assert ours.shape == theirs.shape and ours.shape[1] == codec.num_frames(samples)
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_filter_banks_peak_at_a_sine_frequency() -> None:
    """A known answer: a 1 kHz sine's energy peaks in the Kaldi mel bin centred nearest 1 kHz."""
    rate = 16000
    wave = torch.sin(2 * torch.pi * 1000 * torch.arange(rate) / rate) * 0.5
    bank = features.kaldi_fbank(wave, rate)
    assert bank.shape == (1 + (rate - 400) // 160, 80)
    mel = lambda f: 1127 * np.log1p(f / 700)  # noqa: E731
    low, high = mel(20.0), mel(8000.0)
    centers = low + (np.arange(80) + 1) * (high - low) / 81
    assert int(bank.mean(0).argmax()) == int(np.abs(centers - mel(1000.0)).argmin())
    assert features.kaldi_fbank(wave[:399], rate).shape == (0, 80)  # shorter than one window: no frame


@pytest.mark.parametrize("family", ["xcodec2", "neucodec"])
def test_only_equal_frame_counts_share_an_encoder_call(family: str, request: pytest.FixtureRequest) -> None:
    directory: Path = request.getfixturevalue(f"{family}_dir")
    codec = load_codec(directory, device="cpu")
    hop = codec.hop_length
    lengths = [10 * hop + 3, 10 * hop + 200, 13 * hop + 1, 10 * hop + 50]  # frame counts 10 or 11, 13
    waves = [synthetic_audio(n / 16000 + 0.01, 16000, seed=i)[:, :n] for i, n in enumerate(lengths)]
    calls: list[int] = []
    original = codec.model.encode
    codec.model.encode = lambda **inputs: calls.append(inputs["input_values"].shape[0]) or original(**inputs)
    try:
        batched = codec.encode_batch(waves, 1)
    finally:
        codec.model.encode = original
    counts = [codec.num_frames(n) for n in lengths]
    assert sorted(calls) == sorted(counts.count(c) for c in set(counts))
    for wave, item in zip(waves, batched):
        assert torch.equal(item.codes, codec.encode(wave, 1).codes)
