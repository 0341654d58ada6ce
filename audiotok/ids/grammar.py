"""The grammar of an audio span, for constrained generation: which ids may come next, and when it may end.

Given the ids of an open span so far, ``SpanGrammar.allowed`` says which classes of ids strict decoding
accepts at the next position: codes of some codebooks, the pad id, a scale token, ``<|audio_end|>``.
Every span the grammar accepts decodes in strict mode (``IdFormat.span_codes``), and every span strict
decoding accepts (within the frame limits) is one the grammar accepts. The structure comes from the
layout (``Layout.generation_slot`` and ``stop_slot``); on top of it the grammar adds:

* **Frames.** Where a layout may start another frame (codebook 0 of frame t), it may instead stop at t
  frames: ``<|audio_end|>`` for ``interleaved`` and ``first_codebook``, a codebook-1 id for ``flattened``
  (row 1 begins), a pad for ``delayed`` (codebook 0 pads from step T on). After that the rest is fixed.
  ``min_frames`` and ``max_frames`` decide which of the two is allowed.
* **Scale tokens** (chunked codecs, EnCodec 48 kHz): one stands right before codebook 0 of a chunk's first
  frame. Frame 0 needs one; a chunk of ``frames_per_chunk`` frames must be followed by one; a shorter chunk
  may be closed by one, but then the next chunk is the last (only the last two chunks may be short). A
  chunked span holds at least one frame.

State is a small immutable value advanced one id at a time in O(1), so a caller keeps one per sequence
(and per beam). ``allowed`` is a pure function of the state; its result is a small hashable value, so a
caller can precompute one mask per distinct value. A vocabulary of merged tokens (acoustic BPE) plugs in
on the same two functions: a merged token is allowed where ``advance`` accepts each of its ids in turn.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import TokenizationError
from .codes import IdFormat
from .layouts import NEXT_FRAME, PAD_INDEX, SPAN_END


class Allowed(NamedTuple):
    """The classes of ids allowed at one position of a span (hashable: one mask per distinct value)."""

    codebooks: tuple[int, ...] = ()  # codes of these codebooks
    pad: bool = False  # <|audio_pad|>
    scale: bool = False  # any scale token
    end: bool = False  # <|audio_end|>


class SpanState(NamedTuple):
    """Where an open span stands; advanced by ``SpanGrammar.advance``."""

    position: int = 0  # layout ids so far (scale tokens not counted)
    frames: int = 0  # frames started (codebook-0 codes so far)
    num_frames: int | None = None  # T once the layout has fixed it (flattened, delayed)
    chunk_frames: int = 0  # frames of the current chunk (chunked codecs)
    last_chunk: bool = False  # a short chunk was closed: the current chunk is the last
    scale_pending: bool = False  # a scale token opened a chunk: codebook 0 comes next


CLOSED = None  # what ``advance`` returns after <|audio_end|>
_CACHE_SIZE = 1 << 16  # states whose allowed set is remembered


class SpanGrammar:
    """The ids strict decoding accepts next in a span of ``id_format``, within ``min_frames``..``max_frames``.

    Args:
        id_format: vocabulary, layout and chunking (``TokenizerConfig.id_format``).
        min_frames: fewest frames a span may hold.
        max_frames: most frames a span may hold (None: no limit).

    Raises:
        ValueError: a negative or inconsistent limit, or one a chunked span cannot meet (it holds >= 1 frame).
    """

    def __init__(self, id_format: IdFormat, min_frames: int = 0, max_frames: int | None = None) -> None:
        if min_frames < 0:
            raise ValueError(f"min_frames must be >= 0, got {min_frames}")
        if max_frames is not None and max_frames < max(min_frames, 1 if id_format.is_chunked else 0):
            raise ValueError(
                f"max_frames must be >= min_frames ({min_frames}) and >= 1 for a chunked codec, got {max_frames}"
            )
        self.id_format = id_format
        self.vocab = id_format.vocab
        self.layout = id_format.layout
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.num_codebooks = self.vocab.num_codebooks
        self._allowed: dict[SpanState, Allowed] = {}

    def start(self) -> SpanState:
        """The state right after ``<|audio_start|>``."""
        return SpanState()

    def allowed(self, state: SpanState) -> Allowed:
        """The classes of ids allowed next (never empty)."""
        cached = self._allowed.get(state)
        if cached is None:
            if len(self._allowed) >= _CACHE_SIZE:
                self._allowed.clear()
            cached = self._allowed[state] = self._compute(state)
        return cached

    def _compute(self, state: SpanState) -> Allowed:
        if state.scale_pending:
            return Allowed(codebooks=(0,))
        slot = self.layout.generation_slot(self.num_codebooks, state.position, state.num_frames)
        if slot == SPAN_END:
            return Allowed(end=True)
        if slot == PAD_INDEX:
            return Allowed(pad=True)
        if slot != NEXT_FRAME:
            return Allowed(codebooks=(slot,))
        more, scale, stop = self._frame_choices(state)
        codebooks = (0,) if more else ()
        allowed = Allowed(codebooks=codebooks, scale=scale)
        if stop:
            alternative = self.layout.stop_slot(self.num_codebooks, state.frames)
            if alternative == SPAN_END:
                allowed = allowed._replace(end=True)
            elif alternative == PAD_INDEX:
                allowed = allowed._replace(pad=True)
            else:
                allowed = allowed._replace(codebooks=(*codebooks, alternative))
        return allowed

    def _frame_choices(self, state: SpanState) -> tuple[bool, bool, bool]:
        """At a frame start: (another frame without a scale token, a scale token, stop here)."""
        frames = state.frames
        more = self.max_frames is None or frames < self.max_frames
        stop = frames >= self.min_frames
        if not self.id_format.is_chunked:
            return more, False, stop
        whole = self.id_format.frames_per_chunk
        if frames == 0:  # the first frame opens the first chunk; an empty chunked span does not decode
            return False, more, False
        if state.last_chunk:
            return more and state.chunk_frames < whole, False, stop
        if state.chunk_frames == whole:
            return False, more, stop
        # closing a short chunk leaves one more chunk: only if min_frames stays reachable
        return more, more and frames + whole >= self.min_frames, stop

    def advance(self, state: SpanState, token_id: int) -> SpanState | None:
        """The state after ``token_id``; ``CLOSED`` (None) after ``<|audio_end|>``.

        Raises:
            TokenizationError: ``token_id`` is not allowed here (position None; the message says what is).
        """
        vocab = self.vocab
        allowed = self.allowed(state)
        token_id = int(token_id)
        if token_id == vocab.end_id and allowed.end:
            return CLOSED
        if vocab.scale_base <= token_id < vocab.end and allowed.scale:
            return state._replace(
                last_chunk=state.frames > 0 and state.chunk_frames < self.id_format.frames_per_chunk,
                chunk_frames=0,
                scale_pending=True,
            )
        position = state.position + 1
        if token_id == vocab.pad_id and allowed.pad:
            if state.num_frames is None and self._is_frame_start(state):  # the pad stops the frames (delayed)
                return state._replace(position=position, num_frames=state.frames)
            return state._replace(position=position)
        codebook = (token_id - vocab.offset) // vocab.codebook_size if vocab.offset <= token_id < vocab.code_end else -1
        if codebook < 0 or codebook not in allowed.codebooks:
            expected = self.describe(allowed)
            raise TokenizationError(f"{vocab.describe(token_id)} is not allowed here; expected {expected}")
        if state.num_frames is not None or not self._is_frame_start(state):
            return state._replace(position=position)
        if codebook == 0:  # codebook 0 of a new frame
            return state._replace(
                position=position, frames=state.frames + 1, chunk_frames=state.chunk_frames + 1, scale_pending=False
            )
        return state._replace(position=position, num_frames=state.frames)  # a codebook-1 id ends row 0 (flattened)

    def _is_frame_start(self, state: SpanState) -> bool:
        if state.scale_pending:
            return True
        return self.layout.generation_slot(self.num_codebooks, state.position, state.num_frames) == NEXT_FRAME

    def describe(self, allowed: Allowed) -> str:
        """The allowed ids in words, for error messages."""
        vocab = self.vocab
        parts = [vocab.expected(k) for k in allowed.codebooks]
        if allowed.pad:
            parts.append(f"<|audio_pad|> (id {vocab.pad_id})")
        if allowed.scale:
            parts.append(f"a scale token (ids {vocab.scale_base}..{vocab.end - 1})")
        if allowed.end:
            parts.append(f"<|audio_end|> (id {vocab.end_id})")
        return ", ".join(parts)
