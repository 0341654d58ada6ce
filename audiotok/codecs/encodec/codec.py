"""``EncodecCodec``: the EnCodec family (``transformers.EncodecModel``): 24 kHz causal, 48 kHz chunked.

Batching contract (24 kHz and other unchunked, causal models): every clip is padded with zeros
to a whole number of codec frames (``hop_length`` samples) before encoding, alone or in a batch.
The encoder is causal, so frame t depends only on samples before its end, and the zeros a batch
adds after a clip's padded end cannot reach its frames: a clip's codes are the same in every
batch. They equal ``EncodecModel.encode`` of the zero-padded clip; against ``EncodecModel.encode``
of the raw clip, only the last frame of a clip whose length is not a multiple of ``hop_length``
can differ (the bare model pads that frame by reflection). The one exception is a float near-tie:
batch size changes CPU kernels' rounding by ~1e-7, which can flip a code whose two nearest
codewords are equally near (measured rate in the README).

Chunked models (48 kHz: 1 s chunks every 0.99 s, each normalised by its own RMS scale) are batched
at the level of chunks: every chunk of every clip is encoded on its own terms (its own samples, its
own scale), chunks of identical length share a batch, and nothing is ever padded, so a clip's codes
and scales are exactly those of encoding it alone. ``EncodecModel.encode`` on a padded batch would
compute the shorter clips' last-chunk scale over the padding (docs/design.md).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from transformers import EncodecModel
from transformers.models.encodec.modeling_encodec import EncodecConv1d

from ...codec_spec import CodecSpec
from ...errors import AudiotokError
from ...ids.codes import AudioCodes
from ...ids.scales import whole_chunks
from ..base import DEFAULT_MAX_BATCH_SECONDS, AudioCodec, CodeInput
from ..batching import by_codebook_count, length_batches, pad_codes, pad_right
from ..segments import decode_in_segments, encode_in_segments

DEFAULT_BANDWIDTH = 6.0


class _Checked(NamedTuple):
    """Validated codes as CPU tensors (see ``EncodecCodec._as_codes``)."""

    codes: torch.Tensor
    scales: torch.Tensor | None
    chunk_frames: torch.Tensor | None

    @property
    def num_frames(self) -> int:
        return int(self.codes.shape[-1])


def codebooks_at(bandwidth: float, codebook_size: int, frame_rate: int) -> int:
    """Codebooks EnCodec uses at ``bandwidth`` kbps (``EncodecResidualVectorQuantizer``'s rule)."""
    return max(1, math.floor(bandwidth * 1000 / (math.log2(codebook_size) * frame_rate)))


class EncodecCodec(AudioCodec):
    """EnCodec (24 kHz mono causal, 48 kHz stereo chunked) with exact batched encoding and trimmed decoding.

    Its codebook counts are named by bandwidths (kbps): 24 kHz 1.5/3/6/12/24 kbps = 2/4/8/16/32
    codebooks; 48 kHz 3/6/12/24 kbps = 2/4/8/16.
    """

    model_type = "encodec"
    model_class = EncodecModel
    can_stream = True

    @classmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        bandwidths = tuple(float(b) for b in model_config.target_bandwidths)
        size, frame_rate = int(model_config.codebook_size), int(model_config.frame_rate)
        counts = tuple(codebooks_at(b, size, frame_rate) for b in bandwidths)
        default = min(bandwidths, key=lambda b: abs(b - DEFAULT_BANDWIDTH))
        chunked = model_config.chunk_length is not None
        hop = int(model_config.hop_length)
        return CodecSpec(
            family=cls.model_type,
            sampling_rate=int(model_config.sampling_rate),
            audio_channels=int(model_config.audio_channels),
            frame_rate=int(model_config.sampling_rate) / hop,
            codebook_size=size,
            codebook_counts=counts,
            default_num_codebooks=counts[bandwidths.index(default)],
            bandwidths=bandwidths,
            frames_per_chunk=-(-int(model_config.chunk_length) // hop) if chunked else 0,
            chunk_stride=int(model_config.chunk_stride) if chunked else 0,
        )

    # -- family details -----------------------------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        return int(self.config.hop_length)

    def bandwidth_for(self, num_codebooks: int) -> float:
        """The bandwidth (kbps) ``EncodecModel.encode`` takes for ``num_codebooks`` codebooks."""
        self.check_num_codebooks(num_codebooks)
        return self.spec.bandwidths[self.spec.codebook_counts.index(num_codebooks)]

    @property
    def is_causal(self) -> bool:
        return bool(self.config.use_causal_conv)

    @property
    def is_chunked(self) -> bool:
        """Whether the model encodes fixed-length overlapping chunks with per-chunk scales (48 kHz)."""
        return self.config.chunk_length is not None

    @property
    def chunk_length(self) -> int:
        """Samples per chunk (0 for unchunked models)."""
        return int(self.config.chunk_length or 0)

    @property
    def chunk_stride(self) -> int:
        """Samples between chunk starts (0 for unchunked models)."""
        return int(self.config.chunk_stride or 0)

    @property
    def frames_per_chunk(self) -> int:
        """Frames of a full chunk (0 for unchunked models)."""
        return -(-self.chunk_length // self.hop_length)

    def chunk_offsets(self, num_samples: int) -> range:
        """Start sample of every chunk of a clip, as ``EncodecModel.encode`` cuts it."""
        return range(0, num_samples, self.chunk_stride or max(num_samples, 1))

    def num_frames(self, num_samples: int) -> int:
        """Frames of a clip: ceil(num_samples / hop_length), summed over the chunks of a chunked model."""
        return sum(self.chunk_frames(num_samples))

    def chunk_frames(self, num_samples: int) -> list[int]:
        """Frames of each chunk of a clip (one "chunk" for unchunked models)."""
        lengths = [min(self.chunk_length or num_samples, num_samples - o) for o in self.chunk_offsets(num_samples)]
        return [-(-length // self.hop_length) for length in lengths]

    # -- streaming --------------------------------------------------------------------------------------------
    def streaming_encoder(self, num_codebooks: int) -> Any:
        from .streaming import streaming_encoder

        return streaming_encoder(self, num_codebooks)

    def streaming_decoder(self) -> Any:
        from .streaming import streaming_decoder

        return streaming_decoder(self)

    @property
    def has_segmented_path(self) -> bool:
        """Long clips stream in segments where the model streams frame by frame (causal, unchunked). Chunked
        models need no segments: every 1 s chunk is encoded and decoded on its own, in bounded batches."""
        config = self.config
        return not self.is_chunked and self.is_causal and config.norm_type == "weight_norm" and not config.normalize

    # -- encode --------------------------------------------------------------------------------------------
    @encode_in_segments
    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        """Clips ``[C, L_i]`` -> codes ``[K, T_i]``, equal to encoding each clip alone (see the module docstring).

        Clips (chunks, for chunked models) are sorted by length and grouped so that a batch holds at
        most ``max_batch_seconds`` of padded audio (a lone longer clip forms its own batch).
        """
        bandwidth = self.bandwidth_for(num_codebooks)
        tensors = [self.check_wave(wave, index) for index, wave in enumerate(waves)]
        if self.is_chunked:
            return self._encode_chunked(tensors, bandwidth, max_batch_seconds)
        codes: list[AudioCodes] = [AudioCodes(torch.zeros(0, 0, dtype=torch.int64))] * len(tensors)
        for batch in self._length_batches([t.shape[-1] for t in tensors], max_batch_seconds, pad_ok=True):
            for index, clip_codes in zip(batch, self._encode_padded([tensors[i] for i in batch], bandwidth)):
                codes[index] = AudioCodes(clip_codes)
        return codes

    def _encode_chunked(
        self, clips: list[torch.Tensor], bandwidth: float, max_batch_seconds: float
    ) -> list[AudioCodes]:
        pieces = [
            (index, clip[:, offset : offset + self.chunk_length])
            for index, clip in enumerate(clips)
            for offset in self.chunk_offsets(clip.shape[-1])
        ]
        results: list[tuple[torch.Tensor, torch.Tensor]] = [(torch.zeros(0), torch.zeros(0))] * len(pieces)
        for batch in self._length_batches([p.shape[-1] for _, p in pieces], max_batch_seconds, pad_ok=False):
            stacked = self.to_device(torch.stack([pieces[i][1] for i in batch]).to(self.dtype))
            with torch.inference_mode():
                codes, scales = self.model._encode_frame(stacked, bandwidth)  # one chunk per row, never padded
            for row, i in enumerate(batch):
                results[i] = (codes[row].to("cpu", torch.int64), scales[row, 0].float().cpu())
        out = []
        for index in range(len(clips)):
            mine = [results[i] for i, (owner, _) in enumerate(pieces) if owner == index]
            codes = torch.cat([c for c, _ in mine], dim=-1)
            frames = torch.tensor([c.shape[-1] for c, _ in mine])
            out.append(AudioCodes(codes, torch.stack([s for _, s in mine]), frames))
        return out

    def _length_batches(self, lengths: list[int], max_batch_seconds: float, pad_ok: bool) -> list[list[int]]:
        """Groups indices, sorted by length, into batches of at most ``max_batch_seconds`` of padded audio.

        Items of different lengths share a batch only where ``pad_ok`` and padding provably changes
        nothing (``_pads_are_invisible``); otherwise a batch holds items of one exact length.
        """

        def padded(length: int) -> int:
            return self.num_frames(length) * self.hop_length if pad_ok else length

        def can_share(shortest: int, length: int) -> bool:
            if not pad_ok:
                return shortest == length
            return self.num_frames(shortest) == self.num_frames(length) or self._pads_are_invisible(shortest)

        return length_batches(lengths, int(max_batch_seconds * self.sampling_rate), padded, can_share)

    def _pads_are_invisible(self, num_samples: int) -> bool:
        """Whether zeros after a clip (padded to whole frames) leave all its codes and audio unchanged.

        True for a causal model once every convolution's input is longer than its padding: reflect
        padding on the left reads ``x[1..pad]``, which for shorter inputs reaches past the clip's end
        into whatever follows it (the 24 kHz model's frame-level convs pad by 6 frames).
        """
        return self.is_causal and self.num_frames(num_samples) >= self._min_batchable_frames

    @functools.cached_property
    def _min_batchable_frames(self) -> int:
        """Fewest frames for which no reflect padding in the encoder or decoder reaches past a clip's end."""
        needed = 1
        for network, direction in ((self.model.encoder, "down"), (self.model.decoder, "up")):
            samples_per_step = 1 if direction == "down" else self.hop_length
            for module in network.modules():
                if isinstance(module, EncodecConv1d):
                    if module.pad_mode == "reflect":
                        # a clip of T frames is T * hop / samples_per_step long here; it must exceed the padding
                        needed = max(needed, int(module.padding_total) * samples_per_step // self.hop_length + 1)
                    if direction == "down":
                        samples_per_step *= int(module.stride)
                elif isinstance(module, torch.nn.ConvTranspose1d):
                    samples_per_step //= int(module.stride[0])
        return needed

    @torch.inference_mode()
    def _encode_padded(self, clips: list[torch.Tensor], bandwidth: float) -> list[torch.Tensor]:
        frames = [self.num_frames(clip.shape[-1]) for clip in clips]
        batch = self.to_device(pad_right(clips, max(frames) * self.hop_length, self.dtype))
        codes = self.model.encode(batch, bandwidth=bandwidth).audio_codes[0].to("cpu", torch.int64)
        return [codes[i, :, :t].clone() for i, t in enumerate(frames)]

    # -- decode --------------------------------------------------------------------------------------------
    @decode_in_segments
    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        """Codes ``[K', T]`` (1 = first quantizer only) -> audio ``[C, L]``, in length-sorted batches.

        Chunked models need the chunk scales (pass the ``AudioCodes``). The audio is as long as the
        frames cover (``T * hop_length`` unchunked), cut to ``lengths`` when given.
        """
        items = [self._as_codes(c, i) for i, c in enumerate(codes)]
        if self.is_chunked:
            waves = self._decode_chunked(items, max_batch_seconds)
        else:
            waves = [torch.zeros(self.channels, 0)] * len(items)
            for indices in self._code_batches([item.codes for item in items], max_batch_seconds, pad_ok=True):
                for index, wave in zip(indices, self._decode_padded([items[i].codes for i in indices])):
                    waves[index] = wave
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]

    def _decode_chunked(self, items: list[_Checked], max_batch_seconds: float) -> list[torch.Tensor]:
        """Decodes every chunk (batched by identical shape), then overlap-adds each clip's chunks."""
        pieces = []
        for index, item in enumerate(items):
            assert item.scales is not None and item.chunk_frames is not None  # _as_codes guarantees them
            starts = [0, *torch.cumsum(item.chunk_frames, 0).tolist()]
            for chunk in range(len(item.scales)):
                pieces.append((index, item.codes[:, starts[chunk] : starts[chunk + 1]], item.scales[chunk]))
        decoded: list[torch.Tensor] = [torch.zeros(0)] * len(pieces)
        for indices in self._code_batches([p[1] for p in pieces], max_batch_seconds, pad_ok=False):
            codes = torch.stack([pieces[i][1] for i in indices]).to(self.device)
            scales = torch.stack([pieces[i][2] for i in indices]).to(self.device, self.dtype)[:, None]
            with torch.inference_mode():
                audio = self.model._decode_frame(codes, scales)  # [B, C, frames * hop]
            for row, i in enumerate(indices):
                decoded[i] = audio[row].float().cpu()
        waves = []
        for index in range(len(items)):
            frames = [decoded[i] for i, (owner, _, _) in enumerate(pieces) if owner == index]
            if not frames:
                waves.append(torch.zeros(self.channels, 0))
                continue
            waves.append(EncodecModel._linear_overlap_add(frames, self.chunk_stride))
        return waves

    def _code_batches(self, codes: list[torch.Tensor], max_batch_seconds: float, pad_ok: bool) -> Iterator[list[int]]:
        """Indices of code arrays ``[K', T]`` grouped for decoding: one K' per batch, then by length."""
        for members in by_codebook_count(codes):
            samples = [codes[i].shape[-1] * self.hop_length for i in members]
            for batch in self._length_batches(samples, max_batch_seconds, pad_ok=pad_ok):
                yield [members[j] for j in batch]

    @torch.inference_mode()
    def _decode_padded(self, codes: list[torch.Tensor]) -> list[torch.Tensor]:
        frames = [c.shape[-1] for c in codes]
        if max(frames) == 0:
            return [torch.zeros(self.channels, 0) for _ in codes]
        audio = self.model.decode(pad_codes(codes)[None].to(self.device), [None]).audio_values
        return [row[:, : t * self.hop_length].float().cpu() for row, t in zip(audio, frames)]

    def _as_codes(self, codes: CodeInput, index: int) -> _Checked:
        """Checked codes, with the chunk scales and chunk lengths a chunked model needs."""
        item = codes if isinstance(codes, AudioCodes) else AudioCodes(codes)
        tensor = self.check_codes(item, index)
        scales = None if item.scales is None else torch.as_tensor(item.scales, dtype=torch.float32).flatten().cpu()
        if not self.is_chunked:
            return _Checked(tensor, None, None)
        chunk_frames = item.chunk_frames
        if chunk_frames is None:
            chunk_frames = whole_chunks(tensor.shape[-1], self.frames_per_chunk)
        chunk_frames = torch.as_tensor(chunk_frames, dtype=torch.int64).flatten().cpu()
        if scales is None or len(scales) != len(chunk_frames) or int(chunk_frames.sum()) != tensor.shape[-1]:
            got = "no scales" if scales is None else f"{len(scales)} scales"
            raise AudiotokError(
                f"codes {index}: a chunked codec needs one scale per chunk; {tensor.shape[-1]} frames in chunks of "
                f"{chunk_frames.tolist()} frames, got {got}"
            )
        if bool((chunk_frames < 1).any()) or bool((chunk_frames > self.frames_per_chunk).any()):
            raise AudiotokError(f"codes {index}: chunks must hold 1..{self.frames_per_chunk} frames")
        if not torch.isfinite(scales).all() or bool((scales <= 0).any()):
            raise AudiotokError(f"codes {index}: chunk scales must be positive and finite")
        return _Checked(tensor, scales, chunk_frames)
