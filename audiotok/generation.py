"""Constrained generation: a logits processor that keeps an LLM's audio spans decodable.

Inside an audio span (after ``<|audio_start|>``, until ``<|audio_end|>``) every id that strict decoding
would reject at the next position gets the score -inf: the wrong codebook, a pad where a code belongs,
a misplaced scale token, ``<|audio_end|>`` mid-frame (``audiotok/ids/grammar.py`` has the rules).
Text positions are left alone. The rules are the pure ``SpanGrammar``; this module keeps one state per
sequence and applies one precomputed boolean mask per distinct set of allowed ids. With an acoustic BPE a
merged token is allowed where the grammar accepts its whole expansion (``audiotok/ids/bpe_grammar.py``).

State is keyed by the sequence itself (a 128-bit hash of its ids): each call looks up the state of
``input_ids[row, :-1]`` (an earlier call stored it under that prefix) and advances it by the newest id.
That follows beam search, which reorders and duplicates rows between steps, and engines that call once
per sequence; only a prefix seen for the first time (the prompt) is read from its last audio marker on.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor

from .errors import TokenizationError
from .ids.bpe_grammar import BpeGrammar
from .ids.codes import IdFormat
from .ids.grammar import Allowed, SpanGrammar, SpanState

_TEXT = None  # the state of a sequence outside any audio span
_MAX_STATES = 1 << 16  # sequences remembered (by a 128-bit hash of their ids), the least recently used dropped
_NO_MERGES: frozenset[int] = frozenset()


def _id_format(source: Any) -> IdFormat:
    if isinstance(source, IdFormat):
        return source
    config = getattr(source, "config", source)  # an AudioTokenizer, or a TokenizerConfig
    id_format = getattr(config, "id_format", None)
    if not isinstance(id_format, IdFormat):
        raise TypeError(f"expected an AudioTokenizer, a TokenizerConfig or an IdFormat, got {type(source).__name__}")
    return id_format


class AudioLogitsProcessor(LogitsProcessor):
    """Masks every id that would make an audio span undecodable; a ``transformers`` ``LogitsProcessor``.

    Use it in ``model.generate(..., logits_processor=LogitsProcessorList([processor]))`` (greedy, sampling,
    beam search, batched), or call it as a plain function ``processor(input_ids, scores) -> scores`` from
    another inference engine: ``input_ids`` ``[B, L]`` or ``[L]`` (tensor, numpy or list: the whole sequence
    so far, prompt included), ``scores`` ``[B, V]`` or ``[V]`` (torch tensor or numpy array, V at least the
    audio range's end). Scores are returned with -inf where an id is not allowed; text rows are unchanged.

    With an acoustic BPE (``TokenizerConfig.with_bpe``) the ids are BPE ids: inside a span, base units and the
    merged tokens whose expansion strict decoding accepts there are allowed, other merged tokens are masked;
    ``scores`` then need the merged tokens' ids too (``total_vocab_size``).

    Args:
        tokenizer_or_config: the ``AudioTokenizer``, ``TokenizerConfig`` (placed by ``extend_tokenizer``) or
            ``IdFormat`` the model's audio ids follow.
        min_frames: fewest frames per span (``<|audio_end|>`` is masked before).
        max_frames: most frames per span (then only ``<|audio_end|>``, or what completes the layout, is allowed).

    Generation should stop at ``<|audio_end|>`` or leave room for it: a span cut off by ``max_new_tokens``
    is never closed. ``span_length(frames)`` gives the most ids a span of ``frames`` frames takes.
    """

    def __init__(self, tokenizer_or_config: Any, *, min_frames: int = 0, max_frames: int | None = None) -> None:
        self.id_format = _id_format(tokenizer_or_config)
        self.grammar = SpanGrammar(self.id_format, min_frames, max_frames)
        self.vocab = self.id_format.vocab
        bpe = self.id_format.bpe
        self.bpe_grammar = None if bpe is None else BpeGrammar(self.grammar, bpe)
        self._end = self.vocab.end + (0 if bpe is None else bpe.num_tokens)  # ids the scores must hold
        self._states: dict[bytes, SpanState | None] = {}  # blake2b of a sequence's ids -> its state
        self._keys: dict[tuple[Allowed, frozenset[int]], int] = {}  # (allowed set, BPE groups) -> mask bank row
        self._banks: dict[tuple[str, int], torch.Tensor] = {}  # (device, V) -> [masks, V] bool, True = forbidden
        self._numpy_banks: dict[int, np.ndarray] = {}

    def span_length(self, frames: int) -> int:
        """Most ids an audio span of ``frames`` frames takes, both markers and any scale tokens included
        (with a BPE, when no merged token is used)."""
        chunks = -(-frames // self.id_format.frames_per_chunk) + 1 if self.id_format.is_chunked else 0
        return self.id_format.layout.num_ids(self.vocab.num_codebooks, frames) + chunks + 2

    # -- state --------------------------------------------------------------------------------------

    def _step(self, state: SpanState | None, token_id: int) -> SpanState | None:
        if state is _TEXT:
            return self.grammar.start() if token_id == self.vocab.start_id else _TEXT
        return self._advance(state, token_id)

    def _advance(self, state: SpanState, token_id: int) -> SpanState | None:
        if self.bpe_grammar is not None:
            return self.bpe_grammar.advance(state, token_id)
        return self.grammar.advance(state, token_id)

    def _read(self, row: np.ndarray) -> SpanState | None:
        """The state after ``row``, read from its last audio marker on (a prefix not seen before)."""
        markers = np.flatnonzero((row == self.vocab.start_id) | (row == self.vocab.end_id))
        if markers.size == 0 or row[markers[-1]] == self.vocab.end_id:
            return _TEXT
        state: SpanState | None = self.grammar.start()
        opened = int(markers[-1])
        for offset, token_id in enumerate(row[opened + 1 :].tolist()):
            try:
                state = self._advance(state, token_id)  # type: ignore[arg-type]
            except TokenizationError as error:
                raise TokenizationError(
                    f"the open audio span of the input (from position {opened}) cannot be continued: {error.detail}",
                    position=opened + 1 + offset,
                ) from None
        return state

    def states(self, input_ids: Any) -> list[SpanState | None]:
        """The state of every row of ``input_ids`` ``[B, L]`` (None: a text position), remembered for later calls."""
        known = self._states
        states = []
        for row in _as_rows(input_ids):
            digest = hashlib.blake2b(row[:-1].tobytes(), digest_size=16)
            parent_key = digest.digest()
            digest.update(row[-1:].tobytes())
            key = digest.digest()
            state = known.pop(key, ...)
            if state is ...:
                parent = known.get(parent_key, ...) if row.size else _TEXT
                state = self._read(row) if parent is ... else self._step(parent, int(row[-1]))
            known[key] = state  # (re)inserted last: the oldest entries go first
            states.append(state)
        for stale in list(itertools.islice(known, max(0, len(known) - _MAX_STATES))):
            del known[stale]
        return states

    # -- masks --------------------------------------------------------------------------------------

    def _key(self, allowed: tuple[Allowed, frozenset[int]]) -> int:
        key = self._keys.get(allowed)
        if key is None:
            key = self._keys[allowed] = len(self._keys) + 1  # row 0 of every bank forbids nothing (text)
        return key

    def _forbidden(self, size: int, first: int = 0) -> np.ndarray:
        """Bool ``[masks - first, size]``: rows ``first..`` of the mask bank (True = not allowed)."""
        vocab = self.vocab
        if size < self._end:
            raise ValueError(
                f"scores have {size} ids but the audio range ends at {self._end}: extend the model "
                "(audiotok.extend_model) for this config"
            )
        bank = np.zeros((len(self._keys) + 1 - first, size), dtype=bool)
        for (allowed, groups), key in self._keys.items():
            if key < first:
                continue
            row = bank[key - first]
            row[:] = True
            for codebook in allowed.codebooks:
                ids = vocab.codebook_range(codebook)
                row[ids.start : ids.stop] = False
            if allowed.pad:
                row[vocab.pad_id] = False
            if allowed.scale:
                row[vocab.scale_base : vocab.end] = False
            if allowed.end:
                row[vocab.end_id] = False
            if groups:
                assert self.bpe_grammar is not None
                tokens = np.concatenate([self.bpe_grammar.group_tokens[g] for g in groups])
                row[vocab.end + tokens] = False
        return bank

    def _bank(self, device: torch.device, size: int) -> torch.Tensor:
        """The mask bank on ``device``, grown by the rows of allowed sets met since it was built."""
        bank = self._banks.get((str(device), size))
        if bank is None or bank.shape[0] <= len(self._keys):
            first = 0 if bank is None else bank.shape[0]
            rows = torch.from_numpy(self._forbidden(size, first)).to(device)
            bank = rows if bank is None else torch.cat([bank, rows])
            self._banks[(str(device), size)] = bank
        return bank

    def _numpy_bank(self, size: int) -> np.ndarray:
        bank = self._numpy_banks.get(size)
        if bank is None or bank.shape[0] <= len(self._keys):
            first = 0 if bank is None else bank.shape[0]
            rows = self._forbidden(size, first)
            bank = self._numpy_banks[size] = rows if bank is None else np.concatenate([bank, rows])
        return bank

    def _row(self, state: SpanState | None) -> int:
        if state is _TEXT:
            return 0
        groups = _NO_MERGES if self.bpe_grammar is None else self.bpe_grammar.accepted(state)
        return self._key((self.grammar.allowed(state), groups))

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """``scores`` with -inf at every id not allowed next (a new tensor or array; text rows unchanged)."""
        one_row = len(scores.shape) == 1
        keys = [self._row(state) for state in self.states(input_ids)]
        if len(keys) != (1 if one_row else scores.shape[0]):
            raise ValueError(f"input_ids have {len(keys)} rows but scores have shape {tuple(scores.shape)}")
        if not any(keys):
            return scores
        size = int(scores.shape[-1])
        if isinstance(scores, torch.Tensor):
            batch = scores.unsqueeze(0) if one_row else scores
            bank = self._bank(batch.device, size)
            index = torch.tensor(keys, dtype=torch.long).to(batch.device, non_blocking=True)
            out = batch.masked_fill(bank.index_select(0, index), float("-inf"))
            return out[0] if one_row else out
        array = np.asarray(scores)
        out_np = np.where(self._numpy_bank(size)[keys], -np.inf, array[None] if one_row else array).astype(
            array.dtype, copy=False
        )
        return out_np[0] if one_row else out_np


def _as_rows(input_ids: Any) -> np.ndarray:
    """``[B, L]`` or ``[L]`` ids (tensor, array or list) -> int64 numpy ``[B, L]``."""
    array = input_ids.detach().cpu().numpy() if isinstance(input_ids, torch.Tensor) else np.asarray(input_ids)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2:
        raise ValueError(f"input_ids must have shape [B, L] or [L], got shape {array.shape}")
    return array.astype(np.int64, copy=False)
