"""Streaming ids: ``encode_stream`` / ``decode_stream`` in a tokenizer's layout, for codecs that can stream.

The codec family supplies the streaming encoder and decoder (``AudioCodec.streaming_encoder``); this
module turns their codes into the layout's ids as soon as those ids are final, and back. Families
that cannot stream raise ``StreamingNotSupportedError`` saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import TokenizationError
from .ids.bpe import BpeStreamEncoder
from .ids.codes import AudioCodes
from .ids.layouts import LAYOUTS
from .ids.scales import scale_positions

Samples = np.ndarray | torch.Tensor

if TYPE_CHECKING:
    from .tokenizer import AudioTokenizer


STREAMABLE_LAYOUTS = tuple(name for name, layout in LAYOUTS.items() if layout.streamable)
"""Layouts whose ids of the first t frames are a prefix of those of any longer clip.

``interleaved`` and ``first_codebook`` write frame by frame. ``delayed`` writes step s (codebook k of
frame s - k) once frame s is known, and its last K - 1 steps (the tail of pads) at the end; decoding
it, frame t is complete K - 1 steps later. ``flattened`` writes all T codes of codebook 0 first, so
none of codebook 1 can be written before the clip ends.
"""


def _check_layout(tokenizer: AudioTokenizer) -> None:
    if not tokenizer.layout.streamable:
        raise ValueError(
            f"the {tokenizer.config.layout!r} layout cannot stream: it writes all frames of codebook 0 before any "
            f"of codebook 1, so most ids are known only when the clip ends; use one of {list(STREAMABLE_LAYOUTS)}"
        )


class _IdWriter:
    """Codes of consecutive frames -> the next ids of the tokenizer's layout (scale tokens included)."""

    def __init__(self, tokenizer: AudioTokenizer) -> None:
        _check_layout(tokenizer)
        self.layout = tokenizer.layout
        self.vocab = tokenizer.vocab
        self.config = tokenizer.config
        self.num_codebooks = tokenizer.config.num_codebooks
        self.lookback = self.layout.lookback(self.num_codebooks)
        self.ids_per_step = self.layout.num_ids(self.num_codebooks, 1) - self.layout.num_ids(self.num_codebooks, 0)
        self.context = np.zeros((self.num_codebooks, 0), dtype=np.int64)
        self.num_frames = 0

    def write(self, codes: AudioCodes) -> np.ndarray:
        """The ids of steps ending at the new frames (every id whose content is now known)."""
        new = np.asarray(codes.codes, dtype=np.int64)
        window = np.concatenate([self.context, new], axis=-1)
        skip, width = self.context.shape[-1], window.shape[-1]
        ids = np.asarray(self.layout.to_ids(window, self.vocab))[skip * self.ids_per_step : width * self.ids_per_step]
        if codes.scales is not None and codes.chunk_frames is not None and len(codes.scales):
            starts = skip + np.concatenate([[0], np.cumsum(np.asarray(codes.chunk_frames))[:-1]])
            at = scale_positions(self.layout, self.num_codebooks, width, starts) - skip * self.ids_per_step
            index = self.config.scale_quantizer.to_index(np.asarray(codes.scales))
            ids = np.insert(ids, at, self.vocab.scale_base + index)
        self.context = window[:, width - min(self.lookback, width) :]
        self.num_frames += new.shape[-1]
        return ids.astype(np.int64)

    def close(self) -> np.ndarray:
        """The ids after the last frame's step (the delayed layout's tail of pads)."""
        width = self.context.shape[-1]
        return np.asarray(self.layout.to_ids(self.context, self.vocab))[width * self.ids_per_step :].astype(np.int64)


def encode_stream(
    tokenizer: AudioTokenizer,
    chunks: Iterable[Samples],
    *,
    add_special_tokens: bool = True,
) -> Iterator[np.ndarray]:
    """Audio blocks of one clip -> its ids, block by block; joined, they equal ``tokenizer.encode`` of the clip.

    Yields one int64 array per block (the ids that block made final, maybe empty) and one more at the
    end (the rest: the last frame, the delayed layout's tail, ``<|audio_end|>``). Blocks are ``[C, n]``
    (``[n]`` for mono) at the codec's sampling rate: streaming does not resample. With a BPE, ids of a
    word not yet complete (``max_frames`` frames) wait for the next block.

    Raises:
        ValueError: the layout cannot stream (``flattened``): raised here, before any block is read.
        StreamingNotSupportedError: the codec family cannot stream.
    """
    writer = _IdWriter(tokenizer)
    encoder = tokenizer.codec.streaming_encoder(tokenizer.config.num_codebooks)
    bpe = tokenizer.config.bpe_model
    merger = BpeStreamEncoder(bpe, tokenizer.vocab) if bpe is not None else None

    def generate() -> Iterator[np.ndarray]:
        start = [tokenizer.vocab.start_id] if add_special_tokens else []
        for block in chunks:
            ids = writer.write(encoder.push(block))
            if start:
                ids, start = np.concatenate([start, ids]).astype(np.int64), []
            yield merger.push(ids) if merger is not None else ids
        end = [tokenizer.vocab.end_id] if add_special_tokens else []
        rest = np.concatenate([start, writer.write(encoder.flush()), writer.close(), end]).astype(np.int64)
        yield np.concatenate([merger.push(rest), merger.flush()]) if merger is not None else rest

    return generate()


