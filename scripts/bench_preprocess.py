"""Benchmark: the dataset job with its defaults against the plain one-clip loop and codec-bpe's batched encoder.

A benchmark, not a test. It writes a corpus of audio files, turns it into codes three ways, each in a
fresh Python process of its own (so one side's allocator settings, threads or memory never carry over
to the next), and prints a markdown table (machine, date, load, exact command) ready to paste into
docs/BENCHMARKS.md:

* **baseline**: what a user writes from the transformers docs, one file at a time in one process, with
  torch's default threads and glibc's defaults: ``soundfile.read`` + ``librosa.resample`` to the codec's
  rate + ``model.encode(torch.from_numpy(x)[None, None], bandwidth=6.0)`` under ``torch.inference_mode()``.
  The timed span is the loop over the files (model load and a warm-up call come before it).
* **audiotok**: ``audiotok.preprocess.run(Options(source=DIR, out=..., model=MODEL_DIR, bandwidth=...))``
  with the job's defaults, i.e. the execution plan it picks from the device (``audiotok/plan.py``; the
  plan is printed), timed end to end: model load, source listing, starting the encoder and decoding
  processes, decoding/resampling, batched encoding, Parquet shards, manifests. ``--batch-seconds``,
  ``--num-workers``, ``--encoders`` and ``--threads`` override the plan (default: not passed).
* **codec-bpe**: codec-bpe 1.4.1's ``AudioEncoder(codec_model=MODEL_DIR, codec_type=CodecTypes.ENCODEC,
  device=..., batch_size=N, bandwidth=...).encode_audio(DIR, CODES_DIR)`` (``librosa.load`` at the codec's
  rate, 30 s chunks, batches of N consecutive chunks zero-padded to the longest by the EnCodec feature
  extractor, one ``.npy`` per file). The timed span is ``encode_audio`` (the model load and a warm-up
  call, ``get_codec_info()``, come before it). It is a benchmark peer, not a dependency of audiotok:
  ``pip install codec-bpe==1.4.1 --no-deps``. It loads ``AutoProcessor.from_pretrained(MODEL_DIR)``, so the
  saved demo model directory also gets ``EncodecFeatureExtractor(sampling_rate=24000, feature_size=1)``.

For each: audio seconds per wall second, the ratio to the baseline, CPU seconds (the side's process plus
its reaped child processes) and memory. Memory is given two ways. **ru_maxrss**: the peak resident set of
the side's own process, and separately of the largest of its reaped child processes (the job's encoder
and decoding processes; the kernel keeps the largest child's peak, not a sum); each includes the model
load. **tree PSS**: the proportional set size summed over the side's process and all its descendants,
sampled every 0.5 s by this script from outside (shared pages are split between the processes sharing
them, so this is what the side held in all at once; it can miss a peak shorter than a sample).

Then code agreement over every clip against the baseline's codes: the job's stored codes
(``audiotok.shards.read_shards(out)["codes"]``) and codec-bpe's ``.npy`` files. A *frame* agrees when all
its K codes are equal. Agreement is reported over every frame but each clip's last, and for the last
frame separately, split by whether the clip (at the codec's rate) is a whole number of frames (320
samples at 24 kHz): for other clips the last frame can differ by design (a clip padded by zeros, as
audiotok does and as codec-bpe does to all but the longest clip of a batch, against transformers'
reflection padding of a lone clip; docs/design.md, fact 2). Elsewhere they agree up to rare float
near-ties (a batch changes CPU kernels' rounding by ~1e-7; fact 2): the count is shown, with how many
lie within 8 frames of a clip's end or of a 30 s mark (where codec-bpe cuts a longer clip into chunks
encoded separately; ``--min-seconds 30 --max-seconds 75`` exercises that).

Model: the full-size 24 kHz architecture ``EncodecConfig()`` with random weights (the real cost;
docs/design.md, fact 5), made non-degenerate by ``build_demo_codec`` (fitted codebooks, so codes are
diverse, not all zero; fact 1), saved with ``save_pretrained`` to a temporary directory that every side
loads by path. ``--model DIR_OR_ID`` passes a real (unchunked, mono) checkpoint instead.

Corpus: ``--clips`` wav files (16-bit PCM) of seeded uniform random durations in
[``--min-seconds``, ``--max-seconds``] (default 1-20 s) of speech-like ``synthetic_audio``, at 16, 24
and 44.1 kHz in turn, in a temporary directory; every 4th clip is cut so that it resamples to a whole
number of codec frames, so the last-frame claim is checked both ways. The default, 60 clips, is
631 s (10.5 minutes) of audio; on the 2-core CPU one run of all three sides takes about 3-10 minutes
depending on the machine's other load (docs/BENCHMARKS.md). The load average is recorded.

Memory allocator: no glibc variables are set for any side (the header says what the environment had).
The job tells glibc itself, from inside its processes, to keep freed memory when its plan says so
(``audiotok.plan.keep_freed_memory``); the baseline and codec-bpe run with glibc's defaults.

GPU: ``--device cuda`` runs all three sides on the GPU (the job then picks its GPU plan).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
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

DEFAULT_CLIPS = 60
FILE_RATES = (16_000, 24_000, 44_100)
SIDES = ("baseline", "audiotok", "codec-bpe")
SAMPLE_SECONDS = 0.5
CODEC_BPE_CHUNK_SECONDS = 30.0  # AudioEncoder's default chunk_size_secs


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
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N, for every side (default cpu)")
    parser.add_argument("--bandwidth", type=float, default=6.0, help="kbps (default 6.0: 8 codebooks)")
    parser.add_argument(
        "--sides",
        default=",".join(SIDES),
        help=f"which sides to run, in this order, comma-separated; baseline is required (default {','.join(SIDES)})",
    )
    parser.add_argument(
        "--codec-bpe-batch-size", type=int, default=8, help="codec-bpe's AudioEncoder batch_size (default 8)"
    )
    overrides = parser.add_argument_group("overrides of the job's execution plan (default: the plan's choice)")
    overrides.add_argument("--batch-seconds", type=float, help="padded audio per encoder batch")
    overrides.add_argument("--num-workers", type=int, help="decoding processes")
    overrides.add_argument("--encoders", type=int, help="encoder processes (CPU)")
    overrides.add_argument("--threads", type=int, help="torch threads per encoder")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # internal: run one side in this process
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.side_list = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = [s for s in args.side_list if s not in SIDES]
    if unknown or "baseline" not in args.side_list:
        parser.error(f"--sides takes some of {', '.join(SIDES)}, baseline included; got {args.sides!r}")
    return args


# -- model and corpus ------------------------------------------------------------------------------------------
def prepare_model(args: argparse.Namespace, workdir: Path) -> tuple[str, str]:
    """(path or id every side loads, description)."""
    if args.model:
        return args.model, args.model
    config = EncodecConfig()  # the full-size 24 kHz architecture
    fit = [synthetic_audio(1.0, config.sampling_rate, config.audio_channels, seed=10_000 + i) for i in range(2)]
    model = build_demo_codec(config, fit_audio=fit, seed=args.seed)
    directory = workdir / "model"
    model.save_pretrained(directory)
    # codec-bpe loads AutoProcessor.from_pretrained(MODEL_DIR): the feature extractor a hub checkpoint ships
    transformers.EncodecFeatureExtractor(sampling_rate=config.sampling_rate, feature_size=1).save_pretrained(directory)
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


# -- one side, in its own process ------------------------------------------------------------------------------
@dataclass
class Cost:
    wall: float = 0.0
    user: float = 0.0
    sys: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    maxrss_self_mib: float = 0.0
    maxrss_children_mib: float = 0.0
    tree_pss_mib: float = 0.0
    setup_seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


class Meter:
    """Wall time and CPU time of this process plus its reaped children (the job's encoder and decoding processes)."""

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


def warm_librosa() -> None:
    librosa.resample(np.zeros(4410, dtype=np.float32), orig_sr=44_100, target_sr=24_000)


def side_baseline(spec: dict[str, Any], workdir: Path) -> Cost:
    """The transformers-docs loop; saves its codes and each file's resampled length for the agreement."""
    device = torch.device(spec["device"])
    start = time.perf_counter()
    model: Any = EncodecModel.from_pretrained(spec["model"]).to(device).eval()
    rate = int(model.config.sampling_rate)
    warm_librosa()
    with torch.inference_mode():
        model.encode(torch.zeros(1, 1, rate, device=device), bandwidth=spec["bandwidth"])
    setup = time.perf_counter() - start
    codes: dict[str, np.ndarray] = {}
    lengths: dict[str, int] = {}
    paths = sorted(Path(spec["corpus"]).glob("*.wav"))
    with Meter() as meter, torch.inference_mode():
        for path in paths:
            x, sr = sf.read(path, dtype="float32")
            x = librosa.resample(x, orig_sr=sr, target_sr=rate)
            out = model.encode(torch.from_numpy(x)[None, None].to(device), bandwidth=spec["bandwidth"])
            codes[path.name] = out.audio_codes[0, 0].cpu().numpy()
            lengths[path.name] = x.shape[-1]
    np.savez(workdir / "baseline-codes.npz", **codes)
    (workdir / "baseline-lengths.json").write_text(json.dumps(lengths))
    meter.cost.setup_seconds = setup
    meter.cost.notes = {"threads": torch.get_num_threads()}
    return meter.cost


def side_audiotok(spec: dict[str, Any], workdir: Path) -> Cost:
    """``audiotok.preprocess.run`` with the job's defaults (plus any override given)."""
    from audiotok.preprocess import Options, Progress, RankInfo, run

    plans: list[str] = []

    def progress(state: Progress) -> None:
        if state.event == "start":
            plans.append(state.plan)

    options = Options(
        source=spec["corpus"],
        out=str(workdir / "out"),
        model=spec["model"],
        bandwidth=spec["bandwidth"],
        device=spec["device"],
        **spec["overrides"],
    )
    with Meter() as meter:
        run(options, RankInfo(0, 1), progress)
    manifest = json.loads((workdir / "out" / "manifest-rank000.json").read_text())
    meter.cost.notes = {
        "plan": plans[0] if plans else "?",
        "job_seconds": manifest["this_run"]["seconds"],
        "data_wait_share": manifest["this_run"]["data_wait_share"],
        "encoded": manifest["encoded"],
        "failed": manifest["failed"],
        "shard_mb": sum(p.stat().st_size for p in (workdir / "out").glob("*.parquet")) / 1e6,
    }
    return meter.cost


def side_codec_bpe(spec: dict[str, Any], workdir: Path) -> Cost:
    """codec-bpe 1.4.1's batched ``AudioEncoder.encode_audio`` over the corpus folder."""
    from codec_bpe.tools.audio_encoder import AudioEncoder
    from codec_bpe.tools.codec_utils import CodecTypes

    start = time.perf_counter()
    encoder = AudioEncoder(
        codec_model=spec["model"],
        codec_type=CodecTypes.ENCODEC,
        device=spec["device"],
        batch_size=spec["codec_bpe_batch_size"],
        bandwidth=spec["bandwidth"],
    )
    warm_librosa()
    encoder.get_codec_info()  # one 10 s encode: first-call setup outside the timed span
    setup = time.perf_counter() - start
    with Meter() as meter:
        result = encoder.encode_audio(spec["corpus"], str(workdir / "codec-bpe"))
    meter.cost.setup_seconds = setup
    meter.cost.notes = {
        "files": result.num_audio_files,
        "npy": result.num_numpy_files,
        "errors": len(result.errored_audio_files),
        "batch_size": spec["codec_bpe_batch_size"],
        "version": importlib.import_module("importlib.metadata").version("codec-bpe"),
    }
    return meter.cost


def run_side(args: argparse.Namespace) -> int:
    """The ``--side`` entry: one side, timed in this process; writes ``result-SIDE.json`` next to the spec."""
    spec_path = Path(args.spec)
    spec = json.loads(spec_path.read_text())
    workdir = spec_path.parent
    side = {"baseline": side_baseline, "audiotok": side_audiotok, "codec-bpe": side_codec_bpe}[args.side]
    cost = side(spec, workdir)
    cost.maxrss_self_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cost.maxrss_children_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    (workdir / f"result-{args.side}.json").write_text(json.dumps(asdict(cost)))
    return 0


def tree_pss_mib(pid: int) -> float:
    """PSS of a process and all its descendants, in MiB (0 for any that vanished meanwhile)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_full_info().pss
    return total / 2**20


def launch(side: str, spec_path: Path) -> Cost:
    """Runs one side in a fresh interpreter (same environment) and samples its process tree's PSS meanwhile."""
    command = [sys.executable, str(Path(__file__).resolve()), "--side", side, "--spec", str(spec_path)]
    child = subprocess.Popen(command, stdout=sys.stderr)  # its own chatter (codec-bpe's, tqdm) stays off stdout
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, tree_pss_mib(child.pid))
        time.sleep(SAMPLE_SECONDS)
    if child.returncode:
        sys.exit(f"the {side} side failed (exit {child.returncode}); see above")
    data = json.loads((spec_path.parent / f"result-{side}.json").read_text())
    cost = Cost(**data)
    cost.tree_pss_mib = peak
    print(f"{side}: {cost.wall:.1f} s", file=sys.stderr, flush=True)
    return cost


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
    near_end: int = 0  # differing frames (but the last) within 8 frames of the clip's end
    near_chunk_edge: int = 0  # differing frames within 8 frames of a 30 s mark (codec-bpe's chunk edges)


