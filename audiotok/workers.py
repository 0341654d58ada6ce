"""The dataset job's worker processes: decoding workers and encoder processes, all dying with the job.

``EncoderPool`` runs several encoder processes (spawned, each holding the codec, each with its own torch
threads) and encodes one list of clips across them: the clips are split into groups of about equal
audio, each group is one process's ``encode_batch``. Batching is exact, so the codes are the same
however the clips are grouped.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np

from .ids.codes import AudioCodes
from .plan import ExecutionPlan, keep_freed_memory


def exit_with_parent(parent: int, *_: object) -> None:
    """In a worker: die when the job's process dies, even by SIGKILL (a ``worker_init_fn`` / initializer).

    Without it a killed job leaves its workers blocked on a full pipe, each holding its memory, forever.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="audiotok-parent-watch").start()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


_codec: Any = None


def _start_encoder(source: str, device: str, threads: int, keep_memory: bool, parent: int) -> None:
    global _codec
    exit_with_parent(parent)
    if keep_memory:
        keep_freed_memory()
    import torch

    from .codecs.registry import load_codec

    torch.set_num_threads(threads)
    _codec = load_codec(source, device=device)


def _encode(waves: list[np.ndarray], num_codebooks: int, max_batch_seconds: float) -> list[tuple[Any, Any, Any]]:
    out: list[tuple[Any, Any, Any]] = []
    for item in _codec.encode_batch(waves, num_codebooks, max_batch_seconds):
        codes, scales, chunk_frames = (
            None if p is None else np.asarray(p) for p in (item.codes, item.scales, item.chunk_frames)
        )
        out.append((codes, scales, chunk_frames))
    return out


def balanced_groups(lengths: Sequence[int], groups: int) -> list[list[int]]:
    """Indices split into ``groups`` lists of about equal total length (longest first to the lightest group)."""
    members: list[list[int]] = [[] for _ in range(groups)]
    totals = [0] * groups
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        lightest = totals.index(min(totals))
        members[lightest].append(index)
        totals[lightest] += lengths[index]
    return [m for m in members if m]


class EncoderPool:
    """``plan.encoders`` spawned processes, each loading the codec ``source`` on ``plan.device``.

    Args:
        source: what ``audiotok.load_codec`` takes (a hub id, a directory, a demo name).
        plan: processes, threads per process, and whether glibc keeps freed memory.
    """

    def __init__(self, source: str, plan: ExecutionPlan) -> None:
        self.size = plan.encoders
        self._pool = ProcessPoolExecutor(
            plan.encoders,
            mp_context=get_context("spawn"),
            initializer=_start_encoder,
            initargs=(source, plan.device, plan.threads, plan.keep_freed_memory, os.getpid()),
        )

    def encode_batch(
        self, waves: Sequence[np.ndarray], num_codebooks: int, max_batch_seconds: float
    ) -> list[AudioCodes]:
        """Clips ``[C, L_i]`` -> their codes, as ``AudioCodec.encode_batch`` gives them, across the processes."""
        groups = balanced_groups([w.shape[-1] for w in waves], self.size)
        futures = [
            self._pool.submit(_encode, [waves[i] for i in group], num_codebooks, max_batch_seconds) for group in groups
        ]
        codes: list[AudioCodes] = [AudioCodes(np.zeros((0, 0), np.int64))] * len(waves)
        for group, future in zip(groups, futures):
            for index, (values, scales, chunk_frames) in zip(group, future.result()):
                codes[index] = AudioCodes(values, scales, chunk_frames)
        return codes

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> EncoderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
