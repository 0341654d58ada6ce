"""The span grammar: known answers per layout (from each layout's definition), and exactness against strict decoding."""

from __future__ import annotations

import numpy as np
import pytest

from audiotok.errors import TokenizationError
from audiotok.ids import AudioCodes, AudioVocab, IdFormat, ScaleQuantizer, get_layout
from audiotok.ids.grammar import Allowed, SpanGrammar

SIZE = 4  # codes per codebook
OFFSET = 10  # text ids below


def _format(layout: str, num_codebooks: int, frames_per_chunk: int = 0) -> IdFormat:
    scales = 4 if frames_per_chunk else 0
    vocab = AudioVocab(num_codebooks, SIZE, OFFSET, scales)
    quantizer = ScaleQuantizer(scales) if frames_per_chunk else None
    return IdFormat(vocab, get_layout(layout), frames_per_chunk, quantizer)


def _walk(grammar: SpanGrammar, tokens: list[str]) -> list[str]:
    """Feeds tokens written as ``a1`` (codebook 0, code 1), ``b0``, ``P`` (pad), ``S`` (scale), ``E`` (end);
    returns what the grammar allowed before each, written ``{a,b,P,S,E}`` style."""
    vocab = grammar.vocab
    state = grammar.start()
    seen = []
    for token in tokens:
        allowed = grammar.allowed(state)
        seen.append(_spell(allowed))
        if token == "P":
            token_id = vocab.pad_id
        elif token == "S":
            token_id = vocab.scale_base + 1
        elif token == "E":
            token_id = vocab.end_id
        else:
            token_id = vocab.offset + "abcd".index(token[0]) * SIZE + int(token[1:])
        state = grammar.advance(state, token_id)
    assert state is None, "the walk ends with <|audio_end|>"
    return seen


def _spell(allowed: Allowed) -> str:
    parts = ["abcd"[k] for k in sorted(allowed.codebooks)]
    parts += ["P"] * allowed.pad + ["S"] * allowed.scale + ["E"] * allowed.end
    return "".join(parts)


def test_interleaved_allows_the_codebook_of_each_position_and_ends_at_frame_boundaries() -> None:
    # position p holds C[p % K, p // K]; the span may end where a frame is complete
    tokens = ["a0", "b1", "c2", "a3", "b0", "c1", "E"]
    expected = ["aE" if p % 3 == 0 else "abc"[p % 3] for p in range(6)] + ["aE"]
    assert _walk(SpanGrammar(_format("interleaved", 3)), tokens) == expected


def test_flattened_runs_row_0_until_a_codebook_1_id_fixes_the_frames() -> None:
    # a0 a1 | b0 b1 | c0 c1: T = 2 is fixed by the first codebook-1 id; then rows of 2
    tokens = ["a0", "a1", "b0", "b1", "c0", "c1", "E"]
    assert _walk(SpanGrammar(_format("flattened", 3)), tokens) == ["aE", "ab", "ab", "b", "c", "c", "E"]


def test_delayed_follows_the_delay_pattern_and_a_pad_in_codebook_0_fixes_the_frames() -> None:
    # the DelayedLayout docstring, K = 3, T = 4:  a0 P P | a1 b0 P | a2 b1 c0 | a3 b2 c1 | P b3 c2 | P P c3
    tokens = ["a0", "P", "P", "a1", "b0", "P", "a2", "b1", "c0", "a3", "b2", "c1", "P", "b3", "c2", "P", "P", "c3", "E"]
    expected = ["aP", "P", "P", "aP", "b", "P", "aP", "b", "c", "aP", "b", "c", "aP", "b", "c", "P", "P", "c", "E"]
    assert _walk(SpanGrammar(_format("delayed", 3)), tokens) == expected


def test_first_codebook_allows_codebook_0_or_the_end_everywhere() -> None:
    assert _walk(SpanGrammar(_format("first_codebook", 3)), ["a1", "a2", "a3", "E"]) == ["aE"] * 4


