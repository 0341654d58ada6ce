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

Chunked models (48 kHz: 1 s chunks every 0.99 s, each normalised by its own RMS scale) are batched
at the level of chunks: every chunk of every clip is encoded on its own terms (its own samples, its
own scale), chunks of identical length share a batch, and nothing is ever padded, so a clip's codes
and scales are exactly those of encoding it alone. ``EncodecModel.encode`` on a padded batch would
compute the shorter clips' last-chunk scale over the padding (DESIGN.md, fact 3).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from transformers import EncodecModel
from transformers.models.encodec.modeling_encodec import EncodecConv1d

from .demo_codec import DEMO_MODEL_NAME, DEMO_NOTE, demo_codec_dir
from .errors import AudioInputError, AudiotokError
from .loading import CodecLoadError as CodecLoadError  # re-exported: it lived here first
from .loading import load_model, resolve_device

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SECONDS = 64.0


@dataclass
class AudioCodes:
    """One clip's codec output.

    The codec returns torch tensors; ``AudioTokenizer.ids_to_codes`` returns numpy arrays.

    Attributes:
        codes: ``[K, T]`` int64 RVQ codes (for chunked models the chunks' frames, concatenated).
        scales: ``[num_chunks]`` float32 per-chunk RMS scales (chunked models only, else None).
        chunk_frames: ``[num_chunks]`` frames of each chunk, summing to T (chunked models only). A
            chunk is usually ``frames_per_chunk`` frames, but a clip's last two can be shorter.
    """

    codes: torch.Tensor | np.ndarray
    scales: torch.Tensor | np.ndarray | None = None
    chunk_frames: torch.Tensor | np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return int(self.codes.shape[-1])


CodeInput = AudioCodes | np.ndarray | torch.Tensor


class _Checked(NamedTuple):
    """Validated codes as CPU tensors (see ``Codec._as_codes``)."""

    codes: torch.Tensor
    scales: torch.Tensor | None
    chunk_frames: torch.Tensor | None

    @property
    def num_frames(self) -> int:
        return int(self.codes.shape[-1])


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return resolve_device(None)


def _one_thread_after_fork() -> None:
    """In a forked child, run torch ops on the calling thread: the parent's intra-op thread pool does not
    survive fork, and the child's first multithreaded op would wait on it forever (datasets.map with
    num_proc, DataLoader workers, multiprocessing pools)."""
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):  # POSIX; this module body runs once per process
    os.register_at_fork(after_in_child=_one_thread_after_fork)


