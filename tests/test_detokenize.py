"""Detokenizer: spans among text, strict errors naming positions, lenient repairs that never shift frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from audiotok.errors import TokenizationError
from audiotok.ids.codes import IdFormat
from audiotok.ids.detokenize import Segment, span_to_codes, split_segments
from audiotok.ids.layouts import Layout, get_layout
from audiotok.ids.vocab import AudioVocab


def ids_to_codes(ids, vocab, layout, errors="strict"):
    """Every span's code array, through the ids layer's one decoding path (``IdFormat``)."""
    return [item.codes for item in IdFormat(vocab, layout).ids_to_codes(ids, errors)]

NAMES = ["interleaved", "flattened", "delayed", "first_codebook"]
OFFSET = 1000  # ids below are text


def make_vocab(k: int = 4, size: int = 16) -> AudioVocab:
    return AudioVocab(num_codebooks=k, codebook_size=size, offset=OFFSET, num_scale_tokens=2)


def make_codes(k: int, t: int, size: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, size, (k, t), dtype=np.int64)


def code_id(vocab: AudioVocab, codebook: int, code: int) -> int:
    return vocab.codebook_range(codebook)[code]


# ---------------------------------------------------------------------------------------------- spans


def test_text_around_one_span() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 5)
    span = layout.to_ids(codes, vocab).tolist()
    ids = [7, 8, vocab.start_id, *span, vocab.end_id, 9]
    segments = split_segments(ids, vocab)
    assert [s.kind for s in segments] == ["text", "audio", "text"]
    assert [s.start for s in segments] == [0, 3, 4 + len(span)]
    assert segments[0].ids.tolist() == [7, 8] and segments[2].ids.tolist() == [9]
    assert segments[1].ids.tolist() == span and segments[1].ids.dtype == np.int64
    for errors in ("strict", "lenient"):
        (decoded,) = ids_to_codes(ids, vocab, layout, errors=errors)
        np.testing.assert_array_equal(decoded, codes)
    # torch tensors and numpy arrays are accepted as well
    (decoded,) = ids_to_codes(torch.tensor(ids), vocab, layout)
    np.testing.assert_array_equal(decoded, codes)


@pytest.mark.parametrize("name", NAMES)
def test_several_spans(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    all_codes = [make_codes(4, t, seed=t) for t in (3, 0, 7)]
    ids: list[int] = [1, 2]
    for codes in all_codes:
        ids += [vocab.start_id, *layout.to_ids(codes, vocab).tolist(), vocab.end_id, 3]
    used = layout.codebooks_used(4)
    for errors in ("strict", "lenient"):
        decoded = ids_to_codes(np.array(ids), vocab, layout, errors=errors)
        assert len(decoded) == 3
        for got, codes in zip(decoded, all_codes, strict=True):
            np.testing.assert_array_equal(got, codes[:used])
    kinds = [s.kind for s in split_segments(ids, vocab)]
    assert kinds == ["text", "audio", "text", "audio", "text", "audio", "text"]


def test_bare_span_and_empty_input() -> None:
    vocab = make_vocab()
    layout = get_layout("delayed")
    codes = make_codes(4, 6)
    ids = layout.to_ids(codes, vocab)
    assert split_segments(ids, vocab)[0].kind == "audio" and split_segments(ids, vocab)[0].start == 0
    (decoded,) = ids_to_codes(ids, vocab, layout)
    np.testing.assert_array_equal(decoded, codes)
    (empty,) = ids_to_codes([], vocab, layout)
    assert empty.shape == (4, 0)
    (empty,) = ids_to_codes([vocab.start_id, vocab.end_id], vocab, layout)
    assert empty.shape == (4, 0)


def test_missing_audio_end() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 4)
    ids = [5, 6, vocab.start_id, *layout.to_ids(codes, vocab).tolist()]
    with pytest.raises(TokenizationError, match="never closed.*<\\|audio_end\\|>") as info:
        ids_to_codes(ids, vocab, layout)
    assert info.value.position == 2
    (decoded,) = ids_to_codes(ids, vocab, layout, errors="lenient")
    np.testing.assert_array_equal(decoded, codes)


def test_stray_audio_end() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 2)
    span = layout.to_ids(codes, vocab).tolist()
    ids = [5, vocab.end_id, 6, vocab.start_id, *span, vocab.end_id]
    with pytest.raises(TokenizationError, match="no audio span is open") as info:
        ids_to_codes(ids, vocab, layout)
    assert info.value.position == 1
    segments = split_segments(ids, vocab, errors="lenient")
    assert [(s.kind, s.ids.tolist(), s.start) for s in segments[:2]] == [("text", [5], 0), ("text", [6], 2)]
    (decoded,) = ids_to_codes(ids, vocab, layout, errors="lenient")
    np.testing.assert_array_equal(decoded, codes)


def test_start_inside_open_span() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    first, second = make_codes(4, 2, seed=1), make_codes(4, 3, seed=2)
    ids = [vocab.start_id, *layout.to_ids(first, vocab).tolist()]
    ids += [vocab.start_id, *layout.to_ids(second, vocab).tolist(), vocab.end_id]
    with pytest.raises(TokenizationError, match="inside the audio span opened at position 0") as info:
        ids_to_codes(ids, vocab, layout)
    assert info.value.position == 9
    decoded = ids_to_codes(ids, vocab, layout, errors="lenient")
    assert len(decoded) == 2
    np.testing.assert_array_equal(decoded[0], first)
    np.testing.assert_array_equal(decoded[1], second)


def test_segments_tile_the_input() -> None:
    vocab = make_vocab()
    ids = np.array([1, vocab.start_id, 1001, vocab.end_id, vocab.end_id, 2, 3, vocab.start_id, 1002])
    for segment in split_segments(ids, vocab, errors="lenient"):
        assert isinstance(segment, Segment)
        np.testing.assert_array_equal(ids[segment.start : segment.start + segment.ids.size], segment.ids)


def test_bad_arguments() -> None:
    vocab = make_vocab()
    with pytest.raises(ValueError, match="strict.*lenient"):
        split_segments([1], vocab, errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(TokenizationError, match="integers"):
        split_segments(np.array([1.5, 2.0]), vocab)
    with pytest.raises(TokenizationError, match="1-D"):
        split_segments(np.zeros((2, 3), dtype=np.int64), vocab)


# ---------------------------------------------------------------------------------------- inside a span


def test_truncated_last_frame() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 5)
    ids = [9, vocab.start_id, *layout.to_ids(codes, vocab).tolist()[:-2], vocab.end_id]
    with pytest.raises(TokenizationError, match="impossible length.*multiple of 4.*got 18") as info:
        ids_to_codes(ids, vocab, layout)
    assert info.value.position is None
    assert "positions 2..19" in str(info.value)
    (decoded,) = ids_to_codes(ids, vocab, layout, errors="lenient")
    np.testing.assert_array_equal(decoded, codes[:, :4])


@pytest.mark.parametrize("name", ["interleaved", "delayed"])
def test_wrong_codebook_at_a_position(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = make_codes(4, 8)
    span = layout.to_ids(codes, vocab)
    codebook, frame = layout.index_table(4, 8)
    p = int(np.flatnonzero((codebook == 2) & (frame == 5))[0])  # where C[2, 5] sits
    span[p] = code_id(vocab, 0, 3)  # a codebook-0 code where codebook 2 belongs
    ids = [4, 4, vocab.start_id, *span.tolist(), vocab.end_id]
    with pytest.raises(TokenizationError) as info:
        ids_to_codes(ids, vocab, layout)
    assert info.value.position == 3 + p
    message = str(info.value)
    assert message.startswith(f"position {3 + p}: expected a codebook-2 code (ids 1032..1047)")
    assert "found id 1003 (codebook 0, code 3)" in message
    (decoded,) = ids_to_codes(ids, vocab, layout, errors="lenient")
    expected = codes.copy()
    expected[2, 5] = codes[2, 4]  # repaired from the previous frame, every other code untouched
    np.testing.assert_array_equal(decoded, expected)


@pytest.mark.parametrize("spurious", [5, 999_999, -3, "pad", "scale", "code"])
def test_inserted_token_does_not_shift_later_frames(spurious: int | str) -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 6)
    span = layout.to_ids(codes, vocab).tolist()
    named = {"pad": vocab.pad_id, "scale": vocab.scale_base + 1, "code": code_id(vocab, 1, 9)}
    token = named[spurious] if isinstance(spurious, str) else spurious
    inserted = span[:10] + [token] + span[10:]  # inside frame 2, after codebook 1
    with pytest.raises(TokenizationError) as info:
        span_to_codes(inserted, vocab, layout, position=100)
    assert info.value.position == 110
    decoded = span_to_codes(inserted, vocab, layout, errors="lenient")
    assert decoded.shape == codes.shape
    np.testing.assert_array_equal(decoded[:, :2], codes[:, :2])
    np.testing.assert_array_equal(decoded[:, 3:], codes[:, 3:])


def test_deleted_token_does_not_shift_later_frames() -> None:
    vocab = make_vocab()
    layout = get_layout("interleaved")
    codes = make_codes(4, 6)
    span = layout.to_ids(codes, vocab).tolist()
    deleted = span[:9] + span[10:]  # C[1, 2] is missing
    with pytest.raises(TokenizationError, match="expected a codebook-1 code") as info:
        span_to_codes(deleted, vocab, layout, position=100)
    assert info.value.position == 109
    expected = codes.copy()
    expected[1, 2] = codes[1, 1]
    np.testing.assert_array_equal(span_to_codes(deleted, vocab, layout, errors="lenient"), expected)


@pytest.mark.parametrize("name", NAMES)
def test_id_outside_audio_range(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = make_codes(4, 3)
    span = layout.to_ids(codes, vocab).tolist()
    span[1] = 10**7
    with pytest.raises(TokenizationError, match="found id 10000000 \\(outside the audio range") as info:
        span_to_codes(span, vocab, layout, position=40)
    assert info.value.position == 41
    # lenient drops it; an extra one (inserted rather than substituted) leaves the codes exact
    span = layout.to_ids(codes, vocab).tolist()
    decoded = span_to_codes([*span[:1], 10**7, *span[1:]], vocab, layout, errors="lenient")
    np.testing.assert_array_equal(decoded, codes[: layout.codebooks_used(4)])


@pytest.mark.parametrize("name", NAMES)
def test_all_zero_codes_round_trip(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = np.zeros((4, 5), dtype=np.int64)
    span = layout.to_ids(codes, vocab).tolist()
    used = layout.codebooks_used(4)
    np.testing.assert_array_equal(span_to_codes(span, vocab, layout), codes[:used])
    # force the repair path with a text id: code 0 is still a code
    repaired = span_to_codes([*span[:2], 7, *span[2:]], vocab, layout, errors="lenient")
    np.testing.assert_array_equal(repaired, codes[:used])


def test_delayed_edge_pads_are_never_codes() -> None:
    vocab = make_vocab(k=3)
    layout = get_layout("delayed")
    codes = make_codes(3, 4, seed=3) + 1  # no code 0 anywhere: a pad decoded as code 0 would show
    span = layout.to_ids(codes, vocab).tolist()
    assert span.count(vocab.pad_id) == 6
    forced = [*span, 7]  # the trailing text id forces the lenient repair
    repaired = span_to_codes(forced, vocab, layout, errors="lenient")
    np.testing.assert_array_equal(repaired, codes)
    only_pads = [vocab.pad_id] * 6
    assert span_to_codes(only_pads, vocab, layout).shape == (3, 0)
    assert span_to_codes([*only_pads, 7], vocab, layout, errors="lenient").shape == (3, 0)


@pytest.mark.parametrize("name", ["interleaved", "flattened", "first_codebook"])
def test_pad_outside_delayed_is_not_a_code(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = make_codes(4, 3) + 1
    span = layout.to_ids(codes, vocab).tolist()
    with_pad = [*span[:1], vocab.pad_id, *span[1:]]
    with pytest.raises(TokenizationError):
        span_to_codes(with_pad, vocab, layout)
    used = layout.codebooks_used(4)
    np.testing.assert_array_equal(span_to_codes(with_pad, vocab, layout, errors="lenient"), codes[:used])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("special", ["audio_start", "scale", "end_of_range"])
def test_special_inside_span_is_not_decoded(name: str, special: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = make_codes(4, 3) + 1
    token = {"audio_start": vocab.start_id, "scale": vocab.scale_base, "end_of_range": vocab.end}[special]
    span = layout.to_ids(codes, vocab).tolist()
    bad = [*span[:2], token, *span[2:]]
    with pytest.raises(TokenizationError) as info:
        span_to_codes(bad, vocab, layout, position=10)
    assert info.value.position == 12
    used = layout.codebooks_used(4)
    np.testing.assert_array_equal(span_to_codes(bad, vocab, layout, errors="lenient"), codes[:used])


def test_flattened_cuts_rows_to_the_shortest() -> None:
    vocab = make_vocab(k=2)
    layout = get_layout("flattened")
    codes = make_codes(2, 5)
    span = layout.to_ids(codes, vocab).tolist()
    decoded = span_to_codes(span[:-1], vocab, layout, errors="lenient")  # row 1 lost its last code
    np.testing.assert_array_equal(decoded, codes[:, :4])


@pytest.mark.parametrize("name", NAMES)
def test_cut_off_span_keeps_every_complete_frame(name: str) -> None:
    """A span cut at any point decodes (leniently) to a prefix of the frames, never to wrong codes."""
    layout = get_layout(name)
    for k in (1, 2, 3, 5):
        vocab = make_vocab(k)
        codes = make_codes(k, 6, seed=k)
        span = layout.to_ids(codes, vocab).tolist()
        for cut in range(len(span) + 1):
            decoded = span_to_codes(span[:cut], vocab, layout, errors="lenient")
            frames = decoded.shape[1]
            np.testing.assert_array_equal(decoded, codes[: layout.codebooks_used(k), :frames])
            if name == "interleaved":
                assert frames == cut // k
            if name == "delayed":
                assert frames == max(0, min(6, cut // k - (k - 1)))


class ReversedLayout(Layout):
    """A layout outside the registry: frame-major with the codebooks in reverse order."""

    name = "reversed"

    def num_ids(self, num_codebooks: int, num_frames: int) -> int:
        return num_codebooks * num_frames

    def num_frames(self, num_codebooks: int, num_ids: int) -> int:
        if num_ids % num_codebooks:
            raise TokenizationError(f"needs a multiple of {num_codebooks} ids")
        return num_ids // num_codebooks

    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        position = np.arange(num_codebooks * num_frames)
        return num_codebooks - 1 - position % num_codebooks, position // num_codebooks


def test_custom_layout() -> None:
    vocab = make_vocab()
    layout = ReversedLayout()
    codes = make_codes(4, 3)
    span = layout.to_ids(codes, vocab)
    assert span[:4].tolist() == [code_id(vocab, k, int(codes[k, 0])) for k in (3, 2, 1, 0)]
    for errors in ("strict", "lenient"):
        np.testing.assert_array_equal(span_to_codes(span, vocab, layout, errors=errors), codes)
    with pytest.raises(TokenizationError, match="position 1: expected a codebook-2 code"):
        span_to_codes([span[0], 7, *span[2:]], vocab, layout)
    with pytest.raises(ValueError, match="no repair rule for layout 'reversed'"):
        span_to_codes([span[0], 7, *span[2:]], vocab, layout, errors="lenient")


def test_odd_integer_inputs() -> None:
    vocab = make_vocab(k=1)
    layout = get_layout("interleaved")
    (decoded,) = ids_to_codes([1003, 2**80, -(2**70), 1004], vocab, layout, errors="lenient")
    assert decoded.tolist() == [[3, 4]]
    with pytest.raises(TokenizationError, match="position 1: .*9223372036854775807") as info:
        ids_to_codes([1003, 2**80, 1004], vocab, layout)
    assert info.value.position == 1
    big = np.array([1003, 2**64 - 1, 1004], dtype=np.uint64)
    assert ids_to_codes(big, vocab, layout, errors="lenient")[0].tolist() == [[3, 4]]
    assert ids_to_codes(np.array([1003, 1004], dtype=np.int16), vocab, layout)[0].tolist() == [[3, 4]]
    for bad in ([1.0, 2.0], np.array([1.0]), torch.tensor([1.0]), [True, False], ["a"]):
        with pytest.raises(TokenizationError, match="integers"):
            ids_to_codes(bad, vocab, layout, errors="lenient")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_tensors(name: str) -> None:
    vocab = make_vocab()
    layout = get_layout(name)
    codes = torch.randint(0, 16, (2, 4, 9), device="cuda")
    ids = layout.to_ids(codes, vocab)
    assert ids.device == codes.device
    assert torch.equal(layout.from_ids(ids, vocab), codes[:, : layout.codebooks_used(4)])
    (decoded,) = ids_to_codes(ids[1], vocab, layout)
    np.testing.assert_array_equal(decoded, codes[1, : layout.codebooks_used(4)].cpu().numpy())


# ---------------------------------------------------------------------------- properties of the repair


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    k=st.integers(1, 8),
    t=st.integers(0, 20),
    size=st.integers(2, 64),
    where=st.integers(0, 10**6),
    junk=st.sampled_from(["text", "scale", "far", "negative"]),
    seed=st.integers(0, 2**16),
)
def test_repair_of_a_clean_span_is_exact(
    name: str, k: int, t: int, size: int, where: int, junk: str, seed: int
) -> None:
    """A well-formed span plus one non-code id decodes (leniently) to exactly the original codes."""
    vocab = AudioVocab(num_codebooks=k, codebook_size=size, offset=OFFSET, num_scale_tokens=1)
    layout = get_layout(name)
    codes = make_codes(k, t, size, seed)
    span = layout.to_ids(codes, vocab).tolist()
    token = {"text": 3, "scale": vocab.scale_base, "far": 10**12, "negative": -1}[junk]
    where %= len(span) + 1
    dirty = span[:where] + [token] + span[where:]
    decoded = span_to_codes(dirty, vocab, layout, errors="lenient")
    np.testing.assert_array_equal(decoded, codes[: layout.codebooks_used(k)])


@settings(max_examples=1000, deadline=None)
@given(
    name=st.sampled_from(["interleaved", "delayed"]),
    k=st.integers(2, 8),
    t=st.integers(2, 12),
    edit=st.sampled_from(["substitute", "insert", "delete"]),
    where=st.integers(0, 10**6),
    codebook=st.integers(0, 7),
    code=st.integers(0, 15),
    seed=st.integers(0, 2**16),
)
def test_one_bad_token_changes_at_most_one_code(
    name: str, k: int, t: int, edit: str, where: int, codebook: int, code: int, seed: int
) -> None:
    """One substituted, inserted (K >= 3) or deleted token: no frame shifts, at most one code differs."""
    assume(edit != "insert" or k >= 3)
    vocab = make_vocab(k)
    layout = get_layout(name)
    codes = make_codes(k, t, seed=seed)
    span = layout.to_ids(codes, vocab).tolist()
    token = code_id(vocab, codebook % k, code)
    if edit == "substitute":
        where %= len(span)
        assume(vocab.codebook_of(np.array([span[where]]))[0] != codebook % k)
        bad = span[:where] + [token] + span[where + 1 :]
    elif edit == "insert":
        where %= len(span) + 1
        bad = span[:where] + [token] + span[where:]
    else:
        where %= len(span)
        bad = span[:where] + span[where + 1 :]
    decoded = span_to_codes(bad, vocab, layout, errors="lenient")
    if edit == "delete" and where == len(span) - 1:  # the last frame was cut off: dropped
        np.testing.assert_array_equal(decoded, codes[:, :-1])
        return
    assert decoded.shape == codes.shape
    assert int((decoded != codes).sum()) <= 1


# ---------------------------------------------------------------------------------------------- fuzz


def id_lists(vocab: AudioVocab) -> st.SearchStrategy[list[int]]:
    token = st.one_of(
        st.integers(vocab.offset, vocab.code_end - 1),  # codes
        st.sampled_from([vocab.start_id, vocab.end_id, vocab.pad_id, vocab.scale_base]),  # specials
        st.integers(0, vocab.offset - 1),  # text
        st.integers(vocab.end, 10**6),  # past the audio range
        st.integers(-(2**70), -1),  # negative, some past int64
        st.integers(2**62, 2**70),  # huge, some past int64
    )
    return st.lists(token, max_size=80)


FUZZ_VOCAB = AudioVocab(num_codebooks=3, codebook_size=8, offset=100, num_scale_tokens=2)


@settings(max_examples=250, deadline=None)
@given(name=st.sampled_from(NAMES), ids=id_lists(FUZZ_VOCAB), as_array=st.booleans())
def test_fuzz(name: str, ids: list[int], as_array: bool) -> None:
    vocab, layout = FUZZ_VOCAB, get_layout(name)
    data: object = ids
    if as_array and all(-(2**63) <= i < 2**63 for i in ids):
        data = np.array(ids, dtype=np.int64)
    try:
        strict: list[np.ndarray] | None = ids_to_codes(data, vocab, layout)
    except TokenizationError:
        strict = None
    decoded = ids_to_codes(data, vocab, layout, errors="lenient")
    if strict is not None:  # what strict accepts, lenient decodes the same way
        assert len(strict) == len(decoded)
        for a, b in zip(strict, decoded, strict=True):
            np.testing.assert_array_equal(a, b)
    for codes in decoded:
        assert codes.dtype == np.int64 and codes.ndim == 2
        assert codes.shape[0] == layout.codebooks_used(3)
        assert ((codes >= 0) & (codes < 8)).all()


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(NAMES), ids=id_lists(FUZZ_VOCAB))
def test_fuzz_mostly_clean_spans(name: str, ids: list[int]) -> None:
    """Noise spliced into a real span, with markers: strict fails cleanly, lenient always decodes."""
    vocab, layout = FUZZ_VOCAB, get_layout(name)
    span = layout.to_ids(make_codes(3, 6, 8), vocab).tolist()
    data = [vocab.start_id, *span[:7], *ids[:5], *span[7:], vocab.end_id, *ids[5:]]
    try:
        ids_to_codes(data, vocab, layout)
    except TokenizationError as error:
        assert error.position is None or 0 <= error.position < len(data)
    for codes in ids_to_codes(data, vocab, layout, errors="lenient"):
        assert codes.shape[0] == layout.codebooks_used(3) and ((codes >= 0) & (codes < 8)).all()
