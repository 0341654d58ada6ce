"""``AudioCodes`` and ``IdFormat``: one clip's codes, and the one place that turns codes into ids and back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import AudiotokError, TokenizationError
from .arrays import as_ids, is_tensor
from .bpe import AcousticBPE
from .detokenize import Errors, span_to_codes, split_segments
from .layouts import Layout
from .scales import (
    ScaleQuantizer,
    chunk_frames_from_scales,
    insert_scale_tokens,
    lenient_scales,
    split_scale_tokens,
    whole_chunks,
)
from .vocab import AudioVocab


@dataclass
class AudioCodes:
    """One clip's codec output.

    Codecs return torch tensors; the ids layer returns numpy arrays.

    Attributes:
        codes: ``[K, T]`` integer codes (for chunked codecs the chunks' frames, concatenated).
        scales: ``[num_chunks]`` per-chunk loudness scales (side information of chunked codecs, else None).
        chunk_frames: ``[num_chunks]`` frames of each chunk, summing to T (chunked codecs only). A chunk
            is usually ``frames_per_chunk`` frames, but a clip's last two can be shorter.
    """

    codes: Any
    scales: Any = None
    chunk_frames: Any = None

    @property
    def num_frames(self) -> int:
        return int(self.codes.shape[-1])


@dataclass(frozen=True)
class IdFormat:
    """How one configuration writes codes as ids: vocabulary, layout and (chunked codecs) scale tokens.

    Args:
        vocab: the audio id range.
        layout: the order of the codes.
        frames_per_chunk: frames of a whole chunk for chunked codecs, 0 for unchunked ones.
        scale_quantizer: the scale-token grid (chunked codecs only).
        bpe: an acoustic BPE: ids are its ids (layout ids with merges), expanded again before decoding.
    """

    vocab: AudioVocab
    layout: Layout
    frames_per_chunk: int = 0
    scale_quantizer: ScaleQuantizer | None = None
    bpe: AcousticBPE | None = None

    @property
    def is_chunked(self) -> bool:
        return self.frames_per_chunk > 0

    def codes_to_ids(self, codes: AudioCodes | Any, add_special_tokens: bool = True) -> np.ndarray:
        """Codes ``[K, T]`` (an ``AudioCodes`` with chunk scales for chunked codecs) -> int64 ids ``[L]``.

        Chunked codecs put each chunk's scale token right before the chunk; with ``add_special_tokens``
        the ids are framed by <|audio_start|> and <|audio_end|>.
        """
        item = codes if isinstance(codes, AudioCodes) else AudioCodes(codes)
        array = np.asarray(item.codes.cpu() if is_tensor(item.codes) else item.codes, dtype=np.int64)
        ids = np.asarray(self.layout.to_ids(array, self.vocab))
        if self.is_chunked:
            if item.scales is None or self.scale_quantizer is None:
                raise AudiotokError("a chunked codec's codes need their chunk scales: pass the AudioCodes it returned")
            chunk_frames = item.chunk_frames
            if chunk_frames is None:
                chunk_frames = whole_chunks(array.shape[-1], self.frames_per_chunk)
            scale_index = self.scale_quantizer.to_index(np.asarray(item.scales))
            ids = insert_scale_tokens(ids, self.layout, self.vocab, scale_index, np.asarray(chunk_frames))
        if add_special_tokens:
            ids = np.concatenate([[self.vocab.start_id], ids, [self.vocab.end_id]])
        if self.bpe is not None:
            ids = self.bpe.encode(ids, self.vocab)
        return ids.astype(np.int64)

    def span_codes(self, span: np.ndarray, start: int = 0, errors: Errors = "strict") -> AudioCodes:
        """One audio span's ids (markers excluded) -> its codes (numpy).

        Chunked codecs' scale tokens are separated first and checked for place; errors report positions
        in the whole input (``start`` is the span's first position). With a BPE, merged tokens are expanded
        first and errors point at the BPE id.
        """
        if self.bpe is not None:
            original = as_ids(span)
            expanded, origin = self.bpe.decode(original, self.vocab)
            if expanded.size != original.size:
                try:
                    return self._layout_span_codes(expanded, 0, errors)
                except TokenizationError as error:
                    located = self.bpe.locate(error, original, origin, self.vocab)
                    where = None if located.position is None else start + located.position
                    raise TokenizationError(located.detail, where) from None
        return self._layout_span_codes(span, start, errors)

    def _layout_span_codes(self, span: np.ndarray, start: int, errors: Errors) -> AudioCodes:
        if not self.is_chunked:
            return AudioCodes(span_to_codes(span, self.vocab, self.layout, errors=errors, position=start))
        assert self.scale_quantizer is not None  # every chunked IdFormat has one (TokenizerConfig builds it)
        split = split_scale_tokens(span, self.vocab)
        try:
            codes = span_to_codes(split.code_ids, self.vocab, self.layout, errors=errors)
        except TokenizationError as error:  # report the position in the input, scale tokens included
            where = error.position if error.position is not None else len(split.kept)
            raise TokenizationError(
                error.detail, start + (int(split.kept[where]) if where < len(split.kept) else len(span))
            ) from None
        strict = errors == "strict"
        chunk_frames = chunk_frames_from_scales(
            split, self.layout, self.vocab, codes.shape[-1], self.frames_per_chunk, strict, start
        )
        if strict:
            scales = self.scale_quantizer.to_scale(split.scale_index)
        else:
            scales = lenient_scales(split.scale_index, len(chunk_frames), self.scale_quantizer)
        return AudioCodes(codes, scales, chunk_frames)

    def ids_to_codes(self, ids: Any, errors: Errors = "strict") -> list[AudioCodes]:
        """Every audio span of ``ids`` (bare, or framed among text ids) -> its codes, in order.

        With a BPE, merged tokens are expanded first; strict errors report the position of the BPE id.
        """
        if self.bpe is None:
            spans = split_segments(ids, self.vocab, errors=errors)
            return [self.span_codes(seg.ids, seg.start, errors) for seg in spans if seg.kind == "audio"]
        original = as_ids(ids)
        expanded, origin = self.bpe.decode(original, self.vocab)
        try:
            spans = split_segments(expanded, self.vocab, errors=errors)
            return [self.span_codes(seg.ids, seg.start, errors) for seg in spans if seg.kind == "audio"]
        except TokenizationError as error:
            raise self.bpe.locate(error, original, origin, self.vocab) from None
