"""What audiotok itself changes, in the metrics of ``audiotok eval``: batching, streaming, first-codebook decoding,
48 kHz scale tokens, and lenient repair of corrupted ids.

Usage: python scripts/eval_audiotok_effects.py [--model demo] [--clips 3] [--seconds 2] [--json OUT.json]

Each row scores a variant against the input clip (SI-SDR, mel and MR-STFT distance, PESQ-WB, STOI; mean over
clips) and, where a variant should change nothing, also against the plain round trip ("vs plain"). --model is
any 24 kHz streaming tokenizer (default: the untrained ``demo`` codec); the 48 kHz rows use an untrained
small codec of the facebook/encodec_48khz shape unless --model48 names a checkpoint. Rows made with untrained
codecs say so: their quality figures show only what changes, not how good a real codec is.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import torch
from transformers.utils import logging as transformers_logging

from audiotok.codecs.demo_tools import synthetic_audio
from audiotok.config import TokenizerConfig
from audiotok.evaluation.metrics import METRICS
from audiotok.evaluation.runner import score_clip
from audiotok.streaming import decode_stream, encode_stream
from audiotok.tokenizer import AudioTokenizer


def mean_scores(references: list[np.ndarray], estimates: list[np.ndarray], rate: int) -> dict[str, float | None]:
    rows = [score_clip(r, np.asarray(e), rate)[0] for r, e in zip(references, estimates)]
    return {
        name: (
            float(np.mean([row[name] for row in rows if row[name] is not None]))
            if any(row[name] is not None for row in rows)
            else None
        )
        for name in METRICS
    }


def row(effect: str, variant: str, untrained: bool, ids_per_second: float | None, **scores: Any) -> dict[str, Any]:
    return {"effect": effect, "variant": variant, "untrained": untrained, "ids_per_second": ids_per_second, **scores}


def ids_rate(ids: list[np.ndarray], clips: list[np.ndarray], rate: int) -> float:
    return sum(len(i) for i in ids) / sum(c.shape[-1] / rate for c in clips)


def measure_24k(
    tokenizer: AudioTokenizer, clips: list[np.ndarray], shares: list[float], seed: int
) -> list[dict[str, Any]]:
    rate, untrained = tokenizer.codec.sampling_rate, tokenizer.codec.is_demo
    ids = tokenizer.encode_batch(clips, rate, add_special_tokens=False)
    plain = tokenizer.decode_batch(ids)
    rows = [
        row(
            "plain",
            f"{tokenizer.config.num_codebooks} codebooks, batched",
            untrained,
            ids_rate(ids, clips, rate),
            vs_input=mean_scores(clips, plain, rate),
        )
    ]
    alone = [tokenizer.decode(tokenizer.encode(c, rate, add_special_tokens=False)) for c in clips]
    rows.append(
        row(
            "batching",
            "each clip alone",
            untrained,
            ids_rate(ids, clips, rate),
            vs_input=mean_scores(clips, alone, rate),
            vs_plain=mean_scores(plain, alone, rate),
        )
    )
    block = rate // 10
    streamed = []
    for clip in clips:
        stream_ids = np.concatenate(
            list(encode_stream(tokenizer, (clip[:, i : i + block] for i in range(0, clip.shape[-1], block))))
        )
        streamed.append(np.concatenate(list(decode_stream(tokenizer, [stream_ids])), axis=-1))
    rows.append(
        row(
            "streaming",
            "100 ms blocks in, ids out; streamed decode",
            untrained,
            ids_rate(ids, clips, rate),
            vs_input=mean_scores(clips, streamed, rate),
            vs_plain=mean_scores(plain, streamed, rate),
        )
    )
    first = AudioTokenizer(tokenizer.config.replace(layout="first_codebook"), tokenizer.codec)
    first_ids = first.encode_batch(clips, rate, add_special_tokens=False)
    rows.append(
        row(
            "first codebook",
            "layout first_codebook (codebook 0 only)",
            untrained,
            ids_rate(first_ids, clips, rate),
            vs_input=mean_scores(clips, first.decode_batch(first_ids), rate),
        )
    )
    rng = np.random.default_rng(seed)
    vocab = tokenizer.vocab
    for share in shares:
        corrupted = []
        for clip_ids in ids:
            bad = clip_ids.copy()
            where = rng.random(bad.size) < share
            bad[where] = rng.integers(
                vocab.offset, vocab.offset + vocab.num_codebooks * vocab.codebook_size, where.sum()
            )
            corrupted.append(bad)
        repaired = tokenizer.decode_batch(corrupted, errors="lenient")
        repaired = [w if w.shape[-1] else np.zeros_like(c) for w, c in zip(repaired, clips)]
        rows.append(
            row(
                "lenient repair",
                f"{share:.0%} of ids replaced by random audio ids",
                untrained,
                ids_rate(ids, clips, rate),
                vs_input=mean_scores(clips, repaired, rate),
                vs_plain=mean_scores(plain, repaired, rate),
            )
        )
    return rows


def measure_48k(model: str | None, clips: list[np.ndarray]) -> list[dict[str, Any]]:
    from audiotok.codecs.encodec.codec import EncodecCodec
    from audiotok.codecs.encodec.demo import ENCODEC_48KHZ_ARCHITECTURE, build_demo_codec, small_encodec_config
    from audiotok.codecs.registry import load_codec

    if model:
        codec = load_codec(model, device="cpu")
    else:
        fit = [synthetic_audio(1.0, 48000, channels=2, seed=i) for i in range(3)]
        codec = EncodecCodec(
            build_demo_codec(small_encodec_config(**ENCODEC_48KHZ_ARCHITECTURE), fit_audio=fit), device="cpu"
        )
        codec.is_demo = True  # built here, untrained: labelled like the registry's demo codecs
    tokenizer = AudioTokenizer(TokenizerConfig.for_codec(model or "encodec-48khz-fixture", codec.spec), codec)
    rate = codec.sampling_rate
    exact = [codec.decode(codec.encode(c, tokenizer.config.num_codebooks)).numpy() for c in clips]
    ids = tokenizer.encode_batch(clips, rate, add_special_tokens=False)
    quantised = tokenizer.decode_batch(ids)
    return [
        row(
            "48 kHz scales",
            "exact float scales (codes, no ids)",
            codec.is_demo,
            None,
            vs_input=mean_scores(clips, exact, rate),
        ),
        row(
            "48 kHz scales",
            "scale tokens (via ids)",
            codec.is_demo,
            ids_rate(ids, clips, rate),
            vs_input=mean_scores(clips, quantised, rate),
            vs_plain=mean_scores(exact, quantised, rate),
        ),
    ]


def markdown(rows: list[dict[str, Any]]) -> str:
    names = list(METRICS)
    header = "| effect | variant | ids/s | " + " | ".join(f"{METRICS[n].label} vs input" for n in names)
    header += " | SI-SDR vs plain (dB) |"
    lines = [header, "|" + "---|" * (len(names) + 4)]
    for r in rows:
        cells = [r["effect"], r["variant"] + (" [untrained]" if r["untrained"] else "")]
        cells.append("n/a" if r["ids_per_second"] is None else f"{r['ids_per_second']:.1f}")
        cells += ["n/a" if r["vs_input"][n] is None else f"{r['vs_input'][n]:.3f}" for n in names]
        plain = r.get("vs_plain", {}).get("si_sdr")
        cells.append("" if plain is None else f"{plain:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--model48")
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--shares", default="0,0.01,0.05,0.2")
    parser.add_argument("--json")
    args = parser.parse_args()
    transformers_logging.disable_progress_bar()
    torch.manual_seed(0)
    tokenizer = AudioTokenizer.from_pretrained(args.model, device="cpu")
    rate = tokenizer.codec.sampling_rate
    clips = [synthetic_audio(args.seconds, rate, seed=100 + i) for i in range(args.clips)]
    shares = [float(s) for s in args.shares.split(",")]
    rows = measure_24k(tokenizer, clips, shares, seed=0)
    rows += measure_48k(
        args.model48, [synthetic_audio(args.seconds, 48000, channels=2, seed=200 + i) for i in range(args.clips)]
    )
    print(markdown(rows))
    if any(r["untrained"] for r in rows):
        print("\n[untrained]: an untrained demo/fixture codec; figures show what changes, not real codec quality.")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)


if __name__ == "__main__":
    main()
