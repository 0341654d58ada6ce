"""Long clips in bounded memory: encode and decode a segment at a time, with the whole clip's codes and audio.

A codec's activations grow with the clip it is given, so a one-hour clip encoded as one batch row needs
memory for an hour of activations. A clip (or a code sequence) longer than ``codec.max_segment_seconds``
goes through the family's segmented path instead, which feeds the model at most one segment plus a
fixed context at a time:

* **streams** (causal families: EnCodec 24 kHz, Mimi): segments of whole frames are pushed through the
  family's own streaming encoder or decoder, which carries every layer's state across the cut (the
  convolutions' context, the LSTM's ``(h, c)``, the sliding-window attention cache), so codes equal
  encoding the whole clip up to float near-ties and audio equals decoding it up to float rounding;
* **overlapping windows** (non-causal families with a finite reach: DAC): to keep frames ``[s, e)`` the
  model runs on frames ``[s - R_left, e + R_right)`` (clipped to the clip), whose edges start on frame
  boundaries so every stride grid stays aligned. A frame reads at most ``R_left`` frames before it and
  ``R_right`` after it (the family computes the reach from its convolutions), so the kept frames see
  exactly what they see in the whole clip: the same argument as the family's batching tail rule.

Chunked families (EnCodec 48 kHz) already encode and decode each 1 s chunk on its own, in batches of at
most ``max_batch_seconds``: their memory is bounded without segments.

``encode_in_segments`` and ``decode_in_segments`` wrap a family's ``encode_batch`` and ``decode_batch``:
clips under the bound take the family's normal path untouched; longer ones go one by one through
``codec.encode_segments`` / ``codec.decode_segments``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch

from ..ids.codes import AudioCodes
from .base import DEFAULT_MAX_BATCH_SECONDS

if TYPE_CHECKING:
    from .base import AudioCodec, CodeInput

Method = TypeVar("Method", bound=Callable[..., Any])


def _length(item: Any) -> int:
    """The last dimension of an array-like (0 for what has none: the normal path reports it)."""
    array = item.codes if isinstance(item, AudioCodes) else item
    shape = np.shape(array)
    return int(shape[-1]) if len(shape) else 0


def encode_in_segments(method: Method) -> Method:
    """Wraps a family's ``encode_batch``: clips longer than ``codec.max_segment_seconds`` are encoded in segments."""

    @functools.wraps(method)
    def encode_batch(
        self: AudioCodec,
        waves: Sequence[Any],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        long = [i for i, wave in enumerate(waves) if self.needs_segments(self.num_frames(_length(wave)))]
        if not long:
            return method(self, waves, num_codebooks, max_batch_seconds)
        self.check_num_codebooks(num_codebooks)
        checked = {i: self.check_wave(wave, i) for i, wave in enumerate(waves)}  # errors name the caller's index
        short = [i for i in range(len(waves)) if i not in set(long)]
        out: dict[int, AudioCodes] = {}
        if short:
            out.update(zip(short, method(self, [checked[i] for i in short], num_codebooks, max_batch_seconds)))
        for i in long:
            out[i] = self.encode_segments(checked[i], num_codebooks)
        return [out[i] for i in range(len(waves))]

    return encode_batch  # type: ignore[return-value]


def decode_in_segments(method: Method) -> Method:
    """Wraps a family's ``decode_batch``: codes longer than ``codec.max_segment_seconds`` are decoded in segments."""

    @functools.wraps(method)
    def decode_batch(
        self: AudioCodec,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        long = [i for i, item in enumerate(codes) if self.needs_segments(_length(item))]
        if not long:
            return method(self, codes, lengths, max_batch_seconds)
        for i, item in enumerate(codes):
            self.check_codes(item, i)  # errors name the caller's index
        short = [i for i in range(len(codes)) if i not in set(long)]
        out: dict[int, torch.Tensor] = {}
        if short:
            out.update(zip(short, method(self, [codes[i] for i in short], None, max_batch_seconds)))
        for i in long:
            out[i] = self.decode_segments(codes[i])
        waves = [out[i] for i in range(len(codes))]
        return waves if lengths is None else [wave[:, :length] for wave, length in zip(waves, lengths)]

    return decode_batch  # type: ignore[return-value]


# -- streams ---------------------------------------------------------------------------------------------------
def stream_encode(codec: AudioCodec, wave: torch.Tensor, num_codebooks: int) -> AudioCodes:
    """A clip ``[C, L]`` pushed through the family's streaming encoder, one segment of whole frames at a time."""
    assert codec.segment_frames is not None
    step = codec.segment_frames * codec.hop_length
    encoder = codec.streaming_encoder(num_codebooks)
    parts = [encoder.push(wave[:, start : start + step]) for start in range(0, wave.shape[-1], step)]
    parts.append(encoder.flush())
    return AudioCodes(torch.cat([torch.as_tensor(part.codes) for part in parts], dim=-1))


def stream_decode(codec: AudioCodec, codes: CodeInput) -> torch.Tensor:
    """Codes ``[K', T]`` pushed through the family's streaming decoder a segment at a time -> audio ``[C, T * hop]``."""
    assert codec.segment_frames is not None
    step = codec.segment_frames
    tensor = codec.check_codes(codes, 0)
    decoder = codec.streaming_decoder()
    parts = [decoder.push(tensor[:, start : start + step]) for start in range(0, tensor.shape[-1], step)]
    parts.append(decoder.flush())
    return torch.cat(parts, dim=-1)


# -- overlapping windows ---------------------------------------------------------------------------------------
def windows(total: int, segment: int, reach: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """``(window_start, window_end, keep_start, keep_end)`` in frames: segments ``[keep_start, keep_end)`` of
    ``segment`` frames covering ``[0, total)``, each within a window widened by ``reach = (left, right)`` frames
    and clipped to the clip."""
    left, right = reach
    return [
        (max(0, start - left), min(total, start + segment + right), start, min(total, start + segment))
        for start in range(0, total, segment)
    ]


def conv_reach(network: torch.nn.Module, rate: float) -> tuple[float, float]:
    """How far (left, right), in samples of the audio grid, a boundary's influence travels through ``network``.

    Walks the convolutions in forward (registration) order; ``rate`` is audio samples per step of the
    network's input (1 for an encoder, hop for a decoder). Conv1d output n reads inputs
    ``[n*s - p, n*s - p + d(k-1)]``; ConvTranspose1d output m reads the inputs n with ``n*s`` in
    ``[m + p - d(k-1), m + p]``. Only for networks of convolutions and pointwise layers.
    """
    left = right = 0.0
    for module in network.modules():
        if isinstance(module, torch.nn.ConvTranspose1d):
            s, p, d, k = (int(module.stride[0]), int(module.padding[0]), int(module.dilation[0]),
                          int(module.kernel_size[0]))  # fmt: skip
            rate /= s
            left += (d * (k - 1) - p) * rate
            right += p * rate
        elif isinstance(module, torch.nn.Conv1d):
            s, p, d, k = (int(module.stride[0]), int(module.padding[0]), int(module.dilation[0]),
                          int(module.kernel_size[0]))  # fmt: skip
            left += p * rate
            right += (d * (k - 1) - p) * rate
            rate *= s
    return left, right


def window_frames(
    total: int, segment: int, reach: tuple[int, int], encode: Callable[[int, int], torch.Tensor]
) -> torch.Tensor:
    """Codes ``[K, total]`` from overlapping windows: ``encode(first, last)`` gives the codes ``[K, >= last - first]``
    of frames ``[first, last)`` encoded as one window (its first code is frame ``first``'s)."""
    parts = []
    for first, last, keep_from, keep_to in windows(total, segment, reach):
        parts.append(encode(first, last)[:, keep_from - first : keep_to - first])
    return torch.cat(parts, dim=-1)


def window_encode(
    codec: AudioCodec,
    padded: torch.Tensor,
    reach: tuple[int, int],
    encode: Callable[[torch.Tensor], torch.Tensor],
) -> AudioCodes:
    """A clip zero-padded to whole frames ``[C, T * hop]`` -> codes ``[K, T]``, from overlapping windows.

    ``encode`` maps a window's audio ``[C, n * hop]`` to its codes ``[K, n]``; ``reach`` is the encoder's
    (left, right) reach in frames.
    """
    assert codec.segment_frames is not None
    hop = codec.hop_length
    return AudioCodes(
        window_frames(
            padded.shape[-1] // hop,
            codec.segment_frames,
            reach,
            lambda first, last: encode(padded[:, first * hop : last * hop]),
        )
    )


def window_decode(
    codec: AudioCodec,
    codes: torch.Tensor,
    reach: tuple[int, int],
    decode: Callable[[torch.Tensor], torch.Tensor],
    hop: int | None = None,
) -> torch.Tensor:
    """Codes ``[K', T]`` -> the audio ``decode`` gives the whole sequence, from overlapping windows.

    ``decode`` maps a window's codes ``[K', n]`` to its audio ``[C, n * hop - d]`` (``d`` >= 0 samples
    lost at the end; ``hop`` is decoded samples per frame, the codec's ``hop_length`` by default);
    ``reach`` is the decoder's (left, right) reach in frames. The result is as long as ``decode`` of
    the whole sequence.
    """
    assert codec.segment_frames is not None
    hop = hop or codec.hop_length
    parts = []
    for first, last, keep_from, keep_to in windows(codes.shape[-1], codec.segment_frames, reach):
        audio = decode(codes[:, first:last])
        end = (keep_to - first) * hop if keep_to < codes.shape[-1] else audio.shape[-1]
        parts.append(audio[:, (keep_from - first) * hop : end])
    return torch.cat(parts, dim=-1)
