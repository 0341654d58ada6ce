"""Benchmark: each codec family's batched encoding against the plain transformers one-clip loop, in one run.

A benchmark, not a test. It encodes one corpus several ways with one codec family (``--family encodec|dac|
mimi|wavtokenizer|xcodec|xcodec2|neucodec``) and prints a markdown report (machine, date, load, exact
command, table) ready to paste into
docs/BENCHMARKS.md:

* **baseline**: the loop a user writes from the transformers docs, one clip at a time under
  ``torch.inference_mode()``, with the family's own ``model.encode``:
  EnCodec ``model.encode(x, bandwidth=bw)``, DAC ``model.encode(x, n_quantizers=K)``, Mimi
  ``model.encode(x, num_quantizers=K)``, WavTokenizer ``model.encode(x)``, X-codec ``model.encode(x,
  bandwidth=bw)``, X-codec2/NeuCodec ``model.encode(**inputs)`` of the feature extractor's inputs, where
  ``x = torch.from_numpy(clip)[None]``. The clip is passed
  as it is for EnCodec and Mimi (their feature extractor does not pad a lone clip) and zero-padded to
  whole frames for DAC (what ``DacFeatureExtractor`` does);
* **audiotok, one clip at a time**: ``codec.encode(clip, K)`` per clip (the reference for "batch = alone");
* **audiotok, batched**: ``codec.encode_batch(clips, K, max_batch_seconds=S)`` for each ``--batch-seconds``
  S. DAC on a CPU encodes one clip per batch unless ``codec.batch_on_cpu`` is set, so there the default
  rule runs once and the padded-batch rule (``batch_on_cpu=True``) once per S.

For each: audio seconds encoded per wall second, the ratio to the baseline, CPU time, encoder calls and
the audio they were given (padding and DAC's re-encoded tails included) over the real audio, and code
agreement. A *frame* agrees when all its K codes are equal. Against the baseline, agreement is counted
over every frame except the last frame of each clip whose length is not a whole number of frames (hop
samples), and that last frame separately: EnCodec and Mimi pad a raw clip's last partial frame inside
the model (reflection, replication), audiotok zero-pads it, so it may differ by design; DAC's baseline is
zero-padded like audiotok, so there every frame should agree. Against audiotok one-at-a-time, every frame
is compared; differences are float near-ties (batch size changes kernels' rounding) and are listed.

Model: the full-size published architecture (``--config``: facebook/encodec_24khz, descript/dac_16khz,
descript/dac_24khz, descript/dac_44khz, kyutai/mimi) with random weights, which cost the same as trained
ones, made non-degenerate by the family's ``build_demo_codec`` (fitted codebooks: diverse codes). It is
built once, saved under ``--cache`` and loaded back with ``audiotok.load_codec``. ``--small`` uses the
family's small demo shapes (a quick check of the script, not a speed figure). ``--model DIR_OR_ID``
benchmarks a real checkpoint instead (its family comes from its config.json).

Corpus: ``--clips`` seeded random durations in [--min-seconds, --max-seconds] of speech-like
``synthetic_audio`` (family defaults: EnCodec 32 clips of 1-20 s; DAC and Mimi, whose full-size models are
slower, 12 clips of 1-6 s); every 4th clip is cut to a whole number of frames so the last-frame claim is
checked both ways. ``--files DIR`` encodes the audio files in DIR instead (loaded at the codec's rate).

Interleaving: on a shared machine, load that changes over minutes would favour whichever method ran in
the quiet minute. So the corpus is cut into segments (clips sorted by length, at most max(--batch-seconds)
of padded audio each), and every method encodes segment 1, then every method segment 2, ... (order
rotated per segment); each method's times are summed. ``--no-interleave`` runs each method once over the
whole corpus.

Memory allocator: on a small CPU, glibc returns big freed buffers to the kernel and every padded batch
page-faults them back in. To see that cost, run twice, with and without telling glibc to keep its memory:

    .venv/bin/python scripts/bench_encode.py
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 .venv/bin/python scripts/bench_encode.py

Examples (the README and docs/BENCHMARKS.md give measured runs):

    .venv/bin/python scripts/bench_encode.py --family dac --config descript/dac_16khz
    .venv/bin/python scripts/bench_encode.py --family mimi --codebooks 32 --device cuda --threads 4
    .venv/bin/python scripts/bench_encode.py --family mimi --small --clips 4     # seconds: checks the script
    .venv/bin/python scripts/bench_encode.py --family xcodec2 --clips 4 --max-seconds 3   # full size: minutes
"""

