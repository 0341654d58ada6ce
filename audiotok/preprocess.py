"""The dataset job: corpus -> token shards, batched on the GPU, resumable, across ranks via torchrun.

Work is cut into fixed blocks of ``shard_size`` rows; block b of rank r becomes the shard file
``rank{r:03d}-shard{b:06d}.parquet``, written atomically. A rerun with the same arguments skips every
block whose shard exists, so a job killed at any moment finishes with every clip exactly once. Each
rank takes a contiguous share of the rows (``datasets.distributed.split_dataset_by_node``) and
writes its own shards and ``manifest-rank{r}.json``; rank 0 merges the manifests into
``manifest.json`` once all ranks are done (or run ``audiotok preprocess --merge-only OUT``).

The run file records the settings and what identifies the input (row count, a hash of the keys); a
resumed run with other settings or a changed source is refused, since its blocks would no longer be the
same rows.

Audio is decoded and resampled in DataLoader worker processes (numpy/soundfile/librosa only: a worker
never touches CUDA; with a CUDA device they are spawned, not forked; a worker dies with its parent),
while the codec encodes length-bucketed batches of at most ``batch_seconds`` of audio
(``AudioCodec.encode_batch``): in the main process on a GPU, in one single-thread encoder process per
core on a CPU (``audiotok/plan.py`` says why; every setting can be overridden). The job reports through a
``progress`` callback; the command line below turns that into a tqdm bar on a terminal and periodic lines
in a log file.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader, Dataset

from .config import CONFIG_NAME, DEFAULT_CODEC
from .errors import AudiotokError
from .ids.layouts import LAYOUTS
from .plan import ExecutionPlan, keep_freed_memory, plan_for
from .shards import write_shard
from .sources import DecodedRow, decode_row, open_source
from .tokenizer import AudioTokenizer
from .workers import EncoderPool, exit_with_parent

RUN_FILE = "run.json"


@dataclass
class Options:
    """Everything that determines a job's output; a resumed run must repeat it."""

    source: str
    out: str
    model: str = DEFAULT_CODEC
    config_name: str | None = None
    split: str = "train"
    audio_column: str = "audio"
    num_codebooks: int | None = None
    bandwidth: float | None = None
    layout: str | None = None
    vocab_offset: int | None = None
    write_ids: bool = False
    min_duration: float = 0.0
    max_duration: float | None = None
    keep_columns: list[str] = field(default_factory=list)
    shard_size: int = 256
    batch_seconds: float | None = None
    num_workers: int | None = None
    encoders: int | None = None
    threads: int | None = None
    device: str | None = None
    limit: int | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change what is written (not how fast)."""
        ignored = {"out", "batch_seconds", "num_workers", "encoders", "threads", "device"}
        return {k: v for k, v in asdict(self).items() if k not in ignored}


@dataclass
class RankInfo:
    rank: int
    world_size: int

    @classmethod
    def from_env(cls) -> RankInfo:
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


class _DecodeRows(Dataset):
    """Map-style view of some rows, decoded on access (in a DataLoader worker)."""

    def __init__(self, rows: datasets.Dataset, indices: list[int], **decode_args: Any) -> None:
        self.rows, self.indices, self.decode_args = rows, indices, decode_args

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> DecodedRow:
        index = self.indices[position]
        return decode_row(index, self.rows[index], **self.decode_args)


def _single(batch: list[DecodedRow]) -> DecodedRow:
    return batch[0]


@dataclass
class Progress:
    """Where one rank's run stands: handed to ``run``'s callback at the start, after every shard and at the end.

    ``*_before`` count the shards (and their rows) an earlier run of the job already wrote; the other
    counts are this run's.
    """

    rank: int
    shards: int
    shards_before: int
    rows: int
    rows_before: int
    event: str = "start"
    plan: str = ""
    rows_done: int = 0
    encoded: int = 0
    failed: int = 0
    skipped: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0
    waiting: float = 0.0

    def add(self, records: list[dict[str, Any]], elapsed: float) -> None:
        for record in records:
            if record["error"] is not None:
                self.failed += 1
            elif record["skipped"] is not None:
                self.skipped += 1
            else:
                self.encoded += 1
                self.audio_seconds += record["duration"]
        self.rows_done += len(records)
        self.seconds = elapsed

    def wait_share(self) -> float:
        return self.waiting / self.seconds if self.seconds else 0.0


ProgressCallback = Callable[[Progress], None]


def run(options: Options, rank: RankInfo | None = None, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Runs (or resumes) this rank's share of the job; returns this rank's manifest.

    ``progress`` (if given) is called with a ``Progress`` at the start, after every shard written and at
    the end; the job itself prints nothing.
    """
    rank = rank or RankInfo.from_env()
    report = progress or (lambda state: None)
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("num_codebooks", options.num_codebooks),
            ("bandwidth", options.bandwidth),
            ("layout", options.layout),
        )
        if v is not None
    }
    if options.vocab_offset is not None:
        changes["vocab_offset"] = options.vocab_offset
    tokenizer = AudioTokenizer.from_pretrained(options.model, device=options.device, **changes)
    plan = plan_for(
        str(tokenizer.codec.device),
        encoders=options.encoders,
        threads=options.threads,
        batch_seconds=options.batch_seconds,
        decode_workers=options.num_workers,
    )

    rows = open_source(
        options.source, config_name=options.config_name, split=options.split, audio_column=options.audio_column
    )
    if options.limit is not None:
        rows = rows.select(range(min(options.limit, len(rows))))
    missing = [c for c in options.keep_columns if c not in rows.column_names]
    if missing:
        raise AudiotokError(f"--keep-columns {missing} not in the source; its columns are {rows.column_names}")
    _check_run_file(out, options, rank, source_identity(rows))
    if rank.rank == 0:
        tokenizer.config.save_pretrained(out)
    mine = split_dataset_by_node(rows, rank=rank.rank, world_size=rank.world_size)
    blocks = [
        range(start, min(start + options.shard_size, len(mine))) for start in range(0, len(mine), options.shard_size)
    ]
    todo = [(b, block) for b, block in enumerate(blocks) if not _shard_path(out, rank, b).exists()]
    state = Progress(
        rank=rank.rank,
        shards=len(blocks),
        shards_before=len(blocks) - len(todo),
        rows=len(mine),
        rows_before=len(mine) - sum(len(block) for _, block in todo),
        plan=plan.describe(),
    )
    report(state)

    decode_args = {
        "sampling_rate": tokenizer.codec.sampling_rate,
        "channels": tokenizer.codec.channels,
        "min_seconds": options.min_duration,
        "max_seconds": options.max_duration,
        "keep_columns": tuple(options.keep_columns),
    }
    use_cuda = tokenizer.codec.device.type == "cuda"
    started = time.perf_counter()
    state.event = "shard"
    with _encoder(tokenizer, plan, bool(todo)) as encoder:
        for b, decoded in _decoded_blocks(mine, todo, plan.decode_workers, use_cuda, decode_args, state):
            records = _encode_block(tokenizer, encoder, decoded, options, plan.batch_seconds)
            write_shard(_shard_path(out, rank, b), records)
            state.add(records, time.perf_counter() - started)
            report(state)

    manifest = _rank_manifest(out, rank, len(mine), len(blocks), state)
    _finish(out, rank)
    state.event = "end"
    report(state)
    return manifest


