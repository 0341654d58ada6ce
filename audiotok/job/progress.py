"""``Progress``: where a run stands, handed to the caller's callback (the job itself prints nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .unit import BlockResult


@dataclass
class Progress:
    """Where one run (one rank, or a whole Ray job) stands: reported at the start, after every shard and at the end.

    ``*_before`` count the shards (and their rows) an earlier run of the job already wrote; the other
    counts are this run's. ``name`` says who reports (``rank 0``, ``ray``).
    """

    rank: int
    shards: int
    shards_before: int
    rows: int
    rows_before: int
    event: str = "start"
    plan: str = ""
    rows_done: int = 0
    shards_done: int = 0
    encoded: int = 0
    failed: int = 0
    skipped: int = 0
    audio_seconds: float = 0.0
    seconds: float = 0.0
    waiting: float = 0.0
    name: str = ""
    streamed: bool = False  # a stream's length is unknown until its end: ``shards`` and ``rows`` are set then

    def add(self, result: BlockResult, elapsed: float) -> None:
        self.shards_done += 1
        self.rows_done += result.rows
        self.encoded += result.encoded
        self.failed += result.failed
        self.skipped += result.skipped
        self.audio_seconds += result.audio_seconds
        self.seconds = elapsed

    def wait_share(self) -> float:
        return self.waiting / self.seconds if self.seconds else 0.0

    def this_run(self) -> dict[str, Any]:
        return {
            "shards": self.shards_done,
            "rows": self.rows_done,
            "encoded": self.encoded,
            "failed": self.failed,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "audio_hours": self.audio_seconds / 3600,
            "data_wait_share": self.wait_share(),
        }


ProgressCallback = Callable[[Progress], None]
