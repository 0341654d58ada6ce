"""EncodecCodec: loading, exact batched encoding, trimmed decoding, first-codebook decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import EncodecModel

from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.loading import CodecLoadError
from audiotok.codecs.registry import load_codec
from audiotok.errors import AudioInputError, AudiotokError

from conftest import clip_of, is_near_tie, zero_padded

HOP = 320
LENGTHS = [1, 319, 320, 321, 640, 1000, 2000, 2240, 5003, 12000, 24000, 24017, 33333, 48000]


def reference_codes(model: EncodecModel, wave: np.ndarray, bandwidth: float) -> torch.Tensor:
    """transformers' own encode of one clip: codes [K, T]."""
    with torch.no_grad():
        return model.encode(torch.from_numpy(wave)[None], bandwidth=bandwidth).audio_codes[0, 0]


def test_fixture_codebooks_emit_many_distinct_codes(codec: EncodecCodec, clip: np.ndarray) -> None:
    codes = codec.encode(clip, 32).codes
    assert codes.shape == (32, 225)
    distinct = [len(torch.unique(row)) for row in codes]
    assert min(distinct) >= 40, distinct  # 225 frames; a zero codebook would give 1


def test_real_speech_gives_diverse_codes(codec: EncodecCodec, speech_wav) -> None:
    import soundfile as sf

    from audiotok.audio import load_audio

    wave = load_audio(speech_wav, None, 24000, 1)
    codes = codec.encode(wave, 8).codes
    assert codes.shape[0] == 8
    assert min(len(torch.unique(row)) for row in codes) >= 30
    assert sf.info(str(speech_wav)).duration > 1.0


def test_loaded_directory_matches_in_memory_reference(codec: EncodecCodec, codec_dir, clip: np.ndarray) -> None:
    reference = EncodecModel.from_pretrained(codec_dir).eval()
    assert torch.equal(codec.encode(clip, 8).codes, reference_codes(reference, clip, 6.0))


@pytest.mark.parametrize("length", LENGTHS)
def test_single_clip_equals_transformers_on_the_zero_padded_clip(codec: EncodecCodec, length: int) -> None:
    wave = clip_of(length, seed=length)
    ours = codec.encode(wave, 8).codes
    assert ours.shape == (8, -(-length // HOP))
    assert torch.equal(ours, reference_codes(codec.model, zero_padded(wave), 6.0))
    raw = reference_codes(codec.model, wave, 6.0)  # the bare model pads the last frame by reflection
    assert raw.shape == ours.shape
    assert torch.equal(ours[:, :-1], raw[:, :-1])
    if length % HOP == 0:
        assert torch.equal(ours, raw)


def test_batch_equals_one_clip_at_a_time(codec: EncodecCodec) -> None:
    waves = [clip_of(length, seed=i) for i, length in enumerate(LENGTHS * 3)]
    batched = [item.codes for item in codec.encode_batch(waves, 8, max_batch_seconds=5.0)]
    frames = mismatched = 0
    for wave, codes in zip(waves, batched):
        alone = codec.encode(wave, 8).codes
        assert codes.shape == alone.shape
        frames += codes.shape[1]
        for t in torch.nonzero((codes != alone).any(dim=0)).flatten().tolist():
            mismatched += 1
            k = int(torch.nonzero(codes[:, t] != alone[:, t])[0])
            assert is_near_tie(codec.model, wave, t, k, (int(codes[k, t]), int(alone[k, t])))
    assert frames > 1000
    assert mismatched <= frames // 100  # each one proven a near-tie above; measured rate in the README


def test_batch_order_and_grouping_do_not_change_codes(codec: EncodecCodec) -> None:
    waves = [clip_of(length, seed=i) for i, length in enumerate([24017, 321, 12000, 1])]
    one_batch = codec.encode_batch(waves, 4, max_batch_seconds=100.0)
    tiny_batches = codec.encode_batch(waves[::-1], 4, max_batch_seconds=0.001)[::-1]
    for a, b in zip(one_batch, tiny_batches):
        assert torch.equal(a.codes, b.codes)


def test_decode_matches_transformers_and_is_trimmed(codec: EncodecCodec, clip: np.ndarray) -> None:
    codes = codec.encode(clip, 8).codes
    with torch.no_grad():
        reference = codec.model.decode(codes[None, None], [None]).audio_values[0]
    audio = codec.decode(codes)
    assert audio.shape == (1, codes.shape[1] * HOP)
    assert torch.allclose(audio, reference, atol=1e-5)
    assert codec.decode(codes, length=12345).shape == (1, 12345)


def test_wrong_codes_move_the_audio_far_more_than_batching(codec: EncodecCodec, clip: np.ndarray) -> None:
    codes = codec.encode(clip, 8).codes
    wrong = codes.clone()
    wrong[:, ::7] = (wrong[:, ::7] + 1) % 1024
    audio, wrong_audio = codec.decode(codes), codec.decode(wrong)
    shift = float((audio - wrong_audio).pow(2).mean().sqrt() / audio.pow(2).mean().sqrt())
    assert shift > 0.05  # the fixture's decoder listens to its codes
    for short in (codes[:, :100], codes[:, :3]):  # 3 frames: shorter than the decoder's reflect padding
        batched = codec.decode_batch([codes, short])
        assert torch.allclose(batched[0], audio, atol=1e-4)
        assert torch.allclose(batched[1], codec.decode(short), atol=1e-4)


def test_first_codebook_decodes_from_the_first_quantizer_alone(codec: EncodecCodec, clip: np.ndarray) -> None:
    codes = codec.encode(clip, 8).codes
    with torch.no_grad():
        embeddings = codec.model.quantizer.layers[0].decode(codes[:1])
        reference = codec.model.decoder(embeddings)[0]
    coarse = codec.decode(codes[:1])
    assert torch.allclose(coarse, reference[:, : coarse.shape[-1]], atol=1e-5)
    assert not torch.allclose(coarse, codec.decode(codes), atol=1e-2)


def test_unsupported_codebook_count_lists_the_choices(codec: EncodecCodec, clip: np.ndarray) -> None:
    with pytest.raises(AudiotokError, match=r"5 codebooks; select one of \[2, 4, 8, 16, 32\]"):
        codec.encode(clip, 5)


@pytest.mark.parametrize(
    "wave, message",
    [
        (np.zeros((1, 0), np.float32), "empty"),
        (np.full((1, 100), np.nan, np.float32), "NaN"),
        (np.zeros((2, 100), np.float32), r"\[1, samples\]"),
        (np.zeros(100, np.float32), r"\[1, samples\]"),
    ],
)
def test_bad_waves_get_clear_errors(codec: EncodecCodec, wave: np.ndarray, message: str) -> None:
    with pytest.raises(AudioInputError, match=message):
        codec.encode(wave, 8)


def test_bad_codes_get_clear_errors(codec: EncodecCodec) -> None:
    with pytest.raises(AudiotokError, match=r"values must lie in \[0, 1024\)"):
        codec.decode(torch.full((8, 4), 1024))
    with pytest.raises(AudiotokError, match="expected shape"):
        codec.decode(torch.zeros(33, 4, dtype=torch.int64))


def test_hub_id_offline_says_what_to_do() -> None:
    with pytest.raises(CodecLoadError, match="hf download facebook/encodec_24khz") as error:
        load_codec("facebook/encodec_24khz", device="cpu")
    assert "demo" in str(error.value)


def test_missing_directory_is_a_load_error(tmp_path) -> None:
    with pytest.raises(CodecLoadError, match="directory without config.json"):
        load_codec(tmp_path, device="cpu")
