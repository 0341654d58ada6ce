"""``run``: one call for every engine. Prepares the job (codec config, run file, the blocks left) and hands it on.

The engine (``options.engine``) and the number of ranks, workers or GPUs only say how the blocks get
done, never which: any of them resumes a job that another one started.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import datasets

from ..errors import AudiotokError
from ..stream_sources import is_stream_source
from ..tokenizer import AudioTokenizer
from .blocks import adopt_legacy_shards, block_count, block_rows, todo_blocks
from .options import RUN_FILE, Options, check_options, check_run_file, open_rows, save_config, source_identity
from .output import Output
from .progress import Progress, ProgressCallback
from .unit import JobSpec


@dataclass
class RankInfo:
    rank: int
    world_size: int

    @classmethod
    def from_env(cls) -> RankInfo:
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


@dataclass
class Prepared:
    """A job ready to run: its output, a tokenizer, its rows and the spec workers get."""

    output: Output
    tokenizer: AudioTokenizer
    rows: datasets.Dataset
    spec: JobSpec

    def start_state(self, todo: list[int], mine: list[int], rank: int = 0, name: str = "", plan: str = "") -> Progress:
        """The ``Progress`` of a run that does ``mine`` of the blocks ``todo`` left by earlier runs."""
        size, total = self.spec.options.shard_size, self.spec.rows

        def rows_of(blocks: list[int]) -> int:
            return sum(len(block_rows(b, size, total)) for b in blocks)

        rows_before = total - rows_of(todo)
        shards_before = self.spec.blocks - len(todo)
        return Progress(
            rank=rank,
            shards=shards_before + len(mine),
            shards_before=shards_before,
            rows=rows_before + rows_of(mine),
            rows_before=rows_before,
            plan=plan,
            name=name or f"rank {rank}",
        )


def prepare(options: Options, device: str | None, write: bool = True) -> Prepared:
    """Loads the codec, opens the rows, checks (or writes) the run file; ``write`` also saves the codec config
    and renames a one-rank folder of an earlier version (only one process of a job may ``write``)."""
    check_options(options)
    output = Output(options.out)
    tokenizer = AudioTokenizer.from_pretrained(options.model, device=device, **options.tokenizer_changes())
    rows = open_rows(options)
    check_run_file(output, options, source_identity(rows), write=write)
    if write:
        output.remove_partials()  # a killed run's; no write of this run has started yet
        adopt_legacy_shards(output, RUN_FILE)
        save_config(output, tokenizer.config)
    codec = tokenizer.codec
    spec = JobSpec(options, len(rows), block_count(len(rows), options.shard_size), codec.sampling_rate, codec.channels)
    return Prepared(output, tokenizer, rows, spec)


def pending(prepared: Prepared) -> list[int]:
    """The blocks no earlier run finished."""
    return todo_blocks(prepared.output, prepared.spec.blocks)


def run(options: Options, rank: RankInfo | None = None, progress: ProgressCallback | None = None) -> dict[str, Any]:
    """Runs (or resumes) the job on ``options.engine``; returns the output's manifest.

    ``progress`` (if given) is called with a ``Progress`` at the start, after every shard written and at
    the end; the job itself prints nothing. Under torchrun (``WORLD_SIZE`` > 1) each rank runs this.
    """
    report = progress or (lambda state: None)
    rank = rank or RankInfo.from_env()
    if is_stream_source(options.source, options.streaming):
        return _run_stream(options, rank, report)
    if options.engine == "ray":
        from .ray_engine import run_ray

        return run_ray(options, report)
    if rank.world_size > 1:
        from .torchrun import run_rank

        return run_rank(options, rank, report)
    from .local import run_local

    return run_local(options, report)


def _run_stream(options: Options, rank: RankInfo, report: ProgressCallback) -> dict[str, Any]:
    """A streamed source (tar shards, ``--streaming``): the local engine only, for now."""
    check_options(options)
    if options.engine != "local" or rank.world_size > 1:
        how = "--engine ray" if options.engine != "local" else f"torchrun ({rank.world_size} ranks)"
        raise AudiotokError(
            f"{how} does not take a streamed source (tar shards, --streaming) yet: run it with the local "
            "engine (one process, with its decoding and encoding processes)"
        )
    from .streamed import run_stream

    return run_stream(options, report)
