"""Benchmark: the dataset job on the Ray engine against the local engine, and Ray from 1 to N encoding actors.

A benchmark, not a test. It writes one corpus (``scripts/bench_preprocess.py``'s: seeded speech-like wav
files at 16/24/44.1 kHz) and one model (full-size 24 kHz ``EncodecConfig()`` with random weights and fitted
codebooks, or ``--model``), then runs ``audiotok preprocess`` on it several ways, each in a fresh process
of its own, in this order: the local engine with its default plan, then ``--engine ray`` with 1, 2, ...
``--max-actors`` encoding actors (``--encoders``, one torch thread each) on a local Ray the job starts
itself. For each: wall seconds of the whole command (Ray's start included), the job's own timer (the
blocks, after setup), audio seconds per wall second, the ratio to the local engine, and whether the
shards hold the same keys and codes as the local engine's. ``--device cuda`` runs every side on the GPU
(Ray: one actor per GPU). It prints a markdown report to paste into docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_preprocess  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="hub id or directory of an EnCodec checkpoint (default: full-size, random)")
    parser.add_argument("--clips", type=int, default=24, help="files in the corpus (default 24)")
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--bandwidth", type=float, default=6.0)
    parser.add_argument("--shard-size", type=int, default=4, help="clips per block (default 4)")
    parser.add_argument("--max-actors", type=int, default=os.cpu_count() or 1, help="Ray: 1..N actors (default: cores)")
    return parser.parse_args(argv)


def run_side(name: str, command: list[str], out: Path) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    print(f"{name}: {wall:.1f} s", file=sys.stderr, flush=True)
    return {"wall": wall, "job": manifest["this_run"]["seconds"], "encoded": manifest["encoded"]}


def shards(out: Path) -> dict[str, list[list[int]]]:
    return {
        row["key"]: row["codes"]
        for path in sorted(out.glob("shard-*.parquet"))
        for row in pq.read_table(path, columns=["key", "codes"]).to_pylist()
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    helpers = bench_preprocess.machine_helpers()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_engines-") as tmp:
        workdir = Path(tmp)
        model, model_text = bench_preprocess.prepare_model(args, workdir)
        paths, audio_seconds = bench_preprocess.write_corpus(args, workdir / "corpus", 24000, 320)
        base = [
            sys.executable,
            "-m",
            "audiotok.cli",
            "preprocess",
            str(workdir / "corpus"),
            "--model",
            model,
            "--bandwidth",
            f"{args.bandwidth:g}",
            "--device",
            args.device,
            "--shard-size",
            str(args.shard_size),
        ]
        sides = {"local engine (its default plan)": base + ["--out", str(workdir / "local")]}
        outs = {"local engine (its default plan)": workdir / "local"}
        for actors in range(1, args.max_actors + 1):
            name = f"ray engine, {actors} actor(s)"
            outs[name] = workdir / f"ray{actors}"
            sides[name] = base + [
                "--out",
                str(outs[name]),
                "--engine",
                "ray",
                "--encoders",
                str(actors),
                "--threads",
                "1",
            ]
        results = {name: run_side(name, command, outs[name]) for name, command in sides.items()}
        reference = shards(outs["local engine (its default plan)"])
        same = {name: shards(out) == reference for name, out in outs.items()}

    device = args.device if args.device == "cpu" else f"cuda ({torch.cuda.get_device_name(0)})"
    print(f"\n**Machine**: {helpers.cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, device {device}  ")
    print(f"**Date**: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}  ")
    print(f"**Command**: `{helpers.command_line()}`  ")
    print(f"**Load average** at start {helpers.fmt_load(load_start)}, at end {helpers.fmt_load(os.getloadavg())}  ")
    print(f"**Model**: {model_text}; bandwidth {args.bandwidth:g} kbps  ")
    print(
        f"**Corpus**: {len(paths)} wav files, {args.min_seconds:g}-{args.max_seconds:g} s, {audio_seconds:.1f} s "
        f"of audio; blocks of {args.shard_size} clips  \n"
    )
    print(
        "| side | wall s (whole command) | job s (blocks only) | audio s / wall s | x local (wall) | x local (job) "
        "| same keys and codes as local |"
    )
    print("|---|---|---|---|---|---|---|")
    local = results["local engine (its default plan)"]
    for name, r in results.items():
        print(
            f"| {name} | {r['wall']:.1f} | {r['job']:.1f} | {audio_seconds / r['wall']:.2f} | "
            f"{local['wall'] / r['wall']:.2f} | {local['job'] / r['job']:.2f} | {'yes' if same[name] else 'NO'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
