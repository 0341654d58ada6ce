"""What every code layout shares: the ``Layout`` interface and its cached index tables.

A layout maps codes ``[..., K, T]`` to a flat id sequence ``[..., L]`` and back through one cached
index table per (K, T); a subclass defines the table and what depends on its order
(``audiotok/ids/layouts.py`` holds the four layouts).
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from ..errors import TokenizationError
from .arrays import is_tensor
from .vocab import AudioVocab

PAD_INDEX = -1  # codebook and frame entry of the index table at a pad position
SPAN_END = -2  # generation_slot: the span's frames are complete, <|audio_end|> comes next
NEXT_FRAME = -3  # generation_slot: codebook 0 of the next frame, or (no more frames) the layout's stop_slot
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True, eq=False)
class _Table:
    """Everything one (layout, K, T) needs, built once; every array is int64 and read-only."""

    codebook: np.ndarray  # [L]  codebook of each position, PAD_INDEX at pads
    frame: np.ndarray  # [L]  frame of each position, PAD_INDEX at pads
    gather: np.ndarray  # [L]  index into codes.reshape(K_used * T) + [pad]; K_used * T at pads
    scatter: np.ndarray  # [K_used * T]  position of code (k, t) at index k * T + t


@dataclass(frozen=True, eq=False)
class _Bounds:
    """Per-position id range ``[low, high)`` for one vocabulary, and the id of code 0 per codebook."""

    low: np.ndarray  # [L]
    high: np.ndarray  # [L]
    base: np.ndarray  # [K_used]


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.int64)
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=128)
def _table(layout: Layout, num_codebooks: int, num_frames: int) -> _Table:
    codebook, frame = layout._build_table(num_codebooks, num_frames)
    used = layout.codebooks_used(num_codebooks)
    is_code = codebook != PAD_INDEX
    flat = codebook * num_frames + frame
    gather = np.where(is_code, flat, used * num_frames)
    scatter = np.full(used * num_frames, -1, dtype=np.int64)
    scatter[flat[is_code]] = np.flatnonzero(is_code)
    assert int(is_code.sum()) == scatter.size and (scatter >= 0).all(), "a table holds each code once"
    return _Table(_read_only(codebook), _read_only(frame), _read_only(gather), _read_only(scatter))


@functools.lru_cache(maxsize=128)
def _bounds(layout: Layout, vocab: AudioVocab, num_frames: int) -> _Bounds:
    table = _table(layout, vocab.num_codebooks, num_frames)
    is_code = table.codebook != PAD_INDEX
    low = np.where(is_code, vocab.offset + table.codebook * vocab.codebook_size, vocab.pad_id)
    high = np.where(is_code, low + vocab.codebook_size, vocab.pad_id + 1)
    used = layout.codebooks_used(vocab.num_codebooks)
    base = vocab.offset + np.arange(used, dtype=np.int64) * vocab.codebook_size
    return _Bounds(_read_only(low), _read_only(high), _read_only(base))


@functools.lru_cache(maxsize=32)
def _on_device(layout: Layout, vocab: AudioVocab, num_frames: int, device: Any) -> dict[str, Any]:
    import torch

    table = _table(layout, vocab.num_codebooks, num_frames)
    bounds = _bounds(layout, vocab, num_frames)
    arrays = {
        "gather": table.gather,
        "scatter": table.scatter,
        "low": bounds.low,
        "high": bounds.high,
        "base": bounds.base,
    }
    return {name: torch.from_numpy(np.array(array)).to(device) for name, array in arrays.items()}


def _check_integer(values: Any, what: str) -> None:
    dtype = values.dtype
    if is_tensor(values):
        ok = not (dtype.is_floating_point or dtype.is_complex or str(dtype) == "torch.bool")
    else:
        ok = np.issubdtype(dtype, np.integer)
    if not ok:
        raise ValueError(f"{what} must be integers, got dtype {dtype}")


def _as_int64(values: Any) -> Any:
    if is_tensor(values):
        return values.long()
    if values.dtype == np.uint64:  # ids past int64 are never valid: clip instead of wrapping negative
        values = np.minimum(values, _INT64_MAX)
    return values.astype(np.int64, copy=False)


class Layout(abc.ABC):
    """How the K x T grid of codes is read out into one flat sequence of ids.

    A layout only decides *where* each code goes: ``index_table(K, T)`` lists, for every position of
    the sequence, the codebook and frame it holds (or -1 for a pad). ``to_ids`` applies that table in
    one gather, ``from_ids`` validates every position against it and inverts it in one gather.
    A new layout is one subclass with a ``name``, ``num_ids``, ``num_frames`` and ``_build_table``
    (the uncached table; caching, gathers and validation come from here), plus a ``LAYOUTS`` entry.
    """

    name: str
    has_pads = False  # whether the pad id is a valid id at some positions
    streamable = True  # whether the ids of a clip's first frames are a prefix of the ids of the whole clip

    def lookback(self, num_codebooks: int) -> int:
        """Frames before the newest ones whose codes a stream of this layout's ids still writes or reads."""
        return 0

    def codebook_at(self, num_ids: int, num_codebooks: int) -> np.ndarray | None:
        """The codebook each position of ``num_ids`` ids holds, if the layout fixes it whatever the length (for
        pointing strict errors at a wrong id); None where it depends on the length."""
        return None

    def repair(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        """Lenient decoding of a malformed span ``[L]`` -> codes ``[codebooks_used(K), T]`` (rules in
        ``audiotok/ids/detokenize.py``)."""
        raise ValueError(
            f"lenient decoding has no repair rule for layout {self.name!r} ({type(self).__name__}); use errors='strict'"
        )

    def codebooks_used(self, num_codebooks: int) -> int:
        """Number of codebooks the sequence carries (K for every layout but ``first_codebook``)."""
        return num_codebooks

    def generation_slot(self, num_codebooks: int, position: int, num_frames: int | None) -> int:
        """What position ``position`` of a span being written holds, for constrained generation.

        Args:
            num_codebooks: K.
            position: ids of the span so far (scale tokens not counted).
            num_frames: T once the span has fixed it (see ``stop_slot``), else None (more frames may come).

        Returns:
            A codebook index, ``PAD_INDEX``, ``SPAN_END`` (T frames are complete) or, while T is open,
            ``NEXT_FRAME`` (codebook 0 of the next frame, or ``stop_slot`` to end the frames there).
        """
        raise NotImplementedError(f"layout {self.name!r} defines no generation grammar")

    def stop_slot(self, num_codebooks: int, num_frames: int) -> int:
        """What stands at a ``NEXT_FRAME`` position when the span keeps its ``num_frames`` frames: ``SPAN_END``,
        ``PAD_INDEX`` or a codebook index (the id then fixes T and ``generation_slot`` goes on with it)."""
        return SPAN_END

    @abc.abstractmethod
    def num_ids(self, num_codebooks: int, num_frames: int) -> int:
        """Length L of the sequence for K codebooks and T frames."""

    @abc.abstractmethod
    def num_frames(self, num_codebooks: int, num_ids: int) -> int:
        """Number of frames T of a sequence of L ids (inverse of ``num_ids``).

        Raises:
            TokenizationError: (position None) if no T gives L ids; the message lists the possible lengths.
        """

    @abc.abstractmethod
    def _build_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """Builds the uncached ``(codebook[L], frame[L])`` table, -1 in both at pads."""

    def index_table(self, num_codebooks: int, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
        """The codebook and frame each position holds.

        Args:
            num_codebooks: K.
            num_frames: T.

        Returns:
            ``(codebook, frame)``, each int64 ``[L]`` and read-only, -1 in both at pad positions.
        """
        check_shape(num_codebooks, num_frames)
        table = _table(self, num_codebooks, num_frames)
        return table.codebook, table.frame

    def to_ids(self, codes: Any, vocab: AudioVocab) -> Any:
        """Codes -> ids.

        Args:
            codes: ``[..., K, T]`` integer numpy array or torch tensor, values in ``[0, codebook_size)``,
                ``K == vocab.num_codebooks`` (``first_codebook`` reads ``codes[..., 0, :]`` only).
            vocab: the audio id range.

        Returns:
            ids ``[..., L]`` int64, same type (and torch device) as ``codes``; ``vocab.pad_id`` at pads.

        Raises:
            ValueError: wrong shape, dtype, number of codebooks or a code outside ``[0, codebook_size)``.
        """
        if not is_tensor(codes):
            codes = np.asarray(codes)
        _check_integer(codes, "codes")
        if codes.ndim < 2:
            raise ValueError(f"codes must have shape [..., K, T], got shape {tuple(codes.shape)}")
        num_codebooks, num_frames = codes.shape[-2:]
        if num_codebooks != vocab.num_codebooks:
            raise ValueError(f"codes have {num_codebooks} codebooks, the vocabulary has {vocab.num_codebooks}")
        used = self.codebooks_used(num_codebooks)
        codes = codes[..., :used, :]
        size = codes.numel() if is_tensor(codes) else codes.size
        if size:
            low, high = int(codes.min()), int(codes.max())
            if low < 0 or high >= vocab.codebook_size:
                raise ValueError(f"codes must lie in [0, {vocab.codebook_size}), got values in [{low}, {high}]")
        batch = tuple(codes.shape[:-2])
        if is_tensor(codes):
            import torch

            index = _on_device(self, vocab, num_frames, codes.device)
            flat = (codes.long() + index["base"][:, None]).reshape(*batch, used * num_frames)
            flat = torch.cat([flat, flat.new_full((*batch, 1), vocab.pad_id)], dim=-1)
            return flat.index_select(-1, index["gather"])
        table = _table(self, num_codebooks, num_frames)
        base = _bounds(self, vocab, num_frames).base
        grid = (codes.astype(np.int64) + base[:, None]).reshape(*batch, used * num_frames)
        padded = np.concatenate([grid, np.full((*batch, 1), vocab.pad_id, dtype=np.int64)], axis=-1)
        return np.take(padded, table.gather, axis=-1)

    def from_ids(self, ids: Any, vocab: AudioVocab) -> Any:
        """Ids -> codes, the exact inverse of ``to_ids``, validating every position.

        Args:
            ids: ``[..., L]`` integer numpy array or torch tensor.
            vocab: the audio id range.

        Returns:
            codes ``[..., codebooks_used(K), T]`` int64, same type (and torch device) as ``ids``.

        Raises:
            TokenizationError: L is not a possible length (position None), or the id at ``position``
                (the first bad one along the last axis) is not in the range its position expects.
        """
        if not is_tensor(ids):
            ids = np.asarray(ids)
        _check_integer(ids, "ids")
        if ids.ndim < 1:
            raise ValueError("ids must have shape [..., L], got a scalar")
        ids = _as_int64(ids)
        num_codebooks = vocab.num_codebooks
        num_frames = self.num_frames(num_codebooks, ids.shape[-1])
        used = self.codebooks_used(num_codebooks)
        batch = tuple(ids.shape[:-1])
        if is_tensor(ids):
            index = _on_device(self, vocab, num_frames, ids.device)
            bad = (ids < index["low"]) | (ids >= index["high"])
            if bool(bad.any()):
                self._raise_first_bad(ids.cpu().numpy(), bad.cpu().numpy(), vocab, num_frames)
            codes = ids.index_select(-1, index["scatter"]).reshape(*batch, used, num_frames)
            return codes - index["base"][:, None]
        bounds = _bounds(self, vocab, num_frames)
        invalid = (ids < bounds.low) | (ids >= bounds.high)
        if invalid.any():
            self._raise_first_bad(ids, invalid, vocab, num_frames)
        grid = np.take(ids, _table(self, num_codebooks, num_frames).scatter, axis=-1)
        return grid.reshape(*batch, used, num_frames) - bounds.base[:, None]

    def _raise_first_bad(self, ids: np.ndarray, bad: np.ndarray, vocab: AudioVocab, num_frames: int) -> NoReturn:
        length = ids.shape[-1]
        position = int(np.argmax(bad.reshape(-1, length).any(axis=0)))
        where = tuple(int(i) for i in np.argwhere(bad[..., position])[0])
        found = int(ids[(*where, position)])
        codebook = int(_table(self, vocab.num_codebooks, num_frames).codebook[position])
        if codebook == PAD_INDEX:
            expected = f"<|audio_pad|> (id {vocab.pad_id}, the {self.name} layout pads this position)"
        else:
            expected = vocab.expected(codebook)
        item = f" in batch item {where}" if where else ""
        raise TokenizationError(f"expected {expected}{item}, found {vocab.describe(found)}", position=position)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def check_shape(num_codebooks: int, num_frames: int) -> None:
    if num_codebooks < 1:
        raise ValueError(f"num_codebooks must be >= 1, got {num_codebooks}")
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")


def check_length(num_ids: int) -> None:
    if num_ids < 0:
        raise TokenizationError(f"a sequence cannot have {num_ids} ids")
