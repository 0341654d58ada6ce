"""Streaming: frame-by-frame encode/decode equal to offline EnCodec encode/decode; chunk streaming at 48 kHz; ids."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from audiotok import AudioTokenizer, TokenizationError, TokenizerConfig
from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import build_demo_codec, small_encodec_config, synthetic_audio
from audiotok.codecs.encodec.streaming import (
    ChunkedStreamingDecoder,
    ChunkedStreamingEncoder,
    StreamingDecoder,
    StreamingEncoder,
    streaming_decoder,
    streaming_encoder,
)
from audiotok.errors import AudioInputError, AudiotokError
from audiotok.ids.codes import AudioCodes
from audiotok.streaming import decode_stream, encode_stream

from conftest import assert_same_codes_up_to_ties, clip_of, stereo_clip_of

HOP = 320
DECODE_TOLERANCE = 1e-4  # max |streamed - offline| / RMS(offline); measured up to ~1.1e-5 (README)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Small per-call work on a shared 2-core CPU: one thread avoids OpenMP barrier stalls (30x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blocks(wave: np.ndarray, size: int) -> list[np.ndarray]:
    return [wave[:, i : i + size] for i in range(0, wave.shape[-1], size)]


def stream_codes(codec: EncodecCodec, wave: np.ndarray, size: int, codebooks: int) -> tuple[torch.Tensor, list[int]]:
    """Streams ``wave`` in blocks of ``size`` samples: all codes [K, T] and the frames each call returned."""
    encoder = streaming_encoder(codec, codebooks)
    parts = [encoder.push(block).codes for block in blocks(wave, size)] + [encoder.flush().codes]
    return torch.cat(parts, dim=-1), [p.shape[-1] for p in parts]


def stream_audio(codec: EncodecCodec, codes: torch.Tensor, frames: int) -> tuple[torch.Tensor, list[int]]:
    decoder = StreamingDecoder(codec)
    parts = [decoder.push(codes[:, i : i + frames]) for i in range(0, codes.shape[-1], frames)] + [decoder.flush()]
    return torch.cat(parts, dim=-1), [p.shape[-1] for p in parts]


def relative_error(audio: torch.Tensor, reference: torch.Tensor) -> float:
    return float((audio - reference).abs().max() / reference.pow(2).mean().sqrt())


def mismatched_frames(a: torch.Tensor, b: torch.Tensor) -> int:
    return int((a != b).any(dim=0).sum())


# -- 24 kHz encoder ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("length", "sizes"),
    [
        (1, [1, 7]),
        (319, [1, 7, 333]),
        (2240, [1, 7, 333, 2240]),  # exactly the 7 frames the first codes wait for
        (2561, [1, 7, 240, 333]),
        (24017, [7, 240, 333, 1920, 24000]),  # 1 s: 10 ms .. 1 s blocks and odd sizes
    ],
)
def test_streamed_codes_equal_offline(codec: EncodecCodec, length: int, sizes: list[int]) -> None:
    wave = clip_of(length, seed=length)
    offline = codec.encode(wave, 8).codes
    for size in sizes:
        streamed, _ = stream_codes(codec, wave, size, 8)
        assert streamed.shape == offline.shape == (8, -(-length // HOP))
        assert_same_codes_up_to_ties(codec.model, wave, streamed, offline)


def test_long_clip_all_codebooks_equal_up_to_proven_ties(codec: EncodecCodec) -> None:
    """6 s at 24 kbps (32 codebooks, where deep-codebook ties are likeliest), 80 ms and 333-sample blocks.

    The rate is the offline codec's own: encoding a 4 s prefix alone vs inside the 6 s clip flips frames
    at the same rate (kernels round differently for different lengths); every flip is a proven near-tie.
    """
    wave = synthetic_audio(6.0, 24000, seed=21)[:, :143_999]
    offline = codec.encode(wave, 32).codes
    for size in (1920, 333):
        streamed, _ = stream_codes(codec, wave, size, 32)
        assert_same_codes_up_to_ties(codec.model, wave, streamed, offline)
        assert mismatched_frames(streamed, offline) <= 0.08 * offline.shape[-1]
    prefix = codec.encode(wave[:, :96_000], 32).codes
    assert_same_codes_up_to_ties(codec.model, wave[:, :96_000], prefix, offline[:, :300])


def test_codes_come_out_once_final(codec: EncodecCodec) -> None:
    """The frame-rate convs reflect frames 1..6 at the start: 7 frames wait, then one frame per 320 samples."""
    wave = clip_of(20 * HOP + 5, seed=3)
    _, per_call = stream_codes(codec, wave, HOP, 2)
    assert per_call == [0] * 6 + [7] + [1] * 13 + [0, 1]  # 21 blocks (the last holds 5 samples), then flush
    encoder = StreamingEncoder(codec, 2)
    assert encoder.push(wave[:, : 7 * HOP - 1]).num_frames == 0
    assert encoder.push(wave[:, 7 * HOP - 1 : 7 * HOP]).num_frames == 7  # its last sample completes frame 6


def test_empty_pushes_and_mono_1d_input(codec: EncodecCodec) -> None:
    wave = clip_of(1000, seed=4)
    encoder = StreamingEncoder(codec, 2)
    assert encoder.push(np.zeros((1, 0), np.float32)).codes.shape == (2, 0)
    encoder.push(wave[0, :500])
    encoder.push(torch.from_numpy(wave[:, 500:]))
    assert encoder.flush().codes.shape == (2, 4)
    assert StreamingEncoder(codec, 2).flush().codes.shape == (2, 0)  # nothing pushed: no frames


def test_naive_segments_differ_from_offline_and_streaming_does_not(codec: EncodecCodec) -> None:
    """The usual first attempt: each 80 ms segment through its own model.encode call (context lost at cuts)."""
    wave = synthetic_audio(3.0, 24000, seed=8)
    offline = codec.encode(wave, 8).codes
    with torch.no_grad():
        naive = torch.cat(
            [
                codec.model.encode(torch.from_numpy(b)[None], bandwidth=6.0).audio_codes[0, 0]
                for b in blocks(wave, 1920)
            ],
            dim=-1,
        )
    streamed, _ = stream_codes(codec, wave, 1920, 8)
    naive_agreement = float((naive == offline).float().mean())
    streamed_agreement = float((streamed == offline).float().mean())
    assert naive_agreement < 0.9 < 0.99 < streamed_agreement  # measured: naive 0.01, streamed 1.0
    reference = codec.decode(offline)
    naive_audio = torch.cat([codec.decode(naive[:, i : i + 6]) for i in range(0, naive.shape[-1], 6)], dim=-1)
    streamed_audio, _ = stream_audio(codec, streamed, 6)
    assert relative_error(naive_audio, reference) > 100 * relative_error(stream_audio(codec, offline, 6)[0], reference)
    assert streamed_audio.shape == reference.shape


# -- 24 kHz decoder ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("frames", [1, 2, 7, 25, 1000])
def test_streamed_audio_matches_offline_decode(codec: EncodecCodec, frames: int) -> None:
    codes = codec.encode(clip_of(71_111, seed=5), 8).codes
    reference = codec.decode(codes)
    audio, per_call = stream_audio(codec, codes, frames)
    assert audio.shape == reference.shape == (1, codes.shape[-1] * HOP)
    assert relative_error(audio, reference) < DECODE_TOLERANCE
    wrong = codes.clone()
    wrong[:, 100] = (wrong[:, 100] + 1) % 1024  # one wrong frame moves the audio far more than the tolerance
    assert relative_error(codec.decode(wrong), reference) > 100 * DECODE_TOLERANCE
    if frames == 1:  # the first audio waits for 7 frames (reflection), then 320 samples per frame
        assert per_call[:8] == [0] * 6 + [7 * HOP, HOP]


def test_decoder_holds_samples_that_a_later_frame_changes(tmp_path_factory: pytest.TempPathFactory) -> None:
    """trim_right_ratio < 1 keeps part of each transposed conv's overlap: held back per call, emitted by flush."""
    config = small_encodec_config(trim_right_ratio=0.5)
    model = build_demo_codec(config, fit_audio=[synthetic_audio(1.0, 24000, seed=i) for i in range(2)])
    codec = EncodecCodec(model, device="cpu")
    wave = clip_of(12_345, seed=6)
    codes = codec.encode(wave, 8).codes
    assert_same_codes_up_to_ties(model, wave, stream_codes(codec, wave, 333, 8)[0], codes)
    reference = codec.decode(codes)
    audio, per_call = stream_audio(codec, codes, 3)
    assert audio.shape == reference.shape
    assert relative_error(audio, reference) < DECODE_TOLERANCE
    assert per_call[-1] > 0  # flush returned the held samples


