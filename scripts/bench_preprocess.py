"""Benchmark: the dataset job (``audiotok preprocess``) against the plain transformers loop, same machine, same run.

A benchmark, not a test. It writes a corpus of audio files, turns it into codes twice and prints a
markdown table (machine, date, load, exact command) ready to paste into docs/BENCHMARKS.md:

* **baseline**: what a user writes from the transformers docs, one file at a time in one process:
  ``soundfile.read`` + ``librosa.resample`` to the codec's rate +
  ``model.encode(torch.from_numpy(x)[None, None], bandwidth=6.0)`` under ``torch.inference_mode()``.
  The timed span is the loop over the files (the model is loaded before it; its load time is printed).
* **pipeline**: ``audiotok.preprocess.run(Options(source=DIR, out=..., model=MODEL_DIR, ...))`` timed end
  to end (wall: model load, source listing, DataLoader worker start, decoding/resampling in the
  workers, length-bucketed batched encoding, Parquet shards, manifests). The share of the job's time
  the encoder waited for decoded audio comes from its ``manifest-rank000.json`` (``this_run``).

For each: audio seconds per wall second, the ratio to the baseline, and CPU seconds (this process
plus its reaped child processes, i.e. the DataLoader workers), which the machine's other load
disturbs less than wall time. Then code agreement over every clip: the pipeline's stored codes
(``audiotok.shards.read_shards(out)["codes"]``) against the baseline's. A *frame* agrees when all its
K codes are equal. Agreement is reported over every frame but each clip's last, and for the last
frame separately, split by whether the clip (at the codec's rate) is a whole number of frames (320
samples at 24 kHz): for other clips the last frame can differ by design (audiotok zero-pads a clip
to whole frames, transformers pads it by reflection; docs/design.md, fact 2). Elsewhere the two agree up
to rare float near-ties (a batch changes CPU kernels' rounding by ~1e-7; fact 2): the count is shown.

Model: the full-size 24 kHz architecture ``EncodecConfig()`` with random weights (the real cost;
docs/design.md, fact 5), made non-degenerate by ``build_demo_codec`` (fitted codebooks, so codes are
diverse, not all zero; fact 1), saved with ``save_pretrained`` to a temporary directory that both
sides load by path. ``--model DIR_OR_ID`` passes a real (unchunked, mono) checkpoint instead.

Corpus: ``--clips`` wav files (16-bit PCM) of seeded uniform random durations in
[``--min-seconds``, ``--max-seconds``] (default 1-20 s) of speech-like ``synthetic_audio``, at 16, 24
and 44.1 kHz in turn, in a temporary directory; every 4th clip is cut so that it resamples to a whole
number of codec frames, so the last-frame claim is checked both ways. The default, 60 clips, is
631 s (10.5 minutes) of audio: on the 2-core CPU a run took 1.5-4 minutes with ``--threads 1`` and
4-10 minutes with torch's default 2 threads while other jobs loaded the machine (docs/BENCHMARKS.md).
``--clips 500`` (the size the issue suggested) works too: about 5,500 s (1.5 hours) of audio, so
at the 10-14 audio s per wall s measured with ``--threads 1`` expect 12-18 minutes per run (both
passes); at 2 threads on a loaded machine the baseline alone can take over half an hour.

Threads: with other processes on the machine, torch's default 2 threads made each ``model.encode``
call several times slower (a 0.3 s clip took 0.04 s with 1 thread and 0.24-2.5 s with 2 in a probe
here, likely OpenMP threads waiting at every parallel region for a partner the scheduler gave away),
which hurts the baseline's many small calls most; ``--threads 1`` gives steadier figures on a shared
2-core CPU. The load average is recorded.

Memory allocator (docs/design.md, fact 9): on a small CPU, glibc hands big freed buffers back to the
kernel and every padded batch page-faults them in again. glibc reads its settings at process
start, so run the benchmark twice and report both:

    .venv/bin/python scripts/bench_preprocess.py
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 .venv/bin/python scripts/bench_preprocess.py

The header records which of the two a run used (the DataLoader workers inherit it).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import math
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import librosa
import numpy as np
import soundfile as sf
import torch
import transformers
from transformers import EncodecConfig, EncodecModel

from audiotok.codecs.encodec.demo import build_demo_codec, synthetic_audio
from audiotok.preprocess import Options, RankInfo, run
from audiotok.shards import read_shards

DEFAULT_CLIPS = 60
FILE_RATES = (16_000, 24_000, 44_100)


def machine_helpers() -> ModuleType:
    """scripts/bench_encode.py, for its machine-info helpers (cpu_model, command_line, fmt_load, MALLOC_VARS)."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    return importlib.import_module("bench_encode")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model",
        help="hub id or local directory of a real, unchunked mono EnCodec checkpoint (default: full-size "
        "24 kHz EncodecConfig() with random weights and fitted codebooks, saved to a temporary directory)",
    )
    parser.add_argument(
        "--clips", type=int, default=DEFAULT_CLIPS, help=f"files in the corpus (default {DEFAULT_CLIPS})"
    )
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest clip (default 1)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="longest clip (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the durations, the audio and the demo codec")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N, for both sides (default cpu)")
    parser.add_argument("--num-workers", type=int, default=2, help="the job's decoding processes (default 2)")
    parser.add_argument(
        "--batch-seconds", type=float, default=64.0, help="the job's padded audio per encoder batch (default 64)"
    )
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for the encoding process")
    parser.add_argument("--bandwidth", type=float, default=6.0, help="kbps (default 6.0: 8 codebooks)")
    parser.add_argument(
        "--pipeline-first", action="store_true", help="run the pipeline before the baseline (default: after)"
    )
    return parser.parse_args(argv)


