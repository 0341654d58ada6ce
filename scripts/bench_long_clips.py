"""Benchmark: one long clip encoded in segments (``max_segment_seconds``) against whole-clip encoding.

A benchmark, not a test. With the full-size architecture of a codec family (random weights plus fitted
codebooks, built and cached as ``scripts/bench_encode.py`` does; ``--family encodec|dac|mimi``) it measures,
each in its own forked child so that every peak RSS is that run's alone:

* **long clip, bounded**: ``--long-minutes`` (default 60) of speech-like ``synthetic_audio``, generated a
  minute at a time into one float32 array, encoded with ``codec.max_segment_seconds = --bound``: wall time,
  real-time factor, peak RSS of the process and its rise during encoding;
* **whole clips**: the first ``--whole-minutes`` (default 1 5 10) of the same audio encoded with the bound
  off (one model call on the whole clip): the same figures, to show how memory grows with length;
* **agreement**: the long clip's codes on the first ``--prefix-minutes`` (default 5, one of
  ``--whole-minutes``) against whole-clip encoding of that prefix. A frame agrees when all its codes do.
  For non-causal families (DAC) the prefix's last ``R_right`` frames read audio past the prefix in the long
  clip and are left out.

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the child, after Linux's
``/proc/self/clear_refs`` reset it to the child's resident size at its start (the parent holds the loaded
model); "rise" is the peak minus the resident size just before encoding (the audio already generated).

Prints a markdown report (machine, date, load, command, table) for docs/BENCHMARKS.md.

    .venv/bin/python scripts/bench_long_clips.py                       # one hour, EnCodec 24 kHz (CPU: slow)
    .venv/bin/python scripts/bench_long_clips.py --long-minutes 15     # what fits in ~10 minutes on 2 cores
    .venv/bin/python scripts/bench_long_clips.py --family mimi --long-minutes 10 --whole-minutes 1 3 5
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import multiprocessing
import os
import platform
import resource
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encode import DEFAULTS, architecture, build, cpu_model  # noqa: E402  (the same cached models)

from audiotok import load_codec  # noqa: E402
from audiotok.codecs.base import AudioCodec  # noqa: E402
from audiotok.codecs.demo_tools import cached_demo_dir, demo_note, synthetic_audio  # noqa: E402

MIB = 1024.0  # ru_maxrss is in KiB on Linux


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(DEFAULTS), default="encodec", help="codec family (default encodec)")
    parser.add_argument("--long-minutes", type=float, default=60.0, help="length of the long clip (default 60)")
    parser.add_argument("--bound", type=float, default=60.0, help="max_segment_seconds for the long clip (default 60)")
    parser.add_argument(
        "--whole-minutes", type=float, nargs="+", default=[1.0, 5.0, 10.0], help="whole-clip lengths (default 1 5 10)"
    )
    parser.add_argument("--prefix-minutes", type=float, default=5.0, help="agreement prefix (one of --whole-minutes)")
    parser.add_argument("--codebooks", type=int, help="codebooks K (default: the family's default count)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the model build and the audio")
    cache = Path.home() / ".cache" / "audiotok" / "bench"
    parser.add_argument("--cache", type=Path, default=cache, help="built models, shared with bench_encode")
    args = parser.parse_args(argv)
    if args.prefix_minutes not in args.whole_minutes:
        parser.error("--prefix-minutes must be one of --whole-minutes (its whole-clip codes are the reference)")
    if max(args.whole_minutes) > args.long_minutes:
        parser.error("--whole-minutes must not exceed --long-minutes (they are prefixes of the long clip)")
    return args


def model_dir(args: argparse.Namespace) -> Path:
    """The family's full-size random-weight model, built once and cached under the name bench_encode uses."""
    config_name = DEFAULTS[args.family].config
    name = f"{args.family}-{config_name.replace('/', '_')}-seed{args.seed}"
    config = architecture(args.family, config_name, small=False)
    return cached_demo_dir(name, lambda: build(args.family, config, args.seed), demo_note(args.family), args.cache)


