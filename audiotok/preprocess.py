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
``progress`` callback; ``audiotok/cli/preprocess.py`` turns that into a tqdm bar on a terminal and periodic lines
in a log file.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
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
