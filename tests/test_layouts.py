"""Layouts: exact round trips, lengths and id ranges against independent formulas, hand-written sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from audiotok.errors import TokenizationError
from audiotok.ids.layouts import LAYOUTS, Layout, get_layout
from audiotok.ids.vocab import AudioVocab

NAMES = ["interleaved", "flattened", "delayed", "first_codebook"]


def expected_length(name: str, k: int, t: int) -> int:
    """The README's layout length formulas, written out again."""
    return {"interleaved": k * t, "flattened": k * t, "delayed": k * (t + k - 1), "first_codebook": t}[name]


def expected_codebook(name: str, k: int, t: int) -> np.ndarray:
    """Codebook each position must hold (-1 for a pad), from the layout's definition, not its table."""
    p = np.arange(expected_length(name, k, t))
    if name == "interleaved":
        return p % k
    if name == "flattened":
        return p // max(t, 1)
    if name == "first_codebook":
        return np.zeros_like(p)
    step, slot = p // k, p % k  # delayed
    frame = step - slot
    return np.where((frame >= 0) & (frame < t), slot, -1)


def random_codes(rng: np.random.Generator, shape: tuple[int, ...], size: int) -> np.ndarray:
    return rng.integers(0, size, size=shape, dtype=np.int64)


def check_ranges(name: str, ids: np.ndarray, vocab: AudioVocab, k: int, t: int) -> None:
    """Every id lies in its own codebook's range (vocab.codebook_range), pads exactly at pad positions."""
    cb = expected_codebook(name, k, t)
    flat = ids.reshape(int(np.prod(ids.shape[:-1])), ids.shape[-1])
    for kk in np.unique(cb):
        cols = flat[:, cb == kk]
        if kk == -1:
            assert (cols == vocab.pad_id).all()
        else:
            r = vocab.codebook_range(int(kk))
            assert ((cols >= r.start) & (cols < r.stop)).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 4, 32])
@pytest.mark.parametrize("t", [0, 1, 16, 100])
def test_grid_round_trip(name: str, k: int, t: int) -> None:
    layout = get_layout(name)
    vocab = AudioVocab(num_codebooks=k, codebook_size=1024, offset=32000)
    codes = random_codes(np.random.default_rng(k * 1000 + t), (2, k, t), 1024)
    ids = layout.to_ids(codes, vocab)
    length = expected_length(name, k, t)
    assert ids.shape == (2, length) and ids.dtype == np.int64
    assert layout.num_ids(k, t) == length
    assert layout.num_frames(k, length) == t
    check_ranges(name, ids, vocab, k, t)
    used = 1 if name == "first_codebook" else k
    assert layout.codebooks_used(k) == used
    np.testing.assert_array_equal(layout.from_ids(ids, vocab), codes[:, :used])
    codebook, frame = layout.index_table(k, t)
    assert codebook.shape == frame.shape == (length,)
    np.testing.assert_array_equal(codebook, expected_codebook(name, k, t))
    np.testing.assert_array_equal(codebook == -1, frame == -1)


@settings(max_examples=120, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    k=st.integers(1, 32),
    t=st.integers(0, 60),
    size=st.integers(2, 1024),
    offset=st.integers(0, 200_000),
    batch=st.lists(st.integers(1, 3), max_size=2),
    use_torch=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_property(
    name: str, k: int, t: int, size: int, offset: int, batch: list[int], use_torch: bool, seed: int
) -> None:
    layout = get_layout(name)
    vocab = AudioVocab(num_codebooks=k, codebook_size=size, offset=offset, num_scale_tokens=3)
    codes_np = random_codes(np.random.default_rng(seed), (*batch, k, t), size)
    codes = torch.from_numpy(codes_np).to(torch.int32) if use_torch else codes_np
    ids = layout.to_ids(codes, vocab)
    assert isinstance(ids, torch.Tensor) == use_torch
    ids_np = ids.numpy() if isinstance(ids, torch.Tensor) else ids
    assert ids_np.shape == (*batch, expected_length(name, k, t)) and ids_np.dtype == np.int64
    check_ranges(name, ids_np, vocab, k, t)
    back = layout.from_ids(ids, vocab)
    assert isinstance(back, torch.Tensor) == use_torch
    back_np = back.numpy() if isinstance(back, torch.Tensor) else back
    assert back_np.dtype == np.int64
    np.testing.assert_array_equal(back_np, codes_np[..., : layout.codebooks_used(k), :])


# Hand-written sequences: vocab of codebook_size 10 and offset 0, so id = 10 * k + code,
# <|audio_start|> = 10 K, <|audio_end|> = 10 K + 1, <|audio_pad|> = 10 K + 2.
CODES_2x3 = [[1, 2, 3], [4, 5, 6]]  # pad id 22
CODES_3x3 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]  # pad id 32
HAND_WRITTEN = [
    ("interleaved", CODES_2x3, [1, 14, 2, 15, 3, 16]),
    ("flattened", CODES_2x3, [1, 2, 3, 14, 15, 16]),
    ("delayed", CODES_2x3, [1, 22, 2, 14, 3, 15, 22, 16]),
    ("first_codebook", CODES_2x3, [1, 2, 3]),
    ("interleaved", CODES_3x3, [1, 14, 27, 2, 15, 28, 3, 16, 29]),
    ("flattened", CODES_3x3, [1, 2, 3, 14, 15, 16, 27, 28, 29]),
    ("delayed", CODES_3x3, [1, 32, 32, 2, 14, 32, 3, 15, 27, 32, 16, 28, 32, 32, 29]),
    ("first_codebook", CODES_3x3, [1, 2, 3]),
]