def _shard_path(out: Path, rank: RankInfo, block: int) -> Path:
    return out / f"rank{rank.rank:03d}-shard{block:06d}.parquet"


def source_identity(rows: datasets.Dataset) -> dict[str, Any]:
    """What a resumed run checks the input against: the row count and a SHA-256 of the keys in order."""
    digest = hashlib.sha256()
    keys = rows.select_columns(["key"])  # never reads the audio column
    for start in range(0, len(keys), 65536):
        for key in keys[start : start + 65536]["key"]:
            digest.update(str(key).encode() + b"\0")
    return {"source_rows": len(rows), "source_keys_sha256": digest.hexdigest()}


def _check_run_file(out: Path, options: Options, rank: RankInfo, source: dict[str, Any]) -> None:
    """Refuses to resume with other settings or another input: shards would mix two jobs, or rows would be lost."""
    path = out / RUN_FILE
    wanted = {**options.fingerprint(), "world_size": rank.world_size, **source}
    if path.exists():
        recorded = json.loads(path.read_text())
        changed = sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k))
        settings = [k for k in changed if k not in source]
        if settings:
            raise AudiotokError(
                f"{out} holds a job run with other settings ({', '.join(settings)} differ); rerun with the same "
                "arguments to resume, or choose a new --out"
            )
        if changed:
            before, now = recorded.get("source_rows"), source["source_rows"]
            what = f"{before} rows then, {now} now" if before != now else f"the same {now} rows, but other keys"
            if "source_rows" not in recorded:
                what = f"{RUN_FILE} does not record which source it was"
            raise AudiotokError(
                f"the source changed since the job in {out} started ({what}): the shards written would no longer "
                "match its rows; restore the source as it was to resume, or start over with a new --out"
            )
    elif rank.rank == 0:
        path.write_text(json.dumps(wanted, indent=2))


