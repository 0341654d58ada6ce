"""Code layouts: codes ``[..., K, T]`` <-> flat id sequences ``[..., L]``, one cached index table each.

A layout also owns what depends on its order: the lenient repair of a malformed span
(``audiotok/ids/repair.py`` has the shared machinery), which ids a strict error may point at, and
how many frames of look-back a stream of its ids needs. The interface and the tables are in
``layout_base.py``.
"""

from __future__ import annotations

import numpy as np

from ..errors import TokenizationError
from . import repair
from .layout_base import NEXT_FRAME, PAD_INDEX, SPAN_END, Layout, check_length, check_shape
from .vocab import AudioVocab

__all__ = ["LAYOUTS", "NEXT_FRAME", "PAD_INDEX", "SPAN_END", "Layout", "get_layout"]


class _EveryCodeLayout(Layout):
    """A layout that holds every code once: L = K * T ids."""

    unit = ""  # how the K ids of a frame or row are described in errors

    def num_ids(self, num_codebooks: int, num_frames: int) -> int:
        check_shape(num_codebooks, num_frames)
        return num_codebooks * num_frames

    def num_frames(self, num_codebooks: int, num_ids: int) -> int:
        check_length(num_ids)
        if num_ids % num_codebooks:
            raise TokenizationError(
                f"the {self.name} layout with {num_codebooks} codebooks needs a multiple of "
                f"{num_codebooks} ids ({num_codebooks} {self.unit}), got {num_ids}"
            )
        return num_ids // num_codebooks


