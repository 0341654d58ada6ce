"""Chunk scales in the token stream: quantised loudness tokens for chunked codecs (EnCodec 48 kHz).

The 48 kHz model normalises every 1 s chunk by its RMS (``scale``) and multiplies the decoded chunk
by it, so ids must carry each chunk's scale. A scale becomes one of ``num_tokens`` scale tokens on a
uniform decibel grid::

    index = round((20 * log10(scale) - min_db) / step_db), clipped to [0, num_tokens)
    scale = 10 ** ((min_db + index * step_db) / 20)

With the defaults (512 tokens, -120 dB, 0.25 dB steps, so up to +7.75 dB) the rounding error is
at most 0.125 dB, 0.072 dB RMS for a uniform spread: loudness within the 0.1 dB target. Scales below
-120 dB (silence: EnCodec's scale of an all-zero chunk is 1e-8) come back as -120 dB, far below
audibility; no scale of audio in [-1, 1] exceeds 0 dB.

**Placement.** The scale token of chunk c stands immediately before the id of codebook 0 at the
chunk's first frame, in every layout. The tokens therefore also mark the chunk boundaries, which the
decoder needs: a clip's last two chunks can be shorter than ``frames_per_chunk``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TokenizationError
from .layouts import Layout
from .vocab import AudioVocab


@dataclass(frozen=True)
class ScaleQuantizer:
    """A uniform grid of scale tokens in decibels."""

    num_tokens: int = 512
    min_db: float = -120.0
    step_db: float = 0.25

    def to_index(self, scales: np.ndarray) -> np.ndarray:
        """Scales (> 0) -> token indices (int64)."""
        decibels = 20 * np.log10(np.maximum(np.asarray(scales, dtype=np.float64), 1e-30))
        return np.clip(np.rint((decibels - self.min_db) / self.step_db), 0, self.num_tokens - 1).astype(np.int64)

    def to_scale(self, index: np.ndarray) -> np.ndarray:
        """Token indices -> scales (float32)."""
        return (10 ** ((self.min_db + np.asarray(index, dtype=np.float64) * self.step_db) / 20)).astype(np.float32)


def whole_chunks(num_frames: int, frames_per_chunk: int) -> np.ndarray:
    """Frames of each chunk when all are whole but the last: the default chunking of ``num_frames`` frames."""
    full, rest = divmod(int(num_frames), frames_per_chunk)
    return np.array([frames_per_chunk] * full + ([rest] if rest else []), dtype=np.int64)


def chunk_starts(chunk_frames: np.ndarray) -> np.ndarray:
    """First frame of every chunk."""
    return np.concatenate([[0], np.cumsum(chunk_frames)[:-1]]).astype(np.int64)


def scale_positions(layout: Layout, num_codebooks: int, num_frames: int, starts: np.ndarray) -> np.ndarray:
    """Where, among a span's code ids, each chunk's scale token is inserted (before codebook 0, frame start)."""
    codebook, frame = layout.index_table(num_codebooks, num_frames)
    first_codebook = np.flatnonzero(codebook == 0)  # frames in increasing order in every layout
    return first_codebook[np.searchsorted(frame[first_codebook], starts)]


def insert_scale_tokens(
    ids: np.ndarray,
    layout: Layout,
    vocab: AudioVocab,
    scale_index: np.ndarray,
    chunk_frames: np.ndarray,
) -> np.ndarray:
    """A span's code ids ``[L]`` -> the same ids with each chunk's scale token placed before it."""
    num_frames = int(np.sum(chunk_frames))
    positions = scale_positions(layout, vocab.num_codebooks, num_frames, chunk_starts(chunk_frames))
    return np.insert(ids, positions, vocab.scale_base + np.asarray(scale_index, dtype=np.int64))


@dataclass(frozen=True)
class ScaleSplit:
    """A span separated into its code ids and its scale tokens."""

    code_ids: np.ndarray  # the span without scale tokens
    kept: np.ndarray  # position in the span of every code id (to report errors where they are)
    scale_index: np.ndarray  # scale token indices, in order
    scale_at: np.ndarray  # position in the span of every scale token
    insert_at: np.ndarray  # for each scale token, the index in ``code_ids`` it stands before


def split_scale_tokens(span: np.ndarray, vocab: AudioVocab) -> ScaleSplit:
    """Separates the scale tokens of a span from everything else."""
    span = np.asarray(span, dtype=np.int64)
    is_scale = (span >= vocab.scale_base) & (span < vocab.end)
    kept = np.flatnonzero(~is_scale)
    scale_at = np.flatnonzero(is_scale)
    insert_at = scale_at - np.arange(len(scale_at))
    return ScaleSplit(span[kept], kept, span[scale_at] - vocab.scale_base, scale_at, insert_at)


def chunk_frames_from_scales(
    split: ScaleSplit,
    layout: Layout,
    vocab: AudioVocab,
    num_frames: int,
    frames_per_chunk: int,
    strict: bool,
    position: int,
) -> np.ndarray:
    """The chunks' frame counts, read off where the scale tokens stand; checked in strict mode.

    Valid chunking: the first scale token opens the span's first frame, each stands right before a
    codebook-0 id, and every chunk holds 1..frames_per_chunk frames, all but the last two exactly
    frames_per_chunk. Lenient mode falls back to whole ``frames_per_chunk`` chunks otherwise.
    """
    codebook, frame = layout.index_table(vocab.num_codebooks, num_frames)
    at = split.insert_at
    inside = at < len(codebook)
    clipped = np.minimum(at, max(len(codebook) - 1, 0))
    starts = frame[clipped] if len(codebook) else np.zeros(len(at), np.int64)
    frames = np.diff(np.concatenate([starts, [num_frames]]))
    whole_needed = np.arange(len(at)) < len(at) - 2
    ok = inside & (codebook[clipped] == 0 if len(codebook) else False) & (frames >= 1) & (frames <= frames_per_chunk)
    ok &= ~whole_needed | (frames == frames_per_chunk)
    if len(at):
        ok[0] &= bool(starts[0] == 0)
    if len(at) and bool(ok.all()):
        return frames.astype(np.int64)
    if strict:
        if len(at) == 0:
            raise TokenizationError(
                "a chunked codec's span must hold a scale token before each chunk; found none", position=position
            )
        bad = int(np.flatnonzero(~ok)[0])
        if inside[bad] and frames[bad] > frames_per_chunk:  # a scale token is missing inside this chunk
            missing_before = int(np.flatnonzero((codebook == 0) & (frame == starts[bad] + frames_per_chunk))[0])
            raise TokenizationError(
                f"expected a scale token before this id: without one, chunk {bad} would hold {frames[bad]} frames "
                f"(at most {frames_per_chunk})",
                position=position + int(split.kept[missing_before]),
            )
        raise TokenizationError(
            f"scale token {bad} of {len(at)} does not open a valid chunk: a scale token stands right before "
            f"codebook 0 of a chunk's first frame, every {frames_per_chunk} frames "
            "(the last two chunks may be shorter)",
            position=position + int(split.scale_at[bad]),
        )
    return whole_chunks(num_frames, frames_per_chunk)


def lenient_scales(scale_index: np.ndarray, num_chunks: int, quantizer: ScaleQuantizer) -> np.ndarray:
    """Scales for ``num_chunks`` chunks from the tokens present: extra ones are dropped, missing ones repeat
    the last one present (-20 dB, a typical speech level, if none is)."""
    values = quantizer.to_scale(scale_index[:num_chunks]) if len(scale_index) else np.full(1, 0.1, np.float32)
    return np.concatenate([values, np.full(max(0, num_chunks - len(values)), values[-1], np.float32)])
