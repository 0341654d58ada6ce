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

from ..errors import TokenizationError
from .arrays import as_ids
from .layouts import Layout
from .vocab import AudioVocab

Errors = Literal["strict", "lenient"]


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
    ids = as_ids(ids)
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
        ValueError: (lenient) ``layout`` defines no repair rule.
    """
    _check_errors(errors)
    ids = as_ids(span_ids)
    if ids.size == 0:
        return np.zeros((layout.codebooks_used(vocab.num_codebooks), 0), dtype=np.int64)
    try:
        return np.asarray(layout.from_ids(ids, vocab))
    except TokenizationError as error:
        if errors == "lenient":
            return layout.repair(ids, vocab)
        raise _locate(error, ids, vocab, layout, position) from None


# ----------------------------------------------------------------------------------------------------
# input checks and strict errors


def _check_errors(errors: str) -> None:
    if errors not in ("strict", "lenient"):
        raise ValueError(f"errors must be one of ['strict', 'lenient'], got {errors!r}")


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
    if layout.has_pads:
        allowed |= ids == vocab.pad_id
    if not allowed.all():
        bad = int(np.argmin(allowed))
        pad = " or <|audio_pad|>" if layout.has_pads else ""
        return TokenizationError(
            f"expected an audio code (ids {vocab.offset}..{vocab.code_end - 1}){pad} inside an audio "
            f"span, found {vocab.describe(int(ids[bad]))}",
            position=position + bad,
        )
    expected = layout.codebook_at(ids.size, vocab.num_codebooks)
    if expected is not None and (codebook != expected).any():  # each position's codebook is fixed
        bad = int(np.argmax(codebook != expected))
        return TokenizationError(
            f"expected {vocab.expected(int(expected[bad]))}, found {vocab.describe(int(ids[bad]))}",
            position=position + bad,
        )
    return TokenizationError(
        f"the audio span at positions {position}..{position + ids.size - 1} has an impossible length: {message}"
    )
