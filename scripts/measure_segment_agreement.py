"""Measures how closely overlapping windows reproduce whole-clip codes and audio for families whose networks read
the whole sequence (WavTokenizer, X-codec, X-codec2, NeuCodec), for a few context lengths.

A measurement, not a test: it prints a markdown table for docs/design.md. The model is a random-weight model
of the family with fitted codebooks (``build_demo_codec``): the small demo shape, or with ``--deep`` the
published number of layers of every transformer, LSTM and decoder stack at the demo's small widths (full
widths are too slow for a CPU). A frame agrees when all its codes are equal; decoded audio is compared
by its signal-to-error ratio (whole-sequence audio over the difference, dB).

    .venv/bin/python scripts/measure_segment_agreement.py --family xcodec2 --deep --seconds 40 --segment 10
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
from typing import Any

import torch

from audiotok import load_codec
from audiotok.codecs.demo_tools import synthetic_audio

FAMILIES = ("wavtokenizer", "xcodec", "xcodec2", "neucodec")


def deep_config(family: str) -> Any:
    """The demo's small widths with the published depths."""
    demo = importlib.import_module(f"audiotok.codecs.{family}.demo")
    if family == "wavtokenizer":
        return demo.small_wavtokenizer_config(decoder_num_layers=12)
    if family == "xcodec":
        small = demo.small_xcodec_config()
        return demo.small_xcodec_config(
            semantic_model_config={**small.semantic_model_config.to_dict(), "num_hidden_layers": 12}
        )
    semantic = {**demo.SMALL_SEMANTIC, "num_hidden_layers": 16} if family == "xcodec2" else None
    if family == "xcodec2":
        return demo.small_xcodec2_config(num_hidden_layers=12, semantic_model_config=semantic)
    from audiotok.codecs.xcodec2.demo import SMALL_SEMANTIC, small_settings

    return demo.NeuCodecConfig(
        **small_settings(num_hidden_layers=12, semantic_model_config={**SMALL_SEMANTIC, "num_hidden_layers": 16})
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=FAMILIES, required=True)
    parser.add_argument("--deep", action="store_true", help="published depths at small widths")
    parser.add_argument("--seconds", type=float, default=40.0, help="clip length")
    parser.add_argument("--segment", type=float, default=10.0, help="max_segment_seconds")
    parser.add_argument("--context", type=float, nargs="+", default=[1.0, 2.0, 5.0], help="context seconds each side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    demo = importlib.import_module(f"audiotok.codecs.{args.family}.demo")
    config = deep_config(args.family) if args.deep else None
    directory = tempfile.mkdtemp()
    demo.build_demo_codec(config, seed=args.seed).save_pretrained(directory)
    codec = load_codec(directory, device="cpu")
    wave = synthetic_audio(args.seconds, codec.sampling_rate, seed=args.seed + 31)
    k = codec.spec.default_num_codebooks
    codec.max_segment_seconds = None
    start = time.perf_counter()
    whole = codec.encode(wave, k).codes
    audio = codec.decode(whole)
    print(f"{args.family} ({'deep' if args.deep else 'small'}), {args.seconds:g} s clip, segments of "
          f"{args.segment:g} s, K={k}; whole clip in {time.perf_counter() - start:.0f} s")
    print("| context (s) | frames agreeing | first codebook agreeing | decoded audio, signal-to-error (dB) |")
    print("|---|---|---|---|")
    for context in args.context:
        type(codec).context_seconds = context
        for name in ("encoder_reach", "decoder_reach"):
            codec.__dict__.pop(name, None)
        codec.max_segment_seconds = args.segment
        codes = codec.encode(wave, k).codes
        segmented = codec.decode(whole)
        frames = float((codes == whole).all(dim=0).float().mean())
        first = float((codes[0] == whole[0]).float().mean())
        snr = 10 * torch.log10(audio.pow(2).sum() / (segmented - audio).pow(2).sum().clamp(min=1e-30))
        print(f"| {context:g} | {frames:.4f} | {first:.4f} | {float(snr):.1f} |", flush=True)


if __name__ == "__main__":
    main()
