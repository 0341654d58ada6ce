"""Turns an LLM's output (text ids mixed with audio spans) back into RVQ code arrays.

The error model
===============

``errors="strict"`` raises :class:`~audiotok.errors.TokenizationError` whose ``position`` is the index
(in the whole input) of the first offending id; ``errors="lenient"`` never raises for any sequence of
integers and repairs as follows.

==========================================  ===========================  ===============================
situation                                   strict                       lenient
==========================================  ===========================  ===============================
no ``<|audio_start|>``/``<|audio_end|>``    the whole input is one bare  same
at all                                      audio span (start 0)
``<|audio_end|>`` with no open span         error at that end marker     the stray end is dropped (the
                                                                         text around it stays split)
``<|audio_start|>`` inside an open span     error at that start marker   closes the open span, opens a
                                                                         new one
span never closed                           error at its start marker    the span runs to the end of
                                                                         the input
empty span                                  codes with T = 0             codes with T = 0
well-formed span                            ``layout.from_ids``          ``layout.from_ids``
malformed span                              error at the first bad id    repaired (rules 1-3 below)
==========================================  ===========================  ===============================

A strict error inside a span names the position, what the layout expected there (e.g. "a codebook-2
code (ids 2048..3071)") and what it found. When the span's length is impossible, the error points at
the first id that is no audio code (or no pad, for ``delayed``), else, for ``interleaved``, at the
first id of the wrong codebook, else it reports the length and the lengths that are possible.

Lenient repair of a malformed span (K codebooks, codes C[k, t]):

1. Drop every id that is neither a code of this vocabulary nor (for the ``delayed`` layout only) the
   pad id: text ids, ids outside the audio range, special and scale tokens, and pads in the other
   layouts. A special id is never clipped into the code range, and code 0 is never taken for padding.
2. Resynchronise on the per-codebook id ranges instead of counting positions.

   * ``interleaved`` and ``delayed``: every code sits in slot = its codebook; in ``delayed`` a pad takes
     the slot after the previous token's (mod K; a span starts at slot 0).

     a. Substitutions. A code *fits* the code before it if its codebook is that code's codebook plus
        their distance in tokens (pads included), mod K; a span's first code fits if its codebook is
        the number of pads before it, mod K (so codebook 0 in ``interleaved``). A code that fits
        neither the code before it nor the code after it is taken for a substituted token and
        dropped. The span's last code always fits its (absent) successor; for K >= 3 the span's first
        code fits its successor only if both lie in the same frame (no wrap past codebook K-1).
     b. Duplicates (K >= 3 only). Of two neighbours in the same slot the second is dropped, except
        that a pad gives way to a code.
     c. Frames. A token whose slot is <= the previous token's slot starts a new frame
        (``interleaved``) or step (``delayed``): the frame index is a cumulative sum.

     So one inserted, missing or substituted token changes at most one code and shifts no frame
     (for K = 2 this holds for a missing or substituted token; an extra token cannot be told from a
     missing one there).
   * ``flattened``: the codes of codebook k form row k, in order; every row is cut to the shortest row.
     (Flattened cannot tell where inside a row a token went missing, so it cannot resynchronise.)
   * ``first_codebook``: only codebook-0 codes are kept, in order.

3. Rebuild the grid (``interleaved`` and ``delayed``).

   * The last frame (step) is taken as cut off, and dropped, if it lacks slot K-1 and fewer than K ids
     of the span follow the previous frame (step): a span that stops mid-frame loses that frame, a
     frame whose last token was replaced keeps its place.
   * ``interleaved``: frame t is the t-th frame of step 2c. ``delayed``: with S steps left,
     T = max(S - (K - 1), 0) and C[k, t] is slot k of step t + k (frames whose later codebooks never
     came are dropped).
   * A code that is missing (or a pad where a code belongs) takes the value of the same codebook in
     the nearest earlier frame that has one or, before that codebook's first code, in the nearest
     later frame. If some codebook has no code at all, the result has T = 0.

Lenient decoding may return codes with T = 0. Everything here is numpy in, numpy out (torch tensors and
lists are converted with ``np.asarray``); the repair is vectorised (cumulative sums and maxima), with
Python loops only over the markers of ``split_segments`` and the codebooks of ``flattened``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from audiotok.errors import TokenizationError
from audiotok.layouts import (
    DelayedLayout,
    FirstCodebookLayout,
    FlattenedLayout,
    InterleavedLayout,
    Layout,
)
from audiotok.vocab import AudioVocab

Errors = Literal["strict", "lenient"]
_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


@dataclass(frozen=True)
class Segment:
    """One piece of a model's output.

    Attributes:
        kind: ``"text"`` or ``"audio"``.
        ids: int64 ``[n]``; for audio the ids between the markers (markers excluded).
        start: position of the segment's first id in the whole input (for audio, the position after
            ``<|audio_start|>``, or 0 for a bare span).
    """

    kind: Literal["text", "audio"]
    ids: np.ndarray
    start: int


def split_segments(ids: Any, vocab: AudioVocab, errors: Errors = "strict") -> list[Segment]:
    """Splits a sequence into text segments and audio spans, in order.

    Args:
        ids: ``[N]`` integer ids (numpy array, torch tensor or list).
        vocab: the audio id range (gives the marker ids).
        errors: ``"strict"`` or ``"lenient"`` (see the module docstring).

    Returns:
        The segments in input order; text segments are never empty, audio spans may be. Every segment
        is a slice of the input: ``segment.ids == ids[segment.start : segment.start + len(segment.ids)]``.

    Raises:
        TokenizationError: (strict) a stray ``<|audio_end|>``, an ``<|audio_start|>`` inside an open span
            or a span never closed, at the position of the offending marker.
    """
    _check_errors(errors)
    ids = _as_ids(ids)
    marker = np.flatnonzero((ids == vocab.start_id) | (ids == vocab.end_id))
    if marker.size == 0:
        return [Segment("audio", ids, 0)]
    strict = errors == "strict"
    start_name, end_name = _name(vocab, vocab.start_id), _name(vocab, vocab.end_id)
    segments: list[Segment] = []
    cursor = 0  # first id not yet assigned to a segment
    open_at: int | None = None  # position of the open span's <|audio_start|>

    def text_until(stop: int) -> None:
        if stop > cursor:
            segments.append(Segment("text", ids[cursor:stop], cursor))

    for position, is_start in zip(marker.tolist(), (ids[marker] == vocab.start_id).tolist(), strict=True):
        if is_start:
            if open_at is None:
                text_until(position)
            elif strict:
                raise TokenizationError(
                    f"found {start_name} inside the audio span opened at position {open_at}; "
                    f"close that span with {end_name} first",
                    position=position,
                )
            else:
                segments.append(Segment("audio", ids[open_at + 1 : position], open_at + 1))
            open_at = position
        elif open_at is None:
            if strict:
                raise TokenizationError(
                    f"found {end_name} but no audio span is open (no {start_name} before it)",
                    position=position,
                )
            text_until(position)
        else:
            segments.append(Segment("audio", ids[open_at + 1 : position], open_at + 1))
            open_at = None
        cursor = position + 1
    if open_at is not None:
        if strict:
            raise TokenizationError(
                f"the audio span opened here by {start_name} is never closed: expected {end_name} "
                f"before the end of the input ({ids.size} ids)",
                position=open_at,
            )
        segments.append(Segment("audio", ids[open_at + 1 :], open_at + 1))
    else:
        text_until(ids.size)
    return segments


def span_to_codes(
    span_ids: Any,
    vocab: AudioVocab,
    layout: Layout,
    errors: Errors = "strict",
    position: int = 0,
) -> np.ndarray:
    """Decodes the ids of one audio span (markers excluded) into codes.

    Args:
        span_ids: ``[L]`` integer ids.
        vocab: the audio id range.
        layout: the layout the span was written in.
        errors: ``"strict"`` or ``"lenient"`` (see the module docstring).
        position: position of ``span_ids[0]`` in the whole input; added to every position reported.

    Returns:
        codes ``[codebooks_used(K), T]`` int64 in ``[0, codebook_size)``.

    Raises:
        TokenizationError: (strict) the span is malformed; (either mode) ``span_ids`` are not integers.
        ValueError: (lenient) ``layout`` is not one of the four built-in layouts, so has no repair rule.
    """
    _check_errors(errors)
    ids = _as_ids(span_ids)
    if ids.size == 0:
        return np.zeros((layout.codebooks_used(vocab.num_codebooks), 0), dtype=np.int64)
    try:
        return np.asarray(layout.from_ids(ids, vocab))
    except TokenizationError as error:
        if errors == "lenient":
            return _repair(ids, vocab, layout)
        raise _locate(error, ids, vocab, layout, position) from None


def ids_to_codes(ids: Any, vocab: AudioVocab, layout: Layout, errors: Errors = "strict") -> list[np.ndarray]:
    """Decodes every audio span of a model's output.

    Args:
        ids: ``[N]`` integer ids: text and audio spans, or one bare span without markers.
        vocab: the audio id range.
        layout: the layout the spans were written in.
        errors: ``"strict"`` or ``"lenient"`` (see the module docstring).

    Returns:
        One codes array ``[codebooks_used(K), T]`` per audio span, in order.

    Raises:
        TokenizationError: (strict) malformed markers or spans, naming the position in ``ids``.
    """
    segments = split_segments(ids, vocab, errors)
    return [
        span_to_codes(segment.ids, vocab, layout, errors, position=segment.start)
        for segment in segments
        if segment.kind == "audio"
    ]


# ----------------------------------------------------------------------------------------------------
# input checks and strict errors


def _check_errors(errors: str) -> None:
    if errors not in ("strict", "lenient"):
        raise ValueError(f"errors must be one of ['strict', 'lenient'], got {errors!r}")


def _as_ids(ids: Any) -> np.ndarray:
    """Any 1-D integer sequence -> int64 ``[N]``; ids past the int64 range are clipped to it."""
    if isinstance(ids, torch.Tensor):
        if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
            raise TokenizationError(f"ids must be integers, got a tensor of dtype {ids.dtype}")
        ids = ids.detach().cpu().numpy()
    try:
        array = np.asarray(ids)
    except (TypeError, ValueError, OverflowError) as error:
        raise TokenizationError(f"ids must be a 1-D sequence of integers ({error})") from None
    if array.ndim != 1:
        raise TokenizationError(f"ids must be a 1-D sequence, got shape {array.shape}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.dtype.kind in "fO" and not isinstance(ids, np.ndarray):  # e.g. a list with ints past int64
        array = np.empty(len(array), dtype=object)
        array[:] = list(ids)
    if array.dtype == object:
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in array):
            raise TokenizationError("ids must be integers, got a sequence holding other objects")
        return np.array([min(max(int(x), _INT64_MIN), _INT64_MAX) for x in array], dtype=np.int64)
    if array.dtype.kind == "u" and array.dtype.itemsize == 8:
        array = np.minimum(array, _INT64_MAX)
    elif array.dtype.kind not in "iu":
        raise TokenizationError(f"ids must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _name(vocab: AudioVocab, token_id: int) -> str:
    """``<|audio_start|> (id 4100)`` style name of a marker."""
    name = next(name for name, special in vocab.special_ids.items() if special == token_id)
    return f"<|{name}|> (id {token_id})"


def _locate(
    error: TokenizationError, ids: np.ndarray, vocab: AudioVocab, layout: Layout, position: int
) -> TokenizationError:
    """The strict error for a malformed span, with positions in the whole input."""
    message = str(error)
    if error.position is not None:
        message = message.removeprefix(f"position {error.position}: ")
        return TokenizationError(message, position=position + error.position)
    # An impossible length: point at the first id that cannot be right whatever the length.
    codebook = vocab.codebook_of(ids)
    allowed = codebook >= 0
    if isinstance(layout, DelayedLayout):
        allowed |= ids == vocab.pad_id
    if not allowed.all():
        bad = int(np.argmin(allowed))
        pad = " or <|audio_pad|>" if isinstance(layout, DelayedLayout) else ""
        return TokenizationError(
            f"expected an audio code (ids {vocab.offset}..{vocab.code_end - 1}){pad} inside an audio "
            f"span, found {vocab.describe(int(ids[bad]))}",
            position=position + bad,
        )
    if isinstance(layout, InterleavedLayout):  # position p expects codebook p % K whatever the length
        expected = np.arange(ids.size) % vocab.num_codebooks
        if (codebook != expected).any():
            bad = int(np.argmax(codebook != expected))
            return TokenizationError(
                f"expected {vocab.expected(int(expected[bad]))}, found {vocab.describe(int(ids[bad]))}",
                position=position + bad,
            )
    return TokenizationError(
        f"the audio span at positions {position}..{position + ids.size - 1} has an impossible length: {message}"
    )


# ----------------------------------------------------------------------------------------------------
# lenient repair


def _repair(ids: np.ndarray, vocab: AudioVocab, layout: Layout) -> np.ndarray:
    """Rules 1-3 of the module docstring: ``[L]`` ids -> ``[codebooks_used, T]`` codes."""
    codebook = vocab.codebook_of(ids)
    code = vocab.code_of(ids)
    num_codebooks = vocab.num_codebooks
    if isinstance(layout, FirstCodebookLayout):
        return code[codebook == 0][None, :].astype(np.int64)
    if isinstance(layout, FlattenedLayout):
        rows = [code[codebook == k] for k in range(num_codebooks)]
        length = min(row.size for row in rows)
        return np.stack([row[:length] for row in rows]).astype(np.int64)
    if isinstance(layout, (InterleavedLayout, DelayedLayout)):
        delayed = isinstance(layout, DelayedLayout)
        is_pad = ids == vocab.pad_id if delayed else np.zeros(ids.size, dtype=bool)
        keep = (codebook >= 0) | is_pad  # rule 1
        origin = np.flatnonzero(keep)
        tokens = _resync(codebook[keep], code[keep], is_pad[keep], origin, num_codebooks)
        grid = _group(*tokens, ids.size, num_codebooks)  # [groups, K], -1 where no code
        if delayed:
            frames = max(grid.shape[0] - (num_codebooks - 1), 0)
            k = np.arange(num_codebooks)
            codes = grid[np.arange(frames)[None, :] + k[:, None], k[:, None]]
        else:
            codes = grid.T
        return _fill_gaps(codes)
    raise ValueError(
        f"lenient decoding has no repair rule for layout {layout.name!r} ({type(layout).__name__}); "
        "use errors='strict' or one of the built-in layouts"
    )


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


def _fill_gaps(codes: np.ndarray) -> np.ndarray:
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
