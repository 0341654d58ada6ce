"""The dataset job: corpus -> token shards, resumable, on one machine, under torchrun, or on a Ray cluster.

Work is cut into blocks of ``shard_size`` rows numbered over the whole source; block b becomes the shard
``shard-{b:06d}.parquet``, written atomically (``blocks``, ``output``). The unit of work,
``process_block`` (rows -> decoded clips -> codes -> one shard), is the same under every engine
(``unit``); an engine only decides who does which block: ``local`` (one process with DataLoader
workers and encoder processes), ``torchrun`` (ranks take every W-th block left) and ``ray_engine``
(Ray Data: decoding tasks, a pool of encoding actors). A rerun with any engine and any number of
workers, ranks or GPUs skips every block whose shard exists, so a job killed at any moment finishes
with every clip exactly once.

The run file records the settings that change the output and what identifies the input (row count, a
hash of the keys); a resumed run with other settings or a changed source is refused, since its blocks
would no longer be the same rows. ``manifest.json`` is built from the shards at the end of every run.
Corpus-scale sources (tar shards, ``--streaming``) are read as a stream on the local engine (``streamed``):
block b is samples ``[b * shard_size, (b + 1) * shard_size)`` of the stream's fixed order.
The job reports through a ``progress`` callback and prints nothing.
"""

from __future__ import annotations

from .blocks import block_rows, shard_name
from .manifest import merge_manifests
from .options import RUN_FILE, Options, source_identity
from .progress import Progress, ProgressCallback
from .run import RankInfo, run
from .unit import BlockResult, JobSpec, process_block

__all__ = [
    "RUN_FILE",
    "BlockResult",
    "JobSpec",
    "Options",
    "Progress",
    "ProgressCallback",
    "RankInfo",
    "block_rows",
    "merge_manifests",
    "process_block",
    "run",
    "shard_name",
    "source_identity",
]
