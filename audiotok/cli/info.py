"""audiotok info: a config's id ranges and tokens per second, from the config alone (no codec weights)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import num_codebooks_for
from ..demo_codec import DEMO_MODEL_NAME
from ..layouts import LAYOUTS
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
    note_demo(config.codec == DEMO_MODEL_NAME)
    vocab = config.vocab
    print(
        f"codec {config.codec!r}: {config.bandwidth:g} kbps, {config.num_codebooks} codebooks, "
        f"layout {config.layout!r}, ids [{vocab.offset}, {vocab.end})"
    )
    print(json.dumps(config.to_dict(), indent=2))
    print("\nid ranges:")
    for k in range(config.num_codebooks):
        ids = vocab.codebook_range(k)
        print(f"  codebook {k:2d}: {ids.start}..{ids.stop - 1}")
    for name, token_id in vocab.special_ids.items():
        print(f"  {config.special_tokens[name]}: {token_id}")
    print(f"  audio vocab size {vocab.size}; LLM vocabulary needs >= {vocab.end} ids")
    print("\ntokens per second (frame rate x codebooks in the layout):")
    print("  kbps  codebooks  " + "  ".join(f"{name:>14}" for name in LAYOUTS))
    for bandwidth in config.codec_bandwidths:
        k = num_codebooks_for(bandwidth, config.codebook_size, config.frame_rate)
        rates = "  ".join(f"{config.frame_rate * LAYOUTS[n].codebooks_used(k):>14}" for n in LAYOUTS)
        print(f"  {bandwidth:>4g}  {k:>9}  {rates}")
    return EXIT_OK
