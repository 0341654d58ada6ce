"""``XcodecCodec``: X-codec (``transformers.XcodecModel``): 16 kHz mono, 50 frames/s, up to 8 x 1024 RVQ codebooks.

X-codec concatenates a DAC-style acoustic encoder's output with features of a self-supervised speech
model (HuBERT or WavLM: the mean of all its hidden states), projects them, and quantizes the result
with one residual VQ. transformers selects the number of codebooks by ``bandwidth`` (kbps, one of
``target_bandwidths``); audiotok's primitive is the codebook count, mapped here to the bandwidth that
gives it (0.5 kbps per codebook at 50 frames/s x 10 bits: 0.5/1/1.5/2/4 kbps -> 1/2/3/4/8 codebooks).

Contract: a clip's codes are ``XcodecModel.encode`` of the clip zero-padded to whole frames (what its
``DacFeatureExtractor`` does), in any batch, up to float near-ties; ``num_frames(L) = ceil(L / 320)``.

Batching rule, "equal frame counts only": the semantic model normalises its first convolution's output
over the whole sequence (GroupNorm over time) and attends over every frame, and the port takes no
padding mask, so zeros a batch appends after a clip change every one of its frames. Clips share an
encoder call only when they have the same number of frames (their padded inputs are then identical
to the clip alone). The acoustic decoder is non-causal, so codes share a decoder call only with codes
of the same frame count too. ``XcodecModel.decode`` of T frames gives ``T * 320`` samples. X-codec
cannot stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import XcodecModel

from ...config import CodecSpec
from ...ids.codes import AudioCodes
from ..base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from ..batching import by_codebook_count, length_batches


def codebooks_per_bandwidth(model_config: Any) -> dict[float, int]:
    """Each of the config's ``target_bandwidths`` -> the codebooks ``XcodecModel.encode`` uses for it."""
    hop = int(np.prod(model_config.acoustic_model_config.downsampling_ratios))
    frame_rate = math.ceil(int(model_config.sample_rate) / hop)  # as the port computes it
    per_codebook = math.log2(int(model_config.codebook_size)) * frame_rate / 1000
    return {float(b): int(max(1, math.floor(float(b) / per_codebook))) for b in model_config.target_bandwidths}


class XcodecCodec(AudioCodec):
    """X-codec with exact batched encoding and decoding (clips of equal frame counts share a call)."""

    model_type = "xcodec"
    model_class = XcodecModel

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        counts = codebooks_per_bandwidth(model_config)
        pairs = sorted({count: bandwidth for bandwidth, count in sorted(counts.items(), reverse=True)}.items())
        hop = int(np.prod(model_config.acoustic_model_config.downsampling_ratios))
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=int(model_config.sample_rate),
            audio_channels=1,  # X-codec is mono
            frame_rate=int(model_config.sample_rate) / hop,
            codebook_size=int(model_config.codebook_size),
            codebook_counts=tuple(count for count, _ in pairs),
            default_num_codebooks=counts[float(model_config.target_bandwidths[-1])],  # the port's default
            bandwidths=tuple(bandwidth for _, bandwidth in pairs),
        )

    def bandwidth_for(self, num_codebooks: int) -> float:
        """The ``bandwidth`` (kbps) ``XcodecModel.encode`` takes for ``num_codebooks`` codebooks."""
        self.check_num_codebooks(num_codebooks)
        return self.spec.bandwidths[self.spec.codebook_counts.index(num_codebooks)]

    @property
    def hop_length(self) -> int:
        """Input samples per frame (320 for the published checkpoints)."""
        return int(np.prod(self.config.acoustic_model_config.downsampling_ratios))

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.hop_length)

    def _budget(self, max_batch_seconds: float) -> int:
        """Frames per call."""
        return max(int(max_batch_seconds * self.sampling_rate) // self.hop_length, 1)

    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        bandwidth = self.bandwidth_for(num_codebooks)
        hop = self.hop_length
        clips = [self.check_wave(wave, index).float() for index, wave in enumerate(waves)]
        frames = [self.num_frames(clip.shape[-1]) for clip in clips]
        out: list[AudioCodes] = [AudioCodes(torch.zeros(num_codebooks, 0, dtype=torch.int64))] * len(clips)
        for batch in length_batches(frames, self._budget(max_batch_seconds), lambda f: f, lambda a, b: a == b):
            rows = [torch.nn.functional.pad(clips[i], (0, frames[i] * hop - clips[i].shape[-1])) for i in batch]
            inputs = self.to_device(torch.stack(rows).to(self.dtype))
            with torch.inference_mode():
                codes = self.model.encode(inputs, bandwidth=bandwidth).audio_codes.to("cpu", torch.int64)
            for row, index in enumerate(batch):
                out[index] = AudioCodes(codes[row].clone())
        return out

    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        items = [self.check_codes(c, index) for index, c in enumerate(codes)]
        waves: list[torch.Tensor] = [torch.zeros(self.channels, 0)] * len(items)
        budget = self._budget(max_batch_seconds)
        for members in by_codebook_count(items):
            frames = [items[i].shape[-1] for i in members]
            for part in length_batches(frames, budget, lambda f: f, lambda a, b: a == b):
                batch = [members[j] for j in part]
                if items[batch[0]].shape[-1] == 0:
                    continue
                with torch.inference_mode():
                    audio = self.model.decode(torch.stack([items[i] for i in batch]).to(self.device)).audio_values
                for row, index in enumerate(batch):
                    waves[index] = audio[row].float().cpu()
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]

    def _no_streaming(self) -> str:
        return (
            "the xcodec codec cannot stream: its semantic model normalises and attends over the whole clip and its "
            "convolutions see future samples, so codes of a prefix change as more audio arrives; encode whole clips"
        )
