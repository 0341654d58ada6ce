"""Streamed sources on the local engine: blocks are consecutive runs of ``shard_size`` samples of the stream.

A stream (tar shards, a streaming Hugging Face dataset; ``audiotok.stream_sources``) is read once, in its
fixed order, and never listed: sample ``i`` belongs to block ``i // shard_size``, so block ids stay global
and stable and a block becomes the same ``shard-{b:06d}.parquet`` as under any other source. A rerun reads
the stream again from the start but passes over the blocks whose shard exists without decoding them (in a
tar, without reading their audio bytes); their keys are compared with the keys in their shard, so a stream
that changed under a finished block is refused. Audio is decoded in a pool of worker processes a bounded
number of samples ahead of the encoder (the stream is never read faster than it is encoded).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..errors import AudiotokError
from ..sources import DecodedRow, decode_row
from ..stream_sources import HubStream, StreamRow, WebDatasetStream, open_stream
from ..tokenizer import AudioTokenizer
from ..workers import exit_with_parent
from .blocks import finished_blocks, shard_name
from .local import _encoder, plan_of
from .manifest import write_manifest
from .options import Options, check_options, check_run_file, save_config
from .output import Output
from .progress import Progress, ProgressCallback
from .unit import JobSpec, process_block

AHEAD_PER_WORKER = 8  # samples decoded ahead of the encoder, per decoding process


def stream_of(options: Options) -> WebDatasetStream | HubStream:
    return open_stream(
        options.source,
        config_name=options.config_name,
        split=options.split,
        revision=options.revision,
        audio_column=options.audio_column,
        keep_columns=options.keep_columns,
        limit=options.limit,
    )


def run_stream(options: Options, report: ProgressCallback) -> dict[str, Any]:
    """Does every block of the stream not written yet, on this machine; writes and returns the manifest."""
    check_options(options)
    output = Output(options.out)
    tokenizer = AudioTokenizer.from_pretrained(options.model, device=options.device, **options.tokenizer_changes())
    stream = stream_of(options)
    check_run_file(output, options, {"source_stream": stream.identity()})
    output.remove_partials()  # a killed run's
    save_config(output, tokenizer.config)
    codec = tokenizer.codec
    spec = JobSpec(options, 0, 0, codec.sampling_rate, codec.channels)
    plan = plan_of(codec.device, options)
    done = finished_blocks(output)
    rows_before = sum(output.read_table(shard_name(b), ["key"]).num_rows for b in done)
    state = Progress(rank=0, shards=0, shards_before=len(done), rows=0, rows_before=rows_before,
                     plan=f"streaming {describe(stream)}; {plan.describe()}", name="stream", streamed=True)  # fmt: skip
    report(state)
    state.event = "shard"
    size, blocks, started = options.shard_size, 0, time.perf_counter()
    use_cuda = codec.device.type == "cuda"
    with _encoder(tokenizer, plan, True) as encoder, _Decoder(plan.decode_workers, use_cuda, spec) as decoder:
        samples = stream.samples(lambda index: index // size not in done)
        for b, items in itertools.groupby(decoder.decoded(samples), key=lambda item: item[0].index // size):
            rows = list(items)
            blocks = b + 1
            if b in done:
                _check_keys(output, b, [row.key for row, _ in rows])
                continue
            decoded = [d for _, d in rows if d is not None]
            result = process_block(spec, b, tokenizer, plan.batch_seconds, encoder=encoder, decoded=decoded,
                                   output=output)  # fmt: skip
            state.add(result, time.perf_counter() - started)
            state.waiting = decoder.waiting
            report(state)
    if blocks == 0:
        raise AudiotokError(f"{options.source}: the stream holds no samples")
    state.shards, state.rows = blocks, rows_before + state.rows_done
    manifest = write_manifest(output, blocks, state.this_run())
    state.event = "end"
    report(state)
    return manifest


def describe(stream: WebDatasetStream | HubStream) -> str:
    if isinstance(stream, WebDatasetStream):
        return f"{len(stream.files)} tar file(s)"
    return f"{stream.source} ({stream.split})"


def _check_keys(output: Output, block: int, keys: list[str]) -> None:
    """A finished block must hold the stream's samples of that block, else the stream changed under the job."""
    written = output.read_table(shard_name(block), ["key"])["key"].to_pylist()
    if written != keys:
        raise AudiotokError(
            f"the source changed since the job in {output} started: block {block} of the stream now holds other "
            f"samples than {shard_name(block)} ({len(keys)} samples, {len(written)} in the shard); restore the "
            "source as it was to resume, or start over with a new --out"
        )


def _decode(index: int, row: dict[str, Any], args: dict[str, Any]) -> DecodedRow:
    return decode_row(index, row, **args)


class _Decoder:
    """Decodes the samples to encode in ``workers`` processes (or inline with 0), in order, a bounded number ahead."""

    def __init__(self, workers: int, use_cuda: bool, spec: JobSpec) -> None:
        self.args, self.keep = spec.decode_args(), tuple(spec.options.keep_columns)
        self.ahead = max(1, workers) * AHEAD_PER_WORKER
        self.pool: Any = None
        if workers:
            context = multiprocessing.get_context("spawn" if use_cuda else None)
            self.pool = context.Pool(workers, initializer=exit_with_parent, initargs=(os.getpid(),))
        self.waiting = 0.0

    def __enter__(self) -> _Decoder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def decoded(self, samples: Iterator[StreamRow]) -> Iterator[tuple[StreamRow, DecodedRow | None]]:
        """Each sample with its decoded clip (``None`` for a sample passed over: its block is done)."""
        window: deque[tuple[StreamRow, Any]] = deque()
        for row in samples:
            job = None
            if row.error is None and row.audio is not None and self.pool is not None:
                job = self.pool.apply_async(_decode, (row.index, row.as_row(), self.args))
            window.append((row, job))
            while len(window) > self.ahead:
                yield self._resolve(*window.popleft())
        while window:
            yield self._resolve(*window.popleft())

    def _resolve(self, row: StreamRow, job: Any) -> tuple[StreamRow, DecodedRow | None]:
        if row.error is not None:
            return row, DecodedRow(row.index, row.key, None, row.error, {c: row.columns.get(c) for c in self.keep})
        if row.audio is None:
            return row, None
        waited = time.perf_counter()
        decoded = job.get() if job is not None else _decode(row.index, row.as_row(), self.args)
        self.waiting += time.perf_counter() - waited
        return row, decoded
