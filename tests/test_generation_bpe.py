"""AudioLogitsProcessor with acoustic BPE: known answers for merged tokens, and a tiny random Llama over BPE ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from audiotok import AudioLogitsProcessor, TokenizerConfig
from audiotok.bpe_training import train_bpe_from_ids
from audiotok.errors import TokenizationError
from audiotok.ids.bpe import BpeUnits

SIZE = 8  # codes per codebook
TEXT = 8  # text ids 0..7


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _bpe_config(layout: str, k: int = 3, max_frames: int = 2) -> TokenizerConfig:
    """A BPE of a few dozen merged tokens, trained on skewed codes (a few frequent values: merges happen)."""
    config = TokenizerConfig(
        num_codebooks=k,
        codebook_size=SIZE,
        codebook_counts=[1, 2, 3],
        bandwidths=[],
        layout=layout,
        base_vocab_size=TEXT,
        vocab_offset=TEXT,
    )
    rng = np.random.default_rng(0)
    clips = []
    for _ in range(40):
        frames = int(rng.integers(1, 40))
        codes = np.where(
            rng.random((k, frames)) < 0.1, rng.integers(0, SIZE, (k, frames)), rng.integers(0, 2, (k, frames))
        )
        clips.append(config.id_format.codes_to_ids(codes, add_special_tokens=False))
    units = BpeUnits(k, SIZE, layout, max_frames)
    bpe = train_bpe_from_ids(clips, config.vocab, units, units.num_units + 30)
    assert bpe.num_tokens >= 10
    return config.with_bpe(bpe)


def _codebooks(config: TokenizerConfig, token: int) -> list[int]:
    """The codebooks of merged token ``token``'s expansion (-1: pad), read from its units."""
    bpe = config.bpe_model
    return [-1 if u == bpe.units.num_code_units else u // SIZE for u in bpe.merged_units[token]]


def _allowed_merged(config: TokenizerConfig, processor: AudioLogitsProcessor, ids: list[int]) -> set[int]:
    out = processor(ids, np.zeros(config.total_vocab_size, dtype=np.float32))
    end = config.vocab.end
    return {int(i) - end for i in np.flatnonzero(np.isfinite(out)) if i >= end}


def _code(config: TokenizerConfig, codebook: int, code: int = 0) -> int:
    return config.vocab.offset + codebook * SIZE + code


def test_interleaved_allows_the_merged_tokens_that_continue_the_codebook_cycle_within_max_frames() -> None:
    config = _bpe_config("interleaved")
    k, start = 3, config.vocab.start_id
    for max_frames in (None, 2, 3):
        processor = AudioLogitsProcessor(config, max_frames=max_frames)
        for written in range(7):  # ids of the span so far: position p holds codebook p % K
            ids = [1, start] + [_code(config, p % k) for p in range(written)]
            expected = set()
            for token in range(config.num_bpe_tokens):
                books = _codebooks(config, token)
                cycle = all(b == (written + i) % k for i, b in enumerate(books))
                frames = -(-(written + len(books)) // k)  # frames started once the token is written
                if cycle and (max_frames is None or frames <= max_frames):
                    expected.add(token)
            assert _allowed_merged(config, processor, ids) == expected, (max_frames, written)
    assert expected, "some merged token fits somewhere"


def test_first_codebook_allows_merged_tokens_that_fit_under_max_frames() -> None:
    config = _bpe_config("first_codebook", max_frames=3)
    lengths = {t: len(_codebooks(config, t)) for t in range(config.num_bpe_tokens)}
    assert set(lengths.values()) == {2, 3}
    processor = AudioLogitsProcessor(config, max_frames=4)
    for written in range(5):
        ids = [1, config.vocab.start_id] + [_code(config, 0)] * written
        assert _allowed_merged(config, processor, ids) == {t for t, n in lengths.items() if written + n <= 4}


def test_flattened_allows_merged_tokens_of_the_current_row_that_fit_in_it() -> None:
    config = _bpe_config("flattened")
    start = config.vocab.start_id
    processor = AudioLogitsProcessor(config)
    by_codebook = {t: _codebooks(config, t) for t in range(config.num_bpe_tokens)}
    # row 0 open (2 codes so far): more codebook-0 codes, or codebook-1 tokens that fit a row of T = 2
    row0 = [1, start, _code(config, 0), _code(config, 0)]
    expected = {t for t, b in by_codebook.items() if set(b) == {0} or (set(b) == {1} and len(b) <= 2)}
    assert _allowed_merged(config, processor, row0) == expected
    # T = 3 fixed by one codebook-1 id: two more codebook-1 ids, then row 2 (no token crosses a row)
    row1 = [1, start] + [_code(config, 0)] * 3 + [_code(config, 1)]
    assert _allowed_merged(config, processor, row1) == {t for t, b in by_codebook.items() if b == [1, 1]}


def test_a_prompt_with_merged_tokens_is_continued_and_a_misplaced_one_is_a_clear_error() -> None:
    config = _bpe_config("interleaved")
    vocab, k = config.vocab, 3
    token = next(t for t in range(config.num_bpe_tokens) if _codebooks(config, t) == [0, 1])
    prompt = [1, vocab.start_id, vocab.end + token]  # codebook 2 comes next
    out = AudioLogitsProcessor(config)(prompt, np.zeros(config.total_vocab_size, dtype=np.float32))
    finite = np.flatnonzero(np.isfinite(out))
    base = [int(i) for i in finite if i < vocab.end]
    assert base == list(range(_code(config, 2), _code(config, 2) + SIZE))
    merged = {int(i) - vocab.end for i in finite if i >= vocab.end}
    assert merged == {t for t in range(config.num_bpe_tokens) if _codebooks(config, t)[0] == 2 % k}
    with pytest.raises(TokenizationError, match="merged token"):
        AudioLogitsProcessor(config)([1, vocab.start_id, _code(config, 0), vocab.end + token], np.zeros(200))
    with pytest.raises(ValueError, match="extend the model"):
        AudioLogitsProcessor(config)([1, vocab.start_id], np.zeros(vocab.end))


def _model(config: TokenizerConfig, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    llama = LlamaConfig(
        vocab_size=config.total_vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return LlamaForCausalLM(llama).eval()


def _generate(model, config, prompts, processor=None, **kwargs) -> torch.Tensor:
    prompt = torch.tensor(prompts)
    with torch.no_grad():
        return model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            eos_token_id=config.vocab.end_id,
            pad_token_id=0,
            logits_processor=LogitsProcessorList([processor] if processor else []),
            **kwargs,
        )


def _strict_failures(config: TokenizerConfig, rows: torch.Tensor) -> int:
    """Rows whose span (cut at <|audio_end|>) strict decoding rejects, or that hold no closed span."""
    failures = 0
    for row in rows.tolist():
        ids = row[: row.index(config.vocab.end_id) + 1] if config.vocab.end_id in row else row
        try:
            spans = config.id_format.ids_to_codes(np.array(ids), errors="strict")
            assert len(spans) == 1 and config.vocab.end_id in ids
        except (TokenizationError, AssertionError):
            failures += 1
    return failures


@pytest.mark.parametrize("layout", ["interleaved", "first_codebook", "delayed", "flattened"])
def test_with_the_processor_every_sampled_bpe_span_decodes_and_without_it_most_fail(layout: str) -> None:
    config = _bpe_config(layout)
    model = _model(config)
    prompts = [[1, 5, config.vocab.start_id]] * 200
    processor = AudioLogitsProcessor(config, max_frames=4)
    budget = processor.span_length(4)
    free = _generate(model, config, prompts, max_new_tokens=budget, do_sample=True)
    constrained = _generate(model, config, prompts, processor, max_new_tokens=budget, do_sample=True)
    assert _strict_failures(config, free) > 150
    assert _strict_failures(config, constrained) == 0
    generated = constrained[:, 3:]
    assert (generated >= config.vocab.end).sum() > 100, "merged tokens are used"
    end_id = config.vocab.end_id
    spans = [config.id_format.ids_to_codes(np.array(row[: row.index(end_id) + 1])) for row in constrained.tolist()]
    assert max(codes.num_frames for found in spans for codes in found) <= 4


def test_beam_search_and_batched_greedy_over_bpe_ids_decode() -> None:
    config = _bpe_config("interleaved")
    model = _model(config, seed=1)
    prompts = [[1, 5, config.vocab.start_id], [1, 6, config.vocab.start_id], [3, 4, config.vocab.start_id]]
    for kwargs in ({"do_sample": False}, {"do_sample": False, "num_beams": 3}):
        processor = AudioLogitsProcessor(config, min_frames=2, max_frames=5)
        out = _generate(model, config, prompts, processor, max_new_tokens=processor.span_length(5), **kwargs)
        assert _strict_failures(config, out) == 0, kwargs
        assert (out[:, 3:] >= config.vocab.end).any(), ("merged tokens are used", kwargs)
