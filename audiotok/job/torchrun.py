"""torchrun: every rank runs the local engine on its share of the blocks left, then rank 0 writes the manifest.

The blocks left are listed by every rank before any rank writes (a barrier), and rank r takes every
W-th of them, starting at r (strided, never a contiguous slice: the slow end of a corpus, e.g. long
clips sorted together, is spread over the ranks). A rerun may use any number of ranks, or another engine.
Ranks coordinate over gloo (CPU), so this works with or without GPUs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import AudiotokError
from .local import plan_of, run_blocks
from .manifest import MANIFEST, write_manifest
from .options import Options
from .progress import ProgressCallback
from .run import RankInfo, pending, prepare

T = TypeVar("T")


def _on_every_rank(step: Callable[[], T], rank: RankInfo) -> T:
    """Runs ``step`` on this rank; if it failed on any rank, every rank raises (none is left waiting at a barrier)."""
    import torch.distributed as dist

    result: Any = None
    failure: BaseException | None = None
    try:
        result = step()
    except Exception as error:  # reported to every rank below, then raised here as it was
        failure = error
    errors: list[Any] = [None] * rank.world_size
    dist.all_gather_object(errors, None if failure is None else f"{type(failure).__name__}: {failure}")
    if failure is not None:
        raise failure
    failed = [(r, e) for r, e in enumerate(errors) if e is not None]
    if failed:
        where, what = failed[0]
        raise AudiotokError(f"rank {where} failed, so this rank stops too: {what}")
    return result


def run_rank(options: Options, rank: RankInfo, report: ProgressCallback) -> dict[str, Any]:
    """This rank's part of the job; returns the whole output's manifest (on every rank)."""
    import torch.distributed as dist

    started_here = not dist.is_initialized()
    if started_here:
        dist.init_process_group("gloo")
    try:
        # the run file and config first (rank 0), then the others check them; a refusal stops every rank at once
        first = rank.rank == 0
        written = _on_every_rank(lambda: prepare(options, options.device) if first else None, rank)
        checked = _on_every_rank(lambda: None if first else prepare(options, options.device, write=False), rank)
        prepared = written if first else checked
        assert prepared is not None
        todo = pending(prepared)
        dist.barrier()  # every rank has listed the blocks left before any writes one
        mine = todo[rank.rank :: rank.world_size]
        plan = plan_of(prepared.tokenizer.codec.device, options)
        state = prepared.start_state(todo, mine, rank=rank.rank, plan=plan.describe())
        report(state)
        run_blocks(prepared, mine, plan, state, report)
        runs: list[Any] = [None] * rank.world_size
        dist.all_gather_object(runs, state.this_run())
        if rank.rank == 0:
            together = {name: sum(r[name] for r in runs) for name in runs[0] if name != "data_wait_share"}
            together["seconds"] = max(r["seconds"] for r in runs)
            together["data_wait_share"] = max(r["data_wait_share"] for r in runs)
            manifest = write_manifest(prepared.output, prepared.spec.blocks, together)
        dist.barrier()
        if rank.rank != 0:
            manifest = json.loads(prepared.output.read_text(MANIFEST) or "{}")
        state.event = "end"
        report(state)
        return manifest
    finally:
        if started_here:
            dist.destroy_process_group()
