"""``Codec``: the one wrapper around ``transformers.EncodecModel``: loading, batched encode, decode.

Batching contract (24 kHz and other unchunked, causal models): every clip is padded with zeros
to a whole number of codec frames (``hop_length`` samples) before encoding, alone or in a batch.
The encoder is causal, so frame t depends only on samples before its end, and the zeros a batch
adds after a clip's padded end cannot reach its frames: a clip's codes are the same in every
batch. They equal ``EncodecModel.encode`` of the zero-padded clip; against ``EncodecModel.encode``
of the raw clip, only the last frame of a clip whose length is not a multiple of ``hop_length``
can differ (the bare model pads that frame by reflection). The one exception is a float near-tie:
batch size changes CPU kernels' rounding by ~1e-7, which can flip a code whose two nearest
codewords are equally near (measured rate in the README).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import EncodecModel
from transformers.models.encodec.modeling_encodec import EncodecConv1d

from .demo_codec import DEMO_MODEL_NAME, DEMO_NOTE, demo_codec_dir
from .errors import AudioInputError, AudiotokError

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SECONDS = 64.0


class CodecLoadError(AudiotokError, OSError):
    """A codec checkpoint could not be loaded; the message says how to get one."""


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _load_model(name_or_path: str) -> EncodecModel:
    try:
        return EncodecModel.from_pretrained(name_or_path)
    except (OSError, ValueError) as error:
        where = "local directory" if os.path.isdir(name_or_path) else "hub id"
        raise CodecLoadError(
            f"could not load the EnCodec checkpoint {name_or_path!r} ({where}): {error}\n"
            "Without internet access, download it on a connected machine "
            f"(`hf download {name_or_path} --local-dir DIR`), copy DIR here and pass DIR as the model; "
            f"or try the untrained demo codec with model '{DEMO_MODEL_NAME}' ({DEMO_NOTE})."
        ) from error


class Codec:
    """An ``EncodecModel`` on a chosen device and dtype, with exact batched encoding and trimmed decoding.

    Args:
        model: the EnCodec model.
        device: where it runs; CUDA when present by default.
        dtype: float32 by default. bfloat16/float16 change codes (DESIGN.md fact 4): opt in knowingly.
        name: the hub id or directory it came from (for messages and configs).
    """

    def __init__(
        self,
        model: EncodecModel,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        name: str = "",
    ) -> None:
        config = model.config
        if config.chunk_length is not None:
            raise AudiotokError(
                f"{name or 'this checkpoint'} is a chunked EnCodec (chunk_length_s={config.chunk_length_s}, e.g. "
                "facebook/encodec_48khz); chunked models need scale tokens, which this audiotok does not support yet. "
                "Use an unchunked checkpoint such as facebook/encodec_24khz."
            )
        self.device = torch.device(device) if device is not None else default_device()
        self.dtype = dtype
        self.model: Any = model.to(self.device, dtype).eval()  # type: ignore[arg-type]
        self.name = name or str(getattr(config, "_name_or_path", ""))
        self.is_demo = bool(getattr(config, "audiotok_note", ""))

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str],
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Codec:
        """Loads a hub id or a local directory; ``"demo"`` builds (once) the untrained demo codec."""
        name = str(name_or_path)
        if name == DEMO_MODEL_NAME:
            logger.warning("using the %s", DEMO_NOTE)
            return cls(_load_model(str(demo_codec_dir())), device, dtype, name=DEMO_MODEL_NAME)
        return cls(_load_model(name), device, dtype, name=name)

    # -- properties read from the model's config ---------------------------------------------------------
    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def sampling_rate(self) -> int:
        return int(self.config.sampling_rate)

    @property
    def channels(self) -> int:
        return int(self.config.audio_channels)

    @property
    def hop_length(self) -> int:
        return int(self.config.hop_length)

    @property
    def frame_rate(self) -> int:
        return int(self.config.frame_rate)

    @property
    def codebook_size(self) -> int:
        return int(self.config.codebook_size)

    @property
    def bandwidths(self) -> list[float]:
        return [float(b) for b in self.config.target_bandwidths]

    @property
    def is_causal(self) -> bool:
        return bool(self.config.use_causal_conv)

    def num_codebooks(self, bandwidth: float) -> int:
        self._check_bandwidth(bandwidth)
        return int(self.model.quantizer.get_num_quantizers_for_bandwidth(bandwidth))

    def num_frames(self, num_samples: int) -> int:
        """Frames of a clip of ``num_samples`` samples: ceil(num_samples / hop_length)."""
        return -(-num_samples // self.hop_length)

    def _check_bandwidth(self, bandwidth: float) -> None:
        if float(bandwidth) not in self.bandwidths:
            raise AudiotokError(
                f"the codec doesn't support bandwidth {bandwidth} kbps; select one of {self.bandwidths}"
            )

    # -- encode --------------------------------------------------------------------------------------------
    def encode(self, wave: np.ndarray | torch.Tensor, bandwidth: float) -> torch.Tensor:
        """One clip ``[C, L]`` at the codec's rate and channels -> codes ``[K, ceil(L / hop)]`` (int64, CPU)."""
        return self.encode_batch([wave], bandwidth)[0]

    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        bandwidth: float,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        """Clips ``[C, L_i]`` -> codes ``[K, T_i]``, equal to encoding each clip alone (see the module docstring).

        Clips are sorted by length and grouped so that a batch holds at most ``max_batch_seconds``
        of padded audio (a lone longer clip forms its own batch).
        """
        self._check_bandwidth(bandwidth)
        tensors = [self._as_input(wave, index) for index, wave in enumerate(waves)]
        codes: list[torch.Tensor | None] = [None] * len(tensors)
        for batch in self._length_batches([t.shape[-1] for t in tensors], max_batch_seconds):
            for index, clip_codes in zip(batch, self._encode_padded([tensors[i] for i in batch], bandwidth)):
                codes[index] = clip_codes
        return [c for c in codes if c is not None]

    def _as_input(self, wave: np.ndarray | torch.Tensor, index: int) -> torch.Tensor:
        tensor = torch.as_tensor(wave)
        if tensor.ndim != 2 or tensor.shape[0] != self.channels:
            raise AudioInputError(
                f"clip {index}: the codec takes [{self.channels}, samples] audio, got shape {tuple(tensor.shape)}; "
                "load it with audiotok.audio.load_audio"
            )
        if tensor.shape[-1] == 0:
            raise AudioInputError(f"clip {index} is empty (0 samples)")
        if not torch.isfinite(tensor).all():
            raise AudioInputError(f"clip {index} holds NaN or Inf samples")
        return tensor

    def _length_batches(self, lengths: list[int], max_batch_seconds: float) -> list[list[int]]:
        """Groups clip indices, sorted by length, into batches of bounded padded size."""
        budget = max_batch_seconds * self.sampling_rate
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        batches: list[list[int]] = []
        for index in order:
            padded = self.num_frames(lengths[index]) * self.hop_length
            current = batches[-1] if batches else None
            fits = current is not None and padded * (len(current) + 1) <= budget
            same_length = current is not None and self.num_frames(lengths[current[0]]) == self.num_frames(
                lengths[index]
            )
            shortest = lengths[current[0]] if current else 0
            if current is not None and fits and (same_length or self._pads_are_invisible(shortest)):
                current.append(index)
            else:
                batches.append([index])
        return batches

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
        batch = torch.zeros(len(clips), self.channels, max(frames) * self.hop_length, dtype=self.dtype)
        for row, clip in zip(batch, clips):
            row[:, : clip.shape[-1]] = clip
        batch = batch.to(self.device, non_blocking=True)
        codes = self.model.encode(batch, bandwidth=bandwidth).audio_codes[0].to("cpu", torch.int64)
        return [codes[i, :, :t].clone() for i, t in enumerate(frames)]

    # -- decode --------------------------------------------------------------------------------------------
    def decode(self, codes: np.ndarray | torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Codes ``[K', T]`` (any K' <= the codec's codebooks; 1 = first quantizer only) -> audio ``[C, L]``.

        The audio is ``T * hop_length`` samples long, cut to ``length`` when given.
        """
        return self.decode_batch([codes], None if length is None else [length])[0]

    def decode_batch(
        self,
        codes: Sequence[np.ndarray | torch.Tensor],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        """Decodes code arrays ``[K'_i, T_i]`` in length-sorted padded batches -> audio ``[C, L_i]``."""
        tensors = [self._as_codes(c, i) for i, c in enumerate(codes)]
        waves: list[torch.Tensor] = [torch.zeros(self.channels, 0)] * len(tensors)
        for num_codebooks in {t.shape[0] for t in tensors}:
            members = [i for i, t in enumerate(tensors) if t.shape[0] == num_codebooks]
            samples = [tensors[i].shape[-1] * self.hop_length for i in members]
            for batch in self._length_batches(samples, max_batch_seconds):
                indices = [members[j] for j in batch]
                for index, wave in zip(indices, self._decode_padded([tensors[i] for i in indices])):
                    waves[index] = wave if lengths is None else wave[:, : lengths[index]]
        return waves

    @torch.inference_mode()
    def _decode_padded(self, codes: list[torch.Tensor]) -> list[torch.Tensor]:
        frames = [c.shape[-1] for c in codes]
        if max(frames) == 0:
            return [torch.zeros(self.channels, 0) for _ in codes]
        batch = torch.zeros(len(codes), codes[0].shape[0], max(frames), dtype=torch.int64)
        for row, clip_codes in zip(batch, codes):
            row[:, : clip_codes.shape[-1]] = clip_codes
        audio = self.model.decode(batch[None].to(self.device), [None]).audio_values
        return [row[:, : t * self.hop_length].float().cpu() for row, t in zip(audio, frames)]

    def _as_codes(self, codes: np.ndarray | torch.Tensor, index: int) -> torch.Tensor:
        tensor = torch.as_tensor(np.asarray(codes) if not isinstance(codes, torch.Tensor) else codes).to(torch.int64)
        max_codebooks = len(self.model.quantizer.layers)
        if tensor.ndim != 2 or not 1 <= tensor.shape[0] <= max_codebooks:
            raise AudiotokError(
                f"codes {index}: expected shape [codebooks (1..{max_codebooks}), frames], got {tuple(tensor.shape)}"
            )
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= self.codebook_size):
            raise AudiotokError(f"codes {index}: values must lie in [0, {self.codebook_size})")
        return tensor.cpu()