from __future__ import annotations

import argparse
import datetime
import importlib
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
from typing import Any

import numpy as np
import torch
import transformers

from audiotok import load_codec
from audiotok.audio import load_audio
from audiotok.codecs.base import AudioCodec
from audiotok.codecs.demo_tools import cached_demo_dir, demo_note, synthetic_audio

MALLOC_VARS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a"}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
FAMILY_NAMES = ("encodec", "dac", "mimi", "wavtokenizer", "xcodec", "xcodec2", "neucodec")
WHOLE_FRAME_FAMILIES = ("dac", "wavtokenizer", "xcodec")  # their feature extractors zero-pad to whole frames
EXTRACTOR_FAMILIES = ("xcodec2", "neucodec")  # encode takes the feature extractor's waveform and filter banks

Codes = list[torch.Tensor]


@dataclass(frozen=True)
class FamilyDefaults:
    config: str  # the published architecture benchmarked by default
    clips: int
    min_seconds: float
    max_seconds: float


DEFAULTS = {
    "encodec": FamilyDefaults("facebook/encodec_24khz", 32, 1.0, 20.0),
    "dac": FamilyDefaults("descript/dac_16khz", 12, 1.0, 6.0),
    "mimi": FamilyDefaults("kyutai/mimi", 12, 1.0, 6.0),
    # full-size CPU runs of these are slow (minutes for seconds of audio): few short clips by default
    "wavtokenizer": FamilyDefaults("swiss-ai/wavtokenizer-large-unify-40token", 4, 1.0, 3.0),
    "xcodec": FamilyDefaults("hf-audio/xcodec-hubert-librispeech", 4, 1.0, 3.0),
    "xcodec2": FamilyDefaults("HKUSTAudio/xcodec2-hf", 4, 1.0, 3.0),
    "neucodec": FamilyDefaults("neuphonic/neucodec", 4, 1.0, 3.0),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--family", choices=FAMILY_NAMES, help="codec family (default encodec, or the family of --model)"
    )
    parser.add_argument(
        "--config",
        help="published architecture to build with random weights (default: facebook/encodec_24khz, "
        "descript/dac_16khz or kyutai/mimi by family; DAC also descript/dac_24khz, descript/dac_44khz)",
    )
    parser.add_argument("--small", action="store_true", help="the family's small demo shapes (quick check)")
    parser.add_argument(
        "--model", help="hub id or local directory of a real checkpoint to benchmark instead (family from its config)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache" / "audiotok" / "bench",
        help="where built random-weight models are saved and reused (default ~/.cache/audiotok/bench)",
    )
    parser.add_argument("--codebooks", type=int, help="codebooks K (default: the family's default count)")
    parser.add_argument("--bandwidth", type=float, help="EnCodec only: kbps instead of --codebooks (6.0 = 8)")
    parser.add_argument("--clips", type=int, help="number of clips (default by family; all files with --files)")
    parser.add_argument("--files", type=Path, help="encode the audio files in this folder instead of synthetic clips")
    parser.add_argument("--min-seconds", type=float, help="shortest synthetic clip (default by family)")
    parser.add_argument("--max-seconds", type=float, help="longest synthetic clip (default by family)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the durations, the audio and the model build")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="default cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="default float32")
    parser.add_argument(
        "--batch-seconds",
        type=float,
        nargs="+",
        default=[16.0, 64.0],
        help="max_batch_seconds values to try (default 16 64)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed passes over the corpus (median reported)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument(
        "--no-interleave", action="store_true", help="run each method once over the whole corpus, one after another"
    )
    args = parser.parse_args(argv)
    if args.model:
        from audiotok.codecs.registry import model_type_of, resolve

        family = model_type_of(resolve(args.model))
        if args.family not in (None, family) or family not in DEFAULTS:
            parser.error(f"--model {args.model} is a {family} checkpoint; this benchmark runs {list(FAMILY_NAMES)}")
        args.family = family
    args.family = args.family or "encodec"
    defaults = DEFAULTS[args.family]
    args.config = args.config or defaults.config
    args.min_seconds = defaults.min_seconds if args.min_seconds is None else args.min_seconds
    args.max_seconds = defaults.max_seconds if args.max_seconds is None else args.max_seconds
    if args.bandwidth is not None and (args.family != "encodec" or args.codebooks is not None):
        parser.error("--bandwidth is EnCodec's name for a codebook count: use it with --family encodec, alone")
    return args


