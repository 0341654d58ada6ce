"""torchrun: every rank runs the local engine on its share of the blocks left, then rank 0 writes the manifest.

The blocks left are listed by every rank before any rank writes (a barrier), and rank r takes every
W-th of them, starting at r (strided, never a contiguous slice: the slow end of a corpus, e.g. long
clips sorted together, is spread over the ranks). A rerun may use any number of ranks, or another engine.
Ranks coordinate over gloo (CPU), so this works with or without GPUs.
"""

from __future__ import annotations

import json
from typing import Any

from .local import plan_of, run_blocks
from .manifest import MANIFEST, write_manifest
from .options import Options
from .progress import ProgressCallback
from .run import RankInfo, pending, prepare


def run_rank(options: Options, rank: RankInfo, report: ProgressCallback) -> dict[str, Any]:
    """This rank's part of the job; returns the whole output's manifest (on every rank)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    try:
        if rank.rank == 0:
            prepared = prepare(options, options.device)  # the run file and config first, then the others check them
        dist.barrier()
        if rank.rank != 0:
            prepared = prepare(options, options.device, write=False)
        todo = pending(prepared)
        dist.barrier()  # every rank has listed the blocks left before any writes one
        mine = todo[rank.rank :: rank.world_size]
        plan = plan_of(prepared, options)
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
        dist.destroy_process_group()
