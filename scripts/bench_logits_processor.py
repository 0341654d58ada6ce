"""Cost of AudioLogitsProcessor per generated token against a generation step of a small Llama, on CPU.

python scripts/bench_logits_processor.py [--tokens 200] [--repeats 3] [--threads 1] [--bpe MERGED]

For LLM vocabularies of 32k (Llama 2) and 152k (Qwen2.5) text ids plus 8 x 1024 EnCodec audio ids, it builds a
random Llama from a config (hidden 256, 4 layers: 20-80 M parameters, the output layer dominating), then
measures, in the same run:
  * step: ``model.generate`` of N tokens from ``<|audio_start|>`` (greedy, no eos), seconds per token;
  * with: the same with the processor (no frame limit), seconds per token; overhead = with / step - 1;
  * alone: the processor called on the growing sequence of a valid span, seconds per call (batch 1 and 8).
Medians of ``--repeats`` runs. Prints a Markdown table for docs/BENCHMARKS.md.

``--bpe MERGED`` gives both configs an acoustic BPE of about MERGED merged tokens (max 2 frames each), trained on
random Zipf-distributed codes; the processor alone then runs on the BPE ids of such a span (merged tokens in it).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM, LogitsProcessorList

from audiotok import AudioLogitsProcessor, TokenizerConfig
from audiotok.bpe_training import train_bpe_from_ids
from audiotok.ids.bpe import BpeUnits

BASES = {"32k (Llama 2)": 32000, "152k (Qwen2.5)": 151665}


def _model(vocab_size: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=256,
        intermediate_size=1024,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
    )
    return LlamaForCausalLM(config).eval()


def _generate_time(model, prompt, tokens, processors) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(
            prompt,
            attention_mask=torch.ones_like(prompt),
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            eos_token_id=None,
            pad_token_id=0,
            logits_processor=LogitsProcessorList(processors),
        )
    assert out.shape[1] == prompt.shape[1] + tokens
    return (time.perf_counter() - start) / tokens


def _codes(rng: np.random.Generator, config: TokenizerConfig, frames: int) -> np.ndarray:
    """Random codes with a Zipf-like skew (frequent pairs: merges happen)."""
    shape = (config.vocab.num_codebooks, frames)
    return (rng.zipf(1.3, size=shape) - 1) % config.vocab.codebook_size


def _with_bpe(config: TokenizerConfig, merged: int) -> TokenizerConfig:
    rng = np.random.default_rng(0)
    clips = [config.id_format.codes_to_ids(_codes(rng, config, 400), add_special_tokens=False) for _ in range(300)]
    units = BpeUnits(config.vocab.num_codebooks, config.vocab.codebook_size, config.layout)
    return config.with_bpe(train_bpe_from_ids(clips, config.vocab, units, units.num_units + merged))


def _span(config: TokenizerConfig, tokens: int) -> list[int]:
    """Ids of a valid span, <|audio_start|> first (BPE ids with a BPE), at least ``tokens`` + 1 long."""
    vocab = config.vocab
    if config.bpe is None:
        return [vocab.start_id] + [
            vocab.offset + (p % vocab.num_codebooks) * vocab.codebook_size + p % 7 for p in range(tokens)
        ]
    rng = np.random.default_rng(1)
    return config.id_format.codes_to_ids(_codes(rng, config, tokens), add_special_tokens=True).tolist()[:-1]


def _alone_time(config: TokenizerConfig, batch: int, tokens: int) -> float:
    """Per-call cost of the processor on a growing valid span (the ids a constrained model would write)."""
    processor = AudioLogitsProcessor(config)
    span = _span(config, tokens)
    ids = torch.tensor([[1, span[0]]] * batch)
    scores = torch.zeros(batch, config.total_vocab_size)
    elapsed = 0.0
    for position in range(tokens):
        start = time.perf_counter()
        processor(ids, scores)
        elapsed += time.perf_counter() - start
        ids = torch.cat([ids, torch.full((batch, 1), span[position + 1])], dim=1)
    return elapsed / tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=200, help="tokens generated per run (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--bpe", type=int, default=0, help="merged tokens of an acoustic BPE (default 0: none)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
          f"{args.tokens} tokens, median of {args.repeats}")  # fmt: skip
    print("| vocabulary | model params | step (ms/token) | with processor (ms/token) | overhead | "
          "processor alone, batch 1 (ms) | alone, batch 8 (ms) | alone / step |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, base in BASES.items():
        config = TokenizerConfig(base_vocab_size=base, vocab_offset=base)
        if args.bpe:
            config = _with_bpe(config, args.bpe)
            name = f"{name} + {config.num_bpe_tokens} BPE"
        model = _model(config.total_vocab_size)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        prompt = torch.tensor([[1, config.vocab.start_id]])
        _generate_time(model, prompt, 10, [])  # warm up
        step, with_processor = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            step.append(_generate_time(model, prompt, args.tokens, []))
            with_processor.append(_generate_time(model, prompt, args.tokens, [AudioLogitsProcessor(config)]))
        alone1 = statistics.median(_alone_time(config, 1, args.tokens) for _ in range(args.repeats))
        alone8 = statistics.median(_alone_time(config, 8, args.tokens) for _ in range(args.repeats))
        s, w = statistics.median(step), statistics.median(with_processor)
        print(f"| {name}: {config.total_vocab_size} ids | {params:.0f} M | {s * 1e3:.2f} | {w * 1e3:.2f} | "
              f"{(w / s - 1) * 100:+.1f} % | {alone1 * 1e3:.3f} | {alone8 * 1e3:.3f} | "
              f"{alone1 / s * 100:.1f} % |")  # fmt: skip


if __name__ == "__main__":
    main()