class _InProcess:
    """The tokenizer's own codec as the job's encoder (GPU, or a CPU plan of one process)."""

    def __init__(self, tokenizer: AudioTokenizer, plan: ExecutionPlan) -> None:
        self.codec = tokenizer.codec
        if plan.device == "cpu":
            torch.set_num_threads(plan.threads)

    def encode_batch(self, waves: list[np.ndarray], num_codebooks: int, max_batch_seconds: float) -> list[Any]:
        return self.codec.encode_batch(waves, num_codebooks, max_batch_seconds)

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _encoder(tokenizer: AudioTokenizer, plan: ExecutionPlan, needed: bool) -> EncoderPool | _InProcess:
    """What encodes the job's batches under ``plan`` (no processes are started when nothing is left to do)."""
    if plan.keep_freed_memory:
        keep_freed_memory()
    if plan.encoders > 1 and needed:
        return EncoderPool(tokenizer.codec.name, plan)
    return _InProcess(tokenizer, plan)


def _decoded_blocks(
    rows: datasets.Dataset,
    todo: list[tuple[int, range]],
    num_workers: int,
    use_cuda: bool,
    decode_args: dict[str, Any],
    state: Progress,
) -> Iterator[tuple[int, list[DecodedRow]]]:
    """Yields each unfinished block's decoded rows, decoded ahead by one DataLoader's worker processes.

    The workers keep decoding the next rows while the caller encodes, so ``state.waiting`` (time spent
    blocked on the loader) is the share of the run the encoder starved for data.
    """
    indices = [i for _, block in todo for i in block]
    if not indices:
        return
    loader = DataLoader(
        _DecodeRows(rows, indices, **decode_args),
        batch_size=1,
        collate_fn=_single,
        num_workers=num_workers,
        multiprocessing_context=("spawn" if use_cuda else None) if num_workers else None,
        prefetch_factor=8 if num_workers else None,
        worker_init_fn=functools.partial(exit_with_parent, os.getpid()) if num_workers else None,
    )
    stream = iter(loader)
    for b, block in todo:
        decoded = []
        for _ in block:
            waited = time.perf_counter()
            decoded.append(next(stream))
            state.waiting += time.perf_counter() - waited
        yield b, decoded


def _encode_block(
    tokenizer: AudioTokenizer,
    encoder: EncoderPool | _InProcess,
    decoded: list[DecodedRow],
    options: Options,
    batch_seconds: float,
) -> list[dict[str, Any]]:
    good = [(row, row.wave) for row in decoded if row.wave is not None]
    waves = [wave for _, wave in good]
    codes = encoder.encode_batch(waves, tokenizer.config.num_codebooks, batch_seconds) if waves else []
    encoded = {row.index: item for (row, _), item in zip(good, codes)}
    records = []
    for row in decoded:
        record: dict[str, Any] = {
            "key": row.key,
            "error": row.error,
            "skipped": row.skipped,
            "duration": None,
            "num_frames": None,
            "codes": None,
            "scales": None,
            "chunk_frames": None,
        }
        item = encoded.get(row.index)
        if item is not None and row.wave is not None:
            record["duration"] = row.wave.shape[-1] / tokenizer.codec.sampling_rate
            record["num_frames"] = item.num_frames
            record["codes"] = np.asarray(item.codes, dtype=np.uint16).tolist()
            if item.scales is not None and item.chunk_frames is not None:
                record["scales"] = np.asarray(item.scales, dtype=np.float32).tolist()
                record["chunk_frames"] = np.asarray(item.chunk_frames).tolist()
            if options.write_ids:
                record["ids"] = tokenizer.codes_to_ids(item).astype(np.int32).tolist()
        elif options.write_ids:
            record["ids"] = None
        record.update(row.extra)
        records.append(record)
    return records