class Codec:
    """An ``EncodecModel`` on a chosen device and dtype, with exact batched encoding and trimmed decoding.

    Args:
        model: the EnCodec model.
        device: where it runs; CUDA when present by default. One this machine lacks raises ``AudiotokError``.
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
        self.device = resolve_device(device)
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
        """Loads a hub id or a local directory; ``"demo"`` builds (once) the untrained demo codec.

        The device is checked before anything loads; loading fails fast offline (``audiotok.loading``).
        """
        name = str(name_or_path)
        resolve_device(device)
        if name == DEMO_MODEL_NAME:
            logger.warning("using the %s", DEMO_NOTE)
            return cls(load_model(str(demo_codec_dir())), device, dtype, name=DEMO_MODEL_NAME)
        return cls(load_model(name), device, dtype, name=name)

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

    def num_codebooks(self, bandwidth: float) -> int:
        self._check_bandwidth(bandwidth)
        return int(self.model.quantizer.get_num_quantizers_for_bandwidth(bandwidth))

    def num_frames(self, num_samples: int) -> int:
        """Frames of a clip: ceil(num_samples / hop_length), summed over the chunks of a chunked model."""
        return sum(self.chunk_frames(num_samples))

    def chunk_frames(self, num_samples: int) -> list[int]:
        """Frames of each chunk of a clip (one "chunk" for unchunked models)."""
        lengths = [min(self.chunk_length or num_samples, num_samples - o) for o in self.chunk_offsets(num_samples)]
        return [-(-length // self.hop_length) for length in lengths]

    def _check_bandwidth(self, bandwidth: float) -> None:
        if float(bandwidth) not in self.bandwidths:
            raise AudiotokError(
                f"the codec doesn't support bandwidth {bandwidth} kbps; select one of {self.bandwidths}"
            )

    # -- encode --------------------------------------------------------------------------------------------
    def encode(self, wave: np.ndarray | torch.Tensor, bandwidth: float) -> AudioCodes:
        """One clip ``[C, L]`` at the codec's rate and channels -> its codes ``[K, T]`` (and chunk scales)."""
        return self.encode_batch([wave], bandwidth)[0]

    def encode_batch(
        self,
        waves: Sequence[np.ndarray | torch.Tensor],
        bandwidth: float,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[AudioCodes]:
        """Clips ``[C, L_i]`` -> codes ``[K, T_i]``, equal to encoding each clip alone (see the module docstring).

        Clips (chunks, for chunked models) are sorted by length and grouped so that a batch holds at
        most ``max_batch_seconds`` of padded audio (a lone longer clip forms its own batch).
        """
        self._check_bandwidth(bandwidth)
        tensors = [self._as_input(wave, index) for index, wave in enumerate(waves)]
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
            stacked = self._to_device(torch.stack([pieces[i][1] for i in batch]).to(self.dtype))
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

    def _length_batches(self, lengths: list[int], max_batch_seconds: float, pad_ok: bool) -> list[list[int]]:
        """Groups indices, sorted by length, into batches of at most ``max_batch_seconds`` of padded audio.

        Items of different lengths share a batch only where ``pad_ok`` and padding provably changes
        nothing (``_pads_are_invisible``); otherwise a batch holds items of one exact length.
        """
        budget = max_batch_seconds * self.sampling_rate
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        batches: list[list[int]] = []
        for index in order:
            current = batches[-1] if batches else None
            if current is not None:
                shortest, length = lengths[current[0]], lengths[index]
                padded = self.num_frames(length) * self.hop_length if pad_ok else length
                fits = padded * (len(current) + 1) <= budget
                if pad_ok:
                    alike = self.num_frames(shortest) == self.num_frames(length) or self._pads_are_invisible(shortest)
                else:
                    alike = shortest == length
                if fits and alike:
                    current.append(index)
                    continue
            batches.append([index])
        return batches

    def _to_device(self, batch: torch.Tensor) -> torch.Tensor:
        """Host -> device; pinned and non-blocking on CUDA so the copy overlaps queued work."""
        if self.device.type != "cuda":
            return batch
        return batch.pin_memory().to(self.device, non_blocking=True)

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
        batch = self._to_device(batch)
        codes = self.model.encode(batch, bandwidth=bandwidth).audio_codes[0].to("cpu", torch.int64)
        return [codes[i, :, :t].clone() for i, t in enumerate(frames)]

    # -- decode --------------------------------------------------------------------------------------------
    def decode(self, codes: CodeInput, length: int | None = None) -> torch.Tensor:
        """Codes ``[K', T]`` (any K' <= the codec's codebooks; 1 = first quantizer only) -> audio ``[C, L]``.

        Chunked models need the chunk scales (pass the ``AudioCodes``). The audio is as long as the
        frames cover (``T * hop_length`` unchunked), cut to ``length`` when given.
        """
        return self.decode_batch([codes], None if length is None else [length])[0]

    def decode_batch(
        self,
        codes: Sequence[CodeInput],
        lengths: Sequence[int] | None = None,
        max_batch_seconds: float = DEFAULT_MAX_BATCH_SECONDS,
    ) -> list[torch.Tensor]:
        """Decodes several clips' codes in length-sorted batches -> audio ``[C, L_i]``."""
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
        for num_codebooks in sorted({c.shape[0] for c in codes}):
            members = [i for i, c in enumerate(codes) if c.shape[0] == num_codebooks]
            samples = [codes[i].shape[-1] * self.hop_length for i in members]
            for batch in self._length_batches(samples, max_batch_seconds, pad_ok=pad_ok):
                yield [members[j] for j in batch]

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

    def _as_codes(self, codes: CodeInput, index: int) -> _Checked:
        item = codes if isinstance(codes, AudioCodes) else AudioCodes(torch.as_tensor(np.asarray(codes)))
        tensor = torch.as_tensor(item.codes).to(torch.int64).cpu()
        max_codebooks = len(self.model.quantizer.layers)
        if tensor.ndim != 2 or not 1 <= tensor.shape[0] <= max_codebooks:
            raise AudiotokError(
                f"codes {index}: expected shape [codebooks (1..{max_codebooks}), frames], got {tuple(tensor.shape)}"
            )
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) >= self.codebook_size):
            raise AudiotokError(f"codes {index}: values must lie in [0, {self.codebook_size})")
        scales = None if item.scales is None else torch.as_tensor(item.scales, dtype=torch.float32).flatten().cpu()
        if not self.is_chunked:
            return _Checked(tensor, None, None)
        chunk_frames = item.chunk_frames
        if chunk_frames is None:  # default: whole chunks, the last one partial
            full, rest = divmod(tensor.shape[-1], self.frames_per_chunk)
            chunk_frames = torch.tensor([self.frames_per_chunk] * full + ([rest] if rest else []))
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
