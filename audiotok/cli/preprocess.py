"""``audiotok preprocess`` (and ``scripts/preprocess_dataset.py``): the dataset job's options, progress and summary.

The job itself (``audiotok.job.run``) prints nothing; this module turns its ``Progress`` reports
into a tqdm bar on a terminal and periodic lines in a log file, and its manifest into the summary and
the exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import torch

from ..config import DEFAULT_CODEC
from ..errors import AudiotokError
from ..ids.layouts import LAYOUTS
from ..job import Options, Progress, RankInfo, merge_manifests, run
from ..job.options import ENGINES


def job_doc() -> str:
    """The job's own description (the library module's docstring), for ``--help``."""
    from .. import job

    return job.__doc__ or ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job's options, shared by ``audiotok preprocess`` and ``scripts/preprocess_dataset.py``."""
    parser.add_argument(
        "source",
        nargs="+",
        help="folder of audio, .jsonl manifest, save_to_disk dir, audiofolder:DIR, hub name, or WebDataset tar "
        "shards (paths or brace patterns: 'data/shard-{000000..000099}.tar'; read as a stream)",
    )
    parser.add_argument("--out", required=True, help="output folder (shards, config, manifests)")
    parser.add_argument(
        "--model", default=DEFAULT_CODEC, help="codec: hub id, directory, config JSON, 'demo' or 'demo-<family>'"
    )
    parser.add_argument("--config-name", help="hub dataset configuration")
    parser.add_argument("--split", default="train")
    parser.add_argument("--revision", help="hub dataset revision (a commit hash pins its content)")
    parser.add_argument(
        "--streaming",
        action="store_true",
        help="read a hub dataset (or a local data folder) with datasets' streaming=True, never listed in memory",
    )
    parser.add_argument("--audio-column", default="audio")
    parser.add_argument("--codebooks", dest="num_codebooks", type=int, help="codebooks per frame (the codec's counts)")
    parser.add_argument("--bandwidth", type=float, help="EnCodec's and X-codec's name for a codebook count, in kbps")
    parser.add_argument("--layout", choices=sorted(LAYOUTS))
    parser.add_argument("--vocab-offset", type=int)
    parser.add_argument("--write-ids", action="store_true", help="also store LM ids (int32) in the chosen layout")
    parser.add_argument("--min-duration", type=float, default=0.0, help="seconds; shorter clips are skipped")
    parser.add_argument("--max-duration", type=float, help="seconds; longer clips are skipped")
    parser.add_argument("--keep-columns", nargs="*", default=[], help="input columns to copy into the shards")
    parser.add_argument("--shard-size", type=int, default=256, help="clips per shard (the unit of resumption)")
    parser.add_argument(
        "--batch-seconds", type=float, help="padded audio per encoder batch (default: 16 on CPU, 256 on GPU)"
    )
    parser.add_argument(
        "--num-workers", type=int, help="audio decoding processes (default: 1 on CPU, cores-1 up to 8 on GPU)"
    )
    parser.add_argument(
        "--encoders",
        type=int,
        help="encoder processes on CPU (default: one per core); with --engine ray, encoding actors "
        "(default: one per GPU, else one per core)",
    )
    parser.add_argument("--threads", type=int, help="torch threads per encoder (default: cores / encoders)")
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda:LOCAL_RANK when present)")
    parser.add_argument("--limit", type=int, help="process only the first N rows")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this machine (or each torchrun rank); ray: a Ray cluster (pip install 'audiotok[ray]')",
    )
    parser.add_argument(
        "--ray-address",
        help="with --engine ray: join this Ray cluster (host:6379; default: RAY_ADDRESS or a local Ray)",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="when stderr is not a terminal (a log file), print a progress line this often (default 30)",
    )