# -- model -------------------------------------------------------------------------------------------------------
def architecture(family: str, name: str, small: bool) -> Any:
    """The transformers config of a published architecture (or its small demo shape)."""
    if family == "encodec":
        from transformers import EncodecConfig

        from audiotok.codecs.encodec.demo import small_encodec_config

        if name != "facebook/encodec_24khz":
            sys.exit(
                f"--config {name}: this benchmark covers the unchunked 24 kHz EnCodec (facebook/encodec_24khz); "
                "the chunked 48 kHz model's baseline output is per-chunk codes, which it does not compare"
            )
        return small_encodec_config() if small else EncodecConfig()
    if family == "dac":
        from audiotok.codecs.dac.demo import PUBLISHED as DAC_PUBLISHED
        from audiotok.codecs.dac.demo import small_dac_config

        check_published(name, DAC_PUBLISHED)
        return small_dac_config(name) if small else DAC_PUBLISHED[name]
    if family == "mimi":
        from audiotok.codecs.mimi.demo import PUBLISHED as MIMI_PUBLISHED
        from audiotok.codecs.mimi.demo import small_mimi_config

        check_published(name, MIMI_PUBLISHED)
        return small_mimi_config() if small else MIMI_PUBLISHED[name]
    demo = importlib.import_module(f"audiotok.codecs.{family}.demo")
    check_published(name, demo.PUBLISHED)
    return demo.demo_config() if small else demo.PUBLISHED[name]


def check_published(name: str, published: dict[str, Any]) -> None:
    if name not in published:
        sys.exit(f"--config {name}: not a known architecture of this family; choose one of {sorted(published)}")


def build(family: str, config: Any, seed: int) -> Any:
    """A random-weight model of ``config`` with the family's fitted codebooks (``build_demo_codec``)."""
    if family == "encodec":
        from audiotok.codecs.encodec.demo import build_demo_codec as build_encodec

        rate, channels = int(config.sampling_rate), int(config.audio_channels)
        fit = [synthetic_audio(2.0, rate, channels, seed=10_000 + i) for i in range(3)]
        return build_encodec(config, fit_audio=fit, seed=seed)
    if family == "dac":
        from audiotok.codecs.dac.demo import build_demo_codec as build_dac

        return build_dac(config, seed=seed)
    return importlib.import_module(f"audiotok.codecs.{family}.demo").build_demo_codec(config, seed=seed)


def model_source(args: argparse.Namespace) -> tuple[str, str]:
    """(what ``load_codec`` loads, a description); builds and caches the random-weight model if needed."""
    if args.model:
        return args.model, f"checkpoint {args.model}"
    shape = "small demo shape of" if args.small else "full-size"
    slug = args.config.replace("/", "_") + ("-small" if args.small else "") + f"-seed{args.seed}"
    name = f"{args.family}-{slug}"
    built = not (args.cache / name / "config.json").exists()
    config = architecture(args.family, args.config, args.small)
    start = time.perf_counter()
    directory = cached_demo_dir(name, lambda: build(args.family, config, args.seed), demo_note(args.family), args.cache)
    how = f"built and saved in {time.perf_counter() - start:.0f} s" if built else "loaded from the cache"
    return str(directory), (
        f"{shape} {args.config} architecture, random weights + fitted codebooks (build_demo_codec, seed "
        f"{args.seed}); {how} ({directory})"
    )


