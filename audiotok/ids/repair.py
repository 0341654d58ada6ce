"""Shared machinery of the lenient repair: resynchronising a malformed span on per-codebook id ranges.

The rules are stated in ``audiotok/ids/detokenize.py`` (the error model); each layout applies them
through its ``repair`` method, using the pieces here. Everything is vectorised (cumulative sums and
maxima) over numpy arrays.
"""

from __future__ import annotations

import numpy as np

from .vocab import AudioVocab


def slot_grid(ids: np.ndarray, vocab: AudioVocab, with_pads: bool) -> np.ndarray:
    """Rules 1, 2 and the cut of rule 3 for frame-major orders (interleaved, delayed).

    Args:
        ids: ``[L]`` int64 ids of one span.
        vocab: the audio id range.
        with_pads: whether pad ids take slots (the delayed layout) or are dropped like text.

    Returns:
        ``[groups, K]`` codes, one row per frame (interleaved) or step (delayed), -1 where a slot has none.
    """
    codebook = vocab.codebook_of(ids)
    code = vocab.code_of(ids)
    is_pad = ids == vocab.pad_id if with_pads else np.zeros(ids.size, dtype=bool)
    keep = (codebook >= 0) | is_pad  # rule 1
    origin = np.flatnonzero(keep)
    tokens = _resync(codebook[keep], code[keep], is_pad[keep], origin, vocab.num_codebooks)
    return _group(*tokens, ids.size, vocab.num_codebooks)


def codebook_rows(ids: np.ndarray, vocab: AudioVocab, codebooks: int) -> np.ndarray:
    """Codes of codebooks ``0..codebooks-1`` in order of appearance, rows cut to the shortest: ``[codebooks, T]``."""
    codebook = vocab.codebook_of(ids)
    code = vocab.code_of(ids)
    rows = [code[codebook == k] for k in range(codebooks)]
    length = min(row.size for row in rows)
    return np.stack([row[:length] for row in rows]).astype(np.int64)


def _resync(
    codebook: np.ndarray, code: np.ndarray, is_pad: np.ndarray, origin: np.ndarray, num_codebooks: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rule 2 (interleaved, delayed): drops substituted and duplicate tokens.

    Args:
        codebook, code, is_pad, origin: ``[n]`` per kept token: codebook (-1 for a pad), code, whether
            it is a pad, and its position in the span.
        num_codebooks: K.

    Returns:
        ``(slot, code, is_pad, origin)`` of the tokens left, each ``[m]``.
    """
    is_code = ~is_pad
    index = np.arange(codebook.size)
    if not index.size:
        return index, code, is_pad, origin
    # A code fits its predecessor if it follows the last code before it, counting the pads between
    # (a virtual code of codebook -1 sits at position -1); it fits its successor likewise.
    last = np.maximum.accumulate(np.where(is_code, index, -1))
    before = np.concatenate([[-1], last[:-1]]).astype(np.int64)
    before_codebook = np.where(before >= 0, codebook[np.maximum(before, 0)], -1)
    fits_before = codebook == (before_codebook + index - before) % num_codebooks
    after = _next_true(is_code)
    after_codebook = codebook[np.minimum(after, codebook.size - 1)]
    fits_after = (after == codebook.size) | (after_codebook == (codebook + after - index) % num_codebooks)
    if num_codebooks >= 3:  # a span's first code may lean on its successor only inside one frame
        fits_after &= (before >= 0) | (codebook + after - index < num_codebooks)
    keep = is_pad | fits_before | fits_after
    codebook, code, is_pad, is_code, origin = (a[keep] for a in (codebook, code, is_pad, is_code, origin))
    index = np.arange(codebook.size)
    if not index.size:
        return index, code, is_pad, origin
    last = np.maximum.accumulate(np.where(is_code, index, -1))
    last_codebook = np.where(last >= 0, codebook[np.maximum(last, 0)], -1)
    slot = np.where(is_code, codebook, (last_codebook + index - last) % num_codebooks)
    if num_codebooks >= 3:
        same = slot[1:] == slot[:-1]  # pairs (i - 1, i): (code, code) or (pad, code)
        pad_first = same & is_pad[:-1]
        drop = np.zeros(slot.size, dtype=bool)
        drop[:-1] |= pad_first
        drop[1:] |= same & ~pad_first
        slot, code, is_pad, origin = (a[~drop] for a in (slot, code, is_pad, origin))
    return slot, code, is_pad, origin


def _next_true(mask: np.ndarray) -> np.ndarray:
    """For each i, the smallest j > i with mask[j], or len(mask) if there is none."""
    size = mask.size
    candidates = np.where(mask, np.arange(size), size)
    following = np.minimum.accumulate(candidates[::-1])[::-1]
    return np.concatenate([following[1:], [size]]).astype(np.int64)


def _group(
    slot: np.ndarray,
    code: np.ndarray,
    is_pad: np.ndarray,
    origin: np.ndarray,
    length: int,
    num_codebooks: int,
) -> np.ndarray:
    """Cuts the slotted tokens into frames/steps: ``[groups, K]`` codes, -1 where a slot has none.

    The last group is dropped as cut off if it lacks slot K-1 and fewer than K of the span's ``length``
    ids follow the previous group.
    """
    if not slot.size:
        return np.full((0, num_codebooks), -1, dtype=np.int64)
    group = np.cumsum(np.concatenate([[False], slot[1:] <= slot[:-1]]))
    groups = int(group[-1]) + 1
    first = int(np.argmax(group == group[-1]))  # first token of the last group
    begin = int(origin[first - 1]) + 1 if first else 0
    if slot[first:].max() < num_codebooks - 1 and length - begin < num_codebooks:
        groups -= 1
    grid = np.full((groups, num_codebooks), -1, dtype=np.int64)
    put = ~is_pad & (group < groups)
    grid[group[put], slot[put]] = code[put]
    return grid


def fill_gaps(codes: np.ndarray) -> np.ndarray:
    """Rule 3: each -1 takes its codebook's nearest earlier code (else nearest later); ``[K, T]``."""
    num_codebooks, frames = codes.shape
    present = codes >= 0
    if frames == 0 or not present.any(axis=1).all():
        return np.zeros((num_codebooks, 0), dtype=np.int64)
    frame = np.arange(frames)
    earlier = np.maximum.accumulate(np.where(present, frame, -1), axis=1)
    later = np.minimum.accumulate(np.where(present, frame, frames)[:, ::-1], axis=1)[:, ::-1]
    source = np.where(earlier >= 0, earlier, later)
    return np.take_along_axis(codes, source, axis=1).astype(np.int64)
