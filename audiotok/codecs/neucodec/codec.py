"""``NeuCodecCodec``: Neuphonic's NeuCodec (``transformers.NeuCodecModel``): 16 kHz in, 24 kHz out, 50 frames/s,
one FSQ codebook of 65,536.

NeuCodec is X-codec2's architecture (acoustic convolutions + wav2vec2-BERT semantic encoder + FSQ) with a
decoder that synthesises 24 kHz audio: 320 input samples per frame, 480 decoded. Contract: a clip's codes
are ``NeuCodecModel.encode`` of what ``NeuCodecFeatureExtractor`` makes of the clip alone. That extractor
computes the filter banks from the clip padded to whole frames without X-codec2's half-frame margins, so
the semantic branch has one frame fewer than the acoustic one and the model keeps the shorter:
``num_frames(L) = L // 320``. A clip shorter than one frame is first zero-padded to one frame (the bare
extractor gives it no frame at all).

Batching rule and streaming: as X-codec2 (equal frame counts share a batch, in encoding and decoding;
no streaming).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import NeuCodecModel

from ...codec_spec import CodecSpec
from ..xcodec2.codec import Xcodec2Codec


class NeuCodecCodec(Xcodec2Codec):
    """NeuCodec: X-codec2's batching rule; decoded audio at ``output_sampling_rate`` (24 kHz)."""

    model_type = "neucodec"
    model_class = NeuCodecModel

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        spec = super().describe(model_config)
        return CodecSpec(**{**spec.__dict__, "output_sampling_rate": int(model_config.output_sampling_rate)})

    @staticmethod
    def input_rate(model_config: Any) -> int:
        return int(model_config.input_sampling_rate)

    @staticmethod
    def input_hop(model_config: Any) -> int:
        return int(model_config.encoder_hop_length)

    def num_frames(self, num_samples: int) -> int:
        return max(num_samples, self.hop_length) // self.hop_length

    def prepare(self, clip: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(clip.float(), (0, max(self.hop_length - clip.shape[-1], 0)))

    def mel_input(self, padded: torch.Tensor) -> torch.Tensor:
        return padded

    def feature_extractor(self) -> Any:
        from transformers import NeuCodecFeatureExtractor

        return NeuCodecFeatureExtractor(sampling_rate=self.sampling_rate, hop_length=self.hop_length)