def test_min_and_max_frames() -> None:
    grammar = SpanGrammar(_format("interleaved", 2), min_frames=2, max_frames=3)
    assert _walk(grammar, ["a0", "b0", "a1", "b1", "a2", "b2", "E"]) == ["a", "b", "a", "b", "aE", "b", "E"]
    assert _walk(grammar, ["a0", "b0", "a1", "b1", "E"])[-1] == "aE"
    delayed = SpanGrammar(_format("delayed", 2), min_frames=1, max_frames=2)  # a0 P | a1 b0 | P b1
    assert _walk(delayed, ["a0", "P", "a1", "b0", "P", "b1", "E"]) == ["a", "P", "aP", "b", "P", "b", "E"]
    with pytest.raises(ValueError, match="max_frames"):
        SpanGrammar(_format("interleaved", 2), min_frames=3, max_frames=2)


def test_scale_tokens_open_each_chunk_and_only_the_last_two_chunks_may_be_short() -> None:
    # 2 frames per chunk, K = 2: a scale token stands before codebook 0 of each chunk's first frame
    grammar = SpanGrammar(_format("interleaved", 2, frames_per_chunk=2))
    whole = ["S", "a0", "b0", "a1", "b1", "S", "a2", "b2", "a3", "b3", "S", "a0", "b0", "E"]
    assert _walk(grammar, whole) == ["S", "a", "b", "aSE", "b", "SE", "a", "b", "aSE", "b", "SE", "a", "b", "aSE"]
    # a chunk of 1 closed early: the next chunk is the last, no more scale tokens, at most 2 frames
    short = ["S", "a0", "b0", "S", "a1", "b1", "a2", "b2", "E"]
    assert _walk(grammar, short) == ["S", "a", "b", "aSE", "a", "b", "aE", "b", "E"]
    delayed = SpanGrammar(_format("delayed", 2, frames_per_chunk=2))  # S a0 P | a1 b0 | S a2 b1 | P b2
    expected = ["S", "a", "P", "aPS", "b", "PS", "a", "b", "aPS", "b", "E"]
    assert _walk(delayed, ["S", "a0", "P", "a1", "b0", "S", "a2", "b1", "P", "b2", "E"]) == expected


def test_a_wrong_id_is_refused_with_what_was_expected() -> None:
    grammar = SpanGrammar(_format("interleaved", 3))
    state = grammar.advance(grammar.start(), OFFSET)  # codebook 0, code 0
    with pytest.raises(TokenizationError, match=r"codebook 0, code 1\) is not allowed here; expected a codebook-1"):
        grammar.advance(state, OFFSET + 1)
    with pytest.raises(TokenizationError, match="audio_end"):
        grammar.advance(state, grammar.vocab.end_id)


CASES = [
    (layout, k, chunk, limits)
    for layout in ("interleaved", "flattened", "delayed", "first_codebook")
    for k in (1, 2, 3)
    for chunk in (0, 2)
    for limits in ((0, None), (2, 5))
]


@pytest.mark.parametrize(("layout", "num_codebooks", "frames_per_chunk", "limits"), CASES)
def test_every_span_the_grammar_allows_decodes_strictly_and_every_valid_span_is_allowed(
    layout: str, num_codebooks: int, frames_per_chunk: int, limits: tuple[int, int | None]
) -> None:
    """The oracle is strict decoding (``IdFormat.span_codes``), not the grammar."""
    id_format = _format(layout, num_codebooks, frames_per_chunk)
    vocab = id_format.vocab
    grammar = SpanGrammar(id_format, *limits)
    rng = np.random.default_rng(0)
    for _ in range(25):  # random walks through the grammar
        state, ids = grammar.start(), []
        while state is not None:
            allowed = grammar.allowed(state)
            options = [vocab.offset + k * SIZE + int(rng.integers(SIZE)) for k in allowed.codebooks]
            options += (
                [vocab.pad_id] * allowed.pad + [vocab.scale_base + 2] * allowed.scale + [vocab.end_id] * allowed.end
            )
            ids.append(int(rng.choice(options)))
            state = grammar.advance(state, ids[-1])
        codes = id_format.span_codes(np.array(ids[:-1], dtype=np.int64))
        assert limits[0] <= codes.num_frames <= (limits[1] or 10**9)
    low, high = limits
    for frames in range(max(low, 1 if frames_per_chunk else 0), (high or 7) + 1):  # every encoded span is allowed
        chunks = -(-frames // frames_per_chunk) if frames_per_chunk else 0
        item = AudioCodes(rng.integers(0, SIZE, (num_codebooks, frames)), np.full(chunks, 0.1) if chunks else None)
        state = grammar.start()
        for token_id in id_format.codes_to_ids(item)[1:]:
            state = grammar.advance(state, int(token_id))
        assert state is None
