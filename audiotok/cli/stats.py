"""audiotok stats: ids per second per layout (with and without a BPE), codebook usage and entropy, top merges."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..bpe_stats import corpus_stats, plot_stats
from ..config import TokenizerConfig
from ..errors import AudiotokError
from .common import EXIT_OK


def add_command(subparsers: Any) -> None:
    stats = subparsers.add_parser(
        "stats",
        help="ids per second, codebook entropy and BPE merges of token shards",
        description="Ids per second per layout with and without a BPE, per-codebook usage and entropy, the most "
        "frequent merges and the share of ids spent on silence, for the shards of an `audiotok preprocess` run.",
    )
    stats.add_argument("shards", help="a `audiotok preprocess` output folder")
    stats.add_argument("--bpe", help="a tokenizer directory with a BPE (`audiotok bpe train`); default: the shards'")
    stats.add_argument("--top", type=int, default=10, help="most frequent merged tokens to list (default 10)")
    stats.add_argument("--no-silence", action="store_true", help="skip loading the codec to find its silence codes")
    stats.add_argument("--plot", help="write a PNG of the rates and entropies here")
    stats.set_defaults(run=run_stats)


def silence_codes(config: TokenizerConfig) -> np.ndarray:
    """Each codebook's code for 1 s of digital silence (a middle frame), from the codec the config names."""
    from ..codecs.registry import load_codec

    codec = load_codec(config.codec, device="cpu")
    wave = np.zeros((config.audio_channels, config.sampling_rate), dtype=np.float32)
    codes = np.asarray(codec.encode(wave, config.num_codebooks).codes)
    return codes[:, codes.shape[1] // 2]


def run_stats(args: argparse.Namespace) -> int:
    config = TokenizerConfig.from_pretrained(args.shards)
    if args.bpe is not None:
        trained = TokenizerConfig.from_pretrained(args.bpe)
        if trained.bpe_model is None:
            raise AudiotokError(f"{args.bpe}: its config has no BPE; train one with `audiotok bpe train`")
        config = config.replace(layout=trained.layout, bpe=None).with_bpe(trained.bpe_model)
    silence = None if args.no_silence else silence_codes(config)
    stats = corpus_stats(args.shards, config, silence_codes=silence, top=args.top)
    print(f"{stats.clips} clips, {stats.seconds:.1f} s of audio, {config.num_codebooks} codebooks")
    print("ids per second:")
    for name, rate in stats.ids_per_second.items():
        print(f"  {name:>22}  {rate:10.1f}")
    if stats.compression is not None:
        print(f"BPE compression ({config.layout}): {stats.compression:.3f}x")
    print("codebook  usage  entropy (bits)")
    for k, (usage, entropy) in enumerate(zip(stats.codebook_usage, stats.codebook_entropy, strict=True)):
        print(f"  {k:>6}  {usage:5.1%}  {entropy:6.2f}")
    for name, share in stats.silence_share.items():
        print(f"share of ids on silence ({name}): {share:.1%}")
    if stats.top_merges:
        print("most frequent merged tokens:")
        for merge in stats.top_merges:
            print(f"  {merge.token_id:>8}  x{merge.count:<8} {merge.frames} frame(s): {merge.codes}")
    if args.plot:
        plot_stats(stats).savefig(Path(args.plot))
        print(f"wrote {args.plot}")
    return EXIT_OK