def speech(minutes: float, codec: AudioCodec, seed: int) -> np.ndarray:
    """``minutes`` of speech-like audio ``[C, L]`` float32, made a minute at a time (no hour-long float64 array)."""
    rate, total = codec.sampling_rate, int(minutes * 60 * codec.sampling_rate)
    out = np.empty((codec.channels, total), dtype=np.float32)
    for index, start in enumerate(range(0, total, 60 * rate)):
        piece = synthetic_audio(60.0, rate, channels=codec.channels, seed=seed + index)
        out[:, start : start + piece.shape[-1]] = piece[:, : total - start]
    return out


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / MIB
    return float("nan")


def _encode_child(codec: AudioCodec, minutes: float, bound: float | None, k: int, seed: int, conn: Any) -> None:
    ctypes.CDLL(None).malloc_trim(0)  # return the parent's freed heap, so reuse does not hide growth
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := this child's resident size now
    wave = speech(minutes, codec, seed)
    codec.max_segment_seconds = bound
    before = rss_mib()
    start = time.perf_counter()
    codes = codec.encode(wave, k).codes
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB
    conn.send({"codes": codes.numpy(), "wall": wall, "peak": peak, "rise": peak - before, "before": before})


def encode_in_child(codec: AudioCodec, minutes: float, bound: float | None, k: int, seed: int) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")  # inherits the loaded model; its own peak RSS
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_encode_child, args=(codec, minutes, bound, k, seed, send))
    child.start()
    result = receive.recv()
    child.join()
    return dict(result)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now()
    load = os.getloadavg()
    directory = model_dir(args)
    codec = load_codec(directory, device="cpu")
    k = codec.spec.default_num_codebooks if args.codebooks is None else args.codebooks
    codec.encode(synthetic_audio(1.0, codec.sampling_rate, channels=codec.channels), k)  # warm up
    rows = []
    results: dict[float, dict[str, Any]] = {}
    for minutes in sorted(args.whole_minutes):
        results[minutes] = encode_in_child(codec, minutes, None, k, args.seed)
        rows.append((f"{minutes:g} min, whole (no bound)", minutes, results[minutes]))
        print(f"whole {minutes:g} min: {results[minutes]['wall']:.0f} s", file=sys.stderr, flush=True)
    long = encode_in_child(codec, args.long_minutes, args.bound, k, args.seed)
    rows.append((f"{args.long_minutes:g} min, bound {args.bound:g} s", args.long_minutes, long))
    print(f"long {args.long_minutes:g} min: {long['wall']:.0f} s", file=sys.stderr, flush=True)

    reference = results[args.prefix_minutes]["codes"]
    causal = codec.can_stream
    excluded = 0 if causal else int(getattr(codec, "encoder_reach", (0, 0))[1])
    frames = reference.shape[-1] - excluded
    got = long["codes"][:, :frames]
    differ = int((got != reference[:, :frames]).any(axis=0).sum())

    print(f"### Long clips: {args.family}, {args.long_minutes:g} min with max_segment_seconds={args.bound:g}\n")
    print(f"- Date: {started:%Y-%m-%d %H:%M}; machine: {cpu_model()}, {os.cpu_count()} cores "
          f"({platform.system()}), load average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
          f"torch {torch.__version__} ({args.threads} thread), transformers {transformers.__version__}")  # fmt: skip
    print(f"- Model: full-size {DEFAULTS[args.family].config} architecture, random weights + fitted codebooks "
          f"({directory}); {k} codebooks")  # fmt: skip
    print(f"- Command: `{shlex.join(['.venv/bin/python', 'scripts/bench_long_clips.py', *sys.argv[1:]])}`\n")
    print("| clip | encode wall | real-time factor | peak RSS | RSS rise while encoding |")
    print("|---|---|---|---|---|")
    for label, minutes, result in rows:
        rtf = result["wall"] / (minutes * 60)
        print(f"| {label} | {result['wall']:.1f} s | {rtf:.3f} | {result['peak']:.0f} MiB | {result['rise']:.0f} MiB |")
    print(
        f"\nAgreement on the first {args.prefix_minutes:g} min: {frames - differ} of {frames} frames equal "
        f"({100 * (frames - differ) / frames:.3f} %) between the bounded long clip and whole-clip encoding of the "
        f"prefix" + (f" (its last {excluded} frames left out: non-causal reach)" if excluded else "") + "."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
