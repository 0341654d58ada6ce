"""The dataset job: corpus -> token shards, batched on the GPU, resumable, across ranks via torchrun.

Work is cut into fixed blocks of ``shard_size`` rows; block b of rank r becomes the shard file
``rank{r:03d}-shard{b:06d}.parquet``, written atomically. A rerun with the same arguments skips every
block whose shard exists, so a job killed at any moment finishes with every clip exactly once. Each
rank takes a contiguous share of the rows (``datasets.distributed.split_dataset_by_node``) and
writes its own shards and ``manifest-rank{r}.json``; rank 0 merges the manifests into
``manifest.json`` once all ranks are done (or run ``audiotok preprocess --merge-only OUT``).

Audio is decoded and resampled in DataLoader worker processes (numpy/soundfile/librosa only: a worker
never touches CUDA; with a CUDA device they are spawned, not forked), while the main process owns the
codec and encodes length-bucketed batches of at most ``batch_seconds`` of audio (``Codec.encode_batch``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import torch
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from .config import CONFIG_NAME, DEFAULT_CODEC
from .errors import AudiotokError
from .ids.layouts import LAYOUTS
from .shards import write_shard
from .sources import DecodedRow, decode_row, open_source
from .tokenizer import AudioTokenizer

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
    bandwidth: float | None = None
    layout: str | None = None
    vocab_offset: int | None = None
    write_ids: bool = False
    min_duration: float = 0.0
    max_duration: float | None = None
    keep_columns: list[str] = field(default_factory=list)
    shard_size: int = 256
    batch_seconds: float = 64.0
    num_workers: int = 2
    device: str | None = None
    limit: int | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change what is written (not how fast)."""
        ignored = {"out", "batch_seconds", "num_workers", "device"}
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


def run(options: Options, rank: RankInfo | None = None) -> dict[str, Any]:
    """Runs (or resumes) this rank's share of the job; returns this rank's manifest."""
    rank = rank or RankInfo.from_env()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    changes: dict[str, Any] = {
        k: v for k, v in (("bandwidth", options.bandwidth), ("layout", options.layout)) if v is not None
    }
    if options.vocab_offset is not None:
        changes["vocab_offset"] = options.vocab_offset
    tokenizer = AudioTokenizer.from_pretrained(options.model, device=options.device, **changes)
    _check_run_file(out, options, rank)
    if rank.rank == 0:
        tokenizer.config.save_pretrained(out)

    rows = open_source(
        options.source, config_name=options.config_name, split=options.split, audio_column=options.audio_column
    )
    if options.limit is not None:
        rows = rows.select(range(min(options.limit, len(rows))))
    missing = [c for c in options.keep_columns if c not in rows.column_names]
    if missing:
        raise AudiotokError(f"--keep-columns {missing} not in the source; its columns are {rows.column_names}")
    mine = split_dataset_by_node(rows, rank=rank.rank, world_size=rank.world_size)
    blocks = [
        range(start, min(start + options.shard_size, len(mine))) for start in range(0, len(mine), options.shard_size)
    ]
    todo = [(b, block) for b, block in enumerate(blocks) if not _shard_path(out, rank, b).exists()]

    manifest_counts = _Counts()
    decode_args = {
        "sampling_rate": tokenizer.codec.sampling_rate,
        "channels": tokenizer.codec.channels,
        "min_seconds": options.min_duration,
        "max_seconds": options.max_duration,
        "keep_columns": tuple(options.keep_columns),
    }
    use_cuda = tokenizer.codec.device.type == "cuda"
    started = time.perf_counter()
    with tqdm(
        total=sum(len(b) for _, b in todo), unit="clip", desc=f"rank {rank.rank}", disable=None, dynamic_ncols=True
    ) as bar:
        decoded_blocks = _decoded_blocks(mine, todo, options.num_workers, use_cuda, decode_args, manifest_counts)
        for b, decoded in decoded_blocks:
            records = _encode_block(tokenizer, decoded, options)
            write_shard(_shard_path(out, rank, b), records)
            manifest_counts.add(records, time.perf_counter() - started)
            bar.update(len(decoded))
            hours = manifest_counts.audio_seconds / 3600
            bar.set_postfix(
                audio_h=f"{hours:.3f}",
                h_per_s=f"{hours / max(manifest_counts.seconds, 1e-9):.4f}",
                failed=manifest_counts.failed,
                wait=f"{manifest_counts.wait_share():.0%}",
            )

    manifest = _rank_manifest(out, rank, len(mine), len(blocks), manifest_counts)
    _finish(out, rank)
    return manifest


def _shard_path(out: Path, rank: RankInfo, block: int) -> Path:
    return out / f"rank{rank.rank:03d}-shard{block:06d}.parquet"


def _check_run_file(out: Path, options: Options, rank: RankInfo) -> None:
    """Refuses to resume with different settings (shards would mix two jobs)."""
    path = out / RUN_FILE
    wanted = {**options.fingerprint(), "world_size": rank.world_size}
    if path.exists():
        recorded = json.loads(path.read_text())
        if recorded != wanted:
            changed = sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k))
            raise AudiotokError(
                f"{out} holds a job run with other settings ({', '.join(changed)} differ); rerun with the same "
                "arguments to resume, or choose a new --out"
            )
    elif rank.rank == 0:
        path.write_text(json.dumps(wanted, indent=2))


class _Counts:
    """Running totals of one rank."""

    def __init__(self) -> None:
        self.encoded = self.failed = 0
        self.audio_seconds = self.seconds = self.waiting = 0.0
        self.failures: list[dict[str, str]] = []

    def add(self, records: list[dict[str, Any]], elapsed: float) -> None:
        for record in records:
            if record["error"] is None:
                self.encoded += 1
                self.audio_seconds += record["duration"]
            else:
                self.failed += 1
                self.failures.append({"key": record["key"], "error": record["error"]})
        self.seconds = elapsed

    def wait_share(self) -> float:
        return self.waiting / self.seconds if self.seconds else 0.0


