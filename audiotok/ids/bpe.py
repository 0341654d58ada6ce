"""Acoustic BPE: layout ids <-> shorter BPE ids, losslessly, with merges learned from a user's own codes.

The base alphabet is every unit a layout can write: each (codebook, code) pair of the codebooks it
uses, plus the pad for ``delayed``. Every unit stays a token with its usual id, so no code is ever
split or unknown, and a sequence without merges is already valid BPE output. Merged tokens take the
ids right after the audio range: merged token ``j`` is id ``vocab.end + j``.

Merges never span a span boundary or a scale, marker or text id: the mergeable ids of a sequence are
cut into *runs* (maximal stretches of units; ``flattened`` also cuts at each codebook's row), and each
run into *words* of ``max_frames`` frames (``delayed``: steps), aligned at the run's start. A merged
token lies inside one word. Encoding words with the Hugging Face ``tokenizers`` BPE model (imported
lazily) is deterministic; decoding is a table lookup in numpy, one id at a time, so it needs no context.

Each unit is written as one character (code point ``UNIT_BASE + unit``) for the BPE library; the file a
tokenizer directory holds (``BPE_NAME``) is the library's JSON plus what the units mean.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, TokenizationError
from .arrays import as_ids
from .layouts import get_layout
from .vocab import AudioVocab

BPE_NAME = "audiotok_bpe.json"
BPE_FORMAT = "audiotok-bpe"
BPE_VERSION = 1
UNIT_BASE = 0x10000  # first code point of the unit alphabet (supplementary planes: no surrogates, ~1M units)
DEFAULT_MAX_FRAMES = 2


@dataclass(frozen=True)
class BpeUnits:
    """What a BPE's alphabet is: the units one layout writes for ``num_codebooks`` x ``codebook_size`` codes."""

    num_codebooks: int
    codebook_size: int
    layout: str
    max_frames: int = DEFAULT_MAX_FRAMES

    def __post_init__(self) -> None:
        get_layout(self.layout)  # raises for an unknown name
        if self.max_frames < 1:
            raise ConfigError(f"max_frames must be >= 1, got {self.max_frames}")

    @property
    def codebooks_used(self) -> int:
        return get_layout(self.layout).codebooks_used(self.num_codebooks)

    @property
    def has_pad(self) -> bool:
        return get_layout(self.layout).has_pads

    @property
    def num_code_units(self) -> int:
        return self.codebooks_used * self.codebook_size

    @property
    def num_units(self) -> int:
        """Size of the base alphabet."""
        return self.num_code_units + int(self.has_pad)

    @property
    def word_length(self) -> int:
        """Most units in one merged token: ``max_frames`` frames (steps) of the layout."""
        per_frame = self.codebooks_used if self.layout in ("interleaved", "delayed") else 1
        return per_frame * self.max_frames

    def check_vocab(self, vocab: AudioVocab, layout: str) -> None:
        """Raises ConfigError when ids of ``vocab`` in ``layout`` are not the ids this alphabet was made of."""
        ours = (self.num_codebooks, self.codebook_size, self.layout)
        theirs = (vocab.num_codebooks, vocab.codebook_size, layout)
        if ours != theirs:
            raise ConfigError(
                f"the BPE was trained on {self.num_codebooks} codebooks of {self.codebook_size} codes in the "
                f"{self.layout} layout, but the config has {vocab.num_codebooks} of {vocab.codebook_size} in the "
                f"{layout} layout; train a BPE for this config or drop it (bpe=None)"
            )

    # -- units <-> ids and characters ---------------------------------------------------------------------
    def mergeable(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        """Which ids are units (codes of the codebooks used, and the pad in ``delayed``)."""
        mask = (ids >= vocab.offset) & (ids < vocab.offset + self.num_code_units)
        if self.has_pad:
            mask |= ids == vocab.pad_id
        return mask

    def to_units(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        """Unit ids (only valid for mergeable ids)."""
        return np.where(ids == vocab.pad_id, self.num_code_units, ids - vocab.offset)

    def to_ids(self, units: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        return np.where(units == self.num_code_units, vocab.pad_id, units + vocab.offset).astype(np.int64)

    def runs(self, ids: np.ndarray, vocab: AudioVocab) -> list[tuple[int, int]]:
        """``(start, stop)`` of every run of mergeable ids, in order."""
        mask = self.mergeable(ids, vocab)
        if not mask.any():
            return []
        cut = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
        if self.layout == "flattened":  # a row of one codebook is a run: merges stay in one codebook
            codebook = vocab.codebook_of(ids)
            rows = np.flatnonzero(mask[1:] & mask[:-1] & (codebook[1:] != codebook[:-1])) + 1
            cut = np.sort(np.concatenate([cut, rows, rows]))
        return list(zip(cut[0::2].tolist(), cut[1::2].tolist(), strict=True))

    def text(self, ids: np.ndarray, vocab: AudioVocab) -> str:
        """Mergeable ids -> their characters."""
        return (self.to_units(ids, vocab) + UNIT_BASE).astype("<u4").tobytes().decode("utf-32-le")

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_codebooks": self.num_codebooks,
            "codebook_size": self.codebook_size,
            "layout": self.layout,
            "max_frames": self.max_frames,
        }


def run_texts(ids: Any, vocab: AudioVocab, units: BpeUnits) -> Iterator[str]:
    """The runs of one id sequence as the BPE library's input strings (training and encoding share them)."""
    array = as_ids(ids)
    for start, stop in units.runs(array, vocab):
        yield units.text(array[start:stop], vocab)


class AcousticBPE:
    """A trained acoustic BPE: ``encode`` layout ids -> BPE ids, ``decode`` back (lossless).

    Args:
        units: the alphabet and the merge limit.
        library_json: the Hugging Face ``tokenizers`` JSON of the trained model.
    """

    def __init__(self, units: BpeUnits, library_json: str) -> None:
        self.units = units
        self.library_json = library_json
        vocab = json.loads(library_json)["model"]["vocab"]
        hf_of_unit = np.full(units.num_units, -1, dtype=np.int64)
        merged: list[tuple[int, list[int]]] = []
        for token, hf_id in vocab.items():
            unit = [ord(c) - UNIT_BASE for c in token]
            if not all(0 <= u < units.num_units for u in unit):
                raise ConfigError(f"the BPE file holds token {token!r}, which is not made of this alphabet's units")
            if len(unit) == 1:
                hf_of_unit[unit[0]] = hf_id
            else:
                merged.append((hf_id, unit))
        missing = np.flatnonzero(hf_of_unit < 0)
        if missing.size:
            raise ConfigError(
                f"the BPE file lacks {missing.size} of the {units.num_units} base units (e.g. unit {int(missing[0])}); "
                "every (codebook, code) pair must be a token"
            )
        merged.sort()
        self.num_tokens = len(merged)
        self.merged_units = [unit for _, unit in merged]
        lengths = np.array([len(u) for u in self.merged_units], dtype=np.int64)
        self._lengths = lengths
        self._starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self._flat = np.array([u for unit in self.merged_units for u in unit], dtype=np.int64)
        size = max(vocab.values()) + 1
        # hf id -> -1 - unit for base units, merged index j >= 0 for merged tokens
        self._from_hf = np.zeros(size, dtype=np.int64)
        self._from_hf[hf_of_unit] = -1 - np.arange(units.num_units)
        self._from_hf[[hf for hf, _ in merged]] = np.arange(self.num_tokens)

    # -- files --------------------------------------------------------------------------------------------
    def to_json(self) -> str:
        payload = {
            "format": BPE_FORMAT,
            "version": BPE_VERSION,
            **self.units.to_dict(),
            "num_tokens": self.num_tokens,
            "library": json.loads(self.library_json),
        }
        return json.dumps(payload, ensure_ascii=True) + "\n"

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_json(cls, text: str, where: str = "the BPE file") -> AcousticBPE:
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"{where} is not valid JSON: {error}") from None
        if not isinstance(payload, dict) or payload.get("format") != BPE_FORMAT:
            raise ConfigError(f'{where} is not an audiotok BPE file (no "format": "{BPE_FORMAT}")')
        if payload.get("version") != BPE_VERSION:
            raise ConfigError(f"{where} has BPE version {payload.get('version')}; this audiotok reads {BPE_VERSION}")
        try:
            units = BpeUnits(
                int(payload["num_codebooks"]),
                int(payload["codebook_size"]),
                str(payload["layout"]),
                int(payload["max_frames"]),
            )
            bpe = cls(units, json.dumps(payload["library"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"{where} is malformed: {error}") from None
        if payload.get("num_tokens") != bpe.num_tokens:
            raise ConfigError(f"{where} says num_tokens={payload.get('num_tokens')} but holds {bpe.num_tokens}")
        return bpe

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AcousticBPE:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no BPE file; the config names one, so it must lie beside the config")
        return cls.from_json(path.read_text(), str(path))

    # -- encode / decode ----------------------------------------------------------------------------------
    @cached_property
    def _library(self) -> Any:
        from tokenizers import Tokenizer

        return Tokenizer.from_str(self.library_json)

    def encode(self, ids: Any, vocab: AudioVocab) -> np.ndarray:
        """Layout ids (bare spans, framed spans, text around them) -> BPE ids; non-units pass unchanged."""
        array = as_ids(ids)
        runs = self.units.runs(array, vocab)
        if not runs:
            return array.copy()
        texts = [self.units.text(array[a:b], vocab) for a, b in runs]
        encoded = self._library.encode_batch_fast(texts, add_special_tokens=False)
        parts: list[np.ndarray] = []
        cursor = 0
        for (start, stop), encoding in zip(runs, encoded, strict=True):
            parts.append(array[cursor:start])
            index = self._from_hf[np.asarray(encoding.ids, dtype=np.int64)]
            parts.append(np.where(index >= 0, vocab.end + index, self.units.to_ids(-1 - index, vocab)))
            cursor = stop
        parts.append(array[cursor:])
        return np.concatenate(parts).astype(np.int64)

    def is_merged(self, ids: np.ndarray, vocab: AudioVocab) -> np.ndarray:
        return (ids >= vocab.end) & (ids < vocab.end + self.num_tokens)

    def decode(self, ids: Any, vocab: AudioVocab) -> tuple[np.ndarray, np.ndarray]:
        """BPE ids -> ``(layout ids, origin)``: each merged token expanded to its units; ``origin[i]`` is the
        position in ``ids`` that layout id ``i`` came from. Other ids (text, markers, out of range) pass unchanged."""
        array = as_ids(ids)
        merged = self.is_merged(array, vocab)
        if not merged.any():
            return array, np.arange(array.size)
        index = np.where(merged, array - vocab.end, 0)
        lengths = np.where(merged, self._lengths[index], 1)
        origin = np.repeat(np.arange(array.size), lengths)
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        within = np.arange(origin.size) - first[origin]
        units = self._flat[np.minimum(self._starts[index[origin]] + within, max(self._flat.size - 1, 0))]
        out = np.where(merged[origin], self.units.to_ids(units, vocab), array[origin])
        return out.astype(np.int64), origin

    def locate(self, error: TokenizationError, ids: Any, origin: np.ndarray, vocab: AudioVocab) -> TokenizationError:
        """A strict error about expanded ids -> the same error at the BPE position it came from."""
        if error.position is None:
            return error
        array = as_ids(ids)
        where = int(origin[error.position]) if error.position < origin.size else array.size
        detail = error.detail
        if where < array.size and self.is_merged(array[where : where + 1], vocab)[0]:
            first = int(np.argmax(origin == where))
            detail += f" (unit {error.position - first} of {self.describe(int(array[where]), vocab)})"
        return TokenizationError(detail, where)

    # -- inspection ---------------------------------------------------------------------------------------
    def describe(self, token_id: int, vocab: AudioVocab) -> str:
        """``merged token id 8300 = <|a0_5|> <|a1_17|>`` style name of a merged token."""
        units = self.merged_units[token_id - vocab.end]
        names = [
            "<|audio_pad|>" if u == self.units.num_code_units else vocab.code_token(*divmod(u, vocab.codebook_size))
            for u in units
        ]
        return f"merged token id {token_id} = {' '.join(names)}"

    def token_strings(self) -> list[str]:
        """The strings of the merged tokens, in id order (added to an LLM tokenizer after the audio range)."""
        return [f"<|abpe_{j}|>" for j in range(self.num_tokens)]

    def token_frames(self, token: int) -> int:
        """Frames (``delayed``: steps) merged token ``token`` (0-based) spans."""
        count = len(self.merged_units[token])
        if self.units.layout in ("interleaved", "delayed"):
            return -(-count // self.units.codebooks_used)
        return count


class BpeStreamEncoder:
    """Layout ids in pieces -> BPE ids as soon as they are final; joined, they equal ``AcousticBPE.encode``.

    A word (``max_frames`` frames of a run) is final once the run passes its end, or a non-unit id ends
    the run; the ids of an unfinished word wait for the next piece or ``flush``.
    """

    def __init__(self, bpe: AcousticBPE, vocab: AudioVocab) -> None:
        self.bpe = bpe
        self.vocab = vocab
        self.pending = np.zeros(0, dtype=np.int64)

    def push(self, ids: Any) -> np.ndarray:
        self.pending = np.concatenate([self.pending, as_ids(ids)])
        runs = self.bpe.units.runs(self.pending, self.vocab)
        cut = self.pending.size
        if runs and runs[-1][1] == cut:  # the last run may go on: keep its unfinished word
            start = runs[-1][0]
            length = self.bpe.units.word_length
            cut = start + (cut - start) // length * length
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return self.bpe.encode(ready, self.vocab)

    def flush(self) -> np.ndarray:
        ready, self.pending = self.pending, np.zeros(0, dtype=np.int64)
        return self.bpe.encode(ready, self.vocab)
