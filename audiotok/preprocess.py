"""The dataset job's public names, kept at their old place: the job itself is the package ``audiotok.job``."""

from __future__ import annotations

from .job import (
    RUN_FILE,
    BlockResult,
    JobSpec,
    Options,
    Progress,
    ProgressCallback,
    RankInfo,
    merge_manifests,
    process_block,
    run,
    source_identity,
)

__all__ = [
    "RUN_FILE",
    "BlockResult",
    "JobSpec",
    "Options",
    "Progress",
    "ProgressCallback",
    "RankInfo",
    "merge_manifests",
    "process_block",
    "run",
    "source_identity",
]