def compare(
    stored: dict[str, np.ndarray], baseline: dict[str, np.ndarray], lengths: dict[str, int], hop: int, chunk: int
) -> Agreement:
    """Frame agreement of one side's codes ``[K, T]`` with the baseline's (see the module docstring)."""
    result = Agreement()
    last_same, last_total = [0, 0], [0, 0]
    for name, ref_array in baseline.items():
        if name not in stored:
            result.missing += 1
            continue
        ref = torch.from_numpy(ref_array.astype(np.int64))
        ours = torch.from_numpy(np.asarray(stored[name]).astype(np.int64))
        if ours.shape != ref.shape:
            result.shape_mismatch += 1
            continue
        same = ours == ref
        equal = same.all(dim=0)
        body = (~equal[:-1]).nonzero().flatten()
        result.body_diff_clips += int(body.numel() > 0)
        result.codes_differing += int((~same[:, body]).sum())
        frames = equal.numel()
        for frame in body.tolist():
            level = int((~same[:, frame]).nonzero()[0])
            result.first_level[level] = result.first_level.get(level, 0) + 1
            result.near_end += int(frame >= frames - 9)
            edge = round(frame / chunk) * chunk  # the nearest multiple of ``chunk`` frames
            result.near_chunk_edge += int(edge > 0 and abs(frame - edge) <= 8)
        result.body_same += int(equal[:-1].sum())
        result.body_total += frames - 1
        kind = 0 if lengths[name] % hop == 0 else 1
        last_same[kind] += int(equal[-1])
        last_total[kind] += 1
    result.last_same, result.last_total = (last_same[0], last_same[1]), (last_total[0], last_total[1])
    return result


