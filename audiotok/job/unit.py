"""The job's unit of work, the same under every engine: block -> decoded clips -> codes -> one shard, atomically.

``process_block`` is all an engine needs: given the job's ``JobSpec`` and a block id it decodes the
block's rows (unless the engine decoded them already, elsewhere), encodes them in length-bucketed
batches, and writes ``shard-{b:06d}.parquet`` whole or not at all. A block whose shard exists is not
redone (a retried task, a rerun): each clip is written exactly once whoever runs the block, how often.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import datasets
import numpy as np

from ..shards import shard_table
from ..sources import DecodedRow, decode_row
from ..tokenizer import AudioTokenizer
from .blocks import block_rows, shard_name
from .options import Options, open_rows
from .output import Output

SUMMARY_COLUMNS = ["key", "error", "skipped", "duration"]


@dataclass(frozen=True)
class JobSpec:
    """What any worker needs to do any block of the job (small and picklable: engines ship it to workers)."""

    options: Options
    rows: int
    blocks: int
    sampling_rate: int
    channels: int

    def decode_args(self) -> dict[str, Any]:
        return {
            "sampling_rate": self.sampling_rate,
            "channels": self.channels,
            "min_seconds": self.options.min_duration,
            "max_seconds": self.options.max_duration,
            "keep_columns": tuple(self.options.keep_columns),
        }


@dataclass
class BlockResult:
    """What one block holds: its clips encoded, failed and skipped, and whether this call wrote its shard."""

    block: int
    rows: int
    encoded: int
    failed: int
    skipped: int
    audio_seconds: float
    written: bool

    @classmethod
    def of(cls, block: int, records: Sequence[dict[str, Any]], written: bool) -> BlockResult:
        failed = sum(r["error"] is not None for r in records)
        skipped = sum(r["error"] is None and r.get("skipped") is not None for r in records)
        seconds = sum(r["duration"] or 0.0 for r in records if r["error"] is None and r.get("skipped") is None)
        return cls(block, len(records), len(records) - failed - skipped, failed, skipped, float(seconds), written)


class Encoder(Protocol):
    def encode_batch(self, waves: list[np.ndarray], num_codebooks: int, max_batch_seconds: float) -> list[Any]: ...


_rows_cache: dict[tuple[Any, ...], datasets.Dataset] = {}


def source_rows(options: Options) -> datasets.Dataset:
    """The job's rows, opened once per process (a worker that decodes many blocks lists the source once)."""
    key = (options.source, options.config_name, options.split, options.audio_column, options.limit)
    if key not in _rows_cache:
        _rows_cache.clear()
        _rows_cache[key] = open_rows(options)
    return _rows_cache[key]


def decode_block(spec: JobSpec, block: int, rows: datasets.Dataset | None = None) -> list[DecodedRow]:
    """Decodes and resamples the rows of ``block`` (bad rows come back with their error, never raised)."""
    rows = rows if rows is not None else source_rows(spec.options)
    args = spec.decode_args()
    return [decode_row(i, rows[i], **args) for i in block_rows(block, spec.options.shard_size, spec.rows)]


def process_block(
    spec: JobSpec,
    block: int,
    tokenizer: AudioTokenizer,
    batch_seconds: float,
    *,
    encoder: Encoder | None = None,
    decoded: list[DecodedRow] | None = None,
    output: Output | None = None,
) -> BlockResult:
    """Does block ``block`` of the job: decode (unless ``decoded`` is given), encode, write its shard atomically.

    ``encoder`` (default: the tokenizer's codec) encodes the clips in batches of at most ``batch_seconds``
    of padded audio. A block whose shard already exists is read back, not redone.
    """
    output = output or Output(spec.options.out)
    name = shard_name(block)
    if output.exists(name):
        return BlockResult.of(block, output.read_table(name, SUMMARY_COLUMNS).to_pylist(), written=False)
    if decoded is None:
        decoded = decode_block(spec, block)
    records = encode_records(tokenizer, encoder or tokenizer.codec, decoded, spec.options.write_ids, batch_seconds)
    output.write_table(name, shard_table(records))
    return BlockResult.of(block, records, written=True)


def encode_records(
    tokenizer: AudioTokenizer,
    encoder: Encoder,
    decoded: list[DecodedRow],
    write_ids: bool,
    batch_seconds: float,
) -> list[dict[str, Any]]:
    """Decoded rows -> the shard's records (codes, or the row's error or skip reason), in row order."""
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
            if write_ids:
                record["ids"] = tokenizer.codes_to_ids(item).astype(np.int32).tolist()
        elif write_ids:
            record["ids"] = None
        record.update(row.extra)
        records.append(record)
    return records
