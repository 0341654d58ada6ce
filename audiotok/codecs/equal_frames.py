"""``EqualFrameCodec``: the batching rule of families whose encoder and decoder see the whole clip.

WavTokenizer, X-codec, X-codec2 and NeuCodec normalise or attend over the whole sequence (GroupNorm,
self-attention, an LSTM's state, per-clip mel normalisation) and their padding masks do not make a padded
clip's codes equal the clip alone (measured: docs/design.md, facts 15-18). So clips share an encoder call
only when they have the same number of frames, whose padded inputs are then identical to each clip alone,
and codes share a decoder call only with codes of the same frame count. A family supplies how one such
batch is encoded (``encode_rows``) and decoded (``decode_rows``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np
import torch

from ..ids.codes import AudioCodes
from .base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from .batching import by_codebook_count, length_batches, pad_codes


class EqualFrameCodec(AudioCodec):
    """A family batched by equal frame counts, in encoding and decoding."""

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