# -- 48 kHz: chunk streaming ------------------------------------------------------------------------------
def chunk_near_tie(
    codec: EncodecCodec, wave: np.ndarray, codes: AudioCodes, frame: int, codebook: int, pair: tuple
) -> bool:
    """``is_near_tie`` for a chunked codec: the residual of ``frame`` within its own normalised chunk."""
    starts = np.concatenate([[0], np.cumsum(np.asarray(codes.chunk_frames))])
    chunk = int(np.searchsorted(starts, frame, side="right")) - 1
    offset = chunk * codec.chunk_stride
    with torch.no_grad():
        piece = torch.from_numpy(wave[:, offset : offset + codec.chunk_length])[None]
        scale = piece.mean(dim=1).pow(2).mean().sqrt() + 1e-8
        embedding = codec.model.encoder(piece / scale)[0, :, frame - int(starts[chunk])]
        residual = embedding
        for layer in codec.model.quantizer.layers[:codebook]:
            book = layer.codebook.embed
            residual = residual - book[(residual - book).norm(dim=1).argmin()]
        book = codec.model.quantizer.layers[codebook].codebook.embed
        near = [float((residual - book[c]).norm()) for c in pair]
    return abs(near[0] - near[1]) < 1e-4 * float(embedding.norm())


@pytest.mark.parametrize("length", [1, 30_000, 47_520, 47_521, 48_000, 95_041, 200_000])
def test_chunk_streaming_equals_offline_48khz(codec48: EncodecCodec, length: int) -> None:
    wave = stereo_clip_of(length, seed=length % 97)
    offline = codec48.encode(wave, 4)
    reference = codec48.decode(offline)
    for size in (4800, 33_333, 48_000):
        encoder, decoder = ChunkedStreamingEncoder(codec48, 4), ChunkedStreamingDecoder(codec48)
        parts = [encoder.push(block) for block in blocks(wave, size)] + [encoder.flush()]
        assert all(p.num_frames == int(p.chunk_frames.sum()) for p in parts)
        codes = torch.cat([p.codes for p in parts], dim=-1)
        assert torch.equal(torch.cat([p.chunk_frames for p in parts]), offline.chunk_frames)
        assert torch.allclose(torch.cat([p.scales for p in parts]), offline.scales, rtol=1e-6)
        for t in torch.nonzero((codes != offline.codes).any(dim=0)).flatten().tolist():  # batched offline: ties
            k = int(torch.nonzero(codes[:, t] != offline.codes[:, t])[0])
            assert chunk_near_tie(codec48, wave, offline, t, k, (int(codes[k, t]), int(offline.codes[k, t])))
        audio = torch.cat([decoder.push(p) for p in parts] + [decoder.flush()], dim=-1)
        same_codes = codec48.decode(AudioCodes(codes, offline.scales, offline.chunk_frames))
        assert audio.shape == reference.shape
        assert relative_error(audio, same_codes) < DECODE_TOLERANCE


