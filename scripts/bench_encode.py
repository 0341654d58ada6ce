"""Benchmark: audiotok's batched encoding against the plain transformers loop, in the same run.

A benchmark, not a test. It encodes one corpus of clips several ways and prints a markdown table
(machine, date, load, exact command) ready to paste into docs/BENCHMARKS.md:

* **baseline**: what a user writes from the transformers docs, one clip at a time:
  ``model.encode(torch.from_numpy(clip)[None], bandwidth=bw)`` under ``torch.inference_mode()``;
* **audiotok, one clip at a time**: ``Codec.encode(clip)`` per clip (the reference for "batch = single");
* **audiotok, batched**: ``Codec.encode_batch(clips, bw, max_batch_seconds=S)`` for each ``--batch-seconds`` S.

For each: audio seconds encoded per wall second, the ratio to the baseline, CPU time and minor page
faults, and code agreement. A *frame* agrees when all its K codes are equal. Against the baseline,
agreement is reported over every frame except each clip's last, and separately for the last frame,
split by whether the clip is a whole number of frames (320 samples at 24 kHz) long: for other clips
the last frame may differ by design (audiotok zero-pads the clip to whole frames, transformers pads
it by reflection; DESIGN.md fact 2). Batched vs audiotok one-at-a-time should agree on every frame
up to rare float near-ties (fact 2): the count of differing frames is reported. With ``--dtype
bfloat16`` every method runs in bf16 and its agreement with float32 codes is reported too (fact 4).

Model: the full-size 24 kHz architecture ``EncodecConfig()`` with random weights (the real cost;
DESIGN.md fact 5), made non-degenerate by ``build_demo_codec`` (fitted codebooks, so codes are
diverse rather than all zero; fact 1). ``--model DIR_OR_ID`` loads a real (unchunked) checkpoint.

Corpus: ``--clips`` clips (default 32) of seeded random durations of 1-20 s of speech-like
``synthetic_audio``; every 4th is cut to a whole number of frames so the last-frame claim is checked
both ways. ``--files DIR`` encodes the audio files in DIR instead (loaded at the codec's rate).

Interleaving: the machine may be shared, and load that changes over minutes would favour whichever
method ran in the quiet minute. So the corpus is cut into segments (clips sorted by length, at most
``max(--batch-seconds)`` of padded audio each, i.e. one batch of the largest setting), and every
method encodes segment 1, then every method segment 2, ... (order rotated per segment); each
method's times are summed. ``encode_batch`` thus gets one segment per call (for the largest setting
that is exactly its own grouping). ``--no-interleave`` runs each method once over the whole corpus.

Memory allocator (DESIGN.md fact 9): on a small CPU, glibc returns big freed buffers to the kernel
and every padded batch page-faults them back in, which can make batching *slower* than the loop.
Run the benchmark twice, with and without telling glibc to keep its memory, and report both:

    .venv/bin/python scripts/bench_encode.py
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 .venv/bin/python scripts/bench_encode.py

The table's header records which of the two a run used, and the load average: a busy machine makes
every wall-clock figure slower and noisier (the agreement figures don't depend on it). A default run
(357 s of audio, 4 methods) took 10-12 minutes on the 2-core CPU under a load average of 5-6 from other
processes; idle, that should be 2-3.5 minutes (an estimate). ``--clips`` trades time for coverage.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import EncodecConfig, EncodecModel

from audiotok.audio import load_audio
from audiotok.codecs.encodec.codec import Codec
from audiotok.codecs.encodec.demo import build_demo_codec, synthetic_audio

MALLOC_VARS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a"}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
DEFAULT_CLIPS = 32

Codes = list[torch.Tensor]


@dataclass
class Method:
    name: str
    run: Callable[[list[np.ndarray]], Sequence[object]]  # clips -> per-clip codes (tensor or AudioCodes)
    batch_seconds: float | None = None
    walls: list[float] = field(default_factory=list)  # one total per pass
    user_s: list[float] = field(default_factory=list)
    sys_s: list[float] = field(default_factory=list)
    minor_faults: list[int] = field(default_factory=list)
    codes: dict[int, torch.Tensor] = field(default_factory=dict)  # clip index -> [K, T], from the first pass

    def ordered_codes(self, count: int) -> Codes:
        return [self.codes[i] for i in range(count)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model",
        help="a hub id or local directory of a real, unchunked EnCodec checkpoint (default: "
        "full-size 24 kHz EncodecConfig() with random weights and fitted codebooks)",
    )
    parser.add_argument(
        "--clips", type=int, help=f"number of clips (default: {DEFAULT_CLIPS} synthetic; all files with --files)"
    )
    parser.add_argument("--files", type=Path, help="encode the audio files in this folder instead of synthetic clips")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest synthetic clip (default 1)")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="longest synthetic clip (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the durations, the audio and the demo codec")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--bandwidth", type=float, default=6.0, help="kbps (default 6.0: 8 codebooks)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="default float32")
    parser.add_argument(
        "--batch-seconds",
        type=float,
        nargs="+",
        default=[16.0, 64.0],
        help="max_batch_seconds values to try (default 16 64)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the corpus (median reported)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument(
        "--no-interleave", action="store_true", help="run each method once over the whole corpus, one after another"
    )
    return parser.parse_args(argv)


# -- model and corpus ------------------------------------------------------------------------------------------
def load_model(args: argparse.Namespace) -> tuple[EncodecModel, str]:
    if args.model:
        return EncodecModel.from_pretrained(args.model), args.model
    config = EncodecConfig()  # the full-size 24 kHz architecture
    fit = [synthetic_audio(2.0, config.sampling_rate, config.audio_channels, seed=10_000 + i) for i in range(3)]
    model = build_demo_codec(config, fit_audio=fit, seed=args.seed)
    return model, "EncodecConfig() (full-size 24 kHz), random weights + fitted codebooks (build_demo_codec)"


def make_corpus(args: argparse.Namespace, config: EncodecConfig) -> tuple[list[np.ndarray], str]:
    rate, channels, hop = int(config.sampling_rate), int(config.audio_channels), int(config.hop_length)
    if args.files:
        paths = sorted(p for p in args.files.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if args.clips:
            paths = paths[: args.clips]
        if not paths:
            sys.exit(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) in {args.files}")
        clips = [load_audio(p, None, rate, channels) for p in paths]
        return clips, f"{len(clips)} files from {args.files}"
    count = args.clips or DEFAULT_CLIPS
    rng = np.random.default_rng(args.seed)
    clips = []
    for i, seconds in enumerate(rng.uniform(args.min_seconds, args.max_seconds, count)):
        clip = synthetic_audio(float(seconds), rate, channels, seed=args.seed + i)
        if i % 4 == 0:  # a whole number of frames: the last frame must agree with the baseline too
            clip = clip[:, : clip.shape[-1] // hop * hop]
        clips.append(clip)
    return clips, (
        f"{count} synthetic speech-like clips, {args.min_seconds:g}-{args.max_seconds:g} s "
        f"(seed {args.seed}; every 4th a whole number of frames)"
    )


def segments(lengths: list[int], hop: int, budget_samples: float) -> list[list[int]]:
    """Clip indices sorted by length, cut greedily into groups of at most ``budget_samples`` padded samples."""
    out: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        padded = -(-lengths[index] // hop) * hop
        if out and padded * (len(out[-1]) + 1) <= budget_samples:
            out[-1].append(index)
        else:
            out.append([index])
    return out


# -- the methods ---------------------------------------------------------------------------------------------------
def baseline_runner(
    model: EncodecModel, bandwidth: float, device: torch.device, dtype: torch.dtype
) -> Callable[[list[np.ndarray]], Codes]:
    """The transformers-docs loop: one clip at a time, codes brought back to the CPU."""

    def run(clips: list[np.ndarray]) -> Codes:
        out = []
        with torch.inference_mode():
            for clip in clips:
                codes = model.encode(torch.from_numpy(clip)[None].to(device, dtype), bandwidth=bandwidth).audio_codes
                out.append(codes[0, 0].cpu())
        return out

    return run


def plain_codes(item: object) -> torch.Tensor:
    """``[K, T]`` codes from a tensor or from an object holding them in ``.codes`` (audiotok's AudioCodes)."""
    codes = getattr(item, "codes", item)
    assert isinstance(codes, torch.Tensor), type(codes)
    return codes


@dataclass
class Usage:
    wall: float = 0.0
    user: float = 0.0
    sys: float = 0.0
    faults: int = 0


def timed(method: Method, clips: list[np.ndarray], indices: list[int], device: torch.device, usage: Usage) -> None:
    """Runs ``method`` on the clips ``indices``, adds its cost to ``usage`` and keeps the first codes."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = method.run([clips[i] for i in indices])
    sync()
    usage.wall += time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    usage.user += after.ru_utime - before.ru_utime
    usage.sys += after.ru_stime - before.ru_stime
    usage.faults += after.ru_minflt - before.ru_minflt
    for index, item in zip(indices, result):
        method.codes.setdefault(index, plain_codes(item))


# -- agreement -------------------------------------------------------------------------------------------------
def frames_equal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-frame equality of two ``[K, T]`` code arrays (compared over the shorter length)."""
    t = min(a.shape[-1], b.shape[-1])
    return (a[:, :t] == b[:, :t]).all(dim=0)


def vs_baseline(codes: Codes, ref: Codes, whole: list[bool]) -> tuple[str, str]:
    """(frames but each clip's last: % equal and count differing, last frame: equal per clip kind)."""
    body_same = body_total = 0
    last = {True: [0, 0], False: [0, 0]}
    for c, r, is_whole in zip(codes, ref, whole):
        if c.shape != r.shape:
            return f"shape mismatch {tuple(c.shape)} vs {tuple(r.shape)}", "-"
        eq = frames_equal(c, r)
        body_same += int(eq[:-1].sum())
        body_total += eq.numel() - 1
        last[is_whole][0] += int(eq[-1])
        last[is_whole][1] += 1
    body = f"{100 * body_same / max(body_total, 1):.3f} % ({body_total - body_same} of {body_total} differ)"
    last_text = f"{last[True][0]}/{last[True][1]} whole-frame clips; {last[False][0]}/{last[False][1]} others"
    return body, last_text


def where_they_differ(codes: Codes, ref: Codes, limit: int = 12) -> str:
    """Differing frames as ``clip:frame/frames (codebook k first)``, to tell scattered ties from a pattern."""
    found = []
    for clip, (c, r) in enumerate(zip(codes, ref)):
        if c.shape != r.shape:
            found.append(f"{clip}: shape {tuple(c.shape)} vs {tuple(r.shape)}")
            continue
        for t in torch.nonzero(~frames_equal(c, r)).flatten().tolist():
            k = int(torch.nonzero(c[:, t] != r[:, t])[0])
            found.append(f"{clip}:{t}/{r.shape[-1]} (k={k})")
    more = f", ... {len(found) - limit} more" if len(found) > limit else ""
    return ", ".join(found[:limit]) + more


def differing_frames(codes: Codes, ref: Codes) -> tuple[int, int]:
    diff = sum(int((~frames_equal(c, r)).sum()) + abs(c.shape[-1] - r.shape[-1]) for c, r in zip(codes, ref))
    return diff, sum(r.shape[-1] for r in ref)


# -- report ----------------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def command_line() -> str:
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in MALLOC_VARS if k in os.environ)
    python = Path(sys.executable)
    try:
        python = python.relative_to(Path.cwd())  # e.g. .venv/bin/python
    except ValueError:
        python = Path("python")
    return f"{env} {shlex.join([str(python), *sys.argv])}".strip()