# -- model and corpus ------------------------------------------------------------------------------------------
def prepare_model(args: argparse.Namespace, workdir: Path) -> tuple[str, str]:
    """(path or id both sides load, description)."""
    if args.model:
        return args.model, args.model
    config = EncodecConfig()  # the full-size 24 kHz architecture
    fit = [synthetic_audio(1.0, config.sampling_rate, config.audio_channels, seed=10_000 + i) for i in range(2)]
    model = build_demo_codec(config, fit_audio=fit, seed=args.seed)
    directory = workdir / "model"
    model.save_pretrained(directory)
    return str(directory), "EncodecConfig() (full-size 24 kHz), random weights + fitted codebooks (build_demo_codec)"


def resampled_length(samples: int, file_rate: int, codec_rate: int) -> int:
    """Samples after ``librosa.resample`` (which computes ``ceil(samples * float(target / orig))``)."""
    return samples if file_rate == codec_rate else int(np.ceil(samples * (float(codec_rate) / file_rate)))


def whole_frame_length(samples: int, file_rate: int, codec_rate: int, hop: int) -> int:
    """The longest length <= ``samples`` (at least one unit) that resamples to a whole number of codec frames."""
    unit = hop * file_rate // math.gcd(hop * file_rate, codec_rate)  # exact in rationals; librosa rounds in floats
    count = max(1, samples // unit)
    while count > 1 and resampled_length(count * unit, file_rate, codec_rate) % hop:
        count -= 1
    return count * unit


def write_corpus(args: argparse.Namespace, folder: Path, codec_rate: int, hop: int) -> tuple[list[Path], float]:
    """Writes the wav files; returns their paths and their total duration in seconds."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(args.seed)
    paths, total = [], 0.0
    for i, seconds in enumerate(rng.uniform(args.min_seconds, args.max_seconds, args.clips)):
        rate = FILE_RATES[i % len(FILE_RATES)]
        clip = synthetic_audio(float(seconds), rate, 1, seed=args.seed + i)[0]
        if i % 4 == 0:
            clip = clip[: whole_frame_length(clip.shape[-1], rate, codec_rate, hop)]
        path = folder / f"clip{i:05d}-{rate}hz.wav"
        sf.write(path, clip, rate, subtype="PCM_16")
        paths.append(path)
        total += clip.shape[-1] / rate
    return paths, total


# -- the two sides ---------------------------------------------------------------------------------------------
@dataclass
class Cost:
    wall: float = 0.0
    user: float = 0.0
    sys: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


class Meter:
    """Wall time and CPU time of this process plus its reaped children (the DataLoader workers)."""

    def __enter__(self) -> Meter:
        self.cost = Cost(load_before=os.getloadavg())
        self._usage = self._cpu()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cost.wall = time.perf_counter() - self._start
        user, system = self._cpu()
        self.cost.user, self.cost.sys = user - self._usage[0], system - self._usage[1]
        self.cost.load_after = os.getloadavg()

    @staticmethod
    def _cpu() -> tuple[float, float]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime


def run_baseline(
    model_path: str, paths: list[Path], bandwidth: float, device: torch.device
) -> tuple[dict[str, torch.Tensor], dict[str, int], Cost, float]:
    """The transformers-docs loop. Returns codes and resampled length per file name, the loop's cost, load time."""
    start = time.perf_counter()
    model: Any = EncodecModel.from_pretrained(model_path).to(device).eval()
    load_seconds = time.perf_counter() - start
    rate = int(model.config.sampling_rate)
    codes: dict[str, torch.Tensor] = {}
    lengths: dict[str, int] = {}
    with Meter() as meter, torch.inference_mode():
        for path in paths:
            x, sr = sf.read(path, dtype="float32")
            x = librosa.resample(x, orig_sr=sr, target_sr=rate)
            out = model.encode(torch.from_numpy(x)[None, None].to(device), bandwidth=bandwidth)
            codes[path.name] = out.audio_codes[0, 0].cpu()
            lengths[path.name] = x.shape[-1]
    del model
    gc.collect()
    return codes, lengths, meter.cost, load_seconds


def run_pipeline(args: argparse.Namespace, model_path: str, source: Path, out: Path) -> tuple[dict[str, Any], Cost]:
    options = Options(
        source=str(source),
        out=str(out),
        model=model_path,
        bandwidth=args.bandwidth,
        device=args.device,
        num_workers=args.num_workers,
        batch_seconds=args.batch_seconds,
    )
    with Meter() as meter:
        run(options, RankInfo(0, 1))
    manifest = json.loads((out / "manifest-rank000.json").read_text())
    return manifest, meter.cost


def warm_up(model_path: str, device: torch.device, bandwidth: float) -> None:
    """Lazy imports (librosa's resampler) and first-call kernel setup, outside both timed spans."""
    librosa.resample(np.zeros(4410, dtype=np.float32), orig_sr=44_100, target_sr=24_000)
    model: Any = EncodecModel.from_pretrained(model_path).to(device).eval()
    with torch.inference_mode():
        model.encode(torch.zeros(1, 1, int(model.config.sampling_rate), device=device), bandwidth=bandwidth)
    del model
    gc.collect()


# -- agreement -------------------------------------------------------------------------------------------------
@dataclass
class Agreement:
    body_same: int = 0
    body_total: int = 0
    last_same: tuple[int, int] = (0, 0)  # whole-frame clips
    last_total: tuple[int, int] = (0, 0)
    shape_mismatch: int = 0
    missing: int = 0
    body_diff_clips: int = 0  # clips with a differing frame other than their last
    first_level: dict[int, int] = field(default_factory=dict)  # differing frame -> its first differing codebook
    codes_differing: int = 0  # codes (of K per frame) that differ in those frames


def compare(
    stored: dict[str, np.ndarray], baseline: dict[str, torch.Tensor], lengths: dict[str, int], hop: int
) -> Agreement:
    """Frame agreement of the pipeline's codes with the baseline's (see the module docstring)."""
    result = Agreement()
    last_same, last_total = [0, 0], [0, 0]
    for name, ref in baseline.items():
        if name not in stored:
            result.missing += 1
            continue
        ours = torch.from_numpy(stored[name].astype(np.int64))
        if ours.shape != ref.shape:
            result.shape_mismatch += 1
            continue
        same = ours == ref
        equal = same.all(dim=0)
        body = (~equal[:-1]).nonzero().flatten()
        result.body_diff_clips += int(body.numel() > 0)
        result.codes_differing += int((~same[:, body]).sum())
        for frame in body.tolist():
            level = int((~same[:, frame]).nonzero()[0])
            result.first_level[level] = result.first_level.get(level, 0) + 1
        result.body_same += int(equal[:-1].sum())
        result.body_total += equal.numel() - 1
        kind = 0 if lengths[name] % hop == 0 else 1
        last_same[kind] += int(equal[-1])
        last_total[kind] += 1
    result.last_same, result.last_total = (last_same[0], last_same[1]), (last_total[0], last_total[1])
    return result


# -- report ----------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    helpers = machine_helpers()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    t0 = time.perf_counter()
    load_start = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="bench_preprocess-") as tmp:
        workdir = Path(tmp)
        model_path, model_text = prepare_model(args, workdir)
        config = EncodecConfig.from_pretrained(model_path)
        if config.chunk_length is not None or config.audio_channels != 1:
            sys.exit("this benchmark covers unchunked mono models (24 kHz); the baseline here encodes [1, 1, L]")
        codec_rate, hop = int(config.sampling_rate), int(config.hop_length)
        paths, audio_seconds = write_corpus(args, workdir / "corpus", codec_rate, hop)
        print(f"corpus: {len(paths)} files, {audio_seconds:.1f} s of audio", file=sys.stderr, flush=True)
        warm_up(model_path, device, args.bandwidth)
        setup_seconds = time.perf_counter() - t0

        def baseline_side() -> tuple[dict[str, torch.Tensor], dict[str, int], Cost, float]:
            result = run_baseline(model_path, paths, args.bandwidth, device)
            print(f"baseline: {result[2].wall:.1f} s", file=sys.stderr, flush=True)
            return result

        def pipeline_side() -> tuple[dict[str, Any], Cost]:
            result = run_pipeline(args, model_path, workdir / "corpus", workdir / "out")
            print(f"pipeline: {result[1].wall:.1f} s", file=sys.stderr, flush=True)
            return result

        if args.pipeline_first:
            manifest, pipe = pipeline_side()
            base_codes, lengths, base, base_load = baseline_side()
        else:
            base_codes, lengths, base, base_load = baseline_side()
            manifest, pipe = pipeline_side()

        shards = read_shards(workdir / "out")
        stored = {key: np.asarray(codes) for key, codes in zip(shards["key"], shards["codes"])}
        agreement = compare(stored, base_codes, lengths, hop)
        shard_bytes = sum(p.stat().st_size for p in (workdir / "out").glob("*.parquet"))

    whole = sum(1 for n in lengths.values() if n % hop == 0)
    device_text = f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"
    malloc = ", ".join(f"{k}={os.environ[k]}" for k in helpers.MALLOC_VARS if k in os.environ)
    per_rate = {rate: sum(1 for p in paths if p.name.endswith(f"-{rate}hz.wav")) for rate in FILE_RATES}
    fmt_load = helpers.fmt_load

    print(
        f"\n**Machine**: {helpers.cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"Python {platform.python_version()}, device {device_text}  "
    )
    print(f"**Date**: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}  ")
    print(f"**Command**: `{helpers.command_line()}`  ")
    print(f"**glibc malloc env**: {malloc or 'unset (glibc defaults)'}  ")
    print(
        f"**Load average** (1 / 5 / 15 min; includes other processes on the machine): at start "
        f"{fmt_load(load_start)}, at end {fmt_load(os.getloadavg())}  "
    )
    print(f"**Model**: {model_text}; bandwidth {args.bandwidth:g} kbps  ")
    print(
        f"**Corpus**: {len(paths)} mono 16-bit wav files "
        f"({', '.join(f'{n} at {r / 1000:g} kHz' for r, n in per_rate.items())}), "
        f"{args.min_seconds:g}-{args.max_seconds:g} s uniform (seed {args.seed}): {audio_seconds:.1f} s of audio; "
        f"{whole} of {len(paths)} clips a whole number of frames at {codec_rate / 1000:g} kHz  "
    )
    print(
        f"**Pipeline options**: num_workers={args.num_workers}, batch_seconds={args.batch_seconds:g}, "
        f"device={args.device}; run {'first' if args.pipeline_first else 'second'}\n"
    )

    header = [
        "method",
        "timed span",
        "wall s",
        "audio s / wall s",
        "x baseline",
        "CPU s user / sys (incl. workers)",
        "encoder waited for data",
        "load avg 1 min (before / after)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    rows = [
        (
            "transformers loop: soundfile + librosa.resample + `model.encode`, one file at a time (baseline)",
            f"the loop (model load {base_load:.1f} s, not counted)",
            base,
            "-",
        ),
        (
            "`audiotok.preprocess.run` (DataLoader decoding + batched encoding + Parquet shards)",
            f"end to end (job's own timer {manifest['this_run']['seconds']:.1f} s)",
            pipe,
            f"{manifest['this_run']['data_wait_share']:.1%}",
        ),
    ]
    for name, span, cost, wait in rows:
        cells = [
            name,
            span,
            f"{cost.wall:.1f}",
            f"{audio_seconds / cost.wall:.2f}",
            f"{base.wall / cost.wall:.2f}",
            f"{cost.user:.0f} / {cost.sys:.0f}",
            wait,
            f"{cost.load_before[0]:.2f} / {cost.load_after[0]:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")

    a = agreement
    print("\n| codes: pipeline vs baseline | result |")
    print("|---|---|")
    body_diff = a.body_total - a.body_same
    print(
        f"| frames identical, all but each clip's last | {100 * a.body_same / max(a.body_total, 1):.4f} % "
        f"({body_diff} of {a.body_total} differ) |"
    )
    print(f"| last frame identical, whole-frame clips | {a.last_same[0]} of {a.last_total[0]} |")
    print(f"| last frame identical, other clips (zero vs reflect padding) | {a.last_same[1]} of {a.last_total[1]} |")
    if body_diff:
        levels = ", ".join(f"{level}: {count}" for level, count in sorted(a.first_level.items()))
        print(
            f"| where those {body_diff} frames differ | {a.body_diff_clips} clips; first differing codebook "
            f"(frames): {levels}; {a.codes_differing} codes differ in all |"
        )
    print(f"| clips missing from the shards / with a different frame count | {a.missing} / {a.shape_mismatch} |")
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"\nEncoded {manifest['encoded']} clips, {manifest['failed']} failed; shards {shard_bytes / 1e6:.1f} MB. "
        f"Peak RSS {peak_self:.0f} MiB (largest worker {peak_child:.0f} MiB); setup (model, corpus, warm-up) "
        f"{setup_seconds:.0f} s; whole run {time.perf_counter() - t0:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
