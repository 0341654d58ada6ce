"""``EqualFrameCodec``: the batching rule of families whose encoder and decoder see the whole clip.

WavTokenizer, X-codec, X-codec2 and NeuCodec normalise or attend over the whole sequence (GroupNorm,
self-attention, an LSTM's state, per-clip mel normalisation) and their padding masks do not make a padded
clip's codes equal the clip alone (measured: docs/design.md, facts 15-18). So clips share an encoder call
only when they have the same number of frames, whose padded inputs are then identical to each clip alone,
and codes share a decoder call only with codes of the same frame count. A family supplies how one such
batch is encoded (``encode_rows``) and decoded (``decode_rows``).

Long clips go through overlapping windows (``audiotok/codecs/segments.py``): each segment is encoded with
``context_seconds`` of the clip on each side (an instance may set its own). Where a network reads the
whole sequence, a window's codes can differ from the whole clip's: segmented codes agree with whole-clip
codes at many frames, not all (measured per family: docs/design.md). A family whose network has a finite
reach (X-codec's DAC decoder) computes the reach instead, and its windows give exactly the whole sequence's
output. Decoders that normalise over the whole sequence (GroupNorm over time) sound different in windows:
those families decode whole code sequences (only X-codec decodes in segments).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch

from ..ids.codes import AudioCodes
from .base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from .batching import by_codebook_count, length_batches, pad_codes
from .segments import encode_in_segments, window_decode, window_frames


class EqualFrameCodec(AudioCodec):
    """A family batched by equal frame counts, in encoding and decoding."""

    context_seconds: ClassVar[float] = 5.0  # of the clip each side of a segment, where the reach is global

    # -- long clips: overlapping windows ----------------------------------------------------------------
    @property
    def has_segmented_path(self) -> bool:
        return True

    @property
    def encoder_reach(self) -> tuple[int, int]:
        """Frames of context (left, right) each encoder window gets around its segment."""
        frames = math.ceil(self.context_seconds * self.frame_rate)
        return frames, frames

    @property
    def decoder_reach(self) -> tuple[int, int]:
        """Frames of context (left, right) each decoder window gets around its segment (families whose decoder
        has a finite reach compute it and decorate ``decode_batch`` with ``decode_in_segments``)."""
        return self.encoder_reach

    def encode_segments(self, wave: torch.Tensor, num_codebooks: int) -> AudioCodes:
        clip = self.prepare(wave)
        total, hop = self.num_frames(clip.shape[-1]), self.hop_length

        def encode(first: int, last: int) -> torch.Tensor:
            window = clip[:, first * hop : last * hop if last < total else clip.shape[-1]]
            return self.encode_rows([window], self.num_frames(window.shape[-1]), num_codebooks)[0]

        assert self.segment_frames is not None
        return AudioCodes(window_frames(total, self.segment_frames, self.encoder_reach, encode))

    def decode_segments(self, codes: CodeInput) -> torch.Tensor:
        checked = self.check_codes(codes, 0)
        hop = self.output_hop_length

        def decode(window: torch.Tensor) -> torch.Tensor:
            return self.decode_rows(window[None])[0, :, : window.shape[-1] * hop].float().cpu()

        return window_decode(self, checked, self.decoder_reach, decode, hop=hop)

    @property
    def output_hop_length(self) -> int:
        """Decoded samples per frame (``hop_length`` unless the output rate differs)."""
        return self.hop_length

    def prepare(self, clip: torch.Tensor) -> torch.Tensor:
        """A checked clip as the encoder takes it (families with a minimum length pad here)."""
        return clip.float()

    @abc.abstractmethod
    def encode_rows(self, clips: list[torch.Tensor], frames: int, num_codebooks: int) -> torch.Tensor:
        """Clips ``[C, L_i]`` that all give ``frames`` frames -> codes ``[B, K, >= frames]`` (CPU, int64)."""

    def decode_rows(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K', T]`` -> audio ``[B, C, >= T * output_hop_length]``."""
        with torch.inference_mode():
            return self.model.decode(codes.to(self.device)).audio_values

    def _frames_per_call(self, max_batch_seconds: float) -> int:
        return max(int(max_batch_seconds * self.frame_rate), 1)

    @encode_in_segments
    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        self.check_num_codebooks(num_codebooks)
        clips = [self.prepare(self.check_wave(wave, index)) for index, wave in enumerate(waves)]
        frames = [self.num_frames(clip.shape[-1]) for clip in clips]
        out: list[AudioCodes] = [AudioCodes(torch.zeros(num_codebooks, 0, dtype=torch.int64))] * len(clips)
        budget = self._frames_per_call(max_batch_seconds)
        for batch in length_batches(frames, budget, lambda f: f, lambda a, b: a == b):
            codes = self.encode_rows([clips[i] for i in batch], frames[batch[0]], num_codebooks)
            for row, index in enumerate(batch):
                out[index] = AudioCodes(codes[row, :, : frames[index]].clone())
        return out

    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        items = [self.check_codes(c, index) for index, c in enumerate(codes)]
        hop = self.output_hop_length
        waves: list[torch.Tensor] = [torch.zeros(self.channels, 0)] * len(items)
        budget = self._frames_per_call(max_batch_seconds)
        for members in by_codebook_count(items):
            frames = [items[i].shape[-1] for i in members]
            for part in length_batches(frames, budget, lambda f: f, lambda a, b: a == b):
                batch = [members[j] for j in part if frames[j] > 0]
                if not batch:
                    continue
                audio = self.decode_rows(pad_codes([items[i] for i in batch]))
                for row, index in enumerate(batch):
                    waves[index] = audio[row, :, : items[index].shape[-1] * hop].float().cpu()
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]