def options_from_args(args: argparse.Namespace) -> Options:
    names = Options.__dataclass_fields__
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    if isinstance(values.get("source"), list) and len(values["source"]) == 1:
        values["source"] = values["source"][0]
    if values.get("device") is None and values.get("engine") != "ray" and torch.cuda.is_available():
        values["device"] = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return Options(**values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="preprocess_dataset", description=job_doc(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--merge-only", action="store_true", help="only rebuild manifest.json from the shards of --out")
    args = parser.parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the job and prints its progress and summary; exit 0 (all encoded or skipped by a filter),
    1 (some clips failed; the rest are written) or 2 (fatal error, one line on stderr)."""
    try:
        if getattr(args, "merge_only", False):
            merged = merge_manifests(args.out)
        else:
            with _ProgressPrinter(getattr(args, "progress_every", 30.0)) as printer:
                merged = run(options_from_args(args), progress=printer)
            if RankInfo.from_env().rank != 0:  # under torchrun rank 0 prints the summary
                return 1 if merged["failed"] else 0
    except (AudiotokError, OSError) as error:
        print(f"audiotok: error: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(merged, args.out):
        print(line)
    return 1 if merged["failed"] else 0


def summary_lines(merged: dict[str, Any], out: str) -> list[str]:
    """The end-of-job report: what this run did, then what the output holds in all."""
    total = (
        f"{merged['encoded']} clips encoded ({merged['audio_hours']:.3f} h of audio), {merged['failed']} failed, "
        f"{merged.get('skipped', 0)} skipped, {merged['shards']} shards in {out}"
    )
    this_run = merged.get("this_run")
    if this_run is None:
        lines = [total]
    elif this_run["shards"] == 0:
        lines = [f"already complete: this run encoded nothing; the output holds {total}"]
    else:
        lines = [
            f"this run: {this_run['shards']} shards, {this_run['encoded']} clips encoded "
            f"({this_run['audio_hours']:.3f} h of audio), {this_run['failed']} failed, {this_run['skipped']} skipped",
            f"in total: {total}",
        ]
    lines += [f"  failed: {f['key']}: {f['error']}" for f in merged["failures"][:10]]
    lines += [f"  skipped: {s['key']}: {s['reason']}" for s in merged.get("skips", [])[:10]]
    return lines


class _ProgressPrinter:
    """Turns the job's ``Progress`` reports into a tqdm bar on a terminal, or lines every few seconds in a log."""

    def __init__(self, every: float, stream: Any = None) -> None:
        self.every, self.stream = every, stream or sys.stderr
        self.bar: Any = None
        self.last = 0.0
        self.printed = 0

    def __enter__(self) -> _ProgressPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def __call__(self, state: Progress) -> None:
        if state.event == "start":
            self._start(state)
        elif self.bar is not None:
            self.bar.update(state.rows_done - self.bar.n)
            self.bar.set_postfix(**self._figures(state))
        elif state.event == "end":
            if state.rows_done != self.printed:  # the final figures, unless the last line showed them
                self._line(state)
        elif time.monotonic() - self.last >= self.every:
            self._line(state)

    def _start(self, state: Progress) -> None:
        name = state.name or f"rank {state.rank}"
        if state.streamed:
            before = (
                f"; {state.shards_before} shards ({state.rows_before} rows) written before"
                if state.shards_before
                else ""
            )
            self._print(f"{name}: {state.plan}{before}")
            self.last = time.monotonic()
            if self.stream.isatty():
                from tqdm import tqdm

                self.bar = tqdm(unit="clip", desc=name, file=self.stream)
            return
        if state.shards and state.shards_before == state.shards:
            self._print(f"{name}: already complete: all {state.shards} shards ({state.rows} rows) were written before")
            return
        if state.shards_before:
            self._print(
                f"{name}: resuming: {state.shards_before} of {state.shards} shards already done "
                f"({state.rows_before} of {state.rows} rows); {state.rows - state.rows_before} rows to go"
            )
        else:
            self._print(f"{name}: {state.rows} rows in {state.shards} shards")
        if state.plan:
            self._print(f"{name}: {state.plan}")
        self.last = time.monotonic()
        if self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=state.rows - state.rows_before, unit="clip", desc=name, file=self.stream)

    def _line(self, state: Progress) -> None:
        done = state.rows_before + state.rows_done
        hours = state.audio_seconds / 3600
        name = state.name or f"rank {state.rank}"
        where = f"{done} rows" if state.streamed else f"{done}/{state.rows} rows ({done / max(state.rows, 1):.0%})"
        self._print(
            f"{name}: {where}; this run: "
            f"{state.encoded} encoded, {hours:.3f} h of audio at {hours / max(state.seconds, 1e-9):.4f} h/s, "
            f"{state.failed} failed, {state.skipped} skipped, waited for data {state.wait_share():.0%} of the time"
        )
        self.last, self.printed = time.monotonic(), state.rows_done

    @staticmethod
    def _figures(state: Progress) -> dict[str, str]:
        hours = state.audio_seconds / 3600
        return {
            "audio_h": f"{hours:.3f}",
            "h_per_s": f"{hours / max(state.seconds, 1e-9):.4f}",
            "failed": str(state.failed),
            "skipped": str(state.skipped),
            "wait": f"{state.wait_share():.0%}",
        }

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
