"""AudioTokenizer and the one-liners: inputs, save/load, batch, every layout through the real codec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import audiotok
from audiotok import AudioTokenizer, TokenizationError
from audiotok.codecs.loading import CodecLoadError
from audiotok.codecs.registry import load_codec
from audiotok.config import TokenizerConfig

from conftest import clip_of

LAYOUT_LENGTHS = {  # ids of a 225-frame clip at 8 codebooks, per the README's layout table
    "interleaved": 8 * 225,
    "flattened": 8 * 225,
    "delayed": 8 * (225 + 7),
    "first_codebook": 225,
}


@pytest.fixture(scope="module")
def tokenizer(codec_dir: Path) -> AudioTokenizer:
    return AudioTokenizer.from_pretrained(codec_dir, device="cpu")


def test_bare_codec_directory_gets_the_default_config(tokenizer: AudioTokenizer, codec_dir: Path) -> None:
    config = tokenizer.config
    assert (config.codec, config.bandwidth, config.num_codebooks, config.layout) == (
        str(codec_dir),
        6.0,
        8,
        "interleaved",
    )


@pytest.mark.parametrize("layout", sorted(LAYOUT_LENGTHS))
def test_every_layout_round_trips_the_codecs_codes(codec_dir: Path, clip: np.ndarray, layout: str) -> None:
    tokenizer = AudioTokenizer.from_pretrained(codec_dir, device="cpu", layout=layout, vocab_offset=32000)
    codes = load_codec(codec_dir, device="cpu").encode(clip, 8).codes.numpy()
    ids = tokenizer.encode(clip, 24000)
    assert ids.dtype == np.int64
    assert ids[0] == tokenizer.vocab.start_id and ids[-1] == tokenizer.vocab.end_id
    assert len(ids) == LAYOUT_LENGTHS[layout] + 2
    assert ids.min() >= 32000
    (decoded,) = tokenizer.ids_to_codes(ids)
    decoded_codes = decoded.codes
    expected = codes[:1] if layout == "first_codebook" else codes
    assert np.array_equal(decoded_codes, expected)
    audio = tokenizer.decode(ids)
    assert audio.shape == (1, 225 * 320) and audio.dtype == np.float32


def test_inputs_of_every_kind_give_the_same_ids(tokenizer: AudioTokenizer, clip: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    sf.write(path, clip[0], 24000, subtype="FLOAT")
    reference = tokenizer.encode(clip, 24000)
    assert np.array_equal(tokenizer.encode(path), reference)
    assert np.array_equal(tokenizer.encode(str(path)), reference)
    assert np.array_equal(tokenizer.encode(clip[0], 24000), reference)
    assert np.array_equal(tokenizer.encode(torch.from_numpy(clip), 24000), reference)
    assert np.array_equal(tokenizer.encode(clip[0].tolist(), 24000), reference)
    as_torch = tokenizer.encode(clip, 24000, return_tensors="pt")
    assert isinstance(as_torch, torch.Tensor) and torch.equal(as_torch, torch.from_numpy(reference))


def test_other_rates_are_resampled_and_stereo_is_averaged(tokenizer: AudioTokenizer) -> None:
    mono = clip_of(24000, seed=3)
    at_48k = np.repeat(mono, 2, axis=-1)  # sample-and-hold to 48 kHz: same duration
    assert len(tokenizer.encode(at_48k, 48000)) == len(tokenizer.encode(mono, 24000))
    stereo = np.concatenate([mono, 0.5 * mono])
    assert np.array_equal(tokenizer.encode(stereo, 24000), tokenizer.encode(0.75 * mono, 24000))


def test_missing_rate_warns_and_assumes_the_codecs(tokenizer: AudioTokenizer, clip: np.ndarray) -> None:
    with pytest.warns(UserWarning, match="sampling_rate not given"):
        ids = tokenizer.encode(clip)
    assert np.array_equal(ids, tokenizer.encode(clip, 24000))


def test_encode_batch_equals_encode(tokenizer: AudioTokenizer) -> None:
    clips = [clip_of(n, seed=n) for n in (24017, 321, 9000)]
    batch = tokenizer.encode_batch(clips, 24000)
    for clip, ids in zip(clips, batch):
        assert np.array_equal(ids, tokenizer.encode(clip, 24000))
    with pytest.raises(TypeError, match="use encode"):
        tokenizer.encode_batch(clips[0], 24000)


def test_save_and_reload_give_identical_ids(tokenizer: AudioTokenizer, clip: np.ndarray, tmp_path: Path) -> None:
    changed = AudioTokenizer(
        tokenizer.config.replace(bandwidth=3.0, layout="delayed", vocab_offset=500), tokenizer.codec
    )
    changed.save_pretrained(tmp_path / "tok")
    again = AudioTokenizer.from_pretrained(tmp_path / "tok", device="cpu")
    assert again.config == changed.config
    assert np.array_equal(again.encode(clip, 24000), changed.encode(clip, 24000))
    config_only = AudioTokenizer.from_pretrained(tmp_path / "tok" / "audiotok_config.json", device="cpu")
    assert config_only.config == changed.config


def test_decode_of_a_mixed_text_and_audio_output(tokenizer: AudioTokenizer) -> None:
    shifted = AudioTokenizer(tokenizer.config.replace(base_vocab_size=100, vocab_offset=100), tokenizer.codec)
    first, second = clip_of(6400, seed=1), clip_of(3200, seed=2)
    text = np.array([5, 17, 99], dtype=np.int64)  # ids below the audio range stand for text
    mixed = np.concatenate([text, shifted.encode(first, 24000), text, shifted.encode(second, 24000), text])
    spans = shifted.decode_spans(mixed)
    assert [s.shape for s in spans] == [(1, 6400), (1, 3200)]
    assert np.allclose(spans[0], shifted.decode_codes(shifted.codec.encode(first, 8)), atol=1e-5)
    assert shifted.decode(mixed).shape == (1, 9600)
    batch = shifted.decode_batch([mixed, shifted.encode(second, 24000)])
    assert [w.shape for w in batch] == [(1, 9600), (1, 3200)]


def test_strict_decode_names_the_position_and_lenient_repairs(tokenizer: AudioTokenizer, clip: np.ndarray) -> None:
    ids = tokenizer.encode(clip, 24000)
    broken = ids.copy()
    broken[1 + 8 * 10 + 3] = broken[1 + 8 * 10 + 2]  # codebook 2's id where codebook 3's belongs
    with pytest.raises(TokenizationError, match="position 84") as error:
        tokenizer.decode(broken)
    assert error.value.position == 84
    repaired = tokenizer.decode(broken, errors="lenient")
    assert repaired.shape[-1] >= 224 * 320
    assert np.isfinite(repaired).all()


def test_one_liners_use_the_configured_default(codec_dir: Path, clip: np.ndarray, monkeypatch) -> None:
    monkeypatch.setenv("AUDIOTOK_MODEL", str(codec_dir))
    audiotok.set_default_tokenizer(None)
    try:
        ids = audiotok.encode_to_tokens(clip, sampling_rate=24000)
        assert len(ids) == 8 * 225 + 2
        assert audiotok.decode_tokens(ids).shape == (1, 225 * 320)
        audiotok.set_default_tokenizer(codec_dir, layout="first_codebook")
        assert len(audiotok.encode_to_tokens(clip, sampling_rate=24000)) == 225 + 2
    finally:
        audiotok.set_default_tokenizer(None)


def test_one_liner_without_the_hub_says_what_to_do(clip: np.ndarray, monkeypatch) -> None:
    monkeypatch.delenv("AUDIOTOK_MODEL", raising=False)
    audiotok.set_default_tokenizer(None)
    with pytest.raises(CodecLoadError, match="hf download facebook/encodec_24khz"):
        audiotok.encode_to_tokens(clip, sampling_rate=24000)


def test_config_that_does_not_match_the_codec_is_rejected(tokenizer: AudioTokenizer) -> None:
    wrong = TokenizerConfig(sampling_rate=16000)
    with pytest.raises(audiotok.ConfigError, match="sampling_rate: config 16000 vs codec 24000"):
        AudioTokenizer(wrong, tokenizer.codec)


def test_ids_of_a_different_config_are_caught(tokenizer: AudioTokenizer, clip: np.ndarray) -> None:
    at_24k = AudioTokenizer(tokenizer.config.replace(bandwidth=24.0), tokenizer.codec)
    ids = at_24k.encode(clip, 24000)  # 32 codebooks: ids beyond the 8-codebook range
    with pytest.raises(TokenizationError, match="position"):
        tokenizer.decode(ids)
