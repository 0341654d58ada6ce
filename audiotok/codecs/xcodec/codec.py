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

import functools
import math
from typing import Any

import numpy as np
import torch
from transformers import XcodecModel

from ...codec_spec import CodecSpec
from ..equal_frames import EqualFrameCodec
from ..segments import conv_reach, decode_in_segments


def codebooks_per_bandwidth(model_config: Any) -> dict[float, int]:
    """Each of the config's ``target_bandwidths`` -> the codebooks ``XcodecModel.encode`` uses for it."""
    hop = int(np.prod(model_config.acoustic_model_config.downsampling_ratios))
    frame_rate = math.ceil(int(model_config.sample_rate) / hop)  # as the port computes it
    per_codebook = math.log2(int(model_config.codebook_size)) * frame_rate / 1000
    return {float(b): int(max(1, math.floor(float(b) / per_codebook))) for b in model_config.target_bandwidths}


class XcodecCodec(EqualFrameCodec):
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

    @functools.cached_property
    def decoder_reach(self) -> tuple[int, int]:
        """The decoder's reach in frames, from its convolutions (codebook lookup and ``fc2`` act per frame)."""
        hop = self.hop_length
        left, right = conv_reach(self.model.acoustic_decoder, float(hop))
        return math.ceil(left / hop), math.ceil(right / hop)

    decode_batch = decode_in_segments(EqualFrameCodec.decode_batch)  # the DAC decoder's reach is finite: exact

    def encode_rows(self, clips: list[torch.Tensor], frames: int, num_codebooks: int) -> torch.Tensor:
        padded = [torch.nn.functional.pad(clip, (0, frames * self.hop_length - clip.shape[-1])) for clip in clips]
        inputs = self.to_device(torch.stack(padded).to(self.dtype))
        with torch.inference_mode():
            codes = self.model.encode(inputs, bandwidth=self.bandwidth_for(num_codebooks)).audio_codes
        return codes.to("cpu", torch.int64)

    def _no_streaming(self) -> str:
        return (
            "the xcodec codec cannot stream: its semantic model normalises and attends over the whole clip and its "
            "convolutions see future samples, so codes of a prefix change as more audio arrives; encode whole clips"
        )
