"""AudioLogitsProcessor with a tiny random Llama: batched, sampling, beam search; it is what makes spans decode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from audiotok import AudioLogitsProcessor, TokenizerConfig
from audiotok.errors import TokenizationError
from audiotok.mixed import split_mixed_output

TEXT = 8  # text ids 0..7: 0 pad, 1 bos, 2 eos


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The models are tiny: one thread is faster than several contending ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(layout: str = "interleaved", num_codebooks: int = 4) -> TokenizerConfig:
    return TokenizerConfig(
        num_codebooks=num_codebooks,
        codebook_size=16,
        codebook_counts=[1, 2, 4],
        bandwidths=[],
        layout=layout,
        base_vocab_size=TEXT,
        vocab_offset=TEXT,
    )


def _model(config: TokenizerConfig, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    llama = LlamaConfig(
        vocab_size=config.total_vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    return LlamaForCausalLM(llama).eval()


def _generate(model, config, prompts, processor=None, max_new_tokens=40, **kwargs) -> torch.Tensor:
    prompt = torch.tensor(prompts)
    processors = LogitsProcessorList([processor] if processor else [])
    with torch.no_grad():
        return model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=max_new_tokens,
            eos_token_id=config.vocab.end_id,  # stop at the end of the span
            pad_token_id=0,
            logits_processor=processors,
            **kwargs,
        )


def _strict_failures(config: TokenizerConfig, rows: torch.Tensor) -> list[str]:
    """Strict decoding of each row's spans (padding after <|audio_end|> cut): the error of each row that fails."""
    failures = []
    for row in rows.tolist():
        ids = row[: row.index(config.vocab.end_id) + 1] if config.vocab.end_id in row else row
        try:
            spans = [s for s in split_mixed_output(ids, config, errors="strict") if s.kind == "audio"]
            assert spans, "no audio span"
            for span in spans:
                config.id_format.span_codes(span.ids, span.start)
        except (TokenizationError, AssertionError) as error:
            failures.append(str(error))
    return failures


def _frames(config: TokenizerConfig, rows: torch.Tensor) -> list[int]:
    out = []
    for row in rows.tolist():
        ids = row[: row.index(config.vocab.end_id) + 1]
        out += [codes.num_frames for codes in config.id_format.ids_to_codes(np.array(ids))]
    return out


def test_the_processor_makes_every_sampled_span_decode_and_without_it_most_fail() -> None:
    config = _config()
    model = _model(config)
    prompts = [[1, 5, config.vocab.start_id]] * 500
    processor = AudioLogitsProcessor(config, max_frames=6)
    budget = processor.span_length(6)
    free = _generate(model, config, prompts, max_new_tokens=budget, do_sample=True)
    constrained = _generate(model, config, prompts, processor, max_new_tokens=budget, do_sample=True)
    assert len(_strict_failures(config, free)) > 400
    assert _strict_failures(config, constrained) == []
    assert max(_frames(config, constrained)) <= 6


@pytest.mark.parametrize("layout", ["interleaved", "flattened", "delayed", "first_codebook"])
def test_batched_greedy_sampling_and_beam_search_decode_in_every_layout(layout: str) -> None:
    config = _config(layout, num_codebooks=2)
    model = _model(config, seed=1)
    prompts = [[1, 5, config.vocab.start_id], [1, 6, config.vocab.start_id], [3, 4, config.vocab.start_id]]
    for kwargs in ({"do_sample": False}, {"do_sample": True}, {"do_sample": False, "num_beams": 2}):
        processor = AudioLogitsProcessor(config, min_frames=2, max_frames=5)
        out = _generate(model, config, prompts, processor, max_new_tokens=processor.span_length(5), **kwargs)
        assert _strict_failures(config, out) == [], kwargs
        assert all(2 <= frames <= 5 for frames in _frames(config, out)), kwargs


