"""``WavTokenizerCodec``: WavTokenizer (``transformers.WavTokenizerModel``): 24 kHz mono, one 4096-entry codebook.

Contract: a clip's codes are ``WavTokenizerModel.encode`` of the clip zero-padded to whole frames (hop
600 at 40 frames/s, 320 at 75), in any batch, up to float near-ties; ``num_frames(L) = ceil(L / hop)``.
One codebook: ``num_codebooks`` is always 1.

Batching rule, "equal frame counts only": the encoder's convolutions are not causal and pad by
reflection at the clip's ends, and an LSTM carries every frame's state to the end of the sequence, so
zeros a batch appends after a clip change its last frames, and no short window can recompute them
(the LSTM state depends on the whole prefix). The port's ``padding_mask`` only marks which codes are
padding; it does not make them equal. So clips share an encoder call only when they have the same
number of frames (their zero-padded inputs are then identical to the clip alone). The decoder (Vocos
backbone) holds GroupNorm and self-attention over the whole sequence, so code padding changes every
sample: codes share a decoder call only with codes of the same frame count too.

``WavTokenizerModel.decode`` of T codes gives exactly ``T * hop`` samples. WavTokenizer cannot stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import WavTokenizerModel

from ...codec_spec import CodecSpec
from ..equal_frames import EqualFrameCodec


class WavTokenizerCodec(EqualFrameCodec):
    """WavTokenizer with exact batched encoding and decoding (clips of equal frame counts share a call)."""

    model_type = "wavtokenizer"
    model_class = WavTokenizerModel

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        hop = int(np.prod(model_config.upsampling_ratios))
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=int(model_config.sampling_rate),
            audio_channels=int(model_config.audio_channels),
            frame_rate=int(model_config.sampling_rate) / hop,  # the config's own is ceil'ed
            codebook_size=int(model_config.codebook_size),
            codebook_counts=(1,),
            default_num_codebooks=1,
        )

    @property
    def hop_length(self) -> int:
        """Input samples per frame (600 at 40 frames/s, 320 at 75)."""
        return int(np.prod(self.config.upsampling_ratios))

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.hop_length)

    def encode_rows(self, clips: list[torch.Tensor], frames: int, num_codebooks: int) -> torch.Tensor:
        padded = [torch.nn.functional.pad(clip, (0, frames * self.hop_length - clip.shape[-1])) for clip in clips]
        with torch.inference_mode():
            return self.model.encode(self.to_device(torch.stack(padded).to(self.dtype))).audio_codes.to(
                "cpu", torch.int64
            )

    def _no_streaming(self) -> str:
        return (
            "the wavtokenizer codec cannot stream: its encoder convolutions see future samples and its decoder "
            "attends over the whole clip, so codes and audio of a prefix change as more arrives; encode whole clips"
        )
