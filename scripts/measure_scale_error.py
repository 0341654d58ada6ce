"""Measures what quantised scale tokens cost: decoding a 48 kHz codec's codes with quantised vs exact scales.

Usage: python scripts/measure_scale_error.py [--model DIR_OR_ID] [--clips 12]

Without --model it builds the full-size 48 kHz architecture with fitted codebooks (untrained; the
loudness error depends only on the scale grid, since decoded chunks scale linearly with their scale).
Clips run from -90 dB RMS (silence-adjacent) to 0 dB; each is 2.5 s (3 chunks).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from transformers.utils import logging as transformers_logging

from audiotok.codecs.encodec.codec import EncodecCodec
from audiotok.codecs.encodec.demo import build_demo_codec, encodec_48khz_config, synthetic_audio
from audiotok.codecs.registry import load_codec
from audiotok.ids.codes import AudioCodes
from audiotok.ids.scales import ScaleQuantizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--clips", type=int, default=12)
    args = parser.parse_args()
    transformers_logging.disable_progress_bar()
    if args.model:
        codec = load_codec(args.model, device="cpu")
    else:
        fit = [synthetic_audio(1.0, 48000, channels=2, seed=i) for i in range(2)]
        codec = EncodecCodec(build_demo_codec(encodec_48khz_config(), fit_audio=fit), device="cpu")
    quantizer = ScaleQuantizer()
    print("| clip RMS (dB) | loudness error (dB) | waveform difference (RMS, relative) |")
    print("|---|---|---|")
    errors = []
    for i, level in enumerate(np.linspace(-90, 0, args.clips)):
        wave = synthetic_audio(2.5, 48000, channels=2, seed=100 + i)
        wave = (wave / np.sqrt(np.mean(wave**2)) * 10 ** (level / 20)).astype(np.float32)
        exact = codec.encode(wave, 4)  # 6 kbps
        assert exact.scales is not None
        index = quantizer.to_index(exact.scales.numpy())
        quantised = AudioCodes(exact.codes, torch.from_numpy(quantizer.to_scale(index)), exact.chunk_frames)
        a, b = codec.decode(exact), codec.decode(quantised)
        error = 10 * np.log10(float(b.pow(2).mean()) / float(a.pow(2).mean()))
        difference = float((a - b).pow(2).mean().sqrt() / a.pow(2).mean().sqrt())
        errors.append(error)
        print(f"| {level:.0f} | {error:+.3f} | {difference:.4f} |")
    print(
        f"\nRMS loudness error over {len(errors)} clips: {np.sqrt(np.mean(np.square(errors))):.3f} dB; "
        f"max |error| {np.max(np.abs(errors)):.3f} dB"
    )


if __name__ == "__main__":
    main()
