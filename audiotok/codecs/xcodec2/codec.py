"""``Xcodec2Codec``: X-codec2 (``transformers.Xcodec2Model``): 16 kHz mono, 50 frames/s, one FSQ codebook of 65,536.

Each frame's code mixes an acoustic encoder (non-causal convolutions on the waveform) with a semantic
one (a wav2vec2-BERT conformer on 80-bin log-mel filter banks, per-clip normalised). Contract: a clip's
codes are ``Xcodec2Model.encode`` of what ``Xcodec2FeatureExtractor`` makes of the clip alone: the wave
gets one zero sample, then zeros to whole frames, so ``num_frames(L) = L // hop + 1``.

Batching rule: equal frame counts only. The extractor pads every clip of one frame count to the same
samples and computes its filter banks from those samples alone, so such clips share a batch with inputs
identical to encoding each alone. Clips of different frame counts do not: the acoustic convolutions take
no padding mask, the semantic adapter's convolutions read the masked positions, and the per-clip mel
normalisation would see the padding; a zero-padded batch changed the last frames of every shorter clip
(docs/design.md). Decoding batches equal frame counts too: the decoder's GroupNorms pool over time and
its attention takes no mask. X-codec2 cannot stream (non-causal encoder and decoder, global attention).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from transformers import Xcodec2Model

from ...codec_spec import CodecSpec
from ...ids.codes import AudioCodes
from ..equal_frames import EqualFrameCodec
from ..segments import window_frames
from .features import fbank_moments, has_torchaudio, stacked_features, window_features


class Xcodec2Codec(EqualFrameCodec):
    """X-codec2 with exact batched encoding (equal frame counts share a batch) and decoding to ``T * hop``."""

    model_type = "xcodec2"
    model_class: ClassVar[Any] = Xcodec2Model

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        rate = cls.input_rate(model_config)
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=rate,
            audio_channels=1,
            frame_rate=rate / cls.input_hop(model_config),
            codebook_size=int(np.prod(model_config.quantization_levels)),
            codebook_counts=(1,),  # one FSQ codebook
            default_num_codebooks=1,
        )

    @staticmethod
    def input_rate(model_config: Any) -> int:
        return int(model_config.sampling_rate)

    @staticmethod
    def input_hop(model_config: Any) -> int:
        """Input samples per frame."""
        return int(model_config.hop_length)

    @property
    def hop_length(self) -> int:
        """Input samples per frame (320 at 16 kHz)."""
        return self.input_hop(self.config)

    @property
    def output_hop_length(self) -> int:
        """Decoded samples per frame."""
        return int(self.config.hop_length)

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop_length + 1

    # -- encode ---------------------------------------------------------------------------------------------
    def padded_samples(self, num_samples: int) -> int:
        """The length the feature extractor pads a clip to: one zero sample, then whole frames."""
        return -(-(num_samples + 1) // self.hop_length) * self.hop_length

    def mel_input(self, padded: torch.Tensor) -> torch.Tensor:
        """The samples the filter banks are computed from: the padded clip with half a frame of zeros each side."""
        return torch.nn.functional.pad(padded, (self.hop_length // 2, self.hop_length // 2))

    def feature_extractor(self) -> Any:
        from transformers import Xcodec2FeatureExtractor

        return Xcodec2FeatureExtractor(sampling_rate=self.sampling_rate, hop_length=self.hop_length)

    def model_inputs(self, clips: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Clips ``[1, L_i]`` of one padded length -> ``input_values`` and ``input_features`` for ``encode``."""
        if has_torchaudio():
            inputs = self.feature_extractor()(
                [clip[0].numpy() for clip in clips], sampling_rate=self.sampling_rate, return_tensors="pt"
            )
            return {"input_values": inputs["input_values"], "input_features": inputs["input_features"]}
        length = self.padded_samples(max(clip.shape[-1] for clip in clips))
        padded = [torch.nn.functional.pad(clip[0].float(), (0, length - clip.shape[-1])) for clip in clips]
        features = stacked_features([self.mel_input(wave) for wave in padded], self.sampling_rate)
        return {"input_values": torch.stack(padded)[:, None], "input_features": features}

    def encode_rows(self, clips: list[torch.Tensor], frames: int, num_codebooks: int) -> torch.Tensor:
        inputs = {key: self.to_device(value.to(self.dtype)) for key, value in self.model_inputs(clips).items()}
        with torch.inference_mode():
            return self.model.encode(**inputs).audio_codes.to("cpu", torch.int64)  # [B, 1, T]

    def encode_segments(self, wave: torch.Tensor, num_codebooks: int) -> AudioCodes:
        """Overlapping windows whose filter banks are normalised with the whole clip's statistics (computed a
        chunk at a time), so only the networks' global reach (attention, the adapter) separates them from
        the whole clip's codes."""
        clip = self.prepare(wave)[0]
        padded = torch.nn.functional.pad(clip, (0, self.padded_samples(clip.shape[-1]) - clip.shape[-1]))
        mel = self.mel_input(padded)
        extra = mel.shape[-1] - padded.shape[-1]
        moments = fbank_moments(mel, self.sampling_rate)
        total, hop = self.num_frames(clip.shape[-1]), self.hop_length

        def encode(first: int, last: int) -> torch.Tensor:
            end = last * hop if last < total else padded.shape[-1]
            features = window_features(mel[first * hop : end + extra], self.sampling_rate, moments)
            inputs = {"input_values": padded[None, None, first * hop : end], "input_features": features[None]}
            with torch.inference_mode():
                codes = self.model.encode(**{key: self.to_device(v.to(self.dtype)) for key, v in inputs.items()})
            return codes.audio_codes[0].to("cpu", torch.int64)

        assert self.segment_frames is not None
        return AudioCodes(window_frames(total, self.segment_frames, self.encoder_reach, encode))

    def decode_rows(self, codes: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model.decode(audio_codes=codes.to(self.device)).audio_values
