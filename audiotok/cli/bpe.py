"""audiotok bpe train: learn an acoustic BPE over the codes of token shards (or an audio folder)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..bpe_training import train_bpe
from ..ids.bpe import DEFAULT_MAX_FRAMES
from ..ids.layouts import LAYOUTS
from .common import EXIT_OK


def add_command(subparsers: Any) -> None:
    bpe = subparsers.add_parser("bpe", help="acoustic BPE: shorter id sequences, lossless")
    actions = bpe.add_subparsers(dest="action", required=True)
    train = actions.add_parser(
        "train",
        help="learn merges over the codes of shards or an audio folder",
        description="Learns BPE merges over every (codebook, code) pair of the clips and writes a tokenizer "
        "directory (config + BPE file) that AudioTokenizer.from_pretrained loads, codec included.",
    )
    train.add_argument("source", help="a `audiotok preprocess` output folder, or a folder of audio files")
    train.add_argument("--vocab-size", type=int, required=True, help="BPE vocabulary size, base units included")
    train.add_argument("--out", required=True, help="tokenizer directory to write")
    train.add_argument("--layout", choices=sorted(LAYOUTS), help="layout of the ids (default: the source's)")
    train.add_argument("--codebooks", dest="num_codebooks", type=int, help="codebooks used (default: the source's)")
    train.add_argument(
        "--max-frames", type=int, default=DEFAULT_MAX_FRAMES, help="most frames one merged token spans (default 2)"
    )
    train.add_argument("--min-frequency", type=int, default=2, help="fewest occurrences a pair needs (default 2)")
    train.add_argument("--model", help="codec or tokenizer to encode an audio folder with (ignored for shards)")
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    config = train_bpe(
        args.source,
        args.vocab_size,
        model=args.model,
        layout=args.layout,
        num_codebooks=args.num_codebooks,
        max_frames=args.max_frames,
        min_frequency=args.min_frequency,
        out=args.out,
    )
    print(
        f"trained {config.num_bpe_tokens} merged tokens ({config.layout}, {config.num_codebooks} codebooks, at most "
        f"{args.max_frames} frames each) in {time.perf_counter() - started:.1f} s; audio ids "
        f"[{config.vocab_offset}, {config.total_vocab_size}); wrote {args.out}",
        file=sys.stderr,
    )
    return EXIT_OK
