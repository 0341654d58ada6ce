"""``DacCodec``: Descript's DAC (``transformers.DacModel``): mono 16/24/44.1 kHz, 1024-entry RVQ codebooks.

Contract: a clip's codes are ``DacModel.encode`` of the clip zero-padded to whole frames (what
``DacFeatureExtractor`` does), in any batch, up to float near-ties; ``num_frames(L) = ceil(L / hop)``.

DAC's convolutions are not causal and the model takes no padding mask: zeros a batch appends after a
clip change its last ``R`` frames (8 for all three published architectures). Batching rule, "pad,
then re-encode the tails":

1. every clip is zero-padded to whole frames; clips sorted by length are encoded in batches of at
   most ``max_batch_seconds`` of padded audio: all but each clip's last ``R_right`` frames are exact;
2. for each clip shorter than its batch's longest, the window of its last ``W = R_left + R_right``
   frames (starting on a frame boundary, so every stride grid stays aligned) is encoded again; all
   windows are ``W * hop`` samples long, so they batch together exactly; the window's last
   ``R_right`` frames replace the clip's;
3. clips of at most ``W`` frames share a batch only with clips of the same frame count.

Decoding follows the same rule with the decoder's reach. ``R_left``/``R_right`` are computed from
the model's convolutions, not constants. On a CPU the padded batches and their tails cost more than
they save (measured: docs/BENCHMARKS.md), so there every clip is its own batch.

``DacModel.decode`` of T frames gives ``T * hop - 8`` samples at 16/24 kHz (its stride-5 transposed
convolution loses one sample); the codec appends zeros so that T frames always give ``T * hop``.
DAC cannot stream: every frame reads future audio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import DacModel

from ...codec_spec import CodecSpec
from ...ids.codes import AudioCodes
from ..base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from ..batching import by_codebook_count, length_batches, pad_codes
from ..segments import conv_reach as reach
from ..segments import decode_in_segments, encode_in_segments, window_decode, window_encode


class DacCodec(AudioCodec):
    """DAC with exact batched encoding (pad, then re-encode the tails) and decoding to ``T * hop`` samples."""

    model_type = "dac"
    model_class = DacModel
    batch_on_cpu = False  # True: the padded-batch rule on CPU too (slower there; the tests check its exactness)

    def __init__(self, model: Any, device: Any = None, dtype: torch.dtype = torch.float32, name: str = "") -> None:
        super().__init__(model, device, dtype, name)
        hop = self.hop_length
        encoder_left, encoder_right = reach(self.model.encoder, 1.0)
        decoder_left, decoder_right = reach(self.model.decoder, float(hop))
        self.encoder_reach = (math.ceil(encoder_left / hop), math.ceil(encoder_right / hop))  # frames
        self.decoder_reach = (math.ceil(decoder_left / hop), math.ceil(decoder_right / hop))
        with torch.inference_mode():
            probe = self.model.decode(audio_codes=torch.zeros(1, 1, 2, dtype=torch.long, device=self.device))
        self.decode_deficit = 2 * hop - int(probe.audio_values.shape[-1])

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        count = int(model_config.n_codebooks)
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=int(model_config.sampling_rate),
            audio_channels=1,  # DAC is mono
            frame_rate=int(model_config.sampling_rate) / int(model_config.hop_length),  # the config's is ceil'ed
            codebook_size=int(model_config.codebook_size),
            codebook_counts=tuple(range(1, count + 1)),
            default_num_codebooks=count,
        )

    @property
    def hop_length(self) -> int:
        return int(self.config.hop_length)

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.hop_length)

    def _budget(self, max_batch_seconds: float) -> int:
        """Frames per batch: one clip at a time on CPU, where batching measured slower than the loop."""
        if self.device.type == "cpu" and not self.batch_on_cpu:
            return 1
        return max(int(max_batch_seconds * self.sampling_rate) // self.hop_length, 1)

    # -- long clips: overlapping windows widened by the reach (audiotok/codecs/segments.py) ------------------
    @property
    def has_segmented_path(self) -> bool:
        return True

    def encode_segments(self, wave: torch.Tensor, num_codebooks: int) -> AudioCodes:
        clip = wave.float()
        padded = torch.nn.functional.pad(clip, (0, self.num_frames(clip.shape[-1]) * self.hop_length - clip.shape[-1]))
        return window_encode(self, padded, self.encoder_reach, lambda x: self._encode_rows([x], num_codebooks)[0])

    def decode_segments(self, codes: CodeInput) -> torch.Tensor:
        checked = self.check_codes(codes, 0)
        audio = window_decode(self, checked, self.decoder_reach, lambda c: self._decode_rows(c[None]))  # [1, n*hop - d]
        return torch.nn.functional.pad(audio, (0, self.decode_deficit))  # T frames give T * hop samples

    # -- encode ---------------------------------------------------------------------------------------------
    @encode_in_segments
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
        padded = [torch.nn.functional.pad(c, (0, f * hop - c.shape[-1])) for c, f in zip(clips, frames)]
        left, right = self.encoder_reach
        window = left + right
        budget = self._budget(max_batch_seconds)
        out: list[torch.Tensor] = [torch.zeros(0, 0, dtype=torch.int64)] * len(clips)
        tails: list[int] = []
        for batch in length_batches(frames, budget, lambda f: f, lambda a, b: a == b or a > window):
            longest = max(frames[i] for i in batch)
            rows = [torch.nn.functional.pad(padded[i], (0, (longest - frames[i]) * hop)) for i in batch]
            codes = self._encode_rows(rows, num_codebooks)
            for row, index in enumerate(batch):
                out[index] = codes[row, :, : frames[index]].clone()
                if frames[index] < longest:
                    tails.append(index)
        per_batch = max(budget // window, 1)
        for start in range(0, len(tails), per_batch):
            group = tails[start : start + per_batch]
            codes = self._encode_rows([padded[i][:, (frames[i] - window) * hop :] for i in group], num_codebooks)
            for row, index in enumerate(group):
                out[index][:, -right:] = codes[row, :, -right:]
        return [AudioCodes(codes) for codes in out]

    def _encode_rows(self, rows: list[torch.Tensor], num_codebooks: int) -> torch.Tensor:
        """Equal-length rows ``[1, n * hop]`` -> codes ``[B, K, n]``."""
        batch = self.to_device(torch.stack(rows).to(self.dtype))
        with torch.inference_mode():
            return self.model.encode(batch, n_quantizers=num_codebooks).audio_codes.to("cpu", torch.int64)

    # -- decode ---------------------------------------------------------------------------------------------
    @decode_in_segments
    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        hop = self.hop_length
        items = [self.check_codes(c, index) for index, c in enumerate(codes)]
        frames = [c.shape[-1] for c in items]
        left, right = self.decoder_reach
        window = left + right
        budget = self._budget(max_batch_seconds)
        out: list[torch.Tensor] = [torch.zeros(0)] * len(items)
        tails: list[int] = []
        for members in by_codebook_count(items):
            member_frames = [frames[i] for i in members]
            for part in length_batches(member_frames, budget, lambda f: f, lambda a, b: a == b or a > window):
                batch = [members[j] for j in part if frames[members[j]] > 0]
                if not batch:
                    continue
                longest = max(frames[i] for i in batch)
                audio = self._decode_rows(pad_codes([items[i] for i in batch]))
                for row, index in enumerate(batch):
                    out[index] = audio[row, : frames[index] * hop - self.decode_deficit].clone()
                    if frames[index] < longest:
                        tails.append(index)
        keep = right * hop - self.decode_deficit
        per_batch = max(budget // window, 1)
        for members in by_codebook_count([items[i] for i in tails]):
            group_all = [tails[j] for j in members]
            for start in range(0, len(group_all), per_batch):
                group = group_all[start : start + per_batch]
                audio = self._decode_rows(torch.stack([items[i][:, -window:] for i in group]))
                for row, index in enumerate(group):
                    out[index][-keep:] = audio[row, -keep:]
        waves = [
            torch.nn.functional.pad(wave, (0, self.decode_deficit))[None] if n else torch.zeros(1, 0)
            for wave, n in zip(out, frames)
        ]
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]

    def _decode_rows(self, batch: torch.Tensor) -> torch.Tensor:
        """Codes ``[B, K', n]`` -> audio ``[B, n * hop - deficit]``; fewer codebooks decode from the first K'."""
        with torch.inference_mode():
            return self.model.decode(audio_codes=batch.to(self.device)).audio_values.float().cpu()