def test_48khz_chunks_come_out_when_their_second_is_in(codec48: EncodecCodec) -> None:
    wave = stereo_clip_of(100_000, seed=2)
    encoder, decoder = ChunkedStreamingEncoder(codec48, 2), ChunkedStreamingDecoder(codec48)
    assert encoder.push(wave[:, :47_999]).num_frames == 0
    first = encoder.push(wave[:, 47_999:48_000])
    assert first.chunk_frames.tolist() == [150] and len(first.scales) == 1
    assert encoder.push(wave[:, 48_000:95_519]).num_frames == 0  # the next chunk ends at 47520 + 48000
    assert encoder.push(wave[:, 95_519:]).chunk_frames.tolist() == [150]
    assert decoder.push(first).shape == (2, 47_520)  # the last 480 samples wait for the next chunk's overlap
    assert isinstance(streaming_encoder(codec48, 2), ChunkedStreamingEncoder)
    assert isinstance(streaming_decoder(codec48), ChunkedStreamingDecoder)


# -- ids --------------------------------------------------------------------------------------------------
def tokenizer_for(codec: EncodecCodec, layout: str, bandwidth: float = 3.0) -> AudioTokenizer:
    return AudioTokenizer(TokenizerConfig.for_codec("test", codec.spec, bandwidth=bandwidth, layout=layout), codec)


@pytest.mark.parametrize("layout", ["interleaved", "delayed", "first_codebook"])
def test_encode_stream_gives_the_layouts_ids(codec: EncodecCodec, layout: str) -> None:
    tokenizer = tokenizer_for(codec, layout)
    wave = clip_of(9_999, seed=9)
    pieces = list(encode_stream(tokenizer, blocks(wave, 333)))
    assert len(pieces) == len(blocks(wave, 333)) + 1
    ids = np.concatenate(pieces)
    (codes,) = tokenizer.ids_to_codes(ids)  # strict parse: markers, pads and ranges all in place
    offline = codec.encode(wave, 4).codes
    used = codes.codes.shape[0]  # first_codebook: 1
    assert_same_codes_up_to_ties(codec.model, wave, codes.codes, offline[:used])
    streamed = offline.numpy().copy()
    streamed[:used] = codes.codes
    assert np.array_equal(ids, tokenizer.codes_to_ids(streamed))  # exactly the layout of the streamed codes
    empty = np.concatenate(list(encode_stream(tokenizer, [])))  # no audio: a span of 0 frames
    assert np.array_equal(empty, tokenizer.codes_to_ids(np.zeros((tokenizer.config.num_codebooks, 0), np.int64)))


