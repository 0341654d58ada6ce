"""X-codec beyond the contract suite: codebook counts as bandwidths; why only equal frame counts share a call."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import XcodecConfig

from audiotok import AudioTokenizer, load_codec
from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.codecs.xcodec import XcodecCodec
from audiotok.errors import AudiotokError


def test_the_published_bandwidths_name_1_2_3_4_and_8_codebooks() -> None:
    spec = XcodecCodec.describe(XcodecConfig())
    assert spec.codebook_counts == (1, 2, 3, 4, 8)
    assert spec.bandwidths == (0.5, 1.0, 1.5, 2.0, 4.0)
    assert (spec.sampling_rate, spec.frame_rate, spec.codebook_size) == (16000, 50.0, 1024)
    assert spec.default_num_codebooks == 8  # transformers' default bandwidth: the highest


def test_each_count_is_what_transformers_gives_for_its_bandwidth(xcodec_dir: Path) -> None:
    codec = load_codec(xcodec_dir, device="cpu")
    wave = torch.from_numpy(synthetic_audio(0.64, 16000, seed=80))[None]  # whole frames
    for count in codec.codebook_counts:
        with torch.no_grad():
            codes = codec.model.encode(wave, bandwidth=codec.bandwidth_for(count)).audio_codes[0]
        assert codes.shape[0] == count
        assert torch.equal(codec.encode(wave[0].numpy(), count).codes, codes)
    with pytest.raises(AudiotokError, match="cannot encode with 5 codebooks"):
        codec.encode(wave[0].numpy(), 5)


def test_a_bandwidth_selects_its_codebook_count(xcodec_dir: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(xcodec_dir, device="cpu", bandwidth=1.5)
    assert tokenizer.config.num_codebooks == 3
    assert tokenizer.codec.encode(synthetic_audio(0.3, 16000, seed=81), 3).codes.shape == (3, 15)


def test_a_naive_padded_batch_changes_codes_the_rule_does_not(xcodec_dir: Path) -> None:
    codec = load_codec(xcodec_dir, device="cpu")
    short, long = synthetic_audio(1.0, 16000, seed=82), synthetic_audio(2.0, 16000, seed=83)
    with torch.no_grad():
        alone = codec.model.encode(torch.from_numpy(short)[None]).audio_codes[0]
        batch = torch.zeros(2, 1, long.shape[-1])
        batch[0, :, : short.shape[-1]], batch[1] = torch.from_numpy(short), torch.from_numpy(long)
        naive = codec.model.encode(batch).audio_codes[0, :, : alone.shape[-1]]
    changed = int((naive != alone).any(dim=0).sum())
    assert changed > alone.shape[-1] // 2  # the semantic model's GroupNorm and attention see the padding everywhere
    got = codec.encode_batch([short, long], 8)
    assert torch.equal(got[0].codes, alone)
