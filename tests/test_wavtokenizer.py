"""WavTokenizer beyond the contract suite: why clips share a call only at equal frame counts; the 75-frames/s shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import WavTokenizerConfig

from audiotok import load_codec
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.codecs.wavtokenizer import WavTokenizerCodec
from audiotok.errors import AudiotokError


def test_a_naive_padded_batch_changes_codes_the_rule_does_not(wavtokenizer_dir: Path) -> None:
    codec = load_codec(wavtokenizer_dir, device="cpu")
    hop = codec.hop_length
    short, long = synthetic_audio(1.0, 24000, seed=60), synthetic_audio(2.5, 24000, seed=61)
    with torch.no_grad():
        alone = codec.model.encode(torch.from_numpy(short)[None]).audio_codes[0, 0]
        batch = torch.zeros(2, 1, long.shape[-1])
        batch[0, :, : short.shape[-1]], batch[1] = torch.from_numpy(short), torch.from_numpy(long)
        mask = torch.zeros(2, long.shape[-1], dtype=torch.long)
        mask[0, : short.shape[-1]], mask[1] = 1, 1
        naive = codec.model.encode(batch, padding_mask=mask)
    assert int(naive.audio_codes_mask[0].sum()) == len(alone) == short.shape[-1] // hop
    assert not torch.equal(naive.audio_codes[0, 0, : len(alone)], alone)  # the port's mask does not fix the codes
    got = codec.encode_batch([short, long], 1)
    assert torch.equal(got[0].codes[0], alone)


def test_padded_codes_change_the_decoded_audio_the_rule_does_not(wavtokenizer_dir: Path) -> None:
    codec = load_codec(wavtokenizer_dir, device="cpu")
    codes = codec.encode(synthetic_audio(2.0, 24000, seed=62), 1).codes
    short = codes[:, :30]
    with torch.no_grad():
        alone = codec.model.decode(short[None]).audio_values[0]
        padded = torch.stack([torch.nn.functional.pad(short, (0, codes.shape[-1] - 30)), codes])  # code 0 after
        naive = codec.model.decode(padded).audio_values[0, :, : alone.shape[-1]]
    assert (naive - alone).abs().max() > 0.01 * alone.abs().max()  # GroupNorm and attention span the whole row
    got, _ = codec.decode_batch([short, codes])
    assert torch.allclose(got, alone, atol=1e-5)


def test_the_75_frames_per_second_shape() -> None:
    spec = WavTokenizerCodec.describe(WavTokenizerConfig(upsampling_ratios=[8, 5, 4, 2]))
    assert (spec.sampling_rate, spec.frame_rate, spec.codebook_size, spec.codebook_counts) == (24000, 75.0, 4096, (1,))
    forty = WavTokenizerCodec.describe(WavTokenizerConfig())
    assert forty.frame_rate == 40.0 and forty.default_num_codebooks == 1


def test_only_one_codebook(wavtokenizer_dir: Path) -> None:
    codec = load_codec(wavtokenizer_dir, device="cpu")
    wave = synthetic_audio(0.5, 24000, seed=63)
    assert codec.encode(wave, 1).codes.shape == (1, codec.num_frames(wave.shape[-1]))
    with pytest.raises(AudiotokError, match="cannot encode with 2 codebooks"):
        codec.encode(wave, 2)
    assert np.isfinite(codec.decode(codec.encode(wave, 1)).numpy()).all()