@pytest.mark.parametrize(("name", "codes", "ids"), HAND_WRITTEN)
@pytest.mark.parametrize("use_torch", [False, True])
def test_hand_written(name: str, codes: list[list[int]], ids: list[int], use_torch: bool) -> None:
    layout = get_layout(name)
    vocab = AudioVocab(num_codebooks=len(codes), codebook_size=10)
    array = torch.tensor(codes) if use_torch else np.array(codes)
    assert layout.to_ids(array, vocab).tolist() == ids
    id_array = torch.tensor(ids) if use_torch else np.array(ids)
    used = 1 if name == "first_codebook" else len(codes)
    assert layout.from_ids(id_array, vocab).tolist() == codes[:used]


def test_hand_written_tables() -> None:
    codebook, frame = get_layout("delayed").index_table(2, 3)
    assert codebook.tolist() == [0, -1, 0, 1, 0, 1, -1, 1]
    assert frame.tolist() == [0, -1, 1, 0, 2, 1, -1, 2]
    codebook, frame = get_layout("interleaved").index_table(3, 2)
    assert codebook.tolist() == [0, 1, 2, 0, 1, 2]
    assert frame.tolist() == [0, 0, 0, 1, 1, 1]
    codebook, frame = get_layout("flattened").index_table(2, 3)
    assert codebook.tolist() == [0, 0, 0, 1, 1, 1]
    assert frame.tolist() == [0, 1, 2, 0, 1, 2]
    # delayed with T = 0 still has the K * (K - 1) pads of the formula
    codebook, _ = get_layout("delayed").index_table(3, 0)
    assert codebook.tolist() == [-1] * 6


def test_tables_are_cached_and_read_only() -> None:
    layout = get_layout("delayed")
    first = layout.index_table(4, 7)
    assert layout.index_table(4, 7)[0] is first[0]
    for array in first:
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 5


def test_registry() -> None:
    assert list(LAYOUTS) == NAMES
    assert all(isinstance(layout, Layout) and layout.name == name for name, layout in LAYOUTS.items())
    with pytest.raises(ValueError, match="interleaved.*flattened.*delayed.*first_codebook"):
        get_layout("zigzag")


@pytest.mark.parametrize("name", NAMES)
def test_batched_torch_keeps_shape_and_device(name: str) -> None:
    layout = get_layout(name)
    vocab = AudioVocab(num_codebooks=4, codebook_size=16, offset=100)
    codes = torch.randint(0, 16, (2, 3, 4, 5))
    ids = layout.to_ids(codes, vocab)
    assert ids.shape == (2, 3, expected_length(name, 4, 5)) and ids.device == codes.device
    assert ids.dtype == torch.int64
    assert torch.equal(layout.from_ids(ids, vocab), codes[..., : layout.codebooks_used(4), :])
    # the batched result is the per-item result
    assert torch.equal(ids[1, 2], layout.to_ids(codes[1, 2], vocab))


def test_to_ids_rejects_bad_codes() -> None:
    layout = get_layout("interleaved")
    vocab = AudioVocab(num_codebooks=2, codebook_size=8)
    with pytest.raises(ValueError, match="3 codebooks, the vocabulary has 2"):
        layout.to_ids(np.zeros((3, 4), dtype=np.int64), vocab)
    with pytest.raises(ValueError, match=r"\[0, 8\).*\[0, 8\]"):
        layout.to_ids(np.array([[0, 8], [1, 2]]), vocab)
    with pytest.raises(ValueError, match=r"got values in \[-1, 2\]"):
        layout.to_ids(torch.tensor([[0, -1], [1, 2]]), vocab)
    with pytest.raises(ValueError, match="integers"):
        layout.to_ids(np.zeros((2, 4), dtype=np.float32), vocab)
    with pytest.raises(ValueError, match=r"\[\.\.\., K, T\]"):
        layout.to_ids(np.zeros(4, dtype=np.int64), vocab)
    with pytest.raises(ValueError, match="3 codebooks"):
        get_layout("first_codebook").to_ids(np.zeros((3, 4), dtype=np.int64), vocab)


