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

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import WavTokenizerModel

from ...config import CodecSpec
from ...ids.codes import AudioCodes
from ..base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from ..batching import by_codebook_count, length_batches


class WavTokenizerCodec(AudioCodec):
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

    def _budget(self, max_batch_seconds: float) -> int:
        """Frames per call."""
        return max(int(max_batch_seconds * self.sampling_rate) // self.hop_length, 1)

    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        self.check_num_codebooks(num_codebooks)
        hop = self.hop_length
        clips = [self.check_wave(wave, index).float() for index, wave in enumerate(waves)]
        frames = [self.num_frames(clip.shape[-1]) for clip in clips]
        out: list[AudioCodes] = [AudioCodes(torch.zeros(1, 0, dtype=torch.int64))] * len(clips)
        for batch in length_batches(frames, self._budget(max_batch_seconds), lambda f: f, lambda a, b: a == b):
            rows = [torch.nn.functional.pad(clips[i], (0, frames[i] * hop - clips[i].shape[-1])) for i in batch]
            inputs = self.to_device(torch.stack(rows).to(self.dtype))
            with torch.inference_mode():
                codes = self.model.encode(inputs).audio_codes.to("cpu", torch.int64)
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
            "the wavtokenizer codec cannot stream: its encoder convolutions see future samples and its decoder "
            "attends over the whole clip, so codes and audio of a prefix change as more arrives; encode whole clips"
        )