def test_min_frames_is_kept_and_max_frames_closes_the_span() -> None:
    config = _config()
    model = _model(config, seed=2)
    prompts = [[1, 5, config.vocab.start_id]] * 40
    exact = AudioLogitsProcessor(config, min_frames=3, max_frames=3)
    out = _generate(model, config, prompts, exact, max_new_tokens=exact.span_length(3), do_sample=True)
    assert _frames(config, out) == [3] * 40
    assert (out[:, -1] == config.vocab.end_id).all()


def test_text_rows_are_left_alone_and_a_prompt_inside_a_span_is_continued() -> None:
    config = _config()
    vocab = config.vocab
    processor = AudioLogitsProcessor(config)
    scores = torch.randn(3, config.total_vocab_size)
    a0, b0 = vocab.offset, vocab.offset + 16
    ids = [
        [1, 5, 6, 7],  # text
        [1, vocab.start_id, a0, b0],  # inside a span: codebook 2 comes next
        [vocab.start_id, a0, vocab.end_id, 5],  # text after a closed span
    ]
    out = processor(torch.tensor(ids), scores)
    assert torch.equal(out[0], scores[0]) and torch.equal(out[2], scores[2])
    finite = torch.isfinite(out[1]).nonzero().flatten().tolist()
    assert finite == list(range(vocab.offset + 32, vocab.offset + 48))  # codebook 2's ids
    assert torch.equal(out[1, finite], scores[1, finite])


def test_reordered_rows_and_one_call_per_sequence_keep_each_sequence_state() -> None:
    """Beam search reorders rows; an engine may call once per sequence: each row's mask must be its own sequence's
    (oracle: a fresh processor that reads each sequence from scratch)."""
    config = _config()
    vocab = config.vocab
    a = [1, vocab.start_id, vocab.offset + 3]  # codebook 1 next
    b = [1, vocab.start_id, vocab.offset + 3, vocab.offset + 16]  # codebook 2 next
    processor = AudioLogitsProcessor(config)
    scores = torch.zeros(2, config.total_vocab_size)
    processor(torch.tensor([a, b[:3]]), scores)
    steps = [[*b[:3], vocab.offset + 17], [*a, vocab.offset + 20]]  # rows swapped, each one id longer
    got = processor(torch.tensor(steps), scores)
    for row, ids in enumerate(steps):
        fresh = AudioLogitsProcessor(config)(torch.tensor([ids]), scores[:1])[0]
        assert torch.equal(got[row], fresh)
    single = AudioLogitsProcessor(config)  # one sequence per call, alternating
    for length in range(2, 5):
        for ids in (a + [vocab.offset + 17], b):
            if length <= len(ids):
                out = single(ids[:length], scores[0])
                assert torch.equal(out, AudioLogitsProcessor(config)(ids[:length], scores[0]))


def test_plain_function_form_with_lists_and_numpy() -> None:
    config = _config()
    vocab = config.vocab
    processor = AudioLogitsProcessor(config)
    scores = np.zeros(config.total_vocab_size, dtype=np.float32)
    out = processor([1, vocab.start_id], scores)  # one sequence, numpy scores: codebook 0 or an empty span
    allowed = np.flatnonzero(np.isfinite(out)).tolist()
    assert allowed == [*range(vocab.offset, vocab.offset + 16), vocab.end_id]
    assert out.dtype == np.float32 and out.shape == scores.shape


def test_bad_inputs_are_clear_errors() -> None:
    config = _config()
    vocab = config.vocab
    processor = AudioLogitsProcessor(config)
    with pytest.raises(TokenizationError, match="open audio span of the input"):
        processor(torch.tensor([[vocab.start_id, vocab.offset + 16]]), torch.zeros(1, config.total_vocab_size))
    with pytest.raises(ValueError, match="extend the model"):
        processor(torch.tensor([[vocab.start_id]]), torch.zeros(1, vocab.end - 1))
    with pytest.raises(TypeError, match="TokenizerConfig"):
        AudioLogitsProcessor("interleaved")
