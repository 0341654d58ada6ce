"""The local engine: one process, audio decoded ahead by DataLoader workers, encoded on one GPU or by CPU processes.

Audio is decoded and resampled in DataLoader worker processes (numpy/soundfile/librosa only: a worker
never touches CUDA; with a CUDA device they are spawned, not forked; a worker dies with its parent),
while the codec encodes length-bucketed batches of at most ``batch_seconds`` of audio: in this process on
a GPU, in one single-thread encoder process per core on a CPU (``audiotok/plan.py`` says why).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from typing import Any

import datasets
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..plan import ExecutionPlan, keep_freed_memory, plan_for
from ..sources import DecodedRow, decode_row
from ..tokenizer import AudioTokenizer
from ..workers import EncoderPool, exit_with_parent
from .blocks import block_rows
from .manifest import write_manifest
from .options import Options
from .progress import Progress, ProgressCallback
from .run import Prepared, pending, prepare
from .unit import JobSpec, process_block


def run_local(options: Options, report: ProgressCallback) -> dict[str, Any]:
    """Does every block left, in this process and its workers; writes and returns the manifest."""
    prepared = prepare(options, options.device)
    plan = plan_of(prepared.tokenizer.codec.device, options)
    todo = pending(prepared)
    state = prepared.start_state(todo, todo, plan=plan.describe())
    report(state)
    run_blocks(prepared, todo, plan, state, report)
    manifest = write_manifest(prepared.output, prepared.spec.blocks, state.this_run())
    state.event = "end"
    report(state)
    return manifest


def plan_of(device: object, options: Options) -> ExecutionPlan:
    """The execution plan for the codec's device, with the options' overrides."""
    return plan_for(
        str(device),
        encoders=options.encoders,
        threads=options.threads,
        batch_seconds=options.batch_seconds,
        decode_workers=options.num_workers,
    )


def run_blocks(
    prepared: Prepared, todo: list[int], plan: ExecutionPlan, state: Progress, report: ProgressCallback
) -> None:
    """Does the blocks ``todo`` in order, reporting after each."""
    tokenizer, spec = prepared.tokenizer, prepared.spec
    use_cuda = tokenizer.codec.device.type == "cuda"
    started = time.perf_counter()
    state.event = "shard"
    with _encoder(tokenizer, plan, bool(todo)) as encoder:
        for b, decoded in _decoded_blocks(prepared.rows, spec, todo, plan.decode_workers, use_cuda, state):
            result = process_block(
                spec, b, tokenizer, plan.batch_seconds, encoder=encoder, decoded=decoded, output=prepared.output
            )
            state.add(result, time.perf_counter() - started)
            report(state)


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
    spec: JobSpec,
    todo: list[int],
    num_workers: int,
    use_cuda: bool,
    state: Progress,
) -> Iterator[tuple[int, list[DecodedRow]]]:
    """Yields each block's decoded rows, decoded ahead by one DataLoader's worker processes.

    The workers keep decoding the next rows while the caller encodes, so ``state.waiting`` (time spent
    blocked on the loader) is the share of the run the encoder starved for data.
    """
    blocks = [(b, block_rows(b, spec.options.shard_size, spec.rows)) for b in todo]
    indices = [i for _, block in blocks for i in block]
    if not indices:
        return
    loader = DataLoader(
        _DecodeRows(rows, indices, **spec.decode_args()),
        batch_size=1,
        collate_fn=_single,
        num_workers=num_workers,
        multiprocessing_context=("spawn" if use_cuda else None) if num_workers else None,
        prefetch_factor=8 if num_workers else None,
        worker_init_fn=functools.partial(exit_with_parent, os.getpid()) if num_workers else None,
    )
    stream = iter(loader)
    for b, block in blocks:
        decoded = []
        for _ in block:
            waited = time.perf_counter()
            decoded.append(next(stream))
            state.waiting += time.perf_counter() - waited
        yield b, decoded
