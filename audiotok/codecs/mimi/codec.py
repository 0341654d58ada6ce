"""``MimiCodec``: Kyutai's Mimi (``transformers.MimiModel``): 24 kHz mono, 12.5 frames/s, up to 32 x 2048 codebooks.

Batching rule: every part of Mimi's encoder is causal (convolutions padded on the left with zeros,
the downsampling convolution replicating sample 0 on the left, causal sliding-window attention whose
positions start at 0), so each clip is zero-padded to a whole number of frames (1920 samples) and then
clips of any lengths may share a batch: the zeros after a clip cannot reach its frames. transformers'
encoder ignores its ``padding_mask``; this rule does not need it. A clip's codes equal
``MimiModel.encode`` of the clip zero-padded to whole frames; against ``MimiModel.encode`` of the raw
clip only the last frame of a clip whose length is not a multiple of 1920 can differ (the bare model
pads that frame's inner layers differently). The decoder is causal too, so a batch of codes padded
with code 0 decodes each clip as alone, up to float rounding.

Codebook 0 is Mimi's semantic codebook; codebooks 1..31 are acoustic and quantize the same latents
(not the semantic residual). Any count from 1 to 32 encodes and decodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import MimiModel

from ...codec_spec import CodecSpec
from ...ids.codes import AudioCodes
from ..base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from ..batching import by_codebook_count, length_batches, pad_codes, pad_right
from ..segments import decode_in_segments, encode_in_segments

DEFAULT_NUM_CODEBOOKS = 8  # what Moshi uses (1.1 kbps); transformers' own default is all 32


class MimiCodec(AudioCodec):
    """Mimi with exact batched encoding (clips padded to whole frames), trimmed decoding and streaming."""

    model_type = "mimi"
    model_class = MimiModel
    can_stream = True

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        hop = int(model_config.frame_size)
        total = int(model_config.num_quantizers)
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=int(model_config.sampling_rate),
            audio_channels=int(model_config.audio_channels),
            frame_rate=int(model_config.sampling_rate) / hop,
            codebook_size=int(model_config.codebook_size),
            codebook_counts=tuple(range(int(model_config.num_semantic_quantizers), total + 1)),
            default_num_codebooks=min(DEFAULT_NUM_CODEBOOKS, total),
        )

    @property
    def hop_length(self) -> int:
        """Input samples per frame (1920 for kyutai/mimi)."""
        return int(self.config.frame_size)

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.hop_length)

    @encode_in_segments
    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        self.check_num_codebooks(num_codebooks)
        clips = [self.check_wave(wave, index) for index, wave in enumerate(waves)]
        whole = [self.num_frames(clip.shape[-1]) * self.hop_length for clip in clips]
        out: list[AudioCodes] = [AudioCodes(torch.zeros(0, 0, dtype=torch.int64))] * len(clips)
        budget = int(max_batch_seconds * self.sampling_rate)
        for batch in length_batches(whole, budget, lambda length: length, lambda _shortest, _length: True):
            padded = self.to_device(pad_right([clips[i] for i in batch], max(whole[i] for i in batch), self.dtype))
            with torch.inference_mode():
                codes = self.model.encode(padded, num_quantizers=num_codebooks).audio_codes.to("cpu", torch.int64)
            for row, index in enumerate(batch):
                out[index] = AudioCodes(codes[row, :, : whole[index] // self.hop_length].clone())
        return out

    @decode_in_segments
    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        items = [self.check_codes(c, index) for index, c in enumerate(codes)]
        waves: list[torch.Tensor] = [torch.zeros(self.channels, 0)] * len(items)
        budget = int(max_batch_seconds * self.sampling_rate)
        for members in by_codebook_count(items):
            samples = [items[i].shape[-1] * self.hop_length for i in members]
            for part in length_batches(samples, budget, lambda length: length, lambda _shortest, _length: True):
                batch = [members[j] for j in part]
                if max(items[i].shape[-1] for i in batch) == 0:
                    continue
                with torch.inference_mode():
                    audio = self.model.decode(pad_codes([items[i] for i in batch]).to(self.device)).audio_values
                for row, index in enumerate(batch):
                    waves[index] = audio[row, :, : items[index].shape[-1] * self.hop_length].float().cpu()
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]

    def streaming_encoder(self, num_codebooks: int) -> Any:
        from .streaming import MimiStreamingEncoder

        self.check_num_codebooks(num_codebooks)
        return MimiStreamingEncoder(self, num_codebooks)

    def streaming_decoder(self) -> Any:
        from .streaming import MimiStreamingDecoder

        return MimiStreamingDecoder(self)
