"""Streaming for chunked models (EnCodec 48 kHz): chunk by chunk."""

from __future__ import annotations

import torch

from ....errors import AudiotokError
from ....ids.codes import AudioCodes
from ..codec import EncodecCodec
from .causal import StreamingDecoder, StreamingEncoder
from .stages import Samples, _as_samples, _Stream


# -- 48 kHz (chunked) ----------------------------------------------------------------------------------------
class ChunkedStreamingEncoder(_Stream):
    """Streams a chunked EnCodec (48 kHz) chunk by chunk; codes and scales equal ``EncodecCodec.encode`` of the clip.

    A chunk (``chunk_length`` samples, 1 s) is encoded once all its samples are in; chunks start every
    ``chunk_stride`` samples, so the last ``chunk_length - chunk_stride`` (480) samples are kept for the
    next one. ``flush`` encodes the clip's last (shorter) chunks, as ``EncodecCodec.encode`` cuts them.

    Args:
        codec: a chunked codec.
        num_codebooks: codebooks per frame, one of ``codec.codebook_counts``.
    """

    def __init__(self, codec: EncodecCodec, num_codebooks: int) -> None:
        if not codec.is_chunked:
            raise ValueError("ChunkedStreamingEncoder needs a chunked codec (48 kHz); use StreamingEncoder")
        super().__init__(codec)
        self.bandwidth = codec.bandwidth_for(num_codebooks)
        self.num_codebooks = num_codebooks
        self.reset()

    def reset(self) -> None:
        """Forgets the current stream."""
        self._closed = False
        self._pieces: list[torch.Tensor] = []  # samples from self._offset on
        self._offset = 0  # start sample of the next chunk
        self.num_samples = 0

    @torch.inference_mode()
    def push(self, samples: Samples) -> AudioCodes:
        """New samples ``[C, n]`` -> codes, scales and frame counts of every chunk completed (maybe none)."""
        self._check_open()
        x = _as_samples(samples, self.codec.channels, "pushed samples")
        if x.shape[-1]:
            self._pieces.append(x)
            self.num_samples += x.shape[-1]
        return self._encode_chunks(final=False)

    @torch.inference_mode()
    def flush(self) -> AudioCodes:
        """Ends the clip -> its remaining chunks (the last one or two, shorter than a chunk)."""
        self._check_open()
        self._closed = True
        return self._encode_chunks(final=True)

    def _encode_chunks(self, final: bool) -> AudioCodes:
        codec = self.codec
        length, stride = codec.chunk_length, codec.chunk_stride
        codes, scales = [], []
        while self._offset + length <= self.num_samples or (final and self._offset < self.num_samples):
            buffer = torch.cat(self._pieces, dim=-1)
            chunk = buffer[:, : min(length, self.num_samples - self._offset)]
            # one chunk per call, never padded, as EncodecCodec.encode cuts it
            chunk_codes, scale = codec.model._encode_frame(chunk[None].to(codec.device, codec.dtype), self.bandwidth)
            codes.append(chunk_codes[0].to("cpu", torch.int64))
            scales.append(scale[0, 0].float().cpu())
            self._pieces = [buffer[:, stride:]]
            self._offset += stride
        if not codes:
            empty = torch.zeros(self.num_codebooks, 0, dtype=torch.int64)
            return AudioCodes(empty, torch.zeros(0), torch.zeros(0, dtype=torch.int64))
        frames = torch.tensor([c.shape[-1] for c in codes])
        return AudioCodes(torch.cat(codes, dim=-1), torch.stack(scales), frames)