@pytest.mark.parametrize(
    ("name", "length", "possible"),
    [
        ("interleaved", 7, "multiple of 3"),
        ("flattened", 5, "multiple of 3"),
        ("delayed", 3, "at least 6"),
        ("delayed", 7, "multiple of 3"),
    ],
)
def test_impossible_lengths(name: str, length: int, possible: str) -> None:
    layout = get_layout(name)
    vocab = AudioVocab(num_codebooks=3, codebook_size=10)
    with pytest.raises(TokenizationError, match=possible) as info:
        layout.num_frames(3, length)
    assert info.value.position is None
    with pytest.raises(TokenizationError, match=possible):
        layout.from_ids(np.zeros(length, dtype=np.int64), vocab)


def test_possible_lengths() -> None:
    assert [get_layout("delayed").num_frames(3, n) for n in (6, 9, 12)] == [0, 1, 2]
    assert [get_layout("delayed").num_frames(1, n) for n in (0, 1, 5)] == [0, 1, 5]
    assert [get_layout("first_codebook").num_frames(4, n) for n in (0, 1, 17)] == [0, 1, 17]
    assert [get_layout("interleaved").num_frames(4, n) for n in (0, 4, 8)] == [0, 1, 2]


def test_from_ids_names_first_bad_position() -> None:
    vocab = AudioVocab(num_codebooks=3, codebook_size=10, offset=100)  # pad id 132
    interleaved = get_layout("interleaved")
    ids = [101, 114, 127, 102, 125, 128]  # position 4 holds a codebook-2 code where codebook 1 belongs
    with pytest.raises(TokenizationError) as info:
        interleaved.from_ids(np.array(ids), vocab)
    assert info.value.position == 4
    message = str(info.value)
    assert message.startswith("position 4:")
    assert "codebook-1 code (ids 110..119)" in message and "id 125 (codebook 2, code 5)" in message
    # several bad ids: the first one (along the last axis, over the whole batch) wins
    batch = np.array([ids, [101, 114, 127, 999, 115, 128]])
    with pytest.raises(TokenizationError, match="batch item \\(1,\\).*999") as info:
        interleaved.from_ids(batch, vocab)
    assert info.value.position == 3
    with pytest.raises(TokenizationError) as info:
        interleaved.from_ids(torch.tensor(batch), vocab)
    assert info.value.position == 3


def test_delayed_pads_are_checked_both_ways() -> None:
    vocab = AudioVocab(num_codebooks=2, codebook_size=10)  # pad id 22
    delayed = get_layout("delayed")
    good = [1, 22, 2, 14, 3, 15, 22, 16]
    with pytest.raises(TokenizationError, match="expected <\\|audio_pad\\|> \\(id 22.*found id 11") as info:
        delayed.from_ids(np.array(good[:1] + [11] + good[2:]), vocab)
    assert info.value.position == 1
    with pytest.raises(TokenizationError, match="expected a codebook-0 code.*<\\|audio_pad\\|>") as info:
        delayed.from_ids(np.array([22] + good[1:]), vocab)
    assert info.value.position == 0
    # code 0 is a code, never a pad
    assert delayed.from_ids(np.array([0, 22, 0, 10, 0, 10, 22, 10]), vocab).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_specials_and_scale_tokens_are_not_codes() -> None:
    vocab = AudioVocab(num_codebooks=2, codebook_size=10, num_scale_tokens=4)
    layout = get_layout("interleaved")
    for special in (vocab.start_id, vocab.end_id, vocab.pad_id, vocab.scale_base + 3, -1, 2**62):
        with pytest.raises(TokenizationError) as info:
            layout.from_ids(np.array([1, 14, 2, special]), vocab)
        assert info.value.position == 3


def test_uint64_ids_past_int64_stay_invalid() -> None:
    vocab = AudioVocab(num_codebooks=1, codebook_size=10)
    with pytest.raises(TokenizationError, match="outside the audio range") as info:
        get_layout("interleaved").from_ids(np.array([1, 2**64 - 1], dtype=np.uint64), vocab)
    assert info.value.position == 1
