"""Acoustic BPE: lossless round trips for every layout, merges within frames and spans, errors at BPE positions."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiotok.bpe_training import train_bpe_from_ids
from audiotok.config import CONFIG_NAME, TokenizerConfig
from audiotok.errors import ConfigError, TokenizationError
from audiotok.ids.bpe import BPE_NAME, BpeUnits
from audiotok.ids.codes import AudioCodes
from audiotok.ids.layouts import get_layout

LAYOUTS = ["interleaved", "flattened", "delayed", "first_codebook"]
SIZE = 16  # codes per codebook
OFFSET = 500  # ids below are text


def plain_config(layout: str, k: int, chunked: bool = False) -> TokenizerConfig:
    chunk = {"frames_per_chunk": 5, "chunk_stride": 1600, "num_scale_tokens": 64} if chunked else {}
    return TokenizerConfig(
        codebook_size=SIZE,
        codebook_counts=[1, 2, 3],
        num_codebooks=k,
        bandwidths=[],
        layout=layout,
        vocab_offset=OFFSET,
        base_vocab_size=OFFSET,
        **chunk,
    )


def skewed_codes(rng: np.random.Generator, k: int, t: int) -> np.ndarray:
    """Codes with a few frequent values (merges happen) and the occasional rare one."""
    codes = rng.integers(0, 3, size=(k, t))
    rare = rng.random((k, t)) < 0.1
    return np.where(rare, rng.integers(0, SIZE, size=(k, t)), codes)


def item(config: TokenizerConfig, codes: np.ndarray) -> AudioCodes:
    if not config.is_chunked:
        return AudioCodes(codes)
    chunks = -(-codes.shape[1] // config.frames_per_chunk)
    return AudioCodes(codes, np.geomspace(1e-3, 1.0, max(chunks, 1))[:chunks])


@functools.cache
def bpe_config(layout: str, k: int, chunked: bool = False, max_frames: int = 2) -> TokenizerConfig:
    config = plain_config(layout, k, chunked)
    rng = np.random.default_rng(1)
    clips = [skewed_codes(rng, k, int(rng.integers(1, 60))) for _ in range(40)]
    sequences = (config.id_format.codes_to_ids(item(config, c), add_special_tokens=False) for c in clips)
    units = BpeUnits(k, SIZE, layout, max_frames)
    bpe = train_bpe_from_ids(sequences, config.vocab, units, units.num_units + 40)
    assert bpe.num_tokens > 10
    return config.with_bpe(bpe)


def expected_codes(layout: str, codes: np.ndarray) -> np.ndarray:
    return codes[:1] if layout == "first_codebook" else codes


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(0, 40), uniform=st.booleans())
def test_round_trip_is_lossless(layout: str, k: int, chunked: bool, seed: int, frames: int, uniform: bool) -> None:
    config = bpe_config(layout, k, chunked)
    plain = plain_config(layout, k, chunked)
    rng = np.random.default_rng(seed)
    frames = max(frames, int(chunked))  # a chunked clip has at least one chunk
    codes = rng.integers(0, SIZE, size=(k, frames)) if uniform else skewed_codes(rng, k, frames)
    ids = config.id_format.codes_to_ids(item(config, codes))
    layout_ids = plain.id_format.codes_to_ids(item(config, codes))
    assert len(ids) <= len(layout_ids)
    expanded, origin = config.bpe_model.decode(ids, config.vocab)
    assert np.array_equal(expanded, layout_ids)  # expansion gives the layout's ids back exactly
    assert np.array_equal(np.unique(origin), np.arange(len(ids)))
    (decoded,) = config.id_format.ids_to_codes(ids)
    assert np.array_equal(decoded.codes, expected_codes(layout, codes))
    if chunked:
        (reference,) = plain.id_format.ids_to_codes(layout_ids)
        assert np.array_equal(decoded.scales, reference.scales)
        assert np.array_equal(decoded.chunk_frames, reference.chunk_frames)


def test_bpe_shortens_frequent_codes() -> None:
    config = bpe_config("interleaved", 3)
    codes = np.zeros((3, 30), dtype=np.int64)  # all-zero frames are the most frequent pattern
    ids = config.id_format.codes_to_ids(codes, add_special_tokens=False)
    assert len(ids) <= 30 * 3 // 2


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_merges_stay_inside_max_frames_and_never_take_markers_or_scales(layout: str, chunked: bool) -> None:
    max_frames = 2
    config = bpe_config(layout, 3, chunked, max_frames)
    plain = plain_config(layout, 3, chunked)
    vocab = config.vocab
    rng = np.random.default_rng(5)
    for _ in range(10):
        codes = skewed_codes(rng, 3, int(rng.integers(4, 40)))
        ids = config.id_format.codes_to_ids(item(config, codes))
        layout_ids = plain.id_format.codes_to_ids(item(config, codes))
        merged = config.bpe_model.is_merged(ids, vocab)
        assert merged.any()
        _, origin = config.bpe_model.decode(ids, vocab)
        # frame (delayed: step) of every code position of the layout, from the layout's own table
        span = layout_ids[1:-1]
        is_code = (span >= vocab.offset) & (span < vocab.code_end) | (span == vocab.pad_id)
        table_codebook, table_frame = get_layout(layout).index_table(3, codes.shape[1])
        if layout == "delayed":
            table_frame = np.arange(table_frame.size) // 3
        frame = np.full(span.size, -1)
        frame[is_code] = table_frame
        codebook = np.full(span.size, -1)
        codebook[is_code] = table_codebook
        for position in np.flatnonzero(merged):
            units = np.flatnonzero(origin == position) - 1  # index into the span (after <|audio_start|>)
            assert units.min() >= 0 and units.max() < span.size  # markers are never merged
            assert is_code[units].all()  # scale tokens are never merged
            assert np.ptp(frame[units]) < max_frames
            if layout == "flattened":
                assert len(set(codebook[units].tolist())) == 1  # one codebook's row


def test_strict_errors_point_at_the_bpe_token() -> None:
    config = bpe_config("interleaved", 3)
    vocab, bpe = config.vocab, config.bpe_model
    pair = next(j for j, u in enumerate(bpe.merged_units) if u[0] == 0 and len(u) < 3)  # starts at codebook 0
    token = vocab.end + pair
    a0 = vocab.codebook_range(0)[1]
    ids = [vocab.start_id, a0, token, vocab.end_id]  # codebook 0 then a token that starts at codebook 0 again
    with pytest.raises(TokenizationError, match="merged token") as error:
        config.id_format.ids_to_codes(ids)
    assert error.value.position == 2
    text_then_audio = [7, 8, vocab.start_id, token, 9, vocab.end_id]  # text id inside the span, after a token
    with pytest.raises(TokenizationError) as error:
        config.id_format.ids_to_codes(text_then_audio)
    assert error.value.position == 4


def test_lenient_decoding_of_a_span_cut_mid_token() -> None:
    config = bpe_config("interleaved", 3)
    vocab, bpe = config.vocab, config.bpe_model
    codes = np.zeros((3, 12), dtype=np.int64)
    ids = config.id_format.codes_to_ids(codes)
    last = int(np.flatnonzero(bpe.is_merged(ids, vocab))[-1])
    cut = np.concatenate([ids[:last], [bpe.merged_units[0][0] + vocab.offset]])  # first unit of a token, no end
    with pytest.raises(TokenizationError, match="never closed"):
        config.id_format.ids_to_codes(cut)
    (decoded,) = config.id_format.ids_to_codes(cut, errors="lenient")
    complete = sum(len(bpe.merged_units[i - vocab.end]) if i >= vocab.end else 1 for i in ids[1:last]) // 3
    assert decoded.codes.shape == (3, complete)
    assert (decoded.codes == 0).all()


def test_save_and_load_keep_the_bpe(tmp_path: Path) -> None:
    config = bpe_config("delayed", 3)
    config.save_pretrained(tmp_path)
    assert (tmp_path / BPE_NAME).is_file()
    loaded = TokenizerConfig.from_pretrained(tmp_path)
    codes = skewed_codes(np.random.default_rng(3), 3, 25)
    assert np.array_equal(loaded.id_format.codes_to_ids(codes), config.id_format.codes_to_ids(codes))
    assert loaded.total_vocab_size == config.vocab.end + config.bpe_model.num_tokens
    assert len(loaded.token_strings) == loaded.total_vocab_size - loaded.vocab_offset
    moved = loaded.replace(vocab_offset=2000, base_vocab_size=2000)  # BPE units do not depend on the offset
    (back,) = moved.id_format.ids_to_codes(moved.id_format.codes_to_ids(codes))
    assert np.array_equal(back.codes, codes)


def test_a_mismatched_or_missing_bpe_file_is_a_clear_error(tmp_path: Path) -> None:
    bpe_config("interleaved", 3).save_pretrained(tmp_path)
    other = bpe_config("flattened", 3)
    other.bpe_model.save(tmp_path / BPE_NAME)
    with pytest.raises(ConfigError, match="not the BPE file"):
        TokenizerConfig.from_pretrained(tmp_path)
    (tmp_path / BPE_NAME).unlink()
    with pytest.raises(ConfigError, match="no BPE file"):
        TokenizerConfig.from_pretrained(tmp_path)
    values = json.loads((tmp_path / CONFIG_NAME).read_text())
    with pytest.raises(ConfigError, match="was not loaded"):
        _ = TokenizerConfig.from_dict(values).id_format
    with pytest.raises(ConfigError, match="trained on 3 codebooks .* flattened layout"):
        plain_config("interleaved", 3).with_bpe(other.bpe_model)
    with pytest.raises(ConfigError, match="train a BPE for this config"):
        bpe_config("interleaved", 3).replace(layout="delayed")


def test_vocab_size_must_leave_room_for_merges() -> None:
    config = plain_config("interleaved", 2)
    with pytest.raises(ConfigError, match="choose vocab_size > 32"):
        train_bpe_from_ids([], config.vocab, BpeUnits(2, SIZE, "interleaved"), 32)


def test_inspect_reads_bpe_ids() -> None:
    from audiotok.inspect import inspect_ids

    config = bpe_config("interleaved", 3)
    vocab = config.vocab
    codes = skewed_codes(np.random.default_rng(8), 3, 20)
    ids = config.id_format.codes_to_ids(codes)
    report = inspect_ids(np.concatenate([[1, 2], ids]), config)
    assert not report.problems and report.segments[-1].frames == 20
    token = int(ids[np.flatnonzero(config.bpe_model.is_merged(ids, vocab))[0]])
    broken = np.concatenate([[vocab.start_id, vocab.codebook_range(1)[0], token], ids[1:]])
    (problem,) = inspect_ids(broken, config).problems
    assert problem.position == 1


def test_a_config_with_a_bpe_pickles() -> None:
    import pickle

    config = bpe_config("delayed", 3)
    codes = skewed_codes(np.random.default_rng(2), 3, 15)
    ids = config.id_format.codes_to_ids(codes)  # loads the library model
    copy = pickle.loads(pickle.dumps(config))  # as worker processes receive it
    assert np.array_equal(copy.id_format.codes_to_ids(codes), ids)
