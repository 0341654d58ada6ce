"""EnCodec 48 kHz (stereo, chunked, per-chunk scales): exact chunk-level batching, overlap-add decode, scale tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import EncodecModel

from audiotok import AudioTokenizer, TokenizationError
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.registry import load_codec
from audiotok.ids.codes import AudioCodes
from audiotok.ids.scales import ScaleQuantizer

from conftest import stereo_clip_of

# lengths around the chunk geometry: 1 s chunks (48000) every 47520 samples, 320-sample frames
LENGTHS = [1, 100, 320, 30000, 47520, 47521, 47999, 48000, 48001, 95040, 95041, 100000, 142561]


def transformers_encode(model: EncodecModel, wave: np.ndarray, bandwidth: float) -> tuple[torch.Tensor, torch.Tensor]:
    """EncodecModel.encode of one clip, unpadded: codes [K, T] (chunks concatenated) and scales [chunks]."""
    with torch.no_grad():
        out = model.encode(torch.from_numpy(wave)[None], bandwidth=bandwidth)
    codes = torch.cat(list(out.audio_codes[:, 0]), dim=-1)
    if out.last_frame_pad_length:
        codes = codes[:, : -out.last_frame_pad_length]
    return codes, torch.stack([s[0, 0] for s in out.audio_scales])


def test_geometry_is_read_from_the_model(codec48: EncodecCodec) -> None:
    assert (codec48.sampling_rate, codec48.channels, codec48.hop_length) == (48000, 2, 320)
    assert (codec48.chunk_length, codec48.chunk_stride, codec48.frames_per_chunk) == (48000, 47520, 150)
    assert codec48.codebook_counts == (2, 4, 8, 16)
    assert [codec48.bandwidth_for(k) for k in codec48.codebook_counts] == [3.0, 6.0, 12.0, 24.0]
    assert codec48.chunk_frames(47521) == [149, 1]  # the last two chunks can both be short
    assert codec48.chunk_frames(95040) == [150, 149]


UNSTACKABLE = {95041: [150, 149, 1], 142561: [150, 150, 149, 1]}  # transformers' encode cannot stack these chunks


@pytest.mark.parametrize("length", [n for n in LENGTHS if n not in UNSTACKABLE])
def test_single_clip_equals_transformers(codec48: EncodecCodec, length: int) -> None:
    wave = stereo_clip_of(length, seed=length)
    ours = codec48.encode(wave, 4)
    codes, scales = transformers_encode(codec48.model, wave, 6.0)
    assert torch.equal(ours.codes, codes)
    assert torch.allclose(ours.scales, scales, rtol=1e-6)
    assert ours.chunk_frames.tolist() == codec48.chunk_frames(length)
    assert ours.num_frames == codec48.num_frames(length)


@pytest.mark.parametrize("length", sorted(UNSTACKABLE))
def test_lengths_transformers_cannot_stack_still_encode(codec48: EncodecCodec, length: int) -> None:
    wave = stereo_clip_of(length, seed=1)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        transformers_encode(codec48.model, wave, 6.0)
    assert codec48.encode(wave, 4).chunk_frames.tolist() == UNSTACKABLE[length]


def test_mixed_length_batch_equals_each_clip_alone(codec48: EncodecCodec) -> None:
    waves = [stereo_clip_of(n, seed=i) for i, n in enumerate(LENGTHS)]
    batched = codec48.encode_batch(waves, 2, max_batch_seconds=4.0)
    for wave, item in zip(waves, batched):
        alone = codec48.encode(wave, 2)
        assert torch.equal(item.codes, alone.codes)
        assert torch.allclose(item.scales, alone.scales, rtol=1e-5)  # float rounding differs by batch size
        assert torch.equal(item.chunk_frames, alone.chunk_frames)


def test_transformers_padded_batch_gets_the_short_clips_scale_wrong(codec48: EncodecCodec) -> None:
    """docs/design.md, fact 3, reproduced: why audiotok batches chunks, not padded clips."""
    short, long = stereo_clip_of(30000, seed=1), stereo_clip_of(60000, seed=2)
    padded = np.zeros((2, 2, 60000), np.float32)
    padded[0, :, :30000], padded[1] = short, long
    mask = np.zeros_like(padded, dtype=bool)
    mask[0, :, :30000], mask[1] = True, True
    with torch.no_grad():
        out = codec48.model.encode(torch.from_numpy(padded), torch.from_numpy(mask), bandwidth=6.0)
    ours = codec48.encode_batch([short, long], 4)
    assert not torch.allclose(out.audio_scales[0][0, 0], ours[0].scales[0], rtol=1e-3)


def test_decode_equals_transformers_overlap_add(codec48: EncodecCodec) -> None:
    for length in (30000, 48001, 100000):
        wave = stereo_clip_of(length, seed=length)
        with torch.no_grad():
            out = codec48.model.encode(torch.from_numpy(wave)[None], bandwidth=6.0)
            reference = codec48.model.decode(
                out.audio_codes, out.audio_scales, last_frame_pad_length=out.last_frame_pad_length
            ).audio_values[0]
        ours = codec48.decode(codec48.encode(wave, 4))
        assert ours.shape == reference.shape
        assert torch.allclose(ours, reference, atol=1e-5)
        assert codec48.decode(codec48.encode(wave, 4), length=length).shape == (2, length)


def test_silence_encodes_and_decodes_finite(codec48_dir: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(codec48_dir, device="cpu")
    silence = np.zeros((2, 72000), np.float32)
    codes = tokenizer.codec.encode(silence, 4)
    assert torch.all(codes.scales < 1e-7)
    assert torch.isfinite(tokenizer.codec.decode(codes)).all()
    ids = tokenizer.encode(silence, 48000)
    scale_ids = ids[(ids >= tokenizer.vocab.scale_base) & (ids < tokenizer.vocab.end)]
    assert (scale_ids == tokenizer.vocab.scale_base).all()  # the lowest scale token
    audio = tokenizer.decode(ids)
    assert np.isfinite(audio).all() and np.abs(audio).max() < 1e-4


def test_mono_input_is_duplicated_for_the_stereo_model(codec48_dir: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(codec48_dir, device="cpu")
    mono = stereo_clip_of(24000, seed=4)[:1]
    assert np.array_equal(tokenizer.encode(mono, 48000), tokenizer.encode(np.concatenate([mono, mono]), 48000))


@pytest.mark.parametrize("layout", ["interleaved", "flattened", "delayed", "first_codebook"])
def test_every_layout_carries_codes_scales_and_chunks(codec48_dir: Path, layout: str) -> None:
    tokenizer = AudioTokenizer.from_pretrained(codec48_dir, device="cpu", layout=layout, vocab_offset=1000)
    wave = stereo_clip_of(142561, seed=9)
    encoded = tokenizer.codec.encode(wave, 4)
    ids = tokenizer.encode(wave, 48000)
    is_scale = (ids >= tokenizer.vocab.scale_base) & (ids < tokenizer.vocab.end)
    assert is_scale.sum() == 4  # one per chunk
    (decoded,) = tokenizer.ids_to_codes(ids)
    expected = encoded.codes.numpy()[:1] if layout == "first_codebook" else encoded.codes.numpy()
    assert np.array_equal(decoded.codes, expected)
    assert decoded.chunk_frames.tolist() == [150, 150, 149, 1]
    assert np.allclose(20 * np.log10(decoded.scales / encoded.scales.numpy()), 0, atol=0.125 + 1e-6)
    first_after_start = ids[1]
    assert tokenizer.vocab.scale_base <= first_after_start < tokenizer.vocab.end  # the first chunk's scale opens it
    assert tokenizer.decode(ids).shape[0] == 2


def test_misplaced_or_missing_scale_tokens(codec48_dir: Path) -> None:
    tokenizer = AudioTokenizer.from_pretrained(codec48_dir, device="cpu")
    ids = tokenizer.encode(stereo_clip_of(100000, seed=3), 48000)
    scale_at = np.flatnonzero((ids >= tokenizer.vocab.scale_base) & (ids < tokenizer.vocab.end))
    assert scale_at.tolist() == [1, 2 + 150 * 4, 3 + 300 * 4]  # before codebook 0 of frames 0, 150, 300
    missing = np.delete(ids, scale_at[1])
    with pytest.raises(TokenizationError, match="expected a scale token before this id") as error:
        tokenizer.decode(missing)
    assert error.value.position == scale_at[1]  # where the missing token belonged
    moved = ids.copy()
    moved[[scale_at[1], scale_at[1] + 1]] = moved[[scale_at[1] + 1, scale_at[1]]]  # after codebook 0 instead
    with pytest.raises(TokenizationError, match=f"position {scale_at[1] + 1}"):
        tokenizer.decode(moved)
    repaired = tokenizer.decode(missing, errors="lenient")
    assert repaired.shape[0] == 2 and np.isfinite(repaired).all()


def test_quantised_scales_keep_loudness_within_a_tenth_of_a_db(codec48_dir: Path) -> None:
    """Decoding with quantised scales against exact scales, clips from -90 dB to 0 dB RMS."""
    codec = load_codec(codec48_dir, device="cpu")
    quantizer = ScaleQuantizer()
    errors_db, waveform_errors = [], []
    for i, gain_db in enumerate(np.linspace(-90, 0, 10)):
        wave = stereo_clip_of(120000, seed=i, gain=10 ** (gain_db / 20))
        wave = wave / np.sqrt(np.mean(wave**2)) * 10 ** (gain_db / 20)
        exact = codec.encode(wave.astype(np.float32), 4)
        quantised = AudioCodes(
            exact.codes,
            torch.from_numpy(quantizer.to_scale(quantizer.to_index(exact.scales.numpy()))),
            exact.chunk_frames,
        )
        a, b = codec.decode(exact), codec.decode(quantised)
        loudness = [10 * np.log10(float(x.pow(2).mean())) for x in (a, b)]
        errors_db.append(loudness[1] - loudness[0])
        waveform_errors.append(float((a - b).pow(2).mean().sqrt() / a.pow(2).mean().sqrt()))
    rms_error = float(np.sqrt(np.mean(np.square(errors_db))))
    assert rms_error <= 0.1, errors_db
    assert max(waveform_errors) < 0.03  # 0.125 dB is 1.45 % in amplitude
