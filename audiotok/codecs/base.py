"""``AudioCodec``: the one interface every codec family implements, and what all families share.

A family is one folder under ``audiotok/codecs/`` holding a subclass of ``AudioCodec`` around its
transformers model, plus one line in ``registry.FAMILIES``. Everything a family knows of itself
(EnCodec's bandwidths and chunk scales, a model's private methods, its batching rule) stays in its
folder; callers see rates, codebook counts and batched encode/decode only.
"""

from __future__ import annotations

import abc
import functools
import math
import os
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from ..codec_spec import CodecSpec
from ..errors import AudioInputError, AudiotokError
from ..ids.codes import AudioCodes
from .loading import resolve_device

DEFAULT_MAX_BATCH_SECONDS = 64.0
DEFAULT_MAX_SEGMENT_SECONDS = 60.0  # clips (and codes) longer than this go through the family's segmented path

CodeInput = AudioCodes | np.ndarray | torch.Tensor


class StreamingNotSupportedError(AudiotokError):
    """The codec family cannot encode or decode incrementally."""


class AudioCodec(abc.ABC):
    """A codec family's model on a device and dtype, with exact batched encoding and trimmed decoding.

    Subclasses set ``model_type`` and ``model_class`` and implement ``describe``, ``num_frames``,
    ``encode_batch`` and ``decode_batch`` (and, if the family can stream, ``streaming_encoder`` and
    ``streaming_decoder``).

    Args:
        model: the transformers model.
        device: where it runs; CUDA when present by default. One this machine lacks raises ``AudiotokError``.
        dtype: float32 by default. Half precision changes codes: opt in knowingly.
        name: the hub id or directory it came from (for messages and configs).
    """

    model_type: ClassVar[str]
    model_class: ClassVar[Any]  # the transformers model class
    can_stream: ClassVar[bool] = False

    def __init__(
        self,
        model: Any,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        name: str = "",
    ) -> None:
        self.device = resolve_device(device)
        self.dtype = dtype
        self.model: Any = model.to(self.device, dtype).eval()
        self.name = name or str(getattr(model.config, "_name_or_path", ""))
        self.is_demo = bool(getattr(model.config, "audiotok_note", ""))
        self.max_segment_seconds: float | None = DEFAULT_MAX_SEGMENT_SECONDS

    # -- long clips in bounded memory (audiotok/codecs/segments.py) -------------------------------------
    @property
    def max_segment_seconds(self) -> float | None:
        """Clips and codes longer than this are encoded and decoded in segments of at most this much audio
        (activation memory bounded by it; codes equal whole-clip encoding up to float near-ties); None: whole."""
        return self._max_segment_seconds

    @max_segment_seconds.setter
    def max_segment_seconds(self, seconds: float | None) -> None:
        if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise AudiotokError(f"max_segment_seconds must be a positive number of seconds or None, got {seconds!r}")
        self._max_segment_seconds = None if seconds is None else float(seconds)

    @property
    def segment_frames(self) -> int | None:
        """Frames per segment under ``max_segment_seconds`` (at least 1), or None when unbounded."""
        if self._max_segment_seconds is None:
            return None
        return max(1, math.floor(self._max_segment_seconds * self.frame_rate))

    @property
    def has_segmented_path(self) -> bool:
        """Whether the family encodes long clips in segments: by default those that stream (the stream carries
        the state across segments); others override ``encode_segments``/``decode_segments`` and this."""
        return self.can_stream

    def needs_segments(self, num_frames: int) -> bool:
        """Whether a clip (or codes) of ``num_frames`` frames goes through the segmented path."""
        limit = self.segment_frames
        return limit is not None and num_frames > limit and self.has_segmented_path

    def encode_segments(self, wave: torch.Tensor, num_codebooks: int) -> AudioCodes:
        """One checked clip ``[C, L]`` -> its codes, a segment at a time (default: through the streaming encoder)."""
        from .segments import stream_encode

        return stream_encode(self, wave, num_codebooks)

    def decode_segments(self, codes: CodeInput) -> torch.Tensor:
        """One clip's codes -> audio ``[C, T * hop]``, a segment at a time (default: through the streaming decoder)."""
        from .segments import stream_decode

        return stream_decode(self, codes)

    # -- description ------------------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def describe(cls, model_config: Any) -> CodecSpec:
        """The codec's spec, from its transformers config alone (no weights needed)."""

    @functools.cached_property
    def spec(self) -> CodecSpec:
        return self.describe(self.model.config)

    @property
    def config(self) -> Any:
        """The transformers config of the model."""
        return self.model.config

    @property
    def sampling_rate(self) -> int:
        return self.spec.sampling_rate

    @property
    def output_sampling_rate(self) -> int:
        """The rate of decoded audio (differs from ``sampling_rate`` for some families)."""
        return self.spec.output_sampling_rate or self.spec.sampling_rate

    @property
    def channels(self) -> int:
        return self.spec.audio_channels

    @property
    def frame_rate(self) -> float:
        return self.spec.frame_rate

    @property
    def codebook_size(self) -> int:
        return self.spec.codebook_size

    @property
    def codebook_counts(self) -> tuple[int, ...]:
        return self.spec.codebook_counts

    @property
    def max_codebooks(self) -> int:
        return max(self.spec.codebook_counts)

    @property
    @abc.abstractmethod
    def hop_length(self) -> int:
        """Input samples per frame."""

    @abc.abstractmethod
    def num_frames(self, num_samples: int) -> int:
        """Frames the codec gives a clip of ``num_samples`` samples."""

    # -- encode and decode ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        num_codebooks: int,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        """Clips ``[C, L_i]`` at the codec's rate -> codes ``[num_codebooks, T_i]`` each, equal to encoding each
        clip alone up to float near-ties; a batch holds at most ``max_batch_seconds`` of (padded) audio."""

    @abc.abstractmethod
    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        """Codes ``[K', T_i]`` (any supported K' up to the maximum) -> audio ``[C, L_i]`` float32 on the CPU,
        cut to ``lengths`` when given."""

    def encode(self, wave: np.ndarray | torch.Tensor, num_codebooks: int) -> AudioCodes:
        """One clip ``[C, L]`` -> its codes ``[num_codebooks, T]``."""
        return self.encode_batch([wave], num_codebooks)[0]

    def decode(self, codes: CodeInput, length: int | None = None) -> torch.Tensor:
        """One clip's codes -> audio ``[C, L]``, cut to ``length`` samples when given."""
        return self.decode_batch([codes], None if length is None else [length])[0]

    # -- streaming (families that can stream override these) -------------------------------------------------
    def streaming_encoder(self, num_codebooks: int) -> Any:
        """An encoder taking audio as it arrives (``push(samples) -> AudioCodes``, ``flush()``)."""
        raise StreamingNotSupportedError(self._no_streaming())

    def streaming_decoder(self) -> Any:
        """A decoder taking codes as they arrive (``push(codes) -> samples``, ``flush()``)."""
        raise StreamingNotSupportedError(self._no_streaming())

    def _no_streaming(self) -> str:
        return (
            f"the {self.model_type} codec cannot stream: its encoder and decoder see future samples (non-causal), "
            "so codes of a prefix change as more audio arrives; encode whole clips instead"
        )

    # -- saving ----------------------------------------------------------------------------------------------
    def save_pretrained(self, directory: Any) -> None:
        """Writes the model's weights and ``config.json`` (``from_pretrained`` of the directory loads it back)."""
        self.model.save_pretrained(directory)

    # -- checks every family shares ---------------------------------------------------------------------
    def check_wave(self, wave: np.ndarray | torch.Tensor, index: int) -> torch.Tensor:
        """A clip as a ``[C, L]`` tensor, or a clear error (wrong shape, empty, NaN/Inf)."""
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

    def check_num_codebooks(self, num_codebooks: int) -> None:
        if num_codebooks not in self.codebook_counts:
            raise AudiotokError(
                f"the {self.model_type} codec cannot encode with {num_codebooks} codebooks; "
                f"select one of {list(self.codebook_counts)}"
            )

    def check_codes(self, codes: CodeInput, index: int) -> torch.Tensor:
        """A clip's codes as an int64 ``[K', T]`` CPU tensor with 1 <= K' <= max_codebooks, values in range."""
        array = codes.codes if isinstance(codes, AudioCodes) else codes
        tensor = torch.as_tensor(np.asarray(array) if not isinstance(array, torch.Tensor) else array)
        tensor = tensor.to(torch.int64).cpu()
        if tensor.ndim != 2 or not 1 <= tensor.shape[0] <= self.max_codebooks:
            shape = tuple(tensor.shape)
            expected = f"[codebooks (1..{self.max_codebooks}), frames]"
            raise AudiotokError(f"codes {index}: expected shape {expected}, got {shape}")
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= self.codebook_size):
            raise AudiotokError(f"codes {index}: values must lie in [0, {self.codebook_size})")
        return tensor

    def to_device(self, batch: torch.Tensor) -> torch.Tensor:
        """Host -> device; pinned and non-blocking on CUDA so the copy overlaps queued work."""
        if self.device.type != "cuda":
            return batch
        return batch.pin_memory().to(self.device, non_blocking=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, device={self.device}, dtype={self.dtype})"


def _one_thread_after_fork() -> None:
    """In a forked child, run torch ops on the calling thread: the parent's intra-op thread pool does not
    survive fork, and the child's first multithreaded op would wait on it forever (datasets.map with
    num_proc, DataLoader workers, multiprocessing pools)."""
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):  # POSIX; this module body runs once per process
    os.register_at_fork(after_in_child=_one_thread_after_fork)