def _overlap_weight(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The triangle ``EncodecModel._linear_overlap_add`` weighs a chunk with (from the first chunk's length)."""
    time = torch.linspace(0, 1, length + 2, device=device, dtype=dtype)[1:-1]
    return 0.5 - (time - 0.5).abs()


class ChunkedStreamingDecoder(_Stream):
    """Decodes a chunked EnCodec's chunks as they arrive, overlap-added as ``EncodecCodec.decode`` does.

    A decoded chunk overlaps the next one by ``chunk_length - chunk_stride`` samples; those samples
    are final (and returned) once the next chunk arrives, or at ``flush``.

    Args:
        codec: a chunked codec.
    """

    def __init__(self, codec: EncodecCodec) -> None:
        if not codec.is_chunked:
            raise ValueError("ChunkedStreamingDecoder needs a chunked codec (48 kHz); use StreamingDecoder")
        super().__init__(codec)
        self.reset()

    def reset(self) -> None:
        """Forgets the current stream."""
        self._closed = False
        self._weight: torch.Tensor | None = None
        self._tail: torch.Tensor | None = None  # weighted sum of samples from self._offset on, not final yet
        self._tail_weight: torch.Tensor | None = None
        self._offset = 0  # where the next chunk starts
        self._end = 0  # end of the audio covered so far
        self.num_samples = 0

    @torch.inference_mode()
    def push(self, codes: AudioCodes) -> torch.Tensor:
        """Codes of one or more whole chunks (with their scales) -> audio ``[C, m]`` that became final."""
        self._check_open()
        checked = self.codec._as_codes(codes, 0)
        assert checked.scales is not None and checked.chunk_frames is not None
        out: list[torch.Tensor] = []
        start = 0
        for frames, scale in zip(checked.chunk_frames.tolist(), checked.scales):
            chunk_codes = checked.codes[:, start : start + frames]
            start += frames
            audio = self.codec.model._decode_frame(
                chunk_codes[None].to(self.codec.device), scale.reshape(1, 1).to(self.codec.device, self.codec.dtype)
            )[0]
            out.append(self._add(audio))
        return torch.cat(out, dim=-1) if out else torch.zeros(self.codec.channels, 0)

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """Ends the stream -> the last chunk's overlap."""
        self._check_open()
        self._closed = True
        if self._tail is None or self._tail_weight is None:
            return torch.zeros(self.codec.channels, 0)
        out = (self._tail / self._tail_weight).float().cpu()
        self.num_samples += out.shape[-1]
        return out

    def _add(self, audio: torch.Tensor) -> torch.Tensor:
        length = audio.shape[-1]
        if self._weight is None:
            self._weight = _overlap_weight(length, audio.dtype, audio.device)
        if self._offset > self._end:
            raise AudiotokError(
                "a chunk followed a chunk too short to reach it (only a clip's last one or two chunks are short)"
            )
        weight = self._weight[:length]
        summed, weights = weight * audio, weight
        if self._tail is not None and self._tail_weight is not None:  # overlap: (earlier + this), the offline order
            n = self._tail.shape[-1]
            if n > length:
                raise AudiotokError("a chunk shorter than the previous chunk's overlap")
            summed = torch.cat([self._tail + summed[..., :n], summed[..., n:]], dim=-1)
            weights = torch.cat([self._tail_weight + weights[:n], weights[n:]])
        final = min(self.codec.chunk_stride, length)
        self._tail, self._tail_weight = summed[..., final:], weights[final:]
        self._end = self._offset + length
        self._offset += self.codec.chunk_stride
        out = (summed[..., :final] / weights[:final]).float().cpu()
        self.num_samples += out.shape[-1]
        return out


def streaming_encoder(codec: EncodecCodec, num_codebooks: int) -> StreamingEncoder | ChunkedStreamingEncoder:
    """The streaming encoder this codec supports: frame by frame (24 kHz) or chunk by chunk (48 kHz)."""
    return ChunkedStreamingEncoder(codec, num_codebooks) if codec.is_chunked else StreamingEncoder(codec, num_codebooks)


def streaming_decoder(codec: EncodecCodec) -> StreamingDecoder | ChunkedStreamingDecoder:
    """The streaming decoder this codec supports: frame by frame (24 kHz) or chunk by chunk (48 kHz)."""
    return ChunkedStreamingDecoder(codec) if codec.is_chunked else StreamingDecoder(codec)
