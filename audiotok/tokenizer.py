"""``AudioTokenizer`` = config + codec + layout: audio <-> LLM ids, in Hugging Face conventions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .audio import AudioSource, load_audio
from .codecs.base import DEFAULT_MAX_SEGMENT_SECONDS, AudioCodec, CodeInput
from .codecs.registry import load_codec
from .config import CONFIG_NAME, DEFAULT_CODEC, TokenizerConfig
from .ids.codes import AudioCodes
from .ids.detokenize import Errors
from .ids.layouts import get_layout

ReturnTensors = Literal["np", "pt"]
IdsLike = np.ndarray | torch.Tensor | Sequence[int]


def _as_return(array: np.ndarray | torch.Tensor, return_tensors: ReturnTensors) -> Any:
    if return_tensors == "np":
        return array.numpy() if isinstance(array, torch.Tensor) else array
    if return_tensors == "pt":
        return array if isinstance(array, torch.Tensor) else torch.from_numpy(array)
    raise ValueError(f"return_tensors must be 'np' or 'pt', got {return_tensors!r}")


class AudioTokenizer:
    """Encodes audio to LLM ids and decodes ids (or a whole mixed text+audio output) back to audio.

    Args:
        config: the id layout; must describe ``codec`` (checked).
        codec: the loaded codec, of any family.
    """

    def __init__(self, config: TokenizerConfig, codec: AudioCodec) -> None:
        config.check_codec(codec.spec)
        self.config = config
        self.codec = codec
        self.vocab = config.vocab
        self.layout = get_layout(config.layout)
        self.id_format = config.id_format

    # -- loading and saving -----------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike[str] = DEFAULT_CODEC,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        max_segment_seconds: float | None = DEFAULT_MAX_SEGMENT_SECONDS,
        **config_changes: Any,
    ) -> AudioTokenizer:
        """Loads a saved tokenizer directory, an audiotok config JSON, or a bare codec checkpoint (hub id or directory).

        The codec family comes from the checkpoint's ``config.json`` (``model_type``). A directory saved by
        ``save_pretrained`` holds both the config and the codec weights. A config JSON loads the codec its
        ``codec`` field names. A bare codec gets its default config (the family's default codebook count,
        interleaved, offset 0). ``config_changes`` (e.g. ``num_codebooks=4, layout="delayed",
        vocab_offset=32000``; EnCodec also takes ``bandwidth=3.0``) are applied on top and validated.
        Clips and codes longer than ``max_segment_seconds`` are encoded and decoded in segments, in memory bounded
        by it (``None``: whole clips); ids equal whole-clip encoding up to float near-ties (``AudioCodec``).
        """
        path = Path(name_or_path)
        config: TokenizerConfig | None = None
        codec_source = str(name_or_path)
        if path.is_dir() and (path / CONFIG_NAME).exists():
            config = TokenizerConfig.from_pretrained(path)
            codec_source = str(path) if (path / "config.json").exists() else config.codec
        elif path.is_file():
            config = TokenizerConfig.from_pretrained(path)
            codec_source = config.codec
        codec = load_codec(codec_source, device=device, dtype=dtype)
        codec.max_segment_seconds = max_segment_seconds
        if config is None:
            config = TokenizerConfig.for_codec(codec_source, codec.spec)
        if config_changes:
            config = config.replace(**config_changes)
        return cls(config, codec)

    def save_pretrained(self, directory: str | os.PathLike[str], save_codec: bool = True) -> Path:
        """Writes the config (and, with ``save_codec``, the codec weights); ``from_pretrained`` gives identical ids."""
        directory = Path(directory)
        self.config.save_pretrained(directory)
        if save_codec:
            self.codec.save_pretrained(directory)
        return directory

    # -- ids <-> codes (no codec work) ------------------------------------------------------------------
    def codes_to_ids(self, codes: CodeInput, add_special_tokens: bool = True) -> np.ndarray:
        """Codes ``[K, T]`` (an ``AudioCodes`` with chunk scales for chunked codecs) -> ids ``[L]`` in the config's
        layout, framed by <|audio_start|> and <|audio_end|> with ``add_special_tokens``."""
        return self.id_format.codes_to_ids(codes, add_special_tokens)

    def ids_to_codes(self, ids: IdsLike, errors: Errors = "strict") -> list[AudioCodes]:
        """Every audio span of ``ids`` (bare, or framed among text ids) -> its codes ``[K', T]`` (numpy), in order.

        For chunked codecs each ``AudioCodes`` also holds the chunk scales and chunk lengths.
        """
        return self.id_format.ids_to_codes(ids, errors)

    # -- encode -------------------------------------------------------------------------------------------
    def encode(
        self,
        audio: AudioSource,
        sampling_rate: int | None = None,
        *,
        add_special_tokens: bool = True,
        return_tensors: ReturnTensors = "np",
    ) -> Any:
        """One clip (path, array ``[L]``/``[C, L]``, tensor or list) -> ids ``[L_ids]`` (int64)."""
        return self.encode_batch(
            [audio], sampling_rate, add_special_tokens=add_special_tokens, return_tensors=return_tensors
        )[0]

    def encode_batch(
        self,
        audios: Sequence[AudioSource],
        sampling_rate: int | Sequence[int | None] | None = None,
        *,
        add_special_tokens: bool = True,
        return_tensors: ReturnTensors = "np",
    ) -> list[Any]:
        """Several clips -> one id array each, encoded in length-sorted batches that change no id."""
        return [
            _as_return(self.codes_to_ids(codes, add_special_tokens), return_tensors)
            for codes in self.encode_codes_batch(audios, sampling_rate)
        ]

    def encode_codes_batch(
        self, audios: Sequence[AudioSource], sampling_rate: int | Sequence[int | None] | None = None
    ) -> list[AudioCodes]:
        """Several clips -> codes ``[K, T_i]`` (and chunk scales) with the config's number of codebooks."""
        if isinstance(audios, (str, os.PathLike, np.ndarray, torch.Tensor)):
            raise TypeError("encode_batch takes a sequence of clips; use encode for one clip")
        rates = list(sampling_rate) if isinstance(sampling_rate, Sequence) else [sampling_rate] * len(audios)
        if len(rates) != len(audios):
            raise ValueError(f"got {len(rates)} sampling rates for {len(audios)} clips")
        waves = [self.load(audio, rate, name=f"clip {i}") for i, (audio, rate) in enumerate(zip(audios, rates))]
        return self.codec.encode_batch(waves, self.config.num_codebooks)

    def load(self, audio: AudioSource, sampling_rate: int | None = None, name: str | None = None) -> np.ndarray:
        """Any audio source -> float32 ``[channels, samples]`` at the codec's rate and channel count, validated."""
        if isinstance(audio, (str, os.PathLike)):
            name = None  # errors name the path
        return load_audio(audio, sampling_rate, self.codec.sampling_rate, self.codec.channels, name=name)

    # -- decode -------------------------------------------------------------------------------------------
    def decode(self, ids: IdsLike, errors: Errors = "strict", return_tensors: ReturnTensors = "np") -> Any:
        """Ids -> audio ``[C, samples]`` float32 at ``config.output_sampling_rate``; spans are joined in order."""
        waves = self.decode_spans(ids, errors=errors, return_tensors="pt")
        joined = torch.cat(waves, dim=-1) if waves else torch.zeros(self.codec.channels, 0)
        return _as_return(joined, return_tensors)

    def decode_spans(self, ids: IdsLike, errors: Errors = "strict", return_tensors: ReturnTensors = "np") -> list[Any]:
        """Ids -> one waveform ``[C, samples]`` per audio span, in order (text ids between spans are skipped)."""
        return [_as_return(w, return_tensors) for w in self.codec.decode_batch(self.ids_to_codes(ids, errors))]

    def decode_batch(
        self, batch: Sequence[IdsLike], errors: Errors = "strict", return_tensors: ReturnTensors = "np"
    ) -> list[Any]:
        """Several id sequences -> one waveform each (``decode`` of each), decoded in shared batches."""
        spans = [self.ids_to_codes(ids, errors) for ids in batch]
        flat = self.codec.decode_batch([codes for clip in spans for codes in clip])
        waves, start = [], 0
        for clip in spans:
            parts = flat[start : start + len(clip)]
            start += len(clip)
            joined = torch.cat(parts, dim=-1) if parts else torch.zeros(self.codec.channels, 0)
            waves.append(_as_return(joined, return_tensors))
        return waves

    def decode_codes(self, codes: CodeInput, length: int | None = None) -> np.ndarray:
        """Codes ``[K', T]`` (an ``AudioCodes`` for chunked codecs) -> audio ``[C, samples]`` (numpy), cut to
        ``length`` samples when given."""
        return self.codec.decode(codes, length).numpy()

    def __repr__(self) -> str:
        c = self.config
        return (
            f"AudioTokenizer(codec={c.codec!r}, family={c.codec_family!r}, codebooks={c.num_codebooks}, "
            f"layout={c.layout!r}, ids=[{self.vocab.offset}, {self.vocab.end}))"
        )