class InterleavedLayout(_EveryCodeLayout):
    """Frame-major: all K codes of frame 0, then all K codes of frame 1, ... (L = K * T).

    MusicGen calls this "flattening". Example with K = 3, T = 4 (``aT`` = C[0, t], ``bT`` = C[1, t], ...)::

                    t=0  t=1  t=2  t=3
        codebook 0   a0   a1   a2   a3
        codebook 1   b0   b1   b2   b3
        codebook 2   c0   c1   c2   c3

        ids:  a0 b0 c0 | a1 b1 c1 | a2 b2 c2 | a3 b3 c3        (position p holds C[p % K, p // K])
    """

    name = "interleaved"
    unit = "per frame"

    def codebook_at(self, num_ids: int, num_codebooks: int) -> np.ndarray | None:
        return np.arange(num_ids) % num_codebooks

    def repair(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        return repair.fill_gaps(repair.slot_grid(ids, vocab, with_pads=False).T)

    def generation_slot(self, num_codebooks: int, position: int, num_frames: int | None) -> int:
        codebook = position % num_codebooks
        if num_frames is not None and position >= num_codebooks * num_frames:
            return SPAN_END
        return NEXT_FRAME if codebook == 0 and num_frames is None else codebook

    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        position = np.arange(num_codebooks * num_frames, dtype=np.int64)
        return position % num_codebooks, position // num_codebooks


class FlattenedLayout(_EveryCodeLayout):
    """Codebook-major: all T codes of codebook 0, then all of codebook 1, ... (L = K * T).

    A row-major flatten of the K x T grid. Example with K = 3, T = 4::

                    t=0  t=1  t=2  t=3
        codebook 0   a0   a1   a2   a3
        codebook 1   b0   b1   b2   b3
        codebook 2   c0   c1   c2   c3

        ids:  a0 a1 a2 a3 | b0 b1 b2 b3 | c0 c1 c2 c3        (position p holds C[p // T, p % T])
    """

    name = "flattened"
    unit = "rows of T codes"
    streamable = False  # all T codes of codebook 0 come before any of codebook 1

    def repair(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        return repair.codebook_rows(ids, vocab, vocab.num_codebooks)

    def generation_slot(self, num_codebooks: int, position: int, num_frames: int | None) -> int:
        if num_frames is None:
            return NEXT_FRAME  # row 0 runs until the first codebook-1 id fixes T
        return SPAN_END if position >= num_codebooks * num_frames else position // num_frames

    def stop_slot(self, num_codebooks: int, num_frames: int) -> int:
        return 1 if num_codebooks > 1 and num_frames > 0 else SPAN_END  # row 1 starts after T codes of row 0

    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        codebook = np.repeat(np.arange(num_codebooks, dtype=np.int64), num_frames)
        frame = np.tile(np.arange(num_frames, dtype=np.int64), num_codebooks)
        return codebook, frame


class DelayedLayout(Layout):
    """MusicGen's delay pattern: codebook k shifted right by k steps, read out step by step.

    There are S = T + K - 1 steps of K ids each (L = K * (T + K - 1), also for T = 0); step s holds,
    for k = 0 .. K-1, C[k, s - k] where 0 <= s - k < T and the pad id (P) elsewhere.
    Example with K = 3, T = 4::

                    s=0  s=1  s=2  s=3  s=4  s=5
        codebook 0   a0   a1   a2   a3   P    P
        codebook 1   P    b0   b1   b2   b3   P
        codebook 2   P    P    c0   c1   c2   c3

        ids:  a0 P P | a1 b0 P | a2 b1 c0 | a3 b2 c1 | P b3 c2 | P P c3       (18 = 3 * (4 + 3 - 1))
    """

    name = "delayed"
    has_pads = True

    def lookback(self, num_codebooks: int) -> int:
        return num_codebooks - 1  # step s holds codebook k of frame s - k

    def repair(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        grid = repair.slot_grid(ids, vocab, with_pads=True)  # [steps, K]
        num_codebooks = vocab.num_codebooks
        frames = max(grid.shape[0] - (num_codebooks - 1), 0)
        k = np.arange(num_codebooks)
        return repair.fill_gaps(grid[np.arange(frames)[None, :] + k[:, None], k[:, None]])

    def num_ids(self, num_codebooks: int, num_frames: int) -> int:
        check_shape(num_codebooks, num_frames)
        return num_codebooks * (num_frames + num_codebooks - 1)

    def num_frames(self, num_codebooks: int, num_ids: int) -> int:
        check_length(num_ids)
        minimum = num_codebooks * (num_codebooks - 1)
        if num_ids % num_codebooks or num_ids < minimum:
            raise TokenizationError(
                f"the {self.name} layout with {num_codebooks} codebooks needs "
                f"{num_codebooks} * (T + {num_codebooks - 1}) ids, i.e. a multiple of {num_codebooks} "
                f"that is at least {minimum}, got {num_ids}"
            )
        return num_ids // num_codebooks - (num_codebooks - 1)

    def generation_slot(self, num_codebooks: int, position: int, num_frames: int | None) -> int:
        step, codebook = divmod(position, num_codebooks)
        frame = step - codebook
        if num_frames is None:  # every frame up to `step` exists: codebook 0 of frame `step` is still open
            if codebook == 0:
                return NEXT_FRAME
            return codebook if frame >= 0 else PAD_INDEX
        if position >= self.num_ids(num_codebooks, num_frames):
            return SPAN_END
        return codebook if 0 <= frame < num_frames else PAD_INDEX

    def stop_slot(self, num_codebooks: int, num_frames: int) -> int:
        return PAD_INDEX if num_codebooks > 1 else SPAN_END  # codebook 0 pads from step T on

    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        position = np.arange(self.num_ids(num_codebooks, num_frames), dtype=np.int64)
        step, codebook = np.divmod(position, num_codebooks)
        frame = step - codebook
        is_code = (frame >= 0) & (frame < num_frames)
        return np.where(is_code, codebook, PAD_INDEX), np.where(is_code, frame, PAD_INDEX)


class FirstCodebookLayout(Layout):
    """Only the first (coarsest) codebook: C[0, 0], C[0, 1], ... (L = T); the others are dropped.

    Decoding rebuilds audio from the first quantizer alone (coarse, "robot voice"). Example, K = 3, T = 4::

                    t=0  t=1  t=2  t=3
        codebook 0   a0   a1   a2   a3        ids:  a0 a1 a2 a3
        codebook 1   b0   b1   b2   b3        (codebooks 1 .. K-1 are not written)
        codebook 2   c0   c1   c2   c3
    """

    name = "first_codebook"

    def repair(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        return repair.codebook_rows(ids, vocab, 1)

    def codebooks_used(self, num_codebooks: int) -> int:
        return 1

    def num_ids(self, num_codebooks: int, num_frames: int) -> int:
        check_shape(num_codebooks, num_frames)
        return num_frames

    def num_frames(self, num_codebooks: int, num_ids: int) -> int:
        check_length(num_ids)
        return num_ids

    def generation_slot(self, num_codebooks: int, position: int, num_frames: int | None) -> int:
        return NEXT_FRAME

    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(num_frames, dtype=np.int64), np.arange(num_frames, dtype=np.int64)


LAYOUTS: dict[str, Layout] = {
    layout.name: layout for layout in (InterleavedLayout(), FlattenedLayout(), DelayedLayout(), FirstCodebookLayout())
}


def get_layout(name: str) -> Layout:
    """The registered layout called ``name``.

    Raises:
        ValueError: unknown name; the message lists the allowed ones.
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown layout {name!r}, select one of {list(LAYOUTS)}") from None