def _decoded_blocks(
    rows: datasets.Dataset,
    todo: list[tuple[int, range]],
    num_workers: int,
    use_cuda: bool,
    decode_args: dict[str, Any],
    counts: _Counts,
) -> Iterator[tuple[int, list[DecodedRow]]]:
    """Yields each unfinished block's decoded rows, decoded ahead by one DataLoader's worker processes.

    The workers keep decoding the next rows while the caller encodes, so ``counts.waiting`` (time spent
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
    )
    stream = iter(loader)
    for b, block in todo:
        decoded = []
        for _ in block:
            waited = time.perf_counter()
            decoded.append(next(stream))
            counts.waiting += time.perf_counter() - waited
        yield b, decoded


def _encode_block(tokenizer: AudioTokenizer, decoded: list[DecodedRow], options: Options) -> list[dict[str, Any]]:
    good = [(row, row.wave) for row in decoded if row.wave is not None]
    waves = [wave for _, wave in good]
    codes = tokenizer.codec.encode_batch(waves, tokenizer.config.bandwidth, options.batch_seconds)
    encoded = {row.index: item for (row, _), item in zip(good, codes)}
    records = []
    for row in decoded:
        record: dict[str, Any] = {
            "key": row.key,
            "error": row.error,
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


def _rank_manifest(out: Path, rank: RankInfo, rows: int, blocks: int, counts: _Counts) -> dict[str, Any]:
    """Writes manifest-rank{r}.json from the shards on disk (so it is right after a resume too)."""
    import pyarrow.parquet as pq

    encoded = failed = 0
    seconds = 0.0
    failures = []
    for b in range(blocks):
        table = pq.read_table(_shard_path(out, rank, b), columns=["key", "error", "duration"]).to_pylist()
        for record in table:
            if record["error"] is None:
                encoded += 1
                seconds += record["duration"]
            else:
                failed += 1
                failures.append({"key": record["key"], "error": record["error"]})
    manifest = {
        "rank": rank.rank,
        "world_size": rank.world_size,
        "rows": rows,
        "shards": blocks,
        "encoded": encoded,
        "failed": failed,
        "audio_hours": seconds / 3600,
        "failures": failures,
        "this_run": {
            "seconds": counts.seconds,
            "audio_hours": counts.audio_seconds / 3600,
            "data_wait_share": counts.wait_share(),
        },
    }
    (out / f"manifest-rank{rank.rank:03d}.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def merge_manifests(out: str | os.PathLike[str]) -> dict[str, Any]:
    """Joins every rank's manifest into ``manifest.json``; fails if a rank is missing."""
    out = Path(out)
    parts = [json.loads(p.read_text()) for p in sorted(out.glob("manifest-rank*.json"))]
    if not parts:
        raise AudiotokError(f"{out}: no manifest-rank*.json: run the job first")
    world = parts[0]["world_size"]
    if sorted(p["rank"] for p in parts) != list(range(world)):
        raise AudiotokError(
            f"{out}: manifests of ranks {sorted(p['rank'] for p in parts)} of {world}; a rank is unfinished"
        )
    merged = {
        "world_size": world,
        "rows": sum(p["rows"] for p in parts),
        "shards": sum(p["shards"] for p in parts),
        "encoded": sum(p["encoded"] for p in parts),
        "failed": sum(p["failed"] for p in parts),
        "audio_hours": sum(p["audio_hours"] for p in parts),
        "failures": [f for p in parts for f in p["failures"]],
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
    parser.add_argument("--model", default=DEFAULT_CODEC, help="codec: hub id, directory, config JSON, or 'demo'")
    parser.add_argument("--config-name", help="hub dataset configuration")
    parser.add_argument("--split", default="train")
    parser.add_argument("--audio-column", default="audio")
    parser.add_argument("--bandwidth", type=float)
    parser.add_argument("--layout", choices=sorted(LAYOUTS))
    parser.add_argument("--vocab-offset", type=int)
    parser.add_argument("--write-ids", action="store_true", help="also store LM ids (int32) in the chosen layout")
    parser.add_argument("--min-duration", type=float, default=0.0, help="seconds; shorter clips are skipped")
    parser.add_argument("--max-duration", type=float, help="seconds; longer clips are skipped")
    parser.add_argument("--keep-columns", nargs="*", default=[], help="input columns to copy into the shards")
    parser.add_argument("--shard-size", type=int, default=256, help="clips per shard (the unit of resumption)")
    parser.add_argument("--batch-seconds", type=float, default=64.0, help="padded audio per encoder batch")
    parser.add_argument("--num-workers", type=int, default=2, help="audio decoding processes")
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda:LOCAL_RANK when present)")
    parser.add_argument("--limit", type=int, help="process only the first N rows")


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
    try:
        if getattr(args, "merge_only", False):
            merged = merge_manifests(args.out)
        else:
            manifest = run(options_from_args(args))
            if manifest["rank"] != 0:
                return 0
            merged = json.loads((Path(args.out) / "manifest.json").read_text())
    except (AudiotokError, OSError) as error:
        print(f"preprocess: error: {error}", file=sys.stderr)
        return 2
    print(
        f"{merged['encoded']} clips encoded ({merged['audio_hours']:.3f} h of audio), {merged['failed']} failed, "
        f"{merged['shards']} shards in {args.out}"
    )
    for failure in merged["failures"][:10]:
        print(f"  failed: {failure['key']}: {failure['error']}")
    return 0
