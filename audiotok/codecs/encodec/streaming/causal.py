"""Streaming for causal, unchunked models (EnCodec 24 kHz): frame by frame."""

from __future__ import annotations

import torch

from ....errors import AudiotokError
from ....ids.codes import AudioCodes
from ..codec import CodeInput, EncodecCodec
from .stages import Samples, _as_samples, _cat, _Chain, _check_streamable, _stage, _Stream


# -- 24 kHz (causal, unchunked) ----------------------------------------------------------------------------
class StreamingEncoder(_Stream):
    """Encodes a causal, unchunked EnCodec's audio as it arrives; codes equal ``EncodecCodec.encode`` of the whole clip.

    Args:
        codec: a causal unchunked codec (the 24 kHz model); for chunked ones see ``ChunkedStreamingEncoder``.
        num_codebooks: codebooks per frame, one of ``codec.codebook_counts``.

    Example::

        encoder = StreamingEncoder(codec, num_codebooks=8)
        for block in microphone:                   # [C, n] float32 at codec.sampling_rate, any n >= 0
            codes = encoder.push(block).codes      # [K, t] int64: every frame completed so far (t may be 0)
        codes = encoder.flush().codes              # the rest: the last partial frame, zero-padded
    """

    def __init__(self, codec: EncodecCodec, num_codebooks: int) -> None:
        _check_streamable(codec)
        super().__init__(codec)
        self.bandwidth = codec.bandwidth_for(num_codebooks)
        self.num_codebooks = num_codebooks
        self.reset()

    def reset(self) -> None:
        """Forgets the current stream: the next ``push`` starts a new clip."""
        with torch.inference_mode():
            self._encoder = _Chain([_stage(m) for m in self.codec.model.encoder.layers])
        self._closed = False
        self._pending: list[torch.Tensor] = []  # samples of the frame not yet complete
        self._pending_length = 0
        self.num_samples = 0  # pushed so far
        self.num_frames = 0  # emitted so far

    @torch.inference_mode()
    def push(self, samples: Samples) -> AudioCodes:
        """New samples ``[C, n]`` (``[n]`` for mono) -> codes ``[K, t]`` of every frame that became final."""
        self._check_open()
        x = _as_samples(samples, self.codec.channels, "pushed samples")
        self.num_samples += x.shape[-1]
        self._pending.append(x)
        self._pending_length += x.shape[-1]
        whole = self._pending_length - self._pending_length % self.codec.hop_length
        if whole == 0:  # no frame can complete before its last sample is in: run the model on whole frames only
            return self._codes(None)
        pending = torch.cat(self._pending, dim=-1)
        self._pending, self._pending_length = [pending[:, whole:].clone()], self._pending_length - whole
        return self._codes(self._encoder.step(self._model_input(pending[:, :whole])))

    @torch.inference_mode()
    def flush(self) -> AudioCodes:
        """Ends the clip: zero-pads it to a whole frame (as ``EncodecCodec.encode`` does) -> the remaining codes."""
        self._check_open()
        self._closed = True
        if self.num_samples == 0:
            return self._codes(None)
        padding = -self.num_samples % self.codec.hop_length
        last = torch.cat([*self._pending, torch.zeros(self.codec.channels, padding)], dim=-1)
        embeddings = self._encoder.step(self._model_input(last)) if last.shape[-1] else None
        out = self._codes(_cat(embeddings, self._encoder.finish()))
        assert self.num_frames == self.codec.num_frames(self.num_samples)
        return out

    def _model_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.to(self.codec.device, self.codec.dtype)[None]

    def _codes(self, embeddings: torch.Tensor | None) -> AudioCodes:
        if embeddings is None:
            return AudioCodes(torch.zeros(self.num_codebooks, 0, dtype=torch.int64))
        codes = self.codec.model.quantizer.encode(embeddings, self.bandwidth)  # [K, 1, t]
        self.num_frames += codes.shape[-1]
        return AudioCodes(codes[:, 0].to("cpu", torch.int64))


class StreamingDecoder(_Stream):
    """Decodes a causal, unchunked EnCodec's codes frame by frame; audio equals ``EncodecCodec.decode`` up to rounding.

    Every call returns only samples no later frame can change; ``flush`` returns the rest, so the
    samples of a stream of T frames total ``T * hop_length``, as offline.

    Args:
        codec: a causal unchunked codec (the 24 kHz model); for chunked ones see ``ChunkedStreamingDecoder``.
    """

    def __init__(self, codec: EncodecCodec) -> None:
        _check_streamable(codec)
        super().__init__(codec)
        self.reset()

    def reset(self) -> None:
        """Forgets the current stream."""
        with torch.inference_mode():
            self._decoder = _Chain([_stage(m) for m in self.codec.model.decoder.layers])
        self._closed = False
        self.num_codebooks: int | None = None  # fixed by the first push
        self.num_frames = 0
        self.num_samples = 0

    @torch.inference_mode()
    def push(self, codes: CodeInput) -> torch.Tensor:
        """New frames' codes ``[K', t]`` (``AudioCodes`` or array; K' fixed per stream) -> audio ``[C, m]``."""
        self._check_open()
        checked = self.codec._as_codes(codes, 0).codes
        if self.num_codebooks is None:
            self.num_codebooks = checked.shape[0]
        elif checked.shape[0] != self.num_codebooks:
            raise AudiotokError(
                f"this stream decodes {self.num_codebooks} codebooks per frame, "
                f"got codes of shape {tuple(checked.shape)}"
            )
        self.num_frames += checked.shape[-1]
        if checked.shape[-1] == 0:
            return self._audio(None)
        embeddings = self.codec.model.quantizer.decode(checked[:, None].to(self.codec.device))  # [1, D, t]
        return self._audio(self._decoder.step(embeddings))

    @torch.inference_mode()
    def flush(self) -> torch.Tensor:
        """Ends the stream -> the samples still held back."""
        self._check_open()
        self._closed = True
        out = self._audio(self._decoder.finish())
        assert self.num_samples == self.num_frames * self.codec.hop_length
        return out

    def _audio(self, audio: torch.Tensor | None) -> torch.Tensor:
        if audio is None:
            return torch.zeros(self.codec.channels, 0)
        self.num_samples += audio.shape[-1]
        return audio[0].float().cpu()
