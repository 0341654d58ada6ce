"""audiotok info: a config's id ranges and tokens per second, from the config alone (no codec weights)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..codecs.registry import demo_family
from ..ids.layouts import LAYOUTS
from .common import EXIT_OK, add_model_options, config_changes, note_demo
from .configs import config_only


def add_command(subparsers: Any) -> None:
    info = subparsers.add_parser(
        "info",
        help="a config's id ranges and tokens per second",
        description=f"{__doc__} A hub id other than the default needs only the codec's config.json.",
    )
    add_model_options(info, device=False)
    info.set_defaults(run=run_info)


def run_info(args: argparse.Namespace) -> int:
    config = config_only(args.model)
    changes = config_changes(args)
    if changes:
        config = config.replace(**changes)
    note_demo(demo_family(config.codec) is not None, config.codec_family)
    vocab = config.vocab
    named = f" ({config.bandwidth:g} kbps)" if config.bandwidth is not None else ""
    print(
        f"codec {config.codec!r} ({config.codec_family}, {config.frame_rate:g} frames/s): "
        f"{config.num_codebooks} codebooks{named} of {config.codebook_size}, layout {config.layout!r}, "
        f"ids [{vocab.offset}, {vocab.end})"
    )
    print(json.dumps(config.to_dict(), indent=2))
    print("\nid ranges:")
    for k in range(config.num_codebooks):
        ids = vocab.codebook_range(k)
        print(f"  codebook {k:2d}: {ids.start}..{ids.stop - 1}")
    for name, token_id in vocab.special_ids.items():
        print(f"  {config.special_tokens[name]}: {token_id}")
    if config.num_bpe_tokens:
        print(f"  BPE merged tokens: {vocab.end}..{config.total_vocab_size - 1}")
    print(f"  audio vocab size {config.audio_vocab_size}; LLM vocabulary needs >= {config.total_vocab_size} ids")
    print("\nids per second of audio, for each codebook count the codec supports:")
    print("  codebooks      kbps  " + "  ".join(f"{name:>14}" for name in LAYOUTS))
    for index, k in enumerate(config.codebook_counts):
        kbps = f"{config.bandwidths[index]:g}" if config.bandwidths else "-"
        rates = "  ".join(f"{config.tokens_per_second_at(k, name):>14g}" for name in LAYOUTS)
        print(f"  {k:>9}  {kbps:>8}  {rates}")
    return EXIT_OK