def audiotok_codes(out: Path) -> dict[str, np.ndarray]:
    from audiotok.shards import read_shards

    shards = read_shards(out)
    return {key: np.asarray(codes) for key, codes in zip(shards["key"], shards["codes"])}


def codec_bpe_codes(folder: Path) -> dict[str, np.ndarray]:
    """codec-bpe writes ``{stem}_c0.npy`` of shape ``[1, 1, K, T]`` per mono file."""
    return {p.name[: -len("_c0.npy")] + ".wav": np.load(p)[0, 0] for p in folder.rglob("*_c0.npy")}


# -- report ----------------------------------------------------------------------------------------------------
SIDE_NAMES = {
    "baseline": "transformers loop: soundfile + librosa.resample + `model.encode`, one file at a time (baseline)",
    "audiotok": "`audiotok preprocess` (`preprocess.run`) with its defaults",
    "codec-bpe": "codec-bpe {version} `AudioEncoder.encode_audio`, batch_size={batch_size}",
}
SPANS = {
    "baseline": "the loop (model load + warm-up {setup:.1f} s before it)",
    "audiotok": "end to end, model load included (job's own timer {job_seconds:.1f} s)",
    "codec-bpe": "`encode_audio` (model load + warm-up {setup:.1f} s before it)",
}