def _rank_manifest(out: Path, rank: RankInfo, rows: int, blocks: int, state: Progress) -> dict[str, Any]:
    """Writes manifest-rank{r}.json from the shards on disk (so it is right after a resume too)."""
    import pyarrow.parquet as pq

    encoded = 0
    seconds = 0.0
    failures, skips = [], []
    for b in range(blocks):
        path = _shard_path(out, rank, b)
        columns = [c for c in ("key", "error", "skipped", "duration") if c in pq.read_schema(path).names]
        for record in pq.read_table(path, columns=columns).to_pylist():
            if record["error"] is not None:
                failures.append({"key": record["key"], "error": record["error"]})
            elif record.get("skipped") is not None:
                skips.append({"key": record["key"], "reason": record["skipped"]})
            else:
                encoded += 1
                seconds += record["duration"]
    manifest = {
        "rank": rank.rank,
        "world_size": rank.world_size,
        "rows": rows,
        "shards": blocks,
        "encoded": encoded,
        "failed": len(failures),
        "skipped": len(skips),
        "audio_hours": seconds / 3600,
        "failures": failures,
        "skips": skips,
        "this_run": {
            "shards": blocks - state.shards_before,
            "rows": state.rows_done,
            "encoded": state.encoded,
            "failed": state.failed,
            "skipped": state.skipped,
            "seconds": state.seconds,
            "audio_hours": state.audio_seconds / 3600,
            "data_wait_share": state.wait_share(),
        },
    }
    (out / f"manifest-rank{rank.rank:03d}.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def merge_manifests(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Joins every rank's manifest into ``manifest.json``; fails if a rank is missing.

    ``this_run`` sums what each rank's latest run did (zero everywhere when a finished job was rerun).
    """
    out = Path(out)
    parts = [json.loads(p.read_text()) for p in sorted(out.glob("manifest-rank*.json"))]
    if not parts:
        raise AudiotokError(f"{out}: no manifest-rank*.json: run the job first")
    world = parts[0]["world_size"]
    if sorted(p["rank"] for p in parts) != list(range(world)):
        raise AudiotokError(
            f"{out}: manifests of ranks {sorted(p['rank'] for p in parts)} of {world}; a rank is unfinished"
        )
    runs = [p.get("this_run", {}) for p in parts]
    merged = {
        "world_size": world,
        "rows": sum(p["rows"] for p in parts),
        "shards": sum(p["shards"] for p in parts),
        "encoded": sum(p["encoded"] for p in parts),
        "failed": sum(p["failed"] for p in parts),
        "skipped": sum(p.get("skipped", 0) for p in parts),
        "audio_hours": sum(p["audio_hours"] for p in parts),
        "failures": [f for p in parts for f in p["failures"]],
        "skips": [s for p in parts for s in p.get("skips", [])],
        "this_run": {
            name: sum(r.get(name, 0) for r in runs)
            for name in ("shards", "rows", "encoded", "failed", "skipped", "audio_hours")
        },
        "config": CONFIG_NAME,
    }
    (out / "manifest.json").write_text(json.dumps(merged, indent=2))
    return merged


def _finish(out: Path, rank: RankInfo) -> None:
    """Rank 0 merges the manifests once every rank is done (a barrier when run under torchrun)."""
    if rank.world_size > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo")
        dist.barrier()
    if rank.rank == 0:
        merge_manifests(out)
    if rank.world_size > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()


# -- command line -----------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The job's options, shared by ``audiotok preprocess`` and ``scripts/preprocess_dataset.py``."""
    parser.add_argument(
        "source", help="folder of audio, .jsonl manifest, save_to_disk dir, audiofolder:DIR, or hub name"
    )
    parser.add_argument("--out", required=True, help="output folder (shards, config, manifests)")
    parser.add_argument(
        "--model", default=DEFAULT_CODEC, help="codec: hub id, directory, config JSON, 'demo' or 'demo-<family>'"
    )
    parser.add_argument("--config-name", help="hub dataset configuration")
    parser.add_argument("--split", default="train")
    parser.add_argument("--audio-column", default="audio")
    parser.add_argument("--codebooks", dest="num_codebooks", type=int, help="codebooks per frame (the codec's counts)")
    parser.add_argument("--bandwidth", type=float, help="EnCodec's name for a codebook count, in kbps")
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
    parser.add_argument("--num-workers", type=int, help="audio decoding processes (default: 1 on CPU, cores-1 on GPU)")
    parser.add_argument("--encoders", type=int, help="CPU: encoder processes (default: one per core)")
    parser.add_argument("--threads", type=int, help="torch threads per encoder (default: cores / encoders)")
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda:LOCAL_RANK when present)")
    parser.add_argument("--limit", type=int, help="process only the first N rows")
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
    if values.get("device") is None and torch.cuda.is_available():
        values["device"] = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    return Options(**values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="preprocess_dataset", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--merge-only", action="store_true", help="only merge the rank manifests of --out")
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
                manifest = run(options_from_args(args), progress=printer)
            if manifest["rank"] != 0:
                return 1 if manifest["failed"] else 0
            merged = json.loads((Path(args.out) / "manifest.json").read_text())
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
        name = f"rank {state.rank}"
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
        self._print(
            f"rank {state.rank}: {done}/{state.rows} rows ({done / max(state.rows, 1):.0%}); this run: "
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
