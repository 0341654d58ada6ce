"""``ExecutionPlan``: how the dataset job uses the machine it runs on, chosen from the device by default.

Measured on a 2-core CPU (docs/BENCHMARKS.md, "Fast by default"): one process with two torch threads
was slower than two single-thread processes (two threads contend, and collapse when the cores are
shared), big padded batches were slower than small ones (padding and page faults; docs/design.md,
fact 9), and glibc returning freed buffers to the kernel cost the batches up to a third of their time.
So on a CPU the job runs one single-thread encoder process per core on small batches, with glibc told to
keep freed memory; on a GPU, one encoder with large length-bucketed batches and decoding workers that
keep it fed. Every setting can be overridden; none of them changes a code (batching is exact).
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_MAX = -4


@dataclass(frozen=True)
class ExecutionPlan:
    """How to run the encoder.

    Attributes:
        device: where the codec runs.
        encoders: encoder processes (each holds the codec; > 1 only on CPU).
        threads: torch threads per encoder.
        batch_seconds: most padded audio per encoder batch.
        decode_workers: audio decoding processes feeding the encoders.
        keep_freed_memory: tell glibc to keep freed buffers instead of returning them to the kernel.
    """

    device: str
    encoders: int
    threads: int
    batch_seconds: float
    decode_workers: int
    keep_freed_memory: bool

    def describe(self) -> str:
        memory = ", glibc keeps freed memory" if self.keep_freed_memory else ""
        return (
            f"{self.device}: {self.encoders} encoder process(es) x {self.threads} thread(s), "
            f"batches of <= {self.batch_seconds:g} s, {self.decode_workers} decoding worker(s){memory}"
        )


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under a batch scheduler)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def plan_for(
    device: str,
    cores: int | None = None,
    *,
    encoders: int | None = None,
    threads: int | None = None,
    batch_seconds: float | None = None,
    decode_workers: int | None = None,
) -> ExecutionPlan:
    """The default plan for ``device`` on ``cores`` cores; any argument given overrides its default."""
    cores = cores or usable_cores()
    if device.startswith("cuda"):
        return ExecutionPlan(
            device=device,
            encoders=1,
            threads=threads or 1,
            batch_seconds=batch_seconds or 256.0,
            decode_workers=decode_workers if decode_workers is not None else min(max(cores - 1, 1), 8),
            keep_freed_memory=False,
        )
    count = encoders or cores
    return ExecutionPlan(
        device=device,
        encoders=count,
        threads=threads or max(1, cores // count),
        batch_seconds=batch_seconds or 16.0,
        decode_workers=decode_workers if decode_workers is not None else 1,
        keep_freed_memory=True,
    )


def keep_freed_memory() -> bool:
    """Tells glibc to keep freed buffers (no mmap for big ones, no trimming): big tensors are then reused
    instead of being returned to the kernel and page-faulted in again on the next batch. The process keeps
    its peak memory. Returns whether it took effect (glibc on Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**30))
