"""The full-size EnCodec 24 kHz architecture (random weights, fitted codebooks): catches shape assumptions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import EncodecConfig

from audiotok import AudioTokenizer, TokenizerConfig
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import build_demo_codec, synthetic_audio
from audiotok.codecs.registry import load_codec


@pytest.fixture(scope="module")
def full_codec(tmp_path_factory: pytest.TempPathFactory) -> EncodecCodec:
    fit = [synthetic_audio(1.0, 24000, seed=i) for i in range(2)]
    directory = tmp_path_factory.mktemp("encodec_full")
    build_demo_codec(EncodecConfig(), fit_audio=fit, seed=3).save_pretrained(directory)
    return load_codec(directory, device="cpu")


@pytest.mark.slow
def test_full_size_architecture_round_trip(full_codec: EncodecCodec) -> None:
    assert (full_codec.hop_length, full_codec.frame_rate, full_codec.codebook_size) == (320, 75, 1024)
    assert [full_codec.bandwidth_for(k) for k in full_codec.codebook_counts] == [1.5, 3.0, 6.0, 12.0, 24.0]
    assert full_codec.codebook_counts == (2, 4, 8, 16, 32)  # EnCodec paper / model card
    config = TokenizerConfig.for_codec("full", full_codec.spec, bandwidth=24.0, layout="delayed")
    tokenizer = AudioTokenizer(config, full_codec)
    waves = [synthetic_audio(s, 24000, seed=7)[:, : int(s * 24000) - 77] for s in (0.5, 1.3)]
    ids = tokenizer.encode_batch(waves, 24000)
    for wave, clip_ids in zip(waves, ids):
        frames = -(-wave.shape[-1] // 320)
        assert len(clip_ids) == 2 + 32 * (frames + 31)
        codes = tokenizer.ids_to_codes(clip_ids)[0].codes
        assert codes.shape == (32, frames)
        assert np.array_equal(codes, full_codec.encode(wave, 32).codes.numpy())
        assert min(len(np.unique(row)) for row in codes) > 5
        audio = tokenizer.decode(clip_ids)
        assert audio.shape == (1, frames * 320) and np.isfinite(audio).all()
    assert torch.equal(full_codec.encode(waves[0], 2).codes, full_codec.encode(waves[0], 32).codes[:2])


@pytest.mark.slow
def test_full_size_48khz_architecture(tmp_path_factory: pytest.TempPathFactory) -> None:
    from audiotok.codecs.encodec.demo import encodec_48khz_config

    fit = [synthetic_audio(1.0, 48000, channels=2, seed=i) for i in range(2)]
    directory = tmp_path_factory.mktemp("encodec48_full")
    build_demo_codec(encodec_48khz_config(), fit_audio=fit, seed=4).save_pretrained(directory)
    tokenizer = AudioTokenizer.from_pretrained(directory, device="cpu")
    assert (tokenizer.config.num_codebooks, tokenizer.config.frames_per_chunk) == (4, 150)
    wave = synthetic_audio(1.2, 48000, channels=2, seed=8)
    ids = tokenizer.encode(wave, 48000)
    (codes,) = tokenizer.ids_to_codes(ids)
    # 57600 samples: a chunk at 0 (150 frames) and one at 47520 (10080 samples: 32 frames)
    assert codes.codes.shape == (4, 150 + 32) and codes.chunk_frames.tolist() == [150, 32]
    assert min(len(np.unique(row)) for row in codes.codes) > 5
    audio = tokenizer.decode(ids)
    assert audio.shape == (2, 47520 + 32 * 320) and np.isfinite(audio).all()
