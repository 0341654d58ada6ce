"""Mimi streaming: transformers' own streaming encoder fed whole frames; a decoder that carries conv state.

``MimiStreamingEncoder`` runs ``MimiModel.encode(..., use_streaming=True)`` with the padding and
attention caches it returns, on whole frames only (a buffer holds the rest; pieces that are not whole
frames make the model drop or reject samples), and ``flush()`` zero-pads the last partial frame as
``MimiCodec.encode_batch`` does: the codes equal offline encoding of the whole clip.

transformers caches only the decoder's attention, not its convolutions, so ``MimiStreamingDecoder``
runs the model's own decoder modules in order and carries, between calls, each causal convolution's
last ``padding_total`` inputs (zeros at the start: Mimi pads with constants), each transposed
convolution's overlap tail (its bias added once), and the transformer's cache. With
``trim_right_ratio = 1`` every sample it emits is final: one frame in, 1920 samples out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.models.mimi.modeling_mimi import MimiConv1d, MimiConvTranspose1d, MimiResnetBlock

from ...errors import AudioInputError, AudiotokError
from ...ids.codes import AudioCodes
from ..base import StreamingNotSupportedError

if TYPE_CHECKING:
    from .codec import MimiCodec


class MimiStreamingEncoder:
    """``push(samples [C, n])`` -> codes of every frame completed; ``flush()`` -> the last, zero-padded frame."""

    def __init__(self, codec: MimiCodec, num_codebooks: int) -> None:
        self.codec, self.num_codebooks = codec, num_codebooks
        self.reset()

    def reset(self) -> None:
        self._buffer = torch.zeros(self.codec.channels, 0)
        self._padding_cache: Any = None
        self._cache: Any = None
        self.num_samples = 0
        self._closed = False

    def _run(self, x: torch.Tensor) -> AudioCodes:
        with torch.inference_mode():
            out = self.codec.model.encode(
                x[None].to(self.codec.device, self.codec.dtype),
                num_quantizers=self.num_codebooks,
                use_streaming=True,
                padding_cache=self._padding_cache,
                encoder_cache=self._cache,
            )
        self._padding_cache, self._cache = out.padding_cache, out.encoder_cache
        return AudioCodes(out.audio_codes[0].to("cpu", torch.int64))

    def push(self, samples: np.ndarray | torch.Tensor) -> AudioCodes:
        if self._closed:
            raise AudiotokError("push() after flush(): call reset() to start a new stream")
        x = torch.as_tensor(samples, dtype=torch.float32)
        x = x[None] if x.ndim == 1 else x
        if x.ndim != 2 or x.shape[0] != self.codec.channels:
            raise AudioInputError(f"pushed samples must be [{self.codec.channels}, n], got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise AudioInputError("pushed samples hold NaN or Inf")
        self._buffer = torch.cat([self._buffer, x], dim=-1)
        self.num_samples += x.shape[-1]
        whole = self._buffer.shape[-1] - self._buffer.shape[-1] % self.codec.hop_length
        if whole == 0:
            return AudioCodes(torch.zeros(self.num_codebooks, 0, dtype=torch.int64))
        ready, self._buffer = self._buffer[:, :whole], self._buffer[:, whole:]
        return self._run(ready)

    def flush(self) -> AudioCodes:
        """Ends the clip: zero-pads the last partial frame (as offline encoding does) -> its codes."""
        if self._closed:
            raise AudiotokError("flush() twice: call reset() to start a new stream")
        self._closed = True
        rest = self._buffer.shape[-1]
        if rest == 0:
            return AudioCodes(torch.zeros(self.num_codebooks, 0, dtype=torch.int64))
        return self._run(F.pad(self._buffer, (0, self.codec.hop_length - rest)))


class MimiStreamingDecoder:
    """``push(codes [K, t])`` -> the ``t * 1920`` samples they complete (final); ``flush()`` -> nothing more."""

    def __init__(self, codec: MimiCodec) -> None:
        if not (codec.config.use_causal_conv and float(codec.config.trim_right_ratio) == 1.0):
            raise StreamingNotSupportedError("Mimi streaming decoding needs causal convolutions and trim_right_ratio 1")
        self.codec = codec
        self.reset()

    def reset(self) -> None:
        self._state: dict[int, torch.Tensor] = {}
        self._cache: Any = None
        self._codebooks: int | None = None
        self._closed = False

    def push(self, codes: AudioCodes | np.ndarray | torch.Tensor) -> torch.Tensor:
        if self._closed:
            raise AudiotokError("push() after flush(): call reset() to start a new stream")
        checked = self.codec.check_codes(codes, 0)
        if checked.shape[-1] == 0:
            return torch.zeros(self.codec.channels, 0)
        if self._codebooks is None:
            self._codebooks = checked.shape[0]
        elif checked.shape[0] != self._codebooks:
            raise AudiotokError(f"codes have {checked.shape[0]} codebooks; this stream started with {self._codebooks}")
        decoder = self.codec.model.decoder
        with torch.inference_mode():
            h = self.codec.model.quantizer.decode(checked[None].to(self.codec.device))
            h = self._transposed(decoder.upsample, h)
            out = decoder.decoder_transformer(h.transpose(1, 2), cache=self._cache, use_cache=True)
            self._cache = out.cache
            h = out.last_hidden_state.transpose(1, 2)
            for layer in decoder.decoder_seanet.layers:
                h = self._layer(layer, h)
        return h[0].float().cpu()

    def flush(self) -> torch.Tensor:
        if self._closed:
            raise AudiotokError("flush() twice: call reset() to start a new stream")
        self._closed = True
        return torch.zeros(self.codec.channels, 0)  # every emitted sample was already final

    def _layer(self, layer: Any, h: torch.Tensor) -> torch.Tensor:
        if isinstance(layer, MimiConv1d):
            return self._conv(layer, h)
        if isinstance(layer, MimiConvTranspose1d):
            return self._transposed(layer, h)
        if isinstance(layer, MimiResnetBlock):
            y = h
            for sub in layer.block:
                y = self._layer(sub, y)
            shortcut = self._conv(layer.shortcut, h) if isinstance(layer.shortcut, MimiConv1d) else layer.shortcut(h)
            return shortcut + y
        return layer(h)  # pointwise (ELU)

    def _conv(self, module: MimiConv1d, x: torch.Tensor) -> torch.Tensor:
        pad = int(module.padding_total)
        if module.pad_mode != "constant":
            raise StreamingNotSupportedError(f"cannot stream a decoder convolution with pad_mode {module.pad_mode!r}")
        previous = self._state.get(id(module))
        if previous is None:
            previous = x.new_zeros(x.shape[0], x.shape[1], pad)
        full = torch.cat([previous, x], dim=-1)
        self._state[id(module)] = full[:, :, full.shape[-1] - pad :]
        return module.conv(full)

    def _transposed(self, module: MimiConvTranspose1d, x: torch.Tensor) -> torch.Tensor:
        conv = module.conv
        stride = conv.stride[0]
        y = F.conv_transpose1d(x, conv.weight, None, stride, 0, 0, conv.groups)
        tail = self._state.get(id(module))
        if tail is not None:
            y[:, :, : tail.shape[-1]] += tail
        emitted = x.shape[-1] * stride
        self._state[id(module)] = y[:, :, emitted:]
        out = y[:, :, :emitted]
        return out + conv.bias[None, :, None] if conv.bias is not None else out