def print_report(
    args: argparse.Namespace,
    helpers: ModuleType,
    costs: dict[str, Cost],
    agreements: dict[str, Agreement],
    facts: dict[str, Any],
) -> None:
    device = torch.device(args.device)
    device_text = f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"
    malloc = ", ".join(f"{k}={os.environ[k]}" for k in helpers.MALLOC_VARS if k in os.environ)
    fmt_load = helpers.fmt_load
    overrides = ", ".join(f"{k}={v:g}" for k, v in facts["overrides"].items()) or "none (the plan's defaults)"
    print(
        f"\n**Machine**: {helpers.cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"(default {torch.get_num_threads()} threads), transformers {transformers.__version__}, "
        f"Python {platform.python_version()}, device {device_text}  "
    )
    print(f"**Date**: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}  ")
    print(f"**Command**: `{helpers.command_line()}`  ")
    print(
        f"**glibc malloc env**: {malloc or 'unset (glibc defaults)'} for every side; the job sets glibc itself "
        f"from inside its processes when its plan says so  "
    )
    print(
        f"**Load average** (1 / 5 / 15 min; includes other processes on the machine): at start "
        f"{fmt_load(facts['load_start'])}, at end {fmt_load(os.getloadavg())}  "
    )
    print(f"**Model**: {facts['model_text']}; bandwidth {args.bandwidth:g} kbps  ")
    print(f"**Corpus**: {facts['corpus_text']}  ")
    if "audiotok" in costs:
        print(f"**The job's plan**: {costs['audiotok'].notes['plan']}; overrides: {overrides}  ")
    print(f"**Order**: {', '.join(args.side_list)}, each in a fresh process\n")

    header = [
        "method",
        "timed span",
        "wall s",
        "audio s / wall s",
        "x baseline",
        "CPU s user / sys (incl. children)",
        "peak RSS MiB: process / largest child",
        "peak tree PSS MiB",
        "load avg 1 min (before / after)",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    base = costs["baseline"]
    for side in args.side_list:
        cost = costs[side]
        fill = {"setup": cost.setup_seconds, **cost.notes}
        children = f"{cost.maxrss_children_mib:.0f}" if cost.maxrss_children_mib else "-"
        cells = [
            SIDE_NAMES[side].format(**fill),
            SPANS[side].format(**fill),
            f"{cost.wall:.1f}",
            f"{facts['audio_seconds'] / cost.wall:.2f}",
            f"{base.wall / cost.wall:.2f}",
            f"{cost.user:.0f} / {cost.sys:.0f}",
            f"{cost.maxrss_self_mib:.0f} / {children}",
            f"{cost.tree_pss_mib:.0f}",
            f"{cost.load_before[0]:.2f} / {cost.load_after[0]:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")

    if not agreements:
        return
    names = list(agreements)
    print("\n| codes vs baseline | " + " | ".join(names) + " |")
    print("|---|" + "|".join("---" for _ in names) + "|")

    def row(label: str, cell: Any) -> None:
        print(f"| {label} | " + " | ".join(cell(agreements[n]) for n in names) + " |")

    row(
        "frames identical, all but each clip's last",
        lambda a: (
            f"{100 * a.body_same / max(a.body_total, 1):.4f} % ({a.body_total - a.body_same} of {a.body_total} differ)"
        ),
    )
    row("... of those differing, within 8 frames of the clip's end", lambda a: str(a.near_end))
    row("... of those differing, within 8 frames of a 30 s mark", lambda a: str(a.near_chunk_edge))
    row(
        "... clips they are in; first differing codebook (frames)",
        lambda a: (
            f"{a.body_diff_clips}; " + (", ".join(f"k={k}: {c}" for k, c in sorted(a.first_level.items())) or "-")
        ),
    )
    row("last frame identical, whole-frame clips", lambda a: f"{a.last_same[0]} of {a.last_total[0]}")
    row("last frame identical, other clips", lambda a: f"{a.last_same[1]} of {a.last_total[1]}")
    row("clips missing / with a different frame count", lambda a: f"{a.missing} / {a.shape_mismatch}")
    notes = []
    if "audiotok" in costs:
        n = costs["audiotok"].notes
        notes.append(
            f"The job encoded {n['encoded']} clips, {n['failed']} failed; shards {n['shard_mb']:.1f} MB; its "
            f"encoder waited for decoded audio {n['data_wait_share']:.1%} of its time."
        )
    if "codec-bpe" in costs:
        n = costs["codec-bpe"].notes
        notes.append(f"codec-bpe wrote {n['npy']} .npy files for {n['files']} audio files, {n['errors']} errors.")
    notes.append(f"Setup (model, corpus) {facts['setup_seconds']:.0f} s; whole run {facts['whole_seconds']:.0f} s.")
    print("\n" + " ".join(notes))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.side:
        return run_side(args)
    helpers = machine_helpers()
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    overrides = {
        k: v
        for k, v in (
            ("batch_seconds", args.batch_seconds),
            ("num_workers", args.num_workers),
            ("encoders", args.encoders),
            ("threads", args.threads),
        )
        if v is not None
    }

    with tempfile.TemporaryDirectory(prefix="bench_preprocess-") as tmp:
        workdir = Path(tmp)
        model_path, model_text = prepare_model(args, workdir)
        config = EncodecConfig.from_pretrained(model_path)
        if config.chunk_length is not None or config.audio_channels != 1:
            sys.exit("this benchmark covers unchunked mono models (24 kHz); the baseline here encodes [1, 1, L]")
        codec_rate, hop = int(config.sampling_rate), int(config.hop_length)
        corpus = workdir / "corpus"
        paths, audio_seconds = write_corpus(args, corpus, codec_rate, hop)
        print(f"corpus: {len(paths)} files, {audio_seconds:.1f} s of audio", file=sys.stderr, flush=True)
        gc.collect()
        setup_seconds = time.perf_counter() - t0
        spec = {
            "model": model_path,
            "corpus": str(corpus),
            "device": args.device,
            "bandwidth": args.bandwidth,
            "overrides": overrides,
            "codec_bpe_batch_size": args.codec_bpe_batch_size,
        }
        spec_path = workdir / "spec.json"
        spec_path.write_text(json.dumps(spec))

        costs = {side: launch(side, spec_path) for side in args.side_list}

        with np.load(workdir / "baseline-codes.npz") as data:
            base_codes = {name: data[name] for name in data.files}
        lengths = json.loads((workdir / "baseline-lengths.json").read_text())
        chunk = round(CODEC_BPE_CHUNK_SECONDS * codec_rate / hop)  # frames in codec-bpe's default chunk
        agreements: dict[str, Agreement] = {}
        if "audiotok" in costs:
            agreements["audiotok"] = compare(audiotok_codes(workdir / "out"), base_codes, lengths, hop, chunk)
        if "codec-bpe" in costs:
            agreements["codec-bpe"] = compare(codec_bpe_codes(workdir / "codec-bpe"), base_codes, lengths, hop, chunk)

    whole = sum(1 for n in lengths.values() if n % hop == 0)
    per_rate = {rate: sum(1 for p in paths if p.name.endswith(f"-{rate}hz.wav")) for rate in FILE_RATES}
    corpus_text = (
        f"{len(paths)} mono 16-bit wav files ({', '.join(f'{n} at {r / 1000:g} kHz' for r, n in per_rate.items())}), "
        f"{args.min_seconds:g}-{args.max_seconds:g} s uniform (seed {args.seed}): {audio_seconds:.1f} s of audio; "
        f"{whole} of {len(paths)} clips a whole number of frames at {codec_rate / 1000:g} kHz"
    )
    facts = {
        "load_start": load_start,
        "model_text": model_text,
        "corpus_text": corpus_text,
        "audio_seconds": audio_seconds,
        "overrides": overrides,
        "setup_seconds": setup_seconds,
        "whole_seconds": time.perf_counter() - t0,
    }
    print_report(args, helpers, costs, agreements, facts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