def grouping(codec: Codec, lengths: list[int], batch_seconds: float, groups: list[list[int]]) -> tuple[str, str]:
    """(batches, padded / real audio) of encode_batch over ``groups``, from Codec's own (private) grouping."""
    length_batches = getattr(codec, "_length_batches", None)
    if length_batches is None:
        return "?", "?"
    count = padded = 0
    for group in groups:
        sub = [lengths[i] for i in group]
        try:
            batches = length_batches(sub, batch_seconds, pad_ok=True)
        except TypeError:  # older signature
            batches = length_batches(sub, batch_seconds)
        count += len(batches)
        padded += sum(len(b) * max(codec.num_frames(sub[i]) for i in b) * codec.hop_length for b in batches)
    return str(count), f"{padded / sum(lengths):.3f}"


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    t0 = time.perf_counter()
    load_before = os.getloadavg()

    model, model_text = load_model(args)
    config = model.config
    if getattr(config, "chunk_length", None) is not None:
        sys.exit(
            "this benchmark covers unchunked models (24 kHz): a chunked model's (48 kHz) baseline output is "
            "per-chunk codes padded to whole chunks, which it does not compare"
        )
    clips, corpus_text = make_corpus(args, config)
    rate, hop = int(config.sampling_rate), int(config.hop_length)
    lengths = [c.shape[-1] for c in clips]
    whole = [n % hop == 0 for n in lengths]
    audio_seconds = sum(lengths) / rate
    print(f"corpus: {corpus_text}, {audio_seconds:.1f} s of audio", file=sys.stderr, flush=True)

    reference32: Codes | None = None
    if dtype != torch.float32:  # float32 codes to judge the half-precision codes against (untimed)
        codec32 = Codec(copy.deepcopy(model), device=device, dtype=torch.float32)
        largest = max(args.batch_seconds)
        reference32 = [plain_codes(c) for c in codec32.encode_batch(clips, args.bandwidth, max_batch_seconds=largest)]
        del codec32
    codec = Codec(model, device=device, dtype=dtype)  # casts and moves the shared model in place
    model = codec.model

    methods = [
        Method(
            "transformers `model.encode`, one clip at a time (baseline)",
            baseline_runner(model, args.bandwidth, device, dtype),
        ),
        Method("audiotok `Codec.encode`, one clip at a time", lambda cs: [codec.encode(c, args.bandwidth) for c in cs]),
    ]
    for seconds in args.batch_seconds:
        methods.append(
            Method(
                f"audiotok `Codec.encode_batch`, max_batch_seconds={seconds:g}",
                lambda cs, s=seconds: codec.encode_batch(cs, args.bandwidth, max_batch_seconds=s),
                batch_seconds=seconds,
            )
        )
    budget = float("inf") if args.no_interleave else max(args.batch_seconds) * rate
    groups = segments(lengths, hop, budget) if budget < float("inf") else [list(range(len(clips)))]

    # warm-up: every method once on a few clips of different lengths (allocator, kernels, CUDA context)
    warm = [synthetic_audio(s, rate, int(config.audio_channels), seed=99_999) for s in (1.3, 2.0, 3.7)]
    for method in methods:
        method.run(warm)
    codec_seconds = time.perf_counter() - t0

    for p in range(args.repeat):
        usage = {id(m): Usage() for m in methods}
        for j, group in enumerate(groups):
            shift = (j + p) % len(methods)
            for method in methods[shift:] + methods[:shift]:
                timed(method, clips, group, device, usage[id(method)])
        for method in methods:
            u = usage[id(method)]
            method.walls.append(u.wall)
            method.user_s.append(u.user)
            method.sys_s.append(u.sys)
            method.minor_faults.append(u.faults)
            print(f"pass {p + 1}/{args.repeat}: {method.name}: {u.wall:.2f} s", file=sys.stderr, flush=True)

    count = len(clips)
    base, single = methods[0], methods[1]
    base_codes, single_codes = base.ordered_codes(count), single.ordered_codes(count)
    base_wall = statistics.median(base.walls)
    if device.type == "cuda":
        device_text = f"cuda ({torch.cuda.get_device_name(device)}; cudnn.allow_tf32={torch.backends.cudnn.allow_tf32})"
    else:
        device_text = "cpu"
    malloc = ", ".join(f"{k}={os.environ[k]}" for k in MALLOC_VARS if k in os.environ) or "unset (glibc defaults)"
    schedule = (
        "each method once over the whole corpus"
        if args.no_interleave
        else f"interleaved over {len(groups)} segments of <= {max(args.batch_seconds):g} s"
    )

    print(
        f"\n**Machine**: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"Python {platform.python_version()}, device {device_text}  "
    )
    print(f"**Date**: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}  ")
    print(f"**Command**: `{command_line()}`  ")
    print(f"**glibc malloc env**: {malloc}  ")
    print(
        f"**Load average** (1 / 5 / 15 min; other processes on the machine): at start {fmt_load(load_before)}, "
        f"at end {fmt_load(os.getloadavg())}  "
    )
    print(
        f"**Model**: {model_text}; bandwidth {args.bandwidth:g} kbps "
        f"({codec.num_codebooks(args.bandwidth)} codebooks), dtype {args.dtype}  "
    )
    print(
        f"**Corpus**: {corpus_text}: {audio_seconds:.1f} s of audio, {sum(whole)} of {count} clips a whole "
        f"number of frames; warm-up, then {args.repeat} timed pass(es), {schedule}\n"
    )

    header = [
        "method",
        "batches",
        "padded / real audio",
        "wall s (median [best])" if args.repeat > 1 else "wall s",
        "audio s / wall s",
        "x baseline",
        "CPU s user / sys",
        "minor faults",
        "frames = baseline (all but each clip's last)",
        "last frame = baseline",
        "frames != audiotok one-at-a-time",
    ]
    if reference32 is not None:
        header.append("frames = float32 codes")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    frames_padded = f"{sum(-(-n // hop) * hop for n in lengths) / sum(lengths):.3f}"
    for method in methods:
        codes = method.ordered_codes(count)
        wall = statistics.median(method.walls)
        if method.batch_seconds is not None:
            batches, pad = grouping(codec, lengths, method.batch_seconds, groups)
        else:
            batches, pad = str(count), frames_padded
        body, last = ("-", "-") if method is base else vs_baseline(codes, base_codes, whole)
        if method.batch_seconds is None:
            vs_single = "-"
        else:
            diff, total = differing_frames(codes, single_codes)
            vs_single = f"{diff} of {total}"
        row = [
            method.name,
            batches,
            pad,
            f"{wall:.2f} [{min(method.walls):.2f}]" if args.repeat > 1 else f"{wall:.2f}",
            f"{audio_seconds / wall:.1f}",
            f"{base_wall / wall:.2f}",
            f"{statistics.median(method.user_s):.1f} / {statistics.median(method.sys_s):.1f}",
            f"{statistics.median(method.minor_faults) / 1e6:.2f} M",
            body,
            last,
            vs_single,
        ]
        if reference32 is not None:
            diff, total = differing_frames(codes, reference32)
            row.append(f"{100 * (total - diff) / total:.2f} %")
        print("| " + " | ".join(row) + " |")
    print()
    for method in methods[2:]:
        where = where_they_differ(method.ordered_codes(count), single_codes)
        if where:
            print(
                f"Frames of `max_batch_seconds={method.batch_seconds:g}` that differ from one-at-a-time "
                f"(clip:frame/frames, first differing codebook k): {where}  "
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Peak RSS {peak:.0f} MiB; model build + corpus + warm-up {codec_seconds:.0f} s; "
        f"whole run {time.perf_counter() - t0:.0f} s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