@pytest.mark.parametrize("layout", ["interleaved", "delayed", "first_codebook"])
def test_decode_stream_matches_decode(codec: EncodecCodec, layout: str) -> None:
    tokenizer = tokenizer_for(codec, layout)
    ids = tokenizer.codes_to_ids(codec.encode(clip_of(8_000, seed=10), 4))
    reference = torch.from_numpy(tokenizer.decode(ids))
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, len(ids)), size=12, replace=False))
    audio = torch.from_numpy(np.concatenate(list(decode_stream(tokenizer, np.split(ids, cuts))), axis=-1))
    assert audio.shape == reference.shape
    assert relative_error(audio, reference) < DECODE_TOLERANCE


@pytest.mark.parametrize("layout", ["interleaved", "delayed"])
def test_decode_stream_reports_malformed_ids_where_decode_does(codec: EncodecCodec, layout: str) -> None:
    tokenizer = tokenizer_for(codec, layout)
    ids = tokenizer.codes_to_ids(codec.encode(clip_of(3_000, seed=11), 4))
    for position in (1, 2, 17, len(ids) - 3, len(ids) - 2):  # codes, the delayed layout's pads at both ends
        bad = ids.copy()
        bad[position] = tokenizer.vocab.offset + 5 * tokenizer.vocab.codebook_size - 1  # a codebook-4 code
        with pytest.raises(TokenizationError) as offline:
            tokenizer.decode(bad)
        with pytest.raises(TokenizationError) as streamed:
            list(decode_stream(tokenizer, np.array_split(bad, 5)))
        assert streamed.value.position == offline.value.position


def test_encode_stream_48khz_puts_scale_tokens_before_chunks(codec48: EncodecCodec) -> None:
    for layout in ("interleaved", "delayed"):
        tokenizer = tokenizer_for(codec48, layout, bandwidth=3.0)
        wave = stereo_clip_of(100_000, seed=12)
        ids = np.concatenate(list(encode_stream(tokenizer, blocks(wave, 20_000))))
        (codes,) = tokenizer.ids_to_codes(ids)
        assert np.array_equal(ids, tokenizer.codes_to_ids(codes))
        assert codes.chunk_frames.tolist() == codec48.chunk_frames(100_000)


# -- errors -----------------------------------------------------------------------------------------------
def test_errors_are_clear(codec: EncodecCodec, codec48: EncodecCodec) -> None:
    encoder = StreamingEncoder(codec, 8)
    with pytest.raises(AudioInputError, match=r"\[1, samples\].*got shape \(2, 100\)"):
        encoder.push(np.zeros((2, 100), np.float32))
    with pytest.raises(AudioInputError, match="NaN"):
        encoder.push(np.full((1, 10), np.nan, np.float32))
    encoder.push(clip_of(500))
    encoder.flush()
    with pytest.raises(AudiotokError, match="flushed.*reset"):
        encoder.push(clip_of(10))
    encoder.reset()
    assert encoder.push(clip_of(640)).num_frames == 0  # a new stream
    with pytest.raises(AudioInputError, match=r"\[2, samples\]"):
        ChunkedStreamingEncoder(codec48, 4).push(np.zeros(100, np.float32))
    with pytest.raises(ValueError, match="ChunkedStreamingEncoder"):
        StreamingEncoder(codec48, 4)
    with pytest.raises(AudiotokError, match=r"5 codebooks; select one of \[2, 4, 8, 16, 32\]"):
        StreamingEncoder(codec, 5)
    decoder = StreamingDecoder(codec)
    decoder.push(torch.zeros(8, 3, dtype=torch.int64))
    with pytest.raises(AudiotokError, match="8 codebooks"):
        decoder.push(torch.zeros(4, 3, dtype=torch.int64))
    decoder.flush()
    with pytest.raises(AudiotokError, match="flushed"):
        decoder.flush()
    flattened = tokenizer_for(codec, "flattened")
    for call in (lambda: encode_stream(flattened, []), lambda: decode_stream(flattened, [])):
        with pytest.raises(ValueError, match=r"'flattened' layout cannot stream.*interleaved.*delayed.*first_codebook"):
            call()  # raised at the call, before any block is read