class _IdReader:
    """Ids of one audio span, in pieces -> codes of the frames they complete, validated like ``ids_to_codes``.

    A leading ``<|audio_start|>`` and a closing ``<|audio_end|>`` are accepted and dropped.
    """

    def __init__(self, tokenizer: AudioTokenizer) -> None:
        _check_layout(tokenizer)
        if tokenizer.config.is_chunked:
            raise ValueError(
                "decode_stream takes an unchunked codec's ids; decode a chunked codec's chunks (codes and scales) with "
                "tokenizer.codec.streaming_decoder()"
            )
        self.layout = tokenizer.layout
        self.vocab = tokenizer.vocab
        self.num_codebooks = tokenizer.config.num_codebooks
        self.lookback = self.layout.lookback(self.num_codebooks)
        self.ids_per_step = self.layout.num_ids(self.num_codebooks, 1) - self.layout.num_ids(self.num_codebooks, 0)
        self.buffer = np.zeros(0, dtype=np.int64)  # ids from step self.num_frames on
        self.position = 0  # stream position of self.buffer[0]
        self.num_frames = 0
        self.started = False
        self.ended = False

    def read(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        at = self.position + len(self.buffer)  # stream position of ids[0]
        if not self.started and len(ids):
            self.started = True
            if ids[0] == self.vocab.start_id:
                ids, self.position = ids[1:], self.position + 1
                at += 1
        if self.ended and len(ids):
            raise TokenizationError(f"{self.vocab.describe(int(ids[0]))} after <|audio_end|>", position=at)
        ends = np.flatnonzero(ids == self.vocab.end_id)
        if len(ends):
            if ends[0] != len(ids) - 1:
                raise TokenizationError(
                    f"{self.vocab.describe(int(ids[ends[0] + 1]))} after <|audio_end|>", position=at + int(ends[0]) + 1
                )
            ids, self.ended = ids[:-1], True
        self.buffer = np.concatenate([self.buffer, ids])
        steps = len(self.buffer) // self.ids_per_step
        return self._frames(max(0, steps - self.lookback), steps, final=False)

    def close(self) -> np.ndarray:
        if len(self.buffer) % self.ids_per_step or len(self.buffer) < self.lookback * self.ids_per_step:
            raise TokenizationError(
                f"the stream ends inside a step of the {self.layout.name} layout: {len(self.buffer)} ids after "
                f"frame {self.num_frames}, expected a multiple of {self.ids_per_step} that is at least "
                f"{self.lookback * self.ids_per_step}",
                position=self.position + len(self.buffer),
            )
        steps = len(self.buffer) // self.ids_per_step
        return self._frames(steps - self.lookback, steps, final=True)

    def _frames(self, frames: int, steps: int, final: bool) -> np.ndarray:
        """Codes of the next ``frames`` frames, read from the buffer's first ``steps`` steps."""
        if frames <= 0 and not final:
            return np.zeros((self.layout.codebooks_used(self.num_codebooks), 0), dtype=np.int64)
        frames = max(frames, 0)
        window = self.buffer[: steps * self.ids_per_step].copy()
        codebook, _ = self.layout.index_table(self.num_codebooks, frames)
        # a pad of the table (delayed only) holds step r's codebook k, i.e. frame num_frames + r - k: an
        # earlier or later frame's code (checked with that frame), or a pad before frame 0 / after the last
        position = np.arange(len(window))
        frame = self.num_frames + position // self.ids_per_step - position % self.ids_per_step
        pads = codebook < 0
        must_pad = pads & ((frame < 0) | (final & (frame >= self.num_frames + frames)))
        bad = np.flatnonzero(must_pad & (window != self.vocab.pad_id))
        if len(bad):
            raise TokenizationError(
                f"expected <|audio_pad|> (id {self.vocab.pad_id}, the {self.layout.name} layout pads this "
                f"position), found {self.vocab.describe(int(window[bad[0]]))}",
                position=self.position + int(bad[0]),
            )
        window[pads] = self.vocab.pad_id
        try:
            codes = np.asarray(self.layout.from_ids(window, self.vocab))
        except TokenizationError as error:
            where = None if error.position is None else self.position + error.position
            raise TokenizationError(error.detail, position=where) from None
        used = frames * self.ids_per_step
        self.buffer, self.position = self.buffer[used:], self.position + used
        self.num_frames += frames
        return codes


def decode_stream(tokenizer: AudioTokenizer, id_chunks: Iterable[np.ndarray | Sequence[int]]) -> Iterator[np.ndarray]:
    """Ids of one audio span, in pieces (e.g. as an LLM generates them) -> audio ``[C, m]`` float32, piece by piece.

    Joined, the yielded audio equals ``tokenizer.decode`` of the whole span up to float rounding. One
    array per piece (the samples it made final, maybe none) and one more at the end. A leading
    ``<|audio_start|>`` and a closing ``<|audio_end|>`` are accepted; ids are validated as
    ``decode(errors="strict")`` does (``TokenizationError`` with the position in the stream). With a BPE,
    each merged token is expanded as it arrives, and error positions count the expanded (layout) ids.

    Raises:
        ValueError: the layout cannot stream (``flattened``), or the codec is chunked: raised here.
        StreamingNotSupportedError: the codec family cannot stream.
    """
    reader = _IdReader(tokenizer)
    decoder = tokenizer.codec.streaming_decoder()
    bpe = tokenizer.config.bpe_model

    def generate() -> Iterator[np.ndarray]:
        for ids in id_chunks:
            if bpe is not None:  # each BPE id expands on its own, so a piece expands without context
                ids = bpe.decode(ids, tokenizer.vocab)[0]
            yield decoder.push(reader.read(np.asarray(ids))).numpy()
        last = decoder.push(reader.close())
        yield torch.cat([last, decoder.flush()], dim=-1).numpy()

    return generate()