# -- corpus --------------------------------------------------------------------------------------------------------
def make_corpus(args: argparse.Namespace, codec: AudioCodec, hop: int) -> tuple[list[np.ndarray], str]:
    rate, channels = codec.sampling_rate, codec.channels
    if args.files:
        paths = sorted(p for p in args.files.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if args.clips:
            paths = paths[: args.clips]
        if not paths:
            sys.exit(f"no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) in {args.files}")
        return [load_audio(p, None, rate, channels) for p in paths], f"{len(paths)} files from {args.files}"
    count = args.clips or DEFAULTS[args.family].clips
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
class EncoderCalls:
    """Counts the calls of ``model.encode`` and the audio samples (per channel) they are given."""

    def __init__(self, model: Any) -> None:
        self.calls = 0
        self.samples = 0
        inner = model.encode

        def encode(input_values: torch.Tensor, *rest: Any, **options: Any) -> Any:
            self.calls += 1
            self.samples += int(input_values.shape[0]) * int(input_values.shape[-1])
            return inner(input_values, *rest, **options)

        model.encode = encode  # an instance attribute: shadows the method for this model only


def baseline_runner(family: str, codec: AudioCodec, k: int, hop: int) -> Callable[[list[np.ndarray]], Codes]:
    """The transformers-docs loop: one clip at a time through the family's own ``model.encode``."""
    model, device, dtype = codec.model, codec.device, codec.dtype
    if family == "encodec":
        bandwidth = codec.bandwidth_for(k)  # type: ignore[attr-defined]

        def one(x: torch.Tensor) -> torch.Tensor:
            return model.encode(x, bandwidth=bandwidth).audio_codes[0, 0]

    elif family == "dac":

        def one(x: torch.Tensor) -> torch.Tensor:
            return model.encode(x, n_quantizers=k).audio_codes[0]

    elif family == "wavtokenizer":

        def one(x: torch.Tensor) -> torch.Tensor:
            return model.encode(x).audio_codes[0]

    elif family == "xcodec":
        bandwidth = codec.bandwidth_for(k)  # type: ignore[attr-defined]

        def one(x: torch.Tensor) -> torch.Tensor:
            return model.encode(x, bandwidth=bandwidth).audio_codes[0]

    elif family in EXTRACTOR_FAMILIES:
        # the feature extractor's inputs (transformers' own where torchaudio is installed, else the same
        # filter banks computed by audiotok: model_inputs), then the model's encode
        def one(x: torch.Tensor) -> torch.Tensor:
            inputs = codec.model_inputs([codec.prepare(x[0].cpu())])  # type: ignore[attr-defined]
            return model.encode(**{n: v.to(device, dtype) for n, v in inputs.items()}).audio_codes[0]

    else:

        def one(x: torch.Tensor) -> torch.Tensor:
            return model.encode(x, num_quantizers=k).audio_codes[0]

    pad_whole = family in WHOLE_FRAME_FAMILIES  # DacFeatureExtractor pads to whole frames; EnCodec's and Mimi's don't

    def run(clips: list[np.ndarray]) -> Codes:
        out = []
        with torch.inference_mode():
            for clip in clips:
                if pad_whole:
                    clip = np.pad(clip, ((0, 0), (0, -clip.shape[-1] % hop)))
                out.append(one(torch.from_numpy(clip)[None].to(device, dtype)).cpu())
        return out

    return run


def batched_runner(codec: AudioCodec, k: int, seconds: float, batch_on_cpu: bool | None) -> Callable[..., Any]:
    """``encode_batch`` at ``seconds``; for DAC with ``batch_on_cpu`` set as given during the call."""

    def run(clips: list[np.ndarray]) -> Sequence[object]:
        if batch_on_cpu is None:
            return codec.encode_batch(clips, k, max_batch_seconds=seconds)
        before = codec.batch_on_cpu  # type: ignore[attr-defined]
        codec.batch_on_cpu = batch_on_cpu  # type: ignore[attr-defined]
        try:
            return codec.encode_batch(clips, k, max_batch_seconds=seconds)
        finally:
            codec.batch_on_cpu = before  # type: ignore[attr-defined]

    return run


@dataclass
class Method:
    name: str
    run: Callable[[list[np.ndarray]], Sequence[object]]  # clips -> per-clip codes (tensor or AudioCodes)
    batched: bool = False
    walls: list[float] = field(default_factory=list)  # one total per pass
    user_s: list[float] = field(default_factory=list)
    sys_s: list[float] = field(default_factory=list)
    minor_faults: list[int] = field(default_factory=list)
    calls: int = 0  # encoder calls and samples in the first pass
    samples: int = 0
    codes: dict[int, torch.Tensor] = field(default_factory=dict)  # clip index -> [K, T], from the first pass

    def ordered_codes(self, count: int) -> Codes:
        return [self.codes[i] for i in range(count)]


def make_methods(args: argparse.Namespace, family: str, codec: AudioCodec, k: int, hop: int) -> list[Method]:
    methods = [
        Method(
            f"transformers `model.encode`, one clip at a time (baseline){baseline_note(family)}",
            baseline_runner(family, codec, k, hop),
        ),
        Method("audiotok `codec.encode`, one clip at a time", lambda cs: [codec.encode(c, k) for c in cs]),
    ]
    has_cpu_rule = hasattr(codec, "batch_on_cpu") and codec.device.type == "cpu"
    if has_cpu_rule:  # the default rule ignores the budget on CPU: one row, then the padded rule per budget
        largest = max(args.batch_seconds)
        methods.append(
            Method(
                f"audiotok `codec.encode_batch`, max_batch_seconds={largest:g} (default rule: one clip per batch "
                "on CPU)",
                batched_runner(codec, k, largest, None),
                batched=True,
            )
        )
    for seconds in args.batch_seconds:
        name = f"audiotok `codec.encode_batch`, max_batch_seconds={seconds:g}"
        rule = None
        if has_cpu_rule:
            name, rule = f"{name}, `batch_on_cpu=True` (padded batches + re-encoded tails)", True
        methods.append(Method(name, batched_runner(codec, k, seconds, rule), batched=True))
    return methods


def baseline_note(family: str) -> str:
    if family in EXTRACTOR_FAMILIES:
        return ", inputs from the feature extractor's computation"
    return ", clip zero-padded to whole frames" if family in WHOLE_FRAME_FAMILIES else ""


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


def timed(
    method: Method, clips: list[np.ndarray], indices: list[int], device: torch.device, usage: Usage, calls: EncoderCalls
) -> None:
    """Runs ``method`` on the clips ``indices``, adds its cost to ``usage`` and keeps the first pass's codes."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    first = not any(i in method.codes for i in indices)
    calls_before, samples_before = calls.calls, calls.samples
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
    if first:
        method.calls += calls.calls - calls_before
        method.samples += calls.samples - samples_before
    for index, item in zip(indices, result):
        method.codes.setdefault(index, plain_codes(item))


# -- agreement -------------------------------------------------------------------------------------------------
def frames_equal(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-frame equality of two ``[K, T]`` code arrays (compared over the shorter length)."""
    t = min(a.shape[-1], b.shape[-1])
    return (a[:, :t] == b[:, :t]).all(dim=0)


def vs_baseline(codes: Codes, ref: Codes, whole: list[bool]) -> tuple[str, str]:
    """(every frame but the last of non-whole clips: % equal and count differing; that last frame: equal/clips)."""
    body_same = body_total = last_same = last_total = 0
    for c, r, is_whole in zip(codes, ref, whole):
        if c.shape != r.shape:
            return f"shape mismatch {tuple(c.shape)} vs {tuple(r.shape)}", "-"
        eq = frames_equal(c, r)
        body = eq if is_whole else eq[:-1]
        body_same += int(body.sum())
        body_total += body.numel()
        if not is_whole:
            last_same += int(eq[-1])
            last_total += 1
    text = f"{100 * body_same / max(body_total, 1):.3f} % ({body_total - body_same} of {body_total} differ)"
    return text, f"{last_same}/{last_total}"


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


def fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def num_codebooks(args: argparse.Namespace, codec: AudioCodec) -> int:
    spec = codec.spec
    if args.bandwidth is not None:
        if args.bandwidth not in spec.bandwidths:
            sys.exit(f"--bandwidth {args.bandwidth:g}: choose one of {list(spec.bandwidths)}")
        return spec.codebook_counts[spec.bandwidths.index(args.bandwidth)]
    k = spec.default_num_codebooks if args.codebooks is None else args.codebooks
    if k not in spec.codebook_counts:
        sys.exit(f"--codebooks {k}: the {spec.family} codec takes one of {list(spec.codebook_counts)}")
    return k


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    t0 = time.perf_counter()
    load_before = os.getloadavg()

    source, model_text = model_source(args)
    codec = load_codec(source, device=device, dtype=dtype)
    family = codec.model_type
    if getattr(codec, "is_chunked", False):
        sys.exit("this benchmark covers unchunked models: a chunked EnCodec's baseline output is per-chunk codes")
    hop = int(codec.hop_length)  # type: ignore[attr-defined]
    k = num_codebooks(args, codec)
    rss_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clips, corpus_text = make_corpus(args, codec, hop)
    rate = codec.sampling_rate
    lengths = [c.shape[-1] for c in clips]
    whole = [n % hop == 0 for n in lengths]
    audio_seconds = sum(lengths) / rate
    print(f"{family}, K={k}; corpus: {corpus_text}, {audio_seconds:.1f} s of audio", file=sys.stderr, flush=True)

    reference32: Codes | None = None
    if dtype != torch.float32:  # float32 codes to judge the half-precision codes against (untimed)
        codec32 = load_codec(source, device=device, dtype=torch.float32)
        reference32 = [
            plain_codes(c) for c in codec32.encode_batch(clips, k, max_batch_seconds=max(args.batch_seconds))
        ]
        del codec32

    calls = EncoderCalls(codec.model)
    methods = make_methods(args, family, codec, k, hop)
    budget = float("inf") if args.no_interleave else max(args.batch_seconds) * rate
    groups = segments(lengths, hop, budget) if budget < float("inf") else [list(range(len(clips)))]

    # warm-up: every method once on a few clips of different lengths (allocator, kernels, CUDA context)
    warm = [synthetic_audio(s, rate, codec.channels, seed=99_999) for s in (1.3, 2.0, 3.7)]
    for method in methods:
        method.run(warm)
    setup_seconds = time.perf_counter() - t0

    for p in range(args.repeat):
        usage = {id(m): Usage() for m in methods}
        for j, group in enumerate(groups):
            shift = (j + p) % len(methods)
            for method in methods[shift:] + methods[:shift]:
                timed(method, clips, group, device, usage[id(method)], calls)
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
        else f"interleaved over {len(groups)} segment(s) of <= {max(args.batch_seconds):g} s"
    )
    frames_total = sum(codec.num_frames(n) for n in lengths)

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
        f"**Model**: {family} ({type(codec).__name__}), {model_text}; {rate} Hz, hop {hop}; K = {k} codebooks, "
        f"dtype {args.dtype}  "
    )
    print(
        f"**Corpus**: {corpus_text}: {audio_seconds:.1f} s of audio, {frames_total} frames, {sum(whole)} of {count} "
        f"clips a whole number of frames; warm-up, then {args.repeat} timed pass(es), {schedule}\n"
    )

    header = [
        "method",
        "encoder calls",
        "audio encoded / real",
        "wall s (median [best])" if args.repeat > 1 else "wall s",
        "audio s / wall s",
        "x baseline",
        "CPU s user / sys",
        "minor faults",
        "frames = baseline (all but the last of non-whole clips)",
        "last frame = baseline (non-whole clips)",
        "frames != audiotok one-at-a-time",
    ]
    if reference32 is not None:
        header.append("frames = float32 codes")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for method in methods:
        codes = method.ordered_codes(count)
        wall = statistics.median(method.walls)
        body, last = ("-", "-") if method is base else vs_baseline(codes, base_codes, whole)
        if method.batched:
            diff, total = differing_frames(codes, single_codes)
            vs_single = f"{diff} of {total}"
        else:
            vs_single = "-"
        row = [
            method.name,
            str(method.calls),
            f"{method.samples / sum(lengths):.3f}",
            f"{wall:.2f} [{min(method.walls):.2f}]" if args.repeat > 1 else f"{wall:.2f}",
            f"{audio_seconds / wall:.2f}",
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
                f"Frames of `{method.name.split(', ', 1)[1]}` that differ from one-at-a-time "
                f"(clip:frame/frames, first differing codebook k): {where}  "
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Peak RSS {peak:.0f} MiB ({rss_after_load:.0f} MiB once the model was loaded{built_note(model_text)}); "
        f"setup (model, corpus, warm-up) {setup_seconds:.0f} s; whole run {time.perf_counter() - t0:.0f} s."
    )
    return 0


def built_note(model_text: str) -> str:
    return ", including the model build" if "built and saved" in model_text else ""


if __name__ == "__main__":
    sys.exit(main())
