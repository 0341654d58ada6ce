"""Length-bucketed batches: which clips may share an encoder call without changing anyone's codes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def length_batches(
    lengths: Sequence[int],
    budget: int,
    padded_length: Callable[[int], int],
    can_share: Callable[[int, int], bool],
) -> list[list[int]]:
    """Groups item indices, sorted by length, into batches whose padded size stays within ``budget``.

    Args:
        lengths: each item's length (samples, or frames).
        budget: most padded length x rows per batch (a lone longer item forms its own batch).
        padded_length: the length an item is padded to in a batch (e.g. whole frames).
        can_share: ``can_share(shortest, length)``: whether an item of ``length`` may join a batch whose
            shortest item has ``shortest`` (the family's batching rule; e.g. equal lengths only).

    Returns:
        Batches of indices; shorter items first, each batch ascending in length.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    for index in order:
        current = batches[-1] if batches else None
        if current is not None:
            shortest, length = lengths[current[0]], lengths[index]
            fits = padded_length(length) * (len(current) + 1) <= budget
            if fits and can_share(shortest, length):
                current.append(index)
                continue
        batches.append([index])
    return batches


def pad_right(clips: Sequence[torch.Tensor], length: int, dtype: torch.dtype) -> torch.Tensor:
    """Clips ``[C, L_i]`` -> one zero-padded batch ``[B, C, length]``."""
    batch = torch.zeros(len(clips), clips[0].shape[0], length, dtype=dtype)
    for row, clip in zip(batch, clips):
        row[:, : clip.shape[-1]] = clip
    return batch


def pad_codes(codes: Sequence[torch.Tensor]) -> torch.Tensor:
    """Code arrays ``[K, T_i]`` (one K) -> one batch ``[B, K, max T]`` padded with code 0."""
    frames = max(c.shape[-1] for c in codes)
    batch = torch.zeros(len(codes), codes[0].shape[0], frames, dtype=torch.int64)
    for row, clip in zip(batch, codes):
        row[:, : clip.shape[-1]] = clip
    return batch


def by_codebook_count(codes: Sequence[torch.Tensor]) -> list[list[int]]:
    """Indices of code arrays grouped by their number of codebooks (one count per decoder call)."""
    counts = sorted({int(c.shape[0]) for c in codes})
    return [[i for i, c in enumerate(codes) if c.shape[0] == k] for k in counts]
